// Binary elementwise ops: broadcast_* (numpy broadcasting) and elemwise_* (equal shapes).
#include "graph/grad_util.h"
#include "ops/cpu/kernel.h"
#include "ops/cpu/math_functors.h"

namespace axle {

bool BroadcastShapes(const TShape& a, const TShape& b, TShape* result) {
  int nd = std::max(a.ndim(), b.ndim());
  TShape out(nd, 0);
  for (int i = 0; i < nd; ++i) {
    int ia = i - (nd - a.ndim()), ib = i - (nd - b.ndim());
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da == db || db == 1) out[i] = da;
    else if (da == 1) out[i] = db;
    else if (da < 0 || db < 0) out[i] = -1;  // unknown (graph inference); resolved later
    else return false;
  }
  *result = out;
  return true;
}

BroadcastPlan PlanBroadcast(const TShape& a, const TShape& b, const TShape& out) {
  const int nd = out.ndim();
  // full-rank strides with zeros on broadcast dims
  int64_t st[2][kMaxNDim];
  const TShape* in[2] = {&a, &b};
  for (int k = 0; k < 2; ++k) {
    const TShape& s = *in[k];
    int64_t acc = 1;
    for (int i = nd - 1; i >= 0; --i) {
      int j = i - (nd - s.ndim());
      int64_t d = j >= 0 ? s[j] : 1;
      st[k][i] = (d == 1 && out[i] != 1) ? 0 : acc;
      acc *= d;
    }
  }
  BroadcastPlan p;
  p.ndim = 0;
  for (int i = 0; i < nd; ++i) {
    if (out[i] == 1) continue;  // size-1 dims do not move any index
    if (p.ndim > 0) {
      int last = p.ndim - 1;
      bool merge = true;
      for (int k = 0; k < 2; ++k) merge &= (p.stride[k][last] == st[k][i] * out[i]);
      if (merge) {
        p.out[last] *= out[i];
        p.stride[0][last] = st[0][i];
        p.stride[1][last] = st[1][i];
        continue;
      }
    }
    p.out[p.ndim] = out[i];
    p.stride[0][p.ndim] = st[0][i];
    p.stride[1][p.ndim] = st[1][i];
    ++p.ndim;
  }
  return p;
}

namespace {

void BroadcastShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  const TShape& a = (*in)[0];
  const TShape& b = (*in)[1];
  if (!a.ndim_known() || !b.ndim_known()) return;
  TShape o;
  if (!BroadcastShapes(a, b, &o))
    Throw(AX_ERR_SHAPE, attrs.Who(), ": operands could not be broadcast together with shapes ", a.str(), " ", b.str());
  if (!ShapeAssign(&(*out)[0], o))
    Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", (*out)[0].str(), " does not match ", o.str());
}

template <class OP>
void BinaryCompute(const OpContext&, const NodeAttrs&, const std::vector<TBlob>& in, const std::vector<OpReq>& req,
                   const std::vector<TBlob>& out) {
  const TBlob &a = in[0], &b = in[1], &y = out[0];
  AX_TYPE_SWITCH(y.dtype, DType, {
    const DType* pa = a.ptr<DType>();
    const DType* pb = b.ptr<DType>();
    DType* py = y.ptr<DType>();
    if (a.shape == y.shape && b.shape == y.shape) {
      MapIndex(y.Size(), req[0], py, [=](int64_t i) { return OP::Map(pa[i], pb[i]); });
    } else if (y.Size() > 0) {
      BroadcastPlan p = PlanBroadcast(a.shape, b.shape, y.shape);
      BroadcastMap(p, pa, pb, py, req[0], [](DType u, DType v) { return OP::Map(u, v); });
    }
  });
}

// d(out)/d(lhs) and d(out)/d(rhs) times the output gradient, as same-shape-or-broadcast exprs.
using BinaryGrad = std::pair<GradExpr, GradExpr> (*)(const GradExpr& l, const GradExpr& r, const GradExpr& out,
                                                      const GradExpr& dy);

std::pair<GradExpr, GradExpr> GradAdd(const GradExpr&, const GradExpr&, const GradExpr&, const GradExpr& dy) {
  return {dy, dy};
}
std::pair<GradExpr, GradExpr> GradSub(const GradExpr&, const GradExpr&, const GradExpr&, const GradExpr& dy) {
  return {dy, -dy};
}
std::pair<GradExpr, GradExpr> GradMul(const GradExpr& l, const GradExpr& r, const GradExpr&, const GradExpr& dy) {
  return {dy.BMul(r), dy.BMul(l)};
}
std::pair<GradExpr, GradExpr> GradDiv(const GradExpr& l, const GradExpr& r, const GradExpr& out, const GradExpr& dy) {
  return {dy.BDiv(r), -(dy.BMul(out).BDiv(r))};
}
std::pair<GradExpr, GradExpr> GradMod(const GradExpr& l, const GradExpr& r, const GradExpr&, const GradExpr& dy) {
  return {dy, -(dy.BMul(l.BDiv(r).Op("floor")))};
}
std::pair<GradExpr, GradExpr> GradPower(const GradExpr& l, const GradExpr& r, const GradExpr& out, const GradExpr& dy) {
  // d/dl = r * l^(r-1) = r * out / l ; d/dr = out * log(l)
  return {dy.BMul(r.BMul(l.Op2("broadcast_power", r + -1.0))), dy.BMul(out.BMul(l.Op("log")))};
}
std::pair<GradExpr, GradExpr> GradMaximum(const GradExpr& l, const GradExpr& r, const GradExpr&, const GradExpr& dy) {
  GradExpr mask = l.Op2("broadcast_greater_equal", r);
  return {dy.BMul(mask), dy.BMul(mask.Scalar("_rminus_scalar", 1.0))};
}
std::pair<GradExpr, GradExpr> GradMinimum(const GradExpr& l, const GradExpr& r, const GradExpr&, const GradExpr& dy) {
  GradExpr mask = l.Op2("broadcast_lesser_equal", r);
  return {dy.BMul(mask), dy.BMul(mask.Scalar("_rminus_scalar", 1.0))};
}
std::pair<GradExpr, GradExpr> GradNone(const GradExpr& l, const GradExpr& r, const GradExpr&, const GradExpr&) {
  return {l.Op("zeros_like"), r.Op("zeros_like")};
}

template <class OP>
void DefineBinary(OpDef& op, bool broadcast, const std::string& what, BinaryGrad grad) {
  op.gradient = [grad, broadcast](const GradBuilder& g) -> std::vector<NodeEntry> {
    GradExpr l = In(g, 0), r = In(g, 1);
    auto [gl, gr] = grad(l, r, FwdOut(g), OGrad(g));
    if (!broadcast) return {gl, gr};
    // broadcast_* inputs may be smaller than the output: sum the gradient back to their shape
    return {gl.SumLike(l), gr.SumLike(r)};
  };
  op.input_names = {"lhs", "rhs"};
  op.doc = what + (broadcast ? " with numpy broadcasting." : " of two arrays of the same shape.");
  op.infer_shape = broadcast ? FInferShape(BroadcastShape) : FInferShape(SameShape);
  op.infer_type = SameType;
  op.compute_cpu = BinaryCompute<OP>;
  op.inplace = {{0, 0}, {1, 0}};
}

}  // namespace

#define AX_BINARY(name, OP, bcast, what, grad) \
  AX_REGISTER_OP(name) { DefineBinary<fn::OP>(op, bcast, what, grad); }

AX_BINARY("broadcast_add", Add, true, "Elementwise sum", GradAdd)
AX_BINARY("broadcast_sub", Sub, true, "Elementwise difference", GradSub)
AX_BINARY("broadcast_mul", Mul, true, "Elementwise product", GradMul)
AX_BINARY("broadcast_div", Div, true, "Elementwise quotient", GradDiv)
AX_BINARY("broadcast_mod", Mod, true, "Elementwise modulo (sign of the divisor)", GradMod)
AX_BINARY("broadcast_power", Power, true, "Elementwise lhs ** rhs", GradPower)
AX_BINARY("broadcast_maximum", Maximum, true, "Elementwise maximum", GradMaximum)
AX_BINARY("broadcast_minimum", Minimum, true, "Elementwise minimum", GradMinimum)
AX_BINARY("broadcast_equal", Equal, true, "1 where lhs == rhs, else 0,", GradNone)
AX_BINARY("broadcast_not_equal", NotEqual, true, "1 where lhs != rhs, else 0,", GradNone)
AX_BINARY("broadcast_greater", Greater, true, "1 where lhs > rhs, else 0,", GradNone)
AX_BINARY("broadcast_greater_equal", GreaterEqual, true, "1 where lhs >= rhs, else 0,", GradNone)
AX_BINARY("broadcast_lesser", Lesser, true, "1 where lhs < rhs, else 0,", GradNone)
AX_BINARY("broadcast_lesser_equal", LesserEqual, true, "1 where lhs <= rhs, else 0,", GradNone)
AX_BINARY("broadcast_logical_and", LogicalAnd, true, "Logical and", GradNone)
AX_BINARY("broadcast_logical_or", LogicalOr, true, "Logical or", GradNone)
AX_BINARY("broadcast_logical_xor", LogicalXor, true, "Logical xor", GradNone)
AX_BINARY("elemwise_add", Add, false, "Elementwise sum", GradAdd)
AX_BINARY("elemwise_sub", Sub, false, "Elementwise difference", GradSub)
AX_BINARY("elemwise_mul", Mul, false, "Elementwise product", GradMul)
AX_BINARY("elemwise_div", Div, false, "Elementwise quotient", GradDiv)
// MXNet's same-shape forms of the other binary ops (what Symbol's operators create)
AX_BINARY("_mod", Mod, false, "Elementwise modulo (sign of the divisor)", GradMod)
AX_BINARY("_power", Power, false, "Elementwise lhs ** rhs", GradPower)
AX_BINARY("_maximum", Maximum, false, "Elementwise maximum", GradMaximum)
AX_BINARY("_minimum", Minimum, false, "Elementwise minimum", GradMinimum)
AX_BINARY("_equal", Equal, false, "1 where lhs == rhs, else 0,", GradNone)
AX_BINARY("_not_equal", NotEqual, false, "1 where lhs != rhs, else 0,", GradNone)
AX_BINARY("_greater", Greater, false, "1 where lhs > rhs, else 0,", GradNone)
AX_BINARY("_greater_equal", GreaterEqual, false, "1 where lhs >= rhs, else 0,", GradNone)
AX_BINARY("_lesser", Lesser, false, "1 where lhs < rhs, else 0,", GradNone)
AX_BINARY("_lesser_equal", LesserEqual, false, "1 where lhs <= rhs, else 0,", GradNone)

// MXNet's internal names (mx.sym's operators use them; old symbol files carry them)
const bool ax_binary_aliases = [] {
  auto* r = OpRegistry::Get();
  for (const char* a : {"_Plus", "_plus", "_add"}) r->Alias(a, "elemwise_add");
  for (const char* a : {"_Minus", "_minus", "_sub"}) r->Alias(a, "elemwise_sub");
  for (const char* a : {"_Mul", "_mul"}) r->Alias(a, "elemwise_mul");
  for (const char* a : {"_Div", "_div"}) r->Alias(a, "elemwise_div");
  r->Alias("_Mod", "_mod");
  r->Alias("_Power", "_power");
  r->Alias("_Maximum", "_maximum");
  r->Alias("_Minimum", "_minimum");
  return true;
}();

}  // namespace axle
