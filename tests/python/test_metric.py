"""axle.metric against MXNet 1.9.1 (values from tests/data/training/training_ref.json: local and
global values over two updates with reset_local between) and against numpy."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

import axle as mx

REF = json.loads((Path(__file__).parents[1] / "data" / "training" / "training_ref.json").read_text())
BATCHES = [{k: np.array(v, dtype=np.float32) for k, v in b.items()} for b in REF["metric_inputs"]]


def _close(got, expected):
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(expected, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("case", REF["metrics"], ids=lambda c: f"{c['name']}-{c['kwargs']}")
def test_metric_matches_mxnet(case):
    m = mx.metric.create(case["name"], **case["kwargs"])
    for b, expected in zip(BATCHES, case["seq"]):
        m.update([mx.nd.array(b[case["label"]])], [mx.nd.array(b[case["pred"]])])
        name, value = m.get()
        assert name == expected["get"][0]
        _close(value, expected["get"][1])
        gname, gvalue = m.get_global()
        assert gname == expected["global"][0]
        _close(gvalue, expected["global"][1])
        m.reset_local()


def test_composite_matches_mxnet():
    b = BATCHES[0]
    comp = mx.metric.create(["acc", "ce"])
    comp.update([mx.nd.array(b["labels"])], [mx.nd.array(b["probs"])])
    names, values = comp.get()
    assert names == REF["composite"]["get"][0]
    np.testing.assert_allclose(values, REF["composite"]["get"][1], rtol=1e-6)
    assert [n for n, _ in comp.get_name_value()] == names
    assert isinstance(comp.get_metric(1), mx.metric.CrossEntropy)
    with pytest.raises(ValueError, match="out of range"):
        comp.get_metric(5)


def test_accuracy_against_numpy_with_axis_and_label_shapes():
    rng = np.random.RandomState(3)
    pred = rng.uniform(size=(4, 3, 5))  # classes on axis 1
    label = rng.randint(0, 3, (4, 5))
    m = mx.metric.Accuracy(axis=1)
    m.update([mx.nd.array(label)], [mx.nd.array(pred)])
    assert m.get()[1] == pytest.approx((pred.argmax(axis=1) == label).mean())
    assert m.num_inst == 20
    m = mx.metric.Accuracy()
    m.update([mx.nd.array([1, 2, 0])], [mx.nd.array([1, 2, 2])])  # predicted labels given directly
    assert m.get() == ("accuracy", pytest.approx(2 / 3))
    with pytest.raises(ValueError, match="does not match"):
        m.update([mx.nd.array([1])], [mx.nd.array([[0.2, 0.8]]), mx.nd.array([[0.2, 0.8]])])


def test_global_stats_survive_reset_local_and_not_reset():
    m = mx.metric.Accuracy()
    m.update([mx.nd.array([0, 1])], [mx.nd.array([[1, 0], [1, 0]])])
    m.reset_local()
    m.update([mx.nd.array([0, 1])], [mx.nd.array([[1, 0], [0, 1]])])
    assert m.get()[1] == 1.0 and m.get_global()[1] == 0.75
    assert m.get_global_name_value() == [("accuracy", 0.75)]
    m.reset()
    assert math.isnan(m.get()[1]) and math.isnan(m.get_global()[1])


def test_update_dict_picks_names():
    m = mx.metric.Accuracy(output_names=["out2"], label_names=["lab"])
    m.update_dict({"lab": mx.nd.array([1, 1])}, {"out1": mx.nd.array([[1, 0], [1, 0]]),
                                                 "out2": mx.nd.array([[0, 1], [0, 1]])})
    assert m.get()[1] == 1.0
    assert m.get_config()["metric"] == "Accuracy" and m.get_config()["axis"] == 1


def test_perplexity_against_numpy_on_axis_0():
    rng = np.random.RandomState(4)
    probs = rng.uniform(0.1, 1, (3, 6))  # classes on axis 0
    probs /= probs.sum(axis=0)
    label = rng.randint(0, 3, 6)
    m = mx.metric.Perplexity(ignore_label=None, axis=0)
    m.update([mx.nd.array(label)], [mx.nd.array(probs)])
    assert m.get()[1] == pytest.approx(np.exp(-np.log(probs[label, np.arange(6)]).mean()), rel=1e-5)


def test_custom_metric_np_and_create_by_callable():
    def fraction_close(label, pred):
        return float((np.abs(label - pred) < 0.5).sum()), label.size

    m = mx.metric.np(fraction_close)
    assert m.name == "fraction_close"
    m.update([mx.nd.array([1, 2, 3])], [mx.nd.array([1.1, 2.9, 3.2])])
    assert m.get()[1] == pytest.approx(2 / 3)
    m = mx.metric.create(lambda label, pred: 0.5)
    assert m.name == "custom(<lambda>)"
    m.update([mx.nd.array([1])], [mx.nd.array([1])])
    m.update([mx.nd.array([1])], [mx.nd.array([1])])
    assert m.get() == ("custom(<lambda>)", 0.5)
    with pytest.raises(NotImplementedError):
        m.get_config()


def test_create_by_name_instance_and_errors():
    assert isinstance(mx.metric.create("acc"), mx.metric.Accuracy)
    assert isinstance(mx.metric.create("top_k_acc", top_k=3), mx.metric.TopKAccuracy)
    assert isinstance(mx.metric.create("nll_loss"), mx.metric.NegativeLogLikelihood)
    assert isinstance(mx.metric.create("pearsonr"), mx.metric.PearsonCorrelation)
    acc = mx.metric.Accuracy()
    assert mx.metric.create(acc) is acc
    with pytest.raises(ValueError, match="Cannot find metric"):
        mx.metric.create("nosuch")
    with pytest.raises(ValueError, match="top_k"):
        mx.metric.TopKAccuracy(top_k=1)
    with pytest.raises(ValueError, match="binary"):
        mx.metric.F1().update([mx.nd.array([0, 1, 2])], [mx.nd.array(np.eye(3)[:, :2])])


def test_loss_metric_is_the_mean_of_outputs():
    m = mx.metric.Loss()
    m.update(None, [mx.nd.array([[1.0, 2.0], [3.0, 4.0]])])
    m.update(None, mx.nd.array([5.0]))
    assert m.get() == ("loss", 3.0)


def test_accuracy_counts_ndarrays_on_the_engine():
    rng = np.random.RandomState(3)
    pred = rng.rand(50, 4).astype(np.float32)
    label = np.append(rng.randint(0, 4, 48), [2.7, 3.2]).astype(np.float32)  # truncated, as MXNet's
    expected = (pred.argmax(axis=1) == label.astype(np.int32)).sum()
    m = mx.metric.Accuracy()
    m.update([mx.nd.array(label)], [mx.nd.array(pred)])
    assert len(m._pending) == 1  # nothing read yet
    assert m.num_inst == 50
    m.update([mx.nd.array(label.astype(np.int32))], [mx.nd.array(pred)])
    assert m.get() == ("accuracy", pytest.approx(2 * expected / 100))
    assert m._pending == []
    m.update([mx.nd.array(label).reshape((50, 1))], [mx.nd.array(pred)])
    m.reset_local()
    assert m.get_global() == ("accuracy", pytest.approx(3 * expected / 150))
    assert np.isnan(m.get()[1])
    with pytest.raises(ValueError, match="does not match"):
        m.update([mx.nd.array(label[:10])], [mx.nd.array(pred)])
