/* Train / validation split, shuffling, dequantisation and standardisation.
   All index arrays are replicated and computed identically on every rank from
   counter-based random numbers, so they do not depend on the rank count. */
#include "dataimpl.h"

typedef struct {
  uint64_t key;
  PetscInt s;
} Keyed;

static int CompareKeyed(const void *a, const void *b)
{
  const Keyed *x = (const Keyed *)a, *y = (const Keyed *)b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return x->s < y->s ? -1 : (x->s > y->s);
}

/* Validation = the round(f S) samples with the smallest keys
   TnRandU64(split_seed, 12, s); idx = training samples ascending, then
   validation samples ascending. */
PetscErrorCode TnDataSplit_Private(TnData data)
{
  Keyed     *k;
  PetscBool *isvalid;
  PetscInt   t = 0, v;
  PetscFunctionBeginUser;
  PetscCheck(data->vfrac >= 0 && data->vfrac < 1, data->comm, PETSC_ERR_USER, "-data_valid_fraction must be in [0, 1) (got %g)", (double)data->vfrac);
  data->Svalid = (PetscInt)round(data->vfrac * data->S);
  data->Strain = data->S - data->Svalid;
  PetscCheck(data->Strain >= 1, data->comm, PETSC_ERR_USER, "-data_valid_fraction %g leaves no training samples out of %" PetscInt_FMT, (double)data->vfrac, data->S);
  PetscCall(PetscFree(data->idx));
  PetscCall(PetscFree(data->perm));
  PetscCall(PetscMalloc1(data->S, &data->idx));
  PetscCall(PetscMalloc2(data->S, &k, data->S, &isvalid));
  for (PetscInt s = 0; s < data->S; s++) {
    k[s].key   = TnRandU64((uint64_t)data->split_seed, 12, (uint64_t)s);
    k[s].s     = s;
    isvalid[s] = PETSC_FALSE;
  }
  qsort(k, (size_t)data->S, sizeof(Keyed), CompareKeyed);
  for (PetscInt j = 0; j < data->Svalid; j++) isvalid[k[j].s] = PETSC_TRUE;
  v = data->Strain;
  for (PetscInt s = 0; s < data->S; s++) data->idx[isvalid[s] ? v++ : t++] = s;
  PetscCall(PetscFree2(k, isvalid));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataShuffle(TnData data, PetscInt epoch, PetscInt seed)
{
  PetscFunctionBeginUser;
  PetscCheck(data->idx, PETSC_COMM_SELF, PETSC_ERR_ORDER, "call TnDataLoad() first");
  if (!data->perm) PetscCall(PetscMalloc1(data->Strain, &data->perm));
  for (PetscInt j = 0; j < data->Strain; j++) data->perm[j] = j;
  /* Fisher-Yates; the draw for slot j depends only on (seed, epoch, j) */
  for (PetscInt j = data->Strain - 1; j > 0; j--) {
    uint64_t r    = TnRandU64((uint64_t)seed, 14, ((uint64_t)epoch << 32) | (uint64_t)j) % (uint64_t)(j + 1);
    PetscInt tmp  = data->perm[j];
    data->perm[j] = data->perm[r];
    data->perm[r] = tmp;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* y = x + u, u ~ U(0,1) from (seed, stream 13, s N + i). The continuous
   density of y is unknown even for a generator, so exact log-densities and
   the entropy are dropped. */
PetscErrorCode TnDataDequantize_Private(TnData data)
{
  PetscFunctionBeginUser;
  for (PetscInt i = data->rstart; i < PetscMin(data->rend, data->N - data->C); i++) /* label nodes stay one-hot */
    for (PetscInt s = 0; s < data->S; s++) data->x[(size_t)(i - data->rstart) * data->S + s] += TnRandUniform((uint64_t)data->seed, 13, (uint64_t)s * (uint64_t)data->N + (uint64_t)i);
  PetscCall(PetscFree(data->logp));
  data->Hknown    = PETSC_FALSE;
  data->Hestimate = PETSC_FALSE;
  data->H         = NAN;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Per-node mean and sd (divisor Strain) over the training samples, in
   ascending sample order; sd = 0 (a constant node) is replaced by 1. A
   clamped or label node keeps its given values: mean 0, sd 1. */
static PetscErrorCode Statistics(TnData data)
{
  PetscInt nloc = data->rend - data->rstart;
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < nloc; i++) {
    const PetscScalar *xi = data->x + (size_t)i * data->S;
    PetscReal          m = 0, v = 0;
    if (TnDataKept(data, i)) {
      data->mean[i] = 0;
      data->sd[i]   = 1;
      continue;
    }
    for (PetscInt t = 0; t < data->Strain; t++) m += xi[data->idx[t]];
    m /= data->Strain;
    for (PetscInt t = 0; t < data->Strain; t++) v += PetscSqr(xi[data->idx[t]] - m);
    data->mean[i] = m;
    data->sd[i]   = v > 0 ? PetscSqrtReal(v / data->Strain) : 1.0;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* z = (x - mean) / sd on every sample; logjac = -sum_{i in F} log sd_i, the
   free nodes' (a clamped node is given, not a variable of the density:
   p_x(t | x) = p_z(z_t | z_x) prod_{i in F} 1/sd_i whatever its own
   statistics). */
static PetscErrorCode Apply(TnData data)
{
  PetscInt  nloc = data->rend - data->rstart;
  PetscReal lj   = 0;
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < nloc; i++) {
    for (PetscInt s = 0; s < data->S; s++) data->x[(size_t)i * data->S + s] = (data->x[(size_t)i * data->S + s] - data->mean[i]) / data->sd[i];
    if (!TnDataKept(data, i)) lj -= PetscLogReal(data->sd[i]);
  }
  PetscCallMPI(MPI_Allreduce(&lj, &data->logjac, 1, MPIU_REAL, MPIU_SUM, data->comm));
  data->std_applied = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataStandardize_Private(TnData data)
{
  PetscInt nloc = data->rend - data->rstart;
  PetscFunctionBeginUser;
  if (!data->mean) PetscCall(PetscMalloc2(nloc + 1, &data->mean, nloc + 1, &data->sd)); /* + 1: not NULL on a rank without nodes (TnDataGetStandardization) */
  if (!data->user_std) PetscCall(Statistics(data));
  PetscCall(Apply(data));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataGetStandardization(TnData data, Vec mean, Vec sd)
{
  PetscScalar *m, *d;
  PetscInt     n;
  PetscFunctionBeginUser;
  PetscCheck(data->mean, data->comm, PETSC_ERR_ORDER, "no standardisation: use -data_standardize (or TnDataSetStandardize) before TnDataLoad()");
  PetscCall(VecGetLocalSize(mean, &n));
  PetscCheck(n == data->rend - data->rstart, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "mean/sd Vecs must have the default layout of N = %" PetscInt_FMT, data->N);
  PetscCall(VecGetArrayWrite(mean, &m));
  PetscCall(VecGetArrayWrite(sd, &d));
  for (PetscInt i = 0; i < n; i++) {
    m[i] = data->mean[i];
    d[i] = data->sd[i];
  }
  PetscCall(VecRestoreArrayWrite(mean, &m));
  PetscCall(VecRestoreArrayWrite(sd, &d));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Before TnDataLoad: kept and applied at load (the Vecs' layout must then be
   the default split of the N given to TnDataLoad). After: the current
   standardisation is undone and the new one applied. */
PetscErrorCode TnDataSetStandardization(TnData data, Vec mean, Vec sd)
{
  const PetscScalar *m, *d;
  PetscInt           n, N;
  PetscReal          dmin;
  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(mean, &n));
  PetscCall(VecGetSize(mean, &N));
  PetscCall(VecMin(sd, NULL, &dmin));
  PetscCheck(dmin > 0, data->comm, PETSC_ERR_USER, "standardisation sd must be positive (min %g)", (double)dmin);
  if (data->std_applied) { /* undo: x = z sd + mean */
    for (PetscInt i = 0; i < data->rend - data->rstart; i++)
      for (PetscInt s = 0; s < data->S; s++) data->x[(size_t)i * data->S + s] = data->x[(size_t)i * data->S + s] * data->sd[i] + data->mean[i];
    data->std_applied = PETSC_FALSE;
  }
  PetscCall(PetscFree2(data->mean, data->sd));
  PetscCall(PetscMalloc2(n + 1, &data->mean, n + 1, &data->sd));
  PetscCall(VecGetArrayRead(mean, &m));
  PetscCall(VecGetArrayRead(sd, &d));
  for (PetscInt i = 0; i < n; i++) {
    data->mean[i] = m[i];
    data->sd[i]   = d[i];
  }
  PetscCall(VecRestoreArrayRead(mean, &m));
  PetscCall(VecRestoreArrayRead(sd, &d));
  data->user_std    = PETSC_TRUE;
  data->standardize = PETSC_TRUE;
  if (data->x) {
    PetscCheck(N == data->N && n == data->rend - data->rstart, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "mean/sd Vecs must have the default layout of N = %" PetscInt_FMT, data->N);
    PetscCall(Apply(data));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataGetLogJacobian(TnData data, PetscReal *c)
{
  PetscFunctionBeginUser;
  *c = data->std_applied ? data->logjac : 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}
