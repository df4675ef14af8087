// C API: symbols (construction, listing, attributes, inference, JSON) and executors.
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "c_api/c_api_common.h"
#include "graph/executor.h"
#include "graph/symbol.h"

struct AxSymbol_ {
  axle::Symbol sym;
};
struct AxExecutor_ {
  std::unique_ptr<axle::GraphExecutor> exec;
};

using namespace axle;  // NOLINT

namespace {

const Symbol& Sym(AxSymbolHandle h, const char* what) {
  Handles::Get()->Check(h, HandleKind::kSymbol, what);
  return h->sym;
}

const Symbol& SymItem(AxSymbolHandle h, const char* fn, const char* name, int i) {
  Handles::Get()->CheckItem(h, HandleKind::kSymbol, fn, name, i);
  return h->sym;
}

GraphExecutor& Exec(AxExecutorHandle h, const char* what) {
  Handles::Get()->Check(h, HandleKind::kExecutor, what);
  return *h->exec;
}

// Free functions: NULL is ignored, a dead or foreign handle sets the last error.
template <class H>
void FreeHandle(H h, HandleKind kind, const char* fn) {
  if (!h) return;
  try {
    if (Handles::Get()->Remove(h, kind)) delete h;
    else SetLastError(std::string(fn) + ": handle is not a live handle of its kind (freed twice?)");
  } catch (...) {
    HandleException();
  }
}

AxSymbolHandle NewSymbol(Symbol s) {
  auto* h = new AxSymbol_{std::move(s)};
  Handles::Get()->Add(h, HandleKind::kSymbol);
  return h;
}

void Inputs(int n, const char* const* keys, const AxSymbolHandle* syms, const char* fn, const char* name,
            const char* count_name, std::vector<Symbol>* args, std::vector<std::string>* names) {
  CheckArrayArg(syms, n, fn, name, count_name);
  for (int i = 0; i < n; ++i) {
    args->push_back(SymItem(syms[i], fn, name, i));
    names->push_back(keys && keys[i] ? keys[i] : "");
  }
}

// Thread-local storage for borrowed results.
struct Strings {
  std::vector<std::string> strs;
  std::vector<const char*> ptrs;
  const char** Publish(std::vector<std::string> v) {
    strs = std::move(v);
    ptrs.clear();
    for (auto& s : strs) ptrs.push_back(s.c_str());
    return ptrs.data();
  }
};
thread_local Strings tl_strings;
thread_local std::string tl_string;

struct ShapeList {
  std::vector<TShape> shapes;
  std::vector<int> ndim;
  std::vector<const int64_t*> dims;
  void Publish(std::vector<TShape> s, int* num, const int** nd, const int64_t* const** d) {
    shapes = std::move(s);
    ndim.clear();
    dims.clear();
    for (auto& x : shapes) {
      ndim.push_back(x.ndim());
      dims.push_back(x.data());
    }
    *num = static_cast<int>(shapes.size());
    *nd = ndim.data();
    *d = dims.data();
  }
};
thread_local ShapeList tl_shapes[3];
thread_local std::vector<int> tl_types[3];
thread_local std::vector<AxNDArrayHandle> tl_handles;
thread_local std::vector<int> tl_flags;

// Per-input-kind entries of a symbol's variables (arguments, outputs, aux) for inference results.
template <class T>
void SplitResults(const Symbol& sym, const IndexedGraph& g, const std::vector<T>& v, std::vector<T>* args,
                  std::vector<T>* outs, std::vector<T>* aux) {
  for (uint32_t i : g.input_nodes) (g.mutable_nodes.count(i) ? aux : args)->push_back(v[g.row_ptr[i]]);
  for (auto& e : sym.outputs) outs->push_back(v[g.entry(e)]);
}

}  // namespace

extern "C" {

int AxSymbolCreateVariable(const char* name, int num_attrs, const char* const* keys, const char* const* vals,
                           AxSymbolHandle* out) {
  AX_API_BEGIN
  AX_CHECK_NOTNULL(name);
  AX_CHECK_NOTNULL(out);
  AX_CHECK(name[0] != '\0', AX_ERR_INVALID_ARGUMENT, "AxSymbolCreateVariable: the name is empty");
  *out = NewSymbol(CreateVariable(name, ParamDict(num_attrs, keys, vals, "AxSymbolCreateVariable", "num_attrs")));
  AX_API_END
}

int AxSymbolCreateOp(AxOpHandle op, const char* name, int num_params, const char* const* keys,
                     const char* const* vals, int num_inputs, const char* const* input_keys,
                     const AxSymbolHandle* inputs, AxSymbolHandle* out) {
  AX_API_BEGIN
  const OpDef* def = CheckOp(op, "AxSymbolCreateOp");
  AX_CHECK_NOTNULL(name);
  AX_CHECK_NOTNULL(out);
  AX_CHECK(name[0] != '\0', AX_ERR_INVALID_ARGUMENT, "AxSymbolCreateOp: ", def->name, ": the node name is empty");
  std::vector<Symbol> args;
  std::vector<std::string> names;
  Inputs(num_inputs, input_keys, inputs, "AxSymbolCreateOp", "inputs", "num_inputs", &args, &names);
  *out = NewSymbol(CreateOpSymbol(def, name, ParamDict(num_params, keys, vals, "AxSymbolCreateOp"), args, names));
  AX_API_END
}

int AxSymbolCompose(AxSymbolHandle sym, int num_args, const char* const* keys, const AxSymbolHandle* args,
                    AxSymbolHandle* out) {
  AX_API_BEGIN
  const Symbol& s = Sym(sym, "AxSymbolCompose: sym");
  AX_CHECK_NOTNULL(out);
  std::vector<Symbol> a;
  std::vector<std::string> names;
  Inputs(num_args, keys, args, "AxSymbolCompose", "args", "num_args", &a, &names);
  *out = NewSymbol(Compose(s, a, names));
  AX_API_END
}

int AxSymbolCopy(AxSymbolHandle sym, AxSymbolHandle* out) {
  AX_API_BEGIN
  const Symbol& s = Sym(sym, "AxSymbolCopy: sym");
  AX_CHECK_NOTNULL(out);
  *out = NewSymbol(Copy(s));
  AX_API_END
}

void AxSymbolFree(AxSymbolHandle sym) { FreeHandle(sym, HandleKind::kSymbol, "AxSymbolFree"); }

int AxSymbolGroup(int num, const AxSymbolHandle* syms, AxSymbolHandle* out) {
  AX_API_BEGIN
  AX_CHECK_NOTNULL(out);
  CheckArrayArg(syms, num, "AxSymbolGroup", "syms", "num");
  AX_CHECK(num >= 1, AX_ERR_INVALID_ARGUMENT, "AxSymbolGroup: num is 0 (a group needs at least one symbol)");
  std::vector<Symbol> v;
  for (int i = 0; i < num; ++i) v.push_back(SymItem(syms[i], "AxSymbolGroup", "syms", i));
  *out = NewSymbol(Group(v));
  AX_API_END
}

int AxSymbolGetNumOutputs(AxSymbolHandle sym, int* out) {
  AX_API_BEGIN
  const Symbol& s = Sym(sym, "AxSymbolGetNumOutputs: sym");
  AX_CHECK_NOTNULL(out);
  *out = static_cast<int>(s.outputs.size());
  AX_API_END
}

int AxSymbolGetOutput(AxSymbolHandle sym, int index, AxSymbolHandle* out) {
  AX_API_BEGIN
  const Symbol& s = Sym(sym, "AxSymbolGetOutput: sym");
  AX_CHECK_NOTNULL(out);
  AX_CHECK(index >= 0, AX_ERR_INDEX, "AxSymbolGetOutput: negative index ", index);
  *out = NewSymbol(GetOutput(s, static_cast<size_t>(index)));
  AX_API_END
}

int AxSymbolGetInternals(AxSymbolHandle sym, AxSymbolHandle* out) {
  AX_API_BEGIN
  const Symbol& s = Sym(sym, "AxSymbolGetInternals: sym");
  AX_CHECK_NOTNULL(out);
  *out = NewSymbol(GetInternals(s));
  AX_API_END
}

int AxSymbolGetChildren(AxSymbolHandle sym, AxSymbolHandle* out) {
  AX_API_BEGIN
  const Symbol& s = Sym(sym, "AxSymbolGetChildren: sym");
  AX_CHECK_NOTNULL(out);
  Symbol c = GetChildren(s);
  *out = c.outputs.empty() ? nullptr : NewSymbol(std::move(c));
  AX_API_END
}

int AxSymbolListNames(AxSymbolHandle sym, int what, int* num, const char*** names) {
  AX_API_BEGIN
  const Symbol& s = Sym(sym, "AxSymbolListNames: sym");
  AX_CHECK_NOTNULL(num);
  AX_CHECK_NOTNULL(names);
  std::vector<std::string> v;
  switch (what) {
    case AX_SYM_ARGUMENTS: v = ListInputs(s, InputKind::kArguments); break;
    case AX_SYM_AUX_STATES: v = ListInputs(s, InputKind::kAuxiliary); break;
    case AX_SYM_INPUTS: v = ListInputs(s, InputKind::kAll); break;
    case AX_SYM_OUTPUTS: v = ListOutputs(s); break;
    default: Throw(AX_ERR_INVALID_ARGUMENT, "AxSymbolListNames: unknown list kind ", what);
  }
  *num = static_cast<int>(v.size());
  *names = tl_strings.Publish(std::move(v));
  AX_API_END
}

int AxSymbolGetName(AxSymbolHandle sym, const char** name, int* success) {
  AX_API_BEGIN
  const Symbol& s = Sym(sym, "AxSymbolGetName: sym");
  AX_CHECK_NOTNULL(name);
  AX_CHECK_NOTNULL(success);
  std::string n;
  *success = SingleNodeName(s, &n) && s.outputs.size() == 1 ? 1 : 0;
  tl_string = n;
  *name = tl_string.c_str();
  AX_API_END
}

int AxSymbolGetAttr(AxSymbolHandle sym, const char* key, const char** value, int* success) {
  AX_API_BEGIN
  const Symbol& s = Sym(sym, "AxSymbolGetAttr: sym");
  AX_CHECK_NOTNULL(key);
  AX_CHECK_NOTNULL(value);
  AX_CHECK_NOTNULL(success);
  std::string v;
  *success = GetAttr(s, key, &v) ? 1 : 0;
  tl_string = v;
  *value = tl_string.c_str();
  AX_API_END
}

int AxSymbolSetAttr(AxSymbolHandle sym, const char* key, const char* value) {
  AX_API_BEGIN
  const Symbol& s = Sym(sym, "AxSymbolSetAttr: sym");
  AX_CHECK_NOTNULL(key);
  AX_CHECK_NOTNULL(value);
  SetAttr(s, key, value);
  AX_API_END
}

int AxSymbolListAttr(AxSymbolHandle sym, int recursive, int* num, const char*** strs) {
  AX_API_BEGIN
  const Symbol& s = Sym(sym, "AxSymbolListAttr: sym");
  AX_CHECK_NOTNULL(num);
  AX_CHECK_NOTNULL(strs);
  std::vector<std::string> v;
  if (recursive) {
    for (auto& [node, dict] : AttrDict(s))
      for (auto& kv : dict) v.insert(v.end(), {node, kv.first, kv.second});
    *num = static_cast<int>(v.size() / 3);
  } else {
    for (auto& kv : ListAttrShallow(s)) v.insert(v.end(), {kv.first, kv.second});
    *num = static_cast<int>(v.size() / 2);
  }
  *strs = tl_strings.Publish(std::move(v));
  AX_API_END
}

int AxSymbolInferShape(AxSymbolHandle sym, int num_known, const char* const* keys, const int* ind_ptr,
                       const int64_t* shape_data, int* arg_num, const int** arg_ndim, const int64_t* const** arg_dims,
                       int* out_num, const int** out_ndim, const int64_t* const** out_dims, int* aux_num,
                       const int** aux_ndim, const int64_t* const** aux_dims, int* complete) {
  AX_API_BEGIN
  const Symbol& s = Sym(sym, "AxSymbolInferShape: sym");
  AX_CHECK_NOTNULL(arg_num);
  AX_CHECK_NOTNULL(arg_ndim);
  AX_CHECK_NOTNULL(arg_dims);
  AX_CHECK_NOTNULL(out_num);
  AX_CHECK_NOTNULL(out_ndim);
  AX_CHECK_NOTNULL(out_dims);
  AX_CHECK_NOTNULL(aux_num);
  AX_CHECK_NOTNULL(aux_ndim);
  AX_CHECK_NOTNULL(aux_dims);
  AX_CHECK_NOTNULL(complete);
  CheckArrayArg(keys, num_known, "AxSymbolInferShape", "keys", "num_known");
  CheckArrayArg(ind_ptr, num_known, "AxSymbolInferShape", "ind_ptr", "num_known");
  std::unordered_map<std::string, TShape> known;
  IndexedGraph g = IndexGraph(s.outputs);
  std::unordered_set<std::string> inputs;
  for (uint32_t i : g.input_nodes) inputs.insert(g.nodes[i]->name());
  for (int i = 0; i < num_known; ++i) {
    AX_CHECK(keys[i], AX_ERR_INVALID_ARGUMENT, "AxSymbolInferShape: keys[", i, "] is NULL");
    AX_CHECK(inputs.count(keys[i]), AX_ERR_INVALID_ARGUMENT, "infer_shape: the symbol has no input named '", keys[i],
             "'");
    const int nd = ind_ptr[i + 1] - ind_ptr[i];
    AX_CHECK(ind_ptr[i] >= 0 && nd >= 0, AX_ERR_INVALID_ARGUMENT, "AxSymbolInferShape: ind_ptr[", i, "..", i + 1,
             "] is [", ind_ptr[i], ", ", ind_ptr[i + 1], "), not a range");
    AX_CHECK(nd == 0 || shape_data, AX_ERR_INVALID_ARGUMENT, "AxSymbolInferShape: argument 'shape_data' is NULL");
    TShape::CheckNDim(nd);
    TShape t(nd);
    for (int d = 0; d < nd; ++d) {
      const int64_t v = shape_data[ind_ptr[i] + d];
      AX_CHECK(v >= -1, AX_ERR_SHAPE, "infer_shape: '", keys[i], "' has a negative dimension ", v);
      t[d] = v;
    }
    if (t.known()) CheckedSize(t, StrCat("infer_shape: '", keys[i], "'").c_str());
    known[keys[i]] = t;
  }
  std::vector<TShape> shapes = InferGraphShapes(g, known);
  std::vector<TShape> a, o, x;
  SplitResults(s, g, shapes, &a, &o, &x);
  bool all = true;
  for (auto* v : {&a, &o, &x})
    for (auto& t : *v) all &= t.known();
  *complete = all ? 1 : 0;
  tl_shapes[0].Publish(std::move(a), arg_num, arg_ndim, arg_dims);
  tl_shapes[1].Publish(std::move(o), out_num, out_ndim, out_dims);
  tl_shapes[2].Publish(std::move(x), aux_num, aux_ndim, aux_dims);
  AX_API_END
}

int AxSymbolInferType(AxSymbolHandle sym, int num_known, const char* const* keys, const int* dtypes, int* arg_num,
                      const int** arg_types, int* out_num, const int** out_types, int* aux_num, const int** aux_types,
                      int* complete) {
  AX_API_BEGIN
  const Symbol& s = Sym(sym, "AxSymbolInferType: sym");
  AX_CHECK_NOTNULL(arg_num);
  AX_CHECK_NOTNULL(arg_types);
  AX_CHECK_NOTNULL(out_num);
  AX_CHECK_NOTNULL(out_types);
  AX_CHECK_NOTNULL(aux_num);
  AX_CHECK_NOTNULL(aux_types);
  AX_CHECK_NOTNULL(complete);
  CheckArrayArg(keys, num_known, "AxSymbolInferType", "keys", "num_known");
  CheckArrayArg(dtypes, num_known, "AxSymbolInferType", "dtypes", "num_known");
  IndexedGraph g = IndexGraph(s.outputs);
  std::unordered_set<std::string> inputs;
  for (uint32_t i : g.input_nodes) inputs.insert(g.nodes[i]->name());
  std::unordered_map<std::string, int> known;
  for (int i = 0; i < num_known; ++i) {
    AX_CHECK(keys[i], AX_ERR_INVALID_ARGUMENT, "AxSymbolInferType: keys[", i, "] is NULL");
    AX_CHECK(inputs.count(keys[i]), AX_ERR_INVALID_ARGUMENT, "infer_type: the symbol has no input named '", keys[i],
             "'");
    DTypeSize(dtypes[i]);  // validates
    known[keys[i]] = dtypes[i];
  }
  std::vector<int> types = InferGraphTypes(g, known);
  for (int k = 0; k < 3; ++k) tl_types[k].clear();
  SplitResults(s, g, types, &tl_types[0], &tl_types[1], &tl_types[2]);
  bool all = true;
  for (auto& v : tl_types)
    for (int t : v) all &= t >= 0;
  *complete = all ? 1 : 0;
  *arg_num = static_cast<int>(tl_types[0].size());
  *arg_types = tl_types[0].data();
  *out_num = static_cast<int>(tl_types[1].size());
  *out_types = tl_types[1].data();
  *aux_num = static_cast<int>(tl_types[2].size());
  *aux_types = tl_types[2].data();
  AX_API_END
}

int AxSymbolSaveToJSON(AxSymbolHandle sym, const char** out_json) {
  AX_API_BEGIN
  const Symbol& s = Sym(sym, "AxSymbolSaveToJSON: sym");
  AX_CHECK_NOTNULL(out_json);
  tl_string = ToJSON(s);
  *out_json = tl_string.c_str();
  AX_API_END
}

int AxSymbolCreateFromJSON(const char* json, AxSymbolHandle* out) {
  AX_API_BEGIN
  AX_CHECK_NOTNULL(json);
  AX_CHECK_NOTNULL(out);
  *out = NewSymbol(FromJSON(json));
  AX_API_END
}

int AxSymbolSaveToFile(AxSymbolHandle sym, const char* path) {
  AX_API_BEGIN
  const Symbol& s = Sym(sym, "AxSymbolSaveToFile: sym");
  AX_CHECK_NOTNULL(path);
  std::string text = ToJSON(s);
  // write to a temporary file first, so a failed save never destroys an existing file
  std::string tmp = std::string(path) + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    AX_CHECK(f, AX_ERR_IO, "symbol save: cannot open '", path, "' for writing");
    f << text;
    f.flush();
    AX_CHECK(f, AX_ERR_IO, "symbol save: writing '", path, "' failed");
  }
  AX_CHECK(std::rename(tmp.c_str(), path) == 0, AX_ERR_IO, "symbol save: cannot move the file into place at '", path,
           "'");
  AX_API_END
}

int AxSymbolCreateFromFile(const char* path, AxSymbolHandle* out) {
  AX_API_BEGIN
  AX_CHECK_NOTNULL(path);
  AX_CHECK_NOTNULL(out);
  std::ifstream f(path, std::ios::binary);
  AX_CHECK(f, AX_ERR_IO, "symbol load: cannot open '", path, "'");
  std::stringstream ss;
  ss << f.rdbuf();
  try {
    *out = NewSymbol(FromJSON(ss.str()));
  } catch (const Error& e) {
    throw Error(e.status(), std::string(path) + ": " + e.what());
  }
  AX_API_END
}

int AxSymbolPrint(AxSymbolHandle sym, const char** out) {
  AX_API_BEGIN
  const Symbol& s = Sym(sym, "AxSymbolPrint: sym");
  AX_CHECK_NOTNULL(out);
  tl_string = DebugStr(s);
  *out = tl_string.c_str();
  AX_API_END
}

int AxExecutorBind(AxSymbolHandle sym, int dev_type, int dev_id, int num_args, const AxNDArrayHandle* args,
                   const AxNDArrayHandle* arg_grads, const int* grad_reqs, int num_aux,
                   const AxNDArrayHandle* aux_states, AxExecutorHandle shared_exec, AxExecutorHandle* out) {
  AX_API_BEGIN
  const Symbol& s = Sym(sym, "AxExecutorBind: sym");
  AX_CHECK_NOTNULL(out);
  Context ctx{dev_type, dev_id};
  CheckContext(ctx);
  CheckArrayArg(args, num_args, "AxExecutorBind", "args", "num_args");
  CheckArrayArg(aux_states, num_aux, "AxExecutorBind", "aux_states", "num_aux");
  std::vector<NDArray> a, g, x;
  std::vector<OpReq> req;
  for (int i = 0; i < num_args; ++i) {
    a.push_back(ArrItem(args[i], "AxExecutorBind", "args", i));
    const int r = grad_reqs ? grad_reqs[i] : AX_GRAD_NULL;
    AX_CHECK(r >= 0 && r <= 3, AX_ERR_INVALID_ARGUMENT, "AxExecutorBind: grad_reqs[", i, "] is ", r,
             ", not a grad_req code (0 null, 1 write, 2 inplace, 3 add)");
    req.push_back(static_cast<OpReq>(r));
    g.push_back(r != AX_GRAD_NULL && arg_grads && arg_grads[i] ? ArrItem(arg_grads[i], "AxExecutorBind", "arg_grads", i)
                                                                : NDArray());
  }
  for (int i = 0; i < num_aux; ++i) x.push_back(ArrItem(aux_states[i], "AxExecutorBind", "aux_states", i));
  const GraphExecutor* shared = shared_exec ? &Exec(shared_exec, "AxExecutorBind: shared_exec") : nullptr;
  auto* h = new AxExecutor_{std::make_unique<GraphExecutor>(s, ctx, std::move(a), std::move(g), std::move(req),
                                                            std::move(x), shared)};
  Handles::Get()->Add(h, HandleKind::kExecutor);
  *out = h;
  AX_API_END
}

int AxExecutorForward(AxExecutorHandle exec, int is_train) {
  AX_API_BEGIN
  Exec(exec, "AxExecutorForward: exec").Forward(is_train != 0);
  AX_API_END
}

int AxExecutorBackward(AxExecutorHandle exec, int num, const AxNDArrayHandle* head_grads) {
  AX_API_BEGIN
  GraphExecutor& e = Exec(exec, "AxExecutorBackward: exec");
  CheckArrayArg(head_grads, num, "AxExecutorBackward", "head_grads", "num");
  std::vector<NDArray> g;
  for (int i = 0; i < num; ++i)
    g.push_back(head_grads[i] ? ArrItem(head_grads[i], "AxExecutorBackward", "head_grads", i) : NDArray());
  e.Backward(g);
  AX_API_END
}

int AxExecutorOutputs(AxExecutorHandle exec, int* num, AxNDArrayHandle** outputs) {
  AX_API_BEGIN
  GraphExecutor& e = Exec(exec, "AxExecutorOutputs: exec");
  AX_CHECK_NOTNULL(num);
  AX_CHECK_NOTNULL(outputs);
  tl_handles.clear();
  for (auto& a : e.outputs()) tl_handles.push_back(NewHandle(a));
  *num = static_cast<int>(tl_handles.size());
  *outputs = tl_handles.data();
  AX_API_END
}

int AxExecutorHeadGradNeeded(AxExecutorHandle exec, int* num, const int** flags) {
  AX_API_BEGIN
  GraphExecutor& e = Exec(exec, "AxExecutorHeadGradNeeded: exec");
  AX_CHECK_NOTNULL(num);
  AX_CHECK_NOTNULL(flags);
  tl_flags.assign(e.head_grad_needed().begin(), e.head_grad_needed().end());
  *num = static_cast<int>(tl_flags.size());
  *flags = tl_flags.data();
  AX_API_END
}

int AxExecutorMemoryPlan(AxExecutorHandle exec, int64_t* planned_bytes, int64_t* naive_bytes, int64_t* num_buffers,
                         int64_t* num_entries, int64_t* num_inplace) {
  AX_API_BEGIN
  const MemoryPlanStats& s = Exec(exec, "AxExecutorMemoryPlan: exec").plan_stats();
  if (planned_bytes) *planned_bytes = s.planned_bytes;
  if (naive_bytes) *naive_bytes = s.naive_bytes;
  if (num_buffers) *num_buffers = s.num_buffers;
  if (num_entries) *num_entries = s.num_entries;
  if (num_inplace) *num_inplace = s.num_inplace;
  AX_API_END
}

int AxExecutorPrint(AxExecutorHandle exec, const char** out) {
  AX_API_BEGIN
  GraphExecutor& e = Exec(exec, "AxExecutorPrint: exec");
  AX_CHECK_NOTNULL(out);
  tl_string = e.DebugStr();
  *out = tl_string.c_str();
  AX_API_END
}

void AxExecutorFree(AxExecutorHandle exec) { FreeHandle(exec, HandleKind::kExecutor, "AxExecutorFree"); }

}  // extern "C"
