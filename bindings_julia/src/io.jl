# Files: MXNet 1.x's .params format for NDArrays (AxNDArraySave/Load) and symbol JSON files.

# names: a Vector{String} (a dictionary) or C_NULL (a list).
function _save(fname::AbstractString, xs::Vector{NDArray}, names)
    GC.@preserve xs begin
        @check ccall((:AxNDArraySave, libaxle()), Cint, (Cstring, Cint, Ptr{Ptr{Cvoid}}, Ptr{Cstring}),
                     fname, length(xs), _handles(xs), names)
    end
    return nothing
end

"""
    Axle.save(fname, arrays::AbstractVector{NDArray})
    Axle.save(fname, arrays::AbstractDict)   # name => NDArray
    Axle.save(fname, x::NDArray)
    Axle.save(fname, sym::SymbolicNode)      # MXNet 1.x symbol JSON

Writes NDArrays in MXNet 1.x's `.params` format (a list, or a dictionary by name), or a symbol.
"""
save(fname::AbstractString, arrays::AbstractVector{<:NDArray}) = _save(fname, collect(NDArray, arrays), C_NULL)

function save(fname::AbstractString, arrays::AbstractDict)
    entries = collect(arrays)
    return _save(fname, NDArray[p.second for p in entries], String[string(p.first) for p in entries])
end

save(fname::AbstractString, x::NDArray) = save(fname, [x])

function save(fname::AbstractString, sym::SymbolicNode)
    @check ccall((:AxSymbolSaveToFile, libaxle()), Cint, (Ptr{Cvoid}, Cstring), sym, fname)
    return nothing
end

# The arrays and names a load call left in the borrowed thread-local storage: a Vector for a
# list (or a file of none), a Dict for named arrays.
function _loaded(load_call)
    n = Ref{Cint}(0)
    arrays = Ref{Ptr{Ptr{Cvoid}}}(C_NULL)
    num_names = Ref{Cint}(0)
    names = Ref{Ptr{Ptr{UInt8}}}(C_NULL)
    handles, keys = _borrowed() do
        load_call(n, arrays, num_names, names)
        (Ptr{Cvoid}[unsafe_load(arrays[], i) for i in 1:n[]], _strings(names[], num_names[]))
    end
    xs = NDArray[NDArray(h) for h in handles]
    isempty(keys) && return xs
    return Dict{String,NDArray}(zip(keys, xs))
end

"""
    Axle.load(fname) -> Vector{NDArray} or Dict{String,NDArray}
    Axle.load(fname, NDArray)
    Axle.load(fname, SymbolicNode)

Reads a `.params` file (MXNet 1.x's format; a list gives a Vector, named arrays a Dict), or a
symbol JSON file.
"""
load(fname::AbstractString) = _loaded() do n, arrays, num_names, names
    @check ccall((:AxNDArrayLoad, libaxle()), Cint,
                 (Cstring, Ptr{Cint}, Ptr{Ptr{Ptr{Cvoid}}}, Ptr{Cint}, Ptr{Ptr{Ptr{UInt8}}}),
                 fname, n, arrays, num_names, names)
end

load(fname::AbstractString, ::Type{NDArray}) = load(fname)

load(fname::AbstractString, ::Type{SymbolicNode}) = _new_symbol() do out
    @check ccall((:AxSymbolCreateFromFile, libaxle()), Cint, (Cstring, Ptr{Ptr{Cvoid}}), fname, out)
end

"""
    Axle.load_buffer(bytes::AbstractVector{UInt8})

`Axle.load` of a `.params` file's contents held in memory.
"""
function load_buffer(bytes::AbstractVector{UInt8})
    buf = convert(Vector{UInt8}, bytes)
    return _loaded() do n, arrays, num_names, names
        @check ccall((:AxNDArrayLoadFromBuffer, libaxle()), Cint,
                     (Ptr{Cvoid}, Csize_t, Ptr{Cint}, Ptr{Ptr{Ptr{Cvoid}}}, Ptr{Cint}, Ptr{Ptr{Ptr{UInt8}}}),
                     buf, length(buf), n, arrays, num_names, names)
    end
end
