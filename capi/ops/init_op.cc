// Ops that create arrays: _zeros, _ones, _full, _arange, zeros_like, ones_like.
#include "graph/grad_util.h"
#include "ops/cpu/kernel.h"
#include "ops/init_op.h"

namespace axle {
namespace {

const std::vector<std::string> kDTypes = {"float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool"};

void DescribeInit(ParamBuilder<InitParam>& b) {
  b.Field("shape", &InitParam::shape, IntTuple{}).Describe("The shape of the output");
  b.Field("ctx", &InitParam::ctx, std::string()).Describe("The device: cpu(0), gpu(1), ...");
  b.Enum("dtype", &InitParam::dtype, kDTypes, "float32").Describe("The dtype of the output");
}
void DescribeFull(ParamBuilder<InitParam>& b) {
  DescribeInit(b);
  b.Field("value", &InitParam::value).Describe("The value to fill with");
}

void Fill(const TBlob& out, OpReq req, double v) {
  AX_TYPE_SWITCH(out.dtype, DType, {
    const DType x = Cast<DType>(v);
    MapIndex(out.Size(), req, out.ptr<DType>(), [=](int64_t) { return x; });
  });
}

void DefineFill(OpDef& op, const std::string& doc, bool has_value, double fixed) {
  op.doc = doc;
  op.needs_ctx_attr = true;
  op.params = has_value ? MakeSchema(DescribeFull) : MakeSchema(DescribeInit);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>*, std::vector<TShape>* out) {
    const auto& s = attrs.get<InitParam>().shape;
    for (int64_t d : s) AX_CHECK(d >= 0, AX_ERR_SHAPE, attrs.Who(), ": negative dimension in shape ", FormatValue(s));
    TShape t(s.begin(), s.end());
    CheckedSize(t, attrs.Who().c_str());
    if (!ShapeAssign(&(*out)[0], t))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", (*out)[0].str(), " does not match ", t.str());
  };
  op.infer_type = [](const NodeAttrs& attrs, std::vector<int>*, std::vector<int>* out) {
    (*out)[0] = attrs.get<InitParam>().dtype;
  };
  op.compute_cpu = [has_value, fixed](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>&,
                                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    Fill(out[0], req[0], has_value ? attrs.get<InitParam>().value : fixed);
  };
}

}  // namespace

AX_REGISTER_OP("_zeros") { DefineFill(op, "An array of zeros.", false, 0.0); }
AX_REGISTER_OP("_ones") { DefineFill(op, "An array of ones.", false, 1.0); }
AX_REGISTER_OP("_full") { DefineFill(op, "An array filled with value.", true, 0.0); }

namespace {
template <bool kOne>
void DefineLike(OpDef& op) {
  op.input_names = {"data"};
  op.doc = kOne ? "An array of ones with the shape and dtype of data." : "An array of zeros with the shape and dtype of data.";
  op.infer_shape = SameShape;
  op.infer_type = SameType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs&, const std::vector<TBlob>&, const std::vector<OpReq>& req,
                      const std::vector<TBlob>& out) { Fill(out[0], req[0], kOne ? 1.0 : 0.0); };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> { return {Zeros(g, 0)}; };
}

void DescribeArange(ParamBuilder<ArangeParam>& b) {
  b.Field("start", &ArangeParam::start).Describe("Start of the interval (the end when stop is None)");
  b.Field("stop", &ArangeParam::stop, std::string("None")).Describe("End of the interval (exclusive), or None");
  b.Field("step", &ArangeParam::step, 1.0).Describe("Spacing between values");
  b.Field("repeat", &ArangeParam::repeat, 1).Describe("Times each value is repeated");
  b.Field("infer_range", &ArangeParam::infer_range, false).Describe("Unused; kept for MXNet compatibility");
  b.Field("ctx", &ArangeParam::ctx, std::string()).Describe("The device");
  b.Enum("dtype", &ArangeParam::dtype, kDTypes, "float32").Describe("The dtype of the output");
}

void ArangeRange(const NodeAttrs& attrs, double* start, double* step, int64_t* n, int* repeat) {
  const auto& p = attrs.get<ArangeParam>();
  double b = p.start, e;
  if (p.stop == "None" || p.stop.empty()) {
    e = b;
    b = 0;
  } else if (!ParseValue(p.stop, &e)) {
    Throw(AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": invalid value for attribute 'stop': '", p.stop, "'");
  }
  AX_CHECK(p.step != 0, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": step must not be 0");
  AX_CHECK(p.repeat >= 1, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": repeat must be >= 1, got ", p.repeat);
  double count = std::ceil((e - b) / p.step);
  AX_CHECK(std::isfinite(count), AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": the range is not finite");
  *n = count > 0 ? static_cast<int64_t>(count) : 0;
  *start = b;
  *step = p.step;
  *repeat = p.repeat;
}
}  // namespace

AX_REGISTER_OP("zeros_like") { DefineLike<false>(op); }
AX_REGISTER_OP("ones_like") { DefineLike<true>(op); }

AX_REGISTER_OP("_arange") {
  op.doc = "Evenly spaced values in [start, stop), each repeated `repeat` times.";
  op.needs_ctx_attr = true;
  op.params = MakeSchema(DescribeArange);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>*, std::vector<TShape>* out) {
    double b, s;
    int64_t n;
    int r;
    ArangeRange(attrs, &b, &s, &n, &r);
    (*out)[0] = TShape{n * r};
  };
  op.infer_type = [](const NodeAttrs& attrs, std::vector<int>*, std::vector<int>* out) {
    (*out)[0] = attrs.get<ArangeParam>().dtype;
  };
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>&,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    double b, s;
    int64_t n;
    int r;
    ArangeRange(attrs, &b, &s, &n, &r);
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      MapIndex(out[0].Size(), req[0], out[0].ptr<DType>(), [=](int64_t i) { return Cast<DType>(b + s * (i / r)); });
    });
  };
}

}  // namespace axle
