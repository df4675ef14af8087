"""CSVIter: batches from CSV files of numbers (MXNet 1.x's mx.io.CSVIter)."""
import os

import numpy as np

from .. import ndarray as nd
from .base import DataBatch, DataDesc, DataIter, _CurrentBatchMixin

__all__ = ["CSVIter"]

_DTYPES = {"float32": np.float32, "int32": np.int32, "int64": np.int64}


def _shape(s, what):
    if isinstance(s, str):
        s = s.strip("()[] ").split(",")
        s = [x for x in s if x.strip()]
    s = (int(s),) if isinstance(s, (int, np.integer)) else tuple(int(x) for x in s)
    if not s or any(d < 1 for d in s):
        raise ValueError(f"CSVIter: {what} must be a tuple of positive ints, got {s}")
    return s


def _read_csv(path, row_shape, dtype, what):
    path = os.fspath(path)
    width = int(np.prod(row_shape))
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as e:
        raise ValueError(f"CSVIter: {path}: not a CSV file of numbers ({e})") from None
    if table.size == 0:
        table = table.reshape(0, width)
    if table.shape[1] != width:
        raise ValueError(f"CSVIter: {path} has {table.shape[1]} columns, but {what} {row_shape} needs {width}")
    return table.astype(dtype).reshape((table.shape[0],) + row_shape)


class CSVIter(_CurrentBatchMixin, DataIter):
    """Batches of rows of a CSV file (each row reshaped to data_shape) with labels from label_csv
    (zeros when there is none; label_shape (1,) gives labels of shape (batch_size,)).

    round_batch: the last batch wraps around to the first rows (pad tells how many), and the next
    epoch starts after them, as MXNet's batch loader; otherwise the last batch is returned short of
    rows, its tail holding stale rows, with pad telling how many. dtype: float32, int32 or int64."""

    def __init__(self, data_csv, data_shape, label_csv="NULL", label_shape=(1,), batch_size=1, round_batch=True,
                 dtype="float32", data_name="data", label_name="softmax_label", **kwargs):
        super().__init__(int(batch_size))
        if self.batch_size < 1:
            raise ValueError(f"CSVIter: batch_size must be positive, got {batch_size}")
        key = np.dtype(dtype).name
        if key not in _DTYPES:
            raise ValueError(f"CSVIter: dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
        dt = _DTYPES[key]
        data_shape, label_shape = _shape(data_shape, "data_shape"), _shape(label_shape, "label_shape")
        self._data = _read_csv(data_csv, data_shape, dt, "data_shape")
        n = self._data.shape[0]
        if label_csv in (None, "NULL"):
            self._label = np.zeros((n,) + label_shape, dtype=dt)
        else:
            self._label = _read_csv(label_csv, label_shape, dt, "label_shape")
            if self._label.shape[0] != n:
                raise ValueError(f"CSVIter: {data_csv} has {n} rows but {label_csv} has {self._label.shape[0]}")
        if label_shape == (1,):
            self._label = self._label.reshape(n)
        if n == 0:
            raise ValueError(f"CSVIter: {data_csv} has no rows")
        self.round_batch = bool(round_batch)
        self.provide_data = [DataDesc(data_name, (self.batch_size,) + self._data.shape[1:], dt)]
        self.provide_label = [DataDesc(label_name, (self.batch_size,) + self._label.shape[1:], dt)]
        # persistent batch buffers: without round_batch, a short last batch keeps the older rows
        self._buf_data = np.zeros(self.provide_data[0].shape, dtype=dt)
        self._buf_label = np.zeros(self.provide_label[0].shape, dtype=dt)
        self._buf_index = np.zeros(self.batch_size, dtype=np.uint64)
        self._pos = 0
        self._overflow = 0

    def reset(self):
        # after a wrapped last batch the next epoch goes on from the wrapped rows (MXNet's BatchLoader)
        if not self.round_batch or self._overflow == 0:
            self._pos = 0
        self._overflow = 0

    def _fill(self, lo, hi, at):
        k = hi - lo
        self._buf_data[at:at + k] = self._data[lo:hi]
        self._buf_label[at:at + k] = self._label[lo:hi]
        self._buf_index[at:at + k] = np.arange(lo, hi, dtype=np.uint64)

    def iter_next(self):
        n, bs = self._data.shape[0], self.batch_size
        if self._pos >= n or self._overflow:  # after a wrapped batch the epoch is over until reset()
            return False
        top = min(bs, n - self._pos)
        self._fill(self._pos, self._pos + top, 0)
        self._pos += top
        pad = bs - top
        if pad and self.round_batch:
            at = top
            while at < bs:  # the data may be shorter than a batch
                k = min(bs - at, n)
                self._fill(0, k, at)
                at += k
            self._pos = k
            self._overflow = pad
        self.current_batch = DataBatch([nd.array(self._buf_data, dtype=self._buf_data.dtype)],
                                       [nd.array(self._buf_label, dtype=self._buf_label.dtype)], pad=pad,
                                       index=self._buf_index.copy())
        return True
