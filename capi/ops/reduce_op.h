// The reductions' parameters (shared by the CPU and CUDA kernels; reduce_op.cc defines the ops)
// and the kernels' entry points that other op families use.
#pragma once
#include "ops/param.h"
#include "ops/registry.h"

namespace axle {

// The axis attribute: "Shape or None".
struct OptShape {
  bool has = false;
  IntTuple v;
};

struct ReduceParam {
  OptShape axis;
  bool keepdims = false;
  bool exclude = false;
  bool normalize = false;  // _broadcast_reduced only
  bool skip_nan = false;   // _backward_prod only
};

// Sums `in` down to `out`'s shape, which broadcasts to in's (right-aligned): the gradient of
// numpy broadcasting. Uses the reductions' vectorised, parallel kernel.
void SumToShape(const TBlob& in, const TBlob& out, OpReq req);
// Repeats `in` along the axes where it broadcasts to `out`'s shape (broadcast_like).
void BroadcastToShape(const TBlob& in, const TBlob& out, OpReq req);

struct NormParam {
  int ord = 2;
  OptShape axis;
  int out_dtype = -1;  // an index into NormOutType's codes, -1 for None
  bool keepdims = false;
};
inline int NormOutType(int code) {
  static const int kCodes[] = {AX_FLOAT16, AX_FLOAT32, AX_FLOAT64, AX_INT32, AX_INT64, AX_INT8};
  return code < 0 ? -1 : kCodes[code];
}

struct ArgParam {
  OptInt axis;
  bool keepdims = false;
};

}  // namespace axle
