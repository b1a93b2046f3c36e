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
      ratios to the forward step (best to best, median to median) with the
      goals of docs/rules.md: hebb and oja <= 1.3, local <= 2. W is put back
      after every rule timing, so every timing starts from the same net.

   JSON to stdout (rank 0) and to -bench_out FILE; progress to stderr. */
#include <tenor/net.h>
#include <tenor/dyn.h>
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
                           "  -bench_steps K             steps (updates) per timing, default 8\n"
                           "  -bench_reps r              timings per operation (best and median reported), default 3\n"
                           "  -bench_triad_mb M          MB per triad array per rank, default 80\n"
                           "  -bench_triad_reps r        triad repetitions (best reported), default 10\n";

#define MAXL 8
#define NOPS 4

static const char *const OpNames[NOPS] = {"forward", "hebb", "oja", "local"};
static const double      OpGoal[NOPS]  = {1, 1.3, 1.3, 2};

typedef struct {
  char       net[64], scheme[16];
  PetscInt   N, B, K, reps;
  PetscInt64 nnz;
  double     h, t[NOPS][2]; /* seconds per step or update: [best, median] */
} Case;

static int CmpDouble(const void *x, const void *y)
{
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

static void BestMedian(double *t, PetscInt n, double out[2])
{
  qsort(t, (size_t)n, sizeof(double), CmpDouble);
  out[0] = t[0];
  out[1] = t[n / 2];
}

/* STREAM triad on every rank at once; the best and median time (max over
   ranks) of -bench_triad_reps. */
static PetscErrorCode Triad(MPI_Comm comm, PetscInt mb, PetscInt reps, double *n_out, double *tbest, double *tmed)
{
  size_t  n = (size_t)mb * 1000000 / sizeof(double);
  double *a, *b, *c, *t, s = 3.0, check = 0, bm[2];
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc3(n, &a, n, &b, n, &c));
  PetscCall(PetscMalloc1(reps, &t));
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
  BestMedian(t, reps, bm);
  *tbest = bm[0];
  *tmed  = bm[1];
  *n_out = (double)n;
  PetscCall(PetscFree3(a, b, c));
  PetscCall(PetscFree(t));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode BuildNet(MPI_Comm comm, const char type[], PetscInt n, PetscInt k, TnNet *net)
{
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(comm, net));
  PetscCall(TnNetSetType(*net, type));
  PetscCall(TnNetSetSize(*net, n));
  PetscCall(TnNetSetDegree(*net, k));
  PetscCall(TnNetSetFromOptions(*net)); /* -net_scale etc. apply to every net */
  PetscCall(TnNetSetUp(*net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* h: -dyn_h if given; else 0.1, halved while the sync bound
   h (max gamma + sqrt(|W|_1 |W|_inf)) (docs/model.md section 5) is not < 0.95
   (bench_step's choice; h does not change the cost). */
static PetscErrorCode ChooseH(TnNet net, double *h)
{
  PetscBool set;
  PetscReal hv = 0.1, n1, ninf, gmax;
  Mat       W;
  Vec       gamma;
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-dyn_h", &hv, &set));
  if (!set) {
    PetscCall(TnNetGetMat(net, &W));
    PetscCall(TnNetGetVecs(net, NULL, &gamma, NULL));
    PetscCall(MatNorm(W, NORM_1, &n1));
    PetscCall(MatNorm(W, NORM_INFINITY, &ninf));
    PetscCall(VecMax(gamma, NULL, &gmax));
    while (hv * (gmax + PetscSqrtReal(n1 * ninf)) >= 0.95) hv *= 0.5;
  }
  *h = hv;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Max over ranks of the wall time of call. */
#define TIMED(comm, out, call)                                               \
  do {                                                                       \
    double _t0, _el;                                                         \
    PetscCallMPI(MPI_Barrier(comm));                                         \
    _t0 = MPI_Wtime();                                                       \
    PetscCall(call);                                                         \
    _el = MPI_Wtime() - _t0;                                                 \
    PetscCallMPI(MPI_Allreduce(&_el, &(out), 1, MPI_DOUBLE, MPI_MAX, comm)); \
  } while (0)

/* K updates of the rule with the activities r. */
static PetscErrorCode RuleSteps(TnRule rule, Vec r, PetscInt K)
{
  PetscFunctionBeginUser;
  for (PetscInt k = 0; k < K; k++) PetscCall(TnRuleApply(rule, r));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode RunCase(MPI_Comm comm, TnNet net, const char name[], PetscInt B, TnScheme scheme, PetscInt K, double h, PetscInt reps, Case *c)
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
  PetscCall(TnDynCreate(net, &dyn));
  PetscCall(TnDynSetFromOptions(dyn)); /* -dyn_form etc.; B, scheme, K, h set here */
  PetscCall(TnDynSetBatchSize(dyn, B));
  PetscCall(TnDynSetScheme(dyn, scheme));
  PetscCall(TnDynSetSteps(dyn, K));
  PetscCall(TnDynSetStepSize(dyn, h));
  PetscCall(TnDynSetUp(dyn));
  PetscCall(TnDynCreateState(dyn, &x0));
  PetscCall(VecDuplicate(x0, &x));
  {
    PetscRandom rnd;
    PetscCall(PetscRandomCreate(comm, &rnd));
    PetscCall(PetscRandomSetInterval(rnd, -1.0, 1.0));
    PetscCall(PetscRandomSetSeed(rnd, 7));
    PetscCall(PetscRandomSeed(rnd));
    PetscCall(VecSetRandom(x0, rnd));
    PetscCall(VecScale(x0, 0.5));
    PetscCall(PetscRandomDestroy(&rnd));
  }
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
  /* warm-up: every operation once (halo set-up, traces allocated) */
  PetscCall(VecCopy(x0, x));
  PetscCall(TnDynEvaluate(dyn, x, &res));
  for (int q = 0; q < 2; q++) PetscCall(TnRuleApply(rule[q], x0));
  PetscCall(TnNetSetParams(net, saved, 1.0, PETSC_FALSE));
  PetscCall(TnGradComputeLocal(g, x0, &res, grad));
  for (PetscInt r = 0; r < reps; r++) {
    PetscCall(VecCopy(x0, x));
    TIMED(comm, t[0][r], TnDynEvaluate(dyn, x, &res));
    for (int q = 0; q < 2; q++) {
      TIMED(comm, t[1 + q][r], RuleSteps(rule[q], x0, K));
      PetscCall(TnNetSetParams(net, saved, 1.0, PETSC_FALSE)); /* W as it was */
    }
    TIMED(comm, t[3][r], TnGradComputeLocal(g, x0, &res, grad));
  }
  for (int o = 0; o < NOPS; o++) {
    for (PetscInt r = 0; r < reps; r++) t[o][r] /= K;
    BestMedian(t[o], reps, c->t[o]);
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
  for (int o = 0; o < NOPS; o++) {
    fprintf(fp, "     \"%s\": {\"s_best\": %.6g, \"s_median\": %.6g, \"synaptic_updates_per_s\": %.6g", OpNames[o], c->t[o][0], c->t[o][1], (double)c->nnz * c->B / c->t[o][0]);
    if (o) fprintf(fp, ", \"ratio_to_forward\": %.4g, \"ratio_to_forward_median\": %.4g, \"goal_ratio\": %g", c->t[o][0] / c->t[0][0], c->t[o][1] / c->t[0][1], OpGoal[o]);
    fprintf(fp, "}%s\n", o == NOPS - 1 ? "" : ",");
  }
  fprintf(fp, "    }%s\n", last ? "" : ",");
}

static PetscErrorCode Main(MPI_Comm comm)
{
  char        outpath[PETSC_MAX_PATH_LEN] = "", *nets[MAXL], *schemes[MAXL];
  PetscInt    nnets = MAXL, nsch = MAXL, nB = MAXL, Bs[MAXL] = {1, 16};
  PetscInt    lat_n = 1000, er_n = 1000000, k = 32, K = 8, reps = 3, triad_mb = 80, triad_reps = 10, ncases = 0;
  PetscBool   set_net, set_sch, set_B;
  PetscMPIInt size, rank;
  FILE       *out[2] = {NULL, NULL};
  Case       *cases;
  double      tn = 0, tbest = 1, tmed = 1, triad_gbs;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscOptionsBegin(comm, "bench_", "bench_rule", "bench");
  PetscCall(PetscOptionsString("-out", "JSON output file", "", outpath, outpath, sizeof(outpath), NULL));
  PetscCall(PetscOptionsStringArray("-net", "Networks", "", nets, &nnets, &set_net));
  PetscCall(PetscOptionsInt("-lattice_n", "Lattice side", "", lat_n, &lat_n, NULL));
  PetscCall(PetscOptionsInt("-er_n", "Node count (er)", "", er_n, &er_n, NULL));
  PetscCall(PetscOptionsInt("-k", "In-degree (er)", "", k, &k, NULL));
  PetscCall(PetscOptionsIntArray("-batch", "Batch sizes", "", Bs, &nB, &set_B));
  PetscCall(PetscOptionsStringArray("-scheme", "Schemes", "", schemes, &nsch, &set_sch));
  PetscCall(PetscOptionsInt("-steps", "Steps (updates) per timing", "", K, &K, NULL));
  PetscCall(PetscOptionsInt("-reps", "Timings per operation", "", reps, &reps, NULL));
  PetscCall(PetscOptionsInt("-triad_mb", "MB per triad array per rank", "", triad_mb, &triad_mb, NULL));
  PetscCall(PetscOptionsInt("-triad_reps", "Triad repetitions", "", triad_reps, &triad_reps, NULL));
  PetscOptionsEnd();
  PetscCheck(reps >= 1 && triad_reps >= 1 && K >= 1 && triad_mb >= 1, comm, PETSC_ERR_USER, "-bench_reps, -bench_triad_reps, -bench_steps and -bench_triad_mb must be >= 1");
  if (!set_net) {
    nnets = 2;
    PetscCall(PetscStrallocpy(TNNET_LATTICE2D, &nets[0]));
    PetscCall(PetscStrallocpy(TNNET_ER, &nets[1]));
  }
  if (!set_sch) {
    nsch = 1;
    PetscCall(PetscStrallocpy("sync", &schemes[0]));
  }
  if (!set_B) nB = 2;
  if (!rank) {
    out[0] = stdout;
    if (outpath[0]) {
      out[1] = fopen(outpath, "w");
      PetscCheck(out[1], PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", outpath);
    }
  }
  PetscCall(PetscFPrintf(comm, PETSC_STDERR, "triad: %d rank(s) x 3 x %" PetscInt_FMT " MB\n", size, triad_mb));
  PetscCall(Triad(comm, triad_mb, triad_reps, &tn, &tbest, &tmed));
  triad_gbs = 24.0 * tn * size / tbest / 1e9;
  PetscCall(PetscFPrintf(comm, PETSC_STDERR, "triad: %.2f GB/s (best of %" PetscInt_FMT ")\n", triad_gbs, triad_reps));
  PetscCall(PetscMalloc1(nnets * nB * nsch, &cases));
  for (PetscInt in = 0; in < nnets; in++) {
    TnNet     net;
    PetscBool lat;
    double    h = 0.1;
    PetscCall(PetscStrcmp(nets[in], TNNET_LATTICE2D, &lat));
    PetscCall(BuildNet(comm, nets[in], lat ? lat_n : er_n, k, &net));
    PetscCall(ChooseH(net, &h));
    for (PetscInt is = 0; is < nsch; is++)
      for (PetscInt ib = 0; ib < nB; ib++) {
        Case *c = &cases[ncases++];
        PetscCall(RunCase(comm, net, nets[in], Bs[ib], schemes[is], K, h, reps, c));
        PetscCall(PetscFPrintf(comm, PETSC_STDERR, "  %s B=%" PetscInt_FMT " %s: forward %.4g s/step; hebb %.4g s (%.2fx), oja %.4g s (%.2fx), local %.4g s/step (%.2fx)\n", c->net, c->B, c->scheme, c->t[0][0], c->t[1][0], c->t[1][0] / c->t[0][0], c->t[2][0], c->t[2][0] / c->t[0][0], c->t[3][0], c->t[3][0] / c->t[0][0]));
      }
    PetscCall(TnNetDestroy(&net));
  }
  for (int f = 0; f < 2; f++) {
    FILE *fp = out[f];
    if (!fp) continue;
    fprintf(fp, "{\n  \"bench\": \"rule\",\n  \"ranks\": %d,\n", size);
    fprintf(fp, "  \"triad\": {\"n_per_rank\": %.0f, \"array_MB\": %" PetscInt_FMT ", \"reps\": %" PetscInt_FMT ", \"best_s\": %.6g, \"median_s\": %.6g, \"GBps\": %.4g},\n", tn, triad_mb, triad_reps, tbest, tmed, triad_gbs);
    fprintf(fp, "  \"note\": \"seconds per step (forward: TnDynEvaluate / K; local: TnGradComputeLocal / K) or per update (hebb, oja: TnRuleApply, form + check + add); one timing of each per rep, interleaved; max over ranks; synaptic updates/s = nnz B / best seconds\",\n");
    fprintf(fp, "  \"cases\": [\n");
    for (PetscInt i = 0; i < ncases; i++) PrintCase(fp, &cases[i], size, (PetscBool)(i == ncases - 1));
    fprintf(fp, "  ]\n}\n");
  }
  PetscCall(PetscFree(cases));
  if (out[1]) fclose(out[1]);
  for (PetscInt i = 0; i < nnets; i++) PetscCall(PetscFree(nets[i]));
  for (PetscInt i = 0; i < nsch; i++) PetscCall(PetscFree(schemes[i]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  PetscErrorCode ierr;
  PetscBool      set;
  ierr = TnInitialize(&argc, &argv, help);
  if (ierr) return 1;
  /* keep stdout JSON-only: no progress lines from the library */
  ierr = PetscOptionsHasName(NULL, NULL, "-tn_progress_every", &set);
  if (!ierr && !set) ierr = PetscOptionsSetValue(NULL, "-tn_progress_every", "0");
  if (!ierr) ierr = Main(PETSC_COMM_WORLD);
  return TnFinalize(ierr);
}
