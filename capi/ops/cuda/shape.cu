// CUDA kernels of the shape family: the shape-only ops (Reshape, Flatten, expand_dims, squeeze,
// their gradient _backward_reshape, BlockGrad) as device copies, transpose, Concat with its
// gradient as row copies (shape_manip.cu's ConcatParts), and slice / _slice_assign(_scalar) /
// _backward_slice as strided gathers and scatters over the region (ops/slice_op.h).
#include "cuda/cuda_common.cuh"
#include "ops/concat_op.h"
#include "ops/slice_op.h"
#include "ops/transpose_op.h"

namespace axle {
namespace cuda {

void CopyCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                 const std::vector<OpReq>& req, const std::vector<TBlob>& out);  // elemwise.cu

void TransposeCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const TShape& xs = in[0].shape;
  const int nd = xs.ndim();
  const auto& axes = attrs.get<TransposeParam>().axes;  // validated by shape inference
  int64_t st[kMaxNDim], acc = 1;
  for (int i = nd - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= xs[i];
  }
  GatherPlan p;  // out's axis d is the input's axis a
  p.nd = nd;
  for (int d = 0; d < nd; ++d) {
    int64_t a = axes.empty() ? nd - 1 - d : (axes[d] < 0 ? axes[d] + nd : axes[d]);
    p.sx[d] = st[a];
    p.out[d] = xs[a];
  }
  AX_GPU_TYPE_SWITCH(out[0].dtype, T, attrs.Who(),
                     { Map(ctx, out[0].Size(), req[0], out[0].ptr<T>(), GatherF<T>{in[0].ptr<T>(), p}, "transpose"); });
}

// shape_manip.cu: parts side by side along the rows of whole (split: whole -> parts).
void ConcatParts(const OpContext& ctx, const char* who, const std::vector<TBlob>& parts,
                 const std::vector<int64_t>& lens, const TBlob& whole, int64_t outer, bool split,
                 const std::vector<OpReq>& reqs);

void ConcatOn(const OpContext& ctx, const std::vector<TBlob>& parts, const TBlob& whole, int dim, bool split,
              const std::vector<OpReq>& reqs, const char* who) {
  const TShape& s = whole.shape;
  const int axis = dim < 0 ? dim + s.ndim() : dim;
  const int64_t inner = s.ProdRange(axis + 1, s.ndim());
  std::vector<int64_t> lens;
  for (const TBlob& b : parts) lens.push_back(b.shape[axis] * inner);
  ConcatParts(ctx, who, parts, lens, whole, s.ProdRange(0, axis), split, reqs);
}
void ConcatCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                   const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  ConcatOn(ctx, in, out[0], attrs.get<ConcatParam>().dim, false, req, "Concat");
}
void ConcatBackwardCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                           const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  ConcatOn(ctx, out, in[0], attrs.get<ConcatParam>().dim, true, req, "_backward_Concat");
}

// ---- slices ------------------------------------------------------------------------------------
// The region of big as a gather plan (out = the region's shape) and the offset of its first element.
GatherPlan RegionPlan(const Region& r, const TShape& big, int64_t* base) {
  GatherPlan p;
  p.nd = big.ndim();
  int64_t acc = 1;
  *base = 0;
  for (int d = p.nd - 1; d >= 0; --d) {
    p.out[d] = r.shape[d];
    p.sx[d] = acc * r.step[d];
    *base += r.begin[d] * acc;
    acc *= big[d];
  }
  return p;
}

// big[offset of region element i] (=|+=) v(i) for the region's elements.
template <class T, class V>
__global__ void RegionScatterKernel(int64_t n, GatherPlan p, int64_t base, T* big, V v, bool add) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
    int64_t s = base, r = i;
    for (int d = p.nd - 1; d >= 0; --d) {
      s += (r % p.out[d]) * p.sx[d];
      r /= p.out[d];
    }
    const T x = v(i);
    big[s] = add ? T(big[s] + x) : x;
  }
}
template <class T, class V>
void RegionScatter(const OpContext& ctx, const Region& r, const TShape& big_shape, T* big, V v, bool add) {
  const int64_t n = r.shape.Size();
  if (n == 0) return;
  int64_t base;
  GatherPlan p = RegionPlan(r, big_shape, &base);
  RegionScatterKernel<<<Blocks(n), kThreads, 0, Stream(ctx)>>>(n, p, base, big, v, add);
  AX_CUDA_LAUNCHED("slice region");
}

void SliceCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                  const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const Region r = MakeRegion(attrs, attrs.get<SliceParam>(), in[0].shape);
  int64_t base;
  GatherPlan p = RegionPlan(r, in[0].shape, &base);
  AX_GPU_TYPE_SWITCH(out[0].dtype, T, attrs.Who(), {
    Map(ctx, out[0].Size(), req[0], out[0].ptr<T>(), GatherF<T>{in[0].ptr<T>() + base, p}, "slice");
  });
}

// (ograd, data) -> zeros of data's shape with ograd at the region
void SliceBackwardCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                          const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull) return;
  const Region r = MakeRegion(attrs, attrs.get<SliceParam>(), out[0].shape);
  const bool add = req[0] == OpReq::kAdd;
  if (!add) AX_CUDA_CHECK(cudaMemsetAsync(out[0].dptr, 0, out[0].Size() * ItemSize(out[0].dtype), Stream(ctx)));
  AX_GPU_TYPE_SWITCH(out[0].dtype, T, attrs.Who(), {
    GatherPlan id;  // ograd read in order
    id.nd = 1;
    id.out[0] = r.shape.Size();
    id.sx[0] = 1;
    RegionScatter(ctx, r, out[0].shape, out[0].ptr<T>(), GatherF<T>{in[0].ptr<T>(), id}, add);
  });
}

// A copy of data (lhs) with the region set to rhs (broadcast) or to scalar.
template <bool kScalar>
void SliceAssignCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                        const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& prm = attrs.get<SliceParam>();
  const Region r = MakeRegion(attrs, prm, in[0].shape);
  AX_CHECK(req[0] != OpReq::kAdd, AX_ERR_NOT_SUPPORTED, attrs.Who(), ": accumulating has no GPU kernel");
  if (req[0] == OpReq::kNull) return;
  if (in[0].dptr != out[0].dptr)
    AX_CUDA_CHECK(cudaMemcpyAsync(out[0].dptr, in[0].dptr, out[0].Size() * ItemSize(out[0].dtype),
                                  cudaMemcpyDeviceToDevice, Stream(ctx)));
  AX_GPU_TYPE_SWITCH(out[0].dtype, T, attrs.Who(), {
    if constexpr (kScalar) {
      RegionScatter(ctx, r, in[0].shape, out[0].ptr<T>(), ConstF<T>{static_cast<T>(prm.scalar)}, false);
    } else {
      const TShape& vs = in[1].shape;
      GatherPlan vp;  // the value broadcast over the region
      vp.nd = r.shape.ndim();
      int64_t acc = 1;
      for (int d = vp.nd - 1; d >= 0; --d) {
        const int j = d - (vp.nd - vs.ndim());
        const int64_t dim = j >= 0 ? vs[j] : 1;
        vp.out[d] = r.shape[d];
        vp.sx[d] = dim == 1 ? 0 : acc;
        acc *= dim;
      }
      RegionScatter(ctx, r, in[0].shape, out[0].ptr<T>(), GatherF<T>{in[1].ptr<T>(), vp}, false);
    }
  });
}

void RegisterShapeKernels() {
  SetKernel("slice", SliceCompute);
  SetKernel("_backward_slice", SliceBackwardCompute);
  SetKernel("_slice_assign", SliceAssignCompute<false>);
  SetKernel("_slice_assign_scalar", SliceAssignCompute<true>);
  for (const char* name : {"Reshape", "Flatten", "expand_dims", "squeeze", "_backward_reshape", "BlockGrad"})
    SetKernel(name, CopyCompute);
  SetKernel("transpose", TransposeCompute);
  SetKernel("Concat", ConcatCompute);
  SetKernel("_backward_Concat", ConcatBackwardCompute);
}

}  // namespace cuda
}  // namespace axle
