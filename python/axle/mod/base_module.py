"""BaseModule: the training and inference loops (fit, score, predict, iter_predict) written once
over the computation interface (bind, init_params, init_optimizer, forward, backward, update,
update_metric, get_outputs) that Module implements, as MXNet 1.x's mx.mod.BaseModule."""
import logging
import sys
import time

import numpy as np

from .. import metric
from .. import ndarray as nd
from ..init import Uniform
from ..io import DataBatch, DataDesc
from ..model import BatchEndParam, _call_all, split_params

__all__ = ["BaseModule"]


def _check_names_match(names, descs, what, throw):
    given = [d[0] for d in descs]
    if sorted(names) != sorted(given):
        msg = (f"Data provided by {what}_shapes don't match names specified by {what}_names "
               f"({descs} vs. {names})")
        if throw:
            raise ValueError(msg)
        logging.warning(msg)


def _parse_data_desc(data_names, label_names, data_shapes, label_shapes):
    """DataDescs of data and label from DataDescs or (name, shape) pairs; data names must match."""
    def descs(shapes, what):
        out = []
        for x in shapes:
            if isinstance(x, DataDesc):
                out.append(x)
            elif isinstance(x, (tuple, list)) and len(x) == 2 and isinstance(x[0], str):
                out.append(DataDesc(x[0], tuple(x[1])))
            else:
                raise TypeError(f"bind: each of {what}_shapes must be a DataDesc or a (name, shape) pair, got {x!r}")
        return out
    data_shapes = descs(data_shapes, "data")
    _check_names_match(data_names, data_shapes, "data", True)
    if label_shapes is not None:
        label_shapes = descs(label_shapes, "label")
        _check_names_match(label_names, label_shapes, "label", False)
    else:
        _check_names_match(label_names, [], "label", False)
    return data_shapes, label_shapes


class _TerminalProgress:
    """A one-line progress bar on a terminal (stderr), redrawn every few batches:

        Epoch[0] [=========>          ] 15/31 batches"""

    def __init__(self, stream, width=30):
        self.stream = stream
        self.width = width
        self.total = None
        self.last = 0.0

    def batch(self, epoch, nbatch, total):
        now = time.monotonic()
        if now - self.last < 0.1:
            return
        self.last = now
        if total:
            done = min(self.width, int(self.width * nbatch / total))
            bar = "=" * done + (">" if done < self.width else "") + " " * (self.width - done - 1)
            line = f"Epoch[{epoch}] [{bar}] {nbatch}/{total} batches"
        else:
            line = f"Epoch[{epoch}] {nbatch} batches"
        self.stream.write("\r" + line)
        self.stream.flush()

    def end(self):
        self.stream.write("\r\033[K")
        self.stream.flush()
        self.last = 0.0


def _batches_per_epoch(data_iter):
    """The number of batches of an epoch when the iterator tells it (NDArrayIter), else None."""
    n, bs = getattr(data_iter, "num_data", None), getattr(data_iter, "batch_size", None)
    if not n or not bs:
        return None
    if getattr(data_iter, "last_batch_handle", "pad") == "pad":
        return -(-n // bs)
    return n // bs


class BaseModule:
    """A computation machine with states: bound (binded), parameters initialized, optimizer
    initialized. Subclasses implement the computation; this class the loops over data."""

    def __init__(self, logger=logging):
        self.logger = logger
        self.binded = False
        self.for_training = False
        self.inputs_need_grad = False
        self.params_initialized = False
        self.optimizer_initialized = False
        self._symbol = None
        self._total_exec_bytes = 0

    # the loops ---------------------------------------------------------------------------------
    def forward_backward(self, data_batch):
        """forward(is_train=True) then backward()."""
        self.forward(data_batch, is_train=True)
        self.backward()

    def score(self, eval_data, eval_metric, num_batch=None, batch_end_callback=None, score_end_callback=None,
              reset=True, epoch=0, sparse_row_id_fn=None):
        """Runs the data through the model (is_train=False) and returns eval_metric's
        [(name, value)] (every example of each batch counts, padding included, as in MXNet)."""
        if not (self.binded and self.params_initialized):
            raise RuntimeError("score: bind the module and initialize its parameters first")
        if reset:
            eval_data.reset()
        if not isinstance(eval_metric, metric.EvalMetric):
            eval_metric = metric.create(eval_metric)
        eval_metric.reset()
        actual_num_batch = 0
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.prepare(eval_batch, sparse_row_id_fn=sparse_row_id_fn)
            self.forward(eval_batch, is_train=False)
            self.update_metric(eval_metric, eval_batch.label)
            if batch_end_callback is not None:
                _call_all(batch_end_callback, BatchEndParam(epoch, nbatch, eval_metric, locals()))
            actual_num_batch += 1
        if score_end_callback:
            _call_all(score_end_callback, BatchEndParam(epoch, actual_num_batch, eval_metric, locals()))
        return eval_metric.get_global_name_value()

    def iter_predict(self, eval_data, num_batch=None, reset=True, sparse_row_id_fn=None):
        """Yields (outputs without the padding, batch index, batch) for each batch."""
        if not (self.binded and self.params_initialized):
            raise RuntimeError("iter_predict: bind the module and initialize its parameters first")
        if reset:
            eval_data.reset()
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.prepare(eval_batch, sparse_row_id_fn=sparse_row_id_fn)
            self.forward(eval_batch, is_train=False)
            pad = eval_batch.pad or 0
            outputs = [out[0:out.shape[0] - pad] for out in self.get_outputs()]
            yield outputs, nbatch, eval_batch

    def predict(self, eval_data, num_batch=None, merge_batches=True, reset=True, always_output_list=False,
                sparse_row_id_fn=None):
        """The outputs over eval_data (a DataIter, or one NDArray / numpy batch), padding removed;
        merged over batches into one NDArray per output (one NDArray when there is one output,
        unless always_output_list), or a list per batch when merge_batches is False."""
        if not (self.binded and self.params_initialized):
            raise RuntimeError("predict: bind the module and initialize its parameters first")
        if isinstance(eval_data, (nd.NDArray, np.ndarray)):
            if isinstance(eval_data, np.ndarray):
                eval_data = nd.array(eval_data)
            self.forward(DataBatch([eval_data]))
            return self.get_outputs()[0]
        if reset:
            eval_data.reset()
        output_list = []
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.prepare(eval_batch, sparse_row_id_fn=sparse_row_id_fn)
            self.forward(eval_batch, is_train=False)
            pad = eval_batch.pad or 0
            output_list.append([out[0:out.shape[0] - pad].copy() for out in self.get_outputs()])
        if not output_list:
            return output_list
        if not merge_batches:
            return output_list
        num_outputs = len(output_list[0])
        if any(len(out) != num_outputs for out in output_list):
            raise ValueError("predict: the batches have different numbers of outputs; pass merge_batches=False")
        merged = [nd.concatenate([out[i] for out in output_list]) for i in range(num_outputs)]
        if num_outputs == 1 and not always_output_list:
            return merged[0]
        return merged

    def fit(self, train_data, eval_data=None, eval_metric="acc", epoch_end_callback=None, batch_end_callback=None,
            kvstore="local", optimizer="sgd", optimizer_params=(("learning_rate", 0.01),), eval_end_callback=None,
            eval_batch_end_callback=None, initializer=Uniform(0.01), arg_params=None, aux_params=None,
            allow_missing=False, force_rebind=False, force_init=False, begin_epoch=0, num_epoch=None,
            validation_metric=None, monitor=None, sparse_row_id_fn=None):
        """Trains on train_data for epochs begin_epoch..num_epoch-1: binds, initializes the
        parameters and the optimizer, then per batch forward_backward, update, update_metric.
        Logs Epoch[i] Train-<metric>=..., Epoch[i] Time cost=... and, with eval_data,
        Epoch[i] Validation-<metric>=...; draws a progress bar when stderr is a terminal."""
        if num_epoch is None:
            raise ValueError("fit: please specify the number of epochs (num_epoch)")
        self.bind(data_shapes=train_data.provide_data, label_shapes=train_data.provide_label, for_training=True,
                  force_rebind=force_rebind)
        if monitor is not None:
            self.install_monitor(monitor)
        self.init_params(initializer=initializer, arg_params=arg_params, aux_params=aux_params,
                         allow_missing=allow_missing, force_init=force_init)
        self.init_optimizer(kvstore=kvstore, optimizer=optimizer, optimizer_params=optimizer_params)
        if validation_metric is None:
            validation_metric = eval_metric
        if not isinstance(eval_metric, metric.EvalMetric):
            eval_metric = metric.create(eval_metric)
        progress = _TerminalProgress(sys.stderr) if _is_terminal(sys.stderr) else None
        total = _batches_per_epoch(train_data)

        for epoch in range(begin_epoch, num_epoch):
            tic = time.time()
            eval_metric.reset()
            nbatch = 0
            data_iter = iter(train_data)
            end_of_batch = False
            next_data_batch = next(data_iter)
            eval_name_vals = []
            while not end_of_batch:
                data_batch = next_data_batch
                if monitor is not None:
                    monitor.tic()
                self.forward_backward(data_batch)
                self.update()
                self.update_metric(eval_metric, data_batch.label)
                try:
                    next_data_batch = next(data_iter)
                    self.prepare(next_data_batch, sparse_row_id_fn=sparse_row_id_fn)
                except StopIteration:
                    end_of_batch = True
                if monitor is not None:
                    monitor.toc_print()
                if end_of_batch:
                    eval_name_vals = eval_metric.get_global_name_value()
                if batch_end_callback is not None:
                    _call_all(batch_end_callback, BatchEndParam(epoch, nbatch, eval_metric, locals()))
                nbatch += 1
                if progress is not None:
                    progress.batch(epoch, nbatch, total)
            if progress is not None:
                progress.end()
                total = total or nbatch
            for name, val in eval_name_vals:
                self.logger.info("Epoch[%d] Train-%s=%f", epoch, name, val)
            self.logger.info("Epoch[%d] Time cost=%.3f", epoch, time.time() - tic)

            arg_params_now, aux_params_now = self.get_params()
            self.set_params(arg_params_now, aux_params_now)
            _call_all(epoch_end_callback, epoch, self.symbol, arg_params_now, aux_params_now)

            if eval_data:
                res = self.score(eval_data, validation_metric, score_end_callback=eval_end_callback,
                                 batch_end_callback=eval_batch_end_callback, epoch=epoch)
                for name, val in res:
                    self.logger.info("Epoch[%d] Validation-%s=%f", epoch, name, val)
            train_data.reset()

    # parameters ----------------------------------------------------------------------------------
    def save_params(self, fname):
        """Writes the parameters as an NDArray file with arg:<name> / aux:<name> keys."""
        arg_params, aux_params = self.get_params()
        save_dict = {f"arg:{k}": v.as_in_context(_cpu()) for k, v in arg_params.items()}
        save_dict.update({f"aux:{k}": v.as_in_context(_cpu()) for k, v in aux_params.items()})
        nd.save(fname, save_dict)

    def load_params(self, fname):
        """Reads parameters that save_params (or MXNet) wrote and sets them."""
        arg_params, aux_params = split_params(fname, strict=True)
        self.set_params(arg_params, aux_params)

    def prepare(self, data_batch, sparse_row_id_fn=None):
        """Prepares for the next batch (nothing to do on dense CPU arrays)."""

    def install_monitor(self, mon):
        raise NotImplementedError("install_monitor: Axle's executors have no monitor callback yet")

    @property
    def symbol(self):
        return self._symbol


def _cpu():
    from ..context import cpu
    return cpu()


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

