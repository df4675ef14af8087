#!/bin/bash
# The GPU check, run once on a lent GPU machine (repo root as cwd, $OUT writable, no network):
#   bash tests/gpu/device_check.sh          (device tool: carry [".whl"], see fetch_wheels.sh)
# Builds Axle with the CUDA backend, runs tests/python/test_gpu.py (its op tables after the
# timings), times FullyConnected/dot and training on gpu(0) beside PyTorch on the same card, and
# runs the engine's fake-GPU ordering tests.
# Everything goes to $OUT/log.txt too; the table comes last. Budget: ~6 minutes; the step timeouts
# add up to under 600 s (the device tool's limit per command), so a slow step cannot lose the rest.
OUT=${OUT:-/tmp/axle-device-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
set -o pipefail
T0=$(date +%s)
step() { echo; echo "==== $* ($(( $(date +%s) - T0 ))s)"; }

step "machine"
nvidia-smi -L
python3 --version
nvcc --version | tail -1
python3 -c "import glob, site; print('cuBLAS wheels:', [p for d in site.getsitepackages() for p in glob.glob(d + '/nvidia/**/libcublas.so*', recursive=True)])"

step "wheels (cffi, pycparser, scipy-openblas32) from .whl/"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site

step "build with CUDA (pip install . --no-build-isolation)"
export CMAKE_BUILD_PARALLEL_LEVEL=16
BUILD_START=$(date +%s)
timeout 200 python3 -m pip install -q --no-build-isolation --no-deps --no-cache-dir --target /tmp/axle-site \
  -Cbuild-dir=/tmp/axle-build -Ccmake.define.AXLE_CUDA=ON -Ccmake.define.AXLE_CUDA_ARCHS=90-real . || { echo "BUILD FAILED"; exit 1; }
BUILD_S=$(( $(date +%s) - BUILD_START ))
export PYTHONPATH=/tmp/axle-site:/tmp/site
ls -la /tmp/axle-site/axle/*.so
python3 -c "import axle as mx; print('axle from', mx.__file__); print('num_gpus', mx.context.num_gpus())" || exit 1

step "ops without a GPU kernel (tools/gpu_kernel_coverage.py)"
python3 tools/gpu_kernel_coverage.py

TO=""
python3 -c "import pytest_timeout" 2>/dev/null && TO="--timeout=60"
TABLES="test_op_on_gpu_matches_cpu_in_integer_dtypes or test_op_on_gpu_matches_cpu or test_registry_op_on_gpu"

step "GPU tests (tests/python/test_gpu.py) but the three op tables"
AXLE_VERBOSE=1 timeout 120 python3 -m pytest -q -rfE -p no:cacheprovider $TO tests/python/test_gpu.py \
  -k "not ($TABLES)" 2>&1 | tail -60
GPU_TESTS=$?

step "timings"
timeout 120 python3 tests/gpu/bench.py --table "$OUT/table.txt" || echo "bench failed"

step "GPU tests: the op tables (every registry op and dtype against the CPU, ~1,250 cases)"
timeout 90 python3 -m pytest -q -rfE -p no:cacheprovider $TO tests/python/test_gpu.py -k "$TABLES" 2>&1 | tail -40
GPU_TABLES=$?

step "GPU tests of the GEMM users with the built-in kernel (AXLE_CUBLAS=0)"
AXLE_CUBLAS=0 timeout 30 python3 -m pytest -q -rfE -p no:cacheprovider $TO tests/python/test_gpu.py \
  -k "(dot or FullyConnected or Convolution or mlp or integer_gemm) and not ($TABLES)" 2>&1 | tail -15

step "CPU smoke test: the engine's device ordering with the fake GPU backend"
timeout 30 python3 -m pytest -q -p no:cacheprovider tests/python/test_engine_devices.py 2>&1 | tail -3

echo
echo "build: ${BUILD_S}s; GPU tests exit status: $GPU_TESTS (tables: $GPU_TABLES); total $(( $(date +%s) - T0 ))s"
[ -f "$OUT/table.txt" ] && cat "$OUT/table.txt"
