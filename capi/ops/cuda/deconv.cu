// CUDA kernels of Deconvolution (the adjoint of Convolution's data gradient: W^T x, then col2im;
// forward and backward, groups, 1-D to 3-D, target_shape) and UpSampling (nearest: per-input
// gathers; bilinear: a depthwise Deconvolution), mirroring conv_op.cc's CPU kernels.
#include "cuda/cuda_common.cuh"
#include "ops/conv_op.h"
#include "ops/cuda/conv_common.cuh"

namespace axle {
namespace cuda {
namespace {

// The conv-view geometry of a Deconvolution: the image is the output (F channels), the grid the
// data's spatial size; pad from target_shape as MXNet's InferPad (conv_op.cc's DeconvPadAdj).
Geom DeconvGeom(const ConvParam& prm, const TShape& data, const TShape& out) {
  Geom g;
  const int nd = static_cast<int>(prm.kernel.size()), o = 3 - nd;
  bool use_target = false;
  for (auto t : prm.target_shape) use_target |= t != 0;
  g.C = out[1];
  for (int i = 0; i < nd; ++i) {
    g.k[o + i] = prm.kernel[i];
    if (!prm.stride.empty()) g.s[o + i] = prm.stride[i];
    if (!prm.dilate.empty()) g.d[o + i] = prm.dilate[i];
    if (!prm.pad.empty()) g.p[o + i] = prm.pad[i];
    g.in[o + i] = out[2 + i];
    g.out[o + i] = data[2 + i];
    if (use_target && prm.target_shape[i] > 0) {
      const int64_t total = g.s[o + i] * (data[2 + i] - 1) + g.d[o + i] * (g.k[o + i] - 1) + 1 - prm.target_shape[i];
      g.p[o + i] = total >= 0 ? (total + 1) / 2 : 0;
    }
  }
  return g;
}

// y (N, F, img) = col2im(W^T x) (+ b); x (N, C, grid), w (C, F/G * K).
template <class T>
void DeconvForward(cudaStream_t st, const Geom& g, int64_t N, int64_t C, int64_t G, const T* x, const T* w, const T* b,
                   OpReq req, T* y) {
  if (req == OpReq::kNull || N == 0 || g.C * g.InSize() == 0) return;
  const int64_t F = g.C, Img = g.InSize(), Grid = g.OutSize(), rows = F * g.KSize(), FK = rows / G, Cg = C / G;
  const int64_t B = ChunkImages((rows + C) * Grid, sizeof(T), N);
  Scratch ws(sizeof(T) * static_cast<size_t>((rows + C) * Grid * B), st);
  for (int64_t n0 = 0; n0 < N; n0 += B) {
    const int64_t nb = std::min(B, N - n0), ld = nb * Grid;
    T* col = ws.at<T>(0);
    T* xt = ws.at<T>(static_cast<size_t>(rows * ld));
    if (ld > 0) {
      GatherKernel<<<Blocks(C * ld), kThreads, 0, st>>>(nb, C, Grid, x + n0 * C * Grid, xt);
      AX_CUDA_LAUNCHED("Deconvolution gather");
      for (int64_t k = 0; k < G; ++k)
        Gemm<T>(st, true, false, FK, ld, Cg, w + k * Cg * FK, FK, xt + k * Cg * ld, ld, col + k * FK * ld, ld, false);
    }
    Col2ImKernel<<<Blocks(nb * F * Img), kThreads, 0, st>>>(g, nb, col, y + n0 * F * Img, req == OpReq::kAdd, b);
    AX_CUDA_LAUNCHED("Deconvolution col2im");
  }
}

// dx (N, C, grid) and dw (C, F/G * K) from dy (N, F, img).
template <class T>
void DeconvBackward(cudaStream_t st, const Geom& g, int64_t N, int64_t C, int64_t G, const T* dy, const T* x,
                    const T* w, OpReq rdx, T* dx, OpReq rdw, T* dw) {
  const int64_t F = g.C, Img = g.InSize(), Grid = g.OutSize(), rows = F * g.KSize(), FK = rows / G, Cg = C / G;
  const bool do_dx = rdx != OpReq::kNull, do_dw = rdw != OpReq::kNull;
  if (do_dw && rdw != OpReq::kAdd && C * FK > 0) AX_CUDA_CHECK(cudaMemsetAsync(dw, 0, sizeof(T) * C * FK, st));
  if (N == 0 || Grid == 0 || (!do_dx && !do_dw)) return;
  const int64_t B = ChunkImages((rows + 2 * C) * Grid, sizeof(T), N);
  Scratch ws(sizeof(T) * static_cast<size_t>((rows + 2 * C) * Grid * B), st);
  for (int64_t n0 = 0; n0 < N; n0 += B) {
    const int64_t nb = std::min(B, N - n0), ld = nb * Grid;
    T* col = ws.at<T>(0);
    T* xt = ws.at<T>(static_cast<size_t>(rows * ld));
    T* dxt = ws.at<T>(static_cast<size_t>((rows + C) * ld));
    Im2ColKernel<<<Blocks(rows * ld), kThreads, 0, st>>>(g, nb, dy + n0 * F * Img, col);
    AX_CUDA_LAUNCHED("Deconvolution backward im2col");
    if (do_dx) {
      for (int64_t k = 0; k < G; ++k)
        Gemm<T>(st, false, false, Cg, ld, FK, w + k * Cg * FK, FK, col + k * FK * ld, ld, dxt + k * Cg * ld, ld, false);
      ScatterKernel<<<Blocks(C * ld), kThreads, 0, st>>>(nb, C, Grid, dxt, static_cast<const T*>(nullptr),
                                                         dx + n0 * C * Grid, rdx == OpReq::kAdd);
      AX_CUDA_LAUNCHED("Deconvolution backward scatter");
    }
    if (do_dw) {
      GatherKernel<<<Blocks(C * ld), kThreads, 0, st>>>(nb, C, Grid, x + n0 * C * Grid, xt);
      AX_CUDA_LAUNCHED("Deconvolution backward gather");
      for (int64_t k = 0; k < G; ++k)
        Gemm<T>(st, false, true, Cg, FK, ld, xt + k * Cg * ld, ld, col + k * FK * ld, ld, dw + k * Cg * FK, FK, true);
    }
  }
}

void DeconvCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                   const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<ConvParam>();
  const Geom g = DeconvGeom(p, in[0].shape, out[0].shape);
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    DeconvForward<T>(Stream(ctx), g, in[0].shape[0], in[0].shape[1], p.num_group, in[0].ptr<T>(), in[1].ptr<T>(),
                     p.no_bias ? nullptr : in[2].ptr<T>(), req[0], out[0].ptr<T>());
  });
}

// (ograd, data, weight) -> (data grad, weight grad[, bias grad])
void DeconvBackwardCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                           const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<ConvParam>();
  const Geom g = DeconvGeom(p, in[1].shape, in[0].shape);
  const int64_t N = in[1].shape[0], F = p.num_filter;
  cudaStream_t st = Stream(ctx);
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    DeconvBackward<T>(st, g, N, in[1].shape[1], p.num_group, in[0].ptr<T>(), in[1].ptr<T>(), in[2].ptr<T>(), req[0],
                      out[0].ptr<T>(), req[1], out[1].ptr<T>());
    if (!p.no_bias && req[2] != OpReq::kNull && F > 0) {
      BiasGradKernel<<<unsigned(F), kReduceThreads, 0, st>>>(N, F, g.InSize(), in[0].ptr<T>(), out[2].ptr<T>(),
                                                             req[2] == OpReq::kAdd);
      AX_CUDA_LAUNCHED("Deconvolution bias gradient");
    }
  });
}

// ---- UpSampling --------------------------------------------------------------------------------
// Nearest, one input: y[n, c0 + c, yy, xx] (=|+=) x[n, c, yy / sc, xx / sc].
template <class T>
__global__ void NearestKernel(int64_t N, int64_t C, int64_t H, int64_t W, int64_t sc, int64_t CO, int64_t c0,
                              const T* x, T* y, bool add) {
  const int64_t OH = H * sc, OW = W * sc, total = N * C * OH * OW;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(blockDim.x) * gridDim.x) {
    const int64_t xx = i % OW, yy = (i / OW) % OH, c = (i / (OW * OH)) % C, n = i / (OW * OH * C);
    const T v = x[((n * C + c) * H + yy / sc) * W + xx / sc];
    T& t = y[((n * CO + c0 + c) * OH + yy) * OW + xx];
    t = add ? t + v : v;
  }
}
// Its gradient: dx[n, c, h, w] (=|+=) the sum of dy[n, c0 + c] over the sc x sc block of (h, w).
template <class T>
__global__ void NearestGradKernel(int64_t N, int64_t C, int64_t H, int64_t W, int64_t sc, int64_t CO, int64_t c0,
                                  const T* dy, T* dx, bool add) {
  const int64_t OH = H * sc, OW = W * sc, total = N * C * H * W;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(blockDim.x) * gridDim.x) {
    const int64_t w = i % W, h = (i / W) % H, c = (i / (W * H)) % C, n = i / (W * H * C);
    const T* gp = dy + (n * CO + c0 + c) * OH * OW;
    T s = T(0);
    for (int64_t yy = h * sc; yy < (h + 1) * sc; ++yy)
      for (int64_t xx = w * sc; xx < (w + 1) * sc; ++xx) s += gp[yy * OW + xx];
    dx[i] = add ? dx[i] + s : s;
  }
}

// Bilinear upsampling's depthwise deconvolution (conv_op.cc's BilinearWindow / BilinearGeom).
Geom BilinearGeom(const UpParam& p, const TShape& data) {
  Geom g;
  g.C = data[1];
  for (int i = 1; i < 3; ++i) {
    g.k[i] = 2 * p.scale - p.scale % 2;
    g.s[i] = p.scale;
    g.p[i] = p.scale / 2;  // ceil((scale - 1) / 2)
    g.in[i] = data[1 + i] * p.scale;
    g.out[i] = data[1 + i];
  }
  return g;
}

void UpSamplingCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                       const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull) return;
  const auto& p = attrs.get<UpParam>();
  cudaStream_t st = Stream(ctx);
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    if (p.sample_type == kBilinear) {
      const int64_t C = in[0].shape[1];
      DeconvForward<T>(st, BilinearGeom(p, in[0].shape), in[0].shape[0], C, C, in[0].ptr<T>(), in[1].ptr<T>(),
                       static_cast<const T*>(nullptr), req[0], out[0].ptr<T>());
      return;
    }
    const TShape& o = out[0].shape;
    int64_t c0 = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      const TShape& s = in[i].shape;
      const bool add = req[0] == OpReq::kAdd || (p.multi_input_mode == kSum && i > 0);
      const int64_t n = s[0] * s[1] * o[2] * o[3];
      if (n > 0) {
        NearestKernel<<<Blocks(n), kThreads, 0, st>>>(s[0], s[1], s[2], s[3], o[2] / s[2], o[1], c0, in[i].ptr<T>(),
                                                      out[0].ptr<T>(), add);
        AX_CUDA_LAUNCHED("UpSampling");
      }
      if (p.multi_input_mode == kConcat) c0 += s[1];
    }
  });
}

// (ograd, the forward inputs...) -> one gradient per forward input
void UpSamplingBackwardCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                               const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<UpParam>();
  cudaStream_t st = Stream(ctx);
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    if (p.sample_type == kBilinear) {
      const int64_t C = in[1].shape[1];
      DeconvBackward<T>(st, BilinearGeom(p, in[1].shape), in[1].shape[0], C, C, in[0].ptr<T>(), in[1].ptr<T>(),
                        in[2].ptr<T>(), req[0], out[0].ptr<T>(), req[1], out[1].ptr<T>());
      return;
    }
    const TShape& o = in[0].shape;
    int64_t c0 = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      const TShape& s = out[i].shape;
      const int64_t n = out[i].Size();
      if (req[i] != OpReq::kNull && n > 0) {
        NearestGradKernel<<<Blocks(n), kThreads, 0, st>>>(s[0], s[1], s[2], s[3], o[2] / s[2], o[1], c0,
                                                          in[0].ptr<T>(), out[i].ptr<T>(), req[i] == OpReq::kAdd);
        AX_CUDA_LAUNCHED("_backward_UpSampling");
      }
      if (p.multi_input_mode == kConcat) c0 += s[1];
    }
  });
}

}  // namespace

void RegisterDeconvKernels() {
  SetKernel("Deconvolution", AsFloat(DeconvCompute));
  SetKernel("_backward_Deconvolution", AsFloat(DeconvBackwardCompute));
  SetKernel("UpSampling", AsFloat(UpSamplingCompute));
  SetKernel("_backward_UpSampling", AsFloat(UpSamplingBackwardCompute));
}

}  // namespace cuda
}  // namespace axle
