/* sync scheme (explicit Euler, every node at once), MODEL.md section 2:
     rate:    a <- a + h(-gamma a + W phi(a) + b),  A_ii = -gamma_i + W_ii phi'(a_i)
     current: a <- a + h(-gamma a + phi(W a + b)),  A_ii = -gamma_i + W_ii phi'(s_i)
   One halo exchange per step, overlapped with the on-process block as in
   MatMult_MPIAIJ: begin the exchange, multiply Ad, end it, add Ao. */
#include "dynimpl.h"

PetscErrorCode TnDynHaloBegin(TnDyn dyn)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_HaloExchange, 0, 0, 0, 0));
  PetscCall(VecScatterBegin(dyn->halo, dyn->P, dyn->G, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(PetscLogEventEnd(TN_HaloExchange, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynHaloEnd(TnDyn dyn)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_HaloExchange, 0, 0, 0, 0));
  PetscCall(VecScatterEnd(dyn->halo, dyn->P, dyn->G, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(PetscLogEventEnd(TN_HaloExchange, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* rate form: p = phi(a) is exchanged; a is updated in place (rows read p). */
static PetscErrorCode StepRate(TnDyn dyn, PetscScalar *a, PetscReal *ldet, PetscReal *nodeacc)
{
  const PetscInt     B = dyn->B, m = dyn->m;
  const PetscReal    h = dyn->h;
  PetscScalar       *p = dyn->pbuf;
  const PetscScalar *g;
  PetscReal         *y = dyn->hA + B, *hA = dyn->hA;
  PetscInt           cnt = 0;
  PetscFunctionBeginUser;
  if (dyn->act == TN_ACT_TANH)
    for (PetscInt q = 0; q < m * B; q++) p[q] = tanh(a[q]);
  else
    PetscCall(PetscArraycpy(p, a, m * B));
  PetscCall(TnDynHaloBegin(dyn));
  TnAccBegin(dyn);
  for (PetscInt i = 0; i < m; i++) {
    PetscScalar       *ai = a + (size_t)i * B;
    const PetscScalar *pi = p + (size_t)i * B;
    for (PetscInt b = 0; b < B; b++) y[b] = 0;
    TnRowTimesBlock(&dyn->d, i, p, B, y);
    for (PetscInt b = 0; b < B; b++) {
      PetscReal dphi = dyn->act == TN_ACT_TANH ? 1.0 - pi[b] * pi[b] : 1.0; /* phi'(a) = 1 - tanh^2 */
      hA[b]          = h * (-dyn->gamma[i] + dyn->wdiag[i] * dphi);
      ai[b] += h * (-dyn->gamma[i] * ai[b] + dyn->bias[i] + y[b]);
    }
    TnAccRow(dyn, hA, &cnt, nodeacc ? nodeacc + i : NULL);
  }
  TnAccEnd(dyn, ldet);
  PetscCall(TnDynHaloEnd(dyn));
  PetscCall(VecGetArrayRead(dyn->G, &g));
  for (PetscInt r = 0; r < dyn->noff; r++) {
    PetscInt i = dyn->offrows[r];
    for (PetscInt b = 0; b < B; b++) y[b] = 0;
    TnRowTimesBlock(&dyn->o, i, g, B, y);
    for (PetscInt b = 0; b < B; b++) a[(size_t)i * B + b] += h * y[b];
  }
  PetscCall(VecRestoreArrayRead(dyn->G, &g));
  PetscCall(PetscLogFlops(2.0 * B * (double)(dyn->d.ia[m] + dyn->o.ia[m]) + 8.0 * m * B));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* current form: a is exchanged; s = W a + b is formed, then a updated. */
static PetscErrorCode StepCurrent(TnDyn dyn, PetscScalar *a, PetscReal *ldet, PetscReal *nodeacc)
{
  const PetscInt     B = dyn->B, m = dyn->m;
  const PetscReal    h = dyn->h;
  const PetscScalar *g;
  PetscReal         *s = dyn->S, *hA = dyn->hA;
  PetscInt           cnt = 0;
  PetscFunctionBeginUser;
  PetscCall(PetscArraycpy(dyn->pbuf, a, m * B));
  PetscCall(TnDynHaloBegin(dyn));
  for (PetscInt i = 0; i < m; i++) {
    PetscReal *si = s + (size_t)i * B;
    for (PetscInt b = 0; b < B; b++) si[b] = dyn->bias[i];
    TnRowTimesBlock(&dyn->d, i, a, B, si);
  }
  PetscCall(TnDynHaloEnd(dyn));
  PetscCall(VecGetArrayRead(dyn->G, &g));
  for (PetscInt r = 0; r < dyn->noff; r++) TnRowTimesBlock(&dyn->o, dyn->offrows[r], g, B, s + (size_t)dyn->offrows[r] * B);
  PetscCall(VecRestoreArrayRead(dyn->G, &g));
  TnAccBegin(dyn);
  for (PetscInt i = 0; i < m; i++) {
    PetscScalar *ai = a + (size_t)i * B;
    PetscReal   *si = s + (size_t)i * B;
    for (PetscInt b = 0; b < B; b++) {
      PetscReal f = TnPhi(dyn->act, si[b]), dphi = dyn->act == TN_ACT_TANH ? 1.0 - f * f : 1.0;
      hA[b] = h * (-dyn->gamma[i] + dyn->wdiag[i] * dphi);
      ai[b] += h * (-dyn->gamma[i] * ai[b] + f);
    }
    TnAccRow(dyn, hA, &cnt, nodeacc ? nodeacc + i : NULL);
  }
  TnAccEnd(dyn, ldet);
  PetscCall(PetscLogFlops(2.0 * B * (double)(dyn->d.ia[m] + dyn->o.ia[m]) + 8.0 * m * B));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynStep_Sync(TnDyn dyn, PetscScalar *a, PetscReal *ldet, PetscReal *nodeacc)
{
  PetscFunctionBeginUser;
  if (dyn->form == TN_FORM_RATE)
    PetscCall(StepRate(dyn, a, ldet, nodeacc));
  else
    PetscCall(StepCurrent(dyn, a, ldet, nodeacc));
  PetscFunctionReturn(PETSC_SUCCESS);
}
