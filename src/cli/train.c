/* tenor train: minimise the mean -log Phi over the training samples
   (docs/gradient.md, docs/training.md), with validation, metrics,
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
  PetscBool      restart, resumed; /* resumed: from run->ckpt */
  PetscMPIInt    size;
  PetscInt       S;
  PetscInt       nclamp, nfree; /* clamped nodes (-data_clamp) and the free ones, the density's dimension */
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
  PetscCall(TnDataCreate(comm, data));
  PetscCall(TnDataSetFromOptions(*data));
  PetscCall(TnCliClampLabels(comm, *data, *dyn, N)); /* -data_labels: the last C nodes, clamped one-hot */
  PetscCall(TnDynSetUp(*dyn));
  PetscCall(TnDynView(*dyn, PETSC_VIEWER_STDOUT_(comm)));
  PetscCall(TnCliDataClampMask(comm, *dyn, *data, N));
  PetscCall(TnDynGetClamp(*dyn, &run->nclamp, &run->nfree, NULL));
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
  PetscCall(TnOptionsBool("-restart", "Resume from the checkpoint (ckpt_dir/ckpt.h5) if there is one", "TnTrainLoadCheckpoint", run->restart, &run->restart, NULL));
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
  run->resumed = PETSC_TRUE;
  PetscCall(TnTrainGetInfo(tr, &in));
  PetscCall(PetscPrintf(comm, "resumed from %s at step %" PetscInt64_FMT " (epoch %" PetscInt64_FMT ", batch %" PetscInt64_FMT ")\n", run->ckpt, in.step, in.epoch, in.pos));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A loss in the data's own space (standardised + shift), null for "none". */
static json_t *Shifted(PetscReal L, PetscReal shift)
{
  return TnJsonReal(L < PETSC_MAX_REAL ? (double)(L + shift) : NAN);
}

static PetscErrorCode WriteJson(MPI_Comm comm, TnNet net, TnDyn dyn, TnData data, TnTrain tr, TnCmdRun *run)
{
  char           path[PETSC_MAX_PATH_LEN], metrics[PETSC_MAX_PATH_LEN];
  TnTrainInfo    in;
  PetscReal      H, nll, gap, ratio, h, nll_true, ratio2;
  PetscBool      known;
  PetscInt       N, K, B;
  PetscInt64     nnz, samples;
  PetscLogDouble secs;
  TnScheme       scheme;
  TnForm         form;
  TnAct          act;
  const char    *ntype, *outs[3];
  json_t        *root, *prep;
  PetscReal      sh = 0;
  PetscFunctionBeginUser;
  PetscCall(TnTrainGetDataShift(tr, &sh));
  PetscCall(TnTrainGetInfo(tr, &in));
  PetscCall(TnTrainGetReference(tr, run->valid, &H, &known, &nll, &gap, &ratio));
  PetscCall(TnTrainGetSameSampleRatio(tr, run->valid, &nll_true, &ratio2));
  PetscCall(TnTrainGetRates(tr, &secs, &samples));
  PetscCall(TnNetGetSizes(net, &N, &nnz));
  PetscCall(TnNetGetType(net, &ntype));
  PetscCall(TnDynGetParams(dyn, &scheme, &form, &act, &h, &K, &B));
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/train.json", run->dir));
  PetscCall(PetscSNPrintf(metrics, sizeof(metrics), "%s/train_metrics.csv", run->dir));
  PetscCall(TnOutJsonBegin(comm, "train", &root));
  PetscCall(TnJsonSet(root, "status", TnJsonStr(TnTrainStatusNames[in.status])));
  PetscCall(TnJsonSet(root, "network", json_pack("{s:o, s:I, s:I}", "type", TnJsonStr(ntype), "N", (json_int_t)N, "nnz", (json_int_t)nnz)));
  PetscCall(TnJsonSet(root, "dynamics", json_pack("{s:o, s:s, s:s, s:o, s:I, s:I}", "scheme", TnJsonStr(scheme), "form", TnFormTypes[form], "activation", TnActTypes[act], "h", TnJsonReal((double)h), "K", (json_int_t)K, "batch", (json_int_t)B)));
  {
    TnTrainRule rk;
    TnRule      rule;
    const char *why;
    PetscCall(TnTrainGetRule(tr, &rk, &rule));
    PetscCall(TnTrainGetStopReason(tr, &why));
    if (!TnTrainRuleUsesTnRule(rk))
      PetscCall(TnJsonSet(root, "rule", json_pack("{s:s}", "type", TnTrainRuleTypes[rk])));
    else {
      PetscInt64 rsteps;
      PetscReal  wmax;
      PetscCall(TnRuleGetStats(rule, &rsteps, &wmax));
      PetscCall(TnJsonSet(root, "rule", json_pack("{s:s, s:I, s:o}", "type", TnTrainRuleTypes[rk], "updates_applied", (json_int_t)rsteps, "max_abs_w", TnJsonReal((double)wmax))));
    }
    if (why[0]) PetscCall(TnJsonSet(root, "stop_reason", TnJsonStr(why)));
  }
  PetscCall(TnJsonSet(root, "steps", json_integer(in.step)));
  PetscCall(TnJsonSet(root, "step_budget", json_integer(in.total)));
  PetscCall(TnJsonSet(root, "epoch", json_integer(in.epoch)));
  PetscCall(TnJsonSet(root, "batches_per_epoch", json_integer(in.nbatch)));
  PetscCall(TnJsonSet(root, "invertibility", json_pack("{s:I, s:I, s:I}", "steps_shrunk", (json_int_t)in.shrunk, "halvings", (json_int_t)in.halvings, "steps_skipped", (json_int_t)in.skipped)));
  PetscCall(TnJsonSet(root, "best_valid_loss", TnJsonReal(in.best_valid < PETSC_MAX_REAL ? (double)(in.best_valid + sh) : NAN)));
  PetscCall(TnJsonSet(root, "best_step", json_integer(in.best_step)));
  PetscCall(TnJsonSet(root, "sum_log_sd", TnJsonReal((double)sh)));
  PetscCall(TnJsonSet(root, "final", json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "valid_loss", Shifted(run->valid, sh), "valid_bits_per_dim", TnJsonReal(run->valid < PETSC_MAX_REAL ? (double)(run->valid + sh) / (run->nfree * M_LN2) : NAN), "train_loss", Shifted(run->train, sh), "all_loss", Shifted(run->all, sh), "entropy", Shifted(known ? H : PETSC_MAX_REAL, sh), "gap_per_dim", TnJsonReal((double)gap), "nll_indep", Shifted(nll, sh), "ratio", TnJsonReal((double)ratio), "valid_exact_nll", Shifted(nll_true, sh), "ratio_same_samples", TnJsonReal((double)ratio2), "valid_loss_standardized", TnJsonReal((double)run->valid), "train_loss_standardized", TnJsonReal((double)run->train), "all_loss_standardized", TnJsonReal((double)run->all))));
  if (run->nclamp) PetscCall(TnJsonSet(root, "conditional", json_pack("{s:I, s:I, s:s}", "clamped_nodes", (json_int_t)run->nclamp, "free_nodes", (json_int_t)run->nfree, "note", "losses are -log Phi(t | x) of the free nodes given the clamped ones; bits per dimension and gap per dimension over the free nodes; entropy is H(t | x), valid_exact_nll the exact -log p(t | x), nll_indep a factorised Gaussian of the free nodes")));
  PetscCall(TnJsonSet(root, "timings_s", json_pack("{s:f, s:f}", "train", (double)secs, "total", (double)run->t_total)));
  PetscCall(TnJsonSet(root, "samples_per_s", TnJsonReal(secs > 0 ? samples / secs : 0.0)));
  PetscCall(TnJsonSet(root, "synaptic_updates_per_s", TnJsonReal(secs > 0 ? (double)samples * nnz * K / secs : 0.0)));
  outs[0] = metrics;
  outs[1] = in.status == TN_TRAIN_INTERRUPTED ? run->ckpt : run->model;
  outs[2] = path;
  PetscCall(TnJsonSet(root, "outputs", TnJsonStrArray(outs, 3)));
  PetscCall(TnOutDataPreprocessing(data, &prep));
  PetscCall(TnOutProvenance(comm, "train", prep, "-train_restart", run->resumed ? run->ckpt : NULL, root));
  PetscCall(TnJsonCommit(comm, path, &root));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The final model: evaluated on the validation part and the training part;
   the mean over all samples (what `tenor logdensity -model` reports) is
   their weighted mean, (S_train L_train + S_valid L_valid) / S, each
   sample's -log Phi being its own: no third pass over the samples. */
static PetscErrorCode Finish(MPI_Comm comm, TnTrain tr, TnCmdRun *run)
{
  PetscInt  nv, nt;
  PetscReal gap, ratio, H, nll, nll_true, ratio2;
  PetscBool known;
  PetscReal sh = 0;
  PetscFunctionBeginUser;
  PetscCall(TnTrainGetDataShift(tr, &sh)); /* printed in the data's own space */
  PetscCall(TnTrainEvaluate(tr, TN_DATA_VALID, &run->valid, &nv));
  PetscCall(TnTrainEvaluate(tr, TN_DATA_TRAIN, &run->train, &nt));
  run->all = (nt * run->train + (nv > 0 ? nv * run->valid : 0)) / (nt + nv);
  PetscCall(TnTrainSaveModel(tr, run->model));
  PetscCall(TnTrainGetReference(tr, run->valid, &H, &known, &nll, &gap, &ratio));
  PetscCall(PetscPrintf(comm, "final: training loss %.10g nats, all %" PetscInt_FMT " samples %.10g nats per sample", (double)(run->train + sh), run->S, (double)(run->all + sh)));
  if (nv > 0) PetscCall(PetscPrintf(comm, ", validation %.10g nats", (double)(run->valid + sh)));
  if (sh != 0) PetscCall(PetscPrintf(comm, " (in the data's own space; standardised, all samples: %.10g nats; sum_i log sd_i = %.10g nats)", (double)run->all, (double)sh));
  PetscCall(PetscPrintf(comm, "\n"));
  if (known && nv > 0) PetscCall(PetscPrintf(comm, "  exact %s %.10g nats: gap %.4g nats per dimension; factorised baseline %.10g nats; ratio (NLL_indep - NLL)/(NLL_indep - H) = %.4f\n", run->nclamp ? "conditional entropy H(t | x)" : "entropy", (double)(H + sh), (double)gap, (double)(nll + sh), (double)ratio));
  PetscCall(TnTrainGetSameSampleRatio(tr, run->valid, &nll_true, &ratio2));
  if (nv > 0 && ratio2 < PETSC_MAX_REAL) PetscCall(PetscPrintf(comm, "  exact -log p%s of the validation samples %.10g nats; ratio against it (NLL_indep - NLL)/(NLL_indep - NLL_true) = %.4f\n", run->nclamp ? "(t | x)" : "", (double)(nll_true + sh), (double)ratio2));
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
  PetscCall(TnCliOptionsPass(comm, "train", TN_CLI_DATA | TN_CLI_TRAIN, 0, &help));
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
  PetscCall(WriteJson(comm, net, dyn, data, tr, &run));
  PetscCall(PetscPrintf(comm, "status: %s after %" PetscInt64_FMT " steps (%" PetscInt64_FMT " shrunk for invertibility, %" PetscInt64_FMT " skipped); total %.1f s\n", TnTrainStatusNames[in.status], in.step, in.shrunk, in.skipped, run.t_total));
  if (in.status != TN_TRAIN_INTERRUPTED) PetscCall(PetscPrintf(comm, "wrote %s/train_metrics.csv, %s/train.json, %s\n", run.dir, run.dir, run.model));
  if (in.status == TN_TRAIN_RUNAWAY) { /* everything is written: the run fails so that no script takes it for a finished one */
    const char *why;
    PetscCall(TnTrainGetStopReason(tr, &why));
    SETERRQ(comm, PETSC_ERR_NOT_CONVERGED, "training stopped before step %" PetscInt64_FMT ": %s. The checkpoint %s holds the parameters after step %" PetscInt64_FMT ", the model %s those the run ended with (with -train_keep_best, the best validated)", in.step + 1, why, run.ckpt, in.step, run.model);
  }
  PetscCall(TnTrainDestroy(&tr));
  PetscCall(TnDataDestroy(&data));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}
