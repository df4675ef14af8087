"""DLPack capsules: "dltensor_versioned" (DLPack 1.0) and the older "dltensor" (v0.8 ABI)."""
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


def _addr(name):
    return int(ffi.cast("uintptr_t", ffi.addressof(lib, name)))


_DESTRUCTOR = _addr("ax_dlpack_capsule_destructor")
_DESTRUCTOR_V = _addr("ax_dlpack_versioned_capsule_destructor")


def to_capsule(arr, versioned=False, stream=None):
    """A capsule sharing arr's memory (waits for the ops pending on arr first). stream: a consumer's
    GPU stream (__dlpack__'s protocol): a GPU array's pending work is ordered before it on the
    device instead of the host waiting for it."""
    p = ffi.new("void**")
    if stream is not None:
        check(lib.AxNDArrayToDLPackForStream(arr.handle, int(versioned), int(stream), p))
        name, destructor = (b"dltensor_versioned", _DESTRUCTOR_V) if versioned else (b"dltensor", _DESTRUCTOR)
        return _api.PyCapsule_New(int(ffi.cast("uintptr_t", p[0])), name, destructor)
    if versioned:
        check(lib.AxNDArrayToDLPackVersioned(arr.handle, p))
        return _api.PyCapsule_New(int(ffi.cast("uintptr_t", p[0])), b"dltensor_versioned", _DESTRUCTOR_V)
    check(lib.AxNDArrayToDLPack(arr.handle, p))
    return _api.PyCapsule_New(int(ffi.cast("uintptr_t", p[0])), b"dltensor", _DESTRUCTOR)


def data_pointer(arr):
    """The address of arr's first element, after the ops pending on it (for __cuda_array_interface__)."""
    cap = to_capsule(arr)  # the tensor view (DLTensor first in DLManagedTensor); freed with the capsule
    p = _api.PyCapsule_GetPointer(cap, b"dltensor")
    data = ctypes.c_void_p.from_address(p).value or 0
    byte_offset = ctypes.c_uint64.from_address(p + 40).value  # data, device, ndim+dtype, shape, strides
    return data + byte_offset


def from_dlpack(x):
    """An NDArray sharing the memory of x: an object with __dlpack__ (numpy, torch, cupy) or a capsule."""
    from .ndarray.ndarray import _new
    capsule = x
    if hasattr(x, "__dlpack__"):
        try:
            capsule = x.__dlpack__(max_version=(1, 0))
        except TypeError:  # a producer older than the 2023 protocol
            capsule = x.__dlpack__()
    out = ffi.new("AxNDArrayHandle*")
    if _api.PyCapsule_IsValid(capsule, b"dltensor_versioned"):
        ptr = _api.PyCapsule_GetPointer(capsule, b"dltensor_versioned")
        check(lib.AxNDArrayFromDLPackVersioned(ffi.cast("void*", ptr), out))
        _api.PyCapsule_SetName(capsule, b"used_dltensor_versioned")  # Axle owns the tensor now
    elif _api.PyCapsule_IsValid(capsule, b"dltensor"):
        ptr = _api.PyCapsule_GetPointer(capsule, b"dltensor")
        check(lib.AxNDArrayFromDLPack(ffi.cast("void*", ptr), out))
        _api.PyCapsule_SetName(capsule, b"used_dltensor")
    else:
        raise ValueError("from_dlpack: expected an object with __dlpack__ or an unconsumed DLPack capsule "
                         "('dltensor' or 'dltensor_versioned')")
    return _new(out[0])
