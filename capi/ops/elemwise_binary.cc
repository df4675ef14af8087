// Binary elementwise ops: broadcast_* (numpy broadcasting) and elemwise_* (equal shapes).
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

template <class OP>
void DefineBinary(OpDef& op, bool broadcast, const std::string& what) {
  op.input_names = {"lhs", "rhs"};
  op.doc = what + (broadcast ? " with numpy broadcasting." : " of two arrays of the same shape.");
  op.infer_shape = broadcast ? FInferShape(BroadcastShape) : FInferShape(SameShape);
  op.infer_type = SameType;
  op.compute_cpu = BinaryCompute<OP>;
  op.inplace = {{0, 0}, {1, 0}};
}

}  // namespace

#define AX_BINARY(name, OP, bcast, what) \
  AX_REGISTER_OP(name) { DefineBinary<fn::OP>(op, bcast, what); }

AX_BINARY("broadcast_add", Add, true, "Elementwise sum")
AX_BINARY("broadcast_sub", Sub, true, "Elementwise difference")
AX_BINARY("broadcast_mul", Mul, true, "Elementwise product")
AX_BINARY("broadcast_div", Div, true, "Elementwise quotient")
AX_BINARY("broadcast_mod", Mod, true, "Elementwise modulo (sign of the divisor)")
AX_BINARY("broadcast_power", Power, true, "Elementwise lhs ** rhs")
AX_BINARY("broadcast_maximum", Maximum, true, "Elementwise maximum")
AX_BINARY("broadcast_minimum", Minimum, true, "Elementwise minimum")
AX_BINARY("broadcast_equal", Equal, true, "1 where lhs == rhs, else 0,")
AX_BINARY("broadcast_not_equal", NotEqual, true, "1 where lhs != rhs, else 0,")
AX_BINARY("broadcast_greater", Greater, true, "1 where lhs > rhs, else 0,")
AX_BINARY("broadcast_greater_equal", GreaterEqual, true, "1 where lhs >= rhs, else 0,")
AX_BINARY("broadcast_lesser", Lesser, true, "1 where lhs < rhs, else 0,")
AX_BINARY("broadcast_lesser_equal", LesserEqual, true, "1 where lhs <= rhs, else 0,")
AX_BINARY("broadcast_logical_and", LogicalAnd, true, "Logical and")
AX_BINARY("broadcast_logical_or", LogicalOr, true, "Logical or")
AX_BINARY("broadcast_logical_xor", LogicalXor, true, "Logical xor")
AX_BINARY("elemwise_add", Add, false, "Elementwise sum")
AX_BINARY("elemwise_sub", Sub, false, "Elementwise difference")
AX_BINARY("elemwise_mul", Mul, false, "Elementwise product")
AX_BINARY("elemwise_div", Div, false, "Elementwise quotient")

}  // namespace axle
