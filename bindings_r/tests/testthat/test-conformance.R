test_that("the shared conformance cases pass through the R binding", {
  dir <- repo_path("tests/conformance")
  skip_if(is.null(dir), "tests/conformance not found (set AXLE_REPO to the repository)")
  res <- run_conformance(dir)
  for (line in res$skip_lines) message(line)
  for (line in res$failures) message("FAIL ", line)
  message(sprintf("conformance (R): %d cases, %d passed, %d failed, %d skipped", res$total, res$passed,
                  length(res$failures), res$skipped))
  expect_gte(res$total, 200)
  expect_equal(res$failures, character(0))
  expect_equal(res$passed + res$skipped, res$total)
})

# A copy of one case in a conformance folder of its own, to alter.
copy_case <- function(dir, name) {
  to <- tempfile("conformance")
  dir.create(file.path(to, "cases"), recursive = TRUE)
  file.copy(file.path(dir, "cases", name), file.path(to, "cases"), recursive = TRUE)
  writeLines(name, file.path(to, "cases", "index.txt"))
  to
}

test_that("the R runner rejects altered cases and reports leaks", {
  dir <- repo_path("tests/conformance")
  skip_if(is.null(dir), "tests/conformance not found (set AXLE_REPO to the repository)")
  alt <- copy_case(dir, "Activation-relu-grad")
  on.exit(unlink(alt, recursive = TRUE))
  expect_null(run_case(alt, "Activation-relu-grad"))
  params <- file.path(alt, "cases", "Activation-relu-grad", "data.params")
  data <- axle.nd.load(params)
  data[["grad:data"]] <- data[["grad:data"]] + 1
  axle.nd.save(data, params)
  expect_match(run_case(alt, "Activation-relu-grad"), "grad:data: element 0")
  res <- run_conformance(alt)
  expect_equal(length(res$failures), 1L)

  err <- copy_case(dir, "error-run-take-raise")
  on.exit(unlink(err, recursive = TRUE), add = TRUE)
  expect_null(run_case(err, "error-run-take-raise"))
  meta <- file.path(err, "cases", "error-run-take-raise", "meta.txt")
  writeLines(sub("^error .*", "error some other message", readLines(meta)), meta)
  expect_match(run_case(err, "error-run-take-raise"), "does not contain \"some other message\"")
  writeLines(sub("^error_stage .*", "error_stage bind", readLines(meta)), meta)
  expect_match(run_case(err, "error-run-take-raise"), "failed at run .* expected at bind")

  base <- resources(collect = TRUE)
  kept <- axle.nd.array(1:4)
  expect_match(leaked(base, resources()), "live handles did not return")
})
