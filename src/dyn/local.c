/* The local rule's forward sensitivities (docs/gradient.md, "The local
   rule"): node i follows the gradient of its own loss terms (l_i^base and
   its l_{k,i}) with respect to its own parameters theta_i = (W_i. on P, b_i,
   gamma_i), the other nodes' states taken as given inputs. It carries
   e_k = d a_{k,i} / d theta_i forward in time (one trace per synapse and
   sample, and one for b_i and for gamma_i),
     e_0 = 0,  e_{k+1} = (1 + h A_ii) e_k + h d f_i / d theta_i,
   both at the state node i is updated from, and adds up
     g_i = sum_k [d l_{k,i}/d a_{k,i} e_k + d l_{k,i}/d theta_i] + d l_i^base/d a_K e_K.
   No backward pass, no transposed halo: each scheme's local step is its
   forward step with the traces of each row carried as the row is updated
   (ops.localstep, TnLocRow). The work shared by the schemes is here.

   Blocks of steps. Step by step, every synapse's B traces are read and
   written once per step: (2B + 1) values streamed per synapse where the
   forward step streams one, and nnz B values of memory. A synapse's traces
   depend only on its column's values x_{k,j} and its row's coefficients,
   so the order of the loops can be turned: the scheme's forward step makes
   the steps of a block and records what the traces read (ops.localrecord:
   the columns' x_k, the rows' own a_k or s_k, O(N B) per step); then each
   synapse's traces are carried through all the block's steps at once, in
   registers, the gathered values of one column for all steps contiguous
   (TnDynLocalReplay). The traces go to memory only between blocks, and not
   at all when one block holds all K steps. Every trace and every gradient
   entry goes through the same operations in the same order as step by
   step: the gradient is the same bit for bit (test_local). */
#include "dynimpl.h"

#ifndef TN_LOC_NODEMAJOR
#define TN_LOC_NODEMAJOR 8
#endif
#ifndef TN_LOC_AHEAD
#define TN_LOC_AHEAD 4
#endif

PetscErrorCode TnDynLocalReset(TnDyn dyn)
{
  TnDynLoc *L = &dyn->loc;
  PetscFunctionBeginUser;
  if (!L->setup) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnMemoryFreeAligned(&L->e));
  PetscCall(TnMemoryFreeAligned(&L->X));
  PetscCall(TnMemoryFreeAligned(&L->Y));
  PetscCall(PetscFree(L->coef));
  PetscCall(PetscFree(L->flag));
  PetscCall(PetscFree(L->wt));
  PetscCall(PetscMemzero(L, sizeof(*L)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynLocalSetUp(TnDyn dyn, PetscLogDouble extra, PetscLogDouble *bytes)
{
  TnDynLoc     *L = &dyn->loc;
  TnParamLayout P;
  PetscFunctionBeginUser;
  PetscCall(TnDynSetUp(dyn));
  PetscCheck(dyn->ops.localstep, dyn->comm, PETSC_ERR_USER, "the local rule is implemented for the sync and colored schemes; -dyn_scheme %s has none (use -dyn_scheme sync or colored)", dyn->type);
  PetscCheck(TnLogDetIsLocal(dyn->ldt), dyn->comm, PETSC_ERR_USER, "the local rule needs a local log-det method (diag, trace); -logdet_type %s is global", TnLogDetTypes[dyn->ldt]);
  if (!L->setup) {
    char         what[320];
    const size_t B = (size_t)dyn->B, m = (size_t)dyn->m, ng = (size_t)dyn->nghost;
    double       n, nrec1, ne, nr;
    PetscInt     blk;
    PetscCall(TnNetGetParamLayout(dyn->net, &P));
    PetscCheck(P.nd == dyn->d.n && P.no == dyn->o.n && P.m == dyn->m, PETSC_COMM_SELF, PETSC_ERR_PLIB, "theta's layout does not match W's blocks");
    n     = (double)P.n * B;
    nrec1 = (double)(2 * m + ng) * B;
    /* steps per block: -dyn_local_block as given (at most K); by default
       step by step, the faster (docs/rules.md, "Cost"), where the traces
       fit, else all K steps in one block, without traces */
    blk = dyn->ops.localrecord && dyn->K >= 2 ? PetscMin(dyn->locblock, dyn->K) : 1;
    if (blk == 0) {
      PetscBool fits;
      PetscCall(TnMemoryFits(dyn->comm, 8.0 * n + extra, &fits));
      blk = fits ? 1 : dyn->K;
    }
    ne = blk == 1 || blk < dyn->K ? n : 0;
    nr = blk > 1 ? blk * nrec1 : 0;
    if (blk == 1)
      PetscCall(PetscSNPrintf(what, sizeof(what), "the local rule's eligibility traces (one per synapse, b and gamma, for each of B = %" PetscInt_FMT " samples: %.4g values on this rank)", dyn->B, n));
    else if (ne == 0 && dyn->locblock == 0)
      PetscCall(PetscSNPrintf(what, sizeof(what), "the local rule's records of its %" PetscInt_FMT " steps (2 values per node and 1 per ghost, for each of B = %" PetscInt_FMT " samples: %.4g values on this rank), in place of its eligibility traces (%.4g values), which do not fit either,", blk, dyn->B, nr, n));
    else if (ne == 0)
      PetscCall(PetscSNPrintf(what, sizeof(what), "the local rule's records of its %" PetscInt_FMT " steps (2 values per node and 1 per ghost, for each of B = %" PetscInt_FMT " samples: %.4g values on this rank)", blk, dyn->B, nr));
    else
      PetscCall(PetscSNPrintf(what, sizeof(what), "the local rule's eligibility traces (one per synapse, b and gamma, for each of B = %" PetscInt_FMT " samples) and its records of blocks of %" PetscInt_FMT " steps: %.4g values on this rank", dyn->B, blk, ne + nr));
    PetscCall(TnCheckMemory(dyn->comm, 8.0 * (ne + nr) + extra, what, blk > 1 && ne > 0 ? "give -dyn_local_block 1 (the traces alone) or -dyn_local_block K (the records alone), reduce -dyn_batch, or run on more nodes" : "reduce -dyn_batch, or run on more nodes"));
    if (ne > 0) PetscCall(TnMemoryAllocAligned(sizeof(PetscScalar) * ((size_t)n + 1), &L->e)); /* a synapse's B traces on whole cache lines; huge pages */
    if (blk > 1) {
      /* node-major (one column's values of all the block's steps
         contiguous: one gather per synapse) when a node's B values fill
         cache lines; step-major below, where a record is a copy */
      const size_t bl = (size_t)blk;
      PetscCall(TnMemoryAllocAligned(sizeof(PetscScalar) * ((m + ng) * B * bl + 1), &L->X));
      PetscCall(TnMemoryAllocAligned(sizeof(PetscScalar) * (m * B * bl + 1), &L->Y));
      PetscCall(PetscMalloc1(5 * bl * B + bl, &L->coef));
      PetscCall(PetscMalloc1(2 * bl, &L->flag));
      L->sx  = B >= TN_LOC_NODEMAJOR ? bl * B : B;
      L->sq  = B >= TN_LOC_NODEMAJOR ? B : (m + ng) * B;
      L->sqy = B >= TN_LOC_NODEMAJOR ? B : m * B;
    }
    PetscCall(PetscMalloc1(dyn->B, &L->wt));
    L->block = blk;
    L->bytes = 8.0 * (ne + nr + B);
    L->setup = PETSC_TRUE;
    PetscCall(PetscInfo(NULL, "local rule: blocks of %" PetscInt_FMT " steps of %" PetscInt_FMT "%s\n", blk, dyn->K, ne > 0 ? ", traces stored" : ""));
  }
  if (bytes) *bytes = L->bytes;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynLocalBegin(TnDyn dyn, PetscInt nvalid, PetscScalar *grad)
{
  TnDynLoc     *L = &dyn->loc;
  TnParamLayout P;
  PetscFunctionBeginUser;
  PetscCall(TnDynLocalSetUp(dyn, 0, NULL));
  PetscCheck(nvalid >= 0 && nvalid <= dyn->B, dyn->comm, PETSC_ERR_ARG_OUTOFRANGE, "nvalid = %" PetscInt_FMT " must be in [0, B = %" PetscInt_FMT "]", nvalid, dyn->B);
  PetscCall(TnNetGetParamLayout(dyn->net, &P));
  dyn->nvalid = nvalid;
  for (PetscInt b = 0; b < dyn->B; b++) L->wt[b] = b < nvalid ? 1.0 / nvalid : 0.0;
  /* e_0 = d a_0 / d theta = 0: b's and gamma's traces zeroed; the
     synapses' (nnz B values) are not, the first step writes e_1 without
     reading them (fresh) */
  if (L->e) PetscCall(PetscArrayzero(L->e + (size_t)(P.nd + P.no) * dyn->B, (size_t)(P.n - P.nd - P.no) * dyn->B));
  L->fresh  = PETSC_TRUE;
  L->nrec   = 0;
  L->stored = PETSC_FALSE;
  PetscCall(PetscArrayzero(grad, P.n));
  L->acc.gW = grad;
  L->acc.gb = grad + P.b;
  L->acc.gg = grad + P.u;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One synapse's traces through the block's nq steps: x its column's
   recorded values (step q at x + q sq), gt its gradient entry; es its
   stored traces (read unless first, written unless lam); per step, the
   operations of the step-by-step local step in their order (TnLocSynapses:
   at the first step e_0 = 0 is not read); sw: W_ii's log-det terms, added
   after the synapse's own at each step (TnLocRowOwn), or NULL; lam: the
   base term's lambda, added last (TnDynLocalEnd's order), or NULL. */
TN_INLINE PetscReal ReplaySynapseScalar(PetscReal *restrict es, PetscReal gt, const PetscReal *restrict x, const size_t sq, const PetscInt nq, const int first, const PetscReal *restrict coef, const int *restrict flag, const PetscReal *restrict sw, const PetscReal *restrict lam, const PetscInt B)
{
  const PetscReal *F = coef, *hq = F + nq * B, *ga = hq + nq * B, *gs = ga + nq * B;
  const int       *grad = flag, *hasgs = flag + nq;
  PetscReal        e[B];
  for (PetscInt b = 0; b < B; b++) e[b] = first ? 0.0 : es[b]; /* e_0 = 0 is not read */
  for (PetscInt q = 0; q < nq; q++) {
    const PetscReal *xj = x + q * sq;
    const size_t     o  = (size_t)q * B;
    if (first && q == 0) {
      if (hasgs[0])
        gt += TnLocSynapse(e, xj, F, hq, ga, gs, 1, 1, B);
      else
        for (PetscInt b = 0; b < B; b++) e[b] = hq[b] * xj[b];
    } else if (grad[q])
      gt += TnLocSynapse(e, xj, F + o, hq + o, ga + o, gs + o, hasgs[q], 0, B);
    else
      for (PetscInt b = 0; b < B; b++) e[b] = F[o + b] * e[b] + hq[o + b] * xj[b];
    if (sw) gt += sw[q];
  }
  if (lam)
    for (PetscInt b = 0; b < B; b++) gt += lam[b] * e[b];
  else
    for (PetscInt b = 0; b < B; b++) es[b] = e[b];
  return gt;
}

/* The same for B a multiple of 4, the traces and the four lanes of
   TnLocSynapse's sum in vector registers (TnV4): GCC 12 kept e[B] in
   memory and the lanes scalar. Each lane is the scalar code's, in its
   order. */
TN_INLINE PetscReal ReplaySynapse(PetscReal *restrict es, PetscReal gt, const PetscReal *restrict x, const size_t sq, const PetscInt nq, const int first, const PetscReal *restrict coef, const int *restrict flag, const PetscReal *restrict sw, const PetscReal *restrict lam, const PetscInt B)
{
  const PetscReal *F = coef, *hq = F + nq * B, *ga = hq + nq * B, *gs = ga + nq * B;
  const int       *grad = flag, *hasgs = flag + nq;
  enum { NV = 8 };
  const PetscInt nv = B / 4;
  TnV4           e[NV];
  if (B % 4 || nv > NV) return ReplaySynapseScalar(es, gt, x, sq, nq, first, coef, flag, sw, lam, B);
  for (PetscInt v = 0; v < nv; v++) e[v] = first ? (TnV4){0, 0, 0, 0} : TnV4Load(es + 4 * v); /* e_0 = 0 is not read */
  for (PetscInt q = 0; q < nq; q++) {
    const PetscReal *xj = x + q * sq;
    const size_t     o  = (size_t)q * B;
    if ((first && q == 0) || grad[q]) {
      const int fresh = first && q == 0, g = fresh ? hasgs[0] : 1, hs = hasgs[q];
      TnV4      s4 = {0, 0, 0, 0};
      if (g) {
        for (PetscInt v = 0; v < nv; v++) {
          const TnV4 x4 = TnV4Load(xj + 4 * v);
          if (fresh)
            s4 += TnV4Load(gs + 4 * v) * x4;
          else if (hs)
            s4 += TnV4Load(ga + o + 4 * v) * e[v] + TnV4Load(gs + o + 4 * v) * x4;
          else
            s4 += TnV4Load(ga + o + 4 * v) * e[v];
        }
        gt += (s4[0] + s4[1]) + (s4[2] + s4[3]);
      }
      if (fresh)
        for (PetscInt v = 0; v < nv; v++) e[v] = TnV4Load(hq + 4 * v) * TnV4Load(xj + 4 * v);
      else
        for (PetscInt v = 0; v < nv; v++) e[v] = TnV4Load(F + o + 4 * v) * e[v] + TnV4Load(hq + o + 4 * v) * TnV4Load(xj + 4 * v);
    } else
      for (PetscInt v = 0; v < nv; v++) e[v] = TnV4Load(F + o + 4 * v) * e[v] + TnV4Load(hq + o + 4 * v) * TnV4Load(xj + 4 * v);
    if (sw) gt += sw[q];
  }
  if (lam)
    for (PetscInt v = 0; v < nv; v++)
      for (PetscInt l = 0; l < 4; l++) gt += lam[4 * v + l] * e[v][l];
  else
    for (PetscInt v = 0; v < nv; v++) memcpy(es + 4 * v, &e[v], sizeof(e[v]));
  return gt;
}

/* Row i through the block: its coefficients at each step (TnLocCoefs at
   the state the row is updated from: rate t = phi(a_k,i) = x_i, a_i = y_i;
   current t = phi(s_k,i) = phi(y_i), a_i = x_i) into L->coef, b's and
   gamma's traces and terms as TnLocRowOwn, then its synapses (Ad's, Ao's);
   aK: the last block (the base term at a_K, TnDynLocalEnd's), or NULL. */
TN_INLINE void ReplayRow(TnDyn dyn, PetscInt i, const PetscInt nq, const int first, const PetscScalar *restrict aK, const PetscInt B)
{
  TnDynLoc       *L  = &dyn->loc;
  const size_t    nd = (size_t)dyn->d.n, no = (size_t)dyn->o.n, m = (size_t)dyn->m, sx = L->sx;
  const PetscBool rate = dyn->form == TN_FORM_RATE, lin = dyn->act == TN_ACT_LINEAR, diag = dyn->ldt == TN_LOGDET_DIAG;
  const PetscReal h = dyn->h, gi = dyn->gamma[i], wi = dyn->wdiag[i];
  PetscReal *restrict F = L->coef, *hq = F + nq * B, *ga = hq + nq * B, *gs = ga + nq * B, *sw = gs + nq * B;
  int *restrict grad = L->flag, *hasgs = L->flag + nq;
  PetscReal *eb = L->e ? L->e + (nd + no + (size_t)i) * B : NULL, *eg = L->e ? L->e + (nd + no + m + (size_t)i) * B : NULL;
  PetscReal  rb[B], rg[B], lam[B];
  for (PetscInt b = 0; b < B; b++) {
    rb[b] = first ? 0.0 : eb[b];
    rg[b] = first ? 0.0 : eg[b];
  }
  for (PetscInt q = 0; q < nq; q++) {
    const PetscReal *xi = L->X + (size_t)i * sx + q * L->sq, *yi = L->Y + (size_t)i * sx + q * L->sqy;
    const size_t     o  = (size_t)q * B;
    PetscReal        sb = 0, sg = 0, s = 0;
    int              gr = 0, hs = 0;
    PetscReal        c[B], d[B];
    for (PetscInt b = 0; b < B; b++) { /* the coefficients (vectorise), then the sums in TnLocRowOwn's order */
      TnLocCoef k;
      TnLocCoefs(rate, lin, diag, h, gi, wi, L->wt[b], rate ? xi[b] : TnPhi(dyn->act, yi[b]), &k);
      F[o + b]  = k.F;
      hq[o + b] = k.hq;
      ga[o + b] = k.ga;
      gs[o + b] = k.gs;
      c[b]      = k.c;
      d[b]      = k.d;
    }
    for (PetscInt b = 0; b < B; b++) {
      gr |= ga[o + b] != 0 || gs[o + b] != 0;
      hs |= gs[o + b] != 0;
    }
    for (PetscInt b = 0; b < B; b++) {
      sb += ga[o + b] * rb[b] + gs[o + b];
      sg += ga[o + b] * rg[b] - c[b];
      s += c[b] * d[b];
    }
    for (PetscInt b = 0; b < B; b++) {
      rb[b] = F[o + b] * rb[b] + hq[o + b];
      rg[b] = F[o + b] * rg[b] - h * (rate ? yi[b] : xi[b]);
    }
    grad[q]  = gr;
    hasgs[q] = hs;
    sw[q]    = s;
    L->acc.gb[i] += sb;
    L->acc.gg[i] += sg;
  }
  if (aK) {
    PetscReal sb = 0, sg = 0;
    for (PetscInt b = 0; b < B; b++) {
      const PetscReal z = aK[(size_t)i * B + b];
      lam[b]            = L->wt[b] * (dyn->base == TN_BASE_NORMAL ? z : tanh(0.5 * z));
      sb += lam[b] * rb[b];
      sg += lam[b] * rg[b];
    }
    L->acc.gb[i] += sb;
    L->acc.gg[i] += sg;
  } else
    for (PetscInt b = 0; b < B; b++) {
      eb[b] = rb[b];
      eg[b] = rg[b];
    }
  for (PetscInt t = dyn->d.ia[i]; t < dyn->d.ia[i + 1]; t++) {
    const PetscInt j = dyn->d.ja[t];
    if (t + TN_LOC_AHEAD < dyn->d.n) {
      const PetscReal *xf = L->X + (size_t)dyn->d.ja[t + TN_LOC_AHEAD] * sx;
      if (L->sq == (size_t)B) /* node-major: the column's block */
        for (size_t l = 0; l < sx; l += 8) __builtin_prefetch(xf + l, 0, 2);
      else /* step-major: its row of each step */
        for (PetscInt q = 0; q < nq; q++) {
          __builtin_prefetch(xf + q * L->sq, 0, 2);
          __builtin_prefetch(xf + q * L->sq + B - 1, 0, 2);
        }
    }
    L->acc.gW[t] = ReplaySynapse(L->e ? L->e + (size_t)t * B : NULL, L->acc.gW[t], L->X + (size_t)j * sx, L->sq, nq, first, F, grad, t == dyn->diagpos[i] ? sw : NULL, aK ? lam : NULL, B);
  }
  for (PetscInt t = dyn->o.ia[i]; t < dyn->o.ia[i + 1]; t++) {
    const size_t j    = m + (size_t)dyn->o.ja[t];
    L->acc.gW[nd + t] = ReplaySynapse(L->e ? L->e + (nd + (size_t)t) * B : NULL, L->acc.gW[nd + t], L->X + j * sx, L->sq, nq, first, F, grad, NULL, aK ? lam : NULL, B);
  }
}

TN_INLINE void ReplayRows(TnDyn dyn, const PetscScalar *aK, const PetscInt B)
{
  const PetscInt nq    = dyn->loc.nrec;
  const int      first = !dyn->loc.stored;
  for (PetscInt i = 0; i < dyn->m; i++) ReplayRow(dyn, i, nq, first, aK, B);
}

/* The recorded steps replayed, synapse by synapse; aK: they are the
   evolution's last (the base term at a_K added), NULL: the traces stored
   for the next block. */
static PetscErrorCode Replay(TnDyn dyn, const PetscScalar *aK)
{
  TnDynLoc *L = &dyn->loc;
  PetscFunctionBeginUser;
  PetscCheck(aK || L->e, PETSC_COMM_SELF, PETSC_ERR_ORDER, "the local rule was set up for K = %" PetscInt_FMT " steps in one block; a step beyond K needs TnDynLocalBegin first", dyn->K);
  PetscCall(PetscLogEventBegin(TN_LocalReplay, 0, 0, 0, 0));
  TN_DISPATCH_B(dyn->B, ReplayRows, dyn, aK);
  PetscCall(PetscLogFlops((4.0 * dyn->B * (double)(dyn->d.n + dyn->o.n) + 20.0 * dyn->m * dyn->B) * L->nrec));
  PetscCall(PetscLogEventEnd(TN_LocalReplay, 0, 0, 0, 0));
  L->nrec   = 0;
  L->stored = (PetscBool)!aK;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynLocalStep(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *ldet)
{
  TnDynLoc *L = &dyn->loc;
  PetscFunctionBeginUser;
  PetscCheck(out != a, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "the local step needs a_k beside a_{k+1}: out must not be a");
  PetscCall(PetscLogEventBegin(TN_DynStep, 0, 0, 0, 0));
  if (L->block > 1) {
    if (L->nrec == L->block) PetscCall(Replay(dyn, NULL)); /* a full block, not the last */
    PetscCall(dyn->ops.localrecord(dyn, k, a, out, ldet, L->X + L->nrec * L->sq, L->Y + L->nrec * L->sqy, L->sx));
    L->nrec++;
  } else {
    PetscCall(dyn->ops.localstep(dyn, k, a, out, ldet));
  }
  L->fresh = PETSC_FALSE; /* the synapses' traces are e_{k+1}, stored or recorded */
  PetscCall(PetscLogEventEnd(TN_DynStep, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The base term: g += lambda e_K over node i's entries, lambda = omega
   d l_i^base / d a_K,i (normal: a; logistic: tanh(a / 2)); then
   dL/du = gamma dL/dgamma. */
PetscErrorCode TnDynLocalEnd(TnDyn dyn, const PetscScalar *aK, PetscScalar *grad)
{
  TnDynLoc      *L  = &dyn->loc;
  const PetscInt B  = dyn->B;
  const size_t   nd = (size_t)dyn->d.n, no = (size_t)dyn->o.n, m = (size_t)dyn->m;
  const int      done = L->nrec > 0 || !L->e; /* the base term added by the last block's replay, or e_K = 0 (no step, no traces) */
  TnParamLayout  P;
  PetscReal      lam[B];
  PetscFunctionBeginUser;
  PetscCall(TnNetGetParamLayout(dyn->net, &P));
  if (L->nrec > 0) { /* the last block, the base term with it */
    PetscCall(Replay(dyn, aK));
  }
  for (PetscInt i = 0; i < dyn->m && !done; i++) {
    const PetscReal *eb = L->e + (nd + no + i) * B, *eg = L->e + (nd + no + m + i) * B;
    PetscReal        sb = 0, sg = 0;
    for (PetscInt b = 0; b < B; b++) {
      const PetscReal z = aK[(size_t)i * B + b];
      lam[b]            = L->wt[b] * (dyn->base == TN_BASE_NORMAL ? z : tanh(0.5 * z));
      sb += lam[b] * eb[b];
      sg += lam[b] * eg[b];
    }
    grad[P.b + i] += sb;
    grad[P.u + i] += sg;
    if (L->fresh) continue; /* no step made: the synapses' traces are e_0 = 0 */
    for (PetscInt t = dyn->d.ia[i]; t < dyn->d.ia[i + 1]; t++)
      for (PetscInt b = 0; b < B; b++) grad[t] += lam[b] * L->e[(size_t)t * B + b];
    for (PetscInt t = dyn->o.ia[i]; t < dyn->o.ia[i + 1]; t++)
      for (PetscInt b = 0; b < B; b++) grad[nd + t] += lam[b] * L->e[(nd + t) * B + b];
  }
  for (PetscInt i = 0; i < dyn->m; i++) grad[P.u + i] *= dyn->gamma[i]; /* dL/du = gamma dL/dgamma */
  PetscFunctionReturn(PETSC_SUCCESS);
}
