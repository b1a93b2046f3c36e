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

/* Updates the rows rows[0..n) (all of one colour): out_i = a_i + h f_i, where
   f_i reads the other nodes through pbuf only, so out may be a (in place) or
   another array (every row is written once per sweep: each node has one
   colour); g = NULL for interior rows. */
TN_INLINE void UpdateRows(TnDyn dyn, const PetscInt *rows, PetscInt n, const PetscScalar *a, PetscScalar *out, const PetscScalar *restrict g, TnAcc *acc, PetscReal *prod, int *expo, PetscReal *nodeacc, const PetscInt B)
{
  const PetscReal h    = dyn->h;
  const int       rate = dyn->form == TN_FORM_RATE, lin = dyn->act == TN_ACT_LINEAR;
  PetscReal       y[B], hA[B];
  for (PetscInt r = 0; r < n; r++) {
    const PetscInt  i  = rows[r];
    const PetscReal gi = dyn->gamma[i], wi = dyn->wdiag[i];
    PetscReal *restrict pi = dyn->pbuf + (size_t)i * B;
    const PetscScalar *ai  = a + (size_t)i * B;
    PetscScalar       *oi  = out + (size_t)i * B;
    for (PetscInt b = 0; b < B; b++) y[b] = dyn->bias[i];
    TnRowTimesBlock(&dyn->d, i, dyn->pbuf, B, y);
    if (g) TnRowTimesBlock(&dyn->o, i, g, B, y);
    for (PetscInt b = 0; b < B; b++) {
      /* rate: y = (W phi(a) + b)_i, phi'(a_i) = 1 - p_i^2; current: y = s_i */
      PetscReal f = rate ? y[b] : TnPhi(dyn->act, y[b]), t = rate ? pi[b] : f;
      hA[b] = h * (-gi + wi * (lin ? 1.0 : 1.0 - t * t));
      oi[b] = ai[b] + h * (-gi * ai[b] + f);
      pi[b] = rate ? TnPhi(dyn->act, oi[b]) : oi[b];
    }
    TnAccRow(acc, hA, prod, expo, nodeacc ? nodeacc + i : NULL, B);
  }
}

TN_INLINE PetscErrorCode Sweep(TnDyn dyn, const PetscScalar *a, PetscScalar *out, PetscReal *ldet, PetscReal *nodeacc, const PetscInt B)
{
  PetscReal prod[B];
  int       expo[B];
  TnAcc     acc;
  PetscFunctionBeginUser;
  TnAccBegin(dyn, &acc, prod, expo, B);
  for (PetscInt c = 0; c < dyn->ncolors; c++) {
    const PetscInt    *rows = dyn->crows + dyn->cptr[c], nint = dyn->cnint[c], nrows = dyn->cptr[c + 1] - dyn->cptr[c];
    const PetscScalar *g;
    PetscCall(TnDynHaloBegin(dyn));
    UpdateRows(dyn, rows, nint, a, out, NULL, &acc, prod, expo, nodeacc, B);
    PetscCall(TnDynHaloEnd(dyn));
    PetscCall(VecGetArrayRead(dyn->G, &g));
    UpdateRows(dyn, rows + nint, nrows - nint, a, out, g, &acc, prod, expo, nodeacc, B);
    PetscCall(VecRestoreArrayRead(dyn->G, &g));
  }
  TnAccEnd(&acc, prod, expo, ldet, B);
  PetscFunctionReturn(PETSC_SUCCESS);
}

#define TN_SWEEP(dyn, a, out, ldet, nodeacc, B) PetscCall(Sweep(dyn, a, out, ldet, nodeacc, B))

PetscErrorCode TnDynStep_Colored(TnDyn dyn, const PetscScalar *a, PetscScalar *out, PetscReal *ldet, PetscReal *nodeacc)
{
  const PetscInt n = dyn->m * dyn->B;
  PetscFunctionBeginUser;
  if (dyn->form == TN_FORM_RATE)
    for (PetscInt q = 0; q < n; q++) dyn->pbuf[q] = TnPhi(dyn->act, a[q]);
  else
    PetscCall(PetscArraycpy(dyn->pbuf, a, n));
  TN_DISPATCH_B(dyn->B, TN_SWEEP, dyn, a, out, ldet, nodeacc);
  PetscCall(PetscLogFlops(2.0 * dyn->B * (double)(dyn->d.ia[dyn->m] + dyn->o.ia[dyn->m]) + 8.0 * dyn->m * dyn->B));
  PetscFunctionReturn(PETSC_SUCCESS);
}
