"""GEMM speed of FullyConnected / dot / FullyConnected's backward against a raw OpenBLAS sgemm of the
same shape (the same scipy-openblas32 library Axle links, called through ctypes).

Rounds alternate the contenders and each keeps its fastest round, which filters out noise from
other processes. Axle's times include the whole imperative call (Python, engine push, wait).

    python benchmarks/bench_gemm.py            # OPENBLAS_NUM_THREADS=1 to compare single-threaded
"""
import ctypes
import os
import time

import numpy as np
import scipy_openblas32 as sob

import axle as mx

_lib = ctypes.CDLL(os.path.join(sob.get_lib_dir(), "lib" + sob.get_library() + ".so"))
_sgemm = _lib.scipy_cblas_sgemm
_P, _I, _F = ctypes.c_void_p, ctypes.c_int, ctypes.c_float
_sgemm.argtypes = [_I, _I, _I, _I, _I, _I, _F, _P, _I, _P, _I, _F, _P, _I]
_ROW, _N, _T = 101, 111, 112


def raw_sgemm(M, N, K, tb, ta=False):
    """C (M x N) = A (M x K) * B (K x N), A stored transposed (K x M) when ta, B (N x K) when tb."""
    a = np.random.rand(*((K, M) if ta else (M, K))).astype(np.float32)
    b = np.random.rand(*((N, K) if tb else (K, N))).astype(np.float32)
    c = np.empty((M, N), np.float32)
    args = (_ROW, _T if ta else _N, _T if tb else _N, M, N, K, 1.0, a.ctypes.data, M if ta else K, b.ctypes.data,
            K if tb else N, 0.0, c.ctypes.data, N)

    def run():
        _sgemm(*args)
    run.keep = (a, b, c)
    return run


def axle_fc(M, N, K, bias=True, batch=1):
    """batch > 1: that many calls, then one wait (a training loop's pattern: the push of the next
    call overlaps the current one); the time is per call."""
    x, w, b = (mx.nd.array(np.random.rand(*s)) for s in ((M, K), (N, K), (N,)))
    out = mx.nd.zeros((M, N))
    args = (x, w, b) if bias else (x, w)

    def run():
        for _ in range(batch):
            mx.nd.FullyConnected(*args, num_hidden=N, no_bias=not bias, out=out)
        out.wait_to_read()
    run.per = batch
    return run


def axle_dot(M, N, K, tb=False):
    x, w = mx.nd.array(np.random.rand(M, K)), mx.nd.array(np.random.rand(*((N, K) if tb else (K, N))))
    out = mx.nd.zeros((M, N))

    def run():
        mx.nd.dot(x, w, transpose_b=tb, out=out)
        out.wait_to_read()
    return run


def axle_fc_backward(M, N, K):
    """_backward_FullyConnected: dx = dy W, dW = dy^T x, db = sum(dy): two GEMMs of M*N*K each."""
    x, w, b, dy = (mx.nd.array(np.random.rand(*s)) for s in ((M, K), (N, K), (N,), (M, N)))
    dx, dw, db = mx.nd.zeros((M, K)), mx.nd.zeros((N, K)), mx.nd.zeros((N,))
    bw = mx.nd._backward_FullyConnected

    def run():
        bw(dy, x, w, b, num_hidden=N, out=[dx, dw, db])
        dw.wait_to_read()
    return run


def fastest(fns, reps, rounds):
    best = [float("inf")] * len(fns)
    for f in fns:
        f()
    for _ in range(rounds):
        for i, f in enumerate(fns):
            t = time.perf_counter()
            for _ in range(reps):
                f()
            best[i] = min(best[i], (time.perf_counter() - t) / reps / getattr(f, "per", 1))
    return best


def main():
    print(f"engine {os.environ.get('AXLE_ENGINE_TYPE', 'ThreadedEngine')}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(default)')}, "
          f"{os.cpu_count()} CPUs; min over rounds, microseconds per call")
    for M, N, K, reps, rounds in [(1024, 1024, 1024, 2, 15), (128, 128, 784, 20, 40), (128, 10, 128, 200, 30),
                                  (64, 512, 512, 20, 30), (128, 10, 500, 100, 30)]:
        raw_t, raw_n, fc, fc_nb, dot_t, dot_n = fastest(
            [raw_sgemm(M, N, K, True), raw_sgemm(M, N, K, False), axle_fc(M, N, K), axle_fc(M, N, K, False),
             axle_dot(M, N, K, True), axle_dot(M, N, K, False)], reps, rounds)
        # the backward's two products: dx = dy W (NN, M x K x N) and dW = dy^T x (TN, N x K x M)
        nn, tn = raw_sgemm(M, K, N, False), raw_sgemm(N, K, M, False, ta=True)

        def raw_pair():
            nn()
            tn()
        raw_bw, bw = fastest([raw_pair, axle_fc_backward(M, N, K)], reps, max(3, rounds // 2))
        raw_t2, fc_pipe = fastest([raw_sgemm(M, N, K, True), axle_fc(M, N, K, batch=10)], max(1, reps // 2), rounds)
        raw_t = min(raw_t, raw_t2)
        gf = 2e-9 * M * N * K
        print(f"M={M} N={N} K={K} ({gf / raw_t:.1f} GFLOP/s raw):")
        print(f"  raw sgemm(N,T) {raw_t * 1e6:9.1f}  FullyConnected {fc * 1e6:9.1f} ({raw_t / fc:6.1%})  "
              f"no_bias {fc_nb * 1e6:9.1f} ({raw_t / fc_nb:6.1%})  dot(transpose_b) {dot_t * 1e6:9.1f} "
              f"({raw_t / dot_t:6.1%})")
        print(f"  raw sgemm(N,N) {raw_n * 1e6:9.1f}  dot {dot_n * 1e6:9.1f} ({raw_n / dot_n:6.1%})  "
              f"FC backward {bw * 1e6:9.1f} vs raw NN+TN {raw_bw * 1e6:9.1f} ({raw_bw / bw:6.1%})")
        print(f"  FullyConnected, 10 calls per wait: {fc_pipe * 1e6:9.1f} per call ({raw_t / fc_pipe:6.1%})")


if __name__ == "__main__":
    main()
