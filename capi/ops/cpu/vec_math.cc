// The vectorised loops over the vmath functions (see vec_math.h).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")  // lets GCC if-convert (vectorise) the selects
#endif
#include "ops/cpu/vec_math.h"

#include "common/parallel.h"
#include "ndarray/ndarray.h"

namespace axle {
namespace vmath {
namespace {

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define AX_VMATH_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define AX_VMATH_CLONES
#endif

template <float (*F)(float)>
inline void Loop(const float* x, float* y, int64_t n, bool add) {
  if (add) {
    for (int64_t i = 0; i < n; ++i) y[i] += F(x[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = F(x[i]);
  }
}
AX_VMATH_CLONES void ExpRun(const float* x, float* y, int64_t n, bool add) { Loop<Exp>(x, y, n, add); }
AX_VMATH_CLONES void TanhRun(const float* x, float* y, int64_t n, bool add) { Loop<Tanh>(x, y, n, add); }
AX_VMATH_CLONES void SigmoidRun(const float* x, float* y, int64_t n, bool add) { Loop<Sigmoid>(x, y, n, add); }

}  // namespace

bool RunFloat32(Fn fn, const TBlob& in, const TBlob& out, OpReq req) {
  if (out.dtype != AX_FLOAT32 || in.dtype != AX_FLOAT32 || req == OpReq::kNull) return false;
  const float* x = in.ptr<float>();
  float* y = out.ptr<float>();
  const bool add = req == OpReq::kAdd;
  auto run = fn == kExp ? ExpRun : (fn == kTanh ? TanhRun : SigmoidRun);
  ParallelFor(out.Size(), kElemwiseGrain, [&](int64_t b, int64_t e) { run(x + b, y + b, e - b, add); });
  return true;
}

}  // namespace vmath
}  // namespace axle
