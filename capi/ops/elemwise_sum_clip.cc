// add_n (ElementWiseSum), clip and its gradient, and _cast_like (the gradient of Cast).
#include <algorithm>
#include <cmath>
#include <limits>

#include "graph/grad_util.h"
#include "ops/cpu/kernel.h"
#include "ops/cpu/math_functors.h"
#include "ops/elemwise_sum_clip.h"

namespace axle {
namespace {

void DescribeAddN(ParamBuilder<AddNParam>& b) {
  b.Field("num_args", &AddNParam::num_args).Describe("Number of inputs to be summed.");
}

void DescribeClip(ParamBuilder<ClipParam>& b) {
  b.Field("a_min", &ClipParam::a_min).Describe("Minimum value");
  b.Field("a_max", &ClipParam::a_max).Describe("Maximum value");
}

}  // namespace

AX_REGISTER_OP("add_n") {
  op.doc = "The elementwise sum of all the inputs (of one shape and dtype).";
  op.key_var_num_args = "num_args";
  op.params = MakeSchema(DescribeAddN);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    AX_CHECK(attrs.get<AddNParam>().num_args >= 1, AX_ERR_INVALID_ARGUMENT, attrs.Who(),
             ": num_args must be >= 1, got ", attrs.get<AddNParam>().num_args);
    SameShape(attrs, in, out);
  };
  op.infer_type = SameType;
  op.inplace = {{0, 0}};
  op.compute_cpu = [](const OpContext&, const NodeAttrs&, const std::vector<TBlob>& in, const std::vector<OpReq>& req,
                      const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull) return;
    const int64_t n = out[0].Size();
    const size_t k = in.size();
    const bool add = req[0] == OpReq::kAdd;
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      using T = fn::A<DType>;
      std::vector<const DType*> xs(k);
      for (size_t j = 0; j < k; ++j) xs[j] = in[j].ptr<DType>();
      DType* y = out[0].ptr<DType>();
      constexpr int64_t kB = 2048;
      // block by block, so each block of the output is read (inputs may alias it) before it is written
      ParallelFor((n + kB - 1) / kB, std::max<int64_t>(1, kElemwiseGrain / kB), [&](int64_t bb, int64_t be) {
        T acc[kB];
        for (int64_t blk = bb; blk < be; ++blk) {
          const int64_t b = blk * kB, len = std::min(kB, n - b);
          const DType* x0 = xs[0] + b;
          for (int64_t i = 0; i < len; ++i) acc[i] = static_cast<T>(x0[i]);
          for (size_t j = 1; j < k; ++j) {
            const DType* xj = xs[j] + b;
            for (int64_t i = 0; i < len; ++i) acc[i] = static_cast<T>(acc[i] + static_cast<T>(xj[i]));
          }
          DType* yb = y + b;
          if (add) for (int64_t i = 0; i < len; ++i) yb[i] = DType(static_cast<T>(yb[i]) + acc[i]);
          else for (int64_t i = 0; i < len; ++i) yb[i] = DType(acc[i]);
        }
      });
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    return std::vector<NodeEntry>(g.node()->inputs.size(), g.ograd(0));
  };
}

AX_REGISTER_OP("clip") {
  op.input_names = {"data"};
  op.doc = "Clips the values of data to [a_min, a_max]: x > a_max gives a_max, else x < a_min gives a_min "
           "(the bounds converted to the array's dtype; NaN passes through).";
  op.params = MakeSchema(DescribeClip);
  op.infer_shape = SameShape;
  op.infer_type = SameType;
  op.inplace = {{0, 0}};
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const auto& p = attrs.get<ClipParam>();
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      using T = fn::A<DType>;
      double lo_d = p.a_min, hi_d = p.a_max;
      if constexpr (std::is_integral_v<DType>) {  // saturate: out-of-range bounds never convert
        const double l = static_cast<double>(std::numeric_limits<DType>::lowest());
        const double h = static_cast<double>(std::numeric_limits<DType>::max());
        lo_d = std::isnan(lo_d) ? l : std::clamp(lo_d, l, h);  // a NaN bound clips nothing
        hi_d = std::isnan(hi_d) ? h : std::clamp(hi_d, l, h);
      }
      const T lo = static_cast<T>(Cast<DType>(lo_d)), hi = static_cast<T>(Cast<DType>(hi_d));
      const DType* x = in[0].ptr<DType>();
      MapIndex(out[0].Size(), req[0], out[0].ptr<DType>(), [=](int64_t i) {
        const T v = static_cast<T>(x[i]);
        return v > hi ? hi : (v < lo ? lo : v);
      });
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    return {g.Make("_backward_clip", {g.ograd(0), g.input(0)}, g.attr_dict())};
  };
}

AX_REGISTER_OP("_backward_clip") {
  op.input_names = {"ograd", "data"};
  op.doc = "The gradient of clip: ograd where a_min <= data <= a_max (or data is NaN), else 0.";
  op.params = MakeSchema(DescribeClip);
  op.infer_shape = SameShape;
  op.infer_type = SameType;
  op.inplace = {{0, 0}};
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const auto& p = attrs.get<ClipParam>();
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      using T = fn::A<DType>;
      const double lo = p.a_min, hi = p.a_max;
      const DType* dy = in[0].ptr<DType>();
      const DType* x = in[1].ptr<DType>();
      MapIndex(out[0].Size(), req[0], out[0].ptr<DType>(), [=](int64_t i) {
        const double v = static_cast<double>(static_cast<T>(x[i]));
        return (v > hi || v < lo) ? T(0) : static_cast<T>(dy[i]);
      });
    });
  };
}

AX_REGISTER_OP("_cast_like") {
  op.input_names = {"data", "like"};
  op.doc = "data converted to the dtype of like (the gradient of Cast: the output gradient cast back to the "
           "input's dtype).";
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    std::vector<TShape> a = {(*in)[0]};
    SameShape(attrs, &a, out);
    (*in)[0] = a[0];
  };
  op.infer_type = [](const NodeAttrs&, std::vector<int>* in, std::vector<int>* out) {
    if ((*in)[1] >= 0) (*out)[0] = (*in)[1];
    else if ((*out)[0] >= 0) (*in)[1] = (*out)[0];
  };
  op.compute_cpu = [](const OpContext&, const NodeAttrs&, const std::vector<TBlob>& in, const std::vector<OpReq>& req,
                      const std::vector<TBlob>& out) {
    AX_TYPE_SWITCH(in[0].dtype, SType, {
      AX_TYPE_SWITCH(out[0].dtype, DType, {
        const SType* x = in[0].ptr<SType>();
        MapIndex(out[0].Size(), req[0], out[0].ptr<DType>(), [=](int64_t i) { return fn::CastValue<DType>(x[i]); });
      });
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    return {OGrad(g).Op2("_cast_like", In(g, 0)), Zeros(g, 1)};
  };
}

}  // namespace axle

namespace {
const bool ax_add_n_alias = (axle::OpRegistry::Get()->Alias("ElementWiseSum", "add_n"), true);
}
