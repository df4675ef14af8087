"""Executor: a symbol bound to arrays (MXNet 1.x's Executor), run by the core's graph executor
with a memory plan, on the dependency engine."""
import numpy as np

from ._lib import check, ffi, lib
from .base import dtype_code
from .context import Context

__all__ = ["Executor"]

_REQ = {"null": 0, "write": 1, "inplace": 2, "add": 3}


def _ndarray():
    from .ndarray.ndarray import NDArray
    return NDArray


def _as_list(what, given, names, allow_missing):
    """Arrays in `names` order from a list or a dict (None where missing and allowed)."""
    if given is None:
        return [None] * len(names)
    if isinstance(given, dict):
        unknown = [k for k in given if k not in names]
        if unknown and what == "args":
            raise ValueError(f"bind: {what} has names the symbol does not have: {unknown} (arguments: {names})")
        out = [given.get(n) for n in names]
        if not allow_missing:
            missing = [n for n, a in zip(names, out) if a is None]
            if missing:
                raise ValueError(f"bind: {what} misses {missing}")
        return out
    given = list(given)
    if len(given) != len(names):
        raise ValueError(f"bind: {what} has {len(given)} arrays, the symbol {len(names)} ({names})")
    return given


def _grad_reqs(grad_req, names):
    if isinstance(grad_req, str):
        reqs = [grad_req] * len(names)
    elif isinstance(grad_req, dict):
        reqs = [grad_req.get(n, "null") for n in names]
    else:
        reqs = list(grad_req)
        if len(reqs) != len(names):
            raise ValueError(f"bind: grad_req has {len(reqs)} entries for {len(names)} arguments")
    for r in reqs:
        if r not in _REQ:
            raise ValueError(f"bind: grad_req must be one of {sorted(_REQ)}, got {r!r}")
    return reqs


class Executor:
    """Runs a bound symbol: forward(is_train), backward(out_grads); outputs, arg/grad/aux
    arrays and dicts; debug_str() and memory_plan describe the memory plan."""

    def __init__(self, handle, symbol, ctx, arg_arrays, grad_arrays, aux_arrays, grad_req):
        self.handle = handle
        self._symbol = symbol
        self._ctx = ctx
        self.arg_arrays = arg_arrays
        self.grad_arrays = grad_arrays
        self.aux_arrays = aux_arrays
        self._grad_req = grad_req
        self._arg_names = symbol.list_arguments()
        self._aux_names = symbol.list_auxiliary_states()
        self._output_names = symbol.list_outputs()
        self._arg_dict = self._grad_dict = self._aux_dict = self._output_dict = None
        n = ffi.new("int*")
        p = ffi.new("AxNDArrayHandle**")
        check(lib.AxExecutorOutputs(handle, n, p))
        from .ndarray.ndarray import _new
        self.outputs = [_new(h) for h in ffi.unpack(p[0], n[0])]
        f = ffi.new("int**")
        check(lib.AxExecutorHeadGradNeeded(handle, n, f))
        self._head_grad_needed = [bool(f[0][i]) for i in range(n[0])]

    def __del__(self):
        if lib is not None and getattr(self, "handle", None) is not None:
            lib.AxExecutorFree(self.handle)
            self.handle = None

    @property
    def arg_dict(self):
        if self._arg_dict is None:
            self._arg_dict = dict(zip(self._arg_names, self.arg_arrays))
        return self._arg_dict

    @property
    def grad_dict(self):
        if self._grad_dict is None:
            self._grad_dict = {n: g for n, g in zip(self._arg_names, self.grad_arrays) if g is not None}
        return self._grad_dict

    @property
    def aux_dict(self):
        if self._aux_dict is None:
            self._aux_dict = dict(zip(self._aux_names, self.aux_arrays))
        return self._aux_dict

    @property
    def output_dict(self):
        if self._output_dict is None:
            self._output_dict = dict(zip(self._output_names, self.outputs))
        return self._output_dict

    def __getitem__(self, name):
        """executor['data'] is executor.arg_dict['data']."""
        try:
            return self.arg_dict[name]
        except KeyError:
            raise KeyError(f"the executor has no argument {name!r} (arguments: {self._arg_names})") from None

    def forward(self, is_train=False, **kwargs):
        """Pushes the forward pass (it runs asynchronously; outputs wait). kwargs copy new values
        into arguments by name first."""
        for k, v in kwargs.items():
            if k not in self.arg_dict:
                raise KeyError(f"forward: the executor has no argument {k!r}")
            dst = self.arg_dict[k]
            if isinstance(v, np.ndarray) or isinstance(v, _ndarray()):
                if tuple(v.shape) != dst.shape:
                    raise ValueError(f"forward: argument {k!r} has shape {dst.shape}, got {tuple(v.shape)}")
            dst[:] = v
        check(lib.AxExecutorForward(self.handle, 1 if is_train else 0))
        return self.outputs

    def backward(self, out_grads=None, is_train=True):
        """Pushes the backward pass. out_grads: an NDArray or a list, one per output; outputs that
        are losses (SoftmaxOutput, MakeLoss, ...) need none."""
        NDArray = _ndarray()
        if out_grads is None:
            out_grads = []
        elif isinstance(out_grads, NDArray):
            out_grads = [out_grads]
        elif isinstance(out_grads, dict):
            out_grads = [out_grads.get(n) for n in self._output_names]
        handles = []
        for g in out_grads:
            if g is None:
                handles.append(ffi.NULL)
            elif isinstance(g, NDArray):
                handles.append(g.handle)
            else:
                raise TypeError(f"backward: out_grads must be NDArrays, got {type(g).__name__}")
        check(lib.AxExecutorBackward(self.handle, len(handles), handles))

    def copy_params_from(self, arg_params, aux_params=None, allow_extra_params=False):
        """Copies values into the bound arrays by name (dicts of NDArrays or numpy arrays)."""
        for name, array in arg_params.items():
            if name in self.arg_dict:
                dst = self.arg_dict[name]
                if tuple(array.shape) != dst.shape:
                    raise ValueError(f"copy_params_from: {name!r} has shape {dst.shape}, given {tuple(array.shape)}")
                dst[:] = array
            elif not allow_extra_params:
                raise ValueError(f"copy_params_from: the executor has no argument {name!r}")
        for name, array in (aux_params or {}).items():
            if name in self.aux_dict:
                self.aux_dict[name][:] = array
            elif not allow_extra_params:
                raise ValueError(f"copy_params_from: the executor has no auxiliary state {name!r}")

    def reshape(self, partial_shaping=False, allow_up_sizing=False, **kwargs):
        """A new executor for new input shapes, sharing this one's parameters (arrays whose shape
        is unchanged) and buffers."""
        arg_shapes, _, aux_shapes = self._symbol.infer_shape(**kwargs)
        if arg_shapes is None:
            raise ValueError("reshape: the given shapes do not decide every shape")
        NDArray = _ndarray()
        from .ndarray import zeros

        def remake(name, old, shape, given):
            if old is None:
                return None
            if old.shape == tuple(shape):
                return old
            if not given and not partial_shaping:
                raise ValueError(f"reshape: the shape of {name!r} changes from {old.shape} to {tuple(shape)}; "
                                 "pass partial_shaping=True to allow it")
            if int(np.prod(shape)) > old.size and not allow_up_sizing:
                raise ValueError(f"reshape: {name!r} grows from {old.shape} to {tuple(shape)}; pass "
                                 "allow_up_sizing=True to allow it")
            return zeros(shape, ctx=self._ctx, dtype=old.dtype)

        args = [remake(n, a, s, n in kwargs) for n, a, s in zip(self._arg_names, self.arg_arrays, arg_shapes)]
        grads = [remake(n, g, s, True) if g is not None else None
                 for n, g, s in zip(self._arg_names, self.grad_arrays, arg_shapes)]
        aux = [remake(n, a, s, True) for n, a, s in zip(self._aux_names, self.aux_arrays, aux_shapes)]
        del NDArray
        return bind(self._symbol, self._ctx, args, grads, self._grad_req, aux, shared_exec=self)

    def debug_str(self):
        """The graph, then the memory plan ("Total N MB allocated", planned vs naive bytes)."""
        p = ffi.new("char**")
        check(lib.AxExecutorPrint(self.handle, p))
        return ffi.string(p[0]).decode()

    @property
    def memory_plan(self):
        """Bytes of intermediate storage the plan holds (planned_bytes), what one buffer per entry
        would take (naive_bytes), and the counts of buffers, entries and in-place outputs."""
        v = [ffi.new("int64_t*") for _ in range(5)]
        check(lib.AxExecutorMemoryPlan(self.handle, *v))
        keys = ("planned_bytes", "naive_bytes", "num_buffers", "num_entries", "num_inplace")
        return dict(zip(keys, (int(x[0]) for x in v)))

    def set_monitor_callback(self, callback, monitor_all=False):
        raise NotImplementedError("Executor.set_monitor_callback is not supported by Axle yet")


def bind(symbol, ctx, args, args_grad=None, grad_req="write", aux_states=None, group2ctx=None, shared_exec=None):
    if not isinstance(ctx, Context):
        raise TypeError(f"bind: ctx must be a Context, got {type(ctx).__name__}")
    if group2ctx:
        raise NotImplementedError("bind: group2ctx (model parallelism) is not supported by Axle")
    NDArray = _ndarray()
    arg_names = symbol.list_arguments()
    aux_names = symbol.list_auxiliary_states()
    args = _as_list("args", args, arg_names, allow_missing=False)
    grads = _as_list("args_grad", args_grad, arg_names, allow_missing=True)
    if args_grad is None:
        reqs = ["null"] * len(arg_names)
    else:
        reqs = _grad_reqs(grad_req, arg_names)
        reqs = [r if g is not None else "null" for r, g in zip(reqs, grads)]
    if aux_states is None and aux_names:
        raise ValueError(f"bind: the symbol has auxiliary states {aux_names}; pass aux_states")
    aux = _as_list("aux_states", aux_states or [], aux_names, allow_missing=False) if aux_names else []
    for what, arrs in (("argument", args), ("gradient", grads), ("aux state", aux)):
        for a in arrs:
            if a is not None and not isinstance(a, NDArray):
                raise TypeError(f"bind: each {what} must be an NDArray, got {type(a).__name__}")
    grads = [g if r != "null" else None for g, r in zip(grads, reqs)]
    out = ffi.new("AxExecutorHandle*")
    check(lib.AxExecutorBind(symbol.handle, ctx.device_typeid, ctx.device_id, len(args), [a.handle for a in args],
                             [g.handle if g is not None else ffi.NULL for g in grads], [_REQ[r] for r in reqs],
                             len(aux), [a.handle for a in aux],
                             shared_exec.handle if shared_exec is not None else ffi.NULL, out))
    return Executor(out[0], symbol, ctx, args, grads, aux, reqs)


def simple_bind(symbol, ctx, grad_req="write", type_dict=None, shared_arg_names=None, shared_exec=None, **kwargs):
    from .ndarray import zeros
    arg_names = symbol.list_arguments()
    aux_names = symbol.list_auxiliary_states()
    arg_shapes, _, aux_shapes = symbol.infer_shape_partial(**kwargs)
    undecided = [f"{n}: {s}" for n, s in zip(arg_names + aux_names, arg_shapes + aux_shapes)
                 if s is None or None in s]
    if undecided:
        raise ValueError("simple_bind: cannot decide the shapes of " + ", ".join(undecided) +
                         "; pass them as keyword arguments")
    types = dict(type_dict or {})
    arg_types, _, aux_types = symbol.infer_type_partial(**types)
    arg_types = [t or np.float32 for t in arg_types]
    aux_types = [t or np.float32 for t in aux_types]
    reqs = _grad_reqs(grad_req, arg_names)
    shared = shared_exec.arg_dict if shared_exec is not None else {}
    shared_grads = shared_exec.grad_dict if shared_exec is not None else {}

    def reuse(pool, name, shape, dtype):
        a = pool.get(name)
        if a is not None and (shared_arg_names is None or name in shared_arg_names) and a.shape == tuple(shape) \
                and dtype_code(a.dtype) == dtype_code(dtype):
            return a
        return zeros(shape, ctx=ctx, dtype=dtype)

    args = [reuse(shared, n, s, t) for n, s, t in zip(arg_names, arg_shapes, arg_types)]
    grads = [reuse(shared_grads, n, s, t) if r != "null" else None
             for n, s, t, r in zip(arg_names, arg_shapes, arg_types, reqs)]
    aux_pool = shared_exec.aux_dict if shared_exec is not None else {}
    aux = [reuse(aux_pool, n, s, t) for n, s, t in zip(aux_names, aux_shapes, aux_types)]
    return bind(symbol, ctx, args, grads, reqs, aux, shared_exec=shared_exec)
