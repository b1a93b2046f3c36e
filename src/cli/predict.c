/* tenor predict: the generative classifier of a model trained with labels
   (docs/predict.md). For every sample x and class c, log p(x | c) with the
   label nodes clamped to e_c (TnClassLogLikelihood: all classes of a sample
   in one batch), then p(c | x) = pi_c p(x | c) / sum_c' pi_c' p(x | c') by
   log-sum-exp (TnClassPosterior), the predicted class argmax_c p(c | x),
   and with labels the accuracy, the mean log-loss -log p(label | x) in nats
   and the confusion matrix. Every file is written atomically (TnOutOpen). */
#include "cli.h"
#include <tenor/train.h>
#include <tenor/predict.h>
#include <math.h>

#define TN_PREDICT_MAXMODELS 1024

typedef struct {
  char            dir[PETSC_MAX_PATH_LEN], model[PETSC_MAX_PATH_LEN];
  char           *models[TN_PREDICT_MAXMODELS]; /* -model m0.h5,m1.h5,...: one per-class model per class */
  PetscInt        nmodels;
  PetscInt       *ownlabel; /* per-class models: the labels, read here */
  PetscInt        S, N, C, K, B;
  PetscInt64      nnz;
  PetscReal      *prior, *logprior; /* [C] */
  PetscReal      *loglik, *post;    /* [S C]: log p(x | c) in the data's own space, p(c | x) */
  PetscReal      *logpx;            /* [S] log p(x) = log sum_c pi_c p(x | c) */
  PetscInt       *pred;             /* [S] */
  const PetscInt *label;            /* [S] or NULL */
  PetscInt       *confusion;        /* [C C]: row = true class, column = predicted */
  PetscReal       logjac;           /* log p_x = log p_z + logjac (-sum_F log sd_i) */
  PetscReal       accuracy, logloss;
  PetscInt        correct;
  double          t_setup, t_eval, t_total;
  PetscMPIInt     size;
} TnRun;

static PetscErrorCode SetUp(MPI_Comm comm, TnNet *net, TnDyn *dyn, TnData *data, TnRun *run)
{
  PetscInt nclamp, B0;
  PetscFunctionBeginUser;
  {
    PetscInt c, Cm;
    PetscCall(TnModelGetClassIndex(comm, run->model, &c, &Cm, NULL));
    PetscCheck(c < 0, comm, PETSC_ERR_USER, "-model %s is the per-class model of class %" PetscInt_FMT " of %" PetscInt_FMT ": give all %" PetscInt_FMT " per-class models, -model m0.h5,m1.h5,...", run->model, c, Cm, Cm);
  }
  PetscCall(TnModelGetClasses(comm, run->model, &run->C, &run->prior));
  PetscCheck(run->C > 0, comm, PETSC_ERR_USER, "-model %s has no classes: it was trained without labels; train a classifier with tenor train -data_labels FILE (docs/predict.md)", run->model);
  PetscCall(TnNetCreate(comm, net));
  PetscCall(TnNetSetFromOptions(*net));
  PetscCall(TnModelLoadNet(comm, run->model, *net));
  PetscCall(TnNetSetUp(*net));
  PetscCall(TnNetGetSizes(*net, &run->N, &run->nnz));
  PetscCall(TnNetView(*net, PETSC_VIEWER_STDOUT_(comm)));
  PetscCall(TnDynCreate(*net, dyn));
  PetscCall(TnCliConfigureDyn(comm, run->model, *dyn)); /* the model's clamp set holds the label nodes */
  PetscCall(TnDynGetParams(*dyn, NULL, NULL, NULL, NULL, NULL, &B0));
  PetscCheck(run->C <= 1024, comm, PETSC_ERR_SUP, "%" PetscInt_FMT " classes: tenor predict evaluates every class of a sample in one batch of at most 1024", run->C);
  { /* whole samples, every class of each; without -dyn_batch about 256 slots */
    PetscBool set;
    PetscCall(PetscOptionsHasName(NULL, NULL, "-dyn_batch", &set));
    if (!set) B0 = 256;
  }
  run->B = run->C * PetscMax(1, PetscMin(B0, 1024) / run->C);
  PetscCall(TnDynSetBatchSize(*dyn, run->B));
  PetscCall(TnDynSetUp(*dyn));
  PetscCall(TnDynView(*dyn, PETSC_VIEWER_STDOUT_(comm)));
  PetscCall(TnDynGetParams(*dyn, NULL, NULL, NULL, NULL, &run->K, NULL));
  PetscCall(TnDynGetClamp(*dyn, &nclamp, NULL, NULL));
  { /* the label nodes must be clamped (a -data_clamp given here replaces the model's set) */
    Vec                mask;
    const PetscScalar *m;
    PetscInt           rs, re, bad = 0;
    PetscCall(VecCreateMPI(comm, PETSC_DECIDE, run->N, &mask));
    PetscCall(TnDynGetClampMask(*dyn, mask));
    PetscCall(VecGetOwnershipRange(mask, &rs, &re));
    PetscCall(VecGetArrayRead(mask, &m));
    for (PetscInt i = PetscMax(rs, run->N - run->C); i < re; i++) bad += PetscRealPart(m[i - rs]) == 0;
    PetscCall(VecRestoreArrayRead(mask, &m));
    PetscCall(VecDestroy(&mask));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPIU_INT, MPI_SUM, comm));
    PetscCheck(!bad, comm, PETSC_ERR_USER, "%" PetscInt_FMT " of the label nodes %" PetscInt_FMT " .. %" PetscInt_FMT " are not clamped: drop -data_clamp, the model's clamp set holds them", bad, run->N - run->C, run->N - 1);
  }
  PetscCall(TnDataCreate(comm, data));
  PetscCall(TnDataSetFromOptions(*data));
  PetscCall(TnModelConfigureData(comm, run->model, *data)); /* classes, dequantisation, standardisation */
  {                                                         /* an explicit -data_dequantize wins over the model's */
    PetscBool deq, set;
    PetscCall(PetscOptionsGetBool(NULL, NULL, "-data_dequantize", &deq, &set));
    if (set) PetscCall(TnDataSetDequantize(*data, deq));
  }
  PetscCall(TnCliDataClampMask(comm, *dyn, *data, run->N));
  PetscCall(TnDataLoad(*data, run->N));
  PetscCall(TnDataGetNumSamples(*data, &run->S));
  PetscCall(TnDataGetLabels(*data, &run->label));
  PetscCall(TnDataGetLogJacobian(*data, &run->logjac));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* log p(x | c) for all samples and classes (one model with label nodes). */
static PetscErrorCode Likelihoods(MPI_Comm comm, TnDyn dyn, TnData data, TnRun *run)
{
  PetscInt C = run->C;
  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(comm, "classifying %" PetscInt_FMT " samples into %" PetscInt_FMT " classes: batches of %" PetscInt_FMT " samples x %" PetscInt_FMT " classes\n", run->S, C, run->B / C, C));
  PetscCall(PetscMalloc3((size_t)run->S * C, &run->loglik, (size_t)run->S * C, &run->post, run->S, &run->logpx));
  run->t_eval = TnTime();
  PetscCall(TnClassLogLikelihood(dyn, data, C, run->loglik));
  run->t_eval = TnTime() - run->t_eval;
  for (size_t q = 0; q < (size_t)run->S * C; q++) run->loglik[q] += run->logjac; /* the data's own space */
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The posteriors, the predicted classes and, with labels, the scores. */
static PetscErrorCode Classify(TnRun *run)
{
  PetscInt C = run->C, correct = 0; /* with labels: samples whose predicted class is their label */
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc3(run->S, &run->pred, C, &run->logprior, C * C, &run->confusion));
  for (PetscInt c = 0; c < C; c++) run->logprior[c] = PetscLogReal(run->prior[c]);
  for (PetscInt c = 0; c < C * C; c++) run->confusion[c] = 0;
  run->logloss = 0;
  for (PetscInt s = 0; s < run->S; s++) {
    const PetscReal *l = run->loglik + (size_t)s * C;
    PetscReal       *p = run->post + (size_t)s * C;
    PetscCall(TnClassPosterior(C, run->logprior, l, p, &run->logpx[s]));
    run->pred[s] = 0;
    for (PetscInt c = 1; c < C; c++)
      if (p[c] > p[run->pred[s]]) run->pred[s] = c;
    if (run->label) {
      PetscInt t = run->label[s];
      correct += run->pred[s] == t;
      run->confusion[t * C + run->pred[s]]++;
      run->logloss += (run->logpx[s] - run->logprior[t] - l[t]) / run->S; /* -log p(t | x), without rounding p to 0 */
    }
  }
  run->correct  = correct;
  run->accuracy = run->S ? (PetscReal)correct / run->S : 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Per-class models (-model m0.h5,m1.h5,...; tenor train -data_class c):
   model k gives log p(x | c_k) of every sample, each with its own network,
   dynamics and preprocessing; the classes must be 0 .. C-1, each once, of
   models that agree on C, and their priors must sum to 1. */
static PetscErrorCode PerClass(MPI_Comm comm, TnData *data, TnRun *run)
{
  PetscInt  C = run->nmodels, Sl = 0;
  PetscReal sum                     = 0;
  char      lab[PETSC_MAX_PATH_LEN] = "", lds[256] = "";
  PetscBool lset;
  PetscFunctionBeginUser;
  run->C = C;
  PetscCall(PetscCalloc1(C, &run->prior));
  for (PetscInt k = 0; k < C; k++) {
    PetscInt  c, Cm;
    PetscReal p;
    PetscCall(TnModelGetClassIndex(comm, run->models[k], &c, &Cm, &p));
    PetscCheck(c >= 0, comm, PETSC_ERR_USER, "-model: %s is not a per-class model (tenor train -data_labels L -data_class c); several models are the per-class models of one classifier", run->models[k]);
    PetscCheck(Cm == C, comm, PETSC_ERR_USER, "-model: %s is the model of class %" PetscInt_FMT " of %" PetscInt_FMT " classes, but %" PetscInt_FMT " models are given: give one per class", run->models[k], c, Cm, C);
    PetscCheck(run->prior[c] == 0, comm, PETSC_ERR_USER, "-model: %s and another model are both of class %" PetscInt_FMT ": give one model per class", run->models[k], c);
    run->prior[c] = p;
    sum += p;
  }
  PetscCheck(PetscAbsReal(sum - 1) <= 1e-9, comm, PETSC_ERR_USER, "-model: the per-class models' priors sum to %.17g, not 1: were they trained on the same labels?", (double)sum);
  PetscCall(PetscOptionsGetString(NULL, NULL, "-data_labels", lab, sizeof(lab), &lset));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-data_labels_dataset", lds, sizeof(lds), NULL));
  if (lset && lab[0]) { /* the labels are only scored here: no label nodes */
    PetscCall(TnReadLabels(comm, lab, lds, &Sl, &run->ownlabel));
    for (PetscInt s = 0; s < Sl; s++) {
      PetscInt l = run->ownlabel[s];
      if (l >= C) PetscCall(PetscFree(run->ownlabel));
      PetscCheck(l < C, comm, PETSC_ERR_USER, "-data_labels %s: label number %" PetscInt_FMT " is %" PetscInt_FMT ", outside the %" PetscInt_FMT " classes 0 .. %" PetscInt_FMT " of the models", lab, s + 1, l, C, C - 1);
    }
  }
  run->t_eval = 0;
  for (PetscInt k = 0; k < C; k++) {
    TnNet      net;
    TnDyn      dyn;
    PetscInt   c, S, N, nclamp;
    PetscReal *lphi, lj;
    PetscCall(TnModelGetClassIndex(comm, run->models[k], &c, NULL, NULL));
    PetscCall(PetscPrintf(comm, "class %" PetscInt_FMT ": model %s\n", c, run->models[k]));
    PetscCall(TnNetCreate(comm, &net));
    PetscCall(TnNetSetFromOptions(net));
    PetscCall(TnModelLoadNet(comm, run->models[k], net));
    PetscCall(TnNetSetUp(net));
    PetscCall(TnNetGetSizes(net, &N, &run->nnz));
    PetscCall(TnDynCreate(net, &dyn));
    PetscCall(TnCliConfigureDyn(comm, run->models[k], dyn));
    PetscCall(TnDynSetUp(dyn));
    PetscCall(TnDynGetClamp(dyn, &nclamp, NULL, NULL));
    PetscCheck(!nclamp, comm, PETSC_ERR_USER, "-model %s: a per-class model has no clamped nodes (drop -data_clamp)", run->models[k]);
    if (!k) PetscCall(TnDynView(dyn, PETSC_VIEWER_STDOUT_(comm)));
    PetscCall(TnDataDestroy(data));
    PetscCall(TnDataCreate(comm, data));
    PetscCall(TnDataSetFromOptions(*data));
    PetscCall(TnDataSetLabels(*data, "", NULL));
    PetscCall(TnModelConfigureData(comm, run->models[k], *data));
    PetscCall(TnDataLoad(*data, N));
    PetscCall(TnDataGetNumSamples(*data, &S));
    PetscCheck(!k || S == run->S, comm, PETSC_ERR_USER, "-data_file gives %" PetscInt_FMT " samples to one model and %" PetscInt_FMT " to another", S, run->S);
    PetscCheck(!run->ownlabel || Sl == S, comm, PETSC_ERR_USER, "-data_labels %s has %" PetscInt_FMT " labels but -data_file has %" PetscInt_FMT " samples: give one label per sample, in the same order", lab, Sl, S);
    if (!k) {
      run->S = S;
      PetscCall(PetscMalloc3((size_t)S * C, &run->loglik, (size_t)S * C, &run->post, S, &run->logpx));
    }
    PetscCall(TnDataGetLogJacobian(*data, &lj));
    PetscCall(PetscMalloc1(S, &lphi));
    run->t_eval -= TnTime();
    PetscCall(TnLogDensityAll(dyn, *data, lphi));
    run->t_eval += TnTime();
    for (PetscInt s = 0; s < S; s++) run->loglik[(size_t)s * C + c] = lphi[s] + lj; /* the data's own space */
    PetscCall(PetscFree(lphi));
    PetscCall(TnDynDestroy(&dyn));
    PetscCall(TnNetDestroy(&net));
  }
  run->N     = -1; /* several networks */
  run->label = run->ownlabel;
  run->B     = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode WriteCsv(MPI_Comm comm, TnRun *run, char path[], size_t len)
{
  FILE    *fp;
  PetscInt C = run->C;
  PetscFunctionBeginUser;
  PetscCall(TnOutOpen(comm, run->dir, "predict.csv", &fp, path, len));
  if (fp) {
    fprintf(fp, "sample");
    for (PetscInt c = 0; c < C; c++) fprintf(fp, ",log_p_x_given_%" PetscInt_FMT, c);
    for (PetscInt c = 0; c < C; c++) fprintf(fp, ",p_%" PetscInt_FMT, c);
    fprintf(fp, ",log_p_x,predicted%s\n", run->label ? ",label" : "");
    for (PetscInt s = 0; s < run->S; s++) {
      fprintf(fp, "%" PetscInt_FMT, s);
      for (PetscInt c = 0; c < C; c++) fprintf(fp, ",%.17g", (double)run->loglik[(size_t)s * C + c]);
      for (PetscInt c = 0; c < C; c++) fprintf(fp, ",%.17g", (double)run->post[(size_t)s * C + c]);
      fprintf(fp, ",%.17g,%" PetscInt_FMT, (double)run->logpx[s], run->pred[s]);
      if (run->label) fprintf(fp, ",%" PetscInt_FMT, run->label[s]);
      fprintf(fp, "\n");
    }
  }
  PetscCall(TnOutClose(comm, &fp, path));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode WriteConfusion(MPI_Comm comm, TnRun *run, char path[], size_t len)
{
  FILE    *fp;
  PetscInt C = run->C;
  PetscFunctionBeginUser;
  PetscCall(TnOutOpen(comm, run->dir, "confusion.csv", &fp, path, len));
  if (fp) {
    fprintf(fp, "label");
    for (PetscInt c = 0; c < C; c++) fprintf(fp, ",predicted_%" PetscInt_FMT, c);
    fprintf(fp, "\n");
    for (PetscInt t = 0; t < C; t++) {
      fprintf(fp, "%" PetscInt_FMT, t);
      for (PetscInt c = 0; c < C; c++) fprintf(fp, ",%" PetscInt_FMT, run->confusion[t * C + c]);
      fprintf(fp, "\n");
    }
  }
  PetscCall(TnOutClose(comm, &fp, path));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode WriteSummary(MPI_Comm comm, TnData data, TnRun *run, const char *files[], PetscInt nfiles, char path[], size_t len)
{
  json_t *root;
  double  mlogpx = 0;
  PetscFunctionBeginUser;
  for (PetscInt s = 0; s < run->S; s++) mlogpx -= run->logpx[s] / run->S;
  PetscCall(TnOutJsonBegin(comm, "predict", &root));
  PetscCall(TnJsonSet(root, "model", TnJsonStr(run->model)));
  if (run->nmodels > 1)
    PetscCall(TnJsonSet(root, "per_class_models", TnJsonStrArray((const char *const *)run->models, run->nmodels)));
  else
    PetscCall(TnJsonSet(root, "network", json_pack("{s:I, s:I, s:I, s:I}", "N", (json_int_t)run->N, "nnz", (json_int_t)run->nnz, "label_nodes_first", (json_int_t)(run->N - run->C), "data_columns", (json_int_t)(run->N - run->C))));
  PetscCall(TnJsonSet(root, "classes", json_integer(run->C)));
  PetscCall(TnJsonSet(root, "class_prior", TnJsonRealArray(run->prior, run->C)));
  PetscCall(TnJsonSet(root, "samples", json_integer(run->S)));
  PetscCall(TnJsonSet(root, "batch", json_integer(run->B)));
  PetscCall(TnJsonSet(root, "mean_neg_log_p_x_nats", TnJsonReal(mlogpx)));
  PetscCall(TnJsonSet(root, "sum_log_sd_free", TnJsonReal(-(double)run->logjac)));
  if (run->label) {
    json_t *cm = json_array();
    for (PetscInt t = 0; t < run->C; t++) {
      json_t *row = json_array();
      for (PetscInt c = 0; c < run->C; c++) json_array_append_new(row, json_integer(run->confusion[t * run->C + c]));
      json_array_append_new(cm, row);
    }
    PetscCall(TnJsonSet(root, "accuracy", TnJsonReal((double)run->accuracy)));
    PetscCall(TnJsonSet(root, "log_loss_nats", TnJsonReal((double)run->logloss)));
    PetscCall(TnJsonSet(root, "confusion", cm));
    PetscCall(TnJsonSet(root, "confusion_note", TnJsonStr("confusion[label][predicted]: samples of class label predicted as class predicted")));
  }
  PetscCall(TnJsonSet(root, "timings_s", json_pack("{s:f, s:f, s:f}", "setup", run->t_setup, "evaluate", run->t_eval, "total", run->t_total)));
  PetscCall(TnJsonSet(root, "outputs", TnJsonStrArray(files, nfiles)));
  PetscCall(TnOutJsonEnd(comm, "predict", data, NULL, run->dir, "summary.json", path, len, &root));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode PrintSummary(MPI_Comm comm, TnRun *run, const char *files[], PetscInt nfiles)
{
  PetscFunctionBeginUser;
  if (run->label) {
    PetscCall(PetscPrintf(comm, "result: accuracy %.4f (%" PetscInt_FMT " of %" PetscInt_FMT "), mean log-loss %.4f nats\n", (double)run->accuracy, run->correct, run->S, (double)run->logloss));
    PetscCall(PetscPrintf(comm, "confusion matrix (rows: label, columns: predicted):\n      "));
    for (PetscInt c = 0; c < run->C; c++) PetscCall(PetscPrintf(comm, " %5" PetscInt_FMT, c));
    PetscCall(PetscPrintf(comm, "\n"));
    for (PetscInt t = 0; t < run->C; t++) {
      PetscCall(PetscPrintf(comm, "  %3" PetscInt_FMT " ", t));
      for (PetscInt c = 0; c < run->C; c++) PetscCall(PetscPrintf(comm, " %5" PetscInt_FMT, run->confusion[t * run->C + c]));
      PetscCall(PetscPrintf(comm, "\n"));
    }
  } else
    PetscCall(PetscPrintf(comm, "result: predicted the classes of %" PetscInt_FMT " samples (no -data_labels: no accuracy)\n", run->S));
  PetscCall(PetscPrintf(comm, "time: evaluate %.3f s, total %.3f s\n", run->t_eval, run->t_total));
  for (PetscInt f = 0; f < nfiles; f++) PetscCall(PetscPrintf(comm, "wrote %s\n", files[f]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnCmdPredict(MPI_Comm comm)
{
  TnNet       net;
  TnDyn       dyn;
  TnData      data;
  TnRun       run = {.dir = "out"};
  char        p1[PETSC_MAX_PATH_LEN], p2[PETSC_MAX_PATH_LEN], p3[PETSC_MAX_PATH_LEN];
  const char *files[3];
  PetscInt    nf = 0;
  PetscBool   help;
  PetscFunctionBeginUser;
  run.t_total = TnTime();
  PetscCallMPI(MPI_Comm_size(comm, &run.size));
  PetscCall(TnOptionsPassBegin(comm));
  PetscOptionsBegin(comm, "out_", "Output", "tenor");
  PetscCall(PetscOptionsString("-dir", "Directory for predict.csv, confusion.csv, summary.json", "", run.dir, run.dir, sizeof(run.dir), NULL));
  PetscOptionsEnd();
  PetscOptionsBegin(comm, NULL, "Model", "tenor");
  run.nmodels = TN_PREDICT_MAXMODELS;
  PetscCall(PetscOptionsStringArray("-model", "A classifier saved by tenor train -data_labels (HDF5: network, dynamics, label nodes, class priors), or the per-class models m0.h5,m1.h5,... of tenor train -data_class", "TnModelLoadNet", run.models, &run.nmodels, NULL));
  PetscOptionsEnd();
  if (run.nmodels >= 1) PetscCall(PetscStrncpy(run.model, run.models[0], sizeof(run.model)));
  PetscCall(TnCliOptionsPass(comm, "predict", TN_CLI_DATA, 0, &help));
  if (help) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCheck(run.model[0], comm, PETSC_ERR_USER, "tenor predict needs -model FILE: a model trained with labels (tenor train -data_labels FILE; docs/predict.md)");
  PetscCall(TnCliCheckModelOptions(comm, run.model));
  PetscCall(TnOutMakeDir(comm, run.dir));
  PetscCall(PetscPrintf(comm, "tenor predict on %d rank(s)\n", run.size));
  run.t_setup = TnTime();
  net = NULL, dyn = NULL, data = NULL;
  if (run.nmodels > 1)
    PetscCall(PerClass(comm, &data, &run));
  else
    PetscCall(SetUp(comm, &net, &dyn, &data, &run));
  run.t_setup = TnTime() - run.t_setup - (run.nmodels > 1 ? run.t_eval : 0);
  {
    char desc[512];
    PetscCall(TnDataDescribe(data, desc, sizeof(desc)));
    PetscCall(PetscPrintf(comm, "data: %s; %s\n", desc, run.label ? "with labels" : "no labels"));
  }
  if (run.nmodels == 1) PetscCall(Likelihoods(comm, dyn, data, &run));
  PetscCall(Classify(&run));
  PetscCall(WriteCsv(comm, &run, p1, sizeof(p1)));
  files[nf++] = p1;
  if (run.label) {
    PetscCall(WriteConfusion(comm, &run, p3, sizeof(p3)));
    files[nf++] = p3;
  }
  PetscCall(PetscSNPrintf(p2, sizeof(p2), "%s/summary.json", run.dir));
  files[nf++] = p2;
  run.t_total = TnTime() - run.t_total;
  PetscCall(WriteSummary(comm, data, &run, files, nf, p2, sizeof(p2)));
  PetscCall(PrintSummary(comm, &run, files, nf));
  PetscCall(TnWarnUnusedOptions(comm, "predict"));
  PetscCall(PetscFree3(run.loglik, run.post, run.logpx));
  PetscCall(PetscFree3(run.pred, run.logprior, run.confusion));
  PetscCall(PetscFree(run.prior));
  PetscCall(PetscFree(run.ownlabel));
  for (PetscInt k = 0; k < run.nmodels; k++) PetscCall(PetscFree(run.models[k]));
  PetscCall(TnDataDestroy(&data));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}
