/* The dynamics against independent dense references (docs/model.md section 2;
   the continuous scheme's own references are in test_continuous.c):
   - linear sync: a_K = M^K x + c, log Phi = log p(a_K) + K log|det M| when W
     is triangular (diag exact), and the diag value in general;
   - colored (tanh, rate and current): sum of local terms = log|det| of the
     whole sweep's Jacobian, formed densely and factored with LAPACK;
   - every check at every rank count with ptscotch renumbering, against the
     same serial reference (rank and partition invariance; every scheme);
   - bad configurations fail with an error on every rank. */
#include "tn_test.h"
#include <tenor/dyn.h>
#include <petscblaslapack.h>

#define NMAX TN_TEST_NMAX

typedef TnTestModel Model;

/* log Phi of samples x[b][i] and a_K (natural order, on every rank). */
static PetscErrorCode RunTenor(TnDyn dyn, PetscInt N, PetscInt B, PetscReal x[][NMAX], PetscReal *logphi, PetscReal aK[][NMAX])
{
  return TnTestEvaluate(dyn, N, B, NMAX, &x[0][0], logphi, aK ? &aK[0][0] : NULL);
}

static PetscReal LogDetLAPACK(PetscInt N, PetscReal J[][NMAX])
{
  PetscScalar A[NMAX * NMAX];
  PetscReal   ld, sign;
  for (PetscInt i = 0; i < N; i++)
    for (PetscInt j = 0; j < N; j++) A[j * N + i] = J[i][j];
  TnTestDenseLogDet(N, A, &ld, &sign);
  return ld;
}

static PetscReal BaseLogP(TnBase base, PetscInt N, const PetscReal *a)
{
  PetscReal s = 0;
  for (PetscInt i = 0; i < N; i++) s += TnBaseLogDensity(base, a[i]);
  return s;
}

/* Linear sync: a_K = M^K x + c by repeated products; log Phi by formula. */
static void test_linear_sync(void)
{
  for (int tri = 1; tri >= 0; tri--) {
    Model     m;
    TnNet     net;
    TnDyn     dyn;
    PetscInt  N = 9, B = 3, K = 7;
    PetscReal h = 0.1, x[3][NMAX], aK[3][NMAX], lp[3], ldiag = 0;
    TnTestModelRandomDense(&m, N, 0.4, (PetscBool)tri, 0.8, 11 + tri);
    for (PetscInt b = 0; b < B; b++)
      for (PetscInt i = 0; i < N; i++) x[b][i] = TnRandNormal(99, b, i);
    TN_ASSERT_OK(TnTestModelNet(&m, &net));
    TN_ASSERT_OK(TnDynCreate(net, &dyn));
    TN_ASSERT_OK(TnDynSetActivation(dyn, TN_ACT_LINEAR));
    TN_ASSERT_OK(TnDynSetStepSize(dyn, h));
    TN_ASSERT_OK(TnDynSetSteps(dyn, K));
    TN_ASSERT_OK(TnDynSetBatchSize(dyn, B));
    TN_ASSERT_OK(RunTenor(dyn, N, B, x, lp, aK));
    for (PetscInt i = 0; i < N; i++) ldiag += log(fabs(1 + h * (m.W[i][i] - m.g[i])));
    for (PetscInt b = 0; b < B; b++) {
      PetscReal a[NMAX], an[NMAX];
      for (PetscInt i = 0; i < N; i++) a[i] = x[b][i];
      for (PetscInt k = 0; k < K; k++) { /* a <- M a + h b, M = I + h(W - Gamma) */
        for (PetscInt i = 0; i < N; i++) {
          an[i] = a[i] + h * (m.b[i] - m.g[i] * a[i]);
          for (PetscInt j = 0; j < N; j++) an[i] += h * m.W[i][j] * a[j];
        }
        for (PetscInt i = 0; i < N; i++) a[i] = an[i];
      }
      for (PetscInt i = 0; i < N; i++) TN_ASSERT_CLOSE(aK[b][i], a[i], 100 * N * PETSC_MACHINE_EPSILON);
      /* diag's value is base + K sum log|1 + h(W_ii - gamma_i)|; for a triangular W it is the exact K log|det M| */
      TN_ASSERT_CLOSE(lp[b], BaseLogP(TN_BASE_NORMAL, N, a) + K * ldiag, 100 * N * K * PETSC_MACHINE_EPSILON);
      if (tri) {
        PetscReal M[NMAX][NMAX];
        for (PetscInt i = 0; i < N; i++)
          for (PetscInt j = 0; j < N; j++) M[i][j] = (i == j) + h * (m.W[i][j] - (i == j) * m.g[i]);
        TN_ASSERT_CLOSE(lp[b], BaseLogP(TN_BASE_NORMAL, N, a) + K * LogDetLAPACK(N, M), 100 * N * K * PETSC_MACHINE_EPSILON);
      }
    }
    TnDynDestroy(&dyn);
    TnNetDestroy(&net);
  }
}

/* Dense serial colored sweep with the given colours; returns log|det J_sweep|
   summed over steps (LAPACK) and updates a. */
static PetscReal ColoredReference(const Model *m, TnForm form, PetscReal h, PetscInt K, const PetscInt *col, PetscInt ncol, PetscReal *a)
{
  PetscInt  N  = m->N;
  PetscReal ld = 0;
  for (PetscInt k = 0; k < K; k++) {
    PetscReal J[NMAX][NMAX], Jn[NMAX][NMAX];
    for (PetscInt i = 0; i < N; i++)
      for (PetscInt j = 0; j < N; j++) J[i][j] = (i == j);
    for (PetscInt c = 0; c < ncol; c++) {
      PetscReal Jc[NMAX][NMAX], an[NMAX];
      for (PetscInt i = 0; i < N; i++) {
        PetscReal s = m->b[i], f, d;
        for (PetscInt j = 0; j < N; j++) Jc[i][j] = (i == j);
        an[i] = a[i];
        if (col[i] != c) continue;
        if (form == TN_FORM_RATE) {
          for (PetscInt j = 0; j < N; j++) s += m->W[i][j] * tanh(a[j]);
          an[i] = a[i] + h * (-m->g[i] * a[i] + s);
          for (PetscInt j = 0; j < N; j++) Jc[i][j] = (i == j) * (1 - h * m->g[i]) + h * m->W[i][j] * (1 - tanh(a[j]) * tanh(a[j]));
        } else {
          for (PetscInt j = 0; j < N; j++) s += m->W[i][j] * a[j];
          f     = tanh(s);
          d     = 1 - f * f;
          an[i] = a[i] + h * (-m->g[i] * a[i] + f);
          for (PetscInt j = 0; j < N; j++) Jc[i][j] = (i == j) * (1 - h * m->g[i]) + h * d * m->W[i][j];
        }
      }
      for (PetscInt i = 0; i < N; i++) a[i] = an[i];
      for (PetscInt i = 0; i < N; i++)
        for (PetscInt j = 0; j < N; j++) {
          Jn[i][j] = 0;
          for (PetscInt l = 0; l < N; l++) Jn[i][j] += Jc[i][l] * J[l][j];
        }
      for (PetscInt i = 0; i < N; i++)
        for (PetscInt j = 0; j < N; j++) J[i][j] = Jn[i][j];
    }
    ld += LogDetLAPACK(N, J);
  }
  return ld;
}

/* The colours in natural order, on every rank. */
static PetscErrorCode GatherColors(TnNet net, TnDyn dyn, PetscInt N, PetscInt *col, PetscInt *ncol)
{
  const PetscInt *c, *nat;
  PetscInt        m, loc[NMAX];
  PetscFunctionBeginUser;
  PetscCall(TnDynGetColors(dyn, &c));
  PetscCall(TnDynGetNumColors(dyn, ncol));
  PetscCall(TnNetGetNatural(net, &nat));
  for (PetscInt i = 0; i < N; i++) loc[i] = -1;
  {
    Mat W;
    PetscCall(TnNetGetMat(net, &W));
    PetscCall(MatGetLocalSize(W, &m, NULL));
  }
  for (PetscInt i = 0; i < m; i++) loc[nat[i]] = c[i];
  PetscCallMPI(MPI_Allreduce(loc, col, (int)N, MPIU_INT, MPI_MAX, PETSC_COMM_WORLD));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_colored_exact(void)
{
  for (int form = 0; form < 2; form++) {
    Model     m;
    TnNet     net;
    TnDyn     dyn;
    PetscInt  N = 12, B = 2, K = 4, col[NMAX], ncol = 0;
    PetscReal h = 0.2, x[2][NMAX], aK[2][NMAX], lp[2];
    TnTestModelRandomDense(&m, N, 0.3, PETSC_FALSE, 1.0, 21 + form);
    for (PetscInt b = 0; b < B; b++)
      for (PetscInt i = 0; i < N; i++) x[b][i] = TnRandNormal(7, b, i);
    TN_ASSERT_OK(TnTestModelNet(&m, &net));
    TN_ASSERT_OK(TnDynCreate(net, &dyn));
    TN_ASSERT_OK(TnDynSetScheme(dyn, TN_SCHEME_COLORED));
    TN_ASSERT_OK(TnDynSetForm(dyn, (TnForm)form));
    TN_ASSERT_OK(TnDynSetStepSize(dyn, h));
    TN_ASSERT_OK(TnDynSetSteps(dyn, K));
    TN_ASSERT_OK(TnDynSetBatchSize(dyn, B));
    TN_ASSERT_OK(TnDynSetBase(dyn, TN_BASE_LOGISTIC));
    TN_ASSERT_OK(RunTenor(dyn, N, B, x, lp, aK));
    TN_ASSERT_OK(GatherColors(net, dyn, N, col, &ncol));
    CU_ASSERT(ncol >= 2);
    for (PetscInt i = 0; i < N; i++) /* proper: no edge inside a colour */
      for (PetscInt j = 0; j < N; j++)
        if (i != j && (m.P[i][j] || m.P[j][i])) CU_ASSERT(col[i] != col[j]);
    for (PetscInt b = 0; b < B; b++) {
      PetscReal a[NMAX], ld;
      for (PetscInt i = 0; i < N; i++) a[i] = x[b][i];
      ld = ColoredReference(&m, (TnForm)form, h, K, col, ncol, a);
      for (PetscInt i = 0; i < N; i++) TN_ASSERT_CLOSE(aK[b][i], a[i], 100 * N * PETSC_MACHINE_EPSILON);
      TN_ASSERT_CLOSE(lp[b], BaseLogP(TN_BASE_LOGISTIC, N, a) + ld, 1000 * N * K * PETSC_MACHINE_EPSILON);
    }
    TnDynDestroy(&dyn);
    TnNetDestroy(&net);
  }
}

/* The state xs in natural order on every rank, x[b][i]. */
static PetscErrorCode StateToNatural(TnDyn dyn, PetscInt N, PetscInt B, Vec xs, PetscReal x[][NMAX])
{
  PetscReal all[NMAX * 2];
  PetscFunctionBeginUser;
  PetscCheck(N * B <= NMAX * 2, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "N B = %" PetscInt_FMT " > %d", N * B, NMAX * 2);
  PetscCall(TnTestStateToAll(dyn, xs, all));
  for (PetscInt q = 0; q < N * B; q++) x[q % B][q / B] = all[q];
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The colored step keeps phi(a) by position from one step of a chain to the
   next (k > 0, a = the last step's out): a step k > 0 from a state the last
   step did not make, out-of-place and in place, equals the reference from
   that state; so does a chain continued after it, and a new chain. */
static void test_colored_chain(void)
{
  for (int form = 0; form < 2; form++) {
    Model        m;
    TnNet        net;
    TnDyn        dyn;
    Vec          xs, ys, os;
    PetscInt     N = 12, B = 2, col[NMAX], ncol = 0;
    PetscReal    h = 0.2, x[2][NMAX], y[2][NMAX], got[2][NMAX], ldet[2] = {0, 0};
    PetscScalar *px, *py, *po;
    TnTestModelRandomDense(&m, N, 0.3, PETSC_FALSE, 1.0, 31 + form);
    for (PetscInt b = 0; b < B; b++)
      for (PetscInt i = 0; i < N; i++) {
        x[b][i] = TnRandNormal(8, b, i);
        y[b][i] = 2.0 * TnRandNormal(9, b, i);
      }
    TN_ASSERT_OK(TnTestModelNet(&m, &net));
    TN_ASSERT_OK(TnDynCreate(net, &dyn));
    TN_ASSERT_OK(TnDynSetScheme(dyn, TN_SCHEME_COLORED));
    TN_ASSERT_OK(TnDynSetForm(dyn, (TnForm)form));
    TN_ASSERT_OK(TnDynSetStepSize(dyn, h));
    TN_ASSERT_OK(TnDynSetSteps(dyn, 4));
    TN_ASSERT_OK(TnDynSetBatchSize(dyn, B));
    TN_ASSERT_OK(TnDynSetUp(dyn));
    TN_ASSERT_OK(GatherColors(net, dyn, N, col, &ncol));
    TN_ASSERT_OK(TnDynCreateState(dyn, &xs));
    TN_ASSERT_OK(VecDuplicate(xs, &ys));
    TN_ASSERT_OK(VecDuplicate(xs, &os));
    TN_ASSERT_OK(TnTestStateFromNatural(dyn, B, NMAX, &x[0][0], xs));
    TN_ASSERT_OK(TnTestStateFromNatural(dyn, B, NMAX, &y[0][0], ys));
    TN_ASSERT_OK(VecGetArray(xs, &px));
    TN_ASSERT_OK(VecGetArray(ys, &py));
    TN_ASSERT_OK(VecGetArray(os, &po));
    TN_ASSERT_OK(TnDynStepArrays(dyn, 0, px, px, NULL, ldet)); /* a chain of x: steps 0, 1 in place */
    TN_ASSERT_OK(TnDynStepArrays(dyn, 1, px, px, NULL, ldet));
    TN_ASSERT_OK(TnDynStepArrays(dyn, 2, py, po, NULL, ldet)); /* step 2 from y: not the last out */
    TN_ASSERT_OK(TnDynStepArrays(dyn, 3, po, po, NULL, ldet)); /* the chain of y continued */
    TN_ASSERT_OK(TnDynStepArrays(dyn, 2, px, py, NULL, ldet)); /* x after 2 steps: a step back in k */
    TN_ASSERT_OK(VecRestoreArray(os, &po));
    TN_ASSERT_OK(VecRestoreArray(ys, &py));
    TN_ASSERT_OK(VecRestoreArray(xs, &px));
    for (int t = 0; t < 2; t++) { /* os: y after 2 steps; ys: x after 3 */
      TN_ASSERT_OK(StateToNatural(dyn, N, B, t ? ys : os, got));
      for (PetscInt b = 0; b < B; b++) {
        PetscReal a[NMAX];
        for (PetscInt i = 0; i < N; i++) a[i] = t ? x[b][i] : y[b][i];
        ColoredReference(&m, (TnForm)form, h, t ? 3 : 2, col, ncol, a);
        for (PetscInt i = 0; i < N; i++) TN_ASSERT_CLOSE(got[b][i], a[i], 100 * N * PETSC_MACHINE_EPSILON);
      }
    }
    VecDestroy(&os);
    VecDestroy(&ys);
    VecDestroy(&xs);
    TnDynDestroy(&dyn);
    TnNetDestroy(&net);
  }
}

/* Sequential greedy colouring of P + P^T in decreasing priority: natural
   (node 0 first) or random (TnRandU64(seed, 7, i) >> 11, ties by the larger
   number), each node the smallest colour its earlier neighbours lack. */
static PetscInt GreedyColors(const Model *m, TnColoringOrder order, PetscInt seed, PetscInt *col)
{
  PetscInt N = m->N, ord[NMAX], ncol = 0;
  for (PetscInt i = 0; i < N; i++) ord[i] = i;
  for (PetscInt s = 0; order == TN_COLORING_RANDOM && s < N; s++) /* selection sort, highest first */
    for (PetscInt t = s + 1; t < N; t++) {
      uint64_t ps = TnRandU64((uint64_t)seed, 7, (uint64_t)ord[s]) >> 11, pt = TnRandU64((uint64_t)seed, 7, (uint64_t)ord[t]) >> 11;
      if (pt > ps || (pt == ps && ord[t] > ord[s])) {
        PetscInt x = ord[s];
        ord[s]     = ord[t];
        ord[t]     = x;
      }
    }
  for (PetscInt i = 0; i < N; i++) col[i] = -1;
  for (PetscInt s = 0; s < N; s++) {
    PetscInt i = ord[s], c = 0;
    for (PetscBool clash = PETSC_TRUE; clash; c += clash) {
      clash = PETSC_FALSE;
      for (PetscInt j = 0; j < N && !clash; j++) clash = (PetscBool)(j != i && (m->P[i][j] || m->P[j][i]) && col[j] == c);
    }
    col[i] = c;
    ncol   = PetscMax(ncol, c + 1);
  }
  return ncol;
}

/* -dyn_coloring_order: both orders give the sequential greedy colouring at
   every rank count; natural gives the 4 x 4 lattice its checkerboard. */
static void test_coloring_order(void)
{
  for (int order = 0; order < 2; order++) {
    Model    m;
    TnNet    net;
    TnDyn    dyn;
    PetscInt N = 14, col[NMAX], ref[NMAX], ncol = 0, nref;
    TnTestModelRandomDense(&m, N, 0.35, PETSC_FALSE, 1.0, 5);
    nref = GreedyColors(&m, (TnColoringOrder)order, 4242, ref);
    TN_ASSERT_OK(TnTestModelNet(&m, &net));
    TN_ASSERT_OK(TnDynCreate(net, &dyn));
    TN_ASSERT_OK(TnDynSetScheme(dyn, TN_SCHEME_COLORED));
    TN_ASSERT_OK(TnDynSetColoringOrder(dyn, (TnColoringOrder)order));
    TN_ASSERT_OK(TnDynSetColoringSeed(dyn, 4242));
    TN_ASSERT_OK(TnDynSetUp(dyn));
    TN_ASSERT_OK(GatherColors(net, dyn, N, col, &ncol));
    CU_ASSERT(ncol == nref);
    for (PetscInt i = 0; i < N; i++) CU_ASSERT(col[i] == ref[i]);
    TnDynDestroy(&dyn);
    TnNetDestroy(&net);
  }
  {
    TnNet    net;
    TnDyn    dyn;
    PetscInt n = 4, col[NMAX], ncol = 0;
    TN_ASSERT_OK(TnNetCreate(PETSC_COMM_WORLD, &net));
    TN_ASSERT_OK(TnNetSetType(net, "lattice2d"));
    TN_ASSERT_OK(TnNetSetSize(net, n));
    TN_ASSERT_OK(TnNetSetUp(net));
    TN_ASSERT_OK(TnDynCreate(net, &dyn));
    TN_ASSERT_OK(TnDynSetScheme(dyn, TN_SCHEME_COLORED));
    TN_ASSERT_OK(TnDynSetUp(dyn));
    TN_ASSERT_OK(GatherColors(net, dyn, n * n, col, &ncol));
    CU_ASSERT(ncol == 2);
    for (PetscInt i = 0; i < n * n; i++) CU_ASSERT(col[i] == (i / n + i % n) % 2);
    TnDynDestroy(&dyn);
    TnNetDestroy(&net);
  }
}

/* The generators give the same log Phi for every rank count: compare with a
   value computed on one rank inside the same program. */
static void test_rank_invariance(void)
{
  const char    *types[]   = {"lattice2d", "er", "smallworld"};
  const TnScheme schemes[] = {TN_SCHEME_SYNC, TN_SCHEME_COLORED, TN_SCHEME_CONTINUOUS};
  for (int t = 0; t < 3; t++)
    for (int scheme = 0; scheme < 3; scheme++) {
      PetscReal   v[2][4];
      MPI_Comm    comms[2];
      PetscMPIInt rank;
      MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
      comms[0] = PETSC_COMM_WORLD;
      MPI_Comm_split(PETSC_COMM_WORLD, rank == 0 ? 0 : MPI_UNDEFINED, 0, &comms[1]);
      for (int c = 0; c < 2; c++) {
        TnNet       net;
        TnDyn       dyn;
        Vec         x;
        TnDynResult res;
        if (comms[c] == MPI_COMM_NULL) continue;
        TN_ASSERT_OK(TnNetCreate(comms[c], &net));
        TN_ASSERT_OK(TnNetSetType(net, types[t]));
        TN_ASSERT_OK(TnNetSetSize(net, t == 0 ? 15 : 200));
        TN_ASSERT_OK(TnNetSetDegree(net, 6));
        TN_ASSERT_OK(TnNetSetWeightScale(net, 0.7));
        TN_ASSERT_OK(TnDynCreate(net, &dyn));
        TN_ASSERT_OK(TnDynSetScheme(dyn, schemes[scheme]));
        TN_ASSERT_OK(TnDynSetBatchSize(dyn, 4));
        TN_ASSERT_OK(TnDynCreateState(dyn, &x));
        {
          Vec      xn;
          PetscInt rs, re;
          TN_ASSERT_OK(TnDynCreateNaturalState(dyn, &xn));
          VecGetOwnershipRange(xn, &rs, &re);
          for (PetscInt q = rs; q < re; q++) VecSetValue(xn, q, TnRandNormal(5, 0, q), INSERT_VALUES);
          VecAssemblyBegin(xn);
          VecAssemblyEnd(xn);
          TN_ASSERT_OK(TnDynNaturalToState(dyn, xn, x, SCATTER_FORWARD));
          VecDestroy(&xn);
        }
        TN_ASSERT_OK(TnDynResultCreate(dyn, &res));
        TN_ASSERT_OK(TnDynEvaluate(dyn, x, &res));
        for (int b = 0; b < 4; b++) v[c][b] = res.logphi[b];
        TnDynResultDestroy(&res);
        VecDestroy(&x);
        TnDynDestroy(&dyn);
        TnNetDestroy(&net);
      }
      if (comms[1] != MPI_COMM_NULL) MPI_Comm_free(&comms[1]);
      MPI_Bcast(v[1], 4, MPIU_REAL, 0, PETSC_COMM_WORLD);
      for (int b = 0; b < 4; b++) TN_ASSERT_CLOSE(v[0][b], v[1][b], 1e-12);
    }
}

static PetscErrorCode BadSetUp(PetscReal h, PetscInt K, PetscReal scale, PetscReal gamma, TnScheme scheme)
{
  TnNet          net;
  TnDyn          dyn;
  PetscErrorCode ierr;
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(PETSC_COMM_WORLD, &net));
  PetscCall(TnNetSetSize(net, 8));
  PetscCall(TnNetSetWeightScale(net, scale));
  PetscCall(TnNetSetLeak(net, gamma));
  PetscCall(TnDynCreate(net, &dyn));
  PetscCall(TnDynSetScheme(dyn, scheme));
  PetscCall(TnDynSetStepSize(dyn, h));
  PetscCall(TnDynSetSteps(dyn, K));
  ierr = TnDynSetUp(dyn);
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  return ierr;
}

static void test_bad_config(void)
{
  TN_ASSERT_OK(BadSetUp(0.1, 5, 1.0, 1.0, TN_SCHEME_SYNC));
  TN_ASSERT_FAILS(BadSetUp(0.0, 5, 1.0, 1.0, TN_SCHEME_SYNC));
  TN_ASSERT_FAILS(BadSetUp(-0.1, 5, 1.0, 1.0, TN_SCHEME_SYNC));
  TN_ASSERT_FAILS(BadSetUp(0.1, -1, 1.0, 1.0, TN_SCHEME_SYNC));
  TN_ASSERT_FAILS(BadSetUp(0.1, 5, 10.0, 1.0, TN_SCHEME_SYNC));    /* h Lip(f) > 1 */
  TN_ASSERT_FAILS(BadSetUp(0.1, 5, 1.0, 20.0, TN_SCHEME_COLORED)); /* 1 - h gamma < 0 */
  TN_ASSERT_FAILS(BadSetUp(0.1, 5, 1.0, -1.0, TN_SCHEME_SYNC));    /* gamma <= 0 */
  TN_ASSERT_OK(BadSetUp(0.1, 5, 10.0, 1.0, TN_SCHEME_COLORED));    /* colored only needs the diagonal */
}

/* NaN weights and an improper colouring file are refused. */
static void test_bad_inputs(void)
{
  Model       m;
  TnNet       net;
  TnDyn       dyn;
  PetscMPIInt rank;
  char        path[PETSC_MAX_PATH_LEN];
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  TnTestModelRandomDense(&m, 6, 0.5, PETSC_FALSE, 0.5, 3);
  m.W[2][2] = NAN;
  TN_ASSERT_OK(TnTestModelNet(&m, &net));
  TN_ASSERT_FAILS(TnNetSetUp(net));
  TnNetDestroy(&net);
  TnTestModelRandomDense(&m, 6, 0.5, PETSC_FALSE, 0.5, 3);
  m.P[0][1] = m.P[1][0] = PETSC_TRUE;
  m.W[0][1]             = 0.1;
  PetscSNPrintf(path, sizeof(path), "%s/colors.txt", TnTestTmpDir());
  if (!rank) {
    FILE *fp = fopen(path, "w");
    for (int i = 0; i < 6; i++) fprintf(fp, "%d\n", i < 2 ? 0 : i); /* nodes 1 and 2 joined, same colour */
    fclose(fp);
  }
  MPI_Barrier(PETSC_COMM_WORLD);
  TN_ASSERT_OK(TnTestModelNet(&m, &net));
  TN_ASSERT_OK(TnDynCreate(net, &dyn));
  TN_ASSERT_OK(TnDynSetScheme(dyn, TN_SCHEME_COLORED));
  TN_ASSERT_OK(TnDynSetColoringFile(dyn, path, NULL));
  TN_ASSERT_FAILS(TnDynSetUp(dyn));
  TnDynDestroy(&dyn);
  TnNetDestroy(&net);
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("dyn", NULL, NULL);
  CU_add_test(s, "linear sync closed form", test_linear_sync);
  CU_add_test(s, "colored = log det of the sweep Jacobian", test_colored_exact);
  CU_add_test(s, "colored steps from a new state mid-chain", test_colored_chain);
  CU_add_test(s, "colouring orders: sequential greedy, lattice checkerboard", test_coloring_order);
  CU_add_test(s, "rank and partition invariance", test_rank_invariance);
  CU_add_test(s, "bad configurations", test_bad_config);
  CU_add_test(s, "bad inputs", test_bad_inputs);
}
