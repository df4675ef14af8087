"""axle.mod.Module against numpy in float64: one SGD step of softmax regression, predictions,
scores, input gradients; binding states, reshape, fixed and shared parameters, checkpoints and
optimizer states, fit's log lines and progress bar, errors."""
import io
import logging
import sys

import numpy as np
import pytest

import axle as mx


def softmax_regression(num_hidden=3):
    data = mx.sym.Variable("data")
    return mx.sym.SoftmaxOutput(mx.sym.FullyConnected(data, num_hidden=num_hidden, name="fc"), name="softmax")


def mlp():
    data = mx.sym.Variable("data")
    h = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=16, name="fc1"), act_type="relu")
    return mx.sym.SoftmaxOutput(mx.sym.FullyConnected(h, num_hidden=3, name="fc2"), name="softmax")


def np_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def blobs(n=120, d=5, seed=0):
    """Three well separated classes."""
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 3, n)
    x = rng.randn(n, d) * 0.3 + np.eye(3, d)[y] * 3
    return x.astype(np.float32), y.astype(np.float32)


def bound(sym=None, batch=8, d=5, seed=1, **bind_kw):
    sym = softmax_regression() if sym is None else sym
    mod = mx.mod.Module(sym, context=mx.cpu())
    mod.bind([("data", (batch, d))], [("softmax_label", (batch,))], **bind_kw)
    rng = np.random.RandomState(seed)
    arg_shapes, _, _ = sym.infer_shape(data=(batch, d))
    params = {n: mx.nd.array(rng.randn(*s) * 0.1) for n, s in zip(sym.list_arguments(), arg_shapes)
              if n not in ("data", "softmax_label")}
    mod.init_params(arg_params=params)
    return mod, {k: v.asnumpy().astype(np.float64) for k, v in params.items()}


def batch_of(x, y=None):
    return mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)] if y is not None else None)


def test_one_sgd_step_equals_numpy():
    x, y = blobs(8)
    mod, p = bound()
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.5, "wd": 0.01})
    mod.forward(batch_of(x, y), is_train=True)
    mod.backward()
    mod.update()
    prob = np_softmax(x.astype(np.float64) @ p["fc_weight"].T + p["fc_bias"])
    g = (prob - np.eye(3)[y.astype(int)]) / 8  # rescale_grad = 1 / batch_size
    w = p["fc_weight"] - 0.5 * (g.T @ x + 0.01 * p["fc_weight"])
    b = p["fc_bias"] - 0.5 * g.sum(axis=0)  # no weight decay on biases
    arg, aux = mod.get_params()
    assert aux == {}
    np.testing.assert_allclose(arg["fc_weight"].asnumpy(), w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arg["fc_bias"].asnumpy(), b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), prob, rtol=1e-5, atol=1e-6)


def test_input_grads_equal_numpy():
    x, y = blobs(8)
    mod, p = bound(inputs_need_grad=True)
    mod.forward(batch_of(x, y), is_train=True)
    mod.backward()
    prob = np_softmax(x.astype(np.float64) @ p["fc_weight"].T + p["fc_bias"])
    expected = (prob - np.eye(3)[y.astype(int)]) @ p["fc_weight"]
    (grad,) = mod.get_input_grads()
    np.testing.assert_allclose(grad.asnumpy(), expected, rtol=1e-5, atol=1e-6)


def test_input_grads_need_inputs_need_grad():
    mod, _ = bound()
    with pytest.raises(RuntimeError, match="inputs_need_grad"):
        mod.get_input_grads()


def test_names_and_shapes():
    mod, _ = bound()
    assert mod.data_names == ["data"] and mod.label_names == ["softmax_label"]
    assert mod.output_names == ["softmax_output"]
    assert [(d.name, d.shape) for d in mod.data_shapes] == [("data", (8, 5))]
    assert [(d.name, d.shape) for d in mod.label_shapes] == [("softmax_label", (8,))]
    assert mod.output_shapes == [("softmax_output", (8, 3))]
    assert mod.binded and mod.params_initialized and not mod.optimizer_initialized


def test_predict_score_iter_predict_equal_numpy():
    x, y = blobs(21)
    mod, p = bound()
    it = mx.io.NDArrayIter(x, y, batch_size=8)  # 21 examples: the last batch is padded by 3
    prob = np_softmax(x.astype(np.float64) @ p["fc_weight"].T + p["fc_bias"])
    out = mod.predict(it)
    assert out.shape == (21, 3)
    np.testing.assert_allclose(out.asnumpy(), prob, rtol=1e-5, atol=1e-6)
    per_batch = mod.predict(it, merge_batches=False)
    assert [o[0].shape for o in per_batch] == [(8, 3), (8, 3), (5, 3)]
    assert isinstance(mod.predict(it, always_output_list=True), list)
    assert len(mod.predict(it, num_batch=2, merge_batches=False)) == 2
    seen = [(nbatch, outs[0].shape) for outs, nbatch, _ in mod.iter_predict(it)]
    assert seen == [(0, (8, 3)), (1, (8, 3)), (2, (5, 3))]
    # score counts the padded examples too, as MXNet's does
    padded_y = np.concatenate([y, y[:3]])
    padded_pred = np.concatenate([prob, prob[:3]]).argmax(axis=1)
    (name, acc), = mod.score(it, "acc")
    assert name == "accuracy" and acc == pytest.approx((padded_pred == padded_y).mean())


def test_predict_one_numpy_batch():
    x, _ = blobs(8)
    mod, p = bound()
    out = mod.predict(x)
    np.testing.assert_allclose(out.asnumpy(), np_softmax(x @ p["fc_weight"].T + p["fc_bias"]), rtol=1e-5)


def test_forward_reshapes_for_another_batch_size():
    x, y = blobs(8)
    mod, p = bound()
    mod.forward(batch_of(x[:3], y[:3]), is_train=False)
    assert mod.get_outputs()[0].shape == (3, 3)
    assert mod.data_shapes[0].shape == (3, 5)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(),
                               np_softmax(x[:3] @ p["fc_weight"].T + p["fc_bias"]), rtol=1e-5, atol=1e-6)
    mod.forward(batch_of(x, y), is_train=False)
    assert mod.get_outputs()[0].shape == (8, 3)


def test_reshape_shares_parameters_with_training():
    x, y = blobs(8)
    mod, _ = bound()
    mod.init_optimizer(optimizer_params={"learning_rate": 1.0})
    mod.reshape([("data", (4, 5))], [("softmax_label", (4,))])
    mod.forward_backward(batch_of(x[:4], y[:4]))
    mod.update()
    mod.reshape([("data", (8, 5))], [("softmax_label", (8,))])
    after_small = mod.get_params()[0]["fc_weight"].asnumpy().copy()
    mod.forward_backward(batch_of(x, y))
    mod.update()
    assert not np.allclose(mod.get_params()[0]["fc_weight"].asnumpy(), after_small)


def test_fixed_param_names_are_not_updated():
    x, y = blobs(8)
    mod = mx.mod.Module(softmax_regression(), fixed_param_names=["fc_bias"])
    mod.bind([("data", (8, 5))], [("softmax_label", (8,))])
    mod.init_params(mx.init.Uniform(0.5))
    mod.init_optimizer(optimizer_params={"learning_rate": 1.0})
    before = {k: v.asnumpy().copy() for k, v in mod.get_params()[0].items()}
    mod.forward_backward(batch_of(x, y))
    mod.update()
    after = mod.get_params()[0]
    np.testing.assert_array_equal(after["fc_bias"].asnumpy(), before["fc_bias"])
    assert not np.allclose(after["fc_weight"].asnumpy(), before["fc_weight"])


def test_not_for_training_has_no_backward():
    mod, _ = bound(for_training=False)
    with pytest.raises(RuntimeError, match="for_training=False"):
        mod.backward()
    with pytest.raises(ValueError, match="inputs_need_grad"):
        mx.mod.Module(softmax_regression()).bind([("data", (8, 5))], for_training=False, inputs_need_grad=True)


def test_shared_module_uses_the_same_parameters():
    x, y = blobs(8)
    mod, _ = bound()
    mod.init_optimizer(optimizer_params={"learning_rate": 1.0})
    other = mx.mod.Module(softmax_regression())
    other.bind([("data", (4, 5))], [("softmax_label", (4,))], for_training=False, shared_module=mod)
    assert other.params_initialized and other.optimizer_initialized
    mod.forward_backward(batch_of(x, y))
    mod.update()
    w = mod._exec.arg_dict["fc_weight"].asnumpy()
    other.forward(batch_of(x[:4]), is_train=False)
    np.testing.assert_allclose(other.get_outputs()[0].asnumpy(), mod.predict(x)[:4].asnumpy(), rtol=1e-6)
    np.testing.assert_array_equal(other._exec.arg_dict["fc_weight"].asnumpy(), w)


def test_set_params_and_missing_names():
    mod, p = bound()
    new = {"fc_weight": mx.nd.ones((3, 5)), "fc_bias": mx.nd.zeros((3,))}
    mod.set_params(new, {})
    np.testing.assert_array_equal(mod.get_params()[0]["fc_weight"].asnumpy(), np.ones((3, 5)))
    with pytest.raises(RuntimeError, match="fc_bias is not presented"):
        mod.set_params({"fc_weight": mx.nd.ones((3, 5))}, {})
    mod.set_params({"fc_weight": mx.nd.zeros((3, 5))}, {}, allow_missing=True)
    np.testing.assert_array_equal(mod.get_params()[0]["fc_weight"].asnumpy(), np.zeros((3, 5)))
    with pytest.raises(ValueError, match="fc_weight"):
        mod.set_params({"fc_weight": mx.nd.ones((2, 5)), "fc_bias": mx.nd.zeros((3,))}, {})


def test_init_params_initializer_and_force_init(caplog):
    mod = mx.mod.Module(softmax_regression())
    mod.bind([("data", (8, 5))], [("softmax_label", (8,))])
    mod.init_params(mx.init.Constant(0.25))
    arg, _ = mod.get_params()
    np.testing.assert_array_equal(arg["fc_weight"].asnumpy(), np.full((3, 5), 0.25))
    np.testing.assert_array_equal(arg["fc_bias"].asnumpy(), np.zeros(3))  # *_bias: zero, whatever the init
    with caplog.at_level(logging.WARNING):
        mod.init_params(mx.init.Constant(1.0))
    assert "init_params call ignored" in caplog.text
    mod.init_params(mx.init.Constant(1.0), force_init=True)
    np.testing.assert_array_equal(mod.get_params()[0]["fc_weight"].asnumpy(), np.ones((3, 5)))


def test_checkpoint_and_optimizer_states_round_trip(tmp_path):
    x, y = blobs(8)
    mod, _ = bound(mlp())
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    for _ in range(2):
        mod.forward_backward(batch_of(x, y))
        mod.update()
    prefix = str(tmp_path / "m")
    mod.save_checkpoint(prefix, 2, save_optimizer_states=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-0002.params", "m-0002.states", "m-symbol.json"]
    loaded = mx.mod.Module.load(prefix, 2, load_optimizer_states=True)
    loaded.bind([("data", (8, 5))], [("softmax_label", (8,))])
    loaded.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    np.testing.assert_array_equal(loaded.predict(x).asnumpy(), mod.predict(x).asnumpy())
    for m in (mod, loaded):  # the momentum came back: the next step is the same
        m.forward_backward(batch_of(x, y))
        m.update()
    for k, v in mod.get_params()[0].items():
        np.testing.assert_allclose(loaded.get_params()[0][k].asnumpy(), v.asnumpy(), rtol=1e-6, err_msg=k)


def test_save_and_load_params(tmp_path):
    mod, p = bound()
    mod.save_params(str(tmp_path / "p.params"))
    assert sorted(mx.nd.load(str(tmp_path / "p.params"))) == ["arg:fc_bias", "arg:fc_weight"]
    other, _ = bound(seed=5)
    other.load_params(str(tmp_path / "p.params"))
    np.testing.assert_allclose(other.get_params()[0]["fc_weight"].asnumpy(), p["fc_weight"], rtol=1e-6)
    mx.nd.save(str(tmp_path / "bad.params"), {"fc_weight": mx.nd.ones((3, 5))})
    with pytest.raises(ValueError, match="arg:<name>"):
        other.load_params(str(tmp_path / "bad.params"))


def test_fit_learns_and_logs_like_mxnet(caplog):
    x, y = blobs(240)
    train = mx.io.NDArrayIter(x[:200], y[:200], batch_size=20, shuffle=True)
    val = mx.io.NDArrayIter(x[200:], y[200:], batch_size=20)
    mod = mx.mod.Module(mlp())
    epochs_seen = []
    with caplog.at_level(logging.INFO):
        mod.fit(train, eval_data=val, num_epoch=3, optimizer_params={"learning_rate": 0.5},
                epoch_end_callback=lambda epoch, sym, arg, aux: epochs_seen.append((epoch, sorted(arg))))
    lines = [r.getMessage() for r in caplog.records]
    for epoch in range(3):
        assert any(line.startswith(f"Epoch[{epoch}] Train-accuracy=") for line in lines)
        assert any(line.startswith(f"Epoch[{epoch}] Time cost=") for line in lines)
        assert any(line.startswith(f"Epoch[{epoch}] Validation-accuracy=") for line in lines)
    assert epochs_seen == [(e, ["fc1_bias", "fc1_weight", "fc2_bias", "fc2_weight"]) for e in range(3)]
    assert dict(mod.score(val, "acc"))["accuracy"] > 0.95


def test_fit_batch_end_callback_counts_from_zero():
    x, y = blobs(40)
    seen = []
    mx.mod.Module(softmax_regression()).fit(mx.io.NDArrayIter(x, y, batch_size=10), num_epoch=2,
                                            batch_end_callback=lambda p: seen.append((p.epoch, p.nbatch)))
    assert seen == [(e, b) for e in range(2) for b in range(4)]


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_fit_draws_a_progress_bar_on_a_terminal(monkeypatch):
    x, y = blobs(40)
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    mx.mod.Module(softmax_regression()).fit(mx.io.NDArrayIter(x, y, batch_size=10), num_epoch=1)
    assert "Epoch[0] [" in term.getvalue() and "/4 batches" in term.getvalue()
    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    mx.mod.Module(softmax_regression()).fit(mx.io.NDArrayIter(x, y, batch_size=10), num_epoch=1)
    assert piped.getvalue() == ""


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="data_names=\\['x'\\].*'x' is not found"):
        mx.mod.Module(softmax_regression(), data_names=["x"])
    mod = mx.mod.Module(softmax_regression())
    with pytest.raises(RuntimeError, match="forward: bind the module"):
        mod.forward(batch_of(np.zeros((8, 5), np.float32)))
    with pytest.raises(ValueError, match="don't match names"):
        mod.bind([("x", (8, 5))])
    with pytest.raises(NotImplementedError, match="several contexts"):
        mx.mod.Module(softmax_regression(), context=[mx.cpu(), mx.cpu(1)])
    mod, _ = bound()
    with pytest.raises(RuntimeError, match="init_optimizer"):
        mod.update()
    with pytest.raises(ValueError, match="num_epoch"):
        mod.fit(mx.io.NDArrayIter(np.zeros((8, 5), np.float32), np.zeros(8, np.float32), batch_size=8))
