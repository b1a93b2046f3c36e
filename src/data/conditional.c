/* Conditional references of a Gaussian data set (docs/conditional.md). With
   precision Q (gmrf2d, gauss) and a clamp set C, the free values t = x_F
   given x = x_C are Gaussian,
     t | x ~ N(mu, Q_FF^-1),   mu = -Q_FF^-1 Q_FC x,
   so, for every x,
     H(t | x)     = (N_F/2) log(2 pi e) - 1/2 log det Q_FF,
     log p(t | x) = 1/2 log det Q_FF - 1/2 r' Q_FF^-1 r - (N_F/2) log 2 pi,
   with r = Q_FF (t - mu) = Q_FF t + Q_FC x = (Q a)_F, a = (t, x) the whole
   sample in natural order: one MatMult with Q and one solve with the
   Cholesky factor of Q_FF (MUMPS, distributed; log det Q_FF from its
   determinant), at any N. In the representation delivered (standardised
   z_i = (a_i - m_i)/sd_i): log p_z(t | x) = log p(t | x) + sum_F log sd_i,
   H_z = H - sum_F log sd_i (as TnDataExactLogDensity for the joint). */
#include "dataimpl.h"

PetscErrorCode TnDataConditionalReset_Private(TnData data)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(data->cfidx));
  PetscCall(MatDestroy(&data->cQ));
  PetscCall(MatDestroy(&data->cF));
  PetscCall(VecDestroy(&data->ca));
  PetscCall(VecDestroy(&data->cw));
  PetscCall(VecDestroy(&data->cr));
  PetscCall(VecDestroy(&data->cy));
  data->cset = data->cknown = PETSC_FALSE;
  data->cNf = data->cnf = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The clamp counts of this rank's rows [rstart, rend) (natural order),
   checked: every node in range, listed once, at least one left free. */
static PetscErrorCode ClampCounts(TnData data, IS clamped, PetscInt cnt[])
{
  Vec                v;
  const PetscInt    *idx;
  const PetscScalar *pv;
  PetscInt           n, nclamp = 0;
  PetscScalar        one      = 1.0;
  char               msg[256] = "";
  PetscFunctionBeginUser;
  PetscCall(ISGetLocalSize(clamped, &n));
  PetscCall(ISGetIndices(clamped, &idx));
  for (PetscInt q = 0; q < n && !msg[0]; q++)
    if (idx[q] < 0 || idx[q] >= data->N) PetscCall(PetscSNPrintf(msg, sizeof(msg), "TnDataSetConditioning: clamped node %" PetscInt_FMT " is not a node: the natural numbers are 0 .. %" PetscInt_FMT, idx[q], data->N - 1));
  if (msg[0]) PetscCall(ISRestoreIndices(clamped, &idx));
  PetscCall(TnErrorSync(data->comm, (PetscBool)(msg[0] != 0), msg));
  PetscCall(VecCreateMPI(data->comm, data->rend - data->rstart, data->N, &v));
  for (PetscInt q = 0; q < n; q++) PetscCall(VecSetValues(v, 1, &idx[q], &one, ADD_VALUES));
  PetscCall(ISRestoreIndices(clamped, &idx));
  PetscCall(VecAssemblyBegin(v));
  PetscCall(VecAssemblyEnd(v));
  PetscCall(VecGetArrayRead(v, &pv));
  for (PetscInt i = 0; i < data->rend - data->rstart; i++) {
    cnt[i] = (PetscInt)PetscRealPart(pv[i]);
    nclamp += cnt[i];
    if (cnt[i] > 1 && !msg[0]) PetscCall(PetscSNPrintf(msg, sizeof(msg), "TnDataSetConditioning: node %" PetscInt_FMT " is listed %" PetscInt_FMT " times; list each clamped node once", data->rstart + i, cnt[i]));
  }
  PetscCall(VecRestoreArrayRead(v, &pv));
  PetscCall(VecDestroy(&v));
  PetscCall(TnErrorSync(data->comm, (PetscBool)(msg[0] != 0), msg));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &nclamp, 1, MPIU_INT, MPI_SUM, data->comm));
  PetscCheck(nclamp < data->N, data->comm, PETSC_ERR_USER, "TnDataSetConditioning: all %" PetscInt_FMT " nodes are clamped; leave at least one free", data->N);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataSetConditioning(TnData data, IS clamped)
{
  PetscInt *cnt, m;
  IS        isf;
  Mat       QFF;
  PetscBool set, spd;
  PetscFunctionBeginUser;
  PetscCheck(data->x, data->comm, PETSC_ERR_ORDER, "call TnDataLoad() first");
  PetscCall(TnDataConditionalReset_Private(data));
  if (!clamped) PetscFunctionReturn(PETSC_SUCCESS);
  m = data->rend - data->rstart;
  PetscCall(PetscMalloc1(m + 1, &cnt));
  PetscCall(ClampCounts(data, clamped, cnt));
  PetscCall(PetscMalloc1(m + 1, &data->cfidx));
  data->csdlog = 0;
  for (PetscInt i = 0; i < m; i++)
    if (!cnt[i]) {
      data->cfidx[data->cnf++] = i;
      if (data->std_applied) data->csdlog += PetscLogReal(data->sd[i]);
    }
  PetscCall(PetscFree(cnt));
  PetscCallMPI(MPI_Allreduce(&data->cnf, &data->cNf, 1, MPIU_INT, MPI_SUM, data->comm));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &data->csdlog, 1, MPIU_REAL, MPI_SUM, data->comm));
  data->cset = PETSC_TRUE;
  /* no Gaussian with a known precision (mixture, files), or samples that are
     no longer its samples (dequantised): no reference */
  if (!data->precision || data->dequantize) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscInfo(NULL, "conditional references: Cholesky of Q_FF, N_F = %" PetscInt_FMT "\n", data->cNf));
  PetscCall(data->precision(data, &data->cQ));
  {
    PetscInt *gidx;
    PetscCall(PetscMalloc1(data->cnf + 1, &gidx));
    for (PetscInt j = 0; j < data->cnf; j++) gidx[j] = data->rstart + data->cfidx[j];
    PetscCall(ISCreateGeneral(data->comm, data->cnf, gidx, PETSC_OWN_POINTER, &isf));
  }
  PetscCall(MatCreateSubMatrix(data->cQ, isf, isf, MAT_INITIAL_MATRIX, &QFF));
  PetscCall(ISDestroy(&isf));
  PetscCall(MatIsSPDKnown(data->cQ, &set, &spd));
  if (set && spd) PetscCall(MatSetOption(QFF, MAT_SPD, PETSC_TRUE)); /* a principal block of an SPD matrix is SPD */
  PetscCall(TnDataCholeskyMUMPS_Private(data, QFF, "the free block Q_FF of the data's precision", &data->cF, &data->clogdet));
  PetscCall(MatCreateVecs(data->cQ, &data->ca, &data->cw));
  PetscCall(MatCreateVecs(QFF, &data->cr, &data->cy));
  PetscCall(MatDestroy(&QFF)); /* the factor keeps what it needs */
  data->cknown = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataGetConditioning(TnData data, PetscInt *nfree, PetscBool *known)
{
  PetscFunctionBeginUser;
  if (nfree) *nfree = data->cset ? data->cNf : data->N;
  if (known) *known = data->cknown;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataExactConditionalEntropy(TnData data, PetscReal *H, PetscBool *known)
{
  PetscFunctionBeginUser;
  PetscCheck(data->cset, data->comm, PETSC_ERR_ORDER, "call TnDataSetConditioning() first");
  *known = data->cknown;
  *H     = data->cknown ? 0.5 * data->cNf * PetscLogReal(2 * PETSC_PI * M_E) - 0.5 * data->clogdet - data->csdlog : NAN;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataExactConditionalLogDensity(TnData data, TnDataPart part, PetscInt s0, PetscInt B, PetscReal logp[], PetscBool *known)
{
  PetscInt Strain, Svalid, S, v;
  PetscFunctionBeginUser;
  PetscCheck(data->cset, data->comm, PETSC_ERR_ORDER, "call TnDataSetConditioning() first");
  *known = data->cknown;
  if (!data->cknown) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnDataGetPartSizes(data, &Strain, &Svalid));
  S = part == TN_DATA_TRAIN ? Strain : part == TN_DATA_VALID ? Svalid
                                                             : data->S;
  v = PetscMax(0, PetscMin(B, S - s0));
  for (PetscInt b = 0; b < B; b++) {
    PetscScalar       *a, *r, q;
    const PetscScalar *w;
    PetscInt           s;
    logp[b] = 0;
    if (b >= v) continue;
    PetscCall(TnDataGetSampleIndex(data, part, s0 + b, &s));
    PetscCall(VecGetArrayWrite(data->ca, &a)); /* the sample in the data's own space */
    for (PetscInt i = 0; i < data->rend - data->rstart; i++) {
      PetscReal z = data->x[(size_t)i * data->S + s];
      a[i]        = data->std_applied ? data->mean[i] + data->sd[i] * z : z;
    }
    PetscCall(VecRestoreArrayWrite(data->ca, &a));
    PetscCall(MatMult(data->cQ, data->ca, data->cw));
    PetscCall(VecGetArrayRead(data->cw, &w));
    PetscCall(VecGetArrayWrite(data->cr, &r));
    for (PetscInt j = 0; j < data->cnf; j++) r[j] = w[data->cfidx[j]];
    PetscCall(VecRestoreArrayWrite(data->cr, &r));
    PetscCall(VecRestoreArrayRead(data->cw, &w));
    PetscCall(MatSolve(data->cF, data->cr, data->cy));
    PetscCall(VecDot(data->cr, data->cy, &q));
    logp[b] = 0.5 * data->clogdet - 0.5 * PetscRealPart(q) - 0.5 * data->cNf * PetscLogReal(2 * PETSC_PI) + data->csdlog;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
