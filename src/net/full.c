/* full: the dense pattern (every node receives from every other node, and
   from itself if self-loops are on). For small N. */
#include "netimpl.h"

PetscErrorCode TnNetRows_Full(TnNet net, PetscInt row, PetscInt *cols, PetscInt *ncols)
{
  PetscInt m = 0;
  PetscFunctionBeginUser;
  for (PetscInt j = 0; j < net->N; j++)
    if (j != row || net->self) cols[m++] = j;
  *ncols = m;
  PetscFunctionReturn(PETSC_SUCCESS);
}
