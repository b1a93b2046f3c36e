/* sync scheme (explicit Euler, every node at once), docs/model.md section 2:
     rate:    out = a + h(-gamma a + W phi(a) + b),  A_ii = -gamma_i + W_ii phi'(a_i)
     current: out = a + h(-gamma a + phi(W a + b)),  A_ii = -gamma_i + W_ii phi'(s_i)
   with h replaced by 0 on the rows of clamped nodes (TnDynFree).
   out may be a (in place, TnDynEvaluate) or another array (the gradient's
   forward pass writes a_{k+1} straight into its trajectory slot, and phi(a_k)
   into its own, pa, so that the backward pass need not evaluate it again).
   One halo exchange per step, overlapped with the on-process block as in
   MatMult_MPIAIJ: begin the exchange, multiply Ad, end it, add Ao. The row
   loops are specialised for the batch size B (TN_DISPATCH_B). */
#include "syncimpl.h"

/* Row i of the rate form's on-process part: y = yin_i (the panels' partial
   sums) or b_i, y += (A x)_i, the log-det factor from phi'(a_i) = 1 - x_i^2
   (tanh), out_i = a_i + h(-gamma_i a_i + y). x holds phi(a_j) at slot j,
   or, when ring (a compile-time constant), at slot j & mask (the ring of
   RateOnProcessRing). */
TN_INLINE void RateRow(TnDyn dyn, const TnCSR *A, PetscInt i, const PetscReal *restrict yin, const PetscScalar *a, const PetscReal *restrict x, const PetscInt mask, PetscScalar *out, TnAcc *acc, PetscReal *prod, int *expo, PetscReal *nodeacc, const int pf, const int ring, const PetscInt B)
{
  const PetscReal    h         = dyn->h;
  const int          lin       = dyn->act == TN_ACT_LINEAR;
  const PetscScalar *ai        = a + (size_t)i * B;
  PetscScalar       *oi        = out + (size_t)i * B;
  const PetscReal *restrict pi = x + (size_t)(ring ? i & mask : i) * B;
  const PetscReal gi = dyn->gamma[i], wi = dyn->wdiag[i], bi = dyn->bias[i], hi = h * TnDynFree(dyn, i);
  PetscReal       y[B], hA[B];
  if (yin)
    for (PetscInt b = 0; b < B; b++) y[b] = yin[(size_t)i * B + b];
  else
    for (PetscInt b = 0; b < B; b++) y[b] = bi;
  if (ring)
    for (PetscInt t = A->ia[i]; t < A->ia[i + 1]; t++) {
      const PetscReal v            = A->va[t];
      const PetscReal *restrict xj = x + (size_t)(A->ja[t] & mask) * B;
      for (PetscInt b = 0; b < B; b++) y[b] += v * xj[b];
    }
  else
    TnRowTimesBlockPF(A, i, x, B, y, pf);
  for (PetscInt b = 0; b < B; b++) {
    hA[b] = hi * (-gi + wi * (lin ? 1.0 : 1.0 - pi[b] * pi[b]));
    oi[b] = ai[b] + hi * (-gi * ai[b] + y[b]);
  }
  TnAccRow(acc, hA, prod, expo, nodeacc ? nodeacc + i : NULL, B);
}

/* rate form, on-process part: RateRow for every row, p = phi(a) computed
   beforehand by the separate vectorised pass TnPhiAll. (Computing
   phi(a_{k+1}) here, as rows finish, was measured slower at every B than
   the separate pass: lattice2d N = 10^6, B = 16, 76 vs 62 ms per step.) */
TN_INLINE void RateOnProcessBody(TnDyn dyn, const TnCSR *A, const PetscReal *restrict yin, const PetscScalar *a, const PetscReal *restrict p, PetscScalar *out, PetscReal *ldet, PetscReal *nodeacc, const int pf, const PetscInt B)
{
  PetscReal prod[B];
  int       expo[B];
  TnAcc     acc;
  TnAccBegin(dyn, &acc, prod, expo, B);
  for (PetscInt i = 0; i < dyn->m; i++) RateRow(dyn, A, i, yin, a, p, 0, out, &acc, prod, expo, nodeacc, pf, 0, B);
  TnAccEnd(&acc, prod, expo, ldet, B);
}

/* The same with phi(a) computed inside the pass (Ad banded: SetUpRing).
   Rows are taken in chunks of TN_RING_CHUNK; before chunk [i0, i1), phi of
   the rows up to i1 + ringw - 1 is in the ring (slot j & mask holds row j),
   computed from a while those rows are not yet overwritten (out may be a);
   the ring holds ringrows >= TN_RING_CHUNK + 2 ringw rows, so every column
   a chunk's rows read, within ringw of the row, is still there. The far
   rows (reaching further) read pbuf, where phi of themselves and their
   columns was put before the pass. Each row adds the same terms in the same
   order as RateOnProcessBody, so the results are the same bit for bit, and
   phi(a) never makes a round trip through memory. */
#define TN_RING_CHUNK 64
TN_INLINE void RateOnProcessRing(TnDyn dyn, const PetscScalar *a, PetscScalar *out, PetscReal *ldet, PetscReal *nodeacc, const PetscInt B)
{
  TnSync        *s = (TnSync *)dyn->data;
  const PetscInt m = dyn->m, w = s->ringw, R = s->ringrows, mask = R - 1;
  PetscReal     *ring = s->ring, prod[B];
  int            expo[B];
  TnAcc          acc;
  PetscInt       ahead = 0, f = 0;
  TnAccBegin(dyn, &acc, prod, expo, B);
  for (PetscInt i0 = 0; i0 < m; i0 += TN_RING_CHUNK) {
    const PetscInt i1 = PetscMin(m, i0 + TN_RING_CHUNK), need = PetscMin(m, i1 + w);
    while (ahead < need) { /* rows [ahead, need), in at most two contiguous pieces of the ring */
      const PetscInt r = ahead & mask, len = PetscMin(need - ahead, R - r);
      TnPhiAll(dyn->act, (size_t)len * B, a + (size_t)ahead * B, ring + (size_t)r * B);
      ahead += len;
    }
    for (PetscInt i = i0; i < i1; i++) {
      if (f < s->nfar && s->far[f] == i) {
        f++;
        RateRow(dyn, &dyn->d, i, NULL, a, dyn->pbuf, 0, out, &acc, prod, expo, nodeacc, 0, 0, B);
      } else
        RateRow(dyn, &dyn->d, i, NULL, a, ring, mask, out, &acc, prod, expo, nodeacc, 0, 1, B);
    }
  }
  TnAccEnd(&acc, prod, expo, ldet, B);
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
  for (PetscInt r = 0; r < nrows; r++) {
    const PetscInt i = rows ? rows[r] : r;
    for (PetscInt b = 0; b < B; b++) ybuf[(size_t)i * B + b] = bias ? bias[i] : 0.0;
  }
  for (PetscInt q = 0; q + 1 < P->np; q++)
    for (PetscInt r = 0; r < nrows; r++) {
      const PetscInt i = rows ? rows[r] : r;
      PetscReal      y[B];
      for (PetscInt b = 0; b < B; b++) y[b] = ybuf[(size_t)i * B + b];
      TnRowTimesBlockPrefetch(&P->view[q], i, x, B, y);
      for (PetscInt b = 0; b < B; b++) ybuf[(size_t)i * B + b] = y[b];
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

/* out_i += h (Ao G)_i for the rows with off-process synapses, once the
   halo has arrived. */
static PetscErrorCode RateOffProcess(TnDyn dyn, PetscScalar *out)
{
  TnSync            *s = (TnSync *)dyn->data;
  const PetscScalar *g;
  PetscFunctionBeginUser;
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

/* pa: where phi(a) goes (NULL: pbuf); the halo's Vec P then views it. */
static PetscErrorCode StepRate(TnDyn dyn, const PetscScalar *a, PetscScalar *out, PetscReal *pa, PetscReal *ldet, PetscReal *nodeacc)
{
  TnSync    *s = (TnSync *)dyn->data;
  PetscReal *p = pa ? pa : dyn->pbuf;
  PetscFunctionBeginUser;
  PetscCall(TnSyncPanelsUpdate(dyn));
  TnPhiAll(dyn->act, (size_t)dyn->m * dyn->B, a, p);
  if (pa) PetscCall(VecPlaceArray(dyn->P, pa));
  PetscCall(TnDynHaloBegin(dyn));
  if (s->pd.np > 1)
    TN_DISPATCH_B(dyn->B, RateOnProcessPanels, dyn, a, p, out, ldet, nodeacc);
  else if (dyn->d.prefetch && dyn->B >= 8)
    TN_DISPATCH_B(dyn->B, RateOnProcessPF, dyn, a, p, out, ldet, nodeacc);
  else
    TN_DISPATCH_B(dyn->B, RateOnProcess, dyn, a, p, out, ldet, nodeacc);
  PetscCall(TnDynHaloEnd(dyn));
  if (pa) PetscCall(VecResetArray(dyn->P));
  PetscCall(RateOffProcess(dyn, out));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The rate form without phi(a) kept (Ad banded, SetUpRing): phi of the
   rows other ranks need (and of the far rows' columns) into pbuf, begin the
   exchange, the ring pass, end, the off-process part. pbuf holds phi(a)
   only at those rows afterwards. */
static PetscErrorCode StepRateRing(TnDyn dyn, const PetscScalar *a, PetscScalar *out, PetscReal *ldet, PetscReal *nodeacc)
{
  TnSync        *s = (TnSync *)dyn->data;
  const PetscInt B = dyn->B;
  PetscFunctionBeginUser;
  PetscCall(TnSyncPanelsUpdate(dyn));
  for (PetscInt r = 0; r < s->npre; r++) TnPhiAll(dyn->act, (size_t)B, a + (size_t)s->pre[r] * B, dyn->pbuf + (size_t)s->pre[r] * B);
  PetscCall(TnDynHaloBegin(dyn));
  TN_DISPATCH_B(B, RateOnProcessRing, dyn, a, out, ldet, nodeacc);
  PetscCall(TnDynHaloEnd(dyn));
  PetscCall(RateOffProcess(dyn, out));
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

/* TnSyncStep leaves phi(a) (rate) or a (current) in pbuf, or in pa, for the
   local rule's pass (local.c); the scheme's step (Step) need not, and takes
   the ring pass where set up (phi(a) not asked for: pa NULL). */
static PetscErrorCode StepAny(TnDyn dyn, const PetscScalar *a, PetscScalar *out, PetscReal *pa, PetscReal *ldet, PetscReal *nodeacc, PetscBool keep)
{
  TnSync *s = (TnSync *)dyn->data;
  PetscFunctionBeginUser;
  dyn->passes++;
  if (dyn->form == TN_FORM_RATE && !pa && !keep && s->ring)
    PetscCall(StepRateRing(dyn, a, out, ldet, nodeacc));
  else if (dyn->form == TN_FORM_RATE)
    PetscCall(StepRate(dyn, a, out, pa, ldet, nodeacc));
  else
    PetscCall(StepCurrent(dyn, a, out, ldet, nodeacc));
  PetscCall(PetscLogFlops(2.0 * dyn->B * (double)(dyn->d.ia[dyn->m] + dyn->o.ia[dyn->m]) + 8.0 * dyn->m * dyn->B));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSyncStep(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *pa, PetscReal *ldet, PetscReal *nodeacc)
{
  PetscFunctionBeginUser;
  PetscCall(StepAny(dyn, a, out, pa, ldet, nodeacc, PETSC_TRUE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Step(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *pa, PetscReal *ldet, PetscReal *nodeacc)
{
  PetscFunctionBeginUser;
  PetscCall(StepAny(dyn, a, out, pa, ldet, nodeacc, PETSC_FALSE));
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
    PetscCall(PetscMalloc1((size_t)dyn->m * dyn->B + 1, &s->ybuf));
    TnDynAdviseHuge(s->ybuf, row * dyn->m);
  }
  PetscCall(PetscInfo(NULL, "column panels of %zu bytes: %" PetscInt_FMT " on-process, %" PetscInt_FMT " off-process\n", bytes, PetscMax(s->pd.np, 1), PetscMax(s->po.np, 1)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The ring pass of the rate form (RateOnProcessRing), where Ad is banded:
   reach_i = max |j - i| over row i's columns; ringw = the largest reach
   whose ring (a power of 2 of at least TN_RING_CHUNK + 2 ringw rows of B
   values) fits in TN_RING_BYTES, which stays in the L2 cache; the rows
   reaching further are the far rows, at most m/8 of them (a periodic
   lattice in natural order: the first and last rows of the grid, whose
   neighbours wrap around). pre: the rows whose phi goes to pbuf before the
   pass: the far rows, their columns and the rows the halo sends (found by
   a reverse exchange of ones from the ghosts). Collective. */
#define TN_RING_BYTES ((size_t)512 << 10)
static PetscErrorCode SetUpRing(TnDyn dyn)
{
  TnSync        *s = (TnSync *)dyn->data;
  const TnCSR   *d = &dyn->d;
  const PetscInt m = dyn->m, B = dyn->B;
  const size_t   rowsmax = TN_RING_BYTES / (sizeof(PetscReal) * B);
  PetscInt      *reach, wcap = rowsmax > TN_RING_CHUNK ? (PetscInt)((rowsmax - TN_RING_CHUNK) / 2) : -1, w = 0, nfar = 0;
  PetscBool      ok, any;
  char          *mark;
  PetscFunctionBeginUser;
  ok = (PetscBool)(dyn->fusephi && dyn->form == TN_FORM_RATE && s->pd.np <= 1 && wcap >= 0 && m > 0);
  PetscCall(PetscMalloc1(m + 1, &reach));
  for (PetscInt i = 0; ok && i < m; i++) {
    reach[i] = 0;
    for (PetscInt t = d->ia[i]; t < d->ia[i + 1]; t++) reach[i] = PetscMax(reach[i], PetscAbsInt(d->ja[t] - i));
    if (reach[i] <= wcap)
      w = PetscMax(w, reach[i]);
    else
      nfar++;
  }
  if (ok) ok = (PetscBool)(nfar <= m / 8);
  PetscCall(MPIU_Allreduce(&ok, &any, 1, MPIU_BOOL, MPI_LOR, dyn->comm));
  if (!any) {
    PetscCall(PetscFree(reach));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  /* the rows the halo sends: a reverse exchange of ones into pbuf (free at set-up) */
  PetscCall(VecSet(dyn->G, 1.0));
  PetscCall(VecZeroEntries(dyn->P));
  PetscCall(VecScatterBegin(dyn->halo, dyn->G, dyn->P, ADD_VALUES, SCATTER_REVERSE));
  PetscCall(VecScatterEnd(dyn->halo, dyn->G, dyn->P, ADD_VALUES, SCATTER_REVERSE));
  PetscCall(VecZeroEntries(dyn->G));
  if (ok) {
    PetscInt R = 1, npre = 0;
    while (R < TN_RING_CHUNK + 2 * w) R *= 2;
    s->ringw    = w;
    s->ringrows = R;
    s->nfar     = nfar;
    PetscCall(PetscCalloc1(m, &mark));
    for (PetscInt i = 0; i < m; i++) {
      if (dyn->pbuf[(size_t)i * B] != 0) mark[i] = 1;
      if (reach[i] > w) {
        mark[i] = 1;
        for (PetscInt t = d->ia[i]; t < d->ia[i + 1]; t++) mark[d->ja[t]] = 1;
      }
    }
    for (PetscInt i = 0; i < m; i++) npre += mark[i];
    s->npre = npre;
    PetscCall(PetscMalloc3(nfar + 1, &s->far, npre + 1, &s->pre, (size_t)R * B, &s->ring));
    nfar = npre = 0;
    for (PetscInt i = 0; i < m; i++) {
      if (reach[i] > w) s->far[nfar++] = i;
      if (mark[i]) s->pre[npre++] = i;
    }
    PetscCall(PetscFree(mark));
    PetscCall(PetscInfo(NULL, "phi(a) in a ring of %" PetscInt_FMT " rows: band %" PetscInt_FMT ", %" PetscInt_FMT " far rows, %" PetscInt_FMT " rows through pbuf\n", R, w, s->nfar, s->npre));
  }
  PetscCall(VecZeroEntries(dyn->P));
  PetscCall(PetscFree(reach));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode SetUp(TnDyn dyn)
{
  TnSync *s = (TnSync *)dyn->data;
  PetscFunctionBeginUser;
  if (dyn->form == TN_FORM_CURRENT) PetscCall(PetscMalloc1((size_t)dyn->m * dyn->B + 1, &s->S));
  PetscCall(SetUpPanels(dyn));
  PetscCall(SetUpRing(dyn));
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
  PetscCall(PetscFree(s->ybuf));
  PetscCall(PetscFree3(s->far, s->pre, s->ring));
  s->nfar = s->npre = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode SetFromOptions(TnDyn dyn, PetscOptionItems *PetscOptionsObject)
{
  PetscInt  kb = dyn->panelset ? dyn->panelkb : -1;
  PetscBool set;
  PetscFunctionBeginUser;
  PetscCall(TnOptionsInt("-panel_kb", "sync: kB of gathered state per column panel of W (0: no panels; -1: half the last-level cache's share of each rank on the node)", "TnDynSetUp", kb, &kb, &set, -1, PETSC_MAX_INT));
  if (set) {
    dyn->panelkb  = kb;
    dyn->panelset = (PetscBool)(kb >= 0);
  }
  PetscCall(PetscOptionsBool("-fuse_phi", "sync, rate form: phi(a) computed inside the row pass (a ring buffer) where W's on-process block is banded", "TnDynSetUp", dyn->fusephi, &dyn->fusephi, NULL));
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

PetscErrorCode TnSchemeCreate_Sync(TnDyn dyn)
{
  TnSync *s;
  PetscFunctionBeginUser;
  PetscCall(PetscNew(&s));
  dyn->data               = s;
  dyn->ops.setfromoptions = SetFromOptions;
  dyn->ops.setup          = SetUp;
  dyn->ops.reset          = Reset;
  dyn->ops.step           = Step;
  dyn->ops.stepsave       = StepSave;
  dyn->ops.adjointsetup   = TnSyncAdjointSetUp;
  dyn->ops.adjointreset   = TnSyncAdjointReset;
  dyn->ops.adjointbegin   = TnSyncAdjointBegin;
  dyn->ops.adjointstep    = TnSyncAdjointStep;
  dyn->ops.adjointend     = TnSyncAdjointEnd;
  dyn->ops.localstep      = TnSyncLocalStep;
  dyn->ops.inversestep    = TnSyncInverseStep;
  dyn->ops.bound          = Bound;
  dyn->ops.boundnorm1     = PETSC_TRUE;
  dyn->ops.clamp          = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}
