"""Helpers for testing ops (MXNet's mx.test_utils): numeric gradient checks and comparisons."""
import contextlib

import numpy as np

from . import ndarray as nd
from ._lib import ffi, lib
from .ndarray._op import op_gradient

__all__ = ["op_gradient", "numeric_grad", "check_numeric_gradient", "assert_almost_equal", "training"]


@contextlib.contextmanager
def training(on=True):
    """Runs the block with ops in training mode (on) or inference mode on this thread."""
    prev = ffi.new("int*")
    lib.AxSetIsTraining(1 if on else 0, prev)
    try:
        yield
    finally:
        lib.AxSetIsTraining(prev[0], ffi.NULL)


def assert_almost_equal(a, b, rtol=1e-5, atol=1e-7, names=("a", "b")):
    a = a.asnumpy() if isinstance(a, nd.NDArray) else np.asarray(a)
    b = b.asnumpy() if isinstance(b, nd.NDArray) else np.asarray(b)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"{names[0]} vs {names[1]}")


def _forward(op, arrays, attrs, dtype):
    outs = getattr(nd, op)(*[nd.array(x, dtype=dtype) for x in arrays], **attrs)
    outs = outs if isinstance(outs, list) else [outs]
    return [o.asnumpy().astype(np.float64) for o in outs]


def numeric_grad(op, inputs, ograds, attrs=None, eps=1e-4, dtype=np.float64, wrt=None):
    """Central differences of sum(out_k * ograd_k) with respect to each input (float64 numpy arrays)."""
    attrs = attrs or {}
    wrt = range(len(inputs)) if wrt is None else wrt
    grads = []
    for i in range(len(inputs)):
        if i not in wrt:
            grads.append(None)
            continue
        x = np.array(inputs[i], dtype=np.float64)
        g = np.zeros_like(x)
        flat, gflat = x.reshape(-1), g.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            vals = []
            for step in (eps, -eps):
                flat[j] = old + step
                args = list(inputs)
                args[i] = x
                outs = _forward(op, args, attrs, dtype)
                vals.append(sum(float((o * og).sum()) for o, og in zip(outs, ograds)))
            flat[j] = old
            gflat[j] = (vals[0] - vals[1]) / (2 * eps)
        grads.append(g)
    return grads


def check_numeric_gradient(op, inputs, attrs=None, rtol=1e-4, atol=1e-6, eps=1e-4, seed=0, wrt=None):
    """Checks op's registered gradient against central differences, in float64, for random
    output gradients. inputs: numpy arrays. Returns the analytic gradients."""
    attrs = attrs or {}
    rng = np.random.RandomState(seed)
    outs = _forward(op, inputs, attrs, np.float64)
    ograds = [rng.uniform(-1, 1, o.shape) for o in outs]
    analytic = op_gradient(op, [nd.array(x, dtype=np.float64) for x in inputs],
                           [nd.array(g, dtype=np.float64) for g in ograds], **attrs)
    numeric = numeric_grad(op, inputs, ograds, attrs, eps=eps, wrt=wrt)
    for i, (a, n) in enumerate(zip(analytic, numeric)):
        if n is None:
            continue
        np.testing.assert_allclose(a.asnumpy(), n, rtol=rtol, atol=atol,
                                   err_msg=f"{op}: gradient of input {i} differs from central differences")
    return analytic
