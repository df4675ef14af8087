// Reductions over axes (sum, mean, prod, max, min, nansum, nanprod, norm, argmax, argmin), the
// ops that carry their gradients (_broadcast_reduced, _backward_prod, _backward_norm) and the
// explicit broadcasts broadcast_to / broadcast_axis.
//
// A reduction first merges the input's axes into runs of reduced and kept axes (size-1 axes
// dropped), then takes one of two paths by the innermost (contiguous) run:
//   - reduced innermost: each output reduces contiguous rows, with a lane-parallel inner loop
//     (float32 lanes flushed into a double every kBlock elements: vector speed, near-pairwise
//     accuracy);
//   - kept innermost: each output row accumulates whole input rows, element by element;
//   - several reduced runs per output (NCHW over N, H, W): runs outer, outputs inner.
// max/min of float32/float64 use explicit vectors; the inner loops have AVX2 clones on x86-64.
// Work is split into fixed-size segments (never by thread count), so results do not depend on
// the number of threads.
#include <cstring>
#include <limits>
#include <memory>

#include "graph/grad_util.h"
#include "ops/cpu/kernel.h"
#include "ops/reduce_op.h"
#include "ops/cpu/math_functors.h"
#include "ops/reduce_op.h"

namespace axle {

// ---- the axis attribute: "Shape or None" (found by ParamBuilder through ADL) -----------------
bool ParseValue(const std::string& s, OptShape* out) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  std::string t = b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  if (t == "None" || t.empty()) {
    *out = OptShape{};
    return true;
  }
  IntTuple v;
  if (!::axle::ParseValue(t, &v)) return false;
  out->has = true;
  out->v = std::move(v);
  return true;
}
std::string FormatValue(const OptShape& s) {
  if (!s.has) return "None";
  std::string r = "(";
  for (size_t i = 0; i < s.v.size(); ++i) r += (i ? "," : "") + std::to_string(s.v[i]);
  return r + (s.v.size() == 1 ? ",)" : ")");
}
const char* TypeName(const OptShape*) { return "Shape or None"; }

namespace {

void DescribeReduce(ParamBuilder<ReduceParam>& b) {
  b.Field("axis", &ReduceParam::axis, OptShape{})
      .Describe("The axis or axes to reduce; None or () reduces all of them into shape (1,). Negative values count "
                "from the end.");
  b.Field("keepdims", &ReduceParam::keepdims, false)
      .Describe("If true, the reduced axes are left in the result with size one.");
  b.Field("exclude", &ReduceParam::exclude, false).Describe("Whether to reduce the axes that are NOT in axis instead.");
}
void DescribeBroadcastReduced(ParamBuilder<ReduceParam>& b) {
  DescribeReduce(b);
  b.Field("normalize", &ReduceParam::normalize, false)
      .Describe("Divide by the number of elements reduced into each output (the gradient of mean).");
}

void DescribeBackwardProd(ParamBuilder<ReduceParam>& b) {
  DescribeReduce(b);
  b.Field("skip_nan", &ReduceParam::skip_nan, false).Describe("NaN elements count as one (the gradient of nanprod).");
}

void DescribeNorm(ParamBuilder<NormParam>& b) {
  b.Field("ord", &NormParam::ord, 2).Describe("Order of the norm: 1 or 2.");
  b.Field("axis", &NormParam::axis, OptShape{})
      .Describe("The axis or axes to reduce (over a 2-tuple: the Frobenius norm for ord=2, the sum of absolute "
                "values for ord=1); None reduces all of them.");
  b.Enum("out_dtype", &NormParam::out_dtype, {"float16", "float32", "float64", "int32", "int64", "int8"}, "None", true)
      .Describe("The dtype of the output (None: the input's).");
  b.Field("keepdims", &NormParam::keepdims, false)
      .Describe("If true, the reduced axes are left in the result with size one.");
}

void DescribeArg(ParamBuilder<ArgParam>& b) {
  b.Field("axis", &ArgParam::axis, OptInt{})
      .Describe("The axis to reduce; None gives the index into the flattened array. Negative values count from the end.");
  b.Field("keepdims", &ArgParam::keepdims, false)
      .Describe("If true, the reduced axis is left in the result with size one.");
}

// ---- axes and shapes ------------------------------------------------------------------------
struct AxisSet {
  int nd = 0;
  bool red[kMaxNDim] = {false};
};

AxisSet ReduceAxes(const NodeAttrs& attrs, int nd, const OptShape& axis, bool exclude) {
  AxisSet s;
  s.nd = nd;
  if (!axis.has || axis.v.empty()) {  // all axes, whatever exclude says (as MXNet)
    for (int i = 0; i < nd; ++i) s.red[i] = true;
    return s;
  }
  for (int64_t a : axis.v) {
    int64_t b = a < 0 ? a + nd : a;
    AX_CHECK(b >= 0 && b < nd, AX_ERR_INDEX, attrs.Who(), ": axis ", a, " is out of range for an array of ", nd,
             " dimension(s)");
    AX_CHECK(!s.red[b], AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": axis ", FormatValue(axis), " has duplicates");
    s.red[b] = true;
  }
  if (exclude)
    for (int i = 0; i < nd; ++i) s.red[i] = !s.red[i];
  return s;
}

// The input shape with the reduced axes set to 1.
TShape KeepShape(const TShape& in, const AxisSet& a) {
  TShape r = in;
  for (int i = 0; i < in.ndim(); ++i)
    if (a.red[i]) r[i] = 1;
  return r;
}

TShape ReducedShape(const TShape& in, const AxisSet& a, bool keepdims) {
  if (keepdims) return KeepShape(in, a);
  std::vector<int64_t> d;
  for (int i = 0; i < in.ndim(); ++i)
    if (!a.red[i]) d.push_back(in[i]);
  if (d.empty()) return TShape{1};
  return TShape(d.begin(), d.end());
}

int64_t ReduceCount(const TShape& in, const AxisSet& a) {
  int64_t r = 1;
  for (int i = 0; i < in.ndim(); ++i)
    if (a.red[i]) r *= in[i];
  return r;
}

// ---- the reduction plan ---------------------------------------------------------------------
struct RPlan {
  int nk = 0, nr = 0;  // outer kept / outer reduced runs (the innermost run is `inner`)
  int64_t kdim[kMaxNDim], kstr[kMaxNDim], rdim[kMaxNDim], rstr[kMaxNDim];
  bool inner_red = false;
  int64_t inner = 1;
  int64_t M = 1, R = 1;  // outputs, elements reduced into each
};

RPlan MakePlan(const TShape& s, const AxisSet& a) {
  int64_t dim[kMaxNDim], str[kMaxNDim];
  bool red[kMaxNDim];
  int n = 0;
  int64_t acc = 1;
  int64_t st[kMaxNDim];
  for (int i = s.ndim() - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= s[i];
  }
  for (int i = 0; i < s.ndim(); ++i) {
    if (s[i] == 1) continue;
    if (n > 0 && red[n - 1] == a.red[i]) {  // merge with the previous run (row-major: contiguous)
      dim[n - 1] *= s[i];
      str[n - 1] = st[i];
      continue;
    }
    dim[n] = s[i];
    str[n] = st[i];
    red[n] = a.red[i];
    ++n;
  }
  RPlan p;
  if (n == 0) return p;
  p.inner = dim[n - 1];
  p.inner_red = red[n - 1];
  for (int i = 0; i < n - 1; ++i) {
    if (red[i]) {
      p.rdim[p.nr] = dim[i];
      p.rstr[p.nr++] = str[i];
    } else {
      p.kdim[p.nk] = dim[i];
      p.kstr[p.nk++] = str[i];
    }
  }
  p.M = p.inner_red ? 1 : p.inner;
  p.R = p.inner_red ? p.inner : 1;
  for (int i = 0; i < p.nk; ++i) p.M *= p.kdim[i];
  for (int i = 0; i < p.nr; ++i) p.R *= p.rdim[i];
  return p;
}

// Offset of multi-index number i over dims (row-major) with the given strides.
inline int64_t Offset(int64_t i, int n, const int64_t* dim, const int64_t* str) {
  if (n == 0) return 0;
  if (n == 1) return i * str[0];
  int64_t off = 0;
  for (int d = n - 1; d >= 0; --d) {
    off += (i % dim[d]) * str[d];
    i /= dim[d];
  }
  return off;
}

constexpr int64_t kSeg = 1 << 15;   // elements per unit of work (fixed: results independent of threads)
constexpr int64_t kBlock = 1024;    // lane flush interval
constexpr int64_t kCol = 1 << 14;   // output chunk of the kept-innermost path (long rows stream best)
constexpr int64_t kSegCol = 1 << 20;  // elements per unit of work when outputs take several runs each
constexpr int64_t kArgCol = 1024;   // output chunk of argmax/argmin along a non-inner axis
constexpr int64_t kFlushRows = 64;  // rows accumulated in lanes before the flush there

template <class T> using Arith = fn::A<T>;

// ---- reducers -------------------------------------------------------------------------------
// Each reducer defines Lane (the inner-loop accumulator), Acc (the per-output accumulator) and
//   LInit, LPut(Lane, x), AInit, AFlush(Acc, Lane), APut(Acc, x), ACombine(Acc, Acc), Fin(Acc, R).
template <class DType>
constexpr bool kIsInt = std::is_integral_v<DType>;

template <class DType>
using FloatLane = std::conditional_t<std::is_same_v<DType, double>, double, float>;

template <class DType, bool kMean>
struct SumR {
  using Lane = std::conditional_t<kIsInt<DType>, uint64_t, FloatLane<DType>>;
  using Acc = std::conditional_t<kIsInt<DType>, uint64_t, double>;
  static Lane LInit() { return Lane(0); }
  static Lane LPut(Lane l, DType x) { return l + static_cast<Lane>(static_cast<Arith<DType>>(x)); }
  static Acc AInit() { return Acc(0); }
  static Acc AFlush(Acc a, Lane l) { return a + static_cast<Acc>(l); }
  static Acc APut(Acc a, DType x) { return a + static_cast<Acc>(static_cast<Arith<DType>>(x)); }
  static Acc ACombine(Acc a, Acc b) { return a + b; }
  static auto Fin(Acc a, int64_t n) {
    if constexpr (kIsInt<DType>) {
      int64_t v = static_cast<int64_t>(a);
      if (kMean) v = n > 0 ? v / n : 0;
      return v;
    } else {
      return kMean ? a / static_cast<double>(n) : a;
    }
  }
};

// nansum: NaN counts as 0 (integers have no NaN: a plain sum).
template <class DType>
struct NanSumR : SumR<DType, false> {
  using B = SumR<DType, false>;
  using typename B::Lane;
  using typename B::Acc;
  static Lane LPut(Lane l, DType x) {
    Lane v = static_cast<Lane>(static_cast<Arith<DType>>(x));
    return l + (v == v ? v : Lane(0));
  }
  static Acc APut(Acc a, DType x) { return AFlush(a, LPut(Lane(0), x)); }
  static Acc AFlush(Acc a, Lane l) { return a + static_cast<Acc>(l); }
};

template <class DType, bool kSkipNaN>
struct ProdR {
  using Lane = std::conditional_t<kIsInt<DType>, uint64_t, double>;
  using Acc = Lane;
  static Lane LInit() { return Lane(1); }
  static Lane LPut(Lane l, DType x) {
    Lane v = static_cast<Lane>(static_cast<Arith<DType>>(x));
    if constexpr (kSkipNaN) return v == v ? l * v : l;
    return l * v;
  }
  static Acc AInit() { return Acc(1); }
  static Acc AFlush(Acc a, Lane l) { return a * l; }
  static Acc APut(Acc a, DType x) { return LPut(a, x); }
  static Acc ACombine(Acc a, Acc b) { return a * b; }
  static auto Fin(Acc a, int64_t) {
    if constexpr (kIsInt<DType>) return static_cast<int64_t>(a);
    else return a;
  }
};

// max (kMax) or min; NaN wins, as in MXNet and numpy.
template <class DType, bool kMax>
struct ExtR {
  using T = Arith<DType>;
  using Lane = T;
  using Acc = T;
  static T Init() {
    if constexpr (std::is_floating_point_v<T>) return kMax ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
    else return kMax ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  }
  static T Pick(T a, T v) {
    if constexpr (std::is_floating_point_v<T>) return (kMax ? v > a : v < a) || v != v ? v : a;
    else return (kMax ? v > a : v < a) ? v : a;
  }
  static Lane LInit() { return Init(); }
  static Lane LPut(Lane l, DType x) { return Pick(l, static_cast<T>(x)); }
  static Acc AInit() { return Init(); }
  static Acc AFlush(Acc a, Lane l) { return Pick(a, l); }
  static Acc APut(Acc a, DType x) { return Pick(a, static_cast<T>(x)); }
  static Acc ACombine(Acc a, Acc b) { return Pick(a, b); }
  static T Fin(Acc a, int64_t) { return a; }
};

// Lp norms (ord 1 or 2), accumulated in double (float32 lanes for float32 and float16).
template <class DType, int kOrd>
struct NormR {
  using Lane = std::conditional_t<std::is_same_v<DType, float> || std::is_same_v<DType, half_t>, float, double>;
  using Acc = double;
  static Lane Map(DType x) {
    Lane v = static_cast<Lane>(static_cast<Arith<DType>>(x));
    if constexpr (kOrd == 1) return v < Lane(0) ? -v : v;
    else return v * v;
  }
  static Lane LInit() { return Lane(0); }
  static Lane LPut(Lane l, DType x) { return l + Map(x); }
  static Acc AInit() { return 0.0; }
  static Acc AFlush(Acc a, Lane l) { return a + static_cast<double>(l); }
  static Acc APut(Acc a, DType x) {
    double v = static_cast<double>(static_cast<Arith<DType>>(x));
    return a + (kOrd == 1 ? std::fabs(v) : v * v);
  }
  static Acc ACombine(Acc a, Acc b) { return a + b; }
  static double Fin(Acc a, int64_t) { return kOrd == 1 ? a : std::sqrt(a); }
};

// Product of the nonzero elements and the count of zeros (the gradient of prod).
struct NzProd {
  double p = 1.0;
  int64_t z = 0;
};
template <class DType>
struct NzProdR {
  using Lane = NzProd;
  using Acc = NzProd;
  static NzProd Put(NzProd a, DType x) {
    double v = static_cast<double>(static_cast<Arith<DType>>(x));
    if (v == 0) ++a.z;
    else a.p *= v;
    return a;
  }
  static NzProd Combine(NzProd a, NzProd b) { return NzProd{a.p * b.p, a.z + b.z}; }
  static Lane LInit() { return NzProd{}; }
  static Lane LPut(Lane l, DType x) { return Put(l, x); }
  static Acc AInit() { return NzProd{}; }
  static Acc AFlush(Acc a, Lane l) { return Combine(a, l); }
  static Acc APut(Acc a, DType x) { return Put(a, x); }
  static Acc ACombine(Acc a, Acc b) { return Combine(a, b); }
  static NzProd Fin(Acc a, int64_t) { return a; }
};

// The two inner loops are compiled twice on x86-64 Linux, for AVX2 and the baseline, and picked at
// load time (same lanes and order in both: identical results, only faster).
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define AX_REDUCE_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define AX_REDUCE_CLONES
#endif

// max/min of float and double with explicit vectors (GCC's vector extensions; other compilers
// take the scalar lanes): compilers do not vectorise the NaN-propagating select on their own.
#if defined(__GNUC__) && !defined(__clang__)
#define AX_REDUCE_VEC 1
template <class T> struct VecX;
template <> struct VecX<float> {  // 32 bytes: one AVX2 register, two SSE registers
  typedef float V __attribute__((vector_size(32)));
  typedef int32_t M __attribute__((vector_size(32)));
  static constexpr int N = 8;
};
template <> struct VecX<double> {
  typedef double V __attribute__((vector_size(32)));
  typedef int64_t M __attribute__((vector_size(32)));
  static constexpr int N = 4;
};
// The vector form of ExtR::Pick: a if a is NaN, else the larger (smaller) of a and v, NaN in v
// winning (a > v ? a : v is maxps: v when either is NaN).
// (By reference: 32-byte vectors by value would change the ABI without AVX.)
template <class T, bool kMax>
inline void VPick(typename VecX<T>::V& a, const typename VecX<T>::V& v) {
  a = a != a ? a : (kMax ? (a > v ? a : v) : (a < v ? a : v));
}
#else
#define AX_REDUCE_VEC 0
#endif
template <class Red> struct VecExt { static constexpr bool value = false; };
#if AX_REDUCE_VEC
template <bool kMax> struct VecExt<ExtR<float, kMax>> { static constexpr bool value = true; static constexpr bool max = kMax; };
template <bool kMax> struct VecExt<ExtR<double, kMax>> { static constexpr bool value = true; static constexpr bool max = kMax; };
#endif

// Reduces a contiguous run with independent lanes (vectorisable), flushed every kBlock elements.
template <class Red, class DType>
AX_REDUCE_CLONES typename Red::Acc RowReduce(const DType* x, int64_t n) {
  using Lane = typename Red::Lane;
  constexpr int W = sizeof(Lane) <= 4 ? 16 : 8;
  typename Red::Acc acc = Red::AInit();
#if AX_REDUCE_VEC
  if constexpr (VecExt<Red>::value) {
    using VT = VecX<DType>;
    constexpr int N = VT::N, K = 4;
    if (n < K * N) {
      for (int64_t i = 0; i < n; ++i) acc = Red::APut(acc, x[i]);
      return acc;
    }
    // a = (a > v ? a : v) is one maxps (minps for min); NaNs are tracked apart, off the a chain
    typename VT::V a[K];
    typename VT::M nan[K];
    for (int k = 0; k < K; ++k)
      for (int j = 0; j < N; ++j) {
        a[k][j] = acc;
        nan[k][j] = 0;
      }
    int64_t i = 0;
    for (; i + K * N <= n; i += K * N)
      for (int k = 0; k < K; ++k) {
        typename VT::V v;
        std::memcpy(&v, x + i + k * N, sizeof(v));
        a[k] = VecExt<Red>::max ? (a[k] > v ? a[k] : v) : (a[k] < v ? a[k] : v);
        nan[k] |= (v != v);
      }
    for (int k = 1; k < K; ++k) {
      a[0] = VecExt<Red>::max ? (a[0] > a[k] ? a[0] : a[k]) : (a[0] < a[k] ? a[0] : a[k]);
      nan[0] |= nan[k];
    }
    bool any_nan = false;
    for (int j = 0; j < N; ++j) {
      acc = Red::ACombine(acc, a[0][j]);
      any_nan |= nan[0][j] != 0;
    }
    for (; i < n; ++i) acc = Red::APut(acc, x[i]);
    return any_nan ? std::numeric_limits<DType>::quiet_NaN() : acc;
  }
#endif
  if (n < W) {
    for (int64_t i = 0; i < n; ++i) acc = Red::APut(acc, x[i]);
    return acc;
  }
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    Lane lanes[W];
    for (int j = 0; j < W; ++j) lanes[j] = Red::LInit();
    int64_t i = b;
    for (; i + W <= e; i += W)
      for (int j = 0; j < W; ++j) lanes[j] = Red::LPut(lanes[j], x[i + j]);
    for (; i < e; ++i) lanes[0] = Red::LPut(lanes[0], x[i]);
    for (int j = 0; j < W; ++j) acc = Red::AFlush(acc, lanes[j]);
  }
  return acc;
}

// l[c] = LPut(l[c], row[c]) for the rows at xb + offset(r), r in [r0, r1), c in [0, cw).
template <class Red, class DType, class L>
AX_REDUCE_CLONES void AccumRows(L* __restrict l, const DType* xb, const RPlan& p, int64_t r0, int64_t r1, int64_t cw) {
#if AX_REDUCE_VEC
  if constexpr (VecExt<Red>::value) {
    using VT = VecX<DType>;
    constexpr int N = VT::N;
    for (int64_t r = r0; r < r1; ++r) {
      const DType* __restrict row = xb + Offset(r, p.nr, p.rdim, p.rstr);
      int64_t c = 0;
      for (; c + N <= cw; c += N) {
        typename VT::V a, v;
        std::memcpy(&a, l + c, sizeof(a));
        std::memcpy(&v, row + c, sizeof(v));
        VPick<DType, VecExt<Red>::max>(a, v);
        std::memcpy(l + c, &a, sizeof(a));
      }
      for (; c < cw; ++c) l[c] = Red::LPut(l[c], row[c]);
    }
    return;
  }
#endif
  // four rows per pass over l: one load and store of each lane per four input rows (the lanes
  // of a long output chunk live in L2, the rows stream), in the same order of additions
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) {
    const DType* __restrict a = xb + Offset(r, p.nr, p.rdim, p.rstr);
    const DType* __restrict b = xb + Offset(r + 1, p.nr, p.rdim, p.rstr);
    const DType* __restrict c2 = xb + Offset(r + 2, p.nr, p.rdim, p.rstr);
    const DType* __restrict d = xb + Offset(r + 3, p.nr, p.rdim, p.rstr);
    for (int64_t c = 0; c < cw; ++c)
      l[c] = Red::LPut(Red::LPut(Red::LPut(Red::LPut(l[c], a[c]), b[c]), c2[c]), d[c]);
  }
  for (; r < r1; ++r) {
    const DType* __restrict row = xb + Offset(r, p.nr, p.rdim, p.rstr);
    for (int64_t c = 0; c < cw; ++c) l[c] = Red::LPut(l[c], row[c]);
  }
}

// Runs reducer Red over the plan; emit(m, acc) receives each output's accumulator once.
template <class Red, class DType, class Emit>
void RunReduce(const RPlan& p, const DType* x, Emit emit) {
  using Acc = typename Red::Acc;
  const int64_t M = p.M, R = p.R;
  if (M == 0) return;
  if (R == 0) {  // empty reduction: the identity
    for (int64_t m = 0; m < M; ++m) emit(m, Red::AInit());
    return;
  }
  auto rofs = [&](int64_t r) { return Offset(r, p.nr, p.rdim, p.rstr); };
  if (p.inner_red) {
    const int64_t L = p.inner, Ro = R / L;
    if (Ro == 1) {  // one contiguous run per output
      if (L <= kSeg) {
        ParallelFor(M, std::max<int64_t>(1, kSeg / L), [&](int64_t b, int64_t e) {
          for (int64_t m = b; m < e; ++m) emit(m, RowReduce<Red>(x + Offset(m, p.nk, p.kdim, p.kstr), L));
        });
        return;
      }
      const int64_t Q = (L + kSeg - 1) / kSeg;  // long runs: pieces of kSeg, then combined in order
      std::unique_ptr<Acc[]> part(new Acc[static_cast<size_t>(M * Q)]);  // (Acc may be bool)
      ParallelFor(M * Q, 1, [&](int64_t b, int64_t e) {
        for (int64_t u = b; u < e; ++u) {
          const int64_t m = u / Q, c0 = (u % Q) * kSeg;
          part[u] = RowReduce<Red>(x + Offset(m, p.nk, p.kdim, p.kstr) + c0, std::min(L - c0, kSeg));
        }
      });
      ParallelFor(M, std::max<int64_t>(1, 4096 / Q), [&](int64_t b, int64_t e) {
        for (int64_t m = b; m < e; ++m) {
          Acc acc = Red::AInit();
          for (int64_t q = 0; q < Q; ++q) acc = Red::ACombine(acc, part[m * Q + q]);
          emit(m, acc);
        }
      });
      return;
    }
    // Several runs per output (e.g. NCHW reduced over N, H, W): units of (a chunk of Mc outputs, a
    // range of rps runs), runs outer and outputs inner, which walks memory in order.
    const int64_t Mc = std::clamp<int64_t>(kSeg / L, 1, M), MQ = (M + Mc - 1) / Mc;
    const int64_t rps = std::max<int64_t>(1, kSegCol / (Mc * L)), S = (Ro + rps - 1) / rps;
    std::unique_ptr<Acc[]> part(S > 1 ? new Acc[static_cast<size_t>(M * S)] : nullptr);
    ParallelFor(MQ * S, 1, [&](int64_t b, int64_t e) {
      std::vector<int64_t> base(static_cast<size_t>(Mc));
      std::unique_ptr<Acc[]> acc(new Acc[static_cast<size_t>(Mc)]);
      for (int64_t u = b; u < e; ++u) {
        const int64_t mq = u / S, s = u % S;
        const int64_t m0 = mq * Mc, mw = std::min(Mc, M - m0);
        const int64_t r0 = s * rps, r1 = std::min(Ro, r0 + rps);
        for (int64_t k = 0; k < mw; ++k) {
          base[k] = Offset(m0 + k, p.nk, p.kdim, p.kstr);
          acc[k] = Red::AInit();
        }
        for (int64_t r = r0; r < r1; ++r) {
          const DType* xr = x + rofs(r);
          for (int64_t k = 0; k < mw; ++k) acc[k] = Red::ACombine(acc[k], RowReduce<Red>(xr + base[k], L));
        }
        for (int64_t k = 0; k < mw; ++k) {
          if (S == 1) emit(m0 + k, acc[k]);
          else part[(m0 + k) * S + s] = acc[k];
        }
      }
    });
    if (S == 1) return;
    ParallelFor(M, std::max<int64_t>(1, 4096 / S), [&](int64_t b, int64_t e) {
      for (int64_t m = b; m < e; ++m) {
        Acc acc = Red::AInit();
        for (int64_t s2 = 0; s2 < S; ++s2) acc = Red::ACombine(acc, part[m * S + s2]);
        emit(m, acc);
      }
    });
    return;
  }
  // kept innermost: outputs (P, N); each reduced index r adds a contiguous input row of N.
  // Chunks of up to kCol outputs, so that long rows stream through memory.
  using Lane = typename Red::Lane;
  const int64_t N = p.inner, P = M / N;
  const int64_t C = std::min<int64_t>(N, kCol), Q = (N + C - 1) / C;
  int64_t S = 1, rps = R;
  if (R * C > kSegCol) {
    rps = std::max<int64_t>(1, kSegCol / C);
    S = (R + rps - 1) / rps;
  }
  // accumulates rows [r0, r1) of output chunk (pi, q) into buf; lb: scratch lanes
  auto run = [&](int64_t pi, int64_t q, int64_t r0, int64_t r1, Acc* buf, Lane* lb) {
    const int64_t n0 = q * C, cw = std::min(C, N - n0);
    const DType* xb = x + Offset(pi, p.nk, p.kdim, p.kstr) + n0;
    for (int64_t c = 0; c < cw; ++c) buf[c] = Red::AInit();
    if constexpr (std::is_same_v<Lane, Acc>) {
      AccumRows<Red>(buf, xb, p, r0, r1, cw);
    } else {  // lanes (float32 for float32) over kFlushRows rows at a time, then into Acc
      for (int64_t rb = r0; rb < r1; rb += kFlushRows) {
        const int64_t re = std::min(r1, rb + kFlushRows);
        for (int64_t c = 0; c < cw; ++c) lb[c] = Red::LInit();
        AccumRows<Red>(lb, xb, p, rb, re, cw);
        for (int64_t c = 0; c < cw; ++c) buf[c] = Red::AFlush(buf[c], lb[c]);
      }
    }
    return cw;
  };
  if (S == 1) {
    ParallelFor(P * Q, std::max<int64_t>(1, kSegCol / (R * C)), [&](int64_t b, int64_t e) {
      std::unique_ptr<Acc[]> buf(new Acc[static_cast<size_t>(C)]);
      std::unique_ptr<Lane[]> lb(new Lane[static_cast<size_t>(C)]);
      for (int64_t u = b; u < e; ++u) {
        const int64_t pi = u / Q, q = u % Q;
        const int64_t cw = run(pi, q, 0, R, buf.get(), lb.get());
        for (int64_t c = 0; c < cw; ++c) emit(pi * N + q * C + c, buf[c]);
      }
    });
    return;
  }
  std::unique_ptr<Acc[]> part(new Acc[static_cast<size_t>(P * Q * S * C)]);
  ParallelFor(P * Q * S, 1, [&](int64_t b, int64_t e) {
    std::unique_ptr<Lane[]> lb(new Lane[static_cast<size_t>(C)]);
    for (int64_t u = b; u < e; ++u) {
      const int64_t pq = u / S, s = u % S;
      run(pq / Q, pq % Q, s * rps, std::min(R, (s + 1) * rps), &part[u * C], lb.get());
    }
  });
  ParallelFor(P * Q, 1, [&](int64_t b, int64_t e) {
    for (int64_t pq = b; pq < e; ++pq) {
      const int64_t pi = pq / Q, q = pq % Q, n0 = q * C, cw = std::min(C, N - n0);
      for (int64_t c = 0; c < cw; ++c) {
        Acc acc = Red::AInit();
        for (int64_t s = 0; s < S; ++s) acc = Red::ACombine(acc, part[(pq * S + s) * C + c]);
        emit(pi * N + n0 + c, acc);
      }
    }
  });
}

// y[i] (=|+=) v, v an int64 (exact integer results) or a floating value.
template <class OT, class V>
inline void Store(OT* y, int64_t i, V v, OpReq req) {
  if constexpr (std::is_same_v<OT, bool>) {
    bool b = v != V(0);
    y[i] = req == OpReq::kAdd ? (y[i] || b) : b;
  } else if constexpr (std::is_integral_v<OT>) {
    int64_t iv;
    if constexpr (std::is_floating_point_v<V>) iv = std::isfinite(v) ? static_cast<int64_t>(v) : 0;
    else iv = static_cast<int64_t>(v);
    if (req == OpReq::kAdd) iv += static_cast<int64_t>(y[i]);
    y[i] = static_cast<OT>(iv);
  } else {
    double dv = static_cast<double>(v);
    if (req == OpReq::kAdd) dv += static_cast<double>(static_cast<Arith<OT>>(y[i]));
    y[i] = Cast<OT>(dv);
  }
}

// For every element i of big: f(i, s) with s the linear index of the element of small (a shape
// broadcastable to big, same ndim) it maps to.
template <class F>
void ForBroadcastIndex(const TShape& small, const TShape& big, F f) {
  if (big.Size() == 0) return;
  BroadcastPlan p = PlanBroadcast(small, small, big);
  const int nd = p.ndim;
  if (nd == 0) {
    f(0, 0);
    return;
  }
  const int64_t inner = p.out[nd - 1], st = p.stride[0][nd - 1];
  int64_t outer = 1;
  for (int d = 0; d < nd - 1; ++d) outer *= p.out[d];
  ParallelFor(outer, std::max<int64_t>(1, kElemwiseGrain / inner), [&](int64_t ob, int64_t oe) {
    int64_t idx[kMaxNDim] = {0};
    int64_t rem = ob, s = 0;
    for (int d = nd - 2; d >= 0; --d) {
      idx[d] = rem % p.out[d];
      rem /= p.out[d];
      s += idx[d] * p.stride[0][d];
    }
    for (int64_t o = ob; o < oe; ++o) {
      const int64_t base = o * inner;
      if (st == 0) {
        for (int64_t i = 0; i < inner; ++i) f(base + i, s);
      } else {
        for (int64_t i = 0; i < inner; ++i) f(base + i, s + i * st);
      }
      for (int d = nd - 2; d >= 0; --d) {
        ++idx[d];
        s += p.stride[0][d];
        if (idx[d] < p.out[d]) break;
        s -= idx[d] * p.stride[0][d];
        idx[d] = 0;
      }
    }
  });
}

// ---- the reduction ops ----------------------------------------------------------------------
void ReduceShapeFn(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out, bool needs_identity) {
  const TShape& x = (*in)[0];
  if (!x.ndim_known()) return;
  const auto& prm = attrs.get<ReduceParam>();
  AxisSet a = ReduceAxes(attrs, x.ndim(), prm.axis, prm.exclude);
  TShape o = ReducedShape(x, a, prm.keepdims);
  if (needs_identity && x.known() && x.Size() == 0 && o.Size() > 0)
    Throw(AX_ERR_SHAPE, attrs.Who(), ": cannot reduce the zero-size axes of an array of shape ", x.str(),
          " (the reduction has no identity)");
  if (!ShapeAssign(&(*out)[0], o))
    Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", (*out)[0].str(), " does not match ", o.str());
}

template <template <class> class RedT>
void ReduceCompute(const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                   const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull) return;
  const auto& prm = attrs.get<ReduceParam>();
  AxisSet a = ReduceAxes(attrs, in[0].shape.ndim(), prm.axis, prm.exclude);
  const int64_t R = ReduceCount(in[0].shape, a);
  RPlan p = MakePlan(in[0].shape, a);
  if (in[0].Size() == 0) {  // empty input: M from the output, nothing to read
    p = RPlan();
    p.M = out[0].Size();
    p.R = 0;
  }
  const OpReq rq = req[0];
  AX_TYPE_SWITCH(in[0].dtype, DType, {
    using Red = RedT<DType>;
    DType* y = out[0].ptr<DType>();
    RunReduce<Red>(p, in[0].ptr<DType>(), [=](int64_t m, typename Red::Acc acc) { Store(y, m, Red::Fin(acc, R), rq); });
  });
}

template <class D> using SumOf = SumR<D, false>;
template <class D> using MeanOf = SumR<D, true>;
template <class D> using ProdOf = ProdR<D, false>;
template <class D> using NanProdOf = ProdR<D, true>;
template <class D> using MaxOf = ExtR<D, true>;
template <class D> using MinOf = ExtR<D, false>;

std::vector<std::pair<std::string, std::string>> WithAttr(std::vector<std::pair<std::string, std::string>> d,
                                                          const std::string& k, const std::string& v) {
  d.emplace_back(k, v);
  return d;
}

std::vector<NodeEntry> GradBroadcast(const GradBuilder& g, bool mean) {
  auto d = g.attr_dict();
  if (mean) d = WithAttr(d, "normalize", "True");
  return {g.Make("_broadcast_reduced", {g.ograd(0), g.input(0)}, d)};
}

// max/min: the output gradient goes to every element equal to the result (as MXNet).
std::vector<NodeEntry> GradExtreme(const GradBuilder& g) {
  GradExpr x = In(g, 0);
  GradExpr yb(&g, g.Make("_broadcast_reduced", {g.output(0), g.input(0)}, g.attr_dict()));
  GradExpr dyb(&g, g.Make("_broadcast_reduced", {g.ograd(0), g.input(0)}, g.attr_dict()));
  return {dyb * x.Op2("broadcast_equal", yb)};
}

// nansum: the gradient skips the NaN elements.
std::vector<NodeEntry> GradNanSum(const GradBuilder& g) {
  GradExpr x = In(g, 0);
  GradExpr dyb(&g, g.Make("_broadcast_reduced", {g.ograd(0), g.input(0)}, g.attr_dict()));
  return {dyb * x.Op2("broadcast_equal", x)};
}

template <template <class> class RedT>
void DefineReduce(OpDef& op, const std::string& doc, bool needs_identity) {
  op.input_names = {"data"};
  op.doc = doc;
  op.params = MakeSchema(DescribeReduce);
  op.infer_shape = [needs_identity](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    ReduceShapeFn(attrs, in, out, needs_identity);
  };
  op.infer_type = SameType;
  op.compute_cpu = ReduceCompute<RedT>;
}

}  // namespace

// Declared in ops/reduce_op.h (broadcast_like).
void BroadcastToShape(const TBlob& in, const TBlob& out, OpReq req) {
  if (req == OpReq::kNull) return;
  TShape small(out.shape.ndim(), 1);  // in's shape, right-aligned against out's
  for (int i = 0; i < in.shape.ndim(); ++i) small[out.shape.ndim() - in.shape.ndim() + i] = in.shape[i];
  const bool add = req == OpReq::kAdd;
  AX_TYPE_SWITCH(out.dtype, DType, {
    const DType* x = in.ptr<DType>();
    DType* y = out.ptr<DType>();
    ForBroadcastIndex(small, out.shape, [=](int64_t i, int64_t s) { y[i] = add ? DType(y[i] + x[s]) : x[s]; });
  });
}

// Declared in ops/reduce_op.h (used by _reduce_sum_like, the gradient of broadcasting).
void SumToShape(const TBlob& in, const TBlob& out, OpReq req) {
  if (req == OpReq::kNull) return;
  const TShape& big = in.shape;
  const TShape& small = out.shape;
  AxisSet a;
  a.nd = big.ndim();
  for (int i = 0; i < big.ndim(); ++i) {
    const int j = i - (big.ndim() - small.ndim());
    a.red[i] = j < 0 || (small[j] == 1 && big[i] != 1);
  }
  const int64_t R = ReduceCount(big, a);
  RPlan p = MakePlan(big, a);
  if (in.Size() == 0) {
    p = RPlan();
    p.M = out.Size();
    p.R = 0;
  }
  AX_TYPE_SWITCH(in.dtype, DType, {
    using Red = SumOf<DType>;
    DType* y = out.ptr<DType>();
    RunReduce<Red>(p, in.ptr<DType>(), [=](int64_t m, typename Red::Acc acc) { Store(y, m, Red::Fin(acc, R), req); });
  });
}

AX_REGISTER_OP("sum") {
  DefineReduce<SumOf>(op, "The sum of array elements over the given axes.", false);
  op.gradient = [](const GradBuilder& g) { return GradBroadcast(g, false); };
}
AX_REGISTER_OP("mean") {
  DefineReduce<MeanOf>(op, "The mean of array elements over the given axes (integers: truncated).", false);
  op.gradient = [](const GradBuilder& g) { return GradBroadcast(g, true); };
}
AX_REGISTER_OP("prod") {
  DefineReduce<ProdOf>(op, "The product of array elements over the given axes.", false);
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    return {g.Make("_backward_prod", {g.ograd(0), g.input(0)}, g.attr_dict())};
  };
}
AX_REGISTER_OP("nansum") {
  DefineReduce<NanSumR>(op, "The sum of array elements over the given axes, NaN counting as zero.", false);
  op.gradient = GradNanSum;
}
AX_REGISTER_OP("nanprod") {
  DefineReduce<NanProdOf>(op, "The product of array elements over the given axes, NaN counting as one.", false);
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    return {g.Make("_backward_prod", {g.ograd(0), g.input(0)}, WithAttr(g.attr_dict(), "skip_nan", "True"))};
  };
}
AX_REGISTER_OP("max") {
  DefineReduce<MaxOf>(op, "The maximum of array elements over the given axes (NaN if any is NaN).", true);
  op.gradient = GradExtreme;
}
AX_REGISTER_OP("min") {
  DefineReduce<MinOf>(op, "The minimum of array elements over the given axes (NaN if any is NaN).", true);
  op.gradient = GradExtreme;
}

// ---- _broadcast_reduced: a reduced array broadcast back over the reduced axes ----------------
AX_REGISTER_OP("_broadcast_reduced") {
  op.input_names = {"data", "like"};
  op.doc = "Broadcasts data, the result of a reduction of `like` with the same axis/keepdims/exclude, back to "
           "like's shape (divided by the count reduced into each element when normalize): the gradient of sum and "
           "mean.";
  op.params = MakeSchema(DescribeBroadcastReduced);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    if (!ShapeAssign(&(*out)[0], (*in)[1]) || !ShapeAssign(&(*in)[1], (*out)[0]))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", (*out)[0].str(), " does not match ", (*in)[1].str());
    const TShape& like = (*in)[1];
    if (!like.ndim_known()) return;
    const auto& prm = attrs.get<ReduceParam>();
    AxisSet a = ReduceAxes(attrs, like.ndim(), prm.axis, prm.exclude);
    TShape want = ReducedShape(like, a, prm.keepdims);
    if (!ShapeAssign(&(*in)[0], want))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": data shape ", (*in)[0].str(), " is not the reduction ", want.str(),
            " of like's shape ", like.str());
  };
  op.infer_type = [](const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
    std::vector<int> a = {(*in)[0]};
    SameType(attrs, &a, out);
    (*in)[0] = a[0];
  };
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull) return;
    const auto& prm = attrs.get<ReduceParam>();
    const TShape& like = out[0].shape;
    AxisSet a = ReduceAxes(attrs, like.ndim(), prm.axis, prm.exclude);
    const int64_t R = ReduceCount(like, a);
    const double scale = prm.normalize ? 1.0 / static_cast<double>(R) : 1.0;
    const bool add = req[0] == OpReq::kAdd;
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      const DType* x = in[0].ptr<DType>();
      DType* y = out[0].ptr<DType>();
      if (!prm.normalize) {
        ForBroadcastIndex(KeepShape(like, a), like, [=](int64_t i, int64_t s) { y[i] = add ? DType(y[i] + x[s]) : x[s]; });
      } else {
        ForBroadcastIndex(KeepShape(like, a), like, [=](int64_t i, int64_t s) {
          Store(y, i, static_cast<double>(static_cast<Arith<DType>>(x[s])) * scale, add ? OpReq::kAdd : OpReq::kWrite);
        });
      }
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    std::vector<std::pair<std::string, std::string>> d;
    bool mean = g.attrs().get<ReduceParam>().normalize;
    for (auto& kv : g.attr_dict())
      if (kv.first != "normalize") d.push_back(kv);
    return {g.Make(mean ? "mean" : "sum", {g.ograd(0)}, d), Zeros(g, 1)};
  };
}

// ---- _backward_prod: d prod / d x_i = product of the other elements (zeros handled exactly) --
AX_REGISTER_OP("_backward_prod") {
  op.input_names = {"ograd", "data"};
  op.doc = "The gradient of prod (and of nanprod with skip_nan): ograd times the product of the other elements.";
  op.params = MakeSchema(DescribeBackwardProd);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    if (!ShapeAssign(&(*out)[0], (*in)[1]) || !ShapeAssign(&(*in)[1], (*out)[0]))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", (*out)[0].str(), " does not match ", (*in)[1].str());
  };
  op.infer_type = SameType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull) return;
    const auto& prm = attrs.get<ReduceParam>();
    const bool skip_nan = prm.skip_nan;
    const TShape& xs = in[1].shape;
    AxisSet a = ReduceAxes(attrs, xs.ndim(), prm.axis, prm.exclude);
    RPlan p = MakePlan(xs, a);
    if (xs.Size() == 0) return;
    const OpReq rq = req[0];
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      const DType* x = in[1].ptr<DType>();
      const DType* dy = in[0].ptr<DType>();
      DType* dx = out[0].ptr<DType>();
      std::vector<NzProd> acc(static_cast<size_t>(p.M));
      NzProd* pa = acc.data();
      if (skip_nan) {
        struct SkipNaN : NzProdR<DType> {
          static NzProd Put(NzProd a, DType v) {
            double d = static_cast<double>(static_cast<Arith<DType>>(v));
            return d != d ? a : NzProdR<DType>::Put(a, v);
          }
          static NzProd LPut(NzProd l, DType v) { return Put(l, v); }
          static NzProd APut(NzProd l, DType v) { return Put(l, v); }
        };
        RunReduce<SkipNaN>(p, x, [=](int64_t m, NzProd v) { pa[m] = v; });
      } else {
        RunReduce<NzProdR<DType>>(p, x, [=](int64_t m, NzProd v) { pa[m] = v; });
      }
      ForBroadcastIndex(KeepShape(xs, a), xs, [=](int64_t i, int64_t s) {
        const NzProd& q = pa[s];
        const double xi = static_cast<double>(static_cast<Arith<DType>>(x[i]));
        const double g = static_cast<double>(static_cast<Arith<DType>>(dy[s]));
        double v;
        if (xi != xi && skip_nan) v = 0;
        else if (q.z == 0) v = g * (q.p / xi);
        else if (q.z == 1) v = xi == 0 ? g * q.p : 0.0;
        else v = 0;
        Store(dx, i, v, rq);
      });
    });
  };
}

// ---- norm -------------------------------------------------------------------------------------
namespace {
void CheckOrd(const NodeAttrs& attrs) {
  int ord = attrs.get<NormParam>().ord;
  AX_CHECK(ord == 1 || ord == 2, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": attribute 'ord' must be 1 or 2, got ", ord);
}
}  // namespace

AX_REGISTER_OP("norm") {
  op.input_names = {"data"};
  op.doc = "The L1 (ord=1) or L2 (ord=2) norm of the elements over the given axes (all of them by default).";
  op.params = MakeSchema(DescribeNorm);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    CheckOrd(attrs);
    const TShape& x = (*in)[0];
    if (!x.ndim_known()) return;
    const auto& prm = attrs.get<NormParam>();
    TShape o = ReducedShape(x, ReduceAxes(attrs, x.ndim(), prm.axis, false), prm.keepdims);
    if (!ShapeAssign(&(*out)[0], o))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", (*out)[0].str(), " does not match ", o.str());
  };
  op.infer_type = [](const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
    int t = NormOutType(attrs.get<NormParam>().out_dtype);
    if (t < 0) {
      SameType(attrs, in, out);
      return;
    }
    if ((*out)[0] >= 0 && (*out)[0] != t)
      Throw(AX_ERR_TYPE, attrs.Who(), ": output dtype ", DTypeName((*out)[0]), " does not match out_dtype ", DTypeName(t));
    (*out)[0] = t;
  };
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull) return;
    CheckOrd(attrs);
    const auto& prm = attrs.get<NormParam>();
    AxisSet a = ReduceAxes(attrs, in[0].shape.ndim(), prm.axis, false);
    RPlan p = MakePlan(in[0].shape, a);
    if (in[0].Size() == 0) {
      p = RPlan();
      p.M = out[0].Size();
      p.R = 0;
    }
    std::vector<double> res(static_cast<size_t>(p.M));
    double* pr = res.data();
    AX_TYPE_SWITCH(in[0].dtype, DType, {
      if (prm.ord == 1) RunReduce<NormR<DType, 1>>(p, in[0].ptr<DType>(), [=](int64_t m, double v) { pr[m] = v; });
      else RunReduce<NormR<DType, 2>>(p, in[0].ptr<DType>(), [=](int64_t m, double v) { pr[m] = std::sqrt(v); });
    });
    const OpReq rq = req[0];
    AX_TYPE_SWITCH(out[0].dtype, OType, {
      OType* y = out[0].ptr<OType>();
      for (int64_t m = 0; m < p.M; ++m) Store(y, m, pr[m], rq);
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    return {g.Make("_backward_norm", {g.ograd(0), g.input(0), g.output(0)}, g.attr_dict())};
  };
}

AX_REGISTER_OP("_backward_norm") {
  op.input_names = {"ograd", "data", "norm"};
  op.doc = "The gradient of norm: ograd * x / norm (0 where the norm is 0) for ord=2, ograd * sign(x) for ord=1.";
  op.params = MakeSchema(DescribeNorm);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    if (!ShapeAssign(&(*out)[0], (*in)[1]) || !ShapeAssign(&(*in)[1], (*out)[0]))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", (*out)[0].str(), " does not match ", (*in)[1].str());
  };
  op.infer_type = [](const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
    std::vector<int> a = {(*in)[1]};
    SameType(attrs, &a, out);
    (*in)[1] = a[0];
  };
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull) return;
    const auto& prm = attrs.get<NormParam>();
    const TShape& xs = in[1].shape;
    AxisSet a = ReduceAxes(attrs, xs.ndim(), prm.axis, false);
    const int64_t M = in[0].Size();
    std::vector<double> f(static_cast<size_t>(M));
    double* pf = f.data();
    AX_TYPE_SWITCH(in[0].dtype, OType, {
      const OType* dy = in[0].ptr<OType>();
      const OType* y = in[2].ptr<OType>();
      for (int64_t m = 0; m < M; ++m) {
        double g = static_cast<double>(static_cast<Arith<OType>>(dy[m]));
        double n = static_cast<double>(static_cast<Arith<OType>>(y[m]));
        pf[m] = prm.ord == 1 ? g : (n == 0 ? 0.0 : g / n);
      }
    });
    const OpReq rq = req[0];
    const bool ord1 = prm.ord == 1;
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      const DType* x = in[1].ptr<DType>();
      DType* dx = out[0].ptr<DType>();
      ForBroadcastIndex(KeepShape(xs, a), xs, [=](int64_t i, int64_t s) {
        double xi = static_cast<double>(static_cast<Arith<DType>>(x[i]));
        double v = ord1 ? (xi > 0 ? 1.0 : (xi < 0 ? -1.0 : 0.0)) : xi;
        Store(dx, i, pf[s] * v, rq);
      });
    });
  };
}

// ---- argmax / argmin ------------------------------------------------------------------------------
namespace {

// (outer, K, inner) view of the input for an axis (None: the flattened array).
struct ArgView {
  int64_t outer = 1, K = 1, inner = 1;
};

ArgView MakeArgView(const NodeAttrs& attrs, const TShape& s) {
  const auto& prm = attrs.get<ArgParam>();
  ArgView v;
  if (!prm.axis) {
    v.K = s.Size();
    return v;
  }
  const int nd = s.ndim();
  int64_t a = *prm.axis < 0 ? *prm.axis + nd : *prm.axis;
  AX_CHECK(a >= 0 && a < nd, AX_ERR_INDEX, attrs.Who(), ": axis ", *prm.axis, " is out of range for an array of ", nd,
           " dimension(s)");
  v.outer = s.ProdRange(0, static_cast<int>(a));
  v.K = s[static_cast<int>(a)];
  v.inner = s.ProdRange(static_cast<int>(a) + 1, nd);
  return v;
}

// Index of the first extreme of a contiguous run (the first NaN if there is one). float and double:
// VecArgExtreme. Other dtypes: the extreme by the vectorised RowReduce, then the first block of 64 holding it (a branch-free, vectorisable test per
// block) and the element in that block. Two passes over a run that stays in cache, against a
// compare-and-branch per element.
#if AX_REDUCE_VEC
// One pass for float and double: per lane the best value and its first index (a strict compare
// keeps the first), then the lanes combined, ties to the lowest index. -1 when the run has a NaN
// (the caller then takes the first NaN).
template <class DType, bool kMax>
AX_REDUCE_CLONES int64_t VecArgExtreme(const DType* r, int64_t n) {
  using VT = VecX<DType>;
  using V = typename VT::V;
  using Mk = typename VT::M;
  constexpr int N = VT::N;
  V best, v;
  Mk bidx, idx, nan;
  std::memcpy(&best, r, sizeof(best));
  for (int j = 0; j < N; ++j) bidx[j] = idx[j] = j;
  nan = best != best;
  int64_t i = N;
  for (; i + N <= n; i += N) {
    std::memcpy(&v, r + i, sizeof(v));
    idx += N;
    const Mk better = kMax ? v > best : v < best;
    best = better ? v : best;
    bidx = better ? idx : bidx;
    nan |= v != v;
  }
  for (int j = 0; j < N; ++j)
    if (nan[j]) return -1;
  DType bv = best[0];
  int64_t bi = bidx[0];
  for (int j = 1; j < N; ++j)
    if ((kMax ? best[j] > bv : best[j] < bv) || (best[j] == bv && bidx[j] < bi)) {
      bv = best[j];
      bi = bidx[j];
    }
  for (; i < n; ++i) {
    if (r[i] != r[i]) return -1;
    if (kMax ? r[i] > bv : r[i] < bv) {
      bv = r[i];
      bi = i;
    }
  }
  return bi;
}
#endif

template <class DType, bool kMax>
int64_t FirstExtreme(const DType* r, int64_t n) {
  using T = Arith<DType>;
#if AX_REDUCE_VEC
  if constexpr (std::is_same_v<DType, float> || std::is_same_v<DType, double>) {
    if (n >= VecX<DType>::N && n < (int64_t{1} << 31)) {
      const int64_t k = VecArgExtreme<DType, kMax>(r, n);
      if (k >= 0) return k;
      for (int64_t j = 0; j < n; ++j)
        if (r[j] != r[j]) return j;
    }
  }
#endif
  const T m = static_cast<T>(RowReduce<ExtR<DType, kMax>>(r, n));
  if (m != m) {
    for (int64_t k = 0; k < n; ++k)
      if (static_cast<T>(r[k]) != static_cast<T>(r[k])) return k;
  }
  constexpr int64_t kB = 64;
  for (int64_t b = 0; b < n; b += kB) {
    const int64_t e = std::min(n, b + kB);
    bool hit = false;
    for (int64_t k = b; k < e; ++k) hit |= static_cast<T>(r[k]) == m;
    if (!hit) continue;
    for (int64_t k = b; k < e; ++k)
      if (static_cast<T>(r[k]) == m) return k;
  }
  return 0;  // not reached
}

template <bool kMax>
void DefineArg(OpDef& op) {
  op.input_names = {"data"};
  op.doc = kMax ? "Indices of the maximum values along an axis (first occurrence; NaN counts as the maximum), in the "
                  "input's dtype."
                : "Indices of the minimum values along an axis (first occurrence; NaN counts as the minimum), in the "
                  "input's dtype.";
  op.params = MakeSchema(DescribeArg);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    const TShape& x = (*in)[0];
    if (!x.ndim_known()) return;
    const auto& prm = attrs.get<ArgParam>();
    TShape o;
    if (!prm.axis) {
      o = prm.keepdims ? TShape(x.ndim(), 1) : TShape{1};
      if (x.known() && x.Size() == 0)
        Throw(AX_ERR_SHAPE, attrs.Who(), ": attempt to get the index of an extreme of an empty array of shape ",
              x.str());
    } else {
      const int nd = x.ndim();
      int64_t a = *prm.axis < 0 ? *prm.axis + nd : *prm.axis;
      AX_CHECK(a >= 0 && a < nd, AX_ERR_INDEX, attrs.Who(), ": axis ", *prm.axis, " is out of range for an array of ",
               nd, " dimension(s)");
      std::vector<int64_t> d;
      for (int i = 0; i < nd; ++i) {
        if (i != a) d.push_back(x[i]);
        else if (prm.keepdims) d.push_back(1);
      }
      o = d.empty() ? TShape{1} : TShape(d.begin(), d.end());
      if (x.known() && x[static_cast<int>(a)] == 0 && o.Size() > 0)
        Throw(AX_ERR_SHAPE, attrs.Who(), ": attempt to get the index of an extreme along the empty axis ", *prm.axis,
              " of shape ", x.str());
    }
    if (!ShapeAssign(&(*out)[0], o))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", (*out)[0].str(), " does not match ", o.str());
  };
  op.infer_type = SameType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull || out[0].Size() == 0) return;
    ArgView v = MakeArgView(attrs, in[0].shape);
    const OpReq rq = req[0];
    AX_TYPE_SWITCH(in[0].dtype, DType, {
      using T = Arith<DType>;
      const DType* x = in[0].ptr<DType>();
      DType* y = out[0].ptr<DType>();
      // does v replace the current best b? (strictly better, or the first NaN)
      auto better = [](T v, T b) {
        if constexpr (std::is_floating_point_v<T>) {
          if (b != b) return false;
          return (kMax ? v > b : v < b) || v != v;
        } else {
          return kMax ? v > b : v < b;
        }
      };
      const int64_t K = v.K, inner = v.inner;
      if (inner == 1 && v.outer == 1 && K > kSeg) {
        // one long run: best per segment, then the first best segment
        const int64_t S = (K + kSeg - 1) / kSeg;
        std::vector<std::pair<T, int64_t>> part(static_cast<size_t>(S));
        ParallelFor(S, 1, [&](int64_t b, int64_t e) {
          for (int64_t s = b; s < e; ++s) {
            const int64_t k0 = s * kSeg, bi = k0 + FirstExtreme<DType, kMax>(x + k0, std::min(K, k0 + kSeg) - k0);
            part[s] = {static_cast<T>(x[bi]), bi};
          }
        });
        auto best = part[0];
        for (int64_t s = 1; s < S; ++s)
          if (better(part[s].first, best.first)) best = part[s];
        Store(y, 0, static_cast<double>(best.second), rq);
        return;
      }
      if (inner == 1) {
        ParallelFor(v.outer, std::max<int64_t>(1, kSeg / K), [&](int64_t b, int64_t e) {
          for (int64_t o = b; o < e; ++o)
            Store(y, o, static_cast<double>(FirstExtreme<DType, kMax>(x + o * K, K)), rq);
        });
        return;
      }
      const int64_t C = std::min<int64_t>(inner, kArgCol), Q = (inner + C - 1) / C;
      ParallelFor(v.outer * Q, std::max<int64_t>(1, kSeg / (K * C)), [&](int64_t b, int64_t e) {
        T bv[kArgCol];
        int64_t bi[kArgCol];
        for (int64_t u = b; u < e; ++u) {
          const int64_t o = u / Q, n0 = (u % Q) * C, cw = std::min(C, inner - n0);
          const DType* base = x + o * K * inner + n0;
          for (int64_t c = 0; c < cw; ++c) {
            bv[c] = static_cast<T>(base[c]);
            bi[c] = 0;
          }
          for (int64_t k = 1; k < K; ++k) {
            const DType* r = base + k * inner;
            for (int64_t c = 0; c < cw; ++c)
              if (better(static_cast<T>(r[c]), bv[c])) {
                bv[c] = static_cast<T>(r[c]);
                bi[c] = k;
              }
          }
          for (int64_t c = 0; c < cw; ++c) Store(y, o * inner + n0 + c, static_cast<double>(bi[c]), rq);
        }
      });
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> { return {Zeros(g, 0)}; };
}

}  // namespace

AX_REGISTER_OP("argmax") { DefineArg<true>(op); }
AX_REGISTER_OP("argmin") { DefineArg<false>(op); }

// ---- broadcast_to / broadcast_axis ---------------------------------------------------------------
namespace {

struct BroadcastToParam {
  IntTuple shape;
};
void DescribeBroadcastTo(ParamBuilder<BroadcastToParam>& b) {
  b.Field("shape", &BroadcastToParam::shape, IntTuple{})
      .Describe("The target shape; a 0 keeps the input's size on that axis (broadcast_to(B, shape=(10, 0, 0))).");
}

struct BroadcastAxisParam {
  IntTuple axis, size;
};
void DescribeBroadcastAxis(ParamBuilder<BroadcastAxisParam>& b) {
  b.Field("axis", &BroadcastAxisParam::axis, IntTuple{}).Describe("The axes to broadcast along (each of size 1)");
  b.Field("size", &BroadcastAxisParam::size, IntTuple{}).Describe("The target size of each of those axes");
}

void BroadcastCompute(const OpContext&, const NodeAttrs&, const std::vector<TBlob>& in, const std::vector<OpReq>& req,
                      const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull || out[0].Size() == 0) return;
  AX_TYPE_SWITCH(out[0].dtype, DType, {
    BroadcastPlan p = PlanBroadcast(in[0].shape, in[0].shape, out[0].shape);
    const DType* x = in[0].ptr<DType>();
    BroadcastMap(p, x, x, out[0].ptr<DType>(), req[0], [](DType a, DType) { return a; });
  });
}

void SetBroadcastOut(const NodeAttrs& attrs, const TShape& o, std::vector<TShape>* out) {
  if (o.known()) CheckedSize(o, attrs.Who().c_str());
  if (!ShapeAssign(&(*out)[0], o))
    Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", (*out)[0].str(), " does not match ", o.str());
}

}  // namespace

AX_REGISTER_OP("broadcast_to") {
  op.input_names = {"data"};
  op.doc = "Broadcasts data to a shape of the same number of dimensions (axes of size 1 are repeated; 0 in shape "
           "keeps an axis).";
  op.params = MakeSchema(DescribeBroadcastTo);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    const TShape& x = (*in)[0];
    if (!x.ndim_known()) return;
    const IntTuple& s = attrs.get<BroadcastToParam>().shape;
    TShape want(s.begin(), s.end());
    AX_CHECK(static_cast<int>(s.size()) == x.ndim(), AX_ERR_SHAPE, attrs.Who(), ": an array of shape ", x.str(),
             " cannot be broadcast to ", want.str(), " (different number of dimensions)");
    TShape o = x;
    for (int i = 0; i < x.ndim(); ++i) {
      AX_CHECK(s[i] >= 0, AX_ERR_SHAPE, attrs.Who(), ": negative size in shape ", want.str());
      if (s[i] == 0) continue;
      AX_CHECK(x[i] < 0 || x[i] == s[i] || x[i] == 1, AX_ERR_SHAPE, attrs.Who(), ": an array of shape ", x.str(),
               " cannot be broadcast to ", want.str());
      o[i] = s[i];
    }
    SetBroadcastOut(attrs, o, out);
  };
  op.infer_type = SameType;
  op.compute_cpu = BroadcastCompute;
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> { return {OGrad(g).SumLike(In(g, 0))}; };
}

AX_REGISTER_OP("broadcast_axis") {
  op.input_names = {"data"};
  op.doc = "Broadcasts data along the given axes (each of size 1 in data) to the given sizes.";
  op.params = MakeSchema(DescribeBroadcastAxis);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    const auto& prm = attrs.get<BroadcastAxisParam>();
    AX_CHECK(prm.axis.size() == prm.size.size(), AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": axis ",
             FormatValue(prm.axis), " and size ", FormatValue(prm.size), " have different lengths");
    const TShape& x = (*in)[0];
    if (!x.ndim_known()) return;
    const int nd = x.ndim();
    TShape o = x;
    std::vector<bool> seen(static_cast<size_t>(nd), false);
    for (size_t k = 0; k < prm.axis.size(); ++k) {
      int64_t a = prm.axis[k] < 0 ? prm.axis[k] + nd : prm.axis[k];
      AX_CHECK(a >= 0 && a < nd, AX_ERR_INDEX, attrs.Who(), ": axis ", prm.axis[k], " is out of range for an array of ",
               nd, " dimension(s)");
      AX_CHECK(!seen[a], AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": axis ", FormatValue(prm.axis), " has duplicates");
      seen[a] = true;
      AX_CHECK(prm.size[k] >= 0, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": negative size ", prm.size[k]);
      AX_CHECK(x[a] < 0 || x[a] == 1, AX_ERR_SHAPE, attrs.Who(), ": axis ", prm.axis[k], " of shape ", x.str(),
               " has size ", x[a], "; broadcasting axes must have size 1");
      o[a] = prm.size[k];
    }
    SetBroadcastOut(attrs, o, out);
  };
  op.infer_type = SameType;
  op.compute_cpu = BroadcastCompute;
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> { return {OGrad(g).SumLike(In(g, 0))}; };
}

}  // namespace axle

namespace {
const bool ax_reduce_aliases = [] {
  auto* r = axle::OpRegistry::Get();
  r->Alias("sum_axis", "sum");
  r->Alias("max_axis", "max");
  r->Alias("min_axis", "min");
  r->Alias("broadcast_axes", "broadcast_axis");
  return true;
}();
}  // namespace
