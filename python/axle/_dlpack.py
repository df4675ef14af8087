"""DLPack capsules (the unversioned "dltensor" protocol, DLPack v0.8 ABI)."""
import ctypes

from ._lib import check, ffi, lib

_api = ctypes.pythonapi
_api.PyCapsule_New.restype = ctypes.py_object
_api.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
_api.PyCapsule_GetPointer.restype = ctypes.c_void_p
_api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_SetName.restype = ctypes.c_int
_api.PyCapsule_SetName.argtypes = [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_IsValid.restype = ctypes.c_int
_api.PyCapsule_IsValid.argtypes = [ctypes.py_object, ctypes.c_char_p]

_DESTRUCTOR = int(ffi.cast("uintptr_t", ffi.addressof(lib, "ax_dlpack_capsule_destructor")))


def to_capsule(arr):
    """A "dltensor" capsule sharing arr's memory (waits for pending writes first)."""
    p = ffi.new("void**")
    check(lib.AxNDArrayToDLPack(arr.handle, p))
    return _api.PyCapsule_New(int(ffi.cast("uintptr_t", p[0])), b"dltensor", _DESTRUCTOR)


def from_dlpack(x):
    """An NDArray sharing the memory of x: an object with __dlpack__ (numpy, torch, cupy) or a capsule."""
    from .ndarray.ndarray import _new
    capsule = x.__dlpack__() if hasattr(x, "__dlpack__") else x
    if not _api.PyCapsule_IsValid(capsule, b"dltensor"):
        raise ValueError("from_dlpack: expected an unconsumed DLPack capsule named 'dltensor'")
    ptr = _api.PyCapsule_GetPointer(capsule, b"dltensor")
    out = ffi.new("AxNDArrayHandle*")
    check(lib.AxNDArrayFromDLPack(ffi.cast("void*", ptr), out))
    _api.PyCapsule_SetName(capsule, b"used_dltensor")  # Axle now owns the tensor
    return _new(out[0])
