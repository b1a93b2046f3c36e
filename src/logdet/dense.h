/* Private to the dense log-det method (dense_scalapack.c, dense_layout.c):
   J is copied into a 2-D block-cyclic dense array on a Pr x Pc BLACS grid
   (block nb x nb; block (I, J) lives on process (I mod Pr, J mod Pc), stored
   column-major with leading dimension lld = max(1, rows held)) and factored
   by pdgetrf, or by LAPACK dgetrf when the communicator has one process. */
#pragma once
#include "logdetimpl.h"
#include <stdint.h>

/* ScaLAPACK and BLACS have no C header in Debian: Fortran routines take
   every argument by pointer, 32-bit integers. */
void Cblacs_pinfo(int *mypnum, int *nprocs);
void Cblacs_get(int icontxt, int what, int *val);
void Cblacs_gridinit(int *icontxt, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int icontxt, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int icontxt);
int  Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
int  numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb, const int *irsrc, const int *icsrc, const int *ictxt, const int *lld, int *info);
int  indxl2g_(const int *indxloc, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
void pdgetrf_(const int *m, const int *n, double *a, const int *ia, const int *ja, const int *desca, int *ipiv, int *info);

typedef struct {
  /* options: grid rows x columns (0: near-square automatic), block size,
     memory per node the method may plan with (0: 90% of MemAvailable) */
  PetscInt  opt_pr, opt_pc, nb;
  PetscReal memory_limit;
  /* the grid, built once from J's communicator */
  MPI_Comm    comm, nodecomm; /* nodecomm: the ranks sharing this node's memory */
  PetscMPIInt rank, size;
  int         handle, ctxt, nprow, npcol, myrow, mycol;
  PetscBool   grid;
  /* the local array, reused while N is unchanged */
  PetscInt N;
  int      mloc, nloc, desc[9], *lld; /* lld[p]: leading dimension on process row p */
  double  *A;
  int     *ipiv;
  /* Alltoallv placement: per-destination counts and offsets (in entries) */
  int *scount, *sdispl, *rcount, *rdispl;
  /* seconds of the last computation on this rank: placement, factorisation */
  double t_place, t_factor;
} TnDense;

/* One entry of J on its way to its owner: column-major local index there. */
typedef struct {
  int64_t idx;
  double  v;
} TnDenseEntry;

/* Owner rank (grid order "Row": rank = prow * Pc + pcol) of entry (i, j),
   0-based, and its index in the owner's local array. */
static inline void TnDenseLocate(const TnDense *d, PetscInt i, PetscInt j, PetscMPIInt *owner, int64_t *idx)
{
  PetscInt bi = i / d->nb, bj = j / d->nb;
  int      pi = (int)(bi % d->nprow), pj = (int)(bj % d->npcol);
  int64_t  li = (int64_t)(bi / d->nprow) * d->nb + i % d->nb;
  int64_t  lj = (int64_t)(bj / d->npcol) * d->nb + j % d->nb;
  *owner      = pi * d->npcol + pj;
  *idx        = li + lj * d->lld[pi];
}

/* dense_layout.c */
PetscErrorCode TnDenseLayoutSetUp(TnDense *d, PetscInt N);
PetscErrorCode TnDenseLayoutReset(TnDense *d);
PetscErrorCode TnDenseCount(TnDense *d, Mat J, int64_t *nsend, int64_t *nrecv);
PetscErrorCode TnDenseCheckMemory(TnDense *d, PetscInt N, int64_t nsend, int64_t nrecv);
PetscErrorCode TnDensePlace(TnDense *d, Mat J, int64_t nsend, int64_t nrecv);

/* For the benchmark: seconds of the last TnLogDetCompute of a dense TnLogDet,
   max over ranks: the Alltoallv placement and the LU factorisation.
   Collective. */
PetscErrorCode TnLogDetDenseGetTimes(TnLogDet ld, double *t_place, double *t_factor);
