// Intra-op parallelism: large kernels split their range over a small pool of helper threads
// (AXLE_NUM_THREADS, else OMP_NUM_THREADS, else the number of cores).
#pragma once
#include <cstdint>
#include <functional>

namespace axle {

int NumThreads();
// Runs fn(begin, end) over [0, n) in contiguous chunks; serial when n < grain * 2.
void ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// In the child of a fork: forget the parent's helper threads (new ones start on demand).
void ResetParallelAfterFork();

// Elements per chunk below which splitting a cheap elementwise loop does not pay.
constexpr int64_t kElemwiseGrain = 1 << 16;

}  // namespace axle
