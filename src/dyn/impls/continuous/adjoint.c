/* Reverse mode through the continuous scheme: the exact gradient of the
   computed solution (the discrete adjoint of the accepted Runge-Kutta steps,
   their sizes taken as given, as in every discrete adjoint of an adaptive
   integrator; the controller's own dependence on theta is not
   differentiated). Interval k is integrated again from a_k (the same steps:
   contimpl.h), recording each accepted step's start state; then, step by
   step in reverse, with lam the adjoint of the step's end state y':
     y' = y + dt sum_s b_s F_s,  F_s = f(Y_s),  Y_s = y + dt sum_{j<s} a_sj F_j,
     l' = l + dt sum_s b_s sum_i A_ii(Y_s)   (the log-det integral; loss -l),
     Fbar_s = dt b_s lam + dt sum_{j>s} a_js Ybar_j,
     Ybar_s = (df/da)^T(Y_s) Fbar_s + c_s grad_a sum_i A_ii(Y_s),  c_s = -omega dt b_s,
     lam   <- lam + sum_s Ybar_s,
   and dL/dtheta += (df/dtheta)^T(Y_s) Fbar_s + c_s d(sum_i A_ii)/dtheta (VJP).
   Clamped nodes (f_i = A_ii = 0 there): Fbar and c are zero on their rows. */
#include "contimpl.h"

/* The vector-Jacobian product at Y, on-process rows, with v = Fbar and c
   per sample (rate: a compile-time constant at the call):
     rate, X = p = phi(Y), d = phi'(Y_i), phi2 = phi''(Y_i), m = v:
       out_i += -gamma_i v_i + c w_ii phi2,  out_j += W_ij phi'(Y_j) v_i,
       dL/dW_ij += v_i p_j;
     current, X = s = W Y + b, d = phi'(s_i), phi2 = phi''(s_i),
       m_i = mu_i = d v_i + c w_ii phi2 (written over s, for VjpOff):
       out_i += -gamma_i v_i,  out_j += W_ij mu_i,  dL/dW_ij += mu_i Y_j;
   and in both dL/db_i += m_i, dL/dgamma_i += -Y_i v_i - c, dL/dW_ii += c d. */
TN_INLINE void VjpRows(TnDyn dyn, const PetscReal *restrict Y, PetscReal *restrict X, const PetscReal *restrict v, const PetscReal *restrict cw, PetscReal *restrict out, const PetscBool rate, const PetscInt B)
{
  TnDynAdjAcc    *acc = &dyn->adj.acc;
  const PetscBool lin = dyn->act == TN_ACT_LINEAR;
  for (PetscInt i = 0; i < dyn->m; i++) {
    const PetscReal gi = dyn->gamma[i], wi = dyn->wdiag[i], fi = TnDynFree(dyn, i); /* fi = 0: a clamped row (f_i = A_ii = 0; v_i is 0 there) */
    PetscReal       sb = 0, sg = 0, sw = 0;
    for (PetscInt b = 0; b < B; b++) {
      const size_t    q = (size_t)i * B + b;
      const PetscReal t = rate ? X[q] : TnPhi(dyn->act, X[q]), d = lin ? 1.0 : 1.0 - t * t, phi2 = lin ? 0.0 : -2.0 * t * d, ci = fi * cw[b];
      const PetscReal m = rate ? v[q] : d * v[q] + ci * wi * phi2;
      out[q] += -gi * v[q] + (rate ? ci * wi * phi2 : 0.0);
      if (!rate) X[q] = m; /* mu */
      sb += m;
      sg += -Y[q] * v[q] - ci;
      sw += ci * d;
    }
    acc->gb[i] += sb;
    acc->gg[i] += sg;
    if (dyn->diagpos[i] >= 0) acc->gW[dyn->diagpos[i]] += sw;
    for (PetscInt t = dyn->d.ia[i]; t < dyn->d.ia[i + 1]; t++) {
      const size_t j = (size_t)dyn->d.ja[t] * B;
      acc->gW[t] += TnAdjSynapse(dyn->d.va[t], (rate ? v : X) + (size_t)i * B, (rate ? X : Y) + j, out + j, rate && !lin, B);
    }
  }
}

/* The off-process synapses: their columns' contributions into the ghost
   buffer gy (the reverse halo adds them to the owners); m = v's multiplier
   per row (rate: v; current: mu in S); x = the ghost values (phi(Y) or Y). */
TN_INLINE void VjpOff(TnDyn dyn, const PetscReal *restrict mrow, const PetscReal *restrict gx, PetscReal *restrict gy, PetscBool rt, const PetscInt B)
{
  TnDynAdjAcc *acc = &dyn->adj.acc;
  for (PetscInt q = 0; q < dyn->nghost * B; q++) gy[q] = 0;
  for (PetscInt r = 0; r < dyn->noff; r++) {
    const PetscInt i = dyn->offrows[r];
    for (PetscInt t = dyn->o.ia[i]; t < dyn->o.ia[i + 1]; t++) {
      const size_t j = (size_t)dyn->o.ja[t] * B;
      acc->gW[dyn->d.n + t] += TnAdjSynapse(dyn->o.va[t], mrow + (size_t)i * B, gx + j, gy + j, rt, B);
    }
  }
}

TN_INLINE void SynOn(TnDyn dyn, const PetscReal *restrict Y, PetscReal *restrict S, const PetscInt B)
{
  for (PetscInt i = 0; i < dyn->m; i++) {
    for (PetscInt b = 0; b < B; b++) S[(size_t)i * B + b] = dyn->bias[i];
    TnRowTimesBlock(&dyn->d, i, Y, B, S + (size_t)i * B);
  }
}

TN_INLINE void SynOff(TnDyn dyn, const PetscReal *restrict g, PetscReal *restrict S, const PetscInt B)
{
  for (PetscInt r = 0; r < dyn->noff; r++) TnRowTimesBlock(&dyn->o, dyn->offrows[r], g, B, S + (size_t)dyn->offrows[r] * B);
}

/* out = (df/da)^T(Y) v + c grad sum_i A_ii(Y), accumulating dL/dtheta. */
static PetscErrorCode Vjp(TnDyn dyn, const PetscReal *Y, const PetscReal *v, const PetscReal *cw, PetscReal *out)
{
  TnCont          *c = (TnCont *)dyn->data;
  const PetscReal *gx;
  PetscReal       *gy;
  PetscFunctionBeginUser;
  PetscCall(PetscArrayzero(out, c->n));
  if (dyn->form == TN_FORM_RATE) {
    TnPhiAll(dyn->act, c->n, Y, dyn->pbuf);
    PetscCall(TnDynAdjHaloBegin(dyn, dyn->pbuf));
    TN_DISPATCH_B(dyn->B, VjpRows, dyn, Y, dyn->pbuf, v, cw, out, PETSC_TRUE);
    PetscCall(TnDynAdjHaloEnd(dyn, &gx));
    PetscCall(VecGetArray(dyn->adj.Gy, &gy));
    TN_DISPATCH_B(dyn->B, VjpOff, dyn, v, gx, gy, (PetscBool)(dyn->act == TN_ACT_TANH));
  } else {
    PetscCall(TnDynAdjHaloBegin(dyn, Y));
    TN_DISPATCH_B(dyn->B, SynOn, dyn, Y, c->S);
    PetscCall(TnDynAdjHaloEnd(dyn, &gx));
    TN_DISPATCH_B(dyn->B, SynOff, dyn, gx, c->S);
    TN_DISPATCH_B(dyn->B, VjpRows, dyn, Y, c->S, v, cw, out, PETSC_FALSE);
    PetscCall(VecGetArray(dyn->adj.Gy, &gy));
    TN_DISPATCH_B(dyn->B, VjpOff, dyn, c->S, gx, gy, PETSC_FALSE);
  }
  PetscCall(VecRestoreArray(dyn->adj.Gy, &gy));
  PetscCall(TnDynAdjReverseBegin(dyn, out));
  PetscCall(TnDynAdjReverseEnd(dyn));
  PetscCall(PetscLogFlops(6.0 * dyn->B * (double)(dyn->d.n + dyn->o.n) + 12.0 * c->n));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Whether stage s feeds anything (b_s or a later stage): DP5's last stage,
   there for the error estimate, has no adjoint. */
static PetscBool Feeds(const TnRKTableau *tab, PetscInt s)
{
  if (tab->b[s] != 0) return PETSC_TRUE;
  for (PetscInt j = s + 1; j < tab->s; j++)
    if (tab->a[j][s] != 0) return PETSC_TRUE;
  return PETSC_FALSE;
}

/* The reverse of one accepted step of size dt from y: lam in place. */
static PetscErrorCode StepBack(TnDyn dyn, const PetscReal *y, PetscReal dt)
{
  TnCont            *c   = (TnCont *)dyn->data;
  const TnRKTableau *tab = c->tab;
  PetscReal         *lam = dyn->adj.lam, cw[1024];
  PetscBool          used[TN_RK_MAXSTAGES];
  PetscFunctionBeginUser;
  PetscCall(TnContField(dyn, y, c->F[0], c->Ad));
  for (PetscInt s = 1; s < tab->s; s++) {
    for (size_t q = 0; q < c->n; q++) {
      PetscReal acc = 0;
      for (PetscInt j = 0; j < s; j++)
        if (tab->a[s][j] != 0) acc += tab->a[s][j] * c->F[j][q];
      c->Y[q] = y[q] + dt * acc;
    }
    if (Feeds(tab, s)) PetscCall(TnContField(dyn, c->Y, c->F[s], c->Ad));
  }
  for (PetscInt s = tab->s - 1; s >= 0; s--) {
    const PetscReal *Ys = y;
    used[s]             = Feeds(tab, s);
    if (!used[s]) continue;
    for (size_t q = 0; q < c->n; q++) {
      PetscReal acc = dt * tab->b[s] * lam[q];
      for (PetscInt j = s + 1; j < tab->s; j++)
        if (used[j] && tab->a[j][s] != 0) acc += dt * tab->a[j][s] * c->Ybar[j][q];
      c->Fbar[q] = acc * TnDynFree(dyn, (PetscInt)(q / dyn->B)); /* a clamped node's field is 0: nothing flows back through it */
    }
    if (s > 0) {
      for (size_t q = 0; q < c->n; q++) {
        PetscReal acc = 0;
        for (PetscInt j = 0; j < s; j++)
          if (tab->a[s][j] != 0) acc += tab->a[s][j] * c->F[j][q];
        c->Y[q] = y[q] + dt * acc;
      }
      Ys = c->Y;
    }
    for (PetscInt b = 0; b < dyn->B; b++) cw[b] = -dyn->adj.wt[b] * dt * tab->b[s];
    PetscCall(Vjp(dyn, Ys, c->Fbar, cw, c->Ybar[s]));
  }
  for (PetscInt s = 0; s < tab->s; s++)
    if (used[s])
      for (size_t q = 0; q < c->n; q++) lam[q] += c->Ybar[s][q];
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnContAdjointStep(TnDyn dyn, PetscInt k, const PetscScalar *ak, const PetscScalar *ak1, const PetscReal *save)
{
  TnCont   *c  = (TnCont *)dyn->data;
  PetscReal dt = c->dt0[k];
  PetscFunctionBeginUser;
  PetscCall(PetscArraycpy(c->Fbar, ak, c->n)); /* Fbar is free until the steps are reversed */
  PetscCall(TnContIntegrate(dyn, c->tab, dyn->adapt, c->Fbar, dyn->h, &dt, NULL, NULL, PETSC_TRUE, NULL, NULL));
  for (PetscInt n = c->ntraj - 1; n >= 0; n--) PetscCall(StepBack(dyn, c->traj + (size_t)n * c->n, c->dts[n]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnContAdjointSetUp(TnDyn dyn, size_t *nsave)
{
  TnCont *c = (TnCont *)dyn->data;
  PetscFunctionBeginUser;
  *nsave           = 0;
  dyn->adj.inplace = PETSC_TRUE;
  for (PetscInt s = 0; s < c->tab->s; s++) PetscCall(PetscMalloc1(c->n + 1, &c->Ybar[s]));
  PetscCall(PetscMalloc1(c->n + 1, &c->Fbar));
  dyn->adj.bytes += 8.0 * (c->tab->s + 1) * c->n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnContAdjointReset(TnDyn dyn)
{
  TnCont *c = (TnCont *)dyn->data;
  PetscFunctionBeginUser;
  for (PetscInt s = 0; s < TN_RK_MAXSTAGES; s++) PetscCall(PetscFree(c->Ybar[s]));
  PetscCall(PetscFree(c->Fbar));
  PetscCall(PetscFree(c->traj));
  PetscCall(PetscFree(c->dts));
  c->ntraj = c->maxtraj = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}
