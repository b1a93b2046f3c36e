/* Loading a saved model (or a checkpoint) into a net, a dynamics object and
   a data set. The file is self-contained: W is rebuilt from the stored
   pattern (row, col >= 0) and values, b from col = -1, gamma = e^u from
   col = -2 (the same e^u the trainer used), in natural order with PETSc's
   default row split; the net then partitions it as its options say. The
   dynamics take every setting the file stores; whether the command line
   overrides them is the front end's decision (src/cli/model.c), not this
   file's: nothing here reads the options database. Nothing read is trusted:
   the file is checked before the collective open (TnH5OpenRead), sizes
   before allocation, each entry before it is used (CheckEntries), and the
   pattern after assembly (each pair once, one b and one log gamma per node). */
#include "trainimpl.h"
#include <tenor/io.h>
#include <petscviewerhdf5.h>
#include <float.h>
#include <string.h>

static PetscErrorCode OpenModel(MPI_Comm comm, const char path[], PetscViewer *vw)
{
  char       fmt[64];
  PetscInt64 version;
  PetscFunctionBeginUser;
  PetscCall(TnH5OpenRead(comm, path, "-model", vw));
  PetscCall(TnH5GetStr(*vw, path, "format", fmt, sizeof(fmt)));
  PetscCheck(!strcmp(fmt, "tenor-model") || !strcmp(fmt, "tenor-checkpoint"), comm, PETSC_ERR_USER, "%s: attribute 'format' = '%s', expected 'tenor-model' or 'tenor-checkpoint': not a tenor model", path, fmt);
  PetscCall(TnH5GetInt(*vw, path, "version", 1, TN_FILE_VERSION, &version));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* N and nnz: 1 <= N, 0 <= nnz <= N^2, and the nnz + 2N parameters must be
   indexable by a PetscInt. */
static PetscErrorCode ReadSizes(PetscViewer vw, const char path[], PetscInt64 *N, PetscInt64 *nnz)
{
  PetscFunctionBeginUser;
  PetscCall(TnH5GetInt(vw, path, "N", 1, (PETSC_MAX_INT - 1) / 2, N));
  PetscCall(TnH5GetInt(vw, path, "nnz", 0, PetscMin(*N * *N, PETSC_MAX_INT - 1 - 2 * *N), nnz));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The dataset `name` of n values (its length checked first, so that a forged
   size allocates nothing). */
static PetscErrorCode LoadNamed(MPI_Comm comm, PetscViewer vw, const char path[], const char name[], PetscInt n, Vec *v)
{
  PetscFunctionBeginUser;
  PetscCall(TnH5CheckLength(vw, path, name, n));
  PetscCall(VecCreateMPI(comm, PETSC_DECIDE, n, v));
  PetscCall(PetscObjectSetName((PetscObject)*v, name));
  PetscCall(VecLoad(*v, vw));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Preallocation of W (default split of N) for the entries this rank holds:
   counts of the diagonal and off-diagonal blocks, added at the rows' owners.
   The entries were checked (CheckEntries): 0 <= i, j < N or j in {-1, -2}. */
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

/* Every entry this rank holds: row an integer in [0, N), col an integer in
   [-2, N) (-1: b, -2: log gamma), theta finite and, for log gamma, e^theta
   a positive normal double. Then the counts: nnz entries with col >= 0. */
static PetscErrorCode CheckEntries(MPI_Comm comm, const char path[], PetscInt64 N, PetscInt64 nnz, PetscInt rs, PetscInt n, const PetscScalar *r, const PetscScalar *c, const PetscScalar *t)
{
  char       msg[512] = "";
  PetscInt64 syn      = 0;
  PetscFunctionBeginUser;
  for (PetscInt q = 0; q < n && !msg[0]; q++) {
    PetscReal i = r[q], j = c[q];
    if (!(i >= 0 && i < N && i == PetscFloorReal(i)))
      snprintf(msg, sizeof(msg), "%s: the dataset 'row' holds %g at entry %" PetscInt_FMT ", expected an integer in [0, %" PetscInt64_FMT "] (a node)", path, (double)i, rs + q, N - 1);
    else if (!(j >= -2 && j < N && j == PetscFloorReal(j)))
      snprintf(msg, sizeof(msg), "%s: the dataset 'col' holds %g at entry %" PetscInt_FMT ", expected an integer in [-2, %" PetscInt64_FMT "] (a node; -1: the bias b, -2: log gamma)", path, (double)j, rs + q, N - 1);
    else if (PetscIsInfOrNanReal(t[q]) || (j == -2 && !PetscIsNormalReal(PetscExpReal(t[q]))))
      snprintf(msg, sizeof(msg), "%s: the dataset 'theta' holds %g at entry %" PetscInt_FMT ", expected a finite number%s", path, (double)t[q], rs + q, j == -2 ? " whose exponential (gamma) is a positive normal double" : "");
    syn += j >= 0;
  }
  PetscCall(TnErrorSync(comm, (PetscBool)(msg[0] != 0), msg));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &syn, 1, MPIU_INT64, MPI_SUM, comm));
  PetscCheck(syn == nnz, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: the dataset 'col' has %" PetscInt64_FMT " synapse entries (col >= 0), but the attribute 'nnz' = %" PetscInt64_FMT, path, syn, nnz);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnModelLoadNet(MPI_Comm comm, const char path[], TnNet net)
{
  PetscViewer        vw;
  PetscInt64         N, nnz;
  Vec                row, col, th, b, gamma, nb, ng;
  Mat                W;
  MatInfo            info;
  const PetscScalar *r, *c, *t;
  PetscInt           n, rs;
  PetscReal          lo[2], hi[2];
  PetscMPIInt        size;
  char               what[128];
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(OpenModel(comm, path, &vw));
  PetscCall(ReadSizes(vw, path, &N, &nnz));
  PetscCall(TnH5CheckLength(vw, path, "row", nnz + 2 * N));
  PetscCall(TnH5CheckLength(vw, path, "col", nnz + 2 * N));
  PetscCall(TnH5CheckLength(vw, path, "theta", nnz + 2 * N));
  /* per rank: row, col, theta (3 doubles per parameter), W (a double and an
     int per synapse), b, gamma and the preallocation counts (6 doubles per node) */
  PetscCall(PetscSNPrintf(what, sizeof(what), "the model %s (N = %" PetscInt64_FMT ", nnz = %" PetscInt64_FMT ")", path, N, nnz));
  PetscCall(TnCheckMemory(comm, (3.0 * 8 * (nnz + 2 * N) + 12.0 * nnz + 48.0 * N) / size, what, "run on more nodes"));
  PetscCall(LoadNamed(comm, vw, path, "row", (PetscInt)(nnz + 2 * N), &row));
  PetscCall(LoadNamed(comm, vw, path, "col", (PetscInt)(nnz + 2 * N), &col));
  PetscCall(LoadNamed(comm, vw, path, "theta", (PetscInt)(nnz + 2 * N), &th));
  PetscCall(PetscViewerDestroy(&vw));
  PetscCall(VecGetLocalSize(th, &n));
  PetscCall(VecGetOwnershipRange(th, &rs, NULL));
  PetscCall(VecGetArrayRead(row, &r));
  PetscCall(VecGetArrayRead(col, &c));
  PetscCall(VecGetArrayRead(th, &t));
  PetscCall(CheckEntries(comm, path, N, nnz, rs, n, r, c, t));
  PetscCall(MatCreate(comm, &W));
  PetscCall(Preallocate(comm, (PetscInt)N, n, r, c, W));
  PetscCall(MatSetOption(W, MAT_NEW_NONZERO_ALLOCATION_ERR, PETSC_FALSE));
  PetscCall(MatCreateVecs(W, &b, &gamma));
  PetscCall(VecDuplicate(b, &nb));
  PetscCall(VecDuplicate(b, &ng));
  for (PetscInt q = 0; q < n; q++) {
    PetscInt i = (PetscInt)r[q], j = (PetscInt)c[q];
    if (j >= 0)
      PetscCall(MatSetValue(W, i, j, t[q], INSERT_VALUES));
    else if (j == -1) {
      PetscCall(VecSetValue(b, i, t[q], INSERT_VALUES));
      PetscCall(VecSetValue(nb, i, 1.0, ADD_VALUES));
    } else {
      PetscCall(VecSetValue(gamma, i, PetscExpReal(t[q]), INSERT_VALUES));
      PetscCall(VecSetValue(ng, i, 1.0, ADD_VALUES));
    }
  }
  PetscCall(VecRestoreArrayRead(row, &r));
  PetscCall(VecRestoreArrayRead(col, &c));
  PetscCall(VecRestoreArrayRead(th, &t));
  PetscCall(MatAssemblyBegin(W, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(W, MAT_FINAL_ASSEMBLY));
  for (PetscInt k = 0; k < 4; k++) {
    Vec v = k == 0 ? b : k == 1 ? gamma
                     : k == 2   ? nb
                                : ng;
    PetscCall(VecAssemblyBegin(v));
    PetscCall(VecAssemblyEnd(v));
  }
  /* each (row, col) pair once; each node one b and one gamma */
  PetscCall(MatGetInfo(W, MAT_GLOBAL_SUM, &info));
  PetscCheck((PetscInt64)info.nz_used == nnz, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: the datasets 'row' and 'col' hold %" PetscInt64_FMT " synapses but only %" PetscInt64_FMT " distinct (row, col) pairs; each pair must appear once", path, nnz, (PetscInt64)info.nz_used);
  PetscCall(VecMin(nb, NULL, &lo[0]));
  PetscCall(VecMax(nb, NULL, &hi[0]));
  PetscCall(VecMin(ng, NULL, &lo[1]));
  PetscCall(VecMax(ng, NULL, &hi[1]));
  PetscCheck(lo[0] == 1 && hi[0] == 1 && lo[1] == 1 && hi[1] == 1, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: every node needs exactly one bias (col = -1) and one log gamma (col = -2) entry; the file has %d to %d biases and %d to %d log gammas per node", path, (int)lo[0], (int)hi[0], (int)lo[1], (int)hi[1]);
  PetscCall(TnNetSetParameters(net, W, b, gamma));
  PetscCall(MatDestroy(&W));
  PetscCall(VecDestroy(&b));
  PetscCall(VecDestroy(&gamma));
  PetscCall(VecDestroy(&nb));
  PetscCall(VecDestroy(&ng));
  PetscCall(VecDestroy(&row));
  PetscCall(VecDestroy(&col));
  PetscCall(VecDestroy(&th));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The clamp set and the classes (ckpt.c, WriteConditional), checked: the
   attribute clamped in [0, N - 1] (absent in older files: 0) and the
   dataset clamp of that many integers in [0, N) in strictly increasing
   order; the attribute classes C in [0, clamped] (C = 1 is no classifier:
   refused) and, when C > 0, the label nodes N - C .. N - 1 the last C
   entries of clamp and the dataset class_prior of C finite shares in
   (0, 1] summing to 1 (within 1e-9). *clamp (NULL: none) and *prior
   (replicated, PetscMalloc'd; NULL: none) belong to the caller. */
static PetscErrorCode ReadConditional(MPI_Comm comm, PetscViewer vw, const char path[], IS *clamp, PetscInt *C, PetscReal **prior)
{
  PetscInt64         N, nc = 0, nC = 0;
  PetscBool          has;
  Vec                v;
  const PetscScalar *a;
  PetscInt           n, rs;
  PetscReal          last = -1, prev = -1;
  char               msg[PETSC_MAX_PATH_LEN + 256] = "";
  PetscFunctionBeginUser;
  *clamp = NULL;
  *C     = 0;
  *prior = NULL;
  PetscCall(TnH5GetInt(vw, path, "N", 1, PETSC_MAX_INT, &N));
  PetscCall(TnH5HasAttr(vw, "clamped", &has));
  if (has) PetscCall(TnH5GetInt(vw, path, "clamped", 0, N - 1, &nc));
  PetscCall(TnH5HasAttr(vw, "classes", &has));
  if (has) PetscCall(TnH5GetInt(vw, path, "classes", 0, nc, &nC));
  PetscCheck(nC != 1, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute 'classes' = 1; a classifier has at least 2 classes (0: none)", path);
  if (nc) {
    PetscInt *idx;
    PetscCall(LoadNamed(comm, vw, path, "clamp", (PetscInt)nc, &v));
    PetscCall(VecGetLocalSize(v, &n));
    PetscCall(VecGetOwnershipRange(v, &rs, NULL));
    PetscCall(VecGetArrayRead(v, &a));
    if (n) last = PetscRealPart(a[n - 1]);
    PetscCallMPI(MPI_Exscan(&last, &prev, 1, MPIU_REAL, MPIU_MAX, comm)); /* the largest node of the ranks before */
    PetscCall(PetscMalloc1(n + 1, &idx));
    for (PetscInt q = 0; q < n && !msg[0]; q++) {
      PetscReal x = PetscRealPart(a[q]), before = q ? PetscRealPart(a[q - 1]) : (rs ? prev : -1);
      if (!(x >= 0 && x < N && x == PetscFloorReal(x)))
        PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s: the dataset 'clamp' holds %g at entry %" PetscInt_FMT ", expected a node number in [0, %" PetscInt64_FMT "]", path, (double)x, rs + q, N - 1));
      else if (!(x > before))
        PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s: the dataset 'clamp' holds %g at entry %" PetscInt_FMT " after %g; the clamped nodes must be listed once each, in increasing order", path, (double)x, rs + q, (double)before));
      else if (nC && rs + q >= nc - nC && x != N - (nc - (rs + q)))
        PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s: %" PetscInt64_FMT " classes, so the last %" PetscInt64_FMT " clamped nodes must be the label nodes %" PetscInt64_FMT " .. %" PetscInt64_FMT "; entry %" PetscInt_FMT " of 'clamp' is %g", path, nC, nC, N - nC, N - 1, rs + q, (double)x));
      else
        idx[q] = (PetscInt)x;
    }
    PetscCall(VecRestoreArrayRead(v, &a));
    PetscCall(VecDestroy(&v));
    if (msg[0]) PetscCall(PetscFree(idx));
    PetscCall(TnErrorSync(comm, (PetscBool)(msg[0] != 0), msg));
    PetscCall(ISCreateGeneral(comm, n, idx, PETSC_OWN_POINTER, clamp));
  }
  if (nC) {
    Vec        all;
    VecScatter sct;
    PetscReal  sum = 0;
    PetscCall(LoadNamed(comm, vw, path, "class_prior", (PetscInt)nC, &v));
    PetscCall(TnH5CheckValues(v, path, "class_prior", PETSC_SMALL * PETSC_SMALL, 1));
    PetscCall(VecScatterCreateToAll(v, &sct, &all));
    PetscCall(VecScatterBegin(sct, v, all, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecScatterEnd(sct, v, all, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(PetscMalloc1(nC, prior));
    PetscCall(VecGetArrayRead(all, &a));
    for (PetscInt c = 0; c < nC; c++) sum += ((*prior)[c] = PetscRealPart(a[c]));
    PetscCall(VecRestoreArrayRead(all, &a));
    PetscCall(VecScatterDestroy(&sct));
    PetscCall(VecDestroy(&all));
    PetscCall(VecDestroy(&v));
    if (!(PetscAbsReal(sum - 1) <= 1e-9)) {
      PetscCall(PetscFree(*prior));
      PetscCall(ISDestroy(clamp));
    }
    PetscCheck(PetscAbsReal(sum - 1) <= 1e-9, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: the dataset 'class_prior' sums to %.17g, expected 1 (the classes' shares of the training labels)", path, (double)sum);
    *C = (PetscInt)nC;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnModelGetClasses(MPI_Comm comm, const char path[], PetscInt *C, PetscReal **prior)
{
  PetscViewer vw;
  IS          clamp;
  PetscFunctionBeginUser;
  PetscCall(OpenModel(comm, path, &vw));
  PetscCall(ReadConditional(comm, vw, path, &clamp, C, prior));
  PetscCall(ISDestroy(&clamp));
  PetscCall(PetscViewerDestroy(&vw));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnModelGetClassIndex(MPI_Comm comm, const char path[], PetscInt *c, PetscInt *C, PetscReal *prior)
{
  PetscViewer vw;
  PetscBool   has;
  PetscInt64  cc = -1, nC = 0;
  PetscReal   p = 0;
  PetscFunctionBeginUser;
  PetscCall(OpenModel(comm, path, &vw));
  PetscCall(TnH5HasAttr(vw, "class_index", &has));
  if (has) {
    PetscCall(TnH5GetInt(vw, path, "class_count", 2, PETSC_MAX_INT, &nC));
    PetscCall(TnH5GetInt(vw, path, "class_index", 0, nC - 1, &cc));
    PetscCall(TnH5GetRealIn(vw, path, "class_index_prior", PETSC_SMALL * PETSC_SMALL, 1, &p));
  }
  PetscCall(PetscViewerDestroy(&vw));
  *c = (PetscInt)cc;
  if (C) *C = (PetscInt)nC;
  if (prior) *prior = p;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnModelConfigureDyn(MPI_Comm comm, const char path[], TnDyn dyn)
{
  PetscViewer vw;
  IS          clamp;
  PetscInt    C;
  PetscReal  *prior;
  PetscFunctionBeginUser;
  PetscCall(OpenModel(comm, path, &vw));
  PetscCall(TnDynReadAttributes(dyn, vw, path));
  PetscCall(ReadConditional(comm, vw, path, &clamp, &C, &prior));
  PetscCall(PetscViewerDestroy(&vw));
  PetscCall(TnDynSetClamp(dyn, clamp)); /* NULL: none */
  PetscCall(ISDestroy(&clamp));
  PetscCall(PetscFree(prior));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The preprocessing a model was trained with (ckpt.c, WritePreprocessing):
   the attribute "dequantize" (absent in older files: none) and, when
   standardised, the datasets data_mean and data_sd of length N, checked
   here: every value finite, every sd > 0. */
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
    PetscCall(TnH5GetInt(vw, path, "N", 1, PETSC_MAX_INT, &N));
    PetscCall(LoadNamed(comm, vw, path, "data_mean", (PetscInt)N, mean));
    PetscCall(LoadNamed(comm, vw, path, "data_sd", (PetscInt)N, sd));
    PetscCall(TnH5CheckValues(*mean, path, "data_mean", -PETSC_MAX_REAL, PETSC_MAX_REAL));
    PetscCall(TnH5CheckValues(*sd, path, "data_sd", DBL_MIN, PETSC_MAX_REAL));
  }
  PetscCall(PetscViewerDestroy(&vw));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnModelConfigureData(MPI_Comm comm, const char path[], TnData data)
{
  PetscBool  deq;
  Vec        mean, sd;
  PetscInt   C;
  PetscReal *prior;
  PetscFunctionBeginUser;
  PetscCall(TnModelGetClasses(comm, path, &C, &prior));
  PetscCall(PetscFree(prior));
  if (C) PetscCall(TnDataSetClasses(data, C, PETSC_TRUE));
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
