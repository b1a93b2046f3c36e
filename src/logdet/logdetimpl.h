/* Private: a log-det method is a small table of operations and its own data,
   chosen by type at creation (like PETSc's implementations). A variant only
   computes; TnLogDetCompute validates, times and logs. */
#pragma once
#include <tenor/logdet.h>
#include <tenor/sys.h>

typedef struct {
  PetscErrorCode (*setfromoptions)(TnLogDet);
  PetscErrorCode (*compute)(TnLogDet, Mat, TnLogDetResult *);
  PetscErrorCode (*view)(TnLogDet, PetscViewer);
  PetscErrorCode (*destroy)(TnLogDet);
} TnLogDetOps;

struct _p_TnLogDet {
  MPI_Comm        comm;
  TnLogDetType    type;
  TnLogDetOps     ops;
  void           *data;
  const PetscInt *natural; /* node number of each local row, or NULL */
  PetscInt64      stream;  /* randomised methods: which independent draws the next computations use */
};

/* Each fills ld->ops and ld->data. */
PetscErrorCode TnLogDetCreate_Diag(TnLogDet ld);
PetscErrorCode TnLogDetCreate_Trace(TnLogDet ld);
PetscErrorCode TnLogDetCreate_Dense(TnLogDet ld);
PetscErrorCode TnLogDetCreate_Sparse(TnLogDet ld);
PetscErrorCode TnLogDetCreate_SLQ(TnLogDet ld);
