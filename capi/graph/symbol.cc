#include "graph/symbol.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "graph/json.h"

namespace axle {

// ---- indexing -------------------------------------------------------------------------------

IndexedGraph IndexGraph(const std::vector<NodeEntry>& heads) {
  IndexedGraph g;
  // iterative post-order DFS: (node, next input to visit)
  std::vector<std::pair<Node*, size_t>> stack;
  auto push = [&](Node* n) {
    if (!g.id.count(n)) {
      g.id[n] = UINT32_MAX;  // on the stack
      stack.emplace_back(n, 0);
    }
  };
  for (auto& h : heads) {
    push(h.node.get());
    while (!stack.empty()) {
      auto& [n, next] = stack.back();
      const size_t n_in = n->inputs.size();
      if (next < n_in + n->control_deps.size()) {
        Node* c = next < n_in ? n->inputs[next].node.get() : n->control_deps[next - n_in].get();
        ++next;
        push(c);
        continue;
      }
      g.id[n] = static_cast<uint32_t>(g.nodes.size());
      g.nodes.push_back(n);
      stack.pop_back();
    }
  }
  g.row_ptr.assign(1, 0);
  for (uint32_t i = 0; i < g.nodes.size(); ++i) {
    Node* n = g.nodes[i];
    g.row_ptr.push_back(g.row_ptr.back() + static_cast<uint32_t>(n->num_outputs()));
    if (n->is_variable()) g.input_nodes.push_back(i);
    else
      for (int m : n->attrs.op->mutate_inputs)
        if (static_cast<size_t>(m) < n->inputs.size()) g.mutable_nodes.insert(g.id.at(n->inputs[m].node.get()));
  }
  return g;
}

std::unordered_map<const Node*, NodePtr> NodeOwners(const std::vector<NodeEntry>& heads, const IndexedGraph& g) {
  std::unordered_map<const Node*, NodePtr> owner;
  for (auto& h : heads) owner[h.node.get()] = h.node;
  for (Node* n : g.nodes) {
    for (auto& e : n->inputs) owner[e.node.get()] = e.node;
    for (auto& d : n->control_deps) owner[d.get()] = d;
  }
  return owner;
}

// ---- construction ---------------------------------------------------------------------------

Symbol CreateVariable(const std::string& name, StrDict attrs) {
  NodePtr n = MakeVariable(name);
  n->attrs.dict = std::move(attrs);
  return Symbol{{Out(n)}};
}

namespace {

const NodeEntry& SingleOutput(const Symbol& s, const std::string& who, const std::string& arg) {
  AX_CHECK(s.outputs.size() == 1, AX_ERR_INVALID_ARGUMENT, who, ": argument '", arg,
           "' must be a symbol with one output, got ", s.outputs.size(), " outputs");
  return s.outputs[0];
}

std::string FindAttr(const StrDict& d, const std::string& key) {
  for (auto& kv : d)
    if (kv.first == key) return kv.second;
  return std::string();
}

void SetDict(StrDict* d, const std::string& key, const std::string& value) {
  for (auto& kv : *d)
    if (kv.first == key) {
      kv.second = value;
      return;
    }
  d->emplace_back(key, value);
}

}  // namespace

Symbol CreateOpSymbol(const OpDef* op, const std::string& name, StrDict attrs, const std::vector<Symbol>& args,
                      const std::vector<std::string>& keys) {
  AX_CHECK(keys.empty() || keys.size() == args.size(), AX_ERR_INVALID_ARGUMENT, op->name, "(", name,
           "): ", keys.size(), " keys for ", args.size(), " inputs");
  const bool variadic = op->input_names.empty() && !op->key_var_num_args.empty();
  if (variadic) {
    for (auto& k : keys)
      AX_CHECK(k.empty(), AX_ERR_INVALID_ARGUMENT, op->name, "(", name, "): takes its inputs positionally, got keyword '",
               k, "'");
    std::string given = FindAttr(attrs, op->key_var_num_args);
    if (given.empty()) attrs.emplace_back(op->key_var_num_args, std::to_string(args.size()));
    else
      AX_CHECK(given == std::to_string(args.size()), AX_ERR_INVALID_ARGUMENT, op->name, "(", name, "): ",
               op->key_var_num_args, "=", given, " but ", args.size(), " inputs were given");
  }
  NodePtr n = std::make_shared<Node>();
  n->attrs = ParseAttrs(op, attrs, name);
  const std::string who = n->attrs.Who();
  if (variadic) {
    for (size_t i = 0; i < args.size(); ++i) n->inputs.push_back(SingleOutput(args[i], who, "arg" + std::to_string(i)));
    return Symbol{{Out(n, 0)}};
  }
  const int n_in = op->NumInputs(n->attrs);
  std::vector<NodeEntry> in(n_in);
  std::vector<bool> set(n_in, false);
  size_t pos = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string key = keys.empty() ? std::string() : keys[i];
    size_t slot;
    if (key.empty()) {
      slot = pos++;
      AX_CHECK(slot < static_cast<size_t>(n_in), AX_ERR_INVALID_ARGUMENT, who, ": takes ", n_in,
               " inputs, got more positional inputs");
    } else {
      auto it = std::find(op->input_names.begin(), op->input_names.begin() + n_in, key);
      if (it == op->input_names.begin() + n_in) {
        std::string valid;
        for (int j = 0; j < n_in; ++j) valid += (j ? ", " : "") + op->input_names[j];
        Throw(AX_ERR_INVALID_ARGUMENT, who, ": unknown input '", key, "' (inputs: ", valid, ")");
      }
      slot = static_cast<size_t>(it - op->input_names.begin());
    }
    AX_CHECK(!set[slot], AX_ERR_INVALID_ARGUMENT, who, ": input '", op->input_names[slot], "' given twice");
    in[slot] = SingleOutput(args[i], who, op->input_names[slot]);
    set[slot] = true;
  }
  for (int j = 0; j < n_in; ++j) {
    if (set[j]) continue;
    // MXNet's compose: the new variable carries the op's attributes
    StrDict vattrs = n->attrs.dict;
    if (op->input_var_attrs) op->input_var_attrs(j, &vattrs);
    in[j] = Out(CreateVariable(name + "_" + op->input_names[j], vattrs).outputs[0].node);
  }
  for (int m : op->mutate_inputs)
    if (m < n_in) in[m].version = 1;
  n->inputs = std::move(in);
  const int n_vis = op->NumVisibleOutputs(n->attrs);
  Symbol s;
  for (int i = 0; i < n_vis; ++i) s.outputs.push_back(Out(n, i));
  return s;
}

namespace {

// Deep copy of the graph under heads; map old node -> new node.
std::vector<NodeEntry> CopyGraph(const std::vector<NodeEntry>& heads, std::unordered_map<const Node*, NodePtr>* map) {
  IndexedGraph g = IndexGraph(heads);
  for (Node* n : g.nodes) {
    auto c = std::make_shared<Node>();
    c->attrs = n->attrs;
    for (auto& e : n->inputs) c->inputs.push_back(NodeEntry{map->at(e.node.get()), e.index, e.version});
    for (auto& d : n->control_deps) c->control_deps.push_back(map->at(d.get()));
    (*map)[n] = c;
  }
  std::vector<NodeEntry> out;
  for (auto& h : heads) out.push_back(NodeEntry{map->at(h.node.get()), h.index, h.version});
  return out;
}

}  // namespace

Symbol Copy(const Symbol& sym) {
  std::unordered_map<const Node*, NodePtr> map;
  return Symbol{CopyGraph(sym.outputs, &map)};
}

Symbol Compose(const Symbol& sym, const std::vector<Symbol>& args, const std::vector<std::string>& keys) {
  IndexedGraph g = IndexGraph(sym.outputs);
  std::vector<Node*> vars;
  for (uint32_t i : g.input_nodes) vars.push_back(g.nodes[i]);
  std::unordered_map<const Node*, NodeEntry> subst;
  size_t pos = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string key = keys.empty() ? std::string() : keys[i];
    Node* v = nullptr;
    if (key.empty()) {
      AX_CHECK(pos < vars.size(), AX_ERR_INVALID_ARGUMENT, "compose: the symbol has ", vars.size(),
               " inputs, got more positional arguments");
      v = vars[pos++];
    } else {
      for (Node* x : vars)
        if (x->name() == key) v = x;
      AX_CHECK(v, AX_ERR_INVALID_ARGUMENT, "compose: the symbol has no input named '", key, "'");
    }
    AX_CHECK(!subst.count(v), AX_ERR_INVALID_ARGUMENT, "compose: input '", v->name(), "' given twice");
    subst[v] = SingleOutput(args[i], "compose", v->name());
  }
  // copy the nodes that lie on a path from a substituted variable; others are shared as MXNet does
  std::unordered_map<const Node*, NodePtr> map;
  std::unordered_map<const Node*, NodeEntry> var_map;
  for (Node* n : g.nodes) {
    if (n->is_variable()) continue;
    bool touched = false;
    for (auto& e : n->inputs) touched |= subst.count(e.node.get()) || map.count(e.node.get());
    if (!touched) continue;
    auto c = std::make_shared<Node>();
    c->attrs = n->attrs;
    c->control_deps = n->control_deps;
    for (auto& e : n->inputs) {
      auto s = subst.find(e.node.get());
      if (s != subst.end()) c->inputs.push_back(NodeEntry{s->second.node, s->second.index, e.version});
      else {
        auto m = map.find(e.node.get());
        c->inputs.push_back(m != map.end() ? NodeEntry{m->second, e.index, e.version} : e);
      }
    }
    map[n] = c;
  }
  Symbol out;
  for (auto& h : sym.outputs) {
    auto s = subst.find(h.node.get());
    if (s != subst.end()) out.outputs.push_back(s->second);
    else {
      auto m = map.find(h.node.get());
      out.outputs.push_back(m != map.end() ? NodeEntry{m->second, h.index, h.version} : h);
    }
  }
  return out;
}

Symbol Group(const std::vector<Symbol>& syms) {
  Symbol s;
  for (auto& x : syms) s.outputs.insert(s.outputs.end(), x.outputs.begin(), x.outputs.end());
  return s;
}

Symbol GetOutput(const Symbol& sym, size_t i) {
  AX_CHECK(i < sym.outputs.size(), AX_ERR_INDEX, "symbol output index ", i, " is out of range (the symbol has ",
           sym.outputs.size(), " outputs)");
  return Symbol{{sym.outputs[i]}};
}

Symbol GetInternals(const Symbol& sym) {
  IndexedGraph g = IndexGraph(sym.outputs);
  Symbol s;
  auto owner = NodeOwners(sym.outputs, g);
  for (Node* n : g.nodes) {
    const NodePtr& p = owner.at(n);
    const int k = n->is_variable() ? 1 : n->attrs.op->NumVisibleOutputs(n->attrs);
    for (int i = 0; i < k; ++i) s.outputs.push_back(Out(p, i));
  }
  return s;
}

Symbol GetChildren(const Symbol& sym) {
  Symbol s;
  std::set<const Node*> seen;
  for (auto& h : sym.outputs) {
    if (!seen.insert(h.node.get()).second) continue;
    for (auto& e : h.node->inputs) s.outputs.push_back(NodeEntry{e.node, e.index, 0});
  }
  return s;
}

// ---- listing --------------------------------------------------------------------------------

std::vector<std::string> ListInputs(const Symbol& sym, InputKind kind) {
  IndexedGraph g = IndexGraph(sym.outputs);
  std::vector<std::string> names;
  for (uint32_t i : g.input_nodes) {
    const bool aux = g.mutable_nodes.count(i) > 0;
    if (kind == InputKind::kAll || (kind == InputKind::kAuxiliary) == aux) names.push_back(g.nodes[i]->name());
  }
  return names;
}

std::vector<std::string> OutputNames(const Node& n) {
  const OpDef* op = n.attrs.op;
  const int k = op->NumVisibleOutputs(n.attrs);
  std::vector<std::string> names =
      op->list_output_names ? op->list_output_names(n.attrs) : op->output_names;
  for (int i = static_cast<int>(names.size()); i < k; ++i) names.push_back("output" + std::to_string(i));
  names.resize(std::max<size_t>(names.size(), k));
  return names;
}

std::string OutputName(const NodeEntry& e) {
  if (e.node->is_variable()) return e.node->name();
  auto names = OutputNames(*e.node);
  return e.node->name() + "_" + (e.index < names.size() ? names[e.index] : "output" + std::to_string(e.index));
}

std::vector<std::string> ListOutputs(const Symbol& sym) {
  std::vector<std::string> names;
  for (auto& e : sym.outputs) names.push_back(OutputName(e));
  return names;
}

// ---- attributes -----------------------------------------------------------------------------

bool SingleNodeName(const Symbol& sym, std::string* name) {
  if (sym.outputs.empty()) return false;
  const Node* n = sym.outputs[0].node.get();
  for (auto& e : sym.outputs)
    if (e.node.get() != n) return false;
  *name = n->name();
  return true;
}

namespace {
Node* SingleNode(const Symbol& sym, const char* what) {
  std::string name;
  AX_CHECK(SingleNodeName(sym, &name), AX_ERR_INVALID_ARGUMENT, what,
           ": the symbol groups several nodes; use attr_dict() or index one output first");
  return sym.outputs[0].node.get();
}
}  // namespace

namespace {
// MXNet's kHiddenKeys: stored as __key__, also listed and read under their plain names.
const char* const kHiddenKeys[] = {"ctx_group", "lr_mult", "wd_mult", "force_mirroring", "mirror_stage",
                                   "profiler_scope"};

bool IsHiddenForm(const std::string& key, std::string* plain) {
  for (const char* k : kHiddenKeys)
    if (key == std::string("__") + k + "__") {
      *plain = k;
      return true;
    }
  return false;
}

StrDict WithPlainNames(const StrDict& d) {
  StrDict out;
  for (auto& kv : d) {
    out.push_back(kv);
    std::string plain;
    if (IsHiddenForm(kv.first, &plain)) out.emplace_back(plain, kv.second);
  }
  return out;
}
}  // namespace

bool GetAttr(const Symbol& sym, const std::string& key, std::string* value) {
  Node* n = SingleNode(sym, "attr");
  for (auto& kv : WithPlainNames(n->attrs.dict))
    if (kv.first == key) {
      *value = kv.second;
      return true;
    }
  return false;
}

void SetAttr(const Symbol& sym, const std::string& key, const std::string& value) {
  Node* n = SingleNode(sym, "set_attr");
  StrDict d = n->attrs.dict;
  SetDict(&d, key, value);
  if (n->is_variable()) n->attrs.dict = std::move(d);
  else n->attrs = ParseAttrs(n->attrs.op, std::move(d), n->attrs.name);  // validates params
}

StrDict ListAttrShallow(const Symbol& sym) { return WithPlainNames(SingleNode(sym, "list_attr")->attrs.dict); }

std::vector<std::pair<std::string, StrDict>> AttrDict(const Symbol& sym) {
  IndexedGraph g = IndexGraph(sym.outputs);
  std::vector<std::pair<std::string, StrDict>> out;
  for (Node* n : g.nodes)
    if (!n->attrs.dict.empty()) out.emplace_back(n->name(), WithPlainNames(n->attrs.dict));
  return out;
}

// ---- inference ------------------------------------------------------------------------------

namespace {

std::string InputLabel(const Node* n, size_t i) {
  const auto& names = n->attrs.op->input_names;
  return i < names.size() ? names[i] : "arg" + std::to_string(i);
}

template <class T, class Merge, class Str>
void MergeInto(std::vector<T>* values, uint32_t eid, const T& v, Merge merge, Str str, const Node* n,
               const std::string& what, const IndexedGraph& g) {
  T cur = (*values)[eid];
  if (!merge(&cur, v)) {
    Throw(AX_ERR_SHAPE, n->attrs.Who(), ": ", what, " inferred as ", str(v), " conflicts with ", str((*values)[eid]));
  }
  (*values)[eid] = cur;
  (void)g;
}

// One inference loop for shapes and types: forward and backward sweeps until nothing changes.
template <class T, class Fn, class Merge, class Known, class Str>
void InferLoop(const IndexedGraph& g, std::vector<T>* values, Fn fn, Merge merge, Known known, Str str) {
  std::vector<T> in, out;
  for (int sweep = 0; sweep < 8; ++sweep) {
    bool changed = false;
    for (int dir = 0; dir < 2; ++dir) {
      for (size_t k = 0; k < g.nodes.size(); ++k) {
        const size_t ni = dir == 0 ? k : g.nodes.size() - 1 - k;
        Node* n = g.nodes[ni];
        if (n->is_variable()) continue;
        in.clear();
        for (auto& e : n->inputs) in.push_back((*values)[g.entry(e)]);
        const uint32_t base = g.row_ptr[ni], n_out = g.row_ptr[ni + 1] - base;
        out.assign(values->begin() + base, values->begin() + base + n_out);
        bool all = true;
        for (auto& x : in) all &= known(x);
        for (auto& x : out) all &= known(x);
        if (all) continue;
        fn(n, &in, &out);
        for (size_t i = 0; i < in.size(); ++i) {
          uint32_t eid = g.entry(n->inputs[i]);
          T before = (*values)[eid];
          MergeInto(values, eid, in[i], merge, str, n, "input '" + InputLabel(n, i) + "'", g);
          changed |= !((*values)[eid] == before);
        }
        for (uint32_t i = 0; i < n_out; ++i) {
          T before = (*values)[base + i];
          MergeInto(values, base + i, out[i], merge, str, n, "output " + std::to_string(i), g);
          changed |= !((*values)[base + i] == before);
        }
      }
    }
    if (!changed) break;
  }
}

TShape ParseShapeHint(const std::string& s, const std::string& var) {
  IntTuple t;
  AX_CHECK(ParseValue(s, &t), AX_ERR_INVALID_ARGUMENT, "variable '", var, "': bad __shape__ attribute '", s, "'");
  return TShape(t.begin(), t.end());
}

}  // namespace

std::vector<TShape> InferGraphShapes(const IndexedGraph& g, const std::unordered_map<std::string, TShape>& known) {
  std::vector<TShape> shapes(g.num_entries());
  for (uint32_t i : g.input_nodes) {
    Node* v = g.nodes[i];
    std::string hint = FindAttr(v->attrs.dict, "__shape__");
    if (!hint.empty()) shapes[g.row_ptr[i]] = ParseShapeHint(hint, v->name());
    auto it = known.find(v->name());
    if (it != known.end()) {
      TShape s = shapes[g.row_ptr[i]];
      AX_CHECK(ShapeAssign(&s, it->second), AX_ERR_SHAPE, "variable '", v->name(), "': given shape ",
               it->second.str(), " conflicts with its __shape__ attribute ", s.str());
      shapes[g.row_ptr[i]] = it->second.ndim_known() ? it->second : s;
    }
  }
  InferLoop(
      g, &shapes,
      [](Node* n, std::vector<TShape>* in, std::vector<TShape>* out) {
        if (n->attrs.op->infer_shape) n->attrs.op->infer_shape(n->attrs, in, out);
      },
      [](TShape* a, const TShape& b) { return ShapeAssign(a, b); }, [](const TShape& s) { return s.known(); },
      [](const TShape& s) { return s.str(); });
  return shapes;
}

std::vector<int> InferGraphTypes(const IndexedGraph& g, const std::unordered_map<std::string, int>& known) {
  std::vector<int> types(g.num_entries(), -1);
  for (uint32_t i : g.input_nodes) {
    Node* v = g.nodes[i];
    std::string hint = FindAttr(v->attrs.dict, "__dtype__");
    if (!hint.empty()) types[g.row_ptr[i]] = std::atoi(hint.c_str());
    auto it = known.find(v->name());
    if (it != known.end()) types[g.row_ptr[i]] = it->second;
  }
  InferLoop(
      g, &types,
      [](Node* n, std::vector<int>* in, std::vector<int>* out) {
        if (n->attrs.op->infer_type) n->attrs.op->infer_type(n->attrs, in, out);
        else SameType(n->attrs, in, out);
      },
      [](int* a, int b) {
        if (b < 0) return true;
        if (*a < 0) *a = b;
        return *a == b;
      },
      [](int t) { return t >= 0; }, [](int t) { return t < 0 ? std::string("unknown") : std::string(DTypeName(t)); });
  return types;
}

// ---- JSON -----------------------------------------------------------------------------------

namespace {

void Indent(std::string* o, int n) { o->append(static_cast<size_t>(n), ' '); }

void WriteAttrs(std::string* o, const StrDict& dict, int indent) {
  std::map<std::string, std::string> sorted(dict.begin(), dict.end());
  *o += "{";
  if (sorted.size() == 1) {
    json::WriteString(o, sorted.begin()->first);
    *o += ": ";
    json::WriteString(o, sorted.begin()->second);
    *o += "}";
    return;
  }
  bool first = true;
  for (auto& kv : sorted) {
    *o += first ? "\n" : ", \n";
    first = false;
    Indent(o, indent + 2);
    json::WriteString(o, kv.first);
    *o += ": ";
    json::WriteString(o, kv.second);
  }
  *o += "\n";
  Indent(o, indent);
  *o += "}";
}

std::string EntryJSON(const IndexedGraph& g, const NodeEntry& e) {
  return StrCat("[", g.id.at(e.node.get()), ", ", e.index, ", ", e.version, "]");
}

}  // namespace

std::string ToJSON(const Symbol& sym) {
  IndexedGraph g = IndexGraph(sym.outputs);
  std::string o = "{\n  \"nodes\": [";
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node* n = g.nodes[i];
    o += i ? ", \n    {\n" : "\n    {\n";
    o += "      \"op\": ";
    json::WriteString(&o, n->is_variable() ? "null" : n->attrs.op->name);
    o += ", \n      \"name\": ";
    json::WriteString(&o, n->name());
    if (!n->attrs.dict.empty()) {
      o += ", \n      \"attrs\": ";
      WriteAttrs(&o, n->attrs.dict, 6);
    }
    o += ", \n      \"inputs\": [";
    for (size_t j = 0; j < n->inputs.size(); ++j) o += (j ? ", " : "") + EntryJSON(g, n->inputs[j]);
    o += "]";
    if (!n->control_deps.empty()) {
      o += ", \n      \"control_deps\": [";
      for (size_t j = 0; j < n->control_deps.size(); ++j)
        o += (j ? ", " : "") + std::to_string(g.id.at(n->control_deps[j].get()));
      o += "]";
    }
    o += "\n    }";
  }
  o += "\n  ], \n  \"arg_nodes\": [";
  for (size_t j = 0; j < g.input_nodes.size(); ++j) o += (j ? ", " : "") + std::to_string(g.input_nodes[j]);
  o += "], \n  \"node_row_ptr\": [";
  for (size_t j = 0; j < g.row_ptr.size(); ++j) o += (j ? ", " : "") + std::to_string(g.row_ptr[j]);
  o += "], \n  \"heads\": [";
  for (size_t j = 0; j < sym.outputs.size(); ++j) o += (j ? ", " : "") + EntryJSON(g, sym.outputs[j]);
  o += "], \n  \"attrs\": {\"mxnet_version\": [\"int\", 10901]}\n}";
  return o;
}

namespace {

const json::Value& Need(const json::Value& v, const char* key, json::Value::Kind kind, const std::string& where) {
  const json::Value* x = v.Find(key);
  AX_CHECK(x, AX_ERR_IO, "symbol JSON: ", where, " has no \"", key, "\"");
  AX_CHECK(x->is(kind), AX_ERR_IO, "symbol JSON: ", where, ": \"", key, "\" has the wrong type");
  return *x;
}

uint32_t Index(const json::Value& v, const std::string& where) {
  // (range first: converting a double outside uint32's range is undefined)
  AX_CHECK(v.is(json::Value::kNumber) && v.num >= 0 && v.num <= 4294967295.0 &&
               v.num == static_cast<double>(static_cast<uint32_t>(v.num)),
           AX_ERR_IO, "symbol JSON: ", where, ": expected a non-negative integer below 2^32");
  return static_cast<uint32_t>(v.num);
}

StrDict StringDict(const json::Value& v, const std::string& where) {
  AX_CHECK(v.is(json::Value::kObject), AX_ERR_IO, "symbol JSON: ", where, ": attributes must be an object");
  StrDict d;
  for (auto& kv : v.obj) {
    AX_CHECK(kv.second.is(json::Value::kString), AX_ERR_IO, "symbol JSON: ", where, ": attribute '", kv.first,
             "' is not a string");
    d.emplace_back(kv.first, kv.second.str);
  }
  return d;
}

}  // namespace

Symbol FromJSON(const std::string& text) {
  json::Value root = json::Parse(text, "symbol JSON");
  AX_CHECK(root.is(json::Value::kObject), AX_ERR_IO, "symbol JSON: the document is not an object");
  const json::Value& jnodes = Need(root, "nodes", json::Value::kArray, "the document");
  std::vector<NodePtr> nodes;
  for (size_t i = 0; i < jnodes.arr.size(); ++i) {
    const json::Value& jn = jnodes.arr[i];
    const std::string where = "node " + std::to_string(i);
    AX_CHECK(jn.is(json::Value::kObject), AX_ERR_IO, "symbol JSON: ", where, " is not an object");
    const std::string op_name = Need(jn, "op", json::Value::kString, where).str;
    const std::string name = Need(jn, "name", json::Value::kString, where).str;
    const std::string where_n = where + " ('" + name + "')";
    StrDict dict;
    // MXNet >= 0.9 writes "attrs"; older files "param" (op parameters) and "attr" (user attributes)
    for (const char* key : {"attrs", "param", "attr"})
      if (const json::Value* a = jn.Find(key))
        for (auto& kv : StringDict(*a, where_n)) SetDict(&dict, kv.first, kv.second);
    NodePtr n;
    if (op_name == "null") {
      n = CreateVariable(name, std::move(dict)).outputs[0].node;
    } else {
      const OpDef* op = OpRegistry::Get()->Find(op_name);
      AX_CHECK(op, AX_ERR_IO, "symbol JSON: ", where_n, ": unknown operator '", op_name, "'");
      // legacy user attributes without underscores (ctx_group, lr_mult, ...) are not op parameters
      StrDict clean;
      for (auto& kv : dict) {
        bool param = kv.first.rfind("__", 0) == 0 || kv.first == op->key_var_num_args;
        for (auto& f : op->params.fields) param |= f.name == kv.first;
        clean.emplace_back(param ? kv.first : "__" + kv.first + "__", kv.second);
      }
      n = std::make_shared<Node>();
      n->attrs = ParseAttrs(op, std::move(clean), name);
    }
    const json::Value& jin = Need(jn, "inputs", json::Value::kArray, where_n);
    for (auto& e : jin.arr) {
      AX_CHECK(e.is(json::Value::kArray) && (e.arr.size() == 2 || e.arr.size() == 3), AX_ERR_IO, "symbol JSON: ",
               where_n, ": an input must be [node, index] or [node, index, version]");
      uint32_t src = Index(e.arr[0], where_n);
      AX_CHECK(src < nodes.size(), AX_ERR_IO, "symbol JSON: ", where_n, ": input refers to node ", src,
               ", which does not come before it");
      uint32_t idx = Index(e.arr[1], where_n);
      AX_CHECK(static_cast<int>(idx) < nodes[src]->num_outputs(), AX_ERR_IO, "symbol JSON: ", where_n,
               ": input refers to output ", idx, " of '", nodes[src]->name(), "', which has ",
               nodes[src]->num_outputs());
      uint32_t ver = e.arr.size() == 3 ? Index(e.arr[2], where_n) : 0;
      n->inputs.push_back(NodeEntry{nodes[src], idx, ver});
    }
    if (!n->is_variable()) {
      const OpDef* op = n->attrs.op;
      const bool variadic = op->input_names.empty() && !op->key_var_num_args.empty();
      if (!variadic) {
        const int want = op->NumInputs(n->attrs);
        AX_CHECK(static_cast<int>(n->inputs.size()) == want, AX_ERR_IO, "symbol JSON: ", n->attrs.Who(), " has ",
                 n->inputs.size(), " inputs, the op takes ", want);
      }
    }
    if (const json::Value* cd = jn.Find("control_deps")) {
      AX_CHECK(cd->is(json::Value::kArray), AX_ERR_IO, "symbol JSON: ", where_n, ": control_deps must be an array");
      for (auto& d : cd->arr) {
        uint32_t src = Index(d, where_n);
        AX_CHECK(src < nodes.size(), AX_ERR_IO, "symbol JSON: ", where_n, ": control dependency ", src,
                 " does not come before it");
        n->control_deps.push_back(nodes[src]);
      }
    }
    nodes.push_back(n);
  }
  const json::Value& heads = Need(root, "heads", json::Value::kArray, "the document");
  AX_CHECK(!heads.arr.empty(), AX_ERR_IO, "symbol JSON: \"heads\" is empty");
  Symbol s;
  for (auto& h : heads.arr) {
    AX_CHECK(h.is(json::Value::kArray) && h.arr.size() >= 2, AX_ERR_IO, "symbol JSON: a head must be [node, index(, version)]");
    uint32_t src = Index(h.arr[0], "heads");
    AX_CHECK(src < nodes.size(), AX_ERR_IO, "symbol JSON: head refers to node ", src, " of ", nodes.size());
    uint32_t idx = Index(h.arr[1], "heads");
    AX_CHECK(static_cast<int>(idx) < nodes[src]->num_outputs(), AX_ERR_IO, "symbol JSON: head refers to output ", idx,
             " of '", nodes[src]->name(), "'");
    s.outputs.push_back(NodeEntry{nodes[src], idx, 0});
  }
  return s;
}

std::string DebugStr(const Symbol& sym) {
  IndexedGraph g = IndexGraph(sym.outputs);
  std::string o = "Symbol Outputs:\n";
  for (size_t i = 0; i < sym.outputs.size(); ++i)
    o += StrCat("\toutput[", i, "]=", sym.outputs[i].node->name(), "(", sym.outputs[i].index, ")\n");
  for (Node* n : g.nodes) {
    if (n->is_variable()) {
      o += "Variable:" + n->name() + "\n";
      continue;
    }
    o += "--------------------\n";
    o += "Op:" + n->attrs.op->name + ", Name=" + n->name() + "\n";
    o += "Inputs:\n";
    for (size_t j = 0; j < n->inputs.size(); ++j)
      o += StrCat("\targ[", j, "]=", n->inputs[j].node->name(), "(", n->inputs[j].index, ") version=",
                  n->inputs[j].version, "\n");
    if (!n->attrs.dict.empty()) {
      o += "Attrs:\n";
      for (auto& kv : std::map<std::string, std::string>(n->attrs.dict.begin(), n->attrs.dict.end()))
        o += "\t" + kv.first + "=" + kv.second + "\n";
    }
  }
  return o;
}

}  // namespace axle
