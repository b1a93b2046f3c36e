/* Backward step of the sync scheme (docs/gradient.md), step k from the state
   a = a_k and lam = omega lambda_{k+1} to lamnew = omega lambda_k:
     rate:    v = h lam;  lambda_k = (1 - h gamma) lam + D (W^T v) + c w_ii phi''(a),
              D = diag(phi'(a)); dL/dW_ij += v_i phi(a_j), dL/db_i += v_i
     current: mu = h D lam + c w_ii phi''(s), s = W a + b, D = diag(phi'(s));
              lambda_k = (1 - h gamma) lam + W^T mu; dL/dW_ij += mu_i a_j, dL/db_i += mu_i
   and in both dL/dgamma_i += -h a_i lam_i - c_i, dL/dW_ii += c_i d_i, where
   c = d(local loss)/dA_ii (TnGradLocal). W^T is applied row by row as a
   scatter-add: on-process columns straight into lamnew, off-process columns
   into the ghost buffer, which the reverse halo exchange (SCATTER_REVERSE,
   ADD_VALUES over the forward block halo) adds into the owners' lamnew. For
   the rate form the factor phi'(a_j) of an off-process column is applied on
   the sending side, from the ghost phi(a_j) the forward exchange brought. */
#include "gradimpl.h"

/* Per-row terms (rate: a compile-time constant at the call): gradients of b, gamma, W_ii and lamnew's own part.
   rate: t = phi(a) from p; current: t = phi(s), and S <- mu in place. */
TN_INLINE void RowTerms(TnGrad g, const PetscScalar *restrict a, TnGradAcc *acc, const PetscBool rate, const PetscInt B)
{
  TnDyn           dyn = g->dyn;
  const PetscBool lin = dyn->act == TN_ACT_LINEAR, diag = dyn->ldt == TN_LOGDET_DIAG;
  const PetscReal h     = dyn->h;
  PetscReal *restrict L = g->lam, *restrict Ln = g->lamnew;
  for (PetscInt i = 0; i < g->m; i++) {
    const PetscReal gi = dyn->gamma[i], wi = dyn->wdiag[i];
    PetscReal       sb = 0, sg = 0, sw = 0;
    for (PetscInt b = 0; b < B; b++) {
      const size_t q = (size_t)i * B + b;
      PetscReal    d, phi2, c, t = rate ? g->p[q] : TnPhi(dyn->act, g->S[q]);
      TnGradLocal(lin, diag, h, gi, wi, g->wt[b], t, &d, &phi2, &c);
      if (rate) {
        sb += h * L[q];
        Ln[q] = (1 - h * gi) * L[q] + c * wi * phi2;
      } else {
        g->S[q] = h * d * L[q] + c * wi * phi2; /* mu */
        sb += g->S[q];
        Ln[q] = (1 - h * gi) * L[q];
      }
      sg += -h * a[q] * L[q] - c;
      sw += c * d;
    }
    acc->gb[i] += sb;
    acc->gg[i] += sg;
    if (g->diagpos[i] >= 0) acc->gW[g->diagpos[i]] += sw;
  }
}

/* The transposed product of one row of a CSR block: v = the row's B
   multipliers (rate: h lam_i; current: mu_i), x = the column values (rate:
   phi(a); current: a), out = where column j's contributions go. gW[t] +=
   v . x_j; out_j += W_ij phi'(x_j) v (rate) or W_ij v (current). */
TN_INLINE void RowTransposed(const TnCSR *A, PetscInt i, PetscBool ratetanh, const PetscReal *restrict v, const PetscReal *restrict x, PetscReal *restrict out, PetscReal *restrict gW, const PetscInt B)
{
  for (PetscInt t = A->ia[i]; t < A->ia[i + 1]; t++) {
    const size_t j = (size_t)A->ja[t] * B;
    gW[t] += TnGradSynapse(A->va[t], v, x + j, out + j, ratetanh, B);
  }
}

/* The row multipliers: h lam_i (rate) or mu_i (current, in S). */
TN_INLINE void RowMult(TnGrad g, PetscInt i, PetscReal *v, const PetscInt B)
{
  const PetscBool rate = g->dyn->form == TN_FORM_RATE;
  for (PetscInt b = 0; b < B; b++) v[b] = rate ? g->dyn->h * g->lam[(size_t)i * B + b] : g->S[(size_t)i * B + b];
}

TN_INLINE void OnProcess(TnGrad g, const PetscReal *x, TnGradAcc *acc, const PetscInt B)
{
  TnDyn           dyn = g->dyn;
  const PetscBool rt  = dyn->form == TN_FORM_RATE && dyn->act == TN_ACT_TANH;
  PetscReal       v[B];
  for (PetscInt i = 0; i < g->m; i++) {
    RowMult(g, i, v, B);
    RowTransposed(&dyn->d, i, rt, v, x, g->lamnew, acc->gW, B);
  }
}

TN_INLINE void OffProcess(TnGrad g, const PetscReal *gx, PetscReal *gy, TnGradAcc *acc, const PetscInt B)
{
  TnDyn           dyn = g->dyn;
  const PetscBool rt  = dyn->form == TN_FORM_RATE && dyn->act == TN_ACT_TANH;
  PetscReal       v[B];
  for (PetscInt q = 0; q < g->nghost * B; q++) gy[q] = 0;
  for (PetscInt r = 0; r < dyn->noff; r++) {
    const PetscInt i = dyn->offrows[r];
    RowMult(g, i, v, B);
    RowTransposed(&dyn->o, i, rt, v, gx, gy, acc->gW + g->nd, B);
  }
}

/* current form: S = W a + b (forward halo of a in flight). */
TN_INLINE void SynInput(TnGrad g, const PetscScalar *a, const PetscInt B)
{
  for (PetscInt i = 0; i < g->m; i++) {
    PetscReal *restrict si = g->S + (size_t)i * B;
    for (PetscInt b = 0; b < B; b++) si[b] = g->dyn->bias[i];
    TnRowTimesBlock(&g->dyn->d, i, a, B, si);
  }
}

TN_INLINE void SynInputOff(TnGrad g, const PetscScalar *gx, const PetscInt B)
{
  for (PetscInt r = 0; r < g->dyn->noff; r++) TnRowTimesBlock(&g->dyn->o, g->dyn->offrows[r], gx, B, g->S + (size_t)g->dyn->offrows[r] * B);
}

/* p = phi(a), one loop per activation so that tanh vectorises. */
static void PhiAll(TnAct act, size_t n, const PetscScalar *restrict a, PetscReal *restrict p)
{
  if (act == TN_ACT_TANH)
    for (size_t q = 0; q < n; q++) p[q] = TnTanh(a[q]);
  else
    for (size_t q = 0; q < n; q++) p[q] = a[q];
}

PetscErrorCode TnGradBackStep_Sync(TnGrad g, const PetscScalar *ak, TnGradAcc *acc)
{
  TnDyn            dyn  = g->dyn;
  const PetscBool  rate = dyn->form == TN_FORM_RATE;
  const PetscReal *gx, *x;
  PetscReal       *gy, *t;
  PetscFunctionBeginUser;
  if (rate) PhiAll(dyn->act, (size_t)g->m * g->B, ak, g->p);
  x = rate ? g->p : ak; /* what the columns of W multiply */
  PetscCall(TnGradHaloBegin(g, x));
  if (rate) {
    TN_DISPATCH_B(g->B, RowTerms, g, ak, acc, PETSC_TRUE);
    TN_DISPATCH_B(g->B, OnProcess, g, x, acc);
    PetscCall(TnGradHaloEnd(g, &gx));
  } else {
    TN_DISPATCH_B(g->B, SynInput, g, ak);
    PetscCall(TnGradHaloEnd(g, &gx));
    TN_DISPATCH_B(g->B, SynInputOff, g, gx);
    TN_DISPATCH_B(g->B, RowTerms, g, ak, acc, PETSC_FALSE);
    TN_DISPATCH_B(g->B, OnProcess, g, x, acc);
  }
  PetscCall(VecGetArray(g->Gy, &gy));
  TN_DISPATCH_B(g->B, OffProcess, g, gx, gy, acc);
  PetscCall(VecRestoreArray(g->Gy, &gy));
  PetscCall(TnGradReverseBegin(g, g->lamnew));
  PetscCall(TnGradReverseEnd(g));
  t         = g->lam; /* lambda_k becomes the next step's lambda_{k+1} */
  g->lam    = g->lamnew;
  g->lamnew = t;
  PetscCall(PetscLogFlops((rate ? 6.0 : 8.0) * g->B * (double)(g->nd + g->no) + 20.0 * g->m * g->B));
  PetscFunctionReturn(PETSC_SUCCESS);
}
