/* tenor/logdet.h - log|det J| of a distributed square sparse matrix (a step
   Jacobian J_k = I + h A_k, docs/model.md section 3), by one of the methods of
   TnLogDetType. Create -> SetFromOptions -> Compute (any number of times,
   any matrices of one size) -> Destroy. Options prefix -logdet_. */
#pragma once
#include <tenor/loss.h>
#include <petscmat.h>

typedef struct _p_TnLogDet *TnLogDet;

typedef struct {
  PetscReal logabs;  /* log|det J| */
  PetscReal sign;    /* +1 or -1 (0: singular); slq gives no sign: +1 */
  PetscReal stderr_; /* standard error of an estimate (slq), else 0 */
  double    seconds; /* wall time of this computation (max over ranks) */
  double    memory;  /* bytes of the factorisation summed over ranks, if known */
  double    fill;    /* nnz(L+U)/nnz(J) (sparse), if known */
} TnLogDetResult;

PetscErrorCode TnLogDetCreate(MPI_Comm comm, TnLogDetType type, TnLogDet *ld);
PetscErrorCode TnLogDetSetFromOptions(TnLogDet ld);
/* Collective on J's communicator. J: square MPIAIJ, any row layout. */
PetscErrorCode TnLogDetCompute(TnLogDet ld, Mat J, TnLogDetResult *res);
PetscErrorCode TnLogDetGetType(TnLogDet ld, TnLogDetType *type);
/* The node number (natural order) of each local row of the matrices to come,
   borrowed: randomised methods (slq) key their draws by it, so estimates are
   the same for any rank count and partition. Without it, the global row. */
PetscErrorCode TnLogDetSetNodeNumbers(TnLogDet ld, const PetscInt natural[]);
/* Randomised methods (slq): the next computations draw from stream s >= 0
   (default 0), independent of every other stream's draws, so estimates made
   with different streams have independent errors (their variances add). */
PetscErrorCode TnLogDetSetStream(TnLogDet ld, PetscInt64 stream);
PetscErrorCode TnLogDetView(TnLogDet ld, PetscViewer viewer);
PetscErrorCode TnLogDetDestroy(TnLogDet *ld);
