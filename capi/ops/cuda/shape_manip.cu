// CUDA kernels of stack, SliceChannel (split), slice_axis, tile and repeat with the gradients
// _backward_slice_axis, _backward_tile and _backward_repeat (shape_manip_op.cc). Row copies
// between a part and a whole (the shared machinery of Concat, stack, split and slice_axis) are 2-D
// device copies when they overwrite and a kernel when they accumulate.
#include "cuda/cuda_common.cuh"
#include "ops/shape_manip_op.h"

namespace axle {
namespace cuda {

// part (outer rows of len) <-> whole (outer rows of wrow) at element offset off within each row:
// split copies whole -> part, else part -> whole; add accumulates into the destination.
template <class T>
__global__ void PartRowsKernel(int64_t outer, int64_t len, int64_t wrow, int64_t off, T* part, T* whole, bool split) {
  const int64_t n = outer * len;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
    T& w = whole[(i / len) * wrow + off + i % len];
    if (split) part[i] = T(part[i] + w);
    else w = T(w + part[i]);
  }
}
void PartRows(const OpContext& ctx, const char* who, const TBlob& part, const TBlob& whole, int64_t outer, int64_t len,
              int64_t wrow, int64_t off, bool split, OpReq req) {
  if (req == OpReq::kNull || outer * len == 0) return;
  if (req != OpReq::kAdd) {
    const size_t item = ItemSize(whole.dtype);
    char* w = static_cast<char*>(whole.dptr) + off * item;
    const size_t pw = static_cast<size_t>(len) * item, ww = static_cast<size_t>(wrow) * item;
    if (split)
      AX_CUDA_CHECK(cudaMemcpy2DAsync(part.dptr, pw, w, ww, pw, outer, cudaMemcpyDeviceToDevice, Stream(ctx)));
    else
      AX_CUDA_CHECK(cudaMemcpy2DAsync(w, ww, part.dptr, pw, pw, outer, cudaMemcpyDeviceToDevice, Stream(ctx)));
    return;
  }
  AX_GPU_TYPE_SWITCH(whole.dtype, T, who, {
    PartRowsKernel<<<Blocks(outer * len), kThreads, 0, Stream(ctx)>>>(outer, len, wrow, off, part.ptr<T>(),
                                                                      whole.ptr<T>(), split);
    AX_CUDA_LAUNCHED(who);
  });
}

// parts[i] (outer, lens[i]) side by side in whole (outer, sum of lens); reqs: per part when split,
// else reqs[0] for whole.
void ConcatParts(const OpContext& ctx, const char* who, const std::vector<TBlob>& parts,
                 const std::vector<int64_t>& lens, const TBlob& whole, int64_t outer, bool split,
                 const std::vector<OpReq>& reqs) {
  int64_t wrow = 0, off = 0;
  for (int64_t l : lens) wrow += l;
  for (size_t i = 0; i < parts.size(); ++i) {
    PartRows(ctx, who, parts[i], whole, outer, lens[i], wrow, off, split, split ? reqs[i] : reqs[0]);
    off += lens[i];
  }
}

namespace {

// ---- stack / SliceChannel ------------------------------------------------------------------------
void StackCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                  const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const TShape& s = out[0].shape;
  int axis = attrs.get<StackParam>().axis;
  if (axis < 0) axis += s.ndim();
  const int64_t inner = s.ProdRange(axis + 1, s.ndim());
  ConcatParts(ctx, "stack", in, std::vector<int64_t>(in.size(), inner), out[0], s.ProdRange(0, axis), false, req);
}

void SliceChannelCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                         const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const TShape& s = in[0].shape;
  int axis = attrs.get<SliceChannelParam>().axis;
  if (axis < 0) axis += s.ndim();
  const int64_t len = s[axis] / static_cast<int64_t>(out.size()) * s.ProdRange(axis + 1, s.ndim());
  ConcatParts(ctx, "SliceChannel", out, std::vector<int64_t>(out.size(), len), in[0], s.ProdRange(0, axis), true, req);
}

// ---- slice_axis ----------------------------------------------------------------------------------
// The window of slice_axis on big (validated by shape inference): outer, its row, the big row
// and the offset of the window within a big row (elements).
struct Window {
  int64_t outer, len, wrow, off;
};
Window SliceAxisWindow(const NodeAttrs& attrs, const TShape& big, const TShape& small) {
  const auto& p = attrs.get<SliceAxisParam>();
  const int axis = p.axis < 0 ? p.axis + big.ndim() : p.axis;
  const int64_t inner = big.ProdRange(axis + 1, big.ndim()), begin = p.begin < 0 ? p.begin + big[axis] : p.begin;
  return {big.ProdRange(0, axis), small[axis] * inner, big[axis] * inner, begin * inner};
}
void SliceAxisCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const Window w = SliceAxisWindow(attrs, in[0].shape, out[0].shape);
  PartRows(ctx, "slice_axis", out[0], in[0], w.outer, w.len, w.wrow, w.off, true, req[0]);
}
// (ograd, data) -> zeros of data's shape with ograd at the window
void SliceAxisGradCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                          const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull) return;
  const Window w = SliceAxisWindow(attrs, out[0].shape, in[0].shape);
  ZeroUnlessAdd(ctx, out[0], req[0]);
  PartRows(ctx, "_backward_slice_axis", in[0], out[0], w.outer, w.len, w.wrow, w.off, false, req[0]);
}

// ---- tile ----------------------------------------------------------------------------------------
// big (the output) and small (the input, leading 1s to big's ndim) with small's strides.
struct TilePlan {
  int nd;
  int64_t big[kMaxNDim], small[kMaxNDim], sstride[kMaxNDim];
};
TilePlan MakeTilePlan(const TShape& in, const TShape& out) {
  TilePlan p;
  p.nd = out.ndim();
  int64_t acc = 1;
  for (int d = p.nd - 1; d >= 0; --d) {
    const int j = d - (p.nd - in.ndim());
    p.big[d] = out[d];
    p.small[d] = j >= 0 ? in[j] : 1;
    p.sstride[d] = acc;
    acc *= p.small[d];
  }
  return p;
}
template <class T>
struct TileF {
  const T* x;
  TilePlan p;
  AX_HD T operator()(int64_t i) const {
    int64_t s = 0;
    for (int d = p.nd - 1; d >= 0; --d) {
      s += (i % p.big[d]) % p.small[d] * p.sstride[d];
      i /= p.big[d];
    }
    return x[s];
  }
};
void TileCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                 const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const TilePlan p = MakeTilePlan(in[0].shape, out[0].shape);
  AX_GPU_MOVE_SWITCH(out[0].dtype, req[0] == OpReq::kAdd, T, attrs.Who(), {
    Map(ctx, out[0].Size(), req[0], out[0].ptr<T>(), TileF<T>{in[0].ptr<T>(), p}, "tile");
  });
}

// dx[s] (=|+=) the sum of dy over the tiles (row-major tile order, as the CPU), in double for
// floats and int64 for integers.
template <class T>
__global__ void TileGradKernel(int64_t n, TilePlan p, const T* dy, T* dx, bool add) {
  using A = std::conditional_t<kIsFloat<T>, double, int64_t>;
  int64_t reps = 1;
  for (int d = 0; d < p.nd; ++d) reps *= p.big[d] / p.small[d];
  for (int64_t s = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; s < n; s += int64_t(blockDim.x) * gridDim.x) {
    A acc = A(0);
    for (int64_t t = 0; t < reps; ++t) {
      int64_t b = 0, bs = 1, rem = t, sr = s;
      for (int d = p.nd - 1; d >= 0; --d) {
        const int64_t r = p.big[d] / p.small[d], a = sr % p.small[d];
        b += ((rem % r) * p.small[d] + a) * bs;
        rem /= r;
        sr /= p.small[d];
        bs *= p.big[d];
      }
      acc += static_cast<A>(dy[b]);
    }
    dx[s] = add ? T(double(dx[s]) + double(acc)) : T(double(acc));
  }
}
void TileGradCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                     const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const int64_t n = out[0].Size();
  if (req[0] == OpReq::kNull || n == 0) return;
  const TilePlan p = MakeTilePlan(out[0].shape, in[0].shape);
  AX_GPU_TYPE_SWITCH(out[0].dtype, T, attrs.Who(), {
    TileGradKernel<<<Blocks(n), kThreads, 0, Stream(ctx)>>>(n, p, in[0].ptr<T>(), out[0].ptr<T>(),
                                                            req[0] == OpReq::kAdd);
    AX_CUDA_LAUNCHED("_backward_tile");
  });
}

// ---- repeat --------------------------------------------------------------------------------------
struct AxisSplit3 {
  int64_t outer, n, inner;
};
// data as (outer, n, inner) -> (outer, n * repeats, inner)
AxisSplit3 RepeatSplit(const NodeAttrs& attrs, const TShape& d) {
  const auto& p = attrs.get<RepeatParam>();
  if (!p.axis) return {1, d.Size(), 1};
  const int axis = static_cast<int>(*p.axis < 0 ? *p.axis + d.ndim() : *p.axis);
  return {d.ProdRange(0, axis), d[axis], d.ProdRange(axis + 1, d.ndim())};
}
template <class T>
struct RepeatF {
  const T* x;
  int64_t n, inner, r;
  AX_HD T operator()(int64_t i) const {
    const int64_t e = i % inner, q = (i / inner) % (n * r), o = i / (inner * n * r);
    return x[(o * n + q / r) * inner + e];
  }
};
void RepeatCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                   const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull || out[0].Size() == 0) return;
  const AxisSplit3 s = RepeatSplit(attrs, in[0].shape);
  const int64_t r = attrs.get<RepeatParam>().repeats;
  AX_GPU_MOVE_SWITCH(out[0].dtype, req[0] == OpReq::kAdd, T, attrs.Who(), {
    Map(ctx, out[0].Size(), req[0], out[0].ptr<T>(), RepeatF<T>{in[0].ptr<T>(), s.n, s.inner, r}, "repeat");
  });
}
// dx[o, j, e] (=|+=) the sum of dy[o, j * r + k, e] over k, accumulated in AccT<T> as on the CPU
template <class T>
__global__ void RepeatGradKernel(int64_t total, int64_t inner, int64_t r, const T* dy, T* dx, bool add) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(blockDim.x) * gridDim.x) {
    const int64_t row = i / inner, e = i % inner;
    const T* src = dy + row * r * inner + e;
    AccT<T> s = add ? AccT<T>(dx[i]) : AccT<T>(0);
    for (int64_t k = 0; k < r; ++k) s += AccT<T>(src[k * inner]);
    dx[i] = T(s);
  }
}
void RepeatGradCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                       const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const int64_t total = out[0].Size();
  if (req[0] == OpReq::kNull || total == 0) return;
  const AxisSplit3 s = RepeatSplit(attrs, out[0].shape);
  AX_GPU_TYPE_SWITCH(out[0].dtype, T, attrs.Who(), {
    RepeatGradKernel<<<Blocks(total), kThreads, 0, Stream(ctx)>>>(
        total, s.inner, int64_t(attrs.get<RepeatParam>().repeats), in[0].ptr<T>(), out[0].ptr<T>(),
        req[0] == OpReq::kAdd);
    AX_CUDA_LAUNCHED("_backward_repeat");
  });
}

}  // namespace

void RegisterShapeManipKernels() {
  SetKernel("stack", StackCompute);
  SetKernel("SliceChannel", SliceChannelCompute);
  SetKernel("slice_axis", SliceAxisCompute);
  SetKernel("_backward_slice_axis", SliceAxisGradCompute);
  SetKernel("tile", TileCompute);
  SetKernel("_backward_tile", TileGradCompute);
  SetKernel("repeat", RepeatCompute);
  SetKernel("_backward_repeat", RepeatGradCompute);
}

}  // namespace cuda
}  // namespace axle
