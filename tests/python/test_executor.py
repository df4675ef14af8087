"""Executors: bind/simple_bind, forward/backward against MXNet 1.9.1's results, grad_req
write/add/null, shared arrays, reshape, whole-graph gradients against finite differences, and
the memory planner (reuse, in-place, equality with the unplanned run, MXNet's footprint)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import axle as mx

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "data", "symbol")
with open(os.path.join(FIX, "fixtures.json")) as _f:
    INFO = json.load(_f)["graphs"]


def load(name):
    return mx.sym.load(os.path.join(FIX, f"{name}-symbol.json"))


# ---- against MXNet 1.9.1 ----------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(INFO))
def test_forward_backward_match_mxnet(name):
    """Forward (training mode), backward with random head gradients, the aux states after the
    step and a following inference forward, on MXNet's own graphs and values; rtol 1e-4."""
    s = load(name)
    f = np.load(os.path.join(FIX, f"{name}.npz"))
    ex = s.simple_bind(mx.cpu(), grad_req="write", **{k: tuple(v) for k, v in INFO[name]["shapes"].items()})
    for n in s.list_arguments():
        ex.arg_dict[n][:] = f[f"arg:{n}"]
    for n in s.list_auxiliary_states():
        ex.aux_dict[n][:] = f[f"aux:{n}"]
    outs = ex.forward(is_train=True)
    for i, o in enumerate(outs):
        np.testing.assert_allclose(o.asnumpy(), f[f"out:{i}"], rtol=1e-4, atol=1e-5, err_msg=f"output {i}")
    ex.backward([mx.nd.array(f[f"head:{i}"]) for i in range(len(outs))])
    for n in s.list_arguments():
        if n == "softmax_label":
            continue
        np.testing.assert_allclose(ex.grad_dict[n].asnumpy(), f[f"grad:{n}"], rtol=1e-4, atol=1e-5, err_msg=n)
    for n in s.list_auxiliary_states():
        np.testing.assert_allclose(ex.aux_dict[n].asnumpy(), f[f"auxafter:{n}"], rtol=1e-4, atol=1e-6, err_msg=n)
    for i, o in enumerate(ex.forward(is_train=False)):
        np.testing.assert_allclose(o.asnumpy(), f[f"outinfer:{i}"], rtol=1e-4, atol=1e-5, err_msg=f"infer {i}")


# ---- binding ----------------------------------------------------------------------------------
def mlp_symbol():
    data = mx.sym.Variable("data")
    fc1 = mx.sym.FullyConnected(data, num_hidden=8, name="fc1")
    act = mx.sym.Activation(fc1, act_type="relu", name="relu1")
    fc2 = mx.sym.FullyConnected(act, num_hidden=3, name="fc2")
    return mx.sym.SoftmaxOutput(fc2, name="softmax")


def test_seed_pattern_shared_arrays():
    net = mlp_symbol()
    ex = net.simple_bind(ctx=mx.cpu(), grad_req="write", data=(4, 5), softmax_label=(4,))
    ex_test = net.bind(ctx=mx.cpu(), grad_req="null", args=ex.arg_arrays)
    rng = np.random.RandomState(1)
    for r in ex.arg_arrays:
        r[:] = rng.randn(*r.shape) * 0.5
    ex.arg_dict["softmax_label"][:] = np.array([0, 1, 2, 1])
    ex.forward(is_train=True)
    ex.backward()
    for w, g in zip(ex.arg_arrays, ex.grad_arrays):
        w[:] = w - g * 0.1
    # the test executor sees the updated weights: same arrays
    assert ex_test.arg_arrays[1] is ex.arg_arrays[1]
    out = ex_test.forward()[0].asnumpy()
    x, w1, b1, w2, b2 = (ex.arg_dict[k].asnumpy().astype(np.float64) for k in
                        ("data", "fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias"))
    z = np.maximum(x @ w1.T + b1, 0) @ w2.T + b2
    p = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(out, p / p.sum(1, keepdims=True), rtol=1e-5, atol=1e-6)
    assert ex["fc1_weight"] is ex.arg_dict["fc1_weight"]
    assert set(ex.grad_dict) == set(net.list_arguments())
    assert list(ex.output_dict) == ["softmax_output"]


def test_bind_dict_and_errors():
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
    c = a * b
    args = {"a": mx.nd.array([1.0, 2.0]), "b": mx.nd.array([3.0, 4.0])}
    ex = c.bind(mx.cpu(), args)
    np.testing.assert_array_equal(ex.forward()[0].asnumpy(), [3.0, 8.0])
    with pytest.raises(ValueError, match="misses \\['b'\\]"):
        c.bind(mx.cpu(), {"a": args["a"]})
    with pytest.raises(ValueError, match="1 arrays, the symbol 2"):
        c.bind(mx.cpu(), [args["a"]])
    with pytest.raises(ValueError, match="elemwise_mul"):
        c.bind(mx.cpu(), {"a": args["a"], "b": mx.nd.ones((3,))})
    with pytest.raises(ValueError, match="grad_req must be one of"):
        c.bind(mx.cpu(), args, args_grad={"a": mx.nd.zeros(2)}, grad_req="sometimes")
    with pytest.raises(TypeError, match="must be an NDArray"):
        c.bind(mx.cpu(), {"a": np.ones(2), "b": args["b"]})
    bn = mx.sym.BatchNorm(a, name="bn")
    with pytest.raises(ValueError, match="auxiliary states"):
        bn.bind(mx.cpu(), {"a": mx.nd.ones((2, 3)), "bn_gamma": mx.nd.ones(3), "bn_beta": mx.nd.ones(3)})
    with pytest.raises(ValueError, match="cannot decide the shapes of"):
        mlp_symbol().simple_bind(mx.cpu())


def test_backward_needs_head_grad_for_non_loss_outputs():
    x = mx.sym.Variable("x")
    y = mx.sym.exp(x, name="e")
    ex = y.simple_bind(mx.cpu(), x=(3,))
    ex.forward(is_train=True)
    with pytest.raises(mx.AxleError, match="output 0 \\('e_output'\\) is not a loss.*head gradient is required"):
        ex.backward()
    with pytest.raises(ValueError, match="head gradient 0 .* has shape \\(4,\\)"):
        ex.backward(mx.nd.ones((4,)))
    ex.backward(mx.nd.ones((3,)))
    np.testing.assert_allclose(ex.grad_dict["x"].asnumpy(), np.exp(np.zeros(3)), rtol=1e-6)


def test_grad_req_add_null_and_dict():
    x, w = mx.sym.Variable("x"), mx.sym.Variable("w")
    y = mx.sym.sum(x * w * w)
    xv, wv = np.array([1.0, 2.0], np.float32), np.array([3.0, -1.0], np.float32)
    gx, gw = mx.nd.ones(2) * 7, mx.nd.ones(2)
    ex = y.bind(mx.cpu(), {"x": mx.nd.array(xv), "w": mx.nd.array(wv)}, args_grad={"x": gx, "w": gw},
                grad_req={"x": "null", "w": "add"})
    for _ in range(3):
        ex.forward(is_train=True)
        ex.backward(mx.nd.ones((1,)))
    np.testing.assert_allclose(gw.asnumpy(), 1 + 3 * 2 * xv * wv)  # accumulated over 3 calls
    np.testing.assert_array_equal(gx.asnumpy(), [7, 7])  # null: untouched
    # write overwrites what the array held
    ex2 = (mx.sym.sum(x) + 0).bind(mx.cpu(), {"x": mx.nd.array(xv)}, args_grad={"x": mx.nd.ones(2) * 9})
    ex2.forward(is_train=True)
    ex2.backward(mx.nd.ones((1,)))
    np.testing.assert_array_equal(ex2.grad_dict["x"].asnumpy(), [1, 1])


def test_zero_gradient_for_unused_argument():
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
    y = mx.sym.Group([a * 2, mx.sym.BlockGrad(b)])
    ga, gb = mx.nd.ones(2) * 3, mx.nd.ones(2) * 3
    ex = y.bind(mx.cpu(), {"a": mx.nd.ones(2), "b": mx.nd.ones(2)}, args_grad={"a": ga, "b": gb})
    ex.forward(is_train=True)
    ex.backward([mx.nd.ones(2), mx.nd.ones(2)])
    np.testing.assert_array_equal(ga.asnumpy(), [2, 2])
    np.testing.assert_array_equal(gb.asnumpy(), [0, 0])


def test_forward_kwargs_copy_params_reshape():
    net = mlp_symbol()
    ex = net.simple_bind(mx.cpu(), data=(4, 5), softmax_label=(4,))
    params = {n: mx.nd.array(np.random.RandomState(0).randn(*a.shape)) for n, a in ex.arg_dict.items()
              if n not in ("data", "softmax_label")}
    ex.copy_params_from(params)
    np.testing.assert_array_equal(ex.arg_dict["fc1_weight"].asnumpy(), params["fc1_weight"].asnumpy())
    with pytest.raises(ValueError, match="no argument 'nope'"):
        ex.copy_params_from({"nope": mx.nd.ones(1)})
    ex.copy_params_from({"nope": mx.nd.ones(1)}, allow_extra_params=True)
    x = np.random.RandomState(2).randn(4, 5).astype(np.float32)
    out4 = ex.forward(data=x)[0].asnumpy()
    with pytest.raises(ValueError, match="has shape \\(4, 5\\)"):
        ex.forward(data=np.ones((3, 5)))
    ex2 = ex.reshape(data=(2, 5), softmax_label=(2,))
    assert ex2.arg_dict["fc1_weight"] is ex.arg_dict["fc1_weight"]  # parameters shared
    out2 = ex2.forward(data=x[:2])[0].asnumpy()
    np.testing.assert_allclose(out2, out4[:2], rtol=1e-5)
    with pytest.raises(ValueError, match="allow_up_sizing"):
        ex.reshape(data=(8, 5), softmax_label=(8,))


def test_simple_bind_type_dict_and_shared_exec():
    x = mx.sym.Variable("x")
    y = mx.sym.FullyConnected(x, num_hidden=2, name="fc")
    ex = y.simple_bind(mx.cpu(), type_dict={"x": np.float64}, x=(3, 4))
    assert ex.arg_dict["x"].dtype == np.float64 and ex.arg_dict["fc_weight"].dtype == np.float64
    ex2 = y.simple_bind(mx.cpu(), shared_exec=ex, type_dict={"x": np.float64}, x=(3, 4))
    assert ex2.arg_dict["fc_weight"] is ex.arg_dict["fc_weight"]


def test_forward_is_asynchronous_and_errors_surface_at_wait():
    # a kernel error inside the pushed pass surfaces when the output is read, naming the op
    x = mx.sym.Variable("x")
    y = mx.sym.take(mx.sym.Variable("a"), x, mode="raise")
    ex = y.bind(mx.cpu(), {"a": mx.nd.ones((3, 2)), "x": mx.nd.array([0, 7])})
    ex.forward()
    with pytest.raises(mx.AxleError, match="take"):
        ex.outputs[0].asnumpy()
    # the executor stays usable
    ex.arg_dict["x"][:] = np.array([0, 1])
    np.testing.assert_array_equal(ex.forward()[0].asnumpy(), np.ones((2, 2)))


# ---- whole-graph gradients against finite differences ------------------------------------------
def numeric_check(sym, shapes, seed=0, eps=1e-3, rtol=2e-2, atol=2e-3, skip=("softmax_label",), labels=None,
                  aux=None):
    """Gradient of sum(out * head) wrt every argument, executor vs central differences in float64."""
    rng = np.random.RandomState(seed)
    ex = sym.simple_bind(mx.cpu(), grad_req="write", type_dict={k: np.float64 for k in shapes}, **shapes)
    vals = {}
    for n, a in ex.arg_dict.items():
        v = labels[n] if labels and n in labels else rng.randn(*a.shape) * 0.5
        a[:] = v
        vals[n] = np.array(v, dtype=np.float64)
    for n, a in ex.aux_dict.items():
        a[:] = aux[n] if aux else np.ones(a.shape)
    outs = ex.forward(is_train=True)
    heads = [rng.randn(*o.shape) for o in outs]
    ex.backward([mx.nd.array(h, dtype=np.float64) for h in heads])

    def objective():
        return sum(float((o.asnumpy() * h).sum()) for o, h in zip(ex.forward(is_train=True), heads))

    for n in ex.arg_dict:
        if n in skip:
            continue
        analytic = ex.grad_dict[n].asnumpy().copy()
        v = vals[n]
        num = np.zeros_like(v)
        flat = v.reshape(-1)
        idx = rng.choice(flat.size, size=min(flat.size, 12), replace=False)
        for i in idx:
            old = flat[i]
            flat[i] = old + eps
            ex.arg_dict[n][:] = v
            fp = objective()
            flat[i] = old - eps
            ex.arg_dict[n][:] = v
            fm = objective()
            flat[i] = old
            ex.arg_dict[n][:] = v
            num.reshape(-1)[i] = (fp - fm) / (2 * eps)
        np.testing.assert_allclose(analytic.reshape(-1)[idx], num.reshape(-1)[idx], rtol=rtol, atol=atol, err_msg=n)


def test_numeric_gradient_mlp():
    data = mx.sym.Variable("data")
    h = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=6, name="fc1"), act_type="tanh")
    h2 = mx.sym.LeakyReLU(mx.sym.FullyConnected(h, num_hidden=5, name="fc2"), act_type="leaky", slope=0.1)
    out = mx.sym.log_softmax(mx.sym.FullyConnected(h2 + h2 * h2, num_hidden=3, name="fc3"))
    numeric_check(out, {"data": (4, 7)})


def test_numeric_gradient_lenet_small():
    data = mx.sym.Variable("data")
    c1 = mx.sym.Convolution(data, kernel=(3, 3), num_filter=3, name="c1")
    p1 = mx.sym.Pooling(mx.sym.Activation(c1, act_type="tanh"), kernel=(2, 2), stride=(2, 2), pool_type="avg")
    c2 = mx.sym.Convolution(p1, kernel=(2, 2), num_filter=4, name="c2")
    p2 = mx.sym.Pooling(mx.sym.Activation(c2, act_type="sigmoid"), kernel=(2, 2), stride=(1, 1), pool_type="max")
    fc = mx.sym.FullyConnected(mx.sym.Flatten(p2), num_hidden=3, name="fc")
    numeric_check(fc, {"data": (2, 1, 9, 9)})


def test_numeric_gradient_residual_block_with_batchnorm():
    data = mx.sym.Variable("data")
    c1 = mx.sym.Convolution(data, kernel=(3, 3), pad=(1, 1), num_filter=2, no_bias=True, name="c1")
    b1 = mx.sym.BatchNorm(c1, fix_gamma=False, name="bn1")
    r1 = mx.sym.Activation(b1, act_type="tanh")
    c2 = mx.sym.Convolution(r1, kernel=(3, 3), pad=(1, 1), num_filter=2, no_bias=True, name="c2")
    b2 = mx.sym.BatchNorm(c2, fix_gamma=False, name="bn2")
    out = mx.sym.Activation(b2 + data, act_type="tanh")
    numeric_check(out, {"data": (3, 2, 4, 4)}, rtol=3e-2, atol=5e-3)


def test_loss_head_gradient_is_softmax_minus_onehot():
    data = mx.sym.Variable("data")
    s = mx.sym.SoftmaxOutput(data, name="softmax", grad_scale=2.0, normalization="batch")
    x = np.random.RandomState(0).randn(4, 3)
    lab = np.array([0, 2, 1, 2])
    ex = s.bind(mx.cpu(), {"data": mx.nd.array(x), "softmax_label": mx.nd.array(lab)},
                args_grad={"data": mx.nd.zeros((4, 3))})
    ex.forward(is_train=True)
    ex.backward()
    p = np.exp(x - x.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(ex.grad_dict["data"].asnumpy(), (p - np.eye(3)[lab]) * 2.0 / 4, rtol=1e-5, atol=1e-6)


# ---- the memory planner -----------------------------------------------------------------------
def test_planner_reuses_buffers_on_a_chain():
    x = mx.sym.Variable("x")
    y = x
    for i in range(6):
        y = mx.sym.FullyConnected(y, num_hidden=64, name=f"fc{i}")
    ex = y.simple_bind(mx.cpu(), grad_req="null", x=(32, 64))
    p = ex.memory_plan
    assert p["num_entries"] == 6
    assert p["num_buffers"] == 2  # ping-pong between two buffers, the last one holding the output
    assert p["planned_bytes"] < p["naive_bytes"] / 2
    assert f"{p['planned_bytes']} bytes in 2 buffers for 6 entries" in ex.debug_str()


def test_planner_in_place_on_elementwise_chain():
    x = mx.sym.Variable("x")
    y = mx.sym.FullyConnected(x, num_hidden=16, name="fc")
    for _ in range(4):
        y = mx.sym.sigmoid(mx.sym.relu(y) * 2 + 1)
    ex = y.simple_bind(mx.cpu(), grad_req="null", x=(8, 16))
    p = ex.memory_plan
    assert p["num_inplace"] == 16 and p["num_buffers"] == 1


def test_planner_branches_keep_live_values():
    x = mx.sym.Variable("x")
    a = mx.sym.relu(x * 3)     # read twice below: must not be overwritten in place
    y = mx.sym.exp(a) + mx.sym.sin(a) * a
    v = np.random.RandomState(0).randn(5, 7).astype(np.float32)
    ex = y.bind(mx.cpu(), {"x": mx.nd.array(v)})
    a_ = np.maximum(v.astype(np.float64) * 3, 0)
    np.testing.assert_allclose(ex.forward()[0].asnumpy(), np.exp(a_) + np.sin(a_) * a_, rtol=1e-5)
    assert ex.memory_plan["planned_bytes"] < ex.memory_plan["naive_bytes"]


PLAN_SCRIPT = r"""
import sys, json, numpy as np, axle as mx
s = mx.sym.load(sys.argv[1])
f = np.load(sys.argv[2])
shapes = json.loads(sys.argv[3])
ex = s.simple_bind(mx.cpu(), **{k: tuple(v) for k, v in shapes.items()})
for n in s.list_arguments(): ex.arg_dict[n][:] = f["arg:" + n]
for n in s.list_auxiliary_states(): ex.aux_dict[n][:] = f["aux:" + n]
outs = [o.asnumpy() for o in ex.forward(is_train=True)]
ex.backward([mx.nd.array(f["head:%d" % i]) for i in range(len(outs))])
res = {"out": [o.tolist() for o in outs], "grads": {n: g.asnumpy().tolist() for n, g in ex.grad_dict.items()},
       "plan": ex.memory_plan}
print(json.dumps(res))
"""


@pytest.mark.parametrize("name", ["resblock", "misc", "mlp"])
def test_planned_equals_unplanned(name):
    """The planned run gives exactly what one buffer per entry gives (AXLE_EXEC_PLAN_MEMORY=0),
    and pushing each node on its own (AXLE_EXEC_BULK=0) gives the same as one bulked pass."""
    res = {}
    for plan, bulk in (("1", "1"), ("0", "1"), ("1", "0")):
        env = dict(os.environ, AXLE_EXEC_PLAN_MEMORY=plan, AXLE_EXEC_BULK=bulk)
        out = subprocess.run([sys.executable, "-c", PLAN_SCRIPT, os.path.join(FIX, f"{name}-symbol.json"),
                              os.path.join(FIX, f"{name}.npz"), json.dumps(INFO[name]["shapes"])],
                             env=env, capture_output=True, text=True, check=True).stdout
        res[plan + bulk] = json.loads(out)
    res["1"], res["0"] = res["11"], res["01"]
    assert res["1"]["out"] == res["0"]["out"] == res["10"]["out"]
    assert res["1"]["grads"] == res["0"]["grads"] == res["10"]["grads"]
    assert res["0"]["plan"]["planned_bytes"] == res["0"]["plan"]["naive_bytes"]
    assert res["1"]["plan"]["planned_bytes"] < res["0"]["plan"]["planned_bytes"]


@pytest.mark.parametrize("name,key,factor", [("lenet", "mxnet_train_exec_mb", 1), ("mlp", "mxnet_train_exec_mb", 1),
                                             ("mlp", "mxnet_train_exec_mb_batch_x50", 50)])
def test_internal_memory_not_above_mxnet(name, key, factor):
    """MXNet 1.9.1 prints its executors' internal memory in whole MiB ("Total N MB allocated");
    Axle's plan for the same training executor (batch 128, or 50x for a finer MLP reading) must
    not exceed it at that resolution."""
    shapes = {k: (v[0] * factor,) + tuple(v[1:]) for k, v in INFO[name]["full_shapes"].items()}
    ex = load(name).simple_bind(mx.cpu(), grad_req="write", **shapes)
    ours_mib = ex.memory_plan["planned_bytes"] >> 20
    assert ours_mib <= INFO[name][key][0], (ex.memory_plan, INFO[name][key])


SEED = os.path.join(HERE, "..", "..", "..", "shared", "seed-examples")


@pytest.mark.skipif(not os.path.exists(os.path.join(SEED, "02_symbolic.py")), reason="seed examples not present")
def test_seed_02_symbolic_runs_unchanged():
    out = subprocess.run([sys.executable, os.path.join(SEED, "02_symbolic.py")], capture_output=True, text=True,
                         check=True).stdout
    lines = out.splitlines()
    assert lines[0] == "['A', 'B']" and lines[1] == "['_plusscalar0_output']"
    assert lines[2:5] == ["[(10,), (10,)]", "[(10,)]", "[]"]
    assert out.count("0.1 0.1 0.1 0.1 0.1 0.1 0.1 0.1 0.1 0.1") == 2  # both gradient arrays
