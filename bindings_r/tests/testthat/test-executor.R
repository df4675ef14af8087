# Executors: bind, forward, backward (against finite differences), grad.req, aux states, sharing.

# y = tanh(W x + b), loss-free: backward with a head gradient. R dims: x (4, 3), W (4, 2), b (2).
tanh_fc <- function() {
  fc <- axle.sym.FullyConnected(axle.sym.Variable("x"), num_hidden = 2, name = "fc")
  axle.sym.Activation(fc, act_type = "tanh", name = "act")
}

# The same function in R (float64): sum(head * tanh(t(W) x + b)).
tanh_fc_ref <- function(x, w, b, head) sum(head * tanh(t(w) %*% x + b))

numeric_grad <- function(f, v, eps = 1e-6) {
  vapply(seq_along(v), function(i) {
    hi <- v
    lo <- v
    hi[i] <- hi[i] + eps
    lo[i] <- lo[i] - eps
    (f(hi) - f(lo)) / (2 * eps)
  }, 0)
}

test_that("forward and backward match R and central differences (float64)", {
  set.seed(4)
  x <- matrix(rnorm(12), 4, 3)
  w <- matrix(rnorm(8), 4, 2)
  b <- rnorm(2)
  head <- matrix(rnorm(6), 2, 3)
  nd <- function(v) axle.nd.array(v, dtype = "float64")
  ex <- axle.sym.bind(tanh_fc(), axle.cpu(), list(x = nd(x), fc_weight = nd(w), fc_bias = nd(b)),
                      grad.req = "write")
  expect_s3_class(ex, "AxleExecutor")
  expect_equal(names(ex$outputs), "act_output")
  axle.exec.forward(ex, is.train = TRUE)
  axle.exec.backward(ex, list(nd(head)))
  expect_equal(as.array(ex$outputs[[1]]), tanh(t(w) %*% x + b), tolerance = 1e-12)
  gw <- numeric_grad(function(v) tanh_fc_ref(x, matrix(v, 4, 2), b, head), as.vector(w))
  gx <- numeric_grad(function(v) tanh_fc_ref(matrix(v, 4, 3), w, b, head), as.vector(x))
  gb <- numeric_grad(function(v) tanh_fc_ref(x, w, v, head), b)
  expect_equal(as.vector(as.array(ex$grad.arrays$fc_weight)), gw, tolerance = 1e-7)
  expect_equal(as.vector(as.array(ex$grad.arrays$x)), gx, tolerance = 1e-7)
  expect_equal(as.vector(as.array(ex$grad.arrays$fc_bias)), gb, tolerance = 1e-7)
})

test_that("grad.req add accumulates, null computes nothing, per-argument reqs", {
  nd <- function(v) axle.nd.array(v, dtype = "float64")
  x <- matrix(1:12 / 10, 4, 3)
  w <- matrix(1:8 / 10, 4, 2)
  ex <- axle.sym.bind(tanh_fc(), axle.cpu(), list(x = nd(x), fc_weight = nd(w), fc_bias = nd(c(0, 0))),
                      grad.req = c(fc_weight = "add", fc_bias = "write"))
  expect_null(ex$grad.arrays$x)
  expect_equal(unname(ex$grad.req), c("null", "add", "write"))
  head <- nd(matrix(1, 2, 3))
  axle.exec.forward(ex, is.train = TRUE)
  axle.exec.backward(ex, head)
  once <- as.array(ex$grad.arrays$fc_weight)
  b1 <- as.array(ex$grad.arrays$fc_bias)
  axle.exec.forward(ex, is.train = TRUE)
  axle.exec.backward(ex, head)
  expect_equal(as.array(ex$grad.arrays$fc_weight), 2 * once, tolerance = 1e-12)
  expect_equal(as.array(ex$grad.arrays$fc_bias), b1, tolerance = 1e-12)
  expect_error(axle.sym.bind(tanh_fc(), axle.cpu(), list(x = nd(x), fc_weight = nd(w), fc_bias = nd(c(0, 0))),
                             grad.req = "sometimes"), "unknown grad.req", class = "axle_invalid_argument")
})

test_that("simple.bind makes the arrays; updates go in by name; outputs follow the arguments", {
  net <- axle.sym.SoftmaxOutput(axle.sym.FullyConnected(axle.sym.Variable("data"), num_hidden = 3, name = "fc"),
                                name = "sm")
  ex <- axle.simple.bind(net, axle.cpu(), grad.req = "write", fixed.param = "sm_label", data = c(5, 2))
  expect_equal(dim(ex$arg.arrays$fc_weight), c(5L, 3L))
  expect_equal(dim(ex$arg.arrays$sm_label), 2L)
  expect_null(ex$grad.arrays$sm_label)
  expect_equal(dim(ex$grad.arrays$data), c(5L, 2L))
  axle.exec.update.arg.arrays(ex, list(fc_weight = axle.nd.array(matrix(0, 5, 3)),
                                       fc_bias = axle.nd.array(c(0, 0, 1))), match.name = TRUE)
  axle.exec.forward(ex)
  p <- as.array(ex$outputs$sm_output)
  expect_equal(dim(p), c(3L, 2L))
  expect_equal(p[, 1], exp(c(0, 0, 1)) / sum(exp(c(0, 0, 1))), tolerance = 1e-6)
  ex$arg.arrays$sm_label[] <- c(2, 0)
  axle.exec.backward(ex)
  g <- as.vector(as.array(ex$grad.arrays$fc_bias)) # SoftmaxOutput's gradient: p - onehot, summed over the batch
  expect_equal(g, rowSums(p) - c(1, 0, 1), tolerance = 1e-6)
  expect_error(axle.simple.bind(net, axle.cpu()), "cannot decide the shapes of data", class = "axle_shape_error")
  expect_error(axle.exec.update.arg.arrays(ex, list(nope = axle.nd.array(1)), match.name = TRUE), "nope",
               class = "axle_invalid_argument")
  expect_match(axle.exec.debug.str(ex), "fc")
  expect_match(format(ex), "AxleExecutor")
})

test_that("BatchNorm's aux states update in training; a second executor shares arrays", {
  net <- axle.sym.BatchNorm(axle.sym.Variable("x"), name = "bn", fix_gamma = FALSE, momentum = 0.5)
  ex <- axle.simple.bind(net, axle.cpu(), grad.req = "write", x = c(2, 4))
  x <- matrix(c(1, 2, 3, 4, 5, 6, 7, 8), 2, 4)
  ex$arg.arrays$x[] <- x
  ex$arg.arrays$bn_gamma[] <- 1
  ex$aux.arrays$bn_moving_var[] <- 1
  axle.exec.forward(ex, is.train = TRUE)
  axle.exec.backward(ex, axle.nd.ones(c(2, 4)))
  # channel axis 1 of the core's (4, 2) is R's first dim: batch means over R's columns
  expect_equal(as.vector(as.array(ex$aux.arrays$bn_moving_mean)), 0.5 * rowMeans(x), tolerance = 1e-6)
  ex2 <- axle.sym.bind(net, axle.cpu(), ex$arg.arrays, ex$aux.arrays, grad.req = "null", shared.exec = ex)
  axle.exec.forward(ex2, is.train = FALSE)
  expect_equal(dim(ex2$outputs[[1]]), c(2L, 4L))
  expect_error(axle.sym.bind(net, axle.cpu(), ex$arg.arrays), "aux.arrays has 0 arrays",
               class = "axle_invalid_argument")
})

test_that("binding errors name the problem", {
  nd <- function(v) axle.nd.array(v)
  expect_error(axle.sym.bind(tanh_fc(), axle.cpu(), list(x = nd(matrix(0, 4, 3)), fc_weight = nd(matrix(0, 5, 2)),
                                                         fc_bias = nd(c(0, 0)))), "fc", class = "axle_shape_error")
  expect_error(axle.sym.bind(tanh_fc(), axle.cpu(), list(x = nd(1))), "arg.arrays lacks fc_weight, fc_bias",
               class = "axle_invalid_argument")
  expect_error(axle.exec.forward(list()), "expected an AxleExecutor", class = "axle_invalid_argument")
})

test_that("the memory plan is reported", {
  ex <- axle.simple.bind(tanh_fc(), axle.cpu(), grad.req = "write", x = c(4, 3))
  plan <- axle.exec.memory.plan(ex)
  expect_named(plan, c("planned_bytes", "naive_bytes", "num_buffers", "num_entries", "num_inplace"))
  expect_lte(plan[["planned_bytes"]], plan[["naive_bytes"]])
})
