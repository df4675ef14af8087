// slice's parameters and the region it selects (shared by the CPU and CUDA kernels; slice_op.cc
// defines slice, _slice_assign, _slice_assign_scalar and _backward_slice).
#pragma once
#include <algorithm>

#include "ops/registry.h"

namespace axle {

struct SliceParam {
  OptIntTuple begin, end, step;
  double scalar = 0;  // _slice_assign_scalar only
};

// The region a slice selects: its shape and, per axis, the first index and step.
struct Region {
  TShape shape;
  int64_t begin[kMaxNDim];
  int64_t step[kMaxNDim];
};

inline Region MakeRegion(const NodeAttrs& attrs, const SliceParam& p, const TShape& src) {
  const int nd = src.ndim();
  AX_CHECK(p.begin.size() == p.end.size(), AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": begin and end have different lengths (",
           p.begin.size(), " vs ", p.end.size(), ")");
  AX_CHECK(p.step.empty() || p.step.size() == p.begin.size(), AX_ERR_INVALID_ARGUMENT, attrs.Who(),
           ": step has length ", p.step.size(), " but begin has ", p.begin.size());
  AX_CHECK(static_cast<int>(p.begin.size()) <= nd, AX_ERR_INDEX, attrs.Who(), ": ", p.begin.size(),
           " slice bounds for an array of shape ", src.str());
  Region r;
  r.shape = src;
  for (int i = 0; i < nd; ++i) {
    r.begin[i] = 0;
    r.step[i] = 1;
    if (i >= static_cast<int>(p.begin.size())) continue;
    const int64_t n = src[i];
    int64_t s = (!p.step.empty() && p.step[i]) ? *p.step[i] : 1;
    AX_CHECK(s != 0, AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": step on axis ", i, " is 0");
    int64_t b, e, len;
    if (s > 0) {
      b = p.begin[i] ? *p.begin[i] : 0;
      e = p.end[i] ? *p.end[i] : n;
      if (b < 0) b += n;
      if (e < 0) e += n;
      b = std::clamp<int64_t>(b, 0, n);
      e = std::clamp<int64_t>(e, 0, n);
      len = e > b ? (e - b + s - 1) / s : 0;
    } else {
      b = p.begin[i] ? *p.begin[i] : n - 1;
      e = p.end[i] ? *p.end[i] : -n - 1;
      if (b < 0) b += n;
      if (e < 0) e += n;
      b = std::clamp<int64_t>(b, -1, n - 1);
      e = std::clamp<int64_t>(e, -1, n - 1);
      len = b > e ? (b - e - s - 1) / (-s) : 0;
    }
    r.shape[i] = len;
    r.begin[i] = len > 0 ? b : 0;
    r.step[i] = s;
  }
  return r;
}

}  // namespace axle
