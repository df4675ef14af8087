"""Runs the seed's examples (03_mlp_executor.py, 04_feedforward.py) on the bundled MNIST split, with
Axle or with MXNet 1.9.1, changing only the MNIST loader line:

    from mnist_view import OfficialVectorClassification

becomes a class of the same name over Axle's io (mx.test_utils.get_mnist, the bundled sample) or,
for MXNet, over the same bundled IDX files read with numpy (MXNet's get_mnist would download the
full set). tests/python/test_seed_examples.py uses this with Axle; run as a script with MXNet it
measures what MXNet reaches and writes seed_mxnet.json beside it:

    /work/main/.mxref/bin/python tests/data/seed/seed_runner.py --runs 5
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
BUNDLED = os.path.join(ROOT, "python", "axle", "data", "mnist")
LOADER_LINE = "from mnist_view import OfficialVectorClassification\n"

_ADAPTER = '''
class OfficialVectorClassification:
    """skdata's MNIST view over {what}: raw 0..255 vectors, train indices then test indices."""
    def __init__(self):
{load}
        self.all_vectors = np.concatenate([train.reshape(len(train), -1), test.reshape(len(test), -1)])
        self.all_vectors = self.all_vectors.astype(np.float32)
        self.all_labels = np.concatenate([train_label, test_label]).astype(np.int64)
        self.sel_idxs = np.arange(len(train))
        self.val_idxs = np.arange(len(train), len(train) + len(test))
'''

AXLE_LOADER = _ADAPTER.format(what="Axle's io (the bundled sample)", load='''\
        m = mx.test_utils.get_mnist()
        train, test = m["train_data"] * 255.0, m["test_data"] * 255.0
        train_label, test_label = m["train_label"], m["test_label"]''')

MXNET_LOADER = _ADAPTER.format(what="Axle's bundled IDX files read with numpy", load=f'''\
        import gzip
        def idx(name, offset):
            with gzip.open({BUNDLED!r} + "/" + name) as f:
                return np.frombuffer(f.read(), np.uint8, offset=offset)
        train = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32)
        test = idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32)
        train_label, test_label = idx("train-labels-idx1-ubyte.gz", 8), idx("t10k-labels-idx1-ubyte.gz", 8)''')


def find_seed_dir():
    """The seed's examples: $AXLE_SEED_EXAMPLES, ../shared/seed-examples beside the repository, or
    /work/shared/seed-examples; None when none exists."""
    for d in (os.environ.get("AXLE_SEED_EXAMPLES"), os.path.join(os.path.dirname(ROOT), "shared", "seed-examples"),
              "/work/shared/seed-examples"):
        if d and os.path.isfile(os.path.join(d, "03_mlp_executor.py")):
            return d
    return None


def patched(text, loader, framework="axle"):
    """The seed's text with its loader line replaced (exactly one occurrence; an error otherwise),
    and for MXNet `import axle as mx` replaced by `import mxnet as mx`."""
    if text.count(LOADER_LINE) != 1:
        raise ValueError(f"the seed example no longer has exactly one line {LOADER_LINE.strip()!r}")
    text = text.replace(LOADER_LINE, loader)
    if framework == "mxnet":
        if text.count("import axle as mx\n") != 1:
            raise ValueError("the seed example no longer has exactly one line 'import axle as mx'")
        text = text.replace("import axle as mx\n", "import mxnet as mx\n")
    return text


def accuracies(name, output):
    """Per-epoch test accuracies from the example's output."""
    if name.startswith("03"):
        return [float(x) for x in re.findall(r"Accuracy thus far ([0-9.]+)", output)]
    return [float(x) for x in re.findall(r"Validation-accuracy=([0-9.]+)", output)]


def run(name, loader, framework, python=sys.executable, timeout=600, env=None):
    seed_dir = find_seed_dir()
    with open(os.path.join(seed_dir, name)) as f:
        code = patched(f.read(), loader, framework)
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed ({proc.returncode}):\n{out[-3000:]}")
    return accuracies(name, out), out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="runs per example (their initialization is unseeded)")
    args = ap.parse_args()
    import mxnet
    res = {"mxnet": mxnet.__version__, "runs": args.runs}
    # MXNet's MKLDNN FullyConnected in 03's loop (forward() is is_train=False there) holds it at
    # ~0.7; with MKLDNN off it learns as the same algorithm in numpy float64 does (~0.90).
    cases = [("03_mlp_executor.py", {}), ("04_feedforward.py", {}),
             ("03_mlp_executor.py", {"MXNET_MKLDNN_ENABLED": "0"})]
    for name, env in cases:
        finals = []
        for _ in range(args.runs):
            acc, _ = run(name, MXNET_LOADER, "mxnet", env=env)
            finals.append(acc[-1])
            print(name, env, acc, flush=True)
        key = name + "".join(f" {k}={v}" for k, v in env.items())
        res[key] = {"final_accuracy": finals, "min": min(finals), "max": max(finals), "epochs": len(acc)}
    with open(os.path.join(HERE, "seed_mxnet.json"), "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
