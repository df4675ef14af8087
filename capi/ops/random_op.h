// The sampling ops' parameters (shared by the CPU and CUDA kernels).
#pragma once
#include "ops/param.h"

namespace axle {

struct SampleParam {
  double a, b;  // low/high or loc/scale
  IntTuple shape;
  std::string ctx;
  int dtype;
};

}  // namespace axle
