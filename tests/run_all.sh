#!/usr/bin/env bash
# The whole test suite: installs Axle with what the tests need, then runs the Python tests
# (pytest) and the C tests (ctest, built beside libaxle by the same install).
# README's second command and .ci/run both run this file.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check ".[test]"
python3 -m pytest tests/python -q -p no:cacheprovider
build_dir=$(ls -td build/*/ | head -n 1)
ctest --test-dir "$build_dir" --output-on-failure
