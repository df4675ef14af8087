"""Modules (MXNet 1.x's mx.mod): a symbol bound for training and inference with its parameters,
optimizer and the fit / score / predict loops."""
from .base_module import BaseModule  # noqa: F401
from .module import Module  # noqa: F401

__all__ = ["BaseModule", "Module"]
