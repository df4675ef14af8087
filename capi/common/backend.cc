#include "common/backend.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>

#include "ops/registry.h"

namespace axle {
namespace {

struct GpuLoader {
  const DeviceBackend* backend = nullptr;
  std::string reason;
  int count = 0;
};

// The CUDA backend lives in libaxle_cuda.so beside libaxle; it exports axle_cuda_backend().
GpuLoader* Load() {
  static GpuLoader* loader = [] {
    auto* l = new GpuLoader();  // leaked on purpose: alive until the process ends
    Dl_info info;
    std::string dir;
    if (dladdr(reinterpret_cast<void*>(&GpuBackend), &info) && info.dli_fname) {
      dir = info.dli_fname;
      size_t slash = dir.rfind('/');
      dir = slash == std::string::npos ? std::string() : dir.substr(0, slash + 1);
    }
    std::string path = dir + "libaxle_cuda.so";
    // Test-only: AXLE_TEST_GPU_BACKEND names another backend library to load instead (the fake
    // GPU of tests/c/fake_gpu_backend.cc, whose streams are host threads). Not for users.
    if (const char* test = std::getenv("AXLE_TEST_GPU_BACKEND"))
      if (*test) path = test;
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      l->reason = "this Axle has no CUDA backend (" + path + " could not be loaded)";
      return l;
    }
    using Entry = const DeviceBackend* (*)(const CoreServices* core, const char** reason);
    auto entry = reinterpret_cast<Entry>(dlsym(h, "axle_cuda_backend"));
    static const CoreServices core = {kBackendAbiVersion, [](const char* name) {
                                        return const_cast<OpDef*>(OpRegistry::Get()->Find(name));
                                      }};
    const char* why = nullptr;
    const DeviceBackend* b = entry ? entry(&core, &why) : nullptr;
    if (!b) {
      l->reason = why ? why : "the CUDA backend did not initialise";
      return l;
    }
    l->count = b->device_count();
    if (l->count <= 0) {
      l->reason = "no CUDA device was found";
      return l;
    }
    if (!b->event_create || !b->event_destroy || !b->event_record || !b->stream_wait_event || !b->event_sync ||
        !b->event_query) {
      l->reason = path + " has no events (an incomplete backend table)";
      return l;
    }
    l->backend = b;
    // The backend's CUDA runtime tears itself down at exit (handlers registered when it loaded,
    // after the engine's): finish pending GPU work before that, in a handler that runs first.
    std::atexit([] {
      try {
        Engine::Get()->WaitAll();
      } catch (...) {
      }
    });
    return l;
  }();
  return loader;
}

}  // namespace

const DeviceBackend* GpuBackend() { return Load()->backend; }
int GpuCount() { return Load()->count; }
const char* GpuUnavailableReason() { return Load()->reason.c_str(); }

}  // namespace axle
