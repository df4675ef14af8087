# SymbolicNode: graphs (AxSymbol*). Shapes are given and returned in Julia's order (the core's
# reversed), like NDArray sizes; names and attributes are the core's.

"""
    SymbolicNode

The outputs of a symbolic graph (`AxSymbolHandle`). Made by `Variable`, by op functions called
on symbols (`Axle.FullyConnected(data; num_hidden = 10)`), `Group`, `from_json` and
`Axle.load(file, SymbolicNode)`.
"""
mutable struct SymbolicNode <: AbstractHandle
    handle::Ptr{Cvoid}
    SymbolicNode(handle::Ptr{Cvoid}) = finalizer(free!, new(_checked(handle, "SymbolicNode")))
end

function free!(s::SymbolicNode)
    h = _take_handle!(s)
    h == C_NULL || ccall((:AxSymbolFree, libaxle()), Cvoid, (Ptr{Cvoid},), h)
    return nothing
end

# A call that returns a new symbol through its last (out) parameter.
function _new_symbol(f)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    f(out)
    return SymbolicNode(out[])
end

"""
    Variable(name; attrs = Dict())

A variable (a graph input). `attrs` are string attributes such as `"__lr_mult__" => "2"`.
"""
function Variable(name::Union{AbstractString,Symbol}; attrs::AbstractDict = Dict{String,String}())
    entries = collect(attrs)
    ks = String[string(p.first) for p in entries]
    vs = String[_attr(p.second) for p in entries]
    return _new_symbol() do out
        @check ccall((:AxSymbolCreateVariable, libaxle()), Cint,
                     (Cstring, Cint, Ptr{Cstring}, Ptr{Cstring}, Ptr{Ptr{Cvoid}}),
                     string(name), length(ks), ks, vs, out)
    end
end

"""
    Group(syms::SymbolicNode...)

One symbol whose outputs are the outputs of all of `syms`.
"""
function Group(syms::SymbolicNode...)
    xs = collect(SymbolicNode, syms)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    GC.@preserve xs begin
        @check ccall((:AxSymbolGroup, libaxle()), Cint, (Cint, Ptr{Ptr{Cvoid}}, Ptr{Ptr{Cvoid}}),
                     length(xs), _handles(xs), out)
    end
    return SymbolicNode(out[])
end

Base.copy(s::SymbolicNode) = _new_symbol() do out
    @check ccall((:AxSymbolCopy, libaxle()), Cint, (Ptr{Cvoid}, Ptr{Ptr{Cvoid}}), s, out)
end

"""
    sym(args...; kwargs...)

Composition: a copy of `sym` with its free variables replaced by the given symbols, positionally
(in `list_inputs` order) or by name.
"""
function (s::SymbolicNode)(args::SymbolicNode...; kwargs...)
    xs = SymbolicNode[args...]
    ks = fill("", length(xs))
    for (k, v) in kwargs
        v isa SymbolicNode || throw(ArgumentError("compose: $k must be a SymbolicNode, got $(typeof(v))"))
        push!(xs, v)
        push!(ks, string(k))
    end
    out = Ref{Ptr{Cvoid}}(C_NULL)
    GC.@preserve xs begin
        @check ccall((:AxSymbolCompose, libaxle()), Cint,
                     (Ptr{Cvoid}, Cint, Ptr{Cstring}, Ptr{Ptr{Cvoid}}, Ptr{Ptr{Cvoid}}),
                     s, length(xs), ks, _handles(xs), out)
    end
    return SymbolicNode(out[])
end

"""Group(...) of every output of every node (variables included), in graph order."""
get_internals(s::SymbolicNode) = _new_symbol() do out
    @check ccall((:AxSymbolGetInternals, libaxle()), Cint, (Ptr{Cvoid}, Ptr{Ptr{Cvoid}}), s, out)
end

"""The inputs of the output nodes as one symbol, or `nothing` when they are variables."""
function get_children(s::SymbolicNode)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    @check ccall((:AxSymbolGetChildren, libaxle()), Cint, (Ptr{Cvoid}, Ptr{Ptr{Cvoid}}), s, out)
    return out[] == C_NULL ? nothing : SymbolicNode(out[])
end

function num_outputs(s::SymbolicNode)
    n = Ref{Cint}(0)
    @check ccall((:AxSymbolGetNumOutputs, libaxle()), Cint, (Ptr{Cvoid}, Ptr{Cint}), s, n)
    return Int(n[])
end

"""`sym[i]`: output `i` (from 1); `sym[name]`: the output named `name` (see `list_outputs`)."""
Base.getindex(s::SymbolicNode, i::Integer) = _new_symbol() do out
    @check ccall((:AxSymbolGetOutput, libaxle()), Cint, (Ptr{Cvoid}, Cint, Ptr{Ptr{Cvoid}}), s, i - 1, out)
end

function Base.getindex(s::SymbolicNode, name::Union{AbstractString,Symbol})
    names = list_outputs(s)
    i = findfirst(==(string(name)), names)
    i === nothing && throw(KeyError(string(name)))
    return s[i]
end

Base.length(s::SymbolicNode) = num_outputs(s)

# ---- names and attributes ---------------------------------------------------------------------------
function _list_names(s::SymbolicNode, what::Integer)
    n = Ref{Cint}(0)
    names = Ref{Ptr{Ptr{UInt8}}}(C_NULL)
    return _borrowed() do
        @check ccall((:AxSymbolListNames, libaxle()), Cint, (Ptr{Cvoid}, Cint, Ptr{Cint}, Ptr{Ptr{Ptr{UInt8}}}),
                     s, what, n, names)
        _strings(names[], n[])
    end
end

"""The names of the arguments (variables that are not aux states), in binding order."""
list_arguments(s::SymbolicNode) = _list_names(s, 0)
"""The names of the auxiliary states (BatchNorm's moving statistics), in binding order."""
list_auxiliary_states(s::SymbolicNode) = _list_names(s, 1)
"""The names of all variables: arguments and aux states, in graph order."""
list_inputs(s::SymbolicNode) = _list_names(s, 2)
"""The names of the outputs (`fc1_output`, ...)."""
list_outputs(s::SymbolicNode) = _list_names(s, 3)

"""The node's name when all outputs come from one node, else `nothing`."""
function get_name(s::SymbolicNode)
    name = Ref{Ptr{UInt8}}(C_NULL)
    success = Ref{Cint}(0)
    return _borrowed() do
        @check ccall((:AxSymbolGetName, libaxle()), Cint, (Ptr{Cvoid}, Ptr{Ptr{UInt8}}, Ptr{Cint}), s, name, success)
        success[] == 0 ? nothing : _string(name[])
    end
end

"""An attribute of the (single) output node, or `nothing`."""
function get_attr(s::SymbolicNode, key::Union{AbstractString,Symbol})
    value = Ref{Ptr{UInt8}}(C_NULL)
    success = Ref{Cint}(0)
    return _borrowed() do
        @check ccall((:AxSymbolGetAttr, libaxle()), Cint, (Ptr{Cvoid}, Cstring, Ptr{Ptr{UInt8}}, Ptr{Cint}),
                     s, string(key), value, success)
        success[] == 0 ? nothing : _string(value[])
    end
end

"""Sets an attribute of the (single) output node (op parameters are checked again)."""
function set_attr!(s::SymbolicNode, key::Union{AbstractString,Symbol}, value)
    @check ccall((:AxSymbolSetAttr, libaxle()), Cint, (Ptr{Cvoid}, Cstring, Cstring), s, string(key), _attr(value))
    return s
end

"""
    list_attr(sym; recursive = false)

The output node's attributes as a `Dict`; with `recursive`, every node's, as
`Dict(node name => Dict(key => value))`.
"""
function list_attr(s::SymbolicNode; recursive::Bool = false)
    n = Ref{Cint}(0)
    strs = Ref{Ptr{Ptr{UInt8}}}(C_NULL)
    flat = _borrowed() do
        @check ccall((:AxSymbolListAttr, libaxle()), Cint, (Ptr{Cvoid}, Cint, Ptr{Cint}, Ptr{Ptr{Ptr{UInt8}}}),
                     s, recursive, n, strs)
        _strings(strs[], (recursive ? 3 : 2) * n[])
    end
    if !recursive
        return Dict{String,String}(flat[2i - 1] => flat[2i] for i in 1:div(length(flat), 2))
    end
    nodes = Dict{String,Dict{String,String}}()
    for i in 1:div(length(flat), 3)
        get!(Dict{String,String}, nodes, flat[3i - 2])[flat[3i - 1]] = flat[3i]
    end
    return nodes
end

# ---- shape and type inference -------------------------------------------------------------------------
# n results of a core inference call: Julia-order shapes (nothing when unknown; -1 for an
# unknown dimension of a known rank).
function _shapes(n::Integer, ndims::Ptr{Cint}, dims::Ptr{Ptr{Int64}})
    result = Vector{Union{Nothing,Tuple{Vararg{Int}}}}(nothing, n)
    for i in 1:n
        nd = Int(unsafe_load(ndims, i))
        nd < 0 && continue
        p = unsafe_load(dims, i)
        result[i] = ntuple(j -> Int(unsafe_load(p, nd - j + 1)), nd)
    end
    return result
end

"""
    infer_shape(sym; name = dims, ...) -> (arg_shapes, out_shapes, aux_shapes)
    infer_shape(sym, Dict(name => dims, ...))

Shapes of the arguments (`list_arguments` order), outputs and aux states from the known shapes
of some variables. Shapes are Julia sizes (the core's shapes reversed); an entry is `nothing` when
it cannot be inferred, and a dimension is -1 when only it is unknown. Conflicting shapes throw an
`AxleError` naming the node, the input and both shapes.
"""
infer_shape(s::SymbolicNode; kwargs...) = infer_shape(s, Dict{String,Any}(string(k) => v for (k, v) in kwargs))

function infer_shape(s::SymbolicNode, known::AbstractDict)
    ks = String[]
    ind = Cint[0]
    data = Int64[]
    for (k, dims) in known
        push!(ks, string(k))
        for d in reverse(dims)
            push!(data, d === nothing ? -1 : Int64(d))
        end
        push!(ind, length(data))
    end
    arg_num, out_num, aux_num = Ref{Cint}(0), Ref{Cint}(0), Ref{Cint}(0)
    arg_ndim, out_ndim, aux_ndim = Ref{Ptr{Cint}}(C_NULL), Ref{Ptr{Cint}}(C_NULL), Ref{Ptr{Cint}}(C_NULL)
    arg_dims, out_dims, aux_dims = Ref{Ptr{Ptr{Int64}}}(C_NULL), Ref{Ptr{Ptr{Int64}}}(C_NULL), Ref{Ptr{Ptr{Int64}}}(C_NULL)
    complete = Ref{Cint}(0)
    return _borrowed() do
        @check ccall((:AxSymbolInferShape, libaxle()), Cint,
                     (Ptr{Cvoid}, Cint, Ptr{Cstring}, Ptr{Cint}, Ptr{Int64},
                      Ptr{Cint}, Ptr{Ptr{Cint}}, Ptr{Ptr{Ptr{Int64}}},
                      Ptr{Cint}, Ptr{Ptr{Cint}}, Ptr{Ptr{Ptr{Int64}}},
                      Ptr{Cint}, Ptr{Ptr{Cint}}, Ptr{Ptr{Ptr{Int64}}}, Ptr{Cint}),
                     s, length(ks), ks, ind, data,
                     arg_num, arg_ndim, arg_dims, out_num, out_ndim, out_dims, aux_num, aux_ndim, aux_dims, complete)
        (_shapes(arg_num[], arg_ndim[], arg_dims[]), _shapes(out_num[], out_ndim[], out_dims[]),
         _shapes(aux_num[], aux_ndim[], aux_dims[]))
    end
end

_types(n::Integer, codes::Ptr{Cint}) =
    Union{Nothing,DataType}[(c = unsafe_load(codes, i); c < 0 ? nothing : dtype_of_code(c)) for i in 1:n]

"""
    infer_type(sym; name = T, ...) -> (arg_types, out_types, aux_types)

Element types of the arguments, outputs and aux states from the known types of some variables
(`nothing` where unknown).
"""
function infer_type(s::SymbolicNode; kwargs...)
    ks = String[string(k) for (k, _) in kwargs]
    codes = Cint[dtype_code(T) for (_, T) in kwargs]
    arg_num, out_num, aux_num = Ref{Cint}(0), Ref{Cint}(0), Ref{Cint}(0)
    arg_types, out_types, aux_types = Ref{Ptr{Cint}}(C_NULL), Ref{Ptr{Cint}}(C_NULL), Ref{Ptr{Cint}}(C_NULL)
    complete = Ref{Cint}(0)
    return _borrowed() do
        @check ccall((:AxSymbolInferType, libaxle()), Cint,
                     (Ptr{Cvoid}, Cint, Ptr{Cstring}, Ptr{Cint}, Ptr{Cint}, Ptr{Ptr{Cint}}, Ptr{Cint}, Ptr{Ptr{Cint}},
                      Ptr{Cint}, Ptr{Ptr{Cint}}, Ptr{Cint}),
                     s, length(ks), ks, codes, arg_num, arg_types, out_num, out_types, aux_num, aux_types, complete)
        (_types(arg_num[], arg_types[]), _types(out_num[], out_types[]), _types(aux_num[], aux_types[]))
    end
end

# ---- JSON and files ----------------------------------------------------------------------------------
"""The symbol as MXNet 1.x's JSON."""
to_json(s::SymbolicNode) = _out_string() do out
    @check ccall((:AxSymbolSaveToJSON, libaxle()), Cint, (Ptr{Cvoid}, Ptr{Ptr{UInt8}}), s, out)
end

"""A symbol from MXNet 1.x's JSON."""
from_json(json::AbstractString) = _new_symbol() do out
    @check ccall((:AxSymbolCreateFromJSON, libaxle()), Cint, (Cstring, Ptr{Ptr{Cvoid}}), json, out)
end

from_json(json::AbstractString, ::Type{SymbolicNode}) = from_json(json)

"""A readable dump of the graph (MXNet's `debug_str`)."""
debug_str(s::SymbolicNode) = _out_string() do out
    @check ccall((:AxSymbolPrint, libaxle()), Cint, (Ptr{Cvoid}, Ptr{Ptr{UInt8}}), s, out)
end

function Base.show(io::IO, s::SymbolicNode)
    if s.handle == C_NULL
        print(io, "SymbolicNode(freed)")
    else
        name = get_name(s)
        print(io, "SymbolicNode(", name === nothing ? "group: " * join(list_outputs(s), ", ") : name, ")")
    end
end
