/* TnGrad: life cycle, options, the trajectory storage, and the parameter
   vector theta = [W on P (Ad's values, then Ao's), b, u = log gamma] with its
   writes through the storage the dynamics borrows. */
#include "gradimpl.h"

PetscLogEvent TN_Gradient;

const char *const TnGradCheckpointTypes[] = {"auto", "none", "sqrt", "TnGradCheckpoint", "TN_GRAD_CKPT_", NULL};

PetscErrorCode TnGradCreate(TnDyn dyn, TnGrad *g)
{
  TnGrad t;
  PetscFunctionBeginUser;
  if (!TN_Gradient) PetscCall(PetscLogEventRegister("Gradient", TN_CLASSID, &TN_Gradient));
  PetscCall(PetscNew(&t));
  t->dyn = dyn;
  PetscCall(TnDynGetNet(dyn, &t->net));
  PetscCall(TnNetGetComm(t->net, &t->comm));
  t->ckpt = TN_GRAD_CKPT_AUTO;
  *g      = t;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode TnGradReset(TnGrad g)
{
  PetscFunctionBeginUser;
  if (!g->setup) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscFree3(g->ckpts, g->segbuf, g->aK));
  PetscCall(TnMemoryFreeAligned(&g->save));
  g->setup = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnGradDestroy(TnGrad *g)
{
  PetscFunctionBeginUser;
  if (!*g) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnGradReset(*g));
  PetscCall(TnMemoryFreeAligned(&(*g)->lstate));
  PetscCall(PetscFree(*g));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnGradSetCheckpoint(TnGrad g, TnGradCheckpoint type)
{
  PetscFunctionBeginUser;
  PetscCall(TnGradReset(g));
  g->ckpt = type;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnGradSetFromOptions(TnGrad g)
{
  PetscInt v = (PetscInt)g->ckpt;
  PetscFunctionBeginUser;
  PetscCall(TnGradReset(g));
  PetscOptionsBegin(g->comm, "grad_", "Gradient by reverse mode (docs/gradient.md)", "TnGrad");
  PetscCall(TnOptionsChoice("-checkpoint", "Trajectory storage: auto (sqrt when K > 16), none (all K states), sqrt (every ceil(sqrt K)-th state, one recomputed segment)", "TnGradSetCheckpoint", TnGradCheckpointTypes, 3, &v, NULL));
  PetscOptionsEnd();
  g->ckpt = (TnGradCheckpoint)v;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Segment length and count: sqrt: s = ceil(sqrt K); none: s = K. */
static void Segments(TnGrad g)
{
  g->used = g->ckpt == TN_GRAD_CKPT_AUTO ? (g->K > 16 ? TN_GRAD_CKPT_SQRT : TN_GRAD_CKPT_NONE) : g->ckpt;
  g->seg  = g->used == TN_GRAD_CKPT_SQRT ? (PetscInt)PetscCeilReal(PetscSqrtReal((PetscReal)g->K)) : g->K;
  g->seg  = PetscMax(g->seg, 1);
  g->nseg = (g->K + g->seg - 1) / g->seg;
}

static PetscErrorCode Allocate(TnGrad g)
{
  const size_t   n       = (size_t)g->m * g->B;
  const size_t   sizes[] = {g->nseg * n, (g->seg - 1) * n, n, g->nsave ? g->seg * g->nsave : 0};
  PetscLogDouble adj;
  PetscFunctionBeginUser;
  PetscCall(TnDynAdjointSetUp(g->dyn, NULL, &adj));
  PetscCall(PetscMalloc3(sizes[0] + 1, &g->ckpts, sizes[1] + 1, &g->segbuf, sizes[2] + 1, &g->aK));
  PetscCall(TnMemoryAllocAligned(sizeof(PetscReal) * (sizes[3] + 1), &g->save)); /* the forward step gathers phi(a_k) from its slot */
  g->bytes = adj;
  for (int q = 0; q < 4; q++) g->bytes += 8.0 * (PetscLogDouble)sizes[q];
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Set up when not yet, or again when the dynamics was set up anew since. */
PetscErrorCode TnGradSetUp(TnGrad g)
{
  TnDyn         dyn = g->dyn;
  TnScheme      scheme;
  TnForm        form;
  TnAct         act;
  PetscInt      K, B;
  TnParamLayout L;
  PetscFunctionBeginUser;
  PetscCall(TnDynSetUp(dyn));
  PetscCall(TnDynGetParams(dyn, &scheme, &form, &act, NULL, &K, &B));
  PetscCall(TnNetGetParamLayout(g->net, &L));
  if (g->setup && g->B == B && g->K == K && g->m == L.m && g->nlocal == L.n && !strcmp(g->scheme, scheme) && g->form == form && g->act == act) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnGradReset(g));
  g->m = L.m;
  g->B = B;
  g->K = K;
  PetscCall(PetscStrncpy(g->scheme, scheme, sizeof(g->scheme)));
  g->form   = form;
  g->act    = act;
  g->nlocal = L.n;
  PetscCall(TnDynAdjointSetUp(dyn, &g->nsave, NULL));
  Segments(g);
  PetscCall(Allocate(g));
  g->setup = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* theta's layout only: the dynamics set up and the local parameter count,
   without the reverse-mode work and the trajectory, which a caller that
   only reads or writes theta (a trainer by a local rule) does not need. */
static PetscErrorCode SetUpLayout(TnGrad g)
{
  TnParamLayout L;
  PetscFunctionBeginUser;
  PetscCall(TnDynSetUp(g->dyn));
  PetscCall(TnNetGetParamLayout(g->net, &L));
  g->nlocal = L.n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnGradCreateParamVec(TnGrad g, Vec *theta)
{
  PetscFunctionBeginUser;
  PetscCall(SetUpLayout(g));
  PetscCall(VecCreateMPI(g->comm, g->nlocal, PETSC_DETERMINE, theta));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnGradGetParamVec(TnGrad g, Vec *theta)
{
  PetscScalar *par;
  PetscFunctionBeginUser;
  PetscCall(SetUpLayout(g));
  PetscCall(TnNetGetParamArray(g->net, &par, NULL));
  PetscCall(VecCreateMPIWithArray(g->comm, 1, g->nlocal, PETSC_DECIDE, par, theta));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnGradGetParams(TnGrad g, Vec theta)
{
  PetscScalar *th, *par;
  PetscFunctionBeginUser;
  PetscCall(SetUpLayout(g));
  PetscCall(TnNetGetParamArray(g->net, &par, NULL));
  PetscCall(VecGetArrayWrite(theta, &th));
  if (th != par) PetscCall(PetscArraycpy(th, par, g->nlocal));
  PetscCall(VecRestoreArrayWrite(theta, &th));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Writes the new values through the network's storage, which the dynamics
   reads (TnNetSetParams: W's block values, b, u, then gamma = e^u and
   W_ii), and checks invertibility again. theta may be a view of that
   storage itself (TnGradGetParamVec): then only gamma and W_ii change. */
static PetscErrorCode Apply(TnGrad g, Vec theta, PetscReal alpha, PetscBool add)
{
  const PetscScalar *th;
  PetscBool          bad = PETSC_FALSE;
  PetscFunctionBeginUser;
  PetscCall(SetUpLayout(g));
  PetscCall(VecGetArrayRead(theta, &th));
  for (PetscInt q = 0; q < g->nlocal; q++) bad = (PetscBool)(bad || PetscIsInfOrNanScalar(th[q]));
  PetscCall(TnErrorSync(g->comm, bad, "the parameter vector holds NaN or Inf: the training diverged (use a smaller learning rate)"));
  PetscCall(TnNetSetParams(g->net, th, alpha, add));
  PetscCall(VecRestoreArrayRead(theta, &th));
  PetscCall(TnDynCheckInvertible(g->dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnGradSetParams(TnGrad g, Vec theta)
{
  PetscFunctionBeginUser;
  PetscCall(Apply(g, theta, 1.0, PETSC_FALSE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnGradAddToParams(TnGrad g, PetscReal alpha, Vec d)
{
  PetscFunctionBeginUser;
  PetscCall(Apply(g, d, alpha, PETSC_TRUE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnGradGetParamMap(TnGrad g, const PetscInt **row, const PetscInt **col)
{
  PetscInt *r, *c;
  PetscFunctionBeginUser;
  PetscCall(SetUpLayout(g));
  PetscCall(TnNetGetParamMap(g->net, &r, &c));
  *row = r;
  *col = c;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The map is built on demand and dropped here: 8 bytes per parameter that a
   training run needs only while it writes or reads a file. */
PetscErrorCode TnGradRestoreParamMap(TnGrad g, const PetscInt **row, const PetscInt **col)
{
  PetscInt *r = (PetscInt *)*row, *c = (PetscInt *)*col;
  PetscFunctionBeginUser;
  PetscCall(PetscFree2(r, c));
  *row = NULL;
  *col = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnGradGetCheckpoint(TnGrad g, TnGradCheckpoint *type, PetscInt *seglen, PetscInt *nstates, PetscLogDouble *bytes)
{
  PetscFunctionBeginUser;
  PetscCall(TnGradSetUp(g));
  if (type) *type = g->used;
  if (seglen) *seglen = g->seg;
  if (nstates) *nstates = g->nseg + g->seg;
  if (bytes) *bytes = g->bytes;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnGradView(TnGrad g, PetscViewer viewer)
{
  PetscLogDouble b = 0;
  const char    *aut;
  PetscFunctionBeginUser;
  PetscCall(TnGradSetUp(g));
  PetscCall(MPIU_Allreduce(&g->bytes, &b, 1, MPI_DOUBLE, MPI_SUM, g->comm));
  aut = g->ckpt == TN_GRAD_CKPT_AUTO ? " (auto)" : "";
  if (g->used == TN_GRAD_CKPT_NONE)
    PetscCall(PetscViewerASCIIPrintf(viewer, "gradient: reverse mode through K = %" PetscInt_FMT " steps; checkpointing none%s: all %" PetscInt_FMT " states a_0 .. a_K stored (%.3g MB of trajectory and work storage over all ranks)\n", g->K, aut, g->K + 1, b / 1e6));
  else
    PetscCall(PetscViewerASCIIPrintf(viewer, "gradient: reverse mode through K = %" PetscInt_FMT " steps; checkpointing sqrt%s: %" PetscInt_FMT " checkpoints every %" PetscInt_FMT " steps + the other %" PetscInt_FMT " states of one segment + a_K, each earlier segment recomputed once (%.3g MB of trajectory and work storage over all ranks)\n", g->K, aut, g->nseg, g->seg, g->seg - 1, b / 1e6));
  PetscFunctionReturn(PETSC_SUCCESS);
}
