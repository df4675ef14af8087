"""Checkpoints interoperable with MXNet 1.9.1 both ways (fixtures in tests/data/checkpoint):

- MXNet-written (make_mxnet_checkpoint.py: MXNet's Module trained 3 epochs, an MLP and a model with
  BatchNorm aux states) load in Axle and predict MXNet's recorded outputs within 1e-5, through
  Module.load, FeedForward.load and model.load_checkpoint.
- Axle-written (make_axle_checkpoint.py, committed with what MXNet predicted from them in
  check_axle_checkpoint.py): Axle writes them again here; the symbol JSON is the same, the
  parameters the same within 1e-5, the bytes of a save of the committed parameters the same as the
  committed file, and Axle's predictions equal MXNet's within 1e-5."""
import importlib.util
import json
import os

import numpy as np
import pytest

import axle as mx

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "checkpoint")
MODELS = ["mlp", "bn"]


def _script(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(DATA, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _expected(prefix):
    e = mx.nd.load(prefix + "-expected.params")
    return e["data"].asnumpy(), e["output"].asnumpy()


@pytest.mark.parametrize("model", MODELS)
def test_mxnet_checkpoint_predicts_in_module(model):
    prefix = os.path.join(DATA, f"mx_{model}")
    x, expected = _expected(prefix)
    mod = mx.mod.Module.load(prefix, 3)
    mod.bind([("data", (16,) + x.shape[1:])], [("softmax_label", (16,))], for_training=False)
    out = mod.predict(mx.io.NDArrayIter(x, batch_size=16))
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.asnumpy(), expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("model", MODELS)
def test_mxnet_checkpoint_predicts_in_feedforward(model):
    prefix = os.path.join(DATA, f"mx_{model}")
    x, expected = _expected(prefix)
    ff = mx.model.FeedForward.load(prefix, 3, numpy_batch_size=4)
    assert ff.begin_epoch == 3
    np.testing.assert_allclose(ff.predict(x), expected, rtol=0, atol=1e-5)


def test_mxnet_checkpoint_has_aux_states():
    sym, args, aux = mx.model.load_checkpoint(os.path.join(DATA, "mx_bn"), 3)
    assert sorted(aux) == ["bn1_moving_mean", "bn1_moving_var"]
    assert sym.list_auxiliary_states() == ["bn1_moving_mean", "bn1_moving_var"]
    assert not np.allclose(aux["bn1_moving_mean"].asnumpy(), 0)  # trained, so predictions depend on them
    assert sorted(args) == ["bn1_beta", "bn1_gamma", "conv1_bias", "conv1_weight", "fc1_bias", "fc1_weight"]


@pytest.fixture(scope="module")
def axle_written(tmp_path_factory):
    out = tmp_path_factory.mktemp("axle_ckpt")
    maker = _script("make_axle_checkpoint")
    for model in MODELS:
        maker.write(model, str(out))
    return str(out)


@pytest.mark.parametrize("model", MODELS)
def test_axle_checkpoint_equals_the_one_mxnet_checked(axle_written, model):
    ours = os.path.join(axle_written, f"ax_{model}")
    committed = os.path.join(DATA, f"ax_{model}")
    with open(ours + "-symbol.json") as f, open(committed + "-symbol.json") as g:
        assert json.load(f) == json.load(g)
    new, old = mx.nd.load(ours + "-0003.params"), mx.nd.load(committed + "-0003.params")
    assert sorted(new) == sorted(old)
    assert any(k.startswith("aux:") for k in new) == (model == "bn")
    for k in new:
        assert new[k].dtype == old[k].dtype and new[k].shape == old[k].shape, k
        np.testing.assert_allclose(new[k].asnumpy(), old[k].asnumpy(), rtol=0, atol=1e-5, err_msg=k)


@pytest.mark.parametrize("model", MODELS)
def test_axle_saves_the_committed_bytes(tmp_path, model):
    committed = os.path.join(DATA, f"ax_{model}")
    sym, args, aux = mx.model.load_checkpoint(committed, 3)
    mx.model.save_checkpoint(str(tmp_path / "again"), 3, sym, args, aux)
    with open(tmp_path / "again-0003.params", "rb") as f, open(committed + "-0003.params", "rb") as g:
        assert f.read() == g.read()
    with open(tmp_path / "again-symbol.json") as f, open(committed + "-symbol.json") as g:
        assert f.read() == g.read()


@pytest.mark.parametrize("model", MODELS)
def test_axle_checkpoint_predicts_what_mxnet_predicted(model):
    prefix = os.path.join(DATA, f"ax_{model}")
    x = mx.nd.load(prefix + "-axle.params")["data"].asnumpy()
    mxnet_out = mx.nd.load(prefix + "-mxnet.params")["output"].asnumpy()
    mod = mx.mod.Module.load(prefix, 3)
    mod.bind([("data", (16,) + x.shape[1:])], [("softmax_label", (16,))], for_training=False)
    out = mod.predict(mx.io.NDArrayIter(x, batch_size=16)).asnumpy()
    np.testing.assert_allclose(out, mxnet_out, rtol=0, atol=1e-5)
    np.testing.assert_allclose(out, mx.nd.load(prefix + "-axle.params")["output"].asnumpy(), rtol=0, atol=1e-5)


@pytest.mark.parametrize("model", MODELS)
def test_module_fit_trains_as_mxnet_module_fit(model):
    # the committed Axle checkpoint came from Module.fit (3 epochs of SGD with momentum, from
    # models.axle_checkpoint_setup); MXNet's Module.fit from the same start ended with these values
    _, args, aux = mx.model.load_checkpoint(os.path.join(DATA, f"ax_{model}"), 3)
    mxnet = mx.nd.load(os.path.join(DATA, f"ax_{model}-mxnet.params"))
    theirs = {k: v.asnumpy() for k, v in mxnet.items() if k != "output"}
    ours = {f"arg:{k}": v.asnumpy() for k, v in args.items()}
    ours.update({f"aux:{k}": v.asnumpy() for k, v in aux.items()})
    assert sorted(ours) == sorted(theirs)
    for k in ours:
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-4, atol=1e-5, err_msg=k)
