/* Private: the dynamics object and its kernels. Invariant after SetUp: the
   CSR arrays of W's on-process block (Ad, local columns) and off-process block
   (Ao, columns index the halo) are borrowed from the network's matrix; the
   halo scatter moves B values per ghost node (block IS over Ao's garray). */
#pragma once
#include <tenor/dyn.h>
#include <tenor/logdet.h>
#include <math.h>
#include <string.h>
#if defined(__AVX512F__) && defined(__AVX512VL__)
#include <immintrin.h>
#endif

typedef struct {
  PetscInt           n;        /* number of nonzeros (ia[rows]) */
  PetscBool          prefetch; /* columns scattered: prefetch the gathers */
  const PetscInt    *ia, *ja;
  const PetscScalar *va;
} TnCSR;

/* A CSR block split into column panels: panel q holds the entries whose
   column is in [q cw, (q + 1) cw), row by row, each row's in its original
   order, so a row summed panel after panel adds its terms in the same order
   as the block itself (bit for bit when a row's columns ascend, as W's do).
   A pass over one panel gathers from cw B values only, which stay in cache
   (the random gathers of er otherwise miss at nearly every synapse). view[q]
   is panel q as a CSR block (ia + q (rows + 1), ja, va); va is a copy of the
   block's values, refreshed when the network's parameter version moves
   (TnNetGetParamVersion). np <= 1: no panels. */
typedef struct {
  PetscInt   np, cw, rows;
  PetscInt  *ia, *ja;
  PetscReal *va;
  TnCSR     *view;
  PetscInt64 version; /* the network's parameter version va was copied at (TnNetGetParamVersion) */
} TnPanels;

typedef struct _TnBoundQ TnBoundQ;

/* A scheme (docs/model.md section 2) is one implementation behind this table, in
   its own folder under src/dyn/impls/, registered by name in dynregis.c.
   Arrays are a rank's local block of a state batch (m*B entries,
   node-major, sample-fastest). The implementation keeps its own state in
   dyn->data. Optional entries may be NULL. */
typedef struct {
  /* its keys in the options database (inside the -dyn_ section) */
  PetscErrorCode (*setfromoptions)(TnDyn, PetscOptionItems *);
  /* build what the scheme needs after the common set-up (colouring, work
     arrays); reset frees it; destroy frees what dyn->data points to (the
     struct itself is freed by the common code; NULL: nothing) */
  PetscErrorCode (*setup)(TnDyn);
  PetscErrorCode (*reset)(TnDyn);
  PetscErrorCode (*destroy)(TnDyn);
  /* step k: out = the step of a (out may be a); ldet[b] += this rank's
     log-det terms of sample b; nodeacc[i] -= node i's terms (real samples);
     save: nsave entries kept for the adjoint step (adjointsetup), or NULL.
     A step k > 0 whose a is the array step k - 1 wrote (out) finds a as
     that step left it: the caller does not change a state between the
     steps of one evolution (the colored scheme relies on it) */
  PetscErrorCode (*step)(TnDyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *save, PetscReal *ldet, PetscReal *nodeacc);
  /* an evolution in place (TnDynEvaluate): own = true before its first
     step, false after its last; in between the scheme may keep the state a
     in an order of its own (a permutation of the local rows), which every
     step then reads and writes (nodeacc keeps the local rows' order). NULL:
     the partitioned order throughout */
  PetscErrorCode (*order)(TnDyn, PetscScalar *a, PetscBool own);
  /* the save entries of state a without stepping (nsave > 0) */
  PetscErrorCode (*stepsave)(TnDyn, const PetscScalar *a, PetscReal *save);
  /* reverse mode (adjoint.c holds lambda): allocate the work; *nsave: the
     entries per state the forward step keeps for adjointstep (0: none) */
  PetscErrorCode (*adjointsetup)(TnDyn, size_t *nsave);
  PetscErrorCode (*adjointreset)(TnDyn);
  PetscErrorCode (*adjointbegin)(TnDyn);
  /* lambda_{k+1} (adj.lam) -> lambda_k, accumulating dL/dtheta (adj.acc);
     ak, ak1 the states before and after step k */
  PetscErrorCode (*adjointstep)(TnDyn, PetscInt k, const PetscScalar *ak, const PetscScalar *ak1, const PetscReal *save);
  PetscErrorCode (*adjointend)(TnDyn);
  /* the local rule (local.c): step k as `step` (out != a), and, for every
     row i as it is updated, the traces of node i's own parameters carried
     from a_k to a_{k+1} and node i's own step-k loss terms accumulated
     (TnLocRow); NULL: the scheme has no local rule */
  PetscErrorCode (*localstep)(TnDyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *ldet);
  /* the local rule with its states stored (local.c): step k as `step`
     (out != a), then what the rule reads of it recorded, B values per
     node at stride sj: x + j sj the values synapses of column j read
     (local rows j < m, then ghost g at j = m + g), y + i sj row i's own
     (rate: a_k,i; current: s_k,i); NULL: the scheme stores traces only */
  PetscErrorCode (*localrecord)(TnDyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *ldet, PetscReal *x, PetscReal *y, size_t sj);
  /* the column panels (TnPanels) the step gathers its B values a column
     through, of Ad and of Ao (np <= 1: none), for other passes that gather
     the same (the local rule's sum over its records); NULL: none */
  PetscErrorCode (*panels)(TnDyn, const TnPanels **pd, const TnPanels **po);
  /* a = a_{k+1} -> a_k in place */
  PetscErrorCode (*inversestep)(TnDyn, PetscInt k, PetscScalar *a, TnDynInverseStats *st);
  /* the invertibility condition from the quantities of bound.c (|W|_1
     among them only if boundnorm1); ok only with the given margin */
  PetscErrorCode (*bound)(TnDyn, const TnBoundQ *, PetscReal margin, TnDynBound *);
  PetscBool boundnorm1;
  PetscErrorCode (*view)(TnDyn, PetscViewer);
  /* the colouring, if the scheme has one (colour of each local row) */
  PetscErrorCode (*getcolors)(TnDyn, PetscInt *ncolors, const PetscInt **colors);
  /* the step, adjoint and inverse honour the clamp mask dyn->fmask (clamped
     rows keep their value and have no log-det term); false: SetUp refuses a
     clamp set with this scheme */
  PetscBool clamp;
} TnSchemeOps;

/* The gradient being accumulated, in theta's layout (TnNetGetParamLayout). */
typedef struct {
  PetscReal *gW, *gb, *gg; /* dL/dW (Ad's values, then Ao's), dL/db, dL/dgamma */
} TnDynAdjAcc;

/* Reverse-mode work shared by the schemes (adjoint.c). lam holds lambda
   weighted by omega_b = 1/nvalid for real samples and 0 for padding, so every
   parameter gradient is the plain sum over the batch. */
typedef struct {
  PetscBool      setup;
  PetscBool      inplace; /* the scheme's adjoint step updates lam in place (no lamnew) */
  size_t         nsave;
  PetscReal     *lam, *lamnew, *lamall; /* lambda_{k+1} and lambda_k (they swap) */
  PetscReal     *wt;                    /* omega_b */
  PetscReal     *gbuf;                  /* Gp's array */
  Vec            Pv, Gp;                /* forward halo: a wrapper of what is sent, ghost copy */
  Vec            Lv, Gy;                /* reverse halo: ghost contributions added into lambda */
  TnDynAdjAcc    acc;
  PetscLogDouble bytes; /* work of the scheme's adjoint, this rank */
} TnDynAdj;

/* The local rule's forward sensitivities (local.c, docs/gradient.md): for
   each entry q of theta's local layout (W's synapses of row i, b_i, gamma_i:
   node i's own parameters) and sample b, e[q B + b] = d a_{k,i b} / d theta_q
   with the other nodes' states taken as given. wt as TnDynAdj's. */
typedef struct {
  PetscBool      setup;
  PetscBool      fresh; /* the synapses' traces are e_0 = 0, not stored: the next step writes e_1 without reading them */
  PetscReal     *e, *wt;
  TnDynAdjAcc    acc;
  PetscLogDouble bytes; /* e, wt and the records, this rank */
  /* -dyn_local_store (local.c): traces (e: every synapse's, b's and
     gamma's) or states (X, Y: the records of the K steps, node j's
     values of step q at X + j sn + q sx, row i's at Y + i sn + q sy:
     node-major (sn = K B, sx = sy = B) or, where the sum goes through
     column panels, step-major (sn = B); nrec steps recorded; coef: a
     row's coefficients and log-det terms, StatesCoefs; dsw: each row's
     W_ii log-det terms; pd, po: the scheme's column panels, or NULL, and
     gp the synapses' sums in their order, StatesBlock) */
  TnLocalStore    store;
  PetscInt        nrec;
  PetscReal      *X, *Y, *coef, *dsw, *gp;
  size_t          sn, sx, sy;
  const TnPanels *pd, *po;
} TnDynLoc;

struct _p_TnDyn {
  TnNet        net;
  MPI_Comm     comm;
  char         type[64];
  TnSchemeOps  ops;
  void        *data;    /* the scheme's own state */
  const char  *ldtdesc; /* the scheme's own log-det, if -logdet_type does not apply */
  TnForm       form;
  TnAct        act;
  PetscReal    h, T; /* T > 0: h = T / K at SetUp */
  PetscInt     K, B;
  TnLogDetType ldt;
  TnBase       base;
  PetscBool    nodeloss_on, setup;
  /* clamped nodes (docs/conditional.md): the set, natural numbers, given by
     TnDynSetClamp or read from -data_clamp at SetUp */
  IS   clampis;
  char clampfile[PETSC_MAX_PATH_LEN];
  /* settings the schemes read (kept here so that they can be set before the
     scheme is chosen): colored's colouring, continuous's integrator */
  char            colin[PETSC_MAX_PATH_LEN], colout[PETSC_MAX_PATH_LEN];
  PetscInt        colseed;
  TnColoringOrder colorder;
  PetscReal       rtol, atol;
  PetscBool       adapt;
  /* sync's backward step: W^T by columns or by rows (-dyn_adjoint_transpose) */
  TnAdjointTranspose adjtr;
  /* bytes of gathered state per column panel (TnPanels: the sync step's, the colored step's rows split by colour), set by
     -dyn_panel_kb (0: no panels); unset: from the last-level cache */
  PetscInt  panelkb;
  PetscBool panelset;
  /* sync: Ad's row slices at B = 1 (TnSlices, -dyn_slices; default on);
     slicesall (no option; tests): keep them where fewer than half are
     regular too */
  PetscBool    slices, slicesall;
  TnLocalStore locstore; /* -dyn_local_store */
  /* the sync bound's |W|_2 (bound.c): which bound, Lanczos steps, failure probability */
  TnBoundNorm bnorm;
  PetscInt    bsteps;
  PetscReal   bdelta;

  PetscInt         m, nghost;
  PetscReal       *fmask;         /* [m] 1 for a free row, 0 for a clamped one; NULL: none clamped (clamp.c) */
  PetscReal       *gfmask;        /* [nghost] the same for the ghost columns (the invertibility bound's W_FF) */
  PetscInt         nclamp, nfree; /* global counts (nfree = N without a clamp) */
  Mat              Ad, Ao;
  TnCSR            d, o;
  const PetscReal *gamma, *bias, *wdiag; /* borrowed from the net's Vecs */
  const PetscInt  *diagpos;              /* W_ii's position in Ad's values, or -1 (the net's) */
  PetscInt        *offrows, noff;        /* rows with off-process synapses */
  VecScatter       halo;
  PetscReal       *pbuf;   /* phi(a) (rate) or a (current): what is exchanged */
  PetscScalar     *gbuf;   /* G's storage, cache-line aligned (TnMemoryAllocAligned) */
  Vec              P, G;   /* a Vec view of pbuf, and the ghost copy */
  PetscInt         renorm; /* rows between renormalisations of the diag product */
  PetscInt         nvalid; /* real samples of the batch being evaluated */
  PetscInt64       passes; /* products with W since SetUp (TnDynGetPasses) */
  TnLogDet         exact;  /* a global log-det method (dense, sparse, slq), or NULL */
  Mat              J;      /* its step Jacobian */
  Vec              xnat;
  Vec              nodeloss;
  TnDynBound       bnd;
  Vec              bcs, bgs; /* bound.c: |W|'s column sums, ghost part */
  VecScatter       bsct;
  PetscScalar     *wc;    /* bound.c: W's values (theta's first nd + no entries) where the Lanczos certificate was made, or NULL */
  PetscReal        w2c;   /* the certificate: |W_c|_2 <= w2c (with probability >= 1 - bdelta) */
  PetscReal        w2eps; /* its eps: w2c = sqrt(theta (1 + 1e-8) / (1 - eps)) */
  PetscInt         ncert; /* certificates made since SetUp (each draws a fresh start) */
  TnDynAdj         adj;
  TnDynLoc         loc;
};

/* Registration (dynregis.c): the schemes by name. */
typedef PetscErrorCode (*TnSchemeCreateFn)(TnDyn);
PetscErrorCode TnDynFindScheme(const char name[], TnSchemeCreateFn *create);
PetscErrorCode TnDynSchemeNames(const char *const **list, PetscInt *n);

#define TN_INLINE static inline __attribute__((always_inline))

/* Node i's share of a step: 1 for a free node, 0 for a clamped one. Every
   kernel multiplies its row's update h f_i and its log-det argument h A_ii by
   it, so a clamped node keeps its value, has the identity row in the step's
   Jacobian (whose determinant is then that of the free block J^FF) and
   contributes no log-det term. */
TN_INLINE PetscReal TnDynFree(const struct _p_TnDyn *dyn, PetscInt i)
{
  return dyn->fmask ? dyn->fmask[i] : 1.0;
}

/* Clamp set-up (clamp.c): validates the set and builds fmask, nclamp, nfree;
   reset frees them. Collective. */
PetscErrorCode TnDynSetUpClamp(TnDyn dyn);
PetscErrorCode TnDynResetClamp(TnDyn dyn);

/* tanh(x) in straight-line code the compiler vectorises (the kernels are
   built with -fno-math-errno -fno-trapping-math): for |x| <= 0.625 Cephes'
   rational form x + x^3 P(x^2)/Q(x^2); above, (e^{2|x|} - 1)/(e^{2|x|} + 1)
   with e^y from y = n ln 2 + r, |r| <= ln2/2, and a degree-13 Taylor
   polynomial. Within 3 ulp of libm's tanh (1.7e7 arguments, |x| < 25 and
   down to 2^-60); tanh(-0) gives +0. (Choosing the numerator and
   denominator before the division, which spares the compiler's second
   division, made no measurable difference to a step: not kept.) */
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

/* phi and phi' (docs/model.md section 2). */
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

/* Scattered gathers are asked for this many synapses ahead, into L2
   (__builtin_prefetch(p, 0, 2): prefetcht1): 16 ahead into L1 kept fewer
   misses in flight (er N = 10^6, B = 16, 1 rank: the sync step 0.27 ->
   0.22 s, a local step 1.07 -> 0.89 s; the gradient unchanged). */
#define TN_PREFETCH_AHEAD 32

/* Rows of B reals streamed in order next to the gathers (row sums, panel
   partial sums): asked for TN_ROWS_AHEAD rows ahead, each of the row's
   cache lines. Prefetches past an array's end do not fault. */
#ifndef TN_ROWS_AHEAD
#define TN_ROWS_AHEAD 8
#endif
TN_INLINE void TnPrefetchRow(const PetscReal *p, const int rw, const PetscInt B)
{
  for (PetscInt b = 0; b < B; b += 8) {
    if (rw)
      __builtin_prefetch(p + b, 1, 3);
    else
      __builtin_prefetch(p + b, 0, 3);
  }
}

/* Four reals as one value (the compiler's vector types): the sync
   backward step's lanes and quarters of a row of B = 4 .. 32 samples.
   Loads through memcpy (unaligned). */
typedef PetscReal TnV4 __attribute__((vector_size(4 * sizeof(PetscReal))));
TN_INLINE TnV4    TnV4Load(const PetscReal *p)
{
  TnV4 v;
  memcpy(&v, p, sizeof(v));
  return v;
}

/* y[0..B) += sum_j A_ij x[j*B .. j*B+B) for row i of a CSR block (one read
   of the row serves all B samples) for B = 8, 16, 24, 32 (a compile-time
   constant where it is called), the sums held in vector registers:
   TnRowTimesBlockV8. Written
   with the compiler's vector types because GCC 12 keeps a loop's y[B] (a
   variable-length array until B is propagated) in memory, so that every
   synapse reloaded and stored the row's B sums (er N = 10^6, B = 16,
   bench/README.md). Each lane is the scalar loop's y[b] += v x_j[b] (a
   multiply, then an add: -std=c17 contracts nothing into an FMA), in the
   same order: the sums are the same to the last bit. */
#if defined(PETSC_USE_REAL_DOUBLE) && !defined(PETSC_USE_COMPLEX)
typedef double TnV8 __attribute__((vector_size(64)));
TN_INLINE TnV8 TnV8Load(const double *p)
{
  TnV8 v;
  memcpy(&v, p, sizeof v);
  return v;
}
TN_INLINE void TnV8Store(double *p, TnV8 v)
{
  memcpy(p, &v, sizeof v);
}
TN_INLINE void TnRowTimesBlockV8(const TnCSR *A, PetscInt i, const PetscScalar *restrict x, const PetscInt B, PetscReal *restrict y, const int pf)
{
  const TnV8 zero = {0};
  TnV8       s0 = TnV8Load(y), s1 = B > 8 ? TnV8Load(y + 8) : zero, s2 = B > 16 ? TnV8Load(y + 16) : zero, s3 = B > 24 ? TnV8Load(y + 24) : zero;
  for (PetscInt t = A->ia[i]; t < A->ia[i + 1]; t++) {
    const PetscScalar  v  = A->va[t];
    const PetscScalar *xj = x + (size_t)A->ja[t] * B;
    if (pf && t + TN_PREFETCH_AHEAD < A->n) {
      const PetscScalar *xf = x + (size_t)A->ja[t + TN_PREFETCH_AHEAD] * B;
      __builtin_prefetch(xf, 0, 2);
      __builtin_prefetch(xf + B - 1, 0, 2);
    }
    s0 += v * TnV8Load(xj);
    if (B > 8) s1 += v * TnV8Load(xj + 8);
    if (B > 16) s2 += v * TnV8Load(xj + 16);
    if (B > 24) s3 += v * TnV8Load(xj + 24);
  }
  TnV8Store(y, s0);
  if (B > 8) TnV8Store(y + 8, s1);
  if (B > 16) TnV8Store(y + 16, s2);
  if (B > 24) TnV8Store(y + 24, s3);
}
#define TN_V8_B(B) ((B) % 8 == 0 && (B) <= 32)
#else
#define TN_V8_B(B) 0
TN_INLINE void TnRowTimesBlockV8(const TnCSR *A, PetscInt i, const PetscScalar *restrict x, const PetscInt B, PetscReal *restrict y, const int pf)
{
}
#endif

/* B = 4 in a TnV4 register (each lane the scalar loop's sum in its order;
   B = 2 the same way measured slower, er 0.20-0.26 -> 0.30 s a step), the
   generic loop (y in memory) for the other B, and a scalar register at
   B = 1; the gather TN_PREFETCH_AHEAD synapses ahead is asked for when pf
   (a compile-time constant where it is used: kernels are instantiated with
   and without it, TnSyncStep). */
TN_INLINE void TnRowTimesBlockPF(const TnCSR *A, PetscInt i, const PetscScalar *restrict x, const PetscInt B, PetscReal *restrict y, const int pf)
{
  if (TN_V8_B(B)) {
    TnRowTimesBlockV8(A, i, x, B, y, pf);
    return;
  }
  if (B == 4) { /* the row's sums in a register, as TnRowTimesBlockV8 (in memory, each synapse waited on the last one's store) */
    TnV4 s = TnV4Load(y);
    for (PetscInt t = A->ia[i]; t < A->ia[i + 1]; t++) {
      const PetscScalar *xj = x + (size_t)A->ja[t] * B;
      if (pf && t + TN_PREFETCH_AHEAD < A->n) __builtin_prefetch(x + (size_t)A->ja[t + TN_PREFETCH_AHEAD] * B, 0, 2);
      s += A->va[t] * TnV4Load(xj);
    }
    memcpy(y, &s, sizeof(s));
    return;
  }
  PetscReal s1 = y[0];
  for (PetscInt t = A->ia[i]; t < A->ia[i + 1]; t++) {
    const PetscScalar  v  = A->va[t];
    const PetscScalar *xj = x + (size_t)A->ja[t] * B;
    if (pf && t + TN_PREFETCH_AHEAD < A->n) {
      const PetscScalar *xf = x + (size_t)A->ja[t + TN_PREFETCH_AHEAD] * B;
      __builtin_prefetch(xf, 0, 2);
      __builtin_prefetch(xf + B - 1, 0, 2);
    }
    if (B == 1)
      s1 += v * xj[0];
    else
      for (PetscInt b = 0; b < B; b++) y[b] += v * xj[b];
  }
  if (B == 1) y[0] = s1;
}

TN_INLINE void TnRowTimesBlockPlain(const TnCSR *A, PetscInt i, const PetscScalar *restrict x, const PetscInt B, PetscReal *restrict y)
{
  TnRowTimesBlockPF(A, i, x, B, y, 0);
}

/* The same, asking for the gather TN_PREFETCH_AHEAD synapses ahead. */
TN_INLINE void TnRowTimesBlockPrefetch(const TnCSR *A, PetscInt i, const PetscScalar *restrict x, const PetscInt B, PetscReal *restrict y)
{
  TnRowTimesBlockPF(A, i, x, B, y, 1);
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

/* A CSR block at B = 1 in slices of TN_SLICE rows (slices.c), for the
   rate form's row passes (sync and colored), which read them TN_SLICE rows
   at a time, one row per vector lane (TnSliceRate). Slice s holds rows
   TN_SLICE s + r, r < TN_SLICE, column-major: its width w_s is the longest
   row's synapse count, and entry (t, r) is row TN_SLICE s + r's t-th
   synapse in the block's own order (a shorter row's missing entries are 0
   and never added), so each row's sum keeps its terms and their order. The
   slice is regular when its rows have w_s synapses each and row r's t-th
   column is row 0's plus r (a band of a lattice): it keeps one column per
   t, and the t-th terms of its rows read TN_SLICE consecutive entries of
   the state; otherwise it keeps every entry's column and gathers. va copies
   the block's values, refreshed when the network's parameter version moves
   (TnNetGetParamVersion). Rows past TN_SLICE ns (fewer than TN_SLICE) are
   left to the row-by-row loop. */
#define TN_SLICE 8
typedef struct {
  PetscInt   ns;          /* slices; 0: none (also when not built) */
  PetscInt  *vptr, *jptr; /* slice s: values va[TN_SLICE vptr[s] .. TN_SLICE vptr[s+1]) (w_s = vptr[s+1] - vptr[s]); columns ja[jptr[s] .. jptr[s+1]): w_s of them if regular, else TN_SLICE w_s */
  int       *ja;
  PetscReal *va;
  PetscInt64 version; /* the network's parameter version va was copied at */
} TnSlices;

/* TnAccRow for the TN_SLICE rows of a slice at B = 1 (hA[r]: row r's
   factor), where it can be done at once: diag, no per-node totals, and the
   slice ending no later than the next renormalisation. Then the factors
   multiply a local copy of the product and the row count moves once: the
   same products in the same order, and frexp's scaling by a power of two
   is exact, so every bit is TnAccRow's, but the chain of multiplications
   stays in a register instead of a store and a reload per row (where the
   product lives in a caller's frame: a quarter of the colored step at
   lattice B = 1). Returns whether it did; if not, the caller takes
   TnAccRow row by row. */
TN_INLINE PetscBool TnAccSlice(TnAcc *acc, const PetscReal *hA, PetscReal *prod, int *expo, const PetscReal *nodeacc)
{
  PetscReal q;
  if (acc->ldt != TN_LOGDET_DIAG || nodeacc || acc->count + TN_SLICE > acc->renorm) return PETSC_FALSE;
  q = *prod;
  for (PetscInt r = 0; r < TN_SLICE; r++) q *= 1.0 + hA[r];
  if ((acc->count += TN_SLICE) >= acc->renorm) {
    int e;
    acc->count = 0;
    q          = frexp(q, &e);
    *expo += e;
  }
  *prod = q;
  return PETSC_TRUE;
}

/* Build slices of the first `rows` rows of A (values copied by the update,
   when the parameter version moves; the caller keeps A's values current):
   none unless -dyn_slices, the rate form and B = 1, and none where fewer
   than half of them would be regular (slices.c); free. */
PetscErrorCode      TnSlicesCreate(TnDyn dyn, const TnCSR *A, PetscInt rows, TnSlices *S);
PetscErrorCode      TnSlicesUpdate(TnDyn dyn, const TnCSR *A, TnSlices *S);
PetscErrorCode      TnSlicesDestroy(TnSlices *S);
TN_INLINE PetscBool TnSliceRegular(const TnSlices *S, PetscInt s)
{
  return (PetscBool)(S->jptr[s + 1] - S->jptr[s] < TN_SLICE * (S->vptr[s + 1] - S->vptr[s]));
}

/* What a slice pass reads per row besides the block, by the slices' row
   index: b, gamma, W_ii and the free mask (NULL: every row free). */
typedef struct {
  const PetscReal *bias, *gamma, *wdiag, *free;
} TnSliceRows;

/* Slices this far ahead are asked for (values, columns, b, gamma, W_ii, the
   free mask): the row pass is bound by these memory streams, which the
   hardware prefetcher alone does not keep full. */
#define TN_SLICE_AHEAD 8
TN_INLINE void TnSlicePrefetch(const TnSlices *S, const TnSliceRows *R, PetscInt s)
{
  const PetscInt i  = TN_SLICE * s;
  const char    *v0 = (const char *)(S->va + (size_t)TN_SLICE * S->vptr[s]), *v1 = (const char *)(S->va + (size_t)TN_SLICE * S->vptr[s + 1]);
  const char    *j0 = (const char *)(S->ja + S->jptr[s]), *j1 = (const char *)(S->ja + S->jptr[s + 1]);
  for (; v0 < v1; v0 += 64) __builtin_prefetch(v0);
  for (; j0 < j1; j0 += 64) __builtin_prefetch(j0);
  __builtin_prefetch(R->bias + i);
  __builtin_prefetch(R->gamma + i);
  __builtin_prefetch(R->wdiag + i);
  if (R->free) __builtin_prefetch(R->free + i);
}

/* Whether idx[0 .. 8) = idx[0] + 0, 2, .., 14: the rows of a slice of one
   colour of a lattice numbered row by row (colored scheme, two colours, in
   the partitioned order). TnSliceRate then reads their states with two
   loads and a permutation and writes them with two masked stores instead
   of a gather and a scatter (lattice2d N = 10^6, B = 1, 1 rank: 4.77-4.89
   ms per colored step against 5.05-5.07 ms). */
TN_INLINE PetscBool TnSliceStride2(const PetscInt *idx)
{
  PetscBool ok = PETSC_TRUE;
  for (PetscInt r = 1; r < TN_SLICE; r++) ok &= (PetscBool)(idx[r] == idx[0] + 2 * r);
  return ok;
}

/* The rate form's update of slice s's rows i = TN_SLICE s + r at B = 1,
   one per vector lane, the operations of the row-by-row kernels lane by
   lane: y = b_i, then y += W_ij p_j for the row's synapses in order (a
   multiply then an add, never fused), hA[r] = h_i (-gamma_i + W_ii (1 -
   p_i^2)) (tanh; W_ii for linear) and a_i + h_i (-gamma_i a_i + y) into
   out (and anew[r], unless NULL), h_i = h times the free mask. A row's
   state a_i and out_i are at rowmap[i] (NULL: at i; a permutation:
   gathered and scattered, or loaded and stored with a mask where the rows
   are every other one, TnSliceStride2), its own p_i at i. A
   regular slice's t-th terms read p_(j_t + r); another's gather p_(j_tr),
   lanes past their row's count (A's row lengths) masked off. */
#if defined(__AVX512F__) && defined(__AVX512VL__)
/* x[idx[0 .. 8)] as a vector, and its scatter, for PetscInt indices */
#if defined(PETSC_USE_64BIT_INDICES)
#define TN_SLICE_GATHER(idx, x) _mm512_i64gather_pd(_mm512_loadu_si512((const void *)(idx)), x, 8)
#define TN_SLICE_SCATTER(idx, x, v) _mm512_i64scatter_pd(x, _mm512_loadu_si512((const void *)(idx)), v, 8)
#else
#define TN_SLICE_GATHER(idx, x) _mm512_i32gather_pd(_mm256_loadu_si256((const __m256i *)(idx)), x, 8)
#define TN_SLICE_SCATTER(idx, x, v) _mm512_i32scatter_pd(x, _mm256_loadu_si256((const __m256i *)(idx)), v, 8)
#endif
TN_INLINE void TnSliceRate(const TnSlices *S, const TnCSR *A, PetscInt s, const TnSliceRows *R, PetscReal h, TnAct act, const PetscReal *restrict p, const PetscInt *rowmap, const PetscScalar *a, PetscScalar *out, PetscReal *anew, PetscReal *restrict hA)
{
  const PetscInt   i = TN_SLICE * s, w = S->vptr[s + 1] - S->vptr[s];
  const PetscReal *v   = S->va + (size_t)TN_SLICE * S->vptr[s];
  const int       *j   = S->ja + S->jptr[s];
  const __m512d    one = _mm512_set1_pd(1.0), sign = _mm512_set1_pd(-0.0);
  __m512d          y = _mm512_loadu_pd(R->bias + i), hi = _mm512_set1_pd(h), ai, o;
  if (TnSliceRegular(S, s))
    for (PetscInt t = 0; t < w; t++) y = _mm512_add_pd(y, _mm512_mul_pd(_mm512_loadu_pd(v + TN_SLICE * t), _mm512_loadu_pd(p + j[t])));
  else {
    int len[TN_SLICE];
    for (PetscInt r = 0; r < TN_SLICE; r++) len[r] = (int)(A->ia[i + r + 1] - A->ia[i + r]);
    const __m256i lenv = _mm256_loadu_si256((const __m256i *)len);
    for (PetscInt t = 0; t < w; t++) {
      const __mmask8 k = _mm256_cmpgt_epi32_mask(lenv, _mm256_set1_epi32((int)t));
      const __m512d  x = _mm512_mask_i32gather_pd(_mm512_setzero_pd(), k, _mm256_loadu_si256((const __m256i *)(j + TN_SLICE * t)), p, 8);
      y                = _mm512_mask_add_pd(y, k, y, _mm512_mul_pd(_mm512_loadu_pd(v + TN_SLICE * t), x));
    }
  }
  if (R->free) hi = _mm512_mul_pd(hi, _mm512_loadu_pd(R->free + i));
  const PetscBool s2 = rowmap && TnSliceStride2(rowmap + i);
  if (s2) /* a[i0 + 2r]: the even lanes of a[i0 .. i0 + 15), the last one not read */
    ai = _mm512_permutex2var_pd(_mm512_loadu_pd(a + rowmap[i]), _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14), _mm512_maskz_loadu_pd(0x7f, a + rowmap[i] + 8));
  else if (rowmap)
    ai = TN_SLICE_GATHER(rowmap + i, a);
  else
    ai = _mm512_loadu_pd(a + i);
  {
    const __m512d gi = _mm512_loadu_pd(R->gamma + i), wi = _mm512_loadu_pd(R->wdiag + i), pi = _mm512_loadu_pd(p + i);
    const __m512d ng = _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(gi), _mm512_castpd_si512(sign))); /* -gamma_i, as C's negation */
    const __m512d d  = act == TN_ACT_LINEAR ? one : _mm512_sub_pd(one, _mm512_mul_pd(pi, pi));
    _mm512_storeu_pd(hA, _mm512_mul_pd(hi, _mm512_add_pd(ng, _mm512_mul_pd(wi, d))));
    o = _mm512_add_pd(ai, _mm512_mul_pd(hi, _mm512_add_pd(_mm512_mul_pd(ng, ai), y)));
  }
  if (anew) _mm512_storeu_pd(anew, o);
  if (s2) { /* out[i0 + 2r] = o_r, the odd entries left as they are */
    _mm512_mask_storeu_pd(out + rowmap[i], 0x55, _mm512_permutexvar_pd(_mm512_setr_epi64(0, 0, 1, 1, 2, 2, 3, 3), o));
    _mm512_mask_storeu_pd(out + rowmap[i] + 8, 0x55, _mm512_permutexvar_pd(_mm512_setr_epi64(4, 4, 5, 5, 6, 6, 7, 7), o));
  } else if (rowmap)
    TN_SLICE_SCATTER(rowmap + i, out, o);
  else
    _mm512_storeu_pd(out + i, o);
}
#else
TN_INLINE void TnSliceRate(const TnSlices *S, const TnCSR *A, PetscInt s, const TnSliceRows *R, PetscReal h, TnAct act, const PetscReal *restrict p, const PetscInt *rowmap, const PetscScalar *a, PetscScalar *out, PetscReal *anew, PetscReal *restrict hA)
{
  const PetscInt   i = TN_SLICE * s, w = S->vptr[s + 1] - S->vptr[s];
  const PetscReal *v   = S->va + (size_t)TN_SLICE * S->vptr[s];
  const int       *j   = S->ja + S->jptr[s];
  const PetscBool  reg = TnSliceRegular(S, s);
  PetscReal        y[TN_SLICE], o[TN_SLICE];
  for (PetscInt r = 0; r < TN_SLICE; r++) y[r] = R->bias[i + r];
  for (PetscInt t = 0; t < w; t++)
    for (PetscInt r = 0; r < TN_SLICE; r++)
      if (reg || t < A->ia[i + r + 1] - A->ia[i + r]) y[r] += v[TN_SLICE * t + r] * p[reg ? j[t] + r : j[TN_SLICE * t + r]];
  for (PetscInt r = 0; r < TN_SLICE; r++) {
    const PetscReal gi = R->gamma[i + r], wi = R->wdiag[i + r], hi = h * (R->free ? R->free[i + r] : 1.0), pi = p[i + r], ai = a[rowmap ? rowmap[i + r] : i + r];
    hA[r] = hi * (-gi + wi * (act == TN_ACT_LINEAR ? 1.0 : 1.0 - pi * pi));
    o[r]  = ai + hi * (-gi * ai + y[r]);
  }
  for (PetscInt r = 0; r < TN_SLICE; r++) {
    if (anew) anew[r] = o[r];
    out[rowmap ? rowmap[i + r] : i + r] = o[r];
  }
}
#endif

/* Column panels (dynsetup.c): the panel size in bytes of gathered state,
   from -dyn_panel_kb or the last-level cache shared by the node's ranks;
   build panels of np for block A of `rows` rows and ncols columns (np <= 1:
   none); copy the values again if W changed; free. */
PetscErrorCode TnDynPanelBytes(TnDyn dyn, size_t *bytes);
/* the most panels a block is split into (each costs 4 (rows + 1) bytes) */
#define TN_PANELS_MAX 4096
/* whether each of the block's rows has its columns ascending */
PetscBool      TnRowsAscend(const TnCSR *A, PetscInt rows);
PetscErrorCode TnPanelsCreate(const TnCSR *A, PetscInt rows, PetscInt ncols, PetscInt np, TnPanels *P);
PetscErrorCode TnPanelsUpdate(TnDyn dyn, const TnCSR *A, TnPanels *P);
PetscErrorCode TnPanelsDestroy(TnPanels *P);

PetscErrorCode TnDynHaloBegin(TnDyn dyn);
PetscErrorCode TnDynHaloEnd(TnDyn dyn);
/* The same forward exchange P -> G over another scatter of those two Vecs
   (a part of the halo: the colored scheme's per-colour scatters). */
PetscErrorCode TnDynHaloPartBegin(TnDyn dyn, VecScatter sct);
PetscErrorCode TnDynHaloPartEnd(TnDyn dyn, VecScatter sct);
PetscErrorCode TnDynReset(TnDyn dyn);
PetscErrorCode TnDynAdjointReset(TnDyn dyn);
PetscErrorCode TnDynLocalReset(TnDyn dyn);
/* Rows per renormalisation of the diag product, from the factors' range. */
void TnDynSetRenorm(TnDyn dyn, PetscReal fmin, PetscReal fmax);

/* The invertibility quantities of the current or a trial parameter set
   (bound.c), in one pass and one reduction: max_i gamma_i, the colored
   factor's minimum min_i (1 - h gamma_i + h min(W_ii, 0)) (tanh) or
   min_i (1 + h (W_ii - gamma_i)) (linear), max_i |W_ii|, |W|_inf (max row
   sum), |W|_1 (column sums; only when asked), and whether a value is not
   finite. */
struct _TnBoundQ {
  PetscReal gmax, fmin, wmax, ninf, n1;
  PetscReal n2;                /* a certified |W|_2 bound: w2c + sqrt(|W - W_c|_1 |W - W_c|_inf), or -1 (no certificate) */
  PetscReal drift;             /* sqrt(|W - W_c|_1 |W - W_c|_inf) when n2 >= 0 */
  PetscReal w2c, w2eps, delta; /* the certificate it builds on, its eps and failure probability */
  PetscInt  steps;
  PetscBool nonfinite;
};

/* Adjoint helpers (adjoint.c): forward and reverse halo exchanges over the
   dynamics' block scatter, for arrays of m*B values. */
PetscErrorCode TnDynAdjHaloBegin(TnDyn dyn, const PetscReal *send);
PetscErrorCode TnDynAdjHaloEnd(TnDyn dyn, const PetscReal **ghost);
PetscErrorCode TnDynAdjReverseBegin(TnDyn dyn, PetscReal *into);
PetscErrorCode TnDynAdjReverseEnd(TnDyn dyn);
/* The same over another scatter between the same layouts (a part of the
   halo: the colored scheme's per-colour scatters). */
PetscErrorCode TnDynAdjHaloPartBegin(TnDyn dyn, VecScatter sct, const PetscReal *send);
PetscErrorCode TnDynAdjHaloPartEnd(TnDyn dyn, VecScatter sct, const PetscReal **ghost);
PetscErrorCode TnDynAdjReversePartBegin(TnDyn dyn, VecScatter sct, PetscReal *into);
PetscErrorCode TnDynAdjReversePartEnd(TnDyn dyn, VecScatter sct);
/* lam <-> lamnew */
void TnDynAdjSwap(TnDyn dyn);

/* Per-node, per-sample quantities of the local loss at one state. For the
   step's (or substep's) diagonal entry hA = h(-gamma + w_ii d),
   d = phi'(t), t = phi(a) (rate) or phi(s) (current) already evaluated:
     c    = d l / d A_ii = -omega h T'(hA), T' = 1/(1 + hA) (diag) or 1 (trace)
     phi2 = phi''(.) = -2 t d (tanh) or 0 (linear). */
TN_INLINE void TnAdjLocal(PetscBool lin, PetscBool diag, PetscReal h, PetscReal gi, PetscReal wi, PetscReal omega, PetscReal t, PetscReal *d, PetscReal *phi2, PetscReal *c)
{
  PetscReal dd = lin ? 1.0 : 1.0 - t * t, hA = h * (-gi + wi * dd);
  *d    = dd;
  *phi2 = lin ? 0.0 : -2.0 * t * dd;
  *c    = -omega * h * (diag ? 1.0 / (1.0 + hA) : 1.0);
}

/* d l^base / d a at a_K = z: z (normal) or tanh(z / 2) (logistic) */
TN_INLINE PetscReal TnBaseSlope(TnBase base, PetscReal z)
{
  return base == TN_BASE_NORMAL ? z : tanh(0.5 * z);
}

/* One synapse w = W_ij of the transposed product for B samples:
   o_j += w phi'(x_j) v (rate, tanh: phi' = 1 - x^2 from x = phi(a)) or
   w v (else), and the return value sum_b v_b x_jb (the synapse's gradient),
   summed in four lanes then pairwise: a fixed order that vectorises. */
TN_INLINE PetscReal TnAdjSynapse(PetscReal w, const PetscReal *restrict v, const PetscReal *restrict xj, PetscReal *restrict oj, PetscBool ratetanh, const PetscInt B)
{
  PetscReal s[4] = {0, 0, 0, 0};
  PetscInt  b    = 0;
  for (; b + 4 <= B; b += 4)
    for (PetscInt l = 0; l < 4; l++) {
      s[l] += v[b + l] * xj[b + l];
      oj[b + l] += w * (ratetanh ? 1.0 - xj[b + l] * xj[b + l] : 1.0) * v[b + l];
    }
  for (; b < B; b++) {
    s[0] += v[b] * xj[b];
    oj[b] += w * (ratetanh ? 1.0 - xj[b] * xj[b] : 1.0) * v[b];
  }
  return (s[0] + s[1]) + (s[2] + s[3]);
}

/* The local rule's coefficients of node i for sample b at the state the
   node is updated from (docs/gradient.md, "The local rule"), with t as in
   TnAdjLocal and c = d l_{k,i} / d A_ii (omega included):
     F  = 1 + h A_ii                the trace's own factor, d a_{k+1,i} / d a_{k,i}
     hq = h d f_i / d y_i            h (rate, y = (W phi(a) + b)_i) or h phi'(s_i) (current, y = s_i)
     ga = d l_{k,i} / d a_{k,i}      c w_ii phi''(a_i) (rate) or c w_ii^2 phi''(s_i) (current)
     gs = d l_{k,i} / d s_i          0 (rate) or c w_ii phi''(s_i) (current)
     c, d = phi'(t)                 for W_ii's and gamma_i's direct terms. */
typedef struct {
  PetscReal F, hq, ga, gs, c, d;
} TnLocCoef;

TN_INLINE void TnLocCoefs(PetscBool rate, PetscBool lin, PetscBool diag, PetscReal h, PetscReal gi, PetscReal wi, PetscReal omega, PetscReal t, TnLocCoef *k)
{
  PetscReal d, phi2, c;
  TnAdjLocal(lin, diag, h, gi, wi, omega, t, &d, &phi2, &c);
  k->F  = 1.0 + h * (-gi + wi * d);
  k->hq = rate ? h : h * d;
  k->gs = rate ? 0.0 : c * wi * phi2;
  k->ga = rate ? c * wi * phi2 : c * wi * phi2 * wi;
  k->c  = c;
  k->d  = d;
}

/* One synapse's trace for B samples, the coefficients as arrays over the
   samples (contiguous in b, loaded as vectors): returns
   sum_b (ga e + gs x_j) (the synapse's step-k gradient, from e_k; gs = 0 in
   the rate form: hasgs false leaves its term out), summed in four lanes
   then pairwise (a fixed order), then e <- F e + hq x_j (e_{k+1}), a
   separate loop without a reduction; x = phi(a) (rate) or a (current).
   fresh: e = e_0 = 0 is not read (the traces are not zeroed before the
   first step): the sum is that of gs x_j and e <- hq x_j, the same values. */
TN_INLINE PetscReal TnLocSynapse(PetscReal *restrict e, const PetscReal *restrict xj, const PetscReal *restrict F, const PetscReal *restrict hq, const PetscReal *restrict ga, const PetscReal *restrict gs, const int hasgs, const int fresh, const PetscInt B)
{
  TnV4      s4 = {0, 0, 0, 0}; /* the four lanes, in vector types: GCC 12 left the scalar lanes unvectorised */
  PetscReal s0;
  PetscInt  b = 0;
  for (; b + 4 <= B; b += 4) {
    const TnV4 x4 = TnV4Load(xj + b);
    if (fresh)
      s4 += TnV4Load(gs + b) * x4;
    else if (hasgs)
      s4 += TnV4Load(ga + b) * TnV4Load(e + b) + TnV4Load(gs + b) * x4;
    else
      s4 += TnV4Load(ga + b) * TnV4Load(e + b);
  }
  s0 = s4[0];
  for (; b < B; b++) s0 += fresh ? gs[b] * xj[b] : hasgs ? ga[b] * e[b] + gs[b] * xj[b]
                                                         : ga[b] * e[b];
  for (b = 0; b < B; b++) e[b] = fresh ? hq[b] * xj[b] : F[b] * e[b] + hq[b] * xj[b];
  return (s0 + s4[1]) + (s4[2] + s4[3]);
}

/* The synapses t in [t0, t1) of one block: traces at e + t B, presynaptic
   values at x + ja[t - t0] B (ja: the row's own columns), gradient entries g[t]; grad false: the row's
   step-k gradient terms vanish (ga = gs = 0: the linear activation's
   phi'' = 0 in the rate form; or e = 0 and gs = 0 at the first step) and
   only the traces are carried, without the gradient's read-modify-write;
   fresh: the first step (TnLocSynapse). */
TN_INLINE void TnLocSynapses(PetscReal *restrict e, PetscReal *restrict g, const PetscInt *restrict ja, PetscInt t0, PetscInt t1, const PetscReal *restrict x, const PetscReal *restrict F, const PetscReal *restrict hq, const PetscReal *restrict ga, const PetscReal *restrict gs, const int grad, const int hasgs, const int fresh, const PetscInt B)
{
  for (PetscInt t = t0; t < t1; t++) {
    PetscReal *restrict et       = e + (size_t)t * B;
    const PetscReal *restrict xj = x + (size_t)ja[t - t0] * B;
    if (grad)
      g[t] += TnLocSynapse(et, xj, F, hq, ga, gs, hasgs, fresh, B);
    else
      for (PetscInt b = 0; b < B; b++) et[b] = fresh ? hq[b] * xj[b] : F[b] * et[b] + hq[b] * xj[b];
  }
}

/* Row i of the local rule at step k: its coefficients k[B] (TnLocCoefs) at
   the state it is updated from; a_i = node i's own state a_{k,i}; x the
   values the row's on-process columns read (phi(a) or a), gx those of its
   off-process columns (NULL: the row has none). Node i's step-k gradient
   terms are added from the traces e_k, then the traces become e_{k+1}:
     W_ij: += ga e + gs x_j,   e <- F e + hq x_j
     b_i:  += ga e + gs,       e <- F e + hq
     g_i:  += ga e - c,        e <- F e - h a_i
     W_ii: += c d (the log-det's own W_ii)
   The coefficients are first laid out as arrays over the samples (F, hq,
   ga, gs); a row whose ga and gs all vanish carries its synapses' traces
   without the gradient's read-modify-write. dj, oj: the columns of row
   i's synapses in theta's order (x's and gx's entries); TnLocRow: W's own. */
/* Row i's coefficients as arrays over the samples; *grad: some ga or gs
   is nonzero, *hasgs: some gs is. */
TN_INLINE void TnLocRowArrays(const TnLocCoef *restrict k, PetscReal *restrict F, PetscReal *restrict hq, PetscReal *restrict ga, PetscReal *restrict gs, int *grad, int *hasgs, const PetscInt B)
{
  *grad = *hasgs = 0;
  for (PetscInt b = 0; b < B; b++) {
    F[b]  = k[b].F;
    hq[b] = k[b].hq;
    ga[b] = k[b].ga;
    gs[b] = k[b].gs;
    *grad |= ga[b] != 0 || gs[b] != 0;
    *hasgs |= gs[b] != 0;
  }
}

/* Row i's own terms, after its synapses (W_ii's entry gets the synapse's
   term first, then the log-det's own): b_i's and gamma_i's gradient and
   traces, and W_ii's direct term. */
TN_INLINE void TnLocRowOwn(TnDyn dyn, PetscInt i, const TnLocCoef *restrict k, const PetscScalar *restrict ai, const PetscInt B)
{
  TnDynLoc    *L  = &dyn->loc;
  const size_t nd = (size_t)dyn->d.n, no = (size_t)dyn->o.n, m = (size_t)dyn->m;
  PetscReal *restrict eb = L->e + (nd + no + (size_t)i) * B, *restrict eg = L->e + (nd + no + m + (size_t)i) * B;
  PetscReal sb = 0, sg = 0, sw = 0;
  for (PetscInt b = 0; b < B; b++) {
    sb += k[b].ga * eb[b] + k[b].gs;
    sg += k[b].ga * eg[b] - k[b].c;
    sw += k[b].c * k[b].d;
    eb[b] = k[b].F * eb[b] + k[b].hq;
    eg[b] = k[b].F * eg[b] - dyn->h * ai[b];
  }
  L->acc.gb[i] += sb;
  L->acc.gg[i] += sg;
  if (dyn->diagpos[i] >= 0) L->acc.gW[dyn->diagpos[i]] += sw;
}

TN_INLINE void TnLocRowCols(TnDyn dyn, PetscInt i, const TnLocCoef *restrict k, const PetscScalar *restrict ai, const PetscReal *restrict x, const PetscInt *restrict dj, const PetscReal *restrict gx, const PetscInt *restrict oj, const PetscInt B)
{
  TnDynLoc    *L = &dyn->loc;
  PetscReal   *e = L->e, *gW = L->acc.gW;
  const size_t nd = (size_t)dyn->d.n;
  PetscReal    F[B], hq[B], ga[B], gs[B];
  int          grad, hasgs;
  TnLocRowArrays(k, F, hq, ga, gs, &grad, &hasgs, B);
#define TN_LOC_BLOCKS(G, S, Z)                                                                                     \
  do {                                                                                                             \
    TnLocSynapses(e, gW, dj, dyn->d.ia[i], dyn->d.ia[i + 1], x, F, hq, ga, gs, G, S, Z, B);                        \
    if (gx) TnLocSynapses(e + nd * B, gW + nd, oj, dyn->o.ia[i], dyn->o.ia[i + 1], gx, F, hq, ga, gs, G, S, Z, B); \
  } while (0)
  if (L->fresh && hasgs) /* e_0 = 0: only gs x_j adds to the gradient */
    TN_LOC_BLOCKS(1, 1, 1);
  else if (L->fresh)
    TN_LOC_BLOCKS(0, 0, 1);
  else if (grad && hasgs)
    TN_LOC_BLOCKS(1, 1, 0);
  else if (grad)
    TN_LOC_BLOCKS(1, 0, 0);
  else
    TN_LOC_BLOCKS(0, 0, 0);
#undef TN_LOC_BLOCKS
  TnLocRowOwn(dyn, i, k, ai, B);
}

TN_INLINE void TnLocRow(TnDyn dyn, PetscInt i, const TnLocCoef *restrict k, const PetscScalar *restrict ai, const PetscReal *restrict x, const PetscReal *restrict gx, const PetscInt B)
{
  TnLocRowCols(dyn, i, k, ai, x, dyn->d.ja + dyn->d.ia[i], gx, dyn->o.ja + dyn->o.ia[i], B);
}

extern PetscLogEvent TN_Adjoint, TN_Inverse, TN_LocalReplay;
