# The shared conformance cases (tests/conformance, FORMAT.md) run through the Julia binding: load
# each case's symbol and .params, bind, run forward/backward, compare with the float64
# expectations, and check that live handles and bytes in use return to their baseline after each
# case. Mirrors tests/c/test_conformance.c. Skips: tests/conformance/skips/julia.txt; a listed
# case that passes is a failure.

using Axle
using Axle: free!

# ---- meta.txt and skips ----------------------------------------------------------------------------
# "key value" lines; `check` repeats, so every key maps to a vector of values.
function read_meta(path::AbstractString)
    meta = Dict{String,Vector{String}}()
    for raw in eachline(path)
        line = rstrip(raw, '\r')
        (isempty(line) || startswith(line, '#')) && continue
        sp = findfirst(' ', line)
        key, value = sp === nothing ? (String(line), "") : (String(line[1:prevind(line, sp)]), String(line[nextind(line, sp):end]))
        push!(get!(Vector{String}, meta, key), value)
    end
    return meta
end

meta_get(meta, key, default) = haskey(meta, key) ? meta[key][1] : default

# The grad_req of an argument ("name=req" words): write, add or null (absent).
function grad_req_of(meta, arg::AbstractString)
    for word in split(meta_get(meta, "grad_req", ""))
        k, _, v = rpartition_eq(word)
        k == arg && return v == "write" ? :write : v == "add" ? :add : :null
    end
    return :null
end

function rpartition_eq(word)
    i = findlast('=', word)
    return i === nothing ? (String(word), "", "") : (String(word[1:i-1]), "=", String(word[i+1:end]))
end

# A glob over case names: `*` any run of characters, `?` one character.
function glob_match(pattern::AbstractString, name::AbstractString)
    p, s = collect(pattern), collect(name)
    function matches(i, j)
        i > length(p) && return j > length(s)
        if p[i] == '*'
            return matches(i + 1, j) || (j <= length(s) && matches(i, j + 1))
        end
        return j <= length(s) && (p[i] == '?' || p[i] == s[j]) && matches(i + 1, j + 1)
    end
    return matches(1, 1)
end

function read_skips(path::AbstractString)
    skips = Tuple{String,String}[]
    isfile(path) || return skips
    for raw in eachline(path)
        line = strip(raw)
        (isempty(line) || startswith(line, '#')) && continue
        sp = findfirst(' ', line)
        pattern, reason = sp === nothing ? (String(line), "") : (String(line[1:sp-1]), String(strip(line[sp+1:end])))
        push!(skips, (pattern, reason))
    end
    return skips
end

function skip_reason(skips, name)
    for (pattern, reason) in skips
        glob_match(pattern, name) && return reason
    end
    return nothing
end

# ---- comparisons ---------------------------------------------------------------------------------------
struct CaseFailure <: Exception
    msg::String
end

fail(msg) = throw(CaseFailure(msg))

# The core's shape of an array (Julia's size reversed), as the case files state shapes.
core_shape(x::NDArray) = reverse(size(x))

values64(x::NDArray) = Float64.(vec(Array(x)))

function compare(key, got::NDArray, expected::NDArray, rtol, atol)
    core_shape(got) == core_shape(expected) ||
        fail("$key: shape $(core_shape(got)) differs from the expected $(core_shape(expected))")
    g, e = values64(got), values64(expected)
    for i in eachindex(g, e)
        a, b = g[i], e[i]
        (a == b || (isnan(a) && isnan(b)) || abs(a - b) <= atol + rtol * abs(b)) && continue
        fail("$key: element $(i - 1): got $a, expected $b (rtol $rtol, atol $atol)")
    end
    return nothing
end

# One `check` line (FORMAT.md, "Random ops") on an array; `lookup` finds the executor's arrays by key.
function run_check(key, spec, got::NDArray, data, lookup)
    words = split(spec)
    what = words[1]
    args = words[2:end]
    g = values64(got)
    stat = NaN
    ok = if what == "shape"
        core_shape(got) == Tuple(parse.(Int, args))
    elseif what in ("mean", "std", "min", "max")
        m = sum(g) / length(g)
        if what == "mean"
            stat = m
        elseif what == "std"  # population
            stat = sqrt(sum((g .- m) .^ 2) / length(g))
        else
            stat = what == "min" ? minimum(g) : maximum(g)
        end
        abs(stat - parse(Float64, args[1])) <= parse(Float64, args[2])
    elseif what == "range"
        lo, hi = parse(Float64, args[1]), parse(Float64, args[2])
        all(v -> lo <= v <= hi, g)
    elseif what == "zero_frac"
        stat = count(==(0), g) / length(g)
        abs(stat - parse(Float64, args[1])) <= parse(Float64, args[2])
    elseif what in ("zero_or", "sorted")
        stored = get(data, key, nothing)
        stored === nothing && fail("check $key: data.params has no $key")
        e = values64(stored)
        length(e) == length(g) &&
            (what == "sorted" ? sort(g) == sort(e) :
             all(i -> g[i] == 0 || abs(g[i] - e[i]) <= 1e-5 + 1e-5 * abs(e[i]), eachindex(g)))
    elseif what == "zeros_match"
        other = lookup(String(args[1]))
        other === nothing && fail("check $key: no array $(args[1]) to match")
        o = values64(other)
        length(o) == length(g) && all(i -> (g[i] == 0) == (o[i] == 0), eachindex(g))
    else
        fail("check $key: unknown check $what")
    end
    ok || fail("check $key $spec failed (statistic $stat)")
    return nothing
end

checks_of(meta, key) = [String(c[length(key)+2:end]) for c in get(meta, "check", String[]) if startswith(c, key * " ")]

function verify(meta, data, key, got::NDArray, lookup)
    specs = checks_of(meta, key)
    if isempty(specs)
        expected = get(data, key, nothing)
        expected === nothing || compare(key, got, expected, parse(Float64, meta_get(meta, "rtol", "1e-5")),
                                        parse(Float64, meta_get(meta, "atol", "1e-6")))
    else
        foreach(spec -> run_check(key, spec, got, data, lookup), specs)
    end
    return nothing
end

# ---- binding and running --------------------------------------------------------------------------------
# One executor with the arrays it was bound to; `owned` are the arrays this runner made for it.
struct Bound
    exec::Executor
    args::Vector{NDArray}
    grads::Vector{Union{Nothing,NDArray}}
    aux::Vector{NDArray}
    owned::Vector{NDArray}
end

free_bound!(b::Bound) = (free!(b.exec); foreach(free!, b.owned))

# The executor's arrays by key: <out>:i, <grad>:name, aux_out:name.
function view_lookup(b::Bound, out_prefix, grad_prefix)
    arg_names = b.exec.arg_names
    aux_names = b.exec.aux_names
    return function (key::AbstractString)
        prefix, _, rest = split_key(key)
        if prefix == out_prefix
            i = parse(Int, rest) + 1
            return i <= length(b.exec.outputs) ? b.exec.outputs[i] : nothing
        elseif prefix == grad_prefix
            i = findfirst(==(rest), arg_names)
            return i === nothing ? nothing : b.grads[i]
        elseif prefix == "aux_out"
            i = findfirst(==(rest), aux_names)
            return i === nothing ? nothing : b.aux[i]
        end
        return nothing
    end
end

function split_key(key)
    i = findfirst(':', key)
    return i === nothing ? (String(key), "", "") : (String(key[1:i-1]), ":", String(key[i+1:end]))
end

# A new array like `like` holding `init` (or zeros); recorded in `owned`.
function grad_array(like::NDArray, init, owned)
    g = NDArray(undef, eltype(like), size(like))
    push!(owned, g)
    init === nothing ? fill!(g, 0) : copyto!(g, Array(init))
    return g
end

# Binds sym; arguments from `prefix` entries (falling back to arg:), except the names in `share`,
# which take the arrays and gradient arrays of the executor `base`.
function bind_case(sym, data, meta, prefix; base::Union{Nothing,Bound} = nothing, share = String[])
    arg_names = list_arguments(sym)
    aux_names = list_auxiliary_states(sym)
    args = NDArray[]
    grads = Union{Nothing,NDArray}[]
    reqs = Symbol[]
    aux = NDArray[]
    owned = NDArray[]
    try
        for (i, n) in enumerate(arg_names)
            req = grad_req_of(meta, n)
            push!(reqs, req)
            if base !== nothing && n in share
                push!(args, base.args[i])
                push!(grads, base.grads[i])
                continue
            end
            x = get(data, "$prefix:$n", get(data, "arg:$n", nothing))
            x === nothing && fail("data.params has no arg:$n")
            push!(args, x)
            push!(grads, req == :null ? nothing : grad_array(x, get(data, "grad_init:$n", nothing), owned))
        end
        for n in aux_names
            x = get(data, "aux:$n", nothing)
            x === nothing && fail("data.params has no aux:$n")
            push!(aux, x)
        end
        exec = bind(sym, cpu(), args; args_grad = grads, grad_req = reqs, aux_states = aux,
                    shared_exec = base === nothing ? nothing : base.exec)
        return Bound(exec, args, grads, aux, owned)
    catch
        foreach(free!, owned)
        rethrow()
    end
end

function run_passes(b::Bound, data, meta, head_prefix)
    passes = parse(Int, meta_get(meta, "passes", "1"))
    is_train = meta_get(meta, "is_train", "0") == "1"
    needs_backward = any(!isnothing, b.grads)
    heads = Union{Nothing,NDArray}[get(data, "$head_prefix:$(i - 1)", nothing) for i in 1:length(b.exec.outputs)]
    any(!isnothing, heads) || empty!(heads)
    for _ in 1:passes
        forward(b.exec; is_train)
        needs_backward && backward(b.exec, heads)
    end
    waitall()
    return nothing
end

const DTYPE_NAMES = Dict(Float32 => "float32", Float64 => "float64", Float16 => "float16", UInt8 => "uint8",
                         Int32 => "int32", Int8 => "int8", Int64 => "int64", Bool => "bool")

function check_dtypes(meta, outputs)
    for (i, want) in enumerate(split(meta_get(meta, "out_dtype", "")))
        i <= length(outputs) || break
        got = DTYPE_NAMES[eltype(outputs[i])]
        got == want || fail("an output has dtype $got, expected $want")
    end
    return nothing
end

# Checks every expected entry with one of the prefixes against the executor's arrays, then the
# checks on keys that have no stored expectation (random outputs).
function verify_all(meta, data, lookup, prefixes)
    for key in sort!(collect(keys(data)))
        prefix, _, _ = split_key(key)
        prefix in prefixes || continue
        got = lookup(key)
        got === nothing && fail("$key is expected but the executor has no such array")
        verify(meta, data, key, got, lookup)
    end
    for c in get(meta, "check", String[])
        key = String(first(split(c)))
        prefix, _, _ = split_key(key)
        (prefix in prefixes && !haskey(data, key)) || continue
        got = lookup(key)
        got === nothing && fail("check on $key, which the executor does not have")
        verify(meta, data, key, got, lookup)
    end
    return nothing
end

# The graph part of a case; `stage[]` says which stage is running when it throws.
function run_graph(sym, data, meta, stage::Ref{String})
    haskey(meta, "seed") && Axle.seed!(parse(Int, meta_get(meta, "seed", "0")))
    share = haskey(meta, "exec2_share") ? split(meta_get(meta, "exec2_share", "")) : nothing
    stage[] = "bind"
    b1 = bind_case(sym, data, meta, "arg")
    b2 = nothing
    try
        stage[] = "run"
        run_passes(b1, data, meta, "head")
        stage[] = "compare"
        check_dtypes(meta, b1.exec.outputs)
        # with a second executor, the first one's outputs are read before it runs (they may share buffers)
        verify_all(meta, data, view_lookup(b1, "out", "grad"), share === nothing ? ("out", "aux_out", "grad") : ("out", "aux_out"))
        if share !== nothing
            stage[] = "bind"
            b2 = bind_case(sym, data, meta, "arg2"; base = b1, share = String.(share))
            stage[] = "run"
            run_passes(b2, data, meta, "head2")
            stage[] = "compare"
            verify_all(meta, data, view_lookup(b2, "out2", "grad2"), ("out2", "grad2"))
            verify_all(meta, data, view_lookup(b1, "out", "grad"), ("grad",))
        end
    finally
        b2 === nothing || free_bound!(b2)
        free_bound!(b1)
    end
    return nothing
end

# Runs one case: (true, "") when it passes, else (false, why).
function run_case(dir, name)
    case = joinpath(dir, "cases", name)
    meta = read_meta(joinpath(case, "meta.txt"))
    want_stage = meta_get(meta, "error_stage", nothing)
    want_msg = meta_get(meta, "error", "")
    stage = Ref("load_symbol")
    sym = nothing
    loaded = nothing
    failure = nothing
    try
        sym = Axle.load(joinpath(case, "symbol.json"), SymbolicNode)
        stage[] = "load_params"
        loaded = Axle.load(joinpath(case, "data.params"))
        data = loaded isa AbstractDict ? loaded : Dict{String,NDArray}()
        run_graph(sym, data, meta, stage)
    catch err
        failure = err
    finally
        loaded isa AbstractDict && foreach(free!, values(loaded))
        loaded isa AbstractVector && foreach(free!, loaded)
        sym === nothing || free!(sym)
    end
    if want_stage !== nothing
        failure === nothing && return (false, "expected an error at $want_stage, but the case ran")
        why = failure isa AxleError ? failure.msg : sprint(showerror, failure)
        stage[] == want_stage || return (false, "failed at $(stage[]) ($why), expected at $want_stage")
        failure isa AxleError || return (false, "failed at $(stage[]) with $why, not an error of the core")
        occursin(want_msg, failure.msg) || return (false, "the error \"$(failure.msg)\" does not contain \"$want_msg\"")
        return (true, "")
    end
    failure === nothing && return (true, "")
    failure isa CaseFailure && return (false, failure.msg)
    return (false, "$(stage[]): " * sprint(showerror, failure))
end

"""
    run_conformance(dir) -> results

Every case of `dir/cases/index.txt`: a vector of `(name, status, message)`, status `:pass`,
`:fail` or `:skip`. Each case runs with finalizers held off, so that the garbage collector
cannot free handles of earlier objects in the middle of its leak accounting.
"""
function run_conformance(dir::AbstractString)
    skips = read_skips(joinpath(dir, "skips", "julia.txt"))
    results = Tuple{String,Symbol,String}[]
    GC.gc(true)
    for raw in eachline(joinpath(dir, "cases", "index.txt"))
        name = strip(raw)
        isempty(name) && continue
        name = String(name)
        GC.enable_finalizers(false)
        ok, msg = try
            waitall()
            h0 = live_handles()
            b0 = memory_stats(cpu()).bytes_in_use
            ok, msg = try
                run_case(dir, name)
            catch err  # a case this runner cannot read
                (false, sprint(showerror, err))
            end
            try
                waitall()  # an error case's async error was reported above
            catch
            end
            if ok && live_handles() != h0
                ok, msg = false, "live handles did not return to their baseline ($(live_handles()) != $h0)"
            end
            if ok && memory_stats(cpu()).bytes_in_use != b0
                ok, msg = false, "bytes in use did not return to their baseline"
            end
            (ok, msg)
        finally
            GC.enable_finalizers(true)
        end
        reason = skip_reason(skips, name)
        if reason !== nothing && ok
            push!(results, (name, :fail, "listed in skips/julia.txt ($reason) but passes: remove it from the list"))
        elseif reason !== nothing
            push!(results, (name, :skip, "$reason ($msg)"))
        else
            push!(results, (name, ok ? :pass : :fail, msg))
        end
    end
    return results
end
