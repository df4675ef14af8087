// CUDA kernels of the index ops (shape_index_op.cc): take, pick, one_hot, where and _shuffle, and
// the gradients _backward_take (atomic adds: indices may repeat) and _backward_pick. Indices of
// any dtype (float16 included) are read on the device and resolved as on the CPU (truncated
// toward zero, NaN as 0, then clipped or wrapped); take's mode='raise' checks them on the host
// first, with the CPU's message. _shuffle draws its permutation on the host from the same counter-based
// state, so it equals the CPU's for the same seed.
#include "cuda/cuda_common.cuh"
#include "ops/random_state.h"
#include "ops/shape_index_op.h"

namespace axle {
namespace cuda {
namespace {

// shape_index_op.cc's TruncIndex: toward zero, NaN as 0, huge values saturated.
AX_HD inline int64_t TruncIndex(double v) {
  return !(v == v) ? 0 : (v >= 9.2e18 ? INT64_MAX : (v <= -9.2e18 ? INT64_MIN : static_cast<int64_t>(v)));
}

// ... then ClipIndex or WrapIndex against an axis of size m.
AX_HD inline int64_t ResolveIndex(double v, int64_t m, int mode) {
  int64_t j = TruncIndex(v);
  if (mode == kWrap) {
    j %= m;
    return j < 0 ? j + m : j;
  }
  return j < 0 ? 0 : (j >= m ? m - 1 : j);  // clip; raise: already checked in range
}

IndexArray Indices(const TBlob& b, const NodeAttrs& attrs) {
  AX_CHECK(b.dtype >= 0 && b.dtype < 8, AX_ERR_NOT_SUPPORTED, attrs.Who(),
           ": no GPU kernel for indices of dtype ", DTypeStr(b.dtype));
  return IndexArray{b.dptr, b.dtype};
}

// mode='raise': every index must lie in [0, m - 1] (the CPU's ResolveIndices, same messages).
void CheckIndicesInRange(const NodeAttrs& attrs, const TBlob& idx, int64_t m, int axis, const TShape& data_shape,
                         cudaStream_t st) {
  const int64_t n = idx.Size();
  if (n == 0) return;
  AX_CHECK(m > 0, AX_ERR_INDEX, attrs.Who(), ": no index is in range for axis ", axis, " of size 0 (data shape ",
           data_shape.str(), ", mode='raise')");
  const int dtype = Indices(idx, attrs).dtype;
  std::vector<char> raw(static_cast<size_t>(n) * ItemSize(dtype));
  AX_CUDA_CHECK(cudaMemcpyAsync(raw.data(), idx.dptr, raw.size(), cudaMemcpyDeviceToHost, st));
  AX_CUDA_CHECK(cudaStreamSynchronize(st));
  const IndexArray host{raw.data(), dtype};  // read on the host
  for (int64_t i = 0; i < n; ++i) {
    const double v = host[i];
    AX_CHECK(v >= 0 && v <= static_cast<double>(m - 1), AX_ERR_INDEX, attrs.Who(), ": index ", v, " (at position ", i,
             " of indices) is out of range for axis ", axis, " of size ", m, " (data shape ", data_shape.str(),
             ", mode='raise')");
  }
}

// data as (outer, m, inner) along an axis.
struct AxisSplit {
  int axis;
  int64_t outer, m, inner;
};
AxisSplit Split(const TShape& s, int64_t axis) {
  const int a = static_cast<int>(axis < 0 ? axis + s.ndim() : axis);
  return {a, s.ProdRange(0, a), s[a], s.ProdRange(a + 1, s.ndim())};
}

// ---- take ---------------------------------------------------------------------------------------
// y (outer, k, inner)[i] = x[o, idx[j], e]
template <class T>
struct TakeF {
  const T* x;
  IndexArray idx;
  int64_t k, m, inner;
  int mode;
  AX_HD T operator()(int64_t i) const {
    const int64_t e = i % inner, j = (i / inner) % k, o = i / (inner * k);
    return x[(o * m + ResolveIndex(static_cast<double>(idx[j]), m, mode)) * inner + e];
  }
};
void TakeCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                 const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull) return;
  const auto& p = attrs.get<TakeParam>();
  const AxisSplit s = Split(in[0].shape, p.axis);
  if (p.mode == kRaise) CheckIndicesInRange(attrs, in[1], s.m, s.axis, in[0].shape, Stream(ctx));
  if (out[0].Size() == 0) return;
  const IndexArray idx = Indices(in[1], attrs);
  AX_GPU_MOVE_SWITCH(out[0].dtype, req[0] == OpReq::kAdd, T, attrs.Who(), {
    Map(ctx, out[0].Size(), req[0], out[0].ptr<T>(), TakeF<T>{in[0].ptr<T>(), idx, in[1].Size(), s.m, s.inner, p.mode},
        "take");
  });
}

// dx[o, idx[j], e] += dy[o, j, e]
template <class T>
__global__ void TakeGradKernel(int64_t n, int64_t k, int64_t m, int64_t inner, int mode, IndexArray idx, const T* dy,
                               T* dx) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
    const int64_t e = i % inner, j = (i / inner) % k, o = i / (inner * k);
    AtomicAdd(dx + (o * m + ResolveIndex(static_cast<double>(idx[j]), m, mode)) * inner + e, dy[i]);
  }
}
// (ograd, indices, a) -> a's gradient
void TakeGradCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                     const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull) return;
  const auto& p = attrs.get<TakeParam>();
  const AxisSplit s = Split(out[0].shape, p.axis);
  const int mode = p.mode == kWrap ? kWrap : kClip;  // raise was checked forward
  cudaStream_t st = Stream(ctx);
  ZeroUnlessAdd(ctx, out[0], req[0]);
  const int64_t n = in[0].Size();
  if (n == 0) return;
  const IndexArray idx = Indices(in[1], attrs);
  AX_GPU_TYPE_SWITCH(out[0].dtype, T, attrs.Who(), {
    TakeGradKernel<<<Blocks(n), kThreads, 0, st>>>(n, in[1].Size(), s.m, s.inner, mode, idx, in[0].ptr<T>(),
                                                   out[0].ptr<T>());
    AX_CUDA_LAUNCHED("_backward_take");
  });
}

// ---- pick ---------------------------------------------------------------------------------------
int PickMode(const NodeAttrs& attrs) { return attrs.get<PickParam>().mode == 0 ? kClip : kWrap; }

// y[i] = x[o, idx[i], e] with i = (o, e)
template <class T>
struct PickF {
  const T* x;
  IndexArray idx;
  int64_t m, inner;
  int mode;
  AX_HD T operator()(int64_t i) const {
    return x[(i / inner * m + ResolveIndex(static_cast<double>(idx[i]), m, mode)) * inner + i % inner];
  }
};
void PickCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                 const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull || out[0].Size() == 0) return;
  const AxisSplit s = Split(in[0].shape, *attrs.get<PickParam>().axis);
  const IndexArray idx = Indices(in[1], attrs);
  AX_GPU_MOVE_SWITCH(out[0].dtype, req[0] == OpReq::kAdd, T, attrs.Who(), {
    Map(ctx, out[0].Size(), req[0], out[0].ptr<T>(), PickF<T>{in[0].ptr<T>(), idx, s.m, s.inner, PickMode(attrs)},
        "pick");
  });
}

// dx[o, idx[i], e] += dy[i]: each output position picks its own element (disjoint writes)
template <class T>
__global__ void PickGradKernel(int64_t n, int64_t m, int64_t inner, int mode, IndexArray idx, const T* dy, T* dx) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
    T& t = dx[(i / inner * m + ResolveIndex(static_cast<double>(idx[i]), m, mode)) * inner + i % inner];
    t = T(t + dy[i]);
  }
}
// (ograd, data, index) -> data's gradient
void PickGradCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                     const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull) return;
  const AxisSplit s = Split(out[0].shape, *attrs.get<PickParam>().axis);
  cudaStream_t st = Stream(ctx);
  ZeroUnlessAdd(ctx, out[0], req[0]);
  const int64_t n = in[0].Size();
  if (n == 0) return;
  const IndexArray idx = Indices(in[2], attrs);
  AX_GPU_TYPE_SWITCH(out[0].dtype, T, attrs.Who(), {
    PickGradKernel<<<Blocks(n), kThreads, 0, st>>>(n, s.m, s.inner, PickMode(attrs), idx, in[0].ptr<T>(),
                                                   out[0].ptr<T>());
    AX_CUDA_LAUNCHED("_backward_pick");
  });
}

// ---- one_hot ------------------------------------------------------------------------------------
template <class T>
struct OneHotF {
  IndexArray idx;
  int64_t depth;
  T on, off;
  AX_HD T operator()(int64_t i) const {
    // an index out of range gives a row of off
    return i % depth == TruncIndex(static_cast<double>(idx[i / depth])) ? on : off;
  }
};
void OneHotCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                   const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull || out[0].Size() == 0) return;
  const auto& p = attrs.get<OneHotParam>();
  const IndexArray idx = Indices(in[0], attrs);
  AX_GPU_TYPE_SWITCH(out[0].dtype, T, attrs.Who(), {
    Map(ctx, out[0].Size(), req[0], out[0].ptr<T>(),
        OneHotF<T>{idx, int64_t(p.depth), T(fn::CastValue<T>(p.on_value)), T(fn::CastValue<T>(p.off_value))},
        "one_hot");
  });
}

// ---- where --------------------------------------------------------------------------------------
// out[i] = cond[i / row] != 0 ? x[i] : y[i] (row > 1: a 1-D condition, one flag per row)
template <class T>
struct WhereF {
  IndexArray c;
  const T *x, *y;
  int64_t row;
  AX_HD T operator()(int64_t i) const { return static_cast<double>(c[i / row]) != 0 ? x[i] : y[i]; }
};
void WhereCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                  const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const int64_t n = out[0].Size();
  if (req[0] == OpReq::kNull || n == 0) return;
  const int64_t row = in[0].shape == out[0].shape ? 1 : n / in[0].Size();
  const IndexArray cond = Indices(in[0], attrs);
  AX_GPU_MOVE_SWITCH(out[0].dtype, req[0] == OpReq::kAdd, T, attrs.Who(), {
    Map(ctx, n, req[0], out[0].ptr<T>(), WhereF<T>{cond, in[1].ptr<T>(), in[2].ptr<T>(), row}, "where");
  });
}

// ---- _shuffle -----------------------------------------------------------------------------------
template <class T>
struct RowPermF {
  const T* x;
  const int64_t* perm;
  int64_t row;
  AX_HD T operator()(int64_t i) const { return x[perm[i / row] * row + i % row]; }
};
void ShuffleCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                    const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull) return;
  const TShape& s = in[0].shape;
  const int64_t n = s.ndim() == 0 ? 1 : s[0];
  const std::vector<int64_t> perm = ShufflePermutation(ctx.rng, n);  // the CPU's, from this device's state
  const int64_t total = out[0].Size();
  if (total == 0) return;
  cudaStream_t st = Stream(ctx);
  const size_t bytes = static_cast<size_t>(total) * ItemSize(out[0].dtype);
  const bool inplace = in[0].dptr == out[0].dptr;
  Scratch ws(sizeof(int64_t) * perm.size() + (inplace ? bytes : 0), st);
  int64_t* dperm = ws.at<int64_t>(0);
  // pageable host memory: the call returns once perm is staged, so perm may go out of scope after
  AX_CUDA_CHECK(cudaMemcpyAsync(dperm, perm.data(), sizeof(int64_t) * perm.size(), cudaMemcpyHostToDevice, st));
  const void* src = in[0].dptr;
  if (inplace) {  // read from a copy
    void* copy = dperm + perm.size();
    AX_CUDA_CHECK(cudaMemcpyAsync(copy, src, bytes, cudaMemcpyDeviceToDevice, st));
    src = copy;
  }
  AX_GPU_MOVE_SWITCH(out[0].dtype, req[0] == OpReq::kAdd, T, attrs.Who(), {
    Map(ctx, total, req[0], out[0].ptr<T>(), RowPermF<T>{static_cast<const T*>(src), dperm, total / n}, "_shuffle");
  });
}

}  // namespace

void RegisterIndexKernels() {
  SetKernel("take", TakeCompute);
  SetKernel("_backward_take", TakeGradCompute);
  SetKernel("pick", PickCompute);
  SetKernel("_backward_pick", PickGradCompute);
  SetKernel("one_hot", OneHotCompute);
  SetKernel("where", WhereCompute);
  SetKernel("_shuffle", ShuffleCompute);
}

}  // namespace cuda
}  // namespace axle
