/* TnGradCompute: forward pass storing the trajectory (checkpoints every `seg`
   steps, and the whole last segment), then the backward pass segment by
   segment in reverse, each segment's states recomputed from its checkpoint;
   every step, forward and adjoint, is the scheme's own (TnDynStepArrays,
   TnDynAdjointStep):
     lambda_K = omega dl_base/da_K,
     lambda_k = J_k^T lambda_{k+1} + d(step-k local loss)/da_k,  k = K-1 .. 0 */
#include "gradimpl.h"

#define STATE(base, j) ((base) + (size_t)(j)*g->m * g->B)

/* Where a_k lives: the first state of segment c = k / seg is checkpoint c;
   the others of the last segment are segbuf[j - 1], j = k mod seg; those of
   earlier segments are not kept (the scratch aK, recomputed later); a_K is aK. */
static PetscScalar *Slot(TnGrad g, PetscInt k)
{
  PetscInt c = k / g->seg, j = k % g->seg;
  if (k == g->K) return g->aK;
  if (j == 0) return STATE(g->ckpts, c);
  return c == g->nseg - 1 ? STATE(g->segbuf, j - 1) : g->aK;
}

/* Where the save entries of a_k are kept for the backward pass: slot
   j = k mod seg while k's segment is the one being processed. */
static PetscReal *SaveSlot(TnGrad g, PetscInt j)
{
  return g->nsave ? g->save + (size_t)j * g->nsave : NULL;
}

/* a_0 = x through K steps, each written straight into its slot (no copies);
   res->steps and res->base as TnDynEvaluate. */
static PetscErrorCode Forward(TnGrad g, const PetscScalar *x, TnDynResult *res)
{
  const size_t   n = (size_t)g->m * g->B;
  const PetscInt B = g->B, K = g->K;
  PetscScalar   *a = Slot(g, 0);
  PetscFunctionBeginUser;
  PetscCall(PetscArrayzero(res->steps, K * B));
  PetscCall(PetscArrayzero(res->base, B));
  PetscCall(PetscArraycpy(a, x, n));
  for (PetscInt k = 0; k < K; k++) {
    PetscScalar *next = Slot(g, k + 1);
    PetscCall(TnDynStepArrays(g->dyn, k, a, next, k / g->seg == g->nseg - 1 ? SaveSlot(g, k % g->seg) : NULL, res->steps + k * B));
    a = next;
  }
  PetscCall(TnDynAddBaseTerms(g->dyn, g->aK, res->base)); /* over the free nodes */
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, res->steps, K * B, MPIU_REAL, MPIU_SUM, g->comm));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, res->base, B, MPIU_REAL, MPIU_SUM, g->comm));
  for (PetscInt b = 0; b < B; b++) {
    res->logphi[b] = res->base[b];
    for (PetscInt k = 0; k < K; k++) res->logphi[b] += res->steps[k * B + b];
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* State j of segment c (j = 0: the checkpoint; else segbuf[j - 1]). */
static PetscScalar *SegState(TnGrad g, PetscInt c, PetscInt j)
{
  return j == 0 ? STATE(g->ckpts, c) : STATE(g->segbuf, j - 1);
}

/* The states 1 .. len-1 of segment c, from its checkpoint, into segbuf,
   and the save entries of states 0 .. len-1 into their slots. */
static PetscErrorCode Recompute(TnGrad g, PetscInt c, PetscInt len)
{
  PetscReal scratch[1024] = {0}; /* the step's log-det terms: not needed again */
  PetscFunctionBeginUser;
  for (PetscInt j = 1; j < len; j++) PetscCall(TnDynStepArrays(g->dyn, c * g->seg + j - 1, SegState(g, c, j - 1), SegState(g, c, j), SaveSlot(g, j - 1), scratch));
  PetscCall(TnDynStepSave(g->dyn, SegState(g, c, len - 1), SaveSlot(g, len - 1)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Backward(TnGrad g)
{
  PetscFunctionBeginUser;
  for (PetscInt c = g->nseg - 1; c >= 0; c--) {
    PetscInt k0 = c * g->seg, k1 = PetscMin(g->K, k0 + g->seg);
    if (c < g->nseg - 1) PetscCall(Recompute(g, c, k1 - k0));
    for (PetscInt k = k1 - 1; k >= k0; k--) {
      const PetscScalar *ak = SegState(g, c, k - k0), *ak1 = k + 1 < k1 ? SegState(g, c, k + 1 - k0) : Slot(g, k + 1);
      PetscCall(TnDynAdjointStep(g->dyn, k, ak, ak1, SaveSlot(g, k - k0)));
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnGradCompute(TnGrad g, Vec x, TnDynResult *res, Vec grad)
{
  const PetscScalar *px;
  PetscScalar       *pg;
  PetscInt           n;
  PetscFunctionBeginUser;
  PetscCall(TnGradSetUp(g));
  PetscCheck(res->B == g->B && res->K == g->K, g->comm, PETSC_ERR_ARG_WRONG, "result made for B = %" PetscInt_FMT ", K = %" PetscInt_FMT "; the dynamics has B = %" PetscInt_FMT ", K = %" PetscInt_FMT, res->B, res->K, g->B, g->K);
  PetscCheck(res->nvalid >= 0 && res->nvalid <= g->B, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "res->nvalid = %" PetscInt_FMT " must be in [0, B = %" PetscInt_FMT "]", res->nvalid, g->B);
  PetscCall(VecGetLocalSize(x, &n));
  PetscCheck(n == g->m * g->B, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "state has local size %" PetscInt_FMT ", expected %" PetscInt_FMT " (TnDynCreateState)", n, g->m * g->B);
  PetscCall(VecGetLocalSize(grad, &n));
  PetscCheck(n == g->nlocal, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "gradient has local size %" PetscInt_FMT ", expected %" PetscInt_FMT " (TnGradCreateParamVec)", n, g->nlocal);
  PetscCall(PetscLogEventBegin(TN_Gradient, 0, 0, 0, 0));
  PetscCall(VecGetArrayRead(x, &px));
  PetscCall(Forward(g, px, res));
  PetscCall(VecRestoreArrayRead(x, &px));
  PetscCall(VecGetArrayWrite(grad, &pg));
  PetscCall(TnDynAdjointBegin(g->dyn, g->aK, res->nvalid, pg));
  PetscCall(Backward(g));
  PetscCall(TnDynAdjointEnd(g->dyn, pg));
  PetscCall(VecRestoreArrayWrite(grad, &pg));
  PetscCall(PetscLogEventEnd(TN_Gradient, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}
