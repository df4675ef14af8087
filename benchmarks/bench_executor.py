#!/usr/bin/env python3
"""Symbolic-executor training speed, Axle beside MXNet 1.9.1 and PyTorch (a measurement, not a test).

  mlp:    one epoch of the seed's MLP (784-128 relu-10, SoftmaxOutput) on 60,000 synthetic
          samples, batch 128, the seed's loop: copy the batch into the bound arrays,
          forward(is_train=True), backward(), `W[:] = W - G * lr` per parameter; waitall at the end.
  lenet:  one LeNet training batch (128 x 1x28x28 -> conv 20x5x5 tanh, max-pool 2, conv 50x5x5
          tanh, max-pool 2, FC 500 tanh, FC 10, SoftmaxOutput): forward + backward + the same
          updates, timed per batch (median of --repeats after --warmup).

Axle and MXNet run the very same script (their APIs are the same): simple_bind with
grad_req='write' (gradients of the data too, as the seed does). PyTorch runs the same model with
autograd (the input requires grad too, so the work is the same), a summed cross-entropy (MXNet's
SoftmaxOutput gradient without normalization) and the same plain updates under no_grad.

Each framework runs in its own child process with the same threads (--threads, default 2):
Axle AXLE_NUM_THREADS/AXLE_CPU_WORKER_NTHREADS, MXNet OMP_NUM_THREADS/MXNET_CPU_WORKER_NTHREADS,
PyTorch set_num_threads; OMP/MKL/OPENBLAS_NUM_THREADS for all. MXNet runs from --mxnet-python
(default .mxref/bin/python), PyTorch from --torch-python (default benchmarks/.venv-torch/bin/python);
a missing one is left out with a note. Ratios are Axle / peer: below 1 means Axle is faster. For the MLP each process's CPU seconds
per epoch (all its threads) are printed too: on a machine shared with other work they move less
than the wall time.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = ["axle", "mxnet", "torch"]
LABEL = {"axle": "Axle", "mxnet": "MXNet 1.9.1", "torch": "PyTorch"}


def symbolic_worker(mx, args):
    import numpy as np
    rng = np.random.RandomState(0)

    def mlp():
        data = mx.sym.Variable("data")
        l1 = mx.sym.FullyConnected(data=data, num_hidden=128, name="layer1")
        a1 = mx.sym.Activation(data=l1, act_type="relu", name="act1")
        l2 = mx.sym.FullyConnected(data=a1, num_hidden=10, name="layer2")
        return mx.sym.SoftmaxOutput(data=l2, name="softmax")

    def lenet():
        data = mx.sym.Variable("data")
        c1 = mx.sym.Convolution(data, kernel=(5, 5), num_filter=20)
        p1 = mx.sym.Pooling(mx.sym.Activation(c1, act_type="tanh"), pool_type="max", kernel=(2, 2), stride=(2, 2))
        c2 = mx.sym.Convolution(p1, kernel=(5, 5), num_filter=50)
        p2 = mx.sym.Pooling(mx.sym.Activation(c2, act_type="tanh"), pool_type="max", kernel=(2, 2), stride=(2, 2))
        f1 = mx.sym.Activation(mx.sym.FullyConnected(mx.sym.Flatten(p2), num_hidden=500), act_type="tanh")
        return mx.sym.SoftmaxOutput(mx.sym.FullyConnected(f1, num_hidden=10), name="softmax")

    def bind(sym, shape):
        ex = sym.simple_bind(ctx=mx.cpu(), grad_req="write", data=shape, softmax_label=(shape[0],))
        for n, a in ex.arg_dict.items():
            if n not in ("data", "softmax_label"):
                a[:] = rng.randn(*a.shape) * 0.02
        names = sym.list_arguments()
        pairs = [(w, g) for n, w, g in zip(names, ex.arg_arrays, ex.grad_arrays) if n not in ("data", "softmax_label")]
        return ex, pairs

    def step(ex, pairs, x, y, lr):
        ex.arg_dict["data"][:] = x
        ex.arg_dict["softmax_label"][:] = y
        ex.forward(is_train=True)
        ex.backward()
        for w, g in pairs:
            w[:] = w - g * lr

    res = {}
    if "mlp" in args.only:
        ex, pairs = bind(mlp(), (128, 784))
        X = rng.rand(args.samples, 784).astype(np.float32)
        Y = rng.randint(0, 10, args.samples).astype(np.float32)
        times, cpu = [], []
        for _ in range(args.epochs + 1):
            t, c = time.perf_counter(), time.process_time()
            for i in range(0, args.samples - 127, 128):
                step(ex, pairs, X[i:i + 128], Y[i:i + 128], 0.001)
            mx.nd.waitall()
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        res["mlp"] = times[1:]
        res["mlp_cpu"] = cpu[1:]
    if "lenet" in args.only:
        ex, pairs = bind(lenet(), (128, 1, 28, 28))
        x = rng.rand(128, 1, 28, 28).astype(np.float32)
        y = rng.randint(0, 10, 128).astype(np.float32)
        times = []
        for i in range(args.warmup + args.repeats):
            t = time.perf_counter()
            step(ex, pairs, x, y, 0.001)
            mx.nd.waitall()
            if i >= args.warmup:
                times.append(time.perf_counter() - t)
        res["lenet"] = times
    return res


def torch_worker(args):
    import numpy as np
    import torch
    torch.set_num_threads(args.threads)
    rng = np.random.RandomState(0)
    nn = torch.nn

    def train(model, X, Y, bs, lr, batches):
        params = list(model.parameters())
        loss_fn = nn.CrossEntropyLoss(reduction="sum")
        for i in batches:
            x = X[i:i + bs].clone().requires_grad_(True)
            loss = loss_fn(model(x), Y[i:i + bs])
            for p in params:
                p.grad = None
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p.sub_(p.grad * lr)

    res = {}
    if "mlp" in args.only:
        model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
        X = torch.from_numpy(rng.rand(args.samples, 784).astype(np.float32))
        Y = torch.from_numpy(rng.randint(0, 10, args.samples))
        times, cpu = [], []
        for _ in range(args.epochs + 1):
            t, c = time.perf_counter(), time.process_time()
            train(model, X, Y, 128, 0.001, range(0, args.samples - 127, 128))
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        res["mlp"] = times[1:]
        res["mlp_cpu"] = cpu[1:]
    if "lenet" in args.only:
        model = nn.Sequential(nn.Conv2d(1, 20, 5), nn.Tanh(), nn.MaxPool2d(2, 2), nn.Conv2d(20, 50, 5), nn.Tanh(),
                              nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(800, 500), nn.Tanh(), nn.Linear(500, 10))
        X = torch.from_numpy(rng.rand(128, 1, 28, 28).astype(np.float32))
        Y = torch.from_numpy(rng.randint(0, 10, 128))
        times = []
        for i in range(args.warmup + args.repeats):
            t = time.perf_counter()
            train(model, X, Y, 128, 0.001, [0])
            if i >= args.warmup:
                times.append(time.perf_counter() - t)
        res["lenet"] = times
    return res


def worker(args):
    if args.worker == "torch":
        res = torch_worker(args)
        import torch
        version = torch.__version__
    else:
        mx = __import__("axle" if args.worker == "axle" else "mxnet")
        res = symbolic_worker(mx, args)
        version = mx.__version__
    print(json.dumps({"version": version, "results": res}))


def thread_env(threads):
    env = dict(os.environ)
    t = str(threads)
    env.update(OMP_NUM_THREADS=t, MKL_NUM_THREADS=t, OPENBLAS_NUM_THREADS=t, AXLE_NUM_THREADS=t,
               AXLE_CPU_WORKER_NTHREADS=t, MXNET_CPU_WORKER_NTHREADS=t, MXNET_OMP_MAX_THREADS=t)
    return env


def run_peers(script, args, worker_args, extra_for=None):
    """Runs `script --worker PEER` for each of args.peers in its own process with the same
    threads; (results by peer, notes on peers left out or failed)."""
    python = {"axle": sys.executable, "mxnet": args.mxnet_python, "torch": args.torch_python}
    results, notes = {}, []
    for peer in args.peers:
        if not os.path.exists(python[peer]):
            notes.append(f"{LABEL[peer]} left out: {python[peer]} does not exist")
            continue
        cmd = [python[peer], os.path.abspath(script), "--worker", peer, "--threads", str(args.threads), *worker_args,
               *((extra_for or {}).get(peer, []))]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=thread_env(args.threads), cwd=ROOT)
        if proc.returncode != 0:
            notes.append(f"{LABEL[peer]} failed: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        results[peer] = json.loads(proc.stdout.strip().splitlines()[-1])
    return results, notes


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", default=["mlp", "lenet"], choices=["mlp", "lenet"], help="what to time")
    ap.add_argument("--peers", nargs="+", default=PEERS, choices=PEERS, help="frameworks to run")
    ap.add_argument("--threads", type=int, default=2, help="threads for every framework (default 2)")
    ap.add_argument("--epochs", type=int, default=3, help="MLP epochs timed after one warm-up epoch (default 3)")
    ap.add_argument("--samples", type=int, default=60000, help="MLP samples per epoch (default 60000)")
    ap.add_argument("--warmup", type=int, default=3, help="LeNet warm-up batches (default 3)")
    ap.add_argument("--repeats", type=int, default=20, help="LeNet timed batches (default 20)")
    ap.add_argument("--mxnet-python", default=os.path.join(ROOT, ".mxref", "bin", "python"))
    ap.add_argument("--torch-python", default=os.path.join(HERE, ".venv-torch", "bin", "python"))
    ap.add_argument("--json", help="also write the raw results to this file")
    ap.add_argument("--worker", choices=PEERS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)
    results, notes = run_peers(__file__, args, ["--epochs", str(args.epochs), "--samples", str(args.samples),
                                                "--warmup", str(args.warmup), "--repeats", str(args.repeats),
                                                "--only", *args.only])
    print(f"threads per framework: {args.threads}; medians (min-max)")
    for what, unit in (("mlp", "s/epoch"), ("lenet", "ms/batch")):
        if what not in args.only:
            continue
        scale = 1.0 if what == "mlp" else 1000.0
        med = {}
        print(f"\n{what} ({unit})")
        for peer, r in results.items():
            t = [x * scale for x in r["results"][what]]
            med[peer] = statistics.median(t)
            cpu = r["results"].get(what + "_cpu")
            extra = f"   CPU {statistics.median(cpu):.3f} s (all threads)" if cpu else ""
            print(f"  {LABEL[peer]:<12} {r['version']:<10} {med[peer]:9.3f}  ({min(t):.3f}-{max(t):.3f}){extra}")
        if "axle" in med:
            for peer in med:
                if peer != "axle":
                    print(f"  Axle / {LABEL[peer]}: {med['axle'] / med[peer]:.2f}")
    for n in notes:
        print("note:", n)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
