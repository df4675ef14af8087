"""Random numbers (mx.random): seeding and the samplers of mx.nd.random."""
from ._lib import check, lib
from .ndarray.random import normal, randint, uniform  # noqa: F401

__all__ = ["seed", "uniform", "normal", "randint"]


def seed(seed_state, ctx="all"):
    """Seeds the generators of every device; later random ops are reproducible from here on."""
    check(lib.AxRandomSeed(int(seed_state) & 0x7FFFFFFF))
