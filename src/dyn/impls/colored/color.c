/* Colouring for the colored scheme: a proper colouring of P + P^T (no two
   nodes of one colour joined by an edge in either direction; self-loops
   ignored). Computed by Jones-Plassmann with priorities that are a hash of
   the node's natural number: a node takes the smallest colour unused by its
   higher-priority neighbours once they are all coloured, which is exactly the
   sequential greedy colouring in priority order - so the colouring, and with
   it the colored scheme's result, is the same for any rank count and
   partition. Or read from a file (one colour per node, natural order).
   With clamped nodes (docs/conditional.md) the graph is that of the free
   nodes only: a clamped node never moves, so it takes colour 0 and neither
   constrains nor is constrained (a file's colours of clamped nodes are not
   checked). */
#include "coloredimpl.h"
#include <tenor/io.h>

typedef struct {
  Mat              Sd, So;
  const PetscInt  *sdi, *sdj, *soi, *soj;
  VecScatter       sct;
  Vec              gv; /* ghost values of S's off-process columns */
  PetscInt         m, ng;
  const PetscReal *free;  /* [m] 1 for a free node, 0 for a clamped one (NULL: none clamped) */
  PetscReal       *gfree; /* [ng] the same for the ghost columns */
} TnGraph;

static PetscErrorCode GraphGhosts(TnGraph *gr, Vec v, const PetscScalar **ghost);

/* Whether local node j / ghost column q is a vertex (a free node). */
static inline PetscBool Vertex(const TnGraph *gr, PetscInt j)
{
  return (PetscBool)(!gr->free || gr->free[j] != 0);
}
static inline PetscBool GhostVertex(const TnGraph *gr, PetscInt q)
{
  return (PetscBool)(!gr->gfree || gr->gfree[q] != 0);
}

static PetscErrorCode GraphCreate(TnDyn dyn, TnGraph *gr)
{
  Mat             S;
  const PetscInt *garray;
  IS              is;
  Vec             x;
  PetscBool       done;
  PetscInt        n;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetSymmetricPattern(dyn->net, &S));
  PetscCall(MatMPIAIJGetSeqAIJ(S, &gr->Sd, &gr->So, &garray));
  PetscCall(MatGetRowIJ(gr->Sd, 0, PETSC_FALSE, PETSC_FALSE, &n, &gr->sdi, &gr->sdj, &done));
  PetscCall(MatGetRowIJ(gr->So, 0, PETSC_FALSE, PETSC_FALSE, &n, &gr->soi, &gr->soj, &done));
  PetscCall(MatGetLocalSize(S, &gr->m, NULL));
  PetscCall(MatGetSize(gr->So, NULL, &gr->ng));
  PetscCall(ISCreateGeneral(PETSC_COMM_SELF, gr->ng, garray, PETSC_COPY_VALUES, &is));
  PetscCall(MatCreateVecs(S, &x, NULL));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, gr->ng, &gr->gv));
  PetscCall(VecScatterCreate(x, is, gr->gv, NULL, &gr->sct));
  gr->free  = dyn->fmask;
  gr->gfree = NULL;
  if (dyn->fmask) { /* clamped nodes are no vertices: only F's edges constrain the colours */
    PetscScalar       *px;
    const PetscScalar *g;
    PetscCall(VecGetArrayWrite(x, &px));
    for (PetscInt i = 0; i < gr->m; i++) px[i] = dyn->fmask[i];
    PetscCall(VecRestoreArrayWrite(x, &px));
    PetscCall(PetscMalloc1(gr->ng + 1, &gr->gfree));
    PetscCall(GraphGhosts(gr, x, &g));
    for (PetscInt q = 0; q < gr->ng; q++) gr->gfree[q] = PetscRealPart(g[q]);
    PetscCall(VecRestoreArrayRead(gr->gv, &g));
  }
  PetscCall(VecDestroy(&x));
  PetscCall(ISDestroy(&is));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GraphDestroy(TnGraph *gr)
{
  PetscBool done;
  PetscInt  n;
  PetscFunctionBeginUser;
  PetscCall(MatRestoreRowIJ(gr->Sd, 0, PETSC_FALSE, PETSC_FALSE, &n, &gr->sdi, &gr->sdj, &done));
  PetscCall(MatRestoreRowIJ(gr->So, 0, PETSC_FALSE, PETSC_FALSE, &n, &gr->soi, &gr->soj, &done));
  PetscCall(VecScatterDestroy(&gr->sct));
  PetscCall(VecDestroy(&gr->gv));
  PetscCall(PetscFree(gr->gfree));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* ghost[q] = value of S's off-process column q; v in S's row layout. */
static PetscErrorCode GraphGhosts(TnGraph *gr, Vec v, const PetscScalar **ghost)
{
  PetscFunctionBeginUser;
  PetscCall(VecScatterBegin(gr->sct, v, gr->gv, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(gr->sct, v, gr->gv, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGetArrayRead(gr->gv, ghost));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* (priority, natural number) order: the first beats the second. */
static inline PetscBool Higher(PetscReal p1, PetscReal n1, PetscReal p2, PetscReal n2)
{
  return (PetscBool)(p1 > p2 || (p1 == p2 && n1 > n2));
}

static PetscInt Mex(PetscInt *used, PetscInt nu)
{
  for (PetscInt c = 0;; c++) {
    PetscBool in = PETSC_FALSE;
    for (PetscInt t = 0; t < nu && !in; t++) in = (PetscBool)(used[t] == c);
    if (!in) return c;
  }
}

/* One Jones-Plassmann round over the local uncoloured nodes; returns how many
   are still uncoloured. gp, gn, gc: ghost priority, natural number, colour.
   The nodes are visited in decreasing priority (ord), so a node whose
   higher-priority neighbours are all on this rank is coloured in the round
   they are: the rounds count only the chains that cross ranks (1 on one
   rank). The colours do not depend on the order: a node takes its colour
   only once all its higher-priority neighbours have theirs. */
static PetscInt JPRound(TnGraph *gr, const PetscInt *ord, const PetscReal *pr, const PetscInt *nat, PetscScalar *col, const PetscScalar *gp, const PetscScalar *gn, const PetscScalar *gc, PetscInt *used)
{
  PetscInt left = 0;
  for (PetscInt r = 0; r < gr->m; r++) {
    const PetscInt i     = ord[r];
    PetscInt       nu    = 0;
    PetscBool      ready = PETSC_TRUE;
    if (col[i] >= 0) continue;
    for (PetscInt t = gr->sdi[i]; t < gr->sdi[i + 1] && ready; t++) {
      PetscInt j = gr->sdj[t];
      if (j == i || !Vertex(gr, j) || !Higher(pr[j], (PetscReal)nat[j], pr[i], (PetscReal)nat[i])) continue;
      if (col[j] < 0)
        ready = PETSC_FALSE;
      else
        used[nu++] = (PetscInt)col[j];
    }
    for (PetscInt t = gr->soi[i]; t < gr->soi[i + 1] && ready; t++) {
      PetscInt q = gr->soj[t];
      if (!GhostVertex(gr, q) || !Higher(gp[q], gn[q], pr[i], (PetscReal)nat[i])) continue;
      if (gc[q] < 0)
        ready = PETSC_FALSE;
      else
        used[nu++] = (PetscInt)gc[q];
    }
    if (ready)
      col[i] = (PetscScalar)Mex(used, nu);
    else
      left++;
  }
  return left;
}

static PetscErrorCode JonesPlassmann(TnDyn dyn, TnGraph *gr, Vec C)
{
  const PetscInt    *nat;
  PetscReal         *pr;
  PetscScalar       *col, *gpv, *gnv;
  const PetscScalar *gh;
  Vec                vp, vn;
  PetscInt          *used, *ord, maxdeg = 1, left = 1, rounds = 0;
  PetscReal         *key;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetNatural(dyn->net, &nat));
  PetscCall(VecDuplicate(C, &vp));
  PetscCall(VecDuplicate(C, &vn));
  PetscCall(VecGetArrayWrite(vp, &pr));
  PetscCall(VecGetArrayWrite(vn, &col));
  for (PetscInt i = 0; i < gr->m; i++) {
    /* natural: the lower node number first (exact in a double: N < 2^53) */
    pr[i]  = dyn->colorder == TN_COLORING_NATURAL ? -(PetscReal)nat[i] : (PetscReal)(TnRandU64((uint64_t)dyn->colseed, 7, (uint64_t)nat[i]) >> 11);
    col[i] = (PetscReal)nat[i];
    maxdeg = PetscMax(maxdeg, gr->sdi[i + 1] - gr->sdi[i] + gr->soi[i + 1] - gr->soi[i]);
  }
  PetscCall(VecRestoreArrayWrite(vn, &col));
  PetscCall(VecRestoreArrayWrite(vp, &pr));
  PetscCall(PetscMalloc3(maxdeg, &used, gr->ng, &gpv, gr->ng, &gnv));
  PetscCall(GraphGhosts(gr, vp, &gh));
  PetscCall(PetscArraycpy(gpv, gh, gr->ng));
  PetscCall(VecRestoreArrayRead(gr->gv, &gh));
  PetscCall(GraphGhosts(gr, vn, &gh));
  PetscCall(PetscArraycpy(gnv, gh, gr->ng));
  PetscCall(VecRestoreArrayRead(gr->gv, &gh));
  PetscCall(VecSet(C, -1.0));
  if (gr->free) { /* a clamped node does not move: colour 0, constraining nobody */
    PetscCall(VecGetArray(C, &col));
    for (PetscInt i = 0; i < gr->m; i++)
      if (!Vertex(gr, i)) col[i] = 0;
    PetscCall(VecRestoreArray(C, &col));
  }
  PetscCall(VecGetArrayRead(vp, (const PetscScalar **)&pr));
  PetscCall(PetscMalloc2(gr->m + 1, &ord, gr->m + 1, &key));
  for (PetscInt i = 0; i < gr->m; i++) {
    ord[i] = i;
    key[i] = -pr[i]; /* ascending: the highest priority first */
  }
  PetscCall(PetscSortRealWithArrayInt(gr->m, key, ord));
  while (left) {
    PetscCall(GraphGhosts(gr, C, &gh));
    PetscCall(VecGetArray(C, &col));
    left = JPRound(gr, ord, pr, nat, col, gpv, gnv, gh, used);
    PetscCall(VecRestoreArray(C, &col));
    PetscCall(VecRestoreArrayRead(gr->gv, &gh));
    PetscCall(MPIU_Allreduce(MPI_IN_PLACE, &left, 1, MPIU_INT, MPI_SUM, dyn->comm));
    rounds++;
  }
  PetscCall(PetscFree2(ord, key));
  PetscCall(VecRestoreArrayRead(vp, (const PetscScalar **)&pr));
  PetscCall(PetscInfo(NULL, "Jones-Plassmann colouring: %" PetscInt_FMT " rounds\n", rounds));
  PetscCall(PetscFree3(used, gpv, gnv));
  PetscCall(VecDestroy(&vp));
  PetscCall(VecDestroy(&vn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Natural-order vector (default split) <-> partitioned layout, bs = 1. */
static PetscErrorCode NaturalScatter(TnDyn dyn, Vec part, Vec *nat, VecScatter *sct)
{
  const PetscInt *natural;
  PetscInt        N, m;
  IS              is;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetNatural(dyn->net, &natural));
  PetscCall(VecGetSize(part, &N));
  PetscCall(VecGetLocalSize(part, &m));
  PetscCall(VecCreateMPI(dyn->comm, PETSC_DECIDE, N, nat));
  PetscCall(ISCreateGeneral(dyn->comm, m, natural, PETSC_USE_POINTER, &is));
  PetscCall(VecScatterCreate(*nat, is, part, NULL, sct));
  PetscCall(ISDestroy(&is));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode ReadColoring(TnDyn dyn, Vec C)
{
  Vec          vn;
  VecScatter   sct;
  PetscInt     rs, re, N, *cols;
  PetscScalar *x;
  PetscFunctionBeginUser;
  PetscCall(NaturalScatter(dyn, C, &vn, &sct));
  PetscCall(VecGetOwnershipRange(vn, &rs, &re));
  PetscCall(VecGetSize(vn, &N));
  PetscCall(TnReadIntegers(dyn->comm, dyn->colin, N, rs, re, &cols));
  PetscCall(VecGetArrayWrite(vn, &x));
  for (PetscInt i = rs; i < re; i++) x[i - rs] = (PetscScalar)cols[i - rs];
  PetscCall(VecRestoreArrayWrite(vn, &x));
  PetscCall(PetscFree(cols));
  PetscCall(VecScatterBegin(sct, vn, C, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(sct, vn, C, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterDestroy(&sct));
  PetscCall(VecDestroy(&vn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode WriteColoring(TnDyn dyn, Vec C)
{
  Vec        vn;
  VecScatter sct;
  PetscFunctionBeginUser;
  PetscCall(NaturalScatter(dyn, C, &vn, &sct));
  PetscCall(VecScatterBegin(sct, C, vn, INSERT_VALUES, SCATTER_REVERSE));
  PetscCall(VecScatterEnd(sct, C, vn, INSERT_VALUES, SCATTER_REVERSE));
  PetscCall(TnWriteVecText(vn, NULL, dyn->colout));
  PetscCall(VecScatterDestroy(&sct));
  PetscCall(VecDestroy(&vn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A collective error naming the first edge whose ends share a colour. */
static PetscErrorCode CheckProper(TnDyn dyn, TnGraph *gr, Vec C)
{
  const PetscScalar *col, *gc;
  const PetscInt    *nat;
  const PetscInt    *garray;
  Mat                S;
  char               msg[256] = "";
  PetscBool          bad      = PETSC_FALSE;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetNatural(dyn->net, &nat));
  PetscCall(TnNetGetSymmetricPattern(dyn->net, &S));
  PetscCall(MatMPIAIJGetSeqAIJ(S, NULL, NULL, &garray));
  PetscCall(GraphGhosts(gr, C, &gc));
  PetscCall(VecGetArrayRead(C, &col));
  for (PetscInt i = 0; i < gr->m && !bad; i++) {
    if (!Vertex(gr, i)) continue; /* clamped: its colour does not matter */
    for (PetscInt t = gr->sdi[i]; t < gr->sdi[i + 1] && !bad; t++) {
      PetscInt j = gr->sdj[t];
      if (j != i && Vertex(gr, j) && col[j] == col[i]) {
        bad = PETSC_TRUE;
        PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s is not a proper colouring: nodes %" PetscInt_FMT " and %" PetscInt_FMT " (1-based) are joined by a synapse and both have colour %d", dyn->colin, nat[i] + 1, nat[j] + 1, (int)col[i]));
      }
    }
    for (PetscInt t = gr->soi[i]; t < gr->soi[i + 1] && !bad; t++)
      if (GhostVertex(gr, gr->soj[t]) && gc[gr->soj[t]] == col[i]) {
        bad = PETSC_TRUE;
        PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s is not a proper colouring: node %" PetscInt_FMT " (1-based) and a neighbour on another rank share colour %d", dyn->colin, nat[i] + 1, (int)col[i]));
      }
  }
  PetscCall(VecRestoreArrayRead(C, &col));
  PetscCall(VecRestoreArrayRead(gr->gv, &gc));
  PetscCall(TnErrorSync(dyn->comm, bad, msg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Colours renumbered 0..C-1 in increasing order, skipping unused numbers
   (a file may number them sparsely): the substep order is kept. */
static PetscErrorCode CompressColors(TnDyn dyn, Vec C)
{
  PetscReal    cmax;
  PetscInt     n, *map, next = 0;
  PetscScalar *col;
  PetscFunctionBeginUser;
  PetscCall(VecMax(C, NULL, &cmax));
  /* compared as a real: cmax + 1 overflows PetscInt for a colour of 2^31 - 1 */
  PetscCheck(cmax < 10000000, dyn->comm, PETSC_ERR_USER, "colour numbers up to %.0f are too large: number the colours 0, 1, 2, ... (below 10^7)", (double)cmax);
  n = (PetscInt)cmax + 1;
  PetscCall(PetscCalloc1(n, &map));
  PetscCall(VecGetArray(C, &col));
  for (PetscInt i = 0; i < dyn->m; i++) map[(PetscInt)col[i]] = 1;
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, map, n, MPIU_INT, MPI_MAX, dyn->comm));
  for (PetscInt c = 0; c < n; c++) map[c] = map[c] ? next++ : -1;
  for (PetscInt i = 0; i < dyn->m; i++) col[i] = (PetscScalar)map[(PetscInt)col[i]];
  PetscCall(VecRestoreArray(C, &col));
  PetscCall(PetscFree(map));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rows grouped by colour, interior rows (no off-process synapse) first,
   each group in the partitioned order: crows, and its inverse cinv. */
static PetscErrorCode GroupRows(TnDyn dyn, Vec C)
{
  TnColored         *cd = (TnColored *)dyn->data;
  const PetscScalar *col;
  PetscReal          cmax;
  PetscInt          *fill;
  PetscFunctionBeginUser;
  PetscCall(CompressColors(dyn, C));
  PetscCall(VecMax(C, NULL, &cmax));
  cd->ncolors = (PetscInt)cmax + 1;
  PetscCall(PetscMalloc5(dyn->m + 1, &cd->colors, cd->ncolors + 1, &cd->cptr, dyn->m + 1, &cd->crows, cd->ncolors, &cd->cnint, dyn->m + 1, &cd->cinv));
  PetscCall(PetscCalloc1(cd->ncolors + 1, &fill));
  PetscCall(VecGetArrayRead(C, &col));
  PetscCall(PetscArrayzero(cd->cptr, cd->ncolors + 1));
  PetscCall(PetscArrayzero(cd->cnint, cd->ncolors));
  for (PetscInt i = 0; i < dyn->m; i++) {
    cd->colors[i] = (PetscInt)col[i];
    cd->cptr[cd->colors[i] + 1]++;
    if (dyn->o.ia[i + 1] == dyn->o.ia[i]) cd->cnint[cd->colors[i]]++;
  }
  for (PetscInt c = 0; c < cd->ncolors; c++) cd->cptr[c + 1] += cd->cptr[c];
  for (PetscInt pass = 0; pass < 2; pass++)
    for (PetscInt i = 0; i < dyn->m; i++) {
      PetscInt c = cd->colors[i], interior = dyn->o.ia[i + 1] == dyn->o.ia[i];
      if (interior == (pass == 0)) cd->crows[cd->cptr[c] + fill[c]++] = i;
    }
  for (PetscInt p = 0; p < dyn->m; p++) cd->cinv[cd->crows[p]] = p;
  PetscCall(VecRestoreArrayRead(C, &col));
  /* The per-colour balance: substep c ends only when every rank has done
     its rows of colour c (its neighbours wait for them), so a step takes
     about sum_c max_r m_rc row updates, not max_r sum_c m_rc. fill[c] =
     this rank's m_rc, then max over ranks; fill[C] = m. */
  for (PetscInt c = 0; c < cd->ncolors; c++) fill[c] = cd->cptr[c + 1] - cd->cptr[c];
  fill[cd->ncolors] = dyn->m;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, fill, (PetscMPIInt)(cd->ncolors + 1), MPIU_INT, MPI_MAX, dyn->comm));
  {
    PetscReal s = 0;
    for (PetscInt c = 0; c < cd->ncolors; c++) s += (PetscReal)fill[c];
    cd->balance = fill[cd->ncolors] > 0 ? s / (PetscReal)fill[cd->ncolors] : 1;
  }
  PetscCall(PetscFree(fill));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnColoredColoringSetUp(TnDyn dyn)
{
  TnGraph   gr;
  Vec       C;
  PetscReal cmin;
  Mat       W;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_Coloring, 0, 0, 0, 0));
  PetscCall(GraphCreate(dyn, &gr));
  PetscCall(TnNetGetMat(dyn->net, &W));
  PetscCall(MatCreateVecs(W, &C, NULL));
  if (dyn->colin[0]) {
    PetscCall(ReadColoring(dyn, C));
    PetscCall(CheckProper(dyn, &gr, C));
  } else
    PetscCall(JonesPlassmann(dyn, &gr, C));
  PetscCall(VecMin(C, NULL, &cmin));
  PetscCheck(cmin >= 0, dyn->comm, PETSC_ERR_PLIB, "colouring left a node uncoloured");
  if (dyn->colout[0]) PetscCall(WriteColoring(dyn, C));
  PetscCall(GroupRows(dyn, C));
  PetscCall(VecDestroy(&C));
  PetscCall(GraphDestroy(&gr));
  PetscCall(PetscLogEventEnd(TN_Coloring, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}
