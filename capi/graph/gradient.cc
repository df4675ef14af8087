#include "graph/gradient.h"

#include <unordered_map>

#include "graph/symbol.h"

namespace axle {

namespace {

NodeEntry Sum(const std::vector<NodeEntry>& parts, const std::string& name) {
  if (parts.size() == 1) return parts[0];
  return Out(MakeNode("add_n", name, parts, {{"num_args", std::to_string(parts.size())}}));
}

}  // namespace

std::vector<NodeEntry> Gradient(const std::vector<NodeEntry>& heads, const std::vector<NodeEntry>& head_grads,
                                const std::vector<NodeEntry>& xs) {
  AX_CHECK(heads.size() == head_grads.size(), AX_ERR_INVALID_ARGUMENT, "gradient: ", heads.size(), " heads but ",
           head_grads.size(), " head gradients");
  IndexedGraph g = IndexGraph(heads);
  // which nodes depend on an x (only their gradients are built)
  std::vector<bool> wanted_entry(g.num_entries(), false), depends(g.nodes.size(), false);
  for (auto& x : xs) {
    auto it = g.id.find(x.node.get());
    if (it == g.id.end()) continue;
    wanted_entry[g.entry(x)] = true;
    depends[it->second] = true;
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node* n = g.nodes[i];
    if (n->is_variable()) continue;
    for (size_t j = 0; j < n->inputs.size(); ++j) {
      bool aux = false;
      for (int m : n->attrs.op->mutate_inputs) aux |= static_cast<size_t>(m) == j;
      if (!aux && depends[g.id.at(n->inputs[j].node.get())]) depends[i] = true;
    }
  }
  // shared owners of the nodes, for the gradient nodes' inputs
  auto owner = NodeOwners(heads, g);
  std::vector<std::vector<NodeEntry>> contrib(g.num_entries());
  for (size_t i = 0; i < heads.size(); ++i) contrib[g.entry(heads[i])].push_back(head_grads[i]);
  for (size_t k = g.nodes.size(); k-- > 0;) {
    Node* n = g.nodes[k];
    if (n->is_variable() || !depends[k]) continue;
    const uint32_t base = g.row_ptr[k], n_out = g.row_ptr[k + 1] - base;
    bool any = false;
    for (uint32_t i = 0; i < n_out; ++i) any |= !contrib[base + i].empty();
    if (!any) continue;
    AX_CHECK(n->attrs.op->gradient, AX_ERR_NOT_SUPPORTED, n->attrs.Who(),
             ": the op has no gradient, so nothing before it can be differentiated");
    const NodePtr& self = owner.at(n);
    std::vector<NodeEntry> og;
    for (uint32_t i = 0; i < n_out; ++i) {
      if (contrib[base + i].empty())
        og.push_back(Out(MakeNode("zeros_like", n->name() + "_ograd" + std::to_string(i) + "_zero", {Out(self, i)})));
      else
        og.push_back(Sum(contrib[base + i], n->name() + "_ograd" + std::to_string(i) + "_sum"));
    }
    std::vector<NodeEntry> ig = n->attrs.op->gradient(GradBuilder(self, og));
    AX_CHECK(ig.size() == n->inputs.size(), AX_ERR_RUNTIME, n->attrs.Who(), ": the gradient gave ", ig.size(),
             " entries for ", n->inputs.size(), " inputs");
    for (size_t j = 0; j < ig.size(); ++j) {
      bool aux = false;
      for (int m : n->attrs.op->mutate_inputs) aux |= static_cast<size_t>(m) == j;
      if (aux || !depends[g.id.at(n->inputs[j].node.get())]) continue;
      contrib[g.entry(n->inputs[j])].push_back(ig[j]);
    }
  }
  std::vector<NodeEntry> out;
  for (auto& x : xs) {
    auto it = g.id.find(x.node.get());
    if (it == g.id.end() || contrib[g.entry(x)].empty()) {
      out.push_back(NodeEntry{});
      continue;
    }
    out.push_back(Sum(contrib[g.entry(x)], x.node->name() + "_grad_sum"));
  }
  return out;
}

}  // namespace axle
