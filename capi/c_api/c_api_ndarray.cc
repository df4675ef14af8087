// C API: versions, engine, storage, NDArray, save/load, DLPack.
#include <vector>

#include "c_api/c_api_common.h"
#include "common/backend.h"
#include "ndarray/dlpack.h"
#include "ndarray/serialize.h"
#include "ops/random_state.h"
#include "storage/storage.h"

namespace axle {
dlpack::ManagedTensor* ToDLPack(const NDArray& a);
dlpack::ManagedTensorVersioned* ToDLPackVersioned(const NDArray& a);
void* ToDLPackForStream(const NDArray& a, bool versioned, int64_t stream);
NDArray FromDLPack(dlpack::ManagedTensor* m);
NDArray FromDLPackVersioned(dlpack::ManagedTensorVersioned* m);
}  // namespace axle

using namespace axle;  // NOLINT

namespace {
// Borrowed thread-local results of AxNDArrayLoad.
struct LoadResult {
  std::vector<AxNDArrayHandle> handles;
  std::vector<std::string> names;
  std::vector<const char*> name_ptrs;
};
thread_local LoadResult load_result;

int PublishLoad(std::vector<NDArray>& arrays, std::vector<std::string>& names, int* out_num,
                AxNDArrayHandle** out_arrays, int* out_num_names, const char*** out_names) {
  AX_CHECK(arrays.size() < (1u << 30), AX_ERR_IO, "load: too many arrays");
  LoadResult& r = load_result;
  r.handles.clear();
  for (auto& a : arrays) r.handles.push_back(NewHandle(std::move(a)));
  r.names = std::move(names);
  r.name_ptrs.clear();
  for (auto& n : r.names) r.name_ptrs.push_back(n.c_str());
  *out_num = static_cast<int>(r.handles.size());
  *out_arrays = r.handles.data();
  *out_num_names = static_cast<int>(r.names.size());
  *out_names = r.name_ptrs.data();
  return AX_OK;
}

Context MakeContext(int dev_type, int dev_id) {
  Context c{dev_type, dev_id};
  CheckContext(c);
  return c;
}
}  // namespace

extern "C" {

const char* AxGetLastError(void) { return LastError(); }

int AxGetVersion(int* major, int* minor, int* patch) {
  AX_API_BEGIN
  AX_CHECK_NOTNULL(major);
  AX_CHECK_NOTNULL(minor);
  AX_CHECK_NOTNULL(patch);
  *major = AX_VERSION_MAJOR;
  *minor = AX_VERSION_MINOR;
  *patch = AX_VERSION_PATCH;
  AX_API_END
}

int AxGetLiveHandleCount(int64_t* out) {
  AX_API_BEGIN
  AX_CHECK_NOTNULL(out);
  *out = Handles::Get()->Count();
  AX_API_END
}

int AxEngineWaitAll(void) {
  AX_API_BEGIN
  Engine::Get()->WaitAll();
  AX_API_END
}

int AxEngineGetType(const char** out) {
  AX_API_BEGIN
  AX_CHECK_NOTNULL(out);
  *out = Engine::Get()->Type();
  AX_API_END
}

int AxGetGPUCount(int* out) {
  AX_API_BEGIN
  AX_CHECK_NOTNULL(out);
  *out = GpuCount();
  AX_API_END
}

int AxStorageGetStats(int dev_type, int dev_id, int64_t* bytes_in_use, int64_t* bytes_pooled, int64_t* num_allocs,
                      int64_t* pool_hits, int64_t* peak_bytes_in_use) {
  AX_API_BEGIN
  StorageStats s = Storage::Get()->Stats(MakeContext(dev_type, dev_id));
  if (bytes_in_use) *bytes_in_use = s.bytes_in_use;
  if (bytes_pooled) *bytes_pooled = s.bytes_pooled;
  if (num_allocs) *num_allocs = s.num_allocs;
  if (pool_hits) *pool_hits = s.pool_hits;
  if (peak_bytes_in_use) *peak_bytes_in_use = s.peak_bytes_in_use;
  AX_API_END
}

int AxStorageEmptyCache(int dev_type, int dev_id) {
  AX_API_BEGIN
  Storage::Get()->EmptyCache(MakeContext(dev_type, dev_id));
  AX_API_END
}

int AxRandomSeed(int seed) {
  AX_API_BEGIN
  SeedAll(seed);
  AX_API_END
}

int AxNDArrayCreate(const int64_t* shape, int ndim, int dev_type, int dev_id, int dtype, AxNDArrayHandle* out) {
  AX_API_BEGIN
  AX_CHECK_NOTNULL(out);
  AX_CHECK(ndim >= 0 && ndim <= kMaxNDim, AX_ERR_SHAPE, "AxNDArrayCreate: ndim must be in [0, ", kMaxNDim, "], got ", ndim);
  AX_CHECK(ndim == 0 || shape, AX_ERR_INVALID_ARGUMENT, "AxNDArrayCreate: argument 'shape' is NULL");
  TShape s(shape, shape + ndim);
  *out = NewHandle(NDArray(s, MakeContext(dev_type, dev_id), dtype));
  AX_API_END
}

void AxNDArrayFree(AxNDArrayHandle handle) {
  if (!handle) return;
  try {
    if (Handles::Get()->Remove(handle, HandleKind::kNDArray)) delete handle;
    else SetLastError("AxNDArrayFree: handle is not a live NDArray handle (freed twice?)");
  } catch (...) {
    HandleException();
  }
}

int AxNDArrayGetShape(AxNDArrayHandle handle, int* out_ndim, const int64_t** out_shape) {
  AX_API_BEGIN
  const NDArray& a = Arr(handle, "AxNDArrayGetShape: handle");
  AX_CHECK_NOTNULL(out_ndim);
  AX_CHECK_NOTNULL(out_shape);
  *out_ndim = a.shape().ndim();
  *out_shape = a.shape().data();
  AX_API_END
}

int AxNDArrayGetDType(AxNDArrayHandle handle, int* out_dtype) {
  AX_API_BEGIN
  const NDArray& a = Arr(handle, "AxNDArrayGetDType: handle");
  AX_CHECK_NOTNULL(out_dtype);
  *out_dtype = a.dtype();
  AX_API_END
}

int AxNDArrayGetContext(AxNDArrayHandle handle, int* out_dev_type, int* out_dev_id) {
  AX_API_BEGIN
  const NDArray& a = Arr(handle, "AxNDArrayGetContext: handle");
  AX_CHECK_NOTNULL(out_dev_type);
  AX_CHECK_NOTNULL(out_dev_id);
  *out_dev_type = a.ctx().dev_type;
  *out_dev_id = a.ctx().dev_id;
  AX_API_END
}

int AxNDArraySyncCopyFromCPU(AxNDArrayHandle handle, const void* data, size_t nbytes) {
  AX_API_BEGIN
  Arr(handle, "AxNDArraySyncCopyFromCPU: handle").SyncCopyFromCPU(data, nbytes);
  AX_API_END
}

int AxNDArraySyncCopyToCPU(AxNDArrayHandle handle, void* data, size_t nbytes) {
  AX_API_BEGIN
  Arr(handle, "AxNDArraySyncCopyToCPU: handle").SyncCopyToCPU(data, nbytes);
  AX_API_END
}

int AxNDArrayCopyFromTo(AxNDArrayHandle src, AxNDArrayHandle dst) {
  AX_API_BEGIN
  CopyFromTo(Arr(src, "AxNDArrayCopyFromTo: src"), Arr(dst, "AxNDArrayCopyFromTo: dst"));
  AX_API_END
}

int AxNDArrayWaitToRead(AxNDArrayHandle handle) {
  AX_API_BEGIN
  Arr(handle, "AxNDArrayWaitToRead: handle").WaitToRead();
  AX_API_END
}

int AxNDArrayWaitToWrite(AxNDArrayHandle handle) {
  AX_API_BEGIN
  Arr(handle, "AxNDArrayWaitToWrite: handle").WaitToWrite();
  AX_API_END
}

int AxNDArrayReshape(AxNDArrayHandle handle, int ndim, const int64_t* dims, int reverse, AxNDArrayHandle* out) {
  AX_API_BEGIN
  const NDArray& a = Arr(handle, "AxNDArrayReshape: handle");
  AX_CHECK_NOTNULL(out);
  AX_CHECK(ndim >= 0 && ndim <= kMaxNDim, AX_ERR_SHAPE, "reshape: ndim must be in [0, ", kMaxNDim, "], got ", ndim);
  AX_CHECK(ndim == 0 || dims, AX_ERR_INVALID_ARGUMENT, "AxNDArrayReshape: argument 'dims' is NULL");
  TShape s = InferReshape(a.shape(), std::vector<int64_t>(dims, dims + ndim), reverse != 0, "reshape");
  *out = NewHandle(a.Reshape(s));
  AX_API_END
}

int AxNDArraySlice(AxNDArrayHandle handle, int64_t begin, int64_t end, AxNDArrayHandle* out) {
  AX_API_BEGIN
  const NDArray& a = Arr(handle, "AxNDArraySlice: handle");
  AX_CHECK_NOTNULL(out);
  *out = NewHandle(a.Slice(begin, end));
  AX_API_END
}

int AxNDArrayAt(AxNDArrayHandle handle, int64_t idx, AxNDArrayHandle* out) {
  AX_API_BEGIN
  const NDArray& a = Arr(handle, "AxNDArrayAt: handle");
  AX_CHECK_NOTNULL(out);
  *out = NewHandle(a.At(idx));
  AX_API_END
}

int AxNDArraySave(const char* fname, int num, const AxNDArrayHandle* arrays, const char* const* names) {
  AX_API_BEGIN
  AX_CHECK_NOTNULL(fname);
  AX_CHECK(num >= 0, AX_ERR_INVALID_ARGUMENT, "AxNDArraySave: num is negative");
  AX_CHECK(num == 0 || arrays, AX_ERR_INVALID_ARGUMENT, "AxNDArraySave: argument 'arrays' is NULL");
  std::vector<NDArray> v;
  std::vector<std::string> n;
  for (int i = 0; i < num; ++i) {
    v.push_back(Arr(arrays[i], StrCat("AxNDArraySave: arrays[", i, "]").c_str()));
    if (names) {
      AX_CHECK(names[i], AX_ERR_INVALID_ARGUMENT, "AxNDArraySave: names[", i, "] is NULL");
      n.emplace_back(names[i]);
    }
  }
  SaveParamsFile(fname, v, n);
  AX_API_END
}

int AxNDArrayLoad(const char* fname, int* out_num, AxNDArrayHandle** out_arrays, int* out_num_names,
                  const char*** out_names) {
  AX_API_BEGIN
  AX_CHECK_NOTNULL(fname);
  AX_CHECK_NOTNULL(out_num);
  AX_CHECK_NOTNULL(out_arrays);
  AX_CHECK_NOTNULL(out_num_names);
  AX_CHECK_NOTNULL(out_names);
  std::vector<NDArray> v;
  std::vector<std::string> n;
  LoadParamsFile(fname, &v, &n);
  return PublishLoad(v, n, out_num, out_arrays, out_num_names, out_names);
  AX_API_END
}

int AxNDArrayLoadFromBuffer(const void* buf, size_t size, int* out_num, AxNDArrayHandle** out_arrays,
                            int* out_num_names, const char*** out_names) {
  AX_API_BEGIN
  AX_CHECK(buf || size == 0, AX_ERR_INVALID_ARGUMENT, "AxNDArrayLoadFromBuffer: argument 'buf' is NULL");
  AX_CHECK_NOTNULL(out_num);
  AX_CHECK_NOTNULL(out_arrays);
  AX_CHECK_NOTNULL(out_num_names);
  AX_CHECK_NOTNULL(out_names);
  std::vector<NDArray> v;
  std::vector<std::string> n;
  LoadParams(static_cast<const char*>(buf), size, "<buffer>", &v, &n);
  return PublishLoad(v, n, out_num, out_arrays, out_num_names, out_names);
  AX_API_END
}

int AxNDArrayToDLPack(AxNDArrayHandle handle, void** out_dlmanaged_tensor) {
  AX_API_BEGIN
  const NDArray& a = Arr(handle, "AxNDArrayToDLPack: handle");
  AX_CHECK_NOTNULL(out_dlmanaged_tensor);
  *out_dlmanaged_tensor = ToDLPack(a);
  AX_API_END
}

int AxNDArrayToDLPackVersioned(AxNDArrayHandle handle, void** out_dlmanaged_tensor_versioned) {
  AX_API_BEGIN
  const NDArray& a = Arr(handle, "AxNDArrayToDLPackVersioned: handle");
  AX_CHECK_NOTNULL(out_dlmanaged_tensor_versioned);
  *out_dlmanaged_tensor_versioned = ToDLPackVersioned(a);
  AX_API_END
}

int AxNDArrayToDLPackForStream(AxNDArrayHandle handle, int versioned, int64_t stream, void** out_tensor) {
  AX_API_BEGIN
  const NDArray& a = Arr(handle, "AxNDArrayToDLPackForStream: handle");
  AX_CHECK_NOTNULL(out_tensor);
  *out_tensor = ToDLPackForStream(a, versioned != 0, stream);
  AX_API_END
}

int AxNDArrayFromDLPackVersioned(void* dlmanaged_tensor_versioned, AxNDArrayHandle* out) {
  AX_API_BEGIN
  AX_CHECK_NOTNULL(dlmanaged_tensor_versioned);
  AX_CHECK_NOTNULL(out);
  *out = NewHandle(FromDLPackVersioned(static_cast<dlpack::ManagedTensorVersioned*>(dlmanaged_tensor_versioned)));
  AX_API_END
}

int AxNDArrayFromDLPack(void* dlmanaged_tensor, AxNDArrayHandle* out) {
  AX_API_BEGIN
  AX_CHECK_NOTNULL(dlmanaged_tensor);
  AX_CHECK_NOTNULL(out);
  *out = NewHandle(FromDLPack(static_cast<dlpack::ManagedTensor*>(dlmanaged_tensor)));
  AX_API_END
}

}  // extern "C"
