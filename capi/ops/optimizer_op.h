// The optimizer updates' parameters and per-element steps, shared by the CPU and CUDA kernels
// (optimizer_op.cc defines the ops). Each step maps (weight, grad, states) to the new weight and
// updates the states in place, following MXNet's kernels operation for operation.
#pragma once
#include <cmath>

#include "common/base.h"

namespace axle {

struct OptParam {
  float lr;
  float wd = 0, rescale_grad = 1, clip_gradient = -1, clip_weights = -1;
  float momentum = 0, beta1 = 0.9f, beta2 = 0.999f, epsilon = 1e-8f;
  float gamma1 = 0.95f, gamma2 = 0.9f, wd_lh = 0, lamda1 = 0.01f, beta = 1;
  bool lazy_update = true;
};

namespace opt {

// The parameters converted to the arithmetic type, as MXNet's kernels take them.
template <class T>
struct P {
  T lr, wd, rg, cg, cw, mom, b1, b2, eps, g1, g2, wd_lh, l1, beta;
  explicit AX_HD P(const OptParam& p)
      : lr(T(p.lr)), wd(T(p.wd)), rg(T(p.rescale_grad)), cg(T(p.clip_gradient)), cw(T(p.clip_weights)),
        mom(T(p.momentum)), b1(T(p.beta1)), b2(T(p.beta2)), eps(T(p.epsilon)), g1(T(p.gamma1)), g2(T(p.gamma2)),
        wd_lh(T(p.wd_lh)), l1(T(p.lamda1)), beta(T(p.beta)) {}
};

template <class T>
AX_HD inline T Clip(T x, T b) { return x > b ? b : (x < -b ? -b : x); }
template <class T>
AX_HD inline T Sign(T x) { return T((x > T(0)) - (x < T(0))); }

// Each update: the new weight from w, g and the states s[] (updated in place).
struct SGD {
  static constexpr int kStates = 0;
  template <class T> static AX_HD T Step(const P<T>& p, T w, T g, T*) {
    if (p.cg >= T(0)) return (T(1.f) - p.lr * p.wd) * w - p.lr * Clip(p.rg * g, p.cg);
    return (T(1.f) - p.lr * p.wd) * w - (p.lr * p.rg) * g;
  }
};
struct SGDMom {
  static constexpr int kStates = 1;
  template <class T> static AX_HD T Step(const P<T>& p, T w, T g, T* s) {
    if (p.cg >= T(0)) s[0] = p.mom * s[0] - p.lr * p.wd * w - p.lr * Clip(p.rg * g, p.cg);
    else s[0] = p.mom * s[0] - p.lr * p.wd * w - p.lr * p.rg * g;
    return w + s[0];
  }
};
// MXNet writes the output before finishing mom, whose weight decay term then reads the weight
// again: the new weight when out is the weight (as optimizers call it). Post() does that part.
struct NAGMom {
  static constexpr int kStates = 1;
  template <class T> static AX_HD T Grad(const P<T>& p, T g) { return p.cg >= T(0) ? Clip(p.rg * g, p.cg) : p.rg * g; }
  template <class T> static AX_HD T Step(const P<T>& p, T w, T g, T* s) {
    const T gr = Grad(p, g);
    s[0] = p.mom * s[0];
    return w - s[0] + (p.mom + T(1)) * (s[0] - (p.lr * (gr + p.wd * w)));
  }
  template <class T> static AX_HD void Post(const P<T>& p, T w_now, T g, T* s) {
    s[0] = s[0] - p.lr * (Grad(p, g) + p.wd * w_now);
  }
};
struct Adam {
  static constexpr int kStates = 2;
  template <class T> static AX_HD T Step(const P<T>& p, T w, T g, T* s) {
    T gr = g * p.rg + w * p.wd;
    if (p.cg >= T(0)) gr = Clip(gr, p.cg);
    s[0] = p.b1 * s[0] + (T(1.f) - p.b1) * gr;
    s[1] = p.b2 * s[1] + (T(1.f) - p.b2) * gr * gr;
    return w - p.lr * s[0] / (std::sqrt(s[1]) + p.eps);
  }
};
struct RMSProp {
  static constexpr int kStates = 1;
  template <class T> static AX_HD T Step(const P<T>& p, T w, T g, T* s) {
    T gr = p.rg * g + p.wd * w;
    if (p.cg >= T(0)) gr = Clip(gr, p.cg);
    s[0] = (T(1.f) - p.g1) * (gr * gr) + p.g1 * s[0];
    T nw = w - p.lr * (gr / std::sqrt(s[0] + p.eps));
    if (p.cw >= T(0)) nw = Clip(nw, p.cw);
    return nw;
  }
};
struct RMSPropAlex {
  static constexpr int kStates = 3;  // n, g, delta
  template <class T> static AX_HD T Step(const P<T>& p, T w, T g, T* s) {
    T gr = p.rg * g + p.wd * w;
    if (p.cg >= T(0)) gr = Clip(gr, p.cg);
    s[0] = (T(1.f) - p.g1) * gr * gr + p.g1 * s[0];
    s[1] = (T(1.f) - p.g1) * gr + p.g1 * s[1];
    s[2] = p.g2 * s[2] - (p.lr * gr / (std::sqrt(s[0] - s[1] * s[1] + p.eps)));
    return p.cw >= T(0) ? Clip(w + s[2], p.cw) : w + s[2];
  }
};
struct SignSGD {  // rescale_grad and clip_gradient have no effect (as MXNet)
  static constexpr int kStates = 0;
  template <class T> static AX_HD T Step(const P<T>& p, T w, T g, T*) {
    return (T(1.f) - p.lr * p.wd) * w - p.lr * Sign(g);
  }
};
struct Signum {
  static constexpr int kStates = 1;
  template <class T> static AX_HD T Step(const P<T>& p, T w, T g, T* s) {
    if (p.cg >= T(0))
      s[0] = p.mom * s[0] - (T(1) - p.mom) * p.wd * w - (T(1) - p.mom) * Clip(p.rg * g, p.cg);
    else
      s[0] = p.mom * s[0] - (T(1) - p.mom) * p.wd * w - (T(1) - p.mom) * p.rg * g;
    return (T(1.f) - p.lr * p.wd_lh) * w + p.lr * Sign(s[0]);
  }
};
struct Ftrl {
  static constexpr int kStates = 2;  // z, n
  template <class T> static AX_HD T Step(const P<T>& p, T w, T g, T* s) {
    T gr = g * p.rg;
    if (p.cg >= T(0)) gr = Clip(gr, p.cg);
    T& z = s[0];
    T& n = s[1];
    z = z + (gr - (std::sqrt(n + gr * gr) - std::sqrt(n)) * w / p.lr);
    n = n + gr * gr;
    const T az = z < T(0) ? -z : z;
    return (Sign(z) * p.l1 - z) / ((p.beta + std::sqrt(n)) / p.lr + p.wd) * T(az > p.l1 ? 1 : 0);
  }
};

}  // namespace opt
}  // namespace axle
