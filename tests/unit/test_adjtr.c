/* The sync scheme's backward step, rate form, applies W^T of the on-process
   block either as a gather over its columns (RateColumns, a transposed copy;
   the off-process block then by ghost slot too, OffColumns) or as a
   scatter-add by rows (Rows, OffProcess); -dyn_adjoint_transpose chooses, auto
   by B and lambda's size. Both must give the same gradient to round-off (a
   node's terms are summed in another order) and the same forward values bit
   for bit, on a lattice and a random network, tanh and linear, diag and
   trace, with clamped nodes, at B = 1, 3 and 16 and every rank count. auto
   takes the columns at B >= 4 and rows at B < 4 on a small net; the current
   form refuses columns with one message. */
#include "tn_test.h"
#include <tenor/dyn.h>
#include <tenor/grad.h>
#include "dyn/impls/sync/syncimpl.h"

typedef struct {
  TnAct        act;
  TnLogDetType ldt;
  PetscBool    clamp;
} Config;

static PetscErrorCode MakeDyn(TnNet net, const Config *c, PetscInt B, const char *tr, TnDyn *dyn)
{
  PetscFunctionBeginUser;
  PetscCall(TnTestDynWithOption(net, TN_SCHEME_SYNC, "-dyn_adjoint_transpose", tr, dyn));
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

static void SameGradient(const char *type, PetscInt n, PetscInt k)
{
  const Config cs[] = {
      {TN_ACT_TANH, TN_LOGDET_DIAG, PETSC_FALSE},
      {TN_ACT_TANH, TN_LOGDET_DIAG, PETSC_TRUE},
      {TN_ACT_LINEAR, TN_LOGDET_TRACE, PETSC_TRUE},
  };
  TnNet net;
  TN_ASSERT_OK(TnTestBuildNet(type, n, k, &net));
  for (size_t c = 0; c < sizeof(cs) / sizeof(cs[0]); c++)
    for (PetscInt B = 1; B > 0; B = B == 1 ? 3 : B == 3 ? 16
                                                        : 0) {
      TnDyn     dr, dc;
      TnTestOut orow, ocol;
      TN_ASSERT_OK(MakeDyn(net, &cs[c], B, "rows", &dr));
      TN_ASSERT_OK(MakeDyn(net, &cs[c], B, "columns", &dc));
      TN_ASSERT_OK(TnTestEvaluateAll(dr, B, &orow));
      TN_ASSERT_OK(TnTestEvaluateAll(dc, B, &ocol));
      /* the transpose is built by the gradient's set-up, as forced */
      CU_ASSERT(((const TnSync *)dr->data)->tia == NULL);
      CU_ASSERT(((const TnSync *)dc->data)->tia != NULL);
      for (PetscInt b = 0; b < B; b++) CU_ASSERT(orow.logphi[b] == ocol.logphi[b]);
      CU_ASSERT(TnTestMaxDiff(orow.aK, ocol.aK) == 0);
      CU_ASSERT(TnTestRelDiff(ocol.grad, orow.grad) <= 1e-12);
      TnTestOutDestroy(&orow);
      TnTestOutDestroy(&ocol);
      TnDynDestroy(&dc);
      TnDynDestroy(&dr);
    }
  TnNetDestroy(&net);
}

static void test_adjtr_lattice(void)
{
  SameGradient(TNNET_LATTICE2D, 20, 4);
}

static void test_adjtr_er(void)
{
  SameGradient(TNNET_ER, 203, 9);
}

/* auto: columns at B >= 4; at B < 4 only where lambda is large (not here). */
static void test_adjtr_auto(void)
{
  const Config c = {TN_ACT_TANH, TN_LOGDET_DIAG, PETSC_FALSE};
  TnNet        net;
  TN_ASSERT_OK(TnTestBuildNet(TNNET_ER, 203, 9, &net));
  for (PetscInt B = 1; B <= 16; B *= 4) {
    TnDyn     d;
    TnTestOut o;
    TN_ASSERT_OK(MakeDyn(net, &c, B, "auto", &d));
    TN_ASSERT_OK(TnTestEvaluateAll(d, B, &o));
    CU_ASSERT((((const TnSync *)d->data)->tia != NULL) == (B >= 4));
    TnTestOutDestroy(&o);
    TnDynDestroy(&d);
  }
  TnNetDestroy(&net);
}

/* The current form has no gather: columns is refused when the gradient is set up. */
static void test_adjtr_current_refused(void)
{
  const Config c = {TN_ACT_TANH, TN_LOGDET_DIAG, PETSC_FALSE};
  TnNet        net;
  TnDyn        d;
  TnGrad       g;
  TN_ASSERT_OK(TnTestBuildNet(TNNET_ER, 60, 5, &net));
  TN_ASSERT_OK(MakeDyn(net, &c, 1, "columns", &d));
  TN_ASSERT_OK(TnDynSetForm(d, TN_FORM_CURRENT));
  TN_ASSERT_OK(TnDynSetUp(d));
  TN_ASSERT_OK(TnGradCreate(d, &g));
  TN_ASSERT_FAILS(TnGradSetUp(g));
  TnGradDestroy(&g);
  TnDynDestroy(&d);
  TnNetDestroy(&net);
}

/* Hostile option values are refused once, with the choices. */
static void test_adjtr_bad_option(void)
{
  TnNet net;
  TnDyn d;
  TN_ASSERT_OK(TnTestBuildNet(TNNET_ER, 60, 5, &net));
  TN_ASSERT_OK(TnDynCreate(net, &d));
  TN_ASSERT_OK(PetscOptionsSetValue(NULL, "-dyn_adjoint_transpose", "column"));
  TN_ASSERT_FAILS(TnDynSetFromOptions(d));
  TN_ASSERT_OK(PetscOptionsClearValue(NULL, "-dyn_adjoint_transpose"));
  TnDynDestroy(&d);
  TnNetDestroy(&net);
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("adjoint transpose", NULL, NULL);
  CU_add_test(s, "columns and rows: the same gradient on a lattice", test_adjtr_lattice);
  CU_add_test(s, "columns and rows: the same gradient on a random network", test_adjtr_er);
  CU_add_test(s, "auto: columns from B = 4 on a small net", test_adjtr_auto);
  CU_add_test(s, "the current form refuses columns", test_adjtr_current_refused);
  CU_add_test(s, "a bad -dyn_adjoint_transpose is refused", test_adjtr_bad_option);
}
