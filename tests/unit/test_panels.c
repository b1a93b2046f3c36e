/* The sync scheme's column panels (TnPanels, -dyn_panel_kb): a random
   network's rows summed panel by panel add the same terms in the same order
   as row by row, so with panels of a few nodes (-dyn_panel_kb 1) log Phi,
   the final state, the per-node totals, the gradient and the inverse step equal those without
   panels (-dyn_panel_kb 0) on the same network, bit for bit, rate and
   current forms, a batch size with its own kernel (16) and one without (3),
   at every rank count (on- and off-process panels); and after W changes
   (TnGradAddToParams), the panels' copy of W's values follows. */
#include "tn_test.h"
#include <tenor/dyn.h>
#include <tenor/grad.h>

static PetscErrorCode BuildER(TnNet *net)
{
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(PETSC_COMM_WORLD, net));
  PetscCall(TnNetSetType(*net, TNNET_ER));
  PetscCall(TnNetSetSize(*net, 400));
  PetscCall(TnNetSetDegree(*net, 12));
  PetscCall(TnNetSetUp(*net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A sync dyn on net with -dyn_panel_kb kb. */
static PetscErrorCode MakeDyn(TnNet net, TnForm form, PetscInt B, const char *kb, TnDyn *dyn)
{
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsSetValue(NULL, "-dyn_panel_kb", kb));
  PetscCall(TnDynCreate(net, dyn));
  PetscCall(TnDynSetFromOptions(*dyn));
  PetscCall(PetscOptionsClearValue(NULL, "-dyn_panel_kb"));
  PetscCall(TnDynSetForm(*dyn, form));
  PetscCall(TnDynSetNodeLoss(*dyn, PETSC_TRUE));
  PetscCall(TnDynSetStepSize(*dyn, 0.05));
  PetscCall(TnDynSetSteps(*dyn, 6));
  PetscCall(TnDynSetBatchSize(*dyn, B));
  PetscCall(TnDynSetUp(*dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* log Phi, a_K, the per-node totals, the gradient (TnTestEvaluateAll) and
   one inverse step of each dyn. */
typedef struct {
  TnTestOut e;
  Vec       inv;
} Out;

static PetscErrorCode Run(TnDyn dyn, PetscInt B, Out *o)
{
  TnDynInverseStats st = {0};
  PetscScalar      *a;
  PetscFunctionBeginUser;
  PetscCall(TnTestEvaluateAll(dyn, B, &o->e));
  st.tol   = 1e-14;
  st.maxit = 200;
  PetscCall(TnDynCreateState(dyn, &o->inv));
  PetscCall(TnTestFillNormal(o->inv, 5));
  PetscCall(VecGetArray(o->inv, &a));
  PetscCall(TnDynStepInverse(dyn, 0, a, &st));
  PetscCall(VecRestoreArray(o->inv, &a));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void OutDestroy(Out *o)
{
  TnTestOutDestroy(&o->e);
  VecDestroy(&o->inv);
}

static void Compare(const Out *o0, const Out *o1, PetscInt B)
{
  for (PetscInt b = 0; b < B; b++) CU_ASSERT(o0->e.logphi[b] == o1->e.logphi[b]);
  CU_ASSERT(TnTestMaxDiff(o0->e.aK, o1->e.aK) == 0);
  CU_ASSERT(TnTestMaxDiff(o0->e.node, o1->e.node) == 0);
  CU_ASSERT(TnTestMaxDiff(o0->e.grad, o1->e.grad) == 0);
  CU_ASSERT(TnTestMaxDiff(o0->inv, o1->inv) == 0);
}

static void test_panels_same_sums(void)
{
  TnNet net;
  TN_ASSERT_OK(BuildER(&net));
  for (int f = 0; f < 2; f++)
    for (PetscInt B = 16; B > 0; B = B == 16 ? 3 : 0) {
      const TnForm form = f ? TN_FORM_CURRENT : TN_FORM_RATE;
      TnDyn        d0, d1;
      Out          o0, o1;
      TN_ASSERT_OK(MakeDyn(net, form, B, "0", &d0));
      TN_ASSERT_OK(MakeDyn(net, form, B, "1", &d1));
      TN_ASSERT_OK(Run(d0, B, &o0));
      TN_ASSERT_OK(Run(d1, B, &o1));
      Compare(&o0, &o1, B);
      OutDestroy(&o0);
      OutDestroy(&o1);
      TnDynDestroy(&d1);
      TnDynDestroy(&d0);
    }
  TnNetDestroy(&net);
}

/* W changes after the panels copied its values: the panelled evaluation
   must see the new W (it differs from before, and equals the plain one). */
static void test_panels_follow_W(void)
{
  TnNet     net;
  TnDyn     d0, d1;
  PetscBool moved, same;
  TN_ASSERT_OK(BuildER(&net));
  TN_ASSERT_OK(MakeDyn(net, TN_FORM_RATE, 16, "0", &d0));
  TN_ASSERT_OK(MakeDyn(net, TN_FORM_RATE, 16, "1", &d1));
  TN_ASSERT_OK(TnTestCopyFollowsW(d0, d1, 16, &moved, &same));
  CU_ASSERT(moved);
  CU_ASSERT(same);
  TnDynDestroy(&d1);
  TnDynDestroy(&d0);
  TnNetDestroy(&net);
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("panels", NULL, NULL);
  CU_add_test(s, "panels: the same sums, bit for bit", test_panels_same_sums);
  CU_add_test(s, "panels follow a change of W", test_panels_follow_W);
}
