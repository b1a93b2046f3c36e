/* TnDyn: life cycle, options and accessors. The scheme is an implementation
   chosen by name (dynregis.c); everything here is common to all schemes. */
#include "dynimpl.h"

const char *const TnFormTypes[]         = {"rate", "current", "TnForm", "TN_FORM_", NULL};
const char *const TnActTypes[]          = {"tanh", "linear", "TnAct", "TN_ACT_", NULL};
const char *const TnColoringOrders[]    = {"natural", "random", "TnColoringOrder", "TN_COLORING_", NULL};
const char *const TnAdjointTransposes[] = {"auto", "columns", "rows", "TnAdjointTranspose", "TN_ADJOINT_TRANSPOSE_", NULL};
const char *const TnLocalStores[]       = {"auto", "traces", "states", "TnLocalStore", "TN_LOCAL_STORE_", NULL};

PetscErrorCode TnDynCreate(TnNet net, TnDyn *dyn)
{
  TnDyn d;
  PetscFunctionBeginUser;
  if (!TN_Adjoint) {
    PetscCall(PetscLogEventRegister("DynAdjointStep", TN_CLASSID, &TN_Adjoint));
    PetscCall(PetscLogEventRegister("DynInverseStep", TN_CLASSID, &TN_Inverse));
    PetscCall(PetscLogEventRegister("DynLocalReplay", TN_CLASSID, &TN_LocalReplay));
  }
  PetscCall(PetscNew(&d));
  d->net = net;
  PetscCall(TnNetGetComm(net, &d->comm));
  d->form     = TN_FORM_RATE;
  d->act      = TN_ACT_TANH;
  d->h        = 0.1;
  d->K        = 10;
  d->B        = 16;
  d->ldt      = TN_LOGDET_DIAG;
  d->base     = TN_BASE_NORMAL;
  d->colseed  = 12345;
  d->colorder = TN_COLORING_NATURAL;
  d->adjtr    = TN_ADJOINT_TRANSPOSE_AUTO;
  d->rtol     = 1e-8;
  d->atol     = 1e-10;
  d->adapt    = PETSC_TRUE;
  d->bnorm    = TN_BOUND_NORM_AUTO;
  d->bsteps   = 64;
  d->slices   = PETSC_TRUE;
  d->bdelta   = 1e-12;
  *dyn        = d;
  PetscCall(TnDynSetScheme(d, TN_SCHEME_SYNC));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Drops everything SetUp built (a setter changed the configuration). */
PetscErrorCode TnDynReset(TnDyn dyn)
{
  PetscBool done;
  PetscInt  n;
  PetscFunctionBeginUser;
  if (!dyn->setup) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnDynAdjointReset(dyn));
  PetscCall(TnDynLocalReset(dyn));
  if (dyn->ops.reset) PetscCall(dyn->ops.reset(dyn));
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
  PetscCall(TnMemoryFreeAligned(&dyn->pbuf));
  PetscCall(VecScatterDestroy(&dyn->halo));
  PetscCall(VecDestroy(&dyn->P));
  PetscCall(VecDestroy(&dyn->G));
  PetscCall(TnMemoryFreeAligned(&dyn->gbuf));
  PetscCall(VecDestroy(&dyn->xnat));
  PetscCall(VecDestroy(&dyn->nodeloss));
  PetscCall(TnLogDetDestroy(&dyn->exact));
  PetscCall(MatDestroy(&dyn->J));
  PetscCall(VecDestroy(&dyn->bcs));
  PetscCall(VecDestroy(&dyn->bgs));
  PetscCall(VecScatterDestroy(&dyn->bsct));
  PetscCall(PetscFree(dyn->wc));
  PetscCall(TnDynResetClamp(dyn));
  dyn->ncert = 0;
  dyn->setup = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynDestroy(TnDyn *dyn)
{
  PetscFunctionBeginUser;
  if (!*dyn) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnDynReset(*dyn));
  PetscCall(ISDestroy(&(*dyn)->clampis));
  if ((*dyn)->ops.destroy) PetscCall((*dyn)->ops.destroy(*dyn));
  PetscCall(PetscFree((*dyn)->data));
  PetscCall(PetscFree(*dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynSetScheme(TnDyn dyn, TnScheme scheme)
{
  TnSchemeCreateFn create;
  PetscFunctionBeginUser;
  PetscCall(TnDynFindScheme(scheme, &create));
  if (!create) {
    const char *const *names;
    PetscInt           n;
    char               list[256] = "";
    PetscCall(TnDynSchemeNames(&names, &n));
    for (PetscInt q = 0; q < n; q++) {
      PetscCall(PetscStrlcat(list, q ? ", " : "", sizeof(list)));
      PetscCall(PetscStrlcat(list, names[q], sizeof(list)));
    }
    SETERRQ(dyn->comm, PETSC_ERR_USER, "unknown scheme '%s': the schemes are %s", scheme, list);
  }
  if (!strcmp(dyn->type, scheme)) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnDynReset(dyn));
  if (dyn->ops.destroy) PetscCall(dyn->ops.destroy(dyn));
  PetscCall(PetscFree(dyn->data));
  PetscCall(PetscMemzero(&dyn->ops, sizeof(dyn->ops)));
  dyn->data    = NULL;
  dyn->ldtdesc = NULL;
  PetscCall(PetscStrncpy(dyn->type, scheme, sizeof(dyn->type)));
  PetscCall(create(dyn));
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
TN_DYN_SETTER(Form, form, TnForm)
TN_DYN_SETTER(Activation, act, TnAct)
TN_DYN_SETTER(Steps, K, PetscInt)
TN_DYN_SETTER(BatchSize, B, PetscInt)
TN_DYN_SETTER(LogDetType, ldt, TnLogDetType)
TN_DYN_SETTER(Base, base, TnBase)
TN_DYN_SETTER(NodeLoss, nodeloss_on, PetscBool)
TN_DYN_SETTER(Slices, slices, PetscBool)
TN_DYN_SETTER(ColoringSeed, colseed, PetscInt)
TN_DYN_SETTER(ColoringOrder, colorder, TnColoringOrder)
TN_DYN_SETTER(AdjointTranspose, adjtr, TnAdjointTranspose)
TN_DYN_SETTER(LocalStore, locstore, TnLocalStore)
TN_DYN_SETTER(Adaptive, adapt, PetscBool)

PetscErrorCode TnDynSetStepSize(TnDyn dyn, PetscReal h)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynReset(dyn));
  dyn->h = h;
  dyn->T = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynSetFinalTime(TnDyn dyn, PetscReal T)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynReset(dyn));
  PetscCheck(T > 0 && !PetscIsInfOrNanReal(T), dyn->comm, PETSC_ERR_USER, "-dyn_T must be > 0 (got %g)", (double)T);
  dyn->T = T;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynSetTolerances(TnDyn dyn, PetscReal rtol, PetscReal atol)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynReset(dyn));
  dyn->rtol = rtol;
  dyn->atol = atol;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynGetColoringSeed(TnDyn dyn, PetscInt *seed)
{
  PetscFunctionBeginUser;
  *seed = dyn->colseed;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynGetColoringOrder(TnDyn dyn, TnColoringOrder *order)
{
  PetscFunctionBeginUser;
  *order = dyn->colorder;
  PetscFunctionReturn(PETSC_SUCCESS);
}

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
  const char *const *names;
  PetscInt           nnames, v;
  PetscReal          T = dyn->T;
  PetscBool          hset, Tset;
  PetscFunctionBeginUser;
  PetscCall(TnDynReset(dyn));
  PetscCall(TnDynSchemeNames(&names, &nnames));
  PetscOptionsBegin(dyn->comm, "dyn_", "Dynamics (docs/model.md section 2)", "TnDyn");
  for (v = 0; v < nnames && strcmp(names[v], dyn->type); v++) {
  }
  PetscCall(TnOptionsChoice("-scheme", "Update scheme", "TnDynSetScheme", names, nnames, &v, NULL));
  PetscCall(TnDynSetScheme(dyn, names[v]));
  v = (PetscInt)dyn->form;
  PetscCall(TnOptionsChoice("-form", "Vector field: rate -gamma a + W phi(a) + b, current -gamma a + phi(W a + b)", "TnDynSetForm", TnFormTypes, 2, &v, NULL));
  dyn->form = (TnForm)v;
  v         = (PetscInt)dyn->act;
  PetscCall(TnOptionsChoice("-act", "Activation phi", "TnDynSetActivation", TnActTypes, 2, &v, NULL));
  dyn->act = (TnAct)v;
  PetscCall(TnOptionsReal("-h", "Step size h", "TnDynSetStepSize", dyn->h, &dyn->h, &hset, 0, PETSC_MAX_REAL));
  PetscCall(TnOptionsReal("-T", "Final time T (then h = T / K)", "TnDynSetFinalTime", T, &T, &Tset, 0, PETSC_MAX_REAL));
  PetscCall(TnOptionsInt("-steps", "Number of steps K (T = K h)", "TnDynSetSteps", dyn->K, &dyn->K, NULL, 0, PETSC_MAX_INT));
  PetscCall(TnOptionsInt("-batch", "Samples evolved together, B (one matrix pass serves all B)", "TnDynSetBatchSize", dyn->B, &dyn->B, NULL, 1, 1024));
  PetscCall(TnOptionsBool("-nodeloss", "Accumulate per-node loss totals", "TnDynSetNodeLoss", dyn->nodeloss_on, &dyn->nodeloss_on, NULL));
  PetscCall(TnOptionsBool("-slices", "Rate form, B = 1 (sync, colored): copy W's on-process block in slices of 8 rows, one row per vector lane (8 bytes per synapse more; 0: row by row)", "TnDynSetSlices", dyn->slices, &dyn->slices, NULL));
  v = (PetscInt)dyn->locstore;
  PetscCall(TnOptionsChoice("-local_store", "The local rule keeps: traces (every synapse's, carried step by step; nnz B values), states (sync: the K steps' records, 2 values per node and 1 per ghost per step and sample, the rule summed after the last step), auto (the faster where it fits: states at B >= 8, and at B >= 2 where they take less memory than the traces)", "TnDynSetLocalStore", TnLocalStores, 3, &v, NULL));
  dyn->locstore = (TnLocalStore)v;
  {
    PetscInt  kb = dyn->panelset ? dyn->panelkb : -1;
    PetscBool set;
    PetscCall(TnOptionsInt("-panel_kb", "Random networks (sync; colored: the rows' sums split by colour): kB of gathered state per column panel of W (0: no panels; -1: half the last-level cache's share of each rank on the node)", "TnDynSetUp", kb, &kb, &set, -1, PETSC_MAX_INT));
    if (set) {
      dyn->panelkb  = kb;
      dyn->panelset = (PetscBool)(kb >= 0);
    }
  }
  v = (PetscInt)dyn->bnorm;
  PetscCall(TnOptionsChoice("-bound_norm", "|W|_2 in the sync invertibility bound: auto (cheap if it certifies, else Lanczos), cheap sqrt(|W|_1 |W|_inf), lanczos (certificate)", "TnDynCheckInvertible", TnBoundNormTypes, 3, &v, NULL));
  dyn->bnorm = (TnBoundNorm)v;
  PetscCall(TnOptionsInt("-bound_lanczos_steps", "Lanczos steps k of the |W|_2 certificate (k + 1 vectors of memory)", "TnDynCheckInvertible", dyn->bsteps, &dyn->bsteps, NULL, 2, 10000));
  PetscCall(TnOptionsReal("-bound_delta", "Failure probability of the |W|_2 certificate", "TnDynCheckInvertible", dyn->bdelta, &dyn->bdelta, NULL, 1e-300, 0.5));
  if (TnOptionsDeclaring()) { /* the options pass: every scheme's keys, then the chosen scheme again */
    char chosen[64];
    PetscCall(PetscStrncpy(chosen, dyn->type, sizeof(chosen)));
    for (PetscInt t = 0; t < nnames; t++) {
      PetscCall(TnDynSetScheme(dyn, names[t]));
      if (dyn->ops.setfromoptions) PetscCall(dyn->ops.setfromoptions(dyn, PetscOptionsObject));
    }
    PetscCall(TnDynSetScheme(dyn, chosen));
  }
  if (dyn->ops.setfromoptions) PetscCall(dyn->ops.setfromoptions(dyn, PetscOptionsObject));
  PetscOptionsEnd();
  PetscCheck(!(hset && Tset), dyn->comm, PETSC_ERR_USER, "give -dyn_h or -dyn_T, not both (T = K h)");
  if (hset) dyn->T = 0;
  if (Tset) PetscCall(TnDynSetFinalTime(dyn, T));
  PetscOptionsBegin(dyn->comm, "logdet_", "Log-determinant of a step (docs/model.md section 3)", "TnDyn");
  v = (PetscInt)dyn->ldt;
  PetscCall(TnOptionsChoice("-type", "Method: diag sum log|1 + h A_ii|, trace h sum A_ii, dense (ScaLAPACK LU), sparse (MUMPS LU), slq (stochastic estimate)", "TnDynSetLogDetType", TnLogDetTypes, TN_LOGDET_NTYPES, &v, NULL));
  dyn->ldt = (TnLogDetType)v;
  PetscOptionsEnd();
  for (PetscInt t = 0; TnOptionsDeclaring() && t < TN_LOGDET_NTYPES; t++) { /* the options pass: every method's keys */
    TnLogDet ld;
    PetscCall(TnLogDetCreate(dyn->comm, (TnLogDetType)t, &ld));
    PetscCall(TnLogDetSetFromOptions(ld));
    PetscCall(TnLogDetDestroy(&ld));
  }
  PetscOptionsBegin(dyn->comm, "base_", "Base density at time T (docs/model.md section 4)", "TnDyn");
  v = (PetscInt)dyn->base;
  PetscCall(TnOptionsChoice("-type", "Base density", "TnDynSetBase", TnBaseTypes, 2, &v, NULL));
  dyn->base = (TnBase)v;
  PetscOptionsEnd();
  PetscOptionsBegin(dyn->comm, "data_", "Clamped nodes: a conditional density (docs/conditional.md)", "TnDyn");
  {
    char      path[PETSC_MAX_PATH_LEN];
    PetscBool set;
    PetscCall(PetscOptionsString("-clamp", "File of the clamped nodes (0-based natural node numbers, one per line): their values are given and held fixed, the density is that of the other nodes", "TnDynSetClampFile", dyn->clampfile, path, sizeof(path), &set));
    if (set) {
      PetscCheck(path[0], dyn->comm, PETSC_ERR_USER, "-data_clamp needs a file name (the clamped nodes, one 0-based node number per line)");
      PetscCall(TnDynSetClampFile(dyn, path));
    }
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
  const PetscInt *colors;
  PetscFunctionBeginUser;
  *ncolors = 1;
  if (dyn->ops.getcolors && dyn->setup) PetscCall(dyn->ops.getcolors(dyn, ncolors, &colors));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynGetColors(TnDyn dyn, const PetscInt **colors)
{
  PetscInt n;
  PetscFunctionBeginUser;
  PetscCheck(dyn->ops.getcolors && dyn->setup, dyn->comm, PETSC_ERR_ORDER, "no colouring: the scheme is not colored or SetUp was not called");
  PetscCall(dyn->ops.getcolors(dyn, &n, colors));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynGetLoss(TnDyn dyn, TnLogDetType *ldt, TnBase *base)
{
  PetscFunctionBeginUser;
  if (ldt) *ldt = dyn->ldt;
  if (base) *base = dyn->base;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynGetNet(TnDyn dyn, TnNet *net)
{
  PetscFunctionBeginUser;
  *net = dyn->net;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynGetPasses(TnDyn dyn, PetscInt64 *passes)
{
  PetscFunctionBeginUser;
  *passes = dyn->passes;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynGetLocalSize(TnDyn dyn, PetscInt *m)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynSetUp(dyn));
  *m = dyn->m;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynGetParams(TnDyn dyn, TnScheme *scheme, TnForm *form, TnAct *act, PetscReal *h, PetscInt *K, PetscInt *B)
{
  PetscFunctionBeginUser;
  if (scheme) *scheme = dyn->type;
  if (form) *form = dyn->form;
  if (act) *act = dyn->act;
  if (h) *h = dyn->T > 0 && dyn->K > 0 ? dyn->T / dyn->K : dyn->h;
  if (K) *K = dyn->K;
  if (B) *B = dyn->B;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynGetTolerances(TnDyn dyn, PetscReal *rtol, PetscReal *atol, PetscBool *adapt)
{
  PetscFunctionBeginUser;
  if (rtol) *rtol = dyn->rtol;
  if (atol) *atol = dyn->atol;
  if (adapt) *adapt = dyn->adapt;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynGetInvertibility(TnDyn dyn, PetscReal *value, const char **what)
{
  PetscFunctionBeginUser;
  PetscCheck(dyn->setup, dyn->comm, PETSC_ERR_ORDER, "call TnDynSetUp() first");
  if (value) *value = dyn->bnd.value;
  if (what) *what = dyn->bnd.what;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynView(TnDyn dyn, PetscViewer viewer)
{
  PetscFunctionBeginUser;
  PetscCall(PetscViewerASCIIPrintf(viewer, "dynamics: %s scheme, %s form, %s, h = %g, K = %" PetscInt_FMT " (T = %g), batch B = %" PetscInt_FMT, dyn->type, TnFormTypes[dyn->form], TnActTypes[dyn->act], (double)dyn->h, dyn->K, (double)(dyn->h * dyn->K), dyn->B));
  if (dyn->ops.view) PetscCall(dyn->ops.view(dyn, viewer));
  if (dyn->nclamp) PetscCall(PetscViewerASCIIPrintf(viewer, "\nclamped: %" PetscInt_FMT " nodes; the density is conditional, over the %" PetscInt_FMT " free nodes", dyn->nclamp, dyn->nfree));
  PetscCall(PetscViewerASCIIPrintf(viewer, "\nlog-det: %s; base: %s; invertibility: %s\n", dyn->ldtdesc ? dyn->ldtdesc : TnLogDetTypes[dyn->ldt], TnBaseTypes[dyn->base], dyn->bnd.what));
  PetscFunctionReturn(PETSC_SUCCESS);
}
