"""Timings on gpu(0) beside PyTorch on the same card (run by device_check.sh).

1. A large FullyConnected (no bias) and dot against torch.matmul of the same shapes (float32, TF32
   off on both sides: cuBLAS's plain FP32 path).
2. An MLP 784-128-64-10, batch 128: forward, backward (the gradient ops) and an SGD step, against
   the same model in PyTorch (autograd, torch.optim.SGD).
Prints a short table last (and writes it to --table).
"""
import argparse
import os
import time

import numpy as np
import torch

os.environ.setdefault("AXLE_VERBOSE", "1")  # the CUDA backend names its GEMM (cuBLAS or built-in)
import axle as mx  # noqa: E402


def timeit(fn, sync, warmup=3, iters=20):
    for _ in range(warmup):
        fn()
    sync()
    t = time.perf_counter()
    for _ in range(iters):
        fn()
    sync()
    return (time.perf_counter() - t) / iters


def torch_step_time(model, x, y, lr, warmup, iters):
    """Seconds per SGD step (cross-entropy, autograd) of a torch model on the GPU."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    tx, ty = torch.from_numpy(x).cuda(), torch.from_numpy(y).long().cuda()

    def step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(tx), ty).backward()
        opt.step()

    return timeit(step, torch.cuda.synchronize, warmup=warmup, iters=iters)


def bench_gemm(rows, n):
    ctx = mx.gpu(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, n), dtype=np.float32)
    w = rng.standard_normal((n, n), dtype=np.float32)
    ax, aw = mx.nd.array(x, ctx=ctx), mx.nd.array(w, ctx=ctx)
    out = mx.nd.zeros((n, n), ctx=ctx)
    tx, tw = torch.from_numpy(x).cuda(), torch.from_numpy(w).cuda()
    flop = 2.0 * n * n * n
    t_fc = timeit(lambda: mx.nd.FullyConnected(ax, aw, num_hidden=n, no_bias=True, out=out), mx.nd.waitall)
    t_dot = timeit(lambda: mx.nd.dot(ax, aw, out=out), mx.nd.waitall)
    t_torch = timeit(lambda: torch.matmul(tx, tw.t()), torch.cuda.synchronize)
    err = np.abs(out.asnumpy() - (tx @ tw).cpu().numpy()).max()
    rows.append((f"FullyConnected {n}x{n}x{n} fp32", t_fc, t_torch, flop / t_fc / 1e12))
    rows.append((f"dot {n}x{n}x{n} fp32", t_dot, t_torch, flop / t_dot / 1e12))
    print(f"gemm n={n}: axle FC {t_fc*1e3:.3f} ms, dot {t_dot*1e3:.3f} ms, torch {t_torch*1e3:.3f} ms, "
          f"max |dot - torch| {err:.3g}")


def bench_mlp(rows, batch=128, steps=50):
    ctx = mx.gpu(0)
    rng = np.random.default_rng(0)
    dims = [(128, 784), (64, 128), (10, 64)]
    ws = [rng.normal(0, 0.05, size=d).astype(np.float32) for d in dims]
    bs = [np.zeros(d[0], np.float32) for d in dims]
    x = rng.uniform(0, 1, size=(batch, 784)).astype(np.float32)
    y = rng.integers(0, 10, size=(batch,)).astype(np.float32)
    p = [mx.nd.array(v, ctx=ctx) for pair in zip(ws, bs) for v in pair]
    xd, yd = mx.nd.array(x, ctx=ctx), mx.nd.array(y, ctx=ctx)
    lr = 0.1

    def step():
        h1 = mx.nd.FullyConnected(xd, p[0], p[1], num_hidden=128)
        a1 = mx.nd.Activation(h1, act_type="relu")
        h2 = mx.nd.FullyConnected(a1, p[2], p[3], num_hidden=64)
        a2 = mx.nd.Activation(h2, act_type="relu")
        o = mx.nd.FullyConnected(a2, p[4], p[5], num_hidden=10)
        s = mx.nd.SoftmaxOutput(o, yd, normalization="batch")
        do = mx.nd._backward_SoftmaxOutput(s, s, yd, normalization="batch")
        da2, dw3, db3 = mx.nd._backward_FullyConnected(do, a2, p[4], p[5], num_hidden=10)
        dh2 = mx.nd._backward_Activation(da2, h2, a2, act_type="relu")
        da1, dw2, db2 = mx.nd._backward_FullyConnected(dh2, a1, p[2], p[3], num_hidden=64)
        dh1 = mx.nd._backward_Activation(da1, h1, a1, act_type="relu")
        _, dw1, db1 = mx.nd._backward_FullyConnected(dh1, xd, p[0], p[1], num_hidden=128)
        for w, g in zip(p, [dw1, db1, dw2, db2, dw3, db3]):
            mx.nd.sgd_update(w, g, lr=lr, out=w)
        return s

    t_axle = timeit(step, mx.nd.waitall, warmup=5, iters=steps)

    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64),
                                torch.nn.ReLU(), torch.nn.Linear(64, 10)).cuda()
    t_torch = torch_step_time(model, x, y, lr, warmup=5, iters=steps)
    rows.append((f"MLP 784-128-64-10 b{batch} step", t_axle, t_torch, None))
    print(f"mlp step: axle {t_axle*1e3:.3f} ms, torch {t_torch*1e3:.3f} ms")


def bench_lenet(rows, batch=128, steps=30):
    """LeNet (conv 20@5x5, max-pool 2, conv 50@5x5, max-pool 2, FC 500, FC 10) on 28x28 inputs."""
    ctx = mx.gpu(0)
    rng = np.random.default_rng(0)
    shapes = [(20, 1, 5, 5), (20,), (50, 20, 5, 5), (50,), (500, 800), (500,), (10, 500), (10,)]
    vals = [rng.normal(0, 0.05, size=s).astype(np.float32) for s in shapes]
    x = rng.uniform(0, 1, size=(batch, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=(batch,)).astype(np.float32)
    p = [mx.nd.array(v, ctx=ctx) for v in vals]
    xd, yd = mx.nd.array(x, ctx=ctx), mx.nd.array(y, ctx=ctx)
    pool = dict(kernel=(2, 2), stride=(2, 2), pool_type="max")

    def step():
        c1 = mx.nd.Convolution(xd, p[0], p[1], kernel=(5, 5), num_filter=20)
        a1 = mx.nd.Activation(c1, act_type="relu")
        p1 = mx.nd.Pooling(a1, **pool)
        c2 = mx.nd.Convolution(p1, p[2], p[3], kernel=(5, 5), num_filter=50)
        a2 = mx.nd.Activation(c2, act_type="relu")
        p2 = mx.nd.Pooling(a2, **pool)
        f = mx.nd.Flatten(p2)
        h = mx.nd.FullyConnected(f, p[4], p[5], num_hidden=500)
        a3 = mx.nd.Activation(h, act_type="relu")
        o = mx.nd.FullyConnected(a3, p[6], p[7], num_hidden=10)
        s = mx.nd.SoftmaxOutput(o, yd, normalization="batch")
        do = mx.nd._backward_SoftmaxOutput(s, s, yd, normalization="batch")
        da3, dw4, db4 = mx.nd._backward_FullyConnected(do, a3, p[6], p[7], num_hidden=10)
        dh = mx.nd._backward_Activation(da3, h, a3, act_type="relu")
        df, dw3, db3 = mx.nd._backward_FullyConnected(dh, f, p[4], p[5], num_hidden=500)
        dp2 = mx.nd.reshape(df, shape=p2.shape)
        da2 = mx.nd._backward_Pooling(dp2, a2, p2, **pool)
        dc2 = mx.nd._backward_Activation(da2, c2, a2, act_type="relu")
        dp1, dw2, db2 = mx.nd._backward_Convolution(dc2, p1, p[2], kernel=(5, 5), num_filter=50)
        da1 = mx.nd._backward_Pooling(dp1, a1, p1, **pool)
        dc1 = mx.nd._backward_Activation(da1, c1, a1, act_type="relu")
        _, dw1, db1 = mx.nd._backward_Convolution(dc1, xd, p[0], kernel=(5, 5), num_filter=20)
        for w, g in zip(p, [dw1, db1, dw2, db2, dw3, db3, dw4, db4]):
            mx.nd.sgd_update(w, g, lr=0.05, out=w)

    t_axle = timeit(step, mx.nd.waitall, warmup=3, iters=steps)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 20, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Conv2d(20, 50, 5),
        torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(800, 500), torch.nn.ReLU(),
        torch.nn.Linear(500, 10)).cuda()
    t_torch = torch_step_time(model, x, y, 0.05, warmup=3, iters=steps)
    rows.append((f"LeNet b{batch} step (torch: cuDNN)", t_axle, t_torch, None))
    print(f"lenet step: axle {t_axle*1e3:.3f} ms, torch {t_torch*1e3:.3f} ms")


def _seed_loop(sym, shape, ctx, X, Y):
    """The seed's executor loop over X (one epoch): copy, forward, backward, W[:] = W - G * lr."""
    ex = sym.simple_bind(ctx, grad_req="write", data=(128,) + shape, softmax_label=(128,))
    rng = np.random.default_rng(0)
    pairs = []
    for n, w, g in zip(sym.list_arguments(), ex.arg_arrays, ex.grad_arrays):
        if n not in ("data", "softmax_label"):
            w[:] = rng.normal(0, 0.02, size=w.shape).astype(np.float32)
            pairs.append((w, g))
    Xd, Yd = mx.nd.array(X, ctx=ctx), mx.nd.array(Y, ctx=ctx)

    def epoch():
        for i in range(0, len(X) - 127, 128):
            ex.arg_dict["data"][:] = Xd[i:i + 128]
            ex.arg_dict["softmax_label"][:] = Yd[i:i + 128]
            ex.forward(is_train=True)
            ex.backward()
            for w, g in pairs:
                w[:] = w - g * 0.001
    return epoch


def _torch_epoch(model, X, Y):
    tx, ty = torch.from_numpy(X).cuda(), torch.from_numpy(Y).long().cuda()
    params = list(model.parameters())
    loss_fn = torch.nn.CrossEntropyLoss(reduction="sum")

    def epoch():
        for i in range(0, len(X) - 127, 128):
            x = tx[i:i + 128].clone().requires_grad_(True)
            loss = loss_fn(model(x), ty[i:i + 128])
            for p in params:
                p.grad = None
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p.sub_(p.grad * 0.001)
    return epoch


def bench_seed_epochs(rows, samples=60000):
    """One 60,000-sample epoch of the seed's MLP (784-128 relu-10) and of LeNet through executors on
    gpu(0) (data already on the GPU), against the same loops in PyTorch (autograd)."""
    rng = np.random.default_rng(0)
    ctx = mx.gpu(0)
    Y = rng.integers(0, 10, size=(samples,)).astype(np.float32)
    data = mx.sym.Variable("data")
    a1 = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=128, name="l1"), act_type="relu")
    mlp = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(a1, num_hidden=10, name="l2"), name="softmax")
    X = rng.uniform(0, 1, size=(samples, 784)).astype(np.float32)
    t_axle = timeit(_seed_loop(mlp, (784,), ctx, X, Y), mx.nd.waitall, warmup=1, iters=2)
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)).cuda()
    t_torch = timeit(_torch_epoch(model, X, Y), torch.cuda.synchronize, warmup=1, iters=2)
    rows.append(("seed MLP epoch (executor)", t_axle, t_torch, None))
    print(f"seed mlp epoch: axle {t_axle:.3f} s, torch {t_torch:.3f} s")
    c1 = mx.sym.Convolution(data, kernel=(5, 5), num_filter=20)
    p1 = mx.sym.Pooling(mx.sym.Activation(c1, act_type="tanh"), pool_type="max", kernel=(2, 2), stride=(2, 2))
    c2 = mx.sym.Convolution(p1, kernel=(5, 5), num_filter=50)
    p2 = mx.sym.Pooling(mx.sym.Activation(c2, act_type="tanh"), pool_type="max", kernel=(2, 2), stride=(2, 2))
    f1 = mx.sym.Activation(mx.sym.FullyConnected(mx.sym.Flatten(p2), num_hidden=500), act_type="tanh")
    lenet = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(f1, num_hidden=10), name="softmax")
    X = rng.uniform(0, 1, size=(samples, 1, 28, 28)).astype(np.float32)
    t_axle = timeit(_seed_loop(lenet, (1, 28, 28), ctx, X, Y), mx.nd.waitall, warmup=1, iters=1)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 20, 5), torch.nn.Tanh(), torch.nn.MaxPool2d(2), torch.nn.Conv2d(20, 50, 5),
        torch.nn.Tanh(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(800, 500), torch.nn.Tanh(),
        torch.nn.Linear(500, 10)).cuda()
    t_torch = timeit(_torch_epoch(model, X, Y), torch.cuda.synchronize, warmup=1, iters=1)
    rows.append(("LeNet epoch (executor; torch: cuDNN)", t_axle, t_torch, None))
    print(f"lenet epoch: axle {t_axle:.3f} s, torch {t_torch:.3f} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--table", default=None)
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    print("device:", torch.cuda.get_device_name(0), "| torch", torch.__version__)
    rows = []
    for name, fn in [("gemm 1024", lambda: bench_gemm(rows, 1024)), ("gemm 4096", lambda: bench_gemm(rows, 4096)),
                     ("mlp", lambda: bench_mlp(rows)), ("lenet", lambda: bench_lenet(rows)),
                     ("seed epochs", lambda: bench_seed_epochs(rows))]:
        try:
            fn()
        except Exception as e:  # report and keep the table
            print(f"{name} bench failed: {type(e).__name__}: {e}")
    lines = ["", f"{'case':<36} {'axle ms':>9} {'torch ms':>9} {'torch/axle':>10} {'TFLOP/s':>8}"]
    for name, ta, tt, tf in rows:
        lines.append(f"{name:<36} {ta*1e3:>9.3f} {tt*1e3:>9.3f} {tt/ta:>10.2f} {'' if tf is None else f'{tf:8.1f}':>8}")
    text = "\n".join(lines)
    print(text)
    if args.table:
        with open(args.table, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
