/* tenor/dyn.h - the time evolution of a batch of B states through K steps
   (MODEL.md sections 2-4) and the log-density it yields:
     log Phi(x) = log p_base(a_K) + sum_k sum_i (node i's log-det term of step k).
   A state batch is a Vec with block size B laid out node-major, sample-fastest
   (entry i*B + b is node i of sample b), in the network's partitioned order,
   so one pass over the matrix serves all B samples. */
#pragma once
#include <tenor/net.h>
#include <tenor/loss.h>

typedef struct _p_TnDyn *TnDyn;

typedef enum { TN_SCHEME_SYNC,
               TN_SCHEME_COLORED } TnScheme;
typedef enum { TN_FORM_RATE,
               TN_FORM_CURRENT } TnForm;
typedef enum { TN_ACT_TANH,
               TN_ACT_LINEAR } TnAct;
extern const char *const TnSchemeTypes[], *const TnFormTypes[], *const TnActTypes[];

/* Per-batch results, on every rank (global sums). steps[k*B + b] is
   sum_i (log-det term of node i at step k) for sample b; base[b] is
   log p_base(a_K); logphi[b] = base[b] + sum_k steps[k*B + b]. */
typedef struct {
  PetscInt   B, K;
  PetscInt   nvalid; /* samples 0..nvalid-1 are real (the last batch may be padded); per-node totals count only these. Default B. */
  PetscInt   first;  /* number of sample 0 in the data set (for messages). Default 0. */
  PetscReal *logphi, *base, *steps;
} TnDynResult;

PetscErrorCode TnDynCreate(TnNet net, TnDyn *dyn);
PetscErrorCode TnDynSetScheme(TnDyn dyn, TnScheme scheme);
PetscErrorCode TnDynSetForm(TnDyn dyn, TnForm form);
PetscErrorCode TnDynSetActivation(TnDyn dyn, TnAct act);
PetscErrorCode TnDynSetStepSize(TnDyn dyn, PetscReal h);
PetscErrorCode TnDynSetSteps(TnDyn dyn, PetscInt K);
PetscErrorCode TnDynSetBatchSize(TnDyn dyn, PetscInt B);
PetscErrorCode TnDynSetLogDetType(TnDyn dyn, TnLogDetType type);
PetscErrorCode TnDynSetBase(TnDyn dyn, TnBase base);
/* Accumulate per-node loss totals (TnDynGetNodeLoss). Off by default. */
PetscErrorCode TnDynSetNodeLoss(TnDyn dyn, PetscBool on);
/* Colouring for the colored scheme: read from a file (one colour per node,
   natural order) instead of computing one; write the one used. */
PetscErrorCode TnDynSetColoringFile(TnDyn dyn, const char in[], const char out[]);
/* Seed of the hashed node priorities of the computed colouring. */
PetscErrorCode TnDynSetColoringSeed(TnDyn dyn, PetscInt seed);
PetscErrorCode TnDynGetColoringSeed(TnDyn dyn, PetscInt *seed);
/* Options with prefix -dyn_, -logdet_ and -base_ (see -help). */
PetscErrorCode TnDynSetFromOptions(TnDyn dyn);
/* Builds the halo exchange for the batch size, the colouring, and checks
   invertibility (MODEL.md section 4). Collective. */
PetscErrorCode TnDynSetUp(TnDyn dyn);

/* A state batch (block size B, partitioned layout). */
PetscErrorCode TnDynCreateState(TnDyn dyn, Vec *x);
/* A batch in natural order (default split, block size B) and the scatter
   between the two orders (forward: natural -> partitioned). */
PetscErrorCode TnDynCreateNaturalState(TnDyn dyn, Vec *xnat);
PetscErrorCode TnDynNaturalToState(TnDyn dyn, Vec xnat, Vec x, ScatterMode mode);

/* Evolves x (a_0 = the samples) through K steps in place (x = a_K on return)
   and fills res (allocated by TnDynResultCreate). Collective. */
PetscErrorCode TnDynEvaluate(TnDyn dyn, Vec x, TnDynResult *res);
PetscErrorCode TnDynResultCreate(TnDyn dyn, TnDynResult *res);
/* The sync step Jacobian J_k = I + h A_k of sample b (0 <= b < B) at the
   state batch x (before the step), on W's pattern plus the diagonal.
   TnDynCreateJacobian makes the matrix once. Collective. */
PetscErrorCode TnDynCreateJacobian(TnDyn dyn, Mat *J);
PetscErrorCode TnDynStepJacobian(TnDyn dyn, Vec x, PetscInt b, Mat J);
PetscErrorCode TnDynResultDestroy(TnDynResult *res);

/* Per-node loss totals summed over every sample evaluated since SetUp:
   l_i^base + sum_k l_{k,i}, partitioned layout (borrowed). */
PetscErrorCode TnDynGetNodeLoss(TnDyn dyn, Vec *nodeloss);
PetscErrorCode TnDynGetNumColors(TnDyn dyn, PetscInt *ncolors);
/* Colour of each local row (partitioned order), borrowed. */
PetscErrorCode TnDynGetColors(TnDyn dyn, const PetscInt **colors);
PetscErrorCode TnDynGetLoss(TnDyn dyn, TnLogDetType *ldt, TnBase *base);
PetscErrorCode TnDynGetParams(TnDyn dyn, TnScheme *scheme, TnForm *form, TnAct *act, PetscReal *h, PetscInt *K, PetscInt *B);
/* The invertibility bound that applies (MODEL.md section 4): sync: h Lip(f)
   bound (must be < 1); colored: min_i (1 - h gamma_i + h min(W_ii, 0)) (> 0). */
PetscErrorCode TnDynGetInvertibility(TnDyn dyn, PetscReal *value, const char **what);
PetscErrorCode TnDynView(TnDyn dyn, PetscViewer viewer);
PetscErrorCode TnDynDestroy(TnDyn *dyn);
