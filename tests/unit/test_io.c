/* Tests of tenor/io.h: every reader on good files (values checked exactly),
   on each kind of bad file (the error must be raised on every rank and name
   the problem), round trips through the writers, chunked parsing, and the
   atomic writes: symbolic links refused, failures collective, old files kept.
   Rank 0 writes the test files into TnTestTmpDir(); all ranks then read. */
#include "tn_test.h"
#include <tenor/io.h>
#include <tenor/sample.h>
#include <tenor/sys.h>
#include <hdf5.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* CU_ASSERT that call fails and that its message contains frag. */

static PetscMPIInt Rank(void)
{
  PetscMPIInt rank;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  return rank;
}

/* path = TnTestTmpDir()/name; rank 0 writes len bytes of data there (len < 0:
   strlen), then all ranks wait, so the file exists for every reader. */
static void WriteBytes(const char name[], const char data[], long len, char path[PETSC_MAX_PATH_LEN])
{
  snprintf(path, PETSC_MAX_PATH_LEN, "%s/%s", TnTestTmpDir(), name);
  if (Rank() == 0) {
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL(f);
    if (f) {
      fwrite(data, 1, len < 0 ? strlen(data) : (size_t)len, f);
      fclose(f);
    }
  }
  MPI_Barrier(PETSC_COMM_WORLD);
}
#define WriteText(name, text, path) WriteBytes(name, text, -1, path)

/* The default row split of n rows on PETSC_COMM_WORLD. */
static void DefaultRange(PetscInt N, PetscInt *rstart, PetscInt *rend)
{
  PetscInt n = PETSC_DECIDE;
  PetscSplitOwnership(PETSC_COMM_WORLD, &n, &N);
  MPI_Scan(&n, rend, 1, MPIU_INT, MPI_SUM, PETSC_COMM_WORLD);
  *rstart = *rend - n;
}

/* W is an N x N MPIAIJ matrix with the default split, equal to dense (row-major), with nnz stored entries. */
static void CheckMat(Mat W, PetscInt N, const double dense[], PetscInt nnz)
{
  PetscInt  M, Nc, rs, re, drs, dre;
  PetscBool mpiaij;
  MatInfo   info;
  CU_ASSERT(MatGetSize(W, &M, &Nc) == 0 && M == N && Nc == N);
  CU_ASSERT(PetscObjectTypeCompare((PetscObject)W, MATMPIAIJ, &mpiaij) == 0 && mpiaij);
  MatGetOwnershipRange(W, &rs, &re);
  DefaultRange(N, &drs, &dre);
  CU_ASSERT(rs == drs && re == dre);
  for (PetscInt i = rs; i < re; i++)
    for (PetscInt j = 0; j < N; j++) {
      PetscScalar v = -999;
      CU_ASSERT(MatGetValues(W, 1, &i, 1, &j, &v) == 0);
      CU_ASSERT(v == dense[i * N + j]);
    }
  CU_ASSERT(MatGetInfo(W, MAT_GLOBAL_SUM, &info) == 0 && info.nz_used == (PetscLogDouble)nnz);
}

static void test_mm_general(void)
{
  char         p[PETSC_MAX_PATH_LEN];
  Mat          W     = NULL;
  const double d[16] = {7, 0.5, 0, 0, -1.25, 0, 0, 3, 0, 0, 2, 0, 1.0000000000000001e-01, 0, 0, 0};
  WriteText("general.mtx",
            "%%MatrixMarket matrix coordinate real general\n%\n4 4 6\n"
            "1 2 5.0000000000000000e-01\n2 1 -1.2500000000000000e+00\n3 3 2.0000000000000000e+00\n"
            "4 1 1.0000000000000001e-01\n2 4 3.0\n1 1 7\n",
            p);
  TN_ASSERT_OK(TnReadMatrixMarket(PETSC_COMM_WORLD, p, &W));
  CheckMat(W, 4, d, 6);
  MatDestroy(&W);
}

static void test_mm_symmetric_integer(void)
{
  char   p[PETSC_MAX_PATH_LEN];
  Mat    W     = NULL;
  double d[25] = {0};
  d[1 * 5 + 0] = d[0 * 5 + 1] = 3;
  d[2 * 5 + 2]                = -4;
  d[4 * 5 + 1] = d[1 * 5 + 4] = 7;
  WriteText("sym.mtx", "%%MatrixMarket matrix coordinate integer symmetric\n% made by hand\n%\n5 5 3\n2 1 3\n3 3 -4\n5 2 7\n", p);
  TN_ASSERT_OK(TnReadMatrixMarket(PETSC_COMM_WORLD, p, &W));
  CheckMat(W, 5, d, 5);
  MatDestroy(&W);
}

static void test_mm_pattern(void)
{
  char         p[PETSC_MAX_PATH_LEN];
  Mat          W    = NULL;
  const double d[9] = {0, 1, 0, 0, 0, 1, 1, 0, 0};
  WriteText("pattern.mtx", "%%MatrixMarket Matrix Coordinate Pattern General\n3 3 3\n\n1 2\n  2 3  \n% a comment\n3 1\r\n", p);
  TN_ASSERT_OK(TnReadMatrixMarket(PETSC_COMM_WORLD, p, &W));
  CheckMat(W, 3, d, 3);
  MatDestroy(&W);
}

/* A matrix with entries in every block, written then read back: identical. */
static void test_mm_roundtrip(void)
{
  char      p[PETSC_MAX_PATH_LEN];
  Mat       A = NULL, B = NULL;
  PetscInt  N  = 13, rs, re;
  PetscBool eq = PETSC_FALSE;
  snprintf(p, sizeof(p), "%s/roundtrip.mtx", TnTestTmpDir());
  MatCreateAIJ(PETSC_COMM_WORLD, PETSC_DECIDE, PETSC_DECIDE, N, N, 4, NULL, 4, NULL, &A);
  MatGetOwnershipRange(A, &rs, &re);
  for (PetscInt i = rs; i < re; i++)
    for (PetscInt j = i % 3; j < N; j += 4) {
      PetscScalar v = (i == 5 && j == 6) ? 0.0 : (PetscScalar)(i + 1) / (j + 3) - 0.1 * j; /* an explicit zero too */
      MatSetValue(A, i, j, v, INSERT_VALUES);
    }
  MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY);
  MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY);
  TN_ASSERT_OK(TnWriteMatrixMarket(A, p));
  TN_ASSERT_OK(TnReadMatrixMarket(PETSC_COMM_WORLD, p, &B));
  if (B) MatEqual(A, B, &eq);
  CU_ASSERT(eq);
  MatDestroy(&A);
  MatDestroy(&B);
}

/* Entries scattered in chunks of 3 (option -tn_io_chunk), mirrored across chunks. */
static void test_mm_chunked(void)
{
  char     p[PETSC_MAX_PATH_LEN], body[4096], text[4200];
  Mat      W      = NULL;
  double   d[100] = {0};
  PetscInt N = 10, nnz = 0, ne = 0, len = 0;
  for (PetscInt i = 0; i < N; i++)
    for (PetscInt j = i % 2; j <= i; j += 3, ne++) {
      double v = 0.25 * (double)(i * N + j) - 3;
      len += snprintf(body + len, sizeof(body) - (size_t)len, "%d %d %.17g\n", (int)i + 1, (int)j + 1, v);
      d[i * N + j] = d[j * N + i] = v;
      nnz += i == j ? 1 : 2;
    }
  snprintf(text, sizeof(text), "%%%%MatrixMarket matrix coordinate real symmetric\n%d %d %d\n%s", (int)N, (int)N, (int)ne, body);
  WriteText("chunked.mtx", text, p);
  PetscOptionsSetValue(NULL, "-tn_io_chunk", "3");
  TN_ASSERT_OK(TnReadMatrixMarket(PETSC_COMM_WORLD, p, &W));
  PetscOptionsClearValue(NULL, "-tn_io_chunk");
  CheckMat(W, N, d, nnz);
  MatDestroy(&W);
}

static void test_mm_errors(void)
{
  static const struct {
    const char *text, *frag;
  } bad[] = {
      {"", "is empty"},
      {"hello\n", "expected the banner"},
      {"%%MatrixMarket matrx coordinate real general\n2 2 1\n1 1 1\n", "line 1: found '%%MatrixMarket matrx"},
      {"%%MatrixMarket matrix coordinate complex general\n2 2 1\n1 1 1 0\n", "complex values are not supported"},
      {"%%MatrixMarket matrix coordinate real hermitian\n2 2 1\n1 1 1\n", "symmetry 'hermitian'"},
      {"%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n4\n", "found format 'array'"},
      {"%%MatrixMarket matrix coordinate real general\n", "ends after the banner"},
      {"%%MatrixMarket matrix coordinate real general\n2 2\n", "line 2: found '2 2', expected the size line"},
      {"%%MatrixMarket matrix coordinate real general\n2 3 1\n1 1 1\n", "the matrix is 2 x 3; W must be square"},
      {"%%MatrixMarket matrix coordinate real general\n3 3 3\n1 1 1\n2 2 2\n", "truncated: expected 3 entries (line 2), found 2"},
      {"%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 1\n2 2 2\n", "line 4: extra entry after the 1 declared on line 2"},
      {"%%MatrixMarket matrix coordinate real general\n2 2 1\n0 1 1\n", "line 3: row index 0 is out of range 1..2"},
      {"%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n1 3 1\n", "line 4: column index 3 is out of range 1..2"},
      {"%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n2 1 nan\n", "line 4: found '2 1 nan': the value is not finite"},
      {"%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 -inf\n", "not finite"},
      {"%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 1e999\n", "not finite"},
      {"%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1\n", "expected 'row column value'"},
      {"%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 abc\n", "found '1 1 abc'"},
      {"%%MatrixMarket matrix coordinate real general\n2 2 1\n1.5 1 2\n", "expected 'row column value'"},
      {"%%MatrixMarket matrix coordinate pattern general\n2 2 1\n1 1 2\n", "expected 'row column'"},
      {"%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1e308\n1 1 1e308\n", "the duplicate entries (1, 1) sum to a value that is not finite"},
      {"%%MatrixMarket matrix coordinate real general\n3 3 2147483647\n1 1 1\n", "truncated: expected 2147483647 entries (line 2), found 1"},
      {"%%MatrixMarket matrix coordinate pattern symmetric\n3 3 2147483647\n1 1\n", "truncated: expected 2147483647 entries (line 2), found 1"},
      {"%%MatrixMarket matrix coordinate real general\n2147483648 2147483648 1\n1 1 1\n", "expected 1 <= N <= 2147483647"},
  };
  char p[PETSC_MAX_PATH_LEN], *big;
  Mat  W = NULL;
  for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
    char name[32];
    snprintf(name, sizeof(name), "bad%d.mtx", (int)k);
    WriteText(name, bad[k].text, p);
    ASSERT_FAILS_WITH(TnReadMatrixMarket(PETSC_COMM_WORLD, p, &W), bad[k].frag);
  }
  /* binary garbage, and an endless line of digits */
  static const char nul[] = "%%MatrixMarket matrix coordinate real general\n2 2 1\n1\0 1 1\n";
  WriteBytes("nul.mtx", nul, (long)sizeof(nul) - 1, p);
  ASSERT_FAILS_WITH(TnReadMatrixMarket(PETSC_COMM_WORLD, p, &W), "NUL byte");
  big = (char *)malloc(300001);
  memcpy(big, "%%MatrixMarket matrix coordinate real general\n2 2 1\n", 52);
  memset(big + 52, '1', 300000 - 52);
  big[300000] = 0;
  WriteText("long.mtx", big, p);
  free(big);
  ASSERT_FAILS_WITH(TnReadMatrixMarket(PETSC_COMM_WORLD, p, &W), "line 3: found '1111");
  snprintf(p, sizeof(p), "%s/no-such-file.mtx", TnTestTmpDir());
  ASSERT_FAILS_WITH(TnReadMatrixMarket(PETSC_COMM_WORLD, p, &W), "cannot open");
}

/* Repeated (row, column) entries are summed, as scipy does; for a symmetric
   file an entry and its mirror are one pair. */
static void test_mm_duplicates(void)
{
  char   p[PETSC_MAX_PATH_LEN];
  Mat    W     = NULL;
  double d[9]  = {0};
  d[2 * 3 + 1] = 1 + 5 + 0.25;
  d[0]         = 2;
  WriteText("dup.mtx", "%%MatrixMarket matrix coordinate real general\n3 3 4\n3 2 1\n1 1 2\n3 2 5\n% between\n3 2 0.25\n", p);
  TN_ASSERT_OK(TnReadMatrixMarket(PETSC_COMM_WORLD, p, &W));
  CheckMat(W, 3, d, 2);
  MatDestroy(&W);
  for (int k = 0; k < 9; k++) d[k] = 0;
  d[1 * 3 + 0] = d[0 * 3 + 1] = 6; /* (2,1) and (1,2) both mirrored: 1 + 5 each */
  WriteText("dupsym.mtx", "%%MatrixMarket matrix coordinate real symmetric\n3 3 2\n2 1 1\n1 2 5\n", p);
  TN_ASSERT_OK(TnReadMatrixMarket(PETSC_COMM_WORLD, p, &W));
  CheckMat(W, 3, d, 2);
  MatDestroy(&W);
}

/* A directory, a FIFO and /dev/zero are refused at once, naming what they are. */
static void test_not_regular(void)
{
  char         p[PETSC_MAX_PATH_LEN];
  Mat          W = NULL;
  Vec          v = NULL;
  PetscInt    *c = NULL, S;
  PetscScalar *x = NULL;
  ASSERT_FAILS_WITH(TnReadMatrixMarket(PETSC_COMM_WORLD, "/dev/zero", &W), "/dev/zero is a character device, not a regular file");
  ASSERT_FAILS_WITH(TnReadVector(PETSC_COMM_WORLD, "/dev/zero", 0, &v), "/dev/zero is a character device");
  ASSERT_FAILS_WITH(TnReadIntegers(PETSC_COMM_WORLD, "/dev/zero", 0, 0, 0, &c), "/dev/zero is a character device");
  ASSERT_FAILS_WITH(TnReadSamplesCSV(PETSC_COMM_WORLD, "/dev/zero", 1, 0, Rank() == 0 ? 1 : 0, &S, &x), "/dev/zero is a character device");
  ASSERT_FAILS_WITH(TnReadMatrixMarket(PETSC_COMM_WORLD, TnTestTmpDir(), &W), "is a directory, not a regular file");
  snprintf(p, sizeof(p), "%s/fifo", TnTestTmpDir());
  if (Rank() == 0) {
    unlink(p);
    CU_ASSERT(mkfifo(p, 0600) == 0);
  }
  MPI_Barrier(PETSC_COMM_WORLD);
  ASSERT_FAILS_WITH(TnReadMatrixMarket(PETSC_COMM_WORLD, p, &W), "is a FIFO (named pipe), not a regular file");
  if (Rank() == 0) unlink(p);
}

/* A size line whose reading cannot fit in memory is refused before any
   allocation (-memory_limit stands in for a small node). */
static void test_mm_memory(void)
{
  char p[PETSC_MAX_PATH_LEN];
  Mat  W = NULL;
  WriteText("huge.mtx", "%%MatrixMarket matrix coordinate real general\n2147483647 2147483647 1\n1 1 1\n", p);
  PetscOptionsSetValue(NULL, "-memory_limit", "1e9");
  ASSERT_FAILS_WITH(TnReadMatrixMarket(PETSC_COMM_WORLD, p, &W), "huge.mtx (N = 2147483647, 1 entries declared) needs");
  PetscOptionsClearValue(NULL, "-memory_limit");
}

static void test_mm_write_unwritable(void)
{
  Mat W;
  MatCreateAIJ(PETSC_COMM_WORLD, PETSC_DECIDE, PETSC_DECIDE, 3, 3, 1, NULL, 0, NULL, &W);
  MatAssemblyBegin(W, MAT_FINAL_ASSEMBLY);
  MatAssemblyEnd(W, MAT_FINAL_ASSEMBLY);
  ASSERT_FAILS_WITH(TnWriteMatrixMarket(W, "/nonexistent-dir/W.mtx"), "cannot write /nonexistent-dir/W.mtx");
  MatDestroy(&W);
}

/* v (global size N) equals want[0..N). */
static void CheckVec(Vec v, PetscInt N, const double want[])
{
  PetscInt           n, rs, re, drs, dre;
  const PetscScalar *a;
  CU_ASSERT(VecGetSize(v, &n) == 0 && n == N);
  VecGetOwnershipRange(v, &rs, &re);
  DefaultRange(N, &drs, &dre);
  CU_ASSERT(rs == drs && re == dre);
  VecGetArrayRead(v, &a);
  for (PetscInt i = rs; i < re; i++) CU_ASSERT(a[i - rs] == want[i]);
  VecRestoreArrayRead(v, &a);
}

static void test_vec_mm_array(void)
{
  char         p[PETSC_MAX_PATH_LEN];
  Vec          v    = NULL;
  const double w[5] = {1.5, -2, 0.1, 1e-300, 3};
  WriteText("b.mtx", "%%MatrixMarket matrix array real general\n% from scipy\n5 1\n1.5\n-2\n0.1\n1e-300\n3\n", p);
  TN_ASSERT_OK(TnReadVector(PETSC_COMM_WORLD, p, 5, &v));
  CheckVec(v, 5, w);
  VecDestroy(&v);
  WriteText("brow.mtx", "%%MatrixMarket matrix array integer general\n1 5\n1.5\n-2\n0.1\n1e-300\n3\n", p);
  TN_ASSERT_OK(TnReadVector(PETSC_COMM_WORLD, p, 0, &v)); /* N <= 0: the size found */
  CheckVec(v, 5, w);
  VecDestroy(&v);
}

static void test_vec_plain(void)
{
  char         p[PETSC_MAX_PATH_LEN];
  Vec          v    = NULL;
  const double w[3] = {1, 2.25, -3e-2};
  WriteText("b.txt", "# input currents\n1\n\n2.25\n  % note\n-3e-2\r\n", p);
  TN_ASSERT_OK(TnReadVector(PETSC_COMM_WORLD, p, 3, &v));
  CheckVec(v, 3, w);
  VecDestroy(&v);
  TN_ASSERT_OK(TnReadVector(PETSC_COMM_WORLD, p, -1, &v));
  CheckVec(v, 3, w);
  VecDestroy(&v);
}

static void test_vec_errors(void)
{
  static const struct {
    const char *text, *frag;
    PetscInt    N;
  } bad[] = {
      {"1\n2\n3\n", "has 3 values but the network has 4 nodes", 4},
      {"1\n2\n3\n4\n5\n", "has 5 values but the network has 4 nodes", 4},
      {"1\nnan\n", "line 2: found 'nan': the value is not finite", 2},
      {"1 2\n", "line 1: found '1 2', expected one number per line", 2},
      {"1\nx\n", "line 2: found 'x'", 2},
      {"", "holds no values", 0},
      {"# only a comment\n", "has 0 values but the network has 2 nodes", 2},
      {"%%MatrixMarket matrix array real general\n3 1\n1\n2\n3\n", "the array is 3 x 1 but the network has 2 nodes", 2},
      {"%%MatrixMarket matrix array real general\n3 1\n1\n2\n", "truncated: expected 3 values (line 2), found 2", 3},
      {"%%MatrixMarket matrix array real general\n2 1\n1\n2\n3\n", "line 5: extra value after the 2 declared on line 2", 2},
      {"%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n4\n", "a vector must be N x 1 or 1 x N", 4},
      {"%%MatrixMarket matrix array complex general\n2 1\n1 0\n2 0\n", "complex values are not supported", 2},
      {"%%MatrixMarket matrix coordinate real general\n2 1 1\n1 1 1\n", "found format 'coordinate', expected 'array'", 2},
      {"%%MatrixMarket matrix array real general\n2 1\n1\ninf\n", "not finite", 2},
      {"%%MatrixMarket matrix array real general\n2000000000 1\n1\n", "truncated: expected 2000000000 values (line 2), found 1", 0},
      {"%%MatrixMarket matrix array real general\n1 4294967296\n1\n", "more than this PETSc build's", 0},
  };
  char p[PETSC_MAX_PATH_LEN];
  Vec  v = NULL;
  for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
    char name[32];
    snprintf(name, sizeof(name), "badvec%d.txt", (int)k);
    WriteText(name, bad[k].text, p);
    ASSERT_FAILS_WITH(TnReadVector(PETSC_COMM_WORLD, p, bad[k].N, &v), bad[k].frag);
  }
  snprintf(p, sizeof(p), "%s/no-such-file.txt", TnTestTmpDir());
  ASSERT_FAILS_WITH(TnReadVector(PETSC_COMM_WORLD, p, 3, &v), "cannot open");
  /* rank 0 would hold N values: refused before allocating when they cannot fit */
  PetscOptionsSetValue(NULL, "-memory_limit", "1e6");
  ASSERT_FAILS_WITH(TnReadVector(PETSC_COMM_WORLD, p, 1000000, &v), "(1000000 values, parsed on rank 0) needs 0.008 GB");
  PetscOptionsClearValue(NULL, "-memory_limit");
}

static void test_integers(void)
{
  char           p[PETSC_MAX_PATH_LEN];
  const PetscInt want[7] = {0, 3, 1, 2, 0, 1, 2};
  PetscInt      *c       = NULL, rs, re;
  WriteText("colors.txt", "0\n3\n1\n2\n# comment\n0\n1\n2\n", p);
  DefaultRange(7, &rs, &re);
  TN_ASSERT_OK(TnReadIntegers(PETSC_COMM_WORLD, p, 7, rs, re, &c));
  for (PetscInt i = rs; c && i < re; i++) CU_ASSERT(c[i - rs] == want[i]);
  PetscFree(c);
  /* a non-default split: rank r asks for [r, r + 1) clipped to 7 */
  rs = PetscMin(Rank(), 7), re = PetscMin(Rank() + 1, 7);
  TN_ASSERT_OK(TnReadIntegers(PETSC_COMM_WORLD, p, 7, rs, re, &c));
  for (PetscInt i = rs; c && i < re; i++) CU_ASSERT(c[i - rs] == want[i]);
  PetscFree(c);
}

static void test_integers_errors(void)
{
  char     p[PETSC_MAX_PATH_LEN];
  PetscInt rs, re, *c = NULL;
  DefaultRange(3, &rs, &re);
  WriteText("neg.txt", "0\n-1\n2\n", p);
  ASSERT_FAILS_WITH(TnReadIntegers(PETSC_COMM_WORLD, p, 3, rs, re, &c), "line 2: found -1, expected a non-negative integer");
  WriteText("huge.txt", "0\n2147483647\n2\n", p);
  ASSERT_FAILS_WITH(TnReadIntegers(PETSC_COMM_WORLD, p, 3, rs, re, &c), "line 2: found 2147483647, expected a non-negative integer below 2147483647");
  WriteText("frac.txt", "0\n1.5\n2\n", p);
  ASSERT_FAILS_WITH(TnReadIntegers(PETSC_COMM_WORLD, p, 3, rs, re, &c), "line 2: found '1.5', expected one non-negative integer per line");
  WriteText("short.txt", "0\n1\n", p);
  ASSERT_FAILS_WITH(TnReadIntegers(PETSC_COMM_WORLD, p, 3, rs, re, &c), "has 2 values but the network has 3 nodes");
  ASSERT_FAILS_WITH(TnReadIntegers(PETSC_COMM_WORLD, p, 3, 0, 4, &c), "outside 0..3");
  snprintf(p, sizeof(p), "%s/no-such-file.txt", TnTestTmpDir());
  ASSERT_FAILS_WITH(TnReadIntegers(PETSC_COMM_WORLD, p, 3, rs, re, &c), "cannot open");
}

/* Rank 0 streams a column in blocks (-tn_io_chunk values) and scatters each
   as it goes: every block size, from 1 value to more than the file holds,
   gives every rank exactly its values (vectors, integers on the default and
   on a non-default split, node lists expanded from ranges). */
static void test_column_blocks(void)
{
  static const char *chunks[] = {"1", "2", "3", "5", "64"};
  char               pv[PETSC_MAX_PATH_LEN], pi[PETSC_MAX_PATH_LEN], pn[PETSC_MAX_PATH_LEN], text[1024];
  double             w[11];
  PetscInt           iw[13], nodes[64], nn = 0, len = 0;
  for (PetscInt i = 0; i < 11; i++) len += snprintf(text + len, sizeof(text) - (size_t)len, "%s%.17g\n", i == 4 ? "# a comment\n" : "", w[i] = 0.5 * (double)i - 2.25);
  WriteText("blocks_vec.txt", text, pv);
  len = 0;
  for (PetscInt i = 0; i < 13; i++) len += snprintf(text + len, sizeof(text) - (size_t)len, "%d\n", (int)(iw[i] = (7 * i) % 5));
  WriteText("blocks_int.txt", text, pi);
  WriteText("blocks_nodes.txt", "30-33\n2\n% comment\n10-12\n5\n40\n", pn);
  for (PetscInt i = 2; i <= 40; i++)
    if (i == 2 || i == 5 || (i >= 10 && i <= 12) || (i >= 30 && i <= 33) || i == 40) nodes[nn++] = i;
  for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
    Vec             v  = NULL;
    IS              is = NULL;
    PetscInt       *c = NULL, rs, re, n, first = 0;
    const PetscInt *idx;
    PetscOptionsSetValue(NULL, "-tn_io_chunk", chunks[k]);
    TN_ASSERT_OK(TnReadVector(PETSC_COMM_WORLD, pv, 11, &v));
    CheckVec(v, 11, w);
    VecDestroy(&v);
    TN_ASSERT_OK(TnReadVector(PETSC_COMM_WORLD, pv, 0, &v)); /* the size found: counted, then streamed */
    CheckVec(v, 11, w);
    VecDestroy(&v);
    DefaultRange(13, &rs, &re);
    TN_ASSERT_OK(TnReadIntegers(PETSC_COMM_WORLD, pi, 13, rs, re, &c));
    for (PetscInt i = rs; c && i < re; i++) CU_ASSERT(c[i - rs] == iw[i]);
    PetscFree(c);
    rs = PetscMin(3 * Rank(), 13), re = PetscMin(3 * Rank() + 2, 13); /* gaps between the ranks' ranges */
    TN_ASSERT_OK(TnReadIntegers(PETSC_COMM_WORLD, pi, 13, rs, re, &c));
    for (PetscInt i = rs; c && i < re; i++) CU_ASSERT(c[i - rs] == iw[i]);
    PetscFree(c);
    TN_ASSERT_OK(TnReadNodeList(PETSC_COMM_WORLD, pn, "-data_clamp", 41, &is));
    CU_ASSERT_PTR_NOT_NULL(is);
    if (is) {
      ISGetLocalSize(is, &n);
      MPI_Exscan(&n, &first, 1, MPIU_INT, MPI_SUM, PETSC_COMM_WORLD);
      if (Rank() == 0) first = 0;
      ISGetIndices(is, &idx);
      for (PetscInt i = 0; i < n; i++) CU_ASSERT(first + i < nn && idx[i] == nodes[first + i]);
      ISRestoreIndices(is, &idx);
      MPI_Allreduce(MPI_IN_PLACE, &n, 1, MPIU_INT, MPI_SUM, PETSC_COMM_WORLD);
      CU_ASSERT(n == nn);
      ISDestroy(&is);
    }
    /* errors found in a later block still fail on every rank */
    ASSERT_FAILS_WITH(TnReadVector(PETSC_COMM_WORLD, pv, 10, &v), "has 11 values but the network has 10 nodes");
    ASSERT_FAILS_WITH(TnReadIntegers(PETSC_COMM_WORLD, pv, 11, 0, 0, &c), "line 1: found '-2.25'");
    PetscOptionsClearValue(NULL, "-tn_io_chunk");
  }
  { /* rank 0 needs one block, not the column: 40000 values (320 kB) read under a 200 kB limit in blocks of 16 */
    char    *big = NULL;
    size_t   cap = 40000 * 8 + 1, n = 0;
    Vec      v = NULL;
    PetscInt rs, re;
    PetscMalloc1(cap, &big);
    for (PetscInt i = 0; i < 40000; i++) n += (size_t)snprintf(big + n, cap - n, "%d\n", (int)(i % 1000));
    WriteText("blocks_big.txt", big, pv);
    PetscFree(big);
    { /* 2e5 bytes beyond what the ranks hold (a limit is for the whole run) */
      double held = TnMemoryInUse();
      char   lim[64];
      MPI_Allreduce(MPI_IN_PLACE, &held, 1, MPI_DOUBLE, MPI_SUM, PETSC_COMM_WORLD);
      snprintf(lim, sizeof(lim), "%.17g", held + 2e5);
      PetscOptionsSetValue(NULL, "-memory_limit", lim);
    }
    PetscOptionsSetValue(NULL, "-tn_io_chunk", "16");
    TN_ASSERT_OK(TnReadVector(PETSC_COMM_WORLD, pv, 40000, &v));
    PetscOptionsClearValue(NULL, "-tn_io_chunk");
    PetscOptionsClearValue(NULL, "-memory_limit");
    if (v) {
      const PetscScalar *a;
      VecGetOwnershipRange(v, &rs, &re);
      VecGetArrayRead(v, &a);
      for (PetscInt i = rs; i < re; i++) CU_ASSERT(a[i - rs] == (PetscScalar)(i % 1000));
      VecRestoreArrayRead(v, &a);
      VecDestroy(&v);
    }
  }
}

/* x holds columns [rs, re) of the S x N row-major samples want, sample-fastest. */
static void CheckSamples(PetscInt S, const PetscScalar *x, PetscInt wantS, PetscInt N, const double want[], PetscInt rs, PetscInt re)
{
  CU_ASSERT(S == wantS);
  if (S != wantS || !x) return;
  for (PetscInt i = rs; i < re; i++)
    for (PetscInt s = 0; s < S; s++) CU_ASSERT(x[(i - rs) * S + s] == want[s * N + i]);
}

static void test_csv(void)
{
  char         p[PETSC_MAX_PATH_LEN];
  const double w[10] = {1, 2, 3, 4, 5, 6, -7.5, 8e-3, 9, 10};
  PetscInt     S     = 0, rs, re;
  PetscScalar *x     = NULL;
  DefaultRange(5, &rs, &re);
  WriteText("header.csv", "n0,n1,n2,n3,n4\n1,2,3,4,5\n6,-7.5,8e-3,9,10\n", p);
  TN_ASSERT_OK(TnReadSamplesCSV(PETSC_COMM_WORLD, p, 5, rs, re, &S, &x));
  CheckSamples(S, x, 2, 5, w, rs, re);
  PetscFree(x);
  WriteText("plain.csv", "# numpy.savetxt header\n1, 2 ,3,4,5\r\n\n6,-7.5,8e-3,9,10\r\n", p);
  TN_ASSERT_OK(TnReadSamplesCSV(PETSC_COMM_WORLD, p, 5, rs, re, &S, &x));
  CheckSamples(S, x, 2, 5, w, rs, re);
  PetscFree(x);
  /* a UTF-8 byte-order mark (Excel) before a headerless first row: still a sample */
  WriteText("bom.csv", "\xEF\xBB\xBF"
                       "1,2,3,4,5\n6,-7.5,8e-3,9,10\n",
            p);
  TN_ASSERT_OK(TnReadSamplesCSV(PETSC_COMM_WORLD, p, 5, rs, re, &S, &x));
  CheckSamples(S, x, 2, 5, w, rs, re);
  PetscFree(x);
  WriteText("bomheader.csv", "\xEF\xBB\xBF"
                             "a,b,c,d,e\n1,2,3,4,5\n6,-7.5,8e-3,9,10\n",
            p);
  TN_ASSERT_OK(TnReadSamplesCSV(PETSC_COMM_WORLD, p, 5, rs, re, &S, &x));
  CheckSamples(S, x, 2, 5, w, rs, re);
  PetscFree(x);
  /* pandas' default column names 0..N-1 are a header */
  WriteText("pandas.csv", "0,1,2,3,4\n1,2,3,4,5\n6,-7.5,8e-3,9,10\n", p);
  TN_ASSERT_OK(TnReadSamplesCSV(PETSC_COMM_WORLD, p, 5, rs, re, &S, &x));
  CheckSamples(S, x, 2, 5, w, rs, re);
  PetscFree(x);
}

/* 23 samples of 7 nodes, parsed in blocks of 2 rows (-tn_io_chunk 14), with uneven column ranges. */
static void test_csv_chunked(void)
{
  char         p[PETSC_MAX_PATH_LEN], text[8192];
  double       w[23 * 7];
  PetscInt     S = 0, rs, re, len = 0;
  PetscScalar *x = NULL;
  for (PetscInt s = 0; s < 23; s++)
    for (PetscInt i = 0; i < 7; i++) {
      w[s * 7 + i] = (double)(s * 7 + i) / 7.0 - 1;
      len += snprintf(text + len, sizeof(text) - (size_t)len, "%.17g%s", w[s * 7 + i], i < 6 ? "," : "\n");
    }
  WriteText("chunked.csv", text, p);
  PetscOptionsSetValue(NULL, "-tn_io_chunk", "14");
  rs = PetscMin(2 * Rank(), 7), re = PetscMin(7, Rank() == 1 ? 7 : 2 * Rank() + 2); /* rank 1 takes the rest */
  if (Rank() > 1) rs = re = 7;
  TN_ASSERT_OK(TnReadSamplesCSV(PETSC_COMM_WORLD, p, 7, rs, re, &S, &x));
  CheckSamples(S, x, 23, 7, w, rs, re);
  PetscFree(x);
  PetscOptionsClearValue(NULL, "-tn_io_chunk");
}

static void test_csv_errors(void)
{
  static const struct {
    const char *text, *frag;
  } bad[] = {
      {"1,2,3\n4,5\n", "line 2: row 2 has 2 values, expected 3 (the number of nodes)"},
      {"a,b,c\n1,2,3\n4,5,6,7\n", "line 3: row 2 has 4 values, expected 3"},
      {"1,2,3\n4,x,6\n", "line 2: row 2, field 2: found 'x', expected a number"},
      {"1,2,3\n4,5,\n", "row 2, field 3: found ''"},
      {"1,2,3\n4,nan,6\n", "row 2, field 2: found 'nan'; samples must be finite"},
      {"", "has no data rows"},
      {"a,b,c\n\n", "has no data rows"},
      {",a,b,c\n0,1,2,3\n", "the header has 4 fields, expected 3 (the number of nodes); an index column?"},
      {"1;2;3\n", "the header has 1 fields, expected 3 (the number of nodes); fields must be separated by commas"},
      {"1,2,3\n4;5;6\n", "row 2, field 1: found '4;5;6', expected a number; fields must be separated by commas"},
      {"0,1,2,3\n", "row 1 has 4 values, expected 3 (the number of nodes); an index column?"},
      {"1,x,3\n4,5,6\n", "line 1: field 2: found 'x', expected a number; the first row mixes numbers and text"},
      {"\xEF\xBB\xBF"
       "1,2,x\n",
       "line 1: field 3: found 'x'"},
  };
  char         p[PETSC_MAX_PATH_LEN];
  PetscInt     S, rs, re;
  PetscScalar *x = NULL;
  DefaultRange(3, &rs, &re);
  for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
    char name[32];
    snprintf(name, sizeof(name), "bad%d.csv", (int)k);
    WriteText(name, bad[k].text, p);
    ASSERT_FAILS_WITH(TnReadSamplesCSV(PETSC_COMM_WORLD, p, 3, rs, re, &S, &x), bad[k].frag);
  }
  snprintf(p, sizeof(p), "%s/no-such-file.csv", TnTestTmpDir());
  ASSERT_FAILS_WITH(TnReadSamplesCSV(PETSC_COMM_WORLD, p, 3, rs, re, &S, &x), "cannot open");
  /* more samples than the memory allows: refused while reading, on every rank */
  {
    char text[4096];
    int  len = 0;
    for (int r = 0; r < 200; r++) len += snprintf(text + len, sizeof(text) - (size_t)len, "%d,%d,%d\n", r + 1, r + 2, r + 3);
    WriteText("many.csv", text, p);
  }
  PetscOptionsSetValue(NULL, "-memory_limit", "1000");
  ASSERT_FAILS_WITH(TnReadSamplesCSV(PETSC_COMM_WORLD, p, 3, rs, re, &S, &x), "many.csv (200 samples so far) needs");
  PetscOptionsClearValue(NULL, "-memory_limit");
}

/* Rank 0 writes samples.h5 (serial HDF5): /x doubles 3 x 7, /grp/f float32
   3 x 7, /cube 2 x 2 x 7, /t 7 x 3, /nan 2 x 7 with one NaN. */
static void WriteH5(char path[PETSC_MAX_PATH_LEN], double w[21])
{
  snprintf(path, PETSC_MAX_PATH_LEN, "%s/samples.h5", TnTestTmpDir());
  for (int k = 0; k < 21; k++) w[k] = k * 0.25 - 2;
  if (Rank() == 0) {
    hid_t   f     = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), g, sp, d;
    hsize_t d2[2] = {3, 7}, d3[3] = {2, 2, 7}, dt[2] = {7, 3}, dn[2] = {2, 7};
    double  cube[28] = {0}, nan[14] = {0};
    struct {
      const char *name;
      int         nd;
      hsize_t    *dims;
      hid_t       type;
      double     *data;
    } sets[] = {
        {"/x", 2, d2, H5T_IEEE_F64LE, w},
        {"/grp/f", 2, d2, H5T_IEEE_F32LE, w},
        {"/cube", 3, d3, H5T_IEEE_F64LE, cube},
        {"/t", 2, dt, H5T_IEEE_F64LE, w},
        {"/nan", 2, dn, H5T_IEEE_F64LE, nan},
    };
    nan[9] = NAN;
    g      = H5Gcreate2(f, "/grp", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g);
    for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
      sp = H5Screate_simple(sets[k].nd, sets[k].dims, NULL);
      d  = H5Dcreate2(f, sets[k].name, sets[k].type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      CU_ASSERT(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, sets[k].data) >= 0);
      H5Dclose(d);
      H5Sclose(sp);
    }
    H5Fclose(f);
  }
  MPI_Barrier(PETSC_COMM_WORLD);
}

static void test_hdf5(void)
{
  char         p[PETSC_MAX_PATH_LEN];
  double       w[21];
  PetscInt     S = 0, rs, re;
  PetscScalar *x = NULL;
  WriteH5(p, w);
  DefaultRange(7, &rs, &re);
  TN_ASSERT_OK(TnReadSamplesHDF5(PETSC_COMM_WORLD, p, "/x", 7, rs, re, &S, &x));
  CheckSamples(S, x, 3, 7, w, rs, re);
  PetscFree(x);
  TN_ASSERT_OK(TnReadSamplesHDF5(PETSC_COMM_WORLD, p, "/grp/f", 7, rs, re, &S, &x)); /* float32: the values are exact in float */
  CheckSamples(S, x, 3, 7, w, rs, re);
  PetscFree(x);
  rs = Rank() == 0 ? 0 : 7, re = 7; /* one rank reads everything, the others nothing */
  TN_ASSERT_OK(TnReadSamplesHDF5(PETSC_COMM_WORLD, p, "/x", 7, rs, re, &S, &x));
  CheckSamples(S, x, 3, 7, w, rs, re);
  PetscFree(x);
}

static void test_hdf5_errors(void)
{
  char         p[PETSC_MAX_PATH_LEN], csv[PETSC_MAX_PATH_LEN];
  double       w[21];
  PetscInt     S, rs, re;
  PetscScalar *x = NULL;
  WriteH5(p, w);
  DefaultRange(7, &rs, &re);
  ASSERT_FAILS_WITH(TnReadSamplesHDF5(PETSC_COMM_WORLD, p, "/y", 7, rs, re, &S, &x), "has no dataset '/y' (list its datasets with: h5ls -r");
  ASSERT_FAILS_WITH(TnReadSamplesHDF5(PETSC_COMM_WORLD, p, "/grp/nothere", 7, rs, re, &S, &x), "has no dataset");
  ASSERT_FAILS_WITH(TnReadSamplesHDF5(PETSC_COMM_WORLD, p, "/cube", 7, rs, re, &S, &x), "has 3 dimensions, expected 2");
  ASSERT_FAILS_WITH(TnReadSamplesHDF5(PETSC_COMM_WORLD, p, "/t", 7, rs, re, &S, &x), "is 7 x 3, expected samples x 7 (the number of nodes); it looks transposed");
  ASSERT_FAILS_WITH(TnReadSamplesHDF5(PETSC_COMM_WORLD, p, "/nan", 7, rs, re, &S, &x), "sample 2, node 3 is nan");
  DefaultRange(8, &rs, &re);
  ASSERT_FAILS_WITH(TnReadSamplesHDF5(PETSC_COMM_WORLD, p, "/x", 8, rs, re, &S, &x), "is 3 x 7, expected samples x 8");
  WriteText("nothdf5.h5", "1,2,3\n", csv);
  ASSERT_FAILS_WITH(TnReadSamplesHDF5(PETSC_COMM_WORLD, csv, "/x", 8, rs, re, &S, &x), "is not an HDF5 file");
  snprintf(p, sizeof(p), "%s/no-such-file.h5", TnTestTmpDir());
  ASSERT_FAILS_WITH(TnReadSamplesHDF5(PETSC_COMM_WORLD, p, "/x", 8, rs, re, &S, &x), "cannot open");
}

static void test_write_vec_text(void)
{
  char     p[PETSC_MAX_PATH_LEN];
  Vec      v, u = NULL;
  PetscInt rs, re, N = 10;
  double   want[10];
  snprintf(p, sizeof(p), "%s/v.txt", TnTestTmpDir());
  VecCreateMPI(PETSC_COMM_WORLD, PETSC_DECIDE, N, &v);
  VecGetOwnershipRange(v, &rs, &re);
  for (PetscInt i = 0; i < N; i++) want[i] = (i + 1) / 3.0 - 1e-7 * i;
  for (PetscInt i = rs; i < re; i++) VecSetValue(v, i, want[i], INSERT_VALUES);
  VecAssemblyBegin(v);
  VecAssemblyEnd(v);
  TN_ASSERT_OK(TnWriteVecText(v, "# the header", p));
  TN_ASSERT_OK(TnReadVector(PETSC_COMM_WORLD, p, N, &u)); /* '#' line skipped, %.17g exact */
  CheckVec(u, N, want);
  VecDestroy(&u);
  TN_ASSERT_OK(TnWriteVecText(v, NULL, p));
  TN_ASSERT_OK(TnReadVector(PETSC_COMM_WORLD, p, N, &u));
  CheckVec(u, N, want);
  VecDestroy(&u);
  ASSERT_FAILS_WITH(TnWriteVecText(v, NULL, "/nonexistent-dir/v.txt"), "cannot write /nonexistent-dir/v.txt");
  VecDestroy(&v);
}

/* Atomic output (TnCommitOpen/Close, TnCommitBegin/End and the writers built
   on them). Rank 0 prepares and inspects the files; what it sees is
   broadcast, so every rank asserts the same facts. */

static void Join(const char name[], char path[PETSC_MAX_PATH_LEN])
{
  snprintf(path, PETSC_MAX_PATH_LEN, "%s/%s", TnTestTmpDir(), name);
}

/* Rank 0 makes name a symbolic link to target (a path, need not exist). */
static void Symlink(const char target[], const char name[], char path[PETSC_MAX_PATH_LEN])
{
  Join(name, path);
  if (Rank() == 0) CU_ASSERT(symlink(target, path) == 0);
  MPI_Barrier(PETSC_COMM_WORLD);
}

/* On every rank: whether the file at path holds exactly text. */
static PetscBool Holds(const char path[], const char text[])
{
  int ok = 0;
  if (Rank() == 0) {
    char  buf[512] = "";
    FILE *f        = fopen(path, "r");
    if (f) {
      buf[fread(buf, 1, sizeof(buf) - 1, f)] = 0;
      fclose(f);
      ok = !strcmp(buf, text);
    }
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, PETSC_COMM_WORLD);
  return (PetscBool)ok;
}

/* On every rank: 0 (absent), 'l' (symbolic link), 'f' (regular file) or 'o'. */
static char Kind(const char path[])
{
  char        k = 0;
  struct stat st;
  if (Rank() == 0 && !lstat(path, &st)) k = S_ISLNK(st.st_mode) ? 'l' : S_ISREG(st.st_mode) ? 'f'
                                                                                            : 'o';
  MPI_Bcast(&k, 1, MPI_CHAR, 0, PETSC_COMM_WORLD);
  return k;
}

static char TmpKind(const char path[])
{
  char tmp[PETSC_MAX_PATH_LEN + 8];
  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  return Kind(tmp);
}

/* Rank 0 writes text through TnCommitOpen; the commit fails (ok false) on
   rank `fail` (-1: none). */
static PetscErrorCode CommitText(const char path[], const char text[], PetscMPIInt fail)
{
  FILE *f;
  PetscFunctionBeginUser;
  PetscCall(TnCommitOpen(PETSC_COMM_WORLD, path, &f));
  CU_ASSERT((Rank() == 0) == (f != NULL));
  if (f) fputs(text, f);
  PetscCall(TnCommitClose(PETSC_COMM_WORLD, path, &f, (PetscBool)(Rank() != fail)));
  CU_ASSERT_PTR_NULL(f);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* "rank  r\n" for every rank, each rank writing its own 8 bytes with MPI-IO
   (TnCommitBegin/End); rank `fail` (-1: none) reports a failed write. */
static PetscErrorCode CommitRanks(const char path[], PetscMPIInt fail)
{
  char     tmp[PETSC_MAX_PATH_LEN + 8], rec[9];
  MPI_File fh;
  PetscFunctionBeginUser;
  PetscCall(TnCommitBegin(PETSC_COMM_WORLD, path, tmp, sizeof(tmp)));
  snprintf(rec, sizeof(rec), "rank %2d\n", (int)Rank());
  PetscCallMPI(MPI_File_open(PETSC_COMM_WORLD, tmp, MPI_MODE_WRONLY, MPI_INFO_NULL, &fh));
  PetscCallMPI(MPI_File_write_at_all(fh, (MPI_Offset)Rank() * 8, rec, 8, MPI_CHAR, MPI_STATUS_IGNORE));
  PetscCallMPI(MPI_File_close(&fh));
  PetscCall(TnCommitEnd(PETSC_COMM_WORLD, tmp, path, (PetscBool)(Rank() != fail)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void RanksText(char text[256])
{
  PetscMPIInt size;
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  text[0] = 0;
  for (int r = 0; r < size; r++) snprintf(text + strlen(text), 256 - strlen(text), "rank %2d\n", r);
}

static Vec SmallVec(void)
{
  Vec v;
  VecCreateMPI(PETSC_COMM_WORLD, PETSC_DECIDE, 5, &v);
  VecSet(v, 1.5);
  return v;
}

/* Both variants write, replace an existing file and leave no temporary; a
   stale regular temporary from a stopped run is removed. */
static void test_commit_roundtrip(void)
{
  char p[PETSC_MAX_PATH_LEN], q[PETSC_MAX_PATH_LEN], ranks[256];
  RanksText(ranks);
  Join("commit.txt", p);
  TN_ASSERT_OK(CommitText(p, "first\n", -1));
  CU_ASSERT(Holds(p, "first\n"));
  TN_ASSERT_OK(CommitText(p, "second\n", -1));
  CU_ASSERT(Holds(p, "second\n"));
  CU_ASSERT(TmpKind(p) == 0);
  Join("ranks.txt", q);
  TN_ASSERT_OK(CommitRanks(q, -1));
  CU_ASSERT(Holds(q, ranks));
  CU_ASSERT(TmpKind(q) == 0);
  WriteText("stale.txt.tmp", "left by a killed run, longer than the new file\n", q);
  Join("stale.txt", q);
  TN_ASSERT_OK(CommitText(q, "fresh\n", -1));
  CU_ASSERT(Holds(q, "fresh\n"));
  CU_ASSERT(TmpKind(q) == 0);
  WriteText("stale2.txt.tmp", "left by a killed run, longer than the new file\n", q);
  Join("stale2.txt", q);
  TN_ASSERT_OK(CommitRanks(q, -1));
  CU_ASSERT(Holds(q, ranks));
}

/* A symbolic link at the final path is refused by every writer: the link
   stays a link and its target keeps its contents. */
static void test_commit_symlink_path(void)
{
  char       target[PETSC_MAX_PATH_LEN], link[PETSC_MAX_PATH_LEN], tmp[PETSC_MAX_PATH_LEN + 8];
  FILE      *f     = NULL;
  Vec        v     = SmallVec();
  Mat        W     = NULL;
  TnSampleH5 h5    = NULL;
  const char key[] = "is a symbolic link, and tenor does not write through symbolic links";
  WriteText("target.txt", "precious\n", target);
  Symlink(target, "link.txt", link);
  ASSERT_FAILS_WITH(TnCommitOpen(PETSC_COMM_WORLD, link, &f), key);
  CU_ASSERT_PTR_NULL(f);
  ASSERT_FAILS_WITH(TnCommitBegin(PETSC_COMM_WORLD, link, tmp, sizeof(tmp)), key);
  ASSERT_FAILS_WITH(TnWriteVecText(v, NULL, link), key);
  MatCreateAIJ(PETSC_COMM_WORLD, PETSC_DECIDE, PETSC_DECIDE, 3, 3, 1, NULL, 0, NULL, &W);
  MatAssemblyBegin(W, MAT_FINAL_ASSEMBLY);
  MatAssemblyEnd(W, MAT_FINAL_ASSEMBLY);
  ASSERT_FAILS_WITH(TnWriteMatrixMarket(W, link), key);
  ASSERT_FAILS_WITH(TnSampleH5Create(PETSC_COMM_WORLD, link, "/x", 2, 3, &h5), key);
  CU_ASSERT_PTR_NULL(h5);
  CU_ASSERT(Kind(link) == 'l');
  CU_ASSERT(TmpKind(link) == 0);
  CU_ASSERT(Holds(target, "precious\n"));
  MatDestroy(&W);
  VecDestroy(&v);
}

/* A stale temporary that is a symbolic link is refused, not followed: its
   target keeps its contents, a dangling link's target is not created, and
   nothing appears at the final path. */
static void test_commit_symlink_tmp(void)
{
  char victim[PETSC_MAX_PATH_LEN], link[PETSC_MAX_PATH_LEN], out[PETSC_MAX_PATH_LEN], nowhere[PETSC_MAX_PATH_LEN];
  Vec  v = SmallVec();
  WriteText("victim.txt", "precious\n", victim);
  Symlink(victim, "out.txt.tmp", link);
  Join("out.txt", out);
  ASSERT_FAILS_WITH(TnWriteVecText(v, NULL, out), "its temporary file");
  ASSERT_FAILS_WITH(TnWriteVecText(v, NULL, out), "is a symbolic link");
  ASSERT_FAILS_WITH(CommitRanks(out, -1), "is a symbolic link");
  CU_ASSERT(Holds(victim, "precious\n"));
  CU_ASSERT(Kind(link) == 'l');
  CU_ASSERT(Kind(out) == 0);
  Join("nowhere.txt", nowhere);
  Symlink(nowhere, "out2.txt.tmp", link);
  Join("out2.txt", out);
  ASSERT_FAILS_WITH(CommitText(out, "x\n", -1), "is a symbolic link");
  CU_ASSERT(Kind(nowhere) == 0);
  CU_ASSERT(Kind(out) == 0);
  VecDestroy(&v);
}

/* A symbolic link put at the final path while the file is being written is
   refused at the commit; the temporary is removed. */
static void test_commit_symlink_late(void)
{
  char  target[PETSC_MAX_PATH_LEN], p[PETSC_MAX_PATH_LEN];
  FILE *f = NULL;
  WriteText("late-target.txt", "precious\n", target);
  Join("late.txt", p);
  TN_ASSERT_OK(TnCommitOpen(PETSC_COMM_WORLD, p, &f));
  if (f) fputs("new\n", f);
  Symlink(target, "late.txt", p);
  ASSERT_FAILS_WITH(TnCommitClose(PETSC_COMM_WORLD, p, &f, PETSC_TRUE), "is a symbolic link");
  CU_ASSERT(Kind(p) == 'l');
  CU_ASSERT(TmpKind(p) == 0);
  CU_ASSERT(Holds(target, "precious\n"));
}

/* A directory that does not exist, a path through a regular file, a
   directory at the path, and (when not root) a read-only directory: one
   clear error on every rank, naming the file. */
static void test_commit_unwritable(void)
{
  char p[PETSC_MAX_PATH_LEN], file[PETSC_MAX_PATH_LEN], dir[PETSC_MAX_PATH_LEN], msg[3 * PETSC_MAX_PATH_LEN];
  Vec  v = SmallVec();
  Join("no-such-dir/out.txt", p);
  snprintf(msg, sizeof(msg), "cannot write %s: cannot create %s.tmp: No such file or directory", p, p);
  ASSERT_FAILS_WITH(CommitText(p, "x\n", -1), msg);
  ASSERT_FAILS_WITH(CommitRanks(p, -1), msg);
  ASSERT_FAILS_WITH(TnWriteVecText(v, NULL, p), msg);
  WriteText("plain-file", "not a directory\n", file);
  Join("plain-file/out.txt", p);
  ASSERT_FAILS_WITH(CommitText(p, "x\n", -1), "Not a directory");
  Join("a-directory", dir);
  if (Rank() == 0) CU_ASSERT(mkdir(dir, 0700) == 0);
  MPI_Barrier(PETSC_COMM_WORLD);
  ASSERT_FAILS_WITH(CommitText(dir, "x\n", -1), "it exists and is not a regular file");
  CU_ASSERT(Kind(dir) == 'o');
  if (geteuid() != 0) { /* root writes anywhere */
    Join("read-only", dir);
    if (Rank() == 0) CU_ASSERT(mkdir(dir, 0500) == 0);
    MPI_Barrier(PETSC_COMM_WORLD);
    Join("read-only/out.txt", p);
    ASSERT_FAILS_WITH(CommitText(p, "x\n", -1), "Permission denied");
  }
  VecDestroy(&v);
}

/* A write that fails on one rank (the last) fails on every rank, removes the
   temporary and leaves the previous file as it was. */
static void test_commit_failure_keeps_old(void)
{
  char        p[PETSC_MAX_PATH_LEN], msg[64];
  PetscMPIInt size;
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  snprintf(msg, sizeof(msg), "failed on rank %d", (int)size - 1);
  WriteText("keep.txt", "old\n", p);
  ASSERT_FAILS_WITH(CommitText(p, "new\n", size - 1), msg);
  CU_ASSERT(Holds(p, "old\n"));
  CU_ASSERT(TmpKind(p) == 0);
  ASSERT_FAILS_WITH(CommitRanks(p, size - 1), msg);
  CU_ASSERT(Holds(p, "old\n"));
  CU_ASSERT(TmpKind(p) == 0);
}

void TnTestRegister(void)
{
  CU_pSuite mm = CU_add_suite("io_matrixmarket", NULL, NULL), vec = CU_add_suite("io_vector", NULL, NULL);
  CU_pSuite smp = CU_add_suite("io_samples", NULL, NULL), cmt = CU_add_suite("io_commit", NULL, NULL);
  CU_add_test(mm, "general (scipy mmwrite)", test_mm_general);
  CU_add_test(mm, "symmetric integer", test_mm_symmetric_integer);
  CU_add_test(mm, "pattern", test_mm_pattern);
  CU_add_test(mm, "write/read round trip", test_mm_roundtrip);
  CU_add_test(mm, "chunked scatter", test_mm_chunked);
  CU_add_test(mm, "bad files", test_mm_errors);
  CU_add_test(mm, "unwritable path", test_mm_write_unwritable);
  CU_add_test(mm, "duplicates summed", test_mm_duplicates);
  CU_add_test(mm, "memory needed by the size line", test_mm_memory);
  CU_add_test(mm, "not a regular file", test_not_regular);
  CU_add_test(vec, "MatrixMarket array", test_vec_mm_array);
  CU_add_test(vec, "plain text", test_vec_plain);
  CU_add_test(vec, "bad files", test_vec_errors);
  CU_add_test(vec, "integers", test_integers);
  CU_add_test(vec, "bad integers", test_integers_errors);
  CU_add_test(vec, "streamed in blocks", test_column_blocks);
  CU_add_test(vec, "write text round trip", test_write_vec_text);
  CU_add_test(smp, "CSV", test_csv);
  CU_add_test(smp, "CSV chunked, uneven ranges", test_csv_chunked);
  CU_add_test(smp, "bad CSV", test_csv_errors);
  CU_add_test(smp, "HDF5", test_hdf5);
  CU_add_test(smp, "bad HDF5", test_hdf5_errors);
  CU_add_test(cmt, "write, replace, stale temporary", test_commit_roundtrip);
  CU_add_test(cmt, "symbolic link at the path refused", test_commit_symlink_path);
  CU_add_test(cmt, "symbolic link as the temporary refused", test_commit_symlink_tmp);
  CU_add_test(cmt, "symbolic link appearing during the write", test_commit_symlink_late);
  CU_add_test(cmt, "unwritable paths", test_commit_unwritable);
  CU_add_test(cmt, "failed write keeps the old file", test_commit_failure_keeps_old);
}
