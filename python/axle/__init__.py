"""Axle: a deep learning framework with the programming model of Apache MXNet 1.x.

    import axle as mx
    a = mx.nd.ones((2, 3))
    print((a * 2 + 1).asnumpy())
"""
import atexit as _atexit

from . import _lib
from . import base, context, ndarray, random, test_utils  # noqa: F401
from . import attribute, executor, name, symbol  # noqa: F401
from .attribute import AttrScope  # noqa: F401
from .base import AxleError, MXNetError  # noqa: F401
from .context import Context, cpu, current_context, gpu, num_gpus  # noqa: F401
from .executor import Executor  # noqa: F401
from . import callback, init, io, lr_scheduler, metric, model, optimizer, registry  # noqa: F401
from . import mod  # noqa: F401

nd = ndarray
sym = symbol
initializer = init

__version__ = "%d.%d.%d" % _lib.LIB_VERSION


def _drain():
    # Let pending ops finish before the interpreter tears down (their errors no longer matter).
    try:
        _lib.lib.AxEngineWaitAll()
    except Exception:
        pass


_atexit.register(_drain)
