# Loading: libaxle's OpenBLAS and (with AXLE_LIB set now) libaxle itself are loaded first, so the
# glue's dependencies resolve to them; then the glue, whose registered .Call routines are bound as
# C_<name> in the namespace, the version check, and the generated op functions.

.onLoad <- function(libname, pkgname) {
  ns <- environment(sys.function())
  .preload(libname, pkgname)
  dll <- library.dynam("axle", pkgname, libname)
  routines <- getDLLRegisteredRoutines(dll)$.Call
  for (n in names(routines)) assign(paste0("C_", n), routines[[n]], envir = ns)
  .state$version <- .Call(C_ax_init, ns)
  .generate_ops(ns)
  invisible(NULL)
}

.onUnload <- function(libpath) library.dynam.unload("axle", libpath)

# The libraries configure found (inst/libpaths.dcf), overridden by AXLE_LIB at load time.
.preload <- function(libname, pkgname) {
  paths <- list(lib_dir = "", blas = "")
  f <- file.path(libname, pkgname, "libpaths.dcf")
  if (file.exists(f)) paths <- utils::modifyList(paths, as.list(read.dcf(f)[1L, ]))
  if (nzchar(paths$blas) && file.exists(paths$blas)) dyn.load(paths$blas, local = FALSE, now = TRUE)
  lib <- Sys.getenv("AXLE_LIB")
  if (nzchar(lib)) {
    if (dir.exists(lib)) lib <- file.path(lib, "libaxle.so")
    if (!file.exists(lib)) stop("AXLE_LIB names ", lib, ", which does not exist")
    dyn.load(lib, local = FALSE, now = TRUE)
  }
}
