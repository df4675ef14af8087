"""mx.nd.save / mx.nd.load / mx.nd.load_frombuffer and MXNet 1.9.1's .params format.

The fixtures in tests/data/params were written by MXNet 1.9.1 (see FORMAT.md there and the .json
beside each file). The checks that need MXNet itself run .mxref/bin/python (a venv with MXNet
1.9.1) as a subprocess and skip when it is missing; everything else needs no MXNet.
"""
import gc
import hashlib
import json
import os
import re
import signal
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest

import axle as mx

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "params"
MXREF_PYTHON = ROOT / ".mxref" / "bin" / "python"
CHECK_SCRIPT = DATA / "check_with_mxnet.py"

FIXTURES = ["list_mixed", "dict_named", "empty_list", "zero_size_npshape", "scalar_npshape"]
ALL_DTYPES = ["float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool"]
TYPE_FLAGS = {name: i for i, name in enumerate(ALL_DTYPES)}

V2, V3 = 0xF993FAC9, 0xF993FACA


# ---- helpers --------------------------------------------------------------------------------------
def fixture_meta(name):
    return json.loads((DATA / f"{name}.json").read_text())


def fixture_bytes(name):
    return (DATA / f"{name}.params").read_bytes()


def fixture_npz(name):
    with np.load(DATA / f"{name}.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def nd(x):
    """An NDArray holding a copy of numpy array x, same shape (0-d included) and dtype."""
    x = np.asarray(x)
    a = mx.nd.empty(x.shape, dtype=x.dtype)
    if x.size:
        a[:] = x
    assert a.shape == x.shape and np.dtype(a.dtype) == x.dtype
    return a


def as_items(loaded):
    """(key, NDArray) pairs of a load result; list positions become "0", "1", ..."""
    if isinstance(loaded, dict):
        return list(loaded.items())
    return [(str(i), a) for i, a in enumerate(loaded)]


def assert_bit_identical(got, expected, what=""):
    got_np = got.asnumpy()
    assert got.shape == expected.shape, what
    assert np.dtype(got.dtype) == expected.dtype, what
    assert got_np.dtype == expected.dtype, what
    assert got_np.tobytes() == expected.tobytes(), f"{what}: values differ"


def sample(dtype, shape, seed=0):
    """Values that exercise a dtype's whole range (special floats, extremes of integers)."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape, dtype=np.int64))
    dt = np.dtype(dtype)
    if dt == np.bool_:
        v = rng.integers(0, 2, n).astype(np.bool_)
    elif dt.kind == "f":
        v = rng.standard_normal(n).astype(dt)
        specials = np.array([np.nan, np.inf, -np.inf, -0.0, np.finfo(dt).tiny, np.finfo(dt).max], dtype=dt)
        v[: min(n, len(specials))] = specials[: min(n, len(specials))]
    else:
        info = np.iinfo(dt)
        v = rng.integers(info.min, info.max, n, dtype=dt, endpoint=True)
        specials = np.array([info.min, info.max, 0, -1 if info.min < 0 else 1], dtype=dt)
        v[: min(n, len(specials))] = specials[: min(n, len(specials))]
    return v.reshape(shape)


def params_bytes(arrays, names=None, v3=False):
    """The bytes MXNet 1.9.1 writes for dense cpu(0) arrays (FORMAT.md), built independently of Axle."""
    out = [struct.pack("<QQQ", 0x112, 0, len(arrays))]
    for x in arrays:
        x = np.asarray(x)
        out.append(struct.pack("<Iii", V3 if v3 else V2, 0, x.ndim))
        out.append(struct.pack(f"<{x.ndim}q", *x.shape))
        out.append(struct.pack("<iii", 1, 0, TYPE_FLAGS[x.dtype.name]))
        out.append(np.ascontiguousarray(x).astype(x.dtype.newbyteorder("<")).tobytes())
    names = names or []
    out.append(struct.pack("<Q", len(names)))
    for n in names:
        b = n.encode("utf-8")
        out.append(struct.pack("<Q", len(b)) + b)
    return b"".join(out)


def dir_listing(path):
    return sorted(os.listdir(path))


# ---- MXNet-written fixtures load right ------------------------------------------------------------
@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_loads_with_keys_shapes_dtypes_and_bits(name):
    meta = fixture_meta(name)
    want = fixture_npz(name)
    loaded = mx.nd.load(str(DATA / f"{name}.params"))
    if meta["kind"] == "dict":
        assert isinstance(loaded, dict)
        assert list(loaded.keys()) == meta["keys"]  # the file's order, not sorted
    else:
        assert isinstance(loaded, list)
        assert len(loaded) == len(meta["keys"])
    items = as_items(loaded)
    assert [k for k, _ in items] == meta["keys"]
    for (key, arr), info in zip(items, meta["arrays"]):
        assert info["key"] == key
        assert arr.shape == tuple(info["shape"]), key
        assert np.dtype(arr.dtype).name == info["dtype"], key
        assert arr.context == mx.cpu(0)
        assert_bit_identical(arr, want[key], f"{name}[{key}]")
        assert hashlib.sha256(arr.asnumpy().tobytes()).hexdigest() == info["sha256"], key


@pytest.mark.parametrize("name", FIXTURES)
def test_load_frombuffer_matches_load(name):
    raw = fixture_bytes(name)
    from_file = as_items(mx.nd.load(str(DATA / f"{name}.params")))
    for buf in (raw, bytearray(raw), memoryview(raw)):
        loaded = mx.nd.load_frombuffer(buf)
        assert type(loaded) is (dict if fixture_meta(name)["kind"] == "dict" else list)
        items = as_items(loaded)
        assert [k for k, _ in items] == [k for k, _ in from_file]
        for (k, a), (_, b) in zip(items, from_file):
            assert_bit_identical(a, b.asnumpy(), k)


def test_fixture_files_are_what_their_json_says():
    # guards the fixtures themselves: a changed file would make every other check meaningless
    for name in FIXTURES:
        meta = fixture_meta(name)
        raw = fixture_bytes(name)
        assert len(raw) == meta["file_size"], name
        assert hashlib.sha256(raw).hexdigest() == meta["file_sha256"], name


def test_loaded_arrays_are_independent_of_the_buffer():
    buf = bytearray(fixture_bytes("list_mixed"))
    loaded = mx.nd.load_frombuffer(buf)
    before = loaded[0].asnumpy().copy()
    buf[64:88] = b"\xff" * 24  # the float32 record's data
    del buf
    gc.collect()
    assert loaded[0].asnumpy().tobytes() == before.tobytes()


def test_load_accepts_pathlike():
    loaded = mx.nd.load(DATA / "dict_named.params")
    assert list(loaded) == fixture_meta("dict_named")["keys"]


# ---- Axle writes what MXNet writes ----------------------------------------------------------------
@pytest.mark.parametrize("name", FIXTURES)
def test_save_is_byte_identical_to_mxnet(name, tmp_path):
    meta = fixture_meta(name)
    want = fixture_npz(name)
    arrays = [nd(want[k]) for k in meta["keys"]]
    data = dict(zip(meta["keys"], arrays)) if meta["kind"] == "dict" else arrays
    out = tmp_path / f"{name}.params"
    mx.nd.save(str(out), data)
    assert out.read_bytes() == fixture_bytes(name)


@pytest.mark.parametrize("name", FIXTURES)
def test_resave_of_loaded_fixture_is_byte_identical(name, tmp_path):
    out = tmp_path / "resaved.params"
    mx.nd.save(str(out), mx.nd.load(str(DATA / f"{name}.params")))
    assert out.read_bytes() == fixture_bytes(name)


def test_save_empty_dict_writes_the_empty_list_file(tmp_path):
    # MXNet writes the same 32 bytes for [] and {} and loads both as []
    out = tmp_path / "e.params"
    mx.nd.save(str(out), {})
    assert out.read_bytes() == fixture_bytes("empty_list")
    assert mx.nd.load(str(out)) == []


def test_save_single_ndarray_is_a_one_element_list(tmp_path):
    x = sample("int32", (3, 4))
    out = tmp_path / "one.params"
    mx.nd.save(str(out), nd(x))
    assert out.read_bytes() == params_bytes([x])
    loaded = mx.nd.load(str(out))
    assert isinstance(loaded, list) and len(loaded) == 1
    assert_bit_identical(loaded[0], x)


def test_save_bytes_match_independent_encoder_for_every_dtype(tmp_path):
    xs = {dt: sample(dt, (2, 3), seed=i) for i, dt in enumerate(ALL_DTYPES)}
    out = tmp_path / "all.params"
    mx.nd.save(str(out), {k: nd(v) for k, v in xs.items()})
    assert out.read_bytes() == params_bytes(list(xs.values()), list(xs))


def test_save_writes_only_the_view_of_a_slice(tmp_path):
    base = sample("float64", (5, 3))
    a = nd(base)
    out = tmp_path / "view.params"
    mx.nd.save(str(out), [a[1:3], a.reshape((3, 5))])
    assert out.read_bytes() == params_bytes([base[1:3], base.reshape(3, 5)])


def test_save_waits_for_pending_ops(tmp_path):
    a = nd(np.arange(1000, dtype=np.float32))
    c = a
    for _ in range(20):
        c = c + 1  # pushed, not waited for
    out = tmp_path / "pending.params"
    mx.nd.save(str(out), {"c": c})
    assert_bit_identical(mx.nd.load(str(out))["c"], np.arange(1000, dtype=np.float32) + 20)


# ---- MXNet 1.9.1 reads what Axle writes (needs .mxref) --------------------------------------------
@pytest.fixture(scope="module")
def mxnet_python():
    if not MXREF_PYTHON.exists():
        pytest.skip(f"MXNet 1.9.1 reference venv not found at {MXREF_PYTHON}: cannot ask MXNet to read Axle's file")
    return str(MXREF_PYTHON)


def mxnet_reads(mxnet_python, path, npz):
    proc = subprocess.run([mxnet_python, str(CHECK_SCRIPT), str(path), "--compare", str(npz)],
                          capture_output=True, text=True, timeout=300, cwd=str(ROOT))
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"check_with_mxnet.py printed no JSON (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.returncode, report


def assert_mxnet_report(rc, report, kind, expected, np_shape):
    assert report.get("ok"), report.get("error")
    assert report["mxnet_version"] == "1.9.1"
    assert report["kind"] == kind
    assert report["loaded_with_np_shape"] is np_shape
    assert report["keys"] == list(expected)
    for info, (key, x) in zip(report["arrays"], expected.items()):
        assert info["key"] == key
        assert info["shape"] == list(x.shape), key
        assert info["dtype"] == x.dtype.name, key
        assert info["stype"] == "default"
        assert info["sha256"] == hashlib.sha256(x.tobytes()).hexdigest(), key
    assert report["compare"]["match"], report["compare"]["mismatches"]
    assert rc == 0


def test_mxnet_reads_axle_dict_of_every_dtype_with_unicode_names(mxnet_python, tmp_path):
    names = ["arg:w_f32", "gewicht_\u00e4\u00f6\u00fc", "\u6743\u91cd", "emoji_\U0001F600", "",
             "with space", "a/b.c", "int64"]
    expected = {n: sample(dt, (3, 2) if i % 2 else (4,), seed=i) for i, (n, dt) in enumerate(zip(names, ALL_DTYPES))}
    path = tmp_path / "axle_dict.params"
    mx.nd.save(str(path), {k: nd(v) for k, v in expected.items()})
    npz = tmp_path / "axle_dict.npz"
    np.savez(npz, **expected)
    rc, report = mxnet_reads(mxnet_python, path, npz)
    assert_mxnet_report(rc, report, "dict", expected, np_shape=False)


def test_mxnet_reads_axle_list(mxnet_python, tmp_path):
    expected = {str(i): sample(dt, (2, 2, 3), seed=10 + i) for i, dt in enumerate(ALL_DTYPES)}
    path = tmp_path / "axle_list.params"
    mx.nd.save(str(path), [nd(v) for v in expected.values()])
    npz = tmp_path / "axle_list.npz"
    np.savez(npz, **expected)
    rc, report = mxnet_reads(mxnet_python, path, npz)
    assert_mxnet_report(rc, report, "list", expected, np_shape=False)


def test_mxnet_reads_axle_scalar_and_zero_size(mxnet_python, tmp_path):
    expected = {"0": np.array(3.5, np.float32), "1": np.zeros((0, 3), np.float32), "2": np.array(-7, np.int64)}
    path = tmp_path / "axle_np.params"
    mx.nd.save(str(path), [nd(v) for v in expected.values()])
    npz = tmp_path / "axle_np.npz"
    np.savez(npz, **expected)
    rc, report = mxnet_reads(mxnet_python, path, npz)
    assert_mxnet_report(rc, report, "list", expected, np_shape=True)


def test_mxnet_reads_axle_file_mixing_scalar_and_ordinary_arrays(mxnet_python, tmp_path):
    expected = {"w": sample("float32", (2, 3)), "s": np.array(2.5, np.float32)}
    path = tmp_path / "axle_mixed.params"
    mx.nd.save(str(path), {k: nd(v) for k, v in expected.items()})
    npz = tmp_path / "axle_mixed.npz"
    np.savez(npz, **expected)
    rc, report = mxnet_reads(mxnet_python, path, npz)
    assert_mxnet_report(rc, report, "dict", expected, np_shape=True)


def test_save_mixing_scalar_and_ordinary_arrays_writes_all_v3_like_mxnet(tmp_path):
    # these bytes are what MXNet 1.9.1 writes for this dict inside mx.util.np_shape(True)
    w, s = np.ones((2, 3), np.float32), np.array(2.5, np.float32)
    path = tmp_path / "mixed.params"
    mx.nd.save(str(path), {"w": nd(w), "s": nd(s)})
    assert path.read_bytes() == params_bytes([w, s], ["w", "s"], v3=True)


# ---- corrupt input --------------------------------------------------------------------------------
def _with_u32(buf, off, v):
    return buf[:off] + struct.pack("<I", v) + buf[off + 4:]


def _with_i32(buf, off, v):
    return buf[:off] + struct.pack("<i", v) + buf[off + 4:]


def _with_u64(buf, off, v):
    return buf[:off] + struct.pack("<Q", v) + buf[off + 8:]


def _with_i64(buf, off, v):
    return buf[:off] + struct.pack("<q", v) + buf[off + 8:]


LIST = fixture_bytes("list_mixed")  # record 0: float32 (2,3) at offset 24
DICT = fixture_bytes("dict_named")
# record 0 of list_mixed: magic @24, stype @28, ndim @32, dims @36 and @44, dev @52, dev_id @56, flag @60, data @64
CORRUPT = {
    "empty file": (b"", r"truncated while reading file magic"),
    "wrong magic": (_with_u64(LIST, 0, 0x113), r"not an NDArray file \(magic 0x113, expected 0x112\)"),
    "text file": (b"this is not a params file at all\n", r"not an NDArray file"),
    "huge array count": (_with_u64(LIST, 16, 2 ** 62), r"array count 4611686018427387904 is larger than the file"),
    "max array count": (_with_u64(LIST, 16, 2 ** 64 - 1), r"array count 18446744073709551615 is larger than the file"),
    "count past the records": (_with_u64(LIST, 16, 9), r"truncated"),
    "huge dims 2^40 x 2^40": (_with_i64(_with_i64(LIST, 36, 2 ** 40), 44, 2 ** 40),
                              r"shape \(1099511627776,1099511627776\).*overflows"),
    "huge dim 2^40 (no overflow)": (_with_i64(LIST, 36, 2 ** 40),
                                    r"shape \(1099511627776,3\) needs 13194139533312 bytes, only \d+ left"),
    "negative dim": (_with_i64(LIST, 36, -2), r"negative dimension"),
    "negative dim -1 in v2": (_with_i64(LIST, 44, -1), r"negative dimension"),
    "huge ndim": (_with_i32(LIST, 32, 1000), r"invalid ndim 1000"),
    "negative ndim": (_with_i32(LIST, 32, -5), r"invalid ndim -5"),
    "unknown dtype flag": (_with_i32(LIST, 60, 99), r"dtype flag 99 is not supported"),
    "negative dtype flag": (_with_i32(LIST, 60, -1), r"dtype flag -1 is not supported"),
    "unknown record magic": (_with_u32(LIST, 24, 0xDEADBEEF), r"unknown record magic 0xdeadbeef"),
    "sparse record": (_with_i32(LIST, 28, 2), r"sparse storage \(type 2\) is not supported"),
    "name count 3 of 8": (LIST[:-8] + struct.pack("<Q", 3) + (struct.pack("<Q", 1) + b"x") * 3,
                          r"3 names for 8 arrays"),
    "name count 9 of 8": (LIST[:-8] + struct.pack("<Q", 9) + (struct.pack("<Q", 1) + b"x") * 9,
                          r"9 names for 8 arrays"),
    "name length past the end": (LIST[:-8] + struct.pack("<Q", 8) + struct.pack("<Q", 2 ** 63) + b"abc",
                                 r"name length 9223372036854775808 exceeds the file"),
    "name length one past the end": (DICT[:-len(b"big")] + b"bi", r"name length 3 exceeds the file|truncated"),
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_corrupt_buffer_raises_oserror_naming_the_problem(case):
    data, pattern = CORRUPT[case]
    peak = mx.context.memory_stats()["peak_bytes_in_use"]
    with pytest.raises(OSError, match=r"invalid NDArray file <buffer>: .*" + pattern):
        mx.nd.load_frombuffer(data)
    # nothing near the declared sizes was ever allocated
    assert mx.context.memory_stats()["peak_bytes_in_use"] - peak < (1 << 20)


@pytest.mark.parametrize("case", list(CORRUPT))
def test_corrupt_file_raises_oserror_naming_the_file(case, tmp_path):
    data, pattern = CORRUPT[case]
    path = tmp_path / "corrupt.params"
    path.write_bytes(data)
    with pytest.raises(OSError, match=r"invalid NDArray file '" + re.escape(str(path)) + r"': .*" + pattern):
        mx.nd.load(str(path))


def test_huge_dims_message_states_a_true_size():
    data = _with_i64(_with_i64(LIST, 36, 2 ** 31), 44, 2 ** 31)
    with pytest.raises(OSError, match=r"shape \(2147483648,2147483648\)") as ei:
        mx.nd.load_frombuffer(data)
    assert "needs 0 bytes" not in str(ei.value)


def test_name_that_is_not_utf8_raises_oserror(tmp_path):
    data = LIST[:-8] + struct.pack("<Q", 8) + (struct.pack("<Q", 2) + b"\xff\xfe") * 8
    path = tmp_path / "badname.params"
    path.write_bytes(data)
    with pytest.raises(OSError, match=re.escape(str(path)) + r".*(UTF-8|utf-8)"):
        mx.nd.load(str(path))


@pytest.mark.parametrize("fixture", ["list_mixed", "dict_named", "zero_size_npshape", "scalar_npshape"])
def test_every_truncation_raises_oserror(fixture):
    raw = fixture_bytes(fixture)
    ok = re.compile(r"^invalid NDArray file <buffer>: (truncated while reading [a-z ]+ \(\d+ bytes needed, \d+ left\)"
                    r"|array count \d+ is larger than the file could hold"
                    r"|the array of shape \([\d,]*\) needs \d+ bytes, only \d+ left"
                    r"|name length \d+ exceeds the file) \(at byte (\d+)\)$")
    for cut in range(len(raw)):
        with pytest.raises(OSError) as ei:
            mx.nd.load_frombuffer(raw[:cut])
        m = ok.match(str(ei.value))
        assert m, f"cut at {cut}: unexpected message {ei.value}"
        assert int(m.group(2)) <= cut, f"cut at {cut}: {ei.value}"


def test_every_truncation_of_a_file_names_the_file(tmp_path):
    raw = fixture_bytes("list_mixed")
    path = tmp_path / "cut.params"
    for cut in range(len(raw)):
        path.write_bytes(raw[:cut])
        with pytest.raises(OSError, match=r"^invalid NDArray file '" + re.escape(str(path)) + "': "):
            mx.nd.load(str(path))
    path.write_bytes(raw)
    assert len(mx.nd.load(str(path))) == 8  # the whole file still loads


def test_nonexistent_path_raises_oserror_naming_it(tmp_path):
    path = tmp_path / "no" / "such" / "file.params"
    with pytest.raises(OSError, match=r"cannot open '" + re.escape(str(path)) + "'"):
        mx.nd.load(str(path))


def test_directory_path_raises_oserror_saying_so(tmp_path):
    with pytest.raises(OSError, match=re.escape(str(tmp_path)) + r".*[Dd]irectory"):
        mx.nd.load(str(tmp_path))


def test_corrupt_input_never_crashes_the_process():
    # every single-byte change in the header and first record, in a child: a crash there is a failure here
    code = textwrap.dedent(f"""
        import axle as mx
        raw = open({str(DATA / 'list_mixed.params')!r}, 'rb').read()
        n_err = 0
        for off in range(0, 100):
            for v in (0x00, 0x01, 0x7f, 0x80, 0xff):
                b = bytearray(raw); b[off] = v
                try:
                    mx.nd.load_frombuffer(bytes(b))
                except OSError:
                    n_err += 1
        print('errors', n_err)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert re.match(r"errors \d+", proc.stdout), proc.stdout
    assert int(proc.stdout.split()[1]) > 100  # most of those changes are errors, not silent loads


# ---- saving: argument errors and failures leave existing files alone --------------------------------
@pytest.fixture
def existing(tmp_path):
    """A params file that a failed save must leave exactly as it was."""
    path = tmp_path / "model.params"
    mx.nd.save(str(path), {"keep": nd(np.arange(4, dtype=np.float32))})
    before = path.read_bytes()
    assert mx.nd.load(str(path))["keep"].asnumpy().tolist() == [0, 1, 2, 3]
    return path, before


def test_dict_with_non_str_key_raises_typeerror_before_touching_the_file(existing):
    path, before = existing
    stat = path.stat()
    with pytest.raises(TypeError, match="keys must be str"):
        mx.nd.save(str(path), {"ok": mx.nd.ones((2,)), 3: mx.nd.ones((2,))})
    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == stat.st_mtime_ns
    assert dir_listing(path.parent) == ["model.params"]


def test_dict_with_bytes_key_raises_typeerror(tmp_path):
    path = tmp_path / "new.params"
    with pytest.raises(TypeError, match="keys must be str"):
        mx.nd.save(str(path), {b"w": mx.nd.ones((2,))})
    assert not path.exists()


@pytest.mark.parametrize("bad", [[mx.nd.ones((2,)), np.ones(2)], {"w": np.ones(2)}, [None]])
def test_non_ndarray_value_raises_typeerror_before_touching_the_file(existing, bad):
    path, before = existing
    with pytest.raises(TypeError, match="every value must be an NDArray"):
        mx.nd.save(str(path), bad)
    assert path.read_bytes() == before
    assert dir_listing(path.parent) == ["model.params"]


@pytest.mark.parametrize("bad", [np.ones(3), 3.0, "w", None])
def test_unsupported_data_raises_typeerror(tmp_path, bad):
    path = tmp_path / "x.params"
    with pytest.raises(TypeError, match="data must be an NDArray, a list or a dict"):
        mx.nd.save(str(path), bad)
    assert not path.exists()


def test_save_into_nonexistent_directory_raises_and_creates_nothing(tmp_path):
    path = tmp_path / "missing_dir" / "x.params"
    with pytest.raises(OSError, match=r"cannot open '" + re.escape(str(path)) + "'"):
        mx.nd.save(str(path), [mx.nd.ones((2,))])
    assert dir_listing(tmp_path) == []


def test_save_below_a_regular_file_raises(existing):
    path, before = existing
    with pytest.raises(OSError, match=re.escape(str(path / "x.params"))):
        mx.nd.save(str(path / "x.params"), [mx.nd.ones((2,))])
    assert path.read_bytes() == before


def test_save_over_a_directory_raises_and_leaves_it(tmp_path):
    target = tmp_path / "adir"
    target.mkdir()
    (target / "inside").write_text("x")
    with pytest.raises(OSError, match=re.escape(str(target))):
        mx.nd.save(str(target), [mx.nd.ones((2,))])
    assert dir_listing(tmp_path) == ["adir"]  # no temporary file left behind
    assert dir_listing(target) == ["inside"]


def test_save_into_read_only_directory_raises_and_keeps_the_old_file(existing):
    path, before = existing
    if os.geteuid() == 0:
        pytest.skip("running as root: a read-only directory does not stop root from writing (see the failing-write "
                    "and failing-op tests for saves that fail midway)")
    os.chmod(path.parent, 0o555)
    try:
        with pytest.raises(OSError, match=re.escape(str(path))):
            mx.nd.save(str(path), [mx.nd.ones((2,))])
        assert path.read_bytes() == before
        assert dir_listing(path.parent) == ["model.params"]
    finally:
        os.chmod(path.parent, 0o755)


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE/SIGXFSZ (POSIX)")
def test_write_failing_midway_keeps_the_old_file(existing):
    # in a child limited to 4 KiB per file: writing a 400 KB file fails part way through
    path, before = existing
    code = textwrap.dedent(f"""
        import resource, signal, sys
        import axle as mx
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            mx.nd.save({str(path)!r}, {{"big": mx.nd.ones((100000,))}})
        except OSError as e:
            print("OSError:", e)
            sys.exit(0)
        print("no error")
        sys.exit(1)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"OSError: .*" + re.escape(str(path)), proc.stdout), proc.stdout
    assert path.read_bytes() == before
    assert dir_listing(path.parent) == ["model.params"]


def test_failed_pending_op_fails_the_save_and_keeps_the_old_file(existing):
    path, before = existing
    good = mx.nd.ones((3,))
    # a rendezvous that nobody joins fails (asynchronously) after 20 ms
    bad = mx.nd._engine_rendezvous(mx.nd.ones((3,)), key=424242, parties=2, timeout_ms=20)
    with pytest.raises(mx.base.MXNetError, match="rendezvous 424242 timed out"):
        mx.nd.save(str(path), {"good": good, "bad": bad})
    assert path.read_bytes() == before
    assert dir_listing(path.parent) == ["model.params"]
    mx.nd.waitall()


def test_save_replaces_an_existing_file_completely(existing):
    path, _ = existing
    mx.nd.save(str(path), [nd(np.array([1], np.uint8))])
    assert path.read_bytes() == params_bytes([np.array([1], np.uint8)])
    assert dir_listing(path.parent) == ["model.params"]


def test_save_through_a_symlink_updates_its_target(existing):
    path, _ = existing
    link = path.parent / "link.params"
    link.symlink_to(path.name)
    x = np.array([9, 8, 7], np.int32)
    mx.nd.save(str(link), [nd(x)])
    assert link.is_symlink()
    assert path.read_bytes() == params_bytes([x])


# ---- round trips ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 1, 3, 2), (), (0,), (0, 3), (4, 0, 2)])
def test_round_trip_every_dtype_and_shape(dtype, shape, tmp_path):
    x = sample(dtype, shape, seed=zlib.crc32(repr((dtype, shape)).encode()))
    path = tmp_path / "rt.params"
    mx.nd.save(str(path), {"x": nd(x)})
    loaded = mx.nd.load(str(path))
    assert list(loaded) == ["x"]
    assert_bit_identical(loaded["x"], x, f"{dtype}{shape}")
    # 0-d and zero-size arrays are written as v3 records, the rest as v2 (as MXNet 1.9.1 does)
    raw = path.read_bytes()
    assert struct.unpack_from("<I", raw, 24)[0] == (V3 if x.ndim == 0 or x.size == 0 else V2)
    assert raw == params_bytes([x], ["x"], v3=x.ndim == 0 or x.size == 0)


def test_round_trip_list_keeps_order_and_types(tmp_path):
    xs = [sample(dt, (i + 1, 2), seed=i) for i, dt in enumerate(ALL_DTYPES)] * 3
    path = tmp_path / "l.params"
    mx.nd.save(str(path), [nd(x) for x in xs])
    loaded = mx.nd.load(str(path))
    assert isinstance(loaded, list) and len(loaded) == len(xs)
    for a, x in zip(loaded, xs):
        assert_bit_identical(a, x)


def test_round_trip_tuple_is_saved_as_a_list(tmp_path):
    path = tmp_path / "t.params"
    mx.nd.save(str(path), (nd(np.arange(3, dtype=np.int8)), nd(np.ones((2, 2), np.float16))))
    loaded = mx.nd.load(str(path))
    assert isinstance(loaded, list) and [a.shape for a in loaded] == [(3,), (2, 2)]


def test_round_trip_unicode_and_odd_names_in_insertion_order(tmp_path):
    names = ["z_last_alphabetically", "\u00e9t\u00e9", "\u6743\u91cd/\u504f\u7f6e", "\U0001F600\U0001F680", "",
             "a b\tc", "arg:fc1_weight", "x" * 1000, "aux:mean"]
    data = {n: nd(sample("float32", (i + 1,), seed=i)) for i, n in enumerate(names)}
    path = tmp_path / "names.params"
    mx.nd.save(str(path), data)
    loaded = mx.nd.load(str(path))
    assert list(loaded) == names
    for n in names:
        assert_bit_identical(loaded[n], data[n].asnumpy(), n)
    # the names are stored as UTF-8 byte strings with their byte length
    raw = path.read_bytes()
    for n in names:
        b = n.encode("utf-8")
        assert struct.pack("<Q", len(b)) + b in raw


def test_round_trip_many_arrays(tmp_path):
    data = {f"p{i:04d}": nd(np.full((i % 5 + 1,), i, np.int32)) for i in range(1000)}
    path = tmp_path / "many.params"
    mx.nd.save(str(path), data)
    loaded = mx.nd.load(str(path))
    assert list(loaded) == list(data)
    assert all(loaded[k].asnumpy().tolist() == [i] * (i % 5 + 1) for i, k in enumerate(loaded))


def test_round_trip_through_pathlike_and_frombuffer(tmp_path):
    x = sample("float64", (4, 4))
    path = tmp_path / "p.params"
    mx.nd.save(path, {"x": nd(x)})
    assert_bit_identical(mx.nd.load(path)["x"], x)
    assert_bit_identical(mx.nd.load_frombuffer(path.read_bytes())["x"], x)


def test_loaded_arrays_are_usable_and_writable(tmp_path):
    path = tmp_path / "w.params"
    mx.nd.save(str(path), [nd(np.arange(6, dtype=np.float32).reshape(2, 3))])
    (a,) = mx.nd.load(str(path))
    b = a * 2 + 1
    a[0, 0] = 100
    assert b.asnumpy().tolist() == [[1, 3, 5], [7, 9, 11]]
    assert a.asnumpy().tolist() == [[100, 1, 2], [3, 4, 5]]
