/* trace: node i's term is h A_ii = J_ii - 1, the first term of
   log det(I + hA) = h tr A - (h^2/2) tr(A^2) + ... (exact as h -> 0). */
#include "logdetimpl.h"

PetscReal TnLogDetTerm_Trace(PetscReal hA)
{
  return hA;
}

static PetscErrorCode Compute_Trace(TnLogDet ld, Mat J, TnLogDetResult *res)
{
  PetscScalar tr;
  PetscInt    N;
  PetscFunctionBeginUser;
  PetscCall(MatGetTrace(J, &tr));
  PetscCall(MatGetSize(J, &N, NULL));
  res->logabs = PetscRealPart(tr) - (PetscReal)N; /* tr(J - I) = h tr A */
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnLogDetCreate_Trace(TnLogDet ld)
{
  PetscFunctionBeginUser;
  ld->ops.compute = Compute_Trace;
  PetscFunctionReturn(PETSC_SUCCESS);
}
