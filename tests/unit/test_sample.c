/* Sampling (docs/sampling.md) against its definition and closed forms:
   - round trip: forward(inverse(z)) = z within 1e-10 (relative to
     max(1, |z|)) for both schemes, both forms, tanh and linear, normal and
     logistic bases, on lattice2d (with self-loops) and er networks;
   - the samples at every rank count equal those of a 1-rank run inside the
     same program (counter-based draw, rank-invariant inversion);
   - linear sync network: x = M^{-K}(z - c), so the sample mean and
     covariance of 2000 samples match -M^{-K} c and M^{-K} M^{-K T} within
     statistical tolerance;
   - a sync fixed point that cannot converge in the allowed iterations, and
     bad options, fail on every rank. */
#include "tn_test.h"
#include <tenor/sample.h>

typedef struct {
  const char *type;
  PetscInt    n;
  TnScheme    scheme;
  TnForm      form;
  TnAct       act;
  TnBase      base;
} Config;

static PetscErrorCode Build(MPI_Comm comm, const Config *c, PetscInt B, TnNet *net, TnDyn *dyn)
{
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(comm, net));
  PetscCall(TnNetSetType(*net, c->type));
  PetscCall(TnNetSetSize(*net, c->n));
  PetscCall(TnNetSetDegree(*net, 6));
  PetscCall(TnNetSetSelfLoops(*net, PETSC_TRUE));
  PetscCall(TnNetSetWeightScale(*net, 0.8));
  PetscCall(TnNetSetBiasScale(*net, 0.3));
  PetscCall(TnDynCreate(*net, dyn));
  PetscCall(TnDynSetScheme(*dyn, c->scheme));
  PetscCall(TnDynSetForm(*dyn, c->form));
  PetscCall(TnDynSetActivation(*dyn, c->act));
  PetscCall(TnDynSetBase(*dyn, c->base));
  PetscCall(TnDynSetStepSize(*dyn, 0.1));
  PetscCall(TnDynSetSteps(*dyn, 5));
  PetscCall(TnDynSetBatchSize(*dyn, B));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Draws samples first..first+B-1, inverts, and returns x in natural order
   on every rank (xall[i*B + b]) and the round-trip error
   max |forward(x) - z| / max(1, |z|). */
static PetscErrorCode SampleAndCheck(TnDyn dyn, TnSampler s, PetscInt first, PetscReal *xall, PetscReal *rt)
{
  Vec                z, x;
  TnDynResult        res;
  const PetscScalar *pz, *px;
  PetscInt           n;
  MPI_Comm           comm;
  PetscFunctionBeginUser;
  PetscCall(TnDynCreateState(dyn, &z));
  PetscCall(VecDuplicate(z, &x));
  PetscCall(PetscObjectGetComm((PetscObject)z, &comm));
  PetscCall(TnSamplerDrawBase(s, first, z));
  PetscCall(VecCopy(z, x));
  PetscCall(TnSamplerInvert(s, x));
  PetscCall(TnTestStateToAll(dyn, x, xall));
  PetscCall(TnDynResultCreate(dyn, &res));
  PetscCall(TnDynEvaluate(dyn, x, &res));
  PetscCall(VecGetLocalSize(z, &n));
  PetscCall(VecGetArrayRead(z, &pz));
  PetscCall(VecGetArrayRead(x, &px));
  *rt = 0;
  for (PetscInt q = 0; q < n; q++) *rt = PetscMax(*rt, PetscAbsReal(px[q] - pz[q]) / PetscMax(1.0, PetscAbsReal(pz[q])));
  PetscCall(VecRestoreArrayRead(z, &pz));
  PetscCall(VecRestoreArrayRead(x, &px));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, rt, 1, MPIU_REAL, MPIU_MAX, comm));
  PetscCall(TnDynResultDestroy(&res));

  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&z));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One configuration on comm: x (natural order, B = 4) and the round trip. */
static PetscErrorCode RunConfig(MPI_Comm comm, const Config *c, PetscReal *xall, PetscInt *N, PetscReal *rt)
{
  TnNet     net;
  TnDyn     dyn;
  TnSampler s;
  PetscFunctionBeginUser;
  PetscCall(Build(comm, c, 4, &net, &dyn));
  PetscCall(TnDynSetUp(dyn));
  PetscCall(TnNetGetSizes(net, N, NULL));
  PetscCall(TnSamplerCreate(dyn, &s));
  PetscCall(TnSamplerSetSeed(s, 17));
  PetscCall(SampleAndCheck(dyn, s, 3, xall, rt));
  PetscCall(TnSamplerDestroy(&s));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

#define XMAX (4 * 128)

/* Every configuration: round trip on all ranks, and x equal to a 1-rank run. */
static void test_roundtrip_and_invariance(void)
{
  const char *types[] = {"lattice2d", "er"};
  PetscMPIInt rank;
  MPI_Comm    self;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  MPI_Comm_split(PETSC_COMM_WORLD, rank == 0 ? 0 : MPI_UNDEFINED, 0, &self);
  for (int t = 0; t < 2; t++)
    for (int cfg = 0; cfg < 16; cfg++) {
      Config    c = {types[t], t == 0 ? 8 : 100, ((cfg & 1) ? TN_SCHEME_COLORED : TN_SCHEME_SYNC), (TnForm)((cfg >> 1) & 1), (TnAct)((cfg >> 2) & 1), (TnBase)((cfg >> 3) & 1)};
      PetscReal x[XMAX], x1[XMAX], rt = 1, rt1 = 1, dmax = 0;
      PetscInt  N = 0, N1 = 0;
      TN_ASSERT_OK(RunConfig(PETSC_COMM_WORLD, &c, x, &N, &rt));
      if (self != MPI_COMM_NULL) TN_ASSERT_OK(RunConfig(self, &c, x1, &N1, &rt1));
      MPI_Bcast(x1, (int)(4 * N), MPIU_REAL, 0, PETSC_COMM_WORLD);
      MPI_Bcast(&rt1, 1, MPIU_REAL, 0, PETSC_COMM_WORLD);
      for (PetscInt q = 0; q < 4 * N; q++) dmax = PetscMax(dmax, PetscAbsReal(x[q] - x1[q]) / PetscMax(1.0, PetscAbsReal(x1[q])));
      if (!(rt <= 1e-10 && rt1 <= 1e-10 && dmax <= 1e-12))
        fprintf(stderr, "%s %s %s %s %s: round trip %.3g (1 rank %.3g), rank difference %.3g\n", c.type, c.scheme, TnFormTypes[c.form], TnActTypes[c.act], TnBaseTypes[c.base], (double)rt, (double)rt1, (double)dmax);
      CU_ASSERT(rt <= 1e-10);
      CU_ASSERT(rt1 <= 1e-10);
      CU_ASSERT(dmax <= 1e-12);
    }
  if (self != MPI_COMM_NULL) MPI_Comm_free(&self);
}

#define NL 4

/* A small dense linear model: W, gamma, b (natural order). */
static PetscErrorCode LinearNet(PetscReal W[NL][NL], const PetscReal *g, const PetscReal *bias, TnNet *net)
{
  Mat      A;
  Vec      b, gv;
  PetscInt rs, re;
  PetscFunctionBeginUser;
  PetscCall(MatCreateAIJ(PETSC_COMM_WORLD, PETSC_DECIDE, PETSC_DECIDE, NL, NL, NL, NULL, NL, NULL, &A));
  PetscCall(MatGetOwnershipRange(A, &rs, &re));
  for (PetscInt i = rs; i < re; i++)
    for (PetscInt j = 0; j < NL; j++) PetscCall(MatSetValue(A, i, j, W[i][j], INSERT_VALUES));
  PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatCreateVecs(A, &b, &gv));
  for (PetscInt i = rs; i < re; i++) {
    PetscCall(VecSetValue(b, i, bias[i], INSERT_VALUES));
    PetscCall(VecSetValue(gv, i, g[i], INSERT_VALUES));
  }
  PetscCall(VecAssemblyBegin(b));
  PetscCall(VecAssemblyEnd(b));
  PetscCall(VecAssemblyBegin(gv));
  PetscCall(VecAssemblyEnd(gv));
  PetscCall(TnNetCreate(PETSC_COMM_WORLD, net));
  PetscCall(TnNetSetParameters(*net, A, b, gv));
  PetscCall(MatDestroy(&A));
  PetscCall(VecDestroy(&b));
  PetscCall(VecDestroy(&gv));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* inv = A^{-1} by Gauss-Jordan with partial pivoting (NL x NL). */
static void Inverse(PetscReal A[NL][NL], PetscReal inv[NL][NL])
{
  PetscReal M[NL][2 * NL];
  for (int i = 0; i < NL; i++)
    for (int j = 0; j < 2 * NL; j++) M[i][j] = j < NL ? A[i][j] : (j - NL == i);
  for (int c = 0; c < NL; c++) {
    int p = c;
    for (int r = c + 1; r < NL; r++)
      if (fabs(M[r][c]) > fabs(M[p][c])) p = r;
    for (int j = 0; j < 2 * NL; j++) {
      PetscReal t = M[c][j];
      M[c][j]     = M[p][j];
      M[p][j]     = t;
    }
    for (int r = 0; r < NL; r++) {
      PetscReal f = M[r][c] / M[c][c];
      if (r == c) continue;
      for (int j = 0; j < 2 * NL; j++) M[r][j] -= f * M[c][j];
    }
  }
  for (int i = 0; i < NL; i++)
    for (int j = 0; j < NL; j++) inv[i][j] = M[i][NL + j] / M[i][i];
}

/* x = M^{-K}(z - c): mean -M^{-K} c, covariance M^{-K} M^{-K T}. */
static void LinearMoments(PetscReal W[NL][NL], const PetscReal *g, const PetscReal *bias, PetscReal h, PetscInt K, PetscReal *mean, PetscReal C[NL][NL])
{
  PetscReal M[NL][NL], A[NL][NL], Ai[NL][NL], c[NL] = {0}, t[NL];
  for (int i = 0; i < NL; i++)
    for (int j = 0; j < NL; j++) {
      M[i][j] = (i == j) + h * (W[i][j] - (i == j) * g[i]);
      A[i][j] = (i == j);
    }
  for (PetscInt k = 0; k < K; k++) { /* A <- M A, c <- M c + h b */
    PetscReal An[NL][NL];
    for (int i = 0; i < NL; i++) {
      t[i] = h * bias[i];
      for (int j = 0; j < NL; j++) {
        t[i] += M[i][j] * c[j];
        An[i][j] = 0;
        for (int l = 0; l < NL; l++) An[i][j] += M[i][l] * A[l][j];
      }
    }
    for (int i = 0; i < NL; i++) {
      c[i] = t[i];
      for (int j = 0; j < NL; j++) A[i][j] = An[i][j];
    }
  }
  Inverse(A, Ai);
  for (int i = 0; i < NL; i++) {
    mean[i] = 0;
    for (int j = 0; j < NL; j++) mean[i] -= Ai[i][j] * c[j];
    for (int j = 0; j < NL; j++) {
      C[i][j] = 0;
      for (int l = 0; l < NL; l++) C[i][j] += Ai[i][l] * Ai[j][l];
    }
  }
}

static void test_linear_covariance(void)
{
  PetscReal W[NL][NL], g[NL], bias[NL], mean[NL], C[NL][NL], sm[NL] = {0}, sc[NL][NL] = {{0}}, h = 0.2;
  PetscInt  K = 4, B = 16, S = 2000, N;
  TnNet     net;
  TnDyn     dyn;
  TnSampler s;
  for (int i = 0; i < NL; i++) {
    g[i]    = 0.5 + 0.5 * TnRandUniform(3, 1, i);
    bias[i] = 0.5 * TnRandNormal(3, 2, i);
    for (int j = 0; j < NL; j++) W[i][j] = 0.9 * (2 * TnRandUniform(3, 3, i * NL + j) - 1);
  }
  LinearMoments(W, g, bias, h, K, mean, C);
  TN_ASSERT_OK(LinearNet(W, g, bias, &net));
  TN_ASSERT_OK(TnDynCreate(net, &dyn));
  TN_ASSERT_OK(TnDynSetActivation(dyn, TN_ACT_LINEAR));
  TN_ASSERT_OK(TnDynSetStepSize(dyn, h));
  TN_ASSERT_OK(TnDynSetSteps(dyn, K));
  TN_ASSERT_OK(TnDynSetBatchSize(dyn, B));
  TN_ASSERT_OK(TnDynSetUp(dyn));
  TN_ASSERT_OK(TnNetGetSizes(net, &N, NULL));
  TN_ASSERT_OK(TnSamplerCreate(dyn, &s));
  for (PetscInt s0 = 0; s0 < S; s0 += B) {
    PetscReal x[NL * 16], rt;
    TN_ASSERT_OK(SampleAndCheck(dyn, s, s0, x, &rt));
    CU_ASSERT(rt <= 1e-10);
    for (PetscInt b = 0; b < B && s0 + b < S; b++)
      for (int i = 0; i < NL; i++) {
        sm[i] += x[i * B + b] / S;
        for (int j = 0; j < NL; j++) sc[i][j] += (x[i * B + b] - mean[i]) * (x[j * B + b] - mean[j]) / S;
      }
  }
  /* 5 standard errors: Var(mean_i) = C_ii / S, Var(C_ij est) = (C_ii C_jj + C_ij^2) / S */
  for (int i = 0; i < NL; i++) {
    TN_ASSERT_CLOSE(sm[i], mean[i], 5 * sqrt(C[i][i] / S) / fmax(1, fabs(mean[i])));
    for (int j = 0; j < NL; j++) TN_ASSERT_CLOSE(sc[i][j], C[i][j], 5 * sqrt((C[i][i] * C[j][j] + C[i][j] * C[i][j]) / S) / fmax(1, fabs(C[i][j])));
  }
  TnSamplerDestroy(&s);
  TnDynDestroy(&dyn);
  TnNetDestroy(&net);
}

/* Too few fixed-point iterations, or bad options: an error on every rank. */
static void test_failures(void)
{
  Config    c = {"er", 100, TN_SCHEME_SYNC, TN_FORM_RATE, TN_ACT_TANH, TN_BASE_NORMAL};
  TnNet     net;
  TnDyn     dyn;
  TnSampler s;
  Vec       x;
  TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, 4, &net, &dyn));
  TN_ASSERT_OK(TnSamplerCreate(dyn, &s));
  TN_ASSERT_FAILS(TnSamplerSetTolerance(s, 0));
  TN_ASSERT_FAILS(TnSamplerSetMaxIterations(s, 0));
  TN_ASSERT_OK(TnSamplerSetMaxIterations(s, 2));
  TN_ASSERT_OK(TnDynCreateState(dyn, &x));
  TN_ASSERT_OK(TnSamplerDrawBase(s, 0, x));
  TN_ASSERT_FAILS(TnSamplerInvert(s, x));
  VecDestroy(&x);
  TnSamplerDestroy(&s);
  TnDynDestroy(&dyn);
  TnNetDestroy(&net);
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("sample", NULL, NULL);
  CU_add_test(s, "round trip and rank invariance", test_roundtrip_and_invariance);
  CU_add_test(s, "linear sync: sample mean and covariance", test_linear_covariance);
  CU_add_test(s, "failures", test_failures);
}
