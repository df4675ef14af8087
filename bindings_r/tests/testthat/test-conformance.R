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
