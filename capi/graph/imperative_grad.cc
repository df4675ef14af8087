#include "graph/imperative_grad.h"

#include <functional>

#include "ops/imperative.h"

namespace axle {

std::vector<NDArray> EvalGraph(const std::vector<NodeEntry>& heads,
                               const std::unordered_map<const Node*, NDArray>& bound) {
  std::unordered_map<const Node*, std::vector<NDArray>> values;
  // depth-first, iterative (gradient graphs of deep nets must not exhaust the stack)
  std::vector<std::pair<const Node*, bool>> stack;
  for (auto& h : heads) stack.emplace_back(h.node.get(), false);
  while (!stack.empty()) {
    auto [n, expanded] = stack.back();
    stack.pop_back();
    if (values.count(n)) continue;
    if (n->is_variable()) {
      auto it = bound.find(n);
      AX_CHECK(it != bound.end(), AX_ERR_INVALID_ARGUMENT, "variable '", n->name(), "' has no value");
      values[n] = {it->second};
      continue;
    }
    if (!expanded) {
      stack.emplace_back(n, true);
      for (auto& e : n->inputs)
        if (!values.count(e.node.get())) stack.emplace_back(e.node.get(), false);
      continue;
    }
    std::vector<NDArray> in;
    in.reserve(n->inputs.size());
    for (auto& e : n->inputs) in.push_back(values.at(e.node.get()).at(e.index));
    std::vector<NDArray> out;
    Invoke(n->attrs, in, &out);
    values[n] = std::move(out);
  }
  std::vector<NDArray> res;
  for (auto& h : heads) res.push_back(values.at(h.node.get()).at(h.index));
  return res;
}

std::vector<NDArray> OpGradient(const NodeAttrs& attrs, const std::vector<NDArray>& inputs,
                                const std::vector<NDArray>& ograds) {
  const OpDef* op = attrs.op;
  AX_CHECK(op->gradient, AX_ERR_NOT_SUPPORTED, attrs.Who(), ": the op has no gradient");
  CheckNumInputs(attrs, inputs.size());
  const int n_out = op->num_outputs(attrs);
  const int n_vis = op->NumVisibleOutputs(attrs);
  AX_CHECK(static_cast<int>(ograds.size()) == n_out || static_cast<int>(ograds.size()) == n_vis,
           AX_ERR_INVALID_ARGUMENT, attrs.Who(), ": expected ", n_vis == n_out ? StrCat(n_out) : StrCat(n_vis, " or ", n_out),
           " output gradient(s), got ", ograds.size());
  std::unordered_map<const Node*, NDArray> bound;
  auto fwd = std::make_shared<Node>();
  fwd->attrs = attrs;
  if (fwd->attrs.name.empty()) fwd->attrs.name = op->name;
  for (size_t i = 0; i < inputs.size(); ++i) {
    NodePtr v = MakeVariable(StrCat(fwd->attrs.name, "_in", i));
    bound[v.get()] = inputs[i];
    fwd->inputs.push_back(Out(v));
  }
  std::vector<NodeEntry> og;
  for (size_t i = 0; i < ograds.size(); ++i) {
    NodePtr v = MakeVariable(StrCat(fwd->attrs.name, "_ograd", i));
    bound[v.get()] = ograds[i];
    og.push_back(Out(v));
  }
  // Hidden outputs given no gradient get zeros (evaluated only if the gradient reads them).
  for (int i = static_cast<int>(ograds.size()); i < n_out; ++i)
    og.push_back(Out(MakeNode("zeros_like", StrCat(fwd->attrs.name, "_ograd", i), {Out(fwd, i)})));
  GradBuilder gb(fwd, og);
  std::vector<NodeEntry> igrads = op->gradient(gb);
  AX_CHECK(igrads.size() == inputs.size(), AX_ERR_RUNTIME, attrs.Who(), ": the gradient gave ", igrads.size(),
           " entries for ", inputs.size(), " inputs");
  // The forward node itself is evaluated (once) if the gradient reads its outputs.
  return EvalGraph(igrads, bound);
}

}  // namespace axle
