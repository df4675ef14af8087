// The vectorised loops over the vmath functions (see vec_math.h).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")  // lets GCC if-convert (vectorise) the selects
#endif
#include "ops/cpu/vec_math.h"

#include "common/parallel.h"
#include "ndarray/ndarray.h"

namespace axle {
namespace vmath {

bool HasAvx2Fma() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}

namespace {

template <float (*F)(float)>
__attribute__((always_inline)) inline void Loop(const float* x, float* y, int64_t n, bool add) {
  if (add) {
    for (int64_t i = 0; i < n; ++i) y[i] += F(x[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = F(x[i]);
  }
}
using RunFn = void (*)(const float*, float*, int64_t, bool);

// Each loop twice: for AVX2 with FMA (chosen at run time when the CPU has both; FMA halves the
// polynomials' instructions) and for the baseline. (GCC's target_clones cannot name that pair:
// its "arch=x86-64-v3" clone also wants features some virtual CPUs hide.)
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define AX_VMATH_FAST __attribute__((target("avx2,fma")))
#else
#define AX_VMATH_FAST
#endif

#define AX_VMATH_RUN(NAME, F)                                                                                   \
  AX_VMATH_FAST void NAME##Fast(const float* x, float* y, int64_t n, bool add) { Loop<F>(x, y, n, add); } \
  void NAME##Base(const float* x, float* y, int64_t n, bool add) { Loop<F>(x, y, n, add); }               \
  RunFn NAME##Run() { return HasAvx2Fma() ? NAME##Fast : NAME##Base; }
AX_VMATH_RUN(Exp, Exp)
AX_VMATH_RUN(Tanh, Tanh)
AX_VMATH_RUN(Sigmoid, Sigmoid)
#undef AX_VMATH_RUN

}  // namespace

bool RunFloat32(Fn fn, const TBlob& in, const TBlob& out, OpReq req) {
  if (out.dtype != AX_FLOAT32 || in.dtype != AX_FLOAT32 || req == OpReq::kNull) return false;
  const float* x = in.ptr<float>();
  float* y = out.ptr<float>();
  const bool add = req == OpReq::kAdd;
  const RunFn run = fn == kExp ? ExpRun() : (fn == kTanh ? TanhRun() : SigmoidRun());
  ParallelFor(out.Size(), kElemwiseGrain, [&](int64_t b, int64_t e) { run(x + b, y + b, e - b, add); });
  return true;
}

}  // namespace vmath
}  // namespace axle
