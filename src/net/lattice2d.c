/* lattice2d: a periodic n x n lattice, node id = r*n + c. Node i receives
   from every node at periodic Euclidean distance 0 < d <= radius (radius 1:
   the 4 nearest neighbours), plus itself if self-loops are on. */
#include "netimpl.h"

PetscInt TnNetLattice2dMaxCols(TnNet net)
{
  PetscInt R = (PetscInt)net->radius;
  return (2 * R + 1) * (2 * R + 1);
}

double TnNetLattice2dRowCount(TnNet net)
{
  PetscInt R = (PetscInt)net->radius;
  double   c = 0;
  for (PetscInt dr = -R; dr <= R; dr++)
    for (PetscInt dc = -R; dc <= R; dc++)
      if ((PetscReal)(dr * dr + dc * dc) <= net->radius * net->radius + 1e-12 && (dr || dc || net->self)) c++;
  return PetscMin(c, (double)net->n * (double)net->n); /* a small lattice repeats nodes */
}

PetscErrorCode TnNetRows_Lattice2d(TnNet net, PetscInt row, PetscInt *cols, PetscInt *ncols)
{
  PetscInt n = net->n, r = row / n, c = row % n, R = (PetscInt)net->radius, m = 0;
  PetscFunctionBeginUser;
  for (PetscInt dr = -R; dr <= R; dr++) {
    for (PetscInt dc = -R; dc <= R; dc++) {
      PetscReal d2 = (PetscReal)(dr * dr + dc * dc);
      PetscInt  rr = ((r + dr) % n + n) % n, cc = ((c + dc) % n + n) % n, j = rr * n + cc;
      if (d2 > net->radius * net->radius + 1e-12) continue;
      if (j == row && !net->self) continue;
      if (dr == 0 && dc == 0 && !net->self) continue;
      cols[m++] = j;
    }
  }
  *ncols = m;
  PetscFunctionReturn(PETSC_SUCCESS);
}
