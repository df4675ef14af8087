"""DLPack: NDArray.__dlpack__ / __dlpack_device__ and mx.nd.from_dlpack, with numpy 2.x and torch.

Zero-copy both ways, every dtype, lifetimes on both sides (who frees the memory, and when),
capsules consumed once, and clear errors for what cannot be shared without a copy.
The torch tests run when torch is importable and skip otherwise.
"""
import gc
import weakref

import numpy as np
import pytest

import axle as mx

ALL_DTYPES = ["float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool"]
MiB = 1 << 20

try:
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not importable in this environment "
                                                       "(it is not a dependency of Axle's tests)")


def sample(dtype, shape=(3, 4), seed=0):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(np.bool_)
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    return rng.integers(-100 if np.dtype(dtype).kind == "i" else 0, 100, shape).astype(dtype)


def other_value(dtype):
    return True if dtype == "bool" else 42


def nd(x):
    a = mx.nd.empty(x.shape, dtype=x.dtype)
    if x.size:
        a[:] = x
    return a


def in_use():
    """Bytes Axle's cpu pool has handed out, once nothing is pending and garbage is collected."""
    gc.collect()
    mx.nd.waitall()
    return mx.context.memory_stats(mx.cpu(0))["bytes_in_use"]


# ---- the device ---------------------------------------------------------------------------------
def test_dlpack_device_is_cpu_0():
    assert mx.nd.ones((2,)).__dlpack_device__() == (1, 0)
    assert mx.nd.from_dlpack(np.ones(3, np.float32)).__dlpack_device__() == (1, 0)


# ---- Axle -> numpy ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_numpy_view_of_axle_array_has_values_and_shares_memory(dtype):
    x = sample(dtype)
    a = nd(x)
    n = np.from_dlpack(a)
    assert n.dtype == np.dtype(dtype)
    assert n.shape == x.shape
    assert n.tobytes() == x.tobytes()
    # an Axle write into a shows in the numpy view: the memory is shared, not copied
    a[:] = other_value(dtype)
    a.wait_to_read()
    assert (n == np.array(other_value(dtype), dtype)).all()
    # a second export views the very same memory
    assert np.from_dlpack(a).ctypes.data == n.ctypes.data


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_numpy_writes_into_the_view_show_in_the_axle_array(dtype):
    a = nd(sample(dtype))
    n = np.from_dlpack(a)
    n[0, 1] = other_value(dtype)
    assert a.asnumpy()[0, 1] == np.array(other_value(dtype), dtype)


def test_numpy_view_of_an_axle_slice_starts_at_the_slice():
    a = nd(np.arange(12, dtype=np.int32).reshape(4, 3))
    n = np.from_dlpack(a[1:3])
    assert n.tolist() == [[3, 4, 5], [6, 7, 8]]
    a[2] = -1
    a.wait_to_read()
    assert n.tolist() == [[3, 4, 5], [-1, -1, -1]]
    r = np.from_dlpack(a.reshape((2, 6)))
    assert r.shape == (2, 6) and r[1].tolist() == [-1, -1, -1, 9, 10, 11]


def test_numpy_view_sees_results_of_pending_ops():
    a = mx.nd.zeros((1000,))
    for _ in range(30):
        a += 1  # pushed to the engine; __dlpack__ must wait for them
    assert (np.from_dlpack(a) == 30).all()


def test_scalar_and_zero_size_axle_arrays_export():
    s = nd(np.array(2.5, np.float32))
    assert np.from_dlpack(s).shape == () and np.from_dlpack(s)[()] == 2.5
    z = mx.nd.zeros((0, 3), dtype=np.int64)
    nz = np.from_dlpack(z)
    assert nz.shape == (0, 3) and nz.dtype == np.int64


def test_copy_true_gives_an_independent_array():
    a = nd(np.arange(4, dtype=np.float32))
    n = np.from_dlpack(a, copy=True)
    a[:] = 0
    a.wait_to_read()
    assert n.tolist() == [0, 1, 2, 3]


def test_numpy_consumer_keeps_the_block_until_it_is_gone():
    base = in_use()
    a = mx.nd.ones((MiB,))  # 4 MiB: exactly one size class
    assert in_use() - base == 4 * MiB
    n = np.from_dlpack(a)
    del a
    assert in_use() - base == 4 * MiB  # the producer is gone, the consumer still holds the block
    assert n.sum() == MiB and n[-1] == 1
    v = n[10:20]  # a numpy view of the consumer keeps it alive too
    del n
    assert in_use() - base == 4 * MiB
    assert v.tolist() == [1] * 10
    del v
    assert in_use() == base


def test_unconsumed_capsule_holds_the_block_until_dropped():
    base = in_use()
    a = mx.nd.ones((MiB,))
    c = a.__dlpack__()
    del a
    assert in_use() - base == 4 * MiB
    del c
    assert in_use() == base


def test_axle_to_axle_through_a_capsule_shares_memory_and_frees_once():
    base = in_use()
    a = mx.nd.zeros((MiB,))
    c = a.__dlpack__()
    b = mx.nd.from_dlpack(c)
    a[:] = 7
    a.wait_to_read()
    assert b[5].asscalar() == 7
    del a, c
    assert in_use() - base == 4 * MiB
    assert (b.asnumpy() == 7).all()
    del b
    assert in_use() == base


# ---- numpy -> Axle ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_axle_view_of_numpy_array_shares_memory_both_ways(dtype):
    x = sample(dtype, seed=3)
    expected = x.copy()
    y = mx.nd.from_dlpack(x)
    assert np.dtype(y.dtype) == np.dtype(dtype)
    assert y.shape == x.shape
    assert y.asnumpy().tobytes() == expected.tobytes()
    # numpy writes show in Axle
    x[1, 2] = other_value(dtype)
    assert y.asnumpy()[1, 2] == np.array(other_value(dtype), dtype)
    # Axle writes show in numpy
    y[0] = other_value(dtype)
    y.wait_to_read()
    assert (x[0] == np.array(other_value(dtype), dtype)).all()
    # results computed from the view are right
    if dtype not in ("bool",):
        s = (y + y).asnumpy()
        np.testing.assert_array_equal(s, x + x)


def test_axle_view_keeps_the_numpy_array_alive_and_releases_it():
    x = np.arange(100000, dtype=np.float64)
    w = weakref.ref(x)
    y = mx.nd.from_dlpack(x)
    del x
    gc.collect()
    assert w() is not None  # the Axle array keeps the numpy array alive
    assert y[99999].asscalar() == 99999.0
    z = y * 2
    del y
    gc.collect()
    assert z[3].asscalar() == 6.0
    mx.nd.waitall()
    gc.collect()
    assert w() is None  # ... and lets go of it once the last Axle view is gone


def test_pending_ops_keep_a_dropped_numpy_source_alive():
    # producer and consumer dropped while engine ops still read the memory
    results, expected = [], []
    for i in range(200):
        x = np.full(5000, float(i), np.float32)
        y = mx.nd.from_dlpack(x)
        r = y
        for _ in range(5):
            r = r + y
        results.append(r)
        expected.append(6.0 * i)
        del x, y, r
    gc.collect()
    mx.nd.waitall()
    for r, e in zip(results, expected):
        assert (r.asnumpy() == e).all()


def test_numpy_scalar_array_imports_as_0d():
    x = np.array(3.5, np.float32)
    y = mx.nd.from_dlpack(x)
    assert y.shape == () and y.asnumpy()[()] == 3.5


def test_numpy_zero_size_array_imports():
    y = mx.nd.from_dlpack(np.zeros((0, 3), np.float32))
    assert y.shape == (0, 3)


def test_multiple_axle_views_of_one_numpy_array():
    x = np.zeros(10, np.int32)
    y1, y2 = mx.nd.from_dlpack(x), mx.nd.from_dlpack(x)
    y1[:] = 5
    y1.wait_to_read()
    assert y2.asnumpy().tolist() == [5] * 10 and x.tolist() == [5] * 10


# ---- capsules -----------------------------------------------------------------------------------
def test_axle_capsule_can_be_consumed_only_once():
    a = nd(np.arange(3, dtype=np.float32))
    c = a.__dlpack__()
    b = mx.nd.from_dlpack(c)
    with pytest.raises(ValueError, match="unconsumed DLPack capsule"):
        mx.nd.from_dlpack(c)
    assert b.asnumpy().tolist() == [0, 1, 2]
    del c
    gc.collect()
    assert b.asnumpy().tolist() == [0, 1, 2]


def test_numpy_capsule_can_be_consumed_only_once():
    x = np.arange(4, dtype=np.int64)
    c = x.__dlpack__()
    y = mx.nd.from_dlpack(c)
    with pytest.raises(ValueError, match="unconsumed DLPack capsule"):
        mx.nd.from_dlpack(c)
    del x, c
    gc.collect()
    assert y.asnumpy().tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("bad", [[1, 2, 3], 3.0, "dltensor", None])
def test_objects_without_dlpack_raise(bad):
    with pytest.raises(ValueError, match="unconsumed DLPack capsule"):
        mx.nd.from_dlpack(bad)


def test_versioned_capsule_is_imported_and_shares_memory():
    n = np.arange(3, dtype=np.float32)
    a = mx.nd.from_dlpack(n.__dlpack__(max_version=(1, 0)))
    n[1] = 42
    assert a.asnumpy().tolist() == [0, 42, 2]


def test_a_consumed_capsule_cannot_be_imported_again():
    c = np.arange(3, dtype=np.float32).__dlpack__(max_version=(1, 0))
    mx.nd.from_dlpack(c)
    with pytest.raises(ValueError, match="unconsumed DLPack capsule"):
        mx.nd.from_dlpack(c)


def test_read_only_versioned_tensor_is_refused():
    n = np.arange(3, dtype=np.float32)
    n.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        mx.nd.from_dlpack(n)


# ---- what cannot be shared -----------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: np.arange(6, dtype=np.float32).reshape(2, 3).T,
    lambda: np.arange(12, dtype=np.float32)[::2],
    lambda: np.arange(24, dtype=np.int32).reshape(2, 3, 4)[:, 1:, :],
    lambda: np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)),
], ids=["transposed", "strided", "sliced-middle-axis", "fortran"])
def test_non_contiguous_numpy_input_raises_instead_of_wrong_data(make):
    x = make()
    base = x.base if x.base is not None else x
    w = weakref.ref(base)
    snapshot = x.copy()
    with pytest.raises(ValueError, match=r"DLPack: only C-contiguous tensors can be shared \(shape \("):
        mx.nd.from_dlpack(x)
    np.testing.assert_array_equal(x, snapshot)  # untouched
    del x, base
    gc.collect()
    assert w() is None  # the refused capsule released its tensor (no leak)


@pytest.mark.parametrize("dtype", [np.complex64, np.int16, np.uint16, np.uint32, np.uint64])
def test_unsupported_dtype_raises_typeerror(dtype):
    with pytest.raises(TypeError, match=r"DLPack: unsupported dtype \(code \d+, bits \d+\)"):
        mx.nd.from_dlpack(np.zeros(3, dtype))


# ---- torch ---------------------------------------------------------------------------------------
TORCH_DTYPES = ALL_DTYPES


def torch_dtype(name):
    return getattr(torch, name)


@needs_torch
@pytest.mark.parametrize("dtype", TORCH_DTYPES)
def test_torch_view_of_axle_array_shares_memory_both_ways(dtype):
    x = sample(dtype, seed=5)
    a = nd(x)
    t = torch.from_dlpack(a)
    assert t.dtype == torch_dtype(dtype)
    assert tuple(t.shape) == x.shape
    assert t.numpy().tobytes() == x.tobytes()
    t[0, 1] = other_value(dtype)  # torch writes show in Axle
    assert a.asnumpy()[0, 1] == np.array(other_value(dtype), dtype)
    a[2] = other_value(dtype)  # Axle writes show in torch
    a.wait_to_read()
    assert (t[2].numpy() == np.array(other_value(dtype), dtype)).all()


@needs_torch
@pytest.mark.parametrize("dtype", TORCH_DTYPES)
def test_axle_view_of_torch_tensor_shares_memory_both_ways(dtype):
    x = sample(dtype, seed=6)
    t = torch.from_numpy(x.copy())
    y = mx.nd.from_dlpack(t)
    assert np.dtype(y.dtype) == np.dtype(dtype) and y.shape == x.shape
    assert y.asnumpy().tobytes() == x.tobytes()
    t[1, 1] = other_value(dtype)
    assert y.asnumpy()[1, 1] == np.array(other_value(dtype), dtype)
    y[0] = other_value(dtype)
    y.wait_to_read()
    assert (t[0].numpy() == np.array(other_value(dtype), dtype)).all()


@needs_torch
def test_torch_consumer_keeps_the_block_until_it_is_gone():
    base = in_use()
    a = mx.nd.ones((MiB,))
    t = torch.from_dlpack(a)
    del a
    assert in_use() - base == 4 * MiB
    assert float(t.sum()) == MiB
    t2 = t[5:10]
    del t
    assert in_use() - base == 4 * MiB
    assert t2.tolist() == [1.0] * 5
    del t2
    assert in_use() == base


@needs_torch
def test_axle_view_of_dropped_torch_tensor_stays_valid():
    t = torch.arange(100000, dtype=torch.float32)
    y = mx.nd.from_dlpack(t)
    del t
    gc.collect()
    r = y + 1
    del y
    gc.collect()
    assert r[99999].asscalar() == 100000.0


@needs_torch
def test_round_trip_axle_torch_axle_is_the_same_memory():
    a = mx.nd.zeros((4, 5))
    b = mx.nd.from_dlpack(torch.from_dlpack(a))
    b[1, 2] = 3
    b.wait_to_read()
    assert a[1, 2].asscalar() == 3


@needs_torch
def test_torch_capsule_can_be_consumed_only_once():
    t = torch.arange(3, dtype=torch.int32)
    c = torch.utils.dlpack.to_dlpack(t)
    y = mx.nd.from_dlpack(c)
    with pytest.raises(ValueError, match="unconsumed DLPack capsule"):
        mx.nd.from_dlpack(c)
    with pytest.raises(RuntimeError):
        torch.utils.dlpack.from_dlpack(c)  # torch sees it consumed as well
    assert y.asnumpy().tolist() == [0, 1, 2]


@needs_torch
def test_non_contiguous_torch_input_raises():
    with pytest.raises(ValueError, match="only C-contiguous tensors can be shared"):
        mx.nd.from_dlpack(torch.arange(6, dtype=torch.float32).reshape(2, 3).t())


@needs_torch
def test_torch_zero_size_and_scalar_import():
    assert mx.nd.from_dlpack(torch.zeros(0, 3)).shape == (0, 3)
    s = mx.nd.from_dlpack(torch.tensor(2.5))
    assert s.shape == () and s.asscalar() == 2.5


@needs_torch
def test_torch_bfloat16_is_refused():
    with pytest.raises(TypeError, match=r"unsupported dtype \(code 4, bits 16\)"):
        mx.nd.from_dlpack(torch.zeros(3, dtype=torch.bfloat16))
