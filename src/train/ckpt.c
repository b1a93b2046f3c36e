/* Checkpoints and model files: HDF5 through PETSc's viewer (parallel HDF5),
   datasets of the canonical order (canon.c) of length nnz + 2N as doubles
   (row and col are integers stored exactly as doubles): row, col, theta, and
   for a checkpoint m, v and best; attributes on "/" hold the metadata.
   Written to path.tmp, fsync'ed, renamed and the directory fsync'ed
   (TnCommitBegin/End, tenor/io.h): a crash at any moment leaves the
   previous file intact. Loading compares the metadata and the pattern
   and names the first mismatch. */
#include "trainimpl.h"
#include <tenor/io.h>
#include <petscviewerhdf5.h>
#include <string.h>

PetscLogEvent TN_CkptWrite;

/* theta-layout vector -> dataset `name` in the canonical order. */
static PetscErrorCode WriteCanon(TnTrain tr, PetscViewer vw, const char name[], Vec v)
{
  PetscFunctionBeginUser;
  PetscCall(VecScatterBegin(tr->canon.sct, v, tr->canon.canon, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(tr->canon.sct, v, tr->canon.canon, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(PetscObjectSetName((PetscObject)tr->canon.canon, name));
  PetscCall(VecView(tr->canon.canon, vw));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The inverse; every value checked to be finite and in [lo, hi]. */
static PetscErrorCode ReadCanon(TnTrain tr, PetscViewer vw, const char path[], const char name[], PetscReal lo, PetscReal hi, Vec v)
{
  PetscFunctionBeginUser;
  PetscCall(PetscObjectSetName((PetscObject)tr->canon.canon, name));
  PetscCall(VecLoad(tr->canon.canon, vw));
  PetscCall(TnH5CheckValues(tr->canon.canon, path, name, lo, hi));
  PetscCall(VecScatterBegin(tr->canon.sct, tr->canon.canon, v, INSERT_VALUES, SCATTER_REVERSE));
  PetscCall(VecScatterEnd(tr->canon.sct, tr->canon.canon, v, INSERT_VALUES, SCATTER_REVERSE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A moment vector as a dataset: the Vec (double), or the float array
   (-train_moments_single) widened exactly, or zeros (v of SGD). */
static PetscErrorCode WriteMoment(TnTrain tr, PetscViewer vw, const char name[], Vec V, const float *F)
{
  Vec          aux;
  PetscScalar *a;
  PetscInt     n;
  PetscFunctionBeginUser;
  if (V) {
    PetscCall(WriteCanon(tr, vw, name, V));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(VecDuplicate(tr->theta, &aux));
  PetscCall(VecGetLocalSize(aux, &n));
  PetscCall(VecGetArrayWrite(aux, &a));
  for (PetscInt q = 0; q < n; q++) a[q] = F ? (PetscScalar)F[q] : 0.0;
  PetscCall(VecRestoreArrayWrite(aux, &a));
  PetscCall(WriteCanon(tr, vw, name, aux));
  PetscCall(VecDestroy(&aux));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The inverse: into V, or narrowed into F (exact: a single-precision run
   wrote the values, CheckCompatible made sure), or nowhere (v of SGD). */
static PetscErrorCode ReadMoment(TnTrain tr, PetscViewer vw, const char path[], const char name[], PetscReal lo, Vec V, float *F)
{
  Vec                aux;
  const PetscScalar *a;
  PetscInt           n;
  PetscFunctionBeginUser;
  if (V) {
    PetscCall(ReadCanon(tr, vw, path, name, lo, PETSC_MAX_REAL, V));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (!F) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(VecDuplicate(tr->theta, &aux));
  PetscCall(ReadCanon(tr, vw, path, name, lo, PETSC_MAX_REAL, aux));
  PetscCall(VecGetLocalSize(aux, &n));
  PetscCall(VecGetArrayRead(aux, &a));
  for (PetscInt q = 0; q < n; q++) F[q] = (float)a[q];
  PetscCall(VecRestoreArrayRead(aux, &a));
  PetscCall(VecDestroy(&aux));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The natural row (which = 0) or column (which = 1) of theta's entries. */
static PetscErrorCode MapVec(TnTrain tr, PetscInt which, Vec v)
{
  const PetscInt *row, *col;
  PetscScalar    *a;
  PetscInt        n;
  PetscFunctionBeginUser;
  PetscCall(TnGradGetParamMap(tr->grad, &row, &col));
  PetscCall(VecGetLocalSize(v, &n));
  PetscCall(VecGetArrayWrite(v, &a));
  for (PetscInt q = 0; q < n; q++) a[q] = (PetscScalar)(which ? col[q] : row[q]);
  PetscCall(VecRestoreArrayWrite(v, &a));
  PetscCall(TnGradRestoreParamMap(tr->grad, &row, &col));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Self-description for readers other than tenor: the layout of the
   datasets and the units (read by no one here). */
static PetscErrorCode WriteLayout(PetscViewer vw)
{
  PetscFunctionBeginUser;
  PetscCall(TnH5PutStr(vw, "theta_layout", "row, col, theta: one entry per parameter, length nnz + 2N, sorted by natural row i (0-based), within a row: col = -2: theta = u_i = log gamma_i (gamma = exp(u)); col = -1: theta = b_i; col = j >= 0: theta = W_ij (presynaptic j), ascending j. row and col are integers stored exactly as doubles"));
  PetscCall(TnH5PutStr(vw, "units", "theta, W, b: dimensionless (the state is the data after preprocessing, z); gamma: 1 / unit time; h: unit time (T = h K); data_mean, data_sd: units of the data x, z = (x - data_mean) / data_sd; sum_log_sd, losses: nats"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The network and dynamics: what a model needs to be evaluated again. */
static PetscErrorCode WriteModelMeta(TnTrain tr, PetscViewer vw)
{
  const char *ntype;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetType(tr->net, &ntype));
  PetscCall(TnH5PutInt(vw, "version", TN_FILE_VERSION));
  PetscCall(TnH5PutInt(vw, "N", tr->N));
  PetscCall(TnH5PutInt(vw, "nnz", tr->nnz));
  PetscCall(TnH5PutStr(vw, "net_type", ntype));
  PetscCall(TnDynWriteAttributes(tr->dyn, vw));
  PetscCall(WriteLayout(vw));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A fingerprint of the partition (which natural node each rank owns): a
   restart with another partition continues only to round-off, not bitwise. */
static PetscErrorCode PartitionHash(TnTrain tr, PetscReal *hash, PetscMPIInt *size)
{
  const PetscInt *nat;
  PetscMPIInt     rank;
  uint64_t        h = 0, g = 0;
  TnParamLayout   L;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(tr->comm, &rank));
  PetscCallMPI(MPI_Comm_size(tr->comm, size));
  PetscCall(TnNetGetNatural(tr->net, &nat));
  PetscCall(TnNetGetParamLayout(tr->net, &L));
  for (PetscInt i = 0; i < L.m; i++) h += TnRandU64((uint64_t)rank, 31, (uint64_t)nat[i] * 65536 + (uint64_t)i);
  PetscCallMPI(MPI_Allreduce(&h, &g, 1, MPI_UINT64_T, MPI_SUM, tr->comm));
  *hash = (PetscReal)(g >> 12); /* 52 bits, exact in a double */
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The training state beyond the vectors. */
static PetscErrorCode WriteTrainMeta(TnTrain tr, PetscViewer vw, PetscReal hash, PetscMPIInt size)
{
  const TnTrainInfo *in = &tr->info;
  PetscFunctionBeginUser;
  PetscCall(TnH5PutStr(vw, "optimizer", TnOptimizerTypes[tr->opt]));
  PetscCall(TnH5PutStr(vw, "moments", tr->single ? "single" : "double"));
  PetscCall(TnH5PutInt(vw, "batch", tr->B));
  PetscCall(TnH5PutInt(vw, "train_samples", tr->Strain));
  PetscCall(TnH5PutInt(vw, "valid_samples", tr->Svalid));
  PetscCall(TnH5PutInt(vw, "shuffle_seed", tr->seed));
  PetscCall(TnH5PutInt(vw, "step", in->step));
  PetscCall(TnH5PutInt(vw, "epoch", in->epoch));
  PetscCall(TnH5PutInt(vw, "pos", in->pos));
  PetscCall(TnH5PutInt(vw, "shrunk", in->shrunk));
  PetscCall(TnH5PutInt(vw, "halvings", in->halvings));
  PetscCall(TnH5PutInt(vw, "skipped", in->skipped));
  PetscCall(TnH5PutInt(vw, "best_step", in->best_step));
  PetscCall(TnH5PutInt(vw, "bad_evals", tr->bad_evals));
  PetscCall(TnH5PutInt(vw, "loss_count", tr->loss_count));
  PetscCall(TnH5PutReal(vw, "loss_sum", tr->loss_sum));
  PetscCall(TnH5PutReal(vw, "best_valid", in->best_valid));
  PetscCall(TnH5PutReal(vw, "valid_loss", in->valid_loss));
  PetscCall(TnH5PutReal(vw, "lr", in->lr));
  PetscCall(TnH5PutReal(vw, "grad_norm", in->gnorm));
  PetscCall(TnH5PutInt(vw, "ranks", size));
  PetscCall(TnH5PutReal(vw, "partition_hash", hash));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One stage of writing a file, run with PETSc's error printing off; ok
   turns false on every rank when the stage failed on any (a full disk fails
   the MPI-IO of some ranks only), and the later stages are skipped, so no
   rank waits in a collective write the others left. Each stage's own
   communication happens before its I/O. */
#define TN_WRITE_STAGE(comm, ok, call)                                              \
  do {                                                                              \
    if (ok) {                                                                       \
      PetscErrorCode e_;                                                            \
      int            good_;                                                         \
      PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));              \
      e_ = (call);                                                                  \
      PetscCall(PetscPopErrorHandler());                                            \
      good_ = !e_;                                                                  \
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &good_, 1, MPI_INT, MPI_MIN, comm)); \
      ok = (PetscBool)good_;                                                        \
    }                                                                               \
  } while (0)

static PetscErrorCode WriteMap(TnTrain tr, PetscViewer vw, PetscInt which, Vec aux)
{
  PetscFunctionBeginUser;
  PetscCall(MapVec(tr, which, aux));
  PetscCall(WriteCanon(tr, vw, which ? "col" : "row", aux));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The rule that trained the parameters: train_rule, and for a local rule
   its settings and counters (rule_*; a checkpoint's restart continues them). */
static PetscErrorCode WriteHead(TnTrain tr, PetscViewer vw, PetscBool ckpt)
{
  PetscFunctionBeginUser;
  PetscCall(TnH5PutStr(vw, "format", ckpt ? "tenor-checkpoint" : "tenor-model"));
  PetscCall(WriteModelMeta(tr, vw));
  PetscCall(TnH5PutStr(vw, "train_rule", TnTrainRuleTypes[tr->rule_kind]));
  if (TnTrainRuleUsesTnRule(tr->rule_kind)) PetscCall(TnRuleWriteAttributes(tr->rule, vw));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The preprocessing of the training data, so that a model is evaluated and
   sampled in the data's own space (model.c, TnModelGetPreprocessing):
   attributes dequantize (0/1) and dequantize_width (u ~ U(0, width)),
   standardize (0/1) and sum_log_sd = sum_i log sd_i; when standardised,
   the datasets data_mean and data_sd (length N, natural order; made by the
   caller before the file is opened), with z = (x - data_mean) / data_sd. */
static PetscErrorCode WritePreprocessing(TnTrain tr, PetscViewer vw, Vec mean, Vec sd)
{
  PetscBool deq, std;
  PetscReal c;
  PetscFunctionBeginUser;
  PetscCall(TnDataGetPreprocessing(tr->data, &deq, NULL, &std));
  PetscCall(TnDataGetLogJacobian(tr->data, &c));
  PetscCall(TnH5PutInt(vw, "dequantize", deq));
  PetscCall(TnH5PutReal(vw, "dequantize_width", deq ? TN_DATA_DEQUANTIZE_WIDTH : 0));
  PetscCall(TnH5PutInt(vw, "standardize", std));
  PetscCall(TnH5PutReal(vw, "sum_log_sd", -c));
  if (mean) {
    PetscCall(VecView(mean, vw));
    PetscCall(VecView(sd, vw));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The conditional part of the model (docs/conditional.md, docs/predict.md):
   attribute clamped (the number of clamped nodes) and, when positive, the
   dataset clamp (their natural numbers, ascending, as doubles); attribute
   classes (C label nodes, the last C nodes; 0: none) and, when positive,
   the dataset class_prior (C shares of the training labels). A per-class
   model (-data_class) also has class_index c, class_count C and
   class_index_prior pi_c (the share of class c among all labels). Made by
   MakeConditional before the file is opened. */
static PetscErrorCode WriteConditional(TnTrain tr, PetscViewer vw, PetscInt nclamp, Vec clamp, PetscInt C, Vec prior)
{
  PetscInt  sel, selC;
  PetscReal selprior;
  PetscFunctionBeginUser;
  PetscCall(TnDataGetClassSelect(tr->data, &sel, &selC, &selprior));
  if (sel >= 0) { /* a per-class model of p(x | class_index): tenor predict -model m0.h5,m1.h5,... */
    PetscCall(TnH5PutInt(vw, "class_index", sel));
    PetscCall(TnH5PutInt(vw, "class_count", selC));
    PetscCall(TnH5PutReal(vw, "class_index_prior", selprior));
  }
  PetscCall(TnH5PutInt(vw, "clamped", nclamp));
  PetscCall(TnH5PutInt(vw, "classes", C));
  if (clamp) PetscCall(VecView(clamp, vw));
  if (prior) PetscCall(VecView(prior, vw));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode MakeConditional(TnTrain tr, PetscInt *nclamp, Vec *clamp, PetscInt *C, Vec *prior)
{
  Vec                mask;
  const PetscScalar *m;
  PetscInt           n, rs, k = 0, nloc = 0;
  PetscFunctionBeginUser;
  *clamp = *prior = NULL;
  PetscCall(TnDynGetClamp(tr->dyn, nclamp, NULL, NULL));
  PetscCall(TnDataGetClasses(tr->data, C));
  if (*nclamp) {
    PetscCall(VecCreateMPI(tr->comm, PETSC_DECIDE, tr->N, &mask));
    PetscCall(TnDynGetClampMask(tr->dyn, mask));
    PetscCall(VecGetLocalSize(mask, &n));
    PetscCall(VecGetOwnershipRange(mask, &rs, NULL));
    PetscCall(VecGetArrayRead(mask, &m));
    for (PetscInt i = 0; i < n; i++) nloc += PetscRealPart(m[i]) != 0;
    PetscCall(VecCreateMPI(tr->comm, nloc, *nclamp, clamp));
    PetscCall(PetscObjectSetName((PetscObject)*clamp, "clamp"));
    {
      PetscScalar *c;
      PetscCall(VecGetArrayWrite(*clamp, &c));
      for (PetscInt i = 0; i < n; i++)
        if (PetscRealPart(m[i]) != 0) c[k++] = rs + i;
      PetscCall(VecRestoreArrayWrite(*clamp, &c));
    }
    PetscCall(VecRestoreArrayRead(mask, &m));
    PetscCall(VecDestroy(&mask));
  }
  if (*C) {
    PetscReal   *p;
    PetscScalar *v;
    PetscMPIInt  rank;
    PetscCallMPI(MPI_Comm_rank(tr->comm, &rank));
    PetscCall(PetscMalloc1(*C, &p));
    PetscCall(TnDataGetClassPriors(tr->data, p));
    PetscCall(VecCreateMPI(tr->comm, rank ? 0 : *C, *C, prior));
    PetscCall(PetscObjectSetName((PetscObject)*prior, "class_prior"));
    PetscCall(VecGetArrayWrite(*prior, &v));
    for (PetscInt c = 0; c < (rank ? 0 : *C); c++) v[c] = p[c];
    PetscCall(VecRestoreArrayWrite(*prior, &v));
    PetscCall(PetscFree(p));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainWriteFile(TnTrain tr, const char path[], PetscBool ckpt)
{
  Vec         clamp, prior;
  PetscInt    nclamp, C;
  PetscViewer vw = NULL;
  Vec         aux, mean = NULL, sd = NULL;
  char        tmp[PETSC_MAX_PATH_LEN + 8];
  PetscReal   hash;
  PetscBool   std;
  PetscMPIInt size;
  PetscBool   ok   = PETSC_TRUE;
  MPI_Comm    comm = tr->comm;
  PetscFunctionBeginUser;
  PetscCall(TnTrainSetUp(tr));
  if (!TN_CkptWrite) PetscCall(PetscLogEventRegister("CkptWrite", TN_CLASSID, &TN_CkptWrite));
  PetscCall(PetscLogEventBegin(TN_CkptWrite, 0, 0, 0, 0));
  PetscCall(TnCanonSetUp(tr));
  /* everything that communicates beyond the file, before it is opened */
  PetscCall(VecDuplicate(tr->theta, &aux));
  PetscCall(PartitionHash(tr, &hash, &size));
  PetscCall(TnDataGetPreprocessing(tr->data, NULL, NULL, &std));
  if (std) { /* standardised data: the statistics travel with the model */
    PetscCall(VecCreateMPI(comm, PETSC_DECIDE, tr->N, &mean));
    PetscCall(VecDuplicate(mean, &sd));
    PetscCall(TnDataGetStandardization(tr->data, mean, sd));
    PetscCall(PetscObjectSetName((PetscObject)mean, "data_mean"));
    PetscCall(PetscObjectSetName((PetscObject)sd, "data_sd"));
  }
  PetscCall(MakeConditional(tr, &nclamp, &clamp, &C, &prior));
  /* the datasets (3, a checkpoint 6, of nnz + 2N doubles; the statistics 2N),
     their chunk overhead and the metadata */
  PetscCall(TnCommitCheckSpace(comm, path, 1.25 * 8 * ((ckpt ? 6.0 : 3.0) * (tr->nnz + 2.0 * tr->N) + (mean ? 2.0 * tr->N : 0) + (double)nclamp + (double)C) + 65536));
  PetscCall(TnCommitBegin(comm, path, tmp, sizeof(tmp)));
  TN_WRITE_STAGE(comm, ok, PetscViewerHDF5Open(comm, tmp, FILE_MODE_WRITE, &vw));
  TN_WRITE_STAGE(comm, ok, WriteMap(tr, vw, 0, aux));
  TN_WRITE_STAGE(comm, ok, WriteMap(tr, vw, 1, aux));
  TN_WRITE_STAGE(comm, ok, WriteCanon(tr, vw, "theta", tr->theta));
  TN_WRITE_STAGE(comm, ok, WriteHead(tr, vw, ckpt));
  if (ckpt) {
    TN_WRITE_STAGE(comm, ok, WriteMoment(tr, vw, "m", tr->m, tr->mf));
    TN_WRITE_STAGE(comm, ok, WriteMoment(tr, vw, "v", tr->v, tr->vf));
    TN_WRITE_STAGE(comm, ok, WriteCanon(tr, vw, "best", tr->best ? tr->best : tr->theta)); /* without -train_keep_best, theta stands in */
    TN_WRITE_STAGE(comm, ok, WriteTrainMeta(tr, vw, hash, size));
  }
  TN_WRITE_STAGE(comm, ok, WritePreprocessing(tr, vw, mean, sd));
  TN_WRITE_STAGE(comm, ok, WriteConditional(tr, vw, nclamp, clamp, C, prior));
  if (vw) { /* closed also after a failure: the temporary is then removed */
    PetscBool closed = PETSC_TRUE;
    TN_WRITE_STAGE(comm, closed, PetscViewerDestroy(&vw));
    ok = (PetscBool)(ok && closed);
  }
  PetscCall(VecDestroy(&aux));
  PetscCall(VecDestroy(&mean));
  PetscCall(VecDestroy(&sd));
  PetscCall(VecDestroy(&clamp));
  PetscCall(VecDestroy(&prior));
  PetscCall(TnCanonDestroy(&tr->canon));
  PetscCall(TnCommitEnd(comm, tmp, path, ok));
  PetscCall(PetscLogEventEnd(TN_CkptWrite, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainWriteCheckpoint(TnTrain tr, const char path[])
{
  PetscFunctionBeginUser;
  PetscCall(TnTrainWriteFile(tr, path, PETSC_TRUE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainSaveModel(TnTrain tr, const char path[])
{
  PetscFunctionBeginUser;
  PetscCall(TnTrainWriteFile(tr, path, PETSC_FALSE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode ExpectInt(PetscViewer vw, const char path[], const char name[], PetscInt64 here, const char what[])
{
  PetscReal v;
  PetscFunctionBeginUser;
  PetscCall(TnH5GetReal(vw, path, name, &v));
  PetscCheck((PetscInt64)v == here, PetscObjectComm((PetscObject)vw), PETSC_ERR_USER, "%s does not match this run: %s is %" PetscInt64_FMT " in the file but %" PetscInt64_FMT " here (%s)", path, name, (PetscInt64)v, here, what);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode ExpectStr(PetscViewer vw, const char path[], const char name[], const char here[])
{
  char      v[256];
  PetscBool same;
  PetscFunctionBeginUser;
  PetscCall(TnH5GetStr(vw, path, name, v, sizeof(v)));
  PetscCall(PetscStrcmp(v, here, &same));
  PetscCheck(same, PetscObjectComm((PetscObject)vw), PETSC_ERR_USER, "%s does not match this run: %s is '%s' in the file but '%s' here", path, name, v, here);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Every setting that changes what the parameters mean, or which batch comes
   next, must agree. */
static PetscErrorCode CheckCompatible(TnTrain tr, PetscViewer vw, const char path[])
{
  TnScheme     scheme;
  TnForm       form;
  TnAct        act;
  TnBase       base;
  TnLogDetType ldt;
  PetscReal    h, hf;
  PetscInt     K;
  char         fmt[64];
  PetscFunctionBeginUser;
  PetscCall(TnH5GetStr(vw, path, "format", fmt, sizeof(fmt)));
  PetscCheck(!strcmp(fmt, "tenor-checkpoint"), tr->comm, PETSC_ERR_USER, "%s is a '%s' file, not a tenor checkpoint", path, fmt);
  PetscCall(ExpectInt(vw, path, "version", TN_FILE_VERSION, "file format version"));
  PetscCall(TnDynGetParams(tr->dyn, &scheme, &form, &act, &h, &K, NULL));
  PetscCall(TnDynGetLoss(tr->dyn, &ldt, &base));
  PetscCall(ExpectInt(vw, path, "N", tr->N, "network size: -net_n"));
  PetscCall(ExpectInt(vw, path, "nnz", tr->nnz, "number of synapses: the network pattern"));
  PetscCall(ExpectStr(vw, path, "scheme", scheme));
  PetscCall(ExpectStr(vw, path, "form", TnFormTypes[form]));
  PetscCall(ExpectStr(vw, path, "act", TnActTypes[act]));
  PetscCall(ExpectStr(vw, path, "base", TnBaseTypes[base]));
  PetscCall(ExpectStr(vw, path, "logdet", TnLogDetTypes[ldt]));
  PetscCall(TnH5GetReal(vw, path, "h", &hf));
  PetscCheck(hf == h, tr->comm, PETSC_ERR_USER, "%s does not match this run: h is %.17g in the file but %.17g here (-dyn_h)", path, (double)hf, (double)h);
  PetscCall(ExpectInt(vw, path, "K", K, "-dyn_steps"));
  {
    PetscBool has;
    PetscInt  rule = TN_TRAIN_RULE_GRADIENT; /* files before the rules: gradient */
    PetscCall(TnH5HasAttr(vw, "train_rule", &has));
    if (has) PetscCall(TnH5GetChoice(vw, path, "train_rule", TnTrainRuleTypes, TN_TRAIN_NRULES, &rule));
    PetscCheck(rule == (PetscInt)tr->rule_kind, tr->comm, PETSC_ERR_USER, "%s does not match this run: it was written by -train_rule %s, this run has -train_rule %s; a restart continues the rule it was trained with", path, TnTrainRuleTypes[rule], TnTrainRuleTypes[tr->rule_kind]);
    if (TnTrainRuleUsesTnRule((TnTrainRule)rule)) PetscCall(TnRuleReadAttributes(tr->rule, vw, path));
  }
  PetscCall(ExpectStr(vw, path, "optimizer", TnOptimizerTypes[tr->opt]));
  {
    PetscBool has;
    PetscCall(PetscViewerHDF5HasAttribute(vw, "/", "moments", &has)); /* files before it was an option: double */
    if (has)
      PetscCall(ExpectStr(vw, path, "moments", tr->single ? "single" : "double"));
    else
      PetscCheck(!tr->single, tr->comm, PETSC_ERR_USER, "%s does not match this run: its moments are in double precision, -train_moments_single is set", path);
  }
  PetscCall(ExpectInt(vw, path, "batch", tr->B, "-dyn_batch"));
  PetscCall(ExpectInt(vw, path, "train_samples", tr->Strain, "training samples: -data_samples, -data_valid_fraction"));
  PetscCall(ExpectInt(vw, path, "valid_samples", tr->Svalid, "validation samples"));
  PetscCall(ExpectInt(vw, path, "shuffle_seed", tr->seed, "-train_seed"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The file's (row, col) must be this network's, entry by entry. */
static PetscErrorCode CheckPattern(TnTrain tr, PetscViewer vw, const char path[])
{
  Vec                mine, theirs;
  const PetscScalar *a, *b;
  PetscInt           n, rs;
  PetscReal          loc[3] = {-1, 0, 0}, glob[3];
  PetscFunctionBeginUser;
  PetscCall(VecDuplicate(tr->theta, &mine));
  PetscCall(VecDuplicate(tr->theta, &theirs));
  PetscCall(VecGetOwnershipRange(tr->theta, &rs, NULL));
  for (PetscInt which = 0; which < 2; which++) {
    PetscCall(MapVec(tr, which, mine));
    PetscCall(ReadCanon(tr, vw, path, which ? "col" : "row", -2, tr->N - 1, theirs));
    PetscCall(VecGetLocalSize(mine, &n));
    PetscCall(VecGetArrayRead(mine, &a));
    PetscCall(VecGetArrayRead(theirs, &b));
    for (PetscInt q = 0; q < n && loc[0] < 0; q++)
      if (a[q] != b[q]) loc[0] = (PetscReal)tr->canon.pos[q], loc[1] = which, loc[2] = b[q];
    PetscCall(VecRestoreArrayRead(mine, &a));
    PetscCall(VecRestoreArrayRead(theirs, &b));
  }
  PetscCall(MPIU_Allreduce(loc, glob, 3, MPIU_REAL, MPIU_MAX, tr->comm));
  PetscCall(VecDestroy(&mine));
  PetscCall(VecDestroy(&theirs));
  PetscCheck(glob[0]<0, tr->comm, PETSC_ERR_USER, "%s does not match this run: the network pattern differs (parameter %.0f in the sorted order has a different %s); the same -net_* options are needed", path, (double)glob[0], glob[1]> 0 ? "column" : "row");
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The counters and losses, each checked against what a run can have
   written: counts are integers, step = epoch * nbatch + pos with
   0 <= pos < nbatch (every step advances pos, an epoch wraps it), the other
   counters at most what step allows, losses finite. */
static PetscErrorCode ReadTrainMeta(TnTrain tr, PetscViewer vw, const char path[])
{
  TnTrainInfo *in  = &tr->info;
  PetscInt64   max = (PetscInt64)1 << 53, nb = tr->info.nbatch;
  PetscFunctionBeginUser;
  PetscCall(TnH5GetInt(vw, path, "epoch", 0, PETSC_MAX_INT - 1, &in->epoch));
  PetscCall(TnH5GetInt(vw, path, "pos", 0, nb - 1, &in->pos));
  PetscCall(TnH5GetInt(vw, path, "step", 0, max, &in->step));
  PetscCheck(in->step == in->epoch * nb + in->pos, tr->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute 'step' = %" PetscInt64_FMT ", expected epoch * batches per epoch + pos = %" PetscInt64_FMT " * %" PetscInt64_FMT " + %" PetscInt64_FMT " (a damaged checkpoint?)", path, in->step, in->epoch, nb, in->pos);
  PetscCall(TnH5GetInt(vw, path, "shrunk", 0, in->step, &in->shrunk));
  PetscCall(TnH5GetInt(vw, path, "skipped", 0, in->step, &in->skipped));
  PetscCall(TnH5GetInt(vw, path, "halvings", 0, max, &in->halvings));
  PetscCall(TnH5GetInt(vw, path, "best_step", -1, in->step, &in->best_step));
  PetscCall(TnH5GetInt(vw, path, "bad_evals", 0, in->step, &tr->bad_evals));
  PetscCall(TnH5GetInt(vw, path, "loss_count", 0, in->step, &tr->loss_count));
  PetscCall(TnH5GetReal(vw, path, "loss_sum", &tr->loss_sum));
  PetscCall(TnH5GetReal(vw, path, "best_valid", &in->best_valid));
  PetscCall(TnH5GetReal(vw, path, "valid_loss", &in->valid_loss));
  PetscCall(TnH5GetRealIn(vw, path, "lr", 0, PETSC_MAX_REAL, &in->lr));
  PetscCall(TnH5GetRealIn(vw, path, "grad_norm", 0, PETSC_MAX_REAL, &in->gnorm));
  {
    PetscReal   hash, fhash;
    PetscMPIInt size;
    PetscCall(PartitionHash(tr, &hash, &size));
    PetscInt64 franks;
    PetscCall(TnH5GetInt(vw, path, "ranks", 1, PETSC_MPI_INT_MAX, &franks));
    PetscCall(TnH5GetReal(vw, path, "partition_hash", &fhash));
    if ((PetscMPIInt)franks != size)
      PetscCall(PetscPrintf(tr->comm, "note: %s was written on %d rank(s), this run has %d: the continuation equals an uninterrupted run to round-off, not bit for bit\n", path, (int)franks, size));
    else if (fhash != hash)
      PetscCall(PetscPrintf(tr->comm, "warning: the network's partition differs from the one %s was written with (a partitioner that is not reproducible run to run): the continuation equals an uninterrupted run to round-off, not bit for bit; -partition_type none is reproducible\n", path));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainLoadCheckpoint(TnTrain tr, const char path[])
{
  PetscViewer vw;
  PetscFunctionBeginUser;
  PetscCall(TnTrainSetUp(tr));
  PetscCall(TnH5OpenRead(tr->comm, path, "-train_restart", &vw));
  PetscCall(CheckCompatible(tr, vw, path));
  for (PetscInt k = 0; k < 6; k++) PetscCall(TnH5CheckLength(vw, path, (const char *[]){"row", "col", "theta", "m", "v", "best"}[k], tr->nnz + 2 * (PetscInt64)tr->N));
  PetscCall(TnCanonSetUp(tr));
  PetscCall(CheckPattern(tr, vw, path));
  PetscCall(ReadCanon(tr, vw, path, "theta", -PETSC_MAX_REAL, PETSC_MAX_REAL, tr->theta));
  PetscCall(ReadMoment(tr, vw, path, "m", -PETSC_MAX_REAL, tr->m, tr->mf));
  PetscCall(ReadMoment(tr, vw, path, "v", 0, tr->v, tr->vf));
  PetscCall(ReadCanon(tr, vw, path, "best", -PETSC_MAX_REAL, PETSC_MAX_REAL, tr->best ? tr->best : tr->g)); /* checked also when not kept */
  PetscCall(ReadTrainMeta(tr, vw, path));
  PetscCall(PetscViewerDestroy(&vw));
  PetscCall(TnCanonDestroy(&tr->canon));
  PetscCheck(tr->info.step <= tr->info.total || tr->steps == 0, tr->comm, PETSC_ERR_USER, "the checkpoint %s is at step %" PetscInt64_FMT ", past this run's budget of %" PetscInt64_FMT " steps", path, tr->info.step, tr->info.total);
  PetscCall(TnGradSetParams(tr->grad, tr->theta));
  tr->shuffled  = PETSC_FALSE;
  tr->restarted = PETSC_TRUE;
  tr->step_last = tr->info.step;
  PetscFunctionReturn(PETSC_SUCCESS);
}
