"""The callback calls whose log lines make_training_fixtures.py records from MXNet 1.9.1 and
tests/python/test_callback.py compares Axle's with: one sequence, run against either library."""
import types


def drive_callbacks(mx, batch_end_param):
    """Runs Speedometer (both modes, with and without a metric), log_train_metric and ProgressBar on
    a fixed clock (mx.callback.time replaced: the caller restores it)."""
    clock = iter(float(t) for t in range(0, 400, 3))
    mx.callback.time = types.SimpleNamespace(time=lambda: next(clock))
    for auto_reset in (True, False):
        speedo = mx.callback.Speedometer(batch_size=16, frequent=2, auto_reset=auto_reset)
        metric = mx.metric.create(["acc", "ce"])
        for epoch in range(2):
            for nbatch in range(5):
                metric.update([mx.nd.array([0, 1, 1])], [mx.nd.array([[0.7, 0.3], [0.4, 0.6], [0.9, 0.1]])])
                speedo(batch_end_param(epoch, nbatch, metric, None))
    speedo = mx.callback.Speedometer(batch_size=8, frequent=3)
    for nbatch in range(7):
        speedo(batch_end_param(4, nbatch, None, None))
    log = mx.callback.log_train_metric(2)
    bar = mx.callback.ProgressBar(total=7, length=10)
    metric = mx.metric.create("acc")
    metric.update([mx.nd.array([0, 1])], [mx.nd.array([[0.7, 0.3], [0.4, 0.6]])])
    for nbatch in range(4):
        log(batch_end_param(1, nbatch, metric, None))
        bar(batch_end_param(1, nbatch, metric, None))
