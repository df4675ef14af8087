"""Symbolic graphs (mx.sym): Variable, every registered op as a symbol constructor, Group,
load/load_json, and Python operators on Symbols."""
import inspect
import keyword

from ..ndarray._op import OpInfo, list_ops
from .symbol import (Group, Symbol, Variable, _create, fromjson, hypot, load, load_json, maximum,  # noqa: F401
                     minimum, pow, power, var)


def _make_function(info, fname):
    input_names = info.input_names
    param_names = {p[0] for p in info.params}
    variadic = bool(info.key_var_num_args)

    param_order = [p[0] for p in info.params]

    def fn(*args, name=None, attr=None, **kwargs):
        inputs, keys = [], []
        if not variadic and len(args) > len(input_names):
            # attributes given positionally after the inputs, as MXNet allows: sym.clip(x, 0, 1)
            for k, v in zip(param_order, args[len(input_names):]):
                kwargs.setdefault(k, v)
            if len(args) - len(input_names) > len(param_order):
                raise TypeError(f"{info.name}: too many positional arguments")
            args = args[:len(input_names)]
        for i, x in enumerate(args):
            if not isinstance(x, Symbol):
                raise TypeError(f"{info.name}: positional input {i} must be a Symbol, got {type(x).__name__}")
            inputs.append(x)
            if not variadic:
                if i >= len(input_names):
                    raise TypeError(f"{info.name}: takes at most {len(input_names)} inputs ({input_names})")
                keys.append(input_names[i])
        attrs = {}
        for k, v in kwargs.items():
            if isinstance(v, Symbol):
                if variadic:
                    raise TypeError(f"{info.name}: takes its inputs positionally, got {k}=Symbol")
                inputs.append(v)
                keys.append(k)
            elif v is not None or k not in param_names:
                attrs[k] = v
        return _create(fname, inputs, attrs, name=name, attr=attr, keys=None if variadic else keys)

    params = []
    if variadic:
        params.append(inspect.Parameter("data", inspect.Parameter.VAR_POSITIONAL))
    else:
        params += [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None) for n in input_names]
    for n, _t, _d in info.params:
        if n.isidentifier() and not keyword.iskeyword(n):
            params.append(inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None))
    params += [inspect.Parameter("name", inspect.Parameter.KEYWORD_ONLY, default=None),
               inspect.Parameter("attr", inspect.Parameter.KEYWORD_ONLY, default=None)]
    fn.__signature__ = inspect.Signature(params)
    fn.__name__ = fn.__qualname__ = fname
    fn.__doc__ = f"{info.doc}\n\nSymbolic form of axle.nd.{info.name}: inputs are Symbols; returns a Symbol."
    return fn


def _register_ops():
    g = globals()
    for name in list_ops():
        if name in g:
            continue
        g[name] = _make_function(OpInfo(name), name)


_register_ops()

# Symbol methods that MXNet 1.x defines as shortcuts to ops: s.sum(axis=1) == sym.sum(s, axis=1).
_METHODS = ["sum", "mean", "max", "min", "prod", "norm", "argmax", "argmin", "clip", "reshape", "flatten",
            "transpose", "expand_dims", "squeeze", "broadcast_to", "broadcast_axes", "broadcast_like", "exp", "log",
            "sqrt", "square", "abs", "sign", "relu", "sigmoid", "tanh", "softmax", "log_softmax", "tile", "repeat",
            "slice", "slice_axis", "split", "take", "pick", "one_hot", "zeros_like", "ones_like", "astype"]


def _install_methods():
    g = globals()
    for name in _METHODS:
        fn = g.get("Cast" if name == "astype" else name)
        if fn is None or hasattr(Symbol, name):
            continue
        if name == "astype":
            def method(self, dtype, _fn=fn):
                return _fn(self, dtype=dtype)
        elif name == "reshape":
            def method(self, *shape, _fn=fn, **kwargs):
                if shape:
                    kwargs["shape"] = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
                return _fn(self, **kwargs)
        else:
            def method(self, *args, _fn=fn, **kwargs):
                return _fn(self, *args, **kwargs)
        method.__name__ = name
        setattr(Symbol, name, method)


_install_methods()
