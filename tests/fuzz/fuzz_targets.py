#!/usr/bin/env python3
"""Fuzz targets for Axle's loaders and parsers (atheris, https://github.com/google/atheris):

  symbol_json   the symbol JSON loader (axle.sym.load_json -> AxSymbolCreateFromJSON), then
                listing, shape inference and tojson of whatever loads
  params        the .params loader (axle.nd.load_frombuffer -> AxNDArrayLoadFromBuffer)
  attrs         the op attribute parser: a random op, attribute names and string values
                (axle.sym op constructors -> ParseAttrs), then inference on the node
  idx           the MNIST IDX reader (axle.io.mnist.read_idx), plain and gzipped

A target passes an input when Axle returns a value or raises one of its own exceptions
(AxleError and its ValueError/TypeError/OSError subclasses, or ValueError from the Python
readers); anything else -- a crash, a hang, another exception type -- is a finding.

  python tests/fuzz/fuzz_targets.py symbol_json -atheris_runs=1000000 tests/fuzz/corpus/symbol_json
  python tests/fuzz/fuzz_targets.py all --runs 2000         # the short run of the test command

Without clang's libFuzzer instrumentation of the C++ core, atheris' coverage feedback covers the
Python layer only; the mutations still reach the C++ parsers through it.
"""
import atexit
import gzip
import io
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

import axle as mx  # noqa: E402
from axle.io.mnist import read_idx  # noqa: E402

_OPS = sorted(n for n in mx.nd.list_ops() if not n.startswith("_backward"))
_TMP = os.path.join(tempfile.gettempdir(), f"axle-fuzz-{os.getpid()}.idx")  # fuzz_idx's file


def _remove_tmp():
    try:
        os.remove(_TMP)
    except FileNotFoundError:
        pass


atexit.register(_remove_tmp)  # atheris runs end in sys.exit


def _expected(e):
    return isinstance(e, (mx.AxleError, ValueError, TypeError, OSError, EOFError))


def fuzz_symbol_json(data):
    try:
        s = mx.sym.load_json(data.decode("utf-8", "replace"))
    except Exception as e:
        if _expected(e):
            return
        raise
    try:
        s.list_arguments()
        s.list_outputs()
        s.list_auxiliary_states()
        s.infer_shape_partial()
        s.infer_type_partial()
        mx.sym.load_json(s.tojson())
        s.get_internals().list_outputs()
    except Exception as e:
        if not _expected(e):
            raise


def fuzz_params(data):
    try:
        out = mx.nd.load_frombuffer(data)
    except Exception as e:
        if _expected(e):
            return
        raise
    arrays = out.values() if isinstance(out, dict) else out
    for a in arrays:
        a.asnumpy()


def fuzz_attrs(data):
    if len(data) < 2:
        return
    op = _OPS[data[0] % len(_OPS)]
    text = data[1:].decode("utf-8", "replace")
    attrs = {}
    for part in text.split(";")[:6]:
        k, _, v = part.partition("=")
        if k.isidentifier():
            attrs[k] = v
    try:
        fn = getattr(mx.sym, op)
        x = mx.sym.Variable("x")
        s = fn(x, **attrs) if op not in ("add_n", "ElementWiseSum", "Concat", "concat", "stack") else fn(x, x, **attrs)
        s.infer_shape_partial(x=(2, 3, 4, 5))
    except Exception as e:
        if not _expected(e):
            raise


def fuzz_idx(data):
    for payload in (data, gzip.compress(data)):
        with open(_TMP, "wb") as f:
            f.write(payload)
        for ndim in (None, 1, 3):
            try:
                read_idx(_TMP, ndim)
            except Exception as e:
                if not _expected(e):
                    raise


TARGETS = {"symbol_json": fuzz_symbol_json, "params": fuzz_params, "attrs": fuzz_attrs, "idx": fuzz_idx}


def corpus_inputs(name):
    d = os.path.join(CORPUS, name)
    for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        with open(os.path.join(d, f), "rb") as fh:
            yield fh.read()


def quick(runs, seed=0):
    """Deterministic mutation run without atheris (the test command's short pass): every corpus
    input, then `runs` byte-level mutations of them per target."""
    import random
    rnd = random.Random(seed)
    try:
        _quick(rnd, runs)
    finally:
        _remove_tmp()


def _quick(rnd, runs):
    for name, fn in TARGETS.items():
        seeds = list(corpus_inputs(name)) or [b""]
        for s in seeds:
            fn(s)
        for _ in range(runs):
            b = bytearray(rnd.choice(seeds))
            for _ in range(rnd.randint(1, 8)):
                op = rnd.randint(0, 3)
                pos = rnd.randint(0, max(len(b) - 1, 0))
                if op == 0 and b:
                    b[pos] = rnd.randint(0, 255)
                elif op == 1:
                    b[pos:pos] = bytes([rnd.randint(0, 255)] * rnd.randint(1, 4))
                elif op == 2 and b:
                    del b[pos:pos + rnd.randint(1, 16)]
                else:
                    b = b[:pos]
            fn(bytes(b))
        print(f"{name}: {len(seeds)} corpus inputs + {runs} mutations, no finding")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "all":
        runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 2000
        quick(runs)
        return
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(TARGETS)}|all}} [atheris/libFuzzer flags] [corpus dir]")
    import atheris
    target = TARGETS[sys.argv[1]]
    atheris.instrument_all()  # coverage feedback from the Python layer (the C++ core is not instrumented)
    atheris.Setup([sys.argv[0]] + sys.argv[2:], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
