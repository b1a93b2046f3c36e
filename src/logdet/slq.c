/* slq: an unbiased estimate of log|det J| = (1/2) log det(J^T J) = (1/2) tr log A,
   A = J^T J (symmetric positive definite when J is invertible), by stochastic
   Lanczos quadrature, using only products with J and J^T:
     tr log A = E[z^T log(A) z] over Rademacher probes z (entries +-1),
     z^T log(A) z ~ |z|^2 sum_k tau_k^2 log theta_k,
   where m Lanczos steps on A from v_1 = z/|z| give the tridiagonal T_m =
   S diag(theta) S^T and tau_k = S_1k (the m-point Gauss quadrature of the
   spectral measure of A seen from v_1). The estimate is the mean over probes,
   halved; its standard error is the probes' standard deviation / sqrt(probes)
   / 2. Probe p of stream s (TnLogDetSetStream) has entry i = the top bit of
   TnRandU64(seed, s * probes + p, i) with i the node's natural number (else
   J's global column number), so the estimate does not depend on the rank
   count, and different streams use different, independent probes.
   There is no sign: J^T J forgets it, and the result reports +1. */
#include "logdetimpl.h"
#include <petscblaslapack.h>
#include <math.h>

typedef struct {
  PetscInt  probes, steps, seed;
  PetscBool reorth;               /* full reorthogonalisation of the Lanczos basis */
  PetscInt  last_m;               /* Lanczos steps taken by the last probe */
  PetscReal theta_min, theta_max; /* extreme Ritz values seen (a condition estimate) */
} LogDet_SLQ;

static PetscErrorCode SetFromOptions_SLQ(TnLogDet ld)
{
  LogDet_SLQ *s = (LogDet_SLQ *)ld->data;
  PetscFunctionBeginUser;
  PetscOptionsBegin(ld->comm, "logdet_slq_", "Stochastic Lanczos quadrature log-det (an estimate)", "TnLogDet");
  PetscCall(TnOptionsInt("-probes", "Rademacher probes (the error falls like 1/sqrt(probes))", "TnLogDet", s->probes, &s->probes, NULL, 1, PETSC_MAX_INT));
  PetscCall(TnOptionsInt("-steps", "Lanczos steps per probe (quadrature points)", "TnLogDet", s->steps, &s->steps, NULL, 1, PETSC_MAX_INT));
  PetscCall(TnOptionsInt("-seed", "Seed of the probes", "TnLogDet", s->seed, &s->seed, NULL, PETSC_MIN_INT, PETSC_MAX_INT));
  PetscCall(TnOptionsBool("-reorth", "Full reorthogonalisation of the Lanczos vectors", "TnLogDet", s->reorth, &s->reorth, NULL));
  PetscOptionsEnd();
  PetscCheck(s->probes >= 2, ld->comm, PETSC_ERR_USER, "-logdet_slq_probes %" PetscInt_FMT ": at least 2 probes are needed for a standard error", s->probes);
  PetscCheck(s->steps >= 1, ld->comm, PETSC_ERR_USER, "-logdet_slq_steps %" PetscInt_FMT ": at least 1 Lanczos step is needed", s->steps);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* z_i = +-1 from the top bit of the counter-based generator, keyed by the
   node's natural number when known (else the global row index i). */
static PetscErrorCode Rademacher(Vec z, PetscInt seed, uint64_t probe, const PetscInt *natural)
{
  PetscScalar *pz;
  PetscInt     lo, hi;
  PetscFunctionBeginUser;
  PetscCall(VecGetOwnershipRange(z, &lo, &hi));
  PetscCall(VecGetArray(z, &pz));
  for (PetscInt i = lo; i < hi; i++) {
    uint64_t key = (uint64_t)(natural ? natural[i - lo] : i);
    pz[i - lo]   = (TnRandU64((uint64_t)seed, (uint64_t)probe, key) >> 63) ? 1.0 : -1.0;
  }
  PetscCall(VecRestoreArray(z, &pz));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* u = A v = J^T (J v); t is work space with J's row layout. */
static PetscErrorCode ApplyA(Mat J, Vec v, Vec t, Vec u)
{
  PetscFunctionBeginUser;
  PetscCall(MatMult(J, v, t));
  PetscCall(MatMultTranspose(J, t, u));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* m Lanczos steps on A from V[0] (unit norm): alpha[0..m-1], beta[0..m-2].
   V holds m + 1 vectors when reorthogonalising (else 3, used cyclically).
   Stops early (*mout < m) when the Krylov space becomes invariant. */
static PetscErrorCode Lanczos(Mat J, Vec *V, Vec t, PetscInt m, PetscBool reorth, PetscReal *alpha, PetscReal *beta, PetscInt *mout)
{
  PetscScalar *h;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(m + 1, &h));
  *mout = m;
  for (PetscInt k = 0; k < m; k++) {
    Vec v = V[reorth ? k : k % 3], u = V[reorth ? k + 1 : (k + 1) % 3];
    PetscCall(ApplyA(J, v, t, u));
    PetscCall(VecDot(u, v, &h[0]));
    alpha[k] = PetscRealPart(h[0]);
    PetscCall(VecAXPY(u, -alpha[k], v)); /* u = A v_k - alpha_k v_k - beta_{k-1} v_{k-1} */
    if (k > 0) PetscCall(VecAXPY(u, -beta[k - 1], V[reorth ? k - 1 : (k + 2) % 3]));
    if (reorth)
      for (PetscInt pass = 0; pass < 2; pass++) { /* u -= V V^T u, twice (classical Gram-Schmidt with reiteration) */
        PetscCall(VecMDot(u, k + 1, V, h));
        for (PetscInt j = 0; j <= k; j++) h[j] = -h[j];
        PetscCall(VecMAXPY(u, k + 1, h, V));
      }
    if (k == m - 1) break;
    PetscCall(VecNorm(u, NORM_2, &beta[k]));
    if (beta[k] <= 1e3 * PETSC_MACHINE_EPSILON * PetscAbsReal(alpha[k])) { /* invariant subspace: the quadrature is exact */
      *mout = k + 1;
      break;
    }
    PetscCall(VecScale(u, 1.0 / beta[k]));
  }
  PetscCall(PetscFree(h));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* sum_k tau_k^2 log theta_k for T = tridiag(beta, alpha, beta) of order m
   (LAPACK steqr, redundantly on every rank); -inf if T is singular. */
static PetscErrorCode Quadrature(PetscInt m, const PetscReal *alpha, const PetscReal *beta, PetscReal *q, PetscReal *tmin, PetscReal *tmax)
{
  PetscReal   *d, *e, *S, *work;
  PetscBLASInt n, info;
  PetscFunctionBeginUser;
  PetscCall(PetscBLASIntCast(m, &n));
  PetscCall(PetscMalloc4(m, &d, m, &e, m * m, &S, 2 * m, &work));
  for (PetscInt k = 0; k < m; k++) {
    d[k] = alpha[k];
    e[k] = k < m - 1 ? beta[k] : 0;
  }
  PetscCallBLAS("LAPACKsteqr", LAPACKsteqr_("I", &n, d, e, S, &n, work, &info));
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "LAPACK steqr failed on the Lanczos matrix: info %d", (int)info);
  *q = 0;
  for (PetscInt k = 0; k < m; k++) { /* S is column-major: S[k*m] is the first component of eigenvector k */
    PetscReal tau = S[k * m];
    *tmin         = PetscMin(*tmin, d[k]);
    *tmax         = PetscMax(*tmax, d[k]);
    *q += d[k] > 0 ? tau * tau * log(d[k]) : -(PetscReal)INFINITY;
  }
  PetscCall(PetscFree4(d, e, S, work));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Compute_SLQ(TnLogDet ld, Mat J, TnLogDetResult *res)
{
  LogDet_SLQ *s = (LogDet_SLQ *)ld->data;
  Vec        *V, t;
  PetscInt    nv = s->reorth ? s->steps + 1 : 3, N, m = 0;
  PetscReal  *alpha, *beta, sum = 0, sum2 = 0, znorm2;
  PetscFunctionBeginUser;
  PetscCall(MatGetSize(J, &N, NULL));
  PetscCall(MatCreateVecs(J, &t, NULL)); /* t: J's column layout; J v has the row layout */
  PetscCall(VecDuplicateVecs(t, nv, &V));
  PetscCall(VecDestroy(&t));
  PetscCall(MatCreateVecs(J, NULL, &t));
  PetscCall(PetscMalloc2(s->steps, &alpha, s->steps, &beta));
  s->theta_min = PETSC_MAX_REAL;
  s->theta_max = 0;
  znorm2       = (PetscReal)N; /* |z|^2 for a Rademacher probe */
  for (PetscInt p = 0; p < s->probes; p++) {
    PetscReal q = 0;
    PetscCall(Rademacher(V[0], s->seed, (uint64_t)ld->stream * (uint64_t)s->probes + (uint64_t)p, ld->natural));
    PetscCall(VecScale(V[0], 1.0 / PetscSqrtReal(znorm2)));
    PetscCall(Lanczos(J, V, t, s->steps, s->reorth, alpha, beta, &m));
    PetscCall(Quadrature(m, alpha, beta, &q, &s->theta_min, &s->theta_max));
    q *= znorm2;
    sum += q;
    sum2 += q * q;
    s->last_m = m;
  }
  if (PetscIsInfOrNanReal(sum)) { /* a Ritz value <= 0: J^T J is singular to working precision */
    res->logabs  = -(PetscReal)INFINITY;
    res->sign    = 0;
    res->stderr_ = 0;
  } else {
    PetscReal mean = sum / s->probes, var = PetscMax(0.0, (sum2 - s->probes * mean * mean) / (s->probes - 1));
    res->logabs  = 0.5 * mean;
    res->sign    = 1.0;
    res->stderr_ = 0.5 * PetscSqrtReal(var / s->probes);
  }
  PetscCall(PetscFree2(alpha, beta));
  PetscCall(VecDestroyVecs(nv, &V));
  PetscCall(VecDestroy(&t));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode View_SLQ(TnLogDet ld, PetscViewer viewer)
{
  LogDet_SLQ *s = (LogDet_SLQ *)ld->data;
  PetscFunctionBeginUser;
  PetscCall(PetscViewerASCIIPrintf(viewer, "  stochastic Lanczos quadrature on J^T J: %" PetscInt_FMT " Rademacher probes x %" PetscInt_FMT " steps, seed %" PetscInt_FMT ", %s reorthogonalisation; an estimate with no sign (reported +1)\n", s->probes, s->steps, s->seed, s->reorth ? "full" : "no"));
  if (s->theta_max > 0) PetscCall(PetscViewerASCIIPrintf(viewer, "  last matrix: Ritz values of J^T J in [%.4g, %.4g] (condition >= %.3g); last probe took %" PetscInt_FMT " steps\n", (double)s->theta_min, (double)s->theta_max, (double)(s->theta_max / s->theta_min), s->last_m));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Destroy_SLQ(TnLogDet ld)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(ld->data));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnLogDetCreate_SLQ(TnLogDet ld)
{
  LogDet_SLQ *s;
  PetscFunctionBeginUser;
  PetscCall(PetscNew(&s));
  s->probes              = 20;
  s->steps               = 30;
  s->seed                = 1;
  ld->data               = s;
  ld->ops.setfromoptions = SetFromOptions_SLQ;
  ld->ops.compute        = Compute_SLQ;
  ld->ops.view           = View_SLQ;
  ld->ops.destroy        = Destroy_SLQ;
  PetscFunctionReturn(PETSC_SUCCESS);
}
