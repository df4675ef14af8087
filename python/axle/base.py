"""MXNet-compatible names for errors and small helpers (mx.base)."""
from ._lib import AxleError, MXNetError, check  # noqa: F401

import numpy as np

# numpy dtype <-> core dtype code (MXNet's type flags)
_DTYPE_CODES = {
    np.dtype(np.float32): 0, np.dtype(np.float64): 1, np.dtype(np.float16): 2, np.dtype(np.uint8): 3,
    np.dtype(np.int32): 4, np.dtype(np.int8): 5, np.dtype(np.int64): 6, np.dtype(np.bool_): 7,
}
_CODE_DTYPES = {v: k for k, v in _DTYPE_CODES.items()}
_CODE_NAMES = {v: k.name for k, v in _DTYPE_CODES.items()}


def dtype_code(dtype):
    """The core's code for a numpy-compatible dtype (np.float32, 'float32', ...)."""
    if dtype is None:
        return 0
    try:
        d = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unsupported dtype {dtype!r}") from None
    try:
        return _DTYPE_CODES[d]
    except KeyError:
        raise TypeError(f"unsupported dtype {d} (Axle supports float32, float64, float16, uint8, int32, "
                        "int8, int64 and bool)") from None


def code_dtype(code):
    return _CODE_DTYPES[code]


def dtype_name(dtype):
    return _CODE_NAMES[dtype_code(dtype)]


_Null = None
string_types = (str,)
numeric_types = (float, int, np.generic)
integer_types = (int, np.integer)


def live_handle_count():
    """Number of live core handles of any kind (arrays, symbols, executors): leak accounting.
    Python objects free theirs when collected."""
    from ._lib import ffi, lib
    n = ffi.new("int64_t*")
    check(lib.AxGetLiveHandleCount(n))
    return n[0]
