// broadcast_like and _reduce_sum_like: the pair that carries gradients across numpy broadcasting.
#include "graph/grad_util.h"
#include "ops/cpu/kernel.h"

namespace axle {
namespace {

void LikeShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  if (!ShapeAssign(&(*out)[0], (*in)[1]))
    Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", (*out)[0].str(), " does not match ", (*in)[1].str());
}

void LikeType(const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  std::vector<int> a = {(*in)[0]};
  SameType(attrs, &a, out);
  (*in)[0] = a[0];
}

// Strides of `small` (right-aligned against `big`) with 0 on the axes it broadcasts along.
void SmallStrides(const TShape& small, const TShape& big, int64_t* st) {
  const int nd = big.ndim();
  int64_t acc = 1;
  for (int i = nd - 1; i >= 0; --i) {
    int j = i - (nd - small.ndim());
    int64_t d = j >= 0 ? small[j] : 1;
    st[i] = (d == 1 && big[i] != 1) ? 0 : acc;
    acc *= d;
  }
}

// For every element of big: f(index in big, index in small).
template <class F>
void ForBroadcast(const TShape& small, const TShape& big, F f) {
  const int nd = big.ndim();
  int64_t st[kMaxNDim];
  SmallStrides(small, big, st);
  const int64_t n = big.Size();
  int64_t idx[kMaxNDim] = {0};
  int64_t s = 0;
  for (int64_t i = 0; i < n; ++i) {
    f(i, s);
    for (int d = nd - 1; d >= 0; --d) {
      ++idx[d];
      s += st[d];
      if (idx[d] < big[d]) break;
      s -= idx[d] * st[d];
      idx[d] = 0;
    }
  }
}

bool Broadcastable(const TShape& small, const TShape& big) {
  if (small.ndim() > big.ndim()) return false;
  for (int i = 0; i < small.ndim(); ++i) {
    int64_t d = small[small.ndim() - 1 - i], b = big[big.ndim() - 1 - i];
    if (d != 1 && d != b) return false;
  }
  return true;
}

}  // namespace

AX_REGISTER_OP("broadcast_like") {
  op.input_names = {"lhs", "rhs"};
  op.doc = "Broadcasts lhs to the shape of rhs (numpy rules).";
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    LikeShape(attrs, in, out);
    if ((*in)[0].known() && (*in)[1].known())
      AX_CHECK(Broadcastable((*in)[0], (*in)[1]), AX_ERR_SHAPE, attrs.Who(), ": cannot broadcast ", (*in)[0].str(),
               " to ", (*in)[1].str());
  };
  op.infer_type = LikeType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs&, const std::vector<TBlob>& in, const std::vector<OpReq>& req,
                      const std::vector<TBlob>& out) {
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      const DType* x = in[0].ptr<DType>();
      DType* y = out[0].ptr<DType>();
      const bool add = req[0] == OpReq::kAdd;
      if (req[0] == OpReq::kNull) return;
      ForBroadcast(in[0].shape, out[0].shape, [&](int64_t i, int64_t s) { y[i] = add ? DType(y[i] + x[s]) : x[s]; });
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    return {OGrad(g).SumLike(In(g, 0)), Zeros(g, 1)};
  };
}

AX_REGISTER_OP("_reduce_sum_like") {
  op.input_names = {"data", "like"};
  op.doc = "Sums data over the axes along which `like` was broadcast to data's shape (the gradient of broadcasting).";
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    LikeShape(attrs, in, out);
    if ((*in)[0].known() && (*in)[1].known())
      AX_CHECK(Broadcastable((*in)[1], (*in)[0]), AX_ERR_SHAPE, attrs.Who(), ": ", (*in)[1].str(),
               " does not broadcast to ", (*in)[0].str());
  };
  op.infer_type = LikeType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs&, const std::vector<TBlob>& in, const std::vector<OpReq>& req,
                      const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull) return;
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      using AT = std::conditional_t<std::is_floating_point_v<DType> || std::is_same_v<DType, half_t>, double, int64_t>;
      const DType* x = in[0].ptr<DType>();
      DType* y = out[0].ptr<DType>();
      std::vector<AT> acc(static_cast<size_t>(out[0].Size()), AT(0));
      ForBroadcast(out[0].shape, in[0].shape, [&](int64_t i, int64_t s) { acc[s] += static_cast<AT>(x[i]); });
      for (size_t i = 0; i < acc.size(); ++i)
        y[i] = req[0] == OpReq::kAdd ? Cast<DType>(static_cast<double>(y[i]) + acc[i]) : Cast<DType>(acc[i]);
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    return {OGrad(g).Op2("broadcast_like", In(g, 0)), Zeros(g, 1)};
  };
}

}  // namespace axle
