/* Row slices (TnSlices, -dyn_slices): at B = 1 the rate form's row pass of
   the sync scheme reads Ad, and the colored scheme's its copy of Ad in the
   colour order, in slices of 8 rows, one row per vector lane, each row's
   terms in the block's order, so log Phi, the final state, the per-node
   totals and the gradient equal those of the row-by-row pass (-dyn_slices 0)
   bit for bit, in both schemes: on a lattice (regular slices: consecutive columns) and a
   random network (gathers; on more ranks than one, Ad's rows have unequal
   lengths), tanh and linear, diag
   and trace, with clamped nodes, at every rank count (a rank's rows past its
   last slice, and the colored scheme's rows of a colour outside whole
   slices, go row by row); at B = 3 and 16 (no slices) too. After W changes
   (TnGradAddToParams) the slices' copy of W's values follows. */
#include "tn_test.h"
#include <tenor/dyn.h>
#include <tenor/grad.h>
#include "dyn/impls/sync/syncimpl.h"
#include "dyn/impls/colored/coloredimpl.h"

typedef struct {
  const char  *scheme;
  TnAct        act;
  TnLogDetType ldt;
  PetscBool    clamp;
} Config;

/* A dyn of c's scheme on net with -dyn_slices on or off (on: also where
   the slices gather, slicesall). */
static PetscErrorCode MakeDyn(TnNet net, const Config *c, PetscInt B, const char *slices, TnDyn *dyn)
{
  PetscFunctionBeginUser;
  PetscCall(TnTestDynWithOption(net, c->scheme, "-dyn_slices", slices, dyn));
  (*dyn)->slicesall = PETSC_TRUE; /* er too: its slices gather, which the default leaves to the row loop */
  PetscCall(TnDynSetActivation(*dyn, c->act));
  PetscCall(TnDynSetLogDetType(*dyn, c->ldt));
  PetscCall(TnDynSetNodeLoss(*dyn, PETSC_TRUE));
  PetscCall(TnDynSetStepSize(*dyn, 0.05));
  PetscCall(TnDynSetSteps(*dyn, 5));
  PetscCall(TnDynSetBatchSize(*dyn, B));
  if (c->clamp) PetscCall(TnTestClampEvery(*dyn, net, 5));
  PetscCall(TnDynSetUp(*dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The slices were built where they apply: rate form, B = 1, 8 rows or more. */
static void CheckBuilt(TnDyn dyn, const Config *c, PetscInt B, PetscBool on)
{
  const TnSlices *S = strcmp(c->scheme, TN_SCHEME_SYNC) ? &((const TnColored *)dyn->data)->sd : &((const TnSync *)dyn->data)->sd;
  CU_ASSERT((S->ns > 0) == (on && B == 1 && dyn->m >= TN_SLICE));
}

static void SameSums(const char *type, PetscInt n, PetscInt k)
{
  const Config cs[] = {
      {TN_SCHEME_SYNC, TN_ACT_TANH, TN_LOGDET_DIAG, PETSC_FALSE},
      {TN_SCHEME_SYNC, TN_ACT_TANH, TN_LOGDET_DIAG, PETSC_TRUE},
      {TN_SCHEME_SYNC, TN_ACT_LINEAR, TN_LOGDET_TRACE, PETSC_TRUE},
      {TN_SCHEME_COLORED, TN_ACT_TANH, TN_LOGDET_DIAG, PETSC_FALSE},
      {TN_SCHEME_COLORED, TN_ACT_LINEAR, TN_LOGDET_DIAG, PETSC_TRUE},
  };
  TnNet net;
  TN_ASSERT_OK(TnTestBuildNet(type, n, k, &net));
  for (size_t c = 0; c < sizeof(cs) / sizeof(cs[0]); c++)
    for (PetscInt B = 1; B > 0; B = B == 1 ? 3 : B == 3 ? 16
                                                        : 0) {
      TnDyn     d0, d1;
      TnTestOut o0, o1;
      TN_ASSERT_OK(MakeDyn(net, &cs[c], B, "0", &d0));
      TN_ASSERT_OK(MakeDyn(net, &cs[c], B, "1", &d1));
      CheckBuilt(d0, &cs[c], B, PETSC_FALSE);
      CheckBuilt(d1, &cs[c], B, PETSC_TRUE);
      TN_ASSERT_OK(TnTestEvaluateAll(d0, B, &o0));
      TN_ASSERT_OK(TnTestEvaluateAll(d1, B, &o1));
      for (PetscInt b = 0; b < B; b++) CU_ASSERT(o0.logphi[b] == o1.logphi[b]);
      CU_ASSERT(TnTestMaxDiff(o0.aK, o1.aK) == 0);
      CU_ASSERT(TnTestMaxDiff(o0.node, o1.node) == 0);
      CU_ASSERT(TnTestMaxDiff(o0.grad, o1.grad) == 0);
      TnTestOutDestroy(&o0);
      TnTestOutDestroy(&o1);
      TnDynDestroy(&d1);
      TnDynDestroy(&d0);
    }
  TnNetDestroy(&net);
}

static void test_slices_lattice(void)
{
  SameSums(TNNET_LATTICE2D, 20, 4); /* N = 400: rows of 5, most slices regular */
}

static void test_slices_er(void)
{
  SameSums(TNNET_ER, 203, 9); /* gathers; on 2 ranks or more Ad's rows have unequal lengths (masked lanes) */
}

/* W changes after the slices copied its values: the sliced evaluation must
   see the new W (it differs from before, and equals the row-by-row one). */
static void test_slices_follow_W(void)
{
  const Config c = {TN_SCHEME_SYNC, TN_ACT_TANH, TN_LOGDET_DIAG, PETSC_FALSE};
  TnNet        net;
  TnDyn        d0, d1;
  PetscBool    moved, same;
  TN_ASSERT_OK(TnTestBuildNet(TNNET_LATTICE2D, 20, 4, &net));
  TN_ASSERT_OK(MakeDyn(net, &c, 1, "0", &d0));
  TN_ASSERT_OK(MakeDyn(net, &c, 1, "1", &d1));
  TN_ASSERT_OK(TnTestCopyFollowsW(d0, d1, 1, &moved, &same));
  CU_ASSERT(moved);
  CU_ASSERT(same);
  TnDynDestroy(&d1);
  TnDynDestroy(&d0);
  TnNetDestroy(&net);
}

/* The default keeps the slices only where at least half are regular: the
   lattice's (both schemes), not er's, whose slices all gather. */
static void test_slices_default_rule(void)
{
  const Config cs[] = {
      {TN_SCHEME_SYNC, TN_ACT_TANH, TN_LOGDET_DIAG, PETSC_FALSE},
      {TN_SCHEME_COLORED, TN_ACT_TANH, TN_LOGDET_DIAG, PETSC_FALSE}};
  PetscMPIInt size;
  TN_ASSERT_OK(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  for (int q = 0; q < 2; q++) {
    TnNet net;
    /* 64 a side, 16 per rank beyond 4 ranks, in strips (no partitioner: a
       part's rows are whole lattice rows, at least 16 of them), slices
       aligned with them: 3 in 4 regular on every rank; er, about 50 rows
       a rank (an er block of a few rows, nearly without entries, could
       have all its slices regular) */
    TN_ASSERT_OK(TnNetCreate(PETSC_COMM_WORLD, &net));
    TN_ASSERT_OK(TnNetSetType(net, q ? TNNET_ER : TNNET_LATTICE2D));
    TN_ASSERT_OK(TnNetSetSize(net, q ? 51 * PetscMax(size, 4) - 1 : 16 * PetscMax(size, 4)));
    TN_ASSERT_OK(TnNetSetDegree(net, q ? 9 : 4));
    TN_ASSERT_OK(TnNetSetPartitioner(net, "none"));
    TN_ASSERT_OK(TnNetSetUp(net));
    for (int c = 0; c < 2; c++) {
      TnDyn           d;
      const TnSlices *S;
      TN_ASSERT_OK(MakeDyn(net, &cs[c], 1, "1", &d));
      d->slicesall = PETSC_FALSE;
      TN_ASSERT_OK(TnDynSetSteps(d, 4)); /* set up again, under the default rule */
      TN_ASSERT_OK(TnDynSetUp(d));
      S = c ? &((const TnColored *)d->data)->sd : &((const TnSync *)d->data)->sd;
      CU_ASSERT((S->ns > 0) == (q == 0));
      TnDynDestroy(&d);
    }
    TnNetDestroy(&net);
  }
}

/* The diag product of a step's factors over the slices (TnAccSlice: the
   factors of a slice of 8 rows multiplied at once where no renormalisation
   falls inside it, row by row otherwise and with per-node totals): log Phi
   equals the row-by-row pass's bit for bit at the same number of rows
   between renormalisations -- 1 (every row), 3 and 13 (falling inside
   slices), 8 (at their ends) and the default -- in both schemes, on a
   lattice and on a random network. (Across different numbers the last bit
   may differ: log p + e log 2 rounds differently as frexp leaves the
   product split into another p and e.) */
static void test_slices_product(void)
{
  const char    *types[]  = {TNNET_LATTICE2D, TNNET_ER};
  const char    *scheme[] = {TN_SCHEME_SYNC, TN_SCHEME_COLORED};
  const PetscInt renorm[] = {0, 1, 3, 8, 13}; /* 0: the default */
  for (int q = 0; q < 2; q++) {
    TnNet net;
    TN_ASSERT_OK(TnTestBuildNet(types[q], q ? 203 : 20, q ? 9 : 4, &net));
    for (int c = 0; c < 2; c++) {
      const Config cf = {scheme[c], TN_ACT_TANH, TN_LOGDET_DIAG, PETSC_FALSE};
      for (size_t r = 0; r < sizeof(renorm) / sizeof(renorm[0]); r++) {
        PetscReal lp[2];
        for (int on = 0; on < 2; on++) {
          TnDyn       d;
          TnDynResult res;
          Vec         x;
          TN_ASSERT_OK(MakeDyn(net, &cf, 1, on ? "1" : "0", &d));
          TN_ASSERT_OK(TnDynSetNodeLoss(d, PETSC_FALSE)); /* TnAccSlice's case: no per-node totals */
          TN_ASSERT_OK(TnDynSetUp(d));
          if (renorm[r]) d->renorm = renorm[r];
          TN_ASSERT_OK(TnDynCreateState(d, &x));
          TN_ASSERT_OK(TnTestFillNormal(x, 5));
          TN_ASSERT_OK(TnDynResultCreate(d, &res));
          TN_ASSERT_OK(TnDynEvaluate(d, x, &res));
          lp[on] = res.logphi[0];
          CU_ASSERT(PetscIsNormalReal(lp[on]));
          TnDynResultDestroy(&res);
          VecDestroy(&x);
          TnDynDestroy(&d);
        }
        CU_ASSERT(lp[1] == lp[0]); /* slices (TnAccSlice) against the row loop (TnAccRow) */
      }
    }
    TnNetDestroy(&net);
  }
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("slices", NULL, NULL);
  CU_add_test(s, "slices: the same sums on a lattice, bit for bit", test_slices_lattice);
  CU_add_test(s, "slices: the same sums on a random network, bit for bit", test_slices_er);
  CU_add_test(s, "slices: the log-det product of a slice at once, bit for bit", test_slices_product);
  CU_add_test(s, "slices follow a change of W", test_slices_follow_W);
  CU_add_test(s, "slices: kept by default on a lattice, not on a random network", test_slices_default_rule);
}
