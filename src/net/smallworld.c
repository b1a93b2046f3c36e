/* smallworld (Watts-Strogatz, directed in-edges): node i receives from the
   k/2 nearest nodes on each side of a ring; each in-edge is rewired with
   probability p to a uniformly drawn node (not i, not already an in-neighbour). */
#include "netimpl.h"

static PetscBool Has(const PetscInt *cols, PetscInt m, PetscInt j)
{
  for (PetscInt t = 0; t < m; t++)
    if (cols[t] == j) return PETSC_TRUE;
  return PETSC_FALSE;
}

PetscErrorCode TnNetRows_SmallWorld(TnNet net, PetscInt row, PetscInt *cols, PetscInt *ncols)
{
  PetscInt N = net->N, half = net->k / 2, m = 0;
  uint64_t t = 0;
  PetscFunctionBeginUser;
  for (PetscInt d = 1; d <= half; d++) {
    cols[m++] = (row + d) % N;
    cols[m++] = (row - d + N) % N;
  }
  for (PetscInt e = 0; e < m; e++) {
    if (TnRandUniform((uint64_t)net->seed, 4, (uint64_t)row * (uint64_t)net->k + (uint64_t)e) >= net->rewire) continue;
    for (;;) {
      PetscInt j = (PetscInt)(TnRandU64((uint64_t)net->seed, 5, ((uint64_t)row << 24) + t++) % (uint64_t)N);
      if (j != row && !Has(cols, m, j)) {
        cols[e] = j;
        break;
      }
    }
  }
  if (net->self) cols[m++] = row;
  *ncols = m;
  PetscFunctionReturn(PETSC_SUCCESS);
}
