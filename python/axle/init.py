"""Weight initializers (MXNet 1.x's mx.init / mx.initializer).

An initializer is called with an InitDesc (the variable's name and attributes) and the NDArray to
fill. It dispatches on the name's suffix: *weight -> _init_weight, *bias -> _init_bias (0),
*gamma -> _init_gamma (1), *beta -> _init_beta (0), *moving_mean / *moving_inv_var / *moving_avg
(0), *moving_var (1), *min (0), *max (1); a variable attribute __init__ (an initializer's JSON)
overrides the dispatch. Random draws go through axle.nd.random, so axle.random.seed makes them
reproducible."""
import json
import logging
import re

import numpy as np

from . import registry
from .ndarray import NDArray, load, norm
from .ndarray import random as _random

__all__ = ["InitDesc", "Initializer", "register", "alias", "create", "Load", "Mixed", "Zero", "One", "Constant",
           "Uniform", "Normal", "Orthogonal", "Xavier", "MSRAPrelu", "Bilinear", "LSTMBias"]


class InitDesc(str):
    """A variable's name (the str itself) with its attributes (attrs: dict str -> str, e.g. from a
    symbol's attr_dict) and the global initializer to fall back to."""

    def __new__(cls, name, attrs=None, global_init=None):
        ret = super().__new__(cls, name)
        ret.attrs = attrs or {}
        ret.global_init = global_init
        return ret


# Suffix -> the method that initializes such a variable; the first match wins (order matters:
# "weight_quantize" before nothing else ends in it, "moving_inv_var" before "moving_var").
_DISPATCH = (("weight", "_init_weight"), ("bias", "_init_bias"), ("gamma", "_init_gamma"), ("beta", "_init_beta"),
             ("moving_mean", "_init_zero"), ("moving_inv_var", "_init_zero"), ("moving_var", "_init_one"),
             ("moving_avg", "_init_zero"), ("min", "_init_zero"), ("max", "_init_one"))


class Initializer:
    """Base class: subclasses implement _init_weight(name, arr) and may override the others."""

    def __init__(self, **kwargs):
        self._kwargs = kwargs
        self._verbose = False
        self._print_func = None

    def set_verbosity(self, verbose=False, print_func=None):
        """Logs each initialized array with print_func(arr) (default: its norm / sqrt(size))."""
        self._verbose = verbose
        if print_func is None:
            def print_func(x):
                return str((norm(x) / np.sqrt(x.size)).asscalar())
        self._print_func = print_func
        return self

    def _verbose_print(self, desc, init, arr):
        if self._verbose and self._print_func:
            logging.info("Initialized %s as %s: %s", desc, init, self._print_func(arr))

    def dumps(self):
        """The initializer as JSON: '["name", {kwargs}]' (create() reads it back)."""
        return json.dumps([type(self).__name__.lower(), self._kwargs])

    def __call__(self, desc, arr):
        if not isinstance(arr, NDArray):
            raise TypeError(f"{type(self).__name__}: arr must be an NDArray, got {type(arr).__name__}")
        if not isinstance(desc, str):
            raise TypeError(f"{type(self).__name__}: desc must be an InitDesc or a str, got {type(desc).__name__}")
        if not isinstance(desc, InitDesc):
            desc = InitDesc(desc)
        if desc.global_init is None:
            desc.global_init = self
        init = desc.attrs.get("__init__", "")
        if init:
            create(init)._init_weight(desc, arr)
            self._verbose_print(desc, init, arr)
            return
        for suffix, method in _DISPATCH:
            if desc.endswith(suffix):
                getattr(self, method)(desc, arr)
                self._verbose_print(desc, suffix, arr)
                return
        self._init_default(desc, arr)

    def _init_zero(self, _, arr):
        arr[:] = 0.0

    def _init_one(self, _, arr):
        arr[:] = 1.0

    def _init_bias(self, _, arr):
        arr[:] = 0.0

    def _init_gamma(self, _, arr):
        arr[:] = 1.0

    def _init_beta(self, _, arr):
        arr[:] = 0.0

    def _init_weight(self, name, arr):
        raise NotImplementedError(f"{type(self).__name__} must implement _init_weight")

    def _init_default(self, name, _):
        raise ValueError(f"Unknown initialization pattern for {name}. Default initialization is limited to names "
                         'ending in "weight", "bias", "gamma" (1.0), "beta" (0.0) and the moving statistics; give the '
                         "variable an initializer of its own (attribute __init__, or mx.init.Mixed)")

    def __eq__(self, other):
        if not isinstance(other, Initializer):
            return NotImplemented
        return type(self) is type(other) and self._kwargs == other._kwargs

    __hash__ = object.__hash__


register = registry.get_register_func(Initializer, "initializer")
alias = registry.get_alias_func(Initializer, "initializer")
create = registry.get_create_func(Initializer, "initializer")


class Load:
    """Initializes from a .params file or a dict name -> NDArray ("arg:"/"aux:" prefixes dropped);
    names not found go to default_init."""

    def __init__(self, param, default_init=None, verbose=False):
        if isinstance(param, str):
            param = load(param)
        if not isinstance(param, dict):
            raise TypeError("Load: param must be a file name or a dict of name -> NDArray (a file of named arrays)")
        self.param = {(k[4:] if k.startswith(("arg:", "aux:")) else k): v for k, v in param.items()}
        self.default_init = default_init
        self.verbose = verbose

    def __call__(self, name, arr):
        if name in self.param:
            src = self.param[name]
            if tuple(arr.shape) != tuple(src.shape):
                raise ValueError(f"Parameter {name} cannot be initialized from loading: shape mismatch, target "
                                 f"{arr.shape} vs loaded {src.shape}")
            arr[:] = src
            if self.verbose:
                logging.info("Initialized %s by loading", name)
        else:
            if self.default_init is None:
                raise ValueError(f"Cannot initialize {name}: not found in the loaded parameters and no default "
                                 "initializer given")
            self.default_init(name, arr)
            if self.verbose:
                logging.info("Initialized %s by default", name)


class Mixed:
    """Initializes each parameter with the initializer of the first regular expression that
    matches its name (re.match)."""

    def __init__(self, patterns, initializers):
        if len(patterns) != len(initializers):
            raise ValueError(f"Mixed: {len(patterns)} patterns but {len(initializers)} initializers")
        self.map = list(zip([re.compile(p) for p in patterns], initializers))

    def __call__(self, name, arr):
        for prog, init in self.map:
            if prog.match(name):
                init(name, arr)
                return
        raise ValueError(f"Parameter name {name} did not match any pattern; consider adding a '.*' pattern at the "
                         "end with a default initializer")


@register
@alias("zeros")
class Zero(Initializer):
    """Weights 0."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, _, arr):
        arr[:] = 0


@register
@alias("ones")
class One(Initializer):
    """Weights 1."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, _, arr):
        arr[:] = 1


@register
class Constant(Initializer):
    """Weights set to value (a number, or an array of the weight's shape)."""

    def __init__(self, value):
        super().__init__(value=value)
        self.value = value

    def _init_weight(self, _, arr):
        arr[:] = self.value

    def dumps(self):
        val = self._kwargs["value"]
        if not np.isscalar(val):
            val = val.tolist() if isinstance(val, np.ndarray) else val.asnumpy().tolist()
        return json.dumps([type(self).__name__.lower(), dict(self._kwargs, value=val)])


@register
class Uniform(Initializer):
    """Weights from U(-scale, scale)."""

    def __init__(self, scale=0.07):
        super().__init__(scale=scale)
        self.scale = scale

    def _init_weight(self, _, arr):
        _random.uniform(-self.scale, self.scale, arr.shape, out=arr)


@register
class Normal(Initializer):
    """Weights from N(0, sigma^2)."""

    def __init__(self, sigma=0.01):
        super().__init__(sigma=sigma)
        self.sigma = sigma

    def _init_weight(self, _, arr):
        _random.normal(0, self.sigma, arr.shape, out=arr)


@register
class Orthogonal(Initializer):
    """scale times an orthogonal matrix (Saxe et al. 2013): the SVD factor of a random
    (shape[0], prod(shape[1:])) matrix (rand_type "uniform" in [-1, 1] or "normal") of that shape."""

    def __init__(self, scale=1.414, rand_type="uniform"):
        super().__init__(scale=scale, rand_type=rand_type)
        if rand_type not in ("uniform", "normal"):
            raise ValueError(f"Orthogonal: rand_type must be 'uniform' or 'normal', got {rand_type!r}")
        self.scale = scale
        self.rand_type = rand_type

    def _init_weight(self, _, arr):
        nout, nin = arr.shape[0], int(np.prod(arr.shape[1:]))
        if self.rand_type == "uniform":
            tmp = _random.uniform(-1.0, 1.0, shape=(nout, nin)).asnumpy()
        else:
            tmp = _random.normal(0.0, 1.0, shape=(nout, nin)).asnumpy()
        u, _, v = np.linalg.svd(tmp, full_matrices=False)
        res = u if u.shape == tmp.shape else v
        arr[:] = self.scale * res.reshape(arr.shape)


def _fans(name, shape):
    if len(shape) < 2:
        raise ValueError(f"Xavier initializer cannot be applied to vector {name} of shape {shape}: it requires at "
                         "least 2 dimensions")
    hw = float(np.prod(shape[2:])) if len(shape) > 2 else 1.0
    return shape[1] * hw, shape[0] * hw


@register
class Xavier(Initializer):
    """Glorot & Bengio: scale = sqrt(magnitude / factor), factor = fan_in, fan_out or their mean
    (factor_type "in", "out", "avg"), fans counting the kernel's spatial size; weights from
    U(-scale, scale) (rnd_type "uniform") or N(0, scale^2) ("gaussian")."""

    def __init__(self, rnd_type="uniform", factor_type="avg", magnitude=3):
        super().__init__(rnd_type=rnd_type, factor_type=factor_type, magnitude=magnitude)
        if rnd_type not in ("uniform", "gaussian"):
            raise ValueError(f"Xavier: rnd_type must be 'uniform' or 'gaussian', got {rnd_type!r}")
        if factor_type not in ("avg", "in", "out"):
            raise ValueError(f"Xavier: factor_type must be 'avg', 'in' or 'out', got {factor_type!r}")
        self.rnd_type = rnd_type
        self.factor_type = factor_type
        self.magnitude = float(magnitude)

    def _init_weight(self, name, arr):
        fan_in, fan_out = _fans(name, arr.shape)
        factor = {"avg": (fan_in + fan_out) / 2.0, "in": fan_in, "out": fan_out}[self.factor_type]
        scale = float(np.sqrt(self.magnitude / factor))
        if self.rnd_type == "uniform":
            _random.uniform(-scale, scale, arr.shape, out=arr)
        else:
            _random.normal(0, scale, arr.shape, out=arr)


@register
class MSRAPrelu(Xavier):
    """He et al. 2015: Xavier with gaussian draws and magnitude 2 / (1 + slope^2)."""

    def __init__(self, factor_type="avg", slope=0.25):
        super().__init__("gaussian", factor_type, 2.0 / (1 + slope ** 2))
        self._kwargs = {"factor_type": factor_type, "slope": slope}


@register
class Bilinear(Initializer):
    """Bilinear interpolation kernels for upsampling (Deconvolution) weights (N, C, H, W)."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, _, arr):
        shape = arr.shape
        f = np.ceil(shape[3] / 2.0)
        c = (2 * f - 1 - f % 2) / (2.0 * f)
        x = np.arange(shape[3]).reshape(1, -1)
        y = np.arange(shape[2]).reshape(-1, 1)
        kernel = ((1 - np.abs(x / f - c)) * (1 - np.abs(y / f - c))).astype(np.float32)
        arr[:] = np.broadcast_to(kernel, shape)


@register
class LSTMBias(Initializer):
    """LSTM biases: 0 except the forget gate's (the second quarter), forget_bias."""

    def __init__(self, forget_bias=1.0):
        super().__init__(forget_bias=forget_bias)
        self.forget_bias = forget_bias

    def _init_weight(self, name, arr):
        b = np.zeros(arr.shape, dtype=np.float32)
        h = arr.shape[0] // 4
        b[h:2 * h] = self.forget_bias
        arr[:] = b
