// The graph representation shared by symbols, gradients and executors (NNVM's model):
// a Node is an op with attributes and input entries, or a variable (op == nullptr); a
// NodeEntry names one output of a node. A Symbol is a list of entries.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ops/registry.h"

namespace axle {

struct Node;
using NodePtr = std::shared_ptr<Node>;

struct NodeEntry {
  NodePtr node;
  uint32_t index = 0;    // which output of node
  uint32_t version = 0;  // bumped by ops that mutate the variable (aux states)
};

struct Node {
  NodeAttrs attrs;  // attrs.op is nullptr for a variable
  std::vector<NodeEntry> inputs;
  std::vector<NodePtr> control_deps;
  bool is_variable() const { return attrs.op == nullptr; }
  const std::string& name() const { return attrs.name; }
  int num_outputs() const { return is_variable() ? 1 : attrs.op->num_outputs(attrs); }
};

// A variable node.
NodePtr MakeVariable(const std::string& name);
// A node of op `op_name` with string attributes (parsed and checked now).
NodePtr MakeNode(const std::string& op_name, const std::string& node_name, std::vector<NodeEntry> inputs,
                 std::vector<std::pair<std::string, std::string>> attrs = {});
inline NodeEntry Out(const NodePtr& n, uint32_t i = 0) { return NodeEntry{n, i, 0}; }

// What an op's gradient function gets: the forward node and the gradients of its outputs;
// it returns one entry per input (an input that gets no gradient gets a zeros_like node).
class GradBuilder {
 public:
  GradBuilder(NodePtr fwd, std::vector<NodeEntry> ograds) : fwd_(std::move(fwd)), ograds_(std::move(ograds)) {}
  const NodePtr& node() const { return fwd_; }
  const NodeEntry& input(size_t i) const { return fwd_->inputs.at(i); }
  const NodeAttrs& attrs() const { return fwd_->attrs; }
  // The forward node's attributes as strings, to pass on to a backward op.
  const std::vector<std::pair<std::string, std::string>>& attr_dict() const { return fwd_->attrs.dict; }
  NodeEntry output(uint32_t i = 0) const { return Out(fwd_, i); }
  const NodeEntry& ograd(size_t i = 0) const { return ograds_.at(i); }
  // A new node named after the forward node ("fc1_backward", ...).
  NodeEntry Make(const std::string& op, std::vector<NodeEntry> inputs,
                 std::vector<std::pair<std::string, std::string>> attrs = {}, uint32_t out_index = 0) const {
    return Out(MakeNode(op, fwd_->name() + "_" + op, std::move(inputs), std::move(attrs)), out_index);
  }
  NodeEntry ZerosLike(size_t i) const { return Make("zeros_like", {input(i)}); }
  NodePtr MakeMulti(const std::string& op, std::vector<NodeEntry> inputs,
                    std::vector<std::pair<std::string, std::string>> attrs = {}) const {
    return MakeNode(op, fwd_->name() + "_" + op, std::move(inputs), std::move(attrs));
  }

 private:
  NodePtr fwd_;
  std::vector<NodeEntry> ograds_;
};

}  // namespace axle
