// Activation's and LeakyReLU's kinds, parameters and scalar math, shared by the CPU and CUDA
// kernels (activation_op.cc defines the ops).
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

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

// ---- LeakyReLU ----------------------------------------------------------------------------
enum LeakyType { kElu, kGelu, kLeaky, kPrelu, kRrelu, kSelu };
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluLambda = 1.0507009873554804934193349852946;

struct LeakyParam {
  int act_type;
  float slope, lower_bound, upper_bound;
};

template <class F>
AX_HD F LeakyForward(int t, F x, F slope) {
  switch (t) {
    case kElu: return x > F(0) ? x : slope * std::expm1(x);
    case kSelu: return F(kSeluLambda) * (x > F(0) ? x : F(kSeluAlpha) * std::expm1(x));
    case kGelu: return F(0.5) * x * (F(1) + std::erf(x * F(0.70710678118654752440)));
    default: return x > F(0) ? x : slope * x;  // leaky, prelu
  }
}

template <class F>
AX_HD F LeakyDeriv(int t, F x, F slope) {
  switch (t) {
    case kElu: return x > F(0) ? F(1) : slope * std::exp(x);
    case kSelu: return x > F(0) ? F(kSeluLambda) : F(kSeluLambda * kSeluAlpha) * std::exp(x);
    case kGelu:  // Phi(x) + x phi(x)
      return F(0.5) * (F(1) + std::erf(x * F(0.70710678118654752440))) +
             x * F(0.39894228040143267794) * std::exp(F(-0.5) * x * x);
    default: return x > F(0) ? F(1) : slope;
  }
}

// gamma's shape aligned to data's (MXNet's rule): gamma's axes, from the last, match data axes 1
// and 0 (equal size, or 1 to broadcast); returns false if gamma does not fit.
inline bool ExpandGamma(const TShape& g, const TShape& d, int64_t* g0, int64_t* g1) {
  std::vector<int64_t> res(d.ndim(), 1);
  int s = g.ndim() - 1;
  for (int i = d.ndim() - 1; i >= 0; --i) {
    if (s >= 0 && i <= 1 && (d[i] == g[s] || g[s] == 1)) {
      res[i] = g[s];
      --s;
    }
  }
  if (s != -1) return false;
  *g0 = d.ndim() > 0 ? res[0] : 1;
  *g1 = d.ndim() > 1 ? res[1] : 1;
  return true;
}

// data viewed as (D0, D1, inner); gamma as (G0, G1) with G0 in {1, D0}, G1 in {1, D1}.
struct PreluView {
  int64_t D0, D1, inner, G0 = 1, G1 = 1;
  PreluView(const TShape& d, const TShape& g) {
    D0 = d.ndim() > 0 ? d[0] : 1;
    D1 = d.ndim() > 1 ? d[1] : 1;
    inner = d.ProdRange(std::min(2, d.ndim()), d.ndim());
    ExpandGamma(g, d, &G0, &G1);
  }
  // gamma index of the block (i0, i1)
  AX_HD int64_t gi(int64_t i0, int64_t i1) const { return (G0 > 1 ? i0 * G1 : 0) + (G1 > 1 ? i1 : 0); }
};

}  // namespace axle
