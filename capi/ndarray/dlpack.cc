// Zero-copy exchange through DLPack.
#include "ndarray/dlpack.h"

#include "common/backend.h"
#include "ndarray/ndarray.h"

namespace axle {
namespace {

dlpack::DataType ToDL(int dtype) {
  switch (dtype) {
    case AX_FLOAT32: return {dlpack::kDLFloat, 32, 1};
    case AX_FLOAT64: return {dlpack::kDLFloat, 64, 1};
    case AX_FLOAT16: return {dlpack::kDLFloat, 16, 1};
    case AX_UINT8: return {dlpack::kDLUInt, 8, 1};
    case AX_INT32: return {dlpack::kDLInt, 32, 1};
    case AX_INT8: return {dlpack::kDLInt, 8, 1};
    case AX_INT64: return {dlpack::kDLInt, 64, 1};
    case AX_BOOL: return {dlpack::kDLBool, 8, 1};
  }
  Throw(AX_ERR_TYPE, "DLPack: unknown dtype code ", dtype);
}

int FromDL(const dlpack::DataType& t) {
  AX_CHECK(t.lanes == 1, AX_ERR_TYPE, "DLPack: vector types (lanes=", t.lanes, ") are not supported");
  if (t.code == dlpack::kDLFloat && t.bits == 32) return AX_FLOAT32;
  if (t.code == dlpack::kDLFloat && t.bits == 64) return AX_FLOAT64;
  if (t.code == dlpack::kDLFloat && t.bits == 16) return AX_FLOAT16;
  if (t.code == dlpack::kDLUInt && t.bits == 8) return AX_UINT8;
  if (t.code == dlpack::kDLInt && t.bits == 32) return AX_INT32;
  if (t.code == dlpack::kDLInt && t.bits == 8) return AX_INT8;
  if (t.code == dlpack::kDLInt && t.bits == 64) return AX_INT64;
  if (t.code == dlpack::kDLBool && t.bits == 8) return AX_BOOL;
  Throw(AX_ERR_TYPE, "DLPack: unsupported dtype (code ", int(t.code), ", bits ", int(t.bits), ")");
}

// What an exported tensor keeps alive: the array (hence its storage) and its shape.
template <class Managed>
struct ExportCtx {
  NDArray array;
  int64_t shape[kMaxNDim];
  Managed managed;
  static void Delete(Managed* self) { delete static_cast<ExportCtx*>(self->manager_ctx); }
};

// stream: nullptr for the host (wait for everything pending on a), else the consumer's stream as
// __dlpack__(stream=...) gives it: for a GPU array, the engine's pending work on a is ordered
// before that stream's later work without blocking the host (-1: no ordering at all; 1 and 2
// are CUDA's legacy and per-thread default streams). A CPU array ignores it.
template <class Managed>
Managed* Export(const NDArray& a, const int64_t* stream = nullptr) {
  if (stream) {
    AX_CHECK(*stream >= -1 && *stream != 0, AX_ERR_INVALID_ARGUMENT, "DLPack: stream ", *stream,
             " is not a consumer stream (DLPack: 1 legacy default, 2 per-thread default, -1 none, or a stream "
             "handle; 0 is ambiguous)");
  }
  if (stream && a.ctx().dev_type == AX_GPU) {
    // the consumer may read and write: its stream follows every pending read and write
    Engine::Get()->WaitToWriteOnStream(a.var(), *stream == -1 ? nullptr : reinterpret_cast<void*>(*stream));
  } else {
    a.WaitToWrite();  // the consumer may read and write: nothing may still be pending on it
  }
  auto* c = new ExportCtx<Managed>();
  c->array = a;
  const TShape& s = a.shape();
  for (int i = 0; i < s.ndim(); ++i) c->shape[i] = s[i];
  dlpack::Tensor& t = c->managed.dl_tensor;
  t.data = a.dptr();
  t.device = {a.ctx().dev_type == AX_GPU ? dlpack::kDLCUDA : dlpack::kDLCPU, a.ctx().dev_id};
  t.ndim = s.ndim();
  t.dtype = ToDL(a.dtype());
  t.shape = c->shape;
  t.strides = nullptr;
  t.byte_offset = 0;
  c->managed.manager_ctx = c;
  c->managed.deleter = ExportCtx<Managed>::Delete;
  return &c->managed;
}

// Wraps a consumer-side tensor; release() runs the producer's deleter once no array views it.
NDArray Import(const dlpack::Tensor& t, std::function<void()> release);

}  // namespace

dlpack::ManagedTensor* ToDLPack(const NDArray& a) { return Export<dlpack::ManagedTensor>(a); }

dlpack::ManagedTensorVersioned* ToDLPackVersioned(const NDArray& a) {
  auto* m = Export<dlpack::ManagedTensorVersioned>(a);
  m->version = {1, 0};
  m->flags = 0;
  return m;
}

void* ToDLPackForStream(const NDArray& a, bool versioned, int64_t stream) {
  if (!versioned) return Export<dlpack::ManagedTensor>(a, &stream);
  auto* m = Export<dlpack::ManagedTensorVersioned>(a, &stream);
  m->version = {1, 0};
  m->flags = 0;
  return m;
}

NDArray FromDLPack(dlpack::ManagedTensor* m) {
  AX_CHECK(m, AX_ERR_INVALID_ARGUMENT, "DLPack: the tensor is NULL");
  return Import(m->dl_tensor, [m] {
    if (m->deleter) m->deleter(m);
  });
}

NDArray FromDLPackVersioned(dlpack::ManagedTensorVersioned* m) {
  AX_CHECK(m, AX_ERR_INVALID_ARGUMENT, "DLPack: the tensor is NULL");
  AX_CHECK(m->version.major == 1, AX_ERR_NOT_SUPPORTED, "DLPack: version ", m->version.major, ".", m->version.minor,
           " is not supported (1.x is)");
  AX_CHECK(!(m->flags & dlpack::kFlagReadOnly), AX_ERR_INVALID_ARGUMENT,
           "DLPack: the tensor is read-only; Axle arrays are writable (copy it first)");
  return Import(m->dl_tensor, [m] {
    if (m->deleter) m->deleter(m);
  });
}

namespace {
NDArray Import(const dlpack::Tensor& t, std::function<void()> release) {
  AX_CHECK(t.ndim >= 0 && t.ndim <= kMaxNDim, AX_ERR_SHAPE, "DLPack: unsupported ndim ", t.ndim);
  AX_CHECK(t.ndim == 0 || t.shape, AX_ERR_INVALID_ARGUMENT, "DLPack: shape is NULL");
  TShape shape(t.shape, t.shape + t.ndim);
  CheckedSize(shape, "DLPack");
  AX_CHECK(t.data || shape.Size() == 0, AX_ERR_INVALID_ARGUMENT, "DLPack: data is NULL in a tensor of shape ",
           shape.str());
  if (t.strides && shape.Size() > 0) {  // only compact row-major layouts can be viewed without a copy
    int64_t expect = 1;
    for (int i = t.ndim - 1; i >= 0; --i) {
      AX_CHECK(shape[i] <= 1 || t.strides[i] == expect, AX_ERR_INVALID_ARGUMENT,
               "DLPack: only C-contiguous tensors can be shared (shape ", shape.str(), ")");
      expect *= shape[i];
    }
  }
  Context ctx;
  if (t.device.device_type == dlpack::kDLCPU || t.device.device_type == dlpack::kDLCUDAHost) {
    ctx = Context::CPU();
  } else if (t.device.device_type == dlpack::kDLCUDA) {
    ctx = Context{AX_GPU, t.device.device_id};
    CheckContext(ctx);
    // the producer's kernels may still be writing it on a stream of its own: Axle's streams do not
    // wait for other streams, so finish the device's queued work once here
    if (const DeviceBackend* gpu = GpuBackend())
      if (gpu->synchronize) gpu->synchronize(ctx.dev_id);
  } else {
    Throw(AX_ERR_NOT_SUPPORTED, "DLPack: device type ", t.device.device_type, " is not supported");
  }
  int dtype = FromDL(t.dtype);
  void* data = static_cast<char*>(t.data) + t.byte_offset;
  return NDArray::FromExternal(data, shape, ctx, dtype, std::move(release));
}
}  // namespace

}  // namespace axle
