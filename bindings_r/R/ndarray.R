# NDArrays: external pointers of class AxleNDArray.
#
# Dims are reversed between R and the core, as in MXNet's R package: R arrays are column-major and
# the core's are row-major, so the same memory is an R array of dims (d1, ..., dn) and a core array
# of shape (dn, ..., d1). An R matrix of dims (features, batch) is a core array of shape
# (batch, features): the values are copied in the same order, never transposed. dim(), as.array()
# and axle.nd.array() work in R's order; op attributes (axis, shape, kernel) are passed to the core
# unchanged, in the core's order.

is.axle.ndarray <- function(x) inherits(x, "AxleNDArray")

.check_nd <- function(x, what) {
  if (!is.axle.ndarray(x)) .arg_error(what, " must be an AxleNDArray, got ", class(x)[[1]])
  x
}

# Creates an NDArray from an R vector, matrix or array (numeric, integer or logical), or copies an
# NDArray. dtype: "float32" (the default, as in MXNet), "float64", "float16", "uint8", "int32",
# "int8", "int64" or "bool".
axle.nd.array <- function(src.array, ctx = NULL, dtype = "float32") {
  ctx <- .ctx_or_default(ctx)
  if (is.axle.ndarray(src.array)) {
    out <- axle.nd.empty(dim(src.array), ctx, axle.nd.dtype(src.array))
    return(.Call(C_ax_nd_copyto, src.array, out))
  }
  if (!(is.numeric(src.array) || is.logical(src.array)) || is.object(src.array) && !is.array(src.array))
    .arg_error("axle.nd.array: src.array must be a numeric, integer or logical vector, matrix or array, not ",
               class(src.array)[[1]])
  d <- dim(src.array)
  if (is.null(d)) d <- length(src.array)
  .Call(C_ax_nd_from_r, src.array, rev(as.numeric(d)), ctx$device_typeid, ctx$device_id, .dtype_code(dtype))
}

# An uninitialised array of R dims `shape`.
axle.nd.empty <- function(shape, ctx = NULL, dtype = "float32") {
  ctx <- .ctx_or_default(ctx)
  .Call(C_ax_nd_create, rev(as.numeric(shape)), ctx$device_typeid, ctx$device_id, .dtype_code(dtype))
}

axle.nd.zeros <- function(shape, ctx = NULL, dtype = "float32") .filled(shape, ctx, dtype, 0)
axle.nd.ones <- function(shape, ctx = NULL, dtype = "float32") .filled(shape, ctx, dtype, 1)

.filled <- function(shape, ctx, dtype, value) {
  out <- axle.nd.empty(shape, ctx, dtype)
  .Call(C_ax_nd_set, out, rep(value, prod(shape)))
  out
}

dim.AxleNDArray <- function(x) {
  s <- rev(.Call(C_ax_nd_shape, x))
  if (length(s) == 0L) integer(0) else as.integer(s)
}

# A view of x with other R dims (the same memory; 0 and -1 as in MXNet's Reshape, in R's order).
`dim<-.AxleNDArray` <- function(x, value) {
  .Call(C_ax_nd_reshape, x, rev(as.numeric(value)), 0L)
}

length.AxleNDArray <- function(x) as.integer(prod(dim(x)))

axle.nd.dtype <- function(x) .dtype_name(.Call(C_ax_nd_dtype, .check_nd(x, "x")))
axle.nd.context <- function(x) .context_of_codes(.Call(C_ax_nd_context, .check_nd(x, "x")))

# The values as an R array with x's dims (double; integer for int32/int8/uint8; logical for bool).
# A 0-d array becomes a vector of length 1.
as.array.AxleNDArray <- function(x, ...) {
  v <- .Call(C_ax_nd_to_r, x)
  d <- dim(x)
  if (length(d) > 0L) dim(v) <- d
  v
}

as.vector.AxleNDArray <- function(x, mode = "any") as.vector(.Call(C_ax_nd_to_r, x), mode)
as.double.AxleNDArray <- function(x, ...) as.double(.Call(C_ax_nd_to_r, x))
as.matrix.AxleNDArray <- function(x, ...) {
  if (length(dim(x)) != 2L) .arg_error("as.matrix: the NDArray has ", length(dim(x)), " dims, not 2")
  as.array(x)
}

format.AxleNDArray <- function(x, ...) {
  if (!axle.is.live(x)) return("<AxleNDArray (freed)>")
  sprintf("<AxleNDArray %s %s @%s>", paste(dim(x), collapse = "x"), axle.nd.dtype(x), format(axle.nd.context(x)))
}

print.AxleNDArray <- function(x, ...) {
  if (axle.is.live(x)) print(as.array(x), ...)
  cat(format(x), "\n", sep = "")
  invisible(x)
}

# x[] <- value replaces every element: value is an NDArray (copied through the engine) or R
# numbers/logicals with as many elements (copied in R's element order).
`[<-.AxleNDArray` <- function(x, ..., value) {
  if (nargs() != 3L || !missing(..1))
    .arg_error("AxleNDArray: only x[] <- value (every element) is supported")
  if (is.axle.ndarray(value)) {
    .Call(C_ax_nd_copyto, value, x)
  } else if (length(value) == 1L && length(x) != 1L) {
    .Call(C_ax_nd_set, x, rep(value, length(x)))
  } else {
    .Call(C_ax_nd_set, x, value)
  }
  x
}

# Copies src into dst (same shape and dtype; any devices), asynchronously; returns dst.
axle.nd.copyto <- function(src, dst) {
  if (is.axle.context(dst)) return(axle.nd.array(src, dst))
  .Call(C_ax_nd_copyto, .check_nd(src, "src"), .check_nd(dst, "dst"))
}

# Blocks until x can be read; raises an error an op writing x met.
axle.nd.wait <- function(x) invisible(.Call(C_ax_nd_wait, .check_nd(x, "x")))

# ---- arithmetic and comparison --------------------------------------------------------------------
# For each operator: the op on two arrays (broadcasting), with a number on the right, with a number
# on the left.
.nd_ops <- list(
  "+" = c("broadcast_add", "_plus_scalar", "_plus_scalar"),
  "-" = c("broadcast_sub", "_minus_scalar", "_rminus_scalar"),
  "*" = c("broadcast_mul", "_mul_scalar", "_mul_scalar"),
  "/" = c("broadcast_div", "_div_scalar", "_rdiv_scalar"),
  "%%" = c("broadcast_mod", "_mod_scalar", "_rmod_scalar"),
  "^" = c("broadcast_power", "_power_scalar", "_rpower_scalar"),
  "==" = c("broadcast_equal", "_equal_scalar", "_equal_scalar"),
  "!=" = c("broadcast_not_equal", "_not_equal_scalar", "_not_equal_scalar"),
  ">" = c("broadcast_greater", "_greater_scalar", "_lesser_scalar"),
  ">=" = c("broadcast_greater_equal", "_greater_equal_scalar", "_lesser_equal_scalar"),
  "<" = c("broadcast_lesser", "_lesser_scalar", "_greater_scalar"),
  "<=" = c("broadcast_lesser_equal", "_lesser_equal_scalar", "_greater_equal_scalar"))

Ops.AxleNDArray <- function(e1, e2) {
  .ops_generic(.Generic, e1, if (!missing(e2)) e2, .nd_ops, "AxleNDArray", .invoke,
               function(x) .invoke("negative", list(x)),
               function(other, x) axle.nd.array(other, axle.nd.context(x), axle.nd.dtype(x)))
}

# The Ops group generic of a handle class. table[[generic]]: the op on two handles, with a number on
# the right, with a number on the left; make(op, inputs, attrs) runs or builds it; neg(x) is unary
# minus; promote(other, x) makes a handle of an R operand longer than one (or raises). e2 is NULL
# for a unary operator.
.ops_generic <- function(generic, e1, e2, table, cls, make, neg, promote) {
  if (is.null(e2)) {
    if (generic == "-") return(neg(e1))
    if (generic == "+") return(e1)
    .arg_error(cls, ": unary ", generic, " is not supported")
  }
  ops <- table[[generic]]
  if (is.null(ops)) .arg_error(cls, ": the operator ", generic, " is not supported")
  h1 <- inherits(e1, cls)
  h2 <- inherits(e2, cls)
  if (h1 && h2) return(make(ops[[1]], list(e1, e2)))
  other <- if (h1) e2 else e1
  if (!(is.numeric(other) || is.logical(other)))
    .arg_error(cls, " ", generic, ": the other operand must be an ", cls, " or a number, not ", class(other)[[1]])
  if (length(other) != 1L) {
    other <- promote(other, if (h1) e1 else e2)
    return(make(ops[[1]], if (h1) list(e1, other) else list(other, e2)))
  }
  attrs <- list(scalar = as.numeric(other))
  if (h1) make(ops[[2]], list(e1), attrs) else make(ops[[3]], list(e2), attrs)
}

# ---- .params files ----------------------------------------------------------------------------------
# Saves NDArrays in MXNet 1.x's .params format: a named list (a dict), an unnamed list, or one array.
axle.nd.save <- function(ndarray, filename) {
  if (is.axle.ndarray(ndarray)) ndarray <- list(ndarray)
  if (!is.list(ndarray)) .arg_error("axle.nd.save: ndarray must be an NDArray or a list of them")
  nms <- names(ndarray)
  if (!is.null(nms) && (anyNA(nms) || any(nms == ""))) .arg_error("axle.nd.save: every array needs a name, or none")
  invisible(.Call(C_ax_nd_save, path.expand(filename), unname(ndarray), nms))
}

# Loads a .params file: a list of NDArrays, named when the file holds names.
axle.nd.load <- function(filename) .Call(C_ax_nd_load, path.expand(filename))
