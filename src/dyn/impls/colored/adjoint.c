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
   rebuilt going down the colours, one colour's rows at a time. The state,
   phi and lambda are worked on in the colour order (order.c), lambda copied
   in and out once per step. */
#include "coloredimpl.h"

/* One row, position p (local row i = crows[p]) of colour c, in the colour
   order (order.c): a = mix, p = phi(mix) (rate) and lambda (lamp) by
   position; gx: ghost values of p (rate) or a (current), NULL for an
   interior row; gy: the contributions to the ghosts' lambda. The gradient
   goes to theta's entries of row i (synapse r of position p is theta's
   d.ia[i] + r, or nd + o.ia[i] + r). */
TN_INLINE void Row(TnDyn dyn, PetscInt p, const PetscReal *restrict a, const PetscReal *restrict gx, PetscReal *restrict gy, TnDynAdjAcc *acc, const PetscInt B)
{
  TnDynAdj        *g   = &dyn->adj;
  TnColored       *cd  = (TnColored *)dyn->data;
  const PetscBool  lin = dyn->act == TN_ACT_LINEAR, diag = dyn->ldt == TN_LOGDET_DIAG, rate = dyn->form == TN_FORM_RATE;
  const PetscBool  rt = rate && !lin;
  const PetscInt   i  = cd->crows[p];
  const PetscReal  h = dyn->h * TnColoredFree(dyn, cd, p), gi = cd->gam[p], wi = cd->wdi[p]; /* h = 0: a clamped row is the identity's */
  const PetscReal *x    = rate ? cd->p : a;
  PetscReal *restrict L = cd->lamp + (size_t)p * B;
  PetscReal *gWd = acc->gW + dyn->d.ia[i] - cd->dia[p], *gWo = acc->gW + dyn->d.n + dyn->o.ia[i] - cd->oia[p];
  PetscReal  v[B], s[B], sb = 0, sg = 0, sw = 0;
  if (!rate) {
    for (PetscInt b = 0; b < B; b++) s[b] = cd->bia[p];
    TnRowTimesBlock(&cd->d, p, a, B, s);
    if (gx) TnRowTimesBlock(&cd->o, p, gx, B, s);
  }
  for (PetscInt b = 0; b < B; b++) {
    const size_t q = (size_t)p * B + b;
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
  for (PetscInt t = cd->dia[p]; t < cd->dia[p + 1]; t++) {
    const size_t j = (size_t)cd->dja[t] * B;
    gWd[t] += TnAdjSynapse(cd->dva[t], v, x + j, cd->lamp + j, rt, B);
  }
  if (!gx) return;
  for (PetscInt t = cd->oia[p]; t < cd->oia[p + 1]; t++) {
    const size_t j = (size_t)cd->oja[t] * B;
    gWo[t] += TnAdjSynapse(cd->ova[t], v, gx + j, gy + j, rt, B);
  }
}

TN_INLINE void Rows(TnDyn dyn, PetscInt p0, PetscInt p1, const PetscReal *a, const PetscReal *gx, PetscReal *gy, TnDynAdjAcc *acc, const PetscInt B)
{
  for (PetscInt p = p0; p < p1; p++) Row(dyn, p, a, gx, gy, acc, B);
}

/* mix <- a_k on the positions of colour c (and p <- phi(a_k) there, rate). */
static void Restore(TnDyn dyn, PetscInt c, const PetscScalar *ak)
{
  TnColored *cd = (TnColored *)dyn->data;
  PetscInt   B  = dyn->B;
  for (PetscInt p = cd->cptr[c]; p < cd->cptr[c + 1]; p++) {
    const size_t q = (size_t)p * B, qi = (size_t)cd->crows[p] * B;
    for (PetscInt b = 0; b < B; b++) {
      cd->mix[q + b] = ak[qi + b];
      if (dyn->form == TN_FORM_RATE) cd->p[q + b] = TnPhi(dyn->act, ak[qi + b]);
    }
  }
}

/* The halo, per colour as in the forward sweep. Forward values: all ghosts
   at the start (colour C-1 restored to a_k, the others at a_{k+1}), then
   before substep c < C-1 colour c+1's, restored to a_k at substep c+1.
   Reverse: the ghosts' lambda contributions accumulate in Gy; before
   substep c, the contributions to colour c's ghosts made by the substeps
   above c (they must reach the owner before its colour-c rows read their
   lambda) are added into the owners' lambda and cleared; at the end all
   that remains (from the substeps below each ghost's colour). About two
   ghost vectors each way per step instead of C. */
PetscErrorCode TnColoredAdjointStep(TnDyn dyn, PetscInt k, const PetscScalar *ak, const PetscScalar *ak1, const PetscReal *save)
{
  TnDynAdj        *g  = &dyn->adj;
  TnColored       *cd = (TnColored *)dyn->data;
  const PetscInt   B = dyn->B, C = cd->ncolors;
  const PetscBool  rate = dyn->form == TN_FORM_RATE;
  const PetscReal *x, *gx;
  PetscReal       *gy;
  VecScatter       inflight = cd->hall;
  PetscFunctionBeginUser;
  cd->pfor = NULL; /* a forward step after this one starts from a new state */
  PetscCall(TnColoredRefresh(dyn));
  for (PetscInt p = 0; p < dyn->m; p++) {
    const size_t q = (size_t)p * B, qi = (size_t)cd->crows[p] * B;
    for (PetscInt b = 0; b < B; b++) {
      cd->mix[q + b]  = ak1[qi + b];
      cd->lamp[q + b] = g->lam[qi + b];
    }
    if (rate) TnPhiAll(dyn->act, (size_t)B, cd->mix + q, cd->p + q);
  }
  x = rate ? cd->p : cd->mix;
  PetscCall(VecZeroEntries(g->Gy));
  Restore(dyn, C - 1, ak);
  PetscCall(TnDynAdjHaloPartBegin(dyn, cd->hall, x));
  for (PetscInt c = C - 1; c >= 0; c--) {
    const PetscInt p0 = cd->cptr[c], pb = p0 + cd->cnint[c], p1 = cd->cptr[c + 1];
    if (c < C - 1) {
      inflight = cd->halo[c + 1];
      PetscCall(TnDynAdjHaloPartBegin(dyn, inflight, x));
      PetscCall(TnDynAdjReversePartBegin(dyn, cd->halo[c], cd->lamp));
      Restore(dyn, c, ak);
      PetscCall(TnDynAdjReversePartEnd(dyn, cd->halo[c]));
      PetscCall(VecGetArray(g->Gy, &gy));
      PetscCall(PetscArrayzero(gy + (size_t)cd->gptr[c] * B, (size_t)(cd->gptr[c + 1] - cd->gptr[c]) * B));
      PetscCall(VecRestoreArray(g->Gy, &gy));
    }
    PetscCall(VecGetArray(g->Gy, &gy));
    TN_DISPATCH_B(B, Rows, dyn, p0, pb, cd->mix, NULL, gy, &g->acc);
    PetscCall(TnDynAdjHaloPartEnd(dyn, inflight, &gx));
    TN_DISPATCH_B(B, Rows, dyn, pb, p1, cd->mix, gx, gy, &g->acc);
    PetscCall(VecRestoreArray(g->Gy, &gy));
  }
  PetscCall(TnDynAdjReversePartBegin(dyn, cd->hall, cd->lamp));
  PetscCall(TnDynAdjReversePartEnd(dyn, cd->hall));
  TnColoredPermuteRows(g->lam, cd->lamp, cd->cinv, dyn->m, B); /* lambda back by local row */
  PetscCall(PetscLogFlops((rate ? 6.0 : 8.0) * B * (double)(dyn->d.n + dyn->o.n) + 20.0 * dyn->m * B));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnColoredAdjointSetUp(TnDyn dyn, size_t *nsave)
{
  TnColored   *cd = (TnColored *)dyn->data;
  const size_t n  = (size_t)dyn->m * dyn->B;
  PetscFunctionBeginUser;
  *nsave           = 0;
  dyn->adj.inplace = PETSC_TRUE;
  /* gathered by columns, B values a node: rows on whole cache lines */
  PetscCall(TnMemoryAllocAligned(sizeof(PetscReal) * (n + 1), &cd->mix));
  PetscCall(TnMemoryAllocAligned(sizeof(PetscReal) * (dyn->form == TN_FORM_RATE ? n + 1 : 1), &cd->p));
  PetscCall(TnMemoryAllocAligned(sizeof(PetscReal) * (n + 1), &cd->lamp));
  dyn->adj.bytes += 8.0 * (dyn->form == TN_FORM_RATE ? 3 : 2) * n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnColoredAdjointReset(TnDyn dyn)
{
  TnColored *cd = (TnColored *)dyn->data;
  PetscFunctionBeginUser;
  PetscCall(TnMemoryFreeAligned(&cd->mix));
  PetscCall(TnMemoryFreeAligned(&cd->p));
  PetscCall(TnMemoryFreeAligned(&cd->lamp));
  PetscFunctionReturn(PETSC_SUCCESS);
}
