/* Private: the gradient engine. Invariant after SetUp: theta's local part is
   [Ad values (nd), Ao values (no), b (m), u = log gamma (m)]; the dynamics is
   set up and its kernels' views (dyn->d, dyn->o, bias, gamma, wdiag) are the
   storage TnGradSetParams writes through. The trajectory is stored as
   checkpoints every `seg` steps (a_0, a_seg, ...), the other seg - 1 states
   of one segment (segbuf), and a_K (compute.c, Slot).

   Adjoint state: lam (m*B, node-major, sample-fastest like the state) holds
   lambda weighted by omega_b = 1/nvalid for real samples and 0 for padding,
   so every parameter gradient is the plain sum over the batch. */
#pragma once
#include <tenor/grad.h>
#include "../dyn/dynimpl.h"

struct _p_TnGrad {
  TnDyn            dyn;
  MPI_Comm         comm;
  TnGradCheckpoint ckpt, used;
  PetscBool        setup;
  PetscInt         m, B, K, nghost, nd, no, nlocal;
  TnScheme         scheme; /* the dynamics' configuration at SetUp */
  TnForm           form;
  TnAct            act;
  PetscInt        *diagpos;             /* position of W_ii in Ad's values, or -1 */
  PetscInt        *natrow, *natcol;     /* TnGradGetParamMap */
  PetscInt         seg, nseg;           /* segment length, number of segments */
  PetscScalar     *ckpts, *segbuf, *aK; /* nseg states, seg states, a_K */
  PetscReal       *lam, *lamnew;        /* lambda_{k+1} and lambda_k (they swap) */
  PetscReal       *lamall;              /* their storage */
  PetscReal       *p;                   /* colored, rate: phi(a) of the state a substep reads;
                                           sync, storep: phi(a_k) of the seg states of a segment */
  PetscBool storep;                     /* sync, rate, tanh: keep phi(a_k) from the forward pass */
  PetscInt *tia, *tja, *tperm;          /* sync, rate: Ad transposed (CSC of Ad): column j's rows
                                           tja[tia[j] .. tia[j+1]) and their positions in Ad */
  PetscReal *tva, *tgW;                 /* the same: W's values, gathered once per gradient, and
                                           dL/dW accumulated in that order, scattered back once */
  PetscReal     *mix;                   /* colored: the state before the substep */
  PetscReal     *S;                     /* current form: s = W a + b, then mu */
  PetscReal     *wt;                    /* omega_b */
  PetscReal     *gbuf;                  /* Gp's array */
  Vec            Pv, Gp;                /* forward halo: a wrapper of what is sent, ghost copy */
  Vec            Lv, Gy;                /* reverse halo: ghost contributions added into lambda */
  PetscLogDouble bytes;
};

extern PetscLogEvent TN_Gradient;

/* One backward step k: lam (lambda_{k+1}) -> lambda_k, accumulating into
   the gradient arrays gW (Ad then Ao values), gb, gg (d/dgamma). ak, ak1:
   the states before and after step k. */
typedef struct {
  PetscReal *gW, *gb, *gg;
} TnGradAcc;
PetscErrorCode TnGradBackStep_Sync(TnGrad g, const PetscScalar *ak, const PetscReal *pk, TnGradAcc *acc);
PetscErrorCode TnGradBackStep_Colored(TnGrad g, const PetscScalar *ak, const PetscScalar *ak1, TnGradAcc *acc);

/* Per-node, per-sample quantities of the local loss at one state. For the
   step's (or substep's) diagonal entry hA = h(-gamma + w_ii d),
   d = phi'(t), t = phi(a) (rate) or phi(s) (current) already evaluated:
     c    = d l / d A_ii = -omega h T'(hA), T' = 1/(1 + hA) (diag) or 1 (trace)
     phi2 = phi''(.) = -2 t d (tanh) or 0 (linear). */
TN_INLINE void TnGradLocal(PetscBool lin, PetscBool diag, PetscReal h, PetscReal gi, PetscReal wi, PetscReal omega, PetscReal t, PetscReal *d, PetscReal *phi2, PetscReal *c)
{
  PetscReal dd = lin ? 1.0 : 1.0 - t * t, hA = h * (-gi + wi * dd);
  *d    = dd;
  *phi2 = lin ? 0.0 : -2.0 * t * dd;
  *c    = -omega * h * (diag ? 1.0 / (1.0 + hA) : 1.0);
}

/* One synapse w = W_ij of the transposed product for B samples:
   o_j += w phi'(x_j) v (rate, tanh: phi' = 1 - x^2 from x = phi(a)) or
   w v (else), and the return value sum_b v_b x_jb (the synapse's gradient),
   summed in four lanes then pairwise: a fixed order that vectorises. */
TN_INLINE PetscReal TnGradSynapse(PetscReal w, const PetscReal *restrict v, const PetscReal *restrict xj, PetscReal *restrict oj, PetscBool ratetanh, const PetscInt B)
{
  PetscReal s[4] = {0, 0, 0, 0};
  PetscInt  b    = 0;
  for (; b + 4 <= B; b += 4)
    for (PetscInt l = 0; l < 4; l++) {
      s[l] += v[b + l] * xj[b + l];
      oj[b + l] += w * (ratetanh ? 1.0 - xj[b + l] * xj[b + l] : 1.0) * v[b + l];
    }
  for (; b < B; b++) {
    s[0] += v[b] * xj[b];
    oj[b] += w * (ratetanh ? 1.0 - xj[b] * xj[b] : 1.0) * v[b];
  }
  return (s[0] + s[1]) + (s[2] + s[3]);
}

/* Forward and reverse halo exchanges over the dynamics' block scatter. */
PetscErrorCode TnGradHaloBegin(TnGrad g, const PetscReal *send);
PetscErrorCode TnGradHaloEnd(TnGrad g, const PetscReal **ghost);
PetscErrorCode TnGradReverseBegin(TnGrad g, PetscReal *into);
PetscErrorCode TnGradReverseEnd(TnGrad g);
