# R CMD check's entry point; tests/r/run.sh runs the same files with testthat::test_dir.
library(testthat)
library(axle)
test_check("axle")
