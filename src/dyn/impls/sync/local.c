/* The local rule's step of the sync scheme (docs/gradient.md, "The local
   rule"): the forward step a_k -> a_{k+1} (TnSyncStep, into out), then one
   pass over the rows carrying each node's traces from e_k to e_{k+1} with the
   values that step read: pbuf = phi(a_k) (rate) or a_k (current), the ghost
   copy G the step's halo exchange brought, and s = W a_k + b in S
   (current). Every node i is updated from a_k, so its coefficients
   (TnLocCoefs) are at t = phi(a_k,i) (rate) or phi(s_i) (current). No
   further exchange. */
#include "syncimpl.h"

TN_INLINE void Traces(TnDyn dyn, const PetscScalar *restrict a, const PetscReal *restrict gx, const PetscInt B)
{
  TnSync         *sd   = (TnSync *)dyn->data;
  const PetscBool rate = dyn->form == TN_FORM_RATE, lin = dyn->act == TN_ACT_LINEAR, diag = dyn->ldt == TN_LOGDET_DIAG;
  TnLocCoef       k[B];
  for (PetscInt i = 0; i < dyn->m; i++) {
    const size_t    q  = (size_t)i * B;
    const PetscReal gi = dyn->gamma[i], wi = dyn->wdiag[i];
    for (PetscInt b = 0; b < B; b++) TnLocCoefs(rate, lin, diag, dyn->h, gi, wi, dyn->loc.wt[b], rate ? dyn->pbuf[q + b] : TnPhi(dyn->act, sd->S[q + b]), &k[b]);
    TnLocRow(dyn, i, k, a + q, dyn->pbuf, gx, B);
  }
}

PetscErrorCode TnSyncLocalStep(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *ldet)
{
  const PetscScalar *g;
  PetscFunctionBeginUser;
  PetscCall(TnSyncStep(dyn, k, a, out, NULL, ldet, NULL));
  PetscCall(VecGetArrayRead(dyn->G, &g));
  TN_DISPATCH_B(dyn->B, Traces, dyn, a, g);
  PetscCall(VecRestoreArrayRead(dyn->G, &g));
  PetscCall(PetscLogFlops(4.0 * dyn->B * (double)(dyn->d.n + dyn->o.n) + 20.0 * dyn->m * dyn->B));
  PetscFunctionReturn(PETSC_SUCCESS);
}
