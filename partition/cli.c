/* tenor partition: cut a network (any generator, or W from a file) into P
   parts for every P of -partition_sizes, with serial Scotch on rank 0
   (TnPartitioner, tenor/partition.h), and write for each P the partition
   (partition_P<P>.txt, one part per node in natural order: the input of
   -partition_file) and its per-part statistics (partition_P<P>_parts.csv),
   and over all P the summary partition_stats.csv and partition_stats.json
   (docs/partition.md). Runs on one or two processes (any number works:
   they build the network, rank 0 partitions). */
#include "cli/cli.h"
#include <tenor/partition.h>

#define TN_PART_MAX_SIZES 64

typedef struct {
  PetscInt       P;
  PetscInt64     edge_cut;
  PetscInt       rows[2], halo[2], nbrs[2]; /* min, max */
  PetscInt64     syn[2];
  PetscReal      rows_mean, syn_mean, halo_mean, nbrs_mean;
  PetscInt       empty; /* parts without nodes */
  PetscLogDouble seconds;
} TnPartRow;

typedef struct {
  char        dir[PETSC_MAX_PATH_LEN], type[64];
  PetscInt    sizes[TN_PART_MAX_SIZES], nsizes;
  PetscInt    N;
  PetscInt64  nnz;
  PetscMPIInt size;
  TnPartRow   row[TN_PART_MAX_SIZES];
} TnPartRun;

static PetscErrorCode Summarise(const TnPartStats *st, PetscLogDouble seconds, TnPartRow *r)
{
  PetscInt P     = st->P;
  double   srows = 0, ssyn = 0, shalo = 0, snbrs = 0;
  PetscFunctionBeginUser;
  r->P        = P;
  r->edge_cut = st->edge_cut;
  r->seconds  = seconds;
  r->empty    = 0;
  r->rows[0] = r->rows[1] = st->rows[0];
  r->halo[0] = r->halo[1] = st->halo[0];
  r->nbrs[0] = r->nbrs[1] = st->neighbours[0];
  r->syn[0] = r->syn[1] = st->synapses[0];
  for (PetscInt q = 0; q < P; q++) {
    r->rows[0] = PetscMin(r->rows[0], st->rows[q]), r->rows[1] = PetscMax(r->rows[1], st->rows[q]);
    r->halo[0] = PetscMin(r->halo[0], st->halo[q]), r->halo[1] = PetscMax(r->halo[1], st->halo[q]);
    r->nbrs[0] = PetscMin(r->nbrs[0], st->neighbours[q]), r->nbrs[1] = PetscMax(r->nbrs[1], st->neighbours[q]);
    r->syn[0] = PetscMin(r->syn[0], st->synapses[q]), r->syn[1] = PetscMax(r->syn[1], st->synapses[q]);
    srows += st->rows[q], ssyn += (double)st->synapses[q], shalo += st->halo[q], snbrs += st->neighbours[q];
    if (!st->rows[q]) r->empty++;
  }
  r->rows_mean = srows / P, r->syn_mean = ssyn / P, r->halo_mean = shalo / P, r->nbrs_mean = snbrs / P;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* partition_P<P>.txt: part[i], one per line, natural order (rank 0). */
static PetscErrorCode WritePartition(MPI_Comm comm, const TnPartRun *run, PetscInt P, const PetscInt part[])
{
  FILE *fp;
  char  name[64], path[PETSC_MAX_PATH_LEN];
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(name, sizeof(name), "partition_P%" PetscInt_FMT ".txt", P));
  PetscCall(TnOutOpen(comm, run->dir, name, &fp, path, sizeof(path)));
  if (fp)
    for (PetscInt i = 0; i < run->N; i++) fprintf(fp, "%" PetscInt_FMT "\n", part[i]);
  PetscCall(TnOutClose(comm, &fp, path));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* partition_P<P>_parts.csv: part,rows,synapses,halo,neighbours,offsynapses. */
static PetscErrorCode WriteParts(MPI_Comm comm, const TnPartRun *run, const TnPartStats *st)
{
  FILE *fp;
  char  name[64], path[PETSC_MAX_PATH_LEN];
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(name, sizeof(name), "partition_P%" PetscInt_FMT "_parts.csv", st->P));
  PetscCall(TnOutOpen(comm, run->dir, name, &fp, path, sizeof(path)));
  if (fp) {
    fprintf(fp, "part,rows,synapses,halo,neighbours,offsynapses\n");
    for (PetscInt q = 0; q < st->P; q++) fprintf(fp, "%" PetscInt_FMT ",%" PetscInt_FMT ",%" PetscInt64_FMT ",%" PetscInt_FMT ",%" PetscInt_FMT ",%" PetscInt64_FMT "\n", q, st->rows[q], st->synapses[q], st->halo[q], st->neighbours[q], st->offsynapses[q]);
  }
  PetscCall(TnOutClose(comm, &fp, path));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static double Imbalance(double max, double mean)
{
  return mean > 0 ? max / mean : 1.0;
}

/* partition_stats.csv and .json: one row per P done so far (rewritten after
   each P, so a run stopped midway keeps the sizes it finished). */
static PetscErrorCode WriteSummary(MPI_Comm comm, TnPartitioner pt, const TnPartRun *run, PetscInt done)
{
  FILE   *fp;
  char    path[PETSC_MAX_PATH_LEN];
  json_t *root, *arr;
  PetscFunctionBeginUser;
  PetscCall(TnOutOpen(comm, run->dir, "partition_stats.csv", &fp, path, sizeof(path)));
  if (fp) {
    fprintf(fp, "P,edge_cut,rows_min,rows_mean,rows_max,rows_imbalance,synapses_min,synapses_mean,synapses_max,synapses_imbalance,halo_min,halo_mean,halo_max,neighbours_min,neighbours_mean,neighbours_max,seconds\n");
    for (PetscInt k = 0; k < done; k++) {
      const TnPartRow *r = &run->row[k];
      fprintf(fp, "%" PetscInt_FMT ",%" PetscInt64_FMT ",%" PetscInt_FMT ",%.17g,%" PetscInt_FMT ",%.17g,%" PetscInt64_FMT ",%.17g,%" PetscInt64_FMT ",%.17g,%" PetscInt_FMT ",%.17g,%" PetscInt_FMT ",%" PetscInt_FMT ",%.17g,%" PetscInt_FMT ",%.6f\n", r->P, r->edge_cut, r->rows[0], (double)r->rows_mean, r->rows[1], Imbalance(r->rows[1], r->rows_mean), r->syn[0], (double)r->syn_mean, r->syn[1],
              Imbalance((double)r->syn[1], r->syn_mean), r->halo[0], (double)r->halo_mean, r->halo[1], r->nbrs[0], (double)r->nbrs_mean, r->nbrs[1], r->seconds);
    }
  }
  PetscCall(TnOutClose(comm, &fp, path));
  root = json_pack("{s:s, s:s, s:i}", "tenor_version", TENOR_VERSION, "command", "partition", "ranks", (int)run->size);
  PetscCall(TnJsonSet(root, "network", json_pack("{s:o, s:I, s:I}", "type", TnJsonStr(run->type), "N", (json_int_t)run->N, "nnz", (json_int_t)run->nnz)));
  {
    PetscInt       seed;
    PetscReal      imb;
    TnPartStrategy s;
    TnPartBalance  b;
    const char    *version;
    PetscCall(TnPartitionerGetInfo(pt, &seed, &imb, &s, &b, &version));
    PetscCall(TnJsonSet(root, "partitioner", json_pack("{s:s, s:s, s:s, s:I, s:o, s:s, s:s}", "method", "scotch", "scotch_version", version, "mapping", "k-way (SCOTCH_graphPart), deterministic, fixed seed", "seed", (json_int_t)seed, "imbalance", TnJsonReal((double)imb), "strategy", TnPartStrategies[s], "balance", TnPartBalances[b])));
  }
  arr = json_array();
  for (PetscInt k = 0; k < done && arr; k++) {
    const TnPartRow *r = &run->row[k];
    char             f[64], fp2[64];
    PetscCall(PetscSNPrintf(f, sizeof(f), "partition_P%" PetscInt_FMT ".txt", r->P));
    PetscCall(PetscSNPrintf(fp2, sizeof(fp2), "partition_P%" PetscInt_FMT "_parts.csv", r->P));
    if (json_array_append_new(arr, json_pack("{s:I, s:I, s:o, s:I, s:o, s:I, s:o, s:I, s:o, s:I, s:o, s:I, s:I, s:o, s:I, s:I, s:o, s:I, s:o, s:s, s:s}", "P", (json_int_t)r->P, "edge_cut", (json_int_t)r->edge_cut, "edge_cut_fraction", TnJsonReal(run->nnz > 0 ? (double)r->edge_cut / (double)run->nnz : 0.0), "rows_min", (json_int_t)r->rows[0], "rows_mean", TnJsonReal((double)r->rows_mean), "rows_max", (json_int_t)r->rows[1], "rows_imbalance", TnJsonReal(Imbalance(r->rows[1], r->rows_mean)), "synapses_min", (json_int_t)r->syn[0], "synapses_mean", TnJsonReal((double)r->syn_mean), "synapses_max", (json_int_t)r->syn[1], "synapses_imbalance", TnJsonReal(Imbalance((double)r->syn[1], r->syn_mean)), "halo_min", (json_int_t)r->halo[0], "halo_max", (json_int_t)r->halo[1], "halo_mean", TnJsonReal((double)r->halo_mean), "neighbours_min", (json_int_t)r->nbrs[0], "neighbours_max", (json_int_t)r->nbrs[1], "neighbours_mean", TnJsonReal((double)r->nbrs_mean), "empty_parts", (json_int_t)r->empty, "seconds", TnJsonReal(r->seconds), "file", f, "parts_file", fp2)))
      arr = NULL;
  }
  PetscCall(TnJsonSet(root, "partitions", arr));
  PetscCall(TnOutProvenance(comm, "partition", NULL, NULL, NULL, root));
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/partition_stats.json", run->dir));
  PetscCall(TnJsonCommit(comm, path, &root));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnCmdPartition(MPI_Comm comm)
{
  TnPartRun     run = {.dir = "out", .sizes = {2}, .nsizes = TN_PART_MAX_SIZES};
  TnNet         net;
  TnPartitioner pt;
  Mat           W;
  PetscInt     *part = NULL;
  PetscBool     help, set;
  PetscMPIInt   rank;
  char          msg[256] = "";
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &run.size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(TnOptionsPassBegin(comm));
  PetscOptionsBegin(comm, "out_", "Output", "tenor");
  PetscCall(PetscOptionsString("-dir", "Directory for partition_P<P>.txt, partition_P<P>_parts.csv, partition_stats.csv and .json", "", run.dir, run.dir, sizeof(run.dir), NULL));
  PetscOptionsEnd();
  PetscOptionsBegin(comm, "partition_", "tenor partition", "tenor");
  PetscCall(PetscOptionsIntArray("-sizes", "Part counts P to compute, comma-separated (each 1 <= P <= N)", "", run.sizes, &run.nsizes, &set));
  PetscOptionsEnd();
  if (!set) run.nsizes = 1;
  for (PetscInt k = 0; k < run.nsizes && !msg[0]; k++)
    if (run.sizes[k] < 1) PetscCall(PetscSNPrintf(msg, sizeof(msg), "-partition_sizes: %" PetscInt_FMT " is not a part count (each P must be >= 1)", run.sizes[k]));
  if (set && run.nsizes == 0) PetscCall(PetscSNPrintf(msg, sizeof(msg), "-partition_sizes needs at least one P (e.g. -partition_sizes 16,64,256), at most %d", TN_PART_MAX_SIZES));
  PetscCall(TnErrorSync(comm, (PetscBool)(msg[0] != 0), msg));
  PetscCall(TnPartitionerCreate(comm, &pt));
  PetscCall(TnPartitionerSetFromOptions(pt));
  PetscCall(TnCliOptionsPass(comm, "partition", TN_CLI_NODYN, 0, &help));
  if (help) {
    PetscCall(TnPartitionerDestroy(&pt));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(TnOutMakeDir(comm, run.dir)); /* before any work */
  PetscCall(PetscPrintf(comm, "tenor partition on %d rank(s)\n", run.size));
  PetscCall(TnNetCreate(comm, &net));
  PetscCall(TnNetSetFromOptions(net));
  {
    char      pf[PETSC_MAX_PATH_LEN];
    PetscBool given;
    PetscCall(PetscOptionsGetString(NULL, NULL, "-partition_file", pf, sizeof(pf), &given));
    PetscCheck(!given, comm, PETSC_ERR_USER, "-partition_file is the other commands' input; tenor partition computes partitions (-partition_sizes) and writes them");
  }
  PetscCall(TnNetSetPartitioner(net, "none")); /* W in natural order */
  PetscCall(TnNetSetUp(net));
  PetscCall(TnNetGetSizes(net, &run.N, &run.nnz));
  PetscCall(TnNetView(net, PETSC_VIEWER_STDOUT_(comm)));
  for (PetscInt k = 0; k < run.nsizes && !msg[0]; k++)
    if (run.sizes[k] > run.N) PetscCall(PetscSNPrintf(msg, sizeof(msg), "-partition_sizes: P = %" PetscInt_FMT " is more parts than the network's N = %" PetscInt_FMT " nodes (every part needs a node)", run.sizes[k], run.N));
  PetscCall(TnErrorSync(comm, (PetscBool)(msg[0] != 0), msg));
  PetscCall(TnNetGetMat(net, &W));
  PetscCall(TnPartitionerSetGraph(pt, W));
  {
    const char *t;
    PetscCall(TnNetGetType(net, &t));
    PetscCall(PetscStrncpy(run.type, t, sizeof(run.type)));
  }
  PetscCall(TnNetDestroy(&net)); /* rank 0 holds the pattern now: W is no longer needed */
  if (rank == 0) PetscCall(PetscMalloc1(run.N, &part));
  for (PetscInt k = 0; k < run.nsizes; k++) {
    TnPartStats    st;
    PetscLogDouble sec;
    TnPartRow     *r = &run.row[k];
    PetscCall(TnPartitionerApply(pt, run.sizes[k], part, &sec));
    PetscCall(TnPartitionerGetStats(pt, run.sizes[k], part, &st));
    if (rank == 0) PetscCall(Summarise(&st, sec, r));
    PetscCallMPI(MPI_Bcast(r, sizeof(*r), MPI_BYTE, 0, comm));
    PetscCall(WritePartition(comm, &run, run.sizes[k], part));
    PetscCall(WriteParts(comm, &run, &st));
    PetscCall(TnPartStatsDestroy(&st));
    PetscCall(WriteSummary(comm, pt, &run, k + 1));
    PetscCall(PetscPrintf(comm, "P = %" PetscInt_FMT ": edge cut %" PetscInt64_FMT " (%.2f%% of synapses); halo min/mean/max %" PetscInt_FMT "/%.1f/%" PetscInt_FMT "; neighbours %" PetscInt_FMT "/%.1f/%" PetscInt_FMT "; imbalance rows %.3f, synapses %.3f; %.3f s\n", r->P, r->edge_cut, run.nnz > 0 ? 100.0 * (double)r->edge_cut / (double)run.nnz : 0.0, r->halo[0], (double)r->halo_mean, r->halo[1], r->nbrs[0], (double)r->nbrs_mean, r->nbrs[1],
                          Imbalance(r->rows[1], r->rows_mean), Imbalance((double)r->syn[1], r->syn_mean), r->seconds));
    if (r->empty) PetscCall(PetscPrintf(comm, "warning: P = %" PetscInt_FMT ": %" PetscInt_FMT " part(s) without nodes; -partition_file refuses this partition (try another -partition_seed or -partition_strategy balance)\n", r->P, r->empty));
  }
  PetscCall(PetscPrintf(comm, "wrote %s/partition_P<P>.txt and partition_P<P>_parts.csv for P = ", run.dir));
  for (PetscInt k = 0; k < run.nsizes; k++) PetscCall(PetscPrintf(comm, "%s%" PetscInt_FMT, k ? "," : "", run.sizes[k]));
  PetscCall(PetscPrintf(comm, "; %s/partition_stats.csv, %s/partition_stats.json\n", run.dir, run.dir));
  PetscCall(TnWarnUnusedOptions(comm, "partition"));
  PetscCall(PetscFree(part));
  PetscCall(TnPartitionerDestroy(&pt));
  PetscFunctionReturn(PETSC_SUCCESS);
}
