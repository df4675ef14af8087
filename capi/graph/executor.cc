#include "graph/executor.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <unordered_map>

#include "graph/gradient.h"
#include "ops/imperative.h"
#include "ops/random_state.h"

namespace axle {

// One kernel call of a pass, with its arrays and their blobs fixed at bind time.
struct ExecStep {
  NodeAttrs attrs;
  std::vector<NDArray> in, out;
  std::vector<TBlob> in_blobs, out_blobs;
  std::vector<OpReq> req;
  std::vector<VarPtr> reads, writes;  // the engine vars of in / of out and mutated inputs
};

// A pass (forward or backward): its steps and what the engine needs to push them, fixed at bind.
struct ExecPass {
  std::vector<ExecStep> steps;
  DeviceRandom* rnd = nullptr;         // the device's random state when a step draws from it
  std::vector<VarPtr> reads, writes;  // of all steps (the bulked push)
  void Finalize(const Context& ctx) {
    for (auto& s : steps)
      if (s.attrs.op->needs_random) {
        if (!rnd) rnd = GetDeviceRandom(ctx);
        s.writes.push_back(rnd->var);
      }
    for (auto& s : steps) {
      reads.insert(reads.end(), s.reads.begin(), s.reads.end());
      writes.insert(writes.end(), s.writes.begin(), s.writes.end());
    }
  }
};

namespace {

constexpr size_t kAlign = 64;

// An on/off switch from the environment: unset or empty is `fallback`, "0" is off.
bool EnvFlag(const char* name, bool fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::string(v) != "0";
}

size_t EntryBytes(const TShape& s, int dtype) {
  size_t b = static_cast<size_t>(s.Size()) * DTypeSize(dtype);
  return std::max(kAlign, (b + kAlign - 1) / kAlign * kAlign);
}

ExecStep MakeStep(NodeAttrs attrs, std::vector<NDArray> in, std::vector<NDArray> out, const Context& ctx) {
  const OpDef* op = attrs.op;
  const bool gpu = ctx.dev_type == AX_GPU;
  AX_CHECK(gpu ? op->compute_gpu : op->compute_cpu, AX_ERR_NOT_SUPPORTED, attrs.Who(), ": no kernel for ", ctx.str());
  ExecStep s;
  s.attrs = std::move(attrs);
  s.in = std::move(in);
  s.out = std::move(out);
  for (auto& a : s.in) s.in_blobs.push_back(a.blob());
  for (auto& a : s.out) s.out_blobs.push_back(a.blob());
  s.req.assign(s.out.size(), OpReq::kWrite);
  for (auto& a : s.in) s.reads.push_back(a.var());
  for (auto& a : s.out) s.writes.push_back(a.var());
  for (int m : op->mutate_inputs) s.writes.push_back(s.in.at(m).var());
  return s;
}

NodeAttrs Attrs(const char* op, const std::string& name) {
  return ParseAttrs(OpRegistry::Get()->Find(op), {}, name);
}

}  // namespace

GraphExecutor::GraphExecutor(const Symbol& sym, const Context& ctx, std::vector<NDArray> args,
                             std::vector<NDArray> grads, std::vector<OpReq> grad_req, std::vector<NDArray> aux,
                             const GraphExecutor* shared)
    : sym_(sym), ctx_(ctx), args_(std::move(args)), grads_(std::move(grads)), aux_(std::move(aux)),
      grad_req_(std::move(grad_req)) {
  bulk_ = EnvFlag("AXLE_EXEC_BULK", true);
  Build(shared);
}

GraphExecutor::~GraphExecutor() = default;

void GraphExecutor::Build(const GraphExecutor* shared) {
  AX_CHECK(!sym_.outputs.empty(), AX_ERR_INVALID_ARGUMENT, "bind: the symbol has no outputs");
  const IndexedGraph sg = IndexGraph(sym_.outputs);
  auto owner = NodeOwners(sym_.outputs, sg);
  std::vector<Node*> arg_nodes, aux_nodes;
  for (uint32_t i : sg.input_nodes) (sg.mutable_nodes.count(i) ? aux_nodes : arg_nodes).push_back(sg.nodes[i]);
  auto names = [](const std::vector<Node*>& v) {
    std::string s;
    for (auto* n : v) s += (s.empty() ? "" : ", ") + n->name();
    return s;
  };
  AX_CHECK(args_.size() == arg_nodes.size(), AX_ERR_INVALID_ARGUMENT, "bind: the symbol has ", arg_nodes.size(),
           " arguments (", names(arg_nodes), "), got ", args_.size(), " arrays");
  AX_CHECK(aux_.size() == aux_nodes.size(), AX_ERR_INVALID_ARGUMENT, "bind: the symbol has ", aux_nodes.size(),
           " auxiliary states (", names(aux_nodes), "), got ", aux_.size(), " arrays");
  if (grad_req_.empty()) grad_req_.assign(args_.size(), OpReq::kNull);
  AX_CHECK(grad_req_.size() == args_.size(), AX_ERR_INVALID_ARGUMENT, "bind: ", grad_req_.size(),
           " grad_req values for ", args_.size(), " arguments");
  grads_.resize(args_.size());

  std::unordered_map<const Node*, NDArray> var_arrays;
  std::unordered_map<std::string, TShape> known_shapes;
  std::unordered_map<std::string, int> known_types;
  auto bind_var = [&](Node* n, const NDArray& a, const char* what) {
    AX_CHECK(!a.is_none(), AX_ERR_INVALID_ARGUMENT, "bind: ", what, " '", n->name(), "' has no array");
    AX_CHECK(a.ctx() == ctx_, AX_ERR_INVALID_ARGUMENT, "bind: ", what, " '", n->name(), "' is on ", a.ctx().str(),
             ", the executor on ", ctx_.str());
    var_arrays[n] = a;
    known_shapes[n->name()] = a.shape();
    known_types[n->name()] = a.dtype();
  };
  for (size_t i = 0; i < arg_nodes.size(); ++i) bind_var(arg_nodes[i], args_[i], "argument");
  for (size_t i = 0; i < aux_nodes.size(); ++i) bind_var(aux_nodes[i], aux_[i], "auxiliary state");

  // heads' shapes and types come from the forward graph
  std::vector<TShape> fshapes = InferGraphShapes(sg, known_shapes);
  std::vector<int> ftypes = InferGraphTypes(sg, known_types);
  const auto& heads = sym_.outputs;
  std::vector<NodeEntry> head_grads;
  for (size_t i = 0; i < heads.size(); ++i) {
    const uint32_t e = sg.entry(heads[i]);
    AX_CHECK(fshapes[e].known(), AX_ERR_SHAPE, "bind: cannot infer the shape of output '", OutputName(heads[i]),
             "' (got ", fshapes[e].str(), ")");
    AX_CHECK(ftypes[e] >= 0, AX_ERR_TYPE, "bind: cannot infer the dtype of output '", OutputName(heads[i]), "'");
    NodePtr v = MakeVariable("__head_grad" + std::to_string(i) + "__");
    known_shapes[v->name()] = fshapes[e];
    known_types[v->name()] = ftypes[e];
    head_grads.push_back(Out(v));
    head_grad_bufs_.push_back(NDArray(fshapes[e], ctx_, ftypes[e]));
    var_arrays[v.get()] = head_grad_bufs_.back();
  }

  // the gradient graph
  std::vector<NodeEntry> xs;
  std::vector<size_t> x_arg;
  for (size_t i = 0; i < args_.size(); ++i) {
    if (grad_req_[i] == OpReq::kNull) continue;
    AX_CHECK(grad_req_[i] == OpReq::kWrite || grad_req_[i] == OpReq::kAdd || grad_req_[i] == OpReq::kInplace,
             AX_ERR_INVALID_ARGUMENT, "bind: bad grad_req for '", arg_nodes[i]->name(), "'");
    if (grad_req_[i] == OpReq::kInplace) grad_req_[i] = OpReq::kWrite;
    const NDArray& g = grads_[i];
    AX_CHECK(!g.is_none(), AX_ERR_INVALID_ARGUMENT, "bind: argument '", arg_nodes[i]->name(),
             "' has grad_req write/add but no gradient array");
    AX_CHECK(g.shape() == args_[i].shape(), AX_ERR_SHAPE, "bind: gradient array of '", arg_nodes[i]->name(),
             "' has shape ", g.shape().str(), ", the argument ", args_[i].shape().str());
    AX_CHECK(g.ctx() == ctx_, AX_ERR_INVALID_ARGUMENT, "bind: gradient array of '", arg_nodes[i]->name(), "' is on ",
             g.ctx().str(), ", the executor on ", ctx_.str());
    xs.push_back(Out(owner.at(arg_nodes[i])));
    x_arg.push_back(i);
  }
  std::vector<NodeEntry> xgrads = xs.empty() ? std::vector<NodeEntry>() : Gradient(heads, head_grads, xs);
  std::vector<NodeEntry> all_heads = heads;
  for (auto& g : xgrads)
    if (g.node) all_heads.push_back(g);
  const IndexedGraph G = IndexGraph(all_heads);
  for (auto& hg : head_grads) head_grad_needed_.push_back(G.id.count(hg.node.get()) > 0);

  std::vector<TShape> shapes = InferGraphShapes(G, known_shapes);
  std::vector<int> types = InferGraphTypes(G, known_types);
  for (uint32_t k = 0; k < G.nodes.size(); ++k)
    for (uint32_t e = G.row_ptr[k]; e < G.row_ptr[k + 1]; ++e) {
      Node* n = G.nodes[k];
      std::string what = n->is_variable() ? n->name() : n->name() + " output " + std::to_string(e - G.row_ptr[k]);
      AX_CHECK(shapes[e].known(), AX_ERR_SHAPE, "bind: cannot infer the shape of ", what, " (got ", shapes[e].str(), ")");
      AX_CHECK(types[e] >= 0, AX_ERR_TYPE, "bind: cannot infer the dtype of ", what);
    }

  // schedule: forward nodes, then the gradient nodes, then the gradient outputs
  std::vector<uint32_t> fwd, bwd;
  for (uint32_t k = 0; k < G.nodes.size(); ++k) {
    if (G.nodes[k]->is_variable()) continue;
    (sg.id.count(G.nodes[k]) ? fwd : bwd).push_back(k);
  }
  const uint32_t n_entries = G.num_entries();
  std::vector<int> refcount(n_entries, 0);
  std::vector<bool> pinned(n_entries, false), donated(n_entries, false);
  std::vector<NDArray> external(n_entries);  // entries that live in a caller's array
  std::vector<bool> op_entry(n_entries, false);  // produced by an op (not a variable)
  for (uint32_t k = 0; k < G.nodes.size(); ++k)
    if (!G.nodes[k]->is_variable()) std::fill(op_entry.begin() + G.row_ptr[k], op_entry.begin() + G.row_ptr[k + 1], true);
  auto is_op_entry = [&](uint32_t e) { return op_entry[e]; };
  for (auto& h : heads) pinned[G.entry(h)] = true;
  for (uint32_t k : fwd)
    for (auto& e : G.nodes[k]->inputs) ++refcount[G.entry(e)];
  for (uint32_t k : bwd)
    for (auto& e : G.nodes[k]->inputs) ++refcount[G.entry(e)];
  // gradient outputs: write straight into the caller's gradient array when nothing else needs the entry
  enum class GradOut { kDirect, kCopy, kAdd, kZero, kNone };
  std::vector<GradOut> gout(xs.size(), GradOut::kNone);
  std::vector<uint32_t> gentry(xs.size(), 0);
  for (size_t j = 0; j < xs.size(); ++j) {
    const size_t i = x_arg[j];
    if (!xgrads[j].node) {
      gout[j] = grad_req_[i] == OpReq::kWrite ? GradOut::kZero : GradOut::kNone;
      continue;
    }
    const uint32_t e = G.entry(xgrads[j]);
    gentry[j] = e;
    if (grad_req_[i] == OpReq::kWrite && is_op_entry(e) && !pinned[e] && external[e].is_none() &&
        shapes[e] == grads_[i].shape() && types[e] == grads_[i].dtype()) {
      gout[j] = GradOut::kDirect;
      external[e] = grads_[i];
    } else {
      gout[j] = grad_req_[i] == OpReq::kWrite ? GradOut::kCopy : GradOut::kAdd;
      ++refcount[e];
    }
  }

  // the memory plan
  const bool plan = EnvFlag("AXLE_EXEC_PLAN_MEMORY", true);
  std::vector<int> sid(n_entries, -1);
  std::vector<size_t> block_bytes;
  std::multimap<size_t, int> free_blocks;  // bytes -> block
  auto alloc = [&](size_t bytes) -> int {
    if (plan && !free_blocks.empty()) {
      auto it = free_blocks.lower_bound(bytes);
      if (it == free_blocks.end()) --it;  // the largest free block, grown
      int b = it->second;
      free_blocks.erase(it);
      block_bytes[b] = std::max(block_bytes[b], bytes);
      return b;
    }
    block_bytes.push_back(bytes);
    return static_cast<int>(block_bytes.size()) - 1;
  };
  auto release = [&](uint32_t e) {
    if (plan && sid[e] >= 0 && !pinned[e] && !donated[e] && external[e].is_none())
      free_blocks.emplace(block_bytes[sid[e]], sid[e]);
  };
  for (uint32_t e = 0; e < n_entries; ++e)
    if (is_op_entry(e) && external[e].is_none()) {
      stats_.naive_bytes += static_cast<int64_t>(EntryBytes(shapes[e], types[e]));
      ++stats_.num_entries;
    }
  auto plan_node = [&](uint32_t k) {
    Node* n = G.nodes[k];
    const uint32_t base = G.row_ptr[k], n_out = G.row_ptr[k + 1] - base;
    std::vector<int> taken;
    std::vector<uint32_t> unused;
    for (uint32_t o = 0; o < n_out; ++o) {
      const uint32_t e = base + o;
      if (!external[e].is_none()) continue;
      const size_t bytes = EntryBytes(shapes[e], types[e]);
      if (plan) {
        for (auto& pr : n->attrs.op->inplace) {
          if (static_cast<uint32_t>(pr.second) != o || static_cast<size_t>(pr.first) >= n->inputs.size()) continue;
          const uint32_t ie = G.entry(n->inputs[pr.first]);
          if (!is_op_entry(ie) || pinned[ie] || donated[ie] || !external[ie].is_none() || refcount[ie] != 1 ||
              sid[ie] < 0 || EntryBytes(shapes[ie], types[ie]) != bytes || types[ie] != types[e] ||
              std::find(taken.begin(), taken.end(), sid[ie]) != taken.end())
            continue;
          sid[e] = sid[ie];
          donated[ie] = true;
          ++stats_.num_inplace;
          break;
        }
      }
      if (sid[e] < 0) sid[e] = alloc(bytes);
      taken.push_back(sid[e]);
      if (refcount[e] == 0 && !pinned[e]) unused.push_back(e);
    }
    for (auto& in : n->inputs) {
      const uint32_t ie = G.entry(in);
      if (is_op_entry(ie) && --refcount[ie] == 0) release(ie);
    }
    for (uint32_t e : unused) release(e);
  };
  for (uint32_t k : fwd) plan_node(k);
  for (uint32_t k : bwd) plan_node(k);

  // storage: one array per block (reusing a shared executor's blocks where they are large enough)
  for (size_t b = 0; b < block_bytes.size(); ++b) {
    if (shared && b < shared->blocks_.size() && shared->blocks_[b].chunk()->block.size >= block_bytes[b] &&
        shared->blocks_[b].ctx() == ctx_) {
      blocks_.push_back(shared->blocks_[b]);
    } else {
      blocks_.push_back(NDArray(TShape{static_cast<int64_t>(block_bytes[b])}, ctx_, AX_UINT8));
    }
    stats_.planned_bytes += static_cast<int64_t>(block_bytes[b]);
  }
  stats_.num_buffers = static_cast<int64_t>(block_bytes.size());
  std::vector<NDArray> data(n_entries);
  for (uint32_t k = 0; k < G.nodes.size(); ++k) {
    Node* n = G.nodes[k];
    const uint32_t base = G.row_ptr[k];
    if (n->is_variable()) {
      auto it = var_arrays.find(n);
      AX_CHECK(it != var_arrays.end(), AX_ERR_RUNTIME, "bind: variable '", n->name(), "' has no array");
      data[base] = it->second;
      continue;
    }
    for (uint32_t e = base; e < G.row_ptr[k + 1]; ++e)
      data[e] = !external[e].is_none() ? external[e] : blocks_[sid[e]].View(shapes[e], types[e]);
  }

  auto node_step = [&](uint32_t k) {
    Node* n = G.nodes[k];
    std::vector<NDArray> in, out;
    for (auto& e : n->inputs) in.push_back(data[G.entry(e)]);
    for (uint32_t e = G.row_ptr[k]; e < G.row_ptr[k + 1]; ++e) out.push_back(data[e]);
    return MakeStep(n->attrs, std::move(in), std::move(out), ctx_);
  };
  fwd_ = std::make_shared<ExecPass>();
  bwd_ = std::make_shared<ExecPass>();
  for (uint32_t k : fwd) fwd_->steps.push_back(node_step(k));
  for (uint32_t k : bwd) bwd_->steps.push_back(node_step(k));
  for (size_t j = 0; j < xs.size(); ++j) {
    const NDArray& g = grads_[x_arg[j]];
    const std::string gname = arg_nodes[x_arg[j]]->name() + "_grad";
    switch (gout[j]) {
      case GradOut::kCopy:
        bwd_->steps.push_back(MakeStep(Attrs("_copy", gname), {data[gentry[j]]}, {g}, ctx_));
        break;
      case GradOut::kAdd:
        bwd_->steps.push_back(MakeStep(Attrs("elemwise_add", gname), {g, data[gentry[j]]}, {g}, ctx_));
        break;
      case GradOut::kZero:
        bwd_->steps.push_back(MakeStep(Attrs("zeros_like", gname), {g}, {g}, ctx_));
        break;
      default:
        break;
    }
  }
  fwd_->Finalize(ctx_);
  bwd_->Finalize(ctx_);
  for (auto& h : heads) outputs_.push_back(data[G.entry(h)]);
  plan_str_ = StrCat("Total ", stats_.planned_bytes >> 20, " MB allocated\n", "Memory plan: ", stats_.planned_bytes,
                     " bytes in ", stats_.num_buffers, " buffers for ", stats_.num_entries, " entries (",
                     stats_.num_inplace, " in place); one buffer per entry would take ", stats_.naive_bytes,
                     " bytes\n");
}

void GraphExecutor::Run(const std::shared_ptr<ExecPass>& pass, bool is_train, const char* what) {
  if (pass->steps.empty()) return;
  const bool gpu = ctx_.dev_type == AX_GPU;
  DeviceRandom* rnd = pass->rnd;
  auto run_steps = [gpu, is_train, rnd](const RunContext& rctx, const ExecStep* b, const ExecStep* e) {
    OpContext octx;
    octx.run = rctx;
    octx.is_train = is_train;
    octx.rng = rnd ? &rnd->state : nullptr;
    const bool trace = TraceEnabled();
    for (const ExecStep* s = b; s != e; ++s) {
      const int64_t t0 = trace ? TraceNow() : 0;
      (gpu ? s->attrs.op->compute_gpu : s->attrs.op->compute_cpu)(octx, s->attrs, s->in_blobs, s->req, s->out_blobs);
      if (trace) TraceSpan(s->attrs.op->name.c_str(), t0, TraceNow());
    }
  };
  // the pushed work holds the pass (hence its arrays), so a freed executor's work stays valid
  if (bulk_) {
    const ExecStep* b = pass->steps.data();
    const ExecStep* e = b + pass->steps.size();
    Engine::Get()->Push([run_steps, b, e, hold = pass](const RunContext& rctx) { run_steps(rctx, b, e); }, ctx_,
                        pass->reads, pass->writes, what);
    return;
  }
  for (auto& s : pass->steps) {
    const ExecStep* b = &s;
    Engine::Get()->Push([run_steps, b, hold = pass](const RunContext& rctx) { run_steps(rctx, b, b + 1); }, ctx_,
                        s.reads, s.writes, s.attrs.op->name.c_str());
  }
}

void GraphExecutor::Forward(bool is_train) { Run(fwd_, is_train, "executor forward"); }

void GraphExecutor::Backward(const std::vector<NDArray>& ograds) {
  static const OpDef* copy_op = OpRegistry::Get()->Find("_copy");
  AX_CHECK(ograds.size() <= head_grad_needed_.size(), AX_ERR_INVALID_ARGUMENT, "backward: ", ograds.size(),
           " head gradients for ", head_grad_needed_.size(), " output(s)");
  for (size_t i = 0; i < head_grad_needed_.size(); ++i) {
    if (!head_grad_needed_[i]) continue;
    const std::string out_name = OutputName(sym_.outputs[i]);
    AX_CHECK(i < ograds.size() && !ograds[i].is_none(), AX_ERR_INVALID_ARGUMENT, "backward: output ", i, " ('",
             out_name, "') is not a loss, so its head gradient is required (pass out_grads)");
    AX_CHECK(ograds[i].shape() == head_grad_bufs_[i].shape(), AX_ERR_SHAPE, "backward: head gradient ", i, " ('",
             out_name, "') has shape ", ograds[i].shape().str(), ", the output ", head_grad_bufs_[i].shape().str());
    std::vector<NDArray> out{head_grad_bufs_[i]};
    Invoke(ParseAttrs(copy_op, {}), {ograds[i]}, &out);
  }
  Run(bwd_, true, "executor backward");
}

std::string GraphExecutor::DebugStr() const { return axle::DebugStr(sym_) + plan_str_; }

}  // namespace axle
