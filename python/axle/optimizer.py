"""Optimizers (MXNet 1.x's mx.optimizer): SGD, NAG, Adam, AdaGrad, RMSProp, AdaDelta, Ftrl,
Signum; create(name, **kwargs), register, Updater / get_updater.

Each update is one of the fused update ops (sgd_update, adam_update, ...) running on the engine,
or, for AdaGrad and AdaDelta that have none, a few whole-array ops; never a Python loop over
elements. Per-parameter learning-rate and weight-decay multipliers come from param_idx2name
(weight decay only on *_weight and *_gamma), symbol attributes __lr_mult__ / __wd_mult__, and
set_lr_mult / set_wd_mult."""
import logging
import math
import pickle

import numpy as np

from . import ndarray as nd
from .ndarray import NDArray
from .ndarray._op import invoke as _invoke
from .ndarray.ndarray import _OPS

__all__ = ["Optimizer", "SGD", "NAG", "Adam", "AdaGrad", "RMSProp", "AdaDelta", "Ftrl", "Signum", "Test",
           "Updater", "create", "register", "get_updater"]


def _sym_info(sym):
    """(attributes by variable name, variable names) from a Symbol, or a dict name -> {attr: value}
    standing in for one."""
    if sym is None:
        return ()
    if isinstance(sym, dict):
        return ({k: dict(v) for k, v in sym.items()}, list(sym))
    return (sym.attr_dict(), sym.list_arguments())


class Optimizer:
    """Base class. rescale_grad multiplies gradients; clip_gradient clips them to
    [-clip_gradient, clip_gradient] (None or 0: no clipping); learning_rate (default 0.01) or
    lr_scheduler(num_update) gives the rate; wd is the weight decay; begin_num_update the number of
    updates already made (for schedules); param_idx2name maps update indices to parameter names;
    sym a Symbol (or a dict name -> attributes) whose __lr_mult__ / __wd_mult__ attributes apply."""

    opt_registry = {}

    def __init__(self, rescale_grad=1.0, param_idx2name=None, wd=0.0, clip_gradient=None, learning_rate=None,
                 lr_scheduler=None, sym=None, begin_num_update=0, multi_precision=False, param_dict=None):
        self.rescale_grad = rescale_grad
        self.lr_scheduler = lr_scheduler
        if lr_scheduler is None and learning_rate is None:
            learning_rate = 0.01
        self.lr = learning_rate
        if lr_scheduler is not None and learning_rate is not None and lr_scheduler.base_lr != learning_rate:
            logging.warning("learning rate from ``lr_scheduler`` has been overwritten by ``learning_rate`` in "
                            "optimizer.")
            lr_scheduler.base_lr = learning_rate
        self.wd = wd
        self.lr_mult = {}
        self.wd_mult = {}
        self.begin_num_update = begin_num_update
        self.num_update = begin_num_update
        self._all_index_update_counts = {0: {}}
        self._index_update_count = self._all_index_update_counts[0]
        self.clip_gradient = clip_gradient
        self.multi_precision = multi_precision
        self.aggregate_num = 0
        if param_idx2name is None:
            param_idx2name = {}
        if not isinstance(param_idx2name, dict):
            raise TypeError("param_idx2name should be a dict of param indexes to names, got "
                            f"{type(param_idx2name).__name__}")
        self.idx2name = param_idx2name.copy()
        self.sym_info = _sym_info(sym)
        self.param_dict = param_dict if param_dict else {}
        self.set_lr_mult({})
        self.set_wd_mult({})

    @staticmethod
    def register(klass):
        """Registers an Optimizer subclass under its lower-case class name."""
        if not (isinstance(klass, type) and issubclass(klass, Optimizer)):
            raise TypeError(f"register: {klass!r} is not an Optimizer subclass")
        name = klass.__name__.lower()
        if name in Optimizer.opt_registry:
            logging.warning("New optimizer %s.%s is overriding existing optimizer %s.%s", klass.__module__,
                            klass.__name__, Optimizer.opt_registry[name].__module__,
                            Optimizer.opt_registry[name].__name__)
        Optimizer.opt_registry[name] = klass
        return klass

    @staticmethod
    def create_optimizer(name, **kwargs):
        """An optimizer by registered name (case-insensitive), with its keyword arguments."""
        key = name.lower()
        if key not in Optimizer.opt_registry:
            raise ValueError(f"Cannot find optimizer {name}; registered: {', '.join(sorted(Optimizer.opt_registry))}")
        return Optimizer.opt_registry[key](**kwargs)

    @property
    def learning_rate(self):
        return self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr

    def create_state(self, index, weight):
        """The auxiliary state of one weight (None, an NDArray or a tuple of them)."""
        return None

    def create_state_multi_precision(self, index, weight):
        """With multi_precision and a float16 weight: (float32 master copy, state of the copy)."""
        if self.multi_precision and weight.dtype == np.float16:
            master = weight.astype(np.float32)
            return (master, self.create_state(index, master))
        if weight.dtype == np.float16:
            logging.warning("Accumulating with float16 in optimizer can lead to poor accuracy or slow convergence. "
                            "Consider using multi_precision=True option of the optimizer")
        return self.create_state(index, weight)

    def update(self, index, weight, grad, state):
        """Updates weight (in place) from grad and state."""
        raise NotImplementedError(f"{type(self).__name__} must implement update")

    def update_multi_precision(self, index, weight, grad, state):
        if self.multi_precision and weight.dtype == np.float16:
            master, inner = state
            self.update(index, master, grad.astype(np.float32), inner)
            master.astype(weight.dtype).copyto(weight)
        else:
            self.update(index, weight, grad, state)

    def set_learning_rate(self, lr):
        if self.lr_scheduler is not None:
            raise UserWarning("LRScheduler of the optimizer has already been defined. Note that set_learning_rate "
                              "can mutate the value of the learning rate of the optimizer only when the LRScheduler "
                              "of the optimizer is undefined.")
        self.lr = lr

    def set_lr_mult(self, args_lr_mult):
        """Learning-rate multipliers by name or index; symbol attributes __lr_mult__ come first."""
        self.lr_mult = {}
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and "__lr_mult__" in attr[name]:
                    self.lr_mult[name] = float(attr[name]["__lr_mult__"])
        self.lr_mult.update(args_lr_mult)

    def set_wd_mult(self, args_wd_mult):
        """Weight-decay multipliers by name or index. Parameters not ending in _weight or _gamma get
        0 (no decay on biases), then symbol attributes __wd_mult__, then args_wd_mult."""
        self.wd_mult = {}
        for n in self.idx2name.values():
            if not (n.endswith("_weight") or n.endswith("_gamma")):
                self.wd_mult[n] = 0.0
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and "__wd_mult__" in attr[name]:
                    self.wd_mult[name] = float(attr[name]["__wd_mult__"])
        self.wd_mult.update(args_wd_mult)

    def _set_current_context(self, device_id):
        self._index_update_count = self._all_index_update_counts.setdefault(device_id, {})

    def _update_count(self, index):
        for idx in index if isinstance(index, (list, tuple)) else [index]:
            if idx not in self._index_update_count:
                self._index_update_count[idx] = self.begin_num_update
            self._index_update_count[idx] += 1
            self.num_update = max(self._index_update_count[idx], self.num_update)

    def _mults(self, indices, base, mult, attr):
        out = [base] * len(indices)
        for i, index in enumerate(indices):
            if index in self.param_dict:
                out[i] *= getattr(self.param_dict[index], attr)
            elif index in mult:
                out[i] *= mult[index]
            elif index in self.idx2name:
                out[i] *= mult.get(self.idx2name[index], 1.0)
        return out

    def _get_lrs(self, indices):
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        return self._mults(indices, lr, self.lr_mult, "lr_mult")

    def _get_lr(self, index):
        return self._get_lrs([index])[0]

    def _get_wds(self, indices):
        return self._mults(indices, self.wd, self.wd_mult, "wd_mult")

    def _get_wd(self, index):
        return self._get_wds([index])[0]

    def _prepare(self, index, weight, grad):
        """Checks the arrays, counts the update; (lr, wd) for index."""
        _check(self, weight, grad)
        self._update_count(index)
        return self._get_lr(index), self._get_wd(index)

    def _op_kwargs(self, **extra):
        """rescale_grad, clip_gradient when set (0 or None: off), and extra, for an update op."""
        kw = {"rescale_grad": self.rescale_grad}
        if self.clip_gradient:
            kw["clip_gradient"] = self.clip_gradient
        kw.update(extra)
        return kw

    def _clipped(self, grad):
        """rescale_grad * grad, clipped when clip_gradient is set (for updates written with ops)."""
        grad = grad * self.rescale_grad
        if self.clip_gradient is not None:
            grad = nd.clip(grad, a_min=-self.clip_gradient, a_max=self.clip_gradient)
        return grad

    def __getstate__(self):
        ret = self.__dict__.copy()
        ret.pop("param_dict", None)
        return ret

    def __setstate__(self, state):
        self.__dict__ = state
        self.param_dict = {}


register = Optimizer.register
create = Optimizer.create_optimizer


def _zeros_like(weight, dtype=None):
    return nd.zeros(weight.shape, weight.context, dtype=dtype or weight.dtype)


def _check(opt, weight, grad):
    if not isinstance(weight, NDArray) or not isinstance(grad, NDArray):
        raise TypeError(f"{type(opt).__name__}.update: weight and grad must be NDArrays, got "
                        f"{type(weight).__name__} and {type(grad).__name__}")
    if weight.shape != grad.shape:
        raise ValueError(f"{type(opt).__name__}.update: weight shape {weight.shape} differs from grad shape "
                         f"{grad.shape}")


class _WithMomentum(Optimizer):
    """An optimizer whose state is one momentum array, or None when momentum is 0."""

    def create_state(self, index, weight):
        return _zeros_like(weight) if self.momentum != 0.0 else None


@register
class SGD(_WithMomentum):
    """SGD with optional momentum: mom = momentum*mom - lr*(rescale_grad*grad + wd*weight);
    weight += mom (plain SGD when momentum is 0)."""

    def __init__(self, momentum=0.0, lazy_update=True, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.lazy_update = lazy_update

    def update(self, index, weight, grad, state):
        lr, wd = self._prepare(index, weight, grad)
        kw = self._op_kwargs(lr=lr, wd=wd, lazy_update=self.lazy_update)
        # the update ops by handle: this runs for every parameter of every batch
        if state is not None:
            kw["momentum"] = self.momentum
            _invoke(_OPS.sgd_mom_update, [weight, grad, state], kw, out=weight)
        else:
            _invoke(_OPS.sgd_update, [weight, grad], kw, out=weight)


@register
class Signum(_WithMomentum):
    """Signum (Bernstein et al. 2018): the sign of the momentum; signSGD when momentum is 0.
    wd_lh is a decoupled weight decay applied to the weight directly."""

    def __init__(self, learning_rate=0.01, momentum=0.9, wd_lh=0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = momentum
        self.wd_lh = wd_lh

    def update(self, index, weight, grad, state):
        lr, wd = self._prepare(index, weight, grad)
        kw = self._op_kwargs(lr=lr, wd=wd)
        if state is not None:
            if self.wd_lh:
                kw["wd_lh"] = self.wd_lh
            nd.signum_update(weight, grad, state, out=weight, momentum=self.momentum, **kw)
        else:
            nd.signsgd_update(weight, grad, out=weight, **kw)


@register
class NAG(_WithMomentum):
    """Nesterov accelerated gradient (plain SGD when momentum is 0)."""

    def __init__(self, momentum=0.0, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum

    def update(self, index, weight, grad, state):
        lr, wd = self._prepare(index, weight, grad)
        kw = self._op_kwargs(lr=lr, wd=wd)
        if state is not None:
            nd.nag_mom_update(weight, grad, state, out=weight, momentum=self.momentum, **kw)
        else:
            nd.sgd_update(weight, grad, out=weight, **kw)


@register
class Adam(Optimizer):
    """Adam (Kingma & Ba): the bias corrections fold into the step's learning rate,
    lr * sqrt(1 - beta2^t) / (1 - beta1^t), t the weight's update count."""

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, lazy_update=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lazy_update = lazy_update

    def create_state(self, index, weight):
        return (_zeros_like(weight), _zeros_like(weight))  # mean, variance

    def update(self, index, weight, grad, state):
        lr, wd = self._prepare(index, weight, grad)
        t = self._index_update_count[index]
        lr *= math.sqrt(1.0 - self.beta2 ** t) / (1.0 - self.beta1 ** t)
        mean, var = state
        nd.adam_update(weight, grad, mean, var, out=weight, **self._op_kwargs(
            lr=lr, wd=wd, beta1=self.beta1, beta2=self.beta2, epsilon=self.epsilon, lazy_update=self.lazy_update))


@register
class AdaGrad(Optimizer):
    """AdaGrad (Duchi et al.): history += g^2; weight -= lr*(g / sqrt(history + eps) + wd*weight)."""

    def __init__(self, eps=1e-7, **kwargs):
        super().__init__(**kwargs)
        self.float_stable_eps = eps

    def create_state(self, index, weight):
        return _zeros_like(weight)  # history

    def update(self, index, weight, grad, state):
        lr, wd = self._prepare(index, weight, grad)
        grad = self._clipped(grad)
        history = state
        history += nd.square(grad)
        div = grad / nd.sqrt(history + self.float_stable_eps)
        weight += (div + weight * wd) * -lr


@register
class RMSProp(Optimizer):
    """RMSProp: Tieleman & Hinton's (rmsprop_update), or Graves' centered form
    (rmspropalex_update) when centered; clip_weights bounds the weights."""

    def __init__(self, learning_rate=0.001, gamma1=0.9, gamma2=0.9, epsilon=1e-8, centered=False,
                 clip_weights=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.gamma1 = gamma1
        self.gamma2 = gamma2
        self.centered = centered
        self.epsilon = epsilon
        self.clip_weights = clip_weights

    def create_state(self, index, weight):
        n = 3 if self.centered else 1  # n (, g, delta)
        return tuple(_zeros_like(weight) for _ in range(n))

    def update(self, index, weight, grad, state):
        lr, wd = self._prepare(index, weight, grad)
        kw = self._op_kwargs(lr=lr, wd=wd, gamma1=self.gamma1, epsilon=self.epsilon)
        if self.clip_weights:
            kw["clip_weights"] = self.clip_weights
        if self.centered:
            n, g, delta = state
            nd.rmspropalex_update(weight, grad, n, g, delta, out=weight, gamma2=self.gamma2, **kw)
        else:
            (n,) = state
            nd.rmsprop_update(weight, grad, n, out=weight, **kw)


@register
class AdaDelta(Optimizer):
    """AdaDelta (Zeiler 2012); the learning rate is not used. The caller's gradient is left as it
    is (MXNet 1.x scales it in place)."""

    def __init__(self, rho=0.90, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def create_state(self, index, weight):
        return (_zeros_like(weight), _zeros_like(weight))  # accumulated g, accumulated delta

    def update(self, index, weight, grad, state):
        _, wd = self._prepare(index, weight, grad)
        grad = self._clipped(grad)
        acc_g, acc_delta = state
        acc_g *= self.rho
        acc_g += (1.0 - self.rho) * grad * grad
        current_delta = nd.sqrt(acc_delta + self.epsilon) / nd.sqrt(acc_g + self.epsilon) * grad
        acc_delta *= self.rho
        acc_delta += (1.0 - self.rho) * current_delta * current_delta
        weight -= current_delta + wd * weight


@register
class Ftrl(Optimizer):
    """FTRL-Proximal (McMahan et al. 2013) with L1 strength lamda1 and beta; default lr 0.1."""

    def __init__(self, lamda1=0.01, learning_rate=0.1, beta=1, **kwargs):
        super().__init__(**kwargs)
        self.lamda1 = lamda1
        self.beta = beta
        self.lr = learning_rate

    def create_state(self, index, weight):
        return (_zeros_like(weight), _zeros_like(weight))  # z, n

    def update(self, index, weight, grad, state):
        lr, wd = self._prepare(index, weight, grad)
        z, n = state
        nd.ftrl_update(weight, grad, z, n, out=weight, **self._op_kwargs(lr=lr, wd=wd, lamda1=self.lamda1,
                                                                         beta=self.beta))


@register
class Test(Optimizer):
    """For tests: weight += rescale_grad * grad; the state holds the new weight."""

    def create_state(self, index, weight):
        return _zeros_like(weight)

    def update(self, index, weight, grad, state):
        weight += grad * self.rescale_grad
        state[:] = weight


class Updater:
    """Applies an optimizer to (index, grad, weight) triples (KVStore's updater signature), keeping
    one state per index. get_states / set_states pickle the states (and optionally the optimizer)."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.states = {}
        self.states_synced = {}

    def __call__(self, index, grad, weight):
        if isinstance(index, (list, tuple)):
            indices, grads, weights = list(index), list(grad), list(weight)
        else:
            indices, grads, weights = [index], [grad], [weight]
        if weights:
            self.optimizer._set_current_context(weights[0].context.device_id)
        for i, idx in enumerate(indices):
            if isinstance(idx, bytes):
                idx = indices[i] = idx.decode()
            if idx not in self.states:
                self.states[idx] = self.optimizer.create_state_multi_precision(idx, weights[i])
                self.states_synced[idx] = True
            elif not self.states_synced[idx]:
                self.states[idx] = self.sync_state_context(self.states[idx], weights[i].context)
                self.states_synced[idx] = True
        for idx, w, g in zip(indices, weights, grads):
            self.optimizer.update_multi_precision(idx, w, g, self.states[idx])

    def sync_state_context(self, state, context):
        """The state moved to context (states loaded by set_states are on cpu)."""
        if isinstance(state, NDArray):
            return state.as_in_context(context)
        if isinstance(state, (tuple, list)):
            synced = [self.sync_state_context(s, context) for s in state]
            return tuple(synced) if isinstance(state, tuple) else synced
        return state

    def set_states(self, states):
        """Loads what get_states wrote: the states, or (states, optimizer)."""
        states = pickle.loads(states)
        if isinstance(states, tuple) and len(states) == 2:
            self.states, self.optimizer = states
        else:
            self.states = states
        self.states_synced = dict.fromkeys(self.states.keys(), False)

    def get_states(self, dump_optimizer=False):
        """The states pickled (with the optimizer when dump_optimizer)."""
        return pickle.dumps((self.states, self.optimizer) if dump_optimizer else self.states)


def get_updater(optimizer):
    """An Updater for optimizer."""
    return Updater(optimizer)
