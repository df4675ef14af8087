// Unary elementwise ops, identity copy and Cast.
#include "graph/grad_util.h"
#include "ops/cpu/kernel.h"
#include "ops/cpu/math_functors.h"
#include "ops/cpu/vec_math.h"

namespace axle {
namespace {

template <class T> using A = fn::A<T>;

// The gradient of a unary op from x (input), y (output) and dy.
using UnaryGrad = GradExpr (*)(const GradExpr& x, const GradExpr& y, const GradExpr& dy);

// vec: the vectorised float32 loop of vmath (ops/cpu/vec_math.h), or -1 for none.
template <class F>
void DefineUnary(OpDef& op, const std::string& doc, F f, UnaryGrad grad, int vec = -1) {
  op.gradient = [grad](const GradBuilder& g) -> std::vector<NodeEntry> { return {grad(In(g, 0), FwdOut(g), OGrad(g))}; };
  op.input_names = {"data"};
  op.doc = doc;
  op.infer_shape = SameShape;
  op.infer_type = SameType;
  op.inplace = {{0, 0}};
  op.compute_cpu = [f, vec](const OpContext&, const NodeAttrs&, const std::vector<TBlob>& in,
                            const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (vec >= 0 && vmath::RunFloat32(static_cast<vmath::Fn>(vec), in[0], out[0], req[0])) return;
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      const DType* x = in[0].ptr<DType>();
      MapIndex(out[0].Size(), req[0], out[0].ptr<DType>(), [=](int64_t i) { return f(A<DType>(x[i])); });
    });
  };
}

}  // namespace

#define AX_GRAD(body) [](const GradExpr& x, const GradExpr& y, const GradExpr& dy) -> GradExpr { \
  (void)x; (void)y; return body; }

#define AX_UNARY(name, doc, expr, grad) \
  AX_REGISTER_OP(name) { DefineUnary(op, doc, [](auto x) { using T = decltype(x); (void)sizeof(T); return expr; }, grad); }

AX_UNARY("negative", "-x", T(0) - x, AX_GRAD(-dy))
AX_UNARY("_copy", "A copy of the input.", x, AX_GRAD(dy))
AX_UNARY("abs", "|x|", x < T(0) ? T(0) - x : x, AX_GRAD(dy * x.Op("sign")))
AX_UNARY("sign", "-1, 0 or 1 by the sign of x", T(x > T(0) ? 1 : (x < T(0) ? -1 : 0)), AX_GRAD(x.Op("zeros_like")))
AX_UNARY("square", "x * x", x * x, AX_GRAD(dy * x * 2.0))

#define AX_UNARY_FLOAT_VEC(name, doc, expr, grad, vec)                          \
  AX_REGISTER_OP(name) {                                                        \
    DefineUnary(op, doc, [](auto x) {                                           \
      using T = decltype(x);                                                    \
      using F = std::conditional_t<std::is_floating_point_v<T>, T, double>;     \
      F v = static_cast<F>(x);                                                  \
      return expr;                                                              \
    }, grad, vec);                                                              \
  }
#define AX_UNARY_FLOAT(name, doc, expr, grad) AX_UNARY_FLOAT_VEC(name, doc, expr, grad, -1)

AX_UNARY_FLOAT_VEC("exp", "e ** x", std::exp(v), AX_GRAD(dy * y), vmath::kExp)
AX_UNARY_FLOAT("log", "Natural logarithm", std::log(v), AX_GRAD(dy / x))
AX_UNARY_FLOAT("log1p", "log(1 + x)", std::log1p(v), AX_GRAD(dy / (x + 1.0)))
AX_UNARY_FLOAT("expm1", "exp(x) - 1", std::expm1(v), AX_GRAD(dy * (y + 1.0)))
AX_UNARY_FLOAT("sqrt", "Square root", std::sqrt(v), AX_GRAD(dy / y * 0.5))
AX_UNARY_FLOAT("rsqrt", "1 / sqrt(x)", F(1) / std::sqrt(v), AX_GRAD(dy * y * y * y * -0.5))
AX_UNARY_FLOAT("reciprocal", "1 / x", F(1) / v, AX_GRAD(-(dy * y * y)))
AX_UNARY_FLOAT("sin", "Sine", std::sin(v), AX_GRAD(dy * x.Op("cos")))
AX_UNARY_FLOAT("cos", "Cosine", std::cos(v), AX_GRAD(-(dy * x.Op("sin"))))
AX_UNARY_FLOAT_VEC("tanh", "Hyperbolic tangent", std::tanh(v), AX_GRAD(dy * (y * y * -1.0 + 1.0)), vmath::kTanh)
AX_UNARY_FLOAT_VEC("sigmoid", "1 / (1 + exp(-x))", F(1) / (F(1) + std::exp(-v)),
                   AX_GRAD(dy * y * (y * -1.0 + 1.0)), vmath::kSigmoid)
AX_UNARY_FLOAT("relu", "max(x, 0)", v > F(0) ? v : F(0), AX_GRAD(dy * x.Scalar("_greater_scalar", 0.0)))
AX_UNARY_FLOAT("softsign", "x / (1 + |x|)", v / (F(1) + std::fabs(v)), AX_GRAD(dy / (x.Op("abs") + 1.0).Op("square")))
AX_UNARY_FLOAT("floor", "Largest integer <= x", std::floor(v), AX_GRAD(x.Op("zeros_like")))
AX_UNARY_FLOAT("ceil", "Smallest integer >= x", std::ceil(v), AX_GRAD(x.Op("zeros_like")))
AX_UNARY_FLOAT("round", "Nearest integer, halves away from zero", std::round(v), AX_GRAD(x.Op("zeros_like")))

namespace {
struct CastParam {
  int dtype;
};
void DescribeCast(ParamBuilder<CastParam>& b) {
  b.Enum("dtype", &CastParam::dtype, {"float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool"}, "")
      .Describe("Output dtype");
}
}  // namespace

AX_REGISTER_OP("Cast") {
  op.input_names = {"data"};
  op.doc = "Converts the elements of data to dtype (like numpy's astype).";
  op.params = MakeSchema(DescribeCast);
  op.infer_shape = SameShape;
  op.infer_type = [](const NodeAttrs& attrs, std::vector<int>*, std::vector<int>* out) {
    (*out)[0] = attrs.get<CastParam>().dtype;
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> { return {OGrad(g).Op2("_cast_like", In(g, 0))}; };
  op.compute_cpu = [](const OpContext&, const NodeAttrs&, const std::vector<TBlob>& in, const std::vector<OpReq>& req,
                      const std::vector<TBlob>& out) {
    AX_TYPE_SWITCH(in[0].dtype, SType, {
      AX_TYPE_SWITCH(out[0].dtype, DType, {
        const SType* x = in[0].ptr<SType>();
        MapIndex(out[0].Size(), req[0], out[0].ptr<DType>(), [=](int64_t i) { return fn::CastValue<DType>(x[i]); });
      });
    });
  };
}

}  // namespace axle

namespace {
const bool ax_cast_alias = (axle::OpRegistry::Get()->Alias("cast", "Cast"), true);
}
