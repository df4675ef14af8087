/*
 * test_capi.c -- the C boundary of Axle (include/axle.h), driven from plain C99.
 *
 * Every check goes through CHECK, which prints file:line and the failing expression and counts;
 * the program ends with "N passed, M failed" and returns non-zero if anything failed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "axle.h"

#include "check.h"

/* ---- versions, engine --------------------------------------------------------------------------- */
static void test_version(void) {
  int ma = -1, mi = -1, pa = -1;
  CHECK_OK(AxGetVersion(&ma, &mi, &pa));
  CHECK(ma == AX_VERSION_MAJOR);
  CHECK(mi == AX_VERSION_MINOR);
  CHECK(pa == AX_VERSION_PATCH);
  ma = mi = pa = -7;
  CHECK_ERR(AxGetVersion(NULL, &mi, &pa), AX_ERR_INVALID_ARGUMENT, "AxGetVersion");
  CHECK_ERR(AxGetVersion(&ma, &mi, NULL), AX_ERR_INVALID_ARGUMENT, "patch");
  CHECK(ma == -7 && mi == -7 && pa == -7); /* untouched on failure */
  CHECK_ERR(AxGetLiveHandleCount(NULL), AX_ERR_INVALID_ARGUMENT, "AxGetLiveHandleCount");
}

static void test_engine_type(void) {
  const char *t = NULL;
  CHECK_OK(AxEngineGetType(&t));
  CHECK(t != NULL && (strcmp(t, "ThreadedEngine") == 0 || strcmp(t, "NaiveEngine") == 0));
  {
    const char *env = getenv("AXLE_ENGINE_TYPE");
    if (t && (!env || strcmp(env, "NaiveEngine") != 0)) CHECK(strcmp(t, "ThreadedEngine") == 0);
    if (t && env && strcmp(env, "NaiveEngine") == 0) CHECK(strcmp(t, "NaiveEngine") == 0);
  }
  CHECK_ERR(AxEngineGetType(NULL), AX_ERR_INVALID_ARGUMENT, "AxEngineGetType");
  CHECK_OK(AxEngineWaitAll());
}

/* ---- NDArray basics ----------------------------------------------------------------------------- */
static void test_create_and_query(void) {
  int64_t shape[3] = {2, 3, 4};
  AxNDArrayHandle h = NULL;
  int ndim = -1, dtype = -1, dev_type = -1, dev_id = -1;
  const int64_t *dims = NULL;
  int64_t before = live_handles();

  CHECK_OK(AxNDArrayCreate(shape, 3, AX_CPU, 0, AX_FLOAT64, &h));
  CHECK(h != NULL);
  CHECK(live_handles() == before + 1);
  CHECK_OK(AxNDArrayGetShape(h, &ndim, &dims));
  CHECK(ndim == 3 && dims != NULL && dims[0] == 2 && dims[1] == 3 && dims[2] == 4);
  CHECK_OK(AxNDArrayGetDType(h, &dtype));
  CHECK(dtype == AX_FLOAT64);
  CHECK_OK(AxNDArrayGetContext(h, &dev_type, &dev_id));
  CHECK(dev_type == AX_CPU && dev_id == 0);
  AxNDArrayFree(h);
  CHECK(live_handles() == before);

  /* a 0-d scalar and an empty array */
  CHECK_OK(AxNDArrayCreate(NULL, 0, AX_CPU, 0, AX_INT32, &h));
  CHECK_OK(AxNDArrayGetShape(h, &ndim, &dims));
  CHECK(ndim == 0);
  {
    int32_t v = 42, back = 0;
    CHECK_OK(AxNDArraySyncCopyFromCPU(h, &v, sizeof v));
    CHECK_OK(AxNDArraySyncCopyToCPU(h, &back, sizeof back));
    CHECK(back == 42);
  }
  AxNDArrayFree(h);
  {
    int64_t zshape[2] = {0, 5};
    CHECK_OK(AxNDArrayCreate(zshape, 2, AX_CPU, 0, AX_UINT8, &h));
    CHECK_OK(AxNDArrayGetShape(h, &ndim, &dims));
    CHECK(ndim == 2 && dims[0] == 0 && dims[1] == 5);
    CHECK_OK(AxNDArraySyncCopyToCPU(h, NULL, 0));
    AxNDArrayFree(h);
  }

  /* bad arguments: status, message, and *out untouched */
  h = SENTINEL_HANDLE;
  CHECK_ERR(AxNDArrayCreate(shape, 3, AX_CPU, 0, 99, &h), AX_ERR_TYPE, "dtype");
  CHECK_ERR(AxNDArrayCreate(shape, -1, AX_CPU, 0, AX_FLOAT32, &h), AX_ERR_SHAPE, "ndim");
  CHECK_ERR(AxNDArrayCreate(shape, 17, AX_CPU, 0, AX_FLOAT32, &h), AX_ERR_SHAPE, "ndim");
  CHECK_ERR(AxNDArrayCreate(NULL, 2, AX_CPU, 0, AX_FLOAT32, &h), AX_ERR_INVALID_ARGUMENT, "shape");
  {
    int64_t neg[2] = {2, -3};
    CHECK_ERR(AxNDArrayCreate(neg, 2, AX_CPU, 0, AX_FLOAT32, &h), AX_ERR_SHAPE, "negative");
  }
  CHECK_ERR(AxNDArrayCreate(shape, 3, 7, 0, AX_FLOAT32, &h), AX_ERR_INVALID_ARGUMENT, "device type");
  CHECK_ERR(AxNDArrayCreate(shape, 3, AX_CPU, -1, AX_FLOAT32, &h), AX_ERR_INVALID_ARGUMENT, "device id");
  {
    int ngpu = -1;
    CHECK_OK(AxGetGPUCount(&ngpu));
    CHECK(ngpu >= 0);
    if (ngpu == 0) CHECK_ERR(AxNDArrayCreate(shape, 3, AX_GPU, 0, AX_FLOAT32, &h), AX_ERR_NOT_SUPPORTED, "gpu(0)");
    CHECK_ERR(AxNDArrayCreate(shape, 3, AX_GPU, ngpu + 3, AX_FLOAT32, &h), AX_ERR_NOT_SUPPORTED, "gpu(");
  }
  {
    int64_t huge[2] = {(int64_t)1 << 40, (int64_t)1 << 10};
    CHECK_ERR(AxNDArrayCreate(huge, 2, AX_CPU, 0, AX_FLOAT32, &h), AX_ERR_OUT_OF_MEMORY, "cannot allocate");
  }
  CHECK_ERR(AxNDArrayCreate(shape, 3, AX_CPU, 0, AX_FLOAT32, NULL), AX_ERR_INVALID_ARGUMENT, "AxNDArrayCreate");
  CHECK(h == SENTINEL_HANDLE);
  CHECK(live_handles() == before);
}

static void test_copy_round_trip(void) {
  int64_t shape[2] = {2, 3};
  float in[6] = {1.5f, -2.f, 3.25f, 0.f, 1e-3f, 7.f}, out[6];
  float guard[8];
  AxNDArrayHandle h = make_f32(shape, 2, in);
  int i;
  CHECK(h != NULL);
  if (!h) return;
  memset(out, 0, sizeof out);
  CHECK_OK(read_f32(h, out, 6));
  CHECK(all_equal(in, out, 6));

  /* size mismatches: AX_ERR_SHAPE, naming the function; the destination is untouched */
  for (i = 0; i < 8; ++i) guard[i] = -99.f;
  CHECK_ERR(AxNDArraySyncCopyToCPU(h, guard, 5 * sizeof(float)), AX_ERR_SHAPE, "SyncCopyToCPU");
  CHECK_ERR(AxNDArraySyncCopyToCPU(h, guard, 8 * sizeof(float)), AX_ERR_SHAPE, "24 bytes");
  for (i = 0; i < 8; ++i) CHECK(guard[i] == -99.f);
  CHECK_ERR(AxNDArraySyncCopyFromCPU(h, guard, 7 * sizeof(float)), AX_ERR_SHAPE, "SyncCopyFromCPU");
  CHECK_ERR(AxNDArraySyncCopyFromCPU(h, NULL, 6 * sizeof(float)), AX_ERR_INVALID_ARGUMENT, "NULL");
  CHECK_ERR(AxNDArraySyncCopyToCPU(h, NULL, 6 * sizeof(float)), AX_ERR_INVALID_ARGUMENT, "NULL");
  CHECK_OK(read_f32(h, out, 6));
  CHECK(all_equal(in, out, 6)); /* the failed copies changed nothing */
  CHECK_OK(AxNDArrayWaitToRead(h));
  CHECK_OK(AxNDArrayWaitToWrite(h));
  AxNDArrayFree(h);
}

static void test_views(void) {
  int64_t shape[2] = {4, 3};
  float in[12], out[12];
  AxNDArrayHandle a, r = NULL, s = NULL, row = NULL, v;
  int ndim = 0, i;
  const int64_t *dims = NULL;
  int64_t before = live_handles();
  for (i = 0; i < 12; ++i) in[i] = (float)i;
  a = make_f32(shape, 2, in);
  CHECK(a != NULL);
  if (!a) return;
  {
    int64_t to[2] = {-1, 6};
    CHECK_OK(AxNDArrayReshape(a, 2, to, 0, &r));
    CHECK_OK(AxNDArrayGetShape(r, &ndim, &dims));
    CHECK(ndim == 2 && dims[0] == 2 && dims[1] == 6);
  }
  CHECK_OK(AxNDArraySlice(a, 1, 3, &s));
  CHECK_OK(AxNDArrayGetShape(s, &ndim, &dims));
  CHECK(ndim == 2 && dims[0] == 2 && dims[1] == 3);
  CHECK_OK(read_f32(s, out, 6));
  CHECK(all_equal(out, in + 3, 6));
  CHECK_OK(AxNDArrayAt(a, -1, &row));
  CHECK_OK(AxNDArrayGetShape(row, &ndim, &dims));
  CHECK(ndim == 1 && dims[0] == 3);
  CHECK_OK(read_f32(row, out, 3));
  CHECK(all_equal(out, in + 9, 3));

  /* a write through a view is seen by the base (given output = the view) */
  {
    const char *k[1] = {"scalar"}, *val[1] = {"100"};
    int nout = 1;
    AxNDArrayHandle *outs = &s;
    CHECK_OK(AxImperativeInvoke(op("_plus_scalar"), 1, &s, &nout, &outs, 1, k, val));
    CHECK_OK(read_f32(a, out, 12));
    for (i = 0; i < 12; ++i) CHECK(out[i] == (i >= 3 && i < 9 ? 100.f + i : (float)i));
  }

  v = SENTINEL_HANDLE;
  {
    int64_t bad[1] = {5};
    CHECK_ERR(AxNDArrayReshape(a, 1, bad, 0, &v), AX_ERR_SHAPE, "reshape");
  }
  CHECK_ERR(AxNDArraySlice(a, 3, 5, &v), AX_ERR_INDEX, "out of bounds");
  CHECK_ERR(AxNDArraySlice(a, 2, 1, &v), AX_ERR_INDEX, "slice");
  CHECK_ERR(AxNDArrayAt(a, 4, &v), AX_ERR_INDEX, "index 4");
  CHECK(v == SENTINEL_HANDLE);

  /* the views outlive the base */
  AxNDArrayFree(a);
  CHECK_OK(read_f32(r, out, 12));
  CHECK(out[0] == 0.f && out[4] == 104.f && out[11] == 11.f);
  AxNDArrayFree(r);
  AxNDArrayFree(s);
  AxNDArrayFree(row);
  CHECK(live_handles() == before);
}

/* ---- ops ---------------------------------------------------------------------------------------- */
static void test_list_and_info(void) {
  int n = 0, i, found_add = 0, found_scalar = 0, found_rdv = 0;
  const char **names = NULL;
  const char *name = NULL, *doc = NULL, *kv = NULL;
  int nin = -5, np = -5;
  const char **in_names = NULL, **pn = NULL, **pt = NULL, **pd = NULL;
  AxOpHandle h = NULL;

  CHECK_OK(AxListOps(&n, &names));
  CHECK(n > 10 && names != NULL);
  for (i = 0; names && i < n; ++i) {
    CHECK(names[i] != NULL && names[i][0] != '\0');
    found_add |= strcmp(names[i], "broadcast_add") == 0;
    found_scalar |= strcmp(names[i], "_plus_scalar") == 0;
    found_rdv |= strcmp(names[i], "_engine_rendezvous") == 0;
  }
  CHECK(found_add && found_scalar && found_rdv);
  CHECK_ERR(AxListOps(NULL, &names), AX_ERR_INVALID_ARGUMENT, "AxListOps");

  CHECK_OK(AxGetOpHandle("_plus_scalar", &h));
  CHECK_OK(AxOpGetInfo(h, &name, &doc, &nin, &in_names, &np, &pn, &pt, &pd, &kv));
  CHECK(name && strcmp(name, "_plus_scalar") == 0);
  CHECK(doc && doc[0] != '\0');
  CHECK(nin == 1 && in_names && strcmp(in_names[0], "data") == 0);
  CHECK(np == 2 && pn && strcmp(pn[0], "scalar") == 0 && strcmp(pn[1], "is_int") == 0);
  CHECK(pt && strcmp(pt[0], "double, optional, default='1'") == 0);
  CHECK(pd && pd[0] != NULL);
  CHECK(kv && kv[0] == '\0');

  CHECK_OK(AxGetOpHandle("_engine_rendezvous", &h));
  CHECK_OK(AxOpGetInfo(h, &name, &doc, &nin, &in_names, &np, &pn, &pt, &pd, &kv));
  CHECK(np == 3);
  for (i = 0; i < np; ++i) {
    if (strcmp(pn[i], "key") == 0) CHECK(strcmp(pt[i], "int, required") == 0);
    if (strcmp(pn[i], "parties") == 0) CHECK(strcmp(pt[i], "int, optional, default='2'") == 0);
  }

  CHECK_OK(AxGetOpHandle("broadcast_add", &h));
  CHECK_OK(AxOpGetInfo(h, &name, &doc, &nin, &in_names, &np, &pn, &pt, &pd, &kv));
  CHECK(nin == 2 && strcmp(in_names[0], "lhs") == 0 && strcmp(in_names[1], "rhs") == 0 && np == 0);
  {
    int nout = -1;
    CHECK_OK(AxOpGetNumOutputs(h, 0, NULL, NULL, &nout));
    CHECK(nout == 1);
  }
  /* an alias gives the op it names */
  {
    AxOpHandle a = NULL, b = NULL;
    CHECK_OK(AxGetOpHandle("uniform", &a));
    CHECK_OK(AxGetOpHandle("_random_uniform", &b));
    CHECK(a == b && a != NULL);
  }

  /* bad op handles and names */
  {
    int dummy = 0;
    AxOpHandle bogus = (AxOpHandle)(void *)&dummy, untouched = (AxOpHandle)(void *)&dummy;
    const char *nm = "untouched";
    CHECK_ERR(AxOpGetInfo(bogus, &nm, &doc, &nin, &in_names, &np, &pn, &pt, &pd, &kv), AX_ERR_INVALID_HANDLE,
              "AxOpGetInfo");
    CHECK(strcmp(nm, "untouched") == 0);
    CHECK_ERR(AxOpGetInfo(NULL, &nm, &doc, &nin, &in_names, &np, &pn, &pt, &pd, &kv), AX_ERR_INVALID_ARGUMENT,
              "NULL");
    CHECK_ERR(AxOpGetInfo(h, NULL, &doc, &nin, &in_names, &np, &pn, &pt, &pd, &kv), AX_ERR_INVALID_ARGUMENT,
              "AxOpGetInfo");
    CHECK_ERR(AxGetOpHandle("no_such_op_xyz", &untouched), AX_ERR_INVALID_ARGUMENT, "no_such_op_xyz");
    CHECK(untouched == (AxOpHandle)(void *)&dummy);
    CHECK_ERR(AxGetOpHandle(NULL, &untouched), AX_ERR_INVALID_ARGUMENT, "AxGetOpHandle");
    CHECK_ERR(AxGetOpHandle("broadcast_add", NULL), AX_ERR_INVALID_ARGUMENT, "AxGetOpHandle");
    CHECK_ERR(AxOpGetNumOutputs(bogus, 0, NULL, NULL, &nin), AX_ERR_INVALID_HANDLE, "AxOpGetNumOutputs");
  }
}

static void test_invoke(void) {
  int64_t s23[2] = {2, 3}, s13[2] = {1, 3}, s4[1] = {4};
  float a_in[6] = {1, 2, 3, 4, 5, 6}, b_in[3] = {10, 20, 30}, out[6];
  float expect_add[6] = {11, 22, 33, 14, 25, 36};
  AxNDArrayHandle a = make_f32(s23, 2, a_in), b = make_f32(s13, 2, b_in), c = NULL, given = NULL, d = NULL;
  AxNDArrayHandle ins[2];
  AxOpHandle add = op("broadcast_add"), plus = op("_plus_scalar");
  int64_t before;
  int nout, i;
  AxNDArrayHandle *outs;
  const int64_t *dims = NULL;
  int ndim = 0;
  CHECK(a && b && add && plus);
  if (!a || !b || !add || !plus) return;
  before = live_handles();
  ins[0] = a;
  ins[1] = b;

  /* core-allocated outputs */
  nout = 0;
  outs = NULL;
  CHECK_OK(AxImperativeInvoke(add, 2, ins, &nout, &outs, 0, NULL, NULL));
  CHECK(nout == 1 && outs != NULL);
  if (nout == 1 && outs) c = outs[0];
  CHECK(live_handles() == before + 1);
  CHECK_OK(AxNDArrayGetShape(c, &ndim, &dims));
  CHECK(ndim == 2 && dims[0] == 2 && dims[1] == 3);
  CHECK_OK(read_f32(c, out, 6));
  CHECK(all_equal(out, expect_add, 6));

  /* given outputs */
  given = make_f32(s23, 2, NULL);
  nout = 1;
  outs = &given;
  CHECK_OK(AxImperativeInvoke(add, 2, ins, &nout, &outs, 0, NULL, NULL));
  CHECK(nout == 1 && outs == &given);
  CHECK_OK(read_f32(given, out, 6));
  CHECK(all_equal(out, expect_add, 6));

  /* string attributes */
  {
    const char *k[1] = {"scalar"}, *v[1] = {"2.5"};
    float expect[6] = {3.5f, 4.5f, 5.5f, 6.5f, 7.5f, 8.5f};
    d = invoke1("_plus_scalar", 1, &a, 1, k, v);
    CHECK(d != NULL);
    CHECK_OK(read_f32(d, out, 6));
    CHECK(all_equal(out, expect, 6));
    AxNDArrayFree(d);
  }
  /* in place: the output is an input */
  {
    const char *k[1] = {"scalar"}, *v[1] = {"-1"};
    nout = 1;
    outs = &given;
    CHECK_OK(AxImperativeInvoke(plus, 1, &given, &nout, &outs, 1, k, v));
    CHECK_OK(read_f32(given, out, 6));
    for (i = 0; i < 6; ++i) CHECK(out[i] == expect_add[i] - 1);
  }
  /* creation ops take their context and shape from attributes */
  {
    const char *k[3] = {"shape", "ctx", "dtype"}, *v[3] = {"(2, 2)", "cpu(0)", "float32"};
    float z[4] = {1, 1, 1, 1}, zero[4] = {0, 0, 0, 0};
    d = invoke1("_zeros", 0, NULL, 3, k, v);
    CHECK(d != NULL);
    CHECK_OK(read_f32(d, z, 4));
    CHECK(all_equal(z, zero, 4));
    AxNDArrayFree(d);
  }

  /* ---- the bad-input catalogue; outputs stay untouched ---- */
  {
    AxNDArrayHandle e, bad_ins[2];
    int64_t live = live_handles();
    nout = -3;
    outs = NULL;
    /* wrong number of inputs */
    CHECK_ERR(AxImperativeInvoke(add, 1, ins, &nout, &outs, 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT,
              "expected 2 input(s), got 1");
    CHECK_ERR(AxImperativeInvoke(add, 1, ins, &nout, &outs, 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT, "broadcast_add");
    CHECK(nout == -3 && outs == NULL);
    /* inputs NULL */
    CHECK_ERR(AxImperativeInvoke(add, 2, NULL, &nout, &outs, 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT, "inputs");
    /* an incompatible broadcast */
    e = make_f32(s4, 1, NULL);
    bad_ins[0] = a;
    bad_ins[1] = e;
    live = live_handles();
    CHECK_ERR(AxImperativeInvoke(add, 2, bad_ins, &nout, &outs, 0, NULL, NULL), AX_ERR_SHAPE,
              "could not be broadcast");
    CHECK(strstr(AxGetLastError(), "broadcast_add") != NULL);
    CHECK(nout == -3 && outs == NULL);
    /* bad and unknown attributes */
    {
      const char *k[1] = {"scalar"}, *v[1] = {"abc"};
      CHECK_ERR(AxImperativeInvoke(plus, 1, &a, &nout, &outs, 1, k, v), AX_ERR_INVALID_ARGUMENT,
                "invalid value for attribute 'scalar'");
      CHECK(strstr(AxGetLastError(), "_plus_scalar") != NULL);
    }
    {
      const char *k[1] = {"no_such_attr"}, *v[1] = {"1"};
      CHECK_ERR(AxImperativeInvoke(plus, 1, &a, &nout, &outs, 1, k, v), AX_ERR_INVALID_ARGUMENT,
                "unknown attribute 'no_such_attr'");
    }
    {
      const char *k[1] = {"scalar"};
      const char *v[1] = {NULL};
      CHECK_ERR(AxImperativeInvoke(plus, 1, &a, &nout, &outs, 1, k, v), AX_ERR_INVALID_ARGUMENT, "NULL");
      CHECK_ERR(AxImperativeInvoke(plus, 1, &a, &nout, &outs, 1, NULL, NULL), AX_ERR_INVALID_ARGUMENT, "NULL");
    }
    {
      const char *k[1] = {"timeout_ms"}, *v[1] = {"5"}; /* "key" is required */
      CHECK_ERR(AxImperativeInvoke(op("_engine_rendezvous"), 1, &a, &nout, &outs, 1, k, v), AX_ERR_INVALID_ARGUMENT,
                "required attribute 'key'");
    }
    CHECK(nout == -3 && outs == NULL);
    /* a given output of the wrong shape / dtype / count */
    {
      AxNDArrayHandle wrong = make_f32(s4, 1, NULL), wrong_t = NULL, two[2];
      int64_t live2;
      CHECK_OK(AxNDArrayCreate(s23, 2, AX_CPU, 0, AX_INT32, &wrong_t));
      live2 = live_handles();
      nout = 1;
      outs = &wrong;
      CHECK_ERR(AxImperativeInvoke(add, 2, ins, &nout, &outs, 0, NULL, NULL), AX_ERR_SHAPE, "output shape (4,) does not match (2,3)");
      outs = &wrong_t;
      CHECK_ERR(AxImperativeInvoke(add, 2, ins, &nout, &outs, 0, NULL, NULL), AX_ERR_TYPE, "dtype of output 0 is int32");
      two[0] = given;
      two[1] = c;
      nout = 2;
      outs = two;
      CHECK_ERR(AxImperativeInvoke(add, 2, ins, &nout, &outs, 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT,
                "expected 1 output array(s), got 2");
      /* given outputs, but none of them: as wrong a count as two (core bug: it runs into a temporary
       * array, returns AX_OK and the result is lost) */
      nout = 0;
      outs = two;
      CHECK_ERR(AxImperativeInvoke(add, 2, ins, &nout, &outs, 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT,
                "expected 1 output array(s), got 0");
      CHECK(nout == 0 && outs == two);
      CHECK(live_handles() == live2);
      AxNDArrayFree(wrong);
      AxNDArrayFree(wrong_t);
    }
    /* mixed dtypes */
    {
      AxNDArrayHandle i32 = NULL, mix[2];
      CHECK_OK(AxNDArrayCreate(s23, 2, AX_CPU, 0, AX_INT32, &i32));
      mix[0] = a;
      mix[1] = i32;
      nout = 0;
      outs = NULL;
      CHECK_ERR(AxImperativeInvoke(add, 2, mix, &nout, &outs, 0, NULL, NULL), AX_ERR_TYPE, "dtype");
      CHECK(nout == 0 && outs == NULL);
      AxNDArrayFree(i32);
    }
    /* NULL out-pointers and a NULL op */
    CHECK_ERR(AxImperativeInvoke(add, 2, ins, NULL, &outs, 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT, "num_outputs");
    CHECK_ERR(AxImperativeInvoke(add, 2, ins, &nout, NULL, 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT, "outputs");
    CHECK_ERR(AxImperativeInvoke(NULL, 2, ins, &nout, &outs, 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT,
              "AxImperativeInvoke");
    /* an input that is not an array handle */
    {
      int dummy = 0;
      AxNDArrayHandle fake[2];
      fake[0] = a;
      fake[1] = (AxNDArrayHandle)(void *)&dummy;
      nout = 0;
      outs = NULL;
      CHECK_ERR(AxImperativeInvoke(add, 2, fake, &nout, &outs, 0, NULL, NULL), AX_ERR_INVALID_HANDLE,
                "not a live NDArray handle");
      fake[1] = (AxNDArrayHandle)(void *)add; /* an op handle passed as an array */
      CHECK_ERR(AxImperativeInvoke(add, 2, fake, &nout, &outs, 0, NULL, NULL), AX_ERR_INVALID_HANDLE,
                "broadcast_add: inputs[1]");
      CHECK(nout == 0 && outs == NULL);
    }
    CHECK(live_handles() == live); /* no failed call left a handle behind */
    AxNDArrayFree(e);
  }

  AxNDArrayFree(c);
  AxNDArrayFree(given);
  AxNDArrayFree(a);
  AxNDArrayFree(b);
}

/* ---- handles: NULL, freed, double free -------------------------------------------------------- */
static void test_bad_handles(void) {
  int64_t shape[1] = {3};
  AxNDArrayHandle h = make_f32(shape, 1, NULL), other, v;
  int64_t before;
  int ndim = -9, dtype = -9, t = -9, id = -9;
  const int64_t *dims = (const int64_t *)shape;
  float buf[3] = {0, 0, 0};
  CHECK(h != NULL);
  if (!h) return;

  /* NULL out-pointers */
  CHECK_ERR(AxNDArrayGetShape(h, NULL, &dims), AX_ERR_INVALID_ARGUMENT, "AxNDArrayGetShape");
  CHECK_ERR(AxNDArrayGetShape(h, &ndim, NULL), AX_ERR_INVALID_ARGUMENT, "out_shape");
  CHECK(ndim == -9 && dims == (const int64_t *)shape);
  CHECK_ERR(AxNDArrayGetDType(h, NULL), AX_ERR_INVALID_ARGUMENT, "AxNDArrayGetDType");
  CHECK_ERR(AxNDArrayGetContext(h, &t, NULL), AX_ERR_INVALID_ARGUMENT, "AxNDArrayGetContext");
  CHECK(t == -9);
  CHECK_ERR(AxNDArraySlice(h, 0, 1, NULL), AX_ERR_INVALID_ARGUMENT, "AxNDArraySlice");

  /* NULL handle */
  CHECK_ERR(AxNDArrayGetDType(NULL, &dtype), AX_ERR_INVALID_ARGUMENT, "AxNDArrayGetDType");
  CHECK_ERR(AxNDArrayWaitToRead(NULL), AX_ERR_INVALID_ARGUMENT, "AxNDArrayWaitToRead");
  CHECK_ERR(AxNDArraySyncCopyToCPU(NULL, buf, sizeof buf), AX_ERR_INVALID_ARGUMENT, "AxNDArraySyncCopyToCPU");
  CHECK(dtype == -9);
  AxNDArrayFree(NULL); /* a no-op */

  /* a freed handle: no other handle is created in between, so its address cannot be reused */
  other = make_f32(shape, 1, NULL);
  before = live_handles();
  AxNDArrayFree(h);
  CHECK(live_handles() == before - 1);
  CHECK_ERR(AxNDArrayGetDType(h, &dtype), AX_ERR_INVALID_HANDLE, "AxNDArrayGetDType");
  CHECK(strstr(AxGetLastError(), "freed") != NULL || strstr(AxGetLastError(), "not a live") != NULL);
  CHECK_ERR(AxNDArrayGetShape(h, &ndim, &dims), AX_ERR_INVALID_HANDLE, "AxNDArrayGetShape");
  CHECK_ERR(AxNDArrayGetContext(h, &t, &id), AX_ERR_INVALID_HANDLE, "AxNDArrayGetContext");
  CHECK_ERR(AxNDArraySyncCopyToCPU(h, buf, sizeof buf), AX_ERR_INVALID_HANDLE, "AxNDArraySyncCopyToCPU");
  CHECK_ERR(AxNDArraySyncCopyFromCPU(h, buf, sizeof buf), AX_ERR_INVALID_HANDLE, "AxNDArraySyncCopyFromCPU");
  CHECK_ERR(AxNDArrayWaitToRead(h), AX_ERR_INVALID_HANDLE, "AxNDArrayWaitToRead");
  CHECK_ERR(AxNDArrayWaitToWrite(h), AX_ERR_INVALID_HANDLE, "AxNDArrayWaitToWrite");
  v = SENTINEL_HANDLE;
  CHECK_ERR(AxNDArraySlice(h, 0, 1, &v), AX_ERR_INVALID_HANDLE, "AxNDArraySlice");
  CHECK_ERR(AxNDArrayReshape(h, 1, shape, 0, &v), AX_ERR_INVALID_HANDLE, "AxNDArrayReshape");
  CHECK_ERR(AxNDArrayAt(h, 0, &v), AX_ERR_INVALID_HANDLE, "AxNDArrayAt");
  CHECK(v == SENTINEL_HANDLE);
  CHECK(dtype == -9 && ndim == -9 && t == -9 && id == -9);
  {
    AxNDArrayHandle ins[2];
    AxNDArrayHandle *outs = NULL;
    int nout = 0;
    ins[0] = other;
    ins[1] = h;
    CHECK_ERR(AxImperativeInvoke(op("broadcast_add"), 2, ins, &nout, &outs, 0, NULL, NULL), AX_ERR_INVALID_HANDLE,
              "not a live NDArray handle");
    CHECK(nout == 0 && outs == NULL);
  }
  /* double free: no crash, reported through AxGetLastError, nothing else freed */
  AxNDArrayFree(h);
  CHECK(strstr(AxGetLastError(), "AxNDArrayFree") != NULL);
  CHECK(live_handles() == before - 1);
  CHECK_OK(AxNDArraySyncCopyToCPU(other, buf, sizeof buf));
  AxNDArrayFree(other);
  CHECK(live_handles() == before - 2);
}

/* ---- save / load ------------------------------------------------------------------------------- */
static void test_save_load(void) {
  char path[512];
  const char *tmp = getenv("TMPDIR");
  int64_t s23[2] = {2, 3}, s4[1] = {4};
  float a_in[6] = {1, -2, 3.5f, 4, 5, 6e7f}, b_in[4] = {0.25f, 0, -0, 1e-30f}, out[6];
  AxNDArrayHandle arrs[2];
  const char *names[2] = {"arg:weight", "aux:b"};
  int n = -1, nn = -1, i;
  AxNDArrayHandle *loaded = NULL;
  const char **lnames = NULL;
  int64_t before = live_handles();
  char *bytes = NULL;
  long size = 0;
  FILE *f;

  sprintf(path, "%s/axle_test_capi_%lu_%lu.params", tmp && strlen(tmp) < 400 ? tmp : "/tmp",
          (unsigned long)time(NULL), (unsigned long)(uintptr_t)&n);
  arrs[0] = make_f32(s23, 2, a_in);
  arrs[1] = make_f32(s4, 1, b_in);
  CHECK(arrs[0] && arrs[1]);
  if (!arrs[0] || !arrs[1]) return;

  /* a dict */
  CHECK_OK(AxNDArraySave(path, 2, arrs, names));
  CHECK_OK(AxNDArrayLoad(path, &n, &loaded, &nn, &lnames));
  CHECK(n == 2 && nn == 2);
  if (n == 2 && nn == 2) {
    AxNDArrayHandle l0 = loaded[0], l1 = loaded[1];
    int ndim = 0, dtype = -1;
    const int64_t *dims = NULL;
    CHECK(strcmp(lnames[0], "arg:weight") == 0 && strcmp(lnames[1], "aux:b") == 0);
    CHECK(live_handles() == before + 4);
    CHECK_OK(AxNDArrayGetShape(l0, &ndim, &dims));
    CHECK(ndim == 2 && dims[0] == 2 && dims[1] == 3);
    CHECK_OK(AxNDArrayGetDType(l1, &dtype));
    CHECK(dtype == AX_FLOAT32);
    CHECK_OK(read_f32(l0, out, 6));
    CHECK(all_equal(out, a_in, 6));
    CHECK_OK(read_f32(l1, out, 4));
    CHECK(memcmp(out, b_in, sizeof b_in) == 0); /* bit for bit, -0 and denormals included */
    AxNDArrayFree(l0);
    AxNDArrayFree(l1);
  }
  /* a list */
  CHECK_OK(AxNDArraySave(path, 2, arrs, NULL));
  CHECK_OK(AxNDArrayLoad(path, &n, &loaded, &nn, &lnames));
  CHECK(n == 2 && nn == 0);
  for (i = 0; i < n; ++i) AxNDArrayFree(loaded[i]);
  CHECK(live_handles() == before + 2);

  /* the file's bytes, for the buffer tests */
  f = fopen(path, "rb");
  CHECK(f != NULL);
  if (f) {
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    bytes = (char *)malloc((size_t)size);
    CHECK(bytes && fread(bytes, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
  }
  if (bytes) {
    long cut;
    int all_io = 1, untouched = 1;
    CHECK_OK(AxNDArrayLoadFromBuffer(bytes, (size_t)size, &n, &loaded, &nn, &lnames));
    CHECK(n == 2 && nn == 0);
    for (i = 0; i < n; ++i) AxNDArrayFree(loaded[i]);
    /* every truncation fails with AX_ERR_IO, touches no out-parameter and leaks no handle */
    for (cut = 0; cut < size; ++cut) {
      int n2 = -4, nn2 = -4;
      AxNDArrayHandle *l2 = (AxNDArrayHandle *)&n2;
      const char **ln2 = (const char **)&nn2;
      int rc = AxNDArrayLoadFromBuffer(bytes, (size_t)cut, &n2, &l2, &nn2, &ln2);
      if (rc != AX_ERR_IO || strstr(AxGetLastError(), "<buffer>") == NULL) {
        if (all_io) fprintf(stderr, "truncated at %ld: rc %d, %s\n", cut, rc, AxGetLastError());
        all_io = 0;
      }
      if (n2 != -4 || nn2 != -4 || l2 != (AxNDArrayHandle *)&n2 || ln2 != (const char **)&nn2) untouched = 0;
    }
    CHECK(all_io);
    CHECK(untouched);
    CHECK(live_handles() == before + 2);
    /* garbage */
    {
      char junk[256];
      int rc;
      for (i = 0; i < 256; ++i) junk[i] = (char)(i * 37 + 11);
      CHECK_ERR(AxNDArrayLoadFromBuffer(junk, sizeof junk, &n, &loaded, &nn, &lnames), AX_ERR_IO,
                "invalid NDArray file");
      /* the right header followed by garbage */
      memcpy(junk, bytes, 24);
      rc = AxNDArrayLoadFromBuffer(junk, sizeof junk, &n, &loaded, &nn, &lnames);
      CHECK(rc == AX_ERR_IO);
      /* a corrupted dimension claiming far more data than there is */
      {
        char *bad = (char *)malloc((size_t)size);
        int64_t big = (int64_t)1 << 40;
        if (bad) {
          memcpy(bad, bytes, (size_t)size);
          memcpy(bad + 36, &big, sizeof big); /* header 24 + magic 4 + stype 4 + ndim 4 = the first dim */
          CHECK_ERR(AxNDArrayLoadFromBuffer(bad, (size_t)size, &n, &loaded, &nn, &lnames), AX_ERR_IO, "<buffer>");
          free(bad);
        }
      }
    }
    CHECK_ERR(AxNDArrayLoadFromBuffer(NULL, 10, &n, &loaded, &nn, &lnames), AX_ERR_INVALID_ARGUMENT, "buf");
    CHECK_ERR(AxNDArrayLoadFromBuffer(NULL, 0, &n, &loaded, &nn, &lnames), AX_ERR_IO, "truncated");
    CHECK_ERR(AxNDArrayLoadFromBuffer(bytes, (size_t)size, NULL, &loaded, &nn, &lnames), AX_ERR_INVALID_ARGUMENT,
              "out_num");
    CHECK(live_handles() == before + 2);
    free(bytes);
  }
  remove(path);

  /* files that cannot be read or written */
  {
    int n3 = -4;
    CHECK_ERR(AxNDArrayLoad(path, &n3, &loaded, &nn, &lnames), AX_ERR_IO, "axle_test_capi_");
    CHECK(n3 == -4);
    CHECK_ERR(AxNDArraySave("/nonexistent-dir-axle/x.params", 2, arrs, NULL), AX_ERR_IO, "x.params");
    CHECK_ERR(AxNDArraySave(NULL, 2, arrs, NULL), AX_ERR_INVALID_ARGUMENT, "fname");
    CHECK_ERR(AxNDArraySave(path, 2, NULL, NULL), AX_ERR_INVALID_ARGUMENT, "arrays");
    CHECK_ERR(AxNDArrayLoad(NULL, &n3, &loaded, &nn, &lnames), AX_ERR_INVALID_ARGUMENT, "fname");
  }
  AxNDArrayFree(arrs[0]);
  AxNDArrayFree(arrs[1]);
  CHECK(live_handles() == before);
}

/* ---- async errors ------------------------------------------------------------------------------- */
static AxNDArrayHandle rendezvous(AxNDArrayHandle x, const char *key, const char *timeout_ms) {
  const char *k[3] = {"key", "parties", "timeout_ms"}, *v[3];
  v[0] = key;
  v[1] = "2";
  v[2] = timeout_ms;
  return invoke1("_engine_rendezvous", 1, &x, 3, k, v);
}

static void test_async_errors(void) {
  int64_t s3[1] = {3};
  float ones[3] = {1, 1, 1}, out[3] = {-1, -1, -1};
  AxNDArrayHandle x = make_f32(s3, 1, ones), y, z, w;
  const char *t = "";
  int threaded;
  CHECK(x != NULL);
  if (!x) return;
  CHECK_OK(AxEngineGetType(&t));
  threaded = strcmp(t, "ThreadedEngine") == 0;

  /* an op that fails while it runs: the push succeeds, the wait reports it, once */
  y = rendezvous(x, "912001", "50"); /* no partner: times out */
  CHECK(y != NULL);
  CHECK_ERR(AxNDArrayWaitToRead(y), AX_ERR_RUNTIME, "rendezvous 912001 timed out");
  CHECK(strstr(AxGetLastError(), "_engine_rendezvous") != NULL);
  CHECK_OK(AxNDArrayWaitToRead(y));
  CHECK_OK(AxEngineWaitAll());

  /* readers of a failed array fail with the same error; SyncCopyToCPU reports it too */
  z = rendezvous(x, "912002", "50");
  {
    const char *k[1] = {"scalar"}, *v[1] = {"1"};
    w = invoke1("_plus_scalar", 1, &z, 1, k, v);
  }
  CHECK(z && w);
  CHECK_ERR(AxNDArraySyncCopyToCPU(w, out, sizeof out), AX_ERR_RUNTIME, "rendezvous 912002 timed out");
  CHECK(out[0] == -1.f && out[2] == -1.f); /* nothing copied */
  CHECK_ERR(AxNDArrayWaitToWrite(z), AX_ERR_RUNTIME, "rendezvous 912002 timed out");
  CHECK_OK(AxEngineWaitAll());
  AxNDArrayFree(z);
  AxNDArrayFree(w);

  /* AxEngineWaitAll reports an error no wait has reported, once */
  z = rendezvous(x, "912003", "20");
  CHECK_ERR(AxEngineWaitAll(), AX_ERR_RUNTIME, "rendezvous 912003 timed out");
  CHECK_OK(AxEngineWaitAll());
  AxNDArrayFree(z);

  /* independent ops run concurrently (threaded engine with 2+ workers) */
  if (threaded) {
    AxNDArrayHandle x2 = make_f32(s3, 1, ones), r1 = rendezvous(x, "912004", "5000"), r2 = rendezvous(x2, "912004", "5000");
    CHECK(r1 && r2);
    CHECK_OK(AxNDArrayWaitToRead(r1));
    CHECK_OK(AxNDArrayWaitToRead(r2));
    CHECK_OK(read_f32(r2, out, 3));
    CHECK(all_equal(out, ones, 3));
    AxNDArrayFree(r1);
    AxNDArrayFree(r2);
    AxNDArrayFree(x2);
  }

  /* a failed random op: the error stays with its array; the random state keeps working */
  {
    const char *k[3] = {"low", "high", "shape"}, *v[3] = {"2", "1", "(3,)"};
    AxNDArrayHandle r = invoke1("_random_uniform", 0, NULL, 3, k, v);
    CHECK(r != NULL); /* pushing succeeds */
    if (r) {
      int rc = AxNDArrayWaitToRead(r);
      CHECK(rc != AX_OK);
      CHECK(strstr(AxGetLastError(), "_random_uniform") != NULL && strstr(AxGetLastError(), "low") != NULL);
      CHECK_OK(AxNDArrayWaitToRead(r));
      AxNDArrayFree(r);
    }
    v[0] = "0";
    r = invoke1("_random_uniform", 0, NULL, 3, k, v);
    CHECK(r != NULL);
    if (r) {
      CHECK_OK(read_f32(r, out, 3));
      CHECK(out[0] >= 0 && out[0] < 1 && out[2] >= 0 && out[2] < 1);
      AxNDArrayFree(r);
    }
  }
  /* the process keeps working */
  {
    const char *k[1] = {"scalar"}, *v[1] = {"3"};
    float four[3] = {4, 4, 4};
    w = invoke1("_plus_scalar", 1, &x, 1, k, v);
    CHECK(w != NULL);
    CHECK_OK(read_f32(w, out, 3));
    CHECK(all_equal(out, four, 3));
    AxNDArrayFree(w);
  }
  AxNDArrayFree(y);
  AxNDArrayFree(x);
  CHECK_OK(AxEngineWaitAll());
}

/* ---- storage ------------------------------------------------------------------------------------ */
static void test_storage(void) {
  int64_t in_use = -1, pooled = -1, allocs = -1, hits = -1, peak = -1, in_use2 = -1, pooled2 = -1, hits2 = -1;
  int64_t shape[1] = {33333};
  AxNDArrayHandle h;
  int ngpu = 0;
  CHECK_OK(AxEngineWaitAll());
  CHECK_OK(AxStorageGetStats(AX_CPU, 0, &in_use, &pooled, &allocs, &hits, &peak));
  CHECK(in_use >= 0 && pooled >= 0 && allocs >= 0 && hits >= 0 && peak >= in_use);
  CHECK_OK(AxStorageGetStats(AX_CPU, 0, NULL, NULL, NULL, NULL, NULL)); /* every out may be NULL */
  h = make_f32(shape, 1, NULL);
  CHECK_OK(AxStorageGetStats(AX_CPU, 0, &in_use2, NULL, NULL, NULL, NULL));
  CHECK(in_use2 >= in_use + 33333 * 4);
  AxNDArrayFree(h);
  CHECK_OK(AxEngineWaitAll());
  CHECK_OK(AxStorageGetStats(AX_CPU, 0, &in_use2, &pooled2, NULL, NULL, NULL));
  CHECK(in_use2 == in_use);
  CHECK(pooled2 >= pooled + 33333 * 4);
  h = make_f32(shape, 1, NULL);
  CHECK_OK(AxStorageGetStats(AX_CPU, 0, NULL, NULL, NULL, &hits2, NULL));
  CHECK(hits2 == hits + 1);
  AxNDArrayFree(h);
  CHECK_OK(AxEngineWaitAll());
  CHECK_OK(AxStorageEmptyCache(AX_CPU, 0));
  CHECK_OK(AxStorageGetStats(AX_CPU, 0, NULL, &pooled2, NULL, NULL, NULL));
  CHECK(pooled2 == 0);

  pooled = -5;
  CHECK_ERR(AxStorageGetStats(9, 0, &in_use, &pooled, NULL, NULL, NULL), AX_ERR_INVALID_ARGUMENT, "device type");
  CHECK(pooled == -5);
  CHECK_OK(AxGetGPUCount(&ngpu));
  if (ngpu == 0) {
    CHECK_ERR(AxStorageGetStats(AX_GPU, 0, &in_use, &pooled, NULL, NULL, NULL), AX_ERR_NOT_SUPPORTED, "gpu(0)");
    CHECK_ERR(AxStorageEmptyCache(AX_GPU, 0), AX_ERR_NOT_SUPPORTED, "gpu(0)");
  }
  CHECK(pooled == -5);
  CHECK_ERR(AxGetGPUCount(NULL), AX_ERR_INVALID_ARGUMENT, "AxGetGPUCount");
}

int main(void) {
  int64_t baseline = live_handles();
  CHECK(baseline >= 0);

  test_version();
  test_engine_type();
  test_create_and_query();
  test_copy_round_trip();
  test_views();
  test_list_and_info();
  test_invoke();
  test_bad_handles();
  test_save_load();
  test_storage();
  test_async_errors();

  CHECK_OK(AxEngineWaitAll());
  CHECK(live_handles() == baseline);
  CHECK(AxGetLastError() != NULL);

  printf("%d passed, %d failed\n", g_pass, g_fail);
  return g_fail ? 1 : 0;
}
