/* The integral of Phi (tenor/norm.h) against known answers (docs/normalization.md):
   - colored with diag is exact: the integral is 1 (N = 2, 3, tanh, random W
     with self-loops), with the automatic box and a given one;
   - linear sync: Phi_local = Phi_exact e^{K (local - log det M)} with the
     closed-form 2x2 / 3x3 det M, so the grid must give that factor for diag
     and trace; sync with the exact dense log-det integrates to 1 (skipped
     with a message while the dense method is not built);
   - tanh sync with trace and diag over-states the density by an amount that
     grows with h (W with positive reciprocal products, so diag errs upward);
   - importance sampling of a normalised Gaussian Phi at N = 20 is within 3
     standard errors of 1, and agrees with the grid at N = 2;
   - a grid that is too large, or too slow, is refused on every rank. */
#include "tn_test.h"
#include <tenor/norm.h>

/* A net from the full generator: random W (scale g) with self-loops. */
static PetscErrorCode FullNet(PetscInt N, PetscReal g, TnNet *net)
{
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(PETSC_COMM_WORLD, net));
  PetscCall(TnNetSetType(*net, TNNET_FULL));
  PetscCall(TnNetSetSize(*net, N));
  PetscCall(TnNetSetWeightScale(*net, g));
  PetscCall(TnNetSetSelfLoops(*net, PETSC_TRUE));
  PetscCall(TnNetSetSeed(*net, 3));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A net with the given dense W (row-major N x N, zeros off the pattern),
   zero bias and leak 1. */
static PetscErrorCode DenseNet(PetscInt N, const PetscReal *W, TnNet *net)
{
  Mat      A;
  PetscInt rs, re;
  PetscFunctionBeginUser;
  PetscCall(MatCreateAIJ(PETSC_COMM_WORLD, PETSC_DECIDE, PETSC_DECIDE, N, N, N, NULL, N, NULL, &A));
  PetscCall(MatGetOwnershipRange(A, &rs, &re));
  for (PetscInt i = rs; i < re; i++)
    for (PetscInt j = 0; j < N; j++)
      if (W[i * N + j] != 0 || i == j) PetscCall(MatSetValue(A, i, j, W[i * N + j], INSERT_VALUES));
  PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
  PetscCall(TnNetCreate(PETSC_COMM_WORLD, net));
  PetscCall(TnNetSetBiasScale(*net, 0));
  PetscCall(TnNetSetParameters(*net, A, NULL, NULL));
  PetscCall(MatDestroy(&A));
  PetscFunctionReturn(PETSC_SUCCESS);
}

typedef struct {
  TnScheme     scheme;
  TnLogDetType ldt;
  TnAct        act;
  PetscReal    h;
  PetscInt     K;
} Config;

/* The integral for one configuration, batch 1024. */
static PetscErrorCode Integrate(TnNet net, Config c, const TnNormOptions *opt, TnNormResult *res)
{
  TnDyn          dyn;
  PetscErrorCode e;
  PetscFunctionBeginUser;
  PetscCall(TnDynCreate(net, &dyn));
  PetscCall(TnDynSetScheme(dyn, c.scheme));
  PetscCall(TnDynSetLogDetType(dyn, c.ldt));
  PetscCall(TnDynSetActivation(dyn, c.act));
  PetscCall(TnDynSetStepSize(dyn, c.h));
  PetscCall(TnDynSetSteps(dyn, c.K));
  PetscCall(TnDynSetBatchSize(dyn, 1024));
  e = TnNormIntegrate(dyn, opt, res); /* on failure too, release the net */
  PetscCall(TnDynDestroy(&dyn));
  PetscFunctionReturn(e);
}

/* A coarse grid: the trapezoid rule converges exponentially on these
   smooth, Gaussian-tailed Phi; n = 41 (N = 2) and 51 (N = 3) give ~1e-5. */
static TnNormOptions Coarse(PetscInt N, PetscReal L)
{
  TnNormOptions o;
  TnNormOptionsSetDefault(&o);
  o.method = TN_NORM_GRID;
  o.n      = N == 2 ? 41 : 51;
  o.L      = L;
  o.tol    = 1e-7;
  return o;
}

static void test_colored_is_one(void)
{
  TnNet         net;
  TnNormResult  r;
  TnNormOptions o = Coarse(2, 0);
  TN_ASSERT_OK(FullNet(2, 0.6, &net)); /* N = 2: the automatic box */
  TN_ASSERT_OK(Integrate(net, (Config){TN_SCHEME_COLORED, TN_LOGDET_DIAG, TN_ACT_TANH, 0.2, 5}, &o, &r));
  TN_ASSERT_CLOSE(r.integral, 1.0, 1e-4);
  CU_ASSERT(r.L_auto && r.L > 5 && r.L < 64 && r.box_steps >= 1);
  CU_ASSERT(r.truncation < 1e-6 && r.discretisation < 1e-2 && r.points == 41 * 41);
  o = Coarse(2, 20); /* a given box, K = 20 */
  TN_ASSERT_OK(Integrate(net, (Config){TN_SCHEME_COLORED, TN_LOGDET_DIAG, TN_ACT_TANH, 0.05, 20}, &o, &r));
  TN_ASSERT_CLOSE(r.integral, 1.0, 1e-4);
  CU_ASSERT(!r.L_auto && r.L == 20);
  TnNetDestroy(&net);
  o = Coarse(3, 18); /* N = 3 */
  TN_ASSERT_OK(FullNet(3, 0.4, &net));
  TN_ASSERT_OK(Integrate(net, (Config){TN_SCHEME_COLORED, TN_LOGDET_DIAG, TN_ACT_TANH, 0.2, 5}, &o, &r));
  TN_ASSERT_CLOSE(r.integral, 1.0, 1e-4);
  CU_ASSERT(r.points == 51 * 51 * 51 && r.truncation < 1e-6);
  TnNetDestroy(&net);
}

/* det of the N x N (N = 2, 3) matrix M = I + h (W - I), closed form. */
static PetscReal DetM(PetscInt N, const PetscReal *W, PetscReal h)
{
  PetscReal M[9];
  for (PetscInt i = 0; i < N; i++)
    for (PetscInt j = 0; j < N; j++) M[i * N + j] = (i == j) + h * (W[i * N + j] - (i == j));
  if (N == 2) return M[0] * M[3] - M[1] * M[2];
  return M[0] * (M[4] * M[8] - M[5] * M[7]) - M[1] * (M[3] * M[8] - M[5] * M[6]) + M[2] * (M[3] * M[7] - M[4] * M[6]);
}

static const PetscReal W2[4] = {0.3, 0.5, 0.4, -0.2};
static const PetscReal W3[9] = {0.3, 0.4, 0.2, 0.3, -0.2, 0.4, 0.25, 0.35, 0.1};

/* Linear sync: log Phi_local - log Phi_exact = K (local - log det M) is the
   same at every x, so the integral is exactly e^{K (local - log det M)}. */
static void test_linear_sync_closed_form(void)
{
  for (PetscInt N = 2; N <= 3; N++) {
    const PetscReal *W = N == 2 ? W2 : W3;
    PetscReal        h = 0.2, ldiag = 0, ltrace = 0, ldet;
    PetscInt         K = 5;
    TnNet            net;
    TnNormResult     r;
    TnNormOptions    o = Coarse(N, 0);
    ldet               = log(fabs(DetM(N, W, h)));
    for (PetscInt i = 0; i < N; i++) {
      ldiag += log(1 + h * (W[i * N + i] - 1));
      ltrace += h * (W[i * N + i] - 1);
    }
    TN_ASSERT_OK(DenseNet(N, W, &net));
    TN_ASSERT_OK(Integrate(net, (Config){TN_SCHEME_SYNC, TN_LOGDET_DIAG, TN_ACT_LINEAR, h, K}, &o, &r));
    TN_ASSERT_CLOSE(r.integral, exp(K * (ldiag - ldet)), 1e-6);
    TN_ASSERT_OK(Integrate(net, (Config){TN_SCHEME_SYNC, TN_LOGDET_TRACE, TN_ACT_LINEAR, h, K}, &o, &r));
    TN_ASSERT_CLOSE(r.integral, exp(K * (ltrace - ldet)), 1e-6);
    TnNetDestroy(&net);
  }
}

/* sync with the exact dense log-det: 1. The dense method runs once per
   point and step, so the grids are coarse: tanh at N = 2 (n = 31), and at
   N = 3 a linear network with antisymmetric W, whose Phi is a nearly
   isotropic Gaussian (M^T M = (1-h)^2 I + h^2 W^T W) that n = 13 resolves.
   Skipped, with a message, while the dense method refuses as not available. */
static void test_sync_exact_is_one(void)
{
  static const PetscReal Wa[9] = {0, 0.3, -0.2, -0.3, 0, 0.25, 0.2, -0.25, 0};
  for (PetscInt N = 2; N <= 3; N++) {
    TnNet          net;
    TnNormResult   r;
    TnNormOptions  o = Coarse(N, N == 2 ? 20 : 18);
    PetscErrorCode e;
    o.n = N == 2 ? 31 : 13;
    TN_ASSERT_OK(N == 2 ? FullNet(2, 0.6, &net) : DenseNet(3, Wa, &net));
    PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
    e = Integrate(net, (Config){TN_SCHEME_SYNC, TN_LOGDET_DENSE, N == 2 ? TN_ACT_TANH : TN_ACT_LINEAR, 0.2, 5}, &o, &r);
    PetscPopErrorHandler();
    if (e == PETSC_ERR_SUP) {
      PetscPrintf(PETSC_COMM_WORLD, "SKIPPED sync with -logdet_type dense (N = %d): the dense log-det is not available in this build\n", (int)N);
    } else {
      CU_ASSERT(e == 0);
      if (!e) TN_ASSERT_CLOSE(r.integral, 1.0, 1e-4);
    }
    TnNetDestroy(&net);
  }
}

/* Local log-dets on tanh sync: the integral exceeds 1 and grows with h
   (K = 1/h), by more than the error estimates. W has positive reciprocal
   products, so diag, which misses -h^2 A_12 A_21 < 0 per step, errs
   upward too, by less than trace. */
static void test_sync_local_grows_with_h(void)
{
  const PetscReal hs[3] = {0.05, 0.2, 0.5};
  for (PetscInt N = 2; N <= 3; N++) {
    TnNet     net;
    PetscReal V[2][3], E[2][3];
    TN_ASSERT_OK(DenseNet(N, N == 2 ? (PetscReal[]){0.2, 0.35, 0.3, -0.1} : (PetscReal[]){0.2, 0.25, 0.2, 0.2, -0.1, 0.25, 0.25, 0.2, 0.1}, &net));
    for (PetscInt m = 0; m < 2; m++)
      for (PetscInt k = 0; k < 3; k++) {
        TnNormResult  r;
        TnNormOptions o = Coarse(N, N == 2 ? 0 : 18);
        TN_ASSERT_OK(Integrate(net, (Config){TN_SCHEME_SYNC, m ? TN_LOGDET_DIAG : TN_LOGDET_TRACE, TN_ACT_TANH, hs[k], (PetscInt)(1 / hs[k] + 0.5)}, &o, &r));
        V[m][k] = r.integral;
        E[m][k] = r.error;
      }
    PetscPrintf(PETSC_COMM_WORLD, "  N = %d: trace %.6f %.6f %.6f, diag %.6f %.6f %.6f (h = 0.05, 0.2, 0.5)\n", (int)N, V[0][0], V[0][1], V[0][2], V[1][0], V[1][1], V[1][2]);
    for (PetscInt m = 0; m < 2; m++) {
      CU_ASSERT(V[m][0] - 1 > E[m][0]);
      for (PetscInt k = 0; k < 2; k++) CU_ASSERT(V[m][k + 1] - V[m][k] > E[m][k] + E[m][k + 1]);
    }
    CU_ASSERT(V[0][0] > 1.01 && V[0][2] < 5);     /* trace: percent to tens of percent */
    CU_ASSERT(V[1][0] > 1.0003 && V[1][2] < 1.2); /* diag: permille to percent */
    for (PetscInt k = 0; k < 3; k++) CU_ASSERT(V[1][k] < V[0][k]);
    TnNetDestroy(&net);
  }
}

/* A linear sync network whose W is triangular (plus self-loops): diag is
   the exact log-det, Phi is a normalised Gaussian. */
static void test_importance_sampling(void)
{
  PetscInt      N = 20;
  PetscReal     W[400];
  TnNet         net;
  TnNormResult  r, g;
  TnNormOptions o;
  for (PetscInt i = 0; i < N; i++)
    for (PetscInt j = 0; j < N; j++) W[i * N + j] = j > i && TnRandUniform(5, 0, i * N + j) < 0.3 ? 0.3 * (2 * TnRandUniform(5, 1, i * N + j) - 1) : (i == j ? 0.1 * TnRandNormal(5, 2, i) : 0);
  TN_ASSERT_OK(DenseNet(N, W, &net));
  TnNormOptionsSetDefault(&o);
  o.S = 20000;
  TN_ASSERT_OK(Integrate(net, (Config){TN_SCHEME_SYNC, TN_LOGDET_DIAG, TN_ACT_LINEAR, 0.1, 10}, &o, &r));
  PetscPrintf(PETSC_COMM_WORLD, "  importance sampling, N = 20: %.6f +- %.2g (sigma %.3g, ESS %.0f of %d)\n", r.integral, r.stderr_, r.sigma, r.ess, (int)r.S);
  CU_ASSERT(r.method == TN_NORM_IS);
  CU_ASSERT(fabs(r.integral - 1) < 3 * r.stderr_);
  CU_ASSERT(r.stderr_ > 0 && r.stderr_ < 0.05 && r.ess > 0.05 * r.S);
  TnNetDestroy(&net);
  /* N = 2, tanh sync trace (integral != 1): importance sampling agrees with the grid */
  TN_ASSERT_OK(FullNet(2, 0.6, &net));
  o.method = TN_NORM_IS;
  o.S      = 8192;
  TN_ASSERT_OK(Integrate(net, (Config){TN_SCHEME_SYNC, TN_LOGDET_TRACE, TN_ACT_TANH, 0.2, 5}, &o, &r));
  o = Coarse(2, 0);
  TN_ASSERT_OK(Integrate(net, (Config){TN_SCHEME_SYNC, TN_LOGDET_TRACE, TN_ACT_TANH, 0.2, 5}, &o, &g));
  CU_ASSERT(fabs(r.integral - g.integral) < 4 * r.stderr_);
  TnNetDestroy(&net);
}

static void test_refusals(void)
{
  TnNet         net;
  TnNormResult  r;
  TnNormOptions o = Coarse(3, 10);
  Config        c = {TN_SCHEME_COLORED, TN_LOGDET_DIAG, TN_ACT_TANH, 0.2, 5};
  TN_ASSERT_OK(FullNet(3, 0.6, &net));
  o.n = 1001; /* 1e9 points > 2e8 */
  TN_ASSERT_FAILS(Integrate(net, c, &o, &r));
  o.n = 40; /* even */
  TN_ASSERT_FAILS(Integrate(net, c, &o, &r));
  o.n           = 101;
  o.max_seconds = 1e-6; /* 1e6 points cannot take a microsecond */
  TN_ASSERT_FAILS(Integrate(net, c, &o, &r));
  TnNormOptionsSetDefault(&o);
  o.method = TN_NORM_IS;
  o.S      = 1;
  TN_ASSERT_FAILS(Integrate(net, c, &o, &r));
  TnNetDestroy(&net);
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("normcheck", NULL, NULL);
  CU_add_test(s, "colored with diag integrates to 1", test_colored_is_one);
  CU_add_test(s, "linear sync: closed-form integral", test_linear_sync_closed_form);
  CU_add_test(s, "sync with the exact log-det integrates to 1", test_sync_exact_is_one);
  CU_add_test(s, "sync with trace and diag over-states, growing with h", test_sync_local_grows_with_h);
  CU_add_test(s, "importance sampling", test_importance_sampling);
  CU_add_test(s, "refusals", test_refusals);
}
