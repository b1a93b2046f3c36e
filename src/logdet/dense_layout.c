/* The dense method's data movement: J, in PETSc's row blocks (any row
   layout), goes straight into the 2-D block-cyclic local arrays of the grid
   without gathering it anywhere. Each rank walks its rows twice: once to
   count the entries each owner gets (one MPI_Alltoall of the counts), once
   to pack (local index, value) pairs (one MPI_Alltoallv); entries it owns
   itself are written directly. Memory: 8 N^2/P bytes per rank for the array,
   16 bytes per moved entry while it moves; checked before allocating. */
#include "dense.h"
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

/* Owner rank of entry (i, j), 0-based (see TnDenseLocate). */
static inline PetscMPIInt Owner(const TnDense *d, PetscInt i, PetscInt j)
{
  return (PetscMPIInt)(((i / d->nb) % d->nprow) * d->npcol + (j / d->nb) % d->npcol);
}

/* The geometry of the local array for order N: rows (numroc) and columns held
   here, lld on every process row, and the ScaLAPACK descriptor. The array
   itself is allocated by TnDensePlace after the memory check. */
PetscErrorCode TnDenseLayoutSetUp(TnDense *d, PetscInt N)
{
  int n = (int)N, nb = (int)d->nb, zero = 0, info = 0;
  PetscFunctionBeginUser;
  if (N == d->N) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnDenseLayoutReset(d));
  PetscCheck(N <= INT_MAX, d->comm, PETSC_ERR_SUP, "dense log-det: N = %" PetscInt_FMT " exceeds ScaLAPACK's 32-bit indices", N);
  PetscCall(PetscMalloc1(d->nprow, &d->lld));
  for (int p = 0; p < d->nprow; p++) d->lld[p] = PetscMax(1, numroc_(&n, &nb, &p, &zero, &d->nprow));
  d->mloc = numroc_(&n, &nb, &d->myrow, &zero, &d->nprow);
  d->nloc = numroc_(&n, &nb, &d->mycol, &zero, &d->npcol);
  if (d->size > 1) descinit_(d->desc, &n, &n, &nb, &nb, &zero, &zero, &d->ctxt, &d->lld[d->myrow], &info);
  PetscCall(TnErrorSync(d->comm, (PetscBool)(info != 0), "dense log-det: descinit failed (internal error: inconsistent block-cyclic layout)"));
  d->N = N;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDenseLayoutReset(TnDense *d)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(d->A));
  PetscCall(PetscFree(d->ipiv));
  PetscCall(PetscFree(d->lld));
  d->N = -1;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Bytes of the local array and the pivots on this rank. */
static double ArrayBytes(const TnDense *d)
{
  return 8.0 * d->lld[d->myrow] * PetscMax(d->nloc, 1) + 4.0 * (d->mloc + d->nb);
}

/* Per-destination counts of the entries this rank sends (its own stay), the
   counts it receives, and the Alltoallv offsets. Collective. */
PetscErrorCode TnDenseCount(TnDense *d, Mat J, int64_t *nsend, int64_t *nrecv)
{
  int64_t  *c;
  PetscInt  rs, re;
  PetscBool big = PETSC_FALSE;
  PetscFunctionBeginUser;
  PetscCall(PetscCalloc1(d->size, &c));
  PetscCall(MatGetOwnershipRange(J, &rs, &re));
  for (PetscInt i = rs; i < re; i++) {
    const PetscInt *cols;
    PetscInt        nc;
    PetscCall(MatGetRow(J, i, &nc, &cols, NULL));
    for (PetscInt k = 0; k < nc; k++) c[Owner(d, i, cols[k])]++;
    PetscCall(MatRestoreRow(J, i, &nc, &cols, NULL));
  }
  c[d->rank] = 0;
  *nsend     = 0;
  for (PetscMPIInt p = 0; p < d->size; p++) {
    big          = (PetscBool)(big || c[p] > INT_MAX);
    d->scount[p] = (int)PetscMin(c[p], INT_MAX);
    d->sdispl[p] = (int)PetscMin(*nsend, INT_MAX);
    *nsend += c[p];
    big = (PetscBool)(big || *nsend > INT_MAX);
  }
  PetscCall(PetscFree(c));
  PetscCall(TnErrorSync(d->comm, big, "dense log-det: more than 2^31 entries of J move from one rank; use more ranks"));
  PetscCallMPI(MPI_Alltoall(d->scount, 1, MPI_INT, d->rcount, 1, MPI_INT, d->comm));
  *nrecv = 0;
  for (PetscMPIInt p = 0; p < d->size; p++) {
    d->rdispl[p] = (int)PetscMin(*nrecv, INT_MAX);
    *nrecv += d->rcount[p];
  }
  PetscCall(TnErrorSync(d->comm, (PetscBool)(*nrecv > INT_MAX), "dense log-det: more than 2^31 entries of J move to one rank; use more ranks"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Bytes this node may use: -logdet_dense_memory_limit, else what
   TnMemoryNodeAvailable says (-memory_limit, or 90% of MemAvailable). */
static double NodeMemory(const TnDense *d)
{
  if (d->memory_limit > 0) return d->memory_limit;
  return TnMemoryNodeAvailable();
}

/* Refuses, collectively and before allocating, when the ranks of some node
   together need more than that node's memory: the local arrays (8 N^2/P
   bytes per rank, if not yet allocated) plus the placement buffers. Names
   the largest N whose arrays fit: 8 N^2 r/P <= memory of a node with r ranks. */
PetscErrorCode TnDenseCheckMemory(TnDense *d, PetscInt N, int64_t nsend, int64_t nrecv)
{
  double      need = (d->A ? 0.0 : ArrayBytes(d)) + (double)sizeof(TnDenseEntry) * (double)(nsend + nrecv), avail = NodeMemory(d), nfit;
  PetscMPIInt rn;
  char        msg[512];
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &need, 1, MPI_DOUBLE, MPI_SUM, d->nodecomm));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &avail, 1, MPI_DOUBLE, MPI_MIN, d->nodecomm));
  PetscCallMPI(MPI_Comm_size(d->nodecomm, &rn));
  nfit = floor(sqrt(avail * d->size / (8.0 * rn)));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &nfit, 1, MPI_DOUBLE, MPI_MIN, d->comm));
  PetscCall(PetscSNPrintf(msg, sizeof(msg),
                          "dense log-det of N = %" PetscInt_FMT " needs %.4g GB on a node with %d rank(s) (8 N^2/P bytes per rank, P = %d, plus transfer buffers) but %.4g GB is available there%s; the largest N that fits is about %.0f: use more nodes, or -logdet_type sparse or slq",
                          N, need / 1e9, rn, d->size, avail / 1e9, d->memory_limit > 0 ? " (-logdet_dense_memory_limit)" : " (-memory_limit, or 90% of MemAvailable)", nfit));
  PetscCall(TnErrorSync(d->comm, (PetscBool)(need > avail), msg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Zeroes the local array (allocating it on first use) and fills it with J:
   own entries directly, the others by one MPI_Alltoallv of (index, value)
   pairs. Collective. */
PetscErrorCode TnDensePlace(TnDense *d, Mat J, int64_t nsend, int64_t nrecv)
{
  size_t        len = (size_t)d->lld[d->myrow] * (size_t)PetscMax(d->nloc, 1);
  TnDenseEntry *sbuf, *rbuf;
  int          *next;
  PetscInt      rs, re;
  MPI_Datatype  type;
  PetscFunctionBeginUser;
  if (!d->A) {
    PetscCall(PetscMalloc1(len, &d->A));
    PetscCall(PetscMalloc1(d->mloc + d->nb, &d->ipiv));
  }
  PetscCall(PetscArrayzero(d->A, len));
  PetscCall(PetscMalloc3(nsend, &sbuf, nrecv, &rbuf, d->size, &next));
  PetscCall(PetscArraycpy(next, d->sdispl, d->size));
  PetscCall(MatGetOwnershipRange(J, &rs, &re));
  for (PetscInt i = rs; i < re; i++) {
    const PetscInt    *cols;
    const PetscScalar *vals;
    PetscInt           nc;
    PetscCall(MatGetRow(J, i, &nc, &cols, &vals));
    for (PetscInt k = 0; k < nc; k++) {
      PetscMPIInt owner;
      int64_t     idx;
      TnDenseLocate(d, i, cols[k], &owner, &idx);
      if (owner == d->rank)
        d->A[idx] = vals[k];
      else
        sbuf[next[owner]++] = (TnDenseEntry){idx, vals[k]};
    }
    PetscCall(MatRestoreRow(J, i, &nc, &cols, &vals));
  }
  PetscCallMPI(MPI_Type_contiguous((int)sizeof(TnDenseEntry), MPI_BYTE, &type));
  PetscCallMPI(MPI_Type_commit(&type));
  PetscCallMPI(MPI_Alltoallv(sbuf, d->scount, d->sdispl, type, rbuf, d->rcount, d->rdispl, type, d->comm));
  PetscCallMPI(MPI_Type_free(&type));
  for (int64_t e = 0; e < nrecv; e++) d->A[rbuf[e].idx] = rbuf[e].v;
  PetscCall(PetscFree3(sbuf, rbuf, next));
  PetscFunctionReturn(PETSC_SUCCESS);
}
