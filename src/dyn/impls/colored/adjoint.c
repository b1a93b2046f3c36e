/* Backward step of the colored scheme (docs/gradient.md): the C substeps in
   reverse colour order. Substep c changes only the rows i of colour c,
   a_i <- a_i + h f_i(a), so with lam the adjoint after it, the adjoint before
   it is (in place)
     rate:    v_i = h lam_i (i in c);  lam_i <- (1 - h gamma_i) lam_i + c_i w_ii phi''(a_i),
              then lam_j += phi'(a_j) W_ij v_i for every synapse of the rows of c
     current: mu_i = h phi'(s_i) lam_i + c_i w_ii phi''(s_i);  lam_i <- (1 - h gamma_i) lam_i,
              then lam_j += W_ij mu_i
   with the parameter gradients of the sync step restricted to the rows of c.
   Rows of colour c read no other row of colour c, so a row's own update
   (the self-loop j = i included) is the only write to lam_i. The state before
   substep c is a_{k+1} on the colours < c and a_k on the colours >= c: it is
   rebuilt going down the colours, one colour's rows at a time. */
#include "coloredimpl.h"

/* One row i of colour c. a: the state before the substep; p = phi(a) (rate);
   gx: ghost values of p (rate) or a (current), NULL for an interior row. */
TN_INLINE void Row(TnDyn dyn, PetscInt i, const PetscReal *restrict a, const PetscReal *restrict gx, PetscReal *restrict gy, TnDynAdjAcc *acc, const PetscInt B)
{
  TnDynAdj        *g   = &dyn->adj;
  TnColored       *cd  = (TnColored *)dyn->data;
  const PetscBool  lin = dyn->act == TN_ACT_LINEAR, diag = dyn->ldt == TN_LOGDET_DIAG, rate = dyn->form == TN_FORM_RATE;
  const PetscBool  rt = rate && !lin;
  const PetscReal  h = dyn->h * TnDynFree(dyn, i), gi = dyn->gamma[i], wi = dyn->wdiag[i]; /* h = 0: a clamped row is the identity's */
  const PetscReal *x    = rate ? cd->p : a;
  PetscReal *restrict L = g->lam + (size_t)i * B;
  PetscReal v[B], s[B], sb = 0, sg = 0, sw = 0;
  if (!rate) {
    for (PetscInt b = 0; b < B; b++) s[b] = dyn->bias[i];
    TnRowTimesBlock(&dyn->d, i, a, B, s);
    if (gx) TnRowTimesBlock(&dyn->o, i, gx, B, s);
  }
  for (PetscInt b = 0; b < B; b++) {
    const size_t q = (size_t)i * B + b;
    PetscReal    d, phi2, c, t = rate ? cd->p[q] : TnPhi(dyn->act, s[b]);
    TnAdjLocal(lin, diag, h, gi, wi, g->wt[b], t, &d, &phi2, &c);
    v[b] = rate ? h * L[b] : h * d * L[b] + c * wi * phi2;
    sb += v[b];
    sg += -h * a[q] * L[b] - c;
    sw += c * d;
    L[b] = (1 - h * gi) * L[b] + (rate ? c * wi * phi2 : 0.0);
  }
  acc->gb[i] += sb;
  acc->gg[i] += sg;
  if (dyn->diagpos[i] >= 0) acc->gW[dyn->diagpos[i]] += sw;
  for (PetscInt t = dyn->d.ia[i]; t < dyn->d.ia[i + 1]; t++) {
    const size_t j = (size_t)dyn->d.ja[t] * B;
    acc->gW[t] += TnAdjSynapse(dyn->d.va[t], v, x + j, g->lam + j, rt, B);
  }
  if (!gx) return;
  for (PetscInt t = dyn->o.ia[i]; t < dyn->o.ia[i + 1]; t++) {
    const size_t j = (size_t)dyn->o.ja[t] * B;
    acc->gW[dyn->d.n + t] += TnAdjSynapse(dyn->o.va[t], v, gx + j, gy + j, rt, B);
  }
}

TN_INLINE void Rows(TnDyn dyn, const PetscInt *rows, PetscInt n, const PetscReal *a, const PetscReal *gx, PetscReal *gy, TnDynAdjAcc *acc, const PetscInt B)
{
  for (PetscInt r = 0; r < n; r++) Row(dyn, rows[r], a, gx, gy, acc, B);
}

/* mix <- a_k on the rows of colour c (and p <- phi(a_k) there, rate). */
static void Restore(TnDyn dyn, PetscInt c, const PetscScalar *ak)
{
  TnColored *cd = (TnColored *)dyn->data;
  PetscInt   B  = dyn->B;
  for (PetscInt r = cd->cptr[c]; r < cd->cptr[c + 1]; r++) {
    const size_t q = (size_t)cd->crows[r] * B;
    for (PetscInt b = 0; b < B; b++) {
      cd->mix[q + b] = ak[q + b];
      if (dyn->form == TN_FORM_RATE) cd->p[q + b] = TnPhi(dyn->act, ak[q + b]);
    }
  }
}

static PetscErrorCode Substep(TnDyn dyn, PetscInt c, TnDynAdjAcc *acc)
{
  TnDynAdj        *g    = &dyn->adj;
  TnColored       *cd   = (TnColored *)dyn->data;
  const PetscInt  *rows = cd->crows + cd->cptr[c], nint = cd->cnint[c], n = cd->cptr[c + 1] - cd->cptr[c];
  const PetscReal *gx, *a = cd->mix;
  PetscReal       *gy;
  PetscFunctionBeginUser;
  PetscCall(TnDynAdjHaloBegin(dyn, dyn->form == TN_FORM_RATE ? cd->p : cd->mix));
  PetscCall(VecGetArray(g->Gy, &gy));
  for (PetscInt q = 0; q < dyn->nghost * dyn->B; q++) gy[q] = 0;
  TN_DISPATCH_B(dyn->B, Rows, dyn, rows, nint, a, NULL, gy, acc);
  PetscCall(TnDynAdjHaloEnd(dyn, &gx));
  TN_DISPATCH_B(dyn->B, Rows, dyn, rows + nint, n - nint, a, gx, gy, acc);
  PetscCall(VecRestoreArray(g->Gy, &gy));
  PetscCall(TnDynAdjReverseBegin(dyn, g->lam));
  PetscCall(TnDynAdjReverseEnd(dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnColoredAdjointStep(TnDyn dyn, PetscInt k, const PetscScalar *ak, const PetscScalar *ak1, const PetscReal *save)
{
  TnColored   *cd = (TnColored *)dyn->data;
  const size_t n  = (size_t)dyn->m * dyn->B;
  PetscFunctionBeginUser;
  PetscCall(PetscArraycpy(cd->mix, ak1, n));
  if (dyn->form == TN_FORM_RATE)
    for (size_t q = 0; q < n; q++) cd->p[q] = TnPhi(dyn->act, ak1[q]);
  for (PetscInt c = cd->ncolors - 1; c >= 0; c--) {
    Restore(dyn, c, ak);
    PetscCall(Substep(dyn, c, &dyn->adj.acc));
  }
  PetscCall(PetscLogFlops((dyn->form == TN_FORM_RATE ? 6.0 : 8.0) * dyn->B * (double)(dyn->d.n + dyn->o.n) + 20.0 * dyn->m * dyn->B));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnColoredAdjointSetUp(TnDyn dyn, size_t *nsave)
{
  TnColored   *cd = (TnColored *)dyn->data;
  const size_t n  = (size_t)dyn->m * dyn->B;
  PetscFunctionBeginUser;
  *nsave           = 0;
  dyn->adj.inplace = PETSC_TRUE;
  PetscCall(PetscMalloc2(n + 1, &cd->mix, dyn->form == TN_FORM_RATE ? n + 1 : 1, &cd->p));
  dyn->adj.bytes += 8.0 * (dyn->form == TN_FORM_RATE ? 2 : 1) * n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnColoredAdjointReset(TnDyn dyn)
{
  TnColored *cd = (TnColored *)dyn->data;
  PetscFunctionBeginUser;
  PetscCall(PetscFree2(cd->mix, cd->p));
  PetscFunctionReturn(PETSC_SUCCESS);
}
