// CUDA kernels of BatchNorm and its gradient: one block per channel, or for few channels over
// many elements blocks (channel, chunk) after split per-channel sums (SplitCount); the batch
// statistics by block reductions (in double), the moving statistics updated by the gradient in
// training, as on the CPU (norm_op.cc); LayerNorm: one block per normalised row, gamma/beta
// gradients one block per channel (split like BatchNorm's sums for few channels over many rows).
#include "cuda/cuda_common.cuh"
#include "ops/norm_op.h"

namespace axle {
namespace cuda {

struct AxisView {
  int64_t outer = 1, C = 1, inner = 1;
  AX_HD int64_t Index(int64_t c, int64_t k) const { return (k / inner * C + c) * inner + k % inner; }
};
AxisView View(const TShape& d, int axis) {
  const int a = axis < 0 ? axis + d.ndim() : axis;
  return {d.ProdRange(0, a), d[a], d.ProdRange(a + 1, d.ndim())};
}

// ---- per-channel sums split over many blocks (few channels, each over many elements) ----------
// Block (c = blockIdx.x, chunk = blockIdx.y) sums F's kN values over elements [chunk * len,
// (chunk + 1) * len) of channel c into part[(c * gridDim.y + chunk) * kN + j]; F(c, k, i, s) adds
// element k of channel c (at i in the array) to s.
template <int kN, class F>
__global__ void ChannelPartKernel(AxisView v, int64_t len, F f, double* part) {
  const int64_t c = blockIdx.x, cnt = v.outer * v.inner, k0 = blockIdx.y * len, k1 = min(cnt, k0 + len);
  double s[kN] = {};
  for (int64_t k = k0 + threadIdx.x; k < k1; k += blockDim.x) f(c, k, v.Index(c, k), s);
  for (int j = 0; j < kN; ++j) s[j] = BlockReduce(s[j], SumOp());
  if (threadIdx.x == 0)
    for (int j = 0; j < kN; ++j) part[(c * gridDim.y + blockIdx.y) * kN + j] = s[j];
}
// sums[c * kN + j] = the S partials of channel c added up.
template <int kN>
__global__ void ChannelCombineKernel(int64_t S, const double* part, double* sums) {
  const int64_t c = blockIdx.x;
  for (int j = 0; j < kN; ++j) {
    double s = 0;
    for (int64_t k = threadIdx.x; k < S; k += blockDim.x) s += part[(c * S + k) * kN + j];
    s = BlockReduce(s, SumOp());
    if (threadIdx.x == 0) sums[c * kN + j] = s;
  }
}
// sums[c * kN + j] = the sum of F's j-th value over channel c, split S ways (part: C * S * kN).
template <int kN, class F>
void ChannelSums(cudaStream_t st, const AxisView& v, int64_t S, F f, double* part, double* sums, const char* who) {
  const int64_t cnt = v.outer * v.inner;
  ChannelPartKernel<kN><<<dim3(unsigned(v.C), unsigned(S)), kReduceThreads, 0, st>>>(v, (cnt + S - 1) / S, f, part);
  AX_CUDA_LAUNCHED(who);
  ChannelCombineKernel<kN><<<unsigned(v.C), kReduceThreads, 0, st>>>(S, part, sums);
  AX_CUDA_LAUNCHED(who);
}
template <class T>
struct SumXF {  // x
  const T* x;
  AX_HD void operator()(int64_t, int64_t, int64_t i, double* s) const { s[0] += double(x[i]); }
};
template <class T>
struct SqDevF {  // (x - mean_c)^2, mean_c = sums[c] / cnt
  const T* x;
  const double* sums;
  double cnt;
  AX_HD void operator()(int64_t c, int64_t, int64_t i, double* s) const {
    const double d = double(x[i]) - sums[c] / cnt;
    s[0] += d * d;
  }
};
template <class T>
struct GradSumsF {  // dy and (x - mean_c) * dy, mean_c = batch ? smean[c] : mm[c] (as T)
  const T *dy, *x, *mean;
  AX_HD void operator()(int64_t c, int64_t, int64_t i, double* s) const {
    s[0] += double(dy[i]);
    s[1] += double(x[i] - mean[c]) * double(dy[i]);
  }
};

// One block per channel, or (stats not null) blocks (c, chunk) over chunks of len elements with
// the batch sums precomputed: stats[c] = sum x, stats[C + c] = sum (x - mean)^2.
template <class T>
__global__ void BNForwardKernel(AxisView v, bool batch, double eps, bool fix_gamma, const T* x, const T* gamma,
                                const T* beta, const T* mm, const T* mv, T* y, T* mean, T* invstd, int req,
                                const double* stats, int64_t len) {
  const int64_t c = blockIdx.x, cnt = v.outer * v.inner;
  T m, is;
  if (batch) {
    double md, q;
    if (stats) {
      md = cnt ? stats[c] / double(cnt) : 0.0;
      q = stats[v.C + c];
    } else {
      double s = 0;
      for (int64_t k = threadIdx.x; k < cnt; k += blockDim.x) s += double(x[v.Index(c, k)]);
      md = cnt ? BlockReduce(s, SumOp()) / double(cnt) : 0.0;
      q = 0;
      for (int64_t k = threadIdx.x; k < cnt; k += blockDim.x) {
        const double d = double(x[v.Index(c, k)]) - md;
        q += d * d;
      }
      q = BlockReduce(q, SumOp());
    }
    m = T(md);
    is = (q == 0 && eps == 0) ? T(0) : T(1.0 / sqrt((cnt ? q / double(cnt) : 0.0) + eps));
  } else {
    m = mm[c];
    is = T(1.0 / sqrt(double(mv[c]) + eps));
  }
  if (threadIdx.x == 0 && blockIdx.y == 0) {
    mean[c] = m;
    invstd[c] = is;
  }
  if (req == int(OpReq::kNull)) return;
  const T scale = (fix_gamma ? T(1) : gamma[c]) * is, shift = beta[c] - m * scale;
  const int64_t k0 = blockIdx.y * len, k1 = min(cnt, k0 + len);
  for (int64_t k = k0 + threadIdx.x; k < k1; k += blockDim.x) {
    const int64_t i = v.Index(c, k);
    const T r = x[i] * scale + shift;
    y[i] = req == int(OpReq::kAdd) ? y[i] + r : r;
  }
}

// One block per channel, or (stats not null) blocks (c, chunk) with stats[2c] = sum dy,
// stats[2c + 1] = sum (x - mean) dy precomputed; the moving statistics are updated once per
// channel (the blocks read smean/sinvstd in training, not mm/mv).
template <class T>
__global__ void BNBackwardKernel(AxisView v, bool batch, double eps, float momentum, bool fix_gamma, const T* dy,
                                 const T* smean, const T* sinvstd, const T* x, const T* gamma, T* mm, T* mv, T* dx,
                                 T* dg, T* db, int rx, int rg, int rb, const double* stats, int64_t len) {
  const int64_t c = blockIdx.x, cnt = v.outer * v.inner;
  const bool first = threadIdx.x == 0 && blockIdx.y == 0;
  const T w = fix_gamma ? T(1) : gamma[c];
  T mean, invstd;
  if (batch) {
    mean = smean[c];
    invstd = sinvstd[c];
  } else {
    mean = mm[c];
    invstd = T(1.0 / sqrt(double(mv[c]) + eps));
  }
  double sdy, dot;
  if (stats) {
    sdy = stats[2 * c];
    dot = stats[2 * c + 1];
  } else {
    sdy = dot = 0;
    for (int64_t k = threadIdx.x; k < cnt; k += blockDim.x) {
      const int64_t i = v.Index(c, k);
      sdy += double(dy[i]);
      dot += double(x[i] - mean) * double(dy[i]);
    }
    sdy = BlockReduce(sdy, SumOp());
    dot = BlockReduce(dot, SumOp());
  }
  if (batch && first && cnt > 0) {
    const T var = T(1) / (invstd * invstd) - T(eps), mom = T(momentum);
    mm[c] = mm[c] * mom + mean * (T(1) - mom);
    mv[c] = mv[c] * mom + var * (T(1) - mom);
  }
  if (rx != int(OpReq::kNull)) {
    const T iw = invstd * w;
    const T kk = batch && cnt ? T(dot * double(invstd) * double(invstd) / double(cnt)) : T(0);
    const T gm = batch && cnt ? T(sdy / double(cnt)) : T(0);
    const int64_t k0 = blockIdx.y * len, k1 = min(cnt, k0 + len);
    for (int64_t k = k0 + threadIdx.x; k < k1; k += blockDim.x) {
      const int64_t i = v.Index(c, k);
      const T r = batch ? (dy[i] - gm - (x[i] - mean) * kk) * iw : dy[i] * iw;
      dx[i] = rx == int(OpReq::kAdd) ? dx[i] + r : r;
    }
  }
  if (first) {
    const T gg = fix_gamma ? T(0) : T(dot * double(invstd));
    if (rg == int(OpReq::kAdd)) dg[c] += gg;
    else if (rg != int(OpReq::kNull)) dg[c] = gg;
    if (rb == int(OpReq::kAdd)) db[c] += T(sdy);
    else if (rb != int(OpReq::kNull)) db[c] = T(sdy);
  }
}

// How many blocks each channel's elements are split over (1: one block per channel).
int64_t BNSplit(const AxisView& v) { return std::min<int64_t>(SplitCount(v.C, v.outer * v.inner), 65535); }

// (data, gamma, beta, moving_mean, moving_var) -> (output, mean, invstd)
void BNCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
               const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<BNParam>();
  const AxisView v = View(in[0].shape, p.axis);
  if (v.C == 0) return;
  const bool batch = ctx.is_train && !p.use_global_stats;
  const int64_t cnt = v.outer * v.inner, S = BNSplit(v);
  cudaStream_t st = Stream(ctx);
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    const T* x = in[0].ptr<T>();
    const bool split = S > 1 && batch;
    Scratch ws(split ? sizeof(double) * static_cast<size_t>(v.C * (S + 2)) : 0, st);
    double* stats = nullptr;
    if (split) {  // sum x, then sum (x - mean)^2, each split over S blocks per channel
      double* part = ws.at<double>(0);
      stats = ws.at<double>(v.C * S);
      ChannelSums<1>(st, v, S, SumXF<T>{x}, part, stats, "BatchNorm");
      ChannelSums<1>(st, v, S, SqDevF<T>{x, stats, double(cnt)}, part, stats + v.C, "BatchNorm");
    }
    BNForwardKernel<<<dim3(unsigned(v.C), unsigned(S)), kReduceThreads, 0, st>>>(  // (S > 1: batch has stats)
        v, batch, p.eps, p.fix_gamma, x, in[1].ptr<T>(), in[2].ptr<T>(), in[3].ptr<T>(), in[4].ptr<T>(),
        out[0].ptr<T>(), out[1].ptr<T>(), out[2].ptr<T>(), int(req[0]), stats, (cnt + S - 1) / S);
    AX_CUDA_LAUNCHED("BatchNorm");
  });
}

// (ograd, mean, invstd, data, gamma, beta, moving_mean, moving_var) -> (data, gamma, beta grads)
void BNBackwardCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                       const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<BNParam>();
  const AxisView v = View(in[3].shape, p.axis);
  if (v.C == 0) return;
  const bool batch = ctx.is_train && !p.use_global_stats;
  const int64_t cnt = v.outer * v.inner, S = BNSplit(v);
  cudaStream_t st = Stream(ctx);
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    const T *dy = in[0].ptr<T>(), *x = in[3].ptr<T>();
    Scratch ws(S > 1 ? sizeof(double) * static_cast<size_t>(v.C * (2 * S + 2)) : 0, st);
    double* stats = nullptr;
    if (S > 1) {  // sum dy and sum (x - mean) dy, split over S blocks per channel
      stats = ws.at<double>(2 * v.C * S);
      const T* mean = batch ? in[1].ptr<T>() : in[6].ptr<T>();
      ChannelSums<2>(st, v, S, GradSumsF<T>{dy, x, mean}, ws.at<double>(0), stats, "_backward_BatchNorm");
    }
    BNBackwardKernel<<<dim3(unsigned(v.C), unsigned(S)), kReduceThreads, 0, st>>>(
        v, batch, p.eps, p.momentum, p.fix_gamma, dy, in[1].ptr<T>(), in[2].ptr<T>(), x, in[4].ptr<T>(),
        in[6].ptr<T>(), in[7].ptr<T>(), out[0].ptr<T>(), out[1].ptr<T>(), out[2].ptr<T>(), int(req[0]), int(req[1]),
        int(req[2]), stats, (cnt + S - 1) / S);
    AX_CUDA_LAUNCHED("_backward_BatchNorm");
  });
}

// ---- LayerNorm ---------------------------------------------------------------------------------
// Row r (of outer x inner) normalises C elements at stride inner from base(r).
AX_HD inline int64_t LNBase(const AxisView& v, int64_t r) { return (r / v.inner) * v.C * v.inner + r % v.inner; }

template <class T>
__global__ void LNForwardKernel(AxisView v, double eps, const T* x, const T* gamma, const T* beta, T* y, T* mean,
                                T* sd, int req) {
  const int64_t rows = v.outer * v.inner, C = v.C, st = v.inner;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + LNBase(v, r);
    double s = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) s += double(xr[c * st]);
    const double m = C ? BlockReduce(s, SumOp()) / double(C) : 0.0;
    double q = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) q += (double(xr[c * st]) - m) * (double(xr[c * st]) - m);
    q = BlockReduce(q, SumOp());
    const double sdv = sqrt((C ? q / double(C) : 0.0) + eps);
    if (threadIdx.x == 0) {
      mean[r] = T(m);
      sd[r] = T(sdv);
    }
    if (req == int(OpReq::kNull)) continue;
    const T mt = T(m), inv = T(1.0 / sdv);
    T* yr = y + LNBase(v, r);
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const T val = (xr[c * st] - mt) * inv * gamma[c] + beta[c];
      yr[c * st] = req == int(OpReq::kAdd) ? yr[c * st] + val : val;
    }
  }
}

template <class T>
__global__ void LNDataGradKernel(AxisView v, const T* dy, const T* x, const T* gamma, const T* mean, const T* sd,
                                 T* dx, bool add) {
  const int64_t rows = v.outer * v.inner, C = v.C, st = v.inner;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t base = LNBase(v, r);
    const double m = double(mean[r]), inv = 1.0 / double(sd[r]);
    double sg = 0, sgx = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const double xh = (double(x[base + c * st]) - m) * inv, gg = double(dy[base + c * st]) * double(gamma[c]);
      sg += gg;
      sgx += gg * xh;
    }
    sg = BlockReduce(sg, SumOp());
    sgx = BlockReduce(sgx, SumOp());
    const double mg = sg / double(C), mgx = sgx / double(C);
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const int64_t i = base + c * st;
      const double xh = (double(x[i]) - m) * inv;
      const T val = T((double(dy[i]) * double(gamma[c]) - mg - xh * mgx) * inv);
      dx[i] = add ? dx[i] + val : val;
    }
  }
}

// dgamma[c] = sum over rows of dy * xhat, dbeta[c] = sum of dy: one block per channel.
template <class T>
__global__ void LNParamGradKernel(AxisView v, const T* dy, const T* x, const T* mean, const T* sd, T* dg, T* db,
                                  int rg, int rb) {
  const int64_t c = blockIdx.x, rows = v.outer * v.inner;
  double gs = 0, bs = 0;
  for (int64_t r = threadIdx.x; r < rows; r += blockDim.x) {
    const int64_t i = LNBase(v, r) + c * v.inner;
    const double g = double(dy[i]);
    gs += g * (double(x[i]) - double(mean[r])) / double(sd[r]);
    bs += g;
  }
  gs = BlockReduce(gs, SumOp());
  bs = BlockReduce(bs, SumOp());
  if (threadIdx.x != 0) return;
  if (rg == int(OpReq::kAdd)) dg[c] += T(gs);
  else if (rg != int(OpReq::kNull)) dg[c] = T(gs);
  if (rb == int(OpReq::kAdd)) db[c] += T(bs);
  else if (rb != int(OpReq::kNull)) db[c] = T(bs);
}

// LayerNorm's gamma and beta gradients split over many blocks per channel (few channels, many
// rows): element k of channel c is row k's; s = (dy (x - mean) / sd, dy).
template <class T>
struct LNParamSumsF {
  const T *dy, *x, *mean, *sd;
  AX_HD void operator()(int64_t, int64_t r, int64_t i, double* s) const {
    const double g = double(dy[i]);
    s[0] += g * (double(x[i]) - double(mean[r])) / double(sd[r]);
    s[1] += g;
  }
};
template <class T>
__global__ void LNParamStoreKernel(int64_t C, const double* sums, T* dg, T* db, int rg, int rb) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < C; c += int64_t(blockDim.x) * gridDim.x) {
    if (rg == int(OpReq::kAdd)) dg[c] += T(sums[2 * c]);
    else if (rg != int(OpReq::kNull)) dg[c] = T(sums[2 * c]);
    if (rb == int(OpReq::kAdd)) db[c] += T(sums[2 * c + 1]);
    else if (rb != int(OpReq::kNull)) db[c] = T(sums[2 * c + 1]);
  }
}

unsigned RowGrid(int64_t rows) { return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(rows, 1 << 20))); }

// (data, gamma, beta) -> (output, mean, std)
void LNCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
               const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const AxisView v = View(in[0].shape, attrs.get<LNParam>().axis);
  if (v.outer * v.inner == 0) return;
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    LNForwardKernel<<<RowGrid(v.outer * v.inner), kReduceThreads, 0, Stream(ctx)>>>(
        v, double(attrs.get<LNParam>().eps), in[0].ptr<T>(), in[1].ptr<T>(), in[2].ptr<T>(), out[0].ptr<T>(),
        out[1].ptr<T>(), out[2].ptr<T>(), int(req[0]));
    AX_CUDA_LAUNCHED("LayerNorm");
  });
}

// (ograd, data, gamma, mean, std) -> (data, gamma, beta grads)
void LNBackwardCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                       const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const AxisView v = View(in[1].shape, attrs.get<LNParam>().axis);
  const int64_t rows = v.outer * v.inner;
  cudaStream_t st = Stream(ctx);
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    if (req[0] != OpReq::kNull && rows > 0 && v.C > 0) {
      LNDataGradKernel<<<RowGrid(rows), kReduceThreads, 0, st>>>(v, in[0].ptr<T>(), in[1].ptr<T>(), in[2].ptr<T>(),
                                                                 in[3].ptr<T>(), in[4].ptr<T>(), out[0].ptr<T>(),
                                                                 req[0] == OpReq::kAdd);
      AX_CUDA_LAUNCHED("_backward_LayerNorm data");
    }
    const int64_t S = std::min<int64_t>(SplitCount(v.C, rows), 65535);
    if ((req[1] != OpReq::kNull || req[2] != OpReq::kNull) && v.C > 0 && S > 1) {
      Scratch ws(sizeof(double) * static_cast<size_t>(v.C * (2 * S + 2)), st);
      double* sums = ws.at<double>(2 * v.C * S);
      ChannelSums<2>(st, v, S, LNParamSumsF<T>{in[0].ptr<T>(), in[1].ptr<T>(), in[3].ptr<T>(), in[4].ptr<T>()},
                     ws.at<double>(0), sums, "_backward_LayerNorm gamma/beta");
      LNParamStoreKernel<<<Blocks(v.C), kThreads, 0, st>>>(v.C, sums, out[1].ptr<T>(), out[2].ptr<T>(), int(req[1]),
                                                           int(req[2]));
      AX_CUDA_LAUNCHED("_backward_LayerNorm gamma/beta");
    } else if ((req[1] != OpReq::kNull || req[2] != OpReq::kNull) && v.C > 0) {
      LNParamGradKernel<<<unsigned(v.C), kReduceThreads, 0, st>>>(v, in[0].ptr<T>(), in[1].ptr<T>(), in[3].ptr<T>(),
                                                                  in[4].ptr<T>(), out[1].ptr<T>(), out[2].ptr<T>(),
                                                                  int(req[1]), int(req[2]));
      AX_CUDA_LAUNCHED("_backward_LayerNorm gamma/beta");
    }
  });
}

void RegisterNormKernels() {
  SetKernel("LayerNorm", AsFloat(LNCompute));
  SetKernel("_backward_LayerNorm", AsFloat(LNBackwardCompute));
  SetKernel("BatchNorm", AsFloat(BNCompute));
  SetKernel("_backward_BatchNorm", AsFloat(BNBackwardCompute));
}

}  // namespace cuda
}  // namespace axle
