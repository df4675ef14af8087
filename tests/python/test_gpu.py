"""The CUDA backend: every registry op has a GPU kernel (checked without a GPU too) and passes its
conformance cases on the GPU; op cases against the CPU result (forward, and the gradients through
the registered gradient definitions); copies across devices, the GPU pool, errors at the wait
point and engine ordering across CPU and GPU.

Everything but the no-GPU checks is skipped when axle.context.num_gpus() == 0 (CI has no GPU;
tests/gpu/device_check.sh runs this file on a lent GPU machine).
"""
import os

import numpy as np
import pytest

import axle as mx
import test_conformance as conf  # the shared conformance cases and their runner (tests/python)
from axle._lib import AxleMemoryError, NotSupportedError
from axle.ndarray._op import OpInfo, list_ops
from axle.test_utils import gpu_kernel_dtypes, op_gradient, ops_without_gpu_kernel

NGPU = mx.context.num_gpus()
gpu_only = pytest.mark.skipif(NGPU == 0, reason="no GPU (axle.context.num_gpus() == 0)")

# GPU vs CPU: the same kernels' math in another order (reductions, GEMM blocking), so float32
# agrees to about 1e-5 relative; float64 much tighter.
# float16: both compute in float32 and round once per op to float16, so they agree to a unit or two
# in float16's last place (eps 2**-10 ~ 1e-3) after the few roundings of a gradient.
TOL = {"float32": dict(rtol=1e-4, atol=1e-5), "float64": dict(rtol=1e-10, atol=1e-12),
       "float16": dict(rtol=4e-3, atol=4e-3)}


def test_no_gpu_gives_a_clear_error():
    if NGPU:
        pytest.skip("a GPU is present")
    assert mx.context.num_gpus() == 0
    with pytest.raises(NotSupportedError, match=r"gpu\(0\) is not available"):
        mx.nd.zeros((2,), ctx=mx.gpu(0))


def test_cpu_copies_still_work_without_gpu():
    a = mx.nd.array(np.arange(6.0).reshape(2, 3))
    b = mx.nd.zeros((2, 3))
    a.copyto(b)
    np.testing.assert_array_equal(b.asnumpy(), a.asnumpy())


# ---- the op table: (op, inputs, attrs, grad) -----------------------------------------------
# An input is (shape, kind): "r" uniform [-2, 2], "p" positive [0.5, 2], "l<n>" class labels < n.
def _inputs(spec, dtype, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for shape, kind in spec:
        if kind == "r":
            out.append(rng.uniform(-2, 2, size=shape))
        elif kind == "p":
            out.append(rng.uniform(0.5, 2, size=shape))
        else:
            out.append(rng.integers(0, int(kind[1:]), size=shape).astype(np.float64))
    return [x.astype(dtype) for x in out]


R23, R3, R13 = ((2, 3), "r"), ((3,), "r"), ((1, 3), "r")
CASES = [
    ("broadcast_add", [R23, R13], {}, True),
    ("broadcast_sub", [R23, R23], {}, True),
    ("broadcast_mul", [R23, R3], {}, True),
    ("broadcast_div", [R23, ((2, 3), "p")], {}, True),
    ("broadcast_power", [((2, 3), "p"), R23], {}, True),
    ("broadcast_maximum", [R23, R13], {}, True),
    ("broadcast_minimum", [R23, R23], {}, True),
    ("broadcast_mod", [R23, ((2, 3), "p")], {}, False),
    ("broadcast_greater", [R23, R13], {}, False),
    ("broadcast_equal", [R23, R23], {}, False),
    ("elemwise_add", [R23, R23], {}, True),
    ("elemwise_mul", [R23, R23], {}, True),
    ("elemwise_div", [R23, ((2, 3), "p")], {}, True),
    ("_plus_scalar", [R23], {"scalar": 1.5}, True),
    ("_rminus_scalar", [R23], {"scalar": 1.5}, True),
    ("_mul_scalar", [R23], {"scalar": -3.0}, True),
    ("_rdiv_scalar", [((2, 3), "p")], {"scalar": 2.0}, True),
    ("_power_scalar", [((2, 3), "p")], {"scalar": 3.0}, True),
    ("_maximum_scalar", [R23], {"scalar": 0.5}, True),
    ("_greater_scalar", [R23], {"scalar": 0.0}, False),
    ("negative", [R23], {}, True),
    ("abs", [R23], {}, True),
    ("square", [R23], {}, True),
    ("exp", [R23], {}, True),
    ("log", [((2, 3), "p")], {}, True),
    ("sqrt", [((2, 3), "p")], {}, True),
    ("rsqrt", [((2, 3), "p")], {}, True),
    ("reciprocal", [((2, 3), "p")], {}, True),
    ("sin", [R23], {}, True),
    ("cos", [R23], {}, True),
    ("tanh", [R23], {}, True),
    ("sigmoid", [R23], {}, True),
    ("relu", [R23], {}, True),
    ("softsign", [R23], {}, True),
    ("floor", [R23], {}, False),
    ("round", [R23], {}, False),
    ("_copy", [R23], {}, True),
    ("Reshape", [((2, 3, 4), "r")], {"shape": (6, -1)}, True),
    ("Flatten", [((2, 3, 4), "r")], {}, True),
    ("expand_dims", [R23], {"axis": 1}, True),
    ("dot", [((4, 5), "r"), ((5, 3), "r")], {}, True),
    ("dot", [((5, 4), "r"), ((5, 3), "r")], {"transpose_a": True}, True),
    ("dot", [((4, 5), "r"), ((3, 5), "r")], {"transpose_b": True}, True),
    ("batch_dot", [((2, 4, 5), "r"), ((2, 5, 3), "r")], {}, True),
    ("FullyConnected", [((4, 5), "r"), ((3, 5), "r"), ((3,), "r")], {"num_hidden": 3}, True),
    ("FullyConnected", [((4, 2, 3), "r"), ((7, 6), "r")], {"num_hidden": 7, "no_bias": True}, True),
    ("FullyConnected", [((70, 130), "r"), ((40, 130), "r"), ((40,), "r")], {"num_hidden": 40}, True),
    ("Activation", [R23], {"act_type": "relu"}, True),
    ("Activation", [R23], {"act_type": "sigmoid"}, True),
    ("Activation", [R23], {"act_type": "tanh"}, True),
    ("Activation", [R23], {"act_type": "softrelu"}, True),
    ("softmax", [((4, 7), "r")], {}, True),
    ("softmax", [((3, 4, 5), "r")], {"axis": 1}, True),
    ("softmax", [((2, 300), "r")], {"temperature": 2.0}, True),
    ("log_softmax", [((4, 7), "r")], {}, True),
    ("sum", [((2, 3, 4), "r")], {"axis": 1}, True),
    ("sum", [((2, 3, 4), "r")], {}, True),
    ("mean", [((2, 3, 4), "r")], {"axis": (0, 2), "keepdims": True}, True),
    ("max", [((2, 3, 4), "r")], {"axis": 2}, False),
    ("min", [((2, 3, 4), "r")], {"axis": 1, "exclude": True}, False),
    ("broadcast_to", [((1, 3), "r")], {"shape": (4, 3)}, True),
    ("broadcast_like", [((3, 1), "r"), ((3, 4), "r")], {}, False),
    ("transpose", [((2, 3, 4), "r")], {}, True),
    ("transpose", [((2, 3, 4), "r")], {"axes": (1, 0, 2)}, True),
    ("slice", [((4, 5), "r")], {"begin": (1, None), "end": (3, None)}, True),
    ("slice", [((4, 5, 2), "r")], {"begin": (None, 4), "end": (None, 0), "step": (2, -2)}, True),
    ("Concat", [((2, 3), "r"), ((2, 5), "r")], {"dim": 1, "num_args": 2}, True),
    ("Concat", [((2, 3), "r"), ((1, 3), "r"), ((4, 3), "r")], {"dim": 0, "num_args": 3}, True),
    ("Convolution", [((2, 3, 7, 6), "r"), ((4, 3, 3, 3), "r"), ((4,), "r")], {"kernel": (3, 3), "num_filter": 4}, True),
    ("Convolution", [((2, 4, 9, 8), "r"), ((6, 2, 3, 2), "r")],
     {"kernel": (3, 2), "num_filter": 6, "num_group": 2, "stride": (2, 1), "pad": (1, 1), "dilate": (1, 2),
      "no_bias": True}, True),
    ("Convolution", [((2, 3, 10), "r"), ((4, 3, 3), "r"), ((4,), "r")], {"kernel": (3,), "num_filter": 4,
                                                                         "pad": (1,)}, True),
    ("Pooling", [((2, 3, 6, 6), "r")], {"kernel": (2, 2), "stride": (2, 2), "pool_type": "max"}, True),
    ("Pooling", [((2, 3, 7, 7), "r")], {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1), "pool_type": "avg"}, True),
    ("Pooling", [((2, 3, 7, 7), "r")], {"kernel": (3, 3), "stride": (2, 2), "pool_type": "avg",
                                        "pooling_convention": "full", "count_include_pad": False}, True),
    ("Pooling", [((2, 3, 5, 4), "r")], {"global_pool": True, "pool_type": "avg"}, True),
    ("add_n", [R23, R23, R23], {"num_args": 3}, True),
    ("add_n", [R23] * 10, {}, False),
    ("clip", [R23], {"a_min": -1.0, "a_max": 0.5}, True),
    ("Embedding", [((2, 3), "l10"), ((10, 4), "r")], {"input_dim": 10, "output_dim": 4}, True),
    ("BatchNorm", [((4, 3, 5), "r"), R3, R3, R3, ((3,), "p")], {"fix_gamma": False}, True),
    ("BatchNorm", [((4, 6), "r"), ((6,), "r"), ((6,), "r"), ((6,), "r"), ((6,), "p")], {}, True),
    ("Dropout", [R23], {"p": 0.0}, True),
    ("SoftmaxOutput", [((4, 5), "r"), ((4,), "l5")], {}, False),
    ("SoftmaxOutput", [((4, 5), "r"), ((4,), "l5")], {"normalization": "valid", "use_ignore": True,
                                                       "ignore_label": 1}, False),
    ("LeakyReLU", [R23], {"act_type": "leaky", "slope": 0.1}, True),
    ("LeakyReLU", [R23], {"act_type": "elu", "slope": 0.3}, True),
    ("LeakyReLU", [R23], {"act_type": "selu"}, True),
    ("LeakyReLU", [R23], {"act_type": "gelu"}, True),
    ("LeakyReLU", [((2, 3, 4), "r"), ((3,), "p")], {"act_type": "prelu"}, True),
    ("LeakyReLU", [((4, 3), "r"), ((1,), "p")], {"act_type": "prelu"}, True),
    ("LayerNorm", [((2, 3, 5), "r"), ((5,), "p"), ((5,), "r")], {}, True),
    ("LayerNorm", [((2, 3, 5), "r"), ((3,), "p"), ((3,), "r")], {"axis": 1, "eps": 1e-3}, True),
    ("Deconvolution", [((2, 3, 4, 5), "r"), ((3, 4, 3, 3), "r"), ((4,), "r")],
     {"kernel": (3, 3), "num_filter": 4, "no_bias": False}, True),
    ("Deconvolution", [((2, 4, 5, 4), "r"), ((4, 3, 3, 2), "r")],
     {"kernel": (3, 2), "num_filter": 6, "num_group": 2, "stride": (2, 1), "pad": (1, 0), "adj": (1, 0),
      "no_bias": True}, True),
    ("Deconvolution", [((2, 3, 7), "r"), ((3, 2, 3), "r"), ((2,), "r")],
     {"kernel": (3,), "num_filter": 2, "stride": (2,), "dilate": (2,), "no_bias": False}, True),
    ("Deconvolution", [((1, 2, 3, 3), "r"), ((2, 2, 4, 4), "r")],
     {"kernel": (4, 4), "num_filter": 2, "stride": (2, 2), "target_shape": (6, 6), "no_bias": True}, True),
    ("UpSampling", [((2, 3, 4, 5), "r")], {"scale": 2, "sample_type": "nearest", "num_args": 1}, True),
    ("UpSampling", [((2, 3, 4, 4), "r"), ((2, 2, 2, 2), "r")], {"scale": 2, "sample_type": "nearest", "num_args": 2},
     True),
    ("UpSampling", [((2, 3, 4, 4), "r"), ((2, 3, 2, 2), "r")],
     {"scale": 2, "sample_type": "nearest", "num_args": 2, "multi_input_mode": "sum"}, True),
    ("UpSampling", [((2, 3, 4, 5), "r"), ((3, 1, 4, 4), "r")],
     {"scale": 2, "sample_type": "bilinear", "num_args": 2, "num_filter": 3}, True),
    ("SoftmaxActivation", [((3, 5), "r")], {}, True),
    ("SoftmaxActivation", [((2, 4, 3, 2), "r")], {"mode": "channel"}, True),
    ("LinearRegressionOutput", [((4, 3), "r"), ((4, 3), "r")], {"grad_scale": 2.0}, True),
    ("LogisticRegressionOutput", [((4, 1), "r"), ((4,), "l2")], {}, True),
    ("MAERegressionOutput", [((4, 3), "r"), ((4, 3), "r")], {}, True),
    ("MakeLoss", [R23], {"grad_scale": 0.5, "normalization": "batch"}, True),
    ("MakeLoss", [R23], {"normalization": "valid", "valid_thresh": 0.1}, True),
    ("prod", [((2, 3, 4), "p")], {"axis": 1}, True),
    ("prod", [((2, 3, 4), "r")], {}, True),
    ("nansum", [((2, 3, 4), "r")], {"axis": (0, 2)}, True),
    ("nanprod", [((2, 3, 4), "p")], {"axis": 2, "keepdims": True}, True),
    ("norm", [((2, 3, 4), "r")], {}, True),
    ("norm", [((2, 3, 4), "r")], {"ord": 1, "axis": 1}, True),
    ("norm", [((2, 3, 4), "r")], {"axis": (0, 2), "keepdims": True}, True),
    ("argmax", [((3, 4, 5), "r")], {"axis": 1}, False),
    ("argmax", [((3, 400), "r")], {}, False),
    ("argmin", [((3, 4, 5), "r")], {"axis": -1, "keepdims": True}, False),
    ("take", [((5, 3), "r"), ((2, 4), "l5")], {}, True),
    ("take", [((3, 5, 2), "r"), ((4,), "l9")], {"axis": 1, "mode": "wrap"}, True),
    ("take", [((5, 3), "r"), ((4,), "l5")], {"mode": "raise"}, True),
    ("pick", [((4, 5), "r"), ((4,), "l5")], {}, True),
    ("pick", [((3, 4, 2), "r"), ((3, 1, 2), "l4")], {"axis": 1, "keepdims": True}, True),
    ("one_hot", [((2, 3), "l5")], {"depth": 5}, False),
    ("one_hot", [((4,), "l7")], {"depth": 5, "on_value": 2.0, "off_value": -1.0, "dtype": "int32"}, False),
    ("where", [((2, 3), "l2"), R23, R23], {}, True),
    ("where", [((2,), "l2"), R23, R23], {}, True),
    ("tile", [R23], {"reps": (2, 1, 3)}, True),
    ("repeat", [R23], {"repeats": 3, "axis": 1}, True),
    ("repeat", [R23], {"repeats": 2}, True),
    ("stack", [R23, R23, R23], {"axis": 1, "num_args": 3}, True),
    ("SliceChannel", [((2, 6, 2), "r")], {"num_outputs": 3, "axis": 1}, True),
    ("SliceChannel", [((2, 3), "r")], {"num_outputs": 3, "axis": 1, "squeeze_axis": True}, True),
    ("slice_axis", [((4, 5), "r")], {"axis": 1, "begin": 1, "end": -1}, True),
    ("_cast_like", [R23, R23], {}, False),
]


def _call(op, arrays, attrs):
    out = getattr(mx.nd, op)(*arrays, **attrs)
    return out if isinstance(out, list) else [out]


def _case_id(c):
    return c[0] + ("-" + "-".join(f"{k}={v}" for k, v in c[2].items()) if c[2] else "")


@gpu_only
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_op_on_gpu_matches_cpu(case, dtype):
    op, spec, attrs, has_grad = case
    if op == "BatchNorm" and dtype == "float16":
        pytest.skip("BatchNorm takes float32 parameters with float16 data; the table gives one dtype per case")
    xs = _inputs(spec, dtype)
    cpu = _call(op, [mx.nd.array(x, dtype=dtype) for x in xs], attrs)
    gpu = _call(op, [mx.nd.array(x, dtype=dtype, ctx=mx.gpu(0)) for x in xs], attrs)
    for c, g in zip(cpu, gpu):
        assert g.context == mx.gpu(0)
        np.testing.assert_allclose(g.asnumpy(), c.asnumpy(), **TOL[dtype])
    if not has_grad:
        return
    rng = np.random.default_rng(1)
    ograds = [rng.uniform(-1, 1, size=c.shape).astype(dtype) for c in cpu]
    gc = op_gradient(op, [mx.nd.array(x, dtype=dtype) for x in xs], [mx.nd.array(o, dtype=dtype) for o in ograds], **attrs)
    gg = op_gradient(op, [mx.nd.array(x, dtype=dtype, ctx=mx.gpu(0)) for x in xs],
                     [mx.nd.array(o, dtype=dtype, ctx=mx.gpu(0)) for o in ograds], **attrs)
    for c, g in zip(gc, gg):
        np.testing.assert_allclose(g.asnumpy(), c.asnumpy(), **TOL[dtype])


INT_DTYPES = ("int32", "int64", "int8", "uint8", "bool")


@gpu_only
@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_op_on_gpu_matches_cpu_in_integer_dtypes(case, dtype):
    """Every table case the CPU runs in an integer dtype or bool runs on the GPU too, with the CPU's
    result (forward; small integers from the table's ranges). Elements whose float64 value is not
    finite or outside the dtype's range (log(0), 1/0 stored as an integer: an undefined conversion
    in C++ and CUDA alike) are left out of the comparison."""
    op, spec, attrs, _ = case
    xs = _inputs(spec, dtype)
    try:
        cpu = [c.asnumpy() for c in _call(op, [mx.nd.array(x, dtype=dtype) for x in xs], attrs)]
    except mx.base.AxleError as e:
        pytest.skip(f"the CPU does not run {op} in {dtype}: {e}")
    ref = [r.asnumpy() for r in _call(op, [mx.nd.array(x, dtype="float64") for x in xs], attrs)]
    lo, hi = (0, 1) if dtype == "bool" else (np.iinfo(dtype).min, np.iinfo(dtype).max)
    gpu = _call(op, [mx.nd.array(x, dtype=dtype, ctx=mx.gpu(0)) for x in xs], attrs)
    for c, g, r in zip(cpu, gpu, ref):
        assert g.context == mx.gpu(0) and g.dtype == c.dtype
        defined = np.isfinite(r) & (r >= lo) & (r <= hi) if r.shape == c.shape else np.ones(c.shape, bool)
        np.testing.assert_array_equal(g.asnumpy()[defined], c[defined])


# ---- every op of the registry (ggml's test-backend-ops in spirit) -------------------------------
def test_every_registry_op_has_a_gpu_kernel():
    """Runs without a GPU: the built libaxle_cuda.so must have a kernel for every registry op."""
    missing = ops_without_gpu_kernel()
    if missing is None:
        pytest.skip("this Axle was built without the CUDA backend")
    assert missing == [], f"registry ops without a GPU kernel: {missing}"


REGISTRY_OPS = sorted({OpInfo(n).name for n in list_ops()})
# the dtypes every GPU arithmetic kernel is built for (the floating point ones: float16/32/64)
GPU_DTYPES = ("float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool")


def test_gpu_kernels_are_built_for_every_cpu_dtype():
    """Runs without a GPU: the dtype switches of the built libaxle_cuda.so accept what GPU_DTYPES
    states, and the floating point kernels take float16 (through float32) as the CPU's do."""
    dtypes = gpu_kernel_dtypes()
    if dtypes is None:
        pytest.skip("this Axle was built without the CUDA backend")
    assert dtypes["arithmetic"] == set(GPU_DTYPES)
    assert dtypes["floating"] == {"float16", "float32", "float64"}


def _cases_by_op():
    """canonical op -> the conformance cases exercising it (a _backward_X op: X's gradient cases)."""
    by_op = {}
    for name, (grad, ops) in conf.case_ops_by_name().items():
        for op in ops:
            by_op.setdefault(op, []).append(name)
            if grad:
                by_op.setdefault("_backward_" + op.lower(), []).append(name)
    lower = {op.lower(): op for op in REGISTRY_OPS}
    return {lower.get(k, k): v for k, v in by_op.items()}


def _case_dtypes(name):
    """The dtypes of a case's arrays and of its outputs."""
    data = mx.nd.load(os.path.join(conf.CASES, name, "data.params"))
    out = conf.Case(name).one("out_dtype") or ""
    return {np.dtype(a.dtype).name for a in (data.values() if isinstance(data, dict) else data)} | set(out.split())


@gpu_only
@pytest.mark.parametrize("op", REGISTRY_OPS)
def test_registry_op_on_gpu(op):
    """Every registry op on gpu(0): the shared conformance cases using it (tests/conformance), bound on the
    GPU, must give the cases' expected numpy-float64 results (forward, gradients with every grad_req,
    aux states). A missing kernel fails here; only cases with dtypes outside GPU_DTYPES may fail with
    "no GPU kernel for dtype" (none now: a float-only GPU op given an integer case the CPU takes fails)."""
    names = [n for n in _cases_by_op().get(op, []) if conf._skip_reason(n) is None]
    assert names, f"{op} has no conformance case to run on the GPU"
    failures, unsupported = [], []
    for name in names:
        try:
            conf.run_case(conf.Case(name), ctx=mx.gpu(0))
        except NotSupportedError as e:
            if "no GPU kernel for" in str(e) and not _case_dtypes(name) <= set(GPU_DTYPES):
                unsupported.append(name)
            else:
                failures.append(f"{name}: {e}")
        except (conf.CaseFailure, mx.base.AxleError) as e:
            failures.append(f"{name}: {type(e).__name__}: {e}")
        finally:
            try:
                mx.nd.waitall()
            except mx.base.AxleError:
                pass
    assert not failures, "\n".join(failures)
    if len(unsupported) == len(names):
        pytest.skip(f"only cases with dtypes without GPU kernels: {unsupported}")


@gpu_only
def test_no_input_ops_on_gpu():
    for kw in [dict(start=2, stop=11, step=1.5, repeat=2), dict(start=5), dict(start=0, stop=7, dtype="int32")]:
        c, g = mx.nd.arange(ctx=mx.cpu(), **kw), mx.nd.arange(ctx=mx.gpu(0), **kw)
        assert g.dtype == c.dtype and g.context == mx.gpu(0)
        np.testing.assert_array_equal(g.asnumpy(), c.asnumpy())
    mx.random.seed(3)
    r = mx.nd.random.randint(-5, 9, shape=(20000,), ctx=mx.gpu(0)).asnumpy()
    assert r.dtype == np.int32 and r.min() == -5 and r.max() == 8 and abs(r.mean() - 1.5) < 0.1
    mx.random.seed(3)
    np.testing.assert_array_equal(mx.nd.random.randint(-5, 9, shape=(20000,), ctx=mx.gpu(0)).asnumpy(), r)
    x = np.arange(40, dtype=np.float32).reshape(10, 4)
    g = mx.nd.array(x, ctx=mx.gpu(0))
    s = mx.nd.shuffle(g).asnumpy()
    assert not np.array_equal(s, x) and np.array_equal(np.sort(s, axis=0), x)
    assert (s[:, 1:] - s[:, :1] == np.arange(1, 4)).all()  # rows move whole
    mx.nd.shuffle(g, out=g)  # in place reads a copy
    assert np.array_equal(np.sort(g.asnumpy(), axis=0), x)


@gpu_only
@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_integer_scalar_promotion_on_gpu_matches_cpu(dtype):
    x = np.array([[-3, -1, 0], [2, 5, 7]], dtype=dtype)
    for op, attrs in [("_plus_scalar", {"scalar": 0.5, "is_int": False}),
                      ("_div_scalar", {"scalar": 2.0, "is_int": False}),
                      ("_rdiv_scalar", {"scalar": 3.0, "is_int": False}), ("_mul_scalar", {"scalar": 2.0}),
                      ("_div_scalar", {"scalar": 2.0}), ("_power_scalar", {"scalar": 0.5, "is_int": False})]:
        c = getattr(mx.nd, op)(mx.nd.array(x, dtype=dtype), **attrs)
        g = getattr(mx.nd, op)(mx.nd.array(x, dtype=dtype, ctx=mx.gpu(0)), **attrs)
        assert g.dtype == c.dtype, op
        np.testing.assert_array_equal(g.asnumpy(), c.asnumpy(), err_msg=op)
    for op in ("sum", "mean", "prod", "max", "argmax"):
        c, g = getattr(mx.nd, op)(mx.nd.array(x, dtype=dtype), axis=1), getattr(mx.nd, op)(
            mx.nd.array(x, dtype=dtype, ctx=mx.gpu(0)), axis=1)
        assert g.dtype == c.dtype, op
        np.testing.assert_array_equal(g.asnumpy(), c.asnumpy(), err_msg=op)


@gpu_only
def test_data_movement_ops_take_any_dtype_on_gpu():
    x = np.arange(24, dtype=np.uint8).reshape(4, 6)
    c, g = mx.nd.array(x, dtype="uint8"), mx.nd.array(x, dtype="uint8", ctx=mx.gpu(0))
    for op, args, attrs in [("take", [mx.nd.array([3, 0, 2])], {}), ("tile", [], {"reps": (2, 1)}),
                            ("repeat", [], {"repeats": 2, "axis": 0}), ("slice_axis", [], {"axis": 1, "begin": 2,
                                                                                              "end": 5})]:
        rc = getattr(mx.nd, op)(c, *args, **attrs)
        rg = getattr(mx.nd, op)(g, *[a.as_in_context(mx.gpu(0)) for a in args], **attrs)
        assert rg.dtype == np.uint8
        np.testing.assert_array_equal(rg.asnumpy(), rc.asnumpy(), err_msg=op)


@gpu_only
@pytest.mark.parametrize("op,extra", [("sgd_update", 0), ("sgd_mom_update", 1), ("adam_update", 2),
                                      ("nag_mom_update", 1), ("rmsprop_update", 1)])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_optimizer_update_on_gpu_matches_cpu(op, extra, dtype):
    """The weight and the states (updated in place; float16 ones through float32 on both devices)."""
    xs = _inputs([((5, 4), "r")] * 2 + [((5, 4), "p")] * extra, dtype)
    attrs = {"lr": 0.1, "wd": 0.01}
    if op in ("sgd_mom_update", "nag_mom_update"):
        attrs["momentum"] = 0.9
    res = []
    for ctx in (mx.cpu(), mx.gpu(0)):
        arrs = [mx.nd.array(x, dtype=dtype, ctx=ctx) for x in xs]
        getattr(mx.nd, op)(*arrs, out=arrs[0], **attrs)
        res.append([a.asnumpy() for a in arrs])
    for i, (x, c, g) in enumerate(zip(xs, *res)):
        assert g.dtype == np.dtype(dtype)
        assert i == 1 or not np.array_equal(g, x), f"input {i} was not updated on the GPU"  # (1: the gradient)
        np.testing.assert_allclose(g.astype(np.float64), c.astype(np.float64),
                                   **(TOL["float16"] if dtype == "float16" else dict(rtol=1e-5, atol=1e-6)))


@gpu_only
def test_fill_and_random_ops():
    z = mx.nd.zeros((3, 4), ctx=mx.gpu(0))
    o = mx.nd.ones((3, 4), ctx=mx.gpu(0), dtype="int32")
    f = mx.nd.full((2, 2), 7.5, ctx=mx.gpu(0))
    np.testing.assert_array_equal(z.asnumpy(), np.zeros((3, 4)))
    np.testing.assert_array_equal(o.asnumpy(), np.ones((3, 4), dtype=np.int32))
    np.testing.assert_array_equal(f.asnumpy(), np.full((2, 2), 7.5))
    mx.random.seed(7)
    u = mx.nd.random.uniform(-1, 3, shape=(200000,), ctx=mx.gpu(0)).asnumpy()
    n = mx.nd.random.normal(2, 0.5, shape=(200000,), ctx=mx.gpu(0)).asnumpy()
    assert u.min() >= -1 and u.max() < 3 and abs(u.mean() - 1) < 0.02
    assert abs(n.mean() - 2) < 0.01 and abs(n.std() - 0.5) < 0.01
    mx.random.seed(7)
    u2 = mx.nd.random.uniform(-1, 3, shape=(200000,), ctx=mx.gpu(0)).asnumpy()
    np.testing.assert_array_equal(u, u2)


@gpu_only
def test_dropout_on_gpu():
    x = mx.nd.ones((200, 300), ctx=mx.gpu(0))
    y, mask = mx.nd.Dropout(x, p=0.25, mode="always", out=[mx.nd.empty((200, 300), ctx=mx.gpu(0)),
                                                           mx.nd.empty((200, 300), ctx=mx.gpu(0))])
    m = mask.asnumpy()
    assert set(np.unique(m)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((m == 0).mean() - 0.25) < 0.01
    np.testing.assert_array_equal(y.asnumpy(), m)
    _, mask2 = mx.nd.Dropout(x, p=0.5, mode="always", axes=(0,), out=[mx.nd.empty((200, 300), ctx=mx.gpu(0)),
                                                                      mx.nd.empty((200, 300), ctx=mx.gpu(0))])
    m2 = mask2.asnumpy()
    assert (m2 == m2[:1]).all()  # one draw per column, shared along axis 0


# ---- copies ------------------------------------------------------------------------------------
@gpu_only
def test_copies_between_cpu_and_gpu():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    a = mx.nd.array(x)
    g = a.as_in_context(mx.gpu(0))
    assert g.context == mx.gpu(0)
    np.testing.assert_array_equal(g.asnumpy(), x)
    back = g.copyto(mx.cpu())
    np.testing.assert_array_equal(back.asnumpy(), x)
    dst = mx.nd.zeros((2, 3, 4), ctx=mx.gpu(0))
    a.copyto(dst)
    np.testing.assert_array_equal(dst.asnumpy(), x)
    g2 = g.copyto(mx.gpu(NGPU - 1))  # another GPU when there is one
    np.testing.assert_array_equal(g2.asnumpy(), x)
    d64 = mx.nd.zeros((2, 3, 4), ctx=mx.gpu(0), dtype="float64")
    a.copyto(d64)
    np.testing.assert_array_equal(d64.asnumpy(), x.astype(np.float64))
    np.testing.assert_array_equal(g[1].asnumpy(), x[1])  # a view's copy


@gpu_only
def test_indexing_on_gpu():
    x = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    g = mx.nd.array(x, ctx=mx.gpu(0))
    np.testing.assert_array_equal(g[1:3, ::2, 1].asnumpy(), x[1:3, ::2, 1])
    g[0, 1:3] = 7.0
    g[2, :, 4] = mx.nd.array(np.full((4,), -1.0, np.float32), ctx=mx.gpu(0))
    x[0, 1:3] = 7.0
    x[2, :, 4] = -1.0
    np.testing.assert_array_equal(g.asnumpy(), x)


@gpu_only
def test_engine_orders_work_across_cpu_and_gpu():
    # no waits inside the loop: only the engine's dependencies keep the result right
    x = np.random.default_rng(0).uniform(-1, 1, size=(64, 64)).astype(np.float32)
    c = mx.nd.array(x)
    ref = x.copy()
    for i in range(30):
        g = c.as_in_context(mx.gpu(0))
        g = g * 1.01 + 0.5
        c2 = g.as_in_context(mx.cpu())
        c = c2 - 0.25
        ref = (ref * np.float32(1.01) + np.float32(0.5)) - np.float32(0.25)
    np.testing.assert_allclose(c.asnumpy(), ref, rtol=1e-5)


@gpu_only
def test_async_gpu_work_reuses_memory_in_stream_order():
    # GPU ops do not wait for their kernels: temporaries are freed while kernels and the copy
    # stream may still use them, and the pool hands the blocks out again at once; the events the
    # new arrays inherit must keep every result right (tests/python/test_engine_devices.py runs
    # the same rules on the fake GPU with delays)
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, size=(256, 256)).astype(np.float32)
    g = mx.nd.array(x, ctx=mx.gpu(0))
    outs, refs, ref = [], [], x.astype(np.float64)
    for i in range(20):
        t = g * 1.5 + float(i)
        outs.append(t.as_in_context(mx.cpu()))  # D2H on the copy stream reads t
        refs.append(ref * 1.5 + i)
        del t
        g = mx.nd.full((256, 256), 0.0, ctx=mx.gpu(0)) + g * 0.5  # likely t's block
        ref = ref * 0.5
    for o, r in zip(outs, refs):
        np.testing.assert_allclose(o.asnumpy(), r, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(g.asnumpy(), ref, rtol=1e-5, atol=1e-6)
    mx.nd.waitall()


@gpu_only
def test_gpu_ops_are_pushed_without_waiting_for_the_device():
    # a long chain of small kernels: pushing returns before the device is done, waitall finishes
    # it, and the result is right
    a = mx.nd.zeros((1 << 20,), ctx=mx.gpu(0))
    mx.nd.waitall()
    for _ in range(200):
        a += 1.0
    mx.nd.waitall()
    np.testing.assert_array_equal(a.asnumpy()[:4], [200.0] * 4)


# ---- pool and errors -------------------------------------------------------------------------
@gpu_only
def test_gpu_pool_stats_and_empty_cache():
    ctx = mx.gpu(0)
    mx.nd.waitall()
    mx.context.empty_cache(ctx)
    base = mx.context.memory_stats(ctx)
    a = mx.nd.zeros((1024, 1024), ctx=ctx)
    a.wait_to_read()
    s = mx.context.memory_stats(ctx)
    assert s["bytes_in_use"] >= base["bytes_in_use"] + 4 * 1024 * 1024
    del a
    mx.nd.waitall()
    s = mx.context.memory_stats(ctx)
    assert s["bytes_pooled"] >= 4 * 1024 * 1024
    b = mx.nd.zeros((1024, 1024), ctx=ctx)
    b.wait_to_read()
    assert mx.context.memory_stats(ctx)["pool_hits"] > s["pool_hits"]
    del b
    mx.nd.waitall()
    mx.context.empty_cache(ctx)
    assert mx.context.memory_stats(ctx)["bytes_pooled"] == 0


@gpu_only
def test_gpu_out_of_memory_is_a_clear_error():
    with pytest.raises(AxleMemoryError, match=r"out of memory.*gpu\(0\)"):
        mx.nd.zeros((1 << 40,), ctx=mx.gpu(0))  # 4 TiB
    a = mx.nd.ones((10,), ctx=mx.gpu(0))  # the device still works
    assert a.asnumpy().sum() == 10


@gpu_only
def test_kernel_errors_surface_at_the_wait_point():
    a = mx.nd.array(np.ones((3,), dtype=np.uint8), dtype="uint8", ctx=mx.gpu(0))
    b = a + a  # pushed: the missing uint8 kernel is found on the GPU worker
    with pytest.raises(NotSupportedError, match="broadcast_add|elemwise_add|_plus"):
        b.asnumpy()
    c = mx.nd.ones((3,), ctx=mx.gpu(0)) + 1  # later work is unaffected
    np.testing.assert_array_equal(c.asnumpy(), [2, 2, 2])


@gpu_only
def test_mlp_training_steps_match_cpu():
    rng = np.random.default_rng(0)
    shapes = [(64, 784), (64,), (10, 64), (10,)]
    params0 = [rng.normal(0, 0.05, size=s).astype(np.float32) for s in shapes]
    x = rng.uniform(0, 1, size=(32, 784)).astype(np.float32)
    y = rng.integers(0, 10, size=(32,)).astype(np.float32)
    results = []
    for ctx in (mx.cpu(), mx.gpu(0)):
        p = [mx.nd.array(v, ctx=ctx) for v in params0]
        xd, yd = mx.nd.array(x, ctx=ctx), mx.nd.array(y, ctx=ctx)
        for _ in range(3):
            h = mx.nd.FullyConnected(xd, p[0], p[1], num_hidden=64)
            a = mx.nd.Activation(h, act_type="relu")
            o = mx.nd.FullyConnected(a, p[2], p[3], num_hidden=10)
            s = mx.nd.SoftmaxOutput(o, yd)
            do = mx.nd._backward_SoftmaxOutput(mx.nd.ones_like(s), s, yd)
            da, dw2, db2 = mx.nd._backward_FullyConnected(do, a, p[2], p[3], num_hidden=10)
            dh = mx.nd._backward_Activation(da, h, a, act_type="relu")
            _, dw1, db1 = mx.nd._backward_FullyConnected(dh, xd, p[0], p[1], num_hidden=64)
            for w, g in zip(p, [dw1, db1, dw2, db2]):
                mx.nd.sgd_update(w, g, lr=0.1, out=w)
        results.append([w.asnumpy() for w in p])
    for c, g in zip(*results):
        np.testing.assert_allclose(g, c, rtol=1e-4, atol=1e-5)


# ---- interop -----------------------------------------------------------------------------------
@gpu_only
def test_dlpack_with_torch_on_gpu():
    torch = pytest.importorskip("torch")
    t = torch.arange(12, dtype=torch.float32, device="cuda").reshape(3, 4) * 2
    a = mx.nd.from_dlpack(t)  # zero copy, the producer's kernel finished first
    assert a.context == mx.gpu(0)
    np.testing.assert_array_equal(a.asnumpy(), np.arange(12, dtype=np.float32).reshape(3, 4) * 2)
    b = (a + 1) * 3
    tb = torch.from_dlpack(b)
    assert tb.is_cuda
    np.testing.assert_array_equal(tb.cpu().numpy(), (np.arange(12).reshape(3, 4) * 2 + 1) * 3)
    a[:] = 0  # shared memory: torch sees Axle's write
    mx.nd.waitall()
    assert float(t.abs().sum()) == 0.0


@gpu_only
def test_cuda_array_interface_with_cupy():
    cp = pytest.importorskip("cupy")
    a = mx.nd.array(np.arange(6, dtype=np.float32), ctx=mx.gpu(0)) * 2
    cai = a.__cuda_array_interface__
    assert cai["shape"] == (6,) and cai["typestr"] == "<f4" and cai["version"] == 3
    c = cp.asarray(a)
    np.testing.assert_array_equal(cp.asnumpy(c), np.arange(6) * 2)
    assert not hasattr(mx.nd.zeros((2,)), "__cuda_array_interface__")
    d = mx.nd.from_dlpack(cp.arange(5, dtype=cp.float64))
    np.testing.assert_array_equal(d.asnumpy(), np.arange(5.0))


# ---- executors and Module on the GPU -------------------------------------------------------------
def _lenet():
    data = mx.sym.Variable("data")
    c1 = mx.sym.Convolution(data, kernel=(5, 5), num_filter=8, name="c1")
    p1 = mx.sym.Pooling(mx.sym.Activation(c1, act_type="tanh"), pool_type="max", kernel=(2, 2), stride=(2, 2))
    c2 = mx.sym.Convolution(p1, kernel=(5, 5), num_filter=16, name="c2")
    p2 = mx.sym.Pooling(mx.sym.Activation(c2, act_type="tanh"), pool_type="max", kernel=(2, 2), stride=(2, 2))
    f1 = mx.sym.Activation(mx.sym.FullyConnected(mx.sym.Flatten(p2), num_hidden=32, name="f1"), act_type="tanh")
    return mx.sym.SoftmaxOutput(mx.sym.FullyConnected(f1, num_hidden=10, name="f2"), name="softmax")


def _mlp():
    data = mx.sym.Variable("data")
    a1 = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=128, name="l1"), act_type="relu")
    return mx.sym.SoftmaxOutput(mx.sym.FullyConnected(a1, num_hidden=10, name="l2"), name="softmax")


@gpu_only
@pytest.mark.parametrize("net,shape", [(_mlp, (16, 784)), (_lenet, (4, 1, 28, 28))], ids=["mlp", "lenet"])
def test_executor_training_steps_match_cpu(net, shape):
    """The seed's executor loop (forward, backward, W[:] = W - G * lr) on gpu(0) and cpu()."""
    sym = net()
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, size=shape).astype(np.float32)
    y = rng.integers(0, 10, size=(shape[0],)).astype(np.float32)
    params = None
    results = []
    for ctx in (mx.cpu(), mx.gpu(0)):
        ex = sym.simple_bind(ctx, data=shape, softmax_label=(shape[0],))
        if params is None:
            params = {n: rng.normal(0, 0.1, size=a.shape).astype(np.float32) for n, a in ex.arg_dict.items()
                      if n not in ("data", "softmax_label")}
        for n, v in params.items():
            ex.arg_dict[n][:] = v
        ex.arg_dict["data"][:] = x
        ex.arg_dict["softmax_label"][:] = y
        for _ in range(3):
            ex.forward(is_train=True)
            ex.backward()
            for n in params:
                w, g = ex.arg_dict[n], ex.grad_dict[n]
                w[:] = w - g * 0.01
        assert ex.outputs[0].context == ctx
        results.append({n: ex.arg_dict[n].asnumpy() for n in params})
    for n in params:
        np.testing.assert_allclose(results[1][n], results[0][n], rtol=1e-4, atol=1e-5, err_msg=n)


@gpu_only
def test_module_fit_on_gpu_learns_the_bundled_sample():
    mnist = mx.test_utils.get_mnist()
    train = mx.io.NDArrayIter(mnist["train_data"].reshape(-1, 784), mnist["train_label"], 100, shuffle=True)
    val = mx.io.NDArrayIter(mnist["test_data"].reshape(-1, 784), mnist["test_label"], 100)
    mod = mx.mod.Module(_mlp(), context=mx.gpu(0))
    mod.fit(train, eval_data=val, optimizer="sgd", optimizer_params={"learning_rate": 0.1}, num_epoch=5,
            initializer=mx.init.Xavier())
    assert mod.score(val, "acc")[0][1] > 0.85


@gpu_only
@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "int8"])
def test_cast_of_nan_inf_and_out_of_range_floats_on_gpu_matches_the_cpu(dtype):
    # static_cast of these is undefined in C++ and CUDA; both devices use fn::CastValue
    x = np.array([np.nan, np.inf, -np.inf, 3e10, -3e10, 1e30, -2.7, 2.7, 255.9, -128.5], np.float32)
    cpu = mx.nd.Cast(mx.nd.array(x), dtype=dtype).asnumpy()
    gpu = mx.nd.Cast(mx.nd.array(x, ctx=mx.gpu(0)), dtype=dtype).asnumpy()
    np.testing.assert_array_equal(gpu, cpu)


# ---- float16, 8-bit and bool arithmetic (issue 9) ----------------------------------------------
def test_gpu_float16_conversion_is_the_cpus_on_host(tmp_path):
    """Runs without a GPU (needs nvcc): cuda::Half rounds float32 to float16 exactly as the CPU's
    half_t (nearest even, overflow to inf, NaN as sign|0x7e00) over the rounding cases of every
    exponent; tests/gpu/half_host_check.cu runs its conversion on the host."""
    import shutil
    import subprocess
    nvcc = shutil.which("nvcc") or ("/usr/local/cuda/bin/nvcc" if os.path.exists("/usr/local/cuda/bin/nvcc") else None)
    if nvcc is None:
        pytest.skip("nvcc not found")
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    exe = str(tmp_path / "half_host_check")
    # (not under the sanitizer run's preloaded libasan: nvcc's own programs crash with it)
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS")}
    subprocess.run([nvcc, "-std=c++17", "--expt-relaxed-constexpr", "-I", os.path.join(root, "include"), "-I",
                    os.path.join(root, "capi"), os.path.join(root, "tests", "gpu", "half_host_check.cu"), "-o", exe],
                   check=True, capture_output=True, env=env)
    subprocess.run([exe, str(tmp_path)], check=True, env=env)
    f = np.fromfile(tmp_path / "in.f32", dtype=np.float32)
    got = np.fromfile(tmp_path / "out.u16", dtype=np.uint16)
    cpu = mx.nd.array(f, dtype="float32").astype("float16").asnumpy().view(np.uint16)
    np.testing.assert_array_equal(got, cpu)
    at = got[f == np.float32(65520)].view(np.float16)  # halfway to 65536: overflows to inf
    assert at.size > 0 and np.isposinf(at).all()


def _both(op, arrays, in_dtype, **attrs):
    """op on the CPU and on gpu(0) with in_dtype inputs: (cpu result, gpu result) as numpy arrays."""
    c = getattr(mx.nd, op)(*[mx.nd.array(a, dtype=in_dtype) for a in arrays], **attrs)
    g = getattr(mx.nd, op)(*[mx.nd.array(a, dtype=in_dtype, ctx=mx.gpu(0)) for a in arrays], **attrs)
    assert g.context == mx.gpu(0) and g.dtype == c.dtype, op
    return c.asnumpy(), g.asnumpy()


@gpu_only
def test_float16_elementwise_on_gpu_is_bit_exact_with_cpu_and_numpy():
    """+ - * / in float32 rounded once to float16 (nearest even) as numpy's float16 does; overflow
    gives inf, NaN propagates; the GPU equals the CPU bit for bit (NaN positions included)."""
    a = np.array([1.0, -2.5, 60000.0, np.nan, np.inf, 1e-7, 0.1, -0.0, 65504.0], dtype=np.float16)
    b = np.array([3.0, 0.1, 60000.0, 1.0, 1.0, 3e-8, 0.2, 5.0, 32.0], dtype=np.float16)
    with np.errstate(all="ignore"):
        want = {"broadcast_add": a + b, "broadcast_sub": a - b, "broadcast_mul": a * b, "broadcast_div": a / b,
                "broadcast_maximum": np.maximum(a, b), "broadcast_minimum": np.minimum(a, b)}
    for op, w in want.items():
        c, g = _both(op, [a, b], "float16")
        assert g.dtype == np.float16
        np.testing.assert_array_equal(g, w, err_msg=op)
        np.testing.assert_array_equal(g.view(np.uint16), c.view(np.uint16), err_msg=op)
    _, g = _both("broadcast_add", [a, b], "float16")
    assert np.isposinf(g[2]) and np.isnan(g[3]) and np.isposinf(g[4])  # 60000 + 60000 overflows
    _, g = _both("_mul_scalar", [a], "float16", scalar=2.0)
    assert np.isposinf(g[2]) and np.isnan(g[3])
    for op in ("exp", "sqrt", "sigmoid", "tanh", "square", "negative", "abs", "relu"):
        c, g = _both(op, [a], "float16")
        np.testing.assert_array_equal(g.view(np.uint16) if op in ("square", "negative", "abs", "relu") else np.isnan(g),
                                      c.view(np.uint16) if op in ("square", "negative", "abs", "relu") else np.isnan(c),
                                      err_msg=op)
        np.testing.assert_allclose(g.astype(np.float64), c.astype(np.float64), rtol=1e-3, atol=0, err_msg=op)
    _, g = _both("exp", [np.array([20.0, -30.0], dtype=np.float16)], "float16")
    assert np.isposinf(g[0]) and g[1] == 0
    for op in ("broadcast_greater", "broadcast_equal", "broadcast_lesser_equal"):
        c, g = _both(op, [a, b], "float16")
        np.testing.assert_array_equal(g, c, err_msg=op)


@gpu_only
def test_float16_reductions_and_gemm_on_gpu_accumulate_in_float():
    """float16 sums accumulate wider than float16 (a float16 running sum of 0.1s would stop growing);
    dot/FullyConnected take float16 in and out with float32 sums (cublasGemmEx or the tiled kernel)."""
    x = np.full((4, 4096), 0.1, dtype=np.float16)
    c, g = _both("sum", [x], "float16", axis=1)
    np.testing.assert_array_equal(g, np.float16(x.astype(np.float64).sum(axis=1)))
    np.testing.assert_array_equal(g, c)
    c, g = _both("sum", [np.array([np.nan, 1.0], dtype=np.float16)], "float16")
    assert np.isnan(g).all() and np.isnan(c).all()
    c, g = _both("max", [np.array([[1.0, np.nan, 3.0]], dtype=np.float16)], "float16", axis=1)
    assert np.isnan(g).all()
    c, g = _both("argmax", [np.array([[1.0, 7.0, 3.0], [9.0, 2.0, 9.0]], dtype=np.float16)], "float16", axis=1)
    np.testing.assert_array_equal(g, [1, 0])
    rng = np.random.default_rng(0)
    a, b = rng.uniform(-1, 1, (64, 300)).astype(np.float16), rng.uniform(-1, 1, (300, 48)).astype(np.float16)
    want = (a.astype(np.float64) @ b.astype(np.float64))
    c, g = _both("dot", [a, b], "float16")
    assert g.dtype == np.float16
    np.testing.assert_allclose(g.astype(np.float64), want, rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(g.astype(np.float64), c.astype(np.float64), rtol=2e-3, atol=2e-3)
    big = np.full((2, 4), 200.0, dtype=np.float16)  # 4 * 200 * 200 = 160000 > 65504: inf
    _, g = _both("dot", [big, big.T.copy()], "float16")
    assert np.isposinf(g).all()
    w, bias = rng.uniform(-1, 1, (48, 300)).astype(np.float16), rng.uniform(-1, 1, (48,)).astype(np.float16)
    c, g = _both("FullyConnected", [a, w, bias], "float16", num_hidden=48)
    np.testing.assert_allclose(g.astype(np.float64), a.astype(np.float64) @ w.astype(np.float64).T + bias,
                               rtol=2e-3, atol=2e-3)


@gpu_only
@pytest.mark.parametrize("dtype", ["int8", "uint8"])
def test_8bit_integer_arithmetic_on_gpu_wraps_as_cpu_and_numpy(dtype):
    info = np.iinfo(dtype)
    a = np.array([info.max, info.min, 100, 7, 0, 3], dtype=dtype)
    b = np.array([1, 1, 100, 2, 5, 250 if dtype == "uint8" else -128], dtype=dtype)
    with np.errstate(all="ignore"):
        want = {"broadcast_add": a + b, "broadcast_sub": a - b, "broadcast_mul": a * b,
                "broadcast_maximum": np.maximum(a, b), "broadcast_greater": (a > b).astype(dtype),
                "broadcast_equal": (a == b).astype(dtype)}
    for op, w in want.items():
        c, g = _both(op, [a, b], dtype)
        assert g.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(g, w, err_msg=op)
        np.testing.assert_array_equal(g, c, err_msg=op)
    for op, attrs in [("broadcast_div", {}), ("broadcast_mod", {})]:
        c, g = _both(op, [a, b], dtype, **attrs)
        np.testing.assert_array_equal(g, c, err_msg=op)
    for op, attrs in [("_plus_scalar", {"scalar": 100}), ("_mul_scalar", {"scalar": 3}), ("negative", {}),
                      ("abs", {}), ("sum", {}), ("sum", {"axis": 0}), ("max", {}), ("argmin", {"axis": 0}),
                      ("clip", {"a_min": 2, "a_max": 50})]:
        c, g = _both(op, [a], dtype, **attrs)
        np.testing.assert_array_equal(g, c, err_msg=op)
    img = np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10  # uint8 images to float on the GPU
    cf = mx.nd.Cast(mx.nd.array(img, dtype="uint8", ctx=mx.gpu(0)), dtype="float16")
    np.testing.assert_array_equal(cf.asnumpy(), img.astype(np.float16))
    x = mx.nd.array(np.array([300.7, -1.5, np.nan], dtype=np.float32), ctx=mx.gpu(0))
    np.testing.assert_array_equal(mx.nd.Cast(x, dtype=dtype).asnumpy(),
                                  mx.nd.Cast(x.as_in_context(mx.cpu()), dtype=dtype).asnumpy())


@gpu_only
def test_bool_arithmetic_on_gpu_matches_cpu_and_numpy():
    a = np.array([True, True, False, False])
    b = np.array([True, False, True, False])
    want = {"broadcast_logical_and": a & b, "broadcast_logical_or": a | b, "broadcast_logical_xor": a ^ b,
            "broadcast_equal": a == b, "broadcast_greater": a > b, "broadcast_add": a | b, "broadcast_mul": a & b,
            "broadcast_maximum": a | b, "broadcast_minimum": a & b}
    for op, w in want.items():
        c, g = _both(op, [a, b], "bool")
        assert g.dtype == np.bool_
        np.testing.assert_array_equal(g, w, err_msg=op)
        np.testing.assert_array_equal(g, c, err_msg=op)
    for op, attrs in [("sum", {}), ("max", {}), ("where", None), ("Cast", {"dtype": "float32"})]:
        if attrs is None:
            c = mx.nd.where(mx.nd.array(a, dtype="bool"), mx.nd.array(b, dtype="bool"), mx.nd.array(a, dtype="bool"))
            g = mx.nd.where(*[mx.nd.array(v, dtype="bool", ctx=mx.gpu(0)) for v in (a, b, a)])
            c, g = c.asnumpy(), g.asnumpy()
        else:
            c, g = _both(op, [a], "bool", **attrs)
        np.testing.assert_array_equal(g, c, err_msg=op)
    f = mx.nd.array(np.array([0.0, -0.5, np.nan, 2.0], dtype=np.float16), ctx=mx.gpu(0))
    np.testing.assert_array_equal(mx.nd.Cast(f, dtype="bool").asnumpy(), [False, True, True, True])


@gpu_only
def test_float16_network_ops_on_gpu_match_cpu():
    """Convolution, Pooling, BatchNorm, softmax and the optimizer run float16 through float32 on the
    GPU, as the CPU does (nn::RunAsFloat): the results agree to float16's rounding."""
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (2, 3, 8, 8)).astype(np.float16)
    w = rng.uniform(-1, 1, (4, 3, 3, 3)).astype(np.float16)
    for op, arrays, attrs in [("Convolution", [x, w], {"kernel": (3, 3), "num_filter": 4, "no_bias": True}),
                              ("Pooling", [x], {"kernel": (2, 2), "stride": (2, 2), "pool_type": "max"}),
                              ("softmax", [x], {"axis": 1}), ("Activation", [x], {"act_type": "sigmoid"}),
                              ("sgd_update", [x, (x * 0.5).astype(np.float16)], {"lr": 0.1})]:
        c, g = _both(op, arrays, "float16", **attrs)
        assert g.dtype == np.float16, op
        np.testing.assert_allclose(g.astype(np.float64), c.astype(np.float64), rtol=4e-3, atol=4e-3, err_msg=op)


# ---- split reductions, long softmax lanes, integer GEMM, float16 indices (issue 9) -------------
# Few outputs over many elements each run split over many blocks (partials, then a combining
# pass); these sizes are far above the split threshold (2 x 8192 elements per output).
def _big(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.uniform(-1, 1, size=shape).astype(dtype)
    return rng.integers(-1000, 1000, size=shape).astype(dtype)


REDUCTION_CASES = [("sum", {}), ("mean", {}), ("max", {}), ("min", {}), ("argmax", {}), ("argmin", {}),
                   ("norm", {}), ("norm", {"ord": 1}), ("nansum", {}), ("sum", {"axis": 1}),
                   ("sum", {"axis": 0}), ("mean", {"axis": (0, 2)}), ("max", {"axis": 1}),
                   ("argmax", {"axis": 1}), ("argmin", {"axis": 0}), ("norm", {"axis": 1}),
                   ("sum", {"axis": 1, "exclude": True})]


@gpu_only
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32"])
@pytest.mark.parametrize("op,attrs", REDUCTION_CASES, ids=[_case_id((o, None, a)) for o, a in REDUCTION_CASES])
def test_large_reductions_split_over_blocks_match_cpu(op, attrs, dtype):
    """Whole-array and few-output reductions (3 x 400,001 x 3 elements) equal the CPU's: the same
    double / wrapping 64-bit accumulators, argmax/argmin's first index on ties."""
    x = _big(dtype, (3, 400001, 3))
    if np.dtype(dtype).kind == "f":
        x[1, 5, 2] = x.max() + 1  # one maximum ...
        x[2, 300000, 0] = x[1, 5, 2]  # ... twice, far apart: the first index wins
    c, g = _both(op, [x], dtype, **attrs)
    assert g.shape == c.shape
    if op in ("argmax", "argmin") or dtype == "int32" or op in ("max", "min"):
        np.testing.assert_array_equal(g, c)
    else:  # double sums in another order: equal up to the output dtype's last place
        rtol = {"float16": 1e-3, "float32": 1e-6, "float64": 1e-12}[dtype]
        np.testing.assert_allclose(g.astype(np.float64), c.astype(np.float64), rtol=rtol, atol=rtol)


@gpu_only
def test_large_reductions_split_special_values():
    n = 1 << 21
    x = np.ones(n, dtype=np.float32)
    x[n - 3] = np.nan  # a NaN in the last chunk: sum NaN, nansum skips it, max NaN, argmax its index
    c, g = _both("sum", [x], "float32")
    assert np.isnan(g).all() and np.isnan(c).all()
    c, g = _both("nansum", [x], "float32")
    np.testing.assert_array_equal(g, [n - 1])
    c, g = _both("max", [x], "float32")
    assert np.isnan(g).all()
    c, g = _both("argmax", [x], "float32")
    np.testing.assert_array_equal(g, c)
    np.testing.assert_array_equal(g, [n - 3])
    i = np.full(n, 2**40, dtype=np.int64)  # exact 64-bit integer sums (2**61)
    c, g = _both("sum", [i], "int64")
    np.testing.assert_array_equal(g, c)
    np.testing.assert_array_equal(g, [np.int64(2**40) * n])
    p = np.exp(np.random.default_rng(3).uniform(-1e-4, 1e-4, n)).astype(np.float64)
    c, g = _both("prod", [p], "float64")
    np.testing.assert_allclose(g, c, rtol=1e-12)
    b = np.zeros(n, dtype=np.bool_)
    b[[7, n - 1]] = True
    for op in ("sum", "max", "argmax"):
        c, g = _both(op, [b], "bool")
        np.testing.assert_array_equal(g, c, err_msg=op)
    z = np.ones((2, n), dtype=np.float32)
    _, g = _both("mean", [z], "float32", axis=1)
    np.testing.assert_array_equal(g, [1, 1])


@gpu_only
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_on_few_long_lanes_matches_cpu(op, dtype):
    """Lanes of 300,000 (2 rows) and 200,000 (axis 0, 3 lanes strided): split over many blocks."""
    rng = np.random.default_rng(4)
    for shape, attrs in [((2, 300000), {}), ((200000, 3), {"axis": 0}), ((2, 300000), {"temperature": 3.0})]:
        x = rng.uniform(-5, 5, size=shape).astype(dtype)
        c, g = _both(op, [x], dtype, **attrs)
        np.testing.assert_allclose(g.astype(np.float64), c.astype(np.float64), **TOL[dtype])
        og = rng.uniform(-1, 1, size=shape).astype(dtype)
        gc = op_gradient(op, [mx.nd.array(x, dtype=dtype)], [mx.nd.array(og, dtype=dtype)], **attrs)
        gg = op_gradient(op, [mx.nd.array(x, dtype=dtype, ctx=mx.gpu(0))],
                         [mx.nd.array(og, dtype=dtype, ctx=mx.gpu(0))], **attrs)
        np.testing.assert_allclose(gg[0].asnumpy().astype(np.float64), gc[0].asnumpy().astype(np.float64),
                                   **TOL[dtype])


@gpu_only
def test_softmax_on_long_lanes_with_lengths_and_infinities():
    x = np.random.default_rng(5).uniform(-3, 3, size=(2, 200000)).astype(np.float32)
    x[0, :100000] = -np.inf  # whole chunks of -inf add nothing
    x[1, 50000] = np.inf  # an inf: the lane is NaN on both devices
    for op in ("softmax", "log_softmax"):
        c, g = _both(op, [x], "float32")
        np.testing.assert_array_equal(np.isnan(g), np.isnan(c), err_msg=op)
        np.testing.assert_allclose(g[0], c[0], rtol=1e-4, atol=1e-5, err_msg=op)
    length = np.array([150000, 70000], dtype=np.int32)
    xf = np.nan_to_num(x, posinf=1.0, neginf=-1.0)
    c = mx.nd.softmax(mx.nd.array(xf), mx.nd.array(length, dtype="int32"), axis=-1, use_length=True)
    g = mx.nd.softmax(mx.nd.array(xf, ctx=mx.gpu(0)), mx.nd.array(length, dtype="int32", ctx=mx.gpu(0)), axis=-1,
                      use_length=True)
    np.testing.assert_allclose(g.asnumpy(), c.asnumpy(), rtol=1e-4, atol=1e-6)
    assert (g.asnumpy()[1, 70000:] == 0).all()


INT_GEMM = [("dot", [(37, 300), (300, 45)], {}), ("dot", [(300, 37), (300, 45)], {"transpose_a": True}),
            ("dot", [(37, 300), (45, 300)], {"transpose_b": True}), ("dot", [(300,), (300,)], {}),
            ("batch_dot", [(3, 33, 70), (3, 70, 40)], {}), ("batch_dot", [(2, 70, 33), (2, 40, 70)],
                                                           {"transpose_a": True, "transpose_b": True}),
            ("FullyConnected", [(20, 3, 50), (40, 150), (40,)], {"num_hidden": 40}),
            ("FullyConnected", [(20, 50), (40, 50)], {"num_hidden": 40, "no_bias": True})]


@gpu_only
@pytest.mark.parametrize("dtype", ["int32", "int64", "int8", "uint8"])
@pytest.mark.parametrize("case", INT_GEMM, ids=[_case_id((o, None, a)) for o, _, a in INT_GEMM])
def test_integer_gemm_ops_on_gpu_match_cpu(case, dtype):
    """dot / batch_dot / FullyConnected in integer dtypes: 64-bit sums stored wrapping to the dtype,
    as the CPU (and numpy's int64 products cast back); gradients too."""
    op, shapes, attrs = case
    rng = np.random.default_rng(6)
    lo, hi = (0, 16) if dtype == "uint8" else (-12, 12)
    xs = [rng.integers(lo, hi, size=s).astype(dtype) for s in shapes]
    c, g = _both(op, xs, dtype, **attrs)
    assert g.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(g, c)
    if op == "dot" and not attrs and len(shapes[0]) == 2:
        np.testing.assert_array_equal(g, (xs[0].astype(np.int64) @ xs[1].astype(np.int64)).astype(dtype))
    og = rng.integers(lo, hi, size=c.shape).astype(dtype)
    gc = op_gradient(op, [mx.nd.array(x, dtype=dtype) for x in xs], [mx.nd.array(og, dtype=dtype)], **attrs)
    gg = op_gradient(op, [mx.nd.array(x, dtype=dtype, ctx=mx.gpu(0)) for x in xs],
                     [mx.nd.array(og, dtype=dtype, ctx=mx.gpu(0))], **attrs)
    for a, b in zip(gc, gg):
        np.testing.assert_array_equal(b.asnumpy(), a.asnumpy())


@gpu_only
@pytest.mark.parametrize("dtype", ["int32", "int64", "int8", "uint8", "float16"])
def test_embedding_weights_of_every_cpu_dtype_on_gpu(dtype):
    rng = np.random.default_rng(7)
    w = rng.integers(0, 100, size=(10, 4)).astype(dtype)
    data = np.array([[3, 9, 3], [0, 12, -1]], dtype=np.float32)  # repeats and clipped indices
    c, g = _both("Embedding", [data, w], dtype, input_dim=10, output_dim=4)
    np.testing.assert_array_equal(g, c)
    og = rng.integers(0, 50, size=c.shape).astype(dtype)
    gc = op_gradient("Embedding", [mx.nd.array(data), mx.nd.array(w, dtype=dtype)], [mx.nd.array(og, dtype=dtype)],
                     input_dim=10, output_dim=4)
    gg = op_gradient("Embedding", [mx.nd.array(data, ctx=mx.gpu(0)), mx.nd.array(w, dtype=dtype, ctx=mx.gpu(0))],
                     [mx.nd.array(og, dtype=dtype, ctx=mx.gpu(0))], input_dim=10, output_dim=4)
    np.testing.assert_array_equal(gg[1].asnumpy(), gc[1].asnumpy())


def _pair(arrays, dtypes):
    """The arrays on the CPU and on gpu(0), each in its dtype."""
    return ([mx.nd.array(a, dtype=d) for a, d in zip(arrays, dtypes)],
            [mx.nd.array(a, dtype=d, ctx=mx.gpu(0)) for a, d in zip(arrays, dtypes)])


@gpu_only
def test_float16_index_arrays_on_gpu_match_cpu():
    """take / pick / one_hot / Embedding / where with float16 indices (truncated toward zero, NaN as 0,
    then clipped or wrapped, as the CPU)."""
    x = np.arange(30, dtype=np.float32).reshape(5, 6)
    idx = np.array([0, 4.7, -1.5, 7.0, np.nan, 2.0], dtype=np.float16)
    cases = [("take", [x, idx], ["float32", "float16"], {}), ("take", [x, idx], ["float32", "float16"],
                                                              {"mode": "wrap", "axis": 1}),
             ("pick", [x, idx[:5]], ["float32", "float16"], {"axis": 1}),
             ("one_hot", [idx], ["float16"], {"depth": 6}),
             ("Embedding", [idx, x], ["float16", "float32"], {"input_dim": 5, "output_dim": 6}),
             ("where", [np.array([0, 1, 0, 1, 1], dtype=np.float16), x, -x], ["float16", "float32", "float32"], {})]
    for op, arrays, dtypes, attrs in cases:
        c, g = _pair(arrays, dtypes)
        rc, rg = getattr(mx.nd, op)(*c, **attrs), getattr(mx.nd, op)(*g, **attrs)
        assert rg.context == mx.gpu(0)
        np.testing.assert_array_equal(rg.asnumpy(), rc.asnumpy(), err_msg=f"{op} {attrs}")
    c, g = _pair([x, idx[:4]], ["float32", "float16"])  # gradient: indices repeat and clip
    og = np.ones((4, 6), dtype=np.float32)
    gc = op_gradient("take", c, [mx.nd.array(og)])
    gg = op_gradient("take", g, [mx.nd.array(og, ctx=mx.gpu(0))])
    np.testing.assert_array_equal(gg[0].asnumpy(), gc[0].asnumpy())
    ok = np.array([1, 4, 0], dtype=np.float16)
    c, g = _pair([x, ok], ["float32", "float16"])
    np.testing.assert_array_equal(mx.nd.take(g[0], g[1], mode="raise").asnumpy(), x[[1, 4, 0]])
    bad = np.array([1, 5.5], dtype=np.float16)
    for ctx in (mx.cpu(), mx.gpu(0)):
        with pytest.raises(mx.base.AxleError, match=r"index 5\.5 \(at position 1 of indices\) is out of range"):
            mx.nd.take(mx.nd.array(x, ctx=ctx), mx.nd.array(bad, dtype="float16", ctx=ctx), mode="raise").asnumpy()


@gpu_only
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batchnorm_with_few_channels_over_many_elements_matches_cpu(dtype):
    """3 channels of 16 x 110 x 110 elements: the batch statistics and the gradient's sums split over
    many blocks per channel, the elementwise passes too; training forward, backward and the moving
    statistics, and inference, equal the CPU's."""
    shape = (16, 3, 110, 110)
    rng = np.random.default_rng(8)
    x = rng.uniform(-2, 3, size=shape).astype(dtype)
    og = rng.uniform(-1, 1, size=shape).astype(dtype)
    params = {"bn_gamma": rng.uniform(0.5, 2, 3), "bn_beta": rng.uniform(-1, 1, 3)}
    aux = {"bn_moving_mean": rng.uniform(-1, 1, 3), "bn_moving_var": rng.uniform(0.5, 2, 3)}
    net = mx.sym.BatchNorm(mx.sym.Variable("data"), fix_gamma=False, momentum=0.8, name="bn")
    res = []
    for ctx in (mx.cpu(), mx.gpu(0)):
        ex = net.simple_bind(ctx, type_dict={"data": dtype}, data=shape)
        ex.arg_dict["data"][:] = x
        for k, v in params.items():
            ex.arg_dict[k][:] = v
        for k, v in aux.items():
            ex.aux_dict[k][:] = v
        r = {"infer": ex.forward(is_train=False)[0].asnumpy()}
        r["train"] = ex.forward(is_train=True)[0].asnumpy()
        ex.backward(mx.nd.array(og, dtype=dtype, ctx=ctx))
        r.update({k: ex.grad_dict[k].asnumpy() for k in ("data", "bn_gamma", "bn_beta")})
        r.update({k: ex.aux_dict[k].asnumpy() for k in aux})
        res.append(r)
    tol = TOL[dtype] if dtype == "float64" else dict(rtol=2e-4, atol=2e-4)  # sums of 193,600 floats
    for k in res[0]:
        np.testing.assert_allclose(res[1][k], res[0][k], err_msg=k, **tol)


@gpu_only
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layernorm_parameter_gradients_over_many_rows_match_cpu(dtype):
    """4 channels over 200,000 rows: gamma's and beta's gradient sums split over many blocks."""
    rng = np.random.default_rng(9)
    xs = [rng.uniform(-2, 2, size=(200000, 4)), rng.uniform(0.5, 2, size=4), rng.uniform(-1, 1, size=4)]
    og = rng.uniform(-1, 1, size=(200000, 4)).astype(dtype)
    grads = [op_gradient("LayerNorm", [mx.nd.array(x, dtype=dtype, ctx=ctx) for x in xs],
                         [mx.nd.array(og, dtype=dtype, ctx=ctx)]) for ctx in (mx.cpu(), mx.gpu(0))]
    tol = TOL[dtype] if dtype == "float64" else dict(rtol=2e-4, atol=2e-4)
    for c, g, name in zip(*grads, ("data", "gamma", "beta")):
        np.testing.assert_allclose(g.asnumpy(), c.asnumpy(), err_msg=name, **tol)
