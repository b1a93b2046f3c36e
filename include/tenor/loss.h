/* tenor/loss.h - base densities and local log-determinant methods
   (MODEL.md section 3). Both are sums of per-node terms. */
#pragma once
#include <petscsys.h>

typedef enum { TN_BASE_NORMAL,
               TN_BASE_LOGISTIC } TnBase;
extern const char *const TnBaseTypes[]; /* PetscOptionsEnum list */

/* log p_base,i(z) for one node: normal: -z^2/2 - log(2 pi)/2; logistic:
   log sigma'(z) = -|z| - 2 log(1 + e^{-|z|}) (sigma' is even). */
PetscReal TnBaseLogDensity(TnBase base, PetscReal z);

/* Local log-determinant methods of a step or substep (-logdet_type).
   diag:  sum_i log|1 + h A_ii|  (exact for the colored scheme)
   trace: h sum_i A_ii           (the h -> 0 limit) */
typedef enum { TN_LOGDET_DIAG,
               TN_LOGDET_TRACE } TnLogDetType;
extern const char *const TnLogDetTypes[];

/* Node i's log-det term for x = h A_ii. */
PetscReal TnLogDetTerm(TnLogDetType type, PetscReal hA);
