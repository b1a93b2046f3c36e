/* Local learning rules (src/rule, docs/rules.md), against references the test
   computes itself from the same samples:
   - hebb with the decaying step eta_t = 1/(alpha (t+1)) over two passes of a
     fixed sample set reaches W = C/alpha on P, C = <r r^T> summed here:
     relative error in the norm over P <= 1e-3, and every entry within 1e-12
     of the reference (so the result is the same at every rank count);
   - oja (full batch, constant eta) takes each row W_i. to the unit principal
     eigenvector of C restricted to P_i (LAPACK syev on the block): |cos| >=
     0.999 and |‖W_i‖ - 1| <= 1e-3 on every row with a relative eigengap
     (l1 - l2)/l1 >= 0.05;
   - hebb with alpha = 0 grows without bound: the step beyond the weight limit
     is refused with an error, W stays finite and as it was;
   - bad input (NaN activity, wrong layout, unknown type) is refused;
   - a step made in place (its a-priori bound within the weight limit)
     stores what the checked step stores, and W rewritten by someone else
     is seen by the bound;
   - one step of hebb and of oja equals the formulas summed here.
   Samples are functions of (natural node, sample) only. */
#include "tn_test.h"
#include <tenor/net.h>
#include <tenor/rule.h>
#include <petscblaslapack.h>

#define NF 3

/* r_is = tanh(sum_f a_f u_fi z_fs + 0.4 eps_is): three shared factors of
   decreasing strength plus independent noise. */
static PetscReal Act(PetscInt i, PetscInt s)
{
  static const PetscReal a[NF] = {1.2, 0.6, 0.3};
  PetscReal              x     = 0.4 * TnRandNormal(7, 3, (uint64_t)i * 100003 + s);
  for (PetscInt f = 0; f < NF; f++) x += a[f] * TnRandNormal(7, 1, (uint64_t)f * 1000 + i) * TnRandNormal(7, 2, (uint64_t)f * 100003 + s);
  return PetscTanhReal(x);
}

/* C_ij = (1/S) sum_s r_is r_js. */
static PetscReal Cov(PetscInt i, PetscInt j, PetscInt S)
{
  PetscReal c = 0;
  for (PetscInt s = 0; s < S; s++) c += Act(i, s) * Act(j, s);
  return c / S;
}

static PetscErrorCode MakeNetOfType(const char type[], PetscInt N, PetscInt k, TnNet *net)
{
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(PETSC_COMM_WORLD, net));
  PetscCall(TnNetSetType(*net, type));
  PetscCall(TnNetSetSize(*net, N));
  PetscCall(TnNetSetDegree(*net, k));
  PetscCall(TnNetSetSelfLoops(*net, PETSC_TRUE));
  PetscCall(TnNetSetWeightScale(*net, 0.5));
  PetscCall(TnNetSetUp(*net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode MakeNet(PetscInt N, PetscInt k, TnNet *net)
{
  PetscFunctionBeginUser;
  PetscCall(MakeNetOfType("er", N, k, net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* x (partitioned order, block size B) <- samples s0 .. s0+B-1. */
static PetscErrorCode FillBatch(TnNet net, Vec x, PetscInt B, PetscInt s0)
{
  const PetscInt *natural;
  PetscInt        m;
  PetscScalar    *px;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetNatural(net, &natural));
  PetscCall(VecGetLocalSize(x, &m));
  m /= B;
  PetscCall(VecGetArrayWrite(x, &px));
  for (PetscInt i = 0; i < m; i++)
    for (PetscInt b = 0; b < B; b++) px[i * B + b] = Act(natural[i], s0 + b);
  PetscCall(VecRestoreArrayWrite(x, &px));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CreateBatch(TnNet net, PetscInt B, Vec *x)
{
  TnParamLayout L;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetParamLayout(net, &L));
  PetscCall(VecCreateMPI(PETSC_COMM_WORLD, L.m * B, PETSC_DETERMINE, x));
  PetscCall(VecSetBlockSize(*x, B));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode HebbFixedPoint(void)
{
  const PetscInt  N = 60, k = 6, S = 64, B = 4, passes = 2;
  const PetscReal alpha = 0.5;
  TnNet           net;
  TnRule          rule;
  Vec             x;
  TnParamLayout   L;
  PetscScalar    *th;
  PetscInt       *row, *col;
  PetscReal       loc[3] = {0, 0, 0}, glob[3];
  PetscInt64      steps;
  PetscFunctionBeginUser;
  PetscCall(MakeNet(N, k, &net));
  PetscCall(TnRuleCreate(net, &rule));
  PetscCall(TnRuleSetType(rule, TNRULE_HEBB));
  PetscCall(TnRuleSetDecay(rule, alpha));
  PetscCall(CreateBatch(net, B, &x));
  /* W_{t+1} = (1 - 1/(t+1)) W_t + (1/(t+1)) C_t/alpha: the running mean of
     the batch covariances over alpha, = C/alpha after whole passes. */
  for (PetscInt t = 0; t < passes * (S / B); t++) {
    PetscCall(FillBatch(net, x, B, (t % (S / B)) * B));
    PetscCall(TnRuleSetEta(rule, 1.0 / (alpha * (t + 1))));
    PetscCall(TnRuleApply(rule, x));
  }
  PetscCall(TnRuleGetStats(rule, &steps, NULL));
  CU_ASSERT(steps == passes * (S / B));
  PetscCall(TnNetGetParamLayout(net, &L));
  PetscCall(TnNetGetParamArray(net, &th, NULL));
  PetscCall(TnNetGetParamMap(net, &row, &col));
  for (PetscInt q = 0; q < L.nd + L.no; q++) {
    const PetscReal ref = Cov(row[q], col[q], S) / alpha, e = th[q] - ref;
    loc[0] += e * e;
    loc[1] += ref * ref;
    loc[2] = PetscMax(loc[2], PetscAbsReal(e));
  }
  PetscCall(PetscFree2(row, col));
  PetscCall(MPIU_Allreduce(loc, glob, 3, MPIU_REAL, MPIU_SUM, PETSC_COMM_WORLD));
  PetscCall(MPIU_Allreduce(&loc[2], &glob[2], 1, MPIU_REAL, MPIU_MAX, PETSC_COMM_WORLD));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "hebb: |W - C/alpha|_P / |C/alpha|_P = %.3e, max entry error %.3e\n", (double)PetscSqrtReal(glob[0] / glob[1]), (double)glob[2]));
  CU_ASSERT(PetscSqrtReal(glob[0] / glob[1]) <= 1e-3);
  CU_ASSERT(glob[2] <= 1e-12);
  PetscCall(VecDestroy(&x));
  PetscCall(TnRuleDestroy(&rule));
  CU_ASSERT(rule == NULL);
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_hebb_fixed_point(void)
{
  TN_ASSERT_OK(HebbFixedPoint());
}

#define KMAX 16

static PetscErrorCode OjaPrincipal(void)
{
  const PetscInt N = 40, k = 5, S = 200, steps = 1500;
  TnNet          net;
  TnRule         rule;
  Vec            x;
  TnParamLayout  L;
  PetscScalar   *th;
  PetscInt      *row, *col, loc[3] = {0, 0, 0}, glob[3];
  PetscFunctionBeginUser;
  PetscCall(MakeNet(N, k, &net));
  PetscCall(TnRuleCreate(net, &rule));
  PetscCall(TnRuleSetType(rule, TNRULE_OJA));
  PetscCall(TnRuleSetEta(rule, 0.2));
  PetscCall(CreateBatch(net, S, &x));
  PetscCall(FillBatch(net, x, S, 0));
  for (PetscInt t = 0; t < steps; t++) PetscCall(TnRuleApply(rule, x));
  PetscCall(TnNetGetParamLayout(net, &L));
  PetscCall(TnNetGetParamArray(net, &th, NULL));
  PetscCall(TnNetGetParamMap(net, &row, &col));
  /* Row i's entries: its positions in Ad's part then Ao's; gather them by row. */
  for (PetscInt i = 0; i < L.m; i++) {
    PetscInt     n = 0, pos[KMAX], nat;
    PetscScalar  C[KMAX * KMAX], w[KMAX], work[10 * KMAX];
    PetscReal    lam[KMAX], dot = 0, nw = 0, gap;
    PetscBLASInt bn, lwork = 10 * KMAX, info;
    nat = row[L.b + i];
    for (PetscInt q = 0; q < L.nd + L.no; q++)
      if (row[q] == nat) pos[n++] = q;
    if (n < 2 || n > KMAX) continue;
    for (PetscInt a = 0; a < n; a++)
      for (PetscInt b = 0; b < n; b++) C[a + b * n] = Cov(col[pos[a]], col[pos[b]], S);
    PetscCall(PetscBLASIntCast(n, &bn));
    LAPACKsyev_("V", "U", &bn, C, &bn, lam, work, &lwork, &info);
    PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "syev failed");
    gap = (lam[n - 1] - lam[n - 2]) / lam[n - 1]; /* ascending */
    for (PetscInt a = 0; a < n; a++) w[a] = th[pos[a]], dot += w[a] * C[a + (n - 1) * n], nw += w[a] * w[a];
    nw = PetscSqrtReal(nw);
    if (gap < 0.05) continue;
    loc[0]++;
    if (PetscAbsReal(dot) / nw >= 0.999 && PetscAbsReal(nw - 1) <= 1e-3)
      loc[1]++;
    else
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "oja: row %" PetscInt_FMT ": |cos| %.6f, |W_i| %.6f, gap %.3f\n", nat, (double)(PetscAbsReal(dot) / nw), (double)nw, (double)gap));
  }
  loc[2] = L.m;
  PetscCall(PetscFree2(row, col));
  PetscCall(MPIU_Allreduce(loc, glob, 3, MPIU_INT, MPI_SUM, PETSC_COMM_WORLD));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "oja: %" PetscInt_FMT " of %" PetscInt_FMT " rows with gap >= 0.05, %" PetscInt_FMT " converged\n", glob[0], glob[2], glob[1]));
  CU_ASSERT(glob[0] >= N / 2); /* the check is not vacuous */
  CU_ASSERT(glob[1] == glob[0]);
  PetscCall(VecDestroy(&x));
  PetscCall(TnRuleDestroy(&rule));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_oja_principal(void)
{
  TN_ASSERT_OK(OjaPrincipal());
}

static PetscErrorCode HebbRunaway(void)
{
  TnNet          net;
  TnRule         rule;
  Vec            x;
  TnParamLayout  L;
  PetscScalar   *th, *before;
  PetscErrorCode e    = 0;
  PetscInt       t    = 0;
  PetscReal      wmax = 50, loc = 0, glob, diff = 0, gdiff;
  PetscInt64     steps = 0;
  PetscFunctionBeginUser;
  PetscCall(MakeNet(30, 4, &net));
  PetscCall(TnRuleCreate(net, &rule));
  PetscCall(PetscOptionsSetValue(NULL, "-rule_decay", "0"));
  PetscCall(PetscOptionsSetValue(NULL, "-rule_eta", "1"));
  PetscCall(PetscOptionsSetValue(NULL, "-rule_max_weight", "50"));
  PetscCall(TnRuleSetFromOptions(rule));
  PetscCall(PetscOptionsClearValue(NULL, "-rule_decay"));
  PetscCall(PetscOptionsClearValue(NULL, "-rule_eta"));
  PetscCall(PetscOptionsClearValue(NULL, "-rule_max_weight"));
  PetscCall(CreateBatch(net, 1, &x));
  PetscCall(FillBatch(net, x, 1, 0));
  PetscCall(TnNetGetParamLayout(net, &L));
  PetscCall(TnNetGetParamArray(net, &th, NULL));
  PetscCall(PetscMalloc1(L.n + 1, &before));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  for (t = 0; t < 100000 && !e; t++) {
    PetscCall(PetscArraycpy(before, th, L.n));
    e = TnRuleApply(rule, x);
  }
  PetscCall(PetscPopErrorHandler());
  PetscCall(TnRuleGetStats(rule, &steps, NULL));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "hebb, alpha = 0: refused at step %" PetscInt64_FMT "\n", steps + 1));
  CU_ASSERT(e != 0);
  CU_ASSERT(t < 100000);
  for (PetscInt q = 0; q < L.n; q++) {
    if (PetscIsInfOrNanScalar(th[q]))
      loc = PETSC_INFINITY;
    else if (q < L.nd + L.no)
      loc = PetscMax(loc, PetscAbsScalar(th[q]));
    diff = PetscMax(diff, PetscAbsScalar(th[q] - before[q]));
  }
  PetscCall(MPIU_Allreduce(&loc, &glob, 1, MPIU_REAL, MPIU_MAX, PETSC_COMM_WORLD));
  PetscCall(MPIU_Allreduce(&diff, &gdiff, 1, MPIU_REAL, MPIU_MAX, PETSC_COMM_WORLD));
  CU_ASSERT(glob <= wmax);    /* finite and within the limit */
  CU_ASSERT(glob > wmax / 2); /* it did grow */
  CU_ASSERT(gdiff == 0);      /* the refused step changed nothing */
  PetscCall(PetscFree(before));
  PetscCall(VecDestroy(&x));
  PetscCall(TnRuleDestroy(&rule));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_hebb_runaway(void)
{
  TN_ASSERT_OK(HebbRunaway());
}

static PetscErrorCode BadInput(void)
{
  TnNet         net;
  TnRule        rule;
  Vec           x, y;
  TnParamLayout L;
  PetscFunctionBeginUser;
  PetscCall(MakeNet(20, 3, &net));
  PetscCall(TnRuleCreate(net, &rule));
  TN_ASSERT_FAILS(TnRuleSetType(rule, "hebbian"));
  TN_ASSERT_FAILS(TnRuleSetEta(rule, 0));
  TN_ASSERT_FAILS(TnRuleSetDecay(rule, -1));
  PetscCall(CreateBatch(net, 2, &x));
  PetscCall(FillBatch(net, x, 2, 0));
  PetscCall(TnNetGetParamLayout(net, &L));
  {
    PetscMPIInt rank;
    PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
    if (rank == 0 && L.m > 0) PetscCall(VecSetValue(x, 0, NAN, INSERT_VALUES)); /* one rank only: the refusal is collective */
    PetscCall(VecAssemblyBegin(x));
    PetscCall(VecAssemblyEnd(x));
  }
  TN_ASSERT_FAILS(TnRuleApply(rule, x));
  PetscCall(VecCreateMPI(PETSC_COMM_WORLD, L.m * 2 + 1, PETSC_DETERMINE, &y));
  PetscCall(VecSet(y, 0.1));
  TN_ASSERT_FAILS(TnRuleApply(rule, y));
  PetscCall(VecDestroy(&y));
  PetscCall(VecDestroy(&x));
  PetscCall(TnRuleDestroy(&rule));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_bad_input(void)
{
  TN_ASSERT_OK(BadInput());
}

/* The update as a direction: ComputeUpdate on a batch of 4 whose last
   sample is padding (nvalid = 3, the padding huge) equals the update of the
   3 samples alone, is zero for b and u, and adding it equals TnRuleApply's
   step; the average schedule's step sizes are n_t/(alpha S_t). */
static PetscErrorCode UpdateAsDirection(void)
{
  TnNet         net;
  TnRule        rule, ref;
  Vec           x4, x3, d, dref;
  TnParamLayout L;
  PetscScalar  *px;
  PetscReal     eta, wmax, diff, nb;
  char          why[512];
  PetscFunctionBeginUser;
  PetscCall(MakeNet(30, 4, &net));
  PetscCall(TnRuleCreate(net, &rule));
  PetscCall(TnRuleSetDecay(rule, 0.5));
  PetscCall(TnRuleSetEta(rule, 0.3));
  PetscCall(CreateBatch(net, 4, &x4));
  PetscCall(CreateBatch(net, 3, &x3));
  PetscCall(FillBatch(net, x4, 4, 0));
  PetscCall(FillBatch(net, x3, 3, 0));
  PetscCall(TnNetGetParamLayout(net, &L));
  PetscCall(VecGetArray(x4, &px));
  for (PetscInt i = 0; i < L.m; i++) px[i * 4 + 3] = 1e6;
  PetscCall(VecRestoreArray(x4, &px));
  PetscCall(VecCreateMPI(PETSC_COMM_WORLD, L.n, PETSC_DETERMINE, &d));
  PetscCall(VecDuplicate(d, &dref));
  PetscCall(TnRuleComputeUpdate(rule, x4, 3, d));
  PetscCall(TnRuleComputeUpdate(rule, x3, 3, dref));
  PetscCall(VecAXPY(dref, -1.0, d));
  PetscCall(VecNorm(dref, NORM_INFINITY, &diff));
  PetscCall(VecNorm(d, NORM_INFINITY, &nb));
  CU_ASSERT(diff == 0 && nb > 0);
  PetscCall(VecGetArray(d, &px));
  for (PetscInt q = L.nd + L.no; q < L.n; q++) CU_ASSERT(px[q] == 0);
  PetscCall(VecRestoreArray(d, &px));
  PetscCall(TnRuleCheckUpdate(rule, d, &wmax, why, sizeof why));
  CU_ASSERT(why[0] == 0 && wmax > 0);
  /* adding d is TnRuleApply's step on the 3 samples (on the same net: a
     second net may be partitioned differently) */
  {
    PetscScalar *p, *save, *after;
    PetscCall(PetscMalloc2(L.n + 1, &save, L.n + 1, &after));
    PetscCall(TnNetGetParamArray(net, &p, NULL));
    PetscCall(PetscArraycpy(save, p, L.n));
    PetscCall(VecGetArray(d, &px));
    PetscCall(TnNetSetParams(net, px, 1.0, PETSC_TRUE));
    PetscCall(VecRestoreArray(d, &px));
    PetscCall(TnNetGetParamArray(net, &p, NULL));
    PetscCall(PetscArraycpy(after, p, L.n));
    PetscCall(TnNetSetParams(net, save, 1.0, PETSC_FALSE)); /* back to the start */
    PetscCall(TnRuleCreate(net, &ref));
    PetscCall(TnRuleSetDecay(ref, 0.5));
    PetscCall(TnRuleSetEta(ref, 0.3));
    PetscCall(TnRuleApply(ref, x3));
    PetscCall(TnNetGetParamArray(net, &p, NULL));
    for (PetscInt q = 0; q < L.n; q++) CU_ASSERT(p[q] == after[q]);
    PetscCall(TnRuleDestroy(&ref));
    PetscCall(PetscFree2(save, after));
  }
  /* a limit below the current weights: the check says why, nothing changes */
  PetscCall(TnRuleSetMaxWeight(rule, 1e-3));
  PetscCall(TnRuleCheckUpdate(rule, d, &wmax, why, sizeof why));
  CU_ASSERT(strstr(why, "running away") != NULL);
  /* average: eta_t = n_t / (alpha S_t) */
  PetscCall(TnRuleSetSchedule(rule, TN_RULE_SCHEDULE_AVERAGE));
  PetscCall(TnRuleGetStepSize(rule, 4, &eta));
  CU_ASSERT(eta == 4 / (0.5 * 4));
  PetscCall(TnRuleUpdateApplied(rule, 4, 1.0));
  PetscCall(TnRuleGetStepSize(rule, 2, &eta));
  CU_ASSERT(PetscAbsReal(eta - 2 / (0.5 * 6)) < 1e-15);
  PetscCall(TnRuleSetType(rule, TNRULE_OJA));
  TN_ASSERT_FAILS(TnRuleGetStepSize(rule, 2, &eta)); /* average is hebb's */
  PetscCall(VecDestroy(&d));
  PetscCall(VecDestroy(&dref));
  PetscCall(VecDestroy(&x3));
  PetscCall(VecDestroy(&x4));
  PetscCall(TnRuleDestroy(&rule));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_update_as_direction(void)
{
  TN_ASSERT_OK(UpdateAsDirection());
}

/* One step against the formulas, summed here from the samples themselves
   (Act) and W before the step: hebb dW_ij = eta (<r_i r_j> - alpha W_ij),
   oja y_ib = sum_{j in P_i} W_ij r_jb, dW_ij = eta (<y_i r_j> - <y_i^2>
   W_ij), <.> the mean over the n valid samples. er with self-loops (rows
   with on- and off-process synapses at 2-4 ranks): N = 50, k = 6 (rows
   shorter than oja's four-wide B = 1 kernel: four like rows at once) and
   N = 400, k = 9 (rows that take it; hebb's B = 1 pieces of 512 synapses
   end inside rows); and lattice2d n = 20 (rows of 3 to 5 synapses, runs of
   like rows broken at the edges, off-process synapses at the band's
   borders); B = 16 (its own kernel), 3 (the generic one) and 1 (hebb's
   pieces, oja's four-wide rows and groups of rows): TnRuleApply's W (n = B)
   and, for B > 1,
   TnRuleComputeUpdate's direction of a padded batch (n = B - 1) within
   1e-14 relative of the reference (the sums over the samples are ordered
   differently here); after TnRuleApply, W_ii follows W and the reported
   max |W_ij| is the true one. */
/* Activities off the cache line (a Vec on storage one value past an
   aligned address: the rule gathers from its own aligned copy) and on it
   (TnVecCreateAligned) give the same update, bit for bit: hebb and oja, B
   = 16 (the vector kernels) and 3, all samples valid and a padded batch. */
static PetscErrorCode OffTheLine(void)
{
  TnNet          net;
  TnParamLayout  L;
  const char    *kinds[2] = {TNRULE_HEBB, TNRULE_OJA};
  const PetscInt Bs[2]    = {16, 3};
  PetscFunctionBeginUser;
  PetscCall(MakeNet(400, 9, &net));
  PetscCall(TnNetGetParamLayout(net, &L));
  for (int q = 0; q < 2; q++)
    for (int ib = 0; ib < 2; ib++) {
      const PetscInt B = Bs[ib];
      TnRule         rule;
      Vec            xa, xo, da, dofl;
      PetscScalar   *store, *pa, *po;
      PetscReal      na;
      PetscCall(TnMemoryAllocAligned(sizeof(PetscScalar) * ((size_t)L.m * B + 2), &store));
      PetscCall(VecCreateMPIWithArray(PETSC_COMM_WORLD, B, L.m * B, PETSC_DECIDE, store + 1, &xo));
      PetscCall(TnVecCreateAligned(PETSC_COMM_WORLD, L.m * B, B, &xa));
      PetscCall(FillBatch(net, xo, B, 5));
      PetscCall(FillBatch(net, xa, B, 5));
      PetscCall(VecGetArrayRead(xa, (const PetscScalar **)&pa));
      CU_ASSERT((uintptr_t)pa % 64 == 0);
      PetscCall(VecRestoreArrayRead(xa, (const PetscScalar **)&pa));
      PetscCall(VecCreateMPI(PETSC_COMM_WORLD, L.n, PETSC_DETERMINE, &da));
      PetscCall(VecDuplicate(da, &dofl));
      PetscCall(TnRuleCreate(net, &rule));
      PetscCall(TnRuleSetType(rule, kinds[q]));
      PetscCall(TnRuleSetEta(rule, 0.1));
      for (PetscInt n = B; n >= B - 1; n--) {
        PetscCall(TnRuleComputeUpdate(rule, xo, n, dofl));
        PetscCall(TnRuleComputeUpdate(rule, xa, n, da));
        PetscCall(VecNorm(da, NORM_INFINITY, &na));
        CU_ASSERT(na > 0);
        PetscCall(VecGetArrayRead(da, (const PetscScalar **)&pa));
        PetscCall(VecGetArrayRead(dofl, (const PetscScalar **)&po));
        for (PetscInt t = 0; t < L.n; t++) CU_ASSERT(pa[t] == po[t]);
        PetscCall(VecRestoreArrayRead(dofl, (const PetscScalar **)&po));
        PetscCall(VecRestoreArrayRead(da, (const PetscScalar **)&pa));
      }
      PetscCall(TnRuleDestroy(&rule));
      PetscCall(VecDestroy(&da));
      PetscCall(VecDestroy(&dofl));
      PetscCall(VecDestroy(&xa));
      PetscCall(VecDestroy(&xo));
      PetscCall(TnMemoryFreeAligned(&store));
    }
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_off_the_line(void)
{
  TN_ASSERT_OK(OffTheLine());
}

static PetscErrorCode WeightStats(TnNet, PetscReal *, PetscBool *);

static PetscErrorCode OneStep(void)
{
  const char     *types[3] = {"er", "er", "lattice2d"};
  const PetscInt  Bs[3] = {16, 3, 1}, Ns[3] = {50, 400, 20}, ks[3] = {6, 9, 4};
  const PetscReal eta = 0.1, alpha = 0.5;
  PetscFunctionBeginUser;
  for (int in = 0; in < 3; in++) {
    TnNet         net;
    TnParamLayout L;
    PetscScalar  *p, *save, *ref;
    PetscInt     *row, *col;
    PetscReal     loc = 0, err;
    PetscCall(MakeNetOfType(types[in], Ns[in], ks[in], &net));
    PetscCall(TnNetGetParamLayout(net, &L));
    PetscCall(TnNetGetParamMap(net, &row, &col));
    PetscCall(PetscMalloc2(L.n + 1, &save, L.n + 1, &ref));
    PetscCall(TnNetGetParamArray(net, &p, NULL));
    PetscCall(PetscArraycpy(save, p, L.n));
    for (int ib = 0; ib < 3; ib++)
      for (int kind = 0; kind < 2; kind++)
        for (int padded = 0; padded < (Bs[ib] > 1 ? 2 : 1); padded++) {
          const PetscInt B = Bs[ib], n = B - padded, s0 = 11;
          TnRule         rule;
          Vec            x, d;
          PetscCall(TnNetSetParams(net, save, 1.0, PETSC_FALSE));
          PetscCall(CreateBatch(net, B, &x));
          PetscCall(FillBatch(net, x, B, s0));
          for (PetscInt q = 0; q < L.nd + L.no; q++) { /* the reference W + dW */
            PetscReal s = 0, yy = 0;
            for (PetscInt b = 0; b < n; b++) {
              PetscReal y = Act(row[q], s0 + b);
              if (kind) {
                y = 0;
                for (PetscInt t = 0; t < L.nd + L.no; t++)
                  if (row[t] == row[q]) y += save[t] * Act(col[t], s0 + b);
              }
              s += y * Act(col[q], s0 + b);
              yy += y * y;
            }
            ref[q] = save[q] + eta * (s / n - (kind ? yy / n : alpha) * save[q]);
          }
          PetscCall(TnRuleCreate(net, &rule));
          PetscCall(TnRuleSetType(rule, kind ? TNRULE_OJA : TNRULE_HEBB));
          PetscCall(TnRuleSetEta(rule, eta));
          PetscCall(TnRuleSetDecay(rule, alpha));
          if (padded) {
            PetscScalar *pd;
            PetscCall(VecCreateMPI(PETSC_COMM_WORLD, L.n, PETSC_DETERMINE, &d));
            PetscCall(TnRuleComputeUpdate(rule, x, n, d));
            PetscCall(VecGetArray(d, &pd));
            for (PetscInt q = 0; q < L.nd + L.no; q++) loc = PetscMax(loc, PetscAbsReal(save[q] + pd[q] - ref[q]) / PetscMax(1, PetscAbsReal(ref[q])));
            PetscCall(VecRestoreArray(d, &pd));
            PetscCall(VecDestroy(&d));
          } else {
            PetscReal wm, last;
            PetscBool diagok;
            PetscCall(TnRuleApply(rule, x));
            PetscCall(TnNetGetParamArray(net, &p, NULL));
            for (PetscInt q = 0; q < L.nd + L.no; q++) loc = PetscMax(loc, PetscAbsReal(p[q] - ref[q]) / PetscMax(1, PetscAbsReal(ref[q])));
            PetscCall(WeightStats(net, &wm, &diagok));
            PetscCall(TnRuleGetStats(rule, NULL, &last));
            CU_ASSERT(diagok);     /* W_ii followed W */
            CU_ASSERT(last == wm); /* the pass's max |W_ij| is the true one */
          }
          PetscCall(TnRuleDestroy(&rule));
          PetscCall(VecDestroy(&x));
        }
    PetscCall(MPIU_Allreduce(&loc, &err, 1, MPIU_REAL, MPIU_MAX, PETSC_COMM_WORLD));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "one step against the formulas, N = %" PetscInt_FMT ": max relative error %.3e\n", Ns[in], (double)err));
    CU_ASSERT(err <= 1e-14);
    PetscCall(PetscFree2(row, col));
    PetscCall(PetscFree2(save, ref));
    PetscCall(TnNetDestroy(&net));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_one_step(void)
{
  TN_ASSERT_OK(OneStep());
}

/* A step that overflows: at B = 1, 4 and 16, one node's activity 1e200
   makes r_i r_j (hebb) or y_i r_j (oja) Inf in the rows and columns it
   touches. The update's check names the NaN or Inf (not just a limit
   crossed), TnRuleApply refuses it with the same words, from the
   statistics of its own pass, and leaves W as it was, on every rank;
   with the node's activity 1e100 instead the products stay finite
   (1e200 < DBL_MAX) and the check names the limit. */
static PetscErrorCode NonFinite(void)
{
  const PetscInt Bs[3] = {1, 4, 16};
  TnNet          net;
  TnParamLayout  L;
  PetscScalar   *p, *save;
  PetscFunctionBeginUser;
  PetscCall(MakeNet(400, 9, &net));
  PetscCall(TnNetGetParamLayout(net, &L));
  PetscCall(PetscMalloc1(L.n + 1, &save));
  PetscCall(TnNetGetParamArray(net, &p, NULL));
  PetscCall(PetscArraycpy(save, p, L.n));
  for (int ib = 0; ib < 3; ib++)
    for (int kind = 0; kind < 2; kind++)
      for (int big = 0; big < 2; big++) {
        const PetscInt B = Bs[ib];
        TnRule         rule;
        Vec            x, d;
        PetscReal      wm;
        PetscInt       lo, hi, diff = 0, gdiff;
        char           why[512];
        PetscErrorCode e;
        PetscCall(CreateBatch(net, B, &x));
        PetscCall(FillBatch(net, x, B, 3));
        PetscCall(VecGetOwnershipRange(x, &lo, &hi));
        if (lo <= 7 * B && 7 * B < hi) PetscCall(VecSetValue(x, 7 * B, big ? 1e200 : 1e100, INSERT_VALUES));
        PetscCall(VecAssemblyBegin(x));
        PetscCall(VecAssemblyEnd(x));
        PetscCall(TnRuleCreate(net, &rule));
        PetscCall(TnRuleSetType(rule, kind ? TNRULE_OJA : TNRULE_HEBB));
        PetscCall(TnRuleSetEta(rule, 0.1));
        PetscCall(VecCreateMPI(PETSC_COMM_WORLD, L.n, PETSC_DETERMINE, &d));
        PetscCall(TnRuleComputeUpdate(rule, x, B, d));
        PetscCall(TnRuleCheckUpdate(rule, d, &wm, why, sizeof why));
        CU_ASSERT(why[0] != 0);
        CU_ASSERT((strstr(why, "NaN or Inf") != NULL) == (big == 1));
        PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
        e = TnRuleApply(rule, x);
        PetscCall(PetscPopErrorHandler());
        CU_ASSERT(e != 0);
        if (e) { /* TnRuleApply's own statistics name it too */
          char *spec = NULL;
          PetscCall(PetscErrorMessage(e, NULL, &spec));
          CU_ASSERT(spec && (strstr(spec, "NaN or Inf") != NULL) == (big == 1));
        }
        PetscCall(TnNetGetParamArray(net, &p, NULL));
        for (PetscInt q = 0; q < L.n; q++) diff += p[q] != save[q];
        PetscCall(MPIU_Allreduce(&diff, &gdiff, 1, MPIU_INT, MPI_SUM, PETSC_COMM_WORLD));
        CU_ASSERT(gdiff == 0);
        PetscCall(TnNetSetParams(net, save, 1.0, PETSC_FALSE));
        PetscCall(VecDestroy(&d));
        PetscCall(TnRuleDestroy(&rule));
        PetscCall(VecDestroy(&x));
      }
  PetscCall(PetscFree(save));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_non_finite(void)
{
  TN_ASSERT_OK(NonFinite());
}

/* A step that overflows only in an off-process synapse (2 ranks or
   more): er without self-loops, the two ends i, j of one synapse of rank
   0's off-process block given the activity 1e200 (r_i r_j = Inf; every
   other product finite, no W_ii). hebb takes the off-process block in a
   pass of its own (after the halo): its statistics must still name the
   NaN or Inf, and the step be refused with W as it was. */
static PetscErrorCode NonFiniteOffProcess(void)
{
  TnNet          net;
  TnParamLayout  L;
  PetscScalar   *p, *save;
  PetscInt      *row, *col, ij[2] = {-1, -1}, diff = 0, gdiff;
  const PetscInt B = 4;
  PetscMPIInt    size, rank;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  if (size < 2) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnNetCreate(PETSC_COMM_WORLD, &net));
  PetscCall(TnNetSetType(net, "er"));
  PetscCall(TnNetSetSize(net, 400));
  PetscCall(TnNetSetDegree(net, 9));
  PetscCall(TnNetSetSelfLoops(net, PETSC_FALSE));
  PetscCall(TnNetSetWeightScale(net, 0.5));
  PetscCall(TnNetSetUp(net));
  PetscCall(TnNetGetParamLayout(net, &L));
  PetscCall(TnNetGetParamMap(net, &row, &col));
  if (!rank && L.no > 0) ij[0] = row[L.nd], ij[1] = col[L.nd];
  PetscCallMPI(MPI_Bcast(ij, 2, MPIU_INT, 0, PETSC_COMM_WORLD));
  CU_ASSERT_FATAL(ij[0] >= 0 && ij[0] != ij[1]);
  PetscCall(PetscMalloc1(L.n + 1, &save));
  PetscCall(TnNetGetParamArray(net, &p, NULL));
  PetscCall(PetscArraycpy(save, p, L.n));
  for (int kind = 0; kind < 2; kind++) {
    TnRule          rule;
    Vec             x;
    PetscScalar    *px;
    const PetscInt *natural;
    PetscErrorCode  e;
    PetscCall(CreateBatch(net, B, &x));
    PetscCall(FillBatch(net, x, B, 5));
    PetscCall(TnNetGetNatural(net, &natural));
    PetscCall(VecGetArray(x, &px));
    for (PetscInt i = 0; i < L.m; i++)
      if (natural[i] == ij[0] || natural[i] == ij[1])
        for (PetscInt b = 0; b < B; b++) px[i * B + b] = 1e200;
    PetscCall(VecRestoreArray(x, &px));
    PetscCall(TnRuleCreate(net, &rule));
    PetscCall(TnRuleSetType(rule, kind ? TNRULE_OJA : TNRULE_HEBB));
    PetscCall(TnRuleSetEta(rule, 0.1));
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    e = TnRuleApply(rule, x);
    PetscCall(PetscPopErrorHandler());
    CU_ASSERT(e != 0);
    if (e) {
      char *spec = NULL;
      PetscCall(PetscErrorMessage(e, NULL, &spec));
      CU_ASSERT(spec && strstr(spec, "NaN or Inf") != NULL);
    }
    PetscCall(TnNetGetParamArray(net, &p, NULL));
    for (PetscInt q = 0; q < L.n; q++) diff += p[q] != save[q];
    PetscCall(TnNetSetParams(net, save, 1.0, PETSC_FALSE));
    PetscCall(TnRuleDestroy(&rule));
    PetscCall(VecDestroy(&x));
  }
  PetscCall(MPIU_Allreduce(&diff, &gdiff, 1, MPIU_INT, MPI_SUM, PETSC_COMM_WORLD));
  CU_ASSERT(gdiff == 0);
  PetscCall(PetscFree(save));
  PetscCall(PetscFree2(row, col));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_non_finite_off_process(void)
{
  TN_ASSERT_OK(NonFiniteOffProcess());
}

/* max |W_ij| over all ranks, and whether the net's W_ii vector is W's
   diagonal. */
static PetscErrorCode WeightStats(TnNet net, PetscReal *wmax, PetscBool *diagok)
{
  TnParamLayout      L;
  PetscScalar       *p;
  const PetscInt    *dp;
  const PetscScalar *pw;
  Vec                wdiag;
  PetscReal          loc = 0;
  PetscBool          ok  = PETSC_TRUE;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetParamLayout(net, &L));
  PetscCall(TnNetGetParamArray(net, &p, NULL));
  PetscCall(TnNetGetDiagPositions(net, &dp));
  PetscCall(TnNetGetVecs(net, NULL, NULL, &wdiag));
  for (PetscInt q = 0; q < L.nd + L.no; q++) loc = PetscMax(loc, PetscAbsScalar(p[q]));
  PetscCall(VecGetArrayRead(wdiag, &pw));
  for (PetscInt i = 0; i < L.m; i++)
    if (dp[i] >= 0 && pw[i] != p[dp[i]]) ok = PETSC_FALSE;
  PetscCall(VecRestoreArrayRead(wdiag, &pw));
  PetscCall(MPIU_Allreduce(&loc, wmax, 1, MPIU_REAL, MPIU_MAX, PETSC_COMM_WORLD));
  PetscCall(MPIU_Allreduce(&ok, diagok, 1, MPIU_BOOL, MPI_LAND, PETSC_COMM_WORLD));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* TnRuleApply makes a step in place when its a-priori bound shows the
   weight limit cannot be reached, else through the checked work array:
   - with a generous limit (in place) and with a limit just above the
     weights the steps reach (the bound exceeds it: checked), three steps of
     hebb and of oja store the same W bit for bit, W_ii follows, and the
     reported max |W_ij| is the true one;
   - W rewritten by someone else (TnNetSetParams) near the limit: the bound
     is taken from the new W, so a step that would cross the limit is
     refused and W is left as it was (a bound from the rule's own last W
     would let it through in place). */
static PetscErrorCode InPlaceAndChecked(void)
{
  TnNet         net;
  Vec           x;
  TnParamLayout L;
  PetscScalar  *p, *save, *inpl;
  PetscFunctionBeginUser;
  PetscCall(MakeNet(30, 4, &net));
  PetscCall(CreateBatch(net, 4, &x));
  PetscCall(FillBatch(net, x, 4, 0));
  PetscCall(TnNetGetParamLayout(net, &L));
  PetscCall(PetscMalloc2(L.n + 1, &save, L.n + 1, &inpl));
  PetscCall(TnNetGetParamArray(net, &p, NULL));
  PetscCall(PetscArraycpy(save, p, L.n));
  for (int kind = 0; kind < 2; kind++) {
    PetscReal reach = 0, wm, last;
    PetscBool diagok;
    for (int pass = 0; pass < 2; pass++) {
      TnRule rule;
      PetscCall(TnNetSetParams(net, save, 1.0, PETSC_FALSE));
      PetscCall(TnRuleCreate(net, &rule));
      PetscCall(TnRuleSetType(rule, kind ? TNRULE_OJA : TNRULE_HEBB));
      PetscCall(TnRuleSetEta(rule, 0.2));
      PetscCall(TnRuleSetDecay(rule, 0.5));
      if (pass) PetscCall(TnRuleSetMaxWeight(rule, reach * (1 + 1e-12)));
      for (int t = 0; t < 3; t++) {
        PetscCall(TnRuleApply(rule, x));
        PetscCall(WeightStats(net, &wm, &diagok));
        PetscCall(TnRuleGetStats(rule, NULL, &last));
        CU_ASSERT(diagok);
        CU_ASSERT(last == wm);
        reach = PetscMax(reach, wm);
      }
      PetscCall(TnNetGetParamArray(net, &p, NULL));
      if (!pass)
        PetscCall(PetscArraycpy(inpl, p, L.n));
      else
        for (PetscInt q = 0; q < L.n; q++) CU_ASSERT(p[q] == inpl[q]);
      PetscCall(TnRuleDestroy(&rule));
    }
  }
  { /* hebb, alpha = 0, eta = 1: W_ii grows by <r_i^2> */
    TnRule    rule;
    PetscReal wm, wm2;
    PetscBool diagok;
    PetscCall(TnNetSetParams(net, save, 1.0, PETSC_FALSE));
    PetscCall(TnRuleCreate(net, &rule));
    PetscCall(TnRuleSetDecay(rule, 0));
    PetscCall(TnRuleSetEta(rule, 1));
    PetscCall(TnRuleSetMaxWeight(rule, 50));
    PetscCall(TnRuleApply(rule, x)); /* the rule knows this W */
    PetscCall(TnNetGetParamArray(net, &p, NULL));
    PetscCall(PetscArraycpy(inpl, p, L.n));
    for (PetscInt q = 0; q < L.nd + L.no; q++) inpl[q] = 49.99;
    PetscCall(TnNetSetParams(net, inpl, 1.0, PETSC_FALSE));
    TN_ASSERT_FAILS(TnRuleApply(rule, x));
    PetscCall(WeightStats(net, &wm, &diagok));
    CU_ASSERT(wm == 49.99 && diagok);
    PetscCall(TnNetGetParamArray(net, &p, NULL));
    for (PetscInt q = 0; q < L.n; q++) CU_ASSERT(p[q] == inpl[q]);
    PetscCall(TnRuleSetMaxWeight(rule, 1e6)); /* now it fits: made, and the weights grew */
    PetscCall(TnRuleApply(rule, x));
    PetscCall(WeightStats(net, &wm2, &diagok));
    CU_ASSERT(wm2 > 50 && diagok);
    PetscCall(TnRuleDestroy(&rule));
  }
  PetscCall(PetscFree2(save, inpl));
  PetscCall(VecDestroy(&x));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_in_place_and_checked(void)
{
  TN_ASSERT_OK(InPlaceAndChecked());
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("rule", NULL, NULL);
  CU_add_test(s, "hebb reaches C/alpha on P", test_hebb_fixed_point);
  CU_add_test(s, "oja rows reach the principal eigenvector of C on P_i", test_oja_principal);
  CU_add_test(s, "hebb without decay runs away and is stopped", test_hebb_runaway);
  CU_add_test(s, "bad input refused", test_bad_input);
  CU_add_test(s, "the update as a direction (partial batch, schedule)", test_update_as_direction);
  CU_add_test(s, "a step in place equals the checked one; W written by others", test_in_place_and_checked);
  CU_add_test(s, "one step of hebb and oja against the formulas", test_one_step);
  CU_add_test(s, "activities off the cache line: the same update", test_off_the_line);
  CU_add_test(s, "a step that overflows is named and refused", test_non_finite);
  CU_add_test(s, "an overflow in an off-process synapse alone is named too", test_non_finite_off_process);
}
