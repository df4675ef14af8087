"""The caches on the imperative call path: `axle.nd.<op>` keeps the encoded attributes of recent
calls by their keywords (python/axle/ndarray/_op.py), and AxImperativeInvoke keeps each thread's
last parses by op and strings (capi/c_api/c_api_op.cc). A cached call must behave exactly like a
fresh one: these tests repeat calls whose keywords are equal but mean different things."""
import threading

import numpy as np
import pytest

import axle as mx


def test_equal_keywords_of_other_types_are_not_confused():
    # 2 == 2.0 == True in Python, but they are different attribute strings ("2", "2.0", "True")
    x = mx.nd.array(np.arange(6.0).reshape(2, 3))
    for _ in range(3):
        assert mx.nd.sum(x, axis=1).shape == (2,)
        with pytest.raises(ValueError, match="axis"):
            mx.nd.sum(x, axis=1.5)
        assert mx.nd.sum(x, axis=1).shape == (2,)
    a = mx.nd.array([1.0, 2.0])
    # scalar=True is the string "True", not a number (as in MXNet), even right after scalar=1
    for _ in range(2):
        np.testing.assert_array_equal(mx.nd._plus_scalar(a, scalar=1).asnumpy(), [2, 3])
        with pytest.raises(ValueError, match="invalid value for attribute 'scalar': expected double, got 'True'"):
            mx.nd._plus_scalar(a, scalar=True)
        np.testing.assert_array_equal(mx.nd._plus_scalar(a, scalar=1.0).asnumpy(), [2, 3])


def test_the_same_keywords_with_new_inputs_use_the_new_inputs():
    w = mx.nd.array(np.eye(3, dtype=np.float32))
    for i in range(5):
        x = mx.nd.array(np.full((2, 3), float(i), np.float32))
        y = mx.nd.FullyConnected(x, w, num_hidden=3, no_bias=True)
        np.testing.assert_array_equal(y.asnumpy(), np.full((2, 3), float(i)))


def test_inputs_passed_by_name_are_not_cached_as_attributes():
    w, b = mx.nd.array(np.eye(2, dtype=np.float32)), mx.nd.zeros((2,))
    for i in range(3):
        x = mx.nd.array(np.full((1, 2), float(i), np.float32))
        y = mx.nd.FullyConnected(data=x, weight=w, bias=b, num_hidden=2)
        np.testing.assert_array_equal(y.asnumpy(), [[i, i]])


def test_the_default_context_is_read_at_every_call():
    for _ in range(2):
        with mx.Context("cpu", 1):
            a = mx.nd.random_uniform(shape=(2,))
        b = mx.nd.random_uniform(shape=(2,))
        assert a.context == mx.cpu(1)
        assert b.context == mx.cpu(0)


def test_unhashable_attribute_values_still_work():
    x = mx.nd.array(np.arange(6.0).reshape(2, 3))
    for _ in range(3):
        assert mx.nd.transpose(x, axes=[1, 0]).shape == (3, 2)
        assert mx.nd.Reshape(x, shape=[3, 2]).shape == (3, 2)


def test_more_distinct_attributes_than_the_caches_hold():
    # the C cache holds 16 parses per thread, the Python one 64 encodings per op: cycle past both
    x = mx.nd.array(np.arange(100.0))
    for _ in range(2):
        for k in range(80):
            got = mx.nd.slice_axis(x, axis=0, begin=k, end=k + 3).asnumpy()
            np.testing.assert_array_equal(got, [k, k + 1, k + 2])


def test_errors_from_a_cached_call_are_raised_every_time():
    x = mx.nd.ones((2, 3))
    w = mx.nd.ones((4, 5))
    for _ in range(3):
        with pytest.raises(ValueError, match=r"weight shape \(4,5\) does not match the expected \(4,3\)"):
            mx.nd.FullyConnected(x, w, num_hidden=4, no_bias=True)


def test_threads_do_not_share_their_parses():
    x = mx.nd.array(np.arange(12.0).reshape(3, 4))
    errors = []

    def work(axis, want):
        try:
            for _ in range(300):
                got = mx.nd.sum(x, axis=axis).asnumpy()
                if not np.array_equal(got, want):
                    errors.append((axis, got))
                    return
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    xs = x.asnumpy()
    ts = [threading.Thread(target=work, args=(a, xs.sum(axis=a))) for a in (0, 1, 0, 1)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors[:3]
