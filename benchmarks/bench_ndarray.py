#!/usr/bin/env python3
"""Axle NDArray micro-benchmarks beside numpy, MXNet 1.9.1 and PyTorch (a measurement, not a test).

  (a) large:  c = a + b on N float32 elements (default 10,000,000), each run timed including
              c.wait_to_read() (Axle, MXNet); median of --repeats runs after --warmup runs.
  (b) small:  --small-ops x `c = a + b` on shape (--small-shape,) followed by one waitall();
              the per-op cost is the loop's time / --small-ops; median of --small-repeats loops.

Every framework runs in its own child process of this script, started with the same thread
settings (--threads, default 2): Axle and numpy with this interpreter, MXNet 1.9.1 with the
reference venv's interpreter (--mxnet-python, default .mxref/bin/python; this process never
imports mxnet) and PyTorch with --torch-python (default benchmarks/.venv-torch/bin/python, made by
`python3 -m venv benchmarks/.venv-torch && benchmarks/.venv-torch/bin/pip install torch==2.13.0
numpy`). A peer whose interpreter is missing is left out of the table, with a note.

Threads: Axle AXLE_NUM_THREADS (kernel split) and AXLE_CPU_WORKER_NTHREADS (engine workers);
MXNet OMP_NUM_THREADS and MXNET_CPU_WORKER_NTHREADS; PyTorch torch.set_num_threads and
set_num_interop_threads; OMP/MKL/OpenBLAS variables for all. numpy's element-wise ufuncs always run
on one thread, whatever is set; the table says so.

Ratios are Axle / peer: below 1 means Axle is faster.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_MXNET_PY = os.path.join(ROOT, ".mxref", "bin", "python")
DEFAULT_TORCH_PY = os.path.join(HERE, ".venv-torch", "bin", "python")
PEERS = ["axle", "numpy", "mxnet", "torch"]
LABEL = {"axle": "Axle", "numpy": "numpy", "mxnet": "MXNet", "torch": "PyTorch"}


# ---- worker side: runs in a child, prints one JSON line -------------------------------------------
def _framework(name, threads):
    """What the worker needs of one framework: its version, how to make an array from numpy, how to
    wait for one result and for everything, and what its threads are."""
    import numpy as np

    if name == "axle":
        import axle as mx  # thread variables were set in the environment before this import

        def make(x):
            return mx.nd.array(x, dtype=x.dtype)

        return dict(version=mx.__version__, make=make, sync=lambda c: c.wait_to_read(),
                    sync_all=mx.nd.waitall, to_numpy=lambda c: c.asnumpy(),
                    threads="%s kernel threads (AXLE_NUM_THREADS), %s engine workers" % (
                        os.environ.get("AXLE_NUM_THREADS"), os.environ.get("AXLE_CPU_WORKER_NTHREADS")))
    if name == "mxnet":
        import mxnet as mx

        def make(x):
            return mx.nd.array(x, dtype=x.dtype)

        return dict(version=mx.__version__, make=make, sync=lambda c: c.wait_to_read(),
                    sync_all=mx.nd.waitall, to_numpy=lambda c: c.asnumpy(),
                    threads="%s OpenMP threads (OMP_NUM_THREADS), %s engine workers" % (
                        os.environ.get("OMP_NUM_THREADS"), os.environ.get("MXNET_CPU_WORKER_NTHREADS")))
    if name == "torch":
        import torch
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:
            pass
        return dict(version=torch.__version__, make=lambda x: torch.from_numpy(x.copy()), sync=lambda c: None,
                    sync_all=lambda: None, to_numpy=lambda c: c.numpy(),
                    threads="%d intra-op threads (torch.get_num_threads), %d inter-op" % (
                        torch.get_num_threads(), torch.get_num_interop_threads()))
    if name == "numpy":
        return dict(version=np.__version__, make=lambda x: x.copy(), sync=lambda c: None, sync_all=lambda: None,
                    to_numpy=lambda c: c, threads="1 thread (numpy ufuncs are single-threaded)")
    raise ValueError("unknown framework %r" % name)


def worker(args):
    import numpy as np

    fw = _framework(args.worker, args.threads)
    rng = np.random.default_rng(0)
    out = {"framework": args.worker, "version": fw["version"], "threads": fw["threads"],
           "python": platform.python_version()}

    # (a) one large add
    xa = rng.random(args.size, dtype=np.float32)
    xb = rng.random(args.size, dtype=np.float32)
    a, b = fw["make"](xa), fw["make"](xb)
    fw["sync_all"]()
    sync = fw["sync"]
    for _ in range(args.warmup):
        c = a + b
        sync(c)
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        c = a + b
        sync(c)
        times.append(time.perf_counter() - t0)
    if not np.array_equal(fw["to_numpy"](c), xa + xb):
        raise SystemExit("%s: wrong result for the large add" % args.worker)
    out["large"] = {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
                    "runs": len(times)}
    del a, b, c

    # (b) many small adds, then one waitall
    sa = fw["make"](rng.random(args.small_shape, dtype=np.float32))
    sb = fw["make"](rng.random(args.small_shape, dtype=np.float32))
    sync_all = fw["sync_all"]
    for _ in range(min(1000, args.small_ops)):
        c = sa + sb
    sync_all()
    loops = []
    n = args.small_ops
    for _ in range(args.small_repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            c = sa + sb
        sync_all()
        loops.append(time.perf_counter() - t0)
    out["small"] = {"median_s": statistics.median(loops), "min_s": min(loops), "max_s": max(loops),
                    "per_op_s": statistics.median(loops) / n, "ops": n, "runs": len(loops)}
    print(json.dumps(out))


# ---- driver side -------------------------------------------------------------------------------------
def thread_env(threads):
    env = dict(os.environ)
    t = str(threads)
    env.update({"OMP_NUM_THREADS": t, "MKL_NUM_THREADS": t, "OPENBLAS_NUM_THREADS": t,
                "AXLE_NUM_THREADS": t, "AXLE_CPU_WORKER_NTHREADS": t,
                "MXNET_CPU_WORKER_NTHREADS": t, "MXNET_OMP_MAX_THREADS": t})
    return env


def run_worker(name, python, args):
    cmd = [python, os.path.abspath(__file__), "--worker", name,
           "--size", str(args.size), "--repeats", str(args.repeats), "--warmup", str(args.warmup),
           "--small-ops", str(args.small_ops), "--small-shape", str(args.small_shape),
           "--small-repeats", str(args.small_repeats), "--threads", str(args.threads)]
    env = thread_env(args.threads)
    if name in ("mxnet", "torch"):
        env.pop("PYTHONPATH", None)  # the peer's own venv only
    return run_child(name, cmd, env, args.timeout)


def run_child(name, cmd, env, timeout):
    """Runs one framework's worker: (its JSON result, None), or (None, why it failed)."""
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return None, "%s failed (rc %d): %s" % (LABEL[name], proc.returncode, " | ".join(tail))
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    return json.loads(lines[-1]), None


def drive(args, pythons, run_worker, table):
    """Runs each framework of args.only in its own child (run_worker), prints table(results, args,
    notes), writes --json; returns the exit status (1 when Axle was asked for and failed)."""
    results, notes = {}, []
    for name in args.only:
        py = pythons[name]
        if not os.path.exists(py):
            notes.append("%s left out: no interpreter at %s" % (LABEL[name], py))
            continue
        print("running %s ..." % LABEL[name], file=sys.stderr, flush=True)
        res, err = run_worker(name, py, args)
        if err:
            notes.append(err)
        else:
            results[name] = res
    print(table(results, args, notes))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results, "notes": notes}, f, indent=1)
    return 0 if "axle" in results or "axle" not in args.only else 1


def fmt_ratio(x, y):
    return "%.2f" % (x / y) if y else "-"


def cpu_name():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return cpu


def table(results, args, notes):
    axle = results.get("axle")
    lines = []
    lines.append("Axle NDArray benchmark: %s, %d CPUs, Python %s, %s" % (
        cpu_name(), os.cpu_count() or 0, platform.python_version(), time.strftime("%Y-%m-%d %H:%M")))
    lines.append("Threads (--threads %d):" % args.threads)
    for name in PEERS:
        if name in results:
            r = results[name]
            lines.append("  %-8s %-14s %s" % (LABEL[name], r["version"], r["threads"]))
    lines.append("")
    gb = 3 * args.size * 4 / 1e9
    lines.append("(a) c = a + b, %s float32 (%.0f MB moved), incl. c.wait_to_read(); median of %d runs after %d "
                 "warm-up" % (format(args.size, ","), gb * 1e3, args.repeats, args.warmup))
    lines.append("  %-8s %10s %10s %10s %9s %11s" % ("", "median ms", "min ms", "max ms", "GB/s", "Axle/peer"))
    for name in PEERS:
        if name not in results:
            continue
        r = results[name]["large"]
        lines.append("  %-8s %10.2f %10.2f %10.2f %9.1f %11s" % (
            LABEL[name], r["median_s"] * 1e3, r["min_s"] * 1e3, r["max_s"] * 1e3, gb / r["median_s"],
            fmt_ratio(axle["large"]["median_s"], r["median_s"]) if axle else "-"))
    lines.append("")
    lines.append("(b) %s x c = a + b on shape (%d,), then waitall(); median of %d loops" % (
        format(args.small_ops, ","), args.small_shape, args.small_repeats))
    lines.append("  %-8s %10s %10s %11s" % ("", "us / op", "loop ms", "Axle/peer"))
    for name in PEERS:
        if name not in results:
            continue
        r = results[name]["small"]
        lines.append("  %-8s %10.2f %10.1f %11s" % (
            LABEL[name], r["per_op_s"] * 1e6, r["median_s"] * 1e3,
            fmt_ratio(axle["small"]["per_op_s"], r["per_op_s"]) if axle else "-"))
    if notes:
        lines.append("")
        lines.extend("note: " + n for n in notes)
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=10_000_000, help="elements of a and b in (a) (default 10,000,000)")
    ap.add_argument("--repeats", type=int, default=15, help="timed runs of (a), at least 10 (default 15)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed runs of (a) first (default 3)")
    ap.add_argument("--small-ops", type=int, default=10_000, help="adds per loop in (b) (default 10,000)")
    ap.add_argument("--small-shape", type=int, default=10, help="length of a and b in (b) (default 10)")
    ap.add_argument("--small-repeats", type=int, default=7, help="timed loops of (b) (default 7)")
    ap.add_argument("--threads", type=int, default=2, help="threads for every framework (default 2)")
    ap.add_argument("--only", nargs="+", choices=PEERS, default=PEERS, help="frameworks to run (default: all)")
    ap.add_argument("--mxnet-python", default=DEFAULT_MXNET_PY,
                    help="interpreter with MXNet 1.9.1 (default .mxref/bin/python)")
    ap.add_argument("--torch-python", default=DEFAULT_TORCH_PY,
                    help="interpreter with torch (default benchmarks/.venv-torch/bin/python)")
    ap.add_argument("--json", metavar="FILE", help="also write the raw results to FILE")
    ap.add_argument("--timeout", type=int, default=900, help="seconds allowed per framework (default 900)")
    ap.add_argument("--worker", choices=PEERS, help=argparse.SUPPRESS)  # internal: run one framework
    args = ap.parse_args(argv)
    if args.repeats < 10:
        ap.error("--repeats must be at least 10")
    if args.worker:
        return worker(args)

    pythons = {"axle": sys.executable, "numpy": sys.executable,
               "mxnet": args.mxnet_python, "torch": args.torch_python}
    return drive(args, pythons, run_worker, table)


if __name__ == "__main__":
    sys.exit(main())
