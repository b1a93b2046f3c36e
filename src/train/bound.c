/* The invertibility condition (MODEL.md section 4) evaluated on a trial
   theta + alpha d before it is written into the net, side-effect free, with
   no trial vector: each entry th[q] + alpha d[q] is formed where it is read,
   by the same expression TnTrain's update then stores:
     sync:    h (max_i gamma_i + sqrt(|W|_1 |W|_inf)) < 1
     colored: min_i (1 - h gamma_i + h min(W_ii, 0)) > 0  (tanh)
              min_i (1 + h (W_ii - gamma_i)) > 0         (linear)
   with gamma = e^u. The sums follow TnDynCheckInvertible's order; a margin
   of 1e-10 keeps a step accepted here from being refused there by round-off. */
#include "trainimpl.h"

#define TN_BOUND_MARGIN 1e-10

PetscErrorCode TnBoundSetUp(TnTrain tr)
{
  TnBound        *b = &tr->bound;
  Mat             W, Ad, Ao;
  const PetscInt *garray;
  PetscInt        n;
  PetscBool       done;
  IS              is;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetMat(tr->net, &W));
  PetscCall(MatMPIAIJGetSeqAIJ(W, &Ad, &Ao, &garray));
  PetscCall(MatGetRowIJ(Ad, 0, PETSC_FALSE, PETSC_FALSE, &n, &b->iad, &b->jad, &done));
  PetscCheck(done, PETSC_COMM_SELF, PETSC_ERR_SUP, "no CSR structure of W's diagonal block");
  PetscCall(MatGetRowIJ(Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &b->iao, &b->jao, &done));
  PetscCheck(done, PETSC_COMM_SELF, PETSC_ERR_SUP, "no CSR structure of W's off-diagonal block");
  PetscCall(MatGetSize(Ao, &b->m, &b->nghost));
  b->nd = b->iad[b->m];
  b->no = b->iao[b->m];
  PetscCall(PetscMalloc1(b->m + 1, &b->diagpos));
  for (PetscInt i = 0; i < b->m; i++) {
    b->diagpos[i] = -1;
    for (PetscInt t = b->iad[i]; t < b->iad[i + 1]; t++)
      if (b->jad[t] == i) b->diagpos[i] = t;
  }
  PetscCall(MatCreateVecs(W, &b->cs, NULL));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, b->nghost, &b->gs));
  PetscCall(ISCreateGeneral(PETSC_COMM_SELF, b->nghost, garray, PETSC_COPY_VALUES, &is));
  PetscCall(VecScatterCreate(b->cs, is, b->gs, NULL, &b->sct));
  PetscCall(ISDestroy(&is));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnBoundDestroy(TnBound *b)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(b->diagpos));
  PetscCall(VecDestroy(&b->cs));
  PetscCall(VecDestroy(&b->gs));
  PetscCall(VecScatterDestroy(&b->sct));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* |W|_1: column sums, the off-process block's added to their owners. */
static PetscErrorCode Norm1(TnBound *b, const PetscScalar *th, const PetscScalar *d, PetscReal alpha, PetscReal *n1)
{
  PetscScalar *c, *g;
  PetscFunctionBeginUser;
  PetscCall(VecGetArray(b->cs, &c));
  PetscCall(VecGetArray(b->gs, &g));
  for (PetscInt i = 0; i < b->m; i++) c[i] = 0;
  for (PetscInt q = 0; q < b->nghost; q++) g[q] = 0;
  for (PetscInt t = 0; t < b->nd; t++) c[b->jad[t]] += PetscAbsScalar(TnTrial(th, d, alpha, t));
  for (PetscInt t = 0; t < b->no; t++) g[b->jao[t]] += PetscAbsScalar(TnTrial(th, d, alpha, b->nd + t));
  PetscCall(VecRestoreArray(b->cs, &c));
  PetscCall(VecRestoreArray(b->gs, &g));
  PetscCall(VecScatterBegin(b->sct, b->gs, b->cs, ADD_VALUES, SCATTER_REVERSE));
  PetscCall(VecScatterEnd(b->sct, b->gs, b->cs, ADD_VALUES, SCATTER_REVERSE));
  PetscCall(VecMax(b->cs, NULL, n1));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnBoundCheck(TnTrain tr, Vec theta, Vec dir, PetscReal alpha, PetscBool *ok, PetscReal *value)
{
  TnBound           *b = &tr->bound;
  const PetscScalar *th, *d = NULL;
  TnScheme           scheme;
  TnAct              act;
  PetscInt           nl;
  PetscReal          h, loc[4] = {0, -PETSC_MAX_REAL, -PETSC_MAX_REAL, 0}, n1 = 0; /* max row sum, max gamma, -min f, non-finite */
  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(theta, &nl));
  PetscCall(TnDynGetParams(tr->dyn, &scheme, NULL, &act, &h, NULL, NULL));
  PetscCall(VecGetArrayRead(theta, &th));
  if (dir) PetscCall(VecGetArrayRead(dir, &d));
  for (PetscInt q = 0; q < nl; q++)
    if (PetscIsInfOrNanScalar(TnTrial(th, d, alpha, q))) loc[3] = 1;
  for (PetscInt i = 0; i < b->m; i++) {
    PetscReal rs = 0, gi = PetscExpReal(TnTrial(th, d, alpha, b->nd + b->no + b->m + i)), w = b->diagpos[i] >= 0 ? TnTrial(th, d, alpha, b->diagpos[i]) : 0, f;
    for (PetscInt t = b->iad[i]; t < b->iad[i + 1]; t++) rs += PetscAbsScalar(TnTrial(th, d, alpha, t));
    for (PetscInt t = b->iao[i]; t < b->iao[i + 1]; t++) rs += PetscAbsScalar(TnTrial(th, d, alpha, b->nd + t));
    f      = act == TN_ACT_TANH ? 1 - h * gi + h * PetscMin(w, 0) : 1 + h * (w - gi);
    loc[0] = PetscMax(loc[0], rs);
    loc[1] = PetscMax(loc[1], gi);
    loc[2] = PetscMax(loc[2], -f);
  }
  if (scheme == TN_SCHEME_SYNC) PetscCall(Norm1(b, th, d, alpha, &n1));
  if (dir) PetscCall(VecRestoreArrayRead(dir, &d));
  PetscCall(VecRestoreArrayRead(theta, &th));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, loc, 4, MPIU_REAL, MPIU_MAX, tr->comm));
  if (scheme == TN_SCHEME_SYNC) {
    *value = h * (loc[1] + PetscSqrtReal(n1 * loc[0]));
    *ok    = (PetscBool)(*value < 1 - TN_BOUND_MARGIN);
  } else {
    *value = -loc[2];
    *ok    = (PetscBool)(*value > TN_BOUND_MARGIN);
  }
  if (loc[3] > 0 || PetscIsInfOrNanReal(*value)) *ok = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}
