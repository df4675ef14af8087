// broadcast_like and _reduce_sum_like: the pair that carries gradients across numpy broadcasting.
#include "graph/grad_util.h"
#include "ops/cpu/kernel.h"
#include "ops/reduce_op.h"

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
                      const std::vector<TBlob>& out) { BroadcastToShape(in[0], out[0], req[0]); };
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
                      const std::vector<TBlob>& out) { SumToShape(in[0], out[0], req[0]); };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    return {OGrad(g).Op2("broadcast_like", In(g, 0)), Zeros(g, 1)};
  };
}

}  // namespace axle
