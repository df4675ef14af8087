# Executors: a symbol bound to arrays. An executor is an environment of class AxleExecutor with
# handle (the core's executor), symbol, ctx, arg.arrays, grad.arrays (NULL where grad.req is
# "null"), aux.arrays and outputs, each a named list of NDArrays shared with the core: writing into
# exec$arg.arrays$data (data[] <- values) changes what the next forward reads, and the outputs are
# overwritten by every forward.

.grad_req_codes <- c(null = 0L, write = 1L, inplace = 2L, add = 3L)

# grad.req: one of "null", "write", "add" for every argument, one per argument, or a named vector
# (arguments not named get "null").
.grad_reqs <- function(grad.req, arg_names) {
  if (!is.character(grad.req))
    .arg_error("grad.req must be \"null\", \"write\" or \"add\" (one, one per argument, or named)")
  if (!is.null(names(grad.req))) {
    bad <- setdiff(names(grad.req), arg_names)
    if (length(bad)) .arg_error("grad.req names unknown arguments: ", paste(bad, collapse = ", "))
    req <- stats::setNames(rep("null", length(arg_names)), arg_names)
    req[names(grad.req)] <- grad.req
  } else if (length(grad.req) == 1L) {
    req <- rep(grad.req, length(arg_names))
  } else if (length(grad.req) == length(arg_names)) {
    req <- grad.req
  } else {
    .arg_error("grad.req has ", length(grad.req), " entries for ", length(arg_names), " arguments")
  }
  codes <- .grad_req_codes[req]
  if (anyNA(codes)) .arg_error("unknown grad.req ", paste(req[is.na(codes)], collapse = ", "))
  stats::setNames(unname(codes), arg_names)
}

# Arrays by the symbol's names: a named list in any order, or an unnamed one in that order.
.by_names <- function(arrays, nms, what) {
  if (is.null(arrays)) arrays <- list()
  if (is.axle.ndarray(arrays)) arrays <- list(arrays)
  if (!is.null(names(arrays))) {
    missing <- setdiff(nms, names(arrays))
    if (length(missing)) .arg_error(what, " lacks ", paste(missing, collapse = ", "))
    arrays <- arrays[nms]
  } else if (length(arrays) != length(nms)) {
    .arg_error(what, " has ", length(arrays), " arrays for ", length(nms), " names (", paste(nms, collapse = ", "), ")")
  }
  stats::setNames(arrays, nms)
}

# Binds symbol to arrays. arg.arrays, aux.arrays: lists (named or in the symbol's order);
# arg.grads: gradient arrays (NULL where grad.req is "null"; created as zeros when not given);
# shared.exec: an executor whose memory this one may reuse (the two must not run at once).
axle.sym.bind <- function(symbol, ctx = NULL, arg.arrays, aux.arrays = NULL, grad.req = "null", arg.grads = NULL,
                          shared.exec = NULL) {
  ctx <- .ctx_or_default(ctx)
  .check_sym(symbol)
  arg_names <- arguments(symbol)
  args <- .by_names(arg.arrays, arg_names, "arg.arrays")
  aux <- .by_names(aux.arrays, auxiliary.states(symbol), "aux.arrays")
  reqs <- .grad_reqs(grad.req, arg_names)
  grads <- if (is.null(arg.grads)) vector("list", length(arg_names)) else .by_names(arg.grads, arg_names, "arg.grads")
  for (i in seq_along(arg_names)) {
    if (reqs[[i]] == 0L) {
      grads[i] <- list(NULL)
    } else if (is.null(grads[[i]])) {
      grads[[i]] <- axle.nd.zeros(dim(args[[i]]), axle.nd.context(args[[i]]), axle.nd.dtype(args[[i]]))
    }
  }
  names(grads) <- arg_names
  shared <- if (is.null(shared.exec)) NULL else .check_exec(shared.exec)$handle
  handle <- .Call(C_ax_exec_bind, symbol, ctx$device_typeid, ctx$device_id, unname(args), unname(grads), reqs,
                  unname(aux), shared)
  exec <- new.env(parent = emptyenv())
  exec$handle <- handle
  exec$symbol <- symbol
  exec$ctx <- ctx
  exec$grad.req <- stats::setNames(names(.grad_req_codes)[reqs + 1L], arg_names)
  exec$arg.arrays <- args
  exec$grad.arrays <- grads
  exec$aux.arrays <- aux
  exec$outputs <- stats::setNames(.Call(C_ax_exec_outputs, handle), outputs(symbol))
  class(exec) <- "AxleExecutor"
  exec
}

# Binds symbol with new arrays (zeros) of the shapes inferred from the given input shapes (R dims,
# by name): axle.simple.bind(net, axle.cpu(), data = c(784, 128), grad.req = "write").
# fixed.param: arguments that get no gradient whatever grad.req says. type.dict: dtypes by name.
axle.simple.bind <- function(symbol, ctx = NULL, grad.req = "null", fixed.param = NULL, ..., type.dict = NULL,
                             shared.exec = NULL) {
  ctx <- .ctx_or_default(ctx)
  shapes <- infer.shape(symbol, ...)
  if (is.null(shapes)) {
    part <- infer.shape(symbol, ..., partial = TRUE)$arg.shapes
    unknown <- names(part)[vapply(part, function(s) is.null(s) || anyNA(s), TRUE)]
    .axle_raise(3L, paste0("axle.simple.bind: cannot decide the shapes of ", paste(unknown, collapse = ", "),
                           "; give them as arguments"))
  }
  types <- if (is.null(type.dict)) NULL else do.call(infer.type, as.list(type.dict))
  make <- function(shapes, dtypes) {
    Map(function(s, n) axle.nd.zeros(s, ctx, if (is.null(dtypes)) "float32" else dtypes[[n]]), shapes, names(shapes))
  }
  args <- make(shapes$arg.shapes, types$arg.types)
  aux <- make(shapes$aux.shapes, types$aux.types)
  reqs <- names(.grad_req_codes)[.grad_reqs(grad.req, names(args)) + 1L]
  reqs[names(args) %in% fixed.param] <- "null"
  axle.sym.bind(symbol, ctx, args, aux, stats::setNames(reqs, names(args)), shared.exec = shared.exec)
}

is.axle.executor <- function(x) inherits(x, "AxleExecutor")

.check_exec <- function(x) {
  if (!is.axle.executor(x)) .arg_error("expected an AxleExecutor, got ", class(x)[[1]])
  x
}

# Pushes the forward pass (returns at once; reading an output waits for it).
axle.exec.forward <- function(exec, is.train = FALSE) {
  invisible(.Call(C_ax_exec_forward, .check_exec(exec)$handle, as.integer(isTRUE(is.train))))
}

# Pushes the backward pass. out.grads: one NDArray (or NULL for a loss output) per output, or
# NULL when every output is a loss.
axle.exec.backward <- function(exec, out.grads = NULL) {
  if (is.axle.ndarray(out.grads)) out.grads <- list(out.grads)
  invisible(.Call(C_ax_exec_backward, .check_exec(exec)$handle, if (is.null(out.grads)) list() else unname(out.grads)))
}

# Copies arrays into the executor's argument / aux / gradient arrays (through the engine).
# match.name: arrays is a named list matched by name (others left alone); else one per array in
# order. skip.null: NULL entries are left alone.
axle.exec.update.arg.arrays <- function(exec, arg.arrays, match.name = FALSE, skip.null = FALSE) {
  .update_arrays(.check_exec(exec)$arg.arrays, arg.arrays, match.name, skip.null, "arg.arrays")
}
axle.exec.update.aux.arrays <- function(exec, aux.arrays, match.name = FALSE, skip.null = FALSE) {
  .update_arrays(.check_exec(exec)$aux.arrays, aux.arrays, match.name, skip.null, "aux.arrays")
}
axle.exec.update.grad.arrays <- function(exec, grad.arrays, match.name = FALSE, skip.null = FALSE) {
  .update_arrays(.check_exec(exec)$grad.arrays, grad.arrays, match.name, skip.null, "grad.arrays")
}

.update_arrays <- function(targets, values, match.name, skip.null, what) {
  if (match.name) {
    unknown <- setdiff(names(values), names(targets))
    if (length(unknown)) .arg_error("the executor has no ", what, " named ", paste(unknown, collapse = ", "))
    nms <- names(values)
  } else {
    if (length(values) != length(targets)) .arg_error(what, ": ", length(values), " arrays for ", length(targets))
    nms <- names(targets)
    names(values) <- nms
  }
  for (n in nms) {
    v <- values[[n]]
    if (is.null(v)) {
      if (!skip.null) .arg_error(what, ": ", n, " is NULL (use skip.null = TRUE)")
      next
    }
    if (is.null(targets[[n]])) .arg_error(what, ": the executor has no array for ", n)
    targets[[n]][] <- v
  }
  invisible(NULL)
}

# The memory plan: bytes held for intermediate entries, bytes one buffer per entry would take,
# buffers, entries, outputs written in place.
axle.exec.memory.plan <- function(exec) {
  stats::setNames(.Call(C_ax_exec_memory_plan, .check_exec(exec)$handle),
                  c("planned_bytes", "naive_bytes", "num_buffers", "num_entries", "num_inplace"))
}

# The graph and its memory plan, as text.
axle.exec.debug.str <- function(exec) .Call(C_ax_exec_print, .check_exec(exec)$handle)

format.AxleExecutor <- function(x, ...) {
  sprintf("<AxleExecutor of %s @%s, outputs %s>", format(x$symbol), format(x$ctx),
          paste(names(x$outputs), collapse = ", "))
}
print.AxleExecutor <- function(x, ...) {
  cat(format(x), "\n", sep = "")
  invisible(x)
}
