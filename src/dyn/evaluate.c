/* The log-density of a batch: K steps, then the base density at a_K:
     log Phi(x) = log p_base(a_K) + sum_k sum_i (log-det term of node i, step k)
   and the local loss l = -log Phi split into per-step and per-node parts. */
#include "dynimpl.h"

PetscErrorCode TnDynCreateState(TnDyn dyn, Vec *x)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynSetUp(dyn));
  PetscCall(TnVecCreateAligned(dyn->comm, dyn->m * dyn->B, dyn->B, x)); /* P's layout, a row of B values on whole cache lines */
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
  PetscCall(TnNetNaturalMove(dyn->net, xnat, x, mode));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynResultCreate(TnDyn dyn, TnDynResult *res)
{
  PetscFunctionBeginUser;
  res->B      = dyn->B;
  res->K      = dyn->K;
  res->nvalid = dyn->B;
  res->first  = 0;
  PetscCall(PetscCalloc4(dyn->B, &res->logphi, dyn->B, &res->base, dyn->K * dyn->B + 1, &res->steps, dyn->B, &res->logphi_se));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynResultDestroy(TnDynResult *res)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree4(res->logphi, res->base, res->steps, res->logphi_se));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* base[b] += sum_i log p_base(a_K,ib) over the local free nodes (a
   clamped node has no base term); nodeacc -= the same for the real samples
   b < nvalid. */
static void BaseTerms(TnDyn dyn, const PetscScalar *a, PetscReal *base, PetscReal *nodeacc, PetscInt nvalid)
{
  for (PetscInt i = 0; i < dyn->m; i++)
    if (TnDynFree(dyn, i) != 0)
      for (PetscInt b = 0; b < dyn->B; b++) {
        PetscReal lp = TnBaseLogDensity(dyn->base, a[(size_t)i * dyn->B + b]);
        base[b] += lp;
        if (nodeacc && b < nvalid) nodeacc[i] -= lp;
      }
}

/* The global method's log|det J_k| for each real sample, before step k. A
   determinant <= 0 means the step is not a bijection there: an error naming
   the step and the sample. An estimate (slq) of step k of sample s (its
   number in the data set) draws from stream s K + k, so every step of every
   sample has its own independent probes: the errors of the K steps are
   independent and var[b] += se^2 adds up the variance of log Phi. */
static PetscErrorCode ExactStep(TnDyn dyn, Vec x, PetscInt k, const TnDynResult *res, PetscReal *out, PetscReal *var)
{
  PetscFunctionBeginUser;
  for (PetscInt b = 0; b < res->nvalid; b++) {
    TnLogDetResult r;
    PetscCall(TnDynStepJacobian(dyn, x, b, dyn->J));
    PetscCall(TnLogDetSetStream(dyn->exact, ((PetscInt64)res->first + b) * dyn->K + k));
    PetscCall(TnLogDetCompute(dyn->exact, dyn->J, &r));
    var[b] += r.stderr_ * r.stderr_;
    PetscCheck(r.sign > 0, dyn->comm, PETSC_ERR_USER, "step %" PetscInt_FMT ", sample %" PetscInt_FMT ": det J_k %s (log|det| = %g): the evolution is not invertible there, so Phi is not a density; use a smaller -dyn_h or smaller weights", k, res->first + b, r.sign == 0 ? "= 0" : "< 0", (double)r.logabs);
    out[b] = r.logabs;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynEvaluate(TnDyn dyn, Vec x, TnDynResult *res)
{
  PetscReal   *exact = NULL;
  PetscScalar *a, *nodeacc = NULL;
  TnProgress   prog;
  PetscInt     B = dyn->B, K = dyn->K;
  PetscBool    own;
  PetscFunctionBeginUser;
  PetscCall(TnDynSetUp(dyn));
  own = (PetscBool)(!dyn->exact && dyn->ops.order); /* the scheme's own order between the steps; not with a global log-det: it reads x, in the partitioned order, before every step */
  PetscCheck(res->B == B && res->K == K, dyn->comm, PETSC_ERR_ARG_WRONG, "result made for B = %" PetscInt_FMT ", K = %" PetscInt_FMT "; the dynamics has B = %" PetscInt_FMT ", K = %" PetscInt_FMT, res->B, res->K, B, K);
  PetscCheck(res->nvalid >= 0 && res->nvalid <= B, dyn->comm, PETSC_ERR_ARG_OUTOFRANGE, "res->nvalid = %" PetscInt_FMT " must be in [0, B = %" PetscInt_FMT "]", res->nvalid, B);
  dyn->nvalid = res->nvalid;
  PetscCall(PetscArrayzero(res->steps, K * B));
  PetscCall(PetscArrayzero(res->base, B));
  PetscCall(PetscArrayzero(res->logphi_se, B));
  PetscCall(VecGetArray(x, &a));
  if (dyn->nodeloss) PetscCall(VecGetArray(dyn->nodeloss, &nodeacc));
  PetscCall(TnProgressStart(dyn->comm, &prog, "steps", K, 1.0, "steps"));
  if (dyn->exact) PetscCall(PetscCalloc1(K * B + 1, &exact));
  if (own) PetscCall(dyn->ops.order(dyn, a, PETSC_TRUE));
  for (PetscInt k = 0; k < K; k++) {
    if (dyn->exact) {
      PetscCall(VecRestoreArray(x, &a));
      PetscCall(ExactStep(dyn, x, k, res, exact + k * B, res->logphi_se));
      PetscCall(VecGetArray(x, &a));
    }
    PetscCall(PetscLogEventBegin(TN_DynStep, 0, 0, 0, 0));
    PetscCall(dyn->ops.step(dyn, k, a, a, NULL, res->steps + k * B, nodeacc));
    PetscCall(PetscLogEventEnd(TN_DynStep, 0, 0, 0, 0));
    PetscCall(TnProgressUpdate(dyn->comm, &prog, k + 1));
  }
  if (own) PetscCall(dyn->ops.order(dyn, a, PETSC_FALSE));
  BaseTerms(dyn, a, res->base, nodeacc, res->nvalid);
  if (dyn->nodeloss) PetscCall(VecRestoreArray(dyn->nodeloss, &nodeacc));
  PetscCall(VecRestoreArray(x, &a));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, res->steps, K * B, MPIU_REAL, MPIU_SUM, dyn->comm));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, res->base, B, MPIU_REAL, MPIU_SUM, dyn->comm));
  if (exact) { /* the exact values replace the kernel's local ones */
    for (PetscInt k = 0; k < K; k++)
      for (PetscInt b = 0; b < res->nvalid; b++) res->steps[k * B + b] = exact[k * B + b];
    PetscCall(PetscFree(exact));
  }
  for (PetscInt b = 0; b < B; b++) {
    res->logphi_se[b] = PetscSqrtReal(res->logphi_se[b]); /* variance -> standard error */
    res->logphi[b]    = res->base[b];
    for (PetscInt k = 0; k < K; k++) res->logphi[b] += res->steps[k * B + b];
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynStepArrays(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *save, PetscReal *ldet)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_DynStep, 0, 0, 0, 0));
  PetscCall(dyn->ops.step(dyn, k, a, out, save, ldet, NULL));
  PetscCall(PetscLogEventEnd(TN_DynStep, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynStepSave(TnDyn dyn, const PetscScalar *a, PetscReal *save)
{
  PetscFunctionBeginUser;
  if (save && dyn->ops.stepsave) PetscCall(dyn->ops.stepsave(dyn, a, save));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynStepInverse(TnDyn dyn, PetscInt k, PetscScalar *a, TnDynInverseStats *st)
{
  PetscFunctionBeginUser;
  PetscCheck(dyn->ops.inversestep, dyn->comm, PETSC_ERR_SUP, "the %s scheme has no inverse step", dyn->type);
  PetscCall(PetscLogEventBegin(TN_Inverse, 0, 0, 0, 0));
  PetscCall(dyn->ops.inversestep(dyn, k, a, st));
  PetscCall(PetscLogEventEnd(TN_Inverse, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}
