"""axle.init: the deterministic initializers and dumps() against MXNet 1.9.1 (training_ref.json),
the random ones by their statistics (analytic values) and reproducibility under axle.random.seed,
and the dispatch by variable name."""
import json
from pathlib import Path

import numpy as np
import pytest

import axle as mx

REF = json.loads((Path(__file__).parents[1] / "data" / "training" / "training_ref.json").read_text())["init"]


def _fill(init, name, shape, dtype=np.float32):
    arr = mx.nd.zeros(shape, dtype=dtype)
    init(mx.init.InitDesc(name), arr)
    return arr.asnumpy()


@pytest.mark.parametrize("name,init,shape", [("bilinear", mx.init.Bilinear(), (2, 1, 4, 3)),
                                             ("lstmbias", mx.init.LSTMBias(2.5), (8,)),
                                             ("constant", mx.init.Constant(0.3), (2, 3))])
def test_deterministic_initializers_match_mxnet(name, init, shape):
    np.testing.assert_array_equal(_fill(init, "x_weight", shape), np.array(REF[name], dtype=np.float32))


def test_dumps_match_mxnet():
    got = [mx.init.Xavier(factor_type="in", magnitude=2.34).dumps(), mx.init.Normal(0.5).dumps(),
           mx.init.MSRAPrelu().dumps(), mx.init.Uniform().dumps(), mx.init.Constant(2).dumps(),
           mx.init.Orthogonal().dumps()]
    assert got == REF["dumps"]
    assert mx.init.Constant(np.array([1.0, 2.0])).dumps() == '["constant", {"value": [1.0, 2.0]}]'


def test_dispatch_by_name_matches_mxnet():
    for name, value in REF["dispatch"].items():
        assert _fill(mx.init.Constant(7.0), name, (2,))[0] == value, name


def test_moving_statistics_dispatch():
    init = mx.init.Constant(7.0)
    assert _fill(init, "bn_moving_mean", (3,)).tolist() == [0, 0, 0]
    assert _fill(init, "bn_moving_var", (3,)).tolist() == [1, 1, 1]
    assert _fill(init, "bn_moving_inv_var", (3,)).tolist() == [0, 0, 0]
    assert _fill(init, "x_moving_avg", (3,)).tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="Unknown initialization pattern for data"):
        _fill(init, "data", (3,))
    assert _fill(init, "plain_str_weight", (2,)).tolist() == [7, 7]  # a plain str works as a name too
    arr = mx.nd.zeros((2,))
    init("fc_bias", arr)
    assert arr.asnumpy().tolist() == [0, 0]


def test_init_attribute_overrides_the_name_dispatch():
    arr = mx.nd.zeros((2, 2))
    mx.init.Uniform()(mx.init.InitDesc("fc_bias", attrs={"__init__": '["constant", {"value": 5.0}]'}), arr)
    assert (arr.asnumpy() == 5).all()
    mx.init.Uniform()(mx.init.InitDesc("fc_weight", attrs={"__init__": "one"}), arr)
    assert (arr.asnumpy() == 1).all()


def test_uniform_and_normal_statistics_and_seed():
    mx.random.seed(11)
    a = _fill(mx.init.Uniform(0.2), "w_weight", (300, 200))
    mx.random.seed(11)
    b = _fill(mx.init.Uniform(0.2), "w_weight", (300, 200))
    np.testing.assert_array_equal(a, b)
    assert -0.2 <= a.min() and a.max() <= 0.2
    assert a.std() == pytest.approx(0.2 / np.sqrt(3), rel=0.02) and abs(a.mean()) < 0.003
    n = _fill(mx.init.Normal(0.5), "w_weight", (300, 200))
    assert n.std() == pytest.approx(0.5, rel=0.02) and abs(n.mean()) < 0.01
    assert not np.array_equal(_fill(mx.init.Normal(0.5), "w_weight", (300, 200)), n)


@pytest.mark.parametrize("factor_type,shape", [("avg", (200, 300)), ("in", (64, 32, 3, 3)), ("out", (300, 100))])
def test_xavier_scale(factor_type, shape):
    hw = np.prod(shape[2:]) if len(shape) > 2 else 1
    fan_in, fan_out = shape[1] * hw, shape[0] * hw
    factor = {"avg": (fan_in + fan_out) / 2, "in": fan_in, "out": fan_out}[factor_type]
    scale = np.sqrt(3.0 / factor)
    u = _fill(mx.init.Xavier(factor_type=factor_type), "c_weight", shape)
    assert np.abs(u).max() <= scale * (1 + 1e-6) and u.std() == pytest.approx(scale / np.sqrt(3), rel=0.03)
    g = _fill(mx.init.Xavier(rnd_type="gaussian", factor_type=factor_type, magnitude=2), "c_weight", shape)
    assert g.std() == pytest.approx(np.sqrt(2.0 / factor), rel=0.03)


def test_msra_prelu_std():
    w = _fill(mx.init.MSRAPrelu(factor_type="in", slope=0.5), "c_weight", (256, 400))
    assert w.std() == pytest.approx(np.sqrt(2.0 / (1 + 0.25) / 400), rel=0.03)


def test_xavier_errors():
    with pytest.raises(ValueError, match="vector fc_weight of shape \\(5,\\)"):
        _fill(mx.init.Xavier(), "fc_weight", (5,))
    with pytest.raises(ValueError, match="rnd_type"):
        mx.init.Xavier(rnd_type="cauchy")
    with pytest.raises(ValueError, match="factor_type"):
        mx.init.Xavier(factor_type="sum")


@pytest.mark.parametrize("shape,rand_type", [((4, 6), "uniform"), ((6, 2, 2), "normal")])
def test_orthogonal_rows_or_columns_are_orthonormal(shape, rand_type):
    w = _fill(mx.init.Orthogonal(scale=2.0, rand_type=rand_type), "q_weight", shape).reshape(shape[0], -1)
    gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    np.testing.assert_allclose(gram, 4.0 * np.eye(gram.shape[0]), atol=1e-5)


def test_zero_one_and_create():
    assert (_fill(mx.init.Zero(), "a_weight", (2,)) == 0).all()
    assert (_fill(mx.init.One(), "a_weight", (2,)) == 1).all()
    assert isinstance(mx.init.create("xavier", magnitude=2), mx.init.Xavier)
    assert isinstance(mx.init.create("zeros"), mx.init.Zero)
    assert mx.init.create('["normal", {"sigma": 0.5}]') == mx.init.Normal(0.5)
    x = mx.init.Uniform()
    assert mx.init.create(x) is x and mx.initializer.Xavier is mx.init.Xavier
    with pytest.raises(ValueError, match="Cannot find initializer 'nosuch'"):
        mx.init.create("nosuch")


def test_register_a_custom_initializer():
    @mx.init.register
    @mx.init.alias("point_one")
    class PointOne(mx.init.Initializer):
        def _init_weight(self, _, arr):
            arr[:] = 0.1

    assert np.allclose(_fill(mx.init.create("point_one"), "a_weight", (2,)), 0.1)
    assert isinstance(mx.init.create("pointone"), PointOne)


def test_mixed_and_load(tmp_path):
    init = mx.init.Mixed(["fc1", ".*"], [mx.init.Constant(3.0), mx.init.One()])
    assert _fill(init, "fc1_weight", (2,)).tolist() == [3, 3]
    assert _fill(init, "fc2_weight", (2,)).tolist() == [1, 1]
    assert _fill(init, "fc1_bias", (2,)).tolist() == [0, 0]  # the chosen initializer still dispatches by name
    with pytest.raises(ValueError, match="did not match any pattern"):
        _fill(mx.init.Mixed(["bias$"], [mx.init.Zero()]), "fc_weight", (2,))
    fname = str(tmp_path / "p.params")
    mx.nd.save(fname, {"arg:fc_weight": mx.nd.array([1.0, 2.0]), "aux:bn_moving_mean": mx.nd.array([5.0])})
    load = mx.init.Load(fname, default_init=mx.init.Constant(9.0))
    assert _fill(load, "fc_weight", (2,)).tolist() == [1, 2]
    assert _fill(load, "bn_moving_mean", (1,)).tolist() == [5]
    assert _fill(load, "other_weight", (2,)).tolist() == [9, 9]
    with pytest.raises(ValueError, match=r"fc_weight .*shape mismatch, target \(3,\) vs loaded \(2,\)"):
        _fill(load, "fc_weight", (3,))
    with pytest.raises(ValueError, match="no default initializer"):
        _fill(mx.init.Load({"a": mx.nd.zeros((1,))}), "b_weight", (1,))
