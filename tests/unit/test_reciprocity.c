/* The er generator's reciprocity control (src/net/er.c):
   - the measured reciprocity #{(i,j): i != j, W_ij and W_ji in P} / off-diagonal
     nnz is the requested r within a tolerance, for r = 0, 0.3, 0.5, 1 at
     N = 2000, k = 8, and every in-degree is exactly k (plus the self-loop);
   - the pattern is the same network at every rank count: an order-free
     checksum of its edges in natural numbering equals the one built on a
     1-rank sub-communicator;
   - out-of-range r, and r > 0 for another generator, are refused.
   The measurement here is independent of tenor logdet's: the whole pattern is
   gathered in natural numbering and each reverse edge looked up. */
#include "tn_test.h"
#include <tenor/net.h>

typedef struct {
  PetscReal recip;
  PetscInt  mindeg, maxdeg, self;
  uint64_t  checksum, nedges;
} PatternStats;

static int CmpU64(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Every edge i<-j as the key nat(i) * N + nat(j), on every rank. */
static PetscErrorCode GatherEdges(TnNet net, MPI_Comm comm, PetscInt N, uint64_t **keys, PetscInt *ne)
{
  Mat             W;
  const PetscInt *natural;
  PetscInt        rs, re, m, nloc = 0, *nat;
  PetscMPIInt     size, *cnt, *displ, mi, nli;
  uint64_t       *loc;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(TnNetGetMat(net, &W));
  PetscCall(TnNetGetNatural(net, &natural));
  PetscCall(MatGetOwnershipRange(W, &rs, &re));
  m = re - rs;
  PetscCall(PetscMalloc3(N, &nat, size, &cnt, size + 1, &displ));
  PetscCall(PetscMPIIntCast(m, &mi));
  PetscCallMPI(MPI_Allgather(&mi, 1, MPI_INT, cnt, 1, MPI_INT, comm));
  displ[0] = 0;
  for (PetscMPIInt r = 0; r < size; r++) displ[r + 1] = displ[r] + cnt[r];
  PetscCallMPI(MPI_Allgatherv(natural, mi, MPIU_INT, nat, cnt, displ, MPIU_INT, comm)); /* nat[partitioned index] */
  PetscCall(PetscMalloc1((size_t)m * (N < 64 ? N : 64) + 1, &loc));
  for (PetscInt i = rs; i < re; i++) {
    PetscInt        nc;
    const PetscInt *cols;
    PetscCall(MatGetRow(W, i, &nc, &cols, NULL));
    PetscCheck(nc <= 64, comm, PETSC_ERR_PLIB, "row with %" PetscInt_FMT " entries", nc);
    for (PetscInt t = 0; t < nc; t++) loc[nloc++] = (uint64_t)nat[i] * (uint64_t)N + (uint64_t)nat[cols[t]];
    PetscCall(MatRestoreRow(W, i, &nc, &cols, NULL));
  }
  PetscCall(PetscMPIIntCast(nloc, &nli));
  PetscCallMPI(MPI_Allgather(&nli, 1, MPI_INT, cnt, 1, MPI_INT, comm));
  for (PetscMPIInt r = 0; r < size; r++) displ[r + 1] = displ[r] + cnt[r];
  *ne = displ[size];
  PetscCall(PetscMalloc1(*ne + 1, keys));
  PetscCallMPI(MPI_Allgatherv(loc, nli, MPI_UINT64_T, *keys, cnt, displ, MPI_UINT64_T, comm));
  PetscCall(PetscFree(loc));
  PetscCall(PetscFree3(nat, cnt, displ));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode BuildAndMeasure(MPI_Comm comm, PetscInt N, PetscInt k, PetscReal r, PatternStats *st)
{
  TnNet     net;
  uint64_t *keys;
  PetscInt  ne, *deg, off = 0, rec = 0;
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(comm, &net));
  PetscCall(TnNetSetType(net, TNNET_ER));
  PetscCall(TnNetSetSize(net, N));
  PetscCall(TnNetSetDegree(net, k));
  PetscCall(TnNetSetReciprocity(net, r));
  PetscCall(TnNetSetSeed(net, 3));
  PetscCall(TnNetSetUp(net));
  PetscCall(GatherEdges(net, comm, N, &keys, &ne));
  qsort(keys, (size_t)ne, sizeof(uint64_t), CmpU64);
  PetscCall(PetscCalloc1(N, &deg));
  st->checksum = 0;
  st->self     = 0;
  for (PetscInt e = 0; e < ne; e++) {
    uint64_t i = keys[e] / (uint64_t)N, j = keys[e] % (uint64_t)N, rev = j * (uint64_t)N + i;
    st->checksum += TnRandU64(0, 0, keys[e]); /* order-free */
    if (i == j) {
      st->self++;
      continue;
    }
    deg[i]++;
    off++;
    if (bsearch(&rev, keys, (size_t)ne, sizeof(uint64_t), CmpU64)) rec++;
  }
  st->nedges = (uint64_t)ne;
  st->recip  = off ? (PetscReal)rec / off : 0;
  st->mindeg = PETSC_MAX_INT;
  st->maxdeg = 0;
  for (PetscInt i = 0; i < N; i++) st->mindeg = PetscMin(st->mindeg, deg[i]), st->maxdeg = PetscMax(st->maxdeg, deg[i]);
  PetscCall(PetscFree(deg));
  PetscCall(PetscFree(keys));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_measured_reciprocity(void)
{
  const PetscReal rs[] = {0, 0.3, 0.5, 1};
  const PetscInt  N = 2000, k = 8;
  for (int t = 0; t < 4; t++) {
    PatternStats st     = {0};
    PetscReal    expect = rs[t] + (1 - rs[t]) * (PetscReal)k / N; /* chance pairs among one-way edges */
    TN_ASSERT_OK(BuildAndMeasure(PETSC_COMM_WORLD, N, k, rs[t], &st));
    TN_ASSERT_CLOSE(st.recip, expect, 0.02);
    CU_ASSERT(st.mindeg == k && st.maxdeg == k);
    CU_ASSERT(st.self == N);
  }
}

static void test_rank_invariance(void)
{
  const PetscReal rs[] = {0, 0.3, 1};
  PetscMPIInt     rank;
  MPI_Comm        one;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  MPI_Comm_split(PETSC_COMM_WORLD, rank == 0 ? 0 : MPI_UNDEFINED, 0, &one);
  for (int t = 0; t < 3; t++) {
    PatternStats all = {0}, ref = {0};
    uint64_t     v[2];
    TN_ASSERT_OK(BuildAndMeasure(PETSC_COMM_WORLD, 1001, 6, rs[t], &all)); /* odd N: one node out per matching */
    if (one != MPI_COMM_NULL) TN_ASSERT_OK(BuildAndMeasure(one, 1001, 6, rs[t], &ref));
    v[0] = ref.checksum;
    v[1] = ref.nedges;
    MPI_Bcast(v, 2, MPI_UINT64_T, 0, PETSC_COMM_WORLD);
    CU_ASSERT(all.checksum == v[0]);
    CU_ASSERT(all.nedges == v[1]);
  }
  if (one != MPI_COMM_NULL) MPI_Comm_free(&one);
}

static PetscErrorCode SetUpWith(const char type[], PetscReal r)
{
  TnNet          net;
  PetscErrorCode ierr;
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(PETSC_COMM_WORLD, &net));
  PetscCall(TnNetSetType(net, type));
  PetscCall(TnNetSetSize(net, 40));
  PetscCall(TnNetSetDegree(net, 4));
  PetscCall(TnNetSetReciprocity(net, r));
  ierr = TnNetSetUp(net);
  PetscCall(TnNetDestroy(&net));
  return ierr;
}

static void test_bad_reciprocity(void)
{
  TN_ASSERT_OK(SetUpWith(TNNET_ER, 0.25));
  TN_ASSERT_FAILS(SetUpWith(TNNET_ER, 1.5));
  TN_ASSERT_FAILS(SetUpWith(TNNET_ER, -0.1));
  TN_ASSERT_FAILS(SetUpWith(TNNET_ER, NAN));
  TN_ASSERT_FAILS(SetUpWith(TNNET_SMALLWORLD, 0.5));
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("reciprocity", NULL, NULL);
  CU_add_test(s, "measured = requested, in-degree exactly k", test_measured_reciprocity);
  CU_add_test(s, "same network at every rank count", test_rank_invariance);
  CU_add_test(s, "bad values refused", test_bad_reciprocity);
}
