"""The raw layer: the compiled cffi module over include/axle.h and the status check.

Everything above this module talks to the core only through `ffi`, `lib` and `check`.
"""
import os
import sys


def _find_cublas():
    """Tells the CUDA backend where the nvidia-cublas wheel's library is (it dlopens it lazily)."""
    if "AXLE_CUBLAS_DIR" in os.environ:
        return
    for p in sys.path:
        for sub in (("nvidia", "cu13", "lib"), ("nvidia", "cublas", "lib")):  # CUDA 13 wheels, older layout
            d = os.path.join(p or ".", *sub)
            if os.path.isfile(os.path.join(d, "libcublas.so.13")):
                os.environ["AXLE_CUBLAS_DIR"] = d
                return


_find_cublas()

from ._axle_cffi import ffi, lib  # noqa: E402

__all__ = ["ffi", "lib", "check", "AxleError", "MXNetError", "last_error"]


class AxleError(Exception):
    """An error reported by the Axle core."""


MXNetError = AxleError  # code written for MXNet catches mx.base.MXNetError


class InvalidArgumentError(AxleError, ValueError):
    pass


class InvalidHandleError(AxleError, ValueError):
    pass


class ShapeError(AxleError, ValueError):
    pass


class DTypeError(AxleError, TypeError):
    pass


class AxleIndexError(AxleError, IndexError):
    pass


class AxleIOError(AxleError, OSError):
    pass


class AxleMemoryError(AxleError, MemoryError):
    pass


class NotSupportedError(AxleError, RuntimeError):
    pass


_BY_STATUS = {
    lib.AX_ERR_INVALID_ARGUMENT: InvalidArgumentError,
    lib.AX_ERR_INVALID_HANDLE: InvalidHandleError,
    lib.AX_ERR_SHAPE: ShapeError,
    lib.AX_ERR_TYPE: DTypeError,
    lib.AX_ERR_INDEX: AxleIndexError,
    lib.AX_ERR_IO: AxleIOError,
    lib.AX_ERR_OUT_OF_MEMORY: AxleMemoryError,
    lib.AX_ERR_NOT_SUPPORTED: NotSupportedError,
    lib.AX_ERR_RUNTIME: AxleError,
}


def last_error():
    return ffi.string(lib.AxGetLastError()).decode("utf-8", "replace")


def check(rc):
    """Raises the exception that matches a non-zero status, with the core's message."""
    if rc:
        raise _BY_STATUS.get(rc, AxleError)(last_error())


def _check_version():
    v = ffi.new("int[3]")
    check(lib.AxGetVersion(v, v + 1, v + 2))
    if v[0] != lib.AX_VERSION_MAJOR:
        raise ImportError(
            f"libaxle {v[0]}.{v[1]}.{v[2]} does not match the Python package's header "
            f"{lib.AX_VERSION_MAJOR}.{lib.AX_VERSION_MINOR}.{lib.AX_VERSION_PATCH}: reinstall axle")
    return tuple(v)


LIB_VERSION = _check_version()
