/* The invertibility condition (docs/model.md section 5), written once: the
   quantities every scheme's condition is made of, evaluated in one pass
   over the parameters (current, or a trial theta + alpha d that has not been
   written into the net), then turned into the scheme's condition by its
   own `bound` operation:
     sync:     h (max_i gamma_i + sqrt(|W|_1 |W|_inf)) < 1
     colored:  min_i (1 - h gamma_i + h min(W_ii, 0)) > 0  (tanh)
               min_i (1 + h (W_ii - gamma_i)) > 0         (linear)
     continuous: none.
   The check of SetUp and the trainer's check of a trial run this same code
   in the same order; a trial is accepted only with a margin of 1e-10, so
   one accepted here is not refused by round-off once stored. */
#include "dynimpl.h"

#define TN_BOUND_MARGIN 1e-10

/* |W|_1 = max_j sum_i |W_ij| (column sums) without a global-length work
   array (MatNorm(NORM_1) allocates N doubles on every rank): local column
   sums of the on-process block, the off-process block's added to their
   owners by a reverse scatter. */
static PetscErrorCode Norm1(TnDyn dyn, const PetscScalar *th, const PetscScalar *d, PetscReal alpha, PetscReal *n1)
{
  PetscScalar *c, *g;
  PetscFunctionBeginUser;
  if (!dyn->bsct) {
    Mat             W;
    const PetscInt *garray;
    IS              is;
    PetscCall(TnNetGetMat(dyn->net, &W));
    PetscCall(MatMPIAIJGetSeqAIJ(W, NULL, NULL, &garray));
    PetscCall(MatCreateVecs(W, &dyn->bcs, NULL));
    PetscCall(VecCreateSeq(PETSC_COMM_SELF, dyn->nghost, &dyn->bgs));
    PetscCall(ISCreateGeneral(PETSC_COMM_SELF, dyn->nghost, garray, PETSC_COPY_VALUES, &is));
    PetscCall(VecScatterCreate(dyn->bcs, is, dyn->bgs, NULL, &dyn->bsct));
    PetscCall(ISDestroy(&is));
  }
  PetscCall(VecGetArray(dyn->bcs, &c));
  PetscCall(VecGetArray(dyn->bgs, &g));
  for (PetscInt i = 0; i < dyn->m; i++) c[i] = 0;
  for (PetscInt q = 0; q < dyn->nghost; q++) g[q] = 0;
  for (PetscInt t = 0; t < dyn->d.n; t++) c[dyn->d.ja[t]] += PetscAbsScalar(TnParamTrial(th, d, alpha, t));
  for (PetscInt t = 0; t < dyn->o.n; t++) g[dyn->o.ja[t]] += PetscAbsScalar(TnParamTrial(th, d, alpha, dyn->d.n + t));
  PetscCall(VecRestoreArray(dyn->bcs, &c));
  PetscCall(VecRestoreArray(dyn->bgs, &g));
  PetscCall(VecScatterBegin(dyn->bsct, dyn->bgs, dyn->bcs, ADD_VALUES, SCATTER_REVERSE));
  PetscCall(VecScatterEnd(dyn->bsct, dyn->bgs, dyn->bcs, ADD_VALUES, SCATTER_REVERSE));
  PetscCall(VecMax(dyn->bcs, NULL, n1));
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
    for (PetscInt t = dyn->d.ia[i]; t < dyn->d.ia[i + 1]; t++) rs += PetscAbsScalar(TnParamTrial(th, d, alpha, t));
    for (PetscInt t = dyn->o.ia[i]; t < dyn->o.ia[i + 1]; t++) rs += PetscAbsScalar(TnParamTrial(th, d, alpha, L.nd + t));
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
  if (norm1) PetscCall(Norm1(dyn, th, d, alpha, &q->n1));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rows between renormalisations of the diag product: every factor lies in
   [fmin, fmax], so 600 / max|log factor| rows keep the product in range. */
void TnDynSetRenorm(TnDyn dyn, PetscReal fmin, PetscReal fmax)
{
  PetscReal lmax = PetscMax(PetscMax(PetscAbsReal(PetscLogReal(fmin)), PetscLogReal(fmax)), 1e-3);
  dyn->renorm    = (PetscInt)PetscMax(1, PetscMin(4096, 600.0 / lmax));
}

static PetscErrorCode Bound(TnDyn dyn, const PetscScalar *th, const PetscScalar *d, PetscReal alpha, const PetscReal *gamma, PetscReal margin, TnBoundQ *q, TnDynBound *bnd)
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
