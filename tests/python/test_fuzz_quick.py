"""The short fuzz pass of the test command: every committed corpus input of tests/fuzz and a few
hundred deterministic byte mutations of each, through the symbol JSON loader, the .params loader,
the attribute parser and the IDX reader. Any exception other than Axle's own errors, or a crash,
fails. The long runs use atheris (tests/fuzz/fuzz_targets.py)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fuzz"))

import fuzz_targets  # noqa: E402


def test_short_fuzz_pass(capsys):
    fuzz_targets.quick(int(os.environ.get("AXLE_FUZZ_RUNS", "400")))
    out = capsys.readouterr().out
    for name in fuzz_targets.TARGETS:
        assert f"{name}: " in out and "no finding" in out
