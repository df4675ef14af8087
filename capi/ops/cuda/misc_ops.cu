// CUDA kernels of add_n, clip (and _backward_clip), Dropout, Embedding (and _backward_Embedding,
// scattering rows with atomics; weights of any dtype but bool, indices of any dtype) and the
// engine's test op _engine_rendezvous. Dropout draws from the device's counter-based state like
// the CPU (ops/random_state.h).
#include <limits>

#include "cuda/cuda_common.cuh"
#include "ops/dropout_op.h"
#include "ops/elemwise_sum_clip.h"
#include "ops/embedding_op.h"
#include "ops/random_state.h"

namespace axle {
namespace cuda {

// ---- add_n: up to kMaxIn inputs per pass, later passes accumulate -----------------------------
constexpr int kMaxIn = 8;
template <class T>
struct SumF {
  const T* x[kMaxIn];
  int k;
  AX_HD AccT<T> operator()(int64_t i) const {  // (float for float16: one rounding per pass)
    AccT<T> s = x[0][i];
    for (int j = 1; j < k; ++j) s += AccT<T>(x[j][i]);
    return s;
  }
};
void AddNCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                 const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull) return;
  const int64_t n = out[0].Size();
  // one pass reads every input it sums before the output (which may alias one) is written; with
  // several passes and an aliased output the sum goes through a scratch buffer
  const bool aliased = std::any_of(in.begin(), in.end(), [&](const TBlob& t) { return t.dptr == out[0].dptr; });
  const bool staged = aliased && in.size() > size_t(kMaxIn);
  AX_GPU_TYPE_SWITCH(out[0].dtype, T, attrs.Who(), {
    Scratch tmp(staged ? sizeof(T) * static_cast<size_t>(n) : 0, Stream(ctx));
    T* dst = staged ? tmp.at<T>(0) : out[0].ptr<T>();
    for (size_t b = 0; b < in.size(); b += kMaxIn) {
      SumF<T> f;
      f.k = static_cast<int>(std::min<size_t>(kMaxIn, in.size() - b));
      for (int j = 0; j < f.k; ++j) f.x[j] = in[b + j].ptr<T>();
      Map(ctx, n, b > 0 ? OpReq::kAdd : staged ? OpReq::kWrite : req[0], dst, f, "add_n");
    }
    if (staged) {
      GatherPlan id;  // the staged sum read in order
      id.nd = 1;
      id.out[0] = n;
      id.sx[0] = 1;
      Map(ctx, n, req[0], out[0].ptr<T>(), GatherF<T>{dst, id}, "add_n");
    }
  });
}

// ---- clip --------------------------------------------------------------------------------------
template <class T>
struct ClipF {
  const T* x;
  T lo, hi;
  AX_HD T operator()(int64_t i) const {
    const T v = x[i];
    return v > hi ? hi : (v < lo ? lo : v);
  }
};
template <class T>
struct ClipGradF {
  const T *dy, *x;
  double lo, hi;
  AX_HD T operator()(int64_t i) const {
    const double v = static_cast<double>(x[i]);
    return (v > hi || v < lo) ? T(0) : dy[i];
  }
};
template <class T>
T Bound(double v, bool upper) {  // integers saturate; a NaN bound clips nothing
  if constexpr (std::is_integral_v<T>) {
    const double l = double(std::numeric_limits<T>::lowest()), h = double(std::numeric_limits<T>::max());
    if (v != v) return upper ? std::numeric_limits<T>::max() : std::numeric_limits<T>::lowest();
    return static_cast<T>(std::min(std::max(v, l), h));
  } else {
    return static_cast<T>(v);
  }
}
void ClipCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                 const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<ClipParam>();
  AX_GPU_TYPE_SWITCH(out[0].dtype, T, attrs.Who(), {
    Map(ctx, out[0].Size(), req[0], out[0].ptr<T>(), ClipF<T>{in[0].ptr<T>(), Bound<T>(p.a_min, false), Bound<T>(p.a_max, true)},
        "clip");
  });
}
void ClipGradCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                     const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<ClipParam>();
  AX_GPU_TYPE_SWITCH(out[0].dtype, T, attrs.Who(), {
    Map(ctx, out[0].Size(), req[0], out[0].ptr<T>(), ClipGradF<T>{in[0].ptr<T>(), in[1].ptr<T>(), p.a_min, p.a_max},
        "_backward_clip");
  });
}

// ---- Dropout -----------------------------------------------------------------------------------
// mask[i] = keep ? 1/(1-p) : 0 with one draw per element of the mask shape (data's with the
// dropout axes set to 1), broadcast; y = x * mask.
struct MaskPlan {
  int nd;
  int64_t out[kMaxNDim], sm[kMaxNDim];  // sm: strides of the mask shape, 0 on dropout axes
};
template <class T>
__global__ void DropoutKernel(int64_t n, MaskPlan mp, uint64_t key, uint64_t first, double keep, T scale, const T* x,
                              T* y, T* mask, int ry, int rm) {  // ry, rm: the OpReq of y and mask
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
    int64_t j = 0, r = i;
    for (int d = mp.nd - 1; d >= 0; --d) {
      j += (r % mp.out[d]) * mp.sm[d];
      r /= mp.out[d];
    }
    const T m = RandomState::Uniform(key, first + j) < keep ? scale : T(0);
    const T v = x[i] * m;
    if (ry != int(OpReq::kNull)) y[i] = ry == int(OpReq::kAdd) ? y[i] + v : v;
    if (rm != int(OpReq::kNull)) mask[i] = rm == int(OpReq::kAdd) ? mask[i] + m : m;
  }
}
void DropoutCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                    const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<DropoutParam>();
  const TShape& s = in[0].shape;
  const int64_t n = s.Size();
  const bool apply = (p.mode == 0 || ctx.is_train) && p.p > 0.0f;
  AX_GPU_FLOAT_SWITCH(in[0].dtype, T, attrs.Who(), {
    if (!apply) {  // identity; an all-ones mask
      Map(ctx, n, req[0], out[0].ptr<T>(), ClipF<T>{in[0].ptr<T>(), T(-INFINITY), T(INFINITY)}, "Dropout");
      Map(ctx, n, req[1], out[1].ptr<T>(), ConstF<T>{T(1)}, "Dropout mask");
      return;
    }
    MaskPlan mp;
    mp.nd = s.ndim();
    TShape ms = s;
    for (int64_t a : p.axes) ms[a < 0 ? a + s.ndim() : a] = 1;
    int64_t acc = 1;
    for (int d = mp.nd - 1; d >= 0; --d) {
      mp.out[d] = s[d];
      mp.sm[d] = ms[d] == 1 ? 0 : acc;
      acc *= ms[d];
    }
    const uint64_t key = ctx.rng->key();
    const uint64_t first = ctx.rng->Reserve(static_cast<uint64_t>(ms.Size()));
    const double keep = 1.0 - static_cast<double>(p.p);
    const T scale = keep > 0 ? T(1.0 / keep) : T(0);
    if (n == 0 || (req[0] == OpReq::kNull && req[1] == OpReq::kNull)) return;
    DropoutKernel<<<Blocks(n), kThreads, 0, Stream(ctx)>>>(n, mp, key, first, keep, scale, in[0].ptr<T>(),
                                                           out[0].ptr<T>(), out[1].ptr<T>(), int(req[0]), int(req[1]));
    AX_CUDA_LAUNCHED("Dropout");
  });
}

// ---- Embedding: weights of every dtype the CPU takes (float16 through float32), indices of any
// dtype read at run time -------------------------------------------------------------------------
AX_HD inline int64_t RowOf(double d, int64_t rows) {  // clipped into [0, rows); NaN -> 0
  if (!(d > 0)) return 0;
  if (d >= static_cast<double>(rows - 1)) return rows - 1;
  return static_cast<int64_t>(d);
}
template <class T>
struct EmbedF {
  IndexArray idx;
  const T* w;
  int64_t rows, D;
  AX_HD T operator()(int64_t i) const { return w[RowOf(idx[i / D], rows) * D + i % D]; }
};
// acc[row of idx[i / D], i % D] += dy[i]; acc: dw itself (float, double) or 64-bit integer sums.
template <class T, class S>
__global__ void EmbedGradKernel(int64_t n, int64_t rows, int64_t D, IndexArray idx, const T* dy, S* acc) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n * D; i += int64_t(blockDim.x) * gridDim.x)
    atomicAdd(acc + RowOf(idx[i / D], rows) * D + i % D, static_cast<S>(dy[i]));
}
// dw[i] = the integer sums (plus dw[i] when add) stored as the CPU (GemmStore).
template <class T>
struct EmbedStoreF {
  const unsigned long long* acc;
  const T* dw;
  bool add;
  AX_HD T operator()(int64_t i) const { return GemmStore(acc[i], dw + i, add); }
};
void EmbedCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                  const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<EmbedParam>();
  const IndexArray idx{in[0].dptr, in[0].dtype};
  AX_GPU_MOVE_SWITCH(out[0].dtype, req[0] == OpReq::kAdd, T, attrs.Who(), {
    Map(ctx, out[0].Size(), req[0], out[0].ptr<T>(),
        EmbedF<T>{idx, in[1].ptr<T>(), int64_t(p.input_dim), int64_t(p.output_dim)}, "Embedding");
  });
}
template <class T>
void EmbedGrad(const OpContext& ctx, const NodeAttrs& attrs, IndexArray idx, int64_t n, int64_t rows, int64_t D,
               const T* dy, T* dw, int dtype, bool add) {
  cudaStream_t st = Stream(ctx);
  const int64_t total = rows * D;
  if constexpr (std::is_floating_point_v<T>) {  // added in place
    if (!add) AX_CUDA_CHECK(cudaMemsetAsync(dw, 0, sizeof(T) * total, st));
    if (n == 0) return;
    EmbedGradKernel<<<Blocks(n * D), kThreads, 0, st>>>(n, rows, D, idx, dy, dw);
    AX_CUDA_LAUNCHED("_backward_Embedding");
  } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {  // 64-bit sums, then stored
    Scratch ws(sizeof(unsigned long long) * static_cast<size_t>(total), st);
    auto* acc = ws.at<unsigned long long>(0);
    AX_CUDA_CHECK(cudaMemsetAsync(acc, 0, sizeof(unsigned long long) * total, st));
    if (n > 0) {
      EmbedGradKernel<<<Blocks(n * D), kThreads, 0, st>>>(n, rows, D, idx, dy, acc);
      AX_CUDA_LAUNCHED("_backward_Embedding");
    }
    Map(ctx, total, OpReq::kWrite, dw, EmbedStoreF<T>{acc, dw, add}, "_backward_Embedding");
  } else {  // float16 comes as float32 (AsFloat); bool weights are a type error on the CPU too
    Throw(AX_ERR_NOT_SUPPORTED, attrs.Who(), ": no GPU kernel for weights of dtype ", DTypeStr(dtype));
  }
}
// (ograd, data) -> weight grad
void EmbedGradCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull) return;
  const auto& p = attrs.get<EmbedParam>();
  AX_GPU_TYPE_SWITCH(out[0].dtype, T, attrs.Who(), {
    EmbedGrad<T>(ctx, attrs, IndexArray{in[1].dptr, in[1].dtype}, in[1].Size(), p.input_dim, p.output_dim,
                 in[0].ptr<T>(), out[0].ptr<T>(), out[0].dtype, req[0] == OpReq::kAdd);
  });
}

// ---- _engine_rendezvous: the CPU kernel joins the group (its state lives in the core; with a null
// request it touches no data), then a device copy ------------------------------------------------
void CopyCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                 const std::vector<OpReq>& req, const std::vector<TBlob>& out);  // elemwise.cu
void RendezvousCompute(const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                       const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  attrs.op->compute_cpu(ctx, attrs, in, std::vector<OpReq>(req.size(), OpReq::kNull), out);
  CopyCompute(ctx, attrs, in, req, out);
}

void RegisterMiscKernels() {
  SetKernel("_engine_rendezvous", RendezvousCompute);
  SetKernel("add_n", AddNCompute);
  SetKernel("clip", ClipCompute);
  SetKernel("_backward_clip", ClipGradCompute);
  SetKernel("Dropout", AsFloat(DropoutCompute));
  SetKernel("Embedding", AsFloat(EmbedCompute));
  SetKernel("_backward_Embedding", AsFloat(EmbedGradCompute));
}

}  // namespace cuda
}  // namespace axle
