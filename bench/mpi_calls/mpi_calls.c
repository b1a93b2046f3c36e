/* mpi_calls: counts, per rank, the MPI collectives and communicator
   creations a program makes (through the PMPI profiling interface), to tell
   work that grows with the rank count P (more calls, or calls of more data,
   as P grows) from work that does not, and records each rank's resources.
   Loaded before the program:

     mpicc -O2 -shared -fPIC bench/mpi_calls/mpi_calls.c -o mpi_calls.so
     mpirun -n P -x LD_PRELOAD=$PWD/mpi_calls.so -x TN_MPI_CALLS_DIR=DIR tenor ...

   At MPI_Finalize each rank writes DIR/<rank>: a line "span S" (seconds from
   the end of MPI_Init(_thread) to MPI_Finalize), then one line per call that
   was made: name, calls, seconds inside the call (waiting included), and the
   elements the calls sent (count arguments, summed; 0 where the count is a
   per-rank array).

   With TN_MPI_CALLS_RUSAGE_DIR=RDIR, each rank writes RDIR/<rank> on
   entering MPI_Finalize and again when PMPI_Finalize has returned (a file
   renamed into place, so it is whole whenever the rank is killed), with
   the line /usr/bin/time -f "%M %e %U %S" writes: peak resident set size
   in kB (ru_maxrss), wall seconds since the process was created (its start
   time in /proc/self/stat, the clock /usr/bin/time starts at its fork)
   until then, user and system CPU seconds; the resource figures are
   getrusage's of the process and its waited-for children, as wait4 gives
   them to /usr/bin/time. The return from main and the exit are not in it
   (seconds of wall time on a loaded machine, where /usr/bin/time's figure
   also holds its own wait to reap the process). So a rank can be measured
   without a process between it and the launcher (a wrapper such as
   /usr/bin/time forks the rank as its own child), and a rank that the
   launcher kills once it is in MPI_Finalize (as Open MPI 4.1's mpirun does
   to the other ranks when it decides that one "exited improperly") keeps
   its record, from its entry into MPI_Finalize.
   bench/many_ranks.sh uses both. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum {
  ALLREDUCE,
  ALLGATHER,
  ALLGATHERV,
  ALLTOALL,
  ALLTOALLV,
  BCAST,
  SCATTER,
  SCATTERV,
  GATHER,
  GATHERV,
  REDUCE,
  SCAN,
  EXSCAN,
  BARRIER,
  IBARRIER,
  COMM_SPLIT,
  COMM_SPLIT_TYPE,
  COMM_DUP,
  COMM_CREATE,
  NCALLS
};
static const char *names[NCALLS] = {"Allreduce", "Allgather", "Allgatherv", "Alltoall", "Alltoallv", "Bcast", "Scatter", "Scatterv", "Gather", "Gatherv", "Reduce", "Scan", "Exscan", "Barrier", "Ibarrier", "Comm_split", "Comm_split_type", "Comm_dup", "Comm_create"};
static long        calls[NCALLS], elements[NCALLS];
static double      seconds[NCALLS], t_init;

#define COUNT(k, n, call)             \
  do {                                \
    double t0_ = PMPI_Wtime();        \
    int    rc_ = call;                \
    seconds[k] += PMPI_Wtime() - t0_; \
    calls[k]++;                       \
    elements[k] += (n);               \
    return rc_;                       \
  } while (0)

int MPI_Allreduce(const void *s, void *r, int c, MPI_Datatype d, MPI_Op o, MPI_Comm m)
{
  COUNT(ALLREDUCE, c, PMPI_Allreduce(s, r, c, d, o, m));
}
int MPI_Allgather(const void *s, int sc, MPI_Datatype sd, void *r, int rc, MPI_Datatype rd, MPI_Comm m)
{
  COUNT(ALLGATHER, sc, PMPI_Allgather(s, sc, sd, r, rc, rd, m));
}
int MPI_Allgatherv(const void *s, int sc, MPI_Datatype sd, void *r, const int rc[], const int di[], MPI_Datatype rd, MPI_Comm m)
{
  COUNT(ALLGATHERV, sc, PMPI_Allgatherv(s, sc, sd, r, rc, di, rd, m));
}
int MPI_Alltoall(const void *s, int sc, MPI_Datatype sd, void *r, int rc, MPI_Datatype rd, MPI_Comm m)
{
  COUNT(ALLTOALL, sc, PMPI_Alltoall(s, sc, sd, r, rc, rd, m));
}
int MPI_Alltoallv(const void *s, const int sc[], const int sd[], MPI_Datatype st, void *r, const int rc[], const int rd[], MPI_Datatype rt, MPI_Comm m)
{
  COUNT(ALLTOALLV, 0, PMPI_Alltoallv(s, sc, sd, st, r, rc, rd, rt, m));
}
int MPI_Bcast(void *b, int c, MPI_Datatype d, int root, MPI_Comm m)
{
  COUNT(BCAST, c, PMPI_Bcast(b, c, d, root, m));
}
int MPI_Scatter(const void *s, int sc, MPI_Datatype sd, void *r, int rc, MPI_Datatype rd, int root, MPI_Comm m)
{
  COUNT(SCATTER, rc, PMPI_Scatter(s, sc, sd, r, rc, rd, root, m));
}
int MPI_Scatterv(const void *s, const int sc[], const int di[], MPI_Datatype sd, void *r, int rc, MPI_Datatype rd, int root, MPI_Comm m)
{
  COUNT(SCATTERV, rc, PMPI_Scatterv(s, sc, di, sd, r, rc, rd, root, m));
}
int MPI_Gather(const void *s, int sc, MPI_Datatype sd, void *r, int rc, MPI_Datatype rd, int root, MPI_Comm m)
{
  COUNT(GATHER, sc, PMPI_Gather(s, sc, sd, r, rc, rd, root, m));
}
int MPI_Gatherv(const void *s, int sc, MPI_Datatype sd, void *r, const int rc[], const int di[], MPI_Datatype rd, int root, MPI_Comm m)
{
  COUNT(GATHERV, sc, PMPI_Gatherv(s, sc, sd, r, rc, di, rd, root, m));
}
int MPI_Reduce(const void *s, void *r, int c, MPI_Datatype d, MPI_Op o, int root, MPI_Comm m)
{
  COUNT(REDUCE, c, PMPI_Reduce(s, r, c, d, o, root, m));
}
int MPI_Scan(const void *s, void *r, int c, MPI_Datatype d, MPI_Op o, MPI_Comm m)
{
  COUNT(SCAN, c, PMPI_Scan(s, r, c, d, o, m));
}
int MPI_Exscan(const void *s, void *r, int c, MPI_Datatype d, MPI_Op o, MPI_Comm m)
{
  COUNT(EXSCAN, c, PMPI_Exscan(s, r, c, d, o, m));
}
int MPI_Barrier(MPI_Comm m)
{
  COUNT(BARRIER, 0, PMPI_Barrier(m));
}
int MPI_Ibarrier(MPI_Comm m, MPI_Request *q)
{
  COUNT(IBARRIER, 0, PMPI_Ibarrier(m, q));
}
int MPI_Comm_split(MPI_Comm m, int color, int key, MPI_Comm *n)
{
  COUNT(COMM_SPLIT, 0, PMPI_Comm_split(m, color, key, n));
}
int MPI_Comm_split_type(MPI_Comm m, int type, int key, MPI_Info info, MPI_Comm *n)
{
  COUNT(COMM_SPLIT_TYPE, 0, PMPI_Comm_split_type(m, type, key, info, n));
}
int MPI_Comm_dup(MPI_Comm m, MPI_Comm *n)
{
  COUNT(COMM_DUP, 0, PMPI_Comm_dup(m, n));
}
int MPI_Comm_create(MPI_Comm m, MPI_Group g, MPI_Comm *n)
{
  COUNT(COMM_CREATE, 0, PMPI_Comm_create(m, g, n));
}

int MPI_Init(int *argc, char ***argv)
{
  int rc = PMPI_Init(argc, argv);
  t_init = PMPI_Wtime();
  return rc;
}

int MPI_Init_thread(int *argc, char ***argv, int required, int *provided)
{
  int rc = PMPI_Init_thread(argc, argv, required, provided);
  t_init = PMPI_Wtime();
  return rc;
}

/* Seconds since this process was created: now on CLOCK_BOOTTIME minus
   /proc/self/stat's field 22, the start time in clock ticks since boot (the
   same clock); -1 if it cannot be read. Resolution: one tick (10 ms). */
static double ProcessWallSeconds(void)
{
  char               buf[4096], *p;
  size_t             n;
  unsigned long long start;
  struct timespec    now;
  FILE              *fp = fopen("/proc/self/stat", "r");
  if (!fp) return -1;
  n = fread(buf, 1, sizeof(buf) - 1, fp);
  fclose(fp);
  buf[n] = 0;
  p      = strrchr(buf, ')'); /* field 2, the command name, may hold spaces */
  if (!p) return -1;
  /* after ")": field 3 (state) ... field 22 (starttime) */
  if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &start) != 1) return -1;
  if (clock_gettime(CLOCK_BOOTTIME, &now)) return -1;
  return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec - (double)start / (double)sysconf(_SC_CLK_TCK);
}

/* "maxrss_kB wall_s user_s system_s" into TN_MPI_CALLS_RUSAGE_DIR/<rank>:
   ru_maxrss of the process and of its children, the larger (a peak, as
   wait4 reports it); CPU times summed over both. */
static void WriteRusage(int rank)
{
  const char   *dir  = getenv("TN_MPI_CALLS_RUSAGE_DIR");
  double        wall = ProcessWallSeconds();
  struct rusage self, kids;
  char          path[4096], tmp[4096];
  FILE         *fp;
  if (!dir) return;
  if (getrusage(RUSAGE_SELF, &self) || getrusage(RUSAGE_CHILDREN, &kids)) return;
  snprintf(tmp, sizeof(tmp), "%s/.%d.tmp", dir, rank);
  snprintf(path, sizeof(path), "%s/%d", dir, rank);
  fp = fopen(tmp, "w");
  if (!fp) return;
  fprintf(fp, "%ld %.2f %.2f %.2f\n", self.ru_maxrss > kids.ru_maxrss ? self.ru_maxrss : kids.ru_maxrss, wall,
          (double)self.ru_utime.tv_sec + 1e-6 * (double)self.ru_utime.tv_usec + (double)kids.ru_utime.tv_sec + 1e-6 * (double)kids.ru_utime.tv_usec,
          (double)self.ru_stime.tv_sec + 1e-6 * (double)self.ru_stime.tv_usec + (double)kids.ru_stime.tv_sec + 1e-6 * (double)kids.ru_stime.tv_usec);
  if (fclose(fp) == 0) rename(tmp, path);
}

int MPI_Finalize(void)
{
  const char *dir = getenv("TN_MPI_CALLS_DIR");
  int         rank, rc;
  PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (dir) {
    char  path[4096];
    FILE *fp;
    snprintf(path, sizeof(path), "%s/%d", dir, rank);
    fp = fopen(path, "w");
    if (fp) {
      fprintf(fp, "span %.3f\n", PMPI_Wtime() - t_init);
      for (int k = 0; k < NCALLS; k++)
        if (calls[k]) fprintf(fp, "%s %ld %.3f %ld\n", names[k], calls[k], seconds[k], elements[k]);
      fclose(fp);
    }
  }
  WriteRusage(rank); /* kept if the launcher kills the rank in MPI_Finalize */
  rc = PMPI_Finalize();
  WriteRusage(rank);
  return rc;
}
