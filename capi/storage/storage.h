// Pooled storage per device.
//
// Requests are rounded up to a size class (64-byte minimum; above that, four classes per power
// of two, so at most 25% is wasted). Freed blocks go back to a free list of their class and are
// reused by later requests of the same class. On out-of-memory the pool gives its free blocks
// back to the system and retries once. AXLE_MEM_POOL=0 disables pooling (every free returns the
// block at once).
#pragma once
#include <cstddef>
#include <cstdint>

#include "common/base.h"

namespace axle {

struct StorageBlock {
  void* dptr = nullptr;
  size_t size = 0;  // the size class actually held
  Context ctx;
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
  virtual void Free(const StorageBlock& block) = 0;
  virtual StorageStats Stats(const Context& ctx) = 0;
  virtual void EmptyCache(const Context& ctx) = 0;
};

size_t RoundToSizeClass(size_t bytes);

}  // namespace axle
