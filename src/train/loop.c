/* The training loop: one update per minibatch, validation, early stopping,
   progress lines, metrics rows, periodic and signal-driven checkpoints.
   Everything that changes theta is a function of (theta, m, v, step, epoch,
   pos, the data and the options), all of which a checkpoint stores. */
#include "trainimpl.h"
#include <errno.h>
#include <string.h>

volatile sig_atomic_t TnTrainStopFlag = 0;

static void StopHandler(int sig)
{
  TnTrainStopFlag = sig;
}

PetscErrorCode TnTrainInstallSignalHandlers(void)
{
  struct sigaction sa;
  PetscFunctionBeginUser;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = StopHandler;
  sigemptyset(&sa.sa_mask);
  PetscCheck(!sigaction(SIGTERM, &sa, NULL) && !sigaction(SIGUSR1, &sa, NULL), PETSC_COMM_SELF, PETSC_ERR_SYS, "cannot install the SIGTERM/SIGUSR1 handlers: %s", strerror(errno));
  PetscFunctionReturn(PETSC_SUCCESS);
}

void TnTrainRequestStop(void)
{
  TnTrainStopFlag = SIGUSR1;
}

/* The training part in the order of the current epoch. */
static PetscErrorCode ShuffleFor(TnTrain tr, PetscInt64 epoch)
{
  PetscFunctionBeginUser;
  PetscCheck(epoch < PETSC_MAX_INT, tr->comm, PETSC_ERR_SUP, "epoch count overflow");
  PetscCall(TnDataShuffle(tr->data, (PetscInt)epoch, tr->seed));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* theta + alpha d (d in g), alpha halved until the bound holds (or the step
   is dropped after max_shrink halvings); the result written into the net. */
static PetscErrorCode ApplyStep(TnTrain tr)
{
  PetscReal          alpha = 1, value;
  PetscBool          ok;
  PetscInt           halvings = 0, n;
  PetscScalar       *th;
  const PetscScalar *d;
  TnDynBound         bnd;
  PetscFunctionBeginUser;
  PetscCall(VecGetArrayRead(tr->theta, (const PetscScalar **)&th));
  PetscCall(VecGetArrayRead(tr->g, &d));
  for (;;) {
    PetscCall(TnDynCheckBound(tr->dyn, th, d, alpha, &bnd));
    ok    = bnd.ok;
    value = bnd.value;
    if (ok) break;
    if (halvings == tr->max_shrink) break;
    alpha *= 0.5;
    halvings++;
  }
  PetscCall(VecRestoreArrayRead(tr->g, &d));
  PetscCall(VecRestoreArrayRead(tr->theta, (const PetscScalar **)&th));
  tr->info.halvings += halvings;
  if (!ok) {
    tr->info.skipped++;
    PetscCall(PetscInfo(NULL, "step %" PetscInt64_FMT " dropped: invertibility bound %g after %" PetscInt_FMT " halvings\n", tr->info.step, (double)value, halvings));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (halvings) tr->info.shrunk++;
  PetscCall(VecGetLocalSize(tr->theta, &n));
  PetscCall(VecGetArray(tr->theta, &th));
  PetscCall(VecGetArrayRead(tr->g, &d));
  for (PetscInt q = 0; q < n; q++) th[q] = TnParamTrial(th, d, alpha, q);
  PetscCall(VecRestoreArrayRead(tr->g, &d));
  PetscCall(VecRestoreArray(tr->theta, &th));
  PetscCall(TnGradSetParams(tr->grad, tr->theta));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The gradient rules: g <- dL/dtheta of the minibatch in x (gradient: the
   exact gradient by reverse mode; local: the local rule's, TnGradComputeLocal),
   clipped, then the optimiser's step (Adam or SGD) into g. */
static PetscErrorCode GradientDirection(TnTrain tr, PetscInt valid, PetscReal *loss, PetscReal *gnorm)
{
  PetscFunctionBeginUser;
  if (tr->rule_kind == TN_TRAIN_RULE_LOCAL)
    PetscCall(TnGradComputeLocal(tr->grad, tr->x, &tr->res, tr->g));
  else
    PetscCall(TnGradCompute(tr->grad, tr->x, &tr->res, tr->g));
  *loss = 0;
  for (PetscInt b = 0; b < valid; b++) *loss -= tr->res.logphi[b] / valid;
  PetscCall(VecNorm(tr->g, NORM_2, gnorm));
  PetscCheck(!PetscIsInfOrNanReal(*gnorm) && !PetscIsInfOrNanReal(*loss), tr->comm, PETSC_ERR_USER, "step %" PetscInt64_FMT ": the loss (%g) or its gradient (norm %g) is not finite: lower -train_lr, or clip the gradient with -train_clip", tr->info.step, (double)*loss, (double)*gnorm);
  if (tr->clip > 0 && *gnorm > tr->clip) PetscCall(VecScale(tr->g, tr->clip / *gnorm));
  tr->info.lr = TnTrainLearningRate(tr, tr->info.step);
  PetscCall(TnTrainDirection(tr, tr->info.lr));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static inline PetscReal Phi(TnAct act, PetscReal a)
{
  return act == TN_ACT_TANH ? PetscTanhReal(a) : a;
}

/* The local rule's activities of the minibatch in x (x is not changed):
   input: r = phi(x), block size B; evolved: r = phi(a_k) of the states
   a_1..a_K of the evolution of x, as K B pseudo-samples per node (entry
   i K B + b K + k), so that the rule's mean over them is the mean over k
   of each step's term, and the real ones, b < valid, come first (*n). */
static PetscErrorCode RuleActivity(TnTrain tr, PetscInt valid, PetscInt *n)
{
  TnRuleActivity     which;
  TnAct              act;
  PetscInt           m, B = tr->B, K = tr->K, bs;
  PetscScalar       *r;
  const PetscScalar *x;
  PetscFunctionBeginUser;
  PetscCall(TnRuleGetActivity(tr->rule, &which));
  PetscCall(TnDynGetParams(tr->dyn, NULL, NULL, &act, NULL, NULL, NULL));
  PetscCall(TnDynGetLocalSize(tr->dyn, &m));
  bs = which == TN_RULE_ACTIVITY_INPUT ? B : K * B;
  if (!tr->ract) PetscCall(TnVecCreateAligned(tr->comm, m * bs, bs, &tr->ract)); /* the rule gathers its rows: on whole cache lines */
  PetscCall(VecGetArrayWrite(tr->ract, &r));
  if (which == TN_RULE_ACTIVITY_INPUT) {
    PetscCall(VecGetArrayRead(tr->x, &x));
    for (PetscInt q = 0; q < m * B; q++) r[q] = Phi(act, x[q]);
    PetscCall(VecRestoreArrayRead(tr->x, &x));
    *n = valid;
  } else {
    PetscScalar *a;
    PetscReal   *ldet;
    if (!tr->xwork) PetscCall(VecDuplicate(tr->x, &tr->xwork));
    PetscCall(VecCopy(tr->x, tr->xwork));
    PetscCall(PetscCalloc1(B, &ldet));
    PetscCall(VecGetArray(tr->xwork, &a));
    for (PetscInt k = 0; k < K; k++) {
      PetscCall(TnDynStepArrays(tr->dyn, k, a, a, NULL, ldet));
      for (PetscInt i = 0; i < m; i++)
        for (PetscInt b = 0; b < B; b++) r[(size_t)i * bs + b * K + k] = Phi(act, a[(size_t)i * B + b]);
    }
    PetscCall(VecRestoreArray(tr->xwork, &a));
    PetscCall(PetscFree(ldet));
    *n = valid * K;
  }
  PetscCall(VecRestoreArrayWrite(tr->ract, &r));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A local rule: g <- its dW for the minibatch in x (zero for b and u), the
   step size from its schedule; the loss of the minibatch by TnDynEvaluate,
   as the gradient rule reports it. *n: the samples the update holds; *stop:
   the update would take the weights beyond the limit (not applied; the
   status and the message say so). */
static PetscErrorCode RuleDirection(TnTrain tr, PetscInt valid, PetscReal *loss, PetscReal *dnorm, PetscReal *wmax, PetscInt *n, PetscBool *stop)
{
  PetscFunctionBeginUser;
  PetscCall(RuleActivity(tr, valid, n));
  PetscCall(TnDynEvaluate(tr->dyn, tr->x, &tr->res)); /* x is a_K afterwards */
  *loss = 0;
  for (PetscInt b = 0; b < valid; b++) *loss -= tr->res.logphi[b] / valid;
  PetscCheck(!PetscIsInfOrNanReal(*loss), tr->comm, PETSC_ERR_USER, "step %" PetscInt64_FMT ": the loss of the minibatch (%g) is not finite: lower -rule_eta", tr->info.step, (double)*loss);
  PetscCall(TnRuleGetStepSize(tr->rule, *n, &tr->info.lr));
  PetscCall(TnRuleComputeUpdate(tr->rule, tr->ract, *n, tr->g));
  PetscCall(VecNorm(tr->g, NORM_2, dnorm));
  PetscCall(TnRuleCheckUpdate(tr->rule, tr->g, wmax, tr->stop_why, sizeof(tr->stop_why)));
  *stop = (PetscBool)(tr->stop_why[0] != 0);
  if (*stop) tr->info.status = TN_TRAIN_RUNAWAY;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainStep(TnTrain tr)
{
  PetscInt   valid, n = 0;
  PetscReal  loss = 0, gnorm = 0, wmax = 0;
  PetscInt64 skipped;
  PetscBool  stop = PETSC_FALSE;
  PetscFunctionBeginUser;
  PetscCall(TnTrainSetUp(tr));
  PetscCheck(tr->info.status != TN_TRAIN_RUNAWAY, tr->comm, PETSC_ERR_ORDER, "training stopped: %s", tr->stop_why);
  if (tr->info.pos == 0 || !tr->shuffled) PetscCall(ShuffleFor(tr, tr->info.epoch));
  tr->shuffled = PETSC_TRUE;
  PetscCall(TnDataGetBatchPart(tr->data, TN_DATA_TRAIN, (PetscInt)tr->info.pos * tr->B, tr->xnat, &valid));
  PetscCall(TnDynNaturalToState(tr->dyn, tr->xnat, tr->x, SCATTER_FORWARD));
  tr->res.nvalid = valid;
  tr->res.first  = (PetscInt)tr->info.pos * tr->B;
  switch (tr->rule_kind) {
  case TN_TRAIN_RULE_GRADIENT:
  case TN_TRAIN_RULE_LOCAL:
    PetscCall(GradientDirection(tr, valid, &loss, &gnorm));
    break;
  case TN_TRAIN_RULE_HEBB:
  case TN_TRAIN_RULE_OJA:
    PetscCall(RuleDirection(tr, valid, &loss, &gnorm, &wmax, &n, &stop));
    break;
  }
  if (stop) PetscFunctionReturn(PETSC_SUCCESS); /* the step is not taken: theta stays the last good state */
  skipped = tr->info.skipped;
  PetscCall(ApplyStep(tr));
  if (TnTrainRuleUsesTnRule(tr->rule_kind) && tr->info.skipped == skipped) PetscCall(TnRuleUpdateApplied(tr->rule, n, wmax));
  tr->info.gnorm      = gnorm;
  tr->info.batch_loss = loss;
  tr->loss_sum += loss;
  tr->loss_count++;
  tr->samples += valid;
  tr->info.step++;
  if (++tr->info.pos == tr->info.nbatch) {
    tr->info.pos = 0;
    tr->info.epoch++;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainEvaluate(TnTrain tr, TnDataPart part, PetscReal *loss, PetscInt *n)
{
  PetscInt  Strain, Svalid, S, valid;
  PetscReal sum = 0;
  PetscFunctionBeginUser;
  PetscCall(TnTrainSetUp(tr));
  PetscCall(TnDataGetPartSizes(tr->data, &Strain, &Svalid));
  if (part == TN_DATA_ALL)
    PetscCall(TnDataGetNumSamples(tr->data, &S));
  else
    S = part == TN_DATA_TRAIN ? Strain : Svalid;
  for (PetscInt s0 = 0; s0 < S; s0 += tr->B) {
    PetscCall(TnDataGetBatchPart(tr->data, part, s0, tr->xnat, &valid));
    PetscCall(TnDynNaturalToState(tr->dyn, tr->xnat, tr->x, SCATTER_FORWARD));
    tr->res.nvalid = valid;
    tr->res.first  = s0;
    PetscCall(TnDynEvaluate(tr->dyn, tr->x, &tr->res));
    for (PetscInt b = 0; b < valid; b++) sum -= tr->res.logphi[b];
  }
  *loss = S > 0 ? sum / S : PETSC_MAX_REAL;
  if (n) *n = S;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The factorised Gaussian N(mean_i, var_i) fitted to the training part:
   NLL(x) = sum_i [ log(2 pi var_i)/2 + (x_i - mean_i)^2 / (2 var_i) ], the
   sum over the free nodes with a clamp set (a factorised Gaussian of t that
   ignores x, docs/conditional.md). The sums run node by node over each
   node's contiguous samples (TnDataGetNodeSums), not batch by batch. */
PetscErrorCode TnTrainIndependentBaseline(TnTrain tr, TnDataPart part, PetscReal *nll)
{
  PetscReal *mean, *var, *sq, loc = 0;
  PetscInt   n, Strain, Svalid, S;
  PetscFunctionBeginUser;
  PetscCall(TnTrainSetUp(tr));
  PetscCall(TnDataGetPartSizes(tr->data, &Strain, &Svalid));
  if (part == TN_DATA_ALL)
    PetscCall(TnDataGetNumSamples(tr->data, &S));
  else
    S = part == TN_DATA_TRAIN ? Strain : Svalid;
  PetscCall(VecGetLocalSize(tr->xnat, &n));
  n /= tr->B;
  PetscCall(PetscCalloc3(n + 1, &mean, n + 1, &var, n + 1, &sq));
  PetscCall(TnDataGetNodeSums(tr->data, TN_DATA_TRAIN, NULL, mean));
  for (PetscInt i = 0; i < n; i++) mean[i] /= Strain;
  PetscCall(TnDataGetNodeSums(tr->data, TN_DATA_TRAIN, mean, var));
  for (PetscInt i = 0; i < n; i++) var[i] = var[i] > 0 ? var[i] / Strain : 1.0;
  PetscCall(TnDataGetNodeSums(tr->data, part, mean, sq));
  for (PetscInt i = 0; i < n; i++)
    if (!tr->fnat || tr->fnat[i] != 0) loc += 0.5 * PetscLogReal(2 * PETSC_PI * var[i]) + 0.5 * sq[i] / (S * var[i]); /* a clamped node is no variable of the density */
  PetscCall(MPIU_Allreduce(&loc, nll, 1, MPIU_REAL, MPIU_SUM, tr->comm));
  PetscCall(PetscFree3(mean, var, sq));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Validation: the loss on the held-out part; best parameters and patience. */
static PetscErrorCode Validate(TnTrain tr)
{
  PetscFunctionBeginUser;
  if (tr->Svalid == 0) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnTrainEvaluate(tr, TN_DATA_VALID, &tr->info.valid_loss, NULL));
  if (tr->info.valid_loss < tr->info.best_valid) {
    tr->info.best_valid = tr->info.valid_loss;
    tr->info.best_step  = tr->info.step;
    tr->bad_evals       = 0;
    if (tr->best) PetscCall(VecCopy(tr->theta, tr->best));
  } else
    tr->bad_evals++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CheckpointPath(TnTrain tr, char path[], size_t len)
{
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(path, len, "%s/ckpt.h5", tr->ckpt_dir[0] ? tr->ckpt_dir : (tr->out_dir[0] ? tr->out_dir : ".")));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Collective: did any rank receive SIGTERM or SIGUSR1? */
static PetscErrorCode StopRequested(TnTrain tr, int *sig)
{
  int mine = (int)TnTrainStopFlag;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(&mine, sig, 1, MPI_INT, MPI_MAX, tr->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscBool ValidationDue(TnTrain tr)
{
  if (tr->info.step == tr->info.total) return PETSC_TRUE;
  return tr->valid_every > 0 ? (PetscBool)(tr->info.step % tr->valid_every == 0) : (PetscBool)(tr->info.pos == 0);
}

PetscErrorCode TnTrainRun(TnTrain tr)
{
  char path[PETSC_MAX_PATH_LEN];
  int  sig;
  PetscFunctionBeginUser;
  PetscCall(TnTrainSetUp(tr));
  PetscCall(CheckpointPath(tr, path, sizeof(path)));
  PetscCall(TnTrainMetricsOpen(tr, tr->restarted));
  tr->t_last      = TnTime();
  tr->info.status = TN_TRAIN_RUNNING;
  while (tr->info.status == TN_TRAIN_RUNNING) {
    PetscLogDouble t0;
    PetscBool      due;
    if (tr->info.step >= tr->info.total) {
      tr->info.status = TN_TRAIN_DONE;
      break;
    }
    if (tr->patience > 0 && tr->bad_evals >= tr->patience) {
      tr->info.status = TN_TRAIN_EARLY;
      break;
    }
    t0 = TnTime();
    PetscCall(TnTrainStep(tr));
    tr->t_train += TnTime() - t0;
    if (tr->info.status == TN_TRAIN_RUNAWAY) { /* the last good state is kept, checkpointed and (by the caller) saved */
      PetscCall(TnTrainWriteCheckpoint(tr, path));
      PetscCall(PetscPrintf(tr->comm, "stopped before step %" PetscInt64_FMT ": %s; the parameters after step %" PetscInt64_FMT " are kept (checkpoint %s)\n", tr->info.step + 1, tr->stop_why, tr->info.step, path));
      break;
    }
    due = ValidationDue(tr);
    if (due) PetscCall(Validate(tr));
    PetscCall(TnTrainReport(tr, due));
    if (tr->ckpt_every > 0 && tr->info.step % tr->ckpt_every == 0) PetscCall(TnTrainWriteCheckpoint(tr, path));
    PetscCall(StopRequested(tr, &sig));
    if (sig) {
      PetscCall(TnTrainWriteCheckpoint(tr, path));
      PetscCall(PetscPrintf(tr->comm, "received signal %d (%s): checkpoint written to %s at step %" PetscInt64_FMT "; resume with -train_restart\n", sig, sig == SIGTERM ? "SIGTERM" : "SIGUSR1", path, tr->info.step));
      tr->info.status = TN_TRAIN_INTERRUPTED;
    }
  }
  if (tr->info.status != TN_TRAIN_INTERRUPTED && tr->info.status != TN_TRAIN_RUNAWAY && tr->ckpt_every > 0 && tr->info.step % tr->ckpt_every) PetscCall(TnTrainWriteCheckpoint(tr, path));
  if (tr->info.status != TN_TRAIN_INTERRUPTED && tr->keep_best && tr->info.best_step >= 0 && tr->info.best_step != tr->info.step) {
    PetscCall(PetscPrintf(tr->comm, "restoring the best validated parameters (step %" PetscInt64_FMT ", validation loss %.10g nats)\n", tr->info.best_step, (double)tr->info.best_valid));
    PetscCall(VecCopy(tr->best, tr->theta));
    PetscCall(TnGradSetParams(tr->grad, tr->theta));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
