/* bench_step: the forward step of the dynamics against the memory bandwidth
   of the same machine, measured in the same run (see bench/README.md).

   1. STREAM triad a = b + s c on every rank at once (best of -bench_triad_reps,
      max time over ranks), GB/s summed over ranks.
   2. For each network (-bench_net) and batch size (-bench_batch), the
      schemes (-bench_scheme) set up side by side, then -bench_reps rounds:
      the triad 4 times (the round's bandwidth: the fastest), then one timing
      of K steps of TnDynEvaluate of each scheme in the list's order. Per
      case: seconds per step (best and median over the rounds), synaptic
      updates/s, the bytes a step must move (formula reported as a string),
      the achieved GB/s and its fraction of the triad (the best over the
      whole run; and round by round, against the same round's triad: median
      and best), the rate against the first scheme's round by round
      (median, min, max), the B-ratio of the update rates per (net, scheme).
   3. -bench_memory: instead of 1-2, lattice2d with N ~ 10^7 at B = 1, sync,
      2 steps: peak RSS summed over ranks / nnz (bytes per synapse).

   JSON goes to stdout (rank 0) and to -bench_out FILE; progress to stderr. */
#include "benchutil.h"
#include <stdlib.h>
#include <string.h>
#include <math.h>

static const char help[] = "Benchmark of the forward step (see bench/README.md).\n"
                           "  -bench_out FILE            JSON output file (also printed on stdout)\n"
                           "  -bench_net a,b             networks (lattice2d, er, smallworld)\n"
                           "  -bench_lattice_n n         lattice side (N = n^2)\n"
                           "  -bench_er_n N -bench_k k   node count and in-degree of er/smallworld\n"
                           "  -bench_batch 1,16          batch sizes B\n"
                           "  -bench_scheme sync,colored schemes\n"
                           "  -bench_min_time s          seconds per timing (K chosen to reach it)\n"
                           "  -bench_reps r              rounds: each times every scheme once, after the triad\n"
                           "  -bench_triad_mb M          MB per triad array per rank\n"
                           "  -bench_triad_reps r        triad repetitions (best reported)\n"
                           "  -bench_memory              only the memory case (lattice2d -bench_memory_n, B = 1, sync)\n"
                           "  -bench_memory_n n          lattice side of the memory case (3163: N ~ 10^7)\n";

#define BENCH_MAXR 64 /* most rounds whose times the JSON lists */

typedef struct {
  char       net[64], scheme[16];
  PetscInt   N, B, K, ncolors, reps;
  PetscInt64 nnz;
  double     ghosts, h, invert, t_setup, t_best, t_median, t_halo, bytes, bytes_kernel;
  double     t_rounds[BENCH_MAXR];                           /* seconds per step of each round, in round order */
  double     ref_ratio_median, ref_ratio_min, ref_ratio_max; /* this case's rate / the first scheme's, round by round */
  double     triad_paired_median, triad_paired_best;         /* GB/s / the same round's triad */
  char       invert_what[256], h_reason[128];
} Case;

static PetscErrorCode HaloTime(double *t)
{
  PetscEventPerfInfo info;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventGetPerfInfo(0, TN_HaloExchange, &info));
  *t = info.time;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One evaluation of K steps from x0; returns the time (max over ranks). */
static PetscErrorCode TimeEval(MPI_Comm comm, TnDyn dyn, Vec x0, Vec x, TnDynResult *res, double *t, double *thalo)
{
  double t0, el, h0 = 0, h1 = 0;
  PetscFunctionBeginUser;
  PetscCall(VecCopy(x0, x));
  PetscCall(HaloTime(&h0));
  PetscCallMPI(MPI_Barrier(comm));
  t0 = MPI_Wtime();
  PetscCall(TnDynEvaluate(dyn, x, res));
  el = MPI_Wtime() - t0;
  PetscCall(HaloTime(&h1));
  h1 -= h0;
  PetscCheck(PetscIsNormalReal(res->logphi[0]) || res->logphi[0] == 0, comm, PETSC_ERR_PLIB, "log Phi is not finite");
  PetscCallMPI(MPI_Allreduce(&el, t, 1, MPI_DOUBLE, MPI_MAX, comm));
  PetscCallMPI(MPI_Allreduce(&h1, thalo, 1, MPI_DOUBLE, MPI_MAX, comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One case's objects while its timings run. */
typedef struct {
  TnDyn       dyn;
  Vec         x0, x;
  TnDynResult res;
  double     *ts, *hs; /* per round: seconds per step, halo seconds per step */
} Live;

/* Set up a case: the dynamics, K calibrated (K = 1: warm-up and one
   timing, then K to reach min_time), a warm-up at that K. */
static PetscErrorCode CaseSetUp(MPI_Comm comm, TnNet net, const char netname[], PetscInt B, TnScheme scheme, double h, const char hreason[], double min_time, PetscInt reps, Case *c, Live *lv)
{
  double          t1, th, ts0;
  PetscInt        K;
  TnPartitionInfo pi;
  PetscMPIInt     size;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscMemzero(c, sizeof(*c)));
  PetscCall(PetscMemzero(lv, sizeof(*lv)));
  PetscCall(PetscStrncpy(c->net, netname, sizeof(c->net)));
  PetscCall(PetscStrncpy(c->scheme, scheme, sizeof(c->scheme)));
  PetscCall(PetscStrncpy(c->h_reason, hreason, sizeof(c->h_reason)));
  PetscCall(TnNetGetSizes(net, &c->N, &c->nnz));
  PetscCall(TnNetGetPartitionInfo(net, &pi));
  c->ghosts = size > 1 ? pi.halo_mean * size : 0;
  c->B      = B;
  c->h      = h;
  c->reps   = reps;
  ts0       = MPI_Wtime();
  PetscCall(BenchMakeDyn(net, B, scheme, 1, h, &lv->dyn));
  c->t_setup = MPI_Wtime() - ts0;
  PetscCall(TnDynCreateState(lv->dyn, &lv->x0));
  PetscCall(VecDuplicate(lv->x0, &lv->x));
  PetscCall(BenchRandomState(comm, lv->x0));
  PetscCall(TnDynResultCreate(lv->dyn, &lv->res));
  PetscCall(TimeEval(comm, lv->dyn, lv->x0, lv->x, &lv->res, &t1, &th)); /* warm-up */
  PetscCall(TimeEval(comm, lv->dyn, lv->x0, lv->x, &lv->res, &t1, &th));
  PetscCall(TnDynResultDestroy(&lv->res));
  K    = (PetscInt)PetscCeilReal(min_time / PetscMax(t1, 1e-6));
  K    = PetscMax(K, 2);
  c->K = K;
  PetscCall(TnDynSetSteps(lv->dyn, K)); /* resets the object: set up again */
  PetscCall(TnDynSetUp(lv->dyn));
  PetscCall(TnDynResultCreate(lv->dyn, &lv->res));
  PetscCall(TimeEval(comm, lv->dyn, lv->x0, lv->x, &lv->res, &t1, &th)); /* warm-up at this K */
  PetscCall(PetscCalloc2(reps, &lv->ts, reps, &lv->hs));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Round r's timing of a case. */
static PetscErrorCode CaseTime(MPI_Comm comm, const Case *c, Live *lv, PetscInt r)
{
  PetscFunctionBeginUser;
  PetscCall(TimeEval(comm, lv->dyn, lv->x0, lv->x, &lv->res, &lv->ts[r], &lv->hs[r]));
  lv->ts[r] /= c->K;
  lv->hs[r] /= c->K;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The bytes a step must move (the formula in the JSON and README), and
   what the kernel as written moves. */
static void CaseBytes(Case *c)
{
  double nnz = (double)c->nnz, N = (double)c->N, iw = (double)sizeof(PetscInt), sw = (double)sizeof(PetscScalar), B = (double)c->B;
  c->bytes = nnz * (sw + iw) + N * iw * 2 + N * 3 * sw + B * N * sw * 4 + c->ghosts * B * sw * 2;
  /* the tanh pass reads a, writes p (+ write allocate), the row pass reads
     p_i, reads and writes a: 6 state streams */
  c->bytes_kernel = nnz * (sw + iw) + N * iw * 2 + N * 3 * sw + B * N * sw * 6 + c->ghosts * B * sw * 2;
}

/* After the rounds: best and median, the halo time of the best round, the
   paired figures (ref: the first scheme's case of the same net and B, whose
   round r ran just before this case's round r; triad[r]: the triad of
   round r, GB/s), the colours and the invertibility; destroys lv. */
static PetscErrorCode CaseFinish(Case *c, Live *lv, const Live *ref, const double *triad)
{
  PetscReal   inv;
  const char *what;
  double     *q, bm[2];
  PetscInt    ib = 0, reps = c->reps;
  PetscFunctionBeginUser;
  CaseBytes(c);
  PetscCall(PetscMalloc1(reps, &q));
  for (PetscInt r = 1; r < reps; r++)
    if (lv->ts[r] < lv->ts[ib]) ib = r;
  c->t_halo = lv->hs[ib];
  for (PetscInt r = 0; r < reps; r++) q[r] = c->bytes / lv->ts[r] / 1e9 / triad[r];
  BenchBestMedian(q, reps, bm);
  c->triad_paired_median = bm[1];
  c->triad_paired_best   = q[reps - 1];
  for (PetscInt r = 0; r < reps; r++) q[r] = ref->ts[r] / lv->ts[r];
  BenchBestMedian(q, reps, bm);
  c->ref_ratio_median = bm[1];
  c->ref_ratio_min    = q[0];
  c->ref_ratio_max    = q[reps - 1];
  PetscCall(PetscFree(q));
  PetscCall(PetscArraycpy(c->t_rounds, lv->ts, PetscMin(reps, BENCH_MAXR)));
  BenchBestMedian(lv->ts, reps, bm); /* sorts lv->ts: after the ratios */
  c->t_best   = bm[0];
  c->t_median = bm[1];
  PetscCall(TnDynGetNumColors(lv->dyn, &c->ncolors));
  PetscCall(TnDynGetInvertibility(lv->dyn, &inv, &what));
  c->invert = inv;
  PetscCall(PetscStrncpy(c->invert_what, what, sizeof(c->invert_what)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode LiveDestroy(Live *lv)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree2(lv->ts, lv->hs));
  PetscCall(TnDynResultDestroy(&lv->res));
  PetscCall(VecDestroy(&lv->x));
  PetscCall(VecDestroy(&lv->x0));
  PetscCall(TnDynDestroy(&lv->dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void PrintCase(FILE *fp, const Case *c, const char ref[], double triad_gbs, PetscMPIInt size, PetscBool last)
{
  double ups = (double)c->nnz * c->B / c->t_best, gbs = c->bytes / c->t_best / 1e9;
  fprintf(fp, "    {\"net\": \"%s\", \"N\": %" PetscInt_FMT ", \"nnz\": %" PetscInt64_FMT ", \"ranks\": %d, \"B\": %" PetscInt_FMT ", \"scheme\": \"%s\", \"form\": \"rate\",\n", c->net, c->N, c->nnz, size, c->B, c->scheme);
  fprintf(fp, "     \"h\": %g, \"h_reason\": \"%s\", \"invertibility\": \"%s\", \"colors\": %" PetscInt_FMT ", \"ghosts_total\": %.0f,\n", c->h, c->h_reason, c->invert_what, c->ncolors, c->ghosts);
  fprintf(fp, "     \"K\": %" PetscInt_FMT ", \"reps\": %" PetscInt_FMT ", \"setup_s\": %.4g, \"step_s_best\": %.6g, \"step_s_median\": %.6g, \"halo_s_per_step\": %.4g,\n", c->K, c->reps, c->t_setup, c->t_best, c->t_median, c->t_halo);
  fprintf(fp, "     \"synaptic_updates_per_s\": %.6g, \"bytes_per_step\": %.6g, \"achieved_GBps\": %.4g, \"fraction_of_triad\": %.4f,\n", ups, c->bytes, gbs, gbs / triad_gbs);
  fprintf(fp, "     \"fraction_of_round_triad_median\": %.4f, \"fraction_of_round_triad_best\": %.4f,\n", c->triad_paired_median, c->triad_paired_best);
  fprintf(fp, "     \"rate_vs_%s_median\": %.4f, \"rate_vs_%s_min\": %.4f, \"rate_vs_%s_max\": %.4f,\n", ref, c->ref_ratio_median, ref, c->ref_ratio_min, ref, c->ref_ratio_max);
  fprintf(fp, "     \"step_s_rounds\": [");
  for (PetscInt r = 0; r < PetscMin(c->reps, BENCH_MAXR); r++) fprintf(fp, "%s%.6g", r ? ", " : "", c->t_rounds[r]);
  fprintf(fp, "],\n");
  fprintf(fp, "     \"bytes_per_step_kernel_as_written\": %.6g, \"achieved_GBps_kernel_as_written\": %.4g}%s\n", c->bytes_kernel, c->bytes_kernel / c->t_best / 1e9, last ? "" : ",");
}

/* The memory case: peak RSS summed over ranks (and max over ranks at the
   end) at start-up, after the net, after the dyn set-up, after the steps. */
typedef struct {
  PetscInt   n, N;
  PetscInt64 nnz;
  double     h, tb, t0, rss[4], rss_max;
} Memory;

static PetscErrorCode MemoryCase(MPI_Comm comm, PetscInt n, Memory *m)
{
  TnNet       net;
  TnDyn       dyn;
  Vec         x;
  TnDynResult res;
  char        reason[128];
  PetscFunctionBeginUser;
  m->n = n;
  PetscCall(TnPeakMemory(comm, &m->rss[0], NULL));
  PetscCall(PetscFPrintf(comm, PETSC_STDERR, "memory case: lattice2d n = %" PetscInt_FMT "\n", n));
  PetscCall(BenchBuildNet(comm, TNNET_LATTICE2D, n, 0, &net, &m->tb));
  PetscCall(TnNetGetSizes(net, &m->N, &m->nnz));
  PetscCall(TnPeakMemory(comm, &m->rss[1], NULL));
  PetscCall(BenchChooseH(net, &m->h, reason, sizeof(reason)));
  PetscCall(BenchMakeDyn(net, 1, TN_SCHEME_SYNC, 2, m->h, &dyn));
  PetscCall(TnPeakMemory(comm, &m->rss[2], NULL));
  PetscCall(TnDynCreateState(dyn, &x));
  PetscCall(VecSet(x, 0.1));
  PetscCall(TnDynResultCreate(dyn, &res));
  m->t0 = MPI_Wtime();
  PetscCall(TnDynEvaluate(dyn, x, &res));
  m->t0 = MPI_Wtime() - m->t0;
  PetscCall(TnPeakMemory(comm, &m->rss[3], &m->rss_max));
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&x));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void PrintMemory(FILE *fp, const void *ctx)
{
  const Memory *m = (const Memory *)ctx;
  fprintf(fp, "  \"net\": \"lattice2d\", \"n\": %" PetscInt_FMT ", \"N\": %" PetscInt_FMT ", \"nnz\": %" PetscInt64_FMT ", \"B\": 1, \"scheme\": \"sync\", \"steps\": 2, \"h\": %g,\n", m->n, m->N, m->nnz, m->h);
  fprintf(fp, "  \"net_build_s\": %.4g, \"evaluate_s\": %.4g,\n", m->tb, m->t0);
  fprintf(fp, "  \"peak_rss_sum_bytes\": {\"start\": %.6g, \"after_net\": %.6g, \"after_dyn_setup\": %.6g, \"after_steps\": %.6g},\n", m->rss[0], m->rss[1], m->rss[2], m->rss[3]);
  fprintf(fp, "  \"peak_rss_max_rank_bytes\": %.6g,\n", m->rss_max);
  fprintf(fp, "  \"bytes_per_synapse\": %.4g,\n  \"bytes_per_synapse_above_start\": %.4g,\n  \"goal_bytes_per_synapse\": 16,\n", m->rss[3] / (double)m->nnz, (m->rss[3] - m->rss[0]) / (double)m->nnz);
  fprintf(fp, "  \"note\": \"peak RSS = getrusage ru_maxrss summed over ranks (MPI_Allreduce); 'start' is the RSS of MPI + PETSc before anything is built\"\n");
}

/* The step cases' document (after "ranks"). */
typedef struct {
  BenchReport rp;
  const char *ref; /* the first scheme: the reference of the paired ratios */
} StepReport;

static void PrintReport(FILE *fp, const void *ctx)
{
  const StepReport  *sr     = (const StepReport *)ctx;
  const BenchReport *rp     = &sr->rp;
  const Case        *cases  = (const Case *)rp->cases;
  PetscInt           ncases = rp->n;
  fprintf(fp, "  \"scalar_bytes\": %d, \"index_bytes\": %d,\n", (int)sizeof(PetscScalar), (int)sizeof(PetscInt));
  BenchTriadPrint(fp, rp->triad, PETSC_TRUE);
  fprintf(fp, "  \"bytes_formula\": \"nnz*(8+%d) + N*%d*2 (CSR row pointers of the on- and off-process blocks) + N*3*8 (gamma, b, W_ii) + B*N*8*4 (read a, write a, write phi(a), read phi(a)) + ghosts*B*8*2 (halo send + receive); the same for colored (the matrix is read once per step over all colours)\",\n", (int)sizeof(PetscInt), (int)sizeof(PetscInt));
  fprintf(fp, "  \"bytes_formula_kernel_as_written\": \"as bytes_formula but B*N*8*6: the tanh pass reads a and writes phi(a) (+ write-allocate), the row pass reads phi(a)_i, reads a and writes a\",\n");
  fprintf(fp, "  \"cases\": [\n");
  for (PetscInt i = 0; i < ncases; i++) PrintCase(fp, &cases[i], sr->ref, rp->triad->GBps, rp->size, (PetscBool)(i == ncases - 1));
  fprintf(fp, "  ],\n  \"batch_ratios\": [\n");
  {
    PetscInt nr = 0, tot = 0;
    for (PetscInt i = 0; i < ncases; i++)
      for (PetscInt j = 0; j < ncases; j++)
        if (!strcmp(cases[i].net, cases[j].net) && !strcmp(cases[i].scheme, cases[j].scheme) && cases[i].B == 1 && cases[j].B > 1) tot++;
    for (PetscInt i = 0; i < ncases; i++)
      for (PetscInt j = 0; j < ncases; j++)
        if (!strcmp(cases[i].net, cases[j].net) && !strcmp(cases[i].scheme, cases[j].scheme) && cases[i].B == 1 && cases[j].B > 1) {
          double r = (cases[j].B / cases[j].t_best) / (cases[i].B / cases[i].t_best);
          fprintf(fp, "    {\"net\": \"%s\", \"scheme\": \"%s\", \"B\": %" PetscInt_FMT ", \"updates_per_s_ratio_vs_B1\": %.4g}%s\n", cases[i].net, cases[i].scheme, cases[j].B, r, ++nr == tot ? "" : ",");
        }
  }
  fprintf(fp, "  ]\n");
}

static PetscErrorCode Main(MPI_Comm comm)
{
  BenchCases  bc;
  PetscInt    triad_mb = 80, triad_reps = 10, mem_n = 3163;
  PetscReal   min_time = 1.0;
  PetscBool   memory   = PETSC_FALSE, active;
  PetscMPIInt size;
  FILE       *out[2];
  Case       *cases;
  BenchTriad  triad;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(BenchCasesSetDefaults(&bc, "lattice2d,er", "sync,colored", 3));
  PetscOptionsBegin(comm, "bench_", "bench_step", "bench");
  PetscCall(BenchCasesOptions(PetscOptionsObject, &bc));
  PetscCall(PetscOptionsReal("-min_time", "Seconds per timing", "", min_time, &min_time, NULL));
  PetscCall(PetscOptionsInt("-triad_mb", "MB per triad array per rank", "", triad_mb, &triad_mb, NULL));
  PetscCall(PetscOptionsInt("-triad_reps", "Triad repetitions", "", triad_reps, &triad_reps, NULL));
  PetscCall(PetscOptionsBool("-memory", "Only the memory case", "", memory, &memory, NULL));
  PetscCall(PetscOptionsInt("-memory_n", "Lattice side of the memory case", "", mem_n, &mem_n, NULL));
  PetscOptionsEnd();
  PetscCall(BenchCasesSetUp(&bc));
  PetscCall(BenchOutputsOpen(comm, bc.outpath, out));
  PetscCall(PetscLogIsActive(&active));
  if (!active) PetscCall(PetscLogDefaultBegin()); /* for the halo event time */

  if (memory) {
    Memory m;
    PetscCall(MemoryCase(comm, mem_n, &m));
    PetscCall(BenchWriteJson(comm, bc.outpath, out, "step_memory", PrintMemory, &m));
  } else {
    StepReport sr = {
        {&triad, NULL, 0, size},
        bc.schemes[0]};
    BenchReport *rp = &sr.rp;
    Live         lv[BENCH_MAXL];
    double      *tr;
    PetscCall(BenchTriadRun(comm, triad_mb, triad_reps, &triad));
    PetscCall(PetscMalloc1(bc.nnets * bc.nB * bc.nschemes, &cases));
    PetscCall(PetscMalloc1(bc.reps, &tr));
    rp->cases = cases;
    for (PetscInt in = 0; in < bc.nnets; in++) {
      TnNet  net;
      double tb, h;
      char   reason[128];
      PetscCall(BenchBuildNet(comm, bc.nets[in], BenchCasesSize(&bc, bc.nets[in]), bc.k, &net, &tb));
      PetscCall(BenchChooseH(net, &h, reason, sizeof(reason)));
      PetscCall(PetscFPrintf(comm, PETSC_STDERR, "net %s built in %.2f s; h = %g: %s\n", bc.nets[in], tb, h, reason));
      /* per batch size, the schemes' timings interleaved: round r times the
         triad, then each scheme once, so that a load that comes and goes
         weighs on all alike and each ratio pairs timings seconds apart */
      for (PetscInt ib = 0; ib < bc.nB; ib++) {
        Case *cb = &cases[in * bc.nschemes * bc.nB + ib]; /* cases in the order net, scheme, B: (scheme is, this B) at cb[is * bc.nB] */
        for (PetscInt is = 0; is < bc.nschemes; is++) PetscCall(CaseSetUp(comm, net, bc.nets[in], bc.B[ib], bc.schemes[is], h, reason, min_time, bc.reps, &cb[is * bc.nB], &lv[is]));
        for (PetscInt r = 0; r < bc.reps; r++) {
          PetscCall(BenchTriadAgain(comm, 4, &triad, &tr[r]));
          for (PetscInt is = 0; is < bc.nschemes; is++) PetscCall(CaseTime(comm, &cb[is * bc.nB], &lv[is], r));
          PetscCall(PetscFPrintf(comm, PETSC_STDERR, "  %s B=%" PetscInt_FMT " round %" PetscInt_FMT "/%" PetscInt_FMT ": triad %.2f GB/s", bc.nets[in], bc.B[ib], r + 1, bc.reps, tr[r]));
          for (PetscInt is = 0; is < bc.nschemes; is++) PetscCall(PetscFPrintf(comm, PETSC_STDERR, ", %s %.4g s", bc.schemes[is], lv[is].ts[r]));
          PetscCall(PetscFPrintf(comm, PETSC_STDERR, "\n"));
        }
        for (PetscInt is = bc.nschemes - 1; is >= 0; is--) PetscCall(CaseFinish(&cb[is * bc.nB], &lv[is], &lv[0], tr)); /* the reference (is = 0) last: CaseFinish sorts its times */
        for (PetscInt is = 0; is < bc.nschemes; is++) {
          const Case *c = &cb[is * bc.nB];
          PetscCall(PetscFPrintf(comm, PETSC_STDERR, "  %s B=%" PetscInt_FMT " %s: K=%" PetscInt_FMT " step %.4g s (median %.4g), %.3g updates/s, %.2f GB/s = %.1f%% of the round's triad (median), rate / %s %.3g (median of rounds)\n", c->net, c->B, c->scheme, c->K, c->t_best, c->t_median, (double)c->nnz * c->B / c->t_best, c->bytes / c->t_best / 1e9, 100 * c->triad_paired_median, bc.schemes[0], c->ref_ratio_median));
        }
        for (PetscInt is = 0; is < bc.nschemes; is++) PetscCall(LiveDestroy(&lv[is]));
      }
      rp->n += bc.nschemes * bc.nB;
      PetscCall(TnNetDestroy(&net));
    }
    PetscCall(PetscFree(tr));
    PetscCall(BenchWriteJson(comm, bc.outpath, out, "step", PrintReport, &sr));
    PetscCall(PetscFree(cases));
  }
  PetscCall(BenchCasesDestroy(&bc));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  return BenchMain(argc, argv, help, Main);
}
