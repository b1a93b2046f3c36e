/* TnRule: local learning rules on the network's W (docs/rules.md). Node i
   updates its row W_i. from its own activity r_i and those of its
   in-neighbours j in P_i; off-process r_j arrive through a halo scatter over
   W's ghost columns (garray), block size B, as in the dynamics' forward
   exchange (src/dyn/dynsetup.c). The update is formed in a work array laid
   out like the net's parameter array (zero for b and u), checked, and only
   then added with TnNetSetParams, so a refused step leaves W untouched.
   The trainer takes the update as a direction in theta's layout
   (TnRuleComputeUpdate), which is the same array layout. */
#include <tenor/rule.h>
#include <tenor/io.h>

typedef enum { TN_RULE_HEBB,
               TN_RULE_OJA } TnRuleKind;
static const char *const TnRuleTypes[]         = {TNRULE_HEBB, TNRULE_OJA, "TnRuleKind", "TN_RULE_", NULL};
const char *const        TnRuleScheduleTypes[] = {"constant", "average", "TnRuleSchedule", "TN_RULE_SCHEDULE_", NULL};
const char *const        TnRuleActivityTypes[] = {"input", "evolved", "TnRuleActivity", "TN_RULE_ACTIVITY_", NULL};

struct _p_TnRule {
  MPI_Comm       comm;
  TnNet          net;
  TnRuleKind     kind;
  PetscReal      eta, alpha, wmax;
  TnRuleSchedule sched;
  TnRuleActivity act;
  PetscInt64     steps, samples; /* steps applied and the samples they held (S_t of the average schedule) */
  PetscReal      wlast;          /* max |W_ij| after the last step */
  /* halo for the current batch size (rebuilt when B changes) */
  PetscInt     B, m, nghost;
  VecScatter   halo;
  Vec          G;
  PetscScalar *y;   /* y_i per sample (oja) */
  PetscInt     ndw; /* the parameter array's local length the halo was built for */
  PetscScalar *dw;  /* TnRuleApply's update (parameter layout), of length ndw_apply */
  PetscInt     ndw_apply;
  Mat          Wref; /* the W the halo was built for (a new SetUp of the net makes a new one) */
};

PetscErrorCode TnRuleCreate(TnNet net, TnRule *rule)
{
  TnRule r;
  PetscFunctionBeginUser;
  PetscCall(PetscNew(&r));
  r->net = net;
  PetscCall(TnNetGetComm(net, &r->comm));
  r->kind  = TN_RULE_HEBB;
  r->eta   = 0.01;
  r->alpha = 1.0;
  r->wmax  = 1e6;
  *rule    = r;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode TnRuleReset(TnRule r)
{
  PetscFunctionBeginUser;
  PetscCall(VecScatterDestroy(&r->halo));
  PetscCall(VecDestroy(&r->G));
  PetscCall(PetscFree(r->y));
  r->B = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRuleDestroy(TnRule *rule)
{
  PetscFunctionBeginUser;
  if (!*rule) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnRuleReset(*rule));
  PetscCall(PetscFree((*rule)->dw));
  PetscCall(PetscFree(*rule));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRuleSetType(TnRule r, const char type[])
{
  PetscBool found = PETSC_FALSE;
  PetscFunctionBeginUser;
  for (PetscInt k = 0; k < 2; k++) {
    PetscBool eq;
    PetscCall(PetscStrcmp(type, TnRuleTypes[k], &eq));
    if (eq) r->kind = (TnRuleKind)k, found = PETSC_TRUE;
  }
  PetscCheck(found, r->comm, PETSC_ERR_ARG_UNKNOWN_TYPE, "unknown rule type '%s': use hebb or oja", type);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRuleGetType(TnRule r, const char **type)
{
  PetscFunctionBeginUser;
  *type = TnRuleTypes[r->kind];
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRuleSetEta(TnRule r, PetscReal eta)
{
  PetscFunctionBeginUser;
  PetscCheck(eta > 0 && PetscIsNormalReal(eta), r->comm, PETSC_ERR_ARG_OUTOFRANGE, "the rule's step size eta must be finite and > 0, not %g", (double)eta);
  r->eta = eta;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRuleSetDecay(TnRule r, PetscReal alpha)
{
  PetscFunctionBeginUser;
  PetscCheck(alpha >= 0 && !PetscIsInfOrNanReal(alpha), r->comm, PETSC_ERR_ARG_OUTOFRANGE, "the rule's decay alpha must be finite and >= 0, not %g", (double)alpha);
  r->alpha = alpha;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRuleSetMaxWeight(TnRule r, PetscReal wmax)
{
  PetscFunctionBeginUser;
  PetscCheck(wmax > 0 && !PetscIsInfOrNanReal(wmax), r->comm, PETSC_ERR_ARG_OUTOFRANGE, "the rule's weight limit must be finite and > 0, not %g", (double)wmax);
  r->wmax = wmax;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The average schedule divides by alpha: hebb with alpha > 0 only. */
static PetscErrorCode CheckSettings(TnRule r)
{
  PetscFunctionBeginUser;
  PetscCheck(r->sched != TN_RULE_SCHEDULE_AVERAGE || (r->kind == TN_RULE_HEBB && r->alpha > 0), r->comm, PETSC_ERR_USER, "-rule_schedule average (eta_t = n_t/(alpha S_t)) needs the hebb rule with a decay alpha > 0 (-rule_decay), not %s with alpha %g: use -rule_schedule constant", TnRuleTypes[r->kind], (double)r->alpha);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRuleSetSchedule(TnRule r, TnRuleSchedule schedule)
{
  PetscFunctionBeginUser;
  r->sched = schedule;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRuleSetActivity(TnRule r, TnRuleActivity activity)
{
  PetscFunctionBeginUser;
  r->act = activity;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRuleGetActivity(TnRule r, TnRuleActivity *activity)
{
  PetscFunctionBeginUser;
  *activity = r->act;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRuleSetFromOptions(TnRule r)
{
  PetscInt v = (PetscInt)r->kind, s = (PetscInt)r->sched, a = (PetscInt)r->act;
  PetscFunctionBeginUser;
  PetscOptionsBegin(r->comm, "rule_", "Local learning rules (docs/rules.md)", "TnRule");
  PetscCall(TnOptionsChoice("-type", "Rule: hebb (Hebbian with linear decay) or oja", "TnRuleSetType", TnRuleTypes, 2, &v, NULL));
  PetscCall(TnOptionsReal("-eta", "Step size eta > 0", "TnRuleSetEta", r->eta, &r->eta, NULL, PETSC_SMALL, PETSC_MAX_REAL));
  PetscCall(TnOptionsReal("-decay", "hebb's decay alpha >= 0 (fixed point W = C/alpha)", "TnRuleSetDecay", r->alpha, &r->alpha, NULL, 0, PETSC_MAX_REAL));
  PetscCall(TnOptionsReal("-max_weight", "A step leaving some |W_ij| above this is refused (runaway growth)", "TnRuleSetMaxWeight", r->wmax, &r->wmax, NULL, PETSC_SMALL, PETSC_MAX_REAL));
  PetscCall(TnOptionsChoice("-schedule", "Step size: constant eta, or (hebb) average eta_t = n_t/(alpha S_t) (the running mean of the batches' <r r^T>/alpha)", "TnRuleSetSchedule", TnRuleScheduleTypes, 2, &s, NULL));
  PetscCall(TnOptionsChoice("-activity", "Activity r given by tenor train: input phi(x) or evolved phi(a_k), k = 1..K", "TnRuleSetActivity", TnRuleActivityTypes, 2, &a, NULL));
  PetscOptionsEnd();
  r->kind  = (TnRuleKind)v;
  r->sched = (TnRuleSchedule)s;
  r->act   = (TnRuleActivity)a;
  PetscCall(CheckSettings(r));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRuleGetStats(TnRule r, PetscInt64 *steps, PetscReal *wmax)
{
  PetscFunctionBeginUser;
  if (steps) *steps = r->steps;
  if (wmax) *wmax = r->wlast;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRuleView(TnRule r, PetscViewer viewer)
{
  PetscFunctionBeginUser;
  PetscCall(PetscViewerASCIIPrintf(viewer, "rule: %s, eta %g", TnRuleTypes[r->kind], (double)r->eta));
  if (r->kind == TN_RULE_HEBB) PetscCall(PetscViewerASCIIPrintf(viewer, ", decay %g", (double)r->alpha));
  PetscCall(PetscViewerASCIIPrintf(viewer, ", %s schedule, %s activity, weight limit %g, %" PetscInt64_FMT " steps\n", TnRuleScheduleTypes[r->sched], TnRuleActivityTypes[r->act], (double)r->wmax, r->steps));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The halo scatter r -> G for batch size B (block index set over garray). */
static PetscErrorCode SetUpHalo(TnRule r, Vec x, PetscInt B)
{
  Mat           W;
  TnParamLayout L;
  PetscInt      ng;
  PetscFunctionBeginUser;
  PetscCall(TnRuleReset(r));
  PetscCall(TnNetGetMat(r->net, &W));
  PetscCall(TnNetGetParamLayout(r->net, &L));
  r->m   = L.m;
  r->ndw = L.n;
  PetscCall(TnNetCreateHalo(r->net, x, B, &r->G, &r->halo));
  PetscCall(VecGetSize(r->G, &ng));
  r->nghost = ng / B;
  PetscCall(PetscMalloc1((size_t)L.m * B + 1, &r->y));
  r->B    = B;
  r->Wref = W;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The update of one block (Ad or Ao) of W. Row i's entries t in [ia[i],
   ia[i+1]) have values w[t] and presynaptic activities at rj + ja[t]*B
   (local r, or the ghost copy G). hebb: d = eta (<r_i r_j> - alpha w);
   oja: d = eta (<y_i r_j> - <y_i^2> w); <.> the mean over the samples
   b < nv of the B. */
static void BlockUpdate(TnRuleKind kind, PetscReal eta, PetscReal alpha, PetscInt m, PetscInt B, PetscInt nv, const PetscInt *ia, const PetscInt *ja, const PetscScalar *w, const PetscScalar *ri, const PetscScalar *rj, const PetscScalar *y, PetscScalar *d)
{
  const PetscReal invB = 1.0 / (PetscReal)nv;
  for (PetscInt i = 0; i < m; i++) {
    const PetscScalar *pre = kind == TN_RULE_HEBB ? ri + (size_t)i * B : y + (size_t)i * B;
    PetscReal          yy  = 0;
    if (kind == TN_RULE_OJA)
      for (PetscInt b = 0; b < nv; b++) yy += pre[b] * pre[b];
    for (PetscInt t = ia[i]; t < ia[i + 1]; t++) {
      const PetscScalar *rc = rj + (size_t)ja[t] * B;
      PetscReal          s  = 0;
      for (PetscInt b = 0; b < nv; b++) s += pre[b] * rc[b];
      d[t] = kind == TN_RULE_HEBB ? eta * (s * invB - alpha * w[t]) : eta * (s * invB - yy * invB * w[t]);
    }
  }
}

PetscErrorCode TnRuleGetStepSize(TnRule r, PetscInt n, PetscReal *eta)
{
  PetscFunctionBeginUser;
  PetscCall(CheckSettings(r));
  *eta = r->sched == TN_RULE_SCHEDULE_AVERAGE ? (PetscReal)n / (r->alpha * (PetscReal)(r->samples + n)) : r->eta;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* dw (the parameter array's layout) <- the update for the activities x, of
   which samples b < nvalid count. Collective. */
static PetscErrorCode ComputeArray(TnRule r, Vec x, PetscInt nvalid, PetscScalar *dw)
{
  Mat                W, Ad, Ao;
  TnParamLayout      L;
  const PetscInt    *ia, *ja, *oia, *oja;
  const PetscScalar *px, *pg;
  PetscScalar       *param;
  PetscInt           B, nloc, n;
  PetscBool          done, bad = PETSC_FALSE;
  PetscReal          eta;
  char               msg[512];
  PetscFunctionBeginUser;
  PetscCall(TnNetSetUp(r->net));
  PetscCall(TnNetGetParamLayout(r->net, &L));
  PetscCall(VecGetBlockSize(x, &B));
  PetscCall(VecGetLocalSize(x, &nloc));
  PetscCall(PetscSNPrintf(msg, sizeof msg, "the activities given to the %s rule do not have the network's layout: block size B = number of samples, local size (local rows) * B, in the partitioned order", TnRuleTypes[r->kind]));
  PetscCall(TnErrorSync(r->comm, (PetscBool)(nloc != L.m * B), msg));
  PetscCheck(nvalid >= 1 && nvalid <= B, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "the %s rule's update needs 1 <= nvalid <= B = %" PetscInt_FMT " samples, not %" PetscInt_FMT, TnRuleTypes[r->kind], B, nvalid);
  PetscCall(VecGetArrayRead(x, &px));
  for (PetscInt q = 0; q < nloc; q++)
    if (PetscIsInfOrNanScalar(px[q])) bad = PETSC_TRUE;
  PetscCall(VecRestoreArrayRead(x, &px));
  PetscCall(PetscSNPrintf(msg, sizeof msg, "the activities given to the %s rule hold NaN or Inf", TnRuleTypes[r->kind]));
  PetscCall(TnErrorSync(r->comm, bad, msg));
  PetscCall(TnRuleGetStepSize(r, nvalid, &eta));
  PetscCall(TnNetGetMat(r->net, &W));
  if (B != r->B || L.n != r->ndw || W != r->Wref) PetscCall(SetUpHalo(r, x, B));
  PetscCall(MatMPIAIJGetSeqAIJ(W, &Ad, &Ao, NULL));
  PetscCall(TnNetGetParamArray(r->net, &param, NULL));
  PetscCall(MatGetRowIJ(Ad, 0, PETSC_FALSE, PETSC_FALSE, &n, &ia, &ja, &done));
  PetscCheck(done, PETSC_COMM_SELF, PETSC_ERR_SUP, "cannot access W's CSR arrays");
  PetscCall(MatGetRowIJ(Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &oia, &oja, &done));
  PetscCheck(done, PETSC_COMM_SELF, PETSC_ERR_SUP, "cannot access W's CSR arrays");
  PetscCall(VecScatterBegin(r->halo, x, r->G, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(r->halo, x, r->G, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGetArrayRead(x, &px));
  PetscCall(VecGetArrayRead(r->G, &pg));
  if (r->kind == TN_RULE_OJA) { /* y_i = sum_{j in P_i} W_ij r_j, per sample */
    for (PetscInt i = 0; i < L.m; i++) {
      PetscScalar *yi = r->y + (size_t)i * B;
      for (PetscInt b = 0; b < B; b++) yi[b] = 0;
      for (PetscInt t = ia[i]; t < ia[i + 1]; t++)
        for (PetscInt b = 0; b < B; b++) yi[b] += param[t] * px[(size_t)ja[t] * B + b];
      for (PetscInt t = oia[i]; t < oia[i + 1]; t++)
        for (PetscInt b = 0; b < B; b++) yi[b] += param[L.nd + t] * pg[(size_t)oja[t] * B + b];
    }
  }
  BlockUpdate(r->kind, eta, r->alpha, L.m, B, nvalid, ia, ja, param, px, px, r->y, dw);
  BlockUpdate(r->kind, eta, r->alpha, L.m, B, nvalid, oia, oja, param + L.nd, px, pg, r->y, dw + L.nd);
  PetscCall(PetscArrayzero(dw + L.nd + L.no, L.n - L.nd - L.no)); /* b and u are not learned */
  PetscCall(VecRestoreArrayRead(r->G, &pg));
  PetscCall(VecRestoreArrayRead(x, &px));
  PetscCall(MatRestoreRowIJ(Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &oia, &oja, &done));
  PetscCall(MatRestoreRowIJ(Ad, 0, PETSC_FALSE, PETSC_FALSE, &n, &ia, &ja, &done));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The trial W + dW, by the expression TnNetSetParams stores: its largest
   |W_ij| and whether any entry is non-finite, over all ranks. */
static PetscErrorCode CheckArray(TnRule r, const PetscScalar *dw, PetscReal *wmax, char why[], size_t len)
{
  TnParamLayout L;
  PetscScalar  *param;
  PetscReal     loc[2] = {0, 0}, glob[2];
  PetscFunctionBeginUser;
  PetscCall(TnNetGetParamLayout(r->net, &L));
  PetscCall(TnNetGetParamArray(r->net, &param, NULL));
  for (PetscInt q = 0; q < L.nd + L.no; q++) {
    const PetscReal v = PetscAbsScalar(TnParamTrial(param, dw, 1.0, q));
    if (PetscIsInfOrNanReal(v))
      loc[1] = 1;
    else
      loc[0] = PetscMax(loc[0], v);
  }
  PetscCall(MPIU_Allreduce(loc, glob, 2, MPIU_REAL, MPIU_MAX, r->comm));
  *wmax  = glob[0];
  why[0] = 0;
  if (glob[1] > 0 || glob[0] > r->wmax)
    PetscCall(PetscSNPrintf(why, len, "the %s rule's weights are running away: step %" PetscInt64_FMT " would make %s (limit -rule_max_weight %g); the step was not applied. %s", TnRuleTypes[r->kind], r->steps + 1, glob[1] > 0 ? "some W_ij NaN or Inf" : "max |W_ij| exceed the limit", (double)r->wmax,
                            r->kind == TN_RULE_HEBB && r->alpha == 0 ? "Pure Hebbian learning (-rule_decay 0) has no fixed point: use a decay alpha > 0" : "Use a smaller -rule_eta"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRuleComputeUpdate(TnRule r, Vec x, PetscInt nvalid, Vec d)
{
  TnParamLayout L;
  PetscScalar  *pd;
  PetscInt      n;
  PetscFunctionBeginUser;
  PetscCall(TnNetSetUp(r->net));
  PetscCall(TnNetGetParamLayout(r->net, &L));
  PetscCall(VecGetLocalSize(d, &n));
  PetscCall(TnErrorSync(r->comm, (PetscBool)(n != L.n), "the direction given to TnRuleComputeUpdate does not have theta's layout (tenor/grad.h: TnGradCreateParamVec)"));
  PetscCall(VecGetArrayWrite(d, &pd));
  PetscCall(ComputeArray(r, x, nvalid, pd));
  PetscCall(VecRestoreArrayWrite(d, &pd));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRuleCheckUpdate(TnRule r, Vec d, PetscReal *wmax, char why[], size_t len)
{
  const PetscScalar *pd;
  PetscFunctionBeginUser;
  PetscCall(VecGetArrayRead(d, &pd));
  PetscCall(CheckArray(r, pd, wmax, why, len));
  PetscCall(VecRestoreArrayRead(d, &pd));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRuleUpdateApplied(TnRule r, PetscInt n, PetscReal wmax)
{
  PetscFunctionBeginUser;
  r->wlast = wmax;
  r->steps++;
  r->samples += n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRuleApply(TnRule r, Vec x)
{
  PetscInt      B;
  PetscReal     wmax;
  TnParamLayout L;
  char          why[512];
  PetscFunctionBeginUser;
  PetscCall(TnNetSetUp(r->net));
  PetscCall(TnNetGetParamLayout(r->net, &L));
  PetscCall(VecGetBlockSize(x, &B));
  if (L.n != r->ndw_apply) {
    PetscCall(PetscFree(r->dw));
    PetscCall(PetscMalloc1(L.n + 1, &r->dw));
    r->ndw_apply = L.n;
  }
  PetscCall(ComputeArray(r, x, B, r->dw));
  PetscCall(CheckArray(r, r->dw, &wmax, why, sizeof why));
  PetscCall(TnErrorSync(r->comm, (PetscBool)(why[0] != 0), why));
  PetscCall(TnNetSetParams(r->net, r->dw, 1.0, PETSC_TRUE));
  PetscCall(TnRuleUpdateApplied(r, B, wmax));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRuleWriteAttributes(TnRule r, PetscViewer vw)
{
  PetscFunctionBeginUser;
  PetscCall(TnH5PutStr(vw, "rule_type", TnRuleTypes[r->kind]));
  PetscCall(TnH5PutReal(vw, "rule_eta", r->eta));
  PetscCall(TnH5PutReal(vw, "rule_decay", r->alpha));
  PetscCall(TnH5PutStr(vw, "rule_schedule", TnRuleScheduleTypes[r->sched]));
  PetscCall(TnH5PutStr(vw, "rule_activity", TnRuleActivityTypes[r->act]));
  PetscCall(TnH5PutInt(vw, "rule_steps", r->steps));
  PetscCall(TnH5PutInt(vw, "rule_samples", r->samples));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRuleReadAttributes(TnRule r, PetscViewer vw, const char path[])
{
  PetscInt  k, s, a;
  PetscReal eta, alpha;
  PetscFunctionBeginUser;
  PetscCall(TnH5GetChoice(vw, path, "rule_type", TnRuleTypes, 2, &k));
  PetscCheck(k == (PetscInt)r->kind, r->comm, PETSC_ERR_USER, "%s does not match this run: rule_type is '%s' in the file but '%s' here", path, TnRuleTypes[k], TnRuleTypes[r->kind]);
  PetscCall(TnH5GetRealIn(vw, path, "rule_eta", PETSC_SMALL, PETSC_MAX_REAL, &eta));
  PetscCheck(eta == r->eta, r->comm, PETSC_ERR_USER, "%s does not match this run: rule_eta is %.17g in the file but %.17g here (-rule_eta)", path, (double)eta, (double)r->eta);
  PetscCall(TnH5GetRealIn(vw, path, "rule_decay", 0, PETSC_MAX_REAL, &alpha));
  PetscCheck(alpha == r->alpha, r->comm, PETSC_ERR_USER, "%s does not match this run: rule_decay is %.17g in the file but %.17g here (-rule_decay)", path, (double)alpha, (double)r->alpha);
  PetscCall(TnH5GetChoice(vw, path, "rule_schedule", TnRuleScheduleTypes, 2, &s));
  PetscCheck(s == (PetscInt)r->sched, r->comm, PETSC_ERR_USER, "%s does not match this run: rule_schedule is '%s' in the file but '%s' here (-rule_schedule)", path, TnRuleScheduleTypes[s], TnRuleScheduleTypes[r->sched]);
  PetscCall(TnH5GetChoice(vw, path, "rule_activity", TnRuleActivityTypes, 2, &a));
  PetscCheck(a == (PetscInt)r->act, r->comm, PETSC_ERR_USER, "%s does not match this run: rule_activity is '%s' in the file but '%s' here (-rule_activity)", path, TnRuleActivityTypes[a], TnRuleActivityTypes[r->act]);
  PetscCall(TnH5GetInt(vw, path, "rule_steps", 0, (PetscInt64)1 << 53, &r->steps));
  PetscCall(TnH5GetInt(vw, path, "rule_samples", 0, (PetscInt64)1 << 53, &r->samples));
  PetscFunctionReturn(PETSC_SUCCESS);
}
