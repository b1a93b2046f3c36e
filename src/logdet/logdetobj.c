/* TnLogDet: creation by type, timing and logging around the variants. */
#include "logdetimpl.h"

PetscLogEvent TN_LogDet;

PetscErrorCode TnLogDetCreate(MPI_Comm comm, TnLogDetType type, TnLogDet *ld)
{
  static PetscErrorCode (*const create[TN_LOGDET_NTYPES])(TnLogDet) = {TnLogDetCreate_Diag, TnLogDetCreate_Trace, TnLogDetCreate_Dense, TnLogDetCreate_Sparse, TnLogDetCreate_SLQ};
  TnLogDet l;
  PetscFunctionBeginUser;
  PetscCheck(type >= 0 && type < TN_LOGDET_NTYPES, comm, PETSC_ERR_ARG_OUTOFRANGE, "unknown log-det type %d", (int)type);
  if (!TN_LogDet) PetscCall(PetscLogEventRegister("LogDet", TN_CLASSID, &TN_LogDet));
  PetscCall(PetscNew(&l));
  l->comm = comm;
  l->type = type;
  PetscCall(create[type](l));
  *ld = l;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnLogDetSetFromOptions(TnLogDet ld)
{
  PetscFunctionBeginUser;
  if (ld->ops.setfromoptions) PetscCall(ld->ops.setfromoptions(ld));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnLogDetCompute(TnLogDet ld, Mat J, TnLogDetResult *res)
{
  PetscInt       m, n;
  PetscLogDouble t0;
  PetscFunctionBeginUser;
  PetscCall(MatGetSize(J, &m, &n));
  PetscCheck(m == n, ld->comm, PETSC_ERR_ARG_SIZ, "log-det of a %" PetscInt_FMT " x %" PetscInt_FMT " matrix: it must be square", m, n);
  PetscCall(PetscMemzero(res, sizeof(*res)));
  res->sign = 1.0;
  PetscCall(PetscLogEventBegin(TN_LogDet, J, 0, 0, 0));
  t0 = TnTime();
  PetscCall(ld->ops.compute(ld, J, res));
  res->seconds = TnTime() - t0;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &res->seconds, 1, MPI_DOUBLE, MPI_MAX, ld->comm));
  PetscCall(PetscLogEventEnd(TN_LogDet, J, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnLogDetSetNodeNumbers(TnLogDet ld, const PetscInt natural[])
{
  PetscFunctionBeginUser;
  ld->natural = natural;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnLogDetSetStream(TnLogDet ld, PetscInt64 stream)
{
  PetscFunctionBeginUser;
  PetscCheck(stream >= 0, ld->comm, PETSC_ERR_ARG_OUTOFRANGE, "log-det stream %" PetscInt64_FMT " must be >= 0", stream);
  ld->stream = stream;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnLogDetGetType(TnLogDet ld, TnLogDetType *type)
{
  PetscFunctionBeginUser;
  *type = ld->type;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnLogDetView(TnLogDet ld, PetscViewer viewer)
{
  PetscFunctionBeginUser;
  PetscCall(PetscViewerASCIIPrintf(viewer, "log-det method: %s\n", TnLogDetTypes[ld->type]));
  if (ld->ops.view) PetscCall(ld->ops.view(ld, viewer));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnLogDetDestroy(TnLogDet *ld)
{
  PetscFunctionBeginUser;
  if (!*ld) PetscFunctionReturn(PETSC_SUCCESS);
  if ((*ld)->ops.destroy) PetscCall((*ld)->ops.destroy(*ld));
  PetscCall(PetscFree(*ld));
  PetscFunctionReturn(PETSC_SUCCESS);
}
