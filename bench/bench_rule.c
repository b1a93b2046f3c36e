/* bench_rule: the cost of the local learning rules against the forward step
   they run beside, measured in the same run (see bench/README.md and
   docs/rules.md#cost).

   1. STREAM triad a = b + s c on every rank at once (best of
      -bench_triad_reps, max time over ranks), GB/s summed over ranks: the
      machine's bandwidth at the time of the run.
   2. For each network (-bench_net), batch size (-bench_batch) and scheme
      (-bench_scheme), on one net and one state batch x (B samples, random
      in [-0.5, 0.5]): K steps (-bench_steps) of
        forward  TnDynEvaluate (the forward step, K steps per timing);
        hebb     K updates TnRuleApply(r) (form dW, check, add), r = x;
        oja      the same with the oja rule;
        local    TnGradComputeLocal (the local rule: K forward steps
                 carrying the eligibility traces, then the base term);
      one timing of each per rep, in that order, rep after rep (so that a
      load that comes and goes weighs on all of them alike); max over ranks;
      best and median over -bench_reps of the time per step (per update).
      Reported: seconds, synaptic updates/s = nnz B / seconds, and the
      ratios to the forward step (best to best, median to median, and
      paired: each rep's time over the same rep's forward, median, min and
      max over the reps) with the
      goals of docs/rules.md: hebb and oja <= 1.3, local <= 2. W is put back
      after every rule timing, so every timing starts from the same net.

   JSON to stdout (rank 0) and to -bench_out FILE; progress to stderr. */
#include "benchutil.h"
#include <tenor/grad.h>
#include <tenor/rule.h>
#include <stdlib.h>
#include <string.h>

static const char help[] = "Benchmark of the local learning rules against the forward step (see the top of bench/bench_rule.c).\n"
                           "  -bench_out FILE            JSON output file (also printed on stdout)\n"
                           "  -bench_net a,b             networks (lattice2d, er)\n"
                           "  -bench_lattice_n n         lattice side (N = n^2), default 1000\n"
                           "  -bench_er_n N -bench_k k   er node count and in-degree, default 10^6 and 32\n"
                           "  -bench_batch 1,16          batch sizes B\n"
                           "  -bench_scheme sync         schemes of the forward step and the local rule (sync, colored)\n"
                           "  -bench_rules a,b           the rules timed beside the forward step (hebb, oja, local), default all\n"
                           "  -bench_steps K             steps (updates) per timing, default 8\n"
                           "  -bench_reps r              timings per operation (best and median reported), default 3\n"
                           "  -bench_triad_mb M          MB per triad array per rank, default 80\n"
                           "  -bench_triad_reps r        triad repetitions (best reported), default 10\n";

#define NOPS 4

static const char *const OpNames[NOPS] = {"forward", "hebb", "oja", "local"};
static const double      OpGoal[NOPS]  = {1, 1.3, 1.3, 2};

typedef struct {
  char       net[64], scheme[16];
  PetscInt   N, B, K, reps;
  PetscInt64 nnz;
  double     h, t[NOPS][2]; /* seconds per step or update: [best, median] */
  double     q[NOPS][3];    /* time / the same rep's forward time: [median, min, max] over the reps */
  PetscBool  on[NOPS];      /* timed (-bench_rules; the forward always) */
} Case;

/* K updates of the rule with the activities r. */
static PetscErrorCode RuleSteps(TnRule rule, Vec r, PetscInt K)
{
  PetscFunctionBeginUser;
  for (PetscInt k = 0; k < K; k++) PetscCall(TnRuleApply(rule, r));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode RunCase(MPI_Comm comm, TnNet net, const char name[], PetscInt B, TnScheme scheme, PetscInt K, double h, PetscInt reps, const PetscBool *on, Case *c)
{
  TnDyn         dyn;
  TnDynResult   res;
  TnGrad        g;
  TnRule        rule[2];
  TnParamLayout L;
  Vec           x0, x, grad;
  PetscScalar  *param, *saved;
  double       *t[NOPS];
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(c, sizeof(*c)));
  PetscCall(PetscStrncpy(c->net, name, sizeof(c->net)));
  PetscCall(PetscStrncpy(c->scheme, scheme, sizeof(c->scheme)));
  PetscCall(TnNetGetSizes(net, &c->N, &c->nnz));
  c->B = B, c->K = K, c->h = h, c->reps = reps;
  for (int o = 0; o < NOPS; o++) c->on[o] = on[o];
  PetscCall(BenchMakeDyn(net, B, scheme, K, h, &dyn));
  PetscCall(TnDynCreateState(dyn, &x0));
  PetscCall(VecDuplicate(x0, &x));
  PetscCall(BenchRandomState(comm, x0));
  PetscCall(TnDynResultCreate(dyn, &res));
  PetscCall(TnGradCreate(dyn, &g));
  PetscCall(TnNetGetParamLayout(net, &L));
  PetscCall(VecCreateMPI(comm, L.n, PETSC_DETERMINE, &grad)); /* theta's layout */
  for (int q = 0; q < 2; q++) {
    PetscCall(TnRuleCreate(net, &rule[q]));
    PetscCall(TnRuleSetType(rule[q], q ? TNRULE_OJA : TNRULE_HEBB));
    PetscCall(TnRuleSetEta(rule[q], 1e-3)); /* the cost does not depend on eta; W stays near its start */
  }
  PetscCall(TnNetGetParamArray(net, &param, NULL));
  PetscCall(PetscMalloc1(L.n, &saved));
  PetscCall(PetscArraycpy(saved, param, L.n));
  for (int o = 0; o < NOPS; o++) PetscCall(PetscMalloc1(reps, &t[o]));
  /* warm-up: every operation timed once (halo set-up, traces allocated) */
  PetscCall(VecCopy(x0, x));
  PetscCall(TnDynEvaluate(dyn, x, &res));
  for (int q = 0; q < 2; q++)
    if (on[1 + q]) PetscCall(TnRuleApply(rule[q], x0));
  PetscCall(TnNetSetParams(net, saved, 1.0, PETSC_FALSE));
  if (on[3]) PetscCall(TnGradComputeLocal(g, x0, &res, grad));
  for (PetscInt r = 0; r < reps; r++) {
    PetscCall(VecCopy(x0, x));
    BENCH_TIMED(comm, t[0][r], TnDynEvaluate(dyn, x, &res));
    for (int q = 0; q < 2; q++) {
      t[1 + q][r] = 0;
      if (!on[1 + q]) continue;
      BENCH_TIMED(comm, t[1 + q][r], RuleSteps(rule[q], x0, K));
      PetscCall(TnNetSetParams(net, saved, 1.0, PETSC_FALSE)); /* W as it was */
    }
    t[3][r] = 0;
    if (on[3]) BENCH_TIMED(comm, t[3][r], TnGradComputeLocal(g, x0, &res, grad));
  }
  for (int o = 0; o < NOPS; o++)
    for (PetscInt r = 0; r < reps; r++) t[o][r] /= K;
  for (int o = NOPS - 1; o >= 0; o--) { /* the forward (o = 0) last: BenchBestMedian sorts its times */
    double *qr, bm[2];
    PetscCall(PetscMalloc1(reps, &qr));
    for (PetscInt r = 0; r < reps; r++) qr[r] = t[o][r] / t[0][r]; /* against the same rep's forward */
    BenchBestMedian(qr, reps, bm);
    c->q[o][0] = bm[1], c->q[o][1] = qr[0], c->q[o][2] = qr[reps - 1];
    PetscCall(PetscFree(qr));
    BenchBestMedian(t[o], reps, c->t[o]);
    PetscCall(PetscFree(t[o]));
  }
  PetscCall(PetscFree(saved));
  for (int q = 0; q < 2; q++) PetscCall(TnRuleDestroy(&rule[q]));
  PetscCall(VecDestroy(&grad));
  PetscCall(TnGradDestroy(&g));
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&x0));
  PetscCall(TnDynDestroy(&dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void PrintCase(FILE *fp, const Case *c, PetscMPIInt size, PetscBool last)
{
  fprintf(fp, "    {\"net\": \"%s\", \"N\": %" PetscInt_FMT ", \"nnz\": %" PetscInt64_FMT ", \"ranks\": %d, \"B\": %" PetscInt_FMT ", \"scheme\": \"%s\", \"K\": %" PetscInt_FMT ", \"h\": %g, \"reps\": %" PetscInt_FMT ",\n", c->net, c->N, c->nnz, size, c->B, c->scheme, c->K, c->h, c->reps);
  int last_on = 0;
  for (int o = 0; o < NOPS; o++)
    if (c->on[o]) last_on = o;
  for (int o = 0; o < NOPS; o++) {
    if (!c->on[o]) continue;
    fprintf(fp, "     \"%s\": {\"s_best\": %.6g, \"s_median\": %.6g, \"synaptic_updates_per_s\": %.6g", OpNames[o], c->t[o][0], c->t[o][1], (double)c->nnz * c->B / c->t[o][0]);
    if (o) fprintf(fp, ", \"ratio_to_forward\": %.4g, \"ratio_to_forward_median\": %.4g, \"ratio_to_forward_paired_median\": %.4g, \"ratio_to_forward_paired_min\": %.4g, \"ratio_to_forward_paired_max\": %.4g, \"goal_ratio\": %g", c->t[o][0] / c->t[0][0], c->t[o][1] / c->t[0][1], c->q[o][0], c->q[o][1], c->q[o][2], OpGoal[o]);
    fprintf(fp, "}%s\n", o == last_on ? "" : ",");
  }
  fprintf(fp, "    }%s\n", last ? "" : ",");
}

/* The document (after "ranks"); ctx: a BenchReport. */
static void PrintReport(FILE *fp, const void *ctx)
{
  const BenchReport *rp    = (const BenchReport *)ctx;
  const Case        *cases = (const Case *)rp->cases;
  BenchTriadPrint(fp, rp->triad, PETSC_FALSE);
  fprintf(fp, "  \"note\": \"seconds per step (forward: TnDynEvaluate / K; local: TnGradComputeLocal / K) or per update (hebb, oja: TnRuleApply, form + check + add); one timing of each per rep, interleaved; max over ranks; synaptic updates/s = nnz B / best seconds\",\n");
  fprintf(fp, "  \"cases\": [\n");
  for (PetscInt i = 0; i < rp->n; i++) PrintCase(fp, &cases[i], rp->size, (PetscBool)(i == rp->n - 1));
  fprintf(fp, "  ]\n");
}

static PetscErrorCode Main(MPI_Comm comm)
{
  BenchCases  bc;
  PetscInt    K = 8, triad_mb = 80, triad_reps = 10;
  PetscBool   on[NOPS] = {PETSC_TRUE, PETSC_TRUE, PETSC_TRUE, PETSC_TRUE};
  FILE       *out[2];
  Case       *cases;
  BenchTriad  triad;
  BenchReport rp = {&triad, NULL, 0, 0};
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &rp.size));
  PetscCall(BenchCasesSetDefaults(&bc, "lattice2d,er", "sync", 3));
  PetscOptionsBegin(comm, "bench_", "bench_rule", "bench");
  PetscCall(BenchCasesOptions(PetscOptionsObject, &bc));
  PetscCall(PetscOptionsInt("-steps", "Steps (updates) per timing", "", K, &K, NULL));
  {
    char     *names[4 * NOPS];
    PetscInt  nn = 4 * NOPS;
    PetscBool set, given;
    PetscCall(PetscOptionsStringArray("-rules", "Rules timed beside the forward step", "", names, &nn, &set));
    PetscCall(PetscOptionsHasName(NULL, NULL, "-bench_rules", &given)); /* also given with no value */
    if (given && !set) nn = 0;
    PetscCheck(!given || (nn >= 1 && nn < 4 * NOPS), comm, PETSC_ERR_USER, "-bench_rules needs 1 to %d names of rules (hebb, oja, local), comma-separated; it got %s", 4 * NOPS - 1, nn < 1 ? "none" : "too many");
    if (set) {
      for (int o = 1; o < NOPS; o++) on[o] = PETSC_FALSE;
      for (PetscInt k = 0; k < nn; k++) {
        PetscBool found = PETSC_FALSE;
        for (int o = 1; o < NOPS; o++)
          if (!strcmp(names[k], OpNames[o])) on[o] = found = PETSC_TRUE;
        PetscCheck(found, comm, PETSC_ERR_USER, "-bench_rules: unknown rule '%s' (hebb, oja, local)", names[k]);
        PetscCall(PetscFree(names[k]));
      }
    }
  }
  PetscCall(PetscOptionsInt("-triad_mb", "MB per triad array per rank", "", triad_mb, &triad_mb, NULL));
  PetscCall(PetscOptionsInt("-triad_reps", "Triad repetitions", "", triad_reps, &triad_reps, NULL));
  PetscOptionsEnd();
  PetscCall(BenchCasesSetUp(&bc));
  PetscCheck(K >= 1, comm, PETSC_ERR_USER, "-bench_steps must be >= 1");
  PetscCall(BenchOutputsOpen(comm, bc.outpath, out));
  PetscCall(BenchTriadRun(comm, triad_mb, triad_reps, &triad));
  PetscCall(PetscMalloc1(bc.nnets * bc.nB * bc.nschemes, &cases));
  rp.cases = cases;
  for (PetscInt in = 0; in < bc.nnets; in++) {
    TnNet  net;
    double h = 0.1;
    PetscCall(BenchBuildNet(comm, bc.nets[in], BenchCasesSize(&bc, bc.nets[in]), bc.k, &net, NULL));
    PetscCall(BenchChooseH(net, &h, NULL, 0));
    for (PetscInt is = 0; is < bc.nschemes; is++)
      for (PetscInt ib = 0; ib < bc.nB; ib++) {
        Case *c = &cases[rp.n++];
        PetscCall(RunCase(comm, net, bc.nets[in], bc.B[ib], bc.schemes[is], K, h, bc.reps, on, c));
        PetscCall(PetscFPrintf(comm, PETSC_STDERR, "  %s B=%" PetscInt_FMT " %s: forward %.4g s/step", c->net, c->B, c->scheme, c->t[0][0]));
        for (int o = 1; o < NOPS; o++)
          if (c->on[o]) PetscCall(PetscFPrintf(comm, PETSC_STDERR, "; %s %.4g s (%.2fx)", OpNames[o], c->t[o][0], c->t[o][0] / c->t[0][0]));
        PetscCall(PetscFPrintf(comm, PETSC_STDERR, "\n"));
      }
    PetscCall(TnNetDestroy(&net));
  }
  PetscCall(BenchWriteJson(comm, bc.outpath, out, "rule", PrintReport, &rp));
  PetscCall(PetscFree(cases));
  PetscCall(BenchCasesDestroy(&bc));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  return BenchMain(argc, argv, help, Main);
}
