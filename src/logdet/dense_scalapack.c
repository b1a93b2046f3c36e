/* dense: log|det J| from the LU factorisation P J = L U of the whole matrix,
   distributed over a BLACS process grid (ScaLAPACK pdgetrf; LAPACK dgetrf on
   one process):
     log|det J| = sum_g log|U_gg|,  sign = (-1)^(row swaps) prod_g sign(U_gg).
   Exact for any step Jacobian (docs/model.md section 3); O(N^3/P) time and
   8 N^2/P bytes per rank. The grid is built once from J's communicator;
   the local array is reused while N is unchanged. Options -logdet_dense_*. */
#include "dense.h"
#include <petscblaslapack.h>
#include <math.h>
#include <stdio.h>

/* The pivots are ScaLAPACK's 32-bit integers on both paths. */
_Static_assert(sizeof(PetscBLASInt) == sizeof(int), "tenor's dense log-det needs 32-bit BLAS integers");

/* Near-square grid: Pr the largest divisor of P with Pr <= sqrt(P), Pc = P/Pr. */
static void AutoGrid(int P, int *pr, int *pc)
{
  *pr = 1;
  for (int r = 1; r * r <= P; r++)
    if (P % r == 0) *pr = r;
  *pc = P / *pr;
}

static PetscErrorCode GridReset(TnDense *d)
{
  PetscFunctionBeginUser;
  PetscCall(TnDenseLayoutReset(d));
  if (d->grid && d->size > 1) {
    Cblacs_gridexit(d->ctxt); /* never Cblacs_exit: that would end MPI */
    Cfree_blacs_system_handle(d->handle);
  }
  if (d->grid) PetscCallMPI(MPI_Comm_free(&d->nodecomm));
  if (d->grid) PetscCall(PetscCommDestroy(&d->comm));
  PetscCall(PetscFree4(d->scount, d->sdispl, d->rcount, d->rdispl));
  d->grid = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* BLACS grid "Row" on comm: process (r, c) is rank r Pc + c of comm. */
static PetscErrorCode GridInit(TnDense *d)
{
  int me, np, bad;
  PetscFunctionBeginUser;
  Cblacs_pinfo(&me, &np);
  d->handle = Csys2blacs_handle(d->comm);
  d->ctxt   = d->handle;
  Cblacs_gridinit(&d->ctxt, "Row", d->nprow, d->npcol);
  Cblacs_gridinfo(d->ctxt, &np, &me, &d->myrow, &d->mycol);
  bad = np != d->nprow || me != d->npcol || d->myrow * d->npcol + d->mycol != d->rank;
  PetscCall(TnErrorSync(d->comm, (PetscBool)bad, "dense log-det: the BLACS grid does not map process (r, c) to rank r*Pc + c (internal error)"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Builds the grid on comm (J's, a PETSc inner communicator) unless it is
   already built there. Collective. */
static PetscErrorCode GridSetUp(TnDense *d, MPI_Comm comm)
{
  PetscMPIInt cmp = MPI_UNEQUAL;
  PetscFunctionBeginUser;
  if (d->grid) PetscCallMPI(MPI_Comm_compare(d->comm, comm, &cmp));
  if (d->grid && cmp == MPI_IDENT) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(GridReset(d));
  PetscCallMPI(MPI_Comm_size(comm, &d->size));
  if (d->opt_pr > 0) {
    PetscCheck(d->opt_pr * d->opt_pc == d->size, comm, PETSC_ERR_USER, "-logdet_dense_grid %" PetscInt_FMT "x%" PetscInt_FMT " has %" PetscInt_FMT " processes but the run has %d: choose P x Q = %d", d->opt_pr, d->opt_pc, d->opt_pr * d->opt_pc, d->size, d->size);
    d->nprow = (int)d->opt_pr;
    d->npcol = (int)d->opt_pc;
  } else
    AutoGrid(d->size, &d->nprow, &d->npcol);
  PetscCall(PetscCommDuplicate(comm, &d->comm, NULL)); /* a reference: J's communicator may go with J */
  PetscCallMPI(MPI_Comm_rank(d->comm, &d->rank));
  d->myrow = d->mycol = 0;
  if (d->size > 1) PetscCall(GridInit(d));
  PetscCallMPI(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, d->rank, MPI_INFO_NULL, &d->nodecomm));
  PetscCall(PetscMalloc4(d->size, &d->scount, d->size, &d->sdispl, d->size, &d->rcount, d->size, &d->rdispl));
  d->grid = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* In-place LU of the local array: pdgetrf, or dgetrf on one process. INFO > 0
   (an exactly zero U_gg) is a singular J, reported by the diagonal scan. */
static PetscErrorCode Factor(TnDense *d)
{
  int  n = (int)d->N, one = 1, info = 0;
  char msg[128];
  PetscFunctionBeginUser;
  if (d->size == 1) {
    PetscBLASInt bn = (PetscBLASInt)d->N, lda = (PetscBLASInt)d->lld[0], binfo = 0;
    PetscCallBLAS("LAPACKgetrf", LAPACKgetrf_(&bn, &bn, d->A, &lda, (PetscBLASInt *)d->ipiv, &binfo));
    info = (int)binfo;
  } else
    pdgetrf_(&n, &n, d->A, &one, &one, d->desc, d->ipiv, &info);
  PetscCall(PetscSNPrintf(msg, sizeof(msg), "dense log-det: %s argument %d had an illegal value (internal error)", d->size == 1 ? "dgetrf" : "pdgetrf", -info));
  PetscCall(TnErrorSync(d->comm, (PetscBool)(info < 0), msg));
  PetscCall(PetscLogFlops(2.0 / 3.0 * (double)d->N * (double)d->N * (double)d->N / d->size));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* s[0] = sum log|U_gg| over the diagonal entries held here, s[1] = row swaps
   (counted on process column 0, where IPIV, replicated across process
   columns, holds global 1-based pivot rows for the local rows) plus the
   negative U_gg, s[2] = zero U_gg; summed over ranks. */
static PetscErrorCode Diagonal(TnDense *d, TnLogDetResult *res)
{
  PetscReal s[3] = {0, 0, 0};
  int       nb = (int)d->nb, zero = 0;
  PetscFunctionBeginUser;
  for (int li = 0; li < d->mloc; li++) {
    int g  = li + 1;
    int gr = indxl2g_(&g, &nb, &d->myrow, &zero, &d->nprow) - 1; /* global row, 0-based */
    if (d->mycol == 0 && d->ipiv[li] != gr + 1) s[1] += 1;
    if ((gr / nb) % d->npcol == d->mycol) {
      PetscMPIInt owner;
      int64_t     idx;
      double      u;
      TnDenseLocate(d, gr, gr, &owner, &idx);
      u = d->A[idx];
      if (u == 0)
        s[2] += 1;
      else {
        s[0] += log(fabs(u));
        s[1] += u < 0;
      }
    }
  }
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, s, 3, MPIU_REAL, MPIU_SUM, d->comm));
  res->logabs = s[2] > 0 ? -INFINITY : s[0];
  res->sign   = s[2] > 0 ? 0.0 : (fmod(s[1], 2.0) == 0 ? 1.0 : -1.0);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Compute_Dense(TnLogDet ld, Mat J, TnLogDetResult *res)
{
  TnDense *d = (TnDense *)ld->data;
  MPI_Comm comm;
  PetscInt N;
  int64_t  nsend, nrecv;
  double   t0, t1;
  PetscFunctionBeginUser;
  PetscCall(PetscObjectGetComm((PetscObject)J, &comm));
  PetscCall(MatGetSize(J, &N, NULL));
  PetscCall(GridSetUp(d, comm));
  PetscCall(TnDenseLayoutSetUp(d, N));
  t0 = MPI_Wtime();
  PetscCall(TnDenseCount(d, J, &nsend, &nrecv));
  PetscCall(TnDenseCheckMemory(d, N, nsend, nrecv));
  PetscCall(TnDensePlace(d, J, nsend, nrecv));
  t1 = MPI_Wtime();
  PetscCall(Factor(d));
  d->t_place  = t1 - t0;
  d->t_factor = MPI_Wtime() - t1;
  PetscCall(Diagonal(d, res));
  res->memory = 8.0 * (double)N * (double)N;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnLogDetDenseGetTimes(TnLogDet ld, double *t_place, double *t_factor)
{
  TnDense *d = (TnDense *)ld->data;
  double   t[2];
  PetscFunctionBeginUser;
  PetscCheck(ld->type == TN_LOGDET_DENSE && d->grid, ld->comm, PETSC_ERR_ORDER, "times of a dense log-det that has computed nothing");
  t[0] = d->t_place;
  t[1] = d->t_factor;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, t, 2, MPI_DOUBLE, MPI_MAX, d->comm));
  *t_place  = t[0];
  *t_factor = t[1];
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* "PxQ" -> (P, Q), both positive; "auto" -> (0, 0), near-square. */
static PetscErrorCode ParseGrid(MPI_Comm comm, const char s[], PetscInt *pr, PetscInt *pc)
{
  int       p = 0, q = 0;
  PetscBool isauto;
  PetscFunctionBeginUser;
  PetscCall(PetscStrcmp(s, "auto", &isauto));
  if (isauto) {
    *pr = *pc = 0;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCheck(sscanf(s, "%dx%d", &p, &q) == 2 && p > 0 && q > 0, comm, PETSC_ERR_USER, "-logdet_dense_grid %s: expected PxQ with P, Q >= 1 (e.g. 2x4)", s);
  *pr = p;
  *pc = q;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode SetFromOptions_Dense(TnLogDet ld)
{
  TnDense  *d = (TnDense *)ld->data;
  char      grid[64];
  PetscBool set;
  PetscFunctionBeginUser;
  PetscCall(GridReset(d));
  if (d->opt_pr > 0)
    PetscCall(PetscSNPrintf(grid, sizeof(grid), "%" PetscInt_FMT "x%" PetscInt_FMT, d->opt_pr, d->opt_pc));
  else
    PetscCall(PetscStrncpy(grid, "auto", sizeof(grid)));
  PetscOptionsBegin(ld->comm, "logdet_", "Dense log-det: LU on a ScaLAPACK process grid (docs/model.md section 3)", "TnLogDet");
  PetscCall(PetscOptionsString("-dense_grid", "Process grid PxQ with P*Q = ranks, or auto (near-square)", "", grid, grid, sizeof(grid), &set));
  if (set) PetscCall(ParseGrid(ld->comm, grid, &d->opt_pr, &d->opt_pc));
  PetscCall(TnOptionsInt("-dense_nb", "Block size of the block-cyclic layout", "", d->nb, &d->nb, NULL, 1, PETSC_MAX_INT));
  PetscCall(TnOptionsReal("-dense_memory_limit", "Bytes per node the method may use (default: 90% of MemAvailable)", "", d->memory_limit, &d->memory_limit, NULL, 0, PETSC_MAX_REAL));
  PetscOptionsEnd();
  PetscCheck(d->nb >= 1, ld->comm, PETSC_ERR_USER, "-logdet_dense_nb %" PetscInt_FMT ": the block size must be >= 1", d->nb);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode View_Dense(TnLogDet ld, PetscViewer viewer)
{
  TnDense *d = (TnDense *)ld->data;
  PetscFunctionBeginUser;
  if (d->grid && d->size == 1)
    PetscCall(PetscViewerASCIIPrintf(viewer, "  LAPACK dgetrf on one process\n"));
  else if (d->grid)
    PetscCall(PetscViewerASCIIPrintf(viewer, "  ScaLAPACK pdgetrf on a %d x %d process grid, block size nb = %" PetscInt_FMT "\n", d->nprow, d->npcol, d->nb));
  else if (d->opt_pr > 0)
    PetscCall(PetscViewerASCIIPrintf(viewer, "  process grid %" PetscInt_FMT " x %" PetscInt_FMT " (set at the first computation), block size nb = %" PetscInt_FMT "\n", d->opt_pr, d->opt_pc, d->nb));
  else
    PetscCall(PetscViewerASCIIPrintf(viewer, "  process grid: near-square (set at the first computation), block size nb = %" PetscInt_FMT "\n", d->nb));
  if (d->grid && d->N >= 0) PetscCall(PetscViewerASCIIPrintf(viewer, "  N = %" PetscInt_FMT ": %.4g GB of dense storage over all ranks\n", d->N, 8e-9 * (double)d->N * (double)d->N));
  if (d->memory_limit > 0) PetscCall(PetscViewerASCIIPrintf(viewer, "  memory limit per node: %.4g GB\n", d->memory_limit / 1e9));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Destroy_Dense(TnLogDet ld)
{
  PetscFunctionBeginUser;
  PetscCall(GridReset((TnDense *)ld->data));
  PetscCall(PetscFree(ld->data));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnLogDetCreate_Dense(TnLogDet ld)
{
  TnDense *d;
  PetscFunctionBeginUser;
  PetscCall(PetscNew(&d));
  d->nb                  = 64;
  d->N                   = -1;
  ld->data               = d;
  ld->ops.setfromoptions = SetFromOptions_Dense;
  ld->ops.compute        = Compute_Dense;
  ld->ops.view           = View_Dense;
  ld->ops.destroy        = Destroy_Dense;
  PetscFunctionReturn(PETSC_SUCCESS);
}
