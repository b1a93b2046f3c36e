/* Private: the colored scheme's state (impls/colored). Rows of colour c are
   crows[cptr[c] .. cptr[c+1]), the first cnint[c] of them interior (no
   off-process synapse). */
#pragma once
#include "../../dynimpl.h"

typedef struct {
  PetscInt   ncolors, *colors, *cptr, *crows, *cnint;
  PetscReal *mix; /* adjoint: the state before the substep */
  PetscReal *p;   /* adjoint, rate: phi(mix) */
} TnColored;

PetscErrorCode TnColoredColoringSetUp(TnDyn dyn);
PetscErrorCode TnColoredAdjointSetUp(TnDyn dyn, size_t *nsave);
PetscErrorCode TnColoredAdjointReset(TnDyn dyn);
PetscErrorCode TnColoredAdjointStep(TnDyn dyn, PetscInt k, const PetscScalar *ak, const PetscScalar *ak1, const PetscReal *save);
PetscErrorCode TnColoredInverseStep(TnDyn dyn, PetscInt k, PetscScalar *a, TnDynInverseStats *st);
