/* Private: the continuous scheme (impls/continuous), docs/model.md section 2:
   da/dt = f(a) on [0, T], reported on K intervals of length h = T / K, and
     log|det da(T)/da(0)| = int_0^T sum_i A_ii(a(t)) dt   (Liouville)
   integrated alongside the state. Each interval is integrated by an explicit
   Runge-Kutta method: Dormand-Prince 5(4) with error control on the state
   and on the log-det integral (adaptive), or one classical RK4 step.
   Invariant: dt0[k] is the first trial step of interval k, written by the
   forward step k - 1, so that interval k integrated again from a_k takes the
   same steps (the adjoint step and the gradient's recomputation rely on it). */
#pragma once
#include "../../dynimpl.h"

#define TN_RK_MAXSTAGES 7

typedef struct {
  const char *name;
  PetscInt    s;                                      /* stages */
  PetscInt    order;                                  /* of the error estimate's pair (controller exponent 1/order) */
  PetscBool   fsal;                                   /* the last stage is f at the new state */
  PetscReal   c[TN_RK_MAXSTAGES];                     /* nodes */
  PetscReal   a[TN_RK_MAXSTAGES][TN_RK_MAXSTAGES];    /* a[s][j], j < s */
  PetscReal   b[TN_RK_MAXSTAGES], e[TN_RK_MAXSTAGES]; /* weights; e = b - bhat (none: all 0) */
} TnRKTableau;

extern const TnRKTableau TnRK_DP54, TnRK_RK4;

typedef struct {
  const TnRKTableau *tab;
  size_t             n;                      /* m * B */
  PetscReal         *F[TN_RK_MAXSTAGES];     /* stage derivatives f(Y_s) */
  PetscReal         *Ad, *A0;                /* A_ii at the stage being evaluated, at the step's start */
  PetscReal         *Y, *ynew, *tacc, *terr; /* a stage state; the new state; sum_s b_s A_s, sum_s e_s A_s per node */
  PetscReal         *dt0;                    /* K + 1 first trial steps */
  PetscReal         *S;                      /* current form: s = W Y + b */
  /* adjoint */
  PetscReal *Ybar[TN_RK_MAXSTAGES]; /* adjoints of the stage states */
  PetscReal *Fbar;                  /* the adjoint of one stage derivative */
  PetscReal *traj, *dts;            /* the accepted steps of one interval: start states and sizes */
  PetscInt   ntraj, maxtraj;
  /* statistics since SetUp */
  PetscInt64 steps, rejected, evals;
} TnCont;

/* f(Y) -> F and A_ii(Y) -> Ad (m*B each); one halo exchange, overlapped. */
PetscErrorCode TnContField(TnDyn dyn, const PetscReal *Y, PetscReal *F, PetscReal *Ad);
/* Integrates an interval of length len (< 0: backwards) from y (in place)
   with tab (adaptive when it has an error estimate: tab->order > 0 and
   adapt), starting from the trial step *dt (updated to the next proposal);
   ldet[b] += int sum_i A_ii dt, nodeacc[i] -= its node i part for the real
   samples; record: keep each accepted step's start state and size (traj,
   dts). */
PetscErrorCode TnContIntegrate(TnDyn dyn, const TnRKTableau *tab, PetscBool adapt, PetscReal *y, PetscReal len, PetscReal *dt, PetscReal *ldet, PetscReal *nodeacc, PetscBool record, PetscInt64 *steps, PetscInt64 *rejected);
PetscErrorCode TnContAdjointSetUp(TnDyn dyn, size_t *nsave);
PetscErrorCode TnContAdjointReset(TnDyn dyn);
PetscErrorCode TnContAdjointStep(TnDyn dyn, PetscInt k, const PetscScalar *ak, const PetscScalar *ak1, const PetscReal *save);
