#include "storage/storage.h"

#include <sys/mman.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "common/backend.h"

namespace axle {

size_t RoundToSizeClass(size_t bytes) {
  if (bytes <= 64) return 64;
  size_t p = 64;
  while (p * 2 <= bytes && p < (size_t(1) << 62)) p *= 2;  // largest power of two <= bytes
  size_t step = p / 4;
  return (bytes + step - 1) / step * step;
}

namespace {

constexpr size_t kAlign = 64;
// Blocks of at least kHugeMin bytes start on a 2 MiB boundary and ask for transparent huge pages
// (numpy does the same from 4 MiB): fewer TLB misses when a kernel walks a large operand.
constexpr size_t kHugeMin = size_t(4) << 20, kHugePage = size_t(2) << 20;

// One device's pool.
class DevicePool {
 public:
  DevicePool(Context ctx, bool pooled) : ctx_(ctx), pooled_(pooled) {}

  StorageBlock Alloc(size_t bytes) {
    StorageBlock b;
    b.ctx = ctx_;
    if (bytes == 0) return b;
    b.size = RoundToSizeClass(bytes);
    AX_CHECK(b.size >= bytes, AX_ERR_OUT_OF_MEMORY, "cannot allocate ", bytes, " bytes on ", ctx_.str());
    {
      std::lock_guard<std::mutex> lk(mu_);
      auto it = free_.find(b.size);
      if (it != free_.end() && !it->second.empty()) {
        b.dptr = it->second.back().ptr;
        b.pending = std::move(it->second.back().work);
        it->second.pop_back();
        stats_.bytes_pooled -= b.size;
        stats_.pool_hits += 1;
        Track(b.size);
        return b;
      }
    }
    b.dptr = SystemAlloc(b.size);
    if (!b.dptr) {
      EmptyCache();
      b.dptr = SystemAlloc(b.size);
    }
    AX_CHECK(b.dptr, AX_ERR_OUT_OF_MEMORY, "out of memory: cannot allocate ", bytes, " bytes on ", ctx_.str(),
             " (", Stats().bytes_in_use, " bytes in use by arrays; the pool was emptied and the retry failed)");
    std::lock_guard<std::mutex> lk(mu_);
    stats_.num_allocs += 1;
    Track(b.size);
    return b;
  }

  void Free(const StorageBlock& b, DeviceWorkPtr work) {
    if (!b.dptr) return;
    if (ctx_.dev_type == AX_CPU) {
      WaitDeviceWork(work);
      work = nullptr;
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      stats_.bytes_in_use -= b.size;
      if (pooled_) {
        free_[b.size].push_back({b.dptr, std::move(work)});
        stats_.bytes_pooled += b.size;
        return;
      }
    }
    WaitDeviceWork(work);
    SystemFree(b.dptr);
  }

  StorageStats Stats() {
    std::lock_guard<std::mutex> lk(mu_);
    return stats_;
  }

  void EmptyCache() {
    std::unordered_map<size_t, std::vector<FreeBlock>> old;
    {
      std::lock_guard<std::mutex> lk(mu_);
      old.swap(free_);
      stats_.bytes_pooled = 0;
    }
    for (auto& kv : old)
      for (FreeBlock& f : kv.second) {
        WaitDeviceWork(f.work);
        SystemFree(f.ptr);
      }
  }

 private:
  void Track(size_t size) {
    stats_.bytes_in_use += size;
    if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
  }
  void* SystemAlloc(size_t size) {
    // aligned_alloc needs a size that is a multiple of the alignment (C11; ASan enforces it): size
    // classes are multiples of 16 (96, 160, ...), so round up here
    if (ctx_.dev_type == AX_CPU) {
      static const int huge = EnvInt("AXLE_HUGEPAGES", 1, 0);
      if (huge && size >= kHugeMin) {
        // the whole 2 MiB pages only: the tail stays in small pages (no memory beyond size)
        void* p = nullptr;
        if (posix_memalign(&p, kHugePage, size) != 0) return nullptr;
        madvise(p, size / kHugePage * kHugePage, MADV_HUGEPAGE);  // advice: failure is harmless
        return p;
      }
      return std::aligned_alloc(kAlign, (size + kAlign - 1) / kAlign * kAlign);
    }
    const DeviceBackend* gpu = GpuBackend();
    return gpu ? gpu->alloc(ctx_.dev_id, size) : nullptr;
  }
  void SystemFree(void* p) {
    if (ctx_.dev_type == AX_CPU) {
      std::free(p);
    } else if (const DeviceBackend* gpu = GpuBackend()) {
      gpu->free(ctx_.dev_id, p);
    }
  }

  Context ctx_;
  bool pooled_;
  DevicePool* cpu0_;
  struct FreeBlock {
    void* ptr;
    DeviceWorkPtr work;  // device work that may still use it (GPU blocks only)
  };
  std::mutex mu_;
  std::unordered_map<size_t, std::vector<FreeBlock>> free_;
  StorageStats stats_;
};

class PooledStorage : public Storage {
 public:
  PooledStorage() {
    const char* v = std::getenv("AXLE_MEM_POOL");
    pooled_ = !(v && std::string(v) == "0");
    cpu0_ = new DevicePool(Context::CPU(0), pooled_);
    pools_[{AX_CPU, 0}] = cpu0_;
  }
  StorageBlock Alloc(size_t bytes, const Context& ctx) override { return Pool(ctx)->Alloc(bytes); }
  void Free(const StorageBlock& b, DeviceWorkPtr work) override { Pool(b.ctx)->Free(b, std::move(work)); }
  StorageStats Stats(const Context& ctx) override { return Pool(ctx)->Stats(); }
  void EmptyCache(const Context& ctx) override { Pool(ctx)->EmptyCache(); }

 private:
  DevicePool* Pool(const Context& ctx) {
    if (ctx.dev_type == AX_CPU && ctx.dev_id == 0) return cpu0_;  // the hot path takes no lock
    std::lock_guard<std::mutex> lk(mu_);
    auto& p = pools_[{ctx.dev_type, ctx.dev_id}];
    if (!p) p = new DevicePool(ctx, pooled_);  // pools live as long as the process
    return p;
  }
  bool pooled_;
  DevicePool* cpu0_;
  std::mutex mu_;
  std::map<std::pair<int, int>, DevicePool*> pools_;
};

}  // namespace

Storage* Storage::Get() {
  static Storage* s = new PooledStorage();
  return s;
}

}  // namespace axle
