// Matrix products for the CPU kernels (dot, batch_dot, FullyConnected): float32/float64 go to
// OpenBLAS (scipy-openblas32, prefixed symbols); other dtypes use plain loops that accumulate in
// float (float16) or int64 (integers).
#pragma once
#include <cblas.h>

#include <climits>
#include <type_traits>
#include <vector>

#include "common/parallel.h"
#include "ops/cpu/kernel.h"

namespace axle {

// Runs the body with DType bound to float16, float32 or float64; other dtypes are type errors.
#define AX_FLOAT_TYPE_SWITCH(dtype, DType, who, ...)                                              \
  switch (dtype) {                                                                               \
    case AX_FLOAT32: { using DType = float; __VA_ARGS__; } break;                                \
    case AX_FLOAT64: { using DType = double; __VA_ARGS__; } break;                               \
    case AX_FLOAT16: { using DType = ::axle::half_t; __VA_ARGS__; } break;                       \
    default: ::axle::Throw(AX_ERR_TYPE, who, ": only floating point types are supported, got ", \
                           ::axle::DTypeName(dtype));                                            \
  }

inline bool IsFloatType(int t) { return t == AX_FLOAT32 || t == AX_FLOAT64 || t == AX_FLOAT16; }

// A type error unless t is unknown (-1) or a floating point type.
inline void CheckFloatType(const NodeAttrs& attrs, int t, const char* what) {
  if (t >= 0 && !IsFloatType(t))
    Throw(AX_ERR_TYPE, attrs.Who(), ": ", what, " must be float16, float32 or float64, got ", DTypeName(t));
}

// The accumulator of a product: float for float16, int64 for integers, else itself.
template <class T>
using GemmAcc = std::conditional_t<std::is_same_v<T, half_t>, float,
                                   std::conditional_t<std::is_integral_v<T>, int64_t, T>>;

// How many of Axle's threads one matrix product splits over (1: let OpenBLAS thread it, when
// AXLE_BLAS_THREADS asks for its own threads). The first call sets OpenBLAS's thread count.
int BlasSplitThreads();

// Products of at least this many multiply-adds (M * N * K) are split over Axle's threads.
constexpr int64_t kGemmSplitWork = int64_t(1) << 20;
// Products up to this many multiply-adds may go to SmallSgemm instead of OpenBLAS: all those that
// run on one thread.
constexpr int64_t kSmallGemmMaxWork = kGemmSplitWork - 1;
// ... and copy at most this many elements of an operand stored the other way round.
constexpr int64_t kSmallGemmMaxPack = int64_t(1) << 16;

// C[M x N] (= or +=) op(A) * op(B) (+ bias[j] in every row when bias is given) in float32 by
// Axle's own AVX2 kernels (small_gemm.cc), which skip OpenBLAS's packing and buffers: faster for
// many products up to kSmallGemmMaxWork. Returns false, having done nothing, when it does not take
// the product (too large, no AVX2/FMA, AXLE_SMALL_GEMM=0, or OpenBLAS estimated as fast); the
// caller then uses OpenBLAS.
bool SmallSgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                int64_t ldb, float* C, int64_t ldc, bool accumulate, const float* bias = nullptr);

// C[M x N] (= or +=) op(A) * op(B), row-major. op(A) is M x K (A stored K x M when ta),
// op(B) is K x N (B stored N x K when tb); lda/ldb/ldc are the stored row lengths.
template <class DType>
void Gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const DType* A, int64_t lda, const DType* B,
          int64_t ldb, DType* C, int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {  // an empty sum (BLAS rejects lda = 0)
    if (!accumulate)
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = DType(0);
    return;
  }
  if constexpr (std::is_same_v<DType, float> || std::is_same_v<DType, double>) {
    AX_CHECK(M <= INT_MAX && N <= INT_MAX && K <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX && ldc <= INT_MAX,
             AX_ERR_NOT_SUPPORTED, "matrix product: dimensions beyond 2^31-1 are not supported");
    if constexpr (std::is_same_v<DType, float>)
      if (SmallSgemm(ta, tb, M, N, K, A, lda, B, ldb, C, ldc, accumulate)) return;
    const auto Ta = ta ? CblasTrans : CblasNoTrans, Tb = tb ? CblasTrans : CblasNoTrans;
    const DType beta = accumulate ? DType(1) : DType(0);
    auto blas = [&](int64_t m, int64_t n, const DType* a, const DType* b, DType* c) {
      if constexpr (std::is_same_v<DType, float>)
        scipy_cblas_sgemm(CblasRowMajor, Ta, Tb, int(m), int(n), int(K), 1.0f, a, int(lda), b, int(ldb), beta, c,
                          int(ldc));
      else
        scipy_cblas_dgemm(CblasRowMajor, Ta, Tb, int(m), int(n), int(K), 1.0, a, int(lda), b, int(ldb), beta, c,
                          int(ldc));
    };
    // OpenBLAS runs single-threaded (BlasThreads); large products are split here instead, over
    // the rows (or columns) of C, on Axle's own helper threads.
    const int nt = BlasSplitThreads();
    if (nt < 2 || M * N * K < kGemmSplitWork) {
      blas(M, N, A, B, C);
    } else if (M >= N) {
      ParallelFor(M, std::max<int64_t>(8, M / nt), [&](int64_t b, int64_t e) {
        blas(e - b, N, ta ? A + b : A + b * lda, B, C + b * ldc);
      });
    } else {
      ParallelFor(N, std::max<int64_t>(8, N / nt), [&](int64_t b, int64_t e) {
        blas(M, e - b, A, tb ? B + b * ldb : B + b, C + b);
      });
    }
  } else {
    using AT = GemmAcc<DType>;
    const int64_t grain = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, N * K));
    ParallelFor(M, grain, [&](int64_t b, int64_t e) {
      std::vector<AT> row(static_cast<size_t>(N));
      std::vector<AT> bcol(tb ? static_cast<size_t>(K) : 0);
      for (int64_t i = b; i < e; ++i) {
        std::fill(row.begin(), row.end(), AT(0));
        if (!tb) {  // row i of C = sum_k A(i,k) * B[k, :]
          for (int64_t k = 0; k < K; ++k) {
            const AT a = static_cast<AT>(ta ? A[k * lda + i] : A[i * lda + k]);
            const DType* bk = B + k * ldb;
            for (int64_t j = 0; j < N; ++j) row[j] += a * static_cast<AT>(bk[j]);
          }
        } else {  // C(i,j) = A(i,:) . B[j, :]
          for (int64_t k = 0; k < K; ++k) bcol[k] = static_cast<AT>(ta ? A[k * lda + i] : A[i * lda + k]);
          for (int64_t j = 0; j < N; ++j) {
            const DType* bj = B + j * ldb;
            AT s = AT(0);
            for (int64_t k = 0; k < K; ++k) s += bcol[k] * static_cast<AT>(bj[k]);
            row[j] = s;
          }
        }
        DType* c = C + i * ldc;
        if (accumulate)
          for (int64_t j = 0; j < N; ++j) c[j] = Cast<DType>(static_cast<double>(static_cast<AT>(c[j]) + row[j]));
        else
          for (int64_t j = 0; j < N; ++j) c[j] = Cast<DType>(static_cast<double>(row[j]));
      }
    });
  }
}

// Runs the body with DType bound to any dtype a matrix product supports (bool is a type error).
#define AX_GEMM_TYPE_SWITCH(dtype, DType, who, ...)                                                \
  switch (dtype) {                                                                                \
    case AX_FLOAT32: { using DType = float; __VA_ARGS__; } break;                                 \
    case AX_FLOAT64: { using DType = double; __VA_ARGS__; } break;                                \
    case AX_FLOAT16: { using DType = ::axle::half_t; __VA_ARGS__; } break;                        \
    case AX_UINT8: { using DType = uint8_t; __VA_ARGS__; } break;                                 \
    case AX_INT32: { using DType = int32_t; __VA_ARGS__; } break;                                 \
    case AX_INT8: { using DType = int8_t; __VA_ARGS__; } break;                                   \
    case AX_INT64: { using DType = int64_t; __VA_ARGS__; } break;                                 \
    default: ::axle::Throw(AX_ERR_TYPE, who, ": unsupported dtype ", ::axle::DTypeName(dtype));  \
  }

}  // namespace axle
