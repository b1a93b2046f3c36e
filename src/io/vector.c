/* Columns of numbers: vectors (MatrixMarket array or plain text), integer
   files, and writing a distributed vector as text. Rank 0 parses the whole
   column (N values, 8 bytes each) and scatters it; writing gathers one
   rank's part at a time on rank 0 (an atomic write: TnCommitOpen). */
#include "ioimpl.h"
#include <math.h>
#include <string.h>

typedef struct {
  TnIoFile     in; /* rank 0; in.msg is the error on every rank */
  PetscScalar *v;  /* rank 0: the values read */
  long long    n;  /* how many values the file holds (rank 0) */
  PetscInt     cap;
  PetscInt    *rs, *re; /* rank 0: every rank's range (TnReadIntegers) */
  PetscMPIInt *counts, *displs;
} Column;

static PetscErrorCode ColumnDestroy(void *ctx)
{
  Column *c = (Column *)ctx;
  PetscFunctionBeginUser;
  TnIoClose(&c->in);
  PetscCall(PetscFree(c->v));
  PetscCall(PetscFree2(c->rs, c->re));
  PetscCall(PetscFree2(c->counts, c->displs));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: reads one value per line until the end of the file, skipping blank
   lines and lines starting with a character of `comments`. want >= 0: the
   number of values required (< 0: any number but zero); declared >= 0: the count a MatrixMarket size
   line (at line `sizeline`) promised. Sets c->in.msg on any error. */
static PetscErrorCode ColumnRead(Column *c, const char comments[], PetscBool integers, PetscInt want, long long declared, long sizeline)
{
  const char *kind = integers ? "non-negative integer" : "number";
  char        q[64];
  PetscFunctionBeginUser;
  c->n = 0;
  while (TnIoNextData(&c->in, comments)) {
    const char *p = c->in.line;
    long long   k = 0;
    double      x = 0;
    PetscBool   ok;
    TnIoQuote(p, q);
    if (integers)
      ok = (PetscBool)(TnIoParseInt(&p, NULL, &k) && TnIoBlank(p)), x = (double)k;
    else
      ok = (PetscBool)(TnIoParseReal(&p, NULL, &x) && TnIoBlank(p));
    if (!ok)
      TnIoFail(&c->in, "found '%s', expected one %s per line", q, kind);
    else if (!isfinite(x))
      TnIoFail(&c->in, "found '%s': the value is not finite", q);
    else if (integers && (k < 0 || k >= PETSC_MAX_INT))
      TnIoFail(&c->in, "found %lld, expected a non-negative integer below %d", k, (int)PETSC_MAX_INT);
    else if (declared >= 0 && c->n == declared)
      TnIoFail(&c->in, "extra value after the %lld declared on line %ld; fix the size there or remove the extra lines", declared, sizeline);
    if (c->in.msg[0]) break;
    if (want < 0 && c->n == c->cap) {
      c->cap = PetscMax(1024, c->cap < PETSC_MAX_INT / 2 ? 2 * c->cap : PETSC_MAX_INT);
      PetscCall(PetscRealloc(sizeof(PetscScalar) * (size_t)c->cap, &c->v));
    }
    if (c->n < c->cap) c->v[c->n] = x;
    c->n++;
  }
  if (c->in.msg[0]) PetscFunctionReturn(PETSC_SUCCESS);
  if (declared >= 0 && c->n < declared)
    snprintf(c->in.msg, sizeof(c->in.msg), "%s is truncated: expected %lld values (line %ld), found %lld", c->in.path, declared, sizeline, c->n);
  else if (want >= 0 && c->n != want)
    snprintf(c->in.msg, sizeof(c->in.msg), "%s has %lld values but the network has %" PetscInt_FMT " nodes", c->in.path, c->n, want);
  else if (want < 0 && c->n == 0)
    snprintf(c->in.msg, sizeof(c->in.msg), "%s holds no values", c->in.path);
  else if (c->n > PETSC_MAX_INT)
    snprintf(c->in.msg, sizeof(c->in.msg), "%s holds %lld values, more than this PETSc build's %d", c->in.path, c->n, (int)PETSC_MAX_INT);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: a MatrixMarket array header (banner already in in.line) and values. */
static PetscErrorCode ReadMMArray(Column *c, PetscInt N)
{
  PetscBool   pattern, symmetric;
  const char *p;
  long long   rows, cols;
  char        q[64];
  PetscFunctionBeginUser;
  TnIoMMBanner(&c->in, PETSC_FALSE, &pattern, &symmetric);
  if (c->in.msg[0]) PetscFunctionReturn(PETSC_SUCCESS);
  if (!TnIoNextData(&c->in, "%")) {
    if (!c->in.msg[0]) snprintf(c->in.msg, sizeof(c->in.msg), "%s ends after the banner; expected the size line 'N 1'", c->in.path);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  p = c->in.line;
  TnIoQuote(p, q);
  if (!TnIoParseInt(&p, NULL, &rows) || !TnIoParseInt(&p, NULL, &cols) || !TnIoBlank(p))
    TnIoFail(&c->in, "found '%s', expected the size line 'N 1' (two integers)", q);
  else if ((rows != 1 && cols != 1) || rows < 1 || cols < 1)
    TnIoFail(&c->in, "the array is %lld x %lld; a vector must be N x 1 or 1 x N", rows, cols);
  else if (rows > PETSC_MAX_INT || cols > PETSC_MAX_INT)
    TnIoFail(&c->in, "the array is %lld x %lld, more than this PETSc build's %d values", rows, cols, (int)PETSC_MAX_INT);
  else if (N >= 0 && rows * cols != N)
    TnIoFail(&c->in, "the array is %lld x %lld but the network has %" PetscInt_FMT " nodes", rows, cols, N);
  if (c->in.msg[0]) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(ColumnRead(c, "%", PETSC_FALSE, N, rows * cols, c->in.lineno));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: opens the file and reads it as a column (MatrixMarket array if
   allowed and the file starts with "%%"). N >= 0: the values required;
   N < 0: any number of them but zero. */
static PetscErrorCode ColumnLoad(Column *c, const char path[], PetscBool integers, PetscInt N)
{
  PetscFunctionBeginUser;
  if (N > 0) {
    c->cap = N;
    PetscCall(PetscMalloc1(N, &c->v));
  }
  if (!TnIoOpen(&c->in, path)) PetscFunctionReturn(PETSC_SUCCESS);
  if (!integers && TnIoNext(&c->in) && !strncmp(c->in.line, "%%", 2))
    PetscCall(ReadMMArray(c, N));
  else if (!c->in.msg[0]) {
    rewind(c->in.f);
    c->in.lineno = 0;
    PetscCall(ColumnRead(c, "#%", integers, N, -1, 0));
  }
  TnIoClose(&c->in);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Collective: rank 0 holds all N values (8 bytes each) while it parses;
   refused before allocating when its node cannot hold them. */
static PetscErrorCode ColumnCheckMemory(MPI_Comm comm, const char path[], PetscInt N)
{
  PetscMPIInt rank;
  char        what[PETSC_MAX_PATH_LEN + 64];
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(PetscSNPrintf(what, sizeof(what), "reading %s (%" PetscInt_FMT " values, parsed on rank 0)", path, N));
  PetscCall(TnCheckMemory(comm, rank == 0 && N > 0 ? (double)N * sizeof(PetscScalar) : 0, what, "run on more nodes"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnReadVector(MPI_Comm comm, const char path[], PetscInt N, Vec *v)
{
  Column          c;
  PetscMPIInt     rank, size, nloc;
  PetscInt        n;
  const PetscInt *ranges;
  PetscScalar    *a;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_IORead, 0, 0, 0, 0));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscMemzero(&c, sizeof(c)));
  c.in.path = path;
  PetscCall(ColumnCheckMemory(comm, path, N));
  if (rank == 0) PetscCall(ColumnLoad(&c, path, PETSC_FALSE, N > 0 ? N : -1));
  PetscCall(TnIoSync(comm, c.in.msg, ColumnDestroy, &c));
  n = (PetscInt)c.n;
  PetscCallMPI(MPI_Bcast(&n, 1, MPIU_INT, 0, comm));
  PetscCall(VecCreateMPI(comm, PETSC_DECIDE, n, v));
  PetscCall(VecGetOwnershipRanges(*v, &ranges));
  if (rank == 0) {
    PetscCall(PetscMalloc2(size, &c.counts, size, &c.displs));
    for (PetscMPIInt r = 0; r < size; r++) c.counts[r] = (PetscMPIInt)(ranges[r + 1] - ranges[r]), c.displs[r] = (PetscMPIInt)ranges[r];
  }
  PetscCall(PetscMPIIntCast(ranges[rank + 1] - ranges[rank], &nloc));
  PetscCall(VecGetArray(*v, &a));
  PetscCallMPI(MPI_Scatterv(c.v, c.counts, c.displs, MPIU_SCALAR, a, nloc, MPIU_SCALAR, 0, comm));
  PetscCall(VecRestoreArray(*v, &a));
  PetscCall(ColumnDestroy(&c));
  PetscCall(PetscLogEventEnd(TN_IORead, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnReadIntegers(MPI_Comm comm, const char path[], PetscInt N, PetscInt rstart, PetscInt rend, PetscInt **out)
{
  Column       c;
  PetscMPIInt  rank, size, nloc;
  PetscScalar *a;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_IORead, 0, 0, 0, 0));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscMemzero(&c, sizeof(c)));
  c.in.path = path;
  PetscCall(ColumnCheckMemory(comm, path, N));
  PetscCall(TnIoGatherRanges(comm, "TnReadIntegers", N, rstart, rend, &c.rs, &c.re));
  if (rank == 0) PetscCall(ColumnLoad(&c, path, PETSC_TRUE, N));
  PetscCall(TnIoSync(comm, c.in.msg, ColumnDestroy, &c));
  if (rank == 0) {
    PetscCall(PetscMalloc2(size, &c.counts, size, &c.displs));
    for (PetscMPIInt r = 0; r < size; r++) c.counts[r] = (PetscMPIInt)(c.re[r] - c.rs[r]), c.displs[r] = (PetscMPIInt)c.rs[r];
  }
  PetscCall(PetscMPIIntCast(rend - rstart, &nloc));
  PetscCall(PetscMalloc1(nloc, &a));
  PetscCallMPI(MPI_Scatterv(c.v, c.counts, c.displs, MPIU_SCALAR, a, nloc, MPIU_SCALAR, 0, comm));
  PetscCall(PetscMalloc1(nloc, out));
  for (PetscMPIInt i = 0; i < nloc; i++) (*out)[i] = (PetscInt)PetscRealPart(a[i]); /* exact: checked integers */
  PetscCall(PetscFree(a));
  PetscCall(ColumnDestroy(&c));
  PetscCall(PetscLogEventEnd(TN_IORead, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rows first .. first+n-1: "value", or "index,value" (indexed). */
static void WriteValues(FILE *f, PetscInt first, PetscInt n, const PetscScalar a[], PetscBool indexed)
{
  for (PetscInt i = 0; i < n; i++)
    if (indexed)
      fprintf(f, "%" PetscInt_FMT ",%.17g\n", first + i, (double)PetscRealPart(a[i]));
    else
      fprintf(f, "%.17g\n", (double)PetscRealPart(a[i]));
}

static PetscErrorCode WriteVec(Vec v, const char header[], const char path[], PetscBool indexed)
{
  MPI_Comm           comm;
  PetscMPIInt        rank, size, n;
  const PetscInt    *ranges;
  const PetscScalar *a;
  FILE              *f;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_IOWrite, 0, 0, 0, 0));
  PetscCall(PetscObjectGetComm((PetscObject)v, &comm));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(VecGetOwnershipRanges(v, &ranges));
  PetscCall(TnCommitOpen(comm, path, &f));
  PetscCall(VecGetArrayRead(v, &a));
  if (rank == 0) {
    PetscInt     nmax = 0;
    PetscScalar *buf;
    for (PetscMPIInt r = 1; r < size; r++) nmax = PetscMax(nmax, ranges[r + 1] - ranges[r]);
    PetscCall(PetscMalloc1(nmax, &buf));
    if (header) fprintf(f, "%s\n", header);
    WriteValues(f, 0, ranges[1] - ranges[0], a, indexed);
    for (PetscMPIInt r = 1; r < size; r++) {
      PetscCall(PetscMPIIntCast(ranges[r + 1] - ranges[r], &n));
      PetscCallMPI(MPI_Recv(buf, n, MPIU_SCALAR, r, 0, comm, MPI_STATUS_IGNORE));
      WriteValues(f, ranges[r], n, buf, indexed);
    }
    PetscCall(PetscFree(buf));
  } else {
    PetscCall(PetscMPIIntCast(ranges[rank + 1] - ranges[rank], &n));
    PetscCallMPI(MPI_Send(a, n, MPIU_SCALAR, 0, 0, comm));
  }
  PetscCall(VecRestoreArrayRead(v, &a));
  PetscCall(TnCommitClose(comm, path, &f, PETSC_TRUE));
  PetscCall(PetscLogEventEnd(TN_IOWrite, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnWriteVecText(Vec v, const char header[], const char path[])
{
  PetscFunctionBeginUser;
  PetscCall(WriteVec(v, header, path, PETSC_FALSE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnWriteVecTable(Vec v, const char header[], const char path[])
{
  PetscFunctionBeginUser;
  PetscCall(WriteVec(v, header, path, PETSC_TRUE));
  PetscFunctionReturn(PETSC_SUCCESS);
}
