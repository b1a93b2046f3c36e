/* bench_grad: the cost of the gradient (tenor/grad.h) against the forward
   evaluation it differentiates, and the memory of training.

   1. For each network (-bench_net), batch size (-bench_batch), scheme
      (-bench_scheme): K steps (-bench_steps) of TnDynEvaluate (forward) and
      of TnGradCompute (forward + backward) with checkpointing none and sqrt;
      best and median of -bench_reps timings (max over ranks); the ratio
      (forward + backward) / forward; each gradient timing follows a
      forward one (the forward's best and median over all of them). And
      TnGradComputeLocal (the local rule: one forward pass carrying the
      eligibility traces), its ratio to the forward evaluation timed
      alternately with it, rep by rep (best to best and median to median;
      the goal: at most 2).
   2. -bench_memory: instead, two Adam steps of the real trainer (TnTrain)
      on one configuration (-bench_memory_net lattice2d or er, size
      -bench_memory_n, in-degree -bench_k, B = -bench_memory_batch, sync, K
      steps, checkpointing -grad_checkpoint, any -train_ option): the
      resident set (now and peak) summed over ranks per synapse, above the
      start-up and without the data's bytes (MemoryCase).

   JSON to stdout (rank 0) and to -bench_out FILE; progress to stderr. */
#include "benchutil.h"
#include <tenor/grad.h>
#include <tenor/data.h>
#include <tenor/train.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static const char help[] = "Benchmark of the gradient (see the top of bench/bench_grad.c).\n"
                           "  -bench_out FILE          JSON output file (also printed on stdout)\n"
                           "  -bench_net a,b           networks (lattice2d, er)\n"
                           "  -bench_lattice_n n       lattice side (N = n^2), default 1000\n"
                           "  -bench_er_n N -bench_k k er node count and in-degree\n"
                           "  -bench_batch 1,16        batch sizes B\n"
                           "  -bench_scheme sync       schemes (sync, colored)\n"
                           "  -bench_steps K           steps (default 16)\n"
                           "  -bench_reps r            timings per case (best and median reported)\n"
                           "  -bench_memory            only the memory case\n"
                           "  -bench_memory_net type   its network: lattice2d (default) or er (-bench_k)\n"
                           "  -bench_memory_n n        its lattice side or er N (default 1000)\n"
                           "  -bench_memory_batch B    its batch size (default 1)\n";

typedef struct {
  char       net[64], scheme[16];
  PetscInt   N, B, K, reps, nfwd; /* nfwd: forward timings, one before each gradient timing */
  PetscInt64 nnz;
  double     h, fwd[2], grad[2][2]; /* [best, median]; grad[none, sqrt] */
  double     bytes[2];              /* the gradient engine's storage, none / sqrt */
  double     local[2], lbytes;      /* the local rule: [best, median], its traces' bytes */
  double     lfwd[2];               /* the forward timed interleaved with it */
} Case;

static PetscErrorCode RandomState(Vec x)
{
  PetscInt     n, rs;
  PetscScalar *a;
  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(x, &n));
  PetscCall(VecGetOwnershipRange(x, &rs, NULL));
  PetscCall(VecGetArrayWrite(x, &a));
  for (PetscInt q = 0; q < n; q++) a[q] = TnRandNormal(3, 0, (uint64_t)(rs + q));
  PetscCall(VecRestoreArrayWrite(x, &a));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode RunCase(MPI_Comm comm, TnNet net, const char name[], PetscInt B, TnScheme scheme, PetscInt K, double h, PetscInt reps, Case *c)
{
  TnDyn       dyn;
  TnDynResult res;
  Vec         x0, x, grad;
  double     *t, *tf;
  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(c->net, name, sizeof(c->net)));
  PetscCall(PetscStrncpy(c->scheme, scheme, sizeof(c->scheme)));
  PetscCall(TnNetGetSizes(net, &c->N, &c->nnz));
  c->B = B, c->K = K, c->h = h, c->reps = reps, c->nfwd = 0;
  PetscCall(BenchMakeDyn(net, B, scheme, K, h, &dyn));
  PetscCall(TnDynCreateState(dyn, &x0));
  PetscCall(VecDuplicate(x0, &x));
  PetscCall(RandomState(x0));
  PetscCall(TnDynResultCreate(dyn, &res));
  PetscCall(PetscMalloc2(reps, &t, 2 * reps, &tf));
  /* each gradient timing follows a forward one, so that a load that comes
     and goes weighs on both sides of the ratio alike; the forward's best
     and median are over all 2 reps of them */
  for (int ck = 0; ck < 2; ck++) {
    TnGrad g;
    PetscCall(TnGradCreate(dyn, &g));
    PetscCall(TnGradSetCheckpoint(g, ck ? TN_GRAD_CKPT_SQRT : TN_GRAD_CKPT_NONE));
    PetscCall(TnGradCreateParamVec(g, &grad));
    PetscCall(TnGradGetCheckpoint(g, NULL, NULL, NULL, &c->bytes[ck]));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &c->bytes[ck], 1, MPI_DOUBLE, MPI_SUM, comm));
    for (PetscInt r = 0; r < reps; r++) {
      PetscCall(VecCopy(x0, x));
      BENCH_TIMED(comm, tf[c->nfwd++], TnDynEvaluate(dyn, x, &res));
      BENCH_TIMED(comm, t[r], TnGradCompute(g, x0, &res, grad));
    }
    BenchBestMedian(t, reps, c->grad[ck]);
    PetscCall(VecDestroy(&grad));
    PetscCall(TnGradDestroy(&g));
  }
  BenchBestMedian(tf, c->nfwd, c->fwd);
  {
    TnGrad g;
    PetscCall(TnGradCreate(dyn, &g));
    PetscCall(TnGradCreateParamVec(g, &grad));
    PetscCall(TnDynLocalSetUp(dyn, 0, &c->lbytes));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &c->lbytes, 1, MPI_DOUBLE, MPI_SUM, comm));
    /* interleaved with forward evaluations, so that a load that comes and
       goes weighs on both sides of the ratio alike */
    for (PetscInt r = 0; r < reps; r++) {
      PetscCall(VecCopy(x0, x));
      BENCH_TIMED(comm, tf[r], TnDynEvaluate(dyn, x, &res));
      BENCH_TIMED(comm, t[r], TnGradComputeLocal(g, x0, &res, grad));
    }
    BenchBestMedian(t, reps, c->local);
    BenchBestMedian(tf, reps, c->lfwd);
    PetscCall(VecDestroy(&grad));
    PetscCall(TnGradDestroy(&g));
  }
  PetscCall(PetscFree2(t, tf));
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&x0));
  PetscCall(TnDynDestroy(&dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void PrintCase(FILE *fp, const Case *c, PetscBool last)
{
  fprintf(fp, "    {\"net\": \"%s\", \"N\": %" PetscInt_FMT ", \"nnz\": %" PetscInt64_FMT ", \"B\": %" PetscInt_FMT ", \"scheme\": \"%s\", \"K\": %" PetscInt_FMT ", \"h\": %g, \"reps\": %" PetscInt_FMT ",\n", c->net, c->N, c->nnz, c->B, c->scheme, c->K, c->h, c->reps);
  fprintf(fp, "     \"forward_s\": {\"best\": %.5g, \"median\": %.5g}, \"forward_timings\": %" PetscInt_FMT ",\n", c->fwd[0], c->fwd[1], c->nfwd);
  fprintf(fp, "     \"grad_none_s\": {\"best\": %.5g, \"median\": %.5g}, \"grad_sqrt_s\": {\"best\": %.5g, \"median\": %.5g},\n", c->grad[0][0], c->grad[0][1], c->grad[1][0], c->grad[1][1]);
  fprintf(fp, "     \"ratio_none\": %.3f, \"ratio_sqrt\": %.3f, \"goal_ratio\": 2.5,\n", c->grad[0][0] / c->fwd[0], c->grad[1][0] / c->fwd[0]);
  fprintf(fp, "     \"local_s\": {\"best\": %.5g, \"median\": %.5g}, \"local_forward_s\": {\"best\": %.5g, \"median\": %.5g}, \"ratio_local\": %.3f, \"ratio_local_median\": %.3f, \"goal_ratio_local\": 2, \"local_trace_bytes\": %.6g,\n", c->local[0], c->local[1], c->lfwd[0], c->lfwd[1], c->local[0] / c->lfwd[0], c->local[1] / c->lfwd[1], c->lbytes);
  fprintf(fp, "     \"grad_storage_bytes\": {\"none\": %.6g, \"sqrt\": %.6g}}%s\n", c->bytes[0], c->bytes[1], last ? "" : ",");
}

/* Resident set now (VmRSS, /proc/self/statm), summed over ranks, after
   handing freed heap memory back to the system (malloc_trim): what is live,
   not what earlier set-up steps left free in the heap. */
static PetscErrorCode RSSNowSum(MPI_Comm comm, double *sum)
{
  double pages = 0, res = 0;
  FILE  *fp;
  PetscFunctionBeginUser;
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
  fp = fopen("/proc/self/statm", "r");
  if (fp) {
    if (fscanf(fp, "%lf %lf", &pages, &res) != 2) res = 0;
    fclose(fp);
  }
  res *= (double)sysconf(_SC_PAGESIZE);
  PetscCallMPI(MPI_Allreduce(&res, sum, 1, MPI_DOUBLE, MPI_SUM, comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The memory case's figures: resident set now and peak, summed over ranks. */
typedef struct {
  const char      *type;
  PetscInt         N, B, K, seg, nst;
  PetscInt64       nnz;
  TnGradCheckpoint used;
  PetscLogDouble   gbytes;
  double           p0, r0, p1, r1, p2, r2, rd, rt, h, dbytes;
} Memory;

/* Training memory, measured on the real trainer: net + dynamics + data
   (S = 2B standard-normal samples) + TnTrain (Adam: theta is the network's
   own storage; the gradient and the two moments; the best parameters with
   -train_keep_best) + the gradient engine, after two Adam steps. Reported
   per synapse: the resident set (now and peak) above the start-up, with the
   data's S N 8 bytes taken out (samples are not per-synapse memory). */
static PetscErrorCode MemoryCase(MPI_Comm comm, const char type[], PetscInt n, PetscInt k, PetscInt B, PetscInt K, Memory *m)
{
  TnNet    net;
  TnDyn    dyn;
  TnData   data;
  TnTrain  tr;
  TnGrad   g;
  PetscInt S = 2 * B;
  PetscFunctionBeginUser;
  m->type = type, m->B = B, m->K = K;
  PetscCall(TnPeakMemory(comm, &m->p0, NULL));
  PetscCall(RSSNowSum(comm, &m->r0));
  PetscCall(BenchBuildNet(comm, type, n, k, &net, NULL));
  PetscCall(TnNetGetSizes(net, &m->N, &m->nnz));
  PetscCall(BenchChooseH(net, &m->h, NULL, 0));
  PetscCall(TnPeakMemory(comm, &m->p1, NULL));
  PetscCall(RSSNowSum(comm, &m->r1));
  PetscCall(BenchMakeDyn(net, B, TN_SCHEME_SYNC, K, m->h, &dyn));
  PetscCall(TnDataCreate(comm, &data));
  PetscCall(TnDataSetType(data, "normal"));
  PetscCall(TnDataSetSamples(data, S, 7));
  PetscCall(TnDataLoad(data, m->N));
  m->dbytes = 8.0 * (double)S * (double)m->N;
  PetscCall(RSSNowSum(comm, &m->rd));
  PetscCall(TnTrainCreate(net, dyn, data, &tr));
  PetscCall(TnTrainSetBudget(tr, 0, 2));
  PetscCall(TnTrainSetFromOptions(tr));
  PetscCall(TnTrainSetUp(tr));
  PetscCall(RSSNowSum(comm, &m->rt));
  for (int s = 0; s < 2; s++) PetscCall(TnTrainStep(tr));
  PetscCall(TnPeakMemory(comm, &m->p2, NULL));
  PetscCall(RSSNowSum(comm, &m->r2));
  PetscCall(TnTrainGetGrad(tr, &g));
  PetscCall(TnGradGetCheckpoint(g, &m->used, &m->seg, &m->nst, &m->gbytes));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &m->gbytes, 1, MPI_DOUBLE, MPI_SUM, comm));
  PetscCall(TnTrainDestroy(&tr));
  PetscCall(TnDataDestroy(&data));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void PrintMemory(FILE *fp, const void *ctx)
{
  const Memory *m = (const Memory *)ctx;
  fprintf(fp, "  \"net\": \"%s\", \"N\": %" PetscInt_FMT ", \"nnz\": %" PetscInt64_FMT ", \"synapses_per_node\": %.3g, \"B\": %" PetscInt_FMT ", \"scheme\": \"sync\", \"K\": %" PetscInt_FMT ", \"h\": %g, \"optimizer\": \"adam\",\n", m->type, m->N, m->nnz, (double)m->nnz / m->N, m->B, m->K, m->h);
  fprintf(fp, "  \"checkpoint\": \"%s\", \"segment\": %" PetscInt_FMT ", \"states_stored\": %" PetscInt_FMT ", \"gradient_engine_bytes\": %.6g, \"data_bytes\": %.6g,\n", TnGradCheckpointTypes[m->used], m->seg, m->nst, m->gbytes, m->dbytes);
  fprintf(fp, "  \"rss_sum_bytes\": {\"start\": %.6g, \"after_net\": %.6g, \"after_dyn_and_data\": %.6g, \"after_train_setup\": %.6g, \"after_two_adam_steps\": %.6g},\n", m->r0, m->r1, m->rd, m->rt, m->r2);
  fprintf(fp, "  \"peak_rss_sum_bytes\": {\"start\": %.6g, \"after_net\": %.6g, \"after_two_adam_steps\": %.6g},\n", m->p0, m->p1, m->p2);
  fprintf(fp, "  \"training_bytes_per_synapse\": %.4g,\n  \"peak_bytes_per_synapse\": %.4g,\n  \"goal_bytes_per_synapse\": 40,\n", (m->r2 - m->r0 - m->dbytes) / (double)m->nnz, (m->p2 - m->p0 - m->dbytes) / (double)m->nnz);
  fprintf(fp, "  \"note\": \"per synapse = (resident set summed over ranks after two Adam steps - at start-up - the data's S N 8 bytes) / nnz; peak: the same with getrusage ru_maxrss (set-up transients included). The trainer's theta is the network's storage; it adds the gradient, Adam's m and v, and the best parameters unless -train_keep_best 0\"\n");
}

/* The cases' document (after "ranks"); ctx: a BenchReport. */
static void PrintReport(FILE *fp, const void *ctx)
{
  const BenchReport *rp    = (const BenchReport *)ctx;
  const Case        *cases = (const Case *)rp->cases;
  fprintf(fp, "  \"note\": \"seconds are max over ranks, best (and median) of reps; ratio = best(forward + backward) / best(forward), each gradient timing after a forward one (forward_timings: all of them); none stores all K states, sqrt every ceil(sqrt K)-th and recomputes\",\n  \"cases\": [\n");
  for (PetscInt q = 0; q < rp->n; q++) PrintCase(fp, &cases[q], (PetscBool)(q == rp->n - 1));
  fprintf(fp, "  ]\n");
}

static PetscErrorCode Main(MPI_Comm comm)
{
  char       mem_net[64] = TNNET_LATTICE2D;
  BenchCases bc;
  PetscInt   K = 16, mem_n = 1000, mem_B = 1;
  PetscBool  memory = PETSC_FALSE;
  FILE      *out[2];
  Case      *cases;
  PetscFunctionBeginUser;
  PetscCall(BenchCasesSetDefaults(&bc, "lattice2d", "sync", 3));
  PetscOptionsBegin(comm, "bench_", "bench_grad", "bench");
  PetscCall(BenchCasesOptions(PetscOptionsObject, &bc));
  PetscCall(PetscOptionsInt("-steps", "Steps K", "", K, &K, NULL));
  PetscCall(PetscOptionsBool("-memory", "Only the memory case", "", memory, &memory, NULL));
  PetscCall(PetscOptionsInt("-memory_n", "Lattice side (lattice2d) or N (er) of the memory case", "", mem_n, &mem_n, NULL));
  PetscCall(PetscOptionsString("-memory_net", "Network of the memory case (lattice2d, er)", "", mem_net, mem_net, sizeof(mem_net), NULL));
  PetscCall(PetscOptionsInt("-memory_batch", "Batch size of the memory case", "", mem_B, &mem_B, NULL));
  PetscOptionsEnd();
  PetscCall(BenchCasesSetUp(&bc));
  PetscCheck(K >= 1, comm, PETSC_ERR_USER, "-bench_steps must be >= 1");
  PetscCall(BenchOutputsOpen(comm, bc.outpath, out));
  if (memory) {
    Memory m;
    PetscCall(MemoryCase(comm, mem_net, mem_n, bc.k, mem_B, K, &m));
    PetscCall(BenchWriteJson(comm, bc.outpath, out, "train_memory", PrintMemory, &m));
  } else {
    BenchReport rp = {NULL, NULL, 0, 0};
    PetscCall(PetscMalloc1(bc.nnets * bc.nB * bc.nschemes, &cases));
    rp.cases = cases;
    for (PetscInt in = 0; in < bc.nnets; in++) {
      TnNet  net;
      double h;
      PetscCall(BenchBuildNet(comm, bc.nets[in], BenchCasesSize(&bc, bc.nets[in]), bc.k, &net, NULL));
      PetscCall(BenchChooseH(net, &h, NULL, 0));
      for (PetscInt is = 0; is < bc.nschemes; is++) {
        for (PetscInt ib = 0; ib < bc.nB; ib++) {
          Case *c = &cases[rp.n++];
          PetscCall(RunCase(comm, net, bc.nets[in], bc.B[ib], bc.schemes[is], K, h, bc.reps, c));
          PetscCall(PetscFPrintf(comm, PETSC_STDERR, "%s N=%" PetscInt_FMT " B=%" PetscInt_FMT " %s K=%" PetscInt_FMT ": forward %.4g s, grad none %.4g s (x%.2f), sqrt %.4g s (x%.2f)\n", c->net, c->N, c->B, c->scheme, c->K, c->fwd[0], c->grad[0][0], c->grad[0][0] / c->fwd[0], c->grad[1][0], c->grad[1][0] / c->fwd[0]));
        }
      }
      PetscCall(TnNetDestroy(&net));
    }
    PetscCall(BenchWriteJson(comm, bc.outpath, out, "grad", PrintReport, &rp));
    PetscCall(PetscFree(cases));
  }
  PetscCall(BenchCasesDestroy(&bc));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  return BenchMain(argc, argv, help, Main);
}
