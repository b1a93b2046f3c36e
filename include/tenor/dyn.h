/* tenor/dyn.h - the time evolution of a batch of B states through K steps
   (docs/model.md sections 2-5) and the log-density it yields:
     log Phi(x) = log p_base(a_K) + sum_k sum_i (node i's log-det term of step k).
   A state batch is a Vec with block size B laid out node-major, sample-fastest
   (entry i*B + b is node i of sample b), in the network's partitioned order,
   so one pass over the matrix serves all B samples. */
#pragma once
#include <tenor/net.h>
#include <tenor/loss.h>

typedef struct _p_TnDyn *TnDyn;

/* Schemes (docs/model.md section 2), chosen by name (-dyn_scheme); each is an
   implementation in src/dyn/impls/<name>/ registered in src/dyn/dynregis.c. */
typedef const char *TnScheme;
#define TN_SCHEME_SYNC "sync"
#define TN_SCHEME_COLORED "colored"
#define TN_SCHEME_CONTINUOUS "continuous"

typedef enum { TN_FORM_RATE,
               TN_FORM_CURRENT } TnForm;
typedef enum { TN_ACT_TANH,
               TN_ACT_LINEAR } TnAct;
extern const char *const TnFormTypes[], *const TnActTypes[];
/* The colored scheme's colouring: greedy in natural node order (nodes of
   one colour far apart in memory only where the graph is, e.g. the
   checkerboard of a 2-D lattice), or greedy in an order drawn from
   -dyn_coloring_seed (docs/model.md section 6). */
typedef enum { TN_COLORING_NATURAL,
               TN_COLORING_RANDOM } TnColoringOrder;
extern const char *const TnColoringOrders[];
/* The sync scheme's backward step, rate form: W^T of the on-process block
   as a gather over its columns (each lambda_j written once; a transposed
   copy of the block, 8 bytes per synapse more) or a scatter-add by rows.
   auto: columns at B >= 4, and at smaller B where the columns are
   scattered and lambda takes at least 5 MB on the rank (docs/gradient.md). */
typedef enum { TN_ADJOINT_TRANSPOSE_AUTO,
               TN_ADJOINT_TRANSPOSE_COLUMNS,
               TN_ADJOINT_TRANSPOSE_ROWS } TnAdjointTranspose;
extern const char *const TnAdjointTransposes[];
/* What the local rule keeps (TnDynLocalStep, docs/rules.md "Cost"):
   traces: every synapse's eligibility traces, carried step by step (nnz B
   values); states: the K steps' records (2 values per node and 1 per
   ghost, per step and sample; the sync scheme), the rule summed in closed
   form after the last step, the same to round-off; auto: the faster where
   it fits (states at B >= 8, and at B >= 2 where their records take less
   memory than the traces; traces otherwise), else the other. */
typedef enum { TN_LOCAL_STORE_AUTO,
               TN_LOCAL_STORE_TRACES,
               TN_LOCAL_STORE_STATES } TnLocalStore;
extern const char *const TnLocalStores[];

/* Per-batch results, on every rank (global sums). steps[k*B + b] is
   sum_i (log-det term of node i at step k) for sample b; base[b] is
   log p_base(a_K); logphi[b] = base[b] + sum_k steps[k*B + b]. */
typedef struct {
  PetscInt   B, K;
  PetscInt   nvalid; /* samples 0..nvalid-1 are real (the last batch may be padded); per-node totals count only these. Default B. */
  PetscInt   first;  /* number of sample 0 in the data set (for messages). Default 0. */
  PetscReal *logphi, *base, *steps;
  PetscReal *logphi_se; /* [B] standard error of logphi[b] when the log-dets are estimates (slq): sqrt(sum_k se_k^2), the steps' errors being independent; else 0 */
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
/* Rate form at B = 1 (sync and colored): the row pass reads a copy of W's
   on-process block in slices of 8 rows, one row per vector lane, the same
   sums in the same order (8 bytes per synapse more). On by default;
   off: row by row from W itself (docs/architecture.md, "Row slices"). */
PetscErrorCode TnDynSetSlices(TnDyn dyn, PetscBool on);
PetscErrorCode TnDynSetLocalStore(TnDyn dyn, TnLocalStore store);
/* The store the local rule set up with (traces or states; after TnDynLocalSetUp). */
PetscErrorCode TnDynGetLocalStore(TnDyn dyn, TnLocalStore *store);
/* Colouring for the colored scheme: read from a file (one colour per node,
   natural order) instead of computing one; write the one used. */
PetscErrorCode TnDynSetColoringFile(TnDyn dyn, const char in[], const char out[]);
/* Seed of the hashed node priorities of the computed colouring. */
PetscErrorCode TnDynSetColoringSeed(TnDyn dyn, PetscInt seed);
PetscErrorCode TnDynGetColoringSeed(TnDyn dyn, PetscInt *seed);
PetscErrorCode TnDynSetColoringOrder(TnDyn dyn, TnColoringOrder order);
PetscErrorCode TnDynSetAdjointTranspose(TnDyn dyn, TnAdjointTranspose t);
PetscErrorCode TnDynGetColoringOrder(TnDyn dyn, TnColoringOrder *order);
/* The final time T: h = T / K at SetUp (instead of the step size h). */
PetscErrorCode TnDynSetFinalTime(TnDyn dyn, PetscReal T);
/* continuous scheme: error control of the embedded Runge-Kutta pair on the
   state and on the log-det integral (-dyn_rtol, -dyn_atol), and whether
   to adapt the step (-dyn_adapt; false: K classical RK4 steps). */
PetscErrorCode TnDynSetTolerances(TnDyn dyn, PetscReal rtol, PetscReal atol);
PetscErrorCode TnDynSetAdaptive(TnDyn dyn, PetscBool adapt);
PetscErrorCode TnDynGetTolerances(TnDyn dyn, PetscReal *rtol, PetscReal *atol, PetscBool *adapt);
/* Clamped nodes (docs/conditional.md): the nodes of `natural` (0-based
   natural numbers, each rank giving any part of the set; each node once, at
   least one node left free) keep the value the sample gives them through the
   evolution, and the density is the conditional one of the free nodes F:
     log Phi(t | x) = log p_base(a_K^F) + sum_k log|det J_k^FF|.
   A reference is kept; NULL clears the set. TnDynSetClampFile names a file
   of node numbers (one per line) read and checked at SetUp instead
   (-data_clamp FILE). Both reset the set-up. */
PetscErrorCode TnDynSetClamp(TnDyn dyn, IS natural);
PetscErrorCode TnDynSetClampFile(TnDyn dyn, const char path[]);
/* After SetUp: the number of clamped and of free nodes (global), and the
   free mask of the local rows (partitioned order: 1 free, 0 clamped; NULL
   when no node is clamped), borrowed. Any argument may be NULL. */
PetscErrorCode TnDynGetClamp(TnDyn dyn, PetscInt *nclamped, PetscInt *nfree, const PetscReal **freemask);
/* After SetUp: the clamped nodes' natural numbers (this rank's rows), a new
   IS, or NULL when no node is clamped. */
PetscErrorCode TnDynGetClampIS(TnDyn dyn, IS *natural);
/* The clamp set in natural order: mask (default layout of N, created by the
   caller) gets 1 for a clamped node, 0 for a free one. Sets up the
   dynamics. Collective. */
PetscErrorCode TnDynGetClampMask(TnDyn dyn, Vec mask);
/* base[b] += this rank's sum over its free nodes i of log p_base(a_ib) (the
   base term of log Phi at a_K; a is this rank's block of a state batch). */
PetscErrorCode TnDynAddBaseTerms(TnDyn dyn, const PetscScalar *a, PetscReal *base);
/* Options with prefix -dyn_, -logdet_ and -base_, and -data_clamp (see -help). */
PetscErrorCode TnDynSetFromOptions(TnDyn dyn);
/* Builds the halo exchange for the batch size, the colouring, and checks
   invertibility (docs/model.md section 5). Collective. */
PetscErrorCode TnDynSetUp(TnDyn dyn);

/* A state batch (block size B, partitioned layout), on whole cache lines
   (TnVecCreateAligned): a row of B values starts a line. */
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
PetscErrorCode TnDynGetNet(TnDyn dyn, TnNet *net);
/* Products with W (each serving the B samples of a batch) since SetUp: K
   per evaluation for sync and colored, the field evaluations (Runge-Kutta
   stages) for continuous. The cost of a sample is passes x nnz synaptic
   updates. */
PetscErrorCode TnDynGetPasses(TnDyn dyn, PetscInt64 *passes);
/* Local rows m of the partitioned layout (a state batch holds m*B values here). */
PetscErrorCode TnDynGetLocalSize(TnDyn dyn, PetscInt *m);
PetscErrorCode TnDynGetParams(TnDyn dyn, TnScheme *scheme, TnForm *form, TnAct *act, PetscReal *h, PetscInt *K, PetscInt *B);
/* The invertibility bound that applies (docs/model.md section 5): sync: h Lip(f)
   bound (must be < 1); colored: min_i (1 - h gamma_i + h min(W_ii, 0)) (> 0);
   continuous: none (the flow of a Lipschitz field is a bijection; value 0). */
PetscErrorCode TnDynGetInvertibility(TnDyn dyn, PetscReal *value, const char **what);
typedef struct {
  PetscBool applies; /* false: no condition (continuous) */
  PetscBool ok;      /* the condition holds (with a margin of 1e-10 for a trial) */
  PetscReal value;   /* the bound */
  PetscReal fmin;    /* a lower bound on every factor 1 + h A_ii it guarantees */
  char      what[512], fix[768];
} TnDynBound;
/* The bound on |W|_2 in the sync scheme's condition (-dyn_bound_norm):
   auto (default) the cheap sqrt(|W|_1 |W|_inf) when it certifies, else a
   Lanczos certificate; cheap; lanczos (always the certificate, the smaller
   of the two used). docs/model.md section 5. */
typedef enum { TN_BOUND_NORM_AUTO,
               TN_BOUND_NORM_CHEAP,
               TN_BOUND_NORM_LANCZOS } TnBoundNorm;
extern const char *const TnBoundNormTypes[];
/* The invertibility condition at the trial parameters theta + alpha d
   (theta's layout, TnNetGetParamLayout; d = NULL: theta), gamma = e^u,
   computed by the same code and in the same order as the check of SetUp,
   so a trial accepted here is accepted there. Nothing is changed but,
   when the sync bound needs one, a new Lanczos certificate of the current
   W (bound.c). Collective. */
PetscErrorCode TnDynCheckBound(TnDyn dyn, const PetscScalar *theta, const PetscScalar *d, PetscReal alpha, TnDynBound *bound);
/* The network's parameters changed (TnNetParamsUpdated done): check the
   invertibility condition again; an error if it fails. Collective. */
PetscErrorCode TnDynCheckInvertible(TnDyn dyn);

/* Stepping by hand: the building blocks of TnDynEvaluate, of the gradient
   (tenor/grad.h) and of the sampler (tenor/sample.h). Arrays are this rank's
   block of a state batch (TnDynCreateState's local array). */
/* Step k: out = the step of a (out may be a); ldet[b] += this rank's log-det
   terms of sample b; save: the entries the adjoint step needs
   (TnDynAdjointSetUp's nsave; NULL when 0). Collective. */
PetscErrorCode TnDynStepArrays(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *save, PetscReal *ldet);
/* The save entries of the state a, without stepping. */
PetscErrorCode TnDynStepSave(TnDyn dyn, const PetscScalar *a, PetscReal *save);
/* Reverse mode, one step at a time: lambda_K = omega dl_base/da_K, then
   lambda_k = J_k^T lambda_{k+1} + d(step-k local loss)/da_k, accumulating
   dL/dtheta (theta's layout) for the mean loss over the nvalid real samples.
   AdjointSetUp allocates the work (*nsave: entries per state the forward
   steps must keep, *bytes: this rank's work); Begin takes a_K and zeroes
   grad; Step k takes a_k, a_{k+1} and the save of step k; End finishes grad
   (dL/du = gamma dL/dgamma). Collective. */
PetscErrorCode TnDynAdjointSetUp(TnDyn dyn, size_t *nsave, PetscLogDouble *bytes);
PetscErrorCode TnDynAdjointBegin(TnDyn dyn, const PetscScalar *aK, PetscInt nvalid, PetscScalar *grad);
PetscErrorCode TnDynAdjointStep(TnDyn dyn, PetscInt k, const PetscScalar *ak, const PetscScalar *ak1, const PetscReal *save);
PetscErrorCode TnDynAdjointEnd(TnDyn dyn, PetscScalar *grad);
/* The local rule, forward in time (docs/gradient.md, "The local rule"):
   node i's sensitivities e_k = d a_{k,i} / d theta_i to its own parameters
   (the other nodes' states as given inputs), one trace per synapse and
   sample plus b's and gamma's, and the gradient of its own loss terms.
   LocalSetUp checks the memory (the traces and `extra` bytes the caller is
   about to allocate) and allocates (*bytes: this rank's traces); an error for
   a scheme without a local step (continuous) or a global log-det method.
   Begin zeroes the traces and grad; Step k takes a_k and writes a_{k+1} into
   out (out != a), ldet as TnDynStepArrays; End adds the base term at a_K and
   finishes grad (dL/du = gamma dL/dgamma). Collective. */
PetscErrorCode TnDynLocalSetUp(TnDyn dyn, PetscLogDouble extra, PetscLogDouble *bytes);
PetscErrorCode TnDynLocalBegin(TnDyn dyn, PetscInt nvalid, PetscScalar *grad);
PetscErrorCode TnDynLocalStep(TnDyn dyn, PetscInt k, const PetscScalar *a, PetscScalar *out, PetscReal *ldet);
PetscErrorCode TnDynLocalEnd(TnDyn dyn, const PetscScalar *aK, PetscScalar *grad);
/* Inversion statistics (TnDynStepInverse). sync: fixed-point iterations per
   step (each one product with a halo exchange); colored: Newton/bisection
   iterations per node solve; continuous: accepted and rejected steps of
   the backward integration. */
typedef struct {
  PetscReal  tol;   /* sync: relative tolerance of the fixed point */
  PetscInt   maxit; /* sync: most iterations per step */
  PetscInt64 sync_iters, sync_steps;
  PetscInt   sync_iters_max;
  PetscReal  sync_change_max;
  PetscInt64 newton_iters, newton_solves;
  PetscInt   newton_iters_max;
  PetscInt64 rk_steps, rk_rejected;
} TnDynInverseStats;
/* a = a_{k+1} -> a_k in place, by the scheme's own inverse. Collective. */
PetscErrorCode TnDynStepInverse(TnDyn dyn, PetscInt k, PetscScalar *a, TnDynInverseStats *st);
PetscErrorCode TnDynView(TnDyn dyn, PetscViewer viewer);
/* The dynamics' settings as root attributes of an HDF5 file (model and
   checkpoint files, opened with PetscViewerHDF5Open): scheme, form, act,
   base, logdet, h, K, colors, coloring_seed, rtol, atol, adapt. Read applies
   every stored setting, each validated (an error names the file and the
   attribute); whether the command line overrides them is the caller's
   decision. Collective. */
PetscErrorCode TnDynWriteAttributes(TnDyn dyn, PetscViewer vw);
PetscErrorCode TnDynReadAttributes(TnDyn dyn, PetscViewer vw, const char path[]);
PetscErrorCode TnDynDestroy(TnDyn *dyn);

/* Gathers that stay in cache (the sync scheme's column panels, the rules'):
   the default bytes of gathered state per panel, half of the last-level
   cache's share of each rank on the node (collective); and whether a CSR
   block of m rows has scattered columns: fewer than half of its entries
   within 64 rows of their row (a random graph; a lattice's are local, and
   the hardware prefetcher follows them). */
PetscErrorCode TnPanelBytesDefault(MPI_Comm comm, size_t *bytes);
PetscBool      TnColumnsScattered(PetscInt m, const PetscInt *ia, const PetscInt *ja);
