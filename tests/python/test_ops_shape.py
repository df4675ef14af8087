"""Shape and index ops (MXNet 1.x): Reshape, Flatten, expand_dims, squeeze, Concat, stack,
SliceChannel, slice_axis, take, pick, one_hot, tile, repeat, where, _shuffle, and the gradients of
slice and transpose.

Forward results are checked against numpy references written here, gradients against central
differences (float64), errors by type and message. Expected values marked "MXNet 1.9.1" were
produced by the reference MXNet offline.
"""
import numpy as np
import pytest

import axle as mx
from axle.test_utils import check_numeric_gradient, op_gradient

nd = mx.nd
DTYPES = ["float32", "float64", "float16", "int32", "int64", "uint8", "int8"]


def data(shape, dtype="float32", seed=0):
    rng = np.random.RandomState(seed)
    if np.dtype(dtype).kind == "f":
        return rng.uniform(-5, 5, shape).astype(dtype)
    if dtype == "bool":
        return rng.randint(0, 2, shape).astype(bool)
    lo = 0 if np.dtype(dtype).kind == "u" else -50
    return rng.randint(lo, 50, shape).astype(dtype)


def check(got, expected):
    assert isinstance(got, nd.NDArray), type(got)
    g = got.asnumpy()
    assert g.dtype == expected.dtype, (g.dtype, expected.dtype)
    assert g.shape == expected.shape, (g.shape, expected.shape)
    np.testing.assert_array_equal(g, expected)


def grad_inputs(*shapes, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.uniform(-1, 1, s) for s in shapes]


# ---- Reshape --------------------------------------------------------------------------------------
# (data shape, shape, reverse, expected shape); expected shapes from MXNet 1.9.1
RESHAPE_CASES = [
    ((2, 3, 4), (4, 0, 2), False, (4, 3, 2)),
    ((2, 3, 4), (6, -1), False, (6, 4)),
    ((2, 3, 4), (-1,), False, (24,)),
    ((2, 3, 4), (0, -1), False, (2, 12)),
    ((2, 3, 4), (-2,), False, (2, 3, 4)),
    ((2, 3, 4), (2, -2), False, (2, 3, 4)),
    ((2, 3, 4), (-2, 1, 1), False, (2, 3, 4, 1, 1)),
    ((2, 3, 4), (-3, 4), False, (6, 4)),
    ((2, 3, 4), (2, -3), False, (2, 12)),
    ((2, 3, 4), (-3, -2), False, (6, 4)),
    ((2, 3, 4), (-4, 1, 2, -2), False, (1, 2, 3, 4)),
    ((2, 3, 4), (2, -4, -1, 3, -2), False, (2, 1, 3, 4)),
    ((6, 4), (-4, 2, -1, 0), False, (2, 3, 4)),
    ((10, 5, 4), (-1, 0), True, (50, 4)),
    ((10, 5, 4), (-1, 0), False, (40, 5)),
    ((2, 3, 4), (0, 0, -1), True, (2, 3, 4)),
    ((2, 3, 4, 5), (-3, -3), False, (6, 20)),
    ((2, 3, 4), (0, 1, -1), False, (2, 1, 12)),
    ((24,), (2, -1, 3), False, (2, 4, 3)),
    ((2, 3, 4), (4, -1), True, (4, 6)),
    ((2, 3), (1, 6, 1), False, (1, 6, 1)),
    ((0, 3), (0, 3, 1), False, (0, 3, 1)),     # size 0
    ((0, 3), (-1, 3), False, (0, 3)),
    ((2, 0, 3), (2, -1), False, (2, 0)),
    ((4, 0), (-3,), False, (0,)),
]


@pytest.mark.parametrize("shape,target,reverse,expected", RESHAPE_CASES,
                         ids=[f"{s}->{t}{'-rev' if r else ''}" for s, t, r, _ in RESHAPE_CASES])
def test_reshape(shape, target, reverse, expected):
    x = data(shape)
    check(nd.Reshape(nd.array(x), shape=target, reverse=reverse), x.reshape(expected))


@pytest.mark.parametrize("dtype", DTYPES + ["bool"])
def test_reshape_dtypes_and_alias(dtype):
    x = data((2, 3, 4), dtype)
    check(nd.reshape(nd.array(x, dtype=dtype), shape=(-1, 4)), x.reshape(-1, 4))


# (data shape, target_shape, keep_highest, expected); MXNet 1.9.1 (deprecated form: 0 = infer)
LEGACY_CASES = [((2, 3, 4), (0, 4), False, (6, 4)), ((2, 3, 4), (4, 0), True, (2, 12)),
                ((2, 3, 4), (5, 0, 2), True, (2, 6, 2)), ((6,), (3, 2), False, (3, 2))]


@pytest.mark.parametrize("shape,target,keep,expected", LEGACY_CASES)
def test_reshape_target_shape(shape, target, keep, expected):
    x = data(shape)
    check(nd.Reshape(nd.array(x), target_shape=target, keep_highest=keep), x.reshape(expected))


@pytest.mark.parametrize("shape,target,match", [
    ((2, 3), (4,), r"Reshape: cannot reshape \(2,3\) to \(4,\)"),
    ((2, 3), (-1, -1), r"Reshape: cannot reshape \(2,3\) to \(-1,-1\): only one dimension can be -1"),
    ((2, 3), (4, -1), r"Reshape: cannot reshape \(2,3\) to \(4,-1\)"),
    ((2, 3), (0, 0, 0), r"Reshape: cannot reshape \(2,3\) to \(0,0,0\)"),
    ((2, 3), (-4, 4, -1, 0), r"Reshape: cannot reshape \(2,3\) to \(-4,4,-1,0\)"),
    ((2, 3), (-5,), r"invalid dimension -5"),
])
def test_reshape_errors(shape, target, match):
    with pytest.raises(ValueError, match=match):
        nd.Reshape(nd.ones(shape), shape=target)


def test_reshape_given_output_shape_checked():
    with pytest.raises(ValueError, match=r"Reshape: output 0 has shape \(6,\), expected \(3,2\)|Reshape: output 0"):
        nd.Reshape(nd.ones((2, 3)), shape=(3, 2), out=nd.zeros((6,)))


@pytest.mark.parametrize("shape,target,reverse", [((2, 3, 4), (4, -1), False), ((2, 6), (-4, 1, 2, -2), False),
                                                  ((3, 4, 2), (-1, 0), True)])
def test_reshape_grad(shape, target, reverse):
    check_numeric_gradient("Reshape", grad_inputs(shape), {"shape": target, "reverse": reverse})


# ---- Flatten --------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 3, 4), (3,), (2, 3), (5, 1, 1, 2), (0, 3), (2, 0, 3), (3, 2, 0)])
@pytest.mark.parametrize("dtype", ["float32", "float16", "int64"])
def test_flatten(shape, dtype):
    x = data(shape, dtype)
    expected = x.reshape(shape[0], int(np.prod(shape[1:])))
    check(nd.Flatten(nd.array(x, dtype=dtype)), expected)
    check(nd.flatten(nd.array(x, dtype=dtype)), expected)


def test_flatten_grad():
    check_numeric_gradient("Flatten", grad_inputs((2, 3, 2)))


# ---- expand_dims ----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,axis", [((2, 3), 0), ((2, 3), 1), ((2, 3), 2), ((2, 3), -1), ((2, 3), -3),
                                        ((4,), 0), ((4,), -1), ((0, 2), 1), ((2, 3, 4), -2)])
@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_expand_dims(shape, axis, dtype):
    x = data(shape, dtype)
    check(nd.expand_dims(nd.array(x, dtype=dtype), axis=axis), np.expand_dims(x, axis))


@pytest.mark.parametrize("axis", [3, -4, 10])
def test_expand_dims_axis_out_of_range(axis):
    with pytest.raises(IndexError, match=rf"expand_dims: axis={axis} is out of range for data of shape \(2,3\) "
                                         r"\(valid: -3 to 2\)"):
        nd.expand_dims(nd.ones((2, 3)), axis=axis)


def test_expand_dims_grad():
    check_numeric_gradient("expand_dims", grad_inputs((2, 3)), {"axis": -2})


# ---- squeeze --------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,axis,expected", [
    ((1, 3, 1), None, (3,)), ((1, 3, 1), 0, (3, 1)), ((1, 3, 1), (0, 2), (3,)), ((1, 3, 1), -1, (1, 3)),
    ((1, 3, 1), (), (1, 3, 1)), ((2, 3), None, (2, 3)), ((1, 1), None, (1,)),  # MXNet 1.9.1: never 0-d
    ((1, 1, 1), (0, 1, 2), (1,)), ((1, 0, 1), None, (0,)), ((0, 1), 1, (0,)), ((2, 1, 3, 1), (-3, 3), (2, 3)),
])
@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_squeeze(shape, axis, expected, dtype):
    x = data(shape, dtype)
    check(nd.squeeze(nd.array(x, dtype=dtype), axis=axis), x.reshape(expected))


@pytest.mark.parametrize("axis,exc,match", [
    (1, ValueError, r"squeeze: cannot squeeze axis 1 of data shape \(1,3,1\): its size is 3, not 1"),
    ((0, 0), ValueError, r"squeeze: axis \[0,0\] repeats axis 0"),
    ((0, -3), ValueError, r"squeeze: axis \[0,-3\] repeats axis 0"),
    (3, IndexError, r"squeeze: axis=3 is out of range for data of shape \(1,3,1\)"),
    (-4, IndexError, r"squeeze: axis=-4 is out of range"),
])
def test_squeeze_errors(axis, exc, match):
    with pytest.raises(exc, match=match):
        nd.squeeze(nd.ones((1, 3, 1)), axis=axis)


def test_squeeze_signature():
    info = nd.OpInfo("squeeze")
    assert info.params[0][:2] == ("axis", "Shape or None, optional, default='None'")


def test_squeeze_grad():
    check_numeric_gradient("squeeze", grad_inputs((1, 3, 1, 2)), {"axis": (0, 2)})


# ---- Concat ---------------------------------------------------------------------------------------
CONCAT_CASES = [
    ([(2, 3), (2, 4)], 1), ([(2, 3), (1, 3), (4, 3)], 0), ([(2, 3), (2, 2)], -1), ([(2, 3, 4), (2, 1, 4)], -2),
    ([(2, 3, 4), (2, 3, 1), (2, 3, 2)], 2), ([(5,), (3,)], 0), ([(2, 3)], 1),
    ([(0, 1), (1, 1)], 0),               # MXNet #11635: the size-0 input is fine along dim 0
    ([(2, 0), (2, 3), (2, 0)], 1), ([(0, 3), (0, 3)], 0), ([(0, 2), (0, 3)], 1),
]


@pytest.mark.parametrize("shapes,dim", CONCAT_CASES, ids=[f"{s}-dim{d}" for s, d in CONCAT_CASES])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32", "uint8", "bool"])
def test_concat(shapes, dim, dtype):
    xs = [data(s, dtype, seed=i) for i, s in enumerate(shapes)]
    expected = np.concatenate(xs, axis=dim)
    check(nd.Concat(*[nd.array(x, dtype=dtype) for x in xs], dim=dim), expected)
    check(nd.concat(*[nd.array(x, dtype=dtype) for x in xs], dim=dim), expected)


def test_concat_default_dim_is_1():
    a, b = data((2, 3)), data((2, 2), seed=1)
    check(nd.Concat(nd.array(a), nd.array(b)), np.concatenate([a, b], axis=1))
    check(nd.concatenate([nd.array(a), nd.array(a)]), np.concatenate([a, a], axis=0))


def test_concat_misuse_11635_is_a_clean_value_error():
    # MXNet #11635: concat((0,1), (1,1), dim=1) aborted the Python session
    with pytest.raises(ValueError, match=r"Concat: input 1 has shape \(1,1\) but input 0 has shape \(0,1\): the "
                                         r"shapes must match except on dim 1"):
        nd.concat(nd.zeros((0, 1)), nd.ones((1, 1)), dim=1)
    # and the session goes on
    check(nd.concat(nd.zeros((0, 1)), nd.ones((1, 1)), dim=0), np.ones((1, 1), np.float32))


@pytest.mark.parametrize("shapes,dim,exc,match", [
    ([(2, 3), (3, 3)], 1, ValueError, r"Concat: input 1 has shape \(3,3\) but input 0 has shape \(2,3\): the shapes "
                                      r"must match except on dim 1"),
    ([(2, 3, 4), (2, 3, 4), (2, 5, 5)], 0, ValueError, r"Concat: input 2 has shape \(2,5,5\) but input 0 has shape "
                                                       r"\(2,3,4\)"),
    ([(2, 3), (2, 3, 1)], 0, ValueError, r"Concat: input 1 has shape \(2,3,1\) but input 0 has shape \(2,3\): all "
                                         r"inputs must have the same number of dimensions"),
    ([(2, 3), (2, 3)], 2, IndexError, r"Concat: dim=2 is out of range for inputs of shape \(2,3\) \(valid: -2 to 1\)"),
    ([(2, 3), (2, 3)], -3, IndexError, r"Concat: dim=-3 is out of range"),
    ([(), ()], 0, ValueError, r"Concat: zero-dimensional arrays cannot be concatenated"),
])
def test_concat_errors(shapes, dim, exc, match):
    with pytest.raises(exc, match=match):
        nd.Concat(*[nd.ones(s) for s in shapes], dim=dim)


def test_concat_num_args_and_dtype_errors():
    with pytest.raises(ValueError, match=r"Concat: expected 3 input\(s\), got 2"):
        nd.Concat(nd.ones((2, 2)), nd.ones((2, 2)), num_args=3)
    with pytest.raises(ValueError, match=r"Concat: needs at least one input \(num_args=0\)"):
        nd.Concat(num_args=0)
    with pytest.raises(TypeError, match=r"Concat: dtype of input 'arg1' is float64, expected float32"):
        nd.Concat(nd.ones((2, 2)), nd.ones((2, 2), dtype="float64"))
    with pytest.raises(ValueError, match=r"Concat: output shape \(2,5\) does not match the concatenation \(2,4\) "
                                         r"of the inputs along dim 1"):
        nd.Concat(nd.ones((2, 2)), nd.ones((2, 2)), out=nd.zeros((2, 5)))


@pytest.mark.parametrize("shapes,dim", [([(2, 3), (2, 1), (2, 2)], 1), ([(1, 2, 2), (2, 2, 2)], 0),
                                        ([(2, 2, 1), (2, 2, 3)], -1)])
def test_concat_grad(shapes, dim):
    check_numeric_gradient("Concat", grad_inputs(*shapes), {"dim": dim, "num_args": len(shapes)})


# ---- stack ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,n,axis", [((2, 3), 2, 0), ((2, 3), 3, 1), ((2, 3), 2, 2), ((2, 3), 2, -1),
                                          ((2, 3), 4, -3), ((4,), 1, 0), ((0, 3), 2, 1), ((2, 3), 3, -2)])
@pytest.mark.parametrize("dtype", ["float32", "float16", "int64", "bool"])
def test_stack(shape, n, axis, dtype):
    xs = [data(shape, dtype, seed=i) for i in range(n)]
    check(nd.stack(*[nd.array(x, dtype=dtype) for x in xs], axis=axis), np.stack(xs, axis=axis))


@pytest.mark.parametrize("shapes,axis,exc,match", [
    ([(2, 3), (2, 4)], 0, ValueError, r"stack: input 1 has shape \(2,4\) but input 0 has shape \(2,3\): all inputs "
                                      r"must have the same shape"),
    ([(2, 3), (2, 3, 1)], 0, ValueError, r"stack: input 1 has shape \(2,3,1\) but input 0 has shape \(2,3\)"),
    ([(2, 3), (2, 3)], 3, IndexError, r"stack: axis=3 is out of range for stacking inputs of shape \(2,3\) "
                                      r"\(valid: -3 to 2\)"),
    ([(2, 3), (2, 3)], -4, IndexError, r"stack: axis=-4 is out of range"),
])
def test_stack_errors(shapes, axis, exc, match):
    with pytest.raises(exc, match=match):
        nd.stack(*[nd.ones(s) for s in shapes], axis=axis)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_stack_grad(axis):
    check_numeric_gradient("stack", grad_inputs((2, 3), (2, 3), (2, 3)), {"axis": axis, "num_args": 3})


# ---- SliceChannel / split -------------------------------------------------------------------------
SPLIT_CASES = [((2, 6), 3, 1, False), ((2, 6), 2, -1, False), ((4, 3), 4, 0, True), ((4, 3, 2), 2, 2, True),
               ((6, 2), 3, -2, False), ((2, 3), 1, 1, False), ((2, 0), 2, 1, False), ((0, 4), 2, 1, False),
               ((3, 2, 2), 2, -1, True)]


@pytest.mark.parametrize("shape,n,axis,squeeze", SPLIT_CASES)
@pytest.mark.parametrize("dtype", ["float32", "int32", "float16"])
def test_split(shape, n, axis, squeeze, dtype):
    x = data(shape, dtype)
    parts = np.split(x, n, axis=axis)
    if squeeze:
        parts = [np.squeeze(p, axis=axis) for p in parts]
    outs = nd.SliceChannel(nd.array(x, dtype=dtype), num_outputs=n, axis=axis, squeeze_axis=squeeze)
    outs = outs if isinstance(outs, list) else [outs]
    assert len(outs) == n
    for o, p in zip(outs, parts):
        check(o, p)
    outs2 = nd.split(nd.array(x, dtype=dtype), num_outputs=n, axis=axis, squeeze_axis=squeeze)
    check(outs2[0] if isinstance(outs2, list) else outs2, parts[0])


def test_split_default_axis_is_1():
    x = data((2, 4))
    a, b = nd.split(nd.array(x), num_outputs=2)
    check(a, x[:, :2])
    check(b, x[:, 2:])


@pytest.mark.parametrize("shape,attrs,exc,match", [
    ((2, 5), dict(num_outputs=2, axis=1), ValueError,
     r"SliceChannel: cannot split axis 1 of data shape \(2,5\) into num_outputs=2 equal parts: 2 does not divide 5"),
    ((2, 6), dict(num_outputs=3, axis=1, squeeze_axis=True), ValueError,
     r"SliceChannel: squeeze_axis=True needs the size of axis 1 to equal num_outputs=3 \(data shape \(2,6\)\)"),
    ((2, 6), dict(num_outputs=2, axis=2), IndexError, r"SliceChannel: axis=2 is out of range for data of shape \(2,6\)"),
    ((2, 6), dict(num_outputs=0), ValueError, r"SliceChannel: num_outputs must be >= 1, got 0"),
])
def test_split_errors(shape, attrs, exc, match):
    with pytest.raises(exc, match=match):
        nd.split(nd.ones(shape), **attrs)


@pytest.mark.parametrize("shape,n,axis,squeeze", [((2, 6), 3, 1, False), ((3, 2), 3, 0, True), ((2, 2, 4), 2, -1, False),
                                                  ((2, 3, 2), 2, -1, True)])
def test_split_grad(shape, n, axis, squeeze):
    check_numeric_gradient("SliceChannel", grad_inputs(shape), {"num_outputs": n, "axis": axis, "squeeze_axis": squeeze})


# ---- slice_axis -----------------------------------------------------------------------------------
SLICE_AXIS_CASES = [((3, 4), 0, 1, 3), ((3, 4), 1, 0, 2), ((3, 4), 1, -3, -1), ((3, 4), 1, -2, None),
                    ((3, 4), -1, 1, None), ((2, 3, 4), -2, 0, 1), ((2, 3, 4), 2, 3, 4), ((3, 4), 0, 0, None),
                    ((3, 4), 1, 2, 2), ((0, 4), 0, 0, None), ((3, 0), 1, 0, 0)]


@pytest.mark.parametrize("shape,axis,begin,end", SLICE_AXIS_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "bool"])
def test_slice_axis(shape, axis, begin, end, dtype):
    x = data(shape, dtype)
    key = [slice(None)] * len(shape)
    key[axis] = slice(begin, end)
    check(nd.slice_axis(nd.array(x, dtype=dtype), axis=axis, begin=begin, end=end), x[tuple(key)])


@pytest.mark.parametrize("axis,begin,end,exc,match", [
    (1, 0, 5, IndexError, r"slice_axis: end=5 is out of range for axis 1 of size 4 \(data shape \(3,4\)\)"),
    (1, -5, None, IndexError, r"slice_axis: begin=-5 is out of range for axis 1 of size 4"),
    (1, 3, 1, ValueError, r"slice_axis: begin=3 is after end=1 on axis 1 of size 4"),
    (2, 0, 1, IndexError, r"slice_axis: axis=2 is out of range for data of shape \(3,4\)"),
])
def test_slice_axis_errors(axis, begin, end, exc, match):
    with pytest.raises(exc, match=match):
        nd.slice_axis(nd.ones((3, 4)), axis=axis, begin=begin, end=end)


@pytest.mark.parametrize("shape,axis,begin,end", [((3, 4), 1, 1, 3), ((3, 4), 0, -2, None), ((2, 3, 2), -2, 0, 2)])
def test_slice_axis_grad(shape, axis, begin, end):
    attrs = {"axis": axis, "begin": begin}
    if end is not None:
        attrs["end"] = end
    check_numeric_gradient("slice_axis", grad_inputs(shape), attrs)


# ---- gradients of slice and transpose -------------------------------------------------------------
@pytest.mark.parametrize("shape,begin,end,step", [
    ((4, 5), (1, 0), (3, 5), None), ((4, 5), (None, None), (None, None), (-1, 2)), ((4, 5), (3,), (0,), (-2,)),
    ((2, 3, 4), (0, 1, -1), (2, None, 0), (1, 1, -1)), ((4, 5), (1, 1), (1, 4), None),
])
def test_slice_grad(shape, begin, end, step):
    attrs = {"begin": begin, "end": end}
    if step is not None:
        attrs["step"] = step
    check_numeric_gradient("slice", grad_inputs(shape), attrs)


def test_backward_slice_scatters_into_zeros():
    dy = nd.array(np.arange(1, 5, dtype=np.float32).reshape(2, 2))
    (g,) = op_gradient("slice", [nd.zeros((3, 4))], [dy], begin=(0, 1), end=(3, None), step=(2, 2))
    expected = np.zeros((3, 4), np.float32)
    expected[0:3:2, 1::2] = [[1, 2], [3, 4]]
    check(g, expected)


@pytest.mark.parametrize("shape,axes", [((2, 3), None), ((2, 3, 4), (1, 2, 0)), ((2, 3, 4), (2, 0, 1)),
                                        ((2, 3, 4), (-1, 0, -2)), ((2, 1, 3, 2), (3, 1, 0, 2))])
def test_transpose_grad(shape, axes):
    check_numeric_gradient("transpose", grad_inputs(shape), {} if axes is None else {"axes": axes})


# ---- take -----------------------------------------------------------------------------------------
def np_take(a, idx, axis, mode):
    m = a.shape[axis]
    j = np.trunc(np.asarray(idx, dtype=np.float64)).astype(np.int64)
    j = np.clip(j, 0, m - 1) if mode == "clip" else np.mod(j, m)
    return np.take(a, j, axis=axis)


TAKE_CASES = [((4, 3), [0, 2, 1], 0), ((4, 3), [[0, 3], [3, 1]], 0), ((4, 3), [2, 0], 1), ((4, 3), [1], -1),
              ((2, 3, 4), [[1, 0, 2]], 1), ((2, 3, 4), [3, 3, 0], -1), ((5,), [4, 0, 0], 0),
              ((4, 3), [7, -1, -5, 2], 0), ((4, 3), [4, 3, -4], 0), ((2, 3, 2), [3, -3], 1),  # out of range
              ((4, 3), [-0.5, 1.7, 2.9, -1.2], 1),  # float indices truncate
              ((4, 3), [], 0), ((0, 3), [], 0), ((4, 0), [1, 2], 0), ((4, 3), [[], []], 1)]


@pytest.mark.parametrize("shape,idx,axis", TAKE_CASES)
@pytest.mark.parametrize("mode", ["clip", "wrap"])
def test_take(shape, idx, axis, mode):
    a = data(shape)
    got = nd.take(nd.array(a), nd.array(np.array(idx, dtype=np.float32)), axis=axis, mode=mode)
    check(got, np_take(a, np.array(idx, dtype=np.float32), axis, mode))


@pytest.mark.parametrize("dtype", DTYPES + ["bool"])
@pytest.mark.parametrize("idx_dtype", ["int32", "int64", "float32", "float16", "uint8"])
def test_take_dtypes(dtype, idx_dtype):
    a = data((4, 3), dtype)
    idx = np.array([3, 0, 2, 2], dtype=idx_dtype)
    got = nd.take(nd.array(a, dtype=dtype), nd.array(idx, dtype=idx_dtype))
    check(got, a[idx.astype(np.int64)])


def test_take_mxnet_values():
    # MXNet 1.9.1: float indices truncate toward zero, then clip or wrap
    x = nd.array(np.arange(6).reshape(2, 3))
    idx = nd.array([-0.5, 1.7, 5, -3])
    np.testing.assert_array_equal(nd.take(x, idx, axis=1).asnumpy(), [[0, 1, 2, 0], [3, 4, 5, 3]])
    idx = nd.array([-0.5, 1.7, 5, -4])
    np.testing.assert_array_equal(nd.take(x, idx, axis=1, mode="wrap").asnumpy(), [[0, 1, 2, 2], [3, 4, 5, 5]])
    # the default mode is clip, the default axis 0
    np.testing.assert_array_equal(nd.take(x, nd.array([5])).asnumpy(), [[3, 4, 5]])
    # NDArray indexing by an NDArray goes through take
    np.testing.assert_array_equal(x[nd.array([1, 0])].asnumpy(), [[3, 4, 5], [0, 1, 2]])


@pytest.mark.parametrize("mode", ["clip", "wrap"])
def test_take_from_empty_axis_with_empty_output(mode):
    got = nd.take(nd.ones((0, 0)), nd.array([1, -1]), axis=1, mode=mode)
    check(got, np.zeros((0, 2), np.float32))
    with pytest.raises(IndexError, match=r"take: no index is in range for axis 1 of size 0"):
        nd.take(nd.ones((0, 0)), nd.array([1]), axis=1, mode="raise").asnumpy()


def test_take_raise():
    a = data((4, 3))
    check(nd.take(nd.array(a), nd.array([3, 0]), mode="raise"), a[[3, 0]])
    for bad in ([4], [-1], [0.5, -0.5]):
        with pytest.raises(IndexError, match=r"take: index -?[0-9.]+ \(at position [0-9] of indices\) is out of range "
                                             r"for axis 0 of size 4 \(data shape \(4,3\), mode='raise'\)"):
            nd.take(nd.array(a), nd.array(bad), mode="raise").asnumpy()


@pytest.mark.parametrize("shape,idx_shape,attrs,exc,match", [
    ((4, 3), (2,), dict(axis=2), IndexError, r"take: axis=2 is out of range for a of shape \(4,3\)"),
    ((4, 3), (2,), dict(axis=-3), IndexError, r"take: axis=-3 is out of range"),
    ((0, 3), (2,), dict(axis=0), IndexError, r"take: cannot take indices of shape \(2,\) from axis 0 of size 0 "
                                             r"\(a shape \(0,3\)\)"),
    ((4, 3), (2,), dict(mode="nearest"), ValueError, r"take: invalid value for attribute 'mode': expected one of "
                                                     r"\{'clip', 'raise', 'wrap'\}, got 'nearest'"),
])
def test_take_errors(shape, idx_shape, attrs, exc, match):
    with pytest.raises(exc, match=match):
        nd.take(nd.ones(shape), nd.zeros(idx_shape), **attrs)


@pytest.mark.parametrize("shape,idx,axis,mode", [((4, 3), [0, 2, 2, 3], 0, "clip"), ((4, 3), [[1, 1], [0, 5]], 1, "clip"),
                                                 ((2, 3, 2), [-1, 4, 0], 1, "wrap"), ((3, 2), [2, 2, 2], -2, "raise")])
def test_take_grad(shape, idx, axis, mode):
    g = check_numeric_gradient("take", [grad_inputs(shape)[0], np.array(idx, dtype=np.float64)],
                               {"axis": axis, "mode": mode}, wrt=[0])
    check(g[1], np.zeros(np.shape(idx)))  # indices get no gradient


def test_take_grad_adds_repeated_indices():
    dy = nd.array([[1, 2], [10, 20], [100, 200]])
    ga, gi = op_gradient("take", [nd.zeros((3, 2)), nd.array([2, 0, 2])], [dy])
    check(ga, np.array([[10, 20], [0, 0], [101, 202]], np.float32))


# ---- pick -----------------------------------------------------------------------------------------
def np_pick(x, idx, axis, keepdims, mode):
    m = x.shape[axis]
    j = np.trunc(np.asarray(idx, dtype=np.float64)).astype(np.int64)
    j = np.clip(j, 0, m - 1) if mode == "clip" else np.mod(j, m)
    j = j.reshape([1 if d == axis % x.ndim else s for d, s in enumerate(x.shape)])
    r = np.take_along_axis(x, j, axis=axis)
    return r if keepdims else (np.squeeze(r, axis=axis) if x.ndim > 1 else r.reshape(1))


PICK_CASES = [((3, 4), [0, 3, 1], -1), ((3, 4), [2, 0, 1, 1], 0), ((2, 3, 4), [[0, 1, 2, 3], [3, 2, 1, 0]], 1),
              ((2, 3, 4), [[0, 1, 2], [2, 1, 0]], 2), ((2, 3, 4), [[0, 1, 2], [2, 1, 0]], -1),
              ((3, 4), [5, -1, -7], 1), ((3, 4), [1.9, -0.5, 3.2], 1), ((3,), [2], 0), ((0, 4), [], 1)]


@pytest.mark.parametrize("shape,idx,axis", PICK_CASES)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("mode", ["clip", "wrap"])
def test_pick(shape, idx, axis, keepdims, mode):
    x = data(shape)
    idx = np.array(idx, dtype=np.float32)
    got = nd.pick(nd.array(x), nd.array(idx), axis=axis, keepdims=keepdims, mode=mode)
    check(got, np_pick(x, idx, axis, keepdims, mode))


def test_pick_index_with_kept_axis_and_dtypes():
    x = data((2, 3), "int32")
    got = nd.pick(nd.array(x, dtype="int32"), nd.array([[0], [2]], dtype="int64"), axis=1)
    check(got, np.array([x[0, 0], x[1, 2]], np.int32))
    # MXNet 1.9.1: defaults axis=-1, mode='clip'
    y = nd.array(np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(nd.pick(y, nd.array([-1.5, 7.9])).asnumpy(), [0, 5])
    np.testing.assert_array_equal(nd.pick(y, nd.array([-1, 4]), mode="wrap").asnumpy(), [2, 4])
    check(nd.pick(nd.array([1, 2, 3], dtype="float16"), nd.array([2], dtype="uint8")), np.array([3], np.float16))


@pytest.mark.parametrize("shape,idx_shape,attrs,exc,match", [
    ((2, 3), (3,), {}, ValueError, r"pick: index of shape \(3,\) does not fit data of shape \(2,3\) on axis 1 "
                                   r"\(expected \(2,\) or \(2,1\)\)"),
    ((2, 3), (2, 3), {}, ValueError, r"pick: index of shape \(2,3\) does not fit data of shape \(2,3\)"),
    ((2, 3), (2,), dict(axis=2), IndexError, r"pick: axis=2 is out of range for data of shape \(2,3\)"),
    ((2, 3), (2,), dict(axis="None"), ValueError, r"pick: axis=None is not supported"),
    ((2, 3), (2,), dict(mode="raise"), ValueError, r"pick: invalid value for attribute 'mode': expected one of "
                                                   r"\{'clip', 'wrap'\}"),
])
def test_pick_errors(shape, idx_shape, attrs, exc, match):
    with pytest.raises(exc, match=match):
        nd.pick(nd.ones(shape), nd.zeros(idx_shape), **attrs)


@pytest.mark.parametrize("shape,idx,axis,keepdims,mode", [((3, 4), [0, 3, 1], 1, False, "clip"),
                                                          ((3, 4), [[2, 0, 5, 1]], 0, True, "clip"),
                                                          ((2, 3, 2), [[0, -1], [4, 1]], 1, False, "wrap")])
def test_pick_grad(shape, idx, axis, keepdims, mode):
    g = check_numeric_gradient("pick", [grad_inputs(shape)[0], np.array(idx, dtype=np.float64)],
                               {"axis": axis, "keepdims": keepdims, "mode": mode}, wrt=[0])
    check(g[1], np.zeros(np.shape(idx)))


# ---- one_hot --------------------------------------------------------------------------------------
def np_one_hot(idx, depth, on, off, dtype):
    j = np.trunc(np.asarray(idx, dtype=np.float64)).astype(np.int64)
    r = np.full(j.shape + (depth,), off, dtype=np.float64)
    for pos in np.ndindex(*j.shape):
        if 0 <= j[pos] < depth:
            r[pos + (j[pos],)] = on
    return r.astype(dtype)


@pytest.mark.parametrize("idx,depth", [([1, 0, 2, 0], 3), ([[1, 0], [1, 0], [2, 0]], 3), ([-1, 0, 2.7, 3], 3),
                                       ([4, 9], 10), ([0, 1], 0), ([], 4), ([[[2]]], 5)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32", "int64", "int8", "uint8"])
def test_one_hot(idx, depth, dtype):
    idx = np.array(idx, dtype=np.float32)
    check(nd.one_hot(nd.array(idx), depth=depth, dtype=dtype), np_one_hot(idx, depth, 1, 0, dtype))
    check(nd.one_hot(nd.array(idx), depth=depth, on_value=8, off_value=-1, dtype=dtype),
          np_one_hot(idx, depth, 8, -1, dtype))


def test_one_hot_mxnet_values():
    # MXNet 1.9.1 doc example, and the default dtype float32
    got = nd.one_hot(nd.array([1, 0]), depth=3, on_value=8, off_value=1, dtype="int32")
    check(got, np.array([[1, 8, 1], [8, 1, 1]], np.int32))
    assert nd.one_hot(nd.array([1, 0], dtype="int64"), depth=2).dtype == np.float32


def test_one_hot_errors_and_grad():
    with pytest.raises(ValueError, match=r"one_hot: depth must be >= 0, got -1"):
        nd.one_hot(nd.array([1]), depth=-1)
    with pytest.raises(ValueError, match=r"one_hot: required attribute 'depth' is missing"):
        nd.one_hot(nd.array([1]))
    with pytest.raises(ValueError, match=r"one_hot: invalid value for attribute 'dtype'"):
        nd.one_hot(nd.array([1]), depth=2, dtype="complex64")
    (g,) = op_gradient("one_hot", [nd.array([1.0, 2.0], dtype="float64")], [nd.ones((2, 3), dtype="float64")], depth=3)
    check(g, np.zeros(2))


# ---- tile -----------------------------------------------------------------------------------------
TILE_CASES = [((2, 3), (2, 1)), ((2, 3), (1, 3)), ((2, 3), (2,)), ((2, 3), (2, 1, 2)), ((3,), (2, 2)),
              ((2, 1, 3), (1, 4, 1)), ((2, 3), ()), ((2, 3), (0, 2)), ((0, 3), (2, 2)), ((2, 2, 2), (3,)),
              ((1,), (5,))]


@pytest.mark.parametrize("shape,reps", TILE_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float16", "int32", "bool"])
def test_tile(shape, reps, dtype):
    x = data(shape, dtype)
    check(nd.tile(nd.array(x, dtype=dtype), reps=reps), np.tile(x, reps))


def test_tile_errors():
    with pytest.raises(ValueError, match=r"tile: reps \[4611686018427387904,1\] makes the output too large"):
        nd.tile(nd.ones((4, 3)), reps=(2 ** 62, 1))
    with pytest.raises(ValueError, match=r"tile: reps \[-1,2\] has a negative entry \(data shape \(2,3\)\)"):
        nd.tile(nd.ones((2, 3)), reps=(-1, 2))
    with pytest.raises(ValueError, match=r"tile: required attribute 'reps' is missing"):
        nd.tile(nd.ones((2, 3)))


@pytest.mark.parametrize("shape,reps", [((2, 3), (2, 2)), ((3,), (2, 3)), ((2, 1, 2), (3,)), ((2, 2), (0, 1))])
def test_tile_grad(shape, reps):
    check_numeric_gradient("tile", grad_inputs(shape), {"reps": reps})


# ---- repeat ---------------------------------------------------------------------------------------
REPEAT_CASES = [((2, 3), 2, None), ((2, 3), 3, 0), ((2, 3), 2, 1), ((2, 3), 2, -1), ((2, 3, 2), 2, -2), ((4,), 3, 0),
                ((2, 3), 1, 1), ((0, 3), 2, 1), ((2, 0), 2, None)]


@pytest.mark.parametrize("shape,repeats,axis", REPEAT_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "bool"])
def test_repeat(shape, repeats, axis, dtype):
    x = data(shape, dtype)
    check(nd.repeat(nd.array(x, dtype=dtype), repeats=repeats, axis=axis), np.repeat(x, repeats, axis=axis))


def test_repeat_zero_and_errors():
    # MXNet 1.9.1: zero repeats give a 1-D empty array whatever the axis
    check(nd.repeat(nd.ones((2, 3)), repeats=0, axis=1), np.zeros((0,), np.float32))
    check(nd.repeat(nd.ones((2, 3)), repeats=0), np.zeros((0,), np.float32))
    with pytest.raises(ValueError, match=r"repeat: repeats must be >= 0, got -1"):
        nd.repeat(nd.ones((2, 3)), repeats=-1)
    with pytest.raises(IndexError, match=r"repeat: axis=2 is out of range for data of shape \(2,3\)"):
        nd.repeat(nd.ones((2, 3)), repeats=2, axis=2)


@pytest.mark.parametrize("shape,repeats,axis", [((2, 3), 2, None), ((2, 3), 3, 1), ((2, 2, 2), 2, -3)])
def test_repeat_grad(shape, repeats, axis):
    attrs = {"repeats": repeats}
    if axis is not None:
        attrs["axis"] = axis
    check_numeric_gradient("repeat", grad_inputs(shape), attrs)


# ---- where ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,cond_shape", [((2, 3), (2, 3)), ((2, 3), (2,)), ((4,), (4,)), ((2, 3, 2), (2,)),
                                              ((2, 3, 2), (2, 3, 2)), ((0, 3), (0,)), ((0, 3), (0, 3))])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32", "uint8"])
@pytest.mark.parametrize("cond_dtype", ["float32", "int32", "bool"])
def test_where(shape, cond_shape, dtype, cond_dtype):
    rng = np.random.RandomState(3)
    c = (rng.randint(0, 3, cond_shape) - (1 if cond_dtype != "bool" else 0)).astype(cond_dtype)
    x, y = data(shape, dtype, 1), data(shape, dtype, 2)
    cb = c.astype(bool).reshape(cond_shape + (1,) * (len(shape) - len(cond_shape)))
    got = nd.where(nd.array(c, dtype=cond_dtype), nd.array(x, dtype=dtype), nd.array(y, dtype=dtype))
    check(got, np.where(cb, x, y))


def test_where_mxnet_values():
    # MXNet 1.9.1: a 1-D condition picks whole rows
    x = nd.array(np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(nd.where(nd.array([1, 0]), x, -x).asnumpy(), [[0, 1, 2], [-3, -4, -5]])


@pytest.mark.parametrize("shapes,dtypes,exc,match", [
    (((2, 3), (2, 3), (3, 2)), None, ValueError, r"where: x of shape \(2,3\) and y of shape \(3,2\) must have the "
                                                 r"same shape"),
    (((3, 2), (2, 3), (2, 3)), None, ValueError, r"where: condition of shape \(3,2\) does not match x of shape "
                                                 r"\(2,3\)"),
    (((3,), (2, 3), (2, 3)), None, ValueError, r"where: condition of shape \(3,\) must have the shape of x \(2,3\) "
                                               r"or be 1-D of length 2"),
    (((2, 3), (2, 3), (2, 3)), ("float32", "float32", "float64"), TypeError,
     r"where: dtype of input 'y' is float64, expected float32"),
])
def test_where_errors(shapes, dtypes, exc, match):
    dtypes = dtypes or ["float32"] * 3
    with pytest.raises(exc, match=match):
        nd.where(*[nd.ones(s, dtype=d) for s, d in zip(shapes, dtypes)])


@pytest.mark.parametrize("shape,cond_shape", [((2, 3), (2, 3)), ((3, 2), (3,))])
def test_where_grad(shape, cond_shape):
    rng = np.random.RandomState(5)
    c = rng.randint(0, 2, cond_shape).astype(np.float64)
    x, y = grad_inputs(shape, shape)
    g = check_numeric_gradient("where", [c, x, y], wrt=[1, 2])
    check(g[0], np.zeros(cond_shape))


# ---- _shuffle / shuffle ---------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(10,), (8, 3), (5, 2, 3), (1, 4), (0, 3), (6, 0)])
@pytest.mark.parametrize("dtype", ["float32", "int64", "float16"])
def test_shuffle_permutes_rows(shape, dtype):
    x = np.arange(int(np.prod(shape))).reshape(shape).astype(dtype)
    got = nd.shuffle(nd.array(x, dtype=dtype)).asnumpy()
    assert got.shape == x.shape and got.dtype == x.dtype
    flat = (shape[0], int(np.prod(shape[1:])))
    rows = sorted(map(bytes, got.reshape(flat)))
    assert rows == sorted(map(bytes, x.reshape(flat)))  # whole rows, each once


def test_shuffle_deterministic_under_seed():
    x = nd.array(np.arange(50))
    mx.random.seed(7)
    a = nd._shuffle(x).asnumpy()
    b = nd._shuffle(x).asnumpy()
    mx.random.seed(7)
    check(nd.shuffle(x), a)
    check(nd.shuffle(x), b)
    assert not np.array_equal(a, b)  # the state advances
    assert not np.array_equal(a, np.arange(50))
    mx.random.seed(8)
    assert not np.array_equal(nd.shuffle(x).asnumpy(), a)


def test_shuffle_uses_every_permutation():
    mx.random.seed(0)
    x = nd.array([0, 1, 2])
    seen = {tuple(nd.shuffle(x).asnumpy().astype(int)) for _ in range(200)}
    assert len(seen) == 6


def test_shuffle_in_place():
    mx.random.seed(3)
    x = nd.array(np.arange(20).reshape(10, 2))
    nd.shuffle(x, out=x)
    got = x.asnumpy()
    assert sorted(got[:, 0]) == list(range(0, 20, 2)) and np.all(got[:, 1] == got[:, 0] + 1)
    mx.random.seed(3)
    check(x, nd.shuffle(nd.array(np.arange(20).reshape(10, 2))).asnumpy())


# ---- op table -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,params", [
    ("Reshape", [("shape", "Shape(tuple), optional, default='[]'"), ("reverse", "boolean, optional, default='0'"),
                 ("target_shape", "Shape(tuple), optional, default='[]'"),
                 ("keep_highest", "boolean, optional, default='0'")]),
    ("Concat", [("num_args", "int, required"), ("dim", "int, optional, default='1'")]),
    ("stack", [("axis", "int, optional, default='0'"), ("num_args", "int, required")]),
    ("SliceChannel", [("num_outputs", "int, required"), ("axis", "int, optional, default='1'"),
                      ("squeeze_axis", "boolean, optional, default='0'")]),
    ("take", [("axis", "int, optional, default='0'"), ("mode", "{'clip', 'raise', 'wrap'}, optional, default='clip'")]),
    ("pick", [("axis", "int or None, optional, default='-1'"), ("keepdims", "boolean, optional, default='0'"),
              ("mode", "{'clip', 'wrap'}, optional, default='clip'")]),
    ("one_hot", [("depth", "int, required"), ("on_value", "double, optional, default='1'"),
                 ("off_value", "double, optional, default='0'"),
                 ("dtype", "{'float16', 'float32', 'float64', 'int32', 'int64', 'int8', 'uint8'}, optional, "
                           "default='float32'")]),
    ("tile", [("reps", "Shape(tuple), required")]),
    ("repeat", [("repeats", "int, required"), ("axis", "int or None, optional, default='None'")]),
    ("expand_dims", [("axis", "int, required")]),
])
def test_op_params(name, params):
    assert [p[:2] for p in nd.OpInfo(name).params] == params


@pytest.mark.parametrize("alias,name", [("reshape", "Reshape"), ("flatten", "Flatten"), ("concat", "Concat"),
                                        ("split", "SliceChannel"), ("shuffle", "_shuffle")])
def test_aliases(alias, name):
    assert nd.OpInfo(alias).name == name
