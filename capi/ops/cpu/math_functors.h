// Scalar math shared by the elementwise kernels (CPU and CUDA). Integer division and modulo by zero give 0
// (never a hardware trap), modulo takes the sign of the divisor as in Python and MXNet.
#pragma once
#include <cmath>
#include <limits>
#include <type_traits>

#include "common/base.h"

namespace axle {
namespace fn {

// The arithmetic type of a stored type: float for float16 (half_t here, the CUDA backend's Half
// specialises it too), else itself.
template <class T> struct Arith { using type = T; };
template <> struct Arith<half_t> { using type = float; };
template <class T> using A = typename Arith<T>::type;

// static_cast from S to D (Cast, _cast_like), defined for every input: to an integer type, NaN gives 0,
// values beyond int64's range saturate, the rest truncate toward zero and wrap to the type's width (as
// x86 does within int32's range); to bool, non-zero is true.
template <class D, class S> AX_HD A<D> CastValue(S v) {
  using F = A<S>;
  if constexpr (std::is_same_v<D, bool>) {
    return static_cast<double>(F(v)) != 0.0;
  } else if constexpr (std::is_integral_v<D> && std::is_floating_point_v<F>) {
    const double d = static_cast<double>(F(v));
    constexpr double kTwo63 = 9223372036854775808.0;
    if (d != d) return D(0);
    if (d >= kTwo63) return static_cast<D>(int64_t(0x7fffffffffffffff));
    if (d < -kTwo63) return static_cast<D>(int64_t(-0x7fffffffffffffff - 1));
    return static_cast<D>(static_cast<int64_t>(d));
  } else {
    return static_cast<A<D>>(F(v));
  }
}

struct Add { template <class T> static AX_HD auto Map(T a, T b) { return A<T>(a) + A<T>(b); } };
struct Sub { template <class T> static AX_HD auto Map(T a, T b) { return A<T>(a) - A<T>(b); } };
struct Mul { template <class T> static AX_HD auto Map(T a, T b) { return A<T>(a) * A<T>(b); } };
struct Div {
  template <class T> static AX_HD auto Map(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
      if (b == 0) return T(0);
      if constexpr (std::is_signed_v<T>) if (b == T(-1)) return T(T(0) - a);
      return T(a / b);
    } else {
      return A<T>(a) / A<T>(b);
    }
  }
};
struct Mod {
  template <class T> static AX_HD auto Map(T a, T b) {
    if constexpr (std::is_same_v<T, bool>) {
      return T(false);
    } else if constexpr (std::is_integral_v<T>) {
      if (b == 0) return T(0);
      if constexpr (std::is_signed_v<T>) {
        if (b == T(-1)) return T(0);
        T r = T(a % b);
        if (r != 0 && ((r < 0) != (b < 0))) r = T(r + b);
        return r;
      } else {
        return T(a % b);
      }
    } else {
      using F = A<T>;
      F x = F(a), y = F(b);
      if (y == F(0)) return F(0);
      F r = std::fmod(x, y);
      if (r != F(0) && ((r < F(0)) != (y < F(0)))) r += y;
      return r;
    }
  }
};
struct Power {
  template <class T> static AX_HD auto Map(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
      return T(static_cast<int64_t>(std::pow(static_cast<double>(a), static_cast<double>(b))));
    } else {
      return std::pow(A<T>(a), A<T>(b));
    }
  }
};
struct Maximum { template <class T> static AX_HD auto Map(T a, T b) { return A<T>(a) > A<T>(b) || std::isnan(double(A<T>(a))) ? A<T>(a) : A<T>(b); } };
struct Minimum { template <class T> static AX_HD auto Map(T a, T b) { return A<T>(a) < A<T>(b) || std::isnan(double(A<T>(a))) ? A<T>(a) : A<T>(b); } };
struct Equal { template <class T> static AX_HD auto Map(T a, T b) { return A<T>(A<T>(a) == A<T>(b) ? 1 : 0); } };
struct NotEqual { template <class T> static AX_HD auto Map(T a, T b) { return A<T>(A<T>(a) != A<T>(b) ? 1 : 0); } };
struct Greater { template <class T> static AX_HD auto Map(T a, T b) { return A<T>(A<T>(a) > A<T>(b) ? 1 : 0); } };
struct GreaterEqual { template <class T> static AX_HD auto Map(T a, T b) { return A<T>(A<T>(a) >= A<T>(b) ? 1 : 0); } };
struct Lesser { template <class T> static AX_HD auto Map(T a, T b) { return A<T>(A<T>(a) < A<T>(b) ? 1 : 0); } };
struct LesserEqual { template <class T> static AX_HD auto Map(T a, T b) { return A<T>(A<T>(a) <= A<T>(b) ? 1 : 0); } };
struct LogicalAnd { template <class T> static AX_HD auto Map(T a, T b) { return A<T>((A<T>(a) != A<T>(0) && A<T>(b) != A<T>(0)) ? 1 : 0); } };
struct LogicalOr { template <class T> static AX_HD auto Map(T a, T b) { return A<T>((A<T>(a) != A<T>(0) || A<T>(b) != A<T>(0)) ? 1 : 0); } };
struct LogicalXor { template <class T> static AX_HD auto Map(T a, T b) { return A<T>(((A<T>(a) != A<T>(0)) != (A<T>(b) != A<T>(0))) ? 1 : 0); } };

// Reversed-operand forms for scalar ops (scalar OP x).
template <class OP>
struct Rev { template <class T> static AX_HD auto Map(T a, T b) { return OP::Map(b, a); } };

}  // namespace fn
}  // namespace axle
