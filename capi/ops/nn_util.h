// Helpers shared by the neural-network ops (conv_op.cc, pooling_op.cc, norm_op.cc): floating
// dtype checks, float16 through float32, BLAS GEMM, batch parallelism, im2col/col2im.
#pragma once
#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <vector>

#include "ops/cpu/kernel.h"

namespace axle {
namespace nn {

inline bool IsFloatType(int t) { return t == AX_FLOAT32 || t == AX_FLOAT64 || t == AX_FLOAT16; }

// All inputs and outputs share one floating dtype (MXNet's real-type ops).
inline void SameFloatType(const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  SameType(attrs, in, out);
  int t = out->empty() ? (in->empty() ? -1 : (*in)[0]) : (*out)[0];
  AX_CHECK(t < 0 || IsFloatType(t), AX_ERR_TYPE, attrs.Who(), ": dtype ", DTypeName(t),
           " is not supported (float32, float64 or float16)");
}

// Runs f on float32 copies of the float16 blobs (others pass through): f sees float/double
// only. Outputs are copied back (f has already honoured req, including kAdd).
inline void RunAsFloat(const std::vector<TBlob>& in, const std::vector<OpReq>& req, const std::vector<TBlob>& out,
                       const std::function<void(const std::vector<TBlob>&, const std::vector<TBlob>&)>& f) {
  bool any = false;
  for (auto& b : in) any |= b.dtype == AX_FLOAT16;
  for (auto& b : out) any |= b.dtype == AX_FLOAT16;
  if (!any) return f(in, out);
  std::vector<std::vector<float>> bi(in.size()), bo(out.size());
  std::vector<TBlob> fi = in, fo = out;
  auto to_float = [](const TBlob& b, std::vector<float>* v) {
    const int64_t n = b.Size();
    v->resize(static_cast<size_t>(n));
    const half_t* p = b.ptr<half_t>();
    for (int64_t i = 0; i < n; ++i) (*v)[i] = static_cast<float>(p[i]);
  };
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i].dtype != AX_FLOAT16) continue;
    to_float(in[i], &bi[i]);
    fi[i].dptr = bi[i].data();
    fi[i].dtype = AX_FLOAT32;
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].dtype != AX_FLOAT16) continue;
    if (req[i] == OpReq::kAdd) to_float(out[i], &bo[i]);
    else bo[i].assign(static_cast<size_t>(out[i].Size()), 0.f);
    fo[i].dptr = bo[i].data();
    fo[i].dtype = AX_FLOAT32;
  }
  f(fi, fo);
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].dtype != AX_FLOAT16 || req[i] == OpReq::kNull) continue;
    half_t* p = out[i].ptr<half_t>();
    for (size_t j = 0; j < bo[i].size(); ++j) p[j] = half_t(bo[i][j]);
  }
}

// Dispatches float/double (float16 is converted by RunAsFloat before).
#define AX_REAL_SWITCH(dtype, DType, ...)                                        \
  switch (dtype) {                                                               \
    case AX_FLOAT32: { using DType = float; __VA_ARGS__; } break;                \
    case AX_FLOAT64: { using DType = double; __VA_ARGS__; } break;               \
    default: ::axle::Throw(AX_ERR_TYPE, "unsupported dtype code ", dtype);       \
  }

// Row-major C = alpha * op(A) * op(B) + beta * C.
// K == 0 (no channels): C = beta * C (OpenBLAS rejects the zero leading dimensions).
template <class T>
inline bool GemmEmpty(int64_t M, int64_t N, int64_t K, T beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return true;
  if (K != 0) return false;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : C[i * ldc + j] * beta;
  return true;
}
inline void Gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (GemmEmpty(M, N, K, beta, C, ldc)) return;
  scipy_cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(M),
                    static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb),
                    beta, C, static_cast<int>(ldc));
}
inline void Gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
                 const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  if (GemmEmpty(M, N, K, beta, C, ldc)) return;
  scipy_cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(M),
                    static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb),
                    beta, C, static_cast<int>(ldc));
}

// Gemm whose columns are split across Axle's threads when `parallel` and OpenBLAS is
// single-threaded (else OpenBLAS threads it, or the caller is already one of several threads).
template <class T>
void ParGemm(bool parallel, bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
             const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (!parallel || NumThreads() < 2 || M * N * K < (int64_t(1) << 20) || scipy_openblas_get_num_threads() != 1)
    return Gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  const int64_t step = ((N + NumThreads() - 1) / NumThreads() + 15) / 16 * 16;
  ParallelFor((N + step - 1) / step, 1, [&](int64_t b, int64_t e) {
    const int64_t c0 = b * step, c1 = std::min(N, e * step);
    Gemm(ta, tb, M, c1 - c0, K, alpha, A, lda, tb ? B + c0 * ldb : B + c0, ldb, beta, C + c0, ldc);
  });
}

// fn(begin, end) over [0, n) images: split across threads when `parallel`, else in one call.
inline void MaybeParallel(bool parallel, int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (parallel) ParallelFor(n, 1, fn);
  else if (n > 0) fn(0, n);
}

// Runs fn(first chunk, end chunk, inner) over the n_chunks GEMM batches of an op. OpenBLAS
// threads a GEMM itself unless it is single-threaded (OPENBLAS_NUM_THREADS=1 or
// scipy_openblas_set_num_threads(1)); then the batches run in parallel on Axle's threads, each
// with its own scratch (inner = false). Otherwise the batches run in turn, their GEMMs threaded by
// OpenBLAS and their other loops by Axle (inner = true).
inline void ForChunks(int64_t n_chunks, const std::function<void(int64_t, int64_t, bool)>& fn) {
  if (n_chunks <= 0) return;
  if (n_chunks >= 2 && NumThreads() > 1 && scipy_openblas_get_num_threads() == 1) {
    ParallelFor(n_chunks, 1, [&](int64_t b, int64_t e) { fn(b, e, false); });
  } else {
    fn(0, n_chunks, true);
  }
}

// Spatial geometry of a convolution window, padded to 3 dims (depth, height, width); 1-D and
// 2-D use leading dims of 1.
struct Window {
  int nd = 0;  // spatial dims given (1..3)
  int64_t k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1}, p[3] = {0, 0, 0};
  int64_t DilatedK(int i) const { return (k[i] - 1) * d[i] + 1; }
  int64_t KSize() const { return k[0] * k[1] * k[2]; }
};

// An image of C channels of spatial size in[3], and the output grid out[3] of the window.
struct ColGeom {
  Window w;
  int64_t C = 0;
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1};
  int64_t InSize() const { return in[0] * in[1] * in[2]; }
  int64_t OutSize() const { return out[0] * out[1] * out[2]; }
  int64_t ColRows() const { return C * w.KSize(); }
  // A 1x1x1 window with unit stride and no padding: the column matrix is the image itself.
  bool Identity() const {
    for (int i = 0; i < 3; ++i)
      if (w.k[i] != 1 || w.s[i] != 1 || w.p[i] != 0 || in[i] != out[i]) return false;
    return true;
  }
};

// Walks the column matrix (C*K rows of OutSize entries, rows ld apart): for each row segment of
// one output row,
// f(col_row_ptr, img_row_ptr or nullptr, x0, x1, stride_w): entries [x0, x1) map to
// img_row[x * stride_w]; the rest are padding.
template <class T, class Img, class F>
inline void ColWalk(const ColGeom& g, Img* img, T* col, int64_t ld, F f) {
  const Window& w = g.w;
  const int64_t ow = g.out[2];
  for (int64_t c = 0; c < g.C; ++c) {
    for (int64_t a = 0; a < w.k[0]; ++a) {
      for (int64_t b = 0; b < w.k[1]; ++b) {
        for (int64_t e = 0; e < w.k[2]; ++e) {
          T* row = col + (((c * w.k[0] + a) * w.k[1] + b) * w.k[2] + e) * ld;
          const int64_t off_w = e * w.d[2] - w.p[2];
          // valid x: 0 <= x * s + off_w < in_w
          int64_t x0 = off_w >= 0 ? 0 : (-off_w + w.s[2] - 1) / w.s[2];
          int64_t x1 = g.in[2] - off_w <= 0 ? 0 : (g.in[2] - off_w + w.s[2] - 1) / w.s[2];
          x1 = std::min(x1, ow);
          x0 = std::min(x0, x1);
          for (int64_t z = 0; z < g.out[0]; ++z) {
            const int64_t zi = z * w.s[0] - w.p[0] + a * w.d[0];
            for (int64_t y = 0; y < g.out[1]; ++y) {
              const int64_t yi = y * w.s[1] - w.p[1] + b * w.d[1];
              T* r = row + (z * g.out[1] + y) * ow;
              if (zi < 0 || zi >= g.in[0] || yi < 0 || yi >= g.in[1]) {
                f(r, static_cast<Img*>(nullptr), int64_t(0), int64_t(0), w.s[2]);
              } else {
                f(r, img + ((c * g.in[0] + zi) * g.in[1] + yi) * g.in[2] + off_w, x0, x1, w.s[2]);
              }
            }
          }
        }
      }
    }
  }
}

// Short row copies/fills as inline code: the rows of im2col are often a few elements long, where
// a memcpy/memset call costs more than the copy. (Written four statements per iteration so GCC
// does not turn the loops back into library calls.)
template <class T>
inline void CopyRow(T* dst, const T* src, int64_t n) {
  if (n >= 32) {
    std::memcpy(dst, src, sizeof(T) * n);
    return;
  }
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const T a = src[i], b = src[i + 1], c = src[i + 2], d = src[i + 3];
    dst[i] = a;
    dst[i + 1] = b;
    dst[i + 2] = c;
    dst[i + 3] = d;
  }
  switch (n - i) {
    case 3: dst[i + 2] = src[i + 2]; [[fallthrough]];
    case 2: dst[i + 1] = src[i + 1]; [[fallthrough]];
    case 1: dst[i] = src[i]; [[fallthrough]];
    default: break;
  }
}
template <class T>
inline void ZeroRow(T* dst, int64_t n) {
  if (n >= 32) {
    std::memset(static_cast<void*>(dst), 0, sizeof(T) * n);
    return;
  }
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    dst[i] = T(0);
    dst[i + 1] = T(0);
    dst[i + 2] = T(0);
    dst[i + 3] = T(0);
  }
  switch (n - i) {
    case 3: dst[i + 2] = T(0); [[fallthrough]];
    case 2: dst[i + 1] = T(0); [[fallthrough]];
    case 1: dst[i] = T(0); [[fallthrough]];
    default: break;
  }
}

// Windows of unit width stride without padding (1-D and 2-D; LeNet's, most CNNs' first layers):
// every window lies inside the image, and each column row is out[1] runs of out[2] contiguous
// inputs. For those, f(col_run, img_run, n) per run: plain loops that vectorise, instead of
// ColWalk's per-row bookkeeping. False (nothing done) for other windows.
template <class T, class Img, class F>
inline bool DirectWalk(const ColGeom& g, Img* img, T* col, int64_t ld, F f) {
  const Window& w = g.w;
  if (!(w.k[0] == 1 && g.out[0] == 1 && g.in[0] == 1 && w.s[2] == 1 && w.p[1] == 0 && w.p[2] == 0)) return false;
  const int64_t H = g.in[1], W = g.in[2], oh = g.out[1], ow = g.out[2];
  const int64_t step = w.s[1] * W;
  T* row = col;
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t a = 0; a < w.k[1]; ++a)
      for (int64_t b = 0; b < w.k[2]; ++b, row += ld) {
        Img* src = img + (c * H + a * w.d[1]) * W + b * w.d[2];
        T* r = row;
        for (int64_t y = 0; y < oh; ++y, src += step, r += ow) f(r, src, ow);
      }
  return true;
}

// col (C*K rows, OutSize columns, rows ld apart) = the windows of img (C, in...).
template <class T>
void Im2Col(const ColGeom& g, const T* img, T* col, int64_t ld) {
  if (DirectWalk(g, img, col, ld, [](T* r, const T* src, int64_t n) {
        for (int64_t x = 0; x < n; ++x) r[x] = src[x];
      }))
    return;
  const int64_t ow = g.out[2];
  ColWalk(g, img, col, ld, [ow](T* r, const T* src, int64_t x0, int64_t x1, int64_t sw) {
    ZeroRow(r, x0);
    if (sw == 1) {
      CopyRow(r + x0, src + x0, x1 - x0);
    } else {
      for (int64_t x = x0; x < x1; ++x) r[x] = src[x * sw];
    }
    ZeroRow(r + std::max(x1, x0), ow - std::max(x1, x0));
  });
}

// img (C, in...) += the windows of col scattered back (the adjoint of Im2Col).
template <class T>
void Col2Im(const ColGeom& g, const T* col, int64_t ld, T* img) {
  if (DirectWalk(g, img, const_cast<T*>(col), ld, [](T* r, T* dst, int64_t n) {
        for (int64_t x = 0; x < n; ++x) dst[x] += r[x];
      }))
    return;
  ColWalk(g, img, const_cast<T*>(col), ld, [](T* r, T* dst, int64_t x0, int64_t x1, int64_t sw) {
    if (sw == 1) {
      for (int64_t x = x0; x < x1; ++x) dst[x] += r[x];
    } else {
      for (int64_t x = x0; x < x1; ++x) dst[x * sw] += r[x];
    }
  });
}

// xt (C, B*L) = x (B, C, L) with the batch moved inside each channel row.
template <class T>
void Gather(const T* x, int64_t B, int64_t C, int64_t L, T* xt, bool parallel) {
  MaybeParallel(parallel, B, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j)
      for (int64_t c = 0; c < C; ++c) std::memcpy(xt + (c * B + j) * L, x + (j * C + c) * L, sizeof(T) * L);
  });
}

// y (B, C, L) (=|+=) t (C, B*L) + bias[c] (bias may be null).
template <class T>
void Scatter(const T* t, int64_t B, int64_t C, int64_t L, const T* bias, OpReq req, T* y, bool parallel) {
  if (req == OpReq::kNull) return;
  MaybeParallel(parallel, B, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j)
      for (int64_t c = 0; c < C; ++c) {
        const T* src = t + (c * B + j) * L;
        T* dst = y + (j * C + c) * L;
        const T bc = bias ? bias[c] : T(0);
        if (req == OpReq::kAdd) {
          for (int64_t i = 0; i < L; ++i) dst[i] += src[i] + bc;
        } else {
          for (int64_t i = 0; i < L; ++i) dst[i] = src[i] + bc;
        }
      }
  });
}

}  // namespace nn
}  // namespace axle
