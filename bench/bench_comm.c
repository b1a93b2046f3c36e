/* bench_comm: the two message costs of the cost model (docs/scaling.md),
   measured on this machine and in the same run.

   1. Ping-pong between ranks 0 and 1 (the other ranks wait): for each message
      size s (-bench_sizes, bytes) the best over -bench_reps timings of the
      mean half round trip t(s) over enough round trips to last
      -bench_min_time seconds. A least-squares fit of t(s) = alpha + s/beta
      over all sizes gives the latency alpha and the bandwidth beta; the
      JSON also gives t(8 B) and s/t(s) at the largest size.
   2. Neighbour exchange, as the halo exchange of a step does it: every rank
      posts d receives and d sends of s bytes (Irecv, Isend, Waitall) to the
      ranks r +- 1, r +- 2, ... (a ring, d <= P - 1), for d in -bench_degrees
      and s in -bench_halo_sizes; seconds per exchange (max over ranks, best of
      reps) beside the model's d alpha + d s / beta, to show how far
      concurrent messages depart from independent ping-pongs.

   JSON goes to stdout (rank 0) and to -bench_out FILE; progress to stderr.
   Needs 2 ranks or more. */
#include "benchutil.h"
#include <stdlib.h>
#include <string.h>

static const char help[] = "MPI ping-pong and neighbour-exchange benchmark (see bench/README.md).\n"
                           "  -bench_out FILE             JSON output file (also printed on stdout)\n"
                           "  -bench_sizes s1,s2,...      ping-pong message sizes in bytes\n"
                           "  -bench_degrees d1,d2,...    neighbour counts of the exchange\n"
                           "  -bench_halo_sizes s1,...    bytes per neighbour message\n"
                           "  -bench_min_time t           seconds per timing (repetitions chosen to reach it)\n"
                           "  -bench_reps r               timings per case (best reported)\n";

#define MAXL 32

/* Mean seconds per half round trip over n round trips of s bytes between
   ranks 0 and 1; the same value on every rank. */
static PetscErrorCode PingPong(MPI_Comm comm, char *buf, PetscInt64 s, PetscInt64 n, double *t)
{
  PetscMPIInt rank;
  double      t0, dt;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Barrier(comm));
  t0 = MPI_Wtime();
  for (PetscInt64 i = 0; i < n; i++) {
    if (rank == 0) {
      PetscCallMPI(MPI_Send(buf, (int)s, MPI_BYTE, 1, 0, comm));
      PetscCallMPI(MPI_Recv(buf, (int)s, MPI_BYTE, 1, 0, comm, MPI_STATUS_IGNORE));
    } else if (rank == 1) {
      PetscCallMPI(MPI_Recv(buf, (int)s, MPI_BYTE, 0, 0, comm, MPI_STATUS_IGNORE));
      PetscCallMPI(MPI_Send(buf, (int)s, MPI_BYTE, 0, 0, comm));
    }
  }
  dt = (MPI_Wtime() - t0) / (2.0 * (double)n);
  PetscCallMPI(MPI_Bcast(&dt, 1, MPI_DOUBLE, 0, comm));
  *t = dt;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Max over ranks of the mean seconds per exchange over n exchanges with the
   d ring neighbours r+1, r-1, r+2, r-2, ... (s bytes each way each). */
static PetscErrorCode Exchange(MPI_Comm comm, char *sbuf, char *rbuf, PetscInt d, PetscInt64 s, PetscInt64 n, double *t)
{
  PetscMPIInt  rank, size, peer[2 * MAXL];
  MPI_Request *req;
  double       t0, dt;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  for (PetscInt q = 0; q < d; q++) {
    PetscInt k = q / 2 + 1; /* r+1, r-1, r+2, r-2, ...: d distinct peers when d <= size - 1 */
    /* receive from the rank that sends to us in the mirrored direction */
    peer[2 * q]     = (PetscMPIInt)((rank + (q % 2 ? -k : k) + (PetscInt)size * (k + 1)) % size); /* send to */
    peer[2 * q + 1] = (PetscMPIInt)((rank - (q % 2 ? -k : k) + (PetscInt)size * (k + 1)) % size); /* receive from */
  }
  PetscCall(PetscMalloc1(2 * d, &req));
  PetscCallMPI(MPI_Barrier(comm));
  t0 = MPI_Wtime();
  for (PetscInt64 i = 0; i < n; i++) {
    for (PetscInt q = 0; q < d; q++) PetscCallMPI(MPI_Irecv(rbuf + q * s, (int)s, MPI_BYTE, peer[2 * q + 1], (int)q, comm, &req[q]));
    for (PetscInt q = 0; q < d; q++) PetscCallMPI(MPI_Isend(sbuf + q * s, (int)s, MPI_BYTE, peer[2 * q], (int)q, comm, &req[d + q]));
    PetscCallMPI(MPI_Waitall((int)(2 * d), req, MPI_STATUSES_IGNORE));
  }
  dt = (MPI_Wtime() - t0) / (double)n;
  PetscCall(PetscFree(req));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &dt, 1, MPI_DOUBLE, MPI_MAX, comm));
  *t = dt;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Repetition count so that one timing lasts about tmin: from a 1-repetition
   probe, doubled until it takes >= tmin / 4, then scaled. Same on all ranks. */
typedef PetscErrorCode (*TimeFn)(void *ctx, PetscInt64 n, double *t);

static PetscErrorCode Calibrated(TimeFn fn, void *ctx, double tmin, PetscInt reps, double *best)
{
  PetscInt64 n = 1;
  double     t;
  PetscFunctionBeginUser;
  for (;;) {
    PetscCall(fn(ctx, n, &t));
    if (t * (double)n >= tmin / 4 || n >= ((PetscInt64)1 << 30)) break;
    n *= 2;
  }
  n     = (PetscInt64)(tmin / PetscMax(t, 1e-9)) + 1;
  *best = PETSC_MAX_REAL;
  for (PetscInt r = 0; r < reps; r++) {
    PetscCall(fn(ctx, n, &t));
    *best = PetscMin(*best, t);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

typedef struct {
  MPI_Comm   comm;
  char      *sbuf, *rbuf;
  PetscInt64 s;
  PetscInt   d;
} Ctx;

static PetscErrorCode PingPongFn(void *vctx, PetscInt64 n, double *t)
{
  Ctx *c = (Ctx *)vctx;
  return PingPong(c->comm, c->sbuf, c->s, n, t);
}

static PetscErrorCode ExchangeFn(void *vctx, PetscInt64 n, double *t)
{
  Ctx *c = (Ctx *)vctx;
  return Exchange(c->comm, c->sbuf, c->rbuf, c->d, c->s, n, t);
}

static PetscErrorCode GetList(const char name[], PetscInt def[], PetscInt ndef, PetscInt list[], PetscInt *n, PetscInt lo, PetscInt hi)
{
  PetscInt  m = MAXL;
  PetscBool set;
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetIntArray(NULL, NULL, name, list, &m, &set));
  if (!set) {
    for (PetscInt i = 0; i < ndef; i++) list[i] = def[i];
    m = ndef;
  }
  PetscCheck(m > 0, PETSC_COMM_WORLD, PETSC_ERR_USER, "%s: give at least one value", name);
  for (PetscInt i = 0; i < m; i++) PetscCheck(list[i] >= lo && list[i] <= hi, PETSC_COMM_WORLD, PETSC_ERR_USER, "%s: %" PetscInt_FMT " is outside [%" PetscInt_FMT ", %" PetscInt_FMT "]", name, list[i], lo, hi);
  *n = m;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The document (after "ranks"): the ping-pong times tp of the sizes, the
   fit, the exchange times tx[degree][halo size] (< 0: not measured). */
typedef struct {
  double          tmin;
  PetscInt        reps;
  const PetscInt *sizes;
  const double   *tp;
  PetscInt        ns;
  const PetscInt *degs;
  PetscInt        nd;
  const PetscInt *hsizes;
  PetscInt        nh;
  double (*tx)[MAXL];
  double alpha, beta;
} Report;

static void PrintReport(FILE *f, const void *ctx)
{
  const Report *r     = (const Report *)ctx;
  PetscBool     first = PETSC_TRUE;
  fprintf(f, "  \"min_time_s\": %g, \"reps\": %d,\n", r->tmin, (int)r->reps);
  fprintf(f, "  \"pingpong\": [\n");
  for (PetscInt i = 0; i < r->ns; i++) fprintf(f, "    {\"bytes\": %d, \"one_way_s\": %.6g, \"GBps\": %.6g}%s\n", (int)r->sizes[i], r->tp[i], (double)r->sizes[i] / r->tp[i] / 1e9, i + 1 < r->ns ? "," : "");
  fprintf(f, "  ],\n  \"latency_s\": %.6g,\n  \"bandwidth_Bps\": %.6g,\n", r->alpha, r->beta);
  fprintf(f, "  \"fit\": \"one_way_s = latency_s + bytes / bandwidth_Bps, least squares over the ping-pong sizes (latency_s = the smallest message's time when the intercept is not in (0, that time])\",\n");
  fprintf(f, "  \"exchange\": [\n");
  for (PetscInt i = 0; i < r->nd; i++)
    for (PetscInt j = 0; j < r->nh; j++) {
      if (r->tx[i][j] < 0) continue;
      fprintf(f, "%s    {\"neighbours\": %d, \"bytes\": %d, \"s\": %.6g, \"model_s\": %.6g}", first ? "" : ",\n", (int)r->degs[i], (int)r->hsizes[j], r->tx[i][j], r->degs[i] * (r->alpha + r->hsizes[j] / r->beta));
      first = PETSC_FALSE;
    }
  fprintf(f, "\n  ],\n  \"exchange_note\": \"every rank sends and receives one message of bytes to and from each of neighbours ring peers (Irecv, Isend, Waitall); s is the max over ranks of the mean time per exchange, best of reps; model_s = neighbours * (latency_s + bytes / bandwidth_Bps)\"\n");
}

static PetscErrorCode Run(MPI_Comm comm)
{
  PetscMPIInt size;
  PetscInt    sizes[MAXL], degs[MAXL], hsizes[MAXL], ns = 0, nd = 0, nh = 0, reps = 5;
  PetscInt    defs[] = {8, 64, 512, 4096, 32768, 262144, 2097152, 16777216}, defd[] = {1, 2, 4, 8}, defh[] = {8, 4096, 262144};
  double      tmin                    = 0.2, tp[MAXL], tx[MAXL][MAXL], alpha, beta;
  char        out[PETSC_MAX_PATH_LEN] = "";
  PetscBool   set;
  PetscInt64  maxbuf = 0;
  Ctx         c;
  FILE       *fo[2];
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCheck(size >= 2, comm, PETSC_ERR_USER, "bench_comm needs at least 2 ranks (mpirun -n 2)");
  PetscCall(GetList("-bench_sizes", defs, 8, sizes, &ns, 1, 1 << 30));
  PetscCall(GetList("-bench_degrees", defd, 4, degs, &nd, 1, MAXL));
  PetscCall(GetList("-bench_halo_sizes", defh, 3, hsizes, &nh, 1, 1 << 26));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-bench_min_time", &tmin, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-bench_reps", &reps, NULL));
  PetscCheck(tmin > 0 && tmin < 3600 && reps >= 1 && reps <= 1000, comm, PETSC_ERR_USER, "-bench_min_time must be in (0, 3600) and -bench_reps in [1, 1000]");
  PetscCall(PetscOptionsGetString(NULL, NULL, "-bench_out", out, sizeof(out), &set));
  PetscCall(BenchOutputsOpen(comm, out, fo));
  for (PetscInt i = 0; i < ns; i++) maxbuf = PetscMax(maxbuf, sizes[i]);
  for (PetscInt i = 0; i < nd; i++)
    for (PetscInt j = 0; j < nh; j++) maxbuf = PetscMax(maxbuf, (PetscInt64)degs[i] * hsizes[j]);
  PetscCall(TnCheckMemory(comm, 2 * maxbuf, "the message buffers", "lower -bench_sizes or -bench_halo_sizes"));
  c.comm = comm;
  PetscCall(PetscCalloc1(maxbuf, &c.sbuf));
  PetscCall(PetscCalloc1(maxbuf, &c.rbuf));

  /* 1. ping-pong, and the least-squares fit t = alpha + s / beta */
  {
    double sx = 0, sy = 0, sxx = 0, sxy = 0, slope;
    for (PetscInt i = 0; i < ns; i++) {
      c.s = sizes[i];
      PetscCall(Calibrated(PingPongFn, &c, tmin, reps, &tp[i]));
      PetscCall(PetscFPrintf(comm, PETSC_STDERR, "  ping-pong %10" PetscInt_FMT " B: %.3g s one way, %.3g GB/s\n", sizes[i], tp[i], (double)sizes[i] / tp[i] / 1e9));
      sx += (double)sizes[i];
      sy += tp[i];
      sxx += (double)sizes[i] * (double)sizes[i];
      sxy += (double)sizes[i] * tp[i];
    }
    slope = ns > 1 ? (ns * sxy - sx * sy) / (ns * sxx - sx * sx) : 0;
    alpha = (sy - slope * sx) / ns;
    beta  = slope > 0 ? 1 / slope : PETSC_MAX_REAL;
    /* the fit weighs the large sizes; the latency is better read off the
       smallest message when the intercept comes out below it or negative */
    if (alpha <= 0 || alpha > tp[0]) alpha = tp[0];
  }
  /* 2. neighbour exchange */
  for (PetscInt i = 0; i < nd; i++)
    for (PetscInt j = 0; j < nh; j++) {
      tx[i][j] = -1;
      if (degs[i] > size - 1) continue;
      c.d = degs[i];
      c.s = hsizes[j];
      PetscCall(Calibrated(ExchangeFn, &c, tmin, reps, &tx[i][j]));
      PetscCall(PetscFPrintf(comm, PETSC_STDERR, "  exchange d=%" PetscInt_FMT " %9" PetscInt_FMT " B: %.3g s (model %.3g s)\n", degs[i], hsizes[j], tx[i][j], degs[i] * (alpha + hsizes[j] / beta)));
    }
  PetscCall(PetscFree(c.sbuf));
  PetscCall(PetscFree(c.rbuf));

  {
    Report rp = {tmin, reps, sizes, tp, ns, degs, nd, hsizes, nh, tx, alpha, beta};
    PetscCall(BenchWriteJson(comm, out, fo, "comm", PrintReport, &rp));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  return BenchMain(argc, argv, help, Run);
}
