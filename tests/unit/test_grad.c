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

#define NMAX 16

typedef struct {
  PetscInt  N;
  PetscReal W[NMAX][NMAX], b[NMAX], g[NMAX];
  PetscBool P[NMAX][NMAX];
} Model;

/* Pattern density `dens`; a self-loop on about 2 nodes in 3. */
static void ModelRandom(Model *m, PetscInt N, PetscReal dens, PetscReal scale, uint64_t seed)
{
  m->N = N;
  for (PetscInt i = 0; i < N; i++) {
    m->b[i] = 0.3 * TnRandNormal(seed, 1, i);
    m->g[i] = 0.5 + TnRandUniform(seed, 2, i);
    for (PetscInt j = 0; j < N; j++) {
      PetscReal u  = TnRandUniform(seed, 3, i * N + j);
      PetscBool on = (PetscBool)(i == j ? u < 0.67 : u < dens);
      m->P[i][j]   = on;
      m->W[i][j]   = on ? scale * (2 * TnRandUniform(seed, 4, i * N + j) - 1) : 0;
    }
  }
}

static PetscErrorCode ModelNet(const Model *m, TnNet *net)
{
  return TnTestNetFromDense(m->N, NMAX, &m->W[0][0], &m->P[0][0], m->b, m->g, net);
}

/* A batch in the partitioned layout from x(node, sample) in natural order. */
static PetscErrorCode FillState(TnDyn dyn, PetscReal scale, uint64_t seed, Vec x)
{
  Vec      xn;
  PetscInt rs, re;
  PetscFunctionBeginUser;
  PetscCall(TnDynCreateNaturalState(dyn, &xn));
  PetscCall(VecGetOwnershipRange(xn, &rs, &re));
  for (PetscInt q = rs; q < re; q++) PetscCall(VecSetValue(xn, q, scale * TnRandNormal(seed, 0, q), INSERT_VALUES));
  PetscCall(VecAssemblyBegin(xn));
  PetscCall(VecAssemblyEnd(xn));
  PetscCall(TnDynNaturalToState(dyn, xn, x, SCATTER_FORWARD));
  PetscCall(VecDestroy(&xn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

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

typedef struct {
  TnScheme        scheme;
  TnLogDetType    ldt;
  TnForm          form;
  TnAct           act;
  TnBase          base;
  PetscBool       adapt;  /* continuous: adaptive Dormand-Prince (else RK4) */
  PetscInt        nclamp; /* clamped nodes clamp[0 .. nclamp) (natural numbers) */
  const PetscInt *clamp;
} Config;

static PetscErrorCode Configure(TnDyn dyn, const Config *c, PetscReal h, PetscInt K, PetscInt B)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynSetScheme(dyn, c->scheme));
  PetscCall(TnDynSetLogDetType(dyn, c->ldt));
  PetscCall(TnDynSetForm(dyn, c->form));
  PetscCall(TnDynSetActivation(dyn, c->act));
  PetscCall(TnDynSetBase(dyn, c->base));
  PetscCall(TnDynSetStepSize(dyn, h));
  PetscCall(TnDynSetSteps(dyn, K));
  PetscCall(TnDynSetBatchSize(dyn, B));
  PetscCall(TnDynSetAdaptive(dyn, c->adapt));
  PetscCall(TnDynSetTolerances(dyn, 1e-12, 1e-14));
  if (c->nclamp) { /* rank 0 gives the set */
    PetscMPIInt rank;
    IS          is;
    PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
    PetscCall(ISCreateGeneral(PETSC_COMM_WORLD, rank ? 0 : c->nclamp, c->clamp, PETSC_COPY_VALUES, &is));
    PetscCall(TnDynSetClamp(dyn, is));
    PetscCall(ISDestroy(&is));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Every component of the gradient against (L(theta + eps e_q) - L(theta -
   eps e_q)) / (2 eps); also res against TnDynEvaluate. Returns the largest
   |fd - g| / max(|g|, 1e-3) in *worst. B = 3 and B = 4 take the two
   kernels of the sync rate form's transposed product (scatter by rows,
   gather by columns). */
static PetscErrorCode FDCheck(const Config *c, uint64_t seed, PetscInt B, PetscReal *worst)
{
  const PetscInt  nvalid = 2, K = 4;
  const PetscReal eps = 1e-5;
  Model           m;
  TnNet           net;
  TnDyn           dyn;
  TnGrad          g;
  Vec             x, theta, grad;
  TnDynResult     res;
  PetscInt        n;
  PetscReal       L0;
  PetscFunctionBeginUser;
  ModelRandom(&m, 10, 0.3, 0.8, seed);
  PetscCall(ModelNet(&m, &net));
  PetscCall(TnDynCreate(net, &dyn));
  PetscCall(Configure(dyn, c, 0.15, K, B));
  PetscCall(TnGradCreate(dyn, &g));
  PetscCall(TnDynCreateState(dyn, &x));
  PetscCall(FillState(dyn, 1.2, seed + 1, x));
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
  *worst = 0;
  for (PetscInt q = 0; q < n; q++) {
    PetscReal Lp, Lm, fd, gq = Entry(grad, q), err;
    PetscCall(Nudge(theta, q, eps));
    PetscCall(TnGradSetParams(g, theta));
    PetscCall(MeanLoss(dyn, x, nvalid, &Lp));
    PetscCall(Nudge(theta, q, -2 * eps));
    PetscCall(TnGradSetParams(g, theta));
    PetscCall(MeanLoss(dyn, x, nvalid, &Lm));
    PetscCall(Nudge(theta, q, eps));
    fd  = (Lp - Lm) / (2 * eps);
    err = PetscAbsReal(fd - gq) / PetscMax(PetscAbsReal(gq), 1e-3);
    if (err > 1e-6) PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  %s %s %s %s %s: theta[%" PetscInt_FMT "]: gradient %.12g, finite difference %.12g\n", c->scheme, TnLogDetTypes[c->ldt], TnFormTypes[c->form], TnActTypes[c->act], TnBaseTypes[c->base], q, (double)gq, (double)fd));
    *worst = PetscMax(*worst, err);
  }
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
          Config    c = {sch[s].s, sch[s].l, (TnForm)form, (TnAct)act, (TnBase)base, sch[s].adapt, 0, NULL};
          PetscReal worst;
          if (act == TN_ACT_LINEAR && (cnt++ % 3)) continue; /* linear for a third of the combinations */
          for (PetscInt B = 3; B <= (!strcmp(c.scheme, TN_SCHEME_SYNC) && c.form == TN_FORM_RATE ? 4 : 3); B++) {
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
        Config    c = {sch[s].s, sch[s].l, (TnForm)form, (TnAct)act, (TnBase)((form + act) % 2), sch[s].adapt, 3, clamp};
        PetscReal worst;
        for (PetscInt B = 3; B <= (s < 2 && c.form == TN_FORM_RATE ? 4 : 3); B++) {
          TN_ASSERT_OK(FDCheck(&c, 300 + 10 * s + 4 * form + act, B, &worst));
          CU_ASSERT(worst <= 1e-6);
          if (getenv("TN_GRAD_VERBOSE")) PetscPrintf(PETSC_COMM_WORLD, "clamped %s %s %s %s B = %d: worst %.3g\n", c.scheme, TnLogDetTypes[c.ldt], TnFormTypes[c.form], TnActTypes[c.act], (int)B, (double)worst);
        }
      }
}

static const TnScheme tn_schemes[] = {TN_SCHEME_SYNC, TN_SCHEME_COLORED, TN_SCHEME_CONTINUOUS};

/* Gradient norm and the derivative along a direction defined per natural
   (row, col) pair: the same on WORLD and on one rank. */
static PetscErrorCode NetGradient(MPI_Comm comm, TnScheme scheme, TnForm form, TnGradCheckpoint ck, PetscReal out[3])
{
  TnNet            net;
  TnDyn            dyn;
  TnGrad           g;
  Vec              x, grad;
  TnDynResult      res;
  const PetscInt  *row, *col;
  PetscInt         n;
  const PetscReal *pg;
  PetscReal        loc[2] = {0, 0};
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(comm, &net));
  PetscCall(TnNetSetType(net, "er"));
  PetscCall(TnNetSetSize(net, 120));
  PetscCall(TnNetSetDegree(net, 5));
  PetscCall(TnNetSetReciprocity(net, 0.5));
  PetscCall(TnNetSetSelfLoops(net, PETSC_TRUE));
  PetscCall(TnNetSetWeightScale(net, 0.7));
  PetscCall(TnNetSetBiasScale(net, 0.2));
  PetscCall(TnDynCreate(net, &dyn));
  PetscCall(TnDynSetScheme(dyn, scheme));
  PetscCall(TnDynSetForm(dyn, form));
  PetscCall(TnDynSetBase(dyn, TN_BASE_LOGISTIC));
  PetscCall(TnDynSetSteps(dyn, 23));
  PetscCall(TnDynSetBatchSize(dyn, 4));
  PetscCall(TnGradCreate(dyn, &g));
  PetscCall(TnGradSetCheckpoint(g, ck));
  PetscCall(TnDynCreateState(dyn, &x));
  PetscCall(FillState(dyn, 1.0, 77, x));
  PetscCall(TnGradCreateParamVec(g, &grad));
  PetscCall(TnDynResultCreate(dyn, &res));
  res.nvalid = 3;
  PetscCall(TnGradCompute(g, x, &res, grad));
  PetscCall(TnGradGetParamMap(g, &row, &col));
  PetscCall(VecGetLocalSize(grad, &n));
  PetscCall(VecGetArrayRead(grad, &pg));
  for (PetscInt q = 0; q < n; q++) {
    loc[0] += pg[q] * pg[q];
    loc[1] += pg[q] * TnRandNormal(5, 0, (uint64_t)row[q] * 1000 + (uint64_t)(col[q] + 2));
  }
  PetscCall(VecRestoreArrayRead(grad, &pg));
  PetscCall(MPIU_Allreduce(loc, out, 2, MPIU_REAL, MPIU_SUM, comm));
  out[0] = PetscSqrtReal(out[0]);
  out[2] = res.logphi[0];
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&grad));
  PetscCall(VecDestroy(&x));
  PetscCall(TnGradDestroy(&g));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_rank_invariance(void)
{
  for (int scheme = 0; scheme < 3; scheme++)
    for (int form = 0; form < 2; form++) {
      PetscReal   v[2][3];
      MPI_Comm    sub;
      PetscMPIInt rank;
      MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
      MPI_Comm_split(PETSC_COMM_WORLD, rank == 0 ? 0 : MPI_UNDEFINED, 0, &sub);
      TN_ASSERT_OK(NetGradient(PETSC_COMM_WORLD, tn_schemes[scheme], (TnForm)form, TN_GRAD_CKPT_AUTO, v[0]));
      if (sub != MPI_COMM_NULL) {
        TN_ASSERT_OK(NetGradient(sub, tn_schemes[scheme], (TnForm)form, TN_GRAD_CKPT_AUTO, v[1]));
        MPI_Comm_free(&sub);
      }
      MPI_Bcast(v[1], 3, MPIU_REAL, 0, PETSC_COMM_WORLD);
      CU_ASSERT(v[0][0] > 0);
      for (int t = 0; t < 3; t++) TN_ASSERT_CLOSE(v[0][t], v[1][t], 1e-11 * PetscMax(1, PetscAbsReal(v[1][t])));
    }
}

/* sqrt checkpointing recomputes the same states: the same gradient. */
static void test_checkpoint(void)
{
  for (int scheme = 0; scheme < 3; scheme++) {
    PetscReal a[3], b[3];
    TN_ASSERT_OK(NetGradient(PETSC_COMM_WORLD, tn_schemes[scheme], TN_FORM_RATE, TN_GRAD_CKPT_SQRT, a));
    TN_ASSERT_OK(NetGradient(PETSC_COMM_WORLD, tn_schemes[scheme], TN_FORM_RATE, TN_GRAD_CKPT_NONE, b));
    for (int t = 0; t < 3; t++) TN_ASSERT_CLOSE(a[t], b[t], 1e-14 * PetscMax(1, PetscAbsReal(b[t])));
  }
}

/* AddToParams(alpha, d) = SetParams(theta + alpha d); GetParams inverts
   SetParams; the checkpoint view reports what is used. */
static void test_params(void)
{
  Model            m;
  TnNet            net;
  TnDyn            dyn;
  TnGrad           g;
  Vec              t0, t1, d;
  TnGradCheckpoint used;
  PetscInt         seg, ns;
  PetscReal        nrm;
  ModelRandom(&m, 12, 0.3, 0.5, 9);
  TN_ASSERT_OK(ModelNet(&m, &net));
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
