#include "ndarray/ndarray.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "common/backend.h"

namespace axle {

Chunk::~Chunk() {
  // device work still using the bytes goes with them (storage.h): the pool keeps it
  DeviceWorkPtr work = var ? Engine::Get()->DetachDeviceWork(var) : nullptr;
  if (external_deleter) {
    WaitDeviceWork(work);  // the owner may reuse the memory at once
    external_deleter();
  } else if (block.dptr) {
    Storage::Get()->Free(block, std::move(work));
  }
}

NDArray::NDArray(const TShape& shape, const Context& ctx, int dtype) : shape_(shape), dtype_(dtype) {
  AX_CHECK(ValidDType(dtype), AX_ERR_TYPE, "unknown dtype code ", dtype);
  CheckContext(ctx);
  int64_t n = CheckedSize(shape, "NDArray");
  size_t item = DTypeSize(dtype);
  AX_CHECK(n == 0 || static_cast<uint64_t>(n) <= (uint64_t(1) << 62) / item, AX_ERR_OUT_OF_MEMORY,
           "array of shape ", shape.str(), " and dtype ", DTypeName(dtype), " is too large");
  chunk_ = std::make_shared<Chunk>();
  chunk_->block = Storage::Get()->Alloc(static_cast<size_t>(n) * item, ctx);
  chunk_->var = Engine::Get()->NewVar();
  // reused memory: every use of the new array follows the previous owner's device work
  if (chunk_->block.pending) Engine::Get()->AttachDeviceWork(chunk_->var, std::move(chunk_->block.pending));
}

NDArray NDArray::FromExternal(void* dptr, const TShape& shape, const Context& ctx, int dtype,
                              std::function<void()> deleter) {
  AX_CHECK(ValidDType(dtype), AX_ERR_TYPE, "unknown dtype code ", dtype);
  CheckedSize(shape, "NDArray");
  NDArray a;
  a.shape_ = shape;
  a.dtype_ = dtype;
  a.chunk_ = std::make_shared<Chunk>();
  a.chunk_->block.dptr = dptr;
  a.chunk_->block.ctx = ctx;
  a.chunk_->block.size = static_cast<size_t>(shape.Size()) * DTypeSize(dtype);
  a.chunk_->external_deleter = std::move(deleter);
  a.chunk_->var = Engine::Get()->NewVar();
  return a;
}

NDArray NDArray::Reshape(const TShape& shape) const {
  AX_CHECK(shape.Size() == shape_.Size(), AX_ERR_SHAPE, "reshape: cannot view an array of shape ", shape_.str(),
           " (", shape_.Size(), " elements) as ", shape.str(), " (", shape.Size(), " elements)");
  NDArray r = *this;
  r.shape_ = shape;
  return r;
}

NDArray NDArray::View(const TShape& shape, int dtype) const {
  const size_t want = static_cast<size_t>(shape.Size()) * DTypeSize(dtype);
  AX_CHECK(offset_ + want <= chunk_->block.size, AX_ERR_SHAPE, "view: ", shape.str(), " ", DTypeName(dtype),
           " (", want, " bytes) does not fit in ", chunk_->block.size - offset_, " bytes");
  NDArray r = *this;
  r.shape_ = shape;
  r.dtype_ = dtype;
  return r;
}

NDArray NDArray::Slice(int64_t begin, int64_t end) const {
  AX_CHECK(shape_.ndim() >= 1, AX_ERR_INDEX, "slice: cannot slice a 0-d array");
  int64_t n = shape_[0];
  AX_CHECK(begin >= 0 && begin <= end && end <= n, AX_ERR_INDEX, "slice: range [", begin, ", ", end,
           ") is out of bounds for axis 0 of shape ", shape_.str());
  NDArray r = *this;
  r.shape_[0] = end - begin;
  r.offset_ = offset_ + static_cast<size_t>(begin * shape_.ProdRange(1, shape_.ndim())) * DTypeSize(dtype_);
  return r;
}

NDArray NDArray::At(int64_t idx) const {
  AX_CHECK(shape_.ndim() >= 1, AX_ERR_INDEX, "index: cannot index a 0-d array");
  int64_t n = shape_[0];
  AX_CHECK(idx >= -n && idx < n, AX_ERR_INDEX, "index ", idx, " is out of bounds for axis 0 with size ", n);
  if (idx < 0) idx += n;
  NDArray r = Slice(idx, idx + 1);
  r.shape_ = TShape(shape_.begin() + 1, shape_.end());
  return r;
}

void CopyBytes(void* dst, const Context& dst_ctx, const void* src, const Context& src_ctx, size_t bytes) {
  if (bytes == 0) return;
  if (dst_ctx.dev_type == AX_CPU && src_ctx.dev_type == AX_CPU) {
    std::memcpy(dst, src, bytes);
    return;
  }
  const DeviceBackend* gpu = GpuBackend();
  AX_CHECK(gpu && gpu->copy, AX_ERR_NOT_SUPPORTED, "copy between ", src_ctx.str(), " and ", dst_ctx.str(),
           ": ", GpuUnavailableReason());
  gpu->copy(dst, dst_ctx.dev_type, src, src_ctx.dev_type, bytes);
}

void CopyFromTo(const NDArray& from, const NDArray& to) {
  AX_CHECK(from.shape() == to.shape() && from.dtype() == to.dtype(), from.shape() == to.shape() ? AX_ERR_TYPE : AX_ERR_SHAPE,
           "copy: cannot copy an array of shape ",
           from.shape().str(), " and dtype ", DTypeName(from.dtype()), " into one of shape ", to.shape().str(),
           " and dtype ", DTypeName(to.dtype()));
  if (from.chunk() == to.chunk()) {
    if (from.dptr() == to.dptr()) return;
    const char* f = static_cast<const char*>(from.dptr());
    const char* t = static_cast<const char*>(to.dptr());
    if (f < t + to.nbytes() && t < f + from.nbytes()) {  // overlapping views (a[1:] into a[:-1]): via a copy
      NDArray tmp(from.shape(), from.ctx(), from.dtype());
      CopyFromTo(from, tmp);
      CopyFromTo(tmp, to);
      return;
    }
  }
  const Context fc = from.ctx(), tc = to.ctx();
  const Context run = fc.dev_type == AX_GPU ? fc : tc;
  if (run.dev_type == AX_GPU) {
    const DeviceBackend* gpu = GpuBackend();
    AX_CHECK(gpu, AX_ERR_NOT_SUPPORTED, "copy from ", fc.str(), " to ", tc.str(), ": ", GpuUnavailableReason());
  }
  // between a GPU and the host or another GPU: on the GPU's copy stream, beside its compute
  const FnProperty prop = run.dev_type == AX_GPU && !(fc == tc) ? FnProperty::kCopy : FnProperty::kNormal;
  const size_t bytes = from.nbytes();
  Engine::Get()->Push(
      [from, to, bytes](const RunContext& rctx) {
        if (bytes == 0) return;
        if (!rctx.stream) {
          CopyBytes(to.dptr(), to.ctx(), from.dptr(), from.ctx(), bytes);
        } else {
          GpuBackend()->copy_async(to.dptr(), to.ctx().dev_type, from.dptr(), from.ctx().dev_type, bytes, rctx.stream);
        }
      },
      run, {from.var()}, {to.var()}, "_copyto", prop);
}

namespace {
// Staged host copies that finished (or were dropped) wake the threads waiting to stage the next
// one into the same array. One pair for all arrays: waits are rare and short.
std::mutex g_staged_mu;
std::condition_variable g_staged_cv;
}  // namespace

void NDArray::SyncCopyFromCPU(const void* data, size_t nbytes) const {
  AX_CHECK(nbytes == this->nbytes(), AX_ERR_SHAPE, "SyncCopyFromCPU: got ", nbytes, " bytes for an array of shape ",
           shape_.str(), " and dtype ", DTypeName(dtype_), " (", this->nbytes(), " bytes)");
  AX_CHECK(nbytes == 0 || data, AX_ERR_INVALID_ARGUMENT, "SyncCopyFromCPU: data is NULL");
  Chunk* c = chunk_.get();
  // to a GPU: always staged, then copied on the GPU's copy stream (it overlaps the compute stream)
  const bool gpu = ctx().dev_type == AX_GPU && GpuBackend();
  if (nbytes > 0 && (ctx().dev_type == AX_CPU || gpu)) {
    // At most one staged copy per array is in flight: a second waits until the first has run
    // (not until all work on the array is done, which would let the engine run dry while this
    // thread wakes up, copies and pushes the next batch's work).
    if (c->staged_copies.load(std::memory_order_acquire) != 0) {
      std::unique_lock<std::mutex> lk(g_staged_mu);
      g_staged_cv.wait(lk, [c] { return c->staged_copies.load(std::memory_order_acquire) == 0; });
    }
    if (gpu || Engine::Get()->HasPendingWork(var())) {
      NDArray stage(shape_, Context::CPU(), dtype_);
      std::memcpy(stage.dptr(), data, nbytes);
      // the count drops when the pushed work is gone, whether it ran or an earlier error skipped it
      c->staged_copies.fetch_add(1, std::memory_order_acq_rel);
      std::shared_ptr<void> done(nullptr, [held = chunk_](void*) {
        {
          std::lock_guard<std::mutex> lk(g_staged_mu);
          held->staged_copies.fetch_sub(1, std::memory_order_acq_rel);
        }
        g_staged_cv.notify_all();
      });
      NDArray to = *this;
      if (gpu) {
        Engine::Get()->Push(
            [stage, to, nbytes, done](const RunContext& rctx) {
              GpuBackend()->copy_async(to.dptr(), AX_GPU, stage.dptr(), AX_CPU, nbytes, rctx.stream);
            },
            ctx(), {stage.var()}, {var()}, "_copy_from_host", FnProperty::kCopy);
      } else {
        Engine::Get()->Push(
            [stage, to, nbytes, done](const RunContext&) { std::memcpy(to.dptr(), stage.dptr(), nbytes); },
            Context::CPU(), {stage.var()}, {var()}, "_copy_from_host");
      }
      return;
    }
  }
  WaitToWrite();
  CopyBytes(dptr(), ctx(), data, Context::CPU(), nbytes);
}

void NDArray::SyncCopyToCPU(void* data, size_t nbytes) const {
  AX_CHECK(nbytes == this->nbytes(), AX_ERR_SHAPE, "SyncCopyToCPU: got room for ", nbytes,
           " bytes for an array of shape ", shape_.str(), " and dtype ", DTypeName(dtype_), " (", this->nbytes(),
           " bytes)");
  AX_CHECK(nbytes == 0 || data, AX_ERR_INVALID_ARGUMENT, "SyncCopyToCPU: data is NULL");
  WaitToRead();
  CopyBytes(data, Context::CPU(), dptr(), ctx(), nbytes);
}

TShape InferReshape(const TShape& src_in, const std::vector<int64_t>& target_in, bool reverse, const char* who) {
  std::vector<int64_t> src(src_in.begin(), src_in.end()), target = target_in;
  if (reverse) {
    std::reverse(src.begin(), src.end());
    std::reverse(target.begin(), target.end());
  }
  const size_t ns = src.size();
  std::vector<int64_t> out;
  size_t si = 0;
  int infer_at = -1;
  auto bad = [&](const std::string& why) {
    std::string t = "(";
    for (size_t i = 0; i < target_in.size(); ++i) t += (i ? "," : "") + std::to_string(target_in[i]);
    Throw(AX_ERR_SHAPE, who, ": cannot reshape ", src_in.str(), " to ", t + (target_in.size() == 1 ? ",)" : ")"),
          ": ", why);
  };
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t t = target[i];
    if (t > 0) {
      out.push_back(t);
      ++si;
    } else if (t == 0) {
      if (si >= ns) bad("0 refers past the last input dimension");
      out.push_back(src[si++]);
    } else if (t == -1) {
      if (infer_at >= 0) bad("only one dimension can be -1");
      infer_at = static_cast<int>(out.size());
      out.push_back(1);
      ++si;
    } else if (t == -2) {
      while (si < ns) out.push_back(src[si++]);
    } else if (t == -3) {
      if (si + 1 >= ns) bad("-3 needs two input dimensions to merge");
      out.push_back(src[si] * src[si + 1]);
      si += 2;
    } else if (t == -4) {
      if (i + 2 >= target.size()) bad("-4 must be followed by two dimensions");
      if (si >= ns) bad("-4 refers past the last input dimension");
      int64_t d0 = src[si++], d1 = target[++i], d2 = target[++i];
      if (d1 == -1 && d2 == -1) bad("the two dimensions after -4 cannot both be -1");
      if (d1 == -1) d1 = d2 ? d0 / d2 : 0;
      if (d2 == -1) d2 = d1 ? d0 / d1 : 0;
      if (d1 < 0 || d2 < 0 || d1 * d2 != d0) bad(StrCat("cannot split ", d0, " into ", d1, " x ", d2));
      out.push_back(d1);
      out.push_back(d2);
    } else {
      bad(StrCat("invalid dimension ", t));
    }
  }
  if (infer_at >= 0) {
    int64_t rest = 1;
    for (size_t i = 0; i < out.size(); ++i)
      if (static_cast<int>(i) != infer_at) rest *= out[i];
    if (rest == 0) bad("-1 cannot be inferred next to a zero-size dimension");
    if (src_in.Size() % rest != 0) bad("the size is not divisible");
    out[infer_at] = src_in.Size() / rest;
  }
  if (reverse) std::reverse(out.begin(), out.end());
  TShape r(out.begin(), out.end());
  if (r.Size() != src_in.Size())
    bad(StrCat("sizes differ (", src_in.Size(), " vs ", r.Size(), " elements)"));
  return r;
}

}  // namespace axle
