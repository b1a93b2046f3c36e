/* tenor/norm.h - is Phi a density? The integral of Phi over R^N
   (docs/normalization.md), evaluated with the dynamics engine on batches
   of points:
   - grid: the trapezoid rule with n points per axis on [-L, L]^N (N = 2, 3),
     with a truncation estimate (the mass in the outermost shell of cells) and
     a discretisation estimate (the difference to the grid of every other
     point, spacing 2 dx);
   - is: importance sampling, E_q[Phi/q] with q = N(0, sigma^2 I), in log
     space, with its standard error and effective sample size.
   Every figure is the same for any rank count (up to round-off). */
#pragma once
#include <tenor/dyn.h>

typedef enum { TN_NORM_AUTO,
               TN_NORM_GRID,
               TN_NORM_IS } TnNormMethod;
extern const char *const TnNormMethods[]; /* "auto", "grid", "is" */

typedef struct {
  TnNormMethod method;                    /* auto: grid for N <= 3, is above */
  PetscInt     n;                         /* grid points per axis, odd (0: 401, 121, 41 for N = 2, 3, >3) */
  PetscReal    L;                         /* box half-width (<= 0: automatic) */
  PetscReal    L0;                        /* first box of the automatic search */
  PetscReal    tol;                       /* automatic box: mass outside the box <= tol * integral */
  PetscReal    max_points;                /* refuse a grid with more points */
  PetscReal    max_seconds;               /* refuse a computation estimated to take longer */
  PetscInt     S;                         /* importance samples */
  PetscReal    sigma;                     /* q's scale (<= 0: automatic, moment-matched) */
  PetscInt     seed;                      /* of the importance samples */
  char         given[PETSC_MAX_PATH_LEN]; /* clamped nodes: a file of N values (natural order) whose clamped entries x are held fixed; "": x = 0 */
} TnNormOptions;

typedef struct {
  TnNormMethod method;   /* the one used */
  PetscInt     N;        /* dimensions integrated over: the free nodes N_F */
  PetscInt     nclamp;   /* clamped nodes, held at the given x (conditional density Phi(t | x)) */
  PetscReal    integral; /* the estimate of the integral of Phi */
  PetscReal    error;    /* grid: truncation + discretisation; is: standard error */
  /* grid */
  PetscInt   n;              /* points per axis */
  PetscInt64 points;         /* n^N */
  PetscReal  L;              /* box half-width */
  PetscBool  L_auto;         /* L chosen by the search */
  PetscInt   box_steps;      /* boxes tried by the search */
  PetscReal  truncation;     /* mass in the outermost shell of cells */
  PetscReal  coarse;         /* the integral on every other point */
  PetscReal  discretisation; /* |integral - coarse| */
  /* importance sampling */
  PetscInt  S;
  PetscReal sigma, stderr_, ess;
  PetscInt  pilot_samples; /* spent choosing sigma */
  /* cost */
  PetscInt64 evaluations; /* log Phi evaluations, including the search */
  double     seconds;
} TnNormResult;

/* Defaults, then the -norm_ options (see -help). Collective. */
PetscErrorCode TnNormOptionsSetDefault(TnNormOptions *opt);
PetscErrorCode TnNormOptionsSetFromOptions(MPI_Comm comm, TnNormOptions *opt);

/* The integral of Phi = exp(log Phi) for the set-up dynamics dyn, in batches
   (with clamped nodes, docs/conditional.md: of Phi(t | x) over the free
   values t, x held at the given values),
   of dyn's batch size B (1024 is fastest). Refuses, with a collective error
   naming the limit and the fix, a grid of more than max_points points, or a
   computation estimated to take more than max_seconds (timed on its first
   batch). Prints progress with rate and ETA on long runs. Collective. */
PetscErrorCode TnNormIntegrate(TnDyn dyn, const TnNormOptions *opt, TnNormResult *res);
