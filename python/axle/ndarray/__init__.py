"""Imperative NDArrays (mx.nd): creation, arithmetic, every registered op as a function."""
from . import random  # noqa: F401
from ._op import OpInfo, list_ops, make_function
from .ndarray import NDArray, arange, array, concatenate, empty, full, ones, waitall, zeros  # noqa: F401
from .ndarray import (add, divide, equal, greater, greater_equal, lesser, lesser_equal, maximum,  # noqa: F401
                      minimum, modulo, multiply, not_equal, power, subtract, true_divide)
from .utils import load, load_frombuffer, save  # noqa: F401


def from_dlpack(x):
    """An NDArray sharing memory with x (numpy/torch/cupy array or DLPack capsule)."""
    from .._dlpack import from_dlpack as _f
    return _f(x)


def to_dlpack_for_read(arr):
    return arr.__dlpack__()


to_dlpack_for_write = to_dlpack_for_read


def _register_ops():
    """Adds a function per registered op (the ones defined above keep their Python form)."""
    g = globals()
    for name in list_ops():
        if name in g:
            continue
        fn = make_function(OpInfo(name))
        g[name] = fn


_register_ops()


# NDArray methods that MXNet 1.x defines as shortcuts to ops: a.sum(axis=1) == nd.sum(a, axis=1).
_METHODS = ["sum", "mean", "max", "min", "prod", "nansum", "nanprod", "norm", "argmax", "argmin", "clip",
            "broadcast_to", "broadcast_axes", "broadcast_like", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt",
            "square", "reciprocal", "sign", "round", "floor", "ceil", "sin", "cos", "tanh", "sigmoid", "relu",
            "softmax", "log_softmax", "flatten", "expand_dims", "squeeze", "tile", "repeat", "one_hot", "take",
            "pick", "slice", "slice_axis", "split", "zeros_like", "ones_like"]


def _install_methods():
    g = globals()
    for name in _METHODS:
        fn = g.get(name)
        if fn is None or hasattr(NDArray, name):
            continue

        def method(self, *args, _fn=fn, **kwargs):
            return _fn(self, *args, **kwargs)
        method.__name__ = name
        method.__doc__ = f"Same as axle.nd.{name}(self, ...).\n\n" + (fn.__doc__ or "")
        setattr(NDArray, name, method)


_install_methods()
