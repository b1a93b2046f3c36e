/* The network's parameters in one array, so that a training run holds them
   once: after SetUp,
     net->param = [W's on-process block values (nd) | off-process block values (no) | b (m) | u (m)]
   W is an MPIAIJ matrix built on the first two parts without a copy
   (MatCreateMPIAIJWithSplitArrays), b is a Vec view of the third, and the
   fourth holds u = log gamma, the leak in the parameterisation training uses
   (gamma = e^u stays in its own Vec, which the dynamics reads). This is the
   layout of the gradient's parameter vector theta (TnGradGetParamVec). */
#include "netimpl.h"

PetscErrorCode TnNetAllocStorage(TnNet net, PetscInt m, PetscInt nd, PetscInt no)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1((size_t)nd + no + 2 * m + 1, &net->param));
  PetscCall(PetscMalloc4(m + 1, &net->pia, nd + 1, &net->pja, m + 1, &net->poia, no + 1, &net->poja));
  TnMemoryAdviseHuge(net->param, sizeof(PetscScalar) * ((size_t)nd + no + 2 * m + 1));
  TnMemoryAdviseHuge(net->pja, sizeof(PetscInt) * ((size_t)nd + 1));
  TnMemoryAdviseHuge(net->poja, sizeof(PetscInt) * ((size_t)no + 1));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* W's two blocks copied onto freshly allocated storage, W rebuilt on it. */
static PetscErrorCode CopyToStorage(TnNet net)
{
  Mat                Ad, Ao, Wnew;
  const PetscInt    *garray, *ia, *ja, *oia, *oja;
  const PetscScalar *va, *vo;
  PetscInt           m, nd, no, n, N;
  PetscBool          done;
  PetscFunctionBeginUser;
  PetscCall(MatGetLocalSize(net->W, &m, NULL));
  PetscCall(MatMPIAIJGetSeqAIJ(net->W, &Ad, &Ao, &garray));
  PetscCall(MatGetSize(net->W, &N, NULL));
  PetscCall(MatGetRowIJ(Ad, 0, PETSC_FALSE, PETSC_FALSE, &n, &ia, &ja, &done));
  PetscCheck(done, PETSC_COMM_SELF, PETSC_ERR_SUP, "cannot access W's CSR arrays");
  PetscCall(MatGetRowIJ(Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &oia, &oja, &done));
  PetscCheck(done, PETSC_COMM_SELF, PETSC_ERR_SUP, "cannot access W's CSR arrays");
  nd = ia[m];
  no = oia[m];
  PetscCall(TnNetAllocStorage(net, m, nd, no));
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
  PetscCall(MatCreateMPIAIJWithSplitArrays(net->comm, m, m, N, N, net->pia, net->pja, net->param, net->poia, net->poja, net->param + nd, &Wnew));
  PetscCall(MatDestroy(&net->W));
  net->W = Wnew;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* W (assembled MPIAIJ) and b -> the same values on net->param. W is copied
   there unless it is already built on it (the renumbering builds it so,
   src/partition/partition.c, without a second copy of the synapses); b
   and u = log gamma are written after W's values. */
PetscErrorCode TnNetAdoptStorage(TnNet net)
{
  const PetscScalar *pb, *pg;
  PetscInt           m, nd, no, N;
  Vec                b;
  PetscFunctionBeginUser;
  if (!net->param) PetscCall(CopyToStorage(net));
  PetscCall(MatGetLocalSize(net->W, &m, NULL));
  PetscCall(MatGetSize(net->W, &N, NULL));
  nd = net->pia[m];
  no = net->poia[m];
  PetscCall(VecGetArrayRead(net->b, &pb));
  PetscCall(VecGetArrayRead(net->gamma, &pg));
  PetscCall(PetscArraycpy(net->param + nd + no, pb, m));
  for (PetscInt i = 0; i < m; i++) net->param[nd + no + m + i] = PetscLogReal(pg[i]);
  PetscCall(VecRestoreArrayRead(net->gamma, &pg));
  PetscCall(VecRestoreArrayRead(net->b, &pb));
  PetscCall(VecCreateMPIWithArray(net->comm, 1, m, N, net->param + nd + no, &b));
  PetscCall(VecDestroy(&net->b));
  net->b    = b;
  net->npar = nd + no + 2 * m;
  PetscCall(PetscMalloc1(m + 1, &net->diagpos));
  for (PetscInt i = 0; i < m; i++) {
    net->diagpos[i] = -1;
    for (PetscInt t = net->pia[i]; t < net->pia[i + 1]; t++)
      if (net->pja[t] == i) net->diagpos[i] = t;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Frees the storage after W and b (which view it) are destroyed. */
PetscErrorCode TnNetFreeStorage(TnNet net)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(net->param));
  PetscCall(PetscFree4(net->pia, net->pja, net->poia, net->poja));
  PetscCall(PetscFree(net->diagpos));
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

PetscErrorCode TnNetGetParamLayout(TnNet net, TnParamLayout *L)
{
  PetscInt m;
  PetscFunctionBeginUser;
  PetscCheck(net->setup, net->comm, PETSC_ERR_ORDER, "call TnNetSetUp() first");
  PetscCall(MatGetLocalSize(net->W, &m, NULL));
  L->m  = m;
  L->nd = net->pia[m];
  L->no = net->poia[m];
  L->n  = net->npar;
  L->b  = L->nd + L->no;
  L->u  = L->b + m;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetGetParamVersion(TnNet net, PetscInt64 *version)
{
  PetscFunctionBeginUser;
  PetscCheck(net->setup, net->comm, PETSC_ERR_ORDER, "call TnNetSetUp() first");
  *version = net->pversion;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetGetDiagPositions(TnNet net, const PetscInt **diagpos)
{
  PetscFunctionBeginUser;
  PetscCheck(net->setup, net->comm, PETSC_ERR_ORDER, "call TnNetSetUp() first");
  *diagpos = net->diagpos;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetParamsUpdated(TnNet net)
{
  TnParamLayout L;
  PetscScalar  *pg, *pw;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetParamLayout(net, &L));
  net->pversion++; /* what was computed from the values (TnNetGetParamVersion) is stale */
  PetscCall(VecGetArray(net->gamma, &pg));
  PetscCall(VecGetArray(net->wdiag, &pw));
  for (PetscInt i = 0; i < L.m; i++) {
    pg[i] = PetscExpReal(net->param[L.u + i]); /* gamma = e^u */
    TnNetDiagOfRow(net->diagpos, net->param, pw, i);
  }
  PetscCall(VecRestoreArray(net->wdiag, &pw));
  PetscCall(VecRestoreArray(net->gamma, &pg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetWeightsUpdated(TnNet net)
{
  TnParamLayout L;
  PetscScalar  *pw;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetParamLayout(net, &L));
  net->pversion++;
  PetscCall(VecGetArray(net->wdiag, &pw));
  for (PetscInt i = 0; i < L.m; i++) TnNetDiagOfRow(net->diagpos, net->param, pw, i);
  PetscCall(VecRestoreArray(net->wdiag, &pw));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetWeightsUpdatedDiag(TnNet net)
{
  PetscFunctionBeginUser;
  net->pversion++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* v[0..n) <- th (add false; nothing to do when th is v) or v + alpha th. */
static void Put(PetscScalar *v, const PetscScalar *th, PetscInt n, PetscReal alpha, PetscBool add)
{
  if (!add && v == th) return;
  for (PetscInt q = 0; q < n; q++) v[q] = add ? v[q] + alpha * th[q] : th[q];
}

PetscErrorCode TnNetSetParams(TnNet net, const PetscScalar *th, PetscReal alpha, PetscBool add)
{
  TnParamLayout L;
  Mat           Ad, Ao;
  PetscScalar  *va, *vo, *pb;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetParamLayout(net, &L));
  PetscCall(MatMPIAIJGetSeqAIJ(net->W, &Ad, &Ao, NULL));
  PetscCall(MatSeqAIJGetArray(Ad, &va));
  PetscCall(MatSeqAIJGetArray(Ao, &vo));
  PetscCheck(va == net->param && (L.no == 0 || vo == net->param + L.nd), PETSC_COMM_SELF, PETSC_ERR_PLIB, "W's value arrays are not the network's parameter storage");
  Put(va, th, L.nd, alpha, add);
  Put(vo, th + L.nd, L.no, alpha, add);
  PetscCall(MatSeqAIJRestoreArray(Ao, &vo));
  PetscCall(MatSeqAIJRestoreArray(Ad, &va));
  PetscCall(VecGetArray(net->b, &pb));
  Put(pb, th + L.b, L.m, alpha, add);
  PetscCall(VecRestoreArray(net->b, &pb));
  Put(net->param + L.u, th + L.u, L.m, alpha, add);
  PetscCall(TnNetParamsUpdated(net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The natural numbers of the off-process columns come from their owners
   through a scatter over W's ghost columns. */
PetscErrorCode TnNetGetParamMap(TnNet net, PetscInt **row, PetscInt **col)
{
  TnParamLayout      L;
  Mat                Ao;
  const PetscInt    *garray, *oia, *oja;
  PetscInt           ng, n;
  PetscBool          done;
  Vec                nv, gv;
  IS                 is;
  VecScatter         sct;
  PetscScalar       *pn;
  const PetscScalar *gn;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetParamLayout(net, &L));
  PetscCall(MatMPIAIJGetSeqAIJ(net->W, NULL, &Ao, &garray));
  PetscCall(MatGetSize(Ao, NULL, &ng));
  PetscCall(MatCreateVecs(net->W, &nv, NULL));
  PetscCall(VecGetArrayWrite(nv, &pn));
  for (PetscInt i = 0; i < L.m; i++) pn[i] = (PetscScalar)net->natural[i];
  PetscCall(VecRestoreArrayWrite(nv, &pn));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, ng, &gv));
  PetscCall(ISCreateGeneral(PETSC_COMM_SELF, ng, garray, PETSC_USE_POINTER, &is));
  PetscCall(VecScatterCreate(nv, is, gv, NULL, &sct));
  PetscCall(VecScatterBegin(sct, nv, gv, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(sct, nv, gv, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(MatGetRowIJ(Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &oia, &oja, &done));
  PetscCheck(done, PETSC_COMM_SELF, PETSC_ERR_SUP, "cannot access W's CSR arrays");
  PetscCall(PetscMalloc2(L.n + 1, row, L.n + 1, col));
  PetscCall(VecGetArrayRead(gv, &gn));
  for (PetscInt i = 0; i < L.m; i++) {
    const PetscInt ni = net->natural[i];
    for (PetscInt t = net->pia[i]; t < net->pia[i + 1]; t++) (*row)[t] = ni, (*col)[t] = net->natural[net->pja[t]];
    for (PetscInt t = oia[i]; t < oia[i + 1]; t++) (*row)[L.nd + t] = ni, (*col)[L.nd + t] = (PetscInt)gn[oja[t]];
    (*row)[L.b + i] = (*row)[L.u + i] = ni;
    (*col)[L.b + i]                   = -1;
    (*col)[L.u + i]                   = -2;
  }
  PetscCall(VecRestoreArrayRead(gv, &gn));
  PetscCall(MatRestoreRowIJ(Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &oia, &oja, &done));
  PetscCall(VecScatterDestroy(&sct));
  PetscCall(ISDestroy(&is));
  PetscCall(VecDestroy(&gv));
  PetscCall(VecDestroy(&nv));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetCreateHalo(TnNet net, Vec x, PetscInt B, PetscScalar *array, Vec *G, VecScatter *halo)
{
  Mat             W, Ao;
  const PetscInt *garray;
  PetscInt        nghost;
  IS              is;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetMat(net, &W));
  PetscCall(MatMPIAIJGetSeqAIJ(W, NULL, &Ao, &garray));
  PetscCall(MatGetSize(Ao, NULL, &nghost));
  if (array)
    PetscCall(VecCreateSeqWithArray(PETSC_COMM_SELF, 1, nghost * B, array, G));
  else
    PetscCall(VecCreateSeq(PETSC_COMM_SELF, nghost * B, G));
  PetscCall(ISCreateBlock(PETSC_COMM_SELF, B, nghost, garray, PETSC_COPY_VALUES, &is));
  PetscCall(VecScatterCreate(x, is, *G, NULL, halo));
  PetscCall(ISDestroy(&is));
  PetscFunctionReturn(PETSC_SUCCESS);
}
