/* colored scheme (Gauss-Seidel by colour), MODEL.md section 2: substep c
   updates a_i <- a_i + h f_i(a) for the nodes of colour c only. No node of
   colour c reads another node of colour c, so the substep Jacobian is the
   identity but for the rows of colour c and its log-determinant is exactly
   sum_{i in c} log|1 + h A_ii|, A_ii evaluated before the substep.
   One halo exchange per substep; the interior rows of the colour are updated
   while it is in flight. pbuf holds phi(a) (rate) or a (current) and is kept
   equal to it row by row; a colour-c value that changes while the exchange
   is in flight is read by nobody during substep c. */
#include "dynimpl.h"

/* Updates row i; ghosts g may be NULL for an interior row. */
static inline void UpdateRow(TnDyn dyn, PetscInt i, PetscScalar *a, const PetscScalar *g, PetscInt *cnt, PetscReal *nodeacc)
{
  const PetscInt  B = dyn->B;
  const PetscReal h = dyn->h, gi = dyn->gamma[i], wii = dyn->wdiag[i];
  PetscReal      *y = dyn->hA + B, *hA = dyn->hA, *pi = dyn->pbuf + (size_t)i * B;
  PetscScalar    *ai = a + (size_t)i * B;
  if (dyn->form == TN_FORM_RATE) {
    for (PetscInt b = 0; b < B; b++) y[b] = dyn->bias[i];
    TnRowTimesBlock(&dyn->d, i, dyn->pbuf, B, y);
    if (g) TnRowTimesBlock(&dyn->o, i, g, B, y);
    for (PetscInt b = 0; b < B; b++) {
      PetscReal dphi = dyn->act == TN_ACT_TANH ? 1.0 - pi[b] * pi[b] : 1.0;
      hA[b]          = h * (-gi + wii * dphi);
      ai[b] += h * (-gi * ai[b] + y[b]);
      pi[b] = TnPhi(dyn->act, ai[b]);
    }
  } else {
    for (PetscInt b = 0; b < B; b++) y[b] = dyn->bias[i];
    TnRowTimesBlock(&dyn->d, i, dyn->pbuf, B, y);
    if (g) TnRowTimesBlock(&dyn->o, i, g, B, y);
    for (PetscInt b = 0; b < B; b++) {
      PetscReal f = TnPhi(dyn->act, y[b]), dphi = dyn->act == TN_ACT_TANH ? 1.0 - f * f : 1.0;
      hA[b] = h * (-gi + wii * dphi);
      ai[b] += h * (-gi * ai[b] + f);
      pi[b] = ai[b];
    }
  }
  TnAccRow(dyn, hA, cnt, nodeacc ? nodeacc + i : NULL);
}

PetscErrorCode TnDynStep_Colored(TnDyn dyn, PetscScalar *a, PetscReal *ldet, PetscReal *nodeacc)
{
  const PetscInt B = dyn->B, m = dyn->m;
  PetscInt       cnt = 0;
  PetscFunctionBeginUser;
  if (dyn->form == TN_FORM_RATE)
    for (PetscInt q = 0; q < m * B; q++) dyn->pbuf[q] = TnPhi(dyn->act, a[q]);
  else
    PetscCall(PetscArraycpy(dyn->pbuf, a, m * B));
  TnAccBegin(dyn);
  for (PetscInt c = 0; c < dyn->ncolors; c++) {
    const PetscInt    *rows = dyn->crows + dyn->cptr[c], nint = dyn->cnint[c], nrows = dyn->cptr[c + 1] - dyn->cptr[c];
    const PetscScalar *g;
    PetscCall(TnDynHaloBegin(dyn));
    for (PetscInt r = 0; r < nint; r++) UpdateRow(dyn, rows[r], a, NULL, &cnt, nodeacc);
    PetscCall(TnDynHaloEnd(dyn));
    PetscCall(VecGetArrayRead(dyn->G, &g));
    for (PetscInt r = nint; r < nrows; r++) UpdateRow(dyn, rows[r], a, g, &cnt, nodeacc);
    PetscCall(VecRestoreArrayRead(dyn->G, &g));
  }
  TnAccEnd(dyn, ldet);
  PetscCall(PetscLogFlops(2.0 * B * (double)(dyn->d.ia[m] + dyn->o.ia[m]) + 8.0 * m * B));
  PetscFunctionReturn(PETSC_SUCCESS);
}
