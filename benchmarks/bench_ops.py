#!/usr/bin/env python3
"""Elementwise ops and reductions on 10M float32 elements: Axle beside numpy, MXNet 1.9.1 and PyTorch
(a measurement, not a test).

Every op works on a (1000, 10000) float32 array (10,000,000 elements): add, mul, exp, relu, sigmoid,
broadcast_add of a (1, 10000) row, a scalar mul; sum of everything, sum over axis 0 and axis 1,
mean, max, argmax over axis 1. Each run makes a new result and is timed including the wait for it
(Axle and MXNet are asynchronous); the median of --repeats runs after --warmup runs. Each worker
checks its results against numpy (float64) before reporting.

The frameworks run in child processes with the same thread settings, exactly as in
bench_ndarray.py (see benchmarks/README.md): Axle and numpy with this interpreter, MXNet with
.mxref/bin/python, PyTorch with benchmarks/.venv-torch/bin/python. numpy is single-threaded.
Ratios are Axle / peer: below 1 means Axle is faster. Target (issue #3): Axle within 1.3x of numpy.

    python benchmarks/bench_ops.py                  # everything installed
    python benchmarks/bench_ops.py --only axle numpy --ops add sum_all --repeats 21
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_ndarray import (DEFAULT_MXNET_PY, DEFAULT_TORCH_PY, LABEL, PEERS, _framework, cpu_name,  # noqa: E402
                           drive, run_child, thread_env)

ROWS, COLS = 1000, 10000
ELEMWISE = ["add", "mul", "exp", "relu", "sigmoid", "broadcast_add_row", "mul_scalar"]
REDUCE = ["sum_all", "sum_axis0", "sum_axis1", "mean", "max", "argmax_axis1"]
OPS = ELEMWISE + REDUCE


# ---- worker side --------------------------------------------------------------------------------------
def op_table(name):
    """op -> f(a, b, row) for one framework (a, b: (ROWS, COLS); row: (1, COLS))."""
    if name in ("axle", "mxnet"):
        if name == "axle":
            import axle as mx
        else:
            import mxnet as mx
        nd = mx.nd
        return {"add": lambda a, b, r: a + b, "mul": lambda a, b, r: a * b, "exp": lambda a, b, r: nd.exp(a),
                "relu": lambda a, b, r: nd.relu(a), "sigmoid": lambda a, b, r: nd.sigmoid(a),
                "broadcast_add_row": lambda a, b, r: nd.broadcast_add(a, r), "mul_scalar": lambda a, b, r: a * 2.5,
                "sum_all": lambda a, b, r: nd.sum(a), "sum_axis0": lambda a, b, r: nd.sum(a, axis=0),
                "sum_axis1": lambda a, b, r: nd.sum(a, axis=1), "mean": lambda a, b, r: nd.mean(a),
                "max": lambda a, b, r: nd.max(a), "argmax_axis1": lambda a, b, r: nd.argmax(a, axis=1)}
    if name == "torch":
        import torch
        return {"add": lambda a, b, r: a + b, "mul": lambda a, b, r: a * b, "exp": lambda a, b, r: torch.exp(a),
                "relu": lambda a, b, r: torch.relu(a), "sigmoid": lambda a, b, r: torch.sigmoid(a),
                "broadcast_add_row": lambda a, b, r: a + r, "mul_scalar": lambda a, b, r: a * 2.5,
                "sum_all": lambda a, b, r: a.sum(), "sum_axis0": lambda a, b, r: a.sum(0),
                "sum_axis1": lambda a, b, r: a.sum(1), "mean": lambda a, b, r: a.mean(),
                "max": lambda a, b, r: a.max(), "argmax_axis1": lambda a, b, r: a.argmax(1)}
    import numpy as np
    return {"add": lambda a, b, r: a + b, "mul": lambda a, b, r: a * b, "exp": lambda a, b, r: np.exp(a),
            "relu": lambda a, b, r: np.maximum(a, 0), "sigmoid": lambda a, b, r: 1 / (1 + np.exp(-a)),
            "broadcast_add_row": lambda a, b, r: a + r, "mul_scalar": lambda a, b, r: a * np.float32(2.5),
            "sum_all": lambda a, b, r: a.sum(), "sum_axis0": lambda a, b, r: a.sum(0),
            "sum_axis1": lambda a, b, r: a.sum(1), "mean": lambda a, b, r: a.mean(), "max": lambda a, b, r: a.max(),
            "argmax_axis1": lambda a, b, r: a.argmax(1)}


def reference(op, a, b, r):
    import numpy as np
    a, b, r = (x.astype(np.float64) for x in (a, b, r))
    return {"add": lambda: a + b, "mul": lambda: a * b, "exp": lambda: np.exp(a), "relu": lambda: np.maximum(a, 0),
            "sigmoid": lambda: 1 / (1 + np.exp(-a)), "broadcast_add_row": lambda: a + r,
            "mul_scalar": lambda: a * 2.5, "sum_all": lambda: a.sum(), "sum_axis0": lambda: a.sum(0),
            "sum_axis1": lambda: a.sum(1), "mean": lambda: a.mean(), "max": lambda: a.max(),
            "argmax_axis1": lambda: a.argmax(1)}[op]()


def worker(args):
    import numpy as np

    fw = _framework(args.worker, args.threads)
    ops = op_table(args.worker)
    rng = np.random.default_rng(0)
    xa = rng.uniform(-1, 1, (ROWS, COLS)).astype(np.float32)
    xb = rng.uniform(-1, 1, (ROWS, COLS)).astype(np.float32)
    xr = rng.uniform(-1, 1, (1, COLS)).astype(np.float32)
    a, b, r = fw["make"](xa), fw["make"](xb), fw["make"](xr)
    fw["sync_all"]()
    out = {"framework": args.worker, "version": fw["version"], "threads": fw["threads"], "ops": {}}
    for op in args.ops:
        f, sync = ops[op], fw["sync"]
        for _ in range(args.warmup):
            c = f(a, b, r)
            sync(c)
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            c = f(a, b, r)
            sync(c)
            times.append(time.perf_counter() - t0)
        got = np.asarray(fw["to_numpy"](c), dtype=np.float64).reshape(-1)
        want = np.asarray(reference(op, xa, xb, xr), dtype=np.float64).reshape(-1)
        if got.size != want.size or not np.allclose(got, want, rtol=1e-4, atol=1e-3 if op.startswith("sum") else 1e-5):
            raise SystemExit("%s: wrong result for %s" % (args.worker, op))
        del c
        out["ops"][op] = {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}
    print(json.dumps(out))


# ---- driver side --------------------------------------------------------------------------------------
def run_worker(name, python, args):
    cmd = [python, os.path.abspath(__file__), "--worker", name, "--repeats", str(args.repeats), "--warmup",
           str(args.warmup), "--threads", str(args.threads), "--ops"] + args.ops
    env = thread_env(args.threads)
    if name in ("mxnet", "torch"):
        env.pop("PYTHONPATH", None)
    return run_child(name, cmd, env, args.timeout)


def machine():
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return "%s, %d CPUs, load average %.1f, Python %s, %s" % (cpu_name(), os.cpu_count() or 0, load,
                                                             platform.python_version(), time.strftime("%Y-%m-%d %H:%M"))


def common_args(ap, peers):
    """The options every multi-framework benchmark here shares (the driver's and the worker's)."""
    ap.add_argument("--threads", type=int, default=2, help="threads for every framework (default 2)")
    ap.add_argument("--only", nargs="+", choices=peers, default=peers, help="frameworks to run (default: all)")
    ap.add_argument("--mxnet-python", default=DEFAULT_MXNET_PY, help="interpreter with MXNet 1.9.1")
    ap.add_argument("--torch-python", default=DEFAULT_TORCH_PY, help="interpreter with torch")
    ap.add_argument("--json", metavar="FILE", help="also write the raw results to FILE")
    ap.add_argument("--timeout", type=int, default=900, help="seconds allowed per framework (default 900)")
    ap.add_argument("--worker", choices=peers, help=argparse.SUPPRESS)


def table(results, args, notes):
    names = [n for n in PEERS if n in results]
    lines = ["Axle op benchmark (%d x %d float32): %s" % (ROWS, COLS, machine()),
             "Threads (--threads %d):" % args.threads]
    for n in names:
        lines.append("  %-8s %-14s %s" % (LABEL[n], results[n]["version"], results[n]["threads"]))
    lines += ["", "median ms of %d runs after %d warm-up (incl. the wait for the result); Axle/peer in brackets"
              % (args.repeats, args.warmup)]
    lines.append("  %-18s" % "op" + "".join("%18s" % LABEL[n] for n in names))
    axle = results.get("axle")
    for op in args.ops:
        row = "  %-18s" % op
        for n in names:
            t = results[n]["ops"][op]["median_s"]
            ratio = " (%.2f)" % (axle["ops"][op]["median_s"] / t) if axle and n != "axle" else ""
            row += "%18s" % ("%.2f%s" % (t * 1e3, ratio))
        lines.append(row)
    lines.extend("note: " + n for n in notes)
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ops", nargs="+", choices=OPS, default=OPS, help="ops to time (default: all)")
    ap.add_argument("--repeats", type=int, default=11, help="timed runs per op (default 11)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed runs per op first (default 2)")
    common_args(ap, PEERS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)
    pythons = {"axle": sys.executable, "numpy": sys.executable, "mxnet": args.mxnet_python,
               "torch": args.torch_python}
    return drive(args, pythons, run_worker, table)

if __name__ == "__main__":
    sys.exit(main())
