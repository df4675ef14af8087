"""Axle's own float32 kernels for small matrix products (capi/ops/cpu/small_gemm.cc), which dot,
batch_dot and FullyConnected use instead of OpenBLAS for products below 2^20 multiply-adds on CPUs
with AVX2 and FMA.

Every case is compared with numpy in float64 on the same float32 inputs. Tolerance: rtol 1e-5 plus
an absolute 2e-6 * K (K float32 products of numbers in [-1, 1], each sum rounded along the way).
The shapes walk across the kernels' edges: 6-row and 4-row blocks, 16-column panels, 3-column
blocks, 8-wide steps along K, and the copies made when an operand is stored the other way round.
"""
import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

import axle as mx

HAS_AVX2_FMA = False
try:
    with open("/proc/cpuinfo") as f:
        _flags = f.read().split()
    HAS_AVX2_FMA = "avx2" in _flags and "fma" in _flags
except OSError:
    pass


def rand(shape, seed):
    return np.random.default_rng(seed).uniform(-1, 1, size=shape).astype(np.float32)


def close(got, want, K):
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=1e-5, atol=2e-6 * max(K, 1))


SIZES_M = [1, 3, 4, 5, 6, 7, 13]
SIZES_N = [1, 2, 3, 4, 5, 8, 10, 16, 17, 33]
SIZES_K = [1, 7, 8, 9, 31, 128]


@pytest.mark.parametrize("ta,tb", [(False, False), (False, True), (True, False), (True, True)],
                         ids=["NN", "NT", "TN", "TT"])
def test_dot_small_shapes_against_numpy(ta, tb):
    seed = 0
    for M, N, K in itertools.product(SIZES_M, SIZES_N, SIZES_K):
        seed += 1
        a = rand((K, M) if ta else (M, K), seed)
        b = rand((N, K) if tb else (K, N), seed + 1000)
        want = (a.T if ta else a).astype(np.float64) @ (b.T if tb else b).astype(np.float64)
        got = mx.nd.dot(mx.nd.array(a), mx.nd.array(b), transpose_a=ta, transpose_b=tb).asnumpy()
        assert got.shape == (M, N)
        close(got, want, K)


@pytest.mark.parametrize("M,N,K", [(128, 10, 128), (128, 128, 10), (10, 128, 128), (64, 64, 64), (4, 1000, 64),
                                   (32, 10, 784), (1, 128, 784), (100, 100, 26), (128, 10, 500), (256, 10, 400),
                                   (128, 500, 16), (128, 128, 32)])
def test_dot_mlp_sized_products(M, N, K):
    for ta, tb in [(False, False), (False, True), (True, False)]:
        a = rand((K, M) if ta else (M, K), 1)
        b = rand((N, K) if tb else (K, N), 2)
        want = (a.T if ta else a).astype(np.float64) @ (b.T if tb else b).astype(np.float64)
        close(mx.nd.dot(mx.nd.array(a), mx.nd.array(b), transpose_a=ta, transpose_b=tb).asnumpy(), want, K)


def test_batch_dot_small():
    a, b = rand((3, 7, 9), 1), rand((3, 5, 9), 2)
    want = np.einsum("bik,bjk->bij", a.astype(np.float64), b.astype(np.float64))
    close(mx.nd.batch_dot(mx.nd.array(a), mx.nd.array(b), transpose_b=True).asnumpy(), want, 9)


@pytest.mark.parametrize("batch,hidden,inputs", [(128, 10, 128), (5, 3, 7), (7, 17, 33), (1, 1, 1), (130, 10, 100)])
@pytest.mark.parametrize("bias", [True, False])
def test_fully_connected_small_with_bias_in_the_kernel(batch, hidden, inputs, bias):
    x, w, b = rand((batch, inputs), 3), rand((hidden, inputs), 4), rand((hidden,), 5)
    want = x.astype(np.float64) @ w.astype(np.float64).T + (b.astype(np.float64) if bias else 0)
    args = [mx.nd.array(x), mx.nd.array(w)] + ([mx.nd.array(b)] if bias else [])
    got = mx.nd.FullyConnected(*args, num_hidden=hidden, no_bias=not bias).asnumpy()
    close(got, want, inputs)
    out = mx.nd.ones((batch, hidden)) * 7  # written over, not added to
    mx.nd.FullyConnected(*args, num_hidden=hidden, no_bias=not bias, out=out)
    close(out.asnumpy(), want, inputs)


def test_fully_connected_grad_req_add_accumulates():
    """_backward_FullyConnected's products with req add (the kernels' accumulate path)."""
    batch, hidden, inputs = 128, 10, 128
    x, w, b, dy = rand((batch, inputs), 6), rand((hidden, inputs), 7), rand((hidden,), 8), rand((batch, hidden), 9)
    net = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=hidden, name="fc")
    ex = net.simple_bind(mx.cpu(), data=(batch, inputs), grad_req="add")
    ex.arg_dict["data"][:] = x
    ex.arg_dict["fc_weight"][:] = w
    ex.arg_dict["fc_bias"][:] = b
    for g in ex.grad_arrays:
        g[:] = 1.0
    for _ in range(2):
        ex.forward(is_train=True)
        ex.backward(mx.nd.array(dy))
    d64, x64, w64 = dy.astype(np.float64), x.astype(np.float64), w.astype(np.float64)
    close(ex.grad_dict["data"].asnumpy(), 1 + 2 * (d64 @ w64), hidden)
    close(ex.grad_dict["fc_weight"].asnumpy(), 1 + 2 * (d64.T @ x64), batch)
    close(ex.grad_dict["fc_bias"].asnumpy(), 1 + 2 * d64.sum(0), batch)


_COMPARE = r"""
import numpy as np, axle as mx
rng = np.random.default_rng(0)
out = []
for M, N, K, ta, tb in [(128, 10, 128, 0, 1), (128, 128, 10, 0, 0), (10, 128, 128, 1, 0), (16, 16, 16, 0, 0)]:
    a = rng.uniform(-1, 1, (K, M) if ta else (M, K)).astype(np.float32)
    b = rng.uniform(-1, 1, (N, K) if tb else (K, N)).astype(np.float32)
    out.append(mx.nd.dot(mx.nd.array(a), mx.nd.array(b), transpose_a=bool(ta), transpose_b=bool(tb)).asnumpy())
np.savez(__import__("sys").argv[1], *out)
"""


@pytest.mark.skipif(not HAS_AVX2_FMA, reason="the small kernels need AVX2 and FMA")
def test_small_kernels_are_used_and_agree_with_openblas(tmp_path):
    """AXLE_SMALL_GEMM=0 sends every product to OpenBLAS. Both give the product within float32
    rounding, and they differ in the last bits somewhere (another order of the sums): the small
    kernels did run."""
    res = {}
    for mode in ("0", "1"):
        path = str(tmp_path / f"r{mode}.npz")
        env = dict(os.environ, AXLE_SMALL_GEMM=mode)
        subprocess.run([sys.executable, "-c", _COMPARE, path], check=True, env=env, timeout=120)
        with np.load(path) as z:
            res[mode] = [z[k] for k in sorted(z.files, key=lambda s: int(s.split("_")[1]))]
    differs = False
    for blas, ours in zip(res["0"], res["1"]):
        np.testing.assert_allclose(ours, blas, rtol=1e-5, atol=1e-4)
        differs |= not np.array_equal(ours, blas)
    assert differs, "AXLE_SMALL_GEMM=1 gave OpenBLAS's very bits: the small kernels were not used"
