/* The local rule's step of the sync scheme (docs/gradient.md, "The local
   rule"). Every node i is updated from a_k, so its coefficients (TnLocCoefs)
   are at t = phi(a_k,i) (rate) or phi(s_i) (current).

   Rate form: one pass, the forward step and the traces fused. The step is
   TnSyncStep's without its column panels, the same sums in the same order:
   p = phi(a_k) into pbuf, the halo exchange begun, y_i = b_i + (Ad p)_i row
   by row, out_i = a_i + h(-gamma_i a_i + y_i) and the log-det factor; the
   exchange ended, out_i += h (Ao g)_i. Each synapse's trace is carried
   where the product reads it, e <- F e + hq p_j after the gradient's ga e,
   so W, the gathered p_j and the traces are streamed once per step; node
   i's own terms (b_i, gamma_i, W_ii) follow its last on-process synapse, as
   in TnLocRowCols. (By the step's column panels, a local step at er
   N = 10^6, B = 16 took 3.98 s against 1.22 s without: the traces, not the
   gathers, are what it streams; docs/rules.md, Cost.)

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
      __builtin_prefetch(xf, 0, 2);
      __builtin_prefetch(xf + B - 1, 0, 2);
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

/* Row i's F and ga (rate form) and its coefficients k[]; returns whether
   some ga is nonzero */
TN_INLINE int RowCoefs(TnDyn dyn, PetscInt i, const PetscReal *restrict pi, PetscReal *restrict F, PetscReal *restrict ga, TnLocCoef *restrict k, const PetscInt B)
{
  const PetscBool lin = dyn->act == TN_ACT_LINEAR, diag = dyn->ldt == TN_LOGDET_DIAG;
  int             grad = 0;
  for (PetscInt b = 0; b < B; b++) {
    TnLocCoefs(PETSC_TRUE, lin, diag, dyn->h, dyn->gamma[i], dyn->wdiag[i], dyn->loc.wt[b], pi[b], &k[b]);
    F[b]  = k[b].F;
    ga[b] = k[b].ga;
    grad |= ga[b] != 0;
  }
  return grad;
}

/* Row i's synapses in one block: fresh (first step), with or without the
   gradient's terms */
#define TN_LOC_SYNAPSES_Y(A, t0, t1, x, y, e, g)                \
  do {                                                          \
    if (L->fresh)                                               \
      SynapsesY(A, t0, t1, x, y, e, g, F, hq, ga, 0, 1, pf, B); \
    else if (grad)                                              \
      SynapsesY(A, t0, t1, x, y, e, g, F, hq, ga, 1, 0, pf, B); \
    else                                                        \
      SynapsesY(A, t0, t1, x, y, e, g, F, hq, ga, 0, 0, pf, B); \
  } while (0)

/* The on-process pass (rate), row by row. */
TN_INLINE void RateOn(TnDyn dyn, const PetscScalar *a, PetscScalar *out, PetscReal *ldet, const PetscInt B)
{
  TnDynLoc       *L = &dyn->loc;
  const TnCSR    *A = &dyn->d;
  const PetscReal h = dyn->h, *p = dyn->pbuf;
  const int       lin = dyn->act == TN_ACT_LINEAR, pf = A->prefetch && B >= 8;
  PetscReal       prod[B], y[B], hA[B], F[B], hq[B], ga[B];
  int             expo[B];
  TnLocCoef       k[B];
  TnAcc           acc;
  for (PetscInt b = 0; b < B; b++) hq[b] = h;
  TnAccBegin(dyn, &acc, prod, expo, B);
  for (PetscInt i = 0; i < dyn->m; i++) {
    const PetscReal *restrict pi = p + (size_t)i * B;
    const PetscScalar *ai        = a + (size_t)i * B;
    PetscScalar       *oi        = out + (size_t)i * B;
    const PetscReal    gi = dyn->gamma[i], wi = dyn->wdiag[i], hi = h * TnDynFree(dyn, i);
    const int          grad = RowCoefs(dyn, i, pi, F, ga, k, B);
    for (PetscInt b = 0; b < B; b++) y[b] = dyn->bias[i];
    TN_LOC_SYNAPSES_Y(A, A->ia[i], A->ia[i + 1], p, y, L->e, L->acc.gW);
    for (PetscInt b = 0; b < B; b++) {
      hA[b] = hi * (-gi + wi * (lin ? 1.0 : 1.0 - pi[b] * pi[b]));
      oi[b] = ai[b] + hi * (-gi * ai[b] + y[b]);
    }
    TnAccRow(&acc, hA, prod, expo, NULL, B);
    TnLocRowOwn(dyn, i, k, ai, B);
  }
  TnAccEnd(&acc, prod, expo, ldet, B);
}

/* The off-process pass (rate): out_i += h (Ao g)_i and the Ao traces, for
   the rows with off-process synapses. */
TN_INLINE void RateOff(TnDyn dyn, PetscScalar *out, const PetscReal *g, const PetscInt B)
{
  TnDynLoc    *L  = &dyn->loc;
  const TnCSR *A  = &dyn->o;
  const size_t nd = (size_t)dyn->d.n;
  const int    pf = B >= 8;
  PetscReal    y[B], F[B], hq[B], ga[B];
  TnLocCoef    k[B];
  for (PetscInt b = 0; b < B; b++) hq[b] = dyn->h;
  for (PetscInt r = 0; r < dyn->noff; r++) {
    const PetscInt i    = dyn->offrows[r];
    const int      grad = RowCoefs(dyn, i, dyn->pbuf + (size_t)i * B, F, ga, k, B);
    for (PetscInt b = 0; b < B; b++) y[b] = 0;
    TN_LOC_SYNAPSES_Y(A, A->ia[i], A->ia[i + 1], g, y, L->e + nd * B, L->acc.gW + nd);
    for (PetscInt b = 0; b < B; b++) out[(size_t)i * B + b] += dyn->h * TnDynFree(dyn, i) * y[b];
  }
}

static PetscErrorCode LocalStepRate(TnDyn dyn, const PetscScalar *a, PetscScalar *out, PetscReal *ldet)
{
  const PetscScalar *g;
  PetscFunctionBeginUser;
  dyn->passes++;
  TnPhiAll(dyn->act, (size_t)dyn->m * dyn->B, a, dyn->pbuf);
  PetscCall(TnDynHaloBegin(dyn));
  TN_DISPATCH_B(dyn->B, RateOn, dyn, a, out, ldet);
  PetscCall(TnDynHaloEnd(dyn));
  PetscCall(VecGetArrayRead(dyn->G, &g));
  TN_DISPATCH_B(dyn->B, RateOff, dyn, out, g);
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

/* n rows of B values into records at node stride sj. Node-major rows of
   whole cache lines are stored past the cache (not read first: they are
   read again only by the sum, after the last step). */
static void Record(size_t n, const PetscReal *restrict src, PetscReal *restrict dst, size_t sj, size_t B)
{
  if (sj == B) {
    memcpy(dst, src, sizeof(PetscReal) * n * B);
    return;
  }
#if defined(__AVX512F__) && defined(__AVX512VL__) && defined(PETSC_USE_REAL_DOUBLE) && !defined(PETSC_USE_COMPLEX)
  if (B % 8 == 0 && sj % 8 == 0 && (uintptr_t)dst % 64 == 0) {
    for (size_t j = 0; j < n; j++)
      for (size_t b = 0; b < B; b += 8) _mm512_stream_pd(dst + j * sj + b, _mm512_loadu_pd(src + j * B + b));
    _mm_sfence();
    return;
  }
#endif
  for (size_t j = 0; j < n; j++) memcpy(dst + j * sj, src + j * B, sizeof(PetscReal) * B);
}

/* The step for the local rule with its states stored (local.c): TnSyncStep,
   with the values its synapses read recorded (rate: phi(a_k); current:
   a_k) and the ghosts' after them, and the rows' own (a_k, or s_k = W a_k
   + b) in y. Step-major records (sj = B) in the rate form are the step's
   own phi(a_k): written there by the step, the halo sent from there. */
PetscErrorCode TnSyncLocalRecord(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *ldet, PetscReal *x, PetscReal *y, size_t sj)
{
  TnSync            *s = (TnSync *)dyn->data;
  const size_t       B = (size_t)dyn->B, m = (size_t)dyn->m;
  const PetscBool    rate = dyn->form == TN_FORM_RATE, direct = (PetscBool)(rate && sj == B);
  const PetscScalar *g;
  PetscFunctionBeginUser;
  PetscCall(TnSyncStep(dyn, k, a, out, direct ? x : NULL, ldet, NULL));
  if (!direct) Record(m, dyn->pbuf, x, sj, B);
  PetscCall(VecGetArrayRead(dyn->G, &g));
  Record((size_t)dyn->nghost, g, x + m * sj, sj, B);
  PetscCall(VecRestoreArrayRead(dyn->G, &g));
  Record(m, rate ? a : s->S, y, sj, B);
  PetscFunctionReturn(PETSC_SUCCESS);
}
