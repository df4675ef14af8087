# The Julia binding's tests: the shared conformance cases (conformance.jl), then unit tests of
# the binding itself. Run with `julia --project=bindings_julia -e 'using Pkg; Pkg.test()'`; the
# library is found as src/Axle.jl says (ENV["AXLE_LIB"] or the Python package).

using Test
using Axle
using Axle: free!

include("conformance.jl")

const CONFORMANCE = get(ENV, "AXLE_CONFORMANCE_DIR", joinpath(@__DIR__, "..", "..", "tests", "conformance"))

@testset "Axle" begin

@testset "conformance cases" begin
    results = run_conformance(CONFORMANCE)
    counts = Dict(s => count(r -> r[2] == s, results) for s in (:pass, :fail, :skip))
    for (name, status, msg) in results
        status == :skip && println("SKIP $name: $msg")
        status == :fail && println("FAIL $name: $msg")
    end
    println("conformance (Julia): $(length(results)) cases, $(counts[:pass]) passed, $(counts[:fail]) failed, ",
            "$(counts[:skip]) skipped")
    @test length(results) >= 200
    for (name, status, msg) in results
        if status == :skip
            @test_skip name
        else
            @test (name, status, msg) == (name, :pass, "")
        end
    end
end

@testset "library" begin
    @test isfile(Axle.libaxle())
    @test Axle.version().major == Axle.AX_VERSION_MAJOR
    @test Axle.engine_type() in ("ThreadedEngine", "NaiveEngine")
    @test Axle.num_gpus() >= 0
    @test Axle.last_error() isa String
    @test length(Axle.ops) >= 100
end

@testset "NDArray <-> Array, every dtype" begin
    for T in (Float32, Float64, Float16, UInt8, Int32, Int8, Int64, Bool)
        a = rand(T, 3, 4, 2)
        x = NDArray(a)
        @test size(x) == (3, 4, 2)
        @test ndims(x) == 3
        @test length(x) == 24
        @test eltype(x) == T
        @test Array(x) == a
        b = Array{T}(undef, 3, 4, 2)
        @test copyto!(b, x) === b
        @test b == a
        free!(x)
    end
    x = NDArray(Float32[1 2; 3 4])
    @test Array{Float64}(x) == [1.0 2.0; 3.0 4.0]
    @test Axle.context(x) == cpu()
    @test Array(NDArray(fill(2.5))) == fill(2.5)  # 0-dimensional
    @test size(NDArray(Float32[])) == (0,)
    @test_throws ArgumentError NDArray(["not", "numbers"])
    @test_throws DimensionMismatch copyto!(x, zeros(Float32, 3, 3))
    @test_throws ArgumentError copyto!(zeros(Float64, 2, 2), x)
end

@testset "creation" begin
    @test Array(Axle.zeros(Float64, 2, 3)) == zeros(2, 3)
    @test Array(Axle.ones(2, 3)) == ones(Float32, 2, 3)
    @test Array(Axle.ones(Int32, (4,))) == ones(Int32, 4)
    @test size(Axle.empty(Int8, 5)) == (5,)
    x = NDArray(undef, Float32, 2, 2)
    @test Array(fill!(x, 7)) == fill(7.0f0, 2, 2)
    y = copy(x)
    fill!(x, 1)
    @test Array(y) == fill(7.0f0, 2, 2)
    @test Array(copyto!(y, x)) == ones(Float32, 2, 2)
    @test sprint(show, x) == "NDArray{Float32} 2×2 @cpu(0)"
end

@testset "column-major mapping" begin
    a = Float32[1 3 5; 2 4 6]          # Julia 2×3: the core sees shape (3, 2), rows [1 2], [3 4], [5 6]
    x = NDArray(a)
    @test size(x) == (2, 3)
    # the core's axis 0 is Julia's last dimension
    @test Array(sum(x; axis = 0)) == vec(sum(a; dims = 2))
    @test Array(sum(x; axis = 1)) == vec(sum(a; dims = 1))
    # FullyConnected: data (features, batch), weight (features, hidden) in Julia's order
    data = rand(Float32, 4, 5)
    w = rand(Float32, 4, 3)
    b = rand(Float32, 3)
    y = Axle.FullyConnected(NDArray(data), NDArray(w), NDArray(b); num_hidden = 3)
    @test size(y) == (3, 5)
    @test Array(y) ≈ w' * data .+ b
    # transposing the core's axes transposes Julia's
    @test Array(transpose(x)) == permutedims(a)
end

@testset "views share memory" begin
    a = Float32.(reshape(1:12, 3, 4))
    x = NDArray(a)
    r = reshape(x, 4, 3)
    @test size(r) == (4, 3)
    @test Array(r) == reshape(a, 4, 3)
    @test size(reshape(x, :, 2)) == (6, 2)
    @test Array(selectdim(x, 2, 2)) == a[:, 2]
    @test Array(selectdim(x, 2, 2:3)) == a[:, 2:3]
    @test_throws ArgumentError selectdim(x, 1, 1)
    fill!(selectdim(x, 2, 1), 0)
    @test Array(x)[:, 1] == zeros(Float32, 3)
    fill!(r, -1)
    @test all(==(-1), Array(x))
end

@testset "zero-copy unsafe_wrap" begin
    a = rand(Float64, 3, 2)
    x = NDArray(a)
    w = unsafe_wrap(Array, x)
    @test w isa Matrix{Float64}
    @test w == a
    w[2, 1] = 42.0
    @test Array(x)[2, 1] == 42.0
    free!(x)
    @test w[2, 1] == 42.0  # the DLPack reference keeps the memory
    @test size(unsafe_wrap(Array, NDArray(Float32[]))) == (0,)
end

@testset "generated op functions" begin
    @test haskey(Axle.ops, :FullyConnected)
    info = Axle.ops[:FullyConnected].info
    @test info.input_names == ["data", "weight", "bias"]
    @test "num_hidden" in info.param_names
    @test isdefined(Axle, :broadcast_add) && isdefined(Axle, :Activation)
    a = rand(Float32, 3, 4) .- 0.5f0
    b = rand(Float32, 3, 4)
    x, y = NDArray(a), NDArray(b)
    @test Array(exp(x)) ≈ exp.(a)
    @test Array(abs(x)) == abs.(a)
    @test Array(Axle.relu(x)) == max.(a, 0)
    @test Array(Axle.Activation(x; act_type = :tanh)) ≈ tanh.(a)
    @test Array(Axle.broadcast_add(x, y)) ≈ a + b
    @test Array(Axle.broadcast_add(; lhs = x, rhs = y)) ≈ a + b        # inputs by name
    @test Array(Axle.clip(x, 0, 0.25)) == clamp.(a, 0, 0.25f0)         # attributes by position
    @test Array(Axle.add_n(x, y, x)) ≈ 2a + b                          # num_args filled in
    @test Array(Axle._zeros(; shape = (2, 3), dtype = Float64)) == zeros(3, 2)
    z = NDArray(undef, Float32, 3, 4)
    @test Axle.broadcast_mul(x, y; out = z) === z
    @test Array(z) ≈ a .* b
    parts = Axle.SliceChannel(x; num_outputs = 2, axis = 0)             # the core's axis 0: Julia's last
    @test parts isa Vector{NDArray} && length(parts) == 2
    @test Array(parts[1]) == a[:, 1:2]
    @test Axle.num_outputs(Axle.ops[:SliceChannel]; num_outputs = 3) == 3
    g = Axle.op_gradient(Axle.ops[:square], [x], [NDArray(ones(Float32, 3, 4))])
    @test Array(g[1]) ≈ 2a
end

@testset "operators" begin
    a = rand(Float32, 3, 4) .+ 1
    b = rand(Float32, 3, 4) .+ 1
    c = rand(Float32, 3)
    x, y, v = NDArray(a), NDArray(b), NDArray(c)
    @test Array(x + y) ≈ a + b
    @test Array(x - y) ≈ a - b
    @test Array(-x) == -a
    @test Array(x .* y) ≈ a .* b
    @test Array(x ./ y) ≈ a ./ b
    @test Array(x .+ v) ≈ a .+ c                                      # Julia's broadcasting
    @test Array(2 .* x) ≈ 2 .* a
    @test Array(x * 2) ≈ a * 2
    @test Array(x / 2) ≈ a / 2
    @test Array(1 .- x) ≈ 1 .- a
    @test Array(1 ./ x) ≈ 1 ./ a
    @test Array(x .- 1) ≈ a .- 1
end

@testset "errors" begin
    x = NDArray(zeros(Float32, 3, 2))
    w = NDArray(zeros(Float32, 5, 4))
    err = try
        Axle.FullyConnected(x, w; num_hidden = 4, no_bias = true)
        nothing
    catch e
        e
    end
    @test err isa AxleError
    @test occursin("FullyConnected", err.msg)
    @test Axle.status_name(err.status) == "SHAPE"
    @test occursin("AxleError (SHAPE)", sprint(showerror, err))
    @test_throws AxleError Axle.Activation(x; act_type = :no_such_activation)
    @test_throws AxleError Axle.load("/no/such/file.params")
    @test_throws ArgumentError Axle.broadcast_add(x, Variable(:v))
    free!(x)
    @test_throws ArgumentError size(x)
    @test sprint(show, x) == "NDArray(freed)"
    free!(x)  # twice: nothing happens
end

@testset "symbols" begin
    data = Variable(:data)
    fc = Axle.FullyConnected(data; num_hidden = 10, name = "fc1")
    act = Axle.Activation(fc; act_type = :relu, name = "relu1")
    @test list_arguments(act) == ["data", "fc1_weight", "fc1_bias"]
    @test list_outputs(act) == ["relu1_output"]
    @test list_inputs(act) == ["data", "fc1_weight", "fc1_bias"]
    @test Axle.get_name(act) == "relu1"
    arg_shapes, out_shapes, aux_shapes = infer_shape(act; data = (784, 100))
    @test arg_shapes == [(784, 100), (784, 10), (10,)]
    @test out_shapes == [(10, 100)]
    @test isempty(aux_shapes)
    arg_types, out_types, _ = infer_type(act; data = Float64)
    @test arg_types == [Float64, Float64, Float64] && out_types == [Float64]
    @test_throws AxleError infer_shape(act; data = (784, 100), fc1_weight = (3, 3))
    copy_ = from_json(to_json(act))
    @test list_arguments(copy_) == list_arguments(act)
    @test to_json(copy(act)) == to_json(act)
    g = Group(fc, act)
    @test list_outputs(g) == ["fc1_output", "relu1_output"]
    @test Axle.num_outputs(g) == 2
    @test list_outputs(g[2]) == ["relu1_output"]
    @test list_outputs(g["fc1_output"]) == ["fc1_output"]
    @test Axle.get_attr(fc, :num_hidden) == "10"
    Axle.set_attr!(fc, "__lr_mult__", 2)
    @test Axle.list_attr(fc)["__lr_mult__"] == "2"
    auto = Axle.FullyConnected(data; num_hidden = 2)
    @test startswith(Axle.get_name(auto), "fullyconnected")
    net = act(data = Variable(:x))                                     # composition
    @test list_arguments(net)[1] == "x"
    bn = Axle.BatchNorm(Variable(:d); name = "bn")
    @test list_auxiliary_states(bn) == ["bn_moving_mean", "bn_moving_var"]
    s = Variable(:a) .+ Variable(:b)
    @test list_arguments(s) == ["a", "b"]
    @test occursin("fc1", Axle.debug_str(act))
end

@testset "executors" begin
    sym = Axle.FullyConnected(Variable(:data); num_hidden = 3, name = "fc")
    x = rand(Float32, 4, 5)
    w = rand(Float32, 4, 3)
    b = rand(Float32, 3)
    head = rand(Float32, 3, 5)
    args = Dict("data" => NDArray(x), "fc_weight" => NDArray(w), "fc_bias" => NDArray(b))
    grads = Dict(k => NDArray(zeros(Float32, size(v))) for (k, v) in args)
    e = bind(sym, cpu(), args; args_grad = grads, grad_req = :write)
    @test e isa Executor
    outs = forward(e; is_train = true)
    @test length(outs) == 1
    @test Array(outs[1]) ≈ w' * x .+ b
    backward(e, [NDArray(head)])
    @test Array(grads["fc_weight"]) ≈ x * head'
    @test Array(grads["fc_bias"]) ≈ vec(sum(head; dims = 2))
    @test Array(grads["data"]) ≈ w * head
    @test Axle.head_grad_needed(e) == [true]
    @test Axle.memory_plan(e).num_entries >= 0
    @test occursin("fc", Axle.debug_str(e))
    # forward copies keyword arrays into the arguments
    x2 = rand(Float32, 4, 5)
    forward(e; data = x2)
    @test Array(e.outputs[1]) ≈ w' * x2 .+ b
    # grad_req :add accumulates over passes
    acc = Dict(k => NDArray(zeros(Float32, size(v))) for (k, v) in args)
    e2 = bind(sym, cpu(), args; args_grad = acc, grad_req = Dict("fc_weight" => :add))
    for _ in 1:2
        forward(e2; is_train = true)
        backward(e2, NDArray(head))
    end
    @test Array(acc["fc_weight"]) ≈ 2 .* (x * head')
    @test e2.grad_arrays[1] === nothing                                # data: grad_req :null
    @test Array(acc["data"]) == zeros(Float32, 4, 5)
    # simple_bind allocates from shapes
    e3 = Axle.simple_bind(sym, cpu(); data = (4, 5))
    @test size(e3.arg_arrays[2]) == (4, 3)
    @test size(forward(e3)[1]) == (3, 5)
    @test keys(Axle.arg_dict(e3)) == Set(["data", "fc_weight", "fc_bias"])
    @test_throws ArgumentError bind(sym, cpu(), [NDArray(x)])
    @test_throws AxleError bind(sym, cpu(), [NDArray(x), NDArray(rand(Float32, 2, 2)), NDArray(b)])
    foreach(free!, (e, e2, e3))
end

@testset ".params and symbol files" begin
    dir = mktempdir()
    a, b = rand(Float32, 2, 3), rand(Int32, 4)
    Axle.save(joinpath(dir, "d.params"), Dict("a" => NDArray(a), "b" => NDArray(b)))
    d = Axle.load(joinpath(dir, "d.params"))
    @test d isa Dict{String,NDArray}
    @test Array(d["a"]) == a && Array(d["b"]) == b
    Axle.save(joinpath(dir, "l.params"), [NDArray(a), NDArray(b)])
    l = Axle.load(joinpath(dir, "l.params"), NDArray)
    @test l isa Vector{NDArray} && Array(l[2]) == b
    bytes = read(joinpath(dir, "d.params"))
    @test Array(Axle.load_buffer(bytes)["a"]) == a
    sym = Axle.Activation(Variable(:x); act_type = :relu, name = "act")
    Axle.save(joinpath(dir, "s.json"), sym)
    @test list_outputs(Axle.load(joinpath(dir, "s.json"), SymbolicNode)) == ["act_output"]
    # a file written by the core's own tests: MXNet 1.x's format
    case = joinpath(CONFORMANCE, "cases", first(eachline(joinpath(CONFORMANCE, "cases", "index.txt"))))
    @test Axle.load(joinpath(case, "data.params")) isa Union{Dict{String,NDArray},Vector{NDArray}}
end

@testset "leak accounting" begin
    GC.gc(true)
    GC.enable_finalizers(false)  # nothing else is freed between the measurements
    waitall()
    h0 = live_handles()
    b0 = memory_stats().bytes_in_use
    x = NDArray(rand(Float32, 100))
    y = exp(x)
    s = Variable(:v)
    @test live_handles() == h0 + 3
    waitall()
    @test memory_stats().bytes_in_use > b0
    foreach(free!, (x, y, s))
    waitall()
    @test live_handles() == h0
    @test memory_stats().bytes_in_use == b0
    GC.enable_finalizers(true)
    @test Axle.set_training(true) == false
    @test Axle.set_training(false) == true
end

end # @testset "Axle"
