/* The sync rate form's ring pass (-dyn_fuse_phi, impls/sync/sync.c): where
   W's on-process block is banded (a periodic lattice: every row but the
   grid's first and last rows reaches n rows at most) phi(a) is computed inside
   the row pass instead of by a separate pass, and every row adds the same
   terms in the same order. So log Phi, the per-node totals, the final state
   and the gradient equal those of the separate pass (-dyn_fuse_phi 0), bit
   for bit, at every rank count, with the partitioner (any local order) and
   without (contiguous rows: the ring is taken on every rank, and the rows
   the halo sends get phi before the pass), tanh and linear, batch sizes
   with their own kernels (1, 16) and one without (3); the current form has
   no phi pass and is unchanged. */
#include "tn_test.h"
#include <tenor/dyn.h>
#include <tenor/grad.h>
#include "dyn/impls/sync/syncimpl.h"

static PetscErrorCode BuildLattice(const char *part, TnNet *net)
{
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(PETSC_COMM_WORLD, net));
  PetscCall(TnNetSetType(*net, TNNET_LATTICE2D));
  PetscCall(TnNetSetSize(*net, 200));
  PetscCall(TnNetSetPartitioner(*net, part));
  PetscCall(TnNetSetUp(*net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode MakeDyn(TnNet net, TnForm form, TnAct act, PetscInt B, PetscBool fuse, TnDyn *dyn)
{
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsSetValue(NULL, "-dyn_fuse_phi", fuse ? "1" : "0"));
  PetscCall(TnDynCreate(net, dyn));
  PetscCall(TnDynSetFromOptions(*dyn));
  PetscCall(PetscOptionsClearValue(NULL, "-dyn_fuse_phi"));
  PetscCall(TnDynSetForm(*dyn, form));
  PetscCall(TnDynSetActivation(*dyn, act));
  PetscCall(TnDynSetStepSize(*dyn, 0.1));
  PetscCall(TnDynSetSteps(*dyn, 5));
  PetscCall(TnDynSetBatchSize(*dyn, B));
  PetscCall(TnDynSetNodeLoss(*dyn, PETSC_TRUE));
  PetscCall(TnDynSetUp(*dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Fill(Vec x, PetscInt seed)
{
  PetscScalar *a;
  PetscInt     n, lo;
  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(x, &n));
  PetscCall(VecGetOwnershipRange(x, &lo, NULL));
  PetscCall(VecGetArray(x, &a));
  for (PetscInt q = 0; q < n; q++) a[q] = 0.9 * TnRandNormal(seed, 0, lo + q);
  PetscCall(VecRestoreArray(x, &a));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* max |x - y| over the ranks */
static PetscReal MaxDiff(Vec x, Vec y)
{
  Vec       d;
  PetscReal n = -1;
  if (VecDuplicate(x, &d) || VecWAXPY(d, -1.0, x, y) || VecNorm(d, NORM_INFINITY, &n)) n = -1;
  VecDestroy(&d);
  return n;
}

typedef struct {
  PetscReal logphi[16];
  Vec       aK, node, grad;
} Out;

/* log Phi (in place, TnDynEvaluate), the per-node totals, a_K and the gradient. */
static PetscErrorCode Run(TnDyn dyn, PetscInt B, Out *o)
{
  TnGrad      g;
  TnDynResult res;
  Vec         x, nl;
  PetscFunctionBeginUser;
  PetscCall(TnDynCreateState(dyn, &x));
  PetscCall(Fill(x, 3));
  PetscCall(TnDynResultCreate(dyn, &res));
  PetscCall(VecDuplicate(x, &o->aK));
  PetscCall(VecCopy(x, o->aK));
  PetscCall(TnDynEvaluate(dyn, o->aK, &res));
  for (PetscInt b = 0; b < B; b++) o->logphi[b] = res.logphi[b];
  PetscCall(TnDynGetNodeLoss(dyn, &nl));
  PetscCall(VecDuplicate(nl, &o->node));
  PetscCall(VecCopy(nl, o->node));
  PetscCall(TnGradCreate(dyn, &g));
  PetscCall(TnGradCreateParamVec(g, &o->grad));
  PetscCall(TnGradCompute(g, x, &res, o->grad));
  PetscCall(TnGradDestroy(&g));
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&x));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void OutDestroy(Out *o)
{
  VecDestroy(&o->aK);
  VecDestroy(&o->node);
  VecDestroy(&o->grad);
}

/* whether every rank took the ring pass, with rows through pbuf (the far
   rows on one rank: the grid's first and last, whose neighbours wrap
   around; the rows the halo sends on more) */
static PetscBool RingEverywhere(TnDyn dyn)
{
  TnSync     *s    = (TnSync *)dyn->data;
  PetscMPIInt size = 1;
  PetscBool   mine = (PetscBool)(s->ring && s->npre > 0), all = PETSC_FALSE;
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  if (size == 1) mine = (PetscBool)(mine && s->nfar > 0);
  if (MPI_Allreduce(&mine, &all, 1, MPIU_BOOL, MPI_LAND, PETSC_COMM_WORLD)) return PETSC_FALSE;
  return all;
}

static void test_fusephi_same_results(void)
{
  const char *parts[2] = {"none", "ptscotch"};
  for (int pt = 0; pt < 2; pt++) {
    TnNet net;
    TN_ASSERT_OK(BuildLattice(parts[pt], &net));
    for (int f = 0; f < 2; f++)
      for (int ac = 0; ac < 2; ac++)
        for (PetscInt B = 1; B > 0; B = B == 1 ? 16 : B == 16 ? 3
                                                              : 0) {
          const TnForm form = f ? TN_FORM_CURRENT : TN_FORM_RATE;
          const TnAct  act  = ac ? TN_ACT_LINEAR : TN_ACT_TANH;
          TnDyn        d0, d1;
          Out          o0, o1;
          TN_ASSERT_OK(MakeDyn(net, form, act, B, PETSC_FALSE, &d0));
          TN_ASSERT_OK(MakeDyn(net, form, act, B, PETSC_TRUE, &d1));
          CU_ASSERT(((TnSync *)d0->data)->ring == NULL);
          /* contiguous rows: every rank's block is banded */
          if (form == TN_FORM_RATE && pt == 0) CU_ASSERT(RingEverywhere(d1));
          if (form == TN_FORM_CURRENT) CU_ASSERT(((TnSync *)d1->data)->ring == NULL);
          TN_ASSERT_OK(Run(d0, B, &o0));
          TN_ASSERT_OK(Run(d1, B, &o1));
          for (PetscInt b = 0; b < B; b++) CU_ASSERT(o0.logphi[b] == o1.logphi[b]);
          CU_ASSERT(MaxDiff(o0.aK, o1.aK) == 0);
          CU_ASSERT(MaxDiff(o0.node, o1.node) == 0);
          CU_ASSERT(MaxDiff(o0.grad, o1.grad) == 0);
          OutDestroy(&o0);
          OutDestroy(&o1);
          TnDynDestroy(&d1);
          TnDynDestroy(&d0);
        }
    TnNetDestroy(&net);
  }
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("fusephi", NULL, NULL);
  CU_add_test(s, "fuse_phi: the same results, bit for bit", test_fusephi_same_results);
}
