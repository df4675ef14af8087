// Helpers shared by the shape and indexing op families: axis normalisation, shape assignment
// with messages that name the op, and row-wise copy/zero utilities.
#pragma once
#include <cstring>

#include "ops/cpu/kernel.h"

namespace axle {

// Normalises axis into [0, ndim); an axis outside [-ndim, ndim) is AX_ERR_INDEX.
inline int NormAxis(const NodeAttrs& attrs, const char* arg, int64_t axis, int ndim, const TShape& shape,
                    const char* what = "data") {
  AX_CHECK(axis >= -ndim && axis < ndim, AX_ERR_INDEX, attrs.Who(), ": ", arg, "=", axis, " is out of range for ",
           what, " of shape ", shape.str(), " (valid: ", -ndim, " to ", ndim - 1, ")");
  return static_cast<int>(axis < 0 ? axis + ndim : axis);
}

inline void AssignOut(const NodeAttrs& attrs, std::vector<TShape>* out, size_t k, const TShape& s) {
  if (!ShapeAssign(&(*out)[k], s))
    Throw(AX_ERR_SHAPE, attrs.Who(), ": output ", k, " has shape ", (*out)[k].str(), ", expected ", s.str());
}

inline void AssignIn(const NodeAttrs& attrs, std::vector<TShape>* in, size_t k, const TShape& s) {
  if (!ShapeAssign(&(*in)[k], s))
    Throw(AX_ERR_SHAPE, attrs.Who(), ": input '", InputName(attrs, k), "' has shape ", (*in)[k].str(), ", expected ",
          s.str());
}

// Rows per parallel chunk for rows of `row` elements.
inline int64_t GrainFor(int64_t row) { return std::max<int64_t>(1, kElemwiseGrain / std::max<int64_t>(row, 1)); }

// Zeroes out unless it is accumulated into.
inline void ZeroUnlessAdd(const TBlob& out, OpReq req) {
  if (req == OpReq::kNull || req == OpReq::kAdd || out.Size() == 0) return;
  std::memset(out.dptr, 0, static_cast<size_t>(out.Size()) * DTypeSize(out.dtype));
}

}  // namespace axle
