// The graph executor: a symbol bound to arrays on one device, with its gradient graph, a
// memory plan for every intermediate entry, and forward/backward passes pushed to the engine.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "graph/symbol.h"

namespace axle {

struct ExecPass;

// The memory plan's numbers (bytes of intermediate storage; arguments, gradients and aux
// states are the caller's and not counted).
struct MemoryPlanStats {
  int64_t planned_bytes = 0;  // what the executor holds
  int64_t naive_bytes = 0;    // one buffer per entry
  int64_t num_buffers = 0;
  int64_t num_entries = 0;
  int64_t num_inplace = 0;  // outputs written over their input
};

class GraphExecutor {
 public:
  // args/aux in list_arguments/list_auxiliary_states order; grads: one per arg (none where
  // grad_req is kNull). shared: an executor whose buffers this one may reuse (never run both
  // at once).
  GraphExecutor(const Symbol& sym, const Context& ctx, std::vector<NDArray> args, std::vector<NDArray> grads,
                std::vector<OpReq> grad_req, std::vector<NDArray> aux, const GraphExecutor* shared);
  ~GraphExecutor();

  void Forward(bool is_train);
  // ograds: one per output; none where the output is a loss (its gradient reads no head gradient).
  void Backward(const std::vector<NDArray>& ograds);

  const std::vector<NDArray>& outputs() const { return outputs_; }
  const MemoryPlanStats& plan_stats() const { return stats_; }
  // Whether output i needs a head gradient in Backward.
  const std::vector<bool>& head_grad_needed() const { return head_grad_needed_; }
  std::string DebugStr() const;

 private:
  void Build(const GraphExecutor* shared);
  void Run(const std::shared_ptr<ExecPass>& pass, bool is_train, const char* what);

  Symbol sym_;
  Context ctx_;
  std::vector<NDArray> args_, grads_, aux_;
  std::vector<OpReq> grad_req_;
  std::vector<NDArray> outputs_;
  std::vector<NDArray> head_grad_bufs_;  // where Backward copies the given head gradients
  std::vector<bool> head_grad_needed_;
  // shared with pushed work, so a freed executor's passes live until that work is done
  std::shared_ptr<ExecPass> fwd_, bwd_;
  std::vector<NDArray> blocks_;  // the planned storage
  MemoryPlanStats stats_;
  bool bulk_ = true;
  std::string plan_str_;
};

}  // namespace axle
