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

struct UpParam {
  int scale = 1, num_filter = 0, sample_type = 0, multi_input_mode = 0, num_args = 1;
  int64_t workspace = 512;
};
enum UpSampleType { kNearest = 0, kBilinear = 1 };
enum UpMultiInput { kConcat = 0, kSum = 1 };

}  // namespace axle
