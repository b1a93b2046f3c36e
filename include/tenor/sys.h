/* tenor/sys.h - start-up, errors that are reported once, counter-based random
   numbers and the profiling events shared by every module. */
#pragma once
#include <petscsys.h>
#include <petscvec.h>
#include <stdint.h>

/* PETSc 3.18 (Debian 12) compatibility: PETSC_SUCCESS arrived in 3.19. */
#if PETSC_VERSION_LT(3, 19, 0) && !defined(PETSC_SUCCESS)
#define PETSC_SUCCESS 0
#endif

/* Profiling events, registered once by TnInitialize (-log_view shows them). */
extern PetscClassId  TN_CLASSID;
extern PetscLogEvent TN_NetBuild, TN_Partition, TN_Coloring, TN_DynSetUp, TN_DynStep, TN_HaloExchange, TN_DataLoad, TN_IORead, TN_IOWrite;

/* Collective on PETSC_COMM_WORLD. Calls PetscInitialize, installs tenor's
   error handler (a user error is printed once, by rank 0 of the communicator
   it was detected on; -tn_traceback restores PETSc's full traceback) and
   registers the log events. */
PetscErrorCode TnInitialize(int *argc, char ***argv, const char help[]);
/* Returns the exit status for main: 0, or 1 after an error. An error seen on
   only some ranks aborts the job so that no rank waits forever. */
int TnFinalize(PetscErrorCode ierr);

/* Collective. If any rank passes bad = PETSC_TRUE, every rank raises
   PETSC_ERR_USER with the message of the lowest such rank, so the error is
   printed once (by rank 0) and no rank is left waiting. */
PetscErrorCode TnErrorSync(MPI_Comm comm, PetscBool bad, const char msg[]);

/* Bytes the ranks of this node may use together: -memory_limit (bytes per
   node) if given, else 90% of MemAvailable. Not collective. */
double TnMemoryNodeAvailable(void);
/* Bytes this rank holds now beyond what it held when TnInitialize returned
   (or at the first call, without TnInitialize): what it has allocated and
   not freed (malloc's own count with glibc, else the resident anonymous
   memory) less that baseline; 0 where neither can be read. Not collective. */
double TnMemoryInUse(void);
/* Takes TnMemoryInUse's baseline now (TnInitialize calls it). */
void TnMemoryMarkBaseline(void);
/* Collective. Refuses, before anything is allocated, when the ranks of some
   node together need more than that node has: `bytes` is what this rank is
   about to allocate for `what` (e.g. "the network's matrix (nnz = 3e8)");
   `hint` (may be NULL) says what to change. One message, every rank fails.
   Under -memory_limit the limit is for the whole run: what the node's ranks
   already hold (TnMemoryInUse) counts against it. Without it, MemAvailable
   already falls as the run takes memory. */
PetscErrorCode TnCheckMemory(MPI_Comm comm, double bytes, const char what[], const char hint[]);
/* Collective. Whether TnCheckMemory would pass for `bytes` on this rank
   (the same on every rank): for a choice between two ways of doing a
   thing, the faster one if it fits. */
PetscErrorCode TnMemoryFits(MPI_Comm comm, double bytes, PetscBool *fits);
/* Collective. With -memory_trace, rank 0 prints the resident memory now
   (/proc/self/statm) and the peak so far (getrusage ru_maxrss), each summed
   over ranks, and the largest rank's: the account of a run phase by phase
   (docs/many-ranks.md). Without the option it does nothing and communicates
   nothing. */
PetscErrorCode TnMemoryTrace(MPI_Comm comm, const char phase[]);
/* Peak resident memory (getrusage ru_maxrss) summed over the ranks of comm,
   and its maximum over them (max may be NULL); bytes. Collective. */
PetscErrorCode TnPeakMemory(MPI_Comm comm, double *sum, double *max);
/* Asks the kernel for transparent huge pages on the whole 2 MB pages inside
   [p, p + bytes), also where malloc hands out pages already touched: fewer
   TLB misses for the random gathers of a large state (the kernels' pbuf, the
   ghosts, lambda, and the save slots the gradient keeps: the forward step
   gathers phi(a_k) from them) and for the long streams (W's values and
   columns, which the rules and the gradient go over). A hint: nothing
   happens where it is not supported. */
void TnMemoryAdviseHuge(void *p, size_t bytes);
/* Arrays of rows that kernels gather or read-modify-write by rows (the
   state's phi(a), row-sum buffers, lambda, the gradient's save slots):
   aligned to the cache line (64 bytes), so a row of B = 8k doubles spans k
   lines and not k + 1 (malloc's 16-byte alignment made a 128-byte row span
   3 lines, a gathered row 1.5 times its bytes), and, from 2 MB up, to the
   huge page, with TnMemoryAdviseHuge. TnMemoryFreeAligned frees them
   (NULL: nothing) and sets *p = NULL. Not counted by PETSc's -malloc_view. */
PetscErrorCode TnMemoryAllocAligned(size_t bytes, void *p);
PetscErrorCode TnMemoryFreeAligned(void *p);
/* A parallel Vec of nlocal entries on this rank (block size bs), zeroed,
   whose storage is TnMemoryAllocAligned's (freed with the Vec): for rows of
   bs values that kernels gather, such as the states and the activities the
   rules are given. VecCreateMPI's storage has malloc's 16-byte alignment. */
PetscErrorCode TnVecCreateAligned(MPI_Comm comm, PetscInt nlocal, PetscInt bs, Vec *v);

/* Counter-based random numbers: the value depends only on (seed, stream,
   counter), never on the rank count. splitmix64 finalizer over a combined key. */
uint64_t TnRandU64(uint64_t seed, uint64_t stream, uint64_t counter);
/* Uniform in the open interval (0, 1). */
PetscReal TnRandUniform(uint64_t seed, uint64_t stream, uint64_t counter);
/* Standard normal (Box-Muller on two uniforms of the same key). */
PetscReal TnRandNormal(uint64_t seed, uint64_t stream, uint64_t counter);

/* Inside PetscOptionsBegin/End: a choice among n names (shown by -help).
   Unlike PetscOptionsEList, an unknown value is a collective error, reported
   once, that lists the choices. *idx is left alone when the option is unset. */
#define TnOptionsChoice(opt, text, man, list, n, idx, set) TnOptionsChoice_Private(PetscOptionsObject, opt, text, man, list, n, idx, set)
PetscErrorCode TnOptionsChoice_Private(PetscOptionItems *obj, const char opt[], const char text[], const char man[], const char *const list[], PetscInt n, PetscInt *idx, PetscBool *set);

/* Wall-clock seconds (MPI_Wtime). */
PetscLogDouble TnTime(void);

/* Progress of long work, printed on rank 0: "what: i/n (rate unit/s, ETA s)".
   Prints at most every `every` seconds, and once at the end. */
typedef struct {
  const char    *what, *unit;
  PetscInt       n;
  PetscLogDouble t0, tlast, every;
  double         work_per_item;
} TnProgress;
PetscErrorCode TnProgressStart(MPI_Comm comm, TnProgress *p, const char what[], PetscInt n, double work_per_item, const char unit[]);
PetscErrorCode TnProgressUpdate(MPI_Comm comm, TnProgress *p, PetscInt done);
/* Whether progress lines are wanted (-tn_progress_every > 0, the default):
   for a one-line announcement of long work that has no count to report. */
PetscBool TnProgressOn(void);

/* Inside PetscOptionsBegin/End: checked numbers (shown by -help with their
   default). An integer is read as 64-bit (an exact 1e6 is accepted, 1.5 is
   not) and must lie in [min, max] and fit PetscInt; a real must be finite and
   lie in [min, max] (PETSC_MIN_REAL, PETSC_MAX_REAL: unbounded). A bad value
   is a collective error, reported once, naming the option and the range.
   *val is cur when the option is unset. */
#define TnOptionsInt(opt, text, man, cur, val, set, min, max) TnOptionsInt_Private(PetscOptionsObject, opt, text, man, cur, val, set, min, max)
#define TnOptionsReal(opt, text, man, cur, val, set, min, max) TnOptionsReal_Private(PetscOptionsObject, opt, text, man, cur, val, set, min, max)
PetscErrorCode TnOptionsInt_Private(PetscOptionItems *obj, const char opt[], const char text[], const char man[], PetscInt cur, PetscInt *val, PetscBool *set, PetscInt64 min, PetscInt64 max);
PetscErrorCode TnOptionsReal_Private(PetscOptionItems *obj, const char opt[], const char text[], const char man[], PetscReal cur, PetscReal *val, PetscBool *set, PetscReal min, PetscReal max);
/* Inside PetscOptionsBegin/End: a logical value, PETSc's spellings (1/0,
   true/false, yes/no, on/off, any case; the option alone is true). Anything
   else is a collective error, reported once, naming the option and the
   spellings. *val is cur when the option is unset. */
#define TnOptionsBool(opt, text, man, cur, val, set) TnOptionsBool_Private(PetscOptionsObject, opt, text, man, cur, val, set)
PetscErrorCode TnOptionsBool_Private(PetscOptionItems *obj, const char opt[], const char text[], const char man[], PetscBool cur, PetscBool *val, PetscBool *set);
/* The same outside PetscOptionsBegin/End, for a full name ("-memory_limit");
   collective on comm. *val is left alone when the option is unset. */
PetscErrorCode TnOptionsGetInt(MPI_Comm comm, const char name[], PetscInt *val, PetscBool *set, PetscInt64 min, PetscInt64 max);
PetscErrorCode TnOptionsGetReal(MPI_Comm comm, const char name[], PetscReal *val, PetscBool *set, PetscReal min, PetscReal max);
/* Not collective: parse a whole string as an integer (an exact real such as
   1e6 too) or a finite real; *ok is false otherwise. */
PetscErrorCode TnParseInt(const char str[], PetscInt64 *v, PetscBool *ok);
PetscErrorCode TnParseReal(const char str[], PetscReal *v, PetscBool *ok);

/* The options pass of a command, collective. Between Begin and End the
   command reads all its options (every object's SetFromOptions, without
   set-up): each one read is recorded, with its group, default and help text.
   End then either prints tenor's options (when -help was given; *help is
   set and the command should stop) on rank 0, or refuses, before any work,
   every option under a tenor prefix (net_, dyn_, data_, ...) that nothing
   read, naming the closest known one. TnOptionsDeclaring() is true in the
   pass: objects with variants read every variant's options then.
   TnOptionsDeclare records an option read elsewhere with PetscOptionsGet*. */
PetscErrorCode TnOptionsPassBegin(MPI_Comm comm);
PetscErrorCode TnOptionsPassEnd(MPI_Comm comm, const char command[], PetscBool *help);
PetscBool      TnOptionsDeclaring(void);
PetscErrorCode TnOptionsDeclare(MPI_Comm comm, const char name[], const char def[], const char text[]);
/* A PetscHelpPrintf that keeps the text for TnOptionsPassEnd (-help all). */
PetscErrorCode TnHelpDefer(MPI_Comm comm, const char fmt[], ...);
