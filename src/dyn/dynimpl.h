/* Private: the dynamics object and its kernels. Invariant after SetUp: the
   CSR arrays of W's on-process block (Ad, local columns) and off-process block
   (Ao, columns index the halo) are borrowed from the network's matrix; the
   halo scatter moves B values per ghost node (block IS over Ao's garray). */
#pragma once
#include <tenor/dyn.h>
#include <math.h>

typedef struct {
  PetscInt           n;
  const PetscInt    *ia, *ja;
  const PetscScalar *va;
} TnCSR;

struct _p_TnDyn {
  TnNet        net;
  MPI_Comm     comm;
  TnScheme     scheme;
  TnForm       form;
  TnAct        act;
  PetscReal    h;
  PetscInt     K, B;
  TnLogDetType ldt;
  TnBase       base;
  PetscBool    nodeloss_on, setup;
  char         colin[PETSC_MAX_PATH_LEN], colout[PETSC_MAX_PATH_LEN];
  PetscInt     colseed;

  PetscInt   m, nghost;
  Mat        Ad, Ao;
  TnCSR      d, o;
  PetscReal *gamma, *bias, *wdiag;
  PetscInt  *offrows, noff; /* rows with off-process synapses */
  VecScatter halo;
  PetscReal *pbuf; /* phi(a) (rate) or a (current): what is exchanged */
  Vec        P, G; /* a Vec view of pbuf, and the ghost copy */
  PetscReal *S;    /* current form: the synaptic input W a + b */
  /* colouring: rows of colour c are crows[cptr[c] .. cptr[c+1]), the first
     cnint[c] of them interior (no off-process synapse) */
  PetscInt   ncolors, *colors, *cptr, *crows, *cnint;
  PetscInt   renorm; /* rows between renormalisations of the diag product */
  VecScatter nat2part;
  Vec        xnat;
  Vec        nodeloss;
  PetscReal  invert_value;
  char       invert_what[256];
  /* per-step scratch, B entries each */
  PetscReal *prod, *sum, *hA;
  PetscInt  *expo;
};

/* phi and phi' (MODEL.md section 2). */
static inline PetscReal TnPhi(TnAct act, PetscReal s)
{
  return act == TN_ACT_TANH ? tanh(s) : s;
}
static inline PetscReal TnDPhi(TnAct act, PetscReal s)
{
  PetscReal t;
  if (act == TN_ACT_LINEAR) return 1.0;
  t = tanh(s);
  return 1.0 - t * t;
}

/* Accumulating the log-det terms of one step for B samples: diag multiplies
   the factors 1 + h A_ii and takes one log per sample at the end (exponents
   split off with frexp every `renorm` rows, so the product stays inside the
   double range: SetUp bounds every factor); trace sums h A_ii. With per-node
   totals on, node i's terms are also summed exactly into nodeacc[i]. */
static inline void TnAccBegin(TnDyn dyn)
{
  for (PetscInt b = 0; b < dyn->B; b++) {
    dyn->prod[b] = 1.0;
    dyn->expo[b] = 0;
    dyn->sum[b]  = 0.0;
  }
}

static inline void TnAccRow(TnDyn dyn, const PetscReal *hA, PetscInt *count, PetscReal *nodeacc)
{
  const PetscInt B = dyn->B;
  if (dyn->ldt == TN_LOGDET_DIAG) {
    for (PetscInt b = 0; b < B; b++) dyn->prod[b] *= 1.0 + hA[b];
    if (++*count >= dyn->renorm) {
      *count = 0;
      for (PetscInt b = 0; b < B; b++) {
        int e;
        dyn->prod[b] = frexp(dyn->prod[b], &e);
        dyn->expo[b] += e;
      }
    }
  } else
    for (PetscInt b = 0; b < B; b++) dyn->sum[b] += hA[b];
  if (nodeacc)
    for (PetscInt b = 0; b < B; b++) *nodeacc -= TnLogDetTerm(dyn->ldt, hA[b]);
}

/* out[b] += this rank's log-det sum of the step for sample b */
static inline void TnAccEnd(TnDyn dyn, PetscReal *out)
{
  for (PetscInt b = 0; b < dyn->B; b++)
    out[b] += dyn->ldt == TN_LOGDET_DIAG ? log(fabs(dyn->prod[b])) + dyn->expo[b] * M_LN2 : dyn->sum[b];
}

/* y[0..B) += sum_j A_ij x[j*B .. j*B+B) for row i of a CSR block: one read
   of the row serves all B samples. */
static inline void TnRowTimesBlock(const TnCSR *A, PetscInt i, const PetscScalar *x, PetscInt B, PetscReal *y)
{
  for (PetscInt t = A->ia[i]; t < A->ia[i + 1]; t++) {
    const PetscScalar  v  = A->va[t];
    const PetscScalar *xj = x + (size_t)A->ja[t] * B;
    for (PetscInt b = 0; b < B; b++) y[b] += v * xj[b];
  }
}

PetscErrorCode TnDynHaloBegin(TnDyn dyn);
PetscErrorCode TnDynHaloEnd(TnDyn dyn);
PetscErrorCode TnDynStep_Sync(TnDyn dyn, PetscScalar *a, PetscReal *ldet, PetscReal *nodeacc);
PetscErrorCode TnDynStep_Colored(TnDyn dyn, PetscScalar *a, PetscReal *ldet, PetscReal *nodeacc);
PetscErrorCode TnDynColoringSetUp(TnDyn dyn);
PetscErrorCode TnDynCheckInvertible(TnDyn dyn);
