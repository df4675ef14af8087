/*
 * test_badinput.c -- the bad-input catalogue of the C API: every function of include/axle.h called
 * with NULL for each pointer argument, freed handles, handles of another kind and invalid sizes,
 * counts, axes, dtypes and files. Each call must fail with the expected status and a message that
 * names the function or op and the argument, leave its out-parameters untouched, and never crash.
 *
 * One function bad_<name> per C API function, listed in CATALOGUE at the end;
 * tests/python/test_badinput.py fails when a function of the header has no entry here.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

/* Fixtures, made in main: a 2x3 float32 array, a symbol relu(FullyConnected(x, num_hidden=4)), an
 * executor of it bound to 2x3 data, and the op relu. */
static AxNDArrayHandle g_arr;
static AxSymbolHandle g_sym;
static AxExecutorHandle g_exec;
static AxOpHandle g_op;
static char g_dir[256];

/* The handle under test in the BAD_* macros below (their expression uses it). */
static AxNDArrayHandle H;
static AxSymbolHandle S;
static AxExecutorHandle E;
static AxOpHandle O;

/* A handle that was live and is freed. Nothing is allocated between this and the call under test,
 * so the address is not reused by then. */
static AxNDArrayHandle freed_array(void) {
  int64_t shape[1] = {2};
  AxNDArrayHandle h = make_f32(shape, 1, NULL);
  AxNDArrayFree(h);
  return h;
}

static AxSymbolHandle freed_symbol(void) {
  AxSymbolHandle s = NULL;
  AxSymbolCreateVariable("gone", 0, NULL, NULL, &s);
  AxSymbolFree(s);
  return s;
}

static AxExecutorHandle freed_executor(void) {
  AxExecutorHandle e = NULL;
  int64_t shape[2] = {2, 3};
  AxNDArrayHandle x = make_f32(shape, 2, NULL);
  AxSymbolHandle v = NULL;
  AxSymbolCreateVariable("x", 0, NULL, NULL, &v);
  AxExecutorBind(v, AX_CPU, 0, 1, &x, NULL, NULL, 0, NULL, NULL, &e);
  AxExecutorFree(e);
  AxSymbolFree(v);
  AxNDArrayFree(x);
  return e;
}

/* expr (which uses var) with var NULL, freed, and a handle of another kind in its place; what: the
 * message's name of the argument ("AxNDArrayGetShape: handle"). var is left at good. */
#define BAD_HANDLE(var, type, good, freed, foreign, kind, other, expr, what)                   \
  do {                                                                                         \
    var = NULL;                                                                                \
    CHECK_ERR(expr, AX_ERR_INVALID_ARGUMENT, what " is NULL");                                 \
    var = freed;                                                                               \
    CHECK_ERR(expr, AX_ERR_INVALID_HANDLE, what " is not a live " kind " handle");             \
    var = (type)foreign;                                                                       \
    CHECK_ERR(expr, AX_ERR_INVALID_HANDLE, what " is a " other " handle, expected " kind);     \
    var = good;                                                                                \
  } while (0)

#define BAD_ARRAY(expr, what) \
  BAD_HANDLE(H, AxNDArrayHandle, g_arr, freed_array(), g_sym, "NDArray", "Symbol", expr, what)
#define BAD_SYMBOL(expr, what) \
  BAD_HANDLE(S, AxSymbolHandle, g_sym, freed_symbol(), g_arr, "Symbol", "NDArray", expr, what)
#define BAD_EXECUTOR(expr, what) \
  BAD_HANDLE(E, AxExecutorHandle, g_exec, freed_executor(), g_sym, "Executor", "Symbol", expr, what)

/* Op handles are static: NULL and a pointer that is no op (an array handle). */
#define BAD_OP(expr, fn)                                                                       \
  do {                                                                                         \
    O = NULL;                                                                                  \
    CHECK_ERR(expr, AX_ERR_INVALID_ARGUMENT, fn ": op handle is NULL");                        \
    O = (AxOpHandle)g_arr;                                                                     \
    CHECK_ERR(expr, AX_ERR_INVALID_HANDLE, fn ": not an op handle");                           \
    O = g_op;                                                                                  \
  } while (0)

#define NULL_ARG(expr, fn, arg) CHECK_ERR(expr, AX_ERR_INVALID_ARGUMENT, fn ": argument '" arg "' is NULL")

/* A free function given a freed handle and one of another kind: no crash, the last error says so. */
#define BAD_FREE(call_freed, call_foreign, fn)                                                 \
  do {                                                                                         \
    int64_t n0_ = live_handles();                                                              \
    call_freed;                                                                                \
    CHECK(strstr(AxGetLastError(), fn ": handle is not a live") != NULL);                      \
    call_foreign;                                                                              \
    CHECK(strstr(AxGetLastError(), fn ": handle is not a live") != NULL);                      \
    CHECK(live_handles() == n0_);                                                              \
  } while (0)

static void write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(2);
  }
  if (n) fwrite(data, 1, n, f);
  fclose(f);
}

/* A path in the test's directory (in one of four buffers: valid until the fourth call after). */
static const char *path_in_dir(const char *name) {
  static char p[4][512];
  static int k = 0;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", g_dir, name);
  return p[k];
}

/* ---- errors, versions, engine, storage --------------------------------------------------------- */
static void bad_AxGetLastError(void) {
  /* nothing to pass: the message of the last failure, never NULL */
  CHECK_ERR(AxGetVersion(NULL, NULL, NULL), AX_ERR_INVALID_ARGUMENT, "AxGetVersion");
  CHECK(AxGetLastError() != NULL && AxGetLastError()[0] != '\0');
}

static void bad_AxGetVersion(void) {
  int a = -9, b = -9, c = -9;
  NULL_ARG(AxGetVersion(NULL, &b, &c), "AxGetVersion", "major");
  NULL_ARG(AxGetVersion(&a, NULL, &c), "AxGetVersion", "minor");
  NULL_ARG(AxGetVersion(&a, &b, NULL), "AxGetVersion", "patch");
  CHECK(a == -9 && b == -9 && c == -9);
}

static void bad_AxGetLiveHandleCount(void) { NULL_ARG(AxGetLiveHandleCount(NULL), "AxGetLiveHandleCount", "out"); }

static void bad_AxEngineWaitAll(void) {
  /* no arguments: with nothing pending it succeeds */
  CHECK_OK(AxEngineWaitAll());
}

static void bad_AxEngineGetType(void) { NULL_ARG(AxEngineGetType(NULL), "AxEngineGetType", "out"); }

static void bad_AxGetGPUCount(void) { NULL_ARG(AxGetGPUCount(NULL), "AxGetGPUCount", "out"); }

static void bad_AxStorageGetStats(void) {
  int64_t v = -9;
  CHECK_ERR(AxStorageGetStats(7, 0, &v, NULL, NULL, NULL, NULL), AX_ERR_INVALID_ARGUMENT, "device type 7");
  CHECK_ERR(AxStorageGetStats(AX_CPU, -1, &v, NULL, NULL, NULL, NULL), AX_ERR_INVALID_ARGUMENT, "device id -1");
  CHECK(v == -9);
  /* every out-parameter may be NULL */
  CHECK_OK(AxStorageGetStats(AX_CPU, 0, NULL, NULL, NULL, NULL, NULL));
}

static void bad_AxStorageEmptyCache(void) {
  CHECK_ERR(AxStorageEmptyCache(0, 0), AX_ERR_INVALID_ARGUMENT, "device type 0");
  CHECK_ERR(AxStorageEmptyCache(AX_CPU, -3), AX_ERR_INVALID_ARGUMENT, "device id -3");
}

static void bad_AxRandomSeed(void) {
  /* every int is a seed */
  CHECK_OK(AxRandomSeed(-1));
}

/* ---- NDArray ------------------------------------------------------------------------------------ */
static void bad_AxNDArrayCreate(void) {
  int64_t shape[2] = {2, 3}, neg[2] = {2, -1}, huge[2] = {INT64_C(1) << 40, INT64_C(1) << 40};
  int64_t many[40];
  AxNDArrayHandle out = SENTINEL_HANDLE;
  int i;
  for (i = 0; i < 40; ++i) many[i] = 1;
  NULL_ARG(AxNDArrayCreate(shape, 2, AX_CPU, 0, AX_FLOAT32, NULL), "AxNDArrayCreate", "out");
  CHECK_ERR(AxNDArrayCreate(NULL, 2, AX_CPU, 0, AX_FLOAT32, &out), AX_ERR_INVALID_ARGUMENT,
            "AxNDArrayCreate: argument 'shape' is NULL");
  CHECK_ERR(AxNDArrayCreate(shape, -1, AX_CPU, 0, AX_FLOAT32, &out), AX_ERR_SHAPE, "AxNDArrayCreate: ndim");
  CHECK_ERR(AxNDArrayCreate(many, 40, AX_CPU, 0, AX_FLOAT32, &out), AX_ERR_SHAPE, "AxNDArrayCreate: ndim");
  CHECK_ERR(AxNDArrayCreate(neg, 2, AX_CPU, 0, AX_FLOAT32, &out), AX_ERR_SHAPE, "negative dimension");
  CHECK_ERR(AxNDArrayCreate(huge, 2, AX_CPU, 0, AX_FLOAT32, &out), AX_ERR_SHAPE, "overflows");
  CHECK_ERR(AxNDArrayCreate(shape, 2, AX_CPU, 0, 99, &out), AX_ERR_TYPE, "dtype code 99");
  CHECK_ERR(AxNDArrayCreate(shape, 2, 5, 0, AX_FLOAT32, &out), AX_ERR_INVALID_ARGUMENT, "device type 5");
  CHECK_ERR(AxNDArrayCreate(shape, 2, AX_CPU, -2, AX_FLOAT32, &out), AX_ERR_INVALID_ARGUMENT, "device id -2");
  CHECK(out == SENTINEL_HANDLE);
}

static void bad_AxNDArrayFree(void) {
  AxNDArrayFree(NULL); /* a no-op */
  BAD_FREE(AxNDArrayFree(freed_array()), AxNDArrayFree((AxNDArrayHandle)g_sym), "AxNDArrayFree");
}

static void bad_AxNDArrayGetShape(void) {
  int nd = -9;
  const int64_t *dims = NULL;
  BAD_ARRAY(AxNDArrayGetShape(H, &nd, &dims), "AxNDArrayGetShape: handle");
  NULL_ARG(AxNDArrayGetShape(g_arr, NULL, &dims), "AxNDArrayGetShape", "out_ndim");
  NULL_ARG(AxNDArrayGetShape(g_arr, &nd, NULL), "AxNDArrayGetShape", "out_shape");
  CHECK(nd == -9 && dims == NULL);
}

static void bad_AxNDArrayGetDType(void) {
  int t = -9;
  BAD_ARRAY(AxNDArrayGetDType(H, &t), "AxNDArrayGetDType: handle");
  NULL_ARG(AxNDArrayGetDType(g_arr, NULL), "AxNDArrayGetDType", "out_dtype");
  CHECK(t == -9);
}

static void bad_AxNDArrayGetContext(void) {
  int t = -9, id = -9;
  BAD_ARRAY(AxNDArrayGetContext(H, &t, &id), "AxNDArrayGetContext: handle");
  NULL_ARG(AxNDArrayGetContext(g_arr, NULL, &id), "AxNDArrayGetContext", "out_dev_type");
  NULL_ARG(AxNDArrayGetContext(g_arr, &t, NULL), "AxNDArrayGetContext", "out_dev_id");
  CHECK(t == -9 && id == -9);
}

static void bad_AxNDArraySyncCopyFromCPU(void) {
  float buf[6] = {0};
  BAD_ARRAY(AxNDArraySyncCopyFromCPU(H, buf, sizeof buf), "AxNDArraySyncCopyFromCPU: handle");
  CHECK_ERR(AxNDArraySyncCopyFromCPU(g_arr, NULL, sizeof buf), AX_ERR_INVALID_ARGUMENT, "SyncCopyFromCPU: data is NULL");
  CHECK_ERR(AxNDArraySyncCopyFromCPU(g_arr, buf, sizeof buf - 4), AX_ERR_SHAPE, "SyncCopyFromCPU: got 20 bytes");
  CHECK_ERR(AxNDArraySyncCopyFromCPU(g_arr, buf, (size_t)-1), AX_ERR_SHAPE, "SyncCopyFromCPU: got 18446744073709551615"
            " bytes");
}

static void bad_AxNDArraySyncCopyToCPU(void) {
  float buf[6] = {0};
  BAD_ARRAY(AxNDArraySyncCopyToCPU(H, buf, sizeof buf), "AxNDArraySyncCopyToCPU: handle");
  CHECK_ERR(AxNDArraySyncCopyToCPU(g_arr, NULL, sizeof buf), AX_ERR_INVALID_ARGUMENT, "SyncCopyToCPU: data is NULL");
  CHECK_ERR(AxNDArraySyncCopyToCPU(g_arr, buf, 20), AX_ERR_SHAPE, "SyncCopyToCPU: got room for 20 bytes");
}

static void bad_AxNDArrayCopyFromTo(void) {
  int64_t s3[1] = {3}, s23[2] = {2, 3};
  AxNDArrayHandle other = make_f32(s3, 1, NULL), f64 = NULL;
  CHECK_OK(AxNDArrayCreate(s23, 2, AX_CPU, 0, AX_FLOAT64, &f64));
  BAD_ARRAY(AxNDArrayCopyFromTo(H, g_arr), "AxNDArrayCopyFromTo: src");
  BAD_ARRAY(AxNDArrayCopyFromTo(g_arr, H), "AxNDArrayCopyFromTo: dst");
  CHECK_ERR(AxNDArrayCopyFromTo(g_arr, other), AX_ERR_SHAPE, "(2,3)");
  CHECK_ERR(AxNDArrayCopyFromTo(g_arr, f64), AX_ERR_TYPE, "float64");
  AxNDArrayFree(other);
  AxNDArrayFree(f64);
}

static void bad_AxNDArrayWaitToRead(void) { BAD_ARRAY(AxNDArrayWaitToRead(H), "AxNDArrayWaitToRead: handle"); }

static void bad_AxNDArrayWaitToWrite(void) { BAD_ARRAY(AxNDArrayWaitToWrite(H), "AxNDArrayWaitToWrite: handle"); }

static void bad_AxNDArrayReshape(void) {
  int64_t d6[1] = {6}, d4[1] = {4}, two_infer[2] = {-1, -1}, bad_code[1] = {-7};
  AxNDArrayHandle out = SENTINEL_HANDLE;
  BAD_ARRAY(AxNDArrayReshape(H, 1, d6, 0, &out), "AxNDArrayReshape: handle");
  NULL_ARG(AxNDArrayReshape(g_arr, 1, d6, 0, NULL), "AxNDArrayReshape", "out");
  CHECK_ERR(AxNDArrayReshape(g_arr, 1, NULL, 0, &out), AX_ERR_INVALID_ARGUMENT,
            "AxNDArrayReshape: argument 'dims' is NULL");
  CHECK_ERR(AxNDArrayReshape(g_arr, -1, d6, 0, &out), AX_ERR_SHAPE, "ndim");
  CHECK_ERR(AxNDArrayReshape(g_arr, 1, d4, 0, &out), AX_ERR_SHAPE, "(2,3)");
  CHECK_ERR(AxNDArrayReshape(g_arr, 2, two_infer, 0, &out), AX_ERR_SHAPE, "-1");
  CHECK_ERR(AxNDArrayReshape(g_arr, 1, bad_code, 0, &out), AX_ERR_SHAPE, "-7");
  CHECK(out == SENTINEL_HANDLE);
}

static void bad_AxNDArraySlice(void) {
  AxNDArrayHandle out = SENTINEL_HANDLE, scalar = make_f32(NULL, 0, NULL);
  BAD_ARRAY(AxNDArraySlice(H, 0, 1, &out), "AxNDArraySlice: handle");
  NULL_ARG(AxNDArraySlice(g_arr, 0, 1, NULL), "AxNDArraySlice", "out");
  CHECK_ERR(AxNDArraySlice(g_arr, 0, 3, &out), AX_ERR_INDEX, "slice");
  CHECK_ERR(AxNDArraySlice(g_arr, -1, 1, &out), AX_ERR_INDEX, "slice");
  CHECK_ERR(AxNDArraySlice(g_arr, 2, 1, &out), AX_ERR_INDEX, "slice");
  CHECK_ERR(AxNDArraySlice(scalar, 0, 0, &out), AX_ERR_INDEX, "slice");
  CHECK(out == SENTINEL_HANDLE);
  AxNDArrayFree(scalar);
}

static void bad_AxNDArrayAt(void) {
  AxNDArrayHandle out = SENTINEL_HANDLE, scalar = make_f32(NULL, 0, NULL);
  BAD_ARRAY(AxNDArrayAt(H, 0, &out), "AxNDArrayAt: handle");
  NULL_ARG(AxNDArrayAt(g_arr, 0, NULL), "AxNDArrayAt", "out");
  CHECK_ERR(AxNDArrayAt(g_arr, 2, &out), AX_ERR_INDEX, "2");
  CHECK_ERR(AxNDArrayAt(g_arr, -3, &out), AX_ERR_INDEX, "-3");
  CHECK_ERR(AxNDArrayAt(scalar, 0, &out), AX_ERR_INDEX, "0");
  CHECK(out == SENTINEL_HANDLE);
  AxNDArrayFree(scalar);
}

static void bad_AxNDArraySave(void) {
  AxNDArrayHandle arrs[1];
  const char *names[1] = {NULL};
  const char *path = path_in_dir("save.params");
  arrs[0] = g_arr;
  NULL_ARG(AxNDArraySave(NULL, 1, arrs, NULL), "AxNDArraySave", "fname");
  CHECK_ERR(AxNDArraySave(path, -1, arrs, NULL), AX_ERR_INVALID_ARGUMENT, "AxNDArraySave: num");
  CHECK_ERR(AxNDArraySave(path, 1, NULL, NULL), AX_ERR_INVALID_ARGUMENT, "AxNDArraySave: argument 'arrays' is NULL");
  CHECK_ERR(AxNDArraySave(path, 1, arrs, names), AX_ERR_INVALID_ARGUMENT, "AxNDArraySave: names[0] is NULL");
  BAD_ARRAY((arrs[0] = H, AxNDArraySave(path, 1, arrs, NULL)), "AxNDArraySave: arrays[0]");
  arrs[0] = g_arr;
  CHECK_ERR(AxNDArraySave("/nonexistent-dir/x.params", 1, arrs, NULL), AX_ERR_IO, "/nonexistent-dir/x.params");
}

/* .params files that must not load: empty, truncated, of another format, with sizes in their
 * headers far beyond the file. Each is tried from a file and from a buffer. */
struct BadFile {
  const char *name;
  unsigned char bytes[64];
  size_t size;
};

static const struct BadFile kBadParams[] = {
    {"empty", {0}, 0},
    {"short-magic", {0x12, 0x01}, 2},
    /* the list magic 0x112, reserved 0, then an array count of 2^60 */
    {"huge-count", {0x12, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10}, 24},
    /* one array record cut short: magic, reserved, count 1, then 4 bytes of the record */
    {"truncated-record", {0x12, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
                          0xc9, 0xfa, 0x93, 0xf9}, 28},
    {"symbol-json", "{\"nodes\": [], \"arg_nodes\": [], \"heads\": []}", 44},
    {"idx", {0, 0, 8, 1, 0, 0, 0, 2, 7, 9}, 10},
};

static void bad_AxNDArrayLoad(void) {
  int n = -9, nn = -9;
  AxNDArrayHandle *arrs = NULL;
  const char **names = NULL;
  size_t i;
  const char *path = path_in_dir("bad.params");
  NULL_ARG(AxNDArrayLoad(NULL, &n, &arrs, &nn, &names), "AxNDArrayLoad", "fname");
  NULL_ARG(AxNDArrayLoad(path, NULL, &arrs, &nn, &names), "AxNDArrayLoad", "out_num");
  NULL_ARG(AxNDArrayLoad(path, &n, NULL, &nn, &names), "AxNDArrayLoad", "out_arrays");
  NULL_ARG(AxNDArrayLoad(path, &n, &arrs, NULL, &names), "AxNDArrayLoad", "out_num_names");
  NULL_ARG(AxNDArrayLoad(path, &n, &arrs, &nn, NULL), "AxNDArrayLoad", "out_names");
  CHECK_ERR(AxNDArrayLoad(path_in_dir("missing.params"), &n, &arrs, &nn, &names), AX_ERR_IO, "missing.params");
  for (i = 0; i < sizeof kBadParams / sizeof kBadParams[0]; ++i) {
    write_file(path, kBadParams[i].bytes, kBadParams[i].size);
    CHECK_ERR(AxNDArrayLoad(path, &n, &arrs, &nn, &names), AX_ERR_IO, "bad.params");
    if (AxGetLastError()[0] == '\0') fprintf(stderr, "  (case %s)\n", kBadParams[i].name);
  }
  CHECK(n == -9 && nn == -9 && arrs == NULL && names == NULL);
}

static void bad_AxNDArrayLoadFromBuffer(void) {
  int n = -9, nn = -9;
  AxNDArrayHandle *arrs = NULL;
  const char **names = NULL;
  size_t i;
  const char buf[4] = {0};
  CHECK_ERR(AxNDArrayLoadFromBuffer(NULL, 16, &n, &arrs, &nn, &names), AX_ERR_INVALID_ARGUMENT,
            "AxNDArrayLoadFromBuffer: argument 'buf' is NULL");
  NULL_ARG(AxNDArrayLoadFromBuffer(buf, 4, NULL, &arrs, &nn, &names), "AxNDArrayLoadFromBuffer", "out_num");
  NULL_ARG(AxNDArrayLoadFromBuffer(buf, 4, &n, NULL, &nn, &names), "AxNDArrayLoadFromBuffer", "out_arrays");
  NULL_ARG(AxNDArrayLoadFromBuffer(buf, 4, &n, &arrs, NULL, &names), "AxNDArrayLoadFromBuffer", "out_num_names");
  NULL_ARG(AxNDArrayLoadFromBuffer(buf, 4, &n, &arrs, &nn, NULL), "AxNDArrayLoadFromBuffer", "out_names");
  for (i = 0; i < sizeof kBadParams / sizeof kBadParams[0]; ++i) {
    CHECK_ERR(AxNDArrayLoadFromBuffer(kBadParams[i].bytes, kBadParams[i].size, &n, &arrs, &nn, &names), AX_ERR_IO,
              "<buffer>");
  }
  CHECK(n == -9 && nn == -9 && arrs == NULL && names == NULL);
}

/* DLPack's structs (dlpack.h v0.8 and 1.0 ABI), declared here for the bad tensors below. */
typedef struct {
  void *data;
  int32_t device_type, device_id;
  int32_t ndim;
  uint8_t code, bits;
  uint16_t lanes;
  int64_t *shape, *strides;
  uint64_t byte_offset;
} DLTensorT;
typedef struct DLManagedT {
  DLTensorT t;
  void *ctx;
  void (*deleter)(struct DLManagedT *);
} DLManagedT;
typedef struct DLManagedVersionedT {
  uint32_t major, minor;
  void *ctx;
  void (*deleter)(struct DLManagedVersionedT *);
  uint64_t flags;
  DLTensorT t;
} DLManagedVersionedT;

static int g_deleted;
static void count_delete(DLManagedT *m) { (void)m; ++g_deleted; }
static void count_delete_v(DLManagedVersionedT *m) { (void)m; ++g_deleted; }

static DLTensorT good_tensor(float *data, int64_t *shape) {
  DLTensorT t;
  memset(&t, 0, sizeof t);
  t.data = data;
  t.device_type = 1; /* kDLCPU */
  t.ndim = 1;
  t.code = 2; /* kDLFloat */
  t.bits = 32;
  t.lanes = 1;
  t.shape = shape;
  return t;
}

/* Tensors the importer must refuse, each in a fresh copy of a good one: the status expected, 0 past
 * the last. */
static int bad_tensor(int k, DLTensorT *t) {
  switch (k) {
    case 0: t->code = 9; return AX_ERR_TYPE;          /* no such type code */
    case 1: t->bits = 24; return AX_ERR_TYPE;         /* float24 */
    case 2: t->lanes = 4; return AX_ERR_TYPE;         /* vector lanes */
    case 3: t->ndim = -1; return AX_ERR_SHAPE;
    case 4: t->ndim = 40; return AX_ERR_SHAPE;        /* more dims than Axle has */
    case 5: t->shape = NULL; return AX_ERR_INVALID_ARGUMENT;
    case 6: t->device_type = 7; return AX_ERR_NOT_SUPPORTED; /* kDLVulkan */
    case 7: t->shape[0] = -4; return AX_ERR_SHAPE;
    case 8: t->data = NULL; return AX_ERR_INVALID_ARGUMENT;  /* no data for 4 elements */
    default: return 0;
  }
}

static void bad_AxNDArrayToDLPack(void) {
  void *out = NULL;
  BAD_ARRAY(AxNDArrayToDLPack(H, &out), "AxNDArrayToDLPack: handle");
  NULL_ARG(AxNDArrayToDLPack(g_arr, NULL), "AxNDArrayToDLPack", "out_dlmanaged_tensor");
  CHECK(out == NULL);
}

static void bad_AxNDArrayToDLPackVersioned(void) {
  void *out = NULL;
  BAD_ARRAY(AxNDArrayToDLPackVersioned(H, &out), "AxNDArrayToDLPackVersioned: handle");
  NULL_ARG(AxNDArrayToDLPackVersioned(g_arr, NULL), "AxNDArrayToDLPackVersioned", "out_dlmanaged_tensor_versioned");
  CHECK(out == NULL);
}

static void bad_AxNDArrayToDLPackForStream(void) {
  void *out = NULL;
  BAD_ARRAY(AxNDArrayToDLPackForStream(H, 1, 1, &out), "AxNDArrayToDLPackForStream: handle");
  NULL_ARG(AxNDArrayToDLPackForStream(g_arr, 1, 1, NULL), "AxNDArrayToDLPackForStream", "out_tensor");
  CHECK_ERR(AxNDArrayToDLPackForStream(g_arr, 0, 0, &out), AX_ERR_INVALID_ARGUMENT, "stream 0 is not a consumer stream");
  CHECK_ERR(AxNDArrayToDLPackForStream(g_arr, 1, -2, &out), AX_ERR_INVALID_ARGUMENT, "stream -2 is not a consumer stream");
  CHECK(out == NULL);
}

static void bad_AxNDArrayFromDLPack(void) {
  float data[4] = {1, 2, 3, 4};
  int64_t shape[1] = {4};
  DLManagedT m;
  AxNDArrayHandle out = SENTINEL_HANDLE;
  int k;
  memset(&m, 0, sizeof m);
  m.t = good_tensor(data, shape);
  m.deleter = count_delete;
  NULL_ARG(AxNDArrayFromDLPack(NULL, &out), "AxNDArrayFromDLPack", "dlmanaged_tensor");
  NULL_ARG(AxNDArrayFromDLPack(&m, NULL), "AxNDArrayFromDLPack", "out");
  g_deleted = 0;
  for (k = 0;; ++k) {
    int status;
    m.t = good_tensor(data, shape);
    shape[0] = 4;
    if (!(status = bad_tensor(k, &m.t))) break;
    CHECK_ERR(AxNDArrayFromDLPack(&m, &out), status, "DLPack");
  }
  CHECK(g_deleted == 0); /* on failure the caller keeps the tensor */
  CHECK(out == SENTINEL_HANDLE);
}

static void bad_AxNDArrayFromDLPackVersioned(void) {
  float data[4] = {1, 2, 3, 4};
  int64_t shape[1] = {4};
  DLManagedVersionedT m;
  AxNDArrayHandle out = SENTINEL_HANDLE;
  int k;
  memset(&m, 0, sizeof m);
  m.major = 1;
  m.t = good_tensor(data, shape);
  m.deleter = count_delete_v;
  NULL_ARG(AxNDArrayFromDLPackVersioned(NULL, &out), "AxNDArrayFromDLPackVersioned", "dlmanaged_tensor_versioned");
  NULL_ARG(AxNDArrayFromDLPackVersioned(&m, NULL), "AxNDArrayFromDLPackVersioned", "out");
  g_deleted = 0;
  m.major = 2; /* a major version Axle does not know */
  CHECK_ERR(AxNDArrayFromDLPackVersioned(&m, &out), AX_ERR_NOT_SUPPORTED, "version");
  m.major = 1;
  for (k = 0;; ++k) {
    int status;
    m.t = good_tensor(data, shape);
    shape[0] = 4;
    if (!(status = bad_tensor(k, &m.t))) break;
    CHECK_ERR(AxNDArrayFromDLPackVersioned(&m, &out), status, "DLPack");
  }
  CHECK(g_deleted == 0);
  CHECK(out == SENTINEL_HANDLE);
}

/* ---- operators ---------------------------------------------------------------------------------- */
static void bad_AxListOps(void) {
  int n = -9;
  const char **names = NULL;
  NULL_ARG(AxListOps(NULL, &names), "AxListOps", "out_num");
  NULL_ARG(AxListOps(&n, NULL), "AxListOps", "out_names");
  CHECK(n == -9 && names == NULL);
}

static void bad_AxGetOpHandle(void) {
  AxOpHandle out = NULL;
  NULL_ARG(AxGetOpHandle(NULL, &out), "AxGetOpHandle", "name");
  NULL_ARG(AxGetOpHandle("relu", NULL), "AxGetOpHandle", "out");
  CHECK_ERR(AxGetOpHandle("no_such_op", &out), AX_ERR_INVALID_ARGUMENT, "no operator named 'no_such_op'");
  CHECK_ERR(AxGetOpHandle("", &out), AX_ERR_INVALID_ARGUMENT, "no operator named ''");
  CHECK(out == NULL);
}

static void bad_AxOpGetInfo(void) {
  const char *name = NULL, *doc = NULL, *kv = NULL;
  int ni = -9, np = -9;
  const char **in = NULL, **pn = NULL, **pt = NULL, **pd = NULL;
  BAD_OP(AxOpGetInfo(O, &name, &doc, &ni, &in, &np, &pn, &pt, &pd, &kv), "AxOpGetInfo");
  NULL_ARG(AxOpGetInfo(g_op, NULL, &doc, &ni, &in, &np, &pn, &pt, &pd, &kv), "AxOpGetInfo", "name");
  NULL_ARG(AxOpGetInfo(g_op, &name, NULL, &ni, &in, &np, &pn, &pt, &pd, &kv), "AxOpGetInfo", "doc");
  NULL_ARG(AxOpGetInfo(g_op, &name, &doc, NULL, &in, &np, &pn, &pt, &pd, &kv), "AxOpGetInfo", "num_inputs");
  NULL_ARG(AxOpGetInfo(g_op, &name, &doc, &ni, NULL, &np, &pn, &pt, &pd, &kv), "AxOpGetInfo", "input_names");
  NULL_ARG(AxOpGetInfo(g_op, &name, &doc, &ni, &in, NULL, &pn, &pt, &pd, &kv), "AxOpGetInfo", "num_params");
  NULL_ARG(AxOpGetInfo(g_op, &name, &doc, &ni, &in, &np, NULL, &pt, &pd, &kv), "AxOpGetInfo", "param_names");
  NULL_ARG(AxOpGetInfo(g_op, &name, &doc, &ni, &in, &np, &pn, NULL, &pd, &kv), "AxOpGetInfo", "param_types");
  NULL_ARG(AxOpGetInfo(g_op, &name, &doc, &ni, &in, &np, &pn, &pt, NULL, &kv), "AxOpGetInfo", "param_docs");
  NULL_ARG(AxOpGetInfo(g_op, &name, &doc, &ni, &in, &np, &pn, &pt, &pd, NULL), "AxOpGetInfo", "key_var_num_args");
  CHECK(name == NULL && ni == -9 && np == -9);
}

/* Attribute arrays every op entry point checks the same way (ParamDict). */
static const char *k_axis[1] = {"axis"}, *v_axis[1] = {"5"};
static const char *k_null[1] = {NULL}, *v_one[1] = {"1"};
static const char *k_nope[1] = {"no_such_attr"};

static void bad_AxOpGetNumOutputs(void) {
  int out = -9;
  BAD_OP(AxOpGetNumOutputs(O, 0, NULL, NULL, &out), "AxOpGetNumOutputs");
  NULL_ARG(AxOpGetNumOutputs(g_op, 0, NULL, NULL, NULL), "AxOpGetNumOutputs", "out");
  CHECK_ERR(AxOpGetNumOutputs(g_op, -1, NULL, NULL, &out), AX_ERR_INVALID_ARGUMENT, "AxOpGetNumOutputs: num_params");
  NULL_ARG(AxOpGetNumOutputs(g_op, 1, NULL, v_one, &out), "AxOpGetNumOutputs", "keys");
  NULL_ARG(AxOpGetNumOutputs(g_op, 1, k_axis, NULL, &out), "AxOpGetNumOutputs", "vals");
  CHECK_ERR(AxOpGetNumOutputs(g_op, 1, k_null, v_one, &out), AX_ERR_INVALID_ARGUMENT, "AxOpGetNumOutputs: keys[0]");
  CHECK_ERR(AxOpGetNumOutputs(g_op, 1, k_nope, v_one, &out), AX_ERR_INVALID_ARGUMENT, "no_such_attr");
  CHECK(out == -9);
}

static void bad_AxImperativeInvoke(void) {
  AxOpHandle sum = op("sum"), add = op("elemwise_add"), fc = op("FullyConnected");
  AxNDArrayHandle ins[3], given[2], *outs = NULL, f64 = NULL, wrong = NULL;
  int64_t s23[2] = {2, 3}, s5[1] = {5};
  const char *k_fc[1] = {"num_hidden"}, *v_fc[1] = {"4"}, *v_bad[1] = {"four"};
  int nout = 0;
  ins[0] = ins[1] = ins[2] = g_arr;
  CHECK_OK(AxNDArrayCreate(s23, 2, AX_CPU, 0, AX_FLOAT64, &f64));
  wrong = make_f32(s5, 1, NULL);
  BAD_OP(AxImperativeInvoke(O, 1, ins, &nout, &outs, 0, NULL, NULL), "AxImperativeInvoke");
  NULL_ARG(AxImperativeInvoke(g_op, 1, ins, NULL, &outs, 0, NULL, NULL), "AxImperativeInvoke", "num_outputs");
  NULL_ARG(AxImperativeInvoke(g_op, 1, ins, &nout, NULL, 0, NULL, NULL), "AxImperativeInvoke", "outputs");
  CHECK_ERR(AxImperativeInvoke(g_op, 1, NULL, &nout, &outs, 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT,
            "relu: argument 'inputs' is NULL");
  CHECK_ERR(AxImperativeInvoke(g_op, -1, ins, &nout, &outs, 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT,
            "relu: num_inputs");
  BAD_ARRAY((ins[0] = H, AxImperativeInvoke(g_op, 1, ins, &nout, &outs, 0, NULL, NULL)), "relu: inputs[0]");
  ins[0] = g_arr;
  CHECK_ERR(AxImperativeInvoke(g_op, 2, ins, &nout, &outs, 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT, "relu");
  CHECK_ERR(AxImperativeInvoke(g_op, 0, ins, &nout, &outs, 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT, "relu");
  CHECK_ERR(AxImperativeInvoke(g_op, 1, ins, &nout, &outs, -1, NULL, NULL), AX_ERR_INVALID_ARGUMENT,
            "relu: num_params");
  NULL_ARG(AxImperativeInvoke(g_op, 1, ins, &nout, &outs, 1, NULL, NULL), "relu", "keys");
  CHECK_ERR(AxImperativeInvoke(g_op, 1, ins, &nout, &outs, 1, k_nope, v_one), AX_ERR_INVALID_ARGUMENT,
            "no_such_attr");
  /* out-of-range and negative axes */
  CHECK_ERR(AxImperativeInvoke(sum, 1, ins, &nout, &outs, 1, k_axis, v_axis), AX_ERR_INDEX, "axis");
  v_axis[0] = "-3";
  CHECK_ERR(AxImperativeInvoke(sum, 1, ins, &nout, &outs, 1, k_axis, v_axis), AX_ERR_INDEX, "axis");
  v_axis[0] = "5";
  /* dtype and shape mismatches */
  ins[1] = f64;
  CHECK_ERR(AxImperativeInvoke(add, 2, ins, &nout, &outs, 0, NULL, NULL), AX_ERR_TYPE, "float64");
  ins[1] = wrong;
  CHECK_ERR(AxImperativeInvoke(add, 2, ins, &nout, &outs, 0, NULL, NULL), AX_ERR_SHAPE, "(5,)");
  ins[1] = g_arr;
  CHECK_ERR(AxImperativeInvoke(fc, 1, ins, &nout, &outs, 1, k_fc, v_bad), AX_ERR_INVALID_ARGUMENT, "num_hidden");
  CHECK_ERR(AxImperativeInvoke(fc, 1, ins, &nout, &outs, 1, k_fc, v_fc), AX_ERR_INVALID_ARGUMENT,
            "FullyConnected: expected 3 input(s), got 1");
  CHECK(nout == 0 && outs == NULL);
  /* caller-given outputs: freed, of another shape or dtype, too many, a count of 0 */
  nout = 1;
  outs = given;
  BAD_ARRAY((given[0] = H, AxImperativeInvoke(g_op, 1, ins, &nout, &outs, 0, NULL, NULL)), "relu: outputs[0]");
  given[0] = wrong;
  CHECK_ERR(AxImperativeInvoke(g_op, 1, ins, &nout, &outs, 0, NULL, NULL), AX_ERR_SHAPE, "(5,)");
  given[0] = f64;
  CHECK_ERR(AxImperativeInvoke(g_op, 1, ins, &nout, &outs, 0, NULL, NULL), AX_ERR_TYPE, "float64");
  given[0] = given[1] = g_arr;
  nout = 2;
  CHECK_ERR(AxImperativeInvoke(g_op, 1, ins, &nout, &outs, 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT, "relu");
  nout = 0;
  CHECK_ERR(AxImperativeInvoke(g_op, 1, ins, &nout, &outs, 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT, "relu");
  CHECK(outs == given);
  AxNDArrayFree(f64);
  AxNDArrayFree(wrong);
}

static void bad_AxOpGradient(void) {
  AxNDArrayHandle ins[1], og[2], *grads = NULL, wrong = NULL;
  int64_t s5[1] = {5};
  int n = -9;
  ins[0] = og[0] = og[1] = g_arr;
  wrong = make_f32(s5, 1, NULL);
  BAD_OP(AxOpGradient(O, 1, ins, 0, NULL, NULL, 1, og, &n, &grads), "AxOpGradient");
  NULL_ARG(AxOpGradient(g_op, 1, ins, 0, NULL, NULL, 1, og, NULL, &grads), "AxOpGradient", "out_num");
  NULL_ARG(AxOpGradient(g_op, 1, ins, 0, NULL, NULL, 1, og, &n, NULL), "AxOpGradient", "out_grads");
  CHECK_ERR(AxOpGradient(g_op, 1, NULL, 0, NULL, NULL, 1, og, &n, &grads), AX_ERR_INVALID_ARGUMENT,
            "AxOpGradient: argument 'inputs' is NULL");
  CHECK_ERR(AxOpGradient(g_op, -1, ins, 0, NULL, NULL, 1, og, &n, &grads), AX_ERR_INVALID_ARGUMENT,
            "AxOpGradient: num_inputs");
  CHECK_ERR(AxOpGradient(g_op, 1, ins, 0, NULL, NULL, 1, NULL, &n, &grads), AX_ERR_INVALID_ARGUMENT,
            "AxOpGradient: argument 'ograds' is NULL");
  CHECK_ERR(AxOpGradient(g_op, 1, ins, 0, NULL, NULL, -1, og, &n, &grads), AX_ERR_INVALID_ARGUMENT,
            "AxOpGradient: num_ograds");
  CHECK_ERR(AxOpGradient(g_op, 1, ins, -1, NULL, NULL, 1, og, &n, &grads), AX_ERR_INVALID_ARGUMENT,
            "AxOpGradient: num_params");
  BAD_ARRAY((ins[0] = H, AxOpGradient(g_op, 1, ins, 0, NULL, NULL, 1, og, &n, &grads)), "AxOpGradient: inputs[0]");
  ins[0] = g_arr;
  BAD_ARRAY((og[0] = H, AxOpGradient(g_op, 1, ins, 0, NULL, NULL, 1, og, &n, &grads)), "AxOpGradient: ograds[0]");
  og[0] = g_arr;
  CHECK_ERR(AxOpGradient(g_op, 1, ins, 0, NULL, NULL, 2, og, &n, &grads), AX_ERR_INVALID_ARGUMENT, "relu");
  CHECK_ERR(AxOpGradient(g_op, 2, og, 0, NULL, NULL, 1, og, &n, &grads), AX_ERR_INVALID_ARGUMENT, "relu");
  og[0] = wrong;
  CHECK_ERR(AxOpGradient(g_op, 1, ins, 0, NULL, NULL, 1, og, &n, &grads), AX_ERR_SHAPE, "(5,)");
  CHECK(n == -9 && grads == NULL);
  AxNDArrayFree(wrong);
}

static void bad_AxSetIsTraining(void) {
  /* prev may be NULL; any int is a flag */
  int prev = -9;
  CHECK_OK(AxSetIsTraining(7, NULL));
  CHECK_OK(AxSetIsTraining(0, &prev));
  CHECK(prev == 1);
}

/* ---- symbols ------------------------------------------------------------------------------------ */
static void bad_AxSymbolCreateVariable(void) {
  AxSymbolHandle out = NULL;
  NULL_ARG(AxSymbolCreateVariable(NULL, 0, NULL, NULL, &out), "AxSymbolCreateVariable", "name");
  NULL_ARG(AxSymbolCreateVariable("x", 0, NULL, NULL, NULL), "AxSymbolCreateVariable", "out");
  CHECK_ERR(AxSymbolCreateVariable("", 0, NULL, NULL, &out), AX_ERR_INVALID_ARGUMENT,
            "AxSymbolCreateVariable: the name is empty");
  CHECK_ERR(AxSymbolCreateVariable("x", -1, NULL, NULL, &out), AX_ERR_INVALID_ARGUMENT,
            "AxSymbolCreateVariable: num_attrs");
  NULL_ARG(AxSymbolCreateVariable("x", 1, NULL, v_one, &out), "AxSymbolCreateVariable", "keys");
  CHECK(out == NULL);
}

static void bad_AxSymbolCreateOp(void) {
  AxSymbolHandle out = NULL, ins[2];
  const char *keys[1] = {"no_such_input"};
  ins[0] = ins[1] = g_sym;
  BAD_OP(AxSymbolCreateOp(O, "n", 0, NULL, NULL, 1, NULL, ins, &out), "AxSymbolCreateOp");
  NULL_ARG(AxSymbolCreateOp(g_op, NULL, 0, NULL, NULL, 1, NULL, ins, &out), "AxSymbolCreateOp", "name");
  NULL_ARG(AxSymbolCreateOp(g_op, "n", 0, NULL, NULL, 1, NULL, ins, NULL), "AxSymbolCreateOp", "out");
  CHECK_ERR(AxSymbolCreateOp(g_op, "", 0, NULL, NULL, 1, NULL, ins, &out), AX_ERR_INVALID_ARGUMENT,
            "the node name is empty");
  CHECK_ERR(AxSymbolCreateOp(g_op, "n", 0, NULL, NULL, 1, NULL, NULL, &out), AX_ERR_INVALID_ARGUMENT,
            "AxSymbolCreateOp: argument 'inputs' is NULL");
  CHECK_ERR(AxSymbolCreateOp(g_op, "n", 0, NULL, NULL, -1, NULL, ins, &out), AX_ERR_INVALID_ARGUMENT,
            "AxSymbolCreateOp: num_inputs");
  CHECK_ERR(AxSymbolCreateOp(g_op, "n", -1, NULL, NULL, 1, NULL, ins, &out), AX_ERR_INVALID_ARGUMENT,
            "AxSymbolCreateOp: num_params");
  CHECK_ERR(AxSymbolCreateOp(g_op, "n", 1, k_nope, v_one, 1, NULL, ins, &out), AX_ERR_INVALID_ARGUMENT,
            "no_such_attr");
  BAD_SYMBOL((ins[0] = S, AxSymbolCreateOp(g_op, "n", 0, NULL, NULL, 1, NULL, ins, &out)),
             "AxSymbolCreateOp: inputs[0]");
  ins[0] = g_sym;
  CHECK_ERR(AxSymbolCreateOp(g_op, "n", 0, NULL, NULL, 2, NULL, ins, &out), AX_ERR_INVALID_ARGUMENT, "relu");
  CHECK_ERR(AxSymbolCreateOp(g_op, "n", 0, NULL, NULL, 1, keys, ins, &out), AX_ERR_INVALID_ARGUMENT,
            "no_such_input");
  CHECK(out == NULL);
}

static void bad_AxSymbolCompose(void) {
  AxSymbolHandle out = NULL, args[4];
  const char *keys[1] = {"no_such_input"};
  args[0] = args[1] = args[2] = args[3] = g_sym;
  BAD_SYMBOL(AxSymbolCompose(S, 1, NULL, args, &out), "AxSymbolCompose: sym");
  NULL_ARG(AxSymbolCompose(g_sym, 1, NULL, args, NULL), "AxSymbolCompose", "out");
  CHECK_ERR(AxSymbolCompose(g_sym, 1, NULL, NULL, &out), AX_ERR_INVALID_ARGUMENT,
            "AxSymbolCompose: argument 'args' is NULL");
  CHECK_ERR(AxSymbolCompose(g_sym, -1, NULL, args, &out), AX_ERR_INVALID_ARGUMENT, "AxSymbolCompose: num_args");
  BAD_SYMBOL((args[0] = S, AxSymbolCompose(g_sym, 1, NULL, args, &out)), "AxSymbolCompose: args[0]");
  args[0] = g_sym;
  CHECK_ERR(AxSymbolCompose(g_sym, 1, keys, args, &out), AX_ERR_INVALID_ARGUMENT, "no_such_input");
  CHECK_ERR(AxSymbolCompose(g_sym, 4, NULL, args, &out), AX_ERR_INVALID_ARGUMENT,
            "the symbol has 3 inputs, got more positional arguments");
  CHECK(out == NULL);
}

static void bad_AxSymbolCopy(void) {
  AxSymbolHandle out = NULL;
  BAD_SYMBOL(AxSymbolCopy(S, &out), "AxSymbolCopy: sym");
  NULL_ARG(AxSymbolCopy(g_sym, NULL), "AxSymbolCopy", "out");
  CHECK(out == NULL);
}

static void bad_AxSymbolFree(void) {
  AxSymbolFree(NULL);
  BAD_FREE(AxSymbolFree(freed_symbol()), AxSymbolFree((AxSymbolHandle)g_arr), "AxSymbolFree");
}

static void bad_AxSymbolGroup(void) {
  AxSymbolHandle out = NULL, syms[1];
  syms[0] = g_sym;
  NULL_ARG(AxSymbolGroup(1, syms, NULL), "AxSymbolGroup", "out");
  CHECK_ERR(AxSymbolGroup(1, NULL, &out), AX_ERR_INVALID_ARGUMENT, "AxSymbolGroup: argument 'syms' is NULL");
  CHECK_ERR(AxSymbolGroup(0, syms, &out), AX_ERR_INVALID_ARGUMENT, "AxSymbolGroup: num");
  CHECK_ERR(AxSymbolGroup(-1, syms, &out), AX_ERR_INVALID_ARGUMENT, "AxSymbolGroup: num");
  BAD_SYMBOL((syms[0] = S, AxSymbolGroup(1, syms, &out)), "AxSymbolGroup: syms[0]");
  CHECK(out == NULL);
}

static void bad_AxSymbolGetNumOutputs(void) {
  int n = -9;
  BAD_SYMBOL(AxSymbolGetNumOutputs(S, &n), "AxSymbolGetNumOutputs: sym");
  NULL_ARG(AxSymbolGetNumOutputs(g_sym, NULL), "AxSymbolGetNumOutputs", "out");
  CHECK(n == -9);
}

static void bad_AxSymbolGetOutput(void) {
  AxSymbolHandle out = NULL;
  BAD_SYMBOL(AxSymbolGetOutput(S, 0, &out), "AxSymbolGetOutput: sym");
  NULL_ARG(AxSymbolGetOutput(g_sym, 0, NULL), "AxSymbolGetOutput", "out");
  CHECK_ERR(AxSymbolGetOutput(g_sym, -1, &out), AX_ERR_INDEX, "AxSymbolGetOutput: negative index -1");
  CHECK_ERR(AxSymbolGetOutput(g_sym, 1, &out), AX_ERR_INDEX, "1");
  CHECK(out == NULL);
}

static void bad_AxSymbolGetInternals(void) {
  AxSymbolHandle out = NULL;
  BAD_SYMBOL(AxSymbolGetInternals(S, &out), "AxSymbolGetInternals: sym");
  NULL_ARG(AxSymbolGetInternals(g_sym, NULL), "AxSymbolGetInternals", "out");
  CHECK(out == NULL);
}

static void bad_AxSymbolGetChildren(void) {
  AxSymbolHandle out = NULL;
  BAD_SYMBOL(AxSymbolGetChildren(S, &out), "AxSymbolGetChildren: sym");
  NULL_ARG(AxSymbolGetChildren(g_sym, NULL), "AxSymbolGetChildren", "out");
  CHECK(out == NULL);
}

static void bad_AxSymbolListNames(void) {
  int n = -9;
  const char **names = NULL;
  BAD_SYMBOL(AxSymbolListNames(S, AX_SYM_ARGUMENTS, &n, &names), "AxSymbolListNames: sym");
  NULL_ARG(AxSymbolListNames(g_sym, AX_SYM_ARGUMENTS, NULL, &names), "AxSymbolListNames", "num");
  NULL_ARG(AxSymbolListNames(g_sym, AX_SYM_ARGUMENTS, &n, NULL), "AxSymbolListNames", "names");
  CHECK_ERR(AxSymbolListNames(g_sym, 7, &n, &names), AX_ERR_INVALID_ARGUMENT, "AxSymbolListNames: unknown list kind 7");
  CHECK(n == -9 && names == NULL);
}

static void bad_AxSymbolGetName(void) {
  const char *name = NULL;
  int ok = -9;
  BAD_SYMBOL(AxSymbolGetName(S, &name, &ok), "AxSymbolGetName: sym");
  NULL_ARG(AxSymbolGetName(g_sym, NULL, &ok), "AxSymbolGetName", "name");
  NULL_ARG(AxSymbolGetName(g_sym, &name, NULL), "AxSymbolGetName", "success");
  CHECK(name == NULL && ok == -9);
}

static void bad_AxSymbolGetAttr(void) {
  const char *value = NULL;
  int ok = -9;
  BAD_SYMBOL(AxSymbolGetAttr(S, "k", &value, &ok), "AxSymbolGetAttr: sym");
  NULL_ARG(AxSymbolGetAttr(g_sym, NULL, &value, &ok), "AxSymbolGetAttr", "key");
  NULL_ARG(AxSymbolGetAttr(g_sym, "k", NULL, &ok), "AxSymbolGetAttr", "value");
  NULL_ARG(AxSymbolGetAttr(g_sym, "k", &value, NULL), "AxSymbolGetAttr", "success");
  CHECK(value == NULL && ok == -9);
}

static void bad_AxSymbolSetAttr(void) {
  AxSymbolHandle fc = NULL;
  BAD_SYMBOL(AxSymbolSetAttr(S, "k", "v"), "AxSymbolSetAttr: sym");
  NULL_ARG(AxSymbolSetAttr(g_sym, NULL, "v"), "AxSymbolSetAttr", "key");
  NULL_ARG(AxSymbolSetAttr(g_sym, "k", NULL), "AxSymbolSetAttr", "value");
  /* an op parameter is re-checked: FullyConnected's num_hidden must be an integer */
  CHECK_OK(AxSymbolGetChildren(g_sym, &fc));
  CHECK_ERR(AxSymbolSetAttr(fc, "num_hidden", "four"), AX_ERR_INVALID_ARGUMENT, "num_hidden");
  AxSymbolFree(fc);
}

static void bad_AxSymbolListAttr(void) {
  int n = -9;
  const char **strs = NULL;
  BAD_SYMBOL(AxSymbolListAttr(S, 0, &n, &strs), "AxSymbolListAttr: sym");
  NULL_ARG(AxSymbolListAttr(g_sym, 0, NULL, &strs), "AxSymbolListAttr", "num");
  NULL_ARG(AxSymbolListAttr(g_sym, 0, &n, NULL), "AxSymbolListAttr", "strs");
  CHECK(n == -9 && strs == NULL);
}

static void bad_AxSymbolInferShape(void) {
  const char *keys[1] = {"x"}, *nokey[1] = {NULL}, *unknown[1] = {"y"};
  int ind[2] = {0, 2}, ind_many[2] = {0, 40}, ind_back[2] = {2, 0};
  int64_t shape[2] = {2, 3}, neg[2] = {2, -5}, big[2] = {INT64_C(1) << 40, INT64_C(1) << 40};
  const char *two_keys[2] = {"x", "fc_weight"};
  int ind_two[3] = {0, 2, 4};
  int64_t two_shapes[4] = {2, 3, 4, 5};
  int64_t many[40];
  int an = -9, on = -9, xn = -9, done = -9, i;
  const int *and_ = NULL, *ond = NULL, *xnd = NULL;
  const int64_t *const *ad = NULL, *const *od = NULL, *const *xd = NULL;
  for (i = 0; i < 40; ++i) many[i] = 1;
#define INFER(sym, n, k, p, d) AxSymbolInferShape(sym, n, k, p, d, &an, &and_, &ad, &on, &ond, &od, &xn, &xnd, &xd, &done)
  BAD_SYMBOL(INFER(S, 1, keys, ind, shape), "AxSymbolInferShape: sym");
  NULL_ARG(AxSymbolInferShape(g_sym, 1, keys, ind, shape, NULL, &and_, &ad, &on, &ond, &od, &xn, &xnd, &xd, &done),
           "AxSymbolInferShape", "arg_num");
  NULL_ARG(AxSymbolInferShape(g_sym, 1, keys, ind, shape, &an, NULL, &ad, &on, &ond, &od, &xn, &xnd, &xd, &done),
           "AxSymbolInferShape", "arg_ndim");
  NULL_ARG(AxSymbolInferShape(g_sym, 1, keys, ind, shape, &an, &and_, NULL, &on, &ond, &od, &xn, &xnd, &xd, &done),
           "AxSymbolInferShape", "arg_dims");
  NULL_ARG(AxSymbolInferShape(g_sym, 1, keys, ind, shape, &an, &and_, &ad, NULL, &ond, &od, &xn, &xnd, &xd, &done),
           "AxSymbolInferShape", "out_num");
  NULL_ARG(AxSymbolInferShape(g_sym, 1, keys, ind, shape, &an, &and_, &ad, &on, NULL, &od, &xn, &xnd, &xd, &done),
           "AxSymbolInferShape", "out_ndim");
  NULL_ARG(AxSymbolInferShape(g_sym, 1, keys, ind, shape, &an, &and_, &ad, &on, &ond, NULL, &xn, &xnd, &xd, &done),
           "AxSymbolInferShape", "out_dims");
  NULL_ARG(AxSymbolInferShape(g_sym, 1, keys, ind, shape, &an, &and_, &ad, &on, &ond, &od, NULL, &xnd, &xd, &done),
           "AxSymbolInferShape", "aux_num");
  NULL_ARG(AxSymbolInferShape(g_sym, 1, keys, ind, shape, &an, &and_, &ad, &on, &ond, &od, &xn, NULL, &xd, &done),
           "AxSymbolInferShape", "aux_ndim");
  NULL_ARG(AxSymbolInferShape(g_sym, 1, keys, ind, shape, &an, &and_, &ad, &on, &ond, &od, &xn, &xnd, NULL, &done),
           "AxSymbolInferShape", "aux_dims");
  NULL_ARG(AxSymbolInferShape(g_sym, 1, keys, ind, shape, &an, &and_, &ad, &on, &ond, &od, &xn, &xnd, &xd, NULL),
           "AxSymbolInferShape", "complete");
  CHECK_ERR(INFER(g_sym, -1, keys, ind, shape), AX_ERR_INVALID_ARGUMENT, "AxSymbolInferShape: num_known");
  CHECK_ERR(INFER(g_sym, 1, NULL, ind, shape), AX_ERR_INVALID_ARGUMENT, "AxSymbolInferShape: argument 'keys' is NULL");
  CHECK_ERR(INFER(g_sym, 1, keys, NULL, shape), AX_ERR_INVALID_ARGUMENT,
            "AxSymbolInferShape: argument 'ind_ptr' is NULL");
  CHECK_ERR(INFER(g_sym, 1, keys, ind, NULL), AX_ERR_INVALID_ARGUMENT,
            "AxSymbolInferShape: argument 'shape_data' is NULL");
  CHECK_ERR(INFER(g_sym, 1, nokey, ind, shape), AX_ERR_INVALID_ARGUMENT, "AxSymbolInferShape: keys[0] is NULL");
  CHECK_ERR(INFER(g_sym, 1, unknown, ind, shape), AX_ERR_INVALID_ARGUMENT, "no input named 'y'");
  CHECK_ERR(INFER(g_sym, 1, keys, ind_back, shape), AX_ERR_INVALID_ARGUMENT, "AxSymbolInferShape: ind_ptr");
  CHECK_ERR(INFER(g_sym, 1, keys, ind_many, many), AX_ERR_SHAPE, "dimensions");
  CHECK_ERR(INFER(g_sym, 1, keys, ind, neg), AX_ERR_SHAPE, "'x' has a negative dimension -5");
  CHECK_ERR(INFER(g_sym, 1, keys, ind, big), AX_ERR_SHAPE, "overflows");
  /* the weight given a shape that does not fit the data: names the node and the shapes */
  CHECK_ERR(INFER(g_sym, 2, two_keys, ind_two, two_shapes), AX_ERR_SHAPE, "fc");
#undef INFER
  CHECK(an == -9 && on == -9 && xn == -9 && done == -9 && ad == NULL);
}

static void bad_AxSymbolInferType(void) {
  const char *keys[1] = {"x"}, *nokey[1] = {NULL}, *unknown[1] = {"y"};
  int types[1] = {AX_FLOAT32}, bad[1] = {99};
  int an = -9, on = -9, xn = -9, done = -9;
  const int *at = NULL, *ot = NULL, *xt = NULL;
#define INFER(sym, n, k, t) AxSymbolInferType(sym, n, k, t, &an, &at, &on, &ot, &xn, &xt, &done)
  BAD_SYMBOL(INFER(S, 1, keys, types), "AxSymbolInferType: sym");
  NULL_ARG(AxSymbolInferType(g_sym, 1, keys, types, NULL, &at, &on, &ot, &xn, &xt, &done), "AxSymbolInferType",
           "arg_num");
  NULL_ARG(AxSymbolInferType(g_sym, 1, keys, types, &an, NULL, &on, &ot, &xn, &xt, &done), "AxSymbolInferType",
           "arg_types");
  NULL_ARG(AxSymbolInferType(g_sym, 1, keys, types, &an, &at, NULL, &ot, &xn, &xt, &done), "AxSymbolInferType",
           "out_num");
  NULL_ARG(AxSymbolInferType(g_sym, 1, keys, types, &an, &at, &on, NULL, &xn, &xt, &done), "AxSymbolInferType",
           "out_types");
  NULL_ARG(AxSymbolInferType(g_sym, 1, keys, types, &an, &at, &on, &ot, NULL, &xt, &done), "AxSymbolInferType",
           "aux_num");
  NULL_ARG(AxSymbolInferType(g_sym, 1, keys, types, &an, &at, &on, &ot, &xn, NULL, &done), "AxSymbolInferType",
           "aux_types");
  NULL_ARG(AxSymbolInferType(g_sym, 1, keys, types, &an, &at, &on, &ot, &xn, &xt, NULL), "AxSymbolInferType",
           "complete");
  CHECK_ERR(INFER(g_sym, -1, keys, types), AX_ERR_INVALID_ARGUMENT, "AxSymbolInferType: num_known");
  CHECK_ERR(INFER(g_sym, 1, NULL, types), AX_ERR_INVALID_ARGUMENT, "AxSymbolInferType: argument 'keys' is NULL");
  CHECK_ERR(INFER(g_sym, 1, keys, NULL), AX_ERR_INVALID_ARGUMENT, "AxSymbolInferType: argument 'dtypes' is NULL");
  CHECK_ERR(INFER(g_sym, 1, nokey, types), AX_ERR_INVALID_ARGUMENT, "AxSymbolInferType: keys[0] is NULL");
  CHECK_ERR(INFER(g_sym, 1, unknown, types), AX_ERR_INVALID_ARGUMENT, "no input named 'y'");
  CHECK_ERR(INFER(g_sym, 1, keys, bad), AX_ERR_TYPE, "dtype code 99");
#undef INFER
  CHECK(an == -9 && on == -9 && xn == -9 && done == -9 && at == NULL);
}

static void bad_AxSymbolSaveToJSON(void) {
  const char *out = NULL;
  BAD_SYMBOL(AxSymbolSaveToJSON(S, &out), "AxSymbolSaveToJSON: sym");
  NULL_ARG(AxSymbolSaveToJSON(g_sym, NULL), "AxSymbolSaveToJSON", "out_json");
  CHECK(out == NULL);
}

/* Symbol JSON documents that must not load. */
static const char *const kBadJSON[] = {
    "",
    "{",
    "[]",
    "null",
    "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []}], \"arg_nodes\": [0]",     /* truncated */
    "{\"nodes\": [], \"arg_nodes\": [], \"heads\": [[0, 0, 0]]}",                               /* head past the nodes */
    "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []}], \"arg_nodes\": [0], "
    "\"heads\": [[4294967296, 0, 0]]}",                                                         /* oversized index */
    "{\"nodes\": [{\"op\": \"nope\", \"name\": \"n\", \"inputs\": []}], \"arg_nodes\": [], "
    "\"heads\": [[0, 0, 0]]}",                                                                  /* unknown op */
    "{\"nodes\": [{\"op\": \"relu\", \"name\": \"n\", \"inputs\": [[0, 0, 0]]}], \"arg_nodes\": [], "
    "\"heads\": [[0, 0, 0]]}",                                                                  /* a node its own input */
    "\x12\x01\0\0\0\0\0\0",                                                                     /* a .params header */
};

static void bad_AxSymbolCreateFromJSON(void) {
  AxSymbolHandle out = NULL;
  size_t i;
  NULL_ARG(AxSymbolCreateFromJSON(NULL, &out), "AxSymbolCreateFromJSON", "json");
  NULL_ARG(AxSymbolCreateFromJSON("{}", NULL), "AxSymbolCreateFromJSON", "out");
  for (i = 0; i < sizeof kBadJSON / sizeof kBadJSON[0]; ++i) {
    int rc = AxSymbolCreateFromJSON(kBadJSON[i], &out);
    CHECK(rc == AX_ERR_IO || rc == AX_ERR_INVALID_ARGUMENT);
    CHECK(AxGetLastError()[0] != '\0');
    if (rc == AX_OK) fprintf(stderr, "  loaded bad JSON #%u\n", (unsigned)i);
  }
  CHECK(out == NULL);
}

static void bad_AxSymbolSaveToFile(void) {
  BAD_SYMBOL(AxSymbolSaveToFile(S, path_in_dir("s.json")), "AxSymbolSaveToFile: sym");
  NULL_ARG(AxSymbolSaveToFile(g_sym, NULL), "AxSymbolSaveToFile", "path");
  CHECK_ERR(AxSymbolSaveToFile(g_sym, "/nonexistent-dir/s.json"), AX_ERR_IO, "/nonexistent-dir/s.json");
}

static void bad_AxSymbolCreateFromFile(void) {
  AxSymbolHandle out = NULL;
  size_t i;
  const char *path = path_in_dir("bad.json");
  static const unsigned char params_file[] = {0x12, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                              0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  NULL_ARG(AxSymbolCreateFromFile(NULL, &out), "AxSymbolCreateFromFile", "path");
  NULL_ARG(AxSymbolCreateFromFile(path, NULL), "AxSymbolCreateFromFile", "out");
  CHECK_ERR(AxSymbolCreateFromFile(path_in_dir("missing.json"), &out), AX_ERR_IO, "missing.json");
  for (i = 0; i < sizeof kBadJSON / sizeof kBadJSON[0]; ++i) {
    int rc;
    write_file(path, kBadJSON[i], strlen(kBadJSON[i]));
    rc = AxSymbolCreateFromFile(path, &out);
    CHECK(rc == AX_ERR_IO || rc == AX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(AxGetLastError(), "bad.json") != NULL);
  }
  write_file(path, params_file, sizeof params_file); /* a .params file (with NUL bytes) */
  CHECK_ERR(AxSymbolCreateFromFile(path, &out), AX_ERR_IO, "bad.json");
  CHECK_ERR(AxSymbolCreateFromFile(g_dir, &out), AX_ERR_IO, g_dir); /* a directory */
  CHECK(out == NULL);
}

static void bad_AxSymbolPrint(void) {
  const char *out = NULL;
  BAD_SYMBOL(AxSymbolPrint(S, &out), "AxSymbolPrint: sym");
  NULL_ARG(AxSymbolPrint(g_sym, NULL), "AxSymbolPrint", "out");
  CHECK(out == NULL);
}

/* ---- executors ---------------------------------------------------------------------------------- */
/* The arguments of g_sym (x, fc_weight, fc_bias) for 2x3 data, and their gradients. */
static AxNDArrayHandle g_args[3], g_grads[3];

static void bad_AxExecutorBind(void) {
  AxExecutorHandle out = NULL;
  AxNDArrayHandle args[3], aux[1], f64 = NULL, wrong = NULL;
  int reqs[3] = {AX_GRAD_WRITE, AX_GRAD_WRITE, AX_GRAD_WRITE}, bad_req[3] = {AX_GRAD_WRITE, 9, AX_GRAD_WRITE};
  int64_t s4[1] = {4}, s5[1] = {5};
  int i;
  for (i = 0; i < 3; ++i) args[i] = g_args[i];
  aux[0] = g_arr;
  CHECK_OK(AxNDArrayCreate(s4, 1, AX_CPU, 0, AX_FLOAT64, &f64));
  wrong = make_f32(s5, 1, NULL);
#define BIND(sym, dt, n, a, g, r, na, x, sh) AxExecutorBind(sym, dt, 0, n, a, g, r, na, x, sh, &out)
  BAD_SYMBOL(BIND(S, AX_CPU, 3, args, NULL, NULL, 0, NULL, NULL), "AxExecutorBind: sym");
  NULL_ARG(AxExecutorBind(g_sym, AX_CPU, 0, 3, args, NULL, NULL, 0, NULL, NULL, NULL), "AxExecutorBind", "out");
  CHECK_ERR(BIND(g_sym, 6, 3, args, NULL, NULL, 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT, "device type 6");
  CHECK_ERR(BIND(g_sym, AX_CPU, 3, NULL, NULL, NULL, 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT,
            "AxExecutorBind: argument 'args' is NULL");
  CHECK_ERR(BIND(g_sym, AX_CPU, -1, args, NULL, NULL, 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT,
            "AxExecutorBind: num_args");
  CHECK_ERR(BIND(g_sym, AX_CPU, 3, args, NULL, NULL, 1, NULL, NULL), AX_ERR_INVALID_ARGUMENT,
            "AxExecutorBind: argument 'aux_states' is NULL");
  CHECK_ERR(BIND(g_sym, AX_CPU, 3, args, NULL, NULL, -1, aux, NULL), AX_ERR_INVALID_ARGUMENT,
            "AxExecutorBind: num_aux");
  BAD_ARRAY((args[1] = H, BIND(g_sym, AX_CPU, 3, args, NULL, NULL, 0, NULL, NULL)), "AxExecutorBind: args[1]");
  args[1] = g_args[1];
  /* a gradient array that is NULL where grad_req is write, freed, or no array */
  g_grads[2] = NULL;
  CHECK_ERR(BIND(g_sym, AX_CPU, 3, args, g_grads, reqs, 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT,
            "argument 'fc_bias' has grad_req write/add but no gradient array");
  g_grads[2] = freed_array();
  CHECK_ERR(BIND(g_sym, AX_CPU, 3, args, g_grads, reqs, 0, NULL, NULL), AX_ERR_INVALID_HANDLE,
            "AxExecutorBind: arg_grads[2] is not a live NDArray handle");
  g_grads[2] = (AxNDArrayHandle)g_sym;
  CHECK_ERR(BIND(g_sym, AX_CPU, 3, args, g_grads, reqs, 0, NULL, NULL), AX_ERR_INVALID_HANDLE,
            "AxExecutorBind: arg_grads[2] is a Symbol handle, expected NDArray");
  g_grads[2] = g_args[2];
  CHECK_ERR(BIND(g_sym, AX_CPU, 3, args, g_grads, bad_req, 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT,
            "AxExecutorBind: grad_reqs[1]");
  CHECK_ERR(BIND(g_sym, AX_CPU, 3, args, NULL, reqs, 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT,
            "argument 'x' has grad_req write/add but no gradient array");
  /* shared_exec may be NULL; freed and foreign ones fail */
  CHECK_ERR(BIND(g_sym, AX_CPU, 3, args, NULL, NULL, 0, NULL, freed_executor()), AX_ERR_INVALID_HANDLE,
            "AxExecutorBind: shared_exec is not a live Executor handle");
  CHECK_ERR(BIND(g_sym, AX_CPU, 3, args, NULL, NULL, 0, NULL, (AxExecutorHandle)g_sym), AX_ERR_INVALID_HANDLE,
            "AxExecutorBind: shared_exec is a Symbol handle, expected Executor");
  /* missing, extra and misshaped arguments, a dtype that does not fit, aux states it has none of */
  CHECK_ERR(BIND(g_sym, AX_CPU, 2, args, NULL, NULL, 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT, "3");
  args[2] = wrong;
  CHECK_ERR(BIND(g_sym, AX_CPU, 3, args, NULL, NULL, 0, NULL, NULL), AX_ERR_SHAPE, "FullyConnected(fc): bias shape (5,)");
  args[2] = f64;
  CHECK_ERR(BIND(g_sym, AX_CPU, 3, args, NULL, NULL, 0, NULL, NULL), AX_ERR_TYPE,
            "FullyConnected(fc): dtype of input 'bias' is float64");
  args[2] = g_args[2];
  g_grads[0] = wrong;
  CHECK_ERR(BIND(g_sym, AX_CPU, 3, args, g_grads, reqs, 0, NULL, NULL), AX_ERR_SHAPE, "x");
  g_grads[0] = g_args[0];
  CHECK_ERR(BIND(g_sym, AX_CPU, 3, args, NULL, NULL, 1, aux, NULL), AX_ERR_INVALID_ARGUMENT, "aux");
#undef BIND
  CHECK(out == NULL);
  AxNDArrayFree(f64);
  AxNDArrayFree(wrong);
}

static void bad_AxExecutorForward(void) { BAD_EXECUTOR(AxExecutorForward(E, 0), "AxExecutorForward: exec"); }

static void bad_AxExecutorBackward(void) {
  AxNDArrayHandle heads[2], wrong = NULL, head = NULL;
  int64_t s5[1] = {5}, s24[2] = {2, 4};
  wrong = make_f32(s5, 1, NULL);
  head = make_f32(s24, 2, NULL);
  heads[0] = heads[1] = head;
  CHECK_OK(AxExecutorForward(g_exec, 1));
  BAD_EXECUTOR(AxExecutorBackward(E, 1, heads), "AxExecutorBackward: exec");
  CHECK_ERR(AxExecutorBackward(g_exec, 1, NULL), AX_ERR_INVALID_ARGUMENT,
            "AxExecutorBackward: argument 'head_grads' is NULL");
  CHECK_ERR(AxExecutorBackward(g_exec, -1, heads), AX_ERR_INVALID_ARGUMENT, "AxExecutorBackward: num");
  H = freed_array();
  CHECK_ERR((heads[0] = H, AxExecutorBackward(g_exec, 1, heads)), AX_ERR_INVALID_HANDLE,
            "AxExecutorBackward: head_grads[0] is not a live NDArray handle");
  CHECK_ERR((heads[0] = (AxNDArrayHandle)g_sym, AxExecutorBackward(g_exec, 1, heads)), AX_ERR_INVALID_HANDLE,
            "AxExecutorBackward: head_grads[0] is a Symbol handle, expected NDArray");
  heads[0] = NULL; /* NULL marks a loss output: this one is not */
  CHECK_ERR(AxExecutorBackward(g_exec, 1, heads), AX_ERR_INVALID_ARGUMENT, "head gradient is required");
  heads[0] = head;
  /* relu's output is no loss: it needs its head gradient */
  CHECK_ERR(AxExecutorBackward(g_exec, 0, heads), AX_ERR_INVALID_ARGUMENT, "head gradient");
  CHECK_ERR(AxExecutorBackward(g_exec, 2, heads), AX_ERR_INVALID_ARGUMENT, "backward: 2 head gradients for 1 output");
  heads[0] = wrong;
  CHECK_ERR(AxExecutorBackward(g_exec, 1, heads), AX_ERR_SHAPE, "(5,)");
  CHECK_OK(AxEngineWaitAll());
  AxNDArrayFree(wrong);
  AxNDArrayFree(head);
}

static void bad_AxExecutorOutputs(void) {
  int n = -9;
  AxNDArrayHandle *outs = NULL;
  BAD_EXECUTOR(AxExecutorOutputs(E, &n, &outs), "AxExecutorOutputs: exec");
  NULL_ARG(AxExecutorOutputs(g_exec, NULL, &outs), "AxExecutorOutputs", "num");
  NULL_ARG(AxExecutorOutputs(g_exec, &n, NULL), "AxExecutorOutputs", "outputs");
  CHECK(n == -9 && outs == NULL);
}

static void bad_AxExecutorHeadGradNeeded(void) {
  int n = -9;
  const int *flags = NULL;
  BAD_EXECUTOR(AxExecutorHeadGradNeeded(E, &n, &flags), "AxExecutorHeadGradNeeded: exec");
  NULL_ARG(AxExecutorHeadGradNeeded(g_exec, NULL, &flags), "AxExecutorHeadGradNeeded", "num");
  NULL_ARG(AxExecutorHeadGradNeeded(g_exec, &n, NULL), "AxExecutorHeadGradNeeded", "flags");
  CHECK(n == -9 && flags == NULL);
}

static void bad_AxExecutorMemoryPlan(void) {
  int64_t v = -9;
  BAD_EXECUTOR(AxExecutorMemoryPlan(E, &v, NULL, NULL, NULL, NULL), "AxExecutorMemoryPlan: exec");
  CHECK(v == -9);
  CHECK_OK(AxExecutorMemoryPlan(g_exec, NULL, NULL, NULL, NULL, NULL)); /* every out-parameter may be NULL */
}

static void bad_AxExecutorPrint(void) {
  const char *out = NULL;
  BAD_EXECUTOR(AxExecutorPrint(E, &out), "AxExecutorPrint: exec");
  NULL_ARG(AxExecutorPrint(g_exec, NULL), "AxExecutorPrint", "out");
  CHECK(out == NULL);
}

static void bad_AxExecutorFree(void) {
  AxExecutorFree(NULL);
  BAD_FREE(AxExecutorFree(freed_executor()), AxExecutorFree((AxExecutorHandle)g_sym), "AxExecutorFree");
}

/* ---- the catalogue ------------------------------------------------------------------------------ */
#define ENTRY(name) {#name, bad_##name}
static const struct {
  const char *name;
  void (*run)(void);
} CATALOGUE[] = {
    ENTRY(AxGetLastError), ENTRY(AxGetVersion), ENTRY(AxGetLiveHandleCount), ENTRY(AxEngineWaitAll),
    ENTRY(AxEngineGetType), ENTRY(AxGetGPUCount), ENTRY(AxStorageGetStats), ENTRY(AxStorageEmptyCache),
    ENTRY(AxRandomSeed), ENTRY(AxNDArrayCreate), ENTRY(AxNDArrayFree), ENTRY(AxNDArrayGetShape),
    ENTRY(AxNDArrayGetDType), ENTRY(AxNDArrayGetContext), ENTRY(AxNDArraySyncCopyFromCPU),
    ENTRY(AxNDArraySyncCopyToCPU), ENTRY(AxNDArrayCopyFromTo), ENTRY(AxNDArrayWaitToRead),
    ENTRY(AxNDArrayWaitToWrite), ENTRY(AxNDArrayReshape), ENTRY(AxNDArraySlice), ENTRY(AxNDArrayAt),
    ENTRY(AxNDArraySave), ENTRY(AxNDArrayLoad), ENTRY(AxNDArrayLoadFromBuffer), ENTRY(AxNDArrayToDLPack), ENTRY(AxNDArrayToDLPackForStream),
    ENTRY(AxNDArrayToDLPackVersioned), ENTRY(AxNDArrayFromDLPack), ENTRY(AxNDArrayFromDLPackVersioned),
    ENTRY(AxListOps), ENTRY(AxGetOpHandle), ENTRY(AxOpGetInfo), ENTRY(AxOpGetNumOutputs),
    ENTRY(AxImperativeInvoke), ENTRY(AxOpGradient), ENTRY(AxSetIsTraining), ENTRY(AxSymbolCreateVariable),
    ENTRY(AxSymbolCreateOp), ENTRY(AxSymbolCompose), ENTRY(AxSymbolCopy), ENTRY(AxSymbolFree), ENTRY(AxSymbolGroup),
    ENTRY(AxSymbolGetNumOutputs), ENTRY(AxSymbolGetOutput), ENTRY(AxSymbolGetInternals), ENTRY(AxSymbolGetChildren),
    ENTRY(AxSymbolListNames), ENTRY(AxSymbolGetName), ENTRY(AxSymbolGetAttr), ENTRY(AxSymbolSetAttr),
    ENTRY(AxSymbolListAttr), ENTRY(AxSymbolInferShape), ENTRY(AxSymbolInferType), ENTRY(AxSymbolSaveToJSON),
    ENTRY(AxSymbolCreateFromJSON), ENTRY(AxSymbolSaveToFile), ENTRY(AxSymbolCreateFromFile), ENTRY(AxSymbolPrint),
    ENTRY(AxExecutorBind), ENTRY(AxExecutorForward), ENTRY(AxExecutorBackward), ENTRY(AxExecutorOutputs),
    ENTRY(AxExecutorHeadGradNeeded), ENTRY(AxExecutorMemoryPlan), ENTRY(AxExecutorPrint), ENTRY(AxExecutorFree),
};

static void make_fixtures(void) {
  int64_t s23[2] = {2, 3}, s43[2] = {4, 3}, s4[1] = {4};
  const char *k_fc[1] = {"num_hidden"}, *v_fc[1] = {"4"};
  AxSymbolHandle x = NULL, fc = NULL;
  int reqs[3] = {AX_GRAD_WRITE, AX_GRAD_WRITE, AX_GRAD_WRITE};
  float zeros[12] = {0};
  int i;
  g_op = op("relu");
  g_arr = make_f32(s23, 2, zeros);
  CHECK_OK(AxSymbolCreateVariable("x", 0, NULL, NULL, &x));
  CHECK_OK(AxSymbolCreateOp(op("FullyConnected"), "fc", 1, k_fc, v_fc, 1, NULL, &x, &fc));
  CHECK_OK(AxSymbolCreateOp(g_op, "act", 0, NULL, NULL, 1, NULL, &fc, &g_sym));
  g_args[0] = make_f32(s23, 2, zeros);
  g_args[1] = make_f32(s43, 2, zeros);
  g_args[2] = make_f32(s4, 1, zeros);
  for (i = 0; i < 3; ++i) {
    g_grads[i] = g_args[i];
  }
  CHECK_OK(AxExecutorBind(g_sym, AX_CPU, 0, 3, g_args, g_grads, reqs, 0, NULL, NULL, &g_exec));
  AxSymbolFree(x);
  AxSymbolFree(fc);
}

static void free_fixtures(void) {
  int i;
  AxExecutorFree(g_exec);
  AxSymbolFree(g_sym);
  AxNDArrayFree(g_arr);
  for (i = 0; i < 3; ++i) AxNDArrayFree(g_args[i]);
}

int main(void) {
  size_t i;
  int64_t before = live_handles();
  const char *tmp = getenv("TMPDIR");
  snprintf(g_dir, sizeof g_dir, "%s/axle-badinput-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  if (!mkdtemp(g_dir)) {
    perror("mkdtemp");
    return 2;
  }
  make_fixtures();
  for (i = 0; i < sizeof CATALOGUE / sizeof CATALOGUE[0]; ++i) {
    int f0 = g_fail;
    CATALOGUE[i].run();
    if (g_fail != f0) fprintf(stderr, "-- %s: %d failed check(s)\n", CATALOGUE[i].name, g_fail - f0);
  }
  CHECK_OK(AxEngineWaitAll());
  free_fixtures();
  CHECK(live_handles() == before);
  remove(path_in_dir("bad.params"));
  remove(path_in_dir("bad.json"));
  remove(path_in_dir("save.params"));
  remove(path_in_dir("s.json"));
  rmdir(g_dir);
  printf("test_badinput: %u functions, %d passed, %d failed\n", (unsigned)(sizeof CATALOGUE / sizeof CATALOGUE[0]),
         g_pass, g_fail);
  return g_fail ? 1 : 0;
}
