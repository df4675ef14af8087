"""
    Axle

Julia binding of Axle's C API (`include/axle.h`): plain `ccall`s into `libaxle`, no C glue.

- `NDArray`: an n-dimensional array of the core. **Julia's dimensions are the core's in reverse
  order** (the core is row-major, Julia column-major, and both share the same memory): a core
  array of shape `(2, 3)` is a Julia `NDArray` of `size` `(3, 2)`, and `Array(x)` is that
  array's memory read as a Julia `Array`, without any transposition.
- Op functions are generated when the module initialises, from the core's registry
  (`AxListOps`, `AxOpGetInfo`): `Axle.FullyConnected`, `Axle.broadcast_add`, ...; ops whose
  names Base exports (`exp`, `sum`, `transpose`, ...) become methods of Base's functions for
  `NDArray` and `SymbolicNode`. Every op is also reachable as `Axle.ops[:name]`. Op attributes
  are the core's: `axis`, `shape`, `kernel` count dimensions as the core does (row-major).
- `SymbolicNode` (graphs), `Executor` (`bind`, `forward`, `backward`), `.params` files
  (`Axle.save`, `Axle.load`).

The library is `ENV["AXLE_LIB"]` (the file, or a directory holding it) or, failing that, the
one installed with the Python package `axle` (found by running `python3`, or `ENV["AXLE_PYTHON"]`).
"""
module Axle

using Libdl

export AxleError, Context, cpu, gpu,
       NDArray, free!, waitall, live_handles, memory_stats,
       SymbolicNode, Variable, Group, list_arguments, list_outputs, list_auxiliary_states,
       list_inputs, infer_shape, infer_type, to_json, from_json,
       Executor, forward, backward

# Axle's own creation functions for NDArrays, like MXNet.jl's `mx.zeros`. Declared first so that
# the names are this module's own from the start (Base's `zeros`, `ones` and `empty` stay
# reachable as `Base.zeros`, ...; this module never uses them unqualified).
function zeros end
function ones end
function empty end

include("base.jl")
include("ndarray.jl")
include("symbol.jl")
include("ops.jl")  # after symbol.jl: its signatures name SymbolicNode
include("executor.jl")
include("io.jl")

function __init__()
    # Precompilation runs __init__ too: the library is not needed then, and definitions made
    # at that point would be saved with the package and made again at load.
    _generating_output() && return
    _load_library()
    _check_version()
    _init_ops()
    return nothing
end

end # module Axle
