/* tenor normcheck: in progress. */
#include "cli.h"

PetscErrorCode TnCmdNormCheck(MPI_Comm comm)
{
  PetscFunctionBeginUser;
  SETERRQ(comm, PETSC_ERR_SUP, "this command is not available in this build");
}
