/* The continuous scheme against independent references (docs/model.md
   section 2):
   - linear closed form: a(T) = e^{TM} x + (int_0^T e^{sM} ds) b, M = W - Gamma,
     and log|det| = T tr M, with the exponential computed here (scaling and
     squaring of the augmented matrix [[TM, Tb], [0, 0]]);
   - adaptive Dormand-Prince and many fixed RK4 steps agree (tanh);
   - sync with the trace log-det converges to it at first order in h;
   - the round trip forward(inverse(z)) = z;
   - bad options fail with an error on every rank. */
#include "tn_test.h"
#include <tenor/dyn.h>
#include <tenor/sample.h>

#define NMAX TN_TEST_NMAX

typedef TnTestModel Model;

/* log Phi of samples x[b][i] and a_K (natural order, on every rank). */
static PetscErrorCode Run(TnDyn dyn, PetscInt N, PetscInt B, PetscReal x[][NMAX], PetscReal *logphi, PetscReal aK[][NMAX])
{
  return TnTestEvaluate(dyn, N, B, NMAX, &x[0][0], logphi, aK ? &aK[0][0] : NULL);
}

#define MS (NMAX + 1) /* the augmented matrices of the exponential */

static PetscReal BaseLogP(PetscInt N, const PetscReal *a)
{
  PetscReal s = 0;
  for (PetscInt i = 0; i < N; i++) s += TnBaseLogDensity(TN_BASE_NORMAL, a[i]);
  return s;
}

static PetscErrorCode Continuous(TnNet net, TnForm form, TnAct act, PetscReal T, PetscInt K, PetscBool adapt, PetscReal rtol, PetscInt B, TnDyn *dyn)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynCreate(net, dyn));
  PetscCall(TnDynSetScheme(*dyn, TN_SCHEME_CONTINUOUS));
  PetscCall(TnDynSetForm(*dyn, form));
  PetscCall(TnDynSetActivation(*dyn, act));
  PetscCall(TnDynSetSteps(*dyn, K));
  PetscCall(TnDynSetFinalTime(*dyn, T));
  PetscCall(TnDynSetAdaptive(*dyn, adapt));
  PetscCall(TnDynSetTolerances(*dyn, rtol, 1e-3 * rtol));
  PetscCall(TnDynSetBatchSize(*dyn, B));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Linear closed form, both forms (linear phi: rate and current are the same
   field (W - Gamma) a + b), several report intervals. */
static void test_linear(void)
{
  for (int form = 0; form < 2; form++) {
    Model     m;
    TnNet     net;
    TnDyn     dyn;
    PetscInt  N = 9, B = 3, K = 3;
    PetscReal T = 1.3, x[3][NMAX], aK[3][NMAX], lp[3], A[MS][MS] = {{0}}, E[MS][MS], tr = 0;
    TnTestModelRandomDense(&m, N, 0.5, PETSC_FALSE, 0.6, 21 + form);
    for (PetscInt b = 0; b < B; b++)
      for (PetscInt i = 0; i < N; i++) x[b][i] = TnRandNormal(7, b, i);
    for (PetscInt i = 0; i < N; i++) {
      for (PetscInt j = 0; j < N; j++) A[i][j] = T * (m.W[i][j] - (i == j) * m.g[i]);
      A[i][N] = T * m.b[i];
      tr += A[i][i];
    }
    TnTestExpm(N + 1, MS, &A[0][0], &E[0][0]); /* E = [[e^{TM}, (int_0^T e^{sM} ds) b], [0, 1]] */
    TN_ASSERT_OK(TnTestModelNet(&m, &net));
    TN_ASSERT_OK(Continuous(net, (TnForm)form, TN_ACT_LINEAR, T, K, PETSC_TRUE, 1e-12, B, &dyn));
    TN_ASSERT_OK(Run(dyn, N, B, x, lp, aK));
    for (PetscInt b = 0; b < B; b++) {
      PetscReal a[NMAX];
      for (PetscInt i = 0; i < N; i++) {
        a[i] = E[i][N];
        for (PetscInt j = 0; j < N; j++) a[i] += E[i][j] * x[b][j];
        TN_ASSERT_CLOSE(aK[b][i], a[i], 1e-9);
      }
      TN_ASSERT_CLOSE(lp[b], BaseLogP(N, a) + tr, 1e-9);
    }
    TnDynDestroy(&dyn);
    TnNetDestroy(&net);
  }
}

/* tanh: the adaptive pair at rtol 1e-12 and 2000 fixed RK4 steps agree. */
static void test_tanh_methods(void)
{
  for (int form = 0; form < 2; form++) {
    Model     m;
    TnNet     net;
    TnDyn     d1, d2;
    PetscInt  N = 10, B = 2;
    PetscReal x[2][NMAX], l1[2], l2[2], a1[2][NMAX], a2[2][NMAX];
    TnTestModelRandomDense(&m, N, 0.4, PETSC_FALSE, 1.5, 31 + form);
    for (PetscInt b = 0; b < B; b++)
      for (PetscInt i = 0; i < N; i++) x[b][i] = 1.5 * TnRandNormal(8, b, i);
    TN_ASSERT_OK(TnTestModelNet(&m, &net));
    TN_ASSERT_OK(Continuous(net, (TnForm)form, TN_ACT_TANH, 2.0, 4, PETSC_TRUE, 1e-12, B, &d1));
    TN_ASSERT_OK(Run(d1, N, B, x, l1, a1));
    TnDynDestroy(&d1);
    TN_ASSERT_OK(Continuous(net, (TnForm)form, TN_ACT_TANH, 2.0, 2000, PETSC_FALSE, 1e-12, B, &d2));
    TN_ASSERT_OK(Run(d2, N, B, x, l2, a2));
    TnDynDestroy(&d2);
    for (PetscInt b = 0; b < B; b++) {
      TN_ASSERT_CLOSE(l1[b], l2[b], 1e-10);
      for (PetscInt i = 0; i < N; i++) TN_ASSERT_CLOSE(a1[b][i], a2[b][i], 1e-10);
    }
    TnNetDestroy(&net);
  }
}

/* sync + trace -> continuous at first order: the error at h and h/2 halves
   (their ratio is 2 + O(h)). */
static void test_sync_converges(void)
{
  Model     m;
  TnNet     net;
  TnDyn     dyn;
  PetscInt  N = 10, B = 2;
  PetscReal T = 1.0, x[2][NMAX], lc[2], err[3], hs[3] = {0.02, 0.01, 0.005};
  TnTestModelRandomDense(&m, N, 0.4, PETSC_FALSE, 1.0, 41);
  for (PetscInt b = 0; b < B; b++)
    for (PetscInt i = 0; i < N; i++) x[b][i] = TnRandNormal(9, b, i);
  TN_ASSERT_OK(TnTestModelNet(&m, &net));
  TN_ASSERT_OK(Continuous(net, TN_FORM_RATE, TN_ACT_TANH, T, 1, PETSC_TRUE, 1e-12, B, &dyn));
  TN_ASSERT_OK(Run(dyn, N, B, x, lc, NULL));
  TnDynDestroy(&dyn);
  for (int q = 0; q < 3; q++) {
    PetscReal ls[2];
    TN_ASSERT_OK(TnDynCreate(net, &dyn));
    TN_ASSERT_OK(TnDynSetLogDetType(dyn, TN_LOGDET_TRACE));
    TN_ASSERT_OK(TnDynSetStepSize(dyn, hs[q]));
    TN_ASSERT_OK(TnDynSetSteps(dyn, (PetscInt)(T / hs[q] + 0.5)));
    TN_ASSERT_OK(TnDynSetBatchSize(dyn, B));
    TN_ASSERT_OK(Run(dyn, N, B, x, ls, NULL));
    err[q] = fabs(ls[0] - lc[0]);
    TnDynDestroy(&dyn);
  }
  for (int q = 0; q < 2; q++) {
    PetscReal order = log(err[q] / err[q + 1]) / log(2.0);
    if (!(fabs(order - 1) < 0.1)) fprintf(stderr, "sync -> continuous: errors %g %g %g, observed order %g\n", err[0], err[1], err[2], order);
    CU_ASSERT(fabs(order - 1) < 0.1);
  }
  TnNetDestroy(&net);
}

/* x = inverse(z), then forward(x) = z within the tolerance. */
static void test_round_trip(void)
{
  Model     m;
  TnNet     net;
  TnDyn     dyn;
  TnSampler s;
  Vec       z, x;
  PetscInt  N = 12;
  PetscReal d;
  TnTestModelRandomDense(&m, N, 0.4, PETSC_FALSE, 1.2, 51);
  TN_ASSERT_OK(TnTestModelNet(&m, &net));
  TN_ASSERT_OK(Continuous(net, TN_FORM_RATE, TN_ACT_TANH, 1.5, 3, PETSC_TRUE, 1e-11, 4, &dyn));
  TN_ASSERT_OK(TnSamplerCreate(dyn, &s));
  TN_ASSERT_OK(TnDynCreateState(dyn, &z));
  TN_ASSERT_OK(VecDuplicate(z, &x));
  TN_ASSERT_OK(TnSamplerDrawBase(s, 0, z));
  TN_ASSERT_OK(VecCopy(z, x));
  TN_ASSERT_OK(TnSamplerInvert(s, x));
  {
    TnDynResult res;
    TN_ASSERT_OK(TnDynResultCreate(dyn, &res));
    TN_ASSERT_OK(TnDynEvaluate(dyn, x, &res));
    TN_ASSERT_OK(TnDynResultDestroy(&res));
  }
  TN_ASSERT_OK(VecAXPY(x, -1.0, z));
  TN_ASSERT_OK(VecNorm(x, NORM_INFINITY, &d));
  if (!(d < 1e-8)) fprintf(stderr, "continuous round trip: %g\n", d);
  CU_ASSERT(d < 1e-8);
  VecDestroy(&x);
  VecDestroy(&z);
  TnSamplerDestroy(&s);
  TnDynDestroy(&dyn);
  TnNetDestroy(&net);
}

static PetscErrorCode BadSetUp(PetscReal rtol, PetscReal atol, PetscReal T)
{
  Model m;
  TnNet net;
  TnDyn dyn;
  PetscFunctionBeginUser;
  TnTestModelRandomDense(&m, 4, 0.5, PETSC_FALSE, 0.5, 61);
  PetscCall(TnTestModelNet(&m, &net));
  PetscCall(TnDynCreate(net, &dyn));
  PetscCall(TnDynSetScheme(dyn, TN_SCHEME_CONTINUOUS));
  PetscCall(TnDynSetTolerances(dyn, rtol, atol));
  if (T != 0) PetscCall(TnDynSetFinalTime(dyn, T));
  PetscCall(TnDynSetUp(dyn));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_bad_options(void)
{
  TN_ASSERT_OK(BadSetUp(1e-6, 1e-9, 1.0));
  TN_ASSERT_FAILS(BadSetUp(0, 1e-9, 1.0));
  TN_ASSERT_FAILS(BadSetUp(-1e-6, 1e-9, 1.0));
  TN_ASSERT_FAILS(BadSetUp(1e-6, -1, 1.0));
  TN_ASSERT_FAILS(BadSetUp(1e-6, 1e-9, -1.0));
  TN_ASSERT_FAILS(BadSetUp(1e-6, 1e-9, NAN));
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("continuous", NULL, NULL);
  CU_add_test(s, "linear closed form", test_linear);
  CU_add_test(s, "tanh: adaptive = fixed RK4", test_tanh_methods);
  CU_add_test(s, "sync + trace converges at first order", test_sync_converges);
  CU_add_test(s, "round trip", test_round_trip);
  CU_add_test(s, "bad options", test_bad_options);
}
