// The scalar ops' parameter (shared by the CPU and CUDA kernels).
#pragma once
#include "common/base.h"

namespace axle {

struct ScalarParam {
  double scalar;
  bool is_int;  // false: an integer array gives a float64 result (MXNet 1.9.1's promotion)
};

}  // namespace axle
