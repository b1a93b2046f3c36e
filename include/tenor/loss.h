/* tenor/loss.h - base densities and local log-determinant methods
   (docs/model.md section 4). Both are sums of per-node terms. */
#pragma once
#include <petscsys.h>

typedef enum { TN_BASE_NORMAL,
               TN_BASE_LOGISTIC } TnBase;
extern const char *const TnBaseTypes[]; /* PetscOptionsEnum list */

/* log p_base,i(z) for one node: normal: -z^2/2 - log(2 pi)/2; logistic:
   log sigma'(z) = -|z| - 2 log(1 + e^{-|z|}) (sigma' is even). */
PetscReal TnBaseLogDensity(TnBase base, PetscReal z);

/* Log-determinant methods of a step or substep (-logdet_type). The local
   ones are sums of per-node terms, computed inside the dynamics kernels:
     diag:  sum_i log|1 + h A_ii|  (exact for the colored scheme)
     trace: h sum_i A_ii           (the h -> 0 limit)
   the global ones act on the whole step Jacobian J_k (tenor/logdet.h):
     dense:  LU on a ScaLAPACK process grid (exact)
     sparse: sparse LU with MUMPS (exact)
     slq:    stochastic Lanczos quadrature on J^T J (an estimate) */
typedef enum { TN_LOGDET_DIAG,
               TN_LOGDET_TRACE,
               TN_LOGDET_DENSE,
               TN_LOGDET_SPARSE,
               TN_LOGDET_SLQ } TnLogDetType;
#define TN_LOGDET_NTYPES 5
#define TnLogDetIsLocal(t) ((t) == TN_LOGDET_DIAG || (t) == TN_LOGDET_TRACE)
extern const char *const TnLogDetTypes[];

/* Node i's log-det term for x = h A_ii. */
PetscReal TnLogDetTerm(TnLogDetType type, PetscReal hA);
