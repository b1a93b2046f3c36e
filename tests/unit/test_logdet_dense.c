/* The dense log-det method (ScaLAPACK LU on a process grid; LAPACK on one
   rank) against independent serial references:
   - matrices built from a hashed RNG, identical on every rank, stored with an
     uneven row layout, sizes not divisible by the rank count or by nb, on
     automatic, row and column grids: log|det| and sign agree with LAPACK
     dgetrf of the same dense matrix to 1e-10 relative; a scaled permutation
     gives the exact det = sgn(sigma) prod d_i (sign from the pivots); an
     exactly singular matrix gives sign 0 and log|det| = -inf;
   - the sync step Jacobian (rate and current) against
     I + h(-Gamma + W D) (or D W) formed from the model;
   - inside TnDynEvaluate: equals diag on a triangular (DAG) network, and
     exceeds diag by K (log|det M| - sum log|M_ii|) for a linear network
     (docs/exact-logdet-dense.md);
   - a too-large N is refused against a faked memory limit; a bad grid too. */
#include "tn_test.h"
#include <tenor/dyn.h>
#include <tenor/logdet.h>
#include <petscblaslapack.h>

#define NMAX 24

typedef enum { GEN_SPARSE,
               GEN_DENSE,
               GEN_DENSE_NEG, /* GEN_DENSE with row 0 negated: the opposite sign */
               GEN_PERM,      /* J[i][sigma(i)] = d_i only: det = sgn(sigma) prod d_i */
               GEN_PERM_DOM,  /* a row-permuted diagonally dominant matrix */
               GEN_ZERO_COL,  /* GEN_SPARSE with column N/2 zeroed: singular */
               GEN_ZERO_ROW } Gen;

typedef struct {
  Gen       gen;
  PetscInt  N;
  uint64_t  seed;
  PetscInt *sigma; /* a random permutation, identical on every rank */
} Spec;

/* J_ij of the test matrix; 0 outside the pattern. */
static PetscReal Entry(const Spec *s, PetscInt i, PetscInt j)
{
  PetscInt  N = s->N;
  uint64_t  c = (uint64_t)(i * N + j);
  PetscReal v;
  switch (s->gen) {
  case GEN_SPARSE:
  case GEN_ZERO_COL:
  case GEN_ZERO_ROW:
    if ((s->gen == GEN_ZERO_COL && j == N / 2) || (s->gen == GEN_ZERO_ROW && i == N / 2)) return 0;
    if (i == j) return 0.5 + TnRandUniform(s->seed, 1, c);
    return TnRandUniform(s->seed, 2, c) < 0.08 ? TnRandNormal(s->seed, 3, c) : 0;
  case GEN_DENSE:
  case GEN_DENSE_NEG:
    v = TnRandNormal(s->seed, 4, c) / sqrt((double)N) + (i == j);
    return s->gen == GEN_DENSE_NEG && i == 0 ? -v : v;
  case GEN_PERM:
    return j == s->sigma[i] ? (TnRandUniform(s->seed, 5, i) < 0.5 ? -1 : 1) * (0.5 + TnRandUniform(s->seed, 6, i)) : 0;
  case GEN_PERM_DOM:
    v = j == s->sigma[i] ? 4 + TnRandUniform(s->seed, 7, c) : 0;
    return v + (TnRandUniform(s->seed, 8, c) < 0.2 ? TnRandNormal(s->seed, 9, c) : 0);
  }
  return 0;
}

/* Fisher-Yates from the hash; returns the parity sign of sigma. */
static PetscReal Permutation(PetscInt N, uint64_t seed, PetscInt *sigma)
{
  PetscReal sgn = 1;
  for (PetscInt i = 0; i < N; i++) sigma[i] = i;
  for (PetscInt i = N - 1; i > 0; i--) {
    PetscInt k = (PetscInt)(TnRandU64(seed, 10, i) % (uint64_t)(i + 1)), t = sigma[i];
    sigma[i] = sigma[k];
    sigma[k] = t;
    if (k != i) sgn = -sgn;
  }
  return sgn;
}

/* Rows of rank r: an uneven split (rank r gets a share proportional to r+1). */
static void Rows(PetscInt N, PetscMPIInt rank, PetscMPIInt size, PetscInt *rs, PetscInt *re)
{
  PetscInt tot = (PetscInt)size * (size + 1) / 2;
  *rs          = N * ((PetscInt)rank * (rank + 1) / 2) / tot;
  *re          = N * ((PetscInt)(rank + 1) * (rank + 2) / 2) / tot;
}

static PetscErrorCode BuildMat(const Spec *s, Mat *J)
{
  PetscMPIInt rank, size;
  PetscInt    rs, re, N = s->N;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  Rows(N, rank, size, &rs, &re);
  PetscCall(MatCreateAIJ(PETSC_COMM_WORLD, re - rs, re - rs, N, N, N, NULL, N, NULL, J));
  for (PetscInt i = rs; i < re; i++)
    for (PetscInt j = 0; j < N; j++) {
      PetscReal v = Entry(s, i, j);
      if (v != 0) PetscCall(MatSetValue(*J, i, j, v, INSERT_VALUES));
    }
  PetscCall(MatAssemblyBegin(*J, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*J, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void Reference(const Spec *s, PetscReal *logabs, PetscReal *sign)
{
  PetscScalar *A;
  PetscMalloc1(s->N * s->N, &A);
  for (PetscInt j = 0; j < s->N; j++)
    for (PetscInt i = 0; i < s->N; i++) A[j * s->N + i] = Entry(s, i, j);
  TnTestDenseLogDet(s->N, A, logabs, sign);
  PetscFree(A);
}

/* A dense TnLogDet with the given -logdet_dense_* options (NULL: unset). */
static PetscErrorCode DenseCreate(const char nb[], const char grid[], const char memlimit[], TnLogDet *ld)
{
  PetscFunctionBeginUser;
  if (nb) PetscCall(PetscOptionsSetValue(NULL, "-logdet_dense_nb", nb));
  if (grid) PetscCall(PetscOptionsSetValue(NULL, "-logdet_dense_grid", grid));
  if (memlimit) PetscCall(PetscOptionsSetValue(NULL, "-logdet_dense_memory_limit", memlimit));
  PetscCall(TnLogDetCreate(PETSC_COMM_WORLD, TN_LOGDET_DENSE, ld));
  PetscCall(TnLogDetSetFromOptions(*ld));
  PetscCall(PetscOptionsClearValue(NULL, "-logdet_dense_nb"));
  PetscCall(PetscOptionsClearValue(NULL, "-logdet_dense_grid"));
  PetscCall(PetscOptionsClearValue(NULL, "-logdet_dense_memory_limit"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Every generator at N = 37, 100, 257 against LAPACK, one TnLogDet reused
   across matrices and sizes. */
static void CheckAll(TnLogDet ld)
{
  const PetscInt sizes[] = {37, 100, 257};
  for (int t = 0; t < 3; t++)
    for (int g = GEN_SPARSE; g <= GEN_ZERO_ROW; g++) {
      PetscInt       sigma[257];
      Spec           s = {(Gen)g, sizes[t], 1000 + 10 * t + g, sigma};
      PetscReal      ref, sgn, psgn = Permutation(s.N, s.seed, sigma);
      Mat            J;
      TnLogDetResult r;
      Reference(&s, &ref, &sgn);
      TN_ASSERT_OK(BuildMat(&s, &J));
      TN_ASSERT_OK(TnLogDetCompute(ld, J, &r));
      CU_ASSERT_EQUAL(r.sign, sgn);
      if (sgn != 0)
        TN_ASSERT_CLOSE(r.logabs, ref, 1e-10);
      else
        CU_ASSERT(isinf(r.logabs) && r.logabs < 0);
      if (g == GEN_PERM) { /* exact: sgn(sigma) prod d_i */
        PetscReal l = 0, sg = psgn;
        for (PetscInt i = 0; i < s.N; i++) {
          PetscReal d = Entry(&s, i, sigma[i]);
          l += log(fabs(d));
          sg *= d < 0 ? -1 : 1;
        }
        CU_ASSERT_EQUAL(r.sign, sg);
        TN_ASSERT_CLOSE(r.logabs, l, 1e-12);
      }
      if (g == GEN_ZERO_COL || g == GEN_ZERO_ROW) CU_ASSERT_EQUAL(r.sign, 0);
      MatDestroy(&J);
    }
}

static void test_random_matrices(void)
{
  PetscMPIInt size;
  char        grid[32];
  TnLogDet    ld;
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  TN_ASSERT_OK(DenseCreate(NULL, NULL, NULL, &ld)); /* default nb, near-square grid */
  CheckAll(ld);
  TnLogDetDestroy(&ld);
  TN_ASSERT_OK(DenseCreate("8", NULL, NULL, &ld)); /* many blocks per process */
  CheckAll(ld);
  TN_ASSERT_OK(TnLogDetView(ld, PETSC_VIEWER_STDOUT_WORLD));
  TnLogDetDestroy(&ld);
  PetscSNPrintf(grid, sizeof(grid), "%dx1", size);
  TN_ASSERT_OK(DenseCreate("5", grid, NULL, &ld)); /* one process column */
  CheckAll(ld);
  TnLogDetDestroy(&ld);
  PetscSNPrintf(grid, sizeof(grid), "1x%d", size);
  TN_ASSERT_OK(DenseCreate("3", grid, NULL, &ld)); /* one process row */
  CheckAll(ld);
  TnLogDetDestroy(&ld);
}

/* Both signs occur, and negating a row flips the sign only. */
static void test_negative_sign(void)
{
  TnLogDet       ld;
  TnLogDetResult r[2];
  TN_ASSERT_OK(DenseCreate("16", NULL, NULL, &ld));
  for (int g = 0; g < 2; g++) {
    Spec s = {g ? GEN_DENSE_NEG : GEN_DENSE, 100, 77, NULL};
    Mat  J;
    TN_ASSERT_OK(BuildMat(&s, &J));
    TN_ASSERT_OK(TnLogDetCompute(ld, J, &r[g]));
    MatDestroy(&J);
  }
  CU_ASSERT_EQUAL(r[0].sign, -r[1].sign);
  CU_ASSERT(r[0].sign != 0);
  TN_ASSERT_CLOSE(r[0].logabs, r[1].logabs, 1e-12);
  TnLogDetDestroy(&ld);
}

typedef struct {
  PetscInt  N;
  PetscReal W[NMAX][NMAX], b[NMAX], g[NMAX];
  PetscBool P[NMAX][NMAX];
} Model;

/* A random model: pattern density dens, self-loops, upper triangular if tri. */
static void ModelRandom(Model *m, PetscInt N, PetscReal dens, PetscBool tri, PetscReal scale, uint64_t seed)
{
  m->N = N;
  TnTestRandomDense(N, NMAX, dens, tri, scale, seed, &m->W[0][0], &m->P[0][0], m->b, m->g);
}

static PetscErrorCode ModelNet(const Model *m, TnNet *net)
{
  return TnTestNetFromDense(m->N, NMAX, &m->W[0][0], &m->P[0][0], m->b, m->g, net);
}

/* A state batch with x[b][i] (natural order) in the partitioned layout. */
static PetscErrorCode MakeState(TnDyn dyn, PetscInt B, PetscReal x[][NMAX], Vec *xs)
{
  Vec      xnat;
  PetscInt rs, re;
  PetscFunctionBeginUser;
  PetscCall(TnDynCreateNaturalState(dyn, &xnat));
  PetscCall(TnDynCreateState(dyn, xs));
  PetscCall(VecGetOwnershipRange(xnat, &rs, &re));
  for (PetscInt q = rs; q < re; q++) PetscCall(VecSetValue(xnat, q, x[q % B][q / B], INSERT_VALUES));
  PetscCall(VecAssemblyBegin(xnat));
  PetscCall(VecAssemblyEnd(xnat));
  PetscCall(TnDynNaturalToState(dyn, xnat, *xs, SCATTER_FORWARD));
  PetscCall(VecDestroy(&xnat));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* log|det| of I + h(-Gamma + W D) (rate, D = diag(phi'(a))) or
   I + h(-Gamma + D W) (current, D = diag(phi'(W a + b))), tanh. */
static void JacobianReference(const Model *m, TnForm form, PetscReal h, const PetscReal *a, PetscReal *logabs, PetscReal *sign)
{
  PetscInt    N = m->N;
  PetscReal   d[NMAX];
  PetscScalar A[NMAX * NMAX];
  for (PetscInt i = 0; i < N; i++) {
    PetscReal s = form == TN_FORM_RATE ? a[i] : m->b[i];
    if (form == TN_FORM_CURRENT)
      for (PetscInt j = 0; j < N; j++) s += m->W[i][j] * a[j];
    d[i] = 1 - tanh(s) * tanh(s);
  }
  for (PetscInt i = 0; i < N; i++)
    for (PetscInt j = 0; j < N; j++) A[j * N + i] = (i == j) * (1 - h * m->g[i]) + h * m->W[i][j] * (form == TN_FORM_RATE ? d[j] : d[i]);
  TnTestDenseLogDet(N, A, logabs, sign);
}

static void test_step_jacobian(void)
{
  for (int form = 0; form < 2; form++) {
    Model     m;
    TnNet     net;
    TnDyn     dyn;
    TnLogDet  ld;
    Mat       J;
    Vec       xs;
    PetscInt  N = 23, B = 2;
    PetscReal h = 0.1, x[2][NMAX];
    ModelRandom(&m, N, 0.4, PETSC_FALSE, 0.5, 31 + form);
    for (PetscInt b = 0; b < B; b++)
      for (PetscInt i = 0; i < N; i++) x[b][i] = TnRandNormal(8, b, i);
    TN_ASSERT_OK(ModelNet(&m, &net));
    TN_ASSERT_OK(TnDynCreate(net, &dyn));
    TN_ASSERT_OK(TnDynSetForm(dyn, (TnForm)form));
    TN_ASSERT_OK(TnDynSetStepSize(dyn, h));
    TN_ASSERT_OK(TnDynSetBatchSize(dyn, B));
    TN_ASSERT_OK(MakeState(dyn, B, x, &xs));
    TN_ASSERT_OK(TnDynCreateJacobian(dyn, &J));
    TN_ASSERT_OK(DenseCreate("4", NULL, NULL, &ld));
    for (PetscInt b = 0; b < B; b++) {
      TnLogDetResult r;
      PetscReal      ref, sgn;
      TN_ASSERT_OK(TnDynStepJacobian(dyn, xs, b, J));
      TN_ASSERT_OK(TnLogDetCompute(ld, J, &r));
      JacobianReference(&m, (TnForm)form, h, x[b], &ref, &sgn);
      CU_ASSERT_EQUAL(r.sign, sgn);
      TN_ASSERT_CLOSE(r.logabs, ref, 1e-10);
    }
    TnLogDetDestroy(&ld);
    MatDestroy(&J);
    VecDestroy(&xs);
    TnDynDestroy(&dyn);
    TnNetDestroy(&net);
  }
}

/* log Phi of B samples through K sync steps with the given log-det method. */
static PetscErrorCode Evaluate(const Model *m, TnAct act, TnLogDetType ldt, PetscReal h, PetscInt K, PetscInt B, PetscReal x[][NMAX], PetscReal *logphi)
{
  TnNet       net;
  TnDyn       dyn;
  Vec         xs;
  TnDynResult res;
  PetscFunctionBeginUser;
  PetscCall(ModelNet(m, &net));
  PetscCall(TnDynCreate(net, &dyn));
  PetscCall(TnDynSetActivation(dyn, act));
  PetscCall(TnDynSetStepSize(dyn, h));
  PetscCall(TnDynSetSteps(dyn, K));
  PetscCall(TnDynSetBatchSize(dyn, B));
  PetscCall(TnDynSetLogDetType(dyn, ldt));
  PetscCall(MakeState(dyn, B, x, &xs));
  PetscCall(TnDynResultCreate(dyn, &res));
  PetscCall(TnDynEvaluate(dyn, xs, &res));
  for (PetscInt b = 0; b < B; b++) logphi[b] = res.logphi[b];
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&xs));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_evaluate(void)
{
  Model     m;
  PetscInt  N = 17, B = 3, K = 5;
  PetscReal h = 0.1, x[3][NMAX], ld[3], lg[3];
  for (PetscInt b = 0; b < B; b++)
    for (PetscInt i = 0; i < N; i++) x[b][i] = TnRandNormal(12, b, i);
  /* DAG (upper triangular W), tanh: diag is exact */
  ModelRandom(&m, N, 0.4, PETSC_TRUE, 0.6, 41);
  TN_ASSERT_OK(Evaluate(&m, TN_ACT_TANH, TN_LOGDET_DENSE, h, K, B, x, ld));
  TN_ASSERT_OK(Evaluate(&m, TN_ACT_TANH, TN_LOGDET_DIAG, h, K, B, x, lg));
  for (PetscInt b = 0; b < B; b++) TN_ASSERT_CLOSE(ld[b], lg[b], 1e-10);
  /* general W, linear: dense - diag = K (log|det M| - sum_i log|M_ii|), M = I + h(W - Gamma) */
  ModelRandom(&m, N, 0.4, PETSC_FALSE, 0.6, 42);
  TN_ASSERT_OK(Evaluate(&m, TN_ACT_LINEAR, TN_LOGDET_DENSE, h, K, B, x, ld));
  TN_ASSERT_OK(Evaluate(&m, TN_ACT_LINEAR, TN_LOGDET_DIAG, h, K, B, x, lg));
  {
    PetscScalar M[NMAX * NMAX];
    PetscReal   lm, sm, sdiag = 0;
    for (PetscInt i = 0; i < N; i++) {
      sdiag += log(fabs(1 + h * (m.W[i][i] - m.g[i])));
      for (PetscInt j = 0; j < N; j++) M[j * N + i] = (i == j) + h * (m.W[i][j] - (i == j) * m.g[i]);
    }
    TnTestDenseLogDet(N, M, &lm, &sm);
    CU_ASSERT_EQUAL(sm, 1);
    CU_ASSERT(fabs(lm - sdiag) > 1e-6); /* the cycles matter here */
    for (PetscInt b = 0; b < B; b++) TN_ASSERT_CLOSE(ld[b] - lg[b], K * (lm - sdiag), 1e-10);
  }
}

/* A faked memory limit refuses a large N collectively, and a small one still
   fits with the same object; a grid that does not match the run is refused. */
static void test_refusals(void)
{
  PetscMPIInt    size;
  char           grid[32];
  TnLogDet       ld;
  TnLogDetResult r;
  Mat            J;
  Spec           big = {GEN_SPARSE, 300, 5, NULL}, small = {GEN_SPARSE, 20, 5, NULL};
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  TN_ASSERT_OK(DenseCreate(NULL, NULL, "100000", &ld)); /* 8 * 300^2 = 720 kB > 100 kB */
  TN_ASSERT_OK(BuildMat(&big, &J));
  TN_ASSERT_FAILS(TnLogDetCompute(ld, J, &r));
  MatDestroy(&J);
  TN_ASSERT_OK(BuildMat(&small, &J)); /* 8 * 20^2 = 3.2 kB */
  TN_ASSERT_OK(TnLogDetCompute(ld, J, &r));
  MatDestroy(&J);
  TnLogDetDestroy(&ld);
  PetscSNPrintf(grid, sizeof(grid), "%dx2", size);
  TN_ASSERT_OK(DenseCreate(NULL, grid, NULL, &ld));
  TN_ASSERT_OK(BuildMat(&small, &J));
  TN_ASSERT_FAILS(TnLogDetCompute(ld, J, &r));
  MatDestroy(&J);
  TnLogDetDestroy(&ld);
  TN_ASSERT_FAILS(DenseCreate(NULL, "2by2", NULL, &ld));
  TnLogDetDestroy(&ld);
  PetscOptionsClearValue(NULL, "-logdet_dense_grid");
  TN_ASSERT_FAILS(DenseCreate("0", NULL, NULL, &ld));
  TnLogDetDestroy(&ld);
  PetscOptionsClearValue(NULL, "-logdet_dense_nb");
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("logdet_dense", NULL, NULL);
  CU_add_test(s, "random matrices vs LAPACK (sizes, nb, grids, permutations, singular)", test_random_matrices);
  CU_add_test(s, "negative determinant", test_negative_sign);
  CU_add_test(s, "sync step Jacobian vs the model", test_step_jacobian);
  CU_add_test(s, "inside the evaluation: DAG = diag, linear closed form", test_evaluate);
  CU_add_test(s, "memory limit and bad options refused", test_refusals);
}
