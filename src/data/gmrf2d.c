/* gmrf2d: the Gaussian Markov random field on the periodic n x n lattice
   (node k = i n + j, N = n^2) with precision Q = tau (kappa^2 I - Delta),
   Delta the periodic 5-point Laplacian. Q is diagonalised by the 2-D DFT:
     lambda_pq = tau (kappa^2 + 4 sin^2(pi p / n) + 4 sin^2(pi q / n)).
   Exact sample: x = F^-1 Lambda^-1/2 F xi, xi ~ N(0, I) from
   (seed, stream 11, s N + k), F the unitary DFT; then Cov x = Q^-1.
   The FFT is FFTW's serial real-to-complex transform (through PETSc's MATFFTW
   on PETSC_COMM_SELF), one whole sample per rank at a time (generate.c), so
   it works for any n and rank count and is bitwise rank-invariant.
   log p(x) = 1/2 sum log lambda_pq - 1/2 x'Qx - (N/2) log 2 pi, with
   x'Qx = tau (kappa^2 sum x_k^2 + sum over the 2N lattice edges (x_k - x_l)^2),
   H = 1/2 sum log(2 pi e / lambda_pq). */
#include "dataimpl.h"

typedef struct {
  PetscInt   n;
  Mat        F; /* serial r2c / c2r FFT of size n x n */
  Vec        xin, xhat, xout;
  PetscReal *scale;      /* [n (n/2+1)] lambda_pq^-1/2 / N on the half spectrum */
  PetscReal  halflogdet; /* 1/2 sum_pq log lambda_pq */
} GMRF;

static PetscReal Lambda(PetscInt n, PetscReal tau, PetscReal kappa2, PetscInt p, PetscInt q)
{
  PetscReal sp = PetscSinReal(PETSC_PI * p / n), sq = PetscSinReal(PETSC_PI * q / n);
  return tau * (kappa2 + 4 * sp * sp + 4 * sq * sq);
}

/* x'Qx by the stencil: each node's right and down edge, periodic. */
static PetscReal QuadForm(PetscInt n, PetscReal tau, PetscReal kappa2, const PetscReal x[])
{
  PetscReal d = 0, e = 0;
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt j = 0; j < n; j++) {
      PetscReal v = x[i * n + j], r = v - x[i * n + (j + 1) % n], b = v - x[((i + 1) % n) * n + j];
      d += v * v;
      e += r * r + b * b;
    }
  return tau * (kappa2 * d + e);
}

static PetscErrorCode SampleGMRF(TnData data, PetscInt s, PetscReal x[], PetscReal *logp)
{
  GMRF        *g = (GMRF *)data->gctx;
  PetscInt     N = data->N, nh = g->n * (g->n / 2 + 1);
  PetscScalar *a;
  PetscFunctionBeginUser;
  PetscCall(VecGetArrayWrite(g->xin, &a));
  for (PetscInt k = 0; k < N; k++) a[k] = TnRandNormal((uint64_t)data->seed, 11, (uint64_t)s * (uint64_t)N + (uint64_t)k);
  PetscCall(VecRestoreArrayWrite(g->xin, &a));
  PetscCall(MatMult(g->F, g->xin, g->xhat)); /* unnormalised forward DFT */
  PetscCall(VecGetArray(g->xhat, &a));
  for (PetscInt k = 0; k < nh; k++) {
    a[2 * k] *= g->scale[k];
    a[2 * k + 1] *= g->scale[k];
  }
  PetscCall(VecRestoreArray(g->xhat, &a));
  PetscCall(MatMultTranspose(g->F, g->xhat, g->xout)); /* unnormalised inverse */
  PetscCall(VecGetArray(g->xout, &a));
  for (PetscInt k = 0; k < N; k++) x[k] = a[k];
  PetscCall(VecRestoreArray(g->xout, &a));
  *logp = g->halflogdet - 0.5 * QuadForm(g->n, data->gmrf_tau, data->gmrf_kappa2, x) - 0.5 * N * PetscLogReal(2 * PETSC_PI);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Q = tau (kappa^2 I - Delta) by the stencil, rows [rstart, rend): the
   diagonal tau (kappa^2 + 4), -tau per lattice neighbour, entries added so
   that n = 1, 2 (a neighbour met twice, or the node itself) come out right.
   For the conditional references (conditional.c). */
static PetscErrorCode PrecisionGMRF(TnData data, Mat *Q)
{
  GMRF     *g   = (GMRF *)data->gctx;
  PetscInt  n   = g->n;
  PetscReal tau = data->gmrf_tau;
  PetscFunctionBeginUser;
  PetscCall(MatCreateAIJ(data->comm, data->rend - data->rstart, data->rend - data->rstart, data->N, data->N, 5, NULL, 4, NULL, Q));
  PetscCall(MatSetOption(*Q, MAT_NEW_NONZERO_ALLOCATION_ERR, PETSC_TRUE));
  for (PetscInt k = data->rstart; k < data->rend; k++) {
    const PetscInt i = k / n, j = k % n, nb[4] = {i * n + (j + 1) % n, i * n + (j + n - 1) % n, ((i + 1) % n) * n + j, ((i + n - 1) % n) * n + j};
    PetscScalar    d = tau * data->gmrf_kappa2, off = -tau, on = tau;
    PetscCall(MatSetValue(*Q, k, k, d, ADD_VALUES));
    for (PetscInt q = 0; q < 4; q++) {
      PetscCall(MatSetValue(*Q, k, k, on, ADD_VALUES));
      PetscCall(MatSetValue(*Q, k, nb[q], off, ADD_VALUES));
    }
  }
  PetscCall(MatAssemblyBegin(*Q, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*Q, MAT_FINAL_ASSEMBLY));
  PetscCall(MatSetOption(*Q, MAT_SPD, PETSC_TRUE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode DestroyGMRF(TnData data)
{
  GMRF *g = (GMRF *)data->gctx;
  PetscFunctionBeginUser;
  PetscCall(MatDestroy(&g->F));
  PetscCall(VecDestroy(&g->xin));
  PetscCall(VecDestroy(&g->xhat));
  PetscCall(VecDestroy(&g->xout));
  PetscCall(PetscFree(g->scale));
  PetscCall(PetscFree(data->gctx));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* n from -data_gmrf_n, else sqrt(N); checks n^2 = N and lambda > 0. */
static PetscErrorCode CheckSize(TnData data, PetscInt *n)
{
  PetscFunctionBeginUser;
  *n = data->gmrf_n > 0 ? data->gmrf_n : (PetscInt)round(PetscSqrtReal((PetscReal)data->N));
  PetscCheck(*n * *n == data->N, data->comm, PETSC_ERR_USER, "-data_type gmrf2d needs N = n^2 nodes: N = %" PetscInt_FMT " but n = %" PetscInt_FMT " (set -data_gmrf_n to sqrt(N), e.g. with -net_type lattice2d -net_n n)", data->N, *n);
  PetscCheck(data->gmrf_tau > 0 && data->gmrf_kappa2 > 0, data->comm, PETSC_ERR_USER, "gmrf2d needs -data_gmrf_tau > 0 and -data_gmrf_kappa2 > 0 (got %g, %g): Q must be positive definite", (double)data->gmrf_tau, (double)data->gmrf_kappa2);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataSetUp_GMRF2D(TnData data)
{
  GMRF     *g;
  PetscInt  n, dims[2];
  PetscReal sum = 0;
  PetscFunctionBeginUser;
  PetscCall(CheckSize(data, &n));
  PetscCall(PetscNew(&g));
  data->gctx        = g;
  data->gen.sample  = SampleGMRF;
  data->gen.destroy = DestroyGMRF;
  g->n              = n;
  dims[0] = dims[1] = n;
  PetscCall(MatCreateFFT(PETSC_COMM_SELF, 2, dims, MATFFTW, &g->F));
  PetscCall(MatCreateVecsFFTW(g->F, &g->xin, &g->xhat, &g->xout));
  PetscCall(PetscMalloc1(n * (n / 2 + 1), &g->scale));
  for (PetscInt p = 0; p < n; p++)
    for (PetscInt q = 0; q < n; q++) {
      PetscReal l = Lambda(n, data->gmrf_tau, data->gmrf_kappa2, p, q);
      sum += PetscLogReal(l);
      if (q <= n / 2) g->scale[p * (n / 2 + 1) + q] = 1 / (PetscSqrtReal(l) * data->N);
    }
  /* With FFTW's unnormalised pair F_u (r2c) and F_u^H (c2r), F_u F_u^H = N I and
     Q = (1/N) F_u^H Lambda F_u, so x = (1/N) F_u^H Lambda^-1/2 F_u xi has
     Cov x = (1/N^2) F_u^H Lambda^-1/2 (N I) Lambda^-1/2 F_u = Q^-1: the scale
     lambda^-1/2 / N. Lambda is even in (p, q), so x is real. */
  g->halflogdet   = 0.5 * sum;
  data->H         = 0.5 * data->N * PetscLogReal(2 * PETSC_PI * M_E) - g->halflogdet;
  data->Hknown    = PETSC_TRUE;
  data->precision = PrecisionGMRF;
  PetscCall(TnDataGenerate_Private(data));
  PetscFunctionReturn(PETSC_SUCCESS);
}
