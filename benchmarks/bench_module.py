#!/usr/bin/env python3
"""Module.fit speed, Axle beside MXNet 1.9.1 and PyTorch (a measurement, not a test).

One epoch of Module.fit on the seed's MLP (784-128 relu-10, SoftmaxOutput) over 60,000 synthetic
samples (NDArrayIter, batch 128), with fit's defaults: SGD (learning rate 0.01, rescale_grad
1/128), metric "acc" updated every batch, Uniform(0.01) initialization. Each epoch's time is taken
from fit's epoch-end callback (so it holds the whole batch loop: data copies, forward, backward,
the update ops, the metric); the first epoch is a warm-up, the next --epochs are timed. Beside
the wall time the process's CPU time (all threads) per epoch is printed: on a shared machine it
moves less with the load than the wall time does.

Axle and MXNet run the very same code (their Module APIs are the same). PyTorch runs the same
model and loop by hand: SGD on a mean cross-entropy, batches sliced from one tensor, accuracy
counted every batch with .item() (as the metric's asnumpy does).

Each framework runs in its own child process with the same threads (see bench_executor.py, whose
environment this script shares). --profile (Axle only) prints where an epoch's time goes:
forward+backward, update, update_metric, and the rest of the loop.
"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_executor import LABEL, PEERS, ROOT, run_peers  # noqa: E402


def mlp(mx):
    data = mx.sym.Variable("data")
    l1 = mx.sym.FullyConnected(data=data, num_hidden=128, name="layer1")
    a1 = mx.sym.Activation(data=l1, act_type="relu", name="act1")
    l2 = mx.sym.FullyConnected(data=a1, num_hidden=10, name="layer2")
    return mx.sym.SoftmaxOutput(data=l2, name="softmax")


def module_worker(mx, args):
    import logging
    import numpy as np
    logging.getLogger().setLevel(logging.WARNING)
    rng = np.random.RandomState(0)
    X = rng.rand(args.samples, 784).astype(np.float32)
    Y = rng.randint(0, 10, args.samples).astype(np.float32)
    it = mx.io.NDArrayIter(X, Y, batch_size=128)
    mod = mx.mod.Module(mlp(mx), context=mx.cpu())
    stamps = []

    def epoch_end(*_):
        mx.nd.waitall()
        stamps.append((time.perf_counter(), time.process_time()))

    if args.profile:
        _install_profile(mod, mx)
    stamps.append((time.perf_counter(), time.process_time()))
    mod.fit(it, num_epoch=args.epochs + 1, epoch_end_callback=epoch_end)
    res = _epochs(stamps)
    if args.profile:
        res["profile"] = {k: v / (args.epochs + 1) for k, v in mod._profile.items()}
    return res


def _install_profile(mod, mx):
    """Wraps forward_backward / update / update_metric to time them (each waits for its work)."""
    mod._profile = {"forward_backward": 0.0, "update": 0.0, "update_metric": 0.0}

    def timed(name, fn):
        def call(*a, **kw):
            t = time.perf_counter()
            r = fn(*a, **kw)
            mx.nd.waitall()
            mod._profile[name] += time.perf_counter() - t
            return r
        return call
    for name in mod._profile:
        setattr(mod, name, timed(name, getattr(mod, name)))


def torch_worker(args):
    import numpy as np
    import torch
    torch.set_num_threads(args.threads)
    rng = np.random.RandomState(0)
    X = torch.from_numpy(rng.rand(args.samples, 784).astype(np.float32))
    Y = torch.from_numpy(rng.randint(0, 10, args.samples))
    nn = torch.nn
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    stamps = [(time.perf_counter(), time.process_time())]
    for _ in range(args.epochs + 1):
        correct = total = 0
        for i in range(0, args.samples - 127, 128):
            x, y = X[i:i + 128], Y[i:i + 128]
            out = model(x)
            loss = loss_fn(out, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            correct += int((out.argmax(dim=1) == y).sum().item())
            total += 128
        stamps.append((time.perf_counter(), time.process_time()))
    return _epochs(stamps)


def _epochs(stamps):
    """Wall and CPU (all threads of the process) seconds of each epoch after the first."""
    wall = [b[0] - a[0] for a, b in zip(stamps, stamps[1:])]
    cpu = [b[1] - a[1] for a, b in zip(stamps, stamps[1:])]
    return {"module_fit": wall[1:], "module_fit_cpu": cpu[1:]}


def worker(args):
    if args.worker == "torch":
        res = torch_worker(args)
        import torch
        version = torch.__version__
    else:
        mx = __import__("axle" if args.worker == "axle" else "mxnet")
        res = module_worker(mx, args)
        version = mx.__version__
    print(json.dumps({"version": version, "results": res}))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peers", nargs="+", default=PEERS, choices=PEERS, help="frameworks to run")
    ap.add_argument("--threads", type=int, default=2, help="threads for every framework (default 2)")
    ap.add_argument("--epochs", type=int, default=3, help="epochs timed after one warm-up epoch (default 3)")
    ap.add_argument("--samples", type=int, default=60000, help="samples per epoch (default 60000)")
    ap.add_argument("--profile", action="store_true", help="Axle: also print where an epoch's time goes")
    ap.add_argument("--mxnet-python", default=os.path.join(ROOT, ".mxref", "bin", "python"))
    ap.add_argument("--torch-python", default=os.path.join(HERE, ".venv-torch", "bin", "python"))
    ap.add_argument("--json", help="also write the raw results to this file")
    ap.add_argument("--worker", choices=PEERS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)
    results, notes = run_peers(__file__, args, ["--epochs", str(args.epochs), "--samples", str(args.samples)],
                               {"axle": ["--profile"]} if args.profile else None)
    print(f"threads per framework: {args.threads}; Module.fit, {args.samples} samples, batch 128; "
          "s/epoch, medians (min-max), and the process's CPU seconds per epoch (all its threads)")
    med, cpu = {}, {}
    for peer, r in results.items():
        t = r["results"]["module_fit"]
        med[peer] = statistics.median(t)
        cpu[peer] = statistics.median(r["results"]["module_fit_cpu"])
        print(f"  {LABEL[peer]:<12} {r['version']:<10} {med[peer]:9.3f}  ({min(t):.3f}-{max(t):.3f})   "
              f"CPU {cpu[peer]:.3f} s")
    if "axle" in med:
        for peer in med:
            if peer != "axle":
                print(f"  Axle / {LABEL[peer]}: {med['axle'] / med[peer]:.2f} (CPU time: {cpu['axle'] / cpu[peer]:.2f})")
        prof = results["axle"]["results"].get("profile")
        if prof:
            print("  Axle, one epoch (each part waited for): " +
                  ", ".join(f"{k} {v:.3f} s" for k, v in prof.items()))
    for n in notes:
        print("note:", n)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
