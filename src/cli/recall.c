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

PetscErrorCode TnCmdRecall(MPI_Comm comm)
{
  TnNet         net;
  TnRecall      r;
  TnRecallRun   run = {.dir = "out"};
  TnRecallStats st;
  TnProgress    prog;
  PetscReal     thr;
  char          csv[PETSC_MAX_PATH_LEN], json[PETSC_MAX_PATH_LEN];
  PetscBool     help;
  PetscFunctionBeginUser;
  run.t_total = TnTime();
  PetscCallMPI(MPI_Comm_size(comm, &run.size));
  PetscCall(TnOptionsPassBegin(comm));
  PetscOptionsBegin(comm, "out_", "Output", "tenor");
  PetscCall(PetscOptionsString("-dir", "Directory for recall.csv and recall.json", "", run.dir, run.dir, sizeof(run.dir), NULL));
  PetscOptionsEnd();
  PetscCall(DeclareOptions(comm));
  PetscCall(TnCliOptionsPass(comm, "recall", 0, 0, &help));
  if (help) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnOutMakeDir(comm, run.dir)); /* before any work */
  PetscCall(PetscPrintf(comm, "tenor recall on %d rank(s)\n", run.size));

  run.t_setup = TnTime();
  PetscCall(TnNetCreate(comm, &net));
  PetscCall(TnNetSetFromOptions(net));
  PetscCall(TnRecallCreate(net, &r));
  PetscCall(TnRecallSetFromOptions(r));
  PetscCall(TnRecallSetUp(r));
  PetscCall(TnRecallGetInfo(r, &run.N, &run.p, &run.tests, &run.k, &run.ncolors, &run.field));
  if (run.field == TN_RECALL_FIELD_EXPLICIT) PetscCall(TnNetView(net, PETSC_VIEWER_STDOUT_(comm)));
  run.t_setup = TnTime() - run.t_setup;
  PetscCall(PetscPrintf(comm, "memory: N = %" PetscInt_FMT ", p = %" PetscInt_FMT " patterns, k = %.6g, alpha = p/k = %.6g, %s field, %" PetscInt_FMT " colour(s); set up in %.3f s\n", run.N, run.p, (double)run.k, (double)run.p / (double)run.k, TnRecallFields[run.field], run.ncolors, run.t_setup));

  PetscCall(PetscMalloc1(run.tests, &run.out));
  run.t_run = TnTime();
  PetscCall(TnProgressStart(comm, &prog, "patterns", run.tests, 1.0, "patterns"));
  for (PetscInt t = 0; t < run.tests; t++) {
    PetscCall(TnRecallRunPattern(r, t, &run.out[t]));
    PetscCall(TnProgressUpdate(comm, &prog, t + 1));
  }
  run.t_run = TnTime() - run.t_run;
  PetscCall(TnRecallGetSettings(r, NULL, &thr, NULL, NULL, NULL, NULL));
  Stats(&run, thr, &st);
  PetscCall(TnPeakMemory(comm, &run.mem_sum, &run.mem_max));
  PetscCall(WriteCsv(comm, r, &run, csv, sizeof(csv)));
  run.t_total = TnTime() - run.t_total;
  PetscCall(WriteJson(comm, net, r, &run, &st, csv, json, sizeof(json)));
  PetscCall(PetscPrintf(comm, "result: mean overlap m = %.6f (sd %.3g) over %" PetscInt_FMT " patterns, retrieved (m >= %g) %.4f, converged %.4f, sweeps mean %.2f max %" PetscInt_FMT "\n", (double)st.m_mean, (double)st.m_sd, run.tests, (double)thr, (double)st.retrieved, (double)st.converged, (double)st.sweeps_mean, st.sweeps_max));
  PetscCall(PetscPrintf(comm, "time: %.3f s for the dynamics, %.3f s in all\nwrote %s\nwrote %s\n", run.t_run, run.t_total, csv, json));
  PetscCall(TnWarnUnusedOptions(comm, "recall"));
  PetscCall(PetscFree(run.out));
  PetscCall(TnRecallDestroy(&r));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}
