/* The memory check and the aligned storage (tenor/sys.h):
   - under -memory_limit the limit is for the whole run: what the ranks
     already hold (TnMemoryInUse) counts against it, so a request that fits
     the limit alone is refused once the ranks hold most of it, and fits
     again when they let it go;
   - without it the check is against MemAvailable;
   - TnVecCreateAligned: the storage on a cache line, zeroed, the block
     size and layout asked for, usable as any Vec. */
#include "tn_test.h"
#include <string.h>
#include <stdint.h>

#define TN_HELD_MB 64

static double NodeHeld(void)
{
  double held = TnMemoryInUse();
  MPI_Allreduce(MPI_IN_PLACE, &held, 1, MPI_DOUBLE, MPI_SUM, PETSC_COMM_WORLD);
  return held;
}

static void SetLimit(double bytes)
{
  char lim[64];
  snprintf(lim, sizeof(lim), "%.17g", bytes);
  PetscOptionsSetValue(NULL, "-memory_limit", lim);
}

static void test_limit_counts_what_is_held(void)
{
  const size_t big = (size_t)TN_HELD_MB << 20;
  PetscMPIInt  size;
  double       held0, held1;
  char        *p;
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  held0 = NodeHeld();
  /* room for 32 MB a rank beyond what is held now: 16 MB a rank fits */
  SetLimit(held0 + 32e6 * size);
  TN_ASSERT_OK(TnCheckMemory(PETSC_COMM_WORLD, 16e6, "a test request", NULL));
  /* each rank takes 64 MB (touched): the same request no longer fits */
  p = (char *)malloc(big);
  CU_ASSERT_FATAL(p != NULL);
  memset(p, 1, big);
  held1 = NodeHeld();
  CU_ASSERT(held1 - held0 >= 0.9 * (double)big * size);
  ASSERT_FAILS_WITH(TnCheckMemory(PETSC_COMM_WORLD, 16e6, "a test request", "a hint"), "where the run already holds");
  ASSERT_FAILS_WITH(TnCheckMemory(PETSC_COMM_WORLD, 16e6, "a test request", "a hint"), "-memory_limit of");
  ASSERT_FAILS_WITH(TnCheckMemory(PETSC_COMM_WORLD, 16e6, "a test request", NULL), "a test request needs");
  CU_ASSERT(p[big / 2] == 1);
  free(p); /* freed: no longer held (malloc keeps it for reuse) */
  TN_ASSERT_OK(TnCheckMemory(PETSC_COMM_WORLD, 16e6, "a test request", NULL));
  PetscOptionsClearValue(NULL, "-memory_limit");
}

static void test_without_limit(void)
{
  TN_ASSERT_OK(TnCheckMemory(PETSC_COMM_WORLD, 1e6, "a small request", NULL));
  ASSERT_FAILS_WITH(TnCheckMemory(PETSC_COMM_WORLD, 1e18, "an exabyte", NULL), "90% of MemAvailable");
}

static void test_vec_aligned(void)
{
  const PetscInt bss[3] = {16, 3, 1};
  for (int k = 0; k < 3; k++) {
    const PetscInt bs = bss[k], nloc = 1000 * bs;
    Vec            v, w;
    PetscScalar   *a;
    PetscInt       b, n, N;
    PetscReal      nrm;
    TN_ASSERT_OK(TnVecCreateAligned(PETSC_COMM_WORLD, nloc, bs, &v));
    TN_ASSERT_OK(VecGetBlockSize(v, &b));
    TN_ASSERT_OK(VecGetLocalSize(v, &n));
    CU_ASSERT(b == bs && n == nloc);
    TN_ASSERT_OK(VecGetArray(v, &a));
    CU_ASSERT((uintptr_t)a % 64 == 0);
    for (PetscInt i = 0; i < n; i++) CU_ASSERT(a[i] == 0);
    for (PetscInt i = 0; i < n; i++) a[i] = 1;
    TN_ASSERT_OK(VecRestoreArray(v, &a));
    TN_ASSERT_OK(VecGetSize(v, &N));
    TN_ASSERT_OK(VecDuplicate(v, &w));
    TN_ASSERT_OK(VecCopy(v, w));
    TN_ASSERT_OK(VecNorm(w, NORM_1, &nrm));
    CU_ASSERT(nrm == (PetscReal)N);
    TN_ASSERT_OK(VecDestroy(&w));
    TN_ASSERT_OK(VecDestroy(&v));
  }
  TN_ASSERT_FAILS(TnVecCreateAligned(PETSC_COMM_WORLD, 10, 3, NULL)); /* not whole blocks */
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("memory", NULL, NULL);
  CU_add_test(s, "a -memory_limit counts what the run holds", test_limit_counts_what_is_held);
  CU_add_test(s, "without a limit: MemAvailable", test_without_limit);
  CU_add_test(s, "aligned Vecs", test_vec_aligned);
}
