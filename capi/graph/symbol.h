// Symbols: graphs built from variables and op nodes (MXNet 1.x's nnvm::Symbol), their
// listing, attributes, shape/type inference and MXNet-compatible JSON.
#pragma once
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "graph/node.h"

namespace axle {

using StrDict = std::vector<std::pair<std::string, std::string>>;

struct Symbol {
  std::vector<NodeEntry> outputs;
};

// A graph's nodes in MXNet's order (depth-first, inputs in order, post-order) with entry ids:
// entry(node n, output i) = row_ptr[n] + i, hidden outputs included.
struct IndexedGraph {
  std::vector<Node*> nodes;
  std::unordered_map<const Node*, uint32_t> id;
  std::vector<uint32_t> row_ptr;      // size nodes + 1
  std::vector<uint32_t> input_nodes;  // variables, in order
  std::unordered_set<uint32_t> mutable_nodes;  // variables an op writes (aux states)
  uint32_t entry(const NodeEntry& e) const { return row_ptr[id.at(e.node.get())] + e.index; }
  uint32_t num_entries() const { return row_ptr.back(); }
};
IndexedGraph IndexGraph(const std::vector<NodeEntry>& heads);
// The shared pointer of every node of g (found among heads and input entries).
std::unordered_map<const Node*, NodePtr> NodeOwners(const std::vector<NodeEntry>& heads, const IndexedGraph& g);

Symbol CreateVariable(const std::string& name, StrDict attrs = {});
// An op node on inputs (positional: key "", or by input name). Missing inputs become variables
// "<name>_<input>" carrying the op's attributes (as MXNet's compose does).
Symbol CreateOpSymbol(const OpDef* op, const std::string& name, StrDict attrs, const std::vector<Symbol>& args,
                      const std::vector<std::string>& keys);
// A copy of sym with its free variables replaced (positional over ListInputs, or by name).
Symbol Compose(const Symbol& sym, const std::vector<Symbol>& args, const std::vector<std::string>& keys);
Symbol Copy(const Symbol& sym);
Symbol Group(const std::vector<Symbol>& syms);
Symbol GetOutput(const Symbol& sym, size_t i);
Symbol GetInternals(const Symbol& sym);
Symbol GetChildren(const Symbol& sym);  // no outputs when the heads are variables

enum class InputKind { kAll, kArguments, kAuxiliary };
std::vector<std::string> ListInputs(const Symbol& sym, InputKind kind);
std::vector<std::string> ListOutputs(const Symbol& sym);
std::string OutputName(const NodeEntry& e);
// Visible outputs of an op node as names (SliceChannel: output0, output1, ...).
std::vector<std::string> OutputNames(const Node& n);

// The node all outputs come from ("" and false when there are several).
bool SingleNodeName(const Symbol& sym, std::string* name);
bool GetAttr(const Symbol& sym, const std::string& key, std::string* value);
void SetAttr(const Symbol& sym, const std::string& key, const std::string& value);
StrDict ListAttrShallow(const Symbol& sym);
// {node name, key, value} for every attribute of every node.
std::vector<std::pair<std::string, StrDict>> AttrDict(const Symbol& sym);

// Shape/type inference over the whole graph. Known shapes come from `known` (by variable
// name) and variables' __shape__/__dtype__ hints. Per-entry results (IndexedGraph entries).
std::vector<TShape> InferGraphShapes(const IndexedGraph& g, const std::unordered_map<std::string, TShape>& known);
std::vector<int> InferGraphTypes(const IndexedGraph& g, const std::unordered_map<std::string, int>& known);

// MXNet 1.x JSON.
std::string ToJSON(const Symbol& sym);
Symbol FromJSON(const std::string& json);
std::string DebugStr(const Symbol& sym);

}  // namespace axle
