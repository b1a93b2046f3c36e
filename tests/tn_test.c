/* MPI-aware CUnit main: every rank runs every suite; the exit status is the
   sum of failures over all ranks, so one rank's failure fails the test. */
#include "tn_test.h"
#include <tenor/sys.h>
#include <tenor/net.h>
#include <tenor/dyn.h>
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
  if (failures && rank) fprintf(stderr, "[rank %d] %d failure(s)\n", rank, failures);
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

PetscErrorCode TnTestEvaluate(TnDyn dyn, PetscInt N, PetscInt B, PetscInt ld, const PetscReal *x, PetscReal *logphi, PetscReal *aK)
{
  Vec                xnat, xs, all;
  VecScatter         toall;
  TnDynResult        res;
  PetscInt           rs, re;
  const PetscScalar *pa;
  PetscFunctionBeginUser;
  PetscCall(TnDynCreateNaturalState(dyn, &xnat));
  PetscCall(TnDynCreateState(dyn, &xs));
  PetscCall(VecGetOwnershipRange(xnat, &rs, &re));
  for (PetscInt q = rs; q < re; q++) PetscCall(VecSetValue(xnat, q, x[(q % B) * ld + q / B], INSERT_VALUES));
  PetscCall(VecAssemblyBegin(xnat));
  PetscCall(VecAssemblyEnd(xnat));
  PetscCall(TnDynNaturalToState(dyn, xnat, xs, SCATTER_FORWARD));
  PetscCall(TnDynResultCreate(dyn, &res));
  PetscCall(TnDynEvaluate(dyn, xs, &res));
  for (PetscInt b = 0; b < B; b++) logphi[b] = res.logphi[b];
  if (aK) {
    PetscCall(TnDynNaturalToState(dyn, xnat, xs, SCATTER_REVERSE));
    PetscCall(VecScatterCreateToAll(xnat, &toall, &all));
    PetscCall(VecScatterBegin(toall, xnat, all, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecScatterEnd(toall, xnat, all, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecGetArrayRead(all, &pa));
    for (PetscInt q = 0; q < N * B; q++) aK[(q % B) * ld + q / B] = pa[q];
    PetscCall(VecRestoreArrayRead(all, &pa));
    PetscCall(VecScatterDestroy(&toall));
    PetscCall(VecDestroy(&all));
  }
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&xs));
  PetscCall(VecDestroy(&xnat));
  PetscFunctionReturn(PETSC_SUCCESS);
}
