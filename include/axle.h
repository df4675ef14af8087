/*
 * axle.h -- the one public C interface of Axle.
 *
 * Conventions (every binding relies on them):
 *  - Every fallible function returns int: AX_OK (0) on success, otherwise one of AxStatus.
 *    The message of the last failure on the calling thread is returned by AxGetLastError().
 *    On failure, out-parameters are left untouched.
 *  - Handles are opaque. Every handle the caller receives is owned by the caller unless the
 *    comment says "borrowed". Free functions return void, accept NULL, and ignore a handle
 *    that is not live (a double free is reported by AxGetLastError, never a crash).
 *  - Handles carry a type tag checked on every call: a freed handle or a handle of another
 *    kind gives AX_ERR_INVALID_HANDLE.
 *  - Strings are UTF-8. Shapes are int64_t arrays; counts are int or size_t.
 *  - "borrowed, thread-local": the pointer is valid until the next call into Axle on the
 *    same thread.
 *  - Data type codes are MXNet's type flags (AxDType); device types are MXNet's (AxDevType).
 *  - All work is asynchronous: ops are pushed to a dependency engine. An error raised by an
 *    op while it runs is reported by the next wait on the arrays it writes (WaitToRead,
 *    SyncCopyToCPU, AxEngineWaitAll).
 */
#ifndef AXLE_H_
#define AXLE_H_

#include <stddef.h>
#include <stdint.h>

#define AX_VERSION_MAJOR 0
#define AX_VERSION_MINOR 1
#define AX_VERSION_PATCH 0

#if defined(_WIN32)
#  if defined(AXLE_BUILDING)
#    define AX_API __declspec(dllexport)
#  else
#    define AX_API __declspec(dllimport)
#  endif
#else
#  define AX_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes, types ------------------------------------------------------------ */
typedef enum {
  AX_OK = 0,
  AX_ERR_INVALID_ARGUMENT = 1, /* a NULL pointer, a bad value, an unknown attribute */
  AX_ERR_INVALID_HANDLE = 2,   /* a freed handle, or a handle of another kind */
  AX_ERR_SHAPE = 3,            /* shapes that do not fit the op */
  AX_ERR_TYPE = 4,             /* dtypes that do not fit the op */
  AX_ERR_INDEX = 5,            /* an axis or index out of range */
  AX_ERR_IO = 6,               /* a file that cannot be read, written or parsed */
  AX_ERR_OUT_OF_MEMORY = 7,    /* an allocation failed */
  AX_ERR_NOT_SUPPORTED = 8,    /* valid, but not available here (e.g. gpu() without a GPU) */
  AX_ERR_RUNTIME = 9           /* any other failure (an error raised inside an op keeps its own code) */
} AxStatus;

typedef enum {
  AX_FLOAT32 = 0, AX_FLOAT64 = 1, AX_FLOAT16 = 2, AX_UINT8 = 3,
  AX_INT32 = 4, AX_INT8 = 5, AX_INT64 = 6, AX_BOOL = 7
} AxDType;

typedef enum { AX_CPU = 1, AX_GPU = 2 } AxDevType;

typedef struct AxNDArray_ *AxNDArrayHandle; /* an n-dimensional array */
typedef struct AxOp_ *AxOpHandle;           /* an operator of the registry; static, never freed */
typedef struct AxSymbol_ *AxSymbolHandle;     /* a symbolic graph's outputs */
typedef struct AxExecutor_ *AxExecutorHandle; /* a symbol bound to arrays */

/* What AxSymbolListNames lists. */
typedef enum { AX_SYM_ARGUMENTS = 0, AX_SYM_AUX_STATES = 1, AX_SYM_INPUTS = 2, AX_SYM_OUTPUTS = 3 } AxSymbolList;
/* grad_req codes (MXNet's). */
typedef enum { AX_GRAD_NULL = 0, AX_GRAD_WRITE = 1, AX_GRAD_INPLACE = 2, AX_GRAD_ADD = 3 } AxGradReq;

/* ---- errors and versions -------------------------------------------------------------- */
/* Message of the last error on this thread ("" if none). Borrowed, thread-local. */
AX_API const char *AxGetLastError(void);
/* Writes the library's version (may differ from the AX_VERSION_* this header carries). */
AX_API int AxGetVersion(int *major, int *minor, int *patch);
/* Number of live handles of any kind (leak accounting). */
AX_API int AxGetLiveHandleCount(int64_t *out);

/* ---- engine ----------------------------------------------------------------------------- */
/* Blocks until every pushed op has run; reports the first async error not yet reported. */
AX_API int AxEngineWaitAll(void);
/* Name of the engine in use: "ThreadedEngine" or "NaiveEngine". Borrowed, static. */
AX_API int AxEngineGetType(const char **out);

/* ---- devices and storage ---------------------------------------------------------------- */
/* Number of usable GPUs (0 when none or no CUDA runtime). */
AX_API int AxGetGPUCount(int *out);
/* Pool statistics of one device: bytes held by live arrays, bytes kept in the pool for
 * reuse, allocations taken from the system, allocations served from the pool, and the peak
 * of bytes_in_use. Any out-parameter may be NULL. */
AX_API int AxStorageGetStats(int dev_type, int dev_id, int64_t *bytes_in_use, int64_t *bytes_pooled,
                             int64_t *num_allocs, int64_t *pool_hits, int64_t *peak_bytes_in_use);
/* Gives the pooled (unused) memory of one device back to the system. */
AX_API int AxStorageEmptyCache(int dev_type, int dev_id);
/* Seeds the random generators of every device. */
AX_API int AxRandomSeed(int seed);

/* ---- NDArray ------------------------------------------------------------------------------ */
/* New uninitialised array. ndim may be 0 (a scalar); dims may be 0 (empty).
 * *out: caller frees with AxNDArrayFree. */
AX_API int AxNDArrayCreate(const int64_t *shape, int ndim, int dev_type, int dev_id, int dtype,
                           AxNDArrayHandle *out);
/* Releases the handle. The memory goes back to the pool once no other array views it and
 * the ops pending on it have run. */
AX_API void AxNDArrayFree(AxNDArrayHandle handle);
/* *out_shape: borrowed, valid while the handle lives. */
AX_API int AxNDArrayGetShape(AxNDArrayHandle handle, int *out_ndim, const int64_t **out_shape);
AX_API int AxNDArrayGetDType(AxNDArrayHandle handle, int *out_dtype);
AX_API int AxNDArrayGetContext(AxNDArrayHandle handle, int *out_dev_type, int *out_dev_id);
/* Copy nbytes (must equal size * itemsize) in or out; `data` may be reused as soon as the call
 * returns. Out: waits for pending writes, then copies. In: when a CPU array still has pending
 * work, the bytes are staged and the copy is ordered after that work without waiting (at most
 * one staged copy per array: the next one waits); otherwise it waits, then copies. */
AX_API int AxNDArraySyncCopyFromCPU(AxNDArrayHandle handle, const void *data, size_t nbytes);
AX_API int AxNDArraySyncCopyToCPU(AxNDArrayHandle handle, void *data, size_t nbytes);
/* Copies src into dst (same shape and dtype; any devices), asynchronously through the engine:
 * ordered after earlier writes of src and earlier uses of dst; errors surface at dst's wait. */
AX_API int AxNDArrayCopyFromTo(AxNDArrayHandle src, AxNDArrayHandle dst);
/* Block until the array can be read (pending writes done) / written (all pending ops done).
 * Reports an async error carried by the array. */
AX_API int AxNDArrayWaitToRead(AxNDArrayHandle handle);
AX_API int AxNDArrayWaitToWrite(AxNDArrayHandle handle);
/* A view with another shape over the same memory. dims may hold MXNet's special values
 * 0 (copy this dim), -1 (infer), -2 (copy the rest), -3 (merge two), -4 (split one);
 * reverse applies them right to left. *out: caller frees. */
AX_API int AxNDArrayReshape(AxNDArrayHandle handle, int ndim, const int64_t *dims, int reverse,
                            AxNDArrayHandle *out);
/* A view of rows [begin, end) along the first axis. *out: caller frees. */
AX_API int AxNDArraySlice(AxNDArrayHandle handle, int64_t begin, int64_t end, AxNDArrayHandle *out);
/* A view of row idx of the first axis (the first axis dropped). *out: caller frees. */
AX_API int AxNDArrayAt(AxNDArrayHandle handle, int64_t idx, AxNDArrayHandle *out);

/* Saves arrays in MXNet 1.x's .params format. names is NULL (a list) or num names (a dict). */
AX_API int AxNDArraySave(const char *fname, int num, const AxNDArrayHandle *arrays, const char *const *names);
/* Loads a .params file. *out_arrays: borrowed thread-local array of num handles, each owned
 * by the caller (free each with AxNDArrayFree). *out_names: borrowed thread-local, *out_num_names
 * is 0 for a list. */
AX_API int AxNDArrayLoad(const char *fname, int *out_num, AxNDArrayHandle **out_arrays, int *out_num_names,
                         const char ***out_names);
/* Same as AxNDArrayLoad, from size bytes at buf. */
AX_API int AxNDArrayLoadFromBuffer(const void *buf, size_t size, int *out_num, AxNDArrayHandle **out_arrays,
                                   int *out_num_names, const char ***out_names);

/* DLPack: the unversioned DLManagedTensor (dlpack.h v0.8 ABI) and the versioned
 * DLManagedTensorVersioned (DLPack 1.0).
 * ToDLPack* waits for pending ops on the array and returns a tensor sharing its memory
 * (writable); the consumer calls its deleter once. FromDLPack* takes ownership of the tensor on
 * success (its deleter runs when the last array viewing it is gone); on failure the caller
 * keeps it. Only C-contiguous tensors can be shared. */
AX_API int AxNDArrayToDLPack(AxNDArrayHandle handle, void **out_dlmanaged_tensor);
AX_API int AxNDArrayToDLPackVersioned(AxNDArrayHandle handle, void **out_dlmanaged_tensor_versioned);
/* The same for a consumer on a GPU stream (the stream argument of __dlpack__): for a GPU array,
 * waits only until Axle's pending ops on it are queued, and makes `stream` wait for them on the
 * device (the host does not block). stream: a cudaStream_t as an integer, 1 the legacy default
 * stream, 2 the per-thread default stream, -1 no ordering (the consumer synchronises); 0 and
 * other negative values are errors. A CPU array waits as AxNDArrayToDLPack. versioned != 0:
 * a DLManagedTensorVersioned, else a DLManagedTensor. */
AX_API int AxNDArrayToDLPackForStream(AxNDArrayHandle handle, int versioned, int64_t stream, void **out_tensor);
AX_API int AxNDArrayFromDLPack(void *dlmanaged_tensor, AxNDArrayHandle *out);
AX_API int AxNDArrayFromDLPackVersioned(void *dlmanaged_tensor_versioned, AxNDArrayHandle *out);

/* ---- operators ------------------------------------------------------------------------------ */
/* Names of every registered op. *out_names: borrowed, static. */
AX_API int AxListOps(int *out_num, const char ***out_names);
/* *out: borrowed, static (never freed). */
AX_API int AxGetOpHandle(const char *name, AxOpHandle *out);
/* Describes an op. Every string and array is borrowed and static. num_inputs is -1 for an op
 * with a variable number of inputs, whose count is the attribute named *key_var_num_args.
 * param_types read like MXNet's: "int, optional, default='1'". */
AX_API int AxOpGetInfo(AxOpHandle op, const char **name, const char **doc, int *num_inputs,
                       const char ***input_names, int *num_params, const char ***param_names,
                       const char ***param_types, const char ***param_docs, const char **key_var_num_args);
/* Number of outputs of op for these attributes, hidden ones (Dropout's mask) included. */
AX_API int AxOpGetNumOutputs(AxOpHandle op, int num_params, const char *const *keys, const char *const *vals,
                             int *out);
/* Runs op on inputs with string attributes, asynchronously.
 * If *outputs is NULL the outputs are created: *outputs becomes a borrowed thread-local array of
 * *num_outputs new handles, each owned by the caller. Otherwise *outputs holds *num_outputs
 * caller-owned arrays that receive the results (they must have the inferred shape and dtype).
 * Hidden outputs (Dropout's mask) are not returned, as in MXNet; given arrays may cover the
 * visible outputs only (the hidden ones are then allocated internally) or all of them. */
AX_API int AxImperativeInvoke(AxOpHandle op, int num_inputs, const AxNDArrayHandle *inputs, int *num_outputs,
                              AxNDArrayHandle **outputs, int num_params, const char *const *keys,
                              const char *const *vals);

/* Gradients of one op's inputs for given gradients of its outputs: the op's gradient definition
 * (the one executors use) run on arrays, in training mode. ograds: one per visible output (hidden
 * outputs get zero gradients) or one per output. *out_grads: borrowed thread-local array of
 * *out_num new handles (one per input), each owned by the caller. */
AX_API int AxOpGradient(AxOpHandle op, int num_inputs, const AxNDArrayHandle *inputs, int num_params,
                        const char *const *keys, const char *const *vals, int num_ograds,
                        const AxNDArrayHandle *ograds, int *out_num, AxNDArrayHandle **out_grads);
/* Whether ops run in training mode (Dropout drops, BatchNorm uses batch statistics) on this
 * thread; *prev (may be NULL) receives the previous setting. */
AX_API int AxSetIsTraining(int is_training, int *prev);

/* ---- symbols -------------------------------------------------------------------------------
 * Every AxSymbolHandle returned is owned by the caller (AxSymbolFree). Strings and arrays
 * returned are borrowed, thread-local, valid until the next call on the thread. */
/* A variable, with optional string attributes (__shape__, __dtype__, __lr_mult__, ...). */
AX_API int AxSymbolCreateVariable(const char *name, int num_attrs, const char *const *keys, const char *const *vals,
                                  AxSymbolHandle *out);
/* An op node named `name` (non-empty) on inputs; input_keys NULL or one per input (NULL or ""
 * for positional, else the input's name). Missing inputs become variables "<name>_<input>". */
AX_API int AxSymbolCreateOp(AxOpHandle op, const char *name, int num_params, const char *const *keys,
                            const char *const *vals, int num_inputs, const char *const *input_keys,
                            const AxSymbolHandle *inputs, AxSymbolHandle *out);
/* A copy of sym with free variables replaced, positionally (keys NULL or NULL/"" entries, in
 * AX_SYM_INPUTS order) or by name. */
AX_API int AxSymbolCompose(AxSymbolHandle sym, int num_args, const char *const *keys, const AxSymbolHandle *args,
                           AxSymbolHandle *out);
AX_API int AxSymbolCopy(AxSymbolHandle sym, AxSymbolHandle *out);
/* Frees a handle (NULL is ignored; a freed or foreign handle sets the last error). */
AX_API void AxSymbolFree(AxSymbolHandle sym);
AX_API int AxSymbolGroup(int num, const AxSymbolHandle *syms, AxSymbolHandle *out);
AX_API int AxSymbolGetNumOutputs(AxSymbolHandle sym, int *out);
AX_API int AxSymbolGetOutput(AxSymbolHandle sym, int index, AxSymbolHandle *out);
/* Every output of every node (variables included), in graph order. */
AX_API int AxSymbolGetInternals(AxSymbolHandle sym, AxSymbolHandle *out);
/* The inputs of the output nodes; *out is NULL when they are variables. */
AX_API int AxSymbolGetChildren(AxSymbolHandle sym, AxSymbolHandle *out);
/* Names of the arguments, aux states, all inputs, or outputs (what: an AxSymbolList). */
AX_API int AxSymbolListNames(AxSymbolHandle sym, int what, int *num, const char ***names);
/* The node name when all outputs come from one node (*success 1), else *success 0. */
AX_API int AxSymbolGetName(AxSymbolHandle sym, const char **name, int *success);
/* An attribute of the (single) output node; *success 0 when absent. */
AX_API int AxSymbolGetAttr(AxSymbolHandle sym, const char *key, const char **value, int *success);
/* Sets an attribute of the (single) output node (op parameters are re-checked). */
AX_API int AxSymbolSetAttr(AxSymbolHandle sym, const char *key, const char *value);
/* Attributes: recursive 0: the output node's, as 2*num strings (key, value);
 * recursive 1: every node's, as 3*num strings (node name, key, value). */
AX_API int AxSymbolListAttr(AxSymbolHandle sym, int recursive, int *num, const char ***strs);
/* Shape inference. Known shapes by variable name in CSR form (keys[i] has dims
 * shape_data[ind_ptr[i] .. ind_ptr[i+1]), -1 for an unknown dim). Results for arguments,
 * outputs and aux states: ndim -1 when unknown, dims -1 when unknown. *complete is 1 when
 * every shape is known. Conflicts are errors naming the node, the input and both shapes. */
AX_API int AxSymbolInferShape(AxSymbolHandle sym, int num_known, const char *const *keys, const int *ind_ptr,
                              const int64_t *shape_data, int *arg_num, const int **arg_ndim,
                              const int64_t *const **arg_dims, int *out_num, const int **out_ndim,
                              const int64_t *const **out_dims, int *aux_num, const int **aux_ndim,
                              const int64_t *const **aux_dims, int *complete);
/* Type inference (AxDType codes, -1 unknown). */
AX_API int AxSymbolInferType(AxSymbolHandle sym, int num_known, const char *const *keys, const int *dtypes,
                             int *arg_num, const int **arg_types, int *out_num, const int **out_types, int *aux_num,
                             const int **aux_types, int *complete);
/* MXNet 1.x JSON. */
AX_API int AxSymbolSaveToJSON(AxSymbolHandle sym, const char **out_json);
AX_API int AxSymbolCreateFromJSON(const char *json, AxSymbolHandle *out);
AX_API int AxSymbolSaveToFile(AxSymbolHandle sym, const char *path);
AX_API int AxSymbolCreateFromFile(const char *path, AxSymbolHandle *out);
/* A readable dump of the graph (MXNet's debug_str). */
AX_API int AxSymbolPrint(AxSymbolHandle sym, const char **out);

/* ---- executors ------------------------------------------------------------------------------
 * args: one array per argument (AX_SYM_ARGUMENTS order); arg_grads: one per argument, NULL
 * where grad_reqs is AX_GRAD_NULL (arg_grads and grad_reqs may be NULL: no gradients);
 * aux_states: one per aux state. All on the executor's device. shared_exec (may be NULL): an
 * executor whose buffers this one may reuse; the two must not run at the same time.
 * The executor keeps references to the arrays; *out: caller frees with AxExecutorFree. */
AX_API int AxExecutorBind(AxSymbolHandle sym, int dev_type, int dev_id, int num_args, const AxNDArrayHandle *args,
                          const AxNDArrayHandle *arg_grads, const int *grad_reqs, int num_aux,
                          const AxNDArrayHandle *aux_states, AxExecutorHandle shared_exec, AxExecutorHandle *out);
/* Pushes the forward pass (returns before it has run; outputs wait). */
AX_API int AxExecutorForward(AxExecutorHandle exec, int is_train);
/* Pushes the backward pass. head_grads: one per output (entries may be NULL for outputs that
 * are losses), or num 0 when every output is a loss. */
AX_API int AxExecutorBackward(AxExecutorHandle exec, int num, const AxNDArrayHandle *head_grads);
/* The output arrays: a borrowed thread-local array of *num new handles, each owned by the caller
 * (they stay the executor's outputs: the next forward overwrites them). */
AX_API int AxExecutorOutputs(AxExecutorHandle exec, int *num, AxNDArrayHandle **outputs);
/* Which outputs need a head gradient in backward (1) and which are losses (0). */
AX_API int AxExecutorHeadGradNeeded(AxExecutorHandle exec, int *num, const int **flags);
/* The memory plan: bytes held for intermediate entries, bytes that one buffer per entry would
 * take, buffers, entries, outputs written in place. Any out-parameter may be NULL. */
AX_API int AxExecutorMemoryPlan(AxExecutorHandle exec, int64_t *planned_bytes, int64_t *naive_bytes,
                                int64_t *num_buffers, int64_t *num_entries, int64_t *num_inplace);
/* The graph dump followed by the memory plan. */
AX_API int AxExecutorPrint(AxExecutorHandle exec, const char **out);
AX_API void AxExecutorFree(AxExecutorHandle exec);

#ifdef __cplusplus
}
#endif
#endif /* AXLE_H_ */
