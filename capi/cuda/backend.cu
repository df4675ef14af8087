// The CUDA backend: device memory, streams and copies behind the core's DeviceBackend table,
// and the entry point libaxle calls after dlopen (common/backend.h). The CUDA runtime is linked
// statically, so this library needs only the driver (libcuda.so.1) at run time.
#include <cstdio>
#include <string>

#include "common/backend.h"
#include "cuda/cuda_common.cuh"

namespace axle {
namespace cuda {
namespace {

const CoreServices* g_core = nullptr;
std::string* g_missing = nullptr;  // ops the backend has kernels for but the core does not know
// set while axle_cuda_kernel_names() collects the names (on its own thread only)
thread_local std::string* g_listing = nullptr;

void RegisterAll() {
  RegisterElemwiseKernels();
  RegisterNNKernels();
  RegisterReduceKernels();
  RegisterShapeKernels();
  RegisterConvPoolKernels();
  RegisterMiscKernels();
  RegisterNormKernels();
  RegisterActivationKernels();
  RegisterLossKernels();
  RegisterDeconvKernels();
  RegisterIndexKernels();
  RegisterShapeManipKernels();
}

int DeviceCount() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

void* Alloc(int dev, size_t bytes) {
  int prev = -1;
  cudaGetDevice(&prev);
  if (prev != dev) cudaSetDevice(dev);
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, bytes);
  if (prev != dev && prev >= 0) cudaSetDevice(prev);
  if (e != cudaSuccess) {
    cudaGetLastError();  // out-of-memory is not sticky: clear it, the pool retries
    return nullptr;
  }
  return p;
}

void Free(int dev, void* p) {
  // cudaFree synchronises the device; the pool also waited for the block's pending work
  int prev = -1;
  cudaGetDevice(&prev);
  if (prev != dev) cudaSetDevice(dev);
  if (cudaFree(p) != cudaSuccess) cudaGetLastError();
  if (prev != dev && prev >= 0) cudaSetDevice(prev);
}

void Copy(void* dst, int, const void* src, int, size_t bytes) {
  AX_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault));
}

void Synchronize(int dev) {
  cudaSetDevice(dev);
  cudaDeviceSynchronize();
}

void* StreamCreate(int dev) {
  cudaSetDevice(dev);
  cudaStream_t s = nullptr;
  if (cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;  // the op then runs on the default stream
  }
  return s;
}

// nullptr for success, else the error's message (thread-local, valid until the next call here).
const char* Status(cudaError_t e) {
  thread_local std::string msg;
  if (e == cudaSuccess) e = cudaGetLastError();
  if (e == cudaSuccess) return nullptr;
  cudaGetLastError();
  msg = std::string("CUDA error: ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
  return msg.c_str();
}

const char* StreamSync(void* stream) { return Status(cudaStreamSynchronize(static_cast<cudaStream_t>(stream))); }

// An event of device dev is recorded on that device's streams, by the engine thread that owns the
// stream (whose current device StreamCreate set); cudaStreamWaitEvent accepts any device's event.
struct Event {
  cudaEvent_t ev;
  int dev;
};

void* EventCreate(int dev) {
  int prev = -1;
  cudaGetDevice(&prev);
  if (prev != dev) cudaSetDevice(dev);
  cudaEvent_t ev = nullptr;
  cudaError_t e = cudaEventCreateWithFlags(&ev, cudaEventDisableTiming);
  if (prev != dev && prev >= 0) cudaSetDevice(prev);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  return new Event{ev, dev};
}

void EventDestroy(void* p) {
  auto* ev = static_cast<Event*>(p);
  if (!ev) return;
  if (cudaEventDestroy(ev->ev) != cudaSuccess) cudaGetLastError();
  delete ev;
}

const char* EventRecord(void* p, void* stream) {
  auto* ev = static_cast<Event*>(p);
  return Status(cudaEventRecord(ev->ev, static_cast<cudaStream_t>(stream)));
}

const char* StreamWaitEvent(void* stream, void* p) {
  auto* ev = static_cast<Event*>(p);
  return Status(cudaStreamWaitEvent(static_cast<cudaStream_t>(stream), ev->ev, 0));
}

const char* EventSync(void* p) { return Status(cudaEventSynchronize(static_cast<Event*>(p)->ev)); }

int EventQuery(void* p) {
  cudaError_t e = cudaEventQuery(static_cast<Event*>(p)->ev);
  if (e == cudaSuccess) return 1;
  if (e == cudaErrorNotReady) {
    cudaGetLastError();  // not an error: clear it so later checks do not see it
    return 0;
  }
  return -1;
}

void CopyAsync(void* dst, int, const void* src, int, size_t bytes, void* stream) {
  AX_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, static_cast<cudaStream_t>(stream)));
}

void DeviceInfo(int dev, char* name, size_t name_len, size_t* free_bytes, size_t* total_bytes) {
  cudaDeviceProp prop;
  if (name && name_len) {
    name[0] = 0;
    if (cudaGetDeviceProperties(&prop, dev) == cudaSuccess) std::snprintf(name, name_len, "%s", prop.name);
  }
  size_t f = 0, t = 0;
  int prev = -1;
  cudaGetDevice(&prev);
  cudaSetDevice(dev);
  if (cudaMemGetInfo(&f, &t) != cudaSuccess) cudaGetLastError();
  if (prev >= 0) cudaSetDevice(prev);
  if (free_bytes) *free_bytes = f;
  if (total_bytes) *total_bytes = t;
}

const DeviceBackend kBackend = {
    "cuda",     DeviceCount,     Alloc,     Free,      Copy,       Synchronize, StreamCreate, StreamSync, CopyAsync,
    DeviceInfo, EventCreate,     EventDestroy, EventRecord, StreamWaitEvent, EventSync, EventQuery,
};

}  // namespace

void SetKernel(const char* name, FCompute f) {
  if (g_listing) {
    *g_listing += std::string(g_listing->empty() ? "" : " ") + name;
    return;
  }
  OpDef* op = g_core->find_op(name);
  if (!op) {
    *g_missing += std::string(g_missing->empty() ? "" : ", ") + name;
    return;
  }
  op->compute_gpu = std::move(f);
}

}  // namespace cuda
}  // namespace axle

extern "C" __attribute__((visibility("default"))) const axle::DeviceBackend* axle_cuda_backend(
    const axle::CoreServices* core, const char** reason) {
  using namespace axle::cuda;
  static std::string why;
  if (!core || core->abi_version != axle::kBackendAbiVersion) {
    why = "libaxle_cuda.so was built for another version of libaxle";
    *reason = why.c_str();
    return nullptr;
  }
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    why = std::string("the CUDA driver reports no usable device (") + cudaGetErrorName(e) + ": " +
          cudaGetErrorString(e) + ")";
    *reason = why.c_str();
    return nullptr;
  }
  g_core = core;
  g_missing = new std::string();
  try {
    RegisterAll();
  } catch (const std::exception& ex) {
    why = std::string("registering the CUDA kernels failed: ") + ex.what();
    *reason = why.c_str();
    return nullptr;
  }
  if (!g_missing->empty()) std::fprintf(stderr, "axle: CUDA kernels for unknown ops: %s\n", g_missing->c_str());
  return &kBackend;
}

// The names of the ops this backend has kernels for, space-separated, without touching CUDA or the
// core (for coverage checks on machines without a GPU: tests/python/test_gpu.py,
// tools/gpu_kernel_coverage.py). Valid for the life of the process.
extern "C" __attribute__((visibility("default"))) const char* axle_cuda_kernel_names() {
  static const std::string names = [] {
    std::string out;
    axle::cuda::g_listing = &out;
    axle::cuda::RegisterAll();
    axle::cuda::g_listing = nullptr;
    return out;
  }();
  return names.c_str();
}

// The dtypes the kernels are built for, without touching CUDA or the core (for the coverage checks
// beside axle_cuda_kernel_names): "arithmetic <dtypes>\nfloating <dtypes>", as the dtype switches
// of cuda_common.cuh accept them; float16 counts as floating when AsFloat hands an (empty) float16
// blob to the kernel as float32. Valid for the life of the process.
extern "C" __attribute__((visibility("default"))) const char* axle_cuda_dtypes() {
  using axle::cuda::DTypeStr;
  static const std::string listing = [] {
    std::string arith = "arithmetic", floating = "floating";
    for (int code = 0; code < 8; ++code) {
      try {
        AX_GPU_TYPE_SWITCH(code, T, "probe", { arith += std::string(" ") + DTypeStr(code); });
      } catch (const std::exception&) {
      }
      bool accepted = false;
      axle::FCompute probe = [&](const axle::OpContext&, const axle::NodeAttrs&, const std::vector<axle::TBlob>& in,
                                 const std::vector<axle::OpReq>&, const std::vector<axle::TBlob>&) {
        AX_GPU_FLOAT_SWITCH(in[0].dtype, T, "probe", { accepted = true; });
      };
      axle::TBlob empty;
      empty.shape = axle::TShape{int64_t(0)};
      empty.dtype = code;
      try {
        axle::cuda::AsFloat(probe)(axle::OpContext(), axle::NodeAttrs(), {empty}, {}, {});
      } catch (const std::exception&) {
      }
      if (accepted) floating += std::string(" ") + DTypeStr(code);
    }
    return arith + "\n" + floating;
  }();
  return listing.c_str();
}
