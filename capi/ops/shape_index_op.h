// The parameters of take, pick and one_hot (shared by the CPU and CUDA kernels;
// shape_index_op.cc defines the ops).
#pragma once
#include "ops/param.h"

namespace axle {

enum IndexMode { kClip = 0, kRaise = 1, kWrap = 2 };

struct TakeParam {
  int axis;
  int mode;  // IndexMode
};

struct PickParam {
  OptInt axis;
  bool keepdims;
  int mode;  // 0 clip, 1 wrap
};

struct OneHotParam {
  int depth;
  double on_value, off_value;
  int dtype;  // an index into kOneHotDTypes (the output's dtype decides)
};

}  // namespace axle
