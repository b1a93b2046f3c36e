/* Reverse mode through the dynamics, one step at a time (docs/gradient.md): the work shared by every scheme (lambda, the sample
   weights, the forward and reverse halo exchanges over the dynamics' block
   scatter) and the public entry points; each scheme's adjoint step is its
   own (impls/<scheme>/adjoint.c).
     lambda_K = omega dl_base/da_K   (normal: a_K; logistic: tanh(a_K / 2))
     lambda_k = J_k^T lambda_{k+1} + d(step-k local loss)/da_k
   Clamped nodes (clamp.c): no base term, so lambda_K is zero there, and
   lambda_k is set to zero there after every step (a clamped node's row of
   J_k is the identity's: its lambda reaches neither a free node nor a
   parameter, and the schemes' adjoint steps rely on it being zero). */
#include "dynimpl.h"

PetscLogEvent TN_Adjoint, TN_Inverse, TN_LocalReplay;

/* Over the whole halo (dyn->halo) or a scatter of a part of it between the
   same layouts (the colored scheme's per-colour scatters). */
PetscErrorCode TnDynAdjHaloPartBegin(TnDyn dyn, VecScatter sct, const PetscReal *send)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_HaloExchange, 0, 0, 0, 0));
  PetscCall(VecPlaceArray(dyn->adj.Pv, send));
  PetscCall(VecScatterBegin(sct, dyn->adj.Pv, dyn->adj.Gp, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(PetscLogEventEnd(TN_HaloExchange, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynAdjHaloPartEnd(TnDyn dyn, VecScatter sct, const PetscReal **ghost)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_HaloExchange, 0, 0, 0, 0));
  PetscCall(VecScatterEnd(sct, dyn->adj.Pv, dyn->adj.Gp, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecResetArray(dyn->adj.Pv));
  *ghost = dyn->adj.gbuf; /* Gp wraps this array of ours */
  PetscCall(PetscLogEventEnd(TN_HaloExchange, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* into += the ghost contributions other ranks accumulated in their Gy. */
PetscErrorCode TnDynAdjReversePartBegin(TnDyn dyn, VecScatter sct, PetscReal *into)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_HaloExchange, 0, 0, 0, 0));
  PetscCall(VecPlaceArray(dyn->adj.Lv, into));
  PetscCall(VecScatterBegin(sct, dyn->adj.Gy, dyn->adj.Lv, ADD_VALUES, SCATTER_REVERSE));
  PetscCall(PetscLogEventEnd(TN_HaloExchange, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynAdjReversePartEnd(TnDyn dyn, VecScatter sct)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_HaloExchange, 0, 0, 0, 0));
  PetscCall(VecScatterEnd(sct, dyn->adj.Gy, dyn->adj.Lv, ADD_VALUES, SCATTER_REVERSE));
  PetscCall(VecResetArray(dyn->adj.Lv));
  PetscCall(PetscLogEventEnd(TN_HaloExchange, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynAdjHaloBegin(TnDyn dyn, const PetscReal *send)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynAdjHaloPartBegin(dyn, dyn->halo, send));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynAdjHaloEnd(TnDyn dyn, const PetscReal **ghost)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynAdjHaloPartEnd(dyn, dyn->halo, ghost));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynAdjReverseBegin(TnDyn dyn, PetscReal *into)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynAdjReversePartBegin(dyn, dyn->halo, into));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynAdjReverseEnd(TnDyn dyn)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynAdjReversePartEnd(dyn, dyn->halo));
  PetscFunctionReturn(PETSC_SUCCESS);
}

void TnDynAdjSwap(TnDyn dyn)
{
  PetscReal *t    = dyn->adj.lam; /* lambda_k becomes the next step's lambda_{k+1} */
  dyn->adj.lam    = dyn->adj.lamnew;
  dyn->adj.lamnew = t;
}

PetscErrorCode TnDynAdjointReset(TnDyn dyn)
{
  TnDynAdj *g = &dyn->adj;
  PetscFunctionBeginUser;
  if (!g->setup) PetscFunctionReturn(PETSC_SUCCESS);
  if (dyn->ops.adjointreset) PetscCall(dyn->ops.adjointreset(dyn));
  PetscCall(TnMemoryFreeAligned(&g->lamall));
  PetscCall(PetscFree(g->wt));
  PetscCall(VecDestroy(&g->Pv));
  PetscCall(VecDestroy(&g->Lv));
  PetscCall(VecDestroy(&g->Gp));
  PetscCall(TnMemoryFreeAligned(&g->gbuf));
  PetscCall(VecDestroy(&g->Gy));
  PetscCall(PetscMemzero(g, sizeof(*g)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynAdjointSetUp(TnDyn dyn, size_t *nsave, PetscLogDouble *bytes)
{
  TnDynAdj    *g = &dyn->adj;
  const size_t n = (size_t)dyn->m * dyn->B;
  PetscFunctionBeginUser;
  PetscCall(TnDynSetUp(dyn));
  if (!g->setup) {
    PetscCheck(dyn->ops.adjointstep, dyn->comm, PETSC_ERR_SUP, "the %s scheme has no adjoint step", dyn->type);
    PetscCheck(TnLogDetIsLocal(dyn->ldt), dyn->comm, PETSC_ERR_SUP, "the gradient is implemented for the local log-det methods (diag, trace); -logdet_type %s has none here", TnLogDetTypes[dyn->ldt]);
    g->setup = PETSC_TRUE;
    g->bytes = 0;
    g->nsave = 0;
    if (dyn->ops.adjointsetup) PetscCall(dyn->ops.adjointsetup(dyn, &g->nsave));
    /* an in-place adjoint step (colored) needs no second lambda */
    PetscCall(TnMemoryAllocAligned(sizeof(PetscReal) * ((g->inplace ? 1 : 2) * n + 1), &g->lamall)); /* W^T lambda gathers from it */
    PetscCall(PetscMalloc1(dyn->B, &g->wt));
    g->lam    = g->lamall;
    g->lamnew = g->inplace ? NULL : g->lamall + n;
    PetscCall(VecCreateMPIWithArray(dyn->comm, dyn->B, (PetscInt)n, PETSC_DECIDE, NULL, &g->Pv));
    PetscCall(VecCreateMPIWithArray(dyn->comm, dyn->B, (PetscInt)n, PETSC_DECIDE, NULL, &g->Lv));
    PetscCall(TnMemoryAllocAligned(sizeof(PetscReal) * ((size_t)dyn->nghost * dyn->B + 1), &g->gbuf));
    PetscCall(VecCreateSeqWithArray(PETSC_COMM_SELF, 1, dyn->nghost * dyn->B, g->gbuf, &g->Gp));
    PetscCall(VecCreateSeq(PETSC_COMM_SELF, dyn->nghost * dyn->B, &g->Gy));
    g->bytes += 8.0 * (g->inplace ? 1 : 2) * n + 2 * 8.0 * dyn->nghost * dyn->B + 8.0 * dyn->m;
  }
  if (nsave) *nsave = g->nsave;
  if (bytes) *bytes = g->bytes;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynAdjointBegin(TnDyn dyn, const PetscScalar *aK, PetscInt nvalid, PetscScalar *grad)
{
  TnDynAdj     *g = &dyn->adj;
  TnParamLayout L;
  const size_t  n = (size_t)dyn->m * dyn->B;
  PetscFunctionBeginUser;
  PetscCall(TnDynAdjointSetUp(dyn, NULL, NULL));
  PetscCheck(nvalid >= 0 && nvalid <= dyn->B, dyn->comm, PETSC_ERR_ARG_OUTOFRANGE, "nvalid = %" PetscInt_FMT " must be in [0, B = %" PetscInt_FMT "]", nvalid, dyn->B);
  PetscCall(TnNetGetParamLayout(dyn->net, &L));
  for (PetscInt b = 0; b < dyn->B; b++) g->wt[b] = b < nvalid ? 1.0 / nvalid : 0.0;
  for (size_t q = 0; q < n; q++) {
    PetscReal z = aK[q];
    g->lam[q]   = g->wt[q % dyn->B] * TnBaseSlope(dyn->base, z) * TnDynFree(dyn, (PetscInt)(q / dyn->B));
  }
  PetscCall(PetscArrayzero(grad, L.n));
  g->acc.gW = grad;
  g->acc.gb = grad + L.b;
  g->acc.gg = grad + L.u;
  if (dyn->ops.adjointbegin) PetscCall(dyn->ops.adjointbegin(dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynAdjointStep(TnDyn dyn, PetscInt k, const PetscScalar *ak, const PetscScalar *ak1, const PetscReal *save)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_Adjoint, 0, 0, 0, 0));
  PetscCall(dyn->ops.adjointstep(dyn, k, ak, ak1, save));
  if (dyn->fmask) /* lambda_k on the clamped nodes: their rows of J_k are the identity's, so it never reaches a free node or a parameter; zero keeps it so */
    for (PetscInt i = 0; i < dyn->m; i++)
      if (dyn->fmask[i] == 0)
        for (PetscInt b = 0; b < dyn->B; b++) dyn->adj.lam[(size_t)i * dyn->B + b] = 0;
  PetscCall(PetscLogEventEnd(TN_Adjoint, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynAdjointEnd(TnDyn dyn, PetscScalar *grad)
{
  TnParamLayout L;
  PetscFunctionBeginUser;
  if (dyn->ops.adjointend) PetscCall(dyn->ops.adjointend(dyn));
  PetscCall(TnNetGetParamLayout(dyn->net, &L));
  for (PetscInt i = 0; i < dyn->m; i++) grad[L.u + i] *= dyn->gamma[i]; /* dL/du = gamma dL/dgamma */
  PetscFunctionReturn(PETSC_SUCCESS);
}
