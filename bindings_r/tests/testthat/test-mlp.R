# The seed's MLP (shared/seed-examples/03_mlp_executor.py: 784 -> 128 relu -> 10, SoftmaxOutput,
# randn * 0.02 weights, batch 128, 10 epochs of plain SGD with lr 0.001 on the summed gradient)
# trained in R through the executor API on the MNIST sample bundled with Axle.

# An IDX file (gzipped or not) as an integer array: images as a matrix of dims (784, n), one
# column per image (the core sees (n, 784)); labels as a vector.
read_idx <- function(path) {
  con <- gzfile(path, "rb")
  on.exit(close(con))
  magic <- readBin(con, "integer", n = 1L, size = 4L, endian = "big")
  ndim <- magic %% 256L
  dims <- readBin(con, "integer", n = ndim, size = 4L, endian = "big")
  v <- as.integer(readBin(con, "raw", n = prod(dims)))
  if (ndim == 1L) return(v)
  matrix(v, nrow = prod(dims[-1L]), ncol = dims[[1L]])
}

mlp_symbol <- function() {
  data <- axle.sym.Variable("data")
  label <- axle.sym.Variable("softmax_label")
  w1 <- axle.sym.Variable("weight1")
  b1 <- axle.sym.Variable("bias1")
  l1 <- axle.sym.FullyConnected(data = data, num_hidden = 128, name = "layer1", weight = w1, bias = b1)
  a1 <- axle.sym.Activation(data = l1, act_type = "relu", name = "act1")
  l2 <- axle.sym.FullyConnected(data = a1, num_hidden = 10, name = "layer2")
  axle.sym.SoftmaxOutput(data = l2, label = label)
}

# Trains and returns the validation accuracy after each epoch.
train_mlp <- function(train_x, train_y, val_x, val_y, epochs = 10L, batch = 128L, lr = 0.001) {
  net <- mlp_symbol()
  ctx <- axle.cpu()
  exec <- axle.simple.bind(net, ctx, grad.req = "write", fixed.param = c("data", "softmax_label"),
                           data = c(784, batch), softmax_label = batch)
  exec_test <- axle.sym.bind(net, ctx, exec$arg.arrays, grad.req = "null")
  params <- setdiff(names(exec$arg.arrays), c("data", "softmax_label"))
  for (p in params) exec$arg.arrays[[p]][] <- rnorm(length(exec$arg.arrays[[p]])) * 0.02
  acc <- numeric(0)
  for (epoch in seq_len(epochs)) {
    order <- sample.int(ncol(train_x))
    for (start in seq(1L, length(order) - batch + 1L, by = batch)) {
      idx <- order[start:(start + batch - 1L)]
      exec$arg.arrays$data[] <- train_x[, idx] / 255
      exec$arg.arrays$softmax_label[] <- train_y[idx]
      axle.exec.forward(exec, is.train = TRUE)
      axle.exec.backward(exec)
      for (p in params)
        axle.nd.sgd_update(exec$arg.arrays[[p]], exec$grad.arrays[[p]], lr = lr, out = exec$arg.arrays[[p]])
    }
    correct <- 0
    total <- 0
    for (start in seq(1L, ncol(val_x) - batch + 1L, by = batch)) {
      idx <- start:(start + batch - 1L)
      exec_test$arg.arrays$data[] <- val_x[, idx] / 255
      axle.exec.forward(exec_test, is.train = FALSE)
      prob <- as.array(exec_test$outputs[[1]]) # dims (10, batch)
      correct <- correct + sum(max.col(t(prob), ties.method = "first") - 1L == val_y[idx])
      total <- total + batch
    }
    acc <- c(acc, correct / total)
  }
  acc
}

test_that("the seed's MLP trains in R to >= 0.85 validation accuracy on the bundled MNIST sample", {
  dir <- repo_path("python/axle/data/mnist")
  skip_if(is.null(dir), "the bundled MNIST sample was not found (set AXLE_REPO to the repository)")
  train_x <- read_idx(file.path(dir, "train-images-idx3-ubyte.gz"))
  train_y <- read_idx(file.path(dir, "train-labels-idx1-ubyte.gz"))
  val_x <- read_idx(file.path(dir, "t10k-images-idx3-ubyte.gz"))
  val_y <- read_idx(file.path(dir, "t10k-labels-idx1-ubyte.gz"))
  expect_equal(dim(train_x), c(784L, 4000L))
  expect_equal(length(val_y), 1000L)
  set.seed(0)
  t0 <- proc.time()[["elapsed"]]
  acc <- train_mlp(train_x, train_y, val_x, val_y)
  message(sprintf("MLP (R): validation accuracy by epoch %s; %.1f s", paste(sprintf("%.3f", acc), collapse = " "),
                  proc.time()[["elapsed"]] - t0))
  expect_gte(acc[[length(acc)]], 0.85)
})
