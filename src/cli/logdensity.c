/* tenor logdensity: evaluate log Phi(x) for every sample, in batches of B,
   and report the local-loss breakdown (MODEL.md section 3). */
#include "cli.h"
#include <tenor/io.h>
#include <tenor/train.h>
#include <math.h>

typedef struct {
  char        dir[PETSC_MAX_PATH_LEN], model[PETSC_MAX_PATH_LEN]; /* model: a file of tenor train, or "" */
  PetscInt    S, N, K;
  PetscInt64  nnz;
  PetscReal   passes;   /* products with W per sample (per batch: every sample of it shares them) */
  PetscReal  *logphi;   /* [S] */
  PetscReal  *steploss; /* [K] mean over samples of sum_i l_{k,i} */
  PetscReal   baseloss; /* mean over samples of sum_i l_i^base */
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
  PetscCall(TnDynSetUp(*dyn));
  PetscCall(TnDynView(*dyn, PETSC_VIEWER_STDOUT_(comm)));
  run->t_dyn = TnTime() - t;
  t          = TnTime();
  PetscCall(TnDataCreate(comm, data));
  PetscCall(TnDataSetFromOptions(*data));
  if (run->model[0]) PetscCall(TnModelConfigureData(comm, run->model, *data));
  PetscCall(TnDataLoad(*data, run->N));
  PetscCall(TnDataGetNumSamples(*data, &run->S));
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
  PetscCall(PetscCalloc2(run->S, &run->logphi, run->K + 1, &run->steploss));
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
      run->logphi[s0 + b] = res.logphi[b];
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
    fprintf(fp, "sample,log_phi,loss_nats,bits_per_dim\n");
    for (PetscInt s = 0; s < run->S; s++) fprintf(fp, "%" PetscInt_FMT ",%.17g,%.17g,%.17g\n", s, (double)run->logphi[s], (double)-run->logphi[s], (double)(-run->logphi[s] / (run->N * M_LN2)));
  }
  PetscCall(TnOutClose(comm, &fp, path));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Per-node totals, averaged over samples, in natural node order. */
static PetscErrorCode WriteNodeLoss(MPI_Comm comm, TnNet net, TnDyn dyn, TnRun *run, char path[], size_t len)
{
  Vec             part, nat;
  VecScatter      sct;
  IS              is;
  const PetscInt *natural;
  PetscInt        m;
  PetscFunctionBeginUser;
  PetscCall(TnDynGetNodeLoss(dyn, &part));
  PetscCall(TnNetGetNatural(net, &natural));
  PetscCall(VecGetLocalSize(part, &m));
  PetscCall(VecCreateMPI(comm, PETSC_DECIDE, run->N, &nat));
  PetscCall(ISCreateGeneral(comm, m, natural, PETSC_USE_POINTER, &is));
  PetscCall(VecScatterCreate(nat, is, part, NULL, &sct));
  PetscCall(VecScatterBegin(sct, part, nat, INSERT_VALUES, SCATTER_REVERSE));
  PetscCall(VecScatterEnd(sct, part, nat, INSERT_VALUES, SCATTER_REVERSE));
  PetscCall(VecScale(nat, 1.0 / run->S));
  PetscCall(PetscSNPrintf(path, len, "%s/nodeloss.csv", run->dir));
  PetscCall(TnWriteVecText(nat, "node_loss_nats", path));
  PetscCall(VecScatterDestroy(&sct));
  PetscCall(ISDestroy(&is));
  PetscCall(VecDestroy(&nat));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void Stats(const TnRun *run, double *mean, double *sd)
{
  double m = 0, v = 0;
  for (PetscInt s = 0; s < run->S; s++) m += -run->logphi[s] / run->S;
  for (PetscInt s = 0; s < run->S; s++) v += (-run->logphi[s] - m) * (-run->logphi[s] - m);
  *mean = m;
  *sd   = run->S > 1 ? sqrt(v / (run->S - 1)) : 0;
}

static PetscErrorCode WriteSummary(MPI_Comm comm, TnNet net, TnDyn dyn, TnRun *run, const char *files[], PetscInt nfiles, char path[], size_t len)
{
  FILE           *fp;
  double          mean, sd;
  TnScheme        scheme;
  TnForm          form;
  TnAct           act;
  PetscReal       h, inv;
  PetscInt        B, ncol;
  const char     *ntype, *what;
  TnPartitionInfo pi;
  TnLogDetType    ldt;
  TnBase          base;
  PetscFunctionBeginUser;
  Stats(run, &mean, &sd);
  PetscCall(TnDynGetLoss(dyn, &ldt, &base));
  PetscCall(TnDynGetParams(dyn, &scheme, &form, &act, &h, NULL, &B));
  PetscCall(TnDynGetNumColors(dyn, &ncol));
  PetscCall(TnDynGetInvertibility(dyn, &inv, &what));
  PetscCall(TnNetGetType(net, &ntype));
  PetscCall(TnNetGetPartitionInfo(net, &pi));
  PetscCall(TnOutOpen(comm, run->dir, "summary.json", &fp, path, len));
  if (fp) {
    fprintf(fp, "{\n  \"tenor_version\": \"%s\",\n  \"command\": \"logdensity\",\n  \"ranks\": %d,\n", TENOR_VERSION, run->size);
    fprintf(fp, "  \"network\": {\"type\": \"%s\", \"N\": %" PetscInt_FMT ", \"nnz\": %" PetscInt64_FMT ", \"edge_cut\": %" PetscInt_FMT ", \"halo_min\": %" PetscInt_FMT ", \"halo_mean\": %.6g, \"halo_max\": %" PetscInt_FMT ", \"imbalance_rows\": %.6g, \"imbalance_nnz\": %.6g},\n", ntype, run->N, run->nnz, pi.edge_cut, pi.halo_min, (double)pi.halo_mean, pi.halo_max, (double)pi.imbalance_rows, (double)pi.imbalance_nnz);
    fprintf(fp, "  \"dynamics\": {\"scheme\": \"%s\", \"form\": \"%s\", \"activation\": \"%s\", \"h\": %.17g, \"K\": %" PetscInt_FMT ", \"batch\": %" PetscInt_FMT ", \"colors\": %" PetscInt_FMT ", \"logdet\": \"%s\", \"base\": \"%s\", \"invertibility_value\": %.17g, \"invertibility\": \"%s\"},\n", scheme, TnFormTypes[form], TnActTypes[act], (double)h, run->K, B, ncol, TnLogDetTypes[ldt], TnBaseTypes[base], (double)inv, what);
    fprintf(fp, "  \"samples\": %" PetscInt_FMT ",\n  \"loss_nats_mean\": %.17g,\n  \"loss_nats_sd\": %.17g,\n  \"bits_per_dim\": %.17g,\n  \"log_phi_mean\": %.17g,\n", run->S, mean, sd, mean / (run->N * M_LN2), -mean);
    fprintf(fp, "  \"base_loss_mean\": %.17g,\n", (double)run->baseloss);
    TnJsonArray(fp, "step_loss_mean", run->steploss, run->K, PETSC_FALSE);
    fprintf(fp, "  \"timings_s\": {\"network\": %.6g, \"dynamics_setup\": %.6g, \"data\": %.6g, \"evaluate\": %.6g, \"total\": %.6g},\n", run->t_net, run->t_dyn, run->t_data, run->t_eval, run->t_total);
    fprintf(fp, "  \"synaptic_updates_per_s\": %.6g,\n", run->t_eval > 0 ? (double)run->nnz * run->S * run->passes / run->t_eval : 0.0);
    fprintf(fp, "  \"passes_per_sample\": %.6g,\n  \"synaptic_updates_per_sample\": %.6g,\n", (double)run->passes, (double)run->passes * (double)run->nnz);
    fprintf(fp, "  \"memory\": {\"peak_rss_bytes_sum\": %.6g, \"peak_rss_bytes_max\": %.6g, \"bytes_per_synapse\": %.6g, \"simulation_bytes\": %.6g, \"simulation_bytes_per_synapse\": %.6g, \"note\": \"simulation = resident memory after the evaluation minus that after start-up (libraries), summed over ranks\"},\n", run->mem_sum, run->mem_max, run->mem_sum / (double)PetscMax(run->nnz, 1), run->mem_sim, run->mem_sim / (double)PetscMax(run->nnz, 1));
    fprintf(fp, "  \"outputs\": [");
    for (PetscInt f = 0; f < nfiles; f++) fprintf(fp, "%s\"%s\"", f ? ", " : "", files[f]);
    fprintf(fp, "]\n}\n");
  }
  PetscCall(TnOutClose(comm, &fp, path));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode PrintSummary(MPI_Comm comm, TnRun *run, const char *files[], PetscInt nfiles)
{
  double mean, sd;
  PetscFunctionBeginUser;
  Stats(run, &mean, &sd);
  PetscCall(PetscPrintf(comm, "result: -log Phi(x) = %.10g nats per sample (sd %.4g over %" PetscInt_FMT " samples) = %.8g bits/dim\n", mean, sd, run->S, mean / (run->N * M_LN2)));
  PetscCall(PetscPrintf(comm, "  base term %.10g nats, log-det terms %.10g nats (sum over %" PetscInt_FMT " steps)\n", (double)run->baseloss, mean - (double)run->baseloss, run->K));
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
  PetscCall(TnCliOptionsPass(comm, "logdensity", TN_CLI_DATA, &help));
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
  }
  PetscCall(Evaluate(comm, dyn, data, &run));
  PetscCall(TnCurrentMemory(comm, &run.mem_sim));
  run.mem_sim -= run.mem_base;
  PetscCall(WriteSamples(comm, &run, p1, sizeof(p1)));
  files[nf++] = p1;
  if (nodeloss) {
    PetscCall(WriteNodeLoss(comm, net, dyn, &run, p3, sizeof(p3)));
    files[nf++] = p3;
  }
  PetscCall(PetscSNPrintf(p2, sizeof(p2), "%s/summary.json", run.dir));
  files[nf++] = p2;
  PetscCall(TnPeakMemory(comm, &run.mem_sum, &run.mem_max));
  run.t_total = TnTime() - run.t_total;
  PetscCall(WriteSummary(comm, net, dyn, &run, files, nf, p2, sizeof(p2)));
  PetscCall(PrintSummary(comm, &run, files, nf));
  PetscCall(TnWarnUnusedOptions(comm, "logdensity"));
  PetscCall(PetscFree2(run.logphi, run.steploss));
  PetscCall(TnDataDestroy(&data));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}
