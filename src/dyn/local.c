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

/* Steps per block: 1 (no blocks) where the scheme records none, K < 2 or
   -dyn_local_block 1; the option's value otherwise; by default all K steps
   when their records take no more memory than the traces they replace
   (K (2m + g) <= nnz + 2m values per sample, g ghosts: random networks of
   in-degree well above 2K), else the most steps whose records fit in that
   much beside the traces, if 2 or more. */
static PetscInt LocalBlock(TnDyn dyn, double ntrace, double nrec1)
{
  PetscInt b;
  if (!dyn->ops.localrecord || dyn->K < 2 || dyn->locblock == 1) return 1;
  if (dyn->locblock > 1) return PetscMin(dyn->locblock, dyn->K);
  if (dyn->K * nrec1 <= ntrace) return dyn->K;
  b = (PetscInt)PetscMin(ntrace / nrec1, (double)dyn->K);
  return b >= 2 ? b : 1;
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
    /* the block is the same on every rank (the largest that fits on all) */
    blk = LocalBlock(dyn, n, nrec1);
    PetscCall(MPIU_Allreduce(MPI_IN_PLACE, &blk, 1, MPIU_INT, MPI_MIN, dyn->comm));
    ne = blk == 1 || blk < dyn->K ? n : 0;
    nr = blk > 1 ? blk * nrec1 : 0;
    if (blk == 1)
      PetscCall(PetscSNPrintf(what, sizeof(what), "the local rule's eligibility traces (one per synapse, b and gamma, for each of B = %" PetscInt_FMT " samples: %.4g values on this rank)", dyn->B, n));
    else if (ne == 0)
      PetscCall(PetscSNPrintf(what, sizeof(what), "the local rule's records of its %" PetscInt_FMT " steps (2 values per node and 1 per ghost, for each of B = %" PetscInt_FMT " samples: %.4g values on this rank)", blk, dyn->B, nr));
    else
      PetscCall(PetscSNPrintf(what, sizeof(what), "the local rule's eligibility traces (one per synapse, b and gamma, for each of B = %" PetscInt_FMT " samples) and its records of blocks of %" PetscInt_FMT " steps: %.4g values on this rank", dyn->B, blk, ne + nr));
    PetscCall(TnCheckMemory(dyn->comm, 8.0 * (ne + nr) + extra, what, blk > 1 ? "give -dyn_local_block 1 (the traces alone), reduce -dyn_batch, or run on more nodes" : "reduce -dyn_batch, or run on more nodes"));
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
      L->sx  = B >= 8 ? bl * B : B;
      L->sq  = B >= 8 ? B : (m + ng) * B;
      L->sqy = B >= 8 ? B : m * B;
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
TN_INLINE PetscReal ReplaySynapse(PetscReal *restrict es, PetscReal gt, const PetscReal *restrict x, const size_t sq, const PetscInt nq, const int first, const PetscReal *restrict coef, const int *restrict flag, const PetscReal *restrict sw, const PetscReal *restrict lam, const PetscInt B)
{
  const PetscReal *F = coef, *hq = F + nq * B, *ga = hq + nq * B, *gs = ga + nq * B;
  const int       *grad = flag, *hasgs = flag + nq;
  PetscReal        e[B];
  if (!first)
    for (PetscInt b = 0; b < B; b++) e[b] = es[b];
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
    for (PetscInt b = 0; b < B; b++) {
      TnLocCoef k;
      TnLocCoefs(rate, lin, diag, h, gi, wi, L->wt[b], rate ? xi[b] : TnPhi(dyn->act, yi[b]), &k);
      F[o + b]  = k.F;
      hq[o + b] = k.hq;
      ga[o + b] = k.ga;
      gs[o + b] = k.gs;
      gr |= k.ga != 0 || k.gs != 0;
      hs |= k.gs != 0;
      sb += k.ga * rb[b] + k.gs;
      sg += k.ga * rg[b] - k.c;
      s += k.c * k.d;
      rb[b] = k.F * rb[b] + k.hq;
      rg[b] = k.F * rg[b] - h * (rate ? yi[b] : xi[b]);
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
    if (t + 4 < dyn->d.ia[i + 1]) __builtin_prefetch(L->X + (size_t)dyn->d.ja[t + 4] * sx, 0, 2);
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
  TN_DISPATCH_B(dyn->B, ReplayRows, dyn, aK);
  PetscCall(PetscLogFlops((4.0 * dyn->B * (double)(dyn->d.n + dyn->o.n) + 20.0 * dyn->m * dyn->B) * L->nrec));
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
    PetscCall(PetscLogEventBegin(TN_DynStep, 0, 0, 0, 0));
    PetscCall(Replay(dyn, aK));
    PetscCall(PetscLogEventEnd(TN_DynStep, 0, 0, 0, 0));
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
