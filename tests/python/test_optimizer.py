"""axle.optimizer and axle.lr_scheduler against MXNet 1.9.1: update sequences of every optimizer
(several steps, lr/wd multipliers, rescale_grad, clip_gradient, schedules) from
tests/data/training/training_ref.json (made by make_training_fixtures.py with .mxref)."""
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

import axle as mx

REF = json.loads((Path(__file__).parents[1] / "data" / "training" / "training_ref.json").read_text())
SCHEDULERS = {"factor": mx.lr_scheduler.FactorScheduler, "multifactor": mx.lr_scheduler.MultiFactorScheduler,
              "poly": mx.lr_scheduler.PolyScheduler, "cosine": mx.lr_scheduler.CosineScheduler}
# Stands in for the fixture's symbol: emb_weight has __lr_mult__ 0.5 and __wd_mult__ 2.
SYM_ATTRS = {"fc_weight": {}, "fc_bias": {}, "emb_weight": {"__lr_mult__": "0.5", "__wd_mult__": "2.0"}}


def _make(case):
    kw = dict(case["kwargs"])
    if "lr_scheduler" in kw:
        name, skw = kw["lr_scheduler"]
        kw["lr_scheduler"] = SCHEDULERS[name](**skw)
    names = list(REF["optimizers"]["weights"])
    opt = mx.optimizer.create(case["name"], param_idx2name=dict(enumerate(names)), sym=SYM_ATTRS, **kw)
    opt.set_lr_mult({"fc_weight": 0.25})
    return opt, names


def _states(state):
    if state is None:
        return []
    return [state] if isinstance(state, mx.nd.NDArray) else list(state)


@pytest.mark.parametrize("case", REF["optimizers"]["cases"], ids=lambda c: f"{c['name']}-{sorted(c['kwargs'])}")
def test_update_sequence_matches_mxnet(case):
    opt, names = _make(case)
    upd = mx.optimizer.get_updater(opt)
    w = {k: mx.nd.array(np.array(v, dtype=np.float32)) for k, v in REF["optimizers"]["weights"].items()}
    for step, (g, expected) in enumerate(zip(REF["optimizers"]["grads"], case["steps"])):
        for i, k in enumerate(names):
            upd(i, mx.nd.array(np.array(g[k], dtype=np.float32)), w[k])
        for k in names:
            np.testing.assert_allclose(w[k].asnumpy(), np.array(expected[k]), rtol=1e-5, atol=1e-6,
                                       err_msg=f"{case['name']} {case['kwargs']}: {k} after step {step + 1}")
    for i, k in enumerate(names):
        got = _states(upd.states[i])
        assert len(got) == len(case["states"][k])
        for s, e in zip(got, case["states"][k]):
            np.testing.assert_allclose(s.asnumpy(), np.array(e), rtol=1e-5, atol=1e-6, err_msg=f"state of {k}")
    assert opt.num_update == case["num_update"]


def test_update_does_not_change_the_gradient():
    for name in ("adadelta", "adagrad", "sgd"):
        opt = mx.optimizer.create(name, rescale_grad=0.5, clip_gradient=0.1)
        g = mx.nd.array([1.0, -2.0, 3.0])
        w = mx.nd.zeros((3,))
        mx.optimizer.get_updater(opt)(0, g, w)
        np.testing.assert_array_equal(g.asnumpy(), [1.0, -2.0, 3.0])


def test_multipliers_from_names_symbol_and_setters():
    opt = mx.optimizer.SGD(param_idx2name={0: "a_weight", 1: "a_bias", 2: "b_gamma", 3: "c_beta"}, wd=0.1,
                           learning_rate=1.0, sym={"a_weight": {"__lr_mult__": "3"}, "c_beta": {"__wd_mult__": "0.5"}})
    assert [opt._get_wd(i) for i in range(4)] == pytest.approx([0.1, 0.0, 0.1, 0.05])
    assert [opt._get_lr(i) for i in range(4)] == [3.0, 1.0, 1.0, 1.0]
    opt.set_lr_mult({"a_bias": 0.5, 2: 0.25})
    assert [opt._get_lr(i) for i in range(4)] == [3.0, 0.5, 0.25, 1.0]  # the symbol's, then the given ones
    opt.set_wd_mult({"a_bias": 2.0})
    assert opt._get_wd(1) == pytest.approx(0.2)


def test_num_update_and_begin_num_update_drive_the_scheduler():
    sched = mx.lr_scheduler.FactorScheduler(step=2, factor=0.5, base_lr=1.0)
    opt = mx.optimizer.SGD(lr_scheduler=sched, begin_num_update=3)
    w, g = mx.nd.ones((2,)), mx.nd.ones((2,))
    upd = mx.optimizer.get_updater(opt)
    upd(0, g, w)  # update 4: lr = 0.5
    assert opt.num_update == 4
    np.testing.assert_allclose(w.asnumpy(), [0.5, 0.5])
    assert opt.learning_rate == 0.5


def test_learning_rate_overrides_scheduler_base_and_set_learning_rate():
    sched = mx.lr_scheduler.FactorScheduler(step=10, base_lr=0.3)
    mx.optimizer.SGD(learning_rate=0.7, lr_scheduler=sched)
    assert sched.base_lr == 0.7
    opt = mx.optimizer.SGD(learning_rate=0.1)
    opt.set_learning_rate(0.2)
    assert opt.learning_rate == 0.2
    with pytest.raises(UserWarning):
        mx.optimizer.SGD(lr_scheduler=sched).set_learning_rate(0.1)


def test_create_register_and_errors():
    assert isinstance(mx.optimizer.create("Adam"), mx.optimizer.Adam)
    with pytest.raises(ValueError, match="Cannot find optimizer nosuch"):
        mx.optimizer.create("nosuch")

    @mx.optimizer.register
    class HalfStep(mx.optimizer.Optimizer):
        def update(self, index, weight, grad, state):
            weight -= grad * 0.5

    w = mx.nd.ones((2,))
    mx.optimizer.get_updater(mx.optimizer.create("halfstep"))(0, mx.nd.ones((2,)), w)
    np.testing.assert_allclose(w.asnumpy(), [0.5, 0.5])
    with pytest.raises(ValueError, match="weight shape"):
        mx.optimizer.SGD().update(0, mx.nd.ones((2,)), mx.nd.ones((3,)), None)
    with pytest.raises(TypeError, match="param_idx2name"):
        mx.optimizer.SGD(param_idx2name=["a"])


def test_updater_states_round_trip_through_pickle():
    opt = mx.optimizer.Adam(learning_rate=0.1)
    upd = mx.optimizer.get_updater(opt)
    w1, w2 = mx.nd.ones((3,)), mx.nd.ones((3,))
    g = mx.nd.array([0.5, -1.0, 2.0])
    upd(0, g, w1)
    blob = upd.get_states(dump_optimizer=True)
    upd2 = mx.optimizer.get_updater(mx.optimizer.Adam(learning_rate=0.1))
    upd2.set_states(blob)
    assert upd2.optimizer.num_update == 1
    w2[:] = w1
    upd(0, g, w1)
    upd2(0, g, w2)
    np.testing.assert_allclose(w2.asnumpy(), w1.asnumpy(), rtol=1e-6)
    upd3 = mx.optimizer.get_updater(opt)
    upd3.set_states(upd.get_states())
    assert set(upd3.states) == {0} and upd3.states_synced == {0: False}
    np.testing.assert_allclose(upd3.states[0][0].asnumpy(), upd.states[0][0].asnumpy())
    pickle.loads(pickle.dumps(opt))  # the optimizer itself pickles


def test_multi_precision_keeps_a_float32_master_copy():
    opt = mx.optimizer.SGD(learning_rate=0.1, momentum=0.9, multi_precision=True)
    upd = mx.optimizer.get_updater(opt)
    w = mx.nd.ones((4,), dtype=np.float16)
    for _ in range(3):
        upd(0, mx.nd.array(np.full(4, 1e-3), dtype=np.float16), w)
    master, mom = upd.states[0]
    assert master.dtype == np.float32 and mom.dtype == np.float32 and w.dtype == np.float16
    np.testing.assert_allclose(w.asnumpy().astype(np.float32), master.asnumpy().astype(np.float16), rtol=0)


@pytest.mark.parametrize("case", REF["schedulers"], ids=lambda c: f"{c['name']}-{sorted(c['kwargs'])}")
def test_scheduler_values_match_mxnet(case):
    s = SCHEDULERS[case["name"]](**case["kwargs"])
    got = [s(t) for t in range(len(case["values"]))]
    np.testing.assert_allclose(got, case["values"], rtol=1e-12, atol=1e-15)


def test_scheduler_argument_errors():
    with pytest.raises(ValueError, match="Factor must be no more than 1"):
        mx.lr_scheduler.FactorScheduler(step=1, factor=2)
    with pytest.raises(ValueError, match="increasing"):
        mx.lr_scheduler.MultiFactorScheduler(step=[3, 2])
    with pytest.raises(ValueError, match="warmup"):
        mx.lr_scheduler.CosineScheduler(max_update=4, warmup_mode="cubic")
    with pytest.raises(ValueError, match="strictly positive"):
        mx.lr_scheduler.PolyScheduler(max_update=0)


def test_pieces_together_train_softmax_regression_on_the_bundled_mnist():
    # NDArrayIter + Xavier + SGD updater + Accuracy, with the gradient of softmax regression written
    # out (X^T (softmax - onehot)): the pieces FeedForward/Module will drive, working together.
    d = mx.test_utils.get_mnist()
    mx.random.seed(0)
    np.random.seed(0)
    w, b = mx.nd.zeros((10, 784)), mx.nd.zeros((10,))
    mx.init.Xavier()(mx.init.InitDesc("fc_weight"), w)
    mx.init.Xavier()(mx.init.InitDesc("fc_bias"), b)
    opt = mx.optimizer.create("sgd", learning_rate=0.5, momentum=0.9, wd=1e-4, rescale_grad=1.0 / 100,
                              param_idx2name={0: "fc_weight", 1: "fc_bias"})
    upd = mx.optimizer.get_updater(opt)
    train = mx.io.NDArrayIter(d["train_data"].reshape(4000, -1), d["train_label"], 100, shuffle=True)
    for _ in range(2):
        train.reset()
        for batch in train:
            x, label = batch.data[0], batch.label[0]
            g = mx.nd.softmax(mx.nd.FullyConnected(x, w, b, num_hidden=10)) - mx.nd.one_hot(label, depth=10)
            upd(0, mx.nd.dot(g, x, transpose_a=True), w)
            upd(1, mx.nd.sum(g, axis=0), b)
    val = mx.metric.create("acc")
    for batch in mx.io.NDArrayIter(d["test_data"].reshape(1000, -1), d["test_label"], 100):
        val.update(batch.label, [mx.nd.FullyConnected(batch.data[0], w, b, num_hidden=10)])
    assert opt.num_update == 80 and val.get()[1] > 0.85
