/* TnSampler: life cycle, options, the base draw and the backward pass
   a_K = z -> a_0 = x (docs/sampling.md). The draw of node i of sample s is
   a pure function of (seed, s, natural number of i): rank invariant. With
   clamped nodes (docs/conditional.md) their z is the given x: they do not
   move, so the samples are draws of t from Phi(t | x). */
#include <tenor/sample.h>
#include <tenor/io.h>

struct _p_TnSampler {
  TnDyn             dyn;
  MPI_Comm          comm;
  PetscInt          seed;
  char              given[PETSC_MAX_PATH_LEN]; /* clamped nodes: a file of N values (natural order) */
  Vec               zgiven;                    /* those values as a state batch (every slot), made at the first draw */
  TnDynInverseStats stats;                     /* also carries the sync tolerance and iteration limit */
};

PetscErrorCode TnSamplerCreate(TnDyn dyn, TnSampler *s)
{
  TnSampler p;
  TnNet     net;
  PetscFunctionBeginUser;
  PetscCall(PetscNew(&p));
  p->dyn = dyn;
  PetscCall(TnDynGetNet(dyn, &net));
  PetscCall(TnNetGetComm(net, &p->comm));
  p->seed        = 1;
  p->stats.tol   = 1e-13;
  p->stats.maxit = 1000;
  *s             = p;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSamplerSetSeed(TnSampler s, PetscInt seed)
{
  PetscFunctionBeginUser;
  s->seed = seed;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSamplerSetTolerance(TnSampler s, PetscReal tol)
{
  PetscFunctionBeginUser;
  PetscCheck(tol > 0 && tol < 1, s->comm, PETSC_ERR_USER, "-sample_tol must be in (0, 1) (got %g)", (double)tol);
  s->stats.tol = tol;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSamplerSetMaxIterations(TnSampler s, PetscInt maxit)
{
  PetscFunctionBeginUser;
  PetscCheck(maxit >= 1, s->comm, PETSC_ERR_USER, "-sample_maxit must be >= 1 (got %" PetscInt_FMT ")", maxit);
  s->stats.maxit = maxit;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSamplerSetFromOptions(TnSampler s)
{
  PetscReal tol   = s->stats.tol;
  PetscInt  maxit = s->stats.maxit;
  PetscFunctionBeginUser;
  PetscOptionsBegin(s->comm, "sample_", "Sampling (docs/sampling.md)", "TnSampler");
  PetscCall(TnOptionsInt("-seed", "Seed of the base draw z (keyed by sample and natural node number)", "TnSamplerSetSeed", s->seed, &s->seed, NULL, PETSC_MIN_INT, PETSC_MAX_INT));
  PetscCall(TnOptionsReal("-tol", "sync: relative tolerance of the fixed point a_k = a_{k+1} - h f(a_k)", "TnSamplerSetTolerance", tol, &tol, NULL, 0, PETSC_MAX_REAL));
  PetscCall(TnOptionsInt("-maxit", "sync: most fixed-point iterations per step", "TnSamplerSetMaxIterations", maxit, &maxit, NULL, 1, PETSC_MAX_INT));
  PetscCall(PetscOptionsString("-given", "Clamped nodes (-data_clamp): a file of N values, natural order, whose clamped entries x are held fixed; the samples are drawn from Phi(t | x)", "TnSamplerSetGiven", s->given, s->given, sizeof(s->given), NULL));
  PetscOptionsEnd();
  PetscCall(TnSamplerSetTolerance(s, tol));
  PetscCall(TnSamplerSetMaxIterations(s, maxit));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSamplerSetGiven(TnSampler s, const char path[])
{
  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(s->given, path ? path : "", sizeof(s->given)));
  PetscCall(VecDestroy(&s->zgiven));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The given values as a state batch: value i in every slot of node i. */
static PetscErrorCode LoadGiven(TnSampler s, PetscInt nclamp)
{
  Vec                v, xnat, all;
  VecScatter         sct;
  const PetscScalar *pv;
  PetscScalar       *px;
  PetscInt           N, B, rs, re;
  TnNet              net;
  IS                 is;
  PetscFunctionBeginUser;
  PetscCheck(!s->given[0] || nclamp, s->comm, PETSC_ERR_USER, "-sample_given %s: the given values are those of clamped nodes, and no node is clamped (-data_clamp)", s->given);
  PetscCheck(s->given[0] || !nclamp, s->comm, PETSC_ERR_USER, "sampling t given x with %" PetscInt_FMT " clamped nodes (-data_clamp) needs their values x: -sample_given FILE (N values, one per line, natural order; the clamped entries are used)", nclamp);
  if (!nclamp || s->zgiven) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnDynGetNet(s->dyn, &net));
  PetscCall(TnNetGetSizes(net, &N, NULL));
  PetscCall(TnDynGetParams(s->dyn, NULL, NULL, NULL, NULL, NULL, &B));
  PetscCall(TnReadVector(s->comm, s->given, N, &v));
  PetscCall(TnDynCreateNaturalState(s->dyn, &xnat));
  PetscCall(VecGetOwnershipRange(xnat, &rs, &re));
  /* the natural batch's entries rs/B .. (re-1)/B of v, repeated B times */
  PetscCall(ISCreateStride(s->comm, re / B - rs / B, rs / B, 1, &is));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, re / B - rs / B, &all));
  PetscCall(VecScatterCreate(v, is, all, NULL, &sct));
  PetscCall(VecScatterBegin(sct, v, all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(sct, v, all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGetArrayRead(all, &pv));
  PetscCall(VecGetArrayWrite(xnat, &px));
  for (PetscInt q = rs; q < re; q++) px[q - rs] = pv[q / B - rs / B];
  PetscCall(VecRestoreArrayWrite(xnat, &px));
  PetscCall(VecRestoreArrayRead(all, &pv));
  PetscCall(TnDynCreateState(s->dyn, &s->zgiven));
  PetscCall(TnDynNaturalToState(s->dyn, xnat, s->zgiven, SCATTER_FORWARD));
  PetscCall(VecScatterDestroy(&sct));
  PetscCall(ISDestroy(&is));
  PetscCall(VecDestroy(&all));
  PetscCall(VecDestroy(&xnat));
  PetscCall(VecDestroy(&v));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* z_i = log(u / (1 - u)), the inverse of the logistic CDF sigma. */
static inline PetscReal Logit(PetscReal u)
{
  return log(u) - log1p(-u);
}

PetscErrorCode TnSamplerDrawBase(TnSampler s, PetscInt first, Vec z)
{
  const PetscInt    *nat;
  PetscScalar       *a;
  PetscInt           n, m, B;
  TnNet              net;
  TnBase             base;
  PetscInt           nclamp;
  const PetscReal   *mask;
  const PetscScalar *zg = NULL;
  PetscFunctionBeginUser;
  PetscCall(TnDynSetUp(s->dyn));
  PetscCall(TnDynGetClamp(s->dyn, &nclamp, NULL, &mask));
  PetscCall(LoadGiven(s, nclamp));
  PetscCheck(first >= 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "first sample number must be >= 0 (got %" PetscInt_FMT ")", first);
  PetscCall(TnDynGetNet(s->dyn, &net));
  PetscCall(TnDynGetParams(s->dyn, NULL, NULL, NULL, NULL, NULL, &B));
  PetscCall(TnDynGetLoss(s->dyn, NULL, &base));
  PetscCall(TnNetGetNatural(net, &nat));
  PetscCall(TnDynGetLocalSize(s->dyn, &m));
  PetscCall(VecGetLocalSize(z, &n));
  PetscCheck(n == m * B, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "z is not a state batch of this dynamics (TnDynCreateState)");
  PetscCall(VecGetArrayWrite(z, &a));
  if (s->zgiven) PetscCall(VecGetArrayRead(s->zgiven, &zg));
  for (PetscInt i = 0; i < m; i++)
    for (PetscInt b = 0; b < B; b++) {
      uint64_t smp = (uint64_t)(first + b), node = (uint64_t)nat[i];
      if (mask && mask[i] == 0)
        a[(size_t)i * B + b] = zg[(size_t)i * B + b]; /* clamped: a_K = a_0 = the given x_i */
      else
        a[(size_t)i * B + b] = base == TN_BASE_NORMAL ? TnRandNormal((uint64_t)s->seed, smp, node) : Logit(TnRandUniform((uint64_t)s->seed, smp, node));
    }
  if (s->zgiven) PetscCall(VecRestoreArrayRead(s->zgiven, &zg));
  PetscCall(VecRestoreArrayWrite(z, &a));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSamplerInvert(TnSampler s, Vec x)
{
  PetscScalar *a;
  PetscInt     n, m, B, K;
  PetscFunctionBeginUser;
  PetscCall(TnDynSetUp(s->dyn));
  PetscCall(TnDynGetParams(s->dyn, NULL, NULL, NULL, NULL, &K, &B));
  PetscCall(TnDynGetLocalSize(s->dyn, &m));
  PetscCall(VecGetLocalSize(x, &n));
  PetscCheck(n == m * B, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "x is not a state batch of this dynamics (TnDynCreateState)");
  PetscCall(VecGetArray(x, &a));
  for (PetscInt k = K - 1; k >= 0; k--) PetscCall(TnDynStepInverse(s->dyn, k, a, &s->stats));
  PetscCall(VecRestoreArray(x, &a));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Collective: the Newton counts are summed (maximised) over the ranks. */
PetscErrorCode TnSamplerGetStats(TnSampler s, TnSamplerStats *stats)
{
  PetscInt64 sum[4] = {s->stats.newton_iters, s->stats.newton_solves, s->stats.rk_steps, s->stats.rk_rejected};
  PetscFunctionBeginUser;
  *stats = s->stats;
  PetscCallMPI(MPI_Allreduce(sum, &stats->newton_iters, 1, MPIU_INT64, MPI_SUM, s->comm));
  PetscCallMPI(MPI_Allreduce(sum + 1, &stats->newton_solves, 1, MPIU_INT64, MPI_SUM, s->comm));
  stats->rk_steps    = sum[2]; /* the same on every rank: the step decisions are global */
  stats->rk_rejected = sum[3];
  PetscCallMPI(MPI_Allreduce(&s->stats.newton_iters_max, &stats->newton_iters_max, 1, MPIU_INT, MPI_MAX, s->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSamplerDestroy(TnSampler *s)
{
  PetscFunctionBeginUser;
  if (!*s) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(VecDestroy(&(*s)->zgiven));
  PetscCall(PetscFree(*s));
  PetscFunctionReturn(PETSC_SUCCESS);
}
