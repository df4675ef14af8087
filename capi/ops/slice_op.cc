// Basic slicing: slice (a strided copy), _slice_assign and _slice_assign_scalar (writes into a
// strided region), with Python's rules for None, negative indices, negative steps and clamping.
#include "graph/grad_util.h"
#include "ops/cpu/kernel.h"
#include "ops/slice_op.h"

namespace axle {
namespace {

void DescribeSlice(ParamBuilder<SliceParam>& b) {
  b.Field("begin", &SliceParam::begin).Describe("Start index per axis (None: from the start)");
  b.Field("end", &SliceParam::end).Describe("Stop index per axis, exclusive (None: to the end)");
  b.Field("step", &SliceParam::step, OptIntTuple{}).Describe("Step per axis (None: 1)");
}

void DescribeScalarSlice(ParamBuilder<SliceParam>& b) {
  DescribeSlice(b);
  b.Field("scalar", &SliceParam::scalar, 0.0).Describe("The value to write");
}

// Calls f(big_offset, region_linear_index) for every element of the region of `big`.
template <class F>
void ForRegion(const Region& r, const TShape& big, F f) {
  const int nd = big.ndim();
  const int64_t total = r.shape.Size();
  if (total == 0) return;
  if (nd == 0) { f(0, 0); return; }
  int64_t stride[kMaxNDim];
  int64_t acc = 1;
  for (int i = nd - 1; i >= 0; --i) { stride[i] = acc * r.step[i]; acc *= big[i]; }
  const int64_t inner = r.shape[nd - 1];
  const int64_t outer = total / inner;
  ParallelFor(outer, std::max<int64_t>(1, kElemwiseGrain / inner), [&](int64_t ob, int64_t oe) {
    int64_t idx[kMaxNDim] = {0};
    int64_t rem = ob;
    for (int d = nd - 2; d >= 0; --d) { idx[d] = rem % r.shape[d]; rem /= r.shape[d]; }
    for (int64_t o = ob; o < oe; ++o) {
      int64_t base = 0, acc2 = 1;
      for (int d = nd - 1; d >= 0; --d) {
        int64_t i = d == nd - 1 ? 0 : idx[d];
        base += (r.begin[d] * acc2) + i * stride[d];
        acc2 *= big[d];
      }
      const int64_t s = stride[nd - 1];
      for (int64_t i = 0; i < inner; ++i) f(base + i * s, o * inner + i);
      for (int d = nd - 2; d >= 0; --d) {
        if (++idx[d] < r.shape[d]) break;
        idx[d] = 0;
      }
    }
  });
}

}  // namespace

AX_REGISTER_OP("slice") {
  op.input_names = {"data"};
  op.doc = "A copy of the region data[begin:end:step] (per axis; missing axes are taken whole).";
  op.params = MakeSchema(DescribeSlice);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    if (!(*in)[0].known()) return;
    TShape s = MakeRegion(attrs, attrs.get<SliceParam>(), (*in)[0]).shape;
    if (!ShapeAssign(&(*out)[0], s))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", (*out)[0].str(), " does not match ", s.str());
  };
  op.infer_type = SameType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    Region r = MakeRegion(attrs, attrs.get<SliceParam>(), in[0].shape);
    const bool add = req[0] == OpReq::kAdd;
    AX_TYPE_SWITCH(in[0].dtype, DType, {
      const DType* x = in[0].ptr<DType>();
      DType* y = out[0].ptr<DType>();
      ForRegion(r, in[0].shape, [=](int64_t src, int64_t dst) { y[dst] = add ? DType(y[dst] + x[src]) : x[src]; });
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    return {g.Make("_backward_slice", {g.ograd(0), g.input(0)}, g.attr_dict())};
  };
}
}  // namespace axle

namespace axle {
namespace {
template <bool kScalar>
void DefineSliceAssign(OpDef& op) {
  op.input_names = kScalar ? std::vector<std::string>{"data"} : std::vector<std::string>{"lhs", "rhs"};
  op.doc = kScalar ? "A copy of data with the region [begin:end:step] set to scalar."
                   : "A copy of lhs with the region [begin:end:step] set to rhs (rhs broadcast to the region).";
  op.params = kScalar ? MakeSchema(DescribeScalarSlice) : MakeSchema(DescribeSlice);
  op.inplace = {{0, 0}};
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    if (!ShapeAssign(&(*out)[0], (*in)[0]) || !ShapeAssign(&(*in)[0], (*out)[0]))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", (*out)[0].str(), " does not match ", (*in)[0].str());
    if (kScalar || !(*in)[0].known() || !(*in)[1].ndim_known()) return;
    TShape region = MakeRegion(attrs, attrs.get<SliceParam>(), (*in)[0]).shape;
    TShape b;
    AX_CHECK(BroadcastShapes(region, (*in)[1], &b) && b == region, AX_ERR_SHAPE, attrs.Who(), ": value of shape ", (*in)[1].str(),
             " cannot be assigned to a region of shape ", region.str());
  };
  op.infer_type = SameType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const auto& p = attrs.get<SliceParam>();
    Region r = MakeRegion(attrs, p, in[0].shape);
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      DType* y = out[0].ptr<DType>();
      const DType* x = in[0].ptr<DType>();
      if (req[0] != OpReq::kNull && y != x) std::memcpy(y, x, out[0].Size() * sizeof(DType));
      if constexpr (kScalar) {
        const DType v = Cast<DType>(p.scalar);
        ForRegion(r, in[0].shape, [=](int64_t dst, int64_t) { y[dst] = v; });
      } else {
        const DType* v = in[1].ptr<DType>();
        if (in[1].shape == r.shape) {
          ForRegion(r, in[0].shape, [=](int64_t dst, int64_t i) { y[dst] = v[i]; });
        } else {  // broadcast the value over the region: map region index -> value index
          const int nd = r.shape.ndim();
          const TShape vs = in[1].shape;
          int64_t vstride[kMaxNDim];
          int64_t acc = 1;
          for (int d = nd - 1; d >= 0; --d) {
            int j = d - (nd - vs.ndim());
            int64_t dim = j >= 0 ? vs[j] : 1;
            vstride[d] = dim == 1 ? 0 : acc;
            acc *= dim;
          }
          TShape rs = r.shape;
          ForRegion(r, in[0].shape, [=](int64_t dst, int64_t i) {
            int64_t vi = 0, rem = i;
            for (int d = nd - 1; d >= 0; --d) {
              vi += (rem % rs[d]) * vstride[d];
              rem /= rs[d];
            }
            y[dst] = v[vi];
          });
        }
      }
    });
  };
}
}  // namespace

AX_REGISTER_OP("_slice_assign") { DefineSliceAssign<false>(op); }

AX_REGISTER_OP("_backward_slice") {
  op.input_names = {"ograd", "data"};
  op.doc = "The gradient of slice: ograd written into zeros of data's shape at the region [begin:end:step].";
  op.params = MakeSchema(DescribeSlice);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    if (!ShapeAssign(&(*out)[0], (*in)[1]))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", (*out)[0].str(), " does not match data ", (*in)[1].str());
    if (!(*in)[1].known()) return;
    TShape region = MakeRegion(attrs, attrs.get<SliceParam>(), (*in)[1]).shape;
    if (!ShapeAssign(&(*in)[0], region))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": ograd shape ", (*in)[0].str(), " does not match the region ", region.str());
  };
  op.infer_type = [](const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
    std::vector<int> g = {(*in)[0]};
    SameType(attrs, &g, out);
    (*in)[0] = g[0];
  };
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull) return;
    const TShape& big = out[0].shape;
    Region r = MakeRegion(attrs, attrs.get<SliceParam>(), big);
    const bool add = req[0] == OpReq::kAdd;
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      const DType* dy = in[0].ptr<DType>();
      DType* dx = out[0].ptr<DType>();
      if (!add) std::memset(static_cast<void*>(dx), 0, out[0].Size() * sizeof(DType));
      // distinct region elements go to distinct places: ForRegion's rows may run in parallel
      ForRegion(r, big, [=](int64_t dst, int64_t i) { dx[dst] = add ? DType(dx[dst] + dy[i]) : dy[i]; });
    });
  };
}
AX_REGISTER_OP("_slice_assign_scalar") { DefineSliceAssign<true>(op); }

}  // namespace axle
