/* Private: the sync scheme's state (impls/sync). */
#pragma once
#include "../../dynimpl.h"

/* Ad at B = 1 in slices of TN_SLICE rows (slices.c), the rate form's row
   pass reading them TN_SLICE rows at a time, one row per vector lane
   (RateOnProcessSlices, sync.c). Slice s holds rows TN_SLICE s + r,
   r < TN_SLICE, column-major: its width w_s is the longest row's synapse
   count, and entry (t, r) is row TN_SLICE s + r's t-th synapse in Ad's own
   order (a shorter row's missing entries are 0 and never added), so each
   row's sum keeps its terms and their order. The slice is regular when its
   rows have w_s synapses each and row r's t-th column is row 0's plus r (a
   band of a lattice): it keeps one column per t, and the t-th terms of its
   rows read TN_SLICE consecutive entries of phi(a); otherwise it keeps
   every entry's column and gathers. va copies Ad's values, refreshed when
   the network's parameter version moves (TnNetGetParamVersion). The rows
   past TN_SLICE ns (fewer than TN_SLICE) go row by row. */
#define TN_SLICE 8
typedef struct {
  PetscInt   ns;          /* slices; 0: none (ns = 0 also when not built) */
  PetscInt  *vptr, *jptr; /* slice s: values va[TN_SLICE vptr[s] .. TN_SLICE vptr[s+1]) (w_s = vptr[s+1] - vptr[s]); columns ja[jptr[s] .. jptr[s+1]): w_s of them if regular, else TN_SLICE w_s */
  int       *ja;
  PetscReal *va;
  PetscInt64 version; /* the network's parameter version va was copied at */
} TnSlices;

typedef struct {
  PetscReal *S; /* current form: the synaptic input W a + b (forward), then mu (adjoint) */
  /* adjoint, rate form with B >= 4: Ad transposed (CSC of Ad): column j's
     rows tja[tia[j] .. tia[j+1]) and their positions in Ad; W's values
     gathered in that order once per gradient (tva) and dL/dW accumulated in
     that order (tgW), scattered back once */
  PetscInt  *tia, *tja, *tperm;
  PetscInt   tnp; /* the transpose's panels (tia holds tnp blocks of m + 1) */
  PetscReal *tva, *tgW;
  PetscBool  storep; /* rate, tanh: phi(a_k) kept from the forward pass */
  PetscReal *t, *y;  /* inverse: the target a_{k+1} and the products N(a) */
  /* column panels of Ad (when its columns are scattered) and of Ao, when
     the state they gather from exceeds the panel size (SetUp); ybuf: the
     rate form's partial row sums between panels */
  TnPanels   pd, po;
  PetscReal *ybuf;
  TnSlices   sd; /* Ad's slices (rate form, B = 1, no panels of Ad) */
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

/* Ad's slices (slices.c): build them from Ad's pattern (values copied by
   the update, when the parameter version moves); free. */
PetscErrorCode      TnSlicesCreate(TnDyn dyn, const TnCSR *A, PetscInt rows, TnSlices *S);
PetscErrorCode      TnSlicesUpdate(TnDyn dyn, const TnCSR *A, TnSlices *S);
PetscErrorCode      TnSlicesDestroy(TnSlices *S);
TN_INLINE PetscBool TnSliceRegular(const TnSlices *S, PetscInt s)
{
  return (PetscBool)(S->jptr[s + 1] - S->jptr[s] < TN_SLICE * (S->vptr[s + 1] - S->vptr[s]));
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
PetscErrorCode TnSyncInverseStep(TnDyn dyn, PetscInt k, PetscScalar *a, TnDynInverseStats *st);
