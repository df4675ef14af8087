// The parameters of stack, SliceChannel, slice_axis, tile and repeat (shared by the CPU and CUDA
// kernels; shape_manip_op.cc defines the ops).
#pragma once
#include "ops/param.h"

namespace axle {

struct StackParam {
  int axis;
  int num_args;
};

struct SliceChannelParam {
  int num_outputs;
  int axis;
  bool squeeze_axis;
};

struct SliceAxisParam {
  int axis;
  int begin;
  OptInt end;
};

struct TileParam {
  IntTuple reps;
};

struct RepeatParam {
  int repeats;
  OptInt axis;
};

}  // namespace axle
