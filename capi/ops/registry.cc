#include "ops/registry.h"

namespace axle {

int OpDef::NumInputs(const NodeAttrs& attrs) const {
  if (num_inputs) return num_inputs(attrs);
  if (key_var_num_args.empty()) return static_cast<int>(input_names.size());
  for (auto& kv : attrs.dict)
    if (kv.first == key_var_num_args) {
      int n;
      if (ParseValue(kv.second, &n) && n >= 0) return n;
    }
  return -1;
}

OpRegistry* OpRegistry::Get() {
  static OpRegistry* r = new OpRegistry();
  return r;
}

OpDef& OpRegistry::Add(const std::string& name) {
  auto it = ops_.find(name);
  if (it != ops_.end()) return *it->second;
  auto* op = new OpDef();
  op->name = name;
  ops_[name] = op;
  names_.push_back(name);
  return *op;
}

void OpRegistry::Alias(const std::string& alias, const std::string& name) {
  auto it = ops_.find(name);
  if (it == ops_.end() || ops_.count(alias)) return;
  ops_[alias] = it->second;
  names_.push_back(alias);
}

const OpDef* OpRegistry::Find(const std::string& name) const {
  auto it = ops_.find(name);
  return it == ops_.end() ? nullptr : it->second;
}

namespace {
// MXNet's kHiddenKeys: attributes any node may carry ("lr_mult", "weight_lr_mult", ...).
bool IsUserAttr(const std::string& key) {
  for (const char* k : {"ctx_group", "lr_mult", "wd_mult", "force_mirroring", "mirror_stage", "profiler_scope"}) {
    const std::string h(k);
    if (key == h) return true;
    if (key.size() > h.size() + 1 && key.compare(key.size() - h.size() - 1, h.size() + 1, "_" + h) == 0) return true;
  }
  return false;
}
}  // namespace

NodeAttrs ParseAttrs(const OpDef* op, std::vector<std::pair<std::string, std::string>> dict,
                     const std::string& node_name) {
  NodeAttrs a;
  a.op = op;
  a.name = node_name;
  a.dict = std::move(dict);
  const ParamSchema& s = op->params;
  a.parsed = s.create ? s.create() : nullptr;
  std::vector<bool> seen(s.fields.size(), false);
  for (auto& kv : a.dict) {
    if (kv.first.rfind("__", 0) == 0) continue;  // graph hints such as __shape__
    if (IsUserAttr(kv.first)) continue;           // ctx_group, lr_mult, ... (MXNet keeps them beside params)
    if (kv.first == op->key_var_num_args && !s.create) continue;
    size_t i = 0;
    while (i < s.fields.size() && s.fields[i].name != kv.first) ++i;
    if (i == s.fields.size()) {
      std::string valid;
      for (auto& f : s.fields) valid += (valid.empty() ? "" : ", ") + f.name;
      Throw(AX_ERR_INVALID_ARGUMENT, a.Who(), ": unknown attribute '", kv.first, "'",
            valid.empty() ? std::string(" (the op takes none)") : " (valid: " + valid + ")");
    }
    std::string err = s.fields[i].parse(a.parsed.get(), kv.second);
    if (!err.empty()) Throw(AX_ERR_INVALID_ARGUMENT, a.Who(), ": invalid value for attribute '", kv.first, "': ", err);
    seen[i] = true;
  }
  for (size_t i = 0; i < s.fields.size(); ++i) {
    if (seen[i]) continue;
    AX_CHECK(!s.fields[i].required, AX_ERR_INVALID_ARGUMENT, a.Who(), ": required attribute '", s.fields[i].name,
             "' is missing");
    s.fields[i].set_default(a.parsed.get());
  }
  return a;
}

bool ShapeAssign(TShape* a, const TShape& b) {
  if (!b.ndim_known()) return true;
  if (!a->ndim_known()) {
    *a = b;
    return true;
  }
  if (a->ndim() != b.ndim()) return false;
  for (int i = 0; i < a->ndim(); ++i) {
    if ((*a)[i] < 0) (*a)[i] = b[i];
    else if (b[i] >= 0 && (*a)[i] != b[i]) return false;
  }
  return true;
}

std::string InputName(const NodeAttrs& attrs, size_t i) {
  const auto& names = attrs.op->input_names;
  return i < names.size() ? names[i] : StrCat("arg", i);
}

namespace {
std::string ArgName(const NodeAttrs& attrs, size_t i, size_t n_in) {
  return i < n_in ? "input '" + InputName(attrs, i) + "'" : StrCat("output ", i - n_in);
}
}  // namespace

void SameShape(const NodeAttrs& attrs, std::vector<TShape>* in, std::vector<TShape>* out) {
  TShape s;
  const size_t n_in = in->size(), n = n_in + out->size();
  for (size_t i = 0; i < n; ++i) {
    const TShape& x = i < n_in ? (*in)[i] : (*out)[i - n_in];
    if (!ShapeAssign(&s, x))
      Throw(AX_ERR_SHAPE, attrs.Who(), ": shape of ", ArgName(attrs, i, n_in), " ", x.str(), " does not match ", s.str());
  }
  for (auto& x : *in) x = s;
  for (auto& x : *out) x = s;
}

void SameType(const NodeAttrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  int t = -1;
  const size_t n_in = in->size(), n = n_in + out->size();
  for (size_t i = 0; i < n; ++i) {
    int x = i < n_in ? (*in)[i] : (*out)[i - n_in];
    if (x < 0) continue;
    if (t >= 0 && t != x)
      Throw(AX_ERR_TYPE, attrs.Who(), ": dtype of ", ArgName(attrs, i, n_in), " is ", DTypeName(x), ", expected ",
            DTypeName(t));
    t = x;
  }
  for (auto& x : *in) x = t;
  for (auto& x : *out) x = t;
}

}  // namespace axle
