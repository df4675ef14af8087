// Host-side check of the CUDA backend's float16 (cuda::Half, capi/cuda/cuda_common.cuh): converts
// float32 values with the low 13 bits (those float16 drops) set to the rounding cases, for every
// sign, exponent and top mantissa bits, and writes the inputs (in.f32) and the float16 bits
// (out.u16) into the folder given, for test_gpu.py to compare with the CPU's half_t. The device
// uses the same code with cvt.rn.f16.f32 in place of cuda_fp16's host path.
#include <cstdio>
#include <string>
#include <vector>

#include "cuda/cuda_common.cuh"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const unsigned lows[] = {0u, 0x0001u, 0x0fffu, 0x1000u, 0x1001u, 0x1fffu, 0x3000u};
  std::vector<float> in;
  std::vector<unsigned short> out;
  for (unsigned hi = 0; hi < (1u << 19); ++hi)
    for (unsigned lo : lows) {
      const unsigned x = (hi << 13) | lo;
      float f;
      std::memcpy(&f, &x, 4);
      const axle::cuda::Half h(f), again(static_cast<float>(h));  // float16 -> float is exact
      unsigned short b, b2;
      std::memcpy(&b, &h, 2);
      std::memcpy(&b2, &again, 2);
      if (b != b2) {
        std::printf("float16 %04x does not survive float32 and back (%04x)\n", b, b2);
        return 1;
      }
      in.push_back(f);
      out.push_back(b);
    }
  const std::string dir = argv[1];
  FILE* fi = std::fopen((dir + "/in.f32").c_str(), "wb");
  FILE* fo = std::fopen((dir + "/out.u16").c_str(), "wb");
  if (!fi || !fo) return 3;
  std::fwrite(in.data(), 4, in.size(), fi);
  std::fwrite(out.data(), 2, out.size(), fo);
  std::fclose(fi);
  std::fclose(fo);
  return 0;
}
