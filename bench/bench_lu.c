/* bench_lu: the dense log-det method (LU of a whole step Jacobian) against
   the machine's dense rates, measured in the same run.

   1. dgemm C = A B of order -bench_gemm_n on every rank at once (best of
      2 at the start and 2 at the end, max time over ranks): 2 n^3 flops per rank; the aggregate
      GFLOP/s over the ranks is the ceiling an LU on those ranks can approach.
   2. One-process LAPACK dgetrf (rank 0 alone, the others wait) of the dense
      form of each test matrix, N <= -bench_serial_max: (2/3) N^3 flops. Its
      log|det| is the reference value of item 3.
   3. TnLogDet of type dense (ScaLAPACK pdgetrf on the run's ranks; LAPACK on
      one rank) for each N of -bench_n and block size of -bench_nb: seconds
      of the Alltoallv placement and of the factorisation (max over ranks),
      GFLOP/s of the factorisation, the fraction of the aggregate dgemm rate,
      and placement / factorisation.
   The test matrix is a random sparse J = I + 0.3 R/4 with 16 random entries
   per row (an expander, like a random network's step Jacobian).
   JSON goes to stdout (rank 0) and to -bench_out FILE; progress to stderr. */
#include "benchutil.h"
#include <tenor/logdet.h>
#include <petscblaslapack.h>
#include "logdet/dense.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char help[] = "Benchmark of the dense log-det (see the comment at the top of bench_lu.c).\n"
                           "  -bench_out FILE        JSON output file (also printed on stdout)\n"
                           "  -bench_n 2048,4096,8192  matrix orders N\n"
                           "  -bench_nb 64,128       block sizes (one run when on one rank: LAPACK)\n"
                           "  -bench_reps r          timings per case for N < 8192 (best reported)\n"
                           "  -bench_gemm_n n        dgemm order\n"
                           "  -bench_serial_max N    largest N of the one-process dgetrf\n";

#define MAXL 8
#define KROW 16

/* Row i of J: column and value of entry k < KROW (k = KROW: the diagonal). */
static void RowEntry(PetscInt N, PetscInt i, PetscInt k, PetscInt *col, PetscReal *v)
{
  if (k == KROW) {
    *col = i;
    *v   = 1.0;
    return;
  }
  *col = (PetscInt)(TnRandU64(17, (uint64_t)i, (uint64_t)k) % (uint64_t)N);
  *v   = 0.3 / 4.0 * TnRandNormal(18, (uint64_t)i, (uint64_t)k);
}

static PetscErrorCode BuildJ(PetscInt N, Mat *J)
{
  PetscInt rs, re;
  PetscFunctionBeginUser;
  PetscCall(MatCreateAIJ(PETSC_COMM_WORLD, PETSC_DECIDE, PETSC_DECIDE, N, N, KROW + 1, NULL, KROW + 1, NULL, J));
  PetscCall(MatGetOwnershipRange(*J, &rs, &re));
  for (PetscInt i = rs; i < re; i++)
    for (PetscInt k = 0; k <= KROW; k++) {
      PetscInt  c;
      PetscReal v;
      RowEntry(N, i, k, &c, &v);
      PetscCall(MatSetValue(*J, i, c, v, ADD_VALUES));
    }
  PetscCall(MatAssemblyBegin(*J, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*J, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* dgemm of order n on every rank at once: best time, max over ranks. */
static PetscErrorCode Gemm(PetscInt n, PetscInt reps, double *tbest)
{
  PetscScalar *A, *B, *C, one = 1, zero = 0;
  PetscBLASInt bn = (PetscBLASInt)n;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc3(n * n, &A, n * n, &B, n * n, &C));
  for (PetscInt q = 0; q < n * n; q++) {
    A[q] = TnRandUniform(1, 0, q) - 0.5;
    B[q] = TnRandUniform(2, 0, q) - 0.5;
  }
  *tbest = 1e30;
  for (PetscInt r = 0; r < reps; r++) {
    double t0, t;
    PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
    t0 = MPI_Wtime();
    BLASgemm_("N", "N", &bn, &bn, &bn, &one, A, &bn, B, &bn, &zero, C, &bn);
    t = MPI_Wtime() - t0;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD));
    *tbest = PetscMin(*tbest, t);
  }
  PetscCall(PetscFree3(A, B, C));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0 alone: dgetrf of J's dense form; time and log|det| (broadcast). */
static PetscErrorCode SerialLU(PetscInt N, double *t, double *logabs)
{
  PetscMPIInt rank;
  double      out[2] = {0, 0};
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  if (rank == 0) {
    PetscScalar *A;
    PetscBLASInt bn = (PetscBLASInt)N, info, *piv;
    double       t0;
    PetscCall(PetscCalloc1((size_t)N * N, &A));
    PetscCall(PetscMalloc1(N, &piv));
    for (PetscInt i = 0; i < N; i++)
      for (PetscInt k = 0; k <= KROW; k++) {
        PetscInt  c;
        PetscReal v;
        RowEntry(N, i, k, &c, &v);
        A[(size_t)c * N + i] += v;
      }
    t0 = MPI_Wtime();
    LAPACKgetrf_(&bn, &bn, A, &bn, piv, &info);
    out[0] = MPI_Wtime() - t0;
    PetscCheck(info >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dgetrf info %d", (int)info);
    for (PetscInt i = 0; i < N; i++) out[1] += log(fabs(A[(size_t)i * N + i]));
    PetscCall(PetscFree(piv));
    PetscCall(PetscFree(A));
  }
  PetscCallMPI(MPI_Bcast(out, 2, MPI_DOUBLE, 0, PETSC_COMM_WORLD));
  *t      = out[0];
  *logabs = out[1];
  PetscFunctionReturn(PETSC_SUCCESS);
}

typedef struct {
  PetscInt N, nb, reps;
  double   t_total, t_place, t_factor, logabs, serial_t, serial_logabs;
} Case;

/* The dense TnLogDet on J: best of reps by factorisation time. */
static PetscErrorCode DenseLU(Mat J, PetscInt nb, Case *c)
{
  TnLogDet ld;
  char     s[32];
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(s, sizeof(s), "%" PetscInt_FMT, nb));
  PetscCall(PetscOptionsSetValue(NULL, "-logdet_dense_nb", s));
  PetscCall(TnLogDetCreate(PETSC_COMM_WORLD, TN_LOGDET_DENSE, &ld));
  PetscCall(TnLogDetSetFromOptions(ld));
  c->t_factor = 1e30;
  for (PetscInt r = 0; r < c->reps; r++) {
    TnLogDetResult res;
    double         tp, tf;
    PetscCall(TnLogDetCompute(ld, J, &res));
    PetscCall(TnLogDetDenseGetTimes(ld, &tp, &tf));
    if (tf < c->t_factor) {
      c->t_factor = tf;
      c->t_place  = tp;
      c->t_total  = res.seconds;
      c->logabs   = res.logabs;
    }
  }
  PetscCall(TnLogDetDestroy(&ld));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* 1-minute load average of the machine (others' jobs make timings noisy). */
static double LoadAvg(void)
{
  double l  = -1;
  FILE  *fp = fopen("/proc/loadavg", "r");
  if (fp) {
    if (fscanf(fp, "%lf", &l) != 1) l = -1;
    fclose(fp);
  }
  return l;
}

static void BlasName(char *name, size_t len)
{
  char buf[PATH_MAX];
  if (realpath("/etc/alternatives/libblas.so.3-x86_64-linux-gnu", buf))
    snprintf(name, len, "%s", buf);
  else
    snprintf(name, len, "unknown");
}

static PetscErrorCode Report(FILE *fp, PetscMPIInt size, PetscInt gn, double tg, const Case *cs, PetscInt nc, const double load[2])
{
  char   blas[PATH_MAX];
  double gemm = size * 2.0 * gn * gn * (double)gn / tg / 1e9;
  PetscFunctionBeginUser;
  BlasName(blas, sizeof(blas));
  fprintf(fp, "{\n  \"ranks\": %d, \"blas\": \"%s\", \"loadavg_start_end\": [%.2f, %.2f],\n", size, blas, load[0], load[1]);
  fprintf(fp, "  \"dgemm\": {\"n\": %" PetscInt_FMT ", \"seconds\": %.4g, \"GFLOPs_per_rank\": %.4g, \"GFLOPs_all_ranks\": %.4g},\n", gn, tg, gemm / size, gemm);
  fprintf(fp, "  \"cases\": [\n");
  for (PetscInt k = 0; k < nc; k++) {
    const Case *c  = &cs[k];
    double      fl = 2.0 / 3.0 * c->N * (double)c->N * (double)c->N, rate = fl / c->t_factor / 1e9;
    fprintf(fp, "    {\"N\": %" PetscInt_FMT ", \"nb\": %" PetscInt_FMT ", \"reps\": %" PetscInt_FMT ", \"seconds_total\": %.4g, \"seconds_place\": %.4g, \"seconds_factor\": %.4g, \"GFLOPs_factor\": %.4g, \"fraction_of_dgemm\": %.3f, \"place_over_factor\": %.4f, \"logabs\": %.15g", c->N, c->nb, c->reps, c->t_total, c->t_place, c->t_factor, rate, rate / gemm, c->t_place / c->t_factor, c->logabs);
    if (c->serial_t > 0) fprintf(fp, ", \"serial_dgetrf_seconds\": %.4g, \"serial_dgetrf_GFLOPs\": %.4g, \"speedup_vs_serial\": %.3f, \"logabs_rel_diff_vs_serial\": %.3g", c->serial_t, fl / c->serial_t / 1e9, c->serial_t / c->t_factor, fabs(c->logabs - c->serial_logabs) / fmax(1.0, fabs(c->serial_logabs)));
    fprintf(fp, "}%s\n", k + 1 < nc ? "," : "");
  }
  fprintf(fp, "  ]\n}\n");
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Run(MPI_Comm comm)
{
  PetscInt    ns[MAXL] = {2048, 4096, 8192}, nbs[MAXL] = {64, 128}, nn = 3, nnb = 2, reps = 2, gn = 4096, smax = 8192, nc = 0;
  char        outpath[PETSC_MAX_PATH_LEN] = "";
  Case        cs[MAXL * MAXL];
  double      tg = 0, load[2];
  PetscMPIInt rank, size;
  PetscBool   set;
  FILE       *fo[2];
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  nn = MAXL;
  PetscCall(PetscOptionsGetIntArray(NULL, NULL, "-bench_n", ns, &nn, &set));
  if (!set) nn = 3;
  nnb = MAXL;
  PetscCall(PetscOptionsGetIntArray(NULL, NULL, "-bench_nb", nbs, &nnb, &set));
  if (!set) nnb = 2;
  if (size == 1) nnb = 1; /* LAPACK: no block-cyclic layout */
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-bench_reps", &reps, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-bench_gemm_n", &gn, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-bench_serial_max", &smax, NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-bench_out", outpath, sizeof(outpath), NULL));
  PetscCall(BenchOutputsOpen(comm, outpath, fo));
  if (!rank) fprintf(stderr, "dgemm n = %" PetscInt_FMT " on %d rank(s)\n", gn, size);
  load[0] = LoadAvg();
  PetscCall(Gemm(gn, 2, &tg));
  for (PetscInt i = 0; i < nn; i++) {
    Mat    J;
    double st = 0, sl = 0;
    if (ns[i] <= smax) {
      if (!rank) fprintf(stderr, "serial dgetrf N = %" PetscInt_FMT "\n", ns[i]);
      PetscCall(SerialLU(ns[i], &st, &sl));
    }
    PetscCall(BuildJ(ns[i], &J));
    for (PetscInt b = 0; b < nnb; b++) {
      Case *c = &cs[nc++];
      PetscCall(PetscMemzero(c, sizeof(*c)));
      c->N             = ns[i];
      c->nb            = nbs[b];
      c->reps          = ns[i] >= 8192 ? 1 : reps;
      c->serial_t      = st;
      c->serial_logabs = sl;
      if (!rank) fprintf(stderr, "dense log-det N = %" PetscInt_FMT ", nb = %" PetscInt_FMT "\n", c->N, c->nb);
      PetscCall(DenseLU(J, c->nb, c));
    }
    PetscCall(MatDestroy(&J));
  }
  { /* dgemm again at the end: the best of both, as the machine is shared */
    double t2 = 0;
    PetscCall(Gemm(gn, 2, &t2));
    tg      = PetscMin(tg, t2);
    load[1] = LoadAvg();
  }
  for (int f = 0; f < 2; f++)
    if (fo[f]) PetscCall(Report(fo[f], size, gn, tg, cs, nc, load));
  PetscCall(BenchOutputsClose(comm, outpath, fo));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  return BenchMain(argc, argv, help, Run);
}
