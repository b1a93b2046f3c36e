/* Private: the dynamics object and its kernels. Invariant after SetUp: the
   CSR arrays of W's on-process block (Ad, local columns) and off-process block
   (Ao, columns index the halo) are borrowed from the network's matrix; the
   halo scatter moves B values per ghost node (block IS over Ao's garray). */
#pragma once
#include <tenor/dyn.h>
#include <tenor/logdet.h>
#include <math.h>

typedef struct {
  PetscInt           n;        /* number of nonzeros (ia[rows]) */
  PetscBool          prefetch; /* columns scattered: prefetch the gathers */
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

  PetscInt         m, nghost;
  Mat              Ad, Ao;
  TnCSR            d, o;
  const PetscReal *gamma, *bias, *wdiag; /* borrowed from the net's Vecs */
  PetscInt        *offrows, noff;        /* rows with off-process synapses */
  VecScatter       halo;
  PetscReal       *pbuf; /* phi(a) (rate) or a (current): what is exchanged */
  Vec              P, G; /* a Vec view of pbuf, and the ghost copy */
  PetscReal       *S;    /* current form: the synaptic input W a + b */
  /* colouring: rows of colour c are crows[cptr[c] .. cptr[c+1]), the first
     cnint[c] of them interior (no off-process synapse) */
  PetscInt   ncolors, *colors, *cptr, *crows, *cnint;
  PetscInt   renorm; /* rows between renormalisations of the diag product */
  PetscInt   nvalid; /* real samples of the batch being evaluated */
  TnLogDet   exact;  /* a global log-det method (dense, sparse, slq), or NULL */
  Mat        J;      /* its step Jacobian */
  VecScatter nat2part;
  Vec        xnat;
  Vec        nodeloss;
  PetscReal  invert_value;
  char       invert_what[256];
};

#define TN_INLINE static inline __attribute__((always_inline))

/* tanh(x) in straight-line code the compiler vectorises (the kernels are
   built with -fno-math-errno -fno-trapping-math): for |x| <= 0.625 Cephes'
   rational form x + x^3 P(x^2)/Q(x^2); above, (e^{2|x|} - 1)/(e^{2|x|} + 1)
   with e^y from y = n ln 2 + r, |r| <= ln2/2, and a degree-13 Taylor
   polynomial. Within 2 ulp of libm's tanh over the whole line. */
TN_INLINE double TnExpPos(double y)
{
  const double log2e = 1.4426950408889634074, ln2hi = 6.93147180369123816490e-01, ln2lo = 1.90821492927058770002e-10;
  union {
    double  d;
    int64_t i;
  } t, u;
  double nd, r, p;
  t.d = fma(y, log2e, 0x1.8p52); /* round(y / ln 2) in the low bits */
  nd  = t.d - 0x1.8p52;
  r   = (y - nd * ln2hi) - nd * ln2lo;
  p   = 1.0 / 6227020800.0;
  p   = fma(p, r, 1.0 / 479001600.0);
  p   = fma(p, r, 1.0 / 39916800.0);
  p   = fma(p, r, 1.0 / 3628800.0);
  p   = fma(p, r, 1.0 / 362880.0);
  p   = fma(p, r, 1.0 / 40320.0);
  p   = fma(p, r, 1.0 / 5040.0);
  p   = fma(p, r, 1.0 / 720.0);
  p   = fma(p, r, 1.0 / 120.0);
  p   = fma(p, r, 1.0 / 24.0);
  p   = fma(p, r, 1.0 / 6.0);
  p   = fma(p, r, 0.5);
  p   = fma(p, r, 1.0);
  p   = fma(p, r, 1.0);
  u.i = (t.i - 0x4338000000000000LL + 1023) << 52; /* 2^n */
  return p * u.d;
}

TN_INLINE double TnTanh(double x)
{
  const double P0 = -9.64399179425052238628E-1, P1 = -9.92877231001918586564E1, P2 = -1.61468768441708447952E3;
  const double Q0 = 1.12811678491632931402E2, Q1 = 2.23548839060100448583E3, Q2 = 4.84406305325125486048E3;
  double       z = fabs(x), zc = z < 22.0 ? z : 22.0, x2 = x * x, s = TnExpPos(2.0 * zc);
  int          big = z > 0.625;
  double       num = big ? s - 1.0 : x * x2 * ((P0 * x2 + P1) * x2 + P2);
  double       den = big ? s + 1.0 : ((x2 + Q0) * x2 + Q1) * x2 + Q2;
  double       q   = num / den;
  return big ? copysign(q, x) : x + q;
}

/* phi and phi' (MODEL.md section 2). */
TN_INLINE PetscReal TnPhi(TnAct act, PetscReal s)
{
  return act == TN_ACT_TANH ? TnTanh(s) : s;
}

/* p = phi(a) over n contiguous entries, one loop per activation so that
   tanh vectorises (the sync step, and the gradient's phi(a_k) slots). */
TN_INLINE void TnPhiAll(TnAct act, size_t n, const PetscScalar *restrict a, PetscReal *restrict p)
{
  if (act == TN_ACT_TANH)
    for (size_t q = 0; q < n; q++) p[q] = TnTanh(a[q]);
  else
    for (size_t q = 0; q < n; q++) p[q] = a[q];
}

/* Accumulating one step's log-det terms for B samples. diag multiplies the
   factors 1 + h A_ii and takes one log per sample at the end, splitting the
   exponent off with frexp every `renorm` rows so the product stays inside the
   double range (SetUp bounds every factor); trace sums h A_ii. With per-node
   totals on, node i's terms are also summed exactly into *nodeacc. The
   arrays are the kernel's locals, so with B known at compile time they live
   in registers. */
typedef struct {
  PetscInt     count, renorm, nvalid;
  TnLogDetType ldt;
} TnAcc;

TN_INLINE void TnAccBegin(TnDyn dyn, TnAcc *acc, PetscReal *prod, int *expo, const PetscInt B)
{
  acc->count  = 0;
  acc->renorm = dyn->renorm;
  acc->ldt    = dyn->ldt;
  acc->nvalid = dyn->nvalid;
  for (PetscInt b = 0; b < B; b++) {
    prod[b] = acc->ldt == TN_LOGDET_DIAG ? 1.0 : 0.0;
    expo[b] = 0;
  }
}

TN_INLINE void TnAccRow(TnAcc *acc, const PetscReal *hA, PetscReal *prod, int *expo, PetscReal *nodeacc, const PetscInt B)
{
  if (acc->ldt == TN_LOGDET_DIAG) {
    for (PetscInt b = 0; b < B; b++) prod[b] *= 1.0 + hA[b];
    if (++acc->count >= acc->renorm) {
      acc->count = 0;
      for (PetscInt b = 0; b < B; b++) {
        int e;
        prod[b] = frexp(prod[b], &e);
        expo[b] += e;
      }
    }
  } else
    for (PetscInt b = 0; b < B; b++) prod[b] += hA[b];
  if (nodeacc)
    for (PetscInt b = 0; b < acc->nvalid; b++) *nodeacc -= TnLogDetTerm(acc->ldt, hA[b]);
}

/* out[b] += this rank's log-det sum of the step for sample b */
TN_INLINE void TnAccEnd(TnAcc *acc, const PetscReal *prod, const int *expo, PetscReal *out, const PetscInt B)
{
  for (PetscInt b = 0; b < B; b++) out[b] += acc->ldt == TN_LOGDET_DIAG ? log(fabs(prod[b])) + expo[b] * M_LN2 : prod[b];
}

/* y[0..B) += sum_j A_ij x[j*B .. j*B+B) for row i of a CSR block: one read
   of the row serves all B samples. */
#define TN_PREFETCH_AHEAD 16
TN_INLINE void TnRowTimesBlockPlain(const TnCSR *A, PetscInt i, const PetscScalar *restrict x, const PetscInt B, PetscReal *restrict y)
{
  for (PetscInt t = A->ia[i]; t < A->ia[i + 1]; t++) {
    const PetscScalar  v  = A->va[t];
    const PetscScalar *xj = x + (size_t)A->ja[t] * B;
    for (PetscInt b = 0; b < B; b++) y[b] += v * xj[b];
  }
}

/* The same, asking for the gather TN_PREFETCH_AHEAD synapses ahead. */
TN_INLINE void TnRowTimesBlockPrefetch(const TnCSR *A, PetscInt i, const PetscScalar *restrict x, const PetscInt B, PetscReal *restrict y)
{
  for (PetscInt t = A->ia[i]; t < A->ia[i + 1]; t++) {
    const PetscScalar  v  = A->va[t];
    const PetscScalar *xj = x + (size_t)A->ja[t] * B;
    if (t + TN_PREFETCH_AHEAD < A->n) {
      const PetscScalar *xf = x + (size_t)A->ja[t + TN_PREFETCH_AHEAD] * B;
      __builtin_prefetch(xf);
      __builtin_prefetch(xf + B - 1);
    }
    for (PetscInt b = 0; b < B; b++) y[b] += v * xj[b];
  }
}

/* The plain loop, unless pf (a compile-time constant where it is used): then
   the prefetching one. Kernels are instantiated for both (TnDynStep_Sync). */
TN_INLINE void TnRowTimesBlockPF(const TnCSR *A, PetscInt i, const PetscScalar *restrict x, const PetscInt B, PetscReal *restrict y, const int pf)
{
  if (pf)
    TnRowTimesBlockPrefetch(A, i, x, B, y);
  else
    TnRowTimesBlockPlain(A, i, x, B, y);
}

TN_INLINE void TnRowTimesBlock(const TnCSR *A, PetscInt i, const PetscScalar *restrict x, const PetscInt B, PetscReal *restrict y)
{
  TnRowTimesBlockPlain(A, i, x, B, y);
}

/* Calls KERNEL(args..., B) with B a compile-time constant for the common
   batch sizes, so the per-sample loops unroll and vectorise. */
#define TN_DISPATCH_B(B, KERNEL, ...) \
  do {                                \
    switch (B) {                      \
    case 1:                           \
      KERNEL(__VA_ARGS__, 1);         \
      break;                          \
    case 2:                           \
      KERNEL(__VA_ARGS__, 2);         \
      break;                          \
    case 4:                           \
      KERNEL(__VA_ARGS__, 4);         \
      break;                          \
    case 8:                           \
      KERNEL(__VA_ARGS__, 8);         \
      break;                          \
    case 16:                          \
      KERNEL(__VA_ARGS__, 16);        \
      break;                          \
    case 32:                          \
      KERNEL(__VA_ARGS__, 32);        \
      break;                          \
    default:                          \
      KERNEL(__VA_ARGS__, B);         \
    }                                 \
  } while (0)

PetscErrorCode TnDynHaloBegin(TnDyn dyn);
PetscErrorCode TnDynHaloEnd(TnDyn dyn);
/* out = the sync step of a (out == a: in place); rate form: phi(a) is
   written to pa (NULL: the dynamics' own pbuf) */
PetscErrorCode TnDynStep_Sync(TnDyn dyn, const PetscScalar *a, PetscScalar *out, PetscReal *pa, PetscReal *ldet, PetscReal *nodeacc);
/* out = the colored sweep of a (out == a: in place) */
PetscErrorCode TnDynStep_Colored(TnDyn dyn, const PetscScalar *a, PetscScalar *out, PetscReal *ldet, PetscReal *nodeacc);
PetscErrorCode TnDynColoringSetUp(TnDyn dyn);
PetscErrorCode TnDynCheckInvertible(TnDyn dyn);
