/* Columns of numbers: vectors (MatrixMarket array or plain text), integer
   files, and writing a distributed vector as text. Rank 0 parses the column
   block by block (-tn_io_chunk values, 2^20 by default) and scatters each
   block as it is read (TnIoScatter), so it holds one block, never the whole
   column; writing gathers one rank's part at a time on rank 0 (an atomic
   write: TnCommitOpen). */
#include "ioimpl.h"
#include <math.h>
#include <string.h>

#define TN_COLUMN_CHUNK ((PetscInt)1 << 20)

typedef struct {
  TnIoFile     in; /* rank 0; in.msg is the error on every rank */
  PetscBool    integers;
  const char  *comments;
  long long    want;     /* values required (< 0: any number but zero) */
  long long    declared; /* the count a MatrixMarket size line promised (< 0: none) */
  long         sizeline; /* ... on this line */
  long long    n;        /* values read so far (rank 0) */
  PetscBool    done;     /* rank 0: end of file or error */
  PetscInt     cap;      /* values per block */
  PetscScalar *v;        /* rank 0: the block (real values) */
  PetscInt    *iv;       /* rank 0: the block (integers) */
  PetscInt    *rs, *re;  /* rank 0: every rank's range */
  Vec          vec;      /* TnReadVector: the result, and its array while it is filled */
  PetscScalar *mine;
  PetscInt    *imine; /* TnReadIntegers: this rank's values */
  TnIoScatter  sc;
} Column;

static PetscErrorCode ColumnDestroy(void *ctx)
{
  Column *c = (Column *)ctx;
  PetscFunctionBeginUser;
  TnIoClose(&c->in);
  if (c->mine) PetscCall(VecRestoreArray(c->vec, &c->mine));
  PetscCall(VecDestroy(&c->vec));
  PetscCall(PetscFree(c->v));
  PetscCall(PetscFree(c->iv));
  PetscCall(PetscFree(c->imine));
  PetscCall(PetscFree2(c->rs, c->re));
  PetscCall(TnIoScatterDestroy(&c->sc));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: the end-of-file checks, once every line has been read. */
static void ColumnEnd(Column *c)
{
  c->done = PETSC_TRUE;
  if (c->in.msg[0]) return;
  if (c->declared >= 0 && c->n < c->declared)
    snprintf(c->in.msg, sizeof(c->in.msg), "%s is truncated: expected %lld values (line %ld), found %lld", c->in.path, c->declared, c->sizeline, c->n);
  else if (c->want >= 0 && c->n != c->want)
    snprintf(c->in.msg, sizeof(c->in.msg), "%s has %lld values but the network has %lld nodes", c->in.path, c->n, c->want);
  else if (c->want < 0 && c->n == 0)
    snprintf(c->in.msg, sizeof(c->in.msg), "%s holds no values", c->in.path);
  else if (c->n > PETSC_MAX_INT)
    snprintf(c->in.msg, sizeof(c->in.msg), "%s holds %lld values, more than this PETSc build's %d", c->in.path, c->n, (int)PETSC_MAX_INT);
}

/* Rank 0: the next block, one value per line, skipping blank lines and lines
   starting with a character of c->comments: *got values into the block (at
   most cap). Values past the `want` required are counted, not kept, so the
   message can say how many the file holds. Sets c->done at the end of the
   file or on an error (c->in.msg). */
static void ColumnNext(Column *c, PetscInt *got)
{
  const char *kind = c->integers ? "non-negative integer" : "number";
  char        q[64];
  *got = 0;
  while (!c->done && *got < c->cap) {
    const char *p;
    long long   k = 0;
    double      x = 0;
    PetscBool   ok;
    if (!TnIoNextData(&c->in, c->comments)) {
      ColumnEnd(c);
      break;
    }
    p = c->in.line;
    TnIoQuote(p, q);
    if (c->integers)
      ok = (PetscBool)(TnIoParseInt(&p, NULL, &k) && TnIoBlank(p)), x = (double)k;
    else
      ok = (PetscBool)(TnIoParseReal(&p, NULL, &x) && TnIoBlank(p));
    if (!ok)
      TnIoFail(&c->in, "found '%s', expected one %s per line", q, kind);
    else if (!isfinite(x))
      TnIoFail(&c->in, "found '%s': the value is not finite", q);
    else if (c->integers && (k < 0 || k >= PETSC_MAX_INT))
      TnIoFail(&c->in, "found %lld, expected a non-negative integer below %d", k, (int)PETSC_MAX_INT);
    else if (c->declared >= 0 && c->n == c->declared)
      TnIoFail(&c->in, "extra value after the %lld declared on line %ld; fix the size there or remove the extra lines", c->declared, c->sizeline);
    if (c->in.msg[0]) {
      c->done = PETSC_TRUE;
      break;
    }
    if (c->want < 0 || c->n < c->want) {
      if (c->integers)
        c->iv[*got] = (PetscInt)k;
      else
        c->v[*got] = x;
      (*got)++;
    }
    c->n++;
  }
}

/* Rank 0: a MatrixMarket array header (banner already in in.line). */
static void ReadMMHeader(Column *c, PetscInt N)
{
  PetscBool   pattern, symmetric;
  const char *p;
  long long   rows, cols;
  char        q[64];
  TnIoMMBanner(&c->in, PETSC_FALSE, &pattern, &symmetric);
  if (c->in.msg[0]) return;
  if (!TnIoNextData(&c->in, "%")) {
    if (!c->in.msg[0]) snprintf(c->in.msg, sizeof(c->in.msg), "%s ends after the banner; expected the size line 'N 1'", c->in.path);
    return;
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
  if (c->in.msg[0]) return;
  c->comments = "%";
  c->declared = rows * cols;
  c->sizeline = c->in.lineno;
}

/* Rank 0: opens the file and positions it at the first value (MatrixMarket
   array if allowed and the file starts with "%%"). N >= 0: the values
   required; N < 0: any number of them but zero. Sets c->done on an error. */
static void ColumnOpen(Column *c, const char path[], PetscInt N)
{
  c->n        = 0;
  c->done     = PETSC_FALSE;
  c->want     = N;
  c->declared = -1;
  c->sizeline = 0;
  c->comments = "#%";
  if (!TnIoOpen(&c->in, path)) {
    c->done = PETSC_TRUE;
    return;
  }
  if (!c->integers && TnIoNext(&c->in) && !strncmp(c->in.line, "%%", 2))
    ReadMMHeader(c, N);
  else if (!c->in.msg[0]) {
    rewind(c->in.f);
    c->in.lineno = 0;
  }
  if (c->in.msg[0]) c->done = PETSC_TRUE;
}

/* Collective: rank 0 holds one block of values while it parses; refused
   before allocating when its node cannot hold it. */
static PetscErrorCode ColumnSetUp(MPI_Comm comm, Column *c, const char path[], PetscBool integers, PetscInt N)
{
  PetscMPIInt rank;
  char        what[PETSC_MAX_PATH_LEN + 64];
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(PetscMemzero(c, sizeof(*c)));
  c->in.path  = path;
  c->integers = integers;
  PetscCall(TnIoChunkSize(comm, TN_COLUMN_CHUNK, &c->cap));
  if (N > 0) c->cap = PetscMin(c->cap, N);
  PetscCall(PetscSNPrintf(what, sizeof(what), "reading %s (%" PetscInt_FMT " values, parsed on rank 0)", path, c->cap));
  PetscCall(TnCheckMemory(comm, rank == 0 ? (double)c->cap * sizeof(PetscScalar) : 0, what, "run on more nodes"));
  if (rank == 0 && integers) PetscCall(PetscMalloc1(c->cap, &c->iv));
  if (rank == 0 && !integers) PetscCall(PetscMalloc1(c->cap, &c->v));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Collective: the file's values, block by block, into this rank's
   [rstart, rend) (mine); then the errors found on the way, on every rank. */
static PetscErrorCode ColumnStream(MPI_Comm comm, Column *c, PetscInt N, PetscInt rstart, PetscInt rend, void *mine)
{
  PetscMPIInt rank;
  PetscInt    got;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(TnIoGatherRanges(comm, c->integers ? "TnReadIntegers" : "TnReadVector", N, rstart, rend, &c->rs, &c->re));
  PetscCall(TnIoScatterCreate(comm, rstart, rend, c->rs, c->re, &c->sc));
  if (rank == 0) ColumnOpen(c, c->in.path, N);
  do {
    if (rank == 0) ColumnNext(c, &got);
    if (rank == 0 && c->in.msg[0]) got = 0; /* an error: nothing more is sent */
    PetscCall(TnIoScatterBlock(&c->sc, &got, c->integers ? (const void *)c->iv : (const void *)c->v, c->integers ? MPIU_INT : MPIU_SCALAR, mine));
  } while (got > 0);
  TnIoClose(&c->in);
  PetscCall(TnIoSync(comm, c->in.msg, ColumnDestroy, c));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnReadVector(MPI_Comm comm, const char path[], PetscInt N, Vec *v)
{
  Column      c;
  PetscMPIInt rank;
  PetscInt    n = N, rs, re;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_IORead, 0, 0, 0, 0));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(ColumnSetUp(comm, &c, path, PETSC_FALSE, N));
  if (N <= 0) { /* the size found: a first pass counts the values */
    PetscInt got;
    if (rank == 0) {
      ColumnOpen(&c, path, -1);
      while (!c.done) ColumnNext(&c, &got);
      TnIoClose(&c.in);
    }
    PetscCall(TnIoSync(comm, c.in.msg, ColumnDestroy, &c));
    n = (PetscInt)c.n;
    PetscCallMPI(MPI_Bcast(&n, 1, MPIU_INT, 0, comm));
  }
  PetscCall(VecCreateMPI(comm, PETSC_DECIDE, n, &c.vec));
  PetscCall(VecGetOwnershipRange(c.vec, &rs, &re));
  PetscCall(VecGetArray(c.vec, &c.mine));
  PetscCall(ColumnStream(comm, &c, n, rs, re, c.mine));
  PetscCall(VecRestoreArray(c.vec, &c.mine));
  c.mine = NULL;
  *v     = c.vec;
  c.vec  = NULL;
  PetscCall(ColumnDestroy(&c));
  PetscCall(PetscLogEventEnd(TN_IORead, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnReadIntegers(MPI_Comm comm, const char path[], PetscInt N, PetscInt rstart, PetscInt rend, PetscInt **out)
{
  Column c;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_IORead, 0, 0, 0, 0));
  PetscCall(ColumnSetUp(comm, &c, path, PETSC_TRUE, N));
  PetscCall(PetscMalloc1(PetscMax(rend - rstart, 0) + 1, &c.imine));
  PetscCall(ColumnStream(comm, &c, N, rstart, rend, c.imine));
  *out    = c.imine;
  c.imine = NULL;
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
