// The im2col machinery shared by Convolution (conv_pool.cu) and Deconvolution / bilinear
// UpSampling (deconv.cu): the window geometry, im2col and col2im, the (N, F, L) <-> (F, N*L)
// reorderings around the GEMMs, the bias gradient and the chunking of a batch.
#pragma once
#include "cuda/cuda_common.cuh"

namespace axle {
namespace cuda {

// A window over 3 spatial axes (unused leading axes have size 1).
struct Geom {
  int64_t C = 0;
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1};
  int64_t k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1}, p[3] = {0, 0, 0};
  AX_HD int64_t InSize() const { return in[0] * in[1] * in[2]; }
  AX_HD int64_t OutSize() const { return out[0] * out[1] * out[2]; }
  AX_HD int64_t KSize() const { return k[0] * k[1] * k[2]; }
};

// col (C*K rows, ld columns; image j of the chunk at columns j*L ...) from x (nb images).
template <class T>
__global__ void Im2ColKernel(Geom g, int64_t nb, const T* x, T* col) {
  const int64_t L = g.OutSize(), K = g.KSize(), rows = g.C * K, ld = nb * L, total = rows * ld;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(blockDim.x) * gridDim.x) {
    const int64_t r = i / ld, j = i % ld, img = j / L, l = j % L;
    const int64_t c = r / K, kk = r % K;
    const int64_t ka = kk / (g.k[1] * g.k[2]), kb = (kk / g.k[2]) % g.k[1], kc = kk % g.k[2];
    const int64_t oa = l / (g.out[1] * g.out[2]), ob = (l / g.out[2]) % g.out[1], oc = l % g.out[2];
    const int64_t ia = oa * g.s[0] - g.p[0] + ka * g.d[0], ib = ob * g.s[1] - g.p[1] + kb * g.d[1],
                  ic = oc * g.s[2] - g.p[2] + kc * g.d[2];
    const bool inside = ia >= 0 && ia < g.in[0] && ib >= 0 && ib < g.in[1] && ic >= 0 && ic < g.in[2];
    col[i] = inside ? x[((img * g.C + c) * g.in[0] + ia) * g.in[1] * g.in[2] + ib * g.in[2] + ic] : T(0);
  }
}

// dx (nb images) (=|+=) the sum of the dcol entries that im2col took from each element (+ bias[c]
// when given: Deconvolution's output).
template <class T>
__global__ void Col2ImKernel(Geom g, int64_t nb, const T* dcol, T* dx, bool add, const T* bias = nullptr) {
  const int64_t L = g.OutSize(), K = g.KSize(), In = g.InSize(), ld = nb * L, total = nb * g.C * In;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(blockDim.x) * gridDim.x) {
    const int64_t img = i / (g.C * In), c = (i / In) % g.C, e = i % In;
    const int64_t ia = e / (g.in[1] * g.in[2]), ib = (e / g.in[2]) % g.in[1], ic = e % g.in[2];
    T acc = T(0);
    for (int64_t ka = 0; ka < g.k[0]; ++ka) {
      const int64_t ta = ia + g.p[0] - ka * g.d[0];
      if (ta < 0 || ta % g.s[0] || ta / g.s[0] >= g.out[0]) continue;
      for (int64_t kb = 0; kb < g.k[1]; ++kb) {
        const int64_t tb = ib + g.p[1] - kb * g.d[1];
        if (tb < 0 || tb % g.s[1] || tb / g.s[1] >= g.out[1]) continue;
        for (int64_t kc = 0; kc < g.k[2]; ++kc) {
          const int64_t tc = ic + g.p[2] - kc * g.d[2];
          if (tc < 0 || tc % g.s[2] || tc / g.s[2] >= g.out[2]) continue;
          const int64_t l = ((ta / g.s[0]) * g.out[1] + tb / g.s[1]) * g.out[2] + tc / g.s[2];
          const int64_t r = c * K + (ka * g.k[1] + kb) * g.k[2] + kc;
          acc += dcol[r * ld + img * L + l];
        }
      }
    }
    if (bias) acc += bias[c];
    dx[i] = add ? dx[i] + acc : acc;
  }
}

// y[n, f, l] (=|+=) tmp[f, (n - n0) * L + l] (+ bias[f]); or the reverse gather (dyt from dy).
template <class T>
__global__ void ScatterKernel(int64_t nb, int64_t F, int64_t L, const T* tmp, const T* bias, T* y, bool add) {
  const int64_t total = nb * F * L;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(blockDim.x) * gridDim.x) {
    const int64_t n = i / (F * L), f = (i / L) % F, l = i % L;
    T v = tmp[f * nb * L + n * L + l] + (bias ? bias[f] : T(0));
    y[i] = add ? y[i] + v : v;
  }
}
template <class T>
__global__ void GatherKernel(int64_t nb, int64_t F, int64_t L, const T* dy, T* dyt) {
  const int64_t total = nb * F * L;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(blockDim.x) * gridDim.x) {
    const int64_t n = i / (F * L), f = (i / L) % F, l = i % L;
    dyt[f * nb * L + n * L + l] = dy[i];
  }
}

// db[f] (=|+=) the sum of dy[n, f, :] over n: one block per filter.
template <class T>
__global__ void BiasGradKernel(int64_t N, int64_t F, int64_t L, const T* dy, T* db, bool add) {
  const int64_t f = blockIdx.x;
  T s = T(0);
  for (int64_t i = threadIdx.x; i < N * L; i += blockDim.x) s += dy[(i / L * F + f) * L + i % L];
  s = BlockReduce(s, SumOp());
  if (threadIdx.x == 0) db[f] = add ? db[f] + s : s;
}

// Images per chunk: the column matrices of a chunk stay under ~256 MB.
inline int64_t ChunkImages(int64_t per_image_elems, size_t item, int64_t N) {
  const int64_t budget = (int64_t(256) << 20) / static_cast<int64_t>(item);
  return std::max<int64_t>(1, std::min<int64_t>(N, budget / std::max<int64_t>(per_image_elems, 1)));
}

}  // namespace cuda
}  // namespace axle
