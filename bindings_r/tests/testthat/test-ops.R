# Op functions generated from the registry.

test_that("every registry op has an axle.nd and an axle.sym function", {
  ops <- .Call(axle:::C_ax_op_list)
  expect_gt(length(ops), 100)
  for (op in ops) {
    for (prefix in c("axle.nd.", "axle.sym.")) {
      fname <- axle:::.r_name(op, prefix)
      expect_true(exists(fname, envir = asNamespace("axle")), info = fname)
    }
  }
  expect_true("axle.nd.FullyConnected" %in% getNamespaceExports("axle"))
  expect_true("axle.sym.internal.plus_scalar" %in% getNamespaceExports("axle"))
})

test_that("argument names and defaults come from the op info", {
  f <- formals(axle.nd.FullyConnected)
  expect_equal(names(f)[1:4], c("data", "weight", "bias", "num_hidden"))
  expect_identical(f$no_bias, FALSE)
  expect_identical(f$flatten, TRUE)
  expect_true(is.name(f$num_hidden) && identical(as.character(f$num_hidden), "")) # required
  expect_true(all(c("...", "out") %in% names(f)))
  expect_equal(formals(axle.nd.Activation)$act_type, quote(expr = ))
  expect_identical(formals(axle.nd.Pooling)$pool_type, "max")
  expect_equal(formals(axle.nd.Convolution)$kernel, quote(expr = ))
  s <- formals(axle.sym.Convolution)
  expect_true(all(c("data", "weight", "bias", "kernel", "num_filter", "name") %in% names(s)))
  expect_equal(names(formals(axle.nd.add_n))[[1]], "...")
  info <- axle.op.info("FullyConnected")
  expect_equal(info$input_names, c("data", "weight", "bias"))
  expect_match(info$doc, ".")
})

test_that("FullyConnected matches R's matrix product (features x batch in R)", {
  set.seed(2)
  x <- matrix(rnorm(12), 4, 3) # 3 samples of 4 features
  w <- matrix(rnorm(20), 4, 5) # core (5, 4): 5 hidden units
  b <- rnorm(5)
  y <- axle.nd.FullyConnected(axle.nd.array(x), axle.nd.array(w), axle.nd.array(b), num_hidden = 5)
  expect_equal(dim(y), c(5L, 3L))
  expect_equal(as.array(y), t(w) %*% x + b, tolerance = 1e-5)
  y2 <- axle.nd.FullyConnected(data = axle.nd.array(x), weight = axle.nd.array(w), num_hidden = 5, no_bias = TRUE)
  expect_equal(as.array(y2), t(w) %*% x, tolerance = 1e-5)
})

test_that("attributes go by name or position, variadic inputs, out=, several outputs", {
  x <- axle.nd.array(c(-2, 0.5, 3))
  expect_equal(as.vector(as.array(axle.nd.clip(x, 0, 1))), c(0, 0.5, 1))
  expect_equal(as.vector(as.array(axle.nd.clip(x, a_min = -1, a_max = 2))), c(-1, 0.5, 2))
  expect_equal(as.vector(as.array(axle.nd.Activation(x, act_type = "relu"))), c(0, 0.5, 3))
  a <- axle.nd.array(1:3)
  expect_equal(as.vector(as.array(axle.nd.add_n(a, a, a))), c(3, 6, 9))
  expect_equal(as.vector(as.array(axle.nd.add_n(list(a, a)))), c(2, 4, 6))
  m <- axle.nd.array(matrix(1:4, 2))
  cat0 <- axle.nd.Concat(m, m, dim = 0) # core (2,2) + (2,2) along axis 0 -> (4,2): R dims (2,4)
  expect_equal(dim(cat0), c(2L, 4L))
  dst <- axle.nd.zeros(3)
  res <- axle.nd.exp(axle.nd.array(c(0, 1, 2)), out = dst)
  expect_identical(res, dst)
  expect_equal(as.vector(as.array(dst)), exp(c(0, 1, 2)), tolerance = 1e-6)
  parts <- axle.nd.SliceChannel(axle.nd.array(matrix(1:6, 3, 2)), num_outputs = 2, axis = 0)
  expect_length(parts, 2L)
  expect_equal(as.vector(as.array(parts[[2]])), 4:6)
  s <- axle.nd.sum(axle.nd.array(matrix(1:6, 3, 2)), axis = 1) # core axis 1 = R's first dim
  expect_equal(as.vector(as.array(s)), colSums(matrix(1:6, 3, 2)))
  r <- axle.nd.Reshape(axle.nd.array(1:6), shape = c(3, 2)) # core shape (3, 2): R dims (2, 3)
  expect_equal(dim(r), c(2L, 3L))
})

test_that("creation and random ops take a context by default", {
  axle.set.seed(3)
  u <- axle.nd.random_uniform(low = 0, high = 1, shape = c(1000))
  v <- as.vector(as.array(u))
  expect_true(all(v >= 0 & v < 1))
  expect_lt(abs(mean(v) - 0.5), 0.05)
  expect_equal(as.vector(as.array(axle.nd.internal.zeros(shape = c(2, 2)))), rep(0, 4))
})

test_that("bad calls give R errors carrying the core's message", {
  x <- axle.nd.array(1:3)
  expect_error(axle.nd.Activation(x, act_type = "nope"), "Activation", class = "axle_invalid_argument")
  expect_error(axle.nd.FullyConnected(x, x), "num_hidden", class = "axle_error")
  expect_error(axle.nd.exp("x"), "input 'data' must be an AxleNDArray, got character", class = "axle_invalid_argument")
  expect_error(axle.nd.exp(x, 3), "unexpected unnamed", class = "axle_invalid_argument")
  expect_error(axle.nd.exp(x, bogus = 1), "bogus", class = "axle_error")
  expect_error(axle.nd.FullyConnected(x, bias = x, num_hidden = 1), "weight missing before bias",
               class = "axle_invalid_argument")
  e <- tryCatch(axle.nd.Activation(x, act_type = "nope"), error = function(e) e)
  expect_s3_class(e, c("axle_invalid_argument", "axle_error", "error", "condition"))
  expect_equal(e$status, 1L)
})

test_that("an error inside an op surfaces at the wait, with the op's message", {
  a <- axle.nd.array(matrix(1:6, 3, 2))
  idx <- axle.nd.array(c(0, 7))
  y <- axle.nd.take(a, idx, mode = "raise") # pushed; fails when it runs
  expect_error(as.array(y), "index 7", class = "axle_error")
  axle.nd.waitall()
  expect_equal(as.array(a), matrix(as.numeric(1:6), 3, 2)) # the process goes on
})
