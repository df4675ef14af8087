# The raw layer: finding and loading libaxle, errors (@check), dtypes, devices, engine and storage.
#
# Every call into the core is a `ccall((:AxName, libaxle()), ...)`; tests/python/test_julia_binding.py
# checks each one against the prototype in include/axle.h (the type table is in README.md).

const AX_VERSION_MAJOR = 0  # the AX_VERSION_MAJOR of the axle.h this binding follows

const AX_CPU = 1
const AX_GPU = 2

const AX_GRAD_NULL = 0
const AX_GRAD_WRITE = 1
const AX_GRAD_ADD = 3

const AX_ERR_INVALID_ARGUMENT = 1
const AX_ERR_RUNTIME = 9
const _STATUS_NAMES = ("INVALID_ARGUMENT", "INVALID_HANDLE", "SHAPE", "TYPE", "INDEX", "IO",
                       "OUT_OF_MEMORY", "NOT_SUPPORTED", "RUNTIME")

# ---- errors -----------------------------------------------------------------------------------
"""
    AxleError(status, msg)

An error reported by the Axle core: `status` is the core's `AxStatus` code, `msg` its message
(`AxGetLastError()`), which names the op, the argument and the shapes.
"""
struct AxleError <: Exception
    status::Int
    msg::String
end
AxleError(msg::AbstractString) = AxleError(AX_ERR_RUNTIME, String(msg))

status_name(status::Integer) = 1 <= status <= length(_STATUS_NAMES) ? _STATUS_NAMES[status] : "status $status"

Base.showerror(io::IO, e::AxleError) = print(io, "AxleError (", status_name(e.status), "): ", e.msg)

"""The message of the last error on this thread ("" if none)."""
last_error() = unsafe_string(ccall((:AxGetLastError, libaxle()), Cstring, ()))

"""
    @check ccall(...)

Runs a call that returns an `AxStatus`; throws `AxleError` with the core's message unless it is 0.
"""
macro check(call)
    return quote
        local status = $(esc(call))
        status == 0 || throw(AxleError(Int(status), last_error()))
        nothing
    end
end

# ---- the library ------------------------------------------------------------------------------
const _LIB = Ref{String}("")

"""The path of the loaded Axle library (set when the module initialises)."""
libaxle() = _LIB[]

const _LIBNAME = Sys.iswindows() ? "axle.dll" : "libaxle." * Libdl.dlext

_generating_output() = ccall(:jl_generating_output, Cint, ()) != 0

# The directories of the Python package `axle` and of its compiled module (an editable install
# keeps the library beside the compiled module, not beside the sources).
function _python_package_dirs()
    python = get(ENV, "AXLE_PYTHON", "python3")
    script = """
        import importlib.util, os
        for name in ("axle", "axle._axle_cffi"):
            try:
                spec = importlib.util.find_spec(name)
                print(os.path.dirname(spec.origin) if spec is not None and spec.origin else "")
            except Exception:
                print("")
        """
    out = try
        read(pipeline(`$python -c $script`; stderr = devnull), String)
    catch
        ""
    end
    return [String(strip(line)) for line in split(out, '\n') if !isempty(strip(line))]
end

function _find_library()
    env = get(ENV, "AXLE_LIB", "")
    if !isempty(env)
        path = isdir(env) ? joinpath(env, _LIBNAME) : env
        isfile(path) || error("AXLE_LIB is \"$env\", but there is no Axle library at $path")
        return abspath(path)
    end
    for dir in _python_package_dirs()
        path = joinpath(dir, _LIBNAME)
        isfile(path) && return abspath(path)
    end
    error("cannot find $_LIBNAME: set ENV[\"AXLE_LIB\"] to the library or its directory, or install " *
          "the Python package (`pip install .` in the repository) so that `python3 -c \"import axle\"` works")
end

function _load_library()
    path = _find_library()
    Libdl.dlopen(path)  # a missing dependency is reported here, naming the file, not at the first call
    _LIB[] = path
    return path
end

"""
    Axle.version() -> VersionNumber

The version of the loaded library.
"""
function version()
    major = Ref{Cint}(0)
    minor = Ref{Cint}(0)
    patch = Ref{Cint}(0)
    @check ccall((:AxGetVersion, libaxle()), Cint, (Ptr{Cint}, Ptr{Cint}, Ptr{Cint}), major, minor, patch)
    return VersionNumber(major[], minor[], patch[])
end

function _check_version()
    v = version()
    v.major == AX_VERSION_MAJOR ||
        error("$(libaxle()) is Axle $v; this binding is written for major version $AX_VERSION_MAJOR")
    return v
end

# ---- handles -----------------------------------------------------------------------------------
# NDArray, SymbolicNode and Executor: a mutable struct holding the core's handle (C_NULL once
# freed), freed by a finalizer or earlier by `free!`. Passed to `ccall` as `Ptr{Cvoid}` directly,
# so that the object (and with it the handle) stays alive for the whole call.
abstract type AbstractHandle end

function _live_handle(x::AbstractHandle)
    h = x.handle
    h == C_NULL && throw(ArgumentError("this $(nameof(typeof(x))) has been freed"))
    return h
end

# A handle the core returned, checked; the object that owns it gets `free!` as its finalizer.
function _checked(h::Ptr{Cvoid}, what::String)
    h == C_NULL && throw(ArgumentError("$what: a null handle"))
    return h
end

# Clears x's handle and returns what it held (C_NULL when it was freed already).
function _take_handle!(x::AbstractHandle)
    h = x.handle
    x.handle = C_NULL
    return h
end

Base.cconvert(::Type{Ptr{Cvoid}}, x::AbstractHandle) = x
Base.unsafe_convert(::Type{Ptr{Cvoid}}, x::AbstractHandle) = _live_handle(x)

# The handles of several objects, for a `const Ax*Handle *` parameter (nothing -> NULL). The
# caller keeps the objects alive (GC.@preserve) while the core reads the vector.
_handles(xs) = Ptr{Cvoid}[x === nothing ? C_NULL : _live_handle(x) for x in xs]

"""
    free!(x)

Releases the core's handle of an `NDArray`, `SymbolicNode` or `Executor` now instead of when the
garbage collector finalizes `x`. Using `x` afterwards throws; freeing twice does nothing.
"""
function free! end

# What a call leaves in the core's borrowed thread-local storage is valid until the next call on
# the thread: read it with finalizers (which call into the core to free handles) held off.
function _borrowed(f)
    GC.enable_finalizers(false)
    try
        return f()
    finally
        GC.enable_finalizers(true)
    end
end

_string(p::Ptr{UInt8}) = p == C_NULL ? "" : unsafe_string(p)
_strings(p::Ptr{Ptr{UInt8}}, n::Integer) = String[_string(unsafe_load(p, i)) for i in 1:n]

# A string a call returns through a `const char **` (borrowed): `f(out)` makes the call.
function _out_string(f)
    out = Ref{Ptr{UInt8}}(C_NULL)
    return _borrowed() do
        f(out)
        _string(out[])
    end
end

# ---- dtypes ------------------------------------------------------------------------------------
const _DTYPES = (Float32, Float64, Float16, UInt8, Int32, Int8, Int64, Bool)  # AxDType code + 1
const _DTYPE_NAMES = ("float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool")

function dtype_of_code(code::Integer)
    0 <= code < length(_DTYPES) || throw(AxleError(AX_ERR_RUNTIME, "unknown dtype code $code"))
    return _DTYPES[code + 1]
end

function dtype_code(T::Type)
    i = findfirst(==(T), _DTYPES)
    i === nothing && throw(ArgumentError("Axle has no dtype for $T; it has $(join(_DTYPES, ", "))"))
    return i - 1
end

dtype_name(T::Type) = _DTYPE_NAMES[dtype_code(T) + 1]

function dtype_of_name(name::AbstractString)
    i = findfirst(==(name), _DTYPE_NAMES)
    i === nothing && throw(ArgumentError("unknown dtype name \"$name\"; Axle has $(join(_DTYPE_NAMES, ", "))"))
    return _DTYPES[i]
end

# ---- devices -----------------------------------------------------------------------------------
"""
    Context(device_type, device_id)

A device: `cpu(0)` or `gpu(i)` (device types are MXNet's: 1 cpu, 2 gpu).
"""
struct Context
    device_type::Int
    device_id::Int
end

cpu(id::Integer = 0) = Context(AX_CPU, Int(id))
gpu(id::Integer = 0) = Context(AX_GPU, Int(id))

Base.show(io::IO, c::Context) = print(io, c.device_type == AX_GPU ? "gpu(" : "cpu(", c.device_id, ")")

"""The number of usable GPUs (0 without a GPU or the CUDA backend)."""
function num_gpus()
    n = Ref{Cint}(0)
    @check ccall((:AxGetGPUCount, libaxle()), Cint, (Ptr{Cint},), n)
    return Int(n[])
end

# ---- engine, storage, random -------------------------------------------------------------------
"""
    waitall()

Blocks until every op pushed to the engine has run; throws the first asynchronous error not yet
reported.
"""
function waitall()
    @check ccall((:AxEngineWaitAll, libaxle()), Cint, ())
    return nothing
end

"""The engine in use: "ThreadedEngine" or "NaiveEngine"."""
engine_type() = _out_string() do out
    @check ccall((:AxEngineGetType, libaxle()), Cint, (Ptr{Ptr{UInt8}},), out)
end

"""The number of live handles of any kind (leak accounting)."""
function live_handles()
    n = Ref{Int64}(0)
    @check ccall((:AxGetLiveHandleCount, libaxle()), Cint, (Ptr{Int64},), n)
    return Int(n[])
end

"""
    memory_stats(ctx = cpu())

The storage pool of a device: `(bytes_in_use, bytes_pooled, num_allocs, pool_hits, peak_bytes_in_use)`.
"""
function memory_stats(ctx::Context = cpu())
    in_use = Ref{Int64}(0)
    pooled = Ref{Int64}(0)
    allocs = Ref{Int64}(0)
    hits = Ref{Int64}(0)
    peak = Ref{Int64}(0)
    @check ccall((:AxStorageGetStats, libaxle()), Cint,
                 (Cint, Cint, Ptr{Int64}, Ptr{Int64}, Ptr{Int64}, Ptr{Int64}, Ptr{Int64}),
                 ctx.device_type, ctx.device_id, in_use, pooled, allocs, hits, peak)
    return (bytes_in_use = Int(in_use[]), bytes_pooled = Int(pooled[]), num_allocs = Int(allocs[]),
            pool_hits = Int(hits[]), peak_bytes_in_use = Int(peak[]))
end

"""Gives a device's pooled (unused) memory back to the system."""
function empty_cache(ctx::Context = cpu())
    @check ccall((:AxStorageEmptyCache, libaxle()), Cint, (Cint, Cint), ctx.device_type, ctx.device_id)
    return nothing
end

"""Seeds the random generators of every device."""
function seed!(seed::Integer)
    @check ccall((:AxRandomSeed, libaxle()), Cint, (Cint,), seed)
    return nothing
end

"""
    set_training(flag::Bool) -> Bool

Whether ops on this thread run in training mode (Dropout drops, BatchNorm uses batch
statistics); returns the previous setting.
"""
function set_training(flag::Bool)
    prev = Ref{Cint}(0)
    @check ccall((:AxSetIsTraining, libaxle()), Cint, (Cint, Ptr{Cint}), flag, prev)
    return prev[] != 0
end
