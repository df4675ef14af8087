#include "engine/engine.h"

#include "common/backend.h"
#include "common/parallel.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <cstdlib>
#include <string>
#include <vector>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace axle {

// ---- GPU events --------------------------------------------------------------------------------
// An event recorded after a GPU op on its stream. Events are pooled per device: one goes back to
// its pool when no var (or freed block) holds it any more, and nobody can wait for that record.
struct GpuEvent {
  void* ev = nullptr;
  int dev = 0;
  const void* stream = nullptr;    // where it was recorded
  const char* op = "?";            // the op that recorded it (for error messages)
  std::atomic<bool> done{false};   // known finished (a host wait succeeded)
};
using EventPtr = std::shared_ptr<GpuEvent>;

struct DeviceWork {
  std::vector<EventPtr> events;
};

class EventPool {
 public:
  static EventPool* Get() {
    static EventPool* p = new EventPool();  // never destroyed: events may be released at exit
    return p;
  }
  // nullptr when the backend cannot create one
  EventPtr New(int dev) {
    GpuEvent* e = nullptr;
    {
      std::lock_guard<std::mutex> lk(mu_);
      auto& l = free_[dev];
      if (!l.empty()) {
        e = l.back();
        l.pop_back();
      }
    }
    if (!e) {
      void* h = GpuBackend()->event_create(dev);
      if (!h) return nullptr;
      e = new GpuEvent();
      e->ev = h;
      e->dev = dev;
    }
    e->done.store(false, std::memory_order_relaxed);
    return EventPtr(e, [this](GpuEvent* x) {
      std::lock_guard<std::mutex> lk(mu_);
      free_[x->dev].push_back(x);
    });
  }

 private:
  std::mutex mu_;
  std::map<int, std::vector<GpuEvent*>> free_;
};

// ---- vars and op blocks -----------------------------------------------------------------------
struct OprBlock;

class Var {
 public:
  std::mutex mu;
  struct Pending {
    OprBlock* opr;
    bool write;
  };
  // Ops waiting on this var, in push order: a vector consumed from `head` (most vars never
  // queue anything, and an empty vector costs no allocation).
  std::vector<Pending> queue;
  size_t head = 0;
  bool queue_empty() const { return head == queue.size(); }
  const Pending& front() const { return queue[head]; }
  void pop_front() {
    if (++head == queue.size()) {
      queue.clear();
      head = 0;
    }
  }
  int running_reads = 0;
  bool running_write = false;
  std::atomic<bool> has_error{false};  // lets ops skip the lock when no error is set
  bool is_resource = false;            // orders users of a resource (random state); never errs
  std::exception_ptr error;            // guarded by mu
  // Device work on the var's bytes that the engine has finished and the device may not have
  // (guarded by mu; has_events is false when both lists are empty, so CPU-only vars skip the lock).
  std::atomic<bool> has_events{false};
  std::vector<EventPtr> write_events;  // wrote the bytes: every later use waits for them
  std::vector<EventPtr> read_events;   // read them since: the next write waits for them
};

struct OprBlock {
  OpFn fn;
  Context ctx;
  std::vector<VarPtr> reads, writes;  // deduplicated; a var in both is only in writes
  const char* name;
  FnProperty prop = FnProperty::kNormal;
  bool always_run = false;  // waits run (and wake their caller) whatever their vars carry
  std::atomic<int> wait{0};
};

namespace {


// Removes null and repeated vars in place; a var both read and written stays a write only.
void Dedup(std::vector<VarPtr>* reads, std::vector<VarPtr>* writes) {
  auto keep_if = [](std::vector<VarPtr>* v, auto dup) {
    size_t n = 0;
    for (size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i] || dup((*v)[i], n, *v)) continue;
      if (n != i) (*v)[n] = std::move((*v)[i]);
      ++n;
    }
    v->resize(n);
  };
  auto seen_before = [](const VarPtr& x, size_t n, const std::vector<VarPtr>& v) {
    for (size_t j = 0; j < n; ++j)
      if (v[j] == x) return true;
    return false;
  };
  keep_if(writes, seen_before);
  keep_if(reads, [&](const VarPtr& x, size_t n, const std::vector<VarPtr>& v) {
    for (auto& w : *writes)
      if (w == x) return true;
    return seen_before(x, n, v);
  });
}

// Runs an op's function unless an input carries an error; returns the error it ends with.
std::exception_ptr RunOp(OprBlock* op, const RunContext& rctx) {
  for (auto* list : {&op->reads, &op->writes}) {
    for (auto& v : *list) {
      if (!v->has_error.load(std::memory_order_acquire)) continue;
      std::lock_guard<std::mutex> lk(v->mu);
      if (v->error) return v->error;
    }
  }
  try {
    op->fn(rctx);
  } catch (const Error& e) {
    return std::make_exception_ptr(Error(e.status(), StrCat("Error in operator ", op->name, ": ", e.what())));
  } catch (const std::bad_alloc&) {
    return std::make_exception_ptr(Error(AX_ERR_OUT_OF_MEMORY, StrCat("Error in operator ", op->name, ": out of memory")));
  } catch (const std::exception& e) {
    return std::make_exception_ptr(Error(AX_ERR_RUNTIME, StrCat("Error in operator ", op->name, ": ", e.what())));
  } catch (...) {
    return std::make_exception_ptr(Error(AX_ERR_RUNTIME, StrCat("Error in operator ", op->name, ": unknown exception")));
  }
  return nullptr;
}

// ---- device work: waiting for events, recording them -------------------------------------------
std::exception_ptr DeviceError(const char* op, const char* msg) {
  return std::make_exception_ptr(Error(AX_ERR_RUNTIME, StrCat("Error in operator ", op, ": ", msg)));
}

// Adds the unfinished events of a var to *out (the write events; the read events too when
// `write`), dropping finished ones from the var on the way.
void CollectVar(Var* v, bool write, std::vector<EventPtr>* out) {
  if (!v->has_events.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lk(v->mu);
  auto take = [out](std::vector<EventPtr>* l) {
    size_t n = 0;
    for (auto& e : *l) {
      if (e->done.load(std::memory_order_acquire)) continue;
      if (std::find(out->begin(), out->end(), e) == out->end()) out->push_back(e);
      (*l)[n++] = std::move(e);
    }
    l->resize(n);
  };
  take(&v->write_events);
  if (write) take(&v->read_events);
  if (v->write_events.empty() && v->read_events.empty()) v->has_events.store(false, std::memory_order_release);
}

// The device work an op must follow: its reads' writers, its writes' writers and readers.
std::vector<EventPtr> CollectOp(const OprBlock* op) {
  std::vector<EventPtr> evs;
  for (auto& v : op->reads) CollectVar(v.get(), false, &evs);
  for (auto& v : op->writes) CollectVar(v.get(), true, &evs);
  return evs;
}

// Blocks the host until the events' work has finished.
std::exception_ptr HostWait(const std::vector<EventPtr>& evs) {
  for (auto& e : evs) {
    if (e->done.load(std::memory_order_acquire)) continue;
    if (const char* err = GpuBackend()->event_sync(e->ev)) return DeviceError(e->op, err);
    e->done.store(true, std::memory_order_release);
  }
  return nullptr;
}

// Makes work queued on stream from now on wait for the events (those of this stream are earlier
// in its own order already).
std::exception_ptr StreamWait(void* stream, const std::vector<EventPtr>& evs) {
  for (auto& e : evs) {
    if (e->stream == stream || e->done.load(std::memory_order_acquire)) continue;
    if (const char* err = GpuBackend()->stream_wait_event(stream, e->ev)) return DeviceError(e->op, err);
  }
  return nullptr;
}

// Keeps ev (recorded after op on its stream) in op's vars: it is the only write event of what
// op wrote (op's stream waited for everything before), and a read event of what it read
// (replacing older events of the same stream, which it follows).
void AttachEvent(const OprBlock* op, const EventPtr& ev) {
  for (auto& v : op->reads) {
    std::lock_guard<std::mutex> lk(v->mu);
    auto& r = v->read_events;
    r.erase(std::remove_if(r.begin(), r.end(),
                           [&](const EventPtr& e) { return e->stream == ev->stream || e->done.load(); }),
            r.end());
    r.push_back(ev);
    v->has_events.store(true, std::memory_order_release);
  }
  for (auto& v : op->writes) {
    std::lock_guard<std::mutex> lk(v->mu);
    v->write_events.assign(1, ev);
    v->read_events.clear();
    v->has_events.store(true, std::memory_order_release);
  }
}

// A GPU stream of the engine; all of them are listed so that WaitAll can finish them.
struct DeviceStream {
  void* handle;  // nullptr when the backend could not make one (ops then wait for the device)
  Context ctx;
  std::atomic<const char*> last_op{"?"};  // the last op recorded there (for error messages)
};
std::mutex g_streams_mu;
std::vector<DeviceStream*> g_streams;  // never freed: streams live as long as the process

// The calling thread's stream for a GPU context and kind of work (made on first use), nullptr
// on the CPU.
DeviceStream* StreamFor(const Context& ctx, FnProperty prop) {
  if (ctx.dev_type != AX_GPU) return nullptr;
  const DeviceBackend* gpu = GpuBackend();
  if (!gpu) return nullptr;
  thread_local std::map<std::pair<int, bool>, DeviceStream*> streams;
  DeviceStream*& s = streams[{ctx.dev_id, prop == FnProperty::kCopy}];
  if (!s) {
    s = new DeviceStream{gpu->stream_create(ctx.dev_id), ctx};
    std::lock_guard<std::mutex> lk(g_streams_mu);
    g_streams.push_back(s);
  }
  return s;
}

// Finishes every engine stream; the first error found, naming the last op queued on its stream.
std::exception_ptr SyncAllStreams() {
  std::vector<DeviceStream*> all;
  {
    std::lock_guard<std::mutex> lk(g_streams_mu);
    all = g_streams;
  }
  std::exception_ptr first;
  for (DeviceStream* s : all) {
    if (!s->handle) continue;
    if (const char* err = GpuBackend()->stream_sync(s->handle))
      if (!first)
        first = std::make_exception_ptr(Error(AX_ERR_RUNTIME, StrCat("Error in operator ", s->last_op.load(), " on ",
                                                                     s->ctx.str(), ": ", err)));
  }
  return first;
}

// A blocking wait used by WaitToRead/WaitToWrite.
struct Signal {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  void Set() {
    std::lock_guard<std::mutex> lk(mu);
    done = true;
    cv.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lk(mu);
    cv.wait(lk, [this] { return done; });
  }
};

// ---- the engine base: errors, pending count ----------------------------------------------------
class EngineBase : public Engine {
 public:
  VarPtr NewVar() override { return std::make_shared<Var>(); }
  VarPtr NewResourceVar() override {
    auto v = std::make_shared<Var>();
    v->is_resource = true;
    return v;
  }

  void Push(OpFn fn, const Context& ctx, std::vector<VarPtr> reads, std::vector<VarPtr> writes,
            const char* name, FnProperty prop) final {
    Push(std::move(fn), ctx, std::move(reads), std::move(writes), name, prop, false);
  }
  void PushSmall(OpFn fn, const Context& ctx, std::vector<VarPtr> reads, std::vector<VarPtr> writes,
                 const char* name) final {
    Push(std::move(fn), ctx, std::move(reads), std::move(writes), name, FnProperty::kNormal, false,
         ctx.dev_type == AX_CPU);
  }
  void WaitToRead(const VarPtr& v) override { WaitVar(v, false); }
  void WaitToWrite(const VarPtr& v) override { WaitVar(v, true); }
  void WaitToWriteOnStream(const VarPtr& v, void* stream) override {
    WaitQueued(v, true);
    if (!stream) return;
    std::vector<EventPtr> evs;
    CollectVar(v.get(), true, &evs);
    if (auto d = StreamWait(stream, evs)) std::rethrow_exception(d);
  }
  bool HasPendingWork(const VarPtr& v) override {
    if (v->has_error.load(std::memory_order_acquire)) return false;
    std::lock_guard<std::mutex> lk(v->mu);
    return !v->queue_empty() || v->running_write || v->running_reads > 0;
  }
  DeviceWorkPtr DetachDeviceWork(const VarPtr& v) override {
    if (!v || !v->has_events.load(std::memory_order_acquire)) return nullptr;
    std::vector<EventPtr> evs;
    CollectVar(v.get(), true, &evs);
    {
      std::lock_guard<std::mutex> lk(v->mu);
      v->write_events.clear();
      v->read_events.clear();
      v->has_events.store(false, std::memory_order_release);
    }
    if (evs.empty()) return nullptr;
    auto w = std::make_shared<DeviceWork>();
    w->events = std::move(evs);
    return w;
  }
  void AttachDeviceWork(const VarPtr& v, DeviceWorkPtr work) override {
    if (!work || work->events.empty()) return;
    std::lock_guard<std::mutex> lk(v->mu);
    for (auto& e : work->events) v->write_events.push_back(e);
    v->has_events.store(true, std::memory_order_release);
  }

  void WaitAll() override {
    {
      std::unique_lock<std::mutex> lk(all_mu_);
      ++all_waiters_;
      all_cv_.wait(lk, [this] { return pending_.load() == 0; });
      --all_waiters_;
    }
    // every device's queued work too: a fault there is reported by every WaitAll while the
    // device carries it (CUDA's errors are sticky), after the engine's own errors
    std::exception_ptr device_error = SyncAllStreams();
    std::exception_ptr e;
    {
      std::lock_guard<std::mutex> lk(err_mu_);
      if (!unreported_.empty()) {
        e = unreported_.front();
        unreported_.erase(unreported_.begin());
        Reported(e);
      }
    }
    if (e) std::rethrow_exception(e);
    if (device_error) std::rethrow_exception(device_error);
  }

 protected:
  void WaitVar(const VarPtr& v, bool write) {
    WaitQueued(v, write);
    // then the device work the engine has finished but the device may not have
    std::vector<EventPtr> evs;
    CollectVar(v.get(), write, &evs);
    if (auto d = HostWait(evs)) std::rethrow_exception(d);
  }
  // Waits until the engine has run (for GPU ops: queued) every op before on v; rethrows v's error.
  void WaitQueued(const VarPtr& v, bool write) {
    bool idle;
    {
      // Nothing queued or running on the var (the common case of reading a finished result):
      // no need to push a wait op through a worker.
      std::lock_guard<std::mutex> lk(v->mu);
      idle = v->queue_empty() && !v->running_write && (!write || v->running_reads == 0);
    }
    if (!idle) {
      Signal s;
      std::vector<VarPtr> r, w;
      (write ? w : r).push_back(v);
      Push([&s](const RunContext&) { s.Set(); }, Context::CPU(), std::move(r), std::move(w), "WaitForVar",
           FnProperty::kNormal, true);
      s.Wait();
    }
    std::exception_ptr e;
    if (v->has_error.load(std::memory_order_acquire)) {
      std::lock_guard<std::mutex> lk(v->mu);
      std::swap(e, v->error);
      v->has_error.store(false, std::memory_order_release);
    }
    if (e) {
      ForgetGlobal(e);
      std::rethrow_exception(e);
    }
  }

  // always_run: the op runs even when an input carries an error (waits must wake up). run_here:
  // the pushing thread may run the op itself (PushSmall).
  virtual void Push(OpFn fn, const Context& ctx, std::vector<VarPtr> reads, std::vector<VarPtr> writes,
                    const char* name, FnProperty prop, bool always_run, bool run_here = false) = 0;

 public:
  // Waits for every pushed op without reporting errors (they stay for the next WaitAll).
  void Drain() {
    std::unique_lock<std::mutex> lk(all_mu_);
    ++all_waiters_;
    all_cv_.wait(lk, [this] { return pending_.load() == 0; });
    --all_waiters_;
  }
  virtual void AfterForkInChild() {}

 protected:

  // Records an op's error in the vars it writes and in the global slot.
  void Fail(OprBlock* op, std::exception_ptr e) {
    for (auto& v : op->writes) {
      if (v->is_resource) continue;
      std::lock_guard<std::mutex> lk(v->mu);
      v->error = e;
      v->has_error.store(true, std::memory_order_release);
    }
    std::lock_guard<std::mutex> lk(err_mu_);
    for (auto& x : unreported_)
      if (x == e) return;  // an error passed on to dependent ops is one error
    for (auto& x : reported_)
      if (x == e) return;  // ... and once reported, it is not news again
    if (unreported_.size() < kMaxUnreported) unreported_.push_back(e);
  }
  // An error reported by a var wait need not be reported again by WaitAll.
  void ForgetGlobal(const std::exception_ptr& e) {
    std::lock_guard<std::mutex> lk(err_mu_);
    Reported(e);
    for (size_t i = 0; i < unreported_.size(); ++i)
      if (unreported_[i] == e) {
        unreported_.erase(unreported_.begin() + i);
        return;
      }
  }
  // Remembers the last kMaxUnreported reported errors (callers hold err_mu_).
  void Reported(const std::exception_ptr& e) {
    for (auto& x : reported_)
      if (x == e) return;
    if (reported_.size() == kMaxUnreported) reported_.erase(reported_.begin());
    reported_.push_back(e);
  }
  void OpStarted() { pending_.fetch_add(1, std::memory_order_relaxed); }
  void OpFinished() {
    if (pending_.fetch_sub(1) == 1) {
      // Only a waiter needs the lock and the wake-up; a waiter registers under the lock before it
      // checks pending_, so reading all_waiters_ after our decrement cannot miss it.
      if (all_waiters_.load() > 0) {
        std::lock_guard<std::mutex> lk(all_mu_);
        all_cv_.notify_all();
      }
    }
  }

 private:
  std::atomic<int64_t> pending_{0};
  std::mutex all_mu_;
  std::condition_variable all_cv_;
  std::atomic<int> all_waiters_{0};
  std::mutex err_mu_;
  // Errors no wait has reported yet, oldest first; WaitAll reports one per call.
  static constexpr size_t kMaxUnreported = 64;
  std::vector<std::exception_ptr> unreported_;
  std::vector<std::exception_ptr> reported_;
};

// ---- NaiveEngine: runs at push ------------------------------------------------------------------
class NaiveEngine : public EngineBase {
 public:
  const char* Type() const override { return "NaiveEngine"; }

 protected:
  void Push(OpFn fn, const Context& ctx, std::vector<VarPtr> reads, std::vector<VarPtr> writes,
            const char* name, FnProperty prop, bool always_run, bool /*run_here: every op runs here*/) override {
    OprBlock op;
    op.fn = std::move(fn);
    op.ctx = ctx;
    op.reads = std::move(reads);
    op.writes = std::move(writes);
    op.name = name;
    Dedup(&op.reads, &op.writes);
    DeviceStream* ds = always_run ? nullptr : StreamFor(ctx, prop);
    RunContext rctx{ctx, ds ? ds->handle : nullptr};
    if (always_run) {
      op.fn(rctx);
      return;
    }
    std::exception_ptr e = RunOp(&op, rctx);
    // every op is finished at push, GPU ops included (no events): a kernel fault surfaces here
    if (!e && ds) {
      const char* err = ds->handle ? GpuBackend()->stream_sync(ds->handle) : nullptr;
      if (!ds->handle && GpuBackend()->synchronize) GpuBackend()->synchronize(ctx.dev_id);
      if (err) e = DeviceError(name, err);
    }
    if (e) Fail(&op, e);
  }
};

// ---- ThreadedEngine: per-var queues, a worker pool per device -----------------------------------
class WorkerPool {
 public:
  WorkerPool(int n, std::function<void(OprBlock*)> run) : run_(std::move(run)) {
    for (int i = 0; i < n; ++i) std::thread([this] { Loop(); }).detach();
  }
  void Submit(OprBlock* op) {
    std::lock_guard<std::mutex> lk(mu_);
    q_.push_back(op);
    size_.store(q_.size(), std::memory_order_relaxed);
    if (sleeping_ > 0) cv_.notify_one();
  }

 private:
  void Loop() {
    for (;;) {
      OprBlock* op = nullptr;
      {
        std::unique_lock<std::mutex> lk(mu_);
        while (q_.empty()) {
          lk.unlock();
          Spin();
          lk.lock();
          if (!q_.empty()) break;
          ++sleeping_;
          cv_.wait(lk);
          --sleeping_;
        }
        op = q_.front();
        q_.pop_front();
        size_.store(q_.size(), std::memory_order_relaxed);
      }
      run_(op);
    }
  }
  // Before sleeping, one worker at a time polls the queue for ~50 us: a stream of small ops
  // then costs neither a wake-up nor a second core taken from the thread that pushes them.
  void Spin() {
    if (spinners_.fetch_add(1) == 0) {
      auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(SpinMicros());
      while (!HasWork() && std::chrono::steady_clock::now() < until) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
    }
    spinners_.fetch_sub(1);
  }
  bool HasWork() const { return size_.load(std::memory_order_relaxed) > 0; }
  static int SpinMicros() {
    static const int us = EnvInt("AXLE_ENGINE_SPIN_US", 50, 0);
    return us;
  }
  std::function<void(OprBlock*)> run_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<OprBlock*> q_;
  std::atomic<size_t> size_{0};
  std::atomic<int> spinners_{0};
  int sleeping_ = 0;
};

class ThreadedEngine : public EngineBase {
 public:
  ThreadedEngine() : cpu_workers_(EnvInt("AXLE_CPU_WORKER_NTHREADS", 2)) {}
  const char* Type() const override { return "ThreadedEngine"; }

  // The child of a fork has none of the parent's threads: it gets new, empty pools (the old
  // ones are leaked, their threads do not exist there). Ops were drained before the fork.
  void AfterForkInChild() override {
    new (&pools_mu_) std::mutex();
    cpu_pool_.store(nullptr);
    gpu_pools_.clear();
  }


 protected:
  void Push(OpFn fn, const Context& ctx, std::vector<VarPtr> reads, std::vector<VarPtr> writes,
            const char* name, FnProperty prop, bool always_run, bool run_here) override {
    auto* op = new OprBlock();
    op->fn = std::move(fn);
    op->ctx = ctx;
    op->reads = std::move(reads);
    op->writes = std::move(writes);
    op->name = name;
    op->prop = ctx.dev_type == AX_GPU ? prop : FnProperty::kNormal;
    op->always_run = always_run;
    Dedup(&op->reads, &op->writes);
    OpStarted();
    // (waits do no work: a small op may overtake them, and the wait that woke this thread may
    // still be finishing on its worker)
    const int64_t working = always_run ? 0 : working_.fetch_add(1) + 1;
    op->wait.store(static_cast<int>(op->reads.size() + op->writes.size()) + 1);
    for (auto& v : op->reads) AppendRead(v.get(), op);
    for (auto& v : op->writes) AppendWrite(v.get(), op);
    if (op->wait.fetch_sub(1) != 1) return;  // it waits for earlier ops: a worker runs it later
    // Ready now. A small CPU op runs right here when no other op is in the engine (waits aside):
    // nothing queued or running that it could overtake, so ops keep their push order wherever a
    // single worker would have kept it.
    if (run_here && working == 1) {
      Execute(op);
    } else {
      Dispatch(op);
    }
  }

 private:
  void AppendRead(Var* v, OprBlock* op) {
    bool ready;
    {
      std::lock_guard<std::mutex> lk(v->mu);
      ready = !v->running_write && v->queue_empty();
      if (ready) ++v->running_reads;
      else v->queue.push_back({op, false});
    }
    if (ready) Decrement(op);
  }
  void AppendWrite(Var* v, OprBlock* op) {
    bool ready;
    {
      std::lock_guard<std::mutex> lk(v->mu);
      ready = !v->running_write && v->running_reads == 0 && v->queue_empty();
      if (ready) v->running_write = true;
      else v->queue.push_back({op, true});
    }
    if (ready) Decrement(op);
  }
  void CompleteRead(Var* v) {
    OprBlock* next = nullptr;
    {
      std::lock_guard<std::mutex> lk(v->mu);
      if (--v->running_reads == 0 && !v->queue_empty()) {
        // the head must be a write: reads behind no running write never queue
        next = v->front().opr;
        v->pop_front();
        v->running_write = true;
      }
    }
    if (next) Decrement(next);
  }
  void CompleteWrite(Var* v) {
    std::vector<OprBlock*> ready;
    {
      std::lock_guard<std::mutex> lk(v->mu);
      v->running_write = false;
      while (!v->queue_empty() && !v->front().write) {
        ready.push_back(v->front().opr);
        v->pop_front();
        ++v->running_reads;
      }
      if (v->running_reads == 0 && !v->queue_empty()) {
        ready.push_back(v->front().opr);
        v->pop_front();
        v->running_write = true;
      }
    }
    for (auto* op : ready) Decrement(op);
  }
  void Decrement(OprBlock* op) {
    if (op->wait.fetch_sub(1) == 1) Dispatch(op);
  }
  void Dispatch(OprBlock* op) { PoolFor(op->ctx, op->prop)->Submit(op); }

  WorkerPool* PoolFor(const Context& ctx, FnProperty prop) {
    // Waits and CPU ops share the CPU pool; each GPU gets two one-thread pools, for compute and
    // for copies, whose threads own that GPU's compute and copy streams (StreamFor).
    if (ctx.dev_type == AX_CPU) {
      WorkerPool* p = cpu_pool_.load(std::memory_order_acquire);
      if (p) return p;
      std::lock_guard<std::mutex> lk(pools_mu_);
      if (!cpu_pool_.load()) cpu_pool_.store(new WorkerPool(cpu_workers_, [this](OprBlock* op) { Execute(op); }));
      return cpu_pool_.load();
    }
    std::lock_guard<std::mutex> lk(pools_mu_);
    auto& p = gpu_pools_[{ctx.dev_id, prop == FnProperty::kCopy}];
    if (!p) p = new WorkerPool(1, [this](OprBlock* op) { Execute(op); });
    return p;
  }

  void Execute(OprBlock* op) {
    DeviceStream* ds = op->always_run ? nullptr : StreamFor(op->ctx, op->prop);
    RunContext rctx{op->ctx, ds ? ds->handle : nullptr};
    const bool trace = TraceEnabled();
    const int64_t t0 = trace ? TraceNow() : 0;
    if (op->always_run) {
      op->fn(rctx);
    } else if (ds && ds->handle) {
      RunOnStream(op, rctx, ds);
    } else {
      // the host (or a GPU without a stream of its own) waits for the device work first
      std::exception_ptr e = HostWait(CollectOp(op));
      if (!e) e = RunOp(op, rctx);
      if (!e && ds && GpuBackend()->synchronize) GpuBackend()->synchronize(op->ctx.dev_id);
      if (e) Fail(op, e);
    }
    if (trace) TraceSpan(op->name, t0, TraceNow());
    for (auto& v : op->reads) CompleteRead(v.get());
    for (auto& v : op->writes) CompleteWrite(v.get());
    if (!op->always_run) working_.fetch_sub(1);
    delete op;  // releases the vars and whatever fn captured (storage goes back to its pool)
    OpFinished();
  }

  // A GPU op: its stream waits for the work of other streams on its vars, its function queues
  // its kernels, and an event recorded after them goes to its vars. The stream waits happen even
  // when an input carries an error, so that the event also follows them (storage freed after a
  // failed op must not be reused before earlier work on it is done).
  void RunOnStream(OprBlock* op, const RunContext& rctx, DeviceStream* ds) {
    std::exception_ptr e = StreamWait(ds->handle, CollectOp(op));
    if (!e) e = RunOp(op, rctx);
    if (!op->reads.empty() || !op->writes.empty()) {
      EventPtr ev = EventPool::Get()->New(op->ctx.dev_id);
      const char* err = ev ? GpuBackend()->event_record(ev->ev, ds->handle) : nullptr;
      if (ev && !err) {
        ev->stream = ds->handle;
        ev->op = op->name;
        AttachEvent(op, ev);
      } else {
        // no event to wait for: finish the work here (a sticky error reports itself)
        if (!err) err = GpuBackend()->stream_sync(ds->handle);
        if (err && !e) e = DeviceError(op->name, err);
      }
    }
    ds->last_op.store(op->name, std::memory_order_relaxed);
    if (e) Fail(op, e);
  }

  int cpu_workers_;
  std::atomic<int64_t> working_{0};  // ops pushed and not finished, waits aside
  std::atomic<WorkerPool*> cpu_pool_{nullptr};
  std::mutex pools_mu_;
  std::map<std::pair<int, bool>, WorkerPool*> gpu_pools_;
};

}  // namespace

void WaitDeviceWork(const DeviceWorkPtr& work) {
  if (work) HostWait(work->events);
}

Engine* Engine::Get() {
  // Never destroyed: worker threads may still run while the process exits. At exit, pending
  // ops are drained first so that no op runs while the C++ runtime is being torn down.
  static Engine* engine = [] {
    const char* t = std::getenv("AXLE_ENGINE_TYPE");
    Engine* e = (t && std::string(t) == "NaiveEngine") ? static_cast<Engine*>(new NaiveEngine())
                                                       : static_cast<Engine*>(new ThreadedEngine());
    std::atexit([] {
      static_cast<EngineBase*>(Engine::Get())->Drain();
      TraceWrite();
    });
    // fork(): drain first so no worker holds a lock or an op, then rebuild the pools in the child.
    pthread_atfork([] { static_cast<EngineBase*>(Engine::Get())->Drain(); }, nullptr, [] {
      static_cast<EngineBase*>(Engine::Get())->AfterForkInChild();
      ResetParallelAfterFork();
    });
    return e;
  }();
  return engine;
}

}  // namespace axle
