// add_n's and clip's parameters (shared by the CPU and CUDA kernels).
#pragma once
#include "common/base.h"

namespace axle {

struct AddNParam {
  int num_args;
};

struct ClipParam {
  float a_min, a_max;
};

}  // namespace axle
