#include "graph/node.h"

namespace axle {

NodePtr MakeVariable(const std::string& name) {
  auto n = std::make_shared<Node>();
  n->attrs.name = name;
  return n;
}

NodePtr MakeNode(const std::string& op_name, const std::string& node_name, std::vector<NodeEntry> inputs,
                 std::vector<std::pair<std::string, std::string>> attrs) {
  const OpDef* op = OpRegistry::Get()->Find(op_name);
  AX_CHECK(op, AX_ERR_INVALID_ARGUMENT, "no operator named '", op_name, "'");
  auto n = std::make_shared<Node>();
  n->attrs = ParseAttrs(op, std::move(attrs), node_name);
  n->inputs = std::move(inputs);
  return n;
}

}  // namespace axle
