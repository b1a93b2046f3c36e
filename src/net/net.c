/* TnNet: life cycle and accessors. */
#include "netimpl.h"

PetscErrorCode TnNetCreate(MPI_Comm comm, TnNet *net)
{
  TnNet t;
  PetscFunctionBeginUser;
  PetscCall(PetscNew(&t));
  t->comm   = comm;
  t->n      = 32;
  t->k      = 8;
  t->radius = 1.0;
  t->rewire = 0.1;
  t->scale  = 1.0;
  t->gamma0 = 1.0;
  t->bias   = 0.1;
  t->self   = PETSC_TRUE;
  t->seed   = 1;
  PetscCall(PetscStrncpy(t->type, TNNET_LATTICE2D, sizeof(t->type)));
  PetscCall(PetscStrncpy(t->parttype, "ptscotch", sizeof(t->parttype)));
  *net = t;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetUse(TnNet net, PetscInt delta)
{
  PetscFunctionBeginUser;
  net->users += delta;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetReset(TnNet net)
{
  PetscFunctionBeginUser;
  PetscCheck(net->users == 0, net->comm, PETSC_ERR_ORDER, "the network is in use by a dynamics object (TnDyn): destroy it, or change the net before TnDynSetUp()");
  PetscCall(MatDestroy(&net->W));
  PetscCall(MatDestroy(&net->S));
  PetscCall(VecDestroy(&net->b));
  PetscCall(VecDestroy(&net->gamma));
  PetscCall(VecDestroy(&net->wdiag));
  PetscCall(TnNetFreeStorage(net));
  PetscCall(TnNetNaturalMapFree(net));
  PetscCall(PetscFree(net->natural));
  net->setup = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetDestroy(TnNet *net)
{
  PetscFunctionBeginUser;
  if (!*net) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnNetReset(*net));
  PetscCall(MatDestroy(&(*net)->Wuser));
  PetscCall(VecDestroy(&(*net)->buser));
  PetscCall(VecDestroy(&(*net)->guser));
  PetscCall(PetscFree(*net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

#define TN_NET_SETTER(Name, field, T)           \
  PetscErrorCode TnNetSet##Name(TnNet net, T v) \
  {                                             \
    PetscFunctionBeginUser;                     \
    net->field = v;                             \
    PetscCall(TnNetReset(net));                 \
    PetscFunctionReturn(PETSC_SUCCESS);         \
  }
TN_NET_SETTER(Size, n, PetscInt)
TN_NET_SETTER(Degree, k, PetscInt)
TN_NET_SETTER(Radius, radius, PetscReal)
TN_NET_SETTER(Rewire, rewire, PetscReal)
TN_NET_SETTER(Reciprocity, recip, PetscReal)
TN_NET_SETTER(SelfLoops, self, PetscBool)
TN_NET_SETTER(WeightScale, scale, PetscReal)
TN_NET_SETTER(Leak, gamma0, PetscReal)
TN_NET_SETTER(BiasScale, bias, PetscReal)
TN_NET_SETTER(Seed, seed, PetscInt)

PetscErrorCode TnNetSetType(TnNet net, const char type[])
{
  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(net->type, type, sizeof(net->type)));
  PetscCall(TnNetReset(net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetSetPartitioner(TnNet net, const char type[])
{
  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(net->parttype, type, sizeof(net->parttype)));
  PetscCall(TnNetReset(net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetSetPartitionFile(TnNet net, const char path[])
{
  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(net->partfile, path ? path : "", sizeof(net->partfile)));
  PetscCall(TnNetReset(net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetGetPartitioner(TnNet net, const char **type, const char **file)
{
  PetscFunctionBeginUser;
  if (type) *type = net->parttype;
  if (file) *file = net->partfile;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetSetParameters(TnNet net, Mat W, Vec b, Vec gamma)
{
  PetscFunctionBeginUser;
  PetscCall(PetscObjectReference((PetscObject)W));
  if (b) PetscCall(PetscObjectReference((PetscObject)b));
  if (gamma) PetscCall(PetscObjectReference((PetscObject)gamma));
  PetscCall(MatDestroy(&net->Wuser));
  PetscCall(VecDestroy(&net->buser));
  PetscCall(VecDestroy(&net->guser));
  net->Wuser = W;
  net->buser = b;
  net->guser = gamma;
  PetscCall(PetscStrncpy(net->type, TNNET_FILE, sizeof(net->type)));
  PetscCall(TnNetReset(net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetGetMat(TnNet net, Mat *W)
{
  PetscFunctionBeginUser;
  PetscCheck(net->setup, net->comm, PETSC_ERR_ORDER, "call TnNetSetUp() first");
  *W = net->W;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetGetVecs(TnNet net, Vec *b, Vec *gamma, Vec *wdiag)
{
  PetscFunctionBeginUser;
  PetscCheck(net->setup, net->comm, PETSC_ERR_ORDER, "call TnNetSetUp() first");
  if (b) *b = net->b;
  if (gamma) *gamma = net->gamma;
  if (wdiag) *wdiag = net->wdiag;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetGetSizes(TnNet net, PetscInt *N, PetscInt64 *nnz)
{
  PetscFunctionBeginUser;
  PetscCheck(net->setup, net->comm, PETSC_ERR_ORDER, "call TnNetSetUp() first");
  if (N) *N = net->N;
  if (nnz) *nnz = net->nnz;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetGetNatural(TnNet net, const PetscInt **natural)
{
  PetscFunctionBeginUser;
  PetscCheck(net->setup, net->comm, PETSC_ERR_ORDER, "call TnNetSetUp() first");
  *natural = net->natural;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetGetPartitionInfo(TnNet net, TnPartitionInfo *info)
{
  PetscFunctionBeginUser;
  PetscCheck(net->setup, net->comm, PETSC_ERR_ORDER, "call TnNetSetUp() first");
  *info = net->pinfo;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetGetComm(TnNet net, MPI_Comm *comm)
{
  PetscFunctionBeginUser;
  *comm = net->comm;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetGetType(TnNet net, const char **type)
{
  PetscFunctionBeginUser;
  *type = net->type;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetGetRequestedSize(TnNet net, PetscInt *N)
{
  PetscBool lat, file;
  PetscFunctionBeginUser;
  PetscCall(PetscStrcmp(net->type, TNNET_LATTICE2D, &lat));
  PetscCall(PetscStrcmp(net->type, TNNET_FILE, &file));
  *N = file ? -1 : lat ? net->n * net->n
                       : net->n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* S = W + W^T: its structure is the pattern P + P^T (users skip the
   diagonal; values are not used). */
PetscErrorCode TnNetGetSymmetricPattern(TnNet net, Mat *S)
{
  PetscFunctionBeginUser;
  PetscCheck(net->setup, net->comm, PETSC_ERR_ORDER, "call TnNetSetUp() first");
  if (!net->S) {
    Mat Wt;
    PetscCall(MatTranspose(net->W, MAT_INITIAL_MATRIX, &Wt));
    PetscCall(MatDuplicate(net->W, MAT_COPY_VALUES, &net->S));
    PetscCall(MatAXPY(net->S, 1.0, Wt, DIFFERENT_NONZERO_PATTERN));
    PetscCall(MatDestroy(&Wt));
  }
  *S = net->S;
  PetscFunctionReturn(PETSC_SUCCESS);
}
