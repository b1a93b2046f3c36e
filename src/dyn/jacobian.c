/* The sync step's Jacobian for one sample, as a distributed sparse matrix on
   the pattern of W plus the diagonal (docs/model.md section 2):
     rate:    J = I + h(-Gamma + W D),  D = diag(phi'(a))
     current: J = I + h(-Gamma + D W),  D = diag(phi'(W a + b))
   evaluated at the state before the step, with the rows of clamped nodes
   replaced by the identity's (such a node does not move), so that
   det J = det J^FF, the free block's. Used by the global log-det methods. */
#include "dynimpl.h"

PetscErrorCode TnDynCreateJacobian(TnDyn dyn, Mat *J)
{
  Mat W;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetMat(dyn->net, &W));
  PetscCall(MatDuplicate(W, MAT_COPY_VALUES, J));
  PetscCall(MatSetOption(*J, MAT_NEW_NONZERO_ALLOCATION_ERR, PETSC_FALSE));
  PetscCall(MatShift(*J, 1.0)); /* makes room for a diagonal W may lack */
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynStepJacobian(TnDyn dyn, Vec x, PetscInt b, Mat J)
{
  Mat          W;
  Vec          a, d, bias, gamma;
  PetscScalar *pd;
  PetscInt     m;
  PetscFunctionBeginUser;
  PetscCheck(b >= 0 && b < dyn->B, dyn->comm, PETSC_ERR_ARG_OUTOFRANGE, "sample %" PetscInt_FMT " of a batch of %" PetscInt_FMT, b, dyn->B);
  PetscCall(TnNetGetMat(dyn->net, &W));
  PetscCall(TnNetGetVecs(dyn->net, &bias, &gamma, NULL));
  PetscCall(MatCreateVecs(W, &a, &d));
  PetscCall(VecStrideGather(x, b, a, INSERT_VALUES));
  if (dyn->form == TN_FORM_CURRENT) { /* d = phi'(W a + b) */
    PetscCall(MatMult(W, a, d));
    PetscCall(VecAXPY(d, 1.0, bias));
  } else
    PetscCall(VecCopy(a, d)); /* d = phi'(a) */
  PetscCall(VecGetLocalSize(d, &m));
  PetscCall(VecGetArray(d, &pd));
  for (PetscInt i = 0; i < m; i++) {
    PetscReal t = TnPhi(dyn->act, pd[i]);
    pd[i]       = dyn->act == TN_ACT_LINEAR ? 1.0 : 1.0 - t * t;
  }
  PetscCall(VecRestoreArray(d, &pd));
  PetscCall(MatCopy(W, J, SUBSET_NONZERO_PATTERN));
  if (dyn->form == TN_FORM_CURRENT)
    PetscCall(MatDiagonalScale(J, d, NULL)); /* D W */
  else
    PetscCall(MatDiagonalScale(J, NULL, d)); /* W D */
  PetscCall(MatScale(J, dyn->h));
  PetscCall(VecCopy(gamma, a)); /* diagonal: + 1 - h gamma_i */
  PetscCall(VecScale(a, -dyn->h));
  PetscCall(VecShift(a, 1.0));
  PetscCall(MatDiagonalSet(J, a, ADD_VALUES));
  if (dyn->fmask) { /* J <- F J + (I - F), F = diag(free mask) */
    PetscCall(VecGetArray(d, &pd));
    for (PetscInt i = 0; i < m; i++) pd[i] = dyn->fmask[i];
    PetscCall(VecRestoreArray(d, &pd));
    PetscCall(MatDiagonalScale(J, d, NULL));
    PetscCall(VecGetArray(d, &pd));
    for (PetscInt i = 0; i < m; i++) pd[i] = 1.0 - dyn->fmask[i];
    PetscCall(VecRestoreArray(d, &pd));
    PetscCall(MatDiagonalSet(J, d, ADD_VALUES));
  }
  PetscCall(VecDestroy(&a));
  PetscCall(VecDestroy(&d));
  PetscFunctionReturn(PETSC_SUCCESS);
}
