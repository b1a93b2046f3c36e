/* The stored patterns and the noisy start states. Generator: xi_n^mu = +1
   when the top bit of TnRandU64(seed, mu, n) is set, else -1 (a counter-based
   hash of (seed, mu, natural node n): the same patterns at every rank count).
   File: one pattern per line, N values +1 or -1 separated by blanks or
   commas, '#' to the end of a line a comment; rank 0 reads and checks it and
   broadcasts the bits. */
#include "recallimpl.h"
#include <errno.h>
#include <string.h>

/* The noise keys use streams of their own, never a pattern's. */
#define TN_RECALL_NOISE_STREAM 0x4e4f495345000000ULL

static PetscErrorCode CheckPatternMemory(TnRecall r, PetscInt p)
{
  char        what[256];
  double      bytes = 8.0 * (double)r->N * (double)((p + 63) / 64); /* the bits, on every rank */
  PetscMPIInt size;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(r->comm, &size));
  if (r->used == TN_RECALL_FIELD_OVERLAP) bytes += (double)p * PetscCeilReal((double)r->N / size) + 8.0 * (double)p; /* the local patterns as int8, M and dM */
  PetscCall(PetscSNPrintf(what, sizeof what, "the %" PetscInt_FMT " stored patterns of N = %" PetscInt_FMT " nodes", p, r->N));
  PetscCall(TnCheckMemory(r->comm, bytes, what, "store fewer patterns (-recall_patterns) or use more nodes (hosts)"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Generate(TnRecall r)
{
  PetscInt    lo, hi, nloc = PETSC_DECIDE, N = r->N;
  PetscMPIInt size, *cnt, *dsp, c;
  uint64_t   *mine;
  PetscFunctionBeginUser;
  PetscCall(PetscSplitOwnership(r->comm, &nloc, &N));
  PetscCallMPI(MPI_Scan(&nloc, &hi, 1, MPIU_INT, MPI_SUM, r->comm));
  lo = hi - nloc;
  PetscCall(PetscCalloc1((size_t)nloc * r->nw + 1, &mine));
  for (PetscInt n = lo; n < hi; n++)
    for (PetscInt mu = 0; mu < r->p; mu++)
      if (TnRandU64((uint64_t)r->seed, (uint64_t)mu, (uint64_t)n) >> 63) mine[(size_t)(n - lo) * r->nw + mu / 64] |= 1ULL << (mu % 64);
  /* every rank gets every node's bits */
  PetscCallMPI(MPI_Comm_size(r->comm, &size));
  PetscCall(PetscMalloc2(size, &cnt, size, &dsp));
  PetscCheck((PetscInt64)N * r->nw < PETSC_MPI_INT_MAX, r->comm, PETSC_ERR_SUP, "the patterns hold 2^31 words or more: store fewer patterns");
  c = (PetscMPIInt)(nloc * r->nw);
  PetscCallMPI(MPI_Allgather(&c, 1, MPI_INT, cnt, 1, MPI_INT, r->comm));
  dsp[0] = 0;
  for (PetscMPIInt q = 1; q < size; q++) dsp[q] = dsp[q - 1] + cnt[q - 1];
  PetscCallMPI(MPI_Allgatherv(mine, c, MPI_UINT64_T, r->xi, cnt, dsp, MPI_UINT64_T, r->comm));
  PetscCall(PetscFree2(cnt, dsp));
  PetscCall(PetscFree(mine));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: reads the file into bits (allocated here, *q patterns) or leaves
   an error message. Bits are kept per pattern while reading (the count is
   not known), then transposed to per node. */
static void ReadFile(const char path[], PetscInt N, PetscInt pmax, PetscInt *q, uint64_t **bits, char msg[], size_t len)
{
  FILE     *fp   = fopen(path, "r");
  char     *line = NULL;
  size_t    cap  = 0;
  ssize_t   nread;
  PetscInt  lineno = 0, np = 0, cappat = 0, wpp = (N + 63) / 64;
  uint64_t *pat = NULL; /* np patterns of wpp words (bit n: node n is +1) */
  *q            = 0;
  *bits         = NULL;
  if (!fp) {
    snprintf(msg, len, "cannot read the pattern file %s: %s (check -recall_pattern_file)", path, strerror(errno));
    return;
  }
  while ((nread = getline(&line, &cap, fp)) >= 0) {
    char    *c = line, *hash = strchr(line, '#');
    PetscInt n = 0;
    lineno++;
    if (hash) *hash = 0;
    while (*c == ' ' || *c == '\t' || *c == ',' || *c == '\r' || *c == '\n') c++;
    if (!*c) continue; /* blank or comment line */
    if (pmax > 0 && np >= pmax) continue;
    if (np == cappat) {
      uint64_t *grow;
      cappat = cappat ? 2 * cappat : 16;
      grow   = (uint64_t *)realloc(pat, (size_t)cappat * wpp * sizeof(uint64_t));
      if (!grow) {
        snprintf(msg, len, "out of memory reading the pattern file %s (%" PetscInt_FMT " patterns)", path, np);
        goto done;
      }
      pat = grow;
    }
    memset(pat + (size_t)np * wpp, 0, (size_t)wpp * sizeof(uint64_t));
    while (*c) {
      char *end = c;
      while (*end && *end != ' ' && *end != '\t' && *end != ',' && *end != '\r' && *end != '\n') end++;
      {
        size_t tl = (size_t)(end - c);
        int    v  = (tl == 1 && c[0] == '1') || (tl == 2 && c[0] == '+' && c[1] == '1') ? 1 : (tl == 2 && c[0] == '-' && c[1] == '1') ? -1
                                                                                                                                      : 0;
        if (!v) {
          snprintf(msg, len, "the pattern file %s, line %" PetscInt_FMT ", value %" PetscInt_FMT ": '%.*s' is not +1 or -1 (patterns are binary: every value must be 1, +1 or -1)", path, lineno, n + 1, (int)PetscMin(tl, 40), c);
          goto done;
        }
        if (n < N && v > 0) pat[(size_t)np * wpp + n / 64] |= 1ULL << (n % 64);
        n++;
      }
      c = end;
      while (*c == ' ' || *c == '\t' || *c == ',' || *c == '\r' || *c == '\n') c++;
    }
    if (n != N) {
      snprintf(msg, len, "the pattern file %s, line %" PetscInt_FMT ": %" PetscInt_FMT " values, but the network has N = %" PetscInt_FMT " nodes (one pattern per line, one value per node)", path, lineno, n, N);
      goto done;
    }
    np++;
  }
  if (!np) {
    snprintf(msg, len, "the pattern file %s holds no pattern (one pattern per line: N values +1 or -1)", path);
    goto done;
  }
  {
    PetscInt nw = (np + 63) / 64;
    *bits       = (uint64_t *)calloc((size_t)N * nw + 1, sizeof(uint64_t));
    if (!*bits) {
      snprintf(msg, len, "out of memory for the %" PetscInt_FMT " patterns of the file %s", np, path);
      goto done;
    }
    for (PetscInt mu = 0; mu < np; mu++)
      for (PetscInt n = 0; n < N; n++)
        if ((pat[(size_t)mu * wpp + n / 64] >> (n % 64)) & 1) (*bits)[(size_t)n * nw + mu / 64] |= 1ULL << (mu % 64);
    *q = np;
  }
done:
  free(pat);
  free(line);
  fclose(fp);
}

PetscErrorCode TnRecallMakePatterns(TnRecall r)
{
  char        msg[PETSC_MAX_PATH_LEN + 1024] = "";
  PetscMPIInt rank;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(r->comm, &rank));
  if (!r->file[0]) {
    PetscCall(CheckPatternMemory(r, r->p));
    r->nw = (r->p + 63) / 64;
    PetscCall(PetscCalloc1((size_t)r->N * r->nw + 1, &r->xi));
    PetscCall(Generate(r));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  {
    uint64_t *bits = NULL;
    PetscInt  q = 0, want = r->p;
    if (!rank) ReadFile(r->file, r->N, 0, &q, &bits, msg, sizeof msg);
    PetscCallMPI(MPI_Bcast(&q, 1, MPIU_INT, 0, r->comm));
    if (!rank && !msg[0] && want > q)
      PetscCall(PetscSNPrintf(msg, sizeof msg, "-recall_patterns %" PetscInt_FMT " is more than the %" PetscInt_FMT " patterns in %s: use at most %" PetscInt_FMT " (0: all of them)", want, q, r->file, q));
    if (msg[0]) free(bits);
    PetscCall(TnErrorSync(r->comm, (PetscBool)(msg[0] != 0), msg));
    r->p = want ? want : q;
    PetscCall(CheckPatternMemory(r, r->p));
    r->nw = (r->p + 63) / 64;
    PetscCall(PetscCalloc1((size_t)r->N * r->nw + 1, &r->xi));
    if (!rank) { /* keep the first p of the file's q patterns */
      const PetscInt qw = (q + 63) / 64;
      for (PetscInt n = 0; n < r->N; n++)
        for (PetscInt mu = 0; mu < r->p; mu++)
          if ((bits[(size_t)n * qw + mu / 64] >> (mu % 64)) & 1) r->xi[(size_t)n * r->nw + mu / 64] |= 1ULL << (mu % 64);
      free(bits);
    }
    for (size_t off = 0, tot = (size_t)r->N * r->nw; off < tot; off += 1 << 26) {
      size_t c = PetscMin(tot - off, (size_t)1 << 26);
      PetscCallMPI(MPI_Bcast(r->xi + off, (PetscMPIInt)c, MPI_UINT64_T, 0, r->comm));
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The start state from pattern mu: xi^mu with exactly f = round(noise N)
   bits flipped, those of the f nodes with the smallest keys TnRandU64(seed,
   noise stream + mu, n). The f-th smallest key is found by bisection over
   the 64-bit range, counting keys <= t over all ranks. */
PetscErrorCode TnRecallStartState(TnRecall r, PetscInt mu, signed char s[], PetscInt *noisy)
{
  const PetscInt64 f  = (PetscInt64)PetscFloorReal(r->noise * (PetscReal)r->N + 0.5);
  uint64_t         lo = 0, hi = UINT64_MAX;
  PetscInt64       loc, cnt;
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < r->m; i++) {
    s[i]      = (signed char)TnRecallXi(r, r->nat[i], mu);
    r->key[i] = TnRandU64((uint64_t)r->seed, TN_RECALL_NOISE_STREAM + (uint64_t)mu, (uint64_t)r->nat[i]);
  }
  *noisy = 0;
  if (f == 0) PetscFunctionReturn(PETSC_SUCCESS);
  while (lo < hi) { /* smallest t with #{key <= t} >= f */
    const uint64_t mid = lo + (hi - lo) / 2;
    loc                = 0;
    for (PetscInt i = 0; i < r->m; i++) loc += r->key[i] <= mid;
    PetscCallMPI(MPI_Allreduce(&loc, &cnt, 1, MPIU_INT64, MPI_SUM, r->comm));
    if (cnt >= f)
      hi = mid;
    else
      lo = mid + 1;
  }
  loc = 0;
  for (PetscInt i = 0; i < r->m; i++)
    if (r->key[i] <= lo) {
      s[i] = (signed char)-s[i];
      loc++;
    }
  PetscCallMPI(MPI_Allreduce(&loc, &cnt, 1, MPIU_INT64, MPI_SUM, r->comm));
  *noisy = (PetscInt)cnt;
  PetscFunctionReturn(PETSC_SUCCESS);
}
