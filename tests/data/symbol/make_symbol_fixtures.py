"""Makes the symbol/executor fixtures with MXNet 1.9.1 (run with the .mxref interpreter):

    .mxref/bin/python tests/data/symbol/make_symbol_fixtures.py

For each graph: <name>-symbol.json (MXNet's tojson), and in <name>.npz the argument/aux values,
head gradients, MXNet's outputs and gradients (forward is_train=True, backward), plus in
fixtures.json the listings, inferred shapes and MXNet's executor memory ("Total N MB")."""
import json
import os
import re

import mxnet as mx
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def mlp():
    data = mx.sym.Variable("data")
    label = mx.sym.Variable("softmax_label")
    w1 = mx.sym.Variable("weight1")
    b1 = mx.sym.Variable("bias1")
    l1 = mx.sym.FullyConnected(data=data, num_hidden=128, name="layer1", weight=w1, bias=b1)
    a1 = mx.sym.Activation(data=l1, act_type="relu", name="act1")
    l2 = mx.sym.FullyConnected(data=a1, num_hidden=10, name="layer2")
    return mx.sym.SoftmaxOutput(data=l2, label=label, name="softmax"), {"data": (128, 784), "softmax_label": (128,)}


# values are checked on a small batch (the memory numbers use the full one)
VALUE_BATCH = 4


def lenet():
    data = mx.sym.Variable("data")
    c1 = mx.sym.Convolution(data=data, kernel=(5, 5), num_filter=20, name="conv1")
    t1 = mx.sym.Activation(c1, act_type="tanh")
    p1 = mx.sym.Pooling(t1, pool_type="max", kernel=(2, 2), stride=(2, 2))
    c2 = mx.sym.Convolution(p1, kernel=(5, 5), num_filter=50, name="conv2")
    t2 = mx.sym.Activation(c2, act_type="tanh")
    p2 = mx.sym.Pooling(t2, pool_type="max", kernel=(2, 2), stride=(2, 2))
    f = mx.sym.Flatten(p2)
    fc1 = mx.sym.FullyConnected(f, num_hidden=500, name="fc1")
    t3 = mx.sym.Activation(fc1, act_type="tanh")
    fc2 = mx.sym.FullyConnected(t3, num_hidden=10, name="fc2")
    return mx.sym.SoftmaxOutput(fc2, name="softmax"), {"data": (128, 1, 28, 28), "softmax_label": (128,)}


def resblock():
    data = mx.sym.Variable("data")
    c1 = mx.sym.Convolution(data, kernel=(3, 3), pad=(1, 1), num_filter=4, no_bias=True, name="c1")
    b1 = mx.sym.BatchNorm(c1, fix_gamma=False, name="bn1")
    r1 = mx.sym.Activation(b1, act_type="relu")
    c2 = mx.sym.Convolution(r1, kernel=(3, 3), pad=(1, 1), num_filter=4, no_bias=True, name="c2")
    b2 = mx.sym.BatchNorm(c2, fix_gamma=False, name="bn2")
    out = mx.sym.Activation(b2 + data, act_type="relu", name="out")
    pool = mx.sym.Pooling(out, global_pool=True, pool_type="avg", kernel=(1, 1))
    fc = mx.sym.FullyConnected(pool, num_hidden=3, name="fc")
    return mx.sym.SoftmaxOutput(fc, name="softmax"), {"data": (2, 4, 5, 5), "softmax_label": (2,)}


def misc():
    a = mx.sym.Variable("a", shape=(2, 6), lr_mult=2.0, wd_mult=0.5)
    b = mx.sym.Variable("b")
    s = mx.sym.SliceChannel(a * 2 - b, num_outputs=3, axis=1, name="split")
    c = mx.sym.Concat(s[0], s[2], dim=1, name="cat")
    d = mx.sym.sum(mx.sym.exp(c / 4) + 1, axis=1, keepdims=True)
    e = (1 - d) ** 2
    return mx.sym.Group([e, s[1]]), {"a": (2, 6), "b": (2, 6)}


GRAPHS = {"mlp": mlp, "lenet": lenet, "resblock": resblock, "misc": misc}


def main():
    rng = np.random.RandomState(42)
    info = {}
    for name, make in GRAPHS.items():
        sym, shapes = make()
        sym.save(os.path.join(HERE, f"{name}-symbol.json"))
        full_shapes = shapes
        if name in ("mlp", "lenet"):
            shapes = {k: (VALUE_BATCH,) + tuple(v[1:]) for k, v in shapes.items()}
        arg_shapes, out_shapes, aux_shapes = sym.infer_shape(**shapes)
        args = {}
        for n, s in zip(sym.list_arguments(), arg_shapes):
            if n == "softmax_label":
                args[n] = rng.randint(0, 10 if name != "resblock" else 3, size=s).astype(np.float32)
            else:
                args[n] = (rng.randn(*s) * 0.1).astype(np.float32)
        aux = {n: (rng.rand(*s) + 0.5).astype(np.float32) for n, s in zip(sym.list_auxiliary_states(), aux_shapes)}
        ex = sym.simple_bind(mx.cpu(), grad_req="write", **shapes)
        for n, v in args.items():
            ex.arg_dict[n][:] = v
        for n, v in aux.items():
            ex.aux_dict[n][:] = v
        outs = [o.asnumpy() for o in ex.forward(is_train=True)]
        head = [(rng.randn(*s)).astype(np.float32) for s in out_shapes]
        ex.backward([mx.nd.array(h) for h in head])
        blob = {f"arg:{n}": v for n, v in args.items()}
        blob.update({f"aux:{n}": v for n, v in aux.items()})
        blob.update({f"head:{i}": h for i, h in enumerate(head)})
        blob.update({f"out:{i}": o for i, o in enumerate(outs)})
        blob.update({f"grad:{n}": g.asnumpy() for n, g in ex.grad_dict.items() if n != "softmax_label"})
        blob.update({f"auxafter:{n}": a.asnumpy() for n, a in ex.aux_dict.items()})
        # inference-mode outputs (BatchNorm with the moving statistics after the training step)
        blob.update({f"outinfer:{i}": o.asnumpy() for i, o in enumerate(ex.forward(is_train=False))})
        np.savez_compressed(os.path.join(HERE, f"{name}.npz"), **blob)
        ex_full = sym.simple_bind(mx.cpu(), grad_req="write", **full_shapes)
        mem = re.findall(r"Total (\d+) MB allocated", ex_full.debug_str())
        ex_null = sym.simple_bind(mx.cpu(), grad_req="null", **full_shapes)
        mem_null = re.findall(r"Total (\d+) MB allocated", ex_null.debug_str())
        # MXNet prints whole MiB only: the MLP's plan is also measured at 50x the batch
        big = {k: (v[0] * 50,) + tuple(v[1:]) for k, v in full_shapes.items()}
        mem_big = re.findall(r"Total (\d+) MB allocated",
                             sym.simple_bind(mx.cpu(), grad_req="write", **big).debug_str())
        info[name] = {
            "shapes": {k: list(v) for k, v in shapes.items()},
            "full_shapes": {k: list(v) for k, v in full_shapes.items()},
            "arguments": sym.list_arguments(), "outputs": sym.list_outputs(),
            "aux_states": sym.list_auxiliary_states(), "inputs": sym.list_inputs(),
            "internals": sym.get_internals().list_outputs(),
            "arg_shapes": [list(s) for s in arg_shapes], "out_shapes": [list(s) for s in out_shapes],
            "aux_shapes": [list(s) for s in aux_shapes],
            "attr_dict": sym.attr_dict(),
            "mxnet_train_exec_mb": [int(m) for m in mem], "mxnet_infer_exec_mb": [int(m) for m in mem_null],
            "mxnet_train_exec_mb_batch_x50": [int(m) for m in mem_big],
        }
    with open(os.path.join(HERE, "fixtures.json"), "w") as f:
        json.dump({"mxnet_version": mx.__version__, "graphs": info}, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
