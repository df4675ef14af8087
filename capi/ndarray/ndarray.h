// NDArray: a shape, a dtype and a view (byte offset) into reference-counted storage.
// The storage (Chunk) owns the engine var that orders every op touching its bytes; views
// share the chunk, hence the var. The chunk's memory goes back to the pool when the last
// array and the last pending op holding it are gone.
#pragma once
#include <atomic>
#include <functional>
#include <memory>

#include "common/base.h"
#include "engine/engine.h"
#include "storage/storage.h"

namespace axle {

struct Chunk {
  StorageBlock block;
  VarPtr var;
  std::function<void()> external_deleter;  // set for memory borrowed from another library (DLPack)
  std::atomic<int> staged_copies{0};       // host copies into it pushed by SyncCopyFromCPU, not yet run
  Chunk() = default;
  Chunk(const Chunk&) = delete;
  Chunk& operator=(const Chunk&) = delete;
  ~Chunk();
};

// What a kernel sees: a pointer, a shape, a dtype.
struct TBlob {
  void* dptr = nullptr;
  TShape shape;
  int dtype = AX_FLOAT32;
  Context ctx;
  template <class T>
  T* ptr() const { return static_cast<T*>(dptr); }
  int64_t Size() const { return shape.Size(); }
};

class NDArray {
 public:
  NDArray() = default;
  // Allocates storage for shape/dtype on ctx (checked: no overflow, valid context/dtype).
  NDArray(const TShape& shape, const Context& ctx, int dtype);
  // Wraps memory owned elsewhere; deleter runs when the last view is gone.
  static NDArray FromExternal(void* dptr, const TShape& shape, const Context& ctx, int dtype,
                              std::function<void()> deleter);

  bool is_none() const { return chunk_ == nullptr; }
  const TShape& shape() const { return shape_; }
  int dtype() const { return dtype_; }
  Context ctx() const { return chunk_->block.ctx; }
  int64_t Size() const { return shape_.Size(); }
  size_t nbytes() const { return static_cast<size_t>(Size()) * DTypeSize(dtype_); }
  const VarPtr& var() const { return chunk_->var; }
  const std::shared_ptr<Chunk>& chunk() const { return chunk_; }
  void* dptr() const { return static_cast<char*>(chunk_->block.dptr) + offset_; }
  TBlob blob() const { return TBlob{dptr(), shape_, dtype_, ctx()}; }

  // Views sharing memory.
  NDArray Reshape(const TShape& shape) const;
  NDArray Slice(int64_t begin, int64_t end) const;  // along axis 0
  NDArray At(int64_t idx) const;                      // drops axis 0
  // The same bytes (from this view's start) as another shape and dtype; must fit the storage.
  NDArray View(const TShape& shape, int dtype) const;

  void WaitToRead() const { Engine::Get()->WaitToRead(var()); }
  void WaitToWrite() const { Engine::Get()->WaitToWrite(var()); }
  // Copies between this array and host memory (size checked); data may be reused at return.
  // From host: when the array (on the CPU) still has pending work, the bytes are staged in a
  // pooled buffer and the copy is pushed after that work instead of waiting for it; one staged
  // copy per array at a time, so a loop that feeds it runs at most one step ahead. A GPU array
  // is always fed that way, the copy running on the GPU's copy stream.
  void SyncCopyFromCPU(const void* data, size_t nbytes) const;
  void SyncCopyToCPU(void* data, size_t nbytes) const;

 private:
  std::shared_ptr<Chunk> chunk_;
  TShape shape_;
  int dtype_ = AX_FLOAT32;
  size_t offset_ = 0;  // bytes
};

// Resolves MXNet's reshape codes (0 keep, -1 infer, -2 copy rest, -3 merge two, -4 split one)
// against src; reverse applies them right to left. Errors name `who`.
TShape InferReshape(const TShape& src, const std::vector<int64_t>& target, bool reverse, const char* who);

// Pushes a copy of from into to (same shape and dtype, any devices) through the engine. A copy
// touching a GPU runs on that GPU's copy stream (from's GPU when both are GPUs), or on its compute
// stream when both are the same GPU.
void CopyFromTo(const NDArray& from, const NDArray& to);

// Copies bytes between devices through the engine-independent path (blocking).
void CopyBytes(void* dst, const Context& dst_ctx, const void* src, const Context& src_ctx, size_t bytes);

}  // namespace axle
