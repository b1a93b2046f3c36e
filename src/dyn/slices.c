/* A CSR block in row slices for the rate form's row passes at B = 1
   (TnSlices, dynimpl.h). Invariant: entry (t, r) of slice s is synapse ia[i] + t of
   row i = TN_SLICE s + r when t < that row's count, else value 0 and column
   0 (never added); a regular slice stores its row 0's columns only. The
   values follow W through the parameter version, as the column panels'. */
#include "dynimpl.h"

/* Rows i0 .. i0 + TN_SLICE of A: every row has w synapses and row r's t-th
   column is row 0's t-th plus r. */
static PetscBool SliceIsRegular(const TnCSR *A, PetscInt i0, PetscInt w)
{
  for (PetscInt r = 0; r < TN_SLICE; r++) {
    const PetscInt *jr = A->ja + A->ia[i0 + r], *j0 = A->ja + A->ia[i0];
    if (A->ia[i0 + r + 1] - A->ia[i0 + r] != w) return PETSC_FALSE;
    for (PetscInt t = 0; t < w; t++)
      if (jr[t] != j0[t] + r) return PETSC_FALSE;
  }
  return PETSC_TRUE;
}

PetscErrorCode TnSlicesCreate(TnDyn dyn, const TnCSR *A, PetscInt rows, TnSlices *S)
{
  PetscInt ns = rows / TN_SLICE, nreg = 0;
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(S, sizeof(*S)));
  S->version = -1;
  if (!dyn->slices || dyn->form != TN_FORM_RATE || dyn->B != 1 || ns == 0) PetscFunctionReturn(PETSC_SUCCESS); /* where the slice pass runs: the rate form at B = 1 */
  PetscCheck(rows <= INT32_MAX, PETSC_COMM_SELF, PETSC_ERR_SUP, "row slices need fewer than 2^31 rows per rank (%" PetscInt_FMT "): use -dyn_slices 0", rows);
  PetscCall(PetscMalloc2(ns + 1, &S->vptr, ns + 1, &S->jptr));
  S->vptr[0] = S->jptr[0] = 0;
  for (PetscInt s = 0; s < ns; s++) {
    const PetscInt i0 = TN_SLICE * s;
    PetscInt       w  = 0;
    for (PetscInt r = 0; r < TN_SLICE; r++) w = PetscMax(w, A->ia[i0 + r + 1] - A->ia[i0 + r]);
    const PetscBool reg = (PetscBool)(w > 0 && SliceIsRegular(A, i0, w));
    S->vptr[s + 1]      = S->vptr[s] + w;
    S->jptr[s + 1]      = S->jptr[s] + (reg ? w : TN_SLICE * w);
    nreg += reg;
  }
  /* Kept only where at least half the slices are regular (a lattice's
     band): where they gather (er), the slice pass was slower than the row
     loop in a quiet A/B of whole steps (er N = 10^6, k = 32, B = 1: colored
     0.113-0.125 s against 0.081-0.095 s on 1 rank, sync 0.058 against
     0.037 s on 2 ranks; docs/architecture.md, "Row slices at B = 1"), and
     their copy costs 12 bytes per synapse. The choice is per rank and
     block; the results are the same either way. */
  if (2 * nreg < ns && !dyn->slicesall) {
    PetscCall(PetscInfo(NULL, "no row slices: %" PetscInt_FMT " of %" PetscInt_FMT " slices regular\n", nreg, ns));
    PetscCall(PetscFree2(S->vptr, S->jptr));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(PetscMalloc1((size_t)TN_SLICE * S->vptr[ns], &S->va));
  PetscCall(PetscMalloc1((size_t)S->jptr[ns], &S->ja));
  TnMemoryAdviseHuge(S->va, sizeof(PetscReal) * TN_SLICE * S->vptr[ns]); /* streamed: fewer TLB misses */
  TnMemoryAdviseHuge(S->ja, sizeof(int) * S->jptr[ns]);
  PetscCall(PetscArrayzero(S->va, (size_t)TN_SLICE * S->vptr[ns]));
  PetscCall(PetscArrayzero(S->ja, (size_t)S->jptr[ns]));
  for (PetscInt s = 0; s < ns; s++) { /* a regular slice: row 0's columns; another: every entry's */
    const PetscBool reg = TnSliceRegular(S, s);
    int            *js  = S->ja + S->jptr[s];
    for (PetscInt r = 0; r < (reg ? 1 : TN_SLICE); r++) {
      const PetscInt i = TN_SLICE * s + r;
      for (PetscInt t = A->ia[i]; t < A->ia[i + 1]; t++) js[reg ? t - A->ia[i] : TN_SLICE * (t - A->ia[i]) + r] = (int)A->ja[t];
    }
  }
  S->ns = ns;
  PetscCall(TnSlicesUpdate(dyn, A, S));
  PetscCall(PetscInfo(NULL, "a block of W in %" PetscInt_FMT " slices of %d rows, %" PetscInt_FMT " regular; %" PetscInt_FMT " value entries for %" PetscInt_FMT " synapses\n", ns, TN_SLICE, nreg, (PetscInt)TN_SLICE * S->vptr[ns], A->ia[TN_SLICE * ns]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSlicesUpdate(TnDyn dyn, const TnCSR *A, TnSlices *S)
{
  PetscInt64 version;
  PetscFunctionBeginUser;
  if (!S->ns) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnNetGetParamVersion(dyn->net, &version));
  if (version == S->version) PetscFunctionReturn(PETSC_SUCCESS);
  for (PetscInt s = 0; s < S->ns; s++) {
    PetscReal *vs = S->va + (size_t)TN_SLICE * S->vptr[s];
    for (PetscInt r = 0; r < TN_SLICE; r++) {
      const PetscInt i = TN_SLICE * s + r;
      for (PetscInt t = A->ia[i]; t < A->ia[i + 1]; t++) vs[TN_SLICE * (t - A->ia[i]) + r] = A->va[t];
    }
  }
  S->version = version;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSlicesDestroy(TnSlices *S)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree2(S->vptr, S->jptr));
  PetscCall(PetscFree(S->ja));
  PetscCall(PetscFree(S->va));
  S->ns = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}
