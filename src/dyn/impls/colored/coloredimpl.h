/* Private: the colored scheme's state (impls/colored). The rows are visited
   in the colour order: position p holds local row crows[p] (cinv its
   inverse), colour c at positions cptr[c] .. cptr[c+1), the first cnint[c]
   of them interior (no off-process synapse). The kernels read W, b, gamma,
   W_ii and the free mask in that order (order.c: copies refreshed whenever
   the network's values change) and pbuf too (phi(a) or a of position p at
   pbuf + p B), so a substep streams contiguous rows; the states a, out and
   lambda keep the partitioned order (but a and out inside an evaluation
   at B < 8: pos, ops.order). Ghost slots are grouped by colour
   (colour c at gptr[c] .. gptr[c+1) of dyn->G): halo[c] refreshes colour c's
   ghosts only, hall all of them. */
#pragma once
#include "../../dynimpl.h"

/* A block split by colour: the entries of earlier colours (CSR over
   positions) and up, the others in column panels. The earlier entries
   are held by groups of consecutive colours (ng of them; colours gc[g] ..
   gc[g+1]), group-major: lg[g] is the CSR of every row's entries whose
   columns are of group g, rows over lia + g (m + 1), columns lja, values
   lva. uhi[q]: rows [0, uhi[q]) hold every entry of panels 0 .. q of up
   (nondecreasing in q): a row's later colours are at its own colour's
   start or after, so the early panels' entries are in the early rows. */
typedef struct {
  PetscInt  *lia, *lja;
  PetscReal *lva;
  PetscInt   ng, *gc;
  TnCSR     *lg;
  TnPanels   up;
  PetscInt  *uhi;
} TnColoredSplit;

typedef struct {
  PetscInt   ncolors, *colors, *cptr, *crows, *cnint, *cinv;
  PetscReal  balance; /* sum over colours of the most rows any rank has of it / the most rows of any rank (1: even) */
  TnCSR      d, o;    /* W's two blocks in the colour order: row p is local row crows[p], its synapses in theta's order */
  PetscInt  *dia, *dja, *oia, *oja;
  PetscReal *dva, *ova;
  PetscReal *gam, *bia, *wdi, *fre; /* gamma, b, W_ii, the free mask (1: no clamp) by position */
  PetscReal *ybuf;                  /* b + Ad pbuf of one colour's boundary rows (B per row, the most of any colour) */
  TnSlices   sd;                    /* d in row slices by position (rate form, B = 1; -dyn_slices) */
  PetscInt64 pstate;                /* the network's parameter state they were copied at */
  /* the rows' sums split by colour (order.c, TnColoredSplitSetUp; where d's
     columns are scattered and the gathered state exceeds a cache slice):
     spd.lg holds row p's entries of d whose columns are of an earlier colour
     (position < cptr[colour of p]), by colour group, spd.up the others (a later colour, or
     the row itself: their values are those at the start of the step) in
     column panels; spo the same of o by the ghosts' colours (slot <
     gptr[colour of p]), where the ghosts exceed a slice too; ubuf (m B
     values) takes b + the later colours' sums of every row at the start of
     a step. spd.up.np <= 1: not split; spo.up.np <= 1: o not split. */
  TnColoredSplit spd, spo;
  PetscReal     *ubuf;
  PetscInt      *gptr;
  VecScatter     hall, *halo;
  PetscReal     *mix;  /* adjoint: the state before the substep */
  PetscReal     *p;    /* adjoint, rate: phi(mix) */
  PetscReal     *lamp; /* adjoint: lambda by position */
  /* pbuf holds phi(a) (rate) or a (current) by position for a = pfor, the
     out of the last forward sweep, step kfor - 1 (pfor NULL: for no state) */
  const PetscScalar *pfor;
  PetscInt           kfor;
  /* the states a and out in the colour order too (ops.order, between the
     steps of an evolution in place): node crows[p] at row p */
  PetscBool pos;
} TnColored;

/* The panels of a split block (TnColoredSplitSetUp) for `state` bytes of
   gathered state: one per slice of `bytes` (-dyn_panel_kb, or its
   default), none (1) with bytes = 0. Unless -dyn_panel_kb is set (`set`),
   the sync step's rule for 4 slices and more, and below that 2 panels
   where the state exceeds a quarter of a slice, none under: the split pays
   there not by its panels but by forming the later colours' sums of all
   rows in one pass, where the substeps' gathers range over all of pbuf
   (er N = 10^6, k = 32, B = 1, three alternating pairs each: 0.089-0.093 s
   per colored step with 2 panels against 0.104-0.122 s unsplit on 1 rank;
   0.053-0.055 against 0.054-0.067 s on 2, -partition_type none and
   random-order colours). With the state in the colour order (B < 8)
   bench_step measured the evaluation unsplit faster (0.059-0.076 against
   0.074-0.081 s a step), but the colored gradient, whose forward steps
   stay in the partitioned order, took 6.0 and 6.3 s unsplit against 4.0
   and 4.1 s split (bench_grad, er B = 1, K = 8, two pairs), and
   bench_grad's own evaluations 0.70 and 0.81 s against 0.63 and 0.55 s:
   so the split stays (bench/README.md). At most TN_PANELS_MAX, as
   TnPanelsCreate (the memory check counts what it allocates). */
TN_INLINE PetscInt TnColoredSplitPanels(size_t state, size_t bytes, PetscBool set)
{
  PetscInt np = bytes ? (PetscInt)PetscMin((state + bytes - 1) / bytes, (size_t)TN_PANELS_MAX) : 1;
  if (!set && np < 4) np = bytes && 4 * state > bytes ? 2 : 1;
  return np;
}

PetscErrorCode TnColoredColoringSetUp(TnDyn dyn);
PetscErrorCode TnColoredOrderSetUp(TnDyn dyn);
PetscErrorCode TnColoredOrderReset(TnDyn dyn);
PetscErrorCode TnColoredRefresh(TnDyn dyn);
PetscErrorCode TnColoredSplitSetUp(TnDyn dyn);
PetscErrorCode TnColoredAdjointSetUp(TnDyn dyn, size_t *nsave);
PetscErrorCode TnColoredAdjointReset(TnDyn dyn);
PetscErrorCode TnColoredAdjointStep(TnDyn dyn, PetscInt k, const PetscScalar *ak, const PetscScalar *ak1, const PetscReal *save);
PetscErrorCode TnColoredInverseStep(TnDyn dyn, PetscInt k, PetscScalar *a, TnDynInverseStats *st);

/* TnDynFree at position p: the copy fre[] is read only when some node is
   clamped (without, every row is free and the 8 bytes per row need not
   stream through the sweep). */
TN_INLINE PetscReal TnColoredFree(const TnDyn dyn, const TnColored *cd, PetscInt p)
{
  return dyn->fmask ? cd->fre[p] : 1.0;
}

/* Rows of a state are read in the colour order, every C-th row: the
   hardware prefetcher does not follow, so each row is asked for
   TN_COLORED_AHEAD positions ahead (all its B values). */
#define TN_COLORED_AHEAD 8
TN_INLINE void TnColoredPrefetchRow(const PetscScalar *a, PetscInt i, const PetscInt B)
{
  const PetscScalar *ai = a + (size_t)i * B;
  for (PetscInt o = 0; o < B; o += 8) __builtin_prefetch(ai + o);
  __builtin_prefetch(ai + B - 1);
}

/* y_r = x_(idx[r]) for the m rows of B values: with idx = crows, rows by
   position from rows by local row; with cinv, back */
TN_INLINE void TnColoredPermuteRows(PetscReal *restrict y, const PetscReal *restrict x, const PetscInt *restrict idx, PetscInt m, const PetscInt B)
{
  for (PetscInt r = 0; r < m; r++)
    for (PetscInt b = 0; b < B; b++) y[(size_t)r * B + b] = x[(size_t)idx[r] * B + b];
}

/* pbuf <- phi(a) (rate) or a (current) by position: a read in its own
   order, pbuf written scattered (stores do not stall; with a in the colour
   order, cd->pos, both in order), each row's B values in one vectorised
   loop. */
TN_INLINE void TnColoredFill(TnDyn dyn, const PetscScalar *a, const int rate, const PetscInt B)
{
  const TnColored *cd = (const TnColored *)dyn->data;
  for (PetscInt i = 0; i < dyn->m; i++) {
    const PetscScalar *ai = a + (size_t)i * B;
    PetscReal         *pp = dyn->pbuf + (size_t)(cd->pos ? i : cd->cinv[i]) * B;
    if (rate)
      TnPhiAll(dyn->act, (size_t)B, ai, pp);
    else
      for (PetscInt b = 0; b < B; b++) pp[b] = ai[b];
  }
}
