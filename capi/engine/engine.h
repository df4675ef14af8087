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
// GPUs (ThreadedEngine): each GPU has a compute worker (one thread, one stream) and a copy worker
// (one thread, one stream) for copies between it and the host or another GPU. A GPU op does not
// wait for its kernels: when its function returns, an event is recorded on its stream and kept
// in the vars it read and wrote (device work the engine has finished but the device may not
// have), and the op completes in the engine at once. The next op on the same stream needs
// nothing more (stream order); an op on another stream makes its stream wait for the events of
// the vars it touches (a reader for the writes, a writer for the writes and the reads); a CPU op
// and a wait block the host on them. WaitAll also finishes every stream. A kernel fault found by
// such a wait surfaces there as an error naming the op that recorded the event. Storage freed
// while its device work is pending keeps that work (see DetachDeviceWork and storage.h).
//
// AXLE_ENGINE_TYPE=NaiveEngine runs each op synchronously at push (for debugging; GPU ops wait
// for their stream); AXLE_CPU_WORKER_NTHREADS sets the CPU worker count of the threaded engine
// (default 2).
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

// kCopy: a copy between a GPU and the host or another GPU; it runs on the GPU's copy stream,
// so it can overlap that GPU's compute. (Only meaningful for GPU contexts.)
enum class FnProperty { kNormal, kCopy };

// Device work (GPU events) that may still use some storage: what a var held when its storage
// was freed (engine.cc).
struct DeviceWork;
using DeviceWorkPtr = std::shared_ptr<DeviceWork>;
// Blocks the host until the work has finished (errors are ignored: the memory is free either way).
void WaitDeviceWork(const DeviceWorkPtr& work);

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
                    const char* name, FnProperty prop = FnProperty::kNormal) = 0;
  // Push for a cheap CPU op (an imperative call on small arrays): when no other op is in the
  // engine (waits aside), the pushing thread runs it before returning, which saves handing it to
  // a worker and waking the caller that waits for it (two thread wake-ups, ~10-100 us each on a
  // virtual machine). Its errors are kept for the wait point as for any op, and it waits for
  // device work on its vars like any CPU op. Otherwise, and on other devices, it is Push.
  virtual void PushSmall(OpFn fn, const Context& ctx, std::vector<VarPtr> reads, std::vector<VarPtr> writes,
                         const char* name) = 0;
  virtual void WaitToRead(const VarPtr& v) = 0;
  virtual void WaitToWrite(const VarPtr& v) = 0;
  // For a consumer outside the engine (DLPack's stream protocol): waits until the ops pending
  // on v are queued (rethrowing v's error), then makes `stream` (a stream of the GPU backend, not
  // one of the engine's) wait for v's device work, without blocking the host. nullptr: no device
  // wait at all (the consumer synchronises itself).
  virtual void WaitToWriteOnStream(const VarPtr& v, void* stream) = 0;
  virtual void WaitAll() = 0;
  // Whether ops are queued or running on v while it carries no unreported error (a wait to
  // write it now would wait for work, not report an error).
  virtual bool HasPendingWork(const VarPtr& v) = 0;
  // The device work still pending on v's bytes (nullptr when none), taken out of v: the storage
  // pool keeps it with the freed block and gives it to the var of the next array that reuses
  // the block (AttachDeviceWork), which then orders every use after it.
  virtual DeviceWorkPtr DetachDeviceWork(const VarPtr& v) = 0;
  virtual void AttachDeviceWork(const VarPtr& v, DeviceWorkPtr work) = 0;
  virtual const char* Type() const = 0;
};

// AXLE_ENGINE_TRACE: whether a trace is being recorded, and a way to add a span to it (a kernel's
// chunk on a helper thread). TraceNow() is the clock of the spans (nanoseconds).
bool TraceEnabled();
int64_t TraceNow();
void TraceSpan(const char* name, int64_t t0, int64_t t1);
// Writes the trace file (the engine calls it at exit, after draining its ops).
void TraceWrite();

}  // namespace axle
