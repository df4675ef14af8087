# Handles: finalizers free them once; freed, foreign and restored handles are R errors.

test_that("handles are classed external pointers that the garbage collector frees", {
  gc()
  base <- axle.live.handles()
  local({
    xs <- lapply(1:50, function(i) axle.nd.array(i))
    s <- axle.sym.Variable("v")
    expect_equal(axle.live.handles(), base + 51)
    expect_equal(typeof(xs[[1]]), "externalptr")
    expect_s3_class(xs[[1]], "AxleNDArray")
  })
  gc()
  expect_equal(axle.live.handles(), base)
})

test_that("a freed handle is an error, and freeing twice does nothing", {
  x <- axle.nd.array(1:3)
  s <- axle.sym.Variable("s")
  axle.free(x)
  axle.free(x)
  axle.free(s)
  expect_false(axle.is.live(x))
  expect_error(as.array(x), "AxleNDArray handle is freed", class = "axle_invalid_handle")
  expect_error(x + 1, "freed", class = "axle_invalid_handle")
  expect_error(arguments(s), "AxleSymbol handle is freed", class = "axle_invalid_handle")
  expect_match(format(x), "freed")
  ex <- axle.simple.bind(axle.sym.exp(axle.sym.Variable("a")), axle.cpu(), a = 2)
  axle.free(ex)
  expect_error(axle.exec.forward(ex), "AxleExecutorHandle handle is freed", class = "axle_invalid_handle")
  gc() # the finalizers of freed handles have nothing to do
  expect_true(TRUE)
})

test_that("a foreign handle or a handle from a saved session is an error, never a crash", {
  s <- axle.sym.Variable("s")
  fake <- s
  class(fake) <- "AxleNDArray" # the glue checks the pointer's tag, not the class
  expect_error(as.array(fake), "expected an AxleNDArray, got AxleSymbol", class = "axle_invalid_handle")
  expect_error(dim(structure(1, class = "AxleNDArray")), "expected an AxleNDArray, got double",
               class = "axle_invalid_handle")
  f <- tempfile(fileext = ".rds")
  on.exit(unlink(f))
  saveRDS(axle.nd.array(1:3), f)
  restored <- readRDS(f)
  expect_error(as.array(restored), "freed \\(or comes from a saved R session\\)", class = "axle_invalid_handle")
  expect_error(axle.free(3), "not an Axle handle", class = "axle_invalid_handle")
  class(s) <- "AxleSymbol"
})

test_that("the library's version is checked at load", {
  v <- axle.version()
  expect_length(v, 3L)
  expect_equal(v[[1]], 0L)
})
