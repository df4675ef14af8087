// The scalar ops' parameter (shared by the CPU and CUDA kernels).
#pragma once
#include "common/base.h"

namespace axle {

struct ScalarParam {
  double scalar;
};

}  // namespace axle
