/* The slq estimate of log|det J| = (1/2) log det(J^T J) against a serial
   LAPACK value computed on every rank from the same hash-random matrix:
   - within 3 reported standard errors (fixed seed: deterministic), for sizes
     not divisible by the rank count and for a negative determinant (slq has
     no sign: it reports +1);
   - the standard error shrinks like 1/sqrt(probes);
   - full reorthogonalisation gives the same estimate to a few digits;
   - J = I: the estimate is exact (0 with no variance);
   - bad options are refused. */
#include "tn_test.h"
#include <tenor/logdet.h>
#include <petscblaslapack.h>

/* J = D + h R: D_ii = +-(1 + u/2) (negative with probability 0.2), R with
   density dens and normal / sqrt(dens N) entries; returned as MPIAIJ and dense
   (column-major) on every rank. */
static PetscReal LogDetLAPACK(PetscInt N, PetscScalar *A)
{
  PetscReal l, sg;
  TnTestDenseLogDet(N, A, &l, &sg);
  return l;
}

static PetscErrorCode RandomJ(uint64_t seed, PetscInt N, PetscReal dens, PetscReal h, Mat *J, PetscScalar **A)
{
  PetscInt rs, re;
  PetscFunctionBeginUser;
  PetscCall(PetscCalloc1(N * N, A));
  PetscCall(MatCreateAIJ(PETSC_COMM_WORLD, PETSC_DECIDE, PETSC_DECIDE, N, N, N, NULL, N, NULL, J));
  PetscCall(MatGetOwnershipRange(*J, &rs, &re));
  for (PetscInt i = 0; i < N; i++)
    for (PetscInt j = 0; j < N; j++) {
      uint64_t  q = (uint64_t)i * (uint64_t)N + (uint64_t)j;
      PetscReal v = 0;
      if (i == j)
        v = (TnRandUniform(seed, 1, i) < 0.2 ? -1 : 1) * (1 + 0.5 * TnRandUniform(seed, 2, i));
      else if (TnRandUniform(seed, 3, q) < dens)
        v = h * TnRandNormal(seed, 4, q) / sqrt(dens * N);
      if (v == 0) continue;
      (*A)[j * N + i] = v;
      if (rs <= i && i < re) PetscCall(MatSetValue(*J, i, j, v, INSERT_VALUES));
    }
  PetscCall(MatAssemblyBegin(*J, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*J, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The slq estimate with the given options ("-logdet_slq_probes 40 ..."). */
static PetscErrorCode SLQ(Mat J, const char opts[], TnLogDetResult *r)
{
  TnLogDet ld;
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsInsertString(NULL, opts));
  PetscCall(TnLogDetCreate(PETSC_COMM_WORLD, TN_LOGDET_SLQ, &ld));
  PetscCall(TnLogDetSetFromOptions(ld));
  PetscCall(TnLogDetCompute(ld, J, r));
  PetscCall(TnLogDetDestroy(&ld));
  PetscCall(PetscOptionsClearValue(NULL, "-logdet_slq_probes"));
  PetscCall(PetscOptionsClearValue(NULL, "-logdet_slq_steps"));
  PetscCall(PetscOptionsClearValue(NULL, "-logdet_slq_seed"));
  PetscCall(PetscOptionsClearValue(NULL, "-logdet_slq_reorth"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_within_stderr(void)
{
  const PetscInt  sizes[] = {31, 97, 211, 293};
  const PetscReal hs[]    = {0.5, 1.0};
  for (int t = 0; t < 4; t++)
    for (int k = 0; k < 2; k++) {
      Mat            J;
      PetscScalar   *A;
      PetscReal      ref;
      TnLogDetResult r;
      TN_ASSERT_OK(RandomJ(10 + t, sizes[t], 0.1, hs[k], &J, &A));
      ref = LogDetLAPACK(sizes[t], A);
      TN_ASSERT_OK(SLQ(J, "-logdet_slq_probes 60 -logdet_slq_steps 30 -logdet_slq_seed 3", &r));
      if (!(fabs(r.logabs - ref) <= 3 * r.stderr_)) fprintf(stderr, "N %" PetscInt_FMT " h %g: slq %.8g +- %.3g, LAPACK %.8g\n", sizes[t], (double)hs[k], (double)r.logabs, (double)r.stderr_, (double)ref);
      CU_ASSERT(fabs(r.logabs - ref) <= 3 * r.stderr_);
      CU_ASSERT(r.stderr_ > 0 && r.stderr_ < 0.1 * fabs(ref) + 1);
      CU_ASSERT(r.sign == 1.0);
      MatDestroy(&J);
      PetscFree(A);
    }
}

/* 16 times the probes: the standard error falls about 4 times (a factor of
   2.5 at least, allowing for the noise of the variance estimate), and the
   estimate stays within 3 of its standard errors. */
static void test_more_probes(void)
{
  Mat            J;
  PetscScalar   *A;
  PetscReal      ref;
  TnLogDetResult r10, r160;
  TN_ASSERT_OK(RandomJ(21, 293, 0.1, 1.0, &J, &A));
  ref = LogDetLAPACK(293, A);
  TN_ASSERT_OK(SLQ(J, "-logdet_slq_probes 10 -logdet_slq_seed 5", &r10));
  TN_ASSERT_OK(SLQ(J, "-logdet_slq_probes 160 -logdet_slq_seed 5", &r160));
  CU_ASSERT(r160.stderr_ < r10.stderr_ / 2.5);
  CU_ASSERT(fabs(r160.logabs - ref) <= 3 * r160.stderr_);
  MatDestroy(&J);
  PetscFree(A);
}

/* With and without full reorthogonalisation: J^T J is well conditioned, so
   the two agree far inside the probe noise. */
static void test_reorth(void)
{
  Mat            J;
  PetscScalar   *A;
  TnLogDetResult r0, r1;
  TN_ASSERT_OK(RandomJ(31, 211, 0.1, 1.0, &J, &A));
  TN_ASSERT_OK(SLQ(J, "-logdet_slq_probes 8 -logdet_slq_steps 40", &r0));
  TN_ASSERT_OK(SLQ(J, "-logdet_slq_probes 8 -logdet_slq_steps 40 -logdet_slq_reorth", &r1));
  TN_ASSERT_CLOSE(r1.logabs, r0.logabs, 1e-3 * r0.stderr_);
  MatDestroy(&J);
  PetscFree(A);
}

/* J = I: every probe gives exactly N log 1 = 0 (the Krylov space is one vector). */
static void test_identity(void)
{
  Mat            J;
  TnLogDetResult r;
  TN_ASSERT_OK(MatCreateConstantDiagonal(PETSC_COMM_WORLD, PETSC_DECIDE, PETSC_DECIDE, 37, 37, 1.0, &J));
  TN_ASSERT_OK(MatConvert(J, MATAIJ, MAT_INPLACE_MATRIX, &J));
  TN_ASSERT_OK(SLQ(J, "-logdet_slq_probes 4", &r));
  TN_ASSERT_CLOSE(r.logabs, 0.0, 1e-13);
  TN_ASSERT_CLOSE(r.stderr_, 0.0, 1e-13);
  MatDestroy(&J);
}

static void test_bad_options(void)
{
  Mat            J;
  TnLogDetResult r;
  TN_ASSERT_OK(MatCreateConstantDiagonal(PETSC_COMM_WORLD, PETSC_DECIDE, PETSC_DECIDE, 5, 5, 2.0, &J));
  TN_ASSERT_OK(MatConvert(J, MATAIJ, MAT_INPLACE_MATRIX, &J));
  TN_ASSERT_FAILS(SLQ(J, "-logdet_slq_probes 1", &r));
  TN_ASSERT_FAILS(SLQ(J, "-logdet_slq_steps 0", &r));
  PetscOptionsClearValue(NULL, "-logdet_slq_probes");
  PetscOptionsClearValue(NULL, "-logdet_slq_steps");
  MatDestroy(&J);
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("logdet_slq", NULL, NULL);
  CU_add_test(s, "within 3 standard errors of LAPACK", test_within_stderr);
  CU_add_test(s, "standard error shrinks with more probes", test_more_probes);
  CU_add_test(s, "full reorthogonalisation agrees", test_reorth);
  CU_add_test(s, "identity: exact", test_identity);
  CU_add_test(s, "bad options refused", test_bad_options);
}
