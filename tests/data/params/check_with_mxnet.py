#!/usr/bin/env python3
"""Check that a .params file (e.g. one written by Axle) is readable by MXNet 1.9.1.

Usage (from the repository root, with the reference venv):

    .mxref/bin/python tests/data/params/check_with_mxnet.py FILE.params [--compare EXPECTED.npz] [--no-raw]

Prints one JSON document on stdout:

  * "mxnet": what ``mx.nd.load`` returned -- list or dict, key order, and per
    array shape, dtype, storage type, nbytes and the sha256 of the array's bytes
    (C order, little endian, as ``numpy.ndarray.tobytes()`` gives them).  The
    file is first loaded with numpy-shape semantics off; if MXNet refuses
    because the records are the np-shape (v3) kind, it is loaded again with
    ``mx.util.np_shape(True)``.  "loaded_with_np_shape" says which worked.
  * "raw": an independent byte-level parse of the file (``parse_params``
    below, plain ``struct``, no MXNet): header, and per record its offset,
    magic, stype, shape, context, dtype flag and data size.  Handy to see what
    a writer actually put in the file when MXNet rejects it.
  * with --compare: the result of comparing every array bit for bit against
    the arrays of an .npz (keys "0", "1", ... for lists, names for dicts).

Exit status: 0 when MXNet loaded the file (and --compare matched), 1 otherwise.

``parse_params`` is importable without MXNet (mxnet is imported lazily), and is
what make_params_fixtures.py uses to verify the layout described in FORMAT.md.
"""
import argparse
import hashlib
import json
import struct
import sys

import numpy as np

FILE_MAGIC = 0x112            # u64 at offset 0 of every NDArray list file
RECORD_MAGIC_V1 = 0xF993FAC8  # oldest versioned record (not produced by 1.9.1)
RECORD_MAGIC_V2 = 0xF993FAC9  # record written with np-shape semantics off
RECORD_MAGIC_V3 = 0xF993FACA  # record written with np-shape semantics on

# mshadow type flags.  0..7 and 12 were verified by saving with MXNet 1.9.1;
# 8..11 are mshadow's numbers, which the 1.9.1 Python frontend cannot create.
FLAG_TO_DTYPE = {
    0: "float32", 1: "float64", 2: "float16", 3: "uint8", 4: "int32",
    5: "int8", 6: "int64", 7: "bool", 8: "int16", 9: "uint16",
    10: "uint32", 11: "uint64", 12: "bfloat16",
}
DTYPE_TO_FLAG = {v: k for k, v in FLAG_TO_DTYPE.items()}
STYPE_NAMES = {0: "default", 1: "row_sparse", 2: "csr"}
DEV_TYPE_NAMES = {1: "cpu", 2: "gpu", 3: "cpu_pinned", 5: "cpu_shared"}


def _np_dtype(name):
    # bfloat16 has no numpy dtype: expose its raw 16-bit patterns.
    return np.dtype("<u2") if name == "bfloat16" else np.dtype(name).newbyteorder("<")


class _Reader:
    def __init__(self, buf):
        self.buf = buf
        self.pos = 0

    def take(self, n):
        if n < 0 or self.pos + n > len(self.buf):
            raise ValueError("truncated file: need %d bytes at offset %d, file has %d"
                             % (n, self.pos, len(self.buf)))
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def unpack(self, fmt):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def shape(self):
        (ndim,) = self.unpack("i")          # int32 ndim (-1 = unknown in np-shape mode)
        if ndim <= 0:
            return ndim, ()
        return ndim, tuple(self.unpack("%dq" % ndim))   # int64 per dimension


def parse_params(buf):
    """Parse the bytes of an MXNet NDArray file (as written by mx.nd.save).

    Returns a dict with the header fields, a list of records (each with the
    decoded numpy array under "array", or None for a 'none' array) and the
    names.  Raises ValueError on anything it does not understand.
    """
    r = _Reader(buf)
    header, reserved = r.unpack("QQ")
    if header != FILE_MAGIC:
        raise ValueError("bad file magic 0x%x (expected 0x112)" % header)
    (count,) = r.unpack("Q")
    records = []
    for i in range(count):
        rec = {"index": i, "offset": r.pos}
        (magic,) = r.unpack("I")
        rec["magic"] = "0x%08X" % magic
        if magic not in (RECORD_MAGIC_V2, RECORD_MAGIC_V3):
            raise ValueError("record %d at offset %d: unsupported record magic 0x%08X"
                             % (i, rec["offset"], magic))
        (stype,) = r.unpack("i")
        rec["stype"] = stype
        nad = {0: 0, 1: 1, 2: 2}.get(stype)
        if nad is None:
            raise ValueError("record %d: unknown storage type %d" % (i, stype))
        if nad:
            rec["storage_shape"] = list(r.shape()[1])
        ndim, shape = r.shape()
        rec["ndim"] = ndim
        rec["shape"] = list(shape)
        # A 'none' array stops after its shape.  MXNet's loader decides by its
        # current mode: np-shape off (needed for v2) -> ndim == 0 is none;
        # np-shape on (needed for v3) -> an unknown shape (ndim -1 or a -1
        # dimension) is none, and ndim == 0 is a real 0-d scalar.
        if (magic == RECORD_MAGIC_V2 and ndim == 0) or ndim < 0 or \
                (magic == RECORD_MAGIC_V3 and any(d < 0 for d in shape)):
            rec["none"] = True
            rec["array"] = None
            records.append(rec)
            continue
        dev_type, dev_id = r.unpack("ii")
        rec["ctx"] = {"dev_type": dev_type, "dev_id": dev_id,
                      "name": DEV_TYPE_NAMES.get(dev_type, "?")}
        (flag,) = r.unpack("i")
        rec["type_flag"] = flag
        if flag not in FLAG_TO_DTYPE:
            raise ValueError("record %d: unknown type flag %d" % (i, flag))
        dtype_name = FLAG_TO_DTYPE[flag]
        rec["dtype"] = dtype_name
        dt = _np_dtype(dtype_name)
        aux = []
        for _ in range(nad):
            (aflag,) = r.unpack("i")
            aux.append((aflag, r.shape()[1]))
        rec["data_offset"] = r.pos
        if nad:
            # MXNet 1.9.1 writes the storage shape before waiting for the array's
            # producer, so it can be stale (seen: (0,) for a fresh
            # tostype('csr') result).  Like MXNet's loader, use it when its size
            # is non-zero, else derive it from the aux shapes.
            n = int(np.prod(rec["storage_shape"], dtype=np.int64))
            if n == 0 and stype == 2:    # csr: aux 0 = indptr, aux 1 = indices
                n = int(np.prod(aux[1][1], dtype=np.int64))
            elif n == 0:                 # row_sparse: aux 0 = row indices
                n = int(aux[0][1][0] * np.prod(shape[1:], dtype=np.int64))
            rec["array"] = None  # sparse: keep raw parts only
            rec["values"] = np.frombuffer(r.take(n * dt.itemsize), dt).copy()
            rec["aux"] = []
            for aflag, ashape in aux:
                adt = _np_dtype(FLAG_TO_DTYPE[aflag])
                an = int(np.prod(ashape, dtype=np.int64))
                rec["aux"].append(np.frombuffer(r.take(an * adt.itemsize), adt).copy())
        else:
            n = int(np.prod(shape, dtype=np.int64))
            rec["array"] = np.frombuffer(r.take(n * dt.itemsize), dt).reshape(shape).copy()
        rec["data_nbytes"] = r.pos - rec["data_offset"]
        records.append(rec)
    names_offset = r.pos
    (nnames,) = r.unpack("Q")
    names = []
    for _ in range(nnames):
        (ln,) = r.unpack("Q")
        names.append(r.take(ln).decode("utf-8"))
    return {
        "file_magic": "0x%X" % header,
        "reserved": reserved,
        "count": count,
        "records": records,
        "names_offset": names_offset,
        "name_count": nnames,
        "names": names,
        "size": len(buf),
        "trailing_bytes": len(buf) - r.pos,
    }


def _dtype_name(dt):
    d = np.dtype(dt)
    return "bfloat16" if d.names == ("bfloat16",) else d.name


def sha256_of(arr):
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()


def raw_summary(parsed):
    out = {k: v for k, v in parsed.items() if k != "records"}
    recs = []
    for rec in parsed["records"]:
        d = {k: v for k, v in rec.items() if k not in ("array", "values", "aux")}
        if rec.get("array") is not None:
            d["sha256"] = sha256_of(rec["array"])
        recs.append(d)
    out["records"] = recs
    return out


def load_with_mxnet(path):
    """Return (result, np_shape_used) where result is what mx.nd.load gave."""
    import mxnet as mx
    try:
        with mx.util.np_shape(False):
            return mx.nd.load(path), False
    except mx.base.MXNetError as e:
        if "np shape" not in str(e):
            raise
    with mx.util.np_shape(True):
        return mx.nd.load(path), True


def describe(path, compare=None, raw=True):
    import mxnet as mx
    report = {"path": path, "mxnet_version": mx.__version__}
    ok = True
    try:
        loaded, np_shape = load_with_mxnet(path)
    except Exception as e:  # noqa: BLE001 -- report whatever MXNet said
        report["ok"] = False
        report["error"] = str(e).strip().splitlines()[-1] if str(e).strip() else repr(e)
        loaded, ok = None, False
    if loaded is not None:
        if isinstance(loaded, dict):
            kind, items = "dict", list(loaded.items())
        else:
            kind, items = "list", [(str(i), a) for i, a in enumerate(loaded)]
        arrays = []
        with mx.util.np_shape(np_shape):
            nps = {}
            for key, a in items:
                x = a.asnumpy()
                nps[key] = x
                arrays.append({
                    "key": key,
                    "shape": list(a.shape),
                    "dtype": _dtype_name(a.dtype),
                    "stype": a.stype,
                    "nbytes": int(x.nbytes),
                    "sha256": sha256_of(x),
                })
        report.update({"ok": True, "loaded_with_np_shape": np_shape, "kind": kind,
                       "count": len(items), "keys": [k for k, _ in items],
                       "arrays": arrays})
        if compare:
            res = {"npz": compare, "mismatches": []}
            with np.load(compare, allow_pickle=False) as z:
                want = {k: z[k] for k in z.files}
            if set(want) != set(nps):
                res["mismatches"].append("keys differ: file %s vs npz %s"
                                         % (sorted(nps), sorted(want)))
            for k in sorted(set(want) & set(nps)):
                got, exp = nps[k], want[k]
                if got.dtype != exp.dtype or got.shape != exp.shape \
                        or got.tobytes() != exp.tobytes():
                    res["mismatches"].append("%s: got %s%s, expected %s%s or different bytes"
                                             % (k, got.dtype, got.shape, exp.dtype, exp.shape))
            res["match"] = not res["mismatches"]
            ok = ok and res["match"]
            report["compare"] = res
    if raw:
        try:
            with open(path, "rb") as f:
                report["raw"] = raw_summary(parse_params(f.read()))
        except Exception as e:  # noqa: BLE001
            report["raw"] = {"error": str(e)}
    return report, ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path")
    ap.add_argument("--compare", metavar="NPZ", help="compare bitwise against an .npz")
    ap.add_argument("--no-raw", action="store_true", help="skip the byte-level parse")
    args = ap.parse_args(argv)
    report, ok = describe(args.path, compare=args.compare, raw=not args.no_raw)
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
