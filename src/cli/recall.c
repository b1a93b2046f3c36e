/* tenor recall: the Hopfield memory (docs/recall.md). Stores p patterns on
   the network's pattern P (TnRecall, tenor/recall.h), runs the
   zero-temperature dynamics from each of the first `tests` stored patterns
   with a fraction of flipped bits, and writes recall.csv (per pattern: the
   final overlap m, retrieved (m >= threshold), sweeps, converged, flips,
   noisy bits) and recall.json (N, p, alpha = p/k, k, the mean overlap, the
   fraction retrieved, sweeps, time, provenance). */
#include "cli.h"
#include <tenor/recall.h>

typedef struct {
  char             dir[PETSC_MAX_PATH_LEN];
  PetscMPIInt      size;
  PetscInt         N, p, tests, ncolors;
  PetscReal        k;
  TnRecallField    field;
  TnRecallOutcome *out;
  double           t_setup, t_run, t_total, mem_sum, mem_max;
} TnRecallRun;

/* The command's own options, in the options pass: a scratch net and memory
   read them (no set-up). */
static PetscErrorCode DeclareOptions(MPI_Comm comm)
{
  TnNet    net;
  TnRecall r;
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(comm, &net));
  PetscCall(TnRecallCreate(net, &r));
  PetscCall(TnRecallSetFromOptions(r));
  PetscCall(TnRecallDestroy(&r));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode WriteCsv(MPI_Comm comm, TnRecall r, const TnRecallRun *run, char path[], size_t len)
{
  FILE     *fp;
  PetscReal thr;
  PetscFunctionBeginUser;
  PetscCall(TnRecallGetSettings(r, NULL, &thr, NULL, NULL, NULL, NULL));
  PetscCall(TnOutOpen(comm, run->dir, "recall.csv", &fp, path, len));
  if (fp) {
    fprintf(fp, "pattern,overlap,retrieved,sweeps,converged,flips,noisy\n");
    for (PetscInt t = 0; t < run->tests; t++) {
      const TnRecallOutcome *o = &run->out[t];
      fprintf(fp, "%" PetscInt_FMT ",%.17g,%d,%" PetscInt_FMT ",%d,%" PetscInt64_FMT ",%" PetscInt_FMT "\n", o->pattern, (double)o->overlap, o->overlap >= thr ? 1 : 0, o->sweeps, o->converged ? 1 : 0, o->flips, o->noisy);
    }
  }
  PetscCall(TnOutClose(comm, &fp, path));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Mean and standard deviation of the overlaps, the fractions retrieved and
   converged, the mean sweeps. */
typedef struct {
  PetscReal m_mean, m_sd, retrieved, converged, sweeps_mean;
  PetscInt  sweeps_max;
} TnRecallStats;

static void Stats(const TnRecallRun *run, PetscReal thr, TnRecallStats *st)
{
  PetscReal s = 0, s2 = 0, ret = 0, conv = 0, sw = 0;
  PetscInt  smax = 0;
  for (PetscInt t = 0; t < run->tests; t++) {
    const TnRecallOutcome *o = &run->out[t];
    s += o->overlap;
    s2 += o->overlap * o->overlap;
    ret += o->overlap >= thr;
    conv += o->converged;
    sw += o->sweeps;
    smax = PetscMax(smax, o->sweeps);
  }
  st->m_mean      = s / run->tests;
  st->m_sd        = run->tests > 1 ? PetscSqrtReal(PetscMax(0, (s2 - s * s / run->tests) / (run->tests - 1))) : 0;
  st->retrieved   = ret / run->tests;
  st->converged   = conv / run->tests;
  st->sweeps_mean = sw / run->tests;
  st->sweeps_max  = smax;
}

static PetscErrorCode WriteJson(MPI_Comm comm, TnNet net, TnRecall r, const TnRecallRun *run, const TnRecallStats *st, const char csv[], char path[], size_t len)
{
  const char    *ntype, *file;
  PetscReal      noise, thr;
  PetscInt       maxsw, seed;
  TnRecallUpdate upd;
  json_t        *root;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetType(net, &ntype));
  PetscCall(TnRecallGetSettings(r, &noise, &thr, &maxsw, &seed, &upd, &file));
  PetscCall(TnOutJsonBegin(comm, "recall", &root));
  PetscCall(TnJsonSet(root, "network", json_pack("{s:o, s:I, s:o}", "type", TnJsonStr(ntype), "N", (json_int_t)run->N, "k", TnJsonReal((double)run->k))));
  PetscCall(TnJsonSet(root, "N", json_integer((json_int_t)run->N)));
  PetscCall(TnJsonSet(root, "p", json_integer((json_int_t)run->p)));
  PetscCall(TnJsonSet(root, "k", TnJsonReal((double)run->k)));
  PetscCall(TnJsonSet(root, "alpha", TnJsonReal((double)run->p / (double)run->k)));
  PetscCall(TnJsonSet(root, "patterns", json_pack("{s:o, s:I}", "file", file[0] ? TnJsonStr(file) : json_null(), "seed", (json_int_t)seed)));
  PetscCall(TnJsonSet(root, "dynamics", json_pack("{s:s, s:s, s:I, s:I, s:o, s:o, s:s}", "update", TnRecallUpdates[upd], "field", TnRecallFields[run->field], "colors", (json_int_t)run->ncolors, "max_sweeps", (json_int_t)maxsw, "noise", TnJsonReal((double)noise), "threshold", TnJsonReal((double)thr), "tie", "h_i = 0 keeps s_i")));
  PetscCall(TnJsonSet(root, "tests", json_integer((json_int_t)run->tests)));
  PetscCall(TnJsonSet(root, "overlap_mean", TnJsonReal((double)st->m_mean)));
  PetscCall(TnJsonSet(root, "overlap_sd", TnJsonReal((double)st->m_sd)));
  PetscCall(TnJsonSet(root, "fraction_retrieved", TnJsonReal((double)st->retrieved)));
  PetscCall(TnJsonSet(root, "fraction_converged", TnJsonReal((double)st->converged)));
  PetscCall(TnJsonSet(root, "sweeps_mean", TnJsonReal((double)st->sweeps_mean)));
  PetscCall(TnJsonSet(root, "sweeps_max", json_integer((json_int_t)st->sweeps_max)));
  PetscCall(TnJsonSet(root, "timings_s", json_pack("{s:o, s:o, s:o}", "setup", TnJsonReal(run->t_setup), "dynamics", TnJsonReal(run->t_run), "total", TnJsonReal(run->t_total))));
  PetscCall(TnJsonSet(root, "memory", json_pack("{s:o, s:o}", "peak_rss_sum_bytes", TnJsonReal(run->mem_sum), "peak_rss_max_bytes", TnJsonReal(run->mem_max))));
  PetscCall(TnJsonSet(root, "files", json_pack("[s]", csv)));
  PetscCall(TnOutJsonEnd(comm, "recall", NULL, NULL, run->dir, "recall.json", path, len, &root));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The dynamics from each start pattern of the set-up memory, their
   statistics, recall.csv and recall.json in run->dir. */
static PetscErrorCode RunTests(MPI_Comm comm, TnNet net, TnRecall r, TnRecallRun *run, TnRecallStats *st)
{
  TnProgress prog;
  PetscReal  thr;
  char       csv[PETSC_MAX_PATH_LEN], json[PETSC_MAX_PATH_LEN];
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(run->tests, &run->out));
  run->t_run = TnTime();
  PetscCall(TnProgressStart(comm, &prog, "patterns", run->tests, 1.0, "patterns"));
  for (PetscInt t = 0; t < run->tests; t++) {
    PetscCall(TnRecallRunPattern(r, t, &run->out[t]));
    PetscCall(TnProgressUpdate(comm, &prog, t + 1));
  }
  run->t_run = TnTime() - run->t_run;
  PetscCall(TnRecallGetSettings(r, NULL, &thr, NULL, NULL, NULL, NULL));
  Stats(run, thr, st);
  PetscCall(TnPeakMemory(comm, &run->mem_sum, &run->mem_max));
  PetscCall(WriteCsv(comm, r, run, csv, sizeof(csv)));
  run->t_total = TnTime() - run->t_total;
  PetscCall(WriteJson(comm, net, r, run, st, csv, json, sizeof(json)));
  PetscCall(PetscPrintf(comm, "result: mean overlap m = %.6f (sd %.3g) over %" PetscInt_FMT " patterns, retrieved (m >= %g) %.4f, converged %.4f, sweeps mean %.2f max %" PetscInt_FMT "\n", (double)st->m_mean, (double)st->m_sd, run->tests, (double)thr, (double)st->retrieved, (double)st->converged, (double)st->sweeps_mean, st->sweeps_max));
  PetscCall(PetscPrintf(comm, "time: %.3f s for the dynamics, %.3f s in all\nwrote %s\nwrote %s\n", run->t_run, run->t_total, csv, json));
  PetscCall(PetscFree(run->out));
  PetscFunctionReturn(PETSC_SUCCESS);
}

#define TN_RECALL_MAX_ALPHAS 256

/* -recall_alphas a_1,...,a_n: one network, n memories. The net is built
   once (for an er net at N = 10^6 that is most of a run's time); for each
   alpha_j the memory stores p_j = max(1, round(alpha_j k)) patterns (k the
   mean off-diagonal in-degree), W is rewritten, and the dynamics runs from
   the first min(-recall_tests, p_j) of them. Each memory's recall.csv and
   recall.json go to DIR/p<p_j>/ (a p already run is skipped), and
   DIR/recall_alphas.csv, rewritten after each one, has a line per memory. */
static PetscErrorCode RunAlphas(MPI_Comm comm, TnNet net, TnRecall r, TnRecallRun *base, PetscInt tests, const PetscReal alphas[], PetscInt na)
{
  PetscInt    *done, ndone = 0;
  char        *lines, path[PETSC_MAX_PATH_LEN];
  const size_t linelen = 256;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(na, &done, na * linelen, &lines));
  for (PetscInt j = 0; j < na; j++) {
    TnRecallRun   run = *base;
    TnRecallStats st;
    FILE         *fp;
    PetscInt      p   = PetscMax(1, (PetscInt)PetscFloorReal(alphas[j] * base->k + 0.5));
    PetscBool     dup = PETSC_FALSE;
    for (PetscInt q = 0; q < ndone; q++) dup = (PetscBool)(dup || done[q] == p);
    if (dup) {
      PetscCall(PetscPrintf(comm, "memory %" PetscInt_FMT " of %" PetscInt_FMT ": alpha %g gives p = %" PetscInt_FMT ", already run\n", j + 1, na, (double)alphas[j], p));
      continue;
    }
    run.t_total = run.t_setup = TnTime();
    PetscCall(TnRecallSetPatterns(r, p)); /* the net stays set up */
    PetscCall(TnRecallSetTests(r, tests ? PetscMin(tests, p) : 0));
    PetscCall(TnRecallSetUp(r));
    PetscCall(TnRecallGetInfo(r, &run.N, &run.p, &run.tests, &run.k, &run.ncolors, &run.field));
    run.t_setup = TnTime() - run.t_setup;
    PetscCall(PetscSNPrintf(run.dir, sizeof(run.dir), "%s/p%" PetscInt_FMT, base->dir, p));
    PetscCall(TnOutMakeDir(comm, run.dir));
    PetscCall(PetscPrintf(comm, "memory %" PetscInt_FMT " of %" PetscInt_FMT ": alpha %g, p = %" PetscInt_FMT ", alpha = p/k = %.6g; W written in %.3f s\n", j + 1, na, (double)alphas[j], p, (double)p / (double)run.k, run.t_setup));
    PetscCall(RunTests(comm, net, r, &run, &st));
    PetscCall(PetscSNPrintf(lines + ndone * linelen, linelen, "%.17g,%" PetscInt_FMT ",%" PetscInt_FMT ",%.17g,%.17g,%" PetscInt_FMT ",%.17g,%.17g,%.17g,%.17g,%.17g,%" PetscInt_FMT ",%.6g,%.6g\n", (double)alphas[j], p, run.N, (double)run.k, (double)p / (double)run.k, run.tests, (double)st.m_mean,
                            (double)st.m_sd, (double)st.retrieved, (double)st.converged, (double)st.sweeps_mean, st.sweeps_max, run.t_setup, run.t_run));
    done[ndone++] = p;
    PetscCall(TnOutOpen(comm, base->dir, "recall_alphas.csv", &fp, path, sizeof(path)));
    if (fp) {
      fprintf(fp, "alpha_asked,p,N,k,alpha,tests,overlap_mean,overlap_sd,fraction_retrieved,fraction_converged,sweeps_mean,sweeps_max,setup_s,dynamics_s\n");
      for (PetscInt q = 0; q < ndone; q++) fputs(lines + q * linelen, fp);
    }
    PetscCall(TnOutClose(comm, &fp, path));
  }
  PetscCall(PetscPrintf(comm, "wrote %s (%" PetscInt_FMT " memories)\n", path, ndone));
  PetscCall(PetscFree2(done, lines));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnCmdRecall(MPI_Comm comm)
{
  TnNet         net;
  TnRecall      r;
  TnRecallRun   run = {.dir = "out"};
  TnRecallStats st;
  PetscReal     alphas[TN_RECALL_MAX_ALPHAS];
  PetscInt      na    = TN_RECALL_MAX_ALPHAS;
  PetscInt      tests = 0;
  PetscBool     help, has_alphas, has_p, has_file, bad = PETSC_FALSE;
  PetscFunctionBeginUser;
  run.t_total = TnTime();
  PetscCallMPI(MPI_Comm_size(comm, &run.size));
  PetscCall(TnOptionsPassBegin(comm));
  PetscOptionsBegin(comm, "out_", "Output", "tenor");
  PetscCall(PetscOptionsString("-dir", "Directory for recall.csv and recall.json", "", run.dir, run.dir, sizeof(run.dir), NULL));
  PetscOptionsEnd();
  PetscOptionsBegin(comm, "recall_", "Several memories on one network", "tenor");
  PetscCall(PetscOptionsRealArray("-alphas", "Comma list of alpha = p/k: one net, p = round(alpha k) patterns each, files in DIR/p<p>/ and DIR/recall_alphas.csv (instead of -recall_patterns)", "", alphas, &na, &has_alphas));
  PetscOptionsEnd();
  PetscCall(DeclareOptions(comm));
  PetscCall(TnCliOptionsPass(comm, "recall", 0, 0, &help));
  if (help) PetscFunctionReturn(PETSC_SUCCESS);
  if (!has_alphas) na = 0;
  PetscCall(PetscOptionsHasName(NULL, NULL, "-recall_patterns", &has_p));
  PetscCall(PetscOptionsHasName(NULL, NULL, "-recall_pattern_file", &has_file));
  PetscCall(TnErrorSync(comm, (PetscBool)(has_alphas && (has_p || has_file)), "-recall_alphas sets p for each memory: drop -recall_patterns and -recall_pattern_file"));
  PetscCall(TnErrorSync(comm, (PetscBool)(has_alphas && na < 1), "-recall_alphas needs at least one value, e.g. -recall_alphas 0.5,0.6,0.7"));
  for (PetscInt j = 0; j < na; j++) bad = (PetscBool)(bad || !(alphas[j] > 0) || alphas[j] > 1e6);
  PetscCall(TnErrorSync(comm, bad, "-recall_alphas: every alpha = p/k must be positive (and at most 1e6)"));
  PetscCall(TnOutMakeDir(comm, run.dir)); /* before any work */
  PetscCall(PetscPrintf(comm, "tenor recall on %d rank(s)\n", run.size));

  run.t_setup = TnTime();
  PetscCall(TnNetCreate(comm, &net));
  PetscCall(TnNetSetFromOptions(net));
  PetscCall(TnRecallCreate(net, &r));
  PetscCall(TnRecallSetFromOptions(r));
  if (na) { /* the net and k, with one pattern; the memories follow */
    PetscCall(TnRecallGetTests(r, &tests));
    PetscCall(TnRecallSetPatterns(r, 1));
    PetscCall(TnRecallSetTests(r, PetscMin(tests, 1)));
  }
  PetscCall(TnRecallSetUp(r));
  PetscCall(TnRecallGetInfo(r, &run.N, &run.p, &run.tests, &run.k, &run.ncolors, &run.field));
  if (run.field == TN_RECALL_FIELD_EXPLICIT) PetscCall(TnNetView(net, PETSC_VIEWER_STDOUT_(comm)));
  run.t_setup = TnTime() - run.t_setup;
  if (na) {
    PetscCall(PetscPrintf(comm, "network: N = %" PetscInt_FMT ", k = %.6g, %s field, %" PetscInt_FMT " colour(s); set up in %.3f s; %" PetscInt_FMT " memories (-recall_alphas)\n", run.N, (double)run.k, TnRecallFields[run.field], run.ncolors, run.t_setup, na));
    PetscCall(RunAlphas(comm, net, r, &run, tests, alphas, na));
  } else {
    PetscCall(PetscPrintf(comm, "memory: N = %" PetscInt_FMT ", p = %" PetscInt_FMT " patterns, k = %.6g, alpha = p/k = %.6g, %s field, %" PetscInt_FMT " colour(s); set up in %.3f s\n", run.N, run.p, (double)run.k, (double)run.p / (double)run.k, TnRecallFields[run.field], run.ncolors, run.t_setup));
    PetscCall(RunTests(comm, net, r, &run, &st));
  }
  PetscCall(TnWarnUnusedOptions(comm, "recall"));
  PetscCall(TnRecallDestroy(&r));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}
