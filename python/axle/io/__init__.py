"""Data iterators (mx.io): DataDesc, DataBatch, DataIter and the iterators of MXNet 1.x."""
from .base import DataBatch, DataDesc, DataIter, PrefetchingIter, ResizeIter  # noqa: F401
from .csv_iter import CSVIter  # noqa: F401
from .mnist import MNISTIter, read_idx  # noqa: F401
from .ndarray_iter import NDArrayIter  # noqa: F401

__all__ = ["DataDesc", "DataBatch", "DataIter", "NDArrayIter", "MNISTIter", "CSVIter", "ResizeIter",
           "PrefetchingIter", "read_idx"]
