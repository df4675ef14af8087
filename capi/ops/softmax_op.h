// softmax/log_softmax and SoftmaxOutput parameters (shared by the CPU and CUDA kernels).
#pragma once
#include "ops/param.h"

namespace axle {

struct SoftmaxParam {
  int axis;
  OptDouble temperature;
  int dtype;  // -1 (None) or an index into kSoftmaxDTypes
  OptBool use_length;
};

enum NormType { kNormBatch, kNormNull, kNormValid };

struct SoftmaxOutputParam {
  float grad_scale, ignore_label;
  bool multi_output, use_ignore, preserve_shape;
  int normalization;
  bool out_grad;
  float smooth_alpha;
};

struct SoftmaxActParam {
  int mode;  // 0 channel, 1 instance
};

}  // namespace axle
