/* Clamped nodes (docs/conditional.md): the conditional density of the free
   nodes F given the clamped ones C.
   - linear sync, the free block W_FF triangular (diag exact) and W_FC, W_CF
     dense: log Phi(t | x) against the closed-form conditional Gaussian
     N(t; mu, Sigma), Sigma = (A^T A)^{-1}, mu = -A^{-1}(B x_C + d), where
     a_K^F = A t + B x_C + d; evaluated by LAPACK (getrs, getri, potrf), to
     1e-10; the clamped values are held exactly; the per-node totals are 0
     on C and add up to the loss; the same with the exact global methods
     (dense, sparse) on a W_FF that is not triangular;
   - colored (diag exact for any W_FF): the same Gaussian through the
     product of the masked substeps, in the colouring's order;
   - continuous (Dormand-Prince at rtol 1e-12): the same Gaussian with
     T = e^{T M'} from a matrix exponential, to 1e-9;
   - every node clamped but one: the 1-D density of that node in closed form;
   - the integral of Phi(t | x) over t is 1 for N_F = 2 and 3 (normcheck's
     grid, x from a file; colored, continuous);
   - sampling t given x: the clamped columns are the given values, the
     round trip, and the free columns' mean and variance against the
     conditional Gaussian;
   - the invertibility and colouring checks consider only F (a clamped
     node's strong outgoing weights or large leak do not refuse the run; a
     full network's colouring has one colour per free node);
   - every check at 1-4 ranks with the default partitioner, against the same
     serial reference (rank and partition invariance);
   - a bad clamp set (out of range, listed twice, all nodes, not an integer,
     an unsupported scheme; in a file, a reversed, overlapping or too long
     range a-b) is refused on every rank, and a file of ranges is read. */
#include "tn_test.h"
#include <tenor/dyn.h>
#include <tenor/net.h>
#include <tenor/norm.h>
#include <tenor/sample.h>
#include <petscblaslapack.h>
#include <stdlib.h>

#define NMAX TN_TEST_NMAX

typedef TnTestModel Model;

/* Dense W (every entry), free block upper triangular in natural order when
   tri (then the diag log-det is exact). */
static void ModelClamped(Model *m, PetscInt N, const PetscBool *clamped, PetscBool tri, uint64_t seed)
{
  TnTestModelRandomDense(m, N, 1.0, PETSC_FALSE, 0.6 / PetscSqrtReal((PetscReal)N), seed);
  for (PetscInt i = 0; i < N; i++)
    for (PetscInt j = 0; j < i; j++)
      if (tri && !clamped[i] && !clamped[j]) m->W[i][j] = 0, m->P[i][j] = PETSC_FALSE;
}

/* The clamp set as an IS: rank 0 gives all of it. */
static PetscErrorCode SetClamp(TnDyn dyn, PetscInt N, const PetscBool *clamped)
{
  PetscMPIInt rank;
  PetscInt    idx[NMAX], n = 0;
  IS          is;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  for (PetscInt i = 0; i < N && !rank; i++)
    if (clamped[i]) idx[n++] = i;
  PetscCall(ISCreateGeneral(PETSC_COMM_WORLD, n, idx, PETSC_COPY_VALUES, &is));
  PetscCall(TnDynSetClamp(dyn, is));
  PetscCall(ISDestroy(&is));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The masked linear step a <- M' a + c' (M' = I + h(W - Gamma) with the
   clamped rows replaced by the identity's, c' = h b with them zero), K times:
   returns T = M'^K and e = sum_{k<K} M'^k c', so a_K = T x + e. colored
   (col != NULL): each step is the ncol substeps in colour order, substep c
   the same map on the rows of colour c only. */
static void Propagator(const Model *m, const PetscBool *clamped, PetscReal h, PetscInt K, const PetscInt *col, PetscInt ncol, PetscReal T[][NMAX], PetscReal *e)
{
  PetscInt  N = m->N;
  PetscReal M[NMAX][NMAX], c[NMAX], Tn[NMAX][NMAX], en[NMAX];
  for (PetscInt i = 0; i < N; i++) {
    e[i] = 0;
    for (PetscInt j = 0; j < N; j++) T[i][j] = (i == j);
  }
  for (PetscInt k = 0; k < K; k++)
    for (PetscInt cc = 0; cc < (col ? ncol : 1); cc++) {
      for (PetscInt i = 0; i < N; i++) {
        PetscBool moves = (PetscBool)(!clamped[i] && (!col || col[i] == cc));
        c[i]            = moves ? h * m->b[i] : 0;
        for (PetscInt j = 0; j < N; j++) M[i][j] = moves ? (i == j) + h * (m->W[i][j] - (i == j) * m->g[i]) : (PetscReal)(i == j);
      }
      for (PetscInt i = 0; i < N; i++) { /* T <- M T, e <- M e + c */
        en[i] = c[i];
        for (PetscInt j = 0; j < N; j++) {
          Tn[i][j] = 0;
          en[i] += M[i][j] * e[j];
          for (PetscInt l = 0; l < N; l++) Tn[i][j] += M[i][l] * T[l][j];
        }
      }
      for (PetscInt i = 0; i < N; i++) {
        e[i] = en[i];
        for (PetscInt j = 0; j < N; j++) T[i][j] = Tn[i][j];
      }
    }
}

#define MS (NMAX + 1) /* the augmented matrices of the exponential */

/* The continuous scheme's flow of the masked linear field
   da/dt = M'(a) = D_F ((W - Gamma) a + b) (D_F: 1 on the free rows) over
   [0, T]: a(T) = e^{T M'} x + (int_0^T e^{s M'} ds) b', read off the
   exponential of the augmented matrix T [[M', b'], [0, 0]]. */
static void Flow(const Model *m, const PetscBool *clamped, PetscReal Tf, PetscReal T[][NMAX], PetscReal *e)
{
  PetscInt  N = m->N;
  PetscReal A[MS][MS], E[MS][MS];
  for (PetscInt i = 0; i <= N; i++)
    for (PetscInt j = 0; j <= N; j++) A[i][j] = 0;
  for (PetscInt i = 0; i < N; i++) {
    if (clamped[i]) continue;
    for (PetscInt j = 0; j < N; j++) A[i][j] = Tf * (m->W[i][j] - (i == j) * m->g[i]);
    A[i][N] = Tf * m->b[i];
  }
  TnTestExpm(N + 1, MS, &A[0][0], &E[0][0]);
  for (PetscInt i = 0; i < N; i++) {
    e[i] = E[i][N];
    for (PetscInt j = 0; j < N; j++) T[i][j] = E[i][j];
  }
}

/* The colours of the nodes in natural order, on every rank. */
static PetscErrorCode GatherColors(TnNet net, TnDyn dyn, PetscInt N, PetscInt *col, PetscInt *ncol)
{
  const PetscInt *c, *nat;
  PetscInt        m, loc[NMAX];
  PetscFunctionBeginUser;
  PetscCall(TnDynGetColors(dyn, &c));
  PetscCall(TnDynGetNumColors(dyn, ncol));
  PetscCall(TnNetGetNatural(net, &nat));
  PetscCall(TnDynGetLocalSize(dyn, &m));
  for (PetscInt i = 0; i < N; i++) loc[i] = -1;
  for (PetscInt i = 0; i < m; i++) loc[nat[i]] = c[i];
  PetscCallMPI(MPI_Allreduce(loc, col, (int)N, MPIU_INT, MPI_MAX, PETSC_COMM_WORLD));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* log N(t; mu, Sigma) of the free values t = x_F given x_C, in closed form:
   a_K^F = A t + B x_C + d with A = T_FF, B = T_FC, d = e_F, so
   t ~ N(mu, Sigma), mu = -A^{-1}(B x_C + d), Sigma = (A^T A)^{-1}. mu by
   LU solve, Sigma by LU inverse of A^T A, then its Cholesky factor L:
   log N = -|L^{-1}(t - mu)|^2 / 2 - sum log L_ii - n/2 log 2 pi. */
static PetscReal ConditionalGaussian(PetscInt N, const PetscBool *clamped, PetscReal T[][NMAX], const PetscReal *e, const PetscReal *x, PetscReal *mu_out, PetscReal *var_out)
{
  PetscInt     F[NMAX], n = 0;
  PetscScalar  A[NMAX * NMAX], P[NMAX * NMAX], mu[NMAX], work[NMAX * NMAX];
  PetscBLASInt bn, one = 1, piv[NMAX], info, lw = NMAX * NMAX;
  PetscReal    z[NMAX], q = 0, ld = 0;
  for (PetscInt i = 0; i < N; i++)
    if (!clamped[i]) F[n++] = i;
  bn = (PetscBLASInt)n;
  for (PetscInt r = 0; r < n; r++) {
    mu[r] = -e[F[r]];
    for (PetscInt j = 0; j < N; j++)
      if (clamped[j]) mu[r] -= T[F[r]][j] * x[j];
    for (PetscInt s = 0; s < n; s++) A[s * n + r] = T[F[r]][F[s]]; /* column-major */
  }
  for (PetscInt r = 0; r < n; r++) /* P = A^T A */
    for (PetscInt s = 0; s < n; s++) {
      P[s * n + r] = 0;
      for (PetscInt l = 0; l < n; l++) P[s * n + r] += A[r * n + l] * A[s * n + l];
    }
  LAPACKgetrf_(&bn, &bn, A, &bn, piv, &info);
  LAPACKgetrs_("N", &bn, &one, A, &bn, piv, mu, &bn, &info);
  LAPACKgetrf_(&bn, &bn, P, &bn, piv, &info);
  LAPACKgetri_(&bn, P, &bn, piv, work, &lw, &info); /* Sigma */
  for (PetscInt r = 0; r < n; r++) {                /* moments of free node F[r] (sampling test) */
    if (mu_out) mu_out[r] = mu[r];
    if (var_out) var_out[r] = P[r * n + r];
  }
  LAPACKpotrf_("L", &bn, P, &bn, &info); /* Sigma = L L^T */
  for (PetscInt r = 0; r < n; r++) {     /* z = L^{-1}(t - mu) */
    z[r] = x[F[r]] - mu[r];
    for (PetscInt s = 0; s < r; s++) z[r] -= P[s * n + r] * z[s];
    z[r] /= P[r * n + r];
    q += z[r] * z[r];
    ld += PetscLogReal(P[r * n + r]);
  }
  return -0.5 * q - ld - 0.5 * n * PetscLogReal(2 * PETSC_PI);
}

static PetscErrorCode LinearDyn(const Model *m, TnLogDetType ldt, PetscReal h, PetscInt K, PetscInt B, TnNet *net, TnDyn *dyn)
{
  PetscFunctionBeginUser;
  PetscCall(TnTestModelNet(m, net));
  PetscCall(TnDynCreate(*net, dyn));
  PetscCall(TnDynSetActivation(*dyn, TN_ACT_LINEAR));
  PetscCall(TnDynSetLogDetType(*dyn, ldt));
  PetscCall(TnDynSetStepSize(*dyn, h));
  PetscCall(TnDynSetSteps(*dyn, K));
  PetscCall(TnDynSetBatchSize(*dyn, B));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The sum over nodes of the per-node totals, and the largest |total| on a
   clamped node. */
static PetscErrorCode NodeLossCheck(TnDyn dyn, PetscReal *sum, PetscReal *clampedmax)
{
  Vec              nl;
  const PetscReal *mask;
  const PetscReal *v;
  PetscInt         m;
  PetscFunctionBeginUser;
  PetscCall(TnDynGetNodeLoss(dyn, &nl));
  PetscCall(TnDynGetClamp(dyn, NULL, NULL, &mask));
  PetscCall(VecSum(nl, sum));
  PetscCall(VecGetLocalSize(nl, &m));
  PetscCall(VecGetArrayRead(nl, &v));
  *clampedmax = 0;
  for (PetscInt i = 0; i < m; i++)
    if (mask && mask[i] == 0) *clampedmax = PetscMax(*clampedmax, PetscAbsReal(v[i]));
  PetscCall(VecRestoreArrayRead(nl, &v));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, clampedmax, 1, MPIU_REAL, MPIU_MAX, PETSC_COMM_WORLD));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One configuration against the conditional Gaussian. */
static void CheckGaussian(PetscInt N, const PetscBool *clamped, PetscBool tri, TnScheme scheme, TnLogDetType ldt, uint64_t seed)
{
  const PetscInt  B = 3, K = 5;
  const PetscReal h = 0.1;
  Model           m;
  TnNet           net;
  TnDyn           dyn;
  PetscReal       x[3][NMAX], aK[3][NMAX], lp[3], T[NMAX][NMAX], e[NMAX], mean = 0;
  PetscInt        nc = 0, nf, col[NMAX], ncol = 0;
  PetscBool       colored = (PetscBool)!strcmp(scheme, TN_SCHEME_COLORED), cont = (PetscBool)!strcmp(scheme, TN_SCHEME_CONTINUOUS);
  ModelClamped(&m, N, clamped, tri, seed);
  for (PetscInt b = 0; b < B; b++)
    for (PetscInt i = 0; i < N; i++) x[b][i] = TnRandNormal(seed + 7, b, i);
  TN_ASSERT_OK(LinearDyn(&m, ldt, h, K, B, &net, &dyn));
  TN_ASSERT_OK(TnDynSetScheme(dyn, scheme));
  TN_ASSERT_OK(TnDynSetTolerances(dyn, 1e-12, 1e-14)); /* continuous: the integration error far below the test's 1e-9 */
  TN_ASSERT_OK(SetClamp(dyn, N, clamped));
  if (TnLogDetIsLocal(ldt)) TN_ASSERT_OK(TnDynSetNodeLoss(dyn, PETSC_TRUE));
  TN_ASSERT_OK(TnTestEvaluate(dyn, N, B, NMAX, &x[0][0], lp, &aK[0][0]));
  TN_ASSERT_OK(TnDynGetClamp(dyn, &nc, &nf, NULL));
  for (PetscInt i = 0; i < N; i++) nc -= clamped[i];
  CU_ASSERT(nc == 0);
  if (colored) TN_ASSERT_OK(GatherColors(net, dyn, N, col, &ncol));
  if (cont)
    Flow(&m, clamped, h * K, T, e);
  else
    Propagator(&m, clamped, h, K, colored ? col : NULL, ncol, T, e);
  for (PetscInt b = 0; b < B; b++) {
    PetscReal ref = ConditionalGaussian(N, clamped, T, e, x[b], NULL, NULL);
    TN_ASSERT_CLOSE(lp[b], ref, cont ? 1e-9 : 1e-10);
    mean -= lp[b] / B;
    for (PetscInt i = 0; i < N; i++) {
      if (clamped[i]) {
        CU_ASSERT(aK[b][i] == x[b][i]); /* held exactly */
      } else if (cont) {                /* and the free ones follow the flow */
        PetscReal ai = e[i];
        for (PetscInt j = 0; j < N; j++) ai += T[i][j] * x[b][j];
        TN_ASSERT_CLOSE(aK[b][i], ai, 1e-9);
      }
    }
  }
  if (TnLogDetIsLocal(ldt)) {
    PetscReal sum, cmax;
    TN_ASSERT_OK(NodeLossCheck(dyn, &sum, &cmax));
    TN_ASSERT_CLOSE(sum / B, mean, 1e-12);
    CU_ASSERT(cmax == 0);
  }
  TnDynDestroy(&dyn);
  TnNetDestroy(&net);
}

static void test_conditional_gaussian(void)
{
  const PetscBool c8[8] = {0, 1, 0, 0, 1, 0, 1, 0}, c5[5] = {1, 0, 0, 0, 1};
  CheckGaussian(8, c8, PETSC_TRUE, TN_SCHEME_SYNC, TN_LOGDET_DIAG, 21);
  CheckGaussian(5, c5, PETSC_TRUE, TN_SCHEME_SYNC, TN_LOGDET_DIAG, 22);
  CheckGaussian(8, c8, PETSC_FALSE, TN_SCHEME_SYNC, TN_LOGDET_DENSE, 23); /* W_FF full: the exact method on the free block */
  CheckGaussian(8, c8, PETSC_FALSE, TN_SCHEME_SYNC, TN_LOGDET_SPARSE, 24);
  CheckGaussian(8, c8, PETSC_FALSE, TN_SCHEME_COLORED, TN_LOGDET_DIAG, 25); /* diag is exact for colored */
  CheckGaussian(5, c5, PETSC_FALSE, TN_SCHEME_COLORED, TN_LOGDET_DIAG, 26);
  CheckGaussian(8, c8, PETSC_FALSE, TN_SCHEME_CONTINUOUS, TN_LOGDET_DIAG, 27); /* the Liouville integral over F, against e^{T M'} */
}

/* All nodes clamped but f: a_K,f = alpha^K t + beta (alpha^K - 1)/(alpha - 1)
   with alpha = 1 + h(W_ff - gamma_f), beta = h(b_f + sum_{j != f} W_fj x_j),
   and log Phi(t | x) = log p(a_K,f) + K log|alpha| (normal and logistic). */
static void test_one_free(void)
{
  const PetscInt  N = 7, B = 2, K = 6, f = 3;
  const PetscReal h = 0.15;
  PetscBool       clamped[NMAX];
  for (PetscInt i = 0; i < N; i++) clamped[i] = (PetscBool)(i != f);
  for (int base = 0; base < 2; base++) {
    Model     m;
    TnNet     net;
    TnDyn     dyn;
    PetscReal x[2][NMAX], lp[2];
    ModelClamped(&m, N, clamped, PETSC_FALSE, 31 + base);
    for (PetscInt b = 0; b < B; b++)
      for (PetscInt i = 0; i < N; i++) x[b][i] = 1.5 * TnRandNormal(41, b, i);
    TN_ASSERT_OK(LinearDyn(&m, TN_LOGDET_DIAG, h, K, B, &net, &dyn));
    TN_ASSERT_OK(TnDynSetBase(dyn, (TnBase)base));
    TN_ASSERT_OK(SetClamp(dyn, N, clamped));
    TN_ASSERT_OK(TnTestEvaluate(dyn, N, B, NMAX, &x[0][0], lp, NULL));
    for (PetscInt b = 0; b < B; b++) {
      PetscReal alpha = 1 + h * (m.W[f][f] - m.g[f]), beta = h * m.b[f], aK;
      for (PetscInt j = 0; j < N; j++)
        if (j != f) beta += h * m.W[f][j] * x[b][j];
      aK = PetscPowReal(alpha, K) * x[b][f] + beta * (PetscPowReal(alpha, K) - 1) / (alpha - 1);
      TN_ASSERT_CLOSE(lp[b], TnBaseLogDensity((TnBase)base, aK) + K * PetscLogReal(PetscAbsReal(alpha)), 1e-12);
    }
    TnDynDestroy(&dyn);
    TnNetDestroy(&net);
  }
}

static void WriteFile(const char *path, const char *text);

/* Sampling t given x (TnSampler with the given file): linear sync, W_FF
   triangular. The clamped columns of every sample are the given values
   exactly; the forward evaluation of the samples returns z (round trip);
   the free columns' means are within 5 standard errors of the conditional
   Gaussian's mu and their variances within 10% of Sigma_ii (S = 4000). */
static void test_sample(void)
{
  const PetscBool c8[8] = {0, 1, 0, 0, 1, 0, 1, 0};
  const PetscInt  N = 8, B = 1000, S = 4000, K = 5;
  const PetscReal h = 0.1, xg[8] = {0.3, -1.2, 0.5, 0.1, 0.9, -0.4, 1.4, 0.2};
  Model           m;
  TnNet           net;
  TnDyn           dyn;
  TnSampler       smp;
  Vec             z, x, xnat, all;
  VecScatter      toall;
  TnDynResult     res;
  PetscReal       T[NMAX][NMAX], e[NMAX], mu[NMAX], var[NMAX], sum[NMAX] = {0}, sum2[NMAX] = {0}, rt = 0;
  PetscBool       held = PETSC_TRUE;
  char            path[PETSC_MAX_PATH_LEN], text[256] = "";
  for (PetscInt i = 0; i < N; i++) PetscSNPrintf(text + strlen(text), sizeof(text) - strlen(text), "%.17g\n", (double)xg[i]);
  PetscSNPrintf(path, sizeof(path), "%s/given8.txt", TnTestTmpDir());
  WriteFile(path, text);
  ModelClamped(&m, N, c8, PETSC_TRUE, 61);
  TN_ASSERT_OK(LinearDyn(&m, TN_LOGDET_DIAG, h, K, B, &net, &dyn));
  TN_ASSERT_OK(SetClamp(dyn, N, c8));
  TN_ASSERT_OK(TnSamplerCreate(dyn, &smp));
  TN_ASSERT_OK(TnSamplerSetGiven(smp, path));
  TN_ASSERT_OK(TnDynCreateState(dyn, &z));
  TN_ASSERT_OK(TnDynCreateState(dyn, &x));
  TN_ASSERT_OK(TnDynCreateNaturalState(dyn, &xnat));
  TN_ASSERT_OK(TnDynResultCreate(dyn, &res));
  TN_ASSERT_OK(VecScatterCreateToAll(xnat, &toall, &all));
  for (PetscInt s0 = 0; s0 < S; s0 += B) {
    const PetscScalar *pa;
    TN_ASSERT_OK(TnSamplerDrawBase(smp, s0, z));
    TN_ASSERT_OK(VecCopy(z, x));
    TN_ASSERT_OK(TnSamplerInvert(smp, x));
    TN_ASSERT_OK(TnDynNaturalToState(dyn, xnat, x, SCATTER_REVERSE));
    TN_ASSERT_OK(VecScatterBegin(toall, xnat, all, INSERT_VALUES, SCATTER_FORWARD));
    TN_ASSERT_OK(VecScatterEnd(toall, xnat, all, INSERT_VALUES, SCATTER_FORWARD));
    TN_ASSERT_OK(VecGetArrayRead(all, &pa));
    for (PetscInt i = 0; i < N; i++)
      for (PetscInt b = 0; b < B; b++) {
        PetscReal v = pa[(size_t)i * B + b];
        if (c8[i]) held = (PetscBool)(held && v == xg[i]);
        sum[i] += v;
        sum2[i] += v * v;
      }
    TN_ASSERT_OK(VecRestoreArrayRead(all, &pa));
    TN_ASSERT_OK(TnDynEvaluate(dyn, x, &res)); /* x = a_K: back to z */
    TN_ASSERT_OK(VecAXPY(x, -1.0, z));
    {
      PetscReal d;
      TN_ASSERT_OK(VecNorm(x, NORM_INFINITY, &d));
      rt = PetscMax(rt, d);
    }
  }
  CU_ASSERT(held);
  CU_ASSERT(rt < 1e-10);
  Propagator(&m, c8, h, K, NULL, 0, T, e);
  ConditionalGaussian(N, c8, T, e, xg, mu, var);
  for (PetscInt i = 0, r = 0; i < N; i++) {
    PetscReal mean, v;
    if (c8[i]) continue;
    mean = sum[i] / S;
    v    = sum2[i] / S - mean * mean;
    if (PetscAbsReal(mean - mu[r]) > 5 * PetscSqrtReal(var[r] / S) || PetscAbsReal(v / var[r] - 1) > 0.1) PetscPrintf(PETSC_COMM_WORLD, "  node %d: mean %g (mu %g), variance %g (Sigma_ii %g)\n", (int)i, (double)mean, (double)mu[r], (double)v, (double)var[r]);
    CU_ASSERT(PetscAbsReal(mean - mu[r]) <= 5 * PetscSqrtReal(var[r] / S));
    CU_ASSERT(PetscAbsReal(v / var[r] - 1) <= 0.1);
    r++;
  }
  TnDynResultDestroy(&res);
  VecScatterDestroy(&toall);
  VecDestroy(&all);
  VecDestroy(&xnat);
  VecDestroy(&x);
  VecDestroy(&z);
  TnSamplerDestroy(&smp);
  TnDynDestroy(&dyn);
  TnNetDestroy(&net);
}

/* The invertibility checks consider only F: a clamped node 0 with strong
   weights to the free nodes (W_i0 = 4) fails the sync bound of the whole
   network and passes that of W_FF; a clamped node with gamma_0 = 30 fails
   the colored factor 1 - h gamma_0 > 0 and passes when clamped. */
static PetscErrorCode BoundSetUp(TnScheme scheme, PetscBool clamp, PetscReal *value)
{
  const PetscBool c[6] = {1, 0, 0, 0, 0, 0};
  Model           m;
  TnNet           net;
  TnDyn           dyn;
  PetscErrorCode  ierr;
  ModelClamped(&m, 6, c, PETSC_FALSE, 71);
  for (PetscInt i = 1; i < 6; i++) m.W[i][0] = 4.0, m.P[i][0] = PETSC_TRUE;
  m.g[0] = 30;
  PetscFunctionBeginUser;
  PetscCall(LinearDyn(&m, TN_LOGDET_DIAG, 0.1, 3, 2, &net, &dyn));
  PetscCall(TnDynSetActivation(dyn, TN_ACT_TANH));
  PetscCall(TnDynSetScheme(dyn, scheme));
  if (clamp) PetscCall(SetClamp(dyn, 6, c));
  ierr = TnDynSetUp(dyn);
  if (!ierr && value) PetscCall(TnDynGetInvertibility(dyn, value, NULL));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  return ierr;
}

/* A full network of 6 nodes, 2 clamped: the computed colouring has 4
   colours (one per free node), not 6; a colouring file that gives every
   node colour 0 but the free ones distinct colours is proper on F and
   accepted, one that repeats a colour among free nodes is refused. */
static PetscErrorCode ColorSetUp(const char *file, PetscInt *ncol)
{
  const PetscBool c[6] = {0, 1, 0, 0, 1, 0};
  Model           m;
  TnNet           net;
  TnDyn           dyn;
  PetscErrorCode  ierr;
  ModelClamped(&m, 6, c, PETSC_FALSE, 81);
  PetscFunctionBeginUser;
  PetscCall(LinearDyn(&m, TN_LOGDET_DIAG, 0.1, 3, 2, &net, &dyn));
  PetscCall(TnDynSetScheme(dyn, TN_SCHEME_COLORED));
  PetscCall(TnDynSetColoringFile(dyn, file, NULL));
  PetscCall(SetClamp(dyn, 6, c));
  ierr = TnDynSetUp(dyn);
  if (!ierr) PetscCall(TnDynGetNumColors(dyn, ncol));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  return ierr;
}

static void test_bound_free(void)
{
  PetscReal v    = -1;
  PetscInt  ncol = 0;
  char      path[PETSC_MAX_PATH_LEN];
  TN_ASSERT_OK(ColorSetUp(NULL, &ncol));
  CU_ASSERT(ncol == 4);
  PetscSNPrintf(path, sizeof(path), "%s/colors6.txt", TnTestTmpDir());
  WriteFile(path, "1\n0\n2\n3\n0\n4\n");
  TN_ASSERT_OK(ColorSetUp(path, &ncol));
  WriteFile(path, "1\n0\n2\n1\n0\n4\n");
  TN_ASSERT_FAILS(ColorSetUp(path, &ncol));
  TN_ASSERT_FAILS(BoundSetUp(TN_SCHEME_SYNC, PETSC_FALSE, NULL));
  TN_ASSERT_OK(BoundSetUp(TN_SCHEME_SYNC, PETSC_TRUE, &v));
  CU_ASSERT(v > 0 && v < 1);
  TN_ASSERT_FAILS(BoundSetUp(TN_SCHEME_COLORED, PETSC_FALSE, NULL));
  TN_ASSERT_OK(BoundSetUp(TN_SCHEME_COLORED, PETSC_TRUE, &v));
  CU_ASSERT(v > 0);
}

/* SetUp with the clamp list `list` (n entries, given by rank 0) or the file
   `path`. */
static PetscErrorCode ClampSetUp(const PetscInt *list, PetscInt n, const char *path, TnScheme scheme)
{
  const PetscBool none[NMAX] = {0};
  Model           m;
  TnNet           net;
  TnDyn           dyn;
  PetscMPIInt     rank;
  PetscErrorCode  ierr;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  ModelClamped(&m, 6, none, PETSC_FALSE, 5);
  PetscCall(LinearDyn(&m, TN_LOGDET_DIAG, 0.1, 3, 2, &net, &dyn));
  PetscCall(TnDynSetScheme(dyn, scheme));
  if (path)
    PetscCall(TnDynSetClampFile(dyn, path));
  else {
    IS is;
    PetscCall(ISCreateGeneral(PETSC_COMM_WORLD, rank ? 0 : n, list, PETSC_COPY_VALUES, &is));
    PetscCall(TnDynSetClamp(dyn, is));
    PetscCall(ISDestroy(&is));
  }
  ierr = TnDynSetUp(dyn);
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  return ierr;
}

static void WriteFile(const char *path, const char *text)
{
  PetscMPIInt rank;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  if (!rank) {
    FILE *fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
  }
  MPI_Barrier(PETSC_COMM_WORLD);
}

static void test_bad_clamp(void)
{
  const PetscInt ok[] = {0, 5}, range[] = {2, 6}, neg[] = {-1}, twice[] = {1, 4, 1}, all[] = {0, 1, 2, 3, 4, 5};
  char           path[PETSC_MAX_PATH_LEN];
  TN_ASSERT_OK(ClampSetUp(ok, 2, NULL, TN_SCHEME_SYNC));
  TN_ASSERT_FAILS(ClampSetUp(range, 2, NULL, TN_SCHEME_SYNC));
  TN_ASSERT_FAILS(ClampSetUp(neg, 1, NULL, TN_SCHEME_SYNC));
  TN_ASSERT_FAILS(ClampSetUp(twice, 3, NULL, TN_SCHEME_SYNC));
  TN_ASSERT_FAILS(ClampSetUp(all, 6, NULL, TN_SCHEME_SYNC));
  PetscSNPrintf(path, sizeof(path), "%s/clamp.txt", TnTestTmpDir());
  WriteFile(path, "# clamped\n0\n\n5\n");
  TN_ASSERT_OK(ClampSetUp(NULL, 0, path, TN_SCHEME_SYNC));
  WriteFile(path, "0\n2.5\n");
  TN_ASSERT_FAILS(ClampSetUp(NULL, 0, path, TN_SCHEME_SYNC));
  WriteFile(path, "0\nfive\n");
  TN_ASSERT_FAILS(ClampSetUp(NULL, 0, path, TN_SCHEME_SYNC));
  WriteFile(path, "6\n");
  TN_ASSERT_FAILS(ClampSetUp(NULL, 0, path, TN_SCHEME_SYNC));
  WriteFile(path, "3\n3\n");
  TN_ASSERT_FAILS(ClampSetUp(NULL, 0, path, TN_SCHEME_SYNC));
  WriteFile(path, "");
  TN_ASSERT_FAILS(ClampSetUp(NULL, 0, path, TN_SCHEME_SYNC));
  WriteFile(path, "0-1\n# a range and a number\n4\n");
  TN_ASSERT_OK(ClampSetUp(NULL, 0, path, TN_SCHEME_SYNC));
  WriteFile(path, "3-1\n");
  TN_ASSERT_FAILS(ClampSetUp(NULL, 0, path, TN_SCHEME_SYNC));
  WriteFile(path, "0-2\n2\n");
  TN_ASSERT_FAILS(ClampSetUp(NULL, 0, path, TN_SCHEME_SYNC));
  WriteFile(path, "4-6\n");
  TN_ASSERT_FAILS(ClampSetUp(NULL, 0, path, TN_SCHEME_SYNC));
  WriteFile(path, "0-5\n");
  TN_ASSERT_FAILS(ClampSetUp(NULL, 0, path, TN_SCHEME_SYNC));
}

/* The integral of Phi(t | x) over the free values t, for a fixed x (the
   given file), by the trapezoid grid on [-8, 8]^N_F: 1 for N_F = 2 and 3
   (tanh; colored, where diag is exact; continuous for N_F = 2), within the grid's
   own error estimate plus 1e-6. (sync with dense: tests/cli/clamp.sh.) */
static void test_normcheck(void)
{
  const PetscBool c2[5] = {1, 0, 1, 0, 1}, c3[5] = {0, 1, 0, 1, 0};
  const struct {
    TnScheme     s;
    TnLogDetType l;
  } cfg[] = {{TN_SCHEME_COLORED, TN_LOGDET_DIAG}, {TN_SCHEME_CONTINUOUS, TN_LOGDET_DIAG}};
  char path[PETSC_MAX_PATH_LEN];
  PetscSNPrintf(path, sizeof(path), "%s/given.txt", TnTestTmpDir());
  WriteFile(path, "0.8\n-1.1\n0.4\n1.5\n-0.3\n");
  for (int nf = 2; nf <= 3; nf++)
    for (int q = 0; q < 2; q++) {
      const PetscBool *clamped = nf == 2 ? c2 : c3;
      Model            m;
      TnNet            net;
      TnDyn            dyn;
      TnNormOptions    opt;
      TnNormResult     res = {0};
      if (nf == 3 && q == 1) continue; /* continuous: N_F = 2 (its stages cost an exchange each) */
      ModelClamped(&m, 5, clamped, PETSC_FALSE, 50 + nf);
      TN_ASSERT_OK(TnTestModelNet(&m, &net));
      TN_ASSERT_OK(TnDynCreate(net, &dyn));
      TN_ASSERT_OK(TnDynSetScheme(dyn, cfg[q].s));
      TN_ASSERT_OK(TnDynSetLogDetType(dyn, cfg[q].l));
      TN_ASSERT_OK(TnDynSetStepSize(dyn, 0.2));
      TN_ASSERT_OK(TnDynSetSteps(dyn, 4));
      TN_ASSERT_OK(TnDynSetBatchSize(dyn, 1024)); /* few halo exchanges per point */
      TN_ASSERT_OK(TnDynSetTolerances(dyn, 1e-10, 1e-12));
      TN_ASSERT_OK(SetClamp(dyn, 5, clamped));
      TN_ASSERT_OK(TnNormOptionsSetDefault(&opt));
      opt.method = TN_NORM_GRID;
      opt.n      = nf == 2 ? 101 : 41;
      opt.L      = 0; /* the automatic box */
      PetscStrncpy(opt.given, path, sizeof(opt.given));
      TN_ASSERT_OK(TnNormIntegrate(dyn, &opt, &res));
      CU_ASSERT(res.N == nf && res.nclamp == 5 - nf);
      if (PetscAbsReal(res.integral - 1) > res.error + 1e-6 || getenv("TN_CLAMP_VERBOSE")) PetscPrintf(PETSC_COMM_WORLD, "  %s %s N_F = %d: integral %.10f, error estimate %.2g\n", cfg[q].s, TnLogDetTypes[cfg[q].l], nf, (double)res.integral, (double)res.error);
      CU_ASSERT(PetscAbsReal(res.integral - 1) <= res.error + 1e-6);
      CU_ASSERT(res.error < 1e-2);
      TnDynDestroy(&dyn);
      TnNetDestroy(&net);
    }
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("clamp", NULL, NULL);
  CU_add_test(s, "conditional Gaussian of a linear network", test_conditional_gaussian);
  CU_add_test(s, "one free node: the 1-D density", test_one_free);
  CU_add_test(s, "bad clamp sets", test_bad_clamp);
  CU_add_test(s, "the integral of Phi(t | x) over t is 1", test_normcheck);
  CU_add_test(s, "sampling t given x", test_sample);
  CU_add_test(s, "the invertibility and colouring checks consider only F", test_bound_free);
}
