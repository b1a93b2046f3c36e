/* Inverse of a colored step (docs/sampling.md): the substeps undone in
   reverse colour order. Substep c changed only the nodes of colour c, and
   node i of colour c reads no other node of colour c, so with the values
   after the substep (a') the old a_i is the root of the scalar equation
     rate:    G(x) = x + h(-gamma_i x + W_ii phi(x) + r_i)      = a_i'
     current: G(x) = x + h(-gamma_i x + phi(W_ii x + r_i))      = a_i'
   with r_i = b_i + sum_{j != i} W_ij q_j (q = phi(a') or a'), fixed.
   G' = 1 + h A_ii >= dlo_i = 1 - h gamma_i + h min(W_ii, 0) > 0 (tanh) or
   = 1 + h (W_ii - gamma_i) (linear), positive by the colored invertibility
   check, so G is strictly increasing and |x - x*| <= |G(x) - a_i'| / dlo_i
   brackets the root. Newton from x = a_i', bisecting whenever a step leaves
   the bracket, until |G(x) - a_i'| <= 4 eps scale (scale: the sum of the
   magnitudes of G's terms) or the step is below an ulp. The rows, W and the
   neighbours' values are read in the colour order, and the halo exchanged
   per colour, as in the forward sweep (colored.c). */
#include "coloredimpl.h"
#include <float.h>

typedef struct {
  PetscReal h, g, w, r;
  int       rate, lin;
} TnNodeEq;

/* R = G(x) - t, dG = G'(x), scale = sum of |terms| (the rounding level). */
static inline void Residual(const TnNodeEq *e, PetscReal x, PetscReal t, PetscReal *R, PetscReal *dG, PetscReal *scale)
{
  PetscReal p, dp, G;
  if (e->rate) {
    p      = e->lin ? x : TnTanh(x);
    dp     = e->lin ? 1.0 : 1.0 - p * p;
    G      = x + e->h * (-e->g * x + e->w * p + e->r);
    *scale = fabs(t) + fabs(x) + e->h * (e->g * fabs(x) + fabs(e->w * p) + fabs(e->r));
  } else {
    PetscReal sarg = e->w * x + e->r;
    p              = e->lin ? sarg : TnTanh(sarg);
    dp             = e->lin ? 1.0 : 1.0 - p * p;
    G              = x + e->h * (-e->g * x + p);
    *scale         = fabs(t) + fabs(x) + e->h * (e->g * fabs(x) + fabs(p));
  }
  *R  = G - t;
  *dG = 1.0 + e->h * (-e->g + e->w * dp);
}

/* The root of G(x) = t; *its = iterations used, *ok = converged. */
static PetscReal SolveNode(const TnNodeEq *e, PetscReal t, PetscReal dlo, PetscInt *its, PetscBool *ok)
{
  const PetscReal eps = DBL_EPSILON;
  PetscReal       x   = t, R, dG, scale, lo, hi, width;
  Residual(e, x, t, &R, &dG, &scale);
  *its = 0;
  *ok  = PETSC_TRUE;
  if (fabs(R) <= 4 * eps * scale) return x;
  width = fabs(R) / dlo * (1 + 1e-8) + 4 * eps * scale; /* safe against rounding */
  lo    = R > 0 ? x - width : x;
  hi    = R > 0 ? x : x + width;
  for (*its = 1; *its <= 200; (*its)++) {
    PetscReal xn = x - R / dG;
    if (!(xn > lo && xn < hi)) xn = 0.5 * (lo + hi);
    if (fabs(xn - x) <= eps * fabs(x)) return xn;
    x = xn;
    Residual(e, x, t, &R, &dG, &scale);
    if (fabs(R) <= 4 * eps * scale) return x;
    if (R > 0)
      hi = x;
    else
      lo = x;
    if (hi - lo <= 2 * eps * fmax(fabs(lo), fabs(hi))) return x;
  }
  *ok = PETSC_FALSE;
  return x;
}

/* y[0..B) += sum_{j != i} A_ij x[j*B ..) for row i (A's columns local). */
TN_INLINE void RowOffDiagonal(const TnCSR *A, PetscInt i, const PetscScalar *restrict x, const PetscInt B, PetscReal *restrict y)
{
  for (PetscInt t = A->ia[i]; t < A->ia[i + 1]; t++) {
    const PetscScalar *xj = x + (size_t)A->ja[t] * B;
    if (A->ja[t] == i) continue;
    for (PetscInt b = 0; b < B; b++) y[b] += A->va[t] * xj[b];
  }
}

/* Solves the positions p0 .. p1 (all of one colour; order.c) in place,
   row i = crows[p] of a; g = NULL for interior rows. pbuf is kept equal to
   phi(a) (rate) or a (current) position by position. */
TN_INLINE void SolveRows(TnDyn dyn, TnDynInverseStats *st, PetscInt p0, PetscInt p1, PetscScalar *restrict a, const PetscScalar *restrict g, PetscBool *ok, const PetscInt B)
{
  const TnColored *cd = (const TnColored *)dyn->data;
  TnNodeEq         e  = {.h = dyn->h, .rate = dyn->form == TN_FORM_RATE, .lin = dyn->act == TN_ACT_LINEAR};
  PetscReal        r[B];
  for (PetscInt p = p0; p < p1; p++) {
    PetscReal *pi = dyn->pbuf + (size_t)p * B;
    if (TnColoredFree(dyn, cd, p) == 0) continue; /* clamped: the substep did not move it */
    PetscScalar *ai  = a + (size_t)cd->crows[p] * B;
    PetscReal    dlo = e.lin ? 1 + dyn->h * (cd->wdi[p] - cd->gam[p]) : 1 - dyn->h * cd->gam[p] + dyn->h * PetscMin(cd->wdi[p], 0);
    e.g              = cd->gam[p];
    e.w              = cd->wdi[p];
    for (PetscInt b = 0; b < B; b++) r[b] = cd->bia[p];
    RowOffDiagonal(&cd->d, p, dyn->pbuf, B, r);
    if (g) TnRowTimesBlock(&cd->o, p, g, B, r);
    for (PetscInt b = 0; b < B; b++) {
      PetscInt  its;
      PetscBool conv;
      e.r   = r[b];
      ai[b] = SolveNode(&e, ai[b], dlo, &its, &conv);
      pi[b] = e.rate ? TnPhi(dyn->act, ai[b]) : ai[b];
      st->newton_iters += its;
      st->newton_iters_max = PetscMax(st->newton_iters_max, its);
      if (!conv) *ok = PETSC_FALSE;
    }
    st->newton_solves += B;
  }
}

/* The halo as in the forward sweep, in reverse: all ghosts first, then
   colour c's after its substep is undone (read by the substeps below c). */
TN_INLINE PetscErrorCode Unsweep(TnDyn dyn, TnDynInverseStats *st, PetscScalar *a, PetscBool *ok, const PetscInt B)
{
  const TnColored *cd       = (const TnColored *)dyn->data;
  const int        rate     = dyn->form == TN_FORM_RATE;
  VecScatter       inflight = cd->hall;
  PetscFunctionBeginUser;
  TnColoredFill(dyn, a, rate, B);
  PetscCall(TnDynHaloPartBegin(dyn, cd->hall));
  for (PetscInt c = cd->ncolors - 1; c >= 0; c--) {
    const PetscInt     p0 = cd->cptr[c], pb = p0 + cd->cnint[c], p1 = cd->cptr[c + 1];
    const PetscScalar *g;
    SolveRows(dyn, st, p0, pb, a, NULL, ok, B);
    PetscCall(TnDynHaloPartEnd(dyn, inflight));
    PetscCall(VecGetArrayRead(dyn->G, &g));
    SolveRows(dyn, st, pb, p1, a, g, ok, B);
    PetscCall(VecRestoreArrayRead(dyn->G, &g));
    if (c > 0) {
      inflight = cd->halo[c];
      PetscCall(TnDynHaloPartBegin(dyn, inflight));
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

#define TN_UNSWEEP(dyn, st, a, ok, B) PetscCall(Unsweep(dyn, st, a, ok, B))

PetscErrorCode TnColoredInverseStep(TnDyn dyn, PetscInt k, PetscScalar *a, TnDynInverseStats *st)
{
  PetscBool ok = PETSC_TRUE;
  PetscFunctionBeginUser;
  ((TnColored *)dyn->data)->pfor = NULL; /* pbuf no longer phi of a forward sweep's out */
  PetscCall(TnColoredRefresh(dyn));
  TN_DISPATCH_B(dyn->B, TN_UNSWEEP, dyn, st, a, &ok);
  PetscCall(TnErrorSync(dyn->comm, (PetscBool)!ok, "sampling: a colored node equation a_i + h f_i(a) = a_i' did not converge in 200 Newton/bisection iterations; this should not happen when the colored invertibility check passes: please report it with the options used"));
  PetscCall(PetscLogFlops(2.0 * dyn->B * (double)(dyn->d.ia[dyn->m] + dyn->o.ia[dyn->m])));
  PetscFunctionReturn(PETSC_SUCCESS);
}
