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

}  // namespace axle
