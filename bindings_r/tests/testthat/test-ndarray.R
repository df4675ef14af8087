# NDArrays from R: dims (reversed against the core's shape), dtypes, assignment, operators.

core_shape <- function(x) .Call(axle:::C_ax_nd_shape, x)

test_that("R vectors, matrices and arrays round-trip with their dims; the core sees them reversed", {
  v <- c(1.5, -2, 3)
  m <- matrix(as.numeric(1:6), 2, 3)
  a <- array(as.numeric(1:24), c(2, 3, 4))
  for (x in list(v, m, a)) {
    nd <- axle.nd.array(x)
    d <- if (is.null(dim(x))) length(x) else dim(x)
    expect_equal(dim(nd), d)
    expect_equal(core_shape(nd), rev(d))
    expect_equal(as.vector(as.array(nd)), as.vector(x))
    expect_equal(length(nd), length(x))
  }
  expect_equal(as.array(axle.nd.array(m)), m)
  # a matrix of dims (features, batch) is a core array of shape (batch, features): row i of the
  # core array is column i of the R matrix
  nd <- axle.nd.array(m)
  expect_equal(as.array(axle.nd.slice_axis(nd, axis = 0, begin = 1, end = 2)), m[, 2, drop = FALSE])
})

test_that("dtypes convert as documented", {
  x <- c(0.1, 2.5, -3)
  expect_equal(axle.nd.dtype(axle.nd.array(x)), "float32")
  expect_equal(as.array(axle.nd.array(x)), array(x, 3), tolerance = 1e-7)
  expect_identical(as.array(axle.nd.array(x, dtype = "float64")), array(x, 3))
  i32 <- as.array(axle.nd.array(c(1L, -7L, 3L), dtype = "int32"))
  expect_type(i32, "integer")
  expect_equal(as.vector(i32), c(1L, -7L, 3L))
  b <- as.array(axle.nd.array(c(TRUE, FALSE, TRUE), dtype = "bool"))
  expect_type(b, "logical")
  expect_equal(as.vector(b), c(TRUE, FALSE, TRUE))
  expect_equal(as.vector(as.array(axle.nd.array(c(2^40, -5), dtype = "int64"))), c(2^40, -5))
  expect_equal(as.vector(as.array(axle.nd.array(c(200, 3), dtype = "uint8"))), c(200L, 3L))
  # float16: 11 significant bits, round to nearest even, overflow to Inf, subnormals
  h <- as.vector(as.array(axle.nd.array(c(1, 1 + 2^-11, 1 + 3 * 2^-11, 65504, 70000, 2^-24, -0.5), dtype = "float16")))
  expect_equal(h, c(1, 1, 1 + 2^-9, 65504, Inf, 2^-24, -0.5))
  expect_error(axle.nd.array(c(1, NA), dtype = "int32"), class = "axle_invalid_argument")
  expect_true(is.nan(as.vector(as.array(axle.nd.array(c(1, NA))))[[2]]))
  expect_error(axle.nd.array(1, dtype = "complex"), "unknown dtype", class = "axle_invalid_argument")
  expect_error(axle.nd.array("a"), "must be a numeric", class = "axle_invalid_argument")
})

test_that("zeros, ones, assignment and views", {
  z <- axle.nd.zeros(c(3, 2))
  expect_equal(as.array(z), matrix(0, 3, 2))
  expect_equal(as.array(axle.nd.ones(4, dtype = "int32")), array(1L, 4))
  z[] <- 1:6
  expect_equal(as.array(z), matrix(1:6, 3, 2))
  z[] <- 7
  expect_equal(as.array(z), matrix(7, 3, 2))
  z[] <- axle.nd.array(matrix(0.5, 3, 2))
  expect_equal(as.array(z), matrix(0.5, 3, 2))
  expect_error(z[] <- 1:5, "5 values given for an NDArray of 6 elements", class = "axle_shape_error")
  expect_error(z[1] <- 3, "only x\\[\\] <- value", class = "axle_invalid_argument")
  v <- axle.nd.array(1:6)
  w <- v
  dim(w) <- c(2, 3) # a view: same memory
  expect_equal(dim(w), c(2L, 3L))
  w[] <- 0
  expect_equal(as.vector(as.array(v)), rep(0, 6))
  expect_equal(dim(v), 6L)
  cp <- axle.nd.array(v) # a copy
  cp[] <- 1
  expect_equal(as.vector(as.array(v)), rep(0, 6))
})

test_that("print shows the values, dims, dtype and context", {
  out <- capture.output(print(axle.nd.array(matrix(1:4, 2))))
  expect_match(out[[length(out)]], "<AxleNDArray 2x2 float32 @cpu\\(0\\)>")
  expect_match(paste(out, collapse = "\n"), "\\[1,\\] +1 +3")
  expect_equal(format(axle.cpu()), "cpu(0)")
  expect_equal(axle.nd.context(axle.nd.array(1)), axle.cpu())
})

test_that("arithmetic and comparisons through Ops match R in float64", {
  set.seed(1)
  a <- matrix(runif(6, 0.5, 2), 3, 2)
  b <- matrix(runif(6, 0.5, 2), 3, 2)
  na <- axle.nd.array(a, dtype = "float64")
  nb <- axle.nd.array(b, dtype = "float64")
  tol <- 1e-12
  expect_equal(as.array(na + nb), a + b, tolerance = tol)
  expect_equal(as.array(na - nb), a - b, tolerance = tol)
  expect_equal(as.array(na * nb), a * b, tolerance = tol)
  expect_equal(as.array(na / nb), a / b, tolerance = tol)
  expect_equal(as.array(na ^ nb), a^b, tolerance = tol)
  expect_equal(as.array(na %% nb), a %% b, tolerance = tol)
  expect_equal(as.array(na + 2), a + 2, tolerance = tol)
  expect_equal(as.array(2 - na), 2 - a, tolerance = tol)
  expect_equal(as.array(na - 2), a - 2, tolerance = tol)
  expect_equal(as.array(3 / na), 3 / a, tolerance = tol)
  expect_equal(as.array(2 ^ na), 2^a, tolerance = tol)
  expect_equal(as.array(na ^ 2), a^2, tolerance = tol)
  expect_equal(as.array(-na), -a, tolerance = tol)
  expect_equal(as.array(+na), a)
  expect_equal(as.array(na + b), a + b, tolerance = tol) # an R array operand
  for (op in c(">", ">=", "<", "<=", "==", "!=")) {
    f <- get(op)
    expect_equal(as.array(f(na, nb)), f(a, b) + 0, info = op)
    expect_equal(as.array(f(na, 1)), f(a, 1) + 0, info = op)
    expect_equal(as.array(f(1, na)), f(1, a) + 0, info = op)
  }
  # broadcasting follows the core's shapes: an R vector of length 3 is a core (3,), which
  # broadcasts over the core's (2, 3), i.e. over the columns of the R matrix
  expect_equal(as.array(na + axle.nd.array(c(10, 20, 30), dtype = "float64")), a + c(10, 20, 30), tolerance = tol)
  expect_error(na %/% nb, "not supported", class = "axle_invalid_argument")
  expect_error(na + "a", "must be an AxleNDArray or a number, not character", class = "axle_invalid_argument")
  expect_error(axle.nd.array(1:3) + axle.nd.array(1:2), "broadcast", class = "axle_shape_error")
})

test_that(".params files save and load named and unnamed lists", {
  f <- tempfile(fileext = ".params")
  on.exit(unlink(f))
  a <- axle.nd.array(matrix(1:6, 2))
  b <- axle.nd.array(c(1L, 2L), dtype = "int32")
  axle.nd.save(list(weight = a, idx = b), f)
  l <- axle.nd.load(f)
  expect_equal(names(l), c("weight", "idx"))
  expect_equal(as.array(l$weight), as.array(a))
  expect_equal(axle.nd.dtype(l$idx), "int32")
  axle.nd.save(list(a, b), f)
  l <- axle.nd.load(f)
  expect_null(names(l))
  expect_equal(length(l), 2L)
  axle.nd.save(a, f)
  expect_equal(as.array(axle.nd.load(f)[[1]]), as.array(a))
  expect_error(axle.nd.save(list(x = a, b), f), "every array needs a name", class = "axle_invalid_argument")
  expect_error(axle.nd.load(file.path(tempdir(), "no-such.params")), class = "axle_io_error")
  writeBin(as.raw(1:20), f)
  expect_error(axle.nd.load(f), class = "axle_io_error")
})

test_that("a GPU context without a GPU is a clear error", {
  skip_if(axle.gpu.count() > 0, "a GPU is present")
  expect_error(axle.nd.array(1, ctx = axle.gpu(0)), class = "axle_not_supported")
})
