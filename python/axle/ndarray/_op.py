"""Op invocation and the generation of `axle.nd.<op>` functions from the core's registry."""
import inspect
import keyword
import threading

import numpy as np

from .._lib import check, ffi, lib
from ..base import dtype_name

_handles = {}


def op_handle(name):
    h = _handles.get(name)
    if h is None:
        p = ffi.new("AxOpHandle*")
        check(lib.AxGetOpHandle(name.encode(), p))
        h = _handles[name] = p[0]
    return h


def attr_str(v):
    """An attribute value as the core parses it (MXNet's conventions)."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool) or isinstance(v, np.bool_):
        return "True" if v else "False"
    if isinstance(v, (tuple, list)):
        return "(" + ",".join("None" if x is None else str(int(x)) for x in v) + (",)" if len(v) == 1 else ")")
    if v is None:
        return "None"
    if isinstance(v, type) or isinstance(v, np.dtype):
        return dtype_name(v)
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return str(v)


def _encode_attrs(attrs):
    keep = [ffi.new("char[]", k.encode()) for k in attrs] + [ffi.new("char[]", attr_str(v).encode())
                                                               for v in attrs.values()]
    m = len(attrs)
    return m, ffi.new("char*[]", keep[:m]), ffi.new("char*[]", keep[m:]), keep


_attr_cache = {}
_ATTR_CACHE_SIZE = 512


def _attr_arrays(attrs):
    """The attributes as C string arrays. Training loops call the same ops with the same
    attributes every batch (an optimizer's update, a metric's argmax): those encodings are kept
    (the core copies the strings, so sharing them is safe)."""
    try:
        key = tuple((k, type(v), v) for k, v in attrs.items())
        hit = _attr_cache.get(key)
    except TypeError:  # an unhashable value (a list): encode it each time
        return _encode_attrs(attrs)
    if hit is None:
        hit = _encode_attrs(attrs)
        if len(_attr_cache) >= _ATTR_CACHE_SIZE:
            _attr_cache.clear()
        _attr_cache[key] = hit
    return hit


_scalar_cache = {}


def _scalar_attr_arrays(x):
    """The encoded {"scalar": x} of a Python int or float (the operators' scalar forms; a loop
    uses the same few values every batch, like a learning rate)."""
    key = (type(x), x)
    hit = _scalar_cache.get(key)
    if hit is None:
        hit = _encode_attrs({"scalar": float(x)})
        if len(_scalar_cache) >= _ATTR_CACHE_SIZE:
            _scalar_cache.clear()
        _scalar_cache[key] = hit
    return hit


_NO_ATTRS = (0, ffi.NULL, ffi.NULL, None)
_FN_CACHE_SIZE = 64
_SAFE_KEY_TYPES = (str, tuple, type(None))  # values equal only to values of their own encoding
_new = None  # set by ndarray.py (avoids an import per call)
_NULL = ffi.NULL
_invoke_c = lib.AxImperativeInvoke
_tls = threading.local()


def _out_buffers():
    """This thread's (num_outputs, outputs) out-parameters, reused by every call."""
    try:
        return _tls.bufs
    except AttributeError:
        b = _tls.bufs = (ffi.new("int*"), ffi.new("AxNDArrayHandle**"))
        return b


def _one_out_buffers():
    """This thread's out-parameters for a call writing one given array: (num_outputs, the
    handle array, outputs pointing at it), reused by every call."""
    try:
        return _tls.one
    except AttributeError:
        arr = ffi.new("AxNDArrayHandle[1]")
        b = _tls.one = (ffi.new("int*"), arr, ffi.new("AxNDArrayHandle**", arr))
        return b


def invoke(op, inputs, attrs=None, out=None):
    """Runs op (a handle) on NDArrays with attributes; returns the output NDArray(s).

    out: None (allocate), an NDArray or a list of NDArrays to write into. This is the hot path
    of every imperative program: keep it lean."""
    if attrs:
        m, keys, vals, _keep = _attr_arrays(attrs)
    else:
        m, keys, vals = 0, _NULL, _NULL
    return _invoke_encoded(op, inputs, m, keys, vals, out)


def _invoke_encoded(op, inputs, m, keys, vals, out):
    """invoke() with the attributes already encoded (m, keys, vals as _attr_arrays makes them)."""
    if out is None:
        nout, outp = _out_buffers()
        outp[0] = _NULL
        rc = _invoke_c(op, len(inputs), [x.handle for x in inputs], nout, outp, m, keys, vals)
        if rc:
            check(rc)
        if nout[0] == 1:
            return _new(outp[0][0])
        # copy the borrowed handles out before anything else can call into the core
        return [_new(h) for h in ffi.unpack(outp[0], nout[0])]
    if not isinstance(out, (list, tuple)):
        nout, arr, outp = _one_out_buffers()
        nout[0] = 1
        arr[0] = out.handle
        outp[0] = arr
        rc = _invoke_c(op, len(inputs), [x.handle for x in inputs], nout, outp, m, keys, vals)
        if rc:
            check(rc)
        return out
    outs = out
    nout = ffi.new("int*", len(outs))
    arr = ffi.new("AxNDArrayHandle[]", [o.handle for o in outs])
    outp = ffi.new("AxNDArrayHandle**", arr)
    check(_invoke_c(op, len(inputs), [x.handle for x in inputs], nout, outp, m, keys, vals))
    return out


class OpInfo:
    """An op's description from the registry."""

    def __init__(self, name):
        self.handle = op_handle(name)
        p = {k: ffi.new(t) for k, t in [("name", "char**"), ("doc", "char**"), ("nin", "int*"), ("inputs", "char***"),
                                       ("np", "int*"), ("pn", "char***"), ("pt", "char***"), ("pd", "char***"),
                                       ("kv", "char**")]}
        check(lib.AxOpGetInfo(self.handle, p["name"], p["doc"], p["nin"], p["inputs"], p["np"], p["pn"], p["pt"],
                              p["pd"], p["kv"]))
        s = ffi.string
        self.name = s(p["name"][0]).decode()
        self.doc = s(p["doc"][0]).decode()
        self.num_inputs = p["nin"][0]
        self.input_names = [s(p["inputs"][0][i]).decode() for i in range(max(self.num_inputs, 0))]
        self.params = [(s(p["pn"][0][i]).decode(), s(p["pt"][0][i]).decode(), s(p["pd"][0][i]).decode())
                       for i in range(p["np"][0])]
        self.key_var_num_args = s(p["kv"][0]).decode()


def list_ops():
    n = ffi.new("int*")
    names = ffi.new("char***")
    check(lib.AxListOps(n, names))
    return [ffi.string(names[0][i]).decode() for i in range(n[0])]


def _docstring(info):
    lines = [info.doc, "", "Parameters", "----------"]
    for n in info.input_names:
        lines += [f"{n} : NDArray", "    input"]
    if info.key_var_num_args:
        lines += ["*data : NDArray", "    the inputs (any number)"]
    for n, t, d in info.params:
        lines += [f"{n} : {t}", f"    {d}"]
    lines += ["out : NDArray, optional", "    the output array(s) to write into", "",
              "Returns", "-------", "NDArray or list of NDArrays"]
    return "\n".join(lines)


def make_function(info, ctx_default=None):
    """A Python function for an op: inputs positionally or by name, attributes by keyword."""
    from .ndarray import NDArray
    handle = info.handle
    input_names = info.input_names
    param_names = {p[0] for p in info.params}
    variadic = bool(info.key_var_num_args)
    needs_ctx = "ctx" in param_names

    param_order = [p[0] for p in info.params]
    n_inputs = len(input_names)
    # The encoded attributes of recent calls by their keywords: {items: (encoded, checks)}. Equal
    # keys can still encode differently (1, 1.0 and True are equal, "1", "1.0", "True" are not):
    # checks lists the keywords whose values are not str, tuple or None, with their types, and a
    # hit must have the same types there. Only calls whose attributes follow from their keywords
    # alone are kept: inputs positional (trailing ones may be left out, as the bias with no_bias),
    # no input passed by name, no default context (the current one can change).
    encoded = {}
    cacheable = not variadic

    def fn(*args, out=None, name=None, **kwargs):
        if cacheable and len(args) <= n_inputs:
            if kwargs:
                try:
                    hit = encoded.get(tuple(kwargs.items()))
                except TypeError:  # an unhashable value (a list)
                    hit = None
                if hit is not None:
                    for k, t in hit[1]:
                        if kwargs[k].__class__ is not t:
                            hit = None
                            break
                    else:
                        hit = hit[0]
            else:
                hit = _NO_ATTRS
            if hit is not None:
                for x in args:
                    if not isinstance(x, NDArray):
                        break
                else:
                    return _invoke_encoded(handle, args, hit[0], hit[1], hit[2], out)
        inputs = list(args)
        key = None
        if not variadic and len(inputs) > len(input_names):
            # MXNet's generated functions take attributes positionally after the inputs:
            # nd.clip(x, 0, 1), nd.slice_axis(x, 0, 1, 3)
            extra = inputs[len(input_names):]
            inputs = inputs[:len(input_names)]
            if len(extra) > len(param_order):
                raise TypeError(f"{info.name}: too many positional arguments")
            for k, v in zip(param_order, extra):
                if k in kwargs:
                    raise TypeError(f"{info.name}: got multiple values for {k!r}")
                kwargs[k] = v
        elif cacheable and kwargs and param_names.issuperset(kwargs) and \
                (not needs_ctx or "ctx" in kwargs):
            try:
                key = tuple(kwargs.items())
                hash(key)
            except TypeError:
                key = None
        if not variadic:
            for n in input_names[len(inputs):]:
                if n in kwargs:
                    inputs.append(kwargs.pop(n))
        for i, x in enumerate(inputs):
            if not isinstance(x, NDArray):
                raise TypeError(f"{info.name}: input {i} must be an NDArray, got {type(x).__name__}")
        if variadic and info.key_var_num_args in param_names:
            kwargs.setdefault(info.key_var_num_args, len(inputs))
        attrs = {k: v for k, v in kwargs.items() if v is not None or k not in param_names}
        if needs_ctx and "ctx" not in attrs:
            from ..context import current_context
            attrs["ctx"] = current_context()
        if "dtype" in attrs and attrs["dtype"] is not None and not isinstance(attrs["dtype"], str):
            attrs["dtype"] = dtype_name(attrs["dtype"])
        enc = _attr_arrays(attrs) if attrs else _NO_ATTRS
        if key is not None:
            if len(encoded) >= _FN_CACHE_SIZE:
                encoded.clear()
            encoded[key] = (enc, tuple((k, v.__class__) for k, v in key if v.__class__ not in _SAFE_KEY_TYPES))
        return _invoke_encoded(handle, inputs, enc[0], enc[1], enc[2], out)

    params = []
    if variadic:
        params.append(inspect.Parameter("data", inspect.Parameter.VAR_POSITIONAL))
    else:
        params += [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None) for n in input_names]
    for n, t, _ in info.params:
        if n.isidentifier() and not keyword.iskeyword(n):
            params.append(inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None))
    params += [inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None),
               inspect.Parameter("name", inspect.Parameter.KEYWORD_ONLY, default=None)]
    fn.__signature__ = inspect.Signature(params)
    fn.__name__ = info.name
    fn.__qualname__ = info.name
    fn.__doc__ = _docstring(info)
    return fn


def op_gradient(name, inputs, ograds, **attrs):
    """Gradients of op `name`'s inputs for the given output gradients (its registered gradient
    definition run on arrays, in training mode)."""
    from .ndarray import NDArray  # noqa: F401
    op = op_handle(name)
    if attrs:
        m, keys, vals, _keep = _attr_arrays(attrs)
    else:
        m, keys, vals = 0, _NULL, _NULL
    nout = ffi.new("int*")
    outp = ffi.new("AxNDArrayHandle**")
    check(lib.AxOpGradient(op, len(inputs), [x.handle for x in inputs], m, keys, vals, len(ograds),
                           [g.handle for g in ograds], nout, outp))
    return [_new(h) for h in ffi.unpack(outp[0], nout[0])]
