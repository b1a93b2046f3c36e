/* Private: the sync scheme's state (impls/sync). */
#pragma once
#include "../../dynimpl.h"

typedef struct {
  PetscReal *S; /* current form: the synaptic input W a + b (forward), then mu (adjoint) */
  /* adjoint, rate form with B >= 4: Ad transposed (CSC of Ad): column j's
     rows tja[tia[j] .. tia[j+1]) and their positions in Ad; W's values
     gathered in that order once per gradient (tva) and dL/dW accumulated in
     that order (tgW), scattered back once */
  PetscInt  *tia, *tja, *tperm;
  PetscReal *tva, *tgW;
  PetscBool  storep; /* rate, tanh: phi(a_k) kept from the forward pass */
  PetscReal *t, *y;  /* inverse: the target a_{k+1} and the products N(a) */
} TnSync;

PetscErrorCode TnSyncStep(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *pa, PetscReal *ldet, PetscReal *nodeacc);
PetscErrorCode TnSyncAdjointSetUp(TnDyn dyn, size_t *nsave);
PetscErrorCode TnSyncAdjointReset(TnDyn dyn);
PetscErrorCode TnSyncAdjointBegin(TnDyn dyn);
PetscErrorCode TnSyncAdjointStep(TnDyn dyn, PetscInt k, const PetscScalar *ak, const PetscScalar *ak1, const PetscReal *pk);
PetscErrorCode TnSyncAdjointEnd(TnDyn dyn);
PetscErrorCode TnSyncLocalStep(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *ldet);
PetscErrorCode TnSyncInverseStep(TnDyn dyn, PetscInt k, PetscScalar *a, TnDynInverseStats *st);
