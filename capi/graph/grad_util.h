// A small vocabulary for writing gradients as graphs of ops:
//   GradExpr x = g.in(0), dy = g.og();
//   return {dy * x.cos()};          // elemwise_mul(ograd, cos(x))
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "graph/node.h"
#include "ops/param.h"

namespace axle {

class GradExpr {
 public:
  GradExpr(const GradBuilder* g, NodeEntry e) : g_(g), e_(std::move(e)) {}
  const NodeEntry& entry() const { return e_; }
  operator NodeEntry() const { return e_; }  // NOLINT: a gradient list takes expressions

  GradExpr Op(const std::string& op, std::vector<std::pair<std::string, std::string>> attrs = {}) const {
    return {g_, g_->Make(op, {e_}, std::move(attrs))};
  }
  GradExpr Op2(const std::string& op, const GradExpr& o) const { return {g_, g_->Make(op, {e_, o.e_})}; }
  GradExpr Scalar(const std::string& op, double s) const { return Op(op, {{"scalar", FormatValue(s)}}); }

  // same-shape arithmetic (inputs and gradients of elementwise ops)
  GradExpr operator*(const GradExpr& o) const { return Op2("elemwise_mul", o); }
  GradExpr operator/(const GradExpr& o) const { return Op2("elemwise_div", o); }
  GradExpr operator+(const GradExpr& o) const { return Op2("elemwise_add", o); }
  GradExpr operator-(const GradExpr& o) const { return Op2("elemwise_sub", o); }
  GradExpr operator-() const { return Op("negative"); }
  GradExpr operator*(double s) const { return Scalar("_mul_scalar", s); }
  GradExpr operator+(double s) const { return Scalar("_plus_scalar", s); }
  // numpy-broadcasting arithmetic (inputs of broadcast_* ops)
  GradExpr BMul(const GradExpr& o) const { return Op2("broadcast_mul", o); }
  GradExpr BDiv(const GradExpr& o) const { return Op2("broadcast_div", o); }
  // sums a broadcast gradient back to the shape of `like`
  GradExpr SumLike(const GradExpr& like) const { return Op2("_reduce_sum_like", like); }

 private:
  const GradBuilder* g_;
  NodeEntry e_;
};

inline GradExpr In(const GradBuilder& g, size_t i) { return {&g, g.input(i)}; }
inline GradExpr OGrad(const GradBuilder& g, size_t i = 0) { return {&g, g.ograd(i)}; }
inline GradExpr FwdOut(const GradBuilder& g, uint32_t i = 0) { return {&g, g.output(i)}; }
inline GradExpr Zeros(const GradBuilder& g, size_t i) { return {&g, g.ZerosLike(i)}; }

}  // namespace axle
