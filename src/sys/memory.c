/* Memory a run may plan with, and the one check that refuses, before
   anything is allocated, a request that cannot fit.
   Invariant: the ranks sharing a node together need at most what that node
   has available; the check is collective and its message names what needs
   the memory, how much, how much there is, and what to change. */
#define _DEFAULT_SOURCE /* madvise and MADV_HUGEPAGE: the build's _XOPEN_SOURCE alone hides them */
#include <tenor/sys.h>
#include <sys/mman.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

/* Bytes this node may use: -memory_limit (bytes per node) if given, else 90%
   of MemAvailable (/proc/meminfo; free pages if that is absent). */
double TnMemoryNodeAvailable(void)
{
  PetscReal limit = 0;
  PetscBool set   = PETSC_FALSE;
  FILE     *fp;
  char      line[256];
  double    kb = -1;
  if (!PetscOptionsGetReal(NULL, NULL, "-memory_limit", &limit, &set) && set && limit > 0) return (double)limit;
  fp = fopen("/proc/meminfo", "r");
  if (fp) {
    while (fgets(line, sizeof(line), fp))
      if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
    fclose(fp);
  }
  if (kb < 0) return 0.9 * (double)sysconf(_SC_AVPHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
  return 0.9 * kb * 1024.0;
}

/* Bytes this process has allocated and not freed: malloc's own count
   (glibc's mallinfo2: in use in the arenas plus mmap'd blocks), else its
   resident anonymous memory (RssAnon, /proc/self/status), else -1. Not the
   resident set where malloc is there: a library tenor links
   (libsuperlu_dist, through PETSc) turns off malloc's mmap and its trimming
   when it loads, so freed memory stays resident, free for malloc to hand
   out again; counted as held it would refuse runs that fit. */
static double Allocated(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  const struct mallinfo2 mi = mallinfo2();
  return (double)mi.uordblks + (double)mi.hblkhd;
#else
  FILE  *fp = fopen("/proc/self/status", "r");
  char   line[256];
  double kb = -1;
  if (!fp) return -1;
  while (fgets(line, sizeof(line), fp))
    if (sscanf(line, "RssAnon: %lf kB", &kb) == 1) break;
  fclose(fp);
  return kb < 0 ? -1 : 1024.0 * kb;
#endif
}

static double tn_alloc_base = -1; /* Allocated() when TnInitialize returned */

void TnMemoryMarkBaseline(void)
{
  tn_alloc_base = Allocated();
}

double TnMemoryInUse(void)
{
  const double now = Allocated();
  if (now < 0) return 0;
  if (tn_alloc_base < 0) tn_alloc_base = now;
  return now > tn_alloc_base ? now - tn_alloc_base : 0;
}

/* This node's need, what its ranks hold (under -memory_limit), what it
   has, its rank count, whether the limit is set, and the worst shortfall
   over all nodes (need + held - avail; > 0: short). Collective. */
static PetscErrorCode Shortfall(MPI_Comm comm, double bytes, double *need, double *held, double *avail, PetscMPIInt *rn, PetscBool *set, double *worst)
{
  MPI_Comm  node;
  double    v[2] = {bytes > 0 ? bytes : 0, 0};
  PetscReal limit;
  PetscFunctionBeginUser;
  *avail = TnMemoryNodeAvailable();
  *set   = PETSC_FALSE;
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-memory_limit", &limit, set));
  *set = (PetscBool)(*set && limit > 0);
  v[1] = *set ? TnMemoryInUse() : 0; /* a limit is for the whole run: what the ranks hold counts */
  PetscCallMPI(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  PetscCallMPI(MPI_Comm_size(node, rn));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_DOUBLE, MPI_SUM, node));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, avail, 1, MPI_DOUBLE, MPI_MIN, node));
  PetscCallMPI(MPI_Comm_free(&node));
  *need  = v[0];
  *held  = v[1];
  *worst = *need + *held - *avail;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, worst, 1, MPI_DOUBLE, MPI_MAX, comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnMemoryFits(MPI_Comm comm, double bytes, PetscBool *fits)
{
  double      need, held, avail, worst;
  PetscMPIInt rn;
  PetscBool   set;
  PetscFunctionBeginUser;
  PetscCall(Shortfall(comm, bytes, &need, &held, &avail, &rn, &set, &worst));
  *fits = (PetscBool) !(worst > 0);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnCheckMemory(MPI_Comm comm, double bytes, const char what[], const char hint[])
{
  PetscMPIInt rn;
  double      avail, worst[1], need, held;
  PetscBool   set;
  char        msg[1024];
  PetscFunctionBeginUser;
  /* the node whose shortfall is worst speaks for all */
  PetscCall(Shortfall(comm, bytes, &need, &held, &avail, &rn, &set, worst));
  if (!(worst[0] > 0)) PetscFunctionReturn(PETSC_SUCCESS);
  if (set)
    PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s needs %.4g GB on a node with %d rank(s), where the run already holds %.4g GB of its -memory_limit of %.4g GB%s%s", what, need / 1e9, (int)rn, held / 1e9, avail / 1e9, hint && hint[0] ? ": " : "", hint ? hint : ""));
  else
    PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s needs %.4g GB on a node with %d rank(s) but %.4g GB is available there (90%% of MemAvailable)%s%s", what, need / 1e9, (int)rn, avail / 1e9, hint && hint[0] ? ": " : "", hint ? hint : ""));
  PetscCall(TnErrorSync(comm, (PetscBool)(need + held - avail >= worst[0]), msg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnMemoryTrace(MPI_Comm comm, const char phase[])
{
  PetscBool     on = PETSC_FALSE;
  struct rusage ru;
  long          pages, resident;
  FILE         *fp;
  double        me[2] = {0, 0}, sum[2], mx[2];
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-memory_trace", &on, NULL));
  if (!on) PetscFunctionReturn(PETSC_SUCCESS);
  if ((fp = fopen("/proc/self/statm", "r"))) {
    if (fscanf(fp, "%ld %ld", &pages, &resident) == 2) me[0] = (double)resident * (double)sysconf(_SC_PAGESIZE);
    fclose(fp);
  }
  getrusage(RUSAGE_SELF, &ru);
  me[1] = 1024.0 * (double)ru.ru_maxrss;
  PetscCallMPI(MPI_Allreduce(me, sum, 2, MPI_DOUBLE, MPI_SUM, comm));
  PetscCallMPI(MPI_Allreduce(me, mx, 2, MPI_DOUBLE, MPI_MAX, comm));
  PetscCall(PetscPrintf(comm, "memory trace: %-40s resident %9.4f GB (max rank %9.4f), peak %9.4f GB (max rank %9.4f)\n", phase, sum[0] / 1e9, mx[0] / 1e9, sum[1] / 1e9, mx[1] / 1e9));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnPeakMemory(MPI_Comm comm, double *sum, double *max)
{
  struct rusage ru;
  double        me;
  PetscFunctionBeginUser;
  getrusage(RUSAGE_SELF, &ru);
  me = 1024.0 * (double)ru.ru_maxrss;
  PetscCallMPI(MPI_Allreduce(&me, sum, 1, MPI_DOUBLE, MPI_SUM, comm));
  if (max) PetscCallMPI(MPI_Allreduce(&me, max, 1, MPI_DOUBLE, MPI_MAX, comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnMemoryAllocAligned(size_t bytes, void *p)
{
  const size_t huge = (size_t)1 << 21, align = bytes >= huge ? huge : 64;
  void        *q = NULL;
  int          err;
  PetscFunctionBeginUser;
  err = posix_memalign(&q, align, bytes ? bytes : 1);
  PetscCheck(!err && q, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory: %.4g MB for a kernel buffer could not be allocated; use fewer samples per batch (-dyn_batch), more ranks or nodes, or a smaller network", (double)bytes / 1e6);
  if (bytes >= huge) TnMemoryAdviseHuge(q, bytes);
  *(void **)p = q;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnMemoryFreeAligned(void *p)
{
  PetscFunctionBeginUser;
  free(*(void **)p);
  *(void **)p = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode FreeAlignedStorage(void *p)
{
  free(p);
  return PETSC_SUCCESS;
}

PetscErrorCode TnVecCreateAligned(MPI_Comm comm, PetscInt nlocal, PetscInt bs, Vec *v)
{
  PetscScalar   *a;
  PetscContainer c;
  PetscFunctionBeginUser;
  PetscCheck(nlocal >= 0 && bs >= 1 && nlocal % bs == 0, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "an aligned Vec needs whole blocks: %" PetscInt_FMT " local entries, block size %" PetscInt_FMT, nlocal, bs);
  PetscCall(TnMemoryAllocAligned(sizeof(PetscScalar) * ((size_t)nlocal + 1), &a));
  PetscCall(PetscArrayzero(a, nlocal));
  PetscCall(VecCreateMPIWithArray(comm, bs, nlocal, PETSC_DECIDE, a, v));
  PetscCall(PetscContainerCreate(PETSC_COMM_SELF, &c));
  PetscCall(PetscContainerSetPointer(c, a));
  PetscCall(PetscContainerSetUserDestroy(c, FreeAlignedStorage));
  PetscCall(PetscObjectCompose((PetscObject)*v, "TnAlignedStorage", (PetscObject)c)); /* the Vec holds the storage; freed at its destruction */
  PetscCall(PetscContainerDestroy(&c));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* MADV_HUGEPAGE makes the pages touched from now on huge; MADV_COLLAPSE
   (Linux >= 6.1; refused elsewhere, harmless) turns the pages already there
   into huge ones, for memory that malloc hands out again after a free. */
void TnMemoryAdviseHuge(void *p, size_t bytes)
{
#if defined(MADV_HUGEPAGE)
  const uintptr_t huge = (uintptr_t)1 << 21, lo = ((uintptr_t)p + huge - 1) & ~(huge - 1), hi = ((uintptr_t)p + bytes) & ~(huge - 1);
  if (p && hi > lo) {
    (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
    (void)madvise((void *)lo, hi - lo, 25 /* MADV_COLLAPSE */);
  }
#else
  (void)p;
  (void)bytes;
#endif
}
