"""Trains the seed's MLP (784-128 relu-10, SoftmaxOutput) on MNIST with axle.mod.Module.

    python -m axle.examples.mnist                      # the bundled sample (4,000 / 1,000 digits)
    python -m axle.examples.mnist --data-dir ~/mnist   # the full data set (IDX files, .gz or not)

Logs each epoch's train and validation accuracy (and a progress bar on a terminal) and writes the
checkpoint <prefix>-symbol.json and <prefix>-<epochs:04d>.params, which MXNet 1.9.1 loads too.
"""
import argparse
import logging
import os
import sys
import time

import axle as mx


def mlp():
    """The seed's network (03_mlp_executor.py / 04_feedforward.py)."""
    data = mx.sym.Variable("data")
    label = mx.sym.Variable("softmax_label")
    l1 = mx.sym.FullyConnected(data=data, num_hidden=128, name="layer1")
    a1 = mx.sym.Activation(data=l1, act_type="relu", name="act1")
    l2 = mx.sym.FullyConnected(data=a1, num_hidden=10, name="layer2")
    return mx.sym.SoftmaxOutput(data=l2, label=label, name="softmax")


def parse_args(argv=None):
    prog = "axle-mnist" if os.path.basename(sys.argv[0]) == "axle-mnist" else "python -m axle.examples.mnist"
    ap = argparse.ArgumentParser(prog=prog, description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=None,
                    help="folder with the MNIST IDX files (train-images-idx3-ubyte[.gz], ...); default: "
                         "$AXLE_DATA_DIR/mnist when it has them, else the sample bundled with Axle")
    ap.add_argument("--epochs", type=int, default=10, help="training epochs (default 10)")
    ap.add_argument("--batch-size", type=int, default=64, help="examples per batch (default 64)")
    ap.add_argument("--lr", type=float, default=0.1, help="SGD learning rate (default 0.1)")
    ap.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the initializer and the shuffling (default 0)")
    ap.add_argument("--prefix", default="mnist_mlp",
                    help="checkpoint prefix: writes PREFIX-symbol.json and PREFIX-<epochs>.params "
                         "(default mnist_mlp); an empty string saves nothing")
    return ap.parse_args(argv)


def train(argv=None):
    """Runs the example with command-line arguments argv; returns the final validation accuracy."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    import numpy as np
    np.random.seed(args.seed)
    mx.random.seed(args.seed)
    mnist = mx.test_utils.get_mnist(args.data_dir)
    train = mx.io.NDArrayIter(mnist["train_data"].reshape(-1, 784), mnist["train_label"].astype(np.float32),
                              args.batch_size, shuffle=True)
    # validation in batches of 100: MNIST's 1,000 (sample) and 10,000 test digits need no padding
    val = mx.io.NDArrayIter(mnist["test_data"].reshape(-1, 784), mnist["test_label"].astype(np.float32), 100)
    mod = mx.mod.Module(mlp(), context=mx.cpu())
    tic = time.time()
    mod.fit(train, eval_data=val, eval_metric="acc", num_epoch=args.epochs,
            initializer=mx.init.Xavier(magnitude=2.0), optimizer="sgd",
            optimizer_params={"learning_rate": args.lr, "momentum": args.momentum})
    acc = dict(mod.score(val, "acc"))["accuracy"]
    logging.info("Trained %d epochs in %.1f s: validation accuracy %.4f", args.epochs, time.time() - tic, acc)
    if args.prefix:
        mod.save_checkpoint(args.prefix, args.epochs)
    return acc


def main(argv=None):
    """The command (python -m axle.examples.mnist, axle-mnist)."""
    train(argv)


if __name__ == "__main__":
    main()
