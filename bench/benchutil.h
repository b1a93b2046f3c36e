/* The parts every benchmark shares (bench/benchutil.c): the start-up, the
   JSON outputs (stdout on rank 0 and -bench_out FILE) and the document
   written to them, the case list of the step benchmarks (networks x
   schemes x batch sizes), the STREAM triad, best and median of a series of
   timings, the net, step size and dynamics of a case and its random start
   state. */
#ifndef TN_BENCHUTIL_H
#define TN_BENCHUTIL_H

#include <tenor/net.h>
#include <tenor/dyn.h>
#include <stdio.h>

#define BENCH_MAXL 8 /* most values of a list option */

/* main(): TnInitialize with help; with -help, help printed on rank 0 and
   nothing run; else -tn_progress_every 0 unless given (stdout holds the
   JSON only) and run(PETSC_COMM_WORLD); TnFinalize. */
int BenchMain(int argc, char **argv, const char help[], PetscErrorCode (*run)(MPI_Comm));

/* The JSON outputs. Collective. Called once the benchmark has read all its
   own options and before any work: a -bench_ option nothing read (a typo)
   is refused. out[0] = stdout on rank 0; out[1] = path
   (when path is not empty), written by rank 0 to a temporary that
   BenchOutputsClose renames over path (TnCommitOpen/Close: a symbolic link
   at path is refused, an older file is replaced only by a complete one).
   NULL elsewhere. Write to every non-NULL out[f]. */
PetscErrorCode BenchOutputsOpen(MPI_Comm comm, const char path[], FILE *out[2]);
PetscErrorCode BenchOutputsClose(MPI_Comm comm, const char path[], FILE *out[2]);

/* The JSON document of a benchmark, {"bench": name, "ranks": the size of
   comm, then the members body(fp, ctx) prints: whole lines, the last
   without a comma}, to every output of out (BenchOutputsOpen); then
   BenchOutputsClose. Collective. */
typedef void (*BenchJsonBody)(FILE *fp, const void *ctx);
PetscErrorCode BenchWriteJson(MPI_Comm comm, const char path[], FILE *out[2], const char name[], BenchJsonBody body, const void *ctx);

/* The cases of a step benchmark: -bench_out, -bench_net, -bench_lattice_n,
   -bench_er_n, -bench_k, -bench_batch, -bench_scheme, -bench_reps.
   BenchCasesSetDefaults before PetscOptionsBegin (nets and schemes: comma
   lists), BenchCasesOptions inside it, BenchCasesSetUp after it (the
   defaults of the lists not given; -dyn_scheme refused: the schemes are
   -bench_scheme's); BenchCasesDestroy frees the lists. */
typedef struct {
  char     outpath[PETSC_MAX_PATH_LEN];
  char    *nets[BENCH_MAXL], *schemes[BENCH_MAXL];
  PetscInt nnets, nschemes, nB, B[BENCH_MAXL];
  PetscInt lattice_n, er_n, k, reps;
  /* private */
  char      def_nets[64], def_schemes[64];
  PetscBool set_net, set_scheme, set_B;
} BenchCases;

PetscErrorCode BenchCasesSetDefaults(BenchCases *bc, const char nets[], const char schemes[], PetscInt reps);
PetscErrorCode BenchCasesOptions(PetscOptionItems *PetscOptionsObject, BenchCases *bc);
PetscErrorCode BenchCasesSetUp(BenchCases *bc);
PetscErrorCode BenchCasesDestroy(BenchCases *bc);
/* The size of network type net in the case list: lattice_n for lattice2d,
   er_n for the others. */
PetscInt BenchCasesSize(const BenchCases *bc, const char net[]);

/* best = out[0] and median = out[1] of t[0..n); sorts t. */
void BenchBestMedian(double *t, PetscInt n, double out[2]);

/* Max over ranks of the wall time of call (a PetscErrorCode expression),
   after a barrier. */
#define BENCH_TIMED(comm, out, call)                                         \
  do {                                                                       \
    double _t0, _el;                                                         \
    PetscCallMPI(MPI_Barrier(comm));                                         \
    _t0 = MPI_Wtime();                                                       \
    PetscCall(call);                                                         \
    _el = MPI_Wtime() - _t0;                                                 \
    PetscCallMPI(MPI_Allreduce(&_el, &(out), 1, MPI_DOUBLE, MPI_MAX, comm)); \
  } while (0)

/* STREAM triad a = b + s c on every rank at once, arrays of mb MB per rank:
   n doubles per array and rank, best and median of reps timings (each the
   max over ranks), GBps = 3 * 8 n * ranks / best (as STREAM counts).
   Progress on stderr. */
typedef struct {
  PetscInt mb, reps;
  double   n, best, median, GBps;
} BenchTriad;

PetscErrorCode BenchTriadRun(MPI_Comm comm, PetscInt mb, PetscInt reps, BenchTriad *t);
/* "triad": {n_per_rank, array_MB, reps, best_s, median_s, GBps, and with
   detail GBps_with_write_allocate (4 * 8 n per rank) and a note}, followed
   by ",\n". */
/* reps more timings of the triad t was run with (BenchTriadRun), quietly:
   GBps = that round's bandwidth (its best timing); t's best and GBps become
   the round's where it was faster (the best over the whole run), and its
   reps count the round's (its median stays the first run's). */
PetscErrorCode BenchTriadAgain(MPI_Comm comm, PetscInt reps, BenchTriad *t, double *GBps);
void           BenchTriadPrint(FILE *fp, const BenchTriad *t, PetscBool detail);

/* The ctx of a step benchmark's body: the triad (NULL: none run), the
   cases (an array of the benchmark's own type) and their count, the ranks. */
typedef struct {
  const BenchTriad *triad;
  const void       *cases;
  PetscInt          n;
  PetscMPIInt       size;
} BenchReport;

/* TnNetCreate / SetType / SetSize / SetDegree / SetFromOptions (any -net_
   option applies to every net) / SetUp; tbuild (may be NULL): its seconds. */
PetscErrorCode BenchBuildNet(MPI_Comm comm, const char type[], PetscInt n, PetscInt k, TnNet *net, double *tbuild);

/* h: -dyn_h if given; else 0.1, halved while the sync bound
   h (max gamma + sqrt(|W|_1 |W|_inf)) (docs/model.md section 5) is not
   < 0.95 (h does not change the cost). reason (may be NULL): why. */
PetscErrorCode BenchChooseH(TnNet net, double *h, char reason[], size_t len);

/* TnDynCreate, the scheme, SetFromOptions (-dyn_form etc. and the scheme's
   own options), then B, K and h, SetUp. */
PetscErrorCode BenchMakeDyn(TnNet net, PetscInt B, TnScheme scheme, PetscInt K, double h, TnDyn *dyn);

/* x uniform in [-0.5, 0.5] (PetscRandom, seed 7). */
PetscErrorCode BenchRandomState(MPI_Comm comm, Vec x);

#endif
