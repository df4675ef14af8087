// float16 for the floating point kernels (AsFloat, cuda_common.cuh): the float16 blobs of an op
// go through float32 scratch, as the CPU's nn::RunAsFloat does; outputs and the inputs the op
// mutates (its OpDef's mutate_inputs) are rounded back to float16.
#include <vector>

#include "cuda/cuda_common.cuh"

namespace axle {
namespace cuda {
namespace {

template <class S>
struct ReadAsF {  // S -> the destination type through float
  const S* x;
  AX_HD float operator()(int64_t i) const { return static_cast<float>(x[i]); }
};

}  // namespace

FCompute AsFloat(FCompute f) {
  return [f](const OpContext& ctx, const NodeAttrs& attrs, const std::vector<TBlob>& in,
             const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    size_t total = 0;
    bool any = false;
    for (const auto* blobs : {&in, &out})
      for (const TBlob& b : *blobs)
        if (b.dtype == AX_FLOAT16) {
          any = true;
          total += static_cast<size_t>(b.Size());
        }
    if (!any) return f(ctx, attrs, in, req, out);
    cudaStream_t s = Stream(ctx);
    Scratch ws(total * sizeof(float), s);
    size_t used = 0;
    // a float32 twin of b in the scratch; its values copied when load
    auto twin = [&](const TBlob& b, bool load) {
      TBlob t = b;
      t.dptr = ws.at<float>(used);
      t.dtype = AX_FLOAT32;
      used += static_cast<size_t>(b.Size());
      if (load)
        Map(ctx, b.Size(), OpReq::kWrite, t.ptr<float>(), ReadAsF<Half>{b.ptr<Half>()}, "float16 to float32");
      else if (b.Size() > 0)
        AX_CUDA_CHECK(cudaMemsetAsync(t.dptr, 0, static_cast<size_t>(b.Size()) * sizeof(float), s));
      return t;
    };
    std::vector<TBlob> fi = in, fo = out;
    for (size_t i = 0; i < in.size(); ++i)
      if (in[i].dtype == AX_FLOAT16) fi[i] = twin(in[i], true);
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i].dtype == AX_FLOAT16) fo[i] = twin(out[i], req[i] == OpReq::kAdd);
    f(ctx, attrs, fi, req, fo);
    auto store = [&](const TBlob& half, const TBlob& twin) {
      Map(ctx, half.Size(), OpReq::kWrite, half.ptr<Half>(), ReadAsF<float>{twin.ptr<float>()}, "float32 to float16");
    };
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i].dtype == AX_FLOAT16 && req[i] != OpReq::kNull) store(out[i], fo[i]);
    if (attrs.op)  // inputs the op updates in place (optimizer states, aux states)
      for (int i : attrs.op->mutate_inputs)
        if (i >= 0 && size_t(i) < in.size() && in[i].dtype == AX_FLOAT16) store(in[i], fi[i]);
  };
}

}  // namespace cuda
}  // namespace axle
