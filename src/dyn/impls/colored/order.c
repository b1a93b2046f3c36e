/* The colour order of the colored scheme (coloredimpl.h). A substep updates
   the rows of one colour; visited through an index list over the
   partitioned order they are scattered over W's arrays and the state (every
   C-th row, one page apart on a random graph), so each substep pays a
   latency-bound walk over the whole matrix. Here W's two blocks, b, gamma,
   W_ii, the free mask and pbuf are kept in the colour order instead: position
   p = cinv[i] of local row i, so colour c's rows are the contiguous range
   cptr[c] .. cptr[c+1) of every one of them. Each row keeps its synapses in
   theta's order, so synapse r of position p is theta's entry
   d.ia[crows[p]] + r (Ad) or nd + o.ia[crows[p]] + r (Ao), and a gradient
   accumulates into theta directly. The copies are refreshed when the
   network's values change (TnNetGetParamVersion: TnNetSetParams and
   TnNetParamsUpdated move it on).

   Ghost slots are grouped by colour: the owner's colour and position of
   every ghost come from the owner by one scatter each. Ghost values of
   colour c change only at substep c on their owner, so the forward sweep
   exchanges all ghosts once at the start of a step (hall) and then, after
   substep c < C-1, only colour c's (halo[c]): about two ghost vectors per
   step instead of C. */
#include "coloredimpl.h"

/* ghost[q] = own[] of W's off-process column q on its owner (through the
   network's halo, TnNetCreateHalo, at B = 1) */
static PetscErrorCode GhostValues(TnDyn dyn, const PetscReal *own, PetscReal *ghost)
{
  Mat                W;
  Vec                x, g;
  VecScatter         sct;
  PetscScalar       *px;
  const PetscScalar *pg;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetMat(dyn->net, &W));
  PetscCall(MatCreateVecs(W, &x, NULL));
  PetscCall(VecGetArrayWrite(x, &px));
  for (PetscInt i = 0; i < dyn->m; i++) px[i] = own[i];
  PetscCall(VecRestoreArrayWrite(x, &px));
  PetscCall(TnNetCreateHalo(dyn->net, x, 1, NULL, &g, &sct));
  PetscCall(VecScatterBegin(sct, x, g, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(sct, x, g, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGetArrayRead(g, &pg));
  for (PetscInt q = 0; q < dyn->nghost; q++) ghost[q] = PetscRealPart(pg[q]);
  PetscCall(VecRestoreArrayRead(g, &pg));
  PetscCall(VecScatterDestroy(&sct));
  PetscCall(VecDestroy(&g));
  PetscCall(VecDestroy(&x));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* gslot[q]: the slot of ghost q, ghosts grouped by colour (gptr); the halo
   scatters from the owners' positions (pbuf, P's layout) into those slots
   (G). */
static PetscErrorCode SetUpHalo(TnDyn dyn, PetscInt *gslot)
{
  TnColored     *cd = (TnColored *)dyn->data;
  const PetscInt B = dyn->B, ng = dyn->nghost, C = cd->ncolors;
  PetscReal     *own, *gcol, *gpos;
  PetscInt      *fill, *gidx, rstart;
  IS             isf, ist;
  Mat            W;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetMat(dyn->net, &W));
  PetscCall(MatGetOwnershipRange(W, &rstart, NULL));
  PetscCall(PetscMalloc5(dyn->m + 1, &own, ng + 1, &gcol, ng + 1, &gpos, C + 1, &fill, ng + 1, &gidx));
  for (PetscInt i = 0; i < dyn->m; i++) own[i] = (PetscReal)cd->colors[i];
  PetscCall(GhostValues(dyn, own, gcol));
  for (PetscInt i = 0; i < dyn->m; i++) own[i] = (PetscReal)(rstart + cd->cinv[i]); /* exact: below 2^31 */
  PetscCall(GhostValues(dyn, own, gpos));
  PetscCall(PetscArrayzero(cd->gptr, C + 1));
  PetscCall(PetscArrayzero(fill, C + 1));
  for (PetscInt q = 0; q < ng; q++) cd->gptr[(PetscInt)gcol[q] + 1]++;
  for (PetscInt c = 0; c < C; c++) cd->gptr[c + 1] += cd->gptr[c];
  for (PetscInt q = 0; q < ng; q++) {
    PetscInt c     = (PetscInt)gcol[q];
    gslot[q]       = cd->gptr[c] + fill[c]++;
    gidx[gslot[q]] = (PetscInt)gpos[q];
  }
  PetscCall(ISCreateBlock(PETSC_COMM_SELF, B, ng, gidx, PETSC_COPY_VALUES, &isf));
  PetscCall(VecScatterCreate(dyn->P, isf, dyn->G, NULL, &cd->hall));
  PetscCall(ISDestroy(&isf));
  PetscCall(PetscMalloc1(C, &cd->halo));
  for (PetscInt c = 0; c < C; c++) {
    const PetscInt n = cd->gptr[c + 1] - cd->gptr[c];
    PetscCall(ISCreateBlock(PETSC_COMM_SELF, B, n, gidx + cd->gptr[c], PETSC_COPY_VALUES, &isf));
    PetscCall(ISCreateStride(PETSC_COMM_SELF, n * B, cd->gptr[c] * B, 1, &ist));
    PetscCall(VecScatterCreate(dyn->P, isf, dyn->G, ist, &cd->halo[c]));
    PetscCall(ISDestroy(&isf));
    PetscCall(ISDestroy(&ist));
  }
  PetscCall(PetscFree5(own, gcol, gpos, fill, gidx));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnColoredOrderSetUp(TnDyn dyn)
{
  TnColored     *cd = (TnColored *)dyn->data;
  const PetscInt m  = dyn->m;
  PetscInt      *gslot, nbnd = 0;
  char           what[128];
  PetscFunctionBeginUser;
  for (PetscInt c = 0; c < cd->ncolors; c++) nbnd = PetscMax(nbnd, cd->cptr[c + 1] - cd->cptr[c] - cd->cnint[c]); /* the most boundary rows of a colour */
  PetscCall(PetscSNPrintf(what, sizeof(what), "the colored scheme's copy of W in the colour order (%" PetscInt_FMT " synapses on this rank)", dyn->d.n + dyn->o.n));
  PetscCall(TnCheckMemory(dyn->comm, 12.0 * (dyn->d.n + dyn->o.n) + 56.0 * m + 4.0 * dyn->nghost + 8.0 * dyn->B * nbnd, what, "run on more nodes, or use -dyn_scheme sync"));
  PetscCall(PetscMalloc1((size_t)nbnd * dyn->B + 1, &cd->ybuf));
  PetscCall(PetscMalloc1(cd->ncolors + 1, &cd->gptr));
  PetscCall(PetscMalloc1(dyn->nghost + 1, &gslot));
  PetscCall(SetUpHalo(dyn, gslot));
  /* the synapses' columns and values are streamed every step: in huge
     pages, as the network's own (er N = 10^6, B = 1, 1 rank, the colored
     step unsplit: 0.052-0.064 s against 0.063-0.069 s, three alternating
     pairs) */
  PetscCall(PetscMalloc2(m + 1, &cd->dia, m + 1, &cd->oia));
  PetscCall(TnMemoryAllocAligned(sizeof(PetscInt) * (size_t)(dyn->d.n + 1), &cd->dja));
  PetscCall(TnMemoryAllocAligned(sizeof(PetscInt) * (size_t)(dyn->o.n + 1), &cd->oja));
  PetscCall(TnMemoryAllocAligned(sizeof(PetscReal) * (size_t)(dyn->d.n + 1), &cd->dva));
  PetscCall(TnMemoryAllocAligned(sizeof(PetscReal) * (size_t)(dyn->o.n + 1), &cd->ova));
  PetscCall(PetscMalloc4(m + 1, &cd->gam, m + 1, &cd->bia, m + 1, &cd->wdi, m + 1, &cd->fre));
  cd->dia[0] = cd->oia[0] = 0;
  for (PetscInt p = 0; p < m; p++) {
    const PetscInt i = cd->crows[p], nd = dyn->d.ia[i + 1] - dyn->d.ia[i], no = dyn->o.ia[i + 1] - dyn->o.ia[i];
    cd->dia[p + 1] = cd->dia[p] + nd;
    cd->oia[p + 1] = cd->oia[p] + no;
    for (PetscInt r = 0; r < nd; r++) cd->dja[cd->dia[p] + r] = cd->cinv[dyn->d.ja[dyn->d.ia[i] + r]];
    for (PetscInt r = 0; r < no; r++) cd->oja[cd->oia[p] + r] = gslot[dyn->o.ja[dyn->o.ia[i] + r]];
    cd->fre[p] = TnDynFree(dyn, i);
  }
  PetscCall(PetscFree(gslot));
  cd->d      = (TnCSR){.n = dyn->d.n, .prefetch = dyn->d.prefetch, .ia = cd->dia, .ja = cd->dja, .va = cd->dva};
  cd->o      = (TnCSR){.n = dyn->o.n, .prefetch = dyn->o.prefetch, .ia = cd->oia, .ja = cd->oja, .va = cd->ova};
  cd->pstate = -1;
  PetscCall(TnColoredRefresh(dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The rows' sums split by colour. In substep c a row of colour c reads the
   rows of earlier colours as substeps < c left them and those of later
   colours as they were at the start of the step; only the first part needs
   the substep. So the second part (with W_ii p_i) is formed for every row
   at the start of the step, in column panels (TnPanels, as the sync
   step's): a pass over one panel gathers from a slice of pbuf that stays
   in cache, where a substep's gathers otherwise fetch most of pbuf from
   memory again for every colour (on er, k = 32, 24 colours: about 18 times
   pbuf a step; docs/architecture.md). The same rule as the sync step's
   panels decides where: d's columns scattered, and the gathered state
   more than 4 slices of -dyn_panel_kb (or any number of slices when that
   is set; 0: never). */
/* The group of column j (gb[g] = the first column of group g, ng groups). */
static inline PetscInt GroupOf(const PetscInt *gb, PetscInt ng, PetscInt j)
{
  PetscInt lo = 0, hi = ng - 1;
  while (lo < hi) {
    const PetscInt mid = (lo + hi + 1) / 2;
    if (j >= gb[mid])
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

/* Groups of consecutive colours (bnd[c] the first column of colour c, nc
   colours) of at most gbytes of state each (row bytes per column), one
   colour at least; gbytes = 0: one group. Group g is colours gc[g] ..
   gc[g+1] (gc NULL: only counted); returns the number of groups. Any two
   consecutive groups hold more than gbytes, so there are at most
   2 state / gbytes + 1. */
static PetscInt ColourGroups(const PetscInt *bnd, PetscInt nc, size_t gbytes, size_t row, PetscInt *gc)
{
  PetscInt ng = 0;
  if (gc) gc[0] = 0;
  if (nc == 0) {
    if (gc) gc[1] = 0;
    return 1;
  }
  for (PetscInt c0 = 0, c1; c0 < nc; c0 = c1) {
    for (c1 = c0 + 1; gbytes && c1 < nc && (size_t)(bnd[c1 + 1] - bnd[c0]) * row <= gbytes; c1++) {
    }
    if (!gbytes) c1 = nc;
    ng++;
    if (gc) gc[ng] = c1;
  }
  return ng;
}

/* Splits block A (rows: the m positions; ncols columns, bnd[c] the first
   column of colour c: cptr for d, gptr for o) into S->lg and np panels
   S->up. gbytes > 0: the earlier entries by groups of consecutive colours,
   each group's columns at most gbytes of state (row bytes per column; one
   colour at least), so that the columns a substep gathers from in its own
   group stay in cache, and the earlier groups' parts are summed as soon
   as their values are final (Sweep); 0: one group. like: take its groups
   (the ghosts' split takes the on-process rows' groups, by the ghosts'
   colours). */
static PetscErrorCode SplitBlock(const TnColored *cd, const TnCSR *A, PetscInt m, const PetscInt *bnd, PetscInt ncols, PetscInt np, size_t gbytes, size_t row, const TnColoredSplit *like, TnColoredSplit *S)
{
  PetscInt nl = 0, nu = 0, *uia, *uja, c = 0, *gb, *next;
  TnCSR    U;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(cd->ncolors + 1, &S->gc));
  if (like) { /* the ghosts: the on-process rows' groups */
    S->ng = like->ng;
    PetscCall(PetscArraycpy(S->gc, like->gc, S->ng + 1));
  } else
    S->ng = ColourGroups(bnd, cd->ncolors, gbytes, row, S->gc);
  PetscCall(PetscMalloc1(S->ng, &S->lg));
  PetscCall(PetscMalloc2(S->ng + 1, &gb, S->ng, &next));
  for (PetscInt g = 0; g <= S->ng; g++) gb[g] = bnd[S->gc[g]];
  PetscCall(PetscMalloc2(m + 1, &uia, A->n + 1, &uja));
  PetscCall(PetscCalloc1((size_t)S->ng * (m + 1), &S->lia));
  PetscCall(TnMemoryAllocAligned(sizeof(PetscInt) * (size_t)(A->n + 1), &S->lja)); /* streamed: huge pages */
  PetscCall(TnMemoryAllocAligned(sizeof(PetscReal) * (size_t)(A->n + 1), &S->lva));
  /* counts per (group, row), then the start of each group's rows */
  uia[0] = 0;
  for (PetscInt p = 0; p < m; p++) {
    while (p >= cd->cptr[c + 1]) c++;
    for (PetscInt t = A->ia[p]; t < A->ia[p + 1]; t++) {
      if (A->ja[t] < bnd[c])
        S->lia[(size_t)GroupOf(gb, S->ng, A->ja[t]) * (m + 1) + p + 1]++;
      else
        uja[nu++] = A->ja[t];
    }
    uia[p + 1] = nu;
  }
  for (PetscInt g = 0, base = 0; g < S->ng; g++) {
    PetscInt *ig = S->lia + (size_t)g * (m + 1);
    ig[0]        = base;
    for (PetscInt p = 0; p < m; p++) ig[p + 1] += ig[p];
    base = ig[m];
  }
  c = 0;
  for (PetscInt p = 0; p < m; p++) {
    while (p >= cd->cptr[c + 1]) c++;
    for (PetscInt g = 0; g < S->ng; g++) next[g] = S->lia[(size_t)g * (m + 1) + p];
    for (PetscInt t = A->ia[p]; t < A->ia[p + 1]; t++)
      if (A->ja[t] < bnd[c]) S->lja[next[GroupOf(gb, S->ng, A->ja[t])]++] = A->ja[t];
  }
  nl = S->lia[(size_t)S->ng * (m + 1) - 1];
  for (PetscInt g = 0; g < S->ng; g++) S->lg[g] = (TnCSR){.n = nl, .prefetch = PETSC_TRUE, .ia = S->lia + (size_t)g * (m + 1), .ja = S->lja, .va = S->lva};
  U = (TnCSR){.n = nu, .prefetch = PETSC_TRUE, .ia = uia, .ja = uja, .va = NULL};
  PetscCall(TnPanelsCreate(&U, m, ncols, np, &S->up));
  if (S->up.np > 1) {
    PetscCall(PetscMalloc1(S->up.np, &S->uhi));
    for (PetscInt q = 0, hi = 0; q < S->up.np; q++) {
      const PetscInt *iq = S->up.ia + (size_t)q * (m + 1);
      for (PetscInt p = m; p > hi; p--)
        if (iq[p] > iq[p - 1]) { /* row p - 1, the last one with entries in panel q */
          hi = p;
          break;
        }
      S->uhi[q] = hi;
    }
    {
      double v = 0;
      for (PetscInt q = 0; q < S->up.np; q++) v += S->uhi[q];
      PetscCall(PetscInfo(NULL, "colored: the later colours' panels visit %g row sums, of %g in every panel\n", v, (double)m * S->up.np));
    }
  }
  PetscCall(PetscFree2(uia, uja));
  PetscCall(PetscFree2(gb, next));
  PetscCall(PetscInfo(NULL, "colored: a block split by colour, %" PetscInt_FMT " earlier-colour synapses in %" PetscInt_FMT " colour groups and %" PetscInt_FMT " later-colour synapses, %" PetscInt_FMT " column panels\n", nl, S->ng, nu, S->up.np));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* S's values from A's (refreshed), each entry where SplitBlock put its column. */
static PetscErrorCode SplitValues(const TnColored *cd, const TnCSR *A, PetscInt m, const PetscInt *bnd, TnColoredSplit *S)
{
  const TnPanels *P = &S->up;
  PetscInt        c = 0, *next, *gb;
  PetscFunctionBeginUser;
  if (P->np <= 1) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscMalloc2(P->np + S->ng, &next, S->ng + 1, &gb));
  for (PetscInt g = 0; g <= S->ng; g++) gb[g] = bnd[S->gc[g]];
  for (PetscInt p = 0; p < m; p++) {
    while (p >= cd->cptr[c + 1]) c++;
    for (PetscInt q = 0; q < P->np; q++) next[q] = P->ia[(size_t)q * (m + 1) + p];
    for (PetscInt g = 0; g < S->ng; g++) next[P->np + g] = S->lia[(size_t)g * (m + 1) + p];
    for (PetscInt t = A->ia[p]; t < A->ia[p + 1]; t++) {
      const PetscInt j = A->ja[t];
      if (j < bnd[c])
        S->lva[next[P->np + GroupOf(gb, S->ng, j)]++] = A->va[t];
      else
        P->va[next[j / P->cw]++] = A->va[t];
    }
  }
  PetscCall(PetscFree2(next, gb));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode SplitDestroy(TnColoredSplit *S)
{
  PetscFunctionBeginUser;
  PetscCall(TnPanelsDestroy(&S->up));
  PetscCall(PetscFree(S->uhi));
  PetscCall(PetscFree(S->lia));
  PetscCall(TnMemoryFreeAligned(&S->lja));
  PetscCall(TnMemoryFreeAligned(&S->lva));
  PetscCall(PetscFree(S->gc));
  PetscCall(PetscFree(S->lg));
  S->ng = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnColoredSplitSetUp(TnDyn dyn)
{
  TnColored     *cd  = (TnColored *)dyn->data;
  const PetscInt m   = dyn->m;
  const size_t   row = sizeof(PetscScalar) * (size_t)dyn->B;
  size_t         bytes;
  PetscInt       npd, npo;
  char           what[160];
  PetscFunctionBeginUser;
  PetscCall(TnDynPanelBytes(dyn, &bytes));
  /* decided per rank (its own columns and ghosts); the memory check is
     collective, so every rank takes it, with 0 bytes where it does not split */
  npd = cd->d.prefetch ? TnColoredSplitPanels(row * m, bytes, dyn->panelset) : 1;
  npo = npd > 1 ? TnColoredSplitPanels(row * dyn->nghost, bytes, dyn->panelset) : 1;
  PetscCall(PetscSNPrintf(what, sizeof(what), "the colored scheme's rows split by colour (%" PetscInt_FMT " synapses on this rank, %" PetscInt_FMT " + %" PetscInt_FMT " panels)", cd->d.n + cd->o.n, npd, npo));
  PetscCall(TnCheckMemory(dyn->comm, npd > 1 ? 12.0 * (cd->d.n + (npo > 1 ? cd->o.n : 0)) + 4.0 * (m + 1) * (npd + npo + 2 * ColourGroups(cd->cptr, cd->ncolors, bytes, row, NULL)) + (double)row * m : 0, what, "run on more nodes, or -dyn_panel_kb 0 (no split: slower on random networks)"));
  if (npd <= 1) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(SplitBlock(cd, &cd->d, m, cd->cptr, m, npd, bytes, row, NULL, &cd->spd));
  if (npo > 1) PetscCall(SplitBlock(cd, &cd->o, m, cd->gptr, dyn->nghost, npo, 0, row, &cd->spd, &cd->spo));
  PetscCall(TnMemoryAllocAligned(row * m + sizeof(PetscReal), &cd->ubuf));
  /* the split's values from the copies TnColoredOrderSetUp just took (later
     changes of W: TnColoredRefresh) */
  PetscCall(SplitValues(cd, &cd->d, m, cd->cptr, &cd->spd));
  PetscCall(SplitValues(cd, &cd->o, m, cd->gptr, &cd->spo));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnColoredOrderReset(TnDyn dyn)
{
  TnColored *cd = (TnColored *)dyn->data;
  PetscFunctionBeginUser;
  PetscCall(SplitDestroy(&cd->spd));
  PetscCall(SplitDestroy(&cd->spo));
  PetscCall(TnMemoryFreeAligned(&cd->ubuf));
  if (!cd->gptr) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(VecScatterDestroy(&cd->hall));
  for (PetscInt c = 0; cd->halo && c < cd->ncolors; c++) PetscCall(VecScatterDestroy(&cd->halo[c]));
  PetscCall(PetscFree(cd->halo));
  PetscCall(PetscFree(cd->gptr));
  PetscCall(PetscFree2(cd->dia, cd->oia));
  PetscCall(TnMemoryFreeAligned(&cd->dja));
  PetscCall(TnMemoryFreeAligned(&cd->oja));
  PetscCall(TnMemoryFreeAligned(&cd->dva));
  PetscCall(TnMemoryFreeAligned(&cd->ova));
  PetscCall(PetscFree4(cd->gam, cd->bia, cd->wdi, cd->fre));
  PetscCall(PetscFree(cd->ybuf));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The copies of W's values, b, gamma and W_ii in the colour order, taken
   again if the network's values changed since (TnNetGetParamVersion). */
PetscErrorCode TnColoredRefresh(TnDyn dyn)
{
  TnColored *cd = (TnColored *)dyn->data;
  PetscInt64 st;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetParamVersion(dyn->net, &st));
  if (st == cd->pstate) PetscFunctionReturn(PETSC_SUCCESS);
  for (PetscInt p = 0; p < dyn->m; p++) {
    const PetscInt i = cd->crows[p];
    PetscCall(PetscArraycpy(cd->dva + cd->dia[p], dyn->d.va + dyn->d.ia[i], cd->dia[p + 1] - cd->dia[p]));
    PetscCall(PetscArraycpy(cd->ova + cd->oia[p], dyn->o.va + dyn->o.ia[i], cd->oia[p + 1] - cd->oia[p]));
    cd->gam[p] = dyn->gamma[i];
    cd->bia[p] = dyn->bias[i];
    cd->wdi[p] = dyn->wdiag[i];
  }
  PetscCall(TnSlicesUpdate(dyn, &cd->d, &cd->sd));
  PetscCall(SplitValues(cd, &cd->d, dyn->m, cd->cptr, &cd->spd));
  PetscCall(SplitValues(cd, &cd->o, dyn->m, cd->gptr, &cd->spo));
  cd->pstate = st;
  PetscFunctionReturn(PETSC_SUCCESS);
}
