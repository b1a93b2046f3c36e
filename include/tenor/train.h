/* tenor/train.h - learning: minimise the mean loss L = mean_x -log Phi(x)
   over the training samples by the exact gradient (tenor/grad.h) with Adam
   or SGD with momentum (docs/gradient.md, docs/training.md).

   Reproducibility: the minibatch of step s is positions [p B, p B + B) of
   the training part shuffled by TnDataShuffle(data, epoch, seed), so the
   batches are the same for any rank count; every other computation is
   deterministic for a fixed rank count, so a run restarted from a
   checkpoint ends with the same parameters, bit for bit, as one that was
   never interrupted. Checkpoints and models store theta (and the optimiser's
   moments, which have theta's layout) keyed by the natural (row, col) of
   each parameter, sorted, so a file written on P ranks loads on Q ranks.

   Invertibility: an update that would break the condition of docs/model.md
   section 5 is halved (up to -train_max_shrink times; then skipped). Both
   events are counted and reported, never silent.

   Rules (-train_rule): gradient (the exact gradient, then Adam or SGD),
   local (the local rule's gradient, then Adam or SGD), or a local rule of
   tenor/rule.h (hebb, oja) whose update dW is the step direction; every rule goes through the same invertibility check, the
   same data order, losses, reports, checkpoints and model files. */
#pragma once
#include <tenor/grad.h>
#include <tenor/data.h>
#include <tenor/rule.h>

typedef struct _p_TnTrain *TnTrain;

typedef enum { TN_OPT_ADAM,
               TN_OPT_SGD } TnOptimizer;
typedef enum { TN_SCHED_CONSTANT,
               TN_SCHED_COSINE,
               TN_SCHED_STEP } TnSchedule;
extern const char *const TnOptimizerTypes[], *const TnScheduleTypes[];

/* What makes the step direction (docs/training.md, docs/rules.md):
   gradient: -lr (Adam or SGD of the gradient of the minibatch loss);
   hebb, oja: the rule's dW (TnRuleComputeUpdate) on the activities of the
   minibatch (-rule_activity), its step size from the rule's schedule;
   local: -lr (Adam or SGD, as gradient) of the local rule's gradient
   (TnGradComputeLocal: each node's own loss terms with respect to its own
   parameters, eligibility traces; docs/gradient.md). */
typedef enum { TN_TRAIN_RULE_GRADIENT,
               TN_TRAIN_RULE_HEBB,
               TN_TRAIN_RULE_OJA,
               TN_TRAIN_RULE_LOCAL } TnTrainRule;
#define TN_TRAIN_NRULES 4
extern const char *const TnTrainRuleTypes[];
/* The rules whose update is a TnRule's (tenor/rule.h): hebb and oja. */
static inline PetscBool TnTrainRuleUsesTnRule(TnTrainRule rule)
{
  return (PetscBool)(rule == TN_TRAIN_RULE_HEBB || rule == TN_TRAIN_RULE_OJA);
}

/* Why a run stopped. */
typedef enum { TN_TRAIN_RUNNING,
               TN_TRAIN_DONE,        /* the step budget is used up */
               TN_TRAIN_EARLY,       /* validation loss did not improve for `patience` evaluations */
               TN_TRAIN_INTERRUPTED, /* SIGTERM / SIGUSR1: checkpoint written */
               TN_TRAIN_RUNAWAY /* a local rule's weights ran beyond -rule_max_weight: the last good state is kept */ } TnTrainStatus;
extern const char *const TnTrainStatusNames[];

/* What the run has done so far (TnTrainGetInfo). Losses in nats per sample. */
typedef struct {
  PetscInt64    step, epoch, pos;          /* updates done; epoch; next batch within the epoch */
  PetscInt64    shrunk, halvings, skipped; /* updates shortened; total halvings; updates dropped */
  PetscInt      nbatch;                    /* batches per epoch */
  PetscInt64    total;                     /* step budget */
  PetscReal     lr, gnorm;                 /* learning rate and gradient norm of the last step */
  PetscReal     batch_loss;                /* loss of the last minibatch */
  PetscReal     train_loss;                /* mean minibatch loss since the last report */
  PetscReal     valid_loss;                /* last validation loss (NaN if none yet) */
  PetscReal     best_valid;                /* best validation loss and its step */
  PetscInt64    best_step;
  TnTrainStatus status;
} TnTrainInfo;

/* A trainer for `net` evolved by `dyn` (its gradient engine is created
   inside, options -grad_) on `data` (loaded, for the same N). Borrows all
   three: they must outlive the trainer. */
PetscErrorCode TnTrainCreate(TnNet net, TnDyn dyn, TnData data, TnTrain *tr);
/* Setters may be called after SetUp. The optimiser, the moments' precision
   and -train_keep_best decide what SetUp allocates: changing one before the
   first step makes SetUp run again; after a step (or a checkpoint load) it
   is refused (PETSC_ERR_ORDER), since the moments and best parameters would
   be lost. The budget is recomputed; the others apply from the next step. */
PetscErrorCode TnTrainSetOptimizer(TnTrain tr, TnOptimizer opt);
/* The rule (before the first step); the local rule object it drives
   (borrowed: set its options with TnRuleSet*, or -rule_*). */
PetscErrorCode TnTrainSetRule(TnTrain tr, TnTrainRule rule);
PetscErrorCode TnTrainGetRule(TnTrain tr, TnTrainRule *rule, TnRule *local);
/* Why the run stopped when its status is TN_TRAIN_RUNAWAY ("" otherwise). */
PetscErrorCode TnTrainGetStopReason(TnTrain tr, const char **why);
PetscErrorCode TnTrainSetLearningRate(TnTrain tr, PetscReal lr);
PetscErrorCode TnTrainSetAdam(TnTrain tr, PetscReal beta1, PetscReal beta2, PetscReal eps);
PetscErrorCode TnTrainSetMomentum(TnTrain tr, PetscReal mu);
/* Adam's / SGD's moments stored in single precision (the update itself is
   computed in double from the stored values): 8 bytes per parameter less.
   Before the first step; -train_moments_single. */
PetscErrorCode TnTrainSetSingleMoments(TnTrain tr, PetscBool single);
/* lr(s) = lr0 (constant); lr0 (min + (1 - min)(1 + cos(pi s / S))/2) (cosine over
   the budget S); lr0 decay^floor(s / every) (step). */
PetscErrorCode TnTrainSetSchedule(TnTrain tr, TnSchedule sched, PetscReal decay, PetscInt every, PetscReal minfrac);
/* Budget: `steps` updates if > 0, else `epochs` passes over the training part. */
PetscErrorCode TnTrainSetBudget(TnTrain tr, PetscInt epochs, PetscInt steps);
/* Rescale the gradient to norm `clip` when it is larger (0: off). */
PetscErrorCode TnTrainSetClip(TnTrain tr, PetscReal clip);
/* Validation every `every` steps (0: once per epoch); stop after `patience`
   evaluations without improvement (0: never). */
PetscErrorCode TnTrainSetValidation(TnTrain tr, PetscInt every, PetscInt patience);
PetscErrorCode TnTrainSetSeed(TnTrain tr, PetscInt seed);
/* Checkpoint to dir/ckpt.h5 every `every` steps (0: only on a signal). */
PetscErrorCode TnTrainSetCheckpoint(TnTrain tr, PetscInt every, const char dir[]);
/* Metrics (train_metrics.csv) and progress lines go to dir (NULL: no files). */
PetscErrorCode TnTrainSetOutputDir(TnTrain tr, const char dir[]);
/* Options with prefix -train_ (see -help) and -grad_. */
PetscErrorCode TnTrainSetFromOptions(TnTrain tr);
/* Sets up the gradient engine, theta and the optimiser state from the
   network's current parameters. Collective. */
PetscErrorCode TnTrainSetUp(TnTrain tr);

/* One update on the next minibatch. Collective. */
PetscErrorCode TnTrainStep(TnTrain tr);
/* Steps until the budget is used, early stopping, or a signal (after which a
   checkpoint is written); validation, metrics, progress and periodic
   checkpoints on the way. With keep-best (-train_keep_best, the default when
   a validation part exists) the best validated parameters are restored at
   the end. Collective. */
PetscErrorCode TnTrainRun(TnTrain tr);
/* Mean loss (nats per sample) of the current parameters over a part of the
   data; *n = samples. Collective. */
PetscErrorCode TnTrainEvaluate(TnTrain tr, TnDataPart part, PetscReal *loss, PetscInt *n);
/* Held-out loss of the factorised Gaussian baseline: per-node mean and
   variance fitted to the training part, NLL averaged over `part`. */
PetscErrorCode TnTrainIndependentBaseline(TnTrain tr, TnDataPart part, PetscReal *nll);
PetscErrorCode TnTrainGetInfo(TnTrain tr, TnTrainInfo *info);
/* Reference figures for a loss L (nats per sample) on the validation part:
   the exact entropy H (known = PETSC_FALSE: none), the factorised baseline's
   NLL (PETSC_MAX_REAL without a validation part), the gap per dimension
   (L - H)/N and the learning-quality ratio (NLL_indep - L)/(NLL_indep - H)
   (PETSC_MAX_REAL when undefined). */
PetscErrorCode TnTrainGetReference(TnTrain tr, PetscReal L, PetscReal *H, PetscBool *known, PetscReal *nll_indep, PetscReal *gap_per_dim, PetscReal *ratio);
/* Seconds spent in steps and samples trained on, in this process's run. */
/* The same ratio against the exact mean -log p of the validation samples
   themselves (data with an exact density): (NLL_indep - L)/(NLL_indep -
   NLL_true); free of the validation set's sampling noise around H. */
PetscErrorCode TnTrainGetSameSampleRatio(TnTrain tr, PetscReal L, PetscReal *nll_true, PetscReal *ratio);
/* Losses, entropies and NLLs above are those of what the network sees: with
   -data_standardize, of z = (x - mean)/sd. shift = sum_i log sd_i turns each
   into the data's own space, -log p_x(x) = -log p_z(z) + shift (0 without
   standardisation; gaps and ratios are differences and do not change).
   Every figure tenor train prints or writes is shifted (docs/data.md). */
PetscErrorCode TnTrainGetDataShift(TnTrain tr, PetscReal *shift);
PetscErrorCode TnTrainGetRates(TnTrain tr, PetscLogDouble *seconds, PetscInt64 *samples);
/* theta (tenor/grad.h layout), borrowed; the parameters the net holds. */
PetscErrorCode TnTrainGetParams(TnTrain tr, Vec *theta);
PetscErrorCode TnTrainGetGrad(TnTrain tr, TnGrad *grad);

/* Checkpoint: parameters, moments, data position, counters, best loss.
   Written to path.tmp, fsync'ed and renamed. Loading checks that the
   network, dynamics, optimiser and data agree and says which does not.
   Collective. */
PetscErrorCode TnTrainWriteCheckpoint(TnTrain tr, const char path[]);
PetscErrorCode TnTrainLoadCheckpoint(TnTrain tr, const char path[]);
/* The model: theta with its pattern (row, col) and the dynamics' settings
   (and standardisation statistics if used): self-contained, see
   TnModelLoad. Collective. */
PetscErrorCode TnTrainSaveModel(TnTrain tr, const char path[]);
PetscErrorCode TnTrainView(TnTrain tr, PetscViewer viewer);
PetscErrorCode TnTrainDestroy(TnTrain *tr);

/* Signals: SIGTERM and SIGUSR1 set a flag that TnTrainRun checks on every
   step (collectively), then checkpoints and stops. */
PetscErrorCode TnTrainInstallSignalHandlers(void);
/* For tests: raise the flag as a signal would. */
void TnTrainRequestStop(void);

/* Model files (written by TnTrainSaveModel; docs/training.md). Before
   TnNetSetUp: the net takes W (from the stored pattern and values), b and
   gamma. Before TnDynSetUp: the dynamics take every stored setting (scheme,
   form, activation, h, K, base, log-det type, colouring seed and the clamp
   set); the options
   database is not consulted, so a caller that lets the command line override
   the model calls TnDynSetFromOptions afterwards. Before TnDataLoad: the
   model's preprocessing: dequantisation as in training, and the
   standardisation statistics if the model was trained on standardised data.
   Collective. */
PetscErrorCode TnModelLoadNet(MPI_Comm comm, const char path[], TnNet net);
PetscErrorCode TnModelConfigureDyn(MPI_Comm comm, const char path[], TnDyn dyn);
PetscErrorCode TnModelConfigureData(MPI_Comm comm, const char path[], TnData data);
/* The preprocessing stored in a model file: whether its training data were
   dequantised, and the standardisation z = (x - mean) / sd (Vecs of the
   default layout of N, checked finite with sd > 0; NULL, NULL when the data
   were not standardised; the caller destroys them). Collective. */
PetscErrorCode TnModelGetPreprocessing(MPI_Comm comm, const char path[], PetscBool *dequantized, Vec *mean, Vec *sd);
/* The classes of a model trained with labels (docs/predict.md): C label
   nodes, the last C of the network (0: none), and the class priors
   prior[C] (replicated, PetscMalloc'd; NULL when C = 0), checked: every
   prior in (0, 1], their sum 1, the label nodes in the stored clamp set.
   TnModelConfigureDyn also sets the stored clamp set (none: no clamp) and
   TnModelConfigureData the classes. Collective. */
PetscErrorCode TnModelGetClasses(MPI_Comm comm, const char path[], PetscInt *C, PetscReal **prior);
/* A per-class model (tenor train -data_class c): *c = its class (-1: not a
   per-class model), *C the number of classes and *prior = pi_c, checked
   (0 <= c < C, C >= 2, pi_c in (0, 1]). C and prior may be NULL.
   Collective. */
PetscErrorCode TnModelGetClassIndex(MPI_Comm comm, const char path[], PetscInt *c, PetscInt *C, PetscReal *prior);
