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
