// CUDA kernels of the binary elementwise ops (broadcast_*, elemwise_*) and the scalar ops
// (_plus_scalar, ...): the CPU's functors (ops/cpu/math_functors.h) compiled for the device, run
// by the grid-stride map of cuda_common.cuh.
#include "cuda/cuda_common.cuh"
#include "ops/cpu/math_functors.h"
#include "ops/elemwise_scalar.h"

namespace axle {
namespace cuda {

// ---- binary --------------------------------------------------------------------------------
// Full-rank strides of a and b against the output (0 on broadcast dims); operands of the output's
// shape are one axis of stride 1 (the same-shape case, without index arithmetic).
struct BPlan {
  int nd;
  int64_t out[kMaxNDim], sa[kMaxNDim], sb[kMaxNDim];
};
BPlan PlanBinary(const TShape& a, const TShape& b, const TShape& o) {
  BPlan p;
  if (a == o && b == o) {
    p.nd = 1;
    p.out[0] = o.Size();
    p.sa[0] = p.sb[0] = 1;
    return p;
  }
  p.nd = o.ndim();
  const TShape* in[2] = {&a, &b};
  int64_t* st[2] = {p.sa, p.sb};
  for (int k = 0; k < 2; ++k) {
    int64_t acc = 1;
    for (int i = p.nd - 1; i >= 0; --i) {
      int j = i - (p.nd - in[k]->ndim());
      int64_t d = j >= 0 ? (*in[k])[j] : 1;
      st[k][i] = d == 1 ? 0 : acc;
      acc *= d;
    }
  }
  for (int i = 0; i < p.nd; ++i) p.out[i] = o[i];
  return p;
}

template <class OP, class T>
struct BinaryBcast {
  const T *a, *b;
  BPlan p;
  AX_HD auto operator()(int64_t i) const {
    if (p.nd == 1) return OP::Map(a[i * p.sa[0]], b[i * p.sb[0]]);
    int64_t ia = 0, ib = 0;
    for (int d = p.nd - 1; d >= 0; --d) {
      int64_t x = i % p.out[d];
      i /= p.out[d];
      ia += x * p.sa[d];
      ib += x * p.sb[d];
    }
    return OP::Map(a[ia], b[ib]);
  }
};

template <class OP>
void BinaryCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                   const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const TBlob &a = in[0], &b = in[1], &y = out[0];
  const BPlan p = PlanBinary(a.shape, b.shape, y.shape);
  AX_GPU_TYPE_SWITCH(y.dtype, T, attrs.Who(), {  // one kernel per op and dtype (compile time)
    Map(ctx, y.Size(), req[0], y.ptr<T>(), BinaryBcast<OP, T>{a.ptr<T>(), b.ptr<T>(), p}, "binary");
  });
}

// ---- scalar --------------------------------------------------------------------------------
template <class OP, class T>
struct ScalarF {
  const T* x;
  T s;
  AX_HD auto operator()(int64_t i) const { return OP::Map(x[i], s); }
};
// An integer array with a non-integer scalar (is_int=False): float64 math and result, as the CPU.
template <class OP, class I>
struct ScalarPromotedF {
  const I* x;
  double s;
  AX_HD double operator()(int64_t i) const { return OP::Map(static_cast<double>(x[i]), s); }
};
template <class OP>
void ScalarCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                   const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const double s = attrs.get<ScalarParam>().scalar;
  if (in[0].dtype != out[0].dtype) {  // promoted to float64 by the op's type inference
    AX_GPU_INDEX_SWITCH(in[0].dtype, I, attrs.Who(), {
      Map(ctx, out[0].Size(), req[0], out[0].ptr<double>(), ScalarPromotedF<OP, I>{in[0].ptr<I>(), s}, "scalar op");
    });
    return;
  }
  AX_GPU_TYPE_SWITCH(out[0].dtype, T, attrs.Who(), {
    Map(ctx, out[0].Size(), req[0], out[0].ptr<T>(), ScalarF<OP, T>{in[0].ptr<T>(), T(fn::CastValue<T>(s))},
        "scalar op");
  });
}

void RegisterBinaryKernels() {
#define AX_B(name, OP) SetKernel(name, BinaryCompute<fn::OP>);
  AX_B("broadcast_add", Add) AX_B("broadcast_sub", Sub) AX_B("broadcast_mul", Mul) AX_B("broadcast_div", Div)
  AX_B("broadcast_mod", Mod) AX_B("broadcast_power", Power) AX_B("broadcast_maximum", Maximum)
  AX_B("broadcast_minimum", Minimum) AX_B("broadcast_equal", Equal) AX_B("broadcast_not_equal", NotEqual)
  AX_B("broadcast_greater", Greater) AX_B("broadcast_greater_equal", GreaterEqual)
  AX_B("broadcast_lesser", Lesser) AX_B("broadcast_lesser_equal", LesserEqual)
  AX_B("broadcast_logical_and", LogicalAnd) AX_B("broadcast_logical_or", LogicalOr)
  AX_B("broadcast_logical_xor", LogicalXor)
  AX_B("elemwise_add", Add) AX_B("elemwise_sub", Sub) AX_B("elemwise_mul", Mul) AX_B("elemwise_div", Div)
  AX_B("_mod", Mod) AX_B("_power", Power) AX_B("_maximum", Maximum) AX_B("_minimum", Minimum)
  AX_B("_equal", Equal) AX_B("_not_equal", NotEqual) AX_B("_greater", Greater)
  AX_B("_greater_equal", GreaterEqual) AX_B("_lesser", Lesser) AX_B("_lesser_equal", LesserEqual)
#undef AX_B
#define AX_S(name, OP) SetKernel(name, ScalarCompute<OP>);
  AX_S("_plus_scalar", fn::Add) AX_S("_minus_scalar", fn::Sub) AX_S("_rminus_scalar", fn::Rev<fn::Sub>)
  AX_S("_mul_scalar", fn::Mul) AX_S("_div_scalar", fn::Div) AX_S("_rdiv_scalar", fn::Rev<fn::Div>)
  AX_S("_mod_scalar", fn::Mod) AX_S("_rmod_scalar", fn::Rev<fn::Mod>) AX_S("_power_scalar", fn::Power)
  AX_S("_rpower_scalar", fn::Rev<fn::Power>) AX_S("_maximum_scalar", fn::Maximum)
  AX_S("_minimum_scalar", fn::Minimum) AX_S("_equal_scalar", fn::Equal) AX_S("_not_equal_scalar", fn::NotEqual)
  AX_S("_greater_scalar", fn::Greater) AX_S("_greater_equal_scalar", fn::GreaterEqual)
  AX_S("_lesser_scalar", fn::Lesser) AX_S("_lesser_equal_scalar", fn::LesserEqual)
#undef AX_S
}

}  // namespace cuda
}  // namespace axle
