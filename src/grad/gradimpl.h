/* Private: the gradient engine, a driver of the dynamics' reverse mode
   (TnDynAdjoint*, each scheme's own adjoint step) that owns the trajectory.
   Invariant after SetUp: theta's local part has the network's parameter
   layout (TnNetGetParamLayout); the trajectory is stored as checkpoints
   every `seg` steps (a_0, a_seg, ...), the other seg - 1 states of one
   segment (segbuf), and a_K (compute.c, Slot); with the scheme's save
   entries (nsave per state, e.g. phi(a_k)) of the states of one segment. */
#pragma once
#include <tenor/grad.h>

struct _p_TnGrad {
  TnDyn            dyn;
  TnNet            net;
  MPI_Comm         comm;
  TnGradCheckpoint ckpt, used;
  PetscBool        setup;
  PetscInt         m, B, K, nlocal;
  char             scheme[64]; /* the dynamics' configuration at SetUp */
  TnForm           form;
  TnAct            act;
  PetscInt         seg, nseg;           /* segment length, number of segments */
  PetscScalar     *ckpts, *segbuf, *aK; /* nseg states, seg - 1 states, a_K */
  size_t           nsave;               /* the scheme's save entries per state */
  PetscReal       *save;                /* seg states' save entries */
  PetscLogDouble   bytes;
  PetscScalar     *lstate; /* the local rule (local.c): a_k and a_{k+1}, 2 lsize values */
  size_t           lsize;
};

extern PetscLogEvent TN_Gradient;
