/* Data sets of samples x (a_0 = x). Invariant after Load: x holds this rank's
   nodes [rstart, rend) of the default split for all S samples, node-major,
   x[(i - rstart) * S + s], so a batch is a strided copy. Load = read or
   generate (with exact log-densities for generators), dequantise, split,
   standardise, in that order. */
#include "dataimpl.h"
#include <tenor/io.h>

static const char *const TnDataTypes[] = {TNDATA_NORMAL, TNDATA_CSV, TNDATA_HDF5, TNDATA_GMRF2D, TNDATA_GAUSS, TNDATA_MIXTURE};
#define NTYPES 6

PetscErrorCode TnDataCreate(MPI_Comm comm, TnData *data)
{
  TnData d;
  PetscFunctionBeginUser;
  PetscCall(PetscNew(&d));
  d->comm        = comm;
  d->S           = 16;
  d->seed        = 7;
  d->split_seed  = 11;
  d->H           = NAN;
  d->gmrf_tau    = 1.0;
  d->gmrf_kappa2 = 0.5;
  d->gauss_dmax  = 5000;
  d->mix_K       = 3;
  d->mix_sep     = 1.5;
  d->mix_sd      = 0.5;
  PetscCall(PetscStrncpy(d->type, TNDATA_NORMAL, sizeof(d->type)));
  PetscCall(PetscStrncpy(d->dataset, "/x", sizeof(d->dataset)));
  PetscCall(PetscStrncpy(d->labels_dataset, "/label", sizeof(d->labels_dataset)));
  d->sel = -1;
  *data  = d;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Clear(TnData d)
{
  PetscFunctionBeginUser;
  PetscCall(TnDataConditionalReset_Private(d));
  d->precision = NULL;
  if (d->gen.destroy) PetscCall(d->gen.destroy(d));
  d->gen.sample  = NULL;
  d->gen.destroy = NULL;
  PetscCall(PetscFree(d->x));
  PetscCall(PetscFree(d->logp));
  PetscCall(PetscFree(d->idx));
  PetscCall(PetscFree(d->perm));
  if (!d->user_std) PetscCall(PetscFree2(d->mean, d->sd));
  d->std_applied = PETSC_FALSE;
  d->Hknown = d->Hestimate = PETSC_FALSE;
  d->H                     = NAN;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataDestroy(TnData *data)
{
  PetscFunctionBeginUser;
  if (!*data) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(Clear(*data));
  PetscCall(PetscFree2((*data)->mean, (*data)->sd));
  PetscCall(PetscFree((*data)->label));
  PetscCall(PetscFree((*data)->prior));
  PetscCall(PetscFree((*data)->cmask));
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

PetscErrorCode TnDataSetValidationFraction(TnData data, PetscReal f, PetscInt seed)
{
  PetscFunctionBeginUser;
  data->vfrac      = f;
  data->split_seed = seed;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataSetStandardize(TnData data, PetscBool flg)
{
  PetscFunctionBeginUser;
  data->standardize = flg;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataSetDequantize(TnData data, PetscBool flg)
{
  PetscFunctionBeginUser;
  data->dequantize = flg;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataSetGMRF(TnData data, PetscInt n, PetscReal tau, PetscReal kappa2)
{
  PetscFunctionBeginUser;
  data->gmrf_n      = n;
  data->gmrf_tau    = tau;
  data->gmrf_kappa2 = kappa2;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataSetGaussPrecision(TnData data, const char path[])
{
  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(data->gauss_Q, path, sizeof(data->gauss_Q)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataSetMixture(TnData data, PetscInt K, PetscReal separation, PetscReal sd, PetscBool diagonal)
{
  PetscFunctionBeginUser;
  data->mix_K    = K;
  data->mix_sep  = separation;
  data->mix_sd   = sd;
  data->mix_diag = diagonal;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscBool IsHDF5Name(const char *file)
{
  size_t len = strlen(file);
  return (PetscBool)((len > 3 && !strcmp(file + len - 3, ".h5")) || (len > 5 && !strcmp(file + len - 5, ".hdf5")));
}

static PetscErrorCode GeneratorOptions(PetscOptionItems *PetscOptionsObject, TnData data)
{
  PetscFunctionBeginUser;
  PetscCall(TnOptionsInt("-gmrf_n", "gmrf2d: lattice side n, N = n^2 (0: sqrt(N))", "TnDataSetGMRF", data->gmrf_n, &data->gmrf_n, NULL, 0, PETSC_MAX_INT));
  PetscCall(TnOptionsReal("-gmrf_tau", "gmrf2d: precision scale tau in Q = tau (kappa^2 I - Laplacian)", "TnDataSetGMRF", data->gmrf_tau, &data->gmrf_tau, NULL, 0, PETSC_MAX_REAL));
  PetscCall(TnOptionsReal("-gmrf_kappa2", "gmrf2d: kappa^2 (correlation length ~ 1/kappa lattice spacings)", "TnDataSetGMRF", data->gmrf_kappa2, &data->gmrf_kappa2, NULL, 0, PETSC_MAX_REAL));
  PetscCall(PetscOptionsString("-gauss_Q", "gauss: precision matrix Q (MatrixMarket, symmetric positive definite)", "TnDataSetGaussPrecision", data->gauss_Q, data->gauss_Q, sizeof(data->gauss_Q), NULL));
  PetscCall(TnOptionsInt("-gauss_dense_max", "gauss: largest N sampled with a dense Cholesky on every rank", "TnDataSetGaussPrecision", data->gauss_dmax, &data->gauss_dmax, NULL, 0, PETSC_MAX_INT));
  PetscCall(TnOptionsInt("-mix_components", "mixture: number of components K (1..16)", "TnDataSetMixture", data->mix_K, &data->mix_K, NULL, 1, 16));
  PetscCall(TnOptionsReal("-mix_separation", "mixture: means mu_ki = separation * N(0,1)", "TnDataSetMixture", data->mix_sep, &data->mix_sep, NULL, PETSC_MIN_REAL, PETSC_MAX_REAL));
  PetscCall(TnOptionsReal("-mix_sd", "mixture: component sd sigma_k = sd * U(1/2, 3/2)", "TnDataSetMixture", data->mix_sd, &data->mix_sd, NULL, 0, PETSC_MAX_REAL));
  data->mix_nwts = 16;
  PetscCall(PetscOptionsRealArray("-mix_weights", "mixture: K component weights (normalised)", "TnDataSetMixture", data->mix_wts, &data->mix_nwts, NULL));
  data->mix_nsds = 16;
  PetscCall(PetscOptionsRealArray("-mix_sds", "mixture: K component standard deviations", "TnDataSetMixture", data->mix_sds, &data->mix_nsds, NULL));
  PetscCall(TnOptionsBool("-mix_diagonal", "mixture: per-node sd sigma_k exp(N(0,1)/4) instead of isotropic", "TnDataSetMixture", data->mix_diag, &data->mix_diag, NULL));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataSetFromOptions(TnData data)
{
  PetscInt  it = 0;
  PetscBool set, fset;
  PetscFunctionBeginUser;
  for (PetscInt t = 0; t < NTYPES; t++) {
    PetscBool eq;
    PetscCall(PetscStrcmp(data->type, TnDataTypes[t], &eq));
    if (eq) it = t;
  }
  PetscOptionsBegin(data->comm, "data_", "Samples x", "TnData");
  PetscCall(TnOptionsChoice("-type", "Source of samples: normal (built-in N(0, I)), csv, hdf5, gmrf2d, gauss, mixture (docs/data.md)", "TnDataSetType", TnDataTypes, NTYPES, &it, &set));
  PetscCall(PetscOptionsString("-file", "CSV or HDF5 file: one sample per row, N columns", "TnDataSetFile", data->file, data->file, sizeof(data->file), &fset));
  PetscCall(PetscOptionsString("-dataset", "HDF5 dataset (samples x N)", "TnDataSetFile", data->dataset, data->dataset, sizeof(data->dataset), NULL));
  PetscCall(TnOptionsInt("-samples", "Number of samples of a built-in generator", "TnDataSetSamples", data->S, &data->S, NULL, 1, PETSC_MAX_INT));
  PetscCall(TnOptionsInt("-seed", "Seed of the generators and of dequantisation noise", "TnDataSetSamples", data->seed, &data->seed, NULL, PETSC_MIN_INT, PETSC_MAX_INT));
  PetscCall(TnOptionsReal("-valid_fraction", "Fraction of samples held out for validation", "TnDataSetValidationFraction", data->vfrac, &data->vfrac, NULL, 0, 1));
  PetscCall(TnOptionsInt("-split_seed", "Seed of the train/validation split", "TnDataSetValidationFraction", data->split_seed, &data->split_seed, NULL, PETSC_MIN_INT, PETSC_MAX_INT));
  PetscCall(TnOptionsBool("-standardize", "Standardise each node with the training mean and sd", "TnDataSetStandardize", data->standardize, &data->standardize, NULL));
  PetscCall(TnOptionsBool("-dequantize", "Add U(0,1) noise to integer data", "TnDataSetDequantize", data->dequantize, &data->dequantize, NULL));
  {
    char      lab[PETSC_MAX_PATH_LEN];
    PetscInt  C = data->C;
    PetscBool lset, dset, cset;
    PetscCall(PetscStrncpy(lab, data->labels, sizeof(lab)));
    PetscCall(PetscOptionsString("-labels", "Class labels: one integer 0..C-1 per sample (text/CSV column, or an integer dataset of an .h5 file); the last C nodes become clamped one-hot label nodes (docs/predict.md)", "TnDataSetLabels", lab, lab, sizeof(lab), &lset));
    PetscCall(PetscOptionsString("-labels_dataset", "HDF5 dataset of the labels", "TnDataSetLabels", data->labels_dataset, data->labels_dataset, sizeof(data->labels_dataset), &dset));
    PetscCall(TnOptionsInt("-classes", "Number of classes C (label nodes); default 1 + the largest label", "TnDataSetClasses", C, &C, &cset, 2, PETSC_MAX_INT));
    PetscCall(TnOptionsInt("-class", "Only the samples of this class, no label nodes: a per-class model of p(x | c) (docs/predict.md); -1: all", "TnDataSetClassSelect", data->sel, &data->sel, NULL, -1, PETSC_MAX_INT));
    if (lset) PetscCheck(lab[0], data->comm, PETSC_ERR_USER, "-data_labels needs a file name (one integer label per sample)");
    if (lset || dset) PetscCall(TnDataSetLabels(data, lab, NULL));
    if (cset) PetscCall(TnDataSetClasses(data, C, PETSC_FALSE));
  }
  PetscCall(GeneratorOptions(PetscOptionsObject, data));
  PetscOptionsEnd();
  /* The one rule for the type of a data file: -data_type if given, else the
     file's name: .h5 or .hdf5 is hdf5, anything else csv. */
  if (set) {
    PetscCall(PetscStrncpy(data->type, TnDataTypes[it], sizeof(data->type)));
    PetscCheck(!fset || it == 1 || it == 2 || it == 4, data->comm, PETSC_ERR_USER, "-data_file %s is not read by -data_type %s: drop -data_type (the type follows the file name: .h5, .hdf5 -> hdf5, else csv) or the file", data->file, data->type);
  } else if (fset) {
    PetscBool gauss;
    PetscCall(PetscStrcmp(data->type, TNDATA_GAUSS, &gauss));
    if (!gauss) PetscCall(PetscStrncpy(data->type, IsHDF5Name(data->file) ? TNDATA_HDF5 : TNDATA_CSV, sizeof(data->type)));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode ReadFile(TnData data, PetscBool h5)
{
  PetscFunctionBeginUser;
  PetscCheck(data->file[0], data->comm, PETSC_ERR_USER, "-data_type %s needs -data_file <path>", data->type);
  if (h5)
    PetscCall(TnReadSamplesHDF5(data->comm, data->file, data->dataset, data->N, data->rstart, data->rend, &data->S, &data->x));
  else
    PetscCall(TnReadSamplesCSV(data->comm, data->file, data->N, data->rstart, data->rend, &data->S, &data->x));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Raw samples (and exact log-densities where known). */
static PetscErrorCode Source(TnData data)
{
  PetscInt it = -1;
  PetscFunctionBeginUser;
  for (PetscInt t = 0; t < NTYPES; t++) {
    PetscBool eq;
    PetscCall(PetscStrcmp(data->type, TnDataTypes[t], &eq));
    if (eq) it = t;
  }
  switch (it) {
  case 0:
    PetscCall(TnDataSetUp_Normal(data));
    break;
  case 1:
    PetscCall(ReadFile(data, PETSC_FALSE));
    break;
  case 2:
    PetscCall(ReadFile(data, PETSC_TRUE));
    break;
  case 3:
    PetscCall(TnDataSetUp_GMRF2D(data));
    break;
  case 4:
    if (data->file[0]) {
      PetscCall(ReadFile(data, IsHDF5Name(data->file)));
      PetscCall(TnDataGaussFile_Private(data));
    } else
      PetscCall(TnDataSetUp_Gauss(data));
    break;
  case 5:
    PetscCall(TnDataSetUp_Mixture(data));
    break;
  default:
    SETERRQ(data->comm, PETSC_ERR_USER, "unknown -data_type %s (normal, csv, hdf5, gmrf2d, gauss, mixture)", data->type);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataLoad(TnData data, PetscInt N)
{
  PetscInt n = PETSC_DECIDE;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_DataLoad, 0, 0, 0, 0));
  PetscCall(Clear(data));
  data->N = N;
  PetscCall(PetscSplitOwnership(data->comm, &n, &N));
  PetscCallMPI(MPI_Scan(&n, &data->rend, 1, MPIU_INT, MPI_SUM, data->comm));
  data->rstart = data->rend - n;
  PetscCall(TnDataLabelsSetUp_Private(data));
  if (data->C)
    PetscCall(TnDataLabelsRead_Private(data));
  else
    PetscCall(Source(data));
  if (!data->x) PetscCall(PetscMalloc1(1, &data->x)); /* a rank without nodes (N < ranks): loaded, nothing held */
  if (data->sel >= 0) PetscCall(TnDataLabelsSelect_Private(data));
  if (data->dequantize) PetscCall(TnDataDequantize_Private(data));
  PetscCall(TnDataSplit_Private(data));
  PetscCall(TnDataLabelsCheck_Private(data));
  if (data->standardize) PetscCall(TnDataStandardize_Private(data));
  PetscCall(PetscLogEventEnd(TN_DataLoad, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataGetPreprocessing(TnData data, PetscBool *dequantized, PetscReal *valid_fraction, PetscBool *standardized)
{
  PetscFunctionBeginUser;
  PetscCheck(data->x, data->comm, PETSC_ERR_ORDER, "call TnDataLoad() first");
  if (dequantized) *dequantized = data->dequantize;
  if (valid_fraction) *valid_fraction = data->S > 0 ? (PetscReal)data->Svalid / data->S : 0;
  if (standardized) *standardized = data->std_applied;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataGetNumSamples(TnData data, PetscInt *S)
{
  PetscFunctionBeginUser;
  PetscCheck(data->x, data->comm, PETSC_ERR_ORDER, "call TnDataLoad() first");
  *S = data->S;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataGetPartSizes(TnData data, PetscInt *Strain, PetscInt *Svalid)
{
  PetscFunctionBeginUser;
  PetscCheck(data->x, data->comm, PETSC_ERR_ORDER, "call TnDataLoad() first");
  if (Strain) *Strain = data->Strain;
  if (Svalid) *Svalid = data->Svalid;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscInt PartSize(TnData data, TnDataPart part)
{
  return part == TN_DATA_TRAIN ? data->Strain : part == TN_DATA_VALID ? data->Svalid
                                                                      : data->S;
}

/* Sample index of position p (0 <= p < PartSize). */
static PetscInt Index(TnData data, TnDataPart part, PetscInt p)
{
  if (part == TN_DATA_TRAIN) return data->idx[data->perm ? data->perm[p] : p];
  if (part == TN_DATA_VALID) return data->idx[data->Strain + p];
  return p;
}

PetscErrorCode TnDataGetSampleIndex(TnData data, TnDataPart part, PetscInt p, PetscInt *s)
{
  PetscFunctionBeginUser;
  PetscCheck(data->x, PETSC_COMM_SELF, PETSC_ERR_ORDER, "call TnDataLoad() first");
  PetscCheck(p >= 0 && p < PartSize(data, part), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "position %" PetscInt_FMT " outside the part (size %" PetscInt_FMT ")", p, PartSize(data, part));
  *s = Index(data, part, p);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataGetBatchPart(TnData data, TnDataPart part, PetscInt s0, Vec xnat, PetscInt *valid)
{
  PetscInt     B, nloc, v, *sidx;
  PetscScalar *px;
  PetscFunctionBeginUser;
  PetscCheck(data->x, PETSC_COMM_SELF, PETSC_ERR_ORDER, "call TnDataLoad() first");
  PetscCall(VecGetBlockSize(xnat, &B));
  PetscCall(VecGetLocalSize(xnat, &nloc));
  PetscCheck(nloc == (data->rend - data->rstart) * B, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "batch vector does not match the data layout");
  PetscCheck(s0 >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "batch start %" PetscInt_FMT " is negative", s0);
  v = PetscMax(0, PetscMin(B, PartSize(data, part) - s0));
  PetscCall(PetscMalloc1(B, &sidx));
  for (PetscInt b = 0; b < v; b++) sidx[b] = Index(data, part, s0 + b);
  PetscCall(VecGetArrayWrite(xnat, &px));
  for (PetscInt i = 0; i < data->rend - data->rstart; i++)
    for (PetscInt b = 0; b < B; b++) px[(size_t)i * B + b] = b < v ? data->x[(size_t)i * data->S + sidx[b]] : 0.0;
  PetscCall(VecRestoreArrayWrite(xnat, &px));
  PetscCall(PetscFree(sidx));
  *valid = v;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataGetNodeSums(TnData data, TnDataPart part, const PetscReal mean[], PetscReal sums[])
{
  const PetscInt S = PartSize(data, part);
  PetscInt      *sidx;
  PetscFunctionBeginUser;
  PetscCheck(data->x, PETSC_COMM_SELF, PETSC_ERR_ORDER, "call TnDataLoad() first");
  PetscCall(PetscMalloc1(S + 1, &sidx));
  for (PetscInt p = 0; p < S; p++) sidx[p] = Index(data, part, p);
  for (PetscInt i = 0; i < data->rend - data->rstart; i++) {
    const PetscScalar *row = data->x + (size_t)i * data->S; /* node i's samples */
    PetscReal          acc = 0;
    if (mean)
      for (PetscInt p = 0; p < S; p++) acc += (PetscRealPart(row[sidx[p]]) - mean[i]) * (PetscRealPart(row[sidx[p]]) - mean[i]);
    else
      for (PetscInt p = 0; p < S; p++) acc += PetscRealPart(row[sidx[p]]);
    sums[i] = acc;
  }
  PetscCall(PetscFree(sidx));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataGetBatch(TnData data, PetscInt s0, Vec xnat, PetscInt *valid)
{
  PetscFunctionBeginUser;
  PetscCall(TnDataGetBatchPart(data, TN_DATA_ALL, s0, xnat, valid));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* In the delivered representation: log p_z = log p_x - logjac. */
PetscErrorCode TnDataExactLogDensity(TnData data, TnDataPart part, PetscInt s0, PetscInt B, PetscReal logp[], PetscBool *known)
{
  PetscReal c = data->std_applied ? data->logjac : 0;
  PetscInt  v;
  PetscFunctionBeginUser;
  PetscCheck(data->x, PETSC_COMM_SELF, PETSC_ERR_ORDER, "call TnDataLoad() first");
  *known = data->logp ? PETSC_TRUE : PETSC_FALSE;
  if (!data->logp) PetscFunctionReturn(PETSC_SUCCESS);
  v = PetscMax(0, PetscMin(B, PartSize(data, part) - s0));
  for (PetscInt b = 0; b < B; b++) logp[b] = b < v ? data->logp[Index(data, part, s0 + b)] - c : 0.0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataExactEntropy(TnData data, PetscReal *H, PetscBool *known)
{
  PetscFunctionBeginUser;
  PetscCheck(data->x, PETSC_COMM_SELF, PETSC_ERR_ORDER, "call TnDataLoad() first");
  *H     = data->H + (data->std_applied ? data->logjac : 0);
  *known = data->Hknown;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataGetExactMean(TnData data, Vec mean, PetscBool *known)
{
  PetscBool    mix, file;
  PetscScalar *m;
  PetscFunctionBeginUser;
  PetscCheck(data->x, data->comm, PETSC_ERR_ORDER, "call TnDataLoad() first");
  PetscCall(PetscStrcmp(data->type, TNDATA_MIXTURE, &mix));
  file   = (PetscBool)(!data->gen.sample && !data->logp);
  *known = (PetscBool)!file;
  PetscCall(VecGetArrayWrite(mean, &m));
  for (PetscInt i = data->rstart; i < data->rend; i++) m[i - data->rstart] = 0;
  if (mix) {
    PetscInt         K;
    const PetscReal *w, *mu;
    PetscCall(TnDataGetMixture(data, &K, &w, &mu, NULL));
    for (PetscInt k = 0; k < K; k++)
      for (PetscInt i = data->rstart; i < data->rend; i++) m[i - data->rstart] += w[k] * mu[k * data->N + i];
  }
  PetscCall(VecRestoreArrayWrite(mean, &m));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Source_Describe(TnData data, char buf[], size_t len)
{
  PetscBool normal, gmrf, gauss, mix;
  PetscFunctionBeginUser;
  PetscCall(PetscStrcmp(data->type, TNDATA_NORMAL, &normal));
  PetscCall(PetscStrcmp(data->type, TNDATA_GMRF2D, &gmrf));
  PetscCall(PetscStrcmp(data->type, TNDATA_GAUSS, &gauss));
  PetscCall(PetscStrcmp(data->type, TNDATA_MIXTURE, &mix));
  if (normal)
    PetscCall(PetscSNPrintf(buf, len, "%" PetscInt_FMT " standard-normal samples (seed %" PetscInt_FMT ")", data->S, data->seed));
  else if (gmrf)
    PetscCall(PetscSNPrintf(buf, len, "%" PetscInt_FMT " gmrf2d samples (n = %" PetscInt_FMT ", tau = %g, kappa^2 = %g, seed %" PetscInt_FMT ")", data->S, (PetscInt)round(PetscSqrtReal((PetscReal)data->N)), (double)data->gmrf_tau, (double)data->gmrf_kappa2, data->seed));
  else if (gauss && !data->file[0])
    PetscCall(PetscSNPrintf(buf, len, "%" PetscInt_FMT " gauss samples (Q = %s, seed %" PetscInt_FMT ")", data->S, data->gauss_Q, data->seed));
  else if (gauss)
    PetscCall(PetscSNPrintf(buf, len, "%" PetscInt_FMT " samples from %s under gauss Q = %s", data->S, data->file, data->gauss_Q));
  else if (mix)
    PetscCall(PetscSNPrintf(buf, len, "%" PetscInt_FMT " mixture samples (K = %" PetscInt_FMT "%s, seed %" PetscInt_FMT ")", data->S, data->mix_K, data->mix_diag ? ", diagonal" : "", data->seed));
  else
    PetscCall(PetscSNPrintf(buf, len, "%" PetscInt_FMT " samples from %s", data->S, data->file));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataDescribe(TnData data, char buf[], size_t len)
{
  char      extra[384] = "";
  size_t    used;
  PetscReal H, c = data->std_applied ? data->logjac : 0;
  PetscBool known;
  PetscFunctionBeginUser;
  PetscCall(Source_Describe(data, buf, len));
  if (data->x && (data->Svalid || data->dequantize || data->std_applied)) {
    PetscCall(PetscSNPrintf(extra, sizeof(extra), "; %" PetscInt_FMT " train / %" PetscInt_FMT " valid%s%s", data->Strain, data->Svalid, data->dequantize ? ", dequantised" : "", data->std_applied ? ", standardised" : ""));
    PetscCall(PetscStrlcat(buf, extra, len));
  }
  if (data->x && data->std_applied) {
    PetscCall(PetscSNPrintf(extra, sizeof(extra), " (log-Jacobian -sum log sd = %.10g nats)", (double)data->logjac));
    PetscCall(PetscStrlcat(buf, extra, len));
  }
  if (data->x) {
    PetscCall(TnDataExactEntropy(data, &H, &known));
    H -= c; /* reported in the data's own space */
    if (known)
      PetscCall(PetscSNPrintf(extra, sizeof(extra), "; exact entropy H = %.10g nats (%.8g bits/dim)", (double)H, (double)(H / (data->N * M_LN2))));
    else if (data->Hestimate)
      PetscCall(PetscSNPrintf(extra, sizeof(extra), "; entropy H ~ %.10g +- %.3g nats (Monte Carlo estimate over the samples, not exact)", (double)H, (double)data->Hse));
    else
      extra[0] = 0;
    PetscCall(PetscStrlcat(buf, extra, len));
  }
  if (data->x && data->logp) {
    PetscReal m = 0;
    for (PetscInt s = 0; s < data->S; s++) m += data->logp[s] / data->S; /* data space */
    PetscCall(PetscSNPrintf(extra, sizeof(extra), "; exact mean -log p of these samples = %.10g nats", (double)-m));
    PetscCall(PetscStrlcat(buf, extra, len));
  }
  PetscCall(PetscStrlen(buf, &used));
  PetscFunctionReturn(PETSC_SUCCESS);
}
