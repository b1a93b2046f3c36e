/* er: every node receives from exactly k distinct other nodes drawn
   uniformly (a random graph with fixed in-degree), plus itself if self-loops
   are on. Draw t of row i is TnRandU64(seed, 3, i * 2^24 + t). */
#include "netimpl.h"

static PetscBool Has(const PetscInt *cols, PetscInt m, PetscInt j)
{
  for (PetscInt t = 0; t < m; t++)
    if (cols[t] == j) return PETSC_TRUE;
  return PETSC_FALSE;
}

PetscErrorCode TnNetRows_ER(TnNet net, PetscInt row, PetscInt *cols, PetscInt *ncols)
{
  PetscInt m = 0, N = net->N;
  uint64_t t = 0;
  PetscFunctionBeginUser;
  while (m < net->k) {
    PetscInt j = (PetscInt)(TnRandU64((uint64_t)net->seed, 3, ((uint64_t)row << 24) + t++) % (uint64_t)N);
    if (j != row && !Has(cols, m, j)) cols[m++] = j;
  }
  if (net->self) cols[m++] = row;
  *ncols = m;
  PetscFunctionReturn(PETSC_SUCCESS);
}
