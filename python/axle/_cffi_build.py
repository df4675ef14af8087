"""Generates the cffi (API mode, out-of-line) C source for axle._axle_cffi from include/axle.h.

Usage: python _cffi_build.py path/to/axle.h out.c

The cdef is the header itself with preprocessor lines, the export macro and the C++ guard
removed, so the binding cannot drift from the header.
"""
import re
import sys

import cffi

# Helpers compiled into the extension module (they need Python's C API, which libaxle never links).
EXTRA_C = r"""
#include <Python.h>
typedef struct { void *data; int32_t device_type, device_id, ndim; uint8_t code, bits; uint16_t lanes;
                 int64_t *shape, *strides; uint64_t byte_offset; void *manager_ctx;
                 void (*deleter)(void *self); } ax_dlpack_managed_view;
/* Capsule destructor for DLPack capsules Axle hands out: frees the tensor unless a consumer
   took it (then the capsule was renamed "used_dltensor"). */
typedef struct { uint32_t major, minor; void *manager_ctx; void (*deleter)(void *self); } ax_dlpack_versioned_head;
static void ax_dlpack_versioned_capsule_destructor(void *capsule) {
  PyObject *cap = (PyObject *)capsule;
  if (PyCapsule_IsValid(cap, "dltensor_versioned")) {
    ax_dlpack_versioned_head *t = (ax_dlpack_versioned_head *)PyCapsule_GetPointer(cap, "dltensor_versioned");
    if (t && t->deleter) t->deleter(t);
  } else {
    PyErr_Clear();
  }
}
static void ax_dlpack_capsule_destructor(void *capsule) {
  PyObject *cap = (PyObject *)capsule;
  if (PyCapsule_IsValid(cap, "dltensor")) {
    ax_dlpack_managed_view *t = (ax_dlpack_managed_view *)PyCapsule_GetPointer(cap, "dltensor");
    if (t && t->deleter) t->deleter(t);
  } else {
    PyErr_Clear();
  }
}
"""

EXTRA_CDEF = ("void ax_dlpack_capsule_destructor(void *capsule);\n"
              "void ax_dlpack_versioned_capsule_destructor(void *capsule);\n")


def header_to_cdef(text):
    """The header as cffi's cdef: comments, preprocessor lines (but the version macros), the
    export macro and the extern "C" guard removed."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = []
    for line in text.splitlines():
        s = line.strip()
        m = re.match(r"#\s*define\s+(AX_VERSION_\w+)\s+(\d+)$", s)
        if m:
            out.append(f"#define {m.group(1)} {m.group(2)}")
        elif not s.startswith("#") and s not in ('extern "C" {', "}"):
            out.append(re.sub(r"\bAX_API\b\s*", "", line))
    return "\n".join(out)


def make_builder(header_path):
    with open(header_path) as f:
        cdef = header_to_cdef(f.read())
    ffi = cffi.FFI()
    ffi.cdef(cdef + EXTRA_CDEF)
    ffi.set_source("axle._axle_cffi", '#include "axle.h"\n' + EXTRA_C)
    return ffi


if __name__ == "__main__":
    header, out = sys.argv[1], sys.argv[2]
    make_builder(header).emit_c_code(out)
