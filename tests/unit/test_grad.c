/* The reverse-mode gradient (tenor/grad.h) checked against central finite
   differences of the mean loss, component by component, for every parameter
   group (W, b, u = log gamma), scheme (sync with diag and with trace;
   colored), form (rate, current), base (normal, logistic), tanh everywhere
   and linear for some; padded batches (nvalid < B); rank-count invariance
   against a 1-rank run in the same program through the natural (row, col)
   numbering; checkpointing (sqrt) against storing every state; the in-place
   parameter writes; and the refusals. */
#include "tn_test.h"
#include <tenor/grad.h>
#include <stdlib.h>

/* The mean loss over the nvalid real samples, by the forward evaluation. */
static PetscErrorCode MeanLoss(TnDyn dyn, Vec x, PetscInt nvalid, PetscReal *L)
{
  Vec         y;
  TnDynResult res;
  PetscFunctionBeginUser;
  PetscCall(VecDuplicate(x, &y));
  PetscCall(VecCopy(x, y));
  PetscCall(TnDynResultCreate(dyn, &res));
  res.nvalid = nvalid;
  PetscCall(TnDynEvaluate(dyn, y, &res));
  *L = 0;
  for (PetscInt b = 0; b < nvalid; b++) *L -= res.logphi[b] / nvalid;
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&y));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* theta_q += delta on the rank that owns global entry q. */
static PetscErrorCode Nudge(Vec theta, PetscInt q, PetscReal delta)
{
  PetscInt     rs, re;
  PetscScalar *t;
  PetscFunctionBeginUser;
  PetscCall(VecGetOwnershipRange(theta, &rs, &re));
  PetscCall(VecGetArray(theta, &t));
  if (q >= rs && q < re) t[q - rs] += delta;
  PetscCall(VecRestoreArray(theta, &t));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscReal Entry(Vec v, PetscInt q)
{
  PetscInt           rs, re;
  const PetscScalar *t;
  PetscReal          x = 0, y = 0;
  VecGetOwnershipRange(v, &rs, &re);
  VecGetArrayRead(v, &t);
  if (q >= rs && q < re) x = t[q - rs];
  VecRestoreArrayRead(v, &t);
  MPI_Allreduce(&x, &y, 1, MPIU_REAL, MPIU_SUM, PETSC_COMM_WORLD);
  return y;
}

/* The finite differences' view of a run: theta, the gradient, the batch. */
typedef struct {
  TnGrad   g;
  TnDyn    dyn;
  Vec      theta, grad, x;
  PetscInt nvalid;
} FD;

/* The mean loss with theta_q moved by d. */
static PetscErrorCode FDLoss(void *ctx, PetscInt q, PetscReal d, PetscReal *L)
{
  FD *f = (FD *)ctx;
  PetscFunctionBeginUser;
  PetscCall(Nudge(f->theta, q, d));
  PetscCall(TnGradSetParams(f->g, f->theta));
  PetscCall(MeanLoss(f->dyn, f->x, f->nvalid, L));
  PetscCall(Nudge(f->theta, q, -d));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode FDGrad(void *ctx, PetscInt q, PetscReal *g, char name[], size_t len)
{
  FD *f = (FD *)ctx;
  PetscFunctionBeginUser;
  *g = Entry(f->grad, q);
  PetscCall(PetscSNPrintf(name, len, "theta[%" PetscInt_FMT "]", q));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Every component of the gradient against (L(theta + eps e_q) - L(theta -
   eps e_q)) / (2 eps); also res against TnDynEvaluate. Returns the largest
   |fd - g| / max(|g|, 1e-3) in *worst. B = 3 and B = 4 take the two
   kernels of the sync rate form's transposed product (scatter by rows,
   gather by columns), and B = 16 (sync with diag) the gather's vector
   kernel. */
static PetscErrorCode FDCheck(const TnTestConfig *c, uint64_t seed, PetscInt B, PetscReal *worst)
{
  const PetscInt  nvalid = 2, K = 4;
  const PetscReal eps = 1e-5;
  TnTestModel     m;
  TnNet           net;
  TnDyn           dyn;
  TnGrad          g;
  Vec             x, theta, grad;
  TnDynResult     res;
  PetscInt        n;
  PetscReal       L0 = 0;
  char            what[128];
  FD              fd;
  PetscFunctionBeginUser;
  TnTestModelRandom(&m, 10, 0.3, 0.8, seed);
  PetscCall(TnTestModelNet(&m, &net));
  PetscCall(TnDynCreate(net, &dyn));
  PetscCall(TnTestConfigure(dyn, c, 0.15, K, B));
  PetscCall(TnGradCreate(dyn, &g));
  PetscCall(TnDynCreateState(dyn, &x));
  PetscCall(TnTestFillState(dyn, 1.2, seed + 1, 0, NULL, x));
  PetscCall(TnGradCreateParamVec(g, &theta));
  PetscCall(VecDuplicate(theta, &grad));
  PetscCall(TnGradGetParams(g, theta));
  PetscCall(TnDynResultCreate(dyn, &res));
  res.nvalid = nvalid;
  PetscCall(TnGradCompute(g, x, &res, grad));
  PetscCall(MeanLoss(dyn, x, nvalid, &L0));
  {
    PetscReal Lg = 0;
    for (PetscInt b = 0; b < nvalid; b++) Lg -= res.logphi[b] / nvalid;
    TN_ASSERT_CLOSE(Lg, L0, 1e-13);
  }
  PetscCall(VecGetSize(theta, &n));
  fd = (FD){g, dyn, theta, grad, x, nvalid};
  PetscCall(PetscSNPrintf(what, sizeof(what), "%s %s %s %s %s", c->scheme, TnLogDetTypes[c->ldt], TnFormTypes[c->form], TnActTypes[c->act], TnBaseTypes[c->base]));
  PetscCall(TnTestCentralDifferences(n, eps, FDLoss, FDGrad, &fd, what, worst));
  PetscCall(TnGradSetParams(g, theta));
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&grad));
  PetscCall(VecDestroy(&theta));
  PetscCall(VecDestroy(&x));
  PetscCall(TnGradDestroy(&g));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The continuous scheme: with fixed RK4 steps the gradient is exact for
   the computed map (1e-6 as the others); with adaptive steps it is the
   gradient of the computed solution with the steps held, and the finite
   differences see the solution to rtol = 1e-12 (1e-5). */
static void test_fd(void)
{
  const struct {
    TnScheme     s;
    TnLogDetType l;
    PetscBool    adapt;
    PetscReal    tol;
  } sch[] = {
      {TN_SCHEME_SYNC, TN_LOGDET_DIAG, PETSC_TRUE, 1e-6},
      {TN_SCHEME_SYNC, TN_LOGDET_TRACE, PETSC_TRUE, 1e-6},
      {TN_SCHEME_COLORED, TN_LOGDET_DIAG, PETSC_TRUE, 1e-6},
      {TN_SCHEME_CONTINUOUS, TN_LOGDET_DIAG, PETSC_FALSE, 1e-6},
      {TN_SCHEME_CONTINUOUS, TN_LOGDET_DIAG, PETSC_TRUE, 1e-5}};
  int cnt = 0;
  for (int s = 0; s < 5; s++)
    for (int form = 0; form < 2; form++)
      for (int base = 0; base < 2; base++)
        for (int act = 0; act < 2; act++) {
          TnTestConfig c = {sch[s].s, sch[s].l, (TnForm)form, (TnAct)act, (TnBase)base, sch[s].adapt, 0, NULL};
          PetscReal    worst;
          if (act == TN_ACT_LINEAR && (cnt++ % 3)) continue; /* linear for a third of the combinations */
          const PetscBool sr = (PetscBool)(!strcmp(c.scheme, TN_SCHEME_SYNC) && c.form == TN_FORM_RATE);
          for (PetscInt B = 3; B <= (sr ? (c.ldt == TN_LOGDET_DIAG ? 16 : 4) : 3); B = B == 4 ? 16 : B + 1) {
            TN_ASSERT_OK(FDCheck(&c, 100 + 10 * s + 4 * form + 2 * base + act, B, &worst));
            CU_ASSERT(worst <= sch[s].tol);
            if (getenv("TN_GRAD_VERBOSE")) PetscPrintf(PETSC_COMM_WORLD, "%s %s %s %s %s B = %d: worst %.3g\n", c.scheme, TnLogDetTypes[c.ldt], TnFormTypes[c.form], TnActTypes[c.act], TnBaseTypes[c.base], (int)B, (double)worst);
          }
        }
}

/* Clamped nodes (docs/conditional.md): the gradient of the conditional
   loss -log Phi(t | x), with the parameters of the clamped nodes' rows
   (which do not act: their gradient must be 0) and W_FC among the checked
   components. */
static void test_fd_clamp(void)
{
  const PetscInt clamp[] = {2, 7, 5};
  const struct {
    TnScheme     s;
    TnLogDetType l;
    PetscBool    adapt;
  } sch[] = {{TN_SCHEME_SYNC, TN_LOGDET_DIAG, PETSC_TRUE}, {TN_SCHEME_SYNC, TN_LOGDET_TRACE, PETSC_TRUE}, {TN_SCHEME_COLORED, TN_LOGDET_DIAG, PETSC_TRUE}, {TN_SCHEME_CONTINUOUS, TN_LOGDET_DIAG, PETSC_FALSE}};
  for (int s = 0; s < 4; s++)
    for (int form = 0; form < 2; form++)
      for (int act = 0; act < 2; act++) {
        TnTestConfig c = {sch[s].s, sch[s].l, (TnForm)form, (TnAct)act, (TnBase)((form + act) % 2), sch[s].adapt, 3, clamp};
        PetscReal    worst;
        for (PetscInt B = 3; B <= (s < 2 && c.form == TN_FORM_RATE ? 4 : 3); B++) {
          TN_ASSERT_OK(FDCheck(&c, 300 + 10 * s + 4 * form + act, B, &worst));
          CU_ASSERT(worst <= 1e-6);
          if (getenv("TN_GRAD_VERBOSE")) PetscPrintf(PETSC_COMM_WORLD, "clamped %s %s %s %s B = %d: worst %.3g\n", c.scheme, TnLogDetTypes[c.ldt], TnFormTypes[c.form], TnActTypes[c.act], (int)B, (double)worst);
        }
      }
}

static const TnScheme tn_schemes[] = {TN_SCHEME_SYNC, TN_SCHEME_COLORED, TN_SCHEME_CONTINUOUS};

static void test_rank_invariance(void)
{
  for (int scheme = 0; scheme < 3; scheme++)
    for (int form = 0; form < 2; form++) TnTestGradRankInvariance(tn_schemes[scheme], (TnForm)form, PETSC_FALSE);
}

/* sqrt checkpointing recomputes the same states: the same gradient. */
static void test_checkpoint(void)
{
  for (int scheme = 0; scheme < 3; scheme++) {
    PetscReal a[3], b[3];
    TN_ASSERT_OK(TnTestNetGradient(PETSC_COMM_WORLD, tn_schemes[scheme], TN_FORM_RATE, TN_GRAD_CKPT_SQRT, PETSC_FALSE, a));
    TN_ASSERT_OK(TnTestNetGradient(PETSC_COMM_WORLD, tn_schemes[scheme], TN_FORM_RATE, TN_GRAD_CKPT_NONE, PETSC_FALSE, b));
    for (int t = 0; t < 3; t++) TN_ASSERT_CLOSE(a[t], b[t], 1e-14 * PetscMax(1, PetscAbsReal(b[t])));
  }
}

/* AddToParams(alpha, d) = SetParams(theta + alpha d); GetParams inverts
   SetParams; the checkpoint view reports what is used. */
static void test_params(void)
{
  TnTestModel      m;
  TnNet            net;
  TnDyn            dyn;
  TnGrad           g;
  Vec              t0, t1, d;
  TnGradCheckpoint used;
  PetscInt         seg, ns;
  PetscReal        nrm;
  TnTestModelRandom(&m, 12, 0.3, 0.5, 9);
  TN_ASSERT_OK(TnTestModelNet(&m, &net));
  TN_ASSERT_OK(TnDynCreate(net, &dyn));
  TN_ASSERT_OK(TnDynSetSteps(dyn, 30));
  TN_ASSERT_OK(TnGradCreate(dyn, &g));
  TN_ASSERT_OK(TnGradGetCheckpoint(g, &used, &seg, &ns, NULL));
  CU_ASSERT(used == TN_GRAD_CKPT_SQRT && seg == 6 && ns == 5 + 5 + 1); /* checkpoints, the other states of one segment, a_K */
  TN_ASSERT_OK(TnGradCreateParamVec(g, &t0));
  VecDuplicate(t0, &t1);
  VecDuplicate(t0, &d);
  TN_ASSERT_OK(TnGradGetParams(g, t0));
  VecSetRandom(d, NULL);
  VecShift(d, -0.5);
  TN_ASSERT_OK(TnGradAddToParams(g, 0.01, d));
  TN_ASSERT_OK(TnGradGetParams(g, t1));
  VecAXPY(t1, -0.01, d);
  VecAXPY(t1, -1.0, t0);
  VecNorm(t1, NORM_INFINITY, &nrm);
  CU_ASSERT(nrm < 1e-14);
  TN_ASSERT_OK(TnGradSetParams(g, t0));
  TN_ASSERT_OK(TnGradGetParams(g, t1));
  VecAXPY(t1, -1.0, t0);
  VecNorm(t1, NORM_INFINITY, &nrm);
  CU_ASSERT(nrm < 1e-15);
  /* refused: NaN, and a step that breaks invertibility */
  VecCopy(t0, t1);
  VecSetValue(t1, 0, NAN, INSERT_VALUES);
  VecAssemblyBegin(t1);
  VecAssemblyEnd(t1);
  TN_ASSERT_FAILS(TnGradSetParams(g, t1));
  VecCopy(t0, t1);
  VecShift(t1, 5.0); /* gamma = e^(u + 5), W + 5 */
  TN_ASSERT_FAILS(TnGradSetParams(g, t1));
  TN_ASSERT_OK(TnGradSetParams(g, t0));
  VecDestroy(&t0);
  VecDestroy(&t1);
  VecDestroy(&d);
  TnGradDestroy(&g);
  /* a global log-det method has no gradient here */
  TN_ASSERT_OK(TnDynSetLogDetType(dyn, TN_LOGDET_SPARSE));
  TN_ASSERT_OK(TnGradCreate(dyn, &g));
  TN_ASSERT_FAILS(TnGradSetUp(g));
  TnGradDestroy(&g);
  TnDynDestroy(&dyn);
  TnNetDestroy(&net);
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("grad", NULL, NULL);
  CU_add_test(s, "finite differences with clamped nodes", test_fd_clamp);
  CU_add_test(s, "gradient = central finite differences", test_fd);
  CU_add_test(s, "rank-count invariance", test_rank_invariance);
  CU_add_test(s, "sqrt checkpointing = all states", test_checkpoint);
  CU_add_test(s, "parameter writes and refusals", test_params);
}
