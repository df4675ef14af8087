#!/usr/bin/env python3
"""Runs the cases' graphs through MXNet 1.9.1 (a development aid, not a test: run it with the
reference interpreter, /work/main/.mxref/bin/python) and lists where MXNet disagrees with the
stored float64 expectations, so the numpy references can be checked against MXNet's semantics.
Cases whose ops MXNet lacks or that error in MXNet are listed as such."""
import os
import sys

import mxnet as mx
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases")


def meta(path):
    out = {}
    for line in open(path):
        k, _, v = line.rstrip("\n").partition(" ")
        out.setdefault(k, []).append(v)
    return out


def run(name):
    d = os.path.join(ROOT, name)
    m = meta(os.path.join(d, "meta.txt"))
    if "error_stage" in m or "check" in m or "exec2_share" in m:
        return None
    sym = mx.sym.load(os.path.join(d, "symbol.json"))
    data = mx.nd.load(os.path.join(d, "data.params"))
    data = data if isinstance(data, dict) else {}
    reqs = dict(kv.split("=") for kv in m.get("grad_req", [""])[0].split())
    args = {n: data["arg:" + n].copy() for n in sym.list_arguments()}
    grads = {n: (data["grad_init:" + n].copy() if "grad_init:" + n in data else mx.nd.zeros_like(args[n]))
             for n in args if reqs.get(n, "null") != "null"}
    aux = {n: data["aux:" + n].copy() for n in sym.list_auxiliary_states()}
    ex = sym.bind(mx.cpu(), args, args_grad=grads or None, grad_req={n: reqs.get(n, "null") for n in args},
                  aux_states=aux)
    heads = [data.get(f"head:{i}") for i in range(len(ex.outputs))]
    rtol, atol = float(m["rtol"][0]), float(m["atol"][0])
    for _ in range(int(m.get("passes", ["1"])[0])):
        ex.forward(is_train=m["is_train"][0] == "1")
        if grads:
            ex.backward([h for h in heads] if any(h is not None for h in heads) else None)
    got = {f"out:{i}": o for i, o in enumerate(ex.outputs)}
    got.update({"grad:" + n: g for n, g in grads.items()})
    got.update({"aux_out:" + n: a for n, a in zip(sym.list_auxiliary_states(), ex.aux_arrays)})
    bad = []
    for k in sorted(data):
        if k.split(":")[0] in ("out", "grad", "aux_out"):
            g, e = got[k].asnumpy().astype(np.float64), data[k].asnumpy()
            if g.shape != e.shape or not np.all((np.abs(g - e) <= atol + rtol * np.abs(e)) | (np.isnan(g) & np.isnan(e))):
                bad.append(k)
    return bad


for name in sorted(n for n in os.listdir(ROOT) if n != "index.txt") if len(sys.argv) < 2 else sys.argv[1:]:
    try:
        r = run(name)
    except Exception as e:  # noqa: BLE001 (a development aid: list and go on)
        print(f"{name}: MXNet error: {str(e).splitlines()[0][:150]}")
        continue
    if r:
        print(f"{name}: MXNet disagrees on {r}")
