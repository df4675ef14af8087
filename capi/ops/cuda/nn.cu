// CUDA kernels of the NN family: dot, batch_dot, FullyConnected (GEMM through cuBLAS or the
// built-in kernel), softmax / log_softmax (with use_length and an output dtype),
// SoftmaxActivation and SoftmaxOutput, forward and backward. Softmax runs one block per lane
// with warp-shuffle reductions, or, for few long lanes, each lane over many blocks (SplitCount).
#include <cfloat>
#include <vector>

#include "cuda/cuda_common.cuh"
#include "ops/dot_op.h"
#include "ops/fully_connected.h"
#include "ops/softmax_op.h"

namespace axle {
namespace cuda {

// ---- GEMM ops --------------------------------------------------------------------------------
// The dtypes of the CPU's matrix products (every one but bool): float16 runs as float16
// (cublasGemmEx with float32 compute, or the built-in kernel's float sums), integers through the
// built-in kernel with the CPU's wrapping 64-bit sums.
#define AX_GPU_GEMM_SWITCH(dtype, DType, who, ...)                                                  \
  switch (dtype) {                                                                                  \
    case AX_FLOAT32: { using DType = float; __VA_ARGS__; } break;                                   \
    case AX_FLOAT64: { using DType = double; __VA_ARGS__; } break;                                  \
    case AX_FLOAT16: { using DType = Half; __VA_ARGS__; } break;                                    \
    case AX_UINT8: { using DType = uint8_t; __VA_ARGS__; } break;                                   \
    case AX_INT32: { using DType = int32_t; __VA_ARGS__; } break;                                   \
    case AX_INT8: { using DType = int8_t; __VA_ARGS__; } break;                                     \
    case AX_INT64: { using DType = int64_t; __VA_ARGS__; } break;                                   \
    default: ::axle::Throw(AX_ERR_NOT_SUPPORTED, who, ": no GPU kernel for dtype ", DTypeStr(dtype)); \
  }
struct DotDims {
  int64_t M, N, K;
};
DotDims GetDotDims(const TShape& l, const TShape& r, bool ta, bool tb) {
  if (l.ndim() == 1 && r.ndim() == 1) return {1, 1, l[0]};
  const int ln = l.ndim(), rn = r.ndim();
  DotDims d;
  d.M = ta ? l.ProdRange(1, ln) : l.ProdRange(0, ln - 1);
  d.K = ta ? l[0] : l[ln - 1];
  d.N = tb ? r.ProdRange(0, rn - 1) : r.ProdRange(1, rn);
  return d;
}

template <class T>
void DotBackward(cudaStream_t s, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* dC, const T* A, const T* B,
                 T* dA, OpReq ra, T* dB, OpReq rb) {
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  if (ra != OpReq::kNull) {
    const bool acc = ra == OpReq::kAdd;
    if (!ta) Gemm<T>(s, false, !tb, M, K, N, dC, N, B, ldb, dA, K, acc);  // dA = dC op(B)^T
    else Gemm<T>(s, tb, true, K, M, N, B, ldb, dC, N, dA, M, acc);        // dA = op(B) dC^T
  }
  if (rb != OpReq::kNull) {
    const bool acc = rb == OpReq::kAdd;
    if (!tb) Gemm<T>(s, !ta, false, K, N, M, A, lda, dC, N, dB, N, acc);  // dB = op(A)^T dC
    else Gemm<T>(s, true, ta, N, K, M, dC, N, A, lda, dB, K, acc);        // dB = dC^T op(A)
  }
}

void DotCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull) return;
  const auto& p = attrs.get<DotParam>();
  DotDims d = GetDotDims(in[0].shape, in[1].shape, p.transpose_a, p.transpose_b);
  AX_GPU_GEMM_SWITCH(out[0].dtype, T, attrs.Who(), {
    Gemm<T>(Stream(ctx), p.transpose_a, p.transpose_b, d.M, d.N, d.K, in[0].ptr<T>(), p.transpose_a ? d.M : d.K,
            in[1].ptr<T>(), p.transpose_b ? d.K : d.N, out[0].ptr<T>(), d.N, req[0] == OpReq::kAdd);
  });
}

void DotBackwardCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                        const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<DotParam>();
  DotDims d = GetDotDims(in[1].shape, in[2].shape, p.transpose_a, p.transpose_b);
  AX_GPU_GEMM_SWITCH(in[0].dtype, T, attrs.Who(), {
    DotBackward<T>(Stream(ctx), p.transpose_a, p.transpose_b, d.M, d.N, d.K, in[0].ptr<T>(), in[1].ptr<T>(),
                   in[2].ptr<T>(), out[0].ptr<T>(), req[0], out[1].ptr<T>(), req[1]);
  });
}

// batch_dot's view: batch products of op(lhs) (M x K) and op(rhs) (K x N).
void BatchDims(const DotParam& p, const TShape& l, const TShape& r, int64_t* batch, int64_t* M, int64_t* N,
               int64_t* K) {
  const int n = l.ndim();
  *batch = l.ProdRange(0, n - 2);
  *M = p.transpose_a ? l[n - 1] : l[n - 2];
  *K = p.transpose_a ? l[n - 2] : l[n - 1];
  *N = p.transpose_b ? r[n - 2] : r[n - 1];
}

void BatchDotCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                     const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull) return;
  const auto& p = attrs.get<DotParam>();
  int64_t batch, M, N, K;
  BatchDims(p, in[0].shape, in[1].shape, &batch, &M, &N, &K);
  AX_GPU_GEMM_SWITCH(out[0].dtype, T, attrs.Who(), {
    for (int64_t b = 0; b < batch; ++b)
      Gemm<T>(Stream(ctx), p.transpose_a, p.transpose_b, M, N, K, in[0].ptr<T>() + b * M * K, p.transpose_a ? M : K,
              in[1].ptr<T>() + b * K * N, p.transpose_b ? K : N, out[0].ptr<T>() + b * M * N, N,
              req[0] == OpReq::kAdd);
  });
}

void BatchDotBackwardCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                             const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<DotParam>();
  int64_t batch, M, N, K;
  BatchDims(p, in[1].shape, in[2].shape, &batch, &M, &N, &K);
  AX_GPU_GEMM_SWITCH(in[0].dtype, T, attrs.Who(), {
    for (int64_t b = 0; b < batch; ++b)
      DotBackward<T>(Stream(ctx), p.transpose_a, p.transpose_b, M, N, K, in[0].ptr<T>() + b * M * N,
                     in[1].ptr<T>() + b * M * K, in[2].ptr<T>() + b * K * N, out[0].ptr<T>() + b * M * K, req[0],
                     out[1].ptr<T>() + b * K * N, req[1]);
  });
}

void FCDims(const FCParam& p, const TShape& d, int64_t* batch, int64_t* K) {
  const int n = d.ndim();
  *batch = p.flatten ? d[0] : d.ProdRange(0, n - 1);
  *K = p.flatten ? d.ProdRange(1, n) : d[n - 1];
}

template <class T>
__global__ void RowBiasKernel(int64_t rows, int64_t H, const T* bias, T* y, bool add) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < rows * H; i += int64_t(blockDim.x) * gridDim.x)
    y[i] = add ? T(y[i] + bias[i % H]) : bias[i % H];
}

// db[j] (=|+=) sum_i dy[i, j]: one thread per column (adjacent threads read adjacent columns),
// summed and stored as the CPU (float for float16, 64-bit for integers).
template <class T>
__global__ void ColumnSumKernel(int64_t rows, int64_t H, const T* dy, T* db, bool add) {
  for (int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; j < H; j += int64_t(blockDim.x) * gridDim.x) {
    GemmAccT<T> s = 0;
    for (int64_t i = 0; i < rows; ++i) s += GemmAccT<T>(dy[i * H + j]);
    db[j] = GemmStore(s, db + j, add);
  }
}

void FCForward(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
               const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull) return;
  const auto& p = attrs.get<FCParam>();
  int64_t batch, K;
  FCDims(p, in[0].shape, &batch, &K);
  const int64_t H = p.num_hidden;
  AX_GPU_GEMM_SWITCH(out[0].dtype, T, attrs.Who(), {
    T* y = out[0].ptr<T>();
    bool acc = req[0] == OpReq::kAdd;
    if (!p.no_bias && batch * H > 0) {  // y (=|+=) bias, then y += x W^T
      RowBiasKernel<<<Blocks(batch * H), kThreads, 0, Stream(ctx)>>>(batch, H, in[2].ptr<T>(), y, acc);
      AX_CUDA_LAUNCHED("FullyConnected bias");
      acc = true;
    }
    Gemm<T>(Stream(ctx), false, true, batch, H, K, in[0].ptr<T>(), K, in[1].ptr<T>(), K, y, H, acc);
  });
}

void FCBackward(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<FCParam>();
  int64_t batch, K;
  FCDims(p, in[1].shape, &batch, &K);
  const int64_t H = p.num_hidden;
  cudaStream_t s = Stream(ctx);
  AX_GPU_GEMM_SWITCH(in[0].dtype, T, attrs.Who(), {
    const T* dy = in[0].ptr<T>();
    if (req[0] != OpReq::kNull)  // dx = dy W
      Gemm<T>(s, false, false, batch, K, H, dy, H, in[2].ptr<T>(), K, out[0].ptr<T>(), K, req[0] == OpReq::kAdd);
    if (req[1] != OpReq::kNull)  // dW = dy^T x
      Gemm<T>(s, true, false, H, K, batch, dy, H, in[1].ptr<T>(), K, out[1].ptr<T>(), K, req[1] == OpReq::kAdd);
    if (!p.no_bias && req[2] != OpReq::kNull && H > 0) {
      ColumnSumKernel<<<Blocks(H), kThreads, 0, s>>>(batch, H, dy, out[2].ptr<T>(), req[2] == OpReq::kAdd);
      AX_CUDA_LAUNCHED("FullyConnected bias gradient");
    }
  });
}

// ---- softmax ---------------------------------------------------------------------------------
struct Layout {
  int64_t outer, n, inner;
};
Layout AxisLayout(const TShape& s, int axis) { return {s.ProdRange(0, axis), s[axis], s.ProdRange(axis + 1, s.ndim())}; }

// One block per lane (outer x inner); element k of a lane at base + k * inner. With lengths
// (len.p not null; any dtype, read at run time) a lane uses its first len[lane] elements and the
// rest get 0. Accumulation in double when the input or output is float64, else float (softmax_op.cc's
// SmAcc).
template <class A, class B>
using SmAcc = std::conditional_t<std::is_same_v<A, double> || std::is_same_v<B, double>, double, float>;

__device__ inline int64_t LaneLength(const IndexArray& len, int64_t lane, int64_t n) {
  if (!len.p) return n;
  const int64_t m = static_cast<int64_t>(len[lane]);
  return m < 0 ? 0 : (m > n ? n : m);
}

template <bool kLog, class D, class O>
__global__ void SoftmaxKernel(Layout L, double temp, const D* x, O* y, IndexArray len, bool add) {
  using AT = SmAcc<D, O>;
  const AT rt = AT(1.0 / temp);
  const int64_t lane = blockIdx.x, o = lane / L.inner, j = lane % L.inner, base = o * L.n * L.inner + j;
  const int64_t m = LaneLength(len, lane, L.n);
  AT mx = -INFINITY;
  for (int64_t k = threadIdx.x; k < m; k += blockDim.x) mx = max(mx, AT(x[base + k * L.inner]));
  mx = BlockReduce(mx, MaxOp());
  AT sum = 0;
  for (int64_t k = threadIdx.x; k < m; k += blockDim.x) sum += exp((AT(x[base + k * L.inner]) - mx) * rt);
  sum = BlockReduce(sum, SumOp());
  const AT ls = log(sum), inv = AT(1) / sum;
  for (int64_t k = threadIdx.x; k < L.n; k += blockDim.x) {
    const int64_t i = base + k * L.inner;
    const AT v = k >= m ? AT(0) : kLog ? (AT(x[i]) - mx) * rt - ls : exp((AT(x[i]) - mx) * rt) * inv;
    y[i] = add ? O(AT(y[i]) + v) : O(v);
  }
}

// dx = y * (dy - sum(dy * y)) / T for softmax, (dy - exp(y) * sum(dy)) / T for log_softmax.
template <bool kLog, class O, class D>
__global__ void SoftmaxGradKernel(Layout L, double temp, const O* dy, const O* y, D* dx, IndexArray len,
                                  bool add) {
  using AT = SmAcc<O, D>;
  const AT rt = AT(1.0 / temp);
  const int64_t lane = blockIdx.x, o = lane / L.inner, j = lane % L.inner, base = o * L.n * L.inner + j;
  const int64_t m = LaneLength(len, lane, L.n);
  AT s = 0;
  for (int64_t k = threadIdx.x; k < m; k += blockDim.x) {
    const int64_t i = base + k * L.inner;
    s += kLog ? AT(dy[i]) : AT(dy[i]) * AT(y[i]);
  }
  s = BlockReduce(s, SumOp());
  for (int64_t k = threadIdx.x; k < L.n; k += blockDim.x) {
    const int64_t i = base + k * L.inner;
    const AT v = k >= m ? AT(0) : kLog ? (AT(dy[i]) - exp(AT(y[i])) * s) * rt : AT(y[i]) * (AT(dy[i]) - s) * rt;
    dx[i] = add ? D(AT(dx[i]) + v) : D(v);
  }
}

int64_t Lanes(const Layout& L) { return L.outer * L.inner; }

// ---- few long lanes: each split over S blocks (SplitCount), in three passes: partials per
// (lane, chunk), one block per lane combining them, then a grid-stride pass over the elements ----
// The position of element k of a lane (lane = o * inner + j).
AX_HD inline int64_t LaneBase(const Layout& L, int64_t lane) { return lane / L.inner * L.n * L.inner + lane % L.inner; }

// Per (lane, chunk): the chunk's max mx and sum of exp((x - mx) / T) (0 and -inf when empty).
template <class D, class AT>
__global__ void SoftmaxPartKernel(Layout L, double temp, const D* x, IndexArray len, int64_t nlanes, int64_t chunk,
                                  AT* pm, AT* ps) {
  const AT rt = AT(1.0 / temp);
  for (int64_t lane = blockIdx.y; lane < nlanes; lane += gridDim.y) {
    const int64_t base = LaneBase(L, lane), m = LaneLength(len, lane, L.n);
    const int64_t k0 = blockIdx.x * chunk, k1 = min(m, k0 + chunk);
    AT mx = -INFINITY;
    for (int64_t k = k0 + threadIdx.x; k < k1; k += blockDim.x) mx = max(mx, AT(x[base + k * L.inner]));
    mx = BlockReduce(mx, MaxOp());
    AT sum = 0;
    for (int64_t k = k0 + threadIdx.x; k < k1; k += blockDim.x) sum += exp((AT(x[base + k * L.inner]) - mx) * rt);
    sum = BlockReduce(sum, SumOp());
    if (threadIdx.x == 0) {
      pm[lane * gridDim.x + blockIdx.x] = mx;
      ps[lane * gridDim.x + blockIdx.x] = sum;
    }
  }
}
// Per lane: the max over the chunks and the sum rescaled to it, left in pm/ps[lane * S]. A chunk
// whose max is -inf adds nothing unless the whole lane's is (then, as on the CPU, its NaN stays).
template <class AT>
__global__ void SoftmaxCombineKernel(int64_t nlanes, int64_t S, double temp, AT* pm, AT* ps) {
  const AT rt = AT(1.0 / temp);
  for (int64_t lane = blockIdx.x; lane < nlanes; lane += gridDim.x) {
    AT* m = pm + lane * S;
    AT* s = ps + lane * S;
    AT mx = -INFINITY;
    for (int64_t c = threadIdx.x; c < S; c += blockDim.x) mx = MaxOp()(mx, m[c]);
    mx = BlockReduce(mx, MaxOp());
    AT sum = 0;
    for (int64_t c = threadIdx.x; c < S; c += blockDim.x)
      if (!(m[c] == AT(-INFINITY) && mx != AT(-INFINITY))) sum += s[c] * exp((m[c] - mx) * rt);
    sum = BlockReduce(sum, SumOp());
    __syncthreads();  // every thread read m[0] / s[0] before they are overwritten
    if (threadIdx.x == 0) {
      m[0] = mx;
      s[0] = sum;
    }
  }
}
// y from the lanes' max and sum (pm/ps[lane * S]), as SoftmaxKernel's last loop.
template <bool kLog, class D, class O, class AT>
__global__ void SoftmaxApplyKernel(Layout L, double temp, const D* x, O* y, IndexArray len, int64_t S, const AT* pm,
                                   const AT* ps, bool add) {
  const AT rt = AT(1.0 / temp);
  const int64_t total = L.outer * L.n * L.inner;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(blockDim.x) * gridDim.x) {
    const int64_t k = i / L.inner % L.n, lane = i / (L.n * L.inner) * L.inner + i % L.inner;
    const AT mx = pm[lane * S], sum = ps[lane * S];
    const AT v = k >= LaneLength(len, lane, L.n) ? AT(0)
                 : kLog ? (AT(x[i]) - mx) * rt - log(sum) : exp((AT(x[i]) - mx) * rt) * (AT(1) / sum);
    y[i] = add ? O(AT(y[i]) + v) : O(v);
  }
}

// Per (lane, chunk): the chunk's sum of dy * y (softmax) or dy (log_softmax).
template <bool kLog, class O, class AT>
__global__ void SoftmaxGradPartKernel(Layout L, const O* dy, const O* y, IndexArray len, int64_t nlanes, int64_t chunk,
                                      AT* ps) {
  for (int64_t lane = blockIdx.y; lane < nlanes; lane += gridDim.y) {
    const int64_t base = LaneBase(L, lane), m = LaneLength(len, lane, L.n);
    const int64_t k0 = blockIdx.x * chunk, k1 = min(m, k0 + chunk);
    AT s = 0;
    for (int64_t k = k0 + threadIdx.x; k < k1; k += blockDim.x) {
      const int64_t i = base + k * L.inner;
      s += kLog ? AT(dy[i]) : AT(dy[i]) * AT(y[i]);
    }
    s = BlockReduce(s, SumOp());
    if (threadIdx.x == 0) ps[lane * gridDim.x + blockIdx.x] = s;
  }
}
// Per lane: the sum of its S partials, left in ps[lane * S].
template <class AT>
__global__ void LaneSumKernel(int64_t nlanes, int64_t S, AT* ps) {
  for (int64_t lane = blockIdx.x; lane < nlanes; lane += gridDim.x) {
    AT s = 0;
    for (int64_t c = threadIdx.x; c < S; c += blockDim.x) s += ps[lane * S + c];
    s = BlockReduce(s, SumOp());
    __syncthreads();
    if (threadIdx.x == 0) ps[lane * S] = s;
  }
}
// dx from the lanes' sums (ps[lane * S]), as SoftmaxGradKernel's last loop.
template <bool kLog, class O, class D, class AT>
__global__ void SoftmaxGradApplyKernel(Layout L, double temp, const O* dy, const O* y, D* dx, IndexArray len, int64_t S,
                                       const AT* ps, bool add) {
  const AT rt = AT(1.0 / temp);
  const int64_t total = L.outer * L.n * L.inner;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(blockDim.x) * gridDim.x) {
    const int64_t k = i / L.inner % L.n, lane = i / (L.n * L.inner) * L.inner + i % L.inner;
    const AT s = ps[lane * S];
    const AT v = k >= LaneLength(len, lane, L.n) ? AT(0)
                 : kLog ? (AT(dy[i]) - exp(AT(y[i])) * s) * rt : AT(y[i]) * (AT(dy[i]) - s) * rt;
    dx[i] = add ? D(AT(dx[i]) + v) : D(v);
  }
}

// false when there is nothing to do
bool SoftmaxLaunchable(const Layout& L, OpReq req, const char* who) {
  if (req == OpReq::kNull || Lanes(L) == 0 || L.n == 0) return false;
  AX_CHECK(Lanes(L) < (int64_t(1) << 31), AX_ERR_NOT_SUPPORTED, who, ": too many lanes for the GPU kernel");
  return true;
}

constexpr IndexArray kNoLengths{nullptr, AX_INT32};

template <bool kLog, class D, class O = D>
void LaunchSoftmax(const OpContext& ctx, const Layout& L, double temp, const D* x, O* y, OpReq req,
                   IndexArray len = kNoLengths) {
  if (!SoftmaxLaunchable(L, req, "softmax")) return;
  const int64_t nl = Lanes(L), S = SplitCount(nl, L.n);
  cudaStream_t st = Stream(ctx);
  const bool add = req == OpReq::kAdd;
  if (S == 1) {
    SoftmaxKernel<kLog, D, O><<<unsigned(nl), kReduceThreads, 0, st>>>(L, temp, x, y, len, add);
    AX_CUDA_LAUNCHED("softmax");
    return;
  }
  using AT = SmAcc<D, O>;
  Scratch ws(2 * sizeof(AT) * static_cast<size_t>(nl * S), st);
  AT *pm = ws.at<AT>(0), *ps = ws.at<AT>(nl * S);
  SoftmaxPartKernel<D, AT><<<SplitGrid(nl, S), kReduceThreads, 0, st>>>(L, temp, x, len, nl, (L.n + S - 1) / S, pm,
                                                                            ps);
  AX_CUDA_LAUNCHED("softmax");
  SoftmaxCombineKernel<AT><<<unsigned(nl), kReduceThreads, 0, st>>>(nl, S, temp, pm, ps);
  AX_CUDA_LAUNCHED("softmax");
  SoftmaxApplyKernel<kLog, D, O, AT><<<Blocks(nl * L.n), kThreads, 0, st>>>(L, temp, x, y, len, S, pm, ps, add);
  AX_CUDA_LAUNCHED("softmax");
}
template <bool kLog, class O, class D>
void LaunchSoftmaxGrad(const OpContext& ctx, const Layout& L, double temp, const O* dy, const O* y, D* dx, OpReq req,
                       IndexArray len = kNoLengths) {
  if (!SoftmaxLaunchable(L, req, "softmax backward")) return;
  const int64_t nl = Lanes(L), S = SplitCount(nl, L.n);
  cudaStream_t st = Stream(ctx);
  const bool add = req == OpReq::kAdd;
  if (S == 1) {
    SoftmaxGradKernel<kLog, O, D><<<unsigned(nl), kReduceThreads, 0, st>>>(L, temp, dy, y, dx, len, add);
    AX_CUDA_LAUNCHED("softmax backward");
    return;
  }
  using AT = SmAcc<O, D>;
  Scratch ws(sizeof(AT) * static_cast<size_t>(nl * S), st);
  AT* ps = ws.at<AT>(0);
  SoftmaxGradPartKernel<kLog, O, AT><<<SplitGrid(nl, S), kReduceThreads, 0, st>>>(L, dy, y, len, nl,
                                                                                      (L.n + S - 1) / S, ps);
  AX_CUDA_LAUNCHED("softmax backward");
  LaneSumKernel<AT><<<unsigned(nl), kReduceThreads, 0, st>>>(nl, S, ps);
  AX_CUDA_LAUNCHED("softmax backward");
  SoftmaxGradApplyKernel<kLog, O, D, AT><<<Blocks(nl * L.n), kThreads, 0, st>>>(L, temp, dy, y, dx, len, S, ps,
                                                                                    add);
  AX_CUDA_LAUNCHED("softmax backward");
}

// The lengths input (use_length), or none.
IndexArray Lengths(const NodeAttrs& attrs, const std::vector<TBlob>& in, size_t len_input) {
  if (!attrs.get<SoftmaxParam>().use_length.value_or(false)) return kNoLengths;
  return IndexArray{in[len_input].dptr, in[len_input].dtype};
}

int SoftmaxAxis(const NodeAttrs& attrs, int ndim) {  // validated by shape inference
  const int a = attrs.get<SoftmaxParam>().axis;
  return a < 0 ? a + ndim : a;
}

// inputs: data[, length]
template <bool kLog>
void SoftmaxCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                    const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const Layout L = AxisLayout(in[0].shape, SoftmaxAxis(attrs, in[0].shape.ndim()));
  const double t = attrs.get<SoftmaxParam>().temperature.value_or(1.0);
  AX_GPU_FLOAT_SWITCH(in[0].dtype, D, attrs.Who(), {
    AX_GPU_FLOAT_SWITCH(out[0].dtype, O, attrs.Who(), {
      LaunchSoftmax<kLog>(ctx, L, t, in[0].ptr<D>(), out[0].ptr<O>(), req[0], Lengths(attrs, in, 1));
    });
  });
}

// inputs: ograd, output, data (shape and dtype only)[, length]
template <bool kLog>
void SoftmaxGradCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                        const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const Layout L = AxisLayout(in[2].shape, SoftmaxAxis(attrs, in[2].shape.ndim()));
  const double t = attrs.get<SoftmaxParam>().temperature.value_or(1.0);
  AX_GPU_FLOAT_SWITCH(in[1].dtype, O, attrs.Who(), {
    AX_GPU_FLOAT_SWITCH(out[0].dtype, D, attrs.Who(), {
      LaunchSoftmaxGrad<kLog>(ctx, L, t, in[0].ptr<O>(), in[1].ptr<O>(), out[0].ptr<D>(), req[0],
                              Lengths(attrs, in, 3));
    });
  });
}

// ---- SoftmaxActivation: softmax over axis 1 (mode channel) or the last axis (instance) ---------
Layout SoftmaxActLayout(const NodeAttrs& attrs, const TShape& s) {
  return AxisLayout(s, attrs.get<SoftmaxActParam>().mode == 0 ? 1 : s.ndim() - 1);
}
void SoftmaxActCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                       const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const Layout L = SoftmaxActLayout(attrs, in[0].shape);
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(),
                      { LaunchSoftmax<false, T>(ctx, L, 1.0, in[0].ptr<T>(), out[0].ptr<T>(), req[0]); });
}
// inputs: ograd, output
void SoftmaxActGradCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                           const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const Layout L = SoftmaxActLayout(attrs, in[1].shape);
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    LaunchSoftmaxGrad<false>(ctx, L, 1.0, in[0].ptr<T>(), in[1].ptr<T>(), out[0].ptr<T>(), req[0]);
  });
}

// ---- SoftmaxOutput ---------------------------------------------------------------------------
Layout SoftmaxOutputLayout(const SoftmaxOutputParam& p, const TShape& s) {
  if (p.multi_output) return {s[0], s.ndim() > 1 ? s[1] : 1, s.ProdRange(std::min(2, s.ndim()), s.ndim())};
  if (p.preserve_shape) return AxisLayout(s, s.ndim() - 1);
  return {s[0], s.ProdRange(1, s.ndim()), 1};
}

void SoftmaxOutputCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                          const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  Layout L = SoftmaxOutputLayout(attrs.get<SoftmaxOutputParam>(), in[0].shape);
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    LaunchSoftmax<false, T>(ctx, L, 1.0, in[0].ptr<T>(), out[0].ptr<T>(), req[0]);
  });
}

__device__ inline int LabelInt(float v) {
  return v > -2147483520.0f && v < 2147483520.0f ? static_cast<int>(v) : INT_MIN;
}

// One thread per element: (y - onehot) * scale, 0 for ignored lanes; out_grad multiplies by og.
template <class T>
__global__ void SoftmaxOutputGradKernel(Layout L, int64_t nlab, const T* og, const T* y, const T* lab, T* dx,
                                        bool add, bool out_grad, bool use_ignore, int ignore, T on, T off, T sc) {
  const int64_t total = L.outer * L.n * L.inner;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(blockDim.x) * gridDim.x) {
    const int64_t o = i / (L.n * L.inner), c = (i / L.inner) % L.n, j = i % L.inner, lane = o * L.inner + j;
    if (lane >= nlab) continue;  // as the CPU: elements of lanes without a label are left alone
    const int k = LabelInt(static_cast<float>(lab[lane]));
    T v = (use_ignore && k == ignore) ? T(0) : (y[i] - (c == k ? on : off)) * sc;
    if (out_grad) v *= og[i];
    dx[i] = add ? dx[i] + v : v;
  }
}
template <class T>
__global__ void ProbGradKernel(int64_t n, const T* og, const T* y, const T* lab, T* dx, bool add, bool out_grad, T sc) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
    T v = (y[i] - lab[i]) * sc;
    if (out_grad) v *= og[i];
    dx[i] = add ? dx[i] + v : v;
  }
}

// inputs: ograd, output, label
void SoftmaxOutputGradCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                              const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull) return;
  const auto& p = attrs.get<SoftmaxOutputParam>();
  const TShape& s = in[1].shape;
  const bool add = req[0] == OpReq::kAdd;
  cudaStream_t st = Stream(ctx);
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    const T* og = in[0].ptr<T>();
    const T* y = in[1].ptr<T>();
    const T* lab = in[2].ptr<T>();
    T* dx = out[0].ptr<T>();
    if (in[2].shape == s) {
      if (s.Size() == 0) return;
      ProbGradKernel<<<Blocks(s.Size()), kThreads, 0, st>>>(s.Size(), og, y, lab, dx, add, p.out_grad, T(p.grad_scale));
      AX_CUDA_LAUNCHED("_backward_SoftmaxOutput");
      return;
    }
    Layout L = SoftmaxOutputLayout(p, s);
    const int64_t nlab = std::min(L.outer * L.inner, in[2].Size());
    const int ignore = p.ignore_label > -2147483520.0f && p.ignore_label < 2147483520.0f
                           ? static_cast<int>(p.ignore_label) : INT_MIN;
    double valid;
    if (p.normalization == kNormBatch) {
      valid = p.multi_output ? static_cast<double>(L.outer) : static_cast<double>(in[2].Size());
    } else if (p.normalization == kNormValid) {  // count the labels on the host (a small copy)
      std::vector<T> h(static_cast<size_t>(in[2].Size()));
      AX_CUDA_CHECK(cudaMemcpyAsync(h.data(), lab, h.size() * sizeof(T), cudaMemcpyDeviceToHost, st));
      AX_CUDA_CHECK(cudaStreamSynchronize(st));
      int64_t c = 0;
      for (T v : h) {
        float f = static_cast<float>(v);
        c += (f > -2147483520.0f && f < 2147483520.0f ? static_cast<int>(f) : INT_MIN) != ignore;
      }
      valid = static_cast<double>(std::max<int64_t>(c, 1));
    } else {
      valid = 1.0;
    }
    double scale = p.grad_scale / valid;
    if (p.multi_output && p.normalization != kNormValid) scale /= static_cast<double>(std::max<int64_t>(L.inner, 1));
    const double alpha = p.multi_output ? 0.0 : p.smooth_alpha;
    const T on = T(1.0 - alpha), off = L.n > 1 ? T(alpha / (L.n - 1)) : T(0);
    const int64_t total = L.outer * L.n * L.inner;
    if (total == 0) return;
    SoftmaxOutputGradKernel<<<Blocks(total), kThreads, 0, st>>>(L, nlab, og, y, lab, dx, add, p.out_grad, p.use_ignore,
                                                                ignore, on, off, T(scale));
    AX_CUDA_LAUNCHED("_backward_SoftmaxOutput");
  });
}

void RegisterNNKernels() {
  SetKernel("dot", DotCompute);
  SetKernel("_backward_dot", DotBackwardCompute);
  SetKernel("batch_dot", BatchDotCompute);
  SetKernel("_backward_batch_dot", BatchDotBackwardCompute);
  SetKernel("FullyConnected", FCForward);
  SetKernel("_backward_FullyConnected", FCBackward);
  SetKernel("softmax", AsFloat(SoftmaxCompute<false>));
  SetKernel("log_softmax", AsFloat(SoftmaxCompute<true>));
  SetKernel("_backward_softmax", AsFloat(SoftmaxGradCompute<false>));
  SetKernel("_backward_log_softmax", AsFloat(SoftmaxGradCompute<true>));
  SetKernel("SoftmaxActivation", AsFloat(SoftmaxActCompute));
  SetKernel("_backward_SoftmaxActivation", AsFloat(SoftmaxActGradCompute));
  SetKernel("SoftmaxOutput", AsFloat(SoftmaxOutputCompute));
  SetKernel("_backward_SoftmaxOutput", AsFloat(SoftmaxOutputGradCompute));
}

}  // namespace cuda
}  // namespace axle
