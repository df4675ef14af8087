// The reductions' parameters (shared by the CPU and CUDA kernels; reduce_op.cc defines the ops).
#pragma once
#include "ops/param.h"

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

}  // namespace axle
