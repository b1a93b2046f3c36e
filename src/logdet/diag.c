/* diag: node i's term is log|1 + h A_ii|. Exact for the colored scheme
   (each substep's Jacobian is the identity but for the rows of one colour, a
   triangular structure) and for sync when P without self-loops has no cycle. */
#include <tenor/loss.h>
#include <math.h>

PetscReal TnLogDetTerm_Diag(PetscReal hA)
{
  return hA > -1.0 ? log1p(hA) : log(fabs(1.0 + hA));
}
