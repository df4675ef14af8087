#!/usr/bin/env python3
"""Writes the conformance cases under tests/conformance/cases/ (format: FORMAT.md).

Every expectation is computed here with numpy in float64 -- never with Axle: forward outputs
from a numpy reference of each op, input gradients as the analytic gradient where the op's
gradient is a convention (losses, BlockGrad) and otherwise by central differences of that float64
reference for the stored head gradients. Symbol JSON and .params files are written by casegen.py
directly. Run: python tests/conformance/generate.py (rewrites cases/ entirely; deterministic).
"""
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from casegen import Node, Writer, as_list, numeric_grads, var  # noqa: E402
from refs import (avg_pool, conv, deconv, layer_norm, max_pool, softmax, log_softmax,  # noqa: E402
                  sigmoid)

HERE = os.path.dirname(os.path.abspath(__file__))
shutil.rmtree(os.path.join(HERE, "cases"), ignore_errors=True)
W = Writer(os.path.join(HERE, "cases"))
R = np.random.RandomState(20261128)
f32 = np.float32


def rnd(*shape, lo=-1.0, hi=1.0, dtype=f32):
    return R.uniform(lo, hi, size=shape).astype(dtype)


def away(*shape, lo=0.2, hi=1.0):
    """Values with |x| in [lo, hi], random sign: away from the kinks of abs, relu, sign."""
    return (R.uniform(lo, hi, size=shape) * R.choice([-1, 1], size=shape)).astype(f32)


def fmt(v):
    return repr(float(v))


def op_case(name, op, inputs, ref, attrs=None, grad=(), rtol=1e-5, atol=1e-6, out_dtypes=None,
            is_train=None, analytic=None, aux=(), aux_ref=None, loss=False, kind=None, nout=None,
            grad_req="write", passes=1, extra_meta=(), node_name=None):
    """One op node on variables. inputs: [(name, array)] in the op's input order (None skips an
    optional input); ref(*float64 arrays) -> output(s); grad: names of inputs to differentiate;
    analytic(xs, heads) -> {name: grad} replaces the finite differences; aux: names of aux states
    and aux_ref(*xs) -> their values after the forward pass; loss: the op ignores head gradients."""
    inputs = [(n, a) for n, a in inputs if a is not None]
    if is_train is None:  # backward follows a training forward pass, as in MXNet's use
        is_train = 1 if grad else 0
    xs = [a.astype(np.float64) for _, a in inputs]
    outs = [np.asarray(o, np.float64) for o in as_list(ref(*xs))]
    node = Node(op, node_name or name.replace("-", "_").replace(".", "_"),
                [var(n) for n, _ in inputs], attrs, nout or len(outs))
    params = [(("aux:" if n in aux else "arg:") + n, a) for n, a in inputs]
    meta = [f"op {op}", f"is_train {is_train}", f"rtol {rtol:g}", f"atol {atol:g}"]
    out_dtypes = out_dtypes or ["float32"] * len(outs)
    meta.append("out_dtype " + " ".join(out_dtypes))
    params += [(f"out:{i}", o) for i, o in enumerate(outs)]
    if grad:
        heads = [R.normal(size=o.shape) for o in outs]
        names = [n for n, _ in inputs]
        wrt = [names.index(g) for g in grad]
        if analytic is not None:
            gs = analytic(xs, heads)
        else:
            fd = numeric_grads(ref, xs, wrt, heads)
            gs = {names[j]: g for j, g in fd.items()}
        if not loss:
            params += [(f"head:{i}", h.astype(np.float64 if d == "float64" else f32))
                       for i, (h, d) in enumerate(zip(heads, out_dtypes))]
        reqs = grad_req if isinstance(grad_req, dict) else {g: grad_req for g in grad}
        meta.append("grad_req " + " ".join(f"{g}={reqs[g]}" for g in grad))
        meta.append(f"passes {passes}")
        for g in grad:
            params.append((f"grad:{g}", gs[g] * (passes if reqs[g] == "add" else 1)))
    if aux_ref is not None:
        for n, v in zip(aux, as_list(aux_ref(*xs))):
            params.append((f"aux_out:{n}", np.asarray(v, np.float64)))
    meta += list(extra_meta)
    W.write(name, kind or ("gradient" if grad else "forward"), [node[i] for i in range(len(outs))], params, meta)


# ---- elementwise unary ---------------------------------------------------------------------
def pos(*s):
    return rnd(*s, lo=0.3, hi=2.0)


UNARY = {
    "negative": (np.negative, rnd), "_copy": (lambda x: x, rnd), "abs": (np.abs, away),
    "sign": (np.sign, away), "square": (np.square, rnd), "exp": (np.exp, rnd), "log": (np.log, pos),
    "log1p": (np.log1p, pos), "expm1": (np.expm1, rnd), "sqrt": (np.sqrt, pos),
    "rsqrt": (lambda x: 1 / np.sqrt(x), pos), "reciprocal": (lambda x: 1 / x, pos), "sin": (np.sin, rnd),
    "cos": (np.cos, rnd), "tanh": (np.tanh, rnd), "sigmoid": (sigmoid, rnd),
    "relu": (lambda x: np.maximum(x, 0), away), "softsign": (lambda x: x / (1 + np.abs(x)), away),
    # floor/ceil/round: values kept away from integers and halves (gradient 0 either side)
    "floor": (np.floor, lambda *s: (R.randint(-3, 3, s) + R.uniform(0.1, 0.4, s)).astype(f32)),
    "ceil": (np.ceil, lambda *s: (R.randint(-3, 3, s) + R.uniform(0.1, 0.4, s)).astype(f32)),
    "round": (lambda x: np.sign(x) * np.floor(np.abs(x) + 0.5),
              lambda *s: (R.randint(-3, 3, s) + R.choice([0.2, 0.7], s) + R.uniform(-0.1, 0.1, s)).astype(f32)),
}
for op, (f, gen) in UNARY.items():
    op_case(f"{op}-grad", op, [("data", gen(3, 4))], f, grad=["data"], rtol=1e-5, atol=1e-5)
    x = gen(2, 3, 2).astype(np.float64)
    op_case(f"{op}-f64", op, [("data", x)], f, out_dtypes=["float64"], rtol=1e-12, atol=1e-12)

# ---- elementwise binary (same shapes) ------------------------------------------------------
BIN = {
    "elemwise_add": (np.add, rnd, rnd), "elemwise_sub": (np.subtract, rnd, rnd),
    "elemwise_mul": (np.multiply, rnd, rnd), "elemwise_div": (np.divide, rnd, pos),
    "_mod": (np.mod, lambda *s: rnd(*s, lo=0.1, hi=3), lambda *s: rnd(*s, lo=0.7, hi=1.3)),
    "_power": (np.power, pos, rnd),
    "_maximum": (np.maximum, rnd, rnd), "_minimum": (np.minimum, rnd, rnd),
}
CMP = {"equal": np.equal, "not_equal": np.not_equal, "greater": np.greater,
       "greater_equal": np.greater_equal, "lesser": np.less, "lesser_equal": np.less_equal}


def ints(*s, lo=-2, hi=3):
    return R.randint(lo, hi, size=s).astype(f32)


for op, (f, ga, gb) in BIN.items():
    a, b = ga(3, 4), gb(3, 4)
    if op == "_mod":  # keep a/b away from integers: the gradient wrt b jumps there
        b = np.full((3, 4), 1.0, f32) + rnd(3, 4, lo=0.0, hi=0.05)
        a = (R.randint(0, 3, (3, 4)) + R.uniform(0.2, 0.8, (3, 4))).astype(f32)
    op_case(f"{op}-grad", op, [("lhs", a), ("rhs", b)], f, grad=["lhs", "rhs"], rtol=1e-4, atol=1e-5)
for name, f in CMP.items():
    a, b = ints(3, 4), ints(3, 4)
    op_case(f"_{name}-fwd", f"_{name}", [("lhs", a), ("rhs", b)], lambda x, y, f=f: f(x, y).astype(float))
# MXNet's aliases of the same ops, each loaded by its own name from the JSON
ALIASES = {"_Plus": "elemwise_add", "_plus": "elemwise_add", "_add": "elemwise_add", "_Minus": "elemwise_sub",
           "_minus": "elemwise_sub", "_sub": "elemwise_sub", "_Mul": "elemwise_mul", "_mul": "elemwise_mul",
           "_Div": "elemwise_div", "_div": "elemwise_div", "_Mod": "_mod", "_Power": "_power",
           "_Maximum": "_maximum", "_Minimum": "_minimum"}
for alias, op in ALIASES.items():
    f, ga, gb = BIN[op]
    a, b = ga(2, 3), gb(2, 3)
    if op == "_mod":
        a, b = rnd(2, 3, lo=0.1, hi=2), rnd(2, 3, lo=0.7, hi=1.3)
    op_case(f"alias{alias}", alias, [("lhs", a), ("rhs", b)], f)

# ---- broadcast binary --------------------------------------------------------------------------
for op, (f, ga, gb) in BIN.items():
    bop = "broadcast_" + {"elemwise_add": "add", "elemwise_sub": "sub", "elemwise_mul": "mul",
                          "elemwise_div": "div", "_mod": "mod", "_power": "power", "_maximum": "maximum",
                          "_minimum": "minimum"}[op]
    a, b = ga(3, 1, 4), gb(1, 2, 4)
    if op == "_mod":
        a = (R.randint(0, 3, (3, 1, 4)) + R.uniform(0.2, 0.8, (3, 1, 4))).astype(f32)
        b = np.full((1, 2, 4), 1.0, f32) + rnd(1, 2, 4, lo=0.0, hi=0.05)
    op_case(f"{bop}-grad", bop, [("lhs", a), ("rhs", b)], f, grad=["lhs", "rhs"], rtol=1e-4, atol=1e-5)
    op_case(f"{bop}-scalar-rhs", bop, [("lhs", ga(2, 3)), ("rhs", gb(1, 1))], f)
for name, f in list(CMP.items()) + [("logical_and", np.logical_and), ("logical_or", np.logical_or),
                                    ("logical_xor", np.logical_xor)]:
    a, b = ints(3, 1, 4), ints(1, 2, 4)
    op_case(f"broadcast_{name}-fwd", f"broadcast_{name}", [("lhs", a), ("rhs", b)],
            lambda x, y, f=f: f(x, y).astype(float))

# ---- scalar ops ---------------------------------------------------------------------------------
SCALAR = {
    "_plus_scalar": (lambda x, s: x + s, rnd, 1.5), "_minus_scalar": (lambda x, s: x - s, rnd, 0.75),
    "_rminus_scalar": (lambda x, s: s - x, rnd, 2.0), "_mul_scalar": (lambda x, s: x * s, rnd, -3.0),
    "_div_scalar": (lambda x, s: x / s, rnd, 4.0), "_rdiv_scalar": (lambda x, s: s / x, pos, 2.0),
    "_mod_scalar": (lambda x, s: np.mod(x, s), lambda *sh: rnd(*sh, lo=0.05, hi=0.7) + ints(*sh, lo=0, hi=3) * 0.75, 0.75),
    "_rmod_scalar": (lambda x, s: np.mod(s, x), lambda *sh: rnd(*sh, lo=0.9, hi=1.1) * np.float32(1.7), 3.0),
    "_power_scalar": (lambda x, s: x ** s, pos, 2.5), "_rpower_scalar": (lambda x, s: s ** x, rnd, 1.5),
    "_maximum_scalar": (lambda x, s: np.maximum(x, s), rnd, 0.1),
    "_minimum_scalar": (lambda x, s: np.minimum(x, s), rnd, -0.1),
}
for op, (f, gen, s) in SCALAR.items():
    op_case(f"{op}-grad", op, [("data", gen(3, 4))], lambda x, f=f, s=s: f(x, s), attrs={"scalar": s},
            grad=["data"], rtol=1e-4, atol=1e-5)
for name, f in CMP.items():
    op_case(f"_{name}_scalar-fwd", f"_{name}_scalar", [("data", ints(3, 4))],
            lambda x, f=f: f(x, 1.0).astype(float), attrs={"scalar": 1.0})
SCALAR_ALIASES = {"_PlusScalar": "_plus_scalar", "_MinusScalar": "_minus_scalar", "_RMinusScalar": "_rminus_scalar",
                  "_MulScalar": "_mul_scalar", "_DivScalar": "_div_scalar", "_RDivScalar": "_rdiv_scalar",
                  "_ModScalar": "_mod_scalar", "_RModScalar": "_rmod_scalar", "_PowerScalar": "_power_scalar",
                  "_RPowerScalar": "_rpower_scalar", "_MaximumScalar": "_maximum_scalar",
                  "_MinimumScalar": "_minimum_scalar"}
for alias, op in SCALAR_ALIASES.items():
    f, gen, s = SCALAR[op]
    op_case(f"alias{alias}", alias, [("data", gen(2, 3))], lambda x, f=f, s=s: f(x, s), attrs={"scalar": s})

# ---- add_n, clip, casts -------------------------------------------------------------------------
op_case("add_n-grad", "add_n", [("a", rnd(2, 3)), ("b", rnd(2, 3)), ("c", rnd(2, 3))], lambda a, b, c: a + b + c,
        attrs={"num_args": 3}, grad=["a", "b", "c"])
op_case("ElementWiseSum-alias", "ElementWiseSum", [("a", rnd(4)), ("b", rnd(4))], lambda a, b: a + b,
        attrs={"num_args": 2})
cx = np.array([[-0.9, -0.52, -0.3, 0.1], [0.25, 0.45, 0.55, 0.9], [-0.1, 0.0, 0.3, -0.6]], f32)
op_case("clip-grad", "clip", [("data", cx)], lambda x: np.clip(x, -0.5, 0.5), attrs={"a_min": -0.5, "a_max": 0.5},
        grad=["data"])
op_case("Cast-int32", "Cast", [("data", np.array([[-1.7, -0.2, 0.0], [0.9, 2.5, 3.99]], f32))],
        lambda x: np.trunc(x), attrs={"dtype": "int32"}, out_dtypes=["int32"])
op_case("Cast-f64-grad", "Cast", [("data", rnd(2, 3))], lambda x: x, attrs={"dtype": "float64"},
        out_dtypes=["float64"], grad=["data"])
op_case("Cast-f16", "Cast", [("data", np.array([[0.5, -1.25, 3.0]], f32))], lambda x: x,
        attrs={"dtype": "float16"}, out_dtypes=["float16"])
op_case("cast-alias-uint8", "cast", [("data", np.array([[0, 1, 7, 200]], f32))], lambda x: x,
        attrs={"dtype": "uint8"}, out_dtypes=["uint8"])
op_case("_cast_like-grad", "_cast_like", [("data", rnd(2, 3)), ("like", rnd(1, dtype=np.float64))],
        lambda x, like: x, out_dtypes=["float64"], grad=["data"])

# ---- reductions ---------------------------------------------------------------------------------
X234 = rnd(2, 3, 4)


def red(f, axis, keepdims=False, exclude=False, nd=3):
    if axis is not None and exclude:
        axis = tuple(i for i in range(nd) if i not in as_list(axis))
    return lambda x: f(x, axis=None if axis is None else tuple(as_list(axis)), keepdims=keepdims)


REDUCERS = {"sum": np.sum, "mean": np.mean, "prod": np.prod, "max": np.max, "min": np.min,
            "nansum": np.nansum, "nanprod": np.nanprod}
for op, f in REDUCERS.items():
    gen = (lambda: away(2, 3, 4, lo=0.5, hi=1.5)) if "prod" in op else (lambda: rnd(2, 3, 4))
    for tag, attrs, axis, kd, ex in [("all", {}, None, False, False), ("axis1", {"axis": 1}, 1, False, False),
                                     ("axes02-keep", {"axis": "(0, 2)", "keepdims": True}, (0, 2), True, False),
                                     ("exclude", {"axis": 1, "exclude": True}, 1, False, True)]:
        x = gen()
        if op.startswith("nan"):
            x.reshape(-1)[[1, 7, 18]] = np.nan
        op_case(f"{op}-{tag}", op, [("data", x)], red(f, axis, kd, ex), attrs=attrs, grad=["data"],
                rtol=1e-4, atol=1e-5)
for alias, op in {"sum_axis": "sum", "max_axis": "max", "min_axis": "min"}.items():
    op_case(f"alias{alias}", alias, [("data", rnd(3, 4))], red(REDUCERS[op], 1), attrs={"axis": 1})
for ordv in (1, 2):
    for tag, attrs, axis in [("all", {}, None), ("axis1", {"axis": 1}, 1)]:
        op_case(f"norm-ord{ordv}-{tag}", "norm", [("data", away(2, 3, 4))],
                (lambda x, axis=axis, o=ordv: np.sum(np.abs(x), axis=axis) if o == 1 else
                 np.sqrt(np.sum(x * x, axis=axis))), attrs=dict(attrs, ord=ordv), grad=["data"], rtol=1e-4, atol=1e-5)
for op, f in {"argmax": np.argmax, "argmin": np.argmin}.items():
    op_case(f"{op}-axis1", op, [("data", rnd(3, 5))], lambda x, f=f: f(x, axis=1).astype(float), attrs={"axis": 1})
    op_case(f"{op}-all", op, [("data", rnd(2, 3))], lambda x, f=f: np.array([f(x)], float))
op_case("_broadcast_reduced-mean", "_broadcast_reduced", [("data", rnd(2, 1, 4)), ("like", rnd(2, 3, 4))],
        lambda d, like: np.broadcast_to(d / 3.0, (2, 3, 4)), attrs={"axis": 1, "keepdims": True, "normalize": True})
op_case("_broadcast_reduced-sum", "_broadcast_reduced", [("data", rnd(3)), ("like", rnd(2, 3, 4))],
        lambda d, like: np.broadcast_to(d[None, :, None], (2, 3, 4)), attrs={"axis": "(0, 2)"})

# ---- broadcasting -------------------------------------------------------------------------------
op_case("broadcast_to-grad", "broadcast_to", [("data", rnd(3, 1, 2))], lambda x: np.broadcast_to(x, (3, 4, 2)),
        attrs={"shape": "(3, 4, 2)"}, grad=["data"])
op_case("broadcast_to-zero-keeps", "broadcast_to", [("data", rnd(1, 3))], lambda x: np.broadcast_to(x, (2, 3)),
        attrs={"shape": "(2, 0)"})
op_case("broadcast_axis-grad", "broadcast_axis", [("data", rnd(1, 3, 1))], lambda x: np.broadcast_to(x, (2, 3, 4)),
        attrs={"axis": "(0, 2)", "size": "(2, 4)"}, grad=["data"])
op_case("broadcast_axes-alias", "broadcast_axes", [("data", rnd(2, 1))], lambda x: np.broadcast_to(x, (2, 3)),
        attrs={"axis": 1, "size": 3})
op_case("broadcast_like-grad", "broadcast_like", [("lhs", rnd(1, 3)), ("rhs", rnd(4, 3))],
        lambda a, b: np.broadcast_to(a, b.shape), grad=["lhs"])
op_case("_reduce_sum_like", "_reduce_sum_like", [("data", rnd(4, 3)), ("like", rnd(1, 3))],
        lambda d, like: d.sum(axis=0, keepdims=True))

# ---- indexing -----------------------------------------------------------------------------------
A43 = rnd(4, 3)
idx = np.array([[0, 3], [1, -1], [5, 2]], f32)
op_case("take-clip-grad", "take", [("a", A43), ("indices", idx)],
        lambda a, i: a[np.clip(i.astype(int), 0, 3)], grad=["a"])
op_case("take-wrap", "take", [("a", A43), ("indices", idx)], lambda a, i: a[np.mod(i.astype(int), 4)],
        attrs={"mode": "wrap"})
op_case("take-axis1-grad", "take", [("a", rnd(2, 3, 2)), ("indices", np.array([2, 0, 2], f32))],
        lambda a, i: a[:, i.astype(int)], attrs={"axis": 1}, grad=["a"])
pidx = np.array([0, 3, 1], f32)
op_case("pick-grad", "pick", [("data", rnd(3, 4)), ("index", pidx)],
        lambda d, i: d[np.arange(3), i.astype(int)], grad=["data"])
op_case("pick-axis0-keepdims", "pick", [("data", rnd(3, 4)), ("index", np.array([2, 0, 1, 5], f32))],
        lambda d, i: d[np.clip(i.astype(int), 0, 2), np.arange(4)][None, :], attrs={"axis": 0, "keepdims": True})
op_case("one_hot-fwd", "one_hot", [("indices", np.array([0, 3, 1, 4], f32))], lambda i: np.eye(5)[i.astype(int)],
        attrs={"depth": 5})
op_case("one_hot-int32-values", "one_hot", [("indices", np.array([[1, 0], [2, 2]], f32))],
        lambda i: np.where(np.eye(3)[i.astype(int)] > 0, 7, -1), attrs={"depth": 3, "on_value": 7, "off_value": -1,
                                                                        "dtype": "int32"}, out_dtypes=["int32"])
cond = (R.uniform(size=(3, 4)) > 0.5).astype(f32)
op_case("where-grad", "where", [("condition", cond), ("x", rnd(3, 4)), ("y", rnd(3, 4))],
        lambda c, x, y: np.where(c != 0, x, y), grad=["x", "y"])
op_case("Embedding-grad", "Embedding", [("data", np.array([[0, 2], [3, 2]], f32)), ("weight", rnd(4, 3))],
        lambda d, w: w[d.astype(int)], attrs={"input_dim": 4, "output_dim": 3}, grad=["weight"])

# ---- shape manipulation ------------------------------------------------------------------------
for tag, shape, target, extra in [("0-neg1", "(0, -1)", (2, 12), {}), ("neg2", "(-1, -2)", (2, 3, 4), {}),
                                  ("neg3", "(-3, -2)", (6, 4), {}), ("neg4", "(-4, 1, 2, -2)", (1, 2, 3, 4), {}),
                                  ("reverse", "(-1, 0)", (6, 4), {"reverse": True})]:
    op_case(f"Reshape-{tag}", "Reshape", [("data", rnd(2, 3, 4))], lambda x, t=target: x.reshape(t),
            attrs=dict(extra, shape=shape), grad=["data"] if tag == "0-neg1" else ())
op_case("reshape-alias", "reshape", [("data", rnd(2, 3))], lambda x: x.reshape(3, 2), attrs={"shape": "(3, 2)"})
op_case("Flatten-grad", "Flatten", [("data", rnd(2, 3, 2))], lambda x: x.reshape(2, 6), grad=["data"])
op_case("flatten-alias", "flatten", [("data", rnd(2, 2, 2))], lambda x: x.reshape(2, 4))
op_case("expand_dims-grad", "expand_dims", [("data", rnd(2, 3))], lambda x: x[:, None], attrs={"axis": 1},
        grad=["data"])
op_case("expand_dims-neg", "expand_dims", [("data", rnd(2, 3))], lambda x: x[:, :, None], attrs={"axis": -1})
op_case("squeeze-grad", "squeeze", [("data", rnd(2, 1, 3, 1))], lambda x: x.reshape(2, 3), grad=["data"])
op_case("squeeze-axis", "squeeze", [("data", rnd(1, 3, 1))], lambda x: x.reshape(1, 3), attrs={"axis": 2})
op_case("Concat-grad", "Concat", [("a", rnd(2, 3)), ("b", rnd(2, 1)), ("c", rnd(2, 2))],
        lambda a, b, c: np.concatenate([a, b, c], axis=1), attrs={"num_args": 3}, grad=["a", "b", "c"])
op_case("concat-alias-dim0", "concat", [("a", rnd(1, 3)), ("b", rnd(2, 3))],
        lambda a, b: np.concatenate([a, b], 0), attrs={"num_args": 2, "dim": 0})
op_case("stack-grad", "stack", [("a", rnd(2, 3)), ("b", rnd(2, 3))], lambda a, b: np.stack([a, b], 1),
        attrs={"num_args": 2, "axis": 1}, grad=["a", "b"])
op_case("SliceChannel-grad", "SliceChannel", [("data", rnd(2, 6))], lambda x: tuple(np.split(x, 3, axis=1)),
        attrs={"num_outputs": 3}, grad=["data"])
op_case("SliceChannel-squeeze", "SliceChannel", [("data", rnd(2, 3))],
        lambda x: (x[0], x[1]), attrs={"num_outputs": 2, "axis": 0, "squeeze_axis": True})
op_case("split-alias", "split", [("data", rnd(4, 2))], lambda x: tuple(np.split(x, 2, 0)),
        attrs={"num_outputs": 2, "axis": 0})
op_case("slice_axis-grad", "slice_axis", [("data", rnd(3, 5))], lambda x: x[:, 1:4],
        attrs={"axis": 1, "begin": 1, "end": 4}, grad=["data"])
op_case("slice_axis-neg-none", "slice_axis", [("data", rnd(4, 2))], lambda x: x[-2:],
        attrs={"axis": 0, "begin": -2, "end": "None"})
op_case("tile-grad", "tile", [("data", rnd(2, 3))], lambda x: np.tile(x, (2, 1, 2)), attrs={"reps": "(2, 1, 2)"},
        grad=["data"])
op_case("repeat-axis-grad", "repeat", [("data", rnd(2, 3))], lambda x: np.repeat(x, 2, axis=1),
        attrs={"repeats": 2, "axis": 1}, grad=["data"])
op_case("repeat-flat", "repeat", [("data", rnd(2, 2))], lambda x: np.repeat(x, 3), attrs={"repeats": 3})
op_case("slice-grad", "slice", [("data", rnd(3, 4, 2))], lambda x: x[0:2, 1:4],
        attrs={"begin": "(0, 1)", "end": "(2, 4)"}, grad=["data"])
op_case("slice-step", "slice", [("data", rnd(5, 6))], lambda x: x[1:5:2, 0:6:3],
        attrs={"begin": "(1, 0)", "end": "(5, 6)", "step": "(2, 3)"})


def slice_assign(lhs, rhs):
    o = lhs.copy()
    o[0:2, 1:3] = rhs
    return o


def slice_assign_s(x):
    o = x.copy()
    o[1:3, ::2] = -4.0
    return o


# no gradient (as in MXNet): they implement NDArray.__setitem__
op_case("_slice_assign", "_slice_assign", [("lhs", rnd(3, 4)), ("rhs", rnd(2, 2))], slice_assign,
        attrs={"begin": "(0, 1)", "end": "(2, 3)"})
op_case("_slice_assign_scalar-step", "_slice_assign_scalar", [("data", rnd(3, 4))], slice_assign_s,
        attrs={"begin": "(1, 0)", "end": "(3, 4)", "step": "(1, 2)", "scalar": -4.0})
op_case("transpose-grad", "transpose", [("data", rnd(2, 3, 4))], lambda x: x.transpose(1, 0, 2),
        attrs={"axes": "(1, 0, 2)"}, grad=["data"])
op_case("transpose-default", "transpose", [("data", rnd(2, 3, 4))], lambda x: x.transpose())

# ---- matrix products ---------------------------------------------------------------------------
op_case("dot-grad", "dot", [("lhs", rnd(3, 4)), ("rhs", rnd(4, 2))], np.dot, grad=["lhs", "rhs"])
op_case("dot-ta-tb-grad", "dot", [("lhs", rnd(4, 3)), ("rhs", rnd(2, 4))], lambda a, b: a.T @ b.T,
        attrs={"transpose_a": True, "transpose_b": True}, grad=["lhs", "rhs"])
op_case("dot-3d", "dot", [("lhs", rnd(2, 3, 4)), ("rhs", rnd(4, 2))], lambda a, b: np.tensordot(a, b, 1))
op_case("batch_dot-grad", "batch_dot", [("lhs", rnd(2, 3, 4)), ("rhs", rnd(2, 4, 5))], np.matmul,
        grad=["lhs", "rhs"])
op_case("batch_dot-tb-grad", "batch_dot", [("lhs", rnd(2, 3, 4)), ("rhs", rnd(2, 5, 4))],
        lambda a, b: a @ b.transpose(0, 2, 1), attrs={"transpose_b": True}, grad=["lhs", "rhs"])
op_case("FullyConnected-grad", "FullyConnected", [("data", rnd(2, 3, 2)), ("weight", rnd(4, 6)), ("bias", rnd(4))],
        lambda x, w, b: x.reshape(2, 6) @ w.T + b, attrs={"num_hidden": 4}, grad=["data", "weight", "bias"])
op_case("FullyConnected-nobias-grad", "FullyConnected", [("data", rnd(3, 5)), ("weight", rnd(2, 5))],
        lambda x, w: x @ w.T, attrs={"num_hidden": 2, "no_bias": True}, grad=["data", "weight"])
op_case("FullyConnected-noflatten-grad", "FullyConnected",
        [("data", rnd(2, 3, 5)), ("weight", rnd(4, 5)), ("bias", rnd(4))], lambda x, w, b: x @ w.T + b,
        attrs={"num_hidden": 4, "flatten": False}, grad=["data", "weight", "bias"])

# ---- activations and softmax --------------------------------------------------------------------
ACT = {"relu": lambda x: np.maximum(x, 0), "sigmoid": sigmoid, "tanh": np.tanh,
       "softrelu": lambda x: np.log1p(np.exp(x)), "softsign": lambda x: x / (1 + np.abs(x))}
for t, f in ACT.items():
    op_case(f"Activation-{t}-grad", "Activation", [("data", away(3, 4))], f, attrs={"act_type": t}, grad=["data"])


def erf(x):
    import math
    return np.vectorize(math.erf)(x)


SELU_A, SELU_L = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
LEAKY = {"leaky": ({"slope": 0.1}, lambda x: np.where(x > 0, x, 0.1 * x)),
         "elu": ({"slope": 0.5}, lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
         "selu": ({}, lambda x: SELU_L * np.where(x > 0, x, SELU_A * np.expm1(x))),
         "gelu": ({}, lambda x: 0.5 * x * (1 + erf(x / np.sqrt(2)))),
         "rrelu": ({"lower_bound": 0.1, "upper_bound": 0.3}, lambda x: np.where(x > 0, x, 0.2 * x))}
for t, (attrs, f) in LEAKY.items():  # rrelu outside training: the mean slope
    op_case(f"LeakyReLU-{t}" + ("" if t == "rrelu" else "-grad"), "LeakyReLU", [("data", away(3, 4))], f,
            attrs=dict(attrs, act_type=t), grad=[] if t == "rrelu" else ["data"], rtol=1e-4, atol=1e-5)
op_case("LeakyReLU-prelu-grad", "LeakyReLU", [("data", away(2, 3, 4)), ("gamma", rnd(3, lo=0.1, hi=0.5))],
        lambda x, g: np.where(x > 0, x, g[None, :, None] * x), attrs={"act_type": "prelu"}, grad=["data", "gamma"])
for op, f in {"softmax": softmax, "log_softmax": log_softmax}.items():
    op_case(f"{op}-grad", op, [("data", rnd(3, 5))], f, grad=["data"], rtol=1e-4, atol=1e-5)
    op_case(f"{op}-axis0-temp-grad", op, [("data", rnd(3, 4))], lambda x, f=f: f(x, axis=0, t=2.0),
            attrs={"axis": 0, "temperature": 2.0}, grad=["data"], rtol=1e-4, atol=1e-5)


def softmax_len(x, n):
    out = np.zeros_like(x)
    for i, k in enumerate(n.astype(int)):
        out[i, :k] = softmax(x[i, :k])
    return out


op_case("softmax-use_length-grad", "softmax", [("data", rnd(2, 5)), ("length", np.array([3, 5], np.int32))], softmax_len,
        attrs={"use_length": True}, grad=["data"], rtol=1e-4, atol=1e-5)
op_case("SoftmaxActivation-instance-grad", "SoftmaxActivation", [("data", rnd(2, 3, 2))],
        softmax, grad=["data"], rtol=1e-4, atol=1e-5)
op_case("SoftmaxActivation-channel-grad", "SoftmaxActivation", [("data", rnd(2, 3, 2))],
        lambda x: softmax(x, axis=1), attrs={"mode": "channel"}, grad=["data"], rtol=1e-4, atol=1e-5)

# ---- losses (their gradients are conventions: ignore head gradients; analytic) -------------------
def onehot(lbl, k):
    return np.eye(k)[lbl.astype(int)]


def so_grad(norm=None, scale=1.0, ignore=None, smooth=0.0):
    def g(xs, heads):
        x, lbl = xs
        k = x.shape[-1]
        p = softmax(x)
        y = onehot(np.where(lbl < 0, 0, lbl), k)
        if smooth:
            y = y * (1 - smooth) + (1 - y) * smooth / (k - 1)
        d = (p - y) * scale
        valid = np.ones(len(lbl), bool) if ignore is None else lbl != ignore
        d[~valid] = 0
        if norm == "batch":
            d /= x.shape[0]
        elif norm == "valid":
            d /= max(valid.sum(), 1)
        return {"data": d}
    return g


lbl = np.array([0, 3, 1, 4], f32)
op_case("SoftmaxOutput-grad", "SoftmaxOutput", [("data", rnd(4, 5)), ("label", lbl)], lambda x, l: softmax(x),
        grad=["data"], analytic=so_grad(), loss=True)
op_case("SoftmaxOutput-batch-scale-grad", "SoftmaxOutput", [("data", rnd(4, 5)), ("label", lbl)],
        lambda x, l: softmax(x), attrs={"normalization": "batch", "grad_scale": 2.0}, grad=["data"],
        analytic=so_grad("batch", 2.0), loss=True)
lbl_ign = np.array([0, -1, 1, 4], f32)
op_case("SoftmaxOutput-ignore-valid-grad", "SoftmaxOutput", [("data", rnd(4, 5)), ("label", lbl_ign)],
        lambda x, l: softmax(x), attrs={"use_ignore": True, "ignore_label": -1, "normalization": "valid"},
        grad=["data"], analytic=so_grad("valid", ignore=-1), loss=True)
op_case("SoftmaxOutput-smooth-grad", "SoftmaxOutput", [("data", rnd(3, 4)), ("label", np.array([1, 0, 3], f32))],
        lambda x, l: softmax(x), attrs={"smooth_alpha": 0.1}, grad=["data"], analytic=so_grad(smooth=0.1), loss=True)


def so_multi(xs, heads):
    x, lbl = xs  # (N, C, M), label (N, M)
    p = softmax(x, axis=1)
    y = np.eye(x.shape[1])[lbl.astype(int)].transpose(0, 2, 1)
    return {"data": (p - y) / x.shape[2]}  # MXNet divides by the positions per instance


op_case("SoftmaxOutput-multi-grad", "SoftmaxOutput", [("data", rnd(2, 3, 4)), ("label", ints(2, 4, lo=0, hi=3))],
        lambda x, l: softmax(x, axis=1), attrs={"multi_output": True}, grad=["data"], analytic=so_multi, loss=True)
op_case("Softmax-alias", "Softmax", [("data", rnd(2, 3)), ("label", np.array([2, 0], f32))],
        lambda x, l: softmax(x))
REG = {"LinearRegressionOutput": (lambda x: x, lambda o, l: o - l),
       "LogisticRegressionOutput": (sigmoid, lambda o, l: o - l),
       "MAERegressionOutput": (lambda x: x, lambda o, l: np.sign(o - l))}
for op, (f, d) in REG.items():
    op_case(f"{op}-grad", op, [("data", rnd(3, 2)), ("label", rnd(3, 2))], lambda x, l, f=f: f(x),
            attrs={"grad_scale": 3.0}, grad=["data"], loss=True,
            analytic=lambda xs, h, f=f, d=d: {"data": d(f(xs[0]), xs[1]) * 3.0 / 2})
op_case("MakeLoss-grad", "MakeLoss", [("data", rnd(3, 2))], lambda x: x, attrs={"grad_scale": 0.5}, grad=["data"],
        loss=True, analytic=lambda xs, h: {"data": np.full((3, 2), 0.5)})
op_case("MakeLoss-batch-grad", "MakeLoss", [("data", rnd(3, 2))], lambda x: x, attrs={"normalization": "batch"},
        grad=["data"], loss=True, analytic=lambda xs, h: {"data": np.full((3, 2), 1 / 3)})
op_case("BlockGrad-grad", "BlockGrad", [("data", rnd(2, 3))], lambda x: x, grad=["data"],
        analytic=lambda xs, h: {"data": np.zeros((2, 3))})
op_case("stop_gradient-alias", "stop_gradient", [("data", rnd(2, 3))], lambda x: x)

# ---- convolution, pooling, upsampling -------------------------------------------------------------
for tag, (xs_, ws_, attrs, st, pd, dl, grp) in {
        "basic": ((2, 3, 5, 5), (4, 3, 3, 3), {"kernel": "(3, 3)", "num_filter": 4}, (1, 1), (0, 0), (1, 1), 1),
        "stride-pad": ((1, 2, 5, 5), (3, 2, 3, 3), {"kernel": "(3, 3)", "num_filter": 3, "stride": "(2, 2)",
                                                     "pad": "(1, 1)"}, (2, 2), (1, 1), (1, 1), 1),
        "dilate": ((1, 2, 6, 6), (2, 2, 2, 2), {"kernel": "(2, 2)", "num_filter": 2, "dilate": "(2, 2)"},
                   (1, 1), (0, 0), (2, 2), 1),
        "group": ((1, 4, 4, 4), (4, 2, 3, 3), {"kernel": "(3, 3)", "num_filter": 4, "num_group": 2},
                  (1, 1), (0, 0), (1, 1), 2),
        "1d": ((2, 2, 7), (3, 2, 3), {"kernel": "(3,)", "num_filter": 3, "stride": "(2,)"}, (2,), (0,), (1,), 1)}.items():
    op_case(f"Convolution-{tag}-grad", "Convolution",
            [("data", rnd(*xs_)), ("weight", rnd(*ws_)), ("bias", rnd(ws_[0]))],
            lambda x, w, b, st=st, pd=pd, dl=dl, grp=grp: conv(x, w, b, st, pd, dl, grp), attrs=attrs,
            grad=["data", "weight", "bias"], rtol=1e-4, atol=1e-5)
op_case("Convolution-nobias-grad", "Convolution", [("data", rnd(1, 1, 4, 4)), ("weight", rnd(2, 1, 2, 2))],
        lambda x, w: conv(x, w, None, (1, 1), (0, 0), (1, 1)), attrs={"kernel": "(2, 2)", "num_filter": 2,
                                                                      "no_bias": True},
        grad=["data", "weight"], rtol=1e-4, atol=1e-5)
op_case("_npx_convolution-alias", "_npx_convolution", [("data", rnd(1, 1, 3, 3)), ("weight", rnd(1, 1, 2, 2)),
                                                       ("bias", rnd(1))],
        lambda x, w, b: conv(x, w, b, (1, 1), (0, 0), (1, 1)), attrs={"kernel": "(2, 2)", "num_filter": 1})
op_case("Deconvolution-grad", "Deconvolution", [("data", rnd(2, 3, 3, 3)), ("weight", rnd(3, 2, 3, 3))],
        lambda x, w: deconv(x, w, None, (1, 1), (0, 0), (1, 1), (0, 0)), attrs={"kernel": "(3, 3)", "num_filter": 2},
        grad=["data", "weight"], rtol=1e-4, atol=1e-5)
op_case("Deconvolution-stride-pad-adj-bias-grad", "Deconvolution",
        [("data", rnd(1, 2, 3, 3)), ("weight", rnd(2, 2, 3, 3)), ("bias", rnd(2))],
        lambda x, w, b: deconv(x, w, b, (2, 2), (1, 1), (1, 1), (1, 1)),
        attrs={"kernel": "(3, 3)", "num_filter": 2, "stride": "(2, 2)", "pad": "(1, 1)", "adj": "(1, 1)",
               "no_bias": False}, grad=["data", "weight", "bias"], rtol=1e-4, atol=1e-5)
op_case("Deconvolution-group", "Deconvolution", [("data", rnd(1, 4, 3, 3)), ("weight", rnd(4, 1, 2, 2))],
        lambda x, w: deconv(x, w, None, (1, 1), (0, 0), (1, 1), (0, 0), groups=2),
        attrs={"kernel": "(2, 2)", "num_filter": 2, "num_group": 2}, rtol=1e-4, atol=1e-5)
op_case("_npx_deconvolution-alias", "_npx_deconvolution", [("data", rnd(1, 1, 2, 2)), ("weight", rnd(1, 1, 2, 2))],
        lambda x, w: deconv(x, w, None, (1, 1), (0, 0), (1, 1), (0, 0)), attrs={"kernel": "(2, 2)", "num_filter": 1})
op_case("UpSampling-nearest-grad", "UpSampling", [("data", rnd(1, 2, 2, 3))],
        lambda x: x.repeat(2, axis=2).repeat(2, axis=3), attrs={"scale": 2, "sample_type": "nearest", "num_args": 1},
        grad=["data"])
op_case("UpSampling-nearest-concat2", "UpSampling", [("a", rnd(1, 1, 2, 2)), ("b", rnd(1, 2, 4, 4))],
        lambda a, b: np.concatenate([a.repeat(2, 2).repeat(2, 3), b], axis=1),
        attrs={"scale": 2, "sample_type": "nearest", "num_args": 2})
op_case("UpSampling-nearest-sum2-grad", "UpSampling", [("a", rnd(1, 2, 2, 2)), ("b", rnd(1, 2, 4, 4))],
        lambda a, b: a.repeat(2, 2).repeat(2, 3) + b,
        attrs={"scale": 2, "sample_type": "nearest", "num_args": 2, "multi_input_mode": "sum"}, grad=["a", "b"])
op_case("UpSampling-bilinear-grad", "UpSampling", [("data", rnd(1, 2, 3, 3)), ("weight", rnd(2, 1, 4, 4))],
        lambda x, w: deconv(x, w, None, (2, 2), (1, 1), (1, 1), (0, 0), groups=2),
        attrs={"scale": 2, "sample_type": "bilinear", "num_args": 2, "num_filter": 2}, grad=["data", "weight"],
        rtol=1e-4, atol=1e-5)
for tag, shape, attrs, f in [
        ("max-2x2", (1, 2, 4, 4), {"kernel": "(2, 2)", "stride": "(2, 2)"}, lambda x: max_pool(x, (2, 2), (2, 2), (0, 0))),
        ("max-pad", (1, 1, 4, 4), {"kernel": "(3, 3)", "pad": "(1, 1)"}, lambda x: max_pool(x, (3, 3), (1, 1), (1, 1))),
        ("max-full", (1, 1, 5, 5), {"kernel": "(2, 2)", "stride": "(2, 2)", "pooling_convention": "full"},
         lambda x: max_pool(x, (2, 2), (2, 2), (0, 0), full=True)),
        ("avg", (2, 1, 4, 4), {"kernel": "(2, 2)", "pool_type": "avg"}, lambda x: avg_pool(x, (2, 2), (1, 1), (0, 0))),
        ("avg-pad", (1, 1, 3, 3), {"kernel": "(2, 2)", "pool_type": "avg", "pad": "(1, 1)", "stride": "(2, 2)"},
         lambda x: avg_pool(x, (2, 2), (2, 2), (1, 1))),
        ("sum", (1, 2, 3, 3), {"kernel": "(2, 2)", "pool_type": "sum"}, lambda x: avg_pool(x, (2, 2), (1, 1), (0, 0), "sum")),
        ("lp2", (1, 1, 3, 3), {"kernel": "(2, 2)", "pool_type": "lp", "p_value": 2},
         lambda x: avg_pool(x, (2, 2), (1, 1), (0, 0), "lp", 2)),
        ("global-max", (2, 3, 3, 2), {"kernel": "(1, 1)", "global_pool": True}, lambda x: x.max(axis=(2, 3), keepdims=True)),
        ("global-avg", (2, 3, 3, 2), {"kernel": "(1, 1)", "global_pool": True, "pool_type": "avg"},
         lambda x: x.mean(axis=(2, 3), keepdims=True)),
        ("max-1d", (2, 2, 6), {"kernel": "(3,)", "stride": "(2,)"}, lambda x: max_pool(x, (3,), (2,), (0,)))]:
    op_case(f"Pooling-{tag}-grad", "Pooling", [("data", rnd(*shape))], f, attrs=attrs, grad=["data"],
            rtol=1e-4, atol=1e-5)
op_case("_npx_pooling-alias", "_npx_pooling", [("data", rnd(1, 1, 2, 2))], lambda x: x.max(axis=(2, 3), keepdims=True),
        attrs={"kernel": "(2, 2)"})

# ---- normalisation ------------------------------------------------------------------------------
def bn_ref(x, g, b, mm, mv, train, fix_gamma=True, eps=1e-3, axis=1):
    axes = tuple(i for i in range(x.ndim) if i != axis)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    if train:
        m, v = x.mean(axis=axes), x.var(axis=axes)
    else:
        m, v = mm, mv
    g = np.ones_like(g) if fix_gamma else g
    return ((x - m.reshape(shape)) / np.sqrt(v.reshape(shape) + eps) * g.reshape(shape) + b.reshape(shape))


def bn_aux(x, mm, mv, mom=0.9, axis=1, passes=1):
    axes = tuple(i for i in range(x.ndim) if i != axis)
    for _ in range(passes):
        mm = mm * mom + x.mean(axis=axes) * (1 - mom)
        mv = mv * mom + x.var(axis=axes) * (1 - mom)
    return mm, mv


def bn_inputs(shape, c):
    return [("data", rnd(*shape)), ("gamma", rnd(c, lo=0.5, hi=1.5)), ("beta", rnd(c)),
            ("moving_mean", rnd(c, lo=-0.2, hi=0.2)), ("moving_var", rnd(c, lo=0.5, hi=1.5))]


AUX = ("moving_mean", "moving_var")
op_case("BatchNorm-global-stats-grad", "BatchNorm", bn_inputs((2, 3, 2, 2), 3),
        lambda x, g, b, mm, mv: bn_ref(x, g, b, mm, mv, False, False),
        attrs={"fix_gamma": False, "use_global_stats": True}, is_train=1,
        grad=["data", "gamma", "beta"], aux=AUX, nout=3, rtol=1e-4, atol=1e-5)
op_case("BatchNorm-global-stats-train", "BatchNorm", bn_inputs((2, 3, 2), 3),
        lambda x, g, b, mm, mv: bn_ref(x, g, b, mm, mv, False, False),
        attrs={"fix_gamma": False, "use_global_stats": True}, is_train=1, aux=AUX, nout=3,
        aux_ref=lambda x, g, b, mm, mv: (mm, mv), rtol=1e-4, atol=1e-5)
op_case("BatchNorm-train-grad", "BatchNorm", bn_inputs((4, 3, 2), 3),
        lambda x, g, b, mm, mv: bn_ref(x, g, b, mm, mv, True, False), attrs={"fix_gamma": False}, is_train=1,
        grad=["data", "gamma", "beta"], aux=AUX, aux_ref=lambda x, g, b, mm, mv: bn_aux(x, mm, mv), nout=3,
        rtol=1e-3, atol=1e-4)
op_case("BatchNorm-train-fixgamma-2d-grad", "BatchNorm", bn_inputs((5, 2), 2),
        lambda x, g, b, mm, mv: bn_ref(x, g, b, mm, mv, True, True), attrs={"momentum": 0.8}, is_train=1,
        grad=["data", "gamma", "beta"], aux=AUX, aux_ref=lambda x, g, b, mm, mv: bn_aux(x, mm, mv, 0.8), nout=3,
        rtol=1e-3, atol=1e-4)
op_case("BatchNorm-axis-last-inference", "BatchNorm", bn_inputs((2, 2, 3), 3),
        lambda x, g, b, mm, mv: bn_ref(x, g, b, mm, mv, False, False, axis=2), attrs={"fix_gamma": False, "axis": -1},
        aux=AUX, nout=3, rtol=1e-4, atol=1e-5)
op_case("_npx_batch_norm-alias", "_npx_batch_norm", bn_inputs((2, 2), 2),
        lambda x, g, b, mm, mv: bn_ref(x, g, b, mm, mv, False, True), aux=AUX, nout=3, rtol=1e-4, atol=1e-5)
op_case("LayerNorm-grad", "LayerNorm", [("data", rnd(2, 3, 4)), ("gamma", rnd(4, lo=0.5, hi=1.5)), ("beta", rnd(4))],
        layer_norm, grad=["data", "gamma", "beta"], nout=3, rtol=1e-3, atol=1e-4)
op_case("LayerNorm-axis1-grad", "LayerNorm", [("data", rnd(2, 3, 2)), ("gamma", rnd(3, lo=0.5, hi=1.5)), ("beta", rnd(3))],
        lambda x, g, b: layer_norm(x, g, b, axis=1), attrs={"axis": 1}, grad=["data", "gamma", "beta"], nout=3,
        rtol=1e-3, atol=1e-4)
op_case("_npx_layer_norm-alias", "_npx_layer_norm", [("data", rnd(2, 3)), ("gamma", rnd(3)), ("beta", rnd(3))],
        layer_norm, nout=3, rtol=1e-4, atol=1e-5)
op_case("Dropout-inference-grad", "Dropout", [("data", rnd(3, 4))], lambda x: x, attrs={"p": 0.5}, grad=["data"],
        nout=2, is_train=0)
# a group of one: a plain copy. Groups are never reset, so the key must be one no test in the same
# process uses (tests/python/test_params_io.py uses 424242 for a rendezvous that must time out).
op_case("_engine_rendezvous-single", "_engine_rendezvous", [("data", rnd(2, 2))], lambda x: x,
        attrs={"key": 90061, "parties": 1})

# ---- optimizer updates (forward only; states are aux states updated in place) ---------------------
def clipg(g, rescale, clip):
    g = g * rescale
    return np.clip(g, -clip, clip) if clip > 0 else g


def opt_case(name, op, attrs, ref):
    ins = [("weight", rnd(2, 3)), ("grad", rnd(2, 3))]
    names = {"sgd_mom_update": ["mom"], "nag_mom_update": ["mom"], "adam_update": ["mean", "var"],
             "rmsprop_update": ["n"], "rmspropalex_update": ["n", "g", "delta"], "signum_update": ["mom"],
             "ftrl_update": ["z", "n"]}.get(op, [])
    ins += [(s, rnd(2, 3, lo=0.1 if s in ("var", "n") else -0.5, hi=1.0)) for s in names]
    if op == "rmspropalex_update":  # n - g^2 must stay positive
        ins[3] = ("g", rnd(2, 3, lo=-0.2, hi=0.2))
    op_case(name, op, ins, lambda *xs: ref(*xs)[0], attrs=attrs, aux=tuple(names),
            aux_ref=(lambda *xs: ref(*xs)[1:]) if names else None, rtol=1e-5, atol=1e-6)


A = dict(lr=0.1, wd=0.01, rescale_grad=0.5, clip_gradient=0.2)
opt_case("sgd_update", "sgd_update", A,
         lambda w, g: ((1 - 0.1 * 0.01) * w - 0.1 * clipg(g, 0.5, 0.2),))
opt_case("sgd_update-noclip", "sgd_update", {"lr": 0.5}, lambda w, g: (w - 0.5 * g,))


def sgd_mom(w, g, m, mo=0.9):
    m = mo * m - 0.1 * 0.01 * w - 0.1 * clipg(g, 0.5, 0.2)
    return w + m, m


def nag(w, g, m, mo=0.9):
    gg = clipg(g, 0.5, 0.2) + 0.01 * w
    m = mo * m - 0.1 * gg
    return w + mo * m - 0.1 * gg, m


def adam(w, g, m, v, b1=0.9, b2=0.99, eps=1e-8):
    gg = clipg(g + 0.02 * w, 0.5, 0.2)  # wd joins before clipping: rescale * (g + wd / rescale * w)
    m = b1 * m + (1 - b1) * gg
    v = b2 * v + (1 - b2) * gg * gg
    return w - 0.1 * m / (np.sqrt(v) + eps), m, v


def rmsprop(w, g, n, g1=0.95, eps=1e-8):
    gg = clipg(g + 0.02 * w, 0.5, 0.2)
    n = (1 - g1) * gg * gg + g1 * n
    return w - 0.1 * gg / np.sqrt(n + eps), n


def rmspropalex(w, g, n, gs, d, g1=0.95, g2=0.9, eps=1e-8):
    gg = clipg(g + 0.02 * w, 0.5, 0.2)
    n = (1 - g1) * gg * gg + g1 * n
    gs = (1 - g1) * gg + g1 * gs
    d = g2 * d - 0.1 * gg / np.sqrt(n - gs * gs + eps)
    return w + d, n, gs, d


def signum(w, g, m, mo=0.9):
    m = mo * m - (1 - mo) * 0.01 * w - (1 - mo) * clipg(g, 0.5, 0.2)
    return (1 - 0.1 * 0.05) * w + 0.1 * np.sign(m), m


def ftrl(w, g, z, n, l1=0.01, beta=1.0):
    gg = clipg(g, 0.5, 0.2)
    z = z + gg - (np.sqrt(n + gg * gg) - np.sqrt(n)) * w / 0.1
    n = n + gg * gg
    w = (np.sign(z) * l1 - z) / ((beta + np.sqrt(n)) / 0.1 + 0.01) * (np.abs(z) > l1)
    return w, z, n


opt_case("sgd_mom_update", "sgd_mom_update", dict(A, momentum=0.9), sgd_mom)
opt_case("nag_mom_update", "nag_mom_update", dict(A, momentum=0.9), nag)
opt_case("adam_update", "adam_update", dict(A, beta1=0.9, beta2=0.99), adam)
opt_case("rmsprop_update", "rmsprop_update", A, rmsprop)
opt_case("rmspropalex_update", "rmspropalex_update", A, rmspropalex)
opt_case("signsgd_update", "signsgd_update", A, lambda w, g: ((1 - 0.1 * 0.01) * w - 0.1 * np.sign(g),))
opt_case("signum_update", "signum_update", dict(A, momentum=0.9, wd_lh=0.05), signum)
opt_case("ftrl_update", "ftrl_update", {k: v for k, v in A.items()}, ftrl)


# ---- creation ops (no inputs) -------------------------------------------------------------------
def const_case(name, op, attrs, value, dtype="float32"):
    node = Node(op, name.replace("-", "_"), [], attrs)
    meta = [f"op {op}", "is_train 0", "rtol 0", "atol 0", f"out_dtype {dtype}"]
    W.write(name, "forward", [node], [("out:0", np.asarray(value, np.float64))], meta)


const_case("_zeros", "_zeros", {"shape": "(2, 3)"}, np.zeros((2, 3)))
const_case("_ones-int32", "_ones", {"shape": "(3,)", "dtype": "int32"}, np.ones(3), "int32")
const_case("_full", "_full", {"shape": "(2, 2)", "value": 2.5}, np.full((2, 2), 2.5))
const_case("_full-f64", "_full", {"shape": "(1, 3)", "value": -0.1, "dtype": "float64"}, np.full((1, 3), -0.1),
           "float64")
const_case("_arange", "_arange", {"start": 1, "stop": 7, "step": 1.5}, np.arange(1, 7, 1.5))
const_case("_arange-repeat", "_arange", {"start": 0, "stop": 3, "repeat": 2}, np.repeat(np.arange(3.0), 2))
op_case("zeros_like", "zeros_like", [("data", rnd(2, 3))], np.zeros_like)
op_case("ones_like", "ones_like", [("data", rnd(2, 3))], np.ones_like)


# ---- random ops: checked by shape, dtype and statistics (FORMAT.md) ------------------------------
def random_case(name, op, attrs, checks, dtype="float32", inputs=(), is_train=0, params=(), grad_req=None, seed=7):
    node = Node(op, name.replace("-", "_"), [var(n) for n, _ in inputs], attrs)
    meta = [f"op {op}", f"is_train {is_train}", "rtol 1e-5", "atol 1e-6", f"out_dtype {dtype}", f"seed {seed}"]
    meta += ["check " + c for c in checks]
    if grad_req:
        meta += ["grad_req " + grad_req, "passes 1"]
    W.write(name, "random", [node], [("arg:" + n, a) for n, a in inputs] + list(params), meta)


N = 100
sd_u = 4 / np.sqrt(12)
for alias in ["_random_uniform", "random_uniform", "uniform"]:
    random_case(f"{alias}-stats", alias, {"low": -1, "high": 3, "shape": f"({N}, {N})"},
                ["out:0 shape 100 100", f"out:0 mean 1 {5 * sd_u / N:.4f}", f"out:0 std {sd_u:.5f} 0.03",
                 "out:0 range -1 3"])
random_case("_random_uniform-f64", "_random_uniform", {"shape": "(50, 40)", "dtype": "float64"},
            ["out:0 shape 50 40", "out:0 mean 0.5 0.03", "out:0 range 0 1"], dtype="float64")
for alias in ["_random_normal", "random_normal", "normal"]:
    random_case(f"{alias}-stats", alias, {"loc": 2, "scale": 0.5, "shape": f"({N}, {N})"},
                ["out:0 shape 100 100", f"out:0 mean 2 {5 * 0.5 / N}", "out:0 std 0.5 0.02"])
for alias in ["_random_randint", "random_randint"]:
    random_case(f"{alias}-stats", alias, {"low": -3, "high": 5, "shape": f"({N}, {N})", "dtype": "int32"},
                ["out:0 shape 100 100", "out:0 range -3 4", "out:0 min -3 0", "out:0 max 4 0",
                 f"out:0 mean 0.5 {5 * 2.29 / N:.3f}"], dtype="int32")
sh = np.arange(60, dtype=f32).reshape(20, 3)
for alias in ["_shuffle", "shuffle"]:
    random_case(f"{alias}-permutes", alias, {}, ["out:0 shape 20 3", "out:0 sorted"], inputs=[("data", sh)],
                params=[("out:0", sh.astype(np.float64))])
dx = rnd(50, 40, lo=0.5, hi=1.5)
dh = R.normal(size=(50, 40)).astype(f32)
random_case("Dropout-train-grad", "Dropout", {"p": 0.25}, [
    "out:0 shape 50 40", "out:0 zero_or", "out:0 zero_frac 0.25 0.05", "grad:data zero_or",
    "grad:data zeros_match out:0"], inputs=[("data", dx)], is_train=1, grad_req="data=write",
    params=[("out:0", dx / 0.75), ("head:0", dh), ("grad:data", dh / 0.75)])
random_case("Dropout-always-inference", "Dropout", {"p": 0.5, "mode": "always"},
            ["out:0 zero_or", "out:0 zero_frac 0.5 0.05"], inputs=[("data", dx)], params=[("out:0", dx * 2.0)])


# ---- executor features: graphs of several ops ----------------------------------------------------
def graph_case(name, heads, inputs, ref, grad_req=None, grad_init=None, passes=1, is_train=0, aux=(),
               aux_ref=None, rtol=1e-4, atol=1e-5, loss=False, analytic=None, out_dtypes=None, extra=()):
    """heads: output Nodes; inputs: {name: array}; ref(dict of float64) -> outputs; grad_req:
    {name: write|add|null}; grad_init: {name: initial gradient contents} (for add)."""
    names = list(inputs)
    xs = [inputs[n].astype(np.float64) for n in names]
    f = lambda *v: ref(dict(zip(names, v)))  # noqa: E731
    outs = [np.asarray(o, np.float64) for o in as_list(f(*xs))]
    params = [(("aux:" if n in aux else "arg:") + n, inputs[n]) for n in names]
    params += [(f"out:{i}", o) for i, o in enumerate(outs)]
    meta = [f"is_train {is_train}", f"rtol {rtol:g}",
            f"atol {atol:g}", "out_dtype " + " ".join(out_dtypes or ["float32"] * len(outs))]
    if grad_req:
        heads_v = [R.normal(size=o.shape) for o in outs]
        want = [n for n, r in grad_req.items() if r != "null"]
        if analytic:
            gs = analytic(dict(zip(names, xs)), heads_v)
        else:
            gs = {names[j]: g for j, g in numeric_grads(f, xs, [names.index(n) for n in want], heads_v).items()}
        if not loss:
            params += [(f"head:{i}", h.astype(f32)) for i, h in enumerate(heads_v)]
        meta += ["grad_req " + " ".join(f"{n}={r}" for n, r in grad_req.items()), f"passes {passes}"]
        for n in want:
            init = (grad_init or {}).get(n)
            if init is not None:
                params.append((f"grad_init:{n}", init))
            times = passes if grad_req[n] == "add" else 1
            params.append((f"grad:{n}", gs[n] * times + (init.astype(np.float64) if init is not None and
                                                          grad_req[n] == "add" else 0)))
    elif passes != 1:
        meta.append(f"passes {passes}")
    if aux_ref is not None:
        for n, v in zip(aux, as_list(aux_ref(dict(zip(names, xs))))):
            params.append((f"aux_out:{n}", np.asarray(v, np.float64)))
    W.write(name, "feature", heads, params, meta + list(extra))


def fc_tanh(prefix="fc"):
    fc = Node("FullyConnected", prefix, [var("data"), var("w"), var("b")], {"num_hidden": 3})
    return Node("tanh", prefix + "_act", [fc])


fc_ref = lambda d: np.tanh(d["data"] @ d["w"].T + d["b"])  # noqa: E731
fcin = {"data": rnd(2, 4), "w": rnd(3, 4), "b": rnd(3)}
graph_case("feature-grad_req-add-2passes", [fc_tanh()], fcin, fc_ref,
           grad_req={"data": "add", "w": "add", "b": "add"}, passes=2,
           grad_init={"data": rnd(2, 4), "w": rnd(3, 4), "b": rnd(3)})
graph_case("feature-grad_req-mixed", [fc_tanh()], fcin, fc_ref, grad_req={"data": "write", "w": "null", "b": "add"},
           grad_init={"b": rnd(3)})
graph_case("feature-grad_req-write-2passes", [fc_tanh()], fcin, fc_ref,
           grad_req={"data": "write", "w": "write", "b": "write"}, passes=2)

# shared weights: a second executor of the same symbol shares w and b (arrays and gradient arrays,
# grad_req add) with the first and is bound with shared_exec; its data is its own.
d1, d2 = rnd(2, 4), rnd(2, 4)
h1, h2 = R.normal(size=(2, 3)), R.normal(size=(2, 3))
sw, sb = rnd(3, 4), rnd(3)


def fc_grads(d, h):
    ins = {"data": d, "w": sw, "b": sb}
    names = list(ins)
    f = lambda *v: fc_ref(dict(zip(names, v)))  # noqa: E731
    return {names[j]: g for j, g in numeric_grads(f, [ins[n].astype(np.float64) for n in names], [0, 1, 2], [h]).items()}


g1, g2 = fc_grads(d1, h1), fc_grads(d2, h2)
W.write("feature-shared-weights-two-executors", "feature", [fc_tanh()], [
    ("arg:data", d1), ("arg:w", sw), ("arg:b", sb), ("head:0", h1.astype(f32)),
    ("out:0", fc_ref({"data": d1, "w": sw, "b": sb})), ("arg2:data", d2), ("head2:0", h2.astype(f32)),
    ("out2:0", fc_ref({"data": d2, "w": sw, "b": sb})),
    ("grad:data", g1["data"]), ("grad:w", g1["w"] + g2["w"]), ("grad:b", g1["b"] + g2["b"]), ("grad2:data", g2["data"])],
    ["is_train 1", "rtol 1e-4", "atol 1e-5", "out_dtype float32",
     "grad_req data=write w=add b=add", "passes 1", "exec2_share w b"])

bn = Node("BatchNorm", "bn", [var("data"), var("gamma"), var("beta"), var("moving_mean"), var("moving_var")],
          {"fix_gamma": False, "momentum": 0.7}, nout=3)
bnin = dict(bn_inputs((4, 2, 3), 2))
# MXNet updates the moving statistics in the backward pass of a training step
graph_case("feature-batchnorm-aux-train-3passes", [bn], bnin,
           lambda d: bn_ref(d["data"], d["gamma"], d["beta"], None, None, True, False), is_train=1, passes=3,
           grad_req={"data": "write"}, rtol=1e-3, atol=1e-4,
           aux=AUX, aux_ref=lambda d: bn_aux(d["data"], d["moving_mean"], d["moving_var"], 0.7, passes=3))
graph_case("feature-batchnorm-aux-train-grad", [bn], bnin,
           lambda d: bn_ref(d["data"], d["gamma"], d["beta"], None, None, True, False), is_train=1,
           grad_req={"data": "write", "gamma": "write", "beta": "write"}, aux=AUX,
           aux_ref=lambda d: bn_aux(d["data"], d["moving_mean"], d["moving_var"], 0.7), rtol=1e-3, atol=1e-4)
graph_case("feature-batchnorm-aux-inference-unchanged", [bn], bnin,
           lambda d: bn_ref(d["data"], d["gamma"], d["beta"], d["moving_mean"], d["moving_var"], False, False),
           is_train=0, aux=AUX, aux_ref=lambda d: (d["moving_mean"], d["moving_var"]))

sc = Node("SliceChannel", "sc", [var("data")], {"num_outputs": 2})
graph_case("feature-multiple-outputs-grad", [sc[0], sc[1]], {"data": rnd(3, 4)},
           lambda d: tuple(np.split(d["data"], 2, axis=1)), grad_req={"data": "write"})
vx, vy = var("x"), var("y")
one = Node("tanh", "t", [vx])
two = Node("elemwise_mul", "m", [vx, vy])
three = Node("sum", "s", [vy], {"axis": 1})
graph_case("feature-group-shared-input-grad", [one, two, three], {"x": rnd(2, 3), "y": rnd(2, 3)},
           lambda d: (np.tanh(d["x"]), d["x"] * d["y"], d["y"].sum(axis=1)), grad_req={"x": "write", "y": "write"})
graph_case("feature-group-partial-grad_req", [one, two], {"x": rnd(2, 3), "y": rnd(2, 3)},
           lambda d: (np.tanh(d["x"]), d["x"] * d["y"]), grad_req={"x": "null", "y": "write"})

# an MLP training step: FC -> relu -> FC -> SoftmaxOutput (the loss ignores head gradients)
h = Node("FullyConnected", "fc1", [var("data"), var("w1"), var("b1")], {"num_hidden": 5})
a = Node("Activation", "relu1", [h], {"act_type": "relu"})
o = Node("FullyConnected", "fc2", [a, var("w2"), var("b2")], {"num_hidden": 3})
sm = Node("SoftmaxOutput", "softmax", [o, var("softmax_label")], {"normalization": "batch"})
mlp_in = {"data": rnd(4, 6), "w1": rnd(5, 6), "b1": rnd(5), "w2": rnd(3, 5), "b2": rnd(3),
          "softmax_label": np.array([0, 2, 1, 2], f32)}


def mlp_fwd(d):
    z = np.maximum(d["data"] @ d["w1"].T + d["b1"], 0)
    return softmax(z @ d["w2"].T + d["b2"])


def mlp_loss_grads(d, heads):
    # the gradient of mean cross-entropy: what SoftmaxOutput backpropagates with normalization=batch
    names = ["data", "w1", "b1", "w2", "b2"]
    y = np.eye(3)[d["softmax_label"].astype(int)]

    def ce(*v):
        dd = dict(d, **dict(zip(names, v)))
        return -np.sum(y * np.log(mlp_fwd(dd))) / 4
    return {names[j]: g for j, g in numeric_grads(ce, [d[n] for n in names], range(5), [np.ones(())]).items()}


graph_case("feature-mlp-softmaxoutput-train", [sm], mlp_in, mlp_fwd, is_train=1, loss=True,
           grad_req={"data": "null", "w1": "write", "b1": "write", "w2": "write", "b2": "write",
                     "softmax_label": "null"}, analytic=mlp_loss_grads)
cv = Node("Convolution", "conv", [var("data"), var("cw"), var("cb")], {"kernel": "(2, 2)", "num_filter": 2})
pl = Node("Pooling", "pool", [Node("Activation", "cact", [cv], {"act_type": "tanh"})],
          {"kernel": "(2, 2)", "stride": "(2, 2)", "pool_type": "avg"})
fl = Node("FullyConnected", "cfc", [Node("Flatten", "flat", [pl]), var("fw")], {"num_hidden": 2, "no_bias": True})
graph_case("feature-conv-pool-fc-grad", [fl], {"data": rnd(2, 1, 5, 5), "cw": rnd(2, 1, 2, 2), "cb": rnd(2),
                                               "fw": rnd(2, 8)},
           lambda d: avg_pool(np.tanh(conv(d["data"], d["cw"], d["cb"], (1, 1), (0, 0), (1, 1))), (2, 2), (2, 2),
                              (0, 0)).reshape(2, 8) @ d["fw"].T,
           grad_req={"data": "write", "cw": "write", "cb": "write", "fw": "write"}, is_train=1)


# ---- other dtypes: integer arithmetic, float16 and float64 kernels -------------------------------
i32a, i32b = R.randint(-50, 50, (3, 4)).astype(np.int32), R.randint(1, 9, (3, 4)).astype(np.int32)
op_case("dtype-int32-elemwise_add", "elemwise_add", [("lhs", i32a), ("rhs", i32b)], np.add, out_dtypes=["int32"],
        rtol=0, atol=0)
op_case("dtype-int32-elemwise_mul", "elemwise_mul", [("lhs", i32a), ("rhs", i32b)], np.multiply,
        out_dtypes=["int32"], rtol=0, atol=0)
op_case("dtype-int64-broadcast_sub", "broadcast_sub", [("lhs", i32a.astype(np.int64)), ("rhs", i32b[:1].astype(np.int64))],
        np.subtract, out_dtypes=["int64"], rtol=0, atol=0)
op_case("dtype-int32-sum-axis0", "sum", [("data", i32a)], lambda x: x.sum(axis=0), attrs={"axis": 0},
        out_dtypes=["int32"], rtol=0, atol=0)
op_case("dtype-int32-max", "max", [("data", i32a)], lambda x: x.max(axis=1), attrs={"axis": 1},
        out_dtypes=["int32"], rtol=0, atol=0)
op_case("dtype-uint8-greater", "broadcast_greater", [("lhs", R.randint(0, 9, (2, 3)).astype(np.uint8)),
                                                     ("rhs", R.randint(0, 9, (1, 3)).astype(np.uint8))],
        lambda a, b: (a > b).astype(float), out_dtypes=["uint8"], rtol=0, atol=0)
op_case("dtype-int8-negative", "negative", [("data", R.randint(-100, 100, (5,)).astype(np.int8))], np.negative,
        out_dtypes=["int8"], rtol=0, atol=0)
op_case("dtype-int32-transpose", "transpose", [("data", i32a)], lambda x: x.T, out_dtypes=["int32"], rtol=0, atol=0)
op_case("dtype-int32-Concat", "Concat", [("a", i32a), ("b", i32b)], lambda a, b: np.concatenate([a, b], 1),
        attrs={"num_args": 2}, out_dtypes=["int32"], rtol=0, atol=0)
op_case("dtype-f16-tanh", "tanh", [("data", rnd(3, 4, dtype=np.float16))], np.tanh, out_dtypes=["float16"],
        rtol=2e-3, atol=2e-3)
op_case("dtype-f16-broadcast_add", "broadcast_add", [("lhs", rnd(2, 3, dtype=np.float16)),
                                                     ("rhs", rnd(1, 3, dtype=np.float16))],
        np.add, out_dtypes=["float16"], rtol=2e-3, atol=2e-3)
op_case("dtype-f16-sum", "sum", [("data", rnd(4, 5, dtype=np.float16))], lambda x: x.sum(axis=1), attrs={"axis": 1},
        out_dtypes=["float16"], rtol=5e-3, atol=5e-3)
op_case("dtype-f64-FullyConnected-grad", "FullyConnected",
        [("data", rnd(3, 4, dtype=np.float64)), ("weight", rnd(2, 4, dtype=np.float64)), ("bias", rnd(2, dtype=np.float64))],
        lambda x, w, b: x @ w.T + b, attrs={"num_hidden": 2}, out_dtypes=["float64"], grad=["data", "weight", "bias"],
        rtol=1e-9, atol=1e-9)
op_case("dtype-f64-softmax-grad", "softmax", [("data", rnd(2, 5, dtype=np.float64))], softmax, out_dtypes=["float64"],
        grad=["data"], rtol=1e-8, atol=1e-9)
op_case("dtype-f64-Convolution-grad", "Convolution",
        [("data", rnd(1, 2, 4, 4, dtype=np.float64)), ("weight", rnd(2, 2, 2, 2, dtype=np.float64)),
         ("bias", rnd(2, dtype=np.float64))], lambda x, w, b: conv(x, w, b, (1, 1), (0, 0), (1, 1)),
        attrs={"kernel": "(2, 2)", "num_filter": 2}, out_dtypes=["float64"], grad=["data", "weight", "bias"],
        rtol=1e-8, atol=1e-9)
op_case("dtype-f64-Pooling-avg-grad", "Pooling", [("data", rnd(1, 1, 4, 4, dtype=np.float64))],
        lambda x: avg_pool(x, (2, 2), (2, 2), (0, 0)), attrs={"kernel": "(2, 2)", "stride": "(2, 2)", "pool_type": "avg"},
        out_dtypes=["float64"], grad=["data"], rtol=1e-8, atol=1e-9)
op_case("dtype-f64-BatchNorm-train-grad", "BatchNorm",
        [("data", rnd(4, 2, dtype=np.float64)), ("gamma", rnd(2, lo=0.5, hi=1.5, dtype=np.float64)),
         ("beta", rnd(2, dtype=np.float64)), ("moving_mean", rnd(2, dtype=np.float64)),
         ("moving_var", rnd(2, lo=0.5, hi=1.5, dtype=np.float64))],
        lambda x, g, b, mm, mv: bn_ref(x, g, b, mm, mv, True, False), attrs={"fix_gamma": False}, is_train=1,
        grad=["data", "gamma", "beta"], aux=AUX, aux_ref=lambda x, g, b, mm, mv: bn_aux(x, mm, mv), nout=3,
        out_dtypes=["float64"], rtol=1e-7, atol=1e-8)

# ---- edge cases: negative axes, zero-size arrays ------------------------------------------------
op_case("edge-sum-neg-axis-grad", "sum", [("data", rnd(2, 3, 4))], lambda x: x.sum(axis=-1), attrs={"axis": -1},
        grad=["data"])
op_case("edge-softmax-axis-neg2-grad", "softmax", [("data", rnd(3, 2, 2))], lambda x: softmax(x, axis=-2),
        attrs={"axis": -2}, grad=["data"], rtol=1e-4, atol=1e-5)
op_case("edge-Concat-neg-dim-grad", "Concat", [("a", rnd(2, 2)), ("b", rnd(2, 3))],
        lambda a, b: np.concatenate([a, b], -1), attrs={"num_args": 2, "dim": -1}, grad=["a", "b"])
op_case("edge-stack-neg-axis", "stack", [("a", rnd(2, 3)), ("b", rnd(2, 3))], lambda a, b: np.stack([a, b], -1),
        attrs={"num_args": 2, "axis": -1})
op_case("edge-slice_axis-neg-axis-grad", "slice_axis", [("data", rnd(2, 5))], lambda x: x[:, 1:-1],
        attrs={"axis": -1, "begin": 1, "end": -1}, grad=["data"])
op_case("edge-take-neg-axis-grad", "take", [("a", rnd(2, 4)), ("indices", np.array([3, 0], f32))],
        lambda a, i: a[:, i.astype(int)], attrs={"axis": -1}, grad=["a"])
op_case("edge-max-neg-axis-keepdims-grad", "max", [("data", rnd(2, 3, 2))],
        lambda x: x.max(axis=-2, keepdims=True), attrs={"axis": -2, "keepdims": True}, grad=["data"])
op_case("edge-transpose-neg-axes", "transpose", [("data", rnd(2, 3, 4))], lambda x: x.transpose(2, 0, 1),
        attrs={"axes": "(-1, 0, 1)"})
op_case("edge-broadcast-both-grad", "broadcast_mul", [("lhs", rnd(2, 1)), ("rhs", rnd(1, 3))], np.multiply,
        grad=["lhs", "rhs"])
op_case("edge-zero-size-elemwise_add", "elemwise_add", [("lhs", rnd(0, 3)), ("rhs", rnd(0, 3))], np.add)
op_case("edge-zero-size-sum-axis0", "sum", [("data", rnd(0, 3))], lambda x: x.sum(axis=0), attrs={"axis": 0})
op_case("edge-zero-size-Concat", "Concat", [("a", rnd(2, 0)), ("b", rnd(2, 3))],
        lambda a, b: np.concatenate([a, b], 1), attrs={"num_args": 2})
op_case("edge-zero-size-FullyConnected-grad", "FullyConnected", [("data", rnd(0, 4)), ("weight", rnd(2, 4)),
                                                                 ("bias", rnd(2))],
        lambda x, w, b: x @ w.T + b, attrs={"num_hidden": 2}, grad=["data", "weight", "bias"])
op_case("edge-zero-size-tanh-grad", "tanh", [("data", rnd(2, 0, 3))], np.tanh, grad=["data"])

# ---- error cases: the stage that must fail and a substring of its message -------------------------
def error_case(name, stage, substring, heads=None, params=(), raw_symbol=None, raw_params=None, extra=()):
    meta = [f"error_stage {stage}", f"error {substring}"] + list(extra)
    W.write(name, "error", heads, list(params), meta, raw_symbol=raw_symbol, raw_params=raw_params)


fcn = Node("FullyConnected", "fc", [var("data"), var("weight"), var("bias")], {"num_hidden": 4})
error_case("error-bind-fc-weight-shape", "bind", "FullyConnected(fc): weight shape (4,5) does not match the expected (4,3)", [fcn],
           [("arg:data", rnd(2, 3)), ("arg:weight", rnd(4, 5)), ("arg:bias", rnd(4))])
error_case("error-bind-elemwise-shapes", "bind", "elemwise_add(add): shape of input 'rhs' (3,2) does not match (2,3)", [Node("elemwise_add", "add", [var("a"), var("b")])],
           [("arg:a", rnd(2, 3)), ("arg:b", rnd(3, 2))])
error_case("error-bind-broadcast-incompatible", "bind", "broadcast_mul(bm): operands could not be broadcast together with shapes (2,3) (4,3)",
           [Node("broadcast_mul", "bm", [var("a"), var("b")])], [("arg:a", rnd(2, 3)), ("arg:b", rnd(4, 3))])
error_case("error-bind-dot-inner", "bind", "dot(d): shape mismatch: (2,3) X (2,3)", [Node("dot", "d", [var("a"), var("b")])],
           [("arg:a", rnd(2, 3)), ("arg:b", rnd(2, 3))])
error_case("error-bind-concat-dims", "bind", "Concat(c): input 1 has shape (3,3)", [Node("Concat", "c", [var("a"), var("b")], {"num_args": 2})],
           [("arg:a", rnd(2, 3)), ("arg:b", rnd(3, 3))])
error_case("error-bind-reshape-size", "bind", "Reshape(r): cannot reshape (2,3) to (4,2)", [Node("Reshape", "r", [var("a")], {"shape": "(4, 2)"})],
           [("arg:a", rnd(2, 3))])
error_case("error-bind-conv-channels", "bind", "Convolution(conv): input 'weight' has shape (2,2,2,2), expected (2,3,2,2)",
           [Node("Convolution", "conv", [var("data"), var("w"), var("b")], {"kernel": "(2, 2)", "num_filter": 2})],
           [("arg:data", rnd(1, 3, 4, 4)), ("arg:w", rnd(2, 2, 2, 2)), ("arg:b", rnd(2))])
error_case("error-attr-bad-act_type", "load_symbol", "invalid value for attribute 'act_type'",
           [Node("Activation", "act", [var("x")], {"act_type": "swishy"})])
error_case("error-attr-not-an-int", "load_symbol", "'num_hidden': expected int",
           [Node("FullyConnected", "fc", [var("x"), var("w"), var("b")], {"num_hidden": "four"})])
# (an unknown key in JSON is not an error: it is kept as a user attribute, as MXNet's loader does)
error_case("error-attr-bad-enum", "load_symbol", "invalid value for attribute 'pool_type'",
           [Node("Pooling", "p", [var("x")], {"kernel": "(2, 2)", "pool_type": "median"})])
error_case("error-attr-negative-count", "load_symbol", "num_outputs must be >= 1",
           [Node("SliceChannel", "s", [var("x")], {"num_outputs": "-2"})])
error_case("error-attr-missing-required", "load_symbol", "required attribute 'num_hidden' is missing",
           [Node("FullyConnected", "fc", [var("x"), var("w"), var("b")])])
error_case("error-attr-bad-shape-tuple", "load_symbol", "invalid value for attribute 'kernel'",
           [Node("Pooling", "p", [var("x")], {"kernel": "(2, x)"})])
error_case("error-json-truncated", "load_symbol", "malformed JSON", raw_symbol='{"nodes": [{"op": "null", "name": "x"',
           params=[("arg:x", rnd(1))])
error_case("error-json-unknown-op", "load_symbol", "unknown operator 'NoSuchOp'", [Node("NoSuchOp", "n", [var("x")])])
error_case("error-json-not-a-graph", "load_symbol", "not an object", raw_symbol='[1, 2, 3]')
error_case("error-json-bad-input-index", "load_symbol", "input refers to node 5",
           raw_symbol='{"nodes": [{"op": "null", "name": "x", "inputs": []}, '
                      '{"op": "tanh", "name": "t", "inputs": [[5, 0, 0]]}], "arg_nodes": [0], "heads": [[1, 0, 0]]}')
good = b"".join([np.array([0x112, 0, 1], "<u8").tobytes()])
error_case("error-params-bad-magic", "load_params", "not an NDArray file", [Node("tanh", "t", [var("x")])],
           raw_params=np.array([0x113, 0, 0, 0], "<u8").tobytes())
error_case("error-params-truncated", "load_params", "truncated", [Node("tanh", "t", [var("x")])],
           raw_params=good + np.array([0xF993FAC9], "<u4").tobytes() + b"\x00\x00")
error_case("error-params-empty-file", "load_params", "truncated", [Node("tanh", "t", [var("x")])], raw_params=b"")
error_case("error-run-take-raise", "run", "take(tk): index 7",
           [Node("take", "tk", [var("a"), var("i")], {"mode": "raise"})],
           [("arg:a", rnd(3, 2)), ("arg:i", np.array([0, 7], f32))])

with open(os.path.join(HERE, "cases", "index.txt"), "w") as f:  # for runners without directory listing
    f.write("".join(n + "\n" for n in sorted(W.names)))
print(f"{len(W.names)} cases:", ", ".join(f"{k} {v}" for k, v in sorted(W.kinds.items())))
