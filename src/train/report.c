/* Progress lines (rank 0, at every validation and every -train_progress_every
   seconds) and the metrics file out_dir/train_metrics.csv (one row per
   validation). Losses in nats per sample and bits per dimension L/(N ln 2);
   the gap to the exact entropy per dimension (L - H)/N; the learning-quality
   ratio (NLL_indep - L)/(NLL_indep - H). Rates count forward synaptic
   updates (nnz K per sample); the backward pass costs about as much again. */
#include "trainimpl.h"
#include <errno.h>
#include <string.h>
#include <math.h>

#define TN_METRICS_HEADER "step,epoch,lr,train_loss,train_bpd,valid_loss,valid_bpd,gap_per_dim,ratio,grad_norm,shrunk,halvings,skipped,samples_per_s,syn_updates_per_s,elapsed_s\n"

PetscErrorCode TnTrainGetReference(TnTrain tr, PetscReal L, PetscReal *H, PetscBool *known, PetscReal *nll_indep, PetscReal *gap_per_dim, PetscReal *ratio)
{
  PetscBool ok;
  PetscFunctionBeginUser;
  PetscCall(TnTrainSetUp(tr));
  ok = (PetscBool)(tr->Hknown && L < PETSC_MAX_REAL);
  if (H) *H = tr->H;
  if (known) *known = tr->Hknown;
  if (nll_indep) *nll_indep = tr->nll_indep;
  if (gap_per_dim) *gap_per_dim = ok ? (L - tr->H) / tr->N : PETSC_MAX_REAL;
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

/* Rows of an existing metrics file up to `step` (the checkpoint's), so a
   restarted run continues the file without duplicate rows. Rank 0. */
static PetscErrorCode TruncateMetrics(const char path[], PetscInt64 step)
{
  FILE *in = fopen(path, "r"), *out;
  char  tmp[PETSC_MAX_PATH_LEN + 8], line[4096];
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", path));
  out = fopen(tmp, "w");
  PetscCheck(out, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s: %s", tmp, strerror(errno));
  fputs(TN_METRICS_HEADER, out);
  while (in && fgets(line, sizeof(line), in)) {
    long long s;
    if (sscanf(line, "%lld,", &s) == 1 && s <= step) fputs(line, out);
  }
  if (in) fclose(in);
  PetscCheck(!fclose(out) && !rename(tmp, path), PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s: %s", path, strerror(errno));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainMetricsOpen(TnTrain tr, PetscBool restart)
{
  PetscMPIInt rank;
  char        path[PETSC_MAX_PATH_LEN], msg[PETSC_MAX_PATH_LEN + 64] = "";
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(tr->comm, &rank));
  if (!tr->out_dir[0] || tr->metrics || rank) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/train_metrics.csv", tr->out_dir));
  if (restart) PetscCall(TruncateMetrics(path, tr->info.step));
  tr->metrics = fopen(path, restart ? "a" : "w");
  if (!tr->metrics) PetscCall(PetscSNPrintf(msg, sizeof(msg), "cannot write %s: %s", path, strerror(errno)));
  PetscCheck(tr->metrics, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s", msg);
  if (!restart) fputs(TN_METRICS_HEADER, tr->metrics);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainMetricsClose(TnTrain tr)
{
  PetscFunctionBeginUser;
  if (tr->metrics) fclose(tr->metrics);
  tr->metrics = NULL;
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
  const PetscReal    bpd = 1.0 / (tr->N * M_LN2);
  char               c[6][64];
  PetscFunctionBeginUser;
  if (!tr->metrics) PetscFunctionReturn(PETSC_SUCCESS);
  Fmt(c[0], 64, "%.17g", train);
  Fmt(c[1], 64, "%.17g", train < PETSC_MAX_REAL ? train * bpd : PETSC_MAX_REAL);
  Fmt(c[2], 64, "%.17g", in->valid_loss);
  Fmt(c[3], 64, "%.17g", in->valid_loss < PETSC_MAX_REAL ? in->valid_loss * bpd : PETSC_MAX_REAL);
  Fmt(c[4], 64, "%.17g", gap);
  Fmt(c[5], 64, "%.17g", ratio);
  fprintf(tr->metrics, "%" PetscInt64_FMT ",%" PetscInt64_FMT ",%.17g,%s,%s,%s,%s,%s,%s,%.17g,%" PetscInt64_FMT ",%" PetscInt64_FMT ",%" PetscInt64_FMT ",%.6g,%.6g,%.6g\n", in->step, in->epoch, (double)in->lr, c[0], c[1], c[2], c[3], c[4], c[5], (double)in->gnorm, in->shrunk, in->halvings, in->skipped, sps, ups, tr->t_train);
  fflush(tr->metrics);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnTrainReport(TnTrain tr, PetscBool evaluated)
{
  const TnTrainInfo *in  = &tr->info;
  PetscLogDouble     now = TnTime();
  PetscReal          train, gap = PETSC_MAX_REAL, ratio = PETSC_MAX_REAL, bpd = 1.0 / (tr->N * M_LN2);
  double             sps, ups, eta;
  PetscInt64         done       = in->step - tr->step_last;
  char               valid[160] = "", shr[96] = "";
  PetscFunctionBeginUser;
  if (!evaluated && now - tr->t_last < tr->progress_every) PetscFunctionReturn(PETSC_SUCCESS);
  tr->t_last = now;
  train      = tr->loss_count ? tr->loss_sum / tr->loss_count : PETSC_MAX_REAL;
  sps        = tr->t_train > 0 ? tr->samples / tr->t_train : 0;
  ups        = sps * (double)tr->nnz * tr->K;
  eta        = done > 0 ? tr->t_train / done * (double)(in->total - in->step) : 0;
  if (in->valid_loss < PETSC_MAX_REAL) {
    PetscCall(TnTrainGetReference(tr, in->valid_loss, NULL, NULL, NULL, &gap, &ratio));
    PetscCall(PetscSNPrintf(valid, sizeof(valid), " | valid %.6g (%.5g b/d)", (double)in->valid_loss, (double)(in->valid_loss * bpd)));
    if (gap < PETSC_MAX_REAL) PetscCall(PetscSNPrintf(valid + strlen(valid), sizeof(valid) - strlen(valid), " gap/dim %.4g", (double)gap));
    if (ratio < PETSC_MAX_REAL) PetscCall(PetscSNPrintf(valid + strlen(valid), sizeof(valid) - strlen(valid), " ratio %.4f", (double)ratio));
  }
  if (in->shrunk || in->skipped) PetscCall(PetscSNPrintf(shr, sizeof(shr), " | shrunk %" PetscInt64_FMT " (%" PetscInt64_FMT " halvings) skipped %" PetscInt64_FMT, in->shrunk, in->halvings, in->skipped));
  PetscCall(PetscPrintf(tr->comm, "step %" PetscInt64_FMT "/%" PetscInt64_FMT " epoch %" PetscInt64_FMT " | train %.6g (%.5g b/d)%s%s | %.3g samples/s %.3g syn upd/s | ETA %.0f s\n", in->step, in->total, in->epoch, (double)train, (double)(train * bpd), valid, shr, sps, ups, eta));
  if (evaluated) {
    PetscCall(MetricsRow(tr, train, gap, ratio, sps, ups));
    tr->loss_sum   = 0;
    tr->loss_count = 0;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
