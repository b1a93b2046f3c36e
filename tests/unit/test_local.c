/* The local rule (TnGradComputeLocal, docs/gradient.md "The local rule"):
   (a) with W diagonal the nodes do not interact, so node i's own terms are
   the whole loss's dependence on theta_i: the rule equals the exact gradient
   (TnGradCompute) to round-off, every scheme, form, base and activation,
   also on fewer nodes than ranks;
   (b) on a general network it matches central finite differences of the
   truncated objective -- for each parameter of node i, node i's own loss
   terms with the other nodes' trajectories frozen at their unperturbed
   values -- computed by a dense evaluator written here, independent of the
   trace code; (c) the same rule on 1 rank and on all ranks; (d) the
   continuous scheme, a global log-det method and traces beyond the memory
   limit are refused; (e) a second call, whose traces hold the first
   one's, gives the same rule bit for bit; (f) the states stored give the
   rule of the traces to round-off, through the step's column panels too;
   (g) the store chosen by memory. */
#include "tn_test.h"
#include "dyn/dynimpl.h"
#include <tenor/grad.h>
#include <tenor/loss.h>
#include <tenor/data.h>
#include <stdlib.h>

#define NMAX TN_TEST_NMAX
#define BMAX 4
#define KMAX 6

typedef TnTestModel  Model;
typedef TnTestConfig Config;

/* A gradient in theta's layout as dense natural arrays on every rank:
   gW[i][j], gb[i], gu[i]. */
static PetscErrorCode Gather(TnGrad g, Vec grad, PetscReal gW[NMAX][NMAX], PetscReal gb[NMAX], PetscReal gu[NMAX])
{
  const PetscInt  *row, *col;
  const PetscReal *p;
  PetscInt         n;
  PetscReal        loc[NMAX * NMAX + 2 * NMAX] = {0}, all[NMAX * NMAX + 2 * NMAX];
  PetscFunctionBeginUser;
  PetscCall(TnGradGetParamMap(g, &row, &col));
  PetscCall(VecGetLocalSize(grad, &n));
  PetscCall(VecGetArrayRead(grad, &p));
  for (PetscInt q = 0; q < n; q++) {
    if (col[q] >= 0)
      loc[row[q] * NMAX + col[q]] = p[q];
    else if (col[q] == -1)
      loc[NMAX * NMAX + row[q]] = p[q];
    else
      loc[NMAX * NMAX + NMAX + row[q]] = p[q];
  }
  PetscCall(VecRestoreArrayRead(grad, &p));
  PetscCall(TnGradRestoreParamMap(g, &row, &col));
  PetscCall(MPIU_Allreduce(loc, all, NMAX * NMAX + 2 * NMAX, MPIU_REAL, MPIU_SUM, PETSC_COMM_WORLD));
  for (PetscInt i = 0; i < NMAX; i++) {
    for (PetscInt j = 0; j < NMAX; j++) gW[i][j] = all[i * NMAX + j];
    gb[i] = all[NMAX * NMAX + i];
    gu[i] = all[NMAX * NMAX + NMAX + i];
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The colour of every node, natural order (colored), on every rank. */
static PetscErrorCode Colors(TnGrad g, TnDyn dyn, PetscInt N, PetscInt color[NMAX])
{
  const PetscInt *row, *col, *c;
  PetscInt        m, loc[NMAX] = {0};
  TnNet           net;
  TnParamLayout   L;
  PetscFunctionBeginUser;
  PetscCall(TnDynGetNet(dyn, &net));
  PetscCall(TnNetGetParamLayout(net, &L));
  PetscCall(TnDynGetLocalSize(dyn, &m));
  PetscCall(TnDynGetColors(dyn, &c));
  PetscCall(TnGradGetParamMap(g, &row, &col));
  for (PetscInt r = 0; r < m; r++) loc[row[L.b + r]] = c[r]; /* b's entry names row r's natural number */
  PetscCall(TnGradRestoreParamMap(g, &row, &col));
  PetscCall(MPIU_Allreduce(loc, color, (PetscMPIInt)N, MPIU_INT, MPI_SUM, PETSC_COMM_WORLD));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* ---- the dense reference: the dynamics and the local loss, written out ---- */

static PetscReal Phi(TnAct act, PetscReal s)
{
  return act == TN_ACT_TANH ? tanh(s) : s;
}
static PetscReal DPhi(TnAct act, PetscReal s)
{
  return act == TN_ACT_TANH ? 1 - tanh(s) * tanh(s) : 1;
}

/* Node i's update from the state v it sees (v[i] its own a_k,i) with row
   parameters w[], bi, gi: its new value, and its local loss -T(h A_ii). */
static PetscReal NodeUpdate(const Config *c, PetscReal h, PetscInt N, const PetscBool *Prow, const PetscReal *w, PetscReal bi, PetscReal gi, PetscInt i, const PetscReal *v, PetscReal *loss)
{
  PetscReal y = bi, f, d;
  for (PetscInt j = 0; j < N; j++)
    if (Prow[j]) y += w[j] * (c->form == TN_FORM_RATE ? Phi(c->act, v[j]) : v[j]);
  f     = c->form == TN_FORM_RATE ? y : Phi(c->act, y);
  d     = DPhi(c->act, c->form == TN_FORM_RATE ? v[i] : y);
  *loss = -TnLogDetTerm(c->ldt, h * (-gi + (Prow[i] ? w[i] : 0) * d));
  return v[i] + h * (-gi * v[i] + f);
}

/* The full trajectory tr[k][b][j] (k = 0 .. K), and seen[k][b][i][j]: the
   state node i is updated from at step k (sync: a_k; colored: a_{k+1} on
   the colours below i's, a_k on the others). */
typedef struct {
  PetscReal tr[KMAX + 1][BMAX][NMAX];
  PetscReal seen[KMAX][BMAX][NMAX][NMAX];
} Traj;

static void Trajectory(const Config *c, const Model *m, PetscReal h, PetscInt K, PetscInt B, const PetscInt *color, PetscReal x[NMAX][BMAX], Traj *T)
{
  const PetscInt N    = m->N;
  PetscInt       ncol = 1;
  PetscBool      col  = (PetscBool)!strcmp(c->scheme, TN_SCHEME_COLORED);
  if (col)
    for (PetscInt i = 0; i < N; i++) ncol = PetscMax(ncol, color[i] + 1);
  for (PetscInt b = 0; b < B; b++) {
    for (PetscInt i = 0; i < N; i++) T->tr[0][b][i] = x[i][b];
    for (PetscInt k = 0; k < K; k++) {
      PetscReal cur[NMAX], loss;
      for (PetscInt i = 0; i < N; i++) cur[i] = T->tr[k][b][i];
      for (PetscInt cc = 0; cc < ncol; cc++) {
        PetscReal nxt[NMAX];
        for (PetscInt i = 0; i < N; i++)
          if (!col || color[i] == cc) {
            for (PetscInt j = 0; j < N; j++) T->seen[k][b][i][j] = cur[j];
            nxt[i] = NodeUpdate(c, h, N, m->P[i], m->W[i], m->b[i], m->g[i], i, cur, &loss);
          }
        for (PetscInt i = 0; i < N; i++)
          if (!col || color[i] == cc) cur[i] = nxt[i];
      }
      for (PetscInt i = 0; i < N; i++) T->tr[k + 1][b][i] = cur[i];
    }
  }
}

/* Node i's own loss, mean over the nvalid real samples: its trajectory
   under the row parameters (w, bi, gi), the others frozen at T's values. */
static PetscReal NodeLoss(const Config *c, const Model *m, PetscReal h, PetscInt K, PetscInt nvalid, const Traj *T, PetscInt i, const PetscReal *w, PetscReal bi, PetscReal gi)
{
  PetscReal total = 0;
  for (PetscInt b = 0; b < nvalid; b++) {
    PetscReal ai = T->tr[0][b][i], l = 0;
    for (PetscInt k = 0; k < K; k++) {
      PetscReal v[NMAX], loss;
      for (PetscInt j = 0; j < m->N; j++) v[j] = T->seen[k][b][i][j];
      v[i] = ai;
      ai   = NodeUpdate(c, h, m->N, m->P[i], w, bi, gi, i, v, &loss);
      l += loss;
    }
    total += l - TnBaseLogDensity(c->base, ai);
  }
  return total / nvalid;
}

/* ---- the library side ---- */

typedef struct {
  TnNet  net;
  TnDyn  dyn;
  TnGrad g;
  Vec    x, grad;
} Setup;

static PetscErrorCode SetupCreate(const Config *c, const Model *m, PetscReal h, PetscInt K, PetscInt B, uint64_t seed, PetscReal x[NMAX][BMAX], Setup *s)
{
  PetscFunctionBeginUser;
  PetscCall(TnTestModelNet(m, &s->net));
  PetscCall(TnDynCreate(s->net, &s->dyn));
  PetscCall(TnTestConfigure(s->dyn, c, h, K, B));
  PetscCall(TnGradCreate(s->dyn, &s->g));
  PetscCall(TnDynCreateState(s->dyn, &s->x));
  PetscCall(TnTestFillState(s->dyn, 1.2, seed, BMAX, &x[0][0], s->x));
  { /* theta's layout, without TnGradSetUp (which refuses a global log-det method itself) */
    TnParamLayout L;
    PetscCall(TnNetGetParamLayout(s->net, &L));
    PetscCall(VecCreateMPI(PETSC_COMM_WORLD, L.n, PETSC_DETERMINE, &s->grad));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode SetupDestroy(Setup *s)
{
  PetscFunctionBeginUser;
  PetscCall(VecDestroy(&s->grad));
  PetscCall(VecDestroy(&s->x));
  PetscCall(TnGradDestroy(&s->g));
  PetscCall(TnDynDestroy(&s->dyn));
  PetscCall(TnNetDestroy(&s->net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The rule's gradient (local) or the exact one, and log Phi per sample. */
static PetscErrorCode Run(Setup *s, PetscInt nvalid, PetscBool local, PetscReal logphi[BMAX])
{
  TnDynResult res;
  PetscFunctionBeginUser;
  PetscCall(TnDynResultCreate(s->dyn, &res));
  res.nvalid = nvalid;
  if (local)
    PetscCall(TnGradComputeLocal(s->g, s->x, &res, s->grad));
  else
    PetscCall(TnGradCompute(s->g, s->x, &res, s->grad));
  for (PetscInt b = 0; b < res.B; b++) logphi[b] = res.logphi[b];
  PetscCall(TnDynResultDestroy(&res));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static const Config *AllConfigs(PetscInt *n)
{
  static Config   cs[64];
  static PetscInt nc = 0;
  if (!nc) {
    const struct {
      TnScheme     s;
      TnLogDetType l;
    } sch[] = {
        {TN_SCHEME_SYNC, TN_LOGDET_DIAG},
        {TN_SCHEME_SYNC, TN_LOGDET_TRACE},
        {TN_SCHEME_COLORED, TN_LOGDET_DIAG}};
    for (int s = 0; s < 3; s++)
      for (int form = 0; form < 2; form++)
        for (int base = 0; base < 2; base++)
          for (int act = 0; act < 2; act++) cs[nc++] = (Config){sch[s].s, sch[s].l, (TnForm)form, (TnAct)act, (TnBase)base, PETSC_TRUE, 0, NULL};
  }
  *n = nc;
  return cs;
}

/* (a) W diagonal: the rule = the exact gradient, every component, and the
   same log Phi; and on a general network the two differ (the comparison
   can fail). */
/* N nodes; *empty: whether some rank owns none of them. */
static PetscErrorCode DiagonalCheck(const Config *c, PetscInt N, uint64_t seed, PetscReal *worst, PetscReal *general, PetscBool *empty)
{
  const PetscInt B = 3, nvalid = 2, K = 5;
  PetscReal      x[NMAX][BMAX], le[BMAX], ll[BMAX];
  PetscReal      eW[NMAX][NMAX], eb[NMAX], eu[NMAX], lW[NMAX][NMAX], lb[NMAX], lu[NMAX], nrm = 0;
  Model          m;
  Setup          s;
  PetscFunctionBeginUser;
  *worst = *general = 0;
  for (int pass = 0; pass < 2; pass++) {
    PetscReal diff = 0;
    TnTestModelRandom(&m, N, pass == 0 ? 0.0 : N < 4 ? 1.0
                                                     : 0.3,
                      0.8, seed);
    PetscCall(SetupCreate(c, &m, 0.15, K, B, seed + 1, x, &s));
    if (empty) {
      PetscInt mmin;
      PetscCall(MPIU_Allreduce(&s.dyn->m, &mmin, 1, MPIU_INT, MPI_MIN, PETSC_COMM_WORLD));
      *empty = (PetscBool)(mmin == 0);
    }
    PetscCall(Run(&s, nvalid, PETSC_FALSE, le));
    PetscCall(Gather(s.g, s.grad, eW, eb, eu));
    PetscCall(Run(&s, nvalid, PETSC_TRUE, ll));
    PetscCall(Gather(s.g, s.grad, lW, lb, lu));
    for (PetscInt b = 0; b < B; b++) TN_ASSERT_CLOSE(ll[b], le[b], 1e-14);
    nrm = 0;
    for (PetscInt i = 0; i < m.N; i++) {
      nrm = PetscMax(nrm, PetscMax(PetscAbsReal(eb[i]), PetscAbsReal(eu[i])));
      for (PetscInt j = 0; j < m.N; j++) nrm = PetscMax(nrm, PetscAbsReal(eW[i][j]));
    }
    for (PetscInt i = 0; i < m.N; i++) {
      diff = PetscMax(diff, PetscMax(PetscAbsReal(lb[i] - eb[i]), PetscAbsReal(lu[i] - eu[i])));
      for (PetscInt j = 0; j < m.N; j++) diff = PetscMax(diff, PetscAbsReal(lW[i][j] - eW[i][j]));
    }
    CU_ASSERT(nrm > 1e-3);
    if (pass == 0)
      *worst = diff / nrm;
    else
      *general = diff / nrm;
    PetscCall(SetupDestroy(&s));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_diagonal(void)
{
  PetscInt      n;
  const Config *cs = AllConfigs(&n);
  for (PetscInt q = 0; q < n; q++) {
    PetscReal worst, general;
    TN_ASSERT_OK(DiagonalCheck(&cs[q], 10, 300 + q, &worst, &general, NULL));
    if (worst > 1e-12 || getenv("TN_LOCAL_VERBOSE")) PetscPrintf(PETSC_COMM_WORLD, "  diagonal W, %s %s %s %s %s: max |local - exact| / max |exact| = %.3g (general W: %.3g)\n", cs[q].scheme, TnLogDetTypes[cs[q].ldt], TnFormTypes[cs[q].form], TnActTypes[cs[q].act], TnBaseTypes[cs[q].base], (double)worst, (double)general);
    CU_ASSERT(worst <= 1e-12);
    CU_ASSERT(general > 1e-6);
  }
}

/* (a) on N = 2 nodes, so that from 3 ranks on some own no rows: the
   ranks without rows step, record and sum nothing, and wait on nobody;
   the rule is still the exact gradient with W diagonal. */
static void test_empty_ranks(void)
{
  PetscInt      n;
  PetscMPIInt   size;
  const Config *cs = AllConfigs(&n);
  TN_ASSERT_OK(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  for (PetscInt q = 0; q < n; q++) {
    PetscReal worst, general;
    PetscBool empty;
    TN_ASSERT_OK(DiagonalCheck(&cs[q], 2, 500 + q, &worst, &general, &empty));
    if (worst > 1e-12) PetscPrintf(PETSC_COMM_WORLD, "  N = 2, diagonal W, %s %s %s %s %s: max |local - exact| / max |exact| = %.3g\n", cs[q].scheme, TnLogDetTypes[cs[q].ldt], TnFormTypes[cs[q].form], TnActTypes[cs[q].act], TnBaseTypes[cs[q].base], (double)worst);
    CU_ASSERT(worst <= 1e-12);
    CU_ASSERT(general > 1e-6);
    CU_ASSERT(empty == (PetscBool)(size > 2));
  }
}

/* Component q = i (N + 2) + j + 2 of node i's parameters: j = -2 u_i, -1
   b_i, else W_ij (only where P_ij). */
typedef struct {
  const Config *c;
  const Model  *m;
  PetscReal     h;
  PetscInt      K, nvalid;
  const Traj   *T;
  PetscReal (*gW)[NMAX], *gb, *gu;
} FD;

/* Node i's own loss with its component q moved by d. */
static PetscErrorCode FDLoss(void *ctx, PetscInt q, PetscReal d, PetscReal *L)
{
  FD       *f = (FD *)ctx;
  PetscInt  N = f->m->N, i = q / (N + 2), j = q % (N + 2) - 2;
  PetscReal w[NMAX];
  PetscFunctionBeginUser;
  for (PetscInt jj = 0; jj < N; jj++) w[jj] = f->m->W[i][jj] + (jj == j ? d : 0);
  *L = NodeLoss(f->c, f->m, f->h, f->K, f->nvalid, f->T, i, w, f->m->b[i] + (j == -1 ? d : 0), PetscExpReal(PetscLogReal(f->m->g[i]) + (j == -2 ? d : 0)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode FDGrad(void *ctx, PetscInt q, PetscReal *g, char name[], size_t len)
{
  FD      *f = (FD *)ctx;
  PetscInt N = f->m->N, i = q / (N + 2), j = q % (N + 2) - 2;
  PetscFunctionBeginUser;
  name[0] = 0;
  if (j >= 0 && !f->m->P[i][j]) PetscFunctionReturn(PETSC_SUCCESS);
  *g = j == -2 ? f->gu[i] : j == -1 ? f->gb[i]
                                    : f->gW[i][j];
  PetscCall(PetscSNPrintf(name, len, "node %d, %s %d", (int)i, j == -2 ? "u" : j == -1 ? "b"
                                                                                       : "W col",
                          (int)j));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* (b) every component of the rule against central differences of the
   truncated objective (node i's own loss, the others frozen), eps = 1e-5.
   Also: the dense reference's node losses add up to the library's mean
   -log Phi, so the reference is the dynamics tenor computes. */
static PetscErrorCode FDCheck(const Config *c, uint64_t seed, PetscReal *worst)
{
  const PetscInt  B = 3, nvalid = 2, K = 4;
  const PetscReal eps = 1e-5, h = 0.15;
  PetscReal       x[NMAX][BMAX], lp[BMAX], gW[NMAX][NMAX], gb[NMAX], gu[NMAX], L = 0, Lref = 0;
  PetscInt        color[NMAX] = {0};
  Model           m;
  Setup           s;
  Traj           *T;
  PetscFunctionBeginUser;
  PetscCall(PetscNew(&T));
  TnTestModelRandom(&m, 10, 0.3, 0.8, seed);
  PetscCall(SetupCreate(c, &m, h, K, B, seed + 1, x, &s));
  PetscCall(Run(&s, nvalid, PETSC_TRUE, lp));
  PetscCall(Gather(s.g, s.grad, gW, gb, gu));
  if (!strcmp(c->scheme, TN_SCHEME_COLORED)) PetscCall(Colors(s.g, s.dyn, m.N, color));
  Trajectory(c, &m, h, K, B, color, x, T);
  for (PetscInt b = 0; b < nvalid; b++) L -= lp[b] / nvalid;
  for (PetscInt i = 0; i < m.N; i++) Lref += NodeLoss(c, &m, h, K, nvalid, T, i, m.W[i], m.b[i], m.g[i]);
  TN_ASSERT_CLOSE(Lref, L, 1e-12);
  {
    FD   fd = {c, &m, h, K, nvalid, T, gW, gb, gu};
    char what[128];
    PetscCall(PetscSNPrintf(what, sizeof(what), "%s %s %s %s %s", c->scheme, TnLogDetTypes[c->ldt], TnFormTypes[c->form], TnActTypes[c->act], TnBaseTypes[c->base]));
    PetscCall(TnTestCentralDifferences(m.N * (m.N + 2), eps, FDLoss, FDGrad, &fd, what, worst));
  }
  PetscCall(SetupDestroy(&s));
  PetscCall(PetscFree(T));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_fd(void)
{
  PetscInt      n;
  const Config *cs = AllConfigs(&n);
  for (PetscInt q = 0; q < n; q++) {
    PetscReal worst;
    TN_ASSERT_OK(FDCheck(&cs[q], 500 + q, &worst));
    if (getenv("TN_LOCAL_VERBOSE")) PetscPrintf(PETSC_COMM_WORLD, "  fd %s %s %s %s %s: worst %.3g\n", cs[q].scheme, TnLogDetTypes[cs[q].ldt], TnFormTypes[cs[q].form], TnActTypes[cs[q].act], TnBaseTypes[cs[q].base], (double)worst);
    CU_ASSERT(worst <= 1e-6);
  }
}

/* (c) the rule's norm, its derivative along a direction defined per natural
   (row, col) pair, and log Phi: on comm (any rank count) as on one rank. */
static void test_rank_invariance(void)
{
  const TnScheme schemes[] = {TN_SCHEME_SYNC, TN_SCHEME_COLORED};
  for (int scheme = 0; scheme < 2; scheme++)
    for (int form = 0; form < 2; form++) TnTestGradRankInvariance(schemes[scheme], (TnForm)form, PETSC_TRUE);
}

/* A small er net (self-loops on) and a dynamics on it, h = 0.05, for the
   tests below */
static PetscErrorCode SmallEr(PetscInt N, PetscInt k, PetscReal wscale, PetscReal bscale, TnNet *net)
{
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(PETSC_COMM_WORLD, net));
  PetscCall(TnNetSetType(*net, "er"));
  PetscCall(TnNetSetSize(*net, N));
  PetscCall(TnNetSetDegree(*net, k));
  PetscCall(TnNetSetSelfLoops(*net, PETSC_TRUE));
  PetscCall(TnNetSetWeightScale(*net, wscale));
  PetscCall(TnNetSetBiasScale(*net, bscale));
  PetscCall(TnNetSetUp(*net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode SmallDyn(TnNet net, TnScheme scheme, TnForm form, TnAct act, PetscInt K, PetscInt B, TnDyn *dyn)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynCreate(net, dyn));
  PetscCall(TnDynSetScheme(*dyn, scheme));
  PetscCall(TnDynSetForm(*dyn, form));
  PetscCall(TnDynSetActivation(*dyn, act));
  PetscCall(TnDynSetStepSize(*dyn, 0.05));
  PetscCall(TnDynSetSteps(*dyn, K));
  PetscCall(TnDynSetBatchSize(*dyn, B));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A gradient object on dyn, two batches x1 and x2 of random states, and a
   result */
static PetscErrorCode TwoBatches(TnDyn dyn, TnGrad *g, Vec *x1, Vec *x2, TnDynResult *res)
{
  PetscFunctionBeginUser;
  PetscCall(TnGradCreate(dyn, g));
  PetscCall(TnDynCreateState(dyn, x1));
  PetscCall(VecDuplicate(*x1, x2));
  PetscCall(TnTestFillState(dyn, 1.0, 91, 0, NULL, *x1));
  PetscCall(TnTestFillState(dyn, 0.7, 92, 0, NULL, *x2));
  PetscCall(TnDynResultCreate(dyn, res));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* (e) The synapses' traces are not zeroed between calls: the first step
   writes e_1 without reading e_0 = 0. On one TnGrad, the rule on x2, then
   on x1, then on x2 again (its traces then hold x1's e_K): the two results
   on x2 are the same bit for bit, sync and colored, rate and current forms,
   tanh and linear, B = 16 and 3 (padded), K = 1 and 4. */
static PetscErrorCode Reuse(void)
{
  TnNet          net;
  const PetscInt Bs[2] = {16, 3}, Ks[2] = {1, 4};
  const TnScheme schemes[2] = {TN_SCHEME_SYNC, TN_SCHEME_COLORED};
  PetscFunctionBeginUser;
  PetscCall(SmallEr(200, 8, 0.5, 0.2, &net));
  for (int sc = 0; sc < 2; sc++)
    for (int form = 0; form < 2; form++)
      for (int act = 0; act < 2; act++)
        for (int ib = 0; ib < 2; ib++)
          for (int ik = 0; ik < 2; ik++) {
            const PetscInt B = Bs[ib];
            TnDyn          dyn;
            TnGrad         g;
            Vec            x1, x2, grad[3];
            TnDynResult    res;
            PetscReal      lp[2][16], nrm;
            PetscBool      eq;
            PetscCall(SmallDyn(net, schemes[sc], (TnForm)form, act ? TN_ACT_LINEAR : TN_ACT_TANH, Ks[ik], B, &dyn));
            PetscCall(TwoBatches(dyn, &g, &x1, &x2, &res));
            res.nvalid = B - 1;
            for (int c = 0; c < 3; c++) {
              PetscCall(TnGradCreateParamVec(g, &grad[c]));
              PetscCall(TnGradComputeLocal(g, c == 1 ? x1 : x2, &res, grad[c]));
              if (c != 1)
                for (PetscInt b = 0; b < B; b++) lp[c / 2][b] = res.logphi[b];
            }
            PetscCall(VecEqual(grad[0], grad[2], &eq));
            PetscCall(VecNorm(grad[0], NORM_INFINITY, &nrm));
            CU_ASSERT(eq && nrm > 0);
            for (PetscInt b = 0; b < B; b++) CU_ASSERT(lp[0][b] == lp[1][b]);
            PetscCall(VecEqual(grad[0], grad[1], &eq));
            CU_ASSERT(!eq); /* the first call on x1 does differ */
            for (int c = 0; c < 3; c++) PetscCall(VecDestroy(&grad[c]));
            PetscCall(TnDynResultDestroy(&res));
            PetscCall(VecDestroy(&x1));
            PetscCall(VecDestroy(&x2));
            PetscCall(TnGradDestroy(&g));
            PetscCall(TnDynDestroy(&dyn));
          }
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_reuse(void)
{
  TN_ASSERT_OK(Reuse());
}

/* The largest |a - b| over theta, relative to max |b| (> 0 asserted) */
static PetscErrorCode RelDiff(Vec a, Vec b, PetscReal *rel)
{
  Vec       d;
  PetscReal nb, nd;
  PetscFunctionBeginUser;
  PetscCall(VecDuplicate(a, &d));
  PetscCall(VecWAXPY(d, -1.0, b, a));
  PetscCall(VecNorm(d, NORM_INFINITY, &nd));
  PetscCall(VecNorm(b, NORM_INFINITY, &nb));
  CU_ASSERT(nb > 0);
  *rel = nd / nb;
  PetscCall(VecDestroy(&d));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The rule on two batches (the second call's traces hold the first's)
   with the given store, on a sync dyn; kb: -dyn_panel_kb (NULL: the
   default); lp: log Phi per sample (or NULL); took, fits (or NULL): whether
   the rule's sum took panels on this rank, and whether it took them where
   it should (Ad's where its columns are scattered, Ao's where the rank has
   ghosts). */
static PetscErrorCode RuleWithStore(TnNet net, int form, int act, PetscInt K, PetscInt B, TnLocalStore store, const char *kb, Vec *grad, PetscReal lp[], PetscInt *took, PetscBool *fits)
{
  TnDyn       dyn;
  TnGrad      g;
  Vec         x1, x2;
  TnDynResult res;
  PetscFunctionBeginUser;
  PetscCall(SmallDyn(net, TN_SCHEME_SYNC, (TnForm)form, act ? TN_ACT_LINEAR : TN_ACT_TANH, K, B, &dyn));
  if (kb) {
    PetscCall(PetscOptionsSetValue(NULL, "-dyn_panel_kb", kb));
    PetscCall(TnDynSetFromOptions(dyn));
    PetscCall(PetscOptionsClearValue(NULL, "-dyn_panel_kb"));
  }
  PetscCall(TnDynSetLocalStore(dyn, store));
  PetscCall(TwoBatches(dyn, &g, &x1, &x2, &res));
  res.nvalid = B > 1 ? B - 1 : 1;
  PetscCall(TnGradCreateParamVec(g, grad));
  PetscCall(TnGradComputeLocal(g, x1, &res, *grad));
  PetscCall(TnGradComputeLocal(g, x2, &res, *grad));
  for (PetscInt b = 0; lp && b < B; b++) lp[b] = res.logphi[b];
  if (took) *took = dyn->loc.pd || dyn->loc.po;
  if (fits) *fits = (PetscBool)((dyn->loc.pd != NULL) == (PetscBool)dyn->d.prefetch && (!dyn->o.n || dyn->loc.po));
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&x1));
  PetscCall(VecDestroy(&x2));
  PetscCall(TnGradDestroy(&g));
  PetscCall(TnDynDestroy(&dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* (f) The two stores (TnDynSetLocalStore): the states recorded and the
   rule summed in closed form after the last step give the rule of the
   traces carried step by step, to round-off (1e-13 of its largest entry),
   and the same log Phi bit for bit (the same forward steps); rate and
   current forms, tanh and linear, B = 16, 3 (padded) and 1, K = 1 and 5,
   with self-loops (W_ii's terms). Each after a call on other samples. */
static PetscErrorCode Stores(void)
{
  TnNet          net;
  const PetscInt Bs[3] = {16, 3, 1}, Ks[2] = {1, 5};
  PetscReal      worst = 0;
  PetscFunctionBeginUser;
  PetscCall(SmallEr(150, 8, 0.5, 0.2, &net));
  for (int form = 0; form < 2; form++)
    for (int act = 0; act < 2; act++)
      for (int ib = 0; ib < 3; ib++)
        for (int ik = 0; ik < 2; ik++) {
          const PetscInt B = Bs[ib];
          Vec            grad[2];
          PetscReal      lp[2][16], rel;
          for (int st = 0; st < 2; st++) PetscCall(RuleWithStore(net, form, act, Ks[ik], B, st ? TN_LOCAL_STORE_STATES : TN_LOCAL_STORE_TRACES, NULL, &grad[st], lp[st], NULL, NULL));
          PetscCall(RelDiff(grad[1], grad[0], &rel));
          if (!(rel <= 1e-13)) PetscCall(PetscPrintf(PETSC_COMM_WORLD, "stores: form %d act %d B %" PetscInt_FMT " K %" PetscInt_FMT ": |states - traces| = %g of the largest entry\n", form, act, B, Ks[ik], (double)rel));
          CU_ASSERT(rel <= 1e-13);
          worst = PetscMax(worst, rel);
          for (PetscInt b = 0; b < B; b++) CU_ASSERT(lp[0][b] == lp[1][b]);
          PetscCall(VecDestroy(&grad[0]));
          PetscCall(VecDestroy(&grad[1]));
        }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "stores: states against traces, worst %.3g of the largest entry\n", (double)worst));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_stores(void)
{
  TN_ASSERT_OK(Stores());
}

/* The rule of the states through the sync step's column panels
   (-dyn_panel_kb 1: a few columns a panel; on 2 ranks and more the
   ghosts' panels too; the records step-major) against the same without
   panels (-dyn_panel_kb 0: node-major) and against the traces, to
   round-off (1e-13 of the largest entry; a synapse's K B products are
   added in another order); er N = 2000 (columns scattered: the
   on-process block has panels), rate and current, tanh and linear,
   B = 16 and 3, K = 5. */
static PetscErrorCode StoresPanels(void)
{
  TnNet          net;
  const PetscInt Bs[2] = {16, 3};
  const char    *kb[3] = {"0", "0", "1"};
  PetscFunctionBeginUser;
  PetscCall(SmallEr(2000, 8, 0.5, 0.2, &net));
  for (int form = 0; form < 2; form++)
    for (int act = 0; act < 2; act++)
      for (int ib = 0; ib < 2; ib++) {
        const PetscInt B = Bs[ib];
        Vec            grad[3];
        PetscReal      rel[2];
        for (int st = 0; st < 3; st++) { /* traces, states without panels, states with */
          PetscInt  took, any;
          PetscBool fits;
          PetscCall(RuleWithStore(net, form, act, 5, B, st ? TN_LOCAL_STORE_STATES : TN_LOCAL_STORE_TRACES, kb[st], &grad[st], NULL, &took, &fits));
          if (st == 2) { /* the panels were taken where they should be, and somewhere (on 1 rank Ad's columns are scattered) */
            PetscCallMPI(MPI_Allreduce(&took, &any, 1, MPIU_INT, MPI_MAX, PETSC_COMM_WORLD));
            CU_ASSERT(fits);
            CU_ASSERT(any);
          }
        }
        PetscCall(RelDiff(grad[2], grad[1], &rel[0]));
        PetscCall(RelDiff(grad[2], grad[0], &rel[1]));
        if (!(rel[0] <= 1e-13 && rel[1] <= 1e-13)) PetscCall(PetscPrintf(PETSC_COMM_WORLD, "panels: form %d act %d B %" PetscInt_FMT ": |panels - none| = %g, |panels - traces| = %g of the largest entry\n", form, act, B, (double)rel[0], (double)rel[1]));
        CU_ASSERT(rel[0] <= 1e-13);
        CU_ASSERT(rel[1] <= 1e-13);
        for (int st = 0; st < 3; st++) PetscCall(VecDestroy(&grad[st]));
      }
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_stores_panels(void)
{
  TN_ASSERT_OK(StoresPanels());
}

/* (g) By default (auto) the rule stores the states at B = 16 where they
   fit, and the traces where only they fit (-memory_limit just above what the run
   holds plus the traces; K = 40 steps of er, in-degree 32: the records
   take more than the traces), the same rule to round-off; where neither
   fits, one message names both. */
static PetscErrorCode MakeDyn(TnNet net, PetscInt K, PetscInt B, TnDyn *dyn, TnGrad *g, Vec *x, Vec *grad)
{
  PetscFunctionBeginUser;
  PetscCall(SmallDyn(net, TN_SCHEME_SYNC, TN_FORM_RATE, TN_ACT_TANH, K, B, dyn));
  PetscCall(TnGradCreate(*dyn, g));
  PetscCall(TnDynCreateState(*dyn, x));
  PetscCall(TnTestFillState(*dyn, 0.8, 93, 0, NULL, *x));
  PetscCall(TnGradCreateParamVec(*g, grad));
  PetscCall(TnDynSetUp(*dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode DestroyDyn(TnDyn *dyn, TnGrad *g, Vec *x, Vec *grad)
{
  PetscFunctionBeginUser;
  PetscCall(VecDestroy(grad));
  PetscCall(VecDestroy(x));
  PetscCall(TnGradDestroy(g));
  PetscCall(TnDynDestroy(dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* -memory_limit at what the ranks hold now plus `more` bytes in all */
static PetscErrorCode LimitAbove(double more)
{
  double held = TnMemoryInUse();
  char   lim[64];
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &held, 1, MPI_DOUBLE, MPI_SUM, PETSC_COMM_WORLD));
  PetscCall(PetscSNPrintf(lim, sizeof(lim), "%.17g", held + more));
  PetscCall(PetscOptionsSetValue(NULL, "-memory_limit", lim));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_store_auto(void)
{
  const PetscInt K = 40, B = 16;
  TnNet          net;
  TnDyn          dyn;
  TnGrad         g;
  Vec            x, grad, ref;
  TnDynResult    res;
  TnParamLayout  P;
  PetscInt       m;
  PetscLogDouble bytes;
  double         traces, extra;
  PetscReal      rel;
  TN_ASSERT_OK(SmallEr(400, 32, 0.3, 0.0, &net));
  TN_ASSERT_OK(TnNetGetParamLayout(net, &P));
  /* no limit: the states */
  TN_ASSERT_OK(MakeDyn(net, K, B, &dyn, &g, &x, &grad));
  TN_ASSERT_OK(TnDynGetLocalSize(dyn, &m));
  TN_ASSERT_OK(TnDynLocalSetUp(dyn, 16.0 * m * B, &bytes));
  CU_ASSERT(bytes > 8.0 * P.n * B); /* the records of 40 steps, more than the traces */
  TN_ASSERT_OK(TnDynResultCreate(dyn, &res));
  res.nvalid = B;
  TN_ASSERT_OK(TnGradComputeLocal(g, x, &res, grad));
  TN_ASSERT_OK(VecDuplicate(grad, &ref));
  TN_ASSERT_OK(VecCopy(grad, ref));
  TN_ASSERT_OK(TnDynResultDestroy(&res));
  TN_ASSERT_OK(DestroyDyn(&dyn, &g, &x, &grad));
  /* the traces, where the states do not fit */
  TN_ASSERT_OK(MakeDyn(net, K, B, &dyn, &g, &x, &grad));
  traces = 8.0 * P.n * B;
  extra  = 16.0 * m * B; /* TnGradComputeLocal's two states */
  CU_ASSERT(MPI_Allreduce(MPI_IN_PLACE, &traces, 1, MPI_DOUBLE, MPI_SUM, PETSC_COMM_WORLD) == MPI_SUCCESS);
  CU_ASSERT(MPI_Allreduce(MPI_IN_PLACE, &extra, 1, MPI_DOUBLE, MPI_SUM, PETSC_COMM_WORLD) == MPI_SUCCESS);
  TN_ASSERT_OK(LimitAbove(extra + 1.2 * traces));
  TN_ASSERT_OK(TnDynLocalSetUp(dyn, 16.0 * m * B, &bytes));
  TN_ASSERT_OK(PetscOptionsClearValue(NULL, "-memory_limit"));
  CU_ASSERT(bytes < 1.01 * 8.0 * P.n * B); /* the traces */
  TN_ASSERT_OK(TnDynResultCreate(dyn, &res));
  res.nvalid = B;
  TN_ASSERT_OK(TnGradComputeLocal(g, x, &res, grad));
  TN_ASSERT_OK(RelDiff(grad, ref, &rel));
  CU_ASSERT(rel <= 1e-13);
  TN_ASSERT_OK(TnDynResultDestroy(&res));
  TN_ASSERT_OK(DestroyDyn(&dyn, &g, &x, &grad));
  /* neither fits: one message naming both */
  TN_ASSERT_OK(MakeDyn(net, K, B, &dyn, &g, &x, &grad));
  TN_ASSERT_OK(LimitAbove(extra));
  ASSERT_FAILS_WITH(TnDynLocalSetUp(dyn, 16.0 * m * B, &bytes), "or its records of the K = 40 states");
  TN_ASSERT_OK(PetscOptionsClearValue(NULL, "-memory_limit"));
  TN_ASSERT_OK(DestroyDyn(&dyn, &g, &x, &grad));
  TN_ASSERT_OK(VecDestroy(&ref));
  TN_ASSERT_OK(TnNetDestroy(&net));
}

/* (d) refusals: the continuous scheme has no local rule; nor has a global
   log-det method; traces that do not fit in memory; states asked of the
   colored scheme. */
static void test_refusals(void)
{
  Config    c = {TN_SCHEME_CONTINUOUS, TN_LOGDET_DIAG, TN_FORM_RATE, TN_ACT_TANH, TN_BASE_NORMAL, PETSC_TRUE, 0, NULL};
  PetscReal x[NMAX][BMAX], lp[BMAX];
  Model     m;
  Setup     s;
  TnTestModelRandom(&m, 8, 0.3, 0.5, 11);
  TN_ASSERT_OK(SetupCreate(&c, &m, 0.1, 3, 2, 12, x, &s));
  TN_ASSERT_FAILS(Run(&s, 2, PETSC_TRUE, lp));
  TN_ASSERT_OK(Run(&s, 2, PETSC_FALSE, lp)); /* the exact gradient still works */
  TN_ASSERT_OK(SetupDestroy(&s));
  /* the traces' memory is checked before they are allocated: refused under
     a 100-byte limit (the dynamics already set up), accepted without it */
  c.scheme = TN_SCHEME_SYNC;
  TN_ASSERT_OK(SetupCreate(&c, &m, 0.1, 3, 2, 12, x, &s));
  TN_ASSERT_OK(Run(&s, 2, PETSC_FALSE, lp));
  TN_ASSERT_OK(PetscOptionsSetValue(NULL, "-memory_limit", "100"));
  TN_ASSERT_FAILS(Run(&s, 2, PETSC_TRUE, lp));
  TN_ASSERT_OK(PetscOptionsClearValue(NULL, "-memory_limit"));
  TN_ASSERT_OK(Run(&s, 2, PETSC_TRUE, lp));
  TN_ASSERT_OK(SetupDestroy(&s));
  /* the colored scheme records no states: asked for them, one message */
  c.scheme = TN_SCHEME_COLORED;
  TN_ASSERT_OK(SetupCreate(&c, &m, 0.1, 3, 2, 12, x, &s));
  TN_ASSERT_OK(TnDynSetLocalStore(s.dyn, TN_LOCAL_STORE_STATES));
  ASSERT_FAILS_WITH(Run(&s, 2, PETSC_TRUE, lp), "the colored scheme records no states for the local rule");
  TN_ASSERT_OK(TnDynSetLocalStore(s.dyn, TN_LOCAL_STORE_AUTO));
  TN_ASSERT_OK(Run(&s, 2, PETSC_TRUE, lp));
  TN_ASSERT_OK(SetupDestroy(&s));
  c.scheme = TN_SCHEME_SYNC;
  c.ldt    = TN_LOGDET_SPARSE;
  TN_ASSERT_OK(SetupCreate(&c, &m, 0.1, 3, 2, 12, x, &s));
  TN_ASSERT_FAILS(Run(&s, 2, PETSC_TRUE, lp));
  TN_ASSERT_OK(SetupDestroy(&s));
}

/* (e) the rule learns: on a 6 x 6 lattice (sync, rate, tanh) fed gmrf2d
   data, steps theta <- theta - lr g_local on training batches lower the
   exact mean -log Phi of held-out samples, for both schemes. */
static PetscErrorCode Descent(TnScheme scheme, PetscBool local, PetscReal *before, PetscReal *after)
{
  const PetscInt B = 16, nb = 4, steps = 60;
  TnNet          net;
  TnDyn          dyn;
  TnGrad         g;
  TnData         data;
  Vec            xn, x, grad;
  TnDynResult    res;
  PetscInt       N, valid;
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(PETSC_COMM_WORLD, &net));
  PetscCall(TnNetSetType(net, TNNET_LATTICE2D));
  PetscCall(TnNetSetSize(net, 6));
  PetscCall(TnNetSetWeightScale(net, 0.3));
  PetscCall(TnNetSetBiasScale(net, 0.0));
  PetscCall(TnNetSetUp(net));
  PetscCall(TnNetGetSizes(net, &N, NULL));
  PetscCall(TnDynCreate(net, &dyn));
  PetscCall(TnDynSetScheme(dyn, scheme));
  PetscCall(TnDynSetStepSize(dyn, 0.2));
  PetscCall(TnDynSetSteps(dyn, 4));
  PetscCall(TnDynSetBatchSize(dyn, B));
  PetscCall(TnDataCreate(PETSC_COMM_WORLD, &data));
  PetscCall(TnDataSetType(data, TNDATA_GMRF2D));
  PetscCall(TnDataSetSamples(data, (nb + 2) * B, 7));
  PetscCall(TnDataLoad(data, N));
  PetscCall(TnGradCreate(dyn, &g));
  PetscCall(TnDynCreateNaturalState(dyn, &xn));
  PetscCall(TnDynCreateState(dyn, &x));
  PetscCall(TnGradCreateParamVec(g, &grad));
  PetscCall(TnDynResultCreate(dyn, &res));
  for (PetscInt s = 0; s <= steps; s++) {
    if (s == 0 || s == steps) { /* held-out: the last two batches */
      PetscReal L = 0;
      for (PetscInt hb = nb; hb < nb + 2; hb++) {
        PetscCall(TnDataGetBatch(data, hb * B, xn, &valid));
        PetscCall(TnDynNaturalToState(dyn, xn, x, SCATTER_FORWARD));
        res.nvalid = valid;
        PetscCall(TnDynEvaluate(dyn, x, &res));
        for (PetscInt b = 0; b < valid; b++) L -= res.logphi[b] / (2 * valid);
      }
      *(s == 0 ? before : after) = L / N;
    }
    if (s == steps) break;
    PetscCall(TnDataGetBatch(data, (s % nb) * B, xn, &valid));
    PetscCall(TnDynNaturalToState(dyn, xn, x, SCATTER_FORWARD));
    res.nvalid = valid;
    if (local)
      PetscCall(TnGradComputeLocal(g, x, &res, grad));
    else
      PetscCall(TnGradCompute(g, x, &res, grad));
    PetscCall(TnGradAddToParams(g, -0.05, grad));
  }
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&grad));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&xn));
  PetscCall(TnGradDestroy(&g));
  PetscCall(TnDataDestroy(&data));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_descent(void)
{
  const TnScheme schemes[] = {TN_SCHEME_SYNC, TN_SCHEME_COLORED};
  for (int q = 0; q < 2; q++) {
    PetscReal before = 0, after = 0, eb = 0, ea = 0;
    TN_ASSERT_OK(Descent(schemes[q], PETSC_TRUE, &before, &after));
    if (getenv("TN_LOCAL_VERBOSE")) {
      TN_ASSERT_OK(Descent(schemes[q], PETSC_FALSE, &eb, &ea));
      PetscPrintf(PETSC_COMM_WORLD, "  descent %s: held-out loss %.6f -> %.6f nats/dim (exact gradient, same steps: %.6f -> %.6f)\n", schemes[q], (double)before, (double)after, (double)eb, (double)ea);
    }
    CU_ASSERT(after < before - 0.5);
  }
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("local", NULL, NULL);
  CU_add_test(s, "diagonal W: local rule = exact gradient", test_diagonal);
  CU_add_test(s, "fewer nodes than ranks: ranks without rows", test_empty_ranks);
  CU_add_test(s, "local rule = finite differences of the truncated objective", test_fd);
  CU_add_test(s, "rank-count invariance", test_rank_invariance);
  CU_add_test(s, "traces not zeroed between calls: the same rule bit for bit", test_reuse);
  CU_add_test(s, "states stored: the rule of the traces to round-off", test_stores);
  CU_add_test(s, "states stored, through column panels: the rule without them", test_stores_panels);
  CU_add_test(s, "auto, B = 16: the states where they fit, else the traces", test_store_auto);
  CU_add_test(s, "continuous, global log-det, no memory and colored states refused", test_refusals);
  CU_add_test(s, "steps along the rule lower the held-out loss (gmrf2d)", test_descent);
}
