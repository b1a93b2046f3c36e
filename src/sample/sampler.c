/* TnSampler: life cycle, options, the base draw and the backward pass
   a_K = z -> a_0 = x (MODEL.md section 6). The draw of node i of sample s is
   a pure function of (seed, s, natural number of i): rank invariant. */
#include "sampleimpl.h"

PetscLogEvent TN_SampleInvert;

PetscErrorCode TnSamplerCreate(TnDyn dyn, TnSampler *s)
{
  static PetscBool registered = PETSC_FALSE;
  TnSampler        p;
  PetscFunctionBeginUser;
  if (!registered) {
    PetscCall(PetscLogEventRegister("SampleInvert", TN_CLASSID, &TN_SampleInvert));
    registered = PETSC_TRUE;
  }
  PetscCall(PetscNew(&p));
  p->dyn   = dyn;
  p->comm  = dyn->comm;
  p->seed  = 1;
  p->tol   = 1e-13;
  p->maxit = 1000;
  *s       = p;
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
  s->tol = tol;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSamplerSetMaxIterations(TnSampler s, PetscInt maxit)
{
  PetscFunctionBeginUser;
  PetscCheck(maxit >= 1, s->comm, PETSC_ERR_USER, "-sample_maxit must be >= 1 (got %" PetscInt_FMT ")", maxit);
  s->maxit = maxit;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSamplerSetFromOptions(TnSampler s)
{
  PetscReal tol   = s->tol;
  PetscInt  maxit = s->maxit;
  PetscFunctionBeginUser;
  PetscOptionsBegin(s->comm, "sample_", "Sampling (MODEL.md section 6)", "TnSampler");
  PetscCall(PetscOptionsInt("-seed", "Seed of the base draw z (keyed by sample and natural node number)", "TnSamplerSetSeed", s->seed, &s->seed, NULL));
  PetscCall(PetscOptionsReal("-tol", "sync: relative tolerance of the fixed point a_k = a_{k+1} - h f(a_k)", "TnSamplerSetTolerance", tol, &tol, NULL));
  PetscCall(PetscOptionsInt("-maxit", "sync: most fixed-point iterations per step", "TnSamplerSetMaxIterations", maxit, &maxit, NULL));
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
  TnDyn           dyn = s->dyn;
  const PetscInt *nat;
  PetscScalar    *a;
  PetscInt        n;
  PetscFunctionBeginUser;
  PetscCall(TnDynSetUp(dyn));
  PetscCheck(first >= 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "first sample number must be >= 0 (got %" PetscInt_FMT ")", first);
  PetscCall(VecGetLocalSize(z, &n));
  PetscCheck(n == dyn->m * dyn->B, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "z is not a state batch of this dynamics (TnDynCreateState)");
  PetscCall(TnNetGetNatural(dyn->net, &nat));
  PetscCall(VecGetArrayWrite(z, &a));
  for (PetscInt i = 0; i < dyn->m; i++)
    for (PetscInt b = 0; b < dyn->B; b++) {
      uint64_t smp = (uint64_t)(first + b), node = (uint64_t)nat[i];
      a[(size_t)i * dyn->B + b] = dyn->base == TN_BASE_NORMAL ? TnRandNormal((uint64_t)s->seed, smp, node) : Logit(TnRandUniform((uint64_t)s->seed, smp, node));
    }
  PetscCall(VecRestoreArrayWrite(z, &a));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode WorkSetUp(TnSampler s)
{
  size_t n = (size_t)s->dyn->m * s->dyn->B;
  PetscFunctionBeginUser;
  if (s->t && s->nwork == n) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscFree2(s->t, s->y));
  PetscCall(PetscMalloc2(n + 1, &s->t, n + 1, &s->y));
  s->nwork = n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSamplerInvert(TnSampler s, Vec x)
{
  TnDyn        dyn = s->dyn;
  PetscScalar *a;
  PetscInt     n;
  PetscFunctionBeginUser;
  PetscCall(TnDynSetUp(dyn));
  PetscCall(VecGetLocalSize(x, &n));
  PetscCheck(n == dyn->m * dyn->B, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "x is not a state batch of this dynamics (TnDynCreateState)");
  PetscCall(WorkSetUp(s));
  PetscCall(PetscLogEventBegin(TN_SampleInvert, 0, 0, 0, 0));
  PetscCall(VecGetArray(x, &a));
  for (PetscInt k = dyn->K - 1; k >= 0; k--) {
    if (dyn->scheme == TN_SCHEME_SYNC)
      PetscCall(TnSamplerStepInverse_Sync(s, k, a));
    else
      PetscCall(TnSamplerStepInverse_Colored(s, a));
  }
  PetscCall(VecRestoreArray(x, &a));
  PetscCall(PetscLogEventEnd(TN_SampleInvert, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Collective: the Newton counts are summed (maximised) over the ranks. */
PetscErrorCode TnSamplerGetStats(TnSampler s, TnSamplerStats *stats)
{
  PetscInt64 sum[2] = {s->stats.newton_iters, s->stats.newton_solves};
  PetscFunctionBeginUser;
  *stats = s->stats;
  PetscCallMPI(MPI_Allreduce(sum, &stats->newton_iters, 1, MPIU_INT64, MPI_SUM, s->comm));
  PetscCallMPI(MPI_Allreduce(sum + 1, &stats->newton_solves, 1, MPIU_INT64, MPI_SUM, s->comm));
  PetscCallMPI(MPI_Allreduce(&s->stats.newton_iters_max, &stats->newton_iters_max, 1, MPIU_INT, MPI_MAX, s->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSamplerDestroy(TnSampler *s)
{
  PetscFunctionBeginUser;
  if (!*s) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscFree2((*s)->t, (*s)->y));
  PetscCall(PetscFree(*s));
  PetscFunctionReturn(PETSC_SUCCESS);
}
