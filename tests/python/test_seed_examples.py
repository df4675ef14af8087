"""The seed's 03_mlp_executor.py and 04_feedforward.py run on Axle with only their MNIST loader line
replaced by Axle's io (tests/data/seed/seed_runner.py), each in a subprocess, 10 epochs on the
bundled split, and learn.

What MXNet 1.9.1 reaches on the same split (tests/data/seed/seed_mxnet.json, 5 runs each):
03: 0.66-0.71 after 10 epochs (with MXNET_MKLDNN_ENABLED=0: ~0.90, as the same algorithm in numpy
float64); 04: 0.91-0.92. Bounds asserted: 03 >= 0.63 (the low end the issue measured for MXNet),
04 >= 0.88 (MXNet's lowest run minus run-to-run spread)."""
import importlib.util
import os

import pytest

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "seed")
_spec = importlib.util.spec_from_file_location("seed_runner", os.path.join(DATA, "seed_runner.py"))
seed_runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(seed_runner)

pytestmark = pytest.mark.skipif(seed_runner.find_seed_dir() is None,
                                reason="the seed's examples are not here (set AXLE_SEED_EXAMPLES)")


def test_only_the_loader_line_changes():
    with open(os.path.join(seed_runner.find_seed_dir(), "04_feedforward.py")) as f:
        text = f.read()
    new = seed_runner.patched(text, seed_runner.AXLE_LOADER)
    assert "mnist_view" not in new and "import axle as mx\n" in new
    assert new.replace(seed_runner.AXLE_LOADER, seed_runner.LOADER_LINE) == text
    with pytest.raises(ValueError, match="exactly one line"):
        seed_runner.patched(text + seed_runner.LOADER_LINE, seed_runner.AXLE_LOADER)


def test_03_mlp_executor_learns():
    acc, out = seed_runner.run("03_mlp_executor.py", seed_runner.AXLE_LOADER, "axle", timeout=120)
    assert len(acc) == 10, out[-2000:]
    assert acc[-1] >= 0.63, out[-2000:]
    assert "Starting epoch 9" in out


def test_04_feedforward_learns():
    acc, out = seed_runner.run("04_feedforward.py", seed_runner.AXLE_LOADER, "axle", timeout=120)
    assert len(acc) == 10, out[-2000:]
    assert acc[-1] >= 0.88, out[-2000:]
    assert "Epoch[9] Time cost=" in out
