"""The shared conformance cases (tests/conformance, FORMAT.md) run through the Python binding:
one test per case, plus the coverage check (every registry op has cases). Skips come from
tests/conformance/skips/python.txt; a listed case that passes fails (remove it from the list)."""
import fnmatch
import gc
import json
import os

import numpy as np
import pytest

import axle as mx
from axle.base import live_handle_count
from axle.ndarray._op import OpInfo, list_ops

# AXLE_CONFORMANCE_DIR runs another copy of the cases (a runner's self-check on altered data)
ROOT = os.environ.get("AXLE_CONFORMANCE_DIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                                              "conformance")
CASES = os.path.join(ROOT, "cases")
NAMES = [line.strip() for line in open(os.path.join(CASES, "index.txt")) if line.strip()]


def read_meta(path):
    """key -> list of values (the rest of each line after the first space)."""
    meta = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            key, _, value = line.partition(" ")
            meta.setdefault(key, []).append(value)
    return meta


def read_skips(runner):
    out = []
    with open(os.path.join(ROOT, "skips", runner + ".txt")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                pattern, _, reason = line.partition(" ")
                out.append((pattern, reason.strip()))
    return out


SKIPS = read_skips("python")


class CaseFailure(Exception):
    pass


def compare(what, got, exp, rtol, atol):
    if got.shape != exp.shape:
        raise CaseFailure(f"{what}: shape {got.shape}, expected {exp.shape}")
    g = got.astype(np.float64)
    bad = ~((np.abs(g - exp) <= atol + rtol * np.abs(exp)) | (np.isnan(g) & np.isnan(exp)) | (g == exp))
    if bad.any():
        i = np.unravel_index(np.argmax(bad), bad.shape)
        raise CaseFailure(f"{what}: {int(bad.sum())} of {bad.size} elements differ; first at {i}: got {g[i]!r}, "
                          f"expected {exp[i]!r} (rtol {rtol}, atol {atol})")


def run_check(key, spec, got, data):
    """One `check` line (FORMAT.md): random outputs are checked by shape and statistics."""
    what, *args = spec.split()
    g = got.astype(np.float64)
    if what == "shape":
        ok = list(got.shape) == [int(a) for a in args]
    elif what in ("mean", "std", "min", "max"):
        v = {"mean": np.mean, "std": np.std, "min": np.min, "max": np.max}[what](g)
        ok = abs(v - float(args[0])) <= float(args[1])
        what = f"{what} {v!r}"
    elif what == "range":
        ok = g.min() >= float(args[0]) and g.max() <= float(args[1])
    elif what == "sorted":
        ok = np.array_equal(np.sort(g, axis=None), np.sort(data[key].asnumpy().astype(np.float64), axis=None))
    elif what == "zero_or":
        e = data[key].asnumpy().astype(np.float64)
        ok = bool(np.all((g == 0) | (np.abs(g - e) <= 1e-5 + 1e-5 * np.abs(e))))
    elif what == "zero_frac":
        v = float(np.mean(g == 0))
        ok = abs(v - float(args[0])) <= float(args[1])
        what = f"zero_frac {v!r}"
    elif what == "zeros_match":
        return  # needs the other array: done by the caller
    else:
        raise CaseFailure(f"unknown check {spec!r}")
    if not ok:
        raise CaseFailure(f"check {key} {spec} failed ({what})")


class Case:
    def __init__(self, name):
        self.name = name
        self.dir = os.path.join(CASES, name)
        self.meta = read_meta(os.path.join(self.dir, "meta.txt"))

    def one(self, key, default=None):
        return self.meta.get(key, [default])[0]


def _dtype_ok(arr, name):
    return np.dtype(arr.dtype).name == ("bool" if name == "bool" else name)


def run_case(case, ctx=None):
    """Runs one case (bound on ctx, cpu() by default); raises CaseFailure (or the binding's error) on a
    mismatch."""
    m = case.one
    stage_err = m("error_stage")
    stage = ["load_symbol"]
    try:
        sym = mx.sym.load(os.path.join(case.dir, "symbol.json"))
        stage[0] = "load_params"
        data = mx.nd.load(os.path.join(case.dir, "data.params"))
        data = data if isinstance(data, dict) else {}  # a file of no arrays loads as a list
        stage[0] = "bind"
        run_graph(case, sym, data, stage, ctx or mx.cpu())
    except mx.base.AxleError as e:
        if stage_err is None:
            raise
        if stage_err != stage[0]:
            raise CaseFailure(f"failed at {stage[0]}, expected at {stage_err}: {e}") from None
        if m("error", "") not in str(e):
            raise CaseFailure(f"the error does not contain {m('error')!r}: {e}") from None
        return
    if stage_err is not None:
        raise CaseFailure(f"expected an error at {stage_err}, but the case ran")


def _grad_reqs(case):
    reqs = {}
    for item in case.one("grad_req", "").split():
        k, _, v = item.partition("=")
        reqs[k] = v
    return reqs


def _on(x, ctx):
    """x on ctx (the array itself on cpu(), where the cases' arrays are loaded)."""
    return x if x is None or ctx == mx.cpu() else x.as_in_context(ctx)


def _bind(sym, data, prefix, reqs, ctx, shared=None, shared_exec=None):
    args = {}
    grads = {}
    for n in sym.list_arguments():
        if shared and n in shared:
            args[n] = shared[n][0]
            if shared[n][1] is not None:
                grads[n] = shared[n][1]
            continue
        key = f"{prefix}:{n}"
        if key not in data:
            key = f"arg:{n}"
        args[n] = _on(data[key], ctx)
        if reqs.get(n, "null") != "null":
            init = data.get(f"grad_init:{n}")
            grads[n] = (init.copy() if ctx == mx.cpu() else _on(init, ctx)) if init is not None else \
                mx.nd.zeros(args[n].shape, dtype=args[n].dtype, ctx=ctx)
    aux = {n: _on(data[f"aux:{n}"], ctx) for n in sym.list_auxiliary_states()}
    return sym.bind(ctx, args, args_grad=grads, grad_req={n: reqs.get(n, "null") for n in args},
                    aux_states=aux, shared_exec=shared_exec), args, grads


def _run(ex, data, head_prefix, is_train, backward, passes, ctx):
    heads = []
    for i in range(len(ex.outputs)):
        h = data.get(f"{head_prefix}:{i}")
        heads.append(_on(h, ctx))
    for _ in range(passes):
        ex.forward(is_train=is_train)
        if backward:
            ex.backward([h for h in heads] if any(h is not None for h in heads) else None)
    for o in ex.outputs:
        o.wait_to_read()


def run_graph(case, sym, data, stage, ctx):
    m = case.one
    rtol, atol = float(m("rtol", "1e-5")), float(m("atol", "1e-6"))
    is_train = m("is_train", "0") == "1"
    reqs = _grad_reqs(case)
    backward = any(r != "null" for r in reqs.values())
    passes = int(m("passes", "1"))
    checks = {}
    for line in case.meta.get("check", []):
        key, _, spec = line.partition(" ")
        checks.setdefault(key, []).append(spec)
    if m("seed") is not None:
        mx.random.seed(int(m("seed")))

    ex, args, grads = _bind(sym, data, "arg", reqs, ctx)
    stage[0] = "run"
    _run(ex, data, "head", is_train, backward, passes, ctx)
    got = {f"out:{i}": o.asnumpy() for i, o in enumerate(ex.outputs)}
    dtypes = (m("out_dtype") or "").split()
    for i, d in enumerate(dtypes):
        if not _dtype_ok(got[f"out:{i}"], d):
            raise CaseFailure(f"out:{i} has dtype {got[f'out:{i}'].dtype}, expected {d}")
    for n, a in zip(sym.list_auxiliary_states(), ex.aux_arrays):
        got[f"aux_out:{n}"] = a.asnumpy()
    if "exec2_share" in case.meta:  # outputs of the first executor are read before the second runs
        compare_all(case, got, data, checks, rtol, atol, ("out:", "aux_out:"))
        shared = {n: (args[n], grads.get(n)) for n in m("exec2_share").split()}
        ex2, _, grads2 = _bind(sym, data, "arg2", reqs, ctx, shared, ex)
        _run(ex2, data, "head2", is_train, backward, passes, ctx)
        got = {f"out2:{i}": o.asnumpy() for i, o in enumerate(ex2.outputs)}
        got.update({f"grad2:{n}": g.asnumpy() for n, g in grads2.items() if n not in shared})
        got.update({f"grad:{n}": g.asnumpy() for n, g in grads.items()})
        compare_all(case, got, data, checks, rtol, atol, ("out2:", "grad2:", "grad:"))
        return
    got.update({f"grad:{n}": g.asnumpy() for n, g in grads.items()})
    compare_all(case, got, data, checks, rtol, atol, ("out:", "aux_out:", "grad:"))


def compare_all(case, got, data, checks, rtol, atol, prefixes):
    for key in sorted(k for k in data if k.startswith(prefixes)):
        if key not in got:
            raise CaseFailure(f"{key} is expected but the executor has no such array")
        if key not in checks:
            compare(key, got[key], data[key].asnumpy().astype(np.float64), rtol, atol)
    for key, specs in checks.items():
        if not key.startswith(prefixes):
            continue
        for spec in specs:
            run_check(key, spec, got[key], data)
            if spec.startswith("zeros_match"):
                other = got[spec.split()[1]]
                if not np.array_equal(got[key] == 0, other == 0):
                    raise CaseFailure(f"check {key} {spec} failed")


def _skip_reason(name):
    for pattern, reason in SKIPS:
        if fnmatch.fnmatchcase(name, pattern):
            return reason
    return None


@pytest.mark.parametrize("name", NAMES)
def test_case(name):
    case = Case(name)
    gc.collect()
    mx.nd.waitall()
    handles0, bytes0 = live_handle_count(), mx.context.memory_stats(mx.cpu())["bytes_in_use"]
    reason = _skip_reason(name)
    try:
        run_case(case)
    except (CaseFailure, mx.base.AxleError) as e:
        if reason:
            pytest.skip(f"skips/python.txt: {reason} ({e})")
        raise
    finally:
        gc.collect()
        try:
            mx.nd.waitall()
        except mx.base.AxleError:
            pass  # an error case's async error, already checked
    if reason:
        pytest.fail(f"{name} is listed in skips/python.txt ({reason}) but passes: remove it from the list")
    assert live_handle_count() == handles0, "live handles did not return to their baseline"
    assert mx.context.memory_stats(mx.cpu())["bytes_in_use"] == bytes0, "bytes in use did not return to baseline"


# ---- coverage: every op of the registry has cases --------------------------------------------------
NOT_DIFFERENTIABLE = {
    # integer or piecewise-constant outputs with no gradient defined
    "argmax", "argmin", "one_hot", "_equal", "_not_equal", "_greater", "_greater_equal", "_lesser",
    "_lesser_equal", "broadcast_equal", "broadcast_not_equal", "broadcast_greater", "broadcast_greater_equal",
    "broadcast_lesser", "broadcast_lesser_equal", "broadcast_logical_and", "broadcast_logical_or",
    "broadcast_logical_xor", "_equal_scalar", "_not_equal_scalar", "_greater_scalar", "_greater_equal_scalar",
    "_lesser_scalar", "_lesser_equal_scalar",
    # no inputs, or outputs that do not depend on the inputs' values
    "_zeros", "_ones", "_full", "_arange", "zeros_like", "ones_like", "_random_uniform", "_random_normal",
    "_random_randint", "_shuffle",
    # optimizer updates and internal helpers (gradients of other ops) are never differentiated
    "sgd_update", "sgd_mom_update", "nag_mom_update", "adam_update", "rmsprop_update", "rmspropalex_update",
    "signsgd_update", "signum_update", "ftrl_update", "_slice_assign", "_slice_assign_scalar", "_broadcast_reduced", "_reduce_sum_like",
    "_engine_rendezvous",
}


def case_ops_by_name():
    """case name -> (whether it computes gradients, the canonical ops of its graph)."""
    out = {}
    for name in NAMES:
        case = Case(name)
        try:
            with open(os.path.join(case.dir, "symbol.json")) as f:
                nodes = json.load(f)["nodes"]
        except (ValueError, KeyError, TypeError):
            continue  # corrupt on purpose
        ops = set()
        for node in nodes:
            if node.get("op", "null") == "null":
                continue
            try:
                ops.add(OpInfo(node["op"]).name)
            except mx.base.AxleError:
                continue  # an unknown op, on purpose
        out[name] = (any(r != "null" for r in _grad_reqs(case).values()), ops)
    return out


def _case_ops():
    """canonical op -> set of kinds of cases using it (kind 'gradient' for any case with grad_req)."""
    out = {}
    for grad, ops in case_ops_by_name().values():
        for op in ops:
            out.setdefault(op, set()).add("gradient" if grad else "forward")
    return out


def test_every_op_has_cases():
    ops = _case_ops()
    canonical = {OpInfo(n).name for n in list_ops()}
    missing = sorted(o for o in canonical if not o.startswith("_backward_") and o not in ops)
    assert not missing, f"registry ops without a conformance case: {missing}"
    no_grad = sorted(o for o in canonical if not o.startswith("_backward_") and o not in NOT_DIFFERENTIABLE
                     and "gradient" not in ops.get(o, ()))
    assert not no_grad, f"differentiable ops without a gradient case: {no_grad}"
    # _backward_X is covered by the gradient cases of X (matched case-insensitively: _backward_reshape
    # is Reshape's)
    lower = {o.lower(): o for o in canonical}
    uncovered = sorted(o for o in canonical if o.startswith("_backward_")
                       and "gradient" not in ops.get(lower.get(o[len("_backward_"):].lower()), ()))
    assert not uncovered, f"backward ops whose forward op has no gradient case: {uncovered}"


def test_case_count():
    assert len(NAMES) >= 200


def test_index_lists_every_case():
    dirs = sorted(n for n in os.listdir(CASES) if os.path.isdir(os.path.join(CASES, n)))
    assert dirs == sorted(NAMES), "cases/index.txt is stale: run tests/conformance/generate.py"
    for n in NAMES:
        assert sorted(os.listdir(os.path.join(CASES, n))) == ["data.params", "meta.txt", "symbol.json"], n


def test_live_handle_count_counts_arrays():
    gc.collect()
    n0 = live_handle_count()
    a = mx.nd.ones((2,))
    assert live_handle_count() == n0 + 1
    del a
    gc.collect()
    assert live_handle_count() == n0


def _altered(tmp_path, name, meta_from=None, meta_to=None, params_from=None):
    """A copy of one case with its meta.txt edited or its data.params taken from another case."""
    import shutil
    dst = tmp_path / name
    shutil.copytree(os.path.join(CASES, name), dst)
    if meta_from is not None:
        text = (dst / "meta.txt").read_text()
        assert meta_from in text
        (dst / "meta.txt").write_text(text.replace(meta_from, meta_to))
    if params_from is not None:
        shutil.copy(os.path.join(CASES, params_from, "data.params"), dst / "data.params")
    case = Case(name)
    case.dir = str(dst)
    case.meta = read_meta(str(dst / "meta.txt"))
    return case


@pytest.mark.parametrize("name, change", [
    ("exp-grad", {"params_from": "sin-grad"}),                                   # wrong values
    ("Cast-int32", {"meta_from": "out_dtype int32", "meta_to": "out_dtype float32"}),
    ("error-bind-dot-inner", {"meta_from": "error dot(d)", "meta_to": "error cross(d)"}),
    ("error-bind-dot-inner", {"meta_from": "error_stage bind", "meta_to": "error_stage run"}),
    ("uniform-stats", {"meta_from": "mean 1 ", "meta_to": "mean 1.2 "}),
    ("Dropout-train-grad", {"meta_from": "zero_frac 0.25", "meta_to": "zero_frac 0.5"}),
    ("feature-shared-weights-two-executors", {"meta_from": "w=add", "meta_to": "w=write"}),
])
def test_runner_rejects_altered_cases(tmp_path, name, change):
    with pytest.raises(CaseFailure):
        run_case(_altered(tmp_path, name, **change))
