/* The Hopfield memory (src/recall, docs/recall.md), against results known by
   hand or computed here by an independent serial reference:
   - p = 1 on a full net is retrieved exactly (m = 1, one sweep) from any
     noise < 1/2, by both fields and both updates;
   - orthogonal (Hadamard) patterns from a file are fixed points (m = 1, no
     flip), and one flipped bit is corrected in one sweep;
   - the overlap form gives exactly the trajectory of the explicit W (final
     states, sweeps, flips) on a full net, async and sync;
   - both match a dense serial reference (W from the patterns, sign dynamics
     in natural order, ties keep s_i) computed on every rank, and on an er
     net the explicit field matches the reference sync dynamics and the
     reference async dynamics colour by colour with the colored scheme's
     colouring: so the result is the same at every rank count;
   - bad input (p = 0, tests > p, noise outside [0, 1], file values other
     than +-1, a short line, p above the file's count, overlap on er) fails. */
#include "tn_test.h"
#include <tenor/net.h>
#include <tenor/dyn.h>
#include <tenor/recall.h>

static PetscErrorCode MakeNet(const char type[], PetscInt N, PetscInt k, TnNet *net)
{
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(PETSC_COMM_WORLD, net));
  PetscCall(TnNetSetType(*net, type));
  PetscCall(TnNetSetSize(*net, N));
  if (k > 0) PetscCall(TnNetSetDegree(*net, k));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode MakeRecall(TnNet net, PetscInt p, PetscReal noise, TnRecallUpdate u, TnRecallField f, TnRecall *r)
{
  PetscFunctionBeginUser;
  PetscCall(TnRecallCreate(net, r));
  PetscCall(TnRecallSetPatterns(*r, p));
  PetscCall(TnRecallSetSeed(*r, 5));
  PetscCall(TnRecallSetNoise(*r, noise));
  PetscCall(TnRecallSetUpdate(*r, u));
  PetscCall(TnRecallSetField(*r, f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode OnePattern(void)
{
  const PetscReal noises[] = {0.1, 0.3, 0.45, 0.49};
  PetscFunctionBeginUser;
  for (int f = TN_RECALL_FIELD_EXPLICIT; f <= TN_RECALL_FIELD_OVERLAP; f++)
    for (int u = 0; u < 2; u++)
      for (size_t q = 0; q < sizeof(noises) / sizeof(noises[0]); q++) {
        TnNet           net;
        TnRecall        r;
        TnRecallOutcome o;
        PetscCall(MakeNet(TNNET_FULL, 31, 0, &net));
        PetscCall(MakeRecall(net, 1, noises[q], (TnRecallUpdate)u, (TnRecallField)f, &r));
        PetscCall(TnRecallRunPattern(r, 0, &o));
        CU_ASSERT(o.noisy == (PetscInt)PetscFloorReal(noises[q] * 31 + 0.5));
        CU_ASSERT(o.overlap == 1.0);
        CU_ASSERT(o.sweeps == 1 && o.converged);
        CU_ASSERT(o.flips == o.noisy);
        PetscCall(TnRecallDestroy(&r));
        PetscCall(TnNetDestroy(&net));
      }
  PetscFunctionReturn(PETSC_SUCCESS);
}
static void test_one_pattern(void)
{
  TN_ASSERT_OK(OnePattern());
}

/* The p rows of a Sylvester-Hadamard matrix of order N = 16 (mutually
   orthogonal), written to a file by rank 0. */
static PetscErrorCode WriteHadamard(const char path[], PetscInt p)
{
  PetscMPIInt rank;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  if (!rank) {
    FILE *fp = fopen(path, "w");
    PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", path);
    fprintf(fp, "# Hadamard rows\n");
    for (PetscInt mu = 0; mu < p; mu++)
      for (PetscInt i = 0; i < 16; i++) fprintf(fp, "%s%s", __builtin_popcount((unsigned)(mu & i)) % 2 ? "-1" : "+1", i < 15 ? (mu % 2 ? "," : " ") : "\n");
    fclose(fp);
  }
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Orthogonal(void)
{
  char path[PETSC_MAX_PATH_LEN];
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(path, sizeof path, "%s/hadamard.txt", TnTestTmpDir()));
  PetscCall(WriteHadamard(path, 4));
  for (int f = TN_RECALL_FIELD_EXPLICIT; f <= TN_RECALL_FIELD_OVERLAP; f++)
    for (int noisy = 0; noisy < 2; noisy++) {
      TnNet    net;
      TnRecall r;
      PetscInt p;
      PetscCall(MakeNet(TNNET_FULL, 16, 0, &net));
      PetscCall(MakeRecall(net, 0, noisy ? 1.0 / 16 : 0, TN_RECALL_ASYNC, (TnRecallField)f, &r));
      PetscCall(TnRecallSetPatternFile(r, path));
      PetscCall(TnRecallGetInfo(r, NULL, &p, NULL, NULL, NULL, NULL));
      CU_ASSERT(p == 4); /* p = 0: every pattern of the file */
      for (PetscInt mu = 0; mu < p; mu++) {
        TnRecallOutcome o;
        signed char     s[16];
        PetscCall(TnRecallRunPattern(r, mu, &o));
        PetscCall(TnRecallGetState(r, 16, s));
        CU_ASSERT(o.overlap == 1.0 && o.converged);
        CU_ASSERT(o.sweeps == noisy && o.flips == noisy);
        for (PetscInt i = 0; i < 16; i++) CU_ASSERT(s[i] == (__builtin_popcount((unsigned)(mu & i)) % 2 ? -1 : 1));
      }
      PetscCall(TnRecallDestroy(&r));
      PetscCall(TnNetDestroy(&net));
    }
  PetscFunctionReturn(PETSC_SUCCESS);
}
static void test_orthogonal(void)
{
  TN_ASSERT_OK(Orthogonal());
}

/* Serial reference on every rank: xi from the generator's definition, W_ij =
   c_ij / k_i on the adjacency A (natural order, no diagonal), sign dynamics
   from s, async in the order `order` (n nodes) or sync; ties keep s_i. The
   result and the sweeps that flipped something. */
typedef struct {
  PetscInt   N, p;
  PetscBool *A;
  PetscInt  *order; /* async visiting order, N entries */
} Ref;

static int Xi(PetscInt seed, PetscInt mu, PetscInt n)
{
  return TnRandU64((uint64_t)seed, (uint64_t)mu, (uint64_t)n) >> 63 ? 1 : -1;
}

static void RefRun(const Ref *ref, PetscInt seed, PetscBool sync, PetscInt maxsw, signed char s[], PetscInt *sweeps, PetscInt64 *flips)
{
  const PetscInt N = ref->N;
  PetscInt64    *c = malloc(sizeof(PetscInt64) * N * N);
  signed char   *t = malloc(N);
  for (PetscInt i = 0; i < N; i++)
    for (PetscInt j = 0; j < N; j++) {
      c[i * N + j] = 0;
      for (PetscInt mu = 0; mu < ref->p; mu++) c[i * N + j] += Xi(seed, mu, i) * Xi(seed, mu, j);
    }
  *sweeps = 0;
  *flips  = 0;
  for (PetscInt sw = 0; sw < maxsw; sw++) {
    PetscInt64 fl = 0;
    memcpy(t, s, N);
    for (PetscInt q = 0; q < N; q++) {
      const PetscInt i = sync ? q : ref->order[q];
      PetscInt64     h = 0; /* k_i h_i, an integer */
      for (PetscInt j = 0; j < N; j++)
        if (ref->A[i * N + j] && j != i) h += c[i * N + j] * (sync ? t[j] : s[j]);
      {
        const int v = h > 0 ? 1 : h < 0 ? -1
                                        : s[i];
        fl += v != s[i];
        s[i] = (signed char)v;
      }
    }
    if (!fl) break;
    (*sweeps)++;
    *flips += fl;
  }
  free(c);
  free(t);
}

static PetscErrorCode FullMatchesReference(void)
{
  const PetscInt N = 30, p = 8;
  Ref            ref = {N, p, NULL, NULL};
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(N * N, &ref.A, N, &ref.order));
  for (PetscInt i = 0; i < N * N; i++) ref.A[i] = PETSC_TRUE;
  for (PetscInt i = 0; i < N; i++) ref.order[i] = i;
  for (int u = 0; u < 2; u++) {
    signed char     out[2][30];
    TnRecallOutcome o[2];
    PetscInt64      moved = 0;
    for (int f = 0; f < 2; f++) {
      TnNet    net;
      TnRecall r;
      PetscCall(MakeNet(TNNET_FULL, N, 0, &net));
      PetscCall(MakeRecall(net, p, 0.0, (TnRecallUpdate)u, f ? TN_RECALL_FIELD_OVERLAP : TN_RECALL_FIELD_EXPLICIT, &r));
      for (PetscInt mu = 0; mu < p; mu++) {
        signed char s[30];
        PetscInt    sweeps;
        PetscInt64  flips;
        PetscCall(TnRecallRunPattern(r, mu, &o[f]));
        PetscCall(TnRecallGetState(r, N, out[f]));
        for (PetscInt i = 0; i < N; i++) s[i] = (signed char)Xi(5, mu, i);
        RefRun(&ref, 5, (PetscBool)u, 100, s, &sweeps, &flips);
        CU_ASSERT(memcmp(s, out[f], N) == 0);
        CU_ASSERT(sweeps == o[f].sweeps && flips == o[f].flips);
        moved += flips;
      }
      PetscCall(TnRecallDestroy(&r));
      PetscCall(TnNetDestroy(&net));
    }
    CU_ASSERT(moved > 0); /* alpha = 8/29: the patterns themselves are not all fixed points */
  }
  PetscCall(PetscFree2(ref.A, ref.order));
  PetscFunctionReturn(PETSC_SUCCESS);
}
static void test_full_reference(void)
{
  TN_ASSERT_OK(FullMatchesReference());
}

/* Explicit and overlap fields, with noise: the same outcome and final state
   for every pattern. */
static PetscErrorCode ExplicitEqualsOverlap(void)
{
  const PetscInt N = 40, p = 6;
  PetscFunctionBeginUser;
  for (int u = 0; u < 2; u++) {
    TnNet    net[2];
    TnRecall r[2];
    for (int f = 0; f < 2; f++) {
      PetscCall(MakeNet(TNNET_FULL, N, 0, &net[f]));
      PetscCall(MakeRecall(net[f], p, 0.25, (TnRecallUpdate)u, f ? TN_RECALL_FIELD_OVERLAP : TN_RECALL_FIELD_EXPLICIT, &r[f]));
    }
    for (PetscInt mu = 0; mu < p; mu++) {
      TnRecallOutcome o[2];
      signed char     s[2][40];
      for (int f = 0; f < 2; f++) {
        PetscCall(TnRecallRunPattern(r[f], mu, &o[f]));
        PetscCall(TnRecallGetState(r[f], N, s[f]));
      }
      CU_ASSERT(memcmp(s[0], s[1], N) == 0);
      CU_ASSERT(o[0].overlap == o[1].overlap && o[0].sweeps == o[1].sweeps && o[0].flips == o[1].flips && o[0].noisy == o[1].noisy && o[0].converged == o[1].converged);
      CU_ASSERT(o[0].noisy == 10);
    }
    for (int f = 0; f < 2; f++) {
      PetscCall(TnRecallDestroy(&r[f]));
      PetscCall(TnNetDestroy(&net[f]));
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
static void test_explicit_overlap(void)
{
  TN_ASSERT_OK(ExplicitEqualsOverlap());
}

/* er: the adjacency from TnNetGetParamMap, the colours from the colored
   scheme (natural order), gathered on every rank. */
static PetscErrorCode GatherER(TnNet net, PetscInt N, PetscBool *A, PetscInt *color)
{
  PetscInt       *row, *col, npar, *c;
  PetscScalar    *param;
  TnDyn           dyn;
  const PetscInt *natural, *cl;
  TnParamLayout   L;
  PetscFunctionBeginUser;
  PetscCall(TnNetSetUp(net));
  PetscCall(TnNetGetParamArray(net, &param, &npar));
  PetscCall(TnNetGetParamLayout(net, &L));
  PetscCall(TnNetGetParamMap(net, &row, &col));
  PetscCall(PetscCalloc1(N * N, &c));
  for (PetscInt q = 0; q < L.nd + L.no; q++) c[row[q] * N + col[q]] = 1;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, c, (PetscMPIInt)(N * N), MPIU_INT, MPI_MAX, PETSC_COMM_WORLD));
  for (PetscInt i = 0; i < N * N; i++) A[i] = (PetscBool)(c[i] != 0);
  PetscCall(PetscFree2(row, col));
  PetscCall(PetscFree(c));
  PetscCall(TnDynCreate(net, &dyn));
  PetscCall(TnDynSetScheme(dyn, TN_SCHEME_COLORED));
  PetscCall(TnDynSetBatchSize(dyn, 1));
  PetscCall(TnDynSetUp(dyn));
  PetscCall(TnDynGetColors(dyn, &cl));
  PetscCall(TnNetGetNatural(net, &natural));
  for (PetscInt i = 0; i < N; i++) color[i] = -1;
  for (PetscInt i = 0; i < L.m; i++) color[natural[i]] = cl[i];
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, color, (PetscMPIInt)N, MPIU_INT, MPI_MAX, PETSC_COMM_WORLD));
  PetscCall(TnDynDestroy(&dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode ERMatchesReference(void)
{
  const PetscInt N = 60, k = 6, p = 3;
  Ref            ref = {N, p, NULL, NULL};
  PetscInt      *color, ncol = 0, q = 0;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc3(N * N, &ref.A, N, &ref.order, N, &color));
  {
    TnNet net;
    PetscCall(MakeNet(TNNET_ER, N, k, &net));
    PetscCall(GatherER(net, N, ref.A, color));
    PetscCall(TnNetDestroy(&net));
  }
  for (PetscInt i = 0; i < N; i++) ncol = PetscMax(ncol, color[i] + 1);
  for (PetscInt c = 0; c < ncol; c++) /* colour by colour, natural order within */
    for (PetscInt i = 0; i < N; i++)
      if (color[i] == c) ref.order[q++] = i;
  CU_ASSERT(q == N && ncol > 1);
  for (int u = 0; u < 2; u++) {
    TnNet      net;
    TnRecall   r;
    PetscInt64 moved = 0;
    PetscCall(MakeNet(TNNET_ER, N, k, &net));
    PetscCall(MakeRecall(net, p, 0.0, (TnRecallUpdate)u, TN_RECALL_FIELD_AUTO, &r));
    for (PetscInt mu = 0; mu < p; mu++) {
      TnRecallOutcome o;
      signed char     s[60], t[60];
      PetscInt        sweeps;
      PetscInt64      flips;
      TnRecallField   f;
      PetscCall(TnRecallRunPattern(r, mu, &o));
      PetscCall(TnRecallGetState(r, N, t));
      PetscCall(TnRecallGetInfo(r, NULL, NULL, NULL, NULL, NULL, &f));
      CU_ASSERT(f == TN_RECALL_FIELD_EXPLICIT);
      for (PetscInt i = 0; i < N; i++) s[i] = (signed char)Xi(5, mu, i);
      RefRun(&ref, 5, (PetscBool)u, 100, s, &sweeps, &flips);
      CU_ASSERT(memcmp(s, t, N) == 0);
      CU_ASSERT(sweeps == o.sweeps && flips == o.flips);
      moved += flips;
    }
    CU_ASSERT(moved > 0); /* alpha = 3/6: not every pattern is a fixed point */
    PetscCall(TnRecallDestroy(&r));
    PetscCall(TnNetDestroy(&net));
  }
  PetscCall(PetscFree3(ref.A, ref.order, color));
  PetscFunctionReturn(PETSC_SUCCESS);
}
static void test_er_reference(void)
{
  TN_ASSERT_OK(ERMatchesReference());
}

static PetscErrorCode WriteText(const char path[], const char text[])
{
  PetscMPIInt rank;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  if (!rank) {
    FILE *fp = fopen(path, "w");
    PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", path);
    fputs(text, fp);
    fclose(fp);
  }
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One bad setting on a fresh object: SetUp must fail on every rank. */
static PetscErrorCode BadSetUp(const char type[], PetscInt p, PetscInt tests, const char file[], TnRecallField f)
{
  TnNet    net;
  TnRecall r;
  PetscFunctionBeginUser;
  PetscCall(MakeNet(type, 4, type[0] == 'e' ? 2 : 0, &net));
  PetscCall(MakeRecall(net, p, 0, TN_RECALL_ASYNC, f, &r));
  PetscCall(TnRecallSetTests(r, tests));
  if (file) PetscCall(TnRecallSetPatternFile(r, file));
  TN_ASSERT_FAILS(TnRecallSetUp(r));
  PetscCall(TnRecallDestroy(&r));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode BadInput(void)
{
  char     bad[PETSC_MAX_PATH_LEN], shortl[PETSC_MAX_PATH_LEN], good[PETSC_MAX_PATH_LEN];
  TnNet    net;
  TnRecall r;
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(bad, sizeof bad, "%s/bad.txt", TnTestTmpDir()));
  PetscCall(PetscSNPrintf(shortl, sizeof shortl, "%s/short.txt", TnTestTmpDir()));
  PetscCall(PetscSNPrintf(good, sizeof good, "%s/good.txt", TnTestTmpDir()));
  PetscCall(WriteText(bad, "1 -1 1 1\n1 0 -1 1\n"));
  PetscCall(WriteText(shortl, "1 -1 1 1\n1 -1 1\n"));
  PetscCall(WriteText(good, "1 -1 1 1\n+1 -1 -1 1\n"));
  PetscCall(BadSetUp(TNNET_FULL, 0, 0, NULL, TN_RECALL_FIELD_AUTO));   /* p = 0 without a file */
  PetscCall(BadSetUp(TNNET_FULL, 2, 3, NULL, TN_RECALL_FIELD_AUTO));   /* tests > p */
  PetscCall(BadSetUp(TNNET_FULL, 0, 0, bad, TN_RECALL_FIELD_AUTO));    /* a value 0 */
  PetscCall(BadSetUp(TNNET_FULL, 0, 0, shortl, TN_RECALL_FIELD_AUTO)); /* a short line */
  PetscCall(BadSetUp(TNNET_FULL, 3, 0, good, TN_RECALL_FIELD_AUTO));   /* p above the file's 2 */
  PetscCall(BadSetUp(TNNET_ER, 2, 0, NULL, TN_RECALL_FIELD_OVERLAP));  /* overlap needs full */
  PetscCall(BadSetUp(TNNET_FULL, 0, 0, "/nonexistent/patterns.txt", TN_RECALL_FIELD_AUTO));
  PetscCall(MakeNet(TNNET_FULL, 4, 0, &net));
  PetscCall(TnRecallCreate(net, &r));
  TN_ASSERT_FAILS(TnRecallSetNoise(r, 1.5));
  TN_ASSERT_FAILS(TnRecallSetNoise(r, -0.1));
  TN_ASSERT_FAILS(TnRecallSetMaxSweeps(r, 0));
  PetscCall(TnRecallSetPatternFile(r, good));
  {
    TnRecallOutcome o;
    PetscInt        p;
    TN_ASSERT_OK(TnRecallGetInfo(r, NULL, &p, NULL, NULL, NULL, NULL));
    CU_ASSERT(p == 2);
    TN_ASSERT_FAILS(TnRecallRunPattern(r, 2, &o));
  }
  PetscCall(TnRecallDestroy(&r));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}
static void test_bad_input(void)
{
  TN_ASSERT_OK(BadInput());
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("recall", NULL, NULL);
  CU_add_test(s, "p = 1 is retrieved from noise < 1/2", test_one_pattern);
  CU_add_test(s, "orthogonal patterns are fixed points, one flip is corrected", test_orthogonal);
  CU_add_test(s, "full net: both fields match a serial reference", test_full_reference);
  CU_add_test(s, "overlap form = explicit W, with noise", test_explicit_overlap);
  CU_add_test(s, "er: explicit field matches the reference (colour order)", test_er_reference);
  CU_add_test(s, "bad input refused", test_bad_input);
}
