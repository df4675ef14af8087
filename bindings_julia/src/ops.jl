# Ops: the registry's introspection (AxListOps, AxOpGetInfo), imperative calls on NDArrays
# (AxImperativeInvoke), symbol nodes (AxSymbolCreateOp), and the functions generated from the
# registry when the module initialises.

"""
    OpInfo

An op of the core's registry as `AxOpGetInfo` describes it. `num_inputs` is -1 for an op with
any number of inputs, whose count is the attribute `key_var_num_args`.
"""
struct OpInfo
    name::String              # the name it is registered under (an alias keeps its own)
    canonical::String         # the op an alias names (== name otherwise)
    handle::Ptr{Cvoid}        # static: never freed
    doc::String
    num_inputs::Int
    input_names::Vector{String}
    param_names::Vector{String}
    param_types::Vector{String}
    param_docs::Vector{String}
    key_var_num_args::String
end

"""The names of every op in the registry."""
function list_ops()
    n = Ref{Cint}(0)
    names = Ref{Ptr{Ptr{UInt8}}}(C_NULL)
    @check ccall((:AxListOps, libaxle()), Cint, (Ptr{Cint}, Ptr{Ptr{Ptr{UInt8}}}), n, names)
    return _strings(names[], n[])  # static strings
end

function OpInfo(name::AbstractString)
    handle = Ref{Ptr{Cvoid}}(C_NULL)
    @check ccall((:AxGetOpHandle, libaxle()), Cint, (Cstring, Ptr{Ptr{Cvoid}}), name, handle)
    canonical = Ref{Ptr{UInt8}}(C_NULL)
    doc = Ref{Ptr{UInt8}}(C_NULL)
    num_inputs = Ref{Cint}(0)
    input_names = Ref{Ptr{Ptr{UInt8}}}(C_NULL)
    num_params = Ref{Cint}(0)
    param_names = Ref{Ptr{Ptr{UInt8}}}(C_NULL)
    param_types = Ref{Ptr{Ptr{UInt8}}}(C_NULL)
    param_docs = Ref{Ptr{Ptr{UInt8}}}(C_NULL)
    key_var_num_args = Ref{Ptr{UInt8}}(C_NULL)
    @check ccall((:AxOpGetInfo, libaxle()), Cint,
                 (Ptr{Cvoid}, Ptr{Ptr{UInt8}}, Ptr{Ptr{UInt8}}, Ptr{Cint}, Ptr{Ptr{Ptr{UInt8}}}, Ptr{Cint},
                  Ptr{Ptr{Ptr{UInt8}}}, Ptr{Ptr{Ptr{UInt8}}}, Ptr{Ptr{Ptr{UInt8}}}, Ptr{Ptr{UInt8}}),
                 handle[], canonical, doc, num_inputs, input_names, num_params, param_names, param_types,
                 param_docs, key_var_num_args)
    nin = Int(num_inputs[])
    np = Int(num_params[])
    return OpInfo(String(name), _string(canonical[]), handle[], _string(doc[]), nin,
                  _strings(input_names[], max(nin, 0)), _strings(param_names[], np), _strings(param_types[], np),
                  _strings(param_docs[], np), _string(key_var_num_args[]))
end

# ---- attribute values as the core parses them (MXNet's conventions) -------------------------------
_attr(v::AbstractString) = String(v)
_attr(v::Symbol) = String(v)
_attr(v::Bool) = v ? "True" : "False"
_attr(v::Integer) = string(v)
_attr(v::Real) = string(Float64(v))  # Float32 and Float16 would print as 1.0f-5 and Float16(0.5)
_attr(::Nothing) = "None"
_attr(T::Type) = dtype_name(T)
_attr(c::Context) = string(c)
_attr(v::Union{Tuple,AbstractVector}) =
    length(v) == 1 ? "(" * _attr(first(v)) * ",)" : "(" * join((_attr(e) for e in v), ",") * ")"
_attr(v) = throw(ArgumentError("cannot pass a $(typeof(v)) as an op attribute"))

# ---- calling an op -------------------------------------------------------------------------------------
"""
    Op

An op of the registry as a callable: `Axle.ops[:FullyConnected](x, w, b; num_hidden = 3)`.
Every generated op function calls one of these.

- Inputs: NDArrays (the op runs now, asynchronously, and returns its output NDArray, or a vector
  of them) or SymbolicNodes (returns a new symbol), positionally or by input name. Without any
  input, an op that takes inputs makes a symbol (the missing inputs become variables), and one
  that takes none (`_zeros`, `_random_uniform`) runs imperatively unless `name` is given.
- Attributes: keyword arguments (or positional values after the inputs, in the op's order),
  passed to the core as strings: numbers, `true`/`false`, tuples `(2, 3)`, symbols and strings,
  element types (`dtype = Float64`), contexts (`ctx = cpu()`); `nothing` leaves an attribute out.
  They are the core's: `axis` and `shape` count dimensions as the core does (row-major).
- `out = x` (or a vector): write into existing NDArrays. `name = "fc1"`: the symbol node's name
  (by default the op's lower-case name and a counter, as MXNet's NameManager).
"""
struct Op
    info::OpInfo
end

(op::Op)(args...; kwargs...) = _call(op.info, args, kwargs)

Base.show(io::IO, op::Op) = print(io, "Axle op ", op.info.name)

"""Every op of the registry by name, filled when the module initialises."""
const ops = Dict{Symbol,Op}()

function _op(name::Symbol)
    op = get(ops, name, nothing)
    op === nothing && throw(AxleError(AX_ERR_INVALID_ARGUMENT, "the loaded library has no op named $name"))
    return op
end

const _ArrayOrSymbol = Union{NDArray,SymbolicNode}

function _call(info::OpInfo, args::Tuple, kwargs)
    positional = Any[]
    attr_values = Any[]
    for a in args
        if a isa _ArrayOrSymbol
            isempty(attr_values) || throw(ArgumentError("$(info.name): an input after attribute values"))
            push!(positional, a)
        else
            push!(attr_values, a)
        end
    end
    named = Pair{String,Any}[]  # inputs by name, in the op's input order
    params = Pair{String,String}[]
    out = nothing
    name = nothing
    for (k, v) in kwargs
        key = String(k)
        if key == "out"
            out = v
        elseif key == "name"
            name = v === nothing ? nothing : string(v)
        elseif key in info.input_names && v isa _ArrayOrSymbol
            push!(named, key => v)
        elseif v !== nothing
            push!(params, key => _attr(v))
        end
    end
    if !isempty(attr_values)
        info.num_inputs < 0 && throw(ArgumentError("$(info.name) takes only inputs positionally"))
        length(attr_values) <= length(info.param_names) ||
            throw(ArgumentError("$(info.name): $(length(attr_values)) attribute values given positionally, " *
                                "but the op has $(length(info.param_names)) attributes"))
        for (k, v) in zip(info.param_names, attr_values)
            any(p -> p.first == k, params) && throw(ArgumentError("$(info.name): attribute $k given twice"))
            v === nothing || push!(params, k => _attr(v))
        end
    end
    sort!(named; by = p -> findfirst(==(p.first), info.input_names))
    inputs = Any[positional; last.(named)]
    symbolic = any(x -> x isa SymbolicNode, inputs)
    symbolic && !all(x -> x isa SymbolicNode, inputs) &&
        throw(ArgumentError("$(info.name): inputs mix NDArrays and SymbolicNodes"))
    if isempty(inputs)
        symbolic = info.num_inputs != 0 || name !== nothing
    end
    kv = info.key_var_num_args
    if info.num_inputs < 0 && !isempty(kv) && kv in info.param_names && !any(p -> p.first == kv, params)
        push!(params, kv => string(length(inputs)))
    end
    if symbolic
        out === nothing || throw(ArgumentError("$(info.name): out is for NDArrays, not symbols"))
        input_keys = String[fill("", length(positional)); first.(named)]
        return _create_symbol(info, SymbolicNode[inputs...], input_keys, params, name)
    end
    if "ctx" in info.param_names && !any(p -> p.first == "ctx", params)
        push!(params, "ctx" => string(cpu()))
    end
    return _invoke(info, NDArray[_positional_inputs(info, positional, named)...], params, out)
end

# Imperative calls take inputs in order: named ones go after the positional ones, without gaps.
function _positional_inputs(info::OpInfo, positional::Vector{Any}, named::Vector{Pair{String,Any}})
    isempty(named) && return positional
    inputs = copy(positional)
    for (i, (key, v)) in enumerate(named)
        expected = length(positional) + i
        if expected > length(info.input_names) || info.input_names[expected] != key
            throw(ArgumentError("$(info.name): input $key cannot be passed by name here: inputs " *
                                "$(join(info.input_names, ", ")) go in this order, and the ones before it are not all given"))
        end
        push!(inputs, v)
    end
    return inputs
end

function _invoke(info::OpInfo, inputs::Vector{NDArray}, params::Vector{Pair{String,String}}, out)
    keys = first.(params)
    vals = last.(params)
    nout = Ref{Cint}(0)
    if out === nothing
        outputs = Ref{Ptr{Ptr{Cvoid}}}(C_NULL)
        handles = GC.@preserve inputs begin
            _borrowed() do
                @check ccall((:AxImperativeInvoke, libaxle()), Cint,
                             (Ptr{Cvoid}, Cint, Ptr{Ptr{Cvoid}}, Ptr{Cint}, Ptr{Ptr{Ptr{Cvoid}}}, Cint, Ptr{Cstring},
                              Ptr{Cstring}),
                             info.handle, length(inputs), _handles(inputs), nout, outputs, length(keys), keys, vals)
                Ptr{Cvoid}[unsafe_load(outputs[], i) for i in 1:nout[]]
            end
        end
        results = NDArray[NDArray(h) for h in handles]
        return length(results) == 1 ? results[1] : results
    end
    outs = out isa NDArray ? NDArray[out] : collect(NDArray, out)
    out_handles = _handles(outs)
    nout[] = length(outs)
    GC.@preserve inputs outs out_handles begin
        outputs = Ref{Ptr{Ptr{Cvoid}}}(pointer(out_handles))
        @check ccall((:AxImperativeInvoke, libaxle()), Cint,
                     (Ptr{Cvoid}, Cint, Ptr{Ptr{Cvoid}}, Ptr{Cint}, Ptr{Ptr{Ptr{Cvoid}}}, Cint, Ptr{Cstring},
                      Ptr{Cstring}),
                     info.handle, length(inputs), _handles(inputs), nout, outputs, length(keys), keys, vals)
    end
    return out
end

# MXNet's NameManager: the op's lower-case name and a counter per name.
const _NAME_COUNTS = Dict{String,Int}()
const _NAME_LOCK = ReentrantLock()

function _auto_name(opname::AbstractString)
    hint = lowercase(opname)
    return lock(_NAME_LOCK) do
        n = get(_NAME_COUNTS, hint, 0)
        _NAME_COUNTS[hint] = n + 1
        string(hint, n)
    end
end

function _create_symbol(info::OpInfo, inputs::Vector{SymbolicNode}, input_keys::Vector{String},
                        params::Vector{Pair{String,String}}, name)
    keys = first.(params)
    vals = last.(params)
    node_name = name === nothing ? _auto_name(info.name) : name
    out = Ref{Ptr{Cvoid}}(C_NULL)
    GC.@preserve inputs begin
        @check ccall((:AxSymbolCreateOp, libaxle()), Cint,
                     (Ptr{Cvoid}, Cstring, Cint, Ptr{Cstring}, Ptr{Cstring}, Cint, Ptr{Cstring}, Ptr{Ptr{Cvoid}},
                      Ptr{Ptr{Cvoid}}),
                     info.handle, node_name, length(keys), keys, vals, length(inputs), input_keys, _handles(inputs), out)
    end
    return SymbolicNode(out[])
end

"""
    num_outputs(op::Op; attributes...)

The number of outputs `op` has with these attributes (hidden ones, such as Dropout's mask, included).
"""
function num_outputs(op::Op; kwargs...)
    keys = String[string(k) for (k, _) in kwargs]
    vals = String[_attr(v) for (_, v) in kwargs]
    n = Ref{Cint}(0)
    @check ccall((:AxOpGetNumOutputs, libaxle()), Cint, (Ptr{Cvoid}, Cint, Ptr{Cstring}, Ptr{Cstring}, Ptr{Cint}),
                 op.info.handle, length(keys), keys, vals, n)
    return Int(n[])
end

"""
    op_gradient(op::Op, inputs, ograds; attributes...) -> Vector{NDArray}

The gradients of `op`'s inputs for the gradients `ograds` of its outputs: the op's gradient
definition (the one executors use) run on arrays, in training mode.
"""
function op_gradient(op::Op, inputs::AbstractVector{NDArray}, ograds::AbstractVector{NDArray}; kwargs...)
    xs = collect(NDArray, inputs)
    gs = collect(NDArray, ograds)
    keys = String[string(k) for (k, _) in kwargs]
    vals = String[_attr(v) for (_, v) in kwargs]
    n = Ref{Cint}(0)
    grads = Ref{Ptr{Ptr{Cvoid}}}(C_NULL)
    handles = GC.@preserve xs gs begin
        _borrowed() do
            @check ccall((:AxOpGradient, libaxle()), Cint,
                         (Ptr{Cvoid}, Cint, Ptr{Ptr{Cvoid}}, Cint, Ptr{Cstring}, Ptr{Cstring}, Cint, Ptr{Ptr{Cvoid}},
                          Ptr{Cint}, Ptr{Ptr{Ptr{Cvoid}}}),
                         op.info.handle, length(xs), _handles(xs), length(keys), keys, vals, length(gs), _handles(gs),
                         n, grads)
            Ptr{Cvoid}[unsafe_load(grads[], i) for i in 1:n[]]
        end
    end
    return NDArray[NDArray(h) for h in handles]
end

# ---- generated functions -------------------------------------------------------------------------------
# Ops whose Base function Axle gives its own Julia meaning for NDArrays (`reshape` takes Julia
# sizes): they are reachable as `Axle.ops[:name]` only.
const _HANDWRITTEN = (:reshape,)

function _docstring(info::OpInfo)
    io = IOBuffer()
    println(io, "    Axle.", info.name, "(inputs...; attributes...)")
    println(io)
    info.canonical == info.name || println(io, "An alias of `", info.canonical, "`. ")
    println(io, info.doc)
    println(io)
    println(io, "Inputs: ", info.num_inputs < 0 ? "any number" : isempty(info.input_names) ? "none" :
                join(("`" * n * "`" for n in info.input_names), ", "), ".")
    if !isempty(info.param_names)
        println(io)
        println(io, "Attributes:")
        for (n, t, d) in zip(info.param_names, info.param_types, info.param_docs)
            println(io, "- `", n, "` (", t, "): ", d)
        end
    end
    println(io)
    print(io, "See `Axle.Op` for how inputs and attributes are passed.")
    return String(take!(io))
end

# Defines the function of one op: a method of Base's function for names Base exports (for
# NDArray and SymbolicNode first arguments), else a function of this module, unless the module
# already has something of that name.
function _define_op(sym::Symbol, op::Op)
    mod = @__MODULE__
    if Base.isexported(Base, sym)
        sym in _HANDWRITTEN && return :handwritten
        getfield(Base, sym) isa Function || return :skipped
        Core.eval(mod, :(function Base.$sym(x::Union{NDArray,SymbolicNode}, args...; kwargs...)
                             return $op(x, args...; kwargs...)
                         end))
        return :base
    end
    isdefined(mod, sym) && return :skipped
    Core.eval(mod, :(function $sym(args...; kwargs...)
                         return $op(args...; kwargs...)
                     end))
    try
        Core.eval(mod, Expr(:macrocall, Expr(:., :Core, QuoteNode(Symbol("@doc"))), LineNumberNode(@__LINE__, Symbol(@__FILE__)),
                            _docstring(op.info), sym))
    catch err
        @debug "Axle: no docstring for $sym" exception = err
    end
    return :module
end

function _init_ops()
    empty!(ops)
    for name in list_ops()
        op = Op(OpInfo(name))
        sym = Symbol(name)
        ops[sym] = op
        try
            _define_op(sym, op)
        catch err  # the op stays reachable as ops[sym]
            @warn "Axle: no function for op $name" exception = err
        end
    end
    return nothing
end

# ---- operators on NDArrays and symbols ------------------------------------------------------------------
# Elementwise with broadcasting. The core broadcasts numpy's way over its shapes, which is
# Julia's way over Julia sizes (the same dimensions, counted from the other end).
for (f, op, scalar_op, rscalar_op) in ((:+, :broadcast_add, :_plus_scalar, :_plus_scalar),
                                       (:-, :broadcast_sub, :_minus_scalar, :_rminus_scalar),
                                       (:*, :broadcast_mul, :_mul_scalar, :_mul_scalar),
                                       (:/, :broadcast_div, :_div_scalar, :_rdiv_scalar))
    for T in (:NDArray, :SymbolicNode)
        @eval begin
            Base.broadcasted(::typeof($f), a::$T, b::$T) = _op($(QuoteNode(op)))(a, b)
            Base.broadcasted(::typeof($f), a::$T, b::Real) = _op($(QuoteNode(scalar_op)))(a; scalar = b)
            Base.broadcasted(::typeof($f), a::Real, b::$T) = _op($(QuoteNode(rscalar_op)))(b; scalar = a)
        end
    end
end

for T in (:NDArray, :SymbolicNode)
    @eval begin
        Base.:+(a::$T, b::$T) = _op(:broadcast_add)(a, b)
        Base.:-(a::$T, b::$T) = _op(:broadcast_sub)(a, b)
        Base.:-(a::$T) = _op(:negative)(a)
        Base.:*(a::$T, b::Real) = _op(:_mul_scalar)(a; scalar = b)
        Base.:*(a::Real, b::$T) = _op(:_mul_scalar)(b; scalar = a)
        Base.:/(a::$T, b::Real) = _op(:_div_scalar)(a; scalar = b)
    end
end
