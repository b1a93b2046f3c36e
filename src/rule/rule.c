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
#include <tenor/dyn.h>
#include <tenor/io.h>
#include <string.h>
#include <stdint.h>

typedef enum { TN_RULE_HEBB,
               TN_RULE_OJA } TnRuleKind;
static const char *const TnRuleTypes[]         = {TNRULE_HEBB, TNRULE_OJA, "TnRuleKind", "TN_RULE_", NULL};
const char *const        TnRuleScheduleTypes[] = {"constant", "average", "TnRuleSchedule", "TN_RULE_SCHEDULE_", NULL};
const char *const        TnRuleActivityTypes[] = {"input", "evolved", "TnRuleActivity", "TN_RULE_ACTIVITY_", NULL};

/* What one pass of the update saw of the trial W + dW (summed or maxed
   over all ranks after the pass): max |W_ij + dW_ij|, max over rows of
   sum_j |W_ij + dW_ij| (oja's bound needs it; -1: not computed), and
   whether some entry is NaN or Inf. */
typedef struct {
  PetscReal vmax, row1, bad;
} TnRuleStats;

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
  PetscScalar *xa;   /* a copy of activities given off the cache line (B > 1), TnMemoryAllocAligned; m B values */
  PetscScalar *gbuf; /* G's storage, cache-line aligned (TnMemoryAllocAligned): rows of B gathered by Ao's synapses */
  PetscScalar *y;    /* y_i per sample of one row (oja) */
  PetscScalar *buf;  /* oja: one row's gathered r_j, B per synapse (the longest row's synapses times B) */
  PetscInt     ndw;  /* the parameter array's local length the halo was built for */
  PetscBool    pfd;  /* Ad's gathers asked for ahead: its columns are scattered (TnColumnsScattered; Ao's always are) */
  PetscInt    *zero; /* m + 1 zeros: the row pointers of an empty block (hebb's passes over one block) */
  PetscScalar *dw;   /* TnRuleApply's update (parameter layout), of length ndw_apply */
  PetscInt     ndw_apply;
  Mat          Wref; /* the W the halo was built for (a new SetUp of the net makes a new one) */
  /* W's statistics (max |W_ij|, max row sum of |W_ij|, over all ranks) as
     this rule last stored W, valid while the net's parameter version is
     the one recorded then (TnNetGetParamVersion: any other write changes it) */
  TnRuleStats wstat;
  PetscInt64  wversion;
  Mat         wmat;
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
  PetscCall(TnMemoryFreeAligned(&r->gbuf));
  PetscCall(TnMemoryFreeAligned(&r->xa));
  PetscCall(PetscFree(r->y));
  PetscCall(TnMemoryFreeAligned(&r->buf));
  PetscCall(PetscFree(r->zero));
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
  Mat             W, Ad, Ao;
  TnParamLayout   L;
  const PetscInt *ia, *ja, *oia;
  PetscInt        n, len = 0;
  PetscBool       done;
  PetscFunctionBeginUser;
  PetscCall(TnRuleReset(r));
  PetscCall(TnNetGetMat(r->net, &W));
  PetscCall(TnNetGetParamLayout(r->net, &L));
  PetscCall(MatMPIAIJGetSeqAIJ(W, &Ad, &Ao, NULL));
  r->m   = L.m;
  r->ndw = L.n;
  PetscCall(MatGetSize(Ao, NULL, &r->nghost)); /* W's off-process columns: the ghost nodes */
  PetscCall(TnMemoryAllocAligned(sizeof(PetscScalar) * ((size_t)r->nghost * B + 1), &r->gbuf));
  PetscCall(TnNetCreateHalo(r->net, x, B, r->gbuf, &r->G, &r->halo));
  PetscCall(PetscMalloc1(B + 1, &r->y));
  PetscCall(PetscCalloc1(L.m + 1, &r->zero));
  /* oja's row buffer: the longest row (both blocks) times B */
  PetscCall(MatGetRowIJ(Ad, 0, PETSC_FALSE, PETSC_FALSE, &n, &ia, &ja, &done));
  PetscCheck(done, PETSC_COMM_SELF, PETSC_ERR_SUP, "cannot access W's CSR arrays");
  PetscCall(MatGetRowIJ(Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &oia, NULL, &done));
  PetscCheck(done, PETSC_COMM_SELF, PETSC_ERR_SUP, "cannot access W's CSR arrays");
  for (PetscInt i = 0; i < L.m; i++) len = PetscMax(len, ia[i + 1] - ia[i] + oia[i + 1] - oia[i]);
  r->pfd = TnColumnsScattered(L.m, ia, ja);
  PetscCall(MatRestoreRowIJ(Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &oia, NULL, &done));
  PetscCall(MatRestoreRowIJ(Ad, 0, PETSC_FALSE, PETSC_FALSE, &n, &ia, &ja, &done));
  PetscCall(TnMemoryAllocAligned(sizeof(PetscScalar) * ((size_t)len * B + 1), &r->buf));
  r->B    = B;
  r->Wref = W;
  PetscFunctionReturn(PETSC_SUCCESS);
}

#define TN_RULE_INLINE static inline __attribute__((always_inline))

/* 4-wide vectors of reals (GCC/Clang vector extensions): an operation on
   them is the same IEEE operation in each lane. */
typedef PetscReal TnRuleV4 __attribute__((vector_size(4 * sizeof(PetscReal))));
typedef int64_t   TnRuleV4i __attribute__((vector_size(4 * sizeof(int64_t))));
_Static_assert(sizeof(PetscReal) == sizeof(int64_t), "the rules' kernels take PetscReal to be double");

/* lane by lane a < u ? u : a */
TN_RULE_INLINE TnRuleV4 Max4(TnRuleV4 a, TnRuleV4 u)
{
  const TnRuleV4i k = a < u;
  return (TnRuleV4)(((TnRuleV4i)u & k) | ((TnRuleV4i)a & ~k));
}

/* sum_{b < n} p_b q_b in four lanes (lane l: b = l, l + 4, ... in order),
   then pairwise: a fixed order (it depends on n only, not on the rank
   count or the padding). The lanes are one 4-wide vector. */
TN_RULE_INLINE PetscReal Dot(const PetscScalar *restrict p, const PetscScalar *restrict q, const PetscInt n)
{
  TnRuleV4 s = {0, 0, 0, 0};
  PetscInt b = 0;
  for (; b + 4 <= n; b += 4) {
    TnRuleV4 pv, qv;
    memcpy(&pv, p + b, sizeof pv);
    memcpy(&qv, q + b, sizeof qv);
    s += pv * qv;
  }
  for (; b < n; b++) s[0] += p[b] * q[b];
  return (s[0] + s[1]) + (s[2] + s[3]);
}

/* Dot with p held in vectors, p4[q] = p_{4q .. 4q+3} (n a multiple of 4):
   the same sums. */
TN_RULE_INLINE PetscReal DotV(const TnRuleV4 *restrict p4, const PetscScalar *restrict q, const PetscInt n)
{
  TnRuleV4 s = {0, 0, 0, 0};
  for (PetscInt b = 0; b + 4 <= n; b += 4) {
    TnRuleV4 qv;
    memcpy(&qv, q + b, sizeof qv);
    s += p4[b / 4] * qv;
  }
  return (s[0] + s[1]) + (s[2] + s[3]);
}

/* The entries t in [t0, t1) of one row in one block of W: values w[t],
   presynaptic activities at rj + ja[t] B (or rj + (t - t0) B, buffered).
   With the row's factor (hebb: r_i; oja: y_i, in pre or, in vectors, in
   pre4) and c its decay coefficient (hebb: alpha; oja: <y_i^2>),
     dW_ij = eta (<pre r_j> - c W_ij),   <.> = (1/n) sum over the samples b < n,
   stored in d[t] (direction) or added to w[t] in place (inplace); either
   way the trial v = W_ij + dW_ij, bit for bit what is stored, feeds
   *vmax = max(*vmax, |v|) and the row's sum *rs += |v| (in order of t).
   These are the statistics when every v is finite; a row with some
   non-finite v makes *rs non-finite, and Rows then computes that row's
   statistics again (RowStatsExact): no test or select per synapse. The
   gather of the synapse TN_RULE_AHEAD places on (below nz, the block's
   synapse count) is asked for ahead when pf (the block's columns
   scattered: a lattice's near columns the hardware prefetcher follows by
   itself): the sum over the samples is a chain of dependent adds, so
   without it few gathers are in flight at once (hebb at er, B = 16, took
   twice oja's time, whose y loop issues its gathers back to back). Into
   L2 (locality 2: prefetcht1), 32 synapses ahead: into L1 (prefetcht0) 16
   ahead, the L1's few fill buffers capped the misses in flight (er
   N = 10^6, B = 16, 1 rank: hebb 0.63 -> 0.27 s, oja 0.69 -> 0.30 s per
   update; docs/rules.md).
   buffered (oja): the activities are the row's own copy, rj + (t - t0) B
   (GatherRow), in cache. Column panels (each pass over the rows gathering
   from a cache-sized slice of the activities) were tried and lost:
   docs/rules.md, Cost. */
#define TN_RULE_AHEAD 32
TN_RULE_INLINE void RowBlock(PetscInt t0, PetscInt t1, PetscInt nz, const PetscInt *restrict ja, PetscScalar *restrict w, PetscScalar *restrict d, const PetscScalar *restrict rj, const PetscReal *restrict pre, const TnRuleV4 *restrict pre4, PetscReal eta, PetscReal c, PetscReal invn, PetscReal *vmax, PetscReal *rs, const int inplace, const int buffered, const int pf, const PetscInt B, const PetscInt n)
{
  PetscReal mx = *vmax, sum = *rs;
  for (PetscInt t = t0; t < t1; t++) {
    if (!buffered && pf && t + TN_RULE_AHEAD < nz) {
      const PetscScalar *xf = rj + (size_t)ja[t + TN_RULE_AHEAD] * B;
      __builtin_prefetch(xf, 0, 2);
      __builtin_prefetch(xf + B - 1, 0, 2);
    }
    const PetscScalar *xj = rj + (size_t)(buffered ? t - t0 : ja[t]) * B;
    const PetscReal    s  = pre4 ? DotV(pre4, xj, n) : Dot(pre, xj, n);
    const PetscReal    wt = w[t];
    const PetscReal    dt = eta * (s * invn - c * wt);
    const PetscReal    v = wt + dt, av = PetscAbsReal(v);
    mx = mx < av ? av : mx;
    sum += av;
    if (inplace)
      w[t] = v;
    else
      d[t] = dt;
  }
  *vmax = mx;
  *rs   = sum;
}

/* The statistics of the stored trial values v (w[t] in place, else
   w[t] + d[t], the expression RowBlock stored) of the entries t in
   [t0, t1): a non-finite v sets *bad and counts in neither max |v| nor the
   row's sum. */
TN_RULE_INLINE void RowStatsExact(PetscInt t0, PetscInt t1, const PetscScalar *w, const PetscScalar *d, const int inplace, PetscReal *vmax, PetscReal *rs, PetscBool *bad)
{
  for (PetscInt t = t0; t < t1; t++) {
    const PetscReal v = inplace ? w[t] : w[t] + d[t], av = PetscAbsReal(v);
    if (!(av <= PETSC_MAX_REAL))
      *bad = PETSC_TRUE;
    else {
      *vmax = *vmax < av ? av : *vmax;
      *rs += av;
    }
  }
}

/* Row i's presynaptic activities in one block, synapses t in [t0, t1):
   y += W_ij r_j per sample (the synapses in order), each gathered r_j
   (B values) copied to buf + (t - t0) B as it is read. The gather of the
   synapse ahead places on (below nz) is asked for ahead when pf (scattered
   columns). */
TN_RULE_INLINE void GatherRow(PetscInt t0, PetscInt t1, PetscInt nz, const PetscInt *restrict ja, const PetscScalar *restrict w, const PetscScalar *restrict rj, PetscScalar *restrict buf, PetscReal *restrict y, const int pf, const PetscInt ahead, const PetscInt B)
{
  for (PetscInt t = t0; t < t1; t++) {
    const PetscScalar *xj    = rj + (size_t)ja[t] * B;
    PetscScalar *restrict bt = buf + (size_t)(t - t0) * B;
    const PetscReal wt       = w[t];
    if (pf && t + ahead < nz) {
      const PetscScalar *xf = rj + (size_t)ja[t + ahead] * B;
      __builtin_prefetch(xf);
      if (B > 1) __builtin_prefetch(xf + B - 1);
    }
    for (PetscInt b = 0; b < B; b++) {
      bt[b] = xj[b];
      y[b] += wt * xj[b];
    }
  }
}

/* GatherRow with y in vectors, y4[q] = y_{4q .. 4q+3} (B a multiple of 4):
   the same sums, y_i held in vector registers through the row. */
TN_RULE_INLINE void GatherRow4(PetscInt t0, PetscInt t1, PetscInt nz, const PetscInt *restrict ja, const PetscScalar *restrict w, const PetscScalar *restrict rj, PetscScalar *restrict buf, TnRuleV4 *restrict y4, const int pf, const PetscInt B)
{
  for (PetscInt t = t0; t < t1; t++) {
    const PetscScalar *xj    = rj + (size_t)ja[t] * B;
    PetscScalar *restrict bt = buf + (size_t)(t - t0) * B;
    const PetscReal wt       = w[t];
    if (pf && t + TN_RULE_AHEAD < nz) {
      const PetscScalar *xf = rj + (size_t)ja[t + TN_RULE_AHEAD] * B;
      __builtin_prefetch(xf, 0, 2);
      __builtin_prefetch(xf + B - 1, 0, 2);
    }
    for (PetscInt q = 0; q < B / 4; q++) {
      TnRuleV4 xv;
      memcpy(&xv, xj + 4 * q, sizeof xv);
      memcpy(bt + 4 * q, &xv, sizeof xv);
      y4[q] += wt * xv;
    }
  }
}

/* GatherRow for B = 1, four synapses at a time: the four gathered r_j as
   one vector, stored as one (RowBlock1 loads it back whole: a load served
   by one store, not by four), y += W_ij r_j in order of t; returns y. */
TN_RULE_INLINE PetscReal GatherRow1(PetscInt t0, PetscInt t1, PetscInt nz, const PetscInt *restrict ja, const PetscScalar *restrict w, const PetscScalar *restrict rj, PetscScalar *restrict buf, PetscReal y, const int pf, const PetscInt ahead)
{
  PetscInt t = t0;
  for (; t + 4 <= t1; t += 4) {
    if (pf && t + ahead + 3 < nz) {
      for (PetscInt l = 0; l < 4; l++) __builtin_prefetch(rj + ja[t + ahead + l]);
    }
    const TnRuleV4 xv = {rj[ja[t]], rj[ja[t + 1]], rj[ja[t + 2]], rj[ja[t + 3]]};
    TnRuleV4       wv;
    memcpy(&wv, w + t, sizeof wv);
    memcpy(buf + (t - t0), &xv, sizeof xv);
    const TnRuleV4 p = wv * xv;
    y += p[0];
    y += p[1];
    y += p[2];
    y += p[3];
  }
  for (; t < t1; t++) {
    if (pf && t + ahead < nz) __builtin_prefetch(rj + ja[t + ahead]);
    const PetscScalar xj = rj[ja[t]];
    buf[t - t0]          = xj;
    y += w[t] * xj;
  }
  return y;
}

/* RowBlock for B = n = 1 from the row's buffer x (buffered): four synapses
   at a time in 4-wide vectors, lane l the synapse t + l. Per synapse the
   operations of RowBlock: s = 0 + y x_t (Dot at n = 1: its further adds of
   zero change no value, 0 + y x_t not being -0), dt = eta (s invn - c w_t),
   v = w_t + dt; max |v| lane by lane (exact in any order), the row's sum
   of |v| in order of t. */
TN_RULE_INLINE void RowBlock1(PetscInt t0, PetscInt t1, PetscScalar *restrict w, PetscScalar *restrict d, const PetscScalar *restrict x, PetscReal y, PetscReal eta, PetscReal c, PetscReal invn, PetscReal *vmax, PetscReal *rs, const int inplace)
{
  const TnRuleV4i mag = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
  const TnRuleV4  z   = {0, 0, 0, 0};
  TnRuleV4        mx4 = {*vmax, *vmax, *vmax, *vmax};
  PetscReal       mx = *vmax, sum = *rs;
  PetscInt        t = t0;
  for (; t + 4 <= t1; t += 4) {
    TnRuleV4 xv, wv;
    memcpy(&xv, x + (t - t0), sizeof xv);
    memcpy(&wv, w + t, sizeof wv);
    const TnRuleV4 sv = z + y * xv, dt = eta * (sv * invn - c * wv), v = wv + dt, av = (TnRuleV4)((TnRuleV4i)v & mag);
    mx4 = Max4(mx4, av);
    sum += av[0];
    sum += av[1];
    sum += av[2];
    sum += av[3];
    if (inplace)
      memcpy(w + t, &v, sizeof v);
    else
      memcpy(d + t, &dt, sizeof dt);
  }
  for (; t < t1; t++) {
    const PetscReal s = 0 + y * x[t - t0], wt = w[t], dt = eta * (s * invn - c * wt), v = wt + dt, av = PetscAbsReal(v);
    mx = mx < av ? av : mx;
    sum += av;
    if (inplace)
      w[t] = v;
    else
      d[t] = dt;
  }
  for (PetscInt l = 0; l < 4; l++) mx = mx < mx4[l] ? mx4[l] : mx;
  *vmax = mx;
  *rs   = sum;
}

/* Every local row, W read and the activities gathered once: hebb updates
   the row from the gathered r_j; oja gathers row i's r_j (Ad's synapses,
   then Ao's) into buf (the row's synapses times B values: in L1) while it
   forms y_i = sum_{j in P_i} W_ij r_j per sample, then updates the row from
   buf while the row's W_ij are still in cache. y_i is held in registers:
   in 4-wide vectors when B is a multiple of 4 up to 32 (all samples
   valid), else in a local array (r->y beyond 32). At B = 1 oja asks for
   its scattered gathers TN_RULE_AHEAD1 synapses ahead (two er rows of 32):
   the row's update, waiting for y_i, would otherwise hold back the next
   row's gathers; and a row of at least TN_RULE_VEC1_MIN synapses is
   gathered and updated four synapses at a time (GatherRow1, RowBlock1; at
   a lattice's five synapses per row the scalar loops are faster). The sums
   are those of a row's y then its update in two passes, in the same order:
   the same W bit for bit. w: W's values (Ad's, then Ao's at nd), d the
   direction (same layout) or NULL when inplace; inplace also writes the
   net's W_ii of each row into wd as the row is done (dp: the net's
   diagonal positions), so that the net need not read W again for it
   (TnNetWeightsUpdatedDiag). */
/* Entries per piece of HebbRows1: the piece's row factors in L1. */
#define TN_RULE_PIECE 512

/* pre[t - t0] = r_i of the row i holding entry t, for the entries t in
   [t0, t1) of a block with row pointers ia (the rows from *i on; *i moves
   to the row holding t1). */
TN_RULE_INLINE void RowFactors(PetscInt t0, PetscInt t1, const PetscInt *restrict ia, PetscInt m, PetscInt *i, const PetscScalar *restrict px, PetscScalar *restrict pre)
{
  PetscInt r = *i, t = t0;
  while (t < t1) {
    while (ia[r + 1] <= t) r++; /* the row holding t (empty rows skipped) */
    const PetscInt  e  = PetscMin(ia[r + 1], t1);
    const PetscReal xi = px[r];
    for (; t < e; t++) pre[t - t0] = xi;
  }
  while (r < m && ia[r + 1] <= t1) r++;
  *i = r;
}

/* The entries t in [t0, t1) of one block at B = n = 1, in order of t
   across the rows, four at a time in 4-wide vectors (lane l the entry
   t + l), pre[t - t0] the factor of t's row (r_i): RowBlock's operations at
   n = 1, s = 0 + r_i x_j (Dot at n = 1), dt = eta (s - alpha w_t) (invn =
   1), v = w_t + dt, stored in place or as the direction; *mx4 the lane-wise
   max of |v|, *f4 set in a lane where some |v| is not finite. */
TN_RULE_INLINE void HebbPiece1(PetscInt t0, PetscInt t1, const PetscInt *restrict ja, PetscScalar *restrict w, PetscScalar *restrict d, const PetscScalar *restrict rj, const PetscScalar *restrict pre, PetscReal eta, PetscReal alpha, TnRuleV4 *mx4, TnRuleV4i *f4, const int inplace)
{
  const TnRuleV4i mag = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
  const TnRuleV4  big = {PETSC_MAX_REAL, PETSC_MAX_REAL, PETSC_MAX_REAL, PETSC_MAX_REAL};
  const TnRuleV4  z   = {0, 0, 0, 0};
  TnRuleV4        mx  = *mx4;
  TnRuleV4i       f   = *f4;
  PetscInt        t   = t0;
  for (; t + 4 <= t1; t += 4) {
    const TnRuleV4 xv = {rj[ja[t]], rj[ja[t + 1]], rj[ja[t + 2]], rj[ja[t + 3]]};
    TnRuleV4       wv, pv;
    memcpy(&wv, w + t, sizeof wv);
    memcpy(&pv, pre + (t - t0), sizeof pv);
    const TnRuleV4 sv = z + pv * xv, dt = eta * (sv - alpha * wv), v = wv + dt, av = (TnRuleV4)((TnRuleV4i)v & mag);
    f |= ~(av <= big);
    mx = Max4(mx, av);
    if (inplace)
      memcpy(w + t, &v, sizeof v);
    else
      memcpy(d + t, &dt, sizeof dt);
  }
  for (; t < t1; t++) {
    const PetscReal s = 0 + pre[t - t0] * rj[ja[t]], wt = w[t], dt = eta * (s - alpha * wt), v = wt + dt, av = PetscAbsReal(v);
    f[0] |= av <= PETSC_MAX_REAL ? 0 : -1;
    mx[0] = mx[0] < av ? av : mx[0];
    if (inplace)
      w[t] = v;
    else
      d[t] = dt;
  }
  *mx4 = mx;
  *f4  = f;
}

/* hebb at B = n = 1, every local row: each block's entries in pieces of
   TN_RULE_PIECE taken in order across the rows (HebbPiece1), four at a
   time, instead of row by row: a lattice's five synapses a row leave a row
   loop bound by its instructions (per row its bounds, its sums, its
   checks), not by memory. The same values as RowBlock; max |v| is exact in
   any order, and when some v is not finite the statistics are taken again
   row by row, exactly (RowStatsExact). In a function of its own: inlined
   into Update with Rows' other instances, its loops kept their pointers on
   the stack. */
static void __attribute__((noinline)) HebbRows1(PetscInt m, PetscInt nd, const PetscInt *restrict ia, const PetscInt *restrict ja, const PetscInt *restrict oia, const PetscInt *restrict oja, PetscScalar *restrict w, PetscScalar *restrict d, const PetscScalar *restrict px, const PetscScalar *restrict pg, PetscReal eta, PetscReal alpha, TnRuleStats *st, const PetscInt *restrict dp, PetscScalar *restrict wd, const int inplace)
{
  PetscScalar pre[TN_RULE_PIECE];
  TnRuleV4    mx4 = {0, 0, 0, 0};
  TnRuleV4i   f4  = {0, 0, 0, 0};
  PetscInt    ri = 0, rd = 0;
  PetscReal   vmax = 0;
  PetscBool   bad  = PETSC_FALSE;
  for (PetscInt t0 = 0; t0 < ia[m]; t0 += TN_RULE_PIECE) {
    const PetscInt t1 = PetscMin(t0 + TN_RULE_PIECE, ia[m]);
    RowFactors(t0, t1, ia, m, &ri, px, pre);
    HebbPiece1(t0, t1, ja, w, d, px, pre, eta, alpha, &mx4, &f4, inplace);
    if (inplace && wd)
      for (; rd < ri; rd++) TnNetDiagOfRow(dp, w, wd, rd); /* W_ii of the rows done, while in cache */
  }
  if (inplace && wd)
    for (; rd < m; rd++) TnNetDiagOfRow(dp, w, wd, rd);
  ri = 0;
  for (PetscInt t0 = 0; t0 < oia[m]; t0 += TN_RULE_PIECE) {
    const PetscInt t1 = PetscMin(t0 + TN_RULE_PIECE, oia[m]);
    RowFactors(t0, t1, oia, m, &ri, px, pre);
    HebbPiece1(t0, t1, oja, w + nd, d ? d + nd : NULL, pg, pre, eta, alpha, &mx4, &f4, inplace);
  }
  if (PetscUnlikely(f4[0] | f4[1] | f4[2] | f4[3])) /* some v not finite: the statistics again, row by row */
    for (PetscInt i = 0; i < m; i++) {
      PetscReal rs = 0;
      RowStatsExact(ia[i], ia[i + 1], w, d, inplace, &vmax, &rs, &bad);
      RowStatsExact(oia[i], oia[i + 1], w + nd, d ? d + nd : NULL, inplace, &vmax, &rs, &bad);
    }
  else
    for (PetscInt l = 0; l < 4; l++) vmax = vmax < mx4[l] ? mx4[l] : vmax;
  st->vmax = vmax;
  st->row1 = -1;
  st->bad  = bad ? 1 : 0;
}

#define TN_RULE_AHEAD1 64
#define TN_RULE_VEC1_MIN 8

/* oja at B = n = 1 on the four rows i .. i + 3 at once, row i + l in lane l
   of 4-wide vectors, when the four have the same number of synapses in
   each block and fewer than TN_RULE_VEC1_MIN in all (a lattice's rows,
   which one by one leave the loop bound by its instructions): synapse t of
   each row in turn, Ad's then Ao's, y_i = sum_j W_ij r_j and then the
   update, each lane with RowBlock's operations at n = 1 in the row's own
   order (s = 0 + y_i r_j, dt = eta (s - <y_i^2> w), v = w + dt; the row's
   sum of |v| in order of t), so the same values and statistics as the rows
   one by one; rows whose sum of |v| is not finite have their statistics
   taken again, exactly. OjaGroupable1 tells where it applies. */
TN_RULE_INLINE int OjaGroupable1(PetscInt i, PetscInt m, const PetscInt *ia, const PetscInt *oia)
{
  const PetscInt nd = ia[i + 1] - ia[i], no = oia[i + 1] - oia[i];
  if (i + 4 > m || nd + no >= TN_RULE_VEC1_MIN) return 0;
  for (PetscInt l = 1; l < 4; l++)
    if (ia[i + l + 1] - ia[i + l] != nd || oia[i + l + 1] - oia[i + l] != no) return 0;
  return 1;
}

TN_RULE_INLINE void OjaGroup1(PetscInt i, const PetscInt *ia, const PetscInt *ja, const PetscInt *oia, const PetscInt *oja, PetscScalar *w, PetscScalar *d, PetscScalar *wo, PetscScalar *od, const PetscScalar *px, const PetscScalar *pg, PetscReal eta, PetscReal *vmax, PetscReal *row1, PetscBool *bad, const PetscInt *dp, PetscScalar *wd, const int inplace)
{
  const PetscInt  nd = ia[i + 1] - ia[i], no = oia[i + 1] - oia[i];
  const TnRuleV4i mag = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
  const TnRuleV4  z   = {0, 0, 0, 0};
  const PetscInt  d0 = ia[i], d1 = ia[i + 1], d2 = ia[i + 2], d3 = ia[i + 3];
  const PetscInt  o0 = oia[i], o1 = oia[i + 1], o2 = oia[i + 2], o3 = oia[i + 3];
  TnRuleV4        xb[TN_RULE_VEC1_MIN], wb[TN_RULE_VEC1_MIN], y = z, rs = z, mx = {*vmax, *vmax, *vmax, *vmax};
  for (PetscInt t = 0; t < nd; t++) {
    xb[t] = (TnRuleV4){px[ja[d0 + t]], px[ja[d1 + t]], px[ja[d2 + t]], px[ja[d3 + t]]};
    wb[t] = (TnRuleV4){w[d0 + t], w[d1 + t], w[d2 + t], w[d3 + t]};
    y += wb[t] * xb[t];
  }
  for (PetscInt t = 0; t < no; t++) {
    xb[nd + t] = (TnRuleV4){pg[oja[o0 + t]], pg[oja[o1 + t]], pg[oja[o2 + t]], pg[oja[o3 + t]]};
    wb[nd + t] = (TnRuleV4){wo[o0 + t], wo[o1 + t], wo[o2 + t], wo[o3 + t]};
    y += wb[nd + t] * xb[nd + t];
  }
  const TnRuleV4 c = z + y * y; /* <y_i^2> at n = 1 (invn = 1) */
  for (PetscInt t = 0; t < nd + no; t++) {
    const TnRuleV4 sv = z + y * xb[t], dt = eta * (sv - c * wb[t]), v = wb[t] + dt, av = (TnRuleV4)((TnRuleV4i)v & mag);
    const TnRuleV4 out = inplace ? v : dt;
    PetscScalar   *q   = t < nd ? (inplace ? w : d) : (inplace ? wo : od);
    const PetscInt k   = t < nd ? t : t - nd;
    mx                 = Max4(mx, av);
    rs += av;
    if (t < nd) {
      q[d0 + k] = out[0];
      q[d1 + k] = out[1];
      q[d2 + k] = out[2];
      q[d3 + k] = out[3];
    } else {
      q[o0 + k] = out[0];
      q[o1 + k] = out[1];
      q[o2 + k] = out[2];
      q[o3 + k] = out[3];
    }
  }
  if (PetscUnlikely(!(rs[0] <= PETSC_MAX_REAL && rs[1] <= PETSC_MAX_REAL && rs[2] <= PETSC_MAX_REAL && rs[3] <= PETSC_MAX_REAL))) {
    for (PetscInt l = 0; l < 4; l++) { /* some v not finite: the rows' statistics again, exactly */
      PetscReal r = 0;
      RowStatsExact(ia[i + l], ia[i + l + 1], w, d, inplace, vmax, &r, bad);
      RowStatsExact(oia[i + l], oia[i + l + 1], wo, od, inplace, vmax, &r, bad);
      *row1 = PetscMax(*row1, r);
    }
  } else
    for (PetscInt l = 0; l < 4; l++) {
      *vmax = *vmax < mx[l] ? mx[l] : *vmax;
      *row1 = PetscMax(*row1, rs[l]);
    }
  if (inplace)
    for (PetscInt l = 0; l < 4; l++) TnNetDiagOfRow(dp, w, wd, i + l);
}
TN_RULE_INLINE void Rows(const TnRuleKind kind, PetscInt m, PetscInt nd, const PetscInt *ia, const PetscInt *ja, const PetscInt *oia, const PetscInt *oja, PetscScalar *w, PetscScalar *d, const PetscScalar *px, const PetscScalar *pg, PetscScalar *restrict y, PetscScalar *restrict buf, PetscReal eta, PetscReal alpha, TnRuleStats *st, const int pfd, const PetscInt *dp, PetscScalar *wd, const int inplace, const PetscInt B, const PetscInt n)
{
  const PetscReal invn  = 1.0 / (PetscReal)n;
  const PetscInt  ahead = B == 1 ? TN_RULE_AHEAD1 : TN_RULE_AHEAD;
  const int       vec   = B % 4 == 0 && B <= 32 && n == B;
  PetscBool       bad   = PETSC_FALSE;
  PetscReal       vmax = 0, row1 = 0;
  for (PetscInt i = 0; i < m; i++) {
    const PetscInt  nrd = ia[i + 1] - ia[i];
    const PetscReal mx0 = vmax;
    PetscReal       rs = 0, yy = 0;
    if (kind == TN_RULE_OJA && vec) {
      TnRuleV4 y4[8];
      for (PetscInt q = 0; q < B / 4; q++) y4[q] = (TnRuleV4){0, 0, 0, 0};
      GatherRow4(ia[i], ia[i + 1], ia[m], ja, w, px, buf, y4, pfd, B);
      GatherRow4(oia[i], oia[i + 1], oia[m], oja, w + nd, pg, buf + (size_t)nrd * B, y4, 1, B);
      for (PetscInt b = 0; b < n; b++) yy += y4[b / 4][b % 4] * y4[b / 4][b % 4];
      const PetscReal c = yy * invn;
      RowBlock(ia[i], ia[i + 1], ia[m], ja, w, d, buf, NULL, y4, eta, c, invn, &vmax, &rs, inplace, 1, 0, B, n);
      RowBlock(oia[i], oia[i + 1], oia[m], oja, w + nd, d ? d + nd : NULL, buf + (size_t)nrd * B, NULL, y4, eta, c, invn, &vmax, &rs, inplace, 1, 0, B, n);
    } else if (kind == TN_RULE_OJA && B == 1 && n == 1 && nrd + oia[i + 1] - oia[i] >= TN_RULE_VEC1_MIN) {
      const PetscReal y1 = GatherRow1(oia[i], oia[i + 1], oia[m], oja, w + nd, pg, buf + nrd, GatherRow1(ia[i], ia[i + 1], ia[m], ja, w, px, buf, 0, pfd, ahead), 1, ahead);
      const PetscReal c  = (0 + y1 * y1) * invn;
      RowBlock1(ia[i], ia[i + 1], w, d, buf, y1, eta, c, invn, &vmax, &rs, inplace);
      RowBlock1(oia[i], oia[i + 1], w + nd, d ? d + nd : NULL, buf + nrd, y1, eta, c, invn, &vmax, &rs, inplace);
    } else if (kind == TN_RULE_OJA) {
      PetscReal ylr[32], *restrict yl = B <= 32 ? ylr : y;
      for (PetscInt b = 0; b < B; b++) yl[b] = 0;
      GatherRow(ia[i], ia[i + 1], ia[m], ja, w, px, buf, yl, pfd, ahead, B);
      GatherRow(oia[i], oia[i + 1], oia[m], oja, w + nd, pg, buf + (size_t)nrd * B, yl, 1, ahead, B);
      for (PetscInt b = 0; b < n; b++) yy += yl[b] * yl[b];
      const PetscReal c = yy * invn;
      RowBlock(ia[i], ia[i + 1], ia[m], ja, w, d, buf, yl, NULL, eta, c, invn, &vmax, &rs, inplace, 1, 0, B, n);
      RowBlock(oia[i], oia[i + 1], oia[m], oja, w + nd, d ? d + nd : NULL, buf + (size_t)nrd * B, yl, NULL, eta, c, invn, &vmax, &rs, inplace, 1, 0, B, n);
    } else {
      const PetscScalar *pre = px + (size_t)i * B;
      RowBlock(ia[i], ia[i + 1], ia[m], ja, w, d, px, pre, NULL, eta, alpha, invn, &vmax, &rs, inplace, 0, pfd, B, n);
      RowBlock(oia[i], oia[i + 1], oia[m], oja, w + nd, d ? d + nd : NULL, pg, pre, NULL, eta, alpha, invn, &vmax, &rs, inplace, 0, 1, B, n);
    }
    if (PetscUnlikely(!(rs <= PETSC_MAX_REAL))) { /* some v not finite (or the row's sum overflowed): the row's statistics again, exactly */
      vmax = mx0;
      rs   = 0;
      RowStatsExact(ia[i], ia[i + 1], w, d, inplace, &vmax, &rs, &bad);
      RowStatsExact(oia[i], oia[i + 1], w + nd, d ? d + nd : NULL, inplace, &vmax, &rs, &bad);
    }
    if (kind == TN_RULE_OJA) row1 = PetscMax(row1, rs);
    if (inplace && wd) TnNetDiagOfRow(dp, w, wd, i); /* W_ii while the row is in cache */
  }
  st->vmax = vmax;
  st->row1 = kind == TN_RULE_OJA ? row1 : -1; /* only oja's bound needs it: -1, not known */
  st->bad  = bad ? 1 : 0;
}

/* Rows for oja at B = n = 1, with runs of four like rows at once
   (OjaGroup1) and the rows between them by Rows (its gathers asked for
   ahead across the run), in a function of its own. */
static void __attribute__((noinline)) OjaRows1(PetscInt m, PetscInt nd, const PetscInt *ia, const PetscInt *ja, const PetscInt *oia, const PetscInt *oja, PetscScalar *w, PetscScalar *d, const PetscScalar *px, const PetscScalar *pg, PetscScalar *buf, PetscReal eta, TnRuleStats *st, const int pfd, const PetscInt *dp, PetscScalar *wd, const int inplace)
{
  PetscReal vmax = 0, row1 = 0;
  PetscBool bad = PETSC_FALSE;
  PetscInt  i   = 0;
  while (i < m) {
    PetscInt i1 = i;
    while (i1 < m && !OjaGroupable1(i1, m, ia, oia)) i1++;
    if (i1 > i) { /* rows [i, i1) one by one */
      TnRuleStats s1;
      Rows(TN_RULE_OJA, i1 - i, nd, ia + i, ja, oia + i, oja, w, d, px, pg, NULL, buf, eta, 0, &s1, pfd, dp + i, wd + i, inplace, 1, 1);
      vmax = PetscMax(vmax, s1.vmax);
      row1 = PetscMax(row1, s1.row1);
      bad  = bad || s1.bad;
    }
    for (i = i1; i < m && OjaGroupable1(i, m, ia, oia); i += 4) OjaGroup1(i, ia, ja, oia, oja, w, d, w + nd, d ? d + nd : NULL, px, pg, eta, &vmax, &row1, &bad, dp, wd, inplace);
  }
  st->vmax = vmax;
  st->row1 = row1;
  st->bad  = bad ? 1 : 0;
}

#define TN_RULE_ROWS(inplace, B, n)                                                                                                   \
  do {                                                                                                                                \
    if (r->kind == TN_RULE_HEBB && (B) == 1 && (n) == 1)                                                                              \
      HebbRows1(L.m, L.nd, ia, ja, oia, oja, w, dw, px, pg, eta, r->alpha, st, dp, wd, inplace);                                      \
    else if (r->kind == TN_RULE_OJA && (B) == 1 && (n) == 1)                                                                          \
      OjaRows1(L.m, L.nd, ia, ja, oia, oja, w, dw, px, pg, r->buf, eta, st, r->pfd, dp, wd, inplace);                                 \
    else if (r->kind == TN_RULE_HEBB)                                                                                                 \
      Rows(TN_RULE_HEBB, L.m, L.nd, ia, ja, oia, oja, w, dw, px, pg, r->y, r->buf, eta, r->alpha, st, r->pfd, dp, wd, inplace, B, n); \
    else                                                                                                                              \
      Rows(TN_RULE_OJA, L.m, L.nd, ia, ja, oia, oja, w, dw, px, pg, r->y, r->buf, eta, r->alpha, st, r->pfd, dp, wd, inplace, B, n);  \
  } while (0)
/* CALL(B, n) with B (= n, no padding) a compile-time constant for the
   usual batch sizes, as it is otherwise. */
#define TN_RULE_BN(B, n, CALL) \
  do {                         \
    if ((n) != (B))            \
      CALL(B, n);              \
    else                       \
      switch (B) {             \
      case 1:                  \
        CALL(1, 1);            \
        break;                 \
      case 4:                  \
        CALL(4, 4);            \
        break;                 \
      case 8:                  \
        CALL(8, 8);            \
        break;                 \
      case 16:                 \
        CALL(16, 16);          \
        break;                 \
      case 32:                 \
        CALL(32, 32);          \
        break;                 \
      default:                 \
        CALL(B, B);            \
      }                        \
  } while (0)
#define TN_RULE_ROWS_INPLACE(B, n) TN_RULE_ROWS(1, B, n)
#define TN_RULE_ROWS_DIRECTION(B, n) TN_RULE_ROWS(0, B, n)

/* Row x's sum of squares ss = sum_{b < n} x_b^2 (in order of b) into
   *sm = max(*sm, ss), max_{b < n} |x_b| into *am, and whether some x_b
   (b < B) is not finite into *nf. */
TN_RULE_INLINE void ActRow(const PetscScalar *restrict x, const PetscInt B, const PetscInt n, PetscReal *sm, PetscReal *am, int *nf)
{
  PetscReal ss = 0, a = *am;
  int       f = *nf;
  for (PetscInt b = 0; b < B; b++) {
    const PetscReal av = PetscAbsReal(x[b]), u = b < n ? av : 0;
    f |= !(av <= PETSC_MAX_REAL);
    ss += u * u;
    a = a < u ? u : a;
  }
  *sm = *sm < ss ? ss : *sm;
  *am = a;
  *nf = f;
}

/* The activities' statistics over the rows i < m (B values per row, of
   which b < n count): max_i ss_i, max |r_ib|, and whether some r_ib is
   not finite (the return value). With every sample valid (n = B), four
   rows at a time, row i + l in lane l of 4-wide vectors: each row's sum in
   its own lane, in order of b; a maximum is exact in any order. */
TN_RULE_INLINE int ActStats(const PetscScalar *restrict px, PetscInt m, const PetscInt B, const PetscInt n, PetscReal *ssmax, PetscReal *amax)
{
  PetscReal sm = 0, am = 0;
  int       nf = 0;
  PetscInt  i  = 0;
  if (n == B) {
    const TnRuleV4i mag = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
    const TnRuleV4  big = {PETSC_MAX_REAL, PETSC_MAX_REAL, PETSC_MAX_REAL, PETSC_MAX_REAL};
    TnRuleV4        s4 = {0, 0, 0, 0}, a4 = {0, 0, 0, 0};
    TnRuleV4i       f4 = {0, 0, 0, 0};
    for (; i + 4 <= m; i += 4) {
      const PetscScalar *x  = px + (size_t)i * B;
      TnRuleV4           ss = {0, 0, 0, 0};
      for (PetscInt b = 0; b < B; b++) {
        const TnRuleV4 v = {x[b], x[B + b], x[2 * B + b], x[3 * B + b]}, av = (TnRuleV4)((TnRuleV4i)v & mag);
        f4 |= ~(av <= big);
        ss += av * av;
        a4 = Max4(a4, av);
      }
      s4 = Max4(s4, ss);
    }
    for (PetscInt l = 0; l < 4; l++) {
      sm = sm < s4[l] ? s4[l] : sm;
      am = am < a4[l] ? a4[l] : am;
      nf |= f4[l] != 0;
    }
  }
  for (; i < m; i++) ActRow(px + (size_t)i * B, B, n, &sm, &am, &nf);
  *ssmax = sm;
  *amax  = am;
  return nf;
}

/* Checks the activities x (layout, finite) and gives, over all ranks,
   R2 = max_i <r_i^2> and rmax = max |r_ib| over the samples b < nvalid. */
static PetscErrorCode CheckActivities(TnRule r, Vec x, PetscInt nvalid, PetscInt *Bout, PetscReal *R2, PetscReal *rmax)
{
  TnParamLayout      L;
  const PetscScalar *px;
  PetscInt           B, nloc;
  PetscBool          bad    = PETSC_FALSE;
  PetscReal          loc[2] = {0, 0}, glob[2];
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
  { /* max_i fl(ss_i / n) = fl(max_i ss_i / n), rounding being monotone: one division */
    PetscReal ssmax, amax;
    int       nf;
#define TN_RULE_ACT(B, n) nf = ActStats(px, L.m, B, n, &ssmax, &amax)
    TN_RULE_BN(B, nvalid, TN_RULE_ACT);
#undef TN_RULE_ACT
    bad    = nf ? PETSC_TRUE : PETSC_FALSE;
    loc[0] = ssmax / nvalid;
    loc[1] = amax;
  }
  PetscCall(VecRestoreArrayRead(x, &px));
  PetscCall(PetscSNPrintf(msg, sizeof msg, "the activities given to the %s rule hold NaN or Inf", TnRuleTypes[r->kind]));
  PetscCall(TnErrorSync(r->comm, bad, msg));
  PetscCall(MPIU_Allreduce(loc, glob, 2, MPIU_REAL, MPIU_MAX, r->comm));
  *Bout = B;
  *R2   = glob[0];
  *rmax = glob[1];
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rows (or the B = 1 kernels) over the rows of the blocks given (an empty
   block's row pointers: r->zero), W's values in w, the direction into dw
   or, dw = NULL, in place (W_ii into wd when wd is given). */
static PetscErrorCode RowsPass(TnRule r, const TnParamLayout *Lp, PetscInt B, PetscInt nvalid, const PetscInt *ia, const PetscInt *ja, const PetscInt *oia, const PetscInt *oja, PetscScalar *w, PetscScalar *dw, const PetscScalar *px, const PetscScalar *pg, PetscReal eta, const PetscInt *dp, PetscScalar *wd, TnRuleStats *st)
{
  const TnParamLayout L = *Lp;
  PetscFunctionBeginUser;
  if (!dw)
    TN_RULE_BN(B, nvalid, TN_RULE_ROWS_INPLACE);
  else
    TN_RULE_BN(B, nvalid, TN_RULE_ROWS_DIRECTION);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One pass over W's pattern: dw (the parameter array's layout; W's part
   only) <- the update for the activities x, of which samples b < nvalid
   count; or, dw = NULL, W <- W + dW in place. st: the trial's local
   statistics (not yet reduced over the ranks). Collective (the halo). */
static PetscErrorCode Update(TnRule r, Vec x, PetscInt B, PetscInt nvalid, PetscScalar *dw, TnRuleStats *st)
{
  Mat                W, Ad, Ao;
  TnParamLayout      L;
  const PetscInt    *ia, *ja, *oia, *oja;
  const PetscScalar *pxv, *px, *pg;
  PetscScalar       *w, *va, *vo, *wd = NULL;
  const PetscInt    *dp    = NULL;
  Vec                wdiag = NULL;
  PetscInt           n;
  PetscBool          done;
  PetscReal          eta;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetParamLayout(r->net, &L));
  PetscCall(TnRuleGetStepSize(r, nvalid, &eta));
  PetscCall(TnNetGetMat(r->net, &W));
  if (B != r->B || L.n != r->ndw || W != r->Wref) PetscCall(SetUpHalo(r, x, B));
  PetscCall(MatMPIAIJGetSeqAIJ(W, &Ad, &Ao, NULL));
  PetscCall(TnNetGetParamArray(r->net, &w, NULL));
  PetscCall(MatGetRowIJ(Ad, 0, PETSC_FALSE, PETSC_FALSE, &n, &ia, &ja, &done));
  PetscCheck(done, PETSC_COMM_SELF, PETSC_ERR_SUP, "cannot access W's CSR arrays");
  PetscCall(MatGetRowIJ(Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &oia, &oja, &done));
  PetscCheck(done, PETSC_COMM_SELF, PETSC_ERR_SUP, "cannot access W's CSR arrays");
  PetscCall(VecScatterBegin(r->halo, x, r->G, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGetArrayRead(x, &pxv));
  px = pxv;
  if (B > 1 && (uintptr_t)px % 64) { /* rows of B values gathered off the cache line span a line more each (B = 16: 3 lines for 2, hebb and oja 1.4 times slower at er): gathered from an aligned copy (TnVecCreateAligned's Vecs need none) */
    if (!r->xa) PetscCall(TnMemoryAllocAligned(sizeof(PetscScalar) * ((size_t)L.m * B + 1), &r->xa));
    PetscCall(PetscArraycpy(r->xa, px, (size_t)L.m * B));
    px = r->xa;
  }
  if (!dw) { /* written through W's own storage, so that W's state (and any cached norm) moves on; W_ii with it */
    PetscCall(TnNetGetDiagPositions(r->net, &dp));
    PetscCall(TnNetGetVecs(r->net, NULL, NULL, &wdiag));
    PetscCall(VecGetArray(wdiag, &wd));
    PetscCall(MatSeqAIJGetArray(Ad, &va));
    PetscCall(MatSeqAIJGetArray(Ao, &vo));
    PetscCheck(va == w && (!L.no || vo == w + L.nd), PETSC_COMM_SELF, PETSC_ERR_PLIB, "W's value arrays are not the network's parameter storage");
  }
  if (r->kind == TN_RULE_HEBB) { /* a synapse needs r_i and r_j only: Ad's while the halo is in flight, then Ao's */
    TnRuleStats so;
    PetscCall(RowsPass(r, &L, B, nvalid, ia, ja, r->zero, oja, w, dw, px, NULL, eta, dp, wd, st));
    PetscCall(VecScatterEnd(r->halo, x, r->G, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecGetArrayRead(r->G, &pg));
    PetscCall(RowsPass(r, &L, B, nvalid, r->zero, ja, oia, oja, w, dw, px, pg, eta, dp, NULL, &so));
    st->vmax = PetscMax(st->vmax, so.vmax);
    st->bad  = PetscMax(st->bad, so.bad);
  } else { /* oja's y_i needs the whole row before any of its updates */
    PetscCall(VecScatterEnd(r->halo, x, r->G, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecGetArrayRead(r->G, &pg));
    PetscCall(RowsPass(r, &L, B, nvalid, ia, ja, oia, oja, w, dw, px, pg, eta, dp, wd, st));
  }
  if (!dw) {
    PetscCall(MatSeqAIJRestoreArray(Ao, &vo));
    PetscCall(MatSeqAIJRestoreArray(Ad, &va));
    PetscCall(VecRestoreArray(wdiag, &wd));
  } else
    PetscCall(PetscArrayzero(dw + L.nd + L.no, L.n - L.nd - L.no)); /* b and u are not learned */
  PetscCall(VecRestoreArrayRead(r->G, &pg));
  PetscCall(VecRestoreArrayRead(x, &pxv));
  PetscCall(MatRestoreRowIJ(Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &oia, &oja, &done));
  PetscCall(MatRestoreRowIJ(Ad, 0, PETSC_FALSE, PETSC_FALSE, &n, &ia, &ja, &done));
  PetscCall(PetscLogFlops((r->kind == TN_RULE_OJA ? 4.0 : 2.0) * nvalid * (double)(L.nd + L.no)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode ReduceStats(TnRule r, TnRuleStats *st)
{
  PetscReal v[3] = {st->vmax, st->row1, st->bad};
  PetscFunctionBeginUser;
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, v, 3, MPIU_REAL, MPIU_MAX, r->comm));
  st->vmax = v[0];
  st->row1 = v[1];
  st->bad  = v[2];
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* W was stored by this rule with the statistics st (TnNetWeightsUpdated or
   TnNetSetParams done): remember them with the net's parameter version. */
static PetscErrorCode StoredW(TnRule r, const TnRuleStats *st)
{
  PetscFunctionBeginUser;
  r->wstat = *st;
  PetscCall(TnNetGetParamVersion(r->net, &r->wversion));
  PetscCall(TnNetGetMat(r->net, &r->wmat));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* W's statistics from its values (wd: Ad's, wo: Ao's), one pass over
   the rows: max_i sum_j |W_ij| (in row1; Ad's entries then Ao's, in
   order), max |W_ij| over the finite entries (vmax) and whether some W_ij
   or some row sum is not finite (bad). Per entry a max and the row's sum
   only; a row whose sum is not finite is gone over again with a test per
   entry (RowStatsExact), which gives what a test per entry everywhere
   gives. */
static PetscErrorCode WStatsRows(PetscInt m, const PetscInt *ia, const PetscInt *oia, const PetscScalar *wd, const PetscScalar *wo, TnRuleStats *st)
{
  PetscReal vmax = 0, row1 = 0;
  PetscBool bad = PETSC_FALSE;
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < m; i++) {
    const PetscReal mx0 = vmax;
    PetscReal       rs  = 0;
    for (PetscInt t = ia[i]; t < ia[i + 1]; t++) {
      const PetscReal av = PetscAbsScalar(wd[t]);
      vmax               = vmax < av ? av : vmax;
      rs += av;
    }
    for (PetscInt t = oia[i]; t < oia[i + 1]; t++) {
      const PetscReal av = PetscAbsScalar(wo[t]);
      vmax               = vmax < av ? av : vmax;
      rs += av;
    }
    if (PetscUnlikely(!(rs <= PETSC_MAX_REAL))) {
      PetscReal rx = 0;
      vmax         = mx0;
      RowStatsExact(ia[i], ia[i + 1], wd, NULL, 1, &vmax, &rx, &bad);
      RowStatsExact(oia[i], oia[i + 1], wo, NULL, 1, &vmax, &rx, &bad);
    }
    row1 = PetscMax(row1, rs);
  }
  st->vmax = vmax;
  st->row1 = row1;
  st->bad  = bad || !(row1 <= PETSC_MAX_REAL) ? 1 : 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* W's statistics over all ranks: remembered when W is as this rule stored
   it, else one pass over W's values. Collective. */
static PetscErrorCode WStats(TnRule r, TnRuleStats *st)
{
  PetscInt64      v;
  TnParamLayout   L;
  PetscScalar    *w;
  const PetscInt *ia, *oia;
  PetscInt        n;
  PetscBool       done, same, all;
  Mat             W, Ad, Ao;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetParamVersion(r->net, &v));
  PetscCall(TnNetGetMat(r->net, &W));
  same = (PetscBool)(W == r->wmat && v == r->wversion && (r->kind == TN_RULE_HEBB || r->wstat.row1 >= 0));
  PetscCall(MPIU_Allreduce(&same, &all, 1, MPIU_BOOL, MPI_LAND, r->comm));
  if (all) {
    *st = r->wstat;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(TnNetGetParamLayout(r->net, &L));
  PetscCall(TnNetGetParamArray(r->net, &w, NULL));
  PetscCall(MatMPIAIJGetSeqAIJ(W, &Ad, &Ao, NULL));
  PetscCall(MatGetRowIJ(Ad, 0, PETSC_FALSE, PETSC_FALSE, &n, &ia, NULL, &done));
  PetscCheck(done, PETSC_COMM_SELF, PETSC_ERR_SUP, "cannot access W's CSR arrays");
  PetscCall(MatGetRowIJ(Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &oia, NULL, &done));
  PetscCheck(done, PETSC_COMM_SELF, PETSC_ERR_SUP, "cannot access W's CSR arrays");
  PetscCall(WStatsRows(L.m, ia, oia, w, w + L.nd, st));
  PetscCall(MatRestoreRowIJ(Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &oia, NULL, &done));
  PetscCall(MatRestoreRowIJ(Ad, 0, PETSC_FALSE, PETSC_FALSE, &n, &ia, NULL, &done));
  PetscCall(ReduceStats(r, st));
  PetscCall(StoredW(r, st));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* An a-priori bound U >= max |W_ij + dW_ij| of the coming step from W's
   statistics (max |W_ij| = Wm, max_i sum_j |W_ij| = S) and the activities'
   (R2 = max_i <r_i^2>, rmax = max |r_ib|), by Cauchy-Schwarz,
   |<p r_j>| <= sqrt(<p^2> <r_j^2>):
     hebb: |W + dW| <= |1 - eta alpha| Wm + eta R2;
     oja:  |y_ib| <= S rmax =: Y, so <y_i^2> <= Y^2 and
           |W + dW| <= max(1, |1 - eta Y^2|) Wm + eta Y sqrt(R2).
   When U (with a relative margin of 1e-6 for the rounding of the sums) is
   within the limit, the step cannot be refused and is made in place in one
   pass; otherwise it is formed in a work array, checked and only then
   added. Returns PETSC_FALSE when W is not finite. */
static PetscBool InPlaceSafe(TnRule r, PetscReal eta, const TnRuleStats *w, PetscReal R2, PetscReal rmax)
{
  PetscReal U;
  if (w->bad > 0) return PETSC_FALSE;
  if (r->kind == TN_RULE_HEBB)
    U = PetscAbsReal(1 - eta * r->alpha) * w->vmax + eta * R2;
  else {
    const PetscReal Y = w->row1 * rmax;
    U                 = PetscMax(1.0, PetscAbsReal(1 - eta * Y * Y)) * w->vmax + eta * Y * PetscSqrtReal(R2);
  }
  return (PetscBool)(U * (1 + 1e-6) <= r->wmax);
}

PetscErrorCode TnRuleGetStepSize(TnRule r, PetscInt n, PetscReal *eta)
{
  PetscFunctionBeginUser;
  PetscCall(CheckSettings(r));
  *eta = r->sched == TN_RULE_SCHEDULE_AVERAGE ? (PetscReal)n / (r->alpha * (PetscReal)(r->samples + n)) : r->eta;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The message for a trial with the statistics st (over all ranks), or an
   empty why[] when it is within the limit. */
static PetscErrorCode Verdict(TnRule r, const TnRuleStats *st, PetscReal *wmax, char why[], size_t len)
{
  PetscFunctionBeginUser;
  *wmax  = st->vmax;
  why[0] = 0;
  if (st->bad > 0 || st->vmax > r->wmax)
    PetscCall(PetscSNPrintf(why, len, "the %s rule's weights are running away: step %" PetscInt64_FMT " would make %s (limit -rule_max_weight %g); the step was not applied. %s", TnRuleTypes[r->kind], r->steps + 1, st->bad > 0 ? "some W_ij NaN or Inf" : "max |W_ij| exceed the limit", (double)r->wmax,
                            r->kind == TN_RULE_HEBB && r->alpha == 0 ? "Pure Hebbian learning (-rule_decay 0) has no fixed point: use a decay alpha > 0" : "Use a smaller -rule_eta"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The trial W + dW, by the expression TnNetSetParams stores: its
   statistics over all ranks. */
static PetscErrorCode CheckArray(TnRule r, const PetscScalar *dw, TnRuleStats *st)
{
  TnParamLayout L;
  PetscScalar  *param;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetParamLayout(r->net, &L));
  PetscCall(TnNetGetParamArray(r->net, &param, NULL));
  st->vmax = st->row1 = st->bad = 0;
  for (PetscInt q = 0; q < L.nd + L.no; q++) {
    const PetscReal v = PetscAbsScalar(TnParamTrial(param, dw, 1.0, q));
    if (!(v <= PETSC_MAX_REAL))
      st->bad = 1;
    else
      st->vmax = PetscMax(st->vmax, v);
  }
  PetscCall(ReduceStats(r, st));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRuleComputeUpdate(TnRule r, Vec x, PetscInt nvalid, Vec d)
{
  TnParamLayout L;
  TnRuleStats   st;
  PetscScalar  *pd;
  PetscInt      n, B;
  PetscReal     R2, rmax;
  PetscFunctionBeginUser;
  PetscCall(TnNetSetUp(r->net));
  PetscCall(TnNetGetParamLayout(r->net, &L));
  PetscCall(VecGetLocalSize(d, &n));
  PetscCall(TnErrorSync(r->comm, (PetscBool)(n != L.n), "the direction given to TnRuleComputeUpdate does not have theta's layout (tenor/grad.h: TnGradCreateParamVec)"));
  PetscCall(CheckActivities(r, x, nvalid, &B, &R2, &rmax));
  PetscCall(VecGetArrayWrite(d, &pd));
  PetscCall(Update(r, x, B, nvalid, pd, &st));
  PetscCall(VecRestoreArrayWrite(d, &pd));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRuleCheckUpdate(TnRule r, Vec d, PetscReal *wmax, char why[], size_t len)
{
  TnRuleStats        st;
  const PetscScalar *pd;
  PetscFunctionBeginUser;
  PetscCall(VecGetArrayRead(d, &pd));
  PetscCall(CheckArray(r, pd, &st));
  PetscCall(VecRestoreArrayRead(d, &pd));
  PetscCall(Verdict(r, &st, wmax, why, len));
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

/* One step. When the a-priori bound (InPlaceSafe) shows that the step
   cannot take W beyond the limit, it is made in place: one pass over W's
   pattern (reading W, the activities and their halo; writing W). Otherwise
   dW is formed in a work array with the trial's statistics in the same
   pass, and added only when they are within the limit. Either way W's
   stored values are the same W + dW, bit for bit. */
PetscErrorCode TnRuleApply(TnRule r, Vec x)
{
  PetscInt      B;
  PetscReal     wmax, eta, R2, rmax;
  TnParamLayout L;
  TnRuleStats   ws, st;
  char          why[512];
  PetscFunctionBeginUser;
  PetscCall(TnNetSetUp(r->net));
  PetscCall(TnNetGetParamLayout(r->net, &L));
  PetscCall(VecGetBlockSize(x, &B));
  PetscCall(CheckActivities(r, x, B, &B, &R2, &rmax));
  PetscCall(TnRuleGetStepSize(r, B, &eta));
  PetscCall(WStats(r, &ws));
  if (InPlaceSafe(r, eta, &ws, R2, rmax)) {
    PetscCall(Update(r, x, B, B, NULL, &st)); /* W_ii written too */
    PetscCall(ReduceStats(r, &st));
    PetscCall(TnNetWeightsUpdatedDiag(r->net));
  } else {
    if (L.n != r->ndw_apply) {
      PetscCall(PetscFree(r->dw));
      PetscCall(PetscMalloc1(L.n + 1, &r->dw));
      r->ndw_apply = L.n;
    }
    PetscCall(Update(r, x, B, B, r->dw, &st));
    PetscCall(ReduceStats(r, &st));
    PetscCall(Verdict(r, &st, &wmax, why, sizeof why));
    PetscCall(TnErrorSync(r->comm, (PetscBool)(why[0] != 0), why));
    PetscCall(TnNetSetParams(r->net, r->dw, 1.0, PETSC_TRUE));
  }
  PetscCall(StoredW(r, &st));
  PetscCall(TnRuleUpdateApplied(r, B, st.vmax));
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
