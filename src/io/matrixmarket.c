/* MatrixMarket coordinate files <-> parallel AIJ matrices.
   Reading: rank 0 parses TN_MM_CHUNK entries at a time, buckets them by the
   rank owning their row (PETSc's default split) and scatters each chunk, so
   rank 0 holds one chunk plus its own rows. Each rank then sorts its rows,
   sums duplicates and builds its MPIAIJ block with exact preallocation.
   Writing: rank 0 writes, receiving the other ranks' rows in turn, through
   an atomic write (TnCommitOpen). */
#include "ioimpl.h"
#include <math.h>
#include <string.h>

#define TN_MM_CHUNK (1 << 20)

typedef struct {
  TnIoFile     in;         /* the file (rank 0); in.msg is the error on every rank */
  PetscInt     N, chunk;   /* chunk: entries per scatter */
  long long    nnz, nread; /* entries declared on the size line, read so far */
  long long    nfit;       /* at most nnz: the entries the file's size can hold */
  long         sizeline;
  PetscBool    pattern, symmetric;
  PetscLayout  map;
  PetscInt    *ti, *tj, *si, *sj; /* rank 0: a chunk in file order, then by owner */
  PetscScalar *tv, *sv;
  PetscMPIInt *counts, *displs, *next;
  PetscInt    *li, *lj, nloc, cap; /* this rank's entries (global indices) */
  PetscScalar *lv;
  PetscInt    *rowptr, *cols, *dnz, *onz; /* this rank's rows as CSR */
  PetscScalar *vals;
} MMRead;

static PetscErrorCode MMReadDestroy(void *ctx)
{
  MMRead *m = (MMRead *)ctx;
  PetscFunctionBeginUser;
  TnIoClose(&m->in);
  PetscCall(PetscLayoutDestroy(&m->map));
  PetscCall(PetscFree6(m->ti, m->tj, m->tv, m->si, m->sj, m->sv));
  PetscCall(PetscFree3(m->counts, m->displs, m->next));
  PetscCall(PetscFree(m->li));
  PetscCall(PetscFree(m->lj));
  PetscCall(PetscFree(m->lv));
  PetscCall(PetscFree(m->rowptr));
  PetscCall(PetscFree2(m->cols, m->vals));
  PetscCall(PetscFree2(m->dnz, m->onz));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: banner and size line. Sets m->in.msg on error. */
static void MMReadHeader(MMRead *m)
{
  const char *p;
  long long   rows, cols;
  char        q[64];
  if (!TnIoOpen(&m->in, m->in.path)) return;
  if (!TnIoNext(&m->in)) {
    if (!m->in.msg[0]) snprintf(m->in.msg, sizeof(m->in.msg), "%s is empty; expected a MatrixMarket file starting with '%%%%MatrixMarket matrix coordinate real general'", m->in.path);
    return;
  }
  TnIoMMBanner(&m->in, PETSC_TRUE, &m->pattern, &m->symmetric);
  if (m->in.msg[0]) return;
  if (!TnIoNextData(&m->in, "%")) {
    if (!m->in.msg[0]) snprintf(m->in.msg, sizeof(m->in.msg), "%s ends after the banner; expected the size line 'rows columns entries'", m->in.path);
    return;
  }
  p = m->in.line;
  TnIoQuote(p, q);
  m->sizeline = m->in.lineno;
  if (!TnIoParseInt(&p, NULL, &rows) || !TnIoParseInt(&p, NULL, &cols) || !TnIoParseInt(&p, NULL, &m->nnz) || !TnIoBlank(p))
    TnIoFail(&m->in, "found '%s', expected the size line 'rows columns entries' (three integers)", q);
  else if (rows != cols)
    TnIoFail(&m->in, "the matrix is %lld x %lld; W must be square (N x N, N = the number of nodes)", rows, cols);
  else if (rows < 1 || rows > PETSC_MAX_INT || m->nnz < 0)
    TnIoFail(&m->in, "found sizes '%s', expected 1 <= N <= %lld and entries >= 0", q, (long long)PETSC_MAX_INT);
  else {
    m->N    = (PetscInt)rows;
    m->nfit = PetscMin(m->nnz, TnIoMaxCount(&m->in, m->pattern ? 4 : 6)); /* 'i j' or 'i j v' lines */
  }
}

/* Collective: refuses, before anything is allocated, a declared size whose
   reading needs more memory than the node has (entries: the declared count,
   capped by what the file's size can hold, so that a size line promising
   more is reported as truncated by reading, not as memory). Per rank: its nr rows (row
   pointers, counts, the matrix's row arrays: about 40 bytes a row) and an
   even share of the entries (mirrored ones too, for symmetric files): 16
   bytes each while they arrive (twice that while the buffer doubles), 12 in
   the sorted copy and 12 in the matrix; rank 0 also holds the parse buffers. */
static PetscErrorCode MMCheckMemory(MPI_Comm comm, MMRead *m, PetscInt nr)
{
  PetscMPIInt rank, size;
  double      per, bytes;
  char        what[PETSC_MAX_PATH_LEN + 128];
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  per   = (double)m->nfit * (m->symmetric ? 2.0 : 1.0) / size;
  bytes = 40.0 * (double)nr + per * (2.0 * (sizeof(PetscInt) * 2 + sizeof(PetscScalar)) + 2.0 * (sizeof(PetscInt) + sizeof(PetscScalar)));
  if (rank == 0) bytes += 2.0 * (double)m->chunk * 2.0 * (sizeof(PetscInt) * 2 + sizeof(PetscScalar)) + 3.0 * size * sizeof(PetscMPIInt);
  PetscCall(PetscSNPrintf(what, sizeof(what), "reading %s (N = %" PetscInt_FMT ", %lld entries declared)", m->in.path, m->N, m->nnz));
  PetscCall(TnCheckMemory(comm, bytes, what, "check the size line of the file, or run on more nodes"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: parses the current line as an entry. */
static PetscBool MMParseEntry(MMRead *m, PetscInt *i, PetscInt *j, double *v)
{
  const char *p = m->in.line;
  long long   a, b;
  char        q[64];
  *v = 1;
  TnIoQuote(p, q);
  if (!TnIoParseInt(&p, NULL, &a) || !TnIoParseInt(&p, NULL, &b) || (!m->pattern && !TnIoParseReal(&p, NULL, v)) || !TnIoBlank(p)) {
    TnIoFail(&m->in, "found '%s', expected '%s' (1-based integer indices%s)", q, m->pattern ? "row column" : "row column value", m->pattern ? "" : " and a real number");
    return PETSC_FALSE;
  }
  if (a < 1 || a > m->N || b < 1 || b > m->N) {
    TnIoFail(&m->in, "%s index %lld is out of range 1..%" PetscInt_FMT " (indices are 1-based)", (a < 1 || a > m->N) ? "row" : "column", (a < 1 || a > m->N) ? a : b, m->N);
    return PETSC_FALSE;
  }
  if (!isfinite(*v)) {
    TnIoFail(&m->in, "found '%s': the value is not finite; weights must be finite numbers", q);
    return PETSC_FALSE;
  }
  *i = (PetscInt)(a - 1);
  *j = (PetscInt)(b - 1);
  return PETSC_TRUE;
}

/* Rank 0: reads up to m->chunk entries (mirrored for symmetric files) and
   sorts them by owner into si/sj/sv, counts, displs. *done at the last entry. */
static void MMReadChunk(MMRead *m, const PetscInt ranges[], PetscMPIInt size, PetscBool *done)
{
  PetscInt nt = 0, i, j;
  double   v;
  for (PetscInt k = 0; k < m->chunk && m->nread < m->nnz; k++, m->nread++) {
    if (!TnIoNextData(&m->in, "%")) {
      if (!m->in.msg[0]) snprintf(m->in.msg, sizeof(m->in.msg), "%s is truncated: expected %lld entries (line %ld), found %lld", m->in.path, m->nnz, m->sizeline, m->nread);
      return;
    }
    if (!MMParseEntry(m, &i, &j, &v)) return;
    m->ti[nt] = i, m->tj[nt] = j, m->tv[nt++] = v;
    if (m->symmetric && i != j) m->ti[nt] = j, m->tj[nt] = i, m->tv[nt++] = v;
  }
  *done = (PetscBool)(m->nread == m->nnz);
  if (*done && TnIoNextData(&m->in, "%")) TnIoFail(&m->in, "extra entry after the %lld declared on line %ld; fix the count there or remove the extra lines", m->nnz, m->sizeline);
  for (PetscMPIInt r = 0; r < size; r++) m->counts[r] = 0;
  for (PetscInt k = 0; k < nt; k++) m->counts[TnIoOwner(ranges, size, m->ti[k])]++;
  for (PetscMPIInt r = 0; r < size; r++) m->next[r] = m->displs[r] = r ? m->displs[r - 1] + m->counts[r - 1] : 0;
  for (PetscInt k = 0; k < nt; k++) {
    PetscMPIInt o = m->next[TnIoOwner(ranges, size, m->ti[k])]++;
    m->si[o] = m->ti[k], m->sj[o] = m->tj[k], m->sv[o] = m->tv[k];
  }
}

/* Collective: rank 0's chunk goes to the owners, appended to li/lj/lv. */
static PetscErrorCode MMScatterChunk(MPI_Comm comm, MMRead *m)
{
  PetscMPIInt n;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Scatter(m->counts, 1, MPI_INT, &n, 1, MPI_INT, 0, comm));
  PetscCheck(m->nloc <= PETSC_MAX_INT - n, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: more than %d entries on one rank; use more ranks or a PETSc build with 64-bit indices", m->in.path, (int)PETSC_MAX_INT);
  if (m->nloc + n > m->cap) {
    m->cap = PetscMax(PetscMax(1024, m->nloc + n), m->cap < PETSC_MAX_INT / 2 ? 2 * m->cap : PETSC_MAX_INT);
    PetscCall(PetscRealloc(sizeof(PetscInt) * (size_t)m->cap, &m->li));
    PetscCall(PetscRealloc(sizeof(PetscInt) * (size_t)m->cap, &m->lj));
    PetscCall(PetscRealloc(sizeof(PetscScalar) * (size_t)m->cap, &m->lv));
  }
  PetscCallMPI(MPI_Scatterv(m->si, m->counts, m->displs, MPIU_INT, m->li + m->nloc, n, MPIU_INT, 0, comm));
  PetscCallMPI(MPI_Scatterv(m->sj, m->counts, m->displs, MPIU_INT, m->lj + m->nloc, n, MPIU_INT, 0, comm));
  PetscCallMPI(MPI_Scatterv(m->sv, m->counts, m->displs, MPIU_SCALAR, m->lv + m->nloc, n, MPIU_SCALAR, 0, comm));
  m->nloc += n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* This rank's entries -> CSR with sorted, unique columns. Entries with the
   same (row, column) are summed, as the MatrixMarket convention and scipy
   (coo -> csr) do; *ndup counts the entries merged away. A sum that is not
   finite sets in.msg. */
static PetscErrorCode MMToCSR(MMRead *m, PetscInt rstart, PetscInt nr, long long *ndup)
{
  PetscInt w = 0;
  PetscFunctionBeginUser;
  *ndup = 0;
  PetscCall(PetscCalloc1(nr + 1, &m->rowptr));
  PetscCall(PetscMalloc2(m->nloc, &m->cols, m->nloc, &m->vals));
  PetscCall(PetscCalloc2(nr, &m->dnz, nr, &m->onz));
  for (PetscInt k = 0; k < m->nloc; k++) m->rowptr[m->li[k] - rstart + 1]++;
  for (PetscInt r = 0; r < nr; r++) m->rowptr[r + 1] += m->rowptr[r];
  for (PetscInt k = 0; k < m->nloc; k++) { /* dnz is the fill cursor for now */
    PetscInt r = m->li[k] - rstart, o = m->rowptr[r] + m->dnz[r]++;
    m->cols[o] = m->lj[k], m->vals[o] = m->lv[k];
  }
  PetscCall(PetscFree(m->li));
  PetscCall(PetscFree(m->lj));
  PetscCall(PetscFree(m->lv));
  for (PetscInt r = 0; r < nr; r++) { /* sort each row, then compact it to w.. summing repeats */
    PetscInt s = m->rowptr[r], n = m->rowptr[r + 1] - s, w0 = w;
    PetscCall(PetscSortIntWithScalarArray(n, m->cols + s, m->vals + s));
    m->rowptr[r] = w0;
    m->dnz[r]    = 0;
    for (PetscInt k = s; k < s + n; k++) {
      if (w > w0 && m->cols[k] == m->cols[w - 1]) {
        m->vals[w - 1] += m->vals[k];
        (*ndup)++;
        if (!isfinite(PetscRealPart(m->vals[w - 1])) && !m->in.msg[0])
          snprintf(m->in.msg, sizeof(m->in.msg), "%s: the duplicate entries (%" PetscInt_FMT ", %" PetscInt_FMT ") sum to a value that is not finite", m->in.path, rstart + r + 1, m->cols[k] + 1);
        continue;
      }
      m->cols[w] = m->cols[k], m->vals[w] = m->vals[k];
      if (m->cols[w] >= rstart && m->cols[w] < rstart + nr) m->dnz[r]++;
      w++;
    }
    m->onz[r] = (w - w0) - m->dnz[r];
  }
  m->rowptr[nr] = w;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode MMAssemble(MPI_Comm comm, MMRead *m, PetscInt rstart, PetscInt nr, Mat *W)
{
  PetscFunctionBeginUser;
  PetscCall(MatCreate(comm, W));
  PetscCall(MatSetSizes(*W, nr, nr, m->N, m->N));
  PetscCall(MatSetType(*W, MATMPIAIJ));
  PetscCall(MatMPIAIJSetPreallocation(*W, 0, m->dnz, 0, m->onz));
  PetscCall(MatSetOption(*W, MAT_NO_OFF_PROC_ENTRIES, PETSC_TRUE));
  for (PetscInt r = 0; r < nr; r++) {
    PetscInt row = rstart + r, s = m->rowptr[r];
    PetscCall(MatSetValues(*W, 1, &row, m->rowptr[r + 1] - s, m->cols + s, m->vals + s, INSERT_VALUES));
  }
  PetscCall(MatAssemblyBegin(*W, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*W, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnReadMatrixMarket(MPI_Comm comm, const char path[], Mat *W)
{
  MMRead          m;
  PetscMPIInt     rank, size;
  PetscInt        hdr[2], rstart, nr;
  const PetscInt *ranges;
  PetscBool       done = PETSC_FALSE;
  long long       ndup;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_IORead, 0, 0, 0, 0));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscMemzero(&m, sizeof(m)));
  m.in.path = path;
  if (rank == 0) MMReadHeader(&m);
  PetscCall(TnIoSync(comm, m.in.msg, MMReadDestroy, &m));
  hdr[0] = m.N, hdr[1] = m.symmetric;
  PetscCallMPI(MPI_Bcast(hdr, 2, MPIU_INT, 0, comm));
  PetscCallMPI(MPI_Bcast(&m.nnz, 1, MPI_LONG_LONG, 0, comm));
  PetscCallMPI(MPI_Bcast(&m.nfit, 1, MPI_LONG_LONG, 0, comm));
  m.N = hdr[0], m.symmetric = (PetscBool)hdr[1];
  PetscCall(TnIoChunkSize(comm, TN_MM_CHUNK, &m.chunk));
  m.chunk = (PetscInt)PetscMin((long long)m.chunk, PetscMax(m.nfit, 1)); /* no buffer beyond the declared entries */
  nr      = PETSC_DECIDE;
  PetscCall(PetscSplitOwnership(comm, &nr, &m.N));
  {
    PetscErrorCode ierr = MMCheckMemory(comm, &m, nr); /* collective; a refusal closes the file first */
    if (ierr) (void)MMReadDestroy(&m);
    PetscCall(ierr);
  }
  PetscCall(PetscLayoutCreateFromSizes(comm, PETSC_DECIDE, m.N, 1, &m.map));
  PetscCall(PetscLayoutGetRanges(m.map, &ranges));
  PetscCall(PetscLayoutGetRange(m.map, &rstart, &nr));
  nr -= rstart;
  if (rank == 0) {
    PetscInt c2 = 2 * m.chunk; /* symmetric files: an entry and its mirror */
    PetscCall(PetscMalloc6(c2, &m.ti, c2, &m.tj, c2, &m.tv, c2, &m.si, c2, &m.sj, c2, &m.sv));
    PetscCall(PetscMalloc3(size, &m.counts, size, &m.displs, size, &m.next));
  }
  while (!done) {
    if (rank == 0) MMReadChunk(&m, ranges, size, &done);
    PetscCall(TnIoSync(comm, m.in.msg, MMReadDestroy, &m));
    PetscCallMPI(MPI_Bcast(&done, 1, MPIU_BOOL, 0, comm));
    PetscCall(MMScatterChunk(comm, &m));
  }
  if (rank == 0) TnIoClose(&m.in);
  PetscCall(MMToCSR(&m, rstart, nr, &ndup));
  PetscCall(TnIoSync(comm, m.in.msg, MMReadDestroy, &m));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &ndup, 1, MPI_LONG_LONG, MPI_SUM, comm));
  if (ndup) PetscCall(PetscPrintf(comm, "%s: %lld duplicate entries summed into the (row, column) entry they repeat%s\n", path, ndup, m.symmetric ? " (a symmetric file's entry and its mirror count as the same pair)" : ""));
  PetscCall(MMAssemble(comm, &m, rstart, nr, W));
  PetscCall(MMReadDestroy(&m));
  PetscCall(PetscLogEventEnd(TN_IORead, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* This rank's rows of W as CSR with global column indices. */
static PetscErrorCode PackRows(Mat W, PetscInt rstart, PetscInt nr, PetscInt **rowptr, PetscInt **cols, PetscScalar **vals)
{
  PetscInt           n;
  const PetscInt    *c;
  const PetscScalar *v;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(nr + 1, rowptr));
  (*rowptr)[0] = 0;
  for (PetscInt r = 0; r < nr; r++) {
    PetscCall(MatGetRow(W, rstart + r, &n, NULL, NULL));
    (*rowptr)[r + 1] = (*rowptr)[r] + n;
    PetscCall(MatRestoreRow(W, rstart + r, &n, NULL, NULL));
  }
  PetscCall(PetscMalloc2((*rowptr)[nr], cols, (*rowptr)[nr], vals));
  for (PetscInt r = 0; r < nr; r++) {
    PetscCall(MatGetRow(W, rstart + r, &n, &c, &v));
    PetscCall(PetscArraycpy(*cols + (*rowptr)[r], c, n));
    PetscCall(PetscArraycpy(*vals + (*rowptr)[r], v, n));
    PetscCall(MatRestoreRow(W, rstart + r, &n, &c, &v));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void WriteRows(FILE *f, PetscInt rstart, PetscInt nr, const PetscInt rowptr[], const PetscInt cols[], const PetscScalar vals[])
{
  for (PetscInt r = 0; r < nr; r++)
    for (PetscInt k = rowptr[r]; k < rowptr[r + 1]; k++) fprintf(f, "%" PetscInt_FMT " %" PetscInt_FMT " %.17g\n", rstart + r + 1, cols[k] + 1, (double)PetscRealPart(vals[k]));
}

PetscErrorCode TnWriteMatrixMarket(Mat W, const char path[])
{
  MPI_Comm        comm;
  PetscMPIInt     rank, size, n;
  PetscInt        M, N, rstart, rend, *rowptr, *cols;
  PetscScalar    *vals;
  long long       nnz;
  const PetscInt *ranges;
  FILE           *f;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_IOWrite, 0, 0, 0, 0));
  PetscCall(PetscObjectGetComm((PetscObject)W, &comm));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(MatGetSize(W, &M, &N));
  PetscCall(MatGetOwnershipRange(W, &rstart, &rend));
  PetscCall(MatGetOwnershipRanges(W, &ranges));
  PetscCall(TnCommitOpen(comm, path, &f)); /* first: a refused path leaves nothing allocated */
  PetscCall(PackRows(W, rstart, rend - rstart, &rowptr, &cols, &vals));
  nnz = rowptr[rend - rstart];
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &nnz, 1, MPI_LONG_LONG, MPI_SUM, comm));
  if (rank == 0) {
    fprintf(f, "%%%%MatrixMarket matrix coordinate real general\n%% written by tenor\n%" PetscInt_FMT " %" PetscInt_FMT " %lld\n", M, N, nnz);
    WriteRows(f, rstart, rend - rstart, rowptr, cols, vals);
    for (PetscMPIInt r = 1; r < size; r++) {
      PetscInt nr = ranges[r + 1] - ranges[r];
      PetscCall(PetscFree(rowptr)); /* one part in memory at a time */
      PetscCall(PetscFree2(cols, vals));
      PetscCall(PetscMalloc1(nr + 1, &rowptr));
      PetscCallMPI(MPI_Recv(rowptr, (PetscMPIInt)nr + 1, MPIU_INT, r, 0, comm, MPI_STATUS_IGNORE));
      PetscCall(PetscMalloc2(rowptr[nr], &cols, rowptr[nr], &vals));
      PetscCall(PetscMPIIntCast(rowptr[nr], &n));
      PetscCallMPI(MPI_Recv(cols, n, MPIU_INT, r, 1, comm, MPI_STATUS_IGNORE));
      PetscCallMPI(MPI_Recv(vals, n, MPIU_SCALAR, r, 2, comm, MPI_STATUS_IGNORE));
      WriteRows(f, ranges[r], nr, rowptr, cols, vals);
    }
  } else {
    PetscCall(PetscMPIIntCast(rowptr[rend - rstart], &n));
    PetscCallMPI(MPI_Send(rowptr, (PetscMPIInt)(rend - rstart) + 1, MPIU_INT, 0, 0, comm));
    PetscCallMPI(MPI_Send(cols, n, MPIU_INT, 0, 1, comm));
    PetscCallMPI(MPI_Send(vals, n, MPIU_SCALAR, 0, 2, comm));
  }
  PetscCall(PetscFree(rowptr));
  PetscCall(PetscFree2(cols, vals));
  PetscCall(TnCommitClose(comm, path, &f, PETSC_TRUE));
  PetscCall(PetscLogEventEnd(TN_IOWrite, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}
