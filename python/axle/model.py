"""Model checkpoints (MXNet 1.x's mx.model): save_checkpoint / load_checkpoint write and read
prefix-symbol.json and prefix-%04d.params (keys "arg:<name>" and "aux:<name>"), the files MXNet
1.9.1 reads and writes; BatchEndParam is what batch-end callbacks receive; FeedForward is the
seed's high-level model."""
import logging
import time
from collections import namedtuple

from . import ndarray as nd
from .context import cpu

__all__ = ["BatchEndParam", "FeedForward", "save_checkpoint", "load_params", "load_checkpoint"]

BatchEndParam = namedtuple("BatchEndParams", ["epoch", "nbatch", "eval_metric", "locals"])


def save_checkpoint(prefix, epoch, symbol, arg_params, aux_params, remove_amp_cast=True):
    """Writes prefix-symbol.json (when symbol is not None, through symbol.save) and
    prefix-<epoch:04d>.params with the arg_params and aux_params (dicts name -> NDArray)."""
    if symbol is not None:
        symbol.save(f"{prefix}-symbol.json")
    save_dict = {f"arg:{k}": v.as_in_context(cpu()) for k, v in arg_params.items()}
    save_dict.update({f"aux:{k}": v.as_in_context(cpu()) for k, v in aux_params.items()})
    param_name = "%s-%04d.params" % (prefix, epoch)
    nd.save(param_name, save_dict)
    logging.info('Saved checkpoint to "%s"', param_name)


def split_params(fname, strict=False):
    """(arg_params, aux_params) from a parameter file whose names are arg:<name> / aux:<name>;
    other names are skipped, or an error when strict."""
    saved = nd.load(fname)
    if not isinstance(saved, dict):
        raise ValueError(f"{fname}: holds unnamed arrays; a parameter file names them arg:<name> / aux:<name>")
    arg_params, aux_params = {}, {}
    for k, v in saved.items():
        tp, _, name = k.partition(":")
        if tp == "arg":
            arg_params[name] = v
        elif tp == "aux":
            aux_params[name] = v
        elif strict:
            raise ValueError(f"{fname}: invalid parameter name {k!r}; expected arg:<name> or aux:<name>")
    return arg_params, aux_params


def load_params(prefix, epoch):
    """(arg_params, aux_params) from prefix-<epoch:04d>.params."""
    return split_params("%s-%04d.params" % (prefix, epoch))


def load_checkpoint(prefix, epoch):
    """(symbol, arg_params, aux_params) from prefix-symbol.json and prefix-<epoch:04d>.params."""
    from . import symbol as sym  # the symbol module; imported here so this module loads without it
    symbol = sym.load(f"{prefix}-symbol.json")
    arg_params, aux_params = load_params(prefix, epoch)
    return symbol, arg_params, aux_params


def _call_all(callbacks, *args):
    if isinstance(callbacks, list):
        for cb in callbacks:
            cb(*args)
    elif callbacks:
        callbacks(*args)


class FeedForward:
    """MXNet 1.x's FeedForward model (the seed's high-level API; MXNet deprecates it in favour of
    axle.mod.Module): fit, predict, score, save, load, create over a symbol whose inputs are the
    iterator's data and label.

    X may be a numpy array or an NDArray (with y; batches of numpy_batch_size, shuffled for
    training) or a DataIter. kwargs go to the optimizer (learning_rate=0.01, momentum, wd, ...);
    gradients are rescaled by 1/batch_size."""

    def __init__(self, symbol, ctx=None, num_epoch=None, epoch_size=None, optimizer="sgd", initializer=None,
                 numpy_batch_size=128, arg_params=None, aux_params=None, allow_extra_params=False, begin_epoch=0,
                 **kwargs):
        from .context import Context
        from .init import Uniform
        from .symbol import Symbol
        if not isinstance(symbol, Symbol):
            if callable(symbol):
                raise NotImplementedError("FeedForward: a symbol generator (sym_gen, bucketing) is not supported "
                                          "by Axle; pass a Symbol")
            raise TypeError(f"FeedForward: symbol must be a Symbol, got {type(symbol).__name__}")
        self.symbol = symbol
        self.sym_gen = None
        self.arg_params = arg_params
        self.aux_params = aux_params
        self.allow_extra_params = allow_extra_params
        self._check_arguments()
        if ctx is None:
            ctx = [cpu()]
        elif isinstance(ctx, Context):
            ctx = [ctx]
        if len(ctx) != 1:
            raise NotImplementedError(f"FeedForward: training on several contexts at once ({ctx}) is not "
                                      "supported by Axle yet; pass one context")
        self.ctx = ctx
        self.num_epoch = num_epoch
        self.epoch_size = epoch_size
        self.kwargs = kwargs.copy()
        self.optimizer = optimizer
        self.initializer = initializer if initializer is not None else Uniform(0.01)
        self.numpy_batch_size = numpy_batch_size
        self.begin_epoch = begin_epoch
        self._pred_exec = None

    def _check_arguments(self):
        names = self.symbol.list_arguments()
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"FeedForward: the symbol has duplicated argument names {dup}")
        if self.allow_extra_params:
            if self.arg_params:
                self.arg_params = {k: v for k, v in self.arg_params.items() if k in set(names)}
            if self.aux_params:
                aux = set(self.symbol.list_auxiliary_states())
                self.aux_params = {k: v for k, v in self.aux_params.items() if k in aux}

    def __getstate__(self):
        this = self.__dict__.copy()
        this["_pred_exec"] = None
        return this

    def _init_params(self, inputs, overwrite=False):
        """Creates arg_params / aux_params for the input descriptions, keeping the values already
        held (unless overwrite) and initializing the others."""
        from .init import InitDesc
        from .io import DataDesc
        inputs = [x if isinstance(x, DataDesc) else DataDesc(*x) for x in inputs]
        input_shapes = {d.name: d.shape for d in inputs}
        arg_shapes, _, aux_shapes = self.symbol.infer_shape(**input_shapes)
        if arg_shapes is None:
            raise ValueError(f"FeedForward: the input shapes {input_shapes} do not decide every parameter's shape")
        arg_types, _, aux_types = self.symbol.infer_type(**{d.name: d.dtype for d in inputs})
        arg_names = self.symbol.list_arguments()
        aux_names = self.symbol.list_auxiliary_states()
        param_names = [n for n in arg_names if n not in input_shapes]
        attrs = self.symbol.attr_dict()

        def make(names, shapes, types, keep):
            out = {}
            for n, s, t in zip(names, shapes, types):
                if n not in param_names and names is arg_names:
                    continue
                out[n] = nd.zeros(s, dtype=t)
                if keep and n in keep and not overwrite:
                    out[n][:] = keep[n]
                else:
                    self.initializer(InitDesc(n, attrs.get(n)), out[n])
            return out
        self.arg_params = make(arg_names, arg_shapes, arg_types, self.arg_params)
        self.aux_params = make(aux_names, aux_shapes, aux_types, self.aux_params)
        return arg_names, param_names, aux_names

    def _init_predictor(self, input_shapes, type_dict=None):
        shapes = {n: a.shape for n, a in self.arg_params.items()}
        shapes.update(dict(input_shapes))
        if self._pred_exec is not None:
            arg_shapes, _, _ = self.symbol.infer_shape(**shapes)
            if arg_shapes == [a.shape for a in self._pred_exec.arg_arrays]:
                return
        ex = self.symbol.simple_bind(self.ctx[0], grad_req="null", type_dict=type_dict, **shapes)
        ex.copy_params_from(self.arg_params, self.aux_params)
        self._pred_exec = ex

    def _init_iter(self, X, y, is_train):
        import numpy as np
        from .io import DataIter, NDArrayIter
        if isinstance(X, (np.ndarray, nd.NDArray)):
            if y is None:
                if is_train:
                    raise ValueError("FeedForward: y must be specified when X is numpy.ndarray")
                y = np.zeros(X.shape[0])
            if not isinstance(y, (np.ndarray, nd.NDArray)):
                raise TypeError(f"FeedForward: y must be ndarray when X is numpy.ndarray, got {type(y).__name__}")
            if X.shape[0] != y.shape[0]:
                raise ValueError(f"FeedForward: the numbers of data points and labels not equal ({X.shape[0]} vs "
                                 f"{y.shape[0]})")
            if y.ndim == 2 and y.shape[1] == 1:
                y = y.flatten() if isinstance(y, np.ndarray) else y.reshape((-1,))
            if y.ndim != 1:
                raise ValueError(f"FeedForward: label must be 1D or 2D (with 2nd dimension being 1), got shape "
                                 f"{tuple(y.shape)}")
            batch_size = min(X.shape[0], self.numpy_batch_size)
            if is_train:
                return NDArrayIter(X, y, batch_size, shuffle=True, last_batch_handle="roll_over")
            return NDArrayIter(X, y, batch_size, shuffle=False)
        if not isinstance(X, DataIter):
            raise TypeError(f"FeedForward: X must be DataIter, NDArray or numpy.ndarray, got {type(X).__name__}")
        return X

    def _init_eval_iter(self, eval_data):
        import numpy as np
        from .io import DataIter
        if eval_data is None:
            return None
        if isinstance(eval_data, (tuple, list)) and len(eval_data) == 2:
            if eval_data[0] is None:
                raise ValueError("FeedForward: eval data is None")
            if eval_data[1] is None and isinstance(eval_data[0], DataIter):
                return eval_data[0]
            data = np.array(eval_data[0]) if isinstance(eval_data[0], list) else eval_data[0]
            label = np.array(eval_data[1]) if isinstance(eval_data[1], list) else eval_data[1]
            return self._init_iter(data, label, is_train=True)
        if not isinstance(eval_data, DataIter):
            raise TypeError("FeedForward: eval data must be DataIter, or NDArray/numpy.ndarray/list pair (i.e. "
                            f"tuple/list of length 2), got {type(eval_data).__name__}")
        return eval_data

    def _type_dict(self, data_iter):
        from .io import DataDesc
        types = {k: v.dtype for k, v in self.arg_params.items()}
        for x in data_iter.provide_data:
            types[x[0]] = x.dtype if isinstance(x, DataDesc) else "float32"
        return types

    def predict(self, X, num_batch=None, return_data=False, reset=True):
        """The outputs (numpy) over X, padding removed: one array for one output, else a list;
        with return_data also (data, label) as numpy."""
        import numpy as np
        X = self._init_iter(X, None, is_train=False)
        if reset:
            X.reset()
        data_names = [x[0] for x in X.provide_data]
        self._init_predictor(X.provide_data, self._type_dict(X))
        ex = self._pred_exec
        data_arrays = [ex.arg_dict[n] for n in data_names]
        outputs = [[] for _ in ex.outputs]
        data_list = [[] for _ in X.provide_data] if return_data else None
        label_list = [[] for _ in X.provide_label] if return_data else None
        for i, batch in enumerate(X):
            for dst, src in zip(data_arrays, batch.data):
                dst[:] = src
            ex.forward(is_train=False)
            real = X.batch_size - (batch.pad or 0)
            for lst, out in zip(outputs, ex.outputs):
                lst.append(out[0:real].asnumpy())
            if return_data:
                for lst, d in zip(data_list, batch.data):
                    lst.append(d[0:real].asnumpy())
                for lst, lb in zip(label_list, batch.label):
                    lst.append(lb[0:real].asnumpy())
            if num_batch is not None and i + 1 == num_batch:
                break
        outputs = [np.concatenate(x) for x in outputs]
        if len(outputs) == 1:
            outputs = outputs[0]
        if not return_data:
            return outputs
        data = [np.concatenate(x) for x in data_list]
        label = [np.concatenate(x) for x in label_list]
        return outputs, data[0] if len(data) == 1 else data, label[0] if len(label) == 1 else label

    def score(self, X, eval_metric="acc", num_batch=None, batch_end_callback=None, reset=True):
        """eval_metric's value over X (a DataIter with labels; numpy X scores against zeros)."""
        from . import metric
        if not isinstance(eval_metric, metric.EvalMetric):
            eval_metric = metric.create(eval_metric)
        X = self._init_iter(X, None, is_train=False)
        if reset:
            X.reset()
        data_names = [x[0] for x in X.provide_data]
        self._init_predictor(X.provide_data, self._type_dict(X))
        ex = self._pred_exec
        data_arrays = [ex.arg_dict[n] for n in data_names]
        for i, batch in enumerate(X):
            if num_batch is not None and i == num_batch:
                break
            for dst, src in zip(data_arrays, batch.data):
                dst[:] = src
            ex.forward(is_train=False)
            eval_metric.update(batch.label, ex.outputs)
            _call_all(batch_end_callback, BatchEndParam(0, i, eval_metric, locals()))
        return eval_metric.get()[1]

    def fit(self, X, y=None, eval_data=None, eval_metric="acc", epoch_end_callback=None, batch_end_callback=None,
            kvstore="local", logger=None, work_load_list=None, monitor=None, eval_end_callback=None,
            eval_batch_end_callback=None):
        """Trains for epochs begin_epoch..num_epoch-1 (epoch_size batches each when set). Logs
        Epoch[i] Time cost=... and, through eval_end_callback (default: one line per metric),
        Epoch[i] Validation-<metric>=...; batch_end_callback gets nbatch counted from 1."""
        from . import metric
        from . import optimizer as opt
        from .callback import LogValidationMetricsCallback
        if eval_end_callback is None:
            eval_end_callback = LogValidationMetricsCallback()
        if monitor is not None:
            raise NotImplementedError("FeedForward.fit: monitor is not supported by Axle's executors yet")
        if isinstance(kvstore, str) and "dist" in kvstore:
            raise NotImplementedError(f"FeedForward.fit: distributed kvstore {kvstore!r} is not supported by Axle")
        if self.num_epoch is None:
            raise ValueError("FeedForward.fit: num_epoch must be set to train")
        data = self._init_iter(X, y, is_train=True)
        eval_data = self._init_eval_iter(eval_data)
        arg_names, param_names, aux_names = self._init_params(data.provide_data + data.provide_label)
        if not isinstance(eval_metric, metric.EvalMetric):
            eval_metric = metric.create(eval_metric)
        idx2name = dict(enumerate(param_names))
        self.kwargs["param_idx2name"] = idx2name
        if isinstance(self.optimizer, str):
            optimizer = opt.create(self.optimizer, rescale_grad=1.0 / data.batch_size, **self.kwargs)
        elif isinstance(self.optimizer, opt.Optimizer):
            optimizer = self.optimizer
            if not optimizer.idx2name:
                optimizer.idx2name = idx2name.copy()
        else:
            raise TypeError(f"FeedForward: optimizer must be a name or an Optimizer, got "
                            f"{type(self.optimizer).__name__}")
        self._train(data, eval_data, eval_metric, optimizer, param_names, epoch_end_callback, batch_end_callback,
                    logger or logging, eval_end_callback, eval_batch_end_callback)
        self._pred_exec = None

    def _train(self, train_data, eval_data, eval_metric, optimizer, param_names, epoch_end_callback,
               batch_end_callback, logger, eval_end_callback, eval_batch_end_callback):
        from . import optimizer as opt
        shapes = {d[0]: tuple(d[1]) for d in train_data.provide_data + train_data.provide_label}
        types = {d[0]: getattr(d, "dtype", "float32") for d in train_data.provide_data + train_data.provide_label}
        reqs = {n: "write" if n in param_names else "null" for n in self.symbol.list_arguments()}
        ex = self.symbol.simple_bind(self.ctx[0], grad_req=reqs, type_dict=types, **shapes)
        ex.copy_params_from(self.arg_params, self.aux_params)
        data_names = [d[0] for d in train_data.provide_data]
        label_names = [d[0] for d in train_data.provide_label]
        inputs = [ex.arg_dict[n] for n in data_names]
        labels = [ex.arg_dict[n] for n in label_names if n in ex.arg_dict]
        updater = opt.get_updater(optimizer)
        upd = [list(t) for t in zip(*[(i, ex.grad_dict[n], ex.arg_dict[n]) for i, n in enumerate(param_names)])]
        end_epoch = self.num_epoch
        epoch_size = self.epoch_size
        train_data.reset()
        for epoch in range(self.begin_epoch, end_epoch):
            tic = time.time()
            eval_metric.reset()
            nbatch = 0
            while True:
                do_reset = True
                for batch in train_data:
                    for dst, src in zip(inputs, batch.data):
                        dst[:] = src
                    for dst, src in zip(labels, batch.label):
                        dst[:] = src
                    ex.forward(is_train=True)
                    ex.backward()
                    if upd:
                        updater(*upd)
                    eval_metric.update(batch.label, ex.outputs)
                    nbatch += 1
                    _call_all(batch_end_callback, BatchEndParam(epoch, nbatch, eval_metric, locals()))
                    if epoch_size is not None and nbatch >= epoch_size:
                        do_reset = False
                        break
                if do_reset:
                    logger.info("Epoch[%d] Resetting Data Iterator", epoch)
                    train_data.reset()
                if epoch_size is None or nbatch >= epoch_size:
                    break
            logger.info("Epoch[%d] Time cost=%.3f", epoch, time.time() - tic)
            if epoch_end_callback or epoch + 1 == end_epoch:
                for n, a in self.arg_params.items():
                    ex.arg_dict[n].copyto(a)
                for n, a in self.aux_params.items():
                    ex.aux_dict[n].copyto(a)
            _call_all(epoch_end_callback, epoch, self.symbol, self.arg_params, self.aux_params)
            if eval_data:
                self._evaluate(ex, eval_data, eval_metric, epoch, data_names, eval_end_callback,
                               eval_batch_end_callback)

    @staticmethod
    def _evaluate(ex, eval_data, eval_metric, epoch, data_names, eval_end_callback, eval_batch_end_callback):
        eval_metric.reset()
        eval_data.reset()
        inputs = [ex.arg_dict[n] for n in data_names]
        total = 0
        for i, batch in enumerate(eval_data):
            for dst, src in zip(inputs, batch.data):
                dst[:] = src
            ex.forward(is_train=False)
            eval_metric.update(batch.label, ex.outputs)
            _call_all(eval_batch_end_callback, BatchEndParam(epoch, i, eval_metric, locals()))
            total += 1
        _call_all(eval_end_callback, BatchEndParam(epoch, total, eval_metric, locals()))
        eval_data.reset()

    def save(self, prefix, epoch=None):
        """Writes prefix-symbol.json and prefix-<epoch>.params (epoch defaults to num_epoch)."""
        if epoch is None:
            epoch = self.num_epoch
        if epoch is None:
            raise ValueError("FeedForward.save: give epoch (num_epoch is not set)")
        save_checkpoint(prefix, epoch, self.symbol, self.arg_params, self.aux_params)

    @staticmethod
    def load(prefix, epoch, ctx=None, **kwargs):
        """A FeedForward over a checkpoint, continuing from epoch; kwargs go to FeedForward."""
        symbol, arg_params, aux_params = load_checkpoint(prefix, epoch)
        return FeedForward(symbol, ctx=ctx, arg_params=arg_params, aux_params=aux_params, begin_epoch=epoch,
                           **kwargs)

    @staticmethod
    def create(symbol, X, y=None, ctx=None, num_epoch=None, epoch_size=None, optimizer="sgd", initializer=None,
               eval_data=None, eval_metric="acc", epoch_end_callback=None, batch_end_callback=None, kvstore="local",
               logger=None, work_load_list=None, eval_end_callback=None, eval_batch_end_callback=None, **kwargs):
        """A FeedForward trained on X (and y) with fit."""
        model = FeedForward(symbol, ctx=ctx, num_epoch=num_epoch, epoch_size=epoch_size, optimizer=optimizer,
                            initializer=initializer, **kwargs)
        model.fit(X, y, eval_data=eval_data, eval_metric=eval_metric, epoch_end_callback=epoch_end_callback,
                  batch_end_callback=batch_end_callback, kvstore=kvstore, logger=logger,
                  work_load_list=work_load_list, eval_end_callback=eval_end_callback,
                  eval_batch_end_callback=eval_batch_end_callback)
        return model
