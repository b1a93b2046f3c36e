/* Backward step of the sync scheme (docs/gradient.md), step k from the state
   a = a_k and lam = omega lambda_{k+1} to lamnew = omega lambda_k:
     rate:    v = h lam;  lambda_k = (1 - h gamma) lam + D (W^T v) + c w_ii phi''(a),
              D = diag(phi'(a)); dL/dW_ij += v_i phi(a_j), dL/db_i += v_i
     current: mu = h D lam + c w_ii phi''(s), s = W a + b, D = diag(phi'(s));
              lambda_k = (1 - h gamma) lam + W^T mu; dL/dW_ij += mu_i a_j, dL/db_i += mu_i
   and in both dL/dgamma_i += -h a_i lam_i - c_i, dL/dW_ii += c_i d_i, where
   c = d(local loss)/dA_ii (TnGradLocal). The on-process block's W^T is a
   gather over Ad's columns for the rate form with B >= 4 (RateColumns: each
   lamnew_j written once; phi(a_k) kept by the forward pass) and a scatter-add
   by rows otherwise (Rows). Off-process columns go into the ghost buffer,
   which the reverse halo exchange (SCATTER_REVERSE, ADD_VALUES over the
   forward block halo) adds into the owners' lamnew; for the rate form the
   factor phi'(a_j) of an off-process column is applied on the sending side,
   from the ghost phi(a_j) the forward exchange brought. */
#include "gradimpl.h"

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
TN_INLINE void RateColumns(TnGrad g, const PetscScalar *restrict a, const PetscReal *restrict p, TnGradAcc *acc, const PetscInt B)
{
  TnDyn           dyn = g->dyn;
  const PetscBool lin = dyn->act == TN_ACT_LINEAR, diag = dyn->ldt == TN_LOGDET_DIAG;
  const PetscReal h           = dyn->h;
  const PetscReal *restrict L = g->lam, *restrict va = g->tva;
  PetscReal *restrict Ln = g->lamnew, *restrict gW = acc->gW, *restrict tgW = g->tgW;
  const PetscInt *restrict tia = g->tia, *restrict tja = g->tja;
  PetscReal u[B];
  for (PetscInt j = 0; j < g->m; j++) {
    const PetscReal *restrict pj = p + (size_t)j * B, *restrict Lj = L + (size_t)j * B, *restrict aj = a + (size_t)j * B;
    PetscReal *restrict Lnj = Ln + (size_t)j * B;
    const PetscReal gj = dyn->gamma[j], wj = dyn->wdiag[j];
    PetscReal       sb = 0, sg = 0, sw = 0;
    for (PetscInt b = 0; b < B; b++) u[b] = 0;
    for (PetscInt t = tia[j]; t < tia[j + 1]; t++) {
      const PetscReal *restrict Li = L + (size_t)tja[t] * B;
      const PetscReal w            = va[t];
      for (PetscInt b = 0; b < B; b++) u[b] += w * Li[b];
      tgW[t] += h * Dot(Li, pj, B);
    }
    for (PetscInt b = 0; b < B; b++) {
      PetscReal d, phi2, c;
      TnGradLocal(lin, diag, h, gj, wj, g->wt[b], pj[b], &d, &phi2, &c);
      Lnj[b] = (1 - h * gj) * Lj[b] + c * wj * phi2 + h * d * u[b];
      sb += h * Lj[b];
      sg += -h * aj[b] * Lj[b] - c;
      sw += c * d;
    }
    acc->gb[j] += sb;
    acc->gg[j] += sg;
    if (g->diagpos[j] >= 0) gW[g->diagpos[j]] += sw;
  }
}

/* On-process part as one pass over the rows (rate: a compile-time constant
   at the call): row i's own terms -- the gradients of b, gamma and W_ii and
   lamnew_i's diagonal part -- then the transposed product of its on-process
   synapses, a scatter into lamnew, which is zero on entry (rows add into it
   in any order).
     rate:    t = phi(a_i) from p, v = h lam_i (batches B < 4: RateColumns'
              transpose would cost 8 bytes per synapse for no gain);
     current: t = phi(s_i), v = mu_i = h phi'(s_i) lam_i + c_i w_ii phi''(s_i),
              kept in S for OffProcess. */
TN_INLINE void Rows(TnGrad g, const PetscScalar *restrict a, const PetscReal *restrict p, TnGradAcc *acc, const PetscBool rate, const PetscInt B)
{
  TnDyn            dyn = g->dyn;
  const PetscBool  lin = dyn->act == TN_ACT_LINEAR, diag = dyn->ldt == TN_LOGDET_DIAG;
  const PetscReal  h    = dyn->h;
  const PetscReal *x    = rate ? p : a; /* what the columns of W multiply */
  PetscReal *restrict L = g->lam, *restrict Ln = g->lamnew;
  PetscReal v[B];
  for (PetscInt i = 0; i < g->m; i++) {
    const PetscReal gi = dyn->gamma[i], wi = dyn->wdiag[i];
    PetscReal       sb = 0, sg = 0, sw = 0;
    for (PetscInt b = 0; b < B; b++) {
      const size_t q = (size_t)i * B + b;
      PetscReal    d, phi2, c, t = rate ? p[q] : TnPhi(dyn->act, g->S[q]);
      TnGradLocal(lin, diag, h, gi, wi, g->wt[b], t, &d, &phi2, &c);
      if (rate) {
        v[b] = h * L[q];
        Ln[q] += (1 - h * gi) * L[q] + c * wi * phi2;
      } else {
        v[b] = g->S[q] = h * d * L[q] + c * wi * phi2; /* mu */
        Ln[q] += (1 - h * gi) * L[q];
      }
      sb += v[b];
      sg += -h * a[q] * L[q] - c;
      sw += c * d;
    }
    acc->gb[i] += sb;
    acc->gg[i] += sg;
    if (g->diagpos[i] >= 0) acc->gW[g->diagpos[i]] += sw;
    RowTransposed(&dyn->d, i, rate && !lin, v, x, Ln, acc->gW, B);
  }
}

/* The row multipliers: h lam_i (rate) or mu_i (current, in S). */
TN_INLINE void RowMult(TnGrad g, PetscInt i, PetscReal *v, const PetscInt B)
{
  const PetscBool rate = g->dyn->form == TN_FORM_RATE;
  for (PetscInt b = 0; b < B; b++) v[b] = rate ? g->dyn->h * g->lam[(size_t)i * B + b] : g->S[(size_t)i * B + b];
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

PetscErrorCode TnGradBackStep_Sync(TnGrad g, const PetscScalar *ak, const PetscReal *pk, TnGradAcc *acc)
{
  TnDyn            dyn  = g->dyn;
  const PetscBool  rate = dyn->form == TN_FORM_RATE;
  const PetscReal *gx, *x;
  PetscReal       *gy, *t;
  PetscFunctionBeginUser;
  if (rate && !pk) { /* phi(a_k): kept by the forward pass (tanh) or a_k itself (linear) */
    PetscCheck(dyn->act == TN_ACT_LINEAR, PETSC_COMM_SELF, PETSC_ERR_PLIB, "phi(a_k) was not kept");
    pk = ak;
  }
  x = rate ? pk : ak; /* what the columns of W multiply */
  PetscCall(TnGradHaloBegin(g, x));
  if (rate && g->tia) {
    TN_DISPATCH_B(g->B, RateColumns, g, ak, pk, acc);
    PetscCall(TnGradHaloEnd(g, &gx));
  } else if (rate) {
    PetscCall(PetscArrayzero(g->lamnew, (size_t)g->m * g->B));
    TN_DISPATCH_B(g->B, Rows, g, ak, pk, acc, PETSC_TRUE);
    PetscCall(TnGradHaloEnd(g, &gx));
  } else {
    PetscCall(PetscArrayzero(g->lamnew, (size_t)g->m * g->B));
    TN_DISPATCH_B(g->B, SynInput, g, ak);
    PetscCall(TnGradHaloEnd(g, &gx));
    TN_DISPATCH_B(g->B, SynInputOff, g, gx);
    TN_DISPATCH_B(g->B, Rows, g, ak, NULL, acc, PETSC_FALSE);
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
