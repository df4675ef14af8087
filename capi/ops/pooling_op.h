// Pooling's parameters and kinds (shared by the CPU and CUDA kernels; pooling_op.cc defines the
// ops).
#pragma once
#include "ops/param.h"

namespace axle {
namespace pool {
enum PoolType { kMax = 0, kAvg = 1, kSum = 2, kLp = 3 };
enum PoolConvention { kFull = 0, kValid = 1, kSame = 2 };
}  // namespace pool

struct PoolParam {
  IntTuple kernel, stride, pad;
  int pool_type = pool::kMax, pooling_convention = pool::kValid;
  bool global_pool = false, cudnn_off = false;
  OptInt p_value;
  int count_include_pad = -1;  // None (true), 0 false, 1 true
  int layout = -1;
};

}  // namespace axle
