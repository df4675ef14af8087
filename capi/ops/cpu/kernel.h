// Helpers for CPU kernels: dtype dispatch, elementwise maps with the output request, and
// broadcasting iteration. Inner loops are plain indexed loops the compiler vectorises.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "common/parallel.h"
#include "ops/cpu/math_functors.h"
#include "ops/registry.h"

namespace axle {

// Runs the body with DType bound to the C++ type of a dtype code.
#define AX_TYPE_SWITCH(dtype, DType, ...)                                     \
  switch (dtype) {                                                            \
    case AX_FLOAT32: { using DType = float; __VA_ARGS__; } break;             \
    case AX_FLOAT64: { using DType = double; __VA_ARGS__; } break;            \
    case AX_FLOAT16: { using DType = ::axle::half_t; __VA_ARGS__; } break;    \
    case AX_UINT8: { using DType = uint8_t; __VA_ARGS__; } break;             \
    case AX_INT32: { using DType = int32_t; __VA_ARGS__; } break;             \
    case AX_INT8: { using DType = int8_t; __VA_ARGS__; } break;               \
    case AX_INT64: { using DType = int64_t; __VA_ARGS__; } break;             \
    case AX_BOOL: { using DType = bool; __VA_ARGS__; } break;                 \
    default: ::axle::Throw(AX_ERR_TYPE, "unsupported dtype code ", dtype);    \
  }

// The arithmetic type of DType: float for half, else itself.
template <class T> struct Acc { using type = T; };
template <> struct Acc<half_t> { using type = float; };
template <> struct Acc<bool> { using type = int; };

// (fn::CastValue: defined for NaN and out-of-range values, which static_cast is not)
template <class T>
inline T Cast(double v) { return fn::CastValue<T>(v); }
template <>
inline half_t Cast<half_t>(double v) { return half_t(static_cast<float>(v)); }
template <>
inline bool Cast<bool>(double v) { return v != 0; }

// out[i] (=|+=) f(i) for i in [0, n), split across threads when large.
template <class DType, class F>
void MapIndex(int64_t n, OpReq req, DType* out, F f) {
  if (req == OpReq::kNull || n == 0) return;
  if (req == OpReq::kAdd) {
    ParallelFor(n, kElemwiseGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) out[i] = DType(out[i] + f(i));
    });
  } else {
    ParallelFor(n, kElemwiseGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) out[i] = DType(f(i));
    });
  }
}

// Strides (in elements) of a row-major shape; broadcast dims (size 1 against a larger out) get 0.
struct BroadcastPlan {
  int ndim = 0;          // after dropping size-1 dims and merging contiguous ones
  int64_t out[kMaxNDim];
  int64_t stride[2][kMaxNDim];
};

// Plans iteration of out_shape over inputs a and b (each broadcastable to out_shape).
BroadcastPlan PlanBroadcast(const TShape& a, const TShape& b, const TShape& out);

// out[o] (=|+=) f(a[ia], b[ib]) over a broadcast plan.
template <class DType, class F>
void BroadcastMap(const BroadcastPlan& p, const DType* a, const DType* b, DType* out, OpReq req, F f) {
  if (req == OpReq::kNull) return;
  const int nd = p.ndim;
  if (nd == 0) {
    out[0] = req == OpReq::kAdd ? DType(out[0] + f(a[0], b[0])) : DType(f(a[0], b[0]));
    return;
  }
  const int64_t inner = p.out[nd - 1];
  const int64_t sa = p.stride[0][nd - 1], sb = p.stride[1][nd - 1];
  int64_t outer = 1;
  for (int d = 0; d < nd - 1; ++d) outer *= p.out[d];
  const bool add = req == OpReq::kAdd;
  int64_t grain = std::max<int64_t>(1, kElemwiseGrain / std::max<int64_t>(inner, 1));
  ParallelFor(outer, grain, [&](int64_t ob, int64_t oe) {
    int64_t idx[kMaxNDim] = {0};
    int64_t rem = ob;
    int64_t ia = 0, ib = 0;
    for (int d = nd - 2; d >= 0; --d) {
      idx[d] = rem % p.out[d];
      rem /= p.out[d];
      ia += idx[d] * p.stride[0][d];
      ib += idx[d] * p.stride[1][d];
    }
    for (int64_t o = ob; o < oe; ++o) {
      DType* y = out + o * inner;
      const DType* x0 = a + ia;
      const DType* x1 = b + ib;
      if (sa == 1 && sb == 1) {
        if (add) for (int64_t i = 0; i < inner; ++i) y[i] = DType(y[i] + f(x0[i], x1[i]));
        else for (int64_t i = 0; i < inner; ++i) y[i] = DType(f(x0[i], x1[i]));
      } else if (sa == 0 && sb == 1) {
        const DType v = x0[0];
        if (add) for (int64_t i = 0; i < inner; ++i) y[i] = DType(y[i] + f(v, x1[i]));
        else for (int64_t i = 0; i < inner; ++i) y[i] = DType(f(v, x1[i]));
      } else if (sa == 1 && sb == 0) {
        const DType v = x1[0];
        if (add) for (int64_t i = 0; i < inner; ++i) y[i] = DType(y[i] + f(x0[i], v));
        else for (int64_t i = 0; i < inner; ++i) y[i] = DType(f(x0[i], v));
      } else {
        for (int64_t i = 0; i < inner; ++i) {
          DType r = DType(f(x0[i * sa], x1[i * sb]));
          y[i] = add ? DType(y[i] + r) : r;
        }
      }
      // advance the odometer over the outer dims
      for (int d = nd - 2; d >= 0; --d) {
        ++idx[d];
        ia += p.stride[0][d];
        ib += p.stride[1][d];
        if (idx[d] < p.out[d]) break;
        ia -= idx[d] * p.stride[0][d];
        ib -= idx[d] * p.stride[1][d];
        idx[d] = 0;
      }
    }
  });
}

// numpy's broadcast of two shapes into *out; false when they do not broadcast.
bool BroadcastShapes(const TShape& a, const TShape& b, TShape* out);

}  // namespace axle
