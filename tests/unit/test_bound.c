/* The sync invertibility bound's Lanczos certificate of |W|_2 (bound.c,
   docs/model.md section 5) on a W with known norm: blocks
   s_i [[1, -1], [1, 1]] / sqrt(2) on nodes (i, i + N/2), s_i from 0.5 c to c,
   so |W|_2 = c exactly while sqrt(|W|_1 |W|_inf) = sqrt(2) c; gamma = 1.
   - the certificate lies in [c, c / sqrt(1 - eps) (1 + 1e-7)] for several
     step counts and failure probabilities, never below c;
   - h = 0.45: the cheap bound (0.45 (1 + 1.414) = 1.09) refuses, the true
     condition (0.9) holds and auto and lanczos accept it;
   - a trial near W is accepted through the drift bound; parameters moved
     to -W (drift 2 sqrt(2) c) fail the drift bound and get a new
     certificate, which accepts them;
   - bad options are refused. Every rank count. */
#include "tn_test.h"
#include <tenor/dyn.h>

#define NB 48

static PetscErrorCode KnownNet(PetscReal c, TnNet *net)
{
  static PetscReal W[NB][NB], b[NB], g[NB];
  static PetscBool P[NB][NB];
  const PetscInt   n = NB / 2;
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < NB; i++) {
    b[i] = 0.1 * TnRandNormal(5, 1, i);
    g[i] = 1.0;
    for (PetscInt j = 0; j < NB; j++) {
      W[i][j] = 0;
      P[i][j] = PETSC_FALSE;
    }
  }
  for (PetscInt i = 0; i < n; i++) {
    PetscReal s = c * (0.5 + 0.5 * (PetscReal)((i * 7) % n) / (n - 1)) / PetscSqrtReal(2.0); /* the largest block is in the middle */
    W[i][i] = s, W[i][i + n] = -s, W[i + n][i] = s, W[i + n][i + n] = s;
    P[i][i] = P[i][i + n] = P[i + n][i] = P[i + n][i + n] = PETSC_TRUE;
  }
  PetscCall(TnTestNetFromDense(NB, NB, &W[0][0], &P[0][0], b, g, net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Sets up sync dynamics with h and the options; *w = the |W|_2 bound used
   (value / h - max gamma), or -1 when SetUp fails (refused); an error for
   bad options. */
static PetscErrorCode Certificate(PetscReal c, PetscReal h, const char opts[], PetscReal *w)
{
  TnNet          net;
  TnDyn          dyn;
  PetscErrorCode ierr;
  PetscReal      v;
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsInsertString(NULL, opts));
  PetscCall(KnownNet(c, &net));
  PetscCall(TnDynCreate(net, &dyn));
  ierr = TnDynSetFromOptions(dyn);
  if (!ierr) ierr = TnDynSetStepSize(dyn, h);
  *w = -1;
  if (!ierr && !TnDynSetUp(dyn)) {
    PetscCall(TnDynGetInvertibility(dyn, &v, NULL));
    *w = v / h - 1.0;
  }
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscCall(PetscOptionsClearValue(NULL, "-dyn_bound_norm"));
  PetscCall(PetscOptionsClearValue(NULL, "-dyn_bound_lanczos_steps"));
  PetscCall(PetscOptionsClearValue(NULL, "-dyn_bound_delta"));
  return ierr;
}

static PetscReal Eps(PetscInt k, PetscReal delta)
{
  PetscReal s = PetscLogReal(1.648 * PetscSqrtReal((PetscReal)NB) / delta) / (2.0 * (k - 1) - 1.0);
  return s * s;
}

static void test_known_norm(void)
{
  const PetscInt  ks[]     = {8, 12, 24, 64};
  const PetscReal deltas[] = {0.1, 1e-3, 1e-12, 1e-12};
  const PetscReal c        = 1.3;
  for (int t = 0; t < 4; t++) {
    char      opts[128];
    PetscReal w, hi = c / PetscSqrtReal(1 - Eps(ks[t], deltas[t])) * (1 + 1e-7);
    PetscSNPrintf(opts, sizeof(opts), "-dyn_bound_norm lanczos -dyn_bound_lanczos_steps %d -dyn_bound_delta %g", (int)ks[t], (double)deltas[t]);
    TN_ASSERT_OK(Certificate(c, 0.1, opts, &w));
    if (!(w >= c * (1 - 1e-12) && w <= hi)) fprintf(stderr, "k %d delta %g: certificate %.10g, |W|_2 = %g, allowed up to %.10g\n", (int)ks[t], (double)deltas[t], (double)w, (double)c, (double)hi);
    CU_ASSERT(w >= c * (1 - 1e-12) && w <= hi);
    PetscPrintf(PETSC_COMM_WORLD, "  k %2d, delta %g: |W|_2 = %g <= certificate %.8g <= c / sqrt(1 - eps) = %.8g\n", (int)ks[t], (double)deltas[t], (double)c, (double)w, (double)(hi / (1 + 1e-7)));
  }
}

static void test_cheap_refuses_true_accepts(void)
{
  PetscReal w;
  TN_ASSERT_OK(Certificate(1.0, 0.45, "-dyn_bound_norm cheap", &w));
  CU_ASSERT(w < 0); /* 0.45 (1 + sqrt(2)) = 1.086: refused */
  TN_ASSERT_OK(Certificate(1.0, 0.45, "", &w));
  CU_ASSERT(w >= 1.0 && w < 1.05); /* auto: the certificate, 0.45 (1 + w) < 1 */
  TN_ASSERT_OK(Certificate(1.0, 0.45, "-dyn_bound_norm lanczos", &w));
  CU_ASSERT(w >= 1.0 && w < 1.05);
  TN_ASSERT_OK(Certificate(1.0, 0.3, "", &w)); /* auto, the cheap bound certifies: no Lanczos */
  TN_ASSERT_CLOSE(w, PetscSqrtReal(2.0), 1e-12);
}

static void test_trial_and_recertify(void)
{
  TnNet         net;
  TnDyn         dyn;
  TnDynBound    bnd;
  TnParamLayout L;
  PetscScalar  *par, *d;
  PetscReal     v0, v;
  const char   *what;
  TN_ASSERT_OK(KnownNet(1.0, &net));
  TN_ASSERT_OK(TnDynCreate(net, &dyn));
  TN_ASSERT_OK(TnDynSetStepSize(dyn, 0.45));
  TN_ASSERT_OK(TnDynSetUp(dyn));
  TN_ASSERT_OK(TnDynGetInvertibility(dyn, &v0, &what));
  CU_ASSERT(strstr(what, "Lanczos certificate") != NULL);
  TN_ASSERT_OK(TnNetGetParamLayout(net, &L));
  TN_ASSERT_OK(TnNetGetParamArray(net, &par, NULL));
  TN_ASSERT_OK(PetscCalloc1(L.n + 1, &d));
  for (PetscInt t = 0; t < L.nd + L.no; t++) d[t] = par[t];
  /* a small trial (W -> 1.001 W): accepted, its bound the certificate plus a drift of 0.001 sqrt(2) */
  TN_ASSERT_OK(TnDynCheckBound(dyn, par, d, 1e-3, &bnd));
  CU_ASSERT(bnd.ok);
  TN_ASSERT_CLOSE(bnd.value, v0 + 0.45 * 1e-3 * PetscSqrtReal(2.0), 1e-9);
  /* W -> -W: the drift bound fails, a new certificate of -W accepts it */
  TN_ASSERT_OK(TnNetSetParams(net, d, -2.0, PETSC_TRUE));
  TN_ASSERT_OK(TnDynCheckInvertible(dyn));
  TN_ASSERT_OK(TnDynGetInvertibility(dyn, &v, NULL));
  CU_ASSERT(v / 0.45 - 1 >= 1.0 && v < 1);
  PetscFree(d);
  TnDynDestroy(&dyn);
  TnNetDestroy(&net);
}

static void test_bad_options(void)
{
  PetscReal w;
  TN_ASSERT_FAILS(Certificate(1.0, 0.1, "-dyn_bound_lanczos_steps 1", &w));
  TN_ASSERT_FAILS(Certificate(1.0, 0.1, "-dyn_bound_delta 0", &w));
  TN_ASSERT_FAILS(Certificate(1.0, 0.1, "-dyn_bound_delta 1", &w));
  TN_ASSERT_FAILS(Certificate(1.0, 0.1, "-dyn_bound_norm sharp", &w));
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("bound", NULL, NULL);
  CU_add_test(s, "Lanczos certificate of a known |W|_2", test_known_norm);
  CU_add_test(s, "cheap refuses, the certificate accepts", test_cheap_refuses_true_accepts);
  CU_add_test(s, "trial via drift, re-certification", test_trial_and_recertify);
  CU_add_test(s, "bad options", test_bad_options);
}
