/* Backward step of the sync scheme (docs/gradient.md), step k from the state
   a = a_k and lam = omega lambda_{k+1} to lamnew = omega lambda_k:
     rate:    v = h lam;  lambda_k = (1 - h gamma) lam + D (W^T v) + c w_ii phi''(a),
              D = diag(phi'(a)); dL/dW_ij += v_i phi(a_j), dL/db_i += v_i
     current: mu = h D lam + c w_ii phi''(s), s = W a + b, D = diag(phi'(s));
              lambda_k = (1 - h gamma) lam + W^T mu; dL/dW_ij += mu_i a_j, dL/db_i += mu_i
   and in both dL/dgamma_i += -h a_i lam_i - c_i, dL/dW_ii += c_i d_i, where
   c = d(local loss)/dA_ii (TnAdjLocal), zero for a clamped node (its h is
   0 there); lam is zero on clamped nodes (adjoint.c), so their rows add
   nothing else. The on-process block's W^T is, for the rate form, a gather
   over Ad's columns (RateColumns: each lamnew_j written once; phi(a_k) kept
   by the forward pass; at B >= 4, and at smaller B where lambda is large:
   TnSyncAdjointSetUp) and a scatter-add by rows otherwise (Rows). Off-process columns go into the ghost buffer
   (by ghost slot, OffColumns, where the on-process block goes by columns; by rows, OffProcess, otherwise),
   which the reverse halo exchange (SCATTER_REVERSE, ADD_VALUES over the
   forward block halo) adds into the owners' lamnew; for the rate form the
   factor phi'(a_j) of an off-process column is applied on the sending side,
   from the ghost phi(a_j) the forward exchange brought. */
#include "syncimpl.h"

/* The transposed product of one row of a CSR block: v = the row's B
   multipliers (rate: h lam_i; current: mu_i), x = the column values (rate:
   phi(a); current: a), out = where column j's contributions go. gW[t] +=
   v . x_j; out_j += W_ij phi'(x_j) v (rate) or W_ij v (current). */
TN_INLINE void RowTransposed(const TnCSR *A, PetscInt i, PetscBool ratetanh, const PetscReal *restrict v, const PetscReal *restrict x, PetscReal *restrict out, PetscReal *restrict gW, const PetscInt B)
{
  for (PetscInt t = A->ia[i]; t < A->ia[i + 1]; t++) {
    const size_t j = (size_t)A->ja[t] * B;
    gW[t] += TnAdjSynapse(A->va[t], v, x + j, out + j, ratetanh, B);
  }
}

/* sum_b x_b y_b in four lanes, then pairwise: a fixed order that vectorises. */
TN_INLINE PetscReal Dot(const PetscReal *restrict x, const PetscReal *restrict y, const PetscInt B)
{
  PetscReal s[4] = {0, 0, 0, 0};
  PetscInt  b    = 0;
  for (; b + 4 <= B; b += 4)
    for (PetscInt l = 0; l < 4; l++) s[l] += x[b + l] * y[b + l];
  for (; b < B; b++) s[0] += x[b] * y[b];
  return (s[0] + s[1]) + (s[2] + s[3]);
}

/* Rate form, on-process part, as a gather over the columns of Ad (its
   transpose tia/tja/tperm): for every node j,
     u_j       = sum_i W_ij lam_i                       (i over Ad's column j)
     lamnew_j  = (1 - h gamma_j) lam_j + c_j w_jj phi''(a_j) + h phi'(a_j) u_j
     dL/dW_ij += h lam_i . phi(a_j) (into tgW, with W_ij from tva: both in
                 the transpose's order),  dL/db_j += h sum_b lam_j,
     dL/dgamma_j += sum_b (-h a_j lam_j - c_j),  dL/dW_jj += sum_b c_j phi'(a_j)
   Each node's lamnew is written once (no scatter, no zeroing); lam is
   gathered from neighbouring rows. The off-process synapses' terms follow
   (OffProcess, the reverse halo adds them). */
/* Column j's synapses in [t0, t1) of the transpose: u += sum_i W_ij lam_i,
   tgW += h lam_i . phi(a_j); lam_i prefetched TN_PREFETCH_AHEAD synapses
   ahead when pf (scattered rows, B >= 8). For B a multiple of 4 up to 32 the row of
   u and phi(a_j) stay in vector registers through the column and the dot
   product is Dot's own sums in Dot's order, lane by lane (s_l over
   b = l mod 4 ascending, then (s_0 + s_1) + (s_2 + s_3)): bit for bit the
   scalar loop's results, which the compiler left with u in memory and the
   dot product in scalar code. */
TN_INLINE void ColumnGather(const PetscInt *restrict tja, const PetscReal *restrict va, PetscReal *restrict tgW, PetscInt t0, PetscInt t1, PetscInt n, PetscReal h, const PetscReal *restrict L, const PetscReal *restrict pj, PetscReal *restrict u, const int zero, const int pf, const PetscInt B)
{
  if (B % 4 == 0 && B <= 32) { /* fixed-size arrays: registers (a VLA stays in memory) */
    const PetscInt nq = B / 4;
    TnV4           uv[8], pv[8];
    for (PetscInt q = 0; q < nq; q++) {
      uv[q] = zero ? (TnV4){0, 0, 0, 0} : TnV4Load(u + 4 * q);
      pv[q] = TnV4Load(pj + 4 * q);
    }
    for (PetscInt t = t0; t < t1; t++) {
      const PetscReal *restrict Li = L + (size_t)tja[t] * B;
      const PetscReal w            = va[t];
      TnV4            s            = {0, 0, 0, 0};
      if (pf && t + TN_PREFETCH_AHEAD < n) {
        const PetscReal *lf = L + (size_t)tja[t + TN_PREFETCH_AHEAD] * B;
        __builtin_prefetch(lf, 0, 2);
        __builtin_prefetch(lf + B - 1, 0, 2);
      }
      for (PetscInt q = 0; q < nq; q++) {
        const TnV4 l = TnV4Load(Li + 4 * q);
        uv[q] += w * l;
        s += l * pv[q];
      }
      tgW[t] += h * ((s[0] + s[1]) + (s[2] + s[3]));
    }
    for (PetscInt q = 0; q < nq; q++) memcpy(u + 4 * q, &uv[q], sizeof(TnV4));
  } else {
    if (zero)
      for (PetscInt b = 0; b < B; b++) u[b] = 0;
    for (PetscInt t = t0; t < t1; t++) {
      const PetscReal *restrict Li = L + (size_t)tja[t] * B;
      const PetscReal w            = va[t];
      if (pf && t + TN_PREFETCH_AHEAD < n) {
        const PetscReal *lf = L + (size_t)tja[t + TN_PREFETCH_AHEAD] * B;
        __builtin_prefetch(lf, 0, 2);
        __builtin_prefetch(lf + B - 1, 0, 2);
      }
      for (PetscInt b = 0; b < B; b++) u[b] += w * Li[b];
      tgW[t] += h * Dot(Li, pj, B);
    }
  }
}

/* The transpose's panels but the last (its rows i in slices that stay in
   cache, as TnPanels): u_j's partial sums into ybuf, in the same order. */
TN_INLINE void RateColumnPanels(TnDyn dyn, const PetscReal *restrict p, const PetscInt B)
{
  TnSync *sd                  = (TnSync *)dyn->data;
  const PetscReal *restrict L = dyn->adj.lam;
  PetscReal *restrict ub      = sd->ybuf;
  for (PetscInt q = 0; q + 1 < sd->tnp; q++) {
    const PetscInt *restrict tia = sd->tia + (size_t)q * (dyn->m + 1);
    for (PetscInt j = 0; j < dyn->m; j++) {
      if (B >= 8 && j + TN_ROWS_AHEAD < dyn->m) {
        TnPrefetchRow(ub + (size_t)(j + TN_ROWS_AHEAD) * B, 1, B);
        TnPrefetchRow(p + (size_t)(j + TN_ROWS_AHEAD) * B, 0, B);
      }
      ColumnGather(sd->tja, sd->tva, sd->tgW, tia[j], tia[j + 1], dyn->d.n, dyn->h, L, p + (size_t)j * B, ub + (size_t)j * B, q == 0, 1, B); /* in place: a row copied through a stack array was loaded back in other widths than it was stored, and stalled */
    }
  }
}

TN_INLINE void RateColumns(TnDyn dyn, const PetscScalar *restrict a, const PetscReal *restrict p, TnDynAdjAcc *acc, const PetscInt B)
{
  TnDynAdj       *g   = &dyn->adj;
  TnSync         *sd  = (TnSync *)dyn->data;
  const PetscBool lin = dyn->act == TN_ACT_LINEAR, diag = dyn->ldt == TN_LOGDET_DIAG;
  const PetscReal h           = dyn->h;
  const PetscReal *restrict L = g->lam;
  PetscReal *restrict ub      = sd->tnp > 1 ? sd->ybuf : NULL;
  PetscReal *restrict Ln = g->lamnew, *restrict gd = sd->tgd;
  const PetscInt *restrict tia = sd->tia + (size_t)(sd->tnp - 1) * (dyn->m + 1);
  const int pf                 = dyn->d.prefetch && B >= 8;
  PetscReal ur[B];
  if (ub) RateColumnPanels(dyn, p, B);
  for (PetscInt j = 0; j < dyn->m; j++) {
    const PetscReal *restrict pj = p + (size_t)j * B, *restrict Lj = L + (size_t)j * B, *restrict aj = a + (size_t)j * B;
    PetscReal *restrict Lnj = Ln + (size_t)j * B;
    const PetscReal gj = dyn->gamma[j], wj = dyn->wdiag[j];
    PetscReal       sb = 0, sg = 0, sw = 0;
    PetscReal *restrict u = ub ? ub + (size_t)j * B : ur; /* the panels' partial sums, or from zero */
    if (pf && j + TN_ROWS_AHEAD < dyn->m) {
      const size_t f = (size_t)(j + TN_ROWS_AHEAD) * B;
      if (ub) TnPrefetchRow(ub + f, 0, B);
      TnPrefetchRow(p + f, 0, B);
      TnPrefetchRow(L + f, 0, B);
      TnPrefetchRow(a + f, 0, B);
      TnPrefetchRow(Ln + f, 1, B);
    }
    if (pf)
      ColumnGather(sd->tja, sd->tva, sd->tgW, tia[j], tia[j + 1], dyn->d.n, h, L, pj, u, !ub, 1, B);
    else
      ColumnGather(sd->tja, sd->tva, sd->tgW, tia[j], tia[j + 1], dyn->d.n, h, L, pj, u, !ub, 0, B);
    for (PetscInt b = 0; b < B; b++) {
      PetscReal d, phi2, c;
      TnAdjLocal(lin, diag, h * TnDynFree(dyn, j), gj, wj, g->wt[b], pj[b], &d, &phi2, &c);
      Lnj[b] = (1 - h * gj) * Lj[b] + c * wj * phi2 + h * d * u[b];
      sb += h * Lj[b];
      sg += -h * aj[b] * Lj[b] - c;
      sw += c * d;
    }
    acc->gb[j] += sb;
    acc->gg[j] += sg;
    gd[j] += sw; /* into dL/dW_jj at AdjointEnd, where W_jj is a synapse */
  }
}

/* On-process part as one pass over the rows (rate: a compile-time constant
   at the call): row i's own terms -- the gradients of b, gamma and W_ii and
   lamnew_i's diagonal part -- then the transposed product of its on-process
   synapses, a scatter into lamnew, which is zero on entry (rows add into it
   in any order).
     rate:    t = phi(a_i) from p, v = h lam_i (B < 4 with lambda in cache:
              RateColumns' transpose would cost 8 bytes per synapse for no
              gain);
     current: t = phi(s_i), v = mu_i = h phi'(s_i) lam_i + c_i w_ii phi''(s_i),
              kept in S for OffProcess. */
TN_INLINE void Rows(TnDyn dyn, const PetscScalar *restrict a, const PetscReal *restrict p, TnDynAdjAcc *acc, const PetscBool rate, const PetscInt B)
{
  TnDynAdj        *g   = &dyn->adj;
  TnSync          *sd  = (TnSync *)dyn->data;
  const PetscBool  lin = dyn->act == TN_ACT_LINEAR, diag = dyn->ldt == TN_LOGDET_DIAG;
  const PetscReal  h    = dyn->h;
  const PetscReal *x    = rate ? p : a; /* what the columns of W multiply */
  PetscReal *restrict L = g->lam, *restrict Ln = g->lamnew;
  PetscReal v[B];
  for (PetscInt i = 0; i < dyn->m; i++) {
    const PetscReal gi = dyn->gamma[i], wi = dyn->wdiag[i];
    PetscReal       sb = 0, sg = 0, sw = 0;
    for (PetscInt b = 0; b < B; b++) {
      const size_t q = (size_t)i * B + b;
      PetscReal    d, phi2, c, t = rate ? p[q] : TnPhi(dyn->act, sd->S[q]);
      TnAdjLocal(lin, diag, h * TnDynFree(dyn, i), gi, wi, g->wt[b], t, &d, &phi2, &c);
      if (rate) {
        v[b] = h * L[q];
        Ln[q] += (1 - h * gi) * L[q] + c * wi * phi2;
      } else {
        v[b] = sd->S[q] = h * d * L[q] + c * wi * phi2; /* mu */
        Ln[q] += (1 - h * gi) * L[q];
      }
      sb += v[b];
      sg += -h * a[q] * L[q] - c;
      sw += c * d;
    }
    acc->gb[i] += sb;
    acc->gg[i] += sg;
    if (dyn->diagpos[i] >= 0) acc->gW[dyn->diagpos[i]] += sw;
    RowTransposed(&dyn->d, i, rate && !lin, v, x, Ln, acc->gW, B);
  }
}

/* The row multipliers: h lam_i (rate) or mu_i (current, in S). */
TN_INLINE void RowMult(TnDyn dyn, PetscInt i, PetscReal *v, const PetscInt B)
{
  TnDynAdj       *g    = &dyn->adj;
  TnSync         *sd   = (TnSync *)dyn->data;
  const PetscBool rate = dyn->form == TN_FORM_RATE;
  for (PetscInt b = 0; b < B; b++) v[b] = rate ? dyn->h * g->lam[(size_t)i * B + b] : sd->S[(size_t)i * B + b];
}

TN_INLINE void OffProcess(TnDyn dyn, const PetscReal *gx, PetscReal *gy, TnDynAdjAcc *acc, const PetscInt B)
{
  const PetscBool rt = dyn->form == TN_FORM_RATE && dyn->act == TN_ACT_TANH;
  PetscReal       v[B];
  for (PetscInt q = 0; q < dyn->nghost * B; q++) gy[q] = 0;
  for (PetscInt r = 0; r < dyn->noff; r++) {
    const PetscInt i = dyn->offrows[r];
    RowMult(dyn, i, v, B);
    RowTransposed(&dyn->o, i, rt, v, gx, gy, acc->gW + dyn->d.n, B);
  }
}

/* Rate form, off-process part as a gather over Ao's columns, the ghost
   slots (toia/toja): for every ghost slot j, with x_j = phi(a_j) from the
   forward exchange,
     u_j       = sum_i W_ij lam_i                       (i over Ao's column j)
     gy_j      = h phi'(a_j) u_j                        (phi' = 1 - x_j^2 for tanh, 1 linear)
     dL/dW_ij += h lam_i . x_j                          (into togW)
   each gy_j written once; the reverse halo adds it into the owner's lamnew
   as OffProcess's scatter by rows did (the same terms, summed by column:
   er N = 10^6, k = 32, B = 16, 2 ranks, bench/README.md). */
TN_INLINE void OffColumns(TnDyn dyn, const PetscReal *restrict gx, PetscReal *restrict gy, const PetscInt B)
{
  TnSync         *sd          = (TnSync *)dyn->data;
  const PetscBool lin         = dyn->act == TN_ACT_LINEAR;
  const PetscReal h           = dyn->h;
  const PetscReal *restrict L = dyn->adj.lam;
  const int pf                = B >= 8 || dyn->o.prefetch;
  PetscReal u[B];
  for (PetscInt j = 0; j < dyn->nghost; j++) {
    const PetscReal *restrict xj = gx + (size_t)j * B;
    PetscReal *restrict yj       = gy + (size_t)j * B;
    if (B >= 8 && j + TN_ROWS_AHEAD < dyn->nghost) {
      TnPrefetchRow(xj + TN_ROWS_AHEAD * B, 0, B);
      TnPrefetchRow(yj + TN_ROWS_AHEAD * B, 1, B);
    }
    if (pf)
      ColumnGather(sd->toja, sd->tova, sd->togW, sd->toia[j], sd->toia[j + 1], dyn->o.n, h, L, xj, u, 1, 1, B);
    else
      ColumnGather(sd->toja, sd->tova, sd->togW, sd->toia[j], sd->toia[j + 1], dyn->o.n, h, L, xj, u, 1, 0, B);
    for (PetscInt b = 0; b < B; b++) yj[b] = h * (lin ? 1.0 : 1.0 - xj[b] * xj[b]) * u[b];
  }
}

/* current form: S = W a + b (forward halo of a in flight). */
TN_INLINE void SynInput(TnDyn dyn, const PetscScalar *a, const PetscInt B)
{
  TnSync *sd = (TnSync *)dyn->data;
  for (PetscInt i = 0; i < dyn->m; i++)
    for (PetscInt b = 0; b < B; b++) sd->S[(size_t)i * B + b] = dyn->bias[i];
  TnSyncProduct(&dyn->d, &sd->pd, NULL, dyn->m, a, sd->S, B);
}

TN_INLINE void SynInputOff(TnDyn dyn, const PetscScalar *gx, const PetscInt B)
{
  TnSync *sd = (TnSync *)dyn->data;
  TnSyncProduct(&dyn->o, &sd->po, dyn->offrows, dyn->noff, gx, sd->S, B);
}

PetscErrorCode TnSyncAdjointStep(TnDyn dyn, PetscInt k, const PetscScalar *ak, const PetscScalar *ak1, const PetscReal *pk)
{
  TnDynAdj        *g    = &dyn->adj;
  TnSync          *sd   = (TnSync *)dyn->data;
  TnDynAdjAcc     *acc  = &g->acc;
  const PetscBool  rate = dyn->form == TN_FORM_RATE;
  const PetscReal *gx, *x;
  PetscReal       *gy;
  PetscFunctionBeginUser;
  if (rate && !pk) { /* phi(a_k): kept by the forward pass (tanh) or a_k itself (linear); a rank without rows keeps nothing (nsave = 0) */
    PetscCheck(dyn->act == TN_ACT_LINEAR || dyn->m == 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "phi(a_k) was not kept");
    pk = ak;
  }
  x = rate ? pk : ak; /* what the columns of W multiply */
  if (!rate) PetscCall(TnSyncPanelsUpdate(dyn));
  PetscCall(TnDynAdjHaloBegin(dyn, x));
  if (rate && sd->tia) {
    TN_DISPATCH_B(dyn->B, RateColumns, dyn, ak, pk, acc);
    PetscCall(TnDynAdjHaloEnd(dyn, &gx));
  } else if (rate) {
    PetscCall(PetscArrayzero(g->lamnew, (size_t)dyn->m * dyn->B));
    TN_DISPATCH_B(dyn->B, Rows, dyn, ak, pk, acc, PETSC_TRUE);
    PetscCall(TnDynAdjHaloEnd(dyn, &gx));
  } else {
    PetscCall(PetscArrayzero(g->lamnew, (size_t)dyn->m * dyn->B));
    TN_DISPATCH_B(dyn->B, SynInput, dyn, ak);
    PetscCall(TnDynAdjHaloEnd(dyn, &gx));
    TN_DISPATCH_B(dyn->B, SynInputOff, dyn, gx);
    TN_DISPATCH_B(dyn->B, Rows, dyn, ak, NULL, acc, PETSC_FALSE);
  }
  PetscCall(VecGetArray(g->Gy, &gy));
  if (rate && sd->toia)
    TN_DISPATCH_B(dyn->B, OffColumns, dyn, gx, gy);
  else
    TN_DISPATCH_B(dyn->B, OffProcess, dyn, gx, gy, acc);
  PetscCall(VecRestoreArray(g->Gy, &gy));
  PetscCall(TnDynAdjReverseBegin(dyn, g->lamnew));
  PetscCall(TnDynAdjReverseEnd(dyn));
  TnDynAdjSwap(dyn);
  PetscCall(PetscLogFlops((rate ? 6.0 : 8.0) * dyn->B * (double)(dyn->d.n + dyn->o.n) + 20.0 * dyn->m * dyn->B));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The rate form's backward pass applies Ad^T column by column (a gather):
   tja[tia[j] .. tia[j+1]) are the rows i with W_ij in Ad, ascending, and
   tperm the positions of those entries in Ad's values. Per gradient, the
   values are gathered into tva once (AdjointBegin) and dL/dW is accumulated
   in tgW in the same order, then scattered back once (AdjointEnd): the K
   backward steps stream both instead of reaching into Ad's order at every
   synapse. It pays from B = 4. When the forward step has column panels on
   Ad (TnPanels), the transpose has as many, by slices of its rows i (the
   gathered lam_i): tnp blocks of m + 1 pointers, panel after panel, each
   column's rows still ascending across them. */
static PetscErrorCode Transpose(TnDyn dyn)
{
  TnSync        *sd = (TnSync *)dyn->data;
  const TnCSR   *d  = &dyn->d;
  const PetscInt m = dyn->m, np = sd->pd.np > 1 ? sd->pd.np : 1, cw = np > 1 ? sd->pd.cw : m + 1;
  PetscInt      *next;
  PetscFunctionBeginUser;
  sd->tnp = np;
  PetscCall(PetscCalloc3((size_t)np * (m + 1), &sd->tia, d->n + 1, &sd->tja, d->n + 1, &sd->tperm));
  for (PetscInt i = 0; i < m; i++)
    for (PetscInt t = d->ia[i]; t < d->ia[i + 1]; t++) sd->tia[(size_t)(i / cw) * (m + 1) + d->ja[t] + 1]++;
  for (PetscInt q = 0, base = 0; q < np; q++) {
    PetscInt *tq = sd->tia + (size_t)q * (m + 1);
    tq[0]        = base;
    for (PetscInt j = 0; j < m; j++) tq[j + 1] += tq[j];
    base = tq[m];
  }
  PetscCall(PetscMalloc1((size_t)np * (m + 1), &next));
  PetscCall(PetscArraycpy(next, sd->tia, (size_t)np * (m + 1)));
  for (PetscInt i = 0; i < m; i++)
    for (PetscInt t = d->ia[i]; t < d->ia[i + 1]; t++) {
      PetscInt u   = next[(size_t)(i / cw) * (m + 1) + d->ja[t]]++;
      sd->tja[u]   = i;
      sd->tperm[u] = t;
    }
  PetscCall(PetscFree(next));
  PetscCall(PetscMalloc3(d->n + 1, &sd->tva, d->n + 1, &sd->tgW, m + 1, &sd->tgd));
  dyn->adj.bytes += 4.0 * (np * (m + 1.0) + 2.0 * d->n) + 16.0 * d->n + 8.0 * m;
  if (dyn->nghost > 0 && dyn->o.n > 0) { /* Ao by ghost slot, rows ascending, no panels */
    const TnCSR   *o  = &dyn->o;
    const PetscInt ng = dyn->nghost;
    PetscCall(PetscCalloc3(ng + 1, &sd->toia, o->n + 1, &sd->toja, o->n + 1, &sd->toperm));
    for (PetscInt i = 0; i < m; i++)
      for (PetscInt t = o->ia[i]; t < o->ia[i + 1]; t++) sd->toia[o->ja[t] + 1]++;
    for (PetscInt j = 0; j < ng; j++) sd->toia[j + 1] += sd->toia[j];
    PetscCall(PetscMalloc1(ng + 1, &next));
    PetscCall(PetscArraycpy(next, sd->toia, ng + 1));
    for (PetscInt i = 0; i < m; i++)
      for (PetscInt t = o->ia[i]; t < o->ia[i + 1]; t++) {
        PetscInt u    = next[o->ja[t]]++;
        sd->toja[u]   = i;
        sd->toperm[u] = t;
      }
    PetscCall(PetscFree(next));
    PetscCall(PetscMalloc2(o->n + 1, &sd->tova, o->n + 1, &sd->togW));
    dyn->adj.bytes += 4.0 * (ng + 1.0 + 2.0 * o->n) + 16.0 * o->n;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* lambda's bytes on a rank from which auto takes the columns at B < 4
   (scattered columns). Rows scatter-add into lambda, columns gather from
   it; at B = 1 on er, k = 32, 1 rank, forward + backward took (rows /
   columns, seconds): N = 2.5e5 (2 MB) 0.85 / 1.09, 5e5 (4 MB) 1.9-2.5 /
   2.3-3.0, 7.5e5 (6 MB) 5.2 / 4.0, 1e6 (8 MB) 7.6-9.8 / 5.3-6.4. */
#define TN_ADJOINT_COLUMNS_MIN_BYTES (5.0 * 1024 * 1024)

/* Rate form with tanh: phi(a_k) is kept by the forward pass (one state per
   step). Current form: s and mu in S (the forward step's buffer). The rate
   form's W^T by columns or by rows (-dyn_adjoint_transpose): each rank
   decides for its own block; the values agree to round-off (a node's terms
   are summed in another order). */
PetscErrorCode TnSyncAdjointSetUp(TnDyn dyn, size_t *nsave)
{
  TnSync   *sd = (TnSync *)dyn->data;
  PetscBool cols;
  PetscFunctionBeginUser;
  sd->storep = (PetscBool)(dyn->form == TN_FORM_RATE && dyn->act == TN_ACT_TANH);
  *nsave     = sd->storep ? (size_t)dyn->m * dyn->B : 0;
  PetscCheck(dyn->form == TN_FORM_RATE || dyn->adjtr != TN_ADJOINT_TRANSPOSE_COLUMNS, dyn->comm, PETSC_ERR_USER, "-dyn_adjoint_transpose columns is for the rate form; the current form's backward step goes by rows (use auto or rows)");
  switch (dyn->adjtr) {
  case TN_ADJOINT_TRANSPOSE_COLUMNS:
    cols = PETSC_TRUE;
    break;
  case TN_ADJOINT_TRANSPOSE_ROWS:
    cols = PETSC_FALSE;
    break;
  default:
    cols = (PetscBool)(dyn->B >= 4 || (dyn->d.prefetch && 8.0 * dyn->m * dyn->B >= TN_ADJOINT_COLUMNS_MIN_BYTES));
  }
  if (dyn->form == TN_FORM_RATE && cols) PetscCall(Transpose(dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSyncAdjointReset(TnDyn dyn)
{
  TnSync *sd = (TnSync *)dyn->data;
  PetscFunctionBeginUser;
  PetscCall(PetscFree3(sd->tia, sd->tja, sd->tperm));
  PetscCall(PetscFree3(sd->tva, sd->tgW, sd->tgd));
  PetscCall(PetscFree3(sd->toia, sd->toja, sd->toperm));
  PetscCall(PetscFree2(sd->tova, sd->togW));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* dst[t] = src[perm[t]] (gather) or dst[perm[t]] += src[t] (scatter) over
   n entries: W's values into the transpose's order and dL/dW back, once
   per gradient; random reads and writes of 8 bytes, each asked for
   TN_PERM_AHEAD entries ahead */
#define TN_PERM_AHEAD 64
static void PermGather(PetscInt n, const PetscInt *restrict perm, const PetscReal *restrict src, PetscReal *restrict dst)
{
  for (PetscInt t = 0; t < n; t++) {
    if (t + TN_PERM_AHEAD < n) __builtin_prefetch(src + perm[t + TN_PERM_AHEAD], 0, 0);
    dst[t] = src[perm[t]];
  }
}
static void PermScatterAdd(PetscInt n, const PetscInt *restrict perm, const PetscReal *restrict src, PetscReal *restrict dst)
{
  for (PetscInt t = 0; t < n; t++) {
    if (t + TN_PERM_AHEAD < n) __builtin_prefetch(dst + perm[t + TN_PERM_AHEAD], 1, 0);
    dst[perm[t]] += src[t];
  }
}

PetscErrorCode TnSyncAdjointBegin(TnDyn dyn)
{
  TnSync *sd = (TnSync *)dyn->data;
  PetscFunctionBeginUser;
  if (sd->tia) { /* the gather kernel's W and dL/dW in the transpose's order */
    PermGather(dyn->d.n, sd->tperm, dyn->d.va, sd->tva);
    PetscCall(PetscArrayzero(sd->tgW, dyn->d.n));
    for (PetscInt j = 0; j < dyn->m; j++) sd->tgd[j] = dyn->diagpos[j] >= 0 ? dyn->adj.acc.gW[dyn->diagpos[j]] : 0;
  }
  if (sd->toia) {
    PermGather(dyn->o.n, sd->toperm, dyn->o.va, sd->tova);
    PetscCall(PetscArrayzero(sd->togW, dyn->o.n));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSyncAdjointEnd(TnDyn dyn)
{
  TnSync *sd = (TnSync *)dyn->data;
  PetscFunctionBeginUser;
  if (sd->tia) { /* the diagonal's log-det terms first, as they were summed into dL/dW_jj before its synapse's */
    for (PetscInt j = 0; j < dyn->m; j++)
      if (dyn->diagpos[j] >= 0) dyn->adj.acc.gW[dyn->diagpos[j]] = sd->tgd[j];
    PermScatterAdd(dyn->d.n, sd->tperm, sd->tgW, dyn->adj.acc.gW);
  }
  if (sd->toia)
    PermScatterAdd(dyn->o.n, sd->toperm, sd->togW, dyn->adj.acc.gW + dyn->d.n);
  PetscFunctionReturn(PETSC_SUCCESS);
}
