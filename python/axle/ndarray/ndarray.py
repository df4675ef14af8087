"""NDArray: an n-dimensional array on a device whose every op runs on the dependency engine."""
import numbers

import numpy as np

from .._lib import check, ffi, lib
from ..base import code_dtype, dtype_code, dtype_name
from ..context import Context, current_context
from ._op import _NULL, _invoke_c, _out_buffers, _scalar_attr_arrays, invoke, op_handle

__all__ = ["NDArray", "array", "empty", "zeros", "ones", "full", "arange", "waitall", "concatenate"]

_free = lib.AxNDArrayFree
_copy_from_to = lib.AxNDArrayCopyFromTo
_SCALAR_TYPES = (float, int)  # exact types: bool and numpy scalars take the general path


def _new(handle):
    """Wraps a handle the caller owns."""
    a = NDArray.__new__(NDArray)
    a.handle = ffi.gc(handle, _free)
    a._shape = None
    return a


from . import _op as _opmod  # noqa: E402

_opmod._new = _new


class _Ops:
    """Op handles used on the hot path of the operators."""

    def __getattr__(self, name):
        h = op_handle(name)
        setattr(self, name, h)
        return h


_OPS = _Ops()


def _scalar_attrs(x):
    return {"scalar": float(x)}


class NDArray:
    """An n-dimensional array (MXNet 1.x's mx.nd.NDArray)."""

    __slots__ = ("handle", "_shape", "__weakref__")
    __array_priority__ = 1000.0
    __hash__ = object.__hash__  # == builds an array (as in MXNet), identity stays hashable

    def __init__(self, handle):
        self.handle = handle
        self._shape = None

    # ---- properties -------------------------------------------------------------------------
    @property
    def shape(self):
        s = self._shape
        if s is None:
            nd = ffi.new("int*")
            dims = ffi.new("int64_t**")
            check(lib.AxNDArrayGetShape(self.handle, nd, dims))
            s = self._shape = tuple(dims[0][i] for i in range(nd[0]))
        return s

    @property
    def dtype(self):
        t = ffi.new("int*")
        check(lib.AxNDArrayGetDType(self.handle, t))
        return code_dtype(t[0]).type

    @property
    def context(self):
        t = ffi.new("int[2]")
        check(lib.AxNDArrayGetContext(self.handle, t, t + 1))
        return Context(Context.devtype2str[t[0]], t[1])

    ctx = context

    @property
    def size(self):
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def stype(self):
        return "default"

    @property
    def T(self):
        if self.ndim < 2:
            return self
        return invoke(_OPS.transpose, [self])

    # ---- synchronisation and conversion ---------------------------------------------------------
    def wait_to_read(self):
        check(lib.AxNDArrayWaitToRead(self.handle))

    def wait_to_write(self):
        check(lib.AxNDArrayWaitToWrite(self.handle))

    def asnumpy(self):
        """A numpy copy of the values (waits for pending writes; raises their errors)."""
        a = np.empty(self.shape, dtype=self.dtype)
        check(lib.AxNDArraySyncCopyToCPU(self.handle, ffi.from_buffer(a, require_writable=True), a.nbytes))
        return a

    def asscalar(self):
        if self.size != 1:
            raise ValueError(f"The current array is not a scalar (shape {self.shape})")
        return self.asnumpy().reshape(())[()]

    def item(self):
        return self.asscalar()

    def __array__(self, dtype=None, copy=None):
        a = self.asnumpy()
        return a if dtype is None else a.astype(dtype, copy=False)

    def tolist(self):
        return self.asnumpy().tolist()

    def astype(self, dtype, copy=True):
        if not copy and np.dtype(dtype) == np.dtype(self.dtype):
            return self
        return invoke(_OPS.Cast, [self], {"dtype": dtype_name(dtype)})

    def copy(self):
        return invoke(_OPS._copy, [self])

    def copyto(self, other):
        """Copies into `other` (an NDArray of the same shape) or onto a Context (a new array)."""
        if isinstance(other, NDArray):
            if other.handle == self.handle:
                return other
            if other.shape != self.shape:
                raise ValueError(f"copyto: shape mismatch {self.shape} vs {other.shape}")
            if other.context != self.context:
                src = self if other.dtype == self.dtype else self.astype(other.dtype)
                check(lib.AxNDArrayCopyFromTo(src.handle, other.handle))
                return other
            op = _OPS._copy if other.dtype == self.dtype else _OPS.Cast
            attrs = None if other.dtype == self.dtype else {"dtype": np.dtype(other.dtype).name}
            return invoke(op, [self], attrs, out=other)
        if isinstance(other, Context):
            if other == self.context:
                return self.copy()
            res = empty(self.shape, ctx=other, dtype=self.dtype)
            return self.copyto(res)
        raise TypeError(f"copyto does not support type {type(other).__name__}")

    def as_in_context(self, context):
        return self if context == self.context else self.copyto(context)

    as_in_ctx = as_in_context

    def tostype(self, stype):
        if stype != "default":
            raise NotImplementedError(f"storage type {stype!r} is not supported")
        return self

    # ---- views --------------------------------------------------------------------------------
    def reshape(self, *shape, **kwargs):
        """A view with another shape (shares memory). Accepts MXNet's codes 0 and -1 (and -2, -3, -4)."""
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            shape = shape[0]
        if "shape" in kwargs:
            shape = kwargs.pop("shape")
        reverse = bool(kwargs.pop("reverse", False))
        if kwargs:
            raise TypeError(f"reshape: unexpected arguments {sorted(kwargs)}")
        dims = ffi.new("int64_t[]", [int(d) for d in shape]) if shape else ffi.NULL
        out = ffi.new("AxNDArrayHandle*")
        check(lib.AxNDArrayReshape(self.handle, len(shape), dims, reverse, out))
        return _new(out[0])

    def reshape_like(self, other):
        return self.reshape(other.shape)

    def _slice0(self, start, stop):
        out = ffi.new("AxNDArrayHandle*")
        check(lib.AxNDArraySlice(self.handle, start, stop, out))
        return _new(out[0])

    def _at(self, idx):
        out = ffi.new("AxNDArrayHandle*")
        check(lib.AxNDArrayAt(self.handle, idx, out))
        return _new(out[0])

    # ---- indexing -----------------------------------------------------------------------------
    def _basic_key(self, key):
        """Normalises key into (begin, end, step) tuples and the axes dropped by integers."""
        if not isinstance(key, tuple):
            key = (key,)
        if any(k is Ellipsis for k in key):
            i = next(i for i, k in enumerate(key) if k is Ellipsis)
            fill = self.ndim - (len(key) - 1 - sum(k is None for k in key))
            key = key[:i] + (slice(None),) * max(fill, 0) + key[i + 1:]
        if len(key) > self.ndim:
            raise IndexError(f"too many indices ({len(key)}) for an array of shape {self.shape}")
        begin, end, step, drop = [], [], [], []
        for axis, k in enumerate(key):
            n = self.shape[axis]
            if isinstance(k, (numbers.Integral, np.integer)) and not isinstance(k, bool):
                k = int(k)
                if not -n <= k < n:
                    raise IndexError(f"index {k} is out of bounds for axis {axis} with size {n}")
                k = k + n if k < 0 else k
                begin.append(k)
                end.append(k + 1)
                step.append(1)
                drop.append(axis)
            elif isinstance(k, slice):
                if k.step == 0:
                    raise ValueError("slice step cannot be zero")
                begin.append(k.start)
                end.append(k.stop)
                step.append(k.step)
            else:
                raise TypeError(f"NDArray indices must be integers or slices, got {type(k).__name__}")
        return begin, end, step, drop

    def __getitem__(self, key):
        if isinstance(key, NDArray):
            return invoke(_OPS.take, [self, key])
        if isinstance(key, (numbers.Integral, np.integer)) and not isinstance(key, bool):
            res = self._at(int(key))
            return res.reshape((1,)) if res.ndim == 0 else res  # MXNet 1.x: never 0-d
        if isinstance(key, slice) and (key.step is None or key.step == 1) and self.ndim > 0:
            start, stop, _ = key.indices(self.shape[0])
            return self._slice0(start, max(start, stop))
        begin, end, step, drop = self._basic_key(key)
        if not begin:
            return self
        res = invoke(_OPS.slice, [self], {"begin": tuple(begin), "end": tuple(end), "step": tuple(step)})
        if drop:
            res = res.reshape([d for i, d in enumerate(res.shape) if i not in drop] or [1])
        return res

    def __setitem__(self, key, value):
        if isinstance(key, slice) and key == slice(None) or key is Ellipsis:
            self._assign_all(value)
            return
        if isinstance(key, (numbers.Integral, np.integer)) and not isinstance(key, bool):
            self._at(int(key))._assign_all(value)
            return
        begin, end, step, drop = self._basic_key(key)
        region = {"begin": tuple(begin), "end": tuple(end), "step": tuple(step)}
        if isinstance(value, numbers.Number) or (isinstance(value, np.generic) and value.ndim == 0):
            invoke(_OPS._slice_assign_scalar, [self], dict(region, scalar=float(value)), out=self)
            return
        v = value if isinstance(value, NDArray) else array(value, ctx=self.context, dtype=self.dtype)
        v = _trim_leading_ones(v, self.ndim - len(drop))
        if drop and v.ndim > 0:  # re-insert the integer-indexed axes so the value broadcasts right
            shape = list(v.shape)
            kept = [i for i in range(len(begin)) if i not in drop] + list(range(len(begin), self.ndim))
            if len(shape) > len(kept):
                region_shape = tuple(len(range(*slice(*bes).indices(self.shape[i])))
                                     for i, bes in enumerate(zip(begin, end, step)) if i not in drop)
                region_shape += self.shape[len(begin):]
                raise ValueError(f"_slice_assign: value of shape {v.shape} cannot be assigned to a region of shape "
                                 f"{region_shape}")
            full = [1] * self.ndim
            for ax, d in zip(kept[len(kept) - len(shape):], shape):
                full[ax] = d
            v = v.reshape(full)
        if v.dtype != self.dtype:
            v = v.astype(self.dtype)
        invoke(_OPS._slice_assign, [self, v], region, out=self)

    def _assign_all(self, value):
        if isinstance(value, NDArray):
            if value.handle == self.handle:
                return
            # the common case (same shape, dtype and no partial overlap) is one engine copy; the
            # core refuses the others, which take the general path below
            if _copy_from_to(value.handle, self.handle) == 0:
                return
            value = _trim_leading_ones(value, self.ndim)
            if value.shape == self.shape:
                value.copyto(self)
            else:
                invoke(_OPS._slice_assign, [self, value.astype(self.dtype, copy=False)],
                       {"begin": (), "end": (), "step": ()}, out=self)
        elif isinstance(value, numbers.Number) or (isinstance(value, np.generic) and value.ndim == 0):
            invoke(_OPS._full, [], {"shape": self.shape, "dtype": np.dtype(self.dtype).name, "value": float(value)},
                   out=self)
        else:
            a = _trim_leading_ones(np.asarray(value, dtype=self.dtype), self.ndim)
            a = np.ascontiguousarray(np.broadcast_to(a, self.shape))
            check(lib.AxNDArraySyncCopyFromCPU(self.handle, ffi.from_buffer(a), a.nbytes))

    # ---- arithmetic ---------------------------------------------------------------------------
    # NDArray-NDArray operands take a direct path (the per-op cost of small imperative programs).
    def _binary(self, other, op, scalar_op, out=None):
        if isinstance(other, NDArray):
            return invoke(op, [self, other], None, out)
        if isinstance(other, (numbers.Number, np.generic)) and np.ndim(other) == 0:
            return invoke(scalar_op, [self], {"scalar": float(other)}, out)
        if isinstance(other, np.ndarray):
            return invoke(op, [self, array(other, ctx=self.context, dtype=self.dtype)], None, out)
        return NotImplemented

    def _rbinary(self, other, op, rscalar_op):
        if isinstance(other, (numbers.Number, np.generic)) and np.ndim(other) == 0:
            return invoke(rscalar_op, [self], {"scalar": float(other)})
        if isinstance(other, np.ndarray):
            return invoke(op, [array(other, ctx=self.context, dtype=self.dtype), self])
        return NotImplemented


    def __neg__(self): return invoke(_OPS.negative, [self])
    def __pos__(self): return self
    def __abs__(self): return invoke(_OPS.abs, [self])

    def __bool__(self):
        n = self.size
        if n == 0:
            return False
        if n == 1:
            return bool(self.asscalar())
        raise ValueError("The truth value of an NDArray with multiple elements is ambiguous.")

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d NDArray")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self):
        shape_info = "x".join(str(x) for x in self.shape)
        return f"\n{self.asnumpy()}\n<{type(self).__name__} {shape_info} @{self.context}>"

    def __reduce__(self):
        return (array, (self.asnumpy(), self.context, self.dtype))

    # ---- DLPack -------------------------------------------------------------------------------
    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """A DLPack capsule sharing this array's memory (versioned when max_version >= (1, 0)).
        stream (GPU arrays): the consumer's CUDA stream as an integer (1 legacy default, 2 per-thread
        default, -1 no synchronisation); Axle's pending work on the array is ordered before it on the
        device, the host does not wait. None: the host waits for that work."""
        from .._dlpack import to_capsule
        if dl_device is not None and tuple(dl_device) != self.__dlpack_device__():
            raise BufferError(f"__dlpack__: cannot export {self.context} memory to device {tuple(dl_device)}")
        versioned = max_version is not None and tuple(max_version) >= (1, 0)
        gpu_stream = stream if self.context.device_type == "gpu" else None
        return to_capsule(self.copy() if copy else self, versioned, gpu_stream)

    @property
    def __cuda_array_interface__(self):
        """CUDA Array Interface v3 of a GPU array (cupy, numba, torch.as_tensor share it without a copy).
        Pending Axle ops on the array are finished first, so no stream is given."""
        if self.context.device_type != "gpu":
            raise AttributeError("__cuda_array_interface__ exists only for GPU arrays")
        from .._dlpack import data_pointer
        return {"shape": self.shape, "typestr": np.dtype(self.dtype).str, "data": (data_pointer(self), False),
                "strides": None, "version": 3, "stream": None}

    def __dlpack_device__(self):
        ctx = self.context
        return (2 if ctx.device_type == "gpu" else 1, ctx.device_id)

    def to_dlpack_for_read(self):
        return self.__dlpack__()

    def to_dlpack_for_write(self):
        return self.__dlpack__()


def _install_operators():
    """Arithmetic and comparison operators; NDArray-NDArray operands take the direct path
    (this is the per-op cost of every small imperative program)."""
    def make(op, sop, rop, inplace):
        h, hs, hr = op_handle(op), op_handle(sop), op_handle(rop) if rop else None

        def fwd(self, other):
            if not inplace:  # the hot paths, inlined
                t = type(other)
                if t is NDArray:
                    nout, outp = _out_buffers()
                    outp[0] = _NULL
                    rc = _invoke_c(h, 2, [self.handle, other.handle], nout, outp, 0, _NULL, _NULL)
                    if rc:
                        check(rc)
                    return _new(outp[0][0])
                if t in _SCALAR_TYPES:
                    m, keys, vals, _keep = _scalar_attr_arrays(other)
                    nout, outp = _out_buffers()
                    outp[0] = _NULL
                    rc = _invoke_c(hs, 1, [self.handle], nout, outp, m, keys, vals)
                    if rc:
                        check(rc)
                    return _new(outp[0][0])
            return self._binary(other, h, hs, self if inplace else None)

        def rev(self, other):
            return self._rbinary(other, h, hr)
        return fwd, rev

    table = [
        ("add", "broadcast_add", "_plus_scalar", "_plus_scalar"),
        ("sub", "broadcast_sub", "_minus_scalar", "_rminus_scalar"),
        ("mul", "broadcast_mul", "_mul_scalar", "_mul_scalar"),
        ("truediv", "broadcast_div", "_div_scalar", "_rdiv_scalar"),
        ("mod", "broadcast_mod", "_mod_scalar", "_rmod_scalar"),
        ("pow", "broadcast_power", "_power_scalar", "_rpower_scalar"),
        ("eq", "broadcast_equal", "_equal_scalar", None),
        ("ne", "broadcast_not_equal", "_not_equal_scalar", None),
        ("gt", "broadcast_greater", "_greater_scalar", None),
        ("ge", "broadcast_greater_equal", "_greater_equal_scalar", None),
        ("lt", "broadcast_lesser", "_lesser_scalar", None),
        ("le", "broadcast_lesser_equal", "_lesser_equal_scalar", None),
    ]
    for py, op, sop, rop in table:
        fwd, rev = make(op, sop, rop, False)
        setattr(NDArray, f"__{py}__", fwd)
        if rop is not None:
            setattr(NDArray, f"__r{py}__", rev)
        if py in ("add", "sub", "mul", "truediv", "mod"):
            setattr(NDArray, f"__i{py}__", make(op, sop, rop, True)[0])
    NDArray.__div__ = NDArray.__truediv__
    NDArray.__rdiv__ = NDArray.__rtruediv__
    NDArray.__idiv__ = NDArray.__itruediv__


_install_operators()


def _trim_leading_ones(v, ndim):
    """v (NDArray or numpy) without the leading size-1 axes it has beyond ndim (numpy and MXNet drop
    them when assigning: a[0] = ones((1, n)) into a row of n)."""
    k = 0
    while v.ndim - k > ndim and v.shape[k] == 1:
        k += 1
    return v.reshape(v.shape[k:]) if k else v


# ---- creation ----------------------------------------------------------------------------------
def _ctx(ctx):
    return current_context() if ctx is None else ctx


def _shape(shape):
    if isinstance(shape, (numbers.Integral, np.integer)):
        return (int(shape),)
    return tuple(int(d) for d in shape)


def empty(shape, ctx=None, dtype=None):
    """An uninitialised array."""
    shape = _shape(shape)
    ctx = _ctx(ctx)
    out = ffi.new("AxNDArrayHandle*")
    dims = ffi.new("int64_t[]", shape) if shape else ffi.NULL
    check(lib.AxNDArrayCreate(dims, len(shape), ctx.device_typeid, ctx.device_id, dtype_code(dtype or np.float32), out))
    return _new(out[0])


def _fill(op, shape, ctx, dtype, out, **extra):
    attrs = {"shape": _shape(shape), "ctx": _ctx(ctx), "dtype": dtype_name(dtype or np.float32)}
    attrs.update(extra)
    return invoke(op, [], attrs, out)


def zeros(shape, ctx=None, dtype=None, out=None, **kwargs):
    return _fill(_OPS._zeros, shape, ctx, dtype, out)


def ones(shape, ctx=None, dtype=None, out=None, **kwargs):
    return _fill(_OPS._ones, shape, ctx, dtype, out)


def full(shape, val, ctx=None, dtype=np.float32, out=None):
    return _fill(_OPS._full, shape, ctx, dtype, out, value=float(val))


def array(source_array, ctx=None, dtype=None):
    """An NDArray with a copy of source_array (dtype: the source's for an NDArray, else float32)."""
    if isinstance(source_array, NDArray):
        dtype = dtype or source_array.dtype
        res = source_array.as_in_context(_ctx(ctx)) if ctx is not None else source_array
        res = res.astype(dtype) if np.dtype(dtype) != np.dtype(source_array.dtype) else res.copy()
        return res
    if dtype is None:
        dtype = np.float32  # as MXNet 1.x: float32 unless asked otherwise
    src = np.asarray(source_array, dtype=dtype, order="C")  # (ascontiguousarray would make 0-d arrays 1-d)
    res = empty(src.shape, ctx, src.dtype)
    check(lib.AxNDArraySyncCopyFromCPU(res.handle, ffi.from_buffer(src), src.nbytes))
    return res


def arange(start, stop=None, step=1.0, repeat=1, infer_range=None, ctx=None, dtype=np.float32):
    return invoke(_OPS._arange, [], {"start": float(start), "stop": "None" if stop is None else repr(float(stop)),
                                     "step": float(step), "repeat": int(repeat), "ctx": _ctx(ctx),
                                     "dtype": dtype_name(dtype)})


def waitall():
    """Waits for every pushed op; raises the first error no wait has reported yet."""
    check(lib.AxEngineWaitAll())


def concatenate(arrays, axis=0, always_copy=True):
    return invoke(_OPS.Concat, list(arrays), {"num_args": len(arrays), "dim": axis})


# ---- MXNet's binary helper functions (mx.nd.maximum(a, 2), mx.nd.power(2, a), ...) -------------
def _ufunc(lhs, rhs, op, lscalar, rscalar, pyfn):
    """NDArray-NDArray -> op (broadcasting); NDArray-scalar -> lscalar(lhs, scalar);
    scalar-NDArray -> rscalar(rhs, scalar); two scalars -> pyfn."""
    if isinstance(lhs, NDArray) and isinstance(rhs, NDArray):
        return invoke(op_handle(op), [lhs, rhs])
    if isinstance(lhs, NDArray) and isinstance(rhs, numbers.Number):
        return invoke(op_handle(lscalar), [lhs], {"scalar": rhs})
    if isinstance(rhs, NDArray) and isinstance(lhs, numbers.Number):
        return invoke(op_handle(rscalar), [rhs], {"scalar": lhs})
    if isinstance(lhs, numbers.Number) and isinstance(rhs, numbers.Number):
        return pyfn(lhs, rhs)
    raise TypeError(f"{op}: expected NDArrays or numbers, got {type(lhs).__name__} and {type(rhs).__name__}")


def _make_ufunc(name, op, lscalar, rscalar, pyfn):
    def fn(lhs, rhs):
        return _ufunc(lhs, rhs, op, lscalar, rscalar, pyfn)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{name}(lhs, rhs): elementwise, with numpy broadcasting between NDArrays; either side "
                  f"may be a number ({op}, {lscalar}).")
    return fn


def _cmp(f):
    return lambda a, b: float(f(a, b))


_UFUNCS = [
    ("add", "broadcast_add", "_plus_scalar", "_plus_scalar", lambda a, b: a + b),
    ("subtract", "broadcast_sub", "_minus_scalar", "_rminus_scalar", lambda a, b: a - b),
    ("multiply", "broadcast_mul", "_mul_scalar", "_mul_scalar", lambda a, b: a * b),
    ("divide", "broadcast_div", "_div_scalar", "_rdiv_scalar", lambda a, b: a / b),
    ("modulo", "broadcast_mod", "_mod_scalar", "_rmod_scalar", lambda a, b: a % b),
    ("power", "broadcast_power", "_power_scalar", "_rpower_scalar", lambda a, b: a ** b),
    ("maximum", "broadcast_maximum", "_maximum_scalar", "_maximum_scalar", max),
    ("minimum", "broadcast_minimum", "_minimum_scalar", "_minimum_scalar", min),
    ("equal", "broadcast_equal", "_equal_scalar", "_equal_scalar", _cmp(lambda a, b: a == b)),
    ("not_equal", "broadcast_not_equal", "_not_equal_scalar", "_not_equal_scalar", _cmp(lambda a, b: a != b)),
    ("greater", "broadcast_greater", "_greater_scalar", "_lesser_scalar", _cmp(lambda a, b: a > b)),
    ("greater_equal", "broadcast_greater_equal", "_greater_equal_scalar", "_lesser_equal_scalar",
     _cmp(lambda a, b: a >= b)),
    ("lesser", "broadcast_lesser", "_lesser_scalar", "_greater_scalar", _cmp(lambda a, b: a < b)),
    ("lesser_equal", "broadcast_lesser_equal", "_lesser_equal_scalar", "_greater_equal_scalar",
     _cmp(lambda a, b: a <= b)),
]
for _n, _op, _l, _r, _f in _UFUNCS:
    globals()[_n] = _make_ufunc(_n, _op, _l, _r, _f)
true_divide = divide  # noqa: F821 (defined just above)
