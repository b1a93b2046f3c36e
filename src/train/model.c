/* Loading a saved model (or a checkpoint) into a net, a dynamics object and
   a data set. The file is self-contained: W is rebuilt from the stored
   pattern (row, col >= 0) and values, b from col = -1, gamma = e^u from
   col = -2 (the same e^u the trainer used), in natural order with PETSc's
   default row split; the net then partitions it as its options say. The
   dynamics take every setting the file stores; whether the command line
   overrides them is the front end's decision (src/cli/model.c), not this
   file's: nothing here reads the options database. */
#include "trainimpl.h"
#include <tenor/io.h>
#include <petscviewerhdf5.h>
#include <string.h>

static PetscErrorCode OpenModel(MPI_Comm comm, const char path[], PetscViewer *vw)
{
  PetscBool exists;
  char      fmt[64];
  PetscFunctionBeginUser;
  PetscCall(PetscTestFile(path, 'r', &exists));
  PetscCheck(exists, comm, PETSC_ERR_FILE_OPEN, "cannot read the model file %s (-model)", path);
  PetscCall(PetscViewerHDF5Open(comm, path, FILE_MODE_READ, vw));
  PetscCall(TnH5GetStr(*vw, path, "format", fmt, sizeof(fmt)));
  PetscCheck(!strcmp(fmt, "tenor-model") || !strcmp(fmt, "tenor-checkpoint"), comm, PETSC_ERR_USER, "%s is a '%s' file, not a tenor model", path, fmt);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode ReadSize(PetscViewer vw, const char path[], const char name[], PetscInt64 *v)
{
  PetscFunctionBeginUser;
  PetscCall(TnH5GetInt(vw, path, name, 0, PETSC_MAX_INT, v));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode LoadNamed(MPI_Comm comm, PetscViewer vw, const char name[], PetscInt n, Vec *v)
{
  PetscFunctionBeginUser;
  PetscCall(VecCreateMPI(comm, PETSC_DECIDE, n, v));
  PetscCall(PetscObjectSetName((PetscObject)*v, name));
  PetscCall(VecLoad(*v, vw));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Preallocation of W (default split of N) for the entries this rank holds:
   counts of the diagonal and off-diagonal blocks, added at the rows' owners. */
static PetscErrorCode Preallocate(MPI_Comm comm, PetscInt N, PetscInt n, const PetscScalar *r, const PetscScalar *c, Mat W)
{
  Vec                dn, on;
  const PetscInt    *ranges;
  const PetscScalar *d, *o;
  PetscInt          *di, *oi, m, rs;
  PetscMPIInt        size;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(VecCreateMPI(comm, PETSC_DECIDE, N, &dn));
  PetscCall(VecDuplicate(dn, &on));
  PetscCall(VecGetOwnershipRanges(dn, &ranges));
  for (PetscInt q = 0, p = 0; q < n; q++) {
    PetscInt i = (PetscInt)r[q], j = (PetscInt)c[q];
    if (j < 0) continue;
    while (p > 0 && i < ranges[p]) p--;
    while (i >= ranges[p + 1]) p++;
    PetscCall(VecSetValue(j >= ranges[p] && j < ranges[p + 1] ? dn : on, i, 1.0, ADD_VALUES));
  }
  PetscCall(VecAssemblyBegin(dn));
  PetscCall(VecAssemblyEnd(dn));
  PetscCall(VecAssemblyBegin(on));
  PetscCall(VecAssemblyEnd(on));
  PetscCall(VecGetLocalSize(dn, &m));
  PetscCall(VecGetOwnershipRange(dn, &rs, NULL));
  PetscCall(PetscMalloc2(m + 1, &di, m + 1, &oi));
  PetscCall(VecGetArrayRead(dn, &d));
  PetscCall(VecGetArrayRead(on, &o));
  for (PetscInt i = 0; i < m; i++) di[i] = (PetscInt)d[i], oi[i] = (PetscInt)o[i];
  PetscCall(VecRestoreArrayRead(dn, &d));
  PetscCall(VecRestoreArrayRead(on, &o));
  PetscCall(MatSetSizes(W, m, m, N, N));
  PetscCall(MatSetType(W, MATAIJ));
  PetscCall(MatSeqAIJSetPreallocation(W, 0, di));
  PetscCall(MatMPIAIJSetPreallocation(W, 0, di, 0, oi));
  PetscCall(PetscFree2(di, oi));
  PetscCall(VecDestroy(&dn));
  PetscCall(VecDestroy(&on));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnModelLoadNet(MPI_Comm comm, const char path[], TnNet net)
{
  PetscViewer        vw;
  PetscInt64         N, nnz;
  Vec                row, col, th, b, gamma;
  Mat                W;
  const PetscScalar *r, *c, *t;
  PetscInt           n;
  PetscFunctionBeginUser;
  PetscCall(OpenModel(comm, path, &vw));
  PetscCall(ReadSize(vw, path, "N", &N));
  PetscCall(ReadSize(vw, path, "nnz", &nnz));
  PetscCheck(N > 0 && N < PETSC_MAX_INT && nnz + 2 * N < PETSC_MAX_INT, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: sizes N = %" PetscInt64_FMT ", nnz = %" PetscInt64_FMT " out of range", path, N, nnz);
  PetscCall(LoadNamed(comm, vw, "row", (PetscInt)(nnz + 2 * N), &row));
  PetscCall(LoadNamed(comm, vw, "col", (PetscInt)(nnz + 2 * N), &col));
  PetscCall(LoadNamed(comm, vw, "theta", (PetscInt)(nnz + 2 * N), &th));
  PetscCall(PetscViewerDestroy(&vw));
  PetscCall(VecGetLocalSize(th, &n));
  PetscCall(VecGetArrayRead(row, &r));
  PetscCall(VecGetArrayRead(col, &c));
  PetscCall(VecGetArrayRead(th, &t));
  PetscCall(MatCreate(comm, &W));
  PetscCall(Preallocate(comm, (PetscInt)N, n, r, c, W));
  PetscCall(MatSetOption(W, MAT_NEW_NONZERO_ALLOCATION_ERR, PETSC_FALSE));
  PetscCall(MatCreateVecs(W, &b, &gamma));
  for (PetscInt q = 0; q < n; q++) {
    PetscInt i = (PetscInt)r[q], j = (PetscInt)c[q];
    if (j >= 0)
      PetscCall(MatSetValue(W, i, j, t[q], INSERT_VALUES));
    else if (j == -1)
      PetscCall(VecSetValue(b, i, t[q], INSERT_VALUES));
    else
      PetscCall(VecSetValue(gamma, i, PetscExpReal(t[q]), INSERT_VALUES));
  }
  PetscCall(VecRestoreArrayRead(row, &r));
  PetscCall(VecRestoreArrayRead(col, &c));
  PetscCall(VecRestoreArrayRead(th, &t));
  PetscCall(MatAssemblyBegin(W, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(W, MAT_FINAL_ASSEMBLY));
  PetscCall(VecAssemblyBegin(b));
  PetscCall(VecAssemblyEnd(b));
  PetscCall(VecAssemblyBegin(gamma));
  PetscCall(VecAssemblyEnd(gamma));
  PetscCall(TnNetSetParameters(net, W, b, gamma));
  PetscCall(MatDestroy(&W));
  PetscCall(VecDestroy(&b));
  PetscCall(VecDestroy(&gamma));
  PetscCall(VecDestroy(&row));
  PetscCall(VecDestroy(&col));
  PetscCall(VecDestroy(&th));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnModelConfigureDyn(MPI_Comm comm, const char path[], TnDyn dyn)
{
  PetscViewer vw;
  PetscFunctionBeginUser;
  PetscCall(OpenModel(comm, path, &vw));
  PetscCall(TnDynReadAttributes(dyn, vw, path));
  PetscCall(PetscViewerDestroy(&vw));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The preprocessing a model was trained with (ckpt.c, WritePreprocessing):
   the attribute "dequantize" (absent in older files: none) and, when
   standardised, the datasets data_mean and data_sd of length N, checked
   here: every value finite, every sd > 0. */
static PetscErrorCode CheckStandardization(MPI_Comm comm, const char path[], Vec mean, Vec sd)
{
  PetscReal m1, s1, smin;
  PetscFunctionBeginUser;
  PetscCall(VecNorm(mean, NORM_1, &m1));
  PetscCall(VecNorm(sd, NORM_1, &s1));
  PetscCall(VecMin(sd, NULL, &smin));
  PetscCheck(PetscIsNormalReal(m1) || m1 == 0, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: the dataset data_mean holds a value that is not a finite number: a damaged model file", path);
  PetscCheck(PetscIsNormalReal(s1) && smin > 0, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: the dataset data_sd must hold finite positive scales (min %g): a damaged model file", path, (double)smin);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnModelGetPreprocessing(MPI_Comm comm, const char path[], PetscBool *dequantized, Vec *mean, Vec *sd)
{
  PetscViewer vw;
  PetscBool   has;
  PetscInt64  N = 0, dq = 0;
  PetscFunctionBeginUser;
  *mean = *sd = NULL;
  PetscCall(OpenModel(comm, path, &vw));
  PetscCall(TnH5HasAttr(vw, "dequantize", &has));
  if (has) PetscCall(TnH5GetInt(vw, path, "dequantize", 0, 1, &dq));
  *dequantized = (PetscBool)(dq != 0);
  PetscCall(PetscViewerHDF5HasDataset(vw, "data_mean", &has));
  if (has) {
    PetscCall(ReadSize(vw, path, "N", &N));
    PetscCheck(N > 0 && N < PETSC_MAX_INT, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: N = %" PetscInt64_FMT " out of range", path, N);
    PetscCall(LoadNamed(comm, vw, "data_mean", (PetscInt)N, mean));
    PetscCall(LoadNamed(comm, vw, "data_sd", (PetscInt)N, sd));
  }
  PetscCall(PetscViewerDestroy(&vw));
  if (*mean) PetscCall(CheckStandardization(comm, path, *mean, *sd));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnModelConfigureData(MPI_Comm comm, const char path[], TnData data)
{
  PetscBool deq;
  Vec       mean, sd;
  PetscFunctionBeginUser;
  PetscCall(TnModelGetPreprocessing(comm, path, &deq, &mean, &sd));
  PetscCall(TnDataSetDequantize(data, deq));
  if (deq) PetscCall(PetscPrintf(comm, "data: dequantised (x + U(0,1)) as the model's training data were\n"));
  if (mean) {
    PetscCall(TnDataSetStandardization(data, mean, sd));
    PetscCall(PetscPrintf(comm, "data: standardised with the model's training statistics\n"));
    PetscCall(VecDestroy(&mean));
    PetscCall(VecDestroy(&sd));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
