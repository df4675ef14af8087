// CUDA kernels of reductions and broadcasts: sum, mean, max, min over axes, _reduce_sum_like (the
// gradient of broadcasting), and broadcast_like / broadcast_to / broadcast_axis /
// _broadcast_reduced. A reduction runs one block per output with a warp-shuffle block reduction
// (cuda_common.cuh); accumulation is in double for floats and int64 for integers.
#include <cfloat>
#include <limits>

#include "cuda/cuda_common.cuh"
#include "ops/reduce_op.h"

namespace axle {
namespace cuda {

// Kept and reduced axes of the input with their sizes and strides (in elements).
struct RedPlan {
  int nk = 0, nr = 0;
  int64_t kd[kMaxNDim], ks[kMaxNDim], rd[kMaxNDim], rs[kMaxNDim];
  int64_t R = 1;
};
RedPlan MakeRedPlan(const TShape& x, const bool* red) {
  RedPlan p;
  int64_t stride = 1, st[kMaxNDim];
  for (int i = x.ndim() - 1; i >= 0; --i) {
    st[i] = stride;
    stride *= x[i];
  }
  for (int i = 0; i < x.ndim(); ++i) {
    if (x[i] == 1) continue;
    if (red[i]) {
      p.rd[p.nr] = x[i];
      p.rs[p.nr++] = st[i];
      p.R *= x[i];
    } else {
      p.kd[p.nk] = x[i];
      p.ks[p.nk++] = st[i];
    }
  }
  return p;
}

template <class A, class Op>
__device__ inline A Identity() {
  if constexpr (std::is_same_v<Op, SumOp>) return A(0);
  else if constexpr (std::is_floating_point_v<A>) return std::is_same_v<Op, MaxOp> ? A(-INFINITY) : A(INFINITY);
  else return std::is_same_v<Op, MaxOp> ? std::numeric_limits<A>::lowest() : std::numeric_limits<A>::max();
}

template <class T, class Op, bool kMean>
__global__ void ReduceKernel(RedPlan p, int64_t nout, const T* x, T* y, bool add) {
  using A = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
  for (int64_t o = blockIdx.x; o < nout; o += gridDim.x) {
    int64_t base = 0, rem = o;
    for (int d = p.nk - 1; d >= 0; --d) {
      base += (rem % p.kd[d]) * p.ks[d];
      rem /= p.kd[d];
    }
    A acc = Identity<A, Op>();
    for (int64_t r = threadIdx.x; r < p.R; r += blockDim.x) {
      int64_t off = 0, q = r;
      for (int d = p.nr - 1; d >= 0; --d) {
        off += (q % p.rd[d]) * p.rs[d];
        q /= p.rd[d];
      }
      acc = Op()(acc, A(x[base + off]));
    }
    acc = BlockReduce(acc, Op());
    if (threadIdx.x == 0) {
      T v = kMean ? T(acc / A(p.R > 0 ? p.R : 1)) : T(acc);
      y[o] = add ? T(y[o] + v) : v;
    }
  }
}

template <class Op, bool kMean = false>
void Reduce(const OpContext& ctx, const char* who, const TBlob& x, const bool* red, const TBlob& y, OpReq req) {
  if (req == OpReq::kNull || y.Size() == 0) return;
  RedPlan p = MakeRedPlan(x.shape, red);
  if (x.Size() == 0) p.R = 0;
  const int64_t nout = y.Size();
  const unsigned grid = static_cast<unsigned>(std::min<int64_t>(nout, 1 << 20));
  AX_GPU_TYPE_SWITCH(y.dtype, T, who, {
    ReduceKernel<T, Op, kMean><<<grid, kReduceThreads, 0, Stream(ctx)>>>(p, nout, x.ptr<T>(), y.ptr<T>(),
                                                                        req == OpReq::kAdd);
    AX_CUDA_LAUNCHED(who);
  });
}

void ReducedAxes(const ReduceParam& prm, int nd, bool* red) {  // validated by shape inference
  const bool all = !prm.axis.has || prm.axis.v.empty();
  for (int i = 0; i < nd; ++i) red[i] = all;
  if (all) return;
  for (int64_t a : prm.axis.v) red[a < 0 ? a + nd : a] = true;
  if (prm.exclude)
    for (int i = 0; i < nd; ++i) red[i] = !red[i];
}

template <class Op, bool kMean>
void ReduceCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                   const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  bool red[kMaxNDim];
  ReducedAxes(attrs.get<ReduceParam>(), in[0].shape.ndim(), red);
  Reduce<Op, kMean>(ctx, attrs.Who().c_str(), in[0], red, out[0], req[0]);
}

// data (big) summed over the axes along which like (out's shape) broadcasts to it.
void ReduceSumLikeCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                          const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const TShape &big = in[0].shape, &small = out[0].shape;
  bool red[kMaxNDim];
  for (int i = 0; i < big.ndim(); ++i) {
    int j = i - (big.ndim() - small.ndim());
    red[i] = (j < 0 ? 1 : small[j]) != big[i];
  }
  Reduce<SumOp>(ctx, attrs.Who().c_str(), in[0], red, out[0], req[0]);
}

// ---- broadcasts --------------------------------------------------------------------------------
// out[i] (=|+=) x[index of i in x] * scale; x right-aligned against out, size-1 axes broadcast.
template <class T>
struct ScaledF {
  GatherF<T> g;
  double scale;
  AX_HD T operator()(int64_t i) const { return scale == 1.0 ? g(i) : T(double(g(i)) * scale); }
};
void Broadcast(const OpContext& ctx, const char* who, const TBlob& x, const TShape& xshape, const TBlob& y,
               OpReq req, double scale) {
  GatherPlan p;
  p.nd = y.shape.ndim();
  int64_t acc = 1;
  for (int i = p.nd - 1; i >= 0; --i) {
    int j = i - (p.nd - xshape.ndim());
    int64_t d = j >= 0 ? xshape[j] : 1;
    p.sx[i] = d == 1 ? 0 : acc;
    p.out[i] = y.shape[i];
    acc *= d;
  }
  AX_GPU_TYPE_SWITCH(y.dtype, T, who, { Map(ctx, y.Size(), req, y.ptr<T>(), ScaledF<T>{GatherF<T>{x.ptr<T>(), p}, scale}, who); });
}

void BroadcastCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  Broadcast(ctx, attrs.Who().c_str(), in[0], in[0].shape, out[0], req[0], 1.0);
}

// data (a reduction of like) broadcast back to like's shape (out), / R when normalize.
void BroadcastReducedCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                             const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& prm = attrs.get<ReduceParam>();
  const TShape& like = out[0].shape;
  bool red[kMaxNDim];
  ReducedAxes(prm, like.ndim(), red);
  TShape keep = like;
  int64_t R = 1;
  for (int i = 0; i < like.ndim(); ++i)
    if (red[i]) {
      R *= like[i];
      keep[i] = 1;
    }
  Broadcast(ctx, attrs.Who().c_str(), in[0], keep, out[0], req[0], prm.normalize ? 1.0 / double(R) : 1.0);
}

void RegisterReduceKernels() {
  SetKernel("sum", ReduceCompute<SumOp, false>);
  SetKernel("mean", ReduceCompute<SumOp, true>);
  SetKernel("max", ReduceCompute<MaxOp, false>);
  SetKernel("min", ReduceCompute<MinOp, false>);
  SetKernel("_reduce_sum_like", ReduceSumLikeCompute);
  SetKernel("broadcast_like", BroadcastCompute);
  SetKernel("broadcast_to", BroadcastCompute);
  SetKernel("broadcast_axis", BroadcastCompute);
  SetKernel("_broadcast_reduced", BroadcastReducedCompute);
}

}  // namespace cuda
}  // namespace axle
