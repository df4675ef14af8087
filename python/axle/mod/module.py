"""Module: a symbol bound on one context, with its parameters (kept on the CPU between
get_params / set_params, as MXNet does) and its optimizer; updates run as the optimizer's update
ops on whole arrays."""
import logging

from .. import ndarray as nd
from .. import optimizer as opt
from ..context import Context, cpu
from ..init import InitDesc, Uniform
from ..io import DataDesc
from ..model import load_checkpoint, save_checkpoint
from .base_module import BaseModule, _parse_data_desc

__all__ = ["Module"]


def _check_input_names(symbol, names, typename, throw):
    args = symbol.list_arguments()
    for name in names:
        if name in args:
            continue
        candidates = [a for a in args if not a.endswith(("_weight", "_bias", "_gamma", "_beta"))]
        msg = (f"You created Module with Module(..., {typename}_names={list(names)}) but input with name {name!r} "
               f"is not found in symbol.list_arguments(). Did you mean one of:\n\t" + "\n\t".join(candidates))
        if throw:
            raise ValueError(msg)
        logging.warning(msg)


def _load(src, dst):
    """Copies a batch's array into a bound input (one copy op; numpy arrays and other shapes
    through NDArray assignment)."""
    if isinstance(src, nd.NDArray) and src.shape == dst.shape:
        src.copyto(dst)
    else:
        dst[:] = src


def _shape_key(descs):
    return tuple((d.name, tuple(d.shape)) for d in descs or ())


class Module(BaseModule):
    """A module over one symbol: data_names and label_names are its inputs, the other arguments
    its parameters (fixed_param_names are not updated), state_names inputs kept between batches.

        mod = axle.mod.Module(net, context=axle.cpu())
        mod.fit(train_iter, eval_data=val_iter, num_epoch=10,
                optimizer_params={"learning_rate": 0.1})
    """

    def __init__(self, symbol, data_names=("data",), label_names=("softmax_label",), logger=logging, context=None,
                 work_load_list=None, fixed_param_names=None, state_names=None, group2ctxs=None,
                 compression_params=None):
        super().__init__(logger=logger)
        context = cpu() if context is None else context
        if isinstance(context, Context):
            context = [context]
        context = list(context)
        if len(context) != 1:
            raise NotImplementedError(f"Module: training on several contexts at once ({context}) is not supported "
                                      "by Axle yet; pass one context")
        if not isinstance(context[0], Context):
            raise TypeError(f"Module: context must be a Context, got {type(context[0]).__name__}")
        if group2ctxs:
            raise NotImplementedError("Module: group2ctxs (model parallelism) is not supported by Axle")
        self._context = context
        self._work_load_list = work_load_list or [1]
        self._symbol = symbol
        data_names = list(data_names) if data_names is not None else []
        label_names = list(label_names) if label_names is not None else []
        state_names = list(state_names) if state_names is not None else []
        fixed_param_names = list(fixed_param_names) if fixed_param_names is not None else []
        _check_input_names(symbol, data_names, "data", True)
        _check_input_names(symbol, label_names, "label", False)
        _check_input_names(symbol, state_names, "state", True)
        _check_input_names(symbol, fixed_param_names, "fixed_param", True)
        input_names = set(data_names + label_names + state_names)
        self._param_names = [n for n in symbol.list_arguments() if n not in input_names]
        self._fixed_param_names = fixed_param_names
        self._aux_names = symbol.list_auxiliary_states()
        self._data_names = data_names
        self._label_names = label_names
        self._state_names = state_names
        self._output_names = symbol.list_outputs()
        self._arg_params = None
        self._aux_params = None
        self._params_dirty = False
        self._optimizer = None
        self._kvstore = None
        self._update_on_kvstore = False
        self._updater = None
        self._preload_opt_states = None
        self._grad_req = None
        self._exec = None
        self._execs = {}
        self._shared_exec = None
        self._update_args = None
        self._data_shapes = None
        self._label_shapes = None

    # checkpoints ---------------------------------------------------------------------------------
    @staticmethod
    def load(prefix, epoch, load_optimizer_states=False, **kwargs):
        """A Module over prefix-symbol.json with the parameters of prefix-<epoch>.params (and the
        optimizer states of prefix-<epoch>.states once init_optimizer runs); kwargs go to Module."""
        sym, args, auxs = load_checkpoint(prefix, epoch)
        mod = Module(symbol=sym, **kwargs)
        mod._arg_params = args
        mod._aux_params = auxs
        mod.params_initialized = True
        if load_optimizer_states:
            mod._preload_opt_states = "%s-%04d.states" % (prefix, epoch)
        return mod

    def save_checkpoint(self, prefix, epoch, save_optimizer_states=False, remove_amp_cast=True):
        """Writes prefix-symbol.json, prefix-<epoch>.params and, when asked, prefix-<epoch>.states."""
        arg_params, aux_params = self.get_params()
        save_checkpoint(prefix, epoch, self._symbol, arg_params, aux_params, remove_amp_cast=remove_amp_cast)
        if save_optimizer_states:
            state_name = "%s-%04d.states" % (prefix, epoch)
            self.save_optimizer_states(state_name)
            logging.info('Saved optimizer state to "%s"', state_name)

    # names and shapes ----------------------------------------------------------------------------
    @property
    def data_names(self):
        return self._data_names

    @property
    def label_names(self):
        return self._label_names

    @property
    def output_names(self):
        return self._output_names

    def _need_bound(self, what):
        if not self.binded:
            raise RuntimeError(f"{what}: the module is not bound; call bind() first")

    @property
    def data_shapes(self):
        self._need_bound("data_shapes")
        return self._data_shapes

    @property
    def label_shapes(self):
        self._need_bound("label_shapes")
        return self._label_shapes

    @property
    def output_shapes(self):
        self._need_bound("output_shapes")
        return [(n, o.shape) for n, o in zip(self._output_names, self._exec.outputs)]

    # parameters ----------------------------------------------------------------------------------
    def get_params(self):
        """(arg_params, aux_params): dicts name -> NDArray of the current values (copies)."""
        if not (self.binded and self.params_initialized):
            raise RuntimeError("get_params: bind the module and initialize its parameters first")
        if self._params_dirty:
            self._sync_params_from_devices()
        return self._arg_params, self._aux_params

    def init_params(self, initializer=Uniform(0.01), arg_params=None, aux_params=None, allow_missing=False,
                    force_init=False, allow_extra=False):
        """Initializes each parameter from arg_params / aux_params when given there, else with
        initializer (by name: *_weight, *_bias, *_gamma, ...); allow_missing lets names be absent
        from the given dicts; names the module lacks are ignored, as in MXNet."""
        if self.params_initialized and not force_init:
            logging.warning("Parameters already initialized and force_init=False. init_params call ignored.")
            return
        self._need_bound("init_params")

        def fill(name, arr, given):
            if given is None:
                initializer(name, arr)
            elif name in given:
                src = given[name]
                if src is not arr:
                    if tuple(src.shape) != arr.shape:
                        raise ValueError(f"init_params: {name!r} has shape {arr.shape} in the module, "
                                         f"{tuple(src.shape)} in the given parameters")
                    arr[:] = src
            elif not allow_missing:
                raise RuntimeError(f"init_params: {name} is not presented (pass allow_missing=True to initialize "
                                   "missing parameters with the initializer)")
            elif initializer is not None:
                initializer(name, arr)

        attrs = self._symbol.attr_dict()
        for params, given in ((self._arg_params, arg_params), (self._aux_params, aux_params)):
            for name, arr in sorted(params.items()):
                fill(InitDesc(name, attrs.get(name)), arr, given)
        self.params_initialized = True
        self._params_dirty = False
        self._copy_params_to_exec(self._arg_params, self._aux_params)

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True, allow_extra=False):
        """Assigns parameter and aux state values (dicts name -> NDArray)."""
        if not allow_missing:
            self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                             allow_missing=allow_missing, force_init=force_init, allow_extra=allow_extra)
            return
        if self.params_initialized and not force_init:
            logging.warning("Parameters already initialized and force_init=False. set_params call ignored.")
            return
        self._copy_params_to_exec(arg_params, aux_params, allow_extra=allow_extra)
        self._params_dirty = True
        self.params_initialized = True

    def _copy_params_to_exec(self, arg_params, aux_params, allow_extra=True):
        self._exec.copy_params_from(arg_params or {}, aux_params or {}, allow_extra_params=allow_extra)

    def _sync_params_from_devices(self):
        for name, arr in self._arg_params.items():
            self._exec.arg_dict[name].copyto(arr)
        for name, arr in self._aux_params.items():
            self._exec.aux_dict[name].copyto(arr)
        self._params_dirty = False

    # binding -------------------------------------------------------------------------------------
    def _reset_bind(self):
        self.binded = False
        self._exec = None
        self._execs = {}
        self._update_args = None

    def _grad_reqs(self, grad_req):
        reqs = {}
        for name in self._symbol.list_arguments():
            if not self.for_training:
                reqs[name] = "null"
            elif name in self._param_names:
                if name in self._fixed_param_names:
                    reqs[name] = "null"
                else:
                    reqs[name] = grad_req.get(name, "null") if isinstance(grad_req, dict) else grad_req
            elif name in self._data_names:
                reqs[name] = "write" if self.inputs_need_grad else "null"
            else:
                reqs[name] = "null"
        return reqs

    def _bind_exec(self, shared_exec):
        descs = list(self._data_shapes) + list(self._label_shapes or [])
        shapes = {d.name: tuple(d.shape) for d in descs}
        types = {d.name: d.dtype for d in descs}
        ex = self._symbol.simple_bind(self._context[0], grad_req=self._grad_reqs(self._grad_req), type_dict=types,
                                      shared_exec=shared_exec, **shapes)
        self._exec = ex
        self._execs = {_shape_key(descs): ex}
        self._update_args = None
        self._total_exec_bytes = ex.memory_plan["planned_bytes"]

    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False, force_rebind=False,
             shared_module=None, grad_req="write"):
        """Binds the symbol for the given input shapes (DataDescs or (name, shape) pairs, usually
        an iterator's provide_data / provide_label). shared_module: a bound Module whose
        parameters (and optimizer) this one uses."""
        if force_rebind:
            self._reset_bind()
        if self.binded:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if not for_training and inputs_need_grad:
            raise ValueError("bind: inputs_need_grad=True needs for_training=True")
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._grad_req = grad_req
        self._data_shapes, self._label_shapes = _parse_data_desc(self._data_names, self._label_names, data_shapes,
                                                                 label_shapes)
        shared_exec = None
        if shared_module is not None:
            if not (isinstance(shared_module, Module) and shared_module.binded and shared_module.params_initialized):
                raise ValueError("bind: shared_module must be a bound Module with initialized parameters")
            shared_exec = shared_module._exec
        self._bind_exec(shared_exec)
        if shared_module is not None:
            self.params_initialized = True
            self._arg_params = shared_module._arg_params
            self._aux_params = shared_module._aux_params
            self._params_dirty = shared_module._params_dirty
        elif self.params_initialized:
            # re-binding (or Module.load): copy the parameters we hold into the new executor
            self._copy_params_to_exec(self._arg_params, self._aux_params)
        else:
            self._arg_params = {n: nd.zeros(self._exec.arg_dict[n].shape, dtype=self._exec.arg_dict[n].dtype)
                                for n in self._param_names}
            self._aux_params = {n: nd.zeros(a.shape, dtype=a.dtype) for n, a in self._exec.aux_dict.items()}
        if shared_module is not None and shared_module.optimizer_initialized:
            self.borrow_optimizer(shared_module)
        self.binded = True

    def reshape(self, data_shapes, label_shapes=None):
        """Rebinds for new input shapes (another batch size), sharing the parameters; executors
        of shapes seen before are reused."""
        self._need_bound("reshape")
        self._data_shapes, self._label_shapes = _parse_data_desc(self._data_names, self._label_names, data_shapes,
                                                                 label_shapes)
        descs = list(self._data_shapes) + list(self._label_shapes or [])
        key = _shape_key(descs)
        ex = self._execs.get(key)
        if ex is None:
            ex = self._exec.reshape(allow_up_sizing=True, **{d.name: tuple(d.shape) for d in descs})
            self._execs[key] = ex
        self._exec = ex
        self._update_args = None

    # optimizer -----------------------------------------------------------------------------------
    def init_optimizer(self, kvstore="local", optimizer="sgd", optimizer_params=(("learning_rate", 0.01),),
                       force_init=False):
        """Installs the optimizer (a name with optimizer_params, or an Optimizer). The gradients are
        rescaled by 1/batch_size unless optimizer_params sets rescale_grad."""
        if not (self.binded and self.params_initialized):
            raise RuntimeError("init_optimizer: bind the module and initialize its parameters first")
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring...")
            return
        if kvstore is not None and not isinstance(kvstore, str):
            raise NotImplementedError("init_optimizer: KVStore objects are not supported by Axle yet")
        if isinstance(kvstore, str) and "dist" in kvstore:
            raise NotImplementedError(f"init_optimizer: distributed kvstore {kvstore!r} is not supported by Axle")
        batch_size = self._data_shapes[0].shape[DataDesc.get_batch_axis(getattr(self._data_shapes[0], "layout",
                                                                                  None))]
        rescale_grad = 1.0 / batch_size
        idx2name = dict(enumerate(self._param_names))
        if isinstance(optimizer, str):
            optimizer_params = dict(optimizer_params)
            optimizer_params.setdefault("rescale_grad", rescale_grad)
            optimizer = opt.create(optimizer, sym=self._symbol, param_idx2name=idx2name, **optimizer_params)
        elif isinstance(optimizer, opt.Optimizer):
            if optimizer.rescale_grad != rescale_grad:
                logging.warning("Optimizer created manually outside Module but rescale_grad is not normalized to "
                                "1.0/batch_size/num_workers (%s vs. %s). Is this intended?", optimizer.rescale_grad,
                                rescale_grad)
            if not optimizer.idx2name:
                optimizer.idx2name = idx2name.copy()
        else:
            raise TypeError(f"init_optimizer: optimizer must be a name or an Optimizer, got {type(optimizer).__name__}")
        self._optimizer = optimizer
        self._kvstore = None
        self._update_on_kvstore = False
        self._updater = opt.get_updater(optimizer)
        self.optimizer_initialized = True
        if self._preload_opt_states is not None:
            self.load_optimizer_states(self._preload_opt_states)
            self._preload_opt_states = None

    def borrow_optimizer(self, shared_module):
        """Uses shared_module's optimizer and updater."""
        if not shared_module.optimizer_initialized:
            raise RuntimeError("borrow_optimizer: the shared module has no optimizer")
        self._optimizer = shared_module._optimizer
        self._kvstore = shared_module._kvstore
        self._update_on_kvstore = shared_module._update_on_kvstore
        self._updater = shared_module._updater
        self.optimizer_initialized = True

    def save_optimizer_states(self, fname):
        """Writes the optimizer's states (pickled) to fname."""
        if not self.optimizer_initialized:
            raise RuntimeError("save_optimizer_states: call init_optimizer first")
        with open(fname, "wb") as f:
            f.write(self._updater.get_states())

    def load_optimizer_states(self, fname):
        """Reads what save_optimizer_states wrote."""
        if not self.optimizer_initialized:
            raise RuntimeError("load_optimizer_states: call init_optimizer first")
        with open(fname, "rb") as f:
            self._updater.set_states(f.read())

    # computation ---------------------------------------------------------------------------------
    def forward(self, data_batch, is_train=None):
        """Copies the batch into the bound inputs (rebinding first when its shapes differ) and
        runs forward; is_train defaults to for_training."""
        if not (self.binded and self.params_initialized):
            raise RuntimeError("forward: bind the module and initialize its parameters first")
        if is_train is None:
            is_train = self.for_training
        data = data_batch.data
        if len(data) != len(self._data_names):
            raise ValueError(f"forward: the batch has {len(data)} data arrays, the module takes "
                             f"{len(self._data_names)} ({self._data_names})")
        if any(tuple(d.shape) != s.shape for d, s in zip(data, self._data_shapes)):
            self._reshape_for(data_batch)
        ex = self._exec
        args = ex.arg_dict
        for name, src in zip(self._data_names, data):
            _load(src, args[name])
        label = data_batch.label
        if label and self._label_shapes:
            for name, src in zip(self._label_names, label):
                if name in args:
                    _load(src, args[name])
        ex.forward(is_train=is_train)

    def _reshape_for(self, data_batch):
        provide_data = getattr(data_batch, "provide_data", None)
        if provide_data:
            new_dshape = provide_data
        else:
            new_dshape = [DataDesc(d.name, tuple(x.shape), d.dtype, d.layout)
                          for d, x in zip(self._data_shapes, data_batch.data)]
        provide_label = getattr(data_batch, "provide_label", None)
        if provide_label:
            new_lshape = provide_label
        elif data_batch.label and self._label_shapes:
            new_lshape = [DataDesc(d.name, tuple(x.shape), d.dtype, d.layout)
                          for d, x in zip(self._label_shapes, data_batch.label)]
        else:
            new_lshape = None
        self.reshape(new_dshape, new_lshape)

    def backward(self, out_grads=None):
        """Runs backward (after forward(is_train=True))."""
        if not (self.binded and self.params_initialized):
            raise RuntimeError("backward: bind the module and initialize its parameters first")
        if not self.for_training:
            raise RuntimeError("backward: the module is bound with for_training=False")
        self._exec.backward(out_grads=out_grads)

    def update(self):
        """Updates the parameters from their gradients with the optimizer (one update op per
        parameter)."""
        if not (self.binded and self.params_initialized and self.optimizer_initialized):
            raise RuntimeError("update: bind the module, initialize its parameters and its optimizer (init_optimizer) first")
        self._params_dirty = True
        if self._update_args is None:
            ex = self._exec
            triples = [(i, ex.grad_dict[n], ex.arg_dict[n]) for i, n in enumerate(self._param_names)
                       if ex.grad_dict.get(n) is not None]
            self._update_args = tuple(list(t) for t in zip(*triples)) if triples else None
            if self._update_args is None:
                return
        self._updater(*self._update_args)

    def get_outputs(self, merge_multi_context=True):
        """The outputs of the last forward (NDArrays, one per output)."""
        self._need_bound("get_outputs")
        return list(self._exec.outputs)

    def get_input_grads(self, merge_multi_context=True):
        """The gradients of the data inputs (bind with inputs_need_grad=True)."""
        if not self.inputs_need_grad:
            raise RuntimeError("get_input_grads: bind with inputs_need_grad=True to get input gradients")
        return [self._exec.grad_dict[n] for n in self._data_names]

    def get_states(self, merge_multi_context=True):
        """The state inputs (state_names)."""
        self._need_bound("get_states")
        return [self._exec.arg_dict[n] for n in self._state_names]

    def set_states(self, states=None, value=None):
        """Sets the state inputs from arrays (states) or to one scalar (value)."""
        self._need_bound("set_states")
        if (states is None) == (value is None):
            raise ValueError("set_states: pass either states or value")
        for i, n in enumerate(self._state_names):
            self._exec.arg_dict[n][:] = states[i] if states is not None else value

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Updates eval_metric with the labels and the outputs of the last forward."""
        if pre_sliced:
            raise NotImplementedError("update_metric: pre_sliced labels (several devices) are not supported")
        label_dict = dict(zip(self._label_names, labels or []))
        eval_metric.update_dict(label_dict, dict(zip(self._output_names, self._exec.outputs)))
