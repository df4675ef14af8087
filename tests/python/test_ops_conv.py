"""Convolution, Deconvolution, Pooling, BatchNorm, LayerNorm and UpSampling (MXNet 1.x nn ops).

Forward results are checked against float64 numpy references written here (direct loops over the
kernel offsets); the references themselves were checked against MXNet 1.9.1 offline on the same
cases. Gradients are checked against central differences. BatchNorm's training semantics (the
hidden outputs, when the moving statistics change, the gradients) are pinned to numbers computed
with MXNet 1.9.1.

Known differences from MXNet 1.9.1 (deliberate): Deconvolution with both stride > 1 and dilate > 1
follows the mathematics (it equals Convolution's data gradient, as on cuDNN), where MXNet's CPU
kernel does not; the 'same' pooling convention works for 1-D data (MXNet 1.9.1 crashes on it);
BatchNorm with fix_gamma leaves the gamma array untouched (MXNet overwrites it with ones).
"""
import contextlib
import math

import numpy as np
import pytest

import axle as mx
from axle.test_utils import check_numeric_gradient, op_gradient, training

nd = mx.nd


def rand(shape, seed=0, lo=-1.0, hi=1.0):
    return np.random.RandomState(seed).uniform(lo, hi, shape)


def tol(dtype):
    return {"float16": (3e-2, 3e-2), "float32": (1e-4, 1e-4), "float64": (1e-10, 1e-10)}[dtype]


# ---- numpy references (float64) ------------------------------------------------------------- #
# (between the markers: also run against MXNet 1.9.1 offline)
# REFERENCES-BEGIN
def _tup(v, nd, fill):
    return tuple(v) if v else (fill,) * nd


def conv_ref(x, w, b=None, stride=None, pad=None, dilate=None, num_group=1):
    nd_ = x.ndim - 2
    s, p, d = _tup(stride, nd_, 1), _tup(pad, nd_, 0), _tup(dilate, nd_, 1)
    N, C = x.shape[:2]
    F, k = w.shape[0], w.shape[2:]
    xp = np.pad(x, [(0, 0), (0, 0)] + [(q, q) for q in p])
    osz = [(x.shape[2 + i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(nd_)]
    out = np.zeros((N, F) + tuple(osz))
    Cg, Fg = C // num_group, F // num_group
    for g in range(num_group):
        xg, wg = xp[:, g * Cg:(g + 1) * Cg], w[g * Fg:(g + 1) * Fg]
        for off in np.ndindex(*k):
            sl = tuple(slice(off[i] * d[i], off[i] * d[i] + s[i] * (osz[i] - 1) + 1, s[i]) for i in range(nd_))
            patch = xg[(slice(None), slice(None)) + sl]
            out[:, g * Fg:(g + 1) * Fg] += np.einsum("nc...,fc->nf...", patch, wg[(slice(None), slice(None)) + off])
    if b is not None:
        out += b.reshape((1, F) + (1,) * nd_)
    return out


def deconv_pad_adj(xs, k, s, d, p, a, target_shape):
    """MXNet's Deconvolution pad/adj: from target_shape when it is set."""
    if target_shape and any(t != 0 for t in target_shape):
        p, a = list(p), list(a)
        for i, t in enumerate(target_shape):
            total = s[i] * (xs[i] - 1) + d[i] * (k[i] - 1) + 1 - t
            a[i], p[i] = total % 2, (total + 1) // 2
    return tuple(p), tuple(a)


def deconv_ref(x, w, b=None, stride=None, pad=None, dilate=None, adj=None, num_group=1, target_shape=None):
    nd_ = x.ndim - 2
    s, p, d, a = _tup(stride, nd_, 1), _tup(pad, nd_, 0), _tup(dilate, nd_, 1), _tup(adj, nd_, 0)
    N, C = x.shape[:2]
    k = w.shape[2:]
    Fg = w.shape[1]
    F = Fg * num_group
    xs = x.shape[2:]
    p, a = deconv_pad_adj(xs, k, s, d, p, a, target_shape)
    full = [s[i] * (xs[i] - 1) + d[i] * (k[i] - 1) + 1 for i in range(nd_)]
    osz = [full[i] - 2 * p[i] + a[i] for i in range(nd_)]
    buf = np.zeros((N, F) + tuple(max(full[i], p[i] + osz[i]) for i in range(nd_)))
    Cg = C // num_group
    for g in range(num_group):
        xg, wg = x[:, g * Cg:(g + 1) * Cg], w[g * Cg:(g + 1) * Cg]
        for off in np.ndindex(*k):
            sl = tuple(slice(off[i] * d[i], off[i] * d[i] + s[i] * (xs[i] - 1) + 1, s[i]) for i in range(nd_))
            buf[(slice(None), slice(g * Fg, (g + 1) * Fg)) + sl] += np.einsum(
                "nc...,cf->nf...", xg, wg[(slice(None), slice(None)) + off])
    out = buf[(slice(None), slice(None)) + tuple(slice(p[i], p[i] + osz[i]) for i in range(nd_))]
    if b is not None:
        out = out + b.reshape((1, F) + (1,) * nd_)
    return out


def pool_ref(x, kernel=None, stride=None, pad=None, pool_type="max", pooling_convention="valid",
             count_include_pad=True, global_pool=False, p_value=None):
    nd_ = x.ndim - 2
    if global_pool:
        kernel, stride, pad = x.shape[2:], (1,) * nd_, (0,) * nd_
    k, s, p = tuple(kernel), _tup(stride, nd_, 1), _tup(pad, nd_, 0)
    xs = x.shape[2:]
    if global_pool:
        osz = (1,) * nd_
    elif pooling_convention == "valid":
        osz = tuple(1 + (xs[i] + 2 * p[i] - k[i]) // s[i] for i in range(nd_))
    elif pooling_convention == "full":
        osz = tuple(1 + int(math.ceil((xs[i] + 2 * p[i] - k[i]) / s[i])) for i in range(nd_))
    else:  # same
        osz = tuple(int(math.ceil((xs[i] + 2 * p[i]) / s[i])) for i in range(nd_))
    out = np.zeros(x.shape[:2] + osz)
    for o in np.ndindex(*osz):
        start = [o[i] * s[i] - p[i] for i in range(nd_)]
        end_pad = [min(start[i] + k[i], xs[i] + p[i]) for i in range(nd_)]
        b = [max(v, 0) for v in start]
        e = [min(end_pad[i], xs[i]) for i in range(nd_)]
        size_pad = int(np.prod([end_pad[i] - start[i] for i in range(nd_)]))
        size = int(np.prod([max(e[i] - b[i], 0) for i in range(nd_)]))
        win = x[(slice(None), slice(None)) + tuple(slice(b[i], e[i]) for i in range(nd_))].reshape(x.shape[:2] + (-1,))
        if pool_type == "max":
            r = win.max(axis=2) if win.shape[2] else np.full(x.shape[:2], -np.inf)
        elif pool_type == "avg":
            div = size_pad if count_include_pad else size
            r = win.sum(axis=2) / div if div else np.zeros(x.shape[:2])
        elif pool_type == "sum":
            r = win.sum(axis=2)
        else:
            r = (win ** p_value).sum(axis=2)
            r = r if p_value == 1 else (np.sqrt(r) if p_value == 2 else np.cbrt(r))
        out[(slice(None), slice(None)) + o] = r
    return out


def bn_ref(x, gamma, beta, mm, mv, eps=float(np.float32(1e-3)), momentum=0.9, fix_gamma=True, use_global_stats=False, axis=1,
           train=False):
    """(output, mean, inverse std, moving_mean and moving_var after a training backward pass)."""
    momentum = float(np.float32(momentum))  # a float32 attribute in MXNet
    axis = axis % x.ndim
    red = tuple(i for i in range(x.ndim) if i != axis)
    shp = [1] * x.ndim
    shp[axis] = -1
    g = np.ones_like(gamma) if fix_gamma else gamma
    if train and not use_global_stats:
        mean, var = x.mean(axis=red), x.var(axis=red)
        new_mm, new_mv = mm * momentum + mean * (1 - momentum), mv * momentum + var * (1 - momentum)
    else:
        mean, var, new_mm, new_mv = mm, mv, mm, mv
    inv = 1 / np.sqrt(var + eps)
    out = (x - mean.reshape(shp)) * inv.reshape(shp) * g.reshape(shp) + beta.reshape(shp)
    return out, mean, inv, new_mm, new_mv


def ln_ref(x, gamma, beta, axis=-1, eps=1e-5):
    eps = float(np.float32(eps))  # a float32 attribute in MXNet
    mean = x.mean(axis=axis, keepdims=True)
    std = np.sqrt(x.var(axis=axis, keepdims=True) + eps)
    shp = [1] * x.ndim
    shp[axis] = -1
    return (x - mean) / std * gamma.reshape(shp) + beta.reshape(shp), mean, std


def up_nearest_ref(xs, scale, multi_input_mode="concat"):
    oh, ow = xs[0].shape[2] * scale, xs[0].shape[3] * scale
    ups = [x.repeat(oh // x.shape[2], axis=2).repeat(ow // x.shape[3], axis=3) for x in xs]
    return sum(ups) if multi_input_mode == "sum" else np.concatenate(ups, axis=1)


def up_bilinear_ref(x, w, scale):
    k = 2 * scale - scale % 2
    p = int(math.ceil((scale - 1) / 2))
    C = x.shape[1]
    return deconv_ref(x, w, stride=(scale, scale), pad=(p, p), num_group=C)
# REFERENCES-END


def run(op, arrays, attrs, dtype="float32"):
    out = getattr(nd, op)(*[nd.array(a, dtype=dtype) for a in arrays], **attrs)
    return out


# ---- Convolution forward ------------------------------------------------------------------- #
# (data shape, num_filter, kernel, extra attributes)
CONV_CASES = [
    ((2, 3, 9), 4, (3,), {}),
    ((2, 3, 9), 4, (3,), {"stride": (2,)}),
    ((2, 4, 10), 6, (3,), {"pad": (2,), "dilate": (2,), "num_group": 2}),
    ((1, 2, 7), 2, (1,), {}),
    ((3, 2, 8), 4, (4,), {"stride": (3,), "pad": (1,), "no_bias": True}),
    ((2, 3, 7, 6), 4, (3, 3), {}),
    ((2, 3, 7, 6), 5, (3, 2), {"stride": (2, 1), "pad": (1, 2), "dilate": (2, 1)}),
    ((2, 4, 8, 8), 6, (3, 3), {"num_group": 2, "pad": (1, 1)}),
    ((2, 4, 6, 5), 4, (2, 2), {"num_group": 4, "stride": (2, 2), "no_bias": True}),  # depthwise
    ((2, 3, 5, 5), 7, (1, 1), {}),  # 1x1: the column matrix is the image itself
    ((2, 3, 5, 5), 4, (1, 1), {"stride": (2, 2)}),
    ((2, 2, 9, 9), 3, (3, 3), {"dilate": (3, 2), "stride": (2, 3), "pad": (2, 0)}),
    ((1, 1, 28, 28), 5, (5, 5), {}),
    ((2, 2, 4, 5, 6), 3, (2, 3, 2), {"pad": (1, 0, 1), "stride": (1, 2, 2)}),
    ((1, 4, 4, 4, 4), 4, (3, 3, 3), {"num_group": 2, "dilate": (1, 1, 2), "pad": (1, 1, 2)}),
]


def conv_inputs(shape, nf, kernel, attrs, seed=0):
    g = attrs.get("num_group", 1)
    x = rand(shape, seed)
    w = rand((nf, shape[1] // g) + tuple(kernel), seed + 1)
    b = None if attrs.get("no_bias") else rand((nf,), seed + 2)
    return x, w, b


@pytest.mark.parametrize("shape,nf,kernel,attrs", CONV_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_convolution_forward(shape, nf, kernel, attrs, dtype):
    x, w, b = conv_inputs(shape, nf, kernel, attrs)
    ins = [x, w] + ([] if b is None else [b])
    y = run("Convolution", ins, dict(attrs, kernel=kernel, num_filter=nf), dtype)
    assert y.dtype == np.dtype(dtype)
    ref = conv_ref(*[a.astype(dtype).astype(np.float64) for a in (x, w)],
                   None if b is None else b.astype(dtype).astype(np.float64),
                   attrs.get("stride"), attrs.get("pad"), attrs.get("dilate"), attrs.get("num_group", 1))
    rtol, atol = tol(dtype)
    np.testing.assert_allclose(y.asnumpy().astype(np.float64), ref, rtol=rtol, atol=atol * 10)


def test_convolution_attributes_and_layouts():
    x, w, b = conv_inputs((2, 3, 6, 6), 4, (3, 3), {})
    ref = conv_ref(x, w, b)
    for extra in [{"layout": "NCHW"}, {"workspace": 1, "cudnn_tune": "fastest", "cudnn_off": True},
                  {"stride": (1, 1), "dilate": (1, 1), "pad": (0, 0)}]:
        y = run("Convolution", [x, w, b], dict(extra, kernel=(3, 3), num_filter=4), "float64")
        np.testing.assert_allclose(y.asnumpy(), ref, rtol=1e-12, atol=1e-12)
    y = run("Convolution", [x[:, :, 0], w[:, :, 0], b], dict(kernel=(3,), num_filter=4, layout="NCW"), "float64")
    np.testing.assert_allclose(y.asnumpy(), conv_ref(x[:, :, 0], w[:, :, 0], b), rtol=1e-12)
    # the _npx alias is the same op
    y = run("_npx_convolution", [x, w, b], dict(kernel=(3, 3), num_filter=4), "float64")
    np.testing.assert_allclose(y.asnumpy(), ref, rtol=1e-12)


def test_convolution_large_batch_chunks():
    # several GEMM batches (the workspace bounds the images per batch) and a partial last one
    x, w, b = conv_inputs((37, 8, 16, 16), 16, (3, 3), {"pad": (1, 1)})
    for ws in [1, 1024]:
        y = run("Convolution", [x, w, b], dict(kernel=(3, 3), num_filter=16, pad=(1, 1), workspace=ws), "float64")
        np.testing.assert_allclose(y.asnumpy(), conv_ref(x, w, b, pad=(1, 1)), rtol=1e-10, atol=1e-10)


@contextlib.contextmanager
def openblas_threads(n):
    """OpenBLAS's thread count (global): 1 makes the convolutions run their GEMM batches in parallel on
    Axle's threads, more lets OpenBLAS thread each GEMM."""
    import ctypes
    import os
    import scipy_openblas32
    blas = ctypes.CDLL(os.path.join(scipy_openblas32.get_lib_dir(), "lib" + scipy_openblas32.get_library() + ".so"))
    prev = blas.scipy_openblas_get_num_threads()
    blas.scipy_openblas_set_num_threads(n)
    try:
        yield
    finally:
        blas.scipy_openblas_set_num_threads(prev)


@pytest.mark.parametrize("blas_threads", [1, 2])
def test_convolution_threading_modes(blas_threads):
    # many small GEMM batches (workspace=1 MB), run one after the other or in parallel
    x, w, b = conv_inputs((9, 16, 24, 24), 8, (3, 3), {"num_group": 2})
    dy = rand((9, 8, 11, 11), 4)
    attrs = dict(kernel=(3, 3), num_filter=8, num_group=2, stride=(2, 2), workspace=1)
    with openblas_threads(blas_threads):
        y = run("Convolution", [x, w, b], attrs, "float64")
        g = op_gradient("Convolution", [nd.array(a, dtype="float64") for a in (x, w, b)],
                        [nd.array(dy, dtype="float64")], **attrs)
        xd, wd = rand((9, 16, 7, 7), 5), rand((16, 4, 3, 3), 6)
        yd = run("Deconvolution", [xd, wd], dict(attrs, num_filter=8, adj=(1, 1)), "float64")
        gd = op_gradient("Deconvolution", [nd.array(a, dtype="float64") for a in (xd, wd)],
                         [nd.array(rand(yd.shape, 7), dtype="float64")], **dict(attrs, adj=(1, 1)))
    np.testing.assert_allclose(y.asnumpy(), conv_ref(x, w, b, (2, 2), num_group=2), rtol=1e-10, atol=1e-10)
    ref = [a.asnumpy() for a in op_gradient("Convolution", [nd.array(a, dtype="float64") for a in (x, w, b)],
                                            [nd.array(dy, dtype="float64")], **dict(attrs, workspace=1024))]
    for a, r in zip(g, ref):
        np.testing.assert_allclose(a.asnumpy(), r, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(yd.asnumpy(), deconv_ref(xd, wd, stride=(2, 2), adj=(1, 1), num_group=2),
                               rtol=1e-10, atol=1e-10)
    # a single image: its GEMMs' columns are split across the threads when OpenBLAS is single-threaded
    x1, w1 = rand((1, 8, 40, 40), 8), rand((16, 8, 3, 3), 9)
    with openblas_threads(blas_threads):
        y1 = run("Convolution", [x1, w1], dict(kernel=(3, 3), num_filter=16, no_bias=True), "float64")
        g1 = op_gradient("Convolution", [nd.array(a, dtype="float64") for a in (x1, w1)],
                         [nd.array(np.ones((1, 16, 38, 38)), dtype="float64")], kernel=(3, 3), num_filter=16,
                         no_bias=True)
    np.testing.assert_allclose(y1.asnumpy(), conv_ref(x1, w1), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(g1[1].asnumpy(), conv_ref(x1.transpose(1, 0, 2, 3), np.ones((16, 1, 38, 38)))
                               .transpose(1, 0, 2, 3), rtol=1e-10)  # dW[f, c] = sum of x windows
    # the deconvolution's weight gradient: sum over the batch of x (x) im2col(dy), any batching
    gd1 = op_gradient("Deconvolution", [nd.array(a, dtype="float64") for a in (xd, wd)],
                      [nd.array(rand(yd.shape, 7), dtype="float64")], **dict(attrs, adj=(1, 1), workspace=1024))
    for a, r in zip(gd, gd1):
        np.testing.assert_allclose(a.asnumpy(), r.asnumpy(), rtol=1e-10, atol=1e-10)


# ---- Convolution gradients ------------------------------------------------------------------ #
CONV_GRAD_CASES = [
    ((2, 2, 7), 3, (3,), {"stride": (2,), "pad": (1,)}),
    ((1, 4, 6), 2, (2,), {"dilate": (2,), "num_group": 2, "no_bias": True}),
    ((2, 2, 5, 4), 3, (3, 2), {"pad": (1, 1)}),
    ((1, 4, 6, 6), 4, (3, 3), {"stride": (2, 2), "dilate": (1, 2), "num_group": 2}),
    ((2, 3, 3, 3), 2, (1, 1), {"no_bias": True}),
    ((1, 2, 3, 4, 3), 2, (2, 2, 2), {"pad": (0, 1, 1), "stride": (1, 2, 1)}),
]


@pytest.mark.parametrize("shape,nf,kernel,attrs", CONV_GRAD_CASES)
def test_convolution_gradient(shape, nf, kernel, attrs):
    x, w, b = conv_inputs(shape, nf, kernel, attrs)
    ins = [x, w] + ([] if b is None else [b])
    grads = check_numeric_gradient("Convolution", ins, dict(attrs, kernel=kernel, num_filter=nf), rtol=1e-5, atol=1e-7)
    assert len(grads) == len(ins)


def test_convolution_backward_op_float32():
    # the dedicated backward op called directly, float32, against the float64 gradient
    x, w, b = conv_inputs((3, 4, 8, 8), 6, (3, 3), {})
    dy = rand((3, 6, 4, 4), 5)
    attrs = dict(kernel=(3, 3), num_filter=6, stride=(2, 2), pad=(1, 1))
    g32 = nd._backward_Convolution(nd.array(dy), nd.array(x), nd.array(w), **attrs)
    g64 = op_gradient("Convolution", [nd.array(a, dtype="float64") for a in (x, w, b)],
                      [nd.array(dy, dtype="float64")], **attrs)
    assert len(g32) == 3 and g32[0].dtype == np.float32
    for a, r in zip(g32, g64):
        np.testing.assert_allclose(a.asnumpy(), r.asnumpy(), rtol=1e-4, atol=1e-4)
    # bias gradient = sum of dy over batch and space
    np.testing.assert_allclose(g64[2].asnumpy(), dy.sum(axis=(0, 2, 3)), rtol=1e-12)


def test_convolution_float16_gradient():
    x, w, b = conv_inputs((2, 2, 5, 5), 3, (3, 3), {})
    dy = rand((2, 3, 3, 3), 7)
    g16 = op_gradient("Convolution", [nd.array(a, dtype="float16") for a in (x, w, b)],
                      [nd.array(dy, dtype="float16")], kernel=(3, 3), num_filter=3)
    g64 = op_gradient("Convolution", [nd.array(a.astype(np.float16), dtype="float64") for a in (x, w, b)],
                      [nd.array(dy.astype(np.float16), dtype="float64")], kernel=(3, 3), num_filter=3)
    for a, r in zip(g16, g64):
        assert a.dtype == np.float16
        np.testing.assert_allclose(a.asnumpy(), r.asnumpy(), rtol=2e-2, atol=2e-2)


# ---- Deconvolution --------------------------------------------------------------------------- #
# (data shape, num_filter, kernel, extra attributes)
DECONV_CASES = [
    ((2, 3, 5), 4, (3,), {}),
    ((2, 3, 5), 4, (3,), {"stride": (2,), "pad": (1,), "adj": (1,)}),
    ((2, 4, 6), 6, (2,), {"num_group": 2, "dilate": (2,), "no_bias": False}),
    ((2, 3, 4, 5), 4, (3, 3), {}),
    ((2, 3, 4, 5), 2, (3, 2), {"stride": (2, 3), "pad": (1, 0), "adj": (1, 2), "no_bias": False}),
    ((1, 4, 5, 5), 4, (3, 3), {"num_group": 4, "stride": (2, 2), "dilate": (2, 1), "pad": (2, 1)}),
    ((2, 2, 4, 4), 3, (4, 4), {"stride": (2, 2), "target_shape": (8, 8)}),
    ((2, 2, 4, 4), 3, (3, 3), {"stride": (2, 2), "target_shape": (8, 9), "no_bias": False}),
    ((2, 2, 3, 3), 3, (1, 1), {}),
    ((1, 2, 3, 3, 2), 2, (2, 2, 3), {"stride": (2, 1, 2), "pad": (0, 1, 1)}),
]


def deconv_inputs(shape, nf, kernel, attrs, seed=0):
    g = attrs.get("num_group", 1)
    x = rand(shape, seed)
    w = rand((shape[1], nf // g) + tuple(kernel), seed + 1)
    b = None if attrs.get("no_bias", True) else rand((nf,), seed + 2)
    return x, w, b


@pytest.mark.parametrize("shape,nf,kernel,attrs", DECONV_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_deconvolution_forward(shape, nf, kernel, attrs, dtype):
    x, w, b = deconv_inputs(shape, nf, kernel, attrs)
    ins = [x, w] + ([] if b is None else [b])
    y = run("Deconvolution", ins, dict(attrs, kernel=kernel, num_filter=nf), dtype)
    ref = deconv_ref(x, w, b, attrs.get("stride"), attrs.get("pad"), attrs.get("dilate"), attrs.get("adj"),
                     attrs.get("num_group", 1), attrs.get("target_shape"))
    if "target_shape" in attrs:
        assert y.shape[2:] == tuple(attrs["target_shape"])
    rtol, atol = tol(dtype)
    np.testing.assert_allclose(y.asnumpy(), ref, rtol=rtol, atol=atol * 10)


def test_deconvolution_is_the_convolution_data_gradient():
    x, w, _ = conv_inputs((2, 3, 7, 7), 4, (3, 3), {})
    dy = rand((2, 4, 4, 3), 3)
    attrs = dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), dilate=(1, 2))
    gx = op_gradient("Convolution", [nd.array(x, dtype="float64"), nd.array(w, dtype="float64")],
                     [nd.array(dy, dtype="float64")], num_filter=4, no_bias=True, **attrs)[0]
    y = run("Deconvolution", [dy, w], dict(attrs, num_filter=3, target_shape=(7, 7)), "float64")
    np.testing.assert_allclose(y.asnumpy(), gx.asnumpy(), rtol=1e-12, atol=1e-12)


DECONV_GRAD_CASES = [
    ((2, 2, 4), 3, (3,), {"stride": (2,), "pad": (1,), "adj": (1,), "no_bias": False}),
    ((1, 2, 3, 3), 2, (3, 2), {"stride": (2, 1), "dilate": (1, 2)}),
    ((1, 4, 3, 3), 4, (2, 2), {"num_group": 2, "stride": (2, 2), "target_shape": (5, 6), "no_bias": False}),
]


@pytest.mark.parametrize("shape,nf,kernel,attrs", DECONV_GRAD_CASES)
def test_deconvolution_gradient(shape, nf, kernel, attrs):
    x, w, b = deconv_inputs(shape, nf, kernel, attrs)
    ins = [x, w] + ([] if b is None else [b])
    check_numeric_gradient("Deconvolution", ins, dict(attrs, kernel=kernel, num_filter=nf), rtol=1e-5, atol=1e-7)


# ---- Pooling ------------------------------------------------------------------------------- #
# (data shape, attributes)
POOL_CASES = [
    ((2, 3, 8), {"kernel": (2,), "stride": (2,)}),
    ((2, 3, 9), {"kernel": (3,), "stride": (2,), "pad": (1,), "pool_type": "avg"}),
    ((2, 3, 9), {"kernel": (3,), "stride": (2,), "pad": (1,), "pool_type": "avg", "count_include_pad": False}),
    ((2, 3, 10), {"kernel": (3,), "stride": (3,), "pooling_convention": "full", "pool_type": "sum"}),
    ((2, 2, 7), {"kernel": (3,), "stride": (2,), "pooling_convention": "same"}),
    ((2, 2, 7), {"kernel": (2,), "stride": (3,), "pooling_convention": "same", "pool_type": "avg"}),
    ((2, 3, 8, 8), {"kernel": (2, 2), "stride": (2, 2)}),
    ((2, 3, 7, 9), {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1)}),
    ((2, 3, 7, 9), {"kernel": (3, 2), "stride": (2, 3), "pad": (1, 1), "pool_type": "avg"}),
    ((2, 3, 7, 9), {"kernel": (3, 2), "stride": (2, 3), "pad": (1, 1), "pool_type": "avg", "count_include_pad": False}),
    ((2, 3, 7, 9), {"kernel": (3, 3), "stride": (2, 2), "pooling_convention": "full"}),
    ((2, 3, 7, 9), {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1), "pooling_convention": "full",
                    "pool_type": "avg"}),
    ((2, 3, 6, 5), {"kernel": (2, 3), "pool_type": "sum"}),
    ((2, 3, 6, 5), {"kernel": (2, 2), "stride": (2, 2), "pool_type": "lp", "p_value": 2}),
    ((2, 3, 6, 5), {"kernel": (3, 2), "pool_type": "lp", "p_value": 1}),
    ((2, 3, 6, 5), {"kernel": (2, 2), "stride": (1, 2), "pool_type": "lp", "p_value": 3}),
    ((2, 3, 6, 5), {"global_pool": True}),
    ((2, 3, 6, 5), {"global_pool": True, "pool_type": "avg", "kernel": (2, 2)}),
    ((2, 3, 6), {"global_pool": True, "pool_type": "sum"}),
    ((1, 2, 4, 5, 6), {"kernel": (2, 2, 3), "stride": (2, 1, 2), "pad": (1, 0, 1)}),
    ((1, 2, 4, 5, 6), {"global_pool": True, "pool_type": "avg"}),
]


@pytest.mark.parametrize("shape,attrs", POOL_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_pooling_forward(shape, attrs, dtype):
    x = rand(shape, 3, 0.1, 2.0) if attrs.get("pool_type") == "lp" else rand(shape, 3)
    y = run("Pooling", [x], attrs, dtype)
    a = dict(attrs)
    a["count_include_pad"] = a.get("count_include_pad", True)
    ref = pool_ref(x.astype(dtype).astype(np.float64), **a)
    rtol, atol = tol(dtype)
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_allclose(y.asnumpy().astype(np.float64), ref, rtol=rtol, atol=atol)


def test_pooling_output_shapes():
    # valid floors, full ceils (no Caffe-style clipping of the last window), as MXNet
    x = nd.zeros((1, 1, 5, 5))
    assert nd.Pooling(x, kernel=(2, 2), stride=(2, 2)).shape == (1, 1, 2, 2)
    assert nd.Pooling(x, kernel=(2, 2), stride=(2, 2), pooling_convention="full").shape == (1, 1, 3, 3)
    assert nd.Pooling(x, kernel=(3, 3), stride=(2, 2), pad=(2, 2), pooling_convention="full").shape == (1, 1, 4, 4)
    assert nd.Pooling(x, global_pool=True).shape == (1, 1, 1, 1)
    assert nd.Pooling(nd.zeros((1, 1, 7)), kernel=(3,), stride=(2,), pooling_convention="same").shape == (1, 1, 4)


def test_pooling_full_convention_window_in_padding():
    # the last 'full' window lies in the padding only: max gives the lowest float, avg 0 (MXNet 1.9.1)
    x = np.arange(1.0, 5.0).reshape(1, 1, 4)
    attrs = dict(kernel=(2,), stride=(3,), pad=(1,), pooling_convention="full")
    assert nd.Pooling(nd.array(x), **attrs).shape == (1, 1, 3)
    np.testing.assert_array_equal(nd.Pooling(nd.array(x), pool_type="avg", **attrs).asnumpy().ravel(), [0.5, 3.5, 0])
    np.testing.assert_array_equal(nd.Pooling(nd.array(x), pool_type="max", **attrs).asnumpy().ravel(),
                                  np.array([1, 4, -3.4028235e38], np.float32))
    g = op_gradient("Pooling", [nd.array(x)], [nd.ones((1, 1, 3))], pool_type="max", **attrs)
    np.testing.assert_array_equal(g[0].asnumpy().ravel(), [1, 0, 0, 1])


POOL_GRAD_CASES = [
    ((2, 2, 7), {"kernel": (3,), "stride": (2,), "pad": (1,)}),
    ((1, 2, 5, 6), {"kernel": (2, 2), "stride": (2, 2)}),
    ((1, 2, 5, 6), {"kernel": (3, 3), "stride": (1, 2), "pad": (1, 1)}),  # overlapping windows
    ((1, 2, 5, 6), {"kernel": (3, 2), "stride": (2, 2), "pad": (1, 1), "pool_type": "avg"}),
    ((1, 2, 5, 6), {"kernel": (3, 2), "stride": (2, 2), "pad": (1, 1), "pool_type": "avg",
                    "count_include_pad": False, "pooling_convention": "full"}),
    ((1, 2, 5, 6), {"kernel": (2, 3), "stride": (2, 1), "pool_type": "sum"}),
    ((1, 2, 4, 4), {"kernel": (2, 2), "stride": (2, 2), "pool_type": "lp", "p_value": 2}),
    ((1, 2, 4, 4), {"kernel": (2, 2), "stride": (1, 1), "pool_type": "lp", "p_value": 3}),
    ((2, 3, 3, 4), {"global_pool": True, "pool_type": "max"}),
    ((2, 3, 3, 4), {"global_pool": True, "pool_type": "avg"}),
    ((1, 1, 3, 4, 4), {"kernel": (2, 2, 2), "stride": (1, 2, 2), "pool_type": "max"}),
]


@pytest.mark.parametrize("shape,attrs", POOL_GRAD_CASES)
def test_pooling_gradient(shape, attrs):
    # distinct values (a permutation) keep max's argmax away from ties under the finite differences
    n = int(np.prod(shape))
    x = (np.random.RandomState(4).permutation(n).reshape(shape) + 1.0) / n
    check_numeric_gradient("Pooling", [x], attrs, rtol=1e-5, atol=1e-7)


def test_max_pooling_gradient_goes_to_the_first_maximum():
    x = np.array([[[[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 1.0, 3.0]]]])
    g = op_gradient("Pooling", [nd.array(x)], [nd.array(np.array([[[[10.0, 20.0]]]]))], kernel=(2, 2), stride=(2, 2))
    np.testing.assert_array_equal(g[0].asnumpy(), [[[[0, 10, 20, 0], [0, 0, 0, 0]]]])
    # overlapping windows accumulate
    g = op_gradient("Pooling", [nd.array(np.array([[[1.0, 5.0, 2.0]]]))], [nd.array(np.ones((1, 1, 2)))],
                    kernel=(2,), stride=(1,))
    np.testing.assert_array_equal(g[0].asnumpy(), [[[0, 2, 0]]])



@pytest.mark.parametrize("hw", [(4, 6), (5, 7), (2, 2), (6, 37)])  # (6, 37): the vectorised body and its tail
def test_max_pooling_2x2_fast_path_matches_the_generic_one(hw):
    # 2-D 2x2/2 max pooling has its own loop; 3-D pooling with a (1, 2, 2) window over two depth
    # slices runs the generic one: both must give the same bits, ties and NaN included
    rng = np.random.RandomState(0)
    x = rng.randint(0, 3, (2, 3, 2) + hw).astype(np.float32)
    x[0, 0, 0, 0, 0] = np.nan
    dy = rng.uniform(-1, 1, (2, 3, 2, hw[0] // 2, hw[1] // 2)).astype(np.float32)
    generic = nd.Pooling(nd.array(x), kernel=(1, 2, 2), stride=(1, 2, 2)).asnumpy()
    g_generic = op_gradient("Pooling", [nd.array(x)], [nd.array(dy)], kernel=(1, 2, 2), stride=(1, 2, 2))[0]
    for d in range(2):
        fast = nd.Pooling(nd.array(x[:, :, d]), kernel=(2, 2), stride=(2, 2)).asnumpy()
        np.testing.assert_array_equal(fast, generic[:, :, d])
        g_fast = op_gradient("Pooling", [nd.array(x[:, :, d])], [nd.array(dy[:, :, d])], kernel=(2, 2), stride=(2, 2))
        np.testing.assert_array_equal(g_fast[0].asnumpy(), g_generic.asnumpy()[:, :, d])

def test_max_pooling_2x2_gradient_adds_under_grad_req_add():
    # grad_req="add" takes the fast path's accumulating loop: two backward passes give twice the
    # gradient, ties going to the first maximum both times
    rng = np.random.RandomState(1)
    x = rng.randint(0, 3, (2, 3, 6, 37)).astype(np.float32)
    dy = rng.uniform(-1, 1, (2, 3, 3, 18)).astype(np.float32)
    once = op_gradient("Pooling", [nd.array(x)], [nd.array(dy)], kernel=(2, 2), stride=(2, 2))[0].asnumpy()
    data = mx.sym.Variable("data")
    ex = mx.sym.Pooling(data, kernel=(2, 2), stride=(2, 2), pool_type="max").simple_bind(
        mx.cpu(), data=x.shape, grad_req="add")
    ex.arg_dict["data"][:] = x
    ex.grad_dict["data"][:] = 1.0
    for _ in range(2):
        ex.forward(is_train=True)
        ex.backward(nd.array(dy))
    np.testing.assert_allclose(ex.grad_dict["data"].asnumpy(), 1.0 + 2 * once, rtol=1e-6, atol=1e-6)
    assert (once[:, :, :, 36] == 0).all() and np.count_nonzero(once) == dy.size - np.count_nonzero(dy == 0)


# ---- BatchNorm ------------------------------------------------------------------------------- #
def bn_data():
    x = (np.sin(np.arange(2 * 3 * 4 * 5) * 0.7) * 2 + (np.arange(120) % 3) * 0.5).reshape(2, 3, 4, 5)
    gamma, beta = np.array([0.5, 1.5, -1.0]), np.array([0.1, -0.2, 0.3])
    mm, mv = np.array([0.2, -0.1, 0.05]), np.array([1.2, 0.8, 0.5])
    dy = np.cos(np.arange(120) * 0.3).reshape(2, 3, 4, 5)
    return x, gamma, beta, mm, mv, dy


# MXNet 1.9.1, float64, training (autograd.record(train_mode=True), then backward(dy)), fix_gamma=False,
# output_mean_var=True, default eps/momentum:
MX_BN_TRAIN = {
    "mean": [0.4136542373083548, 0.5759586208209464, 0.6071185037115646],
    "var": [0.6710591275695411, 0.6834060539037692, 0.6794364623031299],  # the inverse std!
    "moving_mean": [0.22136542882474947, -0.03240412180179598, 0.10571186365389668],
    "moving_var": [1.3019641602070295, 0.9340126967766706, 0.6665219096113204],
    "gamma_grad": [-0.368155766615378, 4.269794141202631, -1.2284242151001585],
    "beta_grad": [-1.297838528779856, -0.9304106338093973, -0.48886676115477756],
    "out[0, 17, 59, 119]": [-0.03879322580179426, -0.11807021327316372, 0.6354730886348867, -1.3242591759161917],
    "data_grad[0, 17, 59, 119]": [0.3455589071324382, 0.13636240748902573, -0.27912053426506434,
                                  0.24000102555506667],
}


def test_batchnorm_training_matches_mxnet():
    x, gamma, beta, mm, mv, dy = bn_data()
    arrs = [nd.array(a, dtype="float64") for a in (x, gamma, beta, mm, mv)]
    attrs = dict(fix_gamma=False, output_mean_var=True)
    with training():
        out, mean, var = nd.BatchNorm(*arrs, **attrs)
    # the forward pass alone leaves the moving statistics alone (MXNet updates them in backward)
    np.testing.assert_array_equal(arrs[3].asnumpy(), mm)
    np.testing.assert_array_equal(arrs[4].asnumpy(), mv)
    e = MX_BN_TRAIN
    np.testing.assert_allclose(mean.asnumpy(), e["mean"], rtol=1e-12)
    np.testing.assert_allclose(var.asnumpy(), e["var"], rtol=1e-12)
    np.testing.assert_allclose(out.asnumpy().ravel()[[0, 17, 59, 119]], e["out[0, 17, 59, 119]"], rtol=1e-12)
    ref = bn_ref(x, gamma, beta, mm, mv, fix_gamma=False, train=True)
    np.testing.assert_allclose(out.asnumpy(), ref[0], rtol=1e-12, atol=1e-12)
    # forward + backward in training: gradients, and the moving statistics updated in place
    # (output_mean_var shows 3 outputs: 3 output gradients; those of mean and var are ignored, as in MXNet)
    ograds = [nd.array(dy, dtype="float64"), nd.ones((3,), dtype="float64"), nd.ones((3,), dtype="float64")]
    gx, gg, gb, gmm, gmv = op_gradient("BatchNorm", arrs, ograds, **attrs)
    np.testing.assert_allclose(arrs[3].asnumpy(), e["moving_mean"], rtol=1e-12)
    np.testing.assert_allclose(arrs[4].asnumpy(), e["moving_var"], rtol=1e-12)
    np.testing.assert_allclose(gg.asnumpy(), e["gamma_grad"], rtol=1e-10)
    np.testing.assert_allclose(gb.asnumpy(), e["beta_grad"], rtol=1e-12)
    np.testing.assert_allclose(gx.asnumpy().ravel()[[0, 17, 59, 119]], e["data_grad[0, 17, 59, 119]"], rtol=1e-10)
    np.testing.assert_array_equal(gmm.asnumpy(), 0)
    np.testing.assert_array_equal(gmv.asnumpy(), 0)


# MXNet 1.9.1, float32, fix_gamma=True (default), training forward + backward(dy):
MX_BN_FIX_GAMMA = {
    "moving_mean": [0.22136543691158295, -0.03240412846207619, 0.10571186244487762],
    "moving_var": [1.301964282989502, 0.9340127110481262, 0.6665219068527222],
    "gamma_grad": [0.0, 0.0, 0.0],
    "beta_grad": [-1.2978394031524658, -0.9304108619689941, -0.48886653780937195],
    "out[0, 17, 59, 119]": [-0.17758652567863464, -0.336140513420105, -0.0354730486869812, 1.9242591857910156],
    "data_grad[0, 17, 59, 119]": [0.6911178827285767, 0.27272483706474304, 0.279120534658432, -0.24000102281570435],
}


def test_batchnorm_fix_gamma_float32():
    x, gamma, beta, mm, mv, dy = bn_data()
    arrs = [nd.array(a, dtype="float32") for a in (x, gamma, beta, mm, mv)]
    out = nd.BatchNorm(*arrs)  # inference: moving statistics, gamma ignored
    assert isinstance(out, nd.NDArray) and out.dtype == np.float32
    np.testing.assert_allclose(out.asnumpy(), bn_ref(x, gamma, beta, mm, mv)[0], rtol=1e-5, atol=1e-5)
    with training():
        out = nd.BatchNorm(*arrs)
    e = MX_BN_FIX_GAMMA
    np.testing.assert_allclose(out.asnumpy().ravel()[[0, 17, 59, 119]], e["out[0, 17, 59, 119]"], rtol=1e-5)
    gx, gg, gb = op_gradient("BatchNorm", arrs, [nd.array(dy, dtype="float32")])[:3]
    np.testing.assert_allclose(arrs[3].asnumpy(), e["moving_mean"], rtol=1e-6)
    np.testing.assert_allclose(arrs[4].asnumpy(), e["moving_var"], rtol=1e-6)
    np.testing.assert_array_equal(gg.asnumpy(), e["gamma_grad"])
    np.testing.assert_allclose(gb.asnumpy(), e["beta_grad"], rtol=1e-5)
    np.testing.assert_allclose(gx.asnumpy().ravel()[[0, 17, 59, 119]], e["data_grad[0, 17, 59, 119]"], rtol=1e-4,
                               atol=1e-6)
    np.testing.assert_array_equal(arrs[1].asnumpy(), gamma.astype(np.float32))  # gamma is not overwritten


def test_batchnorm_inference_and_global_stats():
    x, gamma, beta, mm, mv, dy = bn_data()
    arrs = [nd.array(a, dtype="float64") for a in (x, gamma, beta, mm, mv)]
    # inference: the moving statistics; the hidden "var" is 1/sqrt(moving_var + eps) (MXNet 1.9.1)
    out, mean, var = nd.BatchNorm(*arrs, fix_gamma=False, output_mean_var=True, eps=1e-2)
    ref = bn_ref(x, gamma, beta, mm, mv, eps=1e-2, fix_gamma=False)
    np.testing.assert_allclose(out.asnumpy(), ref[0], rtol=1e-12)
    np.testing.assert_allclose(mean.asnumpy(), mm, rtol=1e-15)
    np.testing.assert_allclose(var.asnumpy(), 1 / np.sqrt(mv + 1e-2), rtol=1e-12)
    # use_global_stats in training: the moving statistics, left unchanged by backward; dx = dy*gamma/std
    with training():
        out2 = nd.BatchNorm(*arrs, fix_gamma=False, use_global_stats=True, eps=1e-2)
    np.testing.assert_allclose(out2.asnumpy(), ref[0], rtol=1e-12)
    g = op_gradient("BatchNorm", arrs, [nd.array(dy, dtype="float64")], fix_gamma=False, use_global_stats=True)
    np.testing.assert_array_equal(arrs[3].asnumpy(), mm)
    np.testing.assert_array_equal(arrs[4].asnumpy(), mv)
    eps = float(np.float32(1e-3))  # MXNet's default eps is the float 1e-3f
    np.testing.assert_allclose(g[0].asnumpy(), dy * (gamma / np.sqrt(mv + eps)).reshape(1, 3, 1, 1), rtol=1e-12)


@pytest.mark.parametrize("shape,axis", [((4, 3), 1), ((2, 5, 3), -1), ((3, 2, 4), 0), ((2, 3, 2, 2, 2), 1)])
@pytest.mark.parametrize("train", [False, True])
def test_batchnorm_axes_and_momentum(shape, axis, train):
    x = rand(shape, 1) * 3 + 1
    C = shape[axis]
    gamma, beta, mm, mv = rand((C,), 2), rand((C,), 3), rand((C,), 4), rand((C,), 5, 0.5, 2.0)
    arrs = [nd.array(a, dtype="float64") for a in (x, gamma, beta, mm, mv)]
    attrs = dict(axis=axis, fix_gamma=False, momentum=0.7, eps=1e-4, output_mean_var=True)
    with training(train):
        out, mean, var = nd.BatchNorm(*arrs, **attrs)
    ref = bn_ref(x, gamma, beta, mm, mv, eps=1e-4, momentum=0.7, fix_gamma=False, axis=axis, train=train)
    np.testing.assert_allclose(out.asnumpy(), ref[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mean.asnumpy(), ref[1], rtol=1e-12)
    np.testing.assert_allclose(var.asnumpy(), ref[2], rtol=1e-10)
    if train:
        op_gradient("BatchNorm", arrs, [nd.array(np.ones(shape), dtype="float64"), mean, var], **attrs)
        np.testing.assert_allclose(arrs[3].asnumpy(), ref[3], rtol=1e-12)
        np.testing.assert_allclose(arrs[4].asnumpy(), ref[4], rtol=1e-10)


@pytest.mark.parametrize("global_stats", [False, True])
@pytest.mark.parametrize("fix_gamma", [False, True])
@pytest.mark.parametrize("shape,axis", [((3, 2, 4), 1), ((4, 3), -1)])
def test_batchnorm_gradient(global_stats, fix_gamma, shape, axis):
    # (the analytic gradient runs in training mode: use_global_stats gives the inference gradient)
    x = rand(shape, 6)
    C = shape[axis]
    ins = [x, rand((C,), 7), rand((C,), 8), rand((C,), 9), rand((C,), 10, 0.5, 1.5)]
    with training():  # the numeric forward passes use the batch statistics too
        g = check_numeric_gradient("BatchNorm", ins, dict(fix_gamma=fix_gamma, axis=axis, eps=1e-2,
                                                          use_global_stats=global_stats),
                                   rtol=1e-5, atol=1e-7, wrt=[0, 1, 2])
    if fix_gamma:
        np.testing.assert_array_equal(g[1].asnumpy(), 0)


def test_batchnorm_float16():
    x, gamma, beta, mm, mv, _ = bn_data()
    p32 = [nd.array(a, dtype="float32") for a in (gamma, beta, mm, mv)]
    out, mean, var = nd.BatchNorm(nd.array(x, dtype="float16"), *p32, output_mean_var=True, fix_gamma=False)
    assert (out.dtype, mean.dtype, var.dtype) == (np.float16, np.float32, np.float32)
    ref = bn_ref(x.astype(np.float16).astype(np.float64), gamma, beta, mm, mv, fix_gamma=False)
    np.testing.assert_allclose(out.asnumpy(), ref[0], rtol=2e-3, atol=2e-3)
    with pytest.raises(TypeError, match="BatchNorm: dtype of input 'gamma' is float16, expected float32"):
        nd.BatchNorm(nd.array(x, dtype="float16"), *[a.astype("float16") for a in p32])


# ---- LayerNorm ------------------------------------------------------------------------------- #
@pytest.mark.parametrize("shape,axis", [((2, 5), -1), ((3, 4, 6), -1), ((3, 4, 6), 1), ((3, 4, 6), 0), ((7,), 0)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_layernorm_forward(shape, axis, dtype):
    x = rand(shape, 11) * 2 + 0.5
    C = shape[axis]
    g, b = rand((C,), 12), rand((C,), 13)
    out, mean, std = run("LayerNorm", [x, g, b], dict(axis=axis, eps=1e-3, output_mean_var=True), dtype)
    xs = [a.astype(dtype).astype(np.float64) for a in (x, g, b)]
    ref = ln_ref(*xs, axis=axis, eps=1e-3)
    rtol, atol = tol(dtype)
    for a, r in zip((out, mean, std), ref):
        assert a.dtype == np.dtype(dtype) and a.shape == r.shape
        np.testing.assert_allclose(a.asnumpy().astype(np.float64), r, rtol=rtol, atol=atol)
    single = run("LayerNorm", [x, g, b], dict(axis=axis, eps=1e-3), dtype)
    assert isinstance(single, nd.NDArray)


@pytest.mark.parametrize("shape,axis", [((3, 5), -1), ((2, 3, 4), 1), ((3, 2, 2), 0)])
def test_layernorm_gradient(shape, axis):
    C = shape[axis]
    check_numeric_gradient("LayerNorm", [rand(shape, 14), rand((C,), 15), rand((C,), 16)], dict(axis=axis),
                           rtol=1e-5, atol=1e-7)


# ---- UpSampling ------------------------------------------------------------------------------ #
@pytest.mark.parametrize("shapes,scale,mode", [
    ([(2, 3, 4, 5)], 2, "concat"),
    ([(1, 2, 3, 3)], 3, "concat"),
    ([(1, 2, 3, 3)], 1, "concat"),
    ([(2, 2, 4, 4), (2, 3, 2, 2), (2, 1, 8, 8)], 2, "concat"),
    ([(2, 3, 2, 2), (2, 3, 1, 1)], 2, "sum"),
    ([(1, 2, 3, 3), (1, 2, 9, 9)], 3, "sum"),
])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_upsampling_nearest(shapes, scale, mode, dtype):
    xs = [rand(s, i) for i, s in enumerate(shapes)]
    y = run("UpSampling", xs, dict(scale=scale, sample_type="nearest", multi_input_mode=mode), dtype)
    ref = up_nearest_ref([x.astype(dtype).astype(np.float64) for x in xs], scale, mode)
    rtol, atol = tol(dtype)
    np.testing.assert_allclose(y.asnumpy().astype(np.float64), ref, rtol=rtol, atol=atol)


@pytest.mark.parametrize("shapes,scale,mode", [
    ([(1, 2, 2, 3)], 2, "concat"),
    ([(1, 2, 2, 2), (1, 1, 1, 1)], 2, "concat"),
    ([(1, 2, 2, 2), (1, 2, 4, 4)], 2, "sum"),
])
def test_upsampling_nearest_gradient(shapes, scale, mode):
    xs = [rand(s, i) for i, s in enumerate(shapes)]
    g = check_numeric_gradient("UpSampling", xs, dict(scale=scale, sample_type="nearest", multi_input_mode=mode,
                                                      num_args=len(xs)), rtol=1e-5, atol=1e-7)
    assert [a.shape for a in g] == [tuple(s) for s in shapes]


@pytest.mark.parametrize("scale", [1, 2, 3])
def test_upsampling_bilinear(scale):
    k = 2 * scale - scale % 2
    x, w = rand((2, 3, 3, 4), 1), rand((3, 1, k, k), 2)
    y = run("UpSampling", [x, w], dict(scale=scale, sample_type="bilinear", num_filter=3), "float64")
    assert y.shape == (2, 3, 3 * scale, 4 * scale)
    np.testing.assert_allclose(y.asnumpy(), up_bilinear_ref(x, w, scale), rtol=1e-12, atol=1e-12)
    check_numeric_gradient("UpSampling", [x[:1, :2], w[:2]], dict(scale=scale, sample_type="bilinear", num_filter=2,
                                                                  num_args=2), rtol=1e-5, atol=1e-7)


def test_upsampling_bilinear_mxnet_doc_example():
    y = nd.UpSampling(nd.ones((1, 1, 3, 3)), nd.ones((1, 1, 4, 4)), scale=2, sample_type="bilinear", num_filter=1)
    np.testing.assert_array_equal(y.asnumpy()[0, 0], [[1, 2, 2, 2, 2, 1]] + [[2, 4, 4, 4, 4, 2]] * 4 +
                                  [[1, 2, 2, 2, 2, 1]])


# ---- size-0 arrays --------------------------------------------------------------------------- #
def test_empty_batch():
    x = np.zeros((0, 3, 6, 6))
    w, b = rand((4, 3, 3, 3), 1), rand((4,), 2)
    y = run("Convolution", [x, w, b], dict(kernel=(3, 3), num_filter=4), "float32")
    assert y.shape == (0, 4, 4, 4)
    gx, gw, gb = op_gradient("Convolution", [nd.array(a) for a in (x, w, b)], [nd.zeros((0, 4, 4, 4))],
                             kernel=(3, 3), num_filter=4)
    assert gx.shape == (0, 3, 6, 6)
    np.testing.assert_array_equal(gw.asnumpy(), 0)
    np.testing.assert_array_equal(gb.asnumpy(), 0)
    y = run("Deconvolution", [x, rand((3, 2, 3, 3), 1)], dict(kernel=(3, 3), num_filter=2, stride=(2, 2)))
    assert y.shape == (0, 2, 13, 13)
    assert nd.Pooling(nd.array(x), kernel=(2, 2), stride=(2, 2)).shape == (0, 3, 3, 3)
    assert nd.Pooling(nd.array(x), global_pool=True, pool_type="avg").shape == (0, 3, 1, 1)
    g = op_gradient("Pooling", [nd.array(x)], [nd.zeros((0, 3, 3, 3))], kernel=(2, 2), stride=(2, 2))
    assert g[0].shape == (0, 3, 6, 6)
    assert nd.UpSampling(nd.array(x), scale=2, sample_type="nearest").shape == (0, 3, 12, 12)
    p = [nd.ones((3,)), nd.zeros((3,)), nd.zeros((3,)), nd.ones((3,))]
    with training():
        assert nd.BatchNorm(nd.array(x), *p).shape == (0, 3, 6, 6)
    g = op_gradient("BatchNorm", [nd.array(x)] + p, [nd.zeros((0, 3, 6, 6))])
    np.testing.assert_array_equal(p[2].asnumpy(), 0)  # an empty batch leaves the moving statistics alone
    np.testing.assert_array_equal(p[3].asnumpy(), 1)
    np.testing.assert_array_equal(g[2].asnumpy(), 0)
    out = nd.LayerNorm(nd.array(np.zeros((0, 5))), nd.ones((5,)), nd.zeros((5,)))
    assert out.shape == (0, 5)


def test_zero_channels():
    # no input channels: the convolution is the bias alone
    x, w, b = np.zeros((2, 0, 5, 5)), np.zeros((3, 0, 3, 3)), np.array([1.0, 2.0, 3.0])
    y = run("Convolution", [x, w, b], dict(kernel=(3, 3), num_filter=3), "float64")
    np.testing.assert_array_equal(y.asnumpy(), np.broadcast_to(b.reshape(1, 3, 1, 1), (2, 3, 3, 3)))
    g = op_gradient("Convolution", [nd.array(a, dtype="float64") for a in (x, w, b)], [nd.ones((2, 3, 3, 3),
                    dtype="float64")], kernel=(3, 3), num_filter=3)
    assert g[0].shape == (2, 0, 5, 5) and g[1].shape == (3, 0, 3, 3)
    np.testing.assert_array_equal(g[2].asnumpy(), [18, 18, 18])


def test_visible_outputs_and_out_argument():
    x, gamma, beta, mm, mv, _ = bn_data()
    arrs = [nd.array(a) for a in (x, gamma, beta, mm, mv)]
    o = nd.zeros(x.shape)
    r = nd.BatchNorm(*arrs, fix_gamma=False, out=o)  # the visible output only; the hidden ones are allocated
    assert r is o
    np.testing.assert_allclose(o.asnumpy(), bn_ref(x, gamma, beta, mm, mv, fix_gamma=False)[0], rtol=1e-5, atol=1e-5)
    outs = [nd.zeros(x.shape), nd.zeros((3,)), nd.zeros((3,))]
    nd.BatchNorm(*arrs, output_mean_var=True, out=outs)
    np.testing.assert_allclose(outs[1].asnumpy(), mm, rtol=1e-6)
    with pytest.raises(ValueError, match="expected 3 output array"):
        nd.BatchNorm(*arrs, out=[nd.zeros(x.shape), nd.zeros((3,))])


def test_backward_ops_check_the_output_gradient_shape():
    x, w = nd.zeros((2, 3, 6, 6)), nd.zeros((4, 3, 3, 3))
    with pytest.raises(ValueError, match=r"_backward_Convolution: the output gradient has shape \(2,4,3,3\), "
                                         r"expected \(2,4,4,4\)"):
        nd._backward_Convolution(nd.zeros((2, 4, 3, 3)), x, w, kernel=(3, 3), num_filter=4)
    with pytest.raises(ValueError, match=r"_backward_Pooling: input 'ograd' has shape \(2,3,2,2\), "
                                         r"expected \(2,3,3,3\)"):
        nd._backward_Pooling(nd.zeros((2, 3, 2, 2)), x, nd.zeros((2, 3, 3, 3)), kernel=(2, 2), stride=(2, 2))


# ---- shape and type inference ---------------------------------------------------------------- #
def test_output_shapes():
    assert nd.Convolution(nd.zeros((8, 3, 32, 32)), nd.zeros((16, 3, 5, 5)), nd.zeros((16,)), kernel=(5, 5),
                          num_filter=16, stride=(2, 2), pad=(2, 2)).shape == (8, 16, 16, 16)
    assert nd.Convolution(nd.zeros((8, 3, 32)), nd.zeros((16, 3, 5)), kernel=(5,), num_filter=16, no_bias=True,
                          dilate=(3,)).shape == (8, 16, 20)
    assert nd.Deconvolution(nd.zeros((2, 4, 5, 5)), nd.zeros((4, 3, 4, 4)), kernel=(4, 4), num_filter=3,
                            stride=(2, 2), pad=(1, 1)).shape == (2, 3, 10, 10)
    assert nd.Deconvolution(nd.zeros((2, 4, 5, 5)), nd.zeros((4, 3, 4, 4)), kernel=(4, 4), num_filter=3,
                            stride=(2, 2), pad=(1, 1), adj=(1, 0)).shape == (2, 3, 11, 10)


# ---- errors ------------------------------------------------------------------------------------ #
def conv_err(data_shape, w_shape, b_shape=(4,), **attrs):
    attrs.setdefault("kernel", (3, 3))
    attrs.setdefault("num_filter", 4)
    ins = [nd.zeros(data_shape), nd.zeros(w_shape)] + ([] if b_shape is None else [nd.zeros(b_shape)])
    return nd.Convolution(*ins, **attrs)


CONV_ERRORS = [
    (ValueError, r"Convolution: data shape \(8,3,32\) does not fit the 2-D kernel \(3,3\): expected 4-D input",
     lambda: conv_err((8, 3, 32), (4, 3, 3, 3))),
    (ValueError, r"Convolution: data shape \(2,3,5,5\) has 3 channels, which num_group 2 does not divide",
     lambda: conv_err((2, 3, 5, 5), (4, 1, 3, 3), num_group=2)),
    (ValueError, r"Convolution: num_filter 5 must be divisible by num_group 2",
     lambda: conv_err((2, 4, 5, 5), (5, 2, 3, 3), (5,), num_group=2, num_filter=5)),
    (ValueError, r"kernel size 3 \(dilated 5\) exceeds the input size 4 along axis 2",
     lambda: conv_err((2, 3, 4, 9), (4, 3, 3, 3), dilate=(2, 2))),
    (ValueError, r"input 'weight' has shape \(4,3,2,2\), expected \(4,3,3,3\)",
     lambda: conv_err((2, 3, 5, 5), (4, 3, 2, 2))),
    (ValueError, r"input 'bias' has shape \(3,\), expected \(4,\)",
     lambda: conv_err((2, 3, 5, 5), (4, 3, 3, 3), (3,))),
    (ValueError, r"Stride must have the same number of dimensions with kernel_size, but kernel_size is set to "
                 r"\(3,3\) while stride is \(1,\)", lambda: conv_err((2, 3, 5, 5), (4, 3, 3, 3), stride=(1,))),
    (ValueError, r"incorrect stride size: \(0,1\)", lambda: conv_err((2, 3, 5, 5), (4, 3, 3, 3), stride=(0, 1))),
    (ValueError, r"Convolution: kernel \(3,3,3,3\) must have 1, 2 or 3 dimensions",
     lambda: conv_err((2, 3, 5, 5), (4, 3, 3, 3), kernel=(3, 3, 3, 3))),
    (ValueError, r"required attribute 'kernel' is missing",
     lambda: nd.Convolution(nd.zeros((1, 1, 3, 3)), nd.zeros((1, 1, 3, 3)), nd.zeros((1,)), num_filter=1)),
    (ValueError, r"Convolution: expected 2 input\(s\), got 3",
     lambda: conv_err((2, 3, 5, 5), (4, 3, 3, 3), no_bias=True)),
    (ValueError, r"layout NCW does not fit a 2-D kernel", lambda: conv_err((2, 3, 5, 5), (4, 3, 3, 3), layout="NCW")),
    (RuntimeError, r"layout NHWC is not supported", lambda: conv_err((2, 3, 5, 5), (4, 3, 3, 3), layout="NHWC")),
    (TypeError, r"Convolution: dtype of input 'weight' is float64, expected float32",
     lambda: nd.Convolution(nd.zeros((2, 3, 5, 5)), nd.zeros((4, 3, 3, 3), dtype="float64"), nd.zeros((4,)),
                            kernel=(3, 3), num_filter=4)),
    (TypeError, r"Convolution: dtype int32 is not supported",
     lambda: nd.Convolution(*[nd.zeros(s, dtype="int32") for s in [(2, 3, 5, 5), (4, 3, 3, 3), (4,)]],
                            kernel=(3, 3), num_filter=4)),
    (ValueError, r"Deconvolution: adj 2 must be smaller than the stride 2 along axis 2",
     lambda: nd.Deconvolution(nd.zeros((1, 2, 3, 3)), nd.zeros((2, 2, 3, 3)), kernel=(3, 3), num_filter=2,
                              stride=(2, 2), adj=(2, 0))),
    (ValueError, r"Deconvolution: target_shape \(20,20\) is too big for data shape \(1,2,3,3\)",
     lambda: nd.Deconvolution(nd.zeros((1, 2, 3, 3)), nd.zeros((2, 2, 3, 3)), kernel=(3, 3), num_filter=2,
                              stride=(2, 2), target_shape=(20, 20))),
    (ValueError, r"Deconvolution: input 'weight' has shape \(2,4,3,3\), expected \(2,2,3,3\)",
     lambda: nd.Deconvolution(nd.zeros((1, 2, 3, 3)), nd.zeros((2, 4, 3, 3)), kernel=(3, 3), num_filter=2)),
    (ValueError, r"Pooling: data shape \(2,3,5,5\): kernel size \(6\) exceeds input \(5 padded to 5\) along axis 2",
     lambda: nd.Pooling(nd.zeros((2, 3, 5, 5)), kernel=(6, 2))),
    (ValueError, r"Pooling: data shape \(2,3,5\) does not fit the 2-D kernel \(2,2\): expected 4-D input",
     lambda: nd.Pooling(nd.zeros((2, 3, 5)), kernel=(2, 2))),
    (ValueError, r"Pooling: data shape \(2,3\): input data should be 3-D",
     lambda: nd.Pooling(nd.zeros((2, 3)), kernel=(2,))),
    (ValueError, r"the 'same' pooling convention supports 1-D data",
     lambda: nd.Pooling(nd.zeros((2, 3, 5, 5)), kernel=(2, 2), pooling_convention="same")),
    (ValueError, r"Pooling: p_value is required for lp pooling",
     lambda: nd.Pooling(nd.zeros((2, 3, 5, 5)), kernel=(2, 2), pool_type="lp")),
    (ValueError, r"Pooling: kernel is required unless global_pool is set",
     lambda: nd.Pooling(nd.zeros((2, 3, 5, 5)))),
    (RuntimeError, r"Pooling: layout NHWC is not supported",
     lambda: nd.Pooling(nd.zeros((2, 5, 5, 3)), kernel=(2, 2), layout="NHWC")),
    (ValueError, r"invalid value for attribute 'pool_type'",
     lambda: nd.Pooling(nd.zeros((2, 3, 5, 5)), kernel=(2, 2), pool_type="median")),
    (IndexError, r"BatchNorm: axis 3 is out of range for data shape \(2,3,4\)",
     lambda: nd.BatchNorm(nd.zeros((2, 3, 4)), *[nd.ones((3,))] * 4, axis=3)),
    (ValueError, r"BatchNorm: input 'gamma' has shape \(4,\), expected \(3,\)",
     lambda: nd.BatchNorm(nd.zeros((2, 3, 4)), nd.ones((4,)), *[nd.ones((3,))] * 3)),
    (TypeError, r"BatchNorm: dtype of input 'moving_var' is float64, expected float32",
     lambda: nd.BatchNorm(nd.zeros((2, 3, 4)), *[nd.ones((3,))] * 3, nd.ones((3,), dtype="float64"))),
    (ValueError, r"LayerNorm: input 'beta' has shape \(3,\), expected \(4,\)",
     lambda: nd.LayerNorm(nd.zeros((2, 3, 4)), nd.ones((4,)), nd.ones((3,)))),
    (IndexError, r"LayerNorm: axis -4 is out of range", lambda: nd.LayerNorm(nd.zeros((2, 3, 4)), nd.ones((4,)),
                                                                            nd.ones((4,)), axis=-4)),
    (ValueError, r"UpSampling: arg0 shape \(2,3,4\): UpSamplingNearest input data should be 4-D",
     lambda: nd.UpSampling(nd.zeros((2, 3, 4)), scale=2, sample_type="nearest")),
    (ValueError, r"UpSampling: input arg1 shape \(1,2,3,3\) does not upsample to the output size \(8, 8\)",
     lambda: nd.UpSampling(nd.zeros((1, 2, 4, 4)), nd.zeros((1, 2, 3, 3)), scale=2, sample_type="nearest")),
    (ValueError, r"the number of channels must be the same when multi_input_mode is 'sum'",
     lambda: nd.UpSampling(nd.zeros((1, 2, 4, 4)), nd.zeros((1, 3, 2, 2)), scale=2, sample_type="nearest",
                           multi_input_mode="sum")),
    (ValueError, r"UpSampling: num_filter \(2\) must equal the number of channels of data \(1,3,4,4\)",
     lambda: nd.UpSampling(nd.zeros((1, 3, 4, 4)), nd.zeros((3, 1, 4, 4)), scale=2, sample_type="bilinear",
                           num_filter=2)),
    (ValueError, r"required attribute 'sample_type' is missing", lambda: nd.UpSampling(nd.zeros((1, 3, 4, 4)), scale=2)),
]


@pytest.mark.parametrize("exc,match,fn", CONV_ERRORS)
def test_errors(exc, match, fn):
    with pytest.raises(exc, match=match):
        fn().wait_to_read()
