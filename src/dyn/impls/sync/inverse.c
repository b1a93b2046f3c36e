/* Inverse of a sync step (docs/sampling.md): given a_{k+1}, the a_k with
   a_k + h f(a_k) = a_{k+1}. Splitting f(a) = -gamma a + N(a), with
   N(a) = W phi(a) + b (rate) or phi(W a + b) (current), a_k is the fixed
   point of
     a <- (a_{k+1} - h N(a)) / (1 - h gamma),
   (h = 0 on a clamped node's row: it keeps its value),
   a contraction (2-norm) with factor q <= h |W|_2 / (1 - h max gamma) < 1:
   the sync invertibility check h (max gamma + |W|_2) < 1 is exactly
   h |W|_2 < 1 - h max gamma (sup|phi'| = 1), and this q is never larger than
   the plain iteration's h (max gamma + |W|_2). Jacobi
   iteration from a = a_{k+1}; each iteration is one forward-style product
   over all B samples, with the halo exchange overlapped as in the forward
   step. Stops when, for every sample b,
     |a^{n+1} - a^n|_inf <= tol max(|a^{n+1}|_inf, |a_{k+1}|_inf). */
#include "syncimpl.h"

/* q = phi(a) (rate) or a (current): what the products read. */
static void Source(TnDyn dyn, const PetscScalar *restrict a, PetscReal *restrict q)
{
  const size_t n = (size_t)dyn->m * dyn->B;
  if (dyn->form == TN_FORM_RATE && dyn->act == TN_ACT_TANH)
    for (size_t t = 0; t < n; t++) q[t] = TnTanh(a[t]);
  else
    for (size_t t = 0; t < n; t++) q[t] = a[t];
}

/* y_i = b_i + (Ad q)_i for every local row. */
TN_INLINE void ProductOn(TnDyn dyn, const PetscReal *restrict q, PetscReal *restrict y, const PetscInt B)
{
  for (PetscInt i = 0; i < dyn->m; i++)
    for (PetscInt b = 0; b < B; b++) y[(size_t)i * B + b] = dyn->bias[i];
  TnSyncProduct(&dyn->d, &((TnSync *)dyn->data)->pd, NULL, dyn->m, q, y, B);
}

/* y_i += (Ao g)_i for the rows with off-process synapses. */
TN_INLINE void ProductOff(TnDyn dyn, const PetscScalar *restrict g, PetscReal *restrict y, const PetscInt B)
{
  TnSyncProduct(&dyn->o, &((TnSync *)dyn->data)->po, dyn->offrows, dyn->noff, g, y, B);
}

/* a <- (t - h N) / (1 - h gamma) with N = y (rate) or phi(y) (current);
   dmax[b] = max_i |change|, smax[b] = max_i max(|a_new|, |t|). */
TN_INLINE void Update(TnDyn dyn, const PetscReal *restrict t, const PetscReal *restrict y, PetscScalar *restrict a, PetscReal *dmax, PetscReal *smax, const PetscInt B)
{
  const PetscReal h   = dyn->h;
  const int       phi = dyn->form == TN_FORM_CURRENT && dyn->act == TN_ACT_TANH;
  PetscReal       dm[B], sm[B];
  for (PetscInt b = 0; b < B; b++) dm[b] = sm[b] = 0;
  for (PetscInt i = 0; i < dyn->m; i++) {
    const PetscReal hi = h * TnDynFree(dyn, i), den = 1.0 - hi * dyn->gamma[i];
    const size_t    o = (size_t)i * B;
    for (PetscInt b = 0; b < B; b++) {
      PetscReal nv = phi ? TnTanh(y[o + b]) : y[o + b];
      PetscReal an = (t[o + b] - hi * nv) / den, d = fabs(an - a[o + b]), s = fmax(fabs(an), fabs(t[o + b]));
      dm[b]    = fmax(dm[b], d);
      sm[b]    = fmax(sm[b], s);
      a[o + b] = an;
    }
  }
  for (PetscInt b = 0; b < B; b++) {
    dmax[b] = dm[b];
    smax[b] = sm[b];
  }
}

/* One Jacobi iteration; red[0..B) = change, red[B..2B) = scale, summed
   (max) over the ranks. */
static PetscErrorCode Iterate(TnDyn dyn, PetscScalar *a, PetscReal *red)
{
  TnSync            *s = (TnSync *)dyn->data;
  const PetscScalar *g;
  PetscFunctionBeginUser;
  Source(dyn, a, dyn->pbuf);
  PetscCall(VecPlaceArray(dyn->P, dyn->pbuf));
  PetscCall(TnDynHaloBegin(dyn));
  TN_DISPATCH_B(dyn->B, ProductOn, dyn, dyn->pbuf, s->y);
  PetscCall(TnDynHaloEnd(dyn));
  PetscCall(VecResetArray(dyn->P));
  PetscCall(VecGetArrayRead(dyn->G, &g));
  TN_DISPATCH_B(dyn->B, ProductOff, dyn, g, s->y);
  PetscCall(VecRestoreArrayRead(dyn->G, &g));
  TN_DISPATCH_B(dyn->B, Update, dyn, s->t, s->y, a, red, red + dyn->B);
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, red, 2 * dyn->B, MPIU_REAL, MPIU_MAX, dyn->comm));
  PetscCall(PetscLogFlops(2.0 * dyn->B * (double)(dyn->d.ia[dyn->m] + dyn->o.ia[dyn->m]) + 6.0 * dyn->m * dyn->B));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The largest relative change over the samples (0 for an all-zero state). */
static PetscReal WorstChange(const PetscReal *red, PetscInt B)
{
  PetscReal w = 0;
  for (PetscInt b = 0; b < B; b++) w = PetscMax(w, red[B + b] > 0 ? red[b] / red[B + b] : red[b]);
  return w;
}

PetscErrorCode TnSyncInverseStep(TnDyn dyn, PetscInt k, PetscScalar *a, TnDynInverseStats *st)
{
  TnSync    *s = (TnSync *)dyn->data;
  PetscReal *red, worst = PETSC_MAX_REAL;
  PetscInt   it;
  PetscFunctionBeginUser;
  if (!s->t) PetscCall(PetscMalloc2((size_t)dyn->m * dyn->B + 1, &s->t, (size_t)dyn->m * dyn->B + 1, &s->y));
  PetscCall(PetscArraycpy(s->t, a, (size_t)dyn->m * dyn->B));
  PetscCall(TnSyncPanelsUpdate(dyn));
  PetscCall(PetscMalloc1(2 * dyn->B, &red));
  for (it = 1; it <= st->maxit && worst > st->tol; it++) {
    PetscCall(Iterate(dyn, a, red));
    worst = WorstChange(red, dyn->B);
  }
  PetscCall(PetscFree(red));
  PetscCheck(worst <= st->tol, dyn->comm, PETSC_ERR_NOT_CONVERGED,
             "sampling: inverting sync step %" PetscInt_FMT " (the fixed point a_k = a_{k+1} - h f(a_k)) did not converge in %" PetscInt_FMT " iterations: relative change %.3g > -sample_tol %.3g. The contraction factor is at most h Lip(f) <= %.4g; use a smaller -dyn_h (or smaller weights), a larger -sample_maxit, or a looser -sample_tol (not below ~1e-15)",
             k, st->maxit, (double)worst, (double)st->tol, (double)dyn->bnd.value);
  st->sync_iters += it - 1;
  st->sync_steps++;
  st->sync_iters_max  = PetscMax(st->sync_iters_max, it - 1);
  st->sync_change_max = PetscMax(st->sync_change_max, worst);
  PetscFunctionReturn(PETSC_SUCCESS);
}
