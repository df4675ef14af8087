"""NDArrayIter: batches from in-memory arrays (MXNet 1.x's mx.io.NDArrayIter)."""
from collections import OrderedDict

import numpy as np

from .. import ndarray as nd
from ..ndarray import NDArray
from .base import DataBatch, DataDesc, DataIter

__all__ = ["NDArrayIter"]

_LAST_BATCH = ("pad", "discard", "roll_over")


def _init_data(data, allow_empty, default_name):
    """[(name, NDArray)] sorted by name, from an array, a list of arrays or a dict name -> array.

    One unnamed array gets default_name, several get _<i>_<default_name> (as MXNet)."""
    if data is None:
        if not allow_empty:
            raise ValueError("NDArrayIter: data must be given")
        data = []
    if isinstance(data, (np.ndarray, NDArray)):
        data = [data]
    if isinstance(data, (list, tuple)):
        if not data and not allow_empty:
            raise ValueError("NDArrayIter: data must hold at least one array")
        if len(data) == 1:
            data = OrderedDict([(default_name, data[0])])
        else:
            data = OrderedDict((f"_{i}_{default_name}", d) for i, d in enumerate(data))
    if not isinstance(data, dict):
        raise TypeError(f"NDArrayIter: {default_name} must be an NDArray, a numpy.ndarray, a list of them or a "
                        f"dict with them as values, got {type(data).__name__}")
    out = {}
    for k, v in data.items():
        if not isinstance(v, NDArray):
            try:
                v = nd.array(v)
            except Exception as e:
                raise TypeError(f"NDArrayIter: invalid type {type(v).__name__} for {k!r}: it should be an NDArray or "
                                "a numpy.ndarray") from e
        out[k] = v
    return sorted(out.items())


class NDArrayIter(DataIter):
    """Iterates over NDArrays or numpy arrays in batches of batch_size along the layout's N axis.

    data, label: an array, a list of arrays or a dict name -> array (all of the same length; the
    names are sorted); shuffle reorders the examples (numpy's global generator) at every reset.
    last_batch_handle: 'pad' fills the last batch from the beginning (pad tells how many),
    'discard' drops it, 'roll_over' keeps it and completes it with the next epoch's first examples."""

    def __init__(self, data, label=None, batch_size=1, shuffle=False, last_batch_handle="pad", data_name="data",
                 label_name="softmax_label", layout="NCHW"):
        super().__init__(batch_size)
        if last_batch_handle not in _LAST_BATCH:
            raise ValueError(f"NDArrayIter: last_batch_handle must be one of {_LAST_BATCH}, got {last_batch_handle!r}")
        if int(batch_size) < 1:
            raise ValueError(f"NDArrayIter: batch_size must be positive, got {batch_size}")
        self.layout = layout
        axis = self._axis = DataDesc.get_batch_axis(layout)
        if axis < 0:
            raise ValueError(f"NDArrayIter: layout {layout!r} has no batch axis N")
        self.data = _init_data(data, allow_empty=False, default_name=data_name)
        self.label = _init_data(label, allow_empty=True, default_name=label_name)
        self.num_data = self.data[0][1].shape[axis]
        for k, v in self.data + self.label:
            if v.ndim <= axis or v.shape[axis] != self.num_data:
                raise ValueError(f"NDArrayIter: {k!r} has shape {v.shape}, but {self.data[0][0]!r} has "
                                 f"{self.num_data} examples along axis {axis}; every input needs as many")
        self.idx = np.arange(self.num_data)
        # shuffling gathers from the arrays as given, in the accumulated order of every shuffle so far
        self._source = (self.data, self.label)
        self._order = np.arange(self.num_data)
        self.shuffle = shuffle
        self.last_batch_handle = last_batch_handle
        self.batch_size = int(batch_size)
        self.cursor = -self.batch_size
        self._cache_data = None
        self._cache_label = None
        self.reset()
        self.data_list = [v for _, v in self.data] + [v for _, v in self.label]
        self.num_source = len(self.data_list)

    def _descs(self, source):
        a = self._axis
        return [DataDesc(k, tuple(v.shape[:a]) + (self.batch_size,) + tuple(v.shape[a + 1:]), v.dtype,
                         layout=self.layout) for k, v in source]

    @property
    def provide_data(self):
        return self._descs(self.data)

    @property
    def provide_label(self):
        return self._descs(self.label)

    def hard_reset(self):
        """Rewinds to the start, dropping examples kept for roll_over."""
        if self.shuffle:
            self._shuffle_data()
        self.cursor = -self.batch_size
        self._cache_data = None
        self._cache_label = None

    def reset(self):
        if self.shuffle:
            self._shuffle_data()
        # roll_over: the examples left over from the last, incomplete batch start the next epoch.
        if self.last_batch_handle == "roll_over" and self.num_data - self.batch_size < self.cursor < self.num_data:
            self.cursor = self.cursor - self.num_data - self.batch_size
        else:
            self.cursor = -self.batch_size

    def iter_next(self):
        self.cursor += self.batch_size
        return self.cursor < self.num_data

    def next(self):
        if not self.iter_next():
            raise StopIteration
        data = self.getdata()
        label = self.getlabel()
        if data[0].shape[self._axis] != self.batch_size:
            # an incomplete last batch (roll_over, discard): kept for the next epoch, not returned
            self._cache_data = data
            self._cache_label = label
            raise StopIteration
        return DataBatch(data=data, label=label, pad=self.getpad(), index=None)

    def _getdata(self, source, start=0, end=None):
        end = self.num_data if end is None else end
        if self._axis == 0:  # a view, as MXNet's x[start:end]: no copy per batch
            return [v[start:end] for _, v in source]
        return [v.slice_axis(axis=self._axis, begin=start, end=end) for _, v in source]

    def _concat(self, first, second):
        if not first or not second:
            return first if first else second
        return [nd.concatenate([a, b], axis=self._axis) for a, b in zip(first, second)]

    def _batchify(self, source):
        if self.cursor >= self.num_data:
            raise RuntimeError("NDArrayIter: the iterator is at its end; call reset()")
        bs, n, cur = self.batch_size, self.num_data, self.cursor
        if self.last_batch_handle == "roll_over" and -bs < cur < 0:
            # first batch of an epoch after roll_over: the kept examples, then the new epoch's first ones
            if self._cache_data is None and self._cache_label is None:
                raise RuntimeError("NDArrayIter: roll_over lost the examples of the previous epoch")
            if self._cache_data is not None:
                cached, self._cache_data = self._cache_data, None
            else:
                cached, self._cache_label = self._cache_label, None
            return self._concat(cached, self._getdata(source, end=cur + bs))
        if self.last_batch_handle == "pad" and cur + bs > n:
            pad = cur + bs - n
            rest = self._getdata(source, start=cur)
            whole, part = divmod(pad, n)
            fill = self._getdata(source, end=part) if part else []
            if whole:
                # the padding wraps around the data more than once (batch_size > 2 * num_data)
                reps = [nd.tile(v, reps=tuple([whole] + [1] * (v.ndim - 1))) if self._axis == 0 else
                        nd.concatenate([v] * whole, axis=self._axis) for v in self._getdata(source)]
                fill = self._concat(reps, fill)
            return self._concat(rest, fill)
        return self._getdata(source, cur, min(cur + bs, n))

    def getdata(self):
        return self._batchify(self.data)

    def getlabel(self):
        return self._batchify(self.label)

    def getpad(self):
        if self.last_batch_handle == "pad" and self.cursor + self.batch_size > self.num_data:
            return self.cursor + self.batch_size - self.num_data
        if self.last_batch_handle == "roll_over" and -self.batch_size < self.cursor < 0:
            return -self.cursor
        return 0

    def _shuffle_data(self):
        # numpy's global generator, as MXNet: np.random.seed makes the order reproducible. Like
        # MXNet, each shuffle permutes the already shuffled data (data = data[idx]).
        np.random.shuffle(self.idx)
        self._order = self._order[self.idx]
        order = nd.array(self._order, dtype=np.int64)
        self.data, self.label = ([(k, nd.take(v, order, axis=self._axis)) for k, v in src] for src in self._source)
