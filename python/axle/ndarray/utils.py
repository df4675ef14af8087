"""Saving and loading NDArrays in MXNet 1.x's .params format."""
import os

from .._lib import check, ffi, lib
from .ndarray import NDArray, _new

__all__ = ["save", "load", "load_frombuffer"]


def save(fname, data):
    """Saves an NDArray, a list of NDArrays or a dict of str -> NDArray to fname (MXNet's format).

    The file is written beside the target and renamed into place, so a failed save leaves an
    existing file as it was."""
    if isinstance(data, NDArray):
        data = [data]
    if isinstance(data, dict):
        names = list(data.keys())
        arrays = list(data.values())
        if not all(isinstance(k, str) for k in names):
            raise TypeError("save: dict keys must be str")
    elif isinstance(data, (list, tuple)):
        names, arrays = None, list(data)
    else:
        raise TypeError("save: data must be an NDArray, a list or a dict of NDArrays")
    if not all(isinstance(a, NDArray) for a in arrays):
        raise TypeError("save: every value must be an NDArray")
    handles = ffi.new("AxNDArrayHandle[]", [a.handle for a in arrays]) if arrays else ffi.NULL
    if names is not None:
        keep = [ffi.new("char[]", n.encode()) for n in names]
        cnames = ffi.new("char*[]", keep)
    else:
        cnames = ffi.NULL
    check(lib.AxNDArraySave(os.fsencode(fname), len(arrays), handles, cnames))


def _unpack(n, arrays, nn, names):
    res = [_new(arrays[0][i]) for i in range(n[0])]
    if nn[0] == 0:
        return res
    return {ffi.string(names[0][i]).decode(): res[i] for i in range(nn[0])}


def load(fname):
    """Loads a .params file: a list, or a dict when the file has names. Arrays land on cpu(0)."""
    n, arrays, nn, names = ffi.new("int*"), ffi.new("AxNDArrayHandle**"), ffi.new("int*"), ffi.new("char***")
    check(lib.AxNDArrayLoad(os.fsencode(fname), n, arrays, nn, names))
    return _unpack(n, arrays, nn, names)


def load_frombuffer(buf):
    """Like load, from the bytes of a .params file."""
    buf = bytes(buf)
    n, arrays, nn, names = ffi.new("int*"), ffi.new("AxNDArrayHandle**"), ffi.new("int*"), ffi.new("char***")
    check(lib.AxNDArrayLoadFromBuffer(ffi.from_buffer(buf), len(buf), n, arrays, nn, names))
    return _unpack(n, arrays, nn, names)
