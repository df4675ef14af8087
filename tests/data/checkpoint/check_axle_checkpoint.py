"""MXNet 1.9.1 loads the checkpoints Axle wrote (make_axle_checkpoint.py) and predicts on the same
inputs; fails when MXNet's predictions differ from Axle's by more than 1e-5. It also trains the
same model from the same start with MXNet's Module.fit. Writes ax_<model>-mxnet.params
({"output": MXNet's predictions from Axle's checkpoint, "arg:<name>" / "aux:<name>": the
parameters MXNet's own training ended with}) for tests/python/test_checkpoint.py. Run from the repository root:

    /work/main/.mxref/bin/python tests/data/checkpoint/check_axle_checkpoint.py
"""
import os
import sys

import mxnet as mx
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from models import FIT, MODELS, axle_checkpoint_setup  # noqa: E402


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
    sym, x, y, args0, aux0, _ = axle_checkpoint_setup(mx, name)
    trained = mx.mod.Module(sym, context=mx.cpu())
    trained.fit(mx.io.NDArrayIter(x, y, batch_size=16), arg_params=args0, aux_params=aux0, **FIT)
    arg_t, aux_t = trained.get_params()
    save = {"output": out}
    save.update({f"arg:{k}": v for k, v in arg_t.items()})
    save.update({f"aux:{k}": v for k, v in aux_t.items()})
    mx.nd.save(prefix + "-mxnet.params", save)


if __name__ == "__main__":
    for model in MODELS:
        check(model)
