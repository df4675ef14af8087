/*
 * axle_glue.c -- the R package's one .Call glue over include/axle.h.
 *
 * Handles are external pointers tagged with their kind (AxleNDArray, AxleSymbol,
 * AxleExecutorHandle, AxleOp) and carrying that kind as their class. A finalizer
 * (R_RegisterCFinalizerEx) clears the pointer and queues the handle; the queue is emptied at the
 * start of the next call into this file. Finalizers run inside garbage collections, which any R
 * allocation can trigger, and a free there would be a call into Axle while this file still reads
 * an Axle result that is "borrowed, valid until the next call on this thread" (AxGetLastError,
 * AxSymbolListNames, the handle arrays of AxImperativeInvoke and AxNDArrayLoad).
 *
 * Every failure becomes an R condition through the package's .axle_raise(code, message), so R
 * code can catch it by class (axle_shape_error, ..., axle_error) and read the core's message.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <R.h>
#include <Rinternals.h>
#include <R_ext/Rdynload.h>

#include "axle.h"

/* ---- handle kinds ----------------------------------------------------------------------------- */
enum { K_NDARRAY, K_SYMBOL, K_EXECUTOR, K_OP, K_COUNT };
static const char *const kind_names[K_COUNT] = {"AxleNDArray", "AxleSymbol", "AxleExecutorHandle", "AxleOp"};
static SEXP kind_tags[K_COUNT];
static SEXP g_ns = NULL; /* the package namespace: where .axle_raise lives */

/* ---- the queue of handles whose R objects were collected ------------------------------------ */
typedef struct {
  int kind;
  void *h;
} Pending;
static Pending *g_pending = NULL;
static size_t g_npending = 0, g_cappending = 0;

static void free_handle(int kind, void *h) {
  if (kind == K_NDARRAY) AxNDArrayFree((AxNDArrayHandle)h);
  else if (kind == K_SYMBOL) AxSymbolFree((AxSymbolHandle)h);
  else if (kind == K_EXECUTOR) AxExecutorFree((AxExecutorHandle)h);
}

static void flush_pending(void) {
  size_t i, n = g_npending;
  g_npending = 0;
  for (i = 0; i < n; ++i) free_handle(g_pending[i].kind, g_pending[i].h);
}

static int kind_of_tag(SEXP tag) {
  int k;
  for (k = 0; k < K_COUNT; ++k)
    if (tag == kind_tags[k]) return k;
  return -1;
}

static void finalize(SEXP p) {
  void *h = R_ExternalPtrAddr(p);
  int kind = kind_of_tag(R_ExternalPtrTag(p));
  if (!h || kind < 0 || kind == K_OP) return;
  R_ClearExternalPtr(p);
  if (g_npending == g_cappending) {
    size_t cap = g_cappending ? 2 * g_cappending : 256;
    Pending *grown = (Pending *)realloc(g_pending, cap * sizeof(Pending));
    if (!grown) { /* no memory to remember it: free it now (rare; see the header comment) */
      free_handle(kind, h);
      return;
    }
    g_pending = grown;
    g_cappending = cap;
  }
  g_pending[g_npending].kind = kind;
  g_pending[g_npending].h = h;
  ++g_npending;
}

/* Every entry point starts with this. */
#define ENTRY() flush_pending()

/* ---- errors ------------------------------------------------------------------------------------ */
static void ax_raise(int code, const char *msg) {
  SEXP fn, rcode, rmsg, call;
  if (!g_ns) Rf_error("%s", msg);
  fn = PROTECT(Rf_findVarInFrame(g_ns, Rf_install(".axle_raise")));
  if (fn == R_UnboundValue) Rf_error("%s", msg);
  rcode = PROTECT(Rf_ScalarInteger(code));
  rmsg = PROTECT(Rf_mkString(msg));
  call = PROTECT(Rf_lang3(fn, rcode, rmsg));
  Rf_eval(call, g_ns);
  UNPROTECT(4);
  Rf_error("%s", msg); /* .axle_raise always signals an error */
}

/* Raises the core's last error (copied before any R allocation). */
static void fail(int rc) {
  char msg[8192];
  const char *m = AxGetLastError();
  snprintf(msg, sizeof msg, "%s", m && m[0] ? m : "axle: unknown error");
  ax_raise(rc, msg);
}

#define CHECK(x)                 \
  do {                           \
    int rc_ = (x);               \
    if (rc_ != AX_OK) fail(rc_); \
  } while (0)

static void arg_error(const char *fmt, const char *a) {
  char msg[1024];
  snprintf(msg, sizeof msg, fmt, a);
  ax_raise(AX_ERR_INVALID_ARGUMENT, msg);
}

/* ---- handles ----------------------------------------------------------------------------------- */
static SEXP wrap(void *h, int kind) {
  SEXP p = PROTECT(R_MakeExternalPtr(h, kind_tags[kind], R_NilValue));
  SEXP cls;
  if (kind != K_OP) R_RegisterCFinalizerEx(p, finalize, FALSE);
  cls = PROTECT(Rf_mkString(kind_names[kind]));
  Rf_setAttrib(p, R_ClassSymbol, cls);
  UNPROTECT(2);
  return p;
}

static void *unwrap(SEXP x, int kind) {
  void *h;
  if (TYPEOF(x) != EXTPTRSXP || R_ExternalPtrTag(x) != kind_tags[kind]) {
    char msg[256];
    int other = TYPEOF(x) == EXTPTRSXP ? kind_of_tag(R_ExternalPtrTag(x)) : -1;
    snprintf(msg, sizeof msg, "expected an %s, got %s", kind_names[kind],
             other >= 0 ? kind_names[other] : Rf_type2char(TYPEOF(x)));
    ax_raise(AX_ERR_INVALID_HANDLE, msg);
  }
  h = R_ExternalPtrAddr(x);
  if (!h) {
    char msg[256];
    snprintf(msg, sizeof msg, "the %s handle is freed (or comes from a saved R session)", kind_names[kind]);
    ax_raise(AX_ERR_INVALID_HANDLE, msg);
  }
  return h;
}

#define ND(x) ((AxNDArrayHandle)unwrap((x), K_NDARRAY))
#define SYM(x) ((AxSymbolHandle)unwrap((x), K_SYMBOL))
#define EXEC(x) ((AxExecutorHandle)unwrap((x), K_EXECUTOR))

/* A list of handles of one kind as a C array (R_alloc'd); NULL entries allowed when nullable. */
static void **unwrap_list(SEXP list, int kind, int nullable, const char *what) {
  R_xlen_t i, n;
  void **out;
  if (list == R_NilValue) return NULL;
  if (TYPEOF(list) != VECSXP) arg_error("%s must be a list", what);
  n = XLENGTH(list);
  out = (void **)R_alloc((size_t)n + 1, sizeof(void *));
  for (i = 0; i < n; ++i) {
    SEXP x = VECTOR_ELT(list, i);
    out[i] = nullable && x == R_NilValue ? NULL : unwrap(x, kind);
  }
  return out;
}

static SEXP wrap_all(int n, void *const *hs, int kind) {
  SEXP out = PROTECT(Rf_allocVector(VECSXP, n));
  int i;
  for (i = 0; i < n; ++i) SET_VECTOR_ELT(out, i, wrap(hs[i], kind));
  UNPROTECT(1);
  return out;
}

/* ---- conversions ------------------------------------------------------------------------------- */
static const char **c_strings(SEXP s, const char *what) {
  R_xlen_t i, n;
  const char **out;
  if (s == R_NilValue) return NULL;
  if (TYPEOF(s) != STRSXP) arg_error("%s must be a character vector", what);
  n = XLENGTH(s);
  out = (const char **)R_alloc((size_t)n + 1, sizeof(char *));
  for (i = 0; i < n; ++i) out[i] = STRING_ELT(s, i) == NA_STRING ? "" : Rf_translateCharUTF8(STRING_ELT(s, i));
  return out;
}

static const char *c_string(SEXP s, const char *what) {
  if (TYPEOF(s) != STRSXP || XLENGTH(s) != 1 || STRING_ELT(s, 0) == NA_STRING)
    arg_error("%s must be one string", what);
  return Rf_translateCharUTF8(STRING_ELT(s, 0));
}

static int c_int(SEXP s, const char *what) {
  if (XLENGTH(s) != 1 || (TYPEOF(s) != INTSXP && TYPEOF(s) != REALSXP && TYPEOF(s) != LGLSXP))
    arg_error("%s must be one number", what);
  return Rf_asInteger(s);
}

/* Dims (numbers, R doubles or integers) as int64_t. */
static int64_t *c_dims(SEXP s, int *ndim, int allow_negative, const char *what) {
  R_xlen_t i, n;
  int64_t *out;
  SEXP d;
  if (TYPEOF(s) != INTSXP && TYPEOF(s) != REALSXP && s != R_NilValue) arg_error("%s must be numbers", what);
  n = s == R_NilValue ? 0 : XLENGTH(s);
  d = PROTECT(Rf_coerceVector(s == R_NilValue ? Rf_allocVector(REALSXP, 0) : s, REALSXP));
  out = (int64_t *)R_alloc((size_t)n + 1, sizeof(int64_t));
  for (i = 0; i < n; ++i) {
    double v = REAL(d)[i];
    if (!R_FINITE(v) || v != floor(v) || (!allow_negative && v < 0) || fabs(v) > 9.0e15)
      arg_error("%s must hold whole numbers, not negative", what);
    out[i] = (int64_t)v;
  }
  UNPROTECT(1);
  *ndim = (int)n;
  return out;
}

static SEXP r_dims(int ndim, const int64_t *dims) {
  SEXP out = PROTECT(Rf_allocVector(REALSXP, ndim));
  int i;
  for (i = 0; i < ndim; ++i) REAL(out)[i] = dims[i] < 0 ? NA_REAL : (double)dims[i];
  UNPROTECT(1);
  return out;
}

static SEXP r_strings(int n, const char *const *s) {
  SEXP out = PROTECT(Rf_allocVector(STRSXP, n));
  int i;
  for (i = 0; i < n; ++i) SET_STRING_ELT(out, i, Rf_mkCharCE(s[i] ? s[i] : "", CE_UTF8));
  UNPROTECT(1);
  return out;
}

static SEXP r_string(const char *s) { return r_strings(1, &s); }

static size_t dtype_size(int dtype) {
  switch (dtype) {
    case AX_FLOAT64: case AX_INT64: return 8;
    case AX_FLOAT32: case AX_INT32: return 4;
    case AX_FLOAT16: return 2;
    default: return 1;
  }
}

static double half_to_double(uint16_t h) {
  int e = (h >> 10) & 0x1f, f = h & 0x3ff;
  double v = e == 0 ? ldexp(f, -24) : e == 31 ? (f ? NAN : INFINITY) : ldexp(f + 1024, e - 25);
  return (h & 0x8000) ? -v : v;
}

/* Round to nearest even; overflow to infinity. */
static uint16_t double_to_half(double v) {
  uint16_t sign = signbit(v) ? 0x8000 : 0;
  double a = fabs(v), m;
  int e;
  if (isnan(v)) return 0x7e00;
  if (a >= 65520.0) return sign | 0x7c00;
  if (a < ldexp(1, -14)) return sign | (uint16_t)nearbyint(a * ldexp(1, 24)); /* subnormal (may round to min normal) */
  m = frexp(a, &e);                                                      /* a = m * 2^e, m in [0.5, 1) */
  {
    uint32_t mant = (uint32_t)nearbyint(ldexp(m, 11)); /* 1024..2048 */
    if (mant == 2048) {
      mant = 1024;
      ++e;
    }
    if (e + 14 >= 31) return sign | 0x7c00;
    return sign | (uint16_t)((e + 14) << 10) | (uint16_t)(mant - 1024);
  }
}

/* The R vector x (double, integer or logical) into n elements of dtype at out. */
static void fill_from_r(SEXP x, int dtype, void *out, size_t n) {
  size_t i;
  int is_real = TYPEOF(x) == REALSXP;
  const double *d = is_real ? REAL(x) : NULL;
  const int *iv = is_real ? NULL : (TYPEOF(x) == LGLSXP ? LOGICAL(x) : INTEGER(x));
  for (i = 0; i < n; ++i) {
    double v = is_real ? d[i] : (iv[i] == NA_INTEGER ? NAN : (double)iv[i]);
    if (isnan(v) && dtype != AX_FLOAT32 && dtype != AX_FLOAT64 && dtype != AX_FLOAT16)
      ax_raise(AX_ERR_INVALID_ARGUMENT, "NA or NaN cannot be stored in an integer or boolean NDArray");
    switch (dtype) {
      case AX_FLOAT32: ((float *)out)[i] = (float)v; break;
      case AX_FLOAT64: ((double *)out)[i] = v; break;
      case AX_FLOAT16: ((uint16_t *)out)[i] = double_to_half(v); break;
      case AX_UINT8: ((uint8_t *)out)[i] = (uint8_t)v; break;
      case AX_INT32: ((int32_t *)out)[i] = (int32_t)v; break;
      case AX_INT8: ((int8_t *)out)[i] = (int8_t)v; break;
      case AX_INT64: ((int64_t *)out)[i] = (int64_t)v; break;
      default: ((uint8_t *)out)[i] = v != 0; break; /* bool */
    }
  }
}

static size_t nd_size(AxNDArrayHandle h, int *dtype) {
  int ndim = 0, i;
  const int64_t *shape = NULL;
  size_t n = 1;
  CHECK(AxNDArrayGetShape(h, &ndim, &shape));
  CHECK(AxNDArrayGetDType(h, dtype));
  for (i = 0; i < ndim; ++i) n *= (size_t)shape[i];
  return n;
}

static void copy_in(AxNDArrayHandle h, SEXP x) {
  int dtype = 0;
  size_t n = nd_size(h, &dtype);
  void *buf;
  if (TYPEOF(x) != REALSXP && TYPEOF(x) != INTSXP && TYPEOF(x) != LGLSXP)
    arg_error("values must be numeric, integer or logical, not %s", Rf_type2char(TYPEOF(x)));
  if ((size_t)XLENGTH(x) != n) {
    char msg[256];
    snprintf(msg, sizeof msg, "%lu values given for an NDArray of %lu elements", (unsigned long)XLENGTH(x),
             (unsigned long)n);
    ax_raise(AX_ERR_SHAPE, msg);
  }
  buf = R_alloc(n + 1, (int)dtype_size(dtype));
  fill_from_r(x, dtype, buf, n);
  CHECK(AxNDArraySyncCopyFromCPU(h, buf, n * dtype_size(dtype)));
}

/* ---- library, engine, storage ----------------------------------------------------------------- */
static SEXP ax_init(SEXP ns) {
  int major = 0, minor = 0, patch = 0, k;
  for (k = 0; k < K_COUNT; ++k) kind_tags[k] = Rf_install(kind_names[k]);
  if (g_ns) R_ReleaseObject(g_ns);
  g_ns = ns;
  R_PreserveObject(g_ns);
  CHECK(AxGetVersion(&major, &minor, &patch));
  if (major != AX_VERSION_MAJOR) {
    char msg[256];
    snprintf(msg, sizeof msg, "libaxle %d.%d.%d does not match the header the R package was built with (%d.%d.%d): "
             "reinstall the R package", major, minor, patch, AX_VERSION_MAJOR, AX_VERSION_MINOR, AX_VERSION_PATCH);
    ax_raise(AX_ERR_NOT_SUPPORTED, msg);
  }
  {
    SEXP out = PROTECT(Rf_allocVector(INTSXP, 3));
    INTEGER(out)[0] = major, INTEGER(out)[1] = minor, INTEGER(out)[2] = patch;
    UNPROTECT(1);
    return out;
  }
}

static SEXP ax_live_handles(void) {
  int64_t n = 0;
  ENTRY();
  CHECK(AxGetLiveHandleCount(&n));
  return Rf_ScalarReal((double)n);
}

static SEXP ax_storage_stats(SEXP dev_type, SEXP dev_id) {
  int64_t v[5] = {0, 0, 0, 0, 0};
  SEXP out;
  int i;
  ENTRY();
  CHECK(AxStorageGetStats(c_int(dev_type, "dev_type"), c_int(dev_id, "dev_id"), &v[0], &v[1], &v[2], &v[3], &v[4]));
  out = PROTECT(Rf_allocVector(REALSXP, 5));
  for (i = 0; i < 5; ++i) REAL(out)[i] = (double)v[i];
  UNPROTECT(1);
  return out;
}

static SEXP ax_empty_cache(SEXP dev_type, SEXP dev_id) {
  ENTRY();
  CHECK(AxStorageEmptyCache(c_int(dev_type, "dev_type"), c_int(dev_id, "dev_id")));
  return R_NilValue;
}

static SEXP ax_wait_all(void) {
  ENTRY();
  CHECK(AxEngineWaitAll());
  return R_NilValue;
}

static SEXP ax_random_seed(SEXP seed) {
  ENTRY();
  CHECK(AxRandomSeed(c_int(seed, "seed")));
  return R_NilValue;
}

static SEXP ax_gpu_count(void) {
  int n = 0;
  ENTRY();
  CHECK(AxGetGPUCount(&n));
  return Rf_ScalarInteger(n);
}

static SEXP ax_set_training(SEXP flag) {
  int prev = 0;
  ENTRY();
  CHECK(AxSetIsTraining(c_int(flag, "is.train"), &prev));
  return Rf_ScalarLogical(prev);
}

/* Frees any handle now (its finalizer then has nothing to do). */
static SEXP ax_free(SEXP x) {
  int kind;
  void *h;
  ENTRY();
  if (TYPEOF(x) != EXTPTRSXP || (kind = kind_of_tag(R_ExternalPtrTag(x))) < 0)
    ax_raise(AX_ERR_INVALID_HANDLE, "axle.free: not an Axle handle");
  h = R_ExternalPtrAddr(x);
  if (h && kind != K_OP) {
    R_ClearExternalPtr(x);
    free_handle(kind, h);
  }
  return R_NilValue;
}

static SEXP ax_is_live(SEXP x) {
  return Rf_ScalarLogical(TYPEOF(x) == EXTPTRSXP && kind_of_tag(R_ExternalPtrTag(x)) >= 0 &&
                          R_ExternalPtrAddr(x) != NULL);
}

/* ---- NDArray ----------------------------------------------------------------------------------- */
static SEXP ax_nd_create(SEXP shape, SEXP dev_type, SEXP dev_id, SEXP dtype) {
  int ndim = 0;
  const int64_t *dims;
  AxNDArrayHandle h = NULL;
  ENTRY();
  dims = c_dims(shape, &ndim, 0, "shape");
  CHECK(AxNDArrayCreate(dims, ndim, c_int(dev_type, "dev_type"), c_int(dev_id, "dev_id"), c_int(dtype, "dtype"), &h));
  return wrap(h, K_NDARRAY);
}

/* A new array of shape (core order) holding the values of x. */
static SEXP ax_nd_from_r(SEXP x, SEXP shape, SEXP dev_type, SEXP dev_id, SEXP dtype) {
  SEXP out;
  ENTRY();
  out = PROTECT(ax_nd_create(shape, dev_type, dev_id, dtype));
  copy_in((AxNDArrayHandle)R_ExternalPtrAddr(out), x);
  UNPROTECT(1);
  return out;
}

static SEXP ax_nd_set(SEXP nd, SEXP x) {
  ENTRY();
  copy_in(ND(nd), x);
  return R_NilValue;
}

/* The values (waiting for them): double for float and int64 types, integer for int32/int8/uint8,
 * logical for bool. Dims are set by the R side. */
static SEXP ax_nd_to_r(SEXP nd) {
  AxNDArrayHandle h;
  int dtype = 0;
  size_t n, i;
  unsigned char *raw;
  SEXP out;
  ENTRY();
  h = ND(nd);
  n = nd_size(h, &dtype);
  raw = (unsigned char *)R_alloc(n + 1, (int)dtype_size(dtype));
  CHECK(AxNDArraySyncCopyToCPU(h, raw, n * dtype_size(dtype)));
  if (dtype == AX_INT32 || dtype == AX_INT8 || dtype == AX_UINT8) {
    out = PROTECT(Rf_allocVector(INTSXP, (R_xlen_t)n));
    for (i = 0; i < n; ++i)
      INTEGER(out)[i] = dtype == AX_INT32 ? ((int32_t *)raw)[i] : dtype == AX_INT8 ? ((int8_t *)raw)[i] : raw[i];
  } else if (dtype == AX_BOOL) {
    out = PROTECT(Rf_allocVector(LGLSXP, (R_xlen_t)n));
    for (i = 0; i < n; ++i) LOGICAL(out)[i] = raw[i] != 0;
  } else {
    double *d;
    out = PROTECT(Rf_allocVector(REALSXP, (R_xlen_t)n));
    d = REAL(out);
    for (i = 0; i < n; ++i) {
      switch (dtype) {
        case AX_FLOAT32: d[i] = ((float *)raw)[i]; break;
        case AX_FLOAT64: d[i] = ((double *)raw)[i]; break;
        case AX_FLOAT16: d[i] = half_to_double(((uint16_t *)raw)[i]); break;
        default: d[i] = (double)((int64_t *)raw)[i]; break;
      }
    }
  }
  UNPROTECT(1);
  return out;
}

static SEXP ax_nd_shape(SEXP nd) {
  int ndim = 0;
  const int64_t *shape = NULL;
  ENTRY();
  CHECK(AxNDArrayGetShape(ND(nd), &ndim, &shape));
  return r_dims(ndim, shape);
}

static SEXP ax_nd_dtype(SEXP nd) {
  int dtype = 0;
  ENTRY();
  CHECK(AxNDArrayGetDType(ND(nd), &dtype));
  return Rf_ScalarInteger(dtype);
}

static SEXP ax_nd_context(SEXP nd) {
  int dt = 0, di = 0;
  SEXP out;
  ENTRY();
  CHECK(AxNDArrayGetContext(ND(nd), &dt, &di));
  out = PROTECT(Rf_allocVector(INTSXP, 2));
  INTEGER(out)[0] = dt, INTEGER(out)[1] = di;
  UNPROTECT(1);
  return out;
}

static SEXP ax_nd_copyto(SEXP src, SEXP dst) {
  ENTRY();
  CHECK(AxNDArrayCopyFromTo(ND(src), ND(dst)));
  return dst;
}

static SEXP ax_nd_wait(SEXP nd) {
  ENTRY();
  CHECK(AxNDArrayWaitToRead(ND(nd)));
  return R_NilValue;
}

static SEXP ax_nd_reshape(SEXP nd, SEXP dims, SEXP reverse) {
  int ndim = 0;
  const int64_t *d;
  AxNDArrayHandle h = NULL;
  ENTRY();
  d = c_dims(dims, &ndim, 1, "shape");
  CHECK(AxNDArrayReshape(ND(nd), ndim, d, c_int(reverse, "reverse"), &h));
  return wrap(h, K_NDARRAY);
}

static SEXP ax_nd_save(SEXP fname, SEXP arrays, SEXP names) {
  void **hs;
  const char **ns;
  ENTRY();
  hs = unwrap_list(arrays, K_NDARRAY, 0, "arrays");
  ns = c_strings(names, "names");
  if (names != R_NilValue && XLENGTH(names) != XLENGTH(arrays)) arg_error("%s", "one name per array");
  CHECK(AxNDArraySave(c_string(fname, "filename"), (int)XLENGTH(arrays), (const AxNDArrayHandle *)hs, ns));
  return R_NilValue;
}

/* A list of the arrays, with names when the file holds a dict. */
static SEXP ax_nd_load(SEXP fname) {
  int n = 0, nn = 0;
  AxNDArrayHandle *arrays = NULL;
  const char **names = NULL;
  SEXP out;
  ENTRY();
  CHECK(AxNDArrayLoad(c_string(fname, "filename"), &n, &arrays, &nn, &names));
  out = PROTECT(wrap_all(n, (void *const *)arrays, K_NDARRAY));
  if (nn > 0) {
    SEXP nms = PROTECT(r_strings(nn, names));
    Rf_setAttrib(out, R_NamesSymbol, nms);
    UNPROTECT(1);
  }
  UNPROTECT(1);
  return out;
}

/* ---- operators ---------------------------------------------------------------------------------- */
static SEXP ax_op_list(void) {
  int n = 0;
  const char **names = NULL;
  ENTRY();
  CHECK(AxListOps(&n, &names));
  return r_strings(n, names);
}

static SEXP ax_op_handle(SEXP name) {
  AxOpHandle op = NULL;
  ENTRY();
  CHECK(AxGetOpHandle(c_string(name, "op name"), &op));
  return wrap(op, K_OP);
}

static SEXP ax_op_info(SEXP op) {
  const char *name = NULL, *doc = NULL, *kv = NULL;
  const char **inputs = NULL, **pn = NULL, **pt = NULL, **pd = NULL;
  int nin = 0, np = 0;
  SEXP out, nm;
  ENTRY();
  CHECK(AxOpGetInfo((AxOpHandle)unwrap(op, K_OP), &name, &doc, &nin, &inputs, &np, &pn, &pt, &pd, &kv));
  out = PROTECT(Rf_allocVector(VECSXP, 8));
  SET_VECTOR_ELT(out, 0, r_string(name));
  SET_VECTOR_ELT(out, 1, r_string(doc));
  SET_VECTOR_ELT(out, 2, Rf_ScalarInteger(nin));
  SET_VECTOR_ELT(out, 3, r_strings(nin > 0 ? nin : 0, inputs));
  SET_VECTOR_ELT(out, 4, r_strings(np, pn));
  SET_VECTOR_ELT(out, 5, r_strings(np, pt));
  SET_VECTOR_ELT(out, 6, r_strings(np, pd));
  SET_VECTOR_ELT(out, 7, r_string(kv ? kv : ""));
  {
    static const char *const fields[] = {"name", "doc", "num_inputs", "input_names", "param_names",
                                         "param_types", "param_docs", "key_var_num_args"};
    nm = PROTECT(r_strings(8, fields));
  }
  Rf_setAttrib(out, R_NamesSymbol, nm);
  UNPROTECT(2);
  return out;
}

/* Runs an op. outs: NULL (new outputs) or a list of arrays to write. Returns the output list. */
static SEXP ax_invoke(SEXP op, SEXP inputs, SEXP keys, SEXP vals, SEXP outs) {
  AxOpHandle h;
  void **in, **given;
  const char **k, **v;
  AxNDArrayHandle *res = NULL;
  int nout = 0;
  ENTRY();
  h = (AxOpHandle)unwrap(op, K_OP);
  in = unwrap_list(inputs, K_NDARRAY, 0, "inputs");
  k = c_strings(keys, "attribute names");
  v = c_strings(vals, "attribute values");
  if (XLENGTH(keys) != XLENGTH(vals)) arg_error("%s", "one value per attribute");
  if (outs != R_NilValue) {
    given = unwrap_list(outs, K_NDARRAY, 0, "out");
    res = (AxNDArrayHandle *)given;
    nout = (int)XLENGTH(outs);
    CHECK(AxImperativeInvoke(h, (int)XLENGTH(inputs), (const AxNDArrayHandle *)in, &nout, &res, (int)XLENGTH(keys),
                             k, v));
    return outs;
  }
  CHECK(AxImperativeInvoke(h, (int)XLENGTH(inputs), (const AxNDArrayHandle *)in, &nout, &res, (int)XLENGTH(keys), k,
                           v));
  return wrap_all(nout, (void *const *)res, K_NDARRAY);
}

/* ---- symbols ---------------------------------------------------------------------------------------- */
static SEXP ax_sym_variable(SEXP name, SEXP keys, SEXP vals) {
  AxSymbolHandle s = NULL;
  ENTRY();
  if (XLENGTH(keys) != XLENGTH(vals)) arg_error("%s", "one value per attribute");
  CHECK(AxSymbolCreateVariable(c_string(name, "name"), (int)XLENGTH(keys), c_strings(keys, "attribute names"),
                               c_strings(vals, "attribute values"), &s));
  return wrap(s, K_SYMBOL);
}

static SEXP ax_sym_create_op(SEXP op, SEXP name, SEXP keys, SEXP vals, SEXP inputs, SEXP input_keys) {
  AxSymbolHandle s = NULL;
  void **in;
  ENTRY();
  if (XLENGTH(keys) != XLENGTH(vals)) arg_error("%s", "one value per attribute");
  in = unwrap_list(inputs, K_SYMBOL, 0, "inputs");
  if (input_keys != R_NilValue && XLENGTH(input_keys) != XLENGTH(inputs)) arg_error("%s", "one key per input");
  CHECK(AxSymbolCreateOp((AxOpHandle)unwrap(op, K_OP), c_string(name, "name"), (int)XLENGTH(keys),
                         c_strings(keys, "attribute names"), c_strings(vals, "attribute values"), (int)XLENGTH(inputs),
                         c_strings(input_keys, "input names"), (const AxSymbolHandle *)in, &s));
  return wrap(s, K_SYMBOL);
}

static SEXP ax_sym_compose(SEXP sym, SEXP keys, SEXP args) {
  AxSymbolHandle s = NULL;
  void **a;
  ENTRY();
  a = unwrap_list(args, K_SYMBOL, 0, "arguments");
  if (keys != R_NilValue && XLENGTH(keys) != XLENGTH(args)) arg_error("%s", "one key per argument");
  CHECK(AxSymbolCompose(SYM(sym), (int)XLENGTH(args), c_strings(keys, "argument names"), (const AxSymbolHandle *)a,
                        &s));
  return wrap(s, K_SYMBOL);
}

/* A symbol derived from sym: what 0 a copy, 1 its internals, 2 its children (NULL when they are
 * variables). */
static SEXP ax_sym_derive(SEXP sym, SEXP what) {
  AxSymbolHandle s = NULL, h;
  int w;
  ENTRY();
  h = SYM(sym);
  w = c_int(what, "what");
  CHECK(w == 0 ? AxSymbolCopy(h, &s) : w == 1 ? AxSymbolGetInternals(h, &s) : AxSymbolGetChildren(h, &s));
  return s ? wrap(s, K_SYMBOL) : R_NilValue;
}

static SEXP ax_sym_group(SEXP syms) {
  AxSymbolHandle s = NULL;
  void **a;
  ENTRY();
  a = unwrap_list(syms, K_SYMBOL, 0, "symbols");
  CHECK(AxSymbolGroup((int)XLENGTH(syms), (const AxSymbolHandle *)a, &s));
  return wrap(s, K_SYMBOL);
}

static SEXP ax_sym_num_outputs(SEXP sym) {
  int n = 0;
  ENTRY();
  CHECK(AxSymbolGetNumOutputs(SYM(sym), &n));
  return Rf_ScalarInteger(n);
}

static SEXP ax_sym_get_output(SEXP sym, SEXP index) {
  AxSymbolHandle s = NULL;
  ENTRY();
  CHECK(AxSymbolGetOutput(SYM(sym), c_int(index, "index"), &s));
  return wrap(s, K_SYMBOL);
}

static SEXP ax_sym_list(SEXP sym, SEXP what) {
  int n = 0;
  const char **names = NULL;
  ENTRY();
  CHECK(AxSymbolListNames(SYM(sym), c_int(what, "what"), &n, &names));
  return r_strings(n, names);
}

static SEXP ax_sym_name(SEXP sym) {
  const char *name = NULL;
  int ok = 0;
  ENTRY();
  CHECK(AxSymbolGetName(SYM(sym), &name, &ok));
  return ok ? r_string(name) : R_NilValue;
}

static SEXP ax_sym_get_attr(SEXP sym, SEXP key) {
  const char *v = NULL;
  int ok = 0;
  ENTRY();
  CHECK(AxSymbolGetAttr(SYM(sym), c_string(key, "key"), &v, &ok));
  return ok ? r_string(v) : R_NilValue;
}

static SEXP ax_sym_set_attr(SEXP sym, SEXP key, SEXP value) {
  ENTRY();
  CHECK(AxSymbolSetAttr(SYM(sym), c_string(key, "key"), c_string(value, "value")));
  return R_NilValue;
}

static SEXP ax_sym_list_attr(SEXP sym, SEXP recursive) {
  int n = 0, r;
  const char **strs = NULL;
  ENTRY();
  r = c_int(recursive, "recursive");
  CHECK(AxSymbolListAttr(SYM(sym), r, &n, &strs));
  return r_strings(n * (r ? 3 : 2), strs);
}

/* A list of shapes (NULL when unknown; NA for an unknown dim). */
static SEXP shape_list(int n, const int *ndim, const int64_t *const *dims) {
  SEXP out = PROTECT(Rf_allocVector(VECSXP, n));
  int i;
  for (i = 0; i < n; ++i)
    if (ndim[i] >= 0) SET_VECTOR_ELT(out, i, r_dims(ndim[i], dims[i]));
  UNPROTECT(1);
  return out;
}

/* keys: names with known shapes; shapes: a list of numeric vectors (core order, NA unknown). */
static SEXP ax_sym_infer_shape(SEXP sym, SEXP keys, SEXP shapes) {
  int nk, i, total = 0, an = 0, on = 0, xn = 0, complete = 0;
  int *ind;
  int64_t *data;
  const int *and_ = NULL, *ond = NULL, *xnd = NULL;
  const int64_t *const *ad = NULL, *const *od = NULL, *const *xd = NULL;
  SEXP out;
  ENTRY();
  if (TYPEOF(shapes) != VECSXP || XLENGTH(keys) != XLENGTH(shapes)) arg_error("%s", "one shape per name");
  nk = (int)XLENGTH(keys);
  for (i = 0; i < nk; ++i) total += (int)XLENGTH(VECTOR_ELT(shapes, i));
  ind = (int *)R_alloc((size_t)nk + 1, sizeof(int));
  data = (int64_t *)R_alloc((size_t)total + 1, sizeof(int64_t));
  ind[0] = 0;
  for (i = 0; i < nk; ++i) {
    SEXP s = PROTECT(Rf_coerceVector(VECTOR_ELT(shapes, i), REALSXP));
    R_xlen_t j, m = XLENGTH(s);
    for (j = 0; j < m; ++j) {
      double v = REAL(s)[j];
      if (!ISNA(v) && (!R_FINITE(v) || v < 0 || v != floor(v))) arg_error("%s", "shapes must hold whole numbers >= 0");
      data[ind[i] + j] = ISNA(v) ? -1 : (int64_t)v;
    }
    ind[i + 1] = ind[i] + (int)m;
    UNPROTECT(1);
  }
  CHECK(AxSymbolInferShape(SYM(sym), nk, c_strings(keys, "names"), ind, data, &an, &and_, &ad, &on, &ond, &od, &xn,
                           &xnd, &xd, &complete));
  out = PROTECT(Rf_allocVector(VECSXP, 4));
  SET_VECTOR_ELT(out, 0, shape_list(an, and_, ad));
  SET_VECTOR_ELT(out, 1, shape_list(on, ond, od));
  SET_VECTOR_ELT(out, 2, shape_list(xn, xnd, xd));
  SET_VECTOR_ELT(out, 3, Rf_ScalarLogical(complete));
  UNPROTECT(1);
  return out;
}

static SEXP int_vec(int n, const int *v) {
  SEXP out = PROTECT(Rf_allocVector(INTSXP, n));
  if (n) memcpy(INTEGER(out), v, (size_t)n * sizeof(int));
  UNPROTECT(1);
  return out;
}

static SEXP ax_sym_infer_type(SEXP sym, SEXP keys, SEXP codes) {
  int an = 0, on = 0, xn = 0, complete = 0;
  const int *at = NULL, *ot = NULL, *xt = NULL;
  SEXP c, out;
  ENTRY();
  c = PROTECT(Rf_coerceVector(codes, INTSXP));
  if (XLENGTH(keys) != XLENGTH(c)) arg_error("%s", "one type per name");
  CHECK(AxSymbolInferType(SYM(sym), (int)XLENGTH(keys), c_strings(keys, "names"), INTEGER(c), &an, &at, &on, &ot, &xn,
                          &xt, &complete));
  out = PROTECT(Rf_allocVector(VECSXP, 4));
  SET_VECTOR_ELT(out, 0, int_vec(an, at));
  SET_VECTOR_ELT(out, 1, int_vec(on, ot));
  SET_VECTOR_ELT(out, 2, int_vec(xn, xt));
  SET_VECTOR_ELT(out, 3, Rf_ScalarLogical(complete));
  UNPROTECT(2);
  return out;
}

static SEXP ax_sym_tojson(SEXP sym) {
  const char *json = NULL;
  ENTRY();
  CHECK(AxSymbolSaveToJSON(SYM(sym), &json));
  return r_string(json);
}

static SEXP ax_sym_from_json(SEXP json) {
  AxSymbolHandle s = NULL;
  ENTRY();
  CHECK(AxSymbolCreateFromJSON(c_string(json, "json"), &s));
  return wrap(s, K_SYMBOL);
}

static SEXP ax_sym_save(SEXP sym, SEXP path) {
  ENTRY();
  CHECK(AxSymbolSaveToFile(SYM(sym), c_string(path, "filename")));
  return R_NilValue;
}

static SEXP ax_sym_load(SEXP path) {
  AxSymbolHandle s = NULL;
  ENTRY();
  CHECK(AxSymbolCreateFromFile(c_string(path, "filename"), &s));
  return wrap(s, K_SYMBOL);
}

static SEXP ax_sym_print(SEXP sym) {
  const char *s = NULL;
  ENTRY();
  CHECK(AxSymbolPrint(SYM(sym), &s));
  return r_string(s);
}

/* ---- executors ---------------------------------------------------------------------------------- */
static SEXP ax_exec_bind(SEXP sym, SEXP dev_type, SEXP dev_id, SEXP args, SEXP grads, SEXP reqs, SEXP aux,
                         SEXP shared) {
  AxExecutorHandle e = NULL;
  void **a, **g, **x;
  SEXP r;
  ENTRY();
  a = unwrap_list(args, K_NDARRAY, 0, "arg.arrays");
  g = unwrap_list(grads, K_NDARRAY, 1, "grad.arrays");
  x = unwrap_list(aux, K_NDARRAY, 0, "aux.arrays");
  r = PROTECT(Rf_coerceVector(reqs, INTSXP));
  if (grads != R_NilValue && (XLENGTH(grads) != XLENGTH(args) || XLENGTH(r) != XLENGTH(args)))
    arg_error("%s", "one gradient array and one grad.req per argument");
  CHECK(AxExecutorBind(SYM(sym), c_int(dev_type, "dev_type"), c_int(dev_id, "dev_id"), (int)XLENGTH(args),
                       (const AxNDArrayHandle *)a, (const AxNDArrayHandle *)g, grads == R_NilValue ? NULL : INTEGER(r),
                       (int)XLENGTH(aux), (const AxNDArrayHandle *)x, shared == R_NilValue ? NULL : EXEC(shared), &e));
  UNPROTECT(1);
  return wrap(e, K_EXECUTOR);
}

static SEXP ax_exec_forward(SEXP exec, SEXP is_train) {
  ENTRY();
  CHECK(AxExecutorForward(EXEC(exec), c_int(is_train, "is.train")));
  return R_NilValue;
}

/* heads: a list with one array or NULL per output, or an empty list (every output a loss). */
static SEXP ax_exec_backward(SEXP exec, SEXP heads) {
  void **h;
  ENTRY();
  h = unwrap_list(heads, K_NDARRAY, 1, "out.grads");
  CHECK(AxExecutorBackward(EXEC(exec), heads == R_NilValue ? 0 : (int)XLENGTH(heads), (const AxNDArrayHandle *)h));
  return R_NilValue;
}

static SEXP ax_exec_outputs(SEXP exec) {
  int n = 0;
  AxNDArrayHandle *outs = NULL;
  ENTRY();
  CHECK(AxExecutorOutputs(EXEC(exec), &n, &outs));
  return wrap_all(n, (void *const *)outs, K_NDARRAY);
}

static SEXP ax_exec_print(SEXP exec) {
  const char *s = NULL;
  ENTRY();
  CHECK(AxExecutorPrint(EXEC(exec), &s));
  return r_string(s);
}

static SEXP ax_exec_memory_plan(SEXP exec) {
  int64_t v[5] = {0, 0, 0, 0, 0};
  SEXP out;
  int i;
  ENTRY();
  CHECK(AxExecutorMemoryPlan(EXEC(exec), &v[0], &v[1], &v[2], &v[3], &v[4]));
  out = PROTECT(Rf_allocVector(REALSXP, 5));
  for (i = 0; i < 5; ++i) REAL(out)[i] = (double)v[i];
  UNPROTECT(1);
  return out;
}

/* ---- registration ---------------------------------------------------------------------------------- */
#define FN(name, n) {#name, (DL_FUNC)&name, n}
static const R_CallMethodDef call_methods[] = {
    FN(ax_init, 1), FN(ax_live_handles, 0), FN(ax_storage_stats, 2), FN(ax_empty_cache, 2), FN(ax_wait_all, 0),
    FN(ax_random_seed, 1), FN(ax_gpu_count, 0), FN(ax_set_training, 1), FN(ax_free, 1), FN(ax_is_live, 1),
    FN(ax_nd_create, 4), FN(ax_nd_from_r, 5), FN(ax_nd_set, 2), FN(ax_nd_to_r, 1), FN(ax_nd_shape, 1),
    FN(ax_nd_dtype, 1), FN(ax_nd_context, 1), FN(ax_nd_copyto, 2), FN(ax_nd_wait, 1), FN(ax_nd_reshape, 3),
    FN(ax_nd_save, 3), FN(ax_nd_load, 1),
    FN(ax_op_list, 0), FN(ax_op_handle, 1), FN(ax_op_info, 1), FN(ax_invoke, 5),
    FN(ax_sym_variable, 3), FN(ax_sym_create_op, 6), FN(ax_sym_compose, 3), FN(ax_sym_derive, 2), FN(ax_sym_group, 1),
    FN(ax_sym_num_outputs, 1), FN(ax_sym_get_output, 2), FN(ax_sym_list, 2), FN(ax_sym_name, 1),
    FN(ax_sym_get_attr, 2), FN(ax_sym_set_attr, 3), FN(ax_sym_list_attr, 2),
    FN(ax_sym_infer_shape, 3), FN(ax_sym_infer_type, 3), FN(ax_sym_tojson, 1), FN(ax_sym_from_json, 1),
    FN(ax_sym_save, 2), FN(ax_sym_load, 1), FN(ax_sym_print, 1),
    FN(ax_exec_bind, 8), FN(ax_exec_forward, 2), FN(ax_exec_backward, 2), FN(ax_exec_outputs, 1),
    FN(ax_exec_print, 1), FN(ax_exec_memory_plan, 1),
    {NULL, NULL, 0}};

void R_init_axle(DllInfo *dll) {
  R_registerRoutines(dll, NULL, call_methods, NULL, NULL);
  R_useDynamicSymbols(dll, FALSE);
  R_forceSymbols(dll, TRUE);
}
