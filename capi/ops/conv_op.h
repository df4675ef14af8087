// Convolution's and Deconvolution's parameters (shared by the CPU and CUDA kernels; conv_op.cc
// defines the ops).
#pragma once
#include "ops/param.h"

namespace axle {

struct ConvParam {
  IntTuple kernel, stride, dilate, pad, adj, target_shape;
  int num_filter = 1, num_group = 1;
  int64_t workspace = 1024;
  bool no_bias = false, cudnn_off = false;
  int cudnn_tune = -1, layout = -1;
};

}  // namespace axle
