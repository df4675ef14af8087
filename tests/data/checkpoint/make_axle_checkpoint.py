"""Makes the Axle-written checkpoints that check_axle_checkpoint.py loads in MXNet 1.9.1, and that
tests/python/test_checkpoint.py writes again and compares byte for byte. Run from the repository
root with Axle:

    python tests/data/checkpoint/make_axle_checkpoint.py [OUT_DIR]

For each model of models.py an axle.mod.Module trains 3 epochs of SGD (momentum 0.9) on fixed
random data from parameters drawn with numpy (models.axle_checkpoint_setup), then writes ax_<model>-symbol.json and
ax_<model>-0003.params, and ax_<model>-axle.params: {"data": fixed inputs, "output": Axle's
predictions on them}."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from models import FIT, MODELS, axle_checkpoint_setup  # noqa: E402


def write(name, out_dir):
    import axle as mx
    sym, x, y, args, aux, test_x = axle_checkpoint_setup(mx, name)
    mod = mx.mod.Module(sym, context=mx.cpu())
    mod.fit(mx.io.NDArrayIter(x, y, batch_size=16), arg_params=args, aux_params=aux, **FIT)
    prefix = os.path.join(out_dir, f"ax_{name}")
    mod.save_checkpoint(prefix, 3)
    out = mod.predict(mx.io.NDArrayIter(test_x, batch_size=16))
    mx.nd.save(prefix + "-axle.params", {"data": mx.nd.array(test_x), "output": out})


if __name__ == "__main__":
    for model in MODELS:
        write(model, sys.argv[1] if len(sys.argv) > 1 else HERE)
