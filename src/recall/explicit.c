/* The explicit field: W's values on the net's pattern P are set from the
   patterns, W_ij = c_ij / k_i with the integer c_ij = sum_mu xi_i^mu xi_j^mu
   = p - 2 popcount(bits_i XOR bits_j) and k_i the off-diagonal in-degree
   (W_ii = 0 when P has the diagonal), and h_i = sum_j W_ij s_j is computed
   on P, the off-process s_j through the net's halo (TnNetCreateHalo).
   h_i is a multiple of 1/k_i (an integer over k_i) computed with a rounding
   error far below 1/(2 k_i), so |h_i| < 1/(2 k_i) is the tie h_i = 0, which
   keeps s_i: the same decisions as the exact integer arithmetic of the
   overlap form. Asynchronous: colour by colour, a halo exchange before each
   colour (nodes of one colour share no edge of P + P^T, so their order does
   not matter); the colours are the colored scheme's (src/dyn/impls/colored)
   or, for a full net, the natural node numbers (node by node). */
#include "recallimpl.h"
#include <tenor/dyn.h>

PetscErrorCode TnRecallResetExplicit(TnRecall r)
{
  PetscFunctionBeginUser;
  PetscCall(VecDestroy(&r->x));
  PetscCall(VecDestroy(&r->G));
  PetscCall(VecScatterDestroy(&r->halo));
  PetscCall(PetscFree(r->krow));
  PetscCall(PetscFree2(r->cptr, r->crow));
  PetscCall(PetscFree(r->hnew));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Colour of each local row: the colored scheme's colouring (computed, or
   -dyn_coloring_file), or the natural number for a full net. */
static PetscErrorCode Colors(TnRecall r, PetscInt col[])
{
  const char *type;
  PetscBool   full;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetType(r->net, &type));
  PetscCall(PetscStrcmp(type, TNNET_FULL, &full));
  if (full) { /* each node its own colour: node by node in natural order */
    for (PetscInt i = 0; i < r->m; i++) col[i] = r->nat[i];
    r->ncolors = r->N;
  } else {
    TnDyn           dyn;
    TnScheme        scheme;
    const PetscInt *c;
    PetscBool       colored;
    PetscCall(TnDynCreate(r->net, &dyn));
    PetscCall(TnDynSetScheme(dyn, TN_SCHEME_COLORED));
    PetscCall(TnDynSetBatchSize(dyn, 1));
    PetscCall(TnDynSetFromOptions(dyn));
    PetscCall(TnDynGetParams(dyn, &scheme, NULL, NULL, NULL, NULL, NULL));
    PetscCall(PetscStrcmp(scheme, TN_SCHEME_COLORED, &colored));
    PetscCall(TnErrorSync(r->comm, (PetscBool)!colored, "tenor recall's asynchronous update goes by the colored scheme's colouring: drop -dyn_scheme (or use -recall_update sync)"));
    PetscCall(TnDynSetUp(dyn));
    PetscCall(TnDynGetNumColors(dyn, &r->ncolors));
    PetscCall(TnDynGetColors(dyn, &c));
    PetscCall(PetscArraycpy(col, c, r->m));
    PetscCall(TnDynDestroy(&dyn));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRecallSetUpExplicit(TnRecall r)
{
  Mat                W, Ad, Ao;
  TnParamLayout      L;
  const PetscInt    *natural, *ia, *ja, *oia, *oja;
  const PetscScalar *pg;
  PetscScalar       *param, *px;
  PetscInt           n, ng, *gnat, *col;
  PetscInt64         ksum = 0;
  PetscBool          done;
  const PetscInt     p = r->p, nw = r->nw;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetMat(r->net, &W));
  PetscCall(TnNetGetNatural(r->net, &natural));
  PetscCall(TnNetGetParamLayout(r->net, &L));
  r->m = L.m;
  PetscCall(PetscMalloc3(r->m + 1, &r->nat, r->m + 1, &r->key, r->m + 1, &r->s));
  PetscCall(PetscArraycpy(r->nat, natural, r->m));

  /* natural numbers of the ghost columns, through the halo */
  PetscCall(MatCreateVecs(W, &r->x, NULL));
  PetscCall(TnNetCreateHalo(r->net, r->x, 1, NULL, &r->G, &r->halo));
  PetscCall(VecGetArray(r->x, &px));
  for (PetscInt i = 0; i < r->m; i++) px[i] = (PetscScalar)natural[i];
  PetscCall(VecRestoreArray(r->x, &px));
  PetscCall(VecScatterBegin(r->halo, r->x, r->G, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(r->halo, r->x, r->G, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGetLocalSize(r->G, &ng));
  PetscCall(PetscMalloc1(ng + 1, &gnat));
  PetscCall(VecGetArrayRead(r->G, &pg));
  for (PetscInt q = 0; q < ng; q++) gnat[q] = (PetscInt)PetscRealPart(pg[q]);
  PetscCall(VecRestoreArrayRead(r->G, &pg));

  /* W_ij = c_ij / k_i on P, W_ii = 0 */
  PetscCall(MatMPIAIJGetSeqAIJ(W, &Ad, &Ao, NULL));
  PetscCall(MatGetRowIJ(Ad, 0, PETSC_FALSE, PETSC_FALSE, &n, &ia, &ja, &done));
  PetscCheck(done, PETSC_COMM_SELF, PETSC_ERR_SUP, "cannot access W's CSR arrays");
  PetscCall(MatGetRowIJ(Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &oia, &oja, &done));
  PetscCheck(done, PETSC_COMM_SELF, PETSC_ERR_SUP, "cannot access W's CSR arrays");
  PetscCall(TnNetGetParamArray(r->net, &param, NULL));
  PetscCall(PetscMalloc1(r->m + 1, &r->krow));
  for (PetscInt i = 0; i < r->m; i++) {
    const uint64_t *bi = r->xi + (size_t)natural[i] * nw;
    PetscInt        k  = oia[i + 1] - oia[i];
    for (PetscInt t = ia[i]; t < ia[i + 1]; t++) k += ja[t] != i;
    r->krow[i] = k;
    ksum += k;
    for (PetscInt t = ia[i]; t < ia[i + 1]; t++) {
      const uint64_t *bj = r->xi + (size_t)natural[ja[t]] * nw;
      PetscInt        d  = 0;
      for (PetscInt w = 0; w < nw; w++) d += __builtin_popcountll(bi[w] ^ bj[w]);
      param[t] = ja[t] == i ? 0.0 : (PetscScalar)((PetscReal)(p - 2 * d) / (PetscReal)k);
    }
    for (PetscInt t = oia[i]; t < oia[i + 1]; t++) {
      const uint64_t *bj = r->xi + (size_t)gnat[oja[t]] * nw;
      PetscInt        d  = 0;
      for (PetscInt w = 0; w < nw; w++) d += __builtin_popcountll(bi[w] ^ bj[w]);
      param[L.nd + t] = (PetscScalar)((PetscReal)(p - 2 * d) / (PetscReal)k);
    }
  }
  PetscCall(MatRestoreRowIJ(Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &oia, &oja, &done));
  PetscCall(MatRestoreRowIJ(Ad, 0, PETSC_FALSE, PETSC_FALSE, &n, &ia, &ja, &done));
  PetscCall(TnNetSetParams(r->net, param, 0, PETSC_FALSE)); /* W's object state moves on, W_ii refreshed */
  PetscCall(PetscFree(gnat));
  {
    PetscInt64 kl = ksum, kg;
    PetscCallMPI(MPI_Allreduce(&kl, &kg, 1, MPIU_INT64, MPI_SUM, r->comm));
    r->kmean = (PetscReal)kg / (PetscReal)r->N;
  }

  /* local rows grouped by colour (counting sort); sync needs no colouring:
     one colour */
  PetscCall(PetscCalloc1(r->m + 1, &col));
  if (r->update == TN_RECALL_ASYNC)
    PetscCall(Colors(r, col));
  else
    r->ncolors = 1;
  PetscCall(PetscCalloc2(r->ncolors + 1, &r->cptr, r->m + 1, &r->crow));
  for (PetscInt i = 0; i < r->m; i++) r->cptr[col[i] + 1]++;
  for (PetscInt c = 0; c < r->ncolors; c++) r->cptr[c + 1] += r->cptr[c];
  {
    PetscInt *fill;
    PetscCall(PetscMalloc1(r->ncolors + 1, &fill));
    PetscCall(PetscArraycpy(fill, r->cptr, r->ncolors));
    for (PetscInt i = 0; i < r->m; i++) r->crow[fill[col[i]]++] = i;
    PetscCall(PetscFree(fill));
  }
  PetscCall(PetscFree(col));
  if (r->update == TN_RECALL_SYNC) PetscCall(PetscMalloc1(r->m + 1, &r->hnew));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* sign(h_i) with the tie rule (keep s_i), h_i from W's two blocks. */
static inline PetscScalar NewState(PetscInt i, PetscInt k, const PetscInt *ia, const PetscInt *ja, const PetscInt *oia, const PetscInt *oja, const PetscScalar *wd, const PetscScalar *wo, const PetscScalar *px, const PetscScalar *pg)
{
  PetscReal h = 0;
  for (PetscInt t = ia[i]; t < ia[i + 1]; t++) h += PetscRealPart(wd[t] * px[ja[t]]);
  for (PetscInt t = oia[i]; t < oia[i + 1]; t++) h += PetscRealPart(wo[t] * pg[oja[t]]);
  if (k == 0 || PetscAbsReal(h) < 0.5 / (PetscReal)k) return px[i];
  return h > 0 ? 1.0 : -1.0;
}

PetscErrorCode TnRecallRunExplicit(TnRecall r, PetscInt mu, TnRecallOutcome *out)
{
  Mat                W, Ad, Ao;
  TnParamLayout      L;
  const PetscInt    *ia, *ja, *oia, *oja;
  const PetscScalar *pg;
  PetscScalar       *param, *px;
  PetscInt           n;
  PetscBool          done;
  PetscFunctionBeginUser;
  (void)mu;
  PetscCall(TnNetGetMat(r->net, &W));
  PetscCall(TnNetGetParamLayout(r->net, &L));
  PetscCall(TnNetGetParamArray(r->net, &param, NULL));
  PetscCall(MatMPIAIJGetSeqAIJ(W, &Ad, &Ao, NULL));
  PetscCall(MatGetRowIJ(Ad, 0, PETSC_FALSE, PETSC_FALSE, &n, &ia, &ja, &done));
  PetscCheck(done, PETSC_COMM_SELF, PETSC_ERR_SUP, "cannot access W's CSR arrays");
  PetscCall(MatGetRowIJ(Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &oia, &oja, &done));
  PetscCheck(done, PETSC_COMM_SELF, PETSC_ERR_SUP, "cannot access W's CSR arrays");
  PetscCall(VecGetArray(r->x, &px));
  for (PetscInt i = 0; i < r->m; i++) px[i] = r->s[i];
  PetscCall(VecRestoreArray(r->x, &px));
  for (PetscInt sweep = 0; sweep < r->maxsweeps; sweep++) {
    PetscInt64 loc = 0, flips;
    if (r->update == TN_RECALL_SYNC) {
      PetscCall(VecScatterBegin(r->halo, r->x, r->G, INSERT_VALUES, SCATTER_FORWARD));
      PetscCall(VecScatterEnd(r->halo, r->x, r->G, INSERT_VALUES, SCATTER_FORWARD));
      PetscCall(VecGetArray(r->x, &px));
      PetscCall(VecGetArrayRead(r->G, &pg));
      for (PetscInt i = 0; i < r->m; i++) r->hnew[i] = NewState(i, r->krow[i], ia, ja, oia, oja, param, param + L.nd, px, pg);
      for (PetscInt i = 0; i < r->m; i++) {
        loc += r->hnew[i] != px[i];
        px[i] = r->hnew[i];
      }
      PetscCall(VecRestoreArrayRead(r->G, &pg));
      PetscCall(VecRestoreArray(r->x, &px));
    } else {
      for (PetscInt c = 0; c < r->ncolors; c++) {
        PetscCall(VecScatterBegin(r->halo, r->x, r->G, INSERT_VALUES, SCATTER_FORWARD));
        PetscCall(VecScatterEnd(r->halo, r->x, r->G, INSERT_VALUES, SCATTER_FORWARD));
        if (r->cptr[c] == r->cptr[c + 1]) continue;
        PetscCall(VecGetArray(r->x, &px));
        PetscCall(VecGetArrayRead(r->G, &pg));
        for (PetscInt q = r->cptr[c]; q < r->cptr[c + 1]; q++) {
          const PetscInt    i = r->crow[q];
          const PetscScalar v = NewState(i, r->krow[i], ia, ja, oia, oja, param, param + L.nd, px, pg);
          loc += v != px[i];
          px[i] = v;
        }
        PetscCall(VecRestoreArrayRead(r->G, &pg));
        PetscCall(VecRestoreArray(r->x, &px));
      }
    }
    PetscCallMPI(MPI_Allreduce(&loc, &flips, 1, MPIU_INT64, MPI_SUM, r->comm));
    if (!flips) {
      out->converged = PETSC_TRUE;
      break;
    }
    out->sweeps++;
    out->flips += flips;
  }
  PetscCall(MatRestoreRowIJ(Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &oia, &oja, &done));
  PetscCall(MatRestoreRowIJ(Ad, 0, PETSC_FALSE, PETSC_FALSE, &n, &ia, &ja, &done));
  PetscCall(VecGetArray(r->x, &px));
  for (PetscInt i = 0; i < r->m; i++) r->s[i] = PetscRealPart(px[i]) > 0 ? 1 : -1;
  PetscCall(VecRestoreArray(r->x, &px));
  PetscFunctionReturn(PETSC_SUCCESS);
}
