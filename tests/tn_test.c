/* MPI-aware CUnit main: every rank runs every suite; the exit status is the
   sum of failures over all ranks, so one rank's failure fails the test. */
#include "tn_test.h"
#include <tenor/sys.h>
#include <tenor/net.h>
#include <tenor/dyn.h>
#include <tenor/grad.h>
#include <petscblaslapack.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[PETSC_MAX_PATH_LEN];

const char *TnTestTmpDir(void)
{
  return tmpdir;
}

PetscErrorCode TnTestNetFromDense(PetscInt N, PetscInt ld, const PetscReal *Wd, const PetscBool *P, const PetscReal *bd, const PetscReal *gd, TnNet *net)
{
  Mat      W;
  Vec      b, g;
  PetscInt rs, re;
  PetscFunctionBeginUser;
  PetscCall(MatCreateAIJ(PETSC_COMM_WORLD, PETSC_DECIDE, PETSC_DECIDE, N, N, N, NULL, N, NULL, &W));
  PetscCall(MatGetOwnershipRange(W, &rs, &re));
  for (PetscInt i = rs; i < re; i++)
    for (PetscInt j = 0; j < N; j++)
      if (P[i * ld + j]) PetscCall(MatSetValue(W, i, j, Wd[i * ld + j], INSERT_VALUES));
  PetscCall(MatAssemblyBegin(W, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(W, MAT_FINAL_ASSEMBLY));
  PetscCall(MatCreateVecs(W, &b, &g));
  for (PetscInt i = rs; i < re; i++) {
    PetscCall(VecSetValue(b, i, bd[i], INSERT_VALUES));
    PetscCall(VecSetValue(g, i, gd[i], INSERT_VALUES));
  }
  PetscCall(VecAssemblyBegin(b));
  PetscCall(VecAssemblyEnd(b));
  PetscCall(VecAssemblyBegin(g));
  PetscCall(VecAssemblyEnd(g));
  PetscCall(TnNetCreate(PETSC_COMM_WORLD, net));
  PetscCall(TnNetSetParameters(*net, W, b, g));
  PetscCall(MatDestroy(&W));
  PetscCall(VecDestroy(&b));
  PetscCall(VecDestroy(&g));
  PetscFunctionReturn(PETSC_SUCCESS);
}

void TnTestRandomDense(PetscInt N, PetscInt ld, PetscReal dens, PetscBool tri, PetscReal scale, uint64_t seed, PetscReal *W, PetscBool *P, PetscReal *b, PetscReal *g)
{
  for (PetscInt i = 0; i < N; i++) {
    b[i] = 0.3 * TnRandNormal(seed, 1, i);
    g[i] = 0.5 + TnRandUniform(seed, 2, i);
    for (PetscInt j = 0; j < N; j++) {
      PetscBool on  = (PetscBool)((i == j) || (TnRandUniform(seed, 3, i * N + j) < dens && (!tri || j > i)));
      P[i * ld + j] = on;
      W[i * ld + j] = on ? scale * (2 * TnRandUniform(seed, 4, i * N + j) - 1) : 0;
    }
  }
}

void TnTestDenseLogDet(PetscInt N, PetscScalar *A, PetscReal *logabs, PetscReal *sign)
{
  PetscBLASInt n = (PetscBLASInt)N, info, *piv;
  PetscReal    s = 1, l = 0;
  PetscMalloc1(N, &piv);
  LAPACKgetrf_(&n, &n, A, &n, piv, &info);
  for (PetscInt i = 0; i < N; i++) {
    PetscReal u = A[i * N + i];
    if (piv[i] != i + 1) s = -s; /* each row swap flips the sign */
    if (u < 0) s = -s;
    if (u == 0) s = 0;
    l += log(fabs(u));
  }
  PetscFree(piv);
  *logabs = s == 0 ? -INFINITY : l;
  *sign   = s;
}

static PetscErrorCode MakeTmpDir(void)
{
  PetscMPIInt rank;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  if (rank == 0) {
    PetscCall(PetscStrncpy(tmpdir, "/tmp/tenor-test-XXXXXX", sizeof(tmpdir)));
    PetscCheck(mkdtemp(tmpdir), PETSC_COMM_SELF, PETSC_ERR_SYS, "cannot create a temporary directory");
  }
  PetscCallMPI(MPI_Bcast(tmpdir, sizeof(tmpdir), MPI_CHAR, 0, PETSC_COMM_WORLD));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  PetscMPIInt rank;
  int         failures, total;
  if (TnInitialize(&argc, &argv, NULL)) return 1;
  if (MakeTmpDir()) return TnFinalize(1);
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  if (CU_initialize_registry() != CUE_SUCCESS) return TnFinalize(1);
  TnTestRegister();
  if (rank && !freopen("/dev/null", "w", stdout)) return TnFinalize(1); /* one report, from rank 0 */
  CU_basic_set_mode(rank == 0 ? CU_BRM_VERBOSE : CU_BRM_SILENT);
  CU_basic_run_tests();
  failures = (int)CU_get_number_of_failures();
  if (failures && rank) { /* rank 0's report lists its own; the others' are told here */
    fprintf(stderr, "[rank %d] %d failure(s)\n", rank, failures);
    for (const CU_FailureRecord *f = CU_get_failure_list(); f; f = f->pNext) fprintf(stderr, "[rank %d]   %s:%u - %s (test: %s)\n", rank, f->strFileName ? f->strFileName : "?", f->uiLineNumber, f->strCondition ? f->strCondition : "?", f->pTest && f->pTest->pName ? f->pTest->pName : "?");
  }
  CU_cleanup_registry();
  MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, PETSC_COMM_WORLD);
  if (rank == 0) {
    char cmd[PETSC_MAX_PATH_LEN + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", tmpdir);
  }
  TnFinalize(0);
  return total ? 1 : 0;
}

PetscErrorCode TnTestStateFromNatural(TnDyn dyn, PetscInt B, PetscInt ld, const PetscReal *x, Vec xs)
{
  Vec      xnat;
  PetscInt rs, re;
  PetscFunctionBeginUser;
  PetscCall(TnDynCreateNaturalState(dyn, &xnat));
  PetscCall(VecGetOwnershipRange(xnat, &rs, &re));
  for (PetscInt q = rs; q < re; q++) PetscCall(VecSetValue(xnat, q, x[(q % B) * ld + q / B], INSERT_VALUES));
  PetscCall(VecAssemblyBegin(xnat));
  PetscCall(VecAssemblyEnd(xnat));
  PetscCall(TnDynNaturalToState(dyn, xnat, xs, SCATTER_FORWARD));
  PetscCall(VecDestroy(&xnat));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTestStateToAll(TnDyn dyn, Vec xs, PetscReal *all)
{
  Vec                xnat, va;
  VecScatter         toall;
  PetscInt           n;
  const PetscScalar *pa;
  PetscFunctionBeginUser;
  PetscCall(TnDynCreateNaturalState(dyn, &xnat));
  PetscCall(TnDynNaturalToState(dyn, xnat, xs, SCATTER_REVERSE));
  PetscCall(VecScatterCreateToAll(xnat, &toall, &va));
  PetscCall(VecScatterBegin(toall, xnat, va, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(toall, xnat, va, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGetSize(va, &n));
  PetscCall(VecGetArrayRead(va, &pa));
  for (PetscInt q = 0; q < n; q++) all[q] = pa[q];
  PetscCall(VecRestoreArrayRead(va, &pa));
  PetscCall(VecScatterDestroy(&toall));
  PetscCall(VecDestroy(&va));
  PetscCall(VecDestroy(&xnat));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTestEvaluate(TnDyn dyn, PetscInt N, PetscInt B, PetscInt ld, const PetscReal *x, PetscReal *logphi, PetscReal *aK)
{
  Vec         xs;
  TnDynResult res;
  PetscFunctionBeginUser;
  PetscCall(TnDynCreateState(dyn, &xs));
  PetscCall(TnTestStateFromNatural(dyn, B, ld, x, xs));
  PetscCall(TnDynResultCreate(dyn, &res));
  PetscCall(TnDynEvaluate(dyn, xs, &res));
  for (PetscInt b = 0; b < B; b++) logphi[b] = res.logphi[b];
  if (aK) {
    PetscReal *all;
    PetscCall(PetscMalloc1(N * B, &all));
    PetscCall(TnTestStateToAll(dyn, xs, all));
    for (PetscInt q = 0; q < N * B; q++) aK[(q % B) * ld + q / B] = all[q];
    PetscCall(PetscFree(all));
  }
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&xs));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* C = A B for n x n row-major matrices of row strides la, lb, lc. */
static void MatMul(PetscInt n, const PetscReal *A, PetscInt la, const PetscReal *B, PetscInt lb, PetscReal *C, PetscInt lc)
{
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt j = 0; j < n; j++) {
      PetscReal v = 0;
      for (PetscInt l = 0; l < n; l++) v += A[i * la + l] * B[l * lb + j];
      C[i * lc + j] = v;
    }
}

void TnTestExpm(PetscInt n, PetscInt ld, const PetscReal *A, PetscReal *E)
{
  PetscReal nrm = 0, *X, *T, *P;
  PetscInt  s   = 0;
  X             = (PetscReal *)malloc(3 * sizeof(PetscReal) * (size_t)(n * n));
  T             = X + n * n;
  P             = T + n * n;
  for (PetscInt j = 0; j < n; j++) {
    PetscReal c = 0;
    for (PetscInt i = 0; i < n; i++) c += fabs(A[i * ld + j]);
    nrm = fmax(nrm, c);
  }
  while (nrm / ldexp(1.0, (int)s) > 0.125) s++;
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt j = 0; j < n; j++) {
      X[i * n + j]  = ldexp(A[i * ld + j], -(int)s);
      E[i * ld + j] = (i == j) + X[i * n + j];
      T[i * n + j]  = X[i * n + j];
    }
  for (PetscInt k = 2; k <= 24; k++) { /* T <- T X / k, E += T */
    MatMul(n, T, n, X, n, P, n);
    for (PetscInt i = 0; i < n; i++)
      for (PetscInt j = 0; j < n; j++) {
        T[i * n + j] = P[i * n + j] / k;
        E[i * ld + j] += T[i * n + j];
      }
  }
  for (PetscInt q = 0; q < s; q++) { /* E <- E E */
    MatMul(n, E, ld, E, ld, P, n);
    for (PetscInt i = 0; i < n; i++)
      for (PetscInt j = 0; j < n; j++) E[i * ld + j] = P[i * n + j];
  }
  free(X);
}

void TnTestModelRandom(TnTestModel *m, PetscInt N, PetscReal dens, PetscReal scale, uint64_t seed)
{
  m->N = N;
  for (PetscInt i = 0; i < N; i++) {
    m->b[i] = 0.3 * TnRandNormal(seed, 1, i);
    m->g[i] = 0.5 + TnRandUniform(seed, 2, i);
    for (PetscInt j = 0; j < N; j++) {
      PetscReal u  = TnRandUniform(seed, 3, i * N + j);
      PetscBool on = (PetscBool)(i == j ? (dens == 0 || u < 0.67) : u < dens);
      m->P[i][j]   = on;
      m->W[i][j]   = on ? scale * (2 * TnRandUniform(seed, 4, i * N + j) - 1) : 0;
    }
  }
}

void TnTestModelRandomDense(TnTestModel *m, PetscInt N, PetscReal dens, PetscBool tri, PetscReal scale, uint64_t seed)
{
  m->N = N;
  TnTestRandomDense(N, TN_TEST_NMAX, dens, tri, scale, seed, &m->W[0][0], &m->P[0][0], m->b, m->g);
}

PetscErrorCode TnTestModelNet(const TnTestModel *m, TnNet *net)
{
  return TnTestNetFromDense(m->N, TN_TEST_NMAX, &m->W[0][0], &m->P[0][0], m->b, m->g, net);
}

PetscErrorCode TnTestConfigure(TnDyn dyn, const TnTestConfig *c, PetscReal h, PetscInt K, PetscInt B)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynSetScheme(dyn, c->scheme));
  PetscCall(TnDynSetLogDetType(dyn, c->ldt));
  PetscCall(TnDynSetForm(dyn, c->form));
  PetscCall(TnDynSetActivation(dyn, c->act));
  PetscCall(TnDynSetBase(dyn, c->base));
  PetscCall(TnDynSetStepSize(dyn, h));
  PetscCall(TnDynSetSteps(dyn, K));
  PetscCall(TnDynSetBatchSize(dyn, B));
  PetscCall(TnDynSetAdaptive(dyn, c->adapt));
  PetscCall(TnDynSetTolerances(dyn, 1e-12, 1e-14));
  if (c->nclamp) { /* rank 0 gives the set */
    PetscMPIInt rank;
    IS          is;
    PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
    PetscCall(ISCreateGeneral(PETSC_COMM_WORLD, rank ? 0 : c->nclamp, c->clamp, PETSC_COPY_VALUES, &is));
    PetscCall(TnDynSetClamp(dyn, is));
    PetscCall(ISDestroy(&is));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTestFillState(TnDyn dyn, PetscReal scale, uint64_t seed, PetscInt ld, PetscReal *xd, Vec x)
{
  Vec      xn;
  PetscInt rs, re, n, B;
  PetscFunctionBeginUser;
  PetscCall(TnDynGetParams(dyn, NULL, NULL, NULL, NULL, NULL, &B));
  PetscCall(TnDynCreateNaturalState(dyn, &xn));
  PetscCall(VecGetOwnershipRange(xn, &rs, &re));
  PetscCall(VecGetSize(xn, &n));
  for (PetscInt q = xd ? 0 : rs; q < (xd ? n : re); q++) {
    PetscReal v = scale * TnRandNormal(seed, 0, q);
    if (xd) xd[(q / B) * ld + q % B] = v;
    if (q >= rs && q < re) PetscCall(VecSetValue(xn, q, v, INSERT_VALUES));
  }
  PetscCall(VecAssemblyBegin(xn));
  PetscCall(VecAssemblyEnd(xn));
  PetscCall(TnDynNaturalToState(dyn, xn, x, SCATTER_FORWARD));
  PetscCall(VecDestroy(&xn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTestCentralDifferences(PetscInt n, PetscReal eps, TnTestLossFn loss, TnTestGradFn grad, void *ctx, const char what[], PetscReal *worst)
{
  PetscFunctionBeginUser;
  *worst = 0;
  for (PetscInt q = 0; q < n; q++) {
    PetscReal g, Lp, Lm, fd, err;
    char      name[64];
    PetscCall(grad(ctx, q, &g, name, sizeof(name)));
    if (!name[0]) continue;
    PetscCall(loss(ctx, q, eps, &Lp));
    PetscCall(loss(ctx, q, -eps, &Lm));
    fd  = (Lp - Lm) / (2 * eps);
    err = PetscAbsReal(fd - g) / PetscMax(PetscAbsReal(g), 1e-3);
    if (err > 1e-6) PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  %s: %s: gradient %.12g, finite difference %.12g\n", what, name, (double)g, (double)fd));
    *worst = PetscMax(*worst, err);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTestNetGradient(MPI_Comm comm, TnScheme scheme, TnForm form, TnGradCheckpoint ck, PetscBool local, PetscReal out[3])
{
  TnNet            net;
  TnDyn            dyn;
  TnGrad           g;
  Vec              x, grad;
  TnDynResult      res;
  const PetscInt  *row, *col;
  PetscInt         n;
  const PetscReal *pg;
  PetscReal        loc[2] = {0, 0};
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(comm, &net));
  PetscCall(TnNetSetType(net, "er"));
  PetscCall(TnNetSetSize(net, 120));
  PetscCall(TnNetSetDegree(net, 5));
  PetscCall(TnNetSetReciprocity(net, 0.5));
  PetscCall(TnNetSetSelfLoops(net, PETSC_TRUE));
  PetscCall(TnNetSetWeightScale(net, 0.7));
  PetscCall(TnNetSetBiasScale(net, 0.2));
  PetscCall(TnDynCreate(net, &dyn));
  PetscCall(TnDynSetScheme(dyn, scheme));
  PetscCall(TnDynSetForm(dyn, form));
  PetscCall(TnDynSetBase(dyn, TN_BASE_LOGISTIC));
  PetscCall(TnDynSetSteps(dyn, 23));
  PetscCall(TnDynSetBatchSize(dyn, 4));
  PetscCall(TnGradCreate(dyn, &g));
  if (!local) PetscCall(TnGradSetCheckpoint(g, ck));
  PetscCall(TnDynCreateState(dyn, &x));
  PetscCall(TnTestFillState(dyn, 1.0, 77, 0, NULL, x));
  PetscCall(TnGradCreateParamVec(g, &grad));
  PetscCall(TnDynResultCreate(dyn, &res));
  res.nvalid = 3;
  if (local)
    PetscCall(TnGradComputeLocal(g, x, &res, grad));
  else
    PetscCall(TnGradCompute(g, x, &res, grad));
  PetscCall(TnGradGetParamMap(g, &row, &col));
  PetscCall(VecGetLocalSize(grad, &n));
  PetscCall(VecGetArrayRead(grad, &pg));
  for (PetscInt q = 0; q < n; q++) {
    loc[0] += pg[q] * pg[q];
    loc[1] += pg[q] * TnRandNormal(5, 0, (uint64_t)row[q] * 1000 + (uint64_t)(col[q] + 2));
  }
  PetscCall(VecRestoreArrayRead(grad, &pg));
  PetscCall(TnGradRestoreParamMap(g, &row, &col));
  PetscCall(MPIU_Allreduce(loc, out, 2, MPIU_REAL, MPIU_SUM, comm));
  out[0] = PetscSqrtReal(out[0]);
  out[2] = res.logphi[0];
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&grad));
  PetscCall(VecDestroy(&x));
  PetscCall(TnGradDestroy(&g));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

void TnTestGradRankInvariance(TnScheme scheme, TnForm form, PetscBool local)
{
  PetscReal   v[2][3];
  MPI_Comm    sub;
  PetscMPIInt rank;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  MPI_Comm_split(PETSC_COMM_WORLD, rank == 0 ? 0 : MPI_UNDEFINED, 0, &sub);
  TN_ASSERT_OK(TnTestNetGradient(PETSC_COMM_WORLD, scheme, form, TN_GRAD_CKPT_AUTO, local, v[0]));
  if (sub != MPI_COMM_NULL) {
    TN_ASSERT_OK(TnTestNetGradient(sub, scheme, form, TN_GRAD_CKPT_AUTO, local, v[1]));
    MPI_Comm_free(&sub);
  }
  MPI_Bcast(v[1], 3, MPIU_REAL, 0, PETSC_COMM_WORLD);
  CU_ASSERT(v[0][0] > 0);
  for (int t = 0; t < 3; t++) TN_ASSERT_CLOSE(v[0][t], v[1][t], 1e-11 * PetscMax(1, PetscAbsReal(v[1][t])));
}

PetscErrorCode TnTestFillNormal(Vec x, PetscInt seed)
{
  PetscScalar *a;
  PetscInt     n, lo;
  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(x, &n));
  PetscCall(VecGetOwnershipRange(x, &lo, NULL));
  PetscCall(VecGetArray(x, &a));
  for (PetscInt q = 0; q < n; q++) a[q] = 0.8 * TnRandNormal(seed, 0, lo + q);
  PetscCall(VecRestoreArray(x, &a));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscReal TnTestRelDiff(Vec x, Vec y)
{
  PetscReal ny = 0;
  if (VecNorm(y, NORM_INFINITY, &ny)) return PETSC_MAX_REAL;
  return TnTestMaxDiff(x, y) / PetscMax(ny, 1e-300);
}

PetscReal TnTestMaxDiff(Vec x, Vec y)
{
  Vec       d;
  PetscReal n = -1;
  if (VecDuplicate(x, &d) || VecWAXPY(d, -1.0, x, y) || VecNorm(d, NORM_INFINITY, &n)) n = -1;
  VecDestroy(&d);
  return n;
}

PetscErrorCode TnTestCopyFollowsWTol(TnDyn d0, TnDyn d1, PetscInt B, PetscReal rtol, PetscBool *moved, PetscBool *same)
{
  TnGrad      g;
  Vec         dir, x, y;
  TnDynResult r0, r1;
  PetscReal   before;
  PetscFunctionBeginUser;
  PetscCall(TnDynCreateState(d1, &x));
  PetscCall(VecDuplicate(x, &y));
  PetscCall(TnTestFillNormal(x, 9));
  PetscCall(TnDynResultCreate(d1, &r0));
  PetscCall(TnDynResultCreate(d1, &r1));
  PetscCall(VecCopy(x, y));
  PetscCall(TnDynEvaluate(d1, y, &r1)); /* d1 takes its copy of W */
  before = r1.logphi[0];
  PetscCall(TnGradCreate(d1, &g));
  PetscCall(TnGradCreateParamVec(g, &dir));
  PetscCall(TnTestFillNormal(dir, 11));
  PetscCall(TnGradAddToParams(g, 0.01, dir)); /* every W_ij, b_i and u_i moves */
  PetscCall(VecCopy(x, y));
  PetscCall(TnDynEvaluate(d1, y, &r1));
  PetscCall(VecCopy(x, y));
  PetscCall(TnDynEvaluate(d0, y, &r0));
  *moved = (PetscBool)(r1.logphi[0] != before);
  *same  = PETSC_TRUE;
  for (PetscInt b = 0; b < B; b++)
    if (!(PetscAbsReal(r0.logphi[b] - r1.logphi[b]) <= rtol * PetscMax(PetscAbsReal(r0.logphi[b]), 1.0))) *same = PETSC_FALSE;
  PetscCall(TnDynResultDestroy(&r0));
  PetscCall(TnDynResultDestroy(&r1));
  PetscCall(VecDestroy(&dir));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&y));
  PetscCall(TnGradDestroy(&g));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTestCopyFollowsW(TnDyn d0, TnDyn d1, PetscInt B, PetscBool *moved, PetscBool *same)
{
  PetscFunctionBeginUser;
  PetscCall(TnTestCopyFollowsWTol(d0, d1, B, 0, moved, same));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTestDynWithOption(TnNet net, const char *scheme, const char *opt, const char *val, TnDyn *dyn)
{
  PetscFunctionBeginUser;
  if (opt) PetscCall(PetscOptionsSetValue(NULL, opt, val));
  PetscCall(TnDynCreate(net, dyn));
  PetscCall(TnDynSetScheme(*dyn, scheme));
  PetscCall(TnDynSetFromOptions(*dyn));
  if (opt) PetscCall(PetscOptionsClearValue(NULL, opt));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTestBuildNet(const char *type, PetscInt n, PetscInt k, TnNet *net)
{
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(PETSC_COMM_WORLD, net));
  PetscCall(TnNetSetType(*net, type));
  PetscCall(TnNetSetSize(*net, n));
  PetscCall(TnNetSetDegree(*net, k));
  PetscCall(TnNetSetUp(*net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTestClampEvery(TnDyn dyn, TnNet net, PetscInt stride)
{
  PetscMPIInt rank;
  PetscInt    N, n = 0, *idx;
  IS          is;
  Mat         W;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCall(TnNetGetMat(net, &W));
  PetscCall(MatGetSize(W, &N, NULL));
  PetscCall(PetscMalloc1(N, &idx));
  for (PetscInt i = 0; i < N && !rank; i += stride) idx[n++] = i;
  PetscCall(ISCreateGeneral(PETSC_COMM_WORLD, n, idx, PETSC_COPY_VALUES, &is));
  PetscCall(TnDynSetClamp(dyn, is));
  PetscCall(ISDestroy(&is));
  PetscCall(PetscFree(idx));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTestEvaluateAll(TnDyn dyn, PetscInt B, TnTestOut *o)
{
  TnGrad      g;
  TnDynResult res;
  Vec         x, node;
  PetscFunctionBeginUser;
  PetscCall(TnDynCreateState(dyn, &x));
  PetscCall(TnTestFillNormal(x, 5));
  PetscCall(TnDynResultCreate(dyn, &res));
  PetscCall(VecDuplicate(x, &o->aK));
  PetscCall(VecCopy(x, o->aK));
  PetscCall(TnDynEvaluate(dyn, o->aK, &res));
  for (PetscInt b = 0; b < B; b++) o->logphi[b] = res.logphi[b];
  PetscCall(TnDynGetNodeLoss(dyn, &node));
  PetscCall(VecDuplicate(node, &o->node));
  PetscCall(VecCopy(node, o->node));
  PetscCall(TnGradCreate(dyn, &g));
  PetscCall(TnGradCreateParamVec(g, &o->grad));
  PetscCall(TnGradCompute(g, x, &res, o->grad));
  PetscCall(TnGradDestroy(&g));
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&x));
  PetscFunctionReturn(PETSC_SUCCESS);
}

void TnTestOutDestroy(TnTestOut *o)
{
  VecDestroy(&o->aK);
  VecDestroy(&o->node);
  VecDestroy(&o->grad);
}
