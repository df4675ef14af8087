// transpose: permutes the axes (reversed when axes is empty), as numpy.transpose.
#include "graph/grad_util.h"
#include "ops/cpu/kernel.h"
#include "ops/transpose_op.h"

namespace axle {
namespace {

void DescribeTranspose(ParamBuilder<TransposeParam>& b) {
  b.Field("axes", &TransposeParam::axes, IntTuple{}).Describe("The permutation of the axes (empty: reverse them)");
}

std::vector<int> Perm(const NodeAttrs& attrs, int nd) {
  const auto& axes = attrs.get<TransposeParam>().axes;
  std::vector<int> p(nd);
  if (axes.empty()) {
    for (int i = 0; i < nd; ++i) p[i] = nd - 1 - i;
    return p;
  }
  AX_CHECK(static_cast<int>(axes.size()) == nd, AX_ERR_SHAPE, attrs.Who(), ": axes ", FormatValue(axes),
           " do not match an array of ", nd, " dimensions");
  std::vector<bool> seen(nd, false);
  for (int i = 0; i < nd; ++i) {
    int64_t a = axes[i] < 0 ? axes[i] + nd : axes[i];
    AX_CHECK(a >= 0 && a < nd && !seen[a], AX_ERR_INDEX, attrs.Who(), ": axes ", FormatValue(axes),
             " is not a permutation of ", nd, " axes");
    seen[a] = true;
    p[i] = static_cast<int>(a);
  }
  return p;
}

}  // namespace

AX_REGISTER_OP("transpose") {
  op.input_names = {"data"};
  op.doc = "Permutes the dimensions of an array.";
  op.params = MakeSchema(DescribeTranspose);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    const TShape& s = (*in)[0];
    if (!s.ndim_known()) return;
    std::vector<int> p = Perm(attrs, s.ndim());
    TShape o(s.ndim());
    for (int i = 0; i < s.ndim(); ++i) o[i] = s[p[i]];
    if (!ShapeAssign(&(*out)[0], o))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", (*out)[0].str(), " does not match ", o.str());
  };
  op.infer_type = SameType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const TShape& s = in[0].shape;
    const int nd = s.ndim();
    std::vector<int> p = Perm(attrs, nd);
    // output index -> input offset: stride of output axis i is the input stride of axis p[i]
    int64_t istride[kMaxNDim], ostride[kMaxNDim];
    int64_t acc = 1;
    for (int i = nd - 1; i >= 0; --i) { istride[i] = acc; acc *= s[i]; }
    for (int i = 0; i < nd; ++i) ostride[i] = istride[p[i]];
    const TShape os = out[0].shape;
    AX_TYPE_SWITCH(in[0].dtype, DType, {
      const DType* x = in[0].ptr<DType>();
      MapIndex(out[0].Size(), req[0], out[0].ptr<DType>(), [&](int64_t o) {
        int64_t off = 0, rem = o;
        for (int d = nd - 1; d >= 0; --d) {
          off += (rem % os[d]) * ostride[d];
          rem /= os[d];
        }
        return x[off];
      });
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    // the inverse permutation (reversing is its own inverse)
    const auto& axes = g.attrs().get<TransposeParam>().axes;
    if (axes.empty()) return {OGrad(g).Op("transpose")};
    const int64_t nd = static_cast<int64_t>(axes.size());
    IntTuple inv(axes.size());
    std::vector<bool> seen(axes.size(), false);
    for (int64_t i = 0; i < nd; ++i) {
      const int64_t a = axes[i] < 0 ? axes[i] + nd : axes[i];
      AX_CHECK(a >= 0 && a < nd && !seen[a], AX_ERR_INDEX, g.attrs().Who(), ": axes ", FormatValue(axes),
               " is not a permutation of ", nd, " axes");
      seen[a] = true;
      inv[static_cast<size_t>(a)] = i;
    }
    return {OGrad(g).Op("transpose", {{"axes", FormatValue(inv)}})};
  };
}

}  // namespace axle
