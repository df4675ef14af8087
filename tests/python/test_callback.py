"""axle.callback (MXNet 1.x's log lines, checkpoints every period epochs) and axle.model's
checkpoint files."""
import importlib.util
import json
import logging
import types
from pathlib import Path

import numpy as np
import pytest

import axle as mx
from axle.model import BatchEndParam


class _FakeSymbol:
    """Stands in for a Symbol: save() is all a checkpoint needs of it."""

    def __init__(self):
        self.saved = []

    def save(self, fname):
        self.saved.append(fname)
        with open(fname, "w") as f:
            f.write('{"nodes": []}')


def _metric(correct, total):
    m = mx.metric.Accuracy()
    m.sum_metric, m.num_inst = correct, total
    return m


DATA = Path(__file__).parents[1] / "data" / "training"
REF_LINES = json.loads((DATA / "training_ref.json").read_text())["callback_lines"]


def test_log_lines_match_mxnet(caplog, monkeypatch):
    monkeypatch.setattr(mx.callback, "time", mx.callback.time)  # drive_callbacks replaces it
    spec = importlib.util.spec_from_file_location("callback_calls", DATA / "callback_calls.py")
    calls = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(calls)
    with caplog.at_level(logging.INFO):
        calls.drive_callbacks(mx, BatchEndParam)
    assert [r.getMessage() for r in caplog.records] == REF_LINES


def test_speedometer_logs_mxnet_lines(caplog, monkeypatch):
    clock = iter([100.0, 102.0, 103.0, 104.0, 105.0])
    monkeypatch.setattr(mx.callback, "time", types.SimpleNamespace(time=lambda: next(clock)))
    speedo = mx.callback.Speedometer(batch_size=10, frequent=2)
    metric = _metric(9, 10)
    with caplog.at_level(logging.INFO):
        for nbatch in range(5):
            speedo(BatchEndParam(epoch=1, nbatch=nbatch, eval_metric=metric, locals=None))
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["Epoch[1] Batch [0-2]\tSpeed: 10.00 samples/sec\taccuracy=0.900000",
                     "Epoch[1] Batch [2-4]\tSpeed: 20.00 samples/sec\taccuracy=nan"]
    assert metric.num_inst == 0 and metric.global_num_inst == 0  # auto_reset resets the local statistics


def test_speedometer_without_reset_and_without_metric(caplog, monkeypatch):
    clock = iter([0.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    monkeypatch.setattr(mx.callback, "time", types.SimpleNamespace(time=lambda: next(clock)))
    speedo = mx.callback.Speedometer(batch_size=5, frequent=2, auto_reset=False)
    with caplog.at_level(logging.INFO):
        speedo(BatchEndParam(0, 1, _metric(1, 2), None))
        speedo(BatchEndParam(0, 2, _metric(1, 2), None))
        speedo(BatchEndParam(0, 0, None, None))  # a new epoch restarts the clock
        speedo(BatchEndParam(0, 2, None, None))
    assert [r.getMessage() for r in caplog.records] == [
        "Epoch[0] Batch [0-2]\tSpeed: 2.50 samples/sec\taccuracy=0.500000",
        "Iter[0] Batch [2]\tSpeed: 10.00 samples/sec"]


def test_log_train_metric_progress_bar_and_validation(caplog):
    metric = _metric(3, 4)
    with caplog.at_level(logging.INFO):
        cb = mx.callback.log_train_metric(period=2, auto_reset=True)
        cb(BatchEndParam(2, 1, metric, None))
        cb(BatchEndParam(2, 4, metric, None))
        mx.callback.ProgressBar(total=4, length=8)(BatchEndParam(0, 1, None, None))
        mx.callback.LogValidationMetricsCallback()(BatchEndParam(3, 0, _metric(1, 2), None))
    assert [r.getMessage() for r in caplog.records] == [
        "Iter[2] Batch[4] Train-accuracy=0.750000", "[==------] 25%\r", "Epoch[3] Validation-accuracy=0.500000"]
    assert metric.num_inst == 0


def test_do_checkpoint_writes_symbol_and_params_every_period(tmp_path):
    prefix = str(tmp_path / "model")
    sym = _FakeSymbol()
    arg = {"fc_weight": mx.nd.array([[1.0, 2.0]]), "fc_bias": mx.nd.array([0.5])}
    aux = {"bn_moving_var": mx.nd.array([3.0])}
    cb = mx.callback.do_checkpoint(prefix, period=2)
    for epoch in range(4):
        cb(epoch, sym, arg, aux)
    assert sym.saved == [prefix + "-symbol.json"] * 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model-0002.params", "model-0004.params",
                                                          "model-symbol.json"]
    saved = mx.nd.load(prefix + "-0004.params")
    assert sorted(saved) == ["arg:fc_bias", "arg:fc_weight", "aux:bn_moving_var"]
    args, auxs = mx.model.load_params(prefix, 4)
    np.testing.assert_array_equal(args["fc_weight"].asnumpy(), [[1.0, 2.0]])
    np.testing.assert_array_equal(auxs["bn_moving_var"].asnumpy(), [3.0])


def test_save_checkpoint_without_symbol_and_load_params_errors(tmp_path):
    prefix = str(tmp_path / "p")
    mx.model.save_checkpoint(prefix, 1, None, {"w": mx.nd.ones((2,))}, {})
    assert [p.name for p in tmp_path.iterdir()] == ["p-0001.params"]
    mx.nd.save(str(tmp_path / "q-0001.params"), [mx.nd.ones((1,))])
    with pytest.raises(ValueError, match="unnamed arrays"):
        mx.model.load_params(str(tmp_path / "q"), 1)


def test_module_checkpoint_calls_the_module():
    calls = []

    class Mod:
        def save_checkpoint(self, prefix, epoch, save_optimizer_states):
            calls.append((prefix, epoch, save_optimizer_states))

    cb = mx.callback.module_checkpoint(Mod(), "m", period=3, save_optimizer_states=True)
    for epoch in range(6):
        cb(epoch)
    assert calls == [("m", 3, True), ("m", 6, True)]
