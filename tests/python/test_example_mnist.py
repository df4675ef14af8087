"""The main job: python -m axle.examples.mnist (console script axle-mnist) trains the seed's MLP on
the bundled MNIST sample to >= 0.90 validation accuracy, logs per-epoch accuracy, saves a
checkpoint; --data-dir reads a folder of IDX files; --help says what the code does."""
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import axle as mx
from axle.examples import mnist

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_trains_to_090_on_the_bundled_sample(tmp_path, caplog):
    tic = time.time()
    with caplog.at_level("INFO"):
        acc = mnist.train(["--prefix", str(tmp_path / "m")])
    assert acc >= 0.90
    assert time.time() - tic < 60
    lines = [r.getMessage() for r in caplog.records]
    for e in range(10):
        assert any(line.startswith(f"Epoch[{e}] Train-accuracy=") for line in lines)
        assert any(line.startswith(f"Epoch[{e}] Validation-accuracy=") for line in lines)
    sym, args, _ = mx.model.load_checkpoint(str(tmp_path / "m"), 10)
    assert sym.list_arguments() == ["data", "layer1_weight", "layer1_bias", "layer2_weight", "layer2_bias",
                                    "softmax_label"]
    assert args["layer1_weight"].shape == (128, 784) and args["layer2_weight"].shape == (10, 128)
    # the checkpoint scores what the run reported
    m = mx.test_utils.get_mnist()
    p = {k: v.asnumpy() for k, v in args.items()}
    h = np.maximum(m["test_data"].reshape(-1, 784) @ p["layer1_weight"].T + p["layer1_bias"], 0)
    pred = (h @ p["layer2_weight"].T + p["layer2_bias"]).argmax(axis=1)
    assert (pred == m["test_label"]).mean() == pytest.approx(acc, abs=1e-6)


def test_data_dir_reads_idx_files(tmp_path, capsys):
    bundled = os.path.join(os.path.dirname(mx.__file__), "data", "mnist")
    for f in os.listdir(bundled):
        shutil.copy(os.path.join(bundled, f), tmp_path)
    mnist.main(["--data-dir", str(tmp_path), "--epochs", "1", "--prefix", ""])
    assert f"using {tmp_path}" in capsys.readouterr().err
    assert not any(p.suffix == ".params" for p in tmp_path.iterdir())
    with pytest.raises(FileNotFoundError, match="lacks some of the MNIST IDX files"):
        mnist.main(["--data-dir", str(tmp_path / "nothing"), "--epochs", "1", "--prefix", ""])


def test_help_is_true_to_the_code():
    out = subprocess.run([sys.executable, "-m", "axle.examples.mnist", "--help"], capture_output=True, text=True,
                         check=True).stdout
    parser_defaults = vars(mnist.parse_args([]))
    for name, default in parser_defaults.items():
        option = "--" + name.replace("_", "-")
        assert option in out
        if default not in (None, ""):
            assert re.search(rf"\(default {re.escape(str(default))}\)", out), option
    assert "784-128 relu-10" in out


def test_console_script_is_declared():
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        assert 'axle-mnist = "axle.examples.mnist:main"' in f.read()
    assert mnist.main(["--epochs", "1", "--prefix", ""]) is None  # a console script's exit status 0
