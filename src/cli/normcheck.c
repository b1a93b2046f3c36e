/* tenor normcheck: is Phi a density? The library integrates Phi
   (TnNormIntegrate, tenor/norm.h: a trapezoid grid for N <= 3, importance
   sampling above); this command sets up the network and the dynamics from
   the options, prints the result on rank 0 and writes normcheck.json. */
#include "cli.h"
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
  PetscCall(TnDynSetBatchSize(*dyn, 1024)); /* the grid points are just samples: the widest batch is fastest */
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

static void JsonDynamics(FILE *fp, TnNet net, TnDyn dyn)
{
  TnScheme     scheme;
  TnForm       form;
  TnAct        act;
  PetscReal    h, inv;
  PetscInt     K, B, ncol;
  const char  *what;
  TnLogDetType ldt;
  TnBase       base;
  TnDynGetLoss(dyn, &ldt, &base);
  TnDynGetParams(dyn, &scheme, &form, &act, &h, &K, &B);
  TnDynGetNumColors(dyn, &ncol);
  TnDynGetInvertibility(dyn, &inv, &what);
  fprintf(fp, "  \"dynamics\": {\"scheme\": \"%s\", \"form\": \"%s\", \"activation\": \"%s\", \"h\": %.17g, \"K\": %" PetscInt_FMT ", \"T\": %.17g, \"batch\": %" PetscInt_FMT ", \"colors\": %" PetscInt_FMT ", \"logdet\": \"%s\", \"base\": \"%s\", \"invertibility_value\": %.17g, \"invertibility\": \"%s\"},\n", scheme, TnFormTypes[form], TnActTypes[act], (double)h, K, (double)(h * K), B, ncol, TnLogDetTypes[ldt], TnBaseTypes[base], (double)inv, what);
}

static PetscErrorCode WriteJson(MPI_Comm comm, TnNet net, TnDyn dyn, const TnNormRun *run, const TnNormOptions *opt, const TnNormResult *r, char path[], size_t len)
{
  FILE       *fp;
  const char *ntype;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetType(net, &ntype));
  PetscCall(TnOutOpen(comm, run->dir, "normcheck.json", &fp, path, len));
  if (fp) {
    fprintf(fp, "{\n  \"tenor_version\": \"%s\",\n  \"command\": \"normcheck\",\n  \"ranks\": %d,\n", TENOR_VERSION, run->size);
    fprintf(fp, "  \"network\": {\"type\": \"%s\", \"N\": %" PetscInt_FMT ", \"nnz\": %" PetscInt64_FMT "},\n", ntype, run->N, run->nnz);
    JsonDynamics(fp, net, dyn);
    fprintf(fp, "  \"method\": \"%s\",\n  \"integral\": %.17g,\n  \"error\": %.17g,\n", TnNormMethods[r->method], (double)r->integral, (double)r->error);
    if (r->method == TN_NORM_GRID) {
      fprintf(fp, "  \"grid\": {\"rule\": \"trapezoid\", \"points_per_axis\": %" PetscInt_FMT ", \"points\": %" PetscInt64_FMT ", \"box\": %.17g, \"box_automatic\": %s, \"box_search_steps\": %" PetscInt_FMT ", \"box_tol\": %.17g,", r->n, r->points, (double)r->L, r->L_auto ? "true" : "false", r->box_steps, (double)opt->tol);
      fprintf(fp, " \"truncation\": %.17g, \"discretisation\": %.17g, \"integral_every_other_point\": %.17g},\n", (double)r->truncation, (double)r->discretisation, (double)r->coarse);
    } else {
      fprintf(fp, "  \"importance_sampling\": {\"samples\": %" PetscInt_FMT ", \"sigma\": %.17g, \"sigma_automatic\": %s, \"pilot_samples\": %" PetscInt_FMT ", \"seed\": %" PetscInt_FMT ", \"standard_error\": %.17g, \"effective_sample_size\": %.17g},\n", r->S, (double)r->sigma, r->pilot_samples ? "true" : "false", r->pilot_samples, opt->seed, (double)r->stderr_, (double)r->ess);
    }
    fprintf(fp, "  \"evaluations\": %" PetscInt64_FMT ",\n  \"timings_s\": {\"integrate\": %.6g, \"total\": %.6g},\n  \"evaluations_per_s\": %.6g\n}\n", r->evaluations, r->seconds, run->t_total, r->seconds > 0 ? (double)r->evaluations / r->seconds : 0.0);
  }
  PetscCall(TnOutClose(comm, &fp, path));
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
  PetscCall(TnCliOptionsPass(comm, "normcheck", 0, &help));
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
