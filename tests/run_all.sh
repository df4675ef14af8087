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
