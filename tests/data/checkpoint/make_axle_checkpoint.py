"""Makes the Axle-written checkpoints that check_axle_checkpoint.py loads in MXNet 1.9.1, and that
tests/python/test_checkpoint.py writes again and compares byte for byte. Run from the repository
root with Axle:

    python tests/data/checkpoint/make_axle_checkpoint.py [OUT_DIR]

For each model of models.py an axle.mod.Module trains 3 epochs of SGD (momentum 0.9) on fixed
random data from parameters drawn with numpy (seeded), then writes ax_<model>-symbol.json and
ax_<model>-0003.params, and ax_<model>-axle.params: {"data": fixed inputs, "output": Axle's
predictions on them}."""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from models import MODELS  # noqa: E402


def write(name, out_dir):
    import axle as mx
    build, shape = MODELS[name]
    rng = np.random.RandomState(7)
    x = rng.rand(64, *shape).astype(np.float32)
    y = rng.randint(0, 10, 64).astype(np.float32)
    it = mx.io.NDArrayIter(x, y, batch_size=16)
    sym = build(mx)
    arg_shapes, _, aux_shapes = sym.infer_shape(data=(16,) + shape)
    args = {n: mx.nd.array(rng.uniform(-0.3, 0.3, s)) for n, s in zip(sym.list_arguments(), arg_shapes)
            if n not in ("data", "softmax_label")}
    aux = {n: mx.nd.array(rng.uniform(0.5, 1.5, s)) for n, s in zip(sym.list_auxiliary_states(), aux_shapes)}
    mod = mx.mod.Module(sym, context=mx.cpu())
    mod.fit(it, num_epoch=3, arg_params=args, aux_params=aux, optimizer="sgd",
            optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    prefix = os.path.join(out_dir, f"ax_{name}")
    mod.save_checkpoint(prefix, 3)
    test_x = rng.rand(10, *shape).astype(np.float32)
    out = mod.predict(mx.io.NDArrayIter(test_x, batch_size=16))
    mx.nd.save(prefix + "-axle.params", {"data": mx.nd.array(test_x), "output": out})


if __name__ == "__main__":
    for model in MODELS:
        write(model, sys.argv[1] if len(sys.argv) > 1 else HERE)
