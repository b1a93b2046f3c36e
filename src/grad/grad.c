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
  t->dyn  = dyn;
  t->comm = dyn->comm;
  t->ckpt = TN_GRAD_CKPT_AUTO;
  *g      = t;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode TnGradReset(TnGrad g)
{
  PetscFunctionBeginUser;
  if (!g->setup) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscFree(g->diagpos));
  PetscCall(PetscFree3(g->tia, g->tja, g->tperm));
  PetscCall(PetscFree2(g->tva, g->tgW));
  PetscCall(PetscFree2(g->natrow, g->natcol));
  PetscCall(PetscFree3(g->ckpts, g->segbuf, g->aK));
  PetscCall(PetscFree3(g->lamall, g->p, g->mix));
  PetscCall(PetscFree2(g->S, g->wt));
  PetscCall(VecDestroy(&g->Pv));
  PetscCall(VecDestroy(&g->Lv));
  PetscCall(VecDestroy(&g->Gp));
  PetscCall(PetscFree(g->gbuf));
  PetscCall(VecDestroy(&g->Gy));
  g->setup = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnGradDestroy(TnGrad *g)
{
  PetscFunctionBeginUser;
  if (!*g) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnGradReset(*g));
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
  PetscOptionsBegin(g->comm, "grad_", "Gradient by reverse mode (MODEL.md section 5)", "TnGrad");
  PetscCall(TnOptionsChoice("-checkpoint", "Trajectory storage: auto (sqrt when K > 16), none (all K states), sqrt (every ceil(sqrt K)-th state, one recomputed segment)", "TnGradSetCheckpoint", TnGradCheckpointTypes, 3, &v, NULL));
  PetscOptionsEnd();
  g->ckpt = (TnGradCheckpoint)v;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* diagpos[i]: where W_ii is among Ad's values (Ad's columns are local rows). */
static PetscErrorCode DiagPositions(TnGrad g)
{
  const TnCSR *d = &g->dyn->d;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(g->m + 1, &g->diagpos));
  for (PetscInt i = 0; i < g->m; i++) {
    g->diagpos[i] = -1;
    for (PetscInt t = d->ia[i]; t < d->ia[i + 1]; t++)
      if (d->ja[t] == i) g->diagpos[i] = t;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The sync rate backward pass applies Ad^T column by column (a gather):
   tja[tia[j] .. tia[j+1]) are the rows i with W_ij in Ad, ascending, and
   tperm the positions of those entries in Ad's values. Per gradient, the
   values are gathered into tva once and dL/dW is accumulated in tgW in the
   same order, then scattered back once (compute.c): the K backward steps
   stream both instead of reaching into Ad's order at every synapse. */
static PetscErrorCode Transpose(TnGrad g)
{
  const TnCSR *d = &g->dyn->d;
  PetscInt    *next;
  PetscFunctionBeginUser;
  PetscCall(PetscCalloc3(g->m + 1, &g->tia, g->nd + 1, &g->tja, g->nd + 1, &g->tperm));
  for (PetscInt t = 0; t < g->nd; t++) g->tia[d->ja[t] + 1]++;
  for (PetscInt j = 0; j < g->m; j++) g->tia[j + 1] += g->tia[j];
  PetscCall(PetscMalloc1(g->m + 1, &next));
  PetscCall(PetscArraycpy(next, g->tia, g->m));
  for (PetscInt i = 0; i < g->m; i++)
    for (PetscInt t = d->ia[i]; t < d->ia[i + 1]; t++) {
      PetscInt u  = next[d->ja[t]]++;
      g->tja[u]   = i;
      g->tperm[u] = t;
    }
  PetscCall(PetscFree(next));
  PetscCall(PetscMalloc2(g->nd + 1, &g->tva, g->nd + 1, &g->tgW));
  g->bytes += 4.0 * (g->m + 1 + 2.0 * g->nd) + 16.0 * g->nd;
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
  TnDyn        dyn = g->dyn;
  const size_t n = (size_t)g->m * g->B, nc = dyn->scheme == TN_SCHEME_COLORED, rate = dyn->form == TN_FORM_RATE;
  const size_t np      = nc && rate ? n : (g->storep ? g->seg * n : 0);
  const size_t sizes[] = {g->nseg * n, (g->seg - 1) * n, n, n, nc ? 0 : n, np, nc ? n : 0, !nc && !rate ? n : 0};
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc3(sizes[0] + 1, &g->ckpts, sizes[1] + 1, &g->segbuf, sizes[2] + 1, &g->aK));
  PetscCall(PetscMalloc3(sizes[3] + sizes[4] + 1, &g->lamall, sizes[5] + 1, &g->p, sizes[6] + 1, &g->mix));
  g->lam    = g->lamall;
  g->lamnew = g->lamall + sizes[3];
  PetscCall(PetscMalloc2(sizes[7] + 1, &g->S, g->B, &g->wt));
  PetscCall(VecCreateMPIWithArray(g->comm, g->B, (PetscInt)n, PETSC_DECIDE, NULL, &g->Pv));
  PetscCall(VecCreateMPIWithArray(g->comm, g->B, (PetscInt)n, PETSC_DECIDE, NULL, &g->Lv));
  PetscCall(PetscMalloc1((size_t)g->nghost * g->B + 1, &g->gbuf));
  PetscCall(VecCreateSeqWithArray(PETSC_COMM_SELF, 1, g->nghost * g->B, g->gbuf, &g->Gp));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, g->nghost * g->B, &g->Gy));
  g->bytes = 0;
  for (int q = 0; q < 8; q++) g->bytes += 8.0 * (PetscLogDouble)sizes[q];
  g->bytes += 2 * 8.0 * g->nghost * g->B + 8.0 * g->m;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Set up when not yet, or again when the dynamics was set up anew since. */
PetscErrorCode TnGradSetUp(TnGrad g)
{
  TnDyn dyn = g->dyn;
  PetscFunctionBeginUser;
  PetscCall(TnDynSetUp(dyn));
  if (g->setup && g->B == dyn->B && g->K == dyn->K && g->m == dyn->m && g->nd == dyn->d.ia[dyn->m] && g->scheme == dyn->scheme && g->form == dyn->form && g->act == dyn->act) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnGradReset(g));
  PetscCheck(TnLogDetIsLocal(dyn->ldt), g->comm, PETSC_ERR_SUP, "the gradient is implemented for the local log-det methods (diag, trace); -logdet_type %s has none here", TnLogDetTypes[dyn->ldt]);
  g->m      = dyn->m;
  g->B      = dyn->B;
  g->K      = dyn->K;
  g->scheme = dyn->scheme;
  g->form   = dyn->form;
  g->act    = dyn->act;
  g->nghost = dyn->nghost;
  g->nd     = dyn->d.ia[g->m];
  g->no     = dyn->o.ia[g->m];
  g->nlocal = g->nd + g->no + 2 * g->m;
  g->storep = (PetscBool)(g->scheme == TN_SCHEME_SYNC && g->form == TN_FORM_RATE && dyn->act == TN_ACT_TANH);
  PetscCall(DiagPositions(g));
  Segments(g);
  PetscCall(Allocate(g));
  if (g->scheme == TN_SCHEME_SYNC && g->form == TN_FORM_RATE && g->B >= 4) PetscCall(Transpose(g)); /* adjsync.c: the gather pays from B = 4 */
  g->setup = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnGradCreateParamVec(TnGrad g, Vec *theta)
{
  PetscFunctionBeginUser;
  PetscCall(TnGradSetUp(g));
  PetscCall(VecCreateMPI(g->comm, g->nlocal, PETSC_DETERMINE, theta));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The network's parameter storage (TnNetGetParamArray), which is theta's layout. */
static PetscErrorCode Storage(TnGrad g, PetscScalar **par)
{
  PetscInt n;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetParamArray(g->dyn->net, par, &n));
  PetscCheck(n == g->nlocal && *par == g->dyn->d.va, PETSC_COMM_SELF, PETSC_ERR_PLIB, "the network's parameter storage does not match the dynamics' SetUp");
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnGradGetParamVec(TnGrad g, Vec *theta)
{
  PetscScalar *par;
  PetscFunctionBeginUser;
  PetscCall(TnGradSetUp(g));
  PetscCall(Storage(g, &par));
  PetscCall(VecCreateMPIWithArray(g->comm, 1, g->nlocal, PETSC_DECIDE, par, theta));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnGradGetParams(TnGrad g, Vec theta)
{
  PetscScalar *th, *par;
  PetscFunctionBeginUser;
  PetscCall(TnGradSetUp(g));
  PetscCall(Storage(g, &par));
  PetscCall(VecGetArrayWrite(theta, &th));
  if (th != par) PetscCall(PetscArraycpy(th, par, g->nlocal));
  PetscCall(VecRestoreArrayWrite(theta, &th));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* v[0..n) <- th (add = 0; nothing to do when th is v) or v + alpha th (add = 1). */
static void Put(PetscScalar *v, const PetscScalar *th, PetscInt n, PetscReal alpha, PetscBool add)
{
  if (!add && v == th) return;
  for (PetscInt q = 0; q < n; q++) v[q] = add ? v[q] + alpha * th[q] : th[q];
}

/* Writes the new values through the storage the dynamics reads: the
   network's parameter array (W's block values, b and u, which
   MatSeqAIJGetArray and VecGetArray hand out: the object states increase, so
   no cached norm survives), gamma = e^u and W_ii. theta may be a view of that
   array itself (TnGradGetParamVec): then only gamma and W_ii change. */
static PetscErrorCode Apply(TnGrad g, Vec theta, PetscReal alpha, PetscBool add)
{
  TnDyn              dyn = g->dyn;
  const PetscScalar *th;
  PetscScalar       *va, *vo, *pb, *pg, *pw, *par;
  Vec                b, gamma, wdiag;
  PetscBool          bad = PETSC_FALSE;
  PetscFunctionBeginUser;
  PetscCall(TnGradSetUp(g));
  PetscCall(VecGetArrayRead(theta, &th));
  for (PetscInt q = 0; q < g->nlocal; q++) bad = (PetscBool)(bad || PetscIsInfOrNanScalar(th[q]));
  PetscCall(TnErrorSync(g->comm, bad, "the parameter vector holds NaN or Inf: the training diverged (use a smaller learning rate)"));
  PetscCall(TnNetGetVecs(dyn->net, &b, &gamma, &wdiag));
  PetscCall(Storage(g, &par));
  PetscCall(MatSeqAIJGetArray(dyn->Ad, &va));
  PetscCall(MatSeqAIJGetArray(dyn->Ao, &vo));
  PetscCheck(va == dyn->d.va && (g->no == 0 || vo == dyn->o.va), PETSC_COMM_SELF, PETSC_ERR_PLIB, "W's value arrays moved since the dynamics' SetUp");
  Put(va, th, g->nd, alpha, add);
  Put(vo, th + g->nd, g->no, alpha, add);
  PetscCall(MatSeqAIJRestoreArray(dyn->Ao, &vo));
  PetscCall(VecGetArray(b, &pb));
  PetscCall(VecGetArray(gamma, &pg));
  PetscCall(VecGetArray(wdiag, &pw));
  Put(pb, th + g->nd + g->no, g->m, alpha, add);
  Put(par + g->nd + g->no + g->m, th + g->nd + g->no + g->m, g->m, alpha, add);
  for (PetscInt i = 0; i < g->m; i++) {
    pg[i] = PetscExpReal(par[g->nd + g->no + g->m + i]); /* gamma = e^u */
    if (g->diagpos[i] >= 0) pw[i] = va[g->diagpos[i]];
  }
  PetscCall(MatSeqAIJRestoreArray(dyn->Ad, &va));
  PetscCall(VecRestoreArray(wdiag, &pw));
  PetscCall(VecRestoreArray(gamma, &pg));
  PetscCall(VecRestoreArray(b, &pb));
  PetscCall(VecRestoreArrayRead(theta, &th));
  PetscCall(TnDynCheckInvertible(dyn));
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

/* Natural numbers of the ghost columns: natural[] sent through the halo. */
PetscErrorCode TnGradGetParamMap(TnGrad g, const PetscInt **row, const PetscInt **col)
{
  TnDyn            dyn = g->dyn;
  const PetscInt  *nat;
  const PetscReal *gn;
  PetscReal       *send;
  PetscFunctionBeginUser;
  PetscCall(TnGradSetUp(g));
  if (!g->natrow) {
    PetscCall(TnNetGetNatural(dyn->net, &nat));
    PetscCall(PetscMalloc2(g->nlocal, &g->natrow, g->nlocal, &g->natcol));
    PetscCall(PetscMalloc1((size_t)g->m * g->B + 1, &send));
    for (size_t q = 0; q < (size_t)g->m * g->B; q++) send[q] = (PetscReal)nat[q / g->B];
    PetscCall(TnGradHaloBegin(g, send));
    PetscCall(TnGradHaloEnd(g, &gn));
    for (PetscInt i = 0; i < g->m; i++) {
      for (PetscInt t = dyn->d.ia[i]; t < dyn->d.ia[i + 1]; t++) g->natrow[t] = nat[i], g->natcol[t] = nat[dyn->d.ja[t]];
      for (PetscInt t = dyn->o.ia[i]; t < dyn->o.ia[i + 1]; t++) g->natrow[g->nd + t] = nat[i], g->natcol[g->nd + t] = (PetscInt)gn[(size_t)dyn->o.ja[t] * g->B];
      g->natrow[g->nd + g->no + i] = g->natrow[g->nd + g->no + g->m + i] = nat[i];
      g->natcol[g->nd + g->no + i]                                       = -1;
      g->natcol[g->nd + g->no + g->m + i]                                = -2;
    }
    PetscCall(PetscFree(send));
  }
  *row = g->natrow;
  *col = g->natcol;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The map is built on demand and dropped here: 8 bytes per parameter that a
   training run needs only while it writes or reads a file. */
PetscErrorCode TnGradRestoreParamMap(TnGrad g, const PetscInt **row, const PetscInt **col)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree2(g->natrow, g->natcol));
  if (row) *row = NULL;
  if (col) *col = NULL;
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
