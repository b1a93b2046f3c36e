/* tenor logdensity: evaluate log Phi(x) for every sample, in batches of B,
   and report the local-loss breakdown (docs/model.md section 4). */
#include "cli.h"
#include <tenor/io.h>
#include <tenor/train.h>
#include <math.h>

typedef struct {
  char        dir[PETSC_MAX_PATH_LEN], model[PETSC_MAX_PATH_LEN]; /* model: a file of tenor train, or "" */
  PetscInt    S, N, K;
  PetscInt    nclamp, nfree; /* clamped nodes (-data_clamp) and the free ones, the density's dimension */
  PetscInt64  nnz;
  PetscReal   passes;         /* products with W per sample (per batch: every sample of it shares them) */
  PetscReal  *logphi;         /* [S] */
  PetscReal  *logphi_se;      /* [S] standard error of logphi when the log-dets are estimates (slq), else 0 */
  PetscBool   estimate;       /* the log-det method is an estimate: report standard errors */
  PetscReal  *steploss;       /* [K] mean over samples of sum_i l_{k,i} */
  PetscReal   baseloss;       /* mean over samples of sum_i l_i^base */
  PetscReal   shift;          /* sum_i log sd_i: data-space loss = standardised loss + shift (0 unless standardised) */
  PetscReal   condH, condnll; /* with a clamp set and Gaussian data: H(t | x), mean exact -log p(t | x) of the samples (NaN if unknown) */
  double      t_net, t_dyn, t_data, t_eval, t_total, mem_sum, mem_max, mem_base, mem_sim;
  PetscMPIInt size;
} TnRun;

static PetscErrorCode SetUp(MPI_Comm comm, TnNet *net, TnDyn *dyn, TnData *data, TnRun *run)
{
  PetscLogDouble t;
  PetscFunctionBeginUser;
  t = TnTime();
  PetscCall(TnNetCreate(comm, net));
  PetscCall(TnNetSetFromOptions(*net));
  if (run->model[0]) PetscCall(TnModelLoadNet(comm, run->model, *net));
  PetscCall(TnNetSetUp(*net));
  PetscCall(TnNetGetSizes(*net, &run->N, &run->nnz));
  PetscCall(TnNetView(*net, PETSC_VIEWER_STDOUT_(comm)));
  run->t_net = TnTime() - t;
  t          = TnTime();
  PetscCall(TnDynCreate(*net, dyn));
  PetscCall(TnCliConfigureDyn(comm, run->model, *dyn));
  PetscCall(TnDataCreate(comm, data));
  PetscCall(TnDataSetFromOptions(*data));
  if (run->model[0])
    PetscCall(TnModelConfigureData(comm, run->model, *data));
  else
    PetscCall(TnCliClampLabels(comm, *data, *dyn, run->N)); /* a model stores its label nodes in its clamp set */
  PetscCall(TnDynSetUp(*dyn));
  PetscCall(TnDynView(*dyn, PETSC_VIEWER_STDOUT_(comm)));
  PetscCall(TnDynGetClamp(*dyn, &run->nclamp, &run->nfree, NULL));
  PetscCall(TnCliDataClampMask(comm, *dyn, *data, run->N));
  run->t_dyn = TnTime() - t;
  t          = TnTime();
  if (run->model[0]) { /* an explicit -data_dequantize wins over the model's */
    PetscBool deq, set;
    PetscCall(PetscOptionsGetBool(NULL, NULL, "-data_dequantize", &deq, &set));
    if (set) PetscCall(TnDataSetDequantize(*data, deq));
  }
  PetscCall(TnDataLoad(*data, run->N));
  PetscCall(TnMemoryTrace(comm, "data: loaded"));
  PetscCall(TnDataGetNumSamples(*data, &run->S));
  PetscCall(TnDataGetLogJacobian(*data, &run->shift));
  run->shift = -run->shift;
  run->condH = run->condnll = NAN;
  if (run->nclamp) { /* the conditional references (docs/conditional.md) */
    IS        is;
    PetscBool known;
    PetscReal lp[64], sum = 0;
    PetscCall(TnDynGetClampIS(*dyn, &is));
    PetscCall(TnDataSetConditioning(*data, is));
    PetscCall(ISDestroy(&is));
    PetscCall(TnDataExactConditionalEntropy(*data, &run->condH, &known));
    for (PetscInt s0 = 0; known && s0 < run->S; s0 += 64) {
      PetscCall(TnDataExactConditionalLogDensity(*data, TN_DATA_ALL, s0, 64, lp, &known));
      for (PetscInt b = 0; b < 64 && s0 + b < run->S; b++) sum -= lp[b];
    }
    if (known) run->condnll = sum / run->S;
    PetscCall(TnDataSetConditioning(*data, NULL));
  }
  run->t_data = TnTime() - t;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Every batch: natural-order samples -> partitioned state -> K steps. */
static PetscErrorCode Evaluate(MPI_Comm comm, TnDyn dyn, TnData data, TnRun *run)
{
  Vec         xnat, x;
  TnDynResult res;
  PetscInt    B, nb;
  TnProgress  prog;
  PetscFunctionBeginUser;
  PetscCall(TnDynGetParams(dyn, NULL, NULL, NULL, NULL, &run->K, &B));
  PetscCall(TnDynCreateNaturalState(dyn, &xnat));
  PetscCall(TnDynCreateState(dyn, &x));
  PetscCall(TnDynResultCreate(dyn, &res));
  PetscCall(PetscCalloc3(run->S, &run->logphi, run->K + 1, &run->steploss, run->S, &run->logphi_se));
  nb = (run->S + B - 1) / B;
  PetscCall(PetscPrintf(comm, "evaluating %" PetscInt_FMT " samples in %" PetscInt_FMT " batch(es) of %" PetscInt_FMT "\n", run->S, nb, B));
  PetscCall(TnProgressStart(comm, &prog, "samples", run->S, (double)run->nnz * run->K, "synaptic updates"));
  run->t_eval = TnTime();
  for (PetscInt s0 = 0; s0 < run->S; s0 += B) {
    PetscInt valid;
    PetscCall(TnDataGetBatch(data, s0, xnat, &valid));
    res.nvalid = valid; /* the last batch may be padded */
    res.first  = s0;
    PetscCall(TnDynNaturalToState(dyn, xnat, x, SCATTER_FORWARD));
    PetscCall(TnDynEvaluate(dyn, x, &res));
    for (PetscInt b = 0; b < valid; b++) {
      run->logphi[s0 + b]    = res.logphi[b];
      run->logphi_se[s0 + b] = res.logphi_se[b];
      run->baseloss -= res.base[b] / run->S;
      for (PetscInt k = 0; k < run->K; k++) run->steploss[k] -= res.steps[k * B + b] / run->S;
    }
    PetscCall(TnProgressUpdate(comm, &prog, s0 + valid));
  }
  run->t_eval = TnTime() - run->t_eval;
  {
    PetscInt64 p;
    PetscCall(TnDynGetPasses(dyn, &p));
    run->passes = nb > 0 ? (PetscReal)p / nb : 0;
  }
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&xnat));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode WriteSamples(MPI_Comm comm, TnRun *run, char path[], size_t len)
{
  FILE *fp;
  PetscFunctionBeginUser;
  PetscCall(TnOutOpen(comm, run->dir, "logphi.csv", &fp, path, len));
  if (fp) {
    fprintf(fp, "sample,log_phi,loss_nats,bits_per_dim,loss_standardized_nats%s\n", run->estimate ? ",log_phi_stderr" : "");
    for (PetscInt s = 0; s < run->S; s++) {
      double z = -(double)run->logphi[s], x = z + (double)run->shift; /* -log p_z(z), -log p_x(x) */
      fprintf(fp, "%" PetscInt_FMT ",%.17g,%.17g,%.17g,%.17g", s, -x, x, x / (run->nfree * M_LN2), z);
      if (run->estimate) fprintf(fp, ",%.17g", (double)run->logphi_se[s]);
      fprintf(fp, "\n");
    }
  }
  PetscCall(TnOutClose(comm, &fp, path));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Per-node totals, averaged over samples, in natural node order. */
static PetscErrorCode WriteNodeLoss(MPI_Comm comm, TnNet net, TnDyn dyn, TnData data, TnRun *run, char path[], size_t len)
{
  Vec part, nat;
  PetscFunctionBeginUser;
  PetscCall(TnDynGetNodeLoss(dyn, &part));
  PetscCall(VecCreateMPI(comm, PETSC_DECIDE, run->N, &nat));
  PetscCall(TnNetNaturalMove(net, nat, part, SCATTER_REVERSE)); /* nat[natural[i]] = part[i] */
  PetscCall(VecScale(nat, 1.0 / run->S));
  if (run->shift != 0) { /* data space: node i adds log sd_i (nat has the default layout, as sd) */
    Vec mean, sd;
    PetscCall(VecDuplicate(nat, &mean));
    PetscCall(VecDuplicate(nat, &sd));
    PetscCall(TnDataGetStandardization(data, mean, sd));
    PetscCall(VecLog(sd));
    if (run->nclamp) { /* over the free nodes only (docs/conditional.md): mean <- 1 - clamp mask */
      PetscCall(TnDynGetClampMask(dyn, mean));
      PetscCall(VecScale(mean, -1.0));
      PetscCall(VecShift(mean, 1.0));
      PetscCall(VecPointwiseMult(sd, sd, mean));
    }
    PetscCall(VecAXPY(nat, 1.0, sd));
    PetscCall(VecDestroy(&mean));
    PetscCall(VecDestroy(&sd));
  }
  PetscCall(PetscSNPrintf(path, len, "%s/nodeloss.csv", run->dir));
  PetscCall(TnWriteVecTable(nat, "node,node_loss_nats", path));
  PetscCall(VecDestroy(&nat));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Mean and sd over samples of -log p_x(x), the loss in the data's own space:
   the network sees z = (x - mean) / sd when the data are standardised, and
   -log p_x(x) = -log p_z(z) + sum_i log sd_i (docs/data.md). For estimated
   log-dets also the standard error of the mean from the estimates' errors
   alone: every sample has its own probes, so the errors are independent and
   se(mean) = sqrt(sum_s se_s^2) / S. */
static void Stats(const TnRun *run, double *mean, double *sd, double *se)
{
  double m = 0, v = 0, e = 0;
  for (PetscInt s = 0; s < run->S; s++) m += -run->logphi[s] / run->S;
  for (PetscInt s = 0; s < run->S; s++) v += (-run->logphi[s] - m) * (-run->logphi[s] - m);
  for (PetscInt s = 0; s < run->S; s++) e += (double)run->logphi_se[s] * run->logphi_se[s];
  *mean = m + run->shift; /* data space */
  *sd   = run->S > 1 ? sqrt(v / (run->S - 1)) : 0;
  *se   = run->S > 0 ? sqrt(e) / run->S : 0;
}

static PetscErrorCode WriteSummary(MPI_Comm comm, TnNet net, TnDyn dyn, TnData data, TnRun *run, const char *files[], PetscInt nfiles, char path[], size_t len)
{
  double          mean, sd, se;
  TnScheme        scheme;
  TnForm          form;
  TnAct           act;
  PetscReal       h, inv;
  PetscInt        B, ncol;
  const char     *ntype, *what;
  TnPartitionInfo pi;
  TnLogDetType    ldt;
  TnBase          base;
  json_t         *root;
  PetscFunctionBeginUser;
  Stats(run, &mean, &sd, &se);
  PetscCall(TnDynGetLoss(dyn, &ldt, &base));
  PetscCall(TnDynGetParams(dyn, &scheme, &form, &act, &h, NULL, &B));
  PetscCall(TnDynGetNumColors(dyn, &ncol));
  PetscCall(TnDynGetInvertibility(dyn, &inv, &what));
  PetscCall(TnNetGetType(net, &ntype));
  PetscCall(TnNetGetPartitionInfo(net, &pi));
  PetscCall(TnOutJsonBegin(comm, "logdensity", &root));
  PetscCall(TnJsonSet(root, "network", json_pack("{s:o, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:o, s:I, s:o, s:o}", "type", TnJsonStr(ntype), "N", (json_int_t)run->N, "nnz", (json_int_t)run->nnz, "edge_cut", (json_int_t)pi.edge_cut, "halo_min", (json_int_t)pi.halo_min, "halo_mean", TnJsonReal((double)pi.halo_mean), "halo_max", (json_int_t)pi.halo_max, "neighbours_min", (json_int_t)pi.neighbours_min, "neighbours_mean", TnJsonReal((double)pi.neighbours_mean), "neighbours_max", (json_int_t)pi.neighbours_max, "imbalance_rows", TnJsonReal((double)pi.imbalance_rows), "imbalance_nnz", TnJsonReal((double)pi.imbalance_nnz))));
  PetscCall(TnJsonSet(root, "dynamics", json_pack("{s:o, s:s, s:s, s:o, s:I, s:I, s:I, s:s, s:s, s:o, s:o}", "scheme", TnJsonStr(scheme), "form", TnFormTypes[form], "activation", TnActTypes[act], "h", TnJsonReal((double)h), "K", (json_int_t)run->K, "batch", (json_int_t)B, "colors", (json_int_t)ncol, "logdet", TnLogDetTypes[ldt], "base", TnBaseTypes[base], "invertibility_value", TnJsonReal((double)inv), "invertibility", TnJsonStr(what))));
  PetscCall(TnJsonSet(root, "samples", json_integer(run->S)));
  PetscCall(TnJsonSet(root, "loss_nats_mean", TnJsonReal(mean)));
  PetscCall(TnJsonSet(root, "loss_nats_sd", TnJsonReal(sd)));
  PetscCall(TnJsonSet(root, "bits_per_dim", TnJsonReal(mean / (run->nfree * M_LN2))));
  PetscCall(TnJsonSet(root, "log_phi_mean", TnJsonReal(-mean)));
  PetscCall(TnJsonSet(root, "loss_standardized_nats_mean", TnJsonReal(mean - run->shift)));
  PetscCall(TnJsonSet(root, "bits_per_dim_standardized", TnJsonReal((mean - run->shift) / (run->nfree * M_LN2))));
  if (run->nclamp) PetscCall(TnJsonSet(root, "conditional", json_pack("{s:I, s:I, s:o, s:o, s:s}", "clamped_nodes", (json_int_t)run->nclamp, "free_nodes", (json_int_t)run->nfree, "entropy", TnJsonReal((double)run->condH), "exact_nll_mean", TnJsonReal((double)run->condnll), "note", "log_phi is log Phi(t | x) of the free nodes given the clamped ones; bits per dimension over the free nodes; entropy is H(t | x) and exact_nll_mean the mean exact -log p(t | x) of the samples (Gaussian data; null otherwise)")));
  PetscCall(TnJsonSet(root, "sum_log_sd", TnJsonReal(run->shift)));
  PetscCall(TnJsonSet(root, "base_loss_mean", TnJsonReal((double)run->baseloss)));
  if (run->estimate) {
    PetscCall(TnJsonSet(root, "loss_stderr_nats", TnJsonReal(se)));
    PetscCall(TnJsonSet(root, "loss_stderr_note", TnJsonStr("standard error of loss_nats_mean from the estimated log-dets (per-sample errors in logphi.csv, log_phi_stderr)")));
  }
  PetscCall(TnJsonSet(root, "step_loss_mean", TnJsonRealArray(run->steploss, run->K)));
  PetscCall(TnJsonSet(root, "timings_s", json_pack("{s:f, s:f, s:f, s:f, s:f}", "network", run->t_net, "dynamics_setup", run->t_dyn, "data", run->t_data, "evaluate", run->t_eval, "total", run->t_total)));
  PetscCall(TnJsonSet(root, "synaptic_updates_per_s", TnJsonReal(run->t_eval > 0 ? (double)run->nnz * run->S * run->passes / run->t_eval : 0.0)));
  PetscCall(TnJsonSet(root, "passes_per_sample", TnJsonReal((double)run->passes)));
  PetscCall(TnJsonSet(root, "synaptic_updates_per_sample", TnJsonReal((double)run->passes * (double)run->nnz)));
  PetscCall(TnJsonSet(root, "memory", json_pack("{s:f, s:f, s:f, s:f, s:f, s:s}", "peak_rss_bytes_sum", run->mem_sum, "peak_rss_bytes_max", run->mem_max, "bytes_per_synapse", run->mem_sum / (double)PetscMax(run->nnz, 1), "simulation_bytes", run->mem_sim, "simulation_bytes_per_synapse", run->mem_sim / (double)PetscMax(run->nnz, 1), "note", "simulation = resident memory after the evaluation minus that after start-up (libraries), summed over ranks")));
  PetscCall(TnJsonSet(root, "outputs", TnJsonStrArray(files, nfiles)));
  PetscCall(TnOutJsonEnd(comm, "logdensity", data, NULL, run->dir, "summary.json", path, len, &root));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode PrintSummary(MPI_Comm comm, TnRun *run, const char *files[], PetscInt nfiles)
{
  double mean, sd, se, semax = 0;
  PetscFunctionBeginUser;
  Stats(run, &mean, &sd, &se);
  PetscCall(PetscPrintf(comm, "result: -log Phi(x) = %.10g nats per sample (sd %.4g over %" PetscInt_FMT " samples) = %.8g bits/dim\n", mean, sd, run->S, mean / (run->nfree * M_LN2)));
  if (run->shift != 0) PetscCall(PetscPrintf(comm, "  in the data's own space; standardised: %.10g nats = %.8g bits/dim, plus sum_i log sd_i = %.10g nats\n", mean - run->shift, (mean - run->shift) / (run->nfree * M_LN2), (double)run->shift));
  PetscCall(PetscPrintf(comm, "  base term %.10g nats, log-det terms %.10g nats (sum over %" PetscInt_FMT " steps)\n", (double)run->baseloss, mean - run->shift - (double)run->baseloss, run->K));
  if (run->estimate) {
    for (PetscInt s = 0; s < run->S; s++) semax = PetscMax(semax, (double)run->logphi_se[s]);
    PetscCall(PetscPrintf(comm, "  estimated log-dets: standard error %.3g nats on the mean, per sample up to %.3g nats (log_phi_stderr in logphi.csv)\n", se, semax));
  }
  PetscCall(PetscPrintf(comm, "time: evaluate %.3f s (%.3g synaptic updates/s), total %.3f s\nmemory: %.3g GB in simulation (%.1f bytes per synapse), peak %.3g GB (%.1f bytes per synapse, set-up included)\n", run->t_eval, run->t_eval > 0 ? (double)run->nnz * run->S * run->passes / run->t_eval : 0.0, run->t_total, run->mem_sim / 1e9, run->mem_sim / (double)PetscMax(run->nnz, 1), run->mem_sum / 1e9, run->mem_sum / (double)PetscMax(run->nnz, 1)));
  for (PetscInt f = 0; f < nfiles; f++) PetscCall(PetscPrintf(comm, "wrote %s\n", files[f]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnCmdLogDensity(MPI_Comm comm)
{
  TnNet       net;
  TnDyn       dyn;
  TnData      data;
  TnRun       run = {.dir = "out"};
  char        p1[PETSC_MAX_PATH_LEN], p2[PETSC_MAX_PATH_LEN], p3[PETSC_MAX_PATH_LEN];
  const char *files[3];
  PetscInt    nf       = 0;
  PetscBool   nodeloss = PETSC_FALSE, help;
  PetscFunctionBeginUser;
  run.t_total = TnTime();
  PetscCallMPI(MPI_Comm_size(comm, &run.size));
  PetscCall(TnOptionsPassBegin(comm));
  PetscOptionsBegin(comm, "out_", "Output", "tenor");
  PetscCall(PetscOptionsString("-dir", "Directory for logphi.csv, summary.json, nodeloss.csv", "", run.dir, run.dir, sizeof(run.dir), NULL));
  PetscOptionsEnd();
  PetscOptionsBegin(comm, NULL, "Model", "tenor");
  PetscCall(PetscOptionsString("-model", "A model saved by tenor train (HDF5): its parameters, pattern and dynamics settings", "TnModelLoadNet", run.model, run.model, sizeof(run.model), NULL));
  PetscOptionsEnd();
  PetscCall(TnCliOptionsPass(comm, "logdensity", TN_CLI_DATA, 0, &help));
  if (help) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnCliCheckModelOptions(comm, run.model));
  PetscCall(TnOutMakeDir(comm, run.dir)); /* before any work: a directory we cannot write is found now */
  PetscCall(PetscPrintf(comm, "tenor logdensity on %d rank(s)\n", run.size));
  PetscCall(TnCurrentMemory(comm, &run.mem_base));
  PetscCall(SetUp(comm, &net, &dyn, &data, &run));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-dyn_nodeloss", &nodeloss, NULL));
  {
    char desc[512];
    PetscCall(TnDataDescribe(data, desc, sizeof(desc)));
    PetscCall(PetscPrintf(comm, "data: %s\n", desc));
    if (!isnan(run.condH)) PetscCall(PetscPrintf(comm, "conditional references (%" PetscInt_FMT " clamped, %" PetscInt_FMT " free nodes): exact H(t | x) = %.10g nats (%.8g bits/dim over the free nodes); exact mean -log p(t | x) of these samples = %.10g nats\n", run.nclamp, run.nfree, (double)run.condH, (double)(run.condH / (run.nfree * M_LN2)), (double)run.condnll));
  }
  {
    TnLogDetType ldt;
    PetscCall(TnDynGetLoss(dyn, &ldt, NULL));
    run.estimate = (PetscBool)(ldt == TN_LOGDET_SLQ);
  }
  PetscCall(Evaluate(comm, dyn, data, &run));
  PetscCall(TnMemoryTrace(comm, "logdensity: evaluated"));
  PetscCall(TnCurrentMemory(comm, &run.mem_sim));
  run.mem_sim -= run.mem_base;
  PetscCall(WriteSamples(comm, &run, p1, sizeof(p1)));
  files[nf++] = p1;
  if (nodeloss) {
    PetscCall(WriteNodeLoss(comm, net, dyn, data, &run, p3, sizeof(p3)));
    files[nf++] = p3;
  }
  PetscCall(PetscSNPrintf(p2, sizeof(p2), "%s/summary.json", run.dir));
  files[nf++] = p2;
  PetscCall(TnPeakMemory(comm, &run.mem_sum, &run.mem_max));
  run.t_total = TnTime() - run.t_total;
  PetscCall(WriteSummary(comm, net, dyn, data, &run, files, nf, p2, sizeof(p2)));
  PetscCall(PrintSummary(comm, &run, files, nf));
  PetscCall(TnWarnUnusedOptions(comm, "logdensity"));
  PetscCall(PetscFree3(run.logphi, run.steploss, run.logphi_se));
  PetscCall(TnDataDestroy(&data));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}
