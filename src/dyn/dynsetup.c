/* TnDyn set-up common to every scheme: kernel views of W, the halo exchange
   for B samples per node, the natural-order scatter and the per-node totals;
   then the scheme's own set-up and the invertibility check of
   docs/model.md section 5. */
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
  PetscCall(TnNetGetDiagPositions(dyn->net, &dyn->diagpos));
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
  const PetscInt B = dyn->B;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1((size_t)dyn->m * B + 1, &dyn->pbuf));
  PetscCall(PetscArrayzero(dyn->pbuf, (size_t)dyn->m * B));
  PetscCall(VecCreateMPIWithArray(dyn->comm, B, dyn->m * B, PETSC_DECIDE, dyn->pbuf, &dyn->P));
  PetscCall(TnNetCreateHalo(dyn->net, dyn->P, B, &dyn->G, &dyn->halo));
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

/* The forward halo exchange of pbuf (P views it, or an array placed in P),
   over the whole halo or a scatter of a part of it. */
PetscErrorCode TnDynHaloPartBegin(TnDyn dyn, VecScatter sct)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_HaloExchange, 0, 0, 0, 0));
  PetscCall(VecScatterBegin(sct, dyn->P, dyn->G, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(PetscLogEventEnd(TN_HaloExchange, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynHaloPartEnd(TnDyn dyn, VecScatter sct)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_HaloExchange, 0, 0, 0, 0));
  PetscCall(VecScatterEnd(sct, dyn->P, dyn->G, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(PetscLogEventEnd(TN_HaloExchange, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynHaloBegin(TnDyn dyn)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynHaloPartBegin(dyn, dyn->halo));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynHaloEnd(TnDyn dyn)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynHaloPartEnd(dyn, dyn->halo));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A global log-det method (dense, sparse, slq) for the step Jacobian. */
static PetscErrorCode SetUpExact(TnDyn dyn)
{
  const PetscInt *natural;
  PetscFunctionBeginUser;
  PetscCheck(!dyn->nodeloss_on, dyn->comm, PETSC_ERR_USER, "per-node totals (-dyn_nodeloss) need a local log-det method (diag or trace), not %s", TnLogDetTypes[dyn->ldt]);
  PetscCall(TnLogDetCreate(dyn->comm, dyn->ldt, &dyn->exact));
  PetscCall(TnLogDetSetFromOptions(dyn->exact));
  PetscCall(TnNetGetNatural(dyn->net, &natural));
  PetscCall(TnLogDetSetNodeNumbers(dyn->exact, natural));
  PetscCall(TnDynCreateJacobian(dyn, &dyn->J));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynSetUp(TnDyn dyn)
{
  PetscFunctionBeginUser;
  if (dyn->setup) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCheck(dyn->K >= 0, dyn->comm, PETSC_ERR_USER, "-dyn_steps must be >= 0 (got %" PetscInt_FMT ")", dyn->K);
  if (dyn->T > 0) {
    PetscCheck(dyn->K >= 1, dyn->comm, PETSC_ERR_USER, "-dyn_T needs -dyn_steps >= 1 (h = T / K)");
    dyn->h = dyn->T / dyn->K;
  }
  PetscCheck(dyn->h > 0 && !PetscIsInfOrNanReal(dyn->h), dyn->comm, PETSC_ERR_USER, "-dyn_h must be > 0 (got %g)", (double)dyn->h);
  PetscCheck(dyn->B >= 1 && dyn->B <= 1024, dyn->comm, PETSC_ERR_USER, "-dyn_batch must be in [1, 1024] (got %" PetscInt_FMT "); for more samples, run more batches", dyn->B);
  PetscCall(TnNetSetUp(dyn->net));
  PetscCall(PetscLogEventBegin(TN_DynSetUp, 0, 0, 0, 0));
  PetscCall(SetUpBlocks(dyn));
  dyn->setup = PETSC_TRUE; /* from here on Reset releases what was taken */
  PetscCall(TnNetUse(dyn->net, 1));
  dyn->nvalid = dyn->B;
  dyn->passes = 0;
  PetscCall(SetUpHalo(dyn));
  PetscCall(SetUpNatural(dyn));
  PetscCall(TnDynSetUpClamp(dyn));
  PetscCheck(!dyn->fmask || dyn->ops.clamp, dyn->comm, PETSC_ERR_SUP, "clamped nodes (-data_clamp) are not implemented for the %s scheme yet; use -dyn_scheme sync", dyn->type);
  if (dyn->nodeloss_on) {
    Mat W;
    PetscCall(TnNetGetMat(dyn->net, &W));
    PetscCall(MatCreateVecs(W, &dyn->nodeloss, NULL));
  }
  PetscCall(dyn->ops.setup(dyn));
  PetscCall(TnDynCheckInvertible(dyn));
  if (!TnLogDetIsLocal(dyn->ldt)) PetscCall(SetUpExact(dyn));
  PetscCall(PetscLogEventEnd(TN_DynSetUp, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}
