# Errors, contexts, dtypes and attribute strings: what every other file of the package uses.

# ---- errors ------------------------------------------------------------------------------------
# The core's status codes (AxStatus in axle.h) and the condition class each becomes.
.status_class <- c("axle_invalid_argument", "axle_invalid_handle", "axle_shape_error", "axle_type_error",
                   "axle_index_error", "axle_io_error", "axle_memory_error", "axle_not_supported",
                   "axle_runtime_error")

# Called by the C glue for every failure: signals an error condition of class
# c(<the status's class>, "axle_error", "error", "condition") carrying the core's message.
.axle_raise <- function(code, message) {
  cls <- if (code >= 1L && code <= length(.status_class)) .status_class[[code]] else "axle_runtime_error"
  stop(structure(class = c(cls, "axle_error", "error", "condition"),
                 list(message = message, call = NULL, status = code)))
}

# An argument error raised from R code, of the same classes as the core's.
.arg_error <- function(...) .axle_raise(1L, paste0(...))

# ---- contexts -------------------------------------------------------------------------------------
# A device context: axle.cpu(), axle.gpu(0).
axle.cpu <- function(dev.id = 0L) .context("cpu", 1L, dev.id)
axle.gpu <- function(dev.id = 0L) .context("gpu", 2L, dev.id)

.context <- function(device, typeid, dev.id) {
  structure(list(device = device, device_id = as.integer(dev.id), device_typeid = typeid), class = "AxleContext")
}

.state <- new.env(parent = emptyenv())
.state$ctx <- NULL

# The default context (cpu(0) unless set with axle.ctx.default(new)).
axle.ctx.default <- function(new = NULL) {
  if (!is.null(new)) {
    if (!is.axle.context(new)) .arg_error("axle.ctx.default: new must be an AxleContext, e.g. axle.cpu()")
    .state$ctx <- new
  }
  if (is.null(.state$ctx)) axle.cpu() else .state$ctx
}

is.axle.context <- function(x) inherits(x, "AxleContext")

format.AxleContext <- function(x, ...) sprintf("%s(%d)", x$device, x$device_id)
print.AxleContext <- function(x, ...) {
  cat(format(x), "\n", sep = "")
  invisible(x)
}

.ctx_or_default <- function(ctx) {
  if (is.null(ctx)) return(axle.ctx.default())
  if (!is.axle.context(ctx)) .arg_error("ctx must be an AxleContext (axle.cpu() or axle.gpu(i))")
  ctx
}

.context_of_codes <- function(codes) {
  if (codes[[1]] == 2L) axle.gpu(codes[[2]]) else axle.cpu(codes[[2]])
}

# Number of GPUs Axle can use.
axle.gpu.count <- function() .Call(C_ax_gpu_count)

# ---- dtypes ---------------------------------------------------------------------------------------
.dtype_names <- c("float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool")

.dtype_code <- function(dtype) {
  code <- match(dtype, .dtype_names)
  if (length(dtype) != 1L || is.na(code))
    .arg_error("unknown dtype ", deparse(dtype), "; one of ", paste(.dtype_names, collapse = ", "))
  code - 1L
}

.dtype_name <- function(code) if (code >= 0L) .dtype_names[[code + 1L]] else NA_character_

# ---- attribute strings ----------------------------------------------------------------------------
# An R value as the string the core parses (MXNet's conventions): TRUE -> "True", c(3, 3) -> "(3,3)",
# NULL -> "None", a context -> "cpu(0)". Numbers of length > 1 are tuples; they are passed in the
# core's order (attributes are not reversed as array dims are).
.attr_str <- function(v) {
  if (is.null(v)) return("None")
  if (is.axle.context(v)) return(format(v))
  if (is.character(v)) {
    if (length(v) != 1L) .arg_error("a string attribute must be one string, got ", length(v))
    return(v)
  }
  if (is.logical(v) && length(v) == 1L) return(if (isTRUE(v)) "True" else "False")
  if (is.numeric(v) || is.logical(v)) {
    s <- vapply(as.numeric(v), .num_str, "")
    if (length(v) == 1L && !inherits(v, "AsIs")) return(s)
    return(paste0("(", paste(s, collapse = ","), if (length(v) == 1L) ",)" else ")"))
  }
  .arg_error("cannot pass a ", class(v)[[1]], " as an attribute")
}

.num_str <- function(x) {
  if (is.na(x)) return("None")
  if (is.finite(x) && x == round(x) && abs(x) < 1e15) return(sprintf("%.0f", x))
  format(x, digits = 17L)
}

# Keys and values of a named list of attributes, as character vectors.
.attr_kv <- function(attrs) {
  attrs <- attrs[!vapply(attrs, is.null, TRUE)]
  list(keys = as.character(names(attrs)), vals = vapply(attrs, .attr_str, "", USE.NAMES = FALSE))
}

# ---- the library ------------------------------------------------------------------------------------
# Number of live handles of any kind in the core (leak accounting).
axle.live.handles <- function() .Call(C_ax_live_handles)

# Pool statistics of a device: bytes_in_use, bytes_pooled, num_allocs, pool_hits, peak_bytes_in_use.
axle.storage.stats <- function(ctx = NULL) {
  ctx <- .ctx_or_default(ctx)
  s <- .Call(C_ax_storage_stats, ctx$device_typeid, ctx$device_id)
  names(s) <- c("bytes_in_use", "bytes_pooled", "num_allocs", "pool_hits", "peak_bytes_in_use")
  s
}

# Gives a device's pooled (unused) memory back to the system.
axle.storage.empty.cache <- function(ctx = NULL) {
  ctx <- .ctx_or_default(ctx)
  invisible(.Call(C_ax_empty_cache, ctx$device_typeid, ctx$device_id))
}

# Waits until every pushed op has run; raises the first asynchronous error not yet reported.
axle.nd.waitall <- function() invisible(.Call(C_ax_wait_all))

# Seeds the random generators of every device.
axle.set.seed <- function(seed) invisible(.Call(C_ax_random_seed, as.integer(seed)))

# Whether ops called imperatively run in training mode; returns the previous setting.
axle.set.training <- function(is.train) .Call(C_ax_set_training, as.integer(isTRUE(is.train)))

# Frees a handle (NDArray, symbol or executor) now instead of at garbage collection.
axle.free <- function(x) {
  if (inherits(x, "AxleExecutor")) x <- x$handle
  invisible(.Call(C_ax_free, x))
}

# Whether x is a handle that has not been freed.
axle.is.live <- function(x) {
  if (inherits(x, "AxleExecutor")) x <- x$handle
  .Call(C_ax_is_live, x)
}

# The library's version (major, minor, patch).
axle.version <- function() .state$version
