// A fake GPU backend, for tests only (libaxle_fakegpu.so; libaxle loads it instead of
// libaxle_cuda.so when the test-only variable AXLE_TEST_GPU_BACKEND names it, common/backend.h).
//
// It lets the engine's streams, events and stream-ordered storage be tested on machines without
// a GPU, with the hazards of a real one made likely:
// - two devices; "device memory" is host memory (so the host could read it, but Axle must not
//   look without the engine's waits: nothing here makes that safe);
// - a stream is a host thread running queued work in order; every kernel first sleeps
//   AXLE_FAKE_GPU_DELAY_US (default 2000) microseconds and every asynchronous copy three times
//   that, so work the engine forgets to wait for is still pending when the host or another stream
//   looks, and wrong results show instead of luck;
// - events are real cross-thread events with CUDA's meaning: a wait or sync sees the record made
//   before it, later records of the event do not change it;
// - kernels (float32 only) are queued and their compute_gpu returns at once, like CUDA launches:
//   elemwise_add/mul and broadcast_add/mul (same shapes), _plus_scalar, _mul_scalar, _copy,
//   _zeros, _ones, _full, and _engine_rendezvous, whose kernel faults asynchronously: like a CUDA fault,
//   the error is sticky on its device (every later launch, record and sync there fails) until
//   the test calls axle_fakegpu_reset().
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/backend.h"
#include "ops/registry.h"

namespace {

using axle::Error;
using axle::OpContext;
using axle::OpReq;
using axle::TBlob;

constexpr int kDevices = 2;

int DelayUs() {
  static const int us = [] {
    const char* v = std::getenv("AXLE_FAKE_GPU_DELAY_US");
    return v ? std::atoi(v) : 2000;
  }();
  return us;
}

// The sticky error of each device ("" when healthy).
std::mutex g_mu;  // guards g_sticky, g_allocs, g_streams
std::string g_sticky[kDevices];
std::map<const char*, std::pair<size_t, int>> g_allocs;  // start -> (bytes, device)

std::string Sticky(int dev) {
  std::lock_guard<std::mutex> lk(g_mu);
  return g_sticky[dev];
}

// The device owning a fake device pointer, or -1 (host memory).
int DeviceOf(const void* p) {
  std::lock_guard<std::mutex> lk(g_mu);
  auto it = g_allocs.upper_bound(static_cast<const char*>(p));
  if (it == g_allocs.begin()) return -1;
  --it;
  return static_cast<const char*>(p) < it->first + it->second.first ? it->second.second : -1;
}

// ---- streams: a thread running queued tasks in order ---------------------------------------------
class Stream {
 public:
  explicit Stream(int dev) : dev_(dev) { std::thread([this] { Loop(); }).detach(); }
  int dev() const { return dev_; }
  // delay_us >= 0: a kernel or copy (delayed; skipped once the device has faulted); -1: a control
  // task (event signal or wait), run at once whatever happened
  void Enqueue(std::function<void()> fn, int delay_us) {
    std::lock_guard<std::mutex> lk(mu_);
    q_.push_back({std::move(fn), delay_us});
    cv_.notify_all();
  }
  void Sync() {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [this] { return q_.empty() && !busy_; });
  }

 private:
  struct Task {
    std::function<void()> fn;
    int delay_us;
  };
  void Loop() {
    for (;;) {
      Task t;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [this] { return !q_.empty(); });
        t = std::move(q_.front());
        q_.pop_front();
        busy_ = true;
      }
      if (t.delay_us >= 0) {
        std::this_thread::sleep_for(std::chrono::microseconds(t.delay_us));
        if (Sticky(dev_).empty()) t.fn();
      } else {
        t.fn();
      }
      std::lock_guard<std::mutex> lk(mu_);
      busy_ = false;
      cv_.notify_all();
    }
  }
  int dev_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> q_;
  bool busy_ = false;
};

std::vector<Stream*> g_streams;  // all of them (leaked: they live as long as the process)

// ---- events: each record is a one-shot signal; the event points to its latest record ----------
std::mutex g_ev_mu;
std::condition_variable g_ev_cv;
struct Record {
  bool done = false;
};
struct Event {
  int dev;
  std::shared_ptr<Record> last;  // guarded by g_ev_mu; nullptr when never recorded
};

std::shared_ptr<Record> LastRecord(Event* e) {
  std::lock_guard<std::mutex> lk(g_ev_mu);
  return e->last;
}
void WaitRecord(const std::shared_ptr<Record>& r) {
  if (!r) return;
  std::unique_lock<std::mutex> lk(g_ev_mu);
  g_ev_cv.wait(lk, [&] { return r->done; });
}

const char* Message(const std::string& s) {
  thread_local std::string msg;
  if (s.empty()) return nullptr;
  msg = s;
  return msg.c_str();
}

// ---- the backend table ----------------------------------------------------------------------------
int DeviceCount() { return kDevices; }

void* Alloc(int dev, size_t bytes) {
  void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (!p) return nullptr;
  std::lock_guard<std::mutex> lk(g_mu);
  g_allocs[static_cast<const char*>(p)] = {bytes, dev};
  return p;
}

void Free(int, void* p) {
  {
    std::lock_guard<std::mutex> lk(g_mu);
    g_allocs.erase(static_cast<const char*>(p));
  }
  std::free(p);
}

void CheckHealthy(int dev) {
  if (dev < 0) return;
  std::string s = Sticky(dev);
  if (!s.empty()) throw Error(AX_ERR_RUNTIME, s);
}

// cudaMemcpy on the legacy stream: it does not wait for the engine's (non-blocking) streams.
void Copy(void* dst, int, const void* src, int, size_t bytes) {
  CheckHealthy(DeviceOf(dst));
  CheckHealthy(DeviceOf(src));
  std::memcpy(dst, src, bytes);
}

void Synchronize(int dev) {
  std::vector<Stream*> mine;
  {
    std::lock_guard<std::mutex> lk(g_mu);
    for (Stream* s : g_streams)
      if (s->dev() == dev) mine.push_back(s);
  }
  for (Stream* s : mine) s->Sync();
}

void* StreamCreate(int dev) {
  auto* s = new Stream(dev);
  std::lock_guard<std::mutex> lk(g_mu);
  g_streams.push_back(s);
  return s;
}

const char* StreamSync(void* stream) {
  auto* s = static_cast<Stream*>(stream);
  s->Sync();
  return Message(Sticky(s->dev()));
}

void CopyAsync(void* dst, int, const void* src, int, size_t bytes, void* stream) {
  auto* s = static_cast<Stream*>(stream);
  CheckHealthy(s->dev());
  s->Enqueue([=] { std::memcpy(dst, src, bytes); }, 3 * DelayUs());
}

void DeviceInfo(int dev, char* name, size_t name_len, size_t* free_bytes, size_t* total_bytes) {
  if (name && name_len) std::snprintf(name, name_len, "fake GPU %d (host threads, for tests)", dev);
  if (free_bytes) *free_bytes = size_t(1) << 30;
  if (total_bytes) *total_bytes = size_t(1) << 30;
}

void* EventCreate(int dev) { return new Event{dev, nullptr}; }
void EventDestroy(void* e) { delete static_cast<Event*>(e); }

const char* EventRecord(void* ev, void* stream) {
  auto* e = static_cast<Event*>(ev);
  auto* s = static_cast<Stream*>(stream);
  if (e->dev != s->dev()) return Message("fake GPU: an event was recorded on another device's stream");
  if (const char* err = Message(Sticky(s->dev()))) return err;
  auto r = std::make_shared<Record>();
  {
    std::lock_guard<std::mutex> lk(g_ev_mu);
    e->last = r;
  }
  s->Enqueue(
      [r] {
        std::lock_guard<std::mutex> lk(g_ev_mu);
        r->done = true;
        g_ev_cv.notify_all();
      },
      -1);
  return nullptr;
}

const char* StreamWaitEvent(void* stream, void* ev) {
  if (reinterpret_cast<uintptr_t>(stream) < 4096) {
    // CUDA's legacy (1) and per-thread (2) default streams, given by a DLPack consumer: the fake
    // has none, so such a "stream" runs everything at once and the wait is the host's
    WaitRecord(LastRecord(static_cast<Event*>(ev)));
    return Message(Sticky(static_cast<Event*>(ev)->dev));
  }
  auto* s = static_cast<Stream*>(stream);
  if (const char* err = Message(Sticky(s->dev()))) return err;
  std::shared_ptr<Record> r = LastRecord(static_cast<Event*>(ev));
  if (r) s->Enqueue([r] { WaitRecord(r); }, -1);
  return nullptr;
}

const char* EventSync(void* ev) {
  auto* e = static_cast<Event*>(ev);
  WaitRecord(LastRecord(e));
  return Message(Sticky(e->dev));
}

int EventQuery(void* ev) {
  auto* e = static_cast<Event*>(ev);
  if (!Sticky(e->dev).empty()) return -1;
  std::shared_ptr<Record> r = LastRecord(e);
  std::lock_guard<std::mutex> lk(g_ev_mu);
  return !r || r->done ? 1 : 0;
}

const axle::DeviceBackend kBackend = {
    "fakegpu",   DeviceCount, Alloc,        Free,        Copy,            Synchronize, StreamCreate, StreamSync,
    CopyAsync,   DeviceInfo,  EventCreate,  EventDestroy, EventRecord,    StreamWaitEvent, EventSync, EventQuery,
};

// ---- kernels ------------------------------------------------------------------------------------
// Queues body(i) for every element on the op's stream and returns (a kernel launch).
void Launch(const OpContext& ctx, const char* name, const std::vector<TBlob>& blobs,
            std::function<void(int64_t)> body, int64_t n) {
  auto* s = static_cast<Stream*>(ctx.run.stream);
  if (!s) throw Error(AX_ERR_RUNTIME, std::string(name) + ": the fake GPU got no stream");
  CheckHealthy(s->dev());
  for (const TBlob& b : blobs)
    if (b.dtype != AX_FLOAT32)
      throw Error(AX_ERR_NOT_SUPPORTED, std::string(name) + ": the fake GPU has float32 kernels only");
  s->Enqueue(
      [body = std::move(body), n] {
        for (int64_t i = 0; i < n; ++i) body(i);
      },
      DelayUs());
}

float* F(const TBlob& b) { return static_cast<float*>(b.dptr); }

// out[i] (=|+=) v, by req
std::function<void(int64_t)> Store(float* out, OpReq req, std::function<float(int64_t)> v) {
  if (req == OpReq::kAdd) return [out, v](int64_t i) { out[i] += v(i); };
  if (req == OpReq::kNull) return [](int64_t) {};
  return [out, v](int64_t i) { out[i] = v(i); };
}

double Attr(const axle::NodeAttrs& attrs, const char* key, double fallback) {
  for (auto& kv : attrs.dict)
    if (kv.first == key) return std::atof(kv.second.c_str());
  return fallback;
}

void SetKernel(const axle::CoreServices* core, const char* name, axle::FCompute f) {
  if (axle::OpDef* op = core->find_op(name)) op->compute_gpu = std::move(f);
}

template <class Fn>
void RegisterBinary(const axle::CoreServices* core, const char* name, Fn fn) {
  SetKernel(core, name,
            [name, fn](const OpContext& ctx, const axle::NodeAttrs&, const std::vector<TBlob>& in,
                       const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
              if (in[0].shape != in[1].shape || in[0].shape != out[0].shape)
                throw Error(AX_ERR_NOT_SUPPORTED, std::string(name) + ": the fake GPU needs equal shapes");
              const float *a = F(in[0]), *b = F(in[1]);
              Launch(ctx, name, {in[0], in[1], out[0]},
                     Store(F(out[0]), req[0], [a, b, fn](int64_t i) { return fn(a[i], b[i]); }), out[0].Size());
            });
}

template <class Fn>
void RegisterScalar(const axle::CoreServices* core, const char* name, Fn fn) {
  SetKernel(core, name,
            [name, fn](const OpContext& ctx, const axle::NodeAttrs& attrs, const std::vector<TBlob>& in,
                       const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
              const float* a = F(in[0]);
              const float s = static_cast<float>(Attr(attrs, "scalar", 0.0));
              Launch(ctx, name, {in[0], out[0]},
                     Store(F(out[0]), req[0], [a, s, fn](int64_t i) { return fn(a[i], s); }), out[0].Size());
            });
}

void RegisterFill(const axle::CoreServices* core, const char* name, float value) {
  SetKernel(core, name,
            [name, value](const OpContext& ctx, const axle::NodeAttrs& attrs, const std::vector<TBlob>&,
                          const std::vector<OpReq>& req, const std::vector<TBlob>& out) {
              const float v = static_cast<float>(Attr(attrs, "value", value));
              Launch(ctx, name, {out[0]}, Store(F(out[0]), req[0], [v](int64_t) { return v; }), out[0].Size());
            });
}

void RegisterAll(const axle::CoreServices* core) {
  RegisterBinary(core, "elemwise_add", [](float a, float b) { return a + b; });
  RegisterBinary(core, "elemwise_mul", [](float a, float b) { return a * b; });
  RegisterBinary(core, "broadcast_add", [](float a, float b) { return a + b; });
  RegisterBinary(core, "broadcast_mul", [](float a, float b) { return a * b; });
  RegisterScalar(core, "_plus_scalar", [](float a, float s) { return a + s; });
  RegisterScalar(core, "_mul_scalar", [](float a, float s) { return a * s; });
  RegisterScalar(core, "_copy", [](float a, float) { return a; });
  RegisterFill(core, "_zeros", 0.0f);
  RegisterFill(core, "_ones", 1.0f);
  RegisterFill(core, "_full", 0.0f);  // its "value"
  // the asynchronous fault: the launch succeeds, the kernel fails later on the stream
  SetKernel(core, "_engine_rendezvous",
            [](const OpContext& ctx, const axle::NodeAttrs&, const std::vector<TBlob>& in,
               const std::vector<OpReq>&, const std::vector<TBlob>& out) {
              auto* s = static_cast<Stream*>(ctx.run.stream);
              const int dev = s ? s->dev() : 0;
              Launch(ctx, "_engine_rendezvous", {in[0], out[0]},
                     [dev](int64_t i) {
                       if (i != 0) return;
                       std::lock_guard<std::mutex> lk(g_mu);
                       g_sticky[dev] = "fake GPU fault in kernel _engine_rendezvous (sticky, like a CUDA fault)";
                     },
                     1);
            });
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const axle::DeviceBackend* axle_cuda_backend(
    const axle::CoreServices* core, const char** reason) {
  if (!core || core->abi_version != axle::kBackendAbiVersion) {
    *reason = "libaxle_fakegpu.so was built for another version of libaxle";
    return nullptr;
  }
  RegisterAll(core);
  return &kBackend;
}

// Test hooks for a DLPack consumer's own stream: a stream of the fake device, a copy queued on it
// (a consumer kernel reading the shared memory, delayed like a kernel), and a wait for it.
extern "C" __attribute__((visibility("default"))) void* axle_fakegpu_stream_create(int dev) {
  return StreamCreate(dev);
}
extern "C" __attribute__((visibility("default"))) void axle_fakegpu_enqueue_copy(void* stream, void* dst,
                                                                                  const void* src, size_t bytes) {
  static_cast<Stream*>(stream)->Enqueue([=] { std::memcpy(dst, src, bytes); }, DelayUs());
}
extern "C" __attribute__((visibility("default"))) void axle_fakegpu_stream_sync(void* stream) {
  static_cast<Stream*>(stream)->Sync();
}

// Test hook: clears a device's sticky fault (after every queued task there has finished).
extern "C" __attribute__((visibility("default"))) void axle_fakegpu_reset(int dev) {
  Synchronize(dev);
  std::lock_guard<std::mutex> lk(g_mu);
  g_sticky[dev].clear();
}
