// The dependency engine (MXNet's threaded engine model).
//
// Every array's storage owns a Var. An op is pushed with the vars it reads and the vars it
// writes. Per var, ops keep program order: reads may run together, a write runs alone after
// every earlier op on that var has finished. An op runs once all its vars let it through.
//
// Errors: an exception thrown by an op is stored in every var it writes (and in a global
// list); an op reading or writing a var that carries an error does not run and passes the
// error on. A wait on a var (WaitToRead/WaitToWrite) rethrows its error once and clears it;
// WaitAll rethrows the oldest error that no wait has reported yet (one per call).
//
// AXLE_ENGINE_TYPE=NaiveEngine runs each op synchronously at push (for debugging);
// AXLE_CPU_WORKER_NTHREADS sets the CPU worker count of the threaded engine (default 2).
#pragma once
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/base.h"

namespace axle {

class Var;
using VarPtr = std::shared_ptr<Var>;

struct RunContext {
  Context ctx;
  void* stream = nullptr;  // the device stream of the worker (GPU), nullptr on CPU
};

using OpFn = std::function<void(const RunContext&)>;

class Engine {
 public:
  static Engine* Get();  // the process-wide engine, never destroyed
  virtual ~Engine() = default;

  virtual VarPtr NewVar() = 0;
  // A var that orders the users of a shared resource (a random state): an op that fails
  // while writing it does not leave its error there.
  virtual VarPtr NewResourceVar() = 0;
  // Pushes fn; reads and writes may overlap (a var in both is a write) and repeat.
  // name is a static string used in error messages.
  virtual void Push(OpFn fn, const Context& ctx, std::vector<VarPtr> reads, std::vector<VarPtr> writes,
                    const char* name) = 0;
  // Push for a cheap CPU op (an imperative call on small arrays): when it is ready at once (no
  // earlier op queued or running on its vars) and no CPU op is waiting for a worker, the pushing
  // thread runs it before returning, which saves handing it to a worker and waking the caller
  // that waits for it (two thread wake-ups, ~10-100 us each). Its errors are kept for the wait
  // point as for any op. Otherwise, and on other devices, it is Push.
  virtual void PushSmall(OpFn fn, const Context& ctx, std::vector<VarPtr> reads, std::vector<VarPtr> writes,
                         const char* name) = 0;
  virtual void WaitToRead(const VarPtr& v) = 0;
  virtual void WaitToWrite(const VarPtr& v) = 0;
  virtual void WaitAll() = 0;
  // Whether ops are queued or running on v while it carries no unreported error (a wait to
  // write it now would wait for work, not report an error).
  virtual bool HasPendingWork(const VarPtr& v) = 0;
  virtual const char* Type() const = 0;
};

// AXLE_ENGINE_TRACE: whether a trace is being recorded, and a way to add a span to it (a kernel's
// chunk on a helper thread). TraceNow() is the clock of the spans (nanoseconds).
bool TraceEnabled();
int64_t TraceNow();
void TraceSpan(const char* name, int64_t t0, int64_t t1);

}  // namespace axle
