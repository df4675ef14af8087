// Elementwise ops between an array and a scalar attribute (MXNet's _plus_scalar family).
#include "graph/grad_util.h"
#include "ops/cpu/kernel.h"
#include "ops/cpu/math_functors.h"
#include "ops/elemwise_scalar.h"

namespace axle {
namespace {

void DescribeScalar(ParamBuilder<ScalarParam>& b) {
  b.Field("scalar", &ScalarParam::scalar, 1.0).Describe("The scalar operand");
  b.Field("is_int", &ScalarParam::is_int, true)
      .Describe("Whether the scalar is an integer. If false, an integer array gives a float64 result (numpy's "
                "promotion, as MXNet 1.9.1 does); otherwise the scalar is converted to the array's dtype.");
}

bool IsIntegral(int t) { return t == AX_UINT8 || t == AX_INT32 || t == AX_INT8 || t == AX_INT64 || t == AX_BOOL; }

// The array's dtype, or float64 for an integer array with a non-integer scalar (is_int=False).
void ScalarType(const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  if ((*in)[0] >= 0 && IsIntegral((*in)[0]) && !attrs.get<ScalarParam>().is_int) {
    std::vector<int> o = {AX_FLOAT64};
    SameType(attrs, out, &o);
    return;
  }
  SameType(attrs, in, out);
}

template <class OP>
void ScalarCompute(const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                   const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const double s = attrs.get<ScalarParam>().scalar;
  if (in[0].dtype != out[0].dtype) {  // an integer array promoted to float64 (ScalarType)
    AX_TYPE_SWITCH(in[0].dtype, IType, {
      const IType* x = in[0].ptr<IType>();
      MapIndex(out[0].Size(), req[0], out[0].ptr<double>(), [=](int64_t i) {
        return OP::Map(static_cast<double>(static_cast<typename Acc<IType>::type>(x[i])), s);
      });
    });
    return;
  }
  AX_TYPE_SWITCH(out[0].dtype, DType, {
    const DType* x = in[0].ptr<DType>();
    const DType v = Cast<DType>(s);
    MapIndex(out[0].Size(), req[0], out[0].ptr<DType>(), [=](int64_t i) { return OP::Map(x[i], v); });
  });
}

double ScalarOf(const GradBuilder& g) { return g.attrs().get<ScalarParam>().scalar; }

// The gradient of each scalar op, from x (the input), y (the output), s and dy.
using ScalarGrad = GradExpr (*)(const GradExpr& x, const GradExpr& y, double s, const GradExpr& dy);
GradExpr GId(const GradExpr&, const GradExpr&, double, const GradExpr& dy) { return dy; }
GradExpr GNeg(const GradExpr&, const GradExpr&, double, const GradExpr& dy) { return -dy; }
GradExpr GMul(const GradExpr&, const GradExpr&, double s, const GradExpr& dy) { return dy * s; }
GradExpr GDiv(const GradExpr&, const GradExpr&, double s, const GradExpr& dy) { return dy * (1.0 / s); }
GradExpr GRDiv(const GradExpr& x, const GradExpr& y, double, const GradExpr& dy) { return -(dy * y / x); }
GradExpr GRMod(const GradExpr& x, const GradExpr&, double s, const GradExpr& dy) {
  return -(dy * x.Scalar("_rdiv_scalar", s).Op("floor"));
}
GradExpr GPow(const GradExpr& x, const GradExpr&, double s, const GradExpr& dy) {
  return dy * x.Scalar("_power_scalar", s - 1) * s;
}
GradExpr GRPow(const GradExpr&, const GradExpr& y, double s, const GradExpr& dy) { return dy * y * std::log(s); }
GradExpr GMax(const GradExpr& x, const GradExpr&, double s, const GradExpr& dy) {
  return dy * x.Scalar("_greater_equal_scalar", s);
}
GradExpr GMin(const GradExpr& x, const GradExpr&, double s, const GradExpr& dy) {
  return dy * x.Scalar("_lesser_equal_scalar", s);
}
GradExpr GZero(const GradExpr& x, const GradExpr&, double, const GradExpr&) { return x.Op("zeros_like"); }

template <class OP>
void DefineScalar(OpDef& op, const std::string& what, ScalarGrad grad) {
  op.gradient = [grad](const GradBuilder& g) -> std::vector<NodeEntry> {
    return {grad(In(g, 0), FwdOut(g), ScalarOf(g), OGrad(g))};
  };
  op.input_names = {"data"};
  op.doc = what + " (the scalar is converted to the array's dtype).";
  op.params = MakeSchema(DescribeScalar);
  op.infer_shape = SameShape;
  op.infer_type = ScalarType;
  op.compute_cpu = ScalarCompute<OP>;
  op.inplace = {{0, 0}};  // same bytes only when the dtypes agree (is_int=False may promote to float64)
}

}  // namespace

#define AX_SCALAR(name, OP, what, grad) \
  AX_REGISTER_OP(name) { DefineScalar<OP>(op, what, grad); }

AX_SCALAR("_plus_scalar", fn::Add, "data + scalar", GId)
AX_SCALAR("_minus_scalar", fn::Sub, "data - scalar", GId)
AX_SCALAR("_rminus_scalar", fn::Rev<fn::Sub>, "scalar - data", GNeg)
AX_SCALAR("_mul_scalar", fn::Mul, "data * scalar", GMul)
AX_SCALAR("_div_scalar", fn::Div, "data / scalar", GDiv)
AX_SCALAR("_rdiv_scalar", fn::Rev<fn::Div>, "scalar / data", GRDiv)
AX_SCALAR("_mod_scalar", fn::Mod, "data % scalar", GId)
AX_SCALAR("_rmod_scalar", fn::Rev<fn::Mod>, "scalar % data", GRMod)
AX_SCALAR("_power_scalar", fn::Power, "data ** scalar", GPow)
AX_SCALAR("_rpower_scalar", fn::Rev<fn::Power>, "scalar ** data", GRPow)
AX_SCALAR("_maximum_scalar", fn::Maximum, "max(data, scalar)", GMax)
AX_SCALAR("_minimum_scalar", fn::Minimum, "min(data, scalar)", GMin)
AX_SCALAR("_equal_scalar", fn::Equal, "1 where data == scalar, else 0", GZero)
AX_SCALAR("_not_equal_scalar", fn::NotEqual, "1 where data != scalar, else 0", GZero)
AX_SCALAR("_greater_scalar", fn::Greater, "1 where data > scalar, else 0", GZero)
AX_SCALAR("_greater_equal_scalar", fn::GreaterEqual, "1 where data >= scalar, else 0", GZero)
AX_SCALAR("_lesser_scalar", fn::Lesser, "1 where data < scalar, else 0", GZero)
AX_SCALAR("_lesser_equal_scalar", fn::LesserEqual, "1 where data <= scalar, else 0", GZero)

// MXNet's internal names (mx.sym's operators use them; old symbol files carry them)
const bool ax_scalar_aliases = [] {
  auto* r = OpRegistry::Get();
  const char* pairs[][2] = {{"_PlusScalar", "_plus_scalar"},   {"_MinusScalar", "_minus_scalar"},
                            {"_RMinusScalar", "_rminus_scalar"}, {"_MulScalar", "_mul_scalar"},
                            {"_DivScalar", "_div_scalar"},     {"_RDivScalar", "_rdiv_scalar"},
                            {"_ModScalar", "_mod_scalar"},     {"_RModScalar", "_rmod_scalar"},
                            {"_PowerScalar", "_power_scalar"}, {"_RPowerScalar", "_rpower_scalar"},
                            {"_MaximumScalar", "_maximum_scalar"}, {"_MinimumScalar", "_minimum_scalar"}};
  for (auto& p : pairs) r->Alias(p[0], p[1]);
  return true;
}();

}  // namespace axle
