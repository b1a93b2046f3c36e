/* Builds W from a generator's per-row column lists. Invariant: row i's
   columns and weights depend only on (seed, i), so W is the same matrix for
   every number of ranks. W_ij = scale * u_ij / sqrt(k_i) with u_ij uniform on
   [-sqrt 3, sqrt 3] (unit variance): the spectral radius of W is about scale. */
#include "netimpl.h"
#include <math.h>

static int CmpInt(const void *a, const void *b)
{
  PetscInt x = *(const PetscInt *)a, y = *(const PetscInt *)b;
  return (x > y) - (x < y);
}

/* Sorts cols[0..*n) and removes duplicates in place. */
static void SortUnique(PetscInt *cols, PetscInt *n)
{
  PetscInt m = 0;
  qsort(cols, (size_t)*n, sizeof(PetscInt), CmpInt);
  for (PetscInt t = 0; t < *n; t++)
    if (m == 0 || cols[m - 1] != cols[t]) cols[m++] = cols[t];
  *n = m;
}

PetscErrorCode TnNetBuildFromRows(TnNet net, PetscInt N, PetscInt maxcols, TnNetRowFn rowfn, Mat *W)
{
  PetscInt     m = PETSC_DECIDE, rstart, *ia, *ja, nz = 0, *cols;
  PetscScalar *va;
  PetscFunctionBeginUser;
  PetscCall(PetscSplitOwnership(net->comm, &m, &N));
  PetscCallMPI(MPI_Scan(&m, &rstart, 1, MPIU_INT, MPI_SUM, net->comm));
  rstart -= m;
  PetscCall(PetscMalloc1(maxcols, &cols));
  PetscCall(PetscMalloc1(m + 1, &ia));
  PetscCall(PetscMalloc1((size_t)m * maxcols, &ja));
  PetscCall(PetscMalloc1((size_t)m * maxcols, &va));
  ia[0] = 0;
  for (PetscInt i = 0; i < m; i++) {
    PetscInt row = rstart + i, nc = 0;
    PetscCall(rowfn(net, row, cols, &nc));
    PetscAssert(nc <= maxcols, PETSC_COMM_SELF, PETSC_ERR_PLIB, "row %" PetscInt_FMT " has %" PetscInt_FMT " > %" PetscInt_FMT " columns", row, nc, maxcols);
    SortUnique(cols, &nc);
    for (PetscInt t = 0; t < nc; t++) {
      PetscReal u = sqrt(3.0) * (2.0 * TnRandUniform((uint64_t)net->seed, 1, (uint64_t)row * (uint64_t)N + (uint64_t)cols[t]) - 1.0);
      ja[nz]      = cols[t];
      va[nz++]    = net->scale * u / sqrt((double)PetscMax(nc, 1));
    }
    ia[i + 1] = nz;
  }
  PetscCall(MatCreateMPIAIJWithArrays(net->comm, m, m, N, N, ia, ja, va, W));
  PetscCall(PetscFree(cols));
  PetscCall(PetscFree(ia));
  PetscCall(PetscFree(ja));
  PetscCall(PetscFree(va));
  PetscFunctionReturn(PETSC_SUCCESS);
}
