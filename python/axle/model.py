"""Model checkpoints (MXNet 1.x's mx.model): save_checkpoint / load_checkpoint write and read
prefix-symbol.json and prefix-%04d.params (keys "arg:<name>" and "aux:<name>"), the files MXNet
1.9.1 reads and writes; BatchEndParam is what batch-end callbacks receive."""
import logging
from collections import namedtuple

from . import ndarray as nd
from .context import cpu

__all__ = ["BatchEndParam", "save_checkpoint", "load_params", "load_checkpoint"]

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


def load_params(prefix, epoch):
    """(arg_params, aux_params) from prefix-<epoch:04d>.params."""
    fname = "%s-%04d.params" % (prefix, epoch)
    saved = nd.load(fname)
    if not isinstance(saved, dict):
        raise ValueError(f"{fname}: holds unnamed arrays; a checkpoint names them arg:<name> / aux:<name>")
    arg_params, aux_params = {}, {}
    for k, v in saved.items():
        tp, _, name = k.partition(":")
        if tp == "arg":
            arg_params[name] = v
        elif tp == "aux":
            aux_params[name] = v
    return arg_params, aux_params


def load_checkpoint(prefix, epoch):
    """(symbol, arg_params, aux_params) from prefix-symbol.json and prefix-<epoch:04d>.params."""
    from . import symbol as sym  # the symbol module; imported here so this module loads without it
    symbol = sym.load(f"{prefix}-symbol.json")
    arg_params, aux_params = load_params(prefix, epoch)
    return symbol, arg_params, aux_params
