// softmax, log_softmax, SoftmaxActivation and SoftmaxOutput (alias Softmax), numerically stable
// (the maximum is subtracted before exp), with their backward ops.
//
// Every kernel sees the data as (outer, n, inner): the softmax runs over n, with stride inner.
#include <utility>

#include "graph/grad_util.h"
#include "ops/cpu/gemm.h"
#include "ops/softmax_op.h"

namespace axle {
namespace {

struct Layout {
  int64_t outer, n, inner;
};

Layout AxisLayout(const TShape& s, int axis) {
  return {s.ProdRange(0, axis), s[axis], s.ProdRange(axis + 1, s.ndim())};
}

// Accumulator of a softmax: double when either side is float64, else float.
template <class A, class B>
using SmAcc = std::conditional_t<std::is_same_v<A, double> || std::is_same_v<B, double>, double, float>;

// y = softmax(x / T) (or log_softmax) over n; lanes with a length use only their first len[lane]
// elements and write 0 beyond.
template <bool kLog, class DType, class OType>
void SoftmaxForward(const DType* x, OType* y, const Layout& L, double temp, const std::vector<int64_t>* len,
                    OpReq req) {
  using AT = SmAcc<DType, OType>;
  if (req == OpReq::kNull || L.outer * L.n * L.inner == 0) return;
  const AT rt = AT(1.0 / temp);
  const bool add = req == OpReq::kAdd;
  auto put = [add](OType* p, AT v) { *p = add ? OType(AT(*p) + v) : OType(v); };
  if (L.inner == 1 || len) {  // one lane at a time (contiguous when inner == 1)
    const int64_t lanes = L.outer * L.inner, n = L.n, st = L.inner;
    ParallelFor(lanes, std::max<int64_t>(1, kElemwiseGrain / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
      for (int64_t lane = b; lane < e; ++lane) {
        const int64_t o = lane / L.inner, j = lane % L.inner;
        const DType* xl = x + o * n * st + j;
        OType* yl = y + o * n * st + j;
        const int64_t m = len ? std::max<int64_t>(0, std::min<int64_t>(n, (*len)[lane])) : n;
        AT mx = -std::numeric_limits<AT>::infinity();
        for (int64_t k = 0; k < m; ++k) mx = std::max(mx, AT(xl[k * st]));
        AT sum = 0;
        for (int64_t k = 0; k < m; ++k) sum += std::exp((AT(xl[k * st]) - mx) * rt);
        if constexpr (kLog) {
          const AT ls = std::log(sum);
          for (int64_t k = 0; k < m; ++k) put(yl + k * st, (AT(xl[k * st]) - mx) * rt - ls);
        } else {
          const AT inv = AT(1) / sum;
          for (int64_t k = 0; k < m; ++k) put(yl + k * st, std::exp((AT(xl[k * st]) - mx) * rt) * inv);
        }
        for (int64_t k = m; k < n; ++k) put(yl + k * st, AT(0));
      }
    });
    return;
  }
  // strided axis: vectors over inner, so the inner loops run contiguously
  ParallelFor(L.outer, std::max<int64_t>(1, kElemwiseGrain / std::max<int64_t>(L.n * L.inner, 1)),
              [&](int64_t b, int64_t e) {
                std::vector<AT> mx(L.inner), sum(L.inner);
                for (int64_t o = b; o < e; ++o) {
                  const DType* xo = x + o * L.n * L.inner;
                  OType* yo = y + o * L.n * L.inner;
                  std::fill(mx.begin(), mx.end(), -std::numeric_limits<AT>::infinity());
                  std::fill(sum.begin(), sum.end(), AT(0));
                  for (int64_t k = 0; k < L.n; ++k)
                    for (int64_t j = 0; j < L.inner; ++j) mx[j] = std::max(mx[j], AT(xo[k * L.inner + j]));
                  for (int64_t k = 0; k < L.n; ++k)
                    for (int64_t j = 0; j < L.inner; ++j) sum[j] += std::exp((AT(xo[k * L.inner + j]) - mx[j]) * rt);
                  if constexpr (kLog) {
                    for (int64_t j = 0; j < L.inner; ++j) sum[j] = std::log(sum[j]);
                    for (int64_t k = 0; k < L.n; ++k)
                      for (int64_t j = 0; j < L.inner; ++j)
                        put(yo + k * L.inner + j, (AT(xo[k * L.inner + j]) - mx[j]) * rt - sum[j]);
                  } else {
                    for (int64_t j = 0; j < L.inner; ++j) sum[j] = AT(1) / sum[j];
                    for (int64_t k = 0; k < L.n; ++k)
                      for (int64_t j = 0; j < L.inner; ++j)
                        put(yo + k * L.inner + j, std::exp((AT(xo[k * L.inner + j]) - mx[j]) * rt) * sum[j]);
                  }
                }
              });
}

// dx = y * (dy - sum(dy * y)) / T for softmax, (dy - exp(y) * sum(dy)) / T for log_softmax;
// positions beyond a lane's length get 0.
template <bool kLog, class GType, class OType, class DType>
void SoftmaxBackward(const GType* dy, const OType* y, DType* dx, const Layout& L, double temp,
                     const std::vector<int64_t>* len, OpReq req) {
  using AT = SmAcc<SmAcc<GType, OType>, DType>;
  if (req == OpReq::kNull || L.outer * L.n * L.inner == 0) return;
  const AT rt = AT(1.0 / temp);
  const bool add = req == OpReq::kAdd;
  auto put = [add](DType* p, AT v) { *p = add ? DType(AT(*p) + v) : DType(v); };
  if (L.inner == 1 || len) {
    const int64_t lanes = L.outer * L.inner, n = L.n, st = L.inner;
    ParallelFor(lanes, std::max<int64_t>(1, kElemwiseGrain / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
      for (int64_t lane = b; lane < e; ++lane) {
        const int64_t o = lane / L.inner, j = lane % L.inner, base = o * n * st + j;
        const int64_t m = len ? std::max<int64_t>(0, std::min<int64_t>(n, (*len)[lane])) : n;
        AT s = 0;
        for (int64_t k = 0; k < m; ++k) {
          const int64_t i = base + k * st;
          s += kLog ? AT(dy[i]) : AT(dy[i]) * AT(y[i]);
        }
        for (int64_t k = 0; k < m; ++k) {
          const int64_t i = base + k * st;
          if constexpr (kLog) put(dx + i, (AT(dy[i]) - std::exp(AT(y[i])) * s) * rt);
          else put(dx + i, AT(y[i]) * (AT(dy[i]) - s) * rt);
        }
        for (int64_t k = m; k < n; ++k) put(dx + base + k * st, AT(0));
      }
    });
    return;
  }
  ParallelFor(L.outer, std::max<int64_t>(1, kElemwiseGrain / std::max<int64_t>(L.n * L.inner, 1)),
              [&](int64_t b, int64_t e) {
                std::vector<AT> s(L.inner);
                for (int64_t o = b; o < e; ++o) {
                  const int64_t base = o * L.n * L.inner;
                  std::fill(s.begin(), s.end(), AT(0));
                  for (int64_t k = 0; k < L.n; ++k)
                    for (int64_t j = 0; j < L.inner; ++j) {
                      const int64_t i = base + k * L.inner + j;
                      s[j] += kLog ? AT(dy[i]) : AT(dy[i]) * AT(y[i]);
                    }
                  for (int64_t k = 0; k < L.n; ++k)
                    for (int64_t j = 0; j < L.inner; ++j) {
                      const int64_t i = base + k * L.inner + j;
                      if constexpr (kLog) put(dx + i, (AT(dy[i]) - std::exp(AT(y[i])) * s[j]) * rt);
                      else put(dx + i, AT(y[i]) * (AT(dy[i]) - s[j]) * rt);
                    }
                }
              });
}

std::vector<int64_t> ReadLengths(const TBlob& b) {
  std::vector<int64_t> v(static_cast<size_t>(b.Size()));
  AX_TYPE_SWITCH(b.dtype, T, {
    const T* p = b.ptr<T>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int64_t>(p[i]);
  });
  return v;
}

// ---- softmax / log_softmax ----------------------------------------------------------------
const int kSoftmaxDTypes[] = {AX_FLOAT16, AX_FLOAT32, AX_FLOAT64};

void DescribeSoftmax(ParamBuilder<SoftmaxParam>& b) {
  b.Field("axis", &SoftmaxParam::axis, -1).Describe("The axis along which to compute softmax.");
  b.Field("temperature", &SoftmaxParam::temperature, OptDouble()).Describe("Temperature parameter in softmax");
  b.Enum("dtype", &SoftmaxParam::dtype, {"float16", "float32", "float64"}, "None", true)
      .Describe("DType of the output in case this can't be inferred. Defaults to the same as input's dtype if not "
                "defined (dtype=None).");
  b.Field("use_length", &SoftmaxParam::use_length, OptBool(false))
      .Describe("Whether to use the length input as a mask over the data input.");
}

bool UseLength(const SoftmaxParam& p) { return p.use_length.value_or(false); }
double Temperature(const NodeAttrs& attrs) {
  const auto& t = attrs.get<SoftmaxParam>().temperature;
  if (!t) return 1.0;
  AX_CHECK(*t != 0.0, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": temperature must not be 0");
  return *t;
}

int SoftmaxAxis(const NodeAttrs& attrs, int ndim) {
  int a = attrs.get<SoftmaxParam>().axis;
  AX_CHECK(a >= -ndim && a < ndim, AX_ERR_INDEX, attrs.Who(), ": axis ", a, " is out of range for an array of ",
           ndim, " dimension(s)");
  return a < 0 ? a + ndim : a;
}

// Fills the length shape (data's without the softmax axis) and checks data.
void LengthShape(const NodeAttrs& attrs, const TShape& d, TShape* len) {
  const int ax = SoftmaxAxis(attrs, d.ndim());
  TShape ls(d.ndim() - 1);
  for (int i = 0, k = 0; i < d.ndim(); ++i)
    if (i != ax) ls[k++] = d[i];
  if (!ShapeAssign(len, ls))
    Throw(AX_ERR_SHAPE, attrs.Who(), ": length shape ", len->str(), " does not match the expected ", ls.str(),
          " (data shape without the axis)");
}

void SoftmaxShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  const auto& p = attrs.get<SoftmaxParam>();
  Temperature(attrs);
  std::vector<TShape> a = {(*in)[0]};
  SameShape(attrs, &a, out);
  (*in)[0] = a[0];
  const TShape& d = (*in)[0];
  if (!d.ndim_known()) return;
  AX_CHECK(d.ndim() >= 1, AX_ERR_SHAPE, attrs.Who(), ": data must have at least one dimension, got ", d.str());
  SoftmaxAxis(attrs, d.ndim());
  if (UseLength(p)) LengthShape(attrs, d, &(*in)[1]);
}

void CheckLengthType(const NodeAttrs& attrs, int t) {
  AX_CHECK(t < 0 || t == AX_INT32 || t == AX_INT64 || t == AX_INT8 || t == AX_UINT8, AX_ERR_TYPE, attrs.Who(),
           ": length must be an integer array, got ", DTypeName(t));
}

void SoftmaxType(const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  const auto& p = attrs.get<SoftmaxParam>();
  const int dt = (*in)[0];
  CheckFloatType(attrs, dt, "data");
  if (UseLength(p)) CheckLengthType(attrs, (*in)[1]);
  int ot = p.dtype >= 0 ? kSoftmaxDTypes[p.dtype] : dt;
  if (ot < 0) return;
  if ((*out)[0] >= 0 && (*out)[0] != ot)
    Throw(AX_ERR_TYPE, attrs.Who(), ": output dtype ", DTypeName((*out)[0]), " does not match ", DTypeName(ot));
  (*out)[0] = ot;
}

template <bool kLog>
void SoftmaxCompute(const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                    const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<SoftmaxParam>();
  Layout L = AxisLayout(in[0].shape, SoftmaxAxis(attrs, in[0].shape.ndim()));
  std::vector<int64_t> len;
  if (UseLength(p)) len = ReadLengths(in[1]);
  const double t = Temperature(attrs);
  AX_FLOAT_TYPE_SWITCH(in[0].dtype, DType, attrs.Who(), {
    AX_FLOAT_TYPE_SWITCH(out[0].dtype, OType, attrs.Who(), {
      SoftmaxForward<kLog>(in[0].ptr<DType>(), out[0].ptr<OType>(), L, t, UseLength(p) ? &len : nullptr, req[0]);
    });
  });
}

// inputs: ograd, output, data (for its shape and dtype), [length]
template <bool kLog>
void SoftmaxGradCompute(const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                        const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  const auto& p = attrs.get<SoftmaxParam>();
  Layout L = AxisLayout(in[2].shape, SoftmaxAxis(attrs, in[2].shape.ndim()));
  std::vector<int64_t> len;
  if (UseLength(p)) len = ReadLengths(in[3]);
  const double t = Temperature(attrs);
  AX_FLOAT_TYPE_SWITCH(in[1].dtype, OType, attrs.Who(), {
    AX_FLOAT_TYPE_SWITCH(out[0].dtype, DType, attrs.Who(), {
      SoftmaxBackward<kLog>(in[0].ptr<OType>(), in[1].ptr<OType>(), out[0].ptr<DType>(), L, t,
                            UseLength(p) ? &len : nullptr, req[0]);
    });
  });
}

template <bool kLog>
void DefineSoftmax(OpDef& op) {
  op.input_names = {"data", "length"};
  op.num_inputs = [](const NodeAttrs& attrs) { return UseLength(attrs.get<SoftmaxParam>()) ? 2 : 1; };
  op.doc = kLog ? "Computes the log softmax of the input along axis: (x - max)/T - log(sum(exp((x - max)/T))). With "
                  "use_length, only the first length[i] elements of each lane count (the rest give 0)."
                : "Applies the softmax function along axis: exp(x/T) / sum(exp(x/T)), computed stably. With "
                  "use_length, only the first length[i] elements of each lane count (the rest give 0).";
  op.params = MakeSchema(DescribeSoftmax);
  op.infer_shape = SoftmaxShape;
  op.infer_type = SoftmaxType;
  op.compute_cpu = SoftmaxCompute<kLog>;
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    const char* bw = kLog ? "_backward_log_softmax" : "_backward_softmax";
    if (UseLength(g.attrs().get<SoftmaxParam>()))
      return {g.Make(bw, {OGrad(g), FwdOut(g), In(g, 0), In(g, 1)}, g.attr_dict()), Zeros(g, 1)};
    return {g.Make(bw, {OGrad(g), FwdOut(g), In(g, 0)}, g.attr_dict())};
  };
}

template <bool kLog>
void DefineSoftmaxBackward(OpDef& op) {
  op.input_names = {"ograd", "output", "data", "length"};
  op.num_inputs = [](const NodeAttrs& attrs) { return UseLength(attrs.get<SoftmaxParam>()) ? 4 : 3; };
  op.doc = kLog ? "Gradient of log_softmax (data is read for its shape and dtype only)."
                : "Gradient of softmax (data is read for its shape and dtype only).";
  op.params = MakeSchema(DescribeSoftmax);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    std::vector<TShape> a = {(*in)[0], (*in)[1], (*in)[2]};
    SameShape(attrs, &a, out);
    for (int i = 0; i < 3; ++i) (*in)[i] = a[i];
  };
  op.infer_type = [](const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
    std::vector<int> a = {(*in)[0], (*in)[1]}, o;
    SameType(attrs, &a, &o);
    std::vector<int> d = {(*in)[2]};
    SameType(attrs, &d, out);
    (*in)[0] = a[0];
    (*in)[1] = a[1];
    (*in)[2] = d[0];
  };
  op.compute_cpu = SoftmaxGradCompute<kLog>;
}

// ---- SoftmaxActivation ----------------------------------------------------------------------
void DescribeSoftmaxAct(ParamBuilder<SoftmaxActParam>& b) {
  b.Enum("mode", &SoftmaxActParam::mode, {"channel", "instance"}, "instance")
      .Describe("Softmax Mode. If set to instance, this operator will compute a softmax for each instance in the "
                "batch (over the last axis). If set to channel, this operator will compute a k-class softmax at "
                "each position of each instance (over axis 1; data needs at least 3 dimensions).");
}

Layout SoftmaxActLayout(const NodeAttrs& attrs, const TShape& s) {
  if (attrs.get<SoftmaxActParam>().mode == 0) return AxisLayout(s, 1);
  return AxisLayout(s, s.ndim() - 1);
}

void SoftmaxActShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  SameShape(attrs, in, out);
  const TShape& d = (*in)[0];
  if (!d.ndim_known()) return;
  if (attrs.get<SoftmaxActParam>().mode == 0)
    AX_CHECK(d.ndim() >= 3, AX_ERR_SHAPE, attrs.Who(),
             ": data needs at least 3 dimensions when mode=channel, got ", d.str());
  else
    AX_CHECK(d.ndim() >= 1, AX_ERR_SHAPE, attrs.Who(), ": data must have at least one dimension, got ", d.str());
}

void FloatSameType(const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  SameType(attrs, in, out);
  CheckFloatType(attrs, (*out)[0], "data");
}

// ---- SoftmaxOutput --------------------------------------------------------------------------

void DescribeSoftmaxOutput(ParamBuilder<SoftmaxOutputParam>& b) {
  b.Field("grad_scale", &SoftmaxOutputParam::grad_scale, 1.0f).Describe("Scales the gradient by a float factor.");
  b.Field("ignore_label", &SoftmaxOutputParam::ignore_label, -1.0f)
      .Describe("The instances whose `labels` == `ignore_label` will be ignored during backward, if `use_ignore` is "
                "set to ``true``).");
  b.Field("multi_output", &SoftmaxOutputParam::multi_output, false)
      .Describe("If set to ``true``, the softmax function will be computed along axis ``1``. This is applied when "
                "the shape of input array differs from the shape of label array.");
  b.Field("use_ignore", &SoftmaxOutputParam::use_ignore, false)
      .Describe("If set to ``true``, the `ignore_label` value will not contribute to the backward gradient.");
  b.Field("preserve_shape", &SoftmaxOutputParam::preserve_shape, false)
      .Describe("If set to ``true``, the softmax function will be computed along the last axis (``-1``).");
  b.Enum("normalization", &SoftmaxOutputParam::normalization, {"batch", "null", "valid"}, "null")
      .Describe("Normalizes the gradient.");
  b.Field("out_grad", &SoftmaxOutputParam::out_grad, false)
      .Describe("Multiplies gradient with output gradient element-wise.");
  b.Field("smooth_alpha", &SoftmaxOutputParam::smooth_alpha, 0.0f)
      .Describe("Constant for computing a label smoothed version of cross-entropyfor the backwards pass.  This "
                "constant gets subtracted from the one-hot encoding of the gold label and distributed uniformly to "
                "all other labels.");
}

Layout SoftmaxOutputLayout(const SoftmaxOutputParam& p, const TShape& s) {
  if (p.multi_output) return {s[0], s.ndim() > 1 ? s[1] : 1, s.ProdRange(std::min(2, s.ndim()), s.ndim())};
  if (p.preserve_shape) return AxisLayout(s, s.ndim() - 1);
  return {s[0], s.ProdRange(1, s.ndim()), 1};
}

void SoftmaxOutputShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  const auto& p = attrs.get<SoftmaxOutputParam>();
  std::vector<TShape> a = {(*in)[0]};
  SameShape(attrs, &a, out);
  (*in)[0] = a[0];
  const TShape& d = (*in)[0];
  TShape& l = (*in)[1];
  if (!d.ndim_known()) return;
  AX_CHECK(d.ndim() >= 1, AX_ERR_SHAPE, attrs.Who(), ": data must have at least one dimension, got ", d.str());
  if (!d.known()) return;
  if (l.known() && l == d) return;  // probabilities as labels
  if (p.multi_output) {
    AX_CHECK(d.ndim() >= 2, AX_ERR_SHAPE, attrs.Who(), ": multi_output needs data with at least 2 dimensions, got ",
             d.str());
    TShape l1{d[0], d.ProdRange(2, d.ndim())};
    TShape l2(d.ndim() - 1);
    l2[0] = d[0];
    for (int i = 2; i < d.ndim(); ++i) l2[i - 1] = d[i];
    TShape l3 = d;
    l3[1] = 1;
    if (!l.ndim_known()) {
      l = l1;
    } else if (!(l == l1 || l == l2 || l == l3)) {
      Throw(AX_ERR_SHAPE, attrs.Who(), ": label shape ", l.str(), " does not fit data ", d.str(), " (expected ",
            l1.str(), ", ", l2.str(), " or ", l3.str(), ")");
    }
  } else {
    AX_CHECK(p.preserve_shape || d.ndim() >= 2, AX_ERR_SHAPE, attrs.Who(),
             ": class labels need data with at least 2 dimensions, got ", d.str());
    TShape ls(d.ndim() - 1);
    for (int i = 0; i + 1 < d.ndim(); ++i) ls[i] = d[i];
    if (!ShapeAssign(&l, ls))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": label shape ", l.str(), " does not match the expected ", ls.str(),
            " (data shape without the last axis, or data's shape for probabilities)");
  }
}

// A label as a class index (truncated like C's cast; NaN and out-of-range values match no class).
int LabelInt(float v) {
  return v > -2147483520.0f && v < 2147483520.0f ? static_cast<int>(v) : std::numeric_limits<int>::min();
}

// inputs: ograd, output, label
void SoftmaxOutputGrad(const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                       const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
  if (req[0] == OpReq::kNull) return;
  const auto& p = attrs.get<SoftmaxOutputParam>();
  const TShape& s = in[1].shape;
  const bool add = req[0] == OpReq::kAdd;
  AX_FLOAT_TYPE_SWITCH(out[0].dtype, DType, attrs.Who(), {
    using AT = SmAcc<DType, DType>;
    const DType* og = in[0].ptr<DType>();
    const DType* y = in[1].ptr<DType>();
    const DType* lab = in[2].ptr<DType>();
    DType* dx = out[0].ptr<DType>();
    auto put = [&](int64_t i, AT v) {
      if (p.out_grad) v *= AT(og[i]);
      dx[i] = add ? DType(AT(dx[i]) + v) : DType(v);
    };
    const int64_t total = s.Size();
    if (in[2].shape == s) {  // probabilities as labels: (out - label) * grad_scale
      for (int64_t i = 0; i < total; ++i) put(i, (AT(y[i]) - AT(lab[i])) * AT(p.grad_scale));
      return;
    }
    Layout L = SoftmaxOutputLayout(p, s);
    const int64_t nlab = std::min(L.outer * L.inner, in[2].Size());  // one label per lane
    const int ignore = LabelInt(p.ignore_label);
    double valid = static_cast<double>(nlab);
    if (p.normalization == kNormBatch) {
      valid = p.multi_output ? static_cast<double>(L.outer) : static_cast<double>(in[2].Size());
    } else if (p.normalization == kNormValid) {
      int64_t c = 0;
      for (int64_t i = 0; i < in[2].Size(); ++i) c += LabelInt(static_cast<float>(lab[i])) != ignore;
      valid = static_cast<double>(std::max<int64_t>(c, 1));
    } else {
      valid = 1.0;
    }
    double scale = p.grad_scale / valid;
    if (p.multi_output && p.normalization != kNormValid) scale /= static_cast<double>(std::max<int64_t>(L.inner, 1));
    const AT sc = AT(scale);
    // label smoothing (MXNet 1.9.1 applies it without multi_output only)
    const double alpha = p.multi_output ? 0.0 : p.smooth_alpha;
    const AT on = AT(1.0 - alpha);
    const AT off = L.n > 1 ? AT(alpha / (L.n - 1)) : AT(0);
    for (int64_t lane = 0; lane < nlab; ++lane) {
      const int64_t o = lane / L.inner, j = lane % L.inner, base = o * L.n * L.inner + j;
      const int k = LabelInt(static_cast<float>(lab[lane]));
      const bool ignored = p.use_ignore && k == ignore;
      for (int64_t c = 0; c < L.n; ++c) {
        const int64_t i = base + c * L.inner;
        put(i, ignored ? AT(0) : (AT(y[i]) - (c == k ? on : off)) * sc);
      }
    }
  });
}

}  // namespace

AX_REGISTER_OP("softmax") { DefineSoftmax<false>(op); }
AX_REGISTER_OP("log_softmax") { DefineSoftmax<true>(op); }
AX_REGISTER_OP("_backward_softmax") { DefineSoftmaxBackward<false>(op); }
AX_REGISTER_OP("_backward_log_softmax") { DefineSoftmaxBackward<true>(op); }

AX_REGISTER_OP("SoftmaxActivation") {
  op.input_names = {"data"};
  op.doc =
      "Applies softmax activation: mode=instance over the last axis, mode=channel over axis 1 (data of at least "
      "3 dimensions).";
  op.params = MakeSchema(DescribeSoftmaxAct);
  op.infer_shape = SoftmaxActShape;
  op.infer_type = FloatSameType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    Layout L = SoftmaxActLayout(attrs, in[0].shape);
    AX_FLOAT_TYPE_SWITCH(out[0].dtype, DType, attrs.Who(), {
      SoftmaxForward<false>(in[0].ptr<DType>(), out[0].ptr<DType>(), L, 1.0, nullptr, req[0]);
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    return {g.Make("_backward_SoftmaxActivation", {OGrad(g), FwdOut(g)}, g.attr_dict())};
  };
}

AX_REGISTER_OP("_backward_SoftmaxActivation") {
  op.input_names = {"ograd", "output"};
  op.doc = "Gradient of SoftmaxActivation.";
  op.params = MakeSchema(DescribeSoftmaxAct);
  op.infer_shape = SoftmaxActShape;
  op.infer_type = FloatSameType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    Layout L = SoftmaxActLayout(attrs, in[1].shape);
    AX_FLOAT_TYPE_SWITCH(out[0].dtype, DType, attrs.Who(), {
      SoftmaxBackward<false>(in[0].ptr<DType>(), in[1].ptr<DType>(), out[0].ptr<DType>(), L, 1.0, nullptr, req[0]);
    });
  };
}

AX_REGISTER_OP("SoftmaxOutput") {
  op.input_names = {"data", "label"};
  op.doc =
      "Computes the softmax of data (over the flattened trailing axes; over axis 1 with multi_output; over the "
      "last axis with preserve_shape) and, as a loss head, the gradient (softmax - onehot(label)) * grad_scale / "
      "normalization, ignoring the incoming gradient (unless out_grad). A label of data's shape is used as "
      "probabilities: gradient (softmax - label) * grad_scale.";
  op.params = MakeSchema(DescribeSoftmaxOutput);
  op.infer_shape = SoftmaxOutputShape;
  op.infer_type = FloatSameType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    Layout L = SoftmaxOutputLayout(attrs.get<SoftmaxOutputParam>(), in[0].shape);
    AX_FLOAT_TYPE_SWITCH(out[0].dtype, DType, attrs.Who(), {
      SoftmaxForward<false>(in[0].ptr<DType>(), out[0].ptr<DType>(), L, 1.0, nullptr, req[0]);
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    // A loss head: without out_grad the backward kernel never reads its ograd slot, so the
    // output fills it and the graph needs no head gradient (executor.backward() takes none).
    const bool og = g.attrs().get<SoftmaxOutputParam>().out_grad;
    return {g.Make("_backward_SoftmaxOutput", {og ? OGrad(g) : FwdOut(g), FwdOut(g), In(g, 1)}, g.attr_dict()),
            Zeros(g, 1)};
  };
}

AX_REGISTER_OP("_backward_SoftmaxOutput") {
  op.input_names = {"ograd", "output", "label"};
  op.doc = "Gradient of SoftmaxOutput with respect to data (the output gradient is read only with out_grad).";
  op.params = MakeSchema(DescribeSoftmaxOutput);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    std::vector<TShape> a = {(*in)[0], (*in)[1]};
    SameShape(attrs, &a, out);
    (*in)[0] = a[0];
    (*in)[1] = a[1];
  };
  op.infer_type = FloatSameType;
  op.compute_cpu = SoftmaxOutputGrad;
}

}  // namespace axle

namespace {
const bool ax_softmax_output_alias = (axle::OpRegistry::Get()->Alias("Softmax", "SoftmaxOutput"), true);
}
