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
   (ops.localstep, TnLocRow). The work shared by the schemes is here. */
#include "dynimpl.h"

PetscErrorCode TnDynLocalReset(TnDyn dyn)
{
  TnDynLoc *L = &dyn->loc;
  PetscFunctionBeginUser;
  if (!L->setup) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnMemoryFreeAligned(&L->e));
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
    char   what[256];
    double n;
    PetscCall(TnNetGetParamLayout(dyn->net, &P));
    PetscCheck(P.nd == dyn->d.n && P.no == dyn->o.n && P.m == dyn->m, PETSC_COMM_SELF, PETSC_ERR_PLIB, "theta's layout does not match W's blocks");
    n = (double)P.n * dyn->B;
    PetscCall(PetscSNPrintf(what, sizeof(what), "the local rule's eligibility traces (one per synapse, b and gamma, for each of B = %" PetscInt_FMT " samples: %.4g values on this rank)", dyn->B, n));
    PetscCall(TnCheckMemory(dyn->comm, 8.0 * n + extra, what, "reduce -dyn_batch, or run on more nodes"));
    PetscCall(TnMemoryAllocAligned(sizeof(PetscScalar) * ((size_t)n + 1), &L->e)); /* a synapse's B traces on whole cache lines; huge pages */
    PetscCall(PetscMalloc1(dyn->B, &L->wt));
    L->bytes = 8.0 * (n + dyn->B);
    L->setup = PETSC_TRUE;
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
  PetscCall(PetscArrayzero(L->e + (size_t)(P.nd + P.no) * dyn->B, (size_t)(P.n - P.nd - P.no) * dyn->B));
  L->fresh = PETSC_TRUE;
  PetscCall(PetscArrayzero(grad, P.n));
  L->acc.gW = grad;
  L->acc.gb = grad + P.b;
  L->acc.gg = grad + P.u;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynLocalStep(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *ldet)
{
  PetscFunctionBeginUser;
  PetscCheck(out != a, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "the local step needs a_k beside a_{k+1}: out must not be a");
  PetscCall(PetscLogEventBegin(TN_DynStep, 0, 0, 0, 0));
  PetscCall(dyn->ops.localstep(dyn, k, a, out, ldet));
  dyn->loc.fresh = PETSC_FALSE; /* the synapses' traces are e_{k+1}, stored */
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
  TnParamLayout  P;
  PetscReal      lam[B];
  PetscFunctionBeginUser;
  PetscCall(TnNetGetParamLayout(dyn->net, &P));
  for (PetscInt i = 0; i < dyn->m; i++) {
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
