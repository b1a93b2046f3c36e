/* TnDyn set-up common to every scheme: kernel views of W, the halo exchange
   for B samples per node, the natural-order map and the per-node totals;
   then the scheme's own set-up and the invertibility check of
   docs/model.md section 5. */
#include "dynimpl.h"

/* The size of the largest cache cpu0 sees (Linux sysfs), 0 if unknown. */
static size_t LastLevelCache(void)
{
  size_t best = 0;
  for (int idx = 0; idx < 8; idx++) {
    char  path[128], unit = 0;
    FILE *f;
    long  v = 0;
    snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%d/size", idx);
    if (!(f = fopen(path, "r"))) break;
    if (fscanf(f, "%ld%c", &v, &unit) >= 1) {
      size_t b = (size_t)v * (unit == 'K' ? 1024 : unit == 'M' ? 1024 * 1024
                                                               : 1);
      if (b > best) best = b;
    }
    fclose(f);
  }
  return best;
}

/* Half of the last-level cache's share of each rank on the node (the other
   half for the matrix and state streaming past), at least 256 kB; if sysfs
   does not tell, 32 MB a rank up to 2 ranks (below). On a machine whose sysfs lists no
   cache (an AMD EPYC guest), the former guess of 8 MB made 4 MB slices on
   one rank: er N = 10^6, k = 32, B = 16, the sync step took 0.38-0.54 s
   with them against 0.27-0.28 s with 16 MB and 0.26-0.33 s with 8 MB, and
   on 2 ranks 0.42-0.44 s with 2 MB against 0.31 s with 4 MB
   (bench/README.md); a machine that listed its 32 MB measured 16 MB on one
   rank and 8 MB a rank on two as good as any other size. On the guest
   without sysfs caches, 16 MB a rank on 2 ranks beat 8 MB in alternated
   runs (bench/README.md, "The panels' size on 2 ranks"): sync 0.126-0.205
   s per step (mean 0.164) against 0.164-0.196 (0.185), colored 0.172-0.221
   (0.198) against 0.225-0.253 (0.236); so where sysfs is silent each of
   up to 2 ranks is given 32 MB, and more ranks share 64 MB. Collective. */
PetscErrorCode TnPanelBytesDefault(MPI_Comm comm, size_t *bytes)
{
  MPI_Comm    node;
  PetscMPIInt nr;
  size_t      llc = LastLevelCache();
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  PetscCallMPI(MPI_Comm_size(node, &nr));
  PetscCallMPI(MPI_Comm_free(&node));
  if (!llc) llc = ((size_t)32 << 20) * (size_t)PetscMin(nr, 2); /* sysfs silent: 32 MB for each of up to 2 ranks */
  *bytes = PetscMax(llc / (2 * (size_t)nr), (size_t)256 << 10);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* -dyn_panel_kb, or the default above. Collective. */
PetscErrorCode TnDynPanelBytes(TnDyn dyn, size_t *bytes)
{
  PetscFunctionBeginUser;
  if (dyn->panelset)
    *bytes = (size_t)dyn->panelkb * 1024;
  else
    PetscCall(TnPanelBytesDefault(dyn->comm, bytes));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscBool TnColumnsScattered(PetscInt m, const PetscInt *ia, const PetscInt *ja)
{
  PetscInt64 near = 0;
  for (PetscInt i = 0; i < m; i++)
    for (PetscInt t = ia[i]; t < ia[i + 1]; t++) near += PetscAbsInt(ja[t] - i) <= 64;
  return (PetscBool)(2 * near < (PetscInt64)ia[m]);
}

PetscBool TnRowsAscend(const TnCSR *A, PetscInt rows)
{
  for (PetscInt i = 0; i < rows; i++)
    for (PetscInt t = A->ia[i] + 1; t < A->ia[i + 1]; t++)
      if (A->ja[t] <= A->ja[t - 1]) return PETSC_FALSE;
  return PETSC_TRUE;
}

PetscErrorCode TnPanelsCreate(const TnCSR *A, PetscInt rows, PetscInt ncols, PetscInt np, TnPanels *P)
{
  PetscInt *next;
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(P, sizeof(*P)));
  if (np <= 1 || ncols <= 1 || A->n == 0) PetscFunctionReturn(PETSC_SUCCESS);
  np      = PetscMin(np, PetscMin(ncols, TN_PANELS_MAX));
  P->cw   = (ncols + np - 1) / np;
  P->np   = (ncols + P->cw - 1) / P->cw;
  P->rows = rows;
  np      = P->np;
  PetscCall(PetscCalloc1((size_t)np * (rows + 1), &P->ia));
  PetscCall(TnMemoryAllocAligned(sizeof(PetscInt) * (size_t)A->n, &P->ja)); /* streamed: huge pages */
  PetscCall(TnMemoryAllocAligned(sizeof(PetscReal) * (size_t)A->n, &P->va));
  PetscCall(PetscMalloc1(np, &P->view));
  PetscCall(PetscMalloc1(np, &next));
  /* counts per (panel, row), then the start of each panel's rows */
  for (PetscInt i = 0; i < rows; i++)
    for (PetscInt t = A->ia[i]; t < A->ia[i + 1]; t++) P->ia[(size_t)(A->ja[t] / P->cw) * (rows + 1) + i + 1]++;
  for (PetscInt q = 0, base = 0; q < np; q++) {
    PetscInt *iq = P->ia + (size_t)q * (rows + 1);
    iq[0]        = base;
    for (PetscInt i = 0; i < rows; i++) iq[i + 1] += iq[i];
    base = iq[rows];
  }
  for (PetscInt i = 0; i < rows; i++) {
    for (PetscInt q = 0; q < np; q++) next[q] = P->ia[(size_t)q * (rows + 1) + i];
    for (PetscInt t = A->ia[i]; t < A->ia[i + 1]; t++) P->ja[next[A->ja[t] / P->cw]++] = A->ja[t];
  }
  PetscCall(PetscFree(next));
  for (PetscInt q = 0; q < np; q++) {
    P->view[q].n        = A->n;
    P->view[q].prefetch = PETSC_TRUE;
    P->view[q].ia       = P->ia + (size_t)q * (rows + 1);
    P->view[q].ja       = P->ja;
    P->view[q].va       = P->va;
  }
  P->version = -1; /* values not copied yet */
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The values in panel order again if the network's values changed since
   (TnNetGetParamVersion: TnNetSetParams, TnNetParamsUpdated and the rules'
   TnNetWeightsUpdated move it on). */
PetscErrorCode TnPanelsUpdate(TnDyn dyn, const TnCSR *A, TnPanels *P)
{
  PetscInt64 version;
  PetscInt  *next;
  PetscFunctionBeginUser;
  if (P->np <= 1) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnNetGetParamVersion(dyn->net, &version));
  if (version == P->version) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscMalloc1(P->np, &next));
  for (PetscInt i = 0; i < P->rows; i++) {
    for (PetscInt q = 0; q < P->np; q++) next[q] = P->ia[(size_t)q * (P->rows + 1) + i];
    for (PetscInt t = A->ia[i]; t < A->ia[i + 1]; t++) P->va[next[A->ja[t] / P->cw]++] = A->va[t];
  }
  PetscCall(PetscFree(next));
  P->version = version;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnPanelsDestroy(TnPanels *P)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(P->ia));
  PetscCall(TnMemoryFreeAligned(&P->ja));
  PetscCall(TnMemoryFreeAligned(&P->va));
  PetscCall(PetscFree(P->view));
  P->np = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Software prefetch of the batched gathers pays when the columns are
   scattered (a random graph: er k = 32, N = 2.5e5, B = 16: 200 -> 135 ms per
   step) and costs when they are local, which the hardware prefetcher already
   follows (lattice2d N = 10^6, B = 16: 65 -> 77 ms). Scattered: fewer than
   half of the on-process synapses within 64 rows of their row. */
static PetscErrorCode ChoosePrefetch(TnDyn dyn)
{
  PetscFunctionBeginUser;
  dyn->d.prefetch = TnColumnsScattered(dyn->m, dyn->d.ia, dyn->d.ja);
  PetscCall(PetscInfo(NULL, "gather prefetch %s (%" PetscInt_FMT " on-process synapses)\n", dyn->d.prefetch ? "on" : "off", dyn->d.n));
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
  dyn->noff  = 0; /* the rows with off-process synapses: counted, then listed */
  for (PetscInt i = 0; i < dyn->m; i++) dyn->noff += dyn->o.ia[i + 1] > dyn->o.ia[i];
  PetscCall(PetscMalloc1(dyn->noff + 1, &dyn->offrows));
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
  PetscCall(TnMemoryAllocAligned(sizeof(PetscScalar) * ((size_t)dyn->m * B + 1), &dyn->pbuf)); /* gathered from: rows on cache lines, huge pages before the first touch */
  PetscCall(PetscArrayzero(dyn->pbuf, (size_t)dyn->m * B));
  PetscCall(VecCreateMPIWithArray(dyn->comm, B, dyn->m * B, PETSC_DECIDE, dyn->pbuf, &dyn->P));
  PetscCall(TnMemoryAllocAligned(sizeof(PetscScalar) * ((size_t)dyn->nghost * B + 1), &dyn->gbuf)); /* gathered from by Ao's rows */
  PetscCall(TnNetCreateHalo(dyn->net, dyn->P, B, dyn->gbuf, &dyn->G, &dyn->halo));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* natural order (default split of N nodes, B per node) <-> partitioned:
   the network's move (TnNetNaturalMove), which keeps 4 bytes a node and
   none when the orders are the same. */
static PetscErrorCode SetUpNatural(TnDyn dyn)
{
  PetscInt N, n = PETSC_DECIDE;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetSizes(dyn->net, &N, NULL));
  PetscCall(PetscSplitOwnership(dyn->comm, &n, &N));
  /* xnat is the layout's template only (TnDynCreateNaturalState duplicates
     it): no array */
  PetscCall(VecCreateMPIWithArray(dyn->comm, dyn->B, n * dyn->B, N * dyn->B, NULL, &dyn->xnat));
  PetscCall(TnNetNaturalMapSetUp(dyn->net));
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
  PetscCall(TnMemoryTrace(dyn->comm, "dyn: halo"));
  PetscCall(SetUpNatural(dyn));
  PetscCall(TnMemoryTrace(dyn->comm, "dyn: natural-order map"));
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
  PetscCall(TnMemoryTrace(dyn->comm, "dyn: set up"));
  PetscFunctionReturn(PETSC_SUCCESS);
}
