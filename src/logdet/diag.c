/* diag: node i's term is log|1 + h A_ii| = log|J_ii|. Exact for the colored
   scheme (each substep's Jacobian is the identity but for the rows of one
   colour) and for sync when P without self-loops has no cycle. The dynamics
   kernels sum these terms inline; the TnLogDet form below reads them off a
   given Jacobian (for side-by-side comparisons). */
#include "logdetimpl.h"
#include <math.h>

PetscReal TnLogDetTerm_Diag(PetscReal hA)
{
  return hA > -1.0 ? log1p(hA) : log(fabs(1.0 + hA));
}

/* sum_i log|J_ii| and the sign prod_i sign(J_ii) */
static PetscErrorCode Compute_Diag(TnLogDet ld, Mat J, TnLogDetResult *res)
{
  Vec                d;
  const PetscScalar *a;
  PetscInt           n;
  PetscReal          s[2] = {0, 0};
  PetscFunctionBeginUser;
  PetscCall(MatCreateVecs(J, &d, NULL));
  PetscCall(MatGetDiagonal(J, d));
  PetscCall(VecGetLocalSize(d, &n));
  PetscCall(VecGetArrayRead(d, &a));
  for (PetscInt i = 0; i < n; i++) {
    s[0] += log(fabs(a[i]));
    s[1] += a[i] < 0 ? 1 : 0;
    if (a[i] == 0) s[1] = PETSC_MAX_REAL / 4;
  }
  PetscCall(VecRestoreArrayRead(d, &a));
  PetscCall(VecDestroy(&d));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, s, 2, MPIU_REAL, MPIU_SUM, ld->comm));
  res->logabs = s[0];
  res->sign   = s[1] >= PETSC_MAX_REAL / 8 ? 0.0 : (fmod(s[1], 2.0) == 0 ? 1.0 : -1.0);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnLogDetCreate_Diag(TnLogDet ld)
{
  PetscFunctionBeginUser;
  ld->ops.compute = Compute_Diag;
  PetscFunctionReturn(PETSC_SUCCESS);
}
