/* trace: node i's term is h A_ii, the first term of
   log det(I + hA) = h tr A - (h^2/2) tr(A^2) + ... (exact as h -> 0). */
#include <tenor/loss.h>

PetscReal TnLogDetTerm_Trace(PetscReal hA)
{
  return hA;
}
