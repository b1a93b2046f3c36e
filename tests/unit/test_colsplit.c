/* The colored scheme's rows split by colour (TnColoredSplitSetUp): where
   the gathered state exceeds a cache slice, a row's sum over the later
   colours (their values at the start of the step) is formed for every row
   at the start of the step in column panels, and only the earlier
   colours' part in the substep. The same sums in another order, so log
   Phi, the final state, the per-node totals and the gradient agree with the
   unsplit sweep (-dyn_panel_kb 0) to round-off: on a random network and a
   lattice, rate form (tanh, linear with clamped nodes) and current form,
   B = 1, 3 and 16, at every rank count (on 2 ranks or more the ghosts'
   part split too). -dyn_panel_kb 1 (1 kB slices) forces the split on these
   small nets; the default leaves them unsplit.
   After W changes the split's copies follow. */
#include "tn_test.h"
#include <tenor/dyn.h>
#include <tenor/grad.h>
#include "dyn/impls/colored/coloredimpl.h"

typedef struct {
  TnAct     act;
  TnForm    form;
  PetscBool clamp;
} Config;

/* A colored dyn on net with -dyn_panel_kb kb ("0": no split, NULL: the default). */
static PetscErrorCode MakeDyn(TnNet net, const Config *c, PetscInt B, const char *kb, TnDyn *dyn)
{
  PetscFunctionBeginUser;
  PetscCall(TnTestDynWithOption(net, TN_SCHEME_COLORED, kb ? "-dyn_panel_kb" : NULL, kb, dyn));
  PetscCall(TnDynSetActivation(*dyn, c->act));
  PetscCall(TnDynSetForm(*dyn, c->form));
  PetscCall(TnDynSetNodeLoss(*dyn, PETSC_TRUE));
  PetscCall(TnDynSetStepSize(*dyn, 0.05));
  PetscCall(TnDynSetSteps(*dyn, 5));
  PetscCall(TnDynSetBatchSize(*dyn, B));
  if (c->clamp) PetscCall(TnTestClampEvery(*dyn, net, 7));
  PetscCall(TnDynSetUp(*dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscInt Panels(TnDyn dyn)
{
  return ((const TnColored *)dyn->data)->spd.up.np;
}

/* panels of the ghosts' later colours (1: none) */
static PetscInt PanelsOff(TnDyn dyn)
{
  return PetscMax(((const TnColored *)dyn->data)->spo.up.np, 1);
}

/* The earlier colours' groups (ColourGroups in order.c) as they must be:
   colours 0 .. ncolors in increasing bounds; each group one colour or at
   most kb kB of state, any two consecutive ones more; the groups' CSRs
   hold every earlier entry once. Returns the most colours in a group (0:
   not split). */
static PetscInt GroupsCheck(TnDyn dyn, PetscInt kb)
{
  const TnColored      *cd  = (const TnColored *)dyn->data;
  const TnColoredSplit *S   = &cd->spd;
  const size_t          row = sizeof(PetscScalar) * (size_t)dyn->B, bytes = 1024 * (size_t)kb;
  PetscInt              most = 0, nl = 0, outside = 0;
  if (S->up.np <= 1) return 0;
  CU_ASSERT(S->ng >= 1 && S->gc[0] == 0 && S->gc[S->ng] == cd->ncolors);
  for (PetscInt g = 0; g < S->ng; g++) {
    const PetscInt c0 = S->gc[g], c1 = S->gc[g + 1];
    const size_t   st = (size_t)(cd->cptr[c1] - cd->cptr[c0]) * row;
    CU_ASSERT(c1 > c0);
    CU_ASSERT(c1 - c0 == 1 || st <= bytes);
    if (g + 1 < S->ng) CU_ASSERT((size_t)(cd->cptr[S->gc[g + 2]] - cd->cptr[c0]) * row > bytes);
    most = PetscMax(most, c1 - c0);
    for (PetscInt p = 0; p < dyn->m; p++)
      for (PetscInt t = S->lg[g].ia[p]; t < S->lg[g].ia[p + 1]; t++) {
        outside += S->lg[g].ja[t] < cd->cptr[c0] || S->lg[g].ja[t] >= cd->cptr[c1];
        nl++;
      }
  }
  CU_ASSERT(outside == 0);
  CU_ASSERT(nl == S->lg[S->ng - 1].ia[dyn->m]);
  return most;
}

static void SameSums(const char *type, PetscInt n, PetscInt k)
{
  PetscInt     most = 0;
  const Config cs[] = {
      {TN_ACT_TANH, TN_FORM_RATE, PETSC_FALSE},
      {TN_ACT_LINEAR, TN_FORM_RATE, PETSC_TRUE},
      {TN_ACT_TANH, TN_FORM_CURRENT, PETSC_FALSE},
  };
  TnNet net;
  TN_ASSERT_OK(TnTestBuildNet(type, n, k, &net));
  for (size_t c = 0; c < sizeof(cs) / sizeof(cs[0]); c++)
    for (PetscInt B = 1; B > 0; B = B == 1 ? 3 : B == 3 ? 16
                                                        : 0) {
      TnDyn     d0, d1, dd;
      TnTestOut o0, o1;
      PetscReal worst = 0;
      TN_ASSERT_OK(MakeDyn(net, &cs[c], B, "0", &d0));
      TN_ASSERT_OK(MakeDyn(net, &cs[c], B, "1", &d1));
      TN_ASSERT_OK(MakeDyn(net, &cs[c], B, NULL, &dd));
      CU_ASSERT(Panels(d0) <= 1);
      CU_ASSERT((Panels(d1) > 1) == ((const TnColored *)d1->data)->d.prefetch); /* split where this rank's columns are scattered */
      CU_ASSERT(Panels(d1) > 1 || !strcmp(type, TNNET_LATTICE2D));              /* on er they are at every rank count here */
      CU_ASSERT((PanelsOff(d1) > 1) == (Panels(d1) > 1 && d1->nghost > 0));     /* -dyn_panel_kb 1: the ghosts too, on 2 ranks or more */
      CU_ASSERT(Panels(dd) <= 1);                                               /* these nets' states fit a slice */
      TN_ASSERT_OK(TnTestEvaluateAll(d0, B, &o0));
      for (const char *kb = "1"; kb; kb = strcmp(kb, "1") ? NULL : "6") { /* 1 kB: mostly one colour a group; 6 kB: several */
        if (strcmp(kb, "1")) TN_ASSERT_OK(MakeDyn(net, &cs[c], B, kb, &d1));
        most = PetscMax(most, GroupsCheck(d1, atoi(kb)));
        TN_ASSERT_OK(TnTestEvaluateAll(d1, B, &o1));
        worst = 0;
        for (PetscInt b = 0; b < B; b++) worst = PetscMax(worst, PetscAbsReal(o0.logphi[b] - o1.logphi[b]) / PetscMax(PetscAbsReal(o0.logphi[b]), 1.0));
        CU_ASSERT(worst <= 1e-12);
        CU_ASSERT(TnTestRelDiff(o1.aK, o0.aK) <= 1e-12);
        CU_ASSERT(TnTestRelDiff(o1.node, o0.node) <= 1e-12);
        CU_ASSERT(TnTestRelDiff(o1.grad, o0.grad) <= 1e-10);
        TnTestOutDestroy(&o1);
        TnDynDestroy(&d1);
      }
      TnTestOutDestroy(&o0);
      TnDynDestroy(&dd);
      TnDynDestroy(&d0);
    }
  /* on er, some group of several colours and some of one (the sweep's
     pushes and its own-group sums both exercised) */
  if (!strcmp(type, TNNET_ER)) CU_ASSERT(most >= 2);
  TnNetDestroy(&net);
}

/* er's size: 500 rows a rank, at least 2000 nodes, so that every rank's
   columns are scattered and split at any rank count */
static PetscInt ErSize(PetscInt ranks)
{
  PetscMPIInt size;
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  return 500 * PetscMax(ranks < 0 ? size : ranks, 4);
}

static void test_colsplit_er(void)
{
  SameSums(TNNET_ER, ErSize(-1), 9);
}

static void test_colsplit_lattice(void)
{
  SameSums(TNNET_LATTICE2D, 12, 4); /* not split: the rule leaves a lattice's rows to the row loop */
}

/* W changes after the split copied its values: the split evaluation must
   see the new W (it moves, and agrees with the unsplit one). Then the
   split's own copy is checked to be the one evaluated: its later colours'
   values zeroed, the result departs from the unsplit one. */
static void test_colsplit_follow_W(void)
{
  const Config c = {TN_ACT_TANH, TN_FORM_RATE, PETSC_FALSE};
  TnNet        net;
  TnDyn        d0, d1;
  PetscBool    moved, same;
  TnTestOut    o0, o1;
  TnColored   *cd;
  TN_ASSERT_OK(TnTestBuildNet(TNNET_ER, ErSize(-1), 9, &net));
  TN_ASSERT_OK(MakeDyn(net, &c, 16, "0", &d0));
  TN_ASSERT_OK(MakeDyn(net, &c, 16, "1", &d1));
  CU_ASSERT(Panels(d1) > 1);
  TN_ASSERT_OK(TnTestCopyFollowsWTol(d0, d1, 16, 1e-12, &moved, &same));
  CU_ASSERT(moved);
  CU_ASSERT(same);
  cd = (TnColored *)d1->data;
  for (PetscInt q = 0; q < cd->spd.up.np; q++)
    for (PetscInt t = cd->spd.up.view[q].ia[0]; t < cd->spd.up.view[q].ia[d1->m]; t++) cd->spd.up.va[t] = 0;
  TN_ASSERT_OK(TnTestEvaluateAll(d0, 16, &o0));
  TN_ASSERT_OK(TnTestEvaluateAll(d1, 16, &o1));
  CU_ASSERT(PetscAbsReal(o0.logphi[0] - o1.logphi[0]) > 1e-6 * PetscAbsReal(o0.logphi[0]));
  TnTestOutDestroy(&o0);
  TnTestOutDestroy(&o1);
  TnDynDestroy(&d1);
  TnDynDestroy(&d0);
  TnNetDestroy(&net);
}

/* Ranks that split and ranks that do not, in one run: a partition file
   gives up to 3 ranks 700 nodes each (split) and the others, the last
   among them, 40 nodes each (their blocks' columns lie within 64 rows:
   not scattered, not split). The set-up's collective
   calls must match across them (no hang), and the values agree with the
   unsplit sweep. */
static void test_colsplit_mixed_ranks(void)
{
  const Config c = {TN_ACT_TANH, TN_FORM_RATE, PETSC_FALSE};
  PetscInt     N, nbig;
  PetscMPIInt  size, rank;
  char         path[PETSC_MAX_PATH_LEN];
  TnNet        net;
  TnDyn        d0, d1;
  TnTestOut    o0, o1;
  TN_ASSERT_OK(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  TN_ASSERT_OK(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  if (size < 2) return;
  nbig = PetscMin(size - 1, 3);
  N    = 700 * nbig + 40 * (size - nbig);
  TN_ASSERT_OK(PetscSNPrintf(path, sizeof(path), "%s/colsplit_P%d.txt", TnTestTmpDir(), (int)size));
  if (rank == 0) {
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    for (PetscInt i = 0; i < N; i++) fprintf(f, "%d\n", (int)(i < 700 * nbig ? i % nbig : nbig + (i - 700 * nbig) / 40));
    fclose(f);
  }
  TN_ASSERT_OK(MPI_Barrier(PETSC_COMM_WORLD));
  TN_ASSERT_OK(TnNetCreate(PETSC_COMM_WORLD, &net));
  TN_ASSERT_OK(TnNetSetType(net, TNNET_ER));
  TN_ASSERT_OK(TnNetSetSize(net, N));
  TN_ASSERT_OK(TnNetSetDegree(net, 9));
  TN_ASSERT_OK(TnNetSetPartitionFile(net, path));
  TN_ASSERT_OK(TnNetSetUp(net));
  TN_ASSERT_OK(MakeDyn(net, &c, 16, "0", &d0));
  TN_ASSERT_OK(MakeDyn(net, &c, 16, "1", &d1));
  CU_ASSERT((Panels(d1) > 1) == (rank < nbig));
  TN_ASSERT_OK(TnTestEvaluateAll(d0, 16, &o0));
  TN_ASSERT_OK(TnTestEvaluateAll(d1, 16, &o1));
  for (PetscInt b = 0; b < 16; b++) CU_ASSERT(PetscAbsReal(o0.logphi[b] - o1.logphi[b]) <= 1e-12 * PetscMax(PetscAbsReal(o0.logphi[b]), 1.0));
  CU_ASSERT(TnTestRelDiff(o1.aK, o0.aK) <= 1e-12);
  CU_ASSERT(TnTestRelDiff(o1.grad, o0.grad) <= 1e-10);
  TnTestOutDestroy(&o0);
  TnTestOutDestroy(&o1);
  TnDynDestroy(&d1);
  TnDynDestroy(&d0);
  TnNetDestroy(&net);
}

/* The rule for how many panels (TnColoredSplitPanels), against the counts
   it states: with -dyn_panel_kb set, one per slice (1: none); by default
   the same from 4 slices, 2 above a quarter of a slice, none at or below
   it or with no slice; never more than TN_PANELS_MAX. */
static void test_colsplit_rule(void)
{
  const size_t kb = 1024, sl = 8192 * kb;
  CU_ASSERT(TnColoredSplitPanels(4 * sl, sl, PETSC_FALSE) == 4);
  CU_ASSERT(TnColoredSplitPanels(4 * sl + 1, sl, PETSC_FALSE) == 5);
  CU_ASSERT(TnColoredSplitPanels(3 * sl, sl, PETSC_FALSE) == 2);
  CU_ASSERT(TnColoredSplitPanels(sl / 2, sl, PETSC_FALSE) == 2);
  CU_ASSERT(TnColoredSplitPanels(sl / 4 + 1, sl, PETSC_FALSE) == 2);
  CU_ASSERT(TnColoredSplitPanels(sl / 4, sl, PETSC_FALSE) == 1);
  CU_ASSERT(TnColoredSplitPanels(0, sl, PETSC_FALSE) == 1);
  CU_ASSERT(TnColoredSplitPanels(sl, 0, PETSC_FALSE) == 1);
  CU_ASSERT(TnColoredSplitPanels(sl, 0, PETSC_TRUE) == 1);
  CU_ASSERT(TnColoredSplitPanels(sl / 2, sl, PETSC_TRUE) == 1);
  CU_ASSERT(TnColoredSplitPanels(3 * sl, sl, PETSC_TRUE) == 3);
  CU_ASSERT(TnColoredSplitPanels((size_t)TN_PANELS_MAX * 2 * kb, kb, PETSC_FALSE) == TN_PANELS_MAX);
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("colsplit", NULL, NULL);
  CU_add_test(s, "colored rows split by colour: the same values on a random network", test_colsplit_er);
  CU_add_test(s, "colored rows split by colour: a lattice stays unsplit and the same", test_colsplit_lattice);
  CU_add_test(s, "colored rows split by colour follow a change of W", test_colsplit_follow_W);
  CU_add_test(s, "colored rows split on some ranks and not on others", test_colsplit_mixed_ranks);
  CU_add_test(s, "colored rows split: how many panels", test_colsplit_rule);
}
