#!/usr/bin/env bash
# The whole test suite: installs Axle with what the tests need, then runs the Python tests
# (pytest) and the C tests (ctest, built beside libaxle by the same install).
# README's second command and .ci/run both run this file.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check ".[test]"
python3 -m pytest tests/python -q -p no:cacheprovider
build_dir=$(ls -td build/*/ | head -n 1)
# The C tests use libaxle from the build tree; pip may have built it against OpenBLAS in a
# temporary build environment, so point the loader at the installed scipy-openblas32.
blas_dir=$(python3 -c "import scipy_openblas32 as s; print(s.get_lib_dir())")
LD_LIBRARY_PATH="$blas_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ctest --test-dir "$build_dir" --output-on-failure

# The R binding (bindings_r/): installs R when missing, then its unit, conformance and MLP tests.
bash tests/r/run.sh

# The Julia binding's tests (bindings_julia/test: the conformance cases and unit tests), with the
# libaxle pip just installed, when Julia is installed.
if command -v julia > /dev/null; then
  AXLE_LIB=$(python3 -c "import os, axle._axle_cffi as m; print(os.path.dirname(m.__file__))") \
    julia --project=bindings_julia -e 'using Pkg; Pkg.test()'
else
  echo "Julia tests skipped: julia is not on PATH (bindings_julia/README.md)"
fi

# A sanitizer pass of the C tests: the core and the C test programs built again with
# AddressSanitizer (LeakSanitizer included) and UndefinedBehaviorSanitizer with float-to-integer
# conversion checks (without CUDA, unoptimised: a few minutes), every report fatal. AXLE_SKIP_SANITIZE=1 leaves it out.
if [ "${AXLE_SKIP_SANITIZE:-0}" != "1" ]; then
  command -v cmake > /dev/null || python3 -m pip install -q --disable-pip-version-check cmake
  san_dir=build-sanitize
  cmake -S . -B "$san_dir" -DAXLE_SANITIZE=address,undefined,float-cast-overflow -DAXLE_CUDA=OFF -DCMAKE_BUILD_TYPE=Debug \
    -DPython_EXECUTABLE="$(command -v python3)" > "$san_dir.log" 2>&1 || { cat "$san_dir.log"; exit 1; }
  cmake --build "$san_dir" -j "$(nproc)" >> "$san_dir.log" 2>&1 || { tail -50 "$san_dir.log"; exit 1; }
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
    LD_LIBRARY_PATH="$blas_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ctest --test-dir "$san_dir" --output-on-failure
  # and the whole Python suite once more on that sanitizer build (its cffi module added; ~5 minutes)
  bash tests/sanitize/run_python_asan.sh
fi
