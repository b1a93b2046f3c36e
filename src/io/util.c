/* Line reading, number parsing and collective error hand-off shared by the
   readers in src/io. Nothing here reads past the end of a line: every parse
   works on NUL-terminated lines obtained with getline. */
#include "ioimpl.h"
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* What a non-regular file is, for the message. */
static const char *FileKind(mode_t m)
{
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO (named pipe)";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "a special file";
}

PetscBool TnIoOpen(TnIoFile *r, const char path[])
{
  struct stat st;
  int         fd;
  r->path   = path;
  r->lineno = 0;
  r->size   = 0;
  r->f      = NULL;
  /* O_NONBLOCK: opening a FIFO without a writer must not wait */
  fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    snprintf(r->msg, sizeof(r->msg), "cannot open %s: %s (check the path and the permissions)", path, strerror(errno));
    return PETSC_FALSE;
  }
  if (fstat(fd, &st)) {
    snprintf(r->msg, sizeof(r->msg), "cannot examine %s: %s", path, strerror(errno));
    close(fd);
    return PETSC_FALSE;
  }
  if (!S_ISREG(st.st_mode)) {
    snprintf(r->msg, sizeof(r->msg), "%s is %s, not a regular file; give the path of a text file (decompress or copy the data to a file first)", path, FileKind(st.st_mode));
    close(fd);
    return PETSC_FALSE;
  }
  (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  r->size = (long long)st.st_size;
  r->f    = fdopen(fd, "r");
  if (!r->f) {
    snprintf(r->msg, sizeof(r->msg), "cannot open %s: %s", path, strerror(errno));
    close(fd);
  }
  return r->f ? PETSC_TRUE : PETSC_FALSE;
}

long long TnIoMaxCount(TnIoFile *r, int minbytes)
{
  long pos = r->f ? ftell(r->f) : 0;
  /* + 1: the last item may lack its end-of-line */
  return (r->size - (pos > 0 ? (long long)pos : 0) + 1) / (minbytes > 0 ? minbytes : 1);
}

PetscBool TnIoNext(TnIoFile *r)
{
  ssize_t n;
  if (!r->f || r->msg[0]) return PETSC_FALSE;
  n = getline(&r->line, &r->cap, r->f);
  if (n < 0) {
    if (ferror(r->f)) snprintf(r->msg, sizeof(r->msg), "%s: read error after line %ld", r->path, r->lineno);
    return PETSC_FALSE;
  }
  r->lineno++;
  if (r->lineno == 1 && n >= 3 && !memcmp(r->line, "\xEF\xBB\xBF", 3)) { /* UTF-8 byte-order mark */
    memmove(r->line, r->line + 3, (size_t)n - 2);
    n -= 3;
  }
  if (memchr(r->line, 0, (size_t)n)) {
    TnIoFail(r, "found a NUL byte; expected a text file (is this a binary file?)");
    return PETSC_FALSE;
  }
  while (n > 0 && (r->line[n - 1] == '\n' || r->line[n - 1] == '\r')) r->line[--n] = 0;
  return PETSC_TRUE;
}

PetscBool TnIoNextData(TnIoFile *r, const char comments[])
{
  while (TnIoNext(r)) {
    const char *s = r->line;
    while (*s == ' ' || *s == '\t') s++;
    if (*s && !strchr(comments, *s)) return PETSC_TRUE;
  }
  return PETSC_FALSE;
}

void TnIoClose(TnIoFile *r)
{
  if (r->f) fclose(r->f);
  free(r->line); /* allocated by getline */
  r->f    = NULL;
  r->line = NULL;
  r->cap  = 0;
}

void TnIoFail(TnIoFile *r, const char fmt[], ...)
{
  va_list ap;
  int     n;
  if (r->msg[0]) return;
  n = snprintf(r->msg, sizeof(r->msg), "%s, line %ld: ", r->path, r->lineno);
  if (n < 0 || (size_t)n >= sizeof(r->msg)) return;
  va_start(ap, fmt);
  vsnprintf(r->msg + n, sizeof(r->msg) - (size_t)n, fmt, ap);
  va_end(ap);
}

static PetscBool EndsNumber(const char *e, const char stops[])
{
  return (PetscBool)(*e == 0 || isspace((unsigned char)*e) || (stops && strchr(stops, *e)));
}

PetscBool TnIoParseInt(const char **p, const char stops[], long long *v)
{
  char *e;
  while (**p == ' ' || **p == '\t') (*p)++;
  errno = 0;
  *v    = strtoll(*p, &e, 10);
  if (e == *p || errno == ERANGE || !EndsNumber(e, stops)) return PETSC_FALSE;
  *p = e;
  return PETSC_TRUE;
}

PetscBool TnIoParseReal(const char **p, const char stops[], double *v)
{
  char *e;
  while (**p == ' ' || **p == '\t') (*p)++;
  *v = strtod(*p, &e); /* overflow gives +-HUGE_VAL, caught as Inf by callers */
  if (e == *p || !EndsNumber(e, stops)) return PETSC_FALSE;
  *p = e;
  return PETSC_TRUE;
}

PetscBool TnIoBlank(const char *s)
{
  while (*s && isspace((unsigned char)*s)) s++;
  return (PetscBool)(*s == 0);
}

void TnIoQuote(const char *s, char out[64])
{
  size_t n = 0;
  while (*s == ' ' || *s == '\t') s++;
  while (s[n] && s[n] != '\n' && n < 40) n++;
  snprintf(out, 64, "%.*s%s", (int)n, s, s[n] && s[n] != '\n' ? "..." : "");
}

PetscErrorCode TnIoSync(MPI_Comm comm, const char msg[], PetscErrorCode (*destroy)(void *), void *ctx)
{
  int bad = msg && msg[0];
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, comm));
  if (!bad) PetscFunctionReturn(PETSC_SUCCESS);
  if (destroy) PetscCall((*destroy)(ctx));
  PetscCall(TnErrorSync(comm, (PetscBool)(msg && msg[0]), msg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscMPIInt TnIoOwner(const PetscInt ranges[], PetscMPIInt size, PetscInt i)
{
  PetscMPIInt lo = 0, hi = size; /* ranges[lo] <= i < ranges[hi] */
  while (hi - lo > 1) {
    PetscMPIInt mid = lo + (hi - lo) / 2;
    if (ranges[mid] <= i)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

typedef struct {
  PetscInt *rs, *re;
} Ranges;

static PetscErrorCode RangesFree(void *ctx)
{
  Ranges *g = (Ranges *)ctx;
  PetscFunctionBeginUser;
  PetscCall(PetscFree2(g->rs, g->re));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnIoGatherRanges(MPI_Comm comm, const char who[], PetscInt N, PetscInt rstart, PetscInt rend, PetscInt **rs, PetscInt **re)
{
  PetscMPIInt rank, size;
  Ranges      g              = {NULL, NULL};
  char        msg[TN_IO_MSG] = "";
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  if (rank == 0) PetscCall(PetscMalloc2(size, &g.rs, size, &g.re));
  PetscCallMPI(MPI_Gather(&rstart, 1, MPIU_INT, g.rs, 1, MPIU_INT, 0, comm));
  PetscCallMPI(MPI_Gather(&rend, 1, MPIU_INT, g.re, 1, MPIU_INT, 0, comm));
  if (!(0 <= rstart && rstart <= rend && rend <= N))
    PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s: rank %d asks for rows [%" PetscInt_FMT ", %" PetscInt_FMT "), outside 0..%" PetscInt_FMT, who, (int)rank, rstart, rend, N));
  PetscCall(TnIoSync(comm, msg, RangesFree, &g));
  *rs = g.rs;
  *re = g.re;
  PetscFunctionReturn(PETSC_SUCCESS);
}

void TnIoMMBanner(TnIoFile *r, PetscBool coordinate, PetscBool *pattern, PetscBool *symmetric)
{
  char        tok[5][32] = {{0}}, q[64];
  const char *format     = coordinate ? "coordinate" : "array";
  const char *expect     = coordinate ? "'%%MatrixMarket matrix coordinate real general' (or integer/pattern, symmetric)" : "'%%MatrixMarket matrix array real general'";
  int         n          = sscanf(r->line, "%31s %31s %31s %31s %31s", tok[0], tok[1], tok[2], tok[3], tok[4]);
  for (int t = 0; t < 5; t++)
    for (char *c = tok[t]; *c; c++) *c = (char)tolower((unsigned char)*c);
  *pattern = *symmetric = PETSC_FALSE;
  TnIoQuote(r->line, q);
  if (n < 5 || strcmp(tok[0], "%%matrixmarket") || strcmp(tok[1], "matrix"))
    TnIoFail(r, "found '%s', expected the banner %s", q, expect);
  else if (strcmp(tok[2], format))
    TnIoFail(r, "found format '%s', expected '%s'%s", tok[2], format, coordinate ? " (a sparse matrix, e.g. written by scipy.io.mmwrite of a scipy.sparse matrix)" : " (a dense column of values)");
  else if (!strcmp(tok[3], "complex"))
    TnIoFail(r, "complex values are not supported; tenor needs real numbers (field real, integer%s)", coordinate ? " or pattern" : "");
  else if (!(!strcmp(tok[3], "real") || !strcmp(tok[3], "integer") || !strcmp(tok[3], "double") || (coordinate && !strcmp(tok[3], "pattern"))))
    TnIoFail(r, "found field '%s', expected real, integer%s", tok[3], coordinate ? " or pattern" : "");
  else if (!(!strcmp(tok[4], "general") || (coordinate && !strcmp(tok[4], "symmetric"))))
    TnIoFail(r, "found symmetry '%s', expected general%s", tok[4], coordinate ? " or symmetric" : "");
  *pattern   = (PetscBool)!strcmp(tok[3], "pattern");
  *symmetric = (PetscBool)!strcmp(tok[4], "symmetric");
}

PetscErrorCode TnIoChunkSize(MPI_Comm comm, PetscInt def, PetscInt *chunk)
{
  PetscFunctionBeginUser;
  *chunk = def;
  PetscCall(TnOptionsGetInt(comm, "-tn_io_chunk", chunk, NULL, 1, TN_IO_CHUNK_MAX));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnIoScatterCreate(MPI_Comm comm, PetscInt rstart, PetscInt rend, const PetscInt rs[], const PetscInt re[], TnIoScatter *s)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(s, sizeof(*s)));
  s->comm   = comm;
  s->rstart = rstart;
  s->rend   = rend;
  s->rs     = rs;
  s->re     = re;
  PetscCallMPI(MPI_Comm_rank(comm, &s->rank));
  PetscCallMPI(MPI_Comm_size(comm, &s->size));
  if (s->rank == 0) PetscCall(PetscMalloc2(s->size, &s->counts, s->size, &s->displs));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnIoScatterBlock(TnIoScatter *s, PetscInt *n, const void *block, MPI_Datatype type, void *mine)
{
  PetscInt    lo, hi;
  PetscMPIInt cnt, tsize;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Bcast(n, 1, MPIU_INT, 0, s->comm));
  if (*n <= 0) PetscFunctionReturn(PETSC_SUCCESS);
  if (s->rank == 0)
    for (PetscMPIInt r = 0; r < s->size; r++) { /* the part of [off, off + n) in rank r's range */
      PetscInt a = PetscMax(s->off, s->rs[r]), b = PetscMin(s->off + *n, s->re[r]);
      s->counts[r] = b > a ? (PetscMPIInt)(b - a) : 0;
      s->displs[r] = b > a ? (PetscMPIInt)(a - s->off) : 0;
    }
  lo  = PetscMax(s->off, s->rstart);
  hi  = PetscMin(s->off + *n, s->rend);
  cnt = hi > lo ? (PetscMPIInt)(hi - lo) : 0;
  PetscCallMPI(MPI_Type_size(type, &tsize));
  PetscCallMPI(MPI_Scatterv(block, s->counts, s->displs, type, cnt ? (char *)mine + (size_t)(lo - s->rstart) * (size_t)tsize : NULL, cnt, type, 0, s->comm));
  s->off += *n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnIoScatterDestroy(TnIoScatter *s)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree2(s->counts, s->displs));
  PetscFunctionReturn(PETSC_SUCCESS);
}
