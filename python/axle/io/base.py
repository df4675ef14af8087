"""The iterator protocol of MXNet 1.x: DataDesc, DataBatch, DataIter, and the wrappers around other
iterators (ResizeIter, PrefetchingIter)."""
import threading
from collections import namedtuple

import numpy as np

__all__ = ["DataDesc", "DataBatch", "DataIter", "ResizeIter", "PrefetchingIter"]


class DataDesc(namedtuple("DataDesc", ["name", "shape"])):
    """Name and shape of an input (a tuple, as MXNet's), with dtype and layout as attributes.

    The layout names the axes: "NCHW" images, "NTC" sequences; "N" is the batch axis."""

    def __new__(cls, name, shape, dtype=np.float32, layout="NCHW"):
        ret = super().__new__(cls, name, shape)
        ret.dtype = dtype
        ret.layout = layout
        return ret

    def __repr__(self):
        return f"DataDesc[{self.name},{self.shape},{self.dtype},{self.layout}]"

    @staticmethod
    def get_batch_axis(layout):
        """The batch axis of a layout (0 when there is none given)."""
        return 0 if layout is None else layout.find("N")

    @staticmethod
    def get_list(shapes, types):
        """DataDescs from [(name, shape)] and optionally [(name, dtype)]."""
        if types is None:
            return [DataDesc(n, s) for n, s in shapes]
        dtypes = dict(types)
        return [DataDesc(n, s, dtypes[n]) for n, s in shapes]


class DataBatch:
    """One batch: lists of data and label NDArrays, the number of padded examples at its end, and
    optionally the example indices, a bucket key and the descriptions of data and label."""

    def __init__(self, data, label=None, pad=None, index=None, bucket_key=None, provide_data=None,
                 provide_label=None):
        if data is not None and not isinstance(data, (list, tuple)):
            raise TypeError(f"DataBatch: data must be a list of NDArrays, got {type(data).__name__}")
        if label is not None and not isinstance(label, (list, tuple)):
            raise TypeError(f"DataBatch: label must be a list of NDArrays, got {type(label).__name__}")
        self.data = data
        self.label = label
        self.pad = pad
        self.index = index
        self.bucket_key = bucket_key
        self.provide_data = provide_data
        self.provide_label = provide_label

    def __str__(self):
        data_shapes = [d.shape for d in self.data]
        label_shapes = [lb.shape for lb in self.label] if self.label else None
        return f"{type(self).__name__}: data shapes: {data_shapes} label shapes: {label_shapes}"


class DataIter:
    """Base of the iterators: next() returns a DataBatch until StopIteration; reset() rewinds.

    Subclasses either override next(), or iter_next() plus the getdata/getlabel/getpad/getindex
    accessors of the current batch."""

    def __init__(self, batch_size=0):
        self.batch_size = batch_size

    def __iter__(self):
        return self

    def reset(self):
        """Rewinds to the beginning of the data."""

    def next(self):
        if self.iter_next():
            return DataBatch(data=self.getdata(), label=self.getlabel(), pad=self.getpad(),
                             index=self.getindex())
        raise StopIteration

    def __next__(self):
        return self.next()

    def iter_next(self):
        """Moves to the next batch; False at the end."""
        return False

    def getdata(self):
        return None

    def getlabel(self):
        return None

    def getindex(self):
        return None

    def getpad(self):
        return 0


class _CurrentBatchMixin:
    """next() and the accessors of an iterator whose iter_next() leaves the batch in current_batch."""

    current_batch = None

    def next(self):
        if self.iter_next():
            return self.current_batch
        raise StopIteration

    def getdata(self):
        return self.current_batch.data

    def getlabel(self):
        return self.current_batch.label

    def getindex(self):
        return self.current_batch.index

    def getpad(self):
        return self.current_batch.pad


class ResizeIter(_CurrentBatchMixin, DataIter):
    """Makes an epoch of data_iter exactly `size` batches long, restarting data_iter when it ends
    early; reset() rewinds data_iter too when reset_internal."""

    def __init__(self, data_iter, size, reset_internal=True):
        super().__init__()
        self.data_iter = data_iter
        self.size = int(size)
        self.reset_internal = reset_internal
        self.cur = 0
        self.provide_data = data_iter.provide_data
        self.provide_label = data_iter.provide_label
        self.batch_size = data_iter.batch_size
        if hasattr(data_iter, "default_bucket_key"):
            self.default_bucket_key = data_iter.default_bucket_key

    def reset(self):
        self.cur = 0
        if self.reset_internal:
            self.data_iter.reset()

    def iter_next(self):
        if self.cur == self.size:
            return False
        try:
            self.current_batch = self.data_iter.next()
        except StopIteration:
            self.data_iter.reset()
            self.current_batch = self.data_iter.next()
        self.cur += 1
        return True


class _Prefetcher:
    """One iterator and the thread that reads its next batch ahead. The thread holds this object,
    not the PrefetchingIter, so an unreferenced PrefetchingIter is collected and stops its threads."""

    def __init__(self, it):
        self.it = it
        self.ready = threading.Event()
        self.taken = threading.Event()
        self.taken.set()
        self.running = True
        self.batch = None
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            self.taken.wait()
            # cleared before reading, so a stop() that comes while reading still wakes the next wait
            self.taken.clear()
            if not self.running:
                break
            try:
                self.batch = self.it.next()
            except StopIteration:
                self.batch = None
            except Exception as e:  # handed to the consumer, raised by PrefetchingIter.iter_next
                self.batch, self.error = None, e
            self.ready.set()

    def take(self):
        """Waits for the batch read ahead; raises what reading it raised."""
        self.ready.wait()
        if self.error is not None:
            err, self.error = self.error, None
            raise err
        return self.batch

    def fetch_next(self):
        self.ready.clear()
        self.taken.set()

    def stop(self):
        self.running = False
        self.taken.set()
        if self.thread is not threading.current_thread():
            self.thread.join()


class PrefetchingIter(_CurrentBatchMixin, DataIter):
    """Reads the next batch of each iterator in a background thread while the current one is used.

    iters: a DataIter or a list of them (their batches are joined: data lists and label lists
    concatenated); rename_data / rename_label: one {old name: new name} dict per iterator.
    close() stops the threads (so does garbage collection)."""

    def __init__(self, iters, rename_data=None, rename_label=None):
        super().__init__()
        iters = iters if isinstance(iters, list) else [iters]
        if not iters:
            raise ValueError("PrefetchingIter: iters must hold at least one DataIter")
        self.n_iter = len(iters)
        self.iters = iters
        self.rename_data = rename_data
        self.rename_label = rename_label
        self.batch_size = self.provide_data[0][1][0]
        self._prefetchers = [_Prefetcher(it) for it in iters]

    def close(self):
        """Stops the prefetching threads."""
        for p in getattr(self, "_prefetchers", []):
            p.stop()
        self._prefetchers = []

    def __del__(self):
        self.close()

    @staticmethod
    def _renamed(descs, renames):
        if renames is None:
            return sum(descs, [])
        return sum([[DataDesc(r[d.name], d.shape, d.dtype) if isinstance(d, DataDesc) else DataDesc(*d)
                     for d in ds] for r, ds in zip(renames, descs)], [])

    @property
    def provide_data(self):
        return self._renamed([it.provide_data for it in self.iters], self.rename_data)

    @property
    def provide_label(self):
        return self._renamed([it.provide_label for it in self.iters], self.rename_label)

    def _check_open(self):
        if not self._prefetchers:
            raise RuntimeError("PrefetchingIter: the iterator is closed")

    def reset(self):
        self._check_open()
        for p in self._prefetchers:
            p.ready.wait()
        for it in self.iters:
            it.reset()
        for p in self._prefetchers:
            p.error = None
            p.fetch_next()

    def iter_next(self):
        self._check_open()
        batches = [p.take() for p in self._prefetchers]
        if batches[0] is None:
            if any(b is not None for b in batches):
                raise ValueError("PrefetchingIter: the iterators ended after different numbers of batches")
            return False
        if any(b is None or b.pad != batches[0].pad for b in batches):
            raise ValueError("PrefetchingIter: the iterators' batches differ in padding "
                             f"({[None if b is None else b.pad for b in batches]})")
        self.current_batch = DataBatch(sum([b.data for b in batches], []), sum([b.label for b in batches], []),
                                       batches[0].pad, batches[0].index, provide_data=self.provide_data,
                                       provide_label=self.provide_label)
        for p in self._prefetchers:
            p.fetch_next()
        return True
