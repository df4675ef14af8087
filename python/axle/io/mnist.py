"""MNIST: the IDX file reader and MNISTIter (MXNet 1.x's mx.io.MNISTIter)."""
import logging
import math
import os
import zlib

import numpy as np

from .. import ndarray as nd
from .base import DataBatch, DataDesc, DataIter, _CurrentBatchMixin

__all__ = ["read_idx", "MNISTIter"]


def _gunzip(raw, path):
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip framing
    try:
        out = d.decompress(raw)
    except zlib.error as e:
        raise ValueError(f"{path}: not a valid gzip file ({e})") from None
    if not d.eof:
        raise ValueError(f"{path}: not a valid gzip file (the compressed stream is truncated)")
    return out


def read_idx(path, ndim=None):
    """The uint8 array stored in an IDX file (gzipped or not, told by its first bytes).

    ndim: the number of dimensions the file must have (3 for images, 1 for labels). Bad files raise
    ValueError naming the file: bad magic number (wrong type or rank), truncated or too long."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = _gunzip(raw, path)
    if len(raw) < 4:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    rank = raw[3]
    # 0x00 0x00, then the element type (0x08: unsigned byte, the only one MNIST uses), then the rank
    if raw[:3] != b"\x00\x00\x08" or (ndim is not None and rank != ndim):
        want = f"0x{0x800 + ndim:08x}" if ndim is not None else "0x0000080N"
        raise ValueError(f"{path}: bad magic number 0x{magic:08x}, expected {want} (an IDX file of unsigned bytes"
                         f"{'' if ndim is None else f' with {ndim} dimensions'})")
    if len(raw) < 4 + 4 * rank:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=rank, offset=4))
    start = 4 + 4 * rank
    size = math.prod(shape)  # Python ints: the product of 255 dims of up to 2^32 - 1 cannot wrap
    if len(raw) - start != size:
        what = "truncated" if len(raw) - start < size else "longer than its header says"
        raise ValueError(f"{path}: {what}: header shape {shape} needs {size} bytes of data, the file has "
                         f"{len(raw) - start}")
    return np.frombuffer(raw, dtype=np.uint8, offset=start).reshape(shape)


def read_mnist(image, label):
    """(images (N, rows, cols) uint8, labels (N,) uint8) from a pair of IDX files."""
    images = read_idx(image, ndim=3)
    labels = read_idx(label, ndim=1)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"MNIST: {image} holds {images.shape[0]} images but {label} holds {labels.shape[0]} labels")
    return images, labels


class MNISTIter(_CurrentBatchMixin, DataIter):
    """Batches of MNIST digits from IDX files (gzipped or not), as MXNet's MNISTIter.

    Pixels are scaled by 1/256 to [0, 1); data is (batch_size, 1, rows, cols), or (batch_size,
    rows*cols) when flat; labels (batch_size,) float32. shuffle reorders the examples once, when the
    iterator is made (numpy RandomState(seed)). An incomplete last batch is dropped (pad is 0).
    num_parts / part_index read only that part of the files (for distributed training)."""

    def __init__(self, image="./train-images-idx3-ubyte", label="./train-labels-idx1-ubyte", batch_size=128,
                 shuffle=True, flat=False, seed=0, silent=False, num_parts=1, part_index=0,
                 data_name="data", label_name="softmax_label", **kwargs):
        super().__init__(int(batch_size))
        if self.batch_size < 1:
            raise ValueError(f"MNISTIter: batch_size must be positive, got {batch_size}")
        num_parts, part_index = int(num_parts), int(part_index)
        if num_parts < 1 or not 0 <= part_index < num_parts:
            raise ValueError(f"MNISTIter: part_index must be in [0, num_parts), got part_index={part_index}, "
                             f"num_parts={num_parts}")
        images, labels = read_mnist(image, label)
        n = images.shape[0]
        start, end = int(n / num_parts * part_index), int(n / num_parts * (part_index + 1))
        images, labels = images[start:end], labels[start:end]
        self._index = np.arange(start, end, dtype=np.uint64)
        if shuffle:
            perm = np.random.RandomState(int(seed)).permutation(len(labels))
            images, labels, self._index = images[perm], labels[perm], self._index[perm]
        rows, cols = images.shape[1:]
        shape = (rows * cols,) if flat else (1, rows, cols)
        # one bulk conversion; the multiplication by 1/256 matches MXNet's values bit for bit
        self._images = images.reshape((len(labels),) + shape).astype(np.float32) * np.float32(1.0 / 256.0)
        self._labels = labels.astype(np.float32)
        self.provide_data = [DataDesc(data_name, (self.batch_size,) + shape, np.float32)]
        self.provide_label = [DataDesc(label_name, (self.batch_size,), np.float32)]
        self._loc = 0
        if not silent:
            logging.info("MNISTIter: load %d images, shuffle=%d, shape=%s", len(labels), int(bool(shuffle)),
                         (self.batch_size,) + shape)

    def reset(self):
        self._loc = 0

    def iter_next(self):
        lo, hi = self._loc, self._loc + self.batch_size
        if hi > len(self._labels):
            return False
        self.current_batch = DataBatch([nd.array(self._images[lo:hi])], [nd.array(self._labels[lo:hi])], pad=0,
                                       index=self._index[lo:hi])
        self._loc = hi
        return True
