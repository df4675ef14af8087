// CUDA kernels of the elementwise families (binary and scalar ops are in elemwise_binary.cu):
// unary math, _copy, Cast / _cast_like, the fill ops, _arange, sampling and the optimizer
// updates. One grid-stride map (cuda_common.cuh) runs a functor per element; the optimizer steps are the CPU's own
// (ops/optimizer_op.h), compiled for the device.
#include "cuda/cuda_common.cuh"
#include "ops/cpu/math_functors.h"
#include "ops/init_op.h"
#include "ops/optimizer_op.h"
#include "ops/random_op.h"
#include "ops/random_state.h"

namespace axle {
namespace cuda {

// ---- unary ---------------------------------------------------------------------------------
// Called with the arithmetic type of the stored one (fn::A: float for float16), as the CPU's
// unary kernels; F is the type of the math: the dtype for floats, double for integers and bool.
template <class T>
AX_HD bool IsNeg(T x) {  // (no comparison of an unsigned type with zero)
  if constexpr (std::is_unsigned_v<T>) return false;
  else return x < T(0);
}
#define AX_GPU_UNARY(Name, expr)                                                        \
  struct Name {                                                                         \
    template <class T>                                                                  \
    static AX_HD auto Map(T x) {                                                        \
      using F = std::conditional_t<std::is_floating_point_v<T>, T, double>;             \
      F v = static_cast<F>(x);                                                          \
      (void)v;                                                                          \
      return expr;                                                                      \
    }                                                                                   \
  };
AX_GPU_UNARY(UNeg, T(T(0) - x))
AX_GPU_UNARY(UCopy, x)
AX_GPU_UNARY(UAbs, T(IsNeg(x) ? T(0) - x : x))
AX_GPU_UNARY(USign, T(x > T(0) ? 1 : (IsNeg(x) ? -1 : 0)))
AX_GPU_UNARY(USquare, T(x * x))
AX_GPU_UNARY(UExp, exp(v))
AX_GPU_UNARY(ULog, log(v))
AX_GPU_UNARY(ULog1p, log1p(v))
AX_GPU_UNARY(UExpm1, expm1(v))
AX_GPU_UNARY(USqrt, sqrt(v))
AX_GPU_UNARY(URsqrt, F(1) / sqrt(v))
AX_GPU_UNARY(URecip, F(1) / v)
AX_GPU_UNARY(USin, sin(v))
AX_GPU_UNARY(UCos, cos(v))
AX_GPU_UNARY(UTanh, tanh(v))
AX_GPU_UNARY(USigmoid, F(1) / (F(1) + exp(-v)))
AX_GPU_UNARY(URelu, v > F(0) ? v : F(0))
AX_GPU_UNARY(USoftsign, v / (F(1) + fabs(v)))
AX_GPU_UNARY(UFloor, floor(v))
AX_GPU_UNARY(UCeil, ceil(v))
AX_GPU_UNARY(URound, round(v))
#undef AX_GPU_UNARY

template <class OP, class T>
struct UnaryF {
  const T* x;
  AX_HD auto operator()(int64_t i) const { return OP::Map(fn::A<T>(x[i])); }
};
template <class OP>
void UnaryCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                  const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  AX_GPU_TYPE_SWITCH(out[0].dtype, T, attrs.Who(), {
    Map(ctx, out[0].Size(), req[0], out[0].ptr<T>(), UnaryF<OP, T>{in[0].ptr<T>()}, "unary op");
  });
}

// _copy: a device-to-device copy when it overwrites.
void CopyCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                 const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kWrite || req[0] == OpReq::kInplace) {
    if (in[0].dptr != out[0].dptr)
      AX_CUDA_CHECK(cudaMemcpyAsync(out[0].dptr, in[0].dptr, out[0].Size() * ItemSize(out[0].dtype),
                                    cudaMemcpyDeviceToDevice, Stream(ctx)));
    return;
  }
  UnaryCompute<UCopy>(ctx, attrs, in, req, out);
}

template <class S, class D>
struct CastF {
  const S* x;
  AX_HD auto operator()(int64_t i) const { return fn::CastValue<D>(x[i]); }  // as the CPU's Cast
};
void CastCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                 const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  AX_GPU_TYPE_SWITCH(in[0].dtype, S, attrs.Who(), {
    AX_GPU_TYPE_SWITCH(out[0].dtype, D, attrs.Who(), {
      Map(ctx, out[0].Size(), req[0], out[0].ptr<D>(), CastF<S, D>{in[0].ptr<S>()}, "Cast");
    });
  });
}

// ---- fills ---------------------------------------------------------------------------------
void Fill(const OpContext& ctx, const NodeAttrs& attrs, const TBlob& out, OpReq req, double v) {
  if (v == 0.0 && req != OpReq::kAdd && req != OpReq::kNull) {
    AX_CUDA_CHECK(cudaMemsetAsync(out.dptr, 0, out.Size() * ItemSize(out.dtype), Stream(ctx)));
    return;
  }
  AX_GPU_TYPE_SWITCH(out.dtype, T, attrs.Who(), { Map(ctx, out.Size(), req, out.ptr<T>(), ConstF<T>{T(v)}, "fill"); });
}
FCompute FillKernel(double fixed, bool has_value) {
  return [fixed, has_value](const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>&,
                            const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    Fill(ctx, attrs, out[0], req[0], has_value ? attrs.get<InitParam>().value : fixed);
  };
}

// ---- _arange ----------------------------------------------------------------------------------
template <class T>
struct ArangeF {
  double start, step;
  int64_t repeat;
  AX_HD T operator()(int64_t i) const { return T(start + step * double(i / repeat)); }
};
void ArangeCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>&,
                   const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<ArangeParam>();  // validated by shape inference (init_op.cc's ArangeRange)
  const double start = (p.stop == "None" || p.stop.empty()) ? 0.0 : p.start;
  AX_GPU_TYPE_SWITCH(out[0].dtype, T, attrs.Who(), {
    Map(ctx, out[0].Size(), req[0], out[0].ptr<T>(), ArangeF<T>{start, p.step, int64_t(p.repeat)}, "_arange");
  });
}

// ---- sampling (the CPU's counter-based draws: the same values for the same state) ----------
// kKind: 0 uniform, 1 normal (Box-Muller on a pair of draws), 2 randint.
template <class T, int kKind>
struct SampleF {
  uint64_t key, first;
  double a, b;
  AX_HD T operator()(int64_t i) const {
    if (kKind == 0) return T(a + (b - a) * RandomState::Uniform(key, first + i));
    if (kKind == 2) {
      const uint64_t range = static_cast<uint64_t>(static_cast<int64_t>(b) - static_cast<int64_t>(a));
      return T(double(static_cast<int64_t>(a) + static_cast<int64_t>(RandomState::Bits(key, first + i) % range)));
    }
    double u1 = RandomState::Uniform(key, first + 2 * i), u2 = RandomState::Uniform(key, first + 2 * i + 1);
    double r = sqrt(-2.0 * log(1.0 - u1));
    return T(a + b * r * cos(6.283185307179586 * u2));
  }
};
template <int kKind>
void SampleCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>&,
                   const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<SampleParam>();
  const int64_t n = out[0].Size();
  if (kKind != 1)
    AX_CHECK(p.a < p.b || (kKind == 0 && p.a == p.b), AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": low (", p.a,
             ") must be less than high (", p.b, ")");
  else
    AX_CHECK(p.b >= 0, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": scale must be >= 0, got ", p.b);
  const uint64_t key = ctx.rng->key();
  const uint64_t first = ctx.rng->Reserve(static_cast<uint64_t>(n) * (kKind == 1 ? 2 : 1));
  AX_GPU_TYPE_SWITCH(out[0].dtype, T, attrs.Who(), {
    Map(ctx, n, req[0], out[0].ptr<T>(), SampleF<T, kKind>{key, first, p.a, p.b}, "sample");
  });
}

// ---- optimizer updates -----------------------------------------------------------------------
template <class K, class T>
__global__ void UpdateKernel(int64_t n, opt::P<T> p, const T* w, const T* g, T* s0, T* s1, T* s2, T* y, int req) {
  T* st[3] = {s0, s1, s2};
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
    T s[3];
    for (int k = 0; k < K::kStates; ++k) s[k] = st[k][i];
    const T wi = w[i], gi = g[i];
    const T nw = K::Step(p, wi, gi, s);
    if (req == int(OpReq::kAdd)) y[i] = y[i] + nw;
    else if (req != int(OpReq::kNull)) y[i] = nw;
    if constexpr (std::is_same_v<K, opt::NAGMom>) K::Post(p, wi, gi, s);
    for (int k = 0; k < K::kStates; ++k) st[k][i] = s[k];
  }
}
template <class K>
void UpdateCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                   const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const int64_t n = out[0].Size();
  if (n == 0) return;
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    T* st[3] = {nullptr, nullptr, nullptr};
    for (int k = 0; k < K::kStates; ++k) st[k] = in[2 + k].ptr<T>();
    UpdateKernel<K, T><<<Blocks(n), kThreads, 0, Stream(ctx)>>>(n, opt::P<T>(attrs.get<OptParam>()), in[0].ptr<T>(),
                                                               in[1].ptr<T>(), st[0], st[1], st[2], out[0].ptr<T>(),
                                                               int(req[0]));
    AX_CUDA_LAUNCHED(attrs.Who().c_str());
  });
}

void RegisterElemwiseKernels() {
  RegisterBinaryKernels();
#define AX_U(name, OP) SetKernel(name, UnaryCompute<OP>);
  AX_U("negative", UNeg) AX_U("abs", UAbs) AX_U("sign", USign) AX_U("square", USquare) AX_U("exp", UExp)
  AX_U("log", ULog) AX_U("log1p", ULog1p) AX_U("expm1", UExpm1) AX_U("sqrt", USqrt) AX_U("rsqrt", URsqrt)
  AX_U("reciprocal", URecip) AX_U("sin", USin) AX_U("cos", UCos) AX_U("tanh", UTanh) AX_U("sigmoid", USigmoid)
  AX_U("relu", URelu) AX_U("softsign", USoftsign) AX_U("floor", UFloor) AX_U("ceil", UCeil) AX_U("round", URound)
#undef AX_U
  SetKernel("_copy", CopyCompute);
  SetKernel("Cast", CastCompute);
  SetKernel("_cast_like", CastCompute);  // (data, like): data converted to out's dtype
  SetKernel("_zeros", FillKernel(0.0, false));
  SetKernel("_ones", FillKernel(1.0, false));
  SetKernel("_full", FillKernel(0.0, true));
  SetKernel("zeros_like", FillKernel(0.0, false));
  SetKernel("ones_like", FillKernel(1.0, false));
  SetKernel("_random_uniform", SampleCompute<0>);
  SetKernel("_random_normal", SampleCompute<1>);
  SetKernel("_random_randint", SampleCompute<2>);
  SetKernel("_arange", ArangeCompute);
  SetKernel("sgd_update", AsFloat(UpdateCompute<opt::SGD>));
  SetKernel("sgd_mom_update", AsFloat(UpdateCompute<opt::SGDMom>));
  SetKernel("nag_mom_update", AsFloat(UpdateCompute<opt::NAGMom>));
  SetKernel("adam_update", AsFloat(UpdateCompute<opt::Adam>));
  SetKernel("rmsprop_update", AsFloat(UpdateCompute<opt::RMSProp>));
  SetKernel("rmspropalex_update", AsFloat(UpdateCompute<opt::RMSPropAlex>));
  SetKernel("signsgd_update", AsFloat(UpdateCompute<opt::SignSGD>));
  SetKernel("signum_update", AsFloat(UpdateCompute<opt::Signum>));
  SetKernel("ftrl_update", AsFloat(UpdateCompute<opt::Ftrl>));
}

}  // namespace cuda
}  // namespace axle
