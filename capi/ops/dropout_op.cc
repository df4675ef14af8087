// Dropout: in training (or mode='always') each element is kept with probability 1-p and scaled
// by 1/(1-p). The mask (0 or 1/(1-p), broadcast along `axes`) is a hidden second output, so the
// gradient (ograd * mask) uses exactly the forward's draws.
#include "graph/grad_util.h"
#include "ops/cpu/gemm.h"
#include "ops/dropout_op.h"
#include "ops/random_state.h"

namespace axle {
namespace {

void DescribeDropout(ParamBuilder<DropoutParam>& b) {
  b.Field("p", &DropoutParam::p, 0.5f).Describe("Fraction of the input that gets dropped out during training time.");
  b.Enum("mode", &DropoutParam::mode, {"always", "training"}, "training")
      .Describe("Whether to only turn on dropout during training or to also turn on for inference.");
  b.Field("axes", &DropoutParam::axes, IntTuple{}).Describe("Axes for variational dropout kernel.");
  b.Field("cudnn_off", &DropoutParam::cudnn_off, OptBool(false))
      .Describe("Whether to turn off cudnn in dropout operator (no effect on CPU).");
}

const DropoutParam& Param(const NodeAttrs& attrs) {
  const auto& p = attrs.get<DropoutParam>();
  AX_CHECK(p.p >= 0.0f && p.p <= 1.0f, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": p must be in [0, 1], got ", p.p);
  return p;
}

// The mask's shape: data's with the dropout axes set to 1.
TShape MaskShape(const NodeAttrs& attrs, const TShape& d) {
  TShape m = d;
  for (int64_t a : attrs.get<DropoutParam>().axes) {
    AX_CHECK(a >= -d.ndim() && a < d.ndim(), AX_ERR_INDEX, attrs.Who(), ": axis ", a,
             " in axes is out of range for data of ", d.ndim(), " dimension(s)");
    m[a < 0 ? a + d.ndim() : a] = 1;
  }
  return m;
}

void DropoutShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  Param(attrs);
  SameShape(attrs, in, out);
  if ((*in)[0].ndim_known()) MaskShape(attrs, (*in)[0]);
}

void DropoutType(const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  SameType(attrs, in, out);
  CheckFloatType(attrs, (*out)[0], "data");
}

void DropoutForward(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                    const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<DropoutParam>();
  const TShape& s = in[0].shape;
  const int64_t n = s.Size();
  const bool apply = (p.mode == 0 || ctx.is_train) && p.p > 0.0f;
  AX_FLOAT_TYPE_SWITCH(in[0].dtype, DType, attrs.Who(), {
    using F = GemmAcc<DType>;
    const DType* x = in[0].ptr<DType>();
    DType* y = out[0].ptr<DType>();
    DType* mask = out[1].ptr<DType>();
    if (!apply) {  // identity; the mask is all ones so a gradient taken now passes through
      MapIndex(n, req[0], y, [=](int64_t i) { return x[i]; });
      MapIndex(n, req[1], mask, [=](int64_t) { return DType(1.0f); });
      return;
    }
    const TShape ms = MaskShape(attrs, s);
    const int64_t nm = ms.Size();
    const uint64_t key = ctx.rng->key();
    const uint64_t first = ctx.rng->Reserve(static_cast<uint64_t>(nm));
    const double keep = 1.0 - static_cast<double>(p.p);
    const F scale = keep > 0 ? F(1.0 / keep) : F(0);  // p == 1 drops everything (zeros, not NaN)
    auto draw = [=](int64_t j) { return RandomState::Uniform(key, first + j) < keep ? scale : F(0); };
    // m: the mask, in the mask output when it is plainly written, else in a buffer
    std::vector<DType> buf;
    DType* m = mask;
    if (req[1] != OpReq::kWrite && req[1] != OpReq::kInplace) {
      buf.resize(static_cast<size_t>(n));
      m = buf.data();
    }
    if (nm == n) {
      MapIndex(n, OpReq::kWrite, m, [=](int64_t i) { return draw(i); });
    } else if (n > 0) {  // one draw per mask element, broadcast along the dropout axes
      std::vector<DType> small(static_cast<size_t>(nm));
      for (int64_t j = 0; j < nm; ++j) small[j] = DType(draw(j));
      const DType zero[1] = {DType(0.0f)};
      BroadcastMap(PlanBroadcast(ms, TShape(0), s), small.data(), zero, m, OpReq::kWrite,
                   [](DType a, DType) { return a; });
    }
    MapIndex(n, req[0], y, [=](int64_t i) { return F(x[i]) * F(m[i]); });
    if (m != mask) MapIndex(n, req[1], mask, [=](int64_t i) { return m[i]; });
  });
}

}  // namespace

AX_REGISTER_OP("Dropout") {
  op.input_names = {"data"};
  op.doc =
      "Applies dropout: during training (or always, with mode='always') each element is zeroed with probability "
      "p and the others scaled by 1/(1-p); with axes, one draw is shared along those axes (variational dropout). "
      "In inference the output is the input.";
  op.params = MakeSchema(DescribeDropout);
  op.num_outputs = [](const NodeAttrs&) { return 2; };
  op.num_visible_outputs = [](const NodeAttrs&) { return 1; };
  op.output_names = {"output", "mask"};
  op.needs_random = true;
  op.infer_shape = DropoutShape;
  op.infer_type = DropoutType;
  op.compute_cpu = DropoutForward;
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> { return {OGrad(g) * FwdOut(g, 1)}; };
}

}  // namespace axle
