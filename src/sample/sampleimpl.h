/* Private: the sampler. It borrows the dynamics' private state (kernel views
   of W, the halo buffers pbuf/P/G and the colouring), so it lives in the same
   library and includes dynimpl.h. Invariant: t and y hold m*B values for the
   B of the dynamics they were allocated for (nwork). */
#pragma once
#include <tenor/sample.h>
#include "../dyn/dynimpl.h"

struct _p_TnSampler {
  TnDyn          dyn;
  MPI_Comm       comm;
  PetscInt       seed, maxit;
  PetscReal      tol;
  PetscReal     *t, *y; /* sync: the target a_{k+1} and the products N(a) */
  size_t         nwork;
  TnSamplerStats stats;
};

/* Inverse of one step of each scheme, in place on the local block a. */
PetscErrorCode TnSamplerStepInverse_Sync(TnSampler s, PetscInt k, PetscScalar *a);
PetscErrorCode TnSamplerStepInverse_Colored(TnSampler s, PetscScalar *a);

extern PetscLogEvent TN_SampleInvert;
