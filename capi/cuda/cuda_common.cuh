// Helpers shared by the CUDA backend's sources: error checks that throw axle::Error (the engine
// reports them at the wait point, naming the op), launch shapes, the dtype switch of GPU kernels,
// a grid-stride map and the row-major GEMM entry (gemm.cu).
#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "ops/cpu/math_functors.h"
#include "ops/registry.h"

namespace axle {
namespace cuda {

inline void Check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so later work on the device is not refused
  Throw(e == cudaErrorMemoryAllocation ? AX_ERR_OUT_OF_MEMORY : AX_ERR_RUNTIME, "CUDA error in ", what, ": ",
        cudaGetErrorName(e), " (", cudaGetErrorString(e), ")");
}
#define AX_CUDA_CHECK(expr) ::axle::cuda::Check((expr), #expr)
// After a kernel launch: a bad configuration is reported here, a fault at the stream's sync.
#define AX_CUDA_LAUNCHED(name) ::axle::cuda::Check(cudaGetLastError(), name)

inline cudaStream_t Stream(const OpContext& ctx) { return static_cast<cudaStream_t>(ctx.run.stream); }

constexpr int kThreads = 256;
inline unsigned Blocks(int64_t n) {
  int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(b, 132 * 64)));  // grid-stride beyond
}

inline size_t ItemSize(int dtype) {
  switch (dtype) {
    case AX_FLOAT64: case AX_INT64: return 8;
    case AX_FLOAT32: case AX_INT32: return 4;
    case AX_FLOAT16: return 2;
    default: return 1;
  }
}

// numpy's name of a dtype code, for messages.
inline const char* DTypeStr(int dtype) {
  static const char* names[] = {"float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool"};
  return dtype >= 0 && dtype < 8 ? names[dtype] : "unknown";
}

// float16 on the GPU: CUDA's __half in memory, arithmetic in float, as the CPU's half_t (an
// implicit conversion to float, from every arithmetic type through float). float -> half rounds to
// nearest even (overflow to inf) with cuda_fp16's conversion; a NaN becomes the CPU's quiet NaN
// (sign kept, 0x7e00) and back to float keeps a NaN's sign and payload, so results match half_t
// bit for bit.
struct Half {
  __half h;
  Half() = default;
  template <class U, std::enable_if_t<std::is_arithmetic_v<U>, int> = 0>
  AX_HD Half(U v) : h(FromFloat(static_cast<float>(v))) {}  // NOLINT: implicit like a numeric type
  AX_HD operator float() const {  // NOLINT
    const unsigned short b = static_cast<__half_raw>(h).x;
    if ((b & 0x7fffu) > 0x7c00u) {  // a NaN keeps its sign and payload, as half_t::ToFloat
      const uint32_t x = (uint32_t(b & 0x8000u) << 16) | 0x7f800000u | (uint32_t(b & 0x3ffu) << 13);
      float f;
      memcpy(&f, &x, 4);
      return f;
    }
    return __half2float(h);
  }
  static AX_HD __half FromFloat(float f) {
    if (f != f) {
      uint32_t x;
      memcpy(&x, &f, 4);
      __half_raw r;
      r.x = static_cast<unsigned short>(((x >> 16) & 0x8000u) | 0x7e00u);
      return __half(r);
    }
    return __float2half_rn(f);
  }
};
static_assert(sizeof(Half) == 2, "Half must have float16's layout");

}  // namespace cuda
namespace fn {
template <> struct Arith<cuda::Half> { using type = float; };  // (ops/cpu/math_functors.h)
}  // namespace fn
namespace cuda {

// Floating point on the GPU (float16 included): accumulates in double in the reductions.
template <class T> constexpr bool kIsFloat = std::is_floating_point_v<T> || std::is_same_v<T, Half>;

// The type sums are kept in, as the CPU's Acc (ops/cpu/kernel.h): float for float16, int for bool.
template <class T> using AccT = std::conditional_t<std::is_same_v<T, bool>, int, fn::A<T>>;

// The dtypes GPU kernels are built for: every dtype for the arithmetic kernels (float16 as Half),
// float32/float64 for the floating point ones, whose float16 runs through float32 (AsFloat).
// axle_cuda_dtypes() (backend.cu) lists what these switches accept.
#define AX_GPU_TYPE_SWITCH(dtype, DType, who, ...)                                                  \
  switch (dtype) {                                                                                  \
    case AX_FLOAT32: { using DType = float; __VA_ARGS__; } break;                                   \
    case AX_FLOAT64: { using DType = double; __VA_ARGS__; } break;                                  \
    case AX_FLOAT16: { using DType = ::axle::cuda::Half; __VA_ARGS__; } break;                      \
    case AX_UINT8: { using DType = uint8_t; __VA_ARGS__; } break;                                   \
    case AX_INT32: { using DType = int32_t; __VA_ARGS__; } break;                                   \
    case AX_INT8: { using DType = int8_t; __VA_ARGS__; } break;                                     \
    case AX_INT64: { using DType = int64_t; __VA_ARGS__; } break;                                   \
    case AX_BOOL: { using DType = bool; __VA_ARGS__; } break;                                       \
    default: ::axle::Throw(AX_ERR_NOT_SUPPORTED, who, ": no GPU kernel for dtype ", ::axle::cuda::DTypeStr(dtype));    \
  }
#define AX_GPU_FLOAT_SWITCH(dtype, DType, who, ...)                                                 \
  switch (dtype) {                                                                                  \
    case AX_FLOAT32: { using DType = float; __VA_ARGS__; } break;                                   \
    case AX_FLOAT64: { using DType = double; __VA_ARGS__; } break;                                  \
    default: ::axle::Throw(AX_ERR_NOT_SUPPORTED, who, ": no GPU kernel for dtype ", ::axle::cuda::DTypeStr(dtype),     \
                           " (float32, float64; float16 through float32)");                         \
  }

// Data movement (gathers, scatters, copies) without accumulation works on any dtype through an
// unsigned type of its item size; accumulating (req add) needs the arithmetic type.
#define AX_GPU_MOVE_SWITCH(dtype, add, DType, who, ...)                                             \
  if (add) {                                                                                        \
    AX_GPU_TYPE_SWITCH(dtype, DType, who, __VA_ARGS__)                                              \
  } else {                                                                                          \
    switch (::axle::cuda::ItemSize(dtype)) {                                                        \
      case 8: { using DType = uint64_t; __VA_ARGS__; } break;                                       \
      case 4: { using DType = uint32_t; __VA_ARGS__; } break;                                       \
      case 2: { using DType = uint16_t; __VA_ARGS__; } break;                                       \
      default: { using DType = uint8_t; __VA_ARGS__; } break;                                       \
    }                                                                                               \
  }
// Index (and condition) arrays: every dtype but float16; bool reads as its byte (IndexArray reads
// every dtype, float16 included, at run time).
#define AX_GPU_INDEX_SWITCH(dtype, IType, who, ...)                                                 \
  switch (dtype) {                                                                                  \
    case AX_FLOAT32: { using IType = float; __VA_ARGS__; } break;                                   \
    case AX_FLOAT64: { using IType = double; __VA_ARGS__; } break;                                  \
    case AX_INT32: { using IType = int32_t; __VA_ARGS__; } break;                                   \
    case AX_INT64: { using IType = int64_t; __VA_ARGS__; } break;                                   \
    case AX_INT8: { using IType = int8_t; __VA_ARGS__; } break;                                     \
    case AX_UINT8: case AX_BOOL: { using IType = uint8_t; __VA_ARGS__; } break;                     \
    default: ::axle::Throw(AX_ERR_NOT_SUPPORTED, who, ": no GPU kernel for indices of dtype ",        \
                           ::axle::cuda::DTypeStr(dtype));                                          \
  }

// y[i] (=|+=) v as the CPU reductions store (reduce_op.cc's Store): integers through int64 (a
// non-finite value gives 0), floats through double.
template <class OT>
__device__ inline void StoreD(OT* y, int64_t i, double v, bool add) {
  if constexpr (std::is_integral_v<OT>) {
    int64_t iv = isfinite(v) ? static_cast<int64_t>(v) : 0;
    if (add) iv += static_cast<int64_t>(y[i]);
    y[i] = static_cast<OT>(iv);
  } else {
    y[i] = static_cast<OT>(add ? double(y[i]) + v : v);
  }
}
template <class OT>
__device__ inline void StoreD(OT* y, int64_t i, int64_t v, bool add) {
  y[i] = static_cast<OT>(add ? v + static_cast<int64_t>(y[i]) : v);
}

// *p += v atomically (int64 through unsigned long long: two's complement addition). 8- and 16-bit
// types (and bool) update their aligned 32-bit word by compare-and-swap, adding as the CPU does:
// T(*p + v) (float16 rounded per addition, integers wrapping, bool true once either is).
template <class T>
__device__ inline void AtomicAdd(T* p, T v) {
  if constexpr (std::is_same_v<T, int64_t>) {
    atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
  } else if constexpr (sizeof(T) < 4) {
    const uintptr_t addr = reinterpret_cast<uintptr_t>(p);
    unsigned* word = reinterpret_cast<unsigned*>(addr & ~uintptr_t(3));
    const unsigned shift = static_cast<unsigned>(addr & 3) * 8, mask = (sizeof(T) == 1 ? 0xffu : 0xffffu) << shift;
    unsigned old = *word, seen;
    do {
      seen = old;
      unsigned bits = (seen & mask) >> shift;
      T cur;
      memcpy(&cur, &bits, sizeof(T));
      const T sum = T(cur + v);
      bits = 0;
      memcpy(&bits, &sum, sizeof(T));
      old = atomicCAS(word, seen, (seen & ~mask) | (bits << shift));
    } while (old != seen);
  } else {
    atomicAdd(p, v);
  }
}

// Stream-ordered scratch memory for one op (freed in stream order when it goes out of scope).
struct Scratch {
  void* p = nullptr;
  cudaStream_t s;
  Scratch(size_t bytes, cudaStream_t st) : s(st) {
    if (bytes) AX_CUDA_CHECK(cudaMallocAsync(&p, bytes, s));
  }
  ~Scratch() {
    if (p) cudaFreeAsync(p, s);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  template <class T> T* at(size_t elems) const { return static_cast<T*>(p) + elems; }
};

// Zeroes out (queued on the op's stream) unless it is accumulated into.
inline void ZeroUnlessAdd(const OpContext& ctx, const TBlob& out, OpReq req) {
  if (req == OpReq::kNull || req == OpReq::kAdd || out.Size() == 0) return;
  AX_CUDA_CHECK(cudaMemsetAsync(out.dptr, 0, static_cast<size_t>(out.Size()) * ItemSize(out.dtype), Stream(ctx)));
}

// out[i] (=|+=) f(i) over [0, n), grid-stride; F is a functor with AX_HD operator()(int64_t).
template <class DType, class F>
__global__ void MapKernel(int64_t n, DType* out, bool add, F f) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
    const auto v = f(i);  // added before it is rounded to DType, as the CPU's MapIndex
    out[i] = add ? DType(out[i] + v) : DType(v);
  }
}
template <class DType, class F>
void Map(const OpContext& ctx, int64_t n, OpReq req, DType* out, F f, const char* name) {
  if (req == OpReq::kNull || n <= 0) return;
  MapKernel<<<Blocks(n), kThreads, 0, Stream(ctx)>>>(n, out, req == OpReq::kAdd, f);
  AX_CUDA_LAUNCHED(name);
}

// y[i] (=|+=) f(i) stored as the CPU's reductions store (StoreD): f returns double or int64_t.
template <class OT, class F>
__global__ void MapStoreKernel(int64_t n, OT* y, bool add, F f) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x)
    StoreD(y, i, f(i), add);
}
template <class OT, class F>
void MapStore(const OpContext& ctx, int64_t n, OpReq req, OT* y, F f, const char* name) {
  if (req == OpReq::kNull || n <= 0) return;
  MapStoreKernel<<<Blocks(n), kThreads, 0, Stream(ctx)>>>(n, y, req == OpReq::kAdd, f);
  AX_CUDA_LAUNCHED(name);
}

// Block size of the reduction kernels (one block per output).
constexpr int kReduceThreads = 128;

// Streaming multiprocessors of the current device (132 if the query fails; the error is cleared).
inline int MultiProcessors() {
  int dev = 0, n = 0;
  if (cudaGetDevice(&dev) != cudaSuccess ||
      cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess) {
    cudaGetLastError();
    return 132;
  }
  return n > 0 ? n : 132;
}

// The split of nout reductions of R elements each: 1 (one block per output) when the outputs
// alone give the device enough blocks or R is short; else S > 1 blocks per output, each reducing
// a chunk of at least kSplitChunk elements into a partial, for about 8 blocks per SM in all. The
// partials are combined by a second pass (reductions, argmax/argmin, softmax).
constexpr int64_t kSplitChunk = 8192;
inline int64_t SplitCount(int64_t nout, int64_t R) {
  const int64_t target = int64_t(MultiProcessors()) * 8;
  if (nout <= 0 || nout * 2 >= target || nout > 65535 || R < 2 * kSplitChunk) return 1;
  return std::max<int64_t>(1, std::min((R + kSplitChunk - 1) / kSplitChunk, (target + nout - 1) / nout));
}
// The grid of a split reduction: chunks along x, outputs along y (grid-stride beyond 65535).
inline dim3 SplitGrid(int64_t nout, int64_t S) {
  return dim3(static_cast<unsigned>(S), static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(nout, 65535))));
}

// Combiners of the block reductions (a NaN wins max and min, as on the CPU).
struct SumOp {
  template <class T> AX_HD T operator()(T a, T b) const { return a + b; }
};
struct MaxOp {
  template <class T> AX_HD T operator()(T a, T b) const { return (b > a || b != b) ? b : a; }
};
struct MinOp {
  template <class T> AX_HD T operator()(T a, T b) const { return (b < a || b != b) ? b : a; }
};
struct MulOp {
  template <class T> AX_HD T operator()(T a, T b) const { return a * b; }
};

// The reduction of v over the block (kReduceThreads threads) with op; every thread gets it.
template <class T, class Op>
__device__ inline T BlockReduce(T v, Op op) {
  __shared__ T part[kReduceThreads / 32];
  for (int o = 16; o > 0; o /= 2) v = op(v, T(__shfl_down_sync(0xffffffffu, v, o)));  // (8-bit, bool: via int)
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) part[warp] = v;
  __syncthreads();
  T r = part[0];
  for (int k = 1; k < kReduceThreads / 32; ++k) r = op(r, part[k]);
  __syncthreads();  // part may be reused by the next reduction
  return r;
}

// x gathered through per-axis strides: out element i (row-major over out[nd]) is
// x[sum_d idx_d * sx[d]]; a broadcast axis has stride 0, a permuted one the input's stride.
struct GatherPlan {
  int nd;
  int64_t out[kMaxNDim], sx[kMaxNDim];
};
template <class T>
struct GatherF {
  const T* x;
  GatherPlan p;
  AX_HD T operator()(int64_t i) const {
    int64_t s = 0;
    for (int d = p.nd - 1; d >= 0; --d) {
      s += (i % p.out[d]) * p.sx[d];
      i /= p.out[d];
    }
    return x[s];
  }
};

// A constant, for Map.
template <class T>
struct ConstF {
  T v;
  AX_HD T operator()(int64_t) const { return v; }
};

// Runs a floating point kernel (float32/float64) on float16 data: the float16 inputs and outputs
// are converted to float32 scratch on the op's stream, the kernel runs on those, and the outputs
// (req honoured by the kernel, kAdd included) and the inputs it mutates (optimizer states) are
// rounded back to float16; as the CPU's nn::RunAsFloat (half.cu).
FCompute AsFloat(FCompute f);

// The sums of a matrix product (the CPU's GemmAcc, ops/cpu/gemm.h): float for float16, 64-bit
// for integers (unsigned: wrapping, as the CPU's int64 sums), else T.
template <class T>
using GemmAccT = std::conditional_t<std::is_integral_v<T>, unsigned long long, fn::A<T>>;
// The sum s (plus the old value *c when acc) stored as T as the CPU's Gemm does: integers through
// int64 and double (fn::CastValue: out-of-range values wrap to T's width).
template <class T, class AT>
AX_HD inline T GemmStore(AT s, const T* c, bool acc) {
  if constexpr (std::is_integral_v<T>) {
    const AT old = acc ? static_cast<AT>(static_cast<int64_t>(*c)) : AT(0);
    return fn::CastValue<T>(static_cast<double>(static_cast<int64_t>(s + old)));
  } else {
    return T(acc ? AT(*c) + s : s);
  }
}

// An index (or condition) array of any dtype, read as double (float16 through float, as the
// CPU's IndexValue) on the device or the host: one kernel per data dtype serves every index dtype.
struct IndexArray {
  const void* p;
  int dtype;
  AX_HD double operator[](int64_t i) const {
    switch (dtype) {
      case AX_FLOAT32: return static_cast<const float*>(p)[i];
      case AX_FLOAT64: return static_cast<const double*>(p)[i];
      case AX_FLOAT16: return static_cast<float>(static_cast<const Half*>(p)[i]);
      case AX_INT32: return static_cast<const int32_t*>(p)[i];
      case AX_INT64: return static_cast<double>(static_cast<const int64_t*>(p)[i]);
      case AX_INT8: return static_cast<const int8_t*>(p)[i];
      default: return static_cast<const uint8_t*>(p)[i];  // uint8, bool
    }
  }
};

// Row-major C (M x N) = op(A) op(B) (+ C when accumulate); cuBLAS when it loaded, else a tiled
// kernel. T is float, double or Half (cublasGemmEx, float16 in and out, float32 compute; the
// built-in kernel accumulates in float too), or an integer type (uint8, int8, int32, int64: the
// built-in kernel, with GemmAccT's sums stored by GemmStore, as the CPU).
template <class T>
void Gemm(cudaStream_t s, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B,
          int64_t ldb, T* C, int64_t ldc, bool accumulate);
// "cuBLAS <version>" or why the built-in kernel is used.
const char* GemmBackendName();

// Sets compute_gpu of a registered op (a missing op is a build mismatch: reported, not fatal).
void SetKernel(const char* name, FCompute f);

// Registration of each family's kernels (one function per source file).
void RegisterElemwiseKernels();  // calls RegisterBinaryKernels
void RegisterBinaryKernels();
void RegisterNNKernels();
void RegisterReduceKernels();
void RegisterShapeKernels();
void RegisterConvPoolKernels();
void RegisterMiscKernels();
void RegisterNormKernels();
void RegisterActivationKernels();
void RegisterLossKernels();
void RegisterDeconvKernels();
void RegisterIndexKernels();
void RegisterShapeManipKernels();

}  // namespace cuda
}  // namespace axle
