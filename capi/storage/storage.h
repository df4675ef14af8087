// Pooled storage per device.
//
// Requests are rounded up to a size class (64-byte minimum; above that, four classes per power
// of two, so at most 25% is wasted). Freed blocks go back to a free list of their class and are
// reused by later requests of the same class. On out-of-memory the pool gives its free blocks
// back to the system and retries once. AXLE_MEM_POOL=0 disables pooling (every free returns the
// block at once).
//
// Device work still pending on freed memory (GPU kernels or copies the engine has finished but
// the device may not have, engine.h): a freed GPU block keeps that work in the free list, and the
// next Alloc hands it out with the block (StorageBlock::pending); the new array's var takes it
// over, so the engine orders every use of the reused bytes after it: nothing on the same stream
// (stream order does it), a stream wait for another stream, a host wait for the host. So GPU
// memory is reused at once, in stream order, and no free blocks a thread. A freed CPU block with
// pending device work (the source of an asynchronous host-to-GPU copy) is waited for before it
// goes back to the pool, because host code writes fresh CPU arrays without asking the engine.
// Blocks given back to the system (EmptyCache, AXLE_MEM_POOL=0) are waited for first.
#pragma once
#include <cstddef>
#include <cstdint>

#include "common/base.h"
#include "engine/engine.h"

namespace axle {

struct StorageBlock {
  void* dptr = nullptr;
  size_t size = 0;  // the size class actually held
  Context ctx;
  DeviceWorkPtr pending;  // from Alloc: device work that may still use the bytes (see above)
};

struct StorageStats {
  int64_t bytes_in_use = 0;
  int64_t bytes_pooled = 0;
  int64_t num_allocs = 0;
  int64_t pool_hits = 0;
  int64_t peak_bytes_in_use = 0;
};

class Storage {
 public:
  static Storage* Get();  // never destroyed
  virtual ~Storage() = default;
  // Throws Error(AX_ERR_OUT_OF_MEMORY) when even a retry after releasing the pool fails.
  virtual StorageBlock Alloc(size_t bytes, const Context& ctx) = 0;
  // work: the device work still pending on the block (Engine::DetachDeviceWork), or nullptr.
  virtual void Free(const StorageBlock& block, DeviceWorkPtr work = nullptr) = 0;
  virtual StorageStats Stats(const Context& ctx) = 0;
  virtual void EmptyCache(const Context& ctx) = 0;
};

size_t RoundToSizeClass(size_t bytes);

}  // namespace axle
