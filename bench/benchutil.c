/* The parts every benchmark shares: see benchutil.h. */
#include "benchutil.h"
#include <tenor/io.h>
#include <stdlib.h>
#include <string.h>

int BenchMain(int argc, char **argv, const char help[], PetscErrorCode (*run)(MPI_Comm))
{
  PetscErrorCode ierr;
  PetscBool      set, want_help = PETSC_FALSE;
  ierr = TnInitialize(&argc, &argv, help);
  if (ierr) return 1;
  /* -help: the benchmark's options, and nothing run */
  ierr = PetscOptionsHasName(NULL, NULL, "-help", &want_help);
  if (!ierr && want_help) ierr = PetscPrintf(PETSC_COMM_WORLD, "%s", help);
  if (!ierr && want_help) ierr = PetscOptionsClearValue(NULL, "-help"); /* no PETSc help at PetscFinalize */
  if (ierr || want_help) return TnFinalize(ierr);
  /* keep stdout JSON-only: no progress lines from the library */
  ierr = PetscOptionsHasName(NULL, NULL, "-tn_progress_every", &set);
  if (!ierr && !set) ierr = PetscOptionsSetValue(NULL, "-tn_progress_every", "0");
  if (!ierr) ierr = run(PETSC_COMM_WORLD);
  return TnFinalize(ierr);
}

/* A -bench_ option that nothing has read: every benchmark reads all of its
   own before it opens its outputs, so such an option is a typo. */
static PetscErrorCode CheckBenchOptions(MPI_Comm comm)
{
  PetscInt n;
  char   **names, **values, msg[1024] = "", prog[256];
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsLeftGet(NULL, &n, &names, &values));
  for (PetscInt i = 0; i < n; i++) {
    if (strncmp(names[i], "bench_", 6)) continue;
    PetscCall(PetscStrlcat(msg, msg[0] ? ", -" : "-", sizeof(msg)));
    PetscCall(PetscStrlcat(msg, names[i], sizeof(msg)));
  }
  PetscCall(PetscOptionsLeftRestore(NULL, &n, &names, &values));
  PetscCall(PetscGetProgramName(prog, sizeof(prog)));
  PetscCheck(!msg[0], comm, PETSC_ERR_USER, "unknown option %s: `%s -help` lists the options of this benchmark", msg, prog);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode BenchOutputsOpen(MPI_Comm comm, const char path[], FILE *out[2])
{
  PetscMPIInt rank;
  PetscFunctionBeginUser;
  PetscCall(CheckBenchOptions(comm));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  out[0] = rank ? NULL : stdout;
  out[1] = NULL;
  if (path[0]) PetscCall(TnCommitOpen(comm, path, &out[1]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode BenchOutputsClose(MPI_Comm comm, const char path[], FILE *out[2])
{
  PetscFunctionBeginUser;
  if (out[0]) fflush(out[0]);
  out[0] = NULL;
  if (path[0]) PetscCall(TnCommitClose(comm, path, &out[1], PETSC_TRUE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode BenchWriteJson(MPI_Comm comm, const char path[], FILE *out[2], const char name[], BenchJsonBody body, const void *ctx)
{
  PetscMPIInt size;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  for (int f = 0; f < 2; f++) {
    if (!out[f]) continue;
    fprintf(out[f], "{\n  \"bench\": \"%s\",\n  \"ranks\": %d,\n", name, size);
    body(out[f], ctx);
    fprintf(out[f], "}\n");
  }
  PetscCall(BenchOutputsClose(comm, path, out));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode BenchCasesSetDefaults(BenchCases *bc, const char nets[], const char schemes[], PetscInt reps)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(bc, sizeof(*bc)));
  PetscCall(PetscStrncpy(bc->def_nets, nets, sizeof(bc->def_nets)));
  PetscCall(PetscStrncpy(bc->def_schemes, schemes, sizeof(bc->def_schemes)));
  bc->nnets     = BENCH_MAXL;
  bc->nschemes  = BENCH_MAXL;
  bc->nB        = BENCH_MAXL;
  bc->B[0]      = 1;
  bc->B[1]      = 16;
  bc->lattice_n = 1000;
  bc->er_n      = 1000000;
  bc->k         = 32;
  bc->reps      = reps;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode BenchCasesOptions(PetscOptionItems *PetscOptionsObject, BenchCases *bc)
{
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsString("-out", "JSON output file", "", bc->outpath, bc->outpath, sizeof(bc->outpath), NULL));
  PetscCall(PetscOptionsStringArray("-net", "Networks", "", bc->nets, &bc->nnets, &bc->set_net));
  PetscCall(PetscOptionsInt("-lattice_n", "Lattice side", "", bc->lattice_n, &bc->lattice_n, NULL));
  PetscCall(PetscOptionsInt("-er_n", "Node count (er, smallworld)", "", bc->er_n, &bc->er_n, NULL));
  PetscCall(PetscOptionsInt("-k", "In-degree (er, smallworld)", "", bc->k, &bc->k, NULL));
  PetscCall(PetscOptionsIntArray("-batch", "Batch sizes", "", bc->B, &bc->nB, &bc->set_B));
  PetscCall(PetscOptionsStringArray("-scheme", "Schemes", "", bc->schemes, &bc->nschemes, &bc->set_scheme));
  PetscCall(PetscOptionsInt("-reps", "Timings per case", "", bc->reps, &bc->reps, NULL));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* list[0..*n) from the comma list s */
static PetscErrorCode SplitList(const char s[], char *list[], PetscInt *n)
{
  char **words;
  int    nw;
  PetscFunctionBeginUser;
  PetscCall(PetscStrToArray(s, ',', &nw, &words));
  PetscCheck(nw >= 1 && nw <= BENCH_MAXL, PETSC_COMM_SELF, PETSC_ERR_PLIB, "default list %s", s);
  for (int i = 0; i < nw; i++) PetscCall(PetscStrallocpy(words[i], &list[i]));
  *n = nw;
  PetscCall(PetscStrToArrayDestroy(nw, words));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode BenchCasesSetUp(BenchCases *bc)
{
  PetscBool given;
  PetscFunctionBeginUser;
  if (!bc->set_net) PetscCall(SplitList(bc->def_nets, bc->nets, &bc->nnets));
  if (!bc->set_scheme) PetscCall(SplitList(bc->def_schemes, bc->schemes, &bc->nschemes));
  if (!bc->set_B) bc->nB = 2;
  PetscCheck(bc->reps >= 1, PETSC_COMM_WORLD, PETSC_ERR_USER, "-bench_reps must be >= 1");
  PetscCall(PetscOptionsHasName(NULL, NULL, "-dyn_scheme", &given));
  PetscCheck(!given, PETSC_COMM_WORLD, PETSC_ERR_USER, "-dyn_scheme is not read by the benchmarks: they take their schemes from -bench_scheme (a comma list, default %s); give -bench_scheme instead", bc->def_schemes);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode BenchCasesDestroy(BenchCases *bc)
{
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < bc->nnets; i++) PetscCall(PetscFree(bc->nets[i]));
  for (PetscInt i = 0; i < bc->nschemes; i++) PetscCall(PetscFree(bc->schemes[i]));
  bc->nnets = bc->nschemes = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscInt BenchCasesSize(const BenchCases *bc, const char net[])
{
  return strcmp(net, TNNET_LATTICE2D) ? bc->er_n : bc->lattice_n;
}

static int CmpDouble(const void *x, const void *y)
{
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

void BenchBestMedian(double *t, PetscInt n, double out[2])
{
  qsort(t, (size_t)n, sizeof(double), CmpDouble);
  out[0] = t[0];
  out[1] = t[n / 2];
}

/* reps timings of the triad on arrays of mb MB per rank, each the max over
   ranks, into t[0..reps); n: the doubles per array and rank. */
static PetscErrorCode TriadTimes(MPI_Comm comm, PetscInt mb, PetscInt reps, double *t, size_t *n_out)
{
  size_t  n = (size_t)mb * 1000000 / sizeof(double);
  double *a = NULL, *b = NULL, *c = NULL, s = 3.0, check = 0;
  PetscFunctionBeginUser;
  PetscCheck(mb >= 1 && reps >= 1, comm, PETSC_ERR_USER, "-bench_triad_mb and -bench_triad_reps must be >= 1");
  PetscCheck(posix_memalign((void **)&a, 64, n * sizeof(double)) == 0 && posix_memalign((void **)&b, 64, n * sizeof(double)) == 0 && posix_memalign((void **)&c, 64, n * sizeof(double)) == 0, PETSC_COMM_SELF, PETSC_ERR_MEM, "triad arrays");
  for (size_t i = 0; i < n; i++) {
    a[i] = 1.0;
    b[i] = 2.0;
    c[i] = 0.5 + 1e-9 * (double)(i & 1023);
  }
  for (PetscInt r = 0; r < reps; r++) {
    double t0, el;
    double *restrict A        = a;
    const double *restrict Bv = b, *restrict C = c;
    PetscCallMPI(MPI_Barrier(comm));
    t0 = MPI_Wtime();
    for (size_t i = 0; i < n; i++) A[i] = Bv[i] + s * C[i];
    el = MPI_Wtime() - t0;
    PetscCallMPI(MPI_Allreduce(&el, &t[r], 1, MPI_DOUBLE, MPI_MAX, comm));
    check += a[r % n];
    s += 1e-3;
  }
  PetscCheck(check > 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "triad check");
  free(a);
  free(b);
  free(c);
  *n_out = n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode BenchTriadRun(MPI_Comm comm, PetscInt mb, PetscInt reps, BenchTriad *tr)
{
  double     *t, bm[2];
  size_t      n;
  PetscMPIInt size;
  PetscFunctionBeginUser;
  PetscCheck(mb >= 1 && reps >= 1, comm, PETSC_ERR_USER, "-bench_triad_mb and -bench_triad_reps must be >= 1");
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscFPrintf(comm, PETSC_STDERR, "triad: %d rank(s) x 3 x %" PetscInt_FMT " MB\n", size, mb));
  PetscCall(PetscMalloc1(reps, &t));
  PetscCall(TriadTimes(comm, mb, reps, t, &n));
  BenchBestMedian(t, reps, bm);
  PetscCall(PetscFree(t));
  tr->mb     = mb;
  tr->reps   = reps;
  tr->n      = (double)n;
  tr->best   = bm[0];
  tr->median = bm[1];
  tr->GBps   = 24.0 * tr->n * size / tr->best / 1e9;
  PetscCall(PetscFPrintf(comm, PETSC_STDERR, "triad: %.2f GB/s (best of %" PetscInt_FMT ")\n", tr->GBps, reps));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode BenchTriadAgain(MPI_Comm comm, PetscInt reps, BenchTriad *tr, double *GBps)
{
  double     *t, bm[2];
  size_t      n;
  PetscMPIInt size;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscMalloc1(reps, &t));
  PetscCall(TriadTimes(comm, tr->mb, reps, t, &n));
  BenchBestMedian(t, reps, bm);
  PetscCall(PetscFree(t));
  *GBps = 24.0 * (double)n * size / bm[0] / 1e9;
  tr->reps += reps;
  if (bm[0] < tr->best) {
    tr->best = bm[0];
    tr->GBps = *GBps;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

void BenchTriadPrint(FILE *fp, const BenchTriad *t, PetscBool detail)
{
  fprintf(fp, "  \"triad\": {\"n_per_rank\": %.0f, \"array_MB\": %" PetscInt_FMT ", \"reps\": %" PetscInt_FMT ", \"best_s\": %.6g, \"median_s\": %.6g, \"GBps\": %.4g", t->n, t->mb, t->reps, t->best, t->median, t->GBps);
  if (!detail) {
    fprintf(fp, "},\n");
    return;
  }
  fprintf(fp, ", \"GBps_with_write_allocate\": %.4g,\n", t->GBps * 4.0 / 3.0);
  fprintf(fp, "            \"note\": \"a[i] = b[i] + s*c[i] on every rank at once, max time over ranks, best of reps; GBps counts 3*8*n bytes per rank as STREAM does, GBps_with_write_allocate 4*8*n\"},\n");
}

PetscErrorCode BenchBuildNet(MPI_Comm comm, const char type[], PetscInt n, PetscInt k, TnNet *net, double *tbuild)
{
  double t = MPI_Wtime();
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(comm, net));
  PetscCall(TnNetSetType(*net, type));
  PetscCall(TnNetSetSize(*net, n));
  PetscCall(TnNetSetDegree(*net, k));
  PetscCall(TnNetSetFromOptions(*net)); /* -net_scale etc. apply to every net */
  PetscCall(TnNetSetUp(*net));
  if (tbuild) *tbuild = MPI_Wtime() - t;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode BenchChooseH(TnNet net, double *h, char reason[], size_t len)
{
  PetscBool set = PETSC_FALSE;
  PetscReal hv  = 0.1, n1, ninf, gmax;
  Mat       W;
  Vec       gamma;
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-dyn_h", &hv, &set));
  if (set) {
    *h = hv;
    if (reason) PetscCall(PetscSNPrintf(reason, len, "-dyn_h given"));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(TnNetGetMat(net, &W));
  PetscCall(TnNetGetVecs(net, NULL, &gamma, NULL));
  PetscCall(MatNorm(W, NORM_1, &n1));
  PetscCall(MatNorm(W, NORM_INFINITY, &ninf));
  PetscCall(VecMax(gamma, NULL, &gmax));
  while (hv * (gmax + PetscSqrtReal(n1 * ninf)) >= 0.95) hv *= 0.5;
  *h = hv;
  if (reason) PetscCall(PetscSNPrintf(reason, len, "%s (sync bound h*Lip = %.3g)", hv == 0.1 ? "default 0.1" : "halved from 0.1 for the sync invertibility check", (double)(hv * (gmax + PetscSqrtReal(n1 * ninf)))));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode BenchMakeDyn(TnNet net, PetscInt B, TnScheme scheme, PetscInt K, double h, TnDyn *dyn)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynCreate(net, dyn));
  /* the scheme first, so that SetFromOptions reads its own options too
     (-dyn_coloring_file, -dyn_panel_kb ...); -dyn_scheme is refused by
     BenchCasesSetUp, so the scheme stays; B, K, h set after it win */
  PetscCall(TnDynSetScheme(*dyn, scheme));
  PetscCall(TnDynSetFromOptions(*dyn));
  PetscCall(TnDynSetBatchSize(*dyn, B));
  PetscCall(TnDynSetSteps(*dyn, K));
  PetscCall(TnDynSetStepSize(*dyn, h));
  PetscCall(TnDynSetUp(*dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode BenchRandomState(MPI_Comm comm, Vec x)
{
  PetscRandom rnd;
  PetscFunctionBeginUser;
  PetscCall(PetscRandomCreate(comm, &rnd));
  PetscCall(PetscRandomSetInterval(rnd, -1.0, 1.0));
  PetscCall(PetscRandomSetSeed(rnd, 7));
  PetscCall(PetscRandomSeed(rnd));
  PetscCall(VecSetRandom(x, rnd));
  PetscCall(VecScale(x, 0.5));
  PetscCall(PetscRandomDestroy(&rnd));
  PetscFunctionReturn(PETSC_SUCCESS);
}
