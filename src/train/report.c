/* Progress lines (rank 0, at every validation and every -train_progress_every
   seconds) and the metrics file out_dir/train_metrics.csv (one row per
   validation). Losses in nats per sample and bits per dimension L/(N_F ln 2)
   (N_F = N, or the free nodes with a clamp set: the density's dimension),
   in the data's own space (TnTrainGetDataShift; the standardised figures in
   the last two columns);
   the gap to the exact entropy per dimension (L - H)/N_F; the learning-quality
   ratio (NLL_indep - L)/(NLL_indep - H) (with a clamp set H = H(t | x) and
   NLL_indep over the free nodes, docs/conditional.md). Rates count forward synaptic
   updates (nnz K per sample); the backward pass costs about as much again. */
#include "trainimpl.h"
#include <tenor/io.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

#define TN_METRICS_HEADER "step,epoch,lr,train_loss,train_bpd,valid_loss,valid_bpd,gap_per_dim,ratio,grad_norm,shrunk,halvings,skipped,samples_per_s,syn_updates_per_s,elapsed_s,train_loss_standardized,valid_loss_standardized\n"

PetscErrorCode TnTrainGetDataShift(TnTrain tr, PetscReal *shift)
{
  PetscReal c;
  PetscFunctionBeginUser;
  PetscCall(TnDataGetLogJacobian(tr->data, &c));
  *shift = -c;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainGetReference(TnTrain tr, PetscReal L, PetscReal *H, PetscBool *known, PetscReal *nll_indep, PetscReal *gap_per_dim, PetscReal *ratio)
{
  PetscBool ok;
  PetscFunctionBeginUser;
  PetscCall(TnTrainSetUp(tr));
  ok = (PetscBool)(tr->Hknown && L < PETSC_MAX_REAL);
  if (H) *H = tr->H;
  if (known) *known = tr->Hknown;
  if (nll_indep) *nll_indep = tr->nll_indep;
  if (gap_per_dim) *gap_per_dim = ok ? (L - tr->H) / tr->Nf : PETSC_MAX_REAL;
  if (ratio) *ratio = ok && tr->nll_indep < PETSC_MAX_REAL && tr->nll_indep != tr->H ? (tr->nll_indep - L) / (tr->nll_indep - tr->H) : PETSC_MAX_REAL;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainGetSameSampleRatio(TnTrain tr, PetscReal L, PetscReal *nll_true, PetscReal *ratio)
{
  PetscBool ok;
  PetscFunctionBeginUser;
  PetscCall(TnTrainSetUp(tr));
  ok = (PetscBool)(tr->nll_true < PETSC_MAX_REAL && tr->nll_indep < PETSC_MAX_REAL && L < PETSC_MAX_REAL && tr->nll_indep != tr->nll_true);
  if (nll_true) *nll_true = tr->nll_true;
  if (ratio) *ratio = ok ? (tr->nll_indep - L) / (tr->nll_indep - tr->nll_true) : PETSC_MAX_REAL;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainGetRates(TnTrain tr, PetscLogDouble *seconds, PetscInt64 *samples)
{
  PetscFunctionBeginUser;
  if (seconds) *seconds = tr->t_train;
  if (samples) *samples = tr->samples;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: the header, then (keep >= 0, a restart) the rows of the existing
   file at path up to step `keep`, the checkpoint's, so that a restarted run
   continues the file without duplicate rows. */
static void MetricsHead(FILE *out, const char path[], PetscInt64 keep)
{
  FILE *in = keep >= 0 ? fopen(path, "r") : NULL;
  char  line[4096];
  fputs(TN_METRICS_HEADER, out);
  while (in && fgets(line, sizeof(line), in)) {
    long long s;
    if (sscanf(line, "%lld,", &s) == 1 && s <= keep) fputs(line, out);
  }
  if (in) fclose(in);
}

/* Collective: train_metrics.csv rewritten whole from rank 0's memory in
   one atomic write (TnCommitOpen/Close): a failed write (a full disk) is one
   error on every rank and leaves the previous file. */
static PetscErrorCode MetricsCommit(TnTrain tr)
{
  FILE *out;
  PetscFunctionBeginUser;
  PetscCall(TnCommitOpen(tr->comm, tr->metrics_path, &out));
  if (out) {
    fflush(tr->metrics);
    if (tr->metrics_len) fwrite(tr->metrics_buf, 1, tr->metrics_len, out);
  }
  PetscCall(TnCommitClose(tr->comm, tr->metrics_path, &out, PETSC_TRUE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Collective. Rank 0 keeps the file's contents in memory: its header (and
   the kept rows), then a row per validation, each time committed whole. */
PetscErrorCode TnTrainMetricsOpen(TnTrain tr, PetscBool restart)
{
  PetscMPIInt rank;
  PetscBool   bad = PETSC_FALSE;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(tr->comm, &rank));
  if (!tr->out_dir[0] || tr->metrics_on) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscSNPrintf(tr->metrics_path, sizeof(tr->metrics_path), "%s/train_metrics.csv", tr->out_dir));
  if (!rank) {
    tr->metrics = open_memstream(&tr->metrics_buf, &tr->metrics_len);
    if (tr->metrics) MetricsHead(tr->metrics, tr->metrics_path, restart ? tr->info.step : -1);
    bad = (PetscBool)!tr->metrics;
  }
  PetscCall(TnErrorSync(tr->comm, bad, "out of memory for the metrics file"));
  tr->metrics_on = PETSC_TRUE;
  PetscCall(MetricsCommit(tr));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainMetricsClose(TnTrain tr)
{
  PetscFunctionBeginUser;
  if (tr->metrics) fclose(tr->metrics);
  free(tr->metrics_buf); /* allocated by open_memstream */
  tr->metrics     = NULL;
  tr->metrics_buf = NULL;
  tr->metrics_len = 0;
  tr->metrics_on  = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void Fmt(char buf[], size_t len, const char fmt[], PetscReal v)
{
  if (v < PETSC_MAX_REAL)
    snprintf(buf, len, fmt, (double)v);
  else
    snprintf(buf, len, "%s", "");
}

static PetscErrorCode MetricsRow(TnTrain tr, PetscReal train, PetscReal gap, PetscReal ratio, double sps, double ups)
{
  const TnTrainInfo *in  = &tr->info;
  const PetscReal    bpd = 1.0 / (tr->Nf * M_LN2);
  PetscReal          sh  = 0, tx, vx;
  char               c[8][64];
  PetscFunctionBeginUser;
  if (!tr->metrics_on) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnTrainGetDataShift(tr, &sh));
  tx = train < PETSC_MAX_REAL ? train + sh : PETSC_MAX_REAL;
  vx = in->valid_loss < PETSC_MAX_REAL ? in->valid_loss + sh : PETSC_MAX_REAL;
  Fmt(c[0], 64, "%.17g", tx);
  Fmt(c[1], 64, "%.17g", tx < PETSC_MAX_REAL ? tx * bpd : PETSC_MAX_REAL);
  Fmt(c[2], 64, "%.17g", vx);
  Fmt(c[3], 64, "%.17g", vx < PETSC_MAX_REAL ? vx * bpd : PETSC_MAX_REAL);
  Fmt(c[4], 64, "%.17g", gap);
  Fmt(c[5], 64, "%.17g", ratio);
  Fmt(c[6], 64, "%.17g", train);
  Fmt(c[7], 64, "%.17g", in->valid_loss);
  if (tr->metrics) fprintf(tr->metrics, "%" PetscInt64_FMT ",%" PetscInt64_FMT ",%.17g,%s,%s,%s,%s,%s,%s,%.17g,%" PetscInt64_FMT ",%" PetscInt64_FMT ",%" PetscInt64_FMT ",%.6g,%.6g,%.6g,%s,%s\n", in->step, in->epoch, (double)in->lr, c[0], c[1], c[2], c[3], c[4], c[5], (double)in->gnorm, in->shrunk, in->halvings, in->skipped, sps, ups, tr->t_train, c[6], c[7]);
  PetscCall(MetricsCommit(tr));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainReport(TnTrain tr, PetscBool evaluated)
{
  const TnTrainInfo *in  = &tr->info;
  PetscLogDouble     now = TnTime();
  PetscReal          train, gap = PETSC_MAX_REAL, ratio = PETSC_MAX_REAL, bpd = 1.0 / (tr->Nf * M_LN2), sh = 0;
  double             sps, ups, eta;
  PetscInt64         done       = in->step - tr->step_last;
  char               valid[160] = "", shr[96] = "", rule[96] = "";
  PetscFunctionBeginUser;
  if (!evaluated && now - tr->t_last < tr->progress_every) PetscFunctionReturn(PETSC_SUCCESS);
  tr->t_last = now;
  PetscCall(TnTrainGetDataShift(tr, &sh)); /* printed in the data's own space */
  train = tr->loss_count ? tr->loss_sum / tr->loss_count : PETSC_MAX_REAL;
  sps   = tr->t_train > 0 ? tr->samples / tr->t_train : 0;
  ups   = sps * (double)tr->nnz * tr->K;
  eta   = done > 0 ? tr->t_train / done * (double)(in->total - in->step) : 0;
  if (in->valid_loss < PETSC_MAX_REAL) {
    PetscCall(TnTrainGetReference(tr, in->valid_loss, NULL, NULL, NULL, &gap, &ratio));
    PetscCall(PetscSNPrintf(valid, sizeof(valid), " | valid %.6g (%.5g b/d)", (double)(in->valid_loss + sh), (double)((in->valid_loss + sh) * bpd)));
    if (gap < PETSC_MAX_REAL) PetscCall(PetscSNPrintf(valid + strlen(valid), sizeof(valid) - strlen(valid), " gap/dim %.4g", (double)gap));
    if (ratio < PETSC_MAX_REAL) PetscCall(PetscSNPrintf(valid + strlen(valid), sizeof(valid) - strlen(valid), " ratio %.4f", (double)ratio));
  }
  if (in->shrunk || in->skipped) PetscCall(PetscSNPrintf(shr, sizeof(shr), " | shrunk %" PetscInt64_FMT " (%" PetscInt64_FMT " halvings) skipped %" PetscInt64_FMT, in->shrunk, in->halvings, in->skipped));
  if (TnTrainRuleUsesTnRule(tr->rule_kind)) { /* a local rule: its step size and the largest weight */
    PetscReal wmax;
    PetscCall(TnRuleGetStats(tr->rule, NULL, &wmax));
    PetscCall(PetscSNPrintf(rule, sizeof(rule), " | %s eta %.4g max|W| %.4g", TnTrainRuleTypes[tr->rule_kind], (double)in->lr, (double)wmax));
  }
  PetscCall(PetscPrintf(tr->comm, "step %" PetscInt64_FMT "/%" PetscInt64_FMT " epoch %" PetscInt64_FMT " | train %.6g (%.5g b/d)%s%s%s | %.3g samples/s %.3g syn upd/s | ETA %.0f s\n", in->step, in->total, in->epoch, (double)(train + sh), (double)((train + sh) * bpd), valid, shr, rule, sps, ups, eta));
  if (evaluated) {
    PetscCall(MetricsRow(tr, train, gap, ratio, sps, ups));
    tr->loss_sum   = 0;
    tr->loss_count = 0;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
