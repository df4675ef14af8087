// Embedding: rows of weight (input_dim, output_dim) picked by the indices in data (any dtype,
// truncated and clipped to [0, input_dim-1] as MXNet does); the weight's gradient is a scatter-add
// of the output gradient's rows (_backward_Embedding), the indices get zeros.
#include "graph/grad_util.h"
#include "ops/cpu/gemm.h"
#include "ops/embedding_op.h"

namespace axle {
namespace {

const std::vector<std::string> kEmbedDTypes = {"bfloat16", "float16", "float32", "float64",
                                               "int32",    "int64",   "int8",    "uint8"};
const int kEmbedCodes[] = {-1, AX_FLOAT16, AX_FLOAT32, AX_FLOAT64, AX_INT32, AX_INT64, AX_INT8, AX_UINT8};

void DescribeEmbed(ParamBuilder<EmbedParam>& b) {
  b.Field("input_dim", &EmbedParam::input_dim).Describe("Vocabulary size of the input indices.");
  b.Field("output_dim", &EmbedParam::output_dim).Describe("Dimension of the embedding vectors.");
  b.Enum("dtype", &EmbedParam::dtype, kEmbedDTypes, "float32").Describe("Data type of weight.");
  b.Field("sparse_grad", &EmbedParam::sparse_grad, false)
      .Describe("Compute row sparse gradient in the backward calculation (the gradient is dense here).");
}

const EmbedParam& Param(const NodeAttrs& attrs) {
  const auto& p = attrs.get<EmbedParam>();
  AX_CHECK(p.input_dim >= 1, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": input_dim must be >= 1, got ", p.input_dim);
  AX_CHECK(p.output_dim >= 1, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": output_dim must be >= 1, got ",
           p.output_dim);
  return p;
}

int ParamDType(const NodeAttrs& attrs) {
  int t = kEmbedCodes[attrs.get<EmbedParam>().dtype];
  AX_CHECK(t >= 0, AX_ERR_TYPE, attrs.Who(), ": dtype bfloat16 is not supported");
  return t;
}

void AssignWeight(const NodeAttrs& attrs, TShape* w) {
  const auto& p = Param(attrs);
  TShape ws{p.input_dim, p.output_dim};
  if (!ShapeAssign(w, ws))
    Throw(AX_ERR_SHAPE, attrs.Who(), ": weight shape ", w->str(), " does not match the expected ", ws.str(),
          " (input_dim, output_dim)");
}

// Clipped row index of an index value.
template <class T>
inline int64_t RowOf(T v, int64_t rows) {
  const double d = static_cast<double>(v);
  if (!(d > 0)) return 0;  // negative, zero and NaN
  if (d >= static_cast<double>(rows - 1)) return rows - 1;
  return static_cast<int64_t>(d);
}

// The clipped row of every index in b.
std::vector<int64_t> RowsOf(const TBlob& b, int64_t rows) {
  std::vector<int64_t> r(static_cast<size_t>(b.Size()));
  AX_TYPE_SWITCH(b.dtype, IType, {
    const IType* p = b.ptr<IType>();
    for (size_t i = 0; i < r.size(); ++i) r[i] = RowOf(p[i], rows);
  });
  return r;
}

// dw[r[i], :] += dy[i, :] (dw zeroed first unless add).
template <class DType>
void ScatterRows(const DType* dy, const std::vector<int64_t>& r, int64_t rows, int64_t D, DType* dw, bool add) {
  const int64_t n = static_cast<int64_t>(r.size());
  if constexpr (std::is_same_v<DType, float> || std::is_same_v<DType, double>) {  // add in place
    if (!add) std::fill(dw, dw + rows * D, DType(0));
    for (int64_t i = 0; i < n; ++i) {
      DType* dst = dw + r[i] * D;
      const DType* src = dy + i * D;
      for (int64_t j = 0; j < D; ++j) dst[j] += src[j];
    }
  } else {  // float16 / integers: sum in float / int64, then store
    using AT = std::conditional_t<std::is_integral_v<DType>, int64_t, float>;
    std::vector<AT> acc(static_cast<size_t>(rows * D), AT(0));
    for (int64_t i = 0; i < n; ++i) {
      AT* dst = acc.data() + r[i] * D;
      const DType* src = dy + i * D;
      for (int64_t j = 0; j < D; ++j) dst[j] += AT(src[j]);
    }
    for (int64_t i = 0; i < rows * D; ++i) dw[i] = Cast<DType>(static_cast<double>(add ? AT(dw[i]) + acc[i] : acc[i]));
  }
}

}  // namespace

AX_REGISTER_OP("Embedding") {
  op.input_names = {"data", "weight"};
  op.doc =
      "Maps integer indices to vector representations: out[..., :] = weight[clip(int(data[...]), 0, input_dim-1), "
      ":], of shape data.shape + (output_dim,).";
  op.params = MakeSchema(DescribeEmbed);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    const auto& p = Param(attrs);
    AssignWeight(attrs, &(*in)[1]);
    const TShape& d = (*in)[0];
    if (!d.ndim_known()) return;
    TShape o(d.ndim() + 1);
    for (int i = 0; i < d.ndim(); ++i) o[i] = d[i];
    o[d.ndim()] = p.output_dim;
    if (!ShapeAssign(&(*out)[0], o))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", (*out)[0].str(), " does not match ", o.str());
  };
  op.infer_type = [](const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
    // the weight's dtype when known, else the dtype attribute; data may be of any dtype
    int t = (*in)[1] >= 0 ? (*in)[1] : ((*out)[0] >= 0 ? (*out)[0] : ParamDType(attrs));
    AX_CHECK(t != AX_BOOL, AX_ERR_TYPE, attrs.Who(), ": bool weights are not supported");
    std::vector<int> a = {(*in)[1]}, o = {(*out)[0]};
    a[0] = a[0] < 0 ? t : a[0];
    SameType(attrs, &a, &o);
    (*in)[1] = a[0];
    (*out)[0] = o[0];
    if ((*in)[0] < 0) (*in)[0] = t;
  };
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull) return;
    const auto& p = attrs.get<EmbedParam>();
    const int64_t n = in[0].Size(), D = p.output_dim, rows = p.input_dim;
    const bool add = req[0] == OpReq::kAdd;
    const std::vector<int64_t> r = RowsOf(in[0], rows);
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      const DType* w = in[1].ptr<DType>();
      DType* y = out[0].ptr<DType>();
      ParallelFor(n, std::max<int64_t>(1, kElemwiseGrain / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const DType* src = w + r[i] * D;
          DType* dst = y + i * D;
          if (add) for (int64_t j = 0; j < D; ++j) dst[j] = DType(GemmAcc<DType>(dst[j]) + GemmAcc<DType>(src[j]));
          else std::copy(src, src + D, dst);
        }
      });
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    return {Zeros(g, 0), g.Make("_backward_Embedding", {OGrad(g), In(g, 0)}, g.attr_dict())};
  };
}

AX_REGISTER_OP("_backward_Embedding") {
  op.input_names = {"ograd", "data"};
  op.doc = "Gradient of Embedding with respect to weight: the rows of ograd added at their indices.";
  op.params = MakeSchema(DescribeEmbed);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>*, std::vector<TShape>* out) {
    AssignWeight(attrs, &(*out)[0]);
  };
  op.infer_type = [](const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
    std::vector<int> a = {(*in)[0]};
    SameType(attrs, &a, out);
    (*in)[0] = a[0];
  };
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull) return;
    const auto& p = attrs.get<EmbedParam>();
    const int64_t D = p.output_dim, rows = p.input_dim;
    const std::vector<int64_t> r = RowsOf(in[1], rows);
    const bool add = req[0] == OpReq::kAdd;
    AX_TYPE_SWITCH(out[0].dtype, DType, { ScatterRows(in[0].ptr<DType>(), r, rows, D, out[0].ptr<DType>(), add); });
  };
}

}  // namespace axle
