// CUDA kernels of Convolution (im2col + GEMM over a chunk of images at once, forward and
// backward, groups, 1-D to 3-D) and Pooling (max, avg, sum, lp; forward and backward, the
// backward scattering with atomics). Spatial axes are padded to 3 at the front (1-D uses the
// last), as ops/nn_util.h does on the CPU.
#include "cuda/cuda_common.cuh"
#include "ops/cuda/conv_common.cuh"
#include "ops/conv_op.h"
#include "ops/pooling_op.h"

namespace axle {
namespace cuda {

Geom ConvGeom(const ConvParam& prm, const TShape& img, const TShape& grid) {
  Geom g;
  const int nd = static_cast<int>(prm.kernel.size()), o = 3 - nd;
  g.C = img[1];
  for (int i = 0; i < nd; ++i) {
    g.k[o + i] = prm.kernel[i];
    if (!prm.stride.empty()) g.s[o + i] = prm.stride[i];
    if (!prm.dilate.empty()) g.d[o + i] = prm.dilate[i];
    if (!prm.pad.empty()) g.p[o + i] = prm.pad[i];
    g.in[o + i] = img[2 + i];
    g.out[o + i] = grid[2 + i];
  }
  return g;
}

template <class T>
void ConvForward(cudaStream_t st, const Geom& g, int64_t N, int64_t F, int64_t G, const T* x, const T* w, const T* b,
                 OpReq req, T* y) {
  if (req == OpReq::kNull || N == 0) return;
  const int64_t L = g.OutSize(), CK = g.C * g.KSize() / G, Fg = F / G;
  const int64_t B = ChunkImages((g.C * g.KSize() + F) * L, sizeof(T), N);
  Scratch ws(sizeof(T) * static_cast<size_t>((g.C * g.KSize() + F) * L * B), st);
  for (int64_t n0 = 0; n0 < N; n0 += B) {
    const int64_t nb = std::min(B, N - n0), ld = nb * L;
    T* col = ws.at<T>(0);
    T* tmp = ws.at<T>(static_cast<size_t>(g.C * g.KSize() * ld));
    Im2ColKernel<<<Blocks(g.C * g.KSize() * ld), kThreads, 0, st>>>(g, nb, x + n0 * g.C * g.InSize(), col);
    AX_CUDA_LAUNCHED("Convolution im2col");
    for (int64_t k = 0; k < G; ++k)
      Gemm<T>(st, false, false, Fg, ld, CK, w + k * Fg * CK, CK, col + k * CK * ld, ld, tmp + k * Fg * ld, ld, false);
    ScatterKernel<<<Blocks(nb * F * L), kThreads, 0, st>>>(nb, F, L, tmp, b, y + n0 * F * L, req == OpReq::kAdd);
    AX_CUDA_LAUNCHED("Convolution output");
  }
}

template <class T>
void ConvBackward(cudaStream_t st, const Geom& g, int64_t N, int64_t F, int64_t G, const T* dy, const T* x, const T* w,
                  OpReq rdx, T* dx, OpReq rdw, T* dw) {
  const int64_t L = g.OutSize(), CKall = g.C * g.KSize(), CK = CKall / G, Fg = F / G;
  const bool do_dx = rdx != OpReq::kNull, do_dw = rdw != OpReq::kNull;
  if (do_dw && rdw != OpReq::kAdd) AX_CUDA_CHECK(cudaMemsetAsync(dw, 0, sizeof(T) * F * CK, st));
  if (N == 0 || (!do_dx && !do_dw)) return;
  const int64_t B = ChunkImages((2 * CKall + F) * L, sizeof(T), N);
  Scratch ws(sizeof(T) * static_cast<size_t>((2 * CKall + F) * L * B), st);
  for (int64_t n0 = 0; n0 < N; n0 += B) {
    const int64_t nb = std::min(B, N - n0), ld = nb * L;
    T* col = ws.at<T>(0);
    T* dcol = ws.at<T>(static_cast<size_t>(CKall * ld));
    T* dyt = ws.at<T>(static_cast<size_t>(2 * CKall * ld));
    GatherKernel<<<Blocks(nb * F * L), kThreads, 0, st>>>(nb, F, L, dy + n0 * F * L, dyt);
    AX_CUDA_LAUNCHED("Convolution backward gather");
    if (do_dw) {
      Im2ColKernel<<<Blocks(CKall * ld), kThreads, 0, st>>>(g, nb, x + n0 * g.C * g.InSize(), col);
      AX_CUDA_LAUNCHED("Convolution backward im2col");
      for (int64_t k = 0; k < G; ++k)
        Gemm<T>(st, false, true, Fg, CK, ld, dyt + k * Fg * ld, ld, col + k * CK * ld, ld, dw + k * Fg * CK, CK, true);
    }
    if (do_dx) {
      for (int64_t k = 0; k < G; ++k)
        Gemm<T>(st, true, false, CK, ld, Fg, w + k * Fg * CK, CK, dyt + k * Fg * ld, ld, dcol + k * CK * ld, ld, false);
      Col2ImKernel<<<Blocks(nb * g.C * g.InSize()), kThreads, 0, st>>>(g, nb, dcol, dx + n0 * g.C * g.InSize(),
                                                                       rdx == OpReq::kAdd);
      AX_CUDA_LAUNCHED("Convolution backward col2im");
    }
  }
}

void CheckConv(const NodeAttrs& attrs, const ConvParam& p) {
  AX_CHECK(p.layout < 0 || p.layout <= 2, AX_ERR_NOT_SUPPORTED, attrs.Who(), ": only channel-first layouts");
}

void ConvCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                 const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<ConvParam>();
  CheckConv(attrs, p);
  const Geom g = ConvGeom(p, in[0].shape, out[0].shape);
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    ConvForward<T>(Stream(ctx), g, in[0].shape[0], p.num_filter, p.num_group, in[0].ptr<T>(), in[1].ptr<T>(),
                   p.no_bias ? nullptr : in[2].ptr<T>(), req[0], out[0].ptr<T>());
  });
}

// (ograd, data, weight) -> (data grad, weight grad[, bias grad])
void ConvBackwardCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                         const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<ConvParam>();
  CheckConv(attrs, p);
  const Geom g = ConvGeom(p, in[1].shape, in[0].shape);
  const int64_t N = in[1].shape[0], F = p.num_filter;
  cudaStream_t st = Stream(ctx);
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    ConvBackward<T>(st, g, N, F, p.num_group, in[0].ptr<T>(), in[1].ptr<T>(), in[2].ptr<T>(), req[0], out[0].ptr<T>(),
                    req[1], out[1].ptr<T>());
    if (!p.no_bias && req[2] != OpReq::kNull && F > 0) {
      BiasGradKernel<<<unsigned(F), kReduceThreads, 0, st>>>(N, F, g.OutSize(), in[0].ptr<T>(), out[2].ptr<T>(),
                                                             req[2] == OpReq::kAdd);
      AX_CUDA_LAUNCHED("Convolution bias gradient");
    }
  });
}

// ---- Pooling -----------------------------------------------------------------------------------
struct PoolGeom {
  Geom g;
  int type, p;
  bool include_pad;
};

PoolGeom MakePool(const PoolParam& prm, const TShape& data, const TShape& out) {
  PoolGeom pg;
  const int nd = data.ndim() - 2, o = 3 - nd;
  pg.g.C = data[0] * data[1];  // planes
  for (int i = 0; i < nd; ++i) {
    pg.g.in[o + i] = data[2 + i];
    pg.g.out[o + i] = out[2 + i];
    if (prm.global_pool) {
      pg.g.k[o + i] = std::max<int64_t>(data[2 + i], 1);
      continue;
    }
    pg.g.k[o + i] = prm.kernel[i];
    if (!prm.stride.empty()) pg.g.s[o + i] = prm.stride[i];
    if (!prm.pad.empty()) pg.g.p[o + i] = prm.pad[i];
  }
  pg.type = prm.pool_type;
  pg.p = prm.p_value ? static_cast<int>(*prm.p_value) : 1;
  pg.include_pad = prm.count_include_pad != 0;
  return pg;
}

// The window of output q along axis a: [b, e) in the input and its size counting padding.
__device__ inline void Win(const Geom& g, int a, int64_t q, int64_t* b, int64_t* e, int64_t* size_pad) {
  const int64_t s = q * g.s[a] - g.p[a];
  const int64_t ep = min(s + g.k[a], g.in[a] + g.p[a]);
  *size_pad = ep - s;
  *b = max(s, int64_t(0));
  *e = max(min(ep, g.in[a]), *b);
}

template <class T>
__device__ inline T PowP(T v, int p) { return p == 1 ? v : p == 2 ? v * v : v * v * v; }

// Calls f(input offset within the plane) over the window of output element i; returns the divisor.
template <class F>
__device__ inline int64_t ForWindow(const PoolGeom& pg, int64_t l, F f) {
  const Geom& g = pg.g;
  const int64_t q[3] = {l / (g.out[1] * g.out[2]), (l / g.out[2]) % g.out[1], l % g.out[2]};
  int64_t b[3], e[3], sp[3];
  for (int a = 0; a < 3; ++a) Win(g, a, q[a], &b[a], &e[a], &sp[a]);
  for (int64_t z = b[0]; z < e[0]; ++z)
    for (int64_t y = b[1]; y < e[1]; ++y)
      for (int64_t x = b[2]; x < e[2]; ++x) f((z * g.in[1] + y) * g.in[2] + x);
  return pg.include_pad ? sp[0] * sp[1] * sp[2] : (e[0] - b[0]) * (e[1] - b[1]) * (e[2] - b[2]);
}

template <class T>
__global__ void PoolKernel(PoolGeom pg, const T* x, T* y, bool add) {
  const int64_t L = pg.g.OutSize(), total = pg.g.C * L;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(blockDim.x) * gridDim.x) {
    const T* xp = x + (i / L) * pg.g.InSize();
    T m = -INFINITY, s = T(0);
    const int type = pg.type, p = pg.p;
    const int64_t div = ForWindow(pg, i % L, [&](int64_t o) {
      const T v = xp[o];
      if (type == pool::kMax) m = v > m ? v : m;
      else s += type == pool::kLp ? PowP(v, p) : v;
    });
    T r;
    if (type == pool::kMax) r = m;
    else if (type == pool::kAvg) r = div > 0 ? s / T(div) : T(0);
    else if (type == pool::kLp) r = p == 1 ? s : p == 2 ? sqrt(s) : cbrt(s);
    else r = s;
    y[i] = add ? y[i] + r : r;
  }
}

// Scatters each output's gradient into dx (zeroed first unless accumulating): max routes it to
// the first maximum of its window, as the CPU.
template <class T>
__global__ void PoolGradKernel(PoolGeom pg, const T* dy, const T* x, const T* y, T* dx) {
  const int64_t L = pg.g.OutSize(), total = pg.g.C * L;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(blockDim.x) * gridDim.x) {
    const int64_t plane = (i / L) * pg.g.InSize();
    const T* xp = x + plane;
    T* dp = dx + plane;
    const T g = dy[i], yo = y[i];
    const int type = pg.type, p = pg.p;
    if (type == pool::kMax) {
      bool found = false;
      ForWindow(pg, i % L, [&](int64_t o) {
        if (!found && xp[o] == yo) {
          atomicAdd(dp + o, g);
          found = true;
        }
      });
      continue;
    }
    int64_t div = ForWindow(pg, i % L, [](int64_t) {});
    const T scale = type == pool::kAvg ? (div > 0 ? g / T(div) : T(0)) : g;
    ForWindow(pg, i % L, [&](int64_t o) {
      const T v = xp[o];
      atomicAdd(dp + o, type == pool::kLp && p > 1 ? (p == 2 ? g * v / yo : g * v * v / (yo * yo)) : scale);
    });
  }
}

void PoolCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                 const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull || out[0].Size() == 0) return;
  const PoolGeom pg = MakePool(attrs.get<PoolParam>(), in[0].shape, out[0].shape);
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    PoolKernel<<<Blocks(out[0].Size()), kThreads, 0, Stream(ctx)>>>(pg, in[0].ptr<T>(), out[0].ptr<T>(),
                                                                    req[0] == OpReq::kAdd);
    AX_CUDA_LAUNCHED("Pooling");
  });
}

// (ograd, data, output) -> data grad
void PoolBackwardCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                         const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull) return;
  const PoolGeom pg = MakePool(attrs.get<PoolParam>(), in[1].shape, in[0].shape);
  cudaStream_t st = Stream(ctx);
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    if (req[0] != OpReq::kAdd) AX_CUDA_CHECK(cudaMemsetAsync(out[0].dptr, 0, sizeof(T) * out[0].Size(), st));
    if (in[0].Size() == 0) return;
    PoolGradKernel<<<Blocks(in[0].Size()), kThreads, 0, st>>>(pg, in[0].ptr<T>(), in[1].ptr<T>(), in[2].ptr<T>(),
                                                              out[0].ptr<T>());
    AX_CUDA_LAUNCHED("_backward_Pooling");
  });
}

void RegisterConvPoolKernels() {
  SetKernel("Convolution", AsFloat(ConvCompute));
  SetKernel("_backward_Convolution", AsFloat(ConvBackwardCompute));
  SetKernel("Pooling", AsFloat(PoolCompute));
  SetKernel("_backward_Pooling", AsFloat(PoolBackwardCompute));
}

}  // namespace cuda
}  // namespace axle
