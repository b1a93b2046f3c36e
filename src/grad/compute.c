/* TnGradCompute: forward pass storing the trajectory (checkpoints every `seg`
   steps, and the whole last segment), then the backward pass segment by
   segment in reverse, each segment's states recomputed from its checkpoint:
     lambda_K = omega dl_base/da_K   (normal: a_K; logistic: tanh(a_K / 2))
     lambda_k = J_k^T lambda_{k+1} + d(step-k local loss)/da_k,  k = K-1 .. 0
   The halo exchanges are the dynamics' block scatter, forward and reversed. */
#include "gradimpl.h"

PetscErrorCode TnGradHaloBegin(TnGrad g, const PetscReal *send)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_HaloExchange, 0, 0, 0, 0));
  PetscCall(VecPlaceArray(g->Pv, send));
  PetscCall(VecScatterBegin(g->dyn->halo, g->Pv, g->Gp, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(PetscLogEventEnd(TN_HaloExchange, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnGradHaloEnd(TnGrad g, const PetscReal **ghost)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_HaloExchange, 0, 0, 0, 0));
  PetscCall(VecScatterEnd(g->dyn->halo, g->Pv, g->Gp, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecResetArray(g->Pv));
  *ghost = g->gbuf; /* Gp wraps this array of ours */
  PetscCall(PetscLogEventEnd(TN_HaloExchange, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* into += the ghost contributions other ranks accumulated in their Gy. */
PetscErrorCode TnGradReverseBegin(TnGrad g, PetscReal *into)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_HaloExchange, 0, 0, 0, 0));
  PetscCall(VecPlaceArray(g->Lv, into));
  PetscCall(VecScatterBegin(g->dyn->halo, g->Gy, g->Lv, ADD_VALUES, SCATTER_REVERSE));
  PetscCall(PetscLogEventEnd(TN_HaloExchange, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnGradReverseEnd(TnGrad g)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_HaloExchange, 0, 0, 0, 0));
  PetscCall(VecScatterEnd(g->dyn->halo, g->Gy, g->Lv, ADD_VALUES, SCATTER_REVERSE));
  PetscCall(VecResetArray(g->Lv));
  PetscCall(PetscLogEventEnd(TN_HaloExchange, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One forward step of the dynamics, a -> out (out may be a); ldet[b] +=
   the local terms; pa: where phi(a) is kept (sync, rate, tanh), or NULL.
   Both kernels write out directly (no copy of a). */
static PetscErrorCode Step(TnGrad g, const PetscScalar *a, PetscScalar *out, PetscReal *pa, PetscReal *ldet)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_DynStep, 0, 0, 0, 0));
  if (g->dyn->scheme == TN_SCHEME_SYNC)
    PetscCall(TnDynStep_Sync(g->dyn, a, out, pa, ldet, NULL));
  else
    PetscCall(TnDynStep_Colored(g->dyn, a, out, ldet, NULL));
  PetscCall(PetscLogEventEnd(TN_DynStep, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

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

/* Where phi(a_k) is kept for the backward pass (g->storep: sync, rate,
   tanh): slot j = k mod seg while k's segment is the one being processed. */
static PetscReal *PSlot(TnGrad g, PetscInt j)
{
  return g->storep ? STATE(g->p, j) : NULL;
}

/* a_0 = x through K steps, each written straight into its slot (no copies);
   res->steps and res->base as TnDynEvaluate. */
static PetscErrorCode Forward(TnGrad g, const PetscScalar *x, TnDynResult *res)
{
  TnDyn          dyn = g->dyn;
  const size_t   n   = (size_t)g->m * g->B;
  const PetscInt B = g->B, K = g->K;
  PetscScalar   *a = Slot(g, 0);
  PetscFunctionBeginUser;
  dyn->nvalid = res->nvalid;
  PetscCall(PetscArrayzero(res->steps, K * B));
  PetscCall(PetscArrayzero(res->base, B));
  PetscCall(PetscArraycpy(a, x, n));
  for (PetscInt k = 0; k < K; k++) {
    PetscScalar *next = Slot(g, k + 1);
    PetscCall(Step(g, a, next, k / g->seg == g->nseg - 1 ? PSlot(g, k % g->seg) : NULL, res->steps + k * B));
    a = next;
  }
  for (size_t q = 0; q < n; q++) res->base[q % B] += TnBaseLogDensity(dyn->base, g->aK[q]);
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
   and phi of states 0 .. len-1 into their p slots (g->storep). */
static PetscErrorCode Recompute(TnGrad g, PetscInt c, PetscInt len)
{
  const size_t n             = (size_t)g->m * g->B;
  PetscReal    scratch[1024] = {0}; /* the step's log-det terms: not needed again */
  PetscFunctionBeginUser;
  for (PetscInt j = 1; j < len; j++) PetscCall(Step(g, SegState(g, c, j - 1), SegState(g, c, j), PSlot(g, j - 1), scratch));
  if (g->storep) TnPhiAll(g->dyn->act, n, SegState(g, c, len - 1), PSlot(g, len - 1));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* lambda_K = omega_b dl_base/da_K; omega_b = 1/nvalid (real), 0 (padding). */
static void Terminal(TnGrad g, PetscInt nvalid)
{
  const size_t n = (size_t)g->m * g->B;
  for (PetscInt b = 0; b < g->B; b++) g->wt[b] = b < nvalid ? 1.0 / nvalid : 0.0;
  for (size_t q = 0; q < n; q++) {
    PetscReal z = g->aK[q];
    g->lam[q]   = g->wt[q % g->B] * (g->dyn->base == TN_BASE_NORMAL ? z : tanh(0.5 * z));
  }
}

static PetscErrorCode Backward(TnGrad g, TnGradAcc *acc)
{
  PetscFunctionBeginUser;
  for (PetscInt c = g->nseg - 1; c >= 0; c--) {
    PetscInt k0 = c * g->seg, k1 = PetscMin(g->K, k0 + g->seg);
    if (c < g->nseg - 1) PetscCall(Recompute(g, c, k1 - k0));
    for (PetscInt k = k1 - 1; k >= k0; k--) {
      const PetscScalar *ak = SegState(g, c, k - k0), *ak1;
      if (g->dyn->scheme == TN_SCHEME_SYNC)
        PetscCall(TnGradBackStep_Sync(g, ak, PSlot(g, k - k0), acc));
      else {
        ak1 = k + 1 < k1 ? SegState(g, c, k + 1 - k0) : Slot(g, k + 1);
        PetscCall(TnGradBackStep_Colored(g, ak, ak1, acc));
      }
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnGradCompute(TnGrad g, Vec x, TnDynResult *res, Vec grad)
{
  const PetscScalar *px;
  PetscScalar       *pg;
  PetscInt           n;
  TnGradAcc          acc;
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
  Terminal(g, res->nvalid);
  PetscCall(VecGetArrayWrite(grad, &pg));
  PetscCall(PetscArrayzero(pg, g->nlocal));
  acc.gW = pg;
  acc.gb = pg + g->nd + g->no;
  acc.gg = acc.gb + g->m;
  if (g->tia) { /* the gather kernel's W and dL/dW in the transpose's order */
    for (PetscInt t = 0; t < g->nd; t++) g->tva[t] = g->dyn->d.va[g->tperm[t]];
    PetscCall(PetscArrayzero(g->tgW, g->nd));
  }
  PetscCall(Backward(g, &acc));
  if (g->tia)
    for (PetscInt t = 0; t < g->nd; t++) pg[g->tperm[t]] += g->tgW[t];
  for (PetscInt i = 0; i < g->m; i++) acc.gg[i] *= g->dyn->gamma[i]; /* dL/du = gamma dL/dgamma */
  PetscCall(VecRestoreArrayWrite(grad, &pg));
  PetscCall(PetscLogEventEnd(TN_Gradient, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}
