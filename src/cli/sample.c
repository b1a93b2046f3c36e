/* tenor sample: draw z ~ p_base, run the evolution backwards to x = a_0
   (docs/sampling.md), then check the sample by running it forward again:
   TnDynEvaluate(x) gives log Phi(x) and a_K, and max_i |a_K,i - z_i| is the
   round-trip error. Samples go to out_dir/samples.csv (a header x0,...,x{N-1},
   then one sample per row, natural node order, %.17g; rank 0 gathers one batch, N*B values, at a
   time) and optionally to HDF5 (parallel HDF5, dataset /x, samples x N). */
#include "cli.h"
#include <tenor/io.h>
#include <tenor/train.h>
#include <tenor/sample.h>
#include <math.h>

typedef struct {
  char        dir[PETSC_MAX_PATH_LEN], h5[PETSC_MAX_PATH_LEN], model[PETSC_MAX_PATH_LEN];
  PetscInt    S, N, K, B, seed;
  PetscInt    nfree; /* the density's dimension: N, or the free nodes with -data_clamp */
  PetscInt64  nnz;
  PetscReal  *logphi, *rt_abs, *rt_rel; /* [S] */
  Vec         mean, sd;                 /* -model of standardised data: x = mean + sd z (default layout of N), else NULL */
  PetscReal   shift;                    /* sum_i log sd_i: log p_x(x) = log Phi(z) - shift */
  PetscBool   dequantized;
  double      t_net, t_dyn, t_invert, t_forward, t_write, t_total, mem_sum, mem_max;
  PetscMPIInt size;
} TnRun;

static PetscErrorCode SetUp(MPI_Comm comm, TnNet *net, TnDyn *dyn, TnSampler *smp, TnRun *run)
{
  PetscLogDouble t;
  const char    *model = run->model;
  PetscFunctionBeginUser;
  t = TnTime();
  PetscCall(TnNetCreate(comm, net));
  PetscCall(TnNetSetFromOptions(*net));
  if (model[0]) PetscCall(TnModelLoadNet(comm, model, *net)); /* a network trained by tenor train */
  if (model[0]) PetscCall(TnModelGetPreprocessing(comm, model, &run->dequantized, &run->mean, &run->sd));
  if (run->sd) { /* samples are written in the data's own space */
    Vec l;
    PetscCall(VecDuplicate(run->sd, &l));
    PetscCall(VecCopy(run->sd, l));
    PetscCall(VecLog(l));
    PetscCall(VecSum(l, &run->shift));
    PetscCall(VecDestroy(&l));
    PetscCall(PetscPrintf(comm, "data: the model was trained on standardised data; samples are written in the data's own space, x = mean + sd z\n"));
  }
  PetscCall(TnNetSetUp(*net));
  PetscCall(TnNetGetSizes(*net, &run->N, &run->nnz));
  PetscCall(TnNetView(*net, PETSC_VIEWER_STDOUT_(comm)));
  run->t_net = TnTime() - t;
  t          = TnTime();
  PetscCall(TnDynCreate(*net, dyn));
  PetscCall(TnCliConfigureDyn(comm, model, *dyn));
  PetscCall(TnDynSetUp(*dyn));
  PetscCall(TnDynView(*dyn, PETSC_VIEWER_STDOUT_(comm)));
  PetscCall(TnDynGetParams(*dyn, NULL, NULL, NULL, NULL, &run->K, &run->B));
  {
    PetscInt nclamp;
    PetscCall(TnDynGetClamp(*dyn, &nclamp, &run->nfree, NULL));
    if (nclamp && run->sd) { /* the given values are used as they are: the model must keep its clamped nodes unstandardised (mean 0, sd 1), as tenor train does */
      Vec       mask, dev;
      PetscReal worst, dmean;
      PetscCall(VecDuplicate(run->sd, &mask));
      PetscCall(VecDuplicate(run->sd, &dev));
      PetscCall(TnDynGetClampMask(*dyn, mask));
      PetscCall(VecCopy(run->sd, dev));
      PetscCall(VecShift(dev, -1.0));
      PetscCall(VecAbs(dev));
      PetscCall(VecPointwiseMult(dev, dev, mask));
      PetscCall(VecNorm(dev, NORM_INFINITY, &worst));
      PetscCall(VecPointwiseMult(dev, run->mean, mask));
      PetscCall(VecNorm(dev, NORM_INFINITY, &dmean));
      worst += dmean;
      PetscCall(VecDestroy(&mask));
      PetscCall(VecDestroy(&dev));
      PetscCheck(worst == 0, comm, PETSC_ERR_SUP, "-model %s standardised the nodes now clamped (-data_clamp): the given values would have to be standardised first; clamp the nodes the model was trained with (its stored clamp set) or train with -data_clamp", model);
    }
  }
  PetscCall(TnSamplerCreate(*dyn, smp));
  PetscCall(TnSamplerSetFromOptions(*smp));
  run->t_dyn = TnTime() - t;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Per sample b < valid: max_i |a_K,i - z_i| and the same relative to
   max(1, |z_i|), over all ranks. */
static PetscErrorCode RoundTrip(MPI_Comm comm, Vec aK, Vec z, PetscInt B, PetscInt valid, PetscReal *ab, PetscReal *rel)
{
  const PetscScalar *a, *zz;
  PetscInt           n;
  PetscReal          loc[2 * 1024];
  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(z, &n));
  PetscCall(VecGetArrayRead(aK, &a));
  PetscCall(VecGetArrayRead(z, &zz));
  for (PetscInt b = 0; b < 2 * B; b++) loc[b] = 0;
  for (PetscInt q = 0; q < n; q++) {
    PetscReal d    = PetscAbsReal(a[q] - zz[q]);
    loc[q % B]     = PetscMax(loc[q % B], d);
    loc[B + q % B] = PetscMax(loc[B + q % B], d / PetscMax(1.0, PetscAbsReal(zz[q])));
  }
  PetscCall(VecRestoreArrayRead(aK, &a));
  PetscCall(VecRestoreArrayRead(z, &zz));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, loc, 2 * B, MPIU_REAL, MPIU_MAX, comm));
  for (PetscInt b = 0; b < valid; b++) {
    ab[b]  = loc[b];
    rel[b] = loc[B + b];
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rows s0 .. s0+valid-1 of samples.csv from the batch gathered on rank 0
   (entry i*B + b is node i of slot b). */
static void WriteRows(FILE *fp, const PetscScalar *x, PetscInt N, PetscInt B, PetscInt valid)
{
  for (PetscInt b = 0; b < valid; b++)
    for (PetscInt i = 0; i < N; i++) fprintf(fp, "%.17g%c", (double)x[(size_t)i * B + b], i + 1 < N ? ',' : '\n');
}

typedef struct {
  Vec        z, x, xs, xnat, all;
  VecScatter tozero;
  FILE      *fp;
  TnSampleH5 h5;
} TnBatchIO;

/* x_i = mean_i + sd_i z_i for every slot of a natural-order batch (block
   size B; mean and sd have the same default split of N). */
static PetscErrorCode Unstandardize(Vec xnat, Vec mean, Vec sd)
{
  PetscScalar       *x;
  const PetscScalar *m, *d;
  PetscInt           n, B;
  PetscFunctionBeginUser;
  PetscCall(VecGetBlockSize(xnat, &B));
  PetscCall(VecGetLocalSize(mean, &n));
  PetscCall(VecGetArray(xnat, &x));
  PetscCall(VecGetArrayRead(mean, &m));
  PetscCall(VecGetArrayRead(sd, &d));
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt b = 0; b < B; b++) x[(size_t)i * B + b] = m[i] + d[i] * x[(size_t)i * B + b];
  PetscCall(VecRestoreArrayRead(sd, &d));
  PetscCall(VecRestoreArrayRead(mean, &m));
  PetscCall(VecRestoreArray(xnat, &x));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode WriteBatch(MPI_Comm comm, TnDyn dyn, TnBatchIO *io, TnRun *run, PetscInt s0, PetscInt valid)
{
  PetscLogDouble t = TnTime();
  PetscFunctionBeginUser;
  PetscCall(TnDynNaturalToState(dyn, io->xnat, io->xs, SCATTER_REVERSE));
  if (run->sd) PetscCall(Unstandardize(io->xnat, run->mean, run->sd));
  PetscCall(VecScatterBegin(io->tozero, io->xnat, io->all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(io->tozero, io->xnat, io->all, INSERT_VALUES, SCATTER_FORWARD));
  if (io->fp) {
    const PetscScalar *x;
    PetscCall(VecGetArrayRead(io->all, &x));
    WriteRows(io->fp, x, run->N, run->B, valid);
    PetscCall(VecRestoreArrayRead(io->all, &x));
  }
  if (io->h5) PetscCall(TnSampleH5Write(io->h5, io->xnat, s0, valid));
  run->t_write += TnTime() - t;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Every batch: z -> x (backwards) -> a_K and log Phi (forwards) -> files. */
static PetscErrorCode Generate(MPI_Comm comm, TnDyn dyn, TnSampler smp, TnBatchIO *io, TnRun *run)
{
  TnDynResult res;
  TnProgress  prog;
  PetscFunctionBeginUser;
  PetscCall(TnDynResultCreate(dyn, &res));
  PetscCall(PetscPrintf(comm, "generating %" PetscInt_FMT " samples in %" PetscInt_FMT " batch(es) of %" PetscInt_FMT " (seed %" PetscInt_FMT ")\n", run->S, (run->S + run->B - 1) / run->B, run->B, run->seed));
  PetscCall(TnProgressStart(comm, &prog, "samples", run->S, (double)run->nnz * run->K, "synaptic updates"));
  for (PetscInt s0 = 0; s0 < run->S; s0 += run->B) {
    PetscInt       valid = PetscMin(run->B, run->S - s0);
    PetscLogDouble t     = TnTime();
    PetscCall(TnSamplerDrawBase(smp, s0, io->z));
    PetscCall(VecCopy(io->z, io->x));
    PetscCall(TnSamplerInvert(smp, io->x));
    PetscCall(VecCopy(io->x, io->xs));
    run->t_invert += TnTime() - t;
    t          = TnTime();
    res.nvalid = valid;
    res.first  = s0;
    PetscCall(TnDynEvaluate(dyn, io->x, &res));
    PetscCall(RoundTrip(comm, io->x, io->z, run->B, valid, run->rt_abs + s0, run->rt_rel + s0));
    for (PetscInt b = 0; b < valid; b++) run->logphi[s0 + b] = res.logphi[b] - run->shift; /* log p_x(x) */
    run->t_forward += TnTime() - t;
    PetscCall(WriteBatch(comm, dyn, io, run, s0, valid));
    PetscCall(TnProgressUpdate(comm, &prog, s0 + valid));
  }
  PetscCall(TnDynResultDestroy(&res));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode OpenOutputs(MPI_Comm comm, TnDyn dyn, TnBatchIO *io, TnRun *run, char path[], size_t len)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynCreateState(dyn, &io->z));
  PetscCall(VecDuplicate(io->z, &io->x));
  PetscCall(VecDuplicate(io->z, &io->xs));
  PetscCall(TnDynCreateNaturalState(dyn, &io->xnat));
  PetscCall(VecScatterCreateToZero(io->xnat, &io->tozero, &io->all));
  PetscCall(TnOutOpen(comm, run->dir, "samples.csv", &io->fp, path, len));
  if (io->fp) /* header: one column per node, natural order (tenor logdensity -data_file skips it) */
    for (PetscInt i = 0; i < run->N; i++) fprintf(io->fp, "x%" PetscInt_FMT "%c", i, i + 1 < run->N ? ',' : '\n');
  if (run->h5[0]) PetscCall(TnSampleH5Create(comm, run->h5, "/x", run->S, run->N, &io->h5));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CloseOutputs(MPI_Comm comm, TnBatchIO *io, const char path[])
{
  PetscFunctionBeginUser;
  PetscCall(TnOutClose(comm, &io->fp, path));
  PetscCall(TnSampleH5Close(&io->h5));
  PetscCall(VecScatterDestroy(&io->tozero));
  PetscCall(VecDestroy(&io->all));
  PetscCall(VecDestroy(&io->xnat));
  PetscCall(VecDestroy(&io->xs));
  PetscCall(VecDestroy(&io->x));
  PetscCall(VecDestroy(&io->z));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void Worst(const TnRun *run, double *ab, double *rel, double *mean)
{
  *ab = *rel = *mean = 0;
  for (PetscInt s = 0; s < run->S; s++) {
    *ab  = fmax(*ab, run->rt_abs[s]);
    *rel = fmax(*rel, run->rt_rel[s]);
    *mean += run->logphi[s] / run->S;
  }
}

static PetscErrorCode WriteSummary(MPI_Comm comm, TnNet net, TnDyn dyn, TnSampler smp, TnRun *run, const char *files[], PetscInt nfiles, char path[], size_t len)
{
  double         ab, rel, mean;
  TnScheme       scheme;
  TnForm         form;
  TnAct          act;
  PetscReal      h, inv;
  PetscInt       ncol;
  const char    *ntype, *what;
  TnLogDetType   ldt;
  TnBase         base;
  TnSamplerStats st;
  json_t        *root;
  PetscFunctionBeginUser;
  Worst(run, &ab, &rel, &mean);
  PetscCall(TnSamplerGetStats(smp, &st));
  PetscCall(TnDynGetLoss(dyn, &ldt, &base));
  PetscCall(TnDynGetParams(dyn, &scheme, &form, &act, &h, NULL, NULL));
  PetscCall(TnDynGetNumColors(dyn, &ncol));
  PetscCall(TnDynGetInvertibility(dyn, &inv, &what));
  PetscCall(TnNetGetType(net, &ntype));
  PetscCall(TnOutJsonBegin(comm, "sample", &root));
  PetscCall(TnJsonSet(root, "network", json_pack("{s:o, s:I, s:I}", "type", TnJsonStr(ntype), "N", (json_int_t)run->N, "nnz", (json_int_t)run->nnz)));
  PetscCall(TnJsonSet(root, "dynamics", json_pack("{s:o, s:s, s:s, s:o, s:I, s:I, s:I, s:s, s:s, s:o, s:o}", "scheme", TnJsonStr(scheme), "form", TnFormTypes[form], "activation", TnActTypes[act], "h", TnJsonReal((double)h), "K", (json_int_t)run->K, "batch", (json_int_t)run->B, "colors", (json_int_t)ncol, "logdet", TnLogDetTypes[ldt], "base", TnBaseTypes[base], "invertibility_value", TnJsonReal((double)inv), "invertibility", TnJsonStr(what))));
  PetscCall(TnJsonSet(root, "samples", json_integer(run->S)));
  PetscCall(TnJsonSet(root, "seed", json_integer(run->seed)));
  PetscCall(TnJsonSet(root, "inversion", json_pack("{s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:I}", "sync_iterations_total", (json_int_t)st.sync_iters, "sync_steps", (json_int_t)st.sync_steps, "sync_iterations_max", (json_int_t)st.sync_iters_max, "sync_final_change_max", TnJsonReal((double)st.sync_change_max), "newton_iterations_total", (json_int_t)st.newton_iters, "newton_solves", (json_int_t)st.newton_solves, "newton_iterations_max", (json_int_t)st.newton_iters_max, "rk_steps", (json_int_t)st.rk_steps, "rk_rejected", (json_int_t)st.rk_rejected)));
  PetscCall(TnJsonSet(root, "roundtrip_max_abs", TnJsonReal(ab)));
  PetscCall(TnJsonSet(root, "roundtrip_max_rel", TnJsonReal(rel)));
  PetscCall(TnJsonSet(root, "log_phi_mean", TnJsonReal(mean)));
  PetscCall(TnJsonSet(root, "log_phi", TnJsonRealArray(run->logphi, run->S)));
  PetscCall(TnJsonSet(root, "roundtrip_abs", TnJsonRealArray(run->rt_abs, run->S)));
  PetscCall(TnJsonSet(root, "timings_s", json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}", "network", run->t_net, "dynamics_setup", run->t_dyn, "invert", run->t_invert, "forward_check", run->t_forward, "write", run->t_write, "total", run->t_total)));
  PetscCall(TnJsonSet(root, "samples_per_s", TnJsonReal(run->t_invert > 0 ? run->S / run->t_invert : 0.0)));
  PetscCall(TnJsonSet(root, "memory", json_pack("{s:f, s:f}", "peak_rss_bytes_sum", run->mem_sum, "peak_rss_bytes_max", run->mem_max)));
  PetscCall(TnJsonSet(root, "outputs", TnJsonStrArray(files, nfiles)));
  PetscCall(TnJsonSet(root, "sum_log_sd", TnJsonReal((double)run->shift)));
  PetscCall(TnOutJsonEnd(comm, "sample", NULL, json_pack("{s:b, s:b, s:o, s:s}", "dequantize", (int)run->dequantized, "standardize", run->sd ? 1 : 0, "sum_log_sd", TnJsonReal((double)run->shift), "note", "the model's preprocessing, inverted: samples are in the data's own space"), run->dir, "sample.json", path, len, &root));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode PrintSummary(MPI_Comm comm, TnSampler smp, TnRun *run, const char *files[], PetscInt nfiles)
{
  double         ab, rel, mean;
  TnSamplerStats st;
  PetscFunctionBeginUser;
  Worst(run, &ab, &rel, &mean);
  PetscCall(TnSamplerGetStats(smp, &st));
  PetscCall(PetscPrintf(comm, "result: %" PetscInt_FMT " samples, mean log Phi(x) = %.10g nats (%.8g bits/dim)\n", run->S, mean, -mean / (run->nfree * M_LN2)));
  PetscCall(PetscPrintf(comm, "  round trip max_i |forward(x) - z|: %.3g (relative to max(1,|z|): %.3g), worst sample\n", ab, rel));
  if (st.sync_steps) PetscCall(PetscPrintf(comm, "  sync fixed point: %.3g iterations per step on average, at most %" PetscInt_FMT "\n", (double)st.sync_iters / (double)st.sync_steps, st.sync_iters_max));
  if (st.rk_steps) PetscCall(PetscPrintf(comm, "  continuous: the flow integrated backwards in %" PetscInt64_FMT " accepted steps (%" PetscInt64_FMT " rejected)\n", st.rk_steps, st.rk_rejected));
  if (st.newton_solves) PetscCall(PetscPrintf(comm, "  colored node solves: %.3g Newton iterations on average, at most %" PetscInt_FMT "\n", (double)st.newton_iters / (double)st.newton_solves, st.newton_iters_max));
  PetscCall(PetscPrintf(comm, "time: invert %.3f s (%.3g samples/s), forward check %.3f s, write %.3f s, total %.3f s; peak memory %.3g GB\n", run->t_invert, run->t_invert > 0 ? run->S / run->t_invert : 0.0, run->t_forward, run->t_write, run->t_total, run->mem_sum / 1e9));
  for (PetscInt f = 0; f < nfiles; f++) PetscCall(PetscPrintf(comm, "wrote %s\n", files[f]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode ReadOptions(MPI_Comm comm, TnRun *run)
{
  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, "out_", "Output", "tenor");
  PetscCall(PetscOptionsString("-dir", "Directory for samples.csv and sample.json", "", run->dir, run->dir, sizeof(run->dir), NULL));
  PetscOptionsEnd();
  PetscOptionsBegin(comm, "sample_", "Sampling (docs/sampling.md)", "tenor");
  PetscCall(TnOptionsInt("-n", "Number of samples", "", run->S, &run->S, NULL, 1, PETSC_MAX_INT));
  PetscCall(PetscOptionsString("-hdf5", "Also write the samples to this HDF5 file (dataset /x, samples x N)", "", run->h5, run->h5, sizeof(run->h5), NULL));
  PetscOptionsEnd();
  PetscOptionsBegin(comm, NULL, "Model", "tenor");
  PetscCall(PetscOptionsString("-model", "A model saved by tenor train (HDF5): its network and dynamics settings", "TnModelLoadNet", run->model, run->model, sizeof(run->model), NULL));
  PetscOptionsEnd();
  PetscCheck(run->S >= 1, comm, PETSC_ERR_USER, "-sample_n must be >= 1 (got %" PetscInt_FMT ")", run->S);
  run->seed = 1;
  PetscCall(TnOptionsGetInt(comm, "-sample_seed", &run->seed, NULL, PETSC_MIN_INT, PETSC_MAX_INT));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnCmdSample(MPI_Comm comm)
{
  TnNet       net;
  TnDyn       dyn;
  TnSampler   smp;
  TnBatchIO   io  = {0};
  TnRun       run = {.dir = "out", .S = 16};
  char        p1[PETSC_MAX_PATH_LEN], p2[PETSC_MAX_PATH_LEN];
  const char *files[3];
  PetscInt    nf = 0;
  PetscBool   help;
  PetscFunctionBeginUser;
  run.t_total = TnTime();
  PetscCallMPI(MPI_Comm_size(comm, &run.size));
  PetscCall(TnOptionsPassBegin(comm));
  PetscCall(ReadOptions(comm, &run));
  PetscCall(TnCliOptionsPass(comm, "sample", TN_CLI_SAMPLER, 0, &help));
  if (help) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnCliCheckModelOptions(comm, run.model));
  PetscCall(TnOutMakeDir(comm, run.dir)); /* before any work */
  PetscCall(PetscPrintf(comm, "tenor sample on %d rank(s)\n", run.size));
  PetscCall(SetUp(comm, &net, &dyn, &smp, &run));
  PetscCall(PetscCalloc3(run.S, &run.logphi, run.S, &run.rt_abs, run.S, &run.rt_rel));
  PetscCall(OpenOutputs(comm, dyn, &io, &run, p1, sizeof(p1)));
  PetscCall(Generate(comm, dyn, smp, &io, &run));
  PetscCall(CloseOutputs(comm, &io, p1));
  files[nf++] = p1;
  if (run.h5[0]) files[nf++] = run.h5;
  PetscCall(PetscSNPrintf(p2, sizeof(p2), "%s/sample.json", run.dir));
  files[nf++] = p2;
  PetscCall(TnPeakMemory(comm, &run.mem_sum, &run.mem_max));
  run.t_total = TnTime() - run.t_total;
  PetscCall(WriteSummary(comm, net, dyn, smp, &run, files, nf, p2, sizeof(p2)));
  PetscCall(PrintSummary(comm, smp, &run, files, nf));
  PetscCall(TnWarnUnusedOptions(comm, "sample"));
  PetscCall(PetscFree3(run.logphi, run.rt_abs, run.rt_rel));
  PetscCall(VecDestroy(&run.mean));
  PetscCall(VecDestroy(&run.sd));
  PetscCall(TnSamplerDestroy(&smp));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}
