/* tenor/grad.h - the exact gradient of the mean loss
     L = (1/nvalid) sum_{b < nvalid} -log Phi(x_b)
   with respect to the parameters theta = (W on its pattern P, b, u = log gamma),
   by reverse mode through the K steps of the dynamics (docs/gradient.md):
     lambda_K = dl_base/da_K,  lambda_k = J_k^T lambda_{k+1} + d(step-k local loss)/da_k,
   the transposed product doing the reverse halo exchange. Every scheme: sync
   with the diag or trace log-det, colored (exact; the substeps are reversed
   in reverse colour order) and continuous (the discrete adjoint of the
   accepted Runge-Kutta steps); each step's adjoint is the scheme's own
   (TnDynAdjointStep). Memory: trajectory checkpointing (-grad_checkpoint).

   Parameter vector theta (one distributed Vec, TnGradCreateParamVec, or the
   network's own storage viewed by TnGradGetParamVec): on each
   rank, the values of W's on-process block (CSR order of the local rows, the
   order of MatMPIAIJGetSeqAIJ's Ad), then of its off-process block (Ao), then
   b of the local rows, then u_i = log gamma_i of the local rows. gamma = e^u
   stays positive whatever step an optimiser takes on u; the gradient given is
   dL/du = gamma dL/dgamma. TnGradGetParamMap names each entry by natural
   (row, column) numbers, which do not depend on the rank count. */
#pragma once
#include <tenor/dyn.h>

typedef struct _p_TnGrad *TnGrad;

/* What is stored of the trajectory: auto (sqrt when K > 16, else none),
   none (all K states: memory K N B), sqrt (every ceil(sqrt K)-th state and
   one recomputed segment: memory about 2 sqrt(K) N B, one extra forward). */
typedef enum { TN_GRAD_CKPT_AUTO,
               TN_GRAD_CKPT_NONE,
               TN_GRAD_CKPT_SQRT } TnGradCheckpoint;
extern const char *const TnGradCheckpointTypes[];

/* The gradient engine of a dynamics object (which it references; the
   dynamics' configuration is read at SetUp). */
PetscErrorCode TnGradCreate(TnDyn dyn, TnGrad *g);
PetscErrorCode TnGradSetCheckpoint(TnGrad g, TnGradCheckpoint type);
/* Options with prefix -grad_ (see -help). */
PetscErrorCode TnGradSetFromOptions(TnGrad g);
/* Sets up the dynamics, checks that the configuration has a gradient (a local
   log-det method: diag or trace), sizes theta and allocates the trajectory
   storage. Collective. The functions of theta below (ParamVec, GetParams,
   SetParams, AddToParams, ParamMap) set up the dynamics and theta's layout
   only: they need neither the gradient nor its storage. */
PetscErrorCode TnGradSetUp(TnGrad g);

/* theta's layout (see the top of this file). */
PetscErrorCode TnGradCreateParamVec(TnGrad g, Vec *theta);
/* theta as a Vec view of the network's own parameter storage
   (TnNetGetParamArray): no copy. Writing into it changes W and b at once;
   call TnGradSetParams(g, theta) after a change (gamma = e^u, W_ii, the
   invertibility check). Destroy it before the network. Collective. */
PetscErrorCode TnGradGetParamVec(TnGrad g, Vec *theta);
/* theta <- the network's current parameters (u = log gamma). Collective. */
PetscErrorCode TnGradGetParams(TnGrad g, Vec theta);
/* The network's parameters <- theta: W's values are written in place into the
   storage of W's blocks, b into b, gamma = e^u into gamma, and W_ii (when the
   pattern holds the diagonal) into the net's W_ii vector. The dynamics reads
   these same arrays (it holds read views from its SetUp), so the new values
   take effect at the next evaluation without a new SetUp; the pattern never
   changes. Rule: change the parameters of a net in use only through
   TnGradSetParams / TnGradAddToParams. Then the invertibility condition
   (docs/model.md section 5) is checked again: an error if it fails. Collective. */
PetscErrorCode TnGradSetParams(TnGrad g, Vec theta);
/* theta <- theta + alpha d in place, without a copy of theta (W += alpha dW,
   b += alpha db, u += alpha du, gamma = e^u); then the invertibility check.
   Collective. */
PetscErrorCode TnGradAddToParams(TnGrad g, PetscReal alpha, Vec d);
/* Natural (row, column) of each local entry of theta: W entries give the
   synapse's postsynaptic row i and presynaptic column j; b entries give
   (i, -1), u entries (i, -2). Borrowed arrays of theta's local size. */
PetscErrorCode TnGradGetParamMap(TnGrad g, const PetscInt **row, const PetscInt **col);
/* Frees the map (it is built again by the next TnGradGetParamMap). */
PetscErrorCode TnGradRestoreParamMap(TnGrad g, const PetscInt **row, const PetscInt **col);

/* Evolves a copy of x (batch state, partitioned layout, block size B; x is
   not modified), fills res as TnDynEvaluate does (log Phi per sample, only
   the samples b < res->nvalid count in the loss), and sets grad (theta's
   layout) to the gradient of the mean loss over those samples. Collective. */
PetscErrorCode TnGradCompute(TnGrad g, Vec x, TnDynResult *res, Vec grad);
/* The local rule (docs/gradient.md, "The local rule"), with the contract of
   TnGradCompute: res as TnDynEvaluate, and grad (theta's layout) = for each
   node i, the gradient of the mean over the real samples of its own loss
   terms (l_i^base and its l_{k,i}) with respect to its own parameters
   (W_i. on P, b_i, u_i), the other nodes' states taken as given inputs. One
   forward pass carrying d a_{k,i} / d theta_i (an eligibility trace per
   synapse and sample, plus b's and gamma's; memory checked first); no
   backward pass, no trajectory. Equals TnGradCompute when W is diagonal.
   The sync and colored schemes (an error for continuous). Collective. */
PetscErrorCode TnGradComputeLocal(TnGrad g, Vec x, TnDynResult *res, Vec grad);

/* The checkpointing in use after SetUp (never AUTO), the segment length s and
   the number of states stored (checkpoints + one segment + the final state),
   and the bytes of this rank's trajectory and work storage. */
PetscErrorCode TnGradGetCheckpoint(TnGrad g, TnGradCheckpoint *type, PetscInt *seglen, PetscInt *nstates, PetscLogDouble *bytes);
PetscErrorCode TnGradView(TnGrad g, PetscViewer viewer);
PetscErrorCode TnGradDestroy(TnGrad *g);
