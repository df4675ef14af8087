// The engine's trace (AXLE_ENGINE_TRACE, see engine.h).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace axle {
namespace {

// AXLE_ENGINE_TRACE=<file>: every op the threaded engine runs is recorded (name, worker, start,
// end) and written at exit as a Chrome trace (chrome://tracing, ui.perfetto.dev). The first
// kMaxEvents ops are kept; the recording costs a clock read and a locked append per op.
class Tracer {
 public:
  static Tracer* Get() {
    static Tracer* t = [] {
      const char* f = std::getenv("AXLE_ENGINE_TRACE");
      return (f && *f) ? new Tracer(f) : nullptr;  // never destroyed: written by the atexit drain
    }();
    return t;
  }
  static int64_t Now() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  void Record(const char* name, int64_t t0, int64_t t1) {
    thread_local int tid = next_tid_.fetch_add(1);
    std::lock_guard<std::mutex> lk(mu_);
    if (events_.size() < kMaxEvents) events_.push_back({name, tid, t0, t1});
  }
  void Write() {
    std::lock_guard<std::mutex> lk(mu_);
    FILE* f = std::fopen(path_.c_str(), "w");
    if (!f) {
      std::fprintf(stderr, "axle: AXLE_ENGINE_TRACE: cannot write %s\n", path_.c_str());
      return;
    }
    int64_t base = events_.empty() ? 0 : events_.front().t0;
    for (auto& e : events_) base = std::min(base, e.t0);
    std::fprintf(f, "{\"traceEvents\": [\n");
    for (size_t i = 0; i < events_.size(); ++i) {
      const Event& e = events_[i];
      std::string name;
      for (const char* c = e.name ? e.name : "?"; *c; ++c)
        if (*c != '"' && *c != '\\') name += *c;
      std::fprintf(f, "{\"name\": \"%s\", \"ph\": \"X\", \"pid\": 0, \"tid\": %d, \"ts\": %.3f, \"dur\": %.3f}%s\n",
                   name.c_str(), e.tid, (e.t0 - base) / 1e3, (e.t1 - e.t0) / 1e3, i + 1 < events_.size() ? "," : "");
    }
    std::fprintf(f, "], \"displayTimeUnit\": \"ns\"}\n");
    std::fclose(f);
  }

 private:
  explicit Tracer(std::string path) : path_(std::move(path)) { events_.reserve(1 << 16); }
  struct Event {
    const char* name;  // ops' names are static strings (registry entries, literals)
    int tid;
    int64_t t0, t1;
  };
  static constexpr size_t kMaxEvents = 1 << 22;
  std::string path_;
  std::mutex mu_;
  std::vector<Event> events_;
  std::atomic<int> next_tid_{0};
};

}  // namespace

bool TraceEnabled() { return Tracer::Get() != nullptr; }
int64_t TraceNow() { return Tracer::Now(); }
void TraceSpan(const char* name, int64_t t0, int64_t t1) {
  if (Tracer* t = Tracer::Get()) t->Record(name, t0, t1);
}
void TraceWrite() {
  if (Tracer* t = Tracer::Get()) t->Write();
}


}  // namespace axle
