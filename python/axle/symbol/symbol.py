"""Symbol: a symbolic graph's outputs (MXNet 1.x's mx.sym.Symbol), backed by the core's graph."""
import warnings

import numpy as np

from .._lib import check, ffi, lib
from ..attribute import AttrScope
from ..base import code_dtype, dtype_code
from ..name import NameManager
from ..ndarray._op import attr_str, op_handle

__all__ = ["Symbol", "Variable", "var", "Group", "load", "load_json", "fromjson", "pow", "power", "maximum",
           "minimum", "hypot"]

# attribute names MXNet stores hidden (as __name__) when given to an op (c_api_symbolic.cc's kHiddenKeys)
_HIDDEN_KEYS = ("ctx_group", "lr_mult", "wd_mult", "force_mirroring", "mirror_stage", "profiler_scope")


def _hidden(key):
    """MXNet's hidden attribute keys are stored as __key__ (and still read as key)."""
    for k in _HIDDEN_KEYS:
        if key == k:
            return "__%s__" % k
        if key.endswith("_" + k):
            raise ValueError(f"setting variable attributes with {key} is deprecated. please instead use\n"
                             f"w = Variable({k}=...)\nsym = YourSymbolName(weight=w)")
    return key


def _strs(n, p):
    return [ffi.string(p[i]).decode() for i in range(n)]


class Symbol:
    """The outputs of a graph of variables and ops. Build with `Variable`, the op functions of
    `axle.sym` and Python operators; inspect with `list_arguments()`, `infer_shape()`; run by
    `bind`/`simple_bind`."""

    __slots__ = ("handle", "__weakref__")

    def __init__(self, handle):
        self.handle = handle

    def __del__(self):
        if lib is not None and getattr(self, "handle", None) is not None:
            lib.AxSymbolFree(self.handle)
            self.handle = None

    # ---- composition ------------------------------------------------------------------------
    def __copy__(self):
        out = ffi.new("AxSymbolHandle*")
        check(lib.AxSymbolCopy(self.handle, out))
        return Symbol(out[0])

    def __deepcopy__(self, memo):
        return self.__copy__()

    copy = __copy__

    def __call__(self, *args, **kwargs):
        """A copy with its free variables replaced by symbols, positionally (in list_inputs()
        order) or by name: `net(data=other)`."""
        s = self.__copy__()
        s._compose(*args, **kwargs)
        return s

    def _compose(self, *args, **kwargs):
        name = kwargs.pop("name", None)
        if args and kwargs:
            raise TypeError("compose takes symbols either positionally or by name, not both")
        syms = list(args) + list(kwargs.values())
        for s in syms:
            if not isinstance(s, Symbol):
                raise TypeError(f"compose: arguments must be Symbols, got {type(s).__name__}")
        keys = ffi.NULL if not kwargs else [ffi.new("char[]", k.encode()) for k in kwargs]
        out = ffi.new("AxSymbolHandle*")
        check(lib.AxSymbolCompose(self.handle, len(syms), keys, [s.handle for s in syms], out))
        lib.AxSymbolFree(self.handle)
        self.handle = out[0]
        del name  # MXNet ignores the name when composing a whole graph

    # ---- operators --------------------------------------------------------------------------
    def _binary(self, other, op, scalar_op, reverse=False):
        if isinstance(other, Symbol):
            return _create(op, [other, self] if reverse else [self, other], {})
        if isinstance(other, (int, float, np.number, bool)):
            return _create(scalar_op, [self], {"scalar": other})
        return NotImplemented

    def __add__(self, o): return self._binary(o, "_Plus", "_PlusScalar")
    __radd__ = __add__
    def __sub__(self, o): return self._binary(o, "_Minus", "_MinusScalar")
    def __rsub__(self, o): return self._binary(o, "_Minus", "_RMinusScalar", True)
    def __mul__(self, o): return self._binary(o, "_Mul", "_MulScalar")
    __rmul__ = __mul__
    def __truediv__(self, o): return self._binary(o, "_Div", "_DivScalar")
    def __rtruediv__(self, o): return self._binary(o, "_Div", "_RDivScalar", True)
    __div__, __rdiv__ = __truediv__, __rtruediv__
    def __mod__(self, o): return self._binary(o, "_Mod", "_ModScalar")
    def __rmod__(self, o): return self._binary(o, "_Mod", "_RModScalar", True)
    def __pow__(self, o): return self._binary(o, "_Power", "_PowerScalar")
    def __rpow__(self, o): return self._binary(o, "_Power", "_RPowerScalar", True)
    def __neg__(self): return self.__mul__(-1.0)
    def __abs__(self): return _create("abs", [self], {})
    def __eq__(self, o): return self._binary(o, "_equal", "_equal_scalar")
    def __ne__(self, o): return self._binary(o, "_not_equal", "_not_equal_scalar")
    def __gt__(self, o): return self._binary(o, "_greater", "_greater_scalar")
    def __ge__(self, o): return self._binary(o, "_greater_equal", "_greater_equal_scalar")
    def __lt__(self, o): return self._binary(o, "_lesser", "_lesser_scalar")
    def __le__(self, o): return self._binary(o, "_lesser_equal", "_lesser_equal_scalar")
    __hash__ = object.__hash__

    def __bool__(self):
        raise TypeError("a Symbol has no truth value (it is a graph, not an array)")

    # ---- outputs ----------------------------------------------------------------------------
    def __len__(self):
        n = ffi.new("int*")
        check(lib.AxSymbolGetNumOutputs(self.handle, n))
        return n[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getitem__(self, index):
        """One output, by position or by name (`net.get_internals()['fc1_output']`)."""
        if isinstance(index, str):
            names = self.list_outputs()
            idx = [i for i, n in enumerate(names) if n == index]
            if not idx:
                raise ValueError(f"the symbol has no output named {index!r} (outputs: {names})")
            if len(idx) > 1:
                raise ValueError(f"several outputs are named {index!r}")
            index = idx[0]
        if isinstance(index, slice):
            return Group([self[i] for i in range(len(self))[index]])
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"symbol index must be an int or a str, got {type(index).__name__}")
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"symbol output index {index} is out of range ({n} outputs)")
        out = ffi.new("AxSymbolHandle*")
        check(lib.AxSymbolGetOutput(self.handle, int(index), out))
        return Symbol(out[0])

    @property
    def name(self):
        """The node name of a single-output symbol, else None."""
        p = ffi.new("char**")
        ok = ffi.new("int*")
        check(lib.AxSymbolGetName(self.handle, p, ok))
        return ffi.string(p[0]).decode() if ok[0] else None

    def __repr__(self):
        name = self.name
        if name is not None:
            return f"<Symbol {name}>"
        return "<Symbol group [%s]>" % ", ".join(s.name for s in self)

    def get_internals(self):
        """Every output of every node in the graph, variables included."""
        out = ffi.new("AxSymbolHandle*")
        check(lib.AxSymbolGetInternals(self.handle, out))
        return Symbol(out[0])

    def get_children(self):
        """The inputs of the output nodes (None for a variable)."""
        out = ffi.new("AxSymbolHandle*")
        check(lib.AxSymbolGetChildren(self.handle, out))
        return Symbol(out[0]) if out[0] != ffi.NULL else None

    def _list(self, what):
        n = ffi.new("int*")
        p = ffi.new("char***")
        check(lib.AxSymbolListNames(self.handle, what, n, p))
        return _strs(n[0], p[0])

    def list_arguments(self):
        return self._list(lib.AX_SYM_ARGUMENTS)

    def list_outputs(self):
        return self._list(lib.AX_SYM_OUTPUTS)

    def list_auxiliary_states(self):
        return self._list(lib.AX_SYM_AUX_STATES)

    def list_inputs(self):
        return self._list(lib.AX_SYM_INPUTS)

    # ---- attributes -------------------------------------------------------------------------
    def attr(self, key):
        """The attribute `key` of this (single-node) symbol, or None."""
        p = ffi.new("char**")
        ok = ffi.new("int*")
        check(lib.AxSymbolGetAttr(self.handle, key.encode(), p, ok))
        return ffi.string(p[0]).decode() if ok[0] else None

    def list_attr(self, recursive=False):
        """This node's attributes as a dict (recursive=True: every node's, keys `node$key`)."""
        if recursive:
            return {f"{n}${k}": v for n, d in self.attr_dict().items() for k, v in d.items()}
        n = ffi.new("int*")
        p = ffi.new("char***")
        check(lib.AxSymbolListAttr(self.handle, 0, n, p))
        s = _strs(2 * n[0], p[0])
        return dict(zip(s[0::2], s[1::2]))

    def attr_dict(self):
        """{node name: {key: value}} for every node with attributes."""
        n = ffi.new("int*")
        p = ffi.new("char***")
        check(lib.AxSymbolListAttr(self.handle, 1, n, p))
        s = _strs(3 * n[0], p[0])
        out = {}
        for i in range(0, len(s), 3):
            out.setdefault(s[i], {})[s[i + 1]] = s[i + 2]
        return out

    def _set_attr(self, **kwargs):
        for k, v in kwargs.items():
            if not isinstance(v, str):
                raise ValueError(f"set_attr: the value of {k!r} must be a string")
            check(lib.AxSymbolSetAttr(self.handle, k.encode(), v.encode()))

    # ---- inference --------------------------------------------------------------------------
    def _known_shapes(self, args, kwargs):
        names = self.list_arguments()
        known = {}
        if args:
            if len(args) > len(names):
                raise ValueError(f"infer_shape: {len(args)} shapes given for {len(names)} arguments {names}")
            for n, s in zip(names, args):
                if s is not None:
                    known[n] = s
        known.update({k: v for k, v in kwargs.items() if v is not None})
        keys, ind, data = [], [0], []
        for k, s in known.items():
            if isinstance(s, (int, np.integer)):
                s = (s,)
            try:
                dims = [-1 if d is None else int(d) for d in s]
            except TypeError:
                raise TypeError(f"infer_shape: the shape of {k!r} must be a tuple of ints, got {s!r}") from None
            keys.append(ffi.new("char[]", k.encode()))
            data += dims
            ind.append(len(data))
        return keys, ind, data

    def _infer_shape(self, args, kwargs):
        keys, ind, data = self._known_shapes(args, kwargs)
        res = [ffi.new(t) for t in ("int*", "int**", "int64_t***") * 3] + [ffi.new("int*")]
        check(lib.AxSymbolInferShape(self.handle, len(keys), keys, ind, data, *res))

        def shapes(n, nd, dims):
            out = []
            for i in range(n[0]):
                k = nd[0][i]
                if k < 0:
                    out.append(None)
                else:
                    out.append(tuple(None if d < 0 else int(d) for d in ffi.unpack(dims[0][i], k)))
            return out

        return (shapes(*res[0:3]), shapes(*res[3:6]), shapes(*res[6:9])), bool(res[9][0])

    def infer_shape(self, *args, **kwargs):
        """(arg_shapes, out_shapes, aux_shapes) from the shapes of some arguments (positional in
        list_arguments() order, or by name). When not every shape can be decided, warns, naming
        the undecided arguments, and returns (None, None, None), as MXNet does; the partial
        result is what infer_shape_partial returns."""
        (a, o, x), complete = self._infer_shape(args, kwargs)
        if not complete:
            undecided = [f"{n}: {s}" for n, s in zip(self.list_arguments(), a) if s is None or None in s]
            warnings.warn("Cannot decide shape for the following arguments (None marks what is unknown). "
                          "Consider providing them as input:\n\t" + "\n\t".join(undecided), stacklevel=2)
            return None, None, None
        return a, o, x

    def infer_shape_partial(self, *args, **kwargs):
        """Like infer_shape, but returns what is known: None for an unknown shape, None for an
        unknown dimension."""
        return self._infer_shape(args, kwargs)[0]

    def _infer_type(self, args, kwargs):
        names = self.list_arguments()
        known = dict(zip(names, args))
        known.update(kwargs)
        known = {k: v for k, v in known.items() if v is not None}
        keys = [ffi.new("char[]", k.encode()) for k in known]
        codes = [dtype_code(v) for v in known.values()]
        res = [ffi.new(t) for t in ("int*", "int**") * 3] + [ffi.new("int*")]
        check(lib.AxSymbolInferType(self.handle, len(keys), keys, codes, *res))

        def types(n, p):
            return [None if p[0][i] < 0 else np.dtype(code_dtype(p[0][i])).type for i in range(n[0])]

        return (types(*res[0:2]), types(*res[2:4]), types(*res[4:6])), bool(res[6][0])

    def infer_type(self, *args, **kwargs):
        """(arg_types, out_types, aux_types) as numpy dtypes from some arguments' dtypes
        (positional or by name); (None, None, None) when not every type can be decided."""
        result, complete = self._infer_type(args, kwargs)
        return result if complete else (None, None, None)

    def infer_type_partial(self, *args, **kwargs):
        """Like infer_type, with None for each type that cannot be decided."""
        return self._infer_type(args, kwargs)[0]

    # ---- serialisation ----------------------------------------------------------------------
    def tojson(self):
        """The graph in MXNet 1.x's JSON format."""
        p = ffi.new("char**")
        check(lib.AxSymbolSaveToJSON(self.handle, p))
        return ffi.string(p[0]).decode()

    def save(self, fname, remove_amp_cast=True):
        """Writes tojson() to fname (through a temporary file, so a failed save keeps the old one)."""
        check(lib.AxSymbolSaveToFile(self.handle, str(fname).encode()))

    def debug_str(self):
        p = ffi.new("char**")
        check(lib.AxSymbolPrint(self.handle, p))
        return ffi.string(p[0]).decode()

    def __getstate__(self):
        return {"json": self.tojson()}

    def __setstate__(self, state):
        out = ffi.new("AxSymbolHandle*")
        check(lib.AxSymbolCreateFromJSON(state["json"].encode(), out))
        self.handle = out[0]

    # ---- binding ----------------------------------------------------------------------------
    def bind(self, ctx, args, args_grad=None, grad_req="write", aux_states=None, group2ctx=None, shared_exec=None):
        """An Executor on ctx over the given arrays (lists in list_arguments() order, or dicts)."""
        from ..executor import bind
        return bind(self, ctx, args, args_grad, grad_req, aux_states, group2ctx, shared_exec)

    def simple_bind(self, ctx, grad_req="write", type_dict=None, stype_dict=None, group2ctx=None,
                    shared_arg_names=None, shared_exec=None, shared_buffer=None, **kwargs):
        """An Executor with arrays allocated (zeros) from the shapes given by name."""
        from ..executor import simple_bind
        return simple_bind(self, ctx, grad_req, type_dict, shared_arg_names, shared_exec, **kwargs)

    def eval(self, ctx=None, **kwargs):
        """Binds to the given NDArrays and runs forward: the list of outputs."""
        from ..context import current_context
        ex = self.bind(ctx or current_context(), kwargs, grad_req="null")
        return ex.forward()


def _create(op_name, inputs, attrs, name=None, attr=None, keys=None):
    """An op node on input symbols; the name comes from the NameManager (hint: the op's name in
    lower case), attributes from the AttrScope."""
    attr = AttrScope.current.get(attr)
    params = {k: v for k, v in attrs.items() if v is not None}
    for k, v in attr.items():  # stored hidden (__lr_mult__), listed under both names, as MXNet does
        params[_hidden(k)] = v
    name = NameManager.current.get(name, op_name.lower())
    m = len(params)
    kv = [ffi.new("char[]", k.encode()) for k in params] + [ffi.new("char[]", attr_str(v).encode())
                                                             for v in params.values()]
    ikeys = ffi.NULL if keys is None else [ffi.new("char[]", k.encode()) for k in keys]
    out = ffi.new("AxSymbolHandle*")
    check(lib.AxSymbolCreateOp(op_handle(op_name), name.encode(), m, kv[:m], kv[m:], len(inputs), ikeys,
                               [s.handle for s in inputs], out))
    return Symbol(out[0])


def Variable(name, attr=None, shape=None, lr_mult=None, wd_mult=None, dtype=None, init=None, stype=None, **kwargs):
    """A variable named `name`: an argument to bind, with optional hints used by inference,
    optimizers and initializers."""
    if not isinstance(name, str):
        raise TypeError(f"Variable: name must be a str, got {type(name).__name__}")
    attr = AttrScope.current.get(attr)
    attr = {_hidden(k): v for k, v in attr.items()}
    if shape is not None:
        attr["__shape__"] = str(tuple(shape)) if not isinstance(shape, int) else "(%d,)" % shape
    if lr_mult is not None:
        attr["__lr_mult__"] = str(lr_mult)
    if wd_mult is not None:
        attr["__wd_mult__"] = str(wd_mult)
    if dtype is not None:
        attr["__dtype__"] = str(dtype_code(dtype))
    if init is not None:
        attr["__init__"] = init if isinstance(init, str) else init.dumps()
    if stype is not None and stype != "default":
        raise NotImplementedError("Variable: sparse storage types are not supported by Axle")
    for k, v in kwargs.items():
        if k.startswith("__") and k.endswith("__"):
            attr[k] = str(v)
        else:
            raise ValueError(f"Attribute name={k} is not supported. Additional attributes must start and end "
                             "with double underscores, e.g. __yourattr__")
    keys = [ffi.new("char[]", k.encode()) for k in attr]
    vals = [ffi.new("char[]", str(v).encode()) for v in attr.values()]
    out = ffi.new("AxSymbolHandle*")
    check(lib.AxSymbolCreateVariable(name.encode(), len(keys), keys, vals, out))
    return Symbol(out[0])


var = Variable


def Group(symbols):
    """One symbol whose outputs are the outputs of all of `symbols`."""
    symbols = list(symbols)
    if not symbols or not all(isinstance(s, Symbol) for s in symbols):
        raise TypeError("Group: expected a non-empty list of Symbols")
    out = ffi.new("AxSymbolHandle*")
    check(lib.AxSymbolGroup(len(symbols), [s.handle for s in symbols], out))
    return Symbol(out[0])


def load(fname):
    """A symbol from an MXNet 1.x (or Axle) `-symbol.json` file."""
    out = ffi.new("AxSymbolHandle*")
    check(lib.AxSymbolCreateFromFile(str(fname).encode(), out))
    return Symbol(out[0])


def load_json(json_str):
    """A symbol from MXNet 1.x JSON text."""
    if not isinstance(json_str, str):
        raise TypeError("load_json: expected a str")
    out = ffi.new("AxSymbolHandle*")
    check(lib.AxSymbolCreateFromJSON(json_str.encode(), out))
    return Symbol(out[0])


fromjson = load_json


def _scalar_or_sym(lhs, rhs, op, lscalar, rscalar, fn):
    if isinstance(lhs, Symbol) and isinstance(rhs, Symbol):
        return _create(op, [lhs, rhs], {})
    if isinstance(lhs, Symbol):
        return _create(lscalar, [lhs], {"scalar": rhs})
    if isinstance(rhs, Symbol):
        return _create(rscalar, [rhs], {"scalar": lhs})
    return fn(lhs, rhs)


def pow(base, exp):  # noqa: A001 (MXNet's name)
    return _scalar_or_sym(base, exp, "_Power", "_PowerScalar", "_RPowerScalar", lambda a, b: a ** b)


power = pow


def maximum(left, right):
    return _scalar_or_sym(left, right, "_Maximum", "_MaximumScalar", "_MaximumScalar", max)


def minimum(left, right):
    return _scalar_or_sym(left, right, "_Minimum", "_MinimumScalar", "_MinimumScalar", min)


def hypot(left, right):
    import math
    if isinstance(left, Symbol) or isinstance(right, Symbol):
        return (left * left + right * right) ** 0.5
    return math.hypot(left, right)

