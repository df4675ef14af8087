// exp, tanh and sigmoid for float32 written without calls or branches, so that the compiler
// vectorises the loops that use them (glibc's expf is a call per element; its tanhf and expm1f take
// ~20 ns each). The loops are in vec_math.cc (RunFloat32): compiled for AVX2+FMA and the baseline, and
// without -ftrapping-math, which GCC needs to if-convert the selects (Axle sets no FP traps).
// Accuracy over all float32 inputs, against double: exp within 2 ulp (0 below e^-87.34, where the
// result would be subnormal), tanh and sigmoid within 3 ulp; NaN propagates, the limits are exact.
#pragma once
#include <cstdint>
#include <cstring>

#include "ops/registry.h"

namespace axle {
namespace vmath {

// e^x: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two for an exact n ln2), e^r by a degree-6
// polynomial (least squares on [-ln2/2, ln2/2], fitted for Axle), 2^n put in the exponent bits.
// ExpR returns e^r and sets n (a float; NaN when xc is NaN).
inline float ExpR(float xc, float* n_out) {
  const float n = (xc * 1.44269504f + 12582912.0f) - 12582912.0f;  // round to nearest (|n| < 2^22)
  const float r = (xc - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.3829409e-3f;
  p = p * r + 8.3747795e-3f;
  p = p * r + 4.1668359e-2f;
  p = p * r + 1.6666421e-1f;
  p = p * r + 4.9999991e-1f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  *n_out = n;
  return p;
}
inline float Pow2(int32_t n) {  // 2^n for -126 <= n <= 127
  const int32_t bits = (n + 127) << 23;
  float v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

inline float Exp(float x) {
  float xc = x > 88.72283f ? 88.72283f : x;  // NaN passes through both clamps
  xc = xc < -87.33654f ? -87.33654f : xc;     // e^x below is subnormal: flushed to 0
  float n;
  const float p = ExpR(xc, &n);
  // 2^n as 2^(n - d) * 2^d, d = 1 for n = 128 (e^x near FLT_MAX), so that n - d fits the exponent
  // (a NaN n is converted as 0: converting NaN to an integer is undefined; y is NaN through p anyway)
  const int32_t ni = static_cast<int32_t>(n == n ? n : 0.0f), d = ni > 127 ? 1 : 0;
  const float y = p * Pow2(ni - d) * (d ? 2.0f : 1.0f);
  return x > 88.72283f ? __builtin_inff() : (x < -87.33654f ? 0.0f : y);
}

// tanh: |x| < 0.625 by an odd polynomial (x + x^3 q(x^2), fitted for Axle), above by
// 1 - 2 / (e^{2|x|} + 1) (no cancellation there); |x| >= 9 gives exactly +-1 in float32.
// e^{2|x|} is Exp's arithmetic without its range checks: 2|x| is clamped to [0, 18] (NaN: 18, the
// result is then x), so n <= 26 always fits the exponent. The same bits as through Exp.
inline float Tanh(float x) {
  const float a = __builtin_fabsf(x);
  const float s = x * x;
  float q = 2.3734793e-3f;
  q = q * s - 8.4125185e-3f;
  q = q * s + 2.1789094e-2f;
  q = q * s - 5.3961650e-2f;
  q = q * s + 1.3333313e-1f;
  q = q * s - 3.3333334e-1f;
  const float small = x * (1.0f + s * q);  // (not x + x s q: that turns -0 into +0)
  float n;
  const float p = ExpR(2.0f * (a < 9.0f ? a : 9.0f), &n);
  const float e = p * Pow2(static_cast<int32_t>(n));
  const float large = 1.0f - 2.0f / (e + 1.0f);
  return a < 0.625f ? small : (a != a ? x : __builtin_copysignf(large, x));
}

inline float Sigmoid(float x) { return 1.0f / (1.0f + Exp(-x)); }

// Whether the CPU has AVX2 and FMA (checked once); the loops here and the small matrix kernels
// (small_gemm.cc) use their AVX2 code only then.
bool HasAvx2Fma();

enum Fn { kExp, kTanh, kSigmoid };
// out (=|+=) fn(in) for float32 blobs, split across the kernel threads. False (nothing done) when
// the dtype is not float32 or req is kNull: the caller then runs its generic loop.
bool RunFloat32(Fn fn, const TBlob& in, const TBlob& out, OpReq req);

}  // namespace vmath
}  // namespace axle
