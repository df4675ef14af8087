// CUDA kernels of the shape family: the shape-only ops (Reshape, Flatten, expand_dims, squeeze,
// their gradient _backward_reshape, BlockGrad) as device copies, transpose, and Concat with its
// gradient as strided 2-D copies.
#include "cuda/cuda_common.cuh"
#include "ops/concat_op.h"
#include "ops/transpose_op.h"

namespace axle {
namespace cuda {

void CopyCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                 const std::vector<OpReq>& req, const std::vector<TBlob>& out);  // elemwise.cu

// out[i] = x[the input index of i]: out's axis d is the input's axis perm[d].
struct TPlan {
  int nd;
  int64_t out[kMaxNDim], sx[kMaxNDim];  // sx[d]: the input stride of out's axis d
};
template <class T>
struct TransposeF {
  const T* x;
  TPlan p;
  AX_HD T operator()(int64_t i) const {
    int64_t s = 0;
    for (int d = p.nd - 1; d >= 0; --d) {
      s += (i % p.out[d]) * p.sx[d];
      i /= p.out[d];
    }
    return x[s];
  }
};
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
  TPlan p;
  p.nd = nd;
  for (int d = 0; d < nd; ++d) {
    int64_t a = axes.empty() ? nd - 1 - d : (axes[d] < 0 ? axes[d] + nd : axes[d]);
    p.sx[d] = st[a];
    p.out[d] = xs[a];
  }
  AX_GPU_TYPE_SWITCH(out[0].dtype, T, attrs.op->name,
                     { Map(ctx, out[0].Size(), req[0], out[0].ptr<T>(), TransposeF<T>{in[0].ptr<T>(), p}, "transpose"); });
}

// Copies the parts (outer x dk*inner each) into / out of whole (outer x total*inner).
void ConcatCopies(const OpContext& ctx, const std::vector<TBlob>& parts, const TBlob& whole, int axis, bool split,
                  const char* who) {
  const TShape& s = whole.shape;
  const int64_t outer = s.ProdRange(0, axis), inner = s.ProdRange(axis + 1, s.ndim());
  const size_t item = ItemSize(whole.dtype);
  const size_t row = static_cast<size_t>(s[axis] * inner) * item;
  size_t off = 0;
  for (const TBlob& b : parts) {
    const size_t w = static_cast<size_t>(b.shape[axis] * inner) * item;
    if (w > 0 && outer > 0) {
      char* wp = static_cast<char*>(whole.dptr) + off;
      if (split)
        AX_CUDA_CHECK(cudaMemcpy2DAsync(b.dptr, w, wp, row, w, outer, cudaMemcpyDeviceToDevice, Stream(ctx)));
      else
        AX_CUDA_CHECK(cudaMemcpy2DAsync(wp, row, b.dptr, w, w, outer, cudaMemcpyDeviceToDevice, Stream(ctx)));
    }
    off += w;
  }
}
void ConcatCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                   const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull) return;
  AX_CHECK(req[0] != OpReq::kAdd, AX_ERR_NOT_SUPPORTED, attrs.op->name, ": accumulating (req add) has no GPU kernel yet");
  const int nd = out[0].shape.ndim(), dim = attrs.get<ConcatParam>().dim;
  ConcatCopies(ctx, in, out[0], dim < 0 ? dim + nd : dim, false, "Concat");
}
void ConcatBackwardCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                           const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  for (OpReq r : req)
    AX_CHECK(r == OpReq::kWrite || r == OpReq::kInplace, AX_ERR_NOT_SUPPORTED, attrs.op->name,
             ": only plain writes have a GPU kernel yet");
  const int nd = in[0].shape.ndim(), dim = attrs.get<ConcatParam>().dim;
  ConcatCopies(ctx, out, in[0], dim < 0 ? dim + nd : dim, true, "_backward_Concat");
}

void RegisterShapeKernels() {
  for (const char* name : {"Reshape", "Flatten", "expand_dims", "squeeze", "_backward_reshape", "BlockGrad"})
    SetKernel(name, CopyCompute);
  SetKernel("transpose", TransposeCompute);
  SetKernel("Concat", ConcatCompute);
  SetKernel("_backward_Concat", ConcatBackwardCompute);
}

}  // namespace cuda
}  // namespace axle
