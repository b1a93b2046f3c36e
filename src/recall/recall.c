/* TnRecall: life cycle, settings, options, set-up and the per-pattern run of
   the Hopfield memory (docs/recall.md). The field is computed by
   explicit.c (W on the net's pattern P) or overlap.c (full nets, from the
   pattern overlaps); the patterns and start states come from patterns.c. */
#include "recallimpl.h"

const char *const TnRecallUpdates[] = {"async", "sync", "TnRecallUpdate", "TN_RECALL_", NULL};
const char *const TnRecallFields[]  = {"auto", "explicit", "overlap", "TnRecallField", "TN_RECALL_FIELD_", NULL};

PetscErrorCode TnRecallCreate(TnNet net, TnRecall *rec)
{
  TnRecall r;
  PetscFunctionBeginUser;
  PetscCall(PetscNew(&r));
  r->net = net;
  PetscCall(TnNetGetComm(net, &r->comm));
  r->p         = 0;
  r->seed      = 1;
  r->maxsweeps = 100;
  r->threshold = 0.9;
  r->update    = TN_RECALL_ASYNC;
  r->field     = TN_RECALL_FIELD_AUTO;
  *rec         = r;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode TnRecallReset(TnRecall r)
{
  PetscFunctionBeginUser;
  PetscCall(TnRecallResetExplicit(r));
  PetscCall(TnRecallResetOverlap(r));
  PetscCall(PetscFree(r->xi));
  PetscCall(PetscFree3(r->nat, r->key, r->s));
  r->setup = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRecallDestroy(TnRecall *rec)
{
  PetscFunctionBeginUser;
  if (!*rec) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnRecallReset(*rec));
  PetscCall(PetscFree(*rec));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRecallSetPatterns(TnRecall r, PetscInt p)
{
  PetscFunctionBeginUser;
  PetscCheck(p >= 0, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "the number of patterns must be >= 0, not %" PetscInt_FMT, p);
  PetscCall(TnRecallReset(r));
  r->p = p;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRecallSetPatternFile(TnRecall r, const char path[])
{
  PetscFunctionBeginUser;
  PetscCall(TnRecallReset(r));
  PetscCall(PetscStrncpy(r->file, path ? path : "", sizeof(r->file)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRecallSetSeed(TnRecall r, PetscInt seed)
{
  PetscFunctionBeginUser;
  PetscCall(TnRecallReset(r));
  r->seed = seed;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRecallSetNoise(TnRecall r, PetscReal f)
{
  PetscFunctionBeginUser;
  PetscCheck(f >= 0 && f <= 1, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "the noise (fraction of flipped bits) must be in [0, 1], not %g", (double)f);
  r->noise = f;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRecallSetUpdate(TnRecall r, TnRecallUpdate u)
{
  PetscFunctionBeginUser;
  PetscCall(TnRecallReset(r)); /* the colouring is set up for async only */
  r->update = u;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRecallSetField(TnRecall r, TnRecallField f)
{
  PetscFunctionBeginUser;
  PetscCall(TnRecallReset(r));
  r->field = f;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRecallSetMaxSweeps(TnRecall r, PetscInt n)
{
  PetscFunctionBeginUser;
  PetscCheck(n >= 1, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "the sweep limit must be >= 1, not %" PetscInt_FMT, n);
  r->maxsweeps = n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRecallSetTests(TnRecall r, PetscInt n)
{
  PetscFunctionBeginUser;
  PetscCheck(n >= 0, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "the number of test patterns must be >= 0, not %" PetscInt_FMT, n);
  PetscCall(TnRecallReset(r)); /* SetUp checks tests <= p */
  r->tests = n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRecallGetTests(TnRecall r, PetscInt *n)
{
  PetscFunctionBeginUser;
  *n = r->tests;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRecallSetThreshold(TnRecall r, PetscReal t)
{
  PetscFunctionBeginUser;
  PetscCheck(t >= -1 && t <= 1, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "the retrieval threshold must be in [-1, 1], not %g", (double)t);
  r->threshold = t;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRecallSetFromOptions(TnRecall r)
{
  PetscInt u = (PetscInt)r->update, f = (PetscInt)r->field;
  PetscFunctionBeginUser;
  PetscCall(TnRecallReset(r));
  PetscOptionsBegin(r->comm, "recall_", "Hopfield memory (docs/recall.md)", "TnRecall");
  PetscCall(TnOptionsInt("-patterns", "Stored patterns p >= 1 (0: every pattern of -recall_pattern_file)", "TnRecallSetPatterns", r->p, &r->p, NULL, 0, PETSC_MAX_INT));
  PetscCall(PetscOptionsString("-pattern_file", "Patterns, one per line: N values +1 or -1 (default: generated from -recall_seed)", "TnRecallSetPatternFile", r->file, r->file, sizeof(r->file), NULL));
  PetscCall(TnOptionsInt("-seed", "Seed of the pattern generator and of the noise", "TnRecallSetSeed", r->seed, &r->seed, NULL, 0, PETSC_MAX_INT));
  PetscCall(TnOptionsReal("-noise", "Fraction of bits flipped in each start state, in [0, 1]", "TnRecallSetNoise", r->noise, &r->noise, NULL, 0, 1));
  PetscCall(TnOptionsChoice("-update", "async (colour by colour; full: node by node) or sync (every node at once)", "TnRecallSetUpdate", TnRecallUpdates, 2, &u, NULL));
  PetscCall(TnOptionsChoice("-field", "How h is computed: auto (overlap for full, else explicit), explicit (W on P), overlap (full only, O(p) per flip)", "TnRecallSetField", TnRecallFields, 3, &f, NULL));
  PetscCall(TnOptionsInt("-max_sweeps", "Sweep limit per run", "TnRecallSetMaxSweeps", r->maxsweeps, &r->maxsweeps, NULL, 1, PETSC_MAX_INT));
  PetscCall(TnOptionsInt("-tests", "Run from the first n stored patterns only (0: all p)", "TnRecallSetTests", r->tests, &r->tests, NULL, 0, PETSC_MAX_INT));
  PetscCall(TnOptionsReal("-threshold", "A final overlap m >= this counts as retrieved", "TnRecallSetThreshold", r->threshold, &r->threshold, NULL, -1, 1));
  PetscOptionsEnd();
  r->update = (TnRecallUpdate)u; /* the object was reset above */
  r->field  = (TnRecallField)f;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRecallSetUp(TnRecall r)
{
  const char *type;
  PetscBool   full;
  char        msg[512];
  PetscFunctionBeginUser;
  if (r->setup) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnNetGetType(r->net, &type));
  PetscCall(PetscStrcmp(type, TNNET_FULL, &full));
  PetscCall(TnErrorSync(r->comm, (PetscBool)(!r->file[0] && r->p < 1),
                        "-recall_patterns 0: store at least one pattern (-recall_patterns p with p >= 1; 0 means every pattern of a -recall_pattern_file)"));
  PetscCall(PetscSNPrintf(msg, sizeof msg, "-recall_field overlap needs a full network (-net_type full), not %s: use -recall_field explicit", type));
  PetscCall(TnErrorSync(r->comm, (PetscBool)(r->field == TN_RECALL_FIELD_OVERLAP && !full), msg));
  PetscCall(PetscSNPrintf(msg, sizeof msg, "-recall_tests %" PetscInt_FMT " is more than the %" PetscInt_FMT " stored patterns: use 0 (all) or at most p", r->tests, r->p));
  PetscCall(TnErrorSync(r->comm, (PetscBool)(!r->file[0] && r->tests > r->p), msg)); /* before the net is built; a file's p is known below */
  r->used = r->field == TN_RECALL_FIELD_AUTO ? (full ? TN_RECALL_FIELD_OVERLAP : TN_RECALL_FIELD_EXPLICIT) : r->field;
  if (r->used == TN_RECALL_FIELD_OVERLAP) {
    PetscCall(TnNetGetRequestedSize(r->net, &r->N));
    PetscCall(PetscSNPrintf(msg, sizeof msg, "a network of N = %" PetscInt_FMT " nodes cannot store patterns: use -net_n 2 or more", r->N));
    PetscCall(TnErrorSync(r->comm, (PetscBool)(r->N < 2), msg));
  } else {
    PetscCall(TnNetSetUp(r->net));
    PetscCall(TnNetGetSizes(r->net, &r->N, NULL));
  }
  PetscCall(TnRecallMakePatterns(r)); /* fixes p (a file with p = 0) */
  PetscCall(PetscSNPrintf(msg, sizeof msg, "-recall_tests %" PetscInt_FMT " is more than the %" PetscInt_FMT " stored patterns: use 0 (all) or at most p", r->tests, r->p));
  PetscCall(TnErrorSync(r->comm, (PetscBool)(r->tests > r->p), msg));
  if (r->used == TN_RECALL_FIELD_OVERLAP)
    PetscCall(TnRecallSetUpOverlap(r));
  else
    PetscCall(TnRecallSetUpExplicit(r));
  r->setup = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRecallRunPattern(TnRecall r, PetscInt mu, TnRecallOutcome *out)
{
  PetscFunctionBeginUser;
  PetscCall(TnRecallSetUp(r));
  PetscCheck(mu >= 0 && mu < r->p, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "pattern %" PetscInt_FMT " is not among the %" PetscInt_FMT " stored", mu, r->p);
  PetscCall(PetscMemzero(out, sizeof(*out)));
  out->pattern = mu;
  PetscCall(TnRecallStartState(r, mu, r->s, &out->noisy));
  if (r->used == TN_RECALL_FIELD_OVERLAP)
    PetscCall(TnRecallRunOverlap(r, mu, out));
  else
    PetscCall(TnRecallRunExplicit(r, mu, out));
  {
    PetscInt64 loc = 0, glob;
    for (PetscInt i = 0; i < r->m; i++) loc += TnRecallXi(r, r->nat[i], mu) * r->s[i];
    PetscCallMPI(MPI_Allreduce(&loc, &glob, 1, MPIU_INT64, MPI_SUM, r->comm));
    out->overlap = (PetscReal)glob / (PetscReal)r->N;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRecallGetState(TnRecall r, PetscInt N, signed char s[])
{
  PetscMPIInt  size, m = (PetscMPIInt)r->m, *cnt, *dsp;
  PetscInt    *nat;
  signed char *sv;
  PetscFunctionBeginUser;
  PetscCall(TnRecallSetUp(r));
  PetscCheck(N == r->N, r->comm, PETSC_ERR_ARG_SIZ, "the state has N = %" PetscInt_FMT " entries, not %" PetscInt_FMT, r->N, N);
  PetscCallMPI(MPI_Comm_size(r->comm, &size));
  PetscCall(PetscMalloc4(size, &cnt, size + 1, &dsp, N, &nat, N, &sv));
  PetscCallMPI(MPI_Allgather(&m, 1, MPI_INT, cnt, 1, MPI_INT, r->comm));
  dsp[0] = 0;
  for (PetscMPIInt q = 0; q < size; q++) dsp[q + 1] = dsp[q] + cnt[q];
  PetscCallMPI(MPI_Allgatherv(r->nat, m, MPIU_INT, nat, cnt, dsp, MPIU_INT, r->comm));
  PetscCallMPI(MPI_Allgatherv(r->s, m, MPI_SIGNED_CHAR, sv, cnt, dsp, MPI_SIGNED_CHAR, r->comm));
  for (PetscInt i = 0; i < N; i++) s[nat[i]] = sv[i];
  PetscCall(PetscFree4(cnt, dsp, nat, sv));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRecallGetInfo(TnRecall r, PetscInt *N, PetscInt *p, PetscInt *tests, PetscReal *k, PetscInt *ncolors, TnRecallField *field)
{
  PetscFunctionBeginUser;
  PetscCall(TnRecallSetUp(r));
  if (N) *N = r->N;
  if (p) *p = r->p;
  if (tests) *tests = r->tests ? r->tests : r->p;
  if (k) *k = r->kmean;
  if (ncolors) *ncolors = r->ncolors;
  if (field) *field = r->used;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRecallGetSettings(TnRecall r, PetscReal *noise, PetscReal *threshold, PetscInt *max_sweeps, PetscInt *seed, TnRecallUpdate *update, const char **file)
{
  PetscFunctionBeginUser;
  if (noise) *noise = r->noise;
  if (threshold) *threshold = r->threshold;
  if (max_sweeps) *max_sweeps = r->maxsweeps;
  if (seed) *seed = r->seed;
  if (update) *update = r->update;
  if (file) *file = r->file;
  PetscFunctionReturn(PETSC_SUCCESS);
}
