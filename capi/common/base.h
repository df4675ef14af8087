// Core types shared by every subsystem: errors, shapes, dtypes, contexts.
#pragma once
#include <cstdint>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "axle.h"

// Marks small functions that CUDA kernels share with the CPU (the CUDA backend compiles the
// same functors for the device).
#ifdef __CUDACC__
#define AX_HD __host__ __device__
#else
#define AX_HD
#endif

namespace axle {

// An error that crosses the C boundary as an AxStatus and a message.
class Error : public std::runtime_error {
 public:
  Error(AxStatus status, const std::string& msg) : std::runtime_error(msg), status_(status) {}
  AxStatus status() const { return status_; }
 private:
  AxStatus status_;
};

namespace detail {
inline void Cat(std::ostringstream&) {}
template <class T, class... R>
void Cat(std::ostringstream& os, const T& v, const R&... rest) { os << v; Cat(os, rest...); }
}  // namespace detail

template <class... A>
std::string StrCat(const A&... a) { std::ostringstream os; detail::Cat(os, a...); return os.str(); }

template <class... A>
[[noreturn]] void Throw(AxStatus st, const A&... a) { throw Error(st, StrCat(a...)); }

#define AX_CHECK(cond, status, ...) \
  do { if (!(cond)) ::axle::Throw(status, __VA_ARGS__); } while (0)

// ---- shapes --------------------------------------------------------------------------------
constexpr int kMaxNDim = 16;

// A shape; ndim -1 means unknown, a dim of -1 means that dim is unknown.
class TShape {
 public:
  TShape() : ndim_(-1) {}
  explicit TShape(int ndim, int64_t fill = -1) : ndim_(ndim) {
    CheckNDim(ndim);
    for (int i = 0; i < ndim; ++i) d_[i] = fill;
  }
  TShape(std::initializer_list<int64_t> l) : TShape(l.begin(), l.end()) {}
  template <class It, std::enable_if_t<!std::is_integral_v<It>, int> = 0>
  TShape(It b, It e) : ndim_(0) {
    for (; b != e; ++b) { CheckNDim(ndim_ + 1); d_[ndim_++] = static_cast<int64_t>(*b); }
  }
  int ndim() const { return ndim_; }
  bool ndim_known() const { return ndim_ >= 0; }
  bool known() const {
    if (ndim_ < 0) return false;
    for (int i = 0; i < ndim_; ++i) if (d_[i] < 0) return false;
    return true;
  }
  int64_t Size() const {
    int64_t s = 1;
    for (int i = 0; i < ndim_; ++i) s *= d_[i];
    return s;
  }
  // Product of dims [b, e).
  int64_t ProdRange(int b, int e) const {
    int64_t s = 1;
    for (int i = b; i < e; ++i) s *= d_[i];
    return s;
  }
  int64_t& operator[](int i) { return d_[i]; }
  int64_t operator[](int i) const { return d_[i]; }
  const int64_t* data() const { return d_; }
  int64_t* data() { return d_; }
  const int64_t* begin() const { return d_; }
  const int64_t* end() const { return d_ + (ndim_ < 0 ? 0 : ndim_); }
  bool operator==(const TShape& o) const {
    if (ndim_ != o.ndim_) return false;
    for (int i = 0; i < ndim_; ++i) if (d_[i] != o.d_[i]) return false;
    return true;
  }
  bool operator!=(const TShape& o) const { return !(*this == o); }
  std::string str() const {
    if (ndim_ < 0) return "None";
    std::string s = "(";
    for (int i = 0; i < ndim_; ++i) {
      if (i) s += ",";
      s += d_[i] < 0 ? std::string("?") : std::to_string(d_[i]);
    }
    if (ndim_ == 1) s += ",";
    return s + ")";
  }
  static void CheckNDim(int n) {
    AX_CHECK(n <= kMaxNDim, AX_ERR_SHAPE, "arrays of more than ", kMaxNDim, " dimensions are not supported (got ", n, ")");
  }

 private:
  int ndim_;
  int64_t d_[kMaxNDim];
};

inline std::ostream& operator<<(std::ostream& os, const TShape& s) { return os << s.str(); }

// Checked element count of a shape: no negative dims, no int64 overflow.
int64_t CheckedSize(const TShape& s, const char* what);

// ---- dtypes --------------------------------------------------------------------------------
inline bool ValidDType(int t) { return t >= AX_FLOAT32 && t <= AX_BOOL; }
size_t DTypeSize(int dtype);
const char* DTypeName(int dtype);  // numpy's names: "float32", ...
int DTypeFromName(const std::string& name);  // throws on an unknown name

// An integer >= min_value from the environment, else fallback.
int EnvInt(const char* name, int fallback, int min_value = 1);

// ---- contexts ------------------------------------------------------------------------------
struct Context {
  int dev_type = AX_CPU;
  int dev_id = 0;
  bool operator==(const Context& o) const { return dev_type == o.dev_type && dev_id == o.dev_id; }
  bool operator!=(const Context& o) const { return !(*this == o); }
  std::string str() const { return StrCat(dev_type == AX_GPU ? "gpu(" : "cpu(", dev_id, ")"); }
  static Context CPU(int id = 0) { return Context{AX_CPU, id}; }
};

// Validates a context; a GPU context on a build or machine without GPUs is AX_ERR_NOT_SUPPORTED.
void CheckContext(const Context& ctx);

// ---- IEEE half precision, stored as bits; arithmetic goes through float -------------------
struct half_t {
  uint16_t bits = 0;
  half_t() = default;
  half_t(float f) : bits(FromFloat(f)) {}  // NOLINT: implicit like a numeric type
  half_t(double d) : bits(FromFloat(static_cast<float>(d))) {}  // NOLINT
  half_t(int v) : bits(FromFloat(static_cast<float>(v))) {}  // NOLINT
  half_t(int64_t v) : bits(FromFloat(static_cast<float>(v))) {}  // NOLINT
  operator float() const { return ToFloat(bits); }  // NOLINT
  static uint16_t FromFloat(float f);
  static float ToFloat(uint16_t h);
};

}  // namespace axle
