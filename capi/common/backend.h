// The private interface between the core and device backends (ggml_backend_i in spirit).
// The CPU backend is always built in; a CUDA backend is a separate library found at run time,
// so the core loads and works on machines without a GPU.
#pragma once
#include <cstddef>

namespace axle {

struct DeviceBackend {
  const char* name;
  int (*device_count)();
  void* (*alloc)(int dev_id, size_t bytes);          // nullptr on out-of-memory
  void (*free)(int dev_id, void* ptr);
  void (*copy)(void* dst, int dst_dev_type, const void* src, int src_dev_type, size_t bytes);  // (optional)
  void (*synchronize)(int dev_id);                    // (optional)
};

// The GPU backend, or nullptr when none could be loaded (the reason is kept).
const DeviceBackend* GpuBackend();
int GpuCount();
const char* GpuUnavailableReason();

}  // namespace axle
