#include "common/parallel.h"

#include "common/base.h"
#include "engine/engine.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace axle {
namespace {


// A fixed pool of helper threads, created on first use and never destroyed (threads blocked at
// process exit are harmless; destroying them would race with late users).
class HelperPool {
 public:
  explicit HelperPool(int n) {
    for (int i = 0; i < n; ++i) std::thread([this] { Loop(); }).detach();
  }
  void Submit(std::function<void()> task) {
    bool wake;
    {
      std::lock_guard<std::mutex> lk(mu_);
      tasks_.push_back(std::move(task));
      queued_.store(tasks_.size(), std::memory_order_release);
      wake = sleeping_ > 0;
    }
    if (wake) cv_.notify_one();
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void()> t;
      {
        std::unique_lock<std::mutex> lk(mu_);
        while (tasks_.empty()) {
          lk.unlock();
          Spin();
          lk.lock();
          if (!tasks_.empty()) break;
          ++sleeping_;
          cv_.wait(lk);
          --sleeping_;
        }
        t = std::move(tasks_.front());
        tasks_.pop_front();
        queued_.store(tasks_.size(), std::memory_order_release);
      }
      t();
    }
  }
  // A helper that just finished polls for the next task for a while before it sleeps: a kernel
  // split over the helpers comes every few tens of microseconds in a training loop, and waking a
  // sleeping thread costs ~100 us on a virtual machine (its vCPU halted), more than most of those
  // kernels take. It yields while it polls, so a runnable thread on its core goes first.
  void Spin() {
    static const int us = EnvInt("AXLE_HELPER_SPIN_US", 200, 0);
    if (us <= 0) return;
    auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
    for (int i = 0; queued_.load(std::memory_order_acquire) == 0; ++i) {
      if ((i & 15) == 15) {
        if (std::chrono::steady_clock::now() >= until) return;
        std::this_thread::yield();
      }
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::atomic<size_t> queued_{0};
  int sleeping_ = 0;
};

std::atomic<HelperPool*> g_pool{nullptr};
std::mutex g_pool_mu;

HelperPool* Pool() {
  HelperPool* p = g_pool.load(std::memory_order_acquire);
  if (p) return p;
  std::lock_guard<std::mutex> lk(g_pool_mu);
  if (!g_pool.load()) g_pool.store(new HelperPool(std::max(0, NumThreads() - 1)));  // never destroyed
  return g_pool.load();
}

}  // namespace

void ResetParallelAfterFork() {
  new (&g_pool_mu) std::mutex();
  g_pool.store(nullptr);  // the parent's helpers do not exist here; the old pool is leaked
}

int NumThreads() {
  static int n = [] {
    int hw = static_cast<int>(std::thread::hardware_concurrency());
    return EnvInt("AXLE_NUM_THREADS", EnvInt("OMP_NUM_THREADS", hw > 0 ? hw : 1));
  }();
  return n;
}

// Set while a thread runs a chunk: a ParallelFor inside a chunk runs serially (the helpers are
// busy with the outer loop; waiting for them there could deadlock).
thread_local bool t_in_chunk = false;

namespace {
struct ChunkScope {
  bool saved = t_in_chunk;
  ChunkScope() { t_in_chunk = true; }
  ~ChunkScope() { t_in_chunk = saved; }
};
}  // namespace

void ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  int nt = NumThreads();
  int64_t chunks = t_in_chunk ? 1 : std::min<int64_t>(nt, n / std::max<int64_t>(grain, 1));
  if (chunks < 2) {
    fn(0, n);
    return;
  }
  // Chunks are claimed, not assigned: the caller and the helpers take the next unclaimed chunk
  // until none is left, so a helper that wakes late (a loaded machine) costs nothing but its
  // share, which the caller runs itself. The state outlives this call: a helper task that starts
  // after every chunk is done still reads `next` (and then returns without touching fn).
  struct Shared {
    std::atomic<int64_t> next{0};
    int64_t chunks = 0, step = 0, n = 0;
    const std::function<void(int64_t, int64_t)>* fn = nullptr;
    std::mutex mu;
    std::condition_variable cv;
    int64_t done = 0;
    std::exception_ptr error;
    void RunChunks() {
      const bool trace = TraceEnabled();
      for (int64_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;) {
        std::exception_ptr err;
        try {
          ChunkScope scope;
          if (c * step < n) {
            const int64_t t0 = trace ? TraceNow() : 0;
            (*fn)(c * step, std::min(n, (c + 1) * step));
            if (trace) TraceSpan("parallel chunk", t0, TraceNow());
          }
        } catch (...) {
          err = std::current_exception();
        }
        std::lock_guard<std::mutex> lk(mu);
        if (err && !error) error = err;
        if (++done == chunks) cv.notify_one();
      }
    }
  };
  auto sh = std::make_shared<Shared>();
  sh->chunks = chunks;
  sh->step = (n + chunks - 1) / chunks;
  sh->n = n;
  sh->fn = &fn;
  HelperPool* pool = Pool();
  for (int64_t c = 1; c < chunks; ++c) pool->Submit([sh] { sh->RunChunks(); });
  sh->RunChunks();
  std::unique_lock<std::mutex> lk(sh->mu);
  sh->cv.wait(lk, [&] { return sh->done == sh->chunks; });
  if (sh->error) std::rethrow_exception(sh->error);
}

}  // namespace axle
