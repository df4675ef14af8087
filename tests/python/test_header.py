"""The public header and the Python binding stay in step."""
import os
import re
import shutil
import subprocess

import pytest

from axle._lib import ffi, lib

HEADER = os.path.join(os.path.dirname(__file__), "..", "..", "include", "axle.h")


def header_functions():
    text = re.sub(r"/\*.*?\*/", "", open(HEADER).read(), flags=re.S)
    return re.findall(r"AX_API\s+[\w\s\*]+?\b(Ax\w+)\s*\(", text)


def test_every_header_function_is_bound():
    names = header_functions()
    assert len(names) >= 25, names
    missing = [n for n in names if not hasattr(lib, n)]
    assert not missing, f"functions in axle.h missing from the cffi module: {missing}"


def test_names_use_the_prefix():
    for n in header_functions():
        assert re.match(r"Ax[A-Z]", n), n


def test_version_macros_match_library():
    v = ffi.new("int[3]")
    assert lib.AxGetVersion(v, v + 1, v + 2) == 0
    assert (v[0], v[1], v[2]) == (lib.AX_VERSION_MAJOR, lib.AX_VERSION_MINOR, lib.AX_VERSION_PATCH)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not available")
@pytest.mark.parametrize("std", ["c99", "c11"])
def test_header_compiles_alone_as_c(std):
    r = subprocess.run(["gcc", f"-std={std}", "-Wall", "-Wextra", "-pedantic", "-Werror", "-fsyntax-only",
                        "-x", "c", HEADER], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not available")
def test_header_compiles_as_cpp():
    r = subprocess.run(["g++", "-std=c++11", "-Wall", "-Werror", "-fsyntax-only", "-x", "c++", HEADER],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_errors_map_to_python_exceptions():
    import axle as mx
    with pytest.raises(mx.MXNetError, match="no operator named 'no_such_op'"):
        from axle.ndarray._op import op_handle
        op_handle("no_such_op")
