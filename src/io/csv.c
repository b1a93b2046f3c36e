/* Samples from CSV (one sample per row, one column per node). Rank 0 parses
   blocks of rows (about TN_CSV_CHUNK values each) and scatters to every rank
   its columns [rstart, rend) of those rows; at the end each rank transposes
   its columns to sample-fastest order. Rank 0 holds one block of rows. */
#include "ioimpl.h"
#include <math.h>
#include <string.h>

#define TN_CSV_CHUNK (1 << 22)

typedef struct {
  TnIoFile     in; /* rank 0; in.msg is the error on every rank */
  PetscInt     N;
  PetscBool    started;      /* rank 0: the first row (header or data) was seen */
  long long    S;            /* samples read so far */
  PetscReal   *chunk, *send; /* rank 0: a block of rows, then its per-rank pieces */
  PetscInt    *rs, *re;      /* rank 0: every rank's column range */
  PetscMPIInt *counts, *displs;
  PetscReal   *loc; /* this rank's columns, sample-major: loc[s * n + (i - rstart)] */
  size_t       cap; /* rows loc has room for */
} Csv;

static PetscErrorCode CsvDestroy(void *ctx)
{
  Csv *c = (Csv *)ctx;
  PetscFunctionBeginUser;
  TnIoClose(&c->in);
  PetscCall(PetscFree2(c->chunk, c->send));
  PetscCall(PetscFree2(c->rs, c->re));
  PetscCall(PetscFree2(c->counts, c->displs));
  PetscCall(PetscFree(c->loc));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Parses the comma-separated fields of line into row[0..N) (values beyond N
   are counted, not stored). Returns the field count; *bad is the first field
   that is not a number (-1: none) and *inf the first non-finite one, with
   their text in q; *nnum counts the fields that are numbers. */
static PetscInt CsvParseRow(const char *line, PetscInt N, PetscReal row[], PetscInt *bad, PetscInt *inf, PetscInt *nnum, char q[64])
{
  const char *p = line;
  PetscInt    nf;
  *bad = *inf = -1;
  *nnum       = 0;
  for (nf = 0;; nf++) {
    const char *f = p, *s = p;
    double      x  = 0;
    PetscBool   ok = TnIoParseReal(&s, ",", &x);
    if (ok) {
      while (*s == ' ' || *s == '\t') s++;
      ok = (PetscBool)(*s == ',' || *s == 0);
    }
    for (p = s; *p && *p != ','; p++) {
    }
    if ((!ok && *bad < 0) || (ok && !(PetscAbsReal(x) <= TN_SAMPLE_MAX) && *inf < 0 && *bad < 0)) snprintf(q, 64, "%.*s", (int)PetscMin(p - f, 40), f);
    if (!ok && *bad < 0) *bad = nf;
    if (ok) (*nnum)++;
    if (ok && !(PetscAbsReal(x) <= TN_SAMPLE_MAX) && *inf < 0) *inf = nf;
    if (nf < N) row[nf] = x;
    if (*p != ',') break;
    p++;
  }
  return nf + 1;
}

/* A hint for a row with nf fields where N were expected. */
static const char *CsvHint(PetscInt nf, PetscInt N, const char line[])
{
  if (nf == N + 1) return "; an index column? (pandas: to_csv(index=False))";
  if (nf == 1 && N > 1 && strpbrk(line, ";\t ")) return "; fields must be separated by commas";
  return "";
}

/* The first row is the header if no field of it is a number (names), or if
   it reads exactly 0,1,...,N-1 for N >= 2 (pandas' default column names,
   DataFrame(x).to_csv(index=False)); otherwise it is data, and a field that is
   not a number there is an error, as in any other row. */
static PetscBool CsvIsHeader(PetscInt nf, PetscInt nnum, PetscInt N, const PetscReal row[])
{
  if (nnum == 0) return PETSC_TRUE;
  if (N < 2 || nf != N || nnum != N) return PETSC_FALSE;
  for (PetscInt i = 0; i < N; i++)
    if (row[i] != (PetscReal)i) return PETSC_FALSE;
  return PETSC_TRUE;
}

/* Rank 0: reads up to Rmax data rows into c->chunk; *done at the end of the file. */
static void CsvReadChunk(Csv *c, PetscInt Rmax, PetscInt *R, PetscBool *done)
{
  char q[64];
  *R    = 0;
  *done = PETSC_FALSE;
  while (*R < Rmax) {
    PetscInt   nf, bad, inf, nnum;
    PetscReal *row;
    if (!TnIoNextData(&c->in, "#")) {
      *done = PETSC_TRUE;
      if (!c->in.msg[0] && c->S + *R == 0) snprintf(c->in.msg, sizeof(c->in.msg), "%s has no data rows; expected one sample per row, %" PetscInt_FMT " comma-separated values each", c->in.path, c->N);
      return;
    }
    row = c->chunk + (size_t)*R * (size_t)c->N;
    nf  = CsvParseRow(c->in.line, c->N, row, &bad, &inf, &nnum, q);
    if (!c->started && CsvIsHeader(nf, nnum, c->N, row)) {
      c->started = PETSC_TRUE;
      if (nf != c->N) TnIoFail(&c->in, "the header has %" PetscInt_FMT " fields, expected %" PetscInt_FMT " (the number of nodes)%s", nf, c->N, CsvHint(nf, c->N, c->in.line));
      if (c->in.msg[0]) return;
      continue;
    }
    if (bad >= 0 && !c->started) /* some fields numbers, some not: neither a header nor a sample */
      TnIoFail(&c->in, "field %" PetscInt_FMT ": found '%s', expected a number; the first row mixes numbers and text, so it is neither a header (no field may be a number) nor a sample (every field must be)%s", bad + 1, q, CsvHint(nf, c->N, c->in.line));
    else if (bad >= 0)
      TnIoFail(&c->in, "row %lld, field %" PetscInt_FMT ": found '%s', expected a number%s", c->S + *R + 1, bad + 1, q, CsvHint(nf, c->N, c->in.line));
    else if (nf != c->N)
      TnIoFail(&c->in, "row %lld has %" PetscInt_FMT " values, expected %" PetscInt_FMT " (the number of nodes)%s", c->S + *R + 1, nf, c->N, CsvHint(nf, c->N, c->in.line));
    else if (inf >= 0)
      TnIoFail(&c->in, "row %lld, field %" PetscInt_FMT ": found '%s'; samples must be finite numbers of magnitude at most %g", c->S + *R + 1, inf + 1, q, TN_SAMPLE_MAX);
    else if (c->S + *R + 1 > PETSC_MAX_INT)
      TnIoFail(&c->in, "more than %d samples, the most this PETSc build indexes; split the file", (int)PETSC_MAX_INT);
    c->started = PETSC_TRUE;
    if (c->in.msg[0]) return;
    (*R)++;
  }
}

/* Collective: rank 0's R rows -> every rank's columns, appended to loc. */
static PetscErrorCode CsvScatterChunk(MPI_Comm comm, Csv *c, PetscInt R, PetscInt n)
{
  PetscMPIInt    rank, size, cnt;
  PetscErrorCode ierr;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  if (rank == 0) {
    for (PetscMPIInt r = 0; r < size; r++) {
      PetscInt nr  = c->re[r] - c->rs[r];
      c->counts[r] = (PetscMPIInt)(R * nr);
      c->displs[r] = r ? c->displs[r - 1] + c->counts[r - 1] : 0;
      for (PetscInt k = 0; k < R; k++) PetscCall(PetscArraycpy(c->send + c->displs[r] + k * nr, c->chunk + (size_t)k * (size_t)c->N + c->rs[r], nr));
    }
  }
  if ((size_t)c->S + (size_t)R > c->cap) { /* cap counts rows, the same on every rank: the check is collective */
    size_t cap = PetscMax(2 * c->cap, (size_t)c->S + (size_t)R);
    char   what[PETSC_MAX_PATH_LEN + 64];
    /* the grown buffer, then the sample-fastest copy returned at the end */
    PetscCall(PetscSNPrintf(what, sizeof(what), "reading %s (%lld samples so far)", c->in.path, c->S + (long long)R));
    ierr = TnCheckMemory(comm, 2.0 * (double)cap * (double)n * sizeof(PetscReal), what, "use fewer samples or more nodes");
    if (ierr) (void)CsvDestroy(c); /* a refusal closes the file and frees the rows read */
    PetscCall(ierr);
    c->cap = cap;
    PetscCall(PetscRealloc(sizeof(PetscReal) * c->cap * (size_t)PetscMax(n, 1), &c->loc));
  }
  PetscCall(PetscMPIIntCast(R * n, &cnt));
  PetscCallMPI(MPI_Scatterv(c->send, c->counts, c->displs, MPIU_REAL, c->loc + (size_t)c->S * (size_t)n, cnt, MPIU_REAL, 0, comm));
  c->S += R;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnReadSamplesCSV(MPI_Comm comm, const char path[], PetscInt N, PetscInt rstart, PetscInt rend, PetscInt *S, PetscScalar **x)
{
  Csv         c;
  PetscMPIInt rank, size;
  PetscInt    n = rend - rstart, Rmax, st[2] = {0, 0};
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_IORead, 0, 0, 0, 0));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscMemzero(&c, sizeof(c)));
  c.in.path = path;
  c.N       = N;
  PetscCall(TnIoGatherRanges(comm, "TnReadSamplesCSV", N, rstart, rend, &c.rs, &c.re));
  PetscCall(TnIoChunkSize(comm, TN_CSV_CHUNK, &Rmax));
  Rmax = PetscMax(1, Rmax / PetscMax(N, 1)); /* rows per block */
  if (rank == 0) {
    PetscCall(PetscMalloc2((size_t)Rmax * (size_t)N, &c.chunk, (size_t)Rmax * (size_t)N, &c.send));
    PetscCall(PetscMalloc2(size, &c.counts, size, &c.displs));
    if (N < 1)
      snprintf(c.in.msg, sizeof(c.in.msg), "TnReadSamplesCSV(%s): the number of nodes must be positive, got %" PetscInt_FMT, path, N);
    else
      (void)TnIoOpen(&c.in, path);
  }
  while (!st[1]) { /* st = {rows in this block, done} */
    PetscBool done = PETSC_FALSE;
    if (rank == 0 && !c.in.msg[0]) CsvReadChunk(&c, Rmax, &st[0], &done);
    st[1] = done;
    PetscCall(TnIoSync(comm, c.in.msg, CsvDestroy, &c));
    PetscCallMPI(MPI_Bcast(st, 2, MPIU_INT, 0, comm));
    if (st[0]) PetscCall(CsvScatterChunk(comm, &c, st[0], n));
  }
  PetscCall(PetscIntCast(c.S, S));
  PetscCall(PetscMalloc1((size_t)n * (size_t)c.S, x));
  for (PetscInt s = 0; s < *S; s++)
    for (PetscInt i = 0; i < n; i++) (*x)[(size_t)i * (size_t)*S + (size_t)s] = c.loc[(size_t)s * (size_t)n + (size_t)i];
  PetscCall(CsvDestroy(&c));
  PetscCall(PetscLogEventEnd(TN_IORead, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}
