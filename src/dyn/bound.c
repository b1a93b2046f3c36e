/* The invertibility condition (docs/model.md section 5), written once: the
   quantities every scheme's condition is made of, evaluated in one pass
   over the parameters (current, or a trial theta + alpha d that has not been
   written into the net), then turned into the scheme's condition by its
   own `bound` operation:
     sync:     h (max_i gamma_i + w) < 1, w >= |W|_2: the cheap
               sqrt(|W|_1 |W|_inf), or a Lanczos certificate (below)
     colored:  min_i (1 - h gamma_i + h min(W_ii, 0)) > 0  (tanh)
               min_i (1 + h (W_ii - gamma_i)) > 0         (linear)
     continuous: none.
   With clamped nodes (clamp.c) every quantity is that of the free block:
   max over F of gamma_i and of the colored factor, |W_FF|_1, |W_FF|_inf
   and a certificate of |W_FF|_2 (Lanczos in F's subspace), since only
   a_F moves and the clamped values enter a step like a bias.
   The check of SetUp and the trainer's check of a trial run this same code
   in the same order; a trial is accepted only with a margin of 1e-10, so
   one accepted here is not refused by round-off once stored.

   The Lanczos certificate (docs/model.md section 5): k Lanczos steps on
   A = W^T W, full reorthogonalisation, from a start uniform on the sphere
   (normal entries TnRandNormal by natural node number, normalised: the same
   for any rank count); theta = the largest Ritz value. Kuczynski and
   Wozniakowski (1992): P(theta < (1 - eps) lambda_max(A)) <= 1.648 sqrt(n)
   exp(-sqrt(eps) (2k' - 1)), used with k' = k - 1 (so either convention of
   the paper's k, k or k + 1 Krylov vectors, is covered); eps from the
   failure probability delta; then |W|_2 <= sqrt(theta (1 + 1e-8) / (1 - eps))
   (1e-8: round-off far above the backward error of the reorthogonalised
   recurrence). An early stop with beta_j > 0 small adds beta_j to theta
   (dropping it moves T's eigenvalues by at most beta_j).
   The certificate is made for the net's current W (W_c, kept); any W,
   a trial included, then has |W|_2 <= |W_c|_2 + sqrt(|W - W_c|_1
   |W - W_c|_inf): one extra pass, so the trainer's trial check stays cheap.
   A new certificate is made only when the condition fails with the cheap
   bound and with this drift bound while W has moved since W_c (and at the
   first check with -dyn_bound_norm lanczos); each draws a fresh start (stream
   = number of certificates so far), so each fails with probability at most
   delta whatever W the earlier ones led to. */
#include "dynimpl.h"
#include <petscblaslapack.h>

#define TN_BOUND_MARGIN 1e-10
#define TN_BOUND_SEED 0x6e6f726d32ULL /* the certificate's start vectors */

const char *const TnBoundNormTypes[] = {"auto", "cheap", "lanczos", "TnBoundNorm", "TN_BOUND_NORM_", NULL};

/* |W|_1 = max_j sum_i |W_ij| (column sums) without a global-length work
   array (MatNorm(NORM_1) allocates N doubles on every rank): local column
   sums of the on-process block, the off-process block's added to their
   owners by a reverse scatter. With ref (W_c's values): |W - W_c|_1. The
   column sums' array (m values) exists only during the call: bcs is a Vec
   without an array of its own, the scatter's template. */
static PetscErrorCode Norm1(TnDyn dyn, const PetscScalar *th, const PetscScalar *d, PetscReal alpha, const PetscScalar *ref, PetscReal *n1)
{
  PetscScalar *c, *g, *work;
  PetscFunctionBeginUser;
  if (!dyn->bsct) {
    Mat             W;
    const PetscInt *garray;
    IS              is;
    PetscCall(TnNetGetMat(dyn->net, &W));
    PetscCall(MatMPIAIJGetSeqAIJ(W, NULL, NULL, &garray));
    PetscCall(VecCreateMPIWithArray(dyn->comm, 1, dyn->m, PETSC_DECIDE, NULL, &dyn->bcs)); /* W's column layout */
    PetscCall(VecCreateSeq(PETSC_COMM_SELF, dyn->nghost, &dyn->bgs));
    PetscCall(ISCreateGeneral(PETSC_COMM_SELF, dyn->nghost, garray, PETSC_COPY_VALUES, &is));
    PetscCall(VecScatterCreate(dyn->bcs, is, dyn->bgs, NULL, &dyn->bsct));
    PetscCall(ISDestroy(&is));
  }
  PetscCall(PetscMalloc1(dyn->m + 1, &work));
  PetscCall(VecPlaceArray(dyn->bcs, work));
  PetscCall(VecGetArray(dyn->bcs, &c));
  PetscCall(VecGetArray(dyn->bgs, &g));
  for (PetscInt i = 0; i < dyn->m; i++) c[i] = 0;
  for (PetscInt q = 0; q < dyn->nghost; q++) g[q] = 0;
  for (PetscInt i = 0; i < dyn->m; i++) {
    if (TnDynFree(dyn, i) == 0) continue; /* clamped rows and columns are not in W_FF */
    for (PetscInt t = dyn->d.ia[i]; t < dyn->d.ia[i + 1]; t++) c[dyn->d.ja[t]] += PetscAbsScalar(TnParamTrial(th, d, alpha, t) - (ref ? ref[t] : 0));
    for (PetscInt t = dyn->o.ia[i]; t < dyn->o.ia[i + 1]; t++) g[dyn->o.ja[t]] += PetscAbsScalar(TnParamTrial(th, d, alpha, dyn->d.n + t) - (ref ? ref[dyn->d.n + t] : 0));
  }
  PetscCall(VecRestoreArray(dyn->bcs, &c));
  PetscCall(VecRestoreArray(dyn->bgs, &g));
  PetscCall(VecScatterBegin(dyn->bsct, dyn->bgs, dyn->bcs, ADD_VALUES, SCATTER_REVERSE));
  PetscCall(VecScatterEnd(dyn->bsct, dyn->bgs, dyn->bcs, ADD_VALUES, SCATTER_REVERSE));
  if (dyn->fmask) {
    PetscCall(VecGetArray(dyn->bcs, &c));
    for (PetscInt j = 0; j < dyn->m; j++) c[j] *= dyn->fmask[j];
    PetscCall(VecRestoreArray(dyn->bcs, &c));
  }
  PetscCall(VecMax(dyn->bcs, NULL, n1));
  PetscCall(VecResetArray(dyn->bcs));
  PetscCall(PetscFree(work));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* 1 for a free ghost column, 0 for a clamped one. */
static inline PetscReal GhostFree(TnDyn dyn, PetscInt q)
{
  return dyn->gfmask ? dyn->gfmask[q] : 1.0;
}

/* sqrt(|W - W_c|_1 |W - W_c|_inf) at theta + alpha d: the cheap bound on
   |W - W_c|_2. */
static PetscErrorCode Drift(TnDyn dyn, const PetscScalar *th, const PetscScalar *d, PetscReal alpha, PetscReal *drift)
{
  TnParamLayout L;
  PetscReal     ninf = 0, n1;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetParamLayout(dyn->net, &L));
  for (PetscInt i = 0; i < dyn->m; i++) {
    PetscReal rs = 0;
    if (TnDynFree(dyn, i) == 0) continue;
    for (PetscInt t = dyn->d.ia[i]; t < dyn->d.ia[i + 1]; t++) rs += TnDynFree(dyn, dyn->d.ja[t]) * PetscAbsScalar(TnParamTrial(th, d, alpha, t) - dyn->wc[t]);
    for (PetscInt t = dyn->o.ia[i]; t < dyn->o.ia[i + 1]; t++) rs += GhostFree(dyn, dyn->o.ja[t]) * PetscAbsScalar(TnParamTrial(th, d, alpha, L.nd + t) - dyn->wc[L.nd + t]);
    ninf = PetscMax(ninf, rs);
  }
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, &ninf, 1, MPIU_REAL, MPIU_MAX, dyn->comm));
  PetscCall(Norm1(dyn, th, d, alpha, dyn->wc, &n1));
  *drift = PetscSqrtReal(n1 * ninf);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* v <- P_F v: zero on the clamped rows. */
static PetscErrorCode MaskFree(TnDyn dyn, Vec v)
{
  PetscScalar *a;
  PetscFunctionBeginUser;
  if (!dyn->fmask) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(VecGetArray(v, &a));
  for (PetscInt i = 0; i < dyn->m; i++) a[i] *= dyn->fmask[i];
  PetscCall(VecRestoreArray(v, &a));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The Lanczos certificate for the net's current W (see the top): sets
   dyn->w2c, dyn->w2eps and keeps W's values in dyn->wc. Collective. */
static PetscErrorCode Certify(TnDyn dyn)
{
  Mat             W;
  Vec            *V, t;
  TnParamLayout   L;
  PetscScalar    *par, *pv, *h;
  const PetscInt *natural;
  PetscInt        k = dyn->bsteps, N, m = k;
  PetscReal      *alpha, *beta, *e, theta = 0, extra = 0, nrm, s;
  PetscBLASInt    bn, info;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetMat(dyn->net, &W));
  PetscCall(MatGetSize(W, &N, NULL));
  PetscCall(TnCheckMemory(dyn->comm, 8.0 * (k + 2) * dyn->m, "the Lanczos basis of the |W|_2 certificate (k + 1 vectors, -dyn_bound_lanczos_steps)", "use fewer steps (-dyn_bound_lanczos_steps) or -dyn_bound_norm cheap"));
  PetscCall(MatCreateVecs(W, NULL, &t));
  {
    Vec x;
    PetscCall(MatCreateVecs(W, &x, NULL));
    PetscCall(VecDuplicateVecs(x, k + 1, &V));
    PetscCall(VecDestroy(&x));
  }
  PetscCall(PetscMalloc4(k, &alpha, k, &beta, k, &e, k + 1, &h));
  PetscCall(TnNetGetNatural(dyn->net, &natural));
  PetscCall(VecGetArray(V[0], &pv));
  for (PetscInt i = 0; i < dyn->m; i++) pv[i] = TnDynFree(dyn, i) * TnRandNormal(TN_BOUND_SEED, (uint64_t)dyn->ncert, (uint64_t)natural[i]); /* in F's subspace */
  PetscCall(VecRestoreArray(V[0], &pv));
  PetscCall(VecNormalize(V[0], NULL));
  for (PetscInt j = 0; j < k; j++) { /* V[j+1] = A V[j] - alpha_j V[j] - beta_{j-1} V[j-1], then against all of V twice */
    PetscCall(MatMult(W, V[j], t));
    PetscCall(MaskFree(dyn, t));
    PetscCall(MatMultTranspose(W, t, V[j + 1]));
    PetscCall(MaskFree(dyn, V[j + 1])); /* A = P_F W^T P_F W P_F: lambda_max = |W_FF|_2^2 */
    PetscCall(VecDot(V[j + 1], V[j], &h[0]));
    alpha[j] = PetscRealPart(h[0]);
    PetscCall(VecAXPY(V[j + 1], -alpha[j], V[j]));
    if (j > 0) PetscCall(VecAXPY(V[j + 1], -beta[j - 1], V[j - 1]));
    for (PetscInt pass = 0; pass < 2; pass++) {
      PetscCall(VecMDot(V[j + 1], j + 1, V, h));
      for (PetscInt i = 0; i <= j; i++) h[i] = -h[i];
      PetscCall(VecMAXPY(V[j + 1], j + 1, h, V));
    }
    PetscCall(VecNorm(V[j + 1], NORM_2, &nrm));
    if (j == k - 1) break;
    if (nrm <= 1e-10 * PetscMax(PetscAbsReal(alpha[j]), PETSC_SMALL)) { /* (numerically) invariant Krylov space */
      m     = j + 1;
      extra = nrm;
      break;
    }
    beta[j] = nrm;
    PetscCall(VecScale(V[j + 1], 1.0 / nrm));
  }
  for (PetscInt j = 0; j < m; j++) e[j] = j < m - 1 ? beta[j] : 0;
  PetscCall(PetscBLASIntCast(m, &bn));
  PetscCallBLAS("LAPACKsteqr", LAPACKsteqr_("N", &bn, alpha, e, NULL, &bn, NULL, &info));
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "LAPACK steqr failed on the Lanczos matrix of the |W|_2 certificate: info %d", (int)info);
  for (PetscInt j = 0; j < m; j++) theta = PetscMax(theta, alpha[j]);
  theta += extra;
  s          = PetscLogReal(1.648 * PetscSqrtReal((PetscReal)dyn->nfree) / dyn->bdelta) / (2.0 * (k - 1) - 1.0); /* the space: R^{N_F} */
  dyn->w2eps = s * s;
  dyn->w2c   = dyn->w2eps < 1 ? PetscSqrtReal(theta * (1 + 1e-8) / (1 - dyn->w2eps)) : PETSC_MAX_REAL;
  dyn->ncert++;
  PetscCall(TnNetGetParamLayout(dyn->net, &L));
  PetscCall(TnNetGetParamArray(dyn->net, &par, NULL));
  if (!dyn->wc) PetscCall(PetscMalloc1(L.nd + L.no + 1, &dyn->wc));
  PetscCall(PetscArraycpy(dyn->wc, par, L.nd + L.no));
  PetscCall(PetscInfo(NULL, "|W|_2 certificate %" PetscInt_FMT ": %" PetscInt_FMT " Lanczos steps, theta %g, eps %g: |W|_2 <= %g\n", dyn->ncert, m, (double)theta, (double)dyn->w2eps, (double)dyn->w2c));
  PetscCall(PetscFree4(alpha, beta, e, h));
  PetscCall(VecDestroyVecs(k + 1, &V));
  PetscCall(VecDestroy(&t));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The quantities at theta + alpha d; gamma: the current gamma (NULL: e^u of
   the trial). th is in theta's layout (the net's parameter array). */
static PetscErrorCode Quantities(TnDyn dyn, const PetscScalar *th, const PetscScalar *d, PetscReal alpha, const PetscReal *gamma, PetscBool norm1, TnBoundQ *q)
{
  TnParamLayout L;
  PetscReal     loc[5] = {-PETSC_MAX_REAL, -PETSC_MAX_REAL, 0, 0, 0}; /* max gamma, -min f, max |W_ii|, max row sum, non-finite */
  PetscFunctionBeginUser;
  PetscCall(TnNetGetParamLayout(dyn->net, &L));
  if (d)
    for (PetscInt t = 0; t < L.n; t++)
      if (PetscIsInfOrNanScalar(TnParamTrial(th, d, alpha, t))) loc[4] = 1;
  for (PetscInt i = 0; i < dyn->m; i++) {
    PetscReal gi = gamma ? gamma[i] : PetscExpReal(TnParamTrial(th, d, alpha, L.u + i));
    PetscReal w = dyn->diagpos[i] >= 0 ? TnParamTrial(th, d, alpha, dyn->diagpos[i]) : 0, rs = 0;
    PetscReal f = dyn->act == TN_ACT_TANH ? 1 - dyn->h * gi + dyn->h * PetscMin(w, 0) : 1 + dyn->h * (w - gi);
    if (TnDynFree(dyn, i) == 0) continue; /* a clamped node does not move: only F's rows and columns count */
    for (PetscInt t = dyn->d.ia[i]; t < dyn->d.ia[i + 1]; t++) rs += TnDynFree(dyn, dyn->d.ja[t]) * PetscAbsScalar(TnParamTrial(th, d, alpha, t));
    for (PetscInt t = dyn->o.ia[i]; t < dyn->o.ia[i + 1]; t++) rs += GhostFree(dyn, dyn->o.ja[t]) * PetscAbsScalar(TnParamTrial(th, d, alpha, L.nd + t));
    loc[0] = PetscMax(loc[0], gi);
    loc[1] = PetscMax(loc[1], -f);
    loc[2] = PetscMax(loc[2], PetscAbsReal(w));
    loc[3] = PetscMax(loc[3], rs);
  }
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, loc, 5, MPIU_REAL, MPIU_MAX, dyn->comm));
  q->gmax      = loc[0];
  q->fmin      = -loc[1];
  q->wmax      = loc[2];
  q->ninf      = loc[3];
  q->nonfinite = (PetscBool)(loc[4] > 0 || PetscIsInfOrNanReal(loc[0]) || PetscIsInfOrNanReal(loc[1]) || PetscIsInfOrNanReal(loc[3]));
  q->n1        = 0;
  q->n2        = -1;
  if (norm1) PetscCall(Norm1(dyn, th, d, alpha, NULL, &q->n1));
  if (norm1 && dyn->wc) {
    PetscCall(Drift(dyn, th, d, alpha, &q->drift));
    q->n2    = dyn->w2c + q->drift;
    q->w2c   = dyn->w2c;
    q->w2eps = dyn->w2eps;
    q->delta = dyn->bdelta;
    q->steps = dyn->bsteps;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rows between renormalisations of the diag product: every factor lies in
   [fmin, fmax], so 600 / max|log factor| rows keep the product in range. */
void TnDynSetRenorm(TnDyn dyn, PetscReal fmin, PetscReal fmax)
{
  PetscReal lmax = PetscMax(PetscMax(PetscAbsReal(PetscLogReal(fmin)), PetscLogReal(fmax)), 1e-3);
  dyn->renorm    = (PetscInt)PetscMax(1, PetscMin(4096, 600.0 / lmax));
}

static PetscErrorCode Condition(TnDyn dyn, const PetscScalar *th, const PetscScalar *d, PetscReal alpha, const PetscReal *gamma, PetscReal margin, TnBoundQ *q, TnDynBound *bnd)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(bnd, sizeof(*bnd)));
  PetscCall(Quantities(dyn, th, d, alpha, gamma, dyn->ops.boundnorm1, q));
  PetscCall(dyn->ops.bound(dyn, q, margin, bnd));
  if (q->nonfinite) {
    bnd->ok = PETSC_FALSE;
    PetscCall(PetscSNPrintf(bnd->fix, sizeof(bnd->fix), "the parameters hold NaN or Inf"));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The condition; a (new) Lanczos certificate of the current W when it is
   wanted (lanczos: none yet; auto or lanczos: the condition fails) and
   would be new (no certificate, or W has moved since), then the condition
   again. */
static PetscErrorCode Bound(TnDyn dyn, const PetscScalar *th, const PetscScalar *d, PetscReal alpha, const PetscReal *gamma, PetscReal margin, TnBoundQ *q, TnDynBound *bnd)
{
  PetscFunctionBeginUser;
  PetscCall(Condition(dyn, th, d, alpha, gamma, margin, q, bnd));
  if (dyn->ops.boundnorm1 && dyn->bnorm != TN_BOUND_NORM_CHEAP && !q->nonfinite && (!bnd->ok || (dyn->bnorm == TN_BOUND_NORM_LANCZOS && !dyn->wc))) {
    PetscBool stale = PETSC_TRUE;
    if (dyn->wc) {
      PetscScalar *par;
      PetscReal    dc;
      PetscCall(TnNetGetParamArray(dyn->net, &par, NULL));
      PetscCall(Drift(dyn, par, NULL, 0, &dc));
      stale = (PetscBool)(dc > 0);
    }
    if (stale) {
      PetscCall(Certify(dyn));
      PetscCall(Condition(dyn, th, d, alpha, gamma, margin, q, bnd));
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynCheckInvertible(TnDyn dyn)
{
  PetscScalar *par;
  TnDynBound  *b = &dyn->bnd;
  TnBoundQ     q;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetParamArray(dyn->net, &par, NULL));
  PetscCall(Bound(dyn, par, NULL, 0, dyn->gamma, 0, &q, b));
  PetscCheck(b->ok, dyn->comm, PETSC_ERR_USER, "%s", b->fix);
  TnDynSetRenorm(dyn, b->applies ? b->fmin : 1, 1 + dyn->h * q.wmax);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynCheckBound(TnDyn dyn, const PetscScalar *theta, const PetscScalar *d, PetscReal alpha, TnDynBound *bound)
{
  TnBoundQ q;
  PetscFunctionBeginUser;
  PetscCall(TnDynSetUp(dyn));
  PetscCall(Bound(dyn, theta, d, alpha, NULL, TN_BOUND_MARGIN, &q, bound));
  PetscFunctionReturn(PETSC_SUCCESS);
}
