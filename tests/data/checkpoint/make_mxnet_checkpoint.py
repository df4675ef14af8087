"""Makes the MXNet-written checkpoints that tests/python/test_checkpoint.py loads in Axle. Run from
the repository root with MXNet 1.9.1:

    /work/main/.mxref/bin/python tests/data/checkpoint/make_mxnet_checkpoint.py

For each model of models.py (mlp; bn, whose BatchNorm has aux states) MXNet's Module trains 3 epochs of SGD
on fixed random data and writes mx_<model>-symbol.json and mx_<model>-0003.params, then predicts
on fixed inputs: mx_<model>-expected.params holds {"data": inputs, "output": predictions}."""
import os
import sys

import mxnet as mx
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from models import MODELS  # noqa: E402


def make(name):
    build, shape = MODELS[name]
    rng = np.random.RandomState(42)
    x = rng.rand(64, *shape).astype(np.float32)
    y = rng.randint(0, 10, 64).astype(np.float32)
    mx.random.seed(1)
    it = mx.io.NDArrayIter(x, y, batch_size=16)
    mod = mx.mod.Module(build(mx), context=mx.cpu())
    mod.fit(it, num_epoch=3, initializer=mx.init.Xavier(), optimizer="sgd",
            optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    prefix = os.path.join(HERE, f"mx_{name}")
    mod.save_checkpoint(prefix, 3)
    test_x = rng.rand(10, *shape).astype(np.float32)
    out = mod.predict(mx.io.NDArrayIter(test_x, batch_size=16))  # 10 examples: the batch is padded
    mx.nd.save(prefix + "-expected.params", {"data": mx.nd.array(test_x), "output": out})


if __name__ == "__main__":
    for model in MODELS:
        make(model)
