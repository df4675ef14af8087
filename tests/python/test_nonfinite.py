"""NaN and Inf through every op of the registry, forward and backward, without crashing.

Each op runs through every conformance case that uses it with every floating-point input, aux
state and head gradient overwritten by NaN, +Inf and -Inf mixed into the data, and through one of
them (a gradient case where there is one) with all NaN and with all Inf. Index inputs (take, one_hot, Embedding,
labels) get them too. An op may compute anything from them or raise Axle's error; it must not
crash, hang or leak handles. An op of the registry that no case covers fails the test."""
import gc
import json
import os
import sys

import numpy as np
import pytest

import axle as mx
from axle.base import live_handle_count
from axle.ndarray._op import OpInfo, list_ops

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_conformance import NAMES, Case, _bind, _grad_reqs  # noqa: E402

OPS = sorted({OpInfo(n).name for n in list_ops() if not n.startswith("_backward_")})
FLOATS = (np.float16, np.float32, np.float64)


def _cases_by_op():
    """canonical op -> the names of the cases that run it, gradient cases first."""
    out = {}
    for name in NAMES:
        case = Case(name)
        if case.one("error_stage") is not None:
            continue
        with open(os.path.join(case.dir, "symbol.json")) as f:
            nodes = json.load(f)["nodes"]
        grad = any(r != "null" for r in _grad_reqs(case).values())
        for op in {OpInfo(n["op"]).name for n in nodes if n.get("op", "null") != "null"}:
            out.setdefault(op, []).insert(0 if grad else len(out.get(op, [])), name)
    return out


CASES_OF = _cases_by_op()


def _poison(a, variant):
    x = a.asnumpy()
    if x.dtype.type not in FLOATS or x.size == 0:
        return a
    if variant == "nan":
        x[...] = np.nan
    elif variant == "inf":
        x[...] = np.inf
    else:
        flat = x.reshape(-1)
        flat[0::3] = np.nan
        flat[1::3] = np.inf
        flat[2::5] = -np.inf
    return mx.nd.array(x, dtype=x.dtype)


def _run(case, variant):
    sym = mx.sym.load(os.path.join(case.dir, "symbol.json"))
    data = mx.nd.load(os.path.join(case.dir, "data.params"))
    data = data if isinstance(data, dict) else {}
    data = {k: _poison(v, variant) if k.split(":")[0] in ("arg", "aux", "head", "grad_init") else v
            for k, v in data.items()}
    reqs = _grad_reqs(case)
    ex, _, grads = _bind(sym, data, "arg", reqs, mx.cpu())
    ex.forward(is_train=case.one("is_train", "0") == "1")
    if any(r != "null" for r in reqs.values()):
        heads = [data.get(f"head:{i}") for i in range(len(ex.outputs))]
        ex.backward(heads if any(h is not None for h in heads) else None)
    for a in list(ex.outputs) + list(grads.values()):
        a.asnumpy()


@pytest.mark.parametrize("variant", ["mixed", "nan", "inf"])
@pytest.mark.parametrize("op", OPS)
def test_nonfinite_inputs_do_not_crash(op, variant):
    names = CASES_OF.get(op)
    assert names, f"no conformance case runs {op}: add one (tests/conformance/generate.py)"
    for name in names if variant == "mixed" else names[:1]:
        mx.nd.waitall()
        gc.collect()
        handles0 = live_handle_count()
        try:
            _run(Case(name), variant)
        except mx.base.AxleError as e:
            assert str(e), f"{op} ({name}): an error without a message"
        mx.nd.waitall()
        gc.collect()
        assert live_handle_count() == handles0, f"{op} ({name}): live handles did not return to their baseline"
