/* TnTrain: life cycle, setters, options and set-up. The optimiser state and
   the parameters live in theta's layout (tenor/grad.h). */
#include "trainimpl.h"
#include <string.h>

const char *const TnOptimizerTypes[]   = {"adam", "sgd", "TnOptimizer", "TN_OPT_", NULL};
const char *const TnScheduleTypes[]    = {"constant", "cosine", "step", "TnSchedule", "TN_SCHED_", NULL};
const char *const TnTrainStatusNames[] = {"running", "done", "early_stopped", "interrupted", "weights_running_away"};
const char *const TnTrainRuleTypes[]   = {"gradient", TNRULE_HEBB, TNRULE_OJA, "local", "TnTrainRule", "TN_TRAIN_RULE_", NULL};

PetscErrorCode TnTrainCreate(TnNet net, TnDyn dyn, TnData data, TnTrain *tr)
{
  TnTrain t;
  PetscFunctionBeginUser;
  PetscCall(PetscNew(&t));
  PetscCall(TnNetGetComm(net, &t->comm));
  t->net            = net;
  t->dyn            = dyn;
  t->data           = data;
  t->opt            = TN_OPT_ADAM;
  t->sched          = TN_SCHED_CONSTANT;
  t->lr0            = 1e-2;
  t->beta1          = 0.9;
  t->beta2          = 0.999;
  t->eps            = 1e-8;
  t->mu             = 0.9;
  t->decay          = 0.1;
  t->every_decay    = 1000;
  t->minfrac        = 0.0;
  t->epochs         = 10;
  t->patience       = 0;
  t->seed           = 1;
  t->max_shrink     = 20;
  t->keep_best      = PETSC_TRUE;
  t->progress_every = 5.0;
  PetscCall(TnGradCreate(dyn, &t->grad));
  PetscCall(TnRuleCreate(net, &t->rule));
  *tr = t;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode TnTrainReset(TnTrain tr)
{
  PetscFunctionBeginUser;
  if (!tr->setup) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(VecDestroy(&tr->theta));
  PetscCall(VecDestroy(&tr->m));
  PetscCall(VecDestroy(&tr->v));
  PetscCall(VecDestroy(&tr->g));
  PetscCall(VecDestroy(&tr->best));
  PetscCall(PetscFree(tr->mf));
  PetscCall(PetscFree(tr->vf));
  PetscCall(VecDestroy(&tr->xnat));
  PetscCall(VecDestroy(&tr->x));
  PetscCall(VecDestroy(&tr->ract));
  PetscCall(VecDestroy(&tr->xwork));
  PetscCall(PetscFree(tr->fnat));
  PetscCall(TnDynResultDestroy(&tr->res));
  PetscCall(TnCanonDestroy(&tr->canon));
  tr->setup = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainDestroy(TnTrain *tr)
{
  PetscFunctionBeginUser;
  if (!*tr) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnTrainReset(*tr));
  PetscCall(TnTrainMetricsClose(*tr));
  PetscCall(TnGradDestroy(&(*tr)->grad));
  PetscCall(TnRuleDestroy(&(*tr)->rule));
  PetscCall(PetscFree(*tr));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Training has state that only the steps taken can rebuild: the
   optimiser's moments m, v, the best validated parameters and the best loss
   (and, after TnTrainLoadCheckpoint, all of these as loaded). */
static PetscBool HasProgress(TnTrain tr)
{
  return (PetscBool)(tr->info.step > 0 || tr->restarted);
}

/* A setting that decides what SetUp built (which moment vectors exist, their
   precision, the best-parameter copy) changes: before the first step, the
   set-up is dropped and SetUp runs again on next use; after it, that would
   zero the moments and forget the best parameters mid-run, so it is refused
   (a new trainer on the same net starts from the current parameters). */
static PetscErrorCode Invalidate(TnTrain tr, const char what[])
{
  PetscFunctionBeginUser;
  PetscCheck(!HasProgress(tr), tr->comm, PETSC_ERR_ORDER, "cannot change %s after %" PetscInt64_FMT " training step(s)%s: the optimiser's moments and the best validated parameters would be lost; set it before the first step, or create a new trainer (it starts from the net's current parameters)", what, tr->info.step, tr->restarted ? " and a checkpoint load" : "");
  PetscCall(TnTrainReset(tr));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Which vectors SetUp allocates depends on the optimiser (v: Adam only). */
PetscErrorCode TnTrainSetOptimizer(TnTrain tr, TnOptimizer opt)
{
  PetscFunctionBeginUser;
  if (opt == tr->opt) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(Invalidate(tr, "the optimiser (TnTrainSetOptimizer, -train_optimizer)"));
  tr->opt = opt;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The rule decides what a step does and what a checkpoint holds: it is
   chosen before the first step. */
PetscErrorCode TnTrainSetRule(TnTrain tr, TnTrainRule rule)
{
  PetscFunctionBeginUser;
  PetscCheck(rule >= 0 && rule < TN_TRAIN_NRULES, tr->comm, PETSC_ERR_ARG_OUTOFRANGE, "TnTrainSetRule: unknown rule %d", (int)rule);
  if (rule == tr->rule_kind) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCheck(!HasProgress(tr), tr->comm, PETSC_ERR_ORDER, "cannot change the rule (-train_rule) after %" PetscInt64_FMT " training step(s)%s: set it before the first step", tr->info.step, tr->restarted ? " and a checkpoint load" : "");
  if (TnTrainRuleUsesTnRule(rule)) PetscCall(TnRuleSetType(tr->rule, TnTrainRuleTypes[rule]));
  tr->rule_kind = rule;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainGetRule(TnTrain tr, TnTrainRule *rule, TnRule *local)
{
  PetscFunctionBeginUser;
  if (rule) *rule = tr->rule_kind;
  if (local) *local = tr->rule;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainGetStopReason(TnTrain tr, const char **why)
{
  PetscFunctionBeginUser;
  *why = tr->stop_why;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* -train_rule, then (for a local rule, and in the options pass for -help)
   the rule's own -rule_* options; -rule_type may only repeat -train_rule. */
static PetscErrorCode RuleOptions(TnTrain tr, TnTrainRule rule)
{
  const char *type;
  PetscFunctionBeginUser;
  PetscCall(TnTrainSetRule(tr, rule));
  if (!TnTrainRuleUsesTnRule(rule) && !TnOptionsDeclaring()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnRuleSetFromOptions(tr->rule));
  PetscCall(TnRuleGetType(tr->rule, &type));
  PetscCheck(!TnTrainRuleUsesTnRule(rule) || !strcmp(type, TnTrainRuleTypes[rule]), tr->comm, PETSC_ERR_USER, "-rule_type %s contradicts -train_rule %s: tenor train takes the rule from -train_rule alone", type, TnTrainRuleTypes[rule]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The settings below are read at every step: they take effect at the next
   one, and are checked here because SetUp, which checks the options
   database's values, may have run already. */
PetscErrorCode TnTrainSetLearningRate(TnTrain tr, PetscReal lr)
{
  PetscFunctionBeginUser;
  PetscCheck(lr > 0, tr->comm, PETSC_ERR_ARG_OUTOFRANGE, "TnTrainSetLearningRate: the learning rate must be > 0 (got %g)", (double)lr);
  tr->lr0 = lr;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainSetAdam(TnTrain tr, PetscReal beta1, PetscReal beta2, PetscReal eps)
{
  PetscFunctionBeginUser;
  PetscCheck(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0, tr->comm, PETSC_ERR_ARG_OUTOFRANGE, "TnTrainSetAdam: beta1 and beta2 must be in [0, 1) and eps > 0 (got %g, %g, %g)", (double)beta1, (double)beta2, (double)eps);
  tr->beta1 = beta1;
  tr->beta2 = beta2;
  tr->eps   = eps;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The moments' storage (double Vecs or float arrays) is allocated by SetUp. */
PetscErrorCode TnTrainSetSingleMoments(TnTrain tr, PetscBool single)
{
  PetscFunctionBeginUser;
  if (single == tr->single) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(Invalidate(tr, "the moments' precision (TnTrainSetSingleMoments, -train_moments_single)"));
  tr->single = single;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The best-parameter copy is allocated by SetUp (no setter: -train_keep_best). */
static PetscErrorCode SetKeepBest(TnTrain tr, PetscBool keep)
{
  PetscFunctionBeginUser;
  if (keep == tr->keep_best) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(Invalidate(tr, "-train_keep_best"));
  tr->keep_best = keep;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainSetMomentum(TnTrain tr, PetscReal mu)
{
  PetscFunctionBeginUser;
  PetscCheck(mu >= 0 && mu < 1, tr->comm, PETSC_ERR_ARG_OUTOFRANGE, "TnTrainSetMomentum: mu must be in [0, 1) (got %g)", (double)mu);
  tr->mu = mu;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainSetSchedule(TnTrain tr, TnSchedule sched, PetscReal decay, PetscInt every, PetscReal minfrac)
{
  PetscFunctionBeginUser;
  PetscCheck(sched != TN_SCHED_STEP || (every > 0 && decay > 0), tr->comm, PETSC_ERR_ARG_OUTOFRANGE, "TnTrainSetSchedule: the step schedule needs every > 0 and decay > 0");
  tr->sched       = sched;
  tr->decay       = decay;
  tr->every_decay = every;
  tr->minfrac     = minfrac;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The step budget, which SetUp derives from -train_steps / -train_epochs. */
static void Budget(TnTrain tr)
{
  tr->info.total = tr->steps > 0 ? tr->steps : (PetscInt64)tr->epochs * tr->info.nbatch;
}

/* SetUp's budget is recomputed (nothing else depends on it): a run may be
   lengthened or shortened at any time; the cosine schedule follows. */
PetscErrorCode TnTrainSetBudget(TnTrain tr, PetscInt epochs, PetscInt steps)
{
  PetscFunctionBeginUser;
  PetscCheck(epochs >= 0 && steps >= 0 && (epochs > 0 || steps > 0), tr->comm, PETSC_ERR_ARG_OUTOFRANGE, "TnTrainSetBudget: give epochs or steps > 0, neither negative (got %" PetscInt_FMT ", %" PetscInt_FMT ")", epochs, steps);
  tr->epochs = epochs;
  tr->steps  = steps;
  if (tr->setup) Budget(tr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainSetClip(TnTrain tr, PetscReal clip)
{
  PetscFunctionBeginUser;
  PetscCheck(clip >= 0, tr->comm, PETSC_ERR_ARG_OUTOFRANGE, "TnTrainSetClip: clip must be >= 0 (0: off; got %g)", (double)clip);
  tr->clip = clip;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainSetValidation(TnTrain tr, PetscInt every, PetscInt patience)
{
  PetscFunctionBeginUser;
  PetscCheck(every >= 0 && patience >= 0, tr->comm, PETSC_ERR_ARG_OUTOFRANGE, "TnTrainSetValidation: every and patience must be >= 0");
  tr->valid_every = every;
  tr->patience    = patience;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The current epoch was shuffled with the old seed: it is shuffled again
   with the new one at the next step, so that step s always takes its batch
   from TnDataShuffle(data, epoch, seed) (and a restart replays it). */
PetscErrorCode TnTrainSetSeed(TnTrain tr, PetscInt seed)
{
  PetscFunctionBeginUser;
  if (seed != tr->seed) tr->shuffled = PETSC_FALSE;
  tr->seed = seed;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Read by TnTrainRun at every step. */
PetscErrorCode TnTrainSetCheckpoint(TnTrain tr, PetscInt every, const char dir[])
{
  PetscFunctionBeginUser;
  PetscCheck(every >= 0, tr->comm, PETSC_ERR_ARG_OUTOFRANGE, "TnTrainSetCheckpoint: every must be >= 0 (0: only on a signal)");
  tr->ckpt_every = every;
  PetscCall(PetscStrncpy(tr->ckpt_dir, dir ? dir : "", sizeof(tr->ckpt_dir)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The metrics file is opened by TnTrainRun: one open in another directory is
   closed, and the next run opens the new one. */
PetscErrorCode TnTrainSetOutputDir(TnTrain tr, const char dir[])
{
  PetscBool same;
  PetscFunctionBeginUser;
  PetscCall(PetscStrcmp(tr->out_dir, dir ? dir : "", &same));
  if (!same) PetscCall(TnTrainMetricsClose(tr));
  PetscCall(PetscStrncpy(tr->out_dir, dir ? dir : "", sizeof(tr->out_dir)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CheckSettings(TnTrain tr)
{
  PetscFunctionBeginUser;
  PetscCheck(tr->lr0 > 0, tr->comm, PETSC_ERR_USER, "-train_lr must be > 0 (got %g)", (double)tr->lr0);
  PetscCheck(tr->beta1 >= 0 && tr->beta1 < 1 && tr->beta2 >= 0 && tr->beta2 < 1, tr->comm, PETSC_ERR_USER, "-train_beta1 and -train_beta2 must be in [0, 1) (got %g, %g)", (double)tr->beta1, (double)tr->beta2);
  PetscCheck(tr->eps > 0, tr->comm, PETSC_ERR_USER, "-train_eps must be > 0");
  PetscCheck(tr->mu >= 0 && tr->mu < 1, tr->comm, PETSC_ERR_USER, "-train_momentum must be in [0, 1) (got %g)", (double)tr->mu);
  PetscCheck(tr->steps > 0 || tr->epochs > 0, tr->comm, PETSC_ERR_USER, "give -train_steps or -train_epochs > 0");
  PetscCheck(tr->steps >= 0 && tr->epochs >= 0 && tr->valid_every >= 0 && tr->patience >= 0 && tr->ckpt_every >= 0 && tr->max_shrink >= 0, tr->comm, PETSC_ERR_USER, "-train_steps, -train_epochs, -train_valid_every, -train_patience, -train_ckpt_every and -train_max_shrink must be >= 0");
  PetscCheck(tr->clip >= 0, tr->comm, PETSC_ERR_USER, "-train_clip must be >= 0 (0: off)");
  PetscCheck(tr->sched != TN_SCHED_STEP || (tr->every_decay > 0 && tr->decay > 0), tr->comm, PETSC_ERR_USER, "the step schedule needs -train_lr_every > 0 and -train_lr_decay > 0");
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode OptimizerOptions(PetscOptionItems *PetscOptionsObject, TnTrain tr)
{
  PetscInt  o = (PetscInt)tr->opt, s = (PetscInt)tr->sched;
  PetscBool single = tr->single;
  PetscFunctionBeginUser;
  PetscCall(TnOptionsChoice("-optimizer", "Optimiser", "TnTrainSetOptimizer", TnOptimizerTypes, 2, &o, NULL));
  PetscCall(TnOptionsReal("-lr", "Learning rate", "TnTrainSetLearningRate", tr->lr0, &tr->lr0, NULL, 0, PETSC_MAX_REAL));
  PetscCall(TnOptionsReal("-beta1", "Adam: decay of the first moment", "TnTrainSetAdam", tr->beta1, &tr->beta1, NULL, 0, 1));
  PetscCall(TnOptionsReal("-beta2", "Adam: decay of the second moment", "TnTrainSetAdam", tr->beta2, &tr->beta2, NULL, 0, 1));
  PetscCall(TnOptionsReal("-eps", "Adam: epsilon in m / (sqrt(v) + eps)", "TnTrainSetAdam", tr->eps, &tr->eps, NULL, 0, PETSC_MAX_REAL));
  PetscCall(TnOptionsReal("-momentum", "SGD: momentum mu in m <- mu m + g", "TnTrainSetMomentum", tr->mu, &tr->mu, NULL, 0, 1));
  PetscCall(TnOptionsBool("-moments_single", "Keep the optimiser's moments m, v in single precision (8 bytes per parameter less; the update is computed in double)", "TnTrainSetSingleMoments", single, &single, NULL));
  PetscCall(TnOptionsChoice("-schedule", "Learning-rate schedule", "TnTrainSetSchedule", TnScheduleTypes, 3, &s, NULL));
  PetscCall(TnOptionsReal("-lr_decay", "step schedule: factor per -train_lr_every steps", "TnTrainSetSchedule", tr->decay, &tr->decay, NULL, 0, PETSC_MAX_REAL));
  PetscCall(TnOptionsInt("-lr_every", "step schedule: steps between decays", "TnTrainSetSchedule", tr->every_decay, &tr->every_decay, NULL, 0, PETSC_MAX_INT));
  PetscCall(TnOptionsReal("-lr_min", "cosine schedule: final learning rate as a fraction of -train_lr", "TnTrainSetSchedule", tr->minfrac, &tr->minfrac, NULL, 0, 1));
  PetscCall(TnOptionsReal("-clip", "Gradient-norm clipping threshold (0: off)", "TnTrainSetClip", tr->clip, &tr->clip, NULL, 0, PETSC_MAX_REAL));
  PetscCall(TnTrainSetOptimizer(tr, (TnOptimizer)o));
  PetscCall(TnTrainSetSingleMoments(tr, single));
  tr->sched = (TnSchedule)s;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The settings that decide what SetUp built go through their setters (so a
   change resets the set-up, or is refused once training has progressed);
   after SetUp the others are checked here. */
PetscErrorCode TnTrainSetFromOptions(TnTrain tr)
{
  PetscInt  epochs = tr->epochs, steps = tr->steps, seed = tr->seed, rule = (PetscInt)tr->rule_kind;
  PetscBool keep = tr->keep_best;
  PetscFunctionBeginUser;
  PetscCall(TnGradSetFromOptions(tr->grad));
  PetscOptionsBegin(tr->comm, "train_", "Training (docs/training.md)", "TnTrain");
  PetscCall(TnOptionsChoice("-rule", "What makes the step: gradient (exact gradient, Adam/SGD), local (each node's own loss terms by eligibility traces, Adam/SGD; docs/gradient.md) or a local rule on W, hebb or oja (-rule_*, docs/rules.md)", "TnTrainSetRule", TnTrainRuleTypes, TN_TRAIN_NRULES, &rule, NULL));
  PetscCall(OptimizerOptions(PetscOptionsObject, tr));
  PetscCall(TnOptionsInt("-epochs", "Passes over the training part (when -train_steps is 0)", "TnTrainSetBudget", epochs, &epochs, NULL, 0, PETSC_MAX_INT));
  PetscCall(TnOptionsInt("-steps", "Number of updates (0: use -train_epochs)", "TnTrainSetBudget", steps, &steps, NULL, 0, PETSC_MAX_INT));
  PetscCall(TnOptionsInt("-valid_every", "Validate every this many steps (0: each epoch)", "TnTrainSetValidation", tr->valid_every, &tr->valid_every, NULL, 0, PETSC_MAX_INT));
  PetscCall(TnOptionsInt("-patience", "Early stopping: validations without improvement (0: off)", "TnTrainSetValidation", tr->patience, &tr->patience, NULL, 0, PETSC_MAX_INT));
  PetscCall(TnOptionsBool("-keep_best", "Keep (one more parameter-sized vector) and restore at the end the best validated parameters", "TnTrainRun", keep, &keep, NULL));
  PetscCall(TnOptionsInt("-seed", "Seed of the minibatch shuffle", "TnTrainSetSeed", seed, &seed, NULL, PETSC_MIN_INT, PETSC_MAX_INT));
  PetscCall(TnOptionsInt("-max_shrink", "Halvings of a step that would break invertibility before it is skipped", "TnTrainRun", tr->max_shrink, &tr->max_shrink, NULL, 0, PETSC_MAX_INT));
  PetscCall(TnOptionsInt("-ckpt_every", "Checkpoint every this many steps (0: only on SIGTERM/SIGUSR1)", "TnTrainSetCheckpoint", tr->ckpt_every, &tr->ckpt_every, NULL, 0, PETSC_MAX_INT));
  PetscCall(PetscOptionsString("-ckpt_dir", "Checkpoint directory (default: the output directory)", "TnTrainSetCheckpoint", tr->ckpt_dir, tr->ckpt_dir, sizeof(tr->ckpt_dir), NULL));
  PetscCall(TnOptionsReal("-progress_every", "Seconds between progress lines", "TnTrainRun", tr->progress_every, &tr->progress_every, NULL, 0, PETSC_MAX_REAL));
  PetscOptionsEnd();
  PetscCall(RuleOptions(tr, (TnTrainRule)rule));
  PetscCall(SetKeepBest(tr, keep));
  PetscCall(TnTrainSetSeed(tr, seed));
  tr->epochs = epochs;
  tr->steps  = steps;
  if (tr->setup) {
    PetscCall(CheckSettings(tr));
    Budget(tr);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* theta is the network's own storage; the gradient, the moments (m; v for
   Adam only; in double, or in single precision with -train_moments_single)
   and, with -train_keep_best, the best parameters are theta-sized. */
static PetscErrorCode CreateVecs(TnTrain tr)
{
  const PetscBool adam = (PetscBool)(tr->opt == TN_OPT_ADAM);
  PetscInt        nl;
  PetscFunctionBeginUser;
  PetscCall(TnGradGetParamVec(tr->grad, &tr->theta)); /* no copy */
  PetscCall(VecGetLocalSize(tr->theta, &nl));
  PetscCall(TnGradCreateParamVec(tr->grad, &tr->g));
  PetscCall(VecSet(tr->g, 0.0));
  if (tr->keep_best) PetscCall(TnGradCreateParamVec(tr->grad, &tr->best));
  if (tr->single) {
    PetscCall(PetscCalloc1(nl + 1, &tr->mf));
    if (adam) PetscCall(PetscCalloc1(nl + 1, &tr->vf));
  } else {
    PetscCall(TnGradCreateParamVec(tr->grad, &tr->m));
    PetscCall(VecSet(tr->m, 0.0));
    if (adam) {
      PetscCall(TnGradCreateParamVec(tr->grad, &tr->v));
      PetscCall(VecSet(tr->v, 0.0));
    }
  }
  PetscCall(TnDynCreateNaturalState(tr->dyn, &tr->xnat));
  PetscCall(TnDynCreateState(tr->dyn, &tr->x));
  PetscCall(TnDynResultCreate(tr->dyn, &tr->res));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* nll_true = mean exact -log p of the validation samples (with a clamp set
   -log p(t | x)), when the data have an exact density: the reference on the
   very samples the model is scored on, so that a ratio against it is free
   of the validation set's sampling noise around H (docs/training.md). */
static PetscErrorCode ExactValidLoss(TnTrain tr)
{
  PetscReal lp[64], sum = 0;
  PetscBool known = PETSC_FALSE;
  PetscFunctionBeginUser;
  tr->nll_true = PETSC_MAX_REAL;
  if (tr->Svalid == 0) PetscFunctionReturn(PETSC_SUCCESS);
  for (PetscInt s0 = 0; s0 < tr->Svalid; s0 += 64) {
    if (tr->fnat)
      PetscCall(TnDataExactConditionalLogDensity(tr->data, TN_DATA_VALID, s0, 64, lp, &known));
    else
      PetscCall(TnDataExactLogDensity(tr->data, TN_DATA_VALID, s0, 64, lp, &known));
    if (!known) PetscFunctionReturn(PETSC_SUCCESS);
    for (PetscInt b = 0; b < 64 && s0 + b < tr->Svalid; b++) sum -= lp[b];
  }
  tr->nll_true = sum / tr->Svalid;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A clamp set (docs/conditional.md): the loss is -log Phi(t | x), so the
   references are the conditional ones: H(t | x) and -log p(t | x) of the
   data (TnDataSetConditioning; the factor is dropped once they are
   computed) and the factorised baseline over the free nodes. fnat: the
   free mask moved from the partitioned rows to xnat's natural ones. */
static PetscErrorCode Conditioning(TnTrain tr)
{
  const PetscReal *fm;
  PetscInt         nclamp, m, n, rstart, nc = 0, *idx;
  PetscScalar     *a;
  IS               is;
  PetscFunctionBeginUser;
  PetscCall(TnDynGetClamp(tr->dyn, &nclamp, &tr->Nf, &fm));
  if (!nclamp) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(VecGetLocalSize(tr->x, &m));
  PetscCall(VecGetArrayWrite(tr->x, &a));
  for (PetscInt i = 0; i < m / tr->B; i++)
    for (PetscInt b = 0; b < tr->B; b++) a[(size_t)i * tr->B + b] = fm[i];
  PetscCall(VecRestoreArrayWrite(tr->x, &a));
  PetscCall(TnDynNaturalToState(tr->dyn, tr->xnat, tr->x, SCATTER_REVERSE));
  PetscCall(VecGetLocalSize(tr->xnat, &n));
  PetscCall(VecGetOwnershipRange(tr->xnat, &rstart, NULL));
  n /= tr->B;
  rstart /= tr->B;
  PetscCall(PetscMalloc1(n + 1, &tr->fnat));
  PetscCall(PetscMalloc1(n + 1, &idx));
  PetscCall(VecGetArray(tr->xnat, &a));
  for (PetscInt i = 0; i < n; i++) {
    tr->fnat[i] = PetscRealPart(a[(size_t)i * tr->B]);
    if (tr->fnat[i] == 0) idx[nc++] = rstart + i;
  }
  PetscCall(VecRestoreArray(tr->xnat, &a));
  PetscCall(ISCreateGeneral(tr->comm, nc, idx, PETSC_OWN_POINTER, &is));
  PetscCall(TnDataSetConditioning(tr->data, is));
  PetscCall(ISDestroy(&is));
  PetscCall(TnDataExactConditionalEntropy(tr->data, &tr->H, &tr->Hknown));
  PetscCall(ExactValidLoss(tr));
  PetscCall(TnDataSetConditioning(tr->data, NULL));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* What each rule needs, and only that (docs/training.md, "Rules"):
   gradient: the reverse mode and its trajectory (TnGradSetUp); local: the
   eligibility traces (TnDynLocalSetUp; no trajectory); hebb and oja:
   nothing (the update reads W and the activities). The two gradient rules
   differentiate the local log-det terms, so they refuse a global
   -logdet_type; hebb and oja take none's gradient, and the loss they report
   is TnDynEvaluate's with whichever method is chosen. */
static PetscErrorCode RuleSetUp(TnTrain tr)
{
  TnLogDetType ldt;
  PetscFunctionBeginUser;
  PetscCall(TnDynGetLoss(tr->dyn, &ldt, NULL));
  PetscCheck(TnTrainRuleUsesTnRule(tr->rule_kind) || TnLogDetIsLocal(ldt), tr->comm, PETSC_ERR_USER, "-train_rule %s differentiates the local log-det terms (diag, trace), and -logdet_type %s is global: use -logdet_type diag or trace (diag is exact for the colored scheme), or a rule that takes no gradient of the log-det (-train_rule hebb or oja, which report their loss with any -logdet_type)", TnTrainRuleTypes[tr->rule_kind], TnLogDetTypes[ldt]);
  switch (tr->rule_kind) {
  case TN_TRAIN_RULE_GRADIENT:
    PetscCall(TnGradSetUp(tr->grad));
    break;
  case TN_TRAIN_RULE_LOCAL:
    PetscCall(TnDynLocalSetUp(tr->dyn, 0, NULL)); /* the scheme has it; the traces fit */
    break;
  case TN_TRAIN_RULE_HEBB:
  case TN_TRAIN_RULE_OJA:
    break;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainSetUp(TnTrain tr)
{
  PetscInt S;
  PetscFunctionBeginUser;
  if (tr->setup) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(CheckSettings(tr));
  PetscCall(RuleSetUp(tr));
  PetscCall(TnNetGetSizes(tr->net, &tr->N, &tr->nnz));
  PetscCall(TnDynGetParams(tr->dyn, NULL, NULL, NULL, NULL, &tr->K, &tr->B));
  PetscCall(TnDataGetNumSamples(tr->data, &S));
  PetscCall(TnDataGetPartSizes(tr->data, &tr->Strain, &tr->Svalid));
  PetscCheck(tr->Strain > 0, tr->comm, PETSC_ERR_USER, "no training samples: %" PetscInt_FMT " samples, all held out (lower -data_valid_fraction)", S);
  PetscCall(TnDataExactEntropy(tr->data, &tr->H, &tr->Hknown));
  PetscCall(CreateVecs(tr));
  tr->setup = PETSC_TRUE;
  /* theta from the net, then written back, so gamma = e^u from the start
     exactly as after a restart */
  PetscCall(TnGradGetParams(tr->grad, tr->theta));
  PetscCall(TnGradSetParams(tr->grad, tr->theta));
  if (tr->best) PetscCall(VecCopy(tr->theta, tr->best));
  tr->info.nbatch = (tr->Strain + tr->B - 1) / tr->B;
  Budget(tr);
  tr->info.valid_loss = PETSC_MAX_REAL;
  tr->info.best_valid = PETSC_MAX_REAL;
  tr->info.best_step  = -1;
  tr->info.status     = TN_TRAIN_RUNNING;
  tr->nll_indep       = PETSC_MAX_REAL;
  tr->Nf              = tr->N;
  PetscCall(Conditioning(tr));
  if (!tr->fnat) PetscCall(ExactValidLoss(tr));
  if (tr->Svalid > 0) PetscCall(TnTrainIndependentBaseline(tr, TN_DATA_VALID, &tr->nll_indep));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainGetInfo(TnTrain tr, TnTrainInfo *info)
{
  PetscFunctionBeginUser;
  *info = tr->info;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainGetParams(TnTrain tr, Vec *theta)
{
  PetscFunctionBeginUser;
  PetscCall(TnTrainSetUp(tr));
  *theta = tr->theta;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainGetGrad(TnTrain tr, TnGrad *grad)
{
  PetscFunctionBeginUser;
  *grad = tr->grad;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainView(TnTrain tr, PetscViewer viewer)
{
  PetscFunctionBeginUser;
  PetscCall(TnTrainSetUp(tr));
  if (TnTrainRuleUsesTnRule(tr->rule_kind)) { /* the optimiser's settings do not apply */
    PetscCall(PetscViewerASCIIPrintf(viewer, "training by the local "));
    PetscCall(TnRuleView(tr->rule, viewer));
    PetscCall(PetscViewerASCIIPrintf(viewer, "  W only (b and gamma stay as they are), every update through the invertibility check"));
  } else {
    PetscCall(PetscViewerASCIIPrintf(viewer, "%s: %s, lr %g (%s schedule)", tr->rule_kind == TN_TRAIN_RULE_LOCAL ? "training by the local rule (each node's own loss terms, eligibility traces; docs/gradient.md)" : "training", TnOptimizerTypes[tr->opt], (double)tr->lr0, TnScheduleTypes[tr->sched]));
    if (tr->opt == TN_OPT_ADAM)
      PetscCall(PetscViewerASCIIPrintf(viewer, ", beta1 %g, beta2 %g, eps %g, moments in %s precision", (double)tr->beta1, (double)tr->beta2, (double)tr->eps, tr->single ? "single" : "double"));
    else
      PetscCall(PetscViewerASCIIPrintf(viewer, ", momentum %g", (double)tr->mu));
    if (tr->clip > 0) PetscCall(PetscViewerASCIIPrintf(viewer, ", clip %g", (double)tr->clip));
  }
  PetscCall(PetscViewerASCIIPrintf(viewer, "\n  %" PetscInt_FMT " training / %" PetscInt_FMT " validation samples, batch %" PetscInt_FMT ", %" PetscInt_FMT " batches per epoch, %" PetscInt64_FMT " steps; %" PetscInt64_FMT " parameters (%" PetscInt64_FMT " synapses + 2 N)\n", tr->Strain, tr->Svalid, tr->B, tr->info.nbatch, tr->info.total, tr->nnz + 2 * (PetscInt64)tr->N, tr->nnz));
  if (tr->Svalid > 0 && tr->Hknown) {
    PetscReal sh; /* in the data's own space */
    PetscCall(TnTrainGetDataShift(tr, &sh));
    PetscCall(PetscViewerASCIIPrintf(viewer, "  exact %s = %.8g nats (%.6g per dim); factorised-Gaussian baseline%s on the validation part %.8g nats\n", tr->fnat ? "conditional entropy H(t | x)" : "entropy H", (double)(tr->H + sh), (double)((tr->H + sh) / tr->Nf), tr->fnat ? " of t" : "", (double)(tr->nll_indep + sh)));
  }
  if (tr->rule_kind == TN_TRAIN_RULE_GRADIENT)
    PetscCall(TnGradView(tr->grad, viewer));
  else if (tr->rule_kind == TN_TRAIN_RULE_LOCAL) {
    PetscLogDouble bytes, sum;
    TnLocalStore   store;
    PetscCall(TnDynLocalSetUp(tr->dyn, 0, &bytes));
    PetscCall(MPIU_Allreduce(&bytes, &sum, 1, MPI_DOUBLE, MPI_SUM, tr->comm));
    PetscCall(TnDynGetLocalStore(tr->dyn, &store));
    if (store == TN_LOCAL_STORE_STATES)
      PetscCall(PetscViewerASCIIPrintf(viewer, "local rule: the forward pass's states recorded (%.3g MB over all ranks), the rule summed after its last step, node by node (-dyn_local_store traces: the eligibility traces instead)\n", sum / 1e6));
    else
      PetscCall(PetscViewerASCIIPrintf(viewer, "local rule: one forward pass carrying the eligibility traces (%.3g MB over all ranks), no trajectory, no backward pass\n", sum / 1e6));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
