/* tenor normcheck: is Phi a density? The library integrates Phi
   (TnNormIntegrate, tenor/norm.h: a trapezoid grid for N <= 3, importance
   sampling above); this command sets up the network and the dynamics from
   the options, prints the result on rank 0 and writes normcheck.json. */
#include "cli.h"
#include <tenor/io.h>
#include <tenor/norm.h>

typedef struct {
  char        dir[PETSC_MAX_PATH_LEN];
  PetscInt    N;
  PetscInt64  nnz;
  PetscMPIInt size;
  double      t_total;
} TnNormRun;

static PetscErrorCode SetUp(MPI_Comm comm, TnNet *net, TnDyn *dyn, TnNormRun *run)
{
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(comm, net));
  PetscCall(TnNetSetFromOptions(*net));
  PetscCall(TnNetSetUp(*net));
  PetscCall(TnNetGetSizes(*net, &run->N, &run->nnz));
  PetscCall(TnNetView(*net, PETSC_VIEWER_STDOUT_(comm)));
  PetscCall(TnDynCreate(*net, dyn));
  PetscCall(TnDynSetBatchSize(*dyn, TN_NORMCHECK_BATCH)); /* the grid points are just samples: the widest batch is fastest */
  PetscCall(TnDynSetFromOptions(*dyn));
  PetscCall(TnDynSetUp(*dyn));
  PetscCall(TnDynView(*dyn, PETSC_VIEWER_STDOUT_(comm)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* "2" -> "²", "3" -> "³", else "^N". */
static void Power(PetscInt N, char s[], size_t len)
{
  if (N == 2)
    PetscSNPrintf(s, len, "\xc2\xb2");
  else if (N == 3)
    PetscSNPrintf(s, len, "\xc2\xb3");
  else
    PetscSNPrintf(s, len, "^%" PetscInt_FMT, N);
}

static PetscErrorCode PrintSummary(MPI_Comm comm, const TnNormResult *r, const char json[])
{
  char pw[16];
  PetscFunctionBeginUser;
  Power(r->N, pw, sizeof(pw));
  if (r->nclamp) PetscCall(PetscPrintf(comm, "conditional: %" PetscInt_FMT " clamped nodes held at the given values; the integral of Phi(t | x) over the %" PetscInt_FMT " free ones\n", r->nclamp, r->N));
  if (r->method == TN_NORM_GRID) {
    PetscCall(PetscPrintf(comm, "result: \xe2\x88\xab\xce\xa6 = %.10f \xc2\xb1 %.2g (grid %" PetscInt_FMT "%s, box \xc2\xb1%.4g%s, truncation < %.2g, discretisation ~%.2g)\n", (double)r->integral, (double)r->error, r->n, pw, (double)r->L, r->L_auto ? " automatic" : "", (double)r->truncation, (double)r->discretisation));
    PetscCall(PetscPrintf(comm, "  the grid of every other point gives %.10f; the outermost shell of cells holds %.3g of the mass\n", (double)r->coarse, (double)(r->truncation / r->integral)));
  } else {
    PetscCall(PetscPrintf(comm, "result: \xe2\x88\xab\xce\xa6 = %.8g \xc2\xb1 %.2g (importance sampling, %" PetscInt_FMT " samples from N(0, %.4g\xc2\xb2 I)%s, effective sample size %.0f)\n", (double)r->integral, (double)r->stderr_, r->S, (double)r->sigma, r->pilot_samples ? " moment-matched" : "", (double)r->ess));
    PetscCall(PetscPrintf(comm, "  1 - \xe2\x88\xab\xce\xa6 = %.3g = %.2f standard errors\n", (double)(1 - r->integral), (double)((1 - r->integral) / r->stderr_)));
  }
  PetscCall(PetscPrintf(comm, "time: %.3f s for %" PetscInt64_FMT " evaluations of log Phi (%.3g per second)\nwrote %s\n", r->seconds, r->evaluations, r->seconds > 0 ? (double)r->evaluations / r->seconds : 0.0, json));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode JsonDynamics(TnDyn dyn, json_t **j)
{
  TnScheme     scheme;
  TnForm       form;
  TnAct        act;
  PetscReal    h, inv;
  PetscInt     K, B, ncol;
  const char  *what;
  TnLogDetType ldt;
  TnBase       base;
  PetscFunctionBeginUser;
  PetscCall(TnDynGetLoss(dyn, &ldt, &base));
  PetscCall(TnDynGetParams(dyn, &scheme, &form, &act, &h, &K, &B));
  PetscCall(TnDynGetNumColors(dyn, &ncol));
  PetscCall(TnDynGetInvertibility(dyn, &inv, &what));
  *j = json_pack("{s:o, s:s, s:s, s:o, s:I, s:o, s:I, s:I, s:s, s:s, s:o, s:o}", "scheme", TnJsonStr(scheme), "form", TnFormTypes[form], "activation", TnActTypes[act], "h", TnJsonReal((double)h), "K", (json_int_t)K, "T", TnJsonReal((double)(h * K)), "batch", (json_int_t)B, "colors", (json_int_t)ncol, "logdet", TnLogDetTypes[ldt], "base", TnBaseTypes[base], "invertibility_value", TnJsonReal((double)inv), "invertibility", TnJsonStr(what));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode WriteJson(MPI_Comm comm, TnNet net, TnDyn dyn, const TnNormRun *run, const TnNormOptions *opt, const TnNormResult *r, char path[], size_t len)
{
  const char *ntype;
  json_t     *root, *dj = NULL;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetType(net, &ntype));
  PetscCall(JsonDynamics(dyn, &dj));
  PetscCall(TnOutJsonBegin(comm, "normcheck", &root));
  PetscCall(TnJsonSet(root, "network", json_pack("{s:o, s:I, s:I}", "type", TnJsonStr(ntype), "N", (json_int_t)run->N, "nnz", (json_int_t)run->nnz)));
  PetscCall(TnJsonSet(root, "dynamics", dj));
  if (r->nclamp) PetscCall(TnJsonSet(root, "conditional", json_pack("{s:I, s:I, s:s}", "clamped_nodes", (json_int_t)r->nclamp, "free_nodes", (json_int_t)r->N, "given", opt->given[0] ? opt->given : "0")));
  PetscCall(TnJsonSet(root, "method", json_string(TnNormMethods[r->method])));
  PetscCall(TnJsonSet(root, "integral", TnJsonReal((double)r->integral)));
  PetscCall(TnJsonSet(root, "error", TnJsonReal((double)r->error)));
  if (r->method == TN_NORM_GRID)
    PetscCall(TnJsonSet(root, "grid", json_pack("{s:s, s:I, s:I, s:o, s:b, s:I, s:o, s:o, s:o, s:o}", "rule", "trapezoid", "points_per_axis", (json_int_t)r->n, "points", (json_int_t)r->points, "box", TnJsonReal((double)r->L), "box_automatic", (int)r->L_auto, "box_search_steps", (json_int_t)r->box_steps, "box_tol", TnJsonReal((double)opt->tol), "truncation", TnJsonReal((double)r->truncation), "discretisation", TnJsonReal((double)r->discretisation), "integral_every_other_point", TnJsonReal((double)r->coarse))));
  else
    PetscCall(TnJsonSet(root, "importance_sampling", json_pack("{s:I, s:o, s:b, s:I, s:I, s:o, s:o}", "samples", (json_int_t)r->S, "sigma", TnJsonReal((double)r->sigma), "sigma_automatic", r->pilot_samples ? 1 : 0, "pilot_samples", (json_int_t)r->pilot_samples, "seed", (json_int_t)opt->seed, "standard_error", TnJsonReal((double)r->stderr_), "effective_sample_size", TnJsonReal((double)r->ess))));
  PetscCall(TnJsonSet(root, "evaluations", json_integer((json_int_t)r->evaluations)));
  PetscCall(TnJsonSet(root, "timings_s", json_pack("{s:f, s:f}", "integrate", r->seconds, "total", run->t_total)));
  PetscCall(TnJsonSet(root, "evaluations_per_s", TnJsonReal(r->seconds > 0 ? (double)r->evaluations / r->seconds : 0.0)));
  PetscCall(TnOutJsonEnd(comm, "normcheck", NULL, NULL, run->dir, "normcheck.json", path, len, &root));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnCmdNormCheck(MPI_Comm comm)
{
  TnNet         net;
  TnDyn         dyn;
  TnNormRun     run = {.dir = "out"};
  TnNormOptions opt;
  TnNormResult  res;
  char          path[PETSC_MAX_PATH_LEN];
  PetscBool     help;
  PetscFunctionBeginUser;
  run.t_total = TnTime();
  PetscCallMPI(MPI_Comm_size(comm, &run.size));
  PetscCall(TnOptionsPassBegin(comm));
  PetscOptionsBegin(comm, "out_", "Output", "tenor");
  PetscCall(PetscOptionsString("-dir", "Directory for normcheck.json", "", run.dir, run.dir, sizeof(run.dir), NULL));
  PetscOptionsEnd();
  PetscCall(TnNormOptionsSetDefault(&opt));
  PetscCall(TnNormOptionsSetFromOptions(comm, &opt));
  PetscCall(TnCliOptionsPass(comm, "normcheck", 0, TN_NORMCHECK_BATCH, &help));
  if (help) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnOutMakeDir(comm, run.dir)); /* before any work */
  PetscCall(PetscPrintf(comm, "tenor normcheck on %d rank(s)\n", run.size));
  PetscCall(SetUp(comm, &net, &dyn, &run));
  PetscCall(TnNormIntegrate(dyn, &opt, &res));
  run.t_total = TnTime() - run.t_total;
  PetscCall(WriteJson(comm, net, dyn, &run, &opt, &res, path, sizeof(path)));
  PetscCall(PrintSummary(comm, &res, path));
  PetscCall(TnWarnUnusedOptions(comm, "normcheck"));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}
