// transpose's parameter (shared by the CPU and CUDA kernels).
#pragma once
#include "ops/param.h"

namespace axle {

struct TransposeParam {
  IntTuple axes;
};

}  // namespace axle
