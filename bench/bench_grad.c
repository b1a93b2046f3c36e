/* bench_grad: the cost of the gradient (tenor/grad.h) against the forward
   evaluation it differentiates, and the memory of training.

   1. For each network (-bench_net), batch size (-bench_batch), scheme
      (-bench_scheme): K steps (-bench_steps) of TnDynEvaluate (forward) and
      of TnGradCompute (forward + backward) with checkpointing none and sqrt;
      best and median of -bench_reps timings (max over ranks); the ratio
      (forward + backward) / forward.
   2. -bench_memory: instead, one training configuration (lattice2d
      -bench_memory_n, B = -bench_memory_batch, sync, K steps, checkpointing
      -grad_checkpoint): net, dynamics, gradient engine, and the optimiser's
      vectors: theta, the gradient and Adam's two moments (4 x theta); peak
      RSS summed over ranks per synapse, with the start-up RSS and a
      breakdown of what the program allocates.

   JSON to stdout (rank 0) and to -bench_out FILE; progress to stderr. */
#include <tenor/net.h>
#include <tenor/dyn.h>
#include <tenor/grad.h>
#include <sys/resource.h>
#include <stdlib.h>

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
                           "  -bench_memory_n n        its lattice side (default 1000)\n"
                           "  -bench_memory_batch B    its batch size (default 1)\n";

#define MAXL 8

typedef struct {
  char       net[64], scheme[16];
  PetscInt   N, B, K, reps;
  PetscInt64 nnz;
  double     h, fwd[2], grad[2][2]; /* [best, median]; grad[none, sqrt] */
  double     bytes[2];              /* the gradient engine's storage, none / sqrt */
} Case;

static double PeakRSS(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return 1024.0 * (double)ru.ru_maxrss;
}

static PetscErrorCode RSSSum(MPI_Comm comm, double *sum)
{
  double me = PeakRSS();
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(&me, sum, 1, MPI_DOUBLE, MPI_SUM, comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static int CmpDouble(const void *x, const void *y)
{
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

/* best and median of t[0..n) */
static void BestMedian(double *t, PetscInt n, double out[2])
{
  qsort(t, (size_t)n, sizeof(double), CmpDouble);
  out[0] = t[0];
  out[1] = t[n / 2];
}

static PetscErrorCode BuildNet(MPI_Comm comm, const char type[], PetscInt n, PetscInt k, TnNet *net)
{
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(comm, net));
  PetscCall(TnNetSetType(*net, type));
  PetscCall(TnNetSetSize(*net, n));
  PetscCall(TnNetSetDegree(*net, k));
  PetscCall(TnNetSetFromOptions(*net));
  PetscCall(TnNetSetUp(*net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* h = 0.1, halved until the sync bound h Lip(f) (MODEL.md section 4) < 0.95. */
static PetscErrorCode ChooseH(TnNet net, double *h)
{
  PetscReal hv = 0.1, n1, ninf, gmax;
  Mat       W;
  Vec       gamma;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetMat(net, &W));
  PetscCall(TnNetGetVecs(net, NULL, &gamma, NULL));
  PetscCall(MatNorm(W, NORM_1, &n1));
  PetscCall(MatNorm(W, NORM_INFINITY, &ninf));
  PetscCall(VecMax(gamma, NULL, &gmax));
  while (hv * (gmax + PetscSqrtReal(n1 * ninf)) >= 0.95) hv *= 0.5;
  *h = hv;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode MakeDyn(TnNet net, PetscInt B, TnScheme scheme, PetscInt K, double h, TnDyn *dyn)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynCreate(net, dyn));
  PetscCall(TnDynSetFromOptions(*dyn));
  PetscCall(TnDynSetBatchSize(*dyn, B));
  PetscCall(TnDynSetScheme(*dyn, scheme));
  PetscCall(TnDynSetSteps(*dyn, K));
  PetscCall(TnDynSetStepSize(*dyn, h));
  PetscCall(TnDynSetUp(*dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

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

/* Max over ranks of the wall time of fn. */
#define TIMED(comm, out, call)                                               \
  do {                                                                       \
    double _t0, _el;                                                         \
    PetscCallMPI(MPI_Barrier(comm));                                         \
    _t0 = MPI_Wtime();                                                       \
    PetscCall(call);                                                         \
    _el = MPI_Wtime() - _t0;                                                 \
    PetscCallMPI(MPI_Allreduce(&_el, &(out), 1, MPI_DOUBLE, MPI_MAX, comm)); \
  } while (0)

static PetscErrorCode RunCase(MPI_Comm comm, TnNet net, const char name[], PetscInt B, TnScheme scheme, PetscInt K, double h, PetscInt reps, Case *c)
{
  TnDyn       dyn;
  TnDynResult res;
  Vec         x0, x, grad;
  double     *t;
  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(c->net, name, sizeof(c->net)));
  PetscCall(PetscStrncpy(c->scheme, TnSchemeTypes[scheme], sizeof(c->scheme)));
  PetscCall(TnNetGetSizes(net, &c->N, &c->nnz));
  c->B = B, c->K = K, c->h = h, c->reps = reps;
  PetscCall(MakeDyn(net, B, scheme, K, h, &dyn));
  PetscCall(TnDynCreateState(dyn, &x0));
  PetscCall(VecDuplicate(x0, &x));
  PetscCall(RandomState(x0));
  PetscCall(TnDynResultCreate(dyn, &res));
  PetscCall(PetscMalloc1(reps, &t));
  for (PetscInt r = 0; r < reps; r++) {
    PetscCall(VecCopy(x0, x));
    TIMED(comm, t[r], TnDynEvaluate(dyn, x, &res));
  }
  BestMedian(t, reps, c->fwd);
  for (int ck = 0; ck < 2; ck++) {
    TnGrad g;
    PetscCall(TnGradCreate(dyn, &g));
    PetscCall(TnGradSetCheckpoint(g, ck ? TN_GRAD_CKPT_SQRT : TN_GRAD_CKPT_NONE));
    PetscCall(TnGradCreateParamVec(g, &grad));
    PetscCall(TnGradGetCheckpoint(g, NULL, NULL, NULL, &c->bytes[ck]));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &c->bytes[ck], 1, MPI_DOUBLE, MPI_SUM, comm));
    for (PetscInt r = 0; r < reps; r++) TIMED(comm, t[r], TnGradCompute(g, x0, &res, grad));
    BestMedian(t, reps, c->grad[ck]);
    PetscCall(VecDestroy(&grad));
    PetscCall(TnGradDestroy(&g));
  }
  PetscCall(PetscFree(t));
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&x0));
  PetscCall(TnDynDestroy(&dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void PrintCase(FILE *fp, const Case *c, PetscBool last)
{
  fprintf(fp, "    {\"net\": \"%s\", \"N\": %" PetscInt_FMT ", \"nnz\": %" PetscInt64_FMT ", \"B\": %" PetscInt_FMT ", \"scheme\": \"%s\", \"K\": %" PetscInt_FMT ", \"h\": %g, \"reps\": %" PetscInt_FMT ",\n", c->net, c->N, c->nnz, c->B, c->scheme, c->K, c->h, c->reps);
  fprintf(fp, "     \"forward_s\": {\"best\": %.5g, \"median\": %.5g},\n", c->fwd[0], c->fwd[1]);
  fprintf(fp, "     \"grad_none_s\": {\"best\": %.5g, \"median\": %.5g}, \"grad_sqrt_s\": {\"best\": %.5g, \"median\": %.5g},\n", c->grad[0][0], c->grad[0][1], c->grad[1][0], c->grad[1][1]);
  fprintf(fp, "     \"ratio_none\": %.3f, \"ratio_sqrt\": %.3f, \"goal_ratio\": 2.5,\n", c->grad[0][0] / c->fwd[0], c->grad[1][0] / c->fwd[0]);
  fprintf(fp, "     \"grad_storage_bytes\": {\"none\": %.6g, \"sqrt\": %.6g}}%s\n", c->bytes[0], c->bytes[1], last ? "" : ",");
}

/* Training memory: net + dynamics + gradient engine + theta, gradient and
   Adam's two moments, after one gradient evaluation. */
static PetscErrorCode MemoryCase(MPI_Comm comm, FILE *out[2], PetscInt n, PetscInt B, PetscInt K)
{
  TnNet            net;
  TnDyn            dyn;
  TnGrad           g;
  Vec              x, v[4];
  TnDynResult      res;
  TnGradCheckpoint used;
  PetscInt         N, seg, nst, ntheta;
  PetscInt64       nnz;
  PetscLogDouble   gbytes;
  double           r0, r1, r2, r3, h;
  PetscMPIInt      size;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(RSSSum(comm, &r0));
  PetscCall(BuildNet(comm, TNNET_LATTICE2D, n, 0, &net));
  PetscCall(TnNetGetSizes(net, &N, &nnz));
  PetscCall(ChooseH(net, &h));
  PetscCall(RSSSum(comm, &r1));
  PetscCall(MakeDyn(net, B, TN_SCHEME_SYNC, K, h, &dyn));
  PetscCall(TnGradCreate(dyn, &g));
  PetscCall(TnGradSetFromOptions(g));
  PetscCall(TnDynCreateState(dyn, &x));
  PetscCall(RandomState(x));
  for (int q = 0; q < 4; q++) PetscCall(TnGradCreateParamVec(g, &v[q])); /* theta, gradient, Adam m, v */
  PetscCall(TnGradGetParams(g, v[0]));
  for (int q = 1; q < 4; q++) PetscCall(VecSet(v[q], 0.0));
  PetscCall(RSSSum(comm, &r2));
  PetscCall(TnDynResultCreate(dyn, &res));
  PetscCall(TnGradCompute(g, x, &res, v[1]));
  PetscCall(RSSSum(comm, &r3));
  PetscCall(TnGradGetCheckpoint(g, &used, &seg, &nst, &gbytes));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &gbytes, 1, MPI_DOUBLE, MPI_SUM, comm));
  PetscCall(VecGetSize(v[0], &ntheta));
  for (int f = 0; f < 2; f++) {
    FILE *fp = out[f];
    if (!fp) continue;
    fprintf(fp, "{\n  \"bench\": \"grad_memory\",\n  \"ranks\": %d,\n  \"net\": \"lattice2d\", \"N\": %" PetscInt_FMT ", \"nnz\": %" PetscInt64_FMT ", \"B\": %" PetscInt_FMT ", \"scheme\": \"sync\", \"K\": %" PetscInt_FMT ", \"h\": %g,\n", size, N, nnz, B, K, h);
    fprintf(fp, "  \"checkpoint\": \"%s\", \"segment\": %" PetscInt_FMT ", \"states_stored\": %" PetscInt_FMT ", \"theta_size\": %" PetscInt_FMT ",\n", TnGradCheckpointTypes[used], seg, nst, ntheta);
    fprintf(fp, "  \"peak_rss_sum_bytes\": {\"start\": %.6g, \"after_net\": %.6g, \"after_optimizer_vectors\": %.6g, \"after_gradient\": %.6g},\n", r0, r1, r2, r3);
    fprintf(fp, "  \"bytes_per_synapse\": %.4g,\n  \"bytes_per_synapse_above_start\": %.4g,\n  \"goal_bytes_per_synapse\": 40,\n", r3 / (double)nnz, (r3 - r0) / (double)nnz);
    fprintf(fp, "  \"allocated_per_synapse\": {\"theta_grad_adam_m_v\": %.4g, \"gradient_engine_states_and_work\": %.4g, \"W_csr_values_cols\": %.4g},\n", 4.0 * 8 * ntheta / (double)nnz, gbytes / (double)nnz, 12.0);
    fprintf(fp, "  \"note\": \"peak RSS = getrusage ru_maxrss summed over ranks; 'start' is MPI + PETSc before anything is built. theta, the gradient and Adam's m and v are 4 Vecs of theta's size (nnz + 2N)\"\n}\n");
  }
  PetscCall(TnDynResultDestroy(&res));
  for (int q = 0; q < 4; q++) PetscCall(VecDestroy(&v[q]));
  PetscCall(VecDestroy(&x));
  PetscCall(TnGradDestroy(&g));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Main(MPI_Comm comm)
{
  char        outpath[PETSC_MAX_PATH_LEN] = "", *nets[MAXL], *schemes[MAXL];
  PetscInt    nnets = MAXL, nsch = MAXL, nB = MAXL, Bs[MAXL] = {1, 16}, ncases = 0;
  PetscInt    lat_n = 1000, er_n = 1000000, k = 32, reps = 3, K = 16, mem_n = 1000, mem_B = 1;
  PetscBool   memory = PETSC_FALSE, set_net, set_sch, set_B;
  PetscMPIInt size, rank;
  FILE       *out[2] = {NULL, NULL};
  Case       *cases;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscOptionsBegin(comm, "bench_", "bench_grad", "bench");
  PetscCall(PetscOptionsString("-out", "JSON output file", "", outpath, outpath, sizeof(outpath), NULL));
  PetscCall(PetscOptionsStringArray("-net", "Networks", "", nets, &nnets, &set_net));
  PetscCall(PetscOptionsInt("-lattice_n", "Lattice side", "", lat_n, &lat_n, NULL));
  PetscCall(PetscOptionsInt("-er_n", "Node count (er)", "", er_n, &er_n, NULL));
  PetscCall(PetscOptionsInt("-k", "In-degree (er)", "", k, &k, NULL));
  PetscCall(PetscOptionsIntArray("-batch", "Batch sizes", "", Bs, &nB, &set_B));
  PetscCall(PetscOptionsStringArray("-scheme", "Schemes", "", schemes, &nsch, &set_sch));
  PetscCall(PetscOptionsInt("-steps", "Steps K", "", K, &K, NULL));
  PetscCall(PetscOptionsInt("-reps", "Timings per case", "", reps, &reps, NULL));
  PetscCall(PetscOptionsBool("-memory", "Only the memory case", "", memory, &memory, NULL));
  PetscCall(PetscOptionsInt("-memory_n", "Lattice side of the memory case", "", mem_n, &mem_n, NULL));
  PetscCall(PetscOptionsInt("-memory_batch", "Batch size of the memory case", "", mem_B, &mem_B, NULL));
  PetscOptionsEnd();
  if (!set_net) {
    nnets = 1;
    PetscCall(PetscStrallocpy(TNNET_LATTICE2D, &nets[0]));
  }
  if (!set_sch) {
    nsch = 1;
    PetscCall(PetscStrallocpy("sync", &schemes[0]));
  }
  if (!set_B) nB = 2;
  PetscCheck(reps >= 1 && K >= 1, comm, PETSC_ERR_USER, "-bench_reps and -bench_steps must be >= 1");
  if (!rank) {
    out[0] = stdout;
    if (outpath[0]) {
      out[1] = fopen(outpath, "w");
      PetscCheck(out[1], PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", outpath);
    }
  }
  if (memory)
    PetscCall(MemoryCase(comm, out, mem_n, mem_B, K));
  else {
    PetscCall(PetscMalloc1(nnets * nB * nsch, &cases));
    for (PetscInt in = 0; in < nnets; in++) {
      TnNet     net;
      PetscBool lat;
      double    h;
      PetscCall(PetscStrcmp(nets[in], TNNET_LATTICE2D, &lat));
      PetscCall(BuildNet(comm, nets[in], lat ? lat_n : er_n, k, &net));
      PetscCall(ChooseH(net, &h));
      for (PetscInt is = 0; is < nsch; is++) {
        PetscBool col;
        PetscCall(PetscStrcmp(schemes[is], "colored", &col));
        for (PetscInt ib = 0; ib < nB; ib++) {
          Case *c = &cases[ncases++];
          PetscCall(RunCase(comm, net, nets[in], Bs[ib], col ? TN_SCHEME_COLORED : TN_SCHEME_SYNC, K, h, reps, c));
          PetscCall(PetscFPrintf(comm, PETSC_STDERR, "%s N=%" PetscInt_FMT " B=%" PetscInt_FMT " %s K=%" PetscInt_FMT ": forward %.4g s, grad none %.4g s (x%.2f), sqrt %.4g s (x%.2f)\n", c->net, c->N, c->B, c->scheme, c->K, c->fwd[0], c->grad[0][0], c->grad[0][0] / c->fwd[0], c->grad[1][0], c->grad[1][0] / c->fwd[0]));
        }
      }
      PetscCall(TnNetDestroy(&net));
    }
    for (int f = 0; f < 2; f++) {
      FILE *fp = out[f];
      if (!fp) continue;
      fprintf(fp, "{\n  \"bench\": \"grad\",\n  \"ranks\": %d,\n  \"note\": \"seconds are max over ranks, best (and median) of reps; ratio = best(forward + backward) / best(forward); none stores all K states, sqrt every ceil(sqrt K)-th and recomputes\",\n  \"cases\": [\n", size);
      for (PetscInt q = 0; q < ncases; q++) PrintCase(fp, &cases[q], (PetscBool)(q == ncases - 1));
      fprintf(fp, "  ]\n}\n");
    }
    PetscCall(PetscFree(cases));
  }
  if (out[1]) fclose(out[1]);
  for (PetscInt q = 0; q < (set_net ? nnets : 1); q++) PetscCall(PetscFree(nets[q]));
  for (PetscInt q = 0; q < (set_sch ? nsch : 1); q++) PetscCall(PetscFree(schemes[q]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  PetscErrorCode ierr = TnInitialize(&argc, &argv, help);
  if (ierr) return 1;
  return TnFinalize(Main(PETSC_COMM_WORLD));
}
