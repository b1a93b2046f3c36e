/* The offline partitioner (partition/partitioner.c, tenor/partition.h):
   - reproducible: the same graph, P and seed give the same parts, twice in a
     row and from a graph built on one rank (a 1-rank communicator) instead
     of all of them;
   - the parts are in [0, P), none empty;
   - the statistics equal an independent count: every off-part synapse
     gathered as a (part, column) and a (part, neighbour part) key, sorted
     and de-duplicated, instead of the partitioner's stamps;
   - with P = the rank count, the partition written to a file and given to a
     net (TnNetSetPartitionFile) makes the runtime report the same edge cut,
     halo sizes and imbalances, and the net's rows are the file's parts;
   - the rows moved in rounds of 1 KB or in one give W permuted, bitwise;
   - vectors moved between the natural and the partitioned order, in rounds
     of 1 KB or in one, land where natural[] says, and back;
   - bad calls are refused. */
#include "tn_test.h"
#include <tenor/net.h>
#include <tenor/partition.h>

#define NN 300
#define NP 7

static int CmpI64(const void *a, const void *b)
{
  PetscInt64 x = *(const PetscInt64 *)a, y = *(const PetscInt64 *)b;
  return (x > y) - (x < y);
}

static PetscErrorCode MakeNet(MPI_Comm comm, const char partfile[], const char kb[], TnNet *net)
{
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(comm, net));
  PetscCall(TnNetSetType(*net, TNNET_ER));
  PetscCall(TnNetSetSize(*net, NN));
  PetscCall(TnNetSetDegree(*net, 6));
  PetscCall(TnNetSetSeed(*net, 3));
  PetscCall(TnNetSetWeightScale(*net, 0.5));
  PetscCall(TnNetSetPartitioner(*net, "none"));
  if (partfile) PetscCall(TnNetSetPartitionFile(*net, partfile));
  if (kb) { /* -partition_exchange_kb kb, for this net only */
    PetscCall(PetscOptionsSetValue(NULL, "-partition_exchange_kb", kb));
    PetscCall(TnNetSetFromOptions(*net));
    PetscCall(PetscOptionsClearValue(NULL, "-partition_exchange_kb"));
  }
  PetscCall(TnNetSetUp(*net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The partition file path (one part per node, natural order), written by
   rank 0. */
static void WritePartitionFile(const char *path, const PetscInt part[])
{
  PetscMPIInt rank;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  if (rank == 0) {
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    for (PetscInt i = 0; i < NN; i++) fprintf(f, "%d\n", (int)part[i]);
    fclose(f);
  }
}

/* part (rank 0) of the er net built on comm, P parts. */
static PetscErrorCode PartitionOn(MPI_Comm comm, PetscInt P, PetscInt part[], TnPartitioner *keep, TnNet *keepnet)
{
  TnNet         net;
  TnPartitioner pt;
  Mat           W;
  PetscFunctionBeginUser;
  PetscCall(MakeNet(comm, NULL, NULL, &net));
  PetscCall(TnNetGetMat(net, &W));
  PetscCall(TnPartitionerCreate(comm, &pt));
  PetscCall(TnPartitionerSetGraph(pt, W));
  PetscCall(TnPartitionerApply(pt, P, part, NULL));
  if (keep)
    *keep = pt;
  else
    PetscCall(TnPartitionerDestroy(&pt));
  if (keepnet)
    *keepnet = net;
  else
    PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void TestReproducible(void)
{
  PetscMPIInt rank;
  PetscInt    a[NN], b[NN], c[NN], count[NP] = {0};
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  TN_ASSERT_OK(PartitionOn(PETSC_COMM_WORLD, NP, a, NULL, NULL));
  TN_ASSERT_OK(PartitionOn(PETSC_COMM_WORLD, NP, b, NULL, NULL));
  if (rank == 0) {
    PetscBool same = PETSC_TRUE, range = PETSC_TRUE, full = PETSC_TRUE;
    TN_ASSERT_OK(PartitionOn(PETSC_COMM_SELF, NP, c, NULL, NULL)); /* the graph built on one rank */
    for (PetscInt i = 0; i < NN; i++) {
      if (a[i] != b[i] || a[i] != c[i]) same = PETSC_FALSE;
      if (a[i] < 0 || a[i] >= NP)
        range = PETSC_FALSE;
      else
        count[a[i]]++;
    }
    for (PetscInt q = 0; q < NP; q++)
      if (!count[q]) full = PETSC_FALSE;
    CU_ASSERT(same);
    CU_ASSERT(range);
    CU_ASSERT(full);
  }
}

/* Independent count of the statistics of part (known on every rank) over
   the net's rows (natural order, default split), on rank 0. */
static PetscErrorCode CountStats(TnNet net, const PetscInt part[], PetscInt P, PetscInt64 *cut, PetscInt rows[], PetscInt64 syn[], PetscInt halo[], PetscInt nbrs[])
{
  Mat         W;
  PetscInt    rs, re, nk = 0, lrows[NN] = {0};
  PetscInt64 *hk, *nk2, *allh = NULL, *alln = NULL, lsyn[NN] = {0}, lcut;
  PetscMPIInt size, rank, n, *cnt = NULL, *dsp = NULL;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCall(TnNetGetMat(net, &W));
  PetscCall(MatGetOwnershipRange(W, &rs, &re));
  PetscCall(PetscMalloc2(NN * NN, &hk, NN * NN, &nk2));
  for (PetscInt i = rs; i < re; i++) {
    PetscInt        nc;
    const PetscInt *cols;
    PetscCall(MatGetRow(W, i, &nc, &cols, NULL));
    lrows[part[i]]++;
    lsyn[part[i]] += nc;
    for (PetscInt t = 0; t < nc; t++)
      if (part[cols[t]] != part[i]) {
        hk[nk]    = (PetscInt64)part[i] * NN + cols[t];
        nk2[nk++] = (PetscInt64)part[i] * NN + part[cols[t]];
      }
    PetscCall(MatRestoreRow(W, i, &nc, &cols, NULL));
  }
  lcut = nk;
  PetscCallMPI(MPI_Reduce(&lcut, cut, 1, MPIU_INT64, MPI_SUM, 0, PETSC_COMM_WORLD));
  PetscCallMPI(MPI_Reduce(lrows, rows, P, MPIU_INT, MPI_SUM, 0, PETSC_COMM_WORLD));
  PetscCallMPI(MPI_Reduce(lsyn, syn, P, MPIU_INT64, MPI_SUM, 0, PETSC_COMM_WORLD));
  PetscCall(PetscMPIIntCast(nk, &n));
  if (rank == 0) PetscCall(PetscMalloc4(size, &cnt, size + 1, &dsp, NN * NN, &allh, NN * NN, &alln));
  PetscCallMPI(MPI_Gather(&n, 1, MPI_INT, cnt, 1, MPI_INT, 0, PETSC_COMM_WORLD));
  if (rank == 0) {
    dsp[0] = 0;
    for (PetscMPIInt r = 0; r < size; r++) dsp[r + 1] = dsp[r] + cnt[r];
  }
  PetscCallMPI(MPI_Gatherv(hk, n, MPIU_INT64, allh, cnt, dsp, MPIU_INT64, 0, PETSC_COMM_WORLD));
  PetscCallMPI(MPI_Gatherv(nk2, n, MPIU_INT64, alln, cnt, dsp, MPIU_INT64, 0, PETSC_COMM_WORLD));
  if (rank == 0) {
    PetscInt tot = dsp[size];
    qsort(allh, (size_t)tot, sizeof(PetscInt64), CmpI64);
    qsort(alln, (size_t)tot, sizeof(PetscInt64), CmpI64);
    for (PetscInt q = 0; q < P; q++) halo[q] = nbrs[q] = 0;
    for (PetscInt t = 0; t < tot; t++) {
      if (t == 0 || allh[t] != allh[t - 1]) halo[allh[t] / NN]++;
      if (t == 0 || alln[t] != alln[t - 1]) nbrs[alln[t] / NN]++;
    }
    PetscCall(PetscFree4(cnt, dsp, allh, alln));
  }
  PetscCall(PetscFree2(hk, nk2));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void TestStats(void)
{
  PetscMPIInt   rank;
  PetscInt      part[NN], rows[NP], halo[NP], nbrs[NP];
  PetscInt64    cut = 0, syn[NP];
  TnPartitioner pt;
  TnNet         net;
  TnPartStats   st;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  TN_ASSERT_OK(PartitionOn(PETSC_COMM_WORLD, NP, part, &pt, &net));
  TN_ASSERT_OK(TnPartitionerGetStats(pt, NP, part, &st));
  MPI_Bcast(part, NN, MPIU_INT, 0, PETSC_COMM_WORLD);
  TN_ASSERT_OK(CountStats(net, part, NP, &cut, rows, syn, halo, nbrs));
  if (rank == 0) {
    PetscBool  same = PETSC_TRUE;
    PetscInt64 off  = 0;
    CU_ASSERT(st.edge_cut == cut);
    CU_ASSERT(cut > 0);
    for (PetscInt q = 0; q < NP; q++) {
      if (st.rows[q] != rows[q] || st.synapses[q] != syn[q] || st.halo[q] != halo[q] || st.neighbours[q] != nbrs[q]) same = PETSC_FALSE;
      /* every ghost feeds at least one off-part synapse */
      if (st.offsynapses[q] < st.halo[q] || st.offsynapses[q] > st.synapses[q]) same = PETSC_FALSE;
      off += st.offsynapses[q];
    }
    CU_ASSERT(same);
    CU_ASSERT(off == cut);
  }
  TN_ASSERT_OK(TnPartStatsDestroy(&st));
  TN_ASSERT_OK(TnPartitionerDestroy(&pt));
  TN_ASSERT_OK(TnNetDestroy(&net));
}

/* P = the rank count: the runtime on the partition file agrees. */
static void TestRuntime(void)
{
  PetscMPIInt     rank, size;
  PetscInt        part[NN], m;
  char            path[PETSC_MAX_PATH_LEN];
  TnPartitioner   pt;
  TnNet           net, net2;
  TnPartStats     st;
  TnPartitionInfo info;
  const PetscInt *natural;
  PetscBool       mine = PETSC_TRUE;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  TN_ASSERT_OK(PartitionOn(PETSC_COMM_WORLD, size, part, &pt, &net));
  TN_ASSERT_OK(TnPartitionerGetStats(pt, size, part, &st));
  PetscSNPrintf(path, sizeof(path), "%s/part_P%d.txt", TnTestTmpDir(), (int)size);
  WritePartitionFile(path, part);
  MPI_Bcast(part, NN, MPIU_INT, 0, PETSC_COMM_WORLD);
  TN_ASSERT_OK(MakeNet(PETSC_COMM_WORLD, path, NULL, &net2));
  TN_ASSERT_OK(TnNetGetPartitionInfo(net2, &info));
  TN_ASSERT_OK(TnNetGetNatural(net2, &natural));
  {
    Mat W;
    TN_ASSERT_OK(TnNetGetMat(net2, &W));
    TN_ASSERT_OK(MatGetLocalSize(W, &m, NULL));
  }
  for (PetscInt i = 0; i < m; i++)
    if (part[natural[i]] != rank || (i > 0 && natural[i] <= natural[i - 1])) mine = PETSC_FALSE;
  CU_ASSERT(mine); /* rank r holds exactly part r's nodes, in natural order */
  if (rank == 0) {
    PetscInt   hmin = st.halo[0], hmax = st.halo[0], rmax = 0;
    PetscInt64 smax = 0, stot = 0;
    double     hsum = 0;
    for (PetscInt q = 0; q < size; q++) {
      hmin = PetscMin(hmin, st.halo[q]), hmax = PetscMax(hmax, st.halo[q]), hsum += st.halo[q];
      rmax = PetscMax(rmax, st.rows[q]), smax = PetscMax(smax, st.synapses[q]), stot += st.synapses[q];
    }
    CU_ASSERT(info.edge_cut == st.edge_cut);
    CU_ASSERT(info.halo_min == hmin);
    CU_ASSERT(info.halo_max == hmax);
    TN_ASSERT_CLOSE(info.halo_mean, hsum / size, 1e-14);
    TN_ASSERT_CLOSE(info.imbalance_rows, (double)rmax / ((double)NN / size), 1e-14);
    TN_ASSERT_CLOSE(info.imbalance_nnz, (double)smax / ((double)stot / size), 1e-14);
  }
  TN_ASSERT_OK(TnPartStatsDestroy(&st));
  TN_ASSERT_OK(TnPartitionerDestroy(&pt));
  TN_ASSERT_OK(TnNetDestroy(&net2));
  TN_ASSERT_OK(TnNetDestroy(&net));
}

/* The rows moved in rounds: with the exchange forced into rounds of 1 KB
   (about ten per rank here) and in one round, the partitioned W is W's
   rows and columns permuted, value for value (bitwise): row i of the new
   W holds W_{natural[i], natural[j]} at column j, and nothing else. */
static PetscErrorCode CheckPermuted(Mat Wseq, TnNet net)
{
  Mat                W;
  const PetscInt    *natural, *cols, *ranges;
  const PetscScalar *vals;
  PetscInt           rs, re, m, N, *all;
  PetscMPIInt        size, *rc, *rd;
  PetscBool          same = PETSC_TRUE;
  PetscFunctionBeginUser;
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  PetscCall(TnNetGetMat(net, &W));
  PetscCall(TnNetGetNatural(net, &natural));
  PetscCall(MatGetOwnershipRange(W, &rs, &re));
  PetscCall(MatGetOwnershipRanges(W, &ranges));
  PetscCall(MatGetSize(W, &N, NULL));
  m = re - rs;
  PetscCall(PetscMalloc3(N, &all, size, &rc, size, &rd));
  for (PetscMPIInt r = 0; r < size; r++) rc[r] = (PetscMPIInt)(ranges[r + 1] - ranges[r]), rd[r] = (PetscMPIInt)ranges[r];
  PetscCallMPI(MPI_Allgatherv(natural, (PetscMPIInt)m, MPIU_INT, all, rc, rd, MPIU_INT, PETSC_COMM_WORLD));
  for (PetscInt i = rs; i < re; i++) {
    PetscInt nc, nc0, t0;
    PetscCall(MatGetRow(Wseq, natural[i - rs], &t0, NULL, NULL));
    nc0 = t0; /* MatRestoreRow zeroes its count */
    PetscCall(MatRestoreRow(Wseq, natural[i - rs], &t0, NULL, NULL));
    PetscCall(MatGetRow(W, i, &nc, &cols, &vals));
    if (nc != nc0) same = PETSC_FALSE;
    for (PetscInt t = 0; t < nc; t++) {
      PetscInt    row = natural[i - rs], col = all[cols[t]];
      PetscScalar w;
      PetscCall(MatGetValues(Wseq, 1, &row, 1, &col, &w));
      if (w != vals[t] || w == 0) same = PETSC_FALSE;
    }
    PetscCall(MatRestoreRow(W, i, &nc, &cols, &vals));
  }
  PetscCall(PetscFree3(all, rc, rd));
  CU_ASSERT(same);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void TestRounds(void)
{
  PetscMPIInt rank, size;
  PetscInt    part[NN];
  char        path[PETSC_MAX_PATH_LEN];
  const char *kb[] = {"0", "1"};
  TnNet       net0, net;
  Mat         W0, *Wseq;
  IS          isall;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  TN_ASSERT_OK(PartitionOn(PETSC_COMM_WORLD, size, part, NULL, &net0));
  PetscSNPrintf(path, sizeof(path), "%s/rounds_P%d.txt", TnTestTmpDir(), (int)size);
  WritePartitionFile(path, part);
  MPI_Barrier(PETSC_COMM_WORLD);
  TN_ASSERT_OK(TnNetGetMat(net0, &W0)); /* natural order (-partition_type none) */
  TN_ASSERT_OK(ISCreateStride(PETSC_COMM_SELF, NN, 0, 1, &isall));
  TN_ASSERT_OK(MatCreateSubMatrices(W0, 1, &isall, &isall, MAT_INITIAL_MATRIX, &Wseq));
  for (int k = 0; k < 2; k++) {
    TN_ASSERT_OK(MakeNet(PETSC_COMM_WORLD, path, kb[k], &net));
    TN_ASSERT_OK(CheckPermuted(Wseq[0], net));
    TN_ASSERT_OK(TnNetDestroy(&net));
  }
  TN_ASSERT_OK(MatDestroySubMatrices(1, &Wseq));
  TN_ASSERT_OK(ISDestroy(&isall));
  TN_ASSERT_OK(TnNetDestroy(&net0));
}

/* Vectors between the natural and the partitioned order (TnNetNaturalMove):
   for a Scotch partition and a random one (every rank exchanging with every
   other), in one round and in rounds of 1 KB, with 1 and 3 values a node:
   forward, x[i b + c] = xnat[natural[i] b + c] exactly (each value is its
   node and sample), and reverse brings back xnat. */
static PetscErrorCode CheckMove(TnNet net, PetscInt bs)
{
  Vec                xnat, x;
  const PetscInt    *natural;
  PetscInt           N, n = PETSC_DECIDE, m, rs;
  PetscScalar       *a;
  const PetscScalar *ca;
  PetscBool          ok = PETSC_TRUE;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetSizes(net, &N, NULL));
  PetscCall(TnNetGetNatural(net, &natural));
  PetscCall(PetscSplitOwnership(PETSC_COMM_WORLD, &n, &N));
  PetscCall(VecCreateMPI(PETSC_COMM_WORLD, n * bs, N * bs, &xnat));
  PetscCall(VecSetBlockSize(xnat, bs));
  {
    Mat W;
    PetscCall(TnNetGetMat(net, &W));
    PetscCall(MatGetLocalSize(W, &m, NULL));
  }
  PetscCall(VecCreateMPI(PETSC_COMM_WORLD, m * bs, N * bs, &x));
  PetscCall(VecSetBlockSize(x, bs));
  PetscCall(VecGetOwnershipRange(xnat, &rs, NULL));
  PetscCall(VecGetArrayWrite(xnat, &a));
  for (PetscInt t = 0; t < n * bs; t++) a[t] = 1000.0 * ((rs + t) / bs) + (rs + t) % bs + 0.25;
  PetscCall(VecRestoreArrayWrite(xnat, &a));
  PetscCall(VecSet(x, -1));
  PetscCall(TnNetNaturalMove(net, xnat, x, SCATTER_FORWARD));
  PetscCall(VecGetArrayRead(x, &ca));
  for (PetscInt i = 0; i < m; i++)
    for (PetscInt c = 0; c < bs; c++) ok = (PetscBool)(ok && ca[i * bs + c] == 1000.0 * natural[i] + c + 0.25);
  PetscCall(VecRestoreArrayRead(x, &ca));
  PetscCall(VecSet(xnat, -1));
  PetscCall(TnNetNaturalMove(net, xnat, x, SCATTER_REVERSE));
  PetscCall(VecGetArrayRead(xnat, &ca));
  for (PetscInt t = 0; t < n * bs; t++) ok = (PetscBool)(ok && ca[t] == 1000.0 * ((rs + t) / bs) + (rs + t) % bs + 0.25);
  PetscCall(VecRestoreArrayRead(xnat, &ca));
  CU_ASSERT(ok);
  PetscCall(VecDestroy(&xnat));
  PetscCall(VecDestroy(&x));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void TestNaturalMove(void)
{
  PetscMPIInt rank, size;
  PetscInt    part[NN];
  char        path[PETSC_MAX_PATH_LEN];
  const char *kb[] = {"0", "1"};
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  for (int p = 0; p < 2; p++) {
    if (p == 0) {
      TN_ASSERT_OK(PartitionOn(PETSC_COMM_WORLD, size, part, NULL, NULL));
    } else
      for (PetscInt i = 0; i < NN; i++) part[i] = (i * 7919 + i / 5) % size; /* scattered, every part non-empty */
    PetscSNPrintf(path, sizeof(path), "%s/move_P%d_%d.txt", TnTestTmpDir(), (int)size, p);
    WritePartitionFile(path, part);
    MPI_Barrier(PETSC_COMM_WORLD);
    for (int k = 0; k < 2; k++) {
      TnNet net;
      TN_ASSERT_OK(MakeNet(PETSC_COMM_WORLD, path, kb[k], &net));
      TN_ASSERT_OK(CheckMove(net, 1));
      TN_ASSERT_OK(CheckMove(net, 3));
      TN_ASSERT_OK(TnNetDestroy(&net));
    }
  }
}

static void TestRefusals(void)
{
  TnPartitioner pt;
  TnNet         net;
  Mat           W;
  PetscInt      part[NN];
  TN_ASSERT_OK(TnPartitionerCreate(PETSC_COMM_WORLD, &pt));
  TN_ASSERT_FAILS(TnPartitionerApply(pt, 2, part, NULL)); /* no graph yet */
  TN_ASSERT_FAILS(TnPartitionerSetImbalance(pt, 2.0));
  TN_ASSERT_OK(MakeNet(PETSC_COMM_WORLD, NULL, NULL, &net));
  TN_ASSERT_OK(TnNetGetMat(net, &W));
  TN_ASSERT_OK(TnPartitionerSetGraph(pt, W));
  TN_ASSERT_FAILS(TnPartitionerApply(pt, 0, part, NULL));
  TN_ASSERT_FAILS(TnPartitionerApply(pt, NN + 1, part, NULL));
  TN_ASSERT_OK(TnPartitionerApply(pt, NN, part, NULL)); /* one node a part is allowed */
  TN_ASSERT_OK(TnPartitionerDestroy(&pt));
  TN_ASSERT_OK(TnNetDestroy(&net));
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("partition", NULL, NULL);
  CU_add_test(s, "reproducible, from one rank or all", TestReproducible);
  CU_add_test(s, "statistics against an independent count", TestStats);
  CU_add_test(s, "the runtime on the partition file agrees", TestRuntime);
  CU_add_test(s, "rows moved in rounds: W permuted bit for bit", TestRounds);
  CU_add_test(s, "vectors moved between the natural and partitioned orders", TestNaturalMove);
  CU_add_test(s, "refusals", TestRefusals);
}
