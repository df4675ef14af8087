#!/usr/bin/env python3
"""Axle beside MXNet 1.9.1 and PyTorch on the workloads of issue #10, in one run (a measurement, not a test).

    pip install . && python benchmarks/run.py        # prepares the peers' venvs when missing

Workloads (synthetic float32 data of MNIST's shape, fixed seeds; batch 128):
  mlp_executor    the seed's MLP (784-128 relu-10, SoftmaxOutput), executor API, one 60,000-sample epoch:
                  copy the batch in, forward(is_train=True), backward(), W[:] = W - G*0.001 per weight
  mlp_module_fit  the same network through Module.fit (SGD, lr 0.1), one epoch (PyTorch: the same
                  loop by hand, with torch.optim.SGD and the accuracy counted every batch)
  lenet_batch     LeNet (conv 5x5x20 tanh, max-pool 2, conv 5x5x50 tanh, max-pool 2, FC 500 tanh,
                  FC 10, SoftmaxOutput), one training batch as in mlp_executor
  lenet_epoch     the same over a 60,000-sample epoch
  add_10m         c = a + b on 10,000,000 elements, waited for (baseline: numpy)
  small_ops       10,000 x c = a + b on shape (10,), then waitall; reported per op
  dot_1024        dot of two 1024x1024 matrices (baseline: one raw OpenBLAS cblas_sgemm call)
  exec_memory     internal memory of the mlp and lenet training executors (MXNet: the bytes its storage
                  allocates for them, from its profiler's memory counter; its debug_str total in whole
                  MiB should that fail)
  import          `import <package>` in a fresh interpreter; first_result: import, a 2x2 add, back to numpy

Every framework runs in a worker process of its own (workloads.py) with the same thread count
(--threads, default 2): Axle AXLE_NUM_THREADS/AXLE_CPU_WORKER_NTHREADS, MXNet OMP_NUM_THREADS/
MXNET_CPU_WORKER_NTHREADS, PyTorch set_num_threads/set_num_interop_threads, and OMP/MKL/OPENBLAS_NUM_THREADS
for all. The workers stay up for the whole run; each workload is warmed up in every worker, then its
repeats are interleaved (one repeat of each framework in turn, the order rotating every round) so
that a change in the machine's load falls on all of them alike, each after a short idle pause
(--pause) so that no peer's busy-waiting threads run into the next one's time. Medians are reported with min-max;
ratios are Axle / peer (below 1: Axle is faster). The table is printed and written to
benchmarks/RESULTS.md with the machine, versions and date (the part of RESULTS.md below its
"kept across runs" marker is left as it is).

Peers: MXNet 1.9.1 from .mxref/ (python3 -m venv .mxref && .mxref/bin/pip install mxnet==1.9.1
numpy==1.23.5) and PyTorch from benchmarks/.venv-torch/ (pip install torch==2.13.0 numpy); both are
created when missing unless --no-setup. A peer that cannot be prepared or fails is left out with a
note under the table.
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
PEERS = ["axle", "mxnet", "torch"]
LABEL = {"axle": "Axle", "mxnet": "MXNet 1.9.1", "torch": "PyTorch", "baseline": "baseline"}
MARKER = "<!-- kept across runs: everything below this line is written by hand -->"

# name: (unit, scale from seconds, default repeats, warm-up runs, peers besides Axle's, what the target is)
WORKLOADS = {
    "mlp_executor": ("s/epoch", 1.0, 5, 1, ["mxnet", "torch"], "<= 0.5x MXNet and below PyTorch"),
    "mlp_module_fit": ("s/epoch", 1.0, 5, 1, ["mxnet", "torch"], ""),
    "lenet_batch": ("ms/batch", 1e3, 20, 3, ["mxnet", "torch"], "<= 0.5x MXNet and below PyTorch"),
    "lenet_epoch": ("s/epoch", 1.0, 2, 0, ["mxnet", "torch"], "<= 0.5x MXNet and below PyTorch"),
    "add_10m": ("ms", 1e3, 30, 3, ["baseline", "mxnet", "torch"], "<= 1.1x numpy"),
    "small_ops": ("us/op", 1e6 / 10000, 10, 1, ["mxnet", "torch"], "<= 0.25x MXNet"),
    "dot_1024": ("ms", 1e3, 60, 3, ["baseline", "mxnet", "torch"], "<= 1.1x raw OpenBLAS sgemm"),
}
BASELINE_LABEL = {"add_10m": "numpy", "dot_1024": "raw OpenBLAS sgemm"}
IMPORTS = {"axle": "axle", "mxnet": "mxnet", "torch": "torch"}
FIRST = {"axle": "import axle as m; a = m.nd.ones((2, 2)); (a + a).asnumpy()",
         "mxnet": "import mxnet as m; a = m.nd.ones((2, 2)); (a + a).asnumpy()",
         "torch": "import torch as m; a = m.ones((2, 2)); (a + a).numpy()"}


def thread_env(threads):
    env = dict(os.environ)
    t = str(threads)
    env.update(OMP_NUM_THREADS=t, MKL_NUM_THREADS=t, OPENBLAS_NUM_THREADS=t, AXLE_NUM_THREADS=t,
               AXLE_CPU_WORKER_NTHREADS=t, MXNET_CPU_WORKER_NTHREADS=t, MXNET_OMP_MAX_THREADS=t)
    return env


# ---- peers' environments ---------------------------------------------------------------------------
def prepare(args):
    """Interpreters by peer; creates the MXNet and PyTorch venvs when missing (unless --no-setup).
    Returns (pythons, notes)."""
    venvs = {"mxnet": (args.mxnet_python, ["mxnet==1.9.1", "numpy==1.23.5"]),
             "torch": (args.torch_python, ["torch==2.13.0", "numpy"])}
    pythons, notes = {"axle": sys.executable, "baseline": sys.executable}, []
    for peer in PEERS[1:]:
        if peer not in args.peers:
            continue
        py, pkgs = venvs[peer]
        if not os.path.exists(py) and not args.no_setup:
            venv = os.path.dirname(os.path.dirname(py))
            print(f"preparing {LABEL[peer]}: {venv} with {' '.join(pkgs)} ...", flush=True)
            r = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True)
            if r.returncode == 0:
                r = subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", *pkgs],
                                   capture_output=True, text=True)
            if r.returncode != 0:
                notes.append(f"{LABEL[peer]} left out: preparing {venv} failed: "
                             f"{(r.stderr.strip().splitlines() or ['?'])[-1]}")
                continue
        if os.path.exists(py):
            pythons[peer] = py
        else:
            notes.append(f"{LABEL[peer]} left out: {py} does not exist (--no-setup)")
    return pythons, notes


class Worker:
    """One framework's worker process (workloads.py --worker NAME)."""

    def __init__(self, name, python, threads):
        self.name = name
        self.proc = subprocess.Popen([python, os.path.join(HERE, "workloads.py"), "--worker", name,
                                      "--threads", str(threads)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=thread_env(threads), cwd=ROOT)

    def ask(self, **msg):
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read().strip().splitlines()
            return {"error": "worker exited: " + (err[-1] if err else f"status {self.proc.wait()}")}
        return json.loads(line)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.ask(cmd="quit")
            except (BrokenPipeError, OSError):
                pass
        self.proc.wait()


def fresh_process_times(python, code, repeats, threads):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        r = subprocess.run([python, "-c", code], capture_output=True, text=True, env=thread_env(threads), cwd="/")
        if r.returncode != 0:
            return None, (r.stderr.strip().splitlines() or ["?"])[-1]
        times.append(time.perf_counter() - t)
    return times, None


def run_all(args, pythons, notes):
    workers = {}
    for peer in ["axle", "baseline", *PEERS[1:]]:
        if peer in pythons and (peer in args.peers or peer in ("axle", "baseline")):
            w = Worker(peer, pythons[peer], args.threads)
            info = w.ask(cmd="info")
            if "error" in info:
                notes.append(f"{LABEL[peer]} left out: {info['error']}")
                w.close()
                continue
            w.info = info
            workers[peer] = w
    results = {}
    try:
        for wl in args.only:
            if wl in ("exec_memory", "import"):
                continue
            unit, scale, repeats, warmup, peers, _ = WORKLOADS[wl]
            repeats = args.repeats or repeats
            opts = {"samples": args.samples} if wl in ("mlp_executor", "mlp_module_fit", "lenet_epoch") else {}
            active = [p for p in ["axle", *peers] if p in workers]
            print(f"{wl}: {warmup} warm-up, {repeats} timed runs each for {', '.join(LABEL[p] for p in active)}",
                  flush=True)
            for p in list(active):
                for _ in range(warmup):
                    ans = workers[p].ask(cmd="run", workload=wl, opts=opts)
                    if "error" in ans or "skip" in ans:
                        notes.append(f"{wl}: {LABEL[p]} left out: {ans.get('error') or ans.get('skip')}")
                        active.remove(p)
                        break
            times = {p: [] for p in active}
            cpu = {p: [] for p in active}
            for r in range(repeats):
                order = active[r % len(active):] + active[:r % len(active)]
                for p in order:
                    if p not in times:
                        continue
                    time.sleep(args.pause)
                    ans = workers[p].ask(cmd="run", workload=wl, opts=opts)
                    if "error" in ans:
                        notes.append(f"{wl}: {LABEL[p]} failed: {ans['error']}")
                        del times[p]
                        continue
                    times[p].append(ans["seconds"] * scale)
                    cpu[p].append(ans["cpu"] * scale)
            results[wl] = {p: {"median": statistics.median(t), "min": min(t), "max": max(t), "runs": len(t),
                               "cpu_median": statistics.median(cpu[p])} for p, t in times.items() if t}
        if "exec_memory" in args.only:
            for net in ("mlp", "lenet"):
                row = {}
                for p in ("axle", "mxnet", "torch"):
                    if p in workers:
                        ans = workers[p].ask(cmd="value", workload="exec_memory", opts={"net": net})
                        v = ans.get("value")
                        if isinstance(v, dict):  # MXNet's whole-MiB fallback
                            row[p] = {"median": v["bytes"] / (1 << 20), "whole_mib": True}
                        elif v is not None:
                            row[p] = {"median": v / (1 << 20)}
                results[f"exec_memory_{net}"] = row
    finally:
        for w in workers.values():
            w.close()
    if "import" in args.only:
        for what, codes in (("import", {p: f"import {m}" for p, m in IMPORTS.items()}), ("first_result", FIRST)):
            row = {p: [] for p in PEERS if p in workers}
            for r in range(args.import_repeats):  # interleaved like the rest
                for p in list(row):
                    t, err = fresh_process_times(pythons[p], codes[p], 1, args.threads)
                    if err:
                        notes.append(f"{what}: {LABEL[p]} failed: {err}")
                        del row[p]
                    else:
                        row[p] += t
            results[what] = {p: {"median": statistics.median(t) * 1e3, "min": min(t) * 1e3, "max": max(t) * 1e3,
                                 "runs": len(t)} for p, t in row.items() if t}
    infos = {p: w.info for p, w in workers.items()}
    return results, infos


# ---- report -----------------------------------------------------------------------------------------------
ROWS = [("mlp_executor", "1. MLP epoch, executor API", "s"),
        ("mlp_module_fit", "2. MLP epoch, Module.fit", "s"),
        ("lenet_batch", "3. LeNet batch", "ms"),
        ("lenet_epoch", "3. LeNet epoch", "s"),
        ("add_10m", "4. c = a + b, 10M", "ms"),
        ("small_ops", "5. small op (10,), per op", "us"),
        ("dot_1024", "6. dot 1024x1024", "ms"),
        ("exec_memory_mlp", "7. MLP executor memory", "MiB"),
        ("exec_memory_lenet", "7. LeNet executor memory", "MiB"),
        ("import", "8. import", "ms"),
        ("first_result", "8. time to first result", "ms")]
TARGETS = {"mlp_executor": [("mxnet", 0.5), ("torch", 1.0)], "lenet_batch": [("mxnet", 0.5), ("torch", 1.0)],
           "lenet_epoch": [("mxnet", 0.5), ("torch", 1.0)], "add_10m": [("baseline", 1.1)],
           "small_ops": [("mxnet", 0.25)], "dot_1024": [("baseline", 1.1)],
           "exec_memory_mlp": [("mxnet", 1.0)], "exec_memory_lenet": [("mxnet", 1.0)]}


def fmt(v):
    return "-" if v is None else (f"{v:.3g}" if v < 100 else f"{v:.0f}")


def table(results):
    head = ["workload", "unit", "Axle", "MXNet 1.9.1", "PyTorch", "baseline", "Axle/MXNet", "Axle/PyTorch",
            "Axle/baseline", "target"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, label, unit in ROWS:
        r = results.get(key)
        if not r:
            continue
        cell = {p: r[p]["median"] if p in r else None for p in ("axle", "mxnet", "torch", "baseline")}

        def ratio(p):
            return f"{cell['axle'] / cell[p]:.2f}" if cell["axle"] and cell[p] else "-"

        verdicts = []
        for p, lim in TARGETS.get(key, []):
            if (key.startswith("exec_memory") and p == "mxnet" and cell["axle"] is not None and cell[p] is not None
                    and r[p].get("whole_mib")):
                # the fallback: MXNet prints whole MiB, rounded down, its true figure lies in [N, N + 1)
                verdicts.append("met: <= MXNet" if cell["axle"] <= cell[p] else "NOT met: > MXNet"
                                if cell["axle"] >= cell[p] + 1 else f"undecided: MXNet prints {cell[p]:.0f} MiB "
                                f"(between {cell[p]:.0f} and {cell[p] + 1:.0f})")
            elif cell["axle"] and cell[p]:
                ok = cell["axle"] / cell[p] <= lim
                verdicts.append(f"{'met' if ok else 'NOT met'}: <= {lim}x {BASELINE_LABEL.get(key, LABEL[p])}")
        spread = {p: f" ({fmt(r[p]['min'])}-{fmt(r[p]['max'])})" if p in r and "min" in r[p] else ""
                  for p in cell}
        lines.append("| " + " | ".join([label, unit] + [fmt(cell[p]) + spread[p] for p in
                                                         ("axle", "mxnet", "torch", "baseline")] +
                                        [ratio("mxnet"), ratio("torch"), ratio("baseline"), "; ".join(verdicts)]) + " |")
    return "\n".join(lines)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def report(results, infos, notes, args, load_before, started):
    lines = [f"Run of `python benchmarks/run.py{(' ' + ' '.join(args.argv)) if args.argv else ''}` "
             f"started {started} UTC on {cpu_name()}, {os.cpu_count()} CPUs, {platform.system()} "
             f"{platform.release()}; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after.",
             "",
             f"Threads: {args.threads} for every framework. Medians, (min-max) over the timed runs; baseline is "
             "numpy for the add and a raw OpenBLAS cblas_sgemm call for the dot.", "",
             "| framework | version | Python | threads |", "|---|---|---|---|"]
    for p, info in infos.items():
        lines.append(f"| {LABEL[p]} | {info['version']} | {info['python']} | {info['threads']} |")
    lines += ["", table(results), ""]
    lines += [f"- note: {n}" for n in notes]
    return "\n".join(lines) + "\n"


def write_results(path, text):
    kept = ""
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
        if MARKER in old:
            kept = old[old.index(MARKER) + len(MARKER):]
    with open(path, "w") as f:
        f.write("# Benchmark results\n\nWritten by `benchmarks/run.py` (the part above the marker); "
                "see benchmarks/README.md for what each workload does.\n\n" + text + "\n" + MARKER + kept)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    names = list(WORKLOADS) + ["exec_memory", "import"]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", default=names, choices=names, metavar="WORKLOAD",
                    help="workloads to run (default: all): " + " ".join(names))
    ap.add_argument("--peers", nargs="+", default=PEERS[1:], choices=PEERS[1:], help="peers beside Axle (default: all)")
    ap.add_argument("--threads", type=int, default=2, help="threads for every framework (default 2)")
    ap.add_argument("--repeats", type=int, default=0, help="timed runs per workload (default: each its own, 2-30)")
    ap.add_argument("--samples", type=int, default=60000, help="samples per epoch (default 60000)")
    ap.add_argument("--pause", type=float, default=0.3,
                    help="seconds of idle before each timed run (default 0.3): a peer's BLAS or OpenMP threads "
                         "busy-wait for a while after its run and would slow whichever framework runs next")
    ap.add_argument("--import-repeats", type=int, default=7, help="fresh interpreters per peer for item 8 (default 7)")
    ap.add_argument("--no-setup", action="store_true", help="never create the peers' venvs")
    ap.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"),
                    help="where to write the report (default benchmarks/RESULTS.md; '-' for nowhere)")
    ap.add_argument("--json", help="also write the raw numbers to this file")
    ap.add_argument("--mxnet-python", default=os.path.join(ROOT, ".mxref", "bin", "python"))
    ap.add_argument("--torch-python", default=os.path.join(HERE, ".venv-torch", "bin", "python"))
    args = ap.parse_args(argv)
    args.argv = argv
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    load_before = os.getloadavg()[0]
    pythons, notes = prepare(args)
    results, infos = run_all(args, pythons, notes)
    text = report(results, infos, notes, args, load_before, started)
    print("\n" + text)
    if args.results != "-":
        write_results(args.results, text)
        print(f"written to {args.results}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "infos": infos, "notes": notes}, f, indent=1)


if __name__ == "__main__":
    main()
