// Dropout's parameters (shared by the CPU and CUDA kernels).
#pragma once
#include "ops/param.h"

namespace axle {

struct DropoutParam {
  float p;
  int mode;  // 0 always, 1 training
  IntTuple axes;
  OptBool cudnn_off;
};

}  // namespace axle
