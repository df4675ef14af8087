"""Evaluation metrics (MXNet 1.9's mx.metric).

A metric accumulates sum_metric / num_inst over update(labels, preds) calls (lists of NDArrays,
one per output) and reports get() -> (name, value). Each also keeps global statistics that
reset_local() leaves alone (get_global), as MXNet 1.9 does for its epoch-level reporting."""
import math
from collections import OrderedDict

import numpy

from . import ndarray as nd
from . import registry
from .ndarray._op import invoke as _invoke
from .ndarray.ndarray import _OPS as _OP

_INT32 = {"dtype": "int32"}

__all__ = ["EvalMetric", "CompositeEvalMetric", "Accuracy", "TopKAccuracy", "F1", "MCC", "Perplexity", "MAE", "MSE",
           "RMSE", "CrossEntropy", "NegativeLogLikelihood", "PearsonCorrelation", "Loss", "CustomMetric", "np",
           "create", "register", "alias", "check_label_shapes"]


def check_label_shapes(labels, preds, wrap=False, shape=False):
    """Raises ValueError when labels and preds differ in number (or in shape, with shape=True);
    wrap turns single NDArrays into one-element lists."""
    if not shape:
        label_shape, pred_shape = len(labels), len(preds)
    else:
        label_shape, pred_shape = labels.shape, preds.shape
    if label_shape != pred_shape:
        raise ValueError(f"Shape of labels {label_shape} does not match shape of predictions {pred_shape}")
    if wrap:
        if isinstance(labels, nd.NDArray):
            labels = [labels]
        if isinstance(preds, nd.NDArray):
            preds = [preds]
    return labels, preds


def _np(x):
    return x.asnumpy() if isinstance(x, nd.NDArray) else numpy.asarray(x)


def _name_value(name, value):
    name = name if isinstance(name, list) else [name]
    value = value if isinstance(value, list) else [value]
    return list(zip(name, value))


class EvalMetric:
    """Base class. name: what get() reports; output_names / label_names pick the entries that
    update_dict uses (all, in order, when None)."""

    def __init__(self, name, output_names=None, label_names=None, **kwargs):
        self.name = str(name)
        self.output_names = output_names
        self.label_names = label_names
        self._has_global_stats = kwargs.pop("has_global_stats", False)
        self._kwargs = kwargs
        self.reset()

    def __str__(self):
        return f"EvalMetric: {dict(self.get_name_value())}"

    def get_config(self):
        """The arguments that create() takes to make this metric again."""
        config = self._kwargs.copy()
        config.update({"metric": type(self).__name__, "name": self.name, "output_names": self.output_names,
                       "label_names": self.label_names})
        return config

    def update_dict(self, label, pred):
        """update() from dicts name -> NDArray."""
        pred = [pred[n] for n in self.output_names] if self.output_names is not None else list(pred.values())
        label = [label[n] for n in self.label_names] if self.label_names is not None else list(label.values())
        self.update(label, pred)

    def update(self, labels, preds):
        raise NotImplementedError(f"{type(self).__name__} must implement update")

    def _add(self, value, count):
        self.sum_metric += value
        self.global_sum_metric += value
        self.num_inst += count
        self.global_num_inst += count

    def reset(self):
        self.num_inst = 0
        self.sum_metric = 0.0
        self.global_num_inst = 0
        self.global_sum_metric = 0.0

    def reset_local(self):
        """Resets the local statistics only (the global ones go on accumulating)."""
        self.num_inst = 0
        self.sum_metric = 0.0

    def get(self):
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, self.sum_metric / self.num_inst)

    def get_global(self):
        if not self._has_global_stats:
            return self.get()
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, self.global_sum_metric / self.global_num_inst)

    def get_name_value(self):
        return _name_value(*self.get())

    def get_global_name_value(self):
        return _name_value(*self.get_global()) if self._has_global_stats else self.get_name_value()


register = registry.get_register_func(EvalMetric, "metric")
alias = registry.get_alias_func(EvalMetric, "metric")
_create = registry.get_create_func(EvalMetric, "metric")


def create(metric, *args, **kwargs):
    """A metric from a name ("acc", "ce", ...), an EvalMetric, a callable feval(label, pred)
    (a CustomMetric) or a list of these (a CompositeEvalMetric)."""
    if callable(metric) and not isinstance(metric, (EvalMetric, type)):
        return CustomMetric(metric, *args, **kwargs)
    if isinstance(metric, list):
        composite = CompositeEvalMetric()
        for child in metric:
            composite.add(create(child, *args, **kwargs))
        return composite
    return _create(metric, *args, **kwargs)


@register
@alias("composite")
class CompositeEvalMetric(EvalMetric):
    """Several metrics updated together; get() returns ([names], [values])."""

    def __init__(self, metrics=None, name="composite", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names, has_global_stats=True)
        self.metrics = [create(m) for m in (metrics or [])]

    def add(self, metric):
        self.metrics.append(create(metric))

    def get_metric(self, index):
        try:
            return self.metrics[index]
        except IndexError:
            raise ValueError(f"Metric index {index} is out of range 0 and {len(self.metrics)}") from None

    def update_dict(self, labels, preds):
        if self.label_names is not None:
            labels = OrderedDict(i for i in labels.items() if i[0] in self.label_names)
        if self.output_names is not None:
            preds = OrderedDict(i for i in preds.items() if i[0] in self.output_names)
        for m in self.metrics:
            m.update_dict(labels, preds)

    def update(self, labels, preds):
        for m in self.metrics:
            m.update(labels, preds)

    def reset(self):
        for m in getattr(self, "metrics", []):
            m.reset()

    def reset_local(self):
        for m in self.metrics:
            m.reset_local()

    def _collect(self, getter):
        names, values = [], []
        for m in self.metrics:
            name, value = getter(m)
            names.extend(name if isinstance(name, list) else [name])
            values.extend(value if isinstance(value, list) else [value])
        return (names, values)

    def get(self):
        return self._collect(lambda m: m.get())

    def get_global(self):
        return self._collect(lambda m: m.get_global())

    def get_config(self):
        config = super().get_config()
        config.update({"metrics": [m.get_config() for m in self.metrics]})
        return config


@register
@alias("acc")
class Accuracy(EvalMetric):
    """The fraction of predictions equal to the label; predictions with a class axis (axis) are
    reduced by argmax first.

    With NDArray inputs the counting runs on the engine and update() does not wait for the
    predictions: each batch's count of correct predictions stays a pending NDArray, read (one
    wait) when sum_metric or global_sum_metric is read, e.g. by get(). So a training loop that
    updates the metric every batch keeps pushing work instead of stopping for each batch."""

    _FLUSH_EVERY = 1 << 20  # instances; counts are read at the latest this often

    def __init__(self, axis=1, name="accuracy", output_names=None, label_names=None):
        self._pending = []  # NDArrays of counts of correct predictions, not read yet
        self._pending_inst = 0
        super().__init__(name, axis=axis, output_names=output_names, label_names=label_names, has_global_stats=True)
        self.axis = axis

    def _flush(self):
        if self._pending:
            correct = sum(int(c.asnumpy().sum()) for c in self._pending)
            self._pending, self._pending_inst = [], 0
            self._sum += correct
            self._global_sum += correct

    @property
    def sum_metric(self):
        self._flush()
        return self._sum

    @sum_metric.setter
    def sum_metric(self, value):
        self._flush()
        self._sum = value

    @property
    def global_sum_metric(self):
        self._flush()
        return self._global_sum

    @global_sum_metric.setter
    def global_sum_metric(self, value):
        self._flush()
        self._global_sum = value

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            if isinstance(pred, nd.NDArray) and isinstance(label, nd.NDArray):
                self._update_on_engine(label, pred)
                continue
            pred = _np(pred)
            label = _np(label)
            if pred.shape != label.shape:
                pred = numpy.argmax(pred, axis=self.axis)
            pred = pred.astype("int32").ravel()
            label = label.astype("int32").ravel()
            check_label_shapes(label, pred)
            self._add(int((pred == label).sum()), len(pred))

    def _update_on_engine(self, label, pred):
        # the ops by handle (this runs every batch of a training loop)
        if pred.shape != label.shape:
            pred = _invoke(_OP.argmax, [pred], {"axis": self.axis})
        n = pred.size
        if label.size != n:
            raise ValueError(f"Shape of labels {label.size} does not match shape of predictions {n}")
        # as the numpy path: both cast to int32 (labels truncated), then compared
        if pred.ndim != 1:
            pred = pred.reshape((n,))
        if label.ndim != 1:
            label = label.reshape((n,))
        pred = _invoke(_OP.Cast, [pred], _INT32)
        if label.dtype != numpy.int32:
            label = _invoke(_OP.Cast, [label], _INT32)
        self._pending.append(_invoke(_OP.sum, [_invoke(_OP.broadcast_equal, [pred, label])]))
        self._pending_inst += n
        self.num_inst += n
        self.global_num_inst += n
        if self._pending_inst >= self._FLUSH_EVERY:
            self._flush()


@register
@alias("top_k_accuracy", "top_k_acc")
class TopKAccuracy(EvalMetric):
    """The fraction of labels among the top_k highest scores of each prediction."""

    def __init__(self, top_k=1, name="top_k_accuracy", output_names=None, label_names=None):
        super().__init__(name, top_k=top_k, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        if top_k <= 1:
            raise ValueError(f"TopKAccuracy: top_k must be more than 1 (use Accuracy otherwise), got {top_k}")
        self.top_k = top_k
        self.name += f"_{top_k}"

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            pred = _np(pred).astype("float32")
            if pred.ndim > 2:
                raise ValueError(f"TopKAccuracy: predictions should have at most 2 dimensions, got {pred.shape}")
            label = _np(label).astype("int32").ravel()
            check_label_shapes(label, pred)
            if pred.ndim == 1:
                correct = int((numpy.argpartition(pred, -self.top_k) == label).sum())  # as MXNet does
            else:
                k = min(pred.shape[1], self.top_k)
                top = numpy.argpartition(pred, -k, axis=1)[:, -k:]
                correct = int((top == label[:, None]).sum())
            self._add(correct, pred.shape[0])


class _BinaryStats:
    """Confusion counts of a binary classifier (label 1 positive), local and global."""

    _FIELDS = ("true_positives", "false_positives", "false_negatives", "true_negatives")

    def __init__(self):
        self.reset_stats()

    def update_binary_stats(self, label, pred, who):
        pred = _np(pred)
        label = _np(label).astype("int32").ravel()
        check_label_shapes(label, pred)
        if len(numpy.unique(label)) > 2:
            raise ValueError(f"{who} currently only supports binary classification (labels 0 and 1), got labels "
                             f"{numpy.unique(label).tolist()}")
        pred_true = numpy.argmax(pred, axis=1) == 1
        label_true = label == 1
        counts = ((pred_true & label_true).sum(), (pred_true & ~label_true).sum(),
                  (~pred_true & label_true).sum(), (~pred_true & ~label_true).sum())
        for f, c in zip(self._FIELDS, counts):
            setattr(self, f, getattr(self, f) + int(c))
            setattr(self, "global_" + f, getattr(self, "global_" + f) + int(c))

    def _counts(self, use_global):
        p = "global_" if use_global else ""
        return [float(getattr(self, p + f)) for f in self._FIELDS]

    def fscore(self, use_global=False):
        tp, fp, fn, _ = self._counts(use_global)
        precision = tp / (tp + fp) if tp + fp > 0 else 0.0
        recall = tp / (tp + fn) if tp + fn > 0 else 0.0
        return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0

    def matthewscc(self, use_global=False):
        tp, fp, fn, tn = self._counts(use_global)
        if not self.total(use_global):
            return 0.0
        denom = 1.0
        for t in (tp + fp, tp + fn, tn + fp, tn + fn):
            if t != 0.0:
                denom *= t
        return (tp * tn - fp * fn) / math.sqrt(denom)

    def total(self, use_global=False):
        return int(sum(self._counts(use_global)))

    def local_reset_stats(self):
        for f in self._FIELDS:
            setattr(self, f, 0)

    def reset_stats(self):
        self.local_reset_stats()
        for f in self._FIELDS:
            setattr(self, "global_" + f, 0)


class _BinaryMetric(EvalMetric):
    """F1 and MCC: average "macro" averages the per-update scores, "micro" scores all the counts
    together."""

    def __init__(self, name, output_names, label_names, average):
        if average not in ("macro", "micro"):
            raise ValueError(f"{type(self).__name__}: average must be 'macro' or 'micro', got {average!r}")
        self.average = average
        self.metrics = _BinaryStats()
        super().__init__(name, output_names=output_names, label_names=label_names, has_global_stats=True)

    def _score(self, use_global):
        raise NotImplementedError

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            self.metrics.update_binary_stats(label, pred, type(self).__name__)
        m = self.metrics
        if self.average == "macro":
            self.sum_metric += self._score(False)
            self.global_sum_metric += self._score(True)
            self.num_inst += 1
            self.global_num_inst += 1
            m.reset_stats()
        else:
            self.sum_metric = self._score(False) * m.total()
            self.global_sum_metric = self._score(True) * m.total(True)
            self.num_inst = m.total()
            self.global_num_inst = m.total(True)

    def reset(self):
        super().reset()
        self.metrics.reset_stats()

    def reset_local(self):
        super().reset_local()
        self.metrics.local_reset_stats()


@register
class F1(_BinaryMetric):
    """F1 score of a binary classifier (predictions (N, 2) scores, labels 0/1)."""

    def __init__(self, name="f1", output_names=None, label_names=None, average="macro"):
        super().__init__(name, output_names, label_names, average)

    def _score(self, use_global):
        return self.metrics.fscore(use_global)


@register
class MCC(_BinaryMetric):
    """Matthews correlation coefficient of a binary classifier."""

    def __init__(self, name="mcc", output_names=None, label_names=None, average="macro"):
        super().__init__(name, output_names, label_names, average)

    def _score(self, use_global):
        return self.metrics.matthewscc(use_global)


@register
class Perplexity(EvalMetric):
    """exp(mean negative log-probability of the labels); labels equal to ignore_label (if not
    None) do not count. axis: the class axis of the predictions."""

    def __init__(self, ignore_label, axis=-1, name="perplexity", output_names=None, label_names=None):
        super().__init__(name, ignore_label=ignore_label, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.ignore_label = ignore_label
        self.axis = axis

    def update(self, labels, preds):
        if len(labels) != len(preds):
            raise ValueError(f"Perplexity: {len(labels)} labels but {len(preds)} predictions")
        loss, num = 0.0, 0
        for label, pred in zip(labels, preds):
            pred = _np(pred)
            label = _np(label)
            if label.size * pred.shape[self.axis] != pred.size:
                raise ValueError(f"Perplexity: shape mismatch: labels {label.shape} vs. predictions {pred.shape}")
            label = label.reshape(-1).astype("int32")
            moved = numpy.moveaxis(pred, self.axis, -1).reshape(-1, pred.shape[self.axis])
            prob = moved[numpy.arange(label.size), numpy.clip(label, 0, moved.shape[1] - 1)]
            if self.ignore_label is not None:
                ignore = (label == self.ignore_label).astype(prob.dtype)
                num -= int(ignore.sum())
                prob = prob * (1 - ignore) + ignore
            loss -= float(numpy.log(numpy.maximum(prob.dtype.type(1e-10), prob)).sum())
            num += prob.size
        self._add(loss, num)

    def get(self):
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.sum_metric / self.num_inst))

    def get_global(self):
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.global_sum_metric / self.global_num_inst))


class _Regression(EvalMetric):
    """MAE, MSE, RMSE: the mean over updates of each update's error (1-d arrays as columns)."""

    def __init__(self, name, output_names, label_names):
        super().__init__(name, output_names=output_names, label_names=label_names, has_global_stats=True)

    @staticmethod
    def _error(diff):
        raise NotImplementedError

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            label, pred = _np(label), _np(pred)
            if label.ndim == 1:
                label = label.reshape(label.shape[0], 1)
            if pred.ndim == 1:
                pred = pred.reshape(pred.shape[0], 1)
            self._add(self._error(label - pred), 1)


@register
class MAE(_Regression):
    """Mean absolute error."""

    def __init__(self, name="mae", output_names=None, label_names=None):
        super().__init__(name, output_names, label_names)

    @staticmethod
    def _error(diff):
        return numpy.abs(diff).mean()


@register
class MSE(_Regression):
    """Mean squared error."""

    def __init__(self, name="mse", output_names=None, label_names=None):
        super().__init__(name, output_names, label_names)

    @staticmethod
    def _error(diff):
        return (diff ** 2.0).mean()


@register
class RMSE(_Regression):
    """Root mean squared error (averaged over updates)."""

    def __init__(self, name="rmse", output_names=None, label_names=None):
        super().__init__(name, output_names, label_names)

    @staticmethod
    def _error(diff):
        return numpy.sqrt((diff ** 2.0).mean())


class _LogLoss(EvalMetric):
    """CrossEntropy and NegativeLogLikelihood: -log(p[label] + eps) summed over examples."""

    def __init__(self, eps, name, output_names, label_names):
        super().__init__(name, eps=eps, output_names=output_names, label_names=label_names, has_global_stats=True)
        self.eps = eps

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            label, pred = _np(label).ravel(), _np(pred)
            if label.shape[0] != pred.shape[0]:
                raise ValueError(f"{type(self).__name__}: {label.shape[0]} labels for {pred.shape[0]} predictions")
            prob = pred[numpy.arange(label.shape[0], dtype=numpy.int64), numpy.int64(label)]
            self._add((-numpy.log(prob + self.eps)).sum(), label.shape[0])


@register
@alias("ce")
class CrossEntropy(_LogLoss):
    """Mean cross entropy of predicted class probabilities (N, C) against labels (N,)."""

    def __init__(self, eps=1e-12, name="cross-entropy", output_names=None, label_names=None):
        super().__init__(eps, name, output_names, label_names)


@register
@alias("nll_loss")
class NegativeLogLikelihood(_LogLoss):
    """Mean negative log-likelihood of the labels under the predicted probabilities."""

    def __init__(self, eps=1e-12, name="nll-loss", output_names=None, label_names=None):
        super().__init__(eps, name, output_names, label_names)


@register
@alias("pearsonr")
class PearsonCorrelation(EvalMetric):
    """Pearson correlation of predictions and labels: "macro" averages each update's
    coefficient, "micro" computes one over everything seen (running moments)."""

    def __init__(self, name="pearsonr", output_names=None, label_names=None, average="macro"):
        if average not in ("macro", "micro"):
            raise ValueError(f"PearsonCorrelation: average must be 'macro' or 'micro', got {average!r}")
        self.average = average
        super().__init__(name, output_names=output_names, label_names=label_names, has_global_stats=True)

    def reset_micro(self):
        self._sse_p = self._mean_p = self._sse_l = self._mean_l = 0.0
        self._pred_nums = self._label_nums = 0
        self._conv = 0.0

    def reset(self):
        super().reset()
        if self.average == "micro":
            self.reset_micro()

    @staticmethod
    def update_variance(new_values, count, mean, m_2):
        """Chan et al.'s running count, mean and sum of squared deviations, updated by new_values."""
        count += len(new_values)
        delta = new_values - mean
        mean += numpy.sum(delta / count)
        m_2 += numpy.sum(delta * (new_values - mean))
        return count, mean, m_2

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            check_label_shapes(label, pred, False, True)
            label = _np(label).ravel().astype(numpy.float64)
            pred = _np(pred).ravel().astype(numpy.float64)
            if self.average == "macro":
                self._add(numpy.corrcoef(pred, label)[0, 1], 1)
                continue
            self.num_inst += 1
            self.global_num_inst += 1
            self._label_nums, self._mean_l, self._sse_l = self.update_variance(label, self._label_nums, self._mean_l,
                                                                               self._sse_l)
            self._conv += numpy.sum((label - self._mean_l) * (pred - self._mean_p))
            self._pred_nums, self._mean_p, self._sse_p = self.update_variance(pred, self._pred_nums, self._mean_p,
                                                                              self._sse_p)

    def get(self):
        if self.num_inst == 0:
            return (self.name, float("nan"))
        if self.average == "macro":
            return (self.name, self.sum_metric / self.num_inst)
        n = self._label_nums
        return (self.name, self._conv / ((n - 1) * numpy.sqrt(self._sse_p / (n - 1)) *
                                         numpy.sqrt(self._sse_l / (n - 1))))


@register
class Loss(EvalMetric):
    """The mean of the outputs themselves (for networks whose outputs are losses); labels unused."""

    def __init__(self, name="loss", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names, has_global_stats=True)

    def update(self, _, preds):
        if isinstance(preds, nd.NDArray):
            preds = [preds]
        for pred in preds:
            self._add(float(_np(pred).sum(dtype=numpy.float64)), int(numpy.prod(pred.shape)))


@register
class CustomMetric(EvalMetric):
    """A metric from feval(label, pred) on numpy arrays, returning a value (counted once) or
    (sum_metric, num_inst). allow_extra_outputs permits more outputs than labels."""

    def __init__(self, feval, name=None, allow_extra_outputs=False, output_names=None, label_names=None):
        if name is None:
            name = feval.__name__
            if "<" in name:
                name = f"custom({name})"
        super().__init__(name, feval=feval, allow_extra_outputs=allow_extra_outputs, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self._feval = feval
        self._allow_extra_outputs = allow_extra_outputs

    def update(self, labels, preds):
        if not self._allow_extra_outputs:
            labels, preds = check_label_shapes(labels, preds, True)
        for pred, label in zip(preds, labels):
            reval = self._feval(_np(label), _np(pred))
            if isinstance(reval, tuple):
                self._add(*reval)
            else:
                self._add(reval, 1)

    def get_config(self):
        raise NotImplementedError("CustomMetric cannot be serialized")


def np(numpy_feval, name=None, allow_extra_outputs=False):
    """A CustomMetric from a function of numpy arrays feval(label, pred)."""
    def feval(label, pred):
        return numpy_feval(label, pred)
    feval.__name__ = numpy_feval.__name__
    return CustomMetric(feval, name, allow_extra_outputs)
