"""axle.model.FeedForward (MXNet 1.x's API): X as numpy, NDArray or DataIter; fit, predict, score,
save, load, create; MXNet's log lines and callback arguments; errors."""
import logging

import numpy as np
import pytest

import axle as mx


def net():
    data = mx.sym.Variable("data")
    h = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=16, name="fc1"), act_type="relu")
    return mx.sym.SoftmaxOutput(mx.sym.FullyConnected(h, num_hidden=3, name="fc2"), name="softmax")


def blobs(n=200, d=5, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 3, n)
    x = rng.randn(n, d) * 0.3 + np.eye(3, d)[y] * 3
    return x.astype(np.float32), y.astype(np.float32)


def numpy_forward(model, x):
    p = {k: v.asnumpy().astype(np.float64) for k, v in model.arg_params.items()}
    h = np.maximum(x @ p["fc1_weight"].T + p["fc1_bias"], 0)
    z = h @ p["fc2_weight"].T + p["fc2_bias"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def trained():
    x, y = blobs()
    model = mx.model.FeedForward(net(), num_epoch=5, numpy_batch_size=20, learning_rate=0.5)
    model.fit(x, y)
    return model, x, y


def test_fit_numpy_learns_and_predicts_like_numpy(trained):
    model, x, y = trained
    out = model.predict(x)
    assert isinstance(out, np.ndarray) and out.shape == (200, 3)
    np.testing.assert_allclose(out, numpy_forward(model, x), rtol=1e-4, atol=1e-6)
    assert (out.argmax(axis=1) == y).mean() > 0.95
    assert model.score(mx.io.NDArrayIter(x, y, batch_size=20)) > 0.95


def test_predict_pads_and_returns_data(trained):
    model, x, y = trained
    out, data, label = model.predict(mx.io.NDArrayIter(x[:45], y[:45], batch_size=20), return_data=True)
    assert out.shape == (45, 3) and data.shape == (45, 5) and label.shape == (45,)
    np.testing.assert_array_equal(data, x[:45])
    np.testing.assert_array_equal(label, y[:45])
    assert model.predict(mx.nd.array(x[:45]), num_batch=1).shape == (20, 3)


def test_score_numpy_x_scores_against_zeros(trained):
    model, x, _ = trained
    pred = model.predict(x).argmax(axis=1)
    assert model.score(x) == pytest.approx((pred == 0).mean())


def test_save_load_continue(trained, tmp_path):
    model, x, y = trained
    prefix = str(tmp_path / "ff")
    model.save(prefix)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ff-0005.params", "ff-symbol.json"]
    loaded = mx.model.FeedForward.load(prefix, 5)
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-6)
    assert loaded.begin_epoch == 5
    loaded.num_epoch = 6
    loaded.fit(x, y)  # one more epoch from the loaded parameters
    assert (loaded.predict(x).argmax(axis=1) == y).mean() > 0.95


def test_fit_logs_and_callbacks_like_mxnet(caplog):
    x, y = blobs(100)
    batches, epochs = [], []
    model = mx.model.FeedForward(net(), num_epoch=2, numpy_batch_size=20, learning_rate=0.1)
    with caplog.at_level(logging.INFO):
        model.fit(x[:80], y[:80], eval_data=(x[80:], y[80:]), logger=logging.getLogger("ff"),
                  batch_end_callback=lambda p: batches.append((p.epoch, p.nbatch)),
                  epoch_end_callback=lambda e, s, a, x_: epochs.append((e, sorted(a))))
    lines = [r.getMessage() for r in caplog.records]
    for e in range(2):
        assert f"Epoch[{e}] Resetting Data Iterator" in lines
        assert any(line.startswith(f"Epoch[{e}] Time cost=") for line in lines)
        assert any(line.startswith(f"Epoch[{e}] Validation-accuracy=") for line in lines)
    assert batches == [(e, b) for e in range(2) for b in range(1, 5)]  # nbatch counts from 1 in FeedForward
    assert epochs == [(e, ["fc1_bias", "fc1_weight", "fc2_bias", "fc2_weight"]) for e in range(2)]


def test_epoch_size_and_dataiter_and_ndarray_inputs():
    x, y = blobs(100)
    seen = []
    model = mx.model.FeedForward(net(), num_epoch=2, epoch_size=3, learning_rate=0.1)
    model.fit(mx.io.NDArrayIter(x, y, batch_size=10), batch_end_callback=lambda p: seen.append(p.nbatch))
    assert seen == [1, 2, 3, 1, 2, 3]
    nd_model = mx.model.FeedForward.create(net(), mx.nd.array(x), mx.nd.array(y), num_epoch=1, learning_rate=0.1,
                                           numpy_batch_size=25)
    assert nd_model.predict(mx.nd.array(x)).shape == (100, 3)


def test_optimizer_object_and_kwargs():
    x, y = blobs(60)
    sgd = mx.optimizer.SGD(learning_rate=0.1, momentum=0.9, rescale_grad=1 / 20)
    model = mx.model.FeedForward(net(), num_epoch=1, optimizer=sgd, numpy_batch_size=20)
    model.fit(x, y)
    assert sgd.idx2name == {0: "fc1_weight", 1: "fc1_bias", 2: "fc2_weight", 3: "fc2_bias"}
    assert sgd.num_update == 3


def test_errors():
    x, y = blobs(20)
    model = mx.model.FeedForward(net(), num_epoch=1)
    with pytest.raises(ValueError, match="y must be specified"):
        model.fit(x)
    with pytest.raises(TypeError, match="X must be DataIter, NDArray or numpy.ndarray"):
        model.fit([[1, 2]], y)
    with pytest.raises(ValueError, match="numbers of data points and labels not equal"):
        model.fit(x, y[:5])
    with pytest.raises(ValueError, match="label must be 1D"):
        model.fit(x, np.zeros((20, 2)))
    with pytest.raises(TypeError, match="eval data must be DataIter"):
        model.fit(x, y, eval_data=3)
    with pytest.raises(ValueError, match="duplicated argument names"):
        two = mx.sym.FullyConnected(mx.sym.Variable("a"), weight=mx.sym.Variable("a"), num_hidden=2, no_bias=True)
        mx.model.FeedForward(two)
