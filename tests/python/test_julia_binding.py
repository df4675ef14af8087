"""The Julia binding (bindings_julia/) checked against include/axle.h, without Julia.

Every `ccall` in bindings_julia/src is read from the source and checked against the prototype of
its function in axle.h: the function exists, the number of argument types equals the number of
parameters (and of values passed), and each Julia type is the one the table below gives for the
C type. Calls whose C function returns a status (int) must be wrapped in `@check`; others must not.
A binding that drifts from the header fails here. The Julia tests themselves (bindings_julia/test)
run wherever Julia is installed (tests/run_all.sh).

The type table (also in bindings_julia/README.md); `const` is ignored, names are exact:

    C                           Julia
    int                         Cint
    int64_t                     Int64
    size_t                      Csize_t
    void (return)               Cvoid
    Ax*Handle (opaque pointer)  Ptr{Cvoid}
    const char * (a string)     Cstring or Ptr{UInt8}
    void *, const void *        Ptr{Cvoid}
    T * (any other pointer)     Ptr{J} or Ref{J}, J the Julia type of T (recursively:
                                AxNDArrayHandle ** is Ptr{Ptr{Ptr{Cvoid}}}, const char *** is
                                Ptr{Ptr{Ptr{UInt8}}} or Ptr{Ptr{Cstring}})
    return types                as above, without Ref

Also checked: the block structure of every .jl file balances (a sanity check of `end`s, not a
Julia parser), the constants the binding copies from axle.h have the header's values, and every
header function is either called by the binding or listed in NOT_BOUND with a reason.
"""
import os
import re
from dataclasses import dataclass

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
HEADER = os.path.join(ROOT, "include", "axle.h")
JULIA = os.path.join(ROOT, "bindings_julia")
JULIA_SRC = os.path.join(JULIA, "src")

# Header functions the binding does not call, and why.
NOT_BOUND = {
    "AxNDArrayFromDLPack": "Julia -> core zero-copy would hand the core a deleter that releases a Julia "
                           "object from an engine thread; NDArray(a) copies once instead",
    "AxNDArrayFromDLPackVersioned": "as AxNDArrayFromDLPack",
    "AxNDArrayToDLPackVersioned": "unsafe_wrap uses the unversioned AxNDArrayToDLPack",
    "AxNDArrayToDLPackForStream": "the binding shares host memory only (no consumer GPU streams)",
}

# What the binding must call for the features of issue #8 (every one of them, somewhere in src).
REQUIRED = {
    "errors and versions": ["AxGetLastError", "AxGetVersion"],
    "leak accounting": ["AxGetLiveHandleCount", "AxStorageGetStats", "AxEngineWaitAll"],
    "NDArrays to and from Julia arrays": ["AxNDArrayCreate", "AxNDArrayFree", "AxNDArrayGetShape",
                                          "AxNDArrayGetDType", "AxNDArraySyncCopyFromCPU",
                                          "AxNDArraySyncCopyToCPU"],
    "zero-copy": ["AxNDArrayToDLPack"],
    "op functions from the registry": ["AxListOps", "AxGetOpHandle", "AxOpGetInfo", "AxImperativeInvoke",
                                       "AxSymbolCreateOp"],
    "symbols": ["AxSymbolCreateVariable", "AxSymbolFree", "AxSymbolListNames", "AxSymbolGroup",
                "AxSymbolCreateFromJSON", "AxSymbolCreateFromFile", "AxSymbolSaveToJSON", "AxSymbolInferShape"],
    "executors": ["AxExecutorBind", "AxExecutorForward", "AxExecutorBackward", "AxExecutorOutputs",
                  "AxExecutorFree"],
    ".params save/load": ["AxNDArraySave", "AxNDArrayLoad"],
    "conformance cases (seed)": ["AxRandomSeed"],
}

# ccall targets that are not axle.h functions: (return type, argument types).
JULIA_RUNTIME = {"jl_generating_output": ("Cint", [])}
FUNCTION_POINTERS = {"deleter": ("Cvoid", ["Ptr{Cvoid}"])}  # DLPack's void (*deleter)(DLManagedTensor *)


# ---- the C side --------------------------------------------------------------------------------
@dataclass(frozen=True)
class CType:
    base: str   # int, int64_t, size_t, void, char or an Ax*Handle typedef
    depth: int  # number of '*'

    def __str__(self):
        return self.base + " " + "*" * self.depth if self.depth else self.base


@dataclass
class Proto:
    name: str
    ret: CType
    params: list  # of (CType, parameter name)


C_SCALARS = {"int": "Cint", "int64_t": "Int64", "size_t": "Csize_t", "void": "Cvoid"}
HANDLE_RE = re.compile(r"^Ax\w*Handle$")


def _c_type(text, named):
    toks = [t for t in re.findall(r"\w+|\*", text) if t != "const"]
    if named:
        if len(toks) < 2 or not re.match(r"^\w+$", toks[-1]):
            raise ValueError(f"cannot read the parameter {text!r}")
        toks = toks[:-1]
    idents = [t for t in toks if t != "*"]
    if len(idents) != 1 or toks[0] != idents[0]:
        raise ValueError(f"cannot read the C type {text!r}")
    return CType(idents[0], toks.count("*"))


def parse_header(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    protos = {}
    for m in re.finditer(r"AX_API\s+([^;(]*?)\b(Ax\w+)\s*\(([^;]*?)\)\s*;", text, flags=re.S):
        ret, name, params = m.group(1), m.group(2), m.group(3).strip()
        if "(" in params:
            raise ValueError(f"{name}: function-pointer parameters are not in the type table")
        plist = [] if params in ("", "void") else [p.strip() for p in params.split(",")]
        parsed = []
        for p in plist:
            toks = [t for t in re.findall(r"\w+|\*", p) if t != "const"]
            parsed.append((_c_type(p, named=True), toks[-1]))
        protos[name] = Proto(name, _c_type(ret, named=False), parsed)
    return protos


def julia_types(t, for_return=False):
    """The Julia spellings the table allows for C type t."""
    if t.depth == 0:
        if t.base in C_SCALARS:
            return {C_SCALARS[t.base]}
        if HANDLE_RE.match(t.base):
            return {"Ptr{Cvoid}"}
        raise ValueError(f"C type {t} is not in the type table")
    if t.depth == 1 and t.base == "char":
        return {"Cstring", "Ptr{UInt8}"}
    if t.depth == 1 and t.base == "void":
        return {"Ptr{Cvoid}"}
    inner = julia_types(CType(t.base, t.depth - 1))
    out = {f"Ptr{{{j}}}" for j in inner}
    if not for_return:
        out |= {f"Ref{{{j}}}" for j in inner}
    return out


# ---- the Julia side: a lexer that blanks comments and string contents ------------------------------
class JuliaSyntaxError(ValueError):
    pass


def _scan_string(src, i, delim, out):
    """i: just after the opening delimiter. Blanks the contents (an interpolation $(...) is code
    and may hold strings of its own). Returns the index after the closing delimiter."""
    n = len(src)
    start = i
    while i < n:
        if src[i] == "\\":
            i += 2
            continue
        if src.startswith(delim, i):
            _blank(out, start, i)
            return i + len(delim)
        if src[i] == "$" and i + 1 < n and src[i + 1] == "(":
            i = _scan_code(src, i + 2, out, closing=")")
            continue
        i += 1
    raise JuliaSyntaxError(f"unterminated string starting at offset {start}")


def _blank(out, a, b):
    for k in range(a, b):
        if out[k] != "\n":
            out[k] = " "


def _char_literal_end(src, i):
    """i at a quote that starts a character literal: the index after its closing quote, or None."""
    if i + 1 < len(src) and src[i + 1] == "\\":
        j = src.find("'", i + 3)
        return j + 1 if j > 0 else None
    return i + 3 if i + 2 < len(src) and src[i + 2] == "'" else None


def _scan_code(src, i, out, closing=None):
    """Scans code from i, blanking comments and string contents in out, until the bracket that
    closes the one before i (closing) or the end of the text. Returns the index after it."""
    n = len(src)
    depth = 0
    while i < n:
        c = src[i]
        if src.startswith("#=", i):
            level, j = 1, i + 2
            while j < n and level:
                if src.startswith("#=", j):
                    level, j = level + 1, j + 2
                elif src.startswith("=#", j):
                    level, j = level - 1, j + 2
                else:
                    j += 1
            if level:
                raise JuliaSyntaxError(f"unterminated #= comment at offset {i}")
            _blank(out, i, j)
            i = j
        elif c == "#":
            j = src.find("\n", i)
            j = n if j < 0 else j
            _blank(out, i, j)
            i = j
        elif src.startswith('"""', i):
            i = _scan_string(src, i + 3, '"""', out)
        elif c == '"':
            i = _scan_string(src, i + 1, '"', out)
        elif c == "`":
            i = _scan_string(src, i + 1, "`", out)
        elif c == "'":
            prev = src[i - 1] if i > 0 else " "
            end = None if (prev.isalnum() or prev in "_)]}'.") else _char_literal_end(src, i)
            if end is not None:
                _blank(out, i + 1, end - 1)
                i = end
            else:
                i += 1  # the adjoint operator
        elif c in "([{":
            depth += 1
            i += 1
        elif c in ")]}":
            if depth == 0 and closing is not None:
                return i + 1
            depth -= 1
            i += 1
        else:
            i += 1
    if closing is not None:
        raise JuliaSyntaxError("unterminated string interpolation")
    return i


def mask_julia(src):
    """The source with comments and string contents blanked (lengths and newlines kept)."""
    out = list(src)
    _scan_code(src, 0, out)
    return "".join(out)


def _matching(text, open_at):
    """Index of the bracket closing the one at open_at (in masked text)."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack = []
    for k in range(open_at, len(text)):
        c = text[k]
        if c in pairs:
            stack.append(pairs[c])
        elif c in ")]}":
            if not stack or stack.pop() != c:
                raise JuliaSyntaxError(f"unbalanced {c!r} at offset {k}")
            if not stack:
                return k
    raise JuliaSyntaxError(f"unclosed bracket at offset {open_at}")


def _split_top(text):
    """Splits at commas outside brackets."""
    parts, depth, start = [], 0, 0
    for k, c in enumerate(text):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:k])
            start = k + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


@dataclass
class CCall:
    file: str
    line: int
    target: str     # the first argument as written
    ret: str
    types: object   # list of Julia types, or an error string
    nvalues: int
    checked: bool   # written as `@check ccall(...)`


def find_ccalls(src, file="<text>"):
    """(ccalls, problems): every ccall in a Julia source; problems for @ccall and unreadable calls."""
    text = mask_julia(src)
    calls, problems = [], []
    for m in re.finditer(r"@ccall\b", text):
        problems.append(f"{file}:{text.count(chr(10), 0, m.start()) + 1}: @ccall: write ccall((:AxName, libaxle()), ...)")
    for m in re.finditer(r"(?<![\w@.!])ccall\s*\(", text):
        line = text.count("\n", 0, m.start()) + 1
        close = _matching(text, m.end() - 1)
        args = _split_top(text[m.end():close])
        if len(args) < 3:
            problems.append(f"{file}:{line}: ccall with fewer than 3 arguments")
            continue
        tuple_text = args[2]
        if not (tuple_text.startswith("(") and tuple_text.endswith(")")
                and _matching(tuple_text, 0) == len(tuple_text) - 1):
            types = "the argument types are not a literal tuple"
        else:
            inner = tuple_text[1:-1].strip()
            if not inner:
                types = []
            else:
                parts = _split_top(inner)
                if parts[-1] == "":
                    types = [re.sub(r"\s+", "", p) for p in parts[:-1]]
                elif len(parts) == 1:
                    types = f"{tuple_text} is not a tuple: one type needs a trailing comma, ({parts[0]},)"
                else:
                    types = [re.sub(r"\s+", "", p) for p in parts]
        checked = re.search(r"@check\s*$", text[:m.start()]) is not None
        calls.append(CCall(file, line, re.sub(r"\s+", "", args[0]), re.sub(r"\s+", "", args[1]), types,
                           len(args) - 3, checked))
    return calls, problems


def check_ccalls(calls, protos):
    """Problems of ccalls against the prototypes (an empty list when all agree)."""
    problems = []
    for c in calls:
        where = f"{c.file}:{c.line}"
        if isinstance(c.types, str):
            problems.append(f"{where}: {c.types}")
            continue
        m = re.fullmatch(r"\(:(\w+),libaxle\(\)\)", c.target)
        if m is None:
            runtime = re.fullmatch(r":(\w+)", c.target)
            if runtime and runtime.group(1) in JULIA_RUNTIME:
                expected = JULIA_RUNTIME[runtime.group(1)]
            elif c.target in FUNCTION_POINTERS:
                expected = FUNCTION_POINTERS[c.target]
            else:
                problems.append(f"{where}: ccall target {c.target} is not (:AxName, libaxle())")
                continue
            if (c.ret, c.types) != expected:
                problems.append(f"{where}: {c.target} must be called as {expected}, not {(c.ret, c.types)}")
            if c.nvalues != len(c.types):
                problems.append(f"{where}: {len(c.types)} argument types but {c.nvalues} values")
            continue
        name = m.group(1)
        proto = protos.get(name)
        if proto is None:
            problems.append(f"{where}: {name} is not a function of axle.h")
            continue
        if len(c.types) != len(proto.params):
            problems.append(f"{where}: {name} takes {len(proto.params)} arguments, the ccall gives {len(c.types)} types")
        if c.nvalues != len(c.types):
            problems.append(f"{where}: {name}: {len(c.types)} argument types but {c.nvalues} values")
        allowed = julia_types(proto.ret, for_return=True)
        if c.ret not in allowed:
            problems.append(f"{where}: {name} returns {proto.ret}: Julia type {' or '.join(sorted(allowed))}, not {c.ret}")
        for k, (jt, (ct, pname)) in enumerate(zip(c.types, proto.params)):
            allowed = julia_types(ct)
            if jt not in allowed:
                problems.append(f"{where}: {name} argument {k + 1} ({pname}) is {ct}: Julia type "
                                f"{' or '.join(sorted(allowed))}, not {jt}")
        returns_status = proto.ret == CType("int", 0)
        if returns_status and not c.checked:
            problems.append(f"{where}: {name} returns a status: write @check ccall(...)")
        if not returns_status and c.checked:
            problems.append(f"{where}: {name} returns {proto.ret}, not a status: no @check")
    return problems


# ---- the Julia side: block balance (a sanity check, not a parser) -----------------------------------
_OPENERS = {"function", "macro", "module", "baremodule", "struct", "quote", "let", "begin", "while", "for", "if",
            "try", "do", "abstract", "primitive"}


def block_problems(src, file="<text>"):
    """Checks that block keywords and `end`s, and brackets, pair up: a keyword opens a block
    unless it is `for`/`if` inside brackets (comprehensions) or `begin` inside [] (an index),
    `end` inside brackets is an index, `abstract`/`primitive` open only before `type`."""
    text = mask_julia(src)
    tokens = re.finditer(r"[A-Za-z_][A-Za-z_0-9!]*|[()\[\]{}]|:(?=[A-Za-z_])", text)
    stack = []  # (token, line)
    pairs = {")": "(", "]": "[", "}": "{"}
    quoted = False
    for m in tokens:
        tok = m.group(0)
        line = text.count("\n", 0, m.start()) + 1
        if tok == ":":
            prev = text[m.start() - 1] if m.start() else " "
            quoted = not (prev.isalnum() or prev in "_)]}")  # `:end` is a symbol, `a:end` a range
            continue
        was_quoted, quoted = quoted, False
        top = stack[-1][0] if stack else None
        if tok in "([{":
            stack.append((tok, line))
        elif tok in ")]}":
            if top != pairs[tok]:
                return [f"{file}:{line}: {tok!r} closes {top!r}"]
            stack.pop()
        elif was_quoted:
            continue
        elif tok == "end":
            if top in ("(", "["):
                continue  # an index: x[end]
            if top is None or top == "{":
                return [f"{file}:{line}: 'end' without a block to close"]
            stack.pop()
        elif tok in _OPENERS:
            if top in ("(", "[", "{") and tok in ("for", "if"):
                continue
            if top == "[" and tok == "begin":
                continue
            if tok in ("abstract", "primitive") and not re.match(r"\s+type\b", text[m.end():]):
                continue
            stack.append((tok, line))
    if stack:
        tok, line = stack[-1]
        return [f"{file}:{line}: {tok!r} is never closed"]
    return []


# ---- the Julia side: definition order (types a signature names exist by then) ---------------------------
def _signature_part(line):
    """The part of a top-level line that Julia evaluates when it defines it: a short-form
    method's signature (before its `=`), a long form's first line, a const or a field."""
    depth = 0
    for k, c in enumerate(line):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "=" and depth == 0 and line[k - 1:k] == " " and line[k + 1:k + 2] == " ":
            return line if line.startswith("const ") else line[:k]
    return line


def order_problems(files):
    """files: (name, source) in include order. A type defined in these files (struct, abstract
    type, a const alias) must be defined before a top-level line names it outside a method body
    (signatures, struct fields, consts are evaluated when the file loads)."""
    defined = {}  # type name -> (file index, line)
    texts = [(name, mask_julia(src).splitlines()) for name, src in files]
    for fi, (name, lines) in enumerate(texts):
        for li, line in enumerate(lines, 1):
            m = re.match(r"^(?:mutable\s+)?struct\s+(\w+)|^abstract\s+type\s+(\w+)|^const\s+(\w+)\s*=\s*Union\{", line)
            if m:
                defined[next(g for g in m.groups() if g)] = (fi, li)
    problems = []
    for fi, (name, lines) in enumerate(texts):
        in_struct = False
        for li, line in enumerate(lines, 1):
            if re.match(r"^(?:mutable\s+)?struct\b", line):
                in_struct = True
            elif in_struct and line.startswith("end"):
                in_struct = False
            top = re.match(r"^(function\s+|const\s+|(?:mutable\s+)?struct\s+|[A-Za-z_][\w.!]*(?:\{[^}]*\})?\()", line)
            field = in_struct and re.match(r"^\s+\w+::", line)
            if not (top or field):
                continue
            for t in re.findall(r"\b[A-Za-z_]\w*\b", _signature_part(line)):
                if t in defined and defined[t] > (fi, li):
                    problems.append(f"{name}:{li} names {t}, which {files[defined[t][0]][0]}:{defined[t][1]} "
                                    f"defines later")
    return problems


# ---- helpers ------------------------------------------------------------------------------------------
def julia_files(folder):
    out = []
    for d, _, files in os.walk(folder):
        out += [os.path.join(d, f) for f in sorted(files) if f.endswith(".jl")]
    return sorted(out)


def binding_ccalls():
    calls, problems = [], []
    for path in julia_files(JULIA_SRC):
        c, p = find_ccalls(open(path, encoding="utf-8").read(), os.path.relpath(path, ROOT))
        calls += c
        problems += p
    return calls, problems


@pytest.fixture(scope="module")
def protos():
    return parse_header(open(HEADER).read())


def check_text(src, protos):
    calls, problems = find_ccalls(src)
    return calls, problems + check_ccalls(calls, protos)


# ---- the binding against the header -------------------------------------------------------------------
def test_header_reads_completely(protos):
    text = re.sub(r"/\*.*?\*/", " ", open(HEADER).read(), flags=re.S)
    assert len(protos) == len(re.findall(r"^AX_API\s", text, flags=re.M)) >= 60
    for p in protos.values():  # every C type of the header is in the table
        julia_types(p.ret, for_return=True)
        for t, _ in p.params:
            julia_types(t)


def test_every_ccall_matches_the_header(protos):
    calls, problems = binding_ccalls()
    problems += check_ccalls(calls, protos)
    assert len(calls) >= 60, f"only {len(calls)} ccalls found in {JULIA_SRC}"
    assert not problems, "\n".join(problems)


def test_every_header_function_is_bound_or_listed(protos):
    calls, _ = binding_ccalls()
    bound = {m.group(1) for c in calls for m in [re.fullmatch(r"\(:(\w+),libaxle\(\)\)", c.target)] if m}
    missing = sorted(set(protos) - bound - set(NOT_BOUND))
    assert not missing, f"axle.h functions the Julia binding neither calls nor lists in NOT_BOUND: {missing}"
    stale = sorted(n for n in NOT_BOUND if n not in protos or n in bound)
    assert not stale, f"NOT_BOUND entries that are bound or not in axle.h: {stale}"


def test_features_of_the_issue_are_covered(protos):
    calls, _ = binding_ccalls()
    bound = {m.group(1) for c in calls for m in [re.fullmatch(r"\(:(\w+),libaxle\(\)\)", c.target)] if m}
    for feature, names in REQUIRED.items():
        assert all(n in protos for n in names), f"{feature}: {[n for n in names if n not in protos]} not in axle.h"
        missing = [n for n in names if n not in bound]
        assert not missing, f"{feature}: the binding never calls {missing}"


def test_copied_constants_match_the_header():
    header = open(HEADER).read()
    values = {m.group(1): int(m.group(2)) for m in re.finditer(r"\b(AX_\w+)\s*=\s*(\d+)", header)}
    values.update({m.group(1): int(m.group(2)) for m in re.finditer(r"#define\s+(AX_VERSION_\w+)\s+(\d+)", header)})
    src = "".join(open(p).read() for p in julia_files(JULIA_SRC))
    copied = re.findall(r"^const\s+(AX_\w+)\s*=\s*(\d+)", src, flags=re.M)
    assert len(copied) >= 6
    for name, value in copied:
        assert name in values, f"{name} is not in axle.h"
        assert values[name] == int(value), f"{name} is {value} in the binding, {values[name]} in axle.h"
    # the dtype tables are indexed by AxDType code
    dtypes = re.search(r"typedef enum \{([^}]*)\} AxDType;", header).group(1)
    order = [n.lower() for n, _ in sorted(re.findall(r"AX_(\w+)\s*=\s*(\d+)", dtypes), key=lambda x: int(x[1]))]
    names = re.search(r"const _DTYPE_NAMES = \((.*?)\)", src, flags=re.S).group(1)
    assert re.findall(r'"(\w+)"', names) == order
    jtypes = re.search(r"const _DTYPES = \((.*?)\)", src, flags=re.S).group(1)
    assert [t.strip() for t in jtypes.split(",")] == ["Float32", "Float64", "Float16", "UInt8", "Int32", "Int8",
                                                      "Int64", "Bool"][:len(order)]


@pytest.mark.parametrize("path", julia_files(JULIA), ids=lambda p: os.path.relpath(p, JULIA))
def test_julia_blocks_balance(path):
    assert not block_problems(open(path, encoding="utf-8").read(), os.path.relpath(path, ROOT))


def test_julia_types_are_defined_before_signatures_name_them():
    main = open(os.path.join(JULIA_SRC, "Axle.jl")).read()
    order = ["Axle.jl"] + re.findall(r'^include\("([\w.]+)"\)', main, flags=re.M)
    assert sorted(order) == sorted(os.path.basename(p) for p in julia_files(JULIA_SRC))
    files = [(f, open(os.path.join(JULIA_SRC, f)).read()) for f in order]
    assert not order_problems(files)


def test_definition_order_check_can_fail():
    a = "const U = Union{A,B}\nf(x::U) = 1\n"
    b = "struct B\n    a::A\nend\ng(x) = B(x)  # a body may name anything\n"
    c = "struct A\nend\n"
    problems = order_problems([("a.jl", a), ("b.jl", b), ("c.jl", c)])
    assert problems == ["a.jl:1 names A, which c.jl:1 defines later",
                        "a.jl:1 names B, which b.jl:1 defines later",
                        "b.jl:2 names A, which c.jl:1 defines later"]
    assert order_problems([("c.jl", c), ("b.jl", b), ("a.jl", a)]) == []


def test_skip_list_for_the_julia_runner_exists():
    path = os.path.join(ROOT, "tests", "conformance", "skips", "julia.txt")
    lines = [ln for ln in open(path).read().splitlines() if ln.strip() and not ln.startswith("#")]
    assert all(" " in ln for ln in lines), "each skip: a glob, a space, the reason"


# ---- the checker itself: it must catch what it claims to catch ----------------------------------------
GOOD = '''
function f(x)
    n = Ref{Cint}(0)
    # ccall((:NoSuchFunction, libaxle()), Cint, ()) in a comment is not a call
    s = "ccall((:NoSuchFunction, libaxle()), Cint, ()) in a string, $(join(["a", "b"], ", ")) neither"
    @check ccall((:AxNDArrayGetDType, libaxle()), Cint, (Ptr{Cvoid}, Ptr{Cint}), x, n)
    @check ccall((:AxEngineWaitAll, libaxle()), Cint, ())
    msg = unsafe_string(ccall((:AxGetLastError, libaxle()), Cstring, ()))
    ccall((:AxNDArrayFree, libaxle()), Cvoid, (Ptr{Cvoid},), x)
    @check ccall((:AxNDArrayLoad, libaxle()), Cint,
                 (Cstring, Ref{Cint}, Ptr{Ptr{Ptr{Cvoid}}}, Ptr{Cint}, Ptr{Ptr{Cstring}}),
                 "f.params", n, a, b, c)
    return x'
end
'''


def test_checker_accepts_a_correct_binding(protos):
    calls, problems = check_text(GOOD, protos)
    assert len(calls) == 5
    assert problems == []
    assert block_problems(GOOD) == []


@pytest.mark.parametrize("snippet, expected", [
    ("@check ccall((:AxNDArrayWaitToRead, libaxle()), Cint, (Ptr{Cvoid}, Cint), x, 1)",
     "AxNDArrayWaitToRead takes 1 arguments, the ccall gives 2 types"),
    ("@check ccall((:AxNDArrayGetDType, libaxle()), Cint, (Ptr{Cvoid}, Ptr{Int64}), x, code)",
     "AxNDArrayGetDType argument 2 (out_dtype) is int *: Julia type Ptr{Cint} or Ref{Cint}, not Ptr{Int64}"),
    ("@check ccall((:AxNDArrayCreate, libaxle()), Cint, (Ptr{Int64}, Cint, Cint, Cint, Cint, Ptr{Cvoid}), s, 2, 1, 0, 0, o)",
     "argument 6 (out) is AxNDArrayHandle *: Julia type Ptr{Ptr{Cvoid}} or Ref{Ptr{Cvoid}}, not Ptr{Cvoid}"),
    ("@check ccall((:AxNDArraySyncCopyToCPU, libaxle()), Cint, (Ptr{Cvoid}, Ptr{Cvoid}, Cint), x, a, n)",
     "argument 3 (nbytes) is size_t: Julia type Csize_t, not Cint"),
    ("@check ccall((:AxNDArrayFrobnicate, libaxle()), Cint, (Ptr{Cvoid},), x)",
     "AxNDArrayFrobnicate is not a function of axle.h"),
    ("unsafe_string(ccall((:AxGetLastError, libaxle()), Ptr{Cint}, ()))",
     "AxGetLastError returns char *: Julia type Cstring or Ptr{UInt8}, not Ptr{Cint}"),
    ("@check ccall((:AxNDArrayWaitToRead, libaxle()), Cint, (Ptr{Cvoid}), x)",
     "is not a tuple: one type needs a trailing comma"),
    ("@check ccall((:AxNDArrayGetDType, libaxle()), Cint, (Ptr{Cvoid}, Ptr{Cint}), x)",
     "2 argument types but 1 values"),
    ("ccall((:AxEngineWaitAll, libaxle()), Cint, ())",
     "AxEngineWaitAll returns a status: write @check ccall(...)"),
    ("@check ccall((:AxNDArrayFree, libaxle()), Cvoid, (Ptr{Cvoid},), x)",
     "AxNDArrayFree returns void, not a status: no @check"),
    ("@check ccall((:AxEngineWaitAll, \"libaxle\"), Cint, ())",
     "is not (:AxName, libaxle())"),
    ("@check @ccall libaxle.AxEngineWaitAll()::Cint", "@ccall: write ccall"),
    ("@check ccall((:AxGetVersion, libaxle()), Cint, (Ptr{Cint}, Ptr{Cint}, Ref{Cvoid}), a, b, c)",
     "argument 3 (patch) is int *: Julia type Ptr{Cint} or Ref{Cint}, not Ref{Cvoid}"),
    ("@check ccall((:AxSymbolListNames, libaxle()), Cint, (Ptr{Cvoid}, Cint, Ptr{Cint}, Ptr{Ptr{UInt8}}), s, 0, n, o)",
     "argument 4 (names) is char ***"),
    ("ccall(deleter, Cint, (Ptr{Cvoid},), t)", "deleter must be called as"),
    ("ccall(some_pointer, Cvoid, ())", "ccall target some_pointer is not (:AxName, libaxle())"),
])
def test_checker_reports_a_wrong_ccall(protos, snippet, expected):
    _, problems = check_text("function f(x)\n    " + snippet + "\nend\n", protos)
    assert any(expected in p for p in problems), problems


def test_checker_reports_the_line(protos):
    src = GOOD + "\n\n@check ccall((:AxEngineWaitAll, libaxle()), Cint, (Cint,), 1)\n"
    _, problems = check_text(src, protos)
    assert problems == [f"<text>:{GOOD.count(chr(10)) + 3}: AxEngineWaitAll takes 0 arguments, the ccall gives 1 types"]


@pytest.mark.parametrize("src, expected", [
    ("function f(x)\n    if x\n        1\n    end\n", "'function' is never closed"),
    ("function f(x)\n    x\nend\nend\n", "'end' without a block to close"),
    ("f(x) = g(x[end], [y for y in x if y > 0]\n", "'(' is never closed"),
    ("s = \"unterminated\nend\n", "unterminated string"),
])
def test_block_check_reports_imbalance(src, expected):
    try:
        problems = block_problems(src)
    except JuliaSyntaxError as e:
        problems = [str(e)]
    assert any(expected in p for p in problems), problems


def test_block_check_accepts_julia_forms():
    src = '''
module M
abstract type A end
mutable struct S <: A
    x::Int
end
f(v) = v[end] + v[begin] + sum(x for x in v if x > 0) + length([y for y in v])
g(d) = get(d, :end, :begin)
h() = map([1, 2]) do x
    try
        x'
    catch
        0
    finally
        nothing
    end
end
q = :(function k() end)
c = 'a'; e = '\\n'
let z = 1
    while z < 3
        z += 1
    end
end
#= a comment with end =#
end
'''
    assert block_problems(src) == []
