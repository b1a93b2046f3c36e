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
           halo), then one dot product of K B values per synapse, the
           column's records of all K steps contiguous (node-major). b_i's
           and gamma_i's traces are carried forward as with traces.
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
    n  = (double)P.n * B;              /* the traces: one per synapse, b and gamma, per sample */
    nr = (double)(2 * m + ng) * B * K; /* the records of K steps */
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
      PetscCall(PetscSNPrintf(what, sizeof(what), "the local rule's eligibility traces (one per synapse, b and gamma, for each of B = %" PetscInt_FMT " samples: %.4g values on this rank)", dyn->B, n));
      PetscCall(TnCheckMemory(dyn->comm, 8.0 * n + extra, what, "reduce -dyn_batch, or run on more nodes"));
      PetscCall(TnMemoryAllocAligned(sizeof(PetscScalar) * ((size_t)n + 1), &L->e)); /* a synapse's B traces on whole cache lines; huge pages */
      L->bytes = 8.0 * (n + B);
    } else {
      PetscCall(PetscSNPrintf(what, sizeof(what), "the local rule's records of the K = %" PetscInt_FMT " states (2 values per node and 1 per ghost, per step and sample): %.4g values on this rank", dyn->K, nr));
      PetscCall(TnCheckMemory(dyn->comm, 8.0 * nr + extra, what, "give -dyn_local_store traces (one per synapse instead), reduce -dyn_batch or -dyn_steps, or run on more nodes"));
      /* node-major: node j's values of all K steps contiguous, at j sx */
      PetscCall(TnMemoryAllocAligned(sizeof(PetscScalar) * ((m + ng) * B * K + 1), &L->X));
      PetscCall(TnMemoryAllocAligned(sizeof(PetscScalar) * (m * B * K + 1), &L->Y));
      PetscCall(PetscMalloc1(5 * K * B + K, &L->coef)); /* F, hq, ga, gs, v; sw */
      L->sx    = K * B;
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

/* sum_q sum_b v[q B + b] x[q B + b] over n = K B values, in eight lanes
   then pairwise (a fixed order: the same on any rank count) */
TN_INLINE PetscReal StatesDot(const PetscReal *restrict v, const PetscReal *restrict x, const size_t n)
{
  PetscReal s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t    q    = 0;
  for (; q + 8 <= n; q += 8)
    for (int l = 0; l < 8; l++) s[l] += v[q + l] * x[q + l];
  for (; q < n; q++) s[0] += v[q] * x[q];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* Row i with the states stored (the top of this file): its coefficients
   at each step from its records (rate: t = phi(a_k,i) = x_i, a_i = y_i;
   current: t = phi(s_k,i) = phi(y_i), a_i = x_i); b's and gamma's traces
   and terms forward as TnLocRowOwn's, with the base term at a_K; mu
   backward from lambda, v_k = gs_k + hq_k mu_k; then each synapse's
   gradient, one dot product of its column's records with v, and W_ii's
   log-det terms. */
TN_INLINE void StatesRow(TnDyn dyn, PetscInt i, const PetscScalar *restrict aK, const PetscInt B)
{
  TnDynLoc       *L  = &dyn->loc;
  const size_t    nd = (size_t)dyn->d.n, sx = L->sx, K = (size_t)dyn->K, n = K * B;
  const PetscBool rate = dyn->form == TN_FORM_RATE, lin = dyn->act == TN_ACT_LINEAR, diag = dyn->ldt == TN_LOGDET_DIAG;
  const PetscReal h = dyn->h, gi = dyn->gamma[i], wi = dyn->wdiag[i];
  PetscReal *restrict F = L->coef, *hq = F + n, *ga = hq + n, *gs = ga + n, *v = gs + n, *sw = v + n;
  PetscReal        rb[B], rg[B], mu[B], sb = 0, sg = 0, swt = 0;
  const PetscReal *xi = L->X + (size_t)i * sx, *yi = L->Y + (size_t)i * sx;
  for (PetscInt b = 0; b < B; b++) rb[b] = rg[b] = 0;
  for (size_t q = 0; q < K; q++) {
    const size_t o = q * B;
    PetscReal    c[B], d[B], t[B], s1 = 0, s2 = 0, s3 = 0;
    if (rate)
      memcpy(t, xi + o, sizeof(t));
    else
      for (PetscInt b = 0; b < B; b++) t[b] = TnPhi(dyn->act, yi[o + b]);
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
      rg[b] = F[o + b] * rg[b] - h * (rate ? yi[o + b] : xi[o + b]);
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
  for (size_t q = 0; q < K; q++) swt += sw[q];
  for (PetscInt t = dyn->d.ia[i]; t < dyn->d.ia[i + 1]; t++) {
    if (t + TN_LOC_AHEAD < dyn->d.n) {
      const PetscReal *xf = L->X + (size_t)dyn->d.ja[t + TN_LOC_AHEAD] * sx;
      for (size_t l = 0; l < n; l += 8) __builtin_prefetch(xf + l, 0, 2);
    }
    L->acc.gW[t] += StatesDot(v, L->X + (size_t)dyn->d.ja[t] * sx, n);
    if (t == dyn->diagpos[i]) L->acc.gW[t] += swt;
  }
  for (PetscInt t = dyn->o.ia[i]; t < dyn->o.ia[i + 1]; t++) L->acc.gW[nd + t] += StatesDot(v, L->X + ((size_t)dyn->m + (size_t)dyn->o.ja[t]) * sx, n);
}

TN_INLINE void StatesRows(TnDyn dyn, const PetscScalar *aK, const PetscInt B)
{
  for (PetscInt i = 0; i < dyn->m; i++) StatesRow(dyn, i, aK, B);
}

/* The rule from the K recorded states, at a_K */
static PetscErrorCode StatesSum(TnDyn dyn, const PetscScalar *aK)
{
  TnDynLoc *L = &dyn->loc;
  PetscFunctionBeginUser;
  PetscCheck(L->nrec == dyn->K, PETSC_COMM_SELF, PETSC_ERR_ORDER, "the local rule with its states stored needs the K = %" PetscInt_FMT " steps of the evolution before TnDynLocalEnd; it has %" PetscInt_FMT, dyn->K, L->nrec);
  PetscCall(PetscLogEventBegin(TN_LocalReplay, 0, 0, 0, 0));
  TN_DISPATCH_B(dyn->B, StatesRows, dyn, aK);
  PetscCall(PetscLogFlops((2.0 * dyn->B * (double)(dyn->d.n + dyn->o.n) + 24.0 * dyn->m * dyn->B) * dyn->K));
  PetscCall(PetscLogEventEnd(TN_LocalReplay, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynLocalStep(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *ldet)
{
  TnDynLoc *L = &dyn->loc;
  PetscFunctionBeginUser;
  PetscCheck(out != a, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "the local step needs a_k beside a_{k+1}: out must not be a");
  PetscCall(PetscLogEventBegin(TN_DynStep, 0, 0, 0, 0));
  if (L->store == TN_LOCAL_STORE_STATES) {
    PetscCheck(L->nrec < dyn->K, PETSC_COMM_SELF, PETSC_ERR_ORDER, "the local rule with its states stored records K = %" PetscInt_FMT " steps; a step beyond K needs TnDynLocalBegin first", dyn->K);
    PetscCall(dyn->ops.localrecord(dyn, k, a, out, ldet, L->X + L->nrec * (size_t)dyn->B, L->Y + L->nrec * (size_t)dyn->B, L->sx));
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
