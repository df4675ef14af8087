# Symbols: external pointers of class AxleSymbol. Shapes given to and returned by symbol functions
# (Variable's shape, infer.shape, axle.simple.bind) are in R's order (see ndarray.R); op attributes
# are in the core's.

is.axle.symbol <- function(x) inherits(x, "AxleSymbol")

.check_sym <- function(x, what = "symbol") {
  if (!is.axle.symbol(x)) .arg_error(what, " must be an AxleSymbol, got ", class(x)[[1]])
  x
}

# ---- names -----------------------------------------------------------------------------------------
# Automatic names, as MXNet's NameManager gives them: the op's name in lower case and a counter
# (fullyconnected0, _plus1). axle.name.reset() starts counting afresh.
.names <- new.env(parent = emptyenv())

.auto_name <- function(name, hint) {
  if (!is.null(name)) return(name)
  n <- .names[[hint]]
  if (is.null(n)) n <- 0L
  .names[[hint]] <- n + 1L
  paste0(hint, n)
}

axle.name.reset <- function() {
  rm(list = ls(.names, all.names = TRUE), envir = .names)
  invisible(NULL)
}

# An op node on input symbols (inputs by name when keys is given).
.sym_create <- function(op_name, inputs, attrs = list(), name = NULL, keys = NULL) {
  kv <- .attr_kv(attrs)
  name <- .auto_name(name, tolower(op_name))
  .Call(C_ax_sym_create_op, .op(op_name), name, kv$keys, kv$vals, unname(inputs), keys)
}

# ---- construction ------------------------------------------------------------------------------------
# A variable. shape: R dims (stored reversed, in the core's order); attr: a named list of string
# attributes; lr.mult/wd.mult/dtype/init become MXNet's __lr_mult__, __wd_mult__, __dtype__, __init__.
axle.sym.Variable <- function(name, attr = NULL, shape = NULL, lr.mult = NULL, wd.mult = NULL, dtype = NULL,
                              init = NULL) {
  if (!is.character(name) || length(name) != 1L) .arg_error("axle.sym.Variable: name must be one string")
  attrs <- as.list(attr)
  if (!is.null(shape)) attrs[["__shape__"]] <- .attr_str(I(rev(shape)))
  if (!is.null(lr.mult)) attrs[["__lr_mult__"]] <- lr.mult
  if (!is.null(wd.mult)) attrs[["__wd_mult__"]] <- wd.mult
  if (!is.null(dtype)) attrs[["__dtype__"]] <- .dtype_code(dtype)
  if (!is.null(init)) attrs[["__init__"]] <- init
  kv <- .attr_kv(attrs)
  .Call(C_ax_sym_variable, name, kv$keys, kv$vals)
}

# The outputs of several symbols as one symbol (symbols as arguments or one list).
axle.sym.Group <- function(...) {
  syms <- list(...)
  if (length(syms) == 1L && is.list(syms[[1]]) && !is.axle.symbol(syms[[1]])) syms <- syms[[1]]
  for (s in syms) .check_sym(s, "axle.sym.Group: every argument")
  .Call(C_ax_sym_group, unname(syms))
}

# A copy of symbol with free variables replaced: by name (axle.sym.compose(net, data = other)) or,
# unnamed, in the order of its inputs.
axle.sym.compose <- function(symbol, ...) {
  args <- list(...)
  for (a in args) .check_sym(a, "axle.sym.compose: every argument")
  keys <- names(args)
  .Call(C_ax_sym_compose, .check_sym(symbol), if (is.null(keys)) NULL else keys, unname(args))
}

# ---- reading a graph -------------------------------------------------------------------------------
arguments <- function(symbol) .Call(C_ax_sym_list, .check_sym(symbol), 0L)
auxiliary.states <- function(symbol) .Call(C_ax_sym_list, .check_sym(symbol), 1L)
axle.sym.inputs <- function(symbol) .Call(C_ax_sym_list, .check_sym(symbol), 2L)
outputs <- function(symbol) .Call(C_ax_sym_list, .check_sym(symbol), 3L)
internals <- function(symbol) .Call(C_ax_sym_derive, .check_sym(symbol), 1L)
# The inputs of the output nodes (NULL when they are variables).
children <- function(symbol) .Call(C_ax_sym_derive, .check_sym(symbol), 2L)
axle.sym.copy <- function(symbol) .Call(C_ax_sym_derive, .check_sym(symbol), 0L)

axle.sym.name <- function(symbol) .Call(C_ax_sym_name, .check_sym(symbol))

# Output i (1-based) or the output named i.
`[[.AxleSymbol` <- function(x, i) {
  if (is.character(i)) {
    idx <- match(i, outputs(x))
    if (is.na(idx)) .axle_raise(5L, sprintf("the symbol has no output named '%s' (outputs: %s)", i,
                                            paste(outputs(x), collapse = ", ")))
    i <- idx
  }
  n <- .Call(C_ax_sym_num_outputs, x)
  if (!is.numeric(i) || length(i) != 1L || i < 1 || i > n)
    .axle_raise(5L, sprintf("output index %s out of range 1..%d", format(i), n))
  .Call(C_ax_sym_get_output, x, as.integer(i) - 1L)
}

length.AxleSymbol <- function(x) .Call(C_ax_sym_num_outputs, x)

# Attributes: one (NULL when absent), or all of the output node's as a named character vector
# (recursive: every node's, named "node$key").
axle.sym.attr <- function(symbol, key) .Call(C_ax_sym_get_attr, .check_sym(symbol), key)
axle.sym.set.attr <- function(symbol, key, value) {
  invisible(.Call(C_ax_sym_set_attr, .check_sym(symbol), key, .attr_str(value)))
}
axle.sym.attributes <- function(symbol, recursive = FALSE) {
  s <- .Call(C_ax_sym_list_attr, .check_sym(symbol), as.integer(recursive))
  if (recursive) {
    m <- matrix(s, nrow = 3L)
    stats::setNames(m[3L, ], paste0(m[1L, ], "$", m[2L, ]))
  } else {
    m <- matrix(s, nrow = 2L)
    stats::setNames(m[2L, ], m[1L, ])
  }
}

format.AxleSymbol <- function(x, ...) {
  if (!axle.is.live(x)) return("<AxleSymbol (freed)>")
  nm <- axle.sym.name(x)
  sprintf("<AxleSymbol %s>", if (is.null(nm)) paste0("group [", paste(outputs(x), collapse = ", "), "]") else nm)
}
print.AxleSymbol <- function(x, ...) {
  cat(format(x), "\n", sep = "")
  invisible(x)
}
axle.sym.debug.str <- function(symbol) .Call(C_ax_sym_print, .check_sym(symbol))

# ---- inference ----------------------------------------------------------------------------------
# Shapes of arguments, outputs and aux states from the shapes of some arguments (by name, R dims):
# list(arg.shapes, out.shapes, aux.shapes), each a named list of R dims, or NULL when not every
# shape can be decided (as in MXNet's R package). partial = TRUE returns what is known instead
# (NULL for an unknown shape, NA for an unknown dim).
infer.shape <- function(symbol, ..., partial = FALSE) {
  known <- list(...)
  if (length(known) == 1L && is.list(known[[1]]) && is.null(names(known))) known <- known[[1]]
  if (length(known) > 0L && (is.null(names(known)) || any(names(known) == "")))
    .arg_error("infer.shape: give shapes by argument name, e.g. data = c(784, 128)")
  res <- .Call(C_ax_sym_infer_shape, .check_sym(symbol), as.character(names(known)),
               lapply(unname(known), function(s) rev(as.numeric(s))))
  if (!res[[4]] && !partial) return(NULL)
  r_order <- function(l, nms) stats::setNames(lapply(l, function(s) if (is.null(s)) NULL else rev(s)), nms)
  list(arg.shapes = r_order(res[[1]], arguments(symbol)), out.shapes = r_order(res[[2]], outputs(symbol)),
       aux.shapes = r_order(res[[3]], auxiliary.states(symbol)))
}

# dtypes (names) of arguments, outputs and aux states from the dtypes of some arguments.
infer.type <- function(symbol, ...) {
  known <- list(...)
  codes <- vapply(known, .dtype_code, 0L)
  res <- .Call(C_ax_sym_infer_type, .check_sym(symbol), as.character(names(known)), unname(codes))
  if (!res[[4]]) return(NULL)
  nm <- function(codes) vapply(codes, .dtype_name, "")
  list(arg.types = stats::setNames(nm(res[[1]]), arguments(symbol)),
       out.types = stats::setNames(nm(res[[2]]), outputs(symbol)),
       aux.types = stats::setNames(nm(res[[3]]), auxiliary.states(symbol)))
}

# ---- JSON ------------------------------------------------------------------------------------------
axle.sym.tojson <- function(symbol) .Call(C_ax_sym_tojson, .check_sym(symbol))
axle.sym.load.json <- function(json) .Call(C_ax_sym_from_json, json)
axle.sym.save <- function(symbol, filename) invisible(.Call(C_ax_sym_save, .check_sym(symbol), path.expand(filename)))
axle.sym.load <- function(filename) .Call(C_ax_sym_load, path.expand(filename))

# ---- operators ---------------------------------------------------------------------------------------
# MXNet's symbol operators: the op on two symbols, with a number on the right, with one on the left.
.sym_ops <- list(
  "+" = c("_Plus", "_PlusScalar", "_PlusScalar"),
  "-" = c("_Minus", "_MinusScalar", "_RMinusScalar"),
  "*" = c("_Mul", "_MulScalar", "_MulScalar"),
  "/" = c("_Div", "_DivScalar", "_RDivScalar"),
  "%%" = c("_Mod", "_ModScalar", "_RModScalar"),
  "^" = c("_Power", "_PowerScalar", "_RPowerScalar"),
  "==" = c("_equal", "_equal_scalar", "_equal_scalar"),
  "!=" = c("_not_equal", "_not_equal_scalar", "_not_equal_scalar"),
  ">" = c("_greater", "_greater_scalar", "_lesser_scalar"),
  ">=" = c("_greater_equal", "_greater_equal_scalar", "_lesser_equal_scalar"),
  "<" = c("_lesser", "_lesser_scalar", "_greater_scalar"),
  "<=" = c("_lesser_equal", "_lesser_equal_scalar", "_greater_equal_scalar"))

Ops.AxleSymbol <- function(e1, e2) {
  .ops_generic(.Generic, e1, if (!missing(e2)) e2, .sym_ops, "AxleSymbol", .sym_create,
               function(x) .sym_create("_MulScalar", list(x), list(scalar = -1)),
               function(other, x) {
                 .arg_error("AxleSymbol ", .Generic, ": the other operand must be a symbol or one number")
               })
}
