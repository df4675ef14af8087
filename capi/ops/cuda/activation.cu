// CUDA kernels of Activation and LeakyReLU (leaky, elu, selu, gelu, prelu) with their backward
// ops: the CPU's scalar math (ops/activation_op.h) per element; prelu's gamma gradient by one
// block per gamma entry, summed in double as on the CPU.
#include "cuda/cuda_common.cuh"
#include "ops/activation_op.h"

namespace axle {
namespace cuda {
namespace {

// ---- Activation --------------------------------------------------------------------------------
template <class T>
struct ActF {
  const T* x;
  int t;
  AX_HD T operator()(int64_t i) const { return ActForward<T>(t, x[i]); }
};
template <class T>
struct ActGradF {
  const T *dy, *x, *y;
  int t;
  AX_HD T operator()(int64_t i) const { return dy[i] * ActDeriv<T>(t, x[i], y[i]); }
};
void ActCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const int t = attrs.get<ActParam>().act_type;
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    Map(ctx, out[0].Size(), req[0], out[0].ptr<T>(), ActF<T>{in[0].ptr<T>(), t}, "Activation");
  });
}
void ActGradCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                    const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const int t = attrs.get<ActParam>().act_type;
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    Map(ctx, out[0].Size(), req[0], out[0].ptr<T>(), ActGradF<T>{in[0].ptr<T>(), in[1].ptr<T>(), in[2].ptr<T>(), t},
        "_backward_Activation");
  });
}

// ---- LeakyReLU ---------------------------------------------------------------------------------
template <class T>
struct LeakyF {
  const T* x;
  int t;
  T slope;
  AX_HD T operator()(int64_t i) const { return LeakyForward<T>(t, x[i], slope); }
};
template <class T>
struct LeakyGradF {
  const T *dy, *x;
  int t;
  T slope;
  AX_HD T operator()(int64_t i) const { return dy[i] * LeakyDeriv<T>(t, x[i], slope); }
};

// prelu: y = x > 0 ? x : gamma * x (kGrad: dx = x > 0 ? dy : gamma * dy), gamma by block.
template <class T, bool kGrad>
struct PreluF {
  const T *x, *dy, *g;
  PreluView v;
  AX_HD T operator()(int64_t i) const {
    const int64_t o = i / v.inner;
    const T s = g[v.gi(o / v.D1, o % v.D1)];
    const T a = kGrad ? dy[i] : x[i];
    return x[i] > T(0) ? a : s * a;
  }
};

// dgamma[j] (=|+=) the sum of x * dy over the elements with x <= 0 that gamma entry j scales.
template <class T>
__global__ void PreluGammaGradKernel(PreluView v, const T* x, const T* dy, T* dg, bool add) {
  const int64_t j = blockIdx.x;
  const int64_t n0 = v.G0 > 1 ? 1 : v.D0, n1 = v.G1 > 1 ? 1 : v.D1;
  const int64_t f0 = v.G0 > 1 ? (v.G1 > 1 ? j / v.G1 : j) : 0, f1 = v.G1 > 1 ? j % v.G1 : 0;
  const int64_t total = n0 * n1 * v.inner;
  double s = 0;
  for (int64_t k = threadIdx.x; k < total; k += blockDim.x) {
    const int64_t b = k / v.inner;
    const int64_t a0 = v.G0 > 1 ? f0 : b / n1, a1 = v.G1 > 1 ? f1 : b % n1;
    const int64_t i = (a0 * v.D1 + a1) * v.inner + k % v.inner;
    if (!(x[i] > T(0))) s += double(x[i]) * double(dy[i]);
  }
  s = BlockReduce(s, SumOp());
  if (threadIdx.x == 0) dg[j] = T(add ? double(dg[j]) + s : s);
}

void LeakyCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                  const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<LeakyParam>();
  const int64_t n = out[0].Size();
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    if (p.act_type == kPrelu)
      Map(ctx, n, req[0], out[0].ptr<T>(),
          PreluF<T, false>{in[0].ptr<T>(), nullptr, in[1].ptr<T>(), PreluView(in[0].shape, in[1].shape)}, "LeakyReLU");
    else
      Map(ctx, n, req[0], out[0].ptr<T>(), LeakyF<T>{in[0].ptr<T>(), p.act_type, T(p.slope)}, "LeakyReLU");
  });
}

// (ograd, data[, gamma]) -> (data grad[, gamma grad])
void LeakyGradCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<LeakyParam>();
  const int64_t n = out[0].Size();
  AX_GPU_FLOAT_SWITCH(out[0].dtype, T, attrs.Who(), {
    const T* dy = in[0].ptr<T>();
    const T* x = in[1].ptr<T>();
    if (p.act_type != kPrelu) {
      Map(ctx, n, req[0], out[0].ptr<T>(), LeakyGradF<T>{dy, x, p.act_type, T(p.slope)}, "_backward_LeakyReLU");
      return;
    }
    const PreluView v(in[1].shape, in[2].shape);
    Map(ctx, n, req[0], out[0].ptr<T>(), PreluF<T, true>{x, dy, in[2].ptr<T>(), v}, "_backward_LeakyReLU");
    const int64_t ng = in[2].Size();
    if (req[1] == OpReq::kNull || ng == 0) return;
    PreluGammaGradKernel<<<unsigned(ng), kReduceThreads, 0, Stream(ctx)>>>(v, x, dy, out[1].ptr<T>(),
                                                                           req[1] == OpReq::kAdd);
    AX_CUDA_LAUNCHED("_backward_LeakyReLU gamma");
  });
}

}  // namespace

void RegisterActivationKernels() {
  SetKernel("Activation", AsFloat(ActCompute));
  SetKernel("_backward_Activation", AsFloat(ActGradCompute));
  SetKernel("LeakyReLU", AsFloat(LeakyCompute));
  SetKernel("_backward_LeakyReLU", AsFloat(LeakyGradCompute));
}

}  // namespace cuda
}  // namespace axle
