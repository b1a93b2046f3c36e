/* TnMemoryAdviseHuge (tenor/sys.h): the whole 2 MB pages inside a buffer are
   marked for transparent huge pages ("hg" in the mapping's VmFlags,
   /proc/self/smaps), for a buffer not yet touched and for one whose pages
   are already there (memory malloc hands out again after a free); the
   partial 2 MB pages at its ends are left alone, and a NULL or small buffer
   is a no-op. Skipped (passes, with a note) where the kernel has no
   transparent huge pages or they are turned off ("never"). */
#include "tn_test.h"
#include <string.h>
#include <inttypes.h>

#define TN_HUGE ((uintptr_t)1 << 21)

/* PETSC_TRUE where madvise(MADV_HUGEPAGE) can take effect. */
static PetscBool HugeAvailable(void)
{
  char  line[256] = "";
  FILE *f         = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  if (!f) return PETSC_FALSE;
  if (!fgets(line, sizeof(line), f)) line[0] = 0;
  fclose(f);
  return (PetscBool)(line[0] && !strstr(line, "[never]"));
}

/* 1 when the mapping that holds address a has the huge-page advice (VmFlags
   "hg"), 0 when it has not, -1 when a is in no mapping. */
static int Advised(uintptr_t a)
{
  char      line[512];
  int       in = 0, res = -1;
  uintptr_t lo, hi;
  FILE     *f = fopen("/proc/self/smaps", "r");
  if (!f) return -1;
  while (fgets(line, sizeof(line), f)) {
    if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &lo, &hi) == 2)
      in = a >= lo && a < hi; /* a mapping's first line */
    else if (in && !strncmp(line, "VmFlags:", 8)) {
      res = strstr(line, " hg") ? 1 : 0;
      break;
    }
  }
  fclose(f);
  return res;
}

static void Check(PetscBool touch)
{
  const size_t bytes = 12 * TN_HUGE;
  char        *p     = NULL;
  uintptr_t    lo, hi;
  CU_ASSERT_FATAL(PetscMalloc1(bytes, &p) == 0);
  if (touch) memset(p, 1, bytes);
  lo = ((uintptr_t)p + TN_HUGE - 1) & ~(TN_HUGE - 1);
  hi = ((uintptr_t)p + bytes) & ~(TN_HUGE - 1);
  TnMemoryAdviseHuge(p, bytes);
  CU_ASSERT(Advised(lo) == 1);
  CU_ASSERT(Advised(hi - 1) == 1);
  CU_ASSERT(Advised((lo + hi) / 2) == 1);
  if (lo > (uintptr_t)p) CU_ASSERT(Advised(lo - 1) != 1);                    /* the partial page before */
  if (touch) CU_ASSERT(p[0] == 1 && p[bytes / 2] == 1 && p[bytes - 1] == 1); /* the contents stay */
  CU_ASSERT(PetscFree(p) == 0);
}

static void test_advise_fresh(void)
{
  if (!HugeAvailable()) {
    fprintf(stderr, "transparent huge pages absent or off here: nothing to check\n");
    return;
  }
  Check(PETSC_FALSE);
}

static void test_advise_touched(void)
{
  if (!HugeAvailable()) return;
  Check(PETSC_TRUE);
}

static void test_advise_noop(void)
{
  char buf[64];
  TnMemoryAdviseHuge(NULL, 1 << 24);
  TnMemoryAdviseHuge(buf, sizeof(buf)); /* no whole 2 MB page inside: nothing */
  CU_ASSERT(Advised((uintptr_t)buf) != 1);
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("hugepages", NULL, NULL);
  CU_add_test(s, "advice on a fresh buffer", test_advise_fresh);
  CU_add_test(s, "advice on pages already touched", test_advise_touched);
  CU_add_test(s, "NULL and small buffers: nothing", test_advise_noop);
}
