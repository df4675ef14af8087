"""The bad-input catalogue: tests/c/test_badinput.c has an entry for every function of include/axle.h
(checked here, so a function added to the header without one fails), and every file loader refuses
files that are empty, truncated, oversized in their declared sizes, or of another format, with an
error naming the file."""
import gzip
import os
import re
import struct
import sys

import numpy as np
import pytest

import axle as mx
from axle.io.mnist import read_idx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_header import header_functions  # noqa: E402

CATALOGUE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "c", "test_badinput.c")


def test_every_header_function_has_a_catalogue_entry():
    text = open(CATALOGUE).read()
    entries = re.findall(r"ENTRY\((Ax\w+)\)", text)
    defined = re.findall(r"^static void bad_(Ax\w+)\(void\)", text, flags=re.M)
    header = header_functions()
    assert len(set(entries)) == len(entries), "a function is listed twice in CATALOGUE"
    missing = sorted(set(header) - set(entries))
    assert not missing, f"functions of axle.h without an entry in tests/c/test_badinput.c: {missing}"
    assert sorted(set(entries) - set(header)) == [], "CATALOGUE lists functions that axle.h does not declare"
    assert sorted(defined) == sorted(entries)


# ---- files: each loader given the others' files, empty, truncated and oversized ones -------------
def _params_bytes(tmp_path):
    p = tmp_path / "good.params"
    mx.nd.save(str(p), {"w": mx.nd.ones((3, 4))})
    return p.read_bytes()


def _symbol_bytes():
    return mx.sym.FullyConnected(mx.sym.Variable("x"), num_hidden=4, name="fc").tojson().encode()


def _idx_bytes(shape=(2, 3, 3), payload=None):
    head = struct.pack(">I", 0x800 + len(shape)) + b"".join(struct.pack(">I", d) for d in shape)
    return head + (bytes(int(np.prod(shape))) if payload is None else payload)


def _files(tmp_path):
    """name -> bytes of the files every loader must refuse (each loader adds its own bad cases)."""
    return {
        "empty": b"",
        "params": _params_bytes(tmp_path),
        "symbol": _symbol_bytes(),
        "idx": _idx_bytes(),
        "gzip-of-text": gzip.compress(b"hello, world"),
        "text": b"not a model file\n",
    }


LOADERS = {
    "params": (lambda p: mx.nd.load(p), OSError),
    "symbol": (lambda p: mx.sym.load(p), mx.base.AxleError),
    "idx": (lambda p: read_idx(p, 3), ValueError),
}


def _own_bad_files(kind, tmp_path):
    good = {"params": _params_bytes(tmp_path), "symbol": _symbol_bytes(), "idx": _idx_bytes()}[kind]
    bad = {"truncated": good[: len(good) // 2], "one-byte-short": good[:-1]}
    if kind == "params":  # the array count of the list header (bytes 16..24) far beyond the file
        bad["oversized-count"] = good[:16] + struct.pack("<Q", 1 << 60) + good[24:]
    elif kind == "symbol":  # a head index past the nodes
        bad["oversized-index"] = re.sub(rb'"heads": \[\[\d+', b'"heads": [[4294967296', good)
    else:  # a header shape whose data would take 2^64 bytes
        bad["oversized-shape"] = _idx_bytes((65536, 65536, 65536 * 65536 - 1), payload=b"\0" * 64)
    return bad


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_loaders_refuse_bad_files_naming_them(kind, tmp_path):
    load, error = LOADERS[kind]
    cases = {k: v for k, v in _files(tmp_path).items() if k != kind}
    cases.update(_own_bad_files(kind, tmp_path))
    for name, data in cases.items():
        path = tmp_path / f"{name}.{kind}"
        path.write_bytes(data)
        with pytest.raises(error) as ei:
            load(str(path))
        assert str(path) in str(ei.value), (name, str(ei.value))
    # the good file still loads, and so does everything else
    assert mx.nd.ones((2,)).asnumpy().tolist() == [1.0, 1.0]


# ---- out of memory: an error the caller catches, after which everything works -------------------
@pytest.mark.parametrize("make", [
    lambda: mx.nd.zeros((1 << 24, 1 << 24)),  # 1 PiB of float32
    lambda: mx.nd.broadcast_to(mx.nd.ones((1, 1)), shape=(1 << 24, 1 << 24)),  # an op's output
    lambda: mx.sym.Variable("x").bind(mx.cpu(), {"x": mx.nd.zeros((1 << 26, 1 << 26), dtype="uint8")}),
], ids=["zeros", "op-output", "bind-arg"])
def test_out_of_memory_is_a_catchable_memory_error(make):
    from axle._lib import AxleMemoryError
    with pytest.raises(AxleMemoryError, match="out of memory") as ei:
        make()
    assert isinstance(ei.value, MemoryError)
    mx.nd.waitall()
    a = mx.nd.arange(4)
    assert (a * 2 + 1).asnumpy().tolist() == [1.0, 3.0, 5.0, 7.0]
