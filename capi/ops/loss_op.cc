// Loss heads and gradient blockers: LinearRegressionOutput, LogisticRegressionOutput,
// MAERegressionOutput, MakeLoss, BlockGrad (alias stop_gradient). Loss heads ignore the
// incoming gradient, as in MXNet.
#include "graph/grad_util.h"
#include "ops/cpu/gemm.h"
#include "ops/loss_op.h"

namespace axle {
namespace {

// ---- regression outputs -------------------------------------------------------------------
void DescribeReg(ParamBuilder<RegParam>& b) {
  b.Field("grad_scale", &RegParam::grad_scale, 1.0f).Describe("Scale the gradient by a float factor");
}

void FloatSameType(const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  SameType(attrs, in, out);
  CheckFloatType(attrs, (*out)[0], "data");
}

// label: data's shape, or (batch,) for data (batch, 1); any shape with data's first dim and size.
void RegShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  std::vector<TShape> a = {(*in)[0]};
  SameShape(attrs, &a, out);
  (*in)[0] = a[0];
  const TShape& d = (*in)[0];
  TShape& l = (*in)[1];
  if (!d.ndim_known()) return;
  AX_CHECK(d.ndim() >= 1, AX_ERR_SHAPE, attrs.Who(), ": data must have at least one dimension, got ", d.str());
  if (!l.ndim_known()) {
    l = d.ndim() == 2 && d[1] == 1 ? TShape{d[0]} : d;
  } else if (d.known() && l.known()) {
    AX_CHECK(l.ndim() >= 1 && l[0] == d[0] && l.Size() == d.Size(), AX_ERR_SHAPE, attrs.Who(), ": label shape ",
             l.str(), " does not fit data ", d.str(), " (same first dimension and size expected)");
  }
}

template <int kKind>
void DefineRegression(OpDef& op, const std::string& doc) {
  op.input_names = {"data", "label"};
  op.doc = doc;
  op.params = MakeSchema(DescribeReg);
  op.infer_shape = RegShape;
  op.infer_type = FloatSameType;
  op.inplace = {{0, 0}};
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    AX_FLOAT_TYPE_SWITCH(out[0].dtype, DType, attrs.Who(), {
      using F = GemmAcc<DType>;
      const DType* x = in[0].ptr<DType>();
      MapIndex(out[0].Size(), req[0], out[0].ptr<DType>(), [=](int64_t i) {
        if constexpr (kKind == kLogistic) return F(1) / (F(1) + std::exp(-F(x[i])));
        else return F(x[i]);
      });
    });
  };
}

// inputs: output, label. d = f(out - label) * grad_scale / (label.size / label.shape[0]).
template <int kKind>
void DefineRegressionBackward(OpDef& op) {
  op.input_names = {"output", "label"};
  op.doc = "Gradient of a regression output with respect to data.";
  op.params = MakeSchema(DescribeReg);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    std::vector<TShape> a = {(*in)[0]};
    SameShape(attrs, &a, out);
    (*in)[0] = a[0];
  };
  op.infer_type = FloatSameType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const TShape& ls = in[1].shape;
    const int64_t num_output = ls.ndim() > 0 && ls[0] > 0 ? ls.Size() / ls[0] : 1;
    AX_FLOAT_TYPE_SWITCH(out[0].dtype, DType, attrs.Who(), {
      using F = GemmAcc<DType>;
      const F scale = F(attrs.get<RegParam>().grad_scale / static_cast<double>(num_output));
      const DType* y = in[0].ptr<DType>();
      const DType* l = in[1].ptr<DType>();
      MapIndex(out[0].Size(), req[0], out[0].ptr<DType>(), [=](int64_t i) {
        F diff = F(y[i]) - F(l[i]);
        if constexpr (kKind == kMAE) diff = F(diff > F(0) ? 1 : (diff < F(0) ? -1 : 0));
        return diff * scale;
      });
    });
  };
}

template <int kKind>
FGradient RegressionGradient(const char* bw) {
  return [bw](const GradBuilder& g) -> std::vector<NodeEntry> {
    return {g.Make(bw, {FwdOut(g), In(g, 1)}, g.attr_dict()), Zeros(g, 1)};
  };
}

// ---- MakeLoss -----------------------------------------------------------------------------
void DescribeMakeLoss(ParamBuilder<MakeLossParam>& b) {
  b.Field("grad_scale", &MakeLossParam::grad_scale, 1.0f).Describe("Gradient scale as a supplement to unary and binary operators");
  b.Field("valid_thresh", &MakeLossParam::valid_thresh, 0.0f)
      .Describe("clip each element in the array to 0 when it is less than ``valid_thresh``. This is used when "
                "``normalization`` is set to ``'valid'``.");
  b.Enum("normalization", &MakeLossParam::normalization, {"batch", "null", "valid"}, "null")
      .Describe("If this is set to null, the output gradient will not be normalized. If this is set to batch, the "
                "output gradient will be divided by the batch size. If this is set to valid, the output gradient "
                "will be divided by the number of valid input elements.");
}

}  // namespace

AX_REGISTER_OP("LinearRegressionOutput") {
  DefineRegression<kLinear>(
      op, "Computes and optimizes for squared loss: the output is data; the gradient (a loss head's, the incoming "
          "one is ignored) is (data - label) * grad_scale / (number of outputs per example).");
  op.gradient = RegressionGradient<kLinear>("_backward_LinearRegressionOutput");
}
AX_REGISTER_OP("LogisticRegressionOutput") {
  DefineRegression<kLogistic>(
      op, "Applies a logistic function to the input and optimizes for log loss: the output is sigmoid(data); the "
          "gradient is (output - label) * grad_scale / (number of outputs per example).");
  op.gradient = RegressionGradient<kLogistic>("_backward_LogisticRegressionOutput");
}
AX_REGISTER_OP("MAERegressionOutput") {
  DefineRegression<kMAE>(
      op, "Computes mean absolute error: the output is data; the gradient is sign(data - label) * grad_scale / "
          "(number of outputs per example).");
  op.gradient = RegressionGradient<kMAE>("_backward_MAERegressionOutput");
}
AX_REGISTER_OP("_backward_LinearRegressionOutput") { DefineRegressionBackward<kLinear>(op); }
AX_REGISTER_OP("_backward_LogisticRegressionOutput") { DefineRegressionBackward<kLogistic>(op); }
AX_REGISTER_OP("_backward_MAERegressionOutput") { DefineRegressionBackward<kMAE>(op); }

AX_REGISTER_OP("MakeLoss") {
  op.input_names = {"data"};
  op.doc =
      "Makes its input a loss: the output is data; the gradient (the incoming one is ignored) is grad_scale, "
      "divided by the batch size (normalization=batch) or by the number of elements > valid_thresh "
      "(normalization=valid, at least 1).";
  op.params = MakeSchema(DescribeMakeLoss);
  op.infer_shape = SameShape;
  op.infer_type = SameType;
  op.inplace = {{0, 0}};
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      const DType* x = in[0].ptr<DType>();
      MapIndex(out[0].Size(), req[0], out[0].ptr<DType>(), [=](int64_t i) { return x[i]; });
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    return {g.Make("_backward_MakeLoss", {In(g, 0)}, g.attr_dict())};
  };
}

AX_REGISTER_OP("_backward_MakeLoss") {
  op.input_names = {"data"};
  op.doc = "Gradient of MakeLoss: grad_scale over the normalization, everywhere.";
  op.params = MakeSchema(DescribeMakeLoss);
  op.infer_shape = SameShape;
  op.infer_type = SameType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const auto& p = attrs.get<MakeLossParam>();
    const TShape& s = in[0].shape;
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      double norm = 1.0;
      if (p.normalization == kNormBatch) {
        norm = s.ndim() > 0 ? static_cast<double>(s[0]) : 1.0;
      } else if (p.normalization == kNormValid) {
        const DType* x = in[0].ptr<DType>();
        int64_t c = 0;
        for (int64_t i = 0; i < in[0].Size(); ++i) c += static_cast<double>(x[i]) > p.valid_thresh;
        norm = static_cast<double>(std::max<int64_t>(c, 1));
      }
      const double v = norm > 0 ? p.grad_scale / norm : 0.0;
      MapIndex(out[0].Size(), req[0], out[0].ptr<DType>(), [=](int64_t) { return Cast<DType>(v); });
    });
  };
}

AX_REGISTER_OP("BlockGrad") {
  op.input_names = {"data"};
  op.doc = "Stops gradient computation: the output is the input, and the gradient of the input is zero.";
  op.infer_shape = SameShape;
  op.infer_type = SameType;
  op.inplace = {{0, 0}};
  op.compute_cpu = [](const OpContext&, const NodeAttrs&, const std::vector<TBlob>& in, const std::vector<OpReq>& req,
                      const std::vector<TBlob>& out) {
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      const DType* x = in[0].ptr<DType>();
      MapIndex(out[0].Size(), req[0], out[0].ptr<DType>(), [=](int64_t i) { return x[i]; });
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> { return {Zeros(g, 0)}; };
}

}  // namespace axle

namespace {
const bool ax_block_grad_alias = (axle::OpRegistry::Get()->Alias("stop_gradient", "BlockGrad"), true);
}
