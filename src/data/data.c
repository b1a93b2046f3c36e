/* Data sets of samples x (a_0 = x). Invariant after Load: x holds this rank's
   nodes [rstart, rend) of the default split for all S samples, node-major,
   x[(i - rstart) * S + s], so a batch is a strided copy. */
#include <tenor/data.h>
#include <tenor/io.h>

struct _p_TnData {
  MPI_Comm     comm;
  char         type[32], file[PETSC_MAX_PATH_LEN], dataset[256];
  PetscInt     S, N, rstart, rend;
  PetscInt     seed;
  PetscScalar *x;
};

PetscErrorCode TnDataCreate(MPI_Comm comm, TnData *data)
{
  TnData d;
  PetscFunctionBeginUser;
  PetscCall(PetscNew(&d));
  d->comm = comm;
  d->S    = 16;
  d->seed = 7;
  PetscCall(PetscStrncpy(d->type, TNDATA_NORMAL, sizeof(d->type)));
  PetscCall(PetscStrncpy(d->dataset, "/x", sizeof(d->dataset)));
  *data = d;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataDestroy(TnData *data)
{
  PetscFunctionBeginUser;
  if (!*data) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscFree((*data)->x));
  PetscCall(PetscFree(*data));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataSetType(TnData data, const char type[])
{
  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(data->type, type, sizeof(data->type)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataSetFile(TnData data, const char path[], const char dataset[])
{
  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(data->file, path, sizeof(data->file)));
  if (dataset) PetscCall(PetscStrncpy(data->dataset, dataset, sizeof(data->dataset)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataSetSamples(TnData data, PetscInt S, PetscInt seed)
{
  PetscFunctionBeginUser;
  data->S    = S;
  data->seed = seed;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataSetFromOptions(TnData data)
{
  const char *types[] = {TNDATA_NORMAL, TNDATA_CSV, TNDATA_HDF5};
  PetscInt    it      = 0;
  PetscBool   set, fset;
  PetscFunctionBeginUser;
  for (PetscInt t = 0; t < 3; t++) {
    PetscBool eq;
    PetscCall(PetscStrcmp(data->type, types[t], &eq));
    if (eq) it = t;
  }
  PetscOptionsBegin(data->comm, "data_", "Samples x", "TnData");
  PetscCall(TnOptionsChoice("-type", "Source of samples: normal (built-in N(0, I)), csv, hdf5", "TnDataSetType", types, 3, &it, &set));
  PetscCall(PetscOptionsString("-file", "CSV or HDF5 file: one sample per row, N columns", "TnDataSetFile", data->file, data->file, sizeof(data->file), &fset));
  PetscCall(PetscOptionsString("-dataset", "HDF5 dataset (samples x N)", "TnDataSetFile", data->dataset, data->dataset, sizeof(data->dataset), NULL));
  PetscCall(PetscOptionsInt("-samples", "Number of samples of the built-in generator", "TnDataSetSamples", data->S, &data->S, NULL));
  PetscCall(PetscOptionsInt("-seed", "Seed of the built-in generator", "TnDataSetSamples", data->seed, &data->seed, NULL));
  PetscOptionsEnd();
  if (set)
    PetscCall(PetscStrncpy(data->type, types[it], sizeof(data->type)));
  else if (fset) {
    size_t    len = strlen(data->file);
    PetscBool h5  = (PetscBool)((len > 3 && !strcmp(data->file + len - 3, ".h5")) || (len > 5 && !strcmp(data->file + len - 5, ".hdf5")));
    PetscCall(PetscStrncpy(data->type, h5 ? TNDATA_HDF5 : TNDATA_CSV, sizeof(data->type)));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* x_is = N(0,1) drawn from (seed, stream 11, s * N + i): the same samples for
   any rank count. */
static PetscErrorCode Generate(TnData data)
{
  PetscFunctionBeginUser;
  PetscCheck(data->S >= 1, data->comm, PETSC_ERR_USER, "-data_samples must be >= 1 (got %" PetscInt_FMT ")", data->S);
  PetscCall(PetscMalloc1((size_t)(data->rend - data->rstart) * data->S + 1, &data->x));
  for (PetscInt i = data->rstart; i < data->rend; i++)
    for (PetscInt s = 0; s < data->S; s++) data->x[(size_t)(i - data->rstart) * data->S + s] = TnRandNormal((uint64_t)data->seed, 11, (uint64_t)s * (uint64_t)data->N + (uint64_t)i);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataLoad(TnData data, PetscInt N)
{
  PetscInt  n = PETSC_DECIDE;
  PetscBool normal, csv, h5;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_DataLoad, 0, 0, 0, 0));
  PetscCall(PetscFree(data->x));
  data->N = N;
  PetscCall(PetscSplitOwnership(data->comm, &n, &N));
  PetscCallMPI(MPI_Scan(&n, &data->rend, 1, MPIU_INT, MPI_SUM, data->comm));
  data->rstart = data->rend - n;
  PetscCall(PetscStrcmp(data->type, TNDATA_NORMAL, &normal));
  PetscCall(PetscStrcmp(data->type, TNDATA_CSV, &csv));
  PetscCall(PetscStrcmp(data->type, TNDATA_HDF5, &h5));
  PetscCheck(normal || data->file[0], data->comm, PETSC_ERR_USER, "-data_type %s needs -data_file <path>", data->type);
  if (normal)
    PetscCall(Generate(data));
  else if (csv)
    PetscCall(TnReadSamplesCSV(data->comm, data->file, N, data->rstart, data->rend, &data->S, &data->x));
  else if (h5)
    PetscCall(TnReadSamplesHDF5(data->comm, data->file, data->dataset, N, data->rstart, data->rend, &data->S, &data->x));
  else
    SETERRQ(data->comm, PETSC_ERR_USER, "unknown -data_type %s (normal, csv, hdf5)", data->type);
  PetscCall(PetscLogEventEnd(TN_DataLoad, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataGetNumSamples(TnData data, PetscInt *S)
{
  PetscFunctionBeginUser;
  PetscCheck(data->x, data->comm, PETSC_ERR_ORDER, "call TnDataLoad() first");
  *S = data->S;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataGetBatch(TnData data, PetscInt s0, Vec xnat, PetscInt *valid)
{
  PetscInt     B, nloc, v;
  PetscScalar *px;
  PetscFunctionBeginUser;
  PetscCall(VecGetBlockSize(xnat, &B));
  PetscCall(VecGetLocalSize(xnat, &nloc));
  PetscCheck(nloc == (data->rend - data->rstart) * B, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "batch vector does not match the data layout");
  v = PetscMax(0, PetscMin(B, data->S - s0));
  PetscCall(VecGetArrayWrite(xnat, &px));
  for (PetscInt i = 0; i < data->rend - data->rstart; i++)
    for (PetscInt b = 0; b < B; b++) px[(size_t)i * B + b] = b < v ? data->x[(size_t)i * data->S + s0 + b] : 0.0;
  PetscCall(VecRestoreArrayWrite(xnat, &px));
  *valid = v;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataDescribe(TnData data, char buf[], size_t len)
{
  PetscBool normal;
  PetscFunctionBeginUser;
  PetscCall(PetscStrcmp(data->type, TNDATA_NORMAL, &normal));
  if (normal)
    PetscCall(PetscSNPrintf(buf, len, "%" PetscInt_FMT " standard-normal samples (seed %" PetscInt_FMT ")", data->S, data->seed));
  else
    PetscCall(PetscSNPrintf(buf, len, "%" PetscInt_FMT " samples from %s", data->S, data->file));
  PetscFunctionReturn(PETSC_SUCCESS);
}
