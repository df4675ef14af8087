"""Random sampling into NDArrays (mx.nd.random)."""
from ._op import invoke, op_handle
from ..context import current_context

__all__ = ["uniform", "normal", "randint", "seed"]


def _sample(op, a_name, a, b_name, b, shape, dtype, ctx, out):
    attrs = {a_name: float(a), b_name: float(b)}
    if shape is None:  # MXNet 1.x: the shape of out, else one number of shape (1,)
        shape = out.shape if out is not None else (1,)
    attrs["shape"] = (shape,) if isinstance(shape, int) else tuple(shape)
    if dtype is not None:
        attrs["dtype"] = dtype
    if out is None:
        attrs["ctx"] = ctx if ctx is not None else current_context()
    return invoke(op_handle(op), [], attrs, out)


def uniform(low=0, high=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from U[low, high)."""
    return _sample("_random_uniform", "low", low, "high", high, shape, dtype, ctx, out)


def normal(loc=0, scale=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from N(loc, scale**2)."""
    return _sample("_random_normal", "loc", loc, "scale", scale, shape, dtype, ctx, out)


def randint(low, high, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples integers from [low, high) (int32 unless dtype says otherwise)."""
    return _sample("_random_randint", "low", int(low), "high", int(high), shape, dtype, ctx, out)


def seed(seed_state, ctx="all"):
    from ..random import seed as _seed
    _seed(seed_state, ctx)
