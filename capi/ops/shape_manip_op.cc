// Shape manipulation ops (MXNet 1.x): Reshape/reshape, Flatten/flatten, expand_dims, squeeze,
// Concat/concat, stack, SliceChannel/split, slice_axis, tile, repeat, and the backward ops their
// gradients use (_backward_reshape, _backward_Concat, _backward_slice_axis, _backward_slice,
// _backward_tile, _backward_repeat).
//
// Axes follow MXNet's ranges (negative counts from the end); axes out of range are
// AX_ERR_INDEX, shapes that do not fit are AX_ERR_SHAPE, bad attribute values are
// AX_ERR_INVALID_ARGUMENT. Every message names the op, the argument and the shapes.
// Size-0 dimensions are valid everywhere (empty outputs).
#include <cstring>

#include "graph/grad_util.h"
#include "ops/cpu/kernel.h"
#include "ops/cpu/shape_util.h"
#include "ops/concat_op.h"
#include "ops/shape_manip_op.h"

namespace axle {
namespace {

// ---- helpers ----------------------------------------------------------------------------------

// dst[0:n] (=|+=) src[0:n]
template <class DType>
inline void CopyN(DType* dst, const DType* src, int64_t n, bool add) {
  if (n <= 0) return;
  if (add) {
    for (int64_t i = 0; i < n; ++i) dst[i] = DType(dst[i] + src[i]);
  } else if (dst != src) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(DType));
  }
}

// out (=|+=) in, element for element (same size); nothing when in place.
void CopyBlob(const TBlob& in, OpReq req, const TBlob& out) {
  if (req == OpReq::kNull || out.Size() == 0) return;
  const bool add = req == OpReq::kAdd;
  AX_TYPE_SWITCH(out.dtype, DType, {
    const DType* x = in.ptr<DType>();
    DType* y = out.ptr<DType>();
    const int64_t n = out.Size();
    if (add) {
      ParallelFor(n, kElemwiseGrain, [&](int64_t b, int64_t e) { CopyN(y + b, x + b, e - b, true); });
    } else if (x != y) {
      ParallelFor(n, kElemwiseGrain * 4, [&](int64_t b, int64_t e) { CopyN(y + b, x + b, e - b, false); });
    }
  });
}


// The dtype of the backward ops: the output gradient's, shared with the forward inputs.
void BackwardType(const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) { SameType(attrs, in, out); }

// ---- Reshape ----------------------------------------------------------------------------------

struct ReshapeParam {
  IntTuple shape;
  bool reverse;
  IntTuple target_shape;
  bool keep_highest;
};
void DescribeReshape(ParamBuilder<ReshapeParam>& b) {
  b.Field("shape", &ReshapeParam::shape, IntTuple{}).Describe("The target shape");
  b.Field("reverse", &ReshapeParam::reverse, false)
      .Describe("If true then the special values are inferred from right to left");
  b.Field("target_shape", &ReshapeParam::target_shape, IntTuple{})
      .Describe("(Deprecated! Use ``shape`` instead.) Target new shape. One and only one dim can be 0, in which case "
                "it will be inferred from the rest of dims");
  b.Field("keep_highest", &ReshapeParam::keep_highest, false)
      .Describe("(Deprecated! Use ``shape`` instead.) Whether keep the highest dim unchanged.If set to true, then the "
                "first dim in target_shape is ignored,and always fixed as input");
}

// The deprecated target_shape/keep_highest form: 0 marks the one dim to infer.
TShape LegacyReshape(const NodeAttrs& attrs, const ReshapeParam& p, const TShape& d) {
  TShape o(p.target_shape.begin(), p.target_shape.end());
  const int start = p.keep_highest ? 1 : 0;
  if (p.keep_highest) {
    AX_CHECK(d.ndim() >= 1 && o.ndim() >= 1, AX_ERR_SHAPE, attrs.Who(), ": keep_highest needs a data shape and a "
             "target_shape of at least one dimension (data ", d.str(), ", target_shape ", o.str(), ")");
    o[0] = d[0];
  }
  int zeros = 0, at = -1;
  for (int i = start; i < o.ndim(); ++i) {
    AX_CHECK(o[i] >= 0, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": target_shape ", FormatValue(p.target_shape),
             " has a negative dimension");
    if (o[i] == 0) {
      ++zeros;
      at = i;
    }
  }
  AX_CHECK(zeros <= 1, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": target_shape ", FormatValue(p.target_shape),
           " may have only one 0 (the dimension to infer)");
  if (zeros == 1) {
    o[at] = 1;
    const int64_t rest = o.Size();
    AX_CHECK(rest > 0 && d.Size() % rest == 0, AX_ERR_SHAPE, attrs.Who(), ": cannot reshape ", d.str(),
             " to target_shape ", FormatValue(p.target_shape));
    o[at] = d.Size() / rest;
  }
  AX_CHECK(o.Size() == d.Size(), AX_ERR_SHAPE, attrs.Who(), ": cannot reshape ", d.str(), " to target_shape ",
           FormatValue(p.target_shape), " (", d.Size(), " vs ", o.Size(), " elements)");
  return o;
}

void ReshapeInferShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  const auto& p = attrs.get<ReshapeParam>();
  TShape& d = (*in)[0];
  if (d.known()) {
    TShape o;
    if (!p.shape.empty()) o = InferReshape(d, p.shape, p.reverse, attrs.Who().c_str());
    else if (!p.target_shape.empty()) o = LegacyReshape(attrs, p, d);
    if (o.ndim_known()) AssignOut(attrs, out, 0, o);
  }
  // Backward: one unknown input dimension follows from a known output (as MXNet does).
  const TShape& o = (*out)[0];
  if (o.known() && d.ndim_known() && !d.known()) {
    int unknown = -1, count = 0;
    int64_t prod = 1;
    for (int i = 0; i < d.ndim(); ++i) {
      if (d[i] < 0) {
        unknown = i;
        ++count;
      } else {
        prod *= d[i];
      }
    }
    if (count == 1 && prod > 0 && o.Size() % prod == 0) d[unknown] = o.Size() / prod;
  }
  if (d.known() && o.known())
    AX_CHECK(d.Size() == o.Size(), AX_ERR_SHAPE, attrs.Who(), ": cannot reshape data of shape ", d.str(),
             " to output shape ", o.str(), " (", d.Size(), " vs ", o.Size(), " elements)");
}

void CopyCompute(const OpContext&, const NodeAttrs&, const std::vector<TBlob>& in, const std::vector<OpReq>& req,
                 const std::vector<TBlob>& out) {
  CopyBlob(in[0], req[0], out[0]);
}

// The gradient of every op that only changes the shape: the output gradient in data's shape.
std::vector<NodeEntry> ReshapeGrad(const GradBuilder& g) { return {g.Make("_backward_reshape", {g.ograd(0), g.input(0)})}; }

void DefineShapeOnly(OpDef& op, const std::string& doc) {
  op.input_names = {"data"};
  op.doc = doc;
  op.infer_type = SameType;
  op.compute_cpu = CopyCompute;
  op.gradient = ReshapeGrad;
  op.inplace = {{0, 0}};
}

// ---- expand_dims / squeeze --------------------------------------------------------------------

struct ExpandDimsParam {
  int axis;
};
void DescribeExpandDims(ParamBuilder<ExpandDimsParam>& b) {
  b.Field("axis", &ExpandDimsParam::axis)
      .Describe("Position where new axis is to be inserted. Suppose that the input `NDArray`'s dimension is `ndim`, "
                "the range of the inserted axis is `[-ndim, ndim]`");
}

}  // namespace

// squeeze's axis: a tuple of axes or None. Its own namespace, so that its ParseValue/FormatValue
// (found by the param builder through argument-dependent lookup) hide no other overloads.
namespace squeeze_detail {
struct OptShape {
  bool has = false;
  IntTuple v;
};
inline bool ParseValue(const std::string& s, OptShape* out) {
  std::string t = s;
  t.erase(0, t.find_first_not_of(" \t"));
  t.erase(t.find_last_not_of(" \t") + 1);
  if (t == "None" || t.empty()) {
    *out = OptShape{};
    return true;
  }
  IntTuple v;
  if (!::axle::ParseValue(t, &v)) return false;
  out->has = true;
  out->v = v;
  return true;
}
inline std::string FormatValue(const OptShape& v) { return v.has ? ::axle::FormatValue(v.v) : std::string("None"); }
inline const char* TypeName(const OptShape*) { return "Shape or None"; }
}  // namespace squeeze_detail

namespace {
using squeeze_detail::OptShape;

struct SqueezeParam {
  OptShape axis;
};
void DescribeSqueeze(ParamBuilder<SqueezeParam>& b) {
  b.Field("axis", &SqueezeParam::axis, OptShape{})
      .Describe("Selects a subset of the single-dimensional entries in the shape. If an axis is selected with shape "
                "entry greater than one, an error is raised.");
}

TShape SqueezeShape(const NodeAttrs& attrs, const TShape& d) {
  const auto& p = attrs.get<SqueezeParam>();
  const int nd = d.ndim();
  bool drop[kMaxNDim] = {false};
  if (p.axis.has) {
    for (int64_t a : p.axis.v) {
      int ax = NormAxis(attrs, "axis", a, nd, d);
      AX_CHECK(!drop[ax], AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": axis ", FormatValue(p.axis.v), " repeats axis ", ax);
      AX_CHECK(d[ax] == 1, AX_ERR_SHAPE, attrs.Who(), ": cannot squeeze axis ", a, " of data shape ", d.str(),
               ": its size is ", d[ax], ", not 1");
      drop[ax] = true;
    }
  } else {
    for (int i = 0; i < nd; ++i) drop[i] = d[i] == 1;
  }
  std::vector<int64_t> o;
  for (int i = 0; i < nd; ++i)
    if (!drop[i]) o.push_back(d[i]);
  if (o.empty() && nd > 0) o.push_back(1);  // MXNet 1.x: (1, 1) squeezes to (1,), never to 0-d
  return TShape(o.begin(), o.end());
}

// ---- Concat / stack ---------------------------------------------------------------------------

void DescribeConcat(ParamBuilder<ConcatParam>& b) {
  b.Field("num_args", &ConcatParam::num_args).Describe("Number of inputs to be concated.");
  b.Field("dim", &ConcatParam::dim, 1).Describe("the dimension to be concated.");
}

void DescribeStack(ParamBuilder<StackParam>& b) {
  b.Field("axis", &StackParam::axis, 0).Describe("The axis in the result array along which the input arrays are stacked.");
  b.Field("num_args", &StackParam::num_args).Describe("Number of inputs to be stacked.");
}

// Merges the inputs' shapes (all of one ndim) into *common, except along skip (-1: none).
// A conflict names both inputs and their shapes.
void MergeInputShapes(const NodeAttrs& attrs, const std::vector<TShape>& in, int skip, TShape* common,
                      const char* rule) {
  const int nd = common->ndim();
  int setter[kMaxNDim];
  for (int d = 0; d < nd; ++d) setter[d] = -1;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!in[i].ndim_known()) continue;
    for (int d = 0; d < nd; ++d) {
      if (d == skip || in[i][d] < 0) continue;
      if ((*common)[d] < 0) {
        (*common)[d] = in[i][d];
        setter[d] = static_cast<int>(i);
      } else if ((*common)[d] != in[i][d]) {
        Throw(AX_ERR_SHAPE, attrs.Who(), ": input ", i, " has shape ", in[i].str(), " but input ", setter[d],
              " has shape ", in[setter[d]].str(), ": ", rule);
      }
    }
  }
}

// The ndim shared by the inputs (and the output, less `out_extra` dims); -1 if none is known.
int CommonNDim(const NodeAttrs& attrs, const std::vector<TShape>& in, const TShape& out, int out_extra) {
  int nd = -1, src = -1;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!in[i].ndim_known()) continue;
    if (nd < 0) {
      nd = in[i].ndim();
      src = static_cast<int>(i);
    } else if (in[i].ndim() != nd) {
      Throw(AX_ERR_SHAPE, attrs.Who(), ": input ", i, " has shape ", in[i].str(), " but input ", src, " has shape ",
            in[src].str(), ": all inputs must have the same number of dimensions");
    }
  }
  if (out.ndim_known()) {
    if (nd < 0) nd = out.ndim() - out_extra;
    else if (out.ndim() - out_extra != nd)
      Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", out.str(), " does not fit input ", src, " of shape ",
            in[src].str());
  }
  return nd;
}

void ConcatInferShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  const auto& p = attrs.get<ConcatParam>();
  const int n = static_cast<int>(in->size());
  AX_CHECK(n >= 1, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": needs at least one input (num_args=", p.num_args, ")");
  TShape& o = (*out)[0];
  const int nd = CommonNDim(attrs, *in, o, 0);
  if (nd < 0) return;
  int first = 0;
  while (first < n && !(*in)[first].ndim_known()) ++first;
  const TShape& ref = first < n ? (*in)[first] : o;
  AX_CHECK(nd > 0, AX_ERR_SHAPE, attrs.Who(), ": zero-dimensional arrays cannot be concatenated (input ", first,
           " has shape ", ref.str(), ")");
  const int axis = NormAxis(attrs, "dim", p.dim, nd, ref, first < n ? "inputs" : "the output");
  TShape common(nd, -1);
  MergeInputShapes(attrs, *in, axis, &common,
                   StrCat("the shapes must match except on dim ", axis).c_str());
  if (o.ndim_known()) {
    for (int d = 0; d < nd; ++d) {
      if (d == axis || o[d] < 0) continue;
      if (common[d] < 0) common[d] = o[d];
      else if (common[d] != o[d])
        Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", o.str(), " does not match the inputs (input ", first,
              " has shape ", ref.str(), ")");
    }
  }
  int64_t sum = 0;
  int unknown = -1, n_unknown = 0;
  for (int i = 0; i < n; ++i) {
    TShape t = common;
    t[axis] = (*in)[i].ndim_known() ? (*in)[i][axis] : -1;
    (*in)[i] = t;
    if (t[axis] < 0) {
      ++n_unknown;
      unknown = i;
    } else {
      sum += t[axis];
    }
  }
  TShape r = common;
  r[axis] = n_unknown == 0 ? sum : -1;
  if (!ShapeAssign(&o, r))
    Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", o.str(), " does not match the concatenation ", r.str(),
          " of the inputs along dim ", axis);
  if (n_unknown == 1 && o[axis] >= 0) {  // backward: the one unknown input takes the rest
    AX_CHECK(o[axis] >= sum, AX_ERR_SHAPE, attrs.Who(), ": output shape ", o.str(), " is smaller along dim ", axis,
             " than the known inputs together (", sum, ")");
    (*in)[unknown][axis] = o[axis] - sum;
  }
}

// out rows of `inputs` laid side by side: (outer, sum of row_i) <- (outer, row_i) each.
template <bool kSplit>
void ConcatRows(const std::vector<TBlob>& parts, const std::vector<OpReq>& part_req, const TBlob& whole, OpReq whole_req,
                int axis) {
  const int nd = whole.shape.ndim();
  const int64_t outer = whole.shape.ProdRange(0, axis), inner = whole.shape.ProdRange(axis + 1, nd);
  const int64_t wrow = whole.shape[axis] * inner;
  if (whole.Size() == 0) return;
  std::vector<int64_t> off(parts.size()), len(parts.size());
  int64_t acc = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    off[i] = acc;
    len[i] = parts[i].shape[axis] * inner;
    acc += len[i];
  }
  AX_TYPE_SWITCH(whole.dtype, DType, {
    DType* w = whole.ptr<DType>();
    ParallelFor(outer, GrainFor(wrow), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        for (size_t i = 0; i < parts.size(); ++i) {
          if constexpr (kSplit) {
            if (part_req[i] == OpReq::kNull) continue;
            CopyN(parts[i].ptr<DType>() + o * len[i], w + o * wrow + off[i], len[i], part_req[i] == OpReq::kAdd);
          } else {
            CopyN(w + o * wrow + off[i], parts[i].ptr<DType>() + o * len[i], len[i], whole_req == OpReq::kAdd);
          }
        }
      }
    });
  });
}

// ---- SliceChannel -----------------------------------------------------------------------------

void DescribeSliceChannel(ParamBuilder<SliceChannelParam>& b) {
  b.Field("num_outputs", &SliceChannelParam::num_outputs)
      .Describe("Number of splits. Note that this should evenly divide the length of the `axis`.");
  b.Field("axis", &SliceChannelParam::axis, 1).Describe("Axis along which to split.");
  b.Field("squeeze_axis", &SliceChannelParam::squeeze_axis, false)
      .Describe("If true, Removes the axis with length 1 from the shapes of the output arrays. **Note** that setting "
                "`squeeze_axis` to ``true`` removes axis with length 1 only along the `axis` which it is split. Also "
                "`squeeze_axis` can be set to ``true`` only if ``input.shape[axis] == num_outputs``.");
}

int NumSplits(const NodeAttrs& attrs) {
  int n = attrs.get<SliceChannelParam>().num_outputs;
  AX_CHECK(n >= 1, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": num_outputs must be >= 1, got ", n);
  return n;
}

void SliceChannelInferShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  const auto& p = attrs.get<SliceChannelParam>();
  const int n = NumSplits(attrs);
  TShape& d = (*in)[0];
  // backward: the data shape from any known output
  for (int k = 0; k < n; ++k) {
    const TShape& o = (*out)[k];
    if (!o.ndim_known()) continue;
    const int nd = o.ndim() + (p.squeeze_axis ? 1 : 0);
    if (nd == 0 || p.axis < -nd || p.axis >= nd) continue;  // the forward pass reports it
    const int axis = p.axis < 0 ? p.axis + nd : p.axis;
    TShape b(nd, -1);
    for (int i = 0, j = 0; i < nd; ++i) {
      if (i == axis && p.squeeze_axis) {
        b[i] = n;
        continue;
      }
      b[i] = o[j++];
      if (i == axis && b[i] >= 0) b[i] *= n;
    }
    if (!ShapeAssign(&d, b))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": output ", k, " of shape ", o.str(), " does not fit data of shape ", d.str());
  }
  if (!d.ndim_known()) return;
  const int nd = d.ndim();
  AX_CHECK(nd > 0, AX_ERR_SHAPE, attrs.Who(), ": cannot split a zero-dimensional array (data shape ", d.str(), ")");
  const int axis = NormAxis(attrs, "axis", p.axis, nd, d);
  TShape o = d;
  if (d[axis] >= 0) {
    AX_CHECK(d[axis] % n == 0, AX_ERR_SHAPE, attrs.Who(), ": cannot split axis ", axis, " of data shape ", d.str(),
             " into num_outputs=", n, " equal parts: ", n, " does not divide ", d[axis]);
    AX_CHECK(!p.squeeze_axis || d[axis] == n, AX_ERR_SHAPE, attrs.Who(), ": squeeze_axis=True needs the size of axis ",
             axis, " to equal num_outputs=", n, " (data shape ", d.str(), ")");
    o[axis] = d[axis] / n;
  }
  if (p.squeeze_axis) {
    std::vector<int64_t> v(o.begin(), o.end());
    v.erase(v.begin() + axis);
    o = TShape(v.begin(), v.end());
  }
  for (int k = 0; k < n; ++k) AssignOut(attrs, out, k, o);
}

// ---- slice_axis / _backward_slice_axis --------------------------------------------------------

void DescribeSliceAxis(ParamBuilder<SliceAxisParam>& b) {
  b.Field("axis", &SliceAxisParam::axis).Describe("Axis along which to be sliced, supports negative indexes.");
  b.Field("begin", &SliceAxisParam::begin)
      .Describe("The beginning index along the axis to be sliced,  supports negative indexes.");
  // Required in MXNet, but None is a valid value and Axle's generated functions drop None
  // arguments: the default None makes slice_axis(x, axis=a, begin=b, end=None) work.
  b.Field("end", &SliceAxisParam::end, OptInt{})
      .Describe("The ending index along the axis to be sliced,  supports negative indexes.");
}

// axis, begin and end (normalised) of slice_axis on data of shape d; d[axis] must be known.
void SliceAxisRange(const NodeAttrs& attrs, const TShape& d, int* axis, int64_t* begin, int64_t* end) {
  const auto& p = attrs.get<SliceAxisParam>();
  AX_CHECK(d.ndim() > 0, AX_ERR_SHAPE, attrs.Who(), ": cannot slice a zero-dimensional array (data shape ", d.str(), ")");
  *axis = NormAxis(attrs, "axis", p.axis, d.ndim(), d);
  const int64_t n = d[*axis];
  int64_t b = p.begin, e = p.end ? *p.end : n;
  if (b < 0) b += n;
  if (e < 0) e += n;
  AX_CHECK(b >= 0 && b <= n, AX_ERR_INDEX, attrs.Who(), ": begin=", p.begin, " is out of range for axis ", *axis,
           " of size ", n, " (data shape ", d.str(), ")");
  AX_CHECK(e >= 0 && e <= n, AX_ERR_INDEX, attrs.Who(), ": end=", FormatValue(p.end), " is out of range for axis ",
           *axis, " of size ", n, " (data shape ", d.str(), ")");
  AX_CHECK(b <= e, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": begin=", p.begin, " is after end=", FormatValue(p.end),
           " on axis ", *axis, " of size ", n, " (data shape ", d.str(), ")");
  *begin = b;
  *end = e;
}

// big (outer, n, inner) <-> small (outer, len, inner) at offset begin along the middle axis.
template <bool kScatter>
void AxisWindow(const TBlob& small, OpReq req, const TBlob& big, int axis, int64_t begin) {
  const TShape& s = big.shape;
  const int nd = s.ndim();
  const int64_t outer = s.ProdRange(0, axis), inner = s.ProdRange(axis + 1, nd);
  const int64_t brow = s[axis] * inner, srow = small.shape[axis] * inner;
  if (req == OpReq::kNull || small.Size() == 0) return;
  const bool add = req == OpReq::kAdd;
  AX_TYPE_SWITCH(big.dtype, DType, {
    DType* pb = big.ptr<DType>();
    DType* ps = small.ptr<DType>();
    ParallelFor(outer, GrainFor(srow), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        if constexpr (kScatter) CopyN(pb + o * brow + begin * inner, ps + o * srow, srow, add);
        else CopyN(ps + o * srow, pb + o * brow + begin * inner, srow, add);
      }
    });
  });
}

// ---- tile / repeat ----------------------------------------------------------------------------

void DescribeTile(ParamBuilder<TileParam>& b) {
  b.Field("reps", &TileParam::reps)
      .Describe("The number of times for repeating the tensor a. Each dim size of reps must be a positive integer. If "
                "reps has length d, the result will have dimension of max(d, a.ndim); If a.ndim < d, a is promoted to "
                "be d-dimensional by prepending new axes. If a.ndim > d, reps is promoted to a.ndim by pre-pending 1's "
                "to it.");
}

// data's shape promoted to the output's ndim (leading 1s), and the output shape.
void TileShapes(const NodeAttrs& attrs, const TShape& d, TShape* in_full, TShape* out) {
  const auto& reps = attrs.get<TileParam>().reps;
  for (int64_t r : reps)
    AX_CHECK(r >= 0, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": reps ", FormatValue(reps),
             " has a negative entry (data shape ", d.str(), ")");
  const int nd = std::max<int>(d.ndim(), static_cast<int>(reps.size()));
  TShape::CheckNDim(nd);
  *in_full = TShape(nd, 1);
  *out = TShape(nd, 1);
  for (int i = 0; i < nd; ++i) {
    int di = i - (nd - d.ndim()), ri = i - (nd - static_cast<int>(reps.size()));
    int64_t dv = di >= 0 ? d[di] : 1, rv = ri >= 0 ? reps[ri] : 1;
    AX_CHECK(rv == 0 || dv <= INT64_MAX / rv, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": reps ", FormatValue(reps),
             " makes the output too large (data shape ", d.str(), ")");
    (*in_full)[i] = dv;
    (*out)[i] = dv * rv;
  }
  CheckedSize(*out, attrs.Who().c_str());
}

// For every element of big (the tiled shape): f(index in big, index in small), small = big % small.
// Rows run in parallel when `parallel` (f must then write disjoint places).
template <class F>
void ForTile(const TShape& small, const TShape& big, bool parallel, F f) {
  const int nd = big.ndim();
  const int64_t n = big.Size();
  if (n == 0) return;
  if (nd == 0) {
    f(0, 0);
    return;
  }
  int64_t sstride[kMaxNDim];
  int64_t acc = 1;
  for (int i = nd - 1; i >= 0; --i) {
    sstride[i] = acc;
    acc *= small[i];
  }
  const int64_t inner = big[nd - 1], sinner = small[nd - 1];
  const int64_t outer = n / inner;
  auto rows = [&](int64_t ob, int64_t oe) {
    for (int64_t o = ob; o < oe; ++o) {
      int64_t rem = o, s = 0;
      for (int d = nd - 2; d >= 0; --d) {
        s += (rem % big[d]) % small[d] * sstride[d];
        rem /= big[d];
      }
      for (int64_t i = 0, si = 0; i < inner; ++i) {
        f(o * inner + i, s + si);
        if (++si == sinner) si = 0;
      }
    }
  };
  if (parallel) ParallelFor(outer, GrainFor(inner), rows);
  else rows(0, outer);
}

void DescribeRepeat(ParamBuilder<RepeatParam>& b) {
  b.Field("repeats", &RepeatParam::repeats).Describe("The number of repetitions for each element.");
  b.Field("axis", &RepeatParam::axis, OptInt{})
      .Describe("The axis along which to repeat values. The negative numbers are interpreted counting from the "
                "backward. By default, use the flattened input array, and return a flat output array.");
}

// repeat on data of shape d as (outer, n, inner) -> (outer, n * repeats, inner); *out: the output shape.
void RepeatPlan(const NodeAttrs& attrs, const TShape& d, int64_t* outer, int64_t* n, int64_t* inner, TShape* out) {
  const auto& p = attrs.get<RepeatParam>();
  AX_CHECK(p.repeats >= 0, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": repeats must be >= 0, got ", p.repeats);
  if (!p.axis) {
    *outer = 1;
    *n = d.Size();
    *inner = 1;
    *out = TShape{d.Size() * p.repeats};
  } else {
    AX_CHECK(d.ndim() > 0, AX_ERR_SHAPE, attrs.Who(), ": axis=", *p.axis, " given for a zero-dimensional array");
    int axis = NormAxis(attrs, "axis", *p.axis, d.ndim(), d);
    *outer = d.ProdRange(0, axis);
    *n = d[axis];
    *inner = d.ProdRange(axis + 1, d.ndim());
    *out = d;
    (*out)[axis] = d[axis] * p.repeats;
  }
  if (p.repeats == 0) *out = TShape{0};  // MXNet 1.x: zero repeats give shape (0,)
  CheckedSize(*out, attrs.Who().c_str());
}

}  // namespace

// ---- registrations ----------------------------------------------------------------------------

AX_REGISTER_OP("Reshape") {
  DefineShapeOnly(op, "Reshapes the input array (MXNet's special codes in `shape`: 0 copies a dimension, -1 infers one, "
                      "-2 copies the rest, -3 merges two, -4 splits one in two; `reverse` applies them right to left).");
  op.params = MakeSchema(DescribeReshape);
  op.infer_shape = ReshapeInferShape;
}

AX_REGISTER_OP("Flatten") {
  DefineShapeOnly(op, "Flattens the input array into a 2-D array by collapsing the higher dimensions: (d1, d2*...*dk).");
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    TShape& d = (*in)[0];
    if (d.known()) {
      TShape o = d.ndim() == 0 ? TShape{1, 1} : TShape{d[0], d.ProdRange(1, d.ndim())};
      AssignOut(attrs, out, 0, o);
    } else if (d.ndim_known() && d.ndim() > 0 && (*out)[0].ndim() == 2 && (*out)[0][0] >= 0) {
      d[0] = (*out)[0][0];  // the leading dimension is kept
    }
  };
}

AX_REGISTER_OP("_backward_reshape") {
  op.input_names = {"ograd", "data"};
  op.doc = "The gradient of the ops that only change the shape: ograd in the shape of data.";
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    AssignOut(attrs, out, 0, (*in)[1]);
    if ((*in)[0].known() && (*in)[1].known())
      AX_CHECK((*in)[0].Size() == (*in)[1].Size(), AX_ERR_SHAPE, attrs.Who(), ": ograd of shape ", (*in)[0].str(),
               " does not fit data of shape ", (*in)[1].str());
  };
  op.infer_type = BackwardType;
  op.compute_cpu = CopyCompute;
  op.inplace = {{0, 0}};
}

AX_REGISTER_OP("expand_dims") {
  DefineShapeOnly(op, "Inserts a new axis of size 1 into the array shape at position axis.");
  op.params = MakeSchema(DescribeExpandDims);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    const int axis_attr = attrs.get<ExpandDimsParam>().axis;
    TShape& d = (*in)[0];
    TShape& o = (*out)[0];
    if (!d.ndim_known() && !o.ndim_known()) return;
    const int nd = d.ndim_known() ? d.ndim() : o.ndim() - 1;
    AX_CHECK(axis_attr >= -nd - 1 && axis_attr <= nd, AX_ERR_INDEX, attrs.Who(), ": axis=", axis_attr,
             " is out of range for data of shape ", d.str(), " (valid: ", -nd - 1, " to ", nd, ")");
    const int axis = axis_attr < 0 ? axis_attr + nd + 1 : axis_attr;
    TShape r(nd + 1, -1);
    for (int i = 0; i <= nd; ++i)
      r[i] = i == axis ? 1 : (d.ndim_known() ? d[i < axis ? i : i - 1] : -1);
    AssignOut(attrs, out, 0, r);
    TShape back(nd, -1);  // backward, as MXNet
    for (int i = 0; i < nd; ++i) back[i] = o[i < axis ? i : i + 1];
    AssignIn(attrs, in, 0, back);
  };
}

AX_REGISTER_OP("squeeze") {
  DefineShapeOnly(op, "Removes single-dimensional entries (all, or those of `axis`) from the shape; a result with no "
                      "dimension left has shape (1,).");
  op.params = MakeSchema(DescribeSqueeze);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    if ((*in)[0].known()) AssignOut(attrs, out, 0, SqueezeShape(attrs, (*in)[0]));
  };
}

AX_REGISTER_OP("Concat") {
  op.doc = "Joins input arrays along the given dimension `dim`; all other dimensions must match.";
  op.key_var_num_args = "num_args";
  op.params = MakeSchema(DescribeConcat);
  op.infer_shape = ConcatInferShape;
  op.infer_type = SameType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull) return;
    int dim = attrs.get<ConcatParam>().dim;
    int nd = out[0].shape.ndim();
    ConcatRows<false>(in, {}, out[0], req[0], dim < 0 ? dim + nd : dim);
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    const auto& p = g.attrs().get<ConcatParam>();
    const size_t n = g.node()->inputs.size();
    std::vector<NodeEntry> ins = {g.ograd(0)};
    for (size_t i = 0; i < n; ++i) ins.push_back(g.input(i));
    NodePtr b = g.MakeMulti("_backward_Concat", ins,
                            {{"num_args", FormatValue(static_cast<int>(n + 1))}, {"dim", FormatValue(p.dim)}});
    std::vector<NodeEntry> r;
    for (size_t i = 0; i < n; ++i) r.push_back(Out(b, static_cast<uint32_t>(i)));
    return r;
  };
}

AX_REGISTER_OP("_backward_Concat") {
  op.doc = "The gradient of Concat: inputs (ograd, data_0, ..., data_{n-1}) with num_args = n + 1; output i is the "
           "part of ograd that came from data_i.";
  op.key_var_num_args = "num_args";
  op.params = MakeSchema(DescribeConcat);
  op.num_outputs = [](const NodeAttrs& attrs) {
    int n = attrs.get<ConcatParam>().num_args;
    AX_CHECK(n >= 2, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": num_args must be >= 2, got ", n);
    return n - 1;
  };
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    for (size_t i = 0; i < out->size(); ++i) {
      AssignOut(attrs, out, i, (*in)[i + 1]);
      AssignIn(attrs, in, i + 1, (*out)[i]);
    }
  };
  op.infer_type = BackwardType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    int dim = attrs.get<ConcatParam>().dim;
    int nd = in[0].shape.ndim();
    std::vector<TBlob> parts(out.begin(), out.end());
    ConcatRows<true>(parts, req, in[0], OpReq::kNull, dim < 0 ? dim + nd : dim);
  };
}

AX_REGISTER_OP("stack") {
  op.doc = "Joins arrays of one shape along a new axis `axis` of the result.";
  op.key_var_num_args = "num_args";
  op.params = MakeSchema(DescribeStack);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    const auto& p = attrs.get<StackParam>();
    const int n = static_cast<int>(in->size());
    AX_CHECK(n >= 1, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": needs at least one input (num_args=", p.num_args, ")");
    TShape& o = (*out)[0];
    const int nd = CommonNDim(attrs, *in, o, 1);
    if (nd < 0) return;
    TShape ref = (*in)[0].ndim_known() ? (*in)[0] : TShape(nd, -1);
    AX_CHECK(p.axis >= -(nd + 1) && p.axis <= nd, AX_ERR_INDEX, attrs.Who(), ": axis=", p.axis,
             " is out of range for stacking inputs of shape ", ref.str(), " (valid: ", -(nd + 1), " to ", nd, ")");
    const int axis = p.axis < 0 ? p.axis + nd + 1 : p.axis;
    TShape common(nd, -1);
    MergeInputShapes(attrs, *in, -1, &common, "all inputs must have the same shape");
    if (o.ndim_known()) {
      AX_CHECK(o[axis] < 0 || o[axis] == n, AX_ERR_SHAPE, attrs.Who(), ": output shape ", o.str(), " does not stack ",
               n, " inputs on axis ", axis);
      for (int i = 0; i < nd; ++i) {
        int64_t v = o[i < axis ? i : i + 1];
        if (v < 0) continue;
        if (common[i] < 0) common[i] = v;
        else if (common[i] != v)
          Throw(AX_ERR_SHAPE, attrs.Who(), ": output shape ", o.str(), " does not match input shape ", common.str());
      }
    }
    for (int i = 0; i < n; ++i) (*in)[i] = common;
    TShape r(nd + 1, -1);
    for (int i = 0; i <= nd; ++i) r[i] = i == axis ? n : common[i < axis ? i : i - 1];
    AssignOut(attrs, out, 0, r);
  };
  op.infer_type = SameType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull) return;
    // stacking on axis a is concatenating the inputs seen as (outer, 1, inner) on that axis
    const int nd = out[0].shape.ndim();
    int axis = attrs.get<StackParam>().axis;
    if (axis < 0) axis += nd;
    std::vector<TBlob> parts(in.begin(), in.end());
    for (auto& b : parts) {
      std::vector<int64_t> v(b.shape.begin(), b.shape.end());
      v.insert(v.begin() + axis, 1);
      b.shape = TShape(v.begin(), v.end());
    }
    ConcatRows<false>(parts, {}, out[0], req[0], axis);
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    const auto& p = g.attrs().get<StackParam>();
    const size_t n = g.node()->inputs.size();
    NodePtr s = g.MakeMulti("SliceChannel", {g.ograd(0)},
                            {{"num_outputs", FormatValue(static_cast<int>(n))}, {"axis", FormatValue(p.axis)},
                             {"squeeze_axis", "True"}});
    std::vector<NodeEntry> r;
    for (size_t i = 0; i < n; ++i) r.push_back(Out(s, static_cast<uint32_t>(i)));
    return r;
  };
}

AX_REGISTER_OP("SliceChannel") {
  op.input_names = {"data"};
  op.doc = "Splits an array along axis `axis` into num_outputs equal parts (squeeze_axis drops that axis when the "
           "parts have size 1 on it).";
  op.params = MakeSchema(DescribeSliceChannel);
  op.num_outputs = NumSplits;
  op.list_output_names = [](const NodeAttrs& attrs) {
    std::vector<std::string> names;
    for (int i = 0; i < NumSplits(attrs); ++i) names.push_back("output" + std::to_string(i));
    return names;
  };
  op.infer_shape = SliceChannelInferShape;
  op.infer_type = SameType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    const auto& p = attrs.get<SliceChannelParam>();
    const int nd = in[0].shape.ndim();
    const int axis = p.axis < 0 ? p.axis + nd : p.axis;
    std::vector<TBlob> parts(out.begin(), out.end());
    const int64_t part = in[0].shape[axis] / static_cast<int64_t>(out.size());
    for (auto& b : parts) {
      b.shape = in[0].shape;
      b.shape[axis] = part;
    }
    ConcatRows<true>(parts, req, in[0], OpReq::kNull, axis);
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    const auto& p = g.attrs().get<SliceChannelParam>();
    const int n = p.num_outputs;
    std::vector<NodeEntry> og;
    for (int i = 0; i < n; ++i) og.push_back(g.ograd(i));
    if (p.squeeze_axis)
      return {g.Make("stack", og, {{"num_args", FormatValue(n)}, {"axis", FormatValue(p.axis)}})};
    return {g.Make("Concat", og, {{"num_args", FormatValue(n)}, {"dim", FormatValue(p.axis)}})};
  };
}

AX_REGISTER_OP("slice_axis") {
  op.input_names = {"data"};
  op.doc = "Slices data along `axis` from `begin` to `end` (exclusive; None: to the end; negative counts from the "
           "end).";
  op.params = MakeSchema(DescribeSliceAxis);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    const TShape& d = (*in)[0];
    if (!d.ndim_known()) return;
    const int axis = NormAxis(attrs, "axis", attrs.get<SliceAxisParam>().axis, d.ndim(), d);
    TShape o = d;
    if (d[axis] >= 0) {
      int ax;
      int64_t b, e;
      SliceAxisRange(attrs, d, &ax, &b, &e);
      o[axis] = e - b;
    }
    AssignOut(attrs, out, 0, o);
  };
  op.infer_type = SameType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    int axis;
    int64_t b, e;
    SliceAxisRange(attrs, in[0].shape, &axis, &b, &e);
    AxisWindow<false>(out[0], req[0], in[0], axis, b);
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    return {g.Make("_backward_slice_axis", {g.ograd(0), g.input(0)}, g.attr_dict())};
  };
}

AX_REGISTER_OP("_backward_slice_axis") {
  op.input_names = {"ograd", "data"};
  op.doc = "The gradient of slice_axis: ograd written into zeros of data's shape at the sliced window.";
  op.params = MakeSchema(DescribeSliceAxis);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    AssignOut(attrs, out, 0, (*in)[1]);
    const TShape& d = (*in)[1];
    if (!d.known()) return;
    int axis;
    int64_t b, e;
    SliceAxisRange(attrs, d, &axis, &b, &e);
    TShape s = d;
    s[axis] = e - b;
    AssignIn(attrs, in, 0, s);
  };
  op.infer_type = BackwardType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    int axis;
    int64_t b, e;
    SliceAxisRange(attrs, out[0].shape, &axis, &b, &e);
    ZeroUnlessAdd(out[0], req[0]);
    AxisWindow<true>(in[0], req[0], out[0], axis, b);
  };
}


AX_REGISTER_OP("tile") {
  op.input_names = {"data"};
  op.doc = "Repeats the whole array `reps` times along each axis (numpy.tile).";
  op.params = MakeSchema(DescribeTile);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    if (!(*in)[0].known()) return;
    TShape full, o;
    TileShapes(attrs, (*in)[0], &full, &o);
    AssignOut(attrs, out, 0, o);
  };
  op.infer_type = SameType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull) return;
    TShape full, o;
    TileShapes(attrs, in[0].shape, &full, &o);
    const bool add = req[0] == OpReq::kAdd;
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      const DType* x = in[0].ptr<DType>();
      DType* y = out[0].ptr<DType>();
      ForTile(full, o, true, [&](int64_t i, int64_t s) { y[i] = add ? DType(y[i] + x[s]) : x[s]; });
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    return {g.Make("_backward_tile", {g.ograd(0), g.input(0)}, g.attr_dict())};
  };
}

AX_REGISTER_OP("_backward_tile") {
  op.input_names = {"ograd", "data"};
  op.doc = "The gradient of tile: the sum of ograd over the tiles, in data's shape.";
  op.params = MakeSchema(DescribeTile);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    AssignOut(attrs, out, 0, (*in)[1]);
    if (!(*in)[1].known()) return;
    TShape full, o;
    TileShapes(attrs, (*in)[1], &full, &o);
    AssignIn(attrs, in, 0, o);
  };
  op.infer_type = BackwardType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull) return;
    TShape full, o;
    TileShapes(attrs, out[0].shape, &full, &o);
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      using AT = std::conditional_t<std::is_floating_point_v<DType> || std::is_same_v<DType, half_t>, double, int64_t>;
      const DType* dy = in[0].ptr<DType>();
      DType* dx = out[0].ptr<DType>();
      std::vector<AT> acc(static_cast<size_t>(out[0].Size()), AT(0));
      ForTile(full, o, false, [&](int64_t i, int64_t s) { acc[s] += static_cast<AT>(dy[i]); });
      for (size_t i = 0; i < acc.size(); ++i)
        dx[i] = req[0] == OpReq::kAdd ? Cast<DType>(static_cast<double>(dx[i]) + acc[i]) : Cast<DType>(acc[i]);
    });
  };
}

AX_REGISTER_OP("repeat") {
  op.input_names = {"data"};
  op.doc = "Repeats each element `repeats` times along `axis` (None: of the flattened array, giving a 1-D result).";
  op.params = MakeSchema(DescribeRepeat);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    if (!(*in)[0].known()) return;
    int64_t a, b, c;
    TShape o;
    RepeatPlan(attrs, (*in)[0], &a, &b, &c, &o);
    AssignOut(attrs, out, 0, o);
  };
  op.infer_type = SameType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull || out[0].Size() == 0) return;
    int64_t outer, n, inner;
    TShape o;
    RepeatPlan(attrs, in[0].shape, &outer, &n, &inner, &o);
    const int64_t r = attrs.get<RepeatParam>().repeats;
    const bool add = req[0] == OpReq::kAdd;
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      const DType* x = in[0].ptr<DType>();
      DType* y = out[0].ptr<DType>();
      ParallelFor(outer * n, GrainFor(inner * r), [&](int64_t b, int64_t e) {
        for (int64_t row = b; row < e; ++row) {  // row = (o, j): its r copies are contiguous in y
          const DType* src = x + row * inner;
          DType* dst = y + row * r * inner;
          if (inner == 1) {
            if (add) for (int64_t k = 0; k < r; ++k) dst[k] = DType(dst[k] + src[0]);
            else for (int64_t k = 0; k < r; ++k) dst[k] = src[0];
          } else {
            for (int64_t k = 0; k < r; ++k) CopyN(dst + k * inner, src, inner, add);
          }
        }
      });
    });
  };
  op.gradient = [](const GradBuilder& g) -> std::vector<NodeEntry> {
    return {g.Make("_backward_repeat", {g.ograd(0), g.input(0)}, g.attr_dict())};
  };
}

AX_REGISTER_OP("_backward_repeat") {
  op.input_names = {"ograd", "data"};
  op.doc = "The gradient of repeat: the sum of ograd over the copies of each element, in data's shape.";
  op.params = MakeSchema(DescribeRepeat);
  op.infer_shape = [](const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
    AssignOut(attrs, out, 0, (*in)[1]);
    if (!(*in)[1].known()) return;
    int64_t a, b, c;
    TShape o;
    RepeatPlan(attrs, (*in)[1], &a, &b, &c, &o);
    AssignIn(attrs, in, 0, o);
  };
  op.infer_type = BackwardType;
  op.compute_cpu = [](const OpContext&, const NodeAttrs& attrs, const std::vector<TBlob>& in,
                      const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
    if (req[0] == OpReq::kNull || out[0].Size() == 0) return;
    int64_t outer, n, inner;
    TShape o;
    RepeatPlan(attrs, out[0].shape, &outer, &n, &inner, &o);
    const int64_t r = attrs.get<RepeatParam>().repeats;
    const bool add = req[0] == OpReq::kAdd;
    AX_TYPE_SWITCH(out[0].dtype, DType, {
      using AT = typename Acc<DType>::type;
      const DType* dy = in[0].ptr<DType>();
      DType* dx = out[0].ptr<DType>();
      ParallelFor(outer * n, GrainFor(inner * r), [&](int64_t b, int64_t e) {
        for (int64_t row = b; row < e; ++row) {
          const DType* src = dy + row * r * inner;
          DType* dst = dx + row * inner;
          for (int64_t i = 0; i < inner; ++i) {
            AT s = add ? static_cast<AT>(dst[i]) : AT(0);
            for (int64_t k = 0; k < r; ++k) s += static_cast<AT>(src[k * inner + i]);
            dst[i] = DType(s);
          }
        }
      });
    });
  };
}

}  // namespace axle

namespace {
const bool ax_shape_manip_aliases = [] {
  auto* r = axle::OpRegistry::Get();
  r->Alias("reshape", "Reshape");
  r->Alias("flatten", "Flatten");
  r->Alias("concat", "Concat");
  r->Alias("split", "SliceChannel");
  return true;
}();
}  // namespace
