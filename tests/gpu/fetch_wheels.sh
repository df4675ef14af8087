#!/bin/bash
# Downloads (here, with network) the wheels device_check.sh installs on the GPU machine, which has
# no network and lacks cffi, pycparser and scipy-openblas32 (its image has scikit-build-core,
# pathspec, packaging and numpy). Python there is 3.12 on x86-64. Run from the repo root; the
# folder .whl/ must be git-ignored (echo /.whl/ >> .git/info/exclude) and carried: carry [".whl"].
set -euo pipefail
mkdir -p .whl
dl() {
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
    --platform any -d .whl "$@"
}
dl cffi==2.0.0 pycparser==3.0 scipy-openblas32==0.3.34.481.3
ls -la .whl
