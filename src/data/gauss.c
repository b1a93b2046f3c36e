/* gauss: x ~ N(0, Q^-1) for a user-supplied sparse symmetric positive
   definite precision Q (MatrixMarket, -data_gauss_Q).
   log p(x) = 1/2 log det Q - 1/2 x'Qx - (N/2) log 2 pi,
   H = (N/2) log(2 pi e) - 1/2 log det Q.
   Two paths:
   - generated samples (no -data_file): Q is gathered on every rank and
     factored densely, Q = L L' (LAPACK dpotrf), log det Q = 2 sum log L_ii,
     and x = L^-T xi (dtrtrs), xi from (seed, stream 11, s N + i), so
     Cov x = L^-T L^-1 = Q^-1. Dense: N <= -data_gauss_dense_max (5000).
   - samples from -data_file (CSV/HDF5, any N): log det Q from a distributed
     MUMPS Cholesky (ICNTL(33) = 1: det = RINFOG(12) 2^INFOG(34)) and x'Qx by
     a distributed MatMult per sample. No sampling at that size: a sparse
     x = L^-T xi needs a transposed triangular solve MUMPS does not expose. */
#include "dataimpl.h"
#include <tenor/io.h>
#include <petscblaslapack.h>

typedef struct {
  Mat        Qs; /* Q on this rank, sequential */
  Vec        vx, vy;
  PetscReal *L; /* column-major Cholesky factor (lower) */
  PetscReal  logdet;
} Gauss;

static PetscErrorCode SampleGauss(TnData data, PetscInt s, PetscReal x[], PetscReal *logp)
{
  Gauss       *g = (Gauss *)data->gctx;
  PetscBLASInt n, one = 1, info;
  PetscScalar  q;
  PetscFunctionBeginUser;
  PetscCall(PetscBLASIntCast(data->N, &n));
  for (PetscInt i = 0; i < data->N; i++) x[i] = TnRandNormal((uint64_t)data->seed, 11, (uint64_t)s * (uint64_t)data->N + (uint64_t)i);
  LAPACKtrtrs_("L", "T", "N", &n, &one, g->L, &n, x, &n, &info); /* L' x = xi */
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dtrtrs failed: info %d", (int)info);
  PetscCall(VecPlaceArray(g->vx, x));
  PetscCall(MatMult(g->Qs, g->vx, g->vy));
  PetscCall(VecDot(g->vy, g->vx, &q));
  PetscCall(VecResetArray(g->vx));
  *logp = 0.5 * g->logdet - 0.5 * q - 0.5 * data->N * PetscLogReal(2 * PETSC_PI);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode DestroyGauss(TnData data)
{
  Gauss *g = (Gauss *)data->gctx;
  PetscFunctionBeginUser;
  PetscCall(MatDestroy(&g->Qs));
  PetscCall(VecDestroy(&g->vx));
  PetscCall(VecDestroy(&g->vy));
  PetscCall(PetscFree(g->L));
  PetscCall(PetscFree(data->gctx));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Q from the file, N x N, symmetric. */
static PetscErrorCode ReadQ(TnData data, Mat *Q)
{
  PetscInt  M;
  PetscBool sym;
  PetscFunctionBeginUser;
  PetscCheck(data->gauss_Q[0], data->comm, PETSC_ERR_USER, "-data_type gauss needs -data_gauss_Q <precision.mtx> (MatrixMarket, symmetric positive definite)");
  PetscCall(TnReadMatrixMarket(data->comm, data->gauss_Q, Q));
  PetscCall(MatGetSize(*Q, &M, NULL));
  PetscCheck(M == data->N, data->comm, PETSC_ERR_USER, "-data_gauss_Q %s is %" PetscInt_FMT " x %" PetscInt_FMT " but the network has N = %" PetscInt_FMT " nodes", data->gauss_Q, M, M, data->N);
  PetscCall(MatIsSymmetric(*Q, 1e-12, &sym));
  PetscCheck(sym, data->comm, PETSC_ERR_USER, "-data_gauss_Q %s is not symmetric: a precision matrix must be", data->gauss_Q);
  PetscCall(MatSetOption(*Q, MAT_SYMMETRIC, PETSC_TRUE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Q afresh from the file, for the conditional references. */
static PetscErrorCode PrecisionGauss(TnData data, Mat *Q)
{
  PetscFunctionBeginUser;
  PetscCall(ReadQ(data, Q));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Every rank: Q as a sequential matrix and its dense Cholesky factor. */
static PetscErrorCode DenseFactor(TnData data, Mat Q, Gauss *g)
{
  IS           is;
  Mat         *sub;
  PetscInt     N = data->N;
  PetscBLASInt n, info;
  PetscFunctionBeginUser;
  PetscCall(ISCreateStride(PETSC_COMM_SELF, N, 0, 1, &is));
  PetscCall(MatCreateSubMatrices(Q, 1, &is, &is, MAT_INITIAL_MATRIX, &sub));
  PetscCall(ISDestroy(&is));
  g->Qs = sub[0];
  PetscCall(PetscFree(sub));
  PetscCall(PetscCalloc1((size_t)N * N, &g->L));
  for (PetscInt i = 0; i < N; i++) {
    const PetscInt    *cols;
    const PetscScalar *vals;
    PetscInt           nc;
    PetscCall(MatGetRow(g->Qs, i, &nc, &cols, &vals));
    for (PetscInt c = 0; c < nc; c++) g->L[(size_t)cols[c] * N + i] = vals[c];
    PetscCall(MatRestoreRow(g->Qs, i, &nc, &cols, &vals));
  }
  PetscCall(PetscBLASIntCast(N, &n));
  LAPACKpotrf_("L", &n, g->L, &n, &info);
  PetscCheck(info == 0, data->comm, PETSC_ERR_USER, "-data_gauss_Q %s is not positive definite (dpotrf: leading minor %d is not positive)", data->gauss_Q, (int)info);
  g->logdet = 0;
  for (PetscInt i = 0; i < N; i++) g->logdet += 2 * PetscLogReal(g->L[(size_t)i * N + i]);
  PetscCall(MatCreateVecs(g->Qs, &g->vx, &g->vy));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataSetUp_Gauss(TnData data)
{
  Gauss   *g;
  Mat      Q;
  PetscInt dmax = data->gauss_dmax;
  PetscFunctionBeginUser;
  PetscCheck(data->N <= dmax, data->comm, PETSC_ERR_USER, "gauss sampling factors Q densely on every rank, limited to N <= %" PetscInt_FMT " (N = %" PetscInt_FMT "): give samples with -data_file (log-densities then come from a sparse MUMPS Cholesky), or raise -data_gauss_dense_max", dmax, data->N);
  PetscCall(ReadQ(data, &Q));
  PetscCall(PetscNew(&g));
  data->gctx        = g;
  data->gen.sample  = SampleGauss;
  data->gen.destroy = DestroyGauss;
  PetscCall(DenseFactor(data, Q, g));
  PetscCall(MatDestroy(&Q));
  data->H         = 0.5 * data->N * PetscLogReal(2 * PETSC_PI * M_E) - 0.5 * g->logdet;
  data->Hknown    = PETSC_TRUE;
  data->precision = PrecisionGauss;
  PetscCall(TnDataGenerate_Private(data));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* log det Q by MUMPS Cholesky (LDL' with sym = 2 unless Q is flagged SPD). */
PetscErrorCode TnDataCholeskyMUMPS_Private(TnData data, Mat Q, const char what[], Mat *Fout, PetscReal *logdet)
{
  Mat           F;
  MatFactorInfo info;
  PetscReal     d;
  PetscInt      e, err;
  PetscFunctionBeginUser;
  PetscCall(MatFactorInfoInitialize(&info));
  PetscCall(MatGetFactor(Q, MATSOLVERMUMPS, MAT_FACTOR_CHOLESKY, &F));
  PetscCall(MatMumpsSetIcntl(F, 33, 1));
  PetscCall(MatCholeskyFactorSymbolic(F, Q, NULL, &info));
  PetscCall(MatCholeskyFactorNumeric(F, Q, &info));
  PetscCall(MatMumpsGetInfog(F, 1, &err));
  PetscCheck(err >= 0, data->comm, PETSC_ERR_LIB, "MUMPS Cholesky of %s failed with INFOG(1) = %" PetscInt_FMT, what, err);
  PetscCall(MatMumpsGetRinfog(F, 12, &d));
  PetscCall(MatMumpsGetInfog(F, 34, &e));
  PetscCheck(d > 0, data->comm, PETSC_ERR_USER, "%s is not positive definite (det <= 0)", what);
  *logdet = PetscLogReal(d) + e * M_LN2;
  if (Fout)
    *Fout = F;
  else
    PetscCall(MatDestroy(&F));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataGaussFile_Private(TnData data)
{
  Mat         Q;
  Vec         v, w;
  PetscReal   logdet = 0;
  PetscScalar q, *a;
  char        what[PETSC_MAX_PATH_LEN + 32];
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(what, sizeof(what), "-data_gauss_Q %s", data->gauss_Q));
  PetscCall(ReadQ(data, &Q));
  PetscCall(TnDataCholeskyMUMPS_Private(data, Q, what, NULL, &logdet));
  PetscCall(MatCreateVecs(Q, &v, &w));
  PetscCall(PetscMalloc1(data->S, &data->logp));
  for (PetscInt s = 0; s < data->S; s++) {
    PetscCall(VecGetArrayWrite(v, &a));
    for (PetscInt i = 0; i < data->rend - data->rstart; i++) a[i] = data->x[(size_t)i * data->S + s];
    PetscCall(VecRestoreArrayWrite(v, &a));
    PetscCall(MatMult(Q, v, w));
    PetscCall(VecDot(w, v, &q));
    data->logp[s] = 0.5 * logdet - 0.5 * q - 0.5 * data->N * PetscLogReal(2 * PETSC_PI);
  }
  data->H         = 0.5 * data->N * PetscLogReal(2 * PETSC_PI * M_E) - 0.5 * logdet;
  data->Hknown    = PETSC_TRUE;
  data->precision = PrecisionGauss;
  PetscCall(VecDestroy(&v));
  PetscCall(VecDestroy(&w));
  PetscCall(MatDestroy(&Q));
  PetscFunctionReturn(PETSC_SUCCESS);
}
