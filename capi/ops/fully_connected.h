// FullyConnected's parameters (shared by the CPU and CUDA kernels).
#pragma once
#include "common/base.h"

namespace axle {

struct FCParam {
  int num_hidden;
  bool no_bias, flatten;
};

}  // namespace axle
