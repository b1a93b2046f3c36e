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

   Two stores (-dyn_local_store), the same rule to round-off:
   traces  the traces themselves, carried step by step as above: what a
           neuron could run online; nnz B values of memory, and every
           synapse's B traces read and written at every step, (2B + 1)
           values streamed per synapse where the forward step streams one;
   states  the scheme's forward steps record what the traces read
           (ops.localrecord: the columns' x_k and the rows' own a_k or s_k,
           2 values per node and 1 per ghost per step and sample), and the
           rule is summed afterwards in closed form. With
           e_{k+1} = F_k e_k + hq_k x_k (F, hq, ga, gs node i's coefficients,
           TnLocCoefs) and g = sum_k (ga_k e_k + gs_k x_k) + lambda e_K,
             g_ij = sum_k sum_b v_{k,i b} x_{k,j b},  v_k = gs_k + hq_k mu_k,
             mu_{K-1} = lambda,  mu_{k-1} = ga_k + F_k mu_k:
           a sweep backward in time over node i's own coefficients (its
           diagonal of the step Jacobian: no other node, no transposed
           halo), v_k written over the row's own records; then, step by
           step, one dot product of B values per synapse, gathered as the
           step gathers them (the records step-major, through the step's
           column panels where it has them). b_i's and gamma_i's traces
           are carried forward as with traces.
   (docs/rules.md, "Cost"). */
#include "dynimpl.h"

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
  PetscCall(PetscFree(L->dsw));
  PetscCall(TnMemoryFreeAligned(&L->gp));
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
    char         what[400];
    const size_t B = (size_t)dyn->B, m = (size_t)dyn->m, ng = (size_t)dyn->nghost, K = (size_t)dyn->K;
    double       n, nr;
    TnLocalStore store = dyn->ops.localrecord && dyn->K >= 1 ? dyn->locstore : TN_LOCAL_STORE_TRACES;
    PetscCheck(dyn->locstore != TN_LOCAL_STORE_STATES || dyn->ops.localrecord, dyn->comm, PETSC_ERR_USER, "-dyn_local_store states: the %s scheme records no states for the local rule (the sync scheme does); use -dyn_local_store traces or auto", dyn->type);
    PetscCall(TnNetGetParamLayout(dyn->net, &P));
    PetscCheck(P.nd == dyn->d.n && P.no == dyn->o.n && P.m == dyn->m, PETSC_COMM_SELF, PETSC_ERR_PLIB, "theta's layout does not match W's blocks");
    if (dyn->ops.panels && dyn->ops.localrecord) { /* the step's panels serve the sum's gathers where each row's columns ascend (StatesBlock) */
      PetscCall(dyn->ops.panels(dyn, &L->pd, &L->po));
      if (L->pd->np <= 1 || !TnRowsAscend(&dyn->d, dyn->m)) L->pd = NULL;
      if (L->po->np <= 1 || !TnRowsAscend(&dyn->o, dyn->m)) L->po = NULL;
    }
    n  = (double)P.n * B;                                                                    /* the traces: one per synapse, b and gamma, per sample */
    nr = (double)(2 * m + ng) * B * K + (L->pd ? P.nd : 0) + (L->po ? P.no : 0) + (double)m; /* the records of K steps; the sums in the panels' order; W_ii's terms */
    if (store == TN_LOCAL_STORE_AUTO) {
      /* the faster where it fits (docs/rules.md, "Cost"): the states at
         B >= 8, and at B >= 2 where their records take no more memory
         than the traces over all ranks (high in-degree: er); the traces
         otherwise. The same choice on every rank. */
      double       tot[2] = {n, nr};
      TnLocalStore pref, other;
      PetscBool    fits;
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, tot, 2, MPI_DOUBLE, MPI_SUM, dyn->comm));
      pref  = B >= 8 || (B >= 2 && tot[1] <= tot[0]) ? TN_LOCAL_STORE_STATES : TN_LOCAL_STORE_TRACES;
      other = pref == TN_LOCAL_STORE_STATES ? TN_LOCAL_STORE_TRACES : TN_LOCAL_STORE_STATES;
      PetscCall(TnMemoryFits(dyn->comm, 8.0 * (pref == TN_LOCAL_STORE_STATES ? nr : n) + extra, &fits));
      store = pref;
      if (!fits) {
        PetscCall(TnMemoryFits(dyn->comm, 8.0 * (other == TN_LOCAL_STORE_STATES ? nr : n) + extra, &fits));
        if (fits) store = other;
      }
      if (!fits) { /* neither fits: the message names both */
        PetscCall(PetscSNPrintf(what, sizeof(what), "the local rule's eligibility traces (one per synapse, b and gamma, for each of B = %" PetscInt_FMT " samples: %.4g values on this rank), or its records of the K = %" PetscInt_FMT " states (%.4g values),", dyn->B, n, dyn->K, nr));
        PetscCall(TnCheckMemory(dyn->comm, 8.0 * PetscMin(n, nr) + extra, what, "reduce -dyn_batch, or run on more nodes"));
      }
    }
    if (store == TN_LOCAL_STORE_TRACES) {
      L->pd = L->po = NULL;
      PetscCall(PetscSNPrintf(what, sizeof(what), "the local rule's eligibility traces (one per synapse, b and gamma, for each of B = %" PetscInt_FMT " samples: %.4g values on this rank)", dyn->B, n));
      PetscCall(TnCheckMemory(dyn->comm, 8.0 * n + extra, what, "reduce -dyn_batch, or run on more nodes"));
      PetscCall(TnMemoryAllocAligned(sizeof(PetscScalar) * ((size_t)n + 1), &L->e)); /* a synapse's B traces on whole cache lines; huge pages */
      L->bytes = 8.0 * (n + B);
    } else {
      PetscCall(PetscSNPrintf(what, sizeof(what), "the local rule's records of the K = %" PetscInt_FMT " states (2 values per node and 1 per ghost, per step and sample, and a sum per synapse): %.4g values on this rank", dyn->K, nr));
      PetscCall(TnCheckMemory(dyn->comm, 8.0 * nr + extra, what, "give -dyn_local_store traces (one per synapse instead), reduce -dyn_batch or -dyn_steps, or run on more nodes"));
      PetscCall(TnMemoryAllocAligned(sizeof(PetscScalar) * ((m + ng) * B * K + 1), &L->X));
      PetscCall(TnMemoryAllocAligned(sizeof(PetscScalar) * (m * B * K + 1), &L->Y));
      PetscCall(PetscMalloc1(5 * K * B + K, &L->coef)); /* F, hq, ga, gs, v; sw */
      PetscCall(PetscMalloc1(m + 1, &L->dsw));
      if (L->pd || L->po) { /* step-major: step q's records are the step's own arrays, gathered through the panels step by step; the sums in the panels' order */
        PetscCall(TnMemoryAllocAligned(sizeof(PetscReal) * ((size_t)(P.nd + P.no) + 1), &L->gp));
        L->sn = B;
        L->sx = (m + ng) * B;
        L->sy = m * B;
      } else { /* node-major: node j's K steps one contiguous read */
        L->sn = K * B;
        L->sx = L->sy = B;
      }
      L->bytes = 8.0 * (nr + B);
    }
    PetscCall(PetscMalloc1(dyn->B, &L->wt));
    L->store = store;
    L->setup = PETSC_TRUE;
    PetscCall(PetscInfo(NULL, "local rule: %s (%.4g MB on this rank)\n", TnLocalStores[store], L->bytes / 1e6));
  }
  if (bytes) *bytes = L->bytes;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynGetLocalStore(TnDyn dyn, TnLocalStore *store)
{
  PetscFunctionBeginUser;
  PetscCheck(dyn->loc.setup, dyn->comm, PETSC_ERR_ORDER, "the local rule is not set up: TnDynLocalSetUp first");
  *store = dyn->loc.store;
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
  if (L->store == TN_LOCAL_STORE_TRACES) PetscCall(PetscArrayzero(L->e + (size_t)(P.nd + P.no) * dyn->B, (size_t)(P.n - P.nd - P.no) * dyn->B));
  L->fresh = PETSC_TRUE;
  L->nrec  = 0;
  PetscCall(PetscArrayzero(grad, P.n));
  L->acc.gW = grad;
  L->acc.gb = grad + P.b;
  L->acc.gg = grad + P.u;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* sum_b v[b] x[b] over n values, in eight lanes then pairwise (a fixed
   order: the same on any rank count) */
TN_INLINE PetscReal StatesDot(const PetscReal *restrict v, const PetscReal *restrict x, const size_t n)
{
  PetscReal s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t    q    = 0;
#if defined(PETSC_USE_REAL_DOUBLE) && !defined(PETSC_USE_COMPLEX)
  if (n % 8 == 0) { /* the same lanes in a vector register (GCC 12 left the loop below scalar) */
    TnV8 a = TnV8Load(v) * TnV8Load(x);
    for (q = 8; q < n; q += 8) a += TnV8Load(v + q) * TnV8Load(x + q);
    TnV8Store(s, a);
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  }
#endif
  for (; q + 8 <= n; q += 8)
    for (int l = 0; l < 8; l++) s[l] += v[q + l] * x[q + l];
  for (; q < n; q++) s[0] += v[q] * x[q];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* g_t = sum_q v_q . x_q,j, the K steps' records of column j at xj (step
   stride sx): node-major (sx = B), one dot product of K B values;
   step-major, in the order of q, the order StatesBlock adds them in */
TN_INLINE PetscReal StatesDotK(const PetscReal *restrict v, const PetscReal *restrict xj, size_t sx, PetscInt K, const PetscInt B)
{
  PetscReal g;
  if (sx == (size_t)B) return StatesDot(v, xj, (size_t)K * B);
  g = StatesDot(v, xj, B);
  for (PetscInt q = 1; q < K; q++) g += StatesDot(v + (size_t)q * B, xj + q * sx, B);
  return g;
}

/* column j's K steps' records at xj asked for (their lines of B values) */
TN_INLINE void StatesPrefetch(const PetscReal *xj, size_t sx, PetscInt K, const PetscInt B)
{
  if (sx == (size_t)B)
    for (PetscInt l = 0; l < K * B; l += 8) __builtin_prefetch(xj + l, 0, 2);
  else
    for (PetscInt q = 0; q < K; q++) TnPrefetchRow(xj + q * sx, 0, B);
}

/* Row i with the states stored (the top of this file), the sum's first
   pass: its coefficients at each step from its records (rate: t =
   phi(a_k,i) = x_i, a_i = y_i; current: t = phi(s_k,i) = phi(y_i), a_i =
   x_i); b's and gamma's traces and terms forward as TnLocRowOwn's, with
   the base term at a_K; mu backward from lambda, v_k = gs_k + hq_k mu_k.
   Then the synapses of the blocks without panels, each g_t in one go
   (StatesDotK); where a block has panels, v_k is written over the row's
   own records y_k (read no more) for StatesBlock. W_ii's log-det terms
   are kept for the end (StatesEnd). */
TN_INLINE void StatesCoefs(TnDyn dyn, PetscInt i, const PetscScalar *restrict aK, const PetscInt B)
{
  TnDynLoc       *L  = &dyn->loc;
  const size_t    sx = L->sx, sy = L->sy, sn = L->sn, K = (size_t)dyn->K, n = K * B, ib = (size_t)i * sn;
  const PetscBool rate = dyn->form == TN_FORM_RATE, lin = dyn->act == TN_ACT_LINEAR, diag = dyn->ldt == TN_LOGDET_DIAG;
  const PetscReal h = dyn->h, gi = dyn->gamma[i], wi = dyn->wdiag[i];
  PetscReal *restrict F = L->coef, *hq = F + n, *ga = hq + n, *gs = ga + n, *v = gs + n, *sw = v + n;
  PetscReal rb[B], rg[B], mu[B], sb = 0, sg = 0, swt = 0;
  for (PetscInt b = 0; b < B; b++) rb[b] = rg[b] = 0;
  for (size_t q = 0; q < K; q++) {
    const size_t     o  = q * B;
    const PetscReal *xi = L->X + q * sx + ib, *yi = L->Y + q * sy + ib;
    PetscReal        c[B], d[B], t[B], s1 = 0, s2 = 0, s3 = 0;
    if (rate)
      memcpy(t, xi, sizeof(t));
    else
      for (PetscInt b = 0; b < B; b++) t[b] = TnPhi(dyn->act, yi[b]);
    for (PetscInt b = 0; b < B; b++) { /* the coefficients as arrays (vectorised; an array of TnLocCoef, to share TnLocRowOwn's loop, was not: lattice B = 16 0.160 -> 0.18 s a step), then the sums in TnLocRowOwn's order */
      TnLocCoef k;
      TnLocCoefs(rate, lin, diag, h, gi, wi, L->wt[b], t[b], &k);
      F[o + b]  = k.F;
      hq[o + b] = k.hq;
      ga[o + b] = k.ga;
      gs[o + b] = k.gs;
      c[b]      = k.c;
      d[b]      = k.d;
    }
    for (PetscInt b = 0; b < B; b++) {
      s1 += ga[o + b] * rb[b] + gs[o + b];
      s2 += ga[o + b] * rg[b] - c[b];
      s3 += c[b] * d[b];
    }
    for (PetscInt b = 0; b < B; b++) {
      rb[b] = F[o + b] * rb[b] + hq[o + b];
      rg[b] = F[o + b] * rg[b] - h * (rate ? yi[b] : xi[b]);
    }
    L->acc.gb[i] += s1;
    L->acc.gg[i] += s2;
    sw[q] = s3;
  }
  for (PetscInt b = 0; b < B; b++) { /* the base term: lambda = omega d l^base / d a_K */
    const PetscReal z = aK[(size_t)i * B + b];
    mu[b]             = L->wt[b] * TnBaseSlope(dyn->base, z);
    sb += mu[b] * rb[b];
    sg += mu[b] * rg[b];
  }
  L->acc.gb[i] += sb;
  L->acc.gg[i] += sg;
  for (size_t q = K; q-- > 0;) { /* mu_q -> v_q, then mu_{q-1} = ga_q + F_q mu_q */
    const size_t o = q * B;
    for (PetscInt b = 0; b < B; b++) {
      v[o + b] = gs[o + b] + hq[o + b] * mu[b];
      mu[b]    = ga[o + b] + F[o + b] * mu[b];
    }
  }
  if (L->pd || L->po)
    for (size_t q = 0; q < K; q++) memcpy(L->Y + q * sy + ib, v + q * B, sizeof(PetscReal) * B);
  if (!L->pd)
    for (PetscInt t = dyn->d.ia[i]; t < dyn->d.ia[i + 1]; t++) {
      if (t + TN_LOC_AHEAD < dyn->d.n) StatesPrefetch(L->X + (size_t)dyn->d.ja[t + TN_LOC_AHEAD] * sn, sx, dyn->K, B);
      L->acc.gW[t] += StatesDotK(v, L->X + (size_t)dyn->d.ja[t] * sn, sx, dyn->K, B);
    }
  if (!L->po)
    for (PetscInt t = dyn->o.ia[i]; t < dyn->o.ia[i + 1]; t++) L->acc.gW[dyn->d.n + t] += StatesDotK(v, L->X + ((size_t)dyn->m + (size_t)dyn->o.ja[t]) * sn, sx, dyn->K, B);
  for (size_t q = 0; q < K; q++) swt += sw[q];
  L->dsw[i] = swt;
}

/* Step-major, the rows' records of the K steps are 2 K streams, more
   than the hardware follows: each asked for TN_ROWS_AHEAD rows ahead */
TN_INLINE void StatesCoefsRows(TnDyn dyn, const PetscScalar *aK, const PetscInt B)
{
  const TnDynLoc *L = &dyn->loc;
  for (PetscInt i = 0; i < dyn->m; i++) {
    const size_t ia = (size_t)(i + TN_ROWS_AHEAD) * L->sn;
    if (L->sn == (size_t)B)
      for (PetscInt q = 0; q < dyn->K; q++) {
        TnPrefetchRow(L->X + q * L->sx + ia, 0, B);
        TnPrefetchRow(L->Y + q * L->sy + ia, 1, B);
      }
    StatesCoefs(dyn, i, aK, B);
  }
}

/* The sum's second pass, for the blocks with panels: step q's products
   v_q,i . x_q,j (B values each; v = vq + i B, x_j = xq + j B) added to
   the synapses of the rows rows[0..nrows) (NULL: 0..nrows-1), panel by
   panel, into gp in the panels' order (streamed; StatesScatter puts them
   in place). The panels' gathers stay in cache as the step's do. Each
   synapse's K products are added in the order of q, as in StatesDotK. */
TN_INLINE void StatesBlock(const TnPanels *P, const PetscInt *rows, PetscInt nrows, PetscInt q, const PetscReal *restrict vq, const PetscReal *restrict xq, PetscReal *restrict gp, const PetscInt B)
{
  const PetscInt *ja = P->ja, n = P->view[0].n;
  for (PetscInt p = 0; p < P->np; p++) {
    const PetscInt *ip = P->view[p].ia;
    for (PetscInt r = 0; r < nrows; r++) {
      const PetscInt   i  = rows ? rows[r] : r;
      const PetscReal *vi = vq + (size_t)i * B;
      for (PetscInt s = ip[i]; s < ip[i + 1]; s++) {
        const PetscReal d = StatesDot(vi, xq + (size_t)ja[s] * B, B);
        if (s + TN_PREFETCH_AHEAD < n) TnPrefetchRow(xq + (size_t)ja[s + TN_PREFETCH_AHEAD] * B, 0, B);
        gp[s] = q ? gp[s] + d : d;
      }
    }
  }
}

/* g_t += gp in the panels' order, row by row: row i's synapses in panel p
   are the next ones of its own (its columns ascend, TnRowsAscend) */
static void StatesScatter(const TnCSR *A, const TnPanels *P, const PetscInt *rows, PetscInt nrows, const PetscReal *restrict gp, PetscReal *restrict g)
{
  for (PetscInt r = 0; r < nrows; r++) {
    const PetscInt i = rows ? rows[r] : r;
    PetscInt       t = A->ia[i];
    for (PetscInt p = 0; p < P->np; p++)
      for (PetscInt s = P->view[p].ia[i]; s < P->view[p].ia[i + 1]; s++) g[t++] += gp[s];
  }
}

/* The blocks with panels, step after step */
TN_INLINE void StatesProducts(TnDyn dyn, const PetscInt B)
{
  TnDynLoc    *L = &dyn->loc;
  const size_t m = (size_t)dyn->m, nd = (size_t)dyn->d.n;
  for (PetscInt q = 0; q < dyn->K; q++) {
    const PetscReal *xq = L->X + q * L->sx, *vq = L->Y + q * L->sy;
    if (L->pd) StatesBlock(L->pd, NULL, dyn->m, q, vq, xq, L->gp, B);
    if (L->po) StatesBlock(L->po, dyn->offrows, dyn->noff, q, vq, xq + m * B, L->gp + (L->pd ? nd : 0), B);
  }
}

/* The sum's end: the panels' sums in place, then W_ii's log-det terms */
static void StatesEnd(TnDyn dyn)
{
  TnDynLoc    *L  = &dyn->loc;
  const size_t nd = (size_t)dyn->d.n;
  if (L->pd) StatesScatter(&dyn->d, L->pd, NULL, dyn->m, L->gp, L->acc.gW);
  if (L->po) StatesScatter(&dyn->o, L->po, dyn->offrows, dyn->noff, L->gp + (L->pd ? nd : 0), L->acc.gW + nd);
  for (PetscInt i = 0; i < dyn->m; i++)
    if (dyn->diagpos[i] >= 0) L->acc.gW[dyn->diagpos[i]] += L->dsw[i];
}

/* The rule from the K recorded states, at a_K */
static PetscErrorCode StatesSum(TnDyn dyn, const PetscScalar *aK)
{
  TnDynLoc *L = &dyn->loc;
  PetscFunctionBeginUser;
  PetscCheck(L->nrec == dyn->K, PETSC_COMM_SELF, PETSC_ERR_ORDER, "the local rule with its states stored needs the K = %" PetscInt_FMT " steps of the evolution before TnDynLocalEnd; it has %" PetscInt_FMT, dyn->K, L->nrec);
  PetscCall(PetscLogEventBegin(TN_LocalReplay, 0, 0, 0, 0));
  TN_DISPATCH_B(dyn->B, StatesCoefsRows, dyn, aK);
  TN_DISPATCH_B(dyn->B, StatesProducts, dyn);
  StatesEnd(dyn);
  L->nrec = 0; /* the rows' records are v now: the next sum needs K steps again */
  PetscCall(PetscLogFlops((2.0 * dyn->B * (double)(dyn->d.n + dyn->o.n) + 24.0 * dyn->m * dyn->B) * dyn->K));
  PetscCall(PetscLogEventEnd(TN_LocalReplay, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynLocalStep(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *ldet)
{
  TnDynLoc *L = &dyn->loc;
  PetscFunctionBeginUser;
  PetscCheck(out != a || dyn->m == 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "the local step needs a_k beside a_{k+1}: out must not be a"); /* a rank without rows has neither (NULL) */
  PetscCall(PetscLogEventBegin(TN_DynStep, 0, 0, 0, 0));
  if (L->store == TN_LOCAL_STORE_STATES) {
    PetscCheck(L->nrec < dyn->K, PETSC_COMM_SELF, PETSC_ERR_ORDER, "the local rule with its states stored records K = %" PetscInt_FMT " steps; a step beyond K needs TnDynLocalBegin first", dyn->K);
    PetscCall(dyn->ops.localrecord(dyn, k, a, out, ldet, L->X + L->nrec * L->sx, L->Y + L->nrec * L->sy, L->sn));
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
  const int      done = L->store == TN_LOCAL_STORE_STATES; /* the base term added by StatesSum */
  TnParamLayout  P;
  PetscReal      lam[B];
  PetscFunctionBeginUser;
  PetscCall(TnNetGetParamLayout(dyn->net, &P));
  if (done) PetscCall(StatesSum(dyn, aK));
  for (PetscInt i = 0; i < dyn->m && !done; i++) {
    const PetscReal *eb = L->e + (nd + no + i) * B, *eg = L->e + (nd + no + m + i) * B;
    PetscReal        sb = 0, sg = 0;
    for (PetscInt b = 0; b < B; b++) {
      const PetscReal z = aK[(size_t)i * B + b];
      lam[b]            = L->wt[b] * TnBaseSlope(dyn->base, z);
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
