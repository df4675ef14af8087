"""The machinery of generate.py: writing .params files and symbol JSON without Axle, the float64
finite-difference gradient of a numpy reference, and the case writer (see FORMAT.md)."""
import json
import os
import struct

import numpy as np

DTYPE_CODE = {np.dtype(np.float32): 0, np.dtype(np.float64): 1, np.dtype(np.float16): 2,
              np.dtype(np.uint8): 3, np.dtype(np.int32): 4, np.dtype(np.int8): 5,
              np.dtype(np.int64): 6, np.dtype(np.bool_): 7}
# Inputs that ops write (they become aux states of the symbol; JSON marks them with version 1).
MUTATED = {"BatchNorm": (3, 4), "_npx_batch_norm": (3, 4), "sgd_mom_update": (2,), "nag_mom_update": (2,),
           "adam_update": (2, 3), "rmsprop_update": (2,), "rmspropalex_update": (2, 3, 4),
           "signum_update": (2,), "ftrl_update": (2, 3)}


def write_params(path, named):
    """MXNet 1.x .params: a dict of arrays (v2 records, dense, cpu(0))."""
    out = [struct.pack("<QQQ", 0x112, 0, len(named))]
    for _, a in named:
        a = np.ascontiguousarray(a)
        assert a.ndim >= 1, "0-d arrays cannot be stored in v2 records"
        out.append(struct.pack("<Iii", 0xF993FAC9, 0, a.ndim))
        out.append(struct.pack("<%dq" % a.ndim, *a.shape))
        out.append(struct.pack("<iii", 1, 0, DTYPE_CODE[a.dtype]))
        out.append(a.tobytes())
    out.append(struct.pack("<Q", len(named)))
    for n, _ in named:
        b = n.encode()
        out.append(struct.pack("<Q", len(b)) + b)
    with open(path, "wb") as f:
        f.write(b"".join(out))


class Node:
    """A graph node: a variable (op None) or an op on inputs (Node or (Node, output index))."""

    def __init__(self, op, name, inputs=(), attrs=None, nout=1):
        self.op, self.name, self.attrs, self.nout = op, name, dict(attrs or {}), nout
        self.inputs = [i if isinstance(i, tuple) else (i, 0) for i in inputs]

    def __getitem__(self, i):
        return (self, i)


def var(name):
    return Node(None, name)


def symbol_json(heads):
    """MXNet 1.x symbol JSON for the given heads (Node or (Node, index))."""
    heads = [h if isinstance(h, tuple) else (h, 0) for h in heads]
    order, index = [], {}

    def visit(n):
        if id(n) in index:
            return
        for i, _ in n.inputs:
            visit(i)
        index[id(n)] = len(order)
        order.append(n)

    for n, _ in heads:
        visit(n)
    nodes, row = [], [0]
    for n in order:
        d = {"op": n.op or "null", "name": n.name}
        if n.attrs:
            d["attrs"] = {k: str(v) for k, v in n.attrs.items()}
        mut = MUTATED.get(n.op, ())
        d["inputs"] = [[index[id(i)], k, 1 if j in mut else 0] for j, (i, k) in enumerate(n.inputs)]
        nodes.append(d)
        row.append(row[-1] + n.nout)
    doc = {"nodes": nodes, "arg_nodes": [i for i, n in enumerate(order) if n.op is None],
           "node_row_ptr": row, "heads": [[index[id(n)], k, 0] for n, k in heads],
           "attrs": {"mxnet_version": ["int", 10901]}}
    return json.dumps(doc, indent=1)


def as_list(x):
    return list(x) if isinstance(x, (tuple, list)) else [x]


def numeric_grads(f, inputs, wrt, heads, eps=1e-6):
    """d/dx sum_k <heads[k], f(inputs)[k]> by central differences in float64 for each input in wrt
    (an index list). NaN inputs get gradient 0 (nansum, nanprod ignore them)."""
    xs = [np.array(x, dtype=np.float64) for x in inputs]

    def loss():
        return sum(float(np.sum(np.asarray(o, np.float64) * h)) for o, h in zip(as_list(f(*xs)), heads))

    grads = {}
    for j in wrt:
        g = np.zeros_like(xs[j])
        flat, gf = xs[j].reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            v = flat[i]
            if np.isnan(v):
                continue
            h = eps * max(1.0, abs(v))
            flat[i] = v + h
            up = loss()
            flat[i] = v - h
            down = loss()
            flat[i] = v
            gf[i] = (up - down) / (2 * h)
        grads[j] = g
    return grads


class Writer:
    """Writes cases under root/<name>/ (meta.txt, symbol.json, data.params)."""

    def __init__(self, root):
        self.root = root
        self.names = set()
        self.kinds = {}

    def write(self, name, kind, symbol, params, meta, raw_symbol=None, raw_params=None):
        assert name not in self.names, name
        assert all(c.isalnum() or c in "_-." for c in name), name
        self.names.add(name)
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        d = os.path.join(self.root, name)
        os.makedirs(d)
        lines = [f"kind {kind}"] + meta
        with open(os.path.join(d, "meta.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(d, "symbol.json"), "w") as f:
            f.write(raw_symbol if raw_symbol is not None else symbol_json(symbol))
        if raw_params is not None:
            with open(os.path.join(d, "data.params"), "wb") as f:
                f.write(raw_params)
        else:
            write_params(os.path.join(d, "data.params"), params)
