/*
 * test_conformance.c -- the shared conformance cases (tests/conformance, FORMAT.md) run through the
 * C API alone: load each case's symbol and .params, bind, run forward/backward, compare with the
 * float64 expectations, and check that live handles and bytes in use return to their baseline.
 * Usage: test_conformance [case_dir] (default tests/conformance, relative to the repository root,
 * where ctest runs it). Skips: <case_dir>/skips/c.txt; a listed case that passes is a failure.
 */
#include <math.h>

#include "check.h"

#define MAX_ARRAYS 64
#define MAX_LINE 1024

/* ---- small utilities ------------------------------------------------------------------------ */
static char g_msg[2048]; /* why the current case failed */

static int fail(const char *fmt, const char *a, const char *b) {
  snprintf(g_msg, sizeof g_msg, fmt, a ? a : "", b ? b : "");
  return 1;
}

static int glob_match(const char *p, const char *s) {
  if (*p == '\0') return *s == '\0';
  if (*p == '*') return glob_match(p + 1, s) || (*s && glob_match(p, s + 1));
  if (*s && (*p == '?' || *p == *s)) return glob_match(p + 1, s + 1);
  return 0;
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = (char *)malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* ---- meta.txt: "key value" lines ------------------------------------------------------------ */
typedef struct {
  int n;
  char key[64][32];
  char val[64][MAX_LINE];
} Meta;

static int read_meta(const char *path, Meta *m) {
  FILE *f = fopen(path, "r");
  char line[MAX_LINE + 40];
  m->n = 0;
  if (!f) return 0;
  while (fgets(line, sizeof line, f) && m->n < 64) {
    char *sp;
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '\0' || line[0] == '#') continue;
    sp = strchr(line, ' ');
    if (sp) *sp = '\0';
    snprintf(m->key[m->n], sizeof m->key[0], "%.31s", line);
    snprintf(m->val[m->n], sizeof m->val[0], "%.1023s", sp ? sp + 1 : "");
    m->n++;
  }
  fclose(f);
  return 1;
}

static const char *meta_get(const Meta *m, const char *key, const char *def) {
  int i;
  for (i = 0; i < m->n; ++i)
    if (strcmp(m->key[i], key) == 0) return m->val[i];
  return def;
}

/* The grad_req of an argument: "write", "add" or "null" (absent). */
static int grad_req_of(const Meta *m, const char *arg) {
  const char *s = meta_get(m, "grad_req", "");
  size_t n = strlen(arg);
  while (*s) {
    while (*s == ' ') ++s;
    if (strncmp(s, arg, n) == 0 && s[n] == '=') {
      s += n + 1;
      if (strncmp(s, "write", 5) == 0) return AX_GRAD_WRITE;
      if (strncmp(s, "add", 3) == 0) return AX_GRAD_ADD;
      return AX_GRAD_NULL;
    }
    while (*s && *s != ' ') ++s;
  }
  return AX_GRAD_NULL;
}

static int word_in(const char *list, const char *w) {
  size_t n = strlen(w);
  const char *s = list;
  while (s && *s) {
    while (*s == ' ') ++s;
    if (strncmp(s, w, n) == 0 && (s[n] == ' ' || s[n] == '\0')) return 1;
    while (*s && *s != ' ') ++s;
  }
  return 0;
}

/* ---- arrays as doubles -------------------------------------------------------------------------- */
static double half_to_double(uint16_t h) {
  int e = (h >> 10) & 0x1f, f = h & 0x3ff;
  double v = e == 0 ? ldexp(f, -24) : e == 31 ? (f ? NAN : INFINITY) : ldexp(f + 1024, e - 25);
  return (h & 0x8000) ? -v : v;
}

static size_t itemsize(int dtype) {
  switch (dtype) {
    case AX_FLOAT64: case AX_INT64: return 8;
    case AX_FLOAT32: case AX_INT32: return 4;
    case AX_FLOAT16: return 2;
    default: return 1;
  }
}

typedef struct {
  int ndim, dtype;
  int64_t shape[8];
  size_t size;
  double *v;
} Dense;

/* Reads an array (waiting for it) into doubles; 0 on failure (g_msg says why). */
static int to_dense(AxNDArrayHandle h, Dense *d) {
  const int64_t *shape = NULL;
  unsigned char *raw;
  size_t i;
  d->v = NULL;
  if (AxNDArrayGetShape(h, &d->ndim, &shape) != AX_OK || AxNDArrayGetDType(h, &d->dtype) != AX_OK || d->ndim > 8)
    return !fail("reading an array: %s%s", AxGetLastError(), NULL);
  d->size = 1;
  for (i = 0; i < (size_t)d->ndim; ++i) d->size *= (size_t)(d->shape[i] = shape[i]);
  raw = (unsigned char *)malloc(d->size * itemsize(d->dtype) + 1);
  d->v = (double *)malloc(d->size * sizeof(double) + 1);
  if (AxNDArraySyncCopyToCPU(h, raw, d->size * itemsize(d->dtype)) != AX_OK) {
    free(raw);
    return !fail("reading an array: %s%s", AxGetLastError(), NULL);
  }
  for (i = 0; i < d->size; ++i) {
    switch (d->dtype) {
      case AX_FLOAT32: { float x; memcpy(&x, raw + 4 * i, 4); d->v[i] = x; break; }
      case AX_FLOAT64: memcpy(&d->v[i], raw + 8 * i, 8); break;
      case AX_FLOAT16: { uint16_t x; memcpy(&x, raw + 2 * i, 2); d->v[i] = half_to_double(x); break; }
      case AX_INT32: { int32_t x; memcpy(&x, raw + 4 * i, 4); d->v[i] = x; break; }
      case AX_INT64: { int64_t x; memcpy(&x, raw + 8 * i, 8); d->v[i] = (double)x; break; }
      case AX_INT8: d->v[i] = (int8_t)raw[i]; break;
      default: d->v[i] = raw[i]; break; /* uint8, bool */
    }
  }
  free(raw);
  return 1;
}

/* ---- the case's data: named arrays from data.params ------------------------------------------ */
typedef struct {
  int n;
  char *names[MAX_ARRAYS];
  AxNDArrayHandle arrays[MAX_ARRAYS];
} Data;

static AxNDArrayHandle data_get(const Data *d, const char *prefix, const char *name) {
  char key[256];
  int i;
  snprintf(key, sizeof key, "%s:%s", prefix, name);
  for (i = 0; i < d->n; ++i)
    if (strcmp(d->names[i], key) == 0) return d->arrays[i];
  return NULL;
}

static void data_free(Data *d) {
  int i;
  for (i = 0; i < d->n; ++i) {
    AxNDArrayFree(d->arrays[i]);
    free(d->names[i]);
  }
  d->n = 0;
}

static int data_load(const char *path, Data *d) {
  int n = 0, nn = 0, i;
  AxNDArrayHandle *arrays = NULL;
  const char **names = NULL;
  d->n = 0;
  if (AxNDArrayLoad(path, &n, &arrays, &nn, &names) != AX_OK) return 0;
  for (i = 0; i < n && i < MAX_ARRAYS; ++i) {
    d->arrays[i] = arrays[i];
    d->names[i] = dup_str(i < nn ? names[i] : "");
  }
  d->n = i;
  return 1;
}

/* ---- comparisons ------------------------------------------------------------------------------ */
static int compare(const char *key, AxNDArrayHandle got_h, AxNDArrayHandle exp_h, double rtol, double atol) {
  Dense g, e;
  size_t i;
  int ok = 1;
  char buf[512];
  if (!to_dense(got_h, &g)) return 0;
  if (!to_dense(exp_h, &e)) {
    free(g.v);
    return 0;
  }
  if (g.ndim != e.ndim || g.size != e.size) ok = !fail("%s: shape differs from the expected one%s", key, NULL);
  for (i = 0; ok && i < (size_t)g.ndim; ++i)
    if (g.shape[i] != e.shape[i]) ok = !fail("%s: shape differs from the expected one%s", key, NULL);
  for (i = 0; ok && i < g.size; ++i) {
    double a = g.v[i], b = e.v[i];
    if (a == b || (isnan(a) && isnan(b)) || fabs(a - b) <= atol + rtol * fabs(b)) continue;
    snprintf(buf, sizeof buf, "element %lu: got %.9g, expected %.9g (rtol %g, atol %g)", (unsigned long)i, a, b,
             rtol, atol);
    ok = !fail("%s: %s", key, buf);
  }
  free(g.v);
  free(e.v);
  return ok;
}

/* One `check` line on an array (FORMAT.md). */
static int run_check(const char *key, const char *spec, AxNDArrayHandle got_h, const Data *data,
                     AxNDArrayHandle other_h) {
  Dense g, e;
  char what[32] = "";
  double a = 0, b = 0, stat = 0;
  size_t i;
  int ok = 1, nargs;
  if (!to_dense(got_h, &g)) return 0;
  nargs = sscanf(spec, "%31s %lf %lf", what, &a, &b);
  if (strcmp(what, "shape") == 0) {
    const char *s = spec + 5;
    int d = 0;
    char *end;
    for (;;) {
      long v = strtol(s, &end, 10);
      if (end == s) break;
      ok &= d < g.ndim && g.shape[d] == v;
      ++d;
      s = end;
    }
    ok &= d == g.ndim;
  } else if (strcmp(what, "mean") == 0 || strcmp(what, "std") == 0) {
    double m = 0, v = 0;
    for (i = 0; i < g.size; ++i) m += g.v[i];
    m /= (double)g.size;
    for (i = 0; i < g.size; ++i) v += (g.v[i] - m) * (g.v[i] - m);
    stat = what[0] == 'm' ? m : sqrt(v / (double)g.size);
    ok = nargs == 3 && fabs(stat - a) <= b;
  } else if (strcmp(what, "min") == 0 || strcmp(what, "max") == 0) {
    stat = g.v[0];
    for (i = 1; i < g.size; ++i) stat = what[1] == 'i' ? fmin(stat, g.v[i]) : fmax(stat, g.v[i]);
    ok = nargs == 3 && fabs(stat - a) <= b;
  } else if (strcmp(what, "range") == 0) {
    for (i = 0; i < g.size; ++i) ok &= g.v[i] >= a && g.v[i] <= b;
  } else if (strcmp(what, "zero_frac") == 0) {
    for (i = 0; i < g.size; ++i) stat += g.v[i] == 0;
    stat /= (double)g.size;
    ok = fabs(stat - a) <= b;
  } else if (strcmp(what, "zero_or") == 0 || strcmp(what, "sorted") == 0) {
    const char *colon = strchr(key, ':');
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%.*s", (int)(colon - key), key);
    if (!to_dense(data_get(data, prefix, colon + 1), &e)) {
      free(g.v);
      return 0;
    }
    ok = e.size == g.size;
    if (what[0] == 'z') {
      for (i = 0; ok && i < g.size; ++i) ok &= g.v[i] == 0 || fabs(g.v[i] - e.v[i]) <= 1e-5 + 1e-5 * fabs(e.v[i]);
    } else { /* the same multiset: every expected value occurs as often in the output */
      double sg = 0, se = 0, qg = 0, qe = 0;
      for (i = 0; ok && i < g.size; ++i) {
        size_t j, cg = 0, ce = 0;
        for (j = 0; j < g.size; ++j) {
          cg += g.v[j] == e.v[i];
          ce += e.v[j] == e.v[i];
        }
        ok &= cg == ce;
        sg += g.v[i], se += e.v[i], qg += g.v[i] * g.v[i], qe += e.v[i] * e.v[i];
      }
      ok &= sg == se && qg == qe;
    }
    free(e.v);
  } else if (strcmp(what, "zeros_match") == 0) {
    if (!other_h || !to_dense(other_h, &e)) {
      free(g.v);
      return !fail("check %s: no array to match%s", key, NULL);
    }
    ok = e.size == g.size;
    for (i = 0; ok && i < g.size; ++i) ok &= (g.v[i] == 0) == (e.v[i] == 0);
    free(e.v);
  } else {
    ok = 0;
  }
  free(g.v);
  if (!ok) {
    char buf[64];
    snprintf(buf, sizeof buf, " (statistic %.6g)", stat);
    fail("check %s failed%s", spec, buf);
  }
  return ok;
}

/* ---- running a case ------------------------------------------------------------------------------ */
typedef struct {
  int nargs, naux;
  char *arg_names[MAX_ARRAYS], *aux_names[MAX_ARRAYS];
  AxNDArrayHandle args[MAX_ARRAYS], grads[MAX_ARRAYS], aux[MAX_ARRAYS];
  int reqs[MAX_ARRAYS];
  int owns_grad[MAX_ARRAYS]; /* 0 when the gradient array is the first executor's (shared) */
  AxExecutorHandle exec;
} Bound;

static void bound_free(Bound *b) {
  int i;
  AxExecutorFree(b->exec);
  for (i = 0; i < b->nargs; ++i) {
    if (b->owns_grad[i]) AxNDArrayFree(b->grads[i]);
    free(b->arg_names[i]);
  }
  for (i = 0; i < b->naux; ++i) free(b->aux_names[i]);
  memset(b, 0, sizeof *b);
}

static int list_names(AxSymbolHandle sym, int what, int *n, char **out) {
  const char **names = NULL;
  int i;
  if (AxSymbolListNames(sym, what, n, &names) != AX_OK || *n > MAX_ARRAYS) {
    *n = 0;
    return 0;
  }
  for (i = 0; i < *n; ++i) out[i] = dup_str(names[i]);
  return 1;
}

/* A new array like `like`, holding `init` (or zeros). */
static AxNDArrayHandle grad_array(AxNDArrayHandle like, AxNDArrayHandle init) {
  int ndim = 0, dtype = 0;
  const int64_t *shape = NULL;
  AxNDArrayHandle h = NULL;
  size_t n = 1, i;
  void *buf;
  if (AxNDArrayGetShape(like, &ndim, &shape) != AX_OK || AxNDArrayGetDType(like, &dtype) != AX_OK) return NULL;
  if (AxNDArrayCreate(shape, ndim, AX_CPU, 0, dtype, &h) != AX_OK) return NULL;
  for (i = 0; i < (size_t)ndim; ++i) n *= (size_t)shape[i];
  buf = calloc(n + 1, itemsize(dtype));
  if (init) AxNDArraySyncCopyToCPU(init, buf, n * itemsize(dtype));
  AxNDArraySyncCopyFromCPU(h, buf, n * itemsize(dtype));
  free(buf);
  return h;
}

/* Binds sym; arrays from `prefix` entries (falling back to arg:), except the names in `share`,
 * which take the first executor's arrays and gradient arrays. */
static int bind(AxSymbolHandle sym, const Data *data, const Meta *m, const char *prefix, Bound *b,
                const Bound *first, const char *share) {
  int i;
  memset(b, 0, sizeof *b);
  if (!list_names(sym, AX_SYM_ARGUMENTS, &b->nargs, b->arg_names) ||
      !list_names(sym, AX_SYM_AUX_STATES, &b->naux, b->aux_names))
    return 0;
  for (i = 0; i < b->nargs; ++i) {
    const char *n = b->arg_names[i];
    b->reqs[i] = grad_req_of(m, n);
    if (first && share && word_in(share, n)) {
      b->args[i] = first->args[i];
      b->grads[i] = first->grads[i];
      continue;
    }
    b->args[i] = data_get(data, prefix, n);
    if (!b->args[i]) b->args[i] = data_get(data, "arg", n);
    if (!b->args[i]) return !fail("data.params has no arg:%s%s", n, NULL);
    if (b->reqs[i] != AX_GRAD_NULL) {
      b->grads[i] = grad_array(b->args[i], data_get(data, "grad_init", n));
      b->owns_grad[i] = 1;
    }
  }
  for (i = 0; i < b->naux; ++i)
    if (!(b->aux[i] = data_get(data, "aux", b->aux_names[i]))) return !fail("data.params has no aux:%s%s", b->aux_names[i], NULL);
  return AxExecutorBind(sym, AX_CPU, 0, b->nargs, b->args, b->grads, b->reqs, b->naux, b->aux,
                        first ? first->exec : NULL, &b->exec) == AX_OK;
}

static int run_passes(Bound *b, const Data *data, const Meta *m, const char *head_prefix) {
  int passes = atoi(meta_get(m, "passes", "1")), is_train = atoi(meta_get(m, "is_train", "0"));
  int backward = 0, nout = 0, any_head = 0, p, i;
  AxNDArrayHandle heads[MAX_ARRAYS], *outs = NULL;
  for (i = 0; i < b->nargs; ++i) backward |= b->reqs[i] != AX_GRAD_NULL;
  if (AxExecutorOutputs(b->exec, &nout, &outs) != AX_OK) return 0;
  for (i = 0; i < nout; ++i) AxNDArrayFree(outs[i]);
  for (i = 0; i < nout && i < MAX_ARRAYS; ++i) {
    char idx[16];
    snprintf(idx, sizeof idx, "%d", i);
    heads[i] = data_get(data, head_prefix, idx);
    any_head |= heads[i] != NULL;
  }
  for (p = 0; p < passes; ++p) {
    if (AxExecutorForward(b->exec, is_train) != AX_OK) return 0;
    if (backward && AxExecutorBackward(b->exec, any_head ? nout : 0, heads) != AX_OK) return 0;
  }
  return AxEngineWaitAll() == AX_OK;
}

/* The check lines of a key ("out:0"), or none. */
static int has_checks(const Meta *m, const char *key) {
  int i;
  size_t n = strlen(key);
  for (i = 0; i < m->n; ++i)
    if (strcmp(m->key[i], "check") == 0 && strncmp(m->val[i], key, n) == 0 && m->val[i][n] == ' ') return 1;
  return 0;
}

/* Compares one got array with data[key] or its check lines. others: arrays by key for zeros_match. */
static int verify(const Meta *m, const Data *data, const char *key, AxNDArrayHandle got, AxNDArrayHandle (*lookup)(
                                                                                             void *, const char *),
                  void *ctx) {
  double rtol = atof(meta_get(m, "rtol", "1e-5")), atol = atof(meta_get(m, "atol", "1e-6"));
  const char *colon = strchr(key, ':');
  char prefix[32];
  int i;
  size_t n = strlen(key);
  if (!colon) return fail("bad key %s%s", key, NULL) && 0;
  snprintf(prefix, sizeof prefix, "%.*s", (int)(colon - key), key);
  if (!has_checks(m, key)) {
    AxNDArrayHandle exp = data_get(data, prefix, colon + 1);
    return exp ? compare(key, got, exp, rtol, atol) : 1;
  }
  for (i = 0; i < m->n; ++i) {
    if (strcmp(m->key[i], "check") != 0 || strncmp(m->val[i], key, n) != 0 || m->val[i][n] != ' ') continue;
    {
      const char *spec = m->val[i] + n + 1;
      char other[64] = "";
      if (strncmp(spec, "zeros_match ", 12) == 0) sscanf(spec + 12, "%63s", other);
      if (!run_check(key, spec, got, data, other[0] ? lookup(ctx, other) : NULL)) return 0;
    }
  }
  return 1;
}

/* The arrays of an executor by key: out:i, grad:name, aux_out:name. */
typedef struct {
  Bound *b;
  AxNDArrayHandle *outs;
  int nout;
  const char *out_prefix, *grad_prefix;
} View;

static AxNDArrayHandle view_lookup(void *ctx, const char *key) {
  View *v = (View *)ctx;
  size_t n = strlen(v->out_prefix), k = strlen(v->grad_prefix);
  int i;
  if (strncmp(key, v->out_prefix, n) == 0 && key[n] == ':') {
    i = atoi(key + n + 1);
    return i < v->nout ? v->outs[i] : NULL;
  }
  if (strncmp(key, v->grad_prefix, k) == 0 && key[k] == ':') {
    for (i = 0; i < v->b->nargs; ++i)
      if (strcmp(v->b->arg_names[i], key + k + 1) == 0) return v->b->grads[i];
  }
  if (strncmp(key, "aux_out:", 8) == 0) {
    for (i = 0; i < v->b->naux; ++i)
      if (strcmp(v->b->aux_names[i], key + 8) == 0) return v->b->aux[i];
  }
  return NULL;
}

/* Checks every expected entry with one of the prefixes against the executor's arrays. */
static int verify_all(const Meta *m, const Data *data, View *v, const char *const *prefixes, int np) {
  int i, j, ok = 1;
  for (i = 0; ok && i < data->n; ++i) {
    const char *key = data->names[i];
    for (j = 0; j < np; ++j) {
      size_t n = strlen(prefixes[j]);
      if (strncmp(key, prefixes[j], n) == 0 && key[n] == ':') {
        AxNDArrayHandle got = view_lookup(v, key);
        if (!got) return fail("%s is expected but the executor has no such array%s", key, NULL);
        ok = verify(m, data, key, got, view_lookup, v);
      }
    }
  }
  /* checks on keys that have no stored expectation (random outputs) */
  for (i = 0; ok && i < m->n; ++i) {
    char key[64];
    if (strcmp(m->key[i], "check") != 0) continue;
    sscanf(m->val[i], "%63s", key);
    for (j = 0; j < np; ++j) {
      size_t n = strlen(prefixes[j]);
      if (strncmp(key, prefixes[j], n) == 0 && key[n] == ':' && !data_get(data, prefixes[j], key + n + 1)) {
        AxNDArrayHandle got = view_lookup(v, key);
        if (!got) return fail("check on %s, which the executor does not have%s", key, NULL);
        ok = verify(m, data, key, got, view_lookup, v);
        break;
      }
    }
  }
  return ok;
}

static int check_dtypes(const Meta *m, AxNDArrayHandle *outs, int nout) {
  static const char *names[] = {"float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool"};
  const char *s = meta_get(m, "out_dtype", "");
  int i = 0;
  char w[16];
  int len;
  while (sscanf(s, "%15s%n", w, &len) == 1 && i < nout) {
    int dt = -1;
    if (AxNDArrayGetDType(outs[i], &dt) != AX_OK || dt < 0 || dt > 7 || strcmp(names[dt], w) != 0)
      return fail("an output has dtype %s, expected %s", dt >= 0 && dt <= 7 ? names[dt] : "?", w) && 0;
    s += len;
    ++i;
  }
  return 1;
}

/* Runs the graph part of a case: 0 with g_msg set, or with the core's error pending (*stage). */
static int run_graph(AxSymbolHandle sym, const Data *data, const Meta *m, const char **stage) {
  Bound b1, b2;
  View v1, v2;
  AxNDArrayHandle *outs = NULL, outs1[MAX_ARRAYS], outs2[MAX_ARRAYS];
  int nout = 0, nout2 = 0, ok = 0, i;
  const char *share = meta_get(m, "exec2_share", NULL);
  static const char *const first[] = {"out", "aux_out", "grad"};
  static const char *const second[] = {"out2", "grad2", "grad"};
  memset(&b2, 0, sizeof b2);
  if (meta_get(m, "seed", NULL)) AxRandomSeed(atoi(meta_get(m, "seed", "0")));
  *stage = "bind";
  if (!bind(sym, data, m, "arg", &b1, NULL, NULL)) goto done1;
  *stage = "run";
  if (!run_passes(&b1, data, m, "head")) goto done1;
  if (AxExecutorOutputs(b1.exec, &nout, &outs) != AX_OK) goto done1;
  for (i = 0; i < nout; ++i) outs1[i] = outs[i];
  *stage = "compare";
  v1.b = &b1, v1.outs = outs1, v1.nout = nout, v1.out_prefix = "out", v1.grad_prefix = "grad";
  if (!check_dtypes(m, outs1, nout)) goto done;
  /* with a second executor, the first one's outputs are read before it runs (they may share buffers) */
  if (!verify_all(m, data, &v1, first, share ? 2 : 3)) goto done;
  if (share) {
    *stage = "bind";
    if (!bind(sym, data, m, "arg2", &b2, &b1, share)) goto done;
    *stage = "run";
    if (!run_passes(&b2, data, m, "head2")) goto done;
    if (AxExecutorOutputs(b2.exec, &nout2, &outs) != AX_OK) goto done;
    for (i = 0; i < nout2; ++i) outs2[i] = outs[i];
    *stage = "compare";
    v2.b = &b2, v2.outs = outs2, v2.nout = nout2, v2.out_prefix = "out2", v2.grad_prefix = "grad2";
    if (!verify_all(m, data, &v2, second, 2)) goto done;
    if (!verify_all(m, data, &v1, second + 2, 1)) goto done;
  }
  ok = 1;
done:
  for (i = 0; i < nout; ++i) AxNDArrayFree(outs1[i]);
  for (i = 0; i < nout2; ++i) AxNDArrayFree(outs2[i]);
  if (share) bound_free(&b2);
done1:
  bound_free(&b1);
  return ok;
}

/* 1 pass, 0 fail (g_msg says why). */
static int run_case(const char *dir, const char *name) {
  char path[1024];
  Meta m;
  Data data;
  AxSymbolHandle sym = NULL;
  const char *stage = "load_symbol", *want_stage, *want_msg;
  int ok;
  g_msg[0] = '\0';
  data.n = 0;
  snprintf(path, sizeof path, "%s/cases/%s/meta.txt", dir, name);
  if (!read_meta(path, &m)) return fail("cannot read %s%s", path, NULL) && 0;
  want_stage = meta_get(&m, "error_stage", NULL);
  want_msg = meta_get(&m, "error", "");
  snprintf(path, sizeof path, "%s/cases/%s/symbol.json", dir, name);
  ok = AxSymbolCreateFromFile(path, &sym) == AX_OK;
  if (ok) {
    stage = "load_params";
    snprintf(path, sizeof path, "%s/cases/%s/data.params", dir, name);
    ok = data_load(path, &data);
  }
  if (ok) ok = run_graph(sym, &data, &m, &stage);
  data_free(&data);
  AxSymbolFree(sym);
  if (want_stage) {
    if (ok) return fail("expected an error at %s, but the case ran%s", want_stage, NULL) && 0;
    if (strcmp(stage, want_stage) != 0) {
      char buf[1024];
      snprintf(buf, sizeof buf, "%s (%.900s)", stage, g_msg[0] ? g_msg : AxGetLastError());
      return fail("failed at %s, expected at %s", buf, want_stage) && 0;
    }
    if (!strstr(AxGetLastError(), want_msg)) return fail("the error \"%s\" does not contain \"%s\"", AxGetLastError(), want_msg) && 0;
    return 1;
  }
  if (!ok && !g_msg[0]) fail("%s: %s", stage, AxGetLastError());
  return ok;
}

/* ---- main: every case in index.txt, skips, leak accounting ------------------------------------ */
static const char *skip_reason(const char *dir, const char *name, char *reason, size_t size) {
  char path[1024], line[MAX_LINE];
  FILE *f;
  snprintf(path, sizeof path, "%s/skips/c.txt", dir);
  if (!(f = fopen(path, "r"))) return NULL;
  while (fgets(line, sizeof line, f)) {
    char *sp;
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '\0' || line[0] == '#') continue;
    sp = strchr(line, ' ');
    if (sp) *sp++ = '\0';
    while (sp && *sp == ' ') ++sp;
    if (glob_match(line, name)) {
      snprintf(reason, size, "%s", sp ? sp : "");
      fclose(f);
      return reason;
    }
  }
  fclose(f);
  return NULL;
}

static int64_t bytes_in_use(void) {
  int64_t b = -1;
  AxStorageGetStats(AX_CPU, 0, &b, NULL, NULL, NULL, NULL);
  return b;
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "tests/conformance";
  char path[1024], name[256], reason[MAX_LINE];
  int passed = 0, failed = 0, skipped = 0, total = 0;
  FILE *index;
  snprintf(path, sizeof path, "%s/cases/index.txt", dir);
  if (!(index = fopen(path, "r"))) {
    fprintf(stderr, "test_conformance: cannot open %s (pass the conformance directory as argv[1])\n", path);
    return 1;
  }
  while (fgets(name, sizeof name, index)) {
    int64_t h0, b0;
    int ok;
    const char *skip;
    name[strcspn(name, "\r\n")] = '\0';
    if (!name[0]) continue;
    ++total;
    AxEngineWaitAll();
    h0 = live_handles();
    b0 = bytes_in_use();
    skip = skip_reason(dir, name, reason, sizeof reason);
    ok = run_case(dir, name);
    AxEngineWaitAll(); /* an error case's async error was reported above */
    if (ok && live_handles() != h0) ok = !fail("live handles did not return to their baseline%s%s", "", "");
    if (ok && bytes_in_use() != b0) ok = !fail("bytes in use did not return to their baseline%s%s", "", "");
    if (skip && ok) {
      printf("FAIL %s: listed in skips/c.txt (%s) but passes: remove it from the list\n", name, skip);
      ++failed;
    } else if (skip) {
      printf("SKIP %s: %s (%s)\n", name, skip, g_msg);
      ++skipped;
    } else if (ok) {
      ++passed;
    } else {
      printf("FAIL %s: %s\n", name, g_msg);
      ++failed;
    }
  }
  fclose(index);
  printf("conformance (C): %d cases, %d passed, %d failed, %d skipped\n", total, passed, failed, skipped);
  CHECK(total >= 200);
  CHECK(failed == 0);
  return g_fail ? 1 : 0;
}
