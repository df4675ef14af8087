"""The engine's GPU side without a GPU: streams, the copy stream, events, stream-ordered storage
and asynchronous faults, on the fake GPU backend (tests/c/fake_gpu_backend.cc).

Each test runs in a subprocess whose libaxle loads libaxle_fakegpu.so (the test-only variable
AXLE_TEST_GPU_BACKEND): two "GPUs" whose memory is host memory and whose streams are host threads
that sleep AXLE_FAKE_GPU_DELAY_US before every kernel (copies 3x), so a wait the engine forgets shows
as a wrong value (the host reads before the delayed work has run), not as bad luck. Its kernels
(float32) return at once like CUDA launches; `_engine_rendezvous` faults asynchronously, with a
sticky error like CUDA's.
"""
import glob
import os
import subprocess
import sys
import textwrap

import pytest

import axle._axle_cffi as _cffi_module

_FAKE = sorted(glob.glob(os.path.join(os.path.dirname(_cffi_module.__file__), "libaxle_fakegpu*.so")))
pytestmark = pytest.mark.skipif(not _FAKE, reason="libaxle_fakegpu.so was not built (AXLE_BUILD_TESTS=OFF)")

_PRELUDE = """
import ctypes, os, time
import numpy as np
import pytest
import axle as mx
from axle._lib import AxleError
assert mx.context.num_gpus() == 2, mx.context.num_gpus()
G0, G1 = mx.gpu(0), mx.gpu(1)
DELAY = int(os.environ["AXLE_FAKE_GPU_DELAY_US"]) / 1e6
FAKE = ctypes.CDLL(os.environ["AXLE_TEST_GPU_BACKEND"])  # the same library libaxle loaded

def raw(a):
    # the array's bytes read directly (fake device memory is host memory), with no engine wait
    # after this call: it shows what the device has really done
    a.wait_to_read()
    ptr = a.__cuda_array_interface__["data"][0]
    return lambda: np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)), shape=a.shape).copy()
"""


def _run(code, delay_us=2000, engine=None, timeout=60):
    env = dict(os.environ, AXLE_TEST_GPU_BACKEND=_FAKE[0], AXLE_FAKE_GPU_DELAY_US=str(delay_us))
    env.pop("AXLE_ENGINE_TYPE", None)
    if engine:
        env["AXLE_ENGINE_TYPE"] = engine
    src = textwrap.dedent(_PRELUDE) + textwrap.dedent(code) + "\nprint('OK')\n"
    p = subprocess.run([sys.executable, "-c", src], env=env, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0 and p.stdout.strip().endswith("OK"), \
        f"rc={p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    for bad in ("terminate called", "Segmentation fault", "Aborted", "Fatal Python error"):
        assert bad not in p.stderr, p.stderr
    return p.stdout


def test_chain_of_gpu_ops_gives_the_right_result():
    _run("""
        x = np.linspace(-1, 1, 24, dtype=np.float32).reshape(4, 6)
        g = mx.nd.array(x, ctx=G0)          # staged, copied on the copy stream
        o = mx.nd.ones((4, 6), ctx=G0)
        ref = x.astype(np.float64)
        for _ in range(10):
            g = (g * 0.5 + 1.0) * o + g     # _mul_scalar, _plus_scalar, broadcast_mul, broadcast_add
            ref = (ref * 0.5 + 1.0) * 1.0 + ref
        np.testing.assert_allclose(g.asnumpy(), ref, rtol=1e-5)
        assert g.context == G0
    """)


def test_gpu_ops_do_not_wait_for_their_kernels():
    # 20 kernels of 20 ms each: pushing them takes far less than running them, and the device has
    # not finished when the pushes return; the host sees the result only at its wait
    _run("""
        n = 20
        x = mx.nd.zeros((8,), ctx=G0)
        peek = raw(x)
        t0 = time.perf_counter()
        for _ in range(n):
            x += 1.0
        pushed = time.perf_counter() - t0
        before = peek()
        np.testing.assert_array_equal(x.asnumpy(), np.full(8, n, np.float32))
        total = time.perf_counter() - t0
        assert pushed < n * DELAY / 2, (pushed, n * DELAY)
        assert total >= n * DELAY * 0.9, (total, n * DELAY)
        assert before[0] < n, before  # the device was still behind when the pushes returned
    """, delay_us=20000)


def test_copies_between_cpu_and_gpu_are_ordered_both_ways():
    # no waits in the loop: only the engine's events keep the result right
    _run("""
        x = np.random.default_rng(0).uniform(-1, 1, size=(16, 16)).astype(np.float32)
        c = mx.nd.array(x)
        ref = x.astype(np.float64)
        for _ in range(8):
            g = c.as_in_context(G0)               # H2D on the copy stream
            g = g * 1.01 + 0.5                    # compute stream waits for the copy's event
            c2 = g.as_in_context(mx.cpu())        # D2H on the copy stream, after the kernels
            c = c2 - 0.25                         # a CPU op: the host waits for the D2H's event
            ref = (ref * 1.01 + 0.5) - 0.25
        np.testing.assert_allclose(c.asnumpy(), ref, rtol=1e-5)
        d = mx.nd.zeros((16, 16), ctx=G0)
        mx.nd.array(x).copyto(d)                  # into an existing GPU array
        np.testing.assert_array_equal(d.asnumpy(), x)
    """)


def test_a_cpu_op_writing_what_a_gpu_copy_still_reads_waits():
    # the H2D copy (delayed on the copy stream) reads c; the CPU op that overwrites c right after
    # must wait for the copy's event, or the GPU gets the new values
    _run("""
        c = mx.nd.array(np.arange(6, dtype=np.float32))
        for i in range(5):
            g = c.as_in_context(G0)
            c += 100.0                            # a CPU op writing c in place
            np.testing.assert_array_equal(g.asnumpy(), np.arange(6) + 100.0 * i)
        np.testing.assert_array_equal(c.asnumpy(), np.arange(6) + 500.0)
    """)


def test_a_host_write_into_a_gpu_array_waits_for_the_kernels_reading_it():
    # h = g * 2 is queued (delayed) on the compute stream; g[:] = ... goes through the copy
    # stream, which must wait for that kernel's read before it writes g
    _run("""
        g = mx.nd.ones((32,), ctx=G0)
        for i in range(4):
            h = g * 2.0
            g[:] = np.full(32, 10.0 * (i + 1), np.float32)   # staged host copy (copy stream)
            prev = 1.0 if i == 0 else 10.0 * i
            np.testing.assert_array_equal(h.asnumpy(), np.full(32, 2 * prev))
            np.testing.assert_array_equal(g.asnumpy(), np.full(32, 10.0 * (i + 1)))
        k = g + 0.0
        mx.nd.array(np.zeros(32, np.float32)).copyto(g)      # an engine copy, same rule
        np.testing.assert_array_equal(k.asnumpy(), np.full(32, 40.0))
        np.testing.assert_array_equal(g.asnumpy(), np.zeros(32))
    """)


def test_gpu_to_gpu_between_two_devices():
    _run("""
        x = np.arange(12, dtype=np.float32).reshape(3, 4)
        a = mx.nd.array(x, ctx=G0) * 3.0           # pending on gpu(0)
        b = a.copyto(G1)                           # gpu(0)'s copy stream waits for it
        c = b + 1.0                                # gpu(1)'s compute stream waits for the copy
        np.testing.assert_array_equal(c.asnumpy(), x * 3 + 1)
        assert c.context == G1
        # back into an array that gpu(0) is still reading
        r = a * 1.0
        (c * 10.0).copyto(a)
        np.testing.assert_array_equal(r.asnumpy(), x * 3)
        np.testing.assert_array_equal(a.asnumpy(), (x * 3 + 1) * 10)
    """)


def test_waitall_finishes_every_device():
    _run("""
        a = mx.nd.zeros((8,), ctx=G0)
        b = mx.nd.zeros((8,), ctx=G1)
        c = mx.nd.zeros((8,), ctx=G1)
        pa, pb, pc = raw(a), raw(b), raw(c)
        t0 = time.perf_counter()
        for _ in range(5):
            a += 1.0
            b += 2.0
        a.copyto(c)                           # and gpu(0)'s copy stream
        mx.nd.waitall()
        assert time.perf_counter() - t0 >= 5 * DELAY * 0.9
        np.testing.assert_array_equal(pa(), np.full(8, 5.0))
        np.testing.assert_array_equal(pb(), np.full(8, 10.0))
        np.testing.assert_array_equal(pc(), np.full(8, 5.0))
    """, delay_us=10000)


def test_an_async_fault_surfaces_at_the_wait_with_the_op_name():
    _run("""
        x = mx.nd.ones((4,), ctx=G0)
        y = mx.nd._engine_rendezvous(x, key=1)      # its kernel faults later, on the stream
        z = y + 1.0
        with pytest.raises(AxleError, match="_engine_rendezvous"):
            z.asnumpy()
        with pytest.raises(AxleError, match="Error in operator _engine_rendezvous"):
            y.asnumpy()
        # sticky: later work on gpu(0) fails too, at its wait, and waitall reports it
        w = mx.nd.ones((4,), ctx=G0) * 2.0
        with pytest.raises(AxleError, match="fake GPU fault"):
            w.asnumpy()
        with pytest.raises(AxleError, match="fake GPU fault"):
            mx.nd.waitall()
        # the host and the other device are unaffected
        np.testing.assert_array_equal((mx.nd.ones((3,)) + 1).asnumpy(), [2, 2, 2])
        np.testing.assert_array_equal((mx.nd.ones((3,), ctx=G1) + 1).asnumpy(), [2, 2, 2])
        FAKE.axle_fakegpu_reset(0)                  # a fresh "context"
        np.testing.assert_array_equal((mx.nd.ones((3,), ctx=G0) + 1).asnumpy(), [2, 2, 2])
        mx.nd.waitall()
    """)


def test_a_cpu_op_reading_a_faulted_result_fails_cleanly():
    _run("""
        y = mx.nd._engine_rendezvous(mx.nd.ones((4,), ctx=G0), key=2)
        c = y.as_in_context(mx.cpu())
        d = c * 2.0                                 # a CPU op after the faulted GPU work
        with pytest.raises(AxleError, match="_engine_rendezvous"):
            d.asnumpy()
        FAKE.axle_fakegpu_reset(0)
        mx.nd.waitall()
    """)


def test_freed_gpu_memory_is_reused_only_after_its_pending_work():
    # y's block is freed while the copy stream (delayed) still has to read it; the next array of
    # the same size gets that block from the pool and a kernel on the compute stream writes it:
    # that kernel must wait for the copy, or the copy reads the new values
    _run("""
        x = mx.nd.ones((256,), ctx=G0)
        outs = []
        for i in range(6):
            y = x * float(i + 2)
            outs.append(y.as_in_context(mx.cpu()))
            del y
            time.sleep(0.002)   # the copy worker has queued the copy and dropped y: its block is free
            w = mx.nd.full((256,), -1.0, ctx=G0)   # the pool's most recently freed block: y's
            w += 1.0
        for i, o in enumerate(outs):
            np.testing.assert_array_equal(o.asnumpy(), np.full(256, float(i + 2)))
        s = mx.context.memory_stats(G0)
        assert s["pool_hits"] > 0, s
    """)


def test_freed_host_memory_is_not_reused_before_an_async_copy_read_it():
    # the host arrays are dropped right after their H2D copies are pushed; new host arrays (likely
    # the same blocks) are written at once by the host: the copies must have read the old bytes
    _run("""
        gs = []
        for i in range(8):
            gs.append(mx.nd.array(np.full(1024, float(i), np.float32)).as_in_context(G0))
            time.sleep(0.002)   # the copy worker has queued the copy (delayed 6 ms) and let go of the source
            junk = mx.nd.array(np.full(1024, -7.0, np.float32))   # the freed host block, if it were free
        for i, g in enumerate(gs):
            np.testing.assert_array_equal(g.asnumpy(), np.full(1024, float(i)))
    """)


def test_naive_engine_runs_gpu_ops_to_completion():
    _run("""
        x = mx.nd.array(np.arange(5, dtype=np.float32), ctx=G0)
        y = (x + 1.0) * 2.0
        c = y.as_in_context(mx.cpu()) - 1.0
        np.testing.assert_array_equal(c.asnumpy(), (np.arange(5) + 1) * 2 - 1)
        with pytest.raises(AxleError, match="_engine_rendezvous"):
            mx.nd._engine_rendezvous(x, key=3).asnumpy()
        FAKE.axle_fakegpu_reset(0)
    """, engine="NaiveEngine")


def test_random_mix_of_devices_copies_and_frees_matches_numpy():
    # a seeded random program over arrays on the host and both fake GPUs: kernels, in-place
    # updates, copies across devices, arrays dropped and reallocated, occasional host waits;
    # only the engine's events keep the final values equal to numpy's
    _run("""
        rng = np.random.default_rng(7)
        ctxs = [mx.cpu(), G0, G1]
        n = 8
        vals = [rng.uniform(-1, 1, 64).astype(np.float32) for _ in range(n)]
        arrs = [mx.nd.array(v, ctx=ctxs[i % 3]) for i, v in enumerate(vals)]
        ref = [v.astype(np.float64) for v in vals]
        for step in range(300):
            i, j = rng.integers(0, n, 2)
            k = int(rng.integers(0, 6))
            s = float(rng.integers(1, 4))
            if k == 0:                                   # a kernel into a new array
                arrs[i] = arrs[i] * 0.5 + s
                ref[i] = ref[i] * 0.5 + s
            elif k == 1:                                 # in place
                arrs[i] += s
                ref[i] = ref[i] + s
            elif k == 2:                                 # a copy to another device (new array)
                arrs[i] = arrs[j].copyto(ctxs[int(rng.integers(0, 3))])
                ref[i] = ref[j].copy()
            elif k == 3 and i != j:                      # a copy into an existing array
                arrs[j].copyto(arrs[i])
                ref[i] = ref[j].copy()
            elif k == 4 and i != j and arrs[i].context == arrs[j].context:
                arrs[i] = arrs[i] + arrs[j]
                ref[i] = ref[i] + ref[j]
            elif k == 5 and step % 25 == 0:              # the host looks now and then
                np.testing.assert_allclose(arrs[i].asnumpy(), ref[i], rtol=1e-5, atol=1e-5)
        for a, r in zip(arrs, ref):
            np.testing.assert_allclose(a.asnumpy(), r, rtol=1e-5, atol=1e-5)
        mx.nd.waitall()
    """, delay_us=200)


def test_dlpack_export_to_a_consumer_stream_orders_on_the_device():
    # __dlpack__(stream=s): the host does not wait for Axle's pending kernels; the consumer's
    # stream does (its copy, queued at once, still reads the final values)
    _run("""
        FAKE.axle_fakegpu_stream_create.restype = ctypes.c_void_p
        FAKE.axle_fakegpu_enqueue_copy.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_size_t]
        FAKE.axle_fakegpu_stream_sync.argtypes = [ctypes.c_void_p]
        api = ctypes.pythonapi
        api.PyCapsule_GetPointer.restype = ctypes.c_void_p
        api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
        s = FAKE.axle_fakegpu_stream_create(0)
        x = np.arange(16, dtype=np.float32)
        a = mx.nd.array(x, ctx=G0)
        a.wait_to_read()
        t0 = time.perf_counter()
        for _ in range(10):
            a += 1.0                                    # 10 kernels of 20 ms, pending
        cap = a.__dlpack__(stream=s)
        exported = time.perf_counter() - t0
        data = ctypes.c_void_p.from_address(api.PyCapsule_GetPointer(cap, b"dltensor")).value
        out = np.zeros(16, np.float32)
        FAKE.axle_fakegpu_enqueue_copy(s, out.ctypes.data, data, out.nbytes)
        FAKE.axle_fakegpu_stream_sync(s)
        np.testing.assert_array_equal(out, x + 10)
        assert exported < 10 * DELAY / 2, exported     # the host did not wait for the kernels
        # the legacy default stream (1) and "no ordering" (-1) are accepted; 0 is not
        b = a * 2.0
        cap1 = b.__dlpack__(stream=1)
        cap2 = (a + 0.0).__dlpack__(stream=-1, max_version=(1, 0))
        with pytest.raises(AxleError, match="stream 0 is not a consumer stream"):
            a.__dlpack__(stream=0)
        np.testing.assert_array_equal(b.asnumpy(), (x + 10) * 2)
        # the consumer of an imported view sees the same bytes
        c = mx.nd.from_dlpack(a.__dlpack__(stream=s))
        np.testing.assert_array_equal(c.asnumpy(), x + 10)
    """, delay_us=20000)
