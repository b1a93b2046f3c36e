/* The continuous scheme (docs/model.md section 2): the ODE da/dt = f(a) on
   [0, T], K report intervals of length h = T / K, each integrated by an
   explicit Runge-Kutta method (contimpl.h), with the Liouville integral
     log|det da(T)/da(0)| = int_0^T sum_i A_ii(a(t)) dt,
   A_ii = -gamma_i + W_ii phi'(a_i) (rate) or phi'(s_i) (current), carried by
   the same stages. A_ii is node i's own quantity, so the loss is a sum of
   local terms over nodes and time, exact up to the integration error: the
   flow of a Lipschitz field is a bijection and no invertibility bound is
   needed. The step-size controller decides from global reductions (a max
   and a sum over all ranks), so it takes the same decisions on any rank
   count. */
#include "contimpl.h"

/* Dormand & Prince (1980), RK5(4)7M: b is the fifth-order solution, e = b - bhat. */
const TnRKTableau TnRK_DP54 = {
    "dopri5", 7, 5, PETSC_TRUE, {0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1}, {{0}, {1.0 / 5}, {3.0 / 40, 9.0 / 40}, {44.0 / 45, -56.0 / 15, 32.0 / 9}, {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729}, {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656}, {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84}}, {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0}, {71.0 / 57600, 0, -71.0 / 16695, 71.0 / 1920, -17253.0 / 339200, 22.0 / 525, -1.0 / 40}};

/* The classical fourth-order method (no error estimate). */
const TnRKTableau TnRK_RK4 = {
    "rk4", 4, 4, PETSC_FALSE, {0, 0.5, 0.5, 1}, {{0}, {0.5}, {0, 0.5}, {0, 0, 1}}, {1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6}, {0}};

/* rate: F_i = -gamma_i Y_i + (W p)_i + b_i with p = phi(Y) (pbuf),
   A_ii = -gamma_i + W_ii phi'(Y_i); the on-process block here. */
TN_INLINE void RateOn(TnDyn dyn, const PetscReal *restrict Y, PetscReal *restrict F, PetscReal *restrict Ad, const PetscInt B)
{
  const int lin = dyn->act == TN_ACT_LINEAR;
  PetscReal y[B];
  for (PetscInt i = 0; i < dyn->m; i++) {
    const PetscReal *p = dyn->pbuf + (size_t)i * B, gi = dyn->gamma[i], wi = dyn->wdiag[i];
    for (PetscInt b = 0; b < B; b++) y[b] = dyn->bias[i];
    TnRowTimesBlock(&dyn->d, i, dyn->pbuf, B, y);
    for (PetscInt b = 0; b < B; b++) {
      F[(size_t)i * B + b]  = -gi * Y[(size_t)i * B + b] + y[b];
      Ad[(size_t)i * B + b] = -gi + wi * (lin ? 1.0 : 1.0 - p[b] * p[b]);
    }
  }
}

/* y_i += (Ao g)_i for the rows with off-process synapses. */
TN_INLINE void AddOff(TnDyn dyn, const PetscReal *restrict g, PetscReal *restrict y, const PetscInt B)
{
  for (PetscInt r = 0; r < dyn->noff; r++) TnRowTimesBlock(&dyn->o, dyn->offrows[r], g, B, y + (size_t)dyn->offrows[r] * B);
}

/* current: s = W Y + b (the on-process block here). */
TN_INLINE void CurrentOn(TnDyn dyn, const PetscReal *restrict Y, PetscReal *restrict S, const PetscInt B)
{
  for (PetscInt i = 0; i < dyn->m; i++) {
    for (PetscInt b = 0; b < B; b++) S[(size_t)i * B + b] = dyn->bias[i];
    TnRowTimesBlock(&dyn->d, i, Y, B, S + (size_t)i * B);
  }
}

/* current: F_i = -gamma_i Y_i + phi(s_i), A_ii = -gamma_i + W_ii phi'(s_i). */
TN_INLINE void CurrentField(TnDyn dyn, const PetscReal *restrict Y, const PetscReal *restrict S, PetscReal *restrict F, PetscReal *restrict Ad, const PetscInt B)
{
  const int lin = dyn->act == TN_ACT_LINEAR;
  for (PetscInt i = 0; i < dyn->m; i++)
    for (PetscInt b = 0; b < B; b++) {
      const size_t    q = (size_t)i * B + b;
      const PetscReal t = TnPhi(dyn->act, S[q]);
      F[q]              = -dyn->gamma[i] * Y[q] + t;
      Ad[q]             = -dyn->gamma[i] + dyn->wdiag[i] * (lin ? 1.0 : 1.0 - t * t);
    }
}

PetscErrorCode TnContField(TnDyn dyn, const PetscReal *Y, PetscReal *F, PetscReal *Ad)
{
  TnCont            *c = (TnCont *)dyn->data;
  const PetscScalar *g;
  PetscFunctionBeginUser;
  if (dyn->form == TN_FORM_RATE) {
    TnPhiAll(dyn->act, c->n, Y, dyn->pbuf);
    PetscCall(TnDynHaloBegin(dyn));
    TN_DISPATCH_B(dyn->B, RateOn, dyn, Y, F, Ad);
    PetscCall(TnDynHaloEnd(dyn));
    PetscCall(VecGetArrayRead(dyn->G, &g));
    TN_DISPATCH_B(dyn->B, AddOff, dyn, g, F);
    PetscCall(VecRestoreArrayRead(dyn->G, &g));
  } else {
    PetscCall(PetscArraycpy(dyn->pbuf, Y, c->n));
    PetscCall(TnDynHaloBegin(dyn));
    TN_DISPATCH_B(dyn->B, CurrentOn, dyn, Y, c->S);
    PetscCall(TnDynHaloEnd(dyn));
    PetscCall(VecGetArrayRead(dyn->G, &g));
    TN_DISPATCH_B(dyn->B, AddOff, dyn, g, c->S);
    PetscCall(VecRestoreArrayRead(dyn->G, &g));
    TN_DISPATCH_B(dyn->B, CurrentField, dyn, Y, c->S, F, Ad);
  }
  if (dyn->fmask) /* clamped nodes: f_i = 0 and A_ii = 0 (they stay put and add nothing to the Liouville integral) */
    for (PetscInt i = 0; i < dyn->m; i++)
      if (dyn->fmask[i] == 0)
        for (PetscInt b = 0; b < dyn->B; b++) F[(size_t)i * dyn->B + b] = Ad[(size_t)i * dyn->B + b] = 0;
  c->evals++;
  dyn->passes++;
  PetscCall(PetscLogFlops(2.0 * dyn->B * (double)(dyn->d.n + dyn->o.n) + 6.0 * c->n));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* out = y + dt sum_{j < s} w_j F_j (w = a row of the tableau, or b). */
static void Combine(TnCont *c, const PetscReal *y, PetscReal dt, const PetscReal *w, PetscInt s, PetscReal *out)
{
  for (size_t q = 0; q < c->n; q++) {
    PetscReal acc = 0;
    for (PetscInt j = 0; j < s; j++)
      if (w[j] != 0) acc += w[j] * c->F[j][q];
    out[q] = y[q] + dt * acc;
  }
}

/* One step of size dt (signed) from y: F[0] = f(y) and A0 given; the
   stages, the new state (ynew), and sum_s b_s A_s, sum_s e_s A_s per node. */
static PetscErrorCode TrialStep(TnDyn dyn, const TnRKTableau *tab, const PetscReal *y, const PetscReal *A0, PetscReal dt)
{
  TnCont *c = (TnCont *)dyn->data;
  PetscFunctionBeginUser;
  for (size_t q = 0; q < c->n; q++) {
    c->tacc[q] = tab->b[0] * A0[q];
    c->terr[q] = tab->e[0] * A0[q];
  }
  for (PetscInt s = 1; s < tab->s; s++) {
    Combine(c, y, dt, tab->a[s], s, c->Y);
    PetscCall(TnContField(dyn, c->Y, c->F[s], c->Ad));
    for (size_t q = 0; q < c->n; q++) {
      c->tacc[q] += tab->b[s] * c->Ad[q];
      c->terr[q] += tab->e[s] * c->Ad[q];
    }
  }
  Combine(c, y, dt, tab->b, tab->s, c->ynew);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The error of the step in units of the tolerance, max over samples, nodes
   and ranks: the state's |dt sum_s e_s F_s| / (atol + rtol max(|y|, |ynew|))
   and the log-det integral's |dt sum_i sum_s e_s A_s| / (atol + rtol
   max(|l|, |l + delta|)) per sample, l the integral over this interval so far
   and delta = dt sum_i sum_s b_s A_s (delta returned, global). */
static PetscErrorCode ErrorNorm(TnDyn dyn, const TnRKTableau *tab, const PetscReal *y, PetscReal dt, const PetscReal *lacc, PetscReal *delta, PetscReal *err)
{
  TnCont        *c  = (TnCont *)dyn->data;
  const PetscInt B  = dyn->B;
  PetscReal      es = 0, sums[2 * 1024];
  PetscFunctionBeginUser;
  for (PetscInt b = 0; b < 2 * B; b++) sums[b] = 0;
  for (size_t q = 0; q < c->n; q++) {
    PetscReal e = 0, sc;
    for (PetscInt s = 0; s < tab->s; s++)
      if (tab->e[s] != 0) e += tab->e[s] * c->F[s][q];
    sc = dyn->atol + dyn->rtol * PetscMax(PetscAbsReal(y[q]), PetscAbsReal(c->ynew[q]));
    es = PetscMax(es, PetscAbsReal(dt * e) / sc);
    if (PetscIsInfOrNanReal(e)) es = PETSC_MAX_REAL;
    sums[q % B] += c->tacc[q];
    sums[B + q % B] += c->terr[q];
  }
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, sums, 2 * B, MPIU_REAL, MPIU_SUM, dyn->comm));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, &es, 1, MPIU_REAL, MPIU_MAX, dyn->comm));
  for (PetscInt b = 0; b < B; b++) {
    PetscReal d = dt * sums[b], e = PetscAbsReal(dt * sums[B + b]), sc = dyn->atol + dyn->rtol * PetscMax(PetscAbsReal(lacc[b]), PetscAbsReal(lacc[b] + d));
    delta[b] = d;
    es       = PetscMax(es, e / sc);
    if (PetscIsInfOrNanReal(d) || PetscIsInfOrNanReal(e)) es = PETSC_MAX_REAL;
  }
  *err = es;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Record(TnDyn dyn, const PetscReal *y, PetscReal dt)
{
  TnCont *c = (TnCont *)dyn->data;
  PetscFunctionBeginUser;
  if (c->ntraj == c->maxtraj) {
    c->maxtraj = PetscMax(4, 2 * c->maxtraj);
    PetscCall(PetscRealloc(sizeof(PetscReal) * c->n * c->maxtraj + 1, &c->traj));
    PetscCall(PetscRealloc(sizeof(PetscReal) * c->maxtraj, &c->dts));
  }
  PetscCall(PetscArraycpy(c->traj + (size_t)c->ntraj * c->n, y, c->n));
  c->dts[c->ntraj++] = dt;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnContIntegrate(TnDyn dyn, const TnRKTableau *tab, PetscBool adapt, PetscReal *y, PetscReal len, PetscReal *dt, PetscReal *ldet, PetscReal *nodeacc, PetscBool record, PetscInt64 *steps, PetscInt64 *rejected)
{
  TnCont         *c    = (TnCont *)dyn->data;
  const PetscReal sign = len > 0 ? 1 : -1, L = PetscAbsReal(len);
  const PetscInt  B    = dyn->B;
  PetscReal       done = 0, h = adapt ? PetscMin(*dt, L) : L, next = h, lacc[1024], delta[1024], *A0 = c->A0;
  PetscInt64      nsteps = 0, nrej = 0;
  PetscBool       fresh = PETSC_TRUE;
  PetscFunctionBeginUser;
  if (record) c->ntraj = 0;
  for (PetscInt b = 0; b < B; b++) lacc[b] = 0;
  while (done < L) {
    PetscReal hs = PetscMin(h, L - done), err = 0;
    PetscBool clipped;
    if (L - done - hs <= 1e-12 * L) hs = L - done; /* no sliver of a last step */
    clipped = (PetscBool)(hs < h);
    if (fresh) PetscCall(TnContField(dyn, y, c->F[0], A0));
    fresh = PETSC_FALSE;
    PetscCall(TrialStep(dyn, tab, y, A0, sign * hs));
    if (adapt) {
      PetscReal fac;
      PetscCall(ErrorNorm(dyn, tab, y, sign * hs, lacc, delta, &err));
      fac = err > 0 ? 0.9 * PetscPowReal(err, -1.0 / tab->order) : 5;
      if (!(err <= 1)) { /* rejected (NaN included): F[0], A0 still hold f(y) */
        nrej++;
        h = hs * PetscMax(0.2, PetscMin(fac, 1.0));
        PetscCheck(h > 1e-13 * L && !PetscIsInfOrNanReal(err), dyn->comm, PETSC_ERR_NOT_CONVERGED,
                   "continuous scheme: the step size fell to %g (error %g times the tolerance) after %" PetscInt64_FMT " steps: the state or its log-det integral is not finite or the field is too stiff for -dyn_rtol %g, -dyn_atol %g; check the parameters, or loosen the tolerances", (double)h, (double)err, nsteps, (double)dyn->rtol, (double)dyn->atol);
        continue;
      }
      next = hs * PetscMin(5.0, PetscMax(0.2, fac));
      if (clipped) next = PetscMax(next, h);
    } else
      for (PetscInt b = 0; b < B; b++) delta[b] = 0;
    if (record) PetscCall(Record(dyn, y, sign * hs));
    if (ldet || nodeacc)
      for (size_t q = 0; q < c->n; q++) {
        const PetscReal v = sign * hs * c->tacc[q];
        if (ldet) ldet[q % B] += v;
        if (nodeacc && (PetscInt)(q % B) < dyn->nvalid) nodeacc[q / B] -= v;
      }
    for (PetscInt b = 0; b < B; b++) lacc[b] += delta[b];
    PetscCall(PetscArraycpy(y, c->ynew, c->n));
    if (tab->fsal) { /* the last stage was f at the new state */
      PetscReal *t     = c->F[0];
      c->F[0]          = c->F[tab->s - 1];
      c->F[tab->s - 1] = t;
      PetscCall(PetscArraycpy(A0, c->Ad, c->n));
    } else
      fresh = PETSC_TRUE;
    done += hs;
    nsteps++;
    PetscCheck(nsteps <= 1000000, dyn->comm, PETSC_ERR_NOT_CONVERGED, "continuous scheme: more than 10^6 steps in one interval of length %g; loosen -dyn_rtol / -dyn_atol or check the parameters", (double)L);
    h = adapt ? next : h;
  }
  *dt = adapt ? next : h;
  if (steps) *steps += nsteps;
  if (rejected) *rejected += nrej;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Interval k: out = a(t_{k+1}) from a(t_k) = a; ldet[b] += the local part of
   int_{t_k}^{t_{k+1}} sum_i A_ii dt. */
static PetscErrorCode Step(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *save, PetscReal *ldet, PetscReal *nodeacc)
{
  TnCont   *c  = (TnCont *)dyn->data;
  PetscReal dt = c->dt0[k];
  PetscFunctionBeginUser;
  if (out != a) PetscCall(PetscArraycpy(out, a, c->n));
  PetscCall(TnContIntegrate(dyn, c->tab, dyn->adapt, out, dyn->h, &dt, ldet, nodeacc, PETSC_FALSE, &c->steps, &c->rejected));
  c->dt0[k + 1] = dt;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* a(t_{k+1}) -> a(t_k): the flow integrated backwards under the same error
   control (with -dyn_adapt 0, too: the inverse of the flow, not of the RK4
   map, whose own error then shows in a round trip). */
static PetscErrorCode InverseStep(TnDyn dyn, PetscInt k, PetscScalar *a, TnDynInverseStats *st)
{
  PetscReal dt = dyn->h;
  PetscFunctionBeginUser;
  PetscCall(TnContIntegrate(dyn, &TnRK_DP54, PETSC_TRUE, a, -dyn->h, &dt, NULL, NULL, PETSC_FALSE, &st->rk_steps, &st->rk_rejected));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode SetUp(TnDyn dyn)
{
  TnCont *c = (TnCont *)dyn->data;
  PetscFunctionBeginUser;
  PetscCheck(TnLogDetIsLocal(dyn->ldt), dyn->comm, PETSC_ERR_USER, "-logdet_type %s is for the sync scheme; the continuous scheme's log-det is the Liouville integral of tr(df/da), exact up to the integration tolerance", TnLogDetTypes[dyn->ldt]);
  PetscCheck(dyn->rtol > 0 && dyn->rtol < 1, dyn->comm, PETSC_ERR_USER, "-dyn_rtol must be in (0, 1) (got %g)", (double)dyn->rtol);
  PetscCheck(dyn->atol >= 0 && !PetscIsInfOrNanReal(dyn->atol), dyn->comm, PETSC_ERR_USER, "-dyn_atol must be >= 0 (got %g)", (double)dyn->atol);
  PetscCheck(dyn->B <= 1024, dyn->comm, PETSC_ERR_USER, "-dyn_batch must be <= 1024");
  c->tab = dyn->adapt ? &TnRK_DP54 : &TnRK_RK4;
  c->n   = (size_t)dyn->m * dyn->B;
  for (PetscInt s = 0; s <= TN_RK_MAXSTAGES - 1; s++) PetscCall(PetscMalloc1(c->n + 1, &c->F[s]));
  PetscCall(PetscMalloc6(c->n + 1, &c->Ad, c->n + 1, &c->A0, c->n + 1, &c->Y, c->n + 1, &c->ynew, c->n + 1, &c->tacc, c->n + 1, &c->terr));
  PetscCall(PetscMalloc1(dyn->K + 2, &c->dt0));
  PetscCall(PetscMalloc1(dyn->form == TN_FORM_CURRENT ? c->n + 1 : 1, &c->S));
  for (PetscInt k = 0; k <= dyn->K + 1; k++) c->dt0[k] = dyn->h;
  c->steps = c->rejected = c->evals = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Reset(TnDyn dyn)
{
  TnCont *c = (TnCont *)dyn->data;
  PetscFunctionBeginUser;
  for (PetscInt s = 0; s < TN_RK_MAXSTAGES; s++) PetscCall(PetscFree(c->F[s]));
  PetscCall(PetscFree6(c->Ad, c->A0, c->Y, c->ynew, c->tacc, c->terr));
  PetscCall(PetscFree(c->dt0));
  PetscCall(PetscFree(c->S));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode SetFromOptions(TnDyn dyn, PetscOptionItems *PetscOptionsObject)
{
  PetscFunctionBeginUser;
  PetscCall(TnOptionsReal("-rtol", "continuous: relative tolerance of the step-size control (state and log-det integral)", "TnDynSetTolerances", dyn->rtol, &dyn->rtol, NULL, 0, PETSC_MAX_REAL));
  PetscCall(TnOptionsReal("-atol", "continuous: absolute tolerance of the step-size control", "TnDynSetTolerances", dyn->atol, &dyn->atol, NULL, 0, PETSC_MAX_REAL));
  PetscCall(TnOptionsBool("-adapt", "continuous: adaptive Dormand-Prince 5(4) (true) or one classical RK4 step per interval h = T / K (false)", "TnDynSetAdaptive", dyn->adapt, &dyn->adapt, NULL));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Bound(TnDyn dyn, const TnBoundQ *q, PetscReal margin, TnDynBound *b)
{
  PetscFunctionBeginUser;
  b->applies = PETSC_FALSE;
  b->ok      = PETSC_TRUE;
  b->value   = 0;
  b->fmin    = 1;
  PetscCall(PetscSNPrintf(b->what, sizeof(b->what), "continuous: none needed (the flow of a Lipschitz field is a bijection)"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode View(TnDyn dyn, PetscViewer viewer)
{
  PetscFunctionBeginUser;
  if (dyn->adapt)
    PetscCall(PetscViewerASCIIPrintf(viewer, ", Dormand-Prince 5(4), rtol %g, atol %g", (double)dyn->rtol, (double)dyn->atol));
  else
    PetscCall(PetscViewerASCIIPrintf(viewer, ", classical RK4, one step per interval"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSchemeCreate_Continuous(TnDyn dyn)
{
  TnCont *c;
  PetscFunctionBeginUser;
  PetscCall(PetscNew(&c));
  dyn->data               = c;
  dyn->ldtdesc            = "Liouville integral of tr(df/da)";
  dyn->ops.setfromoptions = SetFromOptions;
  dyn->ops.setup          = SetUp;
  dyn->ops.reset          = Reset;
  dyn->ops.step           = Step;
  dyn->ops.adjointsetup   = TnContAdjointSetUp;
  dyn->ops.adjointreset   = TnContAdjointReset;
  dyn->ops.adjointstep    = TnContAdjointStep;
  dyn->ops.inversestep    = InverseStep;
  dyn->ops.bound          = Bound;
  dyn->ops.clamp          = PETSC_TRUE;
  dyn->ops.view           = View;
  PetscFunctionReturn(PETSC_SUCCESS);
}
