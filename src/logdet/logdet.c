/* The table of log-determinant methods, selected with -logdet_type. The
   local methods (diag, trace) are per-node terms summed by the dynamics
   kernels; the exact global methods plug in beside them. */
#include <tenor/loss.h>

PetscReal TnLogDetTerm_Diag(PetscReal);
PetscReal TnLogDetTerm_Trace(PetscReal);

const char *const TnLogDetTypes[] = {"diag", "trace", "dense", "sparse", "slq", "TnLogDetType", "TN_LOGDET_", NULL};

PetscReal TnLogDetTerm(TnLogDetType type, PetscReal hA)
{
  return type == TN_LOGDET_TRACE ? TnLogDetTerm_Trace(hA) : TnLogDetTerm_Diag(hA);
}
