"""Axle's ops against MXNet 1.9.1: the cases of tests/data/ops/mxnet_ops.{json,npz}, made by
tests/data/ops/crosscheck_mxnet.py with MXNet (see its docstring for the layout).

Each case runs the op in Axle on the same float32 inputs and attributes and compares, with
RTOL/ATOL below (float32 arithmetic in a different order than MXNet's): the output dtypes, shapes
and values; the inputs the op writes (BatchNorm's moving statistics, optimizer states); the input
gradients for MXNet's random head gradient, through the op's registered gradient (op_gradient).
Where MXNet raised, Axle must raise too, unless the case records that MXNet's error is a
limitation of MXNet's (then Axle may accept). Random ops are compared by shape, dtype and
distribution. The attribute lists are compared with MXNet's docstrings.
"""
import json
import os

import numpy as np
import pytest

import axle as mx
from axle._lib import AxleError
from axle.ndarray._op import OpInfo
from axle.test_utils import op_gradient, training

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "ops")
with open(os.path.join(DATA, "mxnet_ops.json")) as _f:
    FIXTURE = json.load(_f)
ARRAYS = dict(np.load(os.path.join(DATA, "mxnet_ops.npz"), allow_pickle=False))
CASES = FIXTURE["cases"]
RTOL, ATOL = 1e-5, 1e-5


def attrs_of(c):
    return {k: (tuple(v) if isinstance(v, list) else v) for k, v in c["attrs"].items()}


def inputs_of(key, n):
    return [mx.nd.array(ARRAYS["%s_in%d" % (key, j)], dtype=ARRAYS["%s_in%d" % (key, j)].dtype) for j in range(n)]


def close(got, expected, what):
    got = got.asnumpy() if isinstance(got, mx.nd.NDArray) else got
    assert got.dtype == expected.dtype, "%s: dtype %s, MXNet %s" % (what, got.dtype, expected.dtype)
    assert got.shape == expected.shape, "%s: shape %s, MXNet %s" % (what, got.shape, expected.shape)
    np.testing.assert_allclose(got.astype(np.float64), expected.astype(np.float64), rtol=RTOL, atol=ATOL,
                               err_msg=what)


def case_id(i):
    c = CASES[i]
    return "%d-%s" % (i, c["op"])


@pytest.mark.parametrize("i", range(len(CASES)), ids=case_id)
def test_case(i):
    c = CASES[i]
    key = "c%d" % i
    attrs = attrs_of(c)
    f = getattr(mx.nd, c["op"])
    if c.get("axle_lacks"):
        pytest.skip("Axle lacks " + c["axle_lacks"])
    if "error" in c:
        if c.get("mxnet_limit"):
            pytest.skip("MXNet raises (%s), Axle may accept: %s" % (c["mxnet_limit"], c["error"]))
        with pytest.raises(AxleError):
            with training(c["train"]):
                outs = f(*inputs_of(key, c["num_inputs"]), **attrs)
            for o in outs if isinstance(outs, list) else [outs]:
                o.wait_to_read()
        return
    xs = inputs_of(key, c["num_inputs"])
    with training(c["train"]):
        outs = f(*xs, **attrs)
    outs = outs if isinstance(outs, list) else [outs]
    assert len(outs) == c["num_outputs"], "%d outputs, MXNet %d" % (len(outs), c["num_outputs"])
    for k, o in enumerate(outs):
        close(o, ARRAYS["%s_out%d" % (key, k)], "output %d" % k)
    for j in c["after"]:
        close(xs[j], ARRAYS["%s_after%d" % (key, j)], "input %d after the call" % j)
    if c["wrt"] and c.get("mxnet_bug"):
        pytest.skip("gradient not compared (forward agrees): " + c["mxnet_bug"])
    if c["wrt"]:
        heads = [mx.nd.array(ARRAYS["%s_head%d" % (key, k)], dtype=ARRAYS["%s_head%d" % (key, k)].dtype)
                 for k in range(c["num_outputs"])]
        grads = op_gradient(c["op"], inputs_of(key, c["num_inputs"]), heads, **attrs)
        for j in c["wrt"]:
            close(grads[j], ARRAYS["%s_grad%d" % (key, j)], "gradient of input %d" % j)


# ---- random ops: shapes, dtypes and distributions -----------------------------------------------------
RANDOM = FIXTURE["random"]


def moments_close(got, ref, what):
    """Two large samples of one distribution: means and standard deviations within 5 standard errors."""
    got, ref = got.astype(np.float64).ravel(), ref.astype(np.float64).ravel()
    se = ref.std() / np.sqrt(min(got.size, ref.size))
    assert abs(got.mean() - ref.mean()) < 5 * se * np.sqrt(2), (what, got.mean(), ref.mean())
    assert abs(got.std() - ref.std()) < 0.05 * ref.std(), (what, got.std(), ref.std())


@pytest.mark.parametrize("i", range(len(RANDOM)), ids=lambda i: "%d-%s" % (i, RANDOM[i]["op"]))
def test_random(i):
    r = RANDOM[i]
    ref = ARRAYS["r%d_sample" % i]
    xs = inputs_of("r%d" % i, r["num_inputs"])
    mx.random.seed(7)
    with training(r["train"]):
        out = getattr(mx.nd, r["op"])(*xs, **attrs_of(r)).asnumpy()
    assert list(out.shape) == r["shape"] and str(out.dtype) == r["dtype"], (out.shape, out.dtype, r)
    a = r["attrs"]
    if r["op"] == "shuffle":
        x = ARRAYS["r%d_in0" % i]
        assert sorted(map(tuple, out)) == sorted(map(tuple, x))  # rows permuted, rows kept whole
    elif r["op"] == "Dropout":
        x = ARRAYS["r%d_in0" % i]
        kept = out != 0
        np.testing.assert_allclose(out[kept], (x / (1 - a["p"]))[kept], rtol=1e-6)
        assert abs(kept.mean() - (ref != 0).mean()) < 0.03, (kept.mean(), (ref != 0).mean())
        if "axes" in a:  # one mask shared along the axes
            assert (kept == kept[:, :1, :]).all()
    elif r["op"] == "random_randint":
        assert out.min() >= a["low"] and out.max() < a["high"]
        if out.size > 1000:
            assert set(np.unique(out)) == set(np.unique(ref))
            moments_close(out, ref, r["op"])
    elif out.size > 1000:
        if "low" in a:
            assert out.min() >= a["low"] and out.max() < a["high"]
        moments_close(out, ref, r["op"])
    mx.random.seed(7)
    with training(r["train"]):
        again = getattr(mx.nd, r["op"])(*xs, **attrs_of(r)).asnumpy()
    np.testing.assert_array_equal(out, again)  # reproducible under axle.random.seed


# ---- attribute names and defaults ---------------------------------------------------------------------
def parse_type(t):
    """(choices or None, default or None) of a type string as MXNet or Axle writes it:
    "{'batch', 'null'},optional, default='null'", "float, optional, default=0.899999976"."""
    t = t.replace("'", "")
    choices = None
    if t.startswith("{"):
        choices = {c.strip() for c in t[1:t.index("}")].split(",")}
    default = t.split("default=", 1)[1].strip() if "default=" in t else None
    return choices, default


def same_default(a, b):
    """Defaults equal as values: 0.899999976 == 0.8999999761581421 (float32 printed two ways), and
    None, [] and () all mean an empty shape."""
    if a == b:
        return True
    empty = {"None", "[]", "()"}
    if a in empty and b in empty:
        return True
    try:
        return np.float32(a) == np.float32(b)
    except (TypeError, ValueError):
        return False


def attribute_differences(op):
    """[(attribute, what differs)] between MXNet's docstring and Axle's registry: attributes Axle
    lacks, defaults that differ, choices Axle lacks. Extra attributes and choices in Axle are fine."""
    mine = {n: parse_type(t) for n, t, _ in OpInfo(op).params}
    diffs = []
    for name, t in FIXTURE["params"][op]:
        if name not in mine:
            diffs.append((name, "missing in Axle"))
            continue
        (mx_choices, mx_default), (ax_choices, ax_default) = parse_type(t), mine[name]
        if not same_default(mx_default, ax_default):
            diffs.append((name, "default: MXNet %s, Axle %s" % (mx_default, ax_default)))
        if mx_choices and ax_choices is not None and mx_choices - ax_choices:
            diffs.append((name, "choices Axle lacks: %s" % sorted(mx_choices - ax_choices)))
    return diffs


# Differences from MXNet's attribute lists that are deliberate: (op, attribute) -> why.
_BF16 = "no bfloat16 dtype in Axle"
ALLOWED = {
    ("BatchNorm", "min_calib_range"): "quantization (oneDNN int8) only",
    ("BatchNorm", "max_calib_range"): "quantization (oneDNN int8) only",
    ("Cast", "dtype"): _BF16,
    ("cast", "dtype"): _BF16,
    ("one_hot", "dtype"): _BF16,
    ("slice_axis", "end"): "MXNet requires end; Axle lets it default to None (to the end)",
}


@pytest.mark.parametrize("op", sorted(FIXTURE["params"]))
def test_attributes_match_mxnet(op):
    diffs = [(n, d) for n, d in attribute_differences(op) if (op, n) not in ALLOWED]
    assert not diffs, "%s: %s" % (op, diffs)
