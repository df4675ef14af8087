// Per-device random state. It is counter based (SplitMix64 over key and a running counter),
// so a kernel can draw element i independently of how the work is split across threads, and
// results depend only on the seed and the order in which random ops were pushed. The state
// is guarded by an engine var that every random op writes, which keeps that order.
#pragma once
#include <cmath>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "engine/engine.h"

namespace axle {

class RandomState {
 public:
  // Reserves n draws; returns the counter of the first.
  uint64_t Reserve(uint64_t n) {
    uint64_t c = counter_;
    counter_ += n;
    return c;
  }
  uint64_t key() const { return key_; }
  void Seed(uint64_t seed) {
    key_ = Mix(seed ^ 0x9E3779B97F4A7C15ull);
    counter_ = 0;
  }
  // The i-th 64-bit draw of a stream.
  static AX_HD uint64_t Bits(uint64_t key, uint64_t i) { return Mix(key + Mix(i)); }
  // Uniform in [0, 1) with 53 random bits.
  static AX_HD double Uniform(uint64_t key, uint64_t i) { return (Bits(key, i) >> 11) * (1.0 / 9007199254740992.0); }
  static AX_HD uint64_t Mix(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t key_ = Mix(0x9E3779B97F4A7C15ull);
  uint64_t counter_ = 0;
};

// A random permutation of [0, n) (Fisher-Yates, one draw per position), advancing rng by n: the
// order _shuffle gives the rows on every device.
inline std::vector<int64_t> ShufflePermutation(RandomState* rng, int64_t n) {
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), int64_t(0));
  const uint64_t key = rng->key();
  const uint64_t first = rng->Reserve(static_cast<uint64_t>(n));
  for (int64_t i = n - 1; i > 0; --i) {
    const uint64_t j = RandomState::Bits(key, first + static_cast<uint64_t>(i)) % static_cast<uint64_t>(i + 1);
    std::swap(perm[i], perm[j]);
  }
  return perm;
}

// The random state of a device and the engine var that orders its users.
struct DeviceRandom {
  RandomState state;
  VarPtr var;
};
DeviceRandom* GetDeviceRandom(const Context& ctx);
// Seeds every device's state (pushed through the engine, in order with earlier random ops).
void SeedAll(int seed);

}  // namespace axle
