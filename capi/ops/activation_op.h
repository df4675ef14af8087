// Activation's kinds, parameters and scalar math, shared by the CPU and CUDA kernels
// (activation_op.cc defines the ops).
#pragma once
#include <algorithm>
#include <cmath>

#include "common/base.h"

namespace axle {

enum ActType { kRelu, kSigmoid, kSoftrelu, kSoftsign, kTanh };

struct ActParam {
  int act_type;
};

template <class F>
AX_HD F ActForward(int t, F x) {
  switch (t) {
    case kRelu: return x > F(0) ? x : F(0);
    case kSigmoid: return F(1) / (F(1) + std::exp(-x));
    case kSoftrelu: return std::max(x, F(0)) + std::log1p(std::exp(-std::fabs(x)));  // log(1 + e^x), stable
    case kSoftsign: return x / (F(1) + std::fabs(x));
    default: return std::tanh(x);
  }
}

// d(out)/d(in) from the input x and the output y.
template <class F>
AX_HD F ActDeriv(int t, F x, F y) {
  switch (t) {
    case kRelu: return y > F(0) ? F(1) : F(0);
    case kSigmoid: return y * (F(1) - y);
    case kSoftrelu: return -std::expm1(-y);  // sigmoid(x) = 1 - exp(-softrelu(x))
    case kSoftsign: {
      F d = F(1) + std::fabs(x);
      return F(1) / (d * d);
    }
    default: return F(1) - y * y;
  }
}

}  // namespace axle
