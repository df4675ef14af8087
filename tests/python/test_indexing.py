"""NDArray indexing and slicing (MXNet 1.x basic indexing): reads, writes, views and errors.

Every read and write is checked against numpy doing the same thing on a copy of the data;
values are exact (indexing never computes).
"""
import numpy as np
import pytest

import axle as mx

DTYPES = ["float32", "int32", "float16", "int64", "uint8"]


def base(shape=(3, 4, 5), dtype="float32"):
    n = np.arange(int(np.prod(shape))).reshape(shape).astype(dtype)
    return n, mx.nd.array(n, dtype=dtype)


def mx_read(expected):
    """What MXNet 1.x returns for a read numpy answers with a 0-d array: shape (1,)."""
    return expected.reshape(1) if expected.ndim == 0 else expected


def assert_same(got, expected):
    assert isinstance(got, mx.nd.NDArray), type(got)
    g = got.asnumpy()
    assert g.dtype == expected.dtype, (g.dtype, expected.dtype)
    assert g.shape == expected.shape, (g.shape, expected.shape)
    np.testing.assert_array_equal(g, expected)


# ---- reads ------------------------------------------------------------------------------------------
S = np.s_
GET_KEYS = [
    # keys on an array of shape (3, 4, 5)
    S[0], S[2], S[-1], S[-3], S[np.int64(1)],
    S[1:3], S[:2], S[-2:], S[1:3:1], S[:], S[5:10], S[2:1], S[-10:10],
    S[::2], S[::-1], S[2:0:-1], S[-1::-2], S[::-3], S[10:-10:-1],
    S[1, 2], S[1, 2, 3], S[-1, -1, -1], S[np.int32(2), 1],
    S[1, 1:3], S[:, 2], S[:, :, 4], S[:, 1:3, ::2], S[::-1, 3:0:-2, 4],
    S[1:2, :, -3:-1], S[..., 1], S[1, ...], S[1, ..., 2], S[..., ::-1], S[...], S[()],
    S[:, ::-1, 1:4], S[0, ::-1], S[:, -1, ::-2],
]


@pytest.mark.parametrize("dtype", ["float32", "int64"])
@pytest.mark.parametrize("key", GET_KEYS, ids=[repr(k) for k in GET_KEYS])
def test_getitem(key, dtype):
    n, a = base(dtype=dtype)
    assert_same(a[key], mx_read(n[key]))


@pytest.mark.parametrize("dtype", DTYPES + ["float64", "int8", "bool"])
def test_getitem_every_dtype(dtype):
    n = (np.arange(24).reshape(4, 6) % 7).astype(dtype)
    a = mx.nd.array(n, dtype=dtype)
    for key in [S[1], S[1:3], S[::-2, 1], S[2, 3], S[..., 1:5:2]]:
        assert_same(a[key], mx_read(n[key]))


@pytest.mark.parametrize("shape,key", [((5,), S[3]), ((5,), S[-1]), ((5,), S[1:4]), ((5,), S[::-2]),
                                       ((1,), S[0]), ((2, 1), S[:, 0]), ((0, 3), S[:, 1]), ((0, 3), S[0:0]),
                                       ((4, 0), S[1]), ((2, 3), S[1:1, ::-1])])
def test_getitem_small_and_zero_size(shape, key):
    n, a = base(shape)
    assert_same(a[key], mx_read(n[key]))


def test_integer_index_of_1d_gives_the_element():
    a = mx.nd.array([10, 20, 30], dtype="int32")
    assert a[1].asscalar() == 20 and a[-1].asscalar() == 30
    assert a[1].shape == (1,)  # as MXNet 1.x, which has no 0-d arrays


def test_iteration_yields_rows():
    n, a = base((3, 2, 2))
    rows = list(a)
    assert len(rows) == 3
    for r, e in zip(rows, n):
        assert_same(r, e)


# ---- views ------------------------------------------------------------------------------------------
def test_slice_on_axis0_is_a_view():
    n, a = base((5, 3))
    v = a[1:3]
    v[:] = -1                                    # write the view
    n[1:3] = -1
    assert_same(a, n)
    a[2] = 7                                     # write the parent, read the view
    assert_same(v, np.array([[-1, -1, -1], [7, 7, 7]], dtype=np.float32))
    v += 1
    n[1:3] = [[0, 0, 0], [8, 8, 8]]
    assert_same(a, n)


def test_integer_index_is_a_view():
    n, a = base((3, 4), "int32")
    row = a[1]
    row[:] = 0
    row[2] = 9
    n[1] = [0, 0, 9, 0]
    assert_same(a, n)
    a[1, 0] = 5                                  # via the parent
    assert_same(row, np.array([5, 0, 9, 0], dtype=np.int32))
    a[-1][1] = 42                                # chained: a[-1] is a view, [1] writes into it
    n[1, 0] = 5
    n[-1, 1] = 42
    assert_same(a, n)


def test_views_of_views():
    n, a = base((6, 4))
    v = a[1:5][1:3][1]                           # row 3
    v[:] = -5
    n[3] = -5
    assert_same(a, n)
    w = a[2][1:3]                                # part of row 2
    w[:] = np.array([100, 200])
    n[2, 1:3] = [100, 200]
    assert_same(a, n)


def test_negative_and_open_slices_on_axis0_are_views():
    n, a = base((5, 2))
    for key in [S[-2:], S[:3], S[1:], S[1:4:1], S[:]]:
        v = a[key]
        v[:] = v + 100
        n[key] = n[key] + 100
    assert_same(a, n)


def test_op_output_into_a_view():
    n, a = base((3, 4))
    mx.nd.exp(mx.nd.zeros((2, 4)), out=a[1:3])
    n[1:3] = 1
    assert_same(a, n)


def test_stepped_slice_read_is_a_copy():
    n, a = base((6,))
    c = a[::2]
    c[:] = -1
    assert_same(a, n)                            # unchanged
    assert_same(c, np.full((3,), -1, dtype=np.float32))


def test_view_sees_writes_queued_before_it_is_read():
    a = mx.nd.zeros((4, 1000))
    v = a[2:4]
    for i in range(5):
        a += 1
        v *= 2
    e = np.zeros((4, 1000), np.float32)
    for i in range(5):
        e += 1
        e[2:4] *= 2
    assert_same(a, e)
    assert_same(v, e[2:4])


# ---- writes -----------------------------------------------------------------------------------------
SET_KEYS = [
    S[0], S[-1], S[1:3], S[:], S[...], S[::2], S[::-1], S[2:0:-1], S[5:9], S[2:1],
    S[1, 2], S[-1, -1, -1], S[1, 1:3], S[:, 2], S[:, :, 4], S[:, 1:3, ::2], S[..., 1], S[1, ..., 2],
    S[::-1, 3:0:-2, 4], S[:, :, ::-1], S[1:2, :, -3:-1], S[np.int64(2), np.int32(0)],
]
VALUE_KINDS = ["int", "float", "np_scalar", "numpy", "ndarray", "numpy_bcast", "ndarray_bcast", "list"]


def _value(kind, shape, dtype):
    """A value of a kind for a region of `shape`, and what numpy assigns for it."""
    size = int(np.prod(shape))
    full = (-np.arange(size).reshape(shape) - 1).astype(dtype) if dtype != "uint8" else \
        (np.arange(size).reshape(shape) % 200 + 50).astype(dtype)
    last = full[(0,) * (len(shape) - 1)] if size else full   # a trailing row: broadcasts along the leading axes
    if kind == "int":
        return 7, 7
    if kind == "float":
        return 2.0, 2.0
    if kind == "np_scalar":
        return np.float32(3), np.float32(3)
    if kind == "numpy":
        return full, full
    if kind == "ndarray":
        return mx.nd.array(full, dtype=dtype), full
    if kind == "numpy_bcast":
        return last, last
    if kind == "ndarray_bcast":
        return mx.nd.array(last, dtype=dtype), last
    return full.tolist(), full


@pytest.mark.parametrize("kind", VALUE_KINDS)
@pytest.mark.parametrize("key", SET_KEYS, ids=[repr(k) for k in SET_KEYS])
def test_setitem(key, kind):
    n, a = base()
    if kind == "list" and n[key].size == 0:
        pytest.skip("numpy's own leniency: [] (shape (0,)) assigned to an empty region of another rank")
    value, nvalue = _value(kind, n[key].shape, "float32")
    a[key] = value
    n[key] = nvalue
    assert_same(a, n)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("key", [S[1], S[:, 1:3], S[::-1, 2, ::2], S[...]], ids=["int", "slices", "mixed", "all"])
@pytest.mark.parametrize("kind", ["int", "numpy", "ndarray", "ndarray_bcast"])
def test_setitem_dtypes(key, kind, dtype):
    n, a = base(dtype=dtype)
    value, nvalue = _value(kind, n[key].shape, dtype)
    a[key] = value
    n[key] = nvalue
    assert_same(a, n)


CONVERT_CASES = [
    # target dtype, key, value, expected row 0 after the write
    ("int32", S[0], 2.7, [2, 2, 2]),                                  # scalars truncate toward zero
    ("int32", S[0], -2.7, [-2, -2, -2]),
    ("int32", S[0, 1:], 5.9, [0, 5, 5]),
    ("int32", S[0], np.array([1.9, -1.9, 3.5]), [1, -1, 3]),
    ("int32", S[0], mx.nd.array([1.9, -1.9, 3.5]), [1, -1, 3]),        # float32 NDArray into int32
    ("int64", S[0, ::2], mx.nd.array([4.5, 6.5], dtype="float64"), [4, 0, 6]),
    ("float32", S[0], mx.nd.array([1, 2, 3], dtype="int8"), [1, 2, 3]),
    ("float16", S[0], 0.1, [np.float16(0.1)] * 3),
    ("uint8", S[0], 255, [255, 255, 255]),
    ("bool", S[0, 1], 3, [0, 1, 0]),
]


@pytest.mark.parametrize("dtype,key,value,expected", CONVERT_CASES)
def test_setitem_converts_to_the_array_dtype(dtype, key, value, expected):
    a = mx.nd.zeros((2, 3), dtype=dtype)
    a[key] = value
    assert a.dtype is np.dtype(dtype).type
    np.testing.assert_array_equal(a.asnumpy()[0], np.asarray(expected).astype(dtype))
    np.testing.assert_array_equal(a.asnumpy()[1], np.zeros(3, dtype))


@pytest.mark.parametrize("key", [S[::-3, 5:250:7, ::2], S[10:190, ::-1, 3], S[..., ::-1], S[150]],
                         ids=["steps", "int_last", "ellipsis", "row"])
def test_large_read_and_write(key):
    n, a = base((200, 300, 7))
    assert_same(a[key], n[key])
    a[key] = -a[key]
    n[key] = -n[key]
    assert_same(a, n)


def test_setitem_whole_array_from_itself_and_own_views():
    n, a = base((4, 3))
    a[:] = a
    assert_same(a, n)
    a[:] = a[:]
    assert_same(a, n)
    a[:] = a[::-1]                               # a[::-1] is a copy, so this is well defined
    assert_same(a, n[::-1].copy())


def test_setitem_from_an_overlapping_view():
    # numpy's answer (MXNet 1.9.1 itself gives all zeros here: it reads what it already wrote)
    n, a = base((6,))
    a[1:] = a[:-1]
    n[1:] = n[:-1].copy()
    assert_same(a, n)


def test_whole_view_assignment_from_an_overlapping_view():
    # b[:] = view takes the direct copy path; the views overlap, so it must read a copy
    for fwd in (True, False):
        n, a = base((7,))
        dst, src = (a[1:], a[:-1]) if fwd else (a[:-1], a[1:])
        dst[:] = src
        if fwd:
            n[1:] = n[:-1].copy()
        else:
            n[:-1] = n[1:].copy()
        assert_same(a, n)


def test_whole_array_assignment_of_another_dtype_or_shape_takes_the_general_path():
    a = mx.nd.zeros((2, 3))
    a[:] = mx.nd.array(np.arange(3, dtype=np.float64).reshape(1, 1, 3), dtype=np.float64)  # broadcast, cast
    np.testing.assert_array_equal(a.asnumpy(), np.tile(np.arange(3, dtype=np.float32), (2, 1)))
    with pytest.raises(Exception, match=r"\(4,\)"):
        a[:] = mx.nd.ones((4,))


def test_inplace_op_from_an_overlapping_view():
    n, a = base((6,))
    b = a[1:]
    b += a[:-1]
    n[1:] += n[:-1].copy()
    assert_same(a, n)


LEADING_ONES_CASES = [
    # key on (3, 4, 5), shape of a value with extra leading size-1 axes (numpy and MXNet drop them)
    (S[0], (1, 4, 5)),
    (S[0], (1, 1, 4, 5)),
    (S[0, :], (1, 4, 5)),
    (S[0, 1], (1, 5)),
    (S[0, 1], (1, 1, 5)),
    (S[0, :, 1], (1, 4)),
    (S[:], (1, 3, 4, 5)),
    (S[0:2], (1, 2, 4, 5)),
    (S[:, 1], (1, 1, 5)),                        # also broadcasts over axis 0
]


@pytest.mark.parametrize("as_ndarray", [True, False], ids=["ndarray", "numpy"])
@pytest.mark.parametrize("key,vshape", LEADING_ONES_CASES)
def test_setitem_value_with_leading_size1_axes(key, vshape, as_ndarray):
    n, a = base()
    v = (np.arange(int(np.prod(vshape))).reshape(vshape) + 100).astype(np.float32)
    a[key] = mx.nd.array(v) if as_ndarray else v
    n[key] = v
    assert_same(a, n)


def test_setitem_zero_size():
    z = mx.nd.zeros((0, 3))
    z[:] = 5
    z[:, 1] = np.zeros((0,))
    assert z.asnumpy().shape == (0, 3)
    n, a = base((3, 2))
    a[2:2] = 9                                   # empty region: nothing changes
    a[1:1] = mx.nd.ones((0, 2))
    assert_same(a, n)


def test_setitem_0d():
    a = mx.nd.zeros(())
    a[()] = 4
    assert a.asscalar() == 4
    a[...] = mx.nd.full((), 6)
    assert a.asscalar() == 6


# ---- errors -----------------------------------------------------------------------------------------
def _set(a, key, value):
    a[key] = value


def both(*patterns):
    """A regex matching a message that contains every pattern, in any order."""
    return "".join(f"(?=.*{p})" for p in patterns)


_a = lambda: mx.nd.zeros((3, 4))  # noqa: E731

INDEX_ERROR_CASES = [
    # id, call, exception type, message pattern
    ("get_int_high", lambda: _a()[3], IndexError, r"index 3 is out of bounds for axis 0 with size 3"),
    ("get_int_low", lambda: _a()[-4], IndexError, r"index -4 is out of bounds for axis 0 with size 3"),
    ("get_axis1", lambda: _a()[0, 4], IndexError, r"index 4 is out of bounds for axis 1 with size 4"),
    ("get_axis1_neg", lambda: _a()[1:, -5], IndexError, r"index -5 is out of bounds for axis 1"),
    ("get_too_many", lambda: _a()[0, 0, 0], IndexError, r"too many indices"),
    ("get_0d", lambda: mx.nd.zeros(())[0], IndexError, r"0-d"),
    ("get_step0", lambda: _a()[::0], ValueError, r"step cannot be zero"),
    ("get_step0_axis1", lambda: _a()[:, 1:3:0], ValueError, r"step cannot be zero"),
    ("get_float", lambda: _a()[1.0], TypeError, r"indices must be integers or slices, got float"),
    ("get_str", lambda: _a()["a"], TypeError, r"indices must be integers or slices, got str"),
    ("get_bool", lambda: _a()[True], TypeError, r"indices must be integers or slices, got bool"),
    ("set_int_high", lambda: _set(_a(), 3, 1.0), IndexError, r"index 3 is out of bounds for axis 0 with size 3"),
    ("set_axis1", lambda: _set(_a(), (1, 9), 1.0), IndexError, r"index 9 is out of bounds for axis 1 with size 4"),
    ("set_too_many", lambda: _set(_a(), (0, 0, 0), 1.0), IndexError, r"too many indices"),
    ("set_step0", lambda: _set(_a(), (slice(None, None, 0),), 1.0), ValueError, r"step cannot be zero"),
    ("set_float", lambda: _set(_a(), (0, 1.5), 1.0), TypeError, r"indices must be integers or slices"),
    ("set_row_nd_shape", lambda: _set(_a(), 0, mx.nd.ones((3,))), ValueError, both(r"\(4,\)", r"\(3,\)")),
    ("set_all_nd_shape", lambda: _set(_a(), slice(None), mx.nd.ones((2, 4))), ValueError,
     both(r"\(3,4\)", r"\(2,4\)")),
    ("set_region_nd_shape", lambda: _set(_a(), slice(0, 2), mx.nd.ones((3, 4))), ValueError,
     "_slice_assign" + both(r"\(2,4\)", r"\(3,4\)")),
    ("set_region_np_shape", lambda: _set(_a(), (slice(None), slice(1, 3)), np.ones((3, 3))), ValueError,
     "_slice_assign" + both(r"\(3,3\)", r"\(3,2\)")),
    ("set_all_np_shape", lambda: _set(_a(), slice(None), np.ones((2, 4))), ValueError, r"broadcast"),
    ("set_elem_nd_shape", lambda: _set(_a(), (0, 1), mx.nd.ones((2,))), ValueError,
     r"_slice_assign: value of shape \(2,\) cannot be assigned to a region of shape \(\)"),
    ("set_row_extra_axis", lambda: _set(_a(), (0, slice(None)), np.ones((2, 4))), ValueError,
     r"_slice_assign.*\(2, 4\).*\(4,\)"),
]


@pytest.mark.parametrize("call,exc,match", [c[1:] for c in INDEX_ERROR_CASES], ids=[c[0] for c in INDEX_ERROR_CASES])
def test_indexing_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_failed_write_leaves_the_array_unchanged():
    n, a = base((3, 4))
    for key, value in [(0, mx.nd.ones((3,))), (slice(0, 2), mx.nd.ones((3, 4))), ((0, 9), 1.0)]:
        with pytest.raises((ValueError, IndexError)):
            a[key] = value
    assert_same(a, n)
