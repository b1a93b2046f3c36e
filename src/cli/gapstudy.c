/* tenor logdet: the gap study (docs/gap-study.md). For the sync scheme, at
   every step k and for every sample, before the step, the Jacobian
   J_k = I + h A_k is formed and its log|det| computed by each requested
   method side by side; then the state advances by one step. The gap of a
   method is value - reference, the reference being the first exact method
   listed (dense or sparse; else slq, an estimate). With -gap_h2 the
   second-order predictions of the exact value are added as two more rows:
     diag_h2  = sum_i log|1 + h A_ii| - (h^2/2) sum_{i != j} A_ij A_ji
     trace_h2 = h tr A - (h^2/2) tr(A^2)
   (log det(I + hA) = h tr A - (h^2/2) tr(A^2) + O(h^3); the i != j part of
   tr(A^2) is the contribution of the reciprocal pairs, which diag misses).
   Outputs: out_dir/logdet_steps.csv (one row per step, sample, method) and
   out_dir/logdet.json (configuration and per-method statistics). */
#include "cli.h"
#include <tenor/logdet.h>
#include <tenor/io.h>
#include <math.h>
#include <string.h>

#define TN_GAP_MAXCOL (TN_LOGDET_NTYPES + 2)

typedef struct {
  char         dir[PETSC_MAX_PATH_LEN], wout[PETSC_MAX_PATH_LEN];
  PetscInt     nm, ncol, ref, idiag_h2, itrace_h2;
  TnLogDetType type[TN_LOGDET_NTYPES];
  TnLogDet     ld[TN_LOGDET_NTYPES];
  const char  *name[TN_GAP_MAXCOL];
  PetscBool    h2;
  PetscInt     N, S, K, B, nonpos;
  PetscInt64   nnz, pairs, offnnz, selfloops;
  PetscReal    h, recip, wscale;
  PetscReal   *val, *se, *sec; /* [(k * S + s) * ncol + c] */
  double       t_setup, t_study, t_total;
  PetscMPIInt  size;
} TnGap;

#define GAPIDX(g, k, s, c) ((((size_t)(k) * (g)->S + (size_t)(s)) * (size_t)(g)->ncol) + (size_t)(c))

/* Sums over the local rows of M and its transpose Mt (same row layout):
   out[0] += #{(i, j): i != j, M_ij and M_ji stored}, out[1] += sum_{i != j}
   M_ij M_ji, out[2] += #{off-diagonal stored M_ij}, out[3] += #{stored M_ii}.
   MatGetRow returns each row's global columns in increasing order, so the
   rows of M and Mt are merged. */
static PetscErrorCode PairSums(Mat M, Mat Mt, PetscReal out[4])
{
  PetscInt rs, re;
  PetscFunctionBeginUser;
  PetscCall(MatGetOwnershipRange(M, &rs, &re));
  for (PetscInt i = rs; i < re; i++) {
    PetscInt           na, nb, a = 0, b = 0;
    const PetscInt    *ca, *cb;
    const PetscScalar *va, *vb;
    PetscCall(MatGetRow(M, i, &na, &ca, &va));
    PetscCall(MatGetRow(Mt, i, &nb, &cb, &vb));
    for (PetscInt t = 0; t < na; t++) {
      if (ca[t] == i)
        out[3] += 1;
      else
        out[2] += 1;
    }
    while (a < na && b < nb) {
      if (ca[a] < cb[b])
        a++;
      else if (cb[b] < ca[a])
        b++;
      else {
        if (ca[a] != i) {
          out[0] += 1;
          out[1] += PetscRealPart(va[a] * vb[b]);
        }
        a++, b++;
      }
    }
    PetscCall(MatRestoreRow(Mt, i, &nb, &cb, &vb));
    PetscCall(MatRestoreRow(M, i, &na, &ca, &va));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Measured reciprocity of W: #{(i, j), i != j, W_ij and W_ji in P} over the
   off-diagonal nnz; and the weight scale sqrt(||W||_F^2 / N). */
static PetscErrorCode MeasureNet(MPI_Comm comm, TnNet net, TnGap *g)
{
  Mat       W, Wt;
  PetscReal s[4] = {0, 0, 0, 0}, fro;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetMat(net, &W));
  PetscCall(MatTranspose(W, MAT_INITIAL_MATRIX, &Wt));
  PetscCall(PairSums(W, Wt, s));
  PetscCall(MatDestroy(&Wt));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, s, 4, MPIU_REAL, MPIU_SUM, comm));
  PetscCall(MatNorm(W, NORM_FROBENIUS, &fro));
  g->pairs     = (PetscInt64)s[0];
  g->offnnz    = (PetscInt64)s[2];
  g->selfloops = (PetscInt64)s[3];
  g->recip     = s[2] > 0 ? s[0] / s[2] : 0;
  g->wscale    = fro / PetscSqrtReal((PetscReal)g->N);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* -logdet_methods a,b,c: the methods, and the reference (first exact one,
   else slq, else none). */
static PetscErrorCode ParseMethods(MPI_Comm comm, TnGap *g)
{
  char     *list[TN_LOGDET_NTYPES + 1];
  PetscInt  n = TN_LOGDET_NTYPES + 1;
  PetscBool set;
  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, "logdet_", "Gap study (tenor logdet)", "tenor");
  PetscCall(PetscOptionsStringArray("-methods", "Comma list of log-det methods computed side by side: diag, trace, dense, sparse, slq; the first exact one (dense, sparse) is the reference", "", list, &n, &set));
  PetscOptionsEnd();
  if (!set) {
    const char *def[] = {"diag", "trace", "dense"};
    n                 = 3;
    for (PetscInt i = 0; i < n; i++) PetscCall(PetscStrallocpy(def[i], &list[i]));
  }
  PetscCheck(n >= 1 && n <= TN_LOGDET_NTYPES, comm, PETSC_ERR_USER, "-logdet_methods takes 1 to %d distinct methods among diag,trace,dense,sparse,slq", TN_LOGDET_NTYPES);
  g->nm  = n;
  g->ref = -1;
  for (PetscInt i = 0; i < n; i++) {
    PetscInt t = -1;
    for (PetscInt c = 0; c < TN_LOGDET_NTYPES; c++)
      if (!strcmp(list[i], TnLogDetTypes[c])) t = c;
    PetscCheck(t >= 0, comm, PETSC_ERR_USER, "-logdet_methods: unknown method '%s'; choose among diag,trace,dense,sparse,slq", list[i]);
    for (PetscInt j = 0; j < i; j++) PetscCheck(g->type[j] != (TnLogDetType)t, comm, PETSC_ERR_USER, "-logdet_methods lists %s twice", list[i]);
    g->type[i] = (TnLogDetType)t;
    g->name[i] = TnLogDetTypes[t];
    if (g->ref < 0 && (t == TN_LOGDET_DENSE || t == TN_LOGDET_SPARSE)) g->ref = i;
    PetscCall(PetscFree(list[i]));
  }
  for (PetscInt i = 0; i < n && g->ref < 0; i++)
    if (g->type[i] == TN_LOGDET_SLQ) g->ref = i;
  g->ncol      = n;
  g->idiag_h2  = g->h2 ? g->ncol++ : -1;
  g->itrace_h2 = g->h2 ? g->ncol++ : -1;
  if (g->h2) g->name[g->idiag_h2] = "diag_h2", g->name[g->itrace_h2] = "trace_h2";
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode SetUp(MPI_Comm comm, TnNet *net, TnDyn *dyn, TnData *data, TnGap *g)
{
  TnScheme scheme;
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(comm, net));
  PetscCall(TnNetSetFromOptions(*net));
  PetscCall(TnNetSetUp(*net));
  PetscCall(TnNetGetSizes(*net, &g->N, &g->nnz));
  PetscCall(TnNetView(*net, PETSC_VIEWER_STDOUT_(comm)));
  PetscCall(MeasureNet(comm, *net, g));
  if (g->wout[0]) {
    Mat W;
    PetscCall(TnNetGetMat(*net, &W));
    PetscCall(TnWriteMatrixMarket(W, g->wout));
  }
  PetscCall(TnDynCreate(*net, dyn));
  PetscCall(TnDynSetBatchSize(*dyn, TN_LOGDET_BATCH)); /* defaults for a study: exact log-dets are costly */
  PetscCall(TnDynSetFromOptions(*dyn));
  PetscCall(TnDynGetParams(*dyn, &scheme, NULL, NULL, &g->h, &g->K, &g->B));
  PetscCheck(!strcmp(scheme, TN_SCHEME_SYNC), comm, PETSC_ERR_USER, "tenor logdet studies the sync scheme (-dyn_scheme sync); in the colored scheme diag is already exact");
  /* advance one step at a time; the kernels' own log-det is diag (checked
     against the TnLogDet diag value), the studied methods are the TnLogDets */
  PetscCall(TnDynSetSteps(*dyn, 1));
  PetscCall(TnDynSetLogDetType(*dyn, TN_LOGDET_DIAG));
  PetscCall(TnDynSetUp(*dyn));
  PetscCall(TnDataCreate(comm, data));
  PetscCall(TnDataSetSamples(*data, 4, 7));
  PetscCall(TnDataSetFromOptions(*data));
  PetscCall(TnDataLoad(*data, g->N));
  PetscCall(TnDataGetNumSamples(*data, &g->S));
  for (PetscInt m = 0; m < g->nm; m++) {
    const PetscInt *natural;
    PetscCall(TnLogDetCreate(comm, g->type[m], &g->ld[m]));
    PetscCall(TnLogDetSetFromOptions(g->ld[m]));
    PetscCall(TnNetGetNatural(*net, &natural));
    PetscCall(TnLogDetSetNodeNumbers(g->ld[m], natural)); /* slq: the same probes for any rank count */
  }
  PetscCall(PetscCalloc3((size_t)g->K * g->S * g->ncol + 1, &g->val, (size_t)g->K * g->S * g->ncol + 1, &g->se, (size_t)g->K * g->S * g->ncol + 1, &g->sec));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The second-order predictions from J = I + hA (no h needed):
   diag_h2 = sum log|J_ii| - (1/2) sum_{i != j} J_ij J_ji,
   trace_h2 = tr(J - I) - (1/2) [sum_i (J_ii - 1)^2 + sum_{i != j} J_ij J_ji]. */
static PetscErrorCode SecondOrder(MPI_Comm comm, Mat J, Mat *Jt, PetscReal *dh2, PetscReal *th2)
{
  PetscReal          s[4] = {0, 0, 0, 0}, d[3] = {0, 0, 0};
  Vec                v;
  const PetscScalar *pv;
  PetscInt           n;
  PetscFunctionBeginUser;
  PetscCall(MatTranspose(J, *Jt ? MAT_REUSE_MATRIX : MAT_INITIAL_MATRIX, Jt));
  PetscCall(PairSums(J, *Jt, s));
  PetscCall(MatCreateVecs(J, &v, NULL));
  PetscCall(MatGetDiagonal(J, v));
  PetscCall(VecGetLocalSize(v, &n));
  PetscCall(VecGetArrayRead(v, &pv));
  for (PetscInt i = 0; i < n; i++) {
    PetscReal x = PetscRealPart(pv[i]);
    d[0] += log(fabs(x));
    d[1] += x - 1;
    d[2] += (x - 1) * (x - 1);
  }
  PetscCall(VecRestoreArrayRead(v, &pv));
  PetscCall(VecDestroy(&v));
  d[2] += s[1];
  d[0] -= 0.5 * s[1];
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, d, 3, MPIU_REAL, MPIU_SUM, comm));
  *dh2 = d[0];
  *th2 = d[1] - 0.5 * d[2];
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* All methods on J_k of sample s (batch slot b) at step k. */
static PetscErrorCode StudyStep(MPI_Comm comm, TnDyn dyn, Vec x, PetscInt k, PetscInt s, PetscInt b, Mat J, Mat *Jt, TnGap *g)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynStepJacobian(dyn, x, b, J));
  for (PetscInt m = 0; m < g->nm; m++) {
    TnLogDetResult r;
    PetscCall(TnLogDetCompute(g->ld[m], J, &r));
    g->val[GAPIDX(g, k, s, m)] = r.logabs;
    g->se[GAPIDX(g, k, s, m)]  = r.stderr_;
    g->sec[GAPIDX(g, k, s, m)] = r.seconds;
    if (!TnLogDetIsLocal(g->type[m]) && g->type[m] != TN_LOGDET_SLQ && r.sign <= 0) g->nonpos++;
  }
  if (g->h2) {
    PetscLogDouble t0 = TnTime();
    PetscCall(SecondOrder(comm, J, Jt, &g->val[GAPIDX(g, k, s, g->idiag_h2)], &g->val[GAPIDX(g, k, s, g->itrace_h2)]));
    g->sec[GAPIDX(g, k, s, g->idiag_h2)] = g->sec[GAPIDX(g, k, s, g->itrace_h2)] = TnTime() - t0;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The kernel's diag log-det of the step must equal the TnLogDet diag value
   of the Jacobian (the same sum, accumulated differently). */
static PetscErrorCode CheckKernel(MPI_Comm comm, const TnGap *g, PetscInt k, PetscInt s, PetscReal kernel)
{
  PetscFunctionBeginUser;
  for (PetscInt m = 0; m < g->nm; m++)
    if (g->type[m] == TN_LOGDET_DIAG) {
      PetscReal v = g->val[GAPIDX(g, k, s, m)];
      PetscCheck(fabs(v - kernel) <= 1e-10 * PetscMax(1.0, fabs(v)) + 1e-12 * g->N, comm, PETSC_ERR_PLIB, "step %" PetscInt_FMT ", sample %" PetscInt_FMT ": diag of the Jacobian %.17g != the kernel's %.17g", k, s, (double)v, (double)kernel);
    }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Every batch: for k = 0..K-1, study J_k of each sample, then one step. */
static PetscErrorCode Study(MPI_Comm comm, TnDyn dyn, TnData data, TnGap *g)
{
  Vec         xnat, x;
  Mat         J, Jt = NULL;
  TnDynResult res;
  TnProgress  prog;
  PetscFunctionBeginUser;
  PetscCall(TnDynCreateNaturalState(dyn, &xnat));
  PetscCall(TnDynCreateState(dyn, &x));
  PetscCall(TnDynResultCreate(dyn, &res));
  PetscCall(TnDynCreateJacobian(dyn, &J));
  PetscCall(TnProgressStart(comm, &prog, "step Jacobians", g->K * g->S, 1.0, "Jacobians"));
  for (PetscInt s0 = 0; s0 < g->S; s0 += g->B) {
    PetscInt valid;
    PetscCall(TnDataGetBatch(data, s0, xnat, &valid));
    res.nvalid = valid;
    res.first  = s0;
    PetscCall(TnDynNaturalToState(dyn, xnat, x, SCATTER_FORWARD));
    for (PetscInt k = 0; k < g->K; k++) {
      for (PetscInt b = 0; b < valid; b++) PetscCall(StudyStep(comm, dyn, x, k, s0 + b, b, J, &Jt, g));
      PetscCall(TnDynEvaluate(dyn, x, &res)); /* a_{k+1} = a_k + h f(a_k) */
      for (PetscInt b = 0; b < valid; b++) PetscCall(CheckKernel(comm, g, k, s0 + b, res.steps[b]));
      PetscCall(TnProgressUpdate(comm, &prog, s0 * g->K + (k + 1) * valid));
    }
  }
  PetscCall(MatDestroy(&Jt));
  PetscCall(MatDestroy(&J));
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&xnat));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscReal Gap(const TnGap *g, PetscInt k, PetscInt s, PetscInt c)
{
  return g->ref < 0 ? NAN : g->val[GAPIDX(g, k, s, c)] - g->val[GAPIDX(g, k, s, g->ref)];
}

static PetscErrorCode WriteSteps(MPI_Comm comm, const TnGap *g, char path[], size_t len)
{
  FILE *fp;
  PetscFunctionBeginUser;
  PetscCall(TnOutOpen(comm, g->dir, "logdet_steps.csv", &fp, path, len));
  if (fp) {
    fprintf(fp, "step,sample,method,value,stderr,seconds,gap_vs_reference,gap_per_node\n");
    for (PetscInt k = 0; k < g->K; k++)
      for (PetscInt s = 0; s < g->S; s++)
        for (PetscInt c = 0; c < g->ncol; c++) {
          PetscReal gap = Gap(g, k, s, c);
          fprintf(fp, "%" PetscInt_FMT ",%" PetscInt_FMT ",%s,%.17g,%.17g,%.17g,%.17g,%.17g\n", k, s, g->name[c], (double)g->val[GAPIDX(g, k, s, c)], (double)g->se[GAPIDX(g, k, s, c)], (double)g->sec[GAPIDX(g, k, s, c)], (double)gap, (double)(gap / g->N));
        }
  }
  PetscCall(TnOutClose(comm, &fp, path));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Statistics of column c over every (step, sample): mean value per node, mean
   seconds, mean and sd of the gap per node. */
typedef struct {
  double value, seconds, gap, gap_sd;
} TnGapStats;

static TnGapStats Stats(const TnGap *g, PetscInt c)
{
  TnGapStats st = {0, 0, 0, 0};
  double     n = (double)g->K * g->S, v = 0;
  for (PetscInt k = 0; k < g->K; k++)
    for (PetscInt s = 0; s < g->S; s++) {
      st.value += g->val[GAPIDX(g, k, s, c)] / g->N / n;
      st.seconds += g->sec[GAPIDX(g, k, s, c)] / n;
      st.gap += Gap(g, k, s, c) / g->N / n;
    }
  for (PetscInt k = 0; k < g->K; k++)
    for (PetscInt s = 0; s < g->S; s++) v += pow(Gap(g, k, s, c) / g->N - st.gap, 2);
  st.gap_sd = n > 1 ? sqrt(v / (n - 1)) : 0;
  return st;
}

/* Mean gap per node of column c at step k (over samples). */
static double StepGap(const TnGap *g, PetscInt k, PetscInt c)
{
  double m = 0;
  for (PetscInt s = 0; s < g->S; s++) m += Gap(g, k, s, c) / g->N / g->S;
  return m;
}

static PetscErrorCode WriteJson(MPI_Comm comm, TnNet net, TnDyn dyn, TnData data, const TnGap *g, char path[], size_t len)
{
  const char *ntype, *what;
  TnForm      form;
  TnAct       act;
  PetscReal   inv;
  json_t     *root, *methods;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetType(net, &ntype));
  PetscCall(TnDynGetParams(dyn, NULL, &form, &act, NULL, NULL, NULL));
  PetscCall(TnDynGetInvertibility(dyn, &inv, &what));
  PetscCall(TnOutJsonBegin(comm, "logdet", &root));
  PetscCall(TnJsonSet(root, "network", json_pack("{s:o, s:I, s:I, s:I, s:I, s:o, s:I, s:o, s:o}", "type", TnJsonStr(ntype), "N", (json_int_t)g->N, "nnz", (json_int_t)g->nnz, "offdiag_nnz", (json_int_t)g->offnnz, "self_loops", (json_int_t)g->selfloops, "mean_in_degree", TnJsonReal((double)g->offnnz / g->N), "reciprocal_edges", (json_int_t)g->pairs, "reciprocity_measured", TnJsonReal((double)g->recip), "weight_scale_measured", TnJsonReal((double)g->wscale))));
  PetscCall(TnJsonSet(root, "dynamics", json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:o}", "scheme", "sync", "form", TnFormTypes[form], "activation", TnActTypes[act], "h", TnJsonReal((double)g->h), "K", (json_int_t)g->K, "batch", (json_int_t)g->B, "invertibility_value", TnJsonReal((double)inv))));
  PetscCall(TnJsonSet(root, "samples", json_integer(g->S)));
  PetscCall(TnJsonSet(root, "reference", g->ref < 0 ? json_null() : TnJsonStr(g->name[g->ref])));
  PetscCall(TnJsonSet(root, "reference_exact", json_boolean(g->ref >= 0 && g->type[g->ref] != TN_LOGDET_SLQ)));
  PetscCall(TnJsonSet(root, "nonpositive_determinants", json_integer(g->nonpos)));
  methods = json_object();
  for (PetscInt c = 0; c < g->ncol; c++) {
    TnGapStats st = Stats(g, c);
    json_t    *by = json_array();
    for (PetscInt k = 0; by && k < g->K; k++) json_array_append_new(by, TnJsonReal(StepGap(g, k, c)));
    PetscCall(TnJsonSet(methods, g->name[c], json_pack("{s:o, s:o, s:o, s:o, s:o}", "mean_value_per_node", TnJsonReal(st.value), "mean_seconds", TnJsonReal(st.seconds), "mean_gap_per_node", TnJsonReal(st.gap), "sd_gap_per_node", TnJsonReal(st.gap_sd), "mean_gap_per_node_by_step", by ? by : json_null())));
  }
  PetscCall(TnJsonSet(root, "methods", methods));
  PetscCall(TnJsonSet(root, "timings_s", json_pack("{s:f, s:f, s:f}", "setup", g->t_setup, "study", g->t_study, "total", g->t_total)));
  PetscCall(TnOutJsonEnd(comm, "logdet", data, NULL, g->dir, "logdet.json", path, len, &root));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode PrintSummary(MPI_Comm comm, const TnGap *g, const char *p1, const char *p2)
{
  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(comm, "reciprocity (measured): %.6g (%" PetscInt64_FMT " of %" PetscInt64_FMT " off-diagonal synapses have their reverse); mean in-degree %.4g; weight scale sqrt(|W|_F^2/N) = %.4g\n", (double)g->recip, g->pairs, g->offnnz, (double)g->offnnz / g->N, (double)g->wscale));
  PetscCall(PetscPrintf(comm, "log|det J_k| over %" PetscInt_FMT " steps x %" PetscInt_FMT " samples, h = %g; reference: %s\n", g->K, g->S, (double)g->h, g->ref < 0 ? "none (no exact method listed: gaps not computed)" : g->name[g->ref]));
  PetscCall(PetscPrintf(comm, "  %-9s %22s %24s %12s %12s\n", "method", "mean value per node", "gap per node (mean)", "(sd)", "mean time s"));
  for (PetscInt c = 0; c < g->ncol; c++) {
    TnGapStats st = Stats(g, c);
    PetscCall(PetscPrintf(comm, "  %-9s %22.12g %24.6e %12.3e %12.4g%s\n", g->name[c], st.value, st.gap, st.gap_sd, st.seconds, c == g->ref ? "  (reference)" : ""));
  }
  if (g->nonpos) PetscCall(PetscPrintf(comm, "warning: %" PetscInt_FMT " step Jacobian(s) had det <= 0: those steps are not bijections (use a smaller -dyn_h or -net_scale)\n", g->nonpos));
  PetscCall(PetscPrintf(comm, "time: set-up %.3f s, study %.3f s, total %.3f s\nwrote %s\nwrote %s\n", g->t_setup, g->t_study, g->t_total, p1, p2));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* TnDynView would show the one-step dynamics used to advance the state. */
static PetscErrorCode ViewDyn(MPI_Comm comm, TnDyn dyn, const TnGap *g)
{
  TnForm      form;
  TnAct       act;
  const char *what;
  PetscFunctionBeginUser;
  PetscCall(TnDynGetParams(dyn, NULL, &form, &act, NULL, NULL, NULL));
  PetscCall(TnDynGetInvertibility(dyn, NULL, &what));
  PetscCall(PetscPrintf(comm, "dynamics: sync scheme, %s form, %s, h = %g, K = %" PetscInt_FMT " (T = %g), batch B = %" PetscInt_FMT "; %" PetscInt_FMT " samples\ninvertibility: %s\nmethods:", TnFormTypes[form], TnActTypes[act], (double)g->h, g->K, (double)(g->h * g->K), g->B, g->S, what));
  for (PetscInt c = 0; c < g->ncol; c++) PetscCall(PetscPrintf(comm, " %s%s", g->name[c], c == g->ref ? " (reference)" : ""));
  PetscCall(PetscPrintf(comm, "\n"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnCmdLogDet(MPI_Comm comm)
{
  TnNet     net;
  TnDyn     dyn;
  TnData    data;
  TnGap     g = {.dir = "out", .h2 = PETSC_TRUE};
  char      p1[PETSC_MAX_PATH_LEN], p2[PETSC_MAX_PATH_LEN];
  PetscBool help;
  PetscFunctionBeginUser;
  g.t_total = TnTime();
  PetscCallMPI(MPI_Comm_size(comm, &g.size));
  PetscCall(TnOptionsPassBegin(comm));
  PetscOptionsBegin(comm, "", "Gap study output (tenor logdet)", "tenor");
  PetscCall(PetscOptionsString("-out_dir", "Directory for logdet_steps.csv and logdet.json", "", g.dir, g.dir, sizeof(g.dir), NULL));
  PetscCall(PetscOptionsString("-gap_write_W", "Write W as used (partitioned order; natural with -partition_type none) to this MatrixMarket file", "", g.wout, g.wout, sizeof(g.wout), NULL));
  PetscCall(TnOptionsBool("-gap_h2", "Add the second-order predictions diag_h2 and trace_h2 (docs/model.md section 3)", "", g.h2, &g.h2, NULL));
  PetscOptionsEnd();
  PetscCall(ParseMethods(comm, &g));
  PetscCall(TnCliOptionsPass(comm, "logdet", TN_CLI_DATA, TN_LOGDET_BATCH, &help));
  if (help) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnOutMakeDir(comm, g.dir)); /* before any work: a directory we cannot write is found now */
  PetscCall(PetscPrintf(comm, "tenor logdet on %d rank(s)\n", g.size));
  g.t_setup = TnTime();
  PetscCall(SetUp(comm, &net, &dyn, &data, &g));
  PetscCall(ViewDyn(comm, dyn, &g));
  g.t_setup = TnTime() - g.t_setup;
  g.t_study = TnTime();
  PetscCall(Study(comm, dyn, data, &g));
  g.t_study = TnTime() - g.t_study;
  PetscCall(WriteSteps(comm, &g, p1, sizeof(p1)));
  g.t_total = TnTime() - g.t_total;
  PetscCall(WriteJson(comm, net, dyn, data, &g, p2, sizeof(p2)));
  PetscCall(PrintSummary(comm, &g, p1, p2));
  PetscCall(TnWarnUnusedOptions(comm, "logdet"));
  for (PetscInt m = 0; m < g.nm; m++) PetscCall(TnLogDetDestroy(&g.ld[m]));
  PetscCall(PetscFree3(g.val, g.se, g.sec));
  PetscCall(TnDataDestroy(&data));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}
