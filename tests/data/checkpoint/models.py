"""The models of the checkpoint fixtures, built with either library (mx is axle or mxnet): the same
symbols, so MXNet and Axle write and read the same files."""


def mlp(mx):
    """FC 16 relu -> FC 10 -> SoftmaxOutput on (N, 20) inputs."""
    data = mx.sym.Variable("data")
    h = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=16, name="fc1"), act_type="relu", name="relu1")
    return mx.sym.SoftmaxOutput(mx.sym.FullyConnected(h, num_hidden=10, name="fc2"), name="softmax")


def bn(mx):
    """Convolution -> BatchNorm (aux states) -> relu -> max-pool -> FC 10 -> SoftmaxOutput on (N, 3, 6, 6)."""
    data = mx.sym.Variable("data")
    c = mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, pad=(1, 1), name="conv1")
    b = mx.sym.BatchNorm(c, fix_gamma=False, momentum=0.5, name="bn1")
    p = mx.sym.Pooling(mx.sym.Activation(b, act_type="relu", name="relu1"), kernel=(2, 2), stride=(2, 2),
                       pool_type="max", name="pool1")
    return mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.Flatten(p), num_hidden=10, name="fc1"), name="softmax")


MODELS = {"mlp": (mlp, (20,)), "bn": (bn, (3, 6, 6))}


def axle_checkpoint_setup(mx, name):
    """What make_axle_checkpoint.py trains from (and check_axle_checkpoint.py trains again in
    MXNet): (symbol, training data, labels, initial arg params, initial aux states, test inputs),
    all drawn from numpy's RandomState(7)."""
    import numpy as np
    build, shape = MODELS[name]
    rng = np.random.RandomState(7)
    x = rng.rand(64, *shape).astype(np.float32)
    y = rng.randint(0, 10, 64).astype(np.float32)
    sym = build(mx)
    arg_shapes, _, aux_shapes = sym.infer_shape(data=(16,) + shape)
    args = {n: mx.nd.array(rng.uniform(-0.3, 0.3, s)) for n, s in zip(sym.list_arguments(), arg_shapes)
            if n not in ("data", "softmax_label")}
    aux = {n: mx.nd.array(rng.uniform(0.5, 1.5, s)) for n, s in zip(sym.list_auxiliary_states(), aux_shapes)}
    test_x = rng.rand(10, *shape).astype(np.float32)
    return sym, x, y, args, aux, test_x


FIT = dict(num_epoch=3, optimizer="sgd", optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
