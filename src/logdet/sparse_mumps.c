/* sparse_mumps: placeholder until the method lands; refuses clearly. */
#include "logdetimpl.h"

static PetscErrorCode Compute_Sparse(TnLogDet ld, Mat J, TnLogDetResult *res)
{
  PetscFunctionBeginUser;
  SETERRQ(ld->comm, PETSC_ERR_SUP, "log-det method '%s' is not available in this build", TnLogDetTypes[ld->type]);
}

PetscErrorCode TnLogDetCreate_Sparse(TnLogDet ld)
{
  PetscFunctionBeginUser;
  ld->ops.compute = Compute_Sparse;
  PetscFunctionReturn(PETSC_SUCCESS);
}
