/* TnDyn set-up: kernel views of W, the halo exchange for B samples per node,
   the colouring, and the invertibility check of MODEL.md section 4. */
#include "dynimpl.h"

/* Software prefetch of the batched gathers pays when the columns are
   scattered (a random graph: er k = 32, N = 2.5e5, B = 16: 200 -> 135 ms per
   step) and costs when they are local, which the hardware prefetcher already
   follows (lattice2d N = 10^6, B = 16: 65 -> 77 ms). Scattered: fewer than
   half of the on-process synapses within 64 rows of their row. */
static PetscErrorCode ChoosePrefetch(TnDyn dyn)
{
  PetscInt64 near = 0;
  for (PetscInt i = 0; i < dyn->m; i++)
    for (PetscInt t = dyn->d.ia[i]; t < dyn->d.ia[i + 1]; t++) near += PetscAbsInt(dyn->d.ja[t] - i) <= 64;
  PetscFunctionBeginUser;
  dyn->d.prefetch = (PetscBool)(2 * near < (PetscInt64)dyn->d.n);
  PetscCall(PetscInfo(NULL, "gather prefetch %s: %" PetscInt64_FMT " of %" PetscInt_FMT " on-process synapses within 64 rows\n", dyn->d.prefetch ? "on" : "off", near, dyn->d.n));
  dyn->o.prefetch = PETSC_TRUE; /* ghosts: no locality to rely on */
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode SetUpBlocks(TnDyn dyn)
{
  Mat                W;
  Vec                b, gamma, wdiag;
  const PetscScalar *pb, *pg, *pw;
  PetscBool          done;
  PetscInt           n;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetMat(dyn->net, &W));
  PetscCall(MatMPIAIJGetSeqAIJ(W, &dyn->Ad, &dyn->Ao, NULL));
  PetscCall(MatGetRowIJ(dyn->Ad, 0, PETSC_FALSE, PETSC_FALSE, &n, &dyn->d.ia, &dyn->d.ja, &done));
  PetscCheck(done, dyn->comm, PETSC_ERR_SUP, "cannot access W's CSR arrays");
  PetscCall(MatGetRowIJ(dyn->Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &dyn->o.ia, &dyn->o.ja, &done));
  PetscCall(MatSeqAIJGetArrayRead(dyn->Ad, &dyn->d.va));
  PetscCall(MatSeqAIJGetArrayRead(dyn->Ao, &dyn->o.va));
  dyn->d.n = dyn->d.ia[n];
  dyn->o.n = dyn->o.ia[n];
  PetscCall(MatGetLocalSize(W, &dyn->m, NULL));
  PetscCall(ChoosePrefetch(dyn));
  PetscCall(MatGetSize(dyn->Ao, NULL, &dyn->nghost));
  PetscCall(TnNetGetVecs(dyn->net, &b, &gamma, &wdiag));
  /* borrowed from the network's vectors until Reset (no copies) */
  PetscCall(VecGetArrayRead(b, &pb));
  PetscCall(VecGetArrayRead(gamma, &pg));
  PetscCall(VecGetArrayRead(wdiag, &pw));
  dyn->bias  = pb;
  dyn->gamma = pg;
  dyn->wdiag = pw;
  PetscCall(PetscMalloc1(dyn->m + 1, &dyn->offrows));
  dyn->noff = 0;
  for (PetscInt i = 0; i < dyn->m; i++)
    if (dyn->o.ia[i + 1] > dyn->o.ia[i]) dyn->offrows[dyn->noff++] = i;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The halo: B consecutive values per ghost node (block IS over garray). */
static PetscErrorCode SetUpHalo(TnDyn dyn)
{
  Mat             W;
  const PetscInt *garray;
  IS              is;
  const PetscInt  B = dyn->B;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetMat(dyn->net, &W));
  PetscCall(MatMPIAIJGetSeqAIJ(W, NULL, NULL, &garray));
  PetscCall(PetscMalloc1((size_t)dyn->m * B + 1, &dyn->pbuf));
  PetscCall(PetscArrayzero(dyn->pbuf, (size_t)dyn->m * B));
  PetscCall(VecCreateMPIWithArray(dyn->comm, B, dyn->m * B, PETSC_DECIDE, dyn->pbuf, &dyn->P));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, dyn->nghost * B, &dyn->G));
  PetscCall(ISCreateBlock(PETSC_COMM_SELF, B, dyn->nghost, garray, PETSC_COPY_VALUES, &is));
  PetscCall(VecScatterCreate(dyn->P, is, dyn->G, NULL, &dyn->halo));
  PetscCall(ISDestroy(&is));
  if (dyn->form == TN_FORM_CURRENT) PetscCall(PetscMalloc1((size_t)dyn->m * B + 1, &dyn->S));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* natural order (default split of N nodes, B per node) -> partitioned. */
static PetscErrorCode SetUpNatural(TnDyn dyn)
{
  const PetscInt *natural;
  PetscInt        N, n = PETSC_DECIDE;
  IS              is;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetSizes(dyn->net, &N, NULL));
  PetscCall(TnNetGetNatural(dyn->net, &natural));
  PetscCall(PetscSplitOwnership(dyn->comm, &n, &N));
  PetscCall(VecCreateMPI(dyn->comm, n * dyn->B, N * dyn->B, &dyn->xnat));
  PetscCall(VecSetBlockSize(dyn->xnat, dyn->B));
  PetscCall(ISCreateBlock(dyn->comm, dyn->B, dyn->m, natural, PETSC_COPY_VALUES, &is));
  PetscCall(VecScatterCreate(dyn->xnat, is, dyn->P, NULL, &dyn->nat2part));
  PetscCall(ISDestroy(&is));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* |W|_1 = max_j sum_i |W_ij| (column sums) without a global-length work
   array (MatNorm(NORM_1) allocates N doubles on every rank): local column
   sums of the on-process block, the off-process block's added to their
   owners by a reverse scatter. */
static PetscErrorCode Norm1(TnDyn dyn, PetscReal *n1)
{
  Mat             W;
  const PetscInt *garray;
  Vec             cs, gs;
  IS              is;
  VecScatter      sct;
  PetscScalar    *c, *g;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetMat(dyn->net, &W));
  PetscCall(MatMPIAIJGetSeqAIJ(W, NULL, NULL, &garray));
  PetscCall(MatCreateVecs(W, &cs, NULL));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, dyn->nghost, &gs));
  PetscCall(VecGetArray(cs, &c));
  PetscCall(VecGetArray(gs, &g));
  for (PetscInt i = 0; i < dyn->m; i++) c[i] = 0;
  for (PetscInt q = 0; q < dyn->nghost; q++) g[q] = 0;
  for (PetscInt t = 0; t < dyn->d.ia[dyn->m]; t++) c[dyn->d.ja[t]] += PetscAbsScalar(dyn->d.va[t]);
  for (PetscInt t = 0; t < dyn->o.ia[dyn->m]; t++) g[dyn->o.ja[t]] += PetscAbsScalar(dyn->o.va[t]);
  PetscCall(VecRestoreArray(cs, &c));
  PetscCall(VecRestoreArray(gs, &g));
  PetscCall(ISCreateGeneral(PETSC_COMM_SELF, dyn->nghost, garray, PETSC_USE_POINTER, &is));
  PetscCall(VecScatterCreate(cs, is, gs, NULL, &sct));
  PetscCall(VecScatterBegin(sct, gs, cs, ADD_VALUES, SCATTER_REVERSE));
  PetscCall(VecScatterEnd(sct, gs, cs, ADD_VALUES, SCATTER_REVERSE));
  PetscCall(VecMax(cs, NULL, n1));
  PetscCall(VecScatterDestroy(&sct));
  PetscCall(ISDestroy(&is));
  PetscCall(VecDestroy(&gs));
  PetscCall(VecDestroy(&cs));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* MODEL.md section 4. sync: h Lip(f) < 1 with Lip(f) <= max gamma +
   sqrt(|W|_1 |W|_inf) sup|phi'| (sup|phi'| = 1 for tanh and linear).
   colored: 1 + h A_ii > 0 for every state: 1 - h gamma_i + h min(W_ii, 0) > 0
   for tanh (0 < phi' <= 1), 1 + h (W_ii - gamma_i) > 0 for linear.
   Also sets the diag product's renormalisation interval from the range of
   the factors 1 + h A_ii. */
PetscErrorCode TnDynCheckInvertible(TnDyn dyn)
{
  Mat       W;
  PetscReal n1, ninf, loc[3] = {-PETSC_MAX_REAL, PETSC_MAX_REAL, 0}, gmax, fmin, fmax, wmax, lmax;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetMat(dyn->net, &W));
  for (PetscInt i = 0; i < dyn->m; i++) {
    PetscReal w = dyn->wdiag[i], f = dyn->act == TN_ACT_TANH ? 1 - dyn->h * dyn->gamma[i] + dyn->h * PetscMin(w, 0) : 1 + dyn->h * (w - dyn->gamma[i]);
    loc[0] = PetscMax(loc[0], dyn->gamma[i]);
    loc[1] = PetscMin(loc[1], f);
    loc[2] = PetscMax(loc[2], PetscAbsReal(w));
  }
  loc[1] = -loc[1];
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, loc, 3, MPIU_REAL, MPIU_MAX, dyn->comm));
  gmax = loc[0], fmin = -loc[1], wmax = loc[2];
  if (dyn->scheme == TN_SCHEME_SYNC) {
    PetscCall(Norm1(dyn, &n1));
    PetscCall(MatNorm(W, NORM_INFINITY, &ninf));
    dyn->invert_value = dyn->h * (gmax + PetscSqrtReal(n1 * ninf));
    PetscCall(PetscSNPrintf(dyn->invert_what, sizeof(dyn->invert_what), "sync: h Lip(f) <= h (max gamma + sqrt(|W|_1 |W|_inf)) = %g (%g + sqrt(%g * %g)) = %.4g < 1", (double)dyn->h, (double)gmax, (double)n1, (double)ninf, (double)dyn->invert_value));
    PetscCheck(dyn->invert_value < 1, dyn->comm, PETSC_ERR_USER,
               "the sync step is not guaranteed invertible (MODEL.md section 4): h Lip(f) <= h (max gamma + sqrt(|W|_1 |W|_inf)) = %g * (%g + sqrt(%g * %g)) = %.4g, which is not < 1 (by %.3g). Use -dyn_h below %.4g, or smaller weights (-net_scale), or the colored scheme",
               (double)dyn->h, (double)gmax, (double)n1, (double)ninf, (double)dyn->invert_value, (double)(dyn->invert_value - 1), (double)(1.0 / (gmax + PetscSqrtReal(n1 * ninf))));
    fmin = 1 - dyn->invert_value;
  } else {
    dyn->invert_value = fmin;
    PetscCall(PetscSNPrintf(dyn->invert_what, sizeof(dyn->invert_what), "colored: min_i (1 + h A_ii) >= %.4g > 0", (double)fmin));
    PetscCheck(fmin > 0, dyn->comm, PETSC_ERR_USER,
               "a colored substep is not invertible (MODEL.md section 4): min_i of %s = %.4g is not > 0 (short by %.3g). Use a smaller -dyn_h, larger self-weights W_ii, or smaller leaks gamma",
               dyn->act == TN_ACT_TANH ? "1 - h gamma_i + h min(W_ii, 0)" : "1 + h (W_ii - gamma_i)", (double)fmin, (double)-fmin);
  }
  fmax        = 1 + dyn->h * wmax;
  lmax        = PetscMax(PetscMax(PetscAbsReal(PetscLogReal(fmin)), PetscLogReal(fmax)), 1e-3);
  dyn->renorm = (PetscInt)PetscMax(1, PetscMin(4096, 600.0 / lmax));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynSetUp(TnDyn dyn)
{
  PetscFunctionBeginUser;
  if (dyn->setup) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCheck(dyn->h > 0 && !PetscIsInfOrNanReal(dyn->h), dyn->comm, PETSC_ERR_USER, "-dyn_h must be > 0 (got %g)", (double)dyn->h);
  PetscCheck(dyn->K >= 0, dyn->comm, PETSC_ERR_USER, "-dyn_steps must be >= 0 (got %" PetscInt_FMT ")", dyn->K);
  PetscCheck(dyn->B >= 1 && dyn->B <= 1024, dyn->comm, PETSC_ERR_USER, "-dyn_batch must be in [1, 1024] (got %" PetscInt_FMT "); for more samples, run more batches", dyn->B);
  PetscCall(TnNetSetUp(dyn->net));
  PetscCall(PetscLogEventBegin(TN_DynSetUp, 0, 0, 0, 0));
  PetscCall(SetUpBlocks(dyn));
  dyn->setup = PETSC_TRUE; /* from here on Reset releases what was taken */
  PetscCall(TnNetUse(dyn->net, 1));
  dyn->nvalid = dyn->B;
  PetscCall(SetUpHalo(dyn));
  PetscCall(SetUpNatural(dyn));
  if (dyn->scheme == TN_SCHEME_COLORED) PetscCall(TnDynColoringSetUp(dyn));
  if (dyn->nodeloss_on) {
    Mat W;
    PetscCall(TnNetGetMat(dyn->net, &W));
    PetscCall(MatCreateVecs(W, &dyn->nodeloss, NULL));
  }
  PetscCall(TnDynCheckInvertible(dyn));
  if (!TnLogDetIsLocal(dyn->ldt)) {
    PetscCheck(dyn->scheme == TN_SCHEME_SYNC, dyn->comm, PETSC_ERR_USER, "-logdet_type %s is for the sync scheme; in the colored scheme diag is already exact", TnLogDetTypes[dyn->ldt]);
    PetscCheck(!dyn->nodeloss_on, dyn->comm, PETSC_ERR_USER, "per-node totals (-dyn_nodeloss) need a local log-det method (diag or trace), not %s", TnLogDetTypes[dyn->ldt]);
    PetscCall(TnLogDetCreate(dyn->comm, dyn->ldt, &dyn->exact));
    PetscCall(TnLogDetSetFromOptions(dyn->exact));
    {
      const PetscInt *natural;
      PetscCall(TnNetGetNatural(dyn->net, &natural));
      PetscCall(TnLogDetSetNodeNumbers(dyn->exact, natural));
    }
    PetscCall(TnDynCreateJacobian(dyn, &dyn->J));
  }
  PetscCall(PetscLogEventEnd(TN_DynSetUp, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}
