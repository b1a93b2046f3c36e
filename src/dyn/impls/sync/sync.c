/* sync scheme (explicit Euler, every node at once), docs/model.md section 2:
     rate:    out = a + h(-gamma a + W phi(a) + b),  A_ii = -gamma_i + W_ii phi'(a_i)
     current: out = a + h(-gamma a + phi(W a + b)),  A_ii = -gamma_i + W_ii phi'(s_i)
   with h replaced by 0 on the rows of clamped nodes (TnDynFree).
   out may be a (in place, TnDynEvaluate) or another array (the gradient's
   forward pass writes a_{k+1} straight into its trajectory slot, and phi(a_k)
   into its own, pa, so that the backward pass need not evaluate it again).
   One halo exchange per step, overlapped with the on-process block as in
   MatMult_MPIAIJ: begin the exchange, multiply Ad, end it, add Ao. The row
   loops are specialised for the batch size B (TN_DISPATCH_B); at B = 1 the
   rate form's runs across eight rows at a time, over a copy of Ad in row
   slices (TnSlices, TnSliceRate), the same sums in the same order. */
#include "syncimpl.h"

/* rate form, on-process part, row i: y = Ad p + b (yin: the rows' partial
   sums instead of b), the log-det factor from phi'(a_i) = 1 - p_i^2 (tanh),
   and a_i += h(-gamma_i a_i + y). (Computing phi(a_{k+1}) here, as rows
   finish, was measured slower at every B than the separate vectorised pass
   TnPhiAll: lattice2d N = 10^6, B = 16, 76 vs 62 ms per step.) */
TN_INLINE void RateRow(TnDyn dyn, const TnCSR *A, PetscInt i, const PetscReal *restrict yin, const PetscScalar *a, const PetscReal *restrict p, PetscScalar *out, TnAcc *acc, PetscReal *prod, int *expo, PetscReal *nodeacc, const int pf, const PetscInt B)
{
  const PetscReal    h         = dyn->h;
  const int          lin       = dyn->act == TN_ACT_LINEAR;
  const PetscScalar *ai        = a + (size_t)i * B;
  PetscScalar       *oi        = out + (size_t)i * B;
  const PetscReal *restrict pi = p + (size_t)i * B;
  const PetscReal gi = dyn->gamma[i], wi = dyn->wdiag[i], bi = dyn->bias[i], hi = h * TnDynFree(dyn, i);
  PetscReal       y[B], hA[B];
  if (yin)
    for (PetscInt b = 0; b < B; b++) y[b] = yin[(size_t)i * B + b];
  else
    for (PetscInt b = 0; b < B; b++) y[b] = bi;
  TnRowTimesBlockPF(A, i, p, B, y, pf);
  for (PetscInt b = 0; b < B; b++) {
    hA[b] = hi * (-gi + wi * (lin ? 1.0 : 1.0 - pi[b] * pi[b]));
    oi[b] = ai[b] + hi * (-gi * ai[b] + y[b]);
  }
  TnAccRow(acc, hA, prod, expo, nodeacc ? nodeacc + i : NULL, B);
}

/* At B = 1 (rows without slices: -dyn_slices 0) row i's streams are asked
   for TN_ROW_AHEAD rows ahead: its synapses' values and columns, and every
   8 rows b, gamma, W_ii, a and the row pointers (lattice2d N = 10^6, one
   process alternating: 0.90-0.92x the step without). */
#define TN_ROW_AHEAD 64
TN_INLINE void RowPrefetch(TnDyn dyn, const TnCSR *A, const PetscScalar *a, PetscInt i)
{
  __builtin_prefetch(A->va + A->ia[i]);
  __builtin_prefetch(A->ja + A->ia[i]);
  if (i % 8 == 0) {
    __builtin_prefetch(dyn->bias + i);
    __builtin_prefetch(dyn->gamma + i);
    __builtin_prefetch(dyn->wdiag + i);
    __builtin_prefetch(a + i);
    __builtin_prefetch(A->ia + i + 16);
  }
}

TN_INLINE void RateOnProcessBody(TnDyn dyn, const TnCSR *A, const PetscReal *restrict yin, const PetscScalar *a, const PetscReal *restrict p, PetscScalar *out, PetscReal *ldet, PetscReal *nodeacc, const int pf, const PetscInt B)
{
  PetscReal prod[B];
  int       expo[B];
  TnAcc     acc;
  TnAccBegin(dyn, &acc, prod, expo, B);
  for (PetscInt i = 0; i < dyn->m; i++) {
    if (B == 1 && i + TN_ROW_AHEAD < dyn->m) RowPrefetch(dyn, A, a, i + TN_ROW_AHEAD);
    if (B >= 8 && pf && i + TN_ROWS_AHEAD < dyn->m) {
      const size_t f = (size_t)(i + TN_ROWS_AHEAD) * B;
      if (yin) TnPrefetchRow(yin + f, 0, B);
      TnPrefetchRow(a + f, 0, B);
      TnPrefetchRow(p + f, 0, B);
      TnPrefetchRow(out + f, 1, B);
    }
    RateRow(dyn, A, i, yin, a, p, out, &acc, prod, expo, nodeacc, pf, B);
  }
  TnAccEnd(&acc, prod, expo, ldet, B);
}

/* RateOnProcessBody at B = 1 over Ad's slices (the rows past the last slice
   row by row), the log-det factors taken row by row in the same order. */
static void RateOnProcessSlices(TnDyn dyn, const TnSlices *S, const PetscScalar *a, const PetscReal *restrict p, PetscScalar *out, PetscReal *ldet, PetscReal *nodeacc)
{
  const TnSliceRows R = {dyn->bias, dyn->gamma, dyn->wdiag, dyn->fmask};
  PetscReal         prod[1], hA[TN_SLICE];
  int               expo[1];
  TnAcc             acc;
  TnAccBegin(dyn, &acc, prod, expo, 1);
  for (PetscInt s = 0; s < S->ns; s++) {
    if (s + TN_SLICE_AHEAD < S->ns) {
      TnSlicePrefetch(S, &R, s + TN_SLICE_AHEAD);
      __builtin_prefetch(a + TN_SLICE * (s + TN_SLICE_AHEAD));
    }
    TnSliceRate(S, &dyn->d, s, &R, dyn->h, dyn->act, p, NULL, a, out, NULL, hA);
    if (!TnAccSlice(&acc, hA, prod, expo, nodeacc))
      for (PetscInt r = 0; r < TN_SLICE; r++) TnAccRow(&acc, hA + r, prod, expo, nodeacc ? nodeacc + TN_SLICE * s + r : NULL, 1);
  }
  for (PetscInt i = TN_SLICE * S->ns; i < dyn->m; i++) RateRow(dyn, &dyn->d, i, NULL, a, p, out, &acc, prod, expo, nodeacc, 0, 1);
  TnAccEnd(&acc, prod, expo, ldet, 1);
}

/* a_i += h (Ao g)_i for the rows with off-process synapses. */
TN_INLINE void AddOffProcessBody(TnDyn dyn, const TnCSR *A, const PetscReal *restrict yin, PetscScalar *restrict a, const PetscScalar *restrict g, const int pf, const PetscInt B)
{
  PetscReal y[B];
  for (PetscInt r = 0; r < dyn->noff; r++) {
    PetscInt i = dyn->offrows[r];
    if (yin)
      for (PetscInt b = 0; b < B; b++) y[b] = yin[(size_t)i * B + b];
    else
      for (PetscInt b = 0; b < B; b++) y[b] = 0;
    TnRowTimesBlockPF(A, i, g, B, y, pf);
    for (PetscInt b = 0; b < B; b++) a[(size_t)i * B + b] += dyn->h * TnDynFree(dyn, i) * y[b];
  }
}

/* current form: s = Ad a + b now, + Ao g later. */
TN_INLINE void CurrentOnProcess(TnDyn dyn, const PetscScalar *restrict a, const PetscInt B)
{
  TnSync    *s = (TnSync *)dyn->data;
  PetscReal *S = s->S;
  for (PetscInt i = 0; i < dyn->m; i++)
    for (PetscInt b = 0; b < B; b++) S[(size_t)i * B + b] = dyn->bias[i];
  TnSyncProduct(&dyn->d, &s->pd, NULL, dyn->m, a, S, B);
}

TN_INLINE void CurrentOffProcess(TnDyn dyn, const PetscScalar *restrict g, const PetscInt B)
{
  TnSync *s = (TnSync *)dyn->data;
  TnSyncProduct(&dyn->o, &s->po, dyn->offrows, dyn->noff, g, s->S, B);
}

/* The rate form's row sums over all panels but the last, into ybuf:
   y_i = init_i + (panels 0 .. np-2 of A x)_i, init = b (bias) or 0; the
   last panel is summed by the row pass that uses y. */
TN_INLINE void PanelsButLast(const TnPanels *P, const PetscInt *rows, PetscInt nrows, const PetscReal *bias, const PetscReal *restrict x, PetscReal *restrict ybuf, const PetscInt B)
{
  for (PetscInt q = 0; q + 1 < P->np; q++)
    for (PetscInt r = 0; r < nrows; r++) {
      const PetscInt i      = rows ? rows[r] : r;
      PetscReal *restrict y = ybuf + (size_t)i * B;
      if (B >= 8 && r + TN_ROWS_AHEAD < nrows) TnPrefetchRow(ybuf + (size_t)(rows ? rows[r + TN_ROWS_AHEAD] : r + TN_ROWS_AHEAD) * B, 1, B);
      if (q == 0) /* the start value in the first panel's pass, not a pass of its own */
        for (PetscInt b = 0; b < B; b++) y[b] = bias ? bias[i] : 0.0;
      TnRowTimesBlockPrefetch(&P->view[q], i, x, B, y);
    }
}

/* out_i = a_i + h(-gamma_i a_i + phi(s_i)), log-det factor from phi'(s_i). */
TN_INLINE void CurrentUpdate(TnDyn dyn, const PetscScalar *a, PetscScalar *out, PetscReal *ldet, PetscReal *nodeacc, const PetscInt B)
{
  const PetscReal  h = dyn->h;
  const PetscReal *S = ((TnSync *)dyn->data)->S;
  PetscReal        prod[B], hA[B], f[B];
  int              expo[B];
  TnAcc            acc;
  TnAccBegin(dyn, &acc, prod, expo, B);
  for (PetscInt i = 0; i < dyn->m; i++) {
    const PetscScalar *ai        = a + (size_t)i * B;
    PetscScalar       *oi        = out + (size_t)i * B;
    const PetscReal *restrict si = S + (size_t)i * B;
    const PetscReal gi = dyn->gamma[i], wi = dyn->wdiag[i], hi = h * TnDynFree(dyn, i);
    for (PetscInt b = 0; b < B; b++) f[b] = TnPhi(dyn->act, si[b]);
    for (PetscInt b = 0; b < B; b++) {
      hA[b] = hi * (-gi + wi * (dyn->act == TN_ACT_LINEAR ? 1.0 : 1.0 - f[b] * f[b]));
      oi[b] = ai[b] + hi * (-gi * ai[b] + f[b]);
    }
    TnAccRow(&acc, hA, prod, expo, nodeacc ? nodeacc + i : NULL, B);
  }
  TnAccEnd(&acc, prod, expo, ldet, B);
}

/* Instances without and with gather prefetch (chosen at set-up from the
   locality of W's columns: dynsetup.c). */
TN_INLINE void RateOnProcess(TnDyn dyn, const PetscScalar *a, const PetscReal *p, PetscScalar *out, PetscReal *ldet, PetscReal *nodeacc, const PetscInt B)
{
  RateOnProcessBody(dyn, &dyn->d, NULL, a, p, out, ldet, nodeacc, 0, B);
}
TN_INLINE void RateOnProcessPF(TnDyn dyn, const PetscScalar *a, const PetscReal *p, PetscScalar *out, PetscReal *ldet, PetscReal *nodeacc, const PetscInt B)
{
  RateOnProcessBody(dyn, &dyn->d, NULL, a, p, out, ldet, nodeacc, 1, B);
}
/* with panels: all but the last into ybuf, then the row pass over the last */
TN_INLINE void RateOnProcessPanels(TnDyn dyn, const PetscScalar *a, const PetscReal *p, PetscScalar *out, PetscReal *ldet, PetscReal *nodeacc, const PetscInt B)
{
  TnSync *s = (TnSync *)dyn->data;
  PanelsButLast(&s->pd, NULL, dyn->m, dyn->bias, p, s->ybuf, B);
  RateOnProcessBody(dyn, &s->pd.view[s->pd.np - 1], s->ybuf, a, p, out, ldet, nodeacc, 1, B);
}
TN_INLINE void AddOffProcess(TnDyn dyn, PetscScalar *restrict a, const PetscScalar *restrict g, const PetscInt B)
{
  AddOffProcessBody(dyn, &dyn->o, NULL, a, g, 0, B);
}
TN_INLINE void AddOffProcessPF(TnDyn dyn, PetscScalar *restrict a, const PetscScalar *restrict g, const PetscInt B)
{
  AddOffProcessBody(dyn, &dyn->o, NULL, a, g, 1, B);
}
TN_INLINE void AddOffProcessPanels(TnDyn dyn, PetscScalar *restrict a, const PetscScalar *restrict g, const PetscInt B)
{
  TnSync *s = (TnSync *)dyn->data;
  PanelsButLast(&s->po, dyn->offrows, dyn->noff, NULL, g, s->ybuf, B);
  AddOffProcessBody(dyn, &s->po.view[s->po.np - 1], s->ybuf, a, g, 1, B);
}

/* pa: where phi(a) goes (NULL: pbuf); the halo's Vec P then views it. */
static PetscErrorCode StepRate(TnDyn dyn, const PetscScalar *a, PetscScalar *out, PetscReal *pa, PetscReal *ldet, PetscReal *nodeacc)
{
  TnSync            *s = (TnSync *)dyn->data;
  const PetscScalar *g;
  PetscReal         *p = pa ? pa : dyn->pbuf;
  PetscFunctionBeginUser;
  PetscCall(TnSyncPanelsUpdate(dyn));
  TnPhiAll(dyn->act, (size_t)dyn->m * dyn->B, a, p);
  if (pa) PetscCall(VecPlaceArray(dyn->P, pa));
  PetscCall(TnDynHaloBegin(dyn));
  if (s->sd.ns)
    RateOnProcessSlices(dyn, &s->sd, a, p, out, ldet, nodeacc);
  else if (s->pd.np > 1)
    TN_DISPATCH_B(dyn->B, RateOnProcessPanels, dyn, a, p, out, ldet, nodeacc);
  else if (dyn->d.prefetch && dyn->B >= 8)
    TN_DISPATCH_B(dyn->B, RateOnProcessPF, dyn, a, p, out, ldet, nodeacc);
  else
    TN_DISPATCH_B(dyn->B, RateOnProcess, dyn, a, p, out, ldet, nodeacc);
  PetscCall(TnDynHaloEnd(dyn));
  if (pa) PetscCall(VecResetArray(dyn->P));
  PetscCall(VecGetArrayRead(dyn->G, &g));
  if (s->po.np > 1)
    TN_DISPATCH_B(dyn->B, AddOffProcessPanels, dyn, out, g);
  else if (dyn->B >= 8)
    TN_DISPATCH_B(dyn->B, AddOffProcessPF, dyn, out, g);
  else
    TN_DISPATCH_B(dyn->B, AddOffProcess, dyn, out, g);
  PetscCall(VecRestoreArrayRead(dyn->G, &g));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode StepCurrent(TnDyn dyn, const PetscScalar *a, PetscScalar *out, PetscReal *ldet, PetscReal *nodeacc)
{
  const PetscScalar *g;
  PetscFunctionBeginUser;
  PetscCall(TnSyncPanelsUpdate(dyn));
  PetscCall(PetscArraycpy(dyn->pbuf, a, dyn->m * dyn->B));
  PetscCall(TnDynHaloBegin(dyn));
  TN_DISPATCH_B(dyn->B, CurrentOnProcess, dyn, a);
  PetscCall(TnDynHaloEnd(dyn));
  PetscCall(VecGetArrayRead(dyn->G, &g));
  TN_DISPATCH_B(dyn->B, CurrentOffProcess, dyn, g);
  PetscCall(VecRestoreArrayRead(dyn->G, &g));
  TN_DISPATCH_B(dyn->B, CurrentUpdate, dyn, a, out, ldet, nodeacc);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSyncStep(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *pa, PetscReal *ldet, PetscReal *nodeacc)
{
  PetscFunctionBeginUser;
  dyn->passes++;
  if (dyn->form == TN_FORM_RATE)
    PetscCall(StepRate(dyn, a, out, pa, ldet, nodeacc));
  else
    PetscCall(StepCurrent(dyn, a, out, ldet, nodeacc));
  PetscCall(PetscLogFlops(2.0 * dyn->B * (double)(dyn->d.ia[dyn->m] + dyn->o.ia[dyn->m]) + 8.0 * dyn->m * dyn->B));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode StepSave(TnDyn dyn, const PetscScalar *a, PetscReal *pa)
{
  PetscFunctionBeginUser;
  TnPhiAll(dyn->act, (size_t)dyn->m * dyn->B, a, pa);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSyncPanelsUpdate(TnDyn dyn)
{
  TnSync *s = (TnSync *)dyn->data;
  PetscFunctionBeginUser;
  PetscCall(TnPanelsUpdate(dyn, &dyn->d, &s->pd));
  PetscCall(TnPanelsUpdate(dyn, &dyn->o, &s->po));
  PetscCall(TnSlicesUpdate(dyn, &dyn->d, &s->sd));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Column panels (TnPanels) where the gathered state exceeds the panel size:
   Ad's only when its columns are scattered (dyn->d.prefetch: the hardware
   prefetcher follows local columns, and the extra passes over the row sums
   would cost), Ao's always (ghosts have no locality). Measured on er,
   N = 10^6, k = 32, B = 16, 1 rank (bench/README.md). */
static PetscErrorCode SetUpPanels(TnDyn dyn)
{
  TnSync  *s = (TnSync *)dyn->data;
  size_t   bytes, row = sizeof(PetscScalar) * (size_t)dyn->B;
  PetscInt npd, npo;
  PetscFunctionBeginUser;
  PetscCall(TnDynPanelBytes(dyn, &bytes));
  if (!bytes) PetscFunctionReturn(PETSC_SUCCESS);
  npd = dyn->d.prefetch ? (PetscInt)((row * dyn->m + bytes - 1) / bytes) : 1;
  npo = (PetscInt)((row * dyn->nghost + bytes - 1) / bytes);
  if (!dyn->panelset) { /* the default: fewer than 4 panels did not pay (bench/README.md) */
    if (npd < 4) npd = 1;
    if (npo < 4) npo = 1;
  }
  PetscCall(TnPanelsCreate(&dyn->d, dyn->m, dyn->m, npd, &s->pd));
  PetscCall(TnPanelsCreate(&dyn->o, dyn->m, dyn->nghost, npo, &s->po));
  if (dyn->form == TN_FORM_RATE && (s->pd.np > 1 || s->po.np > 1)) {
    PetscCall(TnMemoryAllocAligned(row * dyn->m + sizeof(PetscReal), &s->ybuf));
  }
  PetscCall(PetscInfo(NULL, "column panels of %zu bytes: %" PetscInt_FMT " on-process, %" PetscInt_FMT " off-process\n", bytes, PetscMax(s->pd.np, 1), PetscMax(s->po.np, 1)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode SetUp(TnDyn dyn)
{
  TnSync *s = (TnSync *)dyn->data;
  PetscFunctionBeginUser;
  if (dyn->form == TN_FORM_CURRENT) PetscCall(PetscMalloc1((size_t)dyn->m * dyn->B + 1, &s->S));
  PetscCall(SetUpPanels(dyn));
  if (s->pd.np <= 1) PetscCall(TnSlicesCreate(dyn, &dyn->d, dyn->m, &s->sd)); /* not with Ad's column panels */
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Reset(TnDyn dyn)
{
  TnSync *s = (TnSync *)dyn->data;
  PetscFunctionBeginUser;
  PetscCall(PetscFree(s->S));
  PetscCall(PetscFree2(s->t, s->y));
  PetscCall(TnPanelsDestroy(&s->pd));
  PetscCall(TnPanelsDestroy(&s->po));
  PetscCall(TnMemoryFreeAligned(&s->ybuf));
  PetscCall(TnSlicesDestroy(&s->sd));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* docs/model.md section 5: a step is a bijection when h Lip(f) < 1, with
   Lip(f) <= max gamma + |W|_2 sup|phi'| (sup|phi'| = 1 for tanh and linear)
   and |W|_2 <= the smaller of sqrt(|W|_1 |W|_inf) and, when one was made
   (bound.c), the Lanczos certificate plus the drift since. Every factor
   1 + h A_ii is then >= 1 - h Lip(f). */
static PetscErrorCode Bound(TnDyn dyn, const TnBoundQ *q, PetscReal margin, TnDynBound *b)
{
  const PetscReal h = dyn->h, cheap = PetscSqrtReal(q->n1 * q->ninf);
  const PetscBool sharp = (PetscBool)(q->n2 >= 0 && q->n2 < cheap);
  const PetscReal w = sharp ? q->n2 : cheap, lip = q->gmax + w;
  char            cert[256] = "";
  PetscFunctionBeginUser;
  b->applies = PETSC_TRUE;
  b->value   = h * lip;
  b->ok      = (PetscBool)(b->value < 1 - margin);
  b->fmin    = 1 - b->value;
  if (q->n2 >= 0 && q->w2eps >= 1)
    PetscCall(PetscSNPrintf(cert, sizeof(cert), "no Lanczos certificate: %" PetscInt_FMT " steps are too few for failure probability %.0e (eps = %.3g >= 1), use more -dyn_bound_lanczos_steps", q->steps, (double)q->delta, (double)q->w2eps));
  else if (q->n2 >= 0) {
    char drift[64] = "";
    if (q->drift > 0) PetscCall(PetscSNPrintf(drift, sizeof(drift), " + %.3g (the change of W since)", (double)q->drift));
    PetscCall(PetscSNPrintf(cert, sizeof(cert), "|W|_2 <= %.4g%s (Lanczos certificate, %" PetscInt_FMT " steps, eps %.3g, failure probability %.0e)", (double)q->w2c, drift, q->steps, (double)q->w2eps, (double)q->delta));
  }
  if (sharp)
    PetscCall(PetscSNPrintf(b->what, sizeof(b->what), "sync: h Lip(f) <= h (max gamma + |W|_2) = %g (%g + %.4g) = %.4g < 1, %s; cheap sqrt(|W|_1 |W|_inf) = %.4g", (double)h, (double)q->gmax, (double)w, (double)b->value, cert, (double)cheap));
  else
    PetscCall(PetscSNPrintf(b->what, sizeof(b->what), "sync: h Lip(f) <= h (max gamma + sqrt(|W|_1 |W|_inf)) = %g (%g + sqrt(%g * %g)) = %.4g < 1", (double)h, (double)q->gmax, (double)q->n1, (double)q->ninf, (double)b->value));
  PetscCall(PetscSNPrintf(b->fix, sizeof(b->fix), "the sync step is not guaranteed invertible (docs/model.md section 5): h Lip(f) <= h (max gamma + |W|_2) = %g * (%g + %.4g) = %.4g, which is not < 1 (by %.3g); cheap bound |W|_2 <= sqrt(|W|_1 |W|_inf) = sqrt(%g * %g)%s%s. Use -dyn_h below %.4g, or smaller weights (-net_scale), or the colored scheme%s",
                          (double)h, (double)q->gmax, (double)w, (double)b->value, (double)(b->value - 1), (double)q->n1, (double)q->ninf, q->n2 >= 0 ? "; " : "", cert, (double)(1.0 / lip), dyn->bnorm == TN_BOUND_NORM_CHEAP ? ", or the sharper -dyn_bound_norm auto" : ""));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode SetFromOptions(TnDyn dyn, PetscOptionItems *PetscOptionsObject)
{
  PetscInt v = (PetscInt)dyn->adjtr;
  PetscFunctionBeginUser;
  PetscCall(TnOptionsChoice("-adjoint_transpose", "Sync backward step, rate form: W^T as a gather over the columns (columns), a scatter by rows (rows), or auto: columns at B >= 4, and at B < 4 where the columns are scattered and lambda takes at least 5 MB on the rank", "TnDynSetAdjointTranspose", TnAdjointTransposes, 3, &v, NULL));
  dyn->adjtr = (TnAdjointTranspose)v;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Panels(TnDyn dyn, const TnPanels **pd, const TnPanels **po)
{
  TnSync *s = (TnSync *)dyn->data;
  PetscFunctionBeginUser;
  *pd = &s->pd;
  *po = &s->po;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSchemeCreate_Sync(TnDyn dyn)
{
  TnSync *s;
  PetscFunctionBeginUser;
  PetscCall(PetscNew(&s));
  dyn->data               = s;
  dyn->ops.setfromoptions = SetFromOptions;
  dyn->ops.setup          = SetUp;
  dyn->ops.reset          = Reset;
  dyn->ops.step           = TnSyncStep;
  dyn->ops.stepsave       = StepSave;
  dyn->ops.adjointsetup   = TnSyncAdjointSetUp;
  dyn->ops.adjointreset   = TnSyncAdjointReset;
  dyn->ops.adjointbegin   = TnSyncAdjointBegin;
  dyn->ops.adjointstep    = TnSyncAdjointStep;
  dyn->ops.adjointend     = TnSyncAdjointEnd;
  dyn->ops.localstep      = TnSyncLocalStep;
  dyn->ops.localrecord    = TnSyncLocalRecord;
  dyn->ops.panels         = Panels;
  dyn->ops.inversestep    = TnSyncInverseStep;
  dyn->ops.bound          = Bound;
  dyn->ops.boundnorm1     = PETSC_TRUE;
  dyn->ops.clamp          = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}
