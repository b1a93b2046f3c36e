/* TnPartitioner: a network's graph cut into P parts by serial Scotch on
   rank 0, and the per-part statistics the runtime would see
   (tenor/partition.h, docs/partition.md).

   The graph: W's pattern, gathered on rank 0 in natural order (CSR ia, ja),
   and the symmetric graph G with an edge i - j (i != j) of weight
   w_ij = [W_ij != 0] + [W_ji != 0]. The cut of G under a partition, the sum
   of w_ij over edges between parts, is then the number of synapses between
   parts, the runtime's edge cut. Scotch's k-way mapping minimises it under
   the load constraint max_q load_q <= (1 + imbalance) mean_q load_q, the
   load of a node 1 (balance rows) or its row's synapses (balance synapses).

   Reproducible: G depends only on W (not on the rank count), and Scotch runs
   in one process under a context with its deterministic option and a fixed
   random seed (-partition_seed), so the same W, P and seed give the same
   parts. */
#include <tenor/partition.h>
#include <stdint.h>
#include <stdio.h>
#include <scotch.h>

/* The graph arrays are built as PetscInt and handed to Scotch as they are. */
_Static_assert(sizeof(SCOTCH_Num) == sizeof(PetscInt), "PetscInt and SCOTCH_Num differ in size: build against the Scotch headers of the same integer width (scotch-int64 for a 64-bit PetscInt)");

const char *const TnPartStrategies[] = {"default", "quality", "speed", "balance"};
const char *const TnPartBalances[]   = {"rows", "synapses"};

struct _p_TnPartitioner {
  MPI_Comm       comm;
  PetscInt       seed;
  PetscReal      imbalance;
  TnPartStrategy strategy;
  TnPartBalance  balance;
  PetscInt       N;
  PetscInt64     nnz;
  /* rank 0: W's pattern (natural order) and the symmetric graph G */
  PetscInt   *ia, *ja;
  SCOTCH_Num *verttab, *edgetab, *edlotab, *velotab, edgenbr;
};

PetscErrorCode TnPartitionerCreate(MPI_Comm comm, TnPartitioner *p)
{
  PetscFunctionBeginUser;
  PetscCall(PetscNew(p));
  (*p)->comm      = comm;
  (*p)->seed      = 1;
  (*p)->imbalance = 0.01;
  (*p)->strategy  = TN_PART_DEFAULT;
  (*p)->balance   = TN_PART_ROWS;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode FreeGraph(TnPartitioner p)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(p->ia));
  PetscCall(PetscFree(p->ja));
  PetscCall(PetscFree(p->verttab));
  PetscCall(PetscFree(p->edgetab));
  PetscCall(PetscFree(p->edlotab));
  PetscCall(PetscFree(p->velotab));
  p->N = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnPartitionerDestroy(TnPartitioner *p)
{
  PetscFunctionBeginUser;
  if (!*p) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(FreeGraph(*p));
  PetscCall(PetscFree(*p));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnPartitionerSetSeed(TnPartitioner p, PetscInt seed)
{
  PetscFunctionBeginUser;
  p->seed = seed;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnPartitionerSetImbalance(TnPartitioner p, PetscReal imbalance)
{
  PetscFunctionBeginUser;
  PetscCheck(imbalance >= 0 && imbalance <= 1, p->comm, PETSC_ERR_ARG_OUTOFRANGE, "the load imbalance must be in [0, 1], got %g", (double)imbalance);
  p->imbalance = imbalance;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnPartitionerSetStrategy(TnPartitioner p, TnPartStrategy s)
{
  PetscFunctionBeginUser;
  p->strategy = s;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The node weights depend on it: takes effect at the next SetGraph. */
PetscErrorCode TnPartitionerSetBalance(TnPartitioner p, TnPartBalance b)
{
  PetscFunctionBeginUser;
  p->balance = b;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnPartitionerSetFromOptions(TnPartitioner p)
{
  PetscInt s = p->strategy, b = p->balance;
  PetscFunctionBeginUser;
  PetscOptionsBegin(p->comm, "partition_", "Offline partitioner: serial Scotch (tenor partition)", "TnPartitioner");
  PetscCall(TnOptionsInt("-seed", "Scotch's random seed (the same seed, graph and P give the same parts)", "TnPartitionerSetSeed", p->seed, &p->seed, NULL, 0, PETSC_MAX_INT));
  PetscCall(TnOptionsReal("-imbalance", "Allowed load imbalance: max part load <= (1 + imbalance) x mean", "TnPartitionerSetImbalance", p->imbalance, &p->imbalance, NULL, 0, 1));
  PetscCall(TnOptionsChoice("-strategy", "Scotch's strategy preset", "TnPartitionerSetStrategy", TnPartStrategies, 4, &s, NULL));
  PetscCall(TnOptionsChoice("-balance", "What the parts balance: rows (nodes) or synapses", "TnPartitionerSetBalance", TnPartBalances, 2, &b, NULL));
  PetscOptionsEnd();
  p->strategy = (TnPartStrategy)s;
  p->balance  = (TnPartBalance)b;
  PetscFunctionReturn(PETSC_SUCCESS);
}

#define TN_STR_(x) #x
#define TN_STR(x) TN_STR_(x)
PetscErrorCode TnPartitionerGetInfo(TnPartitioner p, PetscInt *seed, PetscReal *imbalance, TnPartStrategy *s, TnPartBalance *b, const char **scotch_version)
{
  PetscFunctionBeginUser;
  if (seed) *seed = p->seed;
  if (imbalance) *imbalance = p->imbalance;
  if (s) *s = p->strategy;
  if (b) *b = p->balance;
  if (scotch_version) *scotch_version = TN_STR(SCOTCH_VERSION) "." TN_STR(SCOTCH_RELEASE) "." TN_STR(SCOTCH_PATCHLEVEL);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnPartitionerGetSize(TnPartitioner p, PetscInt *N, PetscInt64 *nnz)
{
  PetscFunctionBeginUser;
  if (N) *N = p->N;
  if (nnz) *nnz = p->nnz;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: ia, ja of W's rows from every rank (each rank's rows are
   consecutive, in rank order). */
static PetscErrorCode GatherPattern(TnPartitioner p, Mat W)
{
  PetscMPIInt     rank, size, *cnt = NULL, *dsp = NULL, nloc, nnzloc;
  PetscInt        rs, re, *lia, *lja, N;
  PetscInt64      lnnz = 0, total;
  const PetscInt *ranges;
  char            what[128];
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(p->comm, &rank));
  PetscCallMPI(MPI_Comm_size(p->comm, &size));
  PetscCall(MatGetSize(W, &N, NULL));
  PetscCall(MatGetOwnershipRange(W, &rs, &re));
  PetscCall(MatGetOwnershipRanges(W, &ranges));
  for (PetscInt i = rs; i < re; i++) {
    PetscInt nc;
    PetscCall(MatGetRow(W, i, &nc, NULL, NULL));
    lnnz += nc;
    PetscCall(MatRestoreRow(W, i, &nc, NULL, NULL));
  }
  PetscCallMPI(MPI_Allreduce(&lnnz, &total, 1, MPIU_INT64, MPI_SUM, p->comm));
  PetscCheck(total < PETSC_MAX_INT, p->comm, PETSC_ERR_SUP, "the network has %" PetscInt64_FMT " synapses, more than the partitioner's 32-bit indices hold (%d)", total, (int)PETSC_MAX_INT);
  /* rank 0: W's pattern (4 bytes a synapse and a node), G (12 bytes an arc,
     up to two arcs a synapse, 8 bytes a node) and Scotch's work, about as
     much again */
  PetscCall(PetscSNPrintf(what, sizeof(what), "partitioning a graph of %" PetscInt_FMT " nodes and %" PetscInt64_FMT " synapses on rank 0", N, total));
  PetscCall(TnCheckMemory(p->comm, rank == 0 ? 2.0 * (4.0 * (double)(total + N) + 24.0 * (double)total + 8.0 * N) : 0, what, "partition on a node with more memory"));
  p->N   = N;
  p->nnz = total;
  PetscCall(PetscMPIIntCast(re - rs, &nloc));
  PetscCall(PetscMPIIntCast(lnnz, &nnzloc));
  PetscCall(PetscMalloc2(nloc, &lia, nnzloc, &lja));
  for (PetscInt i = rs, t = 0; i < re; i++) {
    PetscInt        nc;
    const PetscInt *cols;
    PetscCall(MatGetRow(W, i, &nc, &cols, NULL));
    lia[i - rs] = nc;
    PetscCall(PetscArraycpy(lja + t, cols, nc));
    t += nc;
    PetscCall(MatRestoreRow(W, i, &nc, &cols, NULL));
  }
  if (rank == 0) {
    PetscCall(PetscMalloc1(N + 1, &p->ia));
    PetscCall(PetscMalloc1(total, &p->ja));
    PetscCall(PetscMalloc2(size, &cnt, size, &dsp));
    for (PetscMPIInt r = 0; r < size; r++) {
      PetscCall(PetscMPIIntCast(ranges[r + 1] - ranges[r], &cnt[r]));
      dsp[r] = (PetscMPIInt)ranges[r];
    }
  }
  /* row lengths into ia[1..N], then prefix sums */
  PetscCallMPI(MPI_Gatherv(lia, nloc, MPIU_INT, rank == 0 ? p->ia + 1 : NULL, cnt, dsp, MPIU_INT, 0, p->comm));
  if (rank == 0) {
    p->ia[0] = 0;
    for (PetscInt i = 0; i < N; i++) p->ia[i + 1] += p->ia[i];
    for (PetscMPIInt r = 0; r < size; r++) cnt[r] = (PetscMPIInt)(p->ia[ranges[r + 1]] - p->ia[ranges[r]]), dsp[r] = (PetscMPIInt)p->ia[ranges[r]];
  }
  PetscCallMPI(MPI_Gatherv(lja, nnzloc, MPIU_INT, p->ja, cnt, dsp, MPIU_INT, 0, p->comm));
  PetscCall(PetscFree2(lia, lja));
  PetscCall(PetscFree2(cnt, dsp));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: G from W's pattern in Scotch's CSR (verttab, edgetab, edge weights
   edlotab), each row's neighbours sorted and merged. */
static PetscErrorCode BuildSymmetric(TnPartitioner p)
{
  PetscInt    N = p->N;
  SCOTCH_Num *deg, *adj, *wgt, *start;
  PetscFunctionBeginUser;
  PetscCall(PetscCalloc1(N + 1, &start));
  for (PetscInt i = 0; i < N; i++)
    for (PetscInt t = p->ia[i]; t < p->ia[i + 1]; t++)
      if (p->ja[t] != i) start[i + 1]++, start[p->ja[t] + 1]++;
  for (PetscInt i = 0; i < N; i++) start[i + 1] += start[i];
  PetscCall(PetscMalloc1(N, &deg));
  PetscCall(PetscMalloc1(PetscMax(start[N], 1), &adj));
  PetscCall(PetscMalloc1(PetscMax(start[N], 1), &wgt));
  PetscCall(PetscArrayzero(deg, N));
  for (PetscInt i = 0; i < N; i++)
    for (PetscInt t = p->ia[i]; t < p->ia[i + 1]; t++) {
      PetscInt j = p->ja[t];
      if (j == i) continue;
      adj[start[i] + deg[i]++] = (SCOTCH_Num)j;
      adj[start[j] + deg[j]++] = (SCOTCH_Num)i;
    }
  /* merge: the arcs i -> j from W_ij and from W_ji become one of weight 2 */
  PetscCall(PetscMalloc1(N + 1, &p->verttab));
  p->edgenbr = 0;
  for (PetscInt i = 0; i < N; i++) {
    SCOTCH_Num *a = adj + start[i], *w = wgt + start[i], n = 0;
    PetscCall(PetscSortInt(deg[i], (PetscInt *)a));
    for (SCOTCH_Num t = 0; t < deg[i]; t++) {
      if (n > 0 && a[n - 1] == a[t])
        w[n - 1]++;
      else
        a[n] = a[t], w[n++] = 1;
    }
    p->verttab[i] = p->edgenbr;
    for (SCOTCH_Num t = 0; t < n; t++) adj[p->edgenbr + t] = a[t], wgt[p->edgenbr + t] = w[t]; /* compact (moves left only) */
    p->edgenbr += n;
  }
  p->verttab[N] = p->edgenbr;
  p->edgetab    = adj; /* the first edgenbr entries */
  p->edlotab    = wgt;
  PetscCall(PetscFree(deg));
  PetscCall(PetscFree(start));
  if (p->balance == TN_PART_SYNAPSES) {
    PetscCall(PetscMalloc1(N, &p->velotab));
    for (PetscInt i = 0; i < N; i++) p->velotab[i] = (SCOTCH_Num)PetscMax(p->ia[i + 1] - p->ia[i], 1);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnPartitionerSetGraph(TnPartitioner p, Mat W)
{
  PetscMPIInt rank;
  PetscInt    M, N;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(p->comm, &rank));
  PetscCall(MatGetSize(W, &M, &N));
  PetscCheck(M == N, p->comm, PETSC_ERR_ARG_SIZ, "W must be square to partition it, got %" PetscInt_FMT " x %" PetscInt_FMT, M, N);
  PetscCall(FreeGraph(p));
  PetscCall(GatherPattern(p, W));
  if (rank == 0) PetscCall(BuildSymmetric(p));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Scotch's error messages go to stderr (libscotcherr); its return codes are
   checked here. */
#define TnScotchCall(call, what)                                                                                                       \
  do {                                                                                                                                 \
    if (!bad && (call)) {                                                                                                              \
      bad = PETSC_TRUE;                                                                                                                \
      PetscCall(PetscSNPrintf(msg, sizeof(msg), "Scotch failed in %s (P = %" PetscInt_FMT ", N = %" PetscInt_FMT ")", what, P, p->N)); \
    }                                                                                                                                  \
  } while (0)

PetscErrorCode TnPartitionerApply(TnPartitioner p, PetscInt P, PetscInt part[], PetscLogDouble *seconds)
{
  PetscMPIInt    rank;
  PetscBool      bad      = PETSC_FALSE;
  char           msg[256] = "";
  PetscLogDouble t        = TnTime();
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(p->comm, &rank));
  PetscCheck(p->N > 0, p->comm, PETSC_ERR_ORDER, "call TnPartitionerSetGraph() first");
  PetscCheck(P >= 1 && P <= p->N, p->comm, PETSC_ERR_USER, "cannot cut %" PetscInt_FMT " nodes into %" PetscInt_FMT " parts: P must be in [1, N] (every part needs a node)", p->N, P);
  if (rank == 0 && P == 1)
    PetscCall(PetscArrayzero(part, p->N));
  else if (rank == 0) {
    static const SCOTCH_Num flags[] = {SCOTCH_STRATDEFAULT, SCOTCH_STRATQUALITY, SCOTCH_STRATSPEED, SCOTCH_STRATBALANCE};
    SCOTCH_Context          ctx;
    SCOTCH_Graph            graph, cgraph;
    SCOTCH_Strat            strat;
    int                     ictx = 0, igraph = 0, icgraph = 0, istrat = 0;
    TnScotchCall(SCOTCH_contextInit(&ctx), "SCOTCH_contextInit");
    if (!bad) ictx = 1;
    /* one thread, deterministic, fixed seed: the same parts every run */
    TnScotchCall(SCOTCH_contextOptionSetNum(&ctx, SCOTCH_OPTIONNUMDETERMINISTIC, 1), "SCOTCH_contextOptionSetNum(DETERMINISTIC)");
    TnScotchCall(SCOTCH_contextOptionSetNum(&ctx, SCOTCH_OPTIONNUMRANDOMFIXEDSEED, 1), "SCOTCH_contextOptionSetNum(RANDOMFIXEDSEED)");
    if (!bad) SCOTCH_contextRandomSeed(&ctx, (SCOTCH_Num)p->seed);
    TnScotchCall(SCOTCH_graphInit(&graph), "SCOTCH_graphInit");
    if (!bad) igraph = 1;
    TnScotchCall(SCOTCH_graphBuild(&graph, 0, (SCOTCH_Num)p->N, p->verttab, NULL, p->velotab, NULL, p->edgenbr, p->edgetab, p->edlotab), "SCOTCH_graphBuild");
    TnScotchCall(SCOTCH_graphInit(&cgraph), "SCOTCH_graphInit");
    if (!bad) icgraph = 1;
    TnScotchCall(SCOTCH_contextBindGraph(&ctx, &graph, &cgraph), "SCOTCH_contextBindGraph");
    TnScotchCall(SCOTCH_stratInit(&strat), "SCOTCH_stratInit");
    if (!bad) istrat = 1;
    TnScotchCall(SCOTCH_stratGraphMapBuild(&strat, flags[p->strategy], (SCOTCH_Num)P, (double)p->imbalance), "SCOTCH_stratGraphMapBuild");
    TnScotchCall(SCOTCH_graphPart(&cgraph, (SCOTCH_Num)P, &strat, (SCOTCH_Num *)part), "SCOTCH_graphPart");
    if (istrat) SCOTCH_stratExit(&strat);
    if (icgraph) SCOTCH_graphExit(&cgraph);
    if (igraph) SCOTCH_graphExit(&graph);
    if (ictx) SCOTCH_contextExit(&ctx);
  }
  PetscCall(TnErrorSync(p->comm, bad, msg));
  if (seconds) *seconds = TnTime() - t;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnPartitionerGetStats(TnPartitioner p, PetscInt P, const PetscInt part[], TnPartStats *st)
{
  PetscMPIInt rank;
  PetscInt    N = p->N, *first, *order, *seen, *pseen;
  PetscFunctionBeginUser;
  char msg[128] = "";
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(p->comm, &rank));
  PetscCall(PetscMemzero(st, sizeof(*st)));
  st->P   = P;
  st->nnz = p->nnz;
  for (PetscInt i = 0; rank == 0 && i < N && !msg[0]; i++)
    if (part[i] < 0 || part[i] >= P) PetscCall(PetscSNPrintf(msg, sizeof(msg), "part[%" PetscInt_FMT "] = %" PetscInt_FMT " is not in [0, %" PetscInt_FMT ")", i, part[i], P));
  PetscCall(TnErrorSync(p->comm, (PetscBool)(msg[0] != 0), msg));
  if (rank != 0) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscCalloc5(P, &st->rows, P, &st->halo, P, &st->neighbours, P, &st->synapses, P, &st->offsynapses));
  /* the rows of each part together (counting sort), so that one stamp per
     node (the last part that counted it) finds each part's distinct halo
     nodes, and one stamp per part its distinct neighbours */
  PetscCall(PetscCalloc1(P + 1, &first));
  PetscCall(PetscMalloc3(N, &order, N, &seen, P, &pseen));
  for (PetscInt i = 0; i < N; i++) first[part[i] + 1]++;
  for (PetscInt q = 0; q < P; q++) first[q + 1] += first[q];
  for (PetscInt i = 0; i < N; i++) order[first[part[i]]++] = i;
  for (PetscInt q = P; q > 0; q--) first[q] = first[q - 1];
  first[0] = 0;
  for (PetscInt i = 0; i < N; i++) seen[i] = -1;
  for (PetscInt q = 0; q < P; q++) pseen[q] = -1;
  for (PetscInt q = 0; q < P; q++) {
    st->rows[q] = first[q + 1] - first[q];
    for (PetscInt k = first[q]; k < first[q + 1]; k++) {
      PetscInt i = order[k];
      st->synapses[q] += p->ia[i + 1] - p->ia[i];
      for (PetscInt t = p->ia[i]; t < p->ia[i + 1]; t++) {
        PetscInt j = p->ja[t], r = part[j];
        if (r == q) continue;
        st->edge_cut++;
        st->offsynapses[q]++;
        if (seen[j] != q) seen[j] = q, st->halo[q]++;
        if (pseen[r] != q) pseen[r] = q, st->neighbours[q]++;
      }
    }
  }
  PetscCall(PetscFree3(order, seen, pseen));
  PetscCall(PetscFree(first));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnPartStatsDestroy(TnPartStats *st)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree5(st->rows, st->halo, st->neighbours, st->synapses, st->offsynapses));
  PetscFunctionReturn(PETSC_SUCCESS);
}
