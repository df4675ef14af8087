# The shared conformance cases (tests/conformance, FORMAT.md there) run through the R binding, as
# tests/c/test_conformance.c runs them through the C API: load each case's symbol and .params,
# bind, run forward/backward, compare with the float64 expectations, and check that live handles
# and bytes in use return to their baseline. Skips: skips/r.txt; a listed case that passes fails.

# The repository's folder of a path given relative to its root: $AXLE_REPO, else found upwards
# from the working directory (testthat runs in tests/testthat of the package).
repo_path <- function(rel) {
  roots <- c(Sys.getenv("AXLE_REPO"), "../../..", "../..", "..", ".")
  for (r in roots[nzchar(roots)]) {
    p <- file.path(r, rel)
    if (file.exists(p)) return(normalizePath(p))
  }
  NULL
}

# ---- meta.txt ----------------------------------------------------------------------------------
read_meta <- function(path) {
  lines <- readLines(path, warn = FALSE)
  lines <- lines[nzchar(lines) & !startsWith(lines, "#")]
  sp <- regexpr(" ", lines, fixed = TRUE)
  list(keys = ifelse(sp > 0, substr(lines, 1L, sp - 1L), lines),
       vals = ifelse(sp > 0, substring(lines, sp + 1L), ""))
}

meta_get <- function(m, key, default = NULL) {
  i <- match(key, m$keys)
  if (is.na(i)) default else m$vals[[i]]
}

# "name=req" words: the grad_req of every argument ("null" when not listed).
grad_reqs <- function(m, arg_names) {
  words <- strsplit(meta_get(m, "grad_req", ""), " +")[[1]]
  words <- words[nzchar(words)]
  reqs <- stats::setNames(rep("null", length(arg_names)), arg_names)
  for (w in words) {
    kv <- strsplit(w, "=", fixed = TRUE)[[1]]
    if (kv[[1]] %in% arg_names) reqs[[kv[[1]]]] <- kv[[2]]
  }
  reqs
}

# ---- comparisons -----------------------------------------------------------------------------------
values <- function(x) as.numeric(as.vector(x))

compare <- function(key, got, exp, rtol, atol) {
  if (!identical(dim(got), dim(exp)))
    return(sprintf("%s: shape (%s) differs from the expected (%s)", key, paste(rev(dim(got)), collapse = ","),
                   paste(rev(dim(exp)), collapse = ",")))
  g <- values(got)
  e <- values(exp)
  ok <- g == e | (is.nan(g) & is.nan(e)) | abs(g - e) <= atol + rtol * abs(e)
  ok[is.na(ok)] <- FALSE
  if (all(ok)) return(NULL)
  i <- which(!ok)[[1]]
  sprintf("%s: element %d: got %.9g, expected %.9g (rtol %g, atol %g)", key, i - 1L, g[[i]], e[[i]], rtol, atol)
}

# One `check` line (FORMAT.md, Random ops) on an array: NULL when it holds, else why not.
run_check <- function(key, spec, got, data, lookup) {
  w <- strsplit(spec, " +")[[1]]
  what <- w[[1]]
  a <- suppressWarnings(as.numeric(w[2]))
  b <- suppressWarnings(as.numeric(w[3]))
  g <- values(got)
  stat <- NA
  ok <- switch(what,
    shape = identical(as.numeric(rev(dim(got))), as.numeric(w[-1])),
    mean = { stat <- mean(g); abs(stat - a) <= b },
    std = { stat <- sqrt(mean((g - mean(g))^2)); abs(stat - a) <= b },
    min = { stat <- min(g); abs(stat - a) <= b },
    max = { stat <- max(g); abs(stat - a) <= b },
    range = all(g >= a & g <= b),
    zero_frac = { stat <- mean(g == 0); abs(stat - a) <= b },
    zero_or = {
      e <- values(data[[key]])
      length(e) == length(g) && all(g == 0 | abs(g - e) <= 1e-5 + 1e-5 * abs(e))
    },
    sorted = {
      e <- values(data[[key]])
      identical(sort(g), sort(e))
    },
    zeros_match = {
      other <- lookup(w[[2]])
      if (is.null(other)) return(sprintf("check %s: no array %s to match", key, w[[2]]))
      o <- values(other)
      length(o) == length(g) && all((g == 0) == (o == 0))
    },
    FALSE)
  if (isTRUE(ok)) NULL else sprintf("check %s %s failed (statistic %.6g)", key, spec, stat)
}

# ---- running a case ----------------------------------------------------------------------------------
# A failure that is not the core's: the case fails at the current stage with this message.
case_failure <- function(msg) stop(structure(class = c("case_failure", "error", "condition"),
                                             list(message = msg, call = NULL)))

bind_case <- function(sym, data, m, prefix, first = NULL, share = character(0)) {
  arg_names <- arguments(sym)
  reqs <- grad_reqs(m, arg_names)
  args <- list()
  grads <- list()
  for (n in arg_names) {
    if (!is.null(first) && n %in% share) {
      args[[n]] <- first$arg.arrays[[n]]
      grads[n] <- list(first$grad.arrays[[n]])
      next
    }
    a <- data[[paste0(prefix, ":", n)]]
    if (is.null(a)) a <- data[[paste0("arg:", n)]]
    if (is.null(a)) case_failure(sprintf("data.params has no arg:%s", n))
    args[[n]] <- a
    grads[n] <- list(NULL)
    if (reqs[[n]] != "null") {
      g <- axle.nd.zeros(dim(a), dtype = axle.nd.dtype(a))
      init <- data[[paste0("grad_init:", n)]]
      if (!is.null(init)) g[] <- init
      grads[[n]] <- g
    }
  }
  aux <- lapply(auxiliary.states(sym), function(n) {
    x <- data[[paste0("aux:", n)]]
    if (is.null(x)) case_failure(sprintf("data.params has no aux:%s", n))
    x
  })
  axle.sym.bind(sym, axle.cpu(), args, aux, grad.req = reqs, arg.grads = grads, shared.exec = first)
}

run_passes <- function(exec, data, m, head_prefix) {
  passes <- as.integer(meta_get(m, "passes", "1"))
  is_train <- meta_get(m, "is_train", "0") == "1"
  backward <- any(exec$grad.req != "null")
  heads <- lapply(seq_along(exec$outputs) - 1L, function(i) data[[paste0(head_prefix, ":", i)]])
  any_head <- !all(vapply(heads, is.null, TRUE))
  for (p in seq_len(passes)) {
    axle.exec.forward(exec, is.train = is_train)
    if (backward) axle.exec.backward(exec, if (any_head) heads else NULL)
  }
  axle.nd.waitall()
}

# The executor's array for a key: out:i, grad:name, aux_out:name (with its prefixes).
view <- function(exec, out_prefix, grad_prefix) {
  function(key) {
    colon <- regexpr(":", key, fixed = TRUE)
    p <- substr(key, 1L, colon - 1L)
    rest <- substring(key, colon + 1L)
    if (p == out_prefix) {
      i <- as.integer(rest) + 1L
      return(if (i <= length(exec$outputs)) exec$outputs[[i]] else NULL)
    }
    if (p == grad_prefix) return(exec$grad.arrays[[rest]])
    if (p == "aux_out") return(exec$aux.arrays[[rest]])
    NULL
  }
}

# Checks every expectation with one of the prefixes against the executor's arrays.
verify_all <- function(m, data, lookup, prefixes) {
  rtol <- as.numeric(meta_get(m, "rtol", "1e-5"))
  atol <- as.numeric(meta_get(m, "atol", "1e-6"))
  checks <- m$vals[m$keys == "check"]
  check_keys <- sub(" .*", "", checks)
  keys <- names(data)
  keys <- union(keys[sub(":.*", "", keys) %in% prefixes], check_keys[sub(":.*", "", check_keys) %in% prefixes])
  for (key in keys) {
    got <- lookup(key)
    if (is.null(got)) case_failure(sprintf("%s is expected but the executor has no such array", key))
    mine <- checks[check_keys == key]
    if (length(mine) == 0L) {
      msg <- compare(key, got, data[[key]], rtol, atol)
      if (!is.null(msg)) case_failure(msg)
    }
    for (c in mine) {
      msg <- run_check(key, substring(c, nchar(key) + 2L), got, data, lookup)
      if (!is.null(msg)) case_failure(msg)
    }
  }
}

check_dtypes <- function(m, outs) {
  want <- strsplit(meta_get(m, "out_dtype", ""), " +")[[1]]
  want <- want[nzchar(want)]
  for (i in seq_along(want)) {
    if (i > length(outs)) break
    got <- axle.nd.dtype(outs[[i]])
    if (got != want[[i]]) case_failure(sprintf("an output has dtype %s, expected %s", got, want[[i]]))
  }
}

# Runs the graph part of a case; set_stage records how far it got; the executors go into made.
run_graph <- function(sym, data, m, set_stage, made) {
  share <- meta_get(m, "exec2_share")
  seed <- meta_get(m, "seed")
  if (!is.null(seed)) axle.set.seed(as.integer(seed))
  set_stage("bind")
  e1 <- made$e1 <- bind_case(sym, data, m, "arg")
  set_stage("run")
  run_passes(e1, data, m, "head")
  set_stage("compare")
  check_dtypes(m, e1$outputs)
  # with a second executor, the first one's outputs are read before it runs (they may share buffers)
  verify_all(m, data, view(e1, "out", "grad"), if (is.null(share)) c("out", "aux_out", "grad") else c("out", "aux_out"))
  if (!is.null(share)) {
    set_stage("bind")
    e2 <- made$e2 <- bind_case(sym, data, m, "arg2", e1, strsplit(share, " +")[[1]])
    set_stage("run")
    run_passes(e2, data, m, "head2")
    set_stage("compare")
    verify_all(m, data, view(e2, "out2", "grad2"), c("out2", "grad2"))
    verify_all(m, data, view(e1, "out", "grad"), "grad")
  }
}

# NULL when the case passes, else why it fails.
run_case <- function(dir, name) {
  case <- file.path(dir, "cases", name)
  m <- read_meta(file.path(case, "meta.txt"))
  want_stage <- meta_get(m, "error_stage")
  stage <- "load_symbol"
  made <- new.env()
  err <- tryCatch({
    made$sym <- axle.sym.load(file.path(case, "symbol.json"))
    stage <- "load_params"
    made$data <- axle.nd.load(file.path(case, "data.params"))
    run_graph(made$sym, made$data, m, function(s) stage <<- s, made)
    NULL
  }, error = function(e) e)
  release(made)
  if (!is.null(want_stage)) {
    want <- meta_get(m, "error", "")
    if (is.null(err)) return(sprintf("expected an error at %s, but the case ran", want_stage))
    if (stage != want_stage)
      return(sprintf("failed at %s (%s), expected at %s", stage, conditionMessage(err), want_stage))
    if (!inherits(err, "axle_error")) return(sprintf("an R error, not the core's: %s", conditionMessage(err)))
    if (!grepl(want, conditionMessage(err), fixed = TRUE))
      return(sprintf("the error \"%s\" does not contain \"%s\"", conditionMessage(err), want))
    return(NULL)
  }
  if (is.null(err)) NULL else sprintf("%s: %s", stage, conditionMessage(err))
}

# Frees what a case made now (what an error left unreachable waits for the garbage collector).
release <- function(made) {
  for (e in list(made$e2, made$e1)) {
    if (is.null(e)) next
    axle.free(e)
    for (x in c(e$outputs, e$grad.arrays)) if (!is.null(x)) axle.free(x)
  }
  if (!is.null(made$sym)) axle.free(made$sym)
  for (x in made$data) axle.free(x)
}

# ---- every case: skips, leak accounting -------------------------------------------------------------
read_skips <- function(path) {
  if (!file.exists(path)) return(list())
  lines <- readLines(path, warn = FALSE)
  lines <- lines[nzchar(lines) & !startsWith(lines, "#")]
  sp <- regexpr(" ", lines, fixed = TRUE)
  pattern <- ifelse(sp > 0, substr(lines, 1L, sp - 1L), lines)
  reason <- trimws(ifelse(sp > 0, substring(lines, sp + 1L), ""))
  Map(function(p, r) list(regex = utils::glob2rx(p), reason = r), pattern, reason)
}

skip_reason <- function(skips, name) {
  for (s in skips) if (grepl(s$regex, name)) return(s$reason)
  NULL
}

# Live handles and bytes in use of cpu(0) once every op has run; with collect, after a garbage
# collection (finalizers queue the handles of collected objects; the next call into the glue frees
# them).
resources <- function(collect = FALSE) {
  if (collect) gc(verbose = FALSE)
  axle.nd.waitall()
  c(handles = axle.live.handles(), bytes = axle.storage.stats(axle.cpu())[["bytes_in_use"]])
}

# Why the resources differ from the baseline, or NULL.
leaked <- function(base, now) {
  if (now[["handles"]] != base[["handles"]])
    return(sprintf("live handles did not return to their baseline (%g -> %g)", base[["handles"]], now[["handles"]]))
  if (now[["bytes"]] != base[["bytes"]])
    return(sprintf("bytes in use did not return to their baseline (%g -> %g)", base[["bytes"]], now[["bytes"]]))
  NULL
}

run_conformance <- function(dir) {
  names <- readLines(file.path(dir, "cases", "index.txt"), warn = FALSE)
  names <- names[nzchar(names)]
  skips <- read_skips(file.path(dir, "skips", "r.txt"))
  res <- list(total = length(names), passed = 0L, skipped = 0L, failures = character(0), skip_lines = character(0))
  # A collection is slow (tens of ms with the package loaded), so a case's handles are freed
  # explicitly (release) and the baseline is the clean state; only when that does not restore it
  # (an error left objects unreachable) does a collection decide.
  base <- resources(collect = TRUE)
  for (name in names) {
    msg <- run_case(dir, name)
    if (!is.null(leaked(base, resources()))) {
      now <- resources(collect = TRUE)
      if (is.null(msg)) msg <- leaked(base, now)
      base <- now
    }
    skip <- skip_reason(skips, name)
    if (!is.null(skip) && is.null(msg)) {
      res$failures <- c(res$failures, sprintf("%s: listed in skips/r.txt (%s) but passes: remove it from the list",
                                              name, skip))
    } else if (!is.null(skip)) {
      res$skipped <- res$skipped + 1L
      res$skip_lines <- c(res$skip_lines, sprintf("SKIP %s: %s (%s)", name, skip, msg))
    } else if (is.null(msg)) {
      res$passed <- res$passed + 1L
    } else {
      res$failures <- c(res$failures, sprintf("%s: %s", name, msg))
    }
  }
  res
}
