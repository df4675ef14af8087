#include "common/parallel.h"

#include "common/base.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
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
    {
      std::lock_guard<std::mutex> lk(mu_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void()> t;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [this] { return !tasks_.empty(); });
        t = std::move(tasks_.front());
        tasks_.pop_front();
      }
      t();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
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
  struct Join {
    std::mutex mu;
    std::condition_variable cv;
    int left;
    std::exception_ptr error;
  } join;
  join.left = static_cast<int>(chunks - 1);
  int64_t step = (n + chunks - 1) / chunks;
  HelperPool* pool = Pool();
  for (int64_t c = 1; c < chunks; ++c) {
    int64_t b = c * step, e = std::min(n, b + step);
    pool->Submit([&, b, e] {
      std::exception_ptr err;
      try {
        ChunkScope scope;
        fn(b, e);
      } catch (...) {
        err = std::current_exception();
      }
      std::lock_guard<std::mutex> lk(join.mu);
      if (err && !join.error) join.error = err;
      if (--join.left == 0) join.cv.notify_one();
    });
  }
  std::exception_ptr mine;
  try {
    ChunkScope scope;
    fn(0, std::min(n, step));
  } catch (...) {
    mine = std::current_exception();
  }
  std::unique_lock<std::mutex> lk(join.mu);
  join.cv.wait(lk, [&] { return join.left == 0; });
  if (mine) std::rethrow_exception(mine);
  if (join.error) std::rethrow_exception(join.error);
}

}  // namespace axle
