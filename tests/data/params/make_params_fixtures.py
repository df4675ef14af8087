#!/usr/bin/env python3
"""Write reference NDArray .params fixtures with the real MXNet 1.9.1.

Run from the repository root:

    python3 -m venv .mxref && .mxref/bin/pip install mxnet==1.9.1 numpy==1.23.5
    .mxref/bin/python tests/data/params/make_params_fixtures.py

For every fixture NAME it writes, next to this script:
  NAME.params  -- written by mx.nd.save
  NAME.npz     -- the expected arrays (keys "0", "1", ... for a list, the names
                  for a dict); plain numeric arrays, so np.load(...,
                  allow_pickle=False) reads it with numpy 1.x and 2.x.  The zip
                  is written with a fixed timestamp, so reruns are byte-identical.
  NAME.json    -- kind (list/dict), key order, shapes, dtype names, mshadow type
                  flags, sha256 of each array's bytes, and of the whole file.

Each file is verified twice: round trip through mx.nd.load, and an independent
byte-level parse (check_with_mxnet.parse_params, plain struct) whose findings
FORMAT.md describes.  Finally it probes a few edge cases (what MXNet refuses or
mangles) and prints a hexdump of the first 160 bytes of list_mixed.params.

Outputs are deterministic: all data comes from a fixed-seed numpy RandomState
or from literal values.
"""
import hashlib
import io
import json
import os
import sys
import zipfile

import numpy as np
import mxnet as mx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ next to the fixtures
from check_with_mxnet import (  # noqa: E402
    DTYPE_TO_FLAG, FILE_MAGIC, RECORD_MAGIC_V2, RECORD_MAGIC_V3, parse_params, sha256_of)

assert mx.__version__ == "1.9.1", "reference fixtures must come from MXNet 1.9.1, got " + mx.__version__

SEED = 20220509  # arbitrary, fixed


def list_mixed_arrays(rs):
    # bool: MXNet 1.9.1 does save bool NDArrays (type flag 7, one byte per
    # element, 0 or 1), so it is included.
    return [
        rs.standard_normal((2, 3)).astype(np.float32),
        np.array([1.0 / 3.0, -np.pi, 1e300, -5e-324], dtype=np.float64),
        rs.standard_normal((3, 2)).astype(np.float16),
        np.array([0, 1, 127, 128, 255], dtype=np.uint8),
        rs.randint(-2**31, 2**31 - 1, size=(2, 2, 2)).astype(np.int32),
        np.array([-128, 0, 127], dtype=np.int8),
        np.array([[-2**63, 2**63 - 1, 2**53 + 1], [0, -1, 42]], dtype=np.int64),
        np.array([True, False, False, True], dtype=np.bool_),
    ]


def dict_named_arrays(rs):
    # Insertion order is the order MXNet writes the records and the names in.
    return [
        ("arg:fc1_weight", rs.standard_normal((4, 3)).astype(np.float32)),
        ("arg:fc1_bias", rs.standard_normal((4,)).astype(np.float32)),
        ("aux:bn_moving_mean", rs.standard_normal((4,)).astype(np.float32)),
        ("scalar_like", np.array([2.5], dtype=np.float32)),
        ("big", rs.standard_normal((64, 33)).astype(np.float32)),
    ]


def to_mx(a):
    return mx.nd.array(a, dtype=a.dtype)


def write_npz(path, items):
    """np.savez equivalent with a fixed zip timestamp (deterministic bytes)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for key, arr in items:
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.array(arr, order="C"), allow_pickle=False)  # keeps 0-d
            zf.writestr(info, buf.getvalue())


def expected_size(items, names):
    """File size implied by the layout in FORMAT.md (dense records only)."""
    n = 8 + 8 + 8
    for _, a in items:
        n += 4 + 4 + 4 + 8 * a.ndim + 4 + 4 + 4 + a.nbytes
    n += 8 + sum(8 + len(s.encode("utf-8")) for s in names)
    return n


def make_fixture(name, items, kind, np_shape=False, note=None):
    """items: list of (key, numpy array).  kind: "list" or "dict"."""
    path = os.path.join(HERE, name + ".params")
    with mx.util.np_shape(np_shape):
        if kind == "list":
            data = [to_mx(a) for _, a in items]
        else:
            data = {k: to_mx(a) for k, a in items}
        mx.nd.save(path, data)

        # 1. round trip inside MXNet
        back = mx.nd.load(path)
        if kind == "dict":
            assert isinstance(back, dict), type(back)
            assert list(back.keys()) == [k for k, _ in items], list(back.keys())
            got = list(back.values())
        else:
            assert isinstance(back, list), type(back)
            got = back
        assert len(got) == len(items)
        for (k, want), g in zip(items, got):
            gn = g.asnumpy()
            assert gn.dtype == want.dtype, (k, gn.dtype, want.dtype)
            assert gn.shape == want.shape, (k, gn.shape, want.shape)
            assert gn.tobytes() == want.tobytes(), k

    # 2. independent byte-level parse
    with open(path, "rb") as f:
        raw = f.read()
    p = parse_params(raw)
    record_magic = RECORD_MAGIC_V3 if np_shape else RECORD_MAGIC_V2
    assert p["file_magic"] == "0x%X" % FILE_MAGIC and p["reserved"] == 0, p
    assert p["count"] == len(items)
    assert p["trailing_bytes"] == 0
    for (k, want), rec in zip(items, p["records"]):
        assert rec["magic"] == "0x%08X" % record_magic, rec
        assert rec["stype"] == 0
        assert rec["ndim"] == want.ndim and rec["shape"] == list(want.shape), rec
        assert rec["ctx"] == {"dev_type": 1, "dev_id": 0, "name": "cpu"}, rec
        assert rec["type_flag"] == DTYPE_TO_FLAG[want.dtype.name], rec
        assert rec["array"].dtype == want.dtype and rec["array"].tobytes() == want.tobytes()
        assert rec["data_nbytes"] == want.nbytes
    if kind == "list":
        assert p["name_count"] == 0 and p["names"] == []
    else:
        assert p["names"] == [k for k, _ in items]
    names = p["names"]
    assert len(raw) == expected_size(items, names), (len(raw), expected_size(items, names))

    # 3. expectations for Axle's tests
    write_npz(os.path.join(HERE, name + ".npz"), items)
    desc = {
        "file": name + ".params",
        "written_by": "mxnet %s mx.nd.save" % mx.__version__,
        "kind": kind,
        "np_shape": np_shape,
        "record_magic": None if not items else "0x%08X" % record_magic,
        "file_size": len(raw),
        "file_sha256": hashlib.sha256(raw).hexdigest(),
        "keys": [k for k, _ in items],
        "arrays": [{
            "key": k,
            "shape": list(a.shape),
            "dtype": a.dtype.name,
            "type_flag": DTYPE_TO_FLAG[a.dtype.name],
            "nbytes": int(a.nbytes),
            "sha256": sha256_of(a),
        } for k, a in items],
    }
    if note:
        desc["note"] = note
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(desc, f, indent=1)
        f.write("\n")
    print("%-22s %-4s %2d arrays  %6d bytes  record magic %s"
          % (name + ".params", kind, len(items), len(raw), desc["record_magic"]))
    return raw


def try_(label, fn):
    try:
        return "ok: %s" % (fn(),)
    except Exception as e:  # noqa: BLE001
        msg = str(e).strip()
        lines = [l for l in msg.splitlines() if "Error" in l or "Check failed" in l]
        return "REFUSED: %s" % ((lines[-1] if lines else msg.splitlines()[-1] if msg else repr(e))[:200])


def probe_edge_cases(tmp):
    """Print what MXNet 1.9.1 does with the awkward cases (no fixture written)."""
    print("\nedge cases (MXNet %s):" % mx.__version__)

    def save_hex(data):
        mx.nd.save(tmp, data)
        with open(tmp, "rb") as f:
            return f.read().hex()

    with mx.util.np_shape(False):
        print("  legacy (0,3) zeros         ", try_("", lambda: save_hex([mx.nd.zeros((0, 3))])))
        print("  legacy 0-d array save      ", try_("", lambda: save_hex([mx.nd.array(np.float32(5))])))
        print("  legacy 0-d array load back ", try_("", lambda: mx.nd.load(tmp)))
        print("  empty dict {} save         ", try_("", lambda: save_hex({})))
        print("  empty dict load back       ", try_("", lambda: mx.nd.load(tmp)))
        for dt in ("int16", "uint16", "uint32", "uint64"):
            print("  %-27s" % (dt + " array"), try_("", lambda: mx.nd.array(np.zeros(2, dt), dtype=dt)))
        bf16 = np.dtype([("bfloat16", np.uint16)])
        print("  bfloat16 save              ",
              try_("", lambda: save_hex([mx.nd.ones((2,), dtype="float32").astype(bf16)])))
    with mx.util.np_shape(True):
        mx.nd.save(tmp, [mx.nd.ones((1,))])
    with mx.util.np_shape(False):
        print("  v3 file loaded, np_shape off", try_("", lambda: mx.nd.load(tmp)))
    mx.nd.save(tmp, [mx.nd.ones((1,))])
    with mx.util.np_shape(True):
        print("  v2 file loaded, np_shape on ", try_("", lambda: mx.nd.load(tmp)))
    os.remove(tmp)


def hexdump(buf):
    for off in range(0, len(buf), 16):
        chunk = buf[off:off + 16]
        hx = " ".join("%02x" % b for b in chunk)
        txt = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        print("%08x  %-48s  |%s|" % (off, hx, txt))


def main():
    rs = np.random.RandomState(SEED)
    lm = make_fixture("list_mixed",
                      [(str(i), a) for i, a in enumerate(list_mixed_arrays(rs))], "list")
    make_fixture("dict_named", dict_named_arrays(rs), "dict")
    make_fixture("empty_list", [], "list",
                 note="mx.nd.save(path, []) ; mx.nd.save(path, {}) writes the very same 32 "
                      "bytes, and mx.nd.load returns [] for both")
    make_fixture("zero_size_npshape", [("0", np.zeros((0, 3), dtype=np.float32))], "list",
                 np_shape=True,
                 note="saved inside mx.util.np_shape(True); MXNet refuses to create a (0,3) "
                      "array without np-shape semantics, and mx.nd.load needs np_shape on to "
                      "read it back. The record has no data bytes.")
    make_fixture("scalar_npshape", [("0", np.array(3.5, dtype=np.float32))], "list",
                 np_shape=True,
                 note="0-d array saved inside mx.util.np_shape(True): ndim 0, no dims, then "
                      "ctx, type flag and one element. Without np-shape semantics MXNet "
                      "writes the same bytes with the v2 magic but cannot load them back.")
    probe_edge_cases(os.path.join(HERE, "_probe.tmp.params"))
    print("\nfirst 160 bytes of list_mixed.params:")
    hexdump(lm[:160])


if __name__ == "__main__":
    main()
