"""Lists the registry ops that have a CPU kernel but no CUDA kernel in the built libaxle_cuda.so
(no GPU needed): python tools/gpu_kernel_coverage.py [--have]"""
import sys

from axle.test_utils import gpu_kernel_names, ops_without_gpu_kernel

missing = ops_without_gpu_kernel()
if missing is None:
    sys.exit("this Axle was built without the CUDA backend (no libaxle_cuda.so beside libaxle)")
if "--have" in sys.argv:
    print("\n".join(sorted(gpu_kernel_names())))
else:
    print(f"{len(missing)} ops without a GPU kernel:")
    print("\n".join(missing))
