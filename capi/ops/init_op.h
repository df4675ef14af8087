// The fill ops' parameters (shared by the CPU and CUDA kernels).
#pragma once
#include "ops/param.h"

namespace axle {

struct InitParam {
  IntTuple shape;
  std::string ctx;
  int dtype;
  double value;
};

struct ArangeParam {
  double start;
  std::string stop;  // a number, or "None" (then start is the end and 0 the start)
  double step;
  int repeat;
  bool infer_range;
  std::string ctx;
  int dtype;
};

}  // namespace axle
