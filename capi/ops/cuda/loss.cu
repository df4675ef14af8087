// CUDA kernels of the loss heads (loss_op.cc): LinearRegressionOutput, LogisticRegressionOutput,
// MAERegressionOutput and MakeLoss, with their backward ops. MakeLoss's 'valid' normalization
// counts on the device (no host round trip).
#include "cuda/cuda_common.cuh"
#include "ops/loss_op.h"

namespace axle {
namespace cuda {

void CopyCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                 const std::vector<OpReq>& req, const std::vector<TBlob>& out);  // elemwise.cu

namespace {

template <class T, int kKind>
struct RegF {
  const T* x;
  AX_HD T operator()(int64_t i) const { return kKind == kLogistic ? T(1) / (T(1) + exp(-x[i])) : x[i]; }
};
template <class T, int kKind>
struct RegGradF {
  const T *y, *l;
  T scale;
  AX_HD T operator()(int64_t i) const {
    T d = y[i] - l[i];
    if (kKind == kMAE) d = T(d > T(0) ? 1 : (d < T(0) ? -1 : 0));
    return d * scale;
  }
};

template <int kKind>
void RegCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    Map(ctx, out[0].Size(), req[0], out[0].ptr<T>(), RegF<T, kKind>{in[0].ptr<T>()}, "regression output");
  });
}

// (output, label) -> data grad: f(out - label) * grad_scale / (label.size / label.shape[0])
template <int kKind>
void RegGradCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                    const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const TShape& ls = in[1].shape;
  const int64_t num_output = ls.ndim() > 0 && ls[0] > 0 ? ls.Size() / ls[0] : 1;
  const double scale = attrs.get<RegParam>().grad_scale / static_cast<double>(num_output);
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    Map(ctx, out[0].Size(), req[0], out[0].ptr<T>(), RegGradF<T, kKind>{in[0].ptr<T>(), in[1].ptr<T>(), T(scale)},
        "regression output gradient");
  });
}

// *count += the number of elements of x above thresh.
template <class T>
__global__ void CountAboveKernel(int64_t n, const T* x, double thresh, unsigned long long* count) {
  unsigned long long c = 0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x)
    c += static_cast<double>(x[i]) > thresh;
  c = BlockReduce(c, SumOp());
  if (threadIdx.x == 0) atomicAdd(count, c);
}

// grad_scale / norm everywhere; norm is fixed, or the count of valid elements (at least 1).
template <class T>
struct MakeLossGradF {
  const unsigned long long* count;  // nullptr: use norm
  double grad_scale, norm;
  AX_HD T operator()(int64_t) const {
    const double d = count ? double(*count > 0 ? *count : 1) : norm;
    return T(d > 0 ? grad_scale / d : 0.0);
  }
};

void MakeLossGradCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                         const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull) return;
  const auto& p = attrs.get<MakeLossParam>();
  const TShape& s = in[0].shape;
  const int64_t n = in[0].Size();
  cudaStream_t st = Stream(ctx);
  AX_GPU_TYPE_SWITCH(out[0].dtype, T, attrs.Who(), {
    if (p.normalization != kNormValid) {
      const double norm = p.normalization == kNormBatch ? (s.ndim() > 0 ? double(s[0]) : 1.0) : 1.0;
      Map(ctx, n, req[0], out[0].ptr<T>(), MakeLossGradF<T>{nullptr, double(p.grad_scale), norm}, "_backward_MakeLoss");
      return;
    }
    Scratch cnt(sizeof(unsigned long long), st);
    auto* c = cnt.at<unsigned long long>(0);
    AX_CUDA_CHECK(cudaMemsetAsync(c, 0, sizeof(unsigned long long), st));
    if (n > 0) {
      const unsigned grid = static_cast<unsigned>(std::min<int64_t>((n + kReduceThreads - 1) / kReduceThreads, 1024));
      CountAboveKernel<<<grid, kReduceThreads, 0, st>>>(n, in[0].ptr<T>(), double(p.valid_thresh), c);
      AX_CUDA_LAUNCHED("_backward_MakeLoss count");
    }
    Map(ctx, n, req[0], out[0].ptr<T>(), MakeLossGradF<T>{c, double(p.grad_scale), 1.0}, "_backward_MakeLoss");
  });
}

}  // namespace

void RegisterLossKernels() {
  SetKernel("LinearRegressionOutput", AsFloat(RegCompute<kLinear>));
  SetKernel("LogisticRegressionOutput", AsFloat(RegCompute<kLogistic>));
  SetKernel("MAERegressionOutput", AsFloat(RegCompute<kMAE>));
  SetKernel("_backward_LinearRegressionOutput", AsFloat(RegGradCompute<kLinear>));
  SetKernel("_backward_LogisticRegressionOutput", AsFloat(RegGradCompute<kLogistic>));
  SetKernel("_backward_MAERegressionOutput", AsFloat(RegGradCompute<kMAE>));
  SetKernel("MakeLoss", CopyCompute);
  SetKernel("_backward_MakeLoss", MakeLossGradCompute);
}

}  // namespace cuda
}  // namespace axle
