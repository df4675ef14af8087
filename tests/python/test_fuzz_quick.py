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
    assert not os.path.exists(fuzz_targets._TMP), "the IDX target left its temporary file behind"


def test_regressions_found_by_fuzzing():
    """Inputs the long fuzz runs found; each must now fail cleanly with Axle's error."""
    import pytest
    import axle as mx
    reg = os.path.join(HERE, "..", "fuzz", "regressions")
    # a legacy record of shape (0, 4294967287, 4294967295, 0, 0, 0): zero elements, but dims whose
    # product cannot be represented (numpy refused it at asnumpy)
    with open(os.path.join(reg, "params-zero-size-huge-dims.params"), "rb") as f:
        data = f.read()
    with pytest.raises(mx.AxleError, match="overflow"):
        mx.nd.load_frombuffer(data)
    for name in sorted(os.listdir(reg)):
        with open(os.path.join(reg, name), "rb") as f:
            fuzz_targets.TARGETS[name.split("-")[0]](f.read())
