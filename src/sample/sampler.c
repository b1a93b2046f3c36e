/* TnSampler: life cycle, options, the base draw and the backward pass
   a_K = z -> a_0 = x (docs/sampling.md). The draw of node i of sample s is
   a pure function of (seed, s, natural number of i): rank invariant. */
#include <tenor/sample.h>

struct _p_TnSampler {
  TnDyn             dyn;
  MPI_Comm          comm;
  PetscInt          seed;
  TnDynInverseStats stats; /* also carries the sync tolerance and iteration limit */
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
  PetscOptionsEnd();
  PetscCall(TnSamplerSetTolerance(s, tol));
  PetscCall(TnSamplerSetMaxIterations(s, maxit));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* z_i = log(u / (1 - u)), the inverse of the logistic CDF sigma. */
static inline PetscReal Logit(PetscReal u)
{
  return log(u) - log1p(-u);
}

PetscErrorCode TnSamplerDrawBase(TnSampler s, PetscInt first, Vec z)
{
  const PetscInt *nat;
  PetscScalar    *a;
  PetscInt        n, m, B;
  TnNet           net;
  TnBase          base;
  PetscInt        nclamp;
  PetscFunctionBeginUser;
  PetscCall(TnDynSetUp(s->dyn));
  PetscCall(TnDynGetClamp(s->dyn, &nclamp, NULL, NULL));
  PetscCheck(!nclamp, s->comm, PETSC_ERR_SUP, "sampling a conditional density (clamped nodes, -data_clamp) is not implemented yet");
  PetscCheck(first >= 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "first sample number must be >= 0 (got %" PetscInt_FMT ")", first);
  PetscCall(TnDynGetNet(s->dyn, &net));
  PetscCall(TnDynGetParams(s->dyn, NULL, NULL, NULL, NULL, NULL, &B));
  PetscCall(TnDynGetLoss(s->dyn, NULL, &base));
  PetscCall(TnNetGetNatural(net, &nat));
  PetscCall(TnDynGetLocalSize(s->dyn, &m));
  PetscCall(VecGetLocalSize(z, &n));
  PetscCheck(n == m * B, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "z is not a state batch of this dynamics (TnDynCreateState)");
  PetscCall(VecGetArrayWrite(z, &a));
  for (PetscInt i = 0; i < m; i++)
    for (PetscInt b = 0; b < B; b++) {
      uint64_t smp = (uint64_t)(first + b), node = (uint64_t)nat[i];
      a[(size_t)i * B + b] = base == TN_BASE_NORMAL ? TnRandNormal((uint64_t)s->seed, smp, node) : Logit(TnRandUniform((uint64_t)s->seed, smp, node));
    }
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
  PetscCall(PetscFree(*s));
  PetscFunctionReturn(PETSC_SUCCESS);
}
