// Embedding's parameters (shared by the CPU and CUDA kernels).
#pragma once
#include "common/base.h"

namespace axle {

struct EmbedParam {
  int input_dim, output_dim;
  int dtype;
  bool sparse_grad;
};

}  // namespace axle
