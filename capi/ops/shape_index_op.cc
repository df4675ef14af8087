// Index ops (MXNet 1.x): take, pick, one_hot, where, _shuffle/shuffle, and the backward ops of take
// and pick (_backward_take, _backward_pick).
//
// Indices may have any dtype; float indices are truncated toward zero as MXNet does (NaN counts
// as 0, or as out of range in take's mode='raise'). Axes out of range are AX_ERR_INDEX, shapes
// that do not fit AX_ERR_SHAPE, bad attribute values AX_ERR_INVALID_ARGUMENT.
#include <cstring>
#include <memory>

#include "graph/grad_util.h"
#include "ops/cpu/kernel.h"
#include "ops/cpu/shape_util.h"
#include "ops/random_state.h"
#include "ops/shape_index_op.h"

namespace axle {
namespace {

// An index value as a double (exact for every integer an index can address).
template <class IType>
inline double IndexValue(IType v) {
  if constexpr (std::is_same_v<IType, half_t>) return static_cast<float>(v);
  else return static_cast<double>(v);
}

// Truncates toward zero; NaN gives 0, huge values saturate.
inline int64_t TruncIndex(double v) {
  if (!(v == v)) return 0;
  if (v >= 9.2e18) return INT64_MAX;
  if (v <= -9.2e18) return INT64_MIN;
  return static_cast<int64_t>(v);
}

inline int64_t ClipIndex(int64_t j, int64_t m) { return j < 0 ? 0 : (j >= m ? m - 1 : j); }
inline int64_t WrapIndex(int64_t j, int64_t m) {
  j %= m;
  return j < 0 ? j + m : j;
}


// The indices of `idx` resolved against an axis of size m by mode (clip, wrap, or raise: an
// error for a value outside [0, m - 1]). m must be > 0 unless idx is empty.
std::vector<int64_t> ResolveIndices(const NodeAttrs& attrs, const TBlob& idx, int64_t m, int mode, int axis,
                                    const TShape& data_shape) {
  const int64_t n = idx.Size();
  std::vector<int64_t> r(static_cast<size_t>(n));
  if (n == 0) return r;
  if (m <= 0) {  // an empty axis: no index is valid, and nothing is read (the output is empty)
    AX_CHECK(mode != kRaise, AX_ERR_INDEX, attrs.Who(), ": no index is in range for axis ", axis, " of size 0 (data "
             "shape ", data_shape.str(), ", mode='raise')");
    return r;
  }
  AX_TYPE_SWITCH(idx.dtype, IType, {
    const IType* p = idx.ptr<IType>();
    for (int64_t i = 0; i < n; ++i) {
      const double v = IndexValue(p[i]);
      if (mode == kRaise) {
        AX_CHECK(v >= 0 && v <= static_cast<double>(m - 1), AX_ERR_INDEX, attrs.Who(), ": index ", v, " (at position ",
                 i, " of indices) is out of range for axis ", axis, " of size ", m, " (data shape ", data_shape.str(),
                 ", mode='raise')");
        r[i] = static_cast<int64_t>(v);
      } else {
        const int64_t j = TruncIndex(v);
        r[i] = mode == kClip ? ClipIndex(j, m) : WrapIndex(j, m);
      }
    }
  });
  return r;
}

// The inputs listed and every output share one dtype; the other inputs (indices, conditions)
// keep their own. Messages name the inputs as the op does.
void SameTypeOf(const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out, std::vector<size_t> which) {
  int t = -1;
  for (size_t i : which) {
    const int x = (*in)[i];
    if (x < 0) continue;
    if (t >= 0 && t != x)
      Throw(AX_ERR_TYPE, attrs.Who(), ": dtype of input '", InputName(attrs, i), "' is ", DTypeName(x), ", expected ",
            DTypeName(t));
    t = x;
  }
  for (size_t k = 0; k < out->size(); ++k) {
    const int x = (*out)[k];
    if (x < 0) continue;
    if (t >= 0 && t != x)
      Throw(AX_ERR_TYPE, attrs.Who(), ": dtype of output ", k, " is ", DTypeName(x), ", expected ", DTypeName(t));
    t = x;
  }
  for (size_t i : which) (*in)[i] = t;
  for (auto& x : *out) x = t;
}

// ---- take -------------------------------------------------------------------------------------

void DescribeTake(ParamBuilder<TakeParam>& b) {
  b.Field("axis", &TakeParam::axis, 0)
      .Describe("The axis of input array to be taken.For input tensor of rank r, it could be in the range of "
                "[-r, r-1]");
  b.Enum("mode", &TakeParam::mode, {"clip", "raise", "wrap"}, "clip")
      .Describe("Specify how out-of-bound indices bahave. Default is \"clip\". \"clip\" means clip to the range. So, if "
                "all indices mentioned are too large, they are replaced by the index that addresses the last element "
                "along an axis. \"wrap\" means to wrap around. \"raise\" means to raise an error when index out of "
                "range.");
}

// data as (outer, m, inner) along the take axis; the output is (outer, k, inner).
struct TakePlan {
  int axis;
  int64_t outer, m, inner;
};
TakePlan PlanTake(const NodeAttrs& attrs, const TShape& a) {
  TakePlan p;
  AX_CHECK(a.ndim() > 0, AX_ERR_SHAPE, attrs.Who(), ": cannot take from a zero-dimensional array (a shape ", a.str(),
           ")");
  p.axis = NormAxis(attrs, "axis", attrs.get<TakeParam>().axis, a.ndim(), a, "a");
  p.outer = a.ProdRange(0, p.axis);
  p.m = a[p.axis];
  p.inner = a.ProdRange(p.axis + 1, a.ndim());
  return p;
}

void TakeInferShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  const TShape& a = (*in)[0];
  const TShape& idx = (*in)[1];
  if (!a.known() || !idx.known()) return;
  TakePlan p = PlanTake(attrs, a);
  AX_CHECK(p.m > 0 || idx.Size() == 0 || p.outer * p.inner == 0, AX_ERR_INDEX, attrs.Who(), ": cannot take indices of "
           "shape ", idx.str(), " from axis ", p.axis, " of size 0 (a shape ", a.str(), ")");
  std::vector<int64_t> o(a.begin(), a.begin() + p.axis);
  o.insert(o.end(), idx.begin(), idx.end());
  o.insert(o.end(), a.begin() + p.axis + 1, a.end());
  AX_CHECK(static_cast<int>(o.size()) <= kMaxNDim, AX_ERR_SHAPE, attrs.Who(), ": the output of taking indices of shape ",
           idx.str(), " from a of shape ", a.str(), " would have ", o.size(), " dimensions (at most ", kMaxNDim, ")");
  AssignOut(attrs, out, 0, TShape(o.begin(), o.end()));
}

// ---- pick -------------------------------------------------------------------------------------

void DescribePick(ParamBuilder<PickParam>& b) {
  b.Field("axis", &PickParam::axis, OptInt{-1})
      .Describe("int or None. The axis to picking the elements. Negative values means indexing from right to left. If "
                "is `None`, the elements in the index w.r.t the flattened input will be picked.");
  b.Field("keepdims", &PickParam::keepdims, false)
      .Describe("If true, the axis where we pick the elements is left in the result as dimension with size one.");
  b.Enum("mode", &PickParam::mode, {"clip", "wrap"}, "clip")
      .Describe("Specify how out-of-bound indices behave. Default is \"clip\". \"clip\" means clip to the range. So, if "
                "all indices mentioned are too large, they are replaced by the index that addresses the last element "
                "along an axis.  \"wrap\" means to wrap around.");
}

struct PickPlan {
  int axis;
  int64_t outer, m, inner;
  TShape kept, reduced;  // data's shape with the axis set to 1 / removed ((1,) for 1-D data, as MXNet)
};
PickPlan PlanPick(const NodeAttrs& attrs, const TShape& d) {
  const auto& p = attrs.get<PickParam>();
  AX_CHECK(p.axis.has_value(), AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": axis=None is not supported, give an axis");
  AX_CHECK(d.ndim() > 0, AX_ERR_SHAPE, attrs.Who(), ": cannot pick from a zero-dimensional array (data shape ", d.str(),
           ")");
  PickPlan r;
  r.axis = NormAxis(attrs, "axis", *p.axis, d.ndim(), d);
  r.outer = d.ProdRange(0, r.axis);
  r.m = d[r.axis];
  r.inner = d.ProdRange(r.axis + 1, d.ndim());
  r.kept = d;
  r.kept[r.axis] = 1;
  std::vector<int64_t> v(d.begin(), d.end());
  v.erase(v.begin() + r.axis);
  if (v.empty()) v.push_back(1);
  r.reduced = TShape(v.begin(), v.end());
  return r;
}

int PickMode(const NodeAttrs& attrs) { return attrs.get<PickParam>().mode == 0 ? kClip : kWrap; }

void PickInferShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  const TShape& d = (*in)[0];
  if (!d.known()) return;
  PickPlan p = PlanPick(attrs, d);
  AssignOut(attrs, out, 0, attrs.get<PickParam>().keepdims ? p.kept : p.reduced);
  TShape& idx = (*in)[1];
  if (!idx.ndim_known()) return;
  const TShape& want = idx.ndim() == d.ndim() ? p.kept : p.reduced;
  if (!ShapeAssign(&idx, want))
    Throw(AX_ERR_SHAPE, attrs.Who(), ": index of shape ", idx.str(), " does not fit data of shape ", d.str(),
          " on axis ", p.axis, " (expected ", p.reduced.str(), " or ", p.kept.str(), ")");
  AX_CHECK(p.m > 0 || idx.Size() == 0, AX_ERR_INDEX, attrs.Who(), ": cannot pick from axis ", p.axis,
           " of size 0 (data shape ", d.str(), ")");
}

// ---- one_hot ----------------------------------------------------------------------------------

const std::vector<std::string> kOneHotDTypes = {"float16", "float32", "float64", "int32", "int64", "int8", "uint8"};

void DescribeOneHot(ParamBuilder<OneHotParam>& b) {
  b.Field("depth", &OneHotParam::depth).Describe("Depth of the one hot dimension.");
  b.Field("on_value", &OneHotParam::on_value, 1.0)
      .Describe("The value assigned to the locations represented by indices.");
  b.Field("off_value", &OneHotParam::off_value, 0.0)
      .Describe("The value assigned to the locations not represented by indices.");
  b.Enum("dtype", &OneHotParam::dtype, kOneHotDTypes, "float32").Describe("DType of the output");
}

}  // namespace

// ---- registrations ----------------------------------------------------------------------------

AX_REGISTER_OP("take") {
  op.input_names = {"a", "indices"};
  op.doc = "Takes elements from `a` along `axis` at `indices`: the output has shape a.shape[:axis] + indices.shape + "
           "a.shape[axis+1:]. Out-of-range indices follow `mode` (clip, wrap or raise).";
  op.params = MakeSchema(DescribeTake);
  op.infer_shape = TakeInferShape;
  op.infer_type = [](const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) { SameTypeOf(attrs, in, out, {0}); };
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull) return;
    TakePlan p = PlanTake(attrs, in[0].shape);
    const std::vector<int64_t> idx = ResolveIndices(attrs, in[1], p.m, attrs.get<TakeParam>().mode, p.axis, in[0].shape);
    if (out[0].Size() == 0) return;
    const int64_t k = static_cast<int64_t>(idx.size()), inner = p.inner, m = p.m;
    const bool add = req[0] == OpReq::kAdd;
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      const DType* x = in[0].ptr<DType>();
      DType* y = out[0].ptr<DType>();
      ParallelFor(p.outer * k, GrainFor(inner), [&](int64_t b, int64_t e) {
        for (int64_t row = b; row < e; ++row) {  // row = (o, j)
          const int64_t o = row / k, j = row % k;
          const DType* src = x + (o * m + idx[j]) * inner;
          DType* dst = y + row * inner;
          if (add) for (int64_t i = 0; i < inner; ++i) dst[i] = DType(dst[i] + src[i]);
          else std::memcpy(dst, src, static_cast<size_t>(inner) * sizeof(DType));
        }
      });
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    return {g.Make("_backward_take", {g.ograd(0), g.input(1), g.input(0)}, g.attr_dict()), Zeros(g, 1)};
  };
}

AX_REGISTER_OP("_backward_take") {
  op.input_names = {"ograd", "indices", "a"};
  op.doc = "The gradient of take with respect to a: ograd added into zeros of a's shape at the taken places.";
  op.params = MakeSchema(DescribeTake);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    AssignOut(attrs, out, 0, (*in)[2]);
    std::vector<TShape> fin = {(*in)[2], (*in)[1]}, fout = {(*in)[0]};
    TakeInferShape(attrs, &fin, &fout);
    (*in)[0] = fout[0];
  };
  op.infer_type = [](const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
    SameTypeOf(attrs, in, out, {0, 2});
  };
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull) return;
    TakePlan p = PlanTake(attrs, out[0].shape);
    const int mode = attrs.get<TakeParam>().mode == kClip ? kClip : kWrap;  // raise was checked forward
    ZeroUnlessAdd(out[0], req[0]);
    if (in[0].Size() == 0) return;
    const std::vector<int64_t> idx = ResolveIndices(attrs, in[1], p.m, mode, p.axis, out[0].shape);
    const int64_t k = static_cast<int64_t>(idx.size()), inner = p.inner, m = p.m;
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      const DType* dy = in[0].ptr<DType>();
      DType* dx = out[0].ptr<DType>();
      // indices may repeat: each outer slice is summed by one thread
      ParallelFor(p.outer, GrainFor(k * inner), [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o) {
          for (int64_t j = 0; j < k; ++j) {
            const DType* src = dy + (o * k + j) * inner;
            DType* dst = dx + (o * m + idx[j]) * inner;
            for (int64_t i = 0; i < inner; ++i) dst[i] = DType(dst[i] + src[i]);
          }
        }
      });
    });
  };
}

AX_REGISTER_OP("pick") {
  op.input_names = {"data", "index"};
  op.doc = "Picks one element per position along `axis`: out[i..., k...] = data[i..., index[i..., k...], k...]. "
           "Out-of-range indices follow `mode` (clip or wrap).";
  op.params = MakeSchema(DescribePick);
  op.infer_shape = PickInferShape;
  op.infer_type = [](const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) { SameTypeOf(attrs, in, out, {0}); };
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull || out[0].Size() == 0) return;
    PickPlan p = PlanPick(attrs, in[0].shape);
    const std::vector<int64_t> idx = ResolveIndices(attrs, in[1], p.m, PickMode(attrs), p.axis, in[0].shape);
    const int64_t m = p.m, inner = p.inner;
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      const DType* x = in[0].ptr<DType>();
      MapIndex(out[0].Size(), req[0], out[0].ptr<DType>(), [&](int64_t i) {
        return x[(i / inner * m + idx[i]) * inner + i % inner];
      });
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    return {g.Make("_backward_pick", {g.ograd(0), g.input(0), g.input(1)}, g.attr_dict()), Zeros(g, 1)};
  };
}

AX_REGISTER_OP("_backward_pick") {
  op.input_names = {"ograd", "data", "index"};
  op.doc = "The gradient of pick with respect to data: ograd written into zeros of data's shape at the picked places.";
  op.params = MakeSchema(DescribePick);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    AssignOut(attrs, out, 0, (*in)[1]);
    std::vector<TShape> fin = {(*in)[1], (*in)[2]}, fout = {(*in)[0]};
    PickInferShape(attrs, &fin, &fout);
    (*in)[0] = fout[0];
    (*in)[2] = fin[1];
  };
  op.infer_type = [](const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
    SameTypeOf(attrs, in, out, {0, 1});
  };
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull) return;
    PickPlan p = PlanPick(attrs, out[0].shape);
    ZeroUnlessAdd(out[0], req[0]);
    if (in[0].Size() == 0) return;
    const std::vector<int64_t> idx = ResolveIndices(attrs, in[2], p.m, PickMode(attrs), p.axis, out[0].shape);
    const int64_t m = p.m, inner = p.inner, n = in[0].Size();
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      const DType* dy = in[0].ptr<DType>();
      DType* dx = out[0].ptr<DType>();
      // each output position picks its own element: the writes are disjoint
      ParallelFor(n, kElemwiseGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          DType& t = dx[(i / inner * m + idx[i]) * inner + i % inner];
          t = DType(t + dy[i]);
        }
      });
    });
  };
}

AX_REGISTER_OP("one_hot") {
  op.input_names = {"indices"};
  op.doc = "A one-hot array of shape indices.shape + (depth,): on_value at each index, off_value elsewhere (a row "
           "whose index is outside [0, depth) is all off_value).";
  op.params = MakeSchema(DescribeOneHot);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    const int depth = attrs.get<OneHotParam>().depth;
    AX_CHECK(depth >= 0, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": depth must be >= 0, got ", depth);
    const TShape& s = (*in)[0];
    if (!s.known()) return;
    AX_CHECK(s.ndim() < kMaxNDim, AX_ERR_SHAPE, attrs.Who(), ": indices of shape ", s.str(), " have too many dimensions");
    std::vector<int64_t> o(s.begin(), s.end());
    o.push_back(depth);
    TShape t(o.begin(), o.end());
    CheckedSize(t, attrs.Who().c_str());
    AssignOut(attrs, out, 0, t);
  };
  op.infer_type = [](const NodeAttrs& attrs, std::vector<int>*, std::vector<int>* out) {
    const int t = DTypeFromName(kOneHotDTypes[attrs.get<OneHotParam>().dtype]);
    AX_CHECK((*out)[0] < 0 || (*out)[0] == t, AX_ERR_TYPE, attrs.Who(), ": output dtype ", DTypeName((*out)[0]),
             " does not match dtype=", DTypeName(t));
    (*out)[0] = t;
  };
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull || out[0].Size() == 0) return;
    const auto& p = attrs.get<OneHotParam>();
    const int64_t depth = p.depth, n = in[0].Size();
    std::vector<int64_t> idx(static_cast<size_t>(n));
    AX_TYPE_SWITCH(in[0].dtype, IType, {
      const IType* q = in[0].ptr<IType>();
      for (int64_t i = 0; i < n; ++i) idx[i] = TruncIndex(IndexValue(q[i]));
    });
    const bool add = req[0] == OpReq::kAdd;
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      const DType on = Cast<DType>(p.on_value), off = Cast<DType>(p.off_value);
      DType* y = out[0].ptr<DType>();
      ParallelFor(n, GrainFor(depth), [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {  // one row per index: off everywhere, on at the index
          DType* row = y + r * depth;
          const int64_t j = idx[r];
          if (add) {
            for (int64_t k = 0; k < depth; ++k) row[k] = DType(row[k] + (k == j ? on : off));
          } else {
            for (int64_t k = 0; k < depth; ++k) row[k] = off;
            if (j >= 0 && j < depth) row[j] = on;
          }
        }
      });
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> { return {Zeros(g, 0)}; };
}

AX_REGISTER_OP("where") {
  op.input_names = {"condition", "x", "y"};
  op.doc = "Elements of x where condition is nonzero, else of y. condition has x's shape, or is 1-D of length "
           "x.shape[0] and then selects whole rows.";
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    TShape t = (*in)[1];
    if (!ShapeAssign(&t, (*in)[2]))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": x of shape ", (*in)[1].str(), " and y of shape ", (*in)[2].str(),
            " must have the same shape");
    if (!ShapeAssign(&t, (*out)[0]))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", (*out)[0].str(), " does not match x and y of shape ", t.str());
    const TShape& c = (*in)[0];
    if (c.ndim_known() && t.ndim_known() && c.ndim() == t.ndim()) {
      if (!ShapeAssign(&t, c) || !ShapeAssign(&(*in)[0], t))
        Throw(AX_ERR_SHAPE, attrs.Who(), ": condition of shape ", c.str(), " does not match x of shape ", t.str());
    } else if (c.known() && t.ndim_known()) {
      AX_CHECK(c.ndim() == 1 && t.ndim() >= 1 && (t[0] < 0 || t[0] == c[0]), AX_ERR_SHAPE, attrs.Who(),
               ": condition of shape ", c.str(), " must have the shape of x ", t.str(),
               t.ndim() >= 1 ? StrCat(" or be 1-D of length ", t[0]) : std::string());
    }
    (*in)[1] = t;
    (*in)[2] = t;
    (*out)[0] = t;
  };
  op.infer_type = [](const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
    SameTypeOf(attrs, in, out, {1, 2});
  };
  op.compute_cpu = [](const OpContext&, const NodeAttrs&, const std::vector<TBlob>& in, const std::vector<OpReq>& req,
                      const std::vector<TBlob>& out) {
    const int64_t n = out[0].Size();
    if (req[0] == OpReq::kNull || n == 0) return;
    // 1-D condition of a higher-rank x: one flag per row of `row` elements
    const int64_t row = in[0].shape == out[0].shape ? 1 : n / in[0].Size();
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      const DType* x = in[1].ptr<DType>();
      const DType* y = in[2].ptr<DType>();
      DType* o = out[0].ptr<DType>();
      AX_TYPE_SWITCH(in[0].dtype, CType, {
        const CType* c = in[0].ptr<CType>();
        if (row == 1)
          MapIndex(n, req[0], o, [=](int64_t i) { return IndexValue(c[i]) != 0 ? x[i] : y[i]; });
        else
          MapIndex(n, req[0], o, [=](int64_t i) { return IndexValue(c[i / row]) != 0 ? x[i] : y[i]; });
      });
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    NodeEntry zx = g.ZerosLike(1), zy = g.ZerosLike(2);
    return {Zeros(g, 0), g.Make("where", {g.input(0), g.ograd(0), zx}), g.Make("where", {g.input(0), zy, g.ograd(0)})};
  };
}

AX_REGISTER_OP("_shuffle") {
  op.input_names = {"data"};
  op.doc = "Randomly shuffles the array along the first axis (the order within each subarray is kept). Draws come "
           "from the device's random state: deterministic under mx.random.seed.";
  op.needs_random = true;
  op.infer_shape = SameShape;
  op.infer_type = SameType;
  op.inplace = {{0, 0}};
  op.compute_cpu = [](const OpContext& ctx, const NodeAttrs&, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull) return;
    const TShape& s = in[0].shape;
    const int64_t n = s.ndim() == 0 ? 1 : s[0];
    const std::vector<int64_t> perm = ShufflePermutation(ctx.rng, n);
    if (out[0].Size() == 0) return;
    const int64_t row = out[0].Size() / n;
    const bool add = req[0] == OpReq::kAdd;
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      const DType* x = in[0].ptr<DType>();
      DType* y = out[0].ptr<DType>();
      std::unique_ptr<DType[]> copy;
      if (x == y) {  // in place: read from a copy
        copy.reset(new DType[static_cast<size_t>(out[0].Size())]);
        std::memcpy(copy.get(), x, static_cast<size_t>(out[0].Size()) * sizeof(DType));
        x = copy.get();
      }
      ParallelFor(n, GrainFor(row), [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k) {
          const DType* src = x + perm[k] * row;
          DType* dst = y + k * row;
          if (add) for (int64_t i = 0; i < row; ++i) dst[i] = DType(dst[i] + src[i]);
          else std::memcpy(dst, src, static_cast<size_t>(row) * sizeof(DType));
        }
      });
    });
  };
}

}  // namespace axle

namespace {
const bool ax_shape_index_aliases = [] {
  axle::OpRegistry::Get()->Alias("shuffle", "_shuffle");
  return true;
}();
}  // namespace
