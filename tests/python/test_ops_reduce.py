"""Reductions (sum, mean, prod, max, min, nansum, nanprod, norm, argmax, argmin), broadcast_to /
broadcast_axis, add_n, clip, _cast_like and the optimizer update ops.

Forward results are compared with numpy references written here in float64 (integers exactly,
with MXNet's wrap-around and truncation rules); gradients with central differences; numbers and
rules that are subtle were taken from MXNet 1.9.1 and are written out in the cases.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import axle as mx
from axle.test_utils import check_numeric_gradient, op_gradient

RTOL = {"float16": 2e-3, "float32": 2e-6, "float64": 1e-12}
ATOL = {"float16": 2e-3, "float32": 1e-6, "float64": 1e-12}


def data(shape, dtype, lo=-3.0, hi=3.0, seed=0):
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind in "iub":
        return rng.integers(int(lo), int(hi), size=shape).astype(dt)
    return rng.uniform(lo, hi, size=shape).astype(dt)


def check(got, expected, dtype, rtol=None, atol=None):
    g = got.asnumpy()
    e = np.asarray(expected)
    assert g.dtype == np.dtype(dtype), (g.dtype, dtype)
    assert g.shape == e.shape, (g.shape, e.shape)
    if np.dtype(dtype).kind == "f":
        np.testing.assert_allclose(g.astype(np.float64), e.astype(np.float64), equal_nan=True,
                                   rtol=rtol or RTOL[dtype], atol=atol or ATOL[dtype])
    else:
        np.testing.assert_array_equal(g, e.astype(dtype))


# ---- numpy references with MXNet's semantics ---------------------------------------------------
def red_axes(ndim, axis, exclude):
    if axis is None or axis == ():
        return tuple(range(ndim))
    ax = (axis,) if isinstance(axis, int) else tuple(axis)
    ax = tuple(sorted(a % ndim for a in ax))
    return tuple(i for i in range(ndim) if i not in ax) if exclude else ax


def red_shape(shape, axes, keepdims):
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    s = tuple(d for i, d in enumerate(shape) if i not in axes)
    return s if s else (1,)


def np_reduce(op, x, axis=None, keepdims=False, exclude=False):
    axes = red_axes(x.ndim, axis, exclude)
    out_shape = red_shape(x.shape, axes, keepdims)
    isint = x.dtype.kind in "iu"
    w = x.astype(np.int64) if isint else x.astype(np.float64)
    if op in ("sum", "nansum"):
        r = np.nansum(w, axis=axes) if op == "nansum" else w.sum(axis=axes)
    elif op == "mean":
        s = w.sum(axis=axes)
        n = int(np.prod([x.shape[a] for a in axes]))
        r = np.sign(s) * (np.abs(s) // n) if isint else s / n  # integers: truncated like C
    elif op in ("prod", "nanprod"):
        r = np.nanprod(w, axis=axes) if op == "nanprod" else w.prod(axis=axes)
    elif op == "max":
        r = w.max(axis=axes)
    elif op == "min":
        r = w.min(axis=axes)
    r = np.asarray(r).reshape(out_shape)
    return r.astype(x.dtype) if isint else r  # integer results wrap around in the dtype, as MXNet's


# ---- reductions: forward ----------------------------------------------------------------------
REDUCE_OPS = ["sum", "mean", "prod", "max", "min", "nansum", "nanprod"]
REDUCE_CASES = [
    # shape, attrs (every op, float32 and float64)
    ((5,), {}),
    ((5,), {"axis": 0}),
    ((4, 5), {"axis": 1}),
    ((4, 5), {"axis": 0}),
    ((4, 5), {"axis": -1, "keepdims": True}),
    ((4, 5), {"axis": (0, 1)}),
    ((4, 5), {"axis": ()}),
    ((4, 5), {"keepdims": True}),
    ((2, 3, 4), {"axis": 1}),
    ((2, 3, 4), {"axis": (0, 2)}),
    ((2, 3, 4), {"axis": (2, 0), "keepdims": True}),
    ((2, 3, 4), {"axis": (-1, -3)}),
    ((2, 3, 4), {"axis": 1, "exclude": True}),
    ((2, 3, 4), {"axis": (0, 2), "exclude": True, "keepdims": True}),
    ((2, 3, 4), {"axis": (0, 1, 2), "exclude": True}),
    ((2, 1, 4), {"axis": 1}),
    ((1, 1), {"axis": 0}),
    ((3, 1, 4, 1, 5), {"axis": (1, 2, 4)}),
    ((3, 4, 2, 5), {"axis": (0, 2)}),
    ((3, 4, 2, 5), {"axis": (1, 3)}),
    ((2, 3, 4, 5, 2), {"axis": (0, 2, 4)}),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,attrs", REDUCE_CASES)
@pytest.mark.parametrize("op", REDUCE_OPS)
def test_reduce_float(op, shape, attrs, dtype):
    lo, hi = (0.5, 1.5) if "prod" in op else (-3, 3)
    x = data(shape, dtype, lo, hi)
    check(getattr(mx.nd, op)(mx.nd.array(x, dtype=dtype), **attrs), np_reduce(op, x, **attrs), dtype)


INT_CASES = [((4, 5), {}), ((4, 5), {"axis": 0}), ((2, 3, 4), {"axis": (0, 2)}),
             ((2, 3, 4), {"axis": 1, "keepdims": True}), ((3, 4), {"axis": 0, "exclude": True})]


@pytest.mark.parametrize("dtype", ["int32", "int64", "int8", "uint8", "float16"])
@pytest.mark.parametrize("shape,attrs", INT_CASES)
@pytest.mark.parametrize("op", ["sum", "mean", "prod", "max", "min"])
def test_reduce_other_dtypes(op, shape, attrs, dtype):
    lo, hi = {"prod": (1, 4), "mean": (-9, 9)}.get(op, (-5, 5))
    if dtype == "uint8":
        lo, hi = max(lo, 0), hi + 3
    if dtype == "float16" and op == "prod":
        lo, hi = 0.5, 1.5
    x = data(shape, dtype, lo, hi)
    check(getattr(mx.nd, op)(mx.nd.array(x, dtype=dtype), **attrs), np_reduce(op, x, **attrs), dtype)


# Rules checked against MXNet 1.9.1.
MX_RULES = [
    # id, op, input, dtype, attrs, expected (shape and values), expected dtype
    ("sum_all_is_1d", "sum", np.arange(24.).reshape(2, 3, 4), "float32", {}, [276.], "float32"),
    ("sum_empty_axis_all", "sum", np.arange(24.).reshape(2, 3, 4), "float32", {"axis": (), "exclude": True},
     [276.], "float32"),
    ("sum_keepdims_all", "sum", np.arange(24.).reshape(2, 3, 4), "float32", {"keepdims": True}, [[[276.]]],
     "float32"),
    ("sum_exclude_all_axes_copies", "sum", np.arange(6.).reshape(2, 3), "float32",
     {"axis": (0, 1), "exclude": True}, np.arange(6.).reshape(2, 3), "float32"),
    ("sum_1d_axis0", "sum", [1., 5., 2.], "float32", {"axis": 0}, [8.], "float32"),
    ("sum_int8_wraps", "sum", [100, 100, 100], "int8", {}, [44], "int8"),
    ("sum_uint8_wraps", "sum", [200] * 300, "uint8", {}, [96], "uint8"),
    ("mean_int32_truncates", "mean", [[0, 4, 8], [1, 5, 9], [-7, 0, 0]], "int32", {"axis": 1}, [4, 5, -2], "int32"),
    ("mean_int_negative", "mean", [-7, 0], "int32", {"axis": 0}, [-3], "int32"),
    ("sum_f16_accumulates_wider", "sum", np.ones(5000), "float16", {}, [5000.], "float16"),
    ("max_nan", "max", [[1, np.nan, 3], [2, 0, np.nan]], "float32", {"axis": 1}, [np.nan, np.nan], "float32"),
    ("min_nan", "min", [[1, np.nan, 3], [2, 0, 1]], "float32", {"axis": 1}, [np.nan, 0], "float32"),
    ("nansum_skips_nan", "nansum", [[1, np.nan, 3], [np.nan, np.nan, np.nan]], "float32", {"axis": 1}, [4, 0],
     "float32"),
    ("nanprod_skips_nan", "nanprod", [[2, np.nan, 3], [np.nan, np.nan, np.nan]], "float32", {"axis": 1}, [6, 1],
     "float32"),
    ("max_bool", "max", [True, False], "bool", {}, [True], "bool"),
    ("min_bool", "min", [True, False], "bool", {}, [False], "bool"),
    ("sum_bool_is_any", "sum", [True, False, True], "bool", {}, [True], "bool"),
    ("prod_int32", "prod", np.arange(1, 25).reshape(2, 3, 4), "int32", {"axis": 2},
     [[24, 1680, 11880], [43680, 116280, 255024]], "int32"),
    ("max_axis_alias", "max_axis", np.arange(24.).reshape(2, 3, 4), "float32", {"axis": (0, 2)}, [15, 19, 23],
     "float32"),
    ("min_axis_alias", "min_axis", np.arange(24.).reshape(2, 3, 4), "uint8", {"axis": 1},
     [[0, 1, 2, 3], [12, 13, 14, 15]], "uint8"),
    ("sum_axis_alias", "sum_axis", np.arange(24.).reshape(2, 3, 4), "float32", {}, [276.], "float32"),
]


@pytest.mark.parametrize("case", MX_RULES, ids=[c[0] for c in MX_RULES])
def test_reduce_mxnet_rules(case):
    _, op, x, dtype, attrs, expected, odtype = case
    check(getattr(mx.nd, op)(mx.nd.array(np.asarray(x), dtype=dtype), **attrs), np.asarray(expected), odtype)


# Sizes that go through every path of the kernel: long runs split in pieces, several runs per
# output, kept-innermost with the rows split into segments; compared with float64 numpy.
LARGE_CASES = [
    ((3, 70000), 1), ((70000, 3), 0), ((2100, 600), 0), ((600, 2100), 1), ((64, 3, 6000), (0, 2)),
    ((5, 300000), None), ((4, 7, 3, 9000), (1, 3)), ((40, 3, 40, 300), (0, 2)), ((300, 2, 2000), 0),
]


@pytest.mark.parametrize("op", ["sum", "mean", "max", "min", "norm"])
@pytest.mark.parametrize("shape,axis", LARGE_CASES)
def test_reduce_large(op, shape, axis):
    x = data(shape, "float32", -1, 1, seed=3)
    kw = {} if axis is None else {"axis": axis}
    got = getattr(mx.nd, op)(mx.nd.array(x), **kw).asnumpy()
    x64 = x.astype(np.float64)
    axes = red_axes(x.ndim, axis, False)
    if op == "norm":
        ref = np.sqrt((x64 * x64).sum(axis=axes))
        scale = ref
    else:
        ref = np_reduce(op, x64, axis)
        scale = np.abs(x64).sum(axis=axes) / (np.prod([shape[a] for a in axes]) if op == "mean" else 1)
    ref = np.asarray(ref).reshape(got.shape)
    # float32 lanes flushed into double: error far below float32 round-off of a plain loop
    assert np.all(np.abs(got - ref) <= 1e-6 * np.asarray(scale).reshape(got.shape) + 1e-7)


def test_sum_accuracy_long():
    x = np.full(4_000_000, 0.1, dtype=np.float32)
    got = float(mx.nd.sum(mx.nd.array(x)).asscalar())
    assert abs(got - 0.1 * 4_000_000 * (float(np.float32(0.1)) / 0.1)) < 1e-6 * 400000


_DETERMINISM = """
import numpy as np, axle as mx
x = np.random.default_rng(5).uniform(-1, 1, (700, 3000)).astype(np.float32)
a = mx.nd.array(x)
outs = [mx.nd.sum(a), mx.nd.sum(a, axis=0), mx.nd.mean(a, axis=1), mx.nd.norm(a.reshape((7, 100, 3000)), axis=(0, 2)),
        mx.nd.argmax(a.reshape((-1,)), axis=0)]
print(b"".join(o.asnumpy().tobytes() for o in outs).hex())
"""


def test_reduce_independent_of_threads():
    res = set()
    for n in ("1", "2", "3"):
        env = dict(os.environ, AXLE_NUM_THREADS=n)
        out = subprocess.run([sys.executable, "-c", _DETERMINISM], env=env, capture_output=True, text=True, check=True)
        res.add(out.stdout.strip())
    assert len(res) == 1


# ---- reductions: errors and size 0 ------------------------------------------------------------
REDUCE_ERRORS = [
    ("sum", (2, 3, 4), {"axis": 3}, IndexError, r"sum: axis 3 is out of range for an array of 3"),
    ("max", (2, 3, 4), {"axis": -4}, IndexError, r"axis -4 is out of range"),
    ("sum", (2, 3, 4), {"axis": (0, 0)}, ValueError, r"axis \(0,0\) has duplicates"),
    ("mean", (2, 3, 4), {"axis": (0, -3)}, ValueError, r"duplicates"),
    ("sum", (2, 3), {"axis": "x"}, ValueError, r"invalid value for attribute 'axis'"),
    ("sum", (2, 3), {"foo": 1}, ValueError, r"unknown attribute 'foo'"),
    ("max", (2, 0, 3), {"axis": 1}, ValueError, r"max: cannot reduce the zero-size axes .* no identity"),
    ("min", (0,), {}, ValueError, r"no identity"),
    ("argmax", (2, 0), {"axis": 1}, ValueError, r"argmax: attempt to get the index .* empty axis"),
    ("argmin", (0, 3), {}, ValueError, r"empty array"),
    ("argmax", (2, 3), {"axis": 2}, IndexError, r"argmax: axis 2 is out of range"),
    ("norm", (2, 3), {"ord": 3}, ValueError, r"norm: attribute 'ord' must be 1 or 2, got 3"),
    ("norm", (2, 3), {"axis": 5}, IndexError, r"axis 5 is out of range"),
    ("norm", (2, 3), {"out_dtype": "uint8"}, ValueError, r"out_dtype"),
]


@pytest.mark.parametrize("op,shape,attrs,exc,match", REDUCE_ERRORS)
def test_reduce_errors(op, shape, attrs, exc, match):
    with pytest.raises(exc, match=match):
        getattr(mx.nd, op)(mx.nd.zeros(shape), **attrs).wait_to_read()


EMPTY_CASES = [
    # op, shape, attrs, expected
    ("sum", (2, 0, 3), {"axis": 1}, np.zeros((2, 3))),
    ("mean", (2, 0), {"axis": 1}, np.full((2,), np.nan)),
    ("prod", (0, 3), {"axis": 0}, np.ones((3,))),
    ("nansum", (0, 3), {"axis": 0, "keepdims": True}, np.zeros((1, 3))),
    ("sum", (2, 0, 3), {"axis": 0}, np.zeros((0, 3))),
    ("max", (2, 0, 3), {"axis": 0}, np.zeros((0, 3))),
    ("sum", (0,), {}, np.zeros((1,))),
    ("norm", (3, 0), {"axis": 1}, np.zeros((3,))),
    ("argmax", (0, 3), {"axis": 1}, np.zeros((0,))),
]


@pytest.mark.parametrize("op,shape,attrs,expected", EMPTY_CASES)
def test_reduce_size_zero(op, shape, attrs, expected):
    check(getattr(mx.nd, op)(mx.nd.zeros(shape), **attrs), expected, "float32")


def test_reduce_param_types():
    info = {p[0]: p[1] for p in mx.nd.OpInfo("sum").params}
    assert info["axis"].startswith("Shape or None, optional")
    assert info["keepdims"].startswith("boolean, optional")
    info = {p[0]: p[1] for p in mx.nd.OpInfo("norm").params}
    assert info["ord"].startswith("int, optional") and "'2'" in info["ord"]
    assert info["out_dtype"].startswith("{None, 'float16', 'float32', 'float64', 'int32', 'int64', 'int8'}")
    info = {p[0]: p[1] for p in mx.nd.OpInfo("argmax").params}
    assert info["axis"].startswith("int or None, optional")


# ---- argmax / argmin ---------------------------------------------------------------------------
ARG_CASES = [
    ((5,), {"axis": 0}), ((4, 5), {"axis": 1}), ((4, 5), {"axis": 0}), ((4, 5), {"axis": -1, "keepdims": True}),
    ((2, 3, 4), {"axis": 1}), ((2, 3, 4), {"axis": 1, "keepdims": True}), ((2, 3, 4), {}),
    ((2, 3, 4), {"keepdims": True}), ((3, 2000, 5), {"axis": 1}), ((70000,), {"axis": 0}),
]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32", "uint8", "int64"])
@pytest.mark.parametrize("shape,attrs", ARG_CASES)
@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_arg(op, shape, attrs, dtype):
    x = np.random.default_rng(1).permutation(int(np.prod(shape))).reshape(shape) % 251  # ties in big arrays
    x = x.astype(dtype)
    axis = attrs.get("axis")
    ref = getattr(np, op)(x, axis=axis)
    if attrs.get("keepdims"):
        ref = np.expand_dims(ref, axis) if axis is not None else np.reshape(ref, (1,) * x.ndim)
    ref = np.reshape(ref, (1,)) if np.ndim(ref) == 0 else ref
    got = getattr(mx.nd, op)(mx.nd.array(x, dtype=dtype), **attrs)
    # MXNet returns the indices in the input's dtype (float16: rounded like any float16 value)
    check(got, np.asarray(ref).astype(dtype), dtype, rtol=0, atol=0)


ARG_RULES = [
    # op, input, axis, expected (MXNet 1.9.1: first of ties; a NaN wins)
    ("argmax", [[1, 3, 3], [2, 2, 1]], 1, [1, 0]),
    ("argmin", [[1, 1, 3], [2, 0, 0]], 1, [0, 1]),
    ("argmax", [[1, np.nan, 3], [2, 0, np.nan]], 1, [1, 2]),
    ("argmin", [[3, np.nan, 1]], 1, [1]),
    ("argmax", [[-np.inf, -np.inf]], 1, [0]),
    ("argmax", [[1, 5], [7, 2]], 0, [1, 0]),
    ("argmax", [[1, np.nan], [np.nan, 2], [9, 9]], 0, [1, 0]),
]


@pytest.mark.parametrize("op,x,axis,expected", ARG_RULES)
def test_arg_rules(op, x, axis, expected):
    check(getattr(mx.nd, op)(mx.nd.array(x), axis=axis), np.asarray(expected), "float32")


NAN_CASES = [
    # shape, NaN positions, axis: the vector paths (long rows, several accumulators, the tail; columns)
    ((3, 100), [(1, 50)], 1), ((3, 100), [(0, 99), (2, 0)], 1), ((2, 37), [(1, 36)], 1), ((100, 40), [(70, 5)], 0),
    ((100, 40), [(0, 39), (99, 0)], 0), ((5, 64, 3), [(2, 40, 1)], (0, 2)), ((1000,), [(999,)], None),
]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("shape,where,axis", NAN_CASES)
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_nan(op, shape, where, axis, dtype):
    x = data(shape, dtype)
    for w in where:
        x[w] = np.nan
    kw = {} if axis is None else {"axis": axis}
    check(getattr(mx.nd, op)(mx.nd.array(x, dtype=dtype), **kw), np_reduce(op, x, axis), dtype)


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_infinities(op):
    for v in (np.inf, -np.inf):
        x = np.full((3, 70), v, dtype=np.float32)
        check(getattr(mx.nd, op)(mx.nd.array(x), axis=1), np.full(3, v), "float32")
        check(getattr(mx.nd, op)(mx.nd.array(x.T.copy()), axis=0), np.full(3, v), "float32")


def test_arg_long_segments_keep_first():
    x = np.zeros(100000, dtype=np.float32)
    x[[40000, 70000, 99999]] = 5  # ties in different segments of the long run
    assert mx.nd.argmax(mx.nd.array(x), axis=0).asscalar() == 40000
    x[90000] = np.nan
    assert mx.nd.argmax(mx.nd.array(x)).asscalar() == 90000
    x[95000] = np.nan
    assert mx.nd.argmin(mx.nd.array(x)).asscalar() == 90000



@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [1, 5, 8, 9, 33, 1000])
def test_arg_rows_first_occurrence(dtype, n):
    # rows long enough for the vector lanes: ties in different lanes and in the tail, NaN, -0.0
    rng = np.random.default_rng(n)
    x = rng.integers(-3, 4, size=(6, n)).astype(dtype)
    x[1, -1] = 9
    x[2, n // 2:] = np.nan
    x[3] = -0.0
    x[3, n // 3] = 0.0
    for op in ("argmax", "argmin"):
        expected = [getattr(np, op)(r) if not np.isnan(r).any() else int(np.argmax(np.isnan(r)))
                    for r in x]
        check(getattr(mx.nd, op)(mx.nd.array(x, dtype=dtype), axis=1), np.array(expected, np.float64), dtype)

# ---- norm ----------------------------------------------------------------------------------------
NORM_CASES = [
    ((5,), {}), ((4, 5), {"ord": 1}), ((4, 5), {"axis": 1}), ((4, 5), {"axis": 0, "ord": 1}),
    ((2, 3, 4), {"axis": (1, 2)}), ((2, 3, 4), {"axis": (1, 2), "ord": 1}), ((2, 3, 4), {"axis": -1, "keepdims": True}),
    ((2, 3, 4), {"keepdims": True}), ((2, 3, 4), {"axis": (0, 1, 2)}), ((3, 1, 4), {"axis": 1}),
]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("shape,attrs", NORM_CASES)
def test_norm(shape, attrs, dtype):
    x = data(shape, dtype)
    axis = attrs.get("axis")
    axes = red_axes(x.ndim, axis, False)
    x64 = x.astype(np.float64)
    ref = np.abs(x64).sum(axis=axes) if attrs.get("ord") == 1 else np.sqrt((x64 ** 2).sum(axis=axes))
    ref = np.reshape(ref, red_shape(x.shape, axes, attrs.get("keepdims", False)))
    check(mx.nd.norm(mx.nd.array(x, dtype=dtype), **attrs), ref, dtype)


def test_norm_dtypes():
    x = np.arange(24).reshape(2, 3, 4)
    # integer norms: the norm (computed in double) truncated to the input's dtype. (MXNet 1.9.1's integer L2
    # norm returns max|x| instead, [[8, 9, 10, 11], [20, 21, 22, 23]] here: its scaled sum of squares in integers.)
    ref = np.sqrt((x.astype(np.float64) ** 2).sum(axis=1))
    check(mx.nd.norm(mx.nd.array(x, dtype="int32"), axis=1), np.trunc(ref), "int32")
    check(mx.nd.norm(mx.nd.array(x), axis=1, out_dtype="float64"), ref, "float64", rtol=1e-7)
    check(mx.nd.norm(mx.nd.array(x, dtype="int32"), axis=1, out_dtype="float32"), ref, "float32")
    check(mx.nd.norm(mx.nd.array(x), axis=1, out_dtype="float16"), ref, "float16")
    check(mx.nd.norm(mx.nd.array(x), ord=1), [276.], "float32")


# ---- reductions: gradients ----------------------------------------------------------------------
GRAD_CASES = [
    # op, shape, attrs
    ("sum", (3, 4), {}), ("sum", (3, 4), {"axis": 1}), ("sum", (2, 3, 4), {"axis": (0, 2), "keepdims": True}),
    ("sum", (2, 3, 4), {"axis": 1, "exclude": True}), ("sum_axis", (2, 3), {"axis": -1}),
    ("mean", (3, 4), {}), ("mean", (2, 3, 4), {"axis": (0, 2)}), ("mean", (2, 3, 4), {"axis": -1, "keepdims": True}),
    ("prod", (3, 4), {"axis": 1}), ("prod", (2, 3, 4), {"axis": (0, 2)}), ("prod", (2, 3), {}),
    ("max", (3, 4), {"axis": 1}), ("max", (2, 3, 4), {"axis": (0, 2), "keepdims": True}), ("max", (2, 3), {}),
    ("min", (3, 4), {"axis": 0}), ("min", (2, 3, 4), {"axis": 1, "exclude": True}),
    ("nansum", (3, 4), {"axis": 1}), ("nanprod", (3, 4), {"axis": 0}),
    ("norm", (3, 4), {}), ("norm", (3, 4), {"axis": 1}), ("norm", (2, 3, 4), {"axis": (1, 2), "keepdims": True}),
    ("norm", (3, 4), {"ord": 1, "axis": 0}), ("norm", (2, 3, 4), {"ord": 1}),
]


@pytest.mark.parametrize("op,shape,attrs", GRAD_CASES)
def test_reduce_gradient(op, shape, attrs):
    rng = np.random.default_rng(2)
    if op in ("max", "min"):  # distinct values, well apart (no ties within eps)
        x = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 0.5
    elif "prod" in op:
        x = rng.uniform(0.5, 1.5, shape)
    else:
        x = rng.uniform(-2, 2, shape)
        x = np.where(np.abs(x) < 0.1, 0.5, x)  # ord=1: away from the kink at 0
    check_numeric_gradient(op, [x], attrs, rtol=1e-5, atol=1e-7)


def test_prod_gradient_with_zeros():
    # d prod / d x_i is the product of the others, also where x has zeros (MXNet 1.9.1 gives NaN there)
    x = np.array([[1., 0., 3.], [0., 0., 2.], [1., 2., 3.], [4., -1., 0.]])
    (g,) = op_gradient("prod", [mx.nd.array(x, dtype="float64")], [mx.nd.ones((4,), dtype="float64")], axis=1)
    np.testing.assert_array_equal(g.asnumpy(), [[0, 3, 0], [0, 0, 0], [6, 3, 2], [0, 0, -4]])
    check_numeric_gradient("prod", [x], {"axis": 1}, rtol=1e-5, atol=1e-7)


def test_max_gradient_ties():
    # MXNet 1.9.1: every element equal to the maximum gets the whole output gradient
    x = mx.nd.array([[1, 3, 3], [0, 0, 2]])
    (g,) = op_gradient("max", [x], [mx.nd.array([1, 2])], axis=1)
    np.testing.assert_array_equal(g.asnumpy(), [[0, 1, 1], [0, 0, 2]])
    (g,) = op_gradient("min", [x], [mx.nd.array([1, 2])], axis=1)
    np.testing.assert_array_equal(g.asnumpy(), [[1, 0, 0], [2, 2, 0]])


def test_norm_gradient_at_zero():
    # 0 where the norm is 0 (MXNet 1.9.1 gives NaN); ord=1: sign(x), 0 at 0 (as MXNet)
    x = mx.nd.array([[0, 0], [3, 4]])
    (g,) = op_gradient("norm", [x], [mx.nd.array([1, 1])], axis=1)
    np.testing.assert_allclose(g.asnumpy(), [[0, 0], [0.6, 0.8]], rtol=1e-6)
    (g,) = op_gradient("norm", [mx.nd.array([[0, -1], [3, 4]])], [mx.nd.array([1, 2])], axis=1, ord=1)
    np.testing.assert_array_equal(g.asnumpy(), [[0, -1], [2, 2]])


def test_norm_gradient_out_dtype():
    x = mx.nd.array([[3, 4]], dtype="float16")
    (g,) = op_gradient("norm", [x], [mx.nd.array([10], dtype="float64")], axis=1, out_dtype="float64")
    assert g.dtype == np.float16
    np.testing.assert_allclose(g.asnumpy(), [[6, 8]], rtol=1e-3)


def test_nan_gradients():
    x = mx.nd.array([[1, np.nan, 3], [2, 2, 2]])
    (g,) = op_gradient("nansum", [x], [mx.nd.array([1, 2])], axis=1)
    np.testing.assert_array_equal(g.asnumpy(), [[1, 0, 1], [2, 2, 2]])
    (g,) = op_gradient("nanprod", [x], [mx.nd.array([1, 2])], axis=1)
    np.testing.assert_array_equal(g.asnumpy(), [[3, 0, 1], [8, 8, 8]])


def test_arg_gradient_is_zero():
    for op in ("argmax", "argmin"):
        (g,) = op_gradient(op, [mx.nd.array([[1, 3], [2, 0]])], [mx.nd.array([5, 7])], axis=1)
        np.testing.assert_array_equal(g.asnumpy(), np.zeros((2, 2)))


BCAST_REDUCED_CASES = [
    ((3, 4), {"axis": 1}, False), ((2, 3, 4), {"axis": (0, 2), "keepdims": True}, True),
    ((2, 3, 4), {}, True), ((2, 3, 4), {"axis": 1, "exclude": True}, False),
]


@pytest.mark.parametrize("shape,attrs,normalize", BCAST_REDUCED_CASES)
def test_broadcast_reduced(shape, attrs, normalize):
    # the gradient op of sum/mean: forward, and its own gradient (sum/mean back)
    like = np.zeros(shape)
    axes = red_axes(len(shape), attrs.get("axis"), attrs.get("exclude", False))
    small = data(red_shape(shape, axes, attrs.get("keepdims", False)), "float64")
    n = np.prod([shape[a] for a in axes])
    ref = np.broadcast_to(small.reshape(red_shape(shape, axes, True)), shape) / (n if normalize else 1)
    got = mx.nd._broadcast_reduced(mx.nd.array(small, dtype="float64"), mx.nd.array(like, dtype="float64"),
                                   normalize=normalize, **attrs)
    check(got, ref, "float64")
    check_numeric_gradient("_broadcast_reduced", [small, like], dict(attrs, normalize=normalize), wrt=[0])


def test_broadcast_reduced_shape_error():
    with pytest.raises(ValueError, match=r"_broadcast_reduced: data shape \(4,\) is not the reduction \(3,\)"):
        mx.nd._broadcast_reduced(mx.nd.zeros((4,)), mx.nd.zeros((3, 4)), axis=1)


# ---- broadcast_to / broadcast_axis --------------------------------------------------------------
BCAST_CASES = [
    # op, input shape, attrs, output shape
    ("broadcast_to", (1, 3), {"shape": (2, 3)}, (2, 3)),
    ("broadcast_to", (1, 3), {"shape": (4, 0)}, (4, 3)),
    ("broadcast_to", (2, 1, 1), {"shape": (0, 3, 5)}, (2, 3, 5)),
    ("broadcast_to", (2, 3), {"shape": (2, 3)}, (2, 3)),
    ("broadcast_to", (1,), {"shape": (6,)}, (6,)),
    ("broadcast_to", (3, 1, 2, 1), {"shape": (3, 4, 2, 5)}, (3, 4, 2, 5)),
    ("broadcast_to", (1, 3), {"shape": (0, 3)}, (1, 3)),
    ("broadcast_axis", (1, 3, 1), {"axis": (0, 2), "size": (2, 4)}, (2, 3, 4)),
    ("broadcast_axis", (1, 3, 1), {"axis": 2, "size": 5}, (1, 3, 5)),
    ("broadcast_axis", (1, 3, 1), {"axis": -1, "size": 5}, (1, 3, 5)),
    ("broadcast_axis", (1, 3, 1), {}, (1, 3, 1)),
    ("broadcast_axes", (2, 1), {"axis": 1, "size": 3}, (2, 3)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32", "uint8", "bool"])
@pytest.mark.parametrize("op,shape,attrs,out_shape", BCAST_CASES)
def test_broadcast(op, shape, attrs, out_shape, dtype):
    x = data(shape, dtype, 0 if dtype in ("uint8", "bool") else -3, 2 if dtype == "bool" else 3)
    check(getattr(mx.nd, op)(mx.nd.array(x, dtype=dtype), **attrs), np.broadcast_to(x, out_shape), dtype)


@pytest.mark.parametrize("op,shape,attrs,out_shape", [c for c in BCAST_CASES if np.prod(c[3]) <= 40])
def test_broadcast_gradient(op, shape, attrs, out_shape):
    check_numeric_gradient(op, [data(shape, "float64")], attrs, rtol=1e-6, atol=1e-8)


BCAST_ERRORS = [
    ("broadcast_to", (2, 3), {"shape": (4, 3)}, ValueError, r"broadcast_to: an array of shape \(2,3\) cannot be broadcast to \(4,3\)"),
    ("broadcast_to", (3,), {"shape": (2, 3)}, ValueError, r"different number of dimensions"),
    ("broadcast_to", (2, 3), {}, ValueError, r"cannot be broadcast to \(\)"),
    ("broadcast_to", (1, 3), {"shape": (-2, 3)}, ValueError, r"negative"),
    ("broadcast_axis", (2, 3, 1), {"axis": 0, "size": 4}, ValueError, r"broadcast_axis: axis 0 of shape \(2,3,1\) has size 2; broadcasting axes must have size 1"),
    ("broadcast_axis", (1, 3, 1), {"axis": (0, 2), "size": (2,)}, ValueError, r"different lengths"),
    ("broadcast_axis", (1, 3, 1), {"axis": 3, "size": 2}, IndexError, r"axis 3 is out of range"),
    ("broadcast_axis", (1, 3, 1), {"axis": (0, 0), "size": (2, 2)}, ValueError, r"duplicates"),
]


@pytest.mark.parametrize("op,shape,attrs,exc,match", BCAST_ERRORS)
def test_broadcast_errors(op, shape, attrs, exc, match):
    with pytest.raises(exc, match=match):
        getattr(mx.nd, op)(mx.nd.zeros(shape), **attrs).wait_to_read()


def test_broadcast_size_zero():
    check(mx.nd.broadcast_to(mx.nd.zeros((0, 1)), shape=(0, 4)), np.zeros((0, 4)), "float32")
    check(mx.nd.broadcast_to(mx.nd.ones((2, 1)), shape=(2, 0)), np.ones((2, 1)), "float32")  # 0 keeps the axis
    check(mx.nd.broadcast_axis(mx.nd.ones((1, 2)), axis=0, size=0), np.zeros((0, 2)), "float32")
    (g,) = op_gradient("broadcast_axis", [mx.nd.ones((1, 2))], [mx.nd.zeros((0, 2))], axis=0, size=0)
    check(g, np.zeros((1, 2)), "float32")


# ---- add_n -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32", "int8", "uint8", "int64"])
@pytest.mark.parametrize("n,shape", [(1, (3,)), (2, (2, 3)), (3, (4, 5)), (7, (2, 3, 4)), (4, (3000,)), (2, (0, 3))])
def test_add_n(n, shape, dtype):
    xs = [data(shape, dtype, 0 if dtype == "uint8" else -3, 4, seed=i) for i in range(n)]
    ref = sum(x.astype(np.float64) for x in xs)
    check(mx.nd.add_n(*[mx.nd.array(x, dtype=dtype) for x in xs]), ref, dtype)


def test_add_n_rules():
    # MXNet 1.9.1: integer sums wrap; ElementWiseSum is the same op
    check(mx.nd.add_n(*[mx.nd.array([100], dtype="int8")] * 3), [44], "int8")
    a = mx.nd.array([1, 2])
    check(mx.nd.ElementWiseSum(a, a, a), [3, 6], "float32")
    out = mx.nd.zeros((2,))
    mx.nd.add_n(a, a, out=out)
    check(out, [2, 4], "float32")
    mx.nd.add_n(a, a, out=a)  # in place on its first input
    check(a, [2, 4], "float32")


def test_add_n_errors():
    with pytest.raises(ValueError, match=r"add_n: shape of input 'arg1' \(3,\) does not match \(2,\)"):
        mx.nd.add_n(mx.nd.ones((2,)), mx.nd.ones((3,)))
    with pytest.raises(TypeError, match=r"add_n: dtype of input 'arg1' is float64, expected float32"):
        mx.nd.add_n(mx.nd.ones((2,)), mx.nd.ones((2,), dtype="float64"))
    with pytest.raises(ValueError, match=r"num_args must be >= 1"):
        mx.nd.add_n()


def test_add_n_gradient():
    xs = [data((2, 3), "float64", seed=i) for i in range(3)]
    check_numeric_gradient("add_n", xs, {"num_args": 3}, rtol=1e-6, atol=1e-8)


# ---- clip ---------------------------------------------------------------------------------------------
CLIP_CASES = [
    # input, dtype, a_min, a_max, expected (MXNet 1.9.1: x > a_max -> a_max, elif x < a_min -> a_min)
    ([-2, 0.5, 3, np.nan], "float32", -1, 1, [-1, 0.5, 1, np.nan]),
    ([-2, 0.5, 3], "float64", -1.5, 2.25, [-1.5, 0.5, 2.25]),
    ([-2, 0.5, 3], "float32", 1, -1, [1, -1, -1]),
    ([-2, 0, 3], "int32", -1.5, 1.5, [-1, 0, 1]),
    ([0, 5, 200], "uint8", -3, 100.7, [0, 5, 100]),
    ([-128, 0, 127], "int8", -1000, 1000, [-128, 0, 127]),
    ([-2, 0.25, 3], "float16", -1, 1, [-1, 0.25, 1]),
    ([1, 2], "float32", -1, 1.5, [1, 1.5]),
    ([-5, 0, 5], "float32", np.nan, 1, [-5, 0, 1]),
    ([-5, 0, 5], "int32", -1, np.nan, [-1, 0, 5]),
    ([], "float32", 0, 1, np.zeros((0,))),
]


@pytest.mark.parametrize("x,dtype,a_min,a_max,expected", CLIP_CASES)
def test_clip(x, dtype, a_min, a_max, expected):
    check(mx.nd.clip(mx.nd.array(np.asarray(x), dtype=dtype), a_min=a_min, a_max=a_max), np.asarray(expected), dtype)


def test_clip_large_matches_numpy():
    x = data((50, 3000), "float32", -4, 4)
    check(mx.nd.clip(mx.nd.array(x), a_min=-1.25, a_max=2), np.clip(x, -1.25, 2), "float32")


def test_clip_gradient():
    # MXNet 1.9.1: the gradient passes inside [a_min, a_max] (bounds included) and at NaN
    x = mx.nd.array([-2, -1, 0, 1, 2, np.nan])
    (g,) = op_gradient("clip", [x], [mx.nd.array([1, 2, 3, 4, 5, 6])], a_min=-1, a_max=1)
    np.testing.assert_array_equal(g.asnumpy(), [0, 2, 3, 4, 0, 6])
    check_numeric_gradient("clip", [np.array([-2.1, -0.7, 0.3, 0.9, 1.6])], {"a_min": -1, "a_max": 1})


def test_clip_errors():
    with pytest.raises(ValueError, match=r"clip: required attribute 'a_max' is missing"):
        mx.nd.clip(mx.nd.ones((2,)), a_min=0)


# ---- _cast_like (the gradient of Cast) -------------------------------------------------------------
@pytest.mark.parametrize("src,dst", [("float32", "float64"), ("float64", "float16"), ("float32", "int32"),
                                     ("int32", "float32"), ("float32", "bool"), ("uint8", "int8")])
def test_cast_like(src, dst):
    x = data((3, 4), src, 0, 100)
    got = mx.nd._cast_like(mx.nd.array(x, dtype=src), mx.nd.zeros((1,), dtype=dst))
    check(got, x.astype(dst), dst)


def test_cast_like_gradient():
    x = mx.nd.array([1.5, -2], dtype="float64")
    like = mx.nd.zeros((1,), dtype="float16")
    g = op_gradient("_cast_like", [x, like], [mx.nd.array([0.25, 3], dtype="float16")])
    assert g[0].dtype == np.float64 and g[1].dtype == np.float16
    np.testing.assert_array_equal(g[0].asnumpy(), [0.25, 3])
    np.testing.assert_array_equal(g[1].asnumpy(), [0])


# ---- optimizer updates ---------------------------------------------------------------------------------
def _clip(x, b):
    return np.where(x > b, b, np.where(x < -b, -b, x)).astype(x.dtype)


def _params(attrs, dt):
    d = dict(wd=0, rescale_grad=1, clip_gradient=-1, clip_weights=-1, momentum=0, beta1=0.9, beta2=0.999,
             epsilon=1e-8, gamma1=0.95, gamma2=0.9, wd_lh=0, lamda1=0.01, beta=1)
    d.update(attrs)
    return {k: dt.type(np.float32(v)) for k, v in d.items()}  # float attributes, then the weight's dtype


def np_update(op, w, g, s, attrs, out_is_weight=True):
    """MXNet 1.9.1's kernels (src/operator/optimizer_op-inl.h), operation for operation, in w's dtype.
    Returns the new weight and the new states."""
    P = _params(attrs, w.dtype)
    one = w.dtype.type(1)
    lr, wd, rg, cg, m = P["lr"], P["wd"], P["rescale_grad"], P["clip_gradient"], P["momentum"]
    s = [x.copy() for x in s]
    if op == "sgd_update":
        return ((one - lr * wd) * w - lr * _clip(rg * g, cg) if cg >= 0 else (one - lr * wd) * w - (lr * rg) * g), s
    if op == "sgd_mom_update":
        gr = _clip(rg * g, cg) if cg >= 0 else rg * g
        s[0] = m * s[0] - lr * wd * w - lr * gr if cg >= 0 else m * s[0] - lr * wd * w - lr * rg * g
        return w + s[0], s
    if op == "nag_mom_update":
        gr = _clip(rg * g, cg) if cg >= 0 else rg * g
        s[0] = m * s[0]
        nw = w - s[0] + (m + one) * (s[0] - lr * (gr + wd * w))
        # MXNet writes the output before updating mom, which then reads the weight: the new one when
        # out=weight (as optimizers call it, and as these tests do)
        s[0] = s[0] - lr * (gr + wd * (nw if out_is_weight else w))
        return nw, s
    if op == "adam_update":
        gr = g * rg + w * wd
        gr = _clip(gr, cg) if cg >= 0 else gr
        s[0] = P["beta1"] * s[0] + (one - P["beta1"]) * gr
        s[1] = P["beta2"] * s[1] + (one - P["beta2"]) * gr * gr
        return w - lr * s[0] / (np.sqrt(s[1]) + P["epsilon"]), s
    if op == "rmsprop_update":
        gr = rg * g + wd * w
        gr = _clip(gr, cg) if cg >= 0 else gr
        s[0] = (one - P["gamma1"]) * (gr * gr) + P["gamma1"] * s[0]
        nw = w - lr * (gr / np.sqrt(s[0] + P["epsilon"]))
        return (_clip(nw, P["clip_weights"]) if P["clip_weights"] >= 0 else nw), s
    if op == "rmspropalex_update":
        gr = rg * g + wd * w
        gr = _clip(gr, cg) if cg >= 0 else gr
        g1 = P["gamma1"]
        s[0] = (one - g1) * gr * gr + g1 * s[0]
        s[1] = (one - g1) * gr + g1 * s[1]
        s[2] = P["gamma2"] * s[2] - (lr * gr / np.sqrt(s[0] - s[1] * s[1] + P["epsilon"]))
        nw = w + s[2]
        return (_clip(nw, P["clip_weights"]) if P["clip_weights"] >= 0 else nw), s
    if op == "signsgd_update":
        return (one - lr * wd) * w - lr * np.sign(g), s
    if op == "signum_update":
        gr = _clip(rg * g, cg) if cg >= 0 else rg * g
        s[0] = m * s[0] - (one - m) * wd * w - (one - m) * gr
        return (one - lr * P["wd_lh"]) * w + lr * np.sign(s[0]), s
    if op == "ftrl_update":
        gr = g * rg
        gr = _clip(gr, cg) if cg >= 0 else gr
        z, n = s
        z = z + (gr - (np.sqrt(n + gr * gr) - np.sqrt(n)) * w / lr)
        n = n + gr * gr
        nw = (np.sign(z) * P["lamda1"] - z) / ((P["beta"] + np.sqrt(n)) / lr + wd) * (np.abs(z) > P["lamda1"])
        return nw.astype(w.dtype), [z, n]
    raise AssertionError(op)


NUM_STATES = {"sgd_update": 0, "sgd_mom_update": 1, "nag_mom_update": 1, "adam_update": 2, "rmsprop_update": 1,
              "rmspropalex_update": 3, "signsgd_update": 0, "signum_update": 1, "ftrl_update": 2}

OPT_CASES = [
    ("sgd_update", {"lr": 0.1}),
    ("sgd_update", {"lr": 0.05, "wd": 0.01, "rescale_grad": 0.5, "clip_gradient": 0.3}),
    ("sgd_mom_update", {"lr": 0.1, "momentum": 0.9}),
    ("sgd_mom_update", {"lr": 0.1, "momentum": 0.8, "wd": 0.02, "rescale_grad": 2.0, "clip_gradient": 0.5}),
    ("nag_mom_update", {"lr": 0.1, "momentum": 0.9, "wd": 0.01}),
    ("nag_mom_update", {"lr": 0.1, "momentum": 0.9, "clip_gradient": 0.4, "rescale_grad": 0.7}),
    ("adam_update", {"lr": 0.01}),
    ("adam_update", {"lr": 0.01, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-6, "wd": 0.1, "clip_gradient": 0.6}),
    ("rmsprop_update", {"lr": 0.01}),
    ("rmsprop_update", {"lr": 0.01, "gamma1": 0.9, "wd": 0.1, "clip_gradient": 0.6, "clip_weights": 1.2}),
    ("rmspropalex_update", {"lr": 0.01}),
    ("rmspropalex_update", {"lr": 0.01, "gamma1": 0.9, "gamma2": 0.8, "clip_gradient": 0.6, "clip_weights": 1.2}),
    ("signsgd_update", {"lr": 0.1, "wd": 0.01}),
    ("signum_update", {"lr": 0.1, "momentum": 0.9}),
    ("signum_update", {"lr": 0.1, "momentum": 0.9, "wd": 0.01, "wd_lh": 0.05, "clip_gradient": 0.5}),
    ("ftrl_update", {"lr": 0.1}),
    ("ftrl_update", {"lr": 0.1, "lamda1": 0.05, "beta": 0.5, "wd": 0.01, "rescale_grad": 0.5, "clip_gradient": 0.6}),
]


def _opt_start(op, shape, dtype, seed):
    rng = np.random.default_rng(seed)
    w = rng.uniform(-1, 1, shape).astype(dtype)
    states = [np.zeros(shape, dtype) for _ in range(NUM_STATES[op])]
    if op == "ftrl_update":
        states[1] = rng.uniform(0, 0.5, shape).astype(dtype)  # n >= 0
    return w, states


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op,attrs", OPT_CASES)
def test_optimizer_steps(op, attrs, dtype):
    shape = (3, 5)
    w, states = _opt_start(op, shape, dtype, 0)
    nw, ns = mx.nd.array(w, dtype=dtype), [mx.nd.array(s, dtype=dtype) for s in states]
    rng = np.random.default_rng(1)
    for step in range(5):
        g = rng.uniform(-2, 2, shape).astype(dtype)
        w, states = np_update(op, w, g, states, attrs)
        res = getattr(mx.nd, op)(nw, mx.nd.array(g, dtype=dtype), *ns, out=nw, **attrs)
        assert res is nw
    tol = dict(rtol=2e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(nw.asnumpy(), w, **tol)
    for a, b in zip(ns, states):
        np.testing.assert_allclose(a.asnumpy(), b, **tol)


# One step of each op in MXNet 1.9.1 (mx.nd.<op>(*arrays, out=arrays[0], **attrs)), float32: the new
# weight, then the new states.
_W0 = [[-1.5, -0.75, -0.2, 0.0], [0.1, 0.4, 0.9, 2.0]]
_ARR = {"w": _W0, "g": [[0.3, -2.5, 0.05, -0.4], [1.7, 0.0, -0.9, 0.6]],
        "s1": [[0.1, -0.2, 0.0, 0.3], [-0.05, 0.2, 0.4, -0.1]], "s2": [[0.01, 0.2, 0.0, 0.5], [0.05, 0.3, 0.02, 0.1]],
        "s3": [[0.0, 0.1, -0.1, 0.05], [0.2, -0.2, 0.0, 0.01]], "sg": [[0.05, -0.1, 0.0, 0.2], [-0.02, 0.1, 0.1, -0.05]]}
MX_OPT = [
    ('sgd_update', ['w', 'g'], {'lr': 0.1, 'wd': 0.01, 'rescale_grad': 0.5, 'clip_gradient': 0.6},
     [[[-1.5134999752044678, -0.6892499923706055, -0.20229999721050262, 0.020000001415610313], [0.03989999741315842, 0.39959999918937683, 0.944100022315979, 1.968000054359436]]]),
    ('sgd_update', ['w', 'g'], {'lr': 0.1, 'clip_gradient': 0.0},
     [[[-1.5, -0.75, -0.20000000298023224, 0.0], [0.10000000149011612, 0.4000000059604645, 0.8999999761581421, 2.0]]]),
    ('sgd_mom_update', ['w', 'g', 's1'], {'lr': 0.1, 'momentum': 0.9, 'wd': 0.01, 'rescale_grad': 0.5, 'clip_gradient': 0.6},
     [[[-1.4235000610351562, -0.8692499995231628, -0.20229999721050262, 0.2900000214576721], [-0.0051000043749809265, 0.5795999765396118, 1.3040999174118042, 1.878000020980835]],
      [[0.07649999856948853, -0.11924998462200165, -0.0023000002838671207, 0.2900000214576721], [-0.10510000586509705, 0.17959998548030853, 0.4040999710559845, -0.12199999392032623]]]),
    ('nag_mom_update', ['w', 'g', 's1'], {'lr': 0.1, 'momentum': 0.9, 'wd': 0.01, 'rescale_grad': 0.5, 'clip_gradient': 0.6},
     [[[-1.4446500539779663, -0.7965749502182007, -0.20437000691890717, 0.2810000479221344], [-0.054690003395080566, 0.5612399578094482, 1.307789921760559, 1.858199954032898]],
      [[0.07644464820623398, -0.11920341849327087, -0.0022956300526857376, 0.28971901535987854], [-0.10494531691074371, 0.1794387549161911, 0.40369218587875366, -0.12185819447040558]]]),
    ('nag_mom_update', ['w', 'g', 's1'], {'lr': 0.1, 'momentum': 0.9, 'wd': 0.01},
     [[[-1.4731500148773193, -0.4355749487876892, -0.2091200053691864, 0.3189999759197235], [-0.2636900544166565, 0.5612399578094482, 1.3932899236679077, 1.8011999130249023]],
      [[0.061473146080970764, 0.07043556869029999, -0.004790880251675844, 0.3096809983253479], [-0.21473631262779236, 0.1794387549161911, 0.4486066997051239, -0.151801198720932]]]),
    ('adam_update', ['w', 'g', 's1', 's2'], {'lr': 0.01, 'beta1': 0.8, 'beta2': 0.95, 'epsilon': 1e-06, 'wd': 0.1, 'rescale_grad': 0.5, 'clip_gradient': 0.6},
     [[[-1.5082077980041504, -0.7438606023788452, -0.20893627405166626, -0.002895810641348362], [0.09687415510416031, 0.3968535363674164, 0.8844636082649231, 1.9993900060653687]],
      [[0.08000000566244125, -0.2800000011920929, 0.0009999996982514858, 0.20000001788139343], [0.07999999821186066, 0.1680000126361847, 0.24800002574920654, 0.01999998837709427]],
      [[0.009499999694526196, 0.20800000429153442, 1.2499998547355062e-06, 0.47699999809265137], [0.06550000607967377, 0.2850799858570099, 0.02548000030219555, 0.10750000178813934]]]),
    ('adam_update', ['w', 'g', 's1', 's2'], {'lr': 0.01},
     [[[-1.51195228099823, -0.7405270934104919, -0.23162278532981873, -0.0032537977676838636], [0.09456212818622589, 0.3967120349407196, 0.8812743425369263, 2.0009474754333496]],
      [[0.12000000476837158, -0.43000006675720215, 0.005000001285225153, 0.23000000417232513], [0.12500004470348358, 0.17999999225139618, 0.26999998092651367, -0.029999978840351105]],
      [[0.010079999454319477, 0.20604991912841797, 2.4999678771564504e-06, 0.49966001510620117], [0.052839964628219604, 0.2997000217437744, 0.020789990201592445, 0.10025999695062637]]]),
    ('rmsprop_update', ['w', 'g', 's2'], {'lr': 0.01, 'gamma1': 0.9, 'epsilon': 1e-06, 'wd': 0.1, 'rescale_grad': 0.5, 'clip_gradient': 0.6, 'clip_weights': 1.2},
     [[[-1.2000000476837158, -0.7370901107788086, -0.22672611474990845, 0.0029682572931051254], [0.07891827821731567, 0.399230420589447, 0.9204594492912292, 1.2000000476837158]],
      [[0.008999999612569809, 0.2160000056028366, 2.4999997094710125e-06, 0.45399999618530273], [0.08100000768899918, 0.2701600193977356, 0.030960001051425934, 0.11500000208616257]]]),
    ('rmspropalex_update', ['w', 'g', 's2', 'sg', 's3'], {'lr': 0.01, 'gamma1': 0.9, 'gamma2': 0.8, 'epsilon': 1e-06, 'wd': 0.1, 'rescale_grad': 0.5, 'clip_gradient': 0.6, 'clip_weights': 1.2},
     [[[-1.2000000476837158, -0.6563601493835449, -0.30773502588272095, 0.043055661022663116], [0.23868492245674133, 0.23921751976013184, 0.9214968085289001, 1.2000000476837158]],
      [[0.008999999612569809, 0.2160000056028366, 2.4999997094710125e-06, 0.45399999618530273], [0.08100001513957977, 0.2701600193977356, 0.030960001051425934, 0.11500000208616257]],
      [[0.044999998062849045, -0.15000000596046448, 0.0005000000237487257, 0.15999998152256012], [0.04200001806020737, 0.09399999678134918, 0.05399999022483826, 0.00500001385807991]],
      [[0.0, 0.09363985806703568, -0.10773500800132751, 0.043055661022663116], [0.1386849284172058, -0.16078248620033264, 0.0214968454092741, -0.006745734252035618]]]),
    ('signsgd_update', ['w', 'g'], {'lr': 0.1, 'wd': 0.01, 'rescale_grad': 0.5, 'clip_gradient': 0.6},
     [[[-1.5985000133514404, -0.6492499709129333, -0.29980000853538513, 0.10000000149011612], [-0.00010000169277191162, 0.39959999918937683, 0.9991000294685364, 1.8980000019073486]]]),
    ('signum_update', ['w', 'g', 's1'], {'lr': 0.1, 'momentum': 0.9, 'wd': 0.01, 'rescale_grad': 0.5, 'clip_gradient': 0.6, 'wd_lh': 0.05},
     [[[-1.3925000429153442, -0.846250057220459, -0.29899999499320984, 0.10000000149011612], [-0.0005000010132789612, 0.49799999594688416, 0.9955000281333923, 1.8899999856948853]],
      [[0.07649999856948853, -0.11924996972084045, -0.0023000005166977644, 0.2900000214576721], [-0.10510002076625824, 0.17959998548030853, 0.4041000008583069, -0.12200000137090683]]]),
    ('signum_update', ['w', 'g', 's1'], {'lr': 0.1, 'momentum': 0.9},
     [[[-1.399999976158142, -0.6499999761581421, -0.30000001192092896, 0.10000000149011612], [0.0, 0.5, 1.0, 1.899999976158142]],
      [[0.0599999874830246, 0.0700000673532486, -0.005000001285225153, 0.3100000321865082], [-0.21500004827976227, 0.17999999225139618, 0.44999998807907104, -0.15000000596046448]]]),
    ('ftrl_update', ['w', 'g', 's1', 's2'], {'lr': 0.1, 'lamda1': 0.01, 'beta': 1.0, 'wd': 0.01, 'rescale_grad': 0.5, 'clip_gradient': 0.6},
     [[[-0.12225435674190521, -0.08279643952846527, -0.006335283163934946, -0.005184789653867483], [-0.007511939387768507, -0.01226817537099123, 0.20455633103847504, 0.15194222331047058]],
      [[1.4541633129119873, 1.4583841562271118, 0.07500000298023224, 0.10000000894069672], [0.13329438865184784, 0.20000000298023224, -3.0224990844726562, -2.1932425498962402]],
      [[0.032499998807907104, 0.5600000023841858, 0.0006250000442378223, 0.5400000214576721], [0.4100000262260437, 0.30000001192092896, 0.22249998152256012, 0.1899999976158142]]]),
    ('ftrl_update', ['w', 'g', 's1', 's2'], {'lr': 0.1},
     [[[-0.2760476768016815, -0.36679917573928833, -0.0133333345875144, 0.0049657803028821945], [-0.005487424787133932, -0.012276101857423782, 0.3880915343761444, 0.4010232985019684]],
      [[3.643416404724121, 12.993535995483398, 0.15000000596046448, -0.09999999403953552], [0.15896399319171906, 0.20000000298023224, -7.4265971183776855, -6.740105152130127]],
      [[0.10000000149011612, 6.449999809265137, 0.002500000176951289, 0.6600000262260437], [2.940000057220459, 0.30000001192092896, 0.8299999237060547, 0.46000000834465027]]]),
]


@pytest.mark.parametrize("case", MX_OPT, ids=[f"{c[0]}_{i}" for i, c in enumerate(MX_OPT)])
def test_optimizer_vs_mxnet(case):
    op, names, attrs, expected = case
    arrs = [mx.nd.array(_ARR[k]) for k in names]
    getattr(mx.nd, op)(*arrs, out=arrs[0], **attrs)
    for got, exp in zip([arrs[0]] + arrs[2:], expected):
        np.testing.assert_allclose(got.asnumpy(), exp, rtol=1e-6, atol=1e-7)
    # and the numpy reference agrees with MXNet too
    w, states = np_update(op, np.array(_ARR["w"], np.float32), np.array(_ARR["g"], np.float32),
                          [np.array(_ARR[k], np.float32) for k in names[2:]], attrs)
    for got, exp in zip([w] + states, expected):
        np.testing.assert_allclose(got, exp, rtol=1e-6, atol=1e-7)


def test_nag_reads_weight_after_writing_out():
    # MXNet 1.9.1's nag_mom_update updates mom after writing the output, reading the weight again: with
    # out=weight the weight decay term of mom sees the new weight (the numbers in MX_OPT show it)
    w, g = np.array([-1.5, 0.4], np.float32), np.array([0.3, -2.0], np.float32)
    attrs = {"lr": 0.1, "momentum": 0.9, "wd": 0.5}
    for out_is_weight in (True, False):
        nw, mom = mx.nd.array(w), mx.nd.array([0.1, -0.2])
        r = mx.nd.nag_mom_update(nw, mx.nd.array(g), mom, out=nw if out_is_weight else None, **attrs)
        ew, es = np_update("nag_mom_update", w, g, [np.array([0.1, -0.2], np.float32)], attrs, out_is_weight)
        np.testing.assert_allclose(r.asnumpy(), ew, rtol=1e-6)
        np.testing.assert_allclose(mom.asnumpy(), es[0], rtol=1e-6)
    assert abs(es[0][0] - np_update("nag_mom_update", w, g, [np.array([0.1, -0.2], np.float32)], attrs)[1][0][0]) > 1e-3


def test_optimizer_without_out():
    # the result is a new array; the weight stays, the states are updated in place
    w, g, mom = mx.nd.array([1.0, 2.0]), mx.nd.array([0.5, -1.0]), mx.nd.zeros((2,))
    r = mx.nd.sgd_mom_update(w, g, mom, lr=0.1, momentum=0.9)
    np.testing.assert_allclose(r.asnumpy(), [0.95, 2.1], rtol=1e-6)
    np.testing.assert_array_equal(w.asnumpy(), [1.0, 2.0])
    np.testing.assert_allclose(mom.asnumpy(), [-0.05, 0.1], rtol=1e-6)
    assert mx.nd.OpInfo("adam_update").input_names == ["weight", "grad", "mean", "var"]
    assert mx.nd.OpInfo("ftrl_update").input_names == ["weight", "grad", "z", "n"]


def test_optimizer_float16():
    shape = (4, 6)
    for op, attrs in [("sgd_mom_update", {"lr": 0.1, "momentum": 0.9}), ("adam_update", {"lr": 0.01}),
                      ("rmsprop_update", {"lr": 0.01})]:
        w, states = _opt_start(op, shape, "float32", 2)
        g = np.random.default_rng(3).uniform(-1, 1, shape).astype(np.float32)
        ew, es = np_update(op, w, g, states, attrs)
        nw = mx.nd.array(w, dtype="float16")
        ns = [mx.nd.array(s, dtype="float16") for s in states]
        getattr(mx.nd, op)(nw, mx.nd.array(g, dtype="float16"), *ns, out=nw, **attrs)
        assert nw.dtype == np.float16
        np.testing.assert_allclose(nw.asnumpy(), ew, rtol=5e-3, atol=1e-3)
        for a, b in zip(ns, es):
            np.testing.assert_allclose(a.asnumpy(), b, rtol=5e-3, atol=1e-3)


def test_optimizer_size_zero():
    w, g, m = mx.nd.zeros((0, 3)), mx.nd.zeros((0, 3)), mx.nd.zeros((0, 3))
    assert mx.nd.sgd_mom_update(w, g, m, out=w, lr=0.1).shape == (0, 3)


OPT_ERRORS = [
    (lambda: mx.nd.sgd_update(mx.nd.ones((2,), dtype="int32"), mx.nd.ones((2,), dtype="int32"), lr=0.1), TypeError,
     r"sgd_update: weight must be float16, float32 or float64, got int32"),
    (lambda: mx.nd.adam_update(mx.nd.ones((2,)), mx.nd.ones((2,)), mx.nd.ones((3,)), mx.nd.ones((2,)), lr=0.1),
     ValueError, r"adam_update: shape of input 'mean' \(3,\) does not match \(2,\)"),
    (lambda: mx.nd.sgd_update(mx.nd.ones((2,)), mx.nd.ones((2,), dtype="float64"), lr=0.1), TypeError,
     r"dtype of input 'grad' is float64, expected float32"),
    (lambda: mx.nd.sgd_update(mx.nd.ones((2,)), mx.nd.ones((2,))), ValueError, r"required attribute 'lr' is missing"),
    (lambda: mx.nd.sgd_mom_update(mx.nd.ones((2,)), mx.nd.ones((2,)), lr=0.1), ValueError, r"expected 3 input"),
]


@pytest.mark.parametrize("fn,exc,match", OPT_ERRORS)
def test_optimizer_errors(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn().wait_to_read()
