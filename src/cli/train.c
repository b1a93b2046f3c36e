/* tenor train: minimise the mean -log Phi over the training samples
   (MODEL.md section 5; docs/training.md), with validation, metrics,
   checkpoints that survive interruption, and a saved model that
   `tenor logdensity -model` evaluates. */
#include "cli.h"
#include <tenor/train.h>
#include <math.h>
#include <signal.h>

/* Defaults of the train command, used for each option not on the command
   line: a lattice network learning the lattice GMRF of the same size, by the
   colored scheme (exact log-det) with a linear activation (the Gaussian data
   lie in the model class). Radius 2 (12 neighbours) and one step: what
   limits a lattice flow on this data is the pattern, not the depth (measured:
   radius 1 stays near 0.92 of the way from the factorised baseline to the
   entropy at any K, radius 2 reaches 0.99 with K = 1; docs/training.md).
   No partitioner: PT-Scotch's partition of the same graph can differ from
   run to run (measured), which would make a restarted run equal to an
   uninterrupted one only to round-off; the lattice's natural strips are a
   good partition anyway. */
static const char *const defaults[][2] = {
    {"-net_type", "lattice2d"},
    {"-partition_type", "none"},
    {"-net_n", "16"},
    {"-net_radius", "2"},
    {"-net_bias", "0"},
    {"-net_scale", "0"},
    {"-data_type", "gmrf2d"},
    {"-data_samples", "16384"},
    {"-data_valid_fraction", "0.125"},
    {"-dyn_scheme", "colored"},
    {"-dyn_act", "linear"},
    {"-dyn_h", "0.5"},
    {"-dyn_steps", "1"},
    {"-dyn_batch", "32"},
    {"-train_epochs", "20"},
    {"-train_lr", "0.05"},
    {"-train_schedule", "cosine"},
};

static PetscErrorCode SetDefaults(void)
{
  PetscBool set, file;
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsHasName(NULL, NULL, "-data_file", &file));
  for (size_t q = 0; q < sizeof(defaults) / sizeof(defaults[0]); q++) {
    PetscCall(PetscOptionsHasName(NULL, NULL, defaults[q][0], &set));
    if (file && !strcmp(defaults[q][0], "-data_type")) continue; /* the type follows the file's name (TnDataSetFromOptions) */
    if (!set) PetscCall(PetscOptionsSetValue(NULL, defaults[q][0], defaults[q][1]));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

typedef struct {
  char           dir[PETSC_MAX_PATH_LEN], model[PETSC_MAX_PATH_LEN], ckpt[PETSC_MAX_PATH_LEN], ckdir[PETSC_MAX_PATH_LEN];
  PetscBool      restart;
  PetscMPIInt    size;
  PetscInt       S;
  PetscReal      valid, all, train;
  PetscLogDouble t_total;
} TnCmdRun;

static PetscErrorCode SetUp(MPI_Comm comm, TnNet *net, TnDyn *dyn, TnData *data, TnTrain *tr, TnCmdRun *run)
{
  PetscInt N;
  char     desc[512];
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(comm, net));
  PetscCall(TnNetSetFromOptions(*net));
  PetscCall(TnNetSetUp(*net));
  PetscCall(TnNetGetSizes(*net, &N, NULL));
  PetscCall(TnNetView(*net, PETSC_VIEWER_STDOUT_(comm)));
  PetscCall(TnDynCreate(*net, dyn));
  PetscCall(TnDynSetFromOptions(*dyn));
  PetscCall(TnDynSetUp(*dyn));
  PetscCall(TnDynView(*dyn, PETSC_VIEWER_STDOUT_(comm)));
  PetscCall(TnDataCreate(comm, data));
  PetscCall(TnDataSetFromOptions(*data));
  PetscCall(TnDataLoad(*data, N));
  PetscCall(TnDataGetNumSamples(*data, &run->S));
  PetscCall(TnDataDescribe(*data, desc, sizeof(desc)));
  PetscCall(PetscPrintf(comm, "data: %s\n", desc));
  PetscCall(TnTrainCreate(*net, *dyn, *data, tr));
  PetscCall(TnTrainSetOutputDir(*tr, run->dir));
  PetscCall(TnTrainSetFromOptions(*tr));
  PetscCall(TnTrainSetUp(*tr));
  PetscCall(TnTrainView(*tr, PETSC_VIEWER_STDOUT_(comm)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Options(MPI_Comm comm, TnCmdRun *run)
{
  char ckdir[PETSC_MAX_PATH_LEN] = "";
  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, "out_", "Output", "tenor");
  PetscCall(PetscOptionsString("-dir", "Directory for train_metrics.csv, train.json, model.h5 (and ckpt.h5)", "", run->dir, run->dir, sizeof(run->dir), NULL));
  PetscOptionsEnd();
  PetscOptionsBegin(comm, "train_", "Training run", "tenor");
  PetscCall(PetscOptionsBool("-restart", "Resume from the checkpoint (ckpt_dir/ckpt.h5) if there is one", "TnTrainLoadCheckpoint", run->restart, &run->restart, NULL));
  PetscCall(PetscOptionsString("-ckpt_dir", "Checkpoint directory (default: the output directory)", "TnTrainSetCheckpoint", ckdir, ckdir, sizeof(ckdir), NULL));
  PetscOptionsEnd();
  PetscCall(PetscSNPrintf(run->model, sizeof(run->model), "%s/model.h5", run->dir));
  PetscCall(PetscSNPrintf(run->ckpt, sizeof(run->ckpt), "%s/ckpt.h5", ckdir[0] ? ckdir : run->dir));
  PetscCall(PetscStrncpy(run->ckdir, ckdir, sizeof(run->ckdir)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Restart(MPI_Comm comm, TnTrain tr, TnCmdRun *run)
{
  PetscBool   exists;
  TnTrainInfo in;
  PetscFunctionBeginUser;
  if (!run->restart) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscTestFile(run->ckpt, 'r', &exists));
  if (!exists) {
    PetscCall(PetscPrintf(comm, "no checkpoint %s: starting from the beginning\n", run->ckpt));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(TnTrainLoadCheckpoint(tr, run->ckpt));
  PetscCall(TnTrainGetInfo(tr, &in));
  PetscCall(PetscPrintf(comm, "resumed from %s at step %" PetscInt64_FMT " (epoch %" PetscInt64_FMT ", batch %" PetscInt64_FMT ")\n", run->ckpt, in.step, in.epoch, in.pos));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void JsonReal(FILE *fp, const char key[], PetscReal v, PetscBool comma)
{
  if (!fp) return;
  if (v < PETSC_MAX_REAL && !isnan((double)v))
    fprintf(fp, "\"%s\": %.17g%s", key, (double)v, comma ? ", " : "");
  else
    fprintf(fp, "\"%s\": null%s", key, comma ? ", " : "");
}

static PetscErrorCode WriteJson(MPI_Comm comm, TnNet net, TnDyn dyn, TnTrain tr, TnCmdRun *run)
{
  FILE          *fp;
  char           path[PETSC_MAX_PATH_LEN];
  TnTrainInfo    in;
  PetscReal      H, nll, gap, ratio, h, nll_true, ratio2;
  PetscBool      known;
  PetscInt       N, K, B;
  PetscInt64     nnz, samples;
  PetscLogDouble secs;
  TnScheme       scheme;
  TnForm         form;
  TnAct          act;
  const char    *ntype;
  PetscFunctionBeginUser;
  PetscCall(TnTrainGetInfo(tr, &in));
  PetscCall(TnTrainGetReference(tr, run->valid, &H, &known, &nll, &gap, &ratio));
  PetscCall(TnTrainGetSameSampleRatio(tr, run->valid, &nll_true, &ratio2));
  PetscCall(TnTrainGetRates(tr, &secs, &samples));
  PetscCall(TnNetGetSizes(net, &N, &nnz));
  PetscCall(TnNetGetType(net, &ntype));
  PetscCall(TnDynGetParams(dyn, &scheme, &form, &act, &h, &K, &B));
  PetscCall(TnOutOpen(comm, run->dir, "train.json", &fp, path, sizeof(path)));
  if (fp) {
    fprintf(fp, "{\n  \"tenor_version\": \"%s\",\n  \"command\": \"train\",\n  \"ranks\": %d,\n  \"status\": \"%s\",\n", TENOR_VERSION, run->size, TnTrainStatusNames[in.status]);
    fprintf(fp, "  \"network\": {\"type\": \"%s\", \"N\": %" PetscInt_FMT ", \"nnz\": %" PetscInt64_FMT "},\n", ntype, N, nnz);
    fprintf(fp, "  \"dynamics\": {\"scheme\": \"%s\", \"form\": \"%s\", \"activation\": \"%s\", \"h\": %.17g, \"K\": %" PetscInt_FMT ", \"batch\": %" PetscInt_FMT "},\n", scheme, TnFormTypes[form], TnActTypes[act], (double)h, K, B);
    fprintf(fp, "  \"steps\": %" PetscInt64_FMT ", \"step_budget\": %" PetscInt64_FMT ", \"epoch\": %" PetscInt64_FMT ", \"batches_per_epoch\": %" PetscInt_FMT ",\n", in.step, in.total, in.epoch, in.nbatch);
    fprintf(fp, "  \"invertibility\": {\"steps_shrunk\": %" PetscInt64_FMT ", \"halvings\": %" PetscInt64_FMT ", \"steps_skipped\": %" PetscInt64_FMT "},\n  ", in.shrunk, in.halvings, in.skipped);
    JsonReal(fp, "best_valid_loss", in.best_valid, PETSC_TRUE);
    fprintf(fp, "\"best_step\": %" PetscInt64_FMT ",\n  \"final\": {", in.best_step);
    JsonReal(fp, "valid_loss", run->valid, PETSC_TRUE);
    JsonReal(fp, "valid_bits_per_dim", run->valid < PETSC_MAX_REAL ? run->valid / (N * M_LN2) : PETSC_MAX_REAL, PETSC_TRUE);
    JsonReal(fp, "train_loss", run->train, PETSC_TRUE);
    JsonReal(fp, "all_loss", run->all, PETSC_TRUE);
    JsonReal(fp, "entropy", known ? H : PETSC_MAX_REAL, PETSC_TRUE);
    JsonReal(fp, "gap_per_dim", gap, PETSC_TRUE);
    JsonReal(fp, "nll_indep", nll, PETSC_TRUE);
    JsonReal(fp, "ratio", ratio, PETSC_TRUE);
    JsonReal(fp, "valid_exact_nll", nll_true, PETSC_TRUE);
    JsonReal(fp, "ratio_same_samples", ratio2, PETSC_FALSE);
    fprintf(fp, "},\n  \"timings_s\": {\"train\": %.6g, \"total\": %.6g},\n", secs, run->t_total);
    fprintf(fp, "  \"samples_per_s\": %.6g,\n  \"synaptic_updates_per_s\": %.6g,\n", secs > 0 ? samples / secs : 0.0, secs > 0 ? (double)samples * nnz * K / secs : 0.0);
    fprintf(fp, "  \"outputs\": [\"%s/train_metrics.csv\", \"%s\", \"%s\"]\n}\n", run->dir, in.status == TN_TRAIN_INTERRUPTED ? run->ckpt : run->model, path);
  }
  PetscCall(TnOutClose(comm, &fp, path));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The final model: evaluated on the validation part, the training part and
   all samples (the last is what `tenor logdensity -model` reports). */
static PetscErrorCode Finish(MPI_Comm comm, TnTrain tr, TnCmdRun *run)
{
  PetscInt  nv;
  PetscReal gap, ratio, H, nll, nll_true, ratio2;
  PetscBool known;
  PetscFunctionBeginUser;
  PetscCall(TnTrainEvaluate(tr, TN_DATA_VALID, &run->valid, &nv));
  PetscCall(TnTrainEvaluate(tr, TN_DATA_TRAIN, &run->train, NULL));
  PetscCall(TnTrainEvaluate(tr, TN_DATA_ALL, &run->all, NULL));
  PetscCall(TnTrainSaveModel(tr, run->model));
  PetscCall(TnTrainGetReference(tr, run->valid, &H, &known, &nll, &gap, &ratio));
  PetscCall(PetscPrintf(comm, "final: training loss %.10g nats, all %" PetscInt_FMT " samples %.10g nats per sample", (double)run->train, run->S, (double)run->all));
  if (nv > 0) PetscCall(PetscPrintf(comm, ", validation %.10g nats", (double)run->valid));
  PetscCall(PetscPrintf(comm, "\n"));
  if (known && nv > 0) PetscCall(PetscPrintf(comm, "  exact entropy %.10g nats: gap %.4g nats per dimension; factorised baseline %.10g nats; ratio (NLL_indep - NLL)/(NLL_indep - H) = %.4f\n", (double)H, (double)gap, (double)nll, (double)ratio));
  PetscCall(TnTrainGetSameSampleRatio(tr, run->valid, &nll_true, &ratio2));
  if (nv > 0 && ratio2 < PETSC_MAX_REAL) PetscCall(PetscPrintf(comm, "  exact -log p of the validation samples %.10g nats; ratio against it (NLL_indep - NLL)/(NLL_indep - NLL_true) = %.4f\n", (double)nll_true, (double)ratio2));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnCmdTrain(MPI_Comm comm)
{
  TnNet       net;
  TnDyn       dyn;
  TnData      data;
  TnTrain     tr;
  TnTrainInfo in;
  TnCmdRun    run = {.dir = "out"};
  PetscBool   help;
  PetscFunctionBeginUser;
  run.t_total = TnTime();
  run.valid = run.train = run.all = PETSC_MAX_REAL;
  PetscCallMPI(MPI_Comm_size(comm, &run.size));
  PetscCall(SetDefaults());
  PetscCall(TnOptionsPassBegin(comm));
  PetscCall(Options(comm, &run));
  PetscCall(TnCliOptionsPass(comm, "train", TN_CLI_DATA | TN_CLI_TRAIN, &help));
  if (help) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnOutMakeDir(comm, run.dir));
  if (run.ckdir[0]) PetscCall(TnOutMakeDir(comm, run.ckdir));
  PetscCall(PetscPrintf(comm, "tenor train on %d rank(s)\n", run.size));
  PetscCall(SetUp(comm, &net, &dyn, &data, &tr, &run));
  PetscCall(TnTrainInstallSignalHandlers());
  PetscCall(Restart(comm, tr, &run));
  PetscCall(TnWarnUnusedOptions(comm, "train")); /* before the long part: a typo is seen at once */
  PetscCall(TnTrainRun(tr));
  PetscCall(TnTrainGetInfo(tr, &in));
  if (in.status != TN_TRAIN_INTERRUPTED) PetscCall(Finish(comm, tr, &run));
  run.t_total = TnTime() - run.t_total;
  PetscCall(WriteJson(comm, net, dyn, tr, &run));
  PetscCall(PetscPrintf(comm, "status: %s after %" PetscInt64_FMT " steps (%" PetscInt64_FMT " shrunk for invertibility, %" PetscInt64_FMT " skipped); total %.1f s\n", TnTrainStatusNames[in.status], in.step, in.shrunk, in.skipped, run.t_total));
  if (in.status != TN_TRAIN_INTERRUPTED) PetscCall(PetscPrintf(comm, "wrote %s/train_metrics.csv, %s/train.json, %s\n", run.dir, run.dir, run.model));
  PetscCall(TnTrainDestroy(&tr));
  PetscCall(TnDataDestroy(&data));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}
