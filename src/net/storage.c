/* The network's parameters in one array, so that a training run holds them
   once: after SetUp,
     net->param = [W's on-process block values (nd) | off-process block values (no) | b (m) | u (m)]
   W is an MPIAIJ matrix built on the first two parts without a copy
   (MatCreateMPIAIJWithSplitArrays), b is a Vec view of the third, and the
   fourth holds u = log gamma, the leak in the parameterisation training uses
   (gamma = e^u stays in its own Vec, which the dynamics reads). This is the
   layout of the gradient's parameter vector theta (TnGradGetParamVec). */
#include "netimpl.h"

/* W (assembled MPIAIJ) and b -> the same values on net->param. */
PetscErrorCode TnNetAdoptStorage(TnNet net)
{
  Mat                Ad, Ao, Wnew;
  const PetscInt    *garray, *ia, *ja, *oia, *oja;
  const PetscScalar *va, *vo, *pb, *pg;
  PetscInt           m, nd, no, n, N;
  PetscBool          done;
  Vec                b;
  PetscFunctionBeginUser;
  PetscCall(MatMPIAIJGetSeqAIJ(net->W, &Ad, &Ao, &garray));
  PetscCall(MatGetLocalSize(net->W, &m, NULL));
  PetscCall(MatGetSize(net->W, &N, NULL));
  PetscCall(MatGetRowIJ(Ad, 0, PETSC_FALSE, PETSC_FALSE, &n, &ia, &ja, &done));
  PetscCheck(done, PETSC_COMM_SELF, PETSC_ERR_SUP, "cannot access W's CSR arrays");
  PetscCall(MatGetRowIJ(Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &oia, &oja, &done));
  PetscCheck(done, PETSC_COMM_SELF, PETSC_ERR_SUP, "cannot access W's CSR arrays");
  nd = ia[m];
  no = oia[m];
  PetscCall(PetscMalloc1((size_t)nd + no + 2 * m + 1, &net->param));
  PetscCall(PetscMalloc4(m + 1, &net->pia, nd + 1, &net->pja, m + 1, &net->poia, no + 1, &net->poja));
  PetscCall(PetscArraycpy(net->pia, ia, m + 1));
  PetscCall(PetscArraycpy(net->pja, ja, nd));
  PetscCall(PetscArraycpy(net->poia, oia, m + 1));
  for (PetscInt t = 0; t < no; t++) net->poja[t] = garray[oja[t]]; /* global columns, ascending within a row */
  PetscCall(MatSeqAIJGetArrayRead(Ad, &va));
  PetscCall(MatSeqAIJGetArrayRead(Ao, &vo));
  PetscCall(PetscArraycpy(net->param, va, nd));
  PetscCall(PetscArraycpy(net->param + nd, vo, no));
  PetscCall(MatSeqAIJRestoreArrayRead(Ao, &vo));
  PetscCall(MatSeqAIJRestoreArrayRead(Ad, &va));
  PetscCall(MatRestoreRowIJ(Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &oia, &oja, &done));
  PetscCall(MatRestoreRowIJ(Ad, 0, PETSC_FALSE, PETSC_FALSE, &n, &ia, &ja, &done));
  PetscCall(VecGetArrayRead(net->b, &pb));
  PetscCall(VecGetArrayRead(net->gamma, &pg));
  PetscCall(PetscArraycpy(net->param + nd + no, pb, m));
  for (PetscInt i = 0; i < m; i++) net->param[nd + no + m + i] = PetscLogReal(pg[i]);
  PetscCall(VecRestoreArrayRead(net->gamma, &pg));
  PetscCall(VecRestoreArrayRead(net->b, &pb));
  PetscCall(MatCreateMPIAIJWithSplitArrays(net->comm, m, m, N, N, net->pia, net->pja, net->param, net->poia, net->poja, net->param + nd, &Wnew));
  PetscCall(MatDestroy(&net->W));
  net->W = Wnew;
  PetscCall(VecCreateMPIWithArray(net->comm, 1, m, N, net->param + nd + no, &b));
  PetscCall(VecDestroy(&net->b));
  net->b    = b;
  net->npar = nd + no + 2 * m;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Frees the storage after W and b (which view it) are destroyed. */
PetscErrorCode TnNetFreeStorage(TnNet net)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(net->param));
  PetscCall(PetscFree4(net->pia, net->pja, net->poia, net->poja));
  net->npar = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetGetParamArray(TnNet net, PetscScalar **param, PetscInt *n)
{
  PetscFunctionBeginUser;
  PetscCheck(net->setup, net->comm, PETSC_ERR_ORDER, "call TnNetSetUp() first");
  *param = net->param;
  if (n) *n = net->npar;
  PetscFunctionReturn(PETSC_SUCCESS);
}
