"""Lists the registry ops that have a CPU kernel but no CUDA kernel in the built libaxle_cuda.so,
and the dtypes its kernels are built for (no GPU needed): python tools/gpu_kernel_coverage.py [--have]"""
import sys

from axle.test_utils import gpu_kernel_dtypes, gpu_kernel_names, ops_without_gpu_kernel

# What the CPU kernels take: every dtype for the arithmetic ops, float16/32/64 for the floating point ones.
EXPECTED = {"arithmetic": {"float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool"},
            "floating": {"float32", "float64", "float16"}}

missing = ops_without_gpu_kernel()
if missing is None:
    sys.exit("this Axle was built without the CUDA backend (no libaxle_cuda.so beside libaxle)")
if "--have" in sys.argv:
    print("\n".join(sorted(gpu_kernel_names())))
    sys.exit(0)
print(f"{len(missing)} ops without a GPU kernel:")
print("\n".join(missing))
dtypes = gpu_kernel_dtypes()
for kind, want in EXPECTED.items():
    have = dtypes.get(kind, set())
    print(f"{kind} kernels built for: {' '.join(sorted(have))}"
          + (f" (missing: {' '.join(sorted(want - have))})" if want - have else ""))
if missing or any(want - dtypes.get(kind, set()) for kind, want in EXPECTED.items()):
    sys.exit(1)
