/* The log-density of a batch: K steps, then the base density at a_K:
     log Phi(x) = log p_base(a_K) + sum_k sum_i (log-det term of node i, step k)
   and the local loss l = -log Phi split into per-step and per-node parts. */
#include "dynimpl.h"

PetscErrorCode TnDynCreateState(TnDyn dyn, Vec *x)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynSetUp(dyn));
  PetscCall(VecDuplicate(dyn->P, x)); /* a Vec that owns its array, P's layout */
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynCreateNaturalState(TnDyn dyn, Vec *xnat)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynSetUp(dyn));
  PetscCall(VecDuplicate(dyn->xnat, xnat));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynNaturalToState(TnDyn dyn, Vec xnat, Vec x, ScatterMode mode)
{
  PetscFunctionBeginUser;
  if (mode == SCATTER_FORWARD) {
    PetscCall(VecScatterBegin(dyn->nat2part, xnat, x, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecScatterEnd(dyn->nat2part, xnat, x, INSERT_VALUES, SCATTER_FORWARD));
  } else {
    PetscCall(VecScatterBegin(dyn->nat2part, x, xnat, INSERT_VALUES, SCATTER_REVERSE));
    PetscCall(VecScatterEnd(dyn->nat2part, x, xnat, INSERT_VALUES, SCATTER_REVERSE));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynResultCreate(TnDyn dyn, TnDynResult *res)
{
  PetscFunctionBeginUser;
  res->B      = dyn->B;
  res->K      = dyn->K;
  res->nvalid = dyn->B;
  PetscCall(PetscCalloc3(dyn->B, &res->logphi, dyn->B, &res->base, dyn->K * dyn->B + 1, &res->steps));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynResultDestroy(TnDynResult *res)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree3(res->logphi, res->base, res->steps));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* base[b] += sum_i log p_base(a_K,ib) over local nodes; nodeacc -= the
   same for the real samples b < nvalid. */
static void BaseTerms(TnDyn dyn, const PetscScalar *a, PetscReal *base, PetscReal *nodeacc, PetscInt nvalid)
{
  for (PetscInt i = 0; i < dyn->m; i++)
    for (PetscInt b = 0; b < dyn->B; b++) {
      PetscReal lp = TnBaseLogDensity(dyn->base, a[(size_t)i * dyn->B + b]);
      base[b] += lp;
      if (nodeacc && b < nvalid) nodeacc[i] -= lp;
    }
}

PetscErrorCode TnDynEvaluate(TnDyn dyn, Vec x, TnDynResult *res)
{
  PetscScalar *a, *nodeacc = NULL;
  TnProgress   prog;
  PetscInt     B = dyn->B, K = dyn->K;
  PetscFunctionBeginUser;
  PetscCall(TnDynSetUp(dyn));
  PetscCheck(res->B == B && res->K == K, dyn->comm, PETSC_ERR_ARG_WRONG, "result made for B = %" PetscInt_FMT ", K = %" PetscInt_FMT "; the dynamics has B = %" PetscInt_FMT ", K = %" PetscInt_FMT, res->B, res->K, B, K);
  PetscCheck(res->nvalid >= 0 && res->nvalid <= B, dyn->comm, PETSC_ERR_ARG_OUTOFRANGE, "res->nvalid = %" PetscInt_FMT " must be in [0, B = %" PetscInt_FMT "]", res->nvalid, B);
  dyn->nvalid = res->nvalid;
  PetscCall(PetscArrayzero(res->steps, K * B));
  PetscCall(PetscArrayzero(res->base, B));
  PetscCall(VecGetArray(x, &a));
  if (dyn->nodeloss) PetscCall(VecGetArray(dyn->nodeloss, &nodeacc));
  PetscCall(TnProgressStart(dyn->comm, &prog, "steps", K, 1.0, "steps"));
  for (PetscInt k = 0; k < K; k++) {
    PetscCall(PetscLogEventBegin(TN_DynStep, 0, 0, 0, 0));
    if (dyn->scheme == TN_SCHEME_SYNC)
      PetscCall(TnDynStep_Sync(dyn, a, res->steps + k * B, nodeacc));
    else
      PetscCall(TnDynStep_Colored(dyn, a, res->steps + k * B, nodeacc));
    PetscCall(PetscLogEventEnd(TN_DynStep, 0, 0, 0, 0));
    PetscCall(TnProgressUpdate(dyn->comm, &prog, k + 1));
  }
  BaseTerms(dyn, a, res->base, nodeacc, res->nvalid);
  if (dyn->nodeloss) PetscCall(VecRestoreArray(dyn->nodeloss, &nodeacc));
  PetscCall(VecRestoreArray(x, &a));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, res->steps, K * B, MPIU_REAL, MPIU_SUM, dyn->comm));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, res->base, B, MPIU_REAL, MPIU_SUM, dyn->comm));
  for (PetscInt b = 0; b < B; b++) {
    res->logphi[b] = res->base[b];
    for (PetscInt k = 0; k < K; k++) res->logphi[b] += res->steps[k * B + b];
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
