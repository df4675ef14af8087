"""Devices: Context, cpu(), gpu(), the default context, and the memory pools' statistics."""
import threading

from ._lib import check, ffi, lib

__all__ = ["Context", "cpu", "gpu", "current_context", "num_gpus", "memory_stats", "empty_cache"]


class Context:
    """A device: Context('cpu', 0) or Context('gpu', 1). Usable in `with` to set the default."""
    devtype2str = {1: "cpu", 2: "gpu"}
    devstr2type = {"cpu": 1, "gpu": 2}
    _default = threading.local()

    def __init__(self, device_type, device_id=0):
        if isinstance(device_type, Context):
            self.device_typeid, self.device_id = device_type.device_typeid, device_type.device_id
            return
        if device_type not in self.devstr2type:
            raise ValueError(f"unknown device type {device_type!r} (expected 'cpu' or 'gpu')")
        self.device_typeid = self.devstr2type[device_type]
        self.device_id = int(device_id)

    @property
    def device_type(self):
        return self.devtype2str[self.device_typeid]

    def __eq__(self, other):
        return isinstance(other, Context) and (self.device_typeid, self.device_id) == (other.device_typeid, other.device_id)

    def __hash__(self):
        return hash((self.device_typeid, self.device_id))

    def __repr__(self):
        return f"{self.device_type}({self.device_id})"

    __str__ = __repr__

    def __enter__(self):
        stack = _stack()
        stack.append(self)
        return self

    def __exit__(self, *exc):
        _stack().pop()

    def empty_cache(self):
        empty_cache(self)


def _stack():
    s = getattr(Context._default, "stack", None)
    if s is None:
        s = Context._default.stack = []
    return s


def cpu(device_id=0):
    return Context("cpu", device_id)


def gpu(device_id=0):
    return Context("gpu", device_id)


def cpu_pinned(device_id=0):
    return Context("cpu", device_id)


def current_context():
    s = _stack()
    return s[-1] if s else Context("cpu", 0)


def num_gpus():
    n = ffi.new("int*")
    check(lib.AxGetGPUCount(n))
    return n[0]


def memory_stats(ctx=None):
    """Pool statistics of a device: bytes_in_use, bytes_pooled, num_allocs, pool_hits, peak_bytes_in_use."""
    ctx = ctx or current_context()
    v = ffi.new("int64_t[5]")
    check(lib.AxStorageGetStats(ctx.device_typeid, ctx.device_id, v, v + 1, v + 2, v + 3, v + 4))
    return {"bytes_in_use": v[0], "bytes_pooled": v[1], "num_allocs": v[2], "pool_hits": v[3],
            "peak_bytes_in_use": v[4]}


def empty_cache(ctx=None):
    """Gives the pooled, unused memory of a device back to the system."""
    ctx = ctx or current_context()
    check(lib.AxStorageEmptyCache(ctx.device_typeid, ctx.device_id))
