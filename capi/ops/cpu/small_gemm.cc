// Small float32 matrix products without OpenBLAS's fixed costs (see gemm.h, SmallSgemm).
//
// For a product like FullyConnected's 128x10x128 OpenBLAS spends about half its time outside the
// arithmetic: taking a buffer, packing both operands, running 16-column kernels over 10 columns.
// These kernels read the operands where they lie. Two shapes of loop, both AVX2 + FMA (chosen at
// run time; without them the caller uses OpenBLAS):
// - B as K x N: rows of C are built 16 columns at a time as sums over k of
//   A(i,k) * B[k, j:j+16] (A(i,k) broadcast, 6 rows x 16 columns of C in 12 registers);
// - B as N x K (ta = false): each C(i,j) is a dot product of two rows that are
//   contiguous in k (4 rows of A x 3 rows of B in 12 registers of 8 partial sums each).
// SmallSgemm picks a form, or OpenBLAS, by estimating their cycles; an operand stored the other way
// round is copied first. Ragged edges use masked loads and stores, so no element outside the operands is
// read or written.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/base.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/vec_math.h"

namespace axle {

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AX_SGEMM_FAST __attribute__((target("avx2,fma")))
#define AX_SGEMM_INLINE __attribute__((target("avx2,fma"), always_inline)) inline

namespace {

// Lanes [0, n) on (n clamped to [0, 8]).
AX_SGEMM_INLINE __m256i LaneMask(int64_t n) {
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const int32_t c = static_cast<int32_t>(n < 0 ? 0 : (n > 8 ? 8 : n));
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), iota);
}

// ---- tb = false: C[i, j0:j0+w] (+)= sum_k A(i,k) B[k, j0:j0+w], w <= 16 -------------------------
// A(i,k) = A[i * ars + k * aks]. FULL: w == 16 (plain loads and stores).
template <int MR, bool FULL>
AX_SGEMM_INLINE void RowsKernel(int64_t K, const float* A, int64_t ars, int64_t aks, const float* B, int64_t ldb,
                                float* C, int64_t ldc, const float* bias, __m256i m0, __m256i m1, bool acc) {
  __m256 c0[MR], c1[MR];
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm256_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    const float* b = B + k * ldb;
    const __m256 b0 = FULL ? _mm256_loadu_ps(b) : _mm256_maskload_ps(b, m0);
    const __m256 b1 = FULL ? _mm256_loadu_ps(b + 8) : _mm256_maskload_ps(b + 8, m1);
    const float* a = A + k * aks;
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r * ars);
      c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
    }
  }
  if (bias) {
    const __m256 v0 = FULL ? _mm256_loadu_ps(bias) : _mm256_maskload_ps(bias, m0);
    const __m256 v1 = FULL ? _mm256_loadu_ps(bias + 8) : _mm256_maskload_ps(bias + 8, m1);
    for (int r = 0; r < MR; ++r) {
      c0[r] = _mm256_add_ps(c0[r], v0);
      c1[r] = _mm256_add_ps(c1[r], v1);
    }
  }
  for (int r = 0; r < MR; ++r) {
    float* c = C + r * ldc;
    if (FULL) {
      if (acc) {
        c0[r] = _mm256_add_ps(c0[r], _mm256_loadu_ps(c));
        c1[r] = _mm256_add_ps(c1[r], _mm256_loadu_ps(c + 8));
      }
      _mm256_storeu_ps(c, c0[r]);
      _mm256_storeu_ps(c + 8, c1[r]);
    } else {
      if (acc) {
        c0[r] = _mm256_add_ps(c0[r], _mm256_maskload_ps(c, m0));
        c1[r] = _mm256_add_ps(c1[r], _mm256_maskload_ps(c + 8, m1));
      }
      _mm256_maskstore_ps(c, m0, c0[r]);
      _mm256_maskstore_ps(c + 8, m1, c1[r]);
    }
  }
}

template <bool FULL>
AX_SGEMM_INLINE void RowsPanel(int64_t M, int64_t K, const float* A, int64_t ars, int64_t aks, const float* B,
                               int64_t ldb, float* C, int64_t ldc, const float* bias, __m256i m0, __m256i m1,
                               bool acc) {
  constexpr int MR = 6;
  int64_t i = 0;
  for (; i + MR <= M; i += MR)
    RowsKernel<MR, FULL>(K, A + i * ars, ars, aks, B, ldb, C + i * ldc, ldc, bias, m0, m1, acc);
  const float* a = A + i * ars;
  float* c = C + i * ldc;
  switch (M - i) {
    case 5: RowsKernel<5, FULL>(K, a, ars, aks, B, ldb, c, ldc, bias, m0, m1, acc); break;
    case 4: RowsKernel<4, FULL>(K, a, ars, aks, B, ldb, c, ldc, bias, m0, m1, acc); break;
    case 3: RowsKernel<3, FULL>(K, a, ars, aks, B, ldb, c, ldc, bias, m0, m1, acc); break;
    case 2: RowsKernel<2, FULL>(K, a, ars, aks, B, ldb, c, ldc, bias, m0, m1, acc); break;
    case 1: RowsKernel<1, FULL>(K, a, ars, aks, B, ldb, c, ldc, bias, m0, m1, acc); break;
    default: break;
  }
}

AX_SGEMM_FAST void RowsGemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t ars, int64_t aks,
                            const float* B, int64_t ldb, float* C, int64_t ldc, const float* bias, bool acc) {
  const __m256i all = _mm256_set1_epi32(-1);
  int64_t j = 0;
  for (; j + 16 <= N; j += 16)
    RowsPanel<true>(M, K, A, ars, aks, B + j, ldb, C + j, ldc, bias ? bias + j : nullptr, all, all, acc);
  if (j < N)
    RowsPanel<false>(M, K, A, ars, aks, B + j, ldb, C + j, ldc, bias ? bias + j : nullptr, LaneMask(N - j),
                     LaneMask(N - j - 8), acc);
}

// ---- tb = true, ta = false: C(i,j) (+)= A[i, :] . B[j, :] ------------------------------------------
// The sum of each register's 8 lanes, for four registers at once: {sum a, sum b, sum c, sum d}.
AX_SGEMM_INLINE __m128 Sum4(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
  return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

// C[0:MR, 0:NR] for MR <= 4 rows of A and NR <= 3 rows of B (12 running sums, enough to hide the
// latency of the multiply-adds); K = 8 * kv + (masked) rest.
template <int MR, int NR>
AX_SGEMM_INLINE void DotKernel(int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                               int64_t ldc, const float* bias, __m256i mk, bool acc) {
  __m256 s[NR][4];
  for (int q = 0; q < NR; ++q)
    for (int r = 0; r < 4; ++r) s[q][r] = _mm256_setzero_ps();
  const int64_t kv = K & ~int64_t(7);
  for (int64_t k = 0; k < kv; k += 8) {
    __m256 a[MR];
    for (int r = 0; r < MR; ++r) a[r] = _mm256_loadu_ps(A + r * lda + k);
    for (int q = 0; q < NR; ++q) {
      const __m256 b = _mm256_loadu_ps(B + q * ldb + k);
      for (int r = 0; r < MR; ++r) s[q][r] = _mm256_fmadd_ps(a[r], b, s[q][r]);
    }
  }
  if (kv < K) {
    __m256 a[MR];
    for (int r = 0; r < MR; ++r) a[r] = _mm256_maskload_ps(A + r * lda + kv, mk);
    for (int q = 0; q < NR; ++q) {
      const __m256 b = _mm256_maskload_ps(B + q * ldb + kv, mk);
      for (int r = 0; r < MR; ++r) s[q][r] = _mm256_fmadd_ps(a[r], b, s[q][r]);
    }
  }
  // lanes of t: C(0,q), C(1,q), C(2,q), C(3,q) (rows >= MR hold zeros and are not stored)
  for (int q = 0; q < NR; ++q) {
    alignas(16) float t[4];
    _mm_store_ps(t, Sum4(s[q][0], s[q][1], s[q][2], s[q][3]));
    const float v = bias ? bias[q] : 0.0f;
    for (int r = 0; r < MR; ++r) {
      float* c = C + r * ldc + q;
      *c = acc ? *c + (t[r] + v) : t[r] + v;
    }
  }
}

// Columns in blocks of 3, the last four (or fewer) as 2 + 2 (or 3, 2, 1): no block of one column
// (a third of the sums in flight) unless N is 1.
template <int MR>
AX_SGEMM_INLINE void DotRows(int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                             int64_t ldc, const float* bias, __m256i mk, bool acc) {
  int64_t j = 0;
  auto bj = [bias](int64_t j) { return bias ? bias + j : nullptr; };
  for (; N - j > 4; j += 3) DotKernel<MR, 3>(K, A, lda, B + j * ldb, ldb, C + j, ldc, bj(j), mk, acc);
  switch (N - j) {
    case 4:
      DotKernel<MR, 2>(K, A, lda, B + j * ldb, ldb, C + j, ldc, bj(j), mk, acc);
      DotKernel<MR, 2>(K, A, lda, B + (j + 2) * ldb, ldb, C + j + 2, ldc, bj(j + 2), mk, acc);
      break;
    case 3: DotKernel<MR, 3>(K, A, lda, B + j * ldb, ldb, C + j, ldc, bj(j), mk, acc); break;
    case 2: DotKernel<MR, 2>(K, A, lda, B + j * ldb, ldb, C + j, ldc, bj(j), mk, acc); break;
    case 1: DotKernel<MR, 1>(K, A, lda, B + j * ldb, ldb, C + j, ldc, bj(j), mk, acc); break;
    default: break;
  }
}

AX_SGEMM_FAST void DotGemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
                           float* C, int64_t ldc, const float* bias, bool acc) {
  const __m256i mk = LaneMask(K & 7);
  int64_t i = 0;
  for (; i + 4 <= M; i += 4) DotRows<4>(N, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, bias, mk, acc);
  const float* a = A + i * lda;
  float* c = C + i * ldc;
  switch (M - i) {
    case 3: DotRows<3>(N, K, a, lda, B, ldb, c, ldc, bias, mk, acc); break;
    case 2: DotRows<2>(N, K, a, lda, B, ldb, c, ldc, bias, mk, acc); break;
    case 1: DotRows<1>(N, K, a, lda, B, ldb, c, ldc, bias, mk, acc); break;
    default: break;
  }
}

int SmallGemmMode() {
  // AXLE_SMALL_GEMM=0 sends every product to OpenBLAS (for comparisons); the default uses the
  // kernels here for the sizes where they are faster.
  static const int mode = EnvInt("AXLE_SMALL_GEMM", 1, 0);
  return mode;
}

}  // namespace

bool SmallSgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                int64_t ldb, float* C, int64_t ldc, bool accumulate, const float* bias) {
  if (M <= 0 || N <= 0 || K <= 0 || !SmallGemmMode() || !vmath::HasAvx2Fma()) return false;
  if (M * N * K > kSmallGemmMaxWork) return false;  // the one check of the size (callers need none)
  // Which loop, or OpenBLAS: estimated cycles, fitted on this project's 2-core AMD EPYC (Zen, AVX2)
  // over products from 8^3 to 2^21 multiply-adds. The row form: per row of C and 16-column
  // panel, K steps of two multiply-adds plus ~4 to start and store; the dot form: per C(i,j), half a
  // cycle per 8 of K plus ~2.5 for the sums across lanes; copying an operand stored the other way
  // round, ~1 per element. OpenBLAS: its multiply-adds at ~1.2x their ideal, ~600 fixed, a quarter
  // cycle per element it packs and half a cycle per element of C. Ours is taken only when its
  // estimate is clearly lower (by 17%).
  const int64_t copy_b = K * N;
  // (with ta, each block of 6 rows reads A one short piece per k: ~6 more per line touched)
  const int64_t rows_cost = M * ((N + 15) / 16) * (K + 4) + (tb ? copy_b : 0) + (ta ? (M / 6 + 1) * K * 6 : 0);
  const int64_t dot_cost = ta ? INT64_MAX : M * N * ((K + 7) / 8 + 5) / 2 + (tb ? 0 : copy_b);
  const int64_t blas_cost = M * N * K * 12 / 160 + 600 + (M * K + K * N) / 4 + M * N / 2;
  const bool dot = dot_cost < rows_cost;
  if (std::min(dot_cost, rows_cost) * 100 > blas_cost * 83) return false;
  const bool pack = dot != tb;  // the dot form wants B as N x K, the row form as K x N
  if (pack && K * N > kSmallGemmMaxPack) return false;
  if (!dot && K > 512) return false;  // the row form reads a K x 16 panel of B per 6 rows: keep it in L1
  static thread_local std::vector<float> packed;
  if (pack) {  // in strips of 8 rows of the source, so that reads and writes stay within a few lines
    packed.resize(static_cast<size_t>(K * N));
    float* p = packed.data();
    const int64_t rows = tb ? N : K, cols = tb ? K : N;  // B as stored: rows x cols, copied as cols x rows
    for (int64_t r0 = 0; r0 < rows; r0 += 8) {
      const int64_t r1 = std::min(rows, r0 + 8);
      for (int64_t c = 0; c < cols; ++c)
        for (int64_t r = r0; r < r1; ++r) p[c * rows + r] = B[r * ldb + c];
    }
    B = p, ldb = rows;
  }
  if (dot) DotGemm(M, N, K, A, lda, B, ldb, C, ldc, bias, accumulate);
  else RowsGemm(M, N, K, A, ta ? 1 : lda, ta ? lda : 1, B, ldb, C, ldc, bias, accumulate);
  return true;
}

#else  // not x86-64 with GCC/Clang: OpenBLAS does every product

bool SmallSgemm(bool, bool, int64_t, int64_t, int64_t, const float*, int64_t, const float*, int64_t, float*, int64_t,
                bool, const float*) {
  return false;
}

#endif

}  // namespace axle
