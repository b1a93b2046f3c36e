/* Test harness: a CUnit runner that is MPI-aware. Each test file defines
   TnTestRegister(), adding its suites; main() runs them on every rank and
   fails if any rank saw a failure. Tests must be collective-safe: use the
   non-fatal CU_ASSERT* forms in code that other ranks reach collectively. */
#pragma once
#include <CUnit/Basic.h>
#include <tenor/sys.h>
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

/* A temporary directory for this test program (shared by all ranks). */
const char *TnTestTmpDir(void);
