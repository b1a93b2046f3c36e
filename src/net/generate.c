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

/* Row i's sorted, unique columns and their weights. */
static PetscErrorCode RowOf(TnNet net, TnNetRowFn rowfn, PetscInt N, PetscInt row, PetscInt maxcols, PetscInt *cols, PetscScalar *vals, PetscInt *nc)
{
  PetscFunctionBeginUser;
  PetscCall(rowfn(net, row, cols, nc));
  PetscAssert(*nc <= maxcols, PETSC_COMM_SELF, PETSC_ERR_PLIB, "row %" PetscInt_FMT " has %" PetscInt_FMT " > %" PetscInt_FMT " columns", row, *nc, maxcols);
  SortUnique(cols, nc);
  if (vals)
    for (PetscInt t = 0; t < *nc; t++) {
      PetscReal u = sqrt(3.0) * (2.0 * TnRandUniform((uint64_t)net->seed, 1, (uint64_t)row * (uint64_t)N + (uint64_t)cols[t]) - 1.0);
      vals[t]     = net->scale * u / sqrt((double)PetscMax(*nc, 1));
    }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Two passes over the local rows: count the on- and off-process entries,
   then write each row's columns and weights straight into the network's
   parameter storage (TnNetAllocStorage: the on-process block's columns
   numbered from the rank's first row, the off-process block's global), on
   which W is built without a copy (MatCreateMPIAIJWithSplitArrays). Peak
   memory is W itself, and TnNetAdoptStorage has nothing to copy when the
   rows stay where they are. */
PetscErrorCode TnNetBuildFromRows(TnNet net, PetscInt N, PetscInt maxcols, TnNetRowFn rowfn, Mat *W)
{
  PetscInt     m = PETSC_DECIDE, rstart, rend, *cols, nd = 0, no = 0, td = 0, to = 0;
  PetscScalar *vals;
  PetscFunctionBeginUser;
  PetscCall(PetscSplitOwnership(net->comm, &m, &N));
  PetscCallMPI(MPI_Scan(&m, &rend, 1, MPIU_INT, MPI_SUM, net->comm));
  rstart = rend - m;
  PetscCall(PetscMalloc2(maxcols, &cols, maxcols, &vals));
  for (PetscInt i = 0; i < m; i++) {
    PetscInt nc;
    PetscCall(RowOf(net, rowfn, N, rstart + i, maxcols, cols, NULL, &nc));
    for (PetscInt t = 0; t < nc; t++) {
      if (cols[t] >= rstart && cols[t] < rend)
        nd++;
      else
        no++;
    }
  }
  PetscCall(TnNetFreeStorage(net));
  PetscCall(TnNetAllocStorage(net, m, nd, no));
  net->pia[0] = net->poia[0] = 0;
  for (PetscInt i = 0; i < m; i++) {
    PetscInt nc;
    PetscCall(RowOf(net, rowfn, N, rstart + i, maxcols, cols, vals, &nc));
    for (PetscInt t = 0; t < nc; t++) { /* ascending columns: each block's stay ascending */
      if (cols[t] >= rstart && cols[t] < rend) {
        net->pja[td]     = cols[t] - rstart;
        net->param[td++] = vals[t];
      } else {
        net->poja[to]         = cols[t];
        net->param[nd + to++] = vals[t];
      }
    }
    net->pia[i + 1]  = td;
    net->poia[i + 1] = to;
  }
  PetscCall(PetscFree2(cols, vals));
  PetscCall(MatCreateMPIAIJWithSplitArrays(net->comm, m, m, N, N, net->pia, net->pja, net->param, net->poia, net->poja, net->param + nd, W));
  PetscFunctionReturn(PETSC_SUCCESS);
}
