/*
 * check.h -- what Axle's C tests share: CHECK macros that count and print failures, and small
 * helpers over include/axle.h. Each test program includes it once.
 */
#ifndef AXLE_TESTS_CHECK_H_
#define AXLE_TESTS_CHECK_H_
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axle.h"

static int g_pass = 0, g_fail = 0;

/* Under AXLE_SANITIZE=address the test asks for 4 PiB on purpose: let the allocator say no
 * (return NULL) instead of aborting. Unused in other builds. */
#if defined(__GNUC__)
__attribute__((visibility("default"), used)) const char *__asan_default_options(void);
__attribute__((visibility("default"), used)) const char *__asan_default_options(void) {
  return "allocator_may_return_null=1";
}
#endif

#define CHECK(cond)                                                                     \
  do {                                                                                  \
    if (cond) {                                                                         \
      ++g_pass;                                                                         \
    } else {                                                                            \
      ++g_fail;                                                                         \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);         \
    }                                                                                   \
  } while (0)

/* rc must equal the status; on failure prints the status and the last error. */
#define CHECK_RC(expr, status)                                                                        \
  do {                                                                                                \
    int rc_ = (expr);                                                                                 \
    if (rc_ == (status)) {                                                                            \
      ++g_pass;                                                                                       \
    } else {                                                                                          \
      ++g_fail;                                                                                       \
      fprintf(stderr, "%s:%d: CHECK failed: %s returned %d, expected %s (%d); last error: %s\n",      \
              __FILE__, __LINE__, #expr, rc_, #status, (int)(status), AxGetLastError());              \
    }                                                                                                 \
  } while (0)

#define CHECK_OK(expr) CHECK_RC(expr, AX_OK)

/* A failure with the given status whose message contains substr. */
#define CHECK_ERR(expr, status, substr)                                                               \
  do {                                                                                                \
    CHECK_RC(expr, status);                                                                           \
    if (strstr(AxGetLastError(), (substr)) != NULL) {                                                 \
      ++g_pass;                                                                                       \
    } else {                                                                                          \
      ++g_fail;                                                                                       \
      fprintf(stderr, "%s:%d: CHECK failed: the error of %s does not mention \"%s\": \"%s\"\n",       \
              __FILE__, __LINE__, #expr, (substr), AxGetLastError());                                \
    }                                                                                                 \
  } while (0)

/* A recognisable value for out-parameters that must stay untouched. */
#define SENTINEL_HANDLE ((AxNDArrayHandle)(uintptr_t)0xA5A5A5A0u)

static inline int64_t live_handles(void) {
  int64_t n = -1;
  if (AxGetLiveHandleCount(&n) != AX_OK) return -1;
  return n;
}

/* A float32 array on cpu(0) holding data (may be NULL: uninitialised). */
static inline AxNDArrayHandle make_f32(const int64_t *shape, int ndim, const float *data) {
  AxNDArrayHandle h = NULL;
  size_t n = 1;
  int i;
  if (AxNDArrayCreate(shape, ndim, AX_CPU, 0, AX_FLOAT32, &h) != AX_OK) {
    fprintf(stderr, "make_f32: %s\n", AxGetLastError());
    return NULL;
  }
  for (i = 0; i < ndim; ++i) n *= (size_t)shape[i];
  if (data && AxNDArraySyncCopyFromCPU(h, data, n * sizeof(float)) != AX_OK) {
    fprintf(stderr, "make_f32 copy: %s\n", AxGetLastError());
    AxNDArrayFree(h);
    return NULL;
  }
  return h;
}

static inline int read_f32(AxNDArrayHandle h, float *out, size_t n) {
  return AxNDArraySyncCopyToCPU(h, out, n * sizeof(float));
}

static inline int all_equal(const float *a, const float *b, size_t n) {
  size_t i;
  for (i = 0; i < n; ++i)
    if (a[i] != b[i]) return 0;
  return 1;
}

static inline AxOpHandle op(const char *name) {
  AxOpHandle h = NULL;
  if (AxGetOpHandle(name, &h) != AX_OK) fprintf(stderr, "op %s: %s\n", name, AxGetLastError());
  return h;
}

/* Runs an op with core-allocated outputs; returns its single output (NULL on failure). */
static inline AxNDArrayHandle invoke1(const char *name, int nin, const AxNDArrayHandle *in, int nparams, const char *const *keys,
                               const char *const *vals) {
  int nout = 0;
  AxNDArrayHandle *outs = NULL;
  if (AxImperativeInvoke(op(name), nin, in, &nout, &outs, nparams, keys, vals) != AX_OK) return NULL;
  if (nout != 1) return NULL;
  return outs[0];
}

#endif /* AXLE_TESTS_CHECK_H_ */
