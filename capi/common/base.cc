#include "common/base.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "common/backend.h"

namespace axle {

int64_t CheckedSize(const TShape& s, const char* what) {
  AX_CHECK(s.ndim_known(), AX_ERR_SHAPE, what, ": shape is unknown");
  // The product of the non-zero dimensions must fit too (in bytes of the widest dtype), even when
  // another dimension is 0: numpy (and every consumer that multiplies dims) cannot hold it.
  const int64_t limit = std::numeric_limits<int64_t>::max();
  int64_t nz = 1;
  bool zero = false;
  for (int i = 0; i < s.ndim(); ++i) {
    AX_CHECK(s[i] >= 0, AX_ERR_SHAPE, what, ": negative dimension in shape ", s.str());
    if (s[i] == 0) {
      zero = true;
      continue;
    }
    if (nz > limit / s[i]) Throw(AX_ERR_SHAPE, what, ": the element count of shape ", s.str(), " overflows int64");
    nz *= s[i];
  }
  if (zero && nz > limit / 8)  // zero elements, but dims no consumer can multiply out in bytes
    Throw(AX_ERR_SHAPE, what, ": the dimensions of shape ", s.str(), " overflow when multiplied");
  return zero ? 0 : nz;
}

size_t DTypeSize(int dtype) {
  switch (dtype) {
    case AX_FLOAT32: case AX_INT32: return 4;
    case AX_FLOAT64: case AX_INT64: return 8;
    case AX_FLOAT16: return 2;
    case AX_UINT8: case AX_INT8: case AX_BOOL: return 1;
  }
  Throw(AX_ERR_TYPE, "unknown dtype code ", dtype);
}

static const char* const kDTypeNames[] = {"float32", "float64", "float16", "uint8",
                                          "int32",   "int8",    "int64",   "bool"};

const char* DTypeName(int dtype) {
  AX_CHECK(ValidDType(dtype), AX_ERR_TYPE, "unknown dtype code ", dtype);
  return kDTypeNames[dtype];
}

int DTypeFromName(const std::string& name) {
  for (int i = 0; i <= AX_BOOL; ++i)
    if (name == kDTypeNames[i]) return i;
  Throw(AX_ERR_TYPE, "unknown dtype '", name, "' (expected one of float32, float64, float16, uint8, int32, int8, int64, bool)");
}

int EnvInt(const char* name, int fallback, int min_value) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  int n = std::atoi(v);
  return n >= min_value ? n : fallback;
}

void CheckContext(const Context& ctx) {
  if (ctx.dev_type == AX_CPU) {
    AX_CHECK(ctx.dev_id >= 0, AX_ERR_INVALID_ARGUMENT, "invalid device id ", ctx.dev_id, " for cpu");
    return;
  }
  AX_CHECK(ctx.dev_type == AX_GPU, AX_ERR_INVALID_ARGUMENT, "unknown device type ", ctx.dev_type,
           " (1 = cpu, 2 = gpu)");
  int n = GpuCount();
  AX_CHECK(n > 0, AX_ERR_NOT_SUPPORTED, "gpu(", ctx.dev_id, ") is not available: ", GpuUnavailableReason());
  AX_CHECK(ctx.dev_id >= 0 && ctx.dev_id < n, AX_ERR_NOT_SUPPORTED, "gpu(", ctx.dev_id, ") does not exist: ", n,
           " GPU(s) found");
}

// IEEE 754 binary16 <-> binary32, round to nearest even.
uint16_t half_t::FromFloat(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t mag = x & 0x7fffffffu;
  if (mag >= 0x7f800000u) return static_cast<uint16_t>(sign | (mag > 0x7f800000u ? 0x7e00u : 0x7c00u));
  if (mag >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflows to inf
  if (mag < 0x38800000u) {  // subnormal half or zero
    if (mag < 0x33000000u) return static_cast<uint16_t>(sign);
    uint32_t e = mag >> 23;
    uint32_t m = (mag & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - e;  // value = m * 2^(e-150) = (m >> shift) * 2^-24
    uint32_t half_m = m >> shift;
    uint32_t dropped = m & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (dropped > halfway || (dropped == halfway && (half_m & 1u))) ++half_m;
    return static_cast<uint16_t>(sign | half_m);
  }
  uint32_t h = ((mag - 0x38000000u) >> 13);
  uint32_t dropped = mag & 0x1fffu;
  if (dropped > 0x1000u || (dropped == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

float half_t::ToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1fu;
  uint32_t m = h & 0x3ffu;
  uint32_t x;
  if (e == 0) {
    if (m == 0) {
      x = sign;
    } else {  // subnormal: normalise
      int shift = 0;
      while (!(m & 0x400u)) { m <<= 1; ++shift; }
      m &= 0x3ffu;
      x = sign | (static_cast<uint32_t>(127 - 15 - shift + 1) << 23) | (m << 13);
    }
  } else if (e == 31) {
    x = sign | 0x7f800000u | (m << 13);
  } else {
    x = sign | ((e + 127 - 15) << 23) | (m << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

}  // namespace axle
