#!/usr/bin/env bash
# The R binding's tests: installs R when missing (Debian: r-base-core r-cran-testthat), installs
# bindings_r/ into a temporary library against the libaxle of the installed Python package
# (`pip install .` first; AXLE_LIB overrides) and runs its testthat tests: unit tests, the shared
# conformance cases through the R runner (skips: tests/conformance/skips/r.txt) and the seed's MLP
# trained in R. Exits non-zero on any failure. tests/run_all.sh calls it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)

if ! command -v Rscript > /dev/null || ! Rscript -e 'library(testthat)' > /dev/null 2>&1; then
  echo "run.sh: installing R (r-base-core r-cran-testthat)"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  install_r() { $sudo apt-get install -y -qq --no-install-recommends r-base-core r-cran-testthat > /dev/null; }
  install_r || { $sudo apt-get update -qq > /dev/null && install_r; }
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# a copy, so the build writes nothing into the checkout
cp -r "$repo/bindings_r" "$work/axle"
rm -f "$work/axle/src/"*.o "$work/axle/src/"*.so "$work/axle/src/Makevars"
mkdir "$work/lib"
AXLE_INCLUDE="$repo/include" R CMD INSTALL --no-test-load -l "$work/lib" "$work/axle" > "$work/install.log" 2>&1 ||
  { cat "$work/install.log"; exit 1; }

cd "$work/axle/tests/testthat"
AXLE_REPO="$repo" R_LIBS="$work/lib" Rscript -e '
  options(warn = 1)
  res <- as.data.frame(testthat::test_dir(".", package = "axle", load_package = "installed",
                                          reporter = "summary", stop_on_failure = FALSE))
  bad <- sum(res$failed > 0 | res$error)
  cat(sprintf("R tests: %d tests (%d expectations), %d failed, %d skipped\n", nrow(res), sum(res$nb), bad,
              sum(res$skipped)))
  quit(status = if (bad > 0) 1 else 0)'
