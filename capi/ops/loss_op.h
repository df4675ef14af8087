// The loss heads' parameters (shared by the CPU and CUDA kernels; loss_op.cc defines the ops).
#pragma once
#include "ops/softmax_op.h"  // NormType: MakeLoss normalizes as SoftmaxOutput does

namespace axle {

enum RegKind { kLinear, kLogistic, kMAE };

struct RegParam {
  float grad_scale;
};

struct MakeLossParam {
  float grad_scale, valid_thresh;
  int normalization;  // NormType
};

}  // namespace axle
