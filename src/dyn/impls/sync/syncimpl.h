/* Private: the sync scheme's state (impls/sync). */
#pragma once
#include "../../dynimpl.h"

typedef struct {
  PetscReal *S; /* current form: the synaptic input W a + b (forward), then mu (adjoint) */
  /* adjoint, rate form, by columns (TnSyncAdjointSetUp): Ad transposed (CSC of Ad): column j's
     rows tja[tia[j] .. tia[j+1]) and their positions in Ad; W's values
     gathered in that order once per gradient (tva) and dL/dW accumulated in
     that order (tgW), scattered back once */
  PetscInt  *tia, *tja, *tperm;
  PetscInt   tnp; /* the transpose's panels (tia holds tnp blocks of m + 1) */
  PetscReal *tva, *tgW;
  PetscReal *tgd; /* dL/dW_jj's log-det terms by node j (W_jj's entry of dL/dW, copied in at AdjointBegin and back at
                     AdjointEnd): a node-ordered stream, where gW[diagpos[j]] is a cache line per node */
  /* the same of Ao, by ghost slot: slot j's rows toja[toia[j] .. toia[j+1]), their positions in Ao (toperm), W's values
     (tova) and dL/dW (togW) in that order; NULL where the rows go by rows or the rank has no ghosts */
  PetscInt  *toia, *toja, *toperm;
  PetscReal *tova, *togW;
  PetscBool  storep; /* rate, tanh: phi(a_k) kept from the forward pass */
  PetscReal *t, *y;  /* inverse: the target a_{k+1} and the products N(a) */
  /* column panels of Ad (when its columns are scattered) and of Ao, when
     the state they gather from exceeds the panel size (SetUp); ybuf: the
     rate form's partial row sums between panels */
  TnPanels   pd, po;
  PetscReal *ybuf;
  TnSlices   sd; /* Ad's row slices (rate form, B = 1, no panels of Ad) */
} TnSync;

/* y_i += (A x)_i for rows[0..nrows) (rows NULL: 0..nrows-1), panel by panel
   when P has panels (the same sums in the same order), otherwise row by
   row. */
TN_INLINE void TnSyncProduct(const TnCSR *A, const TnPanels *P, const PetscInt *rows, PetscInt nrows, const PetscReal *restrict x, PetscReal *restrict y, const PetscInt B)
{
  if (P->np > 1) {
    for (PetscInt q = 0; q < P->np; q++)
      for (PetscInt r = 0; r < nrows; r++) {
        const PetscInt i = rows ? rows[r] : r;
        TnRowTimesBlockPrefetch(&P->view[q], i, x, B, y + (size_t)i * B);
      }
  } else
    for (PetscInt r = 0; r < nrows; r++) {
      const PetscInt i = rows ? rows[r] : r;
      TnRowTimesBlock(A, i, x, B, y + (size_t)i * B);
    }
}

/* Panels up to date with W (before a product that uses them). */
PetscErrorCode TnSyncPanelsUpdate(TnDyn dyn);

PetscErrorCode TnSyncStep(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *pa, PetscReal *ldet, PetscReal *nodeacc);
PetscErrorCode TnSyncAdjointSetUp(TnDyn dyn, size_t *nsave);
PetscErrorCode TnSyncAdjointReset(TnDyn dyn);
PetscErrorCode TnSyncAdjointBegin(TnDyn dyn);
PetscErrorCode TnSyncAdjointStep(TnDyn dyn, PetscInt k, const PetscScalar *ak, const PetscScalar *ak1, const PetscReal *pk);
PetscErrorCode TnSyncAdjointEnd(TnDyn dyn);
PetscErrorCode TnSyncLocalStep(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *ldet);
PetscErrorCode TnSyncLocalRecord(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *ldet, PetscReal *x, PetscReal *y, size_t sj);
PetscErrorCode TnSyncInverseStep(TnDyn dyn, PetscInt k, PetscScalar *a, TnDynInverseStats *st);
