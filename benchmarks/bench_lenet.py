#!/usr/bin/env python3
"""One LeNet training batch: Axle beside MXNet 1.9.1 and PyTorch (a measurement, not a test).

The network (issue #3): batch 128 of 1x28x28 -> conv 20x5x5 -> act -> maxpool 2x2/2 -> conv 50x5x5
-> act -> maxpool 2x2/2 -> FC 500 -> act -> FC 10 -> SoftmaxOutput (softmax cross-entropy), act
tanh (default) or relu. One step is forward + backward + an SGD update of every parameter
(lr 0.1, gradients rescaled by 1/batch), on the same data and the same initial parameters in
every framework, timed including the wait for the updated parameters. The median of --repeats
steps after --warmup steps. Each worker also reports the loss on the batch before and after the
steps (it must fall: the check that the step trains).

  Axle     imperative: the forward ops and their gradient ops (_backward_Convolution, ...) called
           one by one, then sgd_update per parameter. (Symbolic executors are being built: add a
           class beside AxleImperative with the same two methods and register it in AXLE_MODES.)
  MXNet    Module (a bound symbolic executor): forward_backward + update.
  PyTorch  nn.Sequential, cross_entropy, optim.SGD.

Threads and interpreters as in bench_ndarray.py (see benchmarks/README.md). Ratios are Axle/peer;
target (issue #3): Axle at most half of MXNet's time.

    python benchmarks/bench_lenet.py                    # everything installed, tanh
    python benchmarks/bench_lenet.py --act relu --only axle mxnet
    python benchmarks/bench_lenet.py --only axle --profile   # Axle's step op by op
"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_ndarray import LABEL, drive, run_child, thread_env  # noqa: E402
from bench_ops import common_args, machine  # noqa: E402

PEERS = ["axle", "mxnet", "torch"]
LR = 0.1
SHAPES = {"w1": (20, 1, 5, 5), "b1": (20,), "w2": (50, 20, 5, 5), "b2": (50,), "w3": (500, 800), "b3": (500,),
          "w4": (10, 500), "b4": (10,)}


def problem(batch, seed=0):
    """Data, labels and initial parameters (numpy float32), the same for every framework."""
    import numpy as np
    rng = np.random.default_rng(seed)
    params = {}
    for k, s in SHAPES.items():
        fan_in = int(np.prod(s[1:])) if len(s) > 1 else 1
        params[k] = (rng.uniform(-1, 1, s) / np.sqrt(fan_in) if k[0] == "w" else np.zeros(s)).astype(np.float32)
    x = rng.normal(0, 1, (batch, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, batch).astype(np.float32)
    return x, y, params


def cross_entropy(prob, y):
    import numpy as np
    p = np.asarray(prob, np.float64)
    return float(-np.log(np.maximum(p[np.arange(len(y)), y.astype(int)], 1e-30)).mean())


# ---- Axle -----------------------------------------------------------------------------------------------
class AxleImperative:
    """A LeNet step from Axle's ops and gradient ops, one imperative call each."""

    def __init__(self, act, batch):
        import axle as mx
        self.mx, self.nd, self.act = mx, mx.nd, act
        x, y, params = problem(batch)
        self.x, self.y = mx.nd.array(x), mx.nd.array(y)
        self.p = {k: mx.nd.array(v) for k, v in params.items()}
        self.conv = {"kernel": (5, 5)}
        self.pool = {"kernel": (2, 2), "stride": (2, 2), "pool_type": "max"}
        self.timer = None  # (name, f) -> result: wraps each op when profiling

    def op(self, name, f, *args, **kwargs):
        if self.timer is None:
            return f(*args, **kwargs)
        return self.timer(name, lambda: f(*args, **kwargs))

    def forward(self):
        nd, p, op, act = self.nd, self.p, self.op, self.act
        f = {}
        f["c1"] = op("conv1", nd.Convolution, self.x, p["w1"], p["b1"], num_filter=20, **self.conv)
        f["a1"] = op("act1", nd.Activation, f["c1"], act_type=act)
        f["p1"] = op("pool1", nd.Pooling, f["a1"], **self.pool)
        f["c2"] = op("conv2", nd.Convolution, f["p1"], p["w2"], p["b2"], num_filter=50, **self.conv)
        f["a2"] = op("act2", nd.Activation, f["c2"], act_type=act)
        f["p2"] = op("pool2", nd.Pooling, f["a2"], **self.pool)
        f["f3"] = op("fc3", nd.FullyConnected, f["p2"], p["w3"], p["b3"], num_hidden=500)
        f["a3"] = op("act3", nd.Activation, f["f3"], act_type=act)
        f["f4"] = op("fc4", nd.FullyConnected, f["a3"], p["w4"], p["b4"], num_hidden=10)
        f["out"] = op("softmax", nd.SoftmaxOutput, f["f4"], self.y)
        return f

    def backward(self, f):
        nd, p, op, act = self.nd, self.p, self.op, self.act
        g = {}
        d = op("softmax_bw", nd._backward_SoftmaxOutput, f["out"], f["out"], self.y)  # head gradient unused
        d, g["w4"], g["b4"] = op("fc4_bw", nd._backward_FullyConnected, d, f["a3"], p["w4"], p["b4"], num_hidden=10)
        d = op("act3_bw", nd._backward_Activation, d, f["f3"], f["a3"], act_type=act)
        d, g["w3"], g["b3"] = op("fc3_bw", nd._backward_FullyConnected, d, f["p2"], p["w3"], p["b3"], num_hidden=500)
        d = op("pool2_bw", nd._backward_Pooling, d, f["a2"], f["p2"], **self.pool)
        d = op("act2_bw", nd._backward_Activation, d, f["c2"], f["a2"], act_type=act)
        d, g["w2"], g["b2"] = op("conv2_bw", nd._backward_Convolution, d, f["p1"], p["w2"], num_filter=50, **self.conv)
        d = op("pool1_bw", nd._backward_Pooling, d, f["a1"], f["p1"], **self.pool)
        d = op("act1_bw", nd._backward_Activation, d, f["c1"], f["a1"], act_type=act)
        # (the data gradient is computed too: the op has no way to skip it)
        _, g["w1"], g["b1"] = op("conv1_bw", nd._backward_Convolution, d, self.x, p["w1"], num_filter=20,
                                 **self.conv)
        return g

    def step(self):
        g = self.backward(self.forward())
        rescale = 1.0 / self.x.shape[0]
        for k, w in self.p.items():
            self.op("sgd_update", self.nd.sgd_update, w, g[k], lr=LR, rescale_grad=rescale, out=w)
        self.nd.waitall()

    def loss(self):
        return cross_entropy(self.forward()["out"].asnumpy(), self.y.asnumpy())

    def profile(self, steps):
        """Median ms of each op per step over steps (each op waited for alone: no overlap)."""
        per_step = []

        def timer(name, thunk):
            self.nd.waitall()
            t0 = time.perf_counter()
            r = thunk()
            self.nd.waitall()
            per_step[-1][name] = per_step[-1].get(name, 0.0) + time.perf_counter() - t0
            return r
        self.timer = timer
        for _ in range(steps):
            per_step.append({})
            self.step()
        self.timer = None
        return {k: statistics.median(s[k] for s in per_step) for k in per_step[0]}


AXLE_MODES = {"imperative": AxleImperative}


# ---- MXNet 1.9.1 ------------------------------------------------------------------------------------------
class MXNetModule:
    def __init__(self, act, batch):
        import mxnet as mx
        self.mx = mx
        x, y, params = problem(batch)
        s = mx.sym
        net = s.Convolution(s.var("data"), kernel=(5, 5), num_filter=20, name="c1")
        net = s.Pooling(s.Activation(net, act_type=act), kernel=(2, 2), stride=(2, 2), pool_type="max")
        net = s.Convolution(net, kernel=(5, 5), num_filter=50, name="c2")
        net = s.Pooling(s.Activation(net, act_type=act), kernel=(2, 2), stride=(2, 2), pool_type="max")
        net = s.Activation(s.FullyConnected(net, num_hidden=500, name="f3"), act_type=act)
        net = s.SoftmaxOutput(s.FullyConnected(net, num_hidden=10, name="f4"), name="softmax")
        self.mod = mx.mod.Module(net, data_names=["data"], label_names=["softmax_label"], context=mx.cpu())
        self.mod.bind(data_shapes=[("data", x.shape)], label_shapes=[("softmax_label", y.shape)])
        names = {"w1": "c1_weight", "b1": "c1_bias", "w2": "c2_weight", "b2": "c2_bias", "w3": "f3_weight",
                 "b3": "f3_bias", "w4": "f4_weight", "b4": "f4_bias"}
        self.mod.init_params(arg_params={names[k]: mx.nd.array(v) for k, v in params.items()}, aux_params={})
        self.mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": LR, "rescale_grad": 1.0 / batch})
        self.batch = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)])
        self.y = y

    def step(self):
        self.mod.forward_backward(self.batch)
        self.mod.update()
        self.mx.nd.waitall()

    def loss(self):
        self.mod.forward(self.batch, is_train=False)
        return cross_entropy(self.mod.get_outputs()[0].asnumpy(), self.y)


# ---- PyTorch ----------------------------------------------------------------------------------------------
class TorchSequential:
    def __init__(self, act, batch, threads):
        import torch
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:
            pass
        nn = torch.nn
        self.torch = torch
        x, y, params = problem(batch)
        A = nn.Tanh if act == "tanh" else nn.ReLU
        self.net = nn.Sequential(nn.Conv2d(1, 20, 5), A(), nn.MaxPool2d(2, 2), nn.Conv2d(20, 50, 5), A(),
                                 nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(800, 500), A(), nn.Linear(500, 10))
        with torch.no_grad():
            for (k_w, k_b), i in zip([("w1", "b1"), ("w2", "b2"), ("w3", "b3"), ("w4", "b4")], [0, 3, 7, 9]):
                self.net[i].weight.copy_(torch.from_numpy(params[k_w]))
                self.net[i].bias.copy_(torch.from_numpy(params[k_b]))
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y).long()
        self.opt = torch.optim.SGD(self.net.parameters(), lr=LR)  # cross_entropy's mean = rescale 1/batch

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        self.torch.nn.functional.cross_entropy(self.net(self.x), self.y).backward()
        self.opt.step()

    def loss(self):
        with self.torch.no_grad():
            return float(self.torch.nn.functional.cross_entropy(self.net(self.x), self.y))


# ---- worker and driver ------------------------------------------------------------------------------------
def worker(args):
    if args.worker == "axle":
        import axle
        net, version = AXLE_MODES[args.axle_mode](args.act, args.batch), axle.__version__
        threads = "%s kernel threads, %s engine workers, OpenBLAS %s; %s" % (
            os.environ.get("AXLE_NUM_THREADS"), os.environ.get("AXLE_CPU_WORKER_NTHREADS"),
            os.environ.get("OPENBLAS_NUM_THREADS"), args.axle_mode)
    elif args.worker == "mxnet":
        import mxnet
        net, version = MXNetModule(args.act, args.batch), mxnet.__version__
        threads = "%s OpenMP threads, %s engine workers; Module" % (os.environ.get("OMP_NUM_THREADS"),
                                                                   os.environ.get("MXNET_CPU_WORKER_NTHREADS"))
    else:
        import torch
        net, version = TorchSequential(args.act, args.batch, args.threads), torch.__version__
        threads = "%d intra-op threads; nn.Sequential + optim.SGD" % torch.get_num_threads()
    loss0 = net.loss()
    for _ in range(args.warmup):
        net.step()
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        net.step()
        times.append(time.perf_counter() - t0)
    out = {"framework": args.worker, "version": version, "threads": threads, "median_s": statistics.median(times),
           "min_s": min(times), "max_s": max(times), "loss_before": loss0, "loss_after": net.loss(),
           "steps": args.warmup + args.repeats}
    if args.profile and args.worker == "axle":
        out["profile"] = net.profile(5)
    print(json.dumps(out))


def run_worker(name, python, args):
    cmd = [python, os.path.abspath(__file__), "--worker", name, "--act", args.act, "--batch", str(args.batch),
           "--repeats", str(args.repeats), "--warmup", str(args.warmup), "--threads", str(args.threads),
           "--axle-mode", args.axle_mode] + (["--profile"] if args.profile else [])
    env = thread_env(args.threads)
    if name != "axle":
        env.pop("PYTHONPATH", None)
    elif args.axle_blas_threads:
        env["OPENBLAS_NUM_THREADS"] = str(args.axle_blas_threads)
    return run_child(name, cmd, env, args.timeout)


def table(results, args, notes):
    lines = ["LeNet training step (batch %d, %s): %s" % (args.batch, args.act, machine()),
             "median of %d steps after %d warm-up, each incl. the wait for the updated parameters" % (
                 args.repeats, args.warmup),
             "  %-8s %-12s %9s %8s %8s %10s  %-17s %s" % ("", "version", "median ms", "min ms", "max ms", "Axle/peer",
                                                         "loss before>after", "threads")]
    axle = results.get("axle")
    for n in PEERS:
        if n not in results:
            continue
        r = results[n]
        lines.append("  %-8s %-12s %9.1f %8.1f %8.1f %10s  %.3f > %.3f     %s" % (
            LABEL[n], r["version"], r["median_s"] * 1e3, r["min_s"] * 1e3, r["max_s"] * 1e3,
            "%.2f" % (axle["median_s"] / r["median_s"]) if axle else "-", r["loss_before"], r["loss_after"],
            r["threads"]))
    if axle and "profile" in axle:
        prof = axle["profile"]
        lines.append("Axle op by op (each op waited for alone; median ms of 5 steps; sum %.1f ms):" %
                     (sum(prof.values()) * 1e3))
        lines.append("  " + ", ".join("%s %.2f" % (k, v * 1e3) for k, v in prof.items()))
    lines.extend("note: " + n for n in notes)
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--act", choices=["tanh", "relu"], default="tanh", help="activation (default tanh)")
    ap.add_argument("--batch", type=int, default=128, help="batch size (default 128)")
    ap.add_argument("--repeats", type=int, default=20, help="timed steps (default 20)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    ap.add_argument("--axle-mode", choices=sorted(AXLE_MODES), default="imperative", help="how Axle runs the step")
    ap.add_argument("--profile", action="store_true", help="also time Axle's step op by op")
    ap.add_argument("--axle-blas-threads", type=int, metavar="N",
                    help="OPENBLAS_NUM_THREADS for Axle only (default: --threads). With 1, Axle runs its GEMM batches "
                         "in parallel on its own threads instead of in turn on OpenBLAS's")
    common_args(ap, PEERS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)
    pythons = {"axle": sys.executable, "mxnet": args.mxnet_python, "torch": args.torch_python}
    return drive(args, pythons, run_worker, table)

if __name__ == "__main__":
    sys.exit(main())
