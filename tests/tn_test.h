/* Test harness: a CUnit runner that is MPI-aware. Each test file defines
   TnTestRegister(), adding its suites; main() runs them on every rank and
   fails if any rank saw a failure. Tests must be collective-safe: use the
   non-fatal CU_ASSERT* forms in code that other ranks reach collectively. */
#pragma once
#include <CUnit/Basic.h>
#include <tenor/sys.h>
#include <tenor/dyn.h>
#include <tenor/grad.h>
#include <math.h>

void TnTestRegister(void);

/* CU_ASSERT that a call fails (PETSc error code != 0), with PETSc's printing
   silenced while it runs. */
#define TN_ASSERT_FAILS(call)                             \
  do {                                                    \
    PetscErrorCode _e;                                    \
    PetscPushErrorHandler(PetscReturnErrorHandler, NULL); \
    _e = (call);                                          \
    PetscPopErrorHandler();                               \
    CU_ASSERT(_e != 0);                                   \
  } while (0)

/* CU_ASSERT that a call succeeds. */
#define TN_ASSERT_OK(call) CU_ASSERT((call) == 0)

/* call fails, and its message holds frag (printed when it does not). */
#define ASSERT_FAILS_WITH(call, frag)                                                                                                                  \
  do {                                                                                                                                                 \
    PetscErrorCode _e;                                                                                                                                 \
    const char    *_m = NULL;                                                                                                                          \
    PetscPushErrorHandler(PetscReturnErrorHandler, NULL);                                                                                              \
    _e = (call);                                                                                                                                       \
    PetscPopErrorHandler();                                                                                                                            \
    CU_ASSERT(_e != 0);                                                                                                                                \
    if (_e) PetscErrorMessage(_e, NULL, (char **)&_m);                                                                                                 \
    if (_e && !(_m && strstr(_m, frag))) fprintf(stderr, "%s:%d: expected \"%s\" in the message: %s\n", __FILE__, __LINE__, frag, _m ? _m : "(none)"); \
    CU_ASSERT(_e &&_m &&strstr(_m, frag));                                                                                                             \
  } while (0)

/* |a - b| <= tol * max(1, |b|), reporting the values on failure. */
#define TN_ASSERT_CLOSE(a, b, tol)                                                                                                       \
  do {                                                                                                                                   \
    double _a = (a), _b = (b), _t = (tol)*fmax(1.0, fabs(_b));                                                                           \
    if (!(fabs(_a - _b) <= _t)) fprintf(stderr, "%s:%d: %s = %.17g vs %s = %.17g (tol %.3g)\n", __FILE__, __LINE__, #a, _a, #b, _b, _t); \
    CU_ASSERT(fabs(_a - _b) <= _t);                                                                                                      \
  } while (0)

/* A network on PETSC_COMM_WORLD from dense row-major arrays (row stride ld):
   W_ij where P_ij, bias b and leak g; natural order, default row split. */
typedef struct _p_TnNet *TnNet;
PetscErrorCode           TnTestNetFromDense(PetscInt N, PetscInt ld, const PetscReal *W, const PetscBool *P, const PetscReal *b, const PetscReal *g, TnNet *net);

/* A random dense model (row stride ld): pattern density dens plus every
   self-loop, upper triangular when tri; W uniform in [-scale, scale], b ~ 0.3 N(0,1),
   gamma in [0.5, 1.5); all from the counter-based generator keyed by seed. */
void TnTestRandomDense(PetscInt N, PetscInt ld, PetscReal dens, PetscBool tri, PetscReal scale, uint64_t seed, PetscReal *W, PetscBool *P, PetscReal *b, PetscReal *g);

/* log|det A| and its sign by LAPACK getrf: A is N x N, column-major, and is
   overwritten. A U_ii exactly zero gives sign 0 and log|det| = -inf. */
void TnTestDenseLogDet(PetscInt N, PetscScalar *A, PetscReal *logabs, PetscReal *sign);

/* Evaluates samples x (row b at x + b*ld, N values each, natural order)
   through dyn (B = its batch size): log Phi per sample into logphi[B], and
   a_K into aK (row b at aK + b*ld, on every rank) unless NULL. Collective. */
typedef struct _p_TnDyn *TnDyn;
PetscErrorCode           TnTestEvaluate(TnDyn dyn, PetscInt N, PetscInt B, PetscInt ld, const PetscReal *x, PetscReal *logphi, PetscReal *aK);
/* The state Vec xs (TnDynCreateState) from samples x laid out as above. */
PetscErrorCode TnTestStateFromNatural(TnDyn dyn, PetscInt B, PetscInt ld, const PetscReal *x, Vec xs);
/* The state xs in natural order on every rank: all[i*B + b] (N*B values). */
PetscErrorCode TnTestStateToAll(TnDyn dyn, Vec xs, PetscReal *all);

/* E = e^A (n x n, row-major, row stride ld) by scaling and squaring: A / 2^s
   with |A / 2^s|_1 <= 1/8, a Taylor polynomial of degree 24 (remainder far
   below eps), s squarings. */
void TnTestExpm(PetscInt n, PetscInt ld, const PetscReal *A, PetscReal *E);

/* A small dense model: W_ij where P_ij, bias b, leak gamma = g (row stride
   TN_TEST_NMAX). */
#define TN_TEST_NMAX 16
typedef struct {
  PetscInt  N;
  PetscReal W[TN_TEST_NMAX][TN_TEST_NMAX], b[TN_TEST_NMAX], g[TN_TEST_NMAX];
  PetscBool P[TN_TEST_NMAX][TN_TEST_NMAX];
} TnTestModel;

/* Pattern density dens off the diagonal (0: W diagonal), a self-loop on
   about 2 nodes in 3 (every node when diagonal); W uniform in [-scale,
   scale], b ~ 0.3 N(0,1), gamma in [0.5, 1.5); keyed by seed. */
void TnTestModelRandom(TnTestModel *m, PetscInt N, PetscReal dens, PetscReal scale, uint64_t seed);
/* The model of TnTestRandomDense (every self-loop, upper triangular when tri). */
void TnTestModelRandomDense(TnTestModel *m, PetscInt N, PetscReal dens, PetscBool tri, PetscReal scale, uint64_t seed);
/* Its network (TnTestNetFromDense). */
PetscErrorCode TnTestModelNet(const TnTestModel *m, TnNet *net);

/* A configuration of the dynamics for the gradient checks. */
typedef struct {
  TnScheme        scheme;
  TnLogDetType    ldt;
  TnForm          form;
  TnAct           act;
  TnBase          base;
  PetscBool       adapt;  /* continuous: adaptive Dormand-Prince at rtol 1e-12 (else RK4) */
  PetscInt        nclamp; /* clamped nodes clamp[0 .. nclamp) (natural numbers) */
  const PetscInt *clamp;
} TnTestConfig;

/* Sets c, the step size h, K steps and the batch size B on dyn (not set up). */
PetscErrorCode TnTestConfigure(TnDyn dyn, const TnTestConfig *c, PetscReal h, PetscInt K, PetscInt B);

/* A batch: value scale N(0,1) keyed by (seed, 0, q) at natural position
   q = i B + b (node i, sample b), into x in the partitioned layout, and
   into xd[i * ld + b] on every rank unless xd is NULL. Collective. */
PetscErrorCode TnTestFillState(TnDyn dyn, PetscReal scale, uint64_t seed, PetscInt ld, PetscReal *xd, Vec x);

/* Central differences: for each component q < n that grad does not skip,
   fd = (L(q, +eps) - L(q, -eps)) / (2 eps) against g_q; *worst = the largest
   |fd - g_q| / max(|g_q|, 1e-3), and a line naming what and the component
   for every error above 1e-6. loss(ctx, q, d, &L): the loss with component q
   moved by d (and put back); grad(ctx, q, &g, name, len): g_q and the
   component's name (name[0] = 0: skip q). Called in the same order on every
   rank (they may be collective). */
typedef PetscErrorCode (*TnTestLossFn)(void *ctx, PetscInt q, PetscReal d, PetscReal *L);
typedef PetscErrorCode (*TnTestGradFn)(void *ctx, PetscInt q, PetscReal *g, char name[], size_t len);
PetscErrorCode TnTestCentralDifferences(PetscInt n, PetscReal eps, TnTestLossFn loss, TnTestGradFn grad, void *ctx, const char what[], PetscReal *worst);

/* The gradient (TnGradCompute with checkpointing ck, or the local rule
   TnGradComputeLocal) on an er network of 120 nodes on comm (B = 4, 3
   valid samples, logistic base, 23 steps): out = its norm, its derivative
   along a direction defined per natural (row, col) pair, log Phi of the
   first sample. */
PetscErrorCode TnTestNetGradient(MPI_Comm comm, TnScheme scheme, TnForm form, TnGradCheckpoint ck, PetscBool local, PetscReal out[3]);
/* Asserts that TnTestNetGradient gives the same on PETSC_COMM_WORLD as on
   one rank (1e-11). */
void TnTestGradRankInvariance(TnScheme scheme, TnForm form, PetscBool local);

/* A temporary directory for this test program (shared by all ranks). */
const char *TnTestTmpDir(void);

/* x_q = 0.8 z(seed, global index q), z standard normal (TnRandNormal): the
   same values at every rank count. */
PetscErrorCode TnTestFillNormal(Vec x, PetscInt seed);
/* max |x - y| over the ranks; -1 if it cannot be computed. */
PetscReal TnTestMaxDiff(Vec x, Vec y);
/* max |x - y| / max(max |y|, 1e-300) */
PetscReal TnTestRelDiff(Vec x, Vec y);
/* d1 keeps a copy of W's values that d0 does not (panels, slices), both
   set up on one net with batch B: evaluate d1 (it takes its copy), move
   every parameter (TnGradAddToParams), evaluate both from the same state.
   moved: d1's log Phi changed; same: d0's and d1's are equal, bit for bit. */
PetscErrorCode TnTestCopyFollowsW(TnDyn d0, TnDyn d1, PetscInt B, PetscBool *moved, PetscBool *same);
/* The same with a tolerance: same when every |log Phi_0 - log Phi_1| <=
   rtol max(|log Phi_0|, 1) (rtol = 0: bit for bit). */
PetscErrorCode TnTestCopyFollowsWTol(TnDyn d0, TnDyn d1, PetscInt B, PetscReal rtol, PetscBool *moved, PetscBool *same);

/* A dyn of the given scheme on net, configured from the options database
   with opt = val set for that call only (opt NULL: nothing set), not yet
   set up: the caller sets the rest. */
PetscErrorCode TnTestDynWithOption(TnNet net, const char *scheme, const char *opt, const char *val, TnDyn *dyn);
/* A net of the given type, size and degree on PETSC_COMM_WORLD. */
PetscErrorCode TnTestBuildNet(const char *type, PetscInt n, PetscInt k, TnNet *net);
/* Clamps every stride-th node (0, stride, 2 stride, ...; rank 0 gives the set). */
PetscErrorCode TnTestClampEvery(TnDyn dyn, TnNet net, PetscInt stride);

/* What an evaluation gives, for comparing two ways of computing it: log
   Phi per sample (B <= 16), a_K, the per-node totals (the dyn's node loss
   must be on) and the gradient, all from the state TnTestFillNormal(x, 5). */
typedef struct {
  PetscReal logphi[16];
  Vec       aK, node, grad;
} TnTestOut;
PetscErrorCode TnTestEvaluateAll(TnDyn dyn, PetscInt B, TnTestOut *o);
void           TnTestOutDestroy(TnTestOut *o);
