#!/usr/bin/env python3
"""Makes the MXNet 1.9.1 cross-check fixture for Axle's operator library (issue #3).

Run with the reference interpreter (never from Axle's environment):

    /work/main/.mxref/bin/python tests/data/ops/crosscheck_mxnet.py

For every case below (an op, small random float32 inputs, attributes) MXNet runs the op under
mx.autograd, with a random head gradient, and the script saves:

  mxnet_ops.npz   per case i: c{i}_in{j} (inputs), c{i}_out{k} (outputs), c{i}_head{k} (head
                  gradients), c{i}_grad{j} (input gradients, for the inputs in "wrt"),
                  c{i}_after{j} (inputs after the forward: aux states and optimizer states that
                  the op writes), r{i}_sample (random ops: one MXNet sample)
  mxnet_ops.json  {"cases": [...], "random": [...], "params": {op: [[name, type], ...]}}: each
                  case's op, attributes, train mode, wrt, and whether MXNet raised (then the
                  message, and Axle must raise too); "params" is each op's parameter list as
                  MXNet's docstring gives it (for the attribute comparison).

Loss heads (SoftmaxOutput, the regression outputs, MakeLoss) ignore the head gradient in MXNet;
the heads are saved anyway so the test can check that Axle ignores them too.
tests/python/test_mxnet_crosscheck.py runs the same cases through Axle.
"""
import functools
import json
import os
import re
import sys

import numpy as np
import mxnet as mx
from mxnet import autograd

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.RandomState(0)
CASES = []
RANDOM = []


# ---- inputs -----------------------------------------------------------------------------------------
def u(*shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, shape).astype(np.float32)


def pos(*shape):
    return u(*shape, lo=0.2, hi=2.0)


def ints(shape, lo, hi):
    """Integer values stored as float32 (MXNet's labels and indices)."""
    return rng.randint(lo, hi, shape).astype(np.float32)


def case(op, inputs, attrs=None, wrt="float", train=False, after=False, mxnet_limit=None, native=False,
         mxnet_bug=None, axle_lacks=None):
    """wrt: indices of the inputs to differentiate, "float" (all), or None (no gradient).
    mxnet_limit: why MXNet's error here is a limitation of MXNet that Axle need not share.
    native: run MXNet's own CPU kernel instead of oneDNN's (MXNET_MKLDNN_ENABLED=0), where
    MXNet's oneDNN path fails (Deconvolution with target_shape: asymmetric padding).
    mxnet_bug: why MXNet's gradient here is wrong (the test then checks the forward only).
    axle_lacks: what Axle does not implement yet (the test skips the case, saying so)."""
    if wrt == "float":
        wrt = list(range(len(inputs)))
    CASES.append(dict(op=op, inputs=inputs, attrs=attrs or {}, wrt=wrt, train=train, after=after,
                      mxnet_limit=mxnet_limit, native=native, mxnet_bug=mxnet_bug, axle_lacks=axle_lacks))


# ---- the cases ----------------------------------------------------------------------------------------
BROADCAST = ["broadcast_add", "broadcast_sub", "broadcast_mul", "broadcast_div", "broadcast_mod",
             "broadcast_power", "broadcast_maximum", "broadcast_minimum", "broadcast_equal",
             "broadcast_not_equal", "broadcast_greater", "broadcast_greater_equal", "broadcast_lesser",
             "broadcast_lesser_equal", "broadcast_logical_and", "broadcast_logical_or", "broadcast_logical_xor"]
COMPARE = {"equal", "not_equal", "greater", "greater_equal", "lesser", "lesser_equal"}


def binary_inputs(op, sa, sb):
    if op.endswith(("_power",)):
        return [pos(*sa), u(*sb, lo=-2, hi=2)]
    if op.endswith(("_div", "_mod")):
        b = u(*sb, lo=0.5, hi=2.0) * np.where(rng.rand(*sb) < 0.5, -1, 1).astype(np.float32)
        return [u(*sa, lo=-3, hi=3), b]
    if "logical" in op or op.split("_", 1)[1] in COMPARE:
        return [ints(sa, -1, 2), ints(sb, -1, 2)]  # ties and zeros
    return [u(*sa), u(*sb)]


def binary_cases():
    for op in BROADCAST:
        for sa, sb in [((2, 3, 4), (2, 1, 4)), ((3, 1), (1, 4)), ((2, 3), (2, 3))]:
            case(op, binary_inputs(op, sa, sb))
    for op in ["elemwise_add", "elemwise_sub", "elemwise_mul", "elemwise_div"]:
        case(op, binary_inputs(op, (3, 4), (3, 4)))
    for op in ["add_n", "ElementWiseSum"]:
        case(op, [u(2, 3), u(2, 3), u(2, 3)], {"num_args": 3})
        case(op, [u(4)], {"num_args": 1})


SCALAR = ["_plus_scalar", "_minus_scalar", "_rminus_scalar", "_mul_scalar", "_div_scalar", "_rdiv_scalar",
          "_mod_scalar", "_rmod_scalar", "_power_scalar", "_rpower_scalar", "_maximum_scalar",
          "_minimum_scalar", "_equal_scalar", "_not_equal_scalar", "_greater_scalar", "_greater_equal_scalar",
          "_lesser_scalar", "_lesser_equal_scalar"]


def scalar_cases():
    for op in SCALAR:
        x = u(3, 4, lo=-3, hi=3)
        x[0, :2] = 1.5  # ties with the scalar
        if op in ("_rdiv_scalar", "_rmod_scalar"):
            x = np.where(np.abs(x) < 0.3, 0.7, x).astype(np.float32)
        if op == "_power_scalar":
            x = np.abs(x) + 0.1
        for s in (1.5, -2.0):
            case(op, [x.copy()], {"scalar": s})
    for op in SCALAR:  # integer arrays: is_int=True converts the scalar, False promotes to float64
        for is_int in (True, False):
            case(op, [rng.randint(1, 6, (2, 3)).astype(np.int32)], {"scalar": 2.5, "is_int": is_int}, wrt=None)
    case("_power_scalar", [u(3, 4, lo=-2, hi=2)], {"scalar": 2.0})
    case("_power_scalar", [u(3, 4, lo=-2, hi=2)], {"scalar": 3.0})


UNARY = {"abs": u, "sign": u, "exp": u, "log": pos, "log1p": pos, "expm1": u, "sqrt": pos, "rsqrt": pos,
         "square": u, "reciprocal": pos, "negative": u, "sin": u, "cos": u, "tanh": u, "sigmoid": u, "relu": u,
         "softsign": u, "floor": u, "ceil": u, "round": u}


def unary_cases():
    for op, gen in UNARY.items():
        x = gen(3, 5) * (3 if gen is u else 1)
        if op in ("round", "floor", "ceil", "sign", "abs", "relu"):
            x[0] = [-2.5, -1.5, -0.5, 0.5, 1.5]  # halves (round away from zero) and no zeros
            x[1, 0] = 0.0
        case(op, [x.astype(np.float32)])
    case("clip", [u(3, 5, lo=-2, hi=2)], {"a_min": -0.5, "a_max": 0.7})
    case("clip", [u(3, 5, lo=-2, hi=2)], {"a_min": 0.0, "a_max": 10.0})


def reduce_cases():
    for op in ["sum", "mean", "prod", "max", "min", "nansum", "nanprod"]:
        for attrs in [{}, {"axis": 1}, {"axis": -1}, {"axis": (0, 2)}, {"axis": 1, "keepdims": True},
                      {"axis": (-1,), "exclude": True}, {"axis": (0, 2), "keepdims": True, "exclude": True},
                      {"axis": ()}]:
            x = u(2, 3, 4, lo=0.5, hi=1.5) if op in ("prod", "nanprod") else u(2, 3, 4)
            case(op, [x], attrs)
    for attrs in [{}, {"ord": 1}, {"ord": 2, "axis": 1}, {"ord": 1, "axis": -1, "keepdims": True},
                  {"axis": (0, 2)}, {"ord": 2, "axis": (-2, -1), "keepdims": True}]:
        case("norm", [u(2, 3, 4)], attrs)
    for op in ["argmax", "argmin"]:
        for attrs in [{}, {"axis": 1}, {"axis": -1, "keepdims": True}, {"axis": 0}]:
            case(op, [u(2, 3, 4)], attrs, wrt=None)


def shape_cases():
    for shape, attrs in [((2, 3, 4), {"shape": (0, -1)}), ((2, 3, 4), {"shape": (-2,)}),
                         ((2, 3, 4), {"shape": (-3, 4)}), ((2, 3, 4), {"shape": (-4, 1, 2, -2)}),
                         ((2, 3, 4), {"shape": (2, -4, -1, 3, -2)}), ((2, 3, 4), {"shape": (4, 0, -1)}),
                         ((2, 3, 4), {"shape": (-1, 2)}), ((10, 5, 4), {"shape": (-1, 0), "reverse": True}),
                         ((2, 3, 4), {"shape": (-3, -2)}), ((2, 3, 4, 5), {"shape": (-3, -3)}),
                         ((2, 3, 4), {"shape": (0, -4, 3, -1, 0)})]:
        case("Reshape", [u(*shape)], attrs)
    case("reshape", [u(2, 3, 4)], {"shape": (6, -1)})
    for shape in [(2, 3, 4), (2, 3, 4, 5), (4, 3)]:
        case("Flatten", [u(*shape)])
    case("flatten", [u(2, 3, 2)])
    for attrs in [{}, {"axes": (1, 0, 2)}, {"axes": (2, 0, 1)}, {"axes": (-1, 0, 1)}]:
        case("transpose", [u(2, 3, 4)], attrs, mxnet_limit="negative axes" if -1 in attrs.get("axes", ()) else None)
    for axis in (0, 1, 3, -1, -4):
        case("expand_dims", [u(2, 3, 4)], {"axis": axis})
    for attrs in [{}, {"axis": (0, 2)}, {"axis": -2}, {"axis": 1}]:
        case("squeeze", [u(1, 3, 1, 2)], attrs)
    for attrs, shapes in [({}, [(2, 3), (2, 4), (2, 1)]), ({"dim": 0}, [(1, 3), (2, 3)]),
                          ({"dim": -1}, [(2, 2, 1), (2, 2, 3)])]:
        case("Concat", [u(*s) for s in shapes], dict(attrs, num_args=len(shapes)))
    case("concat", [u(2, 3), u(2, 3)], {"dim": 1, "num_args": 2})
    for axis in (0, 1, 2, -1):
        case("stack", [u(2, 3), u(2, 3), u(2, 3)], {"axis": axis, "num_args": 3})
    for attrs in [{"num_outputs": 3}, {"num_outputs": 2, "axis": 0}, {"num_outputs": 3, "axis": 1,
                                                                       "squeeze_axis": True},
                  {"num_outputs": 2, "axis": -1}]:
        case("SliceChannel", [u(2, 3, 4)], attrs)
    case("split", [u(4, 6)], {"num_outputs": 3, "axis": -1})
    for attrs in [{"begin": (0, 1), "end": (2, 3)}, {"begin": (None, 1), "end": (None, None)},
                  {"begin": (1,), "end": (2,)}, {"begin": (-2, 0), "end": (None, -1)},
                  {"begin": (None, None), "end": (None, None), "step": (None, 2)},
                  {"begin": (None, None), "end": (None, None), "step": (-1, -2)},
                  {"begin": (2, 3), "end": (0, 0), "step": (-1, -1)}, {"begin": (0, 1, 1), "end": (2, 3, 4),
                                                                      "step": (1, 1, 2)}]:
        case("slice", [u(3, 4, 5)], attrs)
    for attrs in [{"axis": 1, "begin": 1, "end": None}, {"axis": -1, "begin": -3, "end": -1},
                  {"axis": 0, "begin": 0, "end": 2}]:
        case("slice_axis", [u(3, 4, 5)], attrs)
    case("take", [u(5, 3), ints((2, 2), -2, 7)], {}, wrt=[0])
    case("take", [u(5, 3), ints((4,), -7, 9)], {"mode": "wrap"}, wrt=[0])
    case("take", [u(2, 5, 3), ints((2, 3), 0, 5)], {"axis": 1}, wrt=[0])
    case("take", [u(2, 5, 3), ints((4,), -1, 4)], {"axis": -1}, wrt=[0])
    case("pick", [u(3, 4), ints((3,), 0, 4)], {}, wrt=[0])
    case("pick", [u(3, 4), ints((4,), 0, 3)], {"axis": 0}, wrt=[0])
    case("pick", [u(3, 4, 2), ints((3, 2), 0, 4)], {"axis": 1, "keepdims": True}, wrt=[0])
    case("pick", [u(3, 4), ints((3,), -5, 9)], {"mode": "wrap"}, wrt=[0])
    case("pick", [u(3, 4), ints((3,), -5, 9)], {"mode": "clip"}, wrt=[0])
    case("one_hot", [ints((2, 3), -1, 6)], {"depth": 5}, wrt=None)
    case("one_hot", [ints((4,), 0, 4)], {"depth": 4, "on_value": 2.0, "off_value": -1.0, "dtype": "int32"}, wrt=None)
    case("one_hot", [ints((4,), 0, 4)], {"depth": 4, "dtype": "float64"}, wrt=None)
    for shape, reps in [((2, 3), (2,)), ((2, 3), (2, 1, 3)), ((2, 3), (1, 2)), ((2, 3, 2), (2, 2))]:
        case("tile", [u(*shape)], {"reps": reps})
    for attrs in [{"repeats": 2}, {"repeats": 2, "axis": 1}, {"repeats": 3, "axis": -1}, {"repeats": 1, "axis": 0}]:
        case("repeat", [u(2, 3)], attrs)
    case("broadcast_to", [u(2, 1, 4)], {"shape": (2, 3, 4)})
    case("broadcast_to", [u(1, 3)], {"shape": (4, 0)})
    case("broadcast_to", [u(3)], {"shape": (2, 3)})
    case("broadcast_axis", [u(1, 3, 1)], {"axis": (0, 2), "size": (2, 4)})
    case("broadcast_axis", [u(3, 1)], {"axis": -1, "size": 5}, mxnet_limit="negative axis")
    case("broadcast_axes", [u(1, 3)], {"axis": 0, "size": 2})
    case("where", [ints((3, 4), 0, 2), u(3, 4), u(3, 4)], wrt=[1, 2])
    case("where", [ints((3,), 0, 2), u(3, 4), u(3, 4)], wrt=[1, 2])
    case("where", [u(3, 4), u(3, 4), u(3, 4)], wrt=[1, 2])
    for dt in ("int32", "float64", "float16", "int64"):
        case("Cast", [u(3, 4, lo=-3, hi=3)], {"dtype": dt}, wrt=[0] if dt[0] == "f" else None)
    case("cast", [u(3, 4, lo=0, hi=200)], {"dtype": "uint8"}, wrt=None)
    case("zeros_like", [u(2, 3)])
    case("ones_like", [u(2, 3)])


def linalg_cases():
    for sa, sb, attrs in [((3, 4), (4, 5), {}), ((4, 3), (4, 5), {"transpose_a": True}),
                          ((3, 4), (5, 4), {"transpose_b": True}),
                          ((4, 3), (5, 4), {"transpose_a": True, "transpose_b": True}),
                          ((2, 3, 4), (4, 5), {}), ((4,), (4, 5), {}), ((3, 4), (4,), {}), ((4,), (4,), {}),
                          ((2, 3, 4), (4, 2, 3), {}), ((3, 2, 4), (3, 5), {"transpose_a": True}),
                          ((2, 3, 4), (5, 4), {"transpose_b": True}),
                          ((3, 4), (3, 2, 5), {"transpose_a": True})]:
        case("dot", [u(*sa), u(*sb)], attrs)
    for sa, sb, attrs in [((2, 3, 4), (2, 4, 5), {}), ((2, 4, 3), (2, 4, 5), {"transpose_a": True}),
                          ((2, 3, 4), (2, 5, 4), {"transpose_b": True}),
                          ((2, 4, 3), (2, 5, 4), {"transpose_a": True, "transpose_b": True})]:
        case("batch_dot", [u(*sa), u(*sb)], attrs)
    case("FullyConnected", [u(4, 3, 2), u(5, 6), u(5)], {"num_hidden": 5})
    case("FullyConnected", [u(4, 6), u(5, 6)], {"num_hidden": 5, "no_bias": True})
    case("FullyConnected", [u(4, 3, 2), u(5, 2), u(5)], {"num_hidden": 5, "flatten": False})
    case("FullyConnected", [u(3, 7), u(1, 7), u(1)], {"num_hidden": 1})


def nn_cases():
    for act in ["relu", "sigmoid", "tanh", "softrelu", "softsign"]:
        case("Activation", [u(3, 4, lo=-3, hi=3)], {"act_type": act})
    case("LeakyReLU", [u(3, 4, lo=-3, hi=3)], {})
    case("LeakyReLU", [u(3, 4, lo=-3, hi=3)], {"act_type": "leaky", "slope": 0.1})
    case("LeakyReLU", [u(3, 4, lo=-3, hi=3)], {"act_type": "elu", "slope": 0.5})
    case("LeakyReLU", [u(3, 4, lo=-3, hi=3)], {"act_type": "elu"})
    case("LeakyReLU", [u(2, 3, 4, lo=-3, hi=3), u(3)], {"act_type": "prelu"})
    case("LeakyReLU", [u(2, 3, lo=-3, hi=3), u(1)], {"act_type": "prelu"})
    case("LeakyReLU", [u(3, 4, lo=-3, hi=3)], {"act_type": "selu"},
         mxnet_bug="SELU backward: MXNet computes lambda*(y + alpha) for y <= 0 where the derivative is "
                   "y + lambda*alpha (= lambda*alpha*exp(x)); Axle's is checked by finite differences")
    case("LeakyReLU", [u(3, 4, lo=-3, hi=3)], {"act_type": "gelu"})
    for op in ["softmax", "log_softmax"]:
        for attrs in [{}, {"axis": 0}, {"axis": 1, "temperature": 2.0}, {"axis": -2}]:
            case(op, [u(2, 3, 4, lo=-3, hi=3)], attrs)
    case("softmax", [u(2, 5, lo=-3, hi=3), np.array([3, 5], np.int32)], {"use_length": True, "axis": -1},
         wrt=[0])
    case("SoftmaxActivation", [u(3, 5)], {})
    case("SoftmaxActivation", [u(2, 3, 4)], {"mode": "channel"})
    case("SoftmaxActivation", [u(2, 3, 2, 2)], {"mode": "channel"})
    softmax_output_cases()
    for op in ["LinearRegressionOutput", "LogisticRegressionOutput", "MAERegressionOutput"]:
        case(op, [u(4, 3), u(4, 3)], {})
        case(op, [u(4, 3), u(4, 3)], {"grad_scale": 0.5})
        case(op, [u(5, 1), u(5)], {}, wrt=[0])
    for attrs in [{}, {"grad_scale": 2.0}, {"normalization": "batch"},
                  {"normalization": "valid", "valid_thresh": 0.1}]:
        case("MakeLoss", [u(3, 4)], attrs)
    case("BlockGrad", [u(3, 4)])
    case("stop_gradient", [u(3, 4)])
    case("Dropout", [u(3, 4)], {"p": 0.5}, wrt=None)  # inference: identity (op_gradient trains)
    case("Dropout", [u(3, 4)], {}, wrt=None)
    batchnorm_cases()
    case("LayerNorm", [u(2, 3, 4), u(4), u(4)], {})
    case("LayerNorm", [u(2, 3, 4), u(3), u(3)], {"axis": 1, "eps": 1e-3})
    case("LayerNorm", [u(5, 6), u(6), u(6)], {"axis": -1})
    case("BatchNorm", [u(4, 3, 2, lo=-2, hi=2), pos(3), u(3), u(3), pos(3)], {"fix_gamma": False,
                                                                            "output_mean_var": True},
         wrt=[0, 1, 2], train=True, after=[3, 4])
    case("BatchNorm", [u(4, 3, 2, lo=-2, hi=2), pos(3), u(3), u(3), pos(3)], {"output_mean_var": True},
         wrt=None, after=[3, 4])
    case("LayerNorm", [u(2, 3, 4), u(4), u(4)], {"output_mean_var": True}, wrt=[0, 1, 2])
    case("softmax", [u(2, 5, lo=-3, hi=3)], {"dtype": "float64"})
    case("log_softmax", [u(2, 5, lo=-3, hi=3)], {"temperature": 0.5, "axis": 0})
    case("LeakyReLU", [u(3, 4, lo=-3, hi=3)], {"act_type": "rrelu"}, wrt=None,  # inference: mean slope
         axle_lacks="LeakyReLU act_type rrelu (not in issue #3's list)")
    case("dot", [u(3, 4).astype(np.float64), u(4, 2).astype(np.float64)], {})
    case("Convolution", [u(2, 3, 6, 6).astype(np.float64), u(4, 3, 3, 3).astype(np.float64),
                         u(4).astype(np.float64)], {"kernel": (3, 3), "num_filter": 4, "pad": (1, 1)})
    case("sum", [u(3, 4).astype(np.float64)], {"axis": 1})
    case("broadcast_mul", [u(3, 1).astype(np.float64), u(1, 4).astype(np.float64)])
    conv_cases()
    pooling_cases()
    case("Embedding", [ints((2, 3), 0, 10), u(10, 4)], {"input_dim": 10, "output_dim": 4}, wrt=[1])
    case("Embedding", [ints((5,), 0, 3), u(3, 2)], {"input_dim": 3, "output_dim": 2}, wrt=[1])
    case("UpSampling", [u(1, 2, 3, 3)], {"scale": 2, "sample_type": "nearest", "num_args": 1})
    case("UpSampling", [u(2, 1, 2, 3)], {"scale": 3, "sample_type": "nearest", "num_args": 1})
    case("UpSampling", [u(1, 2, 4, 4), u(1, 3, 2, 2)], {"scale": 2, "sample_type": "nearest", "num_args": 2})
    case("UpSampling", [u(1, 2, 4, 4), u(1, 2, 2, 2)], {"scale": 2, "sample_type": "nearest", "num_args": 2,
                                                         "multi_input_mode": "sum"})


def softmax_output_cases():
    so = "SoftmaxOutput"
    case(so, [u(4, 5, lo=-2, hi=2), ints((4,), 0, 5)], {}, wrt=[0])
    case(so, [u(4, 5, lo=-2, hi=2), ints((4,), 0, 5)], {"grad_scale": 0.5}, wrt=[0])
    label = np.array([0, 2, 1, 2], np.float32)
    for attrs in [{"use_ignore": True, "ignore_label": 2}, {"use_ignore": True, "ignore_label": 2,
                                                             "normalization": "valid"},
                  {"ignore_label": 2}, {"normalization": "batch"}, {"normalization": "valid"},
                  {"use_ignore": True, "ignore_label": 2, "normalization": "batch", "grad_scale": 3.0}]:
        case(so, [u(4, 3, lo=-2, hi=2), label.copy()], attrs, wrt=[0])
    mlabel = np.array([[0, 2, 1, 2], [1, 1, 0, 2]], np.float32)
    for attrs in [{"multi_output": True}, {"multi_output": True, "normalization": "batch"},
                  {"multi_output": True, "use_ignore": True, "ignore_label": 1, "normalization": "valid"},
                  {"multi_output": True, "use_ignore": True, "ignore_label": 1, "normalization": "batch"}]:
        case(so, [u(2, 3, 4, lo=-2, hi=2), mlabel.copy()], attrs, wrt=[0])
    case(so, [u(2, 3, 2, 2, lo=-2, hi=2), ints((2, 2, 2), 0, 3)], {"multi_output": True}, wrt=[0])
    case(so, [u(2, 3, 4, lo=-2, hi=2), ints((2, 3), 0, 4)], {"preserve_shape": True}, wrt=[0])
    case(so, [u(2, 3, 4, lo=-2, hi=2), ints((2,), 0, 12)], {}, wrt=[0])
    case(so, [u(4, 3, lo=-2, hi=2), u(4, 3, lo=0, hi=1)], {}, wrt=[0])  # probability labels
    case("Softmax", [u(4, 5, lo=-2, hi=2), ints((4,), 0, 5)], {}, wrt=[0])
    case(so, [u(4, 5, lo=-2, hi=2), ints((4,), 0, 5)], {"smooth_alpha": 0.1}, wrt=[0])
    case(so, [u(4, 5, lo=-2, hi=2), ints((4,), 0, 5)], {"out_grad": True}, wrt=[0],
         mxnet_bug="out_grad: MXNet 1.9.1 multiplies by the softmax output, not by the head gradient (its "
                   "gradient node passes the output where the kernel reads out_grad)")


def batchnorm_cases():
    def bn(shape, c, attrs, train, wrt="float"):
        ins = [u(*shape, lo=-2, hi=2), pos(c), u(c), u(c), pos(c)]
        # after: the moving statistics. (With fix_gamma MXNet also writes ones into gamma, an input it
        # does not declare as written; Axle leaves gamma alone.)
        case("BatchNorm", ins, attrs, wrt=[0, 1, 2] if wrt else None, train=train, after=[3, 4])
    bn((4, 3, 2, 2), 3, {}, True)
    bn((4, 3, 2, 2), 3, {"fix_gamma": False}, True)
    bn((4, 3), 3, {"fix_gamma": False, "momentum": 0.8, "eps": 1e-3}, True)
    bn((2, 3, 4), 4, {"fix_gamma": False, "axis": -1}, True)
    bn((2, 3, 4), 2, {"fix_gamma": False, "axis": 0}, True)
    bn((4, 3, 2, 2), 3, {"fix_gamma": False, "use_global_stats": True}, True)
    bn((4, 3, 2, 2), 3, {"fix_gamma": False}, False, wrt=None)
    bn((4, 3, 2, 2), 3, {}, False, wrt=None)


def conv_cases():
    conv = "Convolution"
    case(conv, [u(2, 3, 10), u(4, 3, 3), u(4)], {"kernel": (3,), "num_filter": 4})
    case(conv, [u(2, 3, 10), u(4, 3, 3), u(4)], {"kernel": (3,), "num_filter": 4, "stride": (2,), "pad": (1,),
                                                  "dilate": (2,)})
    case(conv, [u(2, 4, 9), u(6, 2, 2)], {"kernel": (2,), "num_filter": 6, "num_group": 2, "no_bias": True})
    case(conv, [u(2, 3, 6, 6), u(4, 3, 3, 3), u(4)], {"kernel": (3, 3), "num_filter": 4})
    case(conv, [u(2, 3, 7, 6), u(4, 3, 2, 3), u(4)], {"kernel": (2, 3), "num_filter": 4, "stride": (2, 1),
                                                       "pad": (1, 0)})
    case(conv, [u(1, 2, 7, 7), u(3, 2, 3, 3), u(3)], {"kernel": (3, 3), "num_filter": 3, "dilate": (2, 2),
                                                       "pad": (2, 1), "stride": (1, 2)})
    case(conv, [u(2, 4, 5, 5), u(6, 2, 3, 3), u(6)], {"kernel": (3, 3), "num_filter": 6, "num_group": 2,
                                                       "pad": (1, 1)})
    case(conv, [u(1, 4, 4, 4), u(4, 1, 3, 3)], {"kernel": (3, 3), "num_filter": 4, "num_group": 4,
                                                 "no_bias": True, "stride": (2, 2), "pad": (1, 1)})
    case(conv, [u(2, 3, 5, 5), u(2, 3, 1, 1), u(2)], {"kernel": (1, 1), "num_filter": 2})
    dc = "Deconvolution"
    case(dc, [u(2, 3, 4, 4), u(3, 2, 3, 3)], {"kernel": (3, 3), "num_filter": 2})
    case(dc, [u(2, 3, 4, 4), u(3, 2, 3, 3), u(2)], {"kernel": (3, 3), "num_filter": 2, "no_bias": False})
    case(dc, [u(1, 3, 4, 4), u(3, 2, 3, 3), u(2)], {"kernel": (3, 3), "num_filter": 2, "no_bias": False,
                                                     "stride": (2, 2), "pad": (1, 1), "adj": (1, 1)})
    case(dc, [u(1, 4, 3, 3), u(4, 3, 2, 2), u(6)], {"kernel": (2, 2), "num_filter": 6, "num_group": 2,
                                                     "no_bias": False, "stride": (2, 2)})
    case(dc, [u(1, 2, 3, 3), u(2, 2, 3, 3)], {"kernel": (3, 3), "num_filter": 2, "stride": (2, 2),
                                               "target_shape": (5, 5)}, native=True)
    case(dc, [u(1, 2, 4, 4), u(2, 2, 3, 3)], {"kernel": (3, 3), "num_filter": 2, "stride": (2, 2),
                                               "target_shape": (8, 8)}, native=True)
    case(dc, [u(1, 2, 3, 3), u(2, 2, 3, 3)], {"kernel": (3, 3), "num_filter": 2, "stride": (2, 2),
                                               "target_shape": (8, 8)})  # too big: an error
    case(dc, [u(1, 2, 3, 4), u(2, 1, 3, 2)], {"kernel": (3, 2), "num_filter": 1, "dilate": (2, 1),
                                               "pad": (1, 0)})
    case(dc, [u(2, 3, 5), u(3, 2, 3), u(2)], {"kernel": (3,), "num_filter": 2, "no_bias": False, "stride": (2,),
                                               "pad": (1,)})


def pooling_cases():
    """In training mode: MXNet's oneDNN max pooling needs its forward workspace for a right
    backward, which it keeps only when recording in training mode."""
    pool = functools.partial(case, train=True)
    p = "Pooling"
    x4 = lambda: u(2, 2, 5, 5, lo=-2, hi=2)  # noqa: E731
    for attrs in [{"kernel": (2, 2)}, {"kernel": (2, 2), "stride": (2, 2)},
                  {"kernel": (2, 2), "stride": (2, 2), "pooling_convention": "full"},
                  {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1)},
                  {"kernel": (2, 3), "stride": (1, 2), "pad": (0, 1)}]:
        for pt in ("max", "avg", "sum"):
            pool(p, [x4()], dict(attrs, pool_type=pt))
    pool(p, [x4()], {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1), "pool_type": "avg",
                     "count_include_pad": False})
    pool(p, [x4()], {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1), "pool_type": "avg",
                     "count_include_pad": False, "pooling_convention": "full"})
    pool(p, [x4()], {"kernel": (2, 2), "stride": (2, 2), "pool_type": "avg", "pooling_convention": "full"})
    for pv in (1, 2, 3):
        pool(p, [x4()], {"kernel": (2, 2), "stride": (2, 2), "pool_type": "lp", "p_value": pv})
    for pt in ("max", "avg", "sum"):
        pool(p, [x4()], {"global_pool": True, "pool_type": pt})
        pool(p, [u(2, 3, 7)], {"kernel": (3,), "stride": (2,), "pool_type": pt})
        # MXNet's oneDNN backward divides the partial last window by the kernel size, its forward (and
        # MXNet's own kernel) by the window's size: the native kernel is the reference here.
        pool(p, [u(2, 3, 7)], {"kernel": (2,), "stride": (2,), "pool_type": pt, "pooling_convention": "full"},
             native=pt == "avg")
        pool(p, [u(2, 3, 7)], {"global_pool": True, "pool_type": pt, "kernel": (1,)})


def optimizer_cases():
    def w():
        return [u(3, 4), u(3, 4, lo=-3, hi=3)]

    common = [{}, {"wd": 0.1, "rescale_grad": 0.5}, {"wd": 0.01, "clip_gradient": 1.0},
              {"rescale_grad": 2.0, "clip_gradient": 0.5}]
    for attrs in common:
        case("sgd_update", w(), dict(attrs, lr=0.1), wrt=None, after=True)
        case("sgd_mom_update", w() + [u(3, 4)], dict(attrs, lr=0.1, momentum=0.9), wrt=None, after=True)
        case("nag_mom_update", w() + [u(3, 4)], dict(attrs, lr=0.1, momentum=0.9), wrt=None, after=True)
        case("adam_update", w() + [u(3, 4), pos(3, 4)], dict(attrs, lr=0.01), wrt=None, after=True)
        case("rmsprop_update", w() + [pos(3, 4)], dict(attrs, lr=0.01), wrt=None, after=True)
        case("signum_update", w() + [u(3, 4)], dict(attrs, lr=0.01, momentum=0.9), wrt=None, after=True)
        case("ftrl_update", w() + [u(3, 4), pos(3, 4)], dict(attrs, lr=0.1), wrt=None, after=True)
    case("sgd_mom_update", w() + [u(3, 4)], {"lr": 0.1}, wrt=None, after=True)
    case("adam_update", w() + [u(3, 4), pos(3, 4)], {"lr": 0.01, "beta1": 0.8, "beta2": 0.9, "epsilon": 1e-3},
         wrt=None, after=True)
    case("rmsprop_update", w() + [pos(3, 4)], {"lr": 0.01, "gamma1": 0.8, "clip_weights": 0.5}, wrt=None,
         after=True)
    case("signum_update", w() + [u(3, 4)], {"lr": 0.01, "momentum": 0.9, "wd_lh": 0.1}, wrt=None, after=True)
    case("signum_update", w() + [u(3, 4)], {"lr": 0.01, "momentum": 0.0}, wrt=None, after=True)
    case("ftrl_update", w() + [u(3, 4), pos(3, 4)], {"lr": 0.1, "lamda1": 0.5, "beta": 2.0}, wrt=None,
         after=True)
    case("signsgd_update", w(), {"lr": 0.01, "wd": 0.1}, wrt=None, after=True)
    case("rmspropalex_update", w() + [pos(3, 4), u(3, 4), u(3, 4)], {"lr": 0.01}, wrt=None, after=True)


def random_cases():
    """Random ops: MXNet's output shape and dtype and one large sample (compared by distribution)."""
    n = (200, 100)
    for op, attrs in [("random_uniform", {"low": -1.0, "high": 3.0, "shape": n}),
                      ("random_uniform", {"shape": (2, 3), "dtype": "float64"}),
                      ("random_uniform", {"shape": 5}),
                      ("random_normal", {"loc": 1.0, "scale": 2.0, "shape": n}),
                      ("random_normal", {"shape": (3,), "dtype": "float16"}),
                      ("random_randint", {"low": -3, "high": 5, "shape": n}),
                      ("random_randint", {"low": 0, "high": 2, "shape": (4,), "dtype": "int64"}),
                      ("uniform", {"shape": (2, 2)}), ("normal", {"shape": (2, 2)})]:
        RANDOM.append(dict(op=op, inputs=[], attrs=attrs))
    RANDOM.append(dict(op="shuffle", inputs=[np.arange(20, dtype=np.float32).reshape(10, 2)], attrs={}))
    RANDOM.append(dict(op="Dropout", inputs=[pos(100, 200)], attrs={"p": 0.3}, train=True))
    RANDOM.append(dict(op="Dropout", inputs=[pos(100, 200)], attrs={"p": 0.5, "mode": "always"}))
    RANDOM.append(dict(op="Dropout", inputs=[pos(50, 40, 6)], attrs={"p": 0.5, "axes": (1,)}, train=True))


# ---- running MXNet --------------------------------------------------------------------------------------
def mx_op(name):
    return getattr(mx.nd, name, None) or getattr(mx.nd._internal, name)


def mx_attrs(attrs):
    return {k: (tuple(v) if isinstance(v, list) else v) for k, v in attrs.items()}


def after_indices(c):
    """The inputs compared after the call: c["after"] is a list of indices, or True for all."""
    return range(len(c["inputs"])) if c["after"] is True else (c["after"] or [])


def run_case(i, c, arrays):
    xs = [mx.nd.array(a, dtype=a.dtype) for a in c["inputs"]]
    for j, a in enumerate(c["inputs"]):
        arrays["c%d_in%d" % (i, j)] = a
    wrt = c["wrt"] or []
    for j in wrt:
        xs[j].attach_grad()
    attrs = mx_attrs(c["attrs"])
    f = mx_op(c["op"])
    try:
        with autograd.record(train_mode=c["train"]):
            out = f(*xs, **attrs)
        outs = out if isinstance(out, list) else [out]
        for o in outs:
            o.wait_to_read()
    except mx.base.MXNetError as e:
        lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
        return {"error": lines[-1][:300]}
    meta = {"num_outputs": len(outs)}
    for k, o in enumerate(outs):
        arrays["c%d_out%d" % (i, k)] = o.asnumpy()
    for j in after_indices(c):
        arrays["c%d_after%d" % (i, j)] = xs[j].asnumpy()
    if wrt:
        hrng = np.random.RandomState(1000 + i)
        heads = [hrng.uniform(-1, 1, o.shape).astype(o.dtype) for o in outs]
        autograd.backward(outs, [mx.nd.array(h, dtype=h.dtype) for h in heads])
        for k, h in enumerate(heads):
            arrays["c%d_head%d" % (i, k)] = h
        for j in wrt:
            arrays["c%d_grad%d" % (i, j)] = xs[j].grad.asnumpy()
    return meta


def run_random(i, r, arrays):
    xs = [mx.nd.array(a, dtype=a.dtype) for a in r["inputs"]]
    for j, a in enumerate(r["inputs"]):
        arrays["r%d_in%d" % (i, j)] = a
    with autograd.record(train_mode=r.get("train", False)):
        out = mx_op(r["op"])(*xs, **mx_attrs(r["attrs"]))
    arrays["r%d_sample" % i] = out.asnumpy()
    return {"shape": list(out.shape), "dtype": np.dtype(out.dtype).name}


# ---- parameter lists --------------------------------------------------------------------------------------
def mx_params(name):
    """[name, type] for each attribute in MXNet's docstring (inputs, typed NDArray, left out)."""
    doc = mx_op(name).__doc__ or ""
    body = doc.split("Parameters\n----------\n", 1)[-1].split("\nout : NDArray", 1)[0]
    params = []
    for line in body.splitlines():
        m = re.match(r"^(\w+) : (.*)$", line)
        if m and not m.group(2).startswith(("NDArray", "Symbol")):
            params.append([m.group(1), m.group(2).strip()])
    return params


def jsonable(v):
    if isinstance(v, tuple):
        return list(v)
    return v


def run_native(i, c, arrays):
    """Runs case i in a child process with MXNet's oneDNN kernels off (MXNet reads the switch once)."""
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "case.npz")
        env = dict(os.environ, MXNET_MKLDNN_ENABLED="0")
        subprocess.run([sys.executable, os.path.abspath(__file__), "--native-case", str(i), path], env=env,
                       check=True)
        with np.load(path, allow_pickle=False) as z:
            arrays.update({k: z[k] for k in z.files if k != "meta"})
            return json.loads(str(z["meta"]))


def main():
    binary_cases()
    scalar_cases()
    unary_cases()
    reduce_cases()
    shape_cases()
    linalg_cases()
    nn_cases()
    optimizer_cases()
    random_cases()
    if sys.argv[1:2] == ["--native-case"]:
        i, arrays = int(sys.argv[2]), {}
        meta = run_case(i, CASES[i], arrays)
        np.savez(sys.argv[3], meta=json.dumps(meta), **arrays)
        return
    arrays, cases, randoms = {}, [], []
    for i, c in enumerate(CASES):
        meta = (run_native if c["native"] else run_case)(i, c, arrays)
        cases.append(dict(op=c["op"], attrs={k: jsonable(v) for k, v in c["attrs"].items()}, wrt=c["wrt"],
                          train=c["train"], after=list(after_indices(c)), mxnet_limit=c["mxnet_limit"], mxnet_bug=c["mxnet_bug"], axle_lacks=c["axle_lacks"], num_inputs=len(c["inputs"]), **meta))
        if "error" in meta:
            print("case %d %s %s: MXNet raised: %s" % (i, c["op"], c["attrs"], meta["error"]), file=sys.stderr)
    for i, r in enumerate(RANDOM):
        meta = run_random(i, r, arrays)
        randoms.append(dict(op=r["op"], attrs={k: jsonable(v) for k, v in r["attrs"].items()},
                            train=r.get("train", False), num_inputs=len(r["inputs"]), **meta))
    ops = sorted({c["op"] for c in cases} | {r["op"] for r in randoms})
    doc = {"mxnet": mx.__version__, "generator": "tests/data/ops/crosscheck_mxnet.py", "cases": cases,
           "random": randoms, "params": {op: mx_params(op) for op in ops}}
    np.savez_compressed(os.path.join(HERE, "mxnet_ops.npz"), **arrays)
    with open(os.path.join(HERE, "mxnet_ops.json"), "w") as f:
        json.dump(doc, f, indent=0, sort_keys=True)
        f.write("\n")
    print("%d cases (%d MXNet errors), %d random cases, %d arrays" % (
        len(cases), sum("error" in c for c in cases), len(randoms), len(arrays)))


if __name__ == "__main__":
    main()
