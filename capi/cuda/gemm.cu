// Row-major GEMM on the GPU: cuBLAS, loaded at run time, or a built-in tiled kernel.
//
// cuBLAS is looked for as libcublas.so.13 in, in order: $AXLE_CUBLAS_LIB (a file),
// $AXLE_CUBLAS_DIR (Python sets it when it finds the nvidia-cublas wheel on sys.path), the wheel
// beside this library's package (../nvidia/cu13/lib, the CUDA 13 wheels' layout, or
// ../nvidia/cublas/lib), then the loader's own search (a copy already loaded, e.g. by torch;
// LD_LIBRARY_PATH; the system). AXLE_CUBLAS=0 forces the built-in kernel. The few cuBLAS
// declarations below are its stable C ABI (cublas_api.h of CUDA 13).
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "cuda/cuda_common.cuh"

namespace axle {
namespace cuda {
namespace {

using cublasHandle_t = struct cublasContext*;
enum cublasOperation_t { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };
using FnCreate = int (*)(cublasHandle_t*);
using FnSetStream = int (*)(cublasHandle_t, cudaStream_t);
using FnGetVersion = int (*)(cublasHandle_t, int*);
// cublasGemmEx with its enums as ints (cudaDataType_t, cublasComputeType_t, cublasGemmAlgo_t)
using FnGemmEx = int (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*, const void*,
                         int, int, const void*, int, int, const void*, void*, int, int, int, int);
constexpr int kCudaR16F = 2, kCublasCompute32F = 68, kCublasGemmDefault = -1;  // (CUDA_R_16F, ...)
template <class T>
using FnGemm = int (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const T*, const T*, int,
                       const T*, int, const T*, T*, int);

struct Cublas {
  bool ok = false;
  std::string name = "built-in tiled kernel";
  FnCreate create = nullptr;
  FnSetStream set_stream = nullptr;
  FnGemm<float> sgemm = nullptr;
  FnGemm<double> dgemm = nullptr;
  FnGemmEx gemm_ex = nullptr;  // float16 (without it, float16 uses the built-in kernel)
};

std::string ThisDir() {
  Dl_info info;
  if (!dladdr(reinterpret_cast<void*>(&GemmBackendName), &info) || !info.dli_fname) return "";
  std::string d = info.dli_fname;
  size_t s = d.rfind('/');
  return s == std::string::npos ? "" : d.substr(0, s + 1);
}

Cublas* Load() {
  static Cublas* c = [] {
    auto* r = new Cublas();
    const char* off = std::getenv("AXLE_CUBLAS");
    if (off && std::string(off) == "0") {
      r->name = "built-in tiled kernel (AXLE_CUBLAS=0)";
      return r;
    }
    std::vector<std::string> tries;
    if (const char* f = std::getenv("AXLE_CUBLAS_LIB")) tries.push_back(f);
    if (const char* d = std::getenv("AXLE_CUBLAS_DIR")) tries.push_back(std::string(d) + "/libcublas.so.13");
    tries.push_back(ThisDir() + "../nvidia/cu13/lib/libcublas.so.13");  // CUDA 13 wheels' layout
    tries.push_back(ThisDir() + "../nvidia/cublas/lib/libcublas.so.13");
    tries.push_back("libcublas.so.13");
    void* h = nullptr;
    std::string where;
    for (auto& t : tries) {
      h = dlopen(t.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (h) {
        where = t;
        break;
      }
    }
    if (!h) {
      r->name = "built-in tiled kernel (libcublas.so.13 not found)";
      return r;
    }
    r->create = reinterpret_cast<FnCreate>(dlsym(h, "cublasCreate_v2"));
    r->set_stream = reinterpret_cast<FnSetStream>(dlsym(h, "cublasSetStream_v2"));
    r->sgemm = reinterpret_cast<FnGemm<float>>(dlsym(h, "cublasSgemm_v2"));
    r->dgemm = reinterpret_cast<FnGemm<double>>(dlsym(h, "cublasDgemm_v2"));
    r->gemm_ex = reinterpret_cast<FnGemmEx>(dlsym(h, "cublasGemmEx"));
    auto version = reinterpret_cast<FnGetVersion>(dlsym(h, "cublasGetVersion_v2"));
    r->ok = r->create && r->set_stream && r->sgemm && r->dgemm;
    if (!r->ok) {
      r->name = "built-in tiled kernel (" + where + " lacks the expected symbols)";
      return r;
    }
    cublasHandle_t probe = nullptr;
    int v = 0;
    if (r->create(&probe) != 0) {
      r->ok = false;
      r->name = "built-in tiled kernel (cublasCreate failed)";
      return r;
    }
    if (version) version(probe, &v);
    r->name = "cuBLAS " + std::to_string(v) + " (" + where + ")";
    return r;
  }();
  static const bool said = [] {
    if (std::getenv("AXLE_VERBOSE")) std::fprintf(stderr, "axle: GPU GEMM through %s\n", c->name.c_str());
    return true;
  }();
  (void)said;
  return c;
}

// One handle per thread and device (the engine drives each GPU from one thread).
cublasHandle_t Handle(Cublas* c) {
  int dev = 0;
  cudaGetDevice(&dev);
  thread_local std::vector<cublasHandle_t> handles;
  if (static_cast<int>(handles.size()) <= dev) handles.resize(dev + 1, nullptr);
  if (!handles[dev]) AX_CHECK(c->create(&handles[dev]) == 0, AX_ERR_RUNTIME, "cublasCreate failed on gpu(", dev, ")");
  return handles[dev];
}

// C = op(A) op(B) (+ C), row-major: 32 x 32 tiles of A and B staged in shared memory; each
// thread of a 16 x 16 block computes a 2 x 2 patch of the output tile, summing in GemmAccT<T>
// (float for float16, wrapping 64-bit for integers, as the CPU's GemmAcc) stored by GemmStore.
constexpr int kTile = 32, kSub = 16;
template <class T>
__global__ void TiledGemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B,
                          int64_t ldb, T* C, int64_t ldc, bool acc) {
  __shared__ T As[kTile][kTile + 1];
  __shared__ T Bs[kTile][kTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t col0 = blockIdx.x * int64_t(kTile);
  for (int64_t row0 = blockIdx.y * int64_t(kTile); row0 < M; row0 += gridDim.y * int64_t(kTile)) {
    using AT = GemmAccT<T>;
    AT sum[2][2] = {{AT(0), AT(0)}, {AT(0), AT(0)}};
    for (int64_t k0 = 0; k0 < K; k0 += kTile) {
      for (int i = ty; i < kTile; i += kSub)
        for (int j = tx; j < kTile; j += kSub) {
          int64_t r = row0 + i, k = k0 + j;  // A(r, k)
          As[i][j] = (r < M && k < K) ? (ta ? A[k * lda + r] : A[r * lda + k]) : T(0);
          int64_t kk = k0 + i, c = col0 + j;  // B(kk, c)
          Bs[i][j] = (kk < K && c < N) ? (tb ? B[c * ldb + kk] : B[kk * ldb + c]) : T(0);
        }
      __syncthreads();
#pragma unroll 8
      for (int k = 0; k < kTile; ++k) {
        const AT a0 = As[ty][k], a1 = As[ty + kSub][k], b0 = Bs[k][tx], b1 = Bs[k][tx + kSub];
        sum[0][0] += a0 * b0;
        sum[0][1] += a0 * b1;
        sum[1][0] += a1 * b0;
        sum[1][1] += a1 * b1;
      }
      __syncthreads();
    }
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j) {
        int64_t r = row0 + ty + i * kSub, c = col0 + tx + j * kSub;
        if (r < M && c < N) C[r * ldc + c] = GemmStore(sum[i][j], C + r * ldc + c, acc);
      }
  }
}

template <class T>
__global__ void ZeroKernel(int64_t M, int64_t N, T* C, int64_t ldc) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < M * N; i += int64_t(blockDim.x) * gridDim.x)
    C[(i / N) * ldc + i % N] = T(0);
}

}  // namespace

const char* GemmBackendName() { return Load()->name.c_str(); }

template <class T>
void Gemm(cudaStream_t s, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B,
          int64_t ldb, T* C, int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) {
      ZeroKernel<<<Blocks(M * N), kThreads, 0, s>>>(M, N, C, ldc);
      AX_CUDA_LAUNCHED("gemm (zero fill)");
    }
    return;
  }
  if constexpr (!std::is_integral_v<T>) {  // (integers: the built-in kernel)
    Cublas* c = Load();
    const int64_t kIntMax = 2147483647;
    const bool has_routine = !std::is_same_v<T, Half> || c->gemm_ex;
    if (c->ok && has_routine && M <= kIntMax && N <= kIntMax && K <= kIntMax && lda <= kIntMax && ldb <= kIntMax &&
        ldc <= kIntMax) {
      cublasHandle_t h = Handle(c);
      c->set_stream(h, s);
      using S = fn::A<T>;  // alpha and beta: float for float16 (float32 compute)
      const S one = S(1), beta = accumulate ? S(1) : S(0);
      // row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T
      auto opb = tb ? CUBLAS_OP_T : CUBLAS_OP_N, opa = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
      int st;
      if constexpr (std::is_same_v<T, Half>)
        st = c->gemm_ex(h, opb, opa, int(N), int(M), int(K), &one, B, kCudaR16F, int(ldb), A, kCudaR16F, int(lda),
                        &beta, C, kCudaR16F, int(ldc), kCublasCompute32F, kCublasGemmDefault);
      else if constexpr (std::is_same_v<T, float>)
        st = c->sgemm(h, opb, opa, int(N), int(M), int(K), &one, B, int(ldb), A, int(lda), &beta, C, int(ldc));
      else
        st = c->dgemm(h, opb, opa, int(N), int(M), int(K), &one, B, int(ldb), A, int(lda), &beta, C, int(ldc));
      AX_CHECK(st == 0, AX_ERR_RUNTIME, "cuBLAS gemm failed with status ", st, " (M=", M, ", N=", N, ", K=", K, ")");
      return;
    }
  }
  dim3 grid(static_cast<unsigned>((N + kTile - 1) / kTile),
            static_cast<unsigned>(std::min<int64_t>((M + kTile - 1) / kTile, 65535)));  // row tiles grid-stride
  TiledGemm<<<grid, dim3(kSub, kSub), 0, s>>>(ta, tb, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
  AX_CUDA_LAUNCHED("gemm (tiled kernel)");
}

template void Gemm<float>(cudaStream_t, bool, bool, int64_t, int64_t, int64_t, const float*, int64_t, const float*,
                          int64_t, float*, int64_t, bool);
template void Gemm<double>(cudaStream_t, bool, bool, int64_t, int64_t, int64_t, const double*, int64_t,
                           const double*, int64_t, double*, int64_t, bool);
template void Gemm<Half>(cudaStream_t, bool, bool, int64_t, int64_t, int64_t, const Half*, int64_t, const Half*,
                         int64_t, Half*, int64_t, bool);
#define AX_GEMM_INT(T)                                                                                         \
  template void Gemm<T>(cudaStream_t, bool, bool, int64_t, int64_t, int64_t, const T*, int64_t, const T*, int64_t, \
                        T*, int64_t, bool);
AX_GEMM_INT(uint8_t)
AX_GEMM_INT(int8_t)
AX_GEMM_INT(int32_t)
AX_GEMM_INT(int64_t)
#undef AX_GEMM_INT

}  // namespace cuda
}  // namespace axle
