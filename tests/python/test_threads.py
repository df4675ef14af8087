"""Thread safety of the Python package and the C API under it: several Python threads issue
random ops at once (cffi releases the GIL inside each C call), each writing its own arrays while
all read shared ones; every thread's results must equal a numpy replay of its own sequence.
Concurrent writers to one array must stay memory-safe (their order is unspecified).

AXLE_THREAD_TEST_OPS sets the ops per thread (default 1,500 here; the issue's full run is
AXLE_THREAD_TEST_OPS=25000)."""
import os
import threading

import numpy as np
import pytest

import axle as mx

N_OPS = int(os.environ.get("AXLE_THREAD_TEST_OPS", "1500"))
N_THREADS = 4
SHAPE = (8, 16)


def program(seed, n):
    """A deterministic random sequence of (op, operand index) steps."""
    rng = np.random.RandomState(seed)
    return [(int(rng.randint(0, 8)), int(rng.randint(0, 3))) for _ in range(n)]


def run_axle(prog, shared, out, errors):
    try:
        acc = mx.nd.zeros(SHAPE)
        for op, k in prog:
            s = shared[k]
            if op == 0:
                acc = acc + s
            elif op == 1:
                acc = acc - s * 0.5
            elif op == 2:
                acc = mx.nd.relu(acc) * 0.9
            elif op == 3:
                acc = mx.nd.clip(acc, -5.0, 5.0)
            elif op == 4:
                acc = (mx.nd.dot(acc, mx.nd.transpose(s)) * 0.01).tile((1, 2)) + acc[:, :16] * 0.5
            elif op == 5:
                acc[:] = acc * 0.5 + 1.0
            elif op == 6:
                acc = acc + mx.nd.sum(s, axis=1, keepdims=True) * 0.1
            else:
                acc = mx.nd.broadcast_maximum(acc, s * 0.1)
            if op % 3 == 0:
                acc.wait_to_read()
        out.append(acc.asnumpy())
    except Exception as e:  # pragma: no cover - reported by the test
        errors.append(e)


def run_numpy(prog, shared):
    acc = np.zeros(SHAPE, np.float32)
    for op, k in prog:
        s = shared[k]
        if op == 0:
            acc = acc + s
        elif op == 1:
            acc = acc - s * np.float32(0.5)
        elif op == 2:
            acc = np.maximum(acc, 0) * np.float32(0.9)
        elif op == 3:
            acc = np.clip(acc, -5.0, 5.0)
        elif op == 4:
            acc = np.tile((acc @ s.T) * np.float32(0.01), (1, 2)) + acc * np.float32(0.5)
        elif op == 5:
            acc = acc * np.float32(0.5) + np.float32(1.0)
        elif op == 6:
            acc = acc + s.sum(axis=1, keepdims=True) * np.float32(0.1)
        else:
            acc = np.maximum(acc, s * np.float32(0.1))
    return acc


def test_threads_issue_ops_concurrently_with_correct_results():
    rng = np.random.RandomState(0)
    shared_np = [rng.randn(*SHAPE).astype(np.float32) for _ in range(3)]
    shared = [mx.nd.array(x) for x in shared_np]
    progs = [program(100 + t, N_OPS) for t in range(N_THREADS)]
    outs = [[] for _ in range(N_THREADS)]
    errors = []
    threads = [threading.Thread(target=run_axle, args=(progs[t], shared, outs[t], errors)) for t in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for t in range(N_THREADS):
        np.testing.assert_allclose(outs[t][0], run_numpy(progs[t], shared_np), rtol=2e-4, atol=2e-4)
    # the shared inputs were only read
    for a, b in zip(shared, shared_np):
        np.testing.assert_array_equal(a.asnumpy(), b)


def test_concurrent_writers_to_one_array_stay_memory_safe():
    target = mx.nd.zeros((64, 64))
    errors = []

    def writer(v):
        try:
            for _ in range(300):
                target[:] = v
                target[1:3, :] += 1.0
        except Exception as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(float(v),)) for v in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    mx.nd.waitall()
    assert not errors
    out = target.asnumpy()
    assert np.isfinite(out).all()
    # every row holds one writer's value (plus the +1 some rows got): no torn garbage
    assert set(np.unique(out[3:])).issubset({0.0, 1.0, 2.0, 3.0})


def test_symbols_and_executors_from_threads():
    errors = []
    results = {}

    def work(t):
        try:
            x = mx.sym.Variable("x")
            y = mx.sym.FullyConnected(x, num_hidden=4, name=f"fc{t}")
            ex = y.simple_bind(mx.cpu(), x=(3, 5))
            for a in ex.arg_arrays:
                a[:] = float(t + 1)
            for _ in range(50):
                ex.forward(is_train=True)
                ex.backward(mx.nd.ones((3, 4)))
            results[t] = (ex.outputs[0].asnumpy(), ex.grad_dict[f"fc{t}_weight"].asnumpy())
        except Exception as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for t, (out, gw) in results.items():
        v = float(t + 1)
        np.testing.assert_allclose(out, np.full((3, 4), v * v * 5 + v), rtol=1e-6)
        np.testing.assert_allclose(gw, np.full((4, 5), 3 * v), rtol=1e-6)


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-q"])
