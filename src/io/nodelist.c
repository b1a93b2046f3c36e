/* A list of node numbers (a clamp file, docs/conditional.md): one entry per
   line, a 0-based node number k or an inclusive range a-b (a <= b: the
   nodes a, a+1, ..., b); blank lines and lines starting with '#' or '%'
   skipped. Rank 0 parses the file into ranges, sorts them and checks that
   every end is a node and that no node is listed twice (naming both lines),
   then expands them (the sorted node numbers) block by block (-tn_io_chunk
   numbers, 2^20 by default), scattering each block to the ranks whose even
   share it meets (TnIoScatter): rank 0 holds the ranges (one per line of the
   file) and one block, not the expanded list. */
#include "ioimpl.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
  PetscInt lo, hi;
  long     line;
} Span;

typedef struct {
  TnIoFile    in;
  Span       *span; /* rank 0 */
  PetscInt    nspan, cap;
  PetscInt   *block;   /* rank 0: a block of the expanded, sorted node numbers */
  PetscInt   *rs, *re; /* rank 0: every rank's share */
  PetscInt   *idx;     /* this rank's share */
  TnIoScatter sc;
} NodeList;

static PetscErrorCode NodeListDestroy(void *ctx)
{
  NodeList *c = (NodeList *)ctx;
  PetscFunctionBeginUser;
  TnIoClose(&c->in);
  PetscCall(PetscFree(c->span));
  PetscCall(PetscFree(c->block));
  PetscCall(PetscFree2(c->rs, c->re));
  PetscCall(PetscFree(c->idx));
  PetscCall(TnIoScatterDestroy(&c->sc));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static int SpanCompare(const void *a, const void *b)
{
  const Span *x = (const Span *)a, *y = (const Span *)b;
  return x->lo < y->lo ? -1 : x->lo > y->lo ? 1
                                            : (x->line < y->line ? -1 : 1);
}

static void SpanText(const Span *s, char out[64])
{
  if (s->lo == s->hi)
    snprintf(out, 64, "%" PetscInt_FMT, s->lo);
  else
    snprintf(out, 64, "%" PetscInt_FMT "-%" PetscInt_FMT, s->lo, s->hi);
}

/* Rank 0: one entry, "k" or "a-b", into c->span; sets c->in.msg on error. */
static PetscErrorCode ParseLine(NodeList *c, PetscInt N)
{
  const char *p = c->in.line;
  long long   a, b;
  char        q[64];
  PetscFunctionBeginUser;
  TnIoQuote(p, q);
  if (!TnIoParseInt(&p, "-", &a)) {
    TnIoFail(&c->in, "found '%s', expected a node number k or an inclusive range a-b of node numbers (0-based, one entry per line)", q);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  b = a;
  while (*p == ' ' || *p == '\t') p++;
  if (*p == '-') {
    p++;
    while (*p == ' ' || *p == '\t') p++;
    if (*p < '0' || *p > '9' || !TnIoParseInt(&p, NULL, &b) || !TnIoBlank(p)) {
      TnIoFail(&c->in, "found '%s', expected a node number k or an inclusive range a-b of node numbers (0-based, one entry per line)", q);
      PetscFunctionReturn(PETSC_SUCCESS);
    }
  } else if (!TnIoBlank(p)) {
    TnIoFail(&c->in, "found '%s', expected a node number k or an inclusive range a-b of node numbers (0-based, one entry per line)", q);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (a < 0)
    TnIoFail(&c->in, "found '%s': node numbers are 0-based, not negative", q);
  else if (b < a)
    TnIoFail(&c->in, "the range %lld-%lld is reversed: write its lower end first (%lld-%lld)", a, b, b, a);
  else if (b >= N && a == b)
    TnIoFail(&c->in, "node %lld is not a node of the network, whose natural numbers are 0 .. %" PetscInt_FMT, b, N - 1);
  else if (b >= N)
    TnIoFail(&c->in, "the range %lld-%lld ends past the network's last node, %" PetscInt_FMT " (natural numbers 0 .. %" PetscInt_FMT ")", a, b, N - 1, N - 1);
  if (c->in.msg[0]) PetscFunctionReturn(PETSC_SUCCESS);
  if (c->nspan == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 256;
    PetscCall(PetscRealloc(sizeof(Span) * (size_t)c->cap, &c->span));
  }
  c->span[c->nspan].lo   = (PetscInt)a;
  c->span[c->nspan].hi   = (PetscInt)b;
  c->span[c->nspan].line = c->in.lineno;
  c->nspan++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: the whole file, then the overlap check on the sorted ranges; the
   node count into *total. */
static PetscErrorCode Parse(NodeList *c, PetscInt N, PetscInt *total)
{
  PetscFunctionBeginUser;
  *total = 0;
  if (!TnIoOpen(&c->in, c->in.path)) PetscFunctionReturn(PETSC_SUCCESS);
  while (!c->in.msg[0] && TnIoNextData(&c->in, "#%")) PetscCall(ParseLine(c, N));
  TnIoClose(&c->in);
  if (c->in.msg[0]) PetscFunctionReturn(PETSC_SUCCESS);
  if (!c->nspan) {
    snprintf(c->in.msg, sizeof(c->in.msg), "%s holds no node numbers: list the nodes one per line (k, or a-b for the nodes a to b)", c->in.path);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  qsort(c->span, (size_t)c->nspan, sizeof(Span), SpanCompare);
  for (PetscInt k = 0, last = 0; k < c->nspan; k++) { /* last: the span reaching furthest so far */
    if (k > 0 && c->span[k].lo <= c->span[last].hi) {
      const Span *x = c->span[last].line < c->span[k].line ? &c->span[last] : &c->span[k], *y = x == &c->span[k] ? &c->span[last] : &c->span[k];
      char        tx[64], ty[64];
      SpanText(x, tx);
      SpanText(y, ty);
      snprintf(c->in.msg, sizeof(c->in.msg), "%s: lines %ld (%s) and %ld (%s) both list node %" PetscInt_FMT "; list each node once", c->in.path, x->line, tx, y->line, ty, c->span[k].lo);
      PetscFunctionReturn(PETSC_SUCCESS);
    }
    *total += c->span[k].hi - c->span[k].lo + 1; /* at most N: the spans are disjoint and inside [0, N) */
    if (k == 0 || c->span[k].hi > c->span[last].hi) last = k;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnReadNodeList(MPI_Comm comm, const char path[], const char opt[], PetscInt N, IS *is)
{
  NodeList    c;
  PetscMPIInt rank;
  PetscInt    total = 0, n = PETSC_DECIDE, rend, chunk, got, k = 0, next = 0;
  char        what[PETSC_MAX_PATH_LEN + 64];
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_IORead, 0, 0, 0, 0));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(PetscMemzero(&c, sizeof(c)));
  c.in.path = path;
  if (rank == 0) PetscCall(Parse(&c, N, &total));
  if (c.in.msg[0]) { /* the option first: the message names what the file is */
    char m[TN_IO_MSG];
    snprintf(m, sizeof(m), strncmp(c.in.msg, path, strlen(path)) ? "%s: %s" : "%s %s", opt, c.in.msg);
    memcpy(c.in.msg, m, sizeof(m));
  }
  PetscCall(TnIoSync(comm, c.in.msg, NodeListDestroy, &c));
  PetscCallMPI(MPI_Bcast(&total, 1, MPIU_INT, 0, comm));
  PetscCall(TnIoChunkSize(comm, (PetscInt)1 << 20, &chunk));
  chunk = PetscMin(chunk, PetscMax(total, 1));
  PetscCall(PetscSNPrintf(what, sizeof(what), "%s %s (%" PetscInt_FMT " node numbers, expanded on rank 0 in blocks of %" PetscInt_FMT ")", opt, path, total, chunk));
  PetscCall(TnCheckMemory(comm, rank == 0 ? (double)chunk * sizeof(PetscInt) : 0, what, NULL));
  if (rank == 0) PetscCall(PetscMalloc1(chunk, &c.block));
  PetscCall(PetscSplitOwnership(comm, &n, &total));
  PetscCallMPI(MPI_Scan(&n, &rend, 1, MPIU_INT, MPI_SUM, comm));
  PetscCall(PetscMalloc1(n + 1, &c.idx));
  PetscCall(TnIoGatherRanges(comm, "TnReadNodeList", total, rend - n, rend, &c.rs, &c.re));
  PetscCall(TnIoScatterCreate(comm, rend - n, rend, c.rs, c.re, &c.sc));
  if (rank == 0 && c.nspan) next = c.span[0].lo; /* the next node to expand: span k from `next` on */
  do {
    got = 0;
    if (rank == 0)
      while (got < chunk && k < c.nspan) {
        c.block[got++] = next;
        if (next++ == c.span[k].hi && ++k < c.nspan) next = c.span[k].lo;
      }
    PetscCall(TnIoScatterBlock(&c.sc, &got, c.block, MPIU_INT, c.idx));
  } while (got > 0);
  PetscCall(ISCreateGeneral(comm, n, c.idx, PETSC_OWN_POINTER, is));
  c.idx = NULL;
  PetscCall(NodeListDestroy(&c));
  PetscCall(PetscLogEventEnd(TN_IORead, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}
