"""MXNet 1.9.1 loads the checkpoints Axle wrote (make_axle_checkpoint.py) and predicts on the same
inputs; writes ax_<model>-mxnet.params ({"output": MXNet's predictions}) for
tests/python/test_checkpoint.py, and fails when MXNet's predictions differ from Axle's by more
than 1e-5. Run from the repository root:

    /work/main/.mxref/bin/python tests/data/checkpoint/check_axle_checkpoint.py
"""
import os
import sys

import mxnet as mx
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from models import MODELS  # noqa: E402


def check(name):
    prefix = os.path.join(HERE, f"ax_{name}")
    sym, args, aux = mx.model.load_checkpoint(prefix, 3)
    expected = mx.nd.load(prefix + "-axle.params")
    x = expected["data"]
    mod = mx.mod.Module(sym, context=mx.cpu())
    mod.bind([("data", (16,) + x.shape[1:])], [("softmax_label", (16,))], for_training=False)
    mod.set_params(args, aux)
    out = mod.predict(mx.io.NDArrayIter(x, batch_size=16))
    err = float(np.abs(out.asnumpy() - expected["output"].asnumpy()).max())
    print(f"ax_{name}: {sorted(args)} + aux {sorted(aux)}; max |MXNet - Axle| = {err:.2e}")
    if err > 1e-5:
        raise SystemExit(f"ax_{name}: MXNet's predictions differ from Axle's by {err}")
    mx.nd.save(prefix + "-mxnet.params", {"output": out})


if __name__ == "__main__":
    for model in MODELS:
        check(model)
