/* Class labels and clamped nodes between the data and the dynamics
   (docs/predict.md, docs/conditional.md): the label nodes are clamped, and
   the data learn the clamp set so that standardisation leaves it as given. */
#include "cli.h"

PetscErrorCode TnCliClampLabels(MPI_Comm comm, TnData data, TnDyn dyn, PetscInt N)
{
  PetscInt    C;
  PetscBool   clampfile;
  PetscMPIInt rank;
  IS          is;
  PetscFunctionBeginUser;
  PetscCall(TnDataGetClasses(data, &C));
  if (!C) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscOptionsHasName(NULL, NULL, "-data_clamp", &clampfile));
  PetscCheck(!clampfile, comm, PETSC_ERR_USER, "-data_labels clamps the %" PetscInt_FMT " label nodes %" PetscInt_FMT " .. %" PetscInt_FMT " itself; drop -data_clamp (a clamp file and labels together are not supported)", C, N - C, N - 1);
  PetscCheck(C < N, comm, PETSC_ERR_USER, "the network has N = %" PetscInt_FMT " nodes and the labels %" PetscInt_FMT " classes: the last C nodes are the label nodes, so N must be the data's columns D plus C (-net_n D+%" PetscInt_FMT ")", N, C, C);
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(ISCreateStride(comm, rank ? 0 : C, N - C, 1, &is));
  PetscCall(TnDynSetClamp(dyn, is));
  PetscCall(ISDestroy(&is));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnCliDataClampMask(MPI_Comm comm, TnDyn dyn, TnData data, PetscInt N)
{
  PetscInt nclamp;
  Vec      mask;
  PetscFunctionBeginUser;
  PetscCall(TnDynGetClamp(dyn, &nclamp, NULL, NULL));
  if (!nclamp) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(VecCreateMPI(comm, PETSC_DECIDE, N, &mask));
  PetscCall(TnDynGetClampMask(dyn, mask));
  PetscCall(TnDataSetClampMask(data, mask));
  PetscCall(VecDestroy(&mask));
  PetscFunctionReturn(PETSC_SUCCESS);
}
