// CUDA kernels of reductions and broadcasts: sum, mean, prod, nansum, nanprod, max, min and norm
// over axes, argmax / argmin, the gradients _backward_prod and _backward_norm, _reduce_sum_like
// (the gradient of broadcasting), and broadcast_like / broadcast_to / broadcast_axis /
// _broadcast_reduced. A reduction runs one block per output with a warp-shuffle block reduction
// (cuda_common.cuh), with the CPU's accumulators (reduce_op.cc: double for floats, wrapping 64-bit
// integers) and the CPU's way of storing the result. Few outputs over many elements each (a whole
// array's sum, norm or argmax) are split over many blocks (SplitCount) writing partials that a
// second pass combines.
#include <cfloat>
#include <limits>

#include "cuda/cuda_common.cuh"
#include "ops/reduce_op.h"

namespace axle {
namespace cuda {

// Kept and reduced axes of the input with their sizes and strides (in elements); neighbouring
// axes of one kind are merged (a whole-array reduction has one contiguous reduced axis).
struct RedPlan {
  int nk = 0, nr = 0;
  int64_t kd[kMaxNDim], ks[kMaxNDim], rd[kMaxNDim], rs[kMaxNDim];
  int64_t R = 1;
  // The offset of the r-th reduced element from its output's first.
  AX_HD int64_t ReducedOffset(int64_t r) const {
    if (nr == 1) return r * rs[0];
    int64_t off = 0;
    for (int d = nr - 1; d >= 0; --d) {
      off += (r % rd[d]) * rs[d];
      r /= rd[d];
    }
    return off;
  }
  // The offset of output o's first element.
  AX_HD int64_t OutputBase(int64_t o) const {
    int64_t base = 0;
    for (int d = nk - 1; d >= 0; --d) {
      base += (o % kd[d]) * ks[d];
      o /= kd[d];
    }
    return base;
  }
};
RedPlan MakeRedPlan(const TShape& x, const bool* red) {
  RedPlan p;
  int64_t stride = 1, st[kMaxNDim];
  for (int i = x.ndim() - 1; i >= 0; --i) {
    st[i] = stride;
    stride *= x[i];
  }
  int last = -1;  // the kind of the previous axis of size > 1: 1 reduced, 0 kept
  for (int i = 0; i < x.ndim(); ++i) {
    if (x[i] == 1) continue;
    int& n = red[i] ? p.nr : p.nk;
    int64_t* d = red[i] ? p.rd : p.kd;
    int64_t* s = red[i] ? p.rs : p.ks;
    if (last == int(red[i])) {  // contiguous with the previous axis: one axis of both
      d[n - 1] *= x[i];
      s[n - 1] = st[i];
    } else {
      d[n] = x[i];
      s[n++] = st[i];
    }
    if (red[i]) p.R *= x[i];
    last = red[i];
  }
  return p;
}

// ---- reducers (reduce_op.cc's SumR, ProdR, ExtR, NormR): accumulator A, Init, Put, the block
// combiner Op, and Fin giving the stored value (double, or int64_t for exact integers) ---------
template <class T, bool kMean, bool kSkipNaN = false>  // sum, mean; nansum with kSkipNaN
struct SumP {
  using A = std::conditional_t<kIsFloat<T>, double, uint64_t>;  // integers wrap as on the CPU
  using Op = SumOp;
  static AX_HD A Init() { return A(0); }
  static AX_HD A Put(A a, T x) {
    const A v = static_cast<A>(x);
    if constexpr (kSkipNaN && kIsFloat<T>) return v == v ? a + v : a;
    return a + v;
  }
  static AX_HD auto Fin(A a, int64_t n) {
    if constexpr (kIsFloat<T>) {
      return kMean ? a / double(n) : a;
    } else {
      int64_t v = static_cast<int64_t>(a);
      if (kMean) v = n > 0 ? v / n : 0;
      return v;
    }
  }
};
template <class T, bool kSkipNaN>  // prod; nanprod with kSkipNaN
struct ProdP {
  using A = std::conditional_t<kIsFloat<T>, double, uint64_t>;
  using Op = MulOp;
  static AX_HD A Init() { return A(1); }
  static AX_HD A Put(A a, T x) {
    const A v = static_cast<A>(x);
    if constexpr (kSkipNaN && kIsFloat<T>) return v == v ? a * v : a;
    return a * v;
  }
  static AX_HD auto Fin(A a, int64_t) {
    if constexpr (kIsFloat<T>) return a;
    else return static_cast<int64_t>(a);
  }
};
template <class T, bool kMax>  // max, min: NaN wins (float16 compared as float)
struct ExtP {
  using A = fn::A<T>;
  using Op = std::conditional_t<kMax, MaxOp, MinOp>;
  static AX_HD A Init() {
    if constexpr (kIsFloat<T>) return kMax ? A(-INFINITY) : A(INFINITY);
    else return kMax ? std::numeric_limits<A>::lowest() : std::numeric_limits<A>::max();
  }
  static AX_HD A Put(A a, T x) { return Op()(a, A(x)); }
  static AX_HD auto Fin(A a, int64_t) {
    if constexpr (kIsFloat<T>) return double(a);
    else return int64_t(a);
  }
};
template <class T, int kOrd>  // norm: L1 or L2, in double
struct NormP {
  using A = double;
  using Op = SumOp;
  static AX_HD A Init() { return 0.0; }
  static AX_HD A Put(A a, T x) {
    const double v = static_cast<double>(x);
    return a + (kOrd == 1 ? fabs(v) : v * v);
  }
  static AX_HD double Fin(A a, int64_t) { return kOrd == 1 ? a : sqrt(a); }
};

// x[i] as double.
template <class T>
struct ReadD {
  const T* x;
  AX_HD double operator()(int64_t i) const { return static_cast<double>(x[i]); }
};

// Blocks (chunk c = blockIdx.x of gridDim.x, output o from blockIdx.y, grid-stride) reduce
// elements [c * chunk, (c + 1) * chunk) of output o's R; unsplit (gridDim.x == 1, part null) the
// result is stored in y as the CPU does, split each block's partial goes to part[o * gridDim.x + c].
template <class T, class OT, class P>
__global__ void ReduceKernel(RedPlan p, int64_t nout, const T* x, OT* y, bool add, int64_t chunk,
                             typename P::A* part) {
  using A = typename P::A;
  const int64_t r0 = blockIdx.x * chunk, r1 = min(p.R, r0 + chunk);
  for (int64_t o = blockIdx.y; o < nout; o += gridDim.y) {
    const int64_t base = p.OutputBase(o);
    A acc = P::Init();
    for (int64_t r = r0 + threadIdx.x; r < r1; r += blockDim.x) acc = P::Put(acc, x[base + p.ReducedOffset(r)]);
    acc = BlockReduce(acc, typename P::Op());
    if (threadIdx.x != 0) continue;
    if (part) part[o * gridDim.x + blockIdx.x] = acc;
    else StoreD(y, o, P::Fin(acc, p.R), add);
  }
}

unsigned OutputGrid(int64_t nout) { return static_cast<unsigned>(std::min<int64_t>(nout, 1 << 20)); }

// The second pass of a split reduction: output o combines its S partials.
template <class OT, class P>
__global__ void CombineKernel(int64_t nout, int64_t S, int64_t R, const typename P::A* part, OT* y, bool add) {
  using A = typename P::A;
  for (int64_t o = blockIdx.x; o < nout; o += gridDim.x) {
    A acc = P::Init();
    for (int64_t c = threadIdx.x; c < S; c += blockDim.x) acc = typename P::Op()(acc, part[o * S + c]);
    acc = BlockReduce(acc, typename P::Op());
    if (threadIdx.x == 0) StoreD(y, o, P::Fin(acc, R), add);
  }
}

// x (T) reduced by P into y's nout values (OT), in one pass or split in two.
template <class T, class OT, class P>
void LaunchReduce(const OpContext& ctx, const RedPlan& p, int64_t nout, const T* x, OT* y, bool add, const char* who) {
  using A = typename P::A;
  cudaStream_t st = Stream(ctx);
  const int64_t S = SplitCount(nout, p.R);
  if (S == 1) {
    ReduceKernel<T, OT, P><<<SplitGrid(nout, 1), kReduceThreads, 0, st>>>(p, nout, x, y, add, p.R, nullptr);
    AX_CUDA_LAUNCHED(who);
    return;
  }
  Scratch ws(sizeof(A) * static_cast<size_t>(nout * S), st);
  ReduceKernel<T, OT, P><<<SplitGrid(nout, S), kReduceThreads, 0, st>>>(p, nout, x, y, add, (p.R + S - 1) / S,
                                                                         ws.at<A>(0));
  AX_CUDA_LAUNCHED(who);
  CombineKernel<OT, P><<<OutputGrid(nout), kReduceThreads, 0, st>>>(nout, S, p.R, ws.at<A>(0), y, add);
  AX_CUDA_LAUNCHED(who);
}

template <template <class> class PT>
void Reduce(const OpContext& ctx, const char* who, const TBlob& x, const bool* red, const TBlob& y, OpReq req) {
  if (req == OpReq::kNull || y.Size() == 0) return;
  RedPlan p = MakeRedPlan(x.shape, red);
  if (x.Size() == 0) p.R = 0;
  AX_GPU_TYPE_SWITCH(y.dtype, T, who, {
    LaunchReduce<T, T, PT<T>>(ctx, p, y.Size(), x.ptr<T>(), y.ptr<T>(), req == OpReq::kAdd, who);
  });
}
template <class T> using SumOf = SumP<T, false>;
template <class T> using MeanOf = SumP<T, true>;
template <class T> using NanSumOf = SumP<T, false, true>;
template <class T> using ProdOf = ProdP<T, false>;
template <class T> using NanProdOf = ProdP<T, true>;
template <class T> using MaxOf = ExtP<T, true>;
template <class T> using MinOf = ExtP<T, false>;

void ReducedAxes(const OptShape& axis, bool exclude, int nd, bool* red) {  // validated by shape inference
  const bool all = !axis.has || axis.v.empty();
  for (int i = 0; i < nd; ++i) red[i] = all;
  if (all) return;
  for (int64_t a : axis.v) red[a < 0 ? a + nd : a] = true;
  if (exclude)
    for (int i = 0; i < nd; ++i) red[i] = !red[i];
}

template <template <class> class PT>
void ReduceCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                   const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& prm = attrs.get<ReduceParam>();
  bool red[kMaxNDim];
  ReducedAxes(prm.axis, prm.exclude, in[0].shape.ndim(), red);
  Reduce<PT>(ctx, attrs.Who().c_str(), in[0], red, out[0], req[0]);
}

// ---- norm and the gradients of prod and norm ------------------------------------------------------
void NormCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                 const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull || out[0].Size() == 0) return;
  const auto& prm = attrs.get<NormParam>();
  bool red[kMaxNDim];
  ReducedAxes(prm.axis, false, in[0].shape.ndim(), red);
  RedPlan p = MakeRedPlan(in[0].shape, red);
  if (in[0].Size() == 0) p.R = 0;
  const int64_t nout = out[0].Size();
  // the norms in double, then stored in out's dtype (as the CPU; one kernel per dtype, not per pair)
  Scratch ws(static_cast<size_t>(nout) * sizeof(double), Stream(ctx));
  double* norms = ws.at<double>(0);
  AX_GPU_TYPE_SWITCH(in[0].dtype, T, attrs.Who(), {
    if (prm.ord == 1) LaunchReduce<T, double, NormP<T, 1>>(ctx, p, nout, in[0].ptr<T>(), norms, false, "norm");
    else LaunchReduce<T, double, NormP<T, 2>>(ctx, p, nout, in[0].ptr<T>(), norms, false, "norm");
  });
  AX_GPU_TYPE_SWITCH(out[0].dtype, OT, attrs.Who(), {
    MapStore(ctx, nout, req[0], out[0].ptr<OT>(), ReadD<double>{norms}, "norm");
  });
}

// The index of x's element i in the reduced array (x's shape with the reduced axes set to 1).
struct ReducedIndex {
  GatherPlan p;  // sx: the reduced array's strides, 0 on reduced axes
  AX_HD int64_t operator()(int64_t i) const {
    int64_t s = 0;
    for (int d = p.nd - 1; d >= 0; --d) {
      s += (i % p.out[d]) * p.sx[d];
      i /= p.out[d];
    }
    return s;
  }
};
ReducedIndex MakeReducedIndex(const TShape& x, const bool* red) {
  ReducedIndex r;
  r.p.nd = x.ndim();
  int64_t acc = 1;
  for (int d = x.ndim() - 1; d >= 0; --d) {
    r.p.out[d] = x[d];
    r.p.sx[d] = red[d] ? 0 : acc;
    acc *= red[d] ? 1 : x[d];
  }
  return r;
}

// Per output: the product of the nonzero elements (NaN skipped with kSkipNaN), in double ...
template <class T, bool kSkipNaN>
struct NonzeroProdP {
  using A = double;
  using Op = MulOp;
  static AX_HD A Init() { return 1.0; }
  static AX_HD A Put(A a, T x) {
    const double v = static_cast<double>(x);
    return (v == 0 || (kSkipNaN && v != v)) ? a : a * v;
  }
  static AX_HD double Fin(A a, int64_t) { return a; }
};
// ... and the number of zeros.
template <class T>
struct ZeroCountP {
  using A = unsigned long long;
  using Op = SumOp;
  static AX_HD A Init() { return 0; }
  static AX_HD A Put(A a, T x) { return static_cast<double>(x) == 0 ? a + 1 : a; }
  static AX_HD int64_t Fin(A a, int64_t) { return static_cast<int64_t>(a); }
};
// d prod / d x_i = dy * the product of the other elements (zeros handled exactly)
template <class T>
struct ProdGradF {
  const T *x, *dy;
  const double* prod;
  const int64_t* zeros;
  ReducedIndex ri;
  bool skip_nan;
  AX_HD double operator()(int64_t i) const {
    const int64_t s = ri(i);
    const double xi = static_cast<double>(x[i]), g = static_cast<double>(dy[s]);
    if (xi != xi && skip_nan) return 0.0;
    if (zeros[s] == 0) return g * (prod[s] / xi);
    if (zeros[s] == 1) return xi == 0 ? g * prod[s] : 0.0;
    return 0.0;
  }
};
// (ograd, data) -> data's gradient
void ProdGradCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                     const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const TShape& xs = in[1].shape;
  if (req[0] == OpReq::kNull || xs.Size() == 0) return;
  const auto& prm = attrs.get<ReduceParam>();
  bool red[kMaxNDim];
  ReducedAxes(prm.axis, prm.exclude, xs.ndim(), red);
  const RedPlan p = MakeRedPlan(xs, red);
  const int64_t nout = in[0].Size();
  cudaStream_t st = Stream(ctx);
  Scratch ws(static_cast<size_t>(nout) * (sizeof(double) + sizeof(int64_t)), st);
  double* prod = ws.at<double>(0);
  int64_t* zeros = reinterpret_cast<int64_t*>(prod + nout);
  AX_GPU_TYPE_SWITCH(out[0].dtype, T, attrs.Who(), {
    const T* x = in[1].ptr<T>();
    if (prm.skip_nan) LaunchReduce<T, double, NonzeroProdP<T, true>>(ctx, p, nout, x, prod, false, "_backward_prod");
    else LaunchReduce<T, double, NonzeroProdP<T, false>>(ctx, p, nout, x, prod, false, "_backward_prod");
    LaunchReduce<T, int64_t, ZeroCountP<T>>(ctx, p, nout, x, zeros, false, "_backward_prod");
    MapStore(ctx, xs.Size(), req[0], out[0].ptr<T>(),
             ProdGradF<T>{in[1].ptr<T>(), in[0].ptr<T>(), prod, zeros, MakeReducedIndex(xs, red), prm.skip_nan},
             "_backward_prod");
  });
}

// d norm / d x = dy * x / norm (0 where the norm is 0) for ord 2, dy * sign(x) for ord 1
template <class T>
struct NormGradF {
  const T* x;
  const double *dy, *y;
  ReducedIndex ri;
  bool ord1;
  AX_HD double operator()(int64_t i) const {
    const int64_t s = ri(i);
    const double g = static_cast<double>(dy[s]), n = static_cast<double>(y[s]), xi = static_cast<double>(x[i]);
    if (ord1) return g * (xi > 0 ? 1.0 : (xi < 0 ? -1.0 : 0.0));
    return (n == 0 ? 0.0 : g / n) * xi;
  }
};
// (ograd, data, norm) -> data's gradient
void NormGradCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                     const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& prm = attrs.get<NormParam>();
  const TShape& xs = in[1].shape;
  bool red[kMaxNDim];
  ReducedAxes(prm.axis, false, xs.ndim(), red);
  const int64_t nout = in[0].Size();
  // ograd and norm (out's dtype) read as double first: one kernel per dtype, not per pair
  Scratch ws(2 * static_cast<size_t>(nout) * sizeof(double), Stream(ctx));
  double *dy = ws.at<double>(0), *y = ws.at<double>(nout);
  AX_GPU_TYPE_SWITCH(in[0].dtype, OT, attrs.Who(), {
    Map(ctx, nout, OpReq::kWrite, dy, ReadD<OT>{in[0].ptr<OT>()}, "_backward_norm");
    Map(ctx, nout, OpReq::kWrite, y, ReadD<OT>{in[2].ptr<OT>()}, "_backward_norm");
  });
  AX_GPU_TYPE_SWITCH(out[0].dtype, T, attrs.Who(), {
    MapStore(ctx, xs.Size(), req[0], out[0].ptr<T>(),
             NormGradF<T>{in[1].ptr<T>(), dy, y, MakeReducedIndex(xs, red), prm.ord == 1}, "_backward_norm");
  });
}

// ---- argmax / argmin -------------------------------------------------------------------------------
// Does candidate (v2, i2) replace (v, i)? The first NaN wins, then the extreme, ties to the lower
// index; i == -1 is empty. Candidates of one thread come in increasing index.
template <class T, bool kMax>
AX_HD inline bool ArgBetter(T v, int64_t i, T v2, int64_t i2) {
  if (i2 < 0) return false;
  if (i < 0) return true;
  if constexpr (kIsFloat<T>) {
    const bool n = v != v, n2 = v2 != v2;
    if (n || n2) return n2 && (!n || i2 < i);
  }
  return (kMax ? v2 > v : v2 < v) || (v2 == v && i2 < i);
}

// (v, i) reduced over the block with ArgBetter; thread 0 gets the result.
template <class V, bool kMax>
__device__ inline void BlockArg(V& v, int64_t& i) {
  __shared__ V sv[kReduceThreads / 32];
  __shared__ int64_t si[kReduceThreads / 32];
  for (int off = 16; off > 0; off /= 2) {
    const V v2 = __shfl_down_sync(0xffffffffu, v, off);
    const int64_t i2 = __shfl_down_sync(0xffffffffu, i, off);
    if (ArgBetter<V, kMax>(v, i, v2, i2)) {
      v = v2;
      i = i2;
    }
  }
  if (threadIdx.x % 32 == 0) {
    sv[threadIdx.x / 32] = v;
    si[threadIdx.x / 32] = i;
  }
  __syncthreads();
  if (threadIdx.x == 0)
    for (int w = 1; w < kReduceThreads / 32; ++w)
      if (ArgBetter<V, kMax>(v, i, sv[w], si[w])) {
        v = sv[w];
        i = si[w];
      }
  __syncthreads();  // sv/si are reused by the next output
}

// Blocks (chunk c = blockIdx.x, output o = (outer, inner) from blockIdx.y, grid-stride) find the
// first extreme among k in [c * chunk, (c + 1) * chunk) along K; unsplit its index is stored in y,
// split the chunk's (value, index) goes to pv/pi[o * gridDim.x + c] (index -1: none).
template <class T, bool kMax>
__global__ void ArgKernel(int64_t nout, int64_t K, int64_t inner, const T* x, T* y, bool add, int64_t chunk,
                          fn::A<T>* pv, int64_t* pi) {
  using V = fn::A<T>;  // float16 compared as float
  const int64_t k0 = blockIdx.x * chunk, k1 = min(K, k0 + chunk);
  for (int64_t o = blockIdx.y; o < nout; o += gridDim.y) {
    const T* base = x + (o / inner) * K * inner + o % inner;
    V v = V(0);
    int64_t i = -1;
    for (int64_t k = k0 + threadIdx.x; k < k1; k += blockDim.x)
      if (ArgBetter<V, kMax>(v, i, V(base[k * inner]), k)) {
        v = base[k * inner];
        i = k;
      }
    BlockArg<V, kMax>(v, i);
    if (threadIdx.x != 0) continue;
    if (pv) {
      pv[o * gridDim.x + blockIdx.x] = v;
      pi[o * gridDim.x + blockIdx.x] = i;
    } else {
      StoreD(y, o, static_cast<double>(i), add);
    }
  }
}

// The second pass of a split argmax/argmin: output o takes the best of its S chunks' candidates.
template <class T, bool kMax>
__global__ void ArgCombineKernel(int64_t nout, int64_t S, const fn::A<T>* pv, const int64_t* pi, T* y, bool add) {
  using V = fn::A<T>;
  for (int64_t o = blockIdx.x; o < nout; o += gridDim.x) {
    V v = V(0);
    int64_t i = -1;
    for (int64_t c = threadIdx.x; c < S; c += blockDim.x)
      if (ArgBetter<V, kMax>(v, i, pv[o * S + c], pi[o * S + c])) {
        v = pv[o * S + c];
        i = pi[o * S + c];
      }
    BlockArg<V, kMax>(v, i);
    if (threadIdx.x == 0) StoreD(y, o, static_cast<double>(i), add);
  }
}

template <bool kMax>
void ArgCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const int64_t nout = out[0].Size();
  if (req[0] == OpReq::kNull || nout == 0) return;
  const auto& prm = attrs.get<ArgParam>();
  const TShape& s = in[0].shape;
  int64_t K = s.Size(), inner = 1;
  if (prm.axis) {  // validated by shape inference
    const int a = static_cast<int>(*prm.axis < 0 ? *prm.axis + s.ndim() : *prm.axis);
    K = s[a];
    inner = s.ProdRange(a + 1, s.ndim());
  }
  const bool add = req[0] == OpReq::kAdd;
  const std::string name = attrs.Who();
  const char* who = name.c_str();
  cudaStream_t st = Stream(ctx);
  const int64_t S = SplitCount(nout, K);
  AX_GPU_TYPE_SWITCH(in[0].dtype, T, who, {
    using V = fn::A<T>;
    const T* x = in[0].ptr<T>();
    T* y = out[0].ptr<T>();
    if (S == 1) {
      ArgKernel<T, kMax><<<SplitGrid(nout, 1), kReduceThreads, 0, st>>>(nout, K, inner, x, y, add, K, nullptr,
                                                                         nullptr);
      AX_CUDA_LAUNCHED(who);
      return;
    }
    const size_t n = static_cast<size_t>(nout * S);
    Scratch ws(n * (sizeof(int64_t) + sizeof(V)), st);
    int64_t* pi = ws.at<int64_t>(0);
    V* pv = reinterpret_cast<V*>(pi + n);
    ArgKernel<T, kMax><<<SplitGrid(nout, S), kReduceThreads, 0, st>>>(nout, K, inner, x, y, add, (K + S - 1) / S, pv,
                                                                       pi);
    AX_CUDA_LAUNCHED(who);
    ArgCombineKernel<T, kMax><<<OutputGrid(nout), kReduceThreads, 0, st>>>(nout, S, pv, pi, y, add);
    AX_CUDA_LAUNCHED(who);
  });
}

// data (big) summed over the axes along which like (out's shape) broadcasts to it.
void ReduceSumLikeCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                          const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const TShape &big = in[0].shape, &small = out[0].shape;
  bool red[kMaxNDim];
  for (int i = 0; i < big.ndim(); ++i) {
    int j = i - (big.ndim() - small.ndim());
    red[i] = (j < 0 ? 1 : small[j]) != big[i];
  }
  Reduce<SumOf>(ctx, attrs.Who().c_str(), in[0], red, out[0], req[0]);
}

// ---- broadcasts --------------------------------------------------------------------------------
// out[i] (=|+=) x[index of i in x] * scale; x right-aligned against out, size-1 axes broadcast.
template <class T>
struct ScaledF {
  GatherF<T> g;
  double scale;
  AX_HD T operator()(int64_t i) const { return scale == 1.0 ? g(i) : T(double(g(i)) * scale); }
};
void Broadcast(const OpContext& ctx, const char* who, const TBlob& x, const TShape& xshape, const TBlob& y,
               OpReq req, double scale) {
  GatherPlan p;
  p.nd = y.shape.ndim();
  int64_t acc = 1;
  for (int i = p.nd - 1; i >= 0; --i) {
    int j = i - (p.nd - xshape.ndim());
    int64_t d = j >= 0 ? xshape[j] : 1;
    p.sx[i] = d == 1 ? 0 : acc;
    p.out[i] = y.shape[i];
    acc *= d;
  }
  AX_GPU_TYPE_SWITCH(y.dtype, T, who, { Map(ctx, y.Size(), req, y.ptr<T>(), ScaledF<T>{GatherF<T>{x.ptr<T>(), p}, scale}, who); });
}

void BroadcastCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  Broadcast(ctx, attrs.Who().c_str(), in[0], in[0].shape, out[0], req[0], 1.0);
}

// data (a reduction of like) broadcast back to like's shape (out), / R when normalize.
void BroadcastReducedCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                             const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& prm = attrs.get<ReduceParam>();
  const TShape& like = out[0].shape;
  bool red[kMaxNDim];
  ReducedAxes(prm.axis, prm.exclude, like.ndim(), red);
  TShape keep = like;
  int64_t R = 1;
  for (int i = 0; i < like.ndim(); ++i)
    if (red[i]) {
      R *= like[i];
      keep[i] = 1;
    }
  Broadcast(ctx, attrs.Who().c_str(), in[0], keep, out[0], req[0], prm.normalize ? 1.0 / double(R) : 1.0);
}

void RegisterReduceKernels() {
  SetKernel("sum", ReduceCompute<SumOf>);
  SetKernel("mean", ReduceCompute<MeanOf>);
  SetKernel("prod", ReduceCompute<ProdOf>);
  SetKernel("nansum", ReduceCompute<NanSumOf>);
  SetKernel("nanprod", ReduceCompute<NanProdOf>);
  SetKernel("max", ReduceCompute<MaxOf>);
  SetKernel("min", ReduceCompute<MinOf>);
  SetKernel("norm", NormCompute);
  SetKernel("_backward_prod", ProdGradCompute);
  SetKernel("_backward_norm", NormGradCompute);
  SetKernel("argmax", ArgCompute<true>);
  SetKernel("argmin", ArgCompute<false>);
  SetKernel("_reduce_sum_like", ReduceSumLikeCompute);
  SetKernel("broadcast_like", BroadcastCompute);
  SetKernel("broadcast_to", BroadcastCompute);
  SetKernel("broadcast_axis", BroadcastCompute);
  SetKernel("_broadcast_reduced", BroadcastReducedCompute);
}

}  // namespace cuda
}  // namespace axle
