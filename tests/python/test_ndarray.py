"""The NDArray Python API (mx.nd): creation, attributes, conversion, reshape, arithmetic,
broadcasting, generated op functions, random sampling and errors.

Results are compared with numpy computed in float64 on the same (already rounded) inputs:
rtol 1e-3 for float16, 1e-6 for float32, 1e-12 for float64; integers and bools exactly.
Indexing and slicing live in test_indexing.py.
"""
import inspect
import operator
import re
import subprocess
import sys

import numpy as np
import pytest

import axle as mx

RTOL = {np.float16: 1e-3, np.float32: 1e-6, np.float64: 1e-12}
ATOL = {np.float16: 1e-4, np.float32: 1e-7, np.float64: 1e-14}
ALL_DTYPES = ["float32", "float64", "float16", "int8", "uint8", "int32", "int64", "bool"]
FLOATS = ["float32", "float64", "float16"]


def assert_nd(got, expected, dtype=None):
    """got (an NDArray) has expected's values and shape, and the dtype given (else: whatever it has)."""
    assert isinstance(got, mx.nd.NDArray), type(got)
    g = got.asnumpy()
    e = np.asarray(expected, dtype=np.float64)
    dt = np.dtype(dtype) if dtype is not None else g.dtype
    assert g.dtype == dt, (g.dtype, dt)
    assert g.shape == e.shape, (g.shape, e.shape)
    if dt.kind == "f":
        np.testing.assert_allclose(g.astype(np.float64), e, rtol=RTOL[dt.type], atol=ATOL[dt.type])
    else:
        np.testing.assert_array_equal(g, e.astype(dt))


def data(shape, dtype, lo=-3.0, hi=3.0, seed=0):
    """Deterministic test data of a dtype in [lo, hi) (integers: whole numbers)."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind in "iub":
        return rng.integers(int(lo), int(hi), size=shape).astype(dt)
    return rng.uniform(lo, hi, size=shape).astype(dt)


# ---- creation -----------------------------------------------------------------------------------
CREATION_CASES = [
    # id, make, expected values, expected dtype
    ("array_list", lambda: mx.nd.array([[1, 2, 3], [4, 5, 6]]), [[1, 2, 3], [4, 5, 6]], "float32"),
    ("array_int_list_dtype", lambda: mx.nd.array([1, -2], dtype="int64"), [1, -2], "int64"),
    ("array_np_float64", lambda: mx.nd.array(np.array([0.5, 1.5])), [0.5, 1.5], "float32"),
    ("array_np_int64", lambda: mx.nd.array(np.arange(3)), [0, 1, 2], "float32"),
    ("array_np_bool_dtype", lambda: mx.nd.array(np.array([True, False]), dtype=bool), [1, 0], "bool"),
    ("array_nd_keeps_dtype", lambda: mx.nd.array(mx.nd.array([1, 2], dtype="int32")), [1, 2], "int32"),
    ("array_nd_cast", lambda: mx.nd.array(mx.nd.array([1, 2], dtype="int32"), dtype="float16"), [1, 2], "float16"),
    ("array_np_dtype_obj", lambda: mx.nd.array([3, 4], dtype=np.dtype("uint8")), [3, 4], "uint8"),
    ("array_empty_list", lambda: mx.nd.array([]), np.zeros((0,)), "float32"),
    ("zeros", lambda: mx.nd.zeros((2, 3)), np.zeros((2, 3)), "float32"),
    ("zeros_int_shape", lambda: mx.nd.zeros(4, dtype="int8"), np.zeros(4), "int8"),
    ("zeros_0d", lambda: mx.nd.zeros(()), np.zeros(()), "float32"),
    ("zeros_zero_size", lambda: mx.nd.zeros((0, 3), dtype="int32"), np.zeros((0, 3)), "int32"),
    ("ones", lambda: mx.nd.ones((3, 1, 2), dtype="float64"), np.ones((3, 1, 2)), "float64"),
    ("ones_bool", lambda: mx.nd.ones((2,), dtype=np.bool_), [1, 1], "bool"),
    ("ones_zero_size", lambda: mx.nd.ones((2, 0)), np.ones((2, 0)), "float32"),
    ("full_float", lambda: mx.nd.full((2, 2), 3.5), np.full((2, 2), 3.5), "float32"),
    ("full_int", lambda: mx.nd.full((3,), -7, dtype="int64"), [-7, -7, -7], "int64"),
    ("full_f16", lambda: mx.nd.full((1, 3), 0.25, dtype="float16"), [[0.25] * 3], "float16"),
    ("full_uint8", lambda: mx.nd.full((2,), 200, dtype="uint8"), [200, 200], "uint8"),
    ("arange_stop", lambda: mx.nd.arange(5), np.arange(5), "float32"),
    ("arange_start_stop_step", lambda: mx.nd.arange(2, 11, 3), np.arange(2, 11, 3), "float32"),
    ("arange_negative_step", lambda: mx.nd.arange(3, 0, -0.5), np.arange(3, 0, -0.5), "float32"),
    ("arange_fraction", lambda: mx.nd.arange(0, 1, 0.1, dtype="float64"), np.arange(0, 1, 0.1), "float64"),
    ("arange_int", lambda: mx.nd.arange(-2, 3, dtype="int32"), np.arange(-2, 3), "int32"),
    ("arange_repeat", lambda: mx.nd.arange(0, 3, repeat=2), [0, 0, 1, 1, 2, 2], "float32"),
    ("arange_empty", lambda: mx.nd.arange(3, 3), np.zeros((0,)), "float32"),
    ("zeros_like", lambda: mx.nd.zeros_like(mx.nd.ones((2, 3), dtype="int64")), np.zeros((2, 3)), "int64"),
    ("ones_like", lambda: mx.nd.ones_like(mx.nd.zeros((3,), dtype="float16")), np.ones(3), "float16"),
    ("ones_like_zero_size", lambda: mx.nd.ones_like(mx.nd.zeros((0, 2))), np.ones((0, 2)), "float32"),
]


@pytest.mark.parametrize("make,expected,dtype", [c[1:] for c in CREATION_CASES], ids=[c[0] for c in CREATION_CASES])
def test_creation(make, expected, dtype):
    assert_nd(make(), expected, dtype)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (0, 3), (2, 1, 4)])
def test_empty_shape_dtype(shape, dtype):
    a = mx.nd.empty(shape, dtype=dtype)
    assert a.shape == shape and a.dtype is np.dtype(dtype).type and a.asnumpy().shape == shape


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_array_roundtrip_every_dtype(dtype):
    src = data((3, 4), dtype, 0, 100 if dtype != "bool" else 2, seed=1)
    a = mx.nd.array(src, dtype=dtype)
    assert a.dtype is np.dtype(dtype).type
    np.testing.assert_array_equal(a.asnumpy(), src)


def test_array_is_a_copy_of_its_source():
    src = np.arange(4.0, dtype=np.float32)
    a = mx.nd.array(src)
    src[0] = 100
    b = mx.nd.array(a)
    b[:] = -1
    assert_nd(a, [0, 1, 2, 3], "float32")


# ---- attributes ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_dtype_is_numpy_scalar_type(dtype):
    a = mx.nd.zeros((2,), dtype=dtype)
    assert a.dtype is np.dtype(dtype).type
    assert np.dtype(a.dtype) == np.dtype(dtype)


@pytest.mark.parametrize("shape,size,ndim", [((), 1, 0), ((4,), 4, 1), ((2, 3), 6, 2), ((2, 0, 5), 0, 3),
                                             ((1, 2, 3, 4), 24, 4)])
def test_shape_size_ndim(shape, size, ndim):
    a = mx.nd.zeros(shape)
    assert (a.shape, a.size, a.ndim) == (shape, size, ndim)
    assert isinstance(a.shape, tuple)


def test_context():
    a = mx.nd.ones((2,))
    assert a.context == mx.cpu(0) and a.ctx == mx.cpu()
    assert str(a.context) == "cpu(0)"
    assert mx.nd.zeros((2,), ctx=mx.cpu(0)).context == mx.cpu(0)
    with mx.cpu(0):
        assert mx.nd.arange(3).context == mx.cpu(0)


@pytest.mark.parametrize("shape", [(2, 3), (3, 1), (2, 3, 4), (1, 2, 3, 2)])
def test_T_reverses_axes(shape):
    x = data(shape, "float32")
    assert_nd(mx.nd.array(x).T, x.T, "float32")


@pytest.mark.parametrize("shape", [(), (4,)])
def test_T_of_0d_and_1d_is_unchanged(shape):
    x = data(shape, "float32")
    assert_nd(mx.nd.array(x).T, x, "float32")


# ---- conversion ---------------------------------------------------------------------------------
def test_asnumpy_returns_an_independent_copy():
    a = mx.nd.array([1, 2, 3])
    n = a.asnumpy()
    assert isinstance(n, np.ndarray) and n.dtype == np.float32
    n[0] = 50
    a[1] = 7
    np.testing.assert_array_equal(a.asnumpy(), [1, 7, 3])
    np.testing.assert_array_equal(n, [50, 2, 3])


@pytest.mark.parametrize("dtype,value", [("float32", 2.5), ("float64", -1.25), ("float16", 0.5), ("int32", -3),
                                         ("int64", 2 ** 40), ("uint8", 255), ("int8", -128), ("bool", True)])
def test_asscalar(dtype, value):
    s = mx.nd.array([value], dtype=dtype).asscalar()
    assert isinstance(s, np.dtype(dtype).type)
    assert s == value
    assert mx.nd.array([[value]], dtype=dtype).asscalar() == value   # any shape of size 1


def test_array_protocol():
    a = mx.nd.array([[1, 2], [3, 4]], dtype="int32")
    n = np.asarray(a)
    assert isinstance(n, np.ndarray) and n.dtype == np.int32
    np.testing.assert_array_equal(n, [[1, 2], [3, 4]])
    assert np.asarray(a, dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(np.array(a) * 2, [[2, 4], [6, 8]])
    assert a.tolist() == [[1, 2], [3, 4]]


ASTYPE_CASES = [
    # values, from, to, expected
    ([1.7, -1.7, 0.0, 2.5], "float32", "int32", [1, -1, 0, 2]),        # truncation toward zero
    ([1.7, -1.7, 0.0, 2.5], "float64", "int8", [1, -1, 0, 2]),
    ([0.0, -0.5, 3.0, 0.0], "float32", "bool", [0, 1, 1, 0]),          # nonzero -> True
    ([1, 0, 1], "bool", "float32", [1, 0, 1]),
    ([1, 0, 1], "bool", "int64", [1, 0, 1]),
    ([0.1, 1 / 3, 1e5], "float64", "float32", np.float32([0.1, 1 / 3, 1e5])),
    ([0.1, 1 / 3, 1000], "float32", "float16", np.float16(np.float32([0.1, 1 / 3, 1000]))),
    ([0.099976, 65504], "float16", "float64", np.float16([0.099976, 65504])),
    ([250, 3, 0], "uint8", "int32", [250, 3, 0]),
    ([-128, 127], "int8", "int64", [-128, 127]),
    ([2 ** 40 + 1, -5], "int64", "float64", [2 ** 40 + 1, -5]),
    ([100000, -7], "int32", "float16", [np.inf, -7]),                 # overflows to inf, as numpy
    ([5, 6], "int32", "int32", [5, 6]),
]


@pytest.mark.parametrize("values,src,dst,expected", ASTYPE_CASES)
def test_astype(values, src, dst, expected):
    a = mx.nd.array(np.array(values).astype(src), dtype=src)
    b = a.astype(dst)
    assert b is not a
    g = b.asnumpy()
    assert g.dtype == np.dtype(dst)
    np.testing.assert_array_equal(g, np.asarray(expected).astype(dst))


def test_astype_copy_false_same_dtype_returns_self():
    a = mx.nd.ones((2,))
    assert a.astype("float32", copy=False) is a
    assert a.astype(np.float32) is not a
    assert a.astype("int32", copy=False).dtype is np.int32


def test_copy_is_independent():
    a = mx.nd.array([[1, 2], [3, 4]], dtype="int64")
    b = a.copy()
    assert b is not a and b.dtype is np.int64
    b[:] = 0
    a[0, 0] = 9
    assert_nd(a, [[9, 2], [3, 4]], "int64")
    assert_nd(b, [[0, 0], [0, 0]], "int64")


@pytest.mark.parametrize("dst_dtype", ["float32", "float64", "int32", "float16"])
def test_copyto_ndarray(dst_dtype):
    a = mx.nd.array([[1.5, -2], [3, 4]])
    dst = mx.nd.zeros((2, 2), dtype=dst_dtype)
    r = a.copyto(dst)
    assert r is dst
    assert_nd(dst, np.array([[1.5, -2], [3, 4]]).astype(dst_dtype), dst_dtype)
    a[:] = 0  # dst holds a copy
    assert_nd(dst, np.array([[1.5, -2], [3, 4]]).astype(dst_dtype), dst_dtype)


def test_copyto_context_and_as_in_context():
    a = mx.nd.array([1, 2, 3], dtype="int8")
    b = a.copyto(mx.cpu(0))
    assert b is not a and b.context == mx.cpu(0)
    b[:] = 0
    assert_nd(a, [1, 2, 3], "int8")
    assert a.as_in_context(mx.cpu(0)) is a


# ---- reshape --------------------------------------------------------------------------------------
RESHAPE_CASES = [
    # src shape, target, reverse, expected shape  (MXNet's special values)
    ((2, 3, 4), (6, 4), False, (6, 4)),
    ((2, 3, 4), (24,), False, (24,)),
    ((2, 3, 4), (-1,), False, (24,)),
    ((2, 3, 4), (4, -1), False, (4, 6)),
    ((2, 3, 4), (0, -1), False, (2, 12)),
    ((2, 3, 4), (0, 0, 2, 2), False, (2, 3, 2, 2)),
    ((2, 3, 4), (-2,), False, (2, 3, 4)),
    ((2, 3, 4), (2, -2), False, (2, 3, 4)),
    ((2, 3, 4), (-3, 4), False, (6, 4)),
    ((2, 3, 4), (0, -3), False, (2, 12)),
    ((2, 3, 4), (-4, 1, 2, -2), False, (1, 2, 3, 4)),
    ((2, 3, 4), (-4, -1, 1, -2), False, (2, 1, 3, 4)),
    ((2, 3, 4), (0, 0, -4, 2, -1), False, (2, 3, 2, 2)),
    ((2, 3, 4), (-1, 0), True, (6, 4)),       # MXNet doc: (10,5,4), (-1,0), reverse -> (50,4)
    ((2, 3, 4), (-1, 0), False, (8, 3)),
    ((2, 3, 4), (0, -1), True, (3, 8)),       # right to left: 0 copies the 3, -1 takes the rest
    ((6,), (2, 3), False, (2, 3)),
    ((1,), (), False, ()),
    ((), (1, 1), False, (1, 1)),
    ((0, 3), (-1,), False, (0,)),
    ((0, 3), (0, 1, 3), False, (0, 1, 3)),
]


@pytest.mark.parametrize("src,target,reverse,expected", RESHAPE_CASES)
def test_reshape_special_values(src, target, reverse, expected):
    x = data(src, "float32")
    b = mx.nd.array(x).reshape(target, reverse=reverse)
    assert b.shape == expected
    assert_nd(b, x.reshape(expected), "float32")


def test_reshape_argument_forms():
    a = mx.nd.arange(6)
    assert a.reshape(2, 3).shape == (2, 3)
    assert a.reshape((3, 2)).shape == (3, 2)
    assert a.reshape([1, 6]).shape == (1, 6)
    assert a.reshape(shape=(6, 1)).shape == (6, 1)
    assert a.reshape(-1, 2).shape == (3, 2)


def test_reshape_is_a_view_both_ways():
    a = mx.nd.arange(12).reshape((3, 4))
    b = a.reshape((2, 6))
    b[0] = -1                        # write through the view
    b[1, 5] = 99
    assert_nd(a, [[-1, -1, -1, -1], [-1, -1, 6, 7], [8, 9, 10, 99]], "float32")
    a[:] = 5                         # write the original, read the view
    a += 1
    assert_nd(b, np.full((2, 6), 6), "float32")
    c = b.reshape(-1)                # a view of a view
    mx.nd.exp(mx.nd.zeros((12,)), out=c)
    assert_nd(a, np.ones((3, 4)), "float32")


def test_reshape_of_a_slice_view_keeps_its_offset():
    a = mx.nd.arange(12).reshape((4, 3))
    v = a[1:3].reshape((6,))
    assert_nd(v, np.arange(3, 9), "float32")
    v[:] = 0
    assert_nd(a, [[0, 1, 2], [0, 0, 0], [0, 0, 0], [9, 10, 11]], "float32")


def test_view_keeps_storage_alive():
    v = mx.nd.arange(10)[2:5].reshape((3, 1))
    import gc
    gc.collect()
    assert_nd(v, [[2], [3], [4]], "float32")


# ---- arithmetic: array op array -------------------------------------------------------------------
def _trunc_div(a, b):
    safe = np.where(b == 0, 1, b)
    return np.where(b == 0, 0, np.trunc(a / safe))


def _py_mod(a, b):
    safe = np.where(b == 0, 1, b)
    return np.where(b == 0, 0, np.mod(a, safe))


# name: (operator on NDArrays, mx.nd function, reference on float64 for floats, reference for ints)
BINARY_OPS = {
    "add": (operator.add, "broadcast_add", np.add, np.add),
    "sub": (operator.sub, "broadcast_sub", np.subtract, np.subtract),
    "mul": (operator.mul, "broadcast_mul", np.multiply, np.multiply),
    "div": (operator.truediv, "broadcast_div", np.divide, _trunc_div),
    "mod": (operator.mod, "broadcast_mod", _py_mod, _py_mod),
    "pow": (operator.pow, "broadcast_power", np.power, np.power),
    "eq": (operator.eq, "broadcast_equal", np.equal, np.equal),
    "ne": (operator.ne, "broadcast_not_equal", np.not_equal, np.not_equal),
    "lt": (operator.lt, "broadcast_lesser", np.less, np.less),
    "le": (operator.le, "broadcast_lesser_equal", np.less_equal, np.less_equal),
    "gt": (operator.gt, "broadcast_greater", np.greater, np.greater),
    "ge": (operator.ge, "broadcast_greater_equal", np.greater_equal, np.greater_equal),
    "max": (None, "broadcast_maximum", np.maximum, np.maximum),
    "min": (None, "broadcast_minimum", np.minimum, np.minimum),
    "and": (None, "broadcast_logical_and", np.logical_and, np.logical_and),
    "or": (None, "broadcast_logical_or", np.logical_or, np.logical_or),
    "xor": (None, "broadcast_logical_xor", np.logical_xor, np.logical_xor),
}
# operand ranges per op (floats; ints use whole numbers in the same range)
DOMAINS = {
    "div": ((-3, 3), (0.5, 2.0)),    # rhs magnitude; a random sign is applied
    "mod": ((-8, 8), (0.5, 3.0)),
    "pow": ((0.5, 2.0), (-2.0, 2.0)),
    "eq": ((-2, 3), (-2, 3)), "ne": ((-2, 3), (-2, 3)), "lt": ((-2, 3), (-2, 3)), "le": ((-2, 3), (-2, 3)),
    "gt": ((-2, 3), (-2, 3)), "ge": ((-2, 3), (-2, 3)), "and": ((-1, 2), (-1, 2)), "or": ((-1, 2), (-1, 2)),
    "xor": ((-1, 2), (-1, 2)),
}
INT_DOMAINS = {"div": ((-20, 20), (-5, 6)), "mod": ((-20, 20), (-5, 6)), "pow": ((0, 5), (0, 4)),
               "mul": ((-9, 10), (-9, 10))}
UINT8_DOMAINS = {"sub": ((10, 20), (0, 10)), "div": ((0, 50), (0, 6)), "mod": ((0, 50), (0, 6)),
                 "pow": ((0, 4), (0, 4)), "mul": ((0, 15), (0, 15))}

BINARY_CASES = [
    # op, lhs shape, rhs shape, dtype
    ("add", (3, 4), (3, 4), "float32"),
    ("add", (3, 1), (1, 4), "float32"),
    ("add", (2, 3, 4), (4,), "float64"),
    ("add", (2, 3, 4), (3, 1), "float16"),
    ("add", (5,), (), "float32"),
    ("add", (), (2, 2), "int32"),
    ("add", (2, 1, 3), (4, 1), "int64"),
    ("add", (4, 5), (4, 5), "int8"),
    ("add", (4, 5), (1, 5), "uint8"),
    ("add", (0, 3), (1, 3), "float32"),
    ("add", (2, 0, 3), (3,), "int32"),
    ("add", (1, 1, 1), (2, 3, 4), "float32"),
    ("add", (7, 1, 5, 1), (1, 6, 1, 3), "float32"),
    ("add", (1000,), (1000,), "float32"),
    ("add", (64, 129), (129,), "float32"),
    ("add", (300, 1000), (1000,), "float32"),        # large enough to run on several threads
    ("mul", (1000, 1), (1, 300), "float64"),
    ("sub", (7, 50, 1, 33), (1, 50, 20, 1), "float32"),
    ("add", (2, 3, 4, 5, 6), (3, 1, 5, 1), "int32"),
    ("sub", (3, 4), (3, 4), "float32"),
    ("sub", (3, 1), (1, 4), "float16"),
    ("sub", (2, 3, 4), (4,), "int32"),
    ("sub", (4,), (2, 4), "uint8"),
    ("sub", (5, 2), (5, 1), "int8"),
    ("mul", (3, 4), (3, 4), "float64"),
    ("mul", (2, 3, 4), (2, 1, 4), "float32"),
    ("mul", (3, 1), (1, 4), "float16"),
    ("mul", (6,), (6,), "int64"),
    ("mul", (3, 3), (3,), "uint8"),
    ("div", (3, 4), (3, 4), "float32"),
    ("div", (3, 1), (1, 4), "float64"),
    ("div", (2, 3, 4), (4,), "float16"),
    ("div", (4, 6), (4, 6), "int32"),      # truncates; x / 0 == 0
    ("div", (4, 6), (6,), "int64"),
    ("div", (3, 5), (3, 5), "int8"),
    ("div", (3, 5), (1, 5), "uint8"),
    ("mod", (3, 4), (3, 4), "float32"),    # sign of the divisor
    ("mod", (3, 1), (1, 4), "float64"),
    ("mod", (2, 3, 4), (4,), "float16"),
    ("mod", (4, 6), (4, 6), "int32"),      # x % 0 == 0
    ("mod", (4, 6), (1, 6), "int64"),
    ("mod", (3, 5), (3, 5), "int8"),
    ("mod", (3, 5), (3, 5), "uint8"),
    ("pow", (3, 4), (3, 4), "float32"),
    ("pow", (3, 1), (1, 4), "float64"),
    ("pow", (2, 3), (3,), "float16"),
    ("pow", (3, 4), (3, 4), "int32"),
    ("pow", (3, 4), (4,), "uint8"),
    ("eq", (4, 5), (4, 5), "float32"),
    ("eq", (4, 1), (1, 5), "int32"),
    ("ne", (4, 5), (5,), "float16"),
    ("ne", (4, 5), (4, 5), "int64"),
    ("lt", (4, 5), (4, 5), "float32"),
    ("lt", (3, 1, 2), (4, 1), "float64"),
    ("le", (4, 5), (4, 1), "int8"),
    ("le", (4, 5), (4, 5), "float32"),
    ("gt", (4, 5), (4, 5), "uint8"),
    ("gt", (2, 3), (), "float32"),
    ("ge", (4, 5), (1, 5), "float16"),
    ("ge", (4, 5), (4, 5), "int32"),
    ("max", (3, 4), (3, 4), "float32"),
    ("max", (3, 1), (1, 4), "int32"),
    ("min", (2, 3, 4), (4,), "float64"),
    ("min", (3, 4), (3, 4), "int8"),
    ("and", (3, 4), (3, 4), "float32"),
    ("or", (3, 1), (1, 4), "int32"),
    ("xor", (3, 4), (4,), "float32"),
]


def _binary_operands(op, ls, rs, dtype):
    kind = np.dtype(dtype).kind
    if kind == "u":
        (la, lb), (ra, rb) = UINT8_DOMAINS.get(op, ((0, 10), (0, 10)))
    elif kind == "i":
        (la, lb), (ra, rb) = INT_DOMAINS.get(op, ((-9, 10), (-9, 10)))
    else:
        (la, lb), (ra, rb) = DOMAINS.get(op, ((-3, 3), (-3, 3)))
    lhs = data(ls, dtype, la, lb, seed=1)
    rhs = data(rs, dtype, ra, rb, seed=2)
    if kind == "f" and op in ("div", "mod"):
        sign = np.where(data(rs, "int32", 0, 2, seed=3) == 0, -1, 1)
        rhs = (rhs * sign).astype(dtype)
    if kind == "f" and op == "mod":  # exact in every float dtype
        lhs = (np.round(lhs.astype(np.float64) * 4) / 4).astype(dtype)
        rhs = (np.round(rhs.astype(np.float64) * 2) / 2).astype(dtype)
    if kind == "f" and op in DOMAINS and op not in ("div", "mod", "pow"):  # comparisons: whole numbers, ties
        lhs, rhs = np.floor(lhs).astype(dtype), np.floor(rhs).astype(dtype)
    return lhs, rhs


def _binary_expected(op, lhs, rhs, dtype):
    _, _, fref, iref = BINARY_OPS[op]
    ref = fref if np.dtype(dtype).kind == "f" else iref
    return ref(lhs.astype(np.float64), rhs.astype(np.float64)).astype(np.float64)


@pytest.mark.parametrize("op,ls,rs,dtype", BINARY_CASES)
def test_binary(op, ls, rs, dtype):
    lhs, rhs = _binary_operands(op, ls, rs, dtype)
    expected = _binary_expected(op, lhs, rhs, dtype)
    pyop, fname, _, _ = BINARY_OPS[op]
    a, b = mx.nd.array(lhs, dtype=dtype), mx.nd.array(rhs, dtype=dtype)
    assert_nd(getattr(mx.nd, fname)(a, b), expected, dtype)
    if pyop is not None:
        assert_nd(pyop(a, b), expected, dtype)
        assert_nd(pyop(a, rhs), expected, dtype)  # numpy operand on the right


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "lt"])
def test_numpy_array_on_the_left_gives_ndarray(op):
    lhs, rhs = _binary_operands(op, (3, 4), (4,), "float32")
    r = BINARY_OPS[op][0](lhs, mx.nd.array(rhs))
    assert isinstance(r, mx.nd.NDArray)
    assert_nd(r, _binary_expected(op, lhs, rhs, "float32"), "float32")


@pytest.mark.parametrize("fname,ref", [("elemwise_add", np.add), ("elemwise_sub", np.subtract),
                                       ("elemwise_mul", np.multiply), ("elemwise_div", np.divide)])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_elemwise_binary(fname, ref, dtype):
    x, y = data((4, 5), dtype, seed=4), data((4, 5), dtype, 0.5, 2, seed=5)
    assert_nd(getattr(mx.nd, fname)(mx.nd.array(x, dtype=dtype), mx.nd.array(y, dtype=dtype)),
              ref(x.astype(np.float64), y.astype(np.float64)), dtype)


def test_comparisons_return_input_dtype_ones_and_zeros():
    a = mx.nd.array([1, 2, 3], dtype="float64")
    r = a == mx.nd.array([1, 0, 3], dtype="float64")
    assert r.dtype is np.float64
    assert r.asnumpy().tolist() == [1.0, 0.0, 1.0]
    assert (a > 1).dtype is np.float64
    assert (mx.nd.array([1, 2], dtype="int8") != 2).asnumpy().tolist() == [1, 0]


# ---- arithmetic with scalars ------------------------------------------------------------------------
SCALAR_CASES = [
    # id, f (same expression on an NDArray and on a float64 numpy array), dtype, domain
    ("add", lambda x: x + 2.5, "float32", (-3, 3)),
    ("radd", lambda x: 2.5 + x, "float16", (-3, 3)),
    ("sub", lambda x: x - 1.5, "float64", (-3, 3)),
    ("rsub", lambda x: 2 - x, "float32", (-3, 3)),
    ("rsub_f16", lambda x: 2 - x, "float16", (-3, 3)),
    ("mul", lambda x: x * -3, "float32", (-3, 3)),
    ("rmul", lambda x: 0.5 * x, "float64", (-3, 3)),
    ("div", lambda x: x / 4, "float32", (-3, 3)),
    ("div_f16", lambda x: x / 3, "float16", (-3, 3)),
    ("rdiv", lambda x: 1 / x, "float32", (0.5, 3)),
    ("rdiv_neg", lambda x: -2 / x, "float64", (-3, -0.5)),
    ("mod", lambda x: x % 1.5, "float32", (-5, 5)),
    ("mod_neg_divisor", lambda x: x % -2, "float64", (-5, 5)),
    ("rmod", lambda x: 5 % x, "float32", (0.5, 3)),
    ("rmod_neg", lambda x: -5 % x, "float64", (0.5, 3)),
    ("pow", lambda x: x ** 2, "float32", (-3, 3)),
    ("pow_half", lambda x: x ** 0.5, "float64", (0, 4)),
    ("pow_f16", lambda x: x ** 3, "float16", (-2, 2)),
    ("rpow", lambda x: 2 ** x, "float32", (-3, 3)),
    ("rpow_f16", lambda x: 2 ** x, "float16", (-3, 3)),
    ("neg", lambda x: -x, "float32", (-3, 3)),
    ("abs", lambda x: abs(x), "float16", (-3, 3)),
    ("chain", lambda x: (x * 2 + 1) / 3 - x, "float64", (-3, 3)),
    ("eq", lambda x: x == 1, "float32", None),
    ("ne", lambda x: x != 1, "float32", None),
    ("lt", lambda x: x < 0.5, "float64", None),
    ("le", lambda x: x <= 0, "float16", None),
    ("gt", lambda x: x > -1, "float32", None),
    ("ge", lambda x: x >= 1, "float32", None),
    ("reflected_lt", lambda x: 0 < x, "float32", None),
    ("zero_size", lambda x: x * 2 + 1, "float32", (-1, 1)),
]


@pytest.mark.parametrize("f,dtype,domain", [c[1:] for c in SCALAR_CASES], ids=[c[0] for c in SCALAR_CASES])
@pytest.mark.parametrize("shape", [(7,), (3, 4)])
def test_scalar_ops(f, dtype, domain, shape):
    if domain is None:  # comparisons: small whole numbers so that ties happen
        x = np.floor(data(shape, np.float64, -2, 3)).astype(dtype)
    else:
        x = data(shape, dtype, *domain)
    expected = np.asarray(f(x.astype(np.float64))).astype(np.float64)
    assert_nd(f(mx.nd.array(x, dtype=dtype)), expected, dtype)


def test_scalar_ops_on_zero_size_array():
    z = mx.nd.zeros((0, 3))
    for r in [z + 1, 2 - z, z * 3, z / 2, z % 2, z ** 2, -z, z == 0, mx.nd.exp(z)]:
        assert r.shape == (0, 3) and r.asnumpy().shape == (0, 3)


INT_SCALAR_CASES = [
    # id, values, dtype, f, expected
    ("div_truncates", [7, -7, 0, 3], "int32", lambda x: x / 2, [3, -3, 0, 1]),
    ("div_by_zero", [7, -7, 0, 3], "int64", lambda x: x / 0, [0, 0, 0, 0]),
    ("rdiv", [7, -7, 0, 3], "int32", lambda x: 7 / x, [1, -1, 0, 2]),
    ("mod", [7, -7, 0, 5], "int32", lambda x: x % 3, [1, 2, 0, 2]),
    ("mod_neg_divisor", [7, -7, 0, 5], "int64", lambda x: x % -3, [-2, -1, 0, -1]),
    ("mod_by_zero", [7, -7, 0, 3], "int32", lambda x: x % 0, [0, 0, 0, 0]),
    ("rmod", [3, -3, 0, 4], "int32", lambda x: 7 % x, [1, -2, 0, 3]),
    ("mod_int8", [7, -7, 0, 5], "int8", lambda x: x % 3, [1, 2, 0, 2]),
    ("mod_uint8", [7, 200, 0, 5], "uint8", lambda x: x % 3, [1, 2, 0, 2]),
    ("div_uint8_by_zero", [7, 200, 0, 5], "uint8", lambda x: x / 0, [0, 0, 0, 0]),
    ("scalar_cast_to_dtype", [1, 2, 3], "int32", lambda x: x + 2.7, [3, 4, 5]),
    ("mul", [1, -2, 3], "int8", lambda x: x * -4, [-4, 8, -12]),
    ("rsub", [1, 2, 3], "uint8", lambda x: 10 - x, [9, 8, 7]),
    ("pow", [1, 2, 3], "int32", lambda x: x ** 2, [1, 4, 9]),
    ("rpow", [0, 2, 10], "int64", lambda x: 2 ** x, [1, 4, 1024]),
    ("neg", [1, -2, 0], "int32", lambda x: -x, [-1, 2, 0]),
    ("abs", [1, -2, 0], "int64", lambda x: abs(x), [1, 2, 0]),
    ("eq", [1, 2, 3], "int32", lambda x: x == 2, [0, 1, 0]),
    ("ge", [1, 2, 3], "int64", lambda x: x >= 2, [0, 1, 1]),
    ("lt_uint8", [1, 2, 3], "uint8", lambda x: x < 3, [1, 1, 0]),
]


@pytest.mark.parametrize("values,dtype,f,expected", [c[1:] for c in INT_SCALAR_CASES],
                         ids=[c[0] for c in INT_SCALAR_CASES])
def test_integer_scalar_ops(values, dtype, f, expected):
    assert_nd(f(mx.nd.array(values, dtype=dtype)), expected, dtype)


def test_integer_division_by_zero_arrays_never_crash():
    for dtype in ["int8", "uint8", "int32", "int64"]:
        a = mx.nd.array([5, 0, 1], dtype=dtype)
        z = mx.nd.zeros((3,), dtype=dtype)
        assert_nd(a / z, [0, 0, 0], dtype)
        assert_nd(a % z, [0, 0, 0], dtype)
    m = mx.nd.array([-128, 5], dtype="int8")
    assert_nd(m / mx.nd.array([-1, -1], dtype="int8"), [-128, -5], "int8")  # INT_MIN / -1 wraps, no trap
    assert_nd(m % mx.nd.array([-1, -1], dtype="int8"), [0, 0], "int8")


# ---- in-place operators -----------------------------------------------------------------------------
INPLACE_CASES = [
    # op, rhs (scalar, numpy array or a shape for an NDArray operand), reference
    (operator.iadd, 2.5, np.add),
    (operator.iadd, (3, 4), np.add),
    (operator.iadd, (4,), np.add),          # broadcast into the left operand's shape
    (operator.isub, 1.0, np.subtract),
    (operator.isub, (3, 1), np.subtract),
    (operator.imul, -2.0, np.multiply),
    (operator.imul, (1, 4), np.multiply),
    (operator.itruediv, 4.0, np.divide),
    (operator.itruediv, (3, 4), np.divide),
    (operator.imod, 1.5, np.mod),
    (operator.iadd, np.arange(4.0), np.add),
]


@pytest.mark.parametrize("op,rhs,ref", INPLACE_CASES)
def test_inplace_ops_update_the_same_object(op, rhs, ref):
    x = data((3, 4), "float32", 1, 5)
    if isinstance(rhs, tuple):
        r = data(rhs, "float32", 1, 3, seed=7)
        rhs_nd = mx.nd.array(r)
    else:
        r = rhs
        rhs_nd = rhs
    a = mx.nd.array(x)
    flat = a.reshape(-1)            # a view taken before: sees the update only if it is in place
    before = a
    a = op(a, rhs_nd)
    assert a is before
    expected = ref(x.astype(np.float64), np.asarray(r, dtype=np.float64))
    assert_nd(a, expected, "float32")
    assert_nd(flat, expected.reshape(-1), "float32")


def test_inplace_op_does_not_change_results_computed_before():
    a = mx.nd.ones((500, 1000))
    b = a * 2
    c = a[3:5] + 0
    a += 100
    a *= 3
    assert_nd(b, np.full((500, 1000), 2), "float32")
    assert_nd(c, np.ones((2, 1000)), "float32")
    assert_nd(a, np.full((500, 1000), 303), "float32")


def test_inplace_on_a_row_view_changes_the_parent():
    a = mx.nd.zeros((3, 2), dtype="int32")
    row = a[1]
    row += 5
    row *= 2
    assert_nd(a, [[0, 0], [10, 10], [0, 0]], "int32")


# ---- unary ops (generated functions) ----------------------------------------------------------------
UNARY_CASES = [
    # op, reference, domain
    ("negative", np.negative, (-3, 3)),
    ("abs", np.abs, (-3, 3)),
    ("sign", np.sign, (-3, 3)),
    ("square", np.square, (-3, 3)),
    ("exp", np.exp, (-3, 3)),
    ("expm1", np.expm1, (-1, 1)),
    ("log", np.log, (0.1, 5)),
    ("log1p", np.log1p, (-0.5, 3)),
    ("sqrt", np.sqrt, (0, 9)),
    ("rsqrt", lambda v: 1 / np.sqrt(v), (0.1, 9)),
    ("reciprocal", np.reciprocal, (0.2, 4)),
    ("sin", np.sin, (-3, 3)),
    ("cos", np.cos, (-3, 3)),
    ("tanh", np.tanh, (-3, 3)),
    ("sigmoid", lambda v: 1 / (1 + np.exp(-v)), (-5, 5)),
    ("relu", lambda v: np.maximum(v, 0), (-3, 3)),
    ("softsign", lambda v: v / (1 + np.abs(v)), (-3, 3)),
    ("floor", np.floor, (-3, 3)),
    ("ceil", np.ceil, (-3, 3)),
    ("round", lambda v: np.sign(v) * np.floor(np.abs(v) + 0.5), (-3, 3)),  # halves away from zero
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op,ref,domain", UNARY_CASES)
def test_unary(op, ref, domain, dtype):
    x = data((4, 5), dtype, *domain, seed=11)
    assert_nd(getattr(mx.nd, op)(mx.nd.array(x, dtype=dtype)), ref(x.astype(np.float64)), dtype)


def test_round_halves_away_from_zero():
    assert_nd(mx.nd.round(mx.nd.array([0.5, 1.5, 2.5, -0.5, -2.5])), [1, 2, 3, -1, -3], "float32")


@pytest.mark.parametrize("op,values,expected", [("abs", [-3, 0, 4], [3, 0, 4]), ("negative", [-3, 0, 4], [3, 0, -4]),
                                                ("square", [-3, 0, 4], [9, 0, 16]), ("sign", [-3, 0, 4], [-1, 0, 1])])
@pytest.mark.parametrize("dtype", ["int8", "int32", "int64"])
def test_unary_integer(op, values, expected, dtype):
    assert_nd(getattr(mx.nd, op)(mx.nd.array(values, dtype=dtype)), expected, dtype)


# ---- generated op functions: signature, doc, attributes, out= ----------------------------------------
def test_every_registered_op_is_a_documented_function():
    names = mx.nd.list_ops()
    assert {"broadcast_add", "exp", "slice", "Cast", "transpose", "_plus_scalar", "zeros_like"} <= set(names)
    for name in names:
        fn = getattr(mx.nd, name)
        assert callable(fn), name
        sig = inspect.signature(fn)
        assert "out" in sig.parameters, name
        assert fn.__doc__ and "Parameters" in fn.__doc__, name


SIGNATURE_CASES = [
    ("broadcast_add", ["lhs", "rhs", "out", "name"]),
    ("exp", ["data", "out", "name"]),
    ("slice", ["data", "begin", "end", "step", "out", "name"]),
    ("Cast", ["data", "dtype", "out", "name"]),
    ("transpose", ["data", "axes", "out", "name"]),
    ("_plus_scalar", ["data", "scalar", "is_int", "out", "name"]),
    ("_random_uniform", ["low", "high", "shape", "ctx", "dtype", "out", "name"]),
]


@pytest.mark.parametrize("name,params", SIGNATURE_CASES)
def test_op_signature_and_doc(name, params):
    fn = getattr(mx.nd, name)
    sig = inspect.signature(fn)
    assert list(sig.parameters) == params
    assert fn.__name__ == name
    for p in params:
        if p not in ("out", "name"):
            assert p in fn.__doc__, (name, p)


def test_op_doc_describes_attribute_types():
    doc = mx.nd.slice.__doc__
    assert "data[begin:end:step]" in doc
    assert "begin : Shape(tuple), required" in doc
    assert "step : Shape(tuple), optional" in doc
    assert "dtype : {" in mx.nd.Cast.__doc__ and "'float16'" in mx.nd.Cast.__doc__


SLICE_OP_CASES = [
    # shape, begin, end, step, numpy key
    ((3, 4), (1,), (3,), None, np.s_[1:3]),
    ((3, 4), (1, None), (3, None), (1, -1), np.s_[1:3, ::-1]),
    ((3, 4), (None, 1), (None, 4), (None, 2), np.s_[:, 1:4:2]),
    ((3, 4, 5), (-2, 0, -1), (None, 4, 0), (1, 3, -2), np.s_[-2:, 0:4:3, -1:0:-2]),
    ((6,), (10,), (20,), None, np.s_[10:20]),
    ((6,), (None,), (None,), (-1,), np.s_[::-1]),
    ((2, 3), (), (), None, np.s_[...]),
]


@pytest.mark.parametrize("shape,begin,end,step,key", SLICE_OP_CASES)
def test_slice_op(shape, begin, end, step, key):
    x = data(shape, "float32")
    kw = {"begin": begin, "end": end}
    if step is not None:
        kw["step"] = step
    assert_nd(mx.nd.slice(mx.nd.array(x), **kw), x[key], "float32")


@pytest.mark.parametrize("shape,axes", [((2, 3), None), ((2, 3), (1, 0)), ((2, 3, 4), (1, 0, 2)),
                                        ((2, 3, 4), (2, 0, 1)), ((2, 3, 4), (-1, 0, 1)), ((2, 3, 4, 5), None)])
@pytest.mark.parametrize("dtype", ["float32", "int64", "float16"])
def test_transpose_op(shape, axes, dtype):
    x = data(shape, dtype, seed=3)
    a = mx.nd.array(x, dtype=dtype)
    r = mx.nd.transpose(a, axes=axes) if axes else mx.nd.transpose(a)
    assert_nd(r, np.transpose(x, axes).astype(np.float64), dtype)


@pytest.mark.parametrize("dtype", ["float16", np.int8, np.dtype("float64"), "bool"])
def test_cast_op(dtype):
    x = np.array([0.0, 1.75, -2.25, 3.0], dtype=np.float32)
    for fn in (mx.nd.Cast, mx.nd.cast):
        r = fn(mx.nd.array(x), dtype=dtype)
        assert r.dtype is np.dtype(dtype).type
        np.testing.assert_array_equal(r.asnumpy(), x.astype(dtype))


def test_scalar_op_functions():
    a = mx.nd.array([[1, 2], [3, 4]])
    assert_nd(mx.nd._plus_scalar(a, scalar=2), [[3, 4], [5, 6]], "float32")
    assert_nd(mx.nd._rminus_scalar(a, scalar=1), [[0, -1], [-2, -3]], "float32")
    assert_nd(mx.nd._maximum_scalar(a, scalar=2.5), [[2.5, 2.5], [3, 4]], "float32")
    assert_nd(mx.nd._minimum_scalar(data=a, scalar=2), [[1, 2], [2, 2]], "float32")


def test_op_out_writes_into_the_given_array():
    a = mx.nd.array([[0, 1], [2, 3]])
    o = mx.nd.zeros((2, 2))
    r = mx.nd.exp(a, out=o)
    assert r is o
    assert_nd(o, np.exp([[0, 1], [2, 3]]), "float32")
    big = mx.nd.zeros((3, 2))
    mx.nd.broadcast_add(a[0], mx.nd.ones((2,)), out=big[2])   # into a row view
    assert_nd(big, [[0, 0], [0, 0], [1, 2]], "float32")
    same = mx.nd.array([1, 2, 3])
    mx.nd.square(same, out=same)                                 # in place
    assert_nd(same, [1, 4, 9], "float32")
    z = mx.nd.ones((2, 3), dtype="int32")
    assert mx.nd.zeros_like(z, out=z) is z
    assert_nd(z, np.zeros((2, 3)), "int32")


# ---- repr -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make,expected", [
    (lambda: mx.nd.array([[1, 2, 3], [4, 5, 6]]), "\n[[1. 2. 3.]\n [4. 5. 6.]]\n<NDArray 2x3 @cpu(0)>"),
    (lambda: mx.nd.array([1, 2], dtype="int32"), "\n[1 2]\n<NDArray 2 @cpu(0)>"),
    (lambda: mx.nd.zeros((2, 1, 2)), "\n[[[0. 0.]]\n\n [[0. 0.]]]\n<NDArray 2x1x2 @cpu(0)>"),
    (lambda: mx.nd.zeros((0, 3)), "\n[]\n<NDArray 0x3 @cpu(0)>"),
])
def test_repr(make, expected):
    assert repr(make()) == expected


# ---- python protocol --------------------------------------------------------------------------------
def test_len_iter_bool():
    a = mx.nd.array([[1, 2], [3, 4], [5, 6]])
    assert len(a) == 3
    assert [r.asnumpy().tolist() for r in a] == [[1, 2], [3, 4], [5, 6]]
    assert bool(mx.nd.array([2])) is True and bool(mx.nd.array([0])) is False
    with pytest.raises(ValueError, match="ambiguous"):
        bool(a)
    with pytest.raises(TypeError, match="0-d"):
        len(mx.nd.zeros(()))


# ---- random -----------------------------------------------------------------------------------------
def test_seed_reproducible():
    def draw():
        return [mx.nd.random.uniform(-1, 3, shape=(50,)).asnumpy(),
                mx.nd.random.normal(2, 0.5, shape=(5, 10)).asnumpy(),
                mx.nd.random.randint(0, 100, shape=(20,)).asnumpy(),
                mx.nd.random.uniform(shape=(50,)).asnumpy()]
    mx.random.seed(42)
    first = draw()
    mx.random.seed(42)
    second = draw()
    for x, y in zip(first, second):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(first[0][:50], first[3])       # the stream advances
    mx.random.seed(43)
    assert not np.array_equal(mx.nd.random.uniform(-1, 3, shape=(50,)).asnumpy(), first[0])
    mx.nd.random.seed(42)                                      # mx.nd.random.seed is the same seed
    np.testing.assert_array_equal(mx.nd.random.uniform(-1, 3, shape=(50,)).asnumpy(), first[0])


@pytest.mark.parametrize("dtype", [None, "float64", "float16"])
def test_uniform_distribution(dtype):
    mx.random.seed(0)
    a = mx.nd.random.uniform(-1, 3, shape=(100, 100), dtype=dtype)
    assert a.shape == (100, 100) and a.dtype is np.dtype(dtype or "float32").type
    x = a.asnumpy().astype(np.float64)
    assert x.min() >= -1 and x.max() <= 3
    assert abs(x.mean() - 1.0) < 0.05                         # std of the mean: 0.012
    assert abs(x.std() - 4 / np.sqrt(12)) < 0.03
    assert x.min() < -0.95 and x.max() > 2.95


@pytest.mark.parametrize("dtype", [None, "float64"])
def test_normal_distribution(dtype):
    mx.random.seed(1)
    a = mx.nd.random.normal(2, 0.5, shape=(20000,), dtype=dtype)
    assert a.dtype is np.dtype(dtype or "float32").type
    x = a.asnumpy().astype(np.float64)
    assert abs(x.mean() - 2) < 0.02                           # std of the mean: 0.0035
    assert abs(x.std() - 0.5) < 0.02
    assert abs(np.mean(np.abs(x - 2) < 0.5) - 0.6827) < 0.02  # one-sigma mass


@pytest.mark.parametrize("low,high,dtype", [(-3, 5, None), (0, 2, "int64"), (10, 11, "int32"), (0, 256, "uint8"),
                                            (-2, 3, "float32")])
def test_randint(low, high, dtype):
    mx.random.seed(2)
    a = mx.nd.random.randint(low, high, shape=(8000,), dtype=dtype)
    assert a.dtype is np.dtype(dtype or "int32").type
    x = a.asnumpy().astype(np.int64)
    assert x.min() >= low and x.max() < high
    counts = np.bincount(x - low, minlength=high - low)
    assert counts.min() > 0.6 * 8000 / (high - low)          # every value shows up about equally


def test_random_functions_in_nd_namespace_and_out():
    mx.random.seed(3)
    a = mx.nd.uniform(low=0, high=1, shape=(2, 3))
    assert a.shape == (2, 3)
    o = mx.nd.zeros((4, 4))
    r = mx.nd.random.normal(0, 1, shape=(4, 4), out=o)
    assert r is o and np.abs(o.asnumpy()).sum() > 0
    assert mx.nd.random.uniform(shape=5).shape == (5,)
    assert mx.nd.random.uniform(shape=(0, 3)).asnumpy().shape == (0, 3)


def _run_isolated(code):
    """Runs code in a fresh interpreter (errors raised by random ops poison the process' random state)."""
    p = subprocess.run([sys.executable, "-c", "import axle as mx\n" + code], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout


@pytest.mark.parametrize("call,match", [
    ("mx.nd.random.randint(5, 2, shape=(3,))", r"_random_randint.*low \(5\) must be less than high \(2\)"),
    ("mx.nd.random.uniform(2, 1, shape=(3,))", r"_random_uniform.*low \(2\) must be less than high \(1\)"),
    ("mx.nd.random.normal(0, -1, shape=(3,))", r"_random_normal.*scale must be >= 0"),
], ids=["randint", "uniform", "normal"])
def test_random_invalid_arguments_raise_value_error(call, match):
    out = _run_isolated(
        "try:\n"
        f"    {call}.asnumpy()\n"
        "    print('no error')\n"
        "except ValueError as e:\n"
        "    print(e)\n")
    assert re.search(match, out), out


def test_random_usable_after_a_failed_random_op():
    out = _run_isolated(
        "try:\n"
        "    mx.nd.random.normal(0, -1, shape=(3,)).asnumpy()\n"
        "except ValueError:\n"
        "    pass\n"
        "mx.nd.waitall()\n"
        "mx.random.seed(0)\n"
        "print(mx.nd.random.uniform(0, 1, shape=(3,)).asnumpy().shape)\n")
    assert out.strip() == "(3,)"


# ---- errors -----------------------------------------------------------------------------------------
_a23 = lambda: mx.nd.ones((2, 3))  # noqa: E731

ERROR_CASES = [
    # id, call, exception type, message pattern
    ("bcast_add", lambda: _a23() + mx.nd.ones((4,)), ValueError, r"broadcast_add.*\(2,3\).*\(4,\)"),
    ("bcast_sub", lambda: _a23() - mx.nd.ones((3, 2)), ValueError, r"broadcast_sub.*\(2,3\).*\(3,2\)"),
    ("bcast_mul_numpy", lambda: _a23() * np.ones((2, 2)), ValueError, r"broadcast_mul.*\(2,3\).*\(2,2\)"),
    ("bcast_eq", lambda: _a23() == mx.nd.ones((5, 3)), ValueError, r"broadcast_equal.*\(2,3\).*\(5,3\)"),
    ("bcast_fn", lambda: mx.nd.broadcast_div(_a23(), mx.nd.ones((2,))), ValueError,
     r"broadcast_div.*\(2,3\).*\(2,\)"),
    ("bcast_zero_size", lambda: mx.nd.zeros((0, 3)) + _a23(), ValueError, r"broadcast_add.*\(0,3\).*\(2,3\)"),
    ("iadd_grows", lambda: operator.iadd(_a23(), mx.nd.ones((4, 2, 3))), ValueError,
     r"broadcast_add.*\(2,3\).*\(4,2,3\)"),
    ("elemwise", lambda: mx.nd.elemwise_add(_a23(), mx.nd.ones((3,))), ValueError, r"elemwise_add.*\(3,\).*\(2,3\)"),
    ("out_shape", lambda: mx.nd.exp(_a23(), out=mx.nd.zeros((3, 2))), ValueError, r"exp.*\(3,2\).*\(2,3\)"),
    ("reshape_size", lambda: _a23().reshape((4, 2)), ValueError, r"reshape.*\(2,3\).*\(4,2\)"),
    ("reshape_two_minus1", lambda: _a23().reshape((-1, -1)), ValueError, r"reshape.*only one dimension can be -1"),
    ("reshape_not_divisible", lambda: _a23().reshape((4, -1)), ValueError, r"reshape.*not divisible"),
    ("reshape_zero_past_end", lambda: _a23().reshape((0, 0, 0)), ValueError, r"reshape.*0 refers past"),
    ("reshape_split", lambda: _a23().reshape((-4, 1, 1, 3)), ValueError, r"reshape.*cannot split 2 into 1 x 1"),
    ("reshape_bad_code", lambda: _a23().reshape((-5,)), ValueError, r"reshape.*invalid dimension -5"),
    ("reshape_kwarg", lambda: _a23().reshape((6,), foo=1), TypeError, r"reshape.*foo"),
    ("copyto_shape", lambda: _a23().copyto(mx.nd.zeros((3, 2))), ValueError, r"copyto.*\(2, 3\).*\(3, 2\)"),
    ("copyto_type", lambda: _a23().copyto(np.zeros((2, 3))), TypeError, r"copyto.*ndarray"),
    ("asscalar", lambda: _a23().asscalar(), ValueError, r"not a scalar.*\(2, 3\)"),
    ("dtype_mix", lambda: _a23() + mx.nd.ones((3,), dtype="int32"), TypeError, r"broadcast_add.*int32.*float32"),
    ("out_dtype", lambda: mx.nd.exp(_a23(), out=mx.nd.zeros((2, 3), dtype="float64")), TypeError,
     r"exp.*float64.*float32"),
    ("dtype_zeros", lambda: mx.nd.zeros((2,), dtype=np.complex64), TypeError, "unsupported dtype complex64"),
    ("dtype_ones", lambda: mx.nd.ones((2,), dtype="uint16"), TypeError, "unsupported dtype uint16"),
    ("dtype_full", lambda: mx.nd.full((2,), 1, dtype="complex128"), TypeError, "unsupported dtype complex128"),
    ("dtype_empty", lambda: mx.nd.empty((2,), dtype="int16"), TypeError, "unsupported dtype int16"),
    ("dtype_array", lambda: mx.nd.array([1, 2], dtype=np.uint32), TypeError, "unsupported dtype uint32"),
    ("dtype_arange", lambda: mx.nd.arange(3, dtype="complex64"), TypeError, "unsupported dtype complex64"),
    ("dtype_astype", lambda: _a23().astype("complex64"), TypeError, "unsupported dtype complex64"),
    ("dtype_unknown_name", lambda: mx.nd.zeros((2,), dtype="foo"), TypeError, "foo"),
    ("dtype_cast_fn", lambda: mx.nd.Cast(_a23(), dtype=np.uint16), TypeError, "unsupported dtype uint16"),
    ("unknown_attr", lambda: mx.nd._plus_scalar(_a23(), scalar=1, foo=2), ValueError,
     r"_plus_scalar: unknown attribute 'foo'"),
    ("unknown_attr_none", lambda: mx.nd.exp(_a23(), bar=None), ValueError, r"exp: unknown attribute 'bar'"),
    ("missing_attr", lambda: mx.nd.slice(_a23()), ValueError, r"slice: required attribute 'begin' is missing"),
    ("bad_attr_tuple", lambda: mx.nd.slice(_a23(), begin="x", end=(1,)), ValueError,
     r"slice: invalid value for attribute 'begin'.*'x'"),
    ("bad_attr_axes", lambda: mx.nd.transpose(_a23(), axes="abc"), ValueError, r"transpose.*attribute 'axes'"),
    ("bad_attr_scalar", lambda: mx.nd._plus_scalar(_a23(), scalar="two"), ValueError,
     r"_plus_scalar.*attribute 'scalar'.*'two'"),
    ("bad_attr_dtype_name", lambda: mx.nd.Cast(_a23(), dtype="complex64"), ValueError, r"Cast.*attribute 'dtype'"),
    ("arange_step0", lambda: mx.nd.arange(0, 3, 0), ValueError, r"_arange.*step"),
    ("arange_repeat0", lambda: mx.nd.arange(0, 3, repeat=0), ValueError, r"_arange.*repeat"),
    ("negative_dim", lambda: mx.nd.zeros((2, -1)), ValueError, r"_zeros.*negative dimension"),
    ("negative_dim_empty", lambda: mx.nd.empty((2, -3)), ValueError, "negative dimension"),
    ("transpose_axes", lambda: mx.nd.transpose(_a23(), axes=(0, 0)), IndexError, r"transpose.*not a permutation"),
    ("transpose_len", lambda: mx.nd.transpose(_a23(), axes=(0, 1, 2)), ValueError, r"transpose.*axes"),
    ("op_input_type", lambda: mx.nd.broadcast_add(_a23(), 1), TypeError, r"broadcast_add: input 1 must be an NDArray"),
    ("op_input_count", lambda: mx.nd.broadcast_add(_a23()), ValueError, r"broadcast_add: expected 2 input"),
    ("operand_type", lambda: _a23() + "x", TypeError, "unsupported operand"),
    ("operand_list", lambda: _a23() + [1, 2, 3], TypeError, "unsupported operand"),
]


@pytest.mark.parametrize("call,exc,match", [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_errors_are_axle_errors_and_leave_operands_intact():
    a = mx.nd.array([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(mx.base.MXNetError):
        a + mx.nd.ones((4,))
    with pytest.raises(ValueError):
        a += mx.nd.ones((4, 2, 3))
    assert_nd(a, [[1, 2, 3], [4, 5, 6]], "float32")


def test_enum_attribute_error_lists_choices_in_braces():
    with pytest.raises(ValueError, match=r"expected one of \{'float32'.*'bool'\}, got 'complex64'"):
        mx.nd.Cast(mx.nd.ones((2,)), dtype="complex64")


def test_reshape_error_echoes_the_requested_shape():
    with pytest.raises(ValueError, match=r"\(2,3\) to \(-1,-1\)"):
        mx.nd.ones((2, 3)).reshape((-1, -1))


# ---- devices ----------------------------------------------------------------------------------------
def test_num_gpus():
    n = mx.context.num_gpus()
    assert isinstance(n, int) and n >= 0
    assert mx.num_gpus() == n


def _zeros_in_gpu_scope():
    with mx.gpu(0):
        return mx.nd.zeros((2,))


GPU_CALLS = [
    ("ones", lambda: mx.nd.ones((2,), ctx=mx.gpu(0))),
    ("zeros", lambda: mx.nd.zeros((2,), ctx=mx.gpu(0))),
    ("empty", lambda: mx.nd.empty((2,), ctx=mx.gpu(0))),
    ("array", lambda: mx.nd.array([1, 2], ctx=mx.gpu(0))),
    ("arange", lambda: mx.nd.arange(3, ctx=mx.gpu(0))),
    ("uniform", lambda: mx.nd.random.uniform(shape=(2,), ctx=mx.gpu(0))),
    ("copyto", lambda: mx.nd.ones((2,)).copyto(mx.gpu(0))),
    ("as_in_context", lambda: mx.nd.ones((2,)).as_in_context(mx.gpu(0))),
    ("with_context", _zeros_in_gpu_scope),
]


@pytest.mark.skipif(mx.context.num_gpus() > 0, reason="a GPU is present")
@pytest.mark.parametrize("call", [c[1] for c in GPU_CALLS], ids=[c[0] for c in GPU_CALLS])
def test_gpu_without_gpu_raises_clear_error(call):
    with pytest.raises(RuntimeError, match=r"gpu\(0\)"):
        call()
    assert mx.context.num_gpus() == 0
    assert mx.nd.ones((1,)).context == mx.cpu(0)


def test_binary_helper_functions_take_arrays_or_numbers():
    a = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]], dtype=np.float32)
    b = np.array([2.0, 0.5, -1.0], dtype=np.float32)
    x, y = mx.nd.array(a), mx.nd.array(b)
    cases = [("add", np.add), ("subtract", np.subtract), ("multiply", np.multiply), ("divide", np.divide),
             ("power", np.power), ("maximum", np.maximum), ("minimum", np.minimum), ("equal", np.equal),
             ("not_equal", np.not_equal), ("greater", np.greater), ("greater_equal", np.greater_equal),
             ("lesser", np.less), ("lesser_equal", np.less_equal), ("modulo", np.mod)]
    for name, ref in cases:
        fn = getattr(mx.nd, name)
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        np.testing.assert_allclose(fn(x, y).asnumpy(), ref(a64, b64), rtol=1e-5, err_msg=name)
        np.testing.assert_allclose(fn(x, 1.5).asnumpy(), ref(a64, 1.5), rtol=1e-5, err_msg=name)
        if name != "modulo":  # MXNet's rmod follows the divisor's sign like numpy; covered in its own test
            np.testing.assert_allclose(fn(1.5, x).asnumpy(), ref(1.5, a64), rtol=1e-5, err_msg=name)
        assert fn(2, 3) == ref(2, 3)
    np.testing.assert_array_equal(mx.nd.negative(x).asnumpy(), -a)
    with pytest.raises(TypeError, match="expected NDArrays or numbers"):
        mx.nd.maximum(x, "2")


def test_attributes_given_positionally_after_inputs():
    x = mx.nd.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])
    np.testing.assert_array_equal(mx.nd.clip(x, -1, 1).asnumpy(), np.clip(x.asnumpy(), -1, 1))
    assert mx.nd.slice_axis(x, 1, 0, 2).shape == (2, 2)
    with pytest.raises(TypeError, match="multiple values for 'a_min'"):
        mx.nd.clip(x, -1, 1, a_min=0)
    s = mx.sym.clip(mx.sym.Variable("v"), 0, 2)
    assert s.attr("a_min") == "0" and s.attr("a_max") == "2"


def test_op_attributes_of_equal_values_and_other_types_stay_apart():
    # the encoded attributes are cached by (name, type, value): 1, 1.0 and True differ
    x = mx.nd.array(np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(mx.nd.sum(x, axis=1).asnumpy(), [3, 12])
    np.testing.assert_array_equal(mx.nd.sum(x, axis=0).asnumpy(), [3, 5, 7])
    assert mx.nd.sum(x, axis=1, keepdims=True).shape == (2, 1)
    assert mx.nd.sum(x, axis=1, keepdims=False).shape == (2,)
    np.testing.assert_array_equal((x * 1).asnumpy(), (x * 1.0).asnumpy())
    np.testing.assert_array_equal(mx.nd.clip(x, a_min=[1][0], a_max=4.5).asnumpy(), np.clip(x.asnumpy(), 1, 4.5))
