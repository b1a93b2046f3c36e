/* Data sets with known log-densities (src/data): gmrf2d covariance, exact
   log-density and entropy against dense LAPACK; gauss (dense and MUMPS paths)
   against dense; mixture against the direct formula; split, shuffle,
   standardisation, dequantisation; every sample and index the same as on a
   1-rank sub-communicator; gmrf2d's conditional references for a clamp set
   (H(t | x) and log p(t | x) against dense LAPACK and against
   log p(t, x) - log p(x) of the dense marginal, to 1e-10). */
#include "tn_test.h"
#include <tenor/data.h>
#include <petscblaslapack.h>

/* Every rank: all samples of a part, sample-major X[p N + i] (PetscMalloc'd). */
static PetscErrorCode GatherPart(TnData data, MPI_Comm comm, TnDataPart part, PetscInt N, PetscReal **X, PetscInt *count)
{
  PetscInt           S, St, Sv, n = PETSC_DECIDE, NN = N, valid;
  Vec                v, all;
  VecScatter         sc;
  const PetscScalar *a;
  PetscFunctionBeginUser;
  PetscCall(TnDataGetNumSamples(data, &S));
  PetscCall(TnDataGetPartSizes(data, &St, &Sv));
  *count = part == TN_DATA_TRAIN ? St : part == TN_DATA_VALID ? Sv
                                                              : S;
  PetscCall(PetscSplitOwnership(comm, &n, &NN));
  PetscCall(VecCreateMPI(comm, n * *count, PETSC_DETERMINE, &v));
  PetscCall(VecSetBlockSize(v, *count));
  PetscCall(TnDataGetBatchPart(data, part, 0, v, &valid));
  PetscCall(VecScatterCreateToAll(v, &sc, &all));
  PetscCall(VecScatterBegin(sc, v, all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(sc, v, all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(PetscMalloc1(N * *count, X));
  PetscCall(VecGetArrayRead(all, &a));
  for (PetscInt i = 0; i < N; i++)
    for (PetscInt b = 0; b < *count; b++) (*X)[b * N + i] = a[i * *count + b];
  PetscCall(VecRestoreArrayRead(all, &a));
  PetscCall(VecScatterDestroy(&sc));
  PetscCall(VecDestroy(&all));
  PetscCall(VecDestroy(&v));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Dense periodic precision tau (kappa^2 I - Delta), node k = i n + j. */
static void GMRFDense(PetscInt n, PetscReal tau, PetscReal kappa2, PetscReal *Q)
{
  PetscInt N = n * n;
  for (PetscInt k = 0; k < N * N; k++) Q[k] = 0;
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt j = 0; j < n; j++) {
      PetscInt k = i * n + j, nb[4] = {((i + 1) % n) * n + j, ((i + n - 1) % n) * n + j, i * n + (j + 1) % n, i * n + (j + n - 1) % n};
      Q[k * N + k] += tau * (kappa2 + 4);
      for (int e = 0; e < 4; e++) Q[k * N + nb[e]] -= tau;
    }
}

/* log det of an SPD matrix; on return C holds its inverse if inv. */
static PetscReal LogDetSPD(PetscInt N, const PetscReal *Q, PetscReal *C, PetscBool inv)
{
  PetscBLASInt n  = (PetscBLASInt)N, info;
  PetscReal    ld = 0;
  for (PetscInt k = 0; k < N * N; k++) C[k] = Q[k];
  LAPACKpotrf_("L", &n, C, &n, &info);
  CU_ASSERT(info == 0);
  for (PetscInt i = 0; i < N; i++) ld += 2 * log(C[i * N + i]);
  if (inv) {
    LAPACKpotri_("L", &n, C, &n, &info);
    for (PetscInt i = 0; i < N; i++)
      for (PetscInt j = 0; j < i; j++) C[i * N + j] = C[j * N + i]; /* column-major lower -> full */
  }
  return ld;
}

static PetscReal Quad(PetscInt N, const PetscReal *Q, const PetscReal *x)
{
  PetscReal q = 0;
  for (PetscInt i = 0; i < N; i++)
    for (PetscInt j = 0; j < N; j++) q += x[i] * Q[i * N + j] * x[j];
  return q;
}

static TnData MakeGMRF(MPI_Comm comm, PetscInt n, PetscInt S)
{
  TnData d;
  TnDataCreate(comm, &d);
  TnDataSetType(d, TNDATA_GMRF2D);
  TnDataSetSamples(d, S, 3);
  TnDataSetGMRF(d, n, 1.3, 0.5);
  TnDataLoad(d, n * n);
  return d;
}

static void test_gmrf_covariance(void)
{
  const PetscInt n = 8, N = 64, S = 4000;
  TnData         d = MakeGMRF(PETSC_COMM_WORLD, n, S);
  PetscReal     *Q = malloc(sizeof(PetscReal) * N * N), *C = malloc(sizeof(PetscReal) * N * N), *X;
  PetscReal      worst = 0;
  PetscInt       cnt;
  GMRFDense(n, 1.3, 0.5, Q);
  LogDetSPD(N, Q, C, PETSC_TRUE);
  TN_ASSERT_OK(GatherPart(d, PETSC_COMM_WORLD, TN_DATA_ALL, N, &X, &cnt));
  CU_ASSERT(cnt == S);
  /* z-score of each empirical second moment against Sigma = Q^-1 (zero mean) */
  for (PetscInt i = 0; i < N; i++)
    for (PetscInt j = 0; j <= i; j++) {
      PetscReal c = 0, se = sqrt((C[i * N + i] * C[j * N + j] + C[i * N + j] * C[i * N + j]) / S);
      for (PetscInt s = 0; s < S; s++) c += X[s * N + i] * X[s * N + j] / S;
      worst = PetscMax(worst, fabs(c - C[i * N + j]) / se);
    }
  if (worst >= 5) fprintf(stderr, "gmrf2d covariance: worst z-score %g\n", (double)worst);
  CU_ASSERT(worst < 5);
  { /* whitened: x'Qx ~ chi^2_N, so mean x'Qx / N = 1 +- sqrt(2 / (N S)) */
    PetscReal t = 0;
    for (PetscInt s = 0; s < S; s++) t += Quad(N, Q, X + s * N) / ((PetscReal)N * S);
    if (fabs(t - 1) >= 5 * sqrt(2.0 / (N * S))) fprintf(stderr, "gmrf2d: mean x'Qx/N = %g\n", (double)t);
    CU_ASSERT(fabs(t - 1) < 5 * sqrt(2.0 / (N * S)));
  }
  /* the correlations are visible: neighbour correlation well above 0 */
  CU_ASSERT(C[1] / C[0] > 0.2);
  PetscFree(X);
  free(Q);
  free(C);
  TnDataDestroy(&d);
}

static void test_gmrf_exact(void)
{
  const PetscInt n = 6, N = 36, S = 10;
  TnData         d = MakeGMRF(PETSC_COMM_WORLD, n, S);
  PetscReal     *Q = malloc(sizeof(PetscReal) * N * N), *C = malloc(sizeof(PetscReal) * N * N), *X, lp[10], H, ld;
  PetscBool      known;
  PetscInt       cnt;
  GMRFDense(n, 1.3, 0.5, Q);
  ld = LogDetSPD(N, Q, C, PETSC_FALSE);
  TN_ASSERT_OK(GatherPart(d, PETSC_COMM_WORLD, TN_DATA_ALL, N, &X, &cnt));
  TN_ASSERT_OK(TnDataExactLogDensity(d, TN_DATA_ALL, 0, S, lp, &known));
  CU_ASSERT(known);
  for (PetscInt s = 0; s < S; s++) TN_ASSERT_CLOSE(lp[s], 0.5 * ld - 0.5 * Quad(N, Q, X + s * N) - 0.5 * N * log(2 * M_PI), 1e-10);
  TN_ASSERT_OK(TnDataExactEntropy(d, &H, &known));
  CU_ASSERT(known);
  TN_ASSERT_CLOSE(H, 0.5 * N * log(2 * M_PI * M_E) - 0.5 * ld, 1e-10); /* 1/2 log det(2 pi e Q^-1) */
  {
    char buf[512];
    TN_ASSERT_OK(TnDataDescribe(d, buf, sizeof(buf)));
    CU_ASSERT(strstr(buf, "exact entropy H = ") != NULL);
  }
  PetscFree(X);
  free(Q);
  free(C);
  TnDataDestroy(&d);
}

/* Gathered samples of part `part` (and training indices) on PETSC_COMM_WORLD
   equal those on a 1-rank sub-communicator, bitwise. */
typedef TnData (*Maker)(MPI_Comm);

static void CompareWithOneRank(Maker make, PetscInt N, TnDataPart part)
{
  PetscReal  *X[2]   = {NULL, NULL};
  PetscInt    cnt[2] = {0, 0}, ix[2][64];
  MPI_Comm    comms[2];
  PetscMPIInt rank;
  int         same = 1;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  comms[0] = PETSC_COMM_WORLD;
  MPI_Comm_split(PETSC_COMM_WORLD, rank == 0 ? 0 : MPI_UNDEFINED, 0, &comms[1]);
  for (int c = 0; c < 2; c++) {
    TnData d;
    if (comms[c] == MPI_COMM_NULL) continue;
    d = make(comms[c]);
    TN_ASSERT_OK(TnDataShuffle(d, 3, 99));
    TN_ASSERT_OK(GatherPart(d, comms[c], part, N, &X[c], &cnt[c]));
    for (PetscInt p = 0; p < PetscMin(cnt[c], 64); p++) TnDataGetSampleIndex(d, part, p, &ix[c][p]);
    TnDataDestroy(&d);
  }
  if (rank == 0) {
    same = cnt[0] == cnt[1] && !memcmp(X[0], X[1], sizeof(PetscReal) * N * cnt[0]);
    for (PetscInt p = 0; p < PetscMin(cnt[0], 64); p++) same = same && ix[0][p] == ix[1][p];
  }
  MPI_Bcast(&same, 1, MPI_INT, 0, PETSC_COMM_WORLD);
  CU_ASSERT(same);
  if (comms[1] != MPI_COMM_NULL) MPI_Comm_free(&comms[1]);
  PetscFree(X[0]);
  PetscFree(X[1]);
}

static TnData MakeGMRFSplit(MPI_Comm comm)
{
  TnData d;
  TnDataCreate(comm, &d);
  TnDataSetType(d, TNDATA_GMRF2D);
  TnDataSetSamples(d, 37, 5);
  TnDataSetGMRF(d, 5, 1.0, 0.5);
  TnDataSetValidationFraction(d, 0.3, 4);
  TnDataSetStandardize(d, PETSC_TRUE);
  TnDataLoad(d, 25);
  return d;
}

static TnData MakeMixture(MPI_Comm comm)
{
  TnData d;
  TnDataCreate(comm, &d);
  TnDataSetType(d, TNDATA_MIXTURE);
  TnDataSetSamples(d, 29, 8);
  TnDataSetMixture(d, 4, 1.5, 0.5, PETSC_TRUE);
  TnDataSetValidationFraction(d, 0.25, 2);
  TnDataLoad(d, 13);
  return d;
}

static void test_rank_invariance(void)
{
  CompareWithOneRank(MakeGMRFSplit, 25, TN_DATA_TRAIN);
  CompareWithOneRank(MakeGMRFSplit, 25, TN_DATA_VALID);
  CompareWithOneRank(MakeMixture, 13, TN_DATA_TRAIN);
  CompareWithOneRank(MakeMixture, 13, TN_DATA_ALL);
}

static void test_mixture(void)
{
  const PetscInt   N = 10, S = 4000;
  TnData           d;
  PetscReal       *X, *lp = malloc(sizeof(PetscReal) * S), H;
  const PetscReal *w, *mu, *sg;
  PetscInt         K, cnt;
  PetscBool        known;
  TnDataCreate(PETSC_COMM_WORLD, &d);
  TnDataSetType(d, TNDATA_MIXTURE);
  TnDataSetSamples(d, S, 21);
  TnDataSetMixture(d, 3, 1.5, 0.5, PETSC_TRUE);
  TN_ASSERT_OK(TnDataLoad(d, N));
  TN_ASSERT_OK(TnDataGetMixture(d, &K, &w, &mu, &sg));
  TN_ASSERT_OK(GatherPart(d, PETSC_COMM_WORLD, TN_DATA_ALL, N, &X, &cnt));
  TN_ASSERT_OK(TnDataExactLogDensity(d, TN_DATA_ALL, 0, S, lp, &known));
  CU_ASSERT(known);
  for (PetscInt s = 0; s < S; s += 97) { /* p(x) = sum_k w_k prod_i N(x_i; mu, sigma) */
    PetscReal p = 0;
    for (PetscInt k = 0; k < K; k++) {
      PetscReal l = log(w[k]);
      for (PetscInt i = 0; i < N; i++) l += -0.5 * pow((X[s * N + i] - mu[k * N + i]) / sg[k * N + i], 2) - log(sg[k * N + i]) - 0.5 * log(2 * M_PI);
      p += exp(l);
    }
    TN_ASSERT_CLOSE(lp[s], log(p), 1e-10);
  }
  for (PetscInt i = 0; i < N; i++) { /* sample mean vs sum_k w_k mu_k within 5 standard errors */
    PetscReal m = 0, m2 = 0, xm = 0;
    for (PetscInt k = 0; k < K; k++) {
      m += w[k] * mu[k * N + i];
      m2 += w[k] * (sg[k * N + i] * sg[k * N + i] + mu[k * N + i] * mu[k * N + i]);
    }
    for (PetscInt s = 0; s < S; s++) xm += X[s * N + i] / S;
    CU_ASSERT(fabs(xm - m) < 5 * sqrt((m2 - m * m) / S));
  }
  TN_ASSERT_OK(TnDataExactEntropy(d, &H, &known));
  CU_ASSERT(!known && H > 0); /* Monte Carlo estimate */
  PetscFree(X);
  free(lp);
  TnDataDestroy(&d);
}

/* Q = periodic chain 2.5 on the diagonal, -1 to the neighbours, plus 0.3
   to the node two along: sparse SPD. */
static void WriteQ(const char *path, PetscInt N, PetscReal *Q)
{
  PetscMPIInt rank;
  for (PetscInt k = 0; k < N * N; k++) Q[k] = 0;
  for (PetscInt i = 0; i < N; i++) {
    Q[i * N + i]           = 2.5;
    Q[i * N + (i + 1) % N] = Q[((i + 1) % N) * N + i] = -1;
    Q[i * N + (i + 2) % N] = Q[((i + 2) % N) * N + i] = 0.3;
  }
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  if (!rank) {
    FILE *fp = fopen(path, "w");
    fprintf(fp, "%%%%MatrixMarket matrix coordinate real general\n%d %d %d\n", (int)N, (int)N, (int)(5 * N));
    for (PetscInt i = 0; i < N; i++)
      for (PetscInt j = 0; j < N; j++)
        if (Q[i * N + j] != 0) fprintf(fp, "%d %d %.17g\n", (int)i + 1, (int)j + 1, Q[i * N + j]);
    fclose(fp);
  }
  MPI_Barrier(PETSC_COMM_WORLD);
}

static void CheckGauss(TnData d, PetscInt N, const PetscReal *Q, PetscReal ld)
{
  PetscReal *X, lp[40], H;
  PetscInt   cnt = 0;
  PetscBool  known;
  TN_ASSERT_OK(GatherPart(d, PETSC_COMM_WORLD, TN_DATA_ALL, N, &X, &cnt));
  TN_ASSERT_OK(TnDataExactLogDensity(d, TN_DATA_ALL, 0, cnt, lp, &known));
  CU_ASSERT(known);
  for (PetscInt s = 0; s < cnt; s++) TN_ASSERT_CLOSE(lp[s], 0.5 * ld - 0.5 * Quad(N, Q, X + s * N) - 0.5 * N * log(2 * M_PI), 1e-10);
  TN_ASSERT_OK(TnDataExactEntropy(d, &H, &known));
  CU_ASSERT(known);
  TN_ASSERT_CLOSE(H, 0.5 * N * log(2 * M_PI * M_E) - 0.5 * ld, 1e-10);
  PetscFree(X);
}

static void test_gauss(void)
{
  const PetscInt N = 30, S = 40;
  PetscReal     *Q = malloc(sizeof(PetscReal) * N * N), *C = malloc(sizeof(PetscReal) * N * N), ld;
  char           qpath[PETSC_MAX_PATH_LEN], cpath[PETSC_MAX_PATH_LEN];
  PetscMPIInt    rank;
  TnData         d;
  snprintf(qpath, sizeof(qpath), "%s/q.mtx", TnTestTmpDir());
  snprintf(cpath, sizeof(cpath), "%s/gx.csv", TnTestTmpDir());
  WriteQ(qpath, N, Q);
  ld = LogDetSPD(N, Q, C, PETSC_FALSE);
  /* generated: dense Cholesky path */
  TnDataCreate(PETSC_COMM_WORLD, &d);
  TnDataSetType(d, TNDATA_GAUSS);
  TnDataSetGaussPrecision(d, qpath);
  TnDataSetSamples(d, S, 4);
  TN_ASSERT_OK(TnDataLoad(d, N));
  CheckGauss(d, N, Q, ld);
  TnDataDestroy(&d);
  /* samples from a file: MUMPS determinant path */
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  if (!rank) {
    FILE *fp = fopen(cpath, "w");
    for (PetscInt s = 0; s < 7; s++)
      for (PetscInt i = 0; i < N; i++) fprintf(fp, "%.17g%s", TnRandNormal(1, 2, s * N + i), i + 1 < N ? "," : "\n");
    fclose(fp);
  }
  MPI_Barrier(PETSC_COMM_WORLD);
  TnDataCreate(PETSC_COMM_WORLD, &d);
  TnDataSetType(d, TNDATA_GAUSS);
  TnDataSetGaussPrecision(d, qpath);
  TnDataSetFile(d, cpath, NULL);
  TN_ASSERT_OK(TnDataLoad(d, N));
  CheckGauss(d, N, Q, ld);
  TnDataDestroy(&d);
  free(Q);
  free(C);
}

static void test_split_shuffle(void)
{
  TnData    d;
  PetscInt  St, Sv, *seen = calloc(101, sizeof(PetscInt)), a[80], b[80];
  PetscBool differ = PETSC_FALSE;
  TnDataCreate(PETSC_COMM_WORLD, &d);
  TnDataSetSamples(d, 101, 1);
  TnDataSetValidationFraction(d, 0.2, 6);
  TN_ASSERT_OK(TnDataLoad(d, 7));
  TN_ASSERT_OK(TnDataGetPartSizes(d, &St, &Sv));
  CU_ASSERT(Sv == 20 && St == 81);
  for (PetscInt p = 0; p < St; p++) {
    PetscInt s;
    TnDataGetSampleIndex(d, TN_DATA_TRAIN, p, &s);
    seen[s]++;
  }
  for (PetscInt p = 0; p < Sv; p++) {
    PetscInt s;
    TnDataGetSampleIndex(d, TN_DATA_VALID, p, &s);
    seen[s] += 10;
  }
  for (PetscInt s = 0; s < 101; s++) CU_ASSERT(seen[s] == 1 || seen[s] == 10); /* a partition */
  TN_ASSERT_OK(TnDataShuffle(d, 0, 5));
  for (PetscInt p = 0; p < 80; p++) TnDataGetSampleIndex(d, TN_DATA_TRAIN, p, &a[p]);
  TN_ASSERT_OK(TnDataShuffle(d, 1, 5));
  for (PetscInt p = 0; p < 80; p++) {
    TnDataGetSampleIndex(d, TN_DATA_TRAIN, p, &b[p]);
    differ = differ || a[p] != b[p];
  }
  CU_ASSERT(differ);
  TN_ASSERT_OK(TnDataShuffle(d, 0, 5)); /* same (seed, epoch): same order */
  for (PetscInt p = 0; p < 80; p++) {
    TnDataGetSampleIndex(d, TN_DATA_TRAIN, p, &b[p]);
    CU_ASSERT(a[p] == b[p]);
  }
  free(seen);
  TnDataDestroy(&d);
}

/* TnDataGetNodeSums: the same sums, bitwise, as the part gathered batch by
   batch (TnDataGetBatchPart) and summed sample by sample, for the shuffled
   training part, the validation part and all samples, with and without a
   mean. */
static void test_node_sums(void)
{
  const PetscInt parts[3] = {TN_DATA_TRAIN, TN_DATA_VALID, TN_DATA_ALL}, B = 4;
  TnData         d;
  Vec            v;
  PetscInt       n, Sp[3], St, Sv, S, valid;
  PetscReal     *ref, *got, *mean;
  TnDataCreate(PETSC_COMM_WORLD, &d);
  TnDataSetType(d, TNDATA_GMRF2D);
  TnDataSetGMRF(d, 5, 1.0, 0.5);
  TnDataSetSamples(d, 43, 1);
  TnDataSetValidationFraction(d, 0.25, 6);
  TN_ASSERT_OK(TnDataLoad(d, 25));
  TN_ASSERT_OK(TnDataShuffle(d, 2, 5));
  TnDataGetPartSizes(d, &St, &Sv);
  TnDataGetNumSamples(d, &S);
  Sp[0] = St, Sp[1] = Sv, Sp[2] = S;
  n = PETSC_DECIDE, S = 25;
  PetscSplitOwnership(PETSC_COMM_WORLD, &n, &S);
  VecCreateMPI(PETSC_COMM_WORLD, n * B, PETSC_DETERMINE, &v);
  VecSetBlockSize(v, B);
  PetscCalloc3(n + 1, &ref, n + 1, &got, n + 1, &mean);
  for (PetscInt i = 0; i < n; i++) mean[i] = 0.1 * (PetscReal)i - 0.2;
  for (int k = 0; k < 3; k++)
    for (int pass = 0; pass < 2; pass++) {
      for (PetscInt i = 0; i < n; i++) ref[i] = 0;
      for (PetscInt s0 = 0; s0 < Sp[k]; s0 += B) {
        const PetscScalar *a;
        TN_ASSERT_OK(TnDataGetBatchPart(d, (TnDataPart)parts[k], s0, v, &valid));
        VecGetArrayRead(v, &a);
        for (PetscInt i = 0; i < n; i++)
          for (PetscInt b = 0; b < valid; b++) {
            PetscReal x = PetscRealPart(a[i * B + b]);
            ref[i] += pass ? (x - mean[i]) * (x - mean[i]) : x;
          }
        VecRestoreArrayRead(v, &a);
      }
      TN_ASSERT_OK(TnDataGetNodeSums(d, (TnDataPart)parts[k], pass ? mean : NULL, got));
      for (PetscInt i = 0; i < n; i++) CU_ASSERT(got[i] == ref[i]);
      CU_ASSERT(n == 0 || ref[0] != 0);
    }
  PetscFree3(ref, got, mean);
  VecDestroy(&v);
  TnDataDestroy(&d);
}

static void test_standardize(void)
{
  const PetscInt N = 9, S = 50;
  TnData         raw, std;
  PetscReal     *Xr, *Xz, lr[50], lz[50], c;
  PetscInt       cr, cz, rs, re;
  PetscBool      known;
  Vec            mean, sd;
  for (int k = 0; k < 2; k++) {
    TnData *d = k ? &std : &raw;
    TnDataCreate(PETSC_COMM_WORLD, d);
    TnDataSetType(*d, TNDATA_MIXTURE);
    TnDataSetSamples(*d, S, 3);
    TnDataSetValidationFraction(*d, 0.2, 1);
    TnDataSetStandardize(*d, (PetscBool)k);
    TnDataLoad(*d, N);
  }
  TN_ASSERT_OK(GatherPart(raw, PETSC_COMM_WORLD, TN_DATA_TRAIN, N, &Xr, &cr));
  TN_ASSERT_OK(GatherPart(std, PETSC_COMM_WORLD, TN_DATA_TRAIN, N, &Xz, &cz));
  VecCreateMPI(PETSC_COMM_WORLD, PETSC_DECIDE, N, &mean);
  VecDuplicate(mean, &sd);
  TN_ASSERT_OK(TnDataGetStandardization(std, mean, sd));
  VecGetOwnershipRange(mean, &rs, &re);
  for (PetscInt i = 0; i < N; i++) {
    PetscReal m = 0, v = 0, mz = 0, vz = 0;
    for (PetscInt s = 0; s < cr; s++) m += Xr[s * N + i] / cr;
    for (PetscInt s = 0; s < cr; s++) v += pow(Xr[s * N + i] - m, 2) / cr;
    for (PetscInt s = 0; s < cz; s++) mz += Xz[s * N + i] / cz;
    for (PetscInt s = 0; s < cz; s++) vz += Xz[s * N + i] * Xz[s * N + i] / cz;
    TN_ASSERT_CLOSE(mz, 0, 1e-12);
    TN_ASSERT_CLOSE(vz, 1, 1e-12);
    if (i >= rs && i < re) {
      PetscScalar gm, gs;
      VecGetValues(mean, 1, &i, &gm);
      VecGetValues(sd, 1, &i, &gs);
      TN_ASSERT_CLOSE(gm, m, 1e-12);
      TN_ASSERT_CLOSE(gs, sqrt(v), 1e-12);
    }
  }
  /* log p_z = log p_x - c with c = -sum log sd */
  TN_ASSERT_OK(TnDataGetLogJacobian(std, &c));
  {
    PetscReal ls;
    VecLog(sd);
    VecSum(sd, &ls);
    TN_ASSERT_CLOSE(c, -ls, 1e-12);
  }
  TnDataExactLogDensity(raw, TN_DATA_VALID, 0, 10, lr, &known);
  TnDataExactLogDensity(std, TN_DATA_VALID, 0, 10, lz, &known);
  for (int s = 0; s < 10; s++) TN_ASSERT_CLOSE(lz[s], lr[s] - c, 1e-12);
  /* saved statistics re-imposed on a fresh load give the same z */
  {
    TnData     again;
    PetscReal *Xa;
    PetscInt   ca;
    TN_ASSERT_OK(TnDataGetStandardization(std, mean, sd));
    TnDataCreate(PETSC_COMM_WORLD, &again);
    TnDataSetType(again, TNDATA_MIXTURE);
    TnDataSetSamples(again, S, 3);
    TnDataSetValidationFraction(again, 0.2, 1);
    TN_ASSERT_OK(TnDataSetStandardization(again, mean, sd));
    TN_ASSERT_OK(TnDataLoad(again, N));
    TN_ASSERT_OK(GatherPart(again, PETSC_COMM_WORLD, TN_DATA_TRAIN, N, &Xa, &ca));
    for (PetscInt k = 0; k < N * ca; k++) TN_ASSERT_CLOSE(Xa[k], Xz[k], 1e-14);
    PetscFree(Xa);
    TnDataDestroy(&again);
  }
  VecDestroy(&mean);
  VecDestroy(&sd);
  PetscFree(Xr);
  PetscFree(Xz);
  TnDataDestroy(&raw);
  TnDataDestroy(&std);
}

static void test_dequantize(void)
{
  const PetscInt N = 6, S = 12;
  char           path[PETSC_MAX_PATH_LEN];
  PetscMPIInt    rank;
  TnData         d;
  PetscReal     *X, lp[12];
  PetscInt       cnt;
  PetscBool      known;
  snprintf(path, sizeof(path), "%s/ints.csv", TnTestTmpDir());
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  if (!rank) {
    FILE *fp = fopen(path, "w");
    for (PetscInt s = 0; s < S; s++)
      for (PetscInt i = 0; i < N; i++) fprintf(fp, "%d%s", (int)((s * 7 + i * 3) % 11), i + 1 < N ? "," : "\n");
    fclose(fp);
  }
  MPI_Barrier(PETSC_COMM_WORLD);
  TnDataCreate(PETSC_COMM_WORLD, &d);
  TnDataSetFile(d, path, NULL);
  TnDataSetType(d, TNDATA_CSV);
  TnDataSetDequantize(d, PETSC_TRUE);
  TN_ASSERT_OK(TnDataLoad(d, N));
  TN_ASSERT_OK(GatherPart(d, PETSC_COMM_WORLD, TN_DATA_ALL, N, &X, &cnt));
  for (PetscInt s = 0; s < S; s++)
    for (PetscInt i = 0; i < N; i++) {
      PetscReal u = X[s * N + i] - (PetscReal)((s * 7 + i * 3) % 11);
      CU_ASSERT(u > 0 && u < 1);
    }
  TN_ASSERT_OK(TnDataExactLogDensity(d, TN_DATA_ALL, 0, S, lp, &known));
  CU_ASSERT(!known);
  PetscFree(X);
  TnDataDestroy(&d);
}

static void test_bad_inputs(void)
{
  TnData d;
  TnDataCreate(PETSC_COMM_WORLD, &d);
  TnDataSetType(d, TNDATA_GMRF2D);
  TN_ASSERT_FAILS(TnDataLoad(d, 10)); /* not a square */
  TnDataSetGMRF(d, 0, 1.0, -1.0);
  TN_ASSERT_FAILS(TnDataLoad(d, 16)); /* kappa^2 <= 0 */
  TnDataSetType(d, TNDATA_GAUSS);
  TN_ASSERT_FAILS(TnDataLoad(d, 16)); /* no Q */
  TnDataSetType(d, TNDATA_NORMAL);
  TnDataSetValidationFraction(d, 1.0, 1);
  TN_ASSERT_FAILS(TnDataLoad(d, 16));
  TnDataDestroy(&d);
}

/* The clamp set {k : clamp(k)} as an IS given by rank 0. */
static IS ClampIS(PetscInt N, const PetscBool *clamped)
{
  PetscMPIInt rank;
  PetscInt   *idx = malloc(sizeof(PetscInt) * (N + 1)), n = 0;
  IS          is;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  for (PetscInt k = 0; k < N && !rank; k++)
    if (clamped[k]) idx[n++] = k;
  ISCreateGeneral(PETSC_COMM_WORLD, n, idx, PETSC_COPY_VALUES, &is);
  free(idx);
  return is;
}

/* Dense A[I, J] of the index lists I, J (row-major, N x N source). */
static void Block(PetscInt N, const PetscReal *A, PetscInt nI, const PetscInt *rows, PetscInt nJ, const PetscInt *cols, PetscReal *out)
{
  for (PetscInt a = 0; a < nI; a++)
    for (PetscInt b = 0; b < nJ; b++) out[a * nJ + b] = A[rows[a] * N + cols[b]];
}

/* gmrf2d given a clamp set: H(t | x) = (N_F/2) log(2 pi e) - 1/2 log det Q_FF
   and log p(t | x) with r = (Q a)_F, r' Q_FF^-1 r, both by dense LAPACK; and
   log p(t | x) = log p(t, x) - log p(x) with the marginal x ~ N(0, (Q^-1)_CC),
   an independent route. Two sets (every other row; every third node), the
   validation part's last, short batch, standardised data (shifted by
   sum_F log sd_i), a type without a precision (mixture: unknown), bad sets. */
static void test_gmrf_conditional(void)
{
  const PetscInt n = 6, N = 36, S = 12;
  PetscReal     *Q = malloc(sizeof(PetscReal) * N * N), *Cov = malloc(sizeof(PetscReal) * N * N), *W = malloc(sizeof(PetscReal) * N * N), *QFF = malloc(sizeof(PetscReal) * N * N), *SCC = malloc(sizeof(PetscReal) * N * N);
  GMRFDense(n, 1.3, 0.5, Q);
  LogDetSPD(N, Q, Cov, PETSC_TRUE); /* Cov = Q^-1 */
  for (int set = 0; set < 2; set++) {
    PetscBool clamped[36];
    PetscInt  F[36], C[36], nF = 0, nC = 0, cnt;
    PetscReal ldFF, ldCC, H, lp[16], ljoint[16], *X;
    PetscBool known;
    TnData    d = MakeGMRF(PETSC_COMM_WORLD, n, S);
    IS        is;
    for (PetscInt k = 0; k < N; k++) {
      clamped[k] = set == 0 ? (PetscBool)((k / n) % 2 == 0) : (PetscBool)(k % 3 == 0);
      if (clamped[k])
        C[nC++] = k;
      else
        F[nF++] = k;
    }
    is = ClampIS(N, clamped);
    TN_ASSERT_OK(TnDataSetConditioning(d, is));
    {
      PetscInt nf;
      TN_ASSERT_OK(TnDataGetConditioning(d, &nf, &known));
      CU_ASSERT(nf == nF && known);
    }
    Block(N, Q, nF, F, nF, F, QFF);
    ldFF = LogDetSPD(nF, QFF, W, PETSC_TRUE); /* W = Q_FF^-1 */
    TN_ASSERT_OK(TnDataExactConditionalEntropy(d, &H, &known));
    CU_ASSERT(known);
    TN_ASSERT_CLOSE(H, 0.5 * nF * log(2 * M_PI * M_E) - 0.5 * ldFF, 1e-10);
    Block(N, Cov, nC, C, nC, C, SCC);
    ldCC = LogDetSPD(nC, SCC, SCC, PETSC_TRUE); /* log det Sigma_CC; SCC = Sigma_CC^-1 */
    TN_ASSERT_OK(GatherPart(d, PETSC_COMM_WORLD, TN_DATA_ALL, N, &X, &cnt));
    TN_ASSERT_OK(TnDataExactConditionalLogDensity(d, TN_DATA_ALL, 0, S, lp, &known));
    TN_ASSERT_OK(TnDataExactLogDensity(d, TN_DATA_ALL, 0, S, ljoint, &known));
    for (PetscInt s = 0; s < S; s++) {
      const PetscReal *a = X + s * N;
      PetscReal        r[36], xc[36], q = 0, qc = 0;
      for (PetscInt f = 0; f < nF; f++) {
        r[f] = 0;
        for (PetscInt k = 0; k < N; k++) r[f] += Q[F[f] * N + k] * a[k];
      }
      for (PetscInt f = 0; f < nF; f++)
        for (PetscInt g = 0; g < nF; g++) q += r[f] * W[f * nF + g] * r[g];
      TN_ASSERT_CLOSE(lp[s], 0.5 * ldFF - 0.5 * q - 0.5 * nF * log(2 * M_PI), 1e-10);
      for (PetscInt c = 0; c < nC; c++) xc[c] = a[C[c]];
      for (PetscInt c = 0; c < nC; c++)
        for (PetscInt e = 0; e < nC; e++) qc += xc[c] * SCC[c * nC + e] * xc[e];
      TN_ASSERT_CLOSE(lp[s], ljoint[s] - (-0.5 * ldCC - 0.5 * qc - 0.5 * nC * log(2 * M_PI)), 1e-10);
    }
    PetscFree(X);
    TnDataDestroy(&d);
    if (set == 0) { /* the validation part, its short last batch; standardised data */
      PetscReal lv[16], lz[16], Hz, sdlog = 0;
      PetscInt  Sv, s0;
      Vec       mean, sd;
      TnDataCreate(PETSC_COMM_WORLD, &d);
      TnDataSetType(d, TNDATA_GMRF2D);
      TnDataSetSamples(d, 40, 3);
      TnDataSetGMRF(d, n, 1.3, 0.5);
      TnDataSetValidationFraction(d, 0.25, 5);
      TN_ASSERT_OK(TnDataLoad(d, N));
      TN_ASSERT_OK(TnDataSetConditioning(d, is));
      TnDataGetPartSizes(d, NULL, &Sv);
      s0 = Sv - 3;
      TN_ASSERT_OK(TnDataExactConditionalLogDensity(d, TN_DATA_VALID, s0, 8, lv, &known));
      CU_ASSERT(lv[3] == 0 && lv[7] == 0 && lv[0] != 0);
      TnDataDestroy(&d);
      TnDataCreate(PETSC_COMM_WORLD, &d);
      TnDataSetType(d, TNDATA_GMRF2D);
      TnDataSetSamples(d, 40, 3);
      TnDataSetGMRF(d, n, 1.3, 0.5);
      TnDataSetValidationFraction(d, 0.25, 5);
      TnDataSetStandardize(d, PETSC_TRUE);
      TN_ASSERT_OK(TnDataLoad(d, N));
      TN_ASSERT_OK(TnDataSetConditioning(d, is));
      TN_ASSERT_OK(TnDataExactConditionalLogDensity(d, TN_DATA_VALID, s0, 8, lz, &known));
      TN_ASSERT_OK(TnDataExactConditionalEntropy(d, &Hz, &known));
      VecCreateMPI(PETSC_COMM_WORLD, PETSC_DECIDE, N, &mean);
      VecDuplicate(mean, &sd);
      TN_ASSERT_OK(TnDataGetStandardization(d, mean, sd));
      {
        const PetscScalar *p;
        PetscInt           r0, r1;
        VecGetOwnershipRange(sd, &r0, &r1);
        VecGetArrayRead(sd, &p);
        for (PetscInt k = r0; k < r1; k++)
          if (!clamped[k]) sdlog += log(PetscRealPart(p[k - r0]));
        VecRestoreArrayRead(sd, &p);
        MPI_Allreduce(MPI_IN_PLACE, &sdlog, 1, MPIU_REAL, MPI_SUM, PETSC_COMM_WORLD);
      }
      for (PetscInt b = 0; b < 3; b++) TN_ASSERT_CLOSE(lz[b], lv[b] + sdlog, 1e-10);
      TN_ASSERT_CLOSE(Hz, 0.5 * nF * log(2 * M_PI * M_E) - 0.5 * ldFF - sdlog, 1e-10);
      VecDestroy(&mean);
      VecDestroy(&sd);
      TnDataDestroy(&d);
    }
    ISDestroy(&is);
  }
  { /* no precision: unknown; bad sets refused on every rank */
    TnData    d;
    PetscBool clamped[36] = {PETSC_FALSE}, known = PETSC_TRUE;
    PetscReal H, lp[4];
    IS        is;
    clamped[3] = PETSC_TRUE;
    TnDataCreate(PETSC_COMM_WORLD, &d);
    TnDataSetType(d, TNDATA_MIXTURE);
    TnDataSetSamples(d, 8, 3);
    TN_ASSERT_OK(TnDataLoad(d, N));
    is = ClampIS(N, clamped);
    TN_ASSERT_OK(TnDataSetConditioning(d, is));
    TN_ASSERT_OK(TnDataExactConditionalEntropy(d, &H, &known));
    CU_ASSERT(!known);
    TN_ASSERT_OK(TnDataExactConditionalLogDensity(d, TN_DATA_ALL, 0, 4, lp, &known));
    CU_ASSERT(!known);
    ISDestroy(&is);
    for (PetscInt k = 0; k < N; k++) clamped[k] = PETSC_TRUE;
    is = ClampIS(N, clamped);
    TN_ASSERT_FAILS(TnDataSetConditioning(d, is));
    ISDestroy(&is);
    {
      PetscMPIInt rank;
      PetscInt    bad[2] = {5, 5};
      MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
      ISCreateGeneral(PETSC_COMM_WORLD, rank ? 0 : 2, bad, PETSC_COPY_VALUES, &is);
      TN_ASSERT_FAILS(TnDataSetConditioning(d, is));
      ISDestroy(&is);
      bad[1] = N;
      ISCreateGeneral(PETSC_COMM_WORLD, rank ? 0 : 2, bad, PETSC_COPY_VALUES, &is);
      TN_ASSERT_FAILS(TnDataSetConditioning(d, is));
      ISDestroy(&is);
    }
    TnDataDestroy(&d);
  }
  free(Q);
  free(Cov);
  free(W);
  free(QFF);
  free(SCC);
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("data", NULL, NULL);
  CU_add_test(s, "gmrf2d covariance = Q^-1", test_gmrf_covariance);
  CU_add_test(s, "gmrf2d exact log-density and entropy", test_gmrf_exact);
  CU_add_test(s, "samples, split, shuffle rank-invariant", test_rank_invariance);
  CU_add_test(s, "mixture", test_mixture);
  CU_add_test(s, "gauss (dense and MUMPS)", test_gauss);
  CU_add_test(s, "split and shuffle", test_split_shuffle);
  CU_add_test(s, "node sums = the batches' sums", test_node_sums);
  CU_add_test(s, "standardisation", test_standardize);
  CU_add_test(s, "dequantisation", test_dequantize);
  CU_add_test(s, "bad inputs", test_bad_inputs);
  CU_add_test(s, "gmrf2d conditional references", test_gmrf_conditional);
}
