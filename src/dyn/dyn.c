/* TnDyn: life cycle, options and accessors. */
#include "dynimpl.h"

const char *const TnSchemeTypes[] = {"sync", "colored", "TnScheme", "TN_SCHEME_", NULL};
const char *const TnFormTypes[]   = {"rate", "current", "TnForm", "TN_FORM_", NULL};
const char *const TnActTypes[]    = {"tanh", "linear", "TnAct", "TN_ACT_", NULL};

PetscErrorCode TnDynCreate(TnNet net, TnDyn *dyn)
{
  TnDyn d;
  PetscFunctionBeginUser;
  PetscCall(PetscNew(&d));
  d->net = net;
  PetscCall(TnNetGetComm(net, &d->comm));
  d->scheme  = TN_SCHEME_SYNC;
  d->form    = TN_FORM_RATE;
  d->act     = TN_ACT_TANH;
  d->h       = 0.1;
  d->K       = 10;
  d->B       = 16;
  d->ldt     = TN_LOGDET_DIAG;
  d->base    = TN_BASE_NORMAL;
  d->colseed = 12345;
  *dyn       = d;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode TnDynReset(TnDyn dyn)
{
  PetscBool done;
  PetscInt  n;
  PetscFunctionBeginUser;
  if (!dyn->setup) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnNetUse(dyn->net, -1));
  PetscCall(MatRestoreRowIJ(dyn->Ad, 0, PETSC_FALSE, PETSC_FALSE, &n, &dyn->d.ia, &dyn->d.ja, &done));
  PetscCall(MatRestoreRowIJ(dyn->Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &dyn->o.ia, &dyn->o.ja, &done));
  PetscCall(MatSeqAIJRestoreArrayRead(dyn->Ad, &dyn->d.va));
  PetscCall(MatSeqAIJRestoreArrayRead(dyn->Ao, &dyn->o.va));
  {
    Vec b, gamma, wdiag;
    PetscCall(TnNetGetVecs(dyn->net, &b, &gamma, &wdiag));
    PetscCall(VecRestoreArrayRead(b, &dyn->bias));
    PetscCall(VecRestoreArrayRead(gamma, &dyn->gamma));
    PetscCall(VecRestoreArrayRead(wdiag, &dyn->wdiag));
  }
  PetscCall(PetscFree(dyn->offrows));
  PetscCall(PetscFree(dyn->pbuf));
  PetscCall(PetscFree(dyn->S));
  if (dyn->colors) PetscCall(PetscFree4(dyn->colors, dyn->cptr, dyn->crows, dyn->cnint));
  PetscCall(VecScatterDestroy(&dyn->halo));
  PetscCall(VecScatterDestroy(&dyn->nat2part));
  PetscCall(VecDestroy(&dyn->P));
  PetscCall(VecDestroy(&dyn->G));
  PetscCall(VecDestroy(&dyn->xnat));
  PetscCall(VecDestroy(&dyn->nodeloss));
  PetscCall(TnLogDetDestroy(&dyn->exact));
  PetscCall(MatDestroy(&dyn->J));
  dyn->setup = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynDestroy(TnDyn *dyn)
{
  PetscFunctionBeginUser;
  if (!*dyn) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnDynReset(*dyn));
  PetscCall(PetscFree(*dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

#define TN_DYN_SETTER(Name, field, T)           \
  PetscErrorCode TnDynSet##Name(TnDyn dyn, T v) \
  {                                             \
    PetscFunctionBeginUser;                     \
    PetscCall(TnDynReset(dyn));                 \
    dyn->field = v;                             \
    PetscFunctionReturn(PETSC_SUCCESS);         \
  }
TN_DYN_SETTER(Scheme, scheme, TnScheme)
TN_DYN_SETTER(Form, form, TnForm)
TN_DYN_SETTER(Activation, act, TnAct)
TN_DYN_SETTER(StepSize, h, PetscReal)
TN_DYN_SETTER(Steps, K, PetscInt)
TN_DYN_SETTER(BatchSize, B, PetscInt)
TN_DYN_SETTER(LogDetType, ldt, TnLogDetType)
TN_DYN_SETTER(Base, base, TnBase)
TN_DYN_SETTER(NodeLoss, nodeloss_on, PetscBool)
TN_DYN_SETTER(ColoringSeed, colseed, PetscInt)

PetscErrorCode TnDynSetColoringFile(TnDyn dyn, const char in[], const char out[])
{
  PetscFunctionBeginUser;
  PetscCall(TnDynReset(dyn));
  PetscCall(PetscStrncpy(dyn->colin, in ? in : "", sizeof(dyn->colin)));
  PetscCall(PetscStrncpy(dyn->colout, out ? out : "", sizeof(dyn->colout)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynSetFromOptions(TnDyn dyn)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynReset(dyn));
  PetscOptionsBegin(dyn->comm, "dyn_", "Dynamics (MODEL.md section 2)", "TnDyn");
  {
    PetscInt v = (PetscInt)dyn->scheme;
    PetscCall(TnOptionsChoice("-scheme", "Update scheme", "TnDynSetScheme", TnSchemeTypes, 2, &v, NULL));
    dyn->scheme = (TnScheme)v;
  }
  {
    PetscInt v = (PetscInt)dyn->form;
    PetscCall(TnOptionsChoice("-form", "Vector field: rate -gamma a + W phi(a) + b, current -gamma a + phi(W a + b)", "TnDynSetForm", TnFormTypes, 2, &v, NULL));
    dyn->form = (TnForm)v;
  }
  {
    PetscInt v = (PetscInt)dyn->act;
    PetscCall(TnOptionsChoice("-act", "Activation phi", "TnDynSetActivation", TnActTypes, 2, &v, NULL));
    dyn->act = (TnAct)v;
  }
  PetscCall(PetscOptionsReal("-h", "Step size h", "TnDynSetStepSize", dyn->h, &dyn->h, NULL));
  PetscCall(PetscOptionsInt("-steps", "Number of steps K (T = K h)", "TnDynSetSteps", dyn->K, &dyn->K, NULL));
  PetscCall(PetscOptionsInt("-batch", "Samples evolved together, B (one matrix pass serves all B)", "TnDynSetBatchSize", dyn->B, &dyn->B, NULL));
  PetscCall(PetscOptionsBool("-nodeloss", "Accumulate per-node loss totals", "TnDynSetNodeLoss", dyn->nodeloss_on, &dyn->nodeloss_on, NULL));
  PetscCall(PetscOptionsString("-coloring_file", "Read the colouring (one colour per node, natural order)", "TnDynSetColoringFile", dyn->colin, dyn->colin, sizeof(dyn->colin), NULL));
  PetscCall(PetscOptionsString("-coloring_out", "Write the colouring used to this file", "TnDynSetColoringFile", dyn->colout, dyn->colout, sizeof(dyn->colout), NULL));
  PetscCall(PetscOptionsInt("-coloring_seed", "Seed of the colouring's node priorities", "TnDynSetColoringSeed", dyn->colseed, &dyn->colseed, NULL));
  PetscOptionsEnd();
  PetscOptionsBegin(dyn->comm, "logdet_", "Log-determinant of a step (MODEL.md section 3)", "TnDyn");
  {
    PetscInt v = (PetscInt)dyn->ldt;
    PetscCall(TnOptionsChoice("-type", "Method: diag sum log|1 + h A_ii|, trace h sum A_ii, dense (ScaLAPACK LU), sparse (MUMPS LU), slq (stochastic estimate)", "TnDynSetLogDetType", TnLogDetTypes, TN_LOGDET_NTYPES, &v, NULL));
    dyn->ldt = (TnLogDetType)v;
  }
  PetscOptionsEnd();
  PetscOptionsBegin(dyn->comm, "base_", "Base density at time T (MODEL.md section 3)", "TnDyn");
  {
    PetscInt v = (PetscInt)dyn->base;
    PetscCall(TnOptionsChoice("-type", "Base density", "TnDynSetBase", TnBaseTypes, 2, &v, NULL));
    dyn->base = (TnBase)v;
  }
  PetscOptionsEnd();
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynGetNodeLoss(TnDyn dyn, Vec *nodeloss)
{
  PetscFunctionBeginUser;
  PetscCheck(dyn->nodeloss, dyn->comm, PETSC_ERR_ORDER, "per-node totals are off: TnDynSetNodeLoss(dyn, PETSC_TRUE) or -dyn_nodeloss before SetUp");
  *nodeloss = dyn->nodeloss;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynGetNumColors(TnDyn dyn, PetscInt *ncolors)
{
  PetscFunctionBeginUser;
  *ncolors = dyn->scheme == TN_SCHEME_COLORED ? dyn->ncolors : 1;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynGetColors(TnDyn dyn, const PetscInt **colors)
{
  PetscFunctionBeginUser;
  PetscCheck(dyn->colors, dyn->comm, PETSC_ERR_ORDER, "no colouring: the scheme is not colored or SetUp was not called");
  *colors = dyn->colors;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynGetLoss(TnDyn dyn, TnLogDetType *ldt, TnBase *base)
{
  PetscFunctionBeginUser;
  if (ldt) *ldt = dyn->ldt;
  if (base) *base = dyn->base;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynGetParams(TnDyn dyn, TnScheme *scheme, TnForm *form, TnAct *act, PetscReal *h, PetscInt *K, PetscInt *B)
{
  PetscFunctionBeginUser;
  if (scheme) *scheme = dyn->scheme;
  if (form) *form = dyn->form;
  if (act) *act = dyn->act;
  if (h) *h = dyn->h;
  if (K) *K = dyn->K;
  if (B) *B = dyn->B;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynGetColoringSeed(TnDyn dyn, PetscInt *seed)
{
  PetscFunctionBeginUser;
  *seed = dyn->colseed;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynGetInvertibility(TnDyn dyn, PetscReal *value, const char **what)
{
  PetscFunctionBeginUser;
  PetscCheck(dyn->setup, dyn->comm, PETSC_ERR_ORDER, "call TnDynSetUp() first");
  if (value) *value = dyn->invert_value;
  if (what) *what = dyn->invert_what;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynView(TnDyn dyn, PetscViewer viewer)
{
  PetscFunctionBeginUser;
  PetscCall(PetscViewerASCIIPrintf(viewer, "dynamics: %s scheme, %s form, %s, h = %g, K = %" PetscInt_FMT " (T = %g), batch B = %" PetscInt_FMT, TnSchemeTypes[dyn->scheme], TnFormTypes[dyn->form], TnActTypes[dyn->act], (double)dyn->h, dyn->K, (double)(dyn->h * dyn->K), dyn->B));
  if (dyn->scheme == TN_SCHEME_COLORED) PetscCall(PetscViewerASCIIPrintf(viewer, ", %" PetscInt_FMT " colours", dyn->ncolors));
  PetscCall(PetscViewerASCIIPrintf(viewer, "\nlog-det: %s; base: %s; invertibility: %s\n", TnLogDetTypes[dyn->ldt], TnBaseTypes[dyn->base], dyn->invert_what));
  PetscFunctionReturn(PETSC_SUCCESS);
}
