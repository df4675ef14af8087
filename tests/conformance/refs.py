"""numpy float64 references of the layer ops the conformance cases need (direct loops: slow and
obvious, for small shapes). Layouts are MXNet's NC[D]HW."""
import itertools

import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x, axis=-1, t=1.0):
    e = np.exp((x - x.max(axis=axis, keepdims=True)) / t)
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1, t=1.0):
    z = (x - x.max(axis=axis, keepdims=True)) / t
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def layer_norm(x, g, b, axis=-1, eps=1e-5):
    m = x.mean(axis=axis, keepdims=True)
    v = ((x - m) ** 2).mean(axis=axis, keepdims=True)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    return (x - m) / np.sqrt(v + eps) * g.reshape(shape) + b.reshape(shape)


def conv(x, w, b, stride, pad, dilate, groups=1):
    nd = x.ndim - 2
    x = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pad])
    n, c = x.shape[:2]
    f, k = w.shape[0], w.shape[2:]
    osz = [(x.shape[2 + i] - dilate[i] * (k[i] - 1) - 1) // stride[i] + 1 for i in range(nd)]
    out = np.zeros((n, f) + tuple(osz))
    cg, fg = c // groups, f // groups
    for p in itertools.product(*[range(s) for s in osz]):
        for kk in itertools.product(*[range(s) for s in k]):
            xs = x[(slice(None), slice(None)) + tuple(p[i] * stride[i] + kk[i] * dilate[i] for i in range(nd))]
            for g in range(groups):
                out[(slice(None), slice(g * fg, (g + 1) * fg)) + p] += \
                    xs[:, g * cg:(g + 1) * cg] @ w[(slice(g * fg, (g + 1) * fg), slice(None)) + kk].T
    if b is not None:
        out += b.reshape((1, f) + (1,) * nd)
    return out


def deconv(x, w, b, stride, pad, dilate, adj, groups=1):
    """The transpose of conv: weight (in_channels, out_channels / groups, k...)."""
    nd = x.ndim - 2
    n, c = x.shape[:2]
    fg, k = w.shape[1], w.shape[2:]
    f = fg * groups
    full = [(x.shape[2 + i] - 1) * stride[i] + dilate[i] * (k[i] - 1) + 1 + adj[i] for i in range(nd)]
    out = np.zeros((n, f) + tuple(full))
    cg = c // groups
    for p in itertools.product(*[range(s) for s in x.shape[2:]]):
        for kk in itertools.product(*[range(s) for s in k]):
            o = tuple(p[i] * stride[i] + kk[i] * dilate[i] for i in range(nd))
            for g in range(groups):
                out[(slice(None), slice(g * fg, (g + 1) * fg)) + o] += \
                    x[(slice(None), slice(g * cg, (g + 1) * cg)) + p] @ w[(slice(g * cg, (g + 1) * cg), slice(None)) + kk]
    out = out[(slice(None), slice(None)) + tuple(slice(pad[i], full[i] - pad[i]) for i in range(nd))]
    if b is not None:
        out += b.reshape((1, f) + (1,) * nd)
    return out


def _windows(x, k, stride, pad, full=False):
    nd = x.ndim - 2
    sz = x.shape[2:]
    if full:
        osz = [int(np.ceil((sz[i] + 2 * pad[i] - k[i]) / stride[i])) + 1 for i in range(nd)]
    else:
        osz = [(sz[i] + 2 * pad[i] - k[i]) // stride[i] + 1 for i in range(nd)]
    for p in itertools.product(*[range(s) for s in osz]):
        lo = [p[i] * stride[i] - pad[i] for i in range(nd)]
        hi = [min(lo[i] + k[i], sz[i]) for i in range(nd)]
        lo_c = [max(v, 0) for v in lo]
        yield p, osz, tuple(slice(a, b) for a, b in zip(lo_c, hi))


def max_pool(x, k, stride, pad, full=False):
    out = None
    for p, osz, win in _windows(x, k, stride, pad, full):
        if out is None:
            out = np.zeros(x.shape[:2] + tuple(osz))
        out[(slice(None), slice(None)) + p] = x[(slice(None), slice(None)) + win].max(axis=tuple(range(2, x.ndim)))
    return out


def avg_pool(x, k, stride, pad, kind="avg", p_value=2):
    """avg counts the padding (MXNet's count_include_pad default); sum; lp (p_value)."""
    out = None
    for p, osz, win in _windows(x, k, stride, pad):
        if out is None:
            out = np.zeros(x.shape[:2] + tuple(osz))
        w = x[(slice(None), slice(None)) + win]
        axes = tuple(range(2, x.ndim))
        if kind == "avg":
            v = w.sum(axis=axes) / np.prod(k)
        elif kind == "sum":
            v = w.sum(axis=axes)
        else:
            v = (np.abs(w) ** p_value).sum(axis=axes) ** (1.0 / p_value)
        out[(slice(None), slice(None)) + p] = v
    return out
