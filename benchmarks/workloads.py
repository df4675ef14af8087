"""The workloads of benchmarks/run.py, as each framework runs them (a measurement, not a test).

This file runs inside one worker process per framework (`python workloads.py --worker NAME`), which
imports only its own framework. The driver (run.py) sends one JSON command per line on stdin and
reads one JSON answer per line on stdout:

  {"cmd": "info"}                          -> {"version": ..., "threads": ..., "python": ...}
  {"cmd": "run", "workload": W, "opts": {}} -> {"seconds": wall, "cpu": process CPU seconds, ...}
  {"cmd": "value", "workload": W, "opts": {}} -> {"value": number or null}  (measured once, not timed)
  {"cmd": "quit"}

A workload is set up on its first "run" (data, bound executors) and reused after, so every "run" is
one repeat of the same work. Workers: "axle" and "mxnet" run the very same code (their APIs are the
same), "torch" the same models with autograd, "baseline" the reference a target is stated against
(numpy for the large add, a raw OpenBLAS sgemm through ctypes for the GEMM).
"""
import json
import os
import platform
import sys
import time

import numpy as np

BATCH = 128
LR = 0.001


# ---- shared by Axle and MXNet --------------------------------------------------------------------
def mlp_symbol(mx):
    data = mx.sym.Variable("data")
    l1 = mx.sym.FullyConnected(data=data, num_hidden=128, name="layer1")
    a1 = mx.sym.Activation(data=l1, act_type="relu", name="act1")
    l2 = mx.sym.FullyConnected(data=a1, num_hidden=10, name="layer2")
    return mx.sym.SoftmaxOutput(data=l2, name="softmax")


def lenet_symbol(mx):
    data = mx.sym.Variable("data")
    c1 = mx.sym.Convolution(data, kernel=(5, 5), num_filter=20)
    p1 = mx.sym.Pooling(mx.sym.Activation(c1, act_type="tanh"), pool_type="max", kernel=(2, 2), stride=(2, 2))
    c2 = mx.sym.Convolution(p1, kernel=(5, 5), num_filter=50)
    p2 = mx.sym.Pooling(mx.sym.Activation(c2, act_type="tanh"), pool_type="max", kernel=(2, 2), stride=(2, 2))
    f1 = mx.sym.Activation(mx.sym.FullyConnected(mx.sym.Flatten(p2), num_hidden=500), act_type="tanh")
    return mx.sym.SoftmaxOutput(mx.sym.FullyConnected(f1, num_hidden=10), name="softmax")


def mnist_like(samples, image_shape, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.rand(samples, *image_shape).astype(np.float32)
    Y = rng.randint(0, 10, samples).astype(np.float32)
    return X, Y


class Symbolic:
    """Axle or MXNet: the seed's executor loop, Module.fit, NDArray ops."""

    def __init__(self, name):
        self.mx = __import__("axle" if name == "axle" else "mxnet")
        self.state = {}
        if name == "axle":
            self.threads = "%s kernel threads (AXLE_NUM_THREADS), %s engine workers" % (
                os.environ.get("AXLE_NUM_THREADS"), os.environ.get("AXLE_CPU_WORKER_NTHREADS"))
        else:
            self.threads = "%s OpenMP threads (OMP_NUM_THREADS), %s engine workers" % (
                os.environ.get("OMP_NUM_THREADS"), os.environ.get("MXNET_CPU_WORKER_NTHREADS"))
        self.version = self.mx.__version__

    def _bind(self, key, sym, shape):
        """A training executor as the seed binds it (grad_req write, the data's gradient too) with
        small random weights; (executor, [(weight, grad)])."""
        if key not in self.state:
            mx, rng = self.mx, np.random.RandomState(1)
            ex = sym.simple_bind(ctx=mx.cpu(), grad_req="write", data=shape, softmax_label=(shape[0],))
            for n, a in ex.arg_dict.items():
                if n not in ("data", "softmax_label"):
                    a[:] = rng.randn(*a.shape) * 0.02
            names = sym.list_arguments()
            pairs = [(w, g) for n, w, g in zip(names, ex.arg_arrays, ex.grad_arrays)
                     if n not in ("data", "softmax_label")]
            self.state[key] = (ex, pairs)
        return self.state[key]

    @staticmethod
    def _step(ex, pairs, x, y):
        ex.arg_dict["data"][:] = x
        ex.arg_dict["softmax_label"][:] = y
        ex.forward(is_train=True)
        ex.backward()
        for w, g in pairs:
            w[:] = w - g * LR

    def _data(self, key, samples, shape):
        if key not in self.state:
            self.state[key] = mnist_like(samples, shape)
        return self.state[key]

    def _epoch(self, ex, pairs, X, Y):
        for i in range(0, len(X) - BATCH + 1, BATCH):
            self._step(ex, pairs, X[i:i + BATCH], Y[i:i + BATCH])
        self.mx.nd.waitall()

    def mlp_executor(self, samples=60000):
        ex, pairs = self._bind("mlp", mlp_symbol(self.mx), (BATCH, 784))
        X, Y = self._data(("flat", samples), samples, (784,))
        return lambda: self._epoch(ex, pairs, X, Y)

    def mlp_module_fit(self, samples=60000):
        if "module" not in self.state:
            import logging
            logging.getLogger().setLevel(logging.ERROR)
            mx = self.mx
            X, Y = self._data(("flat", samples), samples, (784,))
            it = mx.io.NDArrayIter(X, Y, batch_size=BATCH)
            mod = mx.mod.Module(mlp_symbol(mx), context=mx.cpu())
            mod.bind(data_shapes=it.provide_data, label_shapes=it.provide_label)
            mod.init_params(initializer=mx.init.Uniform(0.01))
            mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.1})
            self.state["module"] = (mod, it)
        mod, it = self.state["module"]

        def run():
            mod.fit(it, num_epoch=1, optimizer="sgd", optimizer_params={"learning_rate": 0.1})
            self.mx.nd.waitall()
        return run

    def lenet_batch(self):
        ex, pairs = self._bind("lenet", lenet_symbol(self.mx), (BATCH, 1, 28, 28))
        X, Y = self._data(("lenet1",), BATCH, (1, 28, 28))

        def run():
            self._step(ex, pairs, X, Y)
            self.mx.nd.waitall()
        return run

    def lenet_epoch(self, samples=60000):
        ex, pairs = self._bind("lenet", lenet_symbol(self.mx), (BATCH, 1, 28, 28))
        X, Y = self._data(("image", samples), samples, (1, 28, 28))
        return lambda: self._epoch(ex, pairs, X, Y)

    def add_10m(self, size=10_000_000):
        nd = self.mx.nd
        if "add" not in self.state:
            rng = np.random.default_rng(0)
            xa, xb = rng.random(size, dtype=np.float32), rng.random(size, dtype=np.float32)
            a, b = nd.array(xa), nd.array(xb)
            if not np.array_equal((a + b).asnumpy(), xa + xb):
                raise SystemExit("wrong result for the large add")
            self.state["add"] = (a, b)
        a, b = self.state["add"]

        def run():
            c = a + b
            c.wait_to_read()
        return run

    def small_ops(self, ops=10000):
        nd = self.mx.nd
        a, b = nd.array(np.arange(10, dtype=np.float32)), nd.ones((10,))

        def run():
            for _ in range(ops):
                c = a + b
            nd.waitall()
            del c
        return run

    def dot_1024(self, n=1024):
        nd = self.mx.nd
        rng = np.random.default_rng(0)
        a, b = nd.array(rng.random((n, n), dtype=np.float32)), nd.array(rng.random((n, n), dtype=np.float32))

        def run():
            c = nd.dot(a, b)
            c.wait_to_read()
        return run

    def exec_memory(self, net="mlp"):
        """Bytes of the training executor's internal (non-argument) memory: Axle's memory plan; for
        MXNet, what its storage allocates for the same entries (mxnet_internal_bytes, run in a child
        process), or, should that fail, its debug_str() total, which MXNet prints in whole MiB (returned
        as {"bytes": ..., "whole_mib": True} so that the driver knows the figure is rounded down)."""
        if self.mx.__name__ == "axle":
            return exec_net(self.mx, net).memory_plan["planned_bytes"]
        import subprocess
        env = dict(os.environ, MXNET_CPU_TEMP_COPY="1")  # see mxnet_internal_bytes
        code = "import sys; sys.path.insert(0, %r); import workloads; workloads.mxnet_internal_bytes(%r)" % (
            os.path.dirname(os.path.abspath(__file__)), net)
        r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
        lines = r.stdout.strip().splitlines()
        if r.returncode == 0 and lines:
            return json.loads(lines[-1])["bytes"]
        import re
        why = (r.stderr.strip().splitlines() or ["no output"])[-1]
        print("exec_memory(%s): MXNet's exact bytes failed (%s); falling back to debug_str()'s whole MiB"
              % (net, why), file=sys.stderr)
        m = re.findall(r"Total (\d+) MB allocated", exec_net(self.mx, net).debug_str())
        return {"bytes": int(m[-1]) * (1 << 20), "whole_mib": True} if m else None


def exec_net(mx, net):
    """The seed's training executor of exec_memory (grad_req write, the data's gradient too)."""
    sym = mlp_symbol(mx) if net == "mlp" else lenet_symbol(mx)
    shape = (BATCH, 784) if net == "mlp" else (BATCH, 1, 28, 28)
    return sym.simple_bind(ctx=mx.cpu(), grad_req="write", data=shape, softmax_label=(BATCH,))


def mxnet_internal_bytes(net):
    """Prints {"bytes": N}: what MXNet 1.9.1 allocates for a training executor's internal entries.

    Its graph executor plans one pool of float arrays, one per storage id of MXPlanMemory (their
    sum is the "storage_allocated_bytes" that debug_str() prints >> 20), created with delayed
    allocation, so the pool is allocated by the first forward+backward. The profiler's memory
    counter (profile_memory) adds up every Storage allocation on the CPU: its growth over that
    first step is the pool plus whatever temp space the step grows. With MXNET_CPU_TEMP_COPY=1 (set
    by the parent) every op shares one temp-space copy, which a warm-up executor has grown already,
    so the growth is the pool alone. Checked three ways, or it raises: a second step allocates
    nothing; the distinct arrays a third, monitored step sees outside the arguments and gradients
    (the entries of one pool array share its address) add up to the same bytes; and their whole MiB
    are debug_str()'s."""
    import ctypes
    import re
    import tempfile
    import mxnet as mx

    def step(ex):
        ex.forward(is_train=True)
        ex.backward()
        mx.nd.waitall()

    def address(arr):
        p = ctypes.c_void_p()
        mx.base.check_call(mx.base._LIB.MXNDArrayGetData(arr.handle, ctypes.byref(p)))
        return p.value

    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    mx.profiler.set_config(profile_memory=True, profile_symbolic=False, profile_imperative=False,
                           profile_api=False, aggregate_stats=False, filename=path)
    marks = mx.profiler.Domain("exec_memory")
    mx.profiler.set_state("run")
    warm = exec_net(mx, net)  # kept alive: its arrays' release must not fall between the marks
    step(warm)
    ex = exec_net(mx, net)
    mx.nd.waitall()
    for name in ("before", "first", "second"):
        marks.new_marker(name).mark()
        if name != "second":
            step(ex)
    outside = {address(a) for a in ex.arg_arrays + ex.grad_arrays + ex.aux_arrays if a is not None}
    pool = {}

    def seen(name, handle):
        a = mx.nd.NDArray(ctypes.cast(handle, mx.base.NDArrayHandle), writable=False)
        if address(a) not in outside:
            pool[address(a)] = max(pool.get(address(a), 0), a.size * np.dtype(a.dtype).itemsize)
    ex.set_monitor_callback(seen, monitor_all=True)  # after the marks: a monitored step runs differently
    step(ex)
    mx.profiler.set_state("stop")
    mx.profiler.dump()
    with open(path) as f:
        events = sorted((e for e in json.load(f)["traceEvents"] if "ts" in e), key=lambda e: e["ts"])
    os.unlink(path)
    counter, at = 0, {}
    for e in events:
        if e.get("ph") == "C" and e["name"] == "Memory: cpu/0":
            counter = e["args"][e["name"]]
        elif e["name"] in ("before", "first", "second"):
            at[e["name"]] = counter
    grown, again, mib = at["first"] - at["before"], at["second"] - at["first"], re.findall(
        r"Total (\d+) MB allocated", ex.debug_str())
    if again != 0 or grown != sum(pool.values()) or not mib or grown >> 20 != int(mib[-1]):
        raise SystemExit("inconsistent: first step %d bytes, second %d, pool arrays %d, debug_str %s MB"
                         % (grown, again, sum(pool.values()), mib))
    print(json.dumps({"bytes": grown, "arrays": len(pool)}))


# ---- PyTorch ---------------------------------------------------------------------------------------
class Torch:
    """The same models and loops with autograd: the input requires grad (the seed's executors
    compute the data's gradient too), a summed cross-entropy (SoftmaxOutput's unnormalized gradient),
    plain updates under no_grad."""

    def __init__(self, threads):
        import torch
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:
            pass
        self.torch, self.nn = torch, torch.nn
        self.version = torch.__version__
        self.threads = "%d intra-op threads (torch.get_num_threads), %d inter-op" % (
            torch.get_num_threads(), torch.get_num_interop_threads())
        self.state = {}

    def _model(self, key):
        if key not in self.state:
            nn = self.nn
            self.torch.manual_seed(0)
            if key == "mlp":
                m = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
            else:
                m = nn.Sequential(nn.Conv2d(1, 20, 5), nn.Tanh(), nn.MaxPool2d(2, 2), nn.Conv2d(20, 50, 5),
                                  nn.Tanh(), nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(800, 500), nn.Tanh(),
                                  nn.Linear(500, 10))
            self.state[key] = m
        return self.state[key]

    def _data(self, key, samples, shape):
        if key not in self.state:
            X, Y = mnist_like(samples, shape)
            self.state[key] = (self.torch.from_numpy(X), self.torch.from_numpy(Y.astype(np.int64)))
        return self.state[key]

    def _train(self, model, X, Y):
        torch = self.torch
        params = list(model.parameters())
        loss_fn = self.nn.CrossEntropyLoss(reduction="sum")
        for i in range(0, len(X) - BATCH + 1, BATCH):
            x = X[i:i + BATCH].clone().requires_grad_(True)
            loss = loss_fn(model(x), Y[i:i + BATCH])
            for p in params:
                p.grad = None
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p.sub_(p.grad * LR)

    def mlp_executor(self, samples=60000):
        model, (X, Y) = self._model("mlp"), self._data(("flat", samples), samples, (784,))
        return lambda: self._train(model, X, Y)

    def mlp_module_fit(self, samples=60000):
        """Module.fit's work by hand: SGD (lr 0.1) on the mean cross-entropy, accuracy every batch."""
        torch = self.torch
        X, Y = self._data(("flat", samples), samples, (784,))
        if "fit" not in self.state:
            torch.manual_seed(0)
            nn = self.nn
            model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
            self.state["fit"] = (model, torch.optim.SGD(model.parameters(), lr=0.1))
        model, opt = self.state["fit"]
        loss_fn = self.nn.CrossEntropyLoss()

        def run():
            correct = 0
            for i in range(0, samples - BATCH + 1, BATCH):
                x, y = X[i:i + BATCH], Y[i:i + BATCH]
                out = model(x)
                loss = loss_fn(out, y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                correct += int((out.argmax(dim=1) == y).sum().item())
        return run

    def lenet_batch(self):
        model, (X, Y) = self._model("lenet"), self._data(("lenet1",), BATCH, (1, 28, 28))
        return lambda: self._train(model, X, Y)

    def lenet_epoch(self, samples=60000):
        model, (X, Y) = self._model("lenet"), self._data(("image", samples), samples, (1, 28, 28))
        return lambda: self._train(model, X, Y)

    def add_10m(self, size=10_000_000):
        rng = np.random.default_rng(0)
        a = self.torch.from_numpy(rng.random(size, dtype=np.float32))
        b = self.torch.from_numpy(rng.random(size, dtype=np.float32))

        def run():
            c = a + b
            del c
        return run

    def small_ops(self, ops=10000):
        a, b = self.torch.arange(10, dtype=self.torch.float32), self.torch.ones(10)

        def run():
            for _ in range(ops):
                c = a + b
            del c
        return run

    def dot_1024(self, n=1024):
        rng = np.random.default_rng(0)
        a = self.torch.from_numpy(rng.random((n, n), dtype=np.float32))
        b = self.torch.from_numpy(rng.random((n, n), dtype=np.float32))

        def run():
            c = a @ b
            del c
        return run

    def exec_memory(self, net="mlp"):
        return None  # PyTorch has no bound executor whose memory plan could be compared


# ---- the references the targets name -----------------------------------------------------------------
class Baseline:
    """numpy for the large add; a raw single call of OpenBLAS's cblas_sgemm (the scipy-openblas32
    library Axle links) for the GEMM, with its own threads set to the run's thread count."""

    def __init__(self, threads):
        self.version = "numpy %s" % np.__version__
        self.threads = "numpy: 1 thread (ufuncs are single-threaded); OpenBLAS: %d threads" % threads
        self._threads = threads

    def add_10m(self, size=10_000_000):
        rng = np.random.default_rng(0)
        a, b = rng.random(size, dtype=np.float32), rng.random(size, dtype=np.float32)

        def run():
            c = a + b
            del c
        return run

    def dot_1024(self, n=1024):
        import ctypes
        import scipy_openblas32 as sob
        lib = ctypes.CDLL(os.path.join(sob.get_lib_dir(), "lib" + sob.get_library() + ".so"))
        lib.scipy_openblas_set_num_threads(self._threads)
        sgemm = lib.scipy_cblas_sgemm
        P, I, F = ctypes.c_void_p, ctypes.c_int, ctypes.c_float
        sgemm.argtypes = [I, I, I, I, I, I, F, P, I, P, I, F, P, I]
        rng = np.random.default_rng(0)
        a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)

        def run():
            c = np.empty((n, n), np.float32)  # a new result each call, as the frameworks allocate one
            sgemm(101, 111, 111, n, n, n, 1.0, a.ctypes.data, n, b.ctypes.data, n, 0.0, c.ctypes.data, n)
            if not np.allclose(c[:2, :2], a[:2] @ b[:, :2], rtol=1e-4):
                raise SystemExit("raw sgemm gave a wrong result")
        return run


def make_worker(name, threads):
    if name in ("axle", "mxnet"):
        return Symbolic(name)
    if name == "torch":
        return Torch(threads)
    if name == "baseline":
        return Baseline(threads)
    raise SystemExit("unknown worker %r" % name)


def serve(name, threads):
    """Answers the driver's commands until "quit" (see the module docstring)."""
    w = make_worker(name, threads)
    runs = {}
    out = sys.stdout
    sys.stdout = sys.stderr  # frameworks' prints must not mix with the answers
    for line in sys.stdin:
        msg = json.loads(line)
        cmd = msg["cmd"]
        try:
            if cmd == "quit":
                break
            if cmd == "info":
                ans = {"version": w.version, "threads": w.threads, "python": platform.python_version()}
            elif not hasattr(w, msg["workload"]):
                ans = {"skip": "%s has no %s workload" % (name, msg["workload"])}
            elif cmd == "value":
                ans = {"value": getattr(w, msg["workload"])(**msg.get("opts", {}))}
            else:
                key = json.dumps([msg["workload"], msg.get("opts", {})], sort_keys=True)
                if key not in runs:
                    runs[key] = getattr(w, msg["workload"])(**msg.get("opts", {}))
                t, c = time.perf_counter(), time.process_time()
                runs[key]()
                ans = {"seconds": time.perf_counter() - t, "cpu": time.process_time() - c}
        except Exception as e:  # reported to the driver, which leaves this peer out of the workload
            ans = {"error": "%s: %s" % (type(e).__name__, e)}
        out.write(json.dumps(ans) + "\n")
        out.flush()


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="A worker of benchmarks/run.py (internal).")
    ap.add_argument("--worker", required=True, choices=["axle", "mxnet", "torch", "baseline"])
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    serve(a.worker, a.threads)
