/* colored scheme (Gauss-Seidel by colour), docs/model.md section 2: substep c
   updates a_i <- a_i + h f_i(a) for the nodes of colour c only. No node of
   colour c reads another node of colour c, so the substep Jacobian is the
   identity but for the rows of colour c and its log-determinant is exactly
   sum_{i in c} log|1 + h A_ii|, A_ii evaluated before the substep. A
   clamped node's h is 0 (TnDynFree): it keeps its value, adds no term.
   The rows are visited in the colour order (order.c): substep c streams the
   contiguous positions cptr[c] .. cptr[c+1) of W's copy, of b, gamma, W_ii
   and of pbuf, which holds phi(a) (rate) or a (current) by position and is
   kept equal to it row by row. The halo: all ghosts at the start of the
   step, then colour c's after substep c (the only ones it changed), each
   exchange overlapped with the next substep's interior rows and with the
   on-process part of its boundary rows (Sweep). At B = 1 the rate form's
   interior rows go eight at a time where they fill a slice of the copy's
   row slices (TnSlices, UpdateSlice), the same sums in the same order. */
#include "coloredimpl.h"

/* doubles of new state per chunk of UpdateRows (1 kB, in L1). tanh of a
   chunk is compute alone, the row loop before it mostly waits on memory;
   short chunks let the rows' streams run on under the next tanh (lattice2d
   N = 10^6, B = 16, 1 rank, three alternating runs: 0.059-0.067 s per
   colored step at 128 doubles, 0.071-0.078 s at 1024, 0.063-0.068 s at
   32; at B = 1 no difference). */
#define TN_COLORED_CHUNK 128

/* UpdateRows at B = 1 (rate form, interior rows) for the slice of
   positions p .. p + TN_SLICE of cd->d's slices (TnSliceRate; a row's state
   at crows[p], its new value also into anew), the log-det factors row by
   row in position order; returns the next position. p1: the colour's end
   (the rows' states are prefetched no further). */
static PetscInt UpdateSlice(TnDyn dyn, PetscInt p, PetscInt p1, const PetscScalar *a, PetscScalar *out, PetscReal *anew, TnAcc *acc, PetscReal *prod, int *expo, PetscReal *nodeacc)
{
  const TnColored  *cd = (const TnColored *)dyn->data;
  const TnSliceRows R  = {cd->bia, cd->gam, cd->wdi, dyn->fmask ? cd->fre : NULL};
  const PetscInt    s = p / TN_SLICE, ahead = p + TN_SLICE * TN_SLICE_AHEAD;
  PetscReal         hA[TN_SLICE];
  if (s + TN_SLICE_AHEAD < cd->sd.ns) TnSlicePrefetch(&cd->sd, &R, s + TN_SLICE_AHEAD);
  if (cd->pos) /* the state in the colour order (Order): a's rows are the slice's */
    __builtin_prefetch(a + ahead);
  else
    for (PetscInt r = 0; r < TN_SLICE && ahead + r < p1; r++) __builtin_prefetch(a + cd->crows[ahead + r]);
  TnSliceRate(&cd->sd, &cd->d, s, &R, dyn->h, dyn->act, dyn->pbuf, cd->pos ? NULL : cd->crows, a, out, anew, hA);
  if (!TnAccSlice(acc, hA, prod, expo, nodeacc))
    for (PetscInt r = 0; r < TN_SLICE; r++) TnAccRow(acc, hA + r, prod, expo, nodeacc ? nodeacc + cd->crows[p + r] : NULL, 1);
  return p + TN_SLICE;
}

/* Updates the positions p0 .. p1 (all of one colour): out_i = a_i + h f_i
   for row i = crows[p], where f_i reads the other nodes through pbuf only,
   so out may be a (in place) or another array (every row is written once
   per sweep: each node has one colour); g = NULL for interior rows. yin:
   the rows' on-process sums y_p = b_p + (Ad pbuf)_p already formed
   (OnProcessRows, row p at yin + (p - p0) B), or NULL: formed here. loc (a
   compile-time constant): the local rule's traces of the row too
   (TnLocRowCols), from the state the row is updated from -- pbuf, node i's
   own entry not yet overwritten. */
TN_INLINE void UpdateRows(TnDyn dyn, PetscInt p0, PetscInt p1, const PetscScalar *a, PetscScalar *out, const PetscScalar *restrict g, const TnCSR *og, const PetscReal *restrict yin, TnAcc *acc, PetscReal *prod, int *expo, PetscReal *nodeacc, const int loc, const PetscInt B)
{
  const TnColored *cd   = (const TnColored *)dyn->data;
  const PetscReal  h    = dyn->h;
  const int        rate = dyn->form == TN_FORM_RATE, lin = dyn->act == TN_ACT_LINEAR;
  PetscReal        y[B], hA[B];
  TnLocCoef        k[loc ? B : 1];
  const PetscInt   rows = B < TN_COLORED_CHUNK ? TN_COLORED_CHUNK / B : 1;
  PetscReal        anew[rate ? rows * B : 1];
  const int        sliced = B == 1 && rate && !loc && !yin && !g && cd->sd.ns;
  /* chunks end at multiples of `rows` (a multiple of TN_SLICE at B = 1), so
     a colour that starts inside a slice loses only its first and last
     slices to the row-by-row path, not two in every chunk */
  for (PetscInt q0 = p0, q1; q0 < p1; q0 = q1) {
    q1 = PetscMin((q0 / rows + 1) * rows, p1);
    for (PetscInt p = q0; p < q1; p++) {
      if (sliced && p % TN_SLICE == 0 && p + TN_SLICE <= q1) { /* a whole slice of this chunk's rows at once */
        p = UpdateSlice(dyn, p, p1, a, out, anew + (p - q0), acc, prod, expo, nodeacc) - 1;
        continue;
      }
      const PetscInt  i = cd->crows[p], ia = cd->pos ? p : i;                               /* node i's state at row ia of a and out */
      const PetscReal gi = cd->gam[p], wi = cd->wdi[p], hi = h * TnColoredFree(dyn, cd, p); /* 0: clamped */
      if (p + TN_COLORED_AHEAD < p1) TnColoredPrefetchRow(a, cd->pos ? p + TN_COLORED_AHEAD : cd->crows[p + TN_COLORED_AHEAD], B);
      PetscReal *restrict pi = dyn->pbuf + (size_t)p * B;
      const PetscScalar *ai  = a + (size_t)ia * B;
      PetscScalar       *oi  = out + (size_t)ia * B;
      if (yin)
        for (PetscInt b = 0; b < B; b++) y[b] = yin[(size_t)(p - p0) * B + b];
      else {
        /* gathers asked for ahead at B >= 8, and at any B where the columns
           are scattered: er N = 10^6, B = 1, 2 ranks (-partition_type
           none, random-order colours), 0.088-0.102 s per colored step
           against 0.116-0.153 s without, in two alternating pairs (the
           sync step at B = 1 gained nothing from it) */
        for (PetscInt b = 0; b < B; b++) y[b] = cd->bia[p];
        TnRowTimesBlockPF(&cd->d, p, dyn->pbuf, B, y, B >= 8 || cd->d.prefetch);
      }
      if (g) TnRowTimesBlockPF(og, p, g, B, y, B >= 8 || og->prefetch);
      if (loc) {
        for (PetscInt b = 0; b < B; b++) TnLocCoefs((PetscBool)rate, (PetscBool)lin, (PetscBool)(dyn->ldt == TN_LOGDET_DIAG), h, gi, wi, dyn->loc.wt[b], rate ? pi[b] : TnPhi(dyn->act, y[b]), &k[b]);
        TnLocRowCols(dyn, i, k, ai, dyn->pbuf, cd->dja + cd->dia[p], g, cd->oja + cd->oia[p], B);
      }
      /* rate: y = (W phi(a) + b)_i, phi'(a_i) = 1 - p_i^2; current: y = s_i,
         f = phi(s_i). The form is tested outside the loops over b, so each
         one vectorises (one value per lane; out may be a). */
      if (rate) {
        PetscReal *restrict an = anew + (size_t)(p - q0) * B; /* phi of it below */
        for (PetscInt b = 0; b < B; b++) hA[b] = hi * (-gi + wi * (lin ? 1.0 : 1.0 - pi[b] * pi[b]));
        for (PetscInt b = 0; b < B; b++) an[b] = ai[b] + hi * (-gi * ai[b] + y[b]);
        for (PetscInt b = 0; b < B; b++) oi[b] = an[b];
      } else {
        for (PetscInt b = 0; b < B; b++) {
          const PetscReal f = TnPhi(dyn->act, y[b]);
          hA[b]             = hi * (-gi + wi * (lin ? 1.0 : 1.0 - f * f));
          pi[b]             = ai[b] + hi * (-gi * ai[b] + f);
        }
        for (PetscInt b = 0; b < B; b++) oi[b] = pi[b];
      }
      TnAccRow(acc, hA, prod, expo, nodeacc ? nodeacc + i : NULL, B);
    }
    /* pbuf = phi(a) of the chunk's new values in one vectorised pass (per
       element in the row loop it stays scalar: about half of a lattice step
       at B = 16). Until then pbuf keeps phi(a) of the chunk's rows before
       the substep, which is what a row of this colour may read of them: a
       clamped row's (colour 0, neighbours of any colour, value unchanged). */
    if (rate) TnPhiAll(dyn->act, (size_t)(q1 - q0) * B, anew, dyn->pbuf + (size_t)q0 * B);
  }
}

/* y_p = b_p + (Ad pbuf)_p for the positions p0 .. p1 (of one colour), row p
   at y + (p - p0) B: the first two of the sums UpdateRows forms, in its
   order, so the rows' values do not change when it finishes them from y. */
TN_INLINE void OnProcessRows(TnDyn dyn, PetscInt p0, PetscInt p1, PetscReal *restrict y, const PetscInt B)
{
  const TnColored *cd = (const TnColored *)dyn->data;
  for (PetscInt p = p0; p < p1; p++) {
    PetscReal *restrict yp = y + (size_t)(p - p0) * B;
    for (PetscInt b = 0; b < B; b++) yp[b] = cd->bia[p];
    TnRowTimesBlockPF(&cd->d, p, dyn->pbuf, B, yp, B >= 8 || cd->d.prefetch);
  }
}

/* Split rows (TnColoredSplitSetUp), at the start of a step: ubuf_p = b_p +
   the later colours' part of (Ad pbuf)_p for every position, panel by
   panel (pbuf is phi(a) of the step's start everywhere then). Panel q's
   pass takes only rows [0, uhi[q]), which hold all its entries, and starts
   rows [uhi[q - 1], uhi[q]) from b_p; rows from uhi[np - 1] on have no
   later-colour entries. The same sums in the same order as every row in
   every panel's pass (a row adds nothing in a panel where it has no
   entries), with about half the row visits on er: the early panels' rows
   end where the colours reaching into them end. */
TN_INLINE void LaterSums(TnDyn dyn, const PetscInt B)
{
  const TnColored *cd   = (const TnColored *)dyn->data;
  const PetscInt  *hi   = cd->spd.uhi;
  PetscReal *restrict u = cd->ubuf;
  for (PetscInt q = 0; q < cd->spd.up.np; q++) {
    const PetscInt lo = q ? hi[q - 1] : 0;
    for (PetscInt p = 0; p < hi[q]; p++) {
      PetscReal *restrict y = u + (size_t)p * B;
      if (B >= 8 && p + TN_ROWS_AHEAD < hi[q]) TnPrefetchRow(y + TN_ROWS_AHEAD * B, 1, B);
      if (p >= lo) /* the start value in the first pass that reaches the row */
        for (PetscInt b = 0; b < B; b++) y[b] = cd->bia[p];
      TnRowTimesBlockPrefetch(&cd->spd.up.view[q], p, dyn->pbuf, B, y);
    }
  }
  for (PetscInt p = hi[cd->spd.up.np - 1]; p < dyn->m; p++)
    for (PetscInt b = 0; b < B; b++) u[(size_t)p * B + b] = cd->bia[p];
}

/* Split ghosts (spo), once the exchange at the start of a step has ended
   (G holds every ghost as at the start): ubuf_p += the later colours' part
   of (Ao G)_p for the boundary positions of every colour, panel by panel. */
TN_INLINE void LaterSumsOff(TnDyn dyn, const PetscScalar *restrict g, const PetscInt B)
{
  const TnColored *cd   = (const TnColored *)dyn->data;
  PetscReal *restrict u = cd->ubuf;
  for (PetscInt q = 0; q < cd->spo.up.np; q++)
    for (PetscInt c = 0; c < cd->ncolors; c++)
      for (PetscInt p = cd->cptr[c] + cd->cnint[c]; p < cd->cptr[c + 1]; p++) TnRowTimesBlockPrefetch(&cd->spo.up.view[q], p, g, B, u + (size_t)p * B);
}

/* Split rows: ubuf_p += the part of colour group g (spd.lg[g]: columns of
   the group's colours earlier than p's) for the positions p0 .. p1, from
   the new values in pbuf. In substep c, for colour c's rows and c's own
   group; once group g's last substep is done, for all the rows of the
   later groups (Sweep): their columns then take at most a
   cache slice of pbuf (TnColoredSplitSetUp), where a substep's gathers
   over all the earlier colours would range over most of it (er, k = 32,
   B = 16, 1 rank: bench/README.md). So row p's sums are b_p, the later
   colours' panels, then the earlier colours' groups in order. */
TN_INLINE void GroupSums(TnDyn dyn, PetscInt g, PetscInt p0, PetscInt p1, const PetscInt B)
{
  const TnColored *cd   = (const TnColored *)dyn->data;
  PetscReal *restrict u = cd->ubuf;
  for (PetscInt p = p0; p < p1; p++) {
    if (B >= 8 && p + TN_ROWS_AHEAD < p1) TnPrefetchRow(u + (size_t)(p + TN_ROWS_AHEAD) * B, 1, B);
    TnRowTimesBlockPrefetch(&cd->spd.lg[g], p, dyn->pbuf, B, u + (size_t)p * B);
  }
}

/* Split ghosts: ubuf_p += the part of ghost colour group g (spo.lg[g],
   the same colours as spd's group g) for the boundary rows of colours c0
   and later, from G once those ghosts have all arrived; a substep's rows
   gather only their own group's ghosts (UpdateRows). */
TN_INLINE void GhostGroupSums(TnDyn dyn, PetscInt g, const PetscScalar *restrict gv, PetscInt c0, const PetscInt B)
{
  const TnColored *cd   = (const TnColored *)dyn->data;
  PetscReal *restrict u = cd->ubuf;
  for (PetscInt c = c0; c < cd->ncolors; c++)
    for (PetscInt p = cd->cptr[c] + cd->cnint[c]; p < cd->cptr[c + 1]; p++) TnRowTimesBlockPrefetch(&cd->spo.lg[g], p, gv, B, u + (size_t)p * B);
}

/* Substep c: colour c's interior rows, then the on-process sums of its
   boundary rows into ybuf (they read pbuf of the other colours, which
   substep c does not write; of colour c only a clamped row's, whose value
   does not move, or, a clamped row itself, whose update does not use its
   input: h = 0), both while the exchange of
   colour c - 1's values is in flight; then its end, and the boundary rows
   finished from ybuf + Ao g in the same row order as before, so the sums
   and the log-det's product are those of one pass. The local rule (loc)
   forms its boundary rows in one pass after the end: a clamped row's
   traces take its input from the state the row is updated from. */
TN_INLINE PetscErrorCode Sweep(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *ldet, PetscReal *nodeacc, const int loc, const PetscInt B)
{
  TnColored *cd   = (TnColored *)dyn->data;
  const int  rate = dyn->form == TN_FORM_RATE;
  PetscReal  prod[B];
  int        expo[B];
  TnAcc      acc;
  VecScatter inflight;
  PetscBool  chain;
  const int  split  = !loc && cd->spd.up.np > 1;  /* the rows' sums split by colour */
  const int  splito = split && cd->spo.up.np > 1; /* their off-process parts too */
  PetscFunctionBeginUser;
  /* Step k > 0 of a chain (a is step k - 1's out, which its caller leaves
     as it is: ops.step): the sweep that made it left pbuf = phi(a) by
     position, every row written once, so the fill -- a pass over a and a
     scattered pass over pbuf -- is done only for a new state. It also left
     G = the ghosts of a but colour C - 1's (each colour c < C - 1 was
     exchanged after its substep, the last one was not), so only those are
     exchanged first: one ghost vector per step instead of two. */
  chain = (PetscBool)(k > 0 && k == cd->kfor && a == cd->pfor);
  if (!chain) TnColoredFill(dyn, a, rate, B);
  cd->pfor = NULL;
  inflight = chain ? cd->halo[cd->ncolors - 1] : cd->hall;
  PetscCall(TnDynHaloPartBegin(dyn, inflight));
  TnAccBegin(dyn, &acc, prod, expo, B);
  if (split) LaterSums(dyn, B);
  if (splito) { /* the ghosts' later colours too, from G as at the start of the step */
    const PetscScalar *g;
    PetscCall(TnDynHaloPartEnd(dyn, inflight));
    inflight = NULL;
    PetscCall(VecGetArrayRead(dyn->G, &g));
    LaterSumsOff(dyn, g, B);
    PetscCall(VecRestoreArrayRead(dyn->G, &g));
  }
  for (PetscInt c = 0, grp = 0; c < cd->ncolors; c++) {
    const PetscInt     p0 = cd->cptr[c], pb = p0 + cd->cnint[c], p1 = cd->cptr[c + 1];
    const PetscScalar *g;
    if (split) GroupSums(dyn, grp, p0, p1, B); /* the on-process sums of all of colour c's rows, complete */
    UpdateRows(dyn, p0, pb, a, out, NULL, &cd->o, split ? cd->ubuf + (size_t)p0 * B : NULL, &acc, prod, expo, nodeacc, loc, B);
    if (!loc && !split) OnProcessRows(dyn, pb, p1, cd->ybuf, B);
    if (inflight) PetscCall(TnDynHaloPartEnd(dyn, inflight));
    PetscCall(VecGetArrayRead(dyn->G, &g));
    /* the ghosts of group grp - 1 all here (colour c - 1's just ended): their part of this and every later boundary row */
    if (splito && grp > 0 && c == cd->spd.gc[grp]) GhostGroupSums(dyn, grp - 1, g, c, B);
    UpdateRows(dyn, pb, p1, a, out, g, splito ? &cd->spo.lg[grp] : &cd->o, loc ? NULL : split ? cd->ubuf + (size_t)pb * B
                                                                                              : cd->ybuf,
               &acc, prod, expo, nodeacc, loc, B);
    PetscCall(VecRestoreArrayRead(dyn->G, &g));
    if (c < cd->ncolors - 1) { /* colour c's new values, read from substep c + 1 on */
      inflight = cd->halo[c];
      PetscCall(TnDynHaloPartBegin(dyn, inflight));
    }
    /* group grp done with colour c: its part of every later row, while the exchange is in flight */
    if (split && c + 1 == cd->spd.gc[grp + 1] && ++grp < cd->spd.ng) GroupSums(dyn, grp - 1, cd->cptr[c + 1], dyn->m, B);
  }
  TnAccEnd(&acc, prod, expo, ldet, B);
  cd->pfor = out;
  cd->kfor = k + 1;
  PetscFunctionReturn(PETSC_SUCCESS);
}

#define TN_SWEEP(dyn, k, a, out, ldet, nodeacc, B) PetscCall(Sweep(dyn, k, a, out, ldet, nodeacc, 0, B))
#define TN_SWEEP_LOCAL(dyn, k, a, out, ldet, nodeacc, B) PetscCall(Sweep(dyn, k, a, out, ldet, nodeacc, 1, B))

/* loc: the local rule's step (LocalStep), the same sweep carrying the traces. */
static PetscErrorCode StepSweep(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *ldet, PetscReal *nodeacc, PetscBool loc)
{
  PetscFunctionBeginUser;
  dyn->passes++;
  PetscCall(TnColoredRefresh(dyn));
  if (loc)
    TN_DISPATCH_B(dyn->B, TN_SWEEP_LOCAL, dyn, k, a, out, ldet, nodeacc);
  else
    TN_DISPATCH_B(dyn->B, TN_SWEEP, dyn, k, a, out, ldet, nodeacc);
  PetscCall(PetscLogFlops((loc ? 6.0 : 2.0) * dyn->B * (double)(dyn->d.ia[dyn->m] + dyn->o.ia[dyn->m]) + (loc ? 28.0 : 8.0) * dyn->m * dyn->B));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Step(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *save, PetscReal *ldet, PetscReal *nodeacc)
{
  PetscFunctionBeginUser;
  PetscCall(StepSweep(dyn, k, a, out, ldet, nodeacc, PETSC_FALSE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The local rule's step (docs/gradient.md, "The local rule"): node i of
   colour c is updated at substep c from the state then, a_{k+1} on the
   colours < c and a_k on the others, its own a_{k,i} among them; its traces
   are carried with the coefficients at that state, the scheme's exact local
   loss l_{k,i} = -T(h A_ii) of that substep. */
static PetscErrorCode LocalStep(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *ldet)
{
  PetscFunctionBeginUser;
  PetscCheck(!((TnColored *)dyn->data)->pos, dyn->comm, PETSC_ERR_ORDER, "the local rule's step inside an evolution in the colour order (ops.order)");
  PetscCall(StepSweep(dyn, k, a, out, ldet, NULL, PETSC_TRUE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

#define TN_PERMUTE_ROWS(y, x, idx, m, B) TnColoredPermuteRows(y, x, idx, m, B)

/* The state of an evolution in place in the colour order (ops.order): a
   substep then streams its rows of a as it does W's, where in the
   partitioned order it reads and writes every C-th row (on a lattice in two
   colours, each cache line of a by both colours, through a gather and a
   scatter at B = 1; on er, rows at random); two permutations per evolution
   instead. Only where a row is shorter than a cache line (B < 8): from B = 8
   on a row is whole lines, and the colour order did not pay (lattice2d
   N = 10^6, B = 16, 1 rank: 49-87 ms a step against 44-61 ms in the
   partitioned order; docs/architecture.md, "The state in the colour
   order"). pbuf is the copy they go through: it is free before the first
   step (which fills it from a) and after the last (pfor = NULL: the next
   step fills it again). */
static PetscErrorCode Order(TnDyn dyn, PetscScalar *a, PetscBool own)
{
  TnColored     *cd = (TnColored *)dyn->data;
  const PetscInt B  = dyn->B;
  PetscReal     *t  = dyn->pbuf;
  PetscFunctionBeginUser;
  if (cd->pos == own || B * sizeof(PetscScalar) >= 64) PetscFunctionReturn(PETSC_SUCCESS); /* 64: a cache line */
  PetscCall(PetscArraycpy(t, a, (size_t)dyn->m * B));
  TN_DISPATCH_B(B, TN_PERMUTE_ROWS, a, t, own ? cd->crows : cd->cinv, dyn->m); /* own: row p <- node crows[p]; else node i <- row cinv[i] */
  cd->pos  = own;
  cd->pfor = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode SetUp(TnDyn dyn)
{
  PetscFunctionBeginUser;
  PetscCheck(TnLogDetIsLocal(dyn->ldt), dyn->comm, PETSC_ERR_USER, "-logdet_type %s is for the sync scheme; in the colored scheme diag is already exact", TnLogDetTypes[dyn->ldt]);
  PetscCall(TnColoredColoringSetUp(dyn));
  PetscCall(TnColoredOrderSetUp(dyn));
  PetscCall(TnColoredSplitSetUp(dyn));
  if (((TnColored *)dyn->data)->spd.up.np <= 1) PetscCall(TnSlicesCreate(dyn, &((TnColored *)dyn->data)->d, dyn->m, &((TnColored *)dyn->data)->sd)); /* split rows take the row loop */
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Reset(TnDyn dyn)
{
  TnColored *cd = (TnColored *)dyn->data;
  PetscFunctionBeginUser;
  PetscCall(TnColoredOrderReset(dyn));
  PetscCall(TnSlicesDestroy(&cd->sd));
  cd->pfor = NULL;
  cd->pos  = PETSC_FALSE;
  if (cd->colors) PetscCall(PetscFree5(cd->colors, cd->cptr, cd->crows, cd->cnint, cd->cinv));
  cd->ncolors = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode SetFromOptions(TnDyn dyn, PetscOptionItems *PetscOptionsObject)
{
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsString("-coloring_file", "Read the colouring (one colour per node, natural order)", "TnDynSetColoringFile", dyn->colin, dyn->colin, sizeof(dyn->colin), NULL));
  PetscCall(PetscOptionsString("-coloring_out", "Write the colouring used to this file", "TnDynSetColoringFile", dyn->colout, dyn->colout, sizeof(dyn->colout), NULL));
  PetscInt v = (PetscInt)dyn->colorder;
  PetscCall(TnOptionsChoice("-coloring_order", "Order of the greedy colouring: natural (node numbers; 2 colours on a 2-D lattice) or random (drawn from -dyn_coloring_seed)", "TnDynSetColoringOrder", TnColoringOrders, 2, &v, NULL));
  dyn->colorder = (TnColoringOrder)v;
  PetscCall(TnOptionsInt("-coloring_seed", "Seed of the random colouring order (-dyn_coloring_order random)", "TnDynSetColoringSeed", dyn->colseed, &dyn->colseed, NULL, PETSC_MIN_INT, PETSC_MAX_INT));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* docs/model.md section 5: a substep is a bijection iff 1 + h A_ii > 0 for every
   state: 1 - h gamma_i + h min(W_ii, 0) > 0 for tanh (0 < phi' <= 1),
   1 + h (W_ii - gamma_i) > 0 for linear. */
static PetscErrorCode Bound(TnDyn dyn, const TnBoundQ *q, PetscReal margin, TnDynBound *b)
{
  PetscFunctionBeginUser;
  b->applies = PETSC_TRUE;
  b->value   = q->fmin;
  b->fmin    = q->fmin;
  b->ok      = (PetscBool)(q->fmin > margin);
  PetscCall(PetscSNPrintf(b->what, sizeof(b->what), "colored: min_i (1 + h A_ii) >= %.4g > 0", (double)q->fmin));
  PetscCall(PetscSNPrintf(b->fix, sizeof(b->fix), "a colored substep is not invertible (docs/model.md section 5): min_i of %s = %.4g is not > 0 (short by %.3g). Use a smaller -dyn_h, larger self-weights W_ii, or smaller leaks gamma",
                          dyn->act == TN_ACT_TANH ? "1 - h gamma_i + h min(W_ii, 0)" : "1 + h (W_ii - gamma_i)", (double)q->fmin, (double)-q->fmin));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode View(TnDyn dyn, PetscViewer viewer)
{
  TnColored *cd = (TnColored *)dyn->data;
  PetscFunctionBeginUser;
  PetscCall(PetscViewerASCIIPrintf(viewer, ", %" PetscInt_FMT " colours", cd->ncolors));
  if (cd->spd.up.np > 1) PetscCall(PetscViewerASCIIPrintf(viewer, ", rows' sums split by colour (%" PetscInt_FMT " column panels on rank 0)", cd->spd.up.np));
  /* uneven colours across ranks: each substep waits for the rank with the
     most rows of its colour (GroupRows). The advice depends on why: with a
     few rows of each colour on a rank, chance alone makes them uneven
     whatever the partition (a 16 x 16 lattice's 9 colours on 2 ranks:
     1.14 with ptscotch and without; er N = 300, k = 16: 1.11 with
     ptscotch), and more rows per rank even them; rows in node order
     (-partition_type none) leave a greedy colouring's first colours on the
     first ranks, which a partitioner undoes (er N = 2e4, k = 16, 2 ranks:
     1.53 without, no note with ptscotch; tests/cli/color_balance.sh). */
  if (cd->balance > 1.05) {
    const char *ptype, *pfile;
    PetscBool   none;
    PetscReal   per = (PetscReal)dyn->m / (PetscReal)PetscMax(cd->ncolors, 1);
    PetscCall(TnNetGetPartitioner(dyn->net, &ptype, &pfile));
    PetscCall(PetscStrcmp(ptype, "none", &none));
    PetscCall(PetscViewerASCIIPrintf(viewer, "\nnote: the colours are uneven across ranks: a step costs about %.2f times the row updates of the largest rank (each substep waits for the rank with the most rows of its colour)", (double)cd->balance));
    if (per < 200)
      PetscCall(PetscViewerASCIIPrintf(viewer, "; with about %.0f rows of each colour on a rank (rank 0) no partition evens them: more nodes per rank do", (double)per));
    else if (none && !pfile[0])
      PetscCall(PetscViewerASCIIPrintf(viewer, "; a partitioner (-partition_type ptscotch) or a partition file spreads every colour over the ranks"));
    else
      PetscCall(PetscViewerASCIIPrintf(viewer, "; the partition (%s) leaves them so", pfile[0] ? pfile : ptype));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GetColors(TnDyn dyn, PetscInt *ncolors, const PetscInt **colors)
{
  TnColored *cd = (TnColored *)dyn->data;
  PetscFunctionBeginUser;
  *ncolors = cd->ncolors;
  *colors  = cd->colors;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSchemeCreate_Colored(TnDyn dyn)
{
  TnColored *cd;
  PetscFunctionBeginUser;
  PetscCall(PetscNew(&cd));
  dyn->data               = cd;
  dyn->ops.setfromoptions = SetFromOptions;
  dyn->ops.setup          = SetUp;
  dyn->ops.reset          = Reset;
  dyn->ops.step           = Step;
  dyn->ops.order          = Order;
  dyn->ops.adjointsetup   = TnColoredAdjointSetUp;
  dyn->ops.adjointreset   = TnColoredAdjointReset;
  dyn->ops.adjointstep    = TnColoredAdjointStep;
  dyn->ops.localstep      = LocalStep;
  dyn->ops.inversestep    = TnColoredInverseStep;
  dyn->ops.bound          = Bound;
  dyn->ops.view           = View;
  dyn->ops.getcolors      = GetColors;
  dyn->ops.clamp          = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}
