// The private interface between the core and device backends (ggml_backend_i in spirit).
// The CPU backend is always built in; a CUDA backend is a separate library found at run time,
// so the core loads and works on machines without a GPU.
//
// libaxle dlopens libaxle_cuda.so from its own directory and calls
//   const DeviceBackend* axle_cuda_backend(const CoreServices* core, const char** reason);
// The backend registers its kernels there (OpDef::compute_gpu, through core->find_op) and returns
// its table, or nullptr with *reason set. Both libraries are built from this tree with the same
// compiler, so C++ types (OpDef, TBlob, axle::Error) may cross: errors thrown by a kernel are
// caught by the engine like CPU errors.
//
// Test-only: the environment variable AXLE_TEST_GPU_BACKEND=<path> makes libaxle load that
// library instead (same entry point): tests/c/fake_gpu_backend.cc, a "GPU" whose memory is host
// memory and whose streams are host threads, so the engine's stream and event logic is tested on
// machines without a GPU (tests/python/test_engine_devices.py).
#pragma once
#include <cstddef>

namespace axle {

struct OpDef;

// What the core offers a backend while it loads.
struct CoreServices {
  int abi_version;                      // kBackendAbiVersion of the core
  OpDef* (*find_op)(const char* name);  // a registered op (to fill compute_gpu), or nullptr
};

constexpr int kBackendAbiVersion = 3;

struct DeviceBackend {
  const char* name;
  int (*device_count)();
  void* (*alloc)(int dev_id, size_t bytes);  // nullptr on out-of-memory (no error left pending)
  void (*free)(int dev_id, void* ptr);
  // A blocking copy; dev types are AX_CPU/AX_GPU (GPU pointers are unified addresses).
  void (*copy)(void* dst, int dst_dev_type, const void* src, int src_dev_type, size_t bytes);  // (optional)
  void (*synchronize)(int dev_id);  // (optional)
  // A new stream for the calling thread's work on dev_id (the engine makes a compute and a copy
  // stream per device); also makes dev_id the thread's current device. Streams live as long as
  // the process.
  void* (*stream_create)(int dev_id);
  // Waits for the stream's work; nullptr when it all succeeded, else a message (a kernel fault,
  // a sticky error) valid until the next call on this thread.
  const char* (*stream_sync)(void* stream);
  // Queues a copy on stream (see copy for the dev types); throws axle::Error on failure.
  void (*copy_async)(void* dst, int dst_dev_type, const void* src, int src_dev_type, size_t bytes, void* stream);
  // (optional) the device's name and memory, for messages and tests.
  void (*device_info)(int dev_id, char* name, size_t name_len, size_t* free_bytes, size_t* total_bytes);

  // Events order work across streams and with the host (cudaEvent_t without timing). The engine
  // records one after each GPU op and keeps it with the arrays the op touched (engine/engine.cc).
  // An event belongs to dev_id; it is recorded on that device's streams only, but any stream may
  // wait for it. Waits and syncs see the most recent record made before them (later records of a
  // reused event do not change an earlier wait). The functions returning const char* return
  // nullptr on success, else a message (a kernel fault, a sticky error) valid until the next call
  // on this thread; they never throw.
  void* (*event_create)(int dev_id);  // nullptr when it fails
  void (*event_destroy)(void* event);
  const char* (*event_record)(void* event, void* stream);
  // Work queued on stream after this call starts once the event's work has finished (the host
  // does not wait). The event may belong to another device.
  const char* (*stream_wait_event)(void* stream, void* event);
  // Blocks the host until the event's work has finished.
  const char* (*event_sync)(void* event);
  // 1 when the event's work has finished (or it was never recorded), 0 while pending, -1 on an
  // error (the next event_sync reports it).
  int (*event_query)(void* event);
};

// The GPU backend, or nullptr when none could be loaded (the reason is kept).
const DeviceBackend* GpuBackend();
int GpuCount();
const char* GpuUnavailableReason();

}  // namespace axle
