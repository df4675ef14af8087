"""Helpers for testing ops (MXNet's mx.test_utils): numeric gradient checks and comparisons."""
import contextlib
import os
import sys

import numpy as np

from . import ndarray as nd
from ._lib import ffi, lib
from .ndarray._op import op_gradient

__all__ = ["op_gradient", "numeric_grad", "check_numeric_gradient", "assert_almost_equal", "get_mnist", "training"]


@contextlib.contextmanager
def training(on=True):
    """Runs the block with ops in training mode (on) or inference mode on this thread."""
    prev = ffi.new("int*")
    lib.AxSetIsTraining(1 if on else 0, prev)
    try:
        yield
    finally:
        lib.AxSetIsTraining(prev[0], ffi.NULL)


def assert_almost_equal(a, b, rtol=1e-5, atol=1e-7, names=("a", "b")):
    a = a.asnumpy() if isinstance(a, nd.NDArray) else np.asarray(a)
    b = b.asnumpy() if isinstance(b, nd.NDArray) else np.asarray(b)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"{names[0]} vs {names[1]}")


def _forward(op, arrays, attrs, dtype):
    outs = getattr(nd, op)(*[nd.array(x, dtype=dtype) for x in arrays], **attrs)
    outs = outs if isinstance(outs, list) else [outs]
    return [o.asnumpy().astype(np.float64) for o in outs]


def numeric_grad(op, inputs, ograds, attrs=None, eps=1e-4, dtype=np.float64, wrt=None):
    """Central differences of sum(out_k * ograd_k) with respect to each input (float64 numpy arrays)."""
    attrs = attrs or {}
    wrt = range(len(inputs)) if wrt is None else wrt
    grads = []
    for i in range(len(inputs)):
        if i not in wrt:
            grads.append(None)
            continue
        x = np.array(inputs[i], dtype=np.float64)
        g = np.zeros_like(x)
        flat, gflat = x.reshape(-1), g.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            vals = []
            for step in (eps, -eps):
                flat[j] = old + step
                args = list(inputs)
                args[i] = x
                outs = _forward(op, args, attrs, dtype)
                vals.append(sum(float((o * og).sum()) for o, og in zip(outs, ograds)))
            flat[j] = old
            gflat[j] = (vals[0] - vals[1]) / (2 * eps)
        grads.append(g)
    return grads


def check_numeric_gradient(op, inputs, attrs=None, rtol=1e-4, atol=1e-6, eps=1e-4, seed=0, wrt=None):
    """Checks op's registered gradient against central differences, in float64, for random
    output gradients. inputs: numpy arrays. Returns the analytic gradients."""
    attrs = attrs or {}
    rng = np.random.RandomState(seed)
    outs = _forward(op, inputs, attrs, np.float64)
    ograds = [rng.uniform(-1, 1, o.shape) for o in outs]
    analytic = op_gradient(op, [nd.array(x, dtype=np.float64) for x in inputs],
                           [nd.array(g, dtype=np.float64) for g in ograds], **attrs)
    numeric = numeric_grad(op, inputs, ograds, attrs, eps=eps, wrt=wrt)
    for i, (a, n) in enumerate(zip(analytic, numeric)):
        if n is None:
            continue
        np.testing.assert_allclose(a.asnumpy(), n, rtol=rtol, atol=atol,
                                   err_msg=f"{op}: gradient of input {i} differs from central differences")
    return analytic


_MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
BUNDLED_MNIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "mnist")


def _find_idx(folder, name):
    for candidate in (name, name + ".gz"):
        p = os.path.join(folder, candidate)
        if os.path.isfile(p):
            return p
    return None


def _mnist_files(folder):
    """{"train": (images, labels), "test": (...)} when folder holds all four IDX files, else None."""
    found = {k: tuple(_find_idx(folder, n) for n in names) for k, names in _MNIST_FILES.items()}
    return found if all(p for pair in found.values() for p in pair) else None


def get_mnist(path=None):
    """MNIST as MXNet's get_mnist returns it: {"train_data": (N, 1, 28, 28) float32 in [0, 1],
    "train_label": (N,) int8, "test_data", "test_label"}.

    Reads the IDX files (gzipped or not) of the full data set from `path`, else from
    $AXLE_DATA_DIR/mnist, else the sample bundled with Axle (4,000 training and 1,000 test digits);
    prints on stderr which it used. A given path without the four files is an error."""
    from .io.mnist import read_mnist
    if path is not None:
        files = _mnist_files(path)
        if files is None:
            names = ", ".join(n for pair in _MNIST_FILES.values() for n in pair)
            raise FileNotFoundError(f"get_mnist: {path} lacks some of the MNIST IDX files ({names}, optionally .gz)")
        source = path
    else:
        env = os.environ.get("AXLE_DATA_DIR")
        files = _mnist_files(os.path.join(env, "mnist")) if env else None
        source = os.path.join(env, "mnist") if files else None
        if files is None:
            files = _mnist_files(BUNDLED_MNIST)
            source = "the bundled sample"
    res = {}
    for split, (images, labels) in files.items():
        img, lbl = read_mnist(images, labels)
        res[split + "_data"] = img.reshape(img.shape[0], 1, img.shape[1], img.shape[2]).astype(np.float32) / 255
        res[split + "_label"] = lbl.astype(np.int8)  # a writable copy (np.frombuffer views are read-only)
    print(f"get_mnist: using {source} ({len(res['train_label'])} training, {len(res['test_label'])} test images)",
          file=sys.stderr)
    return res


def gpu_kernel_names():
    """The ops the built CUDA backend has kernels for (canonical names), read from libaxle_cuda.so
    without a GPU; None when this Axle was built without it."""
    import ctypes
    from . import _axle_cffi
    path = os.path.join(os.path.dirname(_axle_cffi.__file__), "libaxle_cuda.so")
    if not os.path.isfile(path):
        return None
    fn = ctypes.CDLL(path).axle_cuda_kernel_names
    fn.restype = ctypes.c_char_p
    return set(fn().decode().split())


def gpu_kernel_dtypes():
    """The dtypes the built CUDA backend's kernels are built for, read from libaxle_cuda.so without a
    GPU: {"arithmetic": {...}, "floating": {...}} (the arithmetic kernels, and the floating point
    ones such as Convolution, whose float16 runs through float32); None without the backend."""
    import ctypes
    from . import _axle_cffi
    path = os.path.join(os.path.dirname(_axle_cffi.__file__), "libaxle_cuda.so")
    if not os.path.isfile(path):
        return None
    fn = ctypes.CDLL(path).axle_cuda_dtypes
    fn.restype = ctypes.c_char_p
    return {kind: set(names) for kind, *names in (line.split() for line in fn().decode().splitlines())}


def ops_without_gpu_kernel():
    """Registry ops (canonical names) the CUDA backend has no kernel for; None without the backend."""
    from .ndarray._op import OpInfo, list_ops
    have = gpu_kernel_names()
    if have is None:
        return None
    return sorted({OpInfo(n).name for n in list_ops()} - have)
