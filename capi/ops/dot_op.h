// dot's and batch_dot's parameters (shared by the CPU and CUDA kernels).
#pragma once
#include "common/base.h"

namespace axle {

struct DotParam {
  bool transpose_a, transpose_b;
  int forward_stype;
};

}  // namespace axle
