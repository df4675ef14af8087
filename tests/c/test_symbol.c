/*
 * test_symbol.c -- symbols and executors through the C boundary (include/axle.h), from plain C99:
 * build a small graph, list and infer it, round-trip its JSON, bind, run forward and backward,
 * read the memory plan, and check the errors of bad arguments and dead handles.
 */
#include <math.h>

#include "check.h"

static AxSymbolHandle var(const char *name) {
  AxSymbolHandle s = NULL;
  if (AxSymbolCreateVariable(name, 0, NULL, NULL, &s) != AX_OK) fprintf(stderr, "var: %s\n", AxGetLastError());
  return s;
}

/* fc = FullyConnected(data, num_hidden=2, no_bias=True, name="fc"); out = tanh(fc) */
static AxSymbolHandle small_net(void) {
  AxSymbolHandle data = var("data"), fc = NULL, out = NULL;
  const char *keys[] = {"num_hidden", "no_bias"};
  const char *vals[] = {"2", "True"};
  const char *in_keys[] = {"data"};
  CHECK_OK(AxSymbolCreateOp(op("FullyConnected"), "fc", 2, keys, vals, 1, in_keys, &data, &fc));
  CHECK_OK(AxSymbolCreateOp(op("tanh"), "act", 0, NULL, NULL, 1, NULL, &fc, &out));
  AxSymbolFree(data);
  AxSymbolFree(fc);
  return out;
}

static void test_listing_and_inference(void) {
  AxSymbolHandle net = small_net(), internals = NULL, again = NULL;
  int n = 0, complete = -1, success = -1;
  const char **names = NULL;
  const char *json = NULL, *name = NULL;
  const char *keys[] = {"data"};
  const int ind[] = {0, 2};
  const int64_t dims[] = {3, 4};
  int na = 0, no = 0, nx = 0;
  const int *nda = NULL, *ndo = NULL, *ndx = NULL;
  const int64_t *const *da = NULL, *const *dout = NULL, *const *dx = NULL;

  CHECK_OK(AxSymbolListNames(net, AX_SYM_ARGUMENTS, &n, &names));
  CHECK(n == 2 && strcmp(names[0], "data") == 0 && strcmp(names[1], "fc_weight") == 0);
  CHECK_OK(AxSymbolListNames(net, AX_SYM_OUTPUTS, &n, &names));
  CHECK(n == 1 && strcmp(names[0], "act_output") == 0);
  CHECK_OK(AxSymbolListNames(net, AX_SYM_AUX_STATES, &n, &names));
  CHECK(n == 0);
  CHECK_OK(AxSymbolGetName(net, &name, &success));
  CHECK(success == 1 && strcmp(name, "act") == 0);
  CHECK_OK(AxSymbolGetInternals(net, &internals));
  CHECK_OK(AxSymbolGetNumOutputs(internals, &n));
  CHECK(n == 4);

  CHECK_OK(AxSymbolInferShape(net, 1, keys, ind, dims, &na, &nda, &da, &no, &ndo, &dout, &nx, &ndx, &dx, &complete));
  CHECK(complete == 1 && na == 2 && no == 1 && nx == 0);
  CHECK(nda[1] == 2 && da[1][0] == 2 && da[1][1] == 4); /* fc_weight (2, 4) */
  CHECK(ndo[0] == 2 && dout[0][0] == 3 && dout[0][1] == 2);
  /* nothing known: partial result, unknown ndim is -1 */
  CHECK_OK(AxSymbolInferShape(net, 0, NULL, NULL, NULL, &na, &nda, &da, &no, &ndo, &dout, &nx, &ndx, &dx, &complete));
  CHECK(complete == 0 && nda[0] == -1);
  {
    const int64_t bad[] = {3, 4, 2, 5};
    const char *k2[] = {"data", "fc_weight"};
    const int ind2[] = {0, 2, 4};
    CHECK_ERR(AxSymbolInferShape(net, 2, k2, ind2, bad, &na, &nda, &da, &no, &ndo, &dout, &nx, &ndx, &dx, &complete),
              AX_ERR_SHAPE, "FullyConnected(fc)");
    CHECK_ERR(AxSymbolInferShape(net, 1, keys, ind, dims, &na, &nda, &da, &no, &ndo, &dout, &nx, &ndx, &dx, NULL),
              AX_ERR_INVALID_ARGUMENT, "NULL");
  }

  CHECK_OK(AxSymbolSaveToJSON(net, &json));
  CHECK(strstr(json, "\"op\": \"FullyConnected\"") != NULL);
  CHECK_OK(AxSymbolCreateFromJSON(json, &again));
  CHECK_OK(AxSymbolListNames(again, AX_SYM_ARGUMENTS, &n, &names));
  CHECK(n == 2 && strcmp(names[1], "fc_weight") == 0);
  CHECK_ERR(AxSymbolCreateFromJSON("{\"nodes\": [", &again), AX_ERR_IO, "malformed JSON");
  CHECK_ERR(AxSymbolCreateFromFile("/nonexistent/x-symbol.json", &again), AX_ERR_IO, "cannot open");

  AxSymbolFree(again);
  AxSymbolFree(internals);
  AxSymbolFree(net);
}

static void test_bind_forward_backward(void) {
  AxSymbolHandle net = small_net();
  const int64_t xs[] = {3, 4}, ws[] = {2, 4};
  float x[12], w[8], out[6], gx[12], gw[8], ones[6];
  AxNDArrayHandle args[2], grads[2], head = NULL, *outs = NULL;
  const int reqs[] = {AX_GRAD_WRITE, AX_GRAD_WRITE};
  AxExecutorHandle ex = NULL;
  int i, j, k, n = 0, ok = 1;
  int64_t planned = -1, naive = -1;
  const char *dbg = NULL;
  const int64_t hs[] = {3, 2};

  for (i = 0; i < 12; ++i) x[i] = (float)(i % 5) * 0.1f - 0.2f;
  for (i = 0; i < 8; ++i) w[i] = (float)(i % 3) * 0.3f - 0.25f;
  for (i = 0; i < 6; ++i) ones[i] = 1.0f;
  args[0] = make_f32(xs, 2, x);
  args[1] = make_f32(ws, 2, w);
  grads[0] = make_f32(xs, 2, NULL);
  grads[1] = make_f32(ws, 2, NULL);
  head = make_f32(hs, 2, ones);

  CHECK_OK(AxExecutorBind(net, AX_CPU, 0, 2, args, grads, reqs, 0, NULL, NULL, &ex));
  CHECK_OK(AxExecutorForward(ex, 1));
  CHECK_OK(AxExecutorOutputs(ex, &n, &outs));
  CHECK(n == 1);
  CHECK_OK(read_f32(outs[0], out, 6));
  for (i = 0; i < 3; ++i)
    for (j = 0; j < 2; ++j) {
      double z = 0;
      for (k = 0; k < 4; ++k) z += (double)x[i * 4 + k] * w[j * 4 + k];
      ok &= fabs(out[i * 2 + j] - tanh(z)) < 1e-5;
    }
  CHECK(ok);
  /* tanh is not a loss: backward needs a head gradient */
  CHECK_ERR(AxExecutorBackward(ex, 0, NULL), AX_ERR_INVALID_ARGUMENT, "head gradient is required");
  CHECK_OK(AxExecutorBackward(ex, 1, &head));
  CHECK_OK(read_f32(grads[0], gx, 12));
  CHECK_OK(read_f32(grads[1], gw, 8));
  ok = 1;
  for (i = 0; i < 3; ++i)
    for (k = 0; k < 4; ++k) {
      double g = 0;
      for (j = 0; j < 2; ++j) g += (1.0 - (double)out[i * 2 + j] * out[i * 2 + j]) * w[j * 4 + k];
      ok &= fabs(gx[i * 4 + k] - g) < 1e-5;
    }
  CHECK(ok);
  ok = 1;
  for (j = 0; j < 2; ++j)
    for (k = 0; k < 4; ++k) {
      double g = 0;
      for (i = 0; i < 3; ++i) g += (1.0 - (double)out[i * 2 + j] * out[i * 2 + j]) * x[i * 4 + k];
      ok &= fabs(gw[j * 4 + k] - g) < 1e-5;
    }
  CHECK(ok);
  CHECK_OK(AxExecutorMemoryPlan(ex, &planned, &naive, NULL, NULL, NULL));
  CHECK(planned > 0 && planned <= naive);
  CHECK_OK(AxExecutorPrint(ex, &dbg));
  CHECK(strstr(dbg, "Total ") != NULL && strstr(dbg, "Op:FullyConnected, Name=fc") != NULL);

  /* bad binds */
  CHECK_ERR(AxExecutorBind(net, AX_CPU, 0, 1, args, NULL, NULL, 0, NULL, NULL, &ex), AX_ERR_INVALID_ARGUMENT,
            "has 2 arguments (data, fc_weight), got 1");
  {
    AxNDArrayHandle swapped[2];
    AxExecutorHandle bad = NULL;
    swapped[0] = args[1];
    swapped[1] = args[0];
    CHECK_ERR(AxExecutorBind(net, AX_CPU, 0, 2, swapped, NULL, NULL, 0, NULL, NULL, &bad), AX_ERR_SHAPE,
              "FullyConnected(fc)");
    CHECK(bad == NULL);
  }

  for (i = 0; i < n; ++i) AxNDArrayFree(outs[i]);
  AxExecutorFree(ex);
  /* dead handles are errors, not crashes */
  CHECK_ERR(AxExecutorForward(ex, 0), AX_ERR_INVALID_HANDLE, "not a live Executor handle");
  AxExecutorFree(ex);
  CHECK(strstr(AxGetLastError(), "freed twice") != NULL);
  AxSymbolFree(net);
  CHECK_ERR(AxSymbolListNames(net, AX_SYM_ARGUMENTS, &n, (const char ***)&outs), AX_ERR_INVALID_HANDLE,
            "not a live Symbol handle");
  CHECK_ERR(AxExecutorBind((AxSymbolHandle)args[0], AX_CPU, 0, 0, NULL, NULL, NULL, 0, NULL, NULL, &ex),
            AX_ERR_INVALID_HANDLE, "is a NDArray handle, expected Symbol");
  for (i = 0; i < 2; ++i) {
    AxNDArrayFree(args[i]);
    AxNDArrayFree(grads[i]);
  }
  AxNDArrayFree(head);
}

static void test_null_arguments(void) {
  AxSymbolHandle s = NULL;
  CHECK_ERR(AxSymbolCreateVariable(NULL, 0, NULL, NULL, &s), AX_ERR_INVALID_ARGUMENT, "name");
  CHECK_ERR(AxSymbolCreateVariable("x", 0, NULL, NULL, NULL), AX_ERR_INVALID_ARGUMENT, "out");
  CHECK_ERR(AxSymbolCreateVariable("", 0, NULL, NULL, &s), AX_ERR_INVALID_ARGUMENT, "empty");
  CHECK_ERR(AxSymbolCreateOp(NULL, "n", 0, NULL, NULL, 0, NULL, NULL, &s), AX_ERR_INVALID_ARGUMENT, "NULL");
  CHECK_ERR(AxSymbolCreateFromJSON(NULL, &s), AX_ERR_INVALID_ARGUMENT, "json");
  CHECK_ERR(AxSymbolGroup(0, NULL, &s), AX_ERR_INVALID_ARGUMENT, "at least one");
  CHECK(s == NULL);
  AxSymbolFree(NULL);
  AxExecutorFree(NULL);
}

int main(void) {
  int64_t baseline = live_handles();
  test_listing_and_inference();
  test_bind_forward_backward();
  test_null_arguments();
  CHECK_OK(AxEngineWaitAll());
  CHECK(live_handles() == baseline);
  printf("%d passed, %d failed\n", g_pass, g_fail);
  return g_fail ? 1 : 0;
}
