"""Makes training_ref.json: what MXNet 1.9.1 computes for the training library's pieces, for
tests/python/test_{optimizer,metric,io,init}.py to compare Axle with. Run from the repository root:

    .mxref/bin/python tests/data/training/make_training_fixtures.py

Contents: optimizer update sequences (weights and states after each of several steps, for each
optimizer and hyper-parameter set), lr_scheduler values, metric values (local and global) on
fixed inputs, NDArrayIter / CSVIter / MNISTIter batch sequences, initializer values and dumps, the
log lines of the callbacks."""
import gzip
import json
import logging
import os
import shutil
import tempfile

import mxnet as mx
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..")
STEPS = 4

# (name, kwargs); every optimizer sees the same weights and gradients.
OPTIMIZERS = [
    ("sgd", dict(learning_rate=0.1)),
    ("sgd", dict(learning_rate=0.1, momentum=0.9, wd=0.01, rescale_grad=0.5)),
    ("sgd", dict(learning_rate=0.1, momentum=0.9, wd=0.01, clip_gradient=0.3)),
    ("nag", dict(learning_rate=0.1, momentum=0.9, wd=0.01, rescale_grad=0.5, clip_gradient=0.8)),
    ("nag", dict(learning_rate=0.05)),
    ("adam", dict(learning_rate=0.01, wd=0.01, rescale_grad=0.5)),
    ("adam", dict(learning_rate=0.02, beta1=0.8, beta2=0.99, epsilon=1e-6, clip_gradient=0.5)),
    ("adagrad", dict(learning_rate=0.1, wd=0.01, eps=1e-6, rescale_grad=0.5)),
    ("adagrad", dict(learning_rate=0.1, clip_gradient=0.4)),
    ("rmsprop", dict(learning_rate=0.01, gamma1=0.8, wd=0.01, rescale_grad=0.5, clip_gradient=1.0)),
    ("rmsprop", dict(learning_rate=0.01, centered=True, gamma1=0.9, gamma2=0.8, wd=0.01, clip_weights=0.9)),
    ("adadelta", dict(rho=0.8, epsilon=1e-4, wd=0.01, rescale_grad=0.5)),
    ("adadelta", dict(clip_gradient=0.5)),
    ("ftrl", dict(learning_rate=0.1, lamda1=0.05, beta=0.5, wd=0.01, rescale_grad=0.5)),
    ("ftrl", dict(clip_gradient=0.5)),
    ("signum", dict(learning_rate=0.01, momentum=0.8, wd=0.01, wd_lh=0.02, rescale_grad=0.5)),
    ("signum", dict(learning_rate=0.01, momentum=0.0, wd=0.01)),
    ("sgd", dict(learning_rate=0.1, momentum=0.5,
                 lr_scheduler=("factor", dict(step=2, factor=0.5, base_lr=0.1)))),
]


def scheduler(spec):
    name, kw = spec
    cls = {"factor": mx.lr_scheduler.FactorScheduler, "multifactor": mx.lr_scheduler.MultiFactorScheduler,
           "poly": mx.lr_scheduler.PolyScheduler, "cosine": mx.lr_scheduler.CosineScheduler}[name]
    return cls(**kw)


def optimizer_cases():
    rng = np.random.RandomState(0)
    w0 = {"fc_weight": rng.uniform(-1, 1, (3, 4)).astype(np.float32),
          "fc_bias": rng.uniform(-1, 1, (4,)).astype(np.float32),
          "emb_weight": rng.uniform(-1, 1, (2, 3)).astype(np.float32)}
    grads = [{k: rng.uniform(-2, 2, v.shape).astype(np.float32) for k, v in w0.items()} for _ in range(STEPS)]
    names = list(w0)
    # lr/wd multipliers: emb_weight gets __lr_mult__ 0.5 and __wd_mult__ 2 from its symbol attributes,
    # fc_bias no weight decay (its name), fc_weight lr_mult 0.25 by set_lr_mult.
    sym = mx.sym.Group([mx.sym.Variable("fc_weight"), mx.sym.Variable("fc_bias"),
                        mx.sym.Variable("emb_weight", lr_mult=0.5, wd_mult=2.0)])
    cases = []
    for name, kw in OPTIMIZERS:
        kw = dict(kw)
        if "lr_scheduler" in kw:
            kw["lr_scheduler"] = scheduler(kw["lr_scheduler"])
        opt = mx.optimizer.create(name, param_idx2name=dict(enumerate(names)), sym=sym, **kw)
        opt.set_lr_mult({"fc_weight": 0.25})
        upd = mx.optimizer.get_updater(opt)
        w = {k: mx.nd.array(v) for k, v in w0.items()}
        steps = []
        for g in grads:
            for i, k in enumerate(names):
                upd(i, mx.nd.array(g[k]), w[k])
            steps.append({k: v.asnumpy().tolist() for k, v in w.items()})
        states = {}
        for i, k in enumerate(names):
            s = upd.states[i]
            s = [] if s is None else ([s] if isinstance(s, mx.nd.NDArray) else list(s))
            states[k] = [x.asnumpy().tolist() for x in s]
        spec = dict(OPTIMIZERS[len(cases)][1])
        cases.append({"name": name, "kwargs": spec, "steps": steps, "states": states,
                      "num_update": opt.num_update})
    return {"weights": {k: v.tolist() for k, v in w0.items()},
            "grads": [{k: v.tolist() for k, v in g.items()} for g in grads], "cases": cases}


SCHEDULERS = [
    ("factor", dict(step=3, factor=0.5, base_lr=0.1)),
    ("factor", dict(step=2, factor=0.1, stop_factor_lr=1e-3, base_lr=1.0, warmup_steps=3, warmup_begin_lr=0.1)),
    ("multifactor", dict(step=[2, 5, 7], factor=0.5, base_lr=0.2)),
    ("multifactor", dict(step=[4, 6], factor=0.1, base_lr=1.0, warmup_steps=3, warmup_mode="constant",
                         warmup_begin_lr=0.01)),
    ("poly", dict(max_update=8, base_lr=0.1, pwr=2, final_lr=0.01)),
    ("poly", dict(max_update=10, base_lr=1.0, pwr=1, warmup_steps=4, warmup_begin_lr=0.2)),
    ("cosine", dict(max_update=8, base_lr=0.1, final_lr=0.01)),
    ("cosine", dict(max_update=10, base_lr=1.0, warmup_steps=4)),
]


def scheduler_cases():
    out = []
    for spec in SCHEDULERS:
        s = scheduler(spec)
        out.append({"name": spec[0], "kwargs": spec[1], "values": [s(t) for t in range(0, 13)]})
    return out


def metric_inputs():
    rng = np.random.RandomState(1)
    batches = []
    for n in (6, 5):
        probs = rng.uniform(0.05, 1, (n, 4))
        probs /= probs.sum(axis=1, keepdims=True)
        batches.append({"probs": probs.astype(np.float32), "labels": rng.randint(0, 4, n).astype(np.float32),
                        "bin_probs": probs[:, :2] / probs[:, :2].sum(axis=1, keepdims=True),
                        "bin_labels": rng.randint(0, 2, n).astype(np.float32),
                        "reg_pred": rng.normal(0, 1, n).astype(np.float32),
                        "reg_label": rng.normal(0, 1, n).astype(np.float32)})
    return batches


METRICS = [
    ("acc", {}, "probs", "labels"),
    ("top_k_accuracy", {"top_k": 2}, "probs", "labels"),
    ("top_k_accuracy", {"top_k": 3}, "probs", "labels"),
    ("f1", {}, "bin_probs", "bin_labels"),
    ("f1", {"average": "micro"}, "bin_probs", "bin_labels"),
    ("mcc", {}, "bin_probs", "bin_labels"),
    ("mcc", {"average": "micro"}, "bin_probs", "bin_labels"),
    ("perplexity", {"ignore_label": None}, "probs", "labels"),
    ("perplexity", {"ignore_label": 1}, "probs", "labels"),
    ("mae", {}, "reg_pred", "reg_label"),
    ("mse", {}, "reg_pred", "reg_label"),
    ("rmse", {}, "reg_pred", "reg_label"),
    ("ce", {}, "probs", "labels"),
    ("ce", {"eps": 1e-3}, "probs", "labels"),
    ("nll_loss", {}, "probs", "labels"),
    ("pearsonr", {}, "reg_pred", "reg_label"),
    ("pearsonr", {"average": "micro"}, "reg_pred", "reg_label"),
    ("loss", {}, "reg_pred", "reg_label"),
]


def metric_cases(batches):
    out = []
    for name, kw, p, lb in METRICS:
        m = mx.metric.create(name, **kw)
        seq = []
        for b in batches:
            m.update([mx.nd.array(b[lb])], [mx.nd.array(b[p])])
            seq.append({"get": list(m.get()), "global": list(m.get_global())})
            m.reset_local()
        out.append({"name": name, "kwargs": kw, "pred": p, "label": lb, "seq": seq})
    comp = mx.metric.create(["acc", "ce"])
    comp.update([mx.nd.array(batches[0]["labels"])], [mx.nd.array(batches[0]["probs"])])
    return out, {"get": list(comp.get()), "name_value": comp.get_name_value()}


def ndarray_iter_cases():
    data = np.arange(40).reshape(10, 2, 2).astype(np.float32)
    label = np.arange(10).astype(np.float32)
    out = []
    for handle in ("pad", "discard", "roll_over"):
        for bs, shuffle in ((3, False), (4, True), (25, False)):
            if handle == "roll_over" and bs > 10:
                continue
            np.random.seed(7)
            it = mx.io.NDArrayIter(data, label, bs, shuffle=shuffle, last_batch_handle=handle)
            epochs = []
            for _ in range(3):
                epochs.append([{"data": b.data[0].asnumpy()[:, 0, 0].tolist(), "label": b.label[0].asnumpy().tolist(),
                                "pad": b.pad} for b in it])
                it.reset()
            out.append({"handle": handle, "batch_size": bs, "shuffle": shuffle, "epochs": epochs,
                        "provide_data": [[d.name, list(d.shape)] for d in it.provide_data],
                        "provide_label": [[d.name, list(d.shape)] for d in it.provide_label]})
    it = mx.io.NDArrayIter({"b": data, "a": data[:, :1]}, {"y": label}, 4)
    named = {"provide_data": [[d.name, list(d.shape)] for d in it.provide_data],
             "provide_label": [[d.name, list(d.shape)] for d in it.provide_label]}
    it = mx.io.NDArrayIter([data, data[:, 0]], [label, label], 5)
    named["list_data"] = [[d.name, list(d.shape)] for d in it.provide_data]
    named["list_label"] = [[d.name, list(d.shape)] for d in it.provide_label]
    return out, named


def csv_iter_cases(tmp):
    np.savetxt(os.path.join(tmp, "d.csv"), np.arange(30).reshape(10, 3), delimiter=",", fmt="%d")
    np.savetxt(os.path.join(tmp, "l.csv"), np.arange(10) * 10, delimiter=",", fmt="%d")
    out = []
    for rb in (True, False):
        it = mx.io.CSVIter(data_csv=os.path.join(tmp, "d.csv"), data_shape=(3,), label_csv=os.path.join(tmp, "l.csv"),
                           batch_size=4, round_batch=rb)
        epochs = []
        for _ in range(3):
            epochs.append([{"data": b.data[0].asnumpy()[:, 0].tolist(), "label": b.label[0].asnumpy().tolist(),
                            "pad": b.pad} for b in it])
            it.reset()
        out.append({"round_batch": rb, "epochs": epochs})
    return out


def mnist_iter_case(tmp):
    src = os.path.join(ROOT, "python", "axle", "data", "mnist")
    paths = {}
    for f in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        with gzip.open(os.path.join(src, f + ".gz")) as g, open(os.path.join(tmp, f), "wb") as o:
            shutil.copyfileobj(g, o)
        paths[f] = os.path.join(tmp, f)
    out = {}
    for parts, index in ((1, 0), (3, 1)):
        it = mx.io.MNISTIter(image=paths["t10k-images-idx3-ubyte"], label=paths["t10k-labels-idx1-ubyte"],
                             batch_size=128, shuffle=False, flat=False, num_parts=parts, part_index=index, silent=True)
        batches = list(it)
        out[f"{parts}_{index}"] = {"n_batches": len(batches),
                                   "label_sums": [float(b.label[0].asnumpy().sum()) for b in batches],
                                   "data_sums": [float(b.data[0].asnumpy().astype(np.float64).sum()) for b in batches],
                                   "first_labels": batches[0].label[0].asnumpy()[:10].tolist(),
                                   "provide_data": list(it.provide_data[0].shape),
                                   "provide_label": list(it.provide_label[0].shape)}
    return out


def init_cases():
    out = {}
    for name, init in (("bilinear", mx.init.Bilinear()), ("lstmbias", mx.init.LSTMBias(2.5)),
                       ("constant", mx.init.Constant(0.3))):
        shape = (2, 1, 4, 3) if name == "bilinear" else (8,) if name == "lstmbias" else (2, 3)
        arr = mx.nd.zeros(shape)
        init(mx.init.InitDesc("x_weight"), arr)
        out[name] = arr.asnumpy().tolist()
    out["dumps"] = [mx.init.Xavier(factor_type="in", magnitude=2.34).dumps(), mx.init.Normal(0.5).dumps(),
                    mx.init.MSRAPrelu().dumps(), mx.init.Uniform().dumps(), mx.init.Constant(2).dumps(),
                    mx.init.Orthogonal().dumps()]
    # the dispatch by name: which names get 0, 1 or the weight initializer (One, so weights are 1 too)
    names = ["fc_weight", "fc_bias", "bn_gamma", "bn_beta", "q_min", "q_max"]
    init = mx.init.Constant(7.0)
    out["dispatch"] = {}
    for n in names:
        arr = mx.nd.zeros((2,))
        init(mx.init.InitDesc(n), arr)
        out["dispatch"][n] = float(arr.asnumpy()[0])
    return out


def callback_lines():
    """The log lines of callback_calls.drive_callbacks."""
    from mxnet.model import BatchEndParam
    from callback_calls import drive_callbacks
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    root = logging.getLogger()
    handler = Keep()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        drive_callbacks(mx, BatchEndParam)
    finally:
        root.removeHandler(handler)
    return records


def main():
    res = {"mxnet": mx.__version__, "callback_lines": callback_lines()}
    logging.disable(logging.CRITICAL)
    res.update(optimizers=optimizer_cases(), schedulers=scheduler_cases())
    batches = metric_inputs()
    res["metric_inputs"] = [{k: v.tolist() for k, v in b.items()} for b in batches]
    res["metrics"], res["composite"] = metric_cases(batches)
    res["ndarray_iter"], res["ndarray_iter_named"] = ndarray_iter_cases()
    tmp = tempfile.mkdtemp()
    try:
        res["csv_iter"] = csv_iter_cases(tmp)
        res["mnist_iter"] = mnist_iter_case(tmp)
    finally:
        shutil.rmtree(tmp)
    res["init"] = init_cases()
    with open(os.path.join(HERE, "training_ref.json"), "w") as f:
        json.dump(res, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print("wrote", os.path.join(HERE, "training_ref.json"))


if __name__ == "__main__":
    main()
