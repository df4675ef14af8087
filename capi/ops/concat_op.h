// Concat's parameters (shared by the CPU and CUDA kernels; shape_manip_op.cc defines the op).
#pragma once
#include "common/base.h"

namespace axle {

struct ConcatParam {
  int num_args;
  int dim;
};

}  // namespace axle
