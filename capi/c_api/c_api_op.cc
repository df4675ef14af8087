// C API: op registry introspection and the generic imperative entry point.
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "c_api/c_api_common.h"
#include "graph/imperative_grad.h"
#include "ops/imperative.h"

using namespace axle;  // NOLINT

namespace axle {

const OpDef* CheckOp(AxOpHandle h, const char* fn) {
  static const auto* valid = [] {
    auto* s = new std::unordered_set<const void*>();
    for (auto& n : OpRegistry::Get()->Names()) s->insert(OpRegistry::Get()->Find(n));
    return s;
  }();
  AX_CHECK(h != nullptr, AX_ERR_INVALID_ARGUMENT, fn, ": op handle is NULL");
  AX_CHECK(valid->count(h), AX_ERR_INVALID_HANDLE, fn, ": not an op handle");
  return reinterpret_cast<const OpDef*>(h);
}

std::vector<std::pair<std::string, std::string>> ParamDict(int n, const char* const* keys, const char* const* vals,
                                                           const char* fn, const char* count_name) {
  CheckArrayArg(keys, n, fn, "keys", count_name);
  CheckArrayArg(vals, n, fn, "vals", count_name);
  std::vector<std::pair<std::string, std::string>> d;
  d.reserve(n);
  for (int i = 0; i < n; ++i) {
    AX_CHECK(keys[i], AX_ERR_INVALID_ARGUMENT, fn, ": keys[", i, "] is NULL");
    AX_CHECK(vals[i], AX_ERR_INVALID_ARGUMENT, fn, ": vals[", i, "] ('", keys[i], "') is NULL");
    d.emplace_back(keys[i], vals[i]);
  }
  return d;
}

}  // namespace axle

namespace {

// Static C views of an op's description, built once per op.
struct OpInfo {
  std::vector<const char*> inputs, names, types, docs;
  std::vector<std::string> type_strs;
};

const OpInfo& InfoOf(const OpDef* op) {
  static std::mutex mu;
  static auto* cache = new std::unordered_map<const OpDef*, OpInfo*>();
  std::lock_guard<std::mutex> lk(mu);
  auto& info = (*cache)[op];
  if (!info) {
    info = new OpInfo();
    for (auto& n : op->input_names) info->inputs.push_back(n.c_str());
    info->type_strs.reserve(op->params.fields.size());
    for (auto& f : op->params.fields) {
      info->names.push_back(f.name.c_str());
      info->type_strs.push_back(f.TypeString());
      info->docs.push_back(f.doc.c_str());
    }
    for (auto& t : info->type_strs) info->types.push_back(t.c_str());
  }
  return *info;
}


thread_local std::vector<AxNDArrayHandle> invoke_outputs;

}  // namespace

extern "C" {

int AxListOps(int* out_num, const char*** out_names) {
  AX_API_BEGIN
  AX_CHECK_NOTNULL(out_num);
  AX_CHECK_NOTNULL(out_names);
  static const auto* names = [] {
    auto* v = new std::vector<const char*>();
    for (auto& n : OpRegistry::Get()->Names()) v->push_back(n.c_str());
    return v;
  }();
  *out_num = static_cast<int>(names->size());
  *out_names = const_cast<const char**>(names->data());
  AX_API_END
}

int AxGetOpHandle(const char* name, AxOpHandle* out) {
  AX_API_BEGIN
  AX_CHECK_NOTNULL(name);
  AX_CHECK_NOTNULL(out);
  const OpDef* op = OpRegistry::Get()->Find(name);
  AX_CHECK(op, AX_ERR_INVALID_ARGUMENT, "no operator named '", name, "'");
  *out = reinterpret_cast<AxOpHandle>(const_cast<OpDef*>(op));
  AX_API_END
}

int AxOpGetInfo(AxOpHandle h, const char** name, const char** doc, int* num_inputs, const char*** input_names,
                int* num_params, const char*** param_names, const char*** param_types, const char*** param_docs,
                const char** key_var_num_args) {
  AX_API_BEGIN
  const OpDef* op = CheckOp(h, "AxOpGetInfo");
  AX_CHECK_NOTNULL(name);
  AX_CHECK_NOTNULL(doc);
  AX_CHECK_NOTNULL(num_inputs);
  AX_CHECK_NOTNULL(input_names);
  AX_CHECK_NOTNULL(num_params);
  AX_CHECK_NOTNULL(param_names);
  AX_CHECK_NOTNULL(param_types);
  AX_CHECK_NOTNULL(param_docs);
  AX_CHECK_NOTNULL(key_var_num_args);
  const OpInfo& info = InfoOf(op);
  *name = op->name.c_str();
  *doc = op->doc.c_str();
  *num_inputs = op->key_var_num_args.empty() ? static_cast<int>(info.inputs.size()) : -1;
  *input_names = const_cast<const char**>(info.inputs.data());
  *num_params = static_cast<int>(info.names.size());
  *param_names = const_cast<const char**>(info.names.data());
  *param_types = const_cast<const char**>(info.types.data());
  *param_docs = const_cast<const char**>(info.docs.data());
  *key_var_num_args = op->key_var_num_args.c_str();
  AX_API_END
}

int AxOpGetNumOutputs(AxOpHandle h, int num_params, const char* const* keys, const char* const* vals, int* out) {
  AX_API_BEGIN
  const OpDef* op = CheckOp(h, "AxOpGetNumOutputs");
  AX_CHECK_NOTNULL(out);
  NodeAttrs attrs = ParseAttrs(op, ParamDict(num_params, keys, vals, "AxOpGetNumOutputs"));
  *out = op->num_outputs(attrs);
  AX_API_END
}

namespace {
// The parsed attributes of an imperative call. A loop calls the same ops with the same attributes
// again and again (a layer's FullyConnected, an optimizer's update): each thread keeps the last
// few parses and reuses one whose op and strings are equal (parsing is a pure function of them).
std::shared_ptr<const NodeAttrs> InvokeAttrs(const OpDef* op, int n, const char* const* keys,
                                             const char* const* vals) {
  struct Entry {
    const OpDef* op = nullptr;
    std::vector<std::pair<std::string, std::string>> dict;
    std::shared_ptr<const NodeAttrs> attrs;
  };
  constexpr int kEntries = 16;
  thread_local Entry cache[kEntries];
  thread_local int next = 0;
  bool plain = n >= 0 && (n == 0 || (keys && vals));
  for (int i = 0; plain && i < n; ++i) plain = keys[i] && vals[i];
  if (plain) {
    for (const Entry& e : cache) {
      if (e.op != op || e.dict.size() != static_cast<size_t>(n)) continue;
      int i = 0;
      while (i < n && e.dict[i].first == keys[i] && e.dict[i].second == vals[i]) ++i;
      if (i == n) return e.attrs;
    }
  }
  // a miss (or NULL strings, which ParamDict reports)
  auto attrs = std::make_shared<const NodeAttrs>(ParseAttrs(op, ParamDict(n, keys, vals, op->name.c_str())));
  Entry& e = cache[next];
  next = (next + 1) % kEntries;
  e.op = op;
  e.dict = attrs->dict;
  e.attrs = attrs;
  return attrs;
}
}  // namespace

int AxImperativeInvoke(AxOpHandle h, int num_inputs, const AxNDArrayHandle* inputs, int* num_outputs,
                       AxNDArrayHandle** outputs, int num_params, const char* const* keys, const char* const* vals) {
  AX_API_BEGIN
  const OpDef* op = CheckOp(h, "AxImperativeInvoke");
  AX_CHECK_NOTNULL(num_outputs);
  AX_CHECK_NOTNULL(outputs);
  CheckArrayArg(inputs, num_inputs, op->name.c_str(), "inputs", "num_inputs");
  std::shared_ptr<const NodeAttrs> shared = InvokeAttrs(op, num_params, keys, vals);
  const NodeAttrs& attrs = *shared;
  std::vector<NDArray> in;
  in.reserve(num_inputs);
  for (int i = 0; i < num_inputs; ++i) in.push_back(ArrItem(inputs[i], op->name.c_str(), "inputs", i));
  std::vector<NDArray> out;
  const bool given = *outputs != nullptr;
  if (given) {
    AX_CHECK(*num_outputs > 0, AX_ERR_INVALID_ARGUMENT, op->name, ": expected ", op->NumVisibleOutputs(attrs),
             " output array(s), got ", *num_outputs);
    for (int i = 0; i < *num_outputs; ++i) out.push_back(ArrItem((*outputs)[i], op->name.c_str(), "outputs", i));
  }
  const int n_visible = op->NumVisibleOutputs(attrs);
  Invoke(std::move(shared), in, &out);
  if (!given) {
    // Only the visible outputs are returned (BatchNorm's mean/var stay hidden, as in MXNet).
    out.resize(n_visible);
    invoke_outputs.clear();
    for (auto& a : out) invoke_outputs.push_back(NewHandle(std::move(a)));
    *num_outputs = static_cast<int>(invoke_outputs.size());
    *outputs = invoke_outputs.data();
  }
  AX_API_END
}

int AxOpGradient(AxOpHandle h, int num_inputs, const AxNDArrayHandle* inputs, int num_params, const char* const* keys,
                 const char* const* vals, int num_ograds, const AxNDArrayHandle* ograds, int* out_num,
                 AxNDArrayHandle** out_grads) {
  AX_API_BEGIN
  const OpDef* op = CheckOp(h, "AxOpGradient");
  AX_CHECK_NOTNULL(out_num);
  AX_CHECK_NOTNULL(out_grads);
  CheckArrayArg(inputs, num_inputs, "AxOpGradient", "inputs", "num_inputs");
  CheckArrayArg(ograds, num_ograds, "AxOpGradient", "ograds", "num_ograds");
  NodeAttrs attrs = ParseAttrs(op, ParamDict(num_params, keys, vals, "AxOpGradient"));
  std::vector<NDArray> in, og;
  for (int i = 0; i < num_inputs; ++i) in.push_back(ArrItem(inputs[i], "AxOpGradient", "inputs", i));
  for (int i = 0; i < num_ograds; ++i) og.push_back(ArrItem(ograds[i], "AxOpGradient", "ograds", i));
  struct TrainScope {
    bool prev = SetTraining(true);
    ~TrainScope() { SetTraining(prev); }
  } scope;
  std::vector<NDArray> g = OpGradient(attrs, in, og);
  invoke_outputs.clear();
  for (auto& a : g) invoke_outputs.push_back(NewHandle(std::move(a)));
  *out_num = static_cast<int>(invoke_outputs.size());
  *out_grads = invoke_outputs.data();
  AX_API_END
}

int AxSetIsTraining(int is_training, int* prev) {
  AX_API_BEGIN
  bool p = SetTraining(is_training != 0);
  if (prev) *prev = p ? 1 : 0;
  AX_API_END
}

}  // extern "C"
