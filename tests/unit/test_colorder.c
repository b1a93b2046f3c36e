/* The colored scheme works in its own colour order (src/dyn/impls/colored/
   order.c): W, b, gamma and phi(a) by colour inside each rank, and the halo
   exchanged per colour. What users see must not depend on it: log Phi, the
   per-node losses mapped to the natural order, the gradient named by natural
   (row, column) and the inverse step are the same, to 1e-12 relative, on
   every rank count, with the partitioner, without it and with a partition
   file, as on one rank; and K inverse steps take a_K back to the input. */
#include "tn_test.h"
#include <tenor/net.h>
#include <tenor/dyn.h>
#include <tenor/grad.h>

#define NN 300
#define NB 3
#define NK 7
#define NPROJ 3

typedef struct {
  PetscReal logphi[NB], node[NN], inv[NN * NB], x[NN * NB], gnorm, gproj[NPROJ];
} Out;

/* a partition file of comm's size, parts scattered over the natural order */
static PetscErrorCode WritePartFile(MPI_Comm comm, char path[], size_t len)
{
  PetscMPIInt size, rank;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(PetscSNPrintf(path, len, "%s/colorder_P%d.txt", TnTestTmpDir(), (int)size));
  if (rank == 0) {
    FILE *f = fopen(path, "w");
    PetscCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", path);
    for (PetscInt i = 0; i < NN; i++) fprintf(f, "%d\n", (int)((i * 7 + i / 13) % size));
    fclose(f);
  }
  PetscCallMPI(MPI_Barrier(comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* v (natural layout, B per node) on every rank: out[b * NN + i] */
static PetscErrorCode ToAll(Vec v, PetscInt bs, PetscReal *out)
{
  Vec                all;
  VecScatter         sct;
  const PetscScalar *pa;
  PetscFunctionBeginUser;
  PetscCall(VecScatterCreateToAll(v, &sct, &all));
  PetscCall(VecScatterBegin(sct, v, all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(sct, v, all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGetArrayRead(all, &pa));
  for (PetscInt q = 0; q < NN * bs; q++) out[(q % bs) * NN + q / bs] = PetscRealPart(pa[q]);
  PetscCall(VecRestoreArrayRead(all, &pa));
  PetscCall(VecScatterDestroy(&sct));
  PetscCall(VecDestroy(&all));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* the input, natural order: a function of (node, sample) only */
static PetscErrorCode FillInput(Vec xnat)
{
  PetscScalar *px;
  PetscInt     rs, re;
  PetscFunctionBeginUser;
  PetscCall(VecGetOwnershipRange(xnat, &rs, &re));
  PetscCall(VecGetArrayWrite(xnat, &px));
  for (PetscInt q = rs; q < re; q++) px[q - rs] = TnRandNormal(11, 0, (uint64_t)q);
  PetscCall(VecRestoreArrayWrite(xnat, &px));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* the er net of both tests, not set up (reciprocity recip) */
static PetscErrorCode CreateNet(MPI_Comm comm, PetscReal recip, TnNet *net)
{
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(comm, net));
  PetscCall(TnNetSetType(*net, "er"));
  PetscCall(TnNetSetSize(*net, NN));
  PetscCall(TnNetSetDegree(*net, 6));
  PetscCall(TnNetSetReciprocity(*net, recip));
  PetscCall(TnNetSetSelfLoops(*net, PETSC_TRUE));
  PetscCall(TnNetSetWeightScale(*net, 0.7));
  PetscCall(TnNetSetBiasScale(*net, 0.2));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* the colored dynamics of net (NK steps, batch NB), set up, and its states:
   xnat in the natural order holding the input (FillInput), xs in the
   dynamics' own */
static PetscErrorCode CreateColored(TnNet net, TnForm form, PetscBool nodeloss, TnDyn *dyn, Vec *xnat, Vec *xs)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynCreate(net, dyn));
  PetscCall(TnDynSetScheme(*dyn, TN_SCHEME_COLORED));
  PetscCall(TnDynSetForm(*dyn, form));
  PetscCall(TnDynSetSteps(*dyn, NK));
  PetscCall(TnDynSetBatchSize(*dyn, NB));
  PetscCall(TnDynSetNodeLoss(*dyn, nodeloss));
  PetscCall(TnDynCreateNaturalState(*dyn, xnat));
  PetscCall(TnDynCreateState(*dyn, xs));
  PetscCall(FillInput(*xnat));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* part: 0 ptscotch, 1 none, 2 a partition file */
static PetscErrorCode Run(MPI_Comm comm, int part, TnForm form, Out *o)
{
  TnNet            net;
  TnDyn            dyn;
  TnGrad           g;
  Vec              xnat, xs, grad, nl, nlnat;
  TnDynResult      res;
  const PetscInt  *row, *col, *natural;
  PetscInt         n, m;
  const PetscReal *pg, *pl;
  PetscScalar     *px;
  PetscReal        loc[1 + NPROJ] = {0};
  char             path[PETSC_MAX_PATH_LEN];
  PetscFunctionBeginUser;
  PetscCall(CreateNet(comm, 0.3, &net));
  if (part == 1) PetscCall(TnNetSetPartitioner(net, "none"));
  if (part == 2) {
    PetscCall(WritePartFile(comm, path, sizeof(path)));
    PetscCall(TnNetSetPartitionFile(net, path));
  }
  PetscCall(CreateColored(net, form, PETSC_TRUE, &dyn, &xnat, &xs));
  PetscCall(ToAll(xnat, NB, o->x));
  PetscCall(TnDynNaturalToState(dyn, xnat, xs, SCATTER_FORWARD));
  /* log Phi and the per-node losses, mapped to the natural order */
  PetscCall(TnDynResultCreate(dyn, &res));
  PetscCall(TnDynEvaluate(dyn, xs, &res));
  for (PetscInt b = 0; b < NB; b++) o->logphi[b] = res.logphi[b];
  PetscCall(TnDynGetNodeLoss(dyn, &nl));
  PetscCall(TnNetGetNatural(net, &natural));
  PetscCall(VecGetLocalSize(nl, &m));
  PetscCall(VecCreateMPI(comm, PETSC_DECIDE, NN, &nlnat));
  PetscCall(VecGetArrayRead(nl, &pl));
  for (PetscInt i = 0; i < m; i++) PetscCall(VecSetValue(nlnat, natural[i], pl[i], INSERT_VALUES));
  PetscCall(VecRestoreArrayRead(nl, &pl));
  PetscCall(VecAssemblyBegin(nlnat));
  PetscCall(VecAssemblyEnd(nlnat));
  PetscCall(ToAll(nlnat, 1, o->node));
  PetscCall(VecDestroy(&nlnat));
  /* the inverse: K steps back from a_K (xs after the evaluation) */
  PetscCall(VecGetArray(xs, &px));
  for (PetscInt k = NK - 1; k >= 0; k--) {
    TnDynInverseStats st = {0};
    PetscCall(TnDynStepInverse(dyn, k, px, &st));
  }
  PetscCall(VecRestoreArray(xs, &px));
  PetscCall(TnDynNaturalToState(dyn, xnat, xs, SCATTER_REVERSE));
  PetscCall(ToAll(xnat, NB, o->inv));
  /* the gradient at the input, named by natural (row, col) */
  PetscCall(FillInput(xnat));
  PetscCall(TnDynNaturalToState(dyn, xnat, xs, SCATTER_FORWARD));
  PetscCall(TnGradCreate(dyn, &g));
  PetscCall(TnGradCreateParamVec(g, &grad));
  res.nvalid = NB;
  PetscCall(TnGradCompute(g, xs, &res, grad));
  PetscCall(TnGradGetParamMap(g, &row, &col));
  PetscCall(VecGetLocalSize(grad, &n));
  PetscCall(VecGetArrayRead(grad, &pg));
  for (PetscInt q = 0; q < n; q++) {
    loc[0] += pg[q] * pg[q];
    for (PetscInt r = 0; r < NPROJ; r++) loc[1 + r] += pg[q] * TnRandNormal(5, (uint64_t)r, (uint64_t)row[q] * 1000 + (uint64_t)(col[q] + 2));
  }
  PetscCall(VecRestoreArrayRead(grad, &pg));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, loc, 1 + NPROJ, MPIU_REAL, MPI_SUM, comm));
  o->gnorm = PetscSqrtReal(loc[0]);
  for (PetscInt r = 0; r < NPROJ; r++) o->gproj[r] = loc[1 + r];
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&grad));
  PetscCall(VecDestroy(&xs));
  PetscCall(VecDestroy(&xnat));
  PetscCall(TnGradDestroy(&g));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void Compare(const Out *a, const Out *r)
{
  for (PetscInt b = 0; b < NB; b++) TN_ASSERT_CLOSE(a->logphi[b], r->logphi[b], 1e-12);
  for (PetscInt i = 0; i < NN; i++) TN_ASSERT_CLOSE(a->node[i], r->node[i], 1e-12);
  for (PetscInt q = 0; q < NN * NB; q++) TN_ASSERT_CLOSE(a->inv[q], r->inv[q], 1e-12);
  TN_ASSERT_CLOSE(a->gnorm, r->gnorm, 1e-12);
  for (PetscInt p = 0; p < NPROJ; p++) TN_ASSERT_CLOSE(a->gproj[p], r->gproj[p], 1e-12 * PetscMax(1.0, r->gnorm));
}

static void test_colour_order_invariance(void)
{
  PetscMPIInt rank;
  MPI_Comm    sub;
  Out        *ref, *o;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  ref = (Out *)calloc(1, sizeof(Out));
  o   = (Out *)calloc(1, sizeof(Out));
  MPI_Comm_split(PETSC_COMM_WORLD, rank == 0 ? 0 : MPI_UNDEFINED, 0, &sub);
  for (int form = 0; form < 2; form++) {
    if (sub != MPI_COMM_NULL) TN_ASSERT_OK(Run(sub, 1, (TnForm)form, ref));
    MPI_Bcast(ref, (int)(sizeof(Out) / sizeof(PetscReal)), MPIU_REAL, 0, PETSC_COMM_WORLD);
    /* the round trip: K inverse steps give the input back */
    for (PetscInt q = 0; q < NN * NB; q++) TN_ASSERT_CLOSE(ref->inv[q], ref->x[q], 1e-9);
    CU_ASSERT(ref->gnorm > 0);
    for (int part = 0; part < 3; part++) {
      TN_ASSERT_OK(Run(PETSC_COMM_WORLD, part, (TnForm)form, o));
      Compare(o, ref);
    }
  }
  if (sub != MPI_COMM_NULL) MPI_Comm_free(&sub);
  free(ref);
  free(o);
}

/* W and b scaled by s, gamma unchanged: theta = (s W, s b, u) */
static PetscErrorCode Scale(TnNet net, PetscReal s)
{
  PetscScalar  *th;
  TnParamLayout L;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetParamArray(net, &th, NULL));
  PetscCall(TnNetGetParamLayout(net, &L));
  for (PetscInt q = 0; q < L.u; q++) th[q] *= s;
  PetscCall(TnNetSetParams(net, th, 0, PETSC_FALSE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* log Phi of one batch, the net's values scaled by s through TnNetSetParams
   after the dynamics' set-up and a first evaluation (fresh: before the
   dynamics exists). */
static PetscErrorCode ScaledLogPhi(PetscReal s, PetscBool fresh, PetscReal logphi[NB])
{
  TnNet       net;
  TnDyn       dyn;
  Vec         xnat, xs;
  TnDynResult res;
  PetscFunctionBeginUser;
  PetscCall(CreateNet(PETSC_COMM_WORLD, 0, &net));
  PetscCall(TnNetSetUp(net));
  if (fresh) PetscCall(Scale(net, s));
  PetscCall(CreateColored(net, TN_FORM_RATE, PETSC_FALSE, &dyn, &xnat, &xs));
  PetscCall(TnDynResultCreate(dyn, &res));
  if (!fresh) { /* one evaluation with the old values: the copies are taken */
    PetscCall(TnDynNaturalToState(dyn, xnat, xs, SCATTER_FORWARD));
    PetscCall(TnDynEvaluate(dyn, xs, &res));
  }
  if (!fresh) {
    PetscCall(Scale(net, s));
    PetscCall(TnDynCheckInvertible(dyn));
  }
  PetscCall(TnDynNaturalToState(dyn, xnat, xs, SCATTER_FORWARD));
  PetscCall(TnDynEvaluate(dyn, xs, &res));
  for (PetscInt b = 0; b < NB; b++) logphi[b] = res.logphi[b];
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&xs));
  PetscCall(VecDestroy(&xnat));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* the colour-order copies follow the network's values */
static void test_copies_follow_values(void)
{
  PetscReal a[NB], b[NB], c[NB];
  TN_ASSERT_OK(ScaledLogPhi(0.5, PETSC_FALSE, a));
  TN_ASSERT_OK(ScaledLogPhi(0.5, PETSC_TRUE, b));
  TN_ASSERT_OK(ScaledLogPhi(1.0, PETSC_TRUE, c));
  for (PetscInt q = 0; q < NB; q++) {
    TN_ASSERT_CLOSE(a[q], b[q], 1e-13);
    CU_ASSERT(fabs(a[q] - c[q]) > 1e-6 * fabs(c[q]));
  }
}

/* The halo of a chain of colored steps, in the bytes this rank receives
   (PETSc's count of the MPI receives it starts, petsc_irecv_len): a step
   k > 0 from the last step's out exchanges every ghost once -- colour c's
   after substep c, and at the start only colour C - 1's, the one the step
   before did not send -- while the first step exchanges them all at the
   start too. The states it reaches are the same (test_colour_order_invariance
   and test_dyn's chain test compare them). */
static void test_chain_halo_once(void)
{
  TnNet          net;
  TnDyn          dyn;
  Vec            xnat, xs;
  Mat            W, Ao;
  PetscInt       ng;
  PetscScalar   *px;
  PetscReal      ldet[NB] = {0};
  PetscLogDouble before, first, chain;
  TN_ASSERT_OK(CreateNet(PETSC_COMM_WORLD, 0.3, &net));
  TN_ASSERT_OK(CreateColored(net, TN_FORM_RATE, PETSC_FALSE, &dyn, &xnat, &xs));
  TN_ASSERT_OK(TnDynSetUp(dyn));
  TN_ASSERT_OK(TnNetGetMat(net, &W));
  TN_ASSERT_OK(MatMPIAIJGetSeqAIJ(W, NULL, &Ao, NULL));
  TN_ASSERT_OK(MatGetSize(Ao, NULL, &ng));
  TN_ASSERT_OK(TnDynNaturalToState(dyn, xnat, xs, SCATTER_FORWARD));
  TN_ASSERT_OK(VecGetArray(xs, &px));
  before = petsc_irecv_len;
  TN_ASSERT_OK(TnDynStepArrays(dyn, 0, px, px, NULL, ldet));
  first = petsc_irecv_len - before;
  TN_ASSERT_OK(TnDynStepArrays(dyn, 1, px, px, NULL, ldet)); /* a scatter's first use sets it up (messages of its own) */
  before = petsc_irecv_len;
  for (PetscInt k = 2; k < 5; k++) TN_ASSERT_OK(TnDynStepArrays(dyn, k, px, px, NULL, ldet));
  chain = petsc_irecv_len - before;
  TN_ASSERT_OK(VecRestoreArray(xs, &px));
  CU_ASSERT_EQUAL(chain, 3.0 * ng * NB * sizeof(PetscScalar));
  CU_ASSERT(first >= 1.0 * ng * NB * sizeof(PetscScalar)); /* all ghosts, then every colour's but C - 1's again */
  TN_ASSERT_OK(VecDestroy(&xs));
  TN_ASSERT_OK(VecDestroy(&xnat));
  TN_ASSERT_OK(TnDynDestroy(&dyn));
  TN_ASSERT_OK(TnNetDestroy(&net));
}

/* An evaluation in place (TnDynEvaluate) keeps the state in the colour
   order between its first and last steps where a row is shorter than a
   cache line (B = NB = 3 here; ops.order); the same K steps taken through
   TnDynStepArrays stay in the partitioned order. Both must reach the same
   a_K, bit for bit (every row's update reads the same values in the same
   order), and the same log-det sums. */
static void test_evaluate_colour_order(void)
{
  for (int f = 0; f < 2; f++) {
    const TnForm form = f ? TN_FORM_CURRENT : TN_FORM_RATE;
    TnNet        net;
    TnDyn        dyn;
    Vec          xnat, xs, x1;
    TnDynResult  res;
    PetscScalar *p1;
    PetscReal    ldet[NB] = {0}, diff, worst = 0;
    TN_ASSERT_OK(CreateNet(PETSC_COMM_WORLD, 0.3, &net));
    TN_ASSERT_OK(CreateColored(net, form, PETSC_FALSE, &dyn, &xnat, &xs));
    TN_ASSERT_OK(TnDynNaturalToState(dyn, xnat, xs, SCATTER_FORWARD));
    TN_ASSERT_OK(VecDuplicate(xs, &x1));
    TN_ASSERT_OK(VecCopy(xs, x1));
    TN_ASSERT_OK(TnDynResultCreate(dyn, &res));
    TN_ASSERT_OK(TnDynEvaluate(dyn, xs, &res));
    TN_ASSERT_OK(VecGetArray(x1, &p1));
    for (PetscInt k = 0; k < NK; k++) TN_ASSERT_OK(TnDynStepArrays(dyn, k, p1, p1, NULL, ldet));
    TN_ASSERT_OK(VecRestoreArray(x1, &p1));
    CU_ASSERT_EQUAL(MPI_Allreduce(MPI_IN_PLACE, ldet, NB, MPIU_REAL, MPI_SUM, PETSC_COMM_WORLD), MPI_SUCCESS);
    for (PetscInt b = 0; b < NB; b++) {
      PetscReal sum = 0;
      for (PetscInt k = 0; k < NK; k++) sum += res.steps[k * NB + b];
      worst = PetscMax(worst, PetscAbsReal(sum - ldet[b]) / (1 + PetscAbsReal(sum)));
    }
    CU_ASSERT(worst <= 1e-13);
    TN_ASSERT_OK(VecAXPY(x1, -1.0, xs));
    TN_ASSERT_OK(VecNorm(x1, NORM_INFINITY, &diff));
    CU_ASSERT_EQUAL(diff, 0.0);
    TN_ASSERT_OK(TnDynResultDestroy(&res));
    TN_ASSERT_OK(VecDestroy(&x1));
    TN_ASSERT_OK(VecDestroy(&xs));
    TN_ASSERT_OK(VecDestroy(&xnat));
    TN_ASSERT_OK(TnDynDestroy(&dyn));
    TN_ASSERT_OK(TnNetDestroy(&net));
  }
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("colorder", NULL, NULL);
  CU_add_test(s, "colored: log Phi, node losses, gradient, inverse invariant to ranks and partition", test_colour_order_invariance);
  CU_add_test(s, "colored: the colour-order copies follow the network's values", test_copies_follow_values);
  CU_add_test(s, "colored: a chain's steps exchange each ghost once", test_chain_halo_once);
  CU_add_test(s, "colored: an evaluation in the colour order reaches the partitioned order's a_K", test_evaluate_colour_order);
}
