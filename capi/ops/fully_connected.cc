// FullyConnected: y = x W^T + b, one GEMM (OpenBLAS for float32/float64), and
// _backward_FullyConnected computing the data, weight and bias gradients in one op.
#include "graph/grad_util.h"
#include "ops/cpu/gemm.h"
#include "ops/fully_connected.h"

namespace axle {
namespace {

void DescribeFC(ParamBuilder<FCParam>& b) {
  b.Field("num_hidden", &FCParam::num_hidden).Describe("Number of hidden nodes of the output.");
  b.Field("no_bias", &FCParam::no_bias, false).Describe("Whether to disable bias parameter.");
  b.Field("flatten", &FCParam::flatten, true).Describe("Whether to collapse all but the first axis of the input data tensor.");
}

const FCParam& Param(const NodeAttrs& attrs) {
  const auto& p = attrs.get<FCParam>();
  AX_CHECK(p.num_hidden >= 1, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": num_hidden must be >= 1, got ", p.num_hidden);
  return p;
}

// The data as a matrix (batch x num_input).
void DataDims(const FCParam& p, const TShape& d, int64_t* batch, int64_t* num_input) {
  const int n = d.ndim();
  if (p.flatten) {
    *batch = d[0];
    *num_input = d.ProdRange(1, n);
  } else {
    *batch = d.ProdRange(0, n - 1);
    *num_input = d[n - 1];
  }
}

bool AnyUnknown(const TShape& s, int b, int e) {
  for (int i = b; i < e; ++i)
    if (s[i] < 0) return true;
  return false;
}

void Assign(const NodeAttrs& attrs, TShape* s, const TShape& v, const char* what) {
  if (!ShapeAssign(s, v))
    Throw(AX_ERR_SHAPE, attrs.Who(), ": ", what, " shape ", s->str(), " does not match the expected ", v.str());
}

void FCShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  const auto& p = Param(attrs);
  TShape& d = (*in)[0];
  if (!p.no_bias && !(*in)[2].ndim_known()) Assign(attrs, &(*in)[2], TShape{p.num_hidden}, "bias");
  if (!d.ndim_known()) return;
  const int n = d.ndim();
  AX_CHECK(n >= 1, AX_ERR_SHAPE, attrs.Who(), ": data must have at least one dimension, got ", d.str());
  // the batch size may come from the output (graph inference)
  const TShape& o = (*out)[0];
  if (o.ndim_known() && o.ndim() >= 1 && d[0] < 0) d[0] = o[0];
  const int64_t H = p.num_hidden;
  int64_t num_input;
  if (p.flatten) num_input = AnyUnknown(d, 1, n) ? -1 : d.ProdRange(1, n);
  else num_input = d[n - 1];
  Assign(attrs, &(*in)[1], TShape{H, num_input}, "weight");
  if (!p.no_bias) {
    TShape& b = (*in)[2];
    if (b.ndim_known() && b.ndim() == 2) Assign(attrs, &b, TShape{H, 1}, "bias");
    else Assign(attrs, &b, TShape{H}, "bias");
  }
  TShape os;
  if (p.flatten) {
    os = TShape{d[0], H};
  } else {
    os = d;
    os[n - 1] = H;
  }
  Assign(attrs, &(*out)[0], os, "output");
}

void FCType(const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  SameType(attrs, in, out);
  AX_CHECK((*out)[0] != AX_BOOL, AX_ERR_TYPE, attrs.Who(), ": bool arrays are not supported");
}

template <class DType>
void AddBias(int64_t batch, int64_t H, const DType* bias, DType* y) {
  ParallelFor(batch, std::max<int64_t>(1, kElemwiseGrain / std::max<int64_t>(H, 1)), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      DType* r = y + i * H;
      for (int64_t j = 0; j < H; ++j) r[j] = DType(GemmAcc<DType>(r[j]) + GemmAcc<DType>(bias[j]));
    }
  });
}

void FCForward(const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in, const std::vector<OpReq>& req,
               const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull) return;
  const auto& p = attrs.get<FCParam>();
  int64_t batch, K;
  DataDims(p, in[0].shape, &batch, &K);
  const int64_t H = p.num_hidden;
  AX_GEMM_TYPE_SWITCH(out[0].dtype, DType, attrs.Who(), {
    DType* y = out[0].ptr<DType>();
    const DType* bias = p.no_bias ? nullptr : in[2].ptr<DType>();
    bool acc = req[0] == OpReq::kAdd;
    // small float32 products: the bias is added as the kernel stores y (no pass of its own); the
    // casts are no-ops (DType is float there), needed because the other dtypes compile this too
    if (std::is_same_v<DType, float> &&
        SmallSgemm(false, true, batch, H, K, reinterpret_cast<const float*>(in[0].ptr<DType>()), K,
                   reinterpret_cast<const float*>(in[1].ptr<DType>()), K, reinterpret_cast<float*>(y), H, acc,
                   reinterpret_cast<const float*>(bias)))
      return;
    if (bias && !acc && K > 0) {  // y = bias, then y += x W^T (one pass over y)
      ParallelFor(batch, std::max<int64_t>(1, kElemwiseGrain / std::max<int64_t>(H, 1)), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) std::copy(bias, bias + H, y + i * H);
      });
      acc = true;
      bias = nullptr;
    }
    Gemm<DType>(false, true, batch, H, K, in[0].ptr<DType>(), K, in[1].ptr<DType>(), K, y, H, acc);
    if (bias) AddBias(batch, H, bias, y);
  });
}

void FCBackward(const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in, const std::vector<OpReq>& req,
                const std::vector<TBlob>& out) {
  const auto& p = attrs.get<FCParam>();
  int64_t batch, K;
  DataDims(p, in[1].shape, &batch, &K);
  const int64_t H = p.num_hidden;
  AX_GEMM_TYPE_SWITCH(in[0].dtype, DType, attrs.Who(), {
    const DType* dy = in[0].ptr<DType>();
    const DType* x = in[1].ptr<DType>();
    const DType* w = in[2].ptr<DType>();
    // dx (batch x K) = dy (batch x H) W (H x K)
    auto data_grad = [&] {
      Gemm<DType>(false, false, batch, K, H, dy, H, w, K, out[0].ptr<DType>(), K, req[0] == OpReq::kAdd);
    };
    // dW (H x K) = dy^T x
    auto weight_grad = [&] {
      Gemm<DType>(true, false, H, K, batch, dy, H, x, K, out[1].ptr<DType>(), K, req[1] == OpReq::kAdd);
    };
    if (req[0] != OpReq::kNull && req[1] != OpReq::kNull && batch * H * K >= (int64_t(1) << 20)) {
      // both products at once, one per thread (each one unsplit: no operand packed twice)
      ParallelFor(2, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          if (i == 0) data_grad();
          else weight_grad();
        }
      });
    } else {
      if (req[0] != OpReq::kNull) data_grad();
      if (req[1] != OpReq::kNull) weight_grad();
    }
    // db (H) = column sums of dy
    if (!p.no_bias && req[2] != OpReq::kNull) {
      using AT = std::conditional_t<std::is_same_v<DType, double>, double, GemmAcc<DType>>;
      std::vector<AT> s(static_cast<size_t>(H), AT(0));
      for (int64_t i = 0; i < batch; ++i) {
        const DType* r = dy + i * H;
        for (int64_t j = 0; j < H; ++j) s[j] += static_cast<AT>(r[j]);
      }
      DType* db = out[2].ptr<DType>();
      const bool add = req[2] == OpReq::kAdd;
      for (int64_t j = 0; j < H; ++j)
        db[j] = Cast<DType>(static_cast<double>(add ? static_cast<AT>(db[j]) + s[j] : s[j]));
    }
  });
}

}  // namespace

AX_REGISTER_OP("FullyConnected") {
  op.input_names = {"data", "weight", "bias"};
  op.num_inputs = [](const NodeAttrs& attrs) { return attrs.get<FCParam>().no_bias ? 2 : 3; };
  op.doc =
      "Applies a linear transformation: Y = X W^T + b. With flatten, data (batch, x1, ..., xn) is used as "
      "(batch, x1*...*xn), weight is (num_hidden, x1*...*xn) and the output (batch, num_hidden); without, the "
      "last axis of data is transformed: (x1, ..., xn, input_dim) -> (x1, ..., xn, num_hidden). bias is "
      "(num_hidden,) and absent when no_bias.";
  op.params = MakeSchema(DescribeFC);
  op.infer_shape = FCShape;
  op.infer_type = FCType;
  op.compute_cpu = FCForward;
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    // bias (read for its shape only: (num_hidden,) or (num_hidden, 1)) goes along when present
    if (g.attrs().get<FCParam>().no_bias) {
      NodePtr n = g.MakeMulti("_backward_FullyConnected", {OGrad(g), In(g, 0), In(g, 1)}, g.attr_dict());
      return {Out(n, 0), Out(n, 1)};
    }
    NodePtr n = g.MakeMulti("_backward_FullyConnected", {OGrad(g), In(g, 0), In(g, 1), In(g, 2)}, g.attr_dict());
    return {Out(n, 0), Out(n, 1), Out(n, 2)};
  };
}

AX_REGISTER_OP("_backward_FullyConnected") {
  op.input_names = {"ograd", "data", "weight", "bias"};
  op.num_inputs = [](const NodeAttrs& attrs) { return attrs.get<FCParam>().no_bias ? 3 : 4; };
  op.doc = "Gradients of FullyConnected with respect to data, weight and (unless no_bias) bias (whose values "
           "are not read).";
  op.params = MakeSchema(DescribeFC);
  op.num_outputs = [](const NodeAttrs& attrs) { return attrs.get<FCParam>().no_bias ? 2 : 3; };
  op.output_names = {"data_grad", "weight_grad", "bias_grad"};
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    const auto& p = Param(attrs);
    Assign(attrs, &(*out)[0], (*in)[1], "data gradient");
    Assign(attrs, &(*out)[1], (*in)[2], "weight gradient");
    if (!p.no_bias) Assign(attrs, &(*out)[2], (*in)[3], "bias gradient");
  };
  op.infer_type = FCType;
  op.compute_cpu = FCBackward;
}

}  // namespace axle
