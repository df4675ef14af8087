# Op functions generated at load from the core's registry (AxListOps, AxOpGetInfo): for every op
# `X`, axle.nd.X runs it on NDArrays and axle.sym.X makes a symbol node; an op whose name starts
# with "_" becomes axle.nd.internal.X / axle.sym.internal.X (without the "_"). Their formals are the
# op's inputs (or ... for ops with any number of inputs), then its attributes with the registry's
# defaults, then `...` (further attributes), `out` (axle.nd: arrays to write into) or `name`
# (axle.sym). Only the attributes a call names are passed to the core, which applies its defaults.

.op_cache <- new.env(parent = emptyenv())

# The op handle of a registry name (cached).
.op <- function(name) {
  h <- .op_cache[[name]]
  if (is.null(h)) h <- .op_cache[[name]] <- .Call(C_ax_op_handle, name)
  h
}

# Runs an op and returns its one output or the list of its outputs.
.invoke <- function(op_name, inputs, attrs = list(), out = NULL) {
  kv <- .attr_kv(attrs)
  if (is.axle.ndarray(out)) out <- list(out)
  res <- .Call(C_ax_invoke, .op(op_name), inputs, kv$keys, kv$vals, out)
  if (length(res) == 1L) res[[1]] else res
}

# ---- registry descriptions ------------------------------------------------------------------------
# The registry's description of an op: name, doc, inputs, params (name, type, doc, default), variadic.
axle.op.info <- function(name) {
  info <- .Call(C_ax_op_info, .op(name))
  info$defaults <- lapply(info$param_types, .parse_default)
  info$required <- !grepl("optional", info$param_types, fixed = TRUE)
  info
}

# MXNet's "int, optional, default='1'" as an R value (NULL for 'None'; a logical for a boolean; a
# string when not a number or a tuple).
.parse_default <- function(type) {
  m <- regmatches(type, regexec("default=(.*)$", type))[[1]]
  if (length(m) < 2L) return(NULL)
  s <- sub("^'(.*)'$", "\\1", m[[2]])
  s <- sub("^\"(.*)\"$", "\\1", s)
  if (s %in% c("None", "")) return(NULL)
  if (s %in% c("True", "true")) return(TRUE)
  if (s %in% c("False", "false")) return(FALSE)
  num <- suppressWarnings(as.numeric(s))
  if (!is.na(num)) return(if (startsWith(type, "boolean")) num != 0 else num)
  if (grepl("^[[(][-0-9., ]*[])]$", s)) {
    parts <- strsplit(gsub("[][() ]", "", s), ",", fixed = TRUE)[[1]]
    parts <- parts[parts != ""]
    return(as.numeric(parts))
  }
  s
}

# ---- calling an op from generated functions -------------------------------------------------------
# args: the formals the call named (values), dots: list(...). Splits them into inputs and attributes.
.split_call <- function(spec, args, dots, input_class) {
  dot_names <- names(dots)
  if (is.null(dot_names)) dot_names <- rep("", length(dots))
  attrs <- c(args[names(args) %in% spec$params], dots[dot_names != ""])
  if (spec$variadic) {
    inputs <- dots[dot_names == ""]
    if (length(inputs) == 1L && is.list(inputs[[1]]) && !inherits(inputs[[1]], input_class)) inputs <- inputs[[1]]
    if (spec$var_key %in% spec$params && is.null(attrs[[spec$var_key]])) attrs[[spec$var_key]] <- length(inputs)
    keys <- NULL
  } else {
    if (any(dot_names == "")) .arg_error(spec$name, ": unexpected unnamed arguments (attributes go by name)")
    inputs <- args[intersect(spec$inputs, names(args))]
    inputs <- inputs[!vapply(inputs, is.null, TRUE)]
    keys <- names(inputs)
  }
  for (i in seq_along(inputs))
    if (!inherits(inputs[[i]], input_class))
      .arg_error(spec$name, ": input ", if (is.null(keys)) i else sprintf("'%s'", keys[[i]]), " must be an ",
                 input_class, ", got ", class(inputs[[i]])[[1]])
  if (spec$has_ctx && is.null(attrs$ctx)) attrs$ctx <- axle.ctx.default()
  list(inputs = unname(inputs), keys = keys, attrs = attrs)
}

.nd_call <- function(spec, args, dots, out) {
  s <- .split_call(spec, args, dots, "AxleNDArray")
  if (!spec$variadic && length(s$keys) > 0L && !identical(s$keys, spec$inputs[seq_along(s$keys)]))
    .arg_error(spec$name, ": inputs ", paste(setdiff(spec$inputs[seq_along(s$keys)], s$keys), collapse = ", "),
               " missing before ", s$keys[[length(s$keys)]])
  .invoke(spec$name, s$inputs, s$attrs, out)
}

.sym_call <- function(spec, args, dots, name) {
  s <- .split_call(spec, args, dots, "AxleSymbol")
  .sym_create(spec$name, s$inputs, s$attrs, name, s$keys)
}

# ---- generation ---------------------------------------------------------------------------------
.make_op_function <- function(info, kind, ns) {
  params <- info$param_names
  spec <- list(name = info$name, inputs = info$input_names, params = params,
               variadic = info$num_inputs < 0L, var_key = info$key_var_num_args,
               has_ctx = "ctx" %in% params)
  defaults <- lapply(seq_along(params), function(i) {
    if (info$required[[i]]) quote(expr = ) else info$defaults[[i]]
  })
  names(defaults) <- params
  reserved <- c("out", "name", "...")
  defaults <- defaults[!(params %in% c(reserved, info$input_names))]
  inputs <- if (spec$variadic) alist(... = ) else {
    x <- rep(list(NULL), length(info$input_names))
    names(x) <- info$input_names
    x
  }
  tail <- if (kind == "nd") list(out = NULL) else list(name = NULL)
  fmls <- c(inputs, defaults, if (!spec$variadic) alist(... = ), tail)
  f <- function() NULL
  formals(f) <- fmls
  call_fn <- if (kind == "nd") quote(.nd_call(spec, args, list(...), out)) else
    quote(.sym_call(spec, args, list(...), name))
  body(f) <- bquote({
    args <- mget(setdiff(names(match.call(expand.dots = FALSE))[-1L], c("...", .(names(tail)))), environment())
    .(call_fn)
  })
  environment(f) <- list2env(list(spec = spec), parent = ns)
  f
}

.r_name <- function(op_name, prefix) {
  if (startsWith(op_name, "_")) paste0(prefix, "internal.", substring(op_name, 2L)) else paste0(prefix, op_name)
}

# Assigns axle.nd.<op> and axle.sym.<op> for every registry op into ns (hand-written functions of
# the same name win). Returns the names assigned.
.generate_ops <- function(ns) {
  made <- character(0)
  for (op in .Call(C_ax_op_list)) {
    info <- axle.op.info(op)
    for (kind in c("nd", "sym")) {
      fname <- .r_name(op, paste0("axle.", kind, "."))
      if (exists(fname, envir = ns, inherits = FALSE)) next
      assign(fname, .make_op_function(info, kind, ns), envir = ns)
      made <- c(made, fname)
    }
  }
  made
}
