// Elementwise ops between an array and a scalar attribute (MXNet's _plus_scalar family).
#include "graph/grad_util.h"
#include "ops/cpu/kernel.h"
#include "ops/cpu/math_functors.h"
#include "ops/elemwise_scalar.h"

namespace axle {
namespace {

void DescribeScalar(ParamBuilder<ScalarParam>& b) {
  b.Field("scalar", &ScalarParam::scalar, 1.0).Describe("The scalar operand");
}

template <class OP>
void ScalarCompute(const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                   const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const double s = attrs.get<ScalarParam>().scalar;
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
  op.infer_type = SameType;
  op.compute_cpu = ScalarCompute<OP>;
  op.inplace = {{0, 0}};
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

}  // namespace axle
