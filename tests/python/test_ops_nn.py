"""Neural-network ops: dot, batch_dot, FullyConnected, Activation, LeakyReLU, softmax, log_softmax,
SoftmaxActivation, SoftmaxOutput (Softmax), the regression outputs, MakeLoss, BlockGrad
(stop_gradient), Dropout and Embedding.

Forward results are compared with numpy references computed in float64 on the same (already
rounded) inputs; gradients with central differences (check_numeric_gradient, float64); the loss
heads' gradients with numbers computed offline with MXNet 1.9.1 and with numpy formulas.
"""
import math

import numpy as np
import pytest

import axle as mx
from axle.test_utils import check_numeric_gradient, op_gradient, training

RTOL = {"float16": 2e-3, "float32": 2e-5, "float64": 1e-12}
ATOL = {"float16": 2e-3, "float32": 1e-5, "float64": 1e-12}


def data(shape, dtype="float64", lo=-2.0, hi=2.0, seed=0):
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind in "iu":
        return rng.integers(int(lo), int(hi) + 1, size=shape).astype(dt)
    return rng.uniform(lo, hi, size=shape).astype(dt)


def away_from(x, points=(0.0,), gap=0.1):
    """x with values near the kinks moved away (finite differences across a kink are meaningless)."""
    x = x.copy()
    for p in points:
        near = np.abs(x - p) < gap
        x[near] = p + np.where(x[near] >= p, gap, -gap) * 2
    return x


def check(got, expected, dtype):
    """got (an NDArray) equals expected (float64 numpy) within dtype's tolerance, with dtype and shape."""
    assert isinstance(got, mx.nd.NDArray), type(got)
    g = got.asnumpy()
    assert g.dtype == np.dtype(dtype), (g.dtype, dtype)
    assert g.shape == np.shape(expected), (g.shape, np.shape(expected))
    if np.dtype(dtype).kind == "f":
        np.testing.assert_allclose(g.astype(np.float64), expected, rtol=RTOL[dtype], atol=ATOL[dtype])
    else:
        np.testing.assert_array_equal(g, np.asarray(expected).astype(dtype))


def nd(x, dtype=None):
    return mx.nd.array(x, dtype=dtype or x.dtype)


def grads(op, inputs, attrs=None, ograd=None):
    """The op's registered gradient (float64) for one output gradient."""
    attrs = attrs or {}
    ins = [nd(np.asarray(x, np.float64)) for x in inputs]
    out = getattr(mx.nd, op)(*ins, **attrs)
    og = np.ones(out.shape) if ograd is None else ograd
    return [g.asnumpy() for g in op_gradient(op, ins, [nd(np.asarray(og, np.float64))], **attrs)]


# ---- dot ----------------------------------------------------------------------------------------
def np_dot(a, b, ta=False, tb=False):
    """MXNet's dot: lhs as (prod(shape[:-1]), shape[-1]) (transposed view of (shape[0], rest) when
    transpose_a), rhs as (shape[0], rest) (transposed view of (prod(shape[:-1]), shape[-1]))."""
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    if a.ndim == 1 and b.ndim == 1:
        return np.array([a @ b])
    A = a.reshape(a.shape[0], math.prod(a.shape[1:])).T if ta else a.reshape(math.prod(a.shape[:-1]), a.shape[-1])
    B = b.reshape(math.prod(b.shape[:-1]), b.shape[-1]).T if tb else b.reshape(b.shape[0], math.prod(b.shape[1:]))
    dims = ((a.shape[1:] if ta else a.shape[:-1]) if a.ndim > 1 else ()) + \
           ((b.shape[:-1] if tb else b.shape[1:]) if b.ndim > 1 else ())
    return (A @ B).reshape(dims)


DOT_CASES = [
    # id, lhs shape, rhs shape, transpose_a, transpose_b, expected output shape
    ("mat_mat", (3, 4), (4, 5), False, False, (3, 5)),
    ("mat_matT", (3, 4), (5, 4), False, True, (3, 5)),
    ("matT_mat", (4, 3), (4, 5), True, False, (3, 5)),
    ("matT_matT", (4, 3), (5, 4), True, True, (3, 5)),
    ("vec_vec", (6,), (6,), False, False, (1,)),
    ("vec_mat", (3,), (3, 4), False, False, (4,)),
    ("mat_vec", (2, 3), (3,), False, False, (2,)),
    ("vec_matT", (3,), (4, 3), False, True, (4,)),
    ("matT_vec", (3, 4), (3,), True, False, (4,)),
    ("vecT_mat", (3,), (3, 4), True, False, (4,)),
    ("3d_3d", (2, 3, 4), (4, 5, 6), False, False, (2, 3, 5, 6)),
    ("3dT_3dT", (2, 3, 4), (5, 6, 2), True, True, (3, 4, 5, 6)),
    ("3d_matT", (2, 3, 4), (5, 4), False, True, (2, 3, 5)),
    ("mat_4d", (2, 3), (3, 1, 2, 2), False, False, (2, 1, 2, 2)),
    ("zero_rows", (0, 4), (4, 3), False, False, (0, 3)),
    ("zero_k", (3, 0), (0, 2), False, False, (3, 2)),
    ("zero_cols_T", (3, 4), (0, 4), False, True, (3, 0)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32", "int64"])
@pytest.mark.parametrize("ls,rs,ta,tb,oshape", [c[1:] for c in DOT_CASES], ids=[c[0] for c in DOT_CASES])
def test_dot_forward(ls, rs, ta, tb, oshape, dtype):
    a, b = data(ls, dtype, seed=1), data(rs, dtype, seed=2)
    expected = np_dot(a, b, ta, tb)
    assert expected.shape == oshape
    check(mx.nd.dot(nd(a), nd(b), transpose_a=ta, transpose_b=tb), expected, dtype)


def test_dot_large_matches_numpy():
    a, b = data((67, 130), "float32", seed=3), data((130, 45), "float32", seed=4)
    check(mx.nd.dot(nd(a), nd(b)), a.astype(np.float64) @ b, "float32")


@pytest.mark.parametrize("ls,rs,ta,tb", [c[1:5] for c in DOT_CASES if 0 not in c[1] + c[2]],
                         ids=[c[0] for c in DOT_CASES if 0 not in c[1] + c[2]])
def test_dot_gradient(ls, rs, ta, tb):
    check_numeric_gradient("dot", [data(ls, seed=5), data(rs, seed=6)], {"transpose_a": ta, "transpose_b": tb})


def test_dot_gradient_zero_k_is_zero():
    g = grads("dot", [np.zeros((3, 0)), np.zeros((0, 2))])
    assert g[0].shape == (3, 0) and g[1].shape == (0, 2)
    g = grads("dot", [np.ones((0, 3)), np.ones((3, 2))])
    np.testing.assert_array_equal(g[1], np.zeros((3, 2)))


def test_dot_writes_into_out():
    a, b = data((3, 4), "float32"), data((4, 2), "float32")
    out = mx.nd.zeros((3, 2))
    r = mx.nd.dot(nd(a), nd(b), out=out)
    assert r is out
    check(out, np_dot(a, b), "float32")


# ---- batch_dot ----------------------------------------------------------------------------------
def np_batch_dot(a, b, ta=False, tb=False):
    a = np.swapaxes(a, -1, -2) if ta else a
    b = np.swapaxes(b, -1, -2) if tb else b
    return np.matmul(a.astype(np.float64), b.astype(np.float64))


BATCH_DOT_CASES = [
    ("plain", (2, 3, 4), (2, 4, 5), False, False),
    ("ta", (2, 4, 3), (2, 4, 5), True, False),
    ("tb", (2, 3, 4), (2, 5, 4), False, True),
    ("ta_tb", (3, 4, 3), (3, 5, 4), True, True),
    ("4d", (2, 2, 3, 4), (2, 2, 4, 1), False, False),
    ("batch1", (1, 1, 7), (1, 7, 1), False, False),
    ("zero_batch", (0, 3, 4), (0, 4, 5), False, False),
    ("zero_k", (2, 3, 0), (2, 0, 5), False, False),
]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32"])
@pytest.mark.parametrize("ls,rs,ta,tb", [c[1:] for c in BATCH_DOT_CASES], ids=[c[0] for c in BATCH_DOT_CASES])
def test_batch_dot_forward(ls, rs, ta, tb, dtype):
    a, b = data(ls, dtype, seed=7), data(rs, dtype, seed=8)
    check(mx.nd.batch_dot(nd(a), nd(b), transpose_a=ta, transpose_b=tb), np_batch_dot(a, b, ta, tb), dtype)


@pytest.mark.parametrize("ls,rs,ta,tb", [c[1:] for c in BATCH_DOT_CASES[:5]], ids=[c[0] for c in BATCH_DOT_CASES[:5]])
def test_batch_dot_gradient(ls, rs, ta, tb):
    check_numeric_gradient("batch_dot", [data(ls, seed=9), data(rs, seed=10)], {"transpose_a": ta, "transpose_b": tb})


# ---- FullyConnected -----------------------------------------------------------------------------
def np_fc(x, w, b=None, flatten=True):
    x = x.astype(np.float64)
    if flatten:
        x2 = x.reshape(x.shape[0], math.prod(x.shape[1:]))
        oshape = (x.shape[0], w.shape[0])
    else:
        x2 = x.reshape(math.prod(x.shape[:-1]), x.shape[-1])
        oshape = x.shape[:-1] + (w.shape[0],)
    y = x2 @ w.astype(np.float64).T
    if b is not None:
        y = y + b.astype(np.float64).reshape(-1)
    return y.reshape(oshape)


FC_CASES = [
    # id, data shape, num_hidden, flatten, bias shape (None: no_bias)
    ("2d", (4, 5), 3, True, (3,)),
    ("2d_no_bias", (4, 5), 3, True, None),
    ("4d_flatten", (2, 3, 2, 2), 4, True, (4,)),
    ("3d_no_flatten", (2, 3, 5), 4, False, (4,)),
    ("3d_no_flatten_no_bias", (2, 3, 5), 4, False, None),
    ("1d_flatten", (3,), 2, True, (2,)),
    ("1d_no_flatten", (3,), 2, False, (2,)),
    ("bias_2d", (4, 5), 3, True, (3, 1)),
    ("one_hidden", (6, 2), 1, True, (1,)),
    ("zero_batch", (0, 5), 3, True, (3,)),
    ("zero_batch_no_flatten", (2, 0, 5), 3, False, (3,)),
    ("zero_input", (4, 0), 3, True, (3,)),
]


def fc_weight_shape(ds, h, flatten):
    return (h, math.prod(ds[1:]) if flatten else ds[-1])


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32"])
@pytest.mark.parametrize("ds,h,flatten,bs", [c[1:] for c in FC_CASES], ids=[c[0] for c in FC_CASES])
def test_fully_connected_forward(ds, h, flatten, bs, dtype):
    x, w = data(ds, dtype, seed=11), data(fc_weight_shape(ds, h, flatten), dtype, seed=12)
    b = data(bs, dtype, seed=13) if bs else None
    args = [nd(x), nd(w)] + ([nd(b)] if bs else [])
    y = mx.nd.FullyConnected(*args, num_hidden=h, flatten=flatten, no_bias=bs is None)
    check(y, np_fc(x, w, b, flatten), dtype)


def test_fully_connected_mlp_shape_float32():
    x, w, b = data((128, 784), "float32", seed=1), data((128, 784), "float32", seed=2), data((128,), "float32", seed=3)
    y = mx.nd.FullyConnected(nd(x), nd(w), nd(b), num_hidden=128).asnumpy()
    np.testing.assert_allclose(y, np_fc(x, w, b), rtol=1e-5, atol=2e-4)  # sums of 784 float32 products


@pytest.mark.parametrize("ds,h,flatten,bs", [c[1:] for c in FC_CASES if 0 not in c[1]],
                         ids=[c[0] for c in FC_CASES if 0 not in c[1]])
def test_fully_connected_gradient(ds, h, flatten, bs):
    ins = [data(ds, seed=14), data(fc_weight_shape(ds, h, flatten), seed=15)] + ([data(bs, seed=16)] if bs else [])
    g = check_numeric_gradient("FullyConnected", ins, {"num_hidden": h, "flatten": flatten, "no_bias": bs is None})
    assert [x.shape for x in g] == [x.shape for x in ins]


def test_fully_connected_gradient_formulas():
    x, w, b = data((5, 3), seed=1), data((4, 3), seed=2), data((4,), seed=3)
    dy = data((5, 4), seed=4)
    gx, gw, gb = grads("FullyConnected", [x, w, b], {"num_hidden": 4}, dy)
    np.testing.assert_allclose(gx, dy @ w, rtol=1e-12)
    np.testing.assert_allclose(gw, dy.T @ x, rtol=1e-12)
    np.testing.assert_allclose(gb, dy.sum(0), rtol=1e-12)


def test_fully_connected_zero_batch_gradient():
    gx, gw, gb = grads("FullyConnected", [np.ones((0, 3)), np.ones((2, 3)), np.ones((2,))], {"num_hidden": 2})
    assert gx.shape == (0, 3)
    np.testing.assert_array_equal(gw, np.zeros((2, 3)))
    np.testing.assert_array_equal(gb, np.zeros(2))


# ---- Activation / LeakyReLU ---------------------------------------------------------------------
def np_act(x, t):
    x = x.astype(np.float64)
    return {"relu": np.maximum(x, 0), "sigmoid": 1 / (1 + np.exp(-x)), "tanh": np.tanh(x),
            "softrelu": np.log1p(np.exp(x)), "softsign": x / (1 + np.abs(x))}[t]


ACT_TYPES = ["relu", "sigmoid", "tanh", "softrelu", "softsign"]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("act", ACT_TYPES)
@pytest.mark.parametrize("shape", [(7,), (2, 3, 4), (0, 3)])
def test_activation_forward(act, shape, dtype):
    x = data(shape, dtype, -4, 4)
    check(mx.nd.Activation(nd(x), act_type=act), np_act(x, act), dtype)


def test_activation_softrelu_is_stable_for_large_inputs():
    x = np.array([-100.0, -30.0, 0.0, 30.0, 100.0, 500.0])
    y = mx.nd.Activation(nd(x), act_type="softrelu").asnumpy()
    np.testing.assert_allclose(y, np.logaddexp(0, x), rtol=1e-12, atol=1e-300)
    assert np.isfinite(y).all()


VMATH = {"Activation(tanh)": (lambda a: mx.nd.Activation(a, act_type="tanh"), np.tanh),
         "Activation(sigmoid)": (lambda a: mx.nd.Activation(a, act_type="sigmoid"), lambda x: 1 / (1 + np.exp(-x))),
         "tanh": (mx.nd.tanh, np.tanh), "sigmoid": (mx.nd.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
         "exp": (mx.nd.exp, np.exp)}


@pytest.mark.parametrize("name", sorted(VMATH))
def test_vectorised_float32_math_over_the_range(name):
    # float32 exp/tanh/sigmoid run vectorised kernels (ops/cpu/vec_math.h): within 3 ulp of float64
    # wherever the result is a normal float32, exact limits, NaN kept, -0 kept by tanh
    f, ref = VMATH[name]
    x = np.concatenate([np.linspace(-100, 100, 400001), np.linspace(-1, 1, 100001),
                        [0.625, np.nextafter(np.float32(0.625), np.float32(0)), 9, -9, 44.36, -44.37, 87.3, -87.3,
                         88.7, 88.72, 89, np.inf, -np.inf, 1e-30, -1e-30]]).astype(np.float32)
    got = f(mx.nd.array(x)).asnumpy().astype(np.float64)
    with np.errstate(over="ignore"):
        want = ref(x.astype(np.float64))
    big = np.abs(want) > np.finfo(np.float32).max
    assert (got[big] == np.inf).all()
    normal = (np.abs(want) >= np.finfo(np.float32).tiny) & ~big
    ulp = np.spacing(np.abs(want[normal]).astype(np.float32)).astype(np.float64)
    err = np.abs(got[normal] - want[normal]) / ulp
    assert err.max() <= 3, (err.max(), x[normal][err.argmax()])
    assert (np.abs(got[~normal & ~big]) <= np.finfo(np.float32).tiny).all()
    assert np.isnan(f(mx.nd.array(np.array([np.nan], np.float32))).asnumpy()).all()
    if "tanh" in name:
        assert np.signbit(f(mx.nd.array(np.array([-0.0], np.float32))).asnumpy()[0])

@pytest.mark.parametrize("act", ACT_TYPES)
def test_activation_gradient(act):
    check_numeric_gradient("Activation", [away_from(data((3, 4), lo=-3, hi=3))], {"act_type": act})


SELU_A, SELU_L = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def np_leaky(x, t, slope=0.25, gamma=None):
    x = x.astype(np.float64)
    slope = float(np.float32(slope))  # a float attribute, as in MXNet
    if t == "leaky":
        return np.where(x > 0, x, slope * x)
    if t == "elu":
        return np.where(x > 0, x, slope * np.expm1(x))
    if t == "selu":
        return SELU_L * np.where(x > 0, x, SELU_A * np.expm1(x))
    if t == "gelu":
        from math import erf
        return 0.5 * x * (1 + np.array([erf(v) for v in (x / np.sqrt(2)).ravel()]).reshape(x.shape))
    return np.where(x > 0, x, gamma * x)


LEAKY_CASES = [
    ("leaky", "leaky", {}),
    ("leaky_slope", "leaky", {"slope": 0.1}),
    ("elu", "elu", {}),
    ("elu_slope", "elu", {"slope": 0.7}),
    ("selu", "selu", {}),
    ("gelu", "gelu", {}),
]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("t,kw", [c[1:] for c in LEAKY_CASES], ids=[c[0] for c in LEAKY_CASES])
@pytest.mark.parametrize("shape", [(2, 5), (3, 2, 2), (0,)])
def test_leaky_relu_forward(t, kw, shape, dtype):
    x = data(shape, dtype, -3, 3)
    check(mx.nd.LeakyReLU(nd(x), act_type=t, **kw), np_leaky(x, t, kw.get("slope", 0.25)), dtype)


def test_leaky_relu_mxnet_values():
    # MXNet 1.9.1: elu slope 0.7, selu and gelu of [[-1, 2, -3], [0.5, -1, -2]]
    x = np.array([[-1.0, 2, -3], [0.5, -1, -2]])
    np.testing.assert_allclose(mx.nd.LeakyReLU(nd(x), act_type="elu", slope=0.7).asnumpy(),
                               [[-0.442484, 2, -0.665149], [0.5, -0.442484, -0.605265]], atol=1e-6)
    np.testing.assert_allclose(mx.nd.LeakyReLU(nd(x), act_type="selu").asnumpy(),
                               [[-1.111331, 2.101402, -1.670569], [0.525351, -1.111331, -1.520167]], atol=1e-6)
    np.testing.assert_allclose(mx.nd.LeakyReLU(nd(x), act_type="gelu").asnumpy(),
                               [[-0.158655, 1.9545, -0.00405], [0.345731, -0.158655, -0.0455]], atol=1e-6)


PRELU_CASES = [
    # id, data shape, gamma shape, gamma broadcast to data (numpy shape)
    ("channel", (2, 3), (3,), (1, 3)),
    ("channel_4d", (2, 3, 2, 2), (3,), (1, 3, 1, 1)),
    ("scalar", (2, 3, 2), (1,), (1, 1, 1)),
    ("axis0", (2, 3), (2,), (2, 1)),  # MXNet matches gamma's last axis to data axis 1, else axis 0
    ("axis0_3d", (2, 3, 2), (2,), (2, 1, 1)),
    ("two_axes", (2, 3, 2), (2, 3), (2, 3, 1)),
    ("row", (2, 3), (1, 3), (1, 3)),
    ("vector", (4,), (4,), (4,)),
    ("zero_batch", (0, 3), (3,), (1, 3)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("ds,gs,gb", [c[1:] for c in PRELU_CASES], ids=[c[0] for c in PRELU_CASES])
def test_prelu_forward(ds, gs, gb, dtype):
    x, g = data(ds, dtype, -3, 3), data(gs, dtype, 0, 1, seed=3)
    check(mx.nd.LeakyReLU(nd(x), nd(g), act_type="prelu"), np_leaky(x, "prelu", gamma=g.reshape(gb)), dtype)


def test_prelu_mxnet_values():
    x = np.array([[-1.0, 2, -3], [0.5, -1, -2]])
    np.testing.assert_allclose(mx.nd.LeakyReLU(nd(x), nd(np.array([0.1, 0.2, 0.3])), act_type="prelu").asnumpy(),
                               [[-0.1, 2, -0.9], [0.5, -0.2, -0.6]], atol=1e-12)
    np.testing.assert_allclose(mx.nd.LeakyReLU(nd(x), nd(np.array([0.1, 0.2])), act_type="prelu").asnumpy(),
                               [[-0.1, 2, -0.3], [0.5, -0.2, -0.4]], atol=1e-12)


@pytest.mark.parametrize("t,kw", [c[1:] for c in LEAKY_CASES], ids=[c[0] for c in LEAKY_CASES])
def test_leaky_relu_gradient(t, kw):
    check_numeric_gradient("LeakyReLU", [away_from(data((3, 4), lo=-3, hi=3))], dict(act_type=t, **kw))


@pytest.mark.parametrize("ds,gs", [c[1:3] for c in PRELU_CASES if 0 not in c[1]],
                         ids=[c[0] for c in PRELU_CASES if 0 not in c[1]])
def test_prelu_gradient(ds, gs):
    check_numeric_gradient("LeakyReLU", [away_from(data(ds, lo=-3, hi=3)), data(gs, lo=0.1, hi=0.9, seed=4)],
                           {"act_type": "prelu"})


# ---- softmax / log_softmax / SoftmaxActivation --------------------------------------------------
def np_softmax(x, axis=-1, t=1.0, log=False):
    if x.size == 0:
        return np.zeros(x.shape)
    z = x.astype(np.float64) / t
    z = z - z.max(axis=axis, keepdims=True)
    if log:
        return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


SOFTMAX_CASES = [
    # id, shape, attrs
    ("last", (3, 5), {}),
    ("axis0", (3, 5), {"axis": 0}),
    ("middle", (2, 3, 4), {"axis": 1}),
    ("neg2", (2, 3, 4), {"axis": -2}),
    ("temperature", (4, 6), {"temperature": 2.5}),
    ("temperature_small", (2, 3, 4), {"axis": 0, "temperature": 0.3}),
    ("1d", (7,), {}),
    ("one_class", (4, 1), {}),
    ("zero_rows", (0, 5), {}),
    ("zero_axis", (3, 0), {}),
]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,kw", [c[1:] for c in SOFTMAX_CASES], ids=[c[0] for c in SOFTMAX_CASES])
def test_softmax_forward(shape, kw, log, dtype):
    x = data(shape, dtype, -5, 5)
    op = mx.nd.log_softmax if log else mx.nd.softmax
    expected = np_softmax(x, kw.get("axis", -1), kw.get("temperature", 1.0), log)
    check(op(nd(x), **kw), expected, dtype)


@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_softmax_is_numerically_stable(log):
    x = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1e4, -999.0]], dtype=np.float32)
    y = (mx.nd.log_softmax if log else mx.nd.softmax)(nd(x)).asnumpy()
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y, np_softmax(x, log=log), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("in_dtype,dtype", [("float32", "float64"), ("float16", "float32"), ("float64", "float16")])
def test_softmax_dtype_attribute(in_dtype, dtype):
    x = data((3, 4), in_dtype)
    check(mx.nd.softmax(nd(x), dtype=dtype), np_softmax(x), dtype)
    check(mx.nd.log_softmax(nd(x), dtype=dtype), np_softmax(x, log=True), dtype)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_dtype_attribute_gradient(op):
    # the output is float64, the gradient comes back in the data's dtype (float32)
    x = data((3, 4), "float32", seed=2)
    og = data((3, 4), seed=3)
    g = op_gradient(op, [nd(x)], [nd(og)], dtype="float64")[0]
    ref = op_gradient(op, [nd(x.astype(np.float64))], [nd(og)])[0].asnumpy()
    check(g, ref, "float32")


def np_softmax_length(x, length, axis, log=False):
    xm = np.moveaxis(x.astype(np.float64), axis, -1)
    out = np.zeros_like(xm)
    for idx in np.ndindex(xm.shape[:-1]):
        n = int(np.clip(length[idx], 0, xm.shape[-1]))
        if n:
            out[idx][:n] = np_softmax(xm[idx][:n], log=log)
    return np.moveaxis(out, -1, axis)


@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,axis,ldtype", [((2, 4), -1, "int32"), ((2, 3), 0, "int64"), ((2, 5, 3), 1, "int32"),
                                               ((3, 4), 1, "uint8")])
def test_softmax_use_length(shape, axis, ldtype, log):
    x = data(shape, "float32", -3, 3)
    lshape = tuple(s for i, s in enumerate(shape) if i != axis % len(shape))
    length = np.random.default_rng(0).integers(0, shape[axis] + 1, size=lshape).astype(ldtype)
    op = mx.nd.log_softmax if log else mx.nd.softmax
    y = op(nd(x), nd(length), axis=axis, use_length=True)
    check(y, np_softmax_length(x, length, axis, log), "float32")


def test_softmax_use_length_mxnet_values():
    # MXNet 1.9.1: softmax(x, length, use_length=True)
    x = np.array([[1.0, 2, 3, 4], [0.5, -1, 2, 0]])
    y = mx.nd.softmax(nd(x), nd(np.array([2, 3], np.int32)), use_length=True).asnumpy()
    np.testing.assert_allclose(y, [[0.268941, 0.731059, 0, 0], [0.17529, 0.039113, 0.785597, 0]], atol=1e-6)
    y = mx.nd.softmax(nd(np.arange(6.0).reshape(2, 3)), nd(np.array([1, 2, 0], np.int32)), axis=0, use_length=True)
    np.testing.assert_allclose(y.asnumpy(), [[1, 0.047426, 0], [0, 0.952574, 0]], atol=1e-6)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,kw", [c[1:] for c in SOFTMAX_CASES if 0 not in c[1]],
                         ids=[c[0] for c in SOFTMAX_CASES if 0 not in c[1]])
def test_softmax_gradient(op, shape, kw):
    check_numeric_gradient(op, [data(shape, lo=-2, hi=2)], kw)


def central_differences(f, x, og, eps=1e-5):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = ((f(xp) - f(xm)) * og).sum() / (2 * eps)
    return g


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_use_length_gradient(op, axis):
    x = data((3, 4), lo=-2, hi=2)
    length = nd(np.array([4, 0, 2] if axis == -1 else [3, 1, 0, 2], np.int32))
    og = data((3, 4), seed=5)
    fwd = getattr(mx.nd, op)
    numeric = central_differences(lambda v: fwd(nd(v), length, axis=axis, use_length=True).asnumpy(), x, og)
    g = op_gradient(op, [nd(x), length], [nd(og)], axis=axis, use_length=True)
    np.testing.assert_allclose(g[0].asnumpy(), numeric, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(g[1].asnumpy(), np.zeros(length.shape))
    assert (g[0].asnumpy() == 0).any()  # masked positions get no gradient


SMACT_CASES = [
    # id, shape, mode, numpy axis
    ("instance_2d", (3, 4), "instance", -1),
    ("instance_3d", (2, 3, 2), "instance", -1),  # MXNet: over the last axis
    ("instance_1d", (5,), "instance", -1),
    ("channel_3d", (2, 3, 2), "channel", 1),
    ("channel_4d", (2, 4, 2, 3), "channel", 1),
    ("channel_zero", (0, 3, 2), "channel", 1),
]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("shape,mode,axis", [c[1:] for c in SMACT_CASES], ids=[c[0] for c in SMACT_CASES])
def test_softmax_activation_forward(shape, mode, axis, dtype):
    x = data(shape, dtype, -3, 3)
    check(mx.nd.SoftmaxActivation(nd(x), mode=mode), np_softmax(x, axis), dtype)


def test_softmax_activation_mxnet_values():
    x = nd(np.arange(12.0).reshape(2, 3, 2))
    np.testing.assert_allclose(mx.nd.SoftmaxActivation(x, mode="channel").asnumpy()[0, :, 0],
                               [0.015876, 0.11731, 0.866813], atol=1e-6)
    np.testing.assert_allclose(mx.nd.SoftmaxActivation(x).asnumpy()[1, 2], [0.268941, 0.731059], atol=1e-6)


@pytest.mark.parametrize("shape,mode", [c[1:3] for c in SMACT_CASES if 0 not in c[1]],
                         ids=[c[0] for c in SMACT_CASES if 0 not in c[1]])
def test_softmax_activation_gradient(shape, mode):
    check_numeric_gradient("SoftmaxActivation", [data(shape)], {"mode": mode})


# ---- SoftmaxOutput ------------------------------------------------------------------------------
X2 = np.array([[1.0, 2, 3], [0.5, -1, 2], [0, 0, 0], [3, 1, -2]])
L2 = np.array([0, 2, 1, 1.0])
X3 = np.array([[[0.5, -1, 2, 0], [1, 0.25, -0.5, 1.5], [-2, 1, 0, 0.75]],
               [[0, 0, 1, -1], [2, -0.5, 0.5, 1], [1, 1.5, -1, 0.25]]])
L3 = np.array([[0, 1, 2, 1], [2, 2, 0, 1.0]])
L3P = np.array([[0, 1, 3], [2, 3, 0.0]])
SO_INPUTS = {"X2": X2, "L2": L2, "X3": X3, "L3": L3, "L3P": L3P}

# Gradients of SoftmaxOutput computed with MXNet 1.9.1 (autograd, head gradient 7.0, which the op
# ignores).
SO_MXNET = [
    ("X2", "L2", {},
     [[-0.90996943, 0.24472847, 0.66524096], [0.17529039, 0.03911257, -0.21440297],
      [0.33333333, -0.66666667, 0.33333333], [0.8756006, -0.88150035, 0.00589975]]),
    ("X2", "L2", {"grad_scale": 2.0},
     [[-1.81993885, 0.48945694, 1.33048191], [0.35058078, 0.07822515, -0.42880593],
      [0.66666667, -1.33333333, 0.66666667], [1.75120119, -1.76300069, 0.0117995]]),
    ("X2", "L2", {"use_ignore": True, "ignore_label": 1},
     [[-0.90996943, 0.24472847, 0.66524096], [0.17529039, 0.03911257, -0.21440297], [0, 0, 0], [0, 0, 0]]),
    ("X2", "L2", {"normalization": "batch"},
     [[-0.22749236, 0.06118212, 0.16631024], [0.0438226, 0.00977814, -0.05360074],
      [0.08333333, -0.16666667, 0.08333333], [0.21890015, -0.22037509, 0.00147494]]),
    ("X2", "L2", {"normalization": "valid", "use_ignore": True, "ignore_label": 1},
     [[-0.45498471, 0.12236424, 0.33262048], [0.0876452, 0.01955629, -0.10720148], [0, 0, 0], [0, 0, 0]]),
    ("X2", "L2", {"normalization": "valid", "ignore_label": 1},
     [[-0.45498471, 0.12236424, 0.33262048], [0.0876452, 0.01955629, -0.10720148],
      [0.16666667, -0.33333333, 0.16666667], [0.4378003, -0.44075017, 0.00294988]]),
    ("X2", "L2", {"smooth_alpha": 0.1},
     [[-0.80996943, 0.19472847, 0.61524096], [0.12529039, -0.01088743, -0.11440296],
      [0.28333333, -0.56666667, 0.28333333], [0.82560059, -0.78150034, -0.04410025]]),
    ("X2", "L2", {"smooth_alpha": 0.2, "normalization": "batch", "grad_scale": 3.0},
     [[-0.53247707, 0.10854635, 0.42393072], [0.05646779, -0.04566557, -0.01080222],
      [0.175, -0.35, 0.175], [0.58170045, -0.51112526, -0.07057519]]),
    ("X3", "L3", {"multi_output": True},
     [[[-0.15845195, 0.02104484, 0.20535225, 0.03290041], [0.15093722, -0.17654631, 0.01685634, -0.10255058],
       [0.00751472, 0.15550147, -0.22220859, 0.06965017]],
      [[0.02250764, 0.04106291, -0.10647575, 0.02104484], [0.16631024, 0.02490591, 0.08705186, -0.09449853],
       [-0.18881788, -0.06596882, 0.01942389, 0.07345369]]]),
    ("X3", "L3", {"multi_output": True, "normalization": "batch"},
     [[[-0.07922597, 0.01052242, 0.10267613, 0.01645021], [0.07546861, -0.08827315, 0.00842817, -0.05127529],
       [0.00375736, 0.07775074, -0.1111043, 0.03482509]],
      [[0.01125382, 0.02053145, -0.05323788, 0.01052242], [0.08315512, 0.01245296, 0.04352593, -0.04724926],
       [-0.09440894, -0.03298441, 0.00971195, 0.03672685]]]),
    ("X3", "L3", {"multi_output": True, "normalization": "valid", "use_ignore": True, "ignore_label": 2},
     [[[-0.12676156, 0.01683587, 0, 0.02632033], [0.12074978, -0.14123705, 0, -0.08204047],
       [0.00601178, 0.12440118, 0, 0.05572014]],
      [[0, 0, -0.0851806, 0.01683587], [0, 0, 0.06964149, -0.07559882], [0, 0, 0.01553912, 0.05876296]]]),
    ("X3", "L3", {"multi_output": True, "use_ignore": True, "ignore_label": 2, "grad_scale": 0.5},
     [[[-0.07922597, 0.01052242, 0, 0.01645021], [0.07546861, -0.08827315, 0, -0.05127529],
       [0.00375736, 0.07775074, 0, 0.03482509]],
      [[0, 0, -0.05323788, 0.01052242], [0, 0, 0.04352593, -0.04724926], [0, 0, 0.00971195, 0.03672685]]]),
    # MXNet 1.9.1 ignores smooth_alpha with multi_output (same numbers as without it)
    ("X3", "L3", {"multi_output": True, "smooth_alpha": 0.3},
     [[[-0.15845195, 0.02104484, 0.20535225, 0.03290041], [0.15093722, -0.17654631, 0.01685634, -0.10255058],
       [0.00751472, 0.15550147, -0.22220859, 0.06965017]],
      [[0.02250764, 0.04106291, -0.10647575, 0.02104484], [0.16631024, 0.02490591, 0.08705186, -0.09449853],
       [-0.18881788, -0.06596882, 0.01942389, 0.07345369]]]),
    ("X3", "L3P", {"preserve_shape": True, "normalization": "batch"},
     [[[-0.14025922, 0.0058923, 0.11834999, 0.01601693], [0.04983726, -0.14312522, 0.0111202, 0.08216776],
       [0.00377781, 0.07587942, 0.02791448, -0.10757172]],
      [[0.03276866, 0.03276866, -0.07759223, 0.01205492], [0.09961581, 0.00817696, 0.02222729, -0.13002006],
       [-0.11548577, 0.08438304, 0.00692658, 0.02417615]]]),
    ("X3", "L3P", {"preserve_shape": True, "normalization": "valid", "use_ignore": True, "ignore_label": 0},
     [[[0, 0, 0, 0], [0.07475589, -0.21468782, 0.01668029, 0.12325163], [0.00566672, 0.11381913, 0.04187172, -0.16135757]],
      [[0.04915298, 0.04915298, -0.11638834, 0.01808237], [0.14942371, 0.01226544, 0.03334094, -0.19503009],
       [0, 0, 0, 0]]]),
]


def np_softmax_output_grad(x, label, grad_scale=1.0, ignore_label=-1.0, multi_output=False, use_ignore=False,
                           preserve_shape=False, normalization="null", smooth_alpha=0.0):
    """The rule: softmax over the class axis minus the (smoothed) one-hot label, zero for ignored
    labels, times grad_scale / count (count: 1, the number of labels for batch -- the batch size with
    multi_output -- or of labels != ignore_label for valid); multi_output without valid also divides by
    the number of positions per example."""
    grad_scale, smooth_alpha = float(np.float32(grad_scale)), float(np.float32(smooth_alpha))  # float attributes
    if multi_output:
        axis, p = 1, np_softmax(x, 1)
        k = x.shape[1]
        lab = label.reshape(x.shape[0], -1).reshape((x.shape[0],) + x.shape[2:])
        onehot = np.moveaxis(np.eye(k)[lab.astype(int)], -1, 1)
        keep = np.expand_dims(lab != ignore_label, 1) if use_ignore else 1.0
    else:
        axis = -1
        p = np_softmax(x, -1)
        k = x.shape[-1]
        lab = label.reshape(x.shape[:-1])
        onehot = np.eye(k)[lab.astype(int)]
        if smooth_alpha:
            onehot = onehot * (1 - smooth_alpha) + (1 - onehot) * smooth_alpha / (k - 1)
        keep = np.expand_dims(lab != ignore_label, -1) if use_ignore else 1.0
    g = (p - onehot) * keep * grad_scale
    if normalization == "batch":
        g /= x.shape[0] if multi_output else label.size
    elif normalization == "valid":
        g /= max(int((label != ignore_label).sum()), 1)
    if multi_output and normalization != "valid":
        g /= math.prod(x.shape[2:])
    del axis
    return g


@pytest.mark.parametrize("xn,ln,kw,expected", SO_MXNET, ids=[f"{c[0]}_{c[1]}_{i}" for i, c in enumerate(SO_MXNET)])
def test_softmax_output_gradient_mxnet(xn, ln, kw, expected):
    x, label = SO_INPUTS[xn], SO_INPUTS[ln]
    g = grads("SoftmaxOutput", [x, label], kw, ograd=np.full(x.shape, 7.0))
    np.testing.assert_allclose(g[0], expected, atol=2e-8)
    np.testing.assert_array_equal(g[1], np.zeros(label.shape))
    np.testing.assert_allclose(g[0], np_softmax_output_grad(x, label, **kw), atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("xn,ln,kw", [("X2", "L2", {}), ("X3", "L3", {"multi_output": True}),
                                      ("X3", "L3P", {"preserve_shape": True})])
def test_softmax_output_forward(xn, ln, kw, dtype):
    x, label = SO_INPUTS[xn].astype(dtype), SO_INPUTS[ln].astype(dtype)
    axis = 1 if kw.get("multi_output") else -1
    check(mx.nd.SoftmaxOutput(nd(x), nd(label), **kw), np_softmax(x, axis), dtype)


def test_softmax_output_flattens_trailing_axes():
    x = data((2, 3, 4))
    y = mx.nd.SoftmaxOutput(nd(x), nd(np.array([[0, 1, 2], [3, 4, 5.0]])))
    check(y, np_softmax(x.reshape(2, 12)).reshape(2, 3, 4), "float64")


def test_softmax_output_probability_labels():
    # MXNet 1.9.1: a label of data's shape is a distribution; gradient (out - label) * grad_scale,
    # not normalized
    g = grads("SoftmaxOutput", [X2, np.full(X2.shape, 0.25)], {"normalization": "valid", "grad_scale": 2.0})
    np.testing.assert_allclose(g[0], [[-0.31993885, -0.01054306, 0.83048191], [-0.14941922, -0.42177485, 1.07119407],
                                      [0.16666667, 0.16666667, 0.16666667], [1.25120119, -0.26300069, -0.4882005]],
                               atol=2e-8)


def test_softmax_output_out_grad_multiplies_head_gradient():
    # The documented rule (MXNet 1.9.1 itself multiplies by the output here instead: a bug).
    og = data(X2.shape, seed=3)
    g = grads("SoftmaxOutput", [X2, L2], {"out_grad": True}, ograd=og)
    np.testing.assert_allclose(g[0], np_softmax_output_grad(X2, L2) * og, atol=1e-12)


@pytest.mark.parametrize("label_shape", [(2, 4), (2, 1, 4)])
def test_softmax_output_multi_output_label_shapes(label_shape):
    x = data((2, 3, 4))
    label = np.array([[0, 1, 2, 1], [2, 2, 0, 1.0]]).reshape(label_shape)
    g = grads("SoftmaxOutput", [x, label], {"multi_output": True})
    np.testing.assert_allclose(g[0], np_softmax_output_grad(x, label.reshape(2, 4), multi_output=True), atol=1e-12)


def test_softmax_alias_and_zero_batch():
    check(mx.nd.Softmax(nd(X2), nd(L2)), np_softmax(X2), "float64")
    y = mx.nd.SoftmaxOutput(mx.nd.zeros((0, 3)), mx.nd.zeros((0,)))
    assert y.shape == (0, 3)
    g = grads("SoftmaxOutput", [np.zeros((0, 3)), np.zeros((0,))], {"normalization": "valid"})
    assert g[0].shape == (0, 3)


# ---- regression outputs / MakeLoss / BlockGrad --------------------------------------------------
XR = np.array([[0.5, -1.0], [2.0, 0.3], [-0.2, 0.1]])
LR = np.array([[1.0, 0], [0, 1], [0.5, 0.5]])
# MXNet 1.9.1 gradients (autograd, head gradient 5.0, which the ops ignore)
REG_MXNET = [
    ("LinearRegressionOutput", XR, LR, {}, [[-0.25, -0.5], [1.0, -0.35], [-0.35, -0.2]]),
    ("LinearRegressionOutput", XR, LR, {"grad_scale": 3.0}, [[-0.75, -1.5], [3.0, -1.05], [-1.05, -0.6]]),
    ("LinearRegressionOutput", XR[:, :1], LR[:, 0], {}, [[-0.5], [2.0], [-0.7]]),
    ("LogisticRegressionOutput", XR, LR, {},
     [[-0.18877033, 0.13447071], [0.44039854, -0.21277874], [-0.024917, 0.01248959]]),
    ("LogisticRegressionOutput", XR, LR, {"grad_scale": 3.0},
     [[-0.566311, 0.40341213], [1.32119562, -0.63833622], [-0.074751, 0.03746878]]),
    ("LogisticRegressionOutput", XR[:, :1], LR[:, 0], {}, [[-0.37754067], [0.88079708], [-0.049834]]),
    ("MAERegressionOutput", XR, LR, {}, [[-0.5, -0.5], [0.5, -0.5], [-0.5, -0.5]]),
    ("MAERegressionOutput", XR, LR, {"grad_scale": 3.0}, [[-1.5, -1.5], [1.5, -1.5], [-1.5, -1.5]]),
    ("MAERegressionOutput", XR[:, :1], LR[:, 0], {}, [[-1.0], [1.0], [-1.0]]),
]


def np_regression(op, x, label, grad_scale=1.0):
    """(output, gradient): gradient f(out - label) * grad_scale / (label.size / label.shape[0])."""
    out = 1 / (1 + np.exp(-x)) if op == "LogisticRegressionOutput" else x
    d = out - label.reshape(x.shape)
    if op == "MAERegressionOutput":
        d = np.sign(d)
    return out, d * grad_scale / (label.size // label.shape[0] if label.shape[0] else 1)


@pytest.mark.parametrize("op,x,label,kw,expected", REG_MXNET,
                         ids=[f"{c[0]}_{i}" for i, c in enumerate(REG_MXNET)])
def test_regression_output_mxnet(op, x, label, kw, expected):
    g = grads(op, [x, label], kw, ograd=np.full(x.shape, 5.0))
    np.testing.assert_allclose(g[0], expected, atol=1e-8)
    np.testing.assert_array_equal(g[1], np.zeros(label.shape))
    out, ref = np_regression(op, x, label, **kw)
    np.testing.assert_allclose(g[0], ref, rtol=1e-12)
    check(getattr(mx.nd, op)(nd(x), nd(label), **kw), out, "float64")


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("op", ["LinearRegressionOutput", "LogisticRegressionOutput", "MAERegressionOutput"])
@pytest.mark.parametrize("xs,ls", [((4, 3), (4, 3)), ((2, 3, 4), (2, 3, 4)), ((2, 3), (2, 3, 1)), ((5, 1), (5,)),
                                   ((0, 3), (0, 3))])
def test_regression_output_shapes(op, xs, ls, dtype):
    x, label = data(xs, dtype), data(ls, dtype, 0, 1, seed=2)
    out, ref = np_regression(op, x.astype(np.float64), label.astype(np.float64))
    check(getattr(mx.nd, op)(nd(x), nd(label)), out, dtype)
    g = op_gradient(op, [nd(x), nd(label)], [mx.nd.ones(xs, dtype=dtype)])
    check(g[0], ref, dtype)


MAKELOSS_MXNET = [
    ({}, 1.0), ({"grad_scale": 2.0}, 2.0), ({"normalization": "batch"}, 1 / 3),
    ({"normalization": "valid"}, 0.25), ({"normalization": "valid", "valid_thresh": 0.4}, 0.5),
    ({"normalization": "valid", "valid_thresh": 5.0}, 1.0),  # no valid element: divided by 1
    ({"normalization": "batch", "grad_scale": 6.0}, 2.0),
]


@pytest.mark.parametrize("kw,value", MAKELOSS_MXNET, ids=[str(c[0]) for c in MAKELOSS_MXNET])
def test_make_loss(kw, value):
    # values from MXNet 1.9.1 on XR (head gradient 5.0, ignored)
    check(mx.nd.MakeLoss(nd(XR), **kw), XR, "float64")
    g = grads("MakeLoss", [XR], kw, ograd=np.full(XR.shape, 5.0))
    np.testing.assert_allclose(g[0], np.full(XR.shape, value), rtol=1e-12)


@pytest.mark.parametrize("kw", [{}, {"normalization": "batch"}, {"normalization": "valid"}])
def test_make_loss_zero_batch(kw):
    check(mx.nd.MakeLoss(mx.nd.zeros((0, 3)), **kw), np.zeros((0, 3)), "float32")
    assert grads("MakeLoss", [np.zeros((0, 3))], kw)[0].shape == (0, 3)


@pytest.mark.parametrize("op", ["BlockGrad", "stop_gradient"])
@pytest.mark.parametrize("dtype", ["float32", "int32", "float16", "bool"])
def test_block_grad(op, dtype):
    x = data((2, 3), dtype if dtype != "bool" else "int32", 0, 1).astype(dtype)
    check(getattr(mx.nd, op)(nd(x)), x.astype(np.float64), dtype)
    if dtype == "float32":
        g = grads(op, [x], ograd=np.full((2, 3), 3.0))
        np.testing.assert_array_equal(g[0], np.zeros((2, 3)))
        assert getattr(mx.nd, op)(mx.nd.zeros((0, 2))).shape == (0, 2)


# ---- Dropout ------------------------------------------------------------------------------------
def test_dropout_inference_is_identity():
    x = data((4, 5), "float32")
    y = mx.nd.Dropout(nd(x), p=0.5)
    assert isinstance(y, mx.nd.NDArray)  # the mask output is hidden
    check(y, x.astype(np.float64), "float32")
    with training(False):
        check(mx.nd.Dropout(nd(x), p=0.9), x.astype(np.float64), "float32")


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_training_statistics(p, dtype):
    x = np.full((200, 500), 2.0, dtype=dtype)
    with training():
        y = mx.nd.Dropout(nd(x), p=p).asnumpy().astype(np.float64)
    kept = y != 0
    np.testing.assert_allclose(y[kept], 2.0 / (1 - float(np.float32(p))), rtol=max(RTOL[dtype], 1e-7))
    frac = kept.mean()
    assert abs(frac - (1 - p)) < 0.01, frac  # 1e5 draws: std 0.0016


def test_dropout_mode_always_and_edge_probabilities():
    x = data((50, 40), "float32", 1, 2)
    y = mx.nd.Dropout(nd(x), p=0.5, mode="always").asnumpy()  # not training, still dropped
    assert 0.4 < (y == 0).mean() < 0.6
    np.testing.assert_allclose(y[y != 0], 2 * x[y != 0], rtol=1e-6)
    with training():
        check(mx.nd.Dropout(nd(x), p=0.0), x.astype(np.float64), "float32")
        # p = 1 drops everything (MXNet 1.9.1 gives NaN from 0 * inf)
        check(mx.nd.Dropout(nd(x), p=1.0), np.zeros(x.shape), "float32")
        assert mx.nd.Dropout(mx.nd.zeros((0, 3)), p=0.5).shape == (0, 3)


@pytest.mark.parametrize("axes", [(0,), (1,), (-1,), (0, 2)])
def test_dropout_axes_share_the_mask(axes):
    x = np.ones((6, 8, 5), np.float32)
    with training():
        y = mx.nd.Dropout(nd(x), p=0.5, axes=axes).asnumpy()
    for a in axes:
        np.testing.assert_array_equal(y, np.broadcast_to(y.take([0], axis=a), y.shape))
    assert set(np.unique(y)) <= {0.0, 2.0} and 0 < (y == 0).mean() < 1


def test_dropout_is_deterministic_under_seed():
    x = nd(np.ones((10, 10), np.float32))
    with training():
        mx.random.seed(42)
        a = mx.nd.Dropout(x).asnumpy()
        mx.random.seed(42)
        b = mx.nd.Dropout(x).asnumpy()
        c = mx.nd.Dropout(x).asnumpy()
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


@pytest.mark.parametrize("axes", [(), (1,)])
def test_dropout_gradient_uses_the_forward_mask(axes):
    x = data((8, 6), lo=0.5, hi=1.5)
    og = data((8, 6), seed=7)
    with training():
        mx.random.seed(7)
        y = mx.nd.Dropout(nd(x), p=0.4, axes=axes).asnumpy()
    mask = y / x
    mx.random.seed(7)  # the gradient's own forward run draws the same mask
    g = op_gradient("Dropout", [nd(x)], [nd(og)], p=0.4, axes=axes)
    assert len(g) == 1
    np.testing.assert_allclose(g[0].asnumpy(), og * mask, rtol=1e-12)
    assert (mask == 0).any() and (mask != 0).any()


def test_dropout_out_argument_takes_the_visible_output():
    x = nd(np.ones((3, 4), np.float32))
    out = mx.nd.zeros((3, 4))
    assert mx.nd.Dropout(x, out=out) is out
    check(out, np.ones((3, 4)), "float32")


# ---- Embedding ----------------------------------------------------------------------------------
@pytest.mark.parametrize("wdtype", ["float32", "float64", "float16", "int32"])
@pytest.mark.parametrize("idtype", ["float32", "int32", "int64", "uint8"])
@pytest.mark.parametrize("ishape", [(5,), (2, 3), (0,), (2, 0, 3)])
def test_embedding_forward(ishape, idtype, wdtype):
    idx = np.random.default_rng(1).integers(0, 10, size=ishape).astype(idtype)
    w = data((10, 4), wdtype, -5, 5, seed=2)
    y = mx.nd.Embedding(nd(idx), nd(w), input_dim=10, output_dim=4, dtype=wdtype)
    check(y, w.astype(np.float64)[idx.astype(np.int64)], wdtype)


def test_embedding_clips_indices_like_mxnet():
    # MXNet 1.9.1: [-1, 0.7, 9.6, 12] -> rows [0, 0, 9, 9]
    w = np.arange(20.0).reshape(10, 2)
    y = mx.nd.Embedding(nd(np.array([[-1, 0.7, 9.6, 12]])), nd(w), input_dim=10, output_dim=2)
    check(y, [[[0, 1], [0, 1], [18, 19], [18, 19]]], "float64")


def test_embedding_weight_dtype_wins_over_attribute():
    # MXNet 1.9.1: a float64 weight gives a float64 output even with the default dtype='float32'
    y = mx.nd.Embedding(nd(np.array([1.0, 2])), mx.nd.ones((10, 2), dtype="float64"), input_dim=10, output_dim=2)
    assert y.dtype == np.float64


def test_embedding_gradient_scatter_adds():
    idx = np.array([[1, 3, 1], [0, 3, 1.0]])
    w = data((5, 4), seed=3)
    og = data((2, 3, 4), seed=4)
    gi, gw = grads("Embedding", [idx, w], {"input_dim": 5, "output_dim": 4}, og)
    expected = np.zeros((5, 4))
    np.add.at(expected, idx.astype(int).ravel(), og.reshape(-1, 4))
    np.testing.assert_allclose(gw, expected, rtol=1e-12)
    np.testing.assert_array_equal(gi, np.zeros(idx.shape))
    check_numeric_gradient("Embedding", [idx, w], {"input_dim": 5, "output_dim": 4}, wrt=[1])


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_embedding_gradient_low_precision_and_empty(dtype):
    idx = nd(np.array([2, 2, 2, 0], np.int32))
    og = mx.nd.ones((4, 3), dtype=dtype)
    g = op_gradient("Embedding", [idx, mx.nd.zeros((3, 3), dtype=dtype)], [og], input_dim=3, output_dim=3)
    check(g[1], [[1, 1, 1], [0, 0, 0], [3, 3, 3]], dtype)
    g = op_gradient("Embedding", [mx.nd.zeros((0,)), mx.nd.ones((3, 2), dtype=dtype)], [mx.nd.zeros((0, 2), dtype=dtype)],
                    input_dim=3, output_dim=2)
    check(g[1], np.zeros((3, 2)), dtype)


# ---- attribute schemas --------------------------------------------------------------------------
SCHEMA_CASES = [
    # op, attribute, MXNet 1.9.1's type string
    ("dot", "transpose_a", "boolean, optional, default=0"),
    ("dot", "forward_stype", "{None, 'csr', 'default', 'row_sparse'}, optional, default='None'"),
    ("FullyConnected", "num_hidden", "int, required"),
    ("FullyConnected", "flatten", "boolean, optional, default=1"),
    ("Activation", "act_type", "{'relu', 'sigmoid', 'softrelu', 'softsign', 'tanh'}, required"),
    ("LeakyReLU", "act_type", "{'elu', 'gelu', 'leaky', 'prelu', 'rrelu', 'selu'}, optional, default='leaky'"),
    ("LeakyReLU", "slope", "float, optional, default='0.25'"),
    ("softmax", "axis", "int, optional, default='-1'"),
    ("softmax", "temperature", "double or None, optional, default='None'"),
    ("softmax", "dtype", "{None, 'float16', 'float32', 'float64'}, optional, default='None'"),
    ("softmax", "use_length", "boolean or None, optional, default='0'"),
    ("SoftmaxOutput", "normalization", "{'batch', 'null', 'valid'}, optional, default='null'"),
    ("Dropout", "axes", "Shape(tuple), optional, default='[]'"),
    ("Dropout", "mode", "{'always', 'training'}, optional, default='training'"),
    ("Embedding", "dtype",
     "{'bfloat16', 'float16', 'float32', 'float64', 'int32', 'int64', 'int8', 'uint8'}, optional, default='float32'"),
]


@pytest.mark.parametrize("op,attr,type_str", SCHEMA_CASES, ids=[f"{c[0]}.{c[1]}" for c in SCHEMA_CASES])
def test_attribute_schema(op, attr, type_str):
    from axle.ndarray._op import OpInfo
    params = {n: t for n, t, _ in OpInfo(op).params}
    assert params[attr].replace("'", "") == type_str.replace("'", "")  # quoting of defaults aside


def test_input_names():
    from axle.ndarray._op import OpInfo
    assert OpInfo("FullyConnected").input_names == ["data", "weight", "bias"]
    assert OpInfo("LeakyReLU").input_names == ["data", "gamma"]
    assert OpInfo("SoftmaxOutput").input_names == ["data", "label"]
    assert OpInfo("Embedding").input_names == ["data", "weight"]


# ---- errors -------------------------------------------------------------------------------------
def f32(*shape):
    return mx.nd.ones(shape)


ERROR_CASES = [
    # id, call, exception, message pattern
    ("dot_mismatch", lambda: mx.nd.dot(f32(2, 3), f32(4, 5)), ValueError, r"dot: shape mismatch: \(2,3\) X \(4,5\)"),
    ("dot_T_mismatch", lambda: mx.nd.dot(f32(2, 3), f32(4, 3), transpose_a=True), ValueError, "shape mismatch"),
    ("dot_vectors_T", lambda: mx.nd.dot(f32(3), f32(3), transpose_a=True), ValueError, "cannot transpose vectors"),
    ("dot_0d", lambda: mx.nd.dot(mx.nd.ones(()), f32(3)), ValueError, "0-d"),
    ("dot_dtypes", lambda: mx.nd.dot(f32(2, 3), mx.nd.ones((3, 2), dtype="float64")), TypeError, "float64"),
    ("dot_bool", lambda: mx.nd.dot(mx.nd.ones((2, 2), dtype=bool), mx.nd.ones((2, 2), dtype=bool)), TypeError, "bool"),
    ("dot_csr", lambda: mx.nd.dot(f32(2, 2), f32(2, 2), forward_stype="csr"), RuntimeError, "forward_stype 'csr'"),
    ("dot_bad_bool", lambda: mx.nd.dot(f32(2, 2), f32(2, 2), transpose_a="maybe"), ValueError, "transpose_a"),
    ("batch_dot_2d", lambda: mx.nd.batch_dot(f32(3, 4), f32(4, 5)), ValueError, "N >= 3"),
    ("batch_dot_ndim", lambda: mx.nd.batch_dot(f32(2, 3, 4), f32(2, 2, 4, 5)), ValueError, "N >= 3"),
    ("batch_dot_batch", lambda: mx.nd.batch_dot(f32(2, 3, 4), f32(3, 4, 5)), ValueError, "batch dimensions"),
    ("batch_dot_k", lambda: mx.nd.batch_dot(f32(2, 3, 4), f32(2, 5, 5)), ValueError, "shape mismatch"),
    ("fc_no_num_hidden", lambda: mx.nd.FullyConnected(f32(2, 3), f32(4, 3), f32(4)), ValueError,
     "required attribute 'num_hidden'"),
    ("fc_num_hidden_0", lambda: mx.nd.FullyConnected(f32(2, 3), f32(0, 3), f32(0), num_hidden=0), ValueError,
     "num_hidden must be >= 1"),
    ("fc_weight", lambda: mx.nd.FullyConnected(f32(2, 3), f32(4, 2), f32(4), num_hidden=4), ValueError,
     r"FullyConnected: weight shape \(4,2\) does not match the expected \(4,3\)"),
    ("fc_weight_flatten", lambda: mx.nd.FullyConnected(f32(2, 3, 5), f32(4, 5), f32(4), num_hidden=4), ValueError,
     r"expected \(4,15\)"),
    ("fc_bias", lambda: mx.nd.FullyConnected(f32(2, 3), f32(4, 3), f32(5), num_hidden=4), ValueError,
     r"bias shape \(5,\) does not match the expected \(4,\)"),
    ("fc_missing_bias", lambda: mx.nd.FullyConnected(f32(2, 3), f32(4, 3), num_hidden=4), ValueError,
     r"expected 3 input\(s\), got 2"),
    ("fc_extra_input", lambda: mx.nd.FullyConnected(f32(2, 3), f32(4, 3), f32(4), num_hidden=4, no_bias=True),
     ValueError, r"expected 2 input\(s\), got 3"),
    ("fc_dtypes", lambda: mx.nd.FullyConnected(f32(2, 3), f32(4, 3), mx.nd.ones((4,), dtype="float16"), num_hidden=4),
     TypeError, "float16"),
    ("act_int", lambda: mx.nd.Activation(mx.nd.ones((2,), dtype="int32"), act_type="relu"), TypeError,
     "must be float16, float32 or float64, got int32"),
    ("act_type", lambda: mx.nd.Activation(f32(2), act_type="swish"), ValueError, "act_type"),
    ("act_missing", lambda: mx.nd.Activation(f32(2)), ValueError, "required attribute 'act_type'"),
    ("leaky_rrelu", lambda: mx.nd.LeakyReLU(f32(2), act_type="rrelu"), RuntimeError, "rrelu"),
    ("leaky_int", lambda: mx.nd.LeakyReLU(mx.nd.ones((2,), dtype="int64")), TypeError, "int64"),
    ("prelu_gamma", lambda: mx.nd.LeakyReLU(f32(2, 3), f32(4), act_type="prelu"), ValueError,
     r"cannot broadcast gamma \(4,\) to data \(2,3\)"),
    ("prelu_gamma_3d", lambda: mx.nd.LeakyReLU(f32(2, 3, 4), f32(4), act_type="prelu"), ValueError, "gamma"),
    ("prelu_no_gamma", lambda: mx.nd.LeakyReLU(f32(2, 3), act_type="prelu"), ValueError, r"expected 2 input\(s\)"),
    ("softmax_axis", lambda: mx.nd.softmax(f32(2, 3), axis=2), IndexError, "axis 2 is out of range"),
    ("softmax_int", lambda: mx.nd.softmax(mx.nd.ones((2,), dtype="int32")), TypeError, "int32"),
    ("softmax_temperature_0", lambda: mx.nd.softmax(f32(2), temperature=0.0), ValueError, "temperature"),
    ("softmax_length_float", lambda: mx.nd.softmax(f32(2, 3), f32(2), use_length=True), TypeError,
     "length must be an integer"),
    ("softmax_length_shape", lambda: mx.nd.softmax(f32(2, 3), mx.nd.ones((3,), dtype="int32"), use_length=True),
     ValueError, r"length shape \(3,\) does not match the expected \(2,\)"),
    ("log_softmax_0d", lambda: mx.nd.log_softmax(mx.nd.ones(())), ValueError, "at least one dimension"),
    ("smact_channel_2d", lambda: mx.nd.SoftmaxActivation(f32(2, 3), mode="channel"), ValueError,
     "at least 3 dimensions"),
    ("so_label_shape", lambda: mx.nd.SoftmaxOutput(f32(2, 3), f32(3)), ValueError,
     r"label shape \(3,\) does not match the expected \(2,\)"),
    ("so_multi_label", lambda: mx.nd.SoftmaxOutput(f32(2, 3, 4), f32(2, 3), multi_output=True), ValueError,
     "label shape"),
    ("so_dtypes", lambda: mx.nd.SoftmaxOutput(f32(2, 3), mx.nd.ones((2,), dtype="float64")), TypeError, "label"),
    ("so_norm", lambda: mx.nd.SoftmaxOutput(f32(2, 3), f32(2), normalization="mean"), ValueError, "normalization"),
    ("reg_label", lambda: mx.nd.LinearRegressionOutput(f32(2, 3), f32(3, 2)), ValueError,
     r"label shape \(3,2\) does not fit data \(2,3\)"),
    ("reg_int", lambda: mx.nd.MAERegressionOutput(mx.nd.ones((2,), dtype="int32"), mx.nd.ones((2,), dtype="int32")),
     TypeError, "int32"),
    ("makeloss_norm", lambda: mx.nd.MakeLoss(f32(2), normalization="sum"), ValueError, "normalization"),
    ("dropout_p", lambda: mx.nd.Dropout(f32(2), p=1.5), ValueError, r"p must be in \[0, 1\]"),
    ("dropout_p_neg", lambda: mx.nd.Dropout(f32(2), p=-0.1), ValueError, "p must be"),
    ("dropout_axes", lambda: mx.nd.Dropout(f32(2, 3), axes=(3,)), IndexError, "axis 3 in axes is out of range"),
    ("dropout_int", lambda: mx.nd.Dropout(mx.nd.ones((2,), dtype="int32")), TypeError, "int32"),
    ("embed_weight", lambda: mx.nd.Embedding(f32(2), f32(10, 3), input_dim=10, output_dim=2), ValueError,
     r"weight shape \(10,3\) does not match the expected \(10,2\)"),
    ("embed_input_dim", lambda: mx.nd.Embedding(f32(2), f32(0, 2), input_dim=0, output_dim=2), ValueError,
     "input_dim must be >= 1"),
]


@pytest.mark.parametrize("call,exc,match", [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call().asnumpy()

