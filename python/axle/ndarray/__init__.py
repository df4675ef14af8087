"""Imperative NDArrays (mx.nd): creation, arithmetic, every registered op as a function."""
from . import random  # noqa: F401
from ._op import OpInfo, list_ops, make_function
from .ndarray import NDArray, arange, array, concatenate, empty, full, ones, waitall, zeros  # noqa: F401
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
