/* tenor logdet: in progress. */
#include "cli.h"

PetscErrorCode TnCmdLogDet(MPI_Comm comm)
{
  PetscFunctionBeginUser;
  SETERRQ(comm, PETSC_ERR_SUP, "this command is not available in this build");
}
