// BatchNorm's parameters (shared by the CPU and CUDA kernels; norm_op.cc defines the ops).
#pragma once
#include "common/base.h"

namespace axle {

struct BNParam {
  double eps = static_cast<double>(1e-3f);
  float momentum = 0.9f;
  bool fix_gamma = true, use_global_stats = false, output_mean_var = false, cudnn_off = false;
  int axis = 1;
};

struct LNParam {
  int axis = -1;
  float eps = 1e-5f;
  bool output_mean_var = false;
};

}  // namespace axle
