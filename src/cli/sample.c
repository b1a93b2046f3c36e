/* tenor sample: in progress. */
#include "cli.h"

PetscErrorCode TnCmdSample(MPI_Comm comm)
{
  PetscFunctionBeginUser;
  SETERRQ(comm, PETSC_ERR_SUP, "this command is not available in this build");
}
