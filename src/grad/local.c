/* TnGradComputeLocal: the local rule (docs/gradient.md, "The local rule").
   One forward pass a_0 = x -> a_K through the scheme's local step
   (TnDynLocalStep), which carries each node's eligibility traces
   e_k = d a_{k,i} / d theta_i and adds node i's own step-k loss terms; the
   base term at a_K closes it (TnDynLocalEnd). Two states of memory besides
   the traces: no trajectory, no backward pass. */
#include "gradimpl.h"

PetscErrorCode TnGradComputeLocal(TnGrad g, Vec x, TnDynResult *res, Vec grad)
{
  TnDyn              dyn = g->dyn;
  PetscInt           K, B, m, nl;
  TnBase             base;
  const PetscScalar *px;
  PetscScalar       *pg, *a, *next;
  size_t             n;
  TnParamLayout      L;
  PetscFunctionBeginUser;
  PetscCall(TnDynSetUp(dyn));
  PetscCall(TnDynGetParams(dyn, NULL, NULL, NULL, NULL, &K, &B));
  PetscCall(TnDynGetLocalSize(dyn, &m));
  PetscCall(TnDynGetLoss(dyn, NULL, &base));
  PetscCheck(res->B == B && res->K == K, g->comm, PETSC_ERR_ARG_WRONG, "result made for B = %" PetscInt_FMT ", K = %" PetscInt_FMT "; the dynamics has B = %" PetscInt_FMT ", K = %" PetscInt_FMT, res->B, res->K, B, K);
  n = (size_t)m * B;
  PetscCall(TnDynLocalSetUp(dyn, g->lsize == n ? 0 : 16.0 * n, NULL));
  if (g->lsize != n) {
    PetscCall(TnMemoryFreeAligned(&g->lstate));
    PetscCall(TnMemoryAllocAligned(sizeof(PetscScalar) * (2 * n + 1), &g->lstate)); /* rows of B values on whole cache lines */
    g->lsize = n;
  }
  PetscCall(VecGetLocalSize(grad, &nl));
  PetscCall(TnNetGetParamLayout(g->net, &L));
  PetscCheck(nl == L.n, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "grad has %" PetscInt_FMT " local entries, theta's layout %" PetscInt_FMT " (use TnGradCreateParamVec)", nl, L.n);
  PetscCall(PetscLogEventBegin(TN_Gradient, 0, 0, 0, 0));
  PetscCall(VecGetArrayWrite(grad, &pg));
  PetscCall(TnDynLocalBegin(dyn, res->nvalid, pg));
  PetscCall(PetscArrayzero(res->steps, K * B));
  PetscCall(PetscArrayzero(res->base, B));
  PetscCall(PetscArrayzero(res->logphi_se, B));
  a    = g->lstate;
  next = g->lstate + n;
  PetscCall(VecGetArrayRead(x, &px));
  PetscCall(PetscArraycpy(a, px, n));
  PetscCall(VecRestoreArrayRead(x, &px));
  for (PetscInt k = 0; k < K; k++) {
    PetscScalar *t;
    PetscCall(TnDynLocalStep(dyn, k, a, next, res->steps + k * B));
    t    = a; /* a_{k+1} becomes the next step's a_k */
    a    = next;
    next = t;
  }
  for (size_t q = 0; q < n; q++) res->base[q % B] += TnBaseLogDensity(base, a[q]);
  PetscCall(TnDynLocalEnd(dyn, a, pg));
  PetscCall(VecRestoreArrayWrite(grad, &pg));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, res->steps, K * B, MPIU_REAL, MPIU_SUM, g->comm));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, res->base, B, MPIU_REAL, MPIU_SUM, g->comm));
  for (PetscInt b = 0; b < B; b++) {
    res->logphi[b] = res->base[b];
    for (PetscInt k = 0; k < K; k++) res->logphi[b] += res->steps[k * B + b];
  }
  PetscCall(PetscLogEventEnd(TN_Gradient, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}
