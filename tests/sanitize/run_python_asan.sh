#!/usr/bin/env bash
# The Python test suite under AddressSanitizer + UndefinedBehaviorSanitizer: builds libaxle and the
# cffi module with AXLE_SANITIZE=address,undefined,float-cast-overflow (in build-sanitize/, the same
# configuration as the C tests' sanitizer pass of tests/run_all.sh, plus the cffi module), stages them with the package sources in build-sanitize/python/, and runs
# pytest in an interpreter that sees that copy only (a venv in build-sanitize/venv without an
# installed or editable axle), with the ASan runtime preloaded. Every report is fatal.
#
#   bash tests/sanitize/run_python_asan.sh                 # the whole suite
#   bash tests/sanitize/run_python_asan.sh -k conformance  # arguments go to pytest
#
# Python itself leaks by design at exit, so LeakSanitizer is off here (detect_leaks=0); leaks of the
# core are checked by the C tests under LeakSanitizer and by the live-handle and bytes-in-use
# counters the tests assert on. allocator_may_return_null=1: the out-of-memory tests ask for
# petabytes on purpose and expect an error, not ASan's abort.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
py=${PYTHON:-python3}
san_dir=${AXLE_SANITIZE_DIR:-build-sanitize}
jobs=${AXLE_SANITIZE_JOBS:-2}

command -v cmake > /dev/null || "$py" -m pip install -q --disable-pip-version-check cmake
cmake -S . -B "$san_dir" -DAXLE_SANITIZE=address,undefined,float-cast-overflow -DAXLE_CUDA=OFF -DCMAKE_BUILD_TYPE=Debug \
  -DAXLE_PYTHON=ON -DPython_EXECUTABLE="$(command -v "$py")" > "$san_dir.log" 2>&1 || { cat "$san_dir.log"; exit 1; }
cmake --build "$san_dir" -j "$jobs" >> "$san_dir.log" 2>&1 || { tail -50 "$san_dir.log"; exit 1; }

# The package: the sources linked, the sanitizer build's libraries copied beside them.
stage=$root/$san_dir/python
rm -rf "$stage"
mkdir -p "$stage/axle"
for f in python/axle/*; do ln -s "$root/$f" "$stage/axle/"; done
cp "$san_dir"/libaxle.so "$san_dir"/_axle_cffi*.so "$stage/axle/"

# An interpreter whose sys.path is the staged package, then the site directories of $py (numpy,
# cffi, pytest), added as plain paths so that their .pth files (an editable axle's import hook)
# do not run. Subprocesses the tests start (sys.executable) see the same.
venv=$root/$san_dir/venv
[ -x "$venv/bin/python" ] || "$py" -m venv --without-pip "$venv"
site=$("$venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
{ echo "$stage"; "$py" -c "import site; print('\n'.join(site.getsitepackages()))"; } > "$site/axle-sanitize.pth"

blas_dir=$("$py" -c "import scipy_openblas32 as s; print(s.get_lib_dir())")
export LD_LIBRARY_PATH="$blas_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# libstdc++ is preloaded too: python does not link it, and ASan resolves the real __cxa_throw when
# it starts (without it, the first C++ exception the core throws is an ASan CHECK failure)
cxx=${CXX:-g++}
export LD_PRELOAD="${AXLE_ASAN_RUNTIME:-$($cxx -print-file-name=libasan.so)} $($cxx -print-file-name=libstdc++.so)"
# Sanitizer reports go to stderr, which pytest's default capture (of file descriptors) would swallow
# with the process: --capture=sys leaves fd 2 alone. abort_on_error lets faulthandler print the
# Python stack of the test that hit a report.
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:abort_on_error=1
export UBSAN_OPTIONS=${AXLE_UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1}:print_stacktrace=1
"$venv/bin/python" - "$stage" <<'PY'
import sys
import axle._lib as l
assert l.__file__.startswith(sys.argv[1]), f"axle was imported from {l.__file__}, not the sanitizer build"
PY
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider --capture=sys "${@:-tests/python}"
