# Executor: a symbol bound to arrays (AxExecutor*): bind, forward, backward.

"""
    Executor

A symbol bound to arrays on a device (`AxExecutorHandle`), made by `bind` or `simple_bind`.
`exec.outputs` are its output NDArrays (each forward overwrites them); `exec.arg_arrays`,
`exec.grad_arrays` (`nothing` where no gradient is computed) and `exec.aux_arrays` are the
arrays it was bound to, in `list_arguments`/`list_auxiliary_states` order.
"""
mutable struct Executor <: AbstractHandle
    handle::Ptr{Cvoid}
    symbol::SymbolicNode
    arg_names::Vector{String}
    aux_names::Vector{String}
    arg_arrays::Vector{NDArray}
    grad_arrays::Vector{Union{Nothing,NDArray}}
    aux_arrays::Vector{NDArray}
    outputs::Vector{NDArray}
    function Executor(handle::Ptr{Cvoid}, symbol::SymbolicNode, arg_names, aux_names, args, grads, aux)
        e = new(_checked(handle, "Executor"), symbol, arg_names, aux_names, args, grads, aux, NDArray[])
        finalizer(_free_executor_handle!, e)
        e.outputs = _executor_outputs(e)
        return e
    end
end

# The finalizer frees the executor only: its output NDArrays have finalizers of their own and
# may still be in use.
function _free_executor_handle!(e::Executor)
    h = _take_handle!(e)
    h == C_NULL || ccall((:AxExecutorFree, libaxle()), Cvoid, (Ptr{Cvoid},), h)
    return nothing
end

"""`free!(exec)` frees the executor and its output NDArrays (not the arrays it was bound to)."""
function free!(e::Executor)
    foreach(free!, e.outputs)
    _free_executor_handle!(e)
    return nothing
end

function _executor_outputs(e::Executor)
    n = Ref{Cint}(0)
    outputs = Ref{Ptr{Ptr{Cvoid}}}(C_NULL)
    handles = _borrowed() do
        @check ccall((:AxExecutorOutputs, libaxle()), Cint, (Ptr{Cvoid}, Ptr{Cint}, Ptr{Ptr{Ptr{Cvoid}}}), e, n, outputs)
        Ptr{Cvoid}[unsafe_load(outputs[], i) for i in 1:n[]]
    end
    return NDArray[NDArray(h) for h in handles]
end

const _GRAD_REQS = Dict("null" => AX_GRAD_NULL, "write" => AX_GRAD_WRITE, "add" => AX_GRAD_ADD)

function _grad_req_code(req)
    code = get(_GRAD_REQS, string(req), nothing)
    code === nothing && throw(ArgumentError("grad_req must be :write, :add or :null, got $(repr(req))"))
    return Cint(code)
end

_lookup(d::AbstractDict, name::String) = haskey(d, name) ? d[name] : get(d, Symbol(name), nothing)

function _grad_reqs(req, names::Vector{String})
    req isa Union{Symbol,AbstractString} && return fill(_grad_req_code(req), length(names))
    if req isa AbstractDict
        codes = Cint[]
        for n in names
            r = _lookup(req, n)
            push!(codes, r === nothing ? Cint(AX_GRAD_NULL) : _grad_req_code(r))
        end
        return codes
    end
    length(req) == length(names) ||
        throw(ArgumentError("bind: grad_req has $(length(req)) entries for $(length(names)) arguments"))
    return Cint[_grad_req_code(r) for r in req]
end

# The arrays for names, from a vector in that order or a dictionary by name.
function _arrays_for(xs, names::Vector{String}, what::String)
    if xs isa AbstractDict
        out = NDArray[]
        for n in names
            x = _lookup(xs, n)
            x === nothing && throw(ArgumentError("bind: $what has no array for \"$n\""))
            push!(out, x)
        end
        return out
    end
    length(xs) == length(names) ||
        throw(ArgumentError("bind: $what has $(length(xs)) arrays for $(length(names)) names ($(join(names, ", ")))"))
    return collect(NDArray, xs)
end

function _grad_arrays(args_grad, names::Vector{String}, reqs::Vector{Cint})
    grads = Vector{Union{Nothing,NDArray}}(nothing, length(names))
    for (i, n) in enumerate(names)
        reqs[i] == AX_GRAD_NULL && continue
        g = args_grad === nothing ? nothing : args_grad isa AbstractDict ? _lookup(args_grad, n) : args_grad[i]
        g === nothing && throw(ArgumentError("bind: argument \"$n\" needs a gradient array (grad_req is not :null)"))
        grads[i] = g
    end
    return grads
end

"""
    bind(sym, ctx, args; args_grad = nothing, grad_req = (args_grad === nothing ? :null : :write),
         aux_states = NDArray[], shared_exec = nothing) -> Executor

Binds `sym` to arrays on `ctx`. `args`, `args_grad` and `aux_states`: vectors in
`list_arguments`/`list_auxiliary_states` order, or dictionaries by name. `grad_req`: `:write`,
`:add` or `:null` for every argument, a vector, or a dictionary by name (missing names: `:null`).
`shared_exec`: an executor whose buffers this one may reuse (the two must not run at once).
"""
function Base.bind(sym::SymbolicNode, ctx::Context, args::Union{AbstractVector,AbstractDict};
                   args_grad = nothing, grad_req = (args_grad === nothing ? :null : :write),
                   aux_states = NDArray[], shared_exec::Union{Nothing,Executor} = nothing)
    arg_names = list_arguments(sym)
    aux_names = list_auxiliary_states(sym)
    arg_arrays = _arrays_for(args, arg_names, "args")
    reqs = _grad_reqs(grad_req, arg_names)
    grad_arrays = _grad_arrays(args_grad, arg_names, reqs)
    aux_arrays = _arrays_for(aux_states, aux_names, "aux_states")
    out = Ref{Ptr{Cvoid}}(C_NULL)
    shared = shared_exec === nothing ? C_NULL : _live_handle(shared_exec)
    GC.@preserve arg_arrays grad_arrays aux_arrays shared_exec begin
        @check ccall((:AxExecutorBind, libaxle()), Cint,
                     (Ptr{Cvoid}, Cint, Cint, Cint, Ptr{Ptr{Cvoid}}, Ptr{Ptr{Cvoid}}, Ptr{Cint}, Cint, Ptr{Ptr{Cvoid}},
                      Ptr{Cvoid}, Ptr{Ptr{Cvoid}}),
                     sym, ctx.device_type, ctx.device_id, length(arg_arrays), _handles(arg_arrays),
                     _handles(grad_arrays), reqs, length(aux_arrays), _handles(aux_arrays), shared, out)
    end
    return Executor(out[], sym, arg_names, aux_names, arg_arrays, grad_arrays, aux_arrays)
end

"""
    simple_bind(sym, ctx; grad_req = :write, type_dict = Dict(), shared_exec = nothing, shapes...)

Binds `sym` to new arrays (zeros) whose shapes are inferred from the Julia sizes of some
variables (`data = (784, 100)`), element types from `type_dict` (else `Float32`); gradient arrays
for the arguments whose grad_req is not `:null`.
"""
function simple_bind(sym::SymbolicNode, ctx::Context; grad_req = :write, type_dict::AbstractDict = Dict{String,DataType}(),
                     shared_exec::Union{Nothing,Executor} = nothing, shapes...)
    arg_shapes, _, aux_shapes = infer_shape(sym; shapes...)
    known_types = Dict{Symbol,Any}(Symbol(k) => Float32 for (k, _) in shapes)  # MXNet's default
    for (k, v) in type_dict
        known_types[Symbol(k)] = v
    end
    arg_types, _, aux_types = infer_type(sym; known_types...)
    arg_names = list_arguments(sym)
    aux_names = list_auxiliary_states(sym)
    function alloc(names, shapes, types)
        arrays = NDArray[]
        for (n, s, T) in zip(names, shapes, types)
            (s === nothing || any(<(0), s)) &&
                throw(ArgumentError("simple_bind: the shape of \"$n\" cannot be inferred from the given shapes"))
            push!(arrays, zeros(T === nothing ? Float32 : T, s; ctx))
        end
        return arrays
    end
    args = alloc(arg_names, arg_shapes, arg_types)
    aux = alloc(aux_names, aux_shapes, aux_types)
    reqs = _grad_reqs(grad_req, arg_names)
    grads = Union{Nothing,NDArray}[r == AX_GRAD_NULL ? nothing : zeros(eltype(a), size(a); ctx)
                                   for (a, r) in zip(args, reqs)]
    return bind(sym, ctx, args; args_grad = grads, grad_req = [r == AX_GRAD_NULL ? :null : r == AX_GRAD_ADD ? :add : :write for r in reqs],
                aux_states = aux, shared_exec)
end

"""
    forward(exec; is_train = false, name = array, ...) -> exec.outputs

Copies the given Julia arrays (or NDArrays) into the arguments of those names, then pushes the
forward pass (it returns before the pass has run: reading an output waits for it).
"""
function forward(e::Executor; is_train::Bool = false, kwargs...)
    for (k, v) in kwargs
        i = findfirst(==(string(k)), e.arg_names)
        i === nothing && throw(ArgumentError("forward: the executor has no argument $k"))
        copyto!(e.arg_arrays[i], v)
    end
    @check ccall((:AxExecutorForward, libaxle()), Cint, (Ptr{Cvoid}, Cint), e, is_train)
    return e.outputs
end

"""
    backward(exec, head_grads = NDArray[])

Pushes the backward pass. `head_grads`: one per output (`nothing` for outputs that are losses),
or none when every output is a loss.
"""
function backward(e::Executor, head_grads::AbstractVector = NDArray[])
    heads = collect(Union{Nothing,NDArray}, head_grads)
    GC.@preserve heads begin
        @check ccall((:AxExecutorBackward, libaxle()), Cint, (Ptr{Cvoid}, Cint, Ptr{Ptr{Cvoid}}),
                     e, length(heads), _handles(heads))
    end
    return nothing
end

backward(e::Executor, head_grad::NDArray) = backward(e, [head_grad])

"""Which outputs need a head gradient in `backward` (`true`) and which are losses (`false`)."""
function head_grad_needed(e::Executor)
    n = Ref{Cint}(0)
    flags = Ref{Ptr{Cint}}(C_NULL)
    return _borrowed() do
        @check ccall((:AxExecutorHeadGradNeeded, libaxle()), Cint, (Ptr{Cvoid}, Ptr{Cint}, Ptr{Ptr{Cint}}), e, n, flags)
        Bool[unsafe_load(flags[], i) != 0 for i in 1:n[]]
    end
end

"""
    memory_plan(exec)

The memory planner's report: `(planned_bytes, naive_bytes, num_buffers, num_entries, num_inplace)`.
"""
function memory_plan(e::Executor)
    planned, naive, buffers, entries, inplace = Ref{Int64}(0), Ref{Int64}(0), Ref{Int64}(0), Ref{Int64}(0), Ref{Int64}(0)
    @check ccall((:AxExecutorMemoryPlan, libaxle()), Cint,
                 (Ptr{Cvoid}, Ptr{Int64}, Ptr{Int64}, Ptr{Int64}, Ptr{Int64}, Ptr{Int64}),
                 e, planned, naive, buffers, entries, inplace)
    return (planned_bytes = Int(planned[]), naive_bytes = Int(naive[]), num_buffers = Int(buffers[]),
            num_entries = Int(entries[]), num_inplace = Int(inplace[]))
end

"""The graph dump followed by the memory plan."""
debug_str(e::Executor) = _out_string() do out
    @check ccall((:AxExecutorPrint, libaxle()), Cint, (Ptr{Cvoid}, Ptr{Ptr{UInt8}}), e, out)
end

"""Dictionaries of an executor's arrays by name."""
arg_dict(e::Executor) = Dict(zip(e.arg_names, e.arg_arrays))
grad_dict(e::Executor) = Dict(n => g for (n, g) in zip(e.arg_names, e.grad_arrays) if g !== nothing)
aux_dict(e::Executor) = Dict(zip(e.aux_names, e.aux_arrays))
output_dict(e::Executor) = Dict(zip(list_outputs(e.symbol), e.outputs))

Base.show(io::IO, e::Executor) =
    print(io, "Executor(", e.handle == C_NULL ? "freed" : join(e.arg_names, ", ") * " -> " * string(length(e.outputs)) * " outputs", ")")
