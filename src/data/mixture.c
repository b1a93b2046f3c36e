/* mixture: p(x) = sum_k w_k N(x; mu_k, diag(sigma_k^2)) in N dimensions.
   Parameters (replicated on every rank, drawn from the data seed unless set):
     mu_ki    = separation * N(0,1)                  (seed, stream 21, k N + i)
     sigma_k  = sd * (1/2 + U(0,1))                  (seed, stream 22, k), or -data_mix_sds
     sigma_ki = sigma_k exp(N(0,1) / 4) if diagonal  (seed, stream 23, k N + i), else sigma_k
     w_k      proportional to 1/2 + U(0,1)           (seed, stream 24, k), or -data_mix_weights
   Sample s: component c = first k with u < w_0 + .. + w_k, u = U(0,1) from
   (seed, 25, s); x_i = mu_ci + sigma_ci xi_i, xi_i from (seed, 11, s N + i).
   log p(x) = logsumexp_k [log w_k - sum_i log sigma_ki - (N/2) log 2 pi
                           - 1/2 sum_i ((x_i - mu_ki) / sigma_ki)^2].
   The entropy has no closed form: -mean log p over the samples estimates it
   (Monte Carlo, standard error sd / sqrt(S)). */
#include "dataimpl.h"

typedef struct {
  PetscInt   K;
  PetscReal *w, *mu, *sigma, *logc; /* [K], [K N], [K N], [K]: log w_k - sum log sigma_ki - N/2 log 2 pi */
} Mixture;

static PetscReal LogDensity(const Mixture *m, PetscInt N, const PetscReal x[])
{
  PetscReal t[16], tmax = PETSC_NINFINITY, sum = 0;
  for (PetscInt k = 0; k < m->K; k++) {
    PetscReal q = 0;
    for (PetscInt i = 0; i < N; i++) {
      PetscReal z = (x[i] - m->mu[k * N + i]) / m->sigma[k * N + i];
      q += z * z;
    }
    t[k] = m->logc[k] - 0.5 * q;
    tmax = PetscMax(tmax, t[k]);
  }
  for (PetscInt k = 0; k < m->K; k++) sum += PetscExpReal(t[k] - tmax);
  return tmax + PetscLogReal(sum);
}

static PetscErrorCode SampleMixture(TnData data, PetscInt s, PetscReal x[], PetscReal *logp)
{
  Mixture  *m = (Mixture *)data->gctx;
  PetscReal u = TnRandUniform((uint64_t)data->seed, 25, (uint64_t)s), acc = 0;
  PetscInt  c = m->K - 1, N = data->N;
  PetscFunctionBeginUser;
  for (PetscInt k = 0; k < m->K; k++) {
    acc += m->w[k];
    if (u < acc) {
      c = k;
      break;
    }
  }
  for (PetscInt i = 0; i < N; i++) x[i] = m->mu[c * N + i] + m->sigma[c * N + i] * TnRandNormal((uint64_t)data->seed, 11, (uint64_t)s * (uint64_t)N + (uint64_t)i);
  *logp = LogDensity(m, N, x);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode DestroyMixture(TnData data)
{
  Mixture *m = (Mixture *)data->gctx;
  PetscFunctionBeginUser;
  PetscCall(PetscFree4(m->w, m->mu, m->sigma, m->logc));
  PetscCall(PetscFree(data->gctx));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Parameters(TnData data, Mixture *m)
{
  PetscInt  K = m->K, N = data->N;
  uint64_t  seed = (uint64_t)data->seed;
  PetscReal wsum = 0;
  PetscFunctionBeginUser;
  for (PetscInt k = 0; k < K; k++) {
    PetscReal sk = data->mix_nsds ? data->mix_sds[k] : data->mix_sd * (0.5 + TnRandUniform(seed, 22, (uint64_t)k)), ls = 0;
    m->w[k] = data->mix_nwts ? data->mix_wts[k] : 0.5 + TnRandUniform(seed, 24, (uint64_t)k);
    wsum += m->w[k];
    for (PetscInt i = 0; i < N; i++) {
      uint64_t c          = (uint64_t)k * (uint64_t)N + (uint64_t)i;
      m->mu[k * N + i]    = data->mix_sep * TnRandNormal(seed, 21, c);
      m->sigma[k * N + i] = data->mix_diag ? sk * PetscExpReal(0.25 * TnRandNormal(seed, 23, c)) : sk;
      ls += PetscLogReal(m->sigma[k * N + i]);
    }
    m->logc[k] = -ls - 0.5 * N * PetscLogReal(2 * PETSC_PI);
  }
  for (PetscInt k = 0; k < K; k++) {
    m->w[k] /= wsum;
    m->logc[k] += PetscLogReal(m->w[k]);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CheckOptions(TnData data)
{
  PetscFunctionBeginUser;
  PetscCheck(data->mix_K >= 1 && data->mix_K <= 16, data->comm, PETSC_ERR_USER, "-data_mix_components must be in 1..16 (got %" PetscInt_FMT ")", data->mix_K);
  PetscCheck(!data->mix_nwts || data->mix_nwts == data->mix_K, data->comm, PETSC_ERR_USER, "-data_mix_weights has %" PetscInt_FMT " values for %" PetscInt_FMT " components", data->mix_nwts, data->mix_K);
  PetscCheck(!data->mix_nsds || data->mix_nsds == data->mix_K, data->comm, PETSC_ERR_USER, "-data_mix_sds has %" PetscInt_FMT " values for %" PetscInt_FMT " components", data->mix_nsds, data->mix_K);
  PetscCheck(data->mix_sd > 0, data->comm, PETSC_ERR_USER, "-data_mix_sd must be > 0 (got %g)", (double)data->mix_sd);
  for (PetscInt k = 0; k < data->mix_nwts; k++) PetscCheck(data->mix_wts[k] > 0, data->comm, PETSC_ERR_USER, "-data_mix_weights must be positive");
  for (PetscInt k = 0; k < data->mix_nsds; k++) PetscCheck(data->mix_sds[k] > 0, data->comm, PETSC_ERR_USER, "-data_mix_sds must be positive");
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataSetUp_Mixture(TnData data)
{
  Mixture  *m;
  PetscReal mean = 0, var = 0;
  PetscFunctionBeginUser;
  PetscCall(CheckOptions(data));
  PetscCall(PetscNew(&m));
  data->gctx        = m;
  data->gen.sample  = SampleMixture;
  data->gen.destroy = DestroyMixture;
  m->K              = data->mix_K;
  PetscCall(PetscMalloc4(m->K, &m->w, m->K * data->N, &m->mu, m->K * data->N, &m->sigma, m->K, &m->logc));
  PetscCall(Parameters(data, m));
  PetscCall(TnDataGenerate_Private(data));
  for (PetscInt s = 0; s < data->S; s++) mean -= data->logp[s] / data->S;
  for (PetscInt s = 0; s < data->S; s++) var += PetscSqr(-data->logp[s] - mean) / PetscMax(data->S - 1, 1);
  data->H         = mean;
  data->Hse       = PetscSqrtReal(var / data->S);
  data->Hknown    = PETSC_FALSE;
  data->Hestimate = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataGetMixture(TnData data, PetscInt *K, const PetscReal **w, const PetscReal **mu, const PetscReal **sigma)
{
  Mixture  *m = (Mixture *)data->gctx;
  PetscBool eq;
  PetscFunctionBeginUser;
  PetscCall(PetscStrcmp(data->type, TNDATA_MIXTURE, &eq));
  PetscCheck(eq && m, data->comm, PETSC_ERR_ORDER, "TnDataGetMixture needs -data_type mixture after TnDataLoad");
  if (K) *K = m->K;
  if (w) *w = m->w;
  if (mu) *mu = m->mu;
  if (sigma) *sigma = m->sigma;
  PetscFunctionReturn(PETSC_SUCCESS);
}
