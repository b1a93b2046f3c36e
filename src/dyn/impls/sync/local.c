/* The local rule's step of the sync scheme (docs/gradient.md, "The local
   rule"). Every node i is updated from a_k, so its coefficients (TnLocCoefs)
   are at t = phi(a_k,i) (rate) or phi(s_i) (current).

   Rate form: one pass, the forward step and the traces fused. The step is
   TnSyncStep's, the same sums in the same order: p = phi(a_k) into pbuf,
   the halo exchange begun, y_i = b_i + (Ad p)_i row by row (panel by panel
   when the scheme has column panels, TnPanels: a row's synapses in panel q
   are a contiguous part of the row, its columns ascending, from cur[i] on),
   out_i = a_i + h(-gamma_i a_i + y_i) and the log-det factor; the exchange
   ended, out_i += h (Ao g)_i. Each synapse's trace is carried where the
   product reads it, e <- F e + hq p_j after the gradient's ga e, so W, the
   gathered p_j and the traces are streamed once per step; node i's own
   terms (b_i, gamma_i, W_ii) follow its last on-process synapse, as in
   TnLocRowCols. With panels, F and ga of each row (hq = h, gs = 0 in the
   rate form) are kept from its first panel (cF, cga) instead of being
   recomputed at every one.

   Current form: the forward step (TnSyncStep), then a pass of its own over
   the rows with the values that step read: the coefficients need
   phi(s_i), s = W a + b complete (Ao's part included). */
#include "syncimpl.h"

/* Rows' synapses t in [t0, t1) of a block: y += W_ij x_j (as
   TnRowTimesBlockPF, the same order) and the trace step (TnLocSynapse, rate
   form: gs = 0, hq = h). */
TN_INLINE void SynapsesY(const TnCSR *A, PetscInt t0, PetscInt t1, const PetscReal *restrict x, PetscReal *restrict y, PetscReal *restrict e, PetscReal *restrict g, const PetscReal *restrict F, const PetscReal *restrict hq, const PetscReal *restrict ga, const int grad, const int fresh, const int pf, const PetscInt B)
{
  for (PetscInt t = t0; t < t1; t++) {
    const PetscScalar  v   = A->va[t];
    const PetscScalar *xj  = x + (size_t)A->ja[t] * B;
    PetscReal *restrict et = e + (size_t)t * B;
    if (pf && t + TN_PREFETCH_AHEAD < A->n) {
      const PetscScalar *xf = x + (size_t)A->ja[t + TN_PREFETCH_AHEAD] * B;
      __builtin_prefetch(xf);
      __builtin_prefetch(xf + B - 1);
    }
    for (PetscInt b = 0; b < B; b++) y[b] += v * xj[b];
    if (fresh) /* e_0 = 0, not read: e_1 = hq x_j, and ga e_0 adds nothing */
      for (PetscInt b = 0; b < B; b++) et[b] = hq[b] * xj[b];
    else if (grad)
      g[t] += TnLocSynapse(et, xj, F, hq, ga, NULL, 0, 0, B);
    else
      for (PetscInt b = 0; b < B; b++) et[b] = F[b] * et[b] + hq[b] * xj[b];
  }
}

/* the end of row i's synapses below column hi, from t (columns ascend) */
TN_INLINE PetscInt PanelEnd(const PetscInt *restrict ja, PetscInt t, PetscInt end, PetscInt hi)
{
  while (t < end && ja[t] < hi) t++;
  return t;
}

/* Row i's F and ga (rate form), and k[] when `full`: computed, or taken
   from cF, cga (kept at the row's first panel) */
TN_INLINE int RowCoefs(TnDyn dyn, PetscInt i, const PetscReal *restrict pi, int fresh, int keep, PetscReal *restrict F, PetscReal *restrict ga, TnLocCoef *restrict k, const PetscInt B)
{
  const PetscBool lin = dyn->act == TN_ACT_LINEAR, diag = dyn->ldt == TN_LOGDET_DIAG;
  TnDynLoc       *L    = &dyn->loc;
  int             grad = 0;
  if (fresh) {
    for (PetscInt b = 0; b < B; b++) {
      TnLocCoefs(PETSC_TRUE, lin, diag, dyn->h, dyn->gamma[i], dyn->wdiag[i], L->wt[b], pi[b], &k[b]);
      F[b]  = k[b].F;
      ga[b] = k[b].ga;
    }
    if (keep)
      for (PetscInt b = 0; b < B; b++) {
        L->cF[(size_t)i * B + b]  = F[b];
        L->cga[(size_t)i * B + b] = ga[b];
      }
  } else
    for (PetscInt b = 0; b < B; b++) {
      F[b]  = L->cF[(size_t)i * B + b];
      ga[b] = L->cga[(size_t)i * B + b];
    }
  for (PetscInt b = 0; b < B; b++) grad |= ga[b] != 0;
  return grad;
}

/* The on-process pass (rate): np panels of cw columns (np = 1: none). */
TN_INLINE void RateOn(TnDyn dyn, const PetscScalar *a, PetscScalar *out, PetscReal *ldet, PetscInt np, PetscInt cw, const PetscInt B)
{
  TnSync         *s = (TnSync *)dyn->data;
  TnDynLoc       *L = &dyn->loc;
  const TnCSR    *A = &dyn->d;
  const PetscReal h = dyn->h, *p = dyn->pbuf;
  const int       lin = dyn->act == TN_ACT_LINEAR, keep = L->cF != NULL, pf = np > 1 || (A->prefetch && B >= 8);
  PetscInt       *cur = L->cur;
  PetscReal       prod[B], y[B], hA[B], F[B], hq[B], ga[B];
  int             expo[B];
  TnLocCoef       k[B];
  TnAcc           acc;
  for (PetscInt b = 0; b < B; b++) hq[b] = h;
  TnAccBegin(dyn, &acc, prod, expo, B);
  for (PetscInt i = 0; i < dyn->m; i++) cur[i] = A->ia[i];
  for (PetscInt q = 0; q < np; q++) {
    const int      last = q == np - 1;
    const PetscInt hi   = last ? PETSC_MAX_INT : (q + 1) * cw;
    for (PetscInt i = 0; i < dyn->m; i++) {
      const PetscReal *restrict pi = p + (size_t)i * B;
      PetscReal *restrict yi       = np > 1 ? s->ybuf + (size_t)i * B : y;
      const PetscInt t1            = last ? A->ia[i + 1] : PanelEnd(A->ja, cur[i], A->ia[i + 1], hi);
      int            grad;
      if (t1 == cur[i] && q > 0 && !last) continue; /* no synapse of row i in this panel */
      grad = RowCoefs(dyn, i, pi, q == 0 || last, keep && q == 0, F, ga, k, B);
      if (q == 0)
        for (PetscInt b = 0; b < B; b++) yi[b] = dyn->bias[i];
      if (L->fresh)
        SynapsesY(A, cur[i], t1, p, yi, L->e, L->acc.gW, F, hq, ga, 0, 1, pf, B);
      else if (grad)
        SynapsesY(A, cur[i], t1, p, yi, L->e, L->acc.gW, F, hq, ga, 1, 0, pf, B);
      else
        SynapsesY(A, cur[i], t1, p, yi, L->e, L->acc.gW, F, hq, ga, 0, 0, pf, B);
      cur[i] = t1;
      if (last) {
        const PetscScalar *ai = a + (size_t)i * B;
        PetscScalar       *oi = out + (size_t)i * B;
        const PetscReal    gi = dyn->gamma[i], wi = dyn->wdiag[i], hi_ = h * TnDynFree(dyn, i);
        for (PetscInt b = 0; b < B; b++) {
          hA[b] = hi_ * (-gi + wi * (lin ? 1.0 : 1.0 - pi[b] * pi[b]));
          oi[b] = ai[b] + hi_ * (-gi * ai[b] + yi[b]);
        }
        TnAccRow(&acc, hA, prod, expo, NULL, B);
        TnLocRowOwn(dyn, i, k, ai, B);
      }
    }
  }
  TnAccEnd(&acc, prod, expo, ldet, B);
}

/* The off-process pass (rate): out_i += h (Ao g)_i and the Ao traces, for
   the rows with off-process synapses. */
TN_INLINE void RateOff(TnDyn dyn, PetscScalar *out, const PetscReal *g, PetscInt np, PetscInt cw, const PetscInt B)
{
  TnSync      *s  = (TnSync *)dyn->data;
  TnDynLoc    *L  = &dyn->loc;
  const TnCSR *A  = &dyn->o;
  const size_t nd = (size_t)dyn->d.n;
  const int    pf = np > 1 || B >= 8, keep = L->cF != NULL;
  PetscInt    *cur = L->cur;
  PetscReal    y[B], F[B], hq[B], ga[B];
  TnLocCoef    k[B];
  for (PetscInt b = 0; b < B; b++) hq[b] = dyn->h;
  for (PetscInt r = 0; r < dyn->noff; r++) cur[dyn->offrows[r]] = A->ia[dyn->offrows[r]];
  for (PetscInt q = 0; q < np; q++) {
    const int      last = q == np - 1;
    const PetscInt hi   = last ? PETSC_MAX_INT : (q + 1) * cw;
    for (PetscInt r = 0; r < dyn->noff; r++) {
      const PetscInt i       = dyn->offrows[r];
      PetscReal *restrict yi = np > 1 ? s->ybuf + (size_t)i * B : y;
      const PetscInt t1      = last ? A->ia[i + 1] : PanelEnd(A->ja, cur[i], A->ia[i + 1], hi);
      int            grad;
      if (t1 == cur[i] && q > 0 && !last) continue;
      grad = RowCoefs(dyn, i, dyn->pbuf + (size_t)i * B, !keep, 0, F, ga, k, B);
      if (q == 0)
        for (PetscInt b = 0; b < B; b++) yi[b] = 0;
      if (L->fresh)
        SynapsesY(A, cur[i], t1, g, yi, L->e + nd * B, L->acc.gW + nd, F, hq, ga, 0, 1, pf, B);
      else if (grad)
        SynapsesY(A, cur[i], t1, g, yi, L->e + nd * B, L->acc.gW + nd, F, hq, ga, 1, 0, pf, B);
      else
        SynapsesY(A, cur[i], t1, g, yi, L->e + nd * B, L->acc.gW + nd, F, hq, ga, 0, 0, pf, B);
      cur[i] = t1;
      if (last)
        for (PetscInt b = 0; b < B; b++) out[(size_t)i * B + b] += dyn->h * TnDynFree(dyn, i) * yi[b];
    }
  }
}

static PetscErrorCode LocalStepRate(TnDyn dyn, const PetscScalar *a, PetscScalar *out, PetscReal *ldet)
{
  TnSync            *s = (TnSync *)dyn->data;
  TnDynLoc          *L = &dyn->loc;
  const PetscScalar *g;
  /* The step's column panels only when -dyn_panel_kb is given: at er
     N = 10^6, k = 32, B = 16 (1 rank, quiet, bench_rule) a local step took
     3.98 s by the default panels against 1.22 s without; the traces, not
     the gathers, are what the step streams. */
  const PetscInt npd = dyn->panelset ? PetscMax(s->pd.np, 1) : 1, npo = dyn->panelset ? PetscMax(s->po.np, 1) : 1;
  PetscFunctionBeginUser;
  if (!L->cur) PetscCall(PetscMalloc1(dyn->m + 1, &L->cur));
  if ((npd > 1 || npo > 1) && !L->cF) PetscCall(PetscMalloc2((size_t)dyn->m * dyn->B + 1, &L->cF, (size_t)dyn->m * dyn->B + 1, &L->cga));
  dyn->passes++;
  TnPhiAll(dyn->act, (size_t)dyn->m * dyn->B, a, dyn->pbuf);
  PetscCall(TnDynHaloBegin(dyn));
  TN_DISPATCH_B(dyn->B, RateOn, dyn, a, out, ldet, npd, s->pd.cw);
  PetscCall(TnDynHaloEnd(dyn));
  PetscCall(VecGetArrayRead(dyn->G, &g));
  TN_DISPATCH_B(dyn->B, RateOff, dyn, out, g, npo, s->po.cw);
  PetscCall(VecRestoreArrayRead(dyn->G, &g));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* current form: the traces after the step */
TN_INLINE void Traces(TnDyn dyn, const PetscScalar *restrict a, const PetscReal *restrict gx, const PetscInt B)
{
  TnSync         *sd  = (TnSync *)dyn->data;
  const PetscBool lin = dyn->act == TN_ACT_LINEAR, diag = dyn->ldt == TN_LOGDET_DIAG;
  TnLocCoef       k[B];
  for (PetscInt i = 0; i < dyn->m; i++) {
    const size_t    q  = (size_t)i * B;
    const PetscReal gi = dyn->gamma[i], wi = dyn->wdiag[i];
    for (PetscInt b = 0; b < B; b++) TnLocCoefs(PETSC_FALSE, lin, diag, dyn->h, gi, wi, dyn->loc.wt[b], TnPhi(dyn->act, sd->S[q + b]), &k[b]);
    TnLocRow(dyn, i, k, a + q, dyn->pbuf, gx, B);
  }
}

PetscErrorCode TnSyncLocalStep(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *ldet)
{
  const PetscScalar *g;
  PetscFunctionBeginUser;
  if (dyn->form == TN_FORM_RATE) {
    PetscCall(LocalStepRate(dyn, a, out, ldet));
    PetscCall(PetscLogFlops(6.0 * dyn->B * (double)(dyn->d.n + dyn->o.n) + 28.0 * dyn->m * dyn->B));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(TnSyncStep(dyn, k, a, out, NULL, ldet, NULL));
  PetscCall(VecGetArrayRead(dyn->G, &g));
  TN_DISPATCH_B(dyn->B, Traces, dyn, a, g);
  PetscCall(VecRestoreArrayRead(dyn->G, &g));
  PetscCall(PetscLogFlops(4.0 * dyn->B * (double)(dyn->d.n + dyn->o.n) + 20.0 * dyn->m * dyn->B));
  PetscFunctionReturn(PETSC_SUCCESS);
}
