#include "ops/cpu/gemm.h"

#include "common/base.h"

extern "C" void scipy_openblas_set_num_threads(int num_threads);

namespace axle {

int BlasSplitThreads() {
  // OpenBLAS's own threads busy-wait between calls; beside the engine's workers and Axle's helper
  // threads they oversubscribe the cores (an MLP epoch took 10-20x longer on a loaded 2-core
  // machine). By default OpenBLAS runs single-threaded and Gemm splits large products itself;
  // AXLE_BLAS_THREADS=n hands the threading to OpenBLAS instead (n threads, no splitting).
  static const int split = [] {
    const int blas = EnvInt("AXLE_BLAS_THREADS", 0);
    scipy_openblas_set_num_threads(blas > 0 ? blas : 1);
    return blas > 0 ? 1 : NumThreads();
  }();
  return split;
}

}  // namespace axle

namespace {
// Decide OpenBLAS's thread count when the library loads, before any kernel asks it.
const int ax_blas_threads_init = axle::BlasSplitThreads();
}  // namespace
