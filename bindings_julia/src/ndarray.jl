# NDArray: the core's arrays, in Julia's column-major convention.
#
# The core is row-major and Julia column-major; both read the same memory, so a core array of
# shape (d1, ..., dn) is a Julia array of size (dn, ..., d1). Nothing is ever transposed: the
# element at Julia index (i1, ..., in) is the core's element (in, ..., i1) (counting from 1).

"""
    NDArray

An n-dimensional array of the Axle core (`AxNDArrayHandle`). `size(x)` is the core's shape in
reverse order (see the module's documentation); `eltype(x)` is one of `Float32`, `Float64`,
`Float16`, `UInt8`, `Int32`, `Int8`, `Int64`, `Bool`.

    NDArray(a::AbstractArray; ctx = cpu())   # a copy of a Julia array
    NDArray(undef, T, dims...; ctx = cpu())  # uninitialised
    Array(x)                                 # a copy as a Julia Array
    unsafe_wrap(Array, x)                    # a Julia Array sharing x's memory (no copy)
"""
mutable struct NDArray <: AbstractHandle
    handle::Ptr{Cvoid}
    NDArray(handle::Ptr{Cvoid}) = finalizer(free!, new(_checked(handle, "NDArray")))
end

function free!(x::NDArray)
    h = _take_handle!(x)
    h == C_NULL || ccall((:AxNDArrayFree, libaxle()), Cvoid, (Ptr{Cvoid},), h)
    return nothing
end

function NDArray(::UndefInitializer, ::Type{T}, dims::Dims; ctx::Context = cpu()) where {T}
    any(<(0), dims) && throw(ArgumentError("NDArray: negative dimension in $dims"))
    shape = Int64[d for d in reverse(dims)]
    out = Ref{Ptr{Cvoid}}(C_NULL)
    @check ccall((:AxNDArrayCreate, libaxle()), Cint, (Ptr{Int64}, Cint, Cint, Cint, Cint, Ptr{Ptr{Cvoid}}),
                 shape, length(shape), ctx.device_type, ctx.device_id, dtype_code(T), out)
    return NDArray(out[])
end

NDArray(u::UndefInitializer, ::Type{T}, dims::Integer...; ctx::Context = cpu()) where {T} =
    NDArray(u, T, map(Int, dims); ctx)

function NDArray(a::AbstractArray{T}; ctx::Context = cpu()) where {T}
    x = NDArray(undef, T, size(a); ctx)
    copyto!(x, a)
    return x
end

"""
    Axle.empty([T = Float32,] dims...; ctx = cpu())
    Axle.zeros([T = Float32,] dims...; ctx = cpu())
    Axle.ones([T = Float32,] dims...; ctx = cpu())

New NDArrays of Julia size `dims` (uninitialised, zeros, ones), like MXNet.jl's `mx.zeros`.
"""
empty(::Type{T}, dims::Integer...; ctx::Context = cpu()) where {T} = NDArray(undef, T, dims...; ctx)
empty(::Type{T}, dims::Dims; ctx::Context = cpu()) where {T} = NDArray(undef, T, dims; ctx)
empty(dims::Integer...; ctx::Context = cpu()) = NDArray(undef, Float32, dims...; ctx)
empty(dims::Dims; ctx::Context = cpu()) = NDArray(undef, Float32, dims; ctx)

for (name, value) in ((:zeros, :zero), (:ones, :one))
    @eval begin
        $name(::Type{T}, dims::Integer...; ctx::Context = cpu()) where {T} =
            fill!(NDArray(undef, T, dims...; ctx), $value(T))
        $name(::Type{T}, dims::Dims; ctx::Context = cpu()) where {T} = fill!(NDArray(undef, T, dims; ctx), $value(T))
        $name(dims::Integer...; ctx::Context = cpu()) = $name(Float32, dims...; ctx)
        $name(dims::Dims; ctx::Context = cpu()) = $name(Float32, dims; ctx)
    end
end

# ---- properties ---------------------------------------------------------------------------------
function Base.size(x::NDArray)
    ndim = Ref{Cint}(0)
    shape = Ref{Ptr{Int64}}(C_NULL)
    dims = GC.@preserve x begin  # the shape is borrowed while the handle lives
        @check ccall((:AxNDArrayGetShape, libaxle()), Cint, (Ptr{Cvoid}, Ptr{Cint}, Ptr{Ptr{Int64}}), x, ndim, shape)
        n = Int(ndim[])
        ntuple(i -> Int(unsafe_load(shape[], n - i + 1)), n)
    end
    return dims
end

Base.size(x::NDArray, d::Integer) = d <= ndims(x) ? size(x)[d] : 1
Base.ndims(x::NDArray) = length(size(x))
Base.length(x::NDArray) = prod(size(x))

function Base.eltype(x::NDArray)
    code = Ref{Cint}(0)
    @check ccall((:AxNDArrayGetDType, libaxle()), Cint, (Ptr{Cvoid}, Ptr{Cint}), x, code)
    return dtype_of_code(code[])
end

"""The device an NDArray lives on."""
function context(x::NDArray)
    dev_type = Ref{Cint}(0)
    dev_id = Ref{Cint}(0)
    @check ccall((:AxNDArrayGetContext, libaxle()), Cint, (Ptr{Cvoid}, Ptr{Cint}, Ptr{Cint}), x, dev_type, dev_id)
    return Context(dev_type[], dev_id[])
end

"""Blocks until pending writes of `x` are done; throws an asynchronous error they raised."""
function wait_to_read(x::NDArray)
    @check ccall((:AxNDArrayWaitToRead, libaxle()), Cint, (Ptr{Cvoid},), x)
    return x
end

"""Blocks until every pending op on `x` is done."""
function wait_to_write(x::NDArray)
    @check ccall((:AxNDArrayWaitToWrite, libaxle()), Cint, (Ptr{Cvoid},), x)
    return x
end

function Base.show(io::IO, x::NDArray)
    if x.handle == C_NULL
        print(io, "NDArray(freed)")
    else
        dims = size(x)
        print(io, "NDArray{", eltype(x), "} ", isempty(dims) ? "scalar" : join(dims, "×"), " @", context(x))
    end
end

function Base.show(io::IO, mime::MIME"text/plain", x::NDArray)
    show(io, x)
    if x.handle != C_NULL
        println(io, ":")
        show(io, mime, Array(x))
    end
end

# ---- copies between Julia and the core --------------------------------------------------------------
function Base.copyto!(dst::NDArray, src::AbstractArray)
    size(src) == size(dst) ||
        throw(DimensionMismatch("copyto!: the NDArray has size $(size(dst)), the source $(size(src))"))
    a = convert(Array{eltype(dst)}, src)  # src itself when it already is such an Array
    @check ccall((:AxNDArraySyncCopyFromCPU, libaxle()), Cint, (Ptr{Cvoid}, Ptr{Cvoid}, Csize_t), dst, a, sizeof(a))
    return dst
end

function Base.copyto!(dst::Array{T}, src::NDArray) where {T}
    eltype(src) === T || throw(ArgumentError("copyto!: the NDArray holds $(eltype(src)), the destination $T"))
    size(dst) == size(src) ||
        throw(DimensionMismatch("copyto!: the destination has size $(size(dst)), the NDArray $(size(src))"))
    @check ccall((:AxNDArraySyncCopyToCPU, libaxle()), Cint, (Ptr{Cvoid}, Ptr{Cvoid}, Csize_t), src, dst, sizeof(dst))
    return dst
end

"""
    copyto!(dst::NDArray, src::NDArray)

Copies through the engine (asynchronously; any devices). Same size and element type.
"""
function Base.copyto!(dst::NDArray, src::NDArray)
    @check ccall((:AxNDArrayCopyFromTo, libaxle()), Cint, (Ptr{Cvoid}, Ptr{Cvoid}), src, dst)
    return dst
end

Base.Array(x::NDArray) = copyto!(Array{eltype(x)}(undef, size(x)), x)
Base.Array{T}(x::NDArray) where {T} = convert(Array{T}, Array(x))

Base.copy(x::NDArray) = copyto!(NDArray(undef, eltype(x), size(x); ctx = context(x)), x)

function Base.fill!(x::NDArray, v)
    copyto!(x, fill(convert(eltype(x), v), size(x)))
    return x
end

# ---- views ------------------------------------------------------------------------------------------
"""
    reshape(x::NDArray, dims...)

A view of `x` with Julia size `dims` (one of them may be `:`, inferred). Shares memory with `x`.
"""
function Base.reshape(x::NDArray, dims::Tuple{Vararg{Union{Integer,Colon}}})
    core = Int64[d isa Colon ? -1 : Int64(d) for d in reverse(dims)]
    out = Ref{Ptr{Cvoid}}(C_NULL)
    @check ccall((:AxNDArrayReshape, libaxle()), Cint, (Ptr{Cvoid}, Cint, Ptr{Int64}, Cint, Ptr{Ptr{Cvoid}}),
                 x, length(core), core, 0, out)
    return NDArray(out[])
end

Base.reshape(x::NDArray, dims::Union{Integer,Colon}...) = reshape(x, dims)

function _check_last_dim(x::NDArray, d::Integer)
    n = ndims(x)
    d == n || throw(ArgumentError("selectdim: an NDArray shares memory only along its last dimension ($n), " *
                                  "the core's first axis; got dimension $d"))
    return nothing
end

"""
    selectdim(x::NDArray, ndims(x), i::Integer)
    selectdim(x::NDArray, ndims(x), r::AbstractUnitRange)

A view of `x` along its last Julia dimension (the core's first axis): one index (that dimension
dropped) or a range of them. Shares memory with `x`.
"""
function Base.selectdim(x::NDArray, d::Integer, r::AbstractUnitRange{<:Integer})
    _check_last_dim(x, d)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    @check ccall((:AxNDArraySlice, libaxle()), Cint, (Ptr{Cvoid}, Int64, Int64, Ptr{Ptr{Cvoid}}),
                 x, first(r) - 1, last(r), out)
    return NDArray(out[])
end

function Base.selectdim(x::NDArray, d::Integer, i::Integer)
    _check_last_dim(x, d)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    @check ccall((:AxNDArrayAt, libaxle()), Cint, (Ptr{Cvoid}, Int64, Ptr{Ptr{Cvoid}}), x, i - 1, out)
    return NDArray(out[])
end

# ---- zero-copy: DLPack ----------------------------------------------------------------------------------
# DLPack v0.8's structs (the unversioned DLManagedTensor), as AxNDArrayToDLPack returns them.
struct DLDevice
    device_type::Int32
    device_id::Int32
end

struct DLDataType
    code::UInt8
    bits::UInt8
    lanes::UInt16
end

struct DLTensor
    data::Ptr{Cvoid}
    device::DLDevice
    ndim::Int32
    dtype::DLDataType
    shape::Ptr{Int64}
    strides::Ptr{Int64}
    byte_offset::UInt64
end

struct DLManagedTensor
    dl_tensor::DLTensor
    manager_ctx::Ptr{Cvoid}
    deleter::Ptr{Cvoid}
end

const _KDLCPU = 1

# Gives a DLPack tensor back to its producer (the core): its deleter, called once.
function _dlpack_release(tensor::Ptr{Cvoid}, deleter::Ptr{Cvoid})
    deleter == C_NULL || ccall(deleter, Cvoid, (Ptr{Cvoid},), tensor)
    return nothing
end

"""
    unsafe_wrap(Array, x::NDArray) -> Array

A Julia `Array` of `x`'s size and element type that shares `x`'s memory (no copy; through
DLPack). The memory stays valid while the returned `Array` object lives, even after `x` is freed.
Unsafe in two ways: ops pushed later may write the memory while Julia reads it (wait for them
with `wait_to_read(x)`), and arrays derived from the returned one (`reshape`, `vec`) do not keep
the memory alive: keep the returned `Array` itself referenced while they are in use.
"""
function Base.unsafe_wrap(::Type{Array}, x::NDArray)
    T = eltype(x)
    dims = size(x)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    @check ccall((:AxNDArrayToDLPack, libaxle()), Cint, (Ptr{Cvoid}, Ptr{Ptr{Cvoid}}), x, out)
    tensor = out[]
    managed = unsafe_load(convert(Ptr{DLManagedTensor}, tensor))
    t = managed.dl_tensor
    if t.device.device_type != _KDLCPU
        _dlpack_release(tensor, managed.deleter)
        throw(ArgumentError("unsafe_wrap: the NDArray is not in CPU memory ($(context(x)))"))
    end
    if prod(dims) == 0  # nothing to share (and an empty array's data pointer may be NULL)
        _dlpack_release(tensor, managed.deleter)
        return Array{T}(undef, dims)
    end
    a = unsafe_wrap(Array, convert(Ptr{T}, t.data + t.byte_offset), dims; own = false)
    deleter = managed.deleter
    finalizer(_ -> _dlpack_release(tensor, deleter), a)
    return a
end
