"""The dependency engine: concurrency of independent ops, program order per array, async errors,
the NaiveEngine, a multi-threaded stress test and clean process exit.

Concurrency is shown without timing through the core's testing op `_engine_rendezvous`: a call
returns only once `parties` calls with the same key run at the same time, and fails with
"rendezvous K timed out" otherwise. Its per-key counters are never reset, so every test takes a
fresh key from `_key()`.

Tests that make a *random* op fail run in a subprocess: they use MXNet's exact call on the default
device, and a failure there must not touch the random stream that other test files in the same
session rely on (an earlier core bug left every later random op failing).
"""
import itertools
import os
import random
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import axle as mx
from axle._lib import AxleError, ffi, lib

# Keys unique to this file (other files may use small keys; counters live for the whole process).
_KEYS = itertools.count(0x7E5_0000)


def _key():
    return next(_KEYS)


def _rdv(data, key, timeout_ms=10_000, parties=2, out=None):
    """A rendezvous; the default timeout only matters if the test fails (success returns at once)."""
    return mx.nd._engine_rendezvous(data, key=key, parties=parties, timeout_ms=timeout_ms, out=out)


def _timed_out(key):
    """The message of a rendezvous that timed out, as it surfaces at the wait point."""
    return rf"_engine_rendezvous.*rendezvous {key} timed out"


def _workers():
    v = os.environ.get("AXLE_CPU_WORKER_NTHREADS", "")
    return int(v) if v.isdigit() and int(v) > 0 else 2


needs_two_workers = pytest.mark.skipif(
    _workers() < 2 or os.environ.get("AXLE_ENGINE_TYPE") == "NaiveEngine",
    reason="needs the threaded engine with at least 2 CPU workers")


def _run_py(code, timeout=180, **env_extra):
    """Runs code in a fresh interpreter; the engine variables are taken from env_extra only."""
    env = {k: v for k, v in os.environ.items() if k not in ("AXLE_ENGINE_TYPE", "AXLE_CPU_WORKER_NTHREADS",
                                                           "AXLE_MEM_POOL")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=timeout)


def _assert_ok(proc):
    assert proc.returncode == 0, f"rc={proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"


def _assert_clean_stderr(proc):
    for bad in ("terminate called", "Segmentation fault", "Aborted", "core dumped", "Fatal Python error",
                "Traceback"):
        assert bad not in proc.stderr, f"{bad!r} in stderr:\n{proc.stderr}"


@pytest.fixture(autouse=True)
def _drained():
    """Every test starts and ends with an idle engine (no op of another test holds a worker)."""
    try:
        mx.nd.waitall()
    except AxleError:
        pass  # an error some earlier test (maybe of another file) left unreported is not ours
    yield
    mx.nd.waitall()  # and each test here reports every error it causes


# ---- independent ops overlap, dependent ops do not -------------------------------------------------
@needs_two_workers
def test_ops_on_different_arrays_run_concurrently():
    k = _key()
    a = mx.nd.array([1, 2, 3])
    b = mx.nd.array([4, 5, 6])
    y1 = _rdv(a, k)
    y2 = _rdv(b, k)
    # Both succeed only if the engine ran them at the same time.
    np.testing.assert_array_equal(y1.asnumpy(), [1, 2, 3])
    np.testing.assert_array_equal(y2.asnumpy(), [4, 5, 6])
    mx.nd.waitall()


@needs_two_workers
def test_reads_of_the_same_array_run_concurrently():
    k = _key()
    a = mx.nd.array([7, 8])
    y1 = _rdv(a, k)  # both only read a
    y2 = _rdv(a, k)
    np.testing.assert_array_equal(y1.asnumpy(), [7, 8])
    np.testing.assert_array_equal(y2.asnumpy(), [7, 8])


@needs_two_workers
def test_two_writes_to_the_same_array_do_not_overlap():
    k = _key()
    a, b = mx.nd.array([1, 1]), mx.nd.array([2, 2])
    c = mx.nd.zeros((2,))
    _rdv(a, k, timeout_ms=300, out=c)  # returns at once: the error is async
    _rdv(b, k, timeout_ms=300, out=c)
    with pytest.raises(AxleError, match=_timed_out(k)) as ei:
        c.asnumpy()
    assert "Error in operator _engine_rendezvous" in str(ei.value)
    # the error was reported once; c is usable again
    c[:] = 5
    np.testing.assert_array_equal(c.asnumpy(), [5, 5])


@needs_two_workers
def test_write_then_read_do_not_overlap():
    k = _key()
    a = mx.nd.array([3, 4])
    y = _rdv(a, k, timeout_ms=300)  # writes y
    z = _rdv(y, k, timeout_ms=300)  # reads y: must wait for the write
    with pytest.raises(AxleError, match=_timed_out(k)):
        z.wait_to_read()
    with pytest.raises(AxleError, match=_timed_out(k)):
        y.wait_to_read()


@needs_two_workers
def test_read_then_write_do_not_overlap():
    k = _key()
    a, b = mx.nd.array([1, 2]), mx.nd.array([5, 6])
    y = _rdv(a, k, timeout_ms=300)  # reads a
    _rdv(b, k, timeout_ms=300, out=a)  # writes a: must wait for the read
    with pytest.raises(AxleError, match=_timed_out(k)):
        y.wait_to_read()
    with pytest.raises(AxleError, match=_timed_out(k)):
        a.wait_to_read()


@needs_two_workers
def test_writes_through_views_are_ordered_with_the_base_array():
    k = _key()
    base = mx.nd.zeros((4, 2))
    v1 = base[0:2]  # views share the base's engine variable
    v2 = base.reshape((8,))
    _rdv(mx.nd.ones((2, 2)), k, timeout_ms=300, out=v1)
    _rdv(mx.nd.ones((8,)), k, timeout_ms=300, out=v2)
    with pytest.raises(AxleError, match=_timed_out(k)):
        base.wait_to_read()


def test_worker_count_follows_the_environment():
    code = """
        import axle as mx, pytest
        a, b, c = (mx.nd.ones((2,)) for _ in range(3))
        ys = [mx.nd._engine_rendezvous(x, key=11, parties=3, timeout_ms=10000) for x in (a, b, c)]
        for y in ys:
            y.wait_to_read()
        print("three together")
    """
    p = _run_py(code, AXLE_CPU_WORKER_NTHREADS="3")
    _assert_ok(p)
    assert "three together" in p.stdout
    one = """
        import axle as mx, pytest
        a, b = mx.nd.ones((2,)), mx.nd.ones((2,))
        y1 = mx.nd._engine_rendezvous(a, key=12, timeout_ms=300)
        y2 = mx.nd._engine_rendezvous(b, key=12, timeout_ms=300)
        with pytest.raises(mx.base.MXNetError, match="rendezvous 12 timed out"):
            y1.wait_to_read()
        with pytest.raises(mx.base.MXNetError, match="rendezvous 12 timed out"):
            y2.wait_to_read()
        print("serialised")
    """
    p = _run_py(one, AXLE_CPU_WORKER_NTHREADS="1")
    _assert_ok(p)
    assert "serialised" in p.stdout


# ---- program order ------------------------------------------------------------------------------
def test_in_place_chain_matches_numpy():
    x = np.linspace(-3, 3, 50_000, dtype=np.float32)
    a = mx.nd.array(x)
    ref = x.copy()
    a += 1
    ref += np.float32(1)
    a *= 2
    ref *= np.float32(2)
    a -= 0.5
    ref -= np.float32(0.5)
    a /= 4
    ref /= np.float32(4)
    a += a
    ref += ref
    a *= a
    ref *= ref
    a -= 3
    ref -= np.float32(3)
    np.testing.assert_array_equal(a.asnumpy(), ref)


def test_reads_see_exactly_the_writes_before_them():
    n = 200_000  # large enough that a misordered read would catch a write half-done
    a = mx.nd.zeros((n,))
    snaps = []
    for i in range(1, 41):
        a += i  # write
        snaps.append(a * 1)  # read, must see this write and no later one
        snaps.append(a.copy())
    expected = np.cumsum(np.arange(1, 41, dtype=np.float64))
    for i, s in enumerate(snaps):
        got = s.asnumpy()
        assert got.shape == (n,)
        np.testing.assert_array_equal(got, np.full(n, expected[i // 2], dtype=np.float32), err_msg=f"snapshot {i}")
    np.testing.assert_array_equal(a.asnumpy(), np.full(n, expected[-1], dtype=np.float32))


def test_writes_through_a_view_are_seen_by_the_base():
    a = mx.nd.zeros((6, 3))
    v = a[2:4]
    v += 5
    r = a.reshape((18,))
    r *= 2
    ref = np.zeros((6, 3), np.float32)
    ref[2:4] += 5
    ref *= 2
    np.testing.assert_array_equal(a.asnumpy(), ref)
    np.testing.assert_array_equal(v.asnumpy(), ref[2:4])


def test_write_after_read_waits_for_the_read():
    a = mx.nd.array(np.arange(100_000, dtype=np.float32))
    b = a + 0  # reads a
    a[:] = -1  # must not run before the read above
    np.testing.assert_array_equal(b.asnumpy(), np.arange(100_000, dtype=np.float32))
    np.testing.assert_array_equal(a.asnumpy(), np.full(100_000, -1, np.float32))


# ---- async errors (op failures in this process; no random state involved) ------------------------
def test_op_error_is_async_and_raised_once_at_the_wait():
    k = _key()
    y = _rdv(mx.nd.ones((3,)), k, timeout_ms=300, parties=2)  # no partner: fails, but not here
    with pytest.raises(mx.base.MXNetError, match=_timed_out(k)):
        y.asnumpy()
    y.wait_to_read()  # reported once: the second wait is quiet
    mx.nd.waitall()  # already reported by the wait above


def test_error_propagates_to_the_readers_of_a_failed_array():
    k = _key()
    y = _rdv(mx.nd.ones((3,)), k, timeout_ms=100)
    z = y + 1
    w = z * 2
    with pytest.raises(AxleError, match=_timed_out(k)):
        w.asnumpy()
    with pytest.raises(AxleError, match=_timed_out(k)):
        z.wait_to_read()
    with pytest.raises(AxleError, match=_timed_out(k)):
        y.wait_to_read()


def test_waitall_reports_an_unreported_error_once():
    k = _key()
    _rdv(mx.nd.ones((3,)), k, timeout_ms=100)
    with pytest.raises(mx.base.MXNetError, match=_timed_out(k)):
        mx.nd.waitall()
    mx.nd.waitall()  # once


def test_waitall_reports_a_second_error_after_the_first_was_reported():
    # One worker runs the ops in push order: y1 fails, then y2 fails, then z runs.
    code = """
        import pytest, axle as mx
        y1 = mx.nd._engine_rendezvous(mx.nd.ones((3,)), key=21, timeout_ms=10)
        y2 = mx.nd._engine_rendezvous(mx.nd.ones((3,)), key=22, timeout_ms=10)
        z = mx.nd.ones((3,)) * 2
        z.wait_to_read()  # both errors exist now; none was reported
        with pytest.raises(mx.base.MXNetError, match="rendezvous 21 timed out"):
            y1.wait_to_read()
        # the error of y2 has not been reported by anything yet
        with pytest.raises(mx.base.MXNetError, match="rendezvous 22 timed out"):
            mx.nd.waitall()
        mx.nd.waitall()
        print("OK")
    """
    p = _run_py(code, AXLE_CPU_WORKER_NTHREADS="1")
    _assert_ok(p)
    assert "OK" in p.stdout


def test_waitall_reports_every_unreported_error_one_per_call():
    code = """
        import pytest, axle as mx
        ys = [mx.nd._engine_rendezvous(mx.nd.ones((3,)), key=k, timeout_ms=10) for k in (31, 32, 33)]
        zs = [y + 1 for y in ys]  # passed on to readers: still one error each
        for k in (31, 32, 33):  # one worker: they failed in push order
            with pytest.raises(mx.base.MXNetError, match=f"rendezvous {k} timed out"):
                mx.nd.waitall()
        mx.nd.waitall()
        print("OK")
    """
    p = _run_py(code, AXLE_CPU_WORKER_NTHREADS="1")
    _assert_ok(p)
    assert "OK" in p.stdout


def test_waitall_does_not_report_an_error_again_after_a_wait_reported_it():
    code = """
        import pytest, axle as mx
        y = mx.nd._engine_rendezvous(mx.nd.ones((3,)), key=41, timeout_ms=10)
        z = y + 1  # z carries y's error too
        with pytest.raises(mx.base.MXNetError, match="rendezvous 41 timed out"):
            y.wait_to_read()  # reported
        w = z * 2  # passes the same error on, after it was reported
        mx.nd.ones((1,)).wait_to_read()  # one worker: w has run
        mx.nd.waitall()  # nothing unreported is left
        with pytest.raises(mx.base.MXNetError, match="rendezvous 41 timed out"):
            w.wait_to_read()  # the array itself still carries it
        print("OK")
    """
    p = _run_py(code, AXLE_CPU_WORKER_NTHREADS="1")
    _assert_ok(p)
    assert "OK" in p.stdout


def test_process_keeps_working_after_an_op_error():
    k = _key()
    y = _rdv(mx.nd.ones((3,)), k, timeout_ms=50)
    with pytest.raises(AxleError, match=_timed_out(k)):
        y.asnumpy()
    a = mx.nd.array([1, 2, 3])
    np.testing.assert_array_equal((a * 2 + 1).asnumpy(), [3, 5, 7])
    # the failed array can be overwritten and used again
    y[:] = 4
    np.testing.assert_array_equal((y + a).asnumpy(), [5, 6, 7])


def test_a_failed_out_array_keeps_its_error_until_waited():
    k = _key()
    c = mx.nd.zeros((2,))
    _rdv(mx.nd.ones((2,)), k, timeout_ms=50, out=c)
    c += 1  # reads and writes c, which carries the error: does not run, passes it on
    with pytest.raises(AxleError, match=_timed_out(k)):
        c.asnumpy()


# ---- async errors of random ops (subprocesses: see the module docstring) ---------------------------
def test_random_uniform_error_surfaces_at_asnumpy():
    code = """
        import pytest, axle as mx
        x = mx.nd.random.uniform(low=2, high=1, shape=(3,))  # must not raise here
        assert x.shape == (3,)
        with pytest.raises(mx.base.MXNetError, match=r"_random_uniform.*low") as ei:
            x.asnumpy()
        assert isinstance(ei.value, mx.AxleError)
        assert "Error in operator _random_uniform" in str(ei.value), str(ei.value)
        x.wait_to_read()  # reported once
        print("OK")
    """
    p = _run_py(code)
    _assert_ok(p)
    assert "OK" in p.stdout


def test_random_uniform_error_propagates_to_readers():
    code = """
        import pytest, axle as mx
        x = mx.nd.random.uniform(low=2, high=1, shape=(3,))
        y = x + 1
        with pytest.raises(mx.base.MXNetError, match=r"_random_uniform.*low"):
            y.asnumpy()
        with pytest.raises(mx.base.MXNetError, match=r"_random_uniform.*low"):
            x.wait_to_read()
        print("OK")
    """
    p = _run_py(code)
    _assert_ok(p)
    assert "OK" in p.stdout


def test_random_uniform_error_reported_once_by_waitall():
    code = """
        import pytest, axle as mx
        x = mx.nd.random.uniform(low=2, high=1, shape=(3,))
        with pytest.raises(mx.base.MXNetError, match=r"_random_uniform.*low"):
            mx.nd.waitall()
        mx.nd.waitall()  # not again
        a = mx.nd.ones((3,))
        assert ((a + a) * 3).asnumpy().tolist() == [6.0, 6.0, 6.0]
        print("OK")
    """
    p = _run_py(code)
    _assert_ok(p)
    assert "OK" in p.stdout


def test_random_uniform_error_reported_by_wait_is_not_reported_by_waitall():
    code = """
        import pytest, axle as mx
        x = mx.nd.random.uniform(low=2, high=1, shape=(3,))
        with pytest.raises(mx.base.MXNetError, match=r"_random_uniform.*low"):
            x.asnumpy()
        mx.nd.waitall()
        b = mx.nd.array([1, 2, 3])
        assert (b * b).asnumpy().tolist() == [1.0, 4.0, 9.0]
        print("OK")
    """
    p = _run_py(code)
    _assert_ok(p)
    assert "OK" in p.stdout


def test_random_ops_work_after_a_failed_random_op():
    """The failure stays with the failed array: the device's random state keeps working."""
    code = """
        import numpy as np, pytest, axle as mx
        x = mx.nd.random.uniform(low=2, high=1, shape=(3,))
        with pytest.raises(mx.base.MXNetError, match=r"_random_uniform.*low"):
            x.asnumpy()
        y = mx.nd.random.uniform(low=0, high=1, shape=(1000,)).asnumpy()
        assert ((y >= 0) & (y < 1)).all() and y.std() > 0.1
        bad = mx.nd.random.uniform(low=2, high=1, shape=(3,))  # fails, never waited on
        mx.random.seed(7)
        a = mx.nd.random.normal(shape=(5,)).asnumpy()
        mx.random.seed(7)
        b = mx.nd.random.normal(shape=(5,)).asnumpy()
        np.testing.assert_array_equal(a, b)
        with pytest.raises(mx.base.MXNetError, match=r"_random_uniform.*low"):
            bad.wait_to_read()
        print("OK")
    """
    p = _run_py(code)
    _assert_ok(p)
    assert "OK" in p.stdout


# ---- engine type ------------------------------------------------------------------------------
def _engine_type():
    p = ffi.new("char**")
    rc = lib.AxEngineGetType(p)
    assert rc == 0
    return ffi.string(p[0]).decode()


def test_engine_type_default_is_threaded():
    if os.environ.get("AXLE_ENGINE_TYPE") in (None, "", "ThreadedEngine"):
        assert _engine_type() == "ThreadedEngine"
    p = _run_py("""
        from axle._lib import ffi, lib
        p = ffi.new("char**")
        assert lib.AxEngineGetType(p) == 0
        print(ffi.string(p[0]).decode())
    """)
    _assert_ok(p)
    assert p.stdout.strip() == "ThreadedEngine"


def test_engine_get_type_rejects_null():
    assert lib.AxEngineGetType(ffi.NULL) == lib.AX_ERR_INVALID_ARGUMENT
    assert "AxEngineGetType" in ffi.string(lib.AxGetLastError()).decode()


def test_naive_engine():
    code = """
        import numpy as np, pytest, axle as mx
        from axle._lib import ffi, lib
        p = ffi.new("char**")
        assert lib.AxEngineGetType(p) == 0
        assert ffi.string(p[0]).decode() == "NaiveEngine"

        # ops still give correct results
        a = mx.nd.array(np.arange(6, dtype=np.float32).reshape(2, 3))
        a += 1
        a *= 2
        b = a - mx.nd.ones((2, 3))
        ref = (np.arange(6, dtype=np.float32).reshape(2, 3) + 1) * 2 - 1
        np.testing.assert_array_equal(b.asnumpy(), ref)
        np.testing.assert_array_equal((b[1:2] / 2).asnumpy(), ref[1:2] / 2)

        # ops run one at a time at push: two independent rendezvous cannot meet
        y1 = mx.nd._engine_rendezvous(mx.nd.ones((2,)), key=5, timeout_ms=100)
        y2 = mx.nd._engine_rendezvous(mx.nd.ones((2,)), key=5, timeout_ms=100)
        with pytest.raises(mx.base.MXNetError, match="rendezvous 5 timed out"):
            y1.wait_to_read()
        with pytest.raises(mx.base.MXNetError, match="rendezvous 5 timed out"):
            y2.wait_to_read()

        # the async error still surfaces at the wait point, not at the call
        x = mx.nd.random.uniform(low=2, high=1, shape=(3,))
        with pytest.raises(mx.base.MXNetError, match=r"_random_uniform.*low"):
            x.asnumpy()
        z = mx.nd._engine_rendezvous(mx.nd.ones((2,)), key=6, timeout_ms=10)
        w = z + 1
        with pytest.raises(mx.base.MXNetError, match="rendezvous 6 timed out"):
            w.asnumpy()
        mx.nd.waitall()  # both errors were reported by waits
        q = mx.nd._engine_rendezvous(mx.nd.ones((2,)), key=7, timeout_ms=10)
        with pytest.raises(mx.base.MXNetError, match="rendezvous 7 timed out"):
            mx.nd.waitall()
        mx.nd.waitall()
        np.testing.assert_array_equal((mx.nd.ones((2,)) * 3).asnumpy(), [3, 3])
        print("OK")
    """
    p = _run_py(code, AXLE_ENGINE_TYPE="NaiveEngine")
    _assert_ok(p)
    assert "OK" in p.stdout


# ---- stress: 4 threads x 25,000 random ops ----------------------------------------------------
N_THREADS = 4
N_OPS = 25_000
SHAPE = (8,)
N_SHARED = 4
N_OWN = 3
LIMIT = 32.0  # bound on |values| of the threads' arrays, so nothing overflows or loses all precision
SNAP_EVERY = 100  # copies of every own array, checked against the replay

_OPS = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}
_ADD_SCALARS = [k / 8 for k in range(-16, 17) if k]  # float32-exact scalars
_MUL_SCALARS = [-1.5, -1.0, -0.5, 0.25, 0.5, 0.75, 1.25, 1.5, 2.0]
_DIV_SCALARS = [1 + k / 8 for k in range(9)]  # in [1, 2]


def _choose_op(rng, bound):
    """One random op for a thread: (record, new bound). Operands: ('s', i) shared, ('o', j) own.

    Most ops depend on the old value of the array they write (so a lost or misordered write shows
    in the result); a few overwrite it from other arrays (write-after-write order)."""
    d = rng.randrange(N_OWN)
    me = ("o", d)

    def operand(allow_own=True, not_me=False):
        if allow_own and rng.random() < 0.5:
            j = rng.choice([j for j in range(N_OWN) if not (not_me and j == d)])
            return ("o", j), bound[j]
        return ("s", rng.randrange(N_SHARED)), 2.0

    def pair(op):  # (x, bx, y, by) for own[d] = x op y
        if rng.random() < 0.9:
            other, bo = operand(allow_own=op != "/", not_me=op == "-")  # x - x would forget x
            if op != "/" and rng.random() < 0.5:
                return other, bo, me, bound[d]
            return me, bound[d], other, bo
        x, bx = operand()
        y, by = operand(allow_own=op != "/")
        return x, bx, y, by

    kind = rng.choice(["iscalar", "iarray", "binary", "scalar", "rscalar", "out"])
    op = rng.choice("+-*/")
    if kind == "iscalar":  # own[d] op= c
        c = rng.choice(_DIV_SCALARS if op == "/" else _MUL_SCALARS if op == "*" else _ADD_SCALARS)
        nb = bound[d] * abs(c) if op == "*" else bound[d] / c if op == "/" else bound[d] + abs(c)
        rec = ("iscalar", d, op, c)
    elif kind == "iarray":  # own[d] op= X
        x, bx = operand(allow_own=op != "/", not_me=op == "-")
        nb = bound[d] * bx if op == "*" else bound[d] if op == "/" else bound[d] + bx
        rec = ("iarray", d, op, x)
    elif kind in ("binary", "out"):  # own[d] = X op Y (a new array), or op(X, Y, out=own[d])
        x, bx, y, by = pair(op)
        nb = bx * by if op == "*" else bx if op == "/" else bx + by
        rec = (kind, d, op, x, y)
    elif kind == "scalar":  # own[d] = X op c
        x, bx = (me, bound[d]) if rng.random() < 0.9 else operand()
        c = rng.choice(_DIV_SCALARS if op == "/" else _MUL_SCALARS if op == "*" else _ADD_SCALARS)
        nb = bx * abs(c) if op == "*" else bx / c if op == "/" else bx + abs(c)
        rec = ("scalar", d, op, x, c)
    else:  # own[d] = c op X (reversed scalar ops)
        c = rng.choice(_MUL_SCALARS if op in "*/" else _ADD_SCALARS)
        if op == "/":
            x, bx = operand(allow_own=False)  # divide only by shared values in [1, 2]
            nb = abs(c)
        else:
            x, bx = (me, bound[d]) if rng.random() < 0.9 else operand()
            nb = bx * abs(c) if op == "*" else bx + abs(c)
        rec = ("rscalar", d, op, x, c)
    if nb > LIMIT:
        return ("iscalar", d, "*", 0.125), bound[d] * 0.125
    return rec, nb


def _reads_target(rec):
    """Whether the op reads the array it writes (in-place ops always do)."""
    return rec[0] in ("iscalar", "iarray") or ("o", rec[1]) in rec[3:]


_ND_BINARY = {"+": "broadcast_add", "-": "broadcast_sub", "*": "broadcast_mul", "/": "broadcast_div"}


def _apply_nd(rec, own, shared):
    get = lambda ref: own[ref[1]] if ref[0] == "o" else shared[ref[1]]  # noqa: E731
    kind, d, op = rec[0], rec[1], rec[2]
    if kind == "iscalar":
        c = rec[3]
        if op == "+":
            own[d] += c
        elif op == "-":
            own[d] -= c
        elif op == "*":
            own[d] *= c
        else:
            own[d] /= c
    elif kind == "iarray":
        x = get(rec[3])
        if op == "+":
            own[d] += x
        elif op == "-":
            own[d] -= x
        elif op == "*":
            own[d] *= x
        else:
            own[d] /= x
    elif kind == "binary":
        x, y = get(rec[3]), get(rec[4])
        own[d] = x + y if op == "+" else x - y if op == "-" else x * y if op == "*" else x / y
    elif kind == "out":
        getattr(mx.nd, _ND_BINARY[op])(get(rec[3]), get(rec[4]), out=own[d])
    elif kind == "scalar":
        x, c = get(rec[3]), rec[4]
        own[d] = x + c if op == "+" else x - c if op == "-" else x * c if op == "*" else x / c
    else:
        x, c = get(rec[3]), rec[4]
        own[d] = c + x if op == "+" else c - x if op == "-" else c * x if op == "*" else c / x


def _apply_np(rec, own, shared):
    get = lambda ref: own[ref[1]] if ref[0] == "o" else shared[ref[1]]  # noqa: E731
    kind, d, f = rec[0], rec[1], _OPS[rec[2]]
    if kind == "iscalar":
        f(own[d], np.float32(rec[3]), out=own[d])
    elif kind == "iarray":
        f(own[d], get(rec[3]), out=own[d])
    elif kind == "binary":
        own[d] = f(get(rec[3]), get(rec[4]))
    elif kind == "out":
        f(get(rec[3]), get(rec[4]), out=own[d])
    elif kind == "scalar":
        own[d] = f(get(rec[3]), np.float32(rec[4]))
    else:
        own[d] = f(np.float32(rec[4]), get(rec[3]))
    assert own[d].dtype == np.float32


def test_stress_threads_with_shared_reads():
    seed = 20240611
    rng0 = np.random.RandomState(seed)
    shared_np = [(1 + rng0.randint(0, 65, SHAPE) / 64).astype(np.float32) for _ in range(N_SHARED)]  # in [1, 2]
    init_np = [[(rng0.randint(-64, 65, SHAPE) / 16).astype(np.float32) for _ in range(N_OWN)]
               for _ in range(N_THREADS)]
    shared = [mx.nd.array(s) for s in shared_np]
    mx.nd.waitall()

    logs = [[] for _ in range(N_THREADS)]
    # (i, j, copy): a copy of own array j taken right after op i (i = -1: before the first op).
    # Besides the periodic ones, a copy is taken before every op that overwrites an array without
    # reading it, so that no earlier write can vanish unchecked.
    snaps = [[] for _ in range(N_THREADS)]
    results = [None] * N_THREADS
    errors = []
    start = threading.Barrier(N_THREADS)

    def work(t):
        try:
            rng = random.Random(seed * 31 + t)
            own = [mx.nd.array(x) for x in init_np[t]]
            bound = [float(np.abs(x).max()) for x in init_np[t]]
            start.wait()
            for i in range(N_OPS):
                rec, nb = _choose_op(rng, bound)
                d = rec[1]
                if not _reads_target(rec):
                    snaps[t].append((i - 1, d, own[d].copy()))
                _apply_nd(rec, own, shared)
                bound[d] = nb
                logs[t].append(rec)
                if i % SNAP_EVERY == 0:
                    snaps[t].extend((i, j, x.copy()) for j, x in enumerate(own))
            results[t] = own
        except BaseException as e:  # reported by the main thread
            errors.append((t, repr(e)))

    threads = [threading.Thread(target=work, args=(t,), daemon=True) for t in range(N_THREADS)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=600)
    assert not any(th.is_alive() for th in threads), "a stress thread hung"
    mx.nd.waitall()
    elapsed = time.perf_counter() - t0
    print(f"\nstress: {N_THREADS} threads x {N_OPS} ops in {elapsed:.1f} s")
    assert not errors, errors

    n_snaps = 0
    for t in range(N_THREADS):
        own = [x.copy() for x in init_np[t]]
        snap_at = {}
        for i, j, arr in snaps[t]:
            snap_at.setdefault(i, []).append((j, arr))
        assert len(logs[t]) == N_OPS
        for i, rec in enumerate([None] + logs[t], start=-1):
            if rec is not None:
                _apply_np(rec, own, shared_np)
            for j, arr in snap_at.get(i, ()):
                n_snaps += 1
                np.testing.assert_allclose(arr.asnumpy(), own[j], rtol=1e-5, atol=1e-5,
                                           err_msg=f"thread {t}, array {j} after op {i} {rec}")
        for j in range(N_OWN):
            got = results[t][j].asnumpy()
            assert np.isfinite(got).all()
            np.testing.assert_allclose(got, own[j], rtol=1e-5, atol=1e-5, err_msg=f"thread {t}, array {j}")
    assert n_snaps > N_THREADS * N_OPS // 20
    for s, ref in zip(shared, shared_np):
        np.testing.assert_array_equal(s.asnumpy(), ref)  # read by everyone, written by no one
    kinds = {rec[0] for log in logs for rec in log}
    assert kinds == {"iscalar", "iarray", "binary", "scalar", "rscalar", "out"}


# ---- fork ------------------------------------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_fork_with_pending_ops():
    code = """
        import os, numpy as np, axle as mx
        a = mx.nd.ones((100_000,))
        for _ in range(200):
            a += 1  # pending at the fork
        pid = os.fork()
        if pid == 0:
            ok = False
            try:
                b = a * 2  # the child has its own engine workers
                c = mx.nd.array([1, 2, 3]) + 1
                ok = bool((b.asnumpy() == 402).all()) and c.asnumpy().tolist() == [2, 3, 4]
                mx.nd.waitall()
            finally:
                os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        assert (a.asnumpy() == 201).all()
        print("OK")
    """
    p = _run_py(code, timeout=60)
    _assert_ok(p)
    assert "OK" in p.stdout
    _assert_clean_stderr(p)


# ---- errors and threads ---------------------------------------------------------------------------
@needs_two_workers
def test_concurrent_failures_are_reported_to_their_own_threads():
    keys = [_key() for _ in range(4)]
    got = {}
    go = threading.Barrier(4)

    def work(i):
        y = _rdv(mx.nd.full((2,), i), keys[i], timeout_ms=50)
        go.wait()
        try:
            y.wait_to_read()
            got[i] = "no error"
        except AxleError as e:
            got[i] = str(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert len(got) == 4
    for i, k in enumerate(keys):
        assert f"rendezvous {k} timed out" in got[i], got[i]
    mx.nd.waitall()  # every error was reported by its wait


def test_last_error_is_per_thread():
    from axle._lib import last_error
    ready, checked = threading.Event(), threading.Event()
    seen = []

    def other():
        p = ffi.new("AxOpHandle*")
        assert lib.AxGetOpHandle(b"no_such_op_in_thread", p) == lib.AX_ERR_INVALID_ARGUMENT
        ready.set()
        checked.wait(30)
        seen.append(last_error())

    th = threading.Thread(target=other)
    th.start()
    ready.wait(30)
    p = ffi.new("AxOpHandle*")
    assert lib.AxGetOpHandle(b"no_such_op_in_main", p) == lib.AX_ERR_INVALID_ARGUMENT
    checked.set()
    th.join(30)
    assert "no_such_op_in_main" in last_error()
    assert len(seen) == 1 and "no_such_op_in_thread" in seen[0], seen


# ---- clean exit ---------------------------------------------------------------------------------
def test_exit_with_many_pending_ops_is_clean():
    code = """
        import axle as mx
        a = mx.nd.ones((20000,))
        bs = []
        for i in range(3000):
            a += 1
            bs.append(a * 2)
            if len(bs) > 50:
                bs.pop(0)
        print("pushed")
    """
    p = _run_py(code)
    _assert_ok(p)
    assert "pushed" in p.stdout
    _assert_clean_stderr(p)


def test_exit_right_after_an_async_error_is_clean():
    code = """
        import axle as mx
        x = mx.nd.random.uniform(low=2, high=1, shape=(3,))
        y = mx.nd._engine_rendezvous(mx.nd.ones((3,)), key=1, timeout_ms=50)
        z = x + y
        print("pushed")
    """
    p = _run_py(code)
    _assert_ok(p)
    assert "pushed" in p.stdout
    _assert_clean_stderr(p)
    p = _run_py(code, AXLE_ENGINE_TYPE="NaiveEngine")
    _assert_ok(p)
    _assert_clean_stderr(p)


def test_exit_while_an_op_is_still_running_is_clean():
    code = """
        import axle as mx
        y = mx.nd._engine_rendezvous(mx.nd.ones((3,)), key=1, timeout_ms=500)  # blocks a worker
        del y
        print("pushed")
    """
    p = _run_py(code)
    _assert_ok(p)
    _assert_clean_stderr(p)


def test_exit_while_threads_push_ops_is_clean():
    code = """
        import threading, axle as mx
        def spin():
            a = mx.nd.ones((1000,))
            while True:
                a += 1
                b = a * a
        for _ in range(3):
            threading.Thread(target=spin, daemon=True).start()
        import time; time.sleep(0.3)
        print("exiting")
    """
    for _ in range(3):
        p = _run_py(code)
        _assert_ok(p)
        _assert_clean_stderr(p)


# ---- copies from host memory into busy arrays are staged, not waited for ----------------------------
@needs_two_workers
def test_copy_from_host_into_a_busy_array_is_staged_and_ordered():
    k = _key()
    x = mx.nd.zeros((4,))
    _rdv(x, k, out=x, timeout_ms=20_000)  # holds x (writes it) until the second party below arrives
    src = np.arange(4, dtype=np.float32)
    x[:] = src  # returns at once: waiting here would leave the rendezvous alone until it timed out
    src[:] = -1  # the caller's buffer is free as soon as the call returns
    _rdv(mx.nd.ones((1,)), k).wait_to_read()
    np.testing.assert_array_equal(x.asnumpy(), [0, 1, 2, 3])  # after the held write, not before it


@needs_two_workers
def test_a_second_copy_into_a_busy_array_waits_for_the_first():
    k = _key()
    x = mx.nd.zeros((3,))
    _rdv(x, k, out=x, timeout_ms=20_000)
    x[:] = np.full(3, 1, np.float32)  # staged
    done = threading.Event()

    def second():
        x[:] = np.full(3, 2, np.float32)  # one staged copy per array: this one waits
        done.set()
    t = threading.Thread(target=second)
    t.start()
    assert not done.wait(0.3), "the second copy did not wait for the pending work"
    _rdv(mx.nd.ones((1,)), k).wait_to_read()
    t.join(20)
    assert done.is_set()
    np.testing.assert_array_equal(x.asnumpy(), [2, 2, 2])


@needs_two_workers
def test_a_second_copy_waits_for_the_first_copy_only_not_for_later_work():
    # A training loop copies the next batch while the last one's work still reads the array: the
    # second copy waits until the first has run, then stages itself behind the work pushed since
    # (waiting for that work too would let the engine run dry each batch).
    k1, k2 = _key(), _key()
    x = mx.nd.zeros((3,))
    _rdv(x, k1, out=x, timeout_ms=20_000)  # holds x
    x[:] = np.full(3, 1, np.float32)  # staged behind it
    seen = _rdv(x, k2, timeout_ms=20_000)  # reads x after the staged copy; held until k2's second party
    done = threading.Event()

    def second():
        x[:] = np.full(3, 2, np.float32)
        done.set()
    t = threading.Thread(target=second)
    t.start()
    assert not done.wait(0.3), "the second copy did not wait for the first"
    _rdv(mx.nd.ones((1,)), k1).wait_to_read()  # the hold ends, the first copy runs, the reader starts
    assert done.wait(10), "the second copy waited for the reader pushed after the first copy"
    _rdv(mx.nd.ones((1,)), k2).wait_to_read()
    t.join(20)
    np.testing.assert_array_equal(seen.asnumpy(), [1, 1, 1])  # the reader saw the first copy
    np.testing.assert_array_equal(x.asnumpy(), [2, 2, 2])


def test_copy_from_host_into_a_failed_array_reports_the_error_then_works():
    k = _key()
    x = mx.nd.zeros((2,))
    _rdv(x, k, out=x, timeout_ms=1)  # no second party: fails, leaving its error in x
    time.sleep(0.5)  # (failed by now, so the copy finds the error rather than a running op)
    with pytest.raises(AxleError, match=_timed_out(k)):
        x[:] = np.ones(2, np.float32)
    x[:] = np.full(2, 5, np.float32)
    np.testing.assert_array_equal(x.asnumpy(), [5, 5])


@needs_two_workers
def test_a_staged_copy_behind_a_failing_op_is_skipped_and_the_next_copy_works():
    k = _key()
    x = mx.nd.zeros((2,))
    _rdv(x, k, out=x, timeout_ms=300)  # fails after 0.3 s
    x[:] = np.ones(2, np.float32)  # staged behind the failing op: skipped, like any op after it
    with pytest.raises(AxleError, match=_timed_out(k)):
        x.asnumpy()
    x[:] = np.full(2, 7, np.float32)
    np.testing.assert_array_equal(x.asnumpy(), [7, 7])


# ---- AXLE_ENGINE_TRACE ------------------------------------------------------------------------------
def test_engine_trace_records_ops_nodes_and_chunks_as_a_chrome_trace(tmp_path):
    path = tmp_path / "trace.json"
    code = """
        import numpy as np, axle as mx
        a = mx.nd.ones((300, 300))
        b = mx.nd.dot(a, a) + 1          # a dot big enough to be split over the kernel threads
        x = mx.sym.Variable("x")
        y = mx.sym.Activation(mx.sym.FullyConnected(x, num_hidden=4, name="fc"), act_type="relu")
        ex = y.simple_bind(mx.cpu(), x=(2, 3))
        ex.forward(is_train=True)
        ex.backward(mx.nd.ones((2, 4)))
        print(b.asnumpy()[0, 0])
    """
    p = _run_py(code, AXLE_ENGINE_TRACE=str(path), AXLE_NUM_THREADS="2")
    _assert_ok(p)
    assert p.stdout.split() == ["301.0"]
    import json
    ev = json.loads(path.read_text())["traceEvents"]
    names = [e["name"] for e in ev]
    for n in ("dot", "_plus_scalar", "executor forward", "executor backward", "FullyConnected", "Activation",
              "_backward_FullyConnected", "_backward_Activation", "parallel chunk"):
        assert n in names, (n, sorted(set(names)))
    for e in ev:
        assert e["ph"] == "X" and e["dur"] >= 0 and e["ts"] >= 0 and isinstance(e["tid"], int)
    # the nodes of a pass lie inside the span of the pass, on its thread
    fwd = next(e for e in ev if e["name"] == "executor forward")
    fc = next(e for e in ev if e["name"] == "FullyConnected")
    assert fc["tid"] == fwd["tid"] and fwd["ts"] <= fc["ts"] and fc["ts"] + fc["dur"] <= fwd["ts"] + fwd["dur"] + 1e-3


def test_engine_trace_to_an_unwritable_path_says_so_and_exits_cleanly(tmp_path):
    p = _run_py("import axle as mx; print((mx.nd.ones((2,)) + 1).asnumpy())",
                AXLE_ENGINE_TRACE=str(tmp_path / "no" / "such" / "dir" / "t.json"))
    _assert_ok(p)
    assert "AXLE_ENGINE_TRACE: cannot write" in p.stderr


# ---- small ops on an idle engine run on the calling thread (Engine::PushSmall) --------------------
def _trace_tids(tmp_path, code, **env):
    """Runs code with an engine trace and one CPU worker; [(name, tid)] of its ops in record order."""
    import json
    path = tmp_path / "trace.json"
    p = _run_py(code, AXLE_ENGINE_TRACE=str(path), AXLE_CPU_WORKER_NTHREADS=env.pop("workers", "1"), **env)
    _assert_ok(p)
    return [(e["name"], e["tid"]) for e in json.loads(path.read_text())["traceEvents"] if e["name"] != "parallel chunk"]


SMALL_AFTER_BIG = """
    import axle as mx
    big = mx.nd.ones((600, 600))                      # 1.44 MB in, 1.44 MB out: pushed to the worker
    y = big + 1
    y.wait_to_read()
    s = mx.nd.ones((3,)) + 1                          # 12-byte arrays, the engine idle
    assert s.asnumpy().tolist() == [2.0, 2.0, 2.0]
"""


def test_small_op_on_an_idle_engine_runs_on_the_calling_thread(tmp_path):
    ev = _trace_tids(tmp_path, SMALL_AFTER_BIG)
    plus = [tid for name, tid in ev if name == "_plus_scalar"]
    assert len(plus) == 2
    assert plus[1] != plus[0]  # the big one ran on the worker, the small one on the main thread
    # AXLE_ENGINE_INLINE_BYTES=0 turns it off: every op goes to the (one) worker
    ev = _trace_tids(tmp_path, SMALL_AFTER_BIG, AXLE_ENGINE_INLINE_BYTES="0")
    assert len({tid for _, tid in ev}) == 1, ev


def test_small_op_goes_to_a_worker_while_other_ops_are_in_flight(tmp_path):
    # A rendezvous (never run by the caller) holds one worker while a small op is pushed: the small
    # op must not run on the calling thread then (it could overtake earlier ops), so it runs on the
    # other worker, and the second party of the rendezvous after it.
    ev = _trace_tids(tmp_path, """
        import axle as mx
        a = mx.nd.ones((3,)) + 0                          # on the main thread (idle engine)
        a.wait_to_read()
        r1 = mx.nd._engine_rendezvous(mx.nd.ones((2,)), key=1, timeout_ms=20000)
        s = a + 1
        r2 = mx.nd._engine_rendezvous(mx.nd.ones((2,)), key=1, timeout_ms=20000)
        mx.nd.waitall()
        assert s.asnumpy().tolist() == [2.0, 2.0, 2.0]
    """, workers="2")
    main = next(tid for name, tid in ev if name == "_plus_scalar")
    rdv = {tid for name, tid in ev if name == "_engine_rendezvous"}
    late = [tid for name, tid in ev if name == "_plus_scalar"][1]
    assert len(rdv) == 2 and main not in rdv and late in rdv, ev


def test_error_of_a_small_op_run_by_the_caller_still_surfaces_at_the_wait():
    code = """
        import pytest, axle as mx
        mx.nd.waitall()
        x = mx.nd.random.uniform(low=2, high=1, shape=(3,))  # runs at once on this thread; no raise here
        y = x + 1                                              # inherits the error, no raise either
        with pytest.raises(mx.AxleError, match=r"_random_uniform.*low"):
            y.asnumpy()
        z = mx.nd.ones((2,)) * 3                               # the process goes on
        assert z.asnumpy().tolist() == [3.0, 3.0]
        print("OK")
    """
    p = _run_py(code)
    _assert_ok(p)
    assert "OK" in p.stdout
