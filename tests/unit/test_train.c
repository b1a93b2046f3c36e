/* Training (tenor/train.h): Adam lowers the loss; a linear colored network
   on GMRF data approaches the exact entropy from above; checkpoint/restart
   reproduces an uninterrupted run bit for bit (by TnTrainStep and through
   TnTrainRun's signal path); a checkpoint written on every rank loads on one
   rank (and back) with the same parameters keyed by (row, col); an
   incompatible checkpoint is refused; a step that would break invertibility
   is shrunk and counted; a model records and restores the dynamics'
   settings; setters called after SetUp set up again, or are refused once
   steps were taken. */
#include "tn_test.h"
#include <tenor/train.h>
#include <petscviewerhdf5.h>
#include <hdf5.h>
#include <signal.h>
#include <string.h>

/* One training set-up: a lattice of side n learning gmrf2d of the same size.
   Bitwise comparisons within one process use no partitioner: PT-Scotch's
   random state advances between calls, so a second partition of the same
   graph may differ (and with it the order of floating-point sums). */
typedef struct {
  TnNet   net;
  TnDyn   dyn;
  TnData  data;
  TnTrain tr;
} Setup;

typedef struct {
  PetscInt    n, K, S, steps;
  TnScheme    scheme;
  TnAct       act;
  PetscReal   h, lr, vfrac;
  const char *part;
  PetscBool   single; /* moments in single precision */
  TnOptimizer opt;
  PetscInt    colseed;   /* seed of the colouring (0: the default) */
  PetscBool   colrandom; /* colour in the random order (default: natural) */
  TnTrainRule rule;      /* gradient (0) or a local rule with eta reta, decay rdecay, weight limit rmax (0: default) */
  PetscReal   reta, rdecay, rmax;
} Config;

static const Config base_cfg = {.n = 4, .K = 4, .S = 200, .steps = 20, .scheme = TN_SCHEME_COLORED, .act = TN_ACT_LINEAR, .h = 0.5, .lr = 0.02, .vfrac = 0.25, .part = "none"};

static PetscErrorCode Build(MPI_Comm comm, const Config *c, Setup *s)
{
  PetscInt N;
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(comm, &s->net));
  PetscCall(TnNetSetType(s->net, TNNET_LATTICE2D));
  PetscCall(TnNetSetSize(s->net, c->n));
  PetscCall(TnNetSetWeightScale(s->net, 0.5));
  PetscCall(TnNetSetBiasScale(s->net, 0.0));
  PetscCall(TnNetSetPartitioner(s->net, c->part ? c->part : "ptscotch"));
  PetscCall(TnNetSetUp(s->net));
  PetscCall(TnNetGetSizes(s->net, &N, NULL));
  PetscCall(TnDynCreate(s->net, &s->dyn));
  PetscCall(TnDynSetScheme(s->dyn, c->scheme));
  PetscCall(TnDynSetActivation(s->dyn, c->act));
  PetscCall(TnDynSetStepSize(s->dyn, c->h));
  PetscCall(TnDynSetSteps(s->dyn, c->K));
  PetscCall(TnDynSetBatchSize(s->dyn, 16));
  if (c->colseed) PetscCall(TnDynSetColoringSeed(s->dyn, c->colseed));
  if (c->colrandom) PetscCall(TnDynSetColoringOrder(s->dyn, TN_COLORING_RANDOM));
  PetscCall(TnDynSetUp(s->dyn));
  PetscCall(TnDataCreate(comm, &s->data));
  PetscCall(TnDataSetType(s->data, TNDATA_GMRF2D));
  PetscCall(TnDataSetSamples(s->data, c->S, 7));
  PetscCall(TnDataSetValidationFraction(s->data, c->vfrac, 11));
  PetscCall(TnDataLoad(s->data, N));
  PetscCall(TnTrainCreate(s->net, s->dyn, s->data, &s->tr));
  PetscCall(TnTrainSetLearningRate(s->tr, c->lr));
  PetscCall(TnTrainSetBudget(s->tr, 0, c->steps));
  PetscCall(TnTrainSetSchedule(s->tr, TN_SCHED_COSINE, 0.1, 1, 0.1));
  PetscCall(TnTrainSetOptimizer(s->tr, c->opt));
  PetscCall(TnTrainSetSingleMoments(s->tr, c->single));
  PetscCall(TnTrainSetRule(s->tr, c->rule));
  if (TnTrainRuleUsesTnRule(c->rule)) {
    TnRule rule;
    PetscCall(TnTrainGetRule(s->tr, NULL, &rule));
    PetscCall(TnRuleSetEta(rule, c->reta));
    PetscCall(TnRuleSetDecay(rule, c->rdecay));
    if (c->rmax > 0) PetscCall(TnRuleSetMaxWeight(rule, c->rmax));
  }
  PetscCall(TnTrainSetUp(s->tr));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Destroy(Setup *s)
{
  PetscFunctionBeginUser;
  PetscCall(TnTrainDestroy(&s->tr));
  PetscCall(TnDataDestroy(&s->data));
  PetscCall(TnDynDestroy(&s->dyn));
  PetscCall(TnNetDestroy(&s->net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Steps(Setup *s, PetscInt n)
{
  PetscFunctionBeginUser;
  for (PetscInt q = 0; q < n; q++) PetscCall(TnTrainStep(s->tr));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void Path(char buf[], const char name[])
{
  snprintf(buf, PETSC_MAX_PATH_LEN, "%s/%s", TnTestTmpDir(), name);
}

/* The parameters in the file's canonical (row, col) order, all on every
   rank of comm (small problems only). */
static PetscErrorCode ReadTheta(MPI_Comm comm, const char path[], PetscInt *n, PetscReal **theta)
{
  PetscViewer vw;
  Vec         v, all;
  VecScatter  sct;
  PetscFunctionBeginUser;
  PetscCall(PetscViewerHDF5Open(comm, path, FILE_MODE_READ, &vw));
  PetscCall(VecCreate(comm, &v));
  PetscCall(PetscObjectSetName((PetscObject)v, "theta"));
  PetscCall(VecLoad(v, vw));
  PetscCall(PetscViewerDestroy(&vw));
  PetscCall(VecScatterCreateToAll(v, &sct, &all));
  PetscCall(VecScatterBegin(sct, v, all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(sct, v, all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGetSize(all, n));
  PetscCall(PetscMalloc1(*n, theta));
  {
    const PetscScalar *a;
    PetscCall(VecGetArrayRead(all, &a));
    PetscCall(PetscArraycpy(*theta, a, *n));
    PetscCall(VecRestoreArrayRead(all, &a));
  }
  PetscCall(VecScatterDestroy(&sct));
  PetscCall(VecDestroy(&all));
  PetscCall(VecDestroy(&v));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Mean exact -log p over the validation part (the same samples). */
static PetscErrorCode ExactValidLoss(Setup *s, PetscReal *L)
{
  PetscInt  St, Sv;
  PetscReal lp[16];
  PetscBool known;
  PetscFunctionBeginUser;
  PetscCall(TnDataGetPartSizes(s->data, &St, &Sv));
  *L = 0;
  for (PetscInt s0 = 0; s0 < Sv; s0 += 16) {
    PetscCall(TnDataExactLogDensity(s->data, TN_DATA_VALID, s0, 16, lp, &known));
    for (PetscInt b = 0; b < 16 && s0 + b < Sv; b++) *L -= lp[b] / Sv;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_adam_decreases(void)
{
  Setup     s;
  Config    c = base_cfg;
  PetscReal before, after;
  c.steps = 60;
  c.lr    = 0.05;
  TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, &s));
  TN_ASSERT_OK(TnTrainEvaluate(s.tr, TN_DATA_TRAIN, &before, NULL));
  TN_ASSERT_OK(Steps(&s, c.steps));
  TN_ASSERT_OK(TnTrainEvaluate(s.tr, TN_DATA_TRAIN, &after, NULL));
  if (!(after < before - 0.5)) fprintf(stderr, "training loss %g -> %g\n", (double)before, (double)after);
  CU_ASSERT(after < before - 0.5);
  TN_ASSERT_OK(Destroy(&s));
}

/* A linear colored network on gmrf2d: the held-out loss approaches the
   exact -log p of the same samples from above (the model cannot beat the
   truth by much on held-out data), closing most of the initial gap. */
static void test_approaches_entropy(void)
{
  Setup     s;
  Config    c  = base_cfg;
  PetscReal L0 = 0, L1 = 0, Lx = 0, H = 0;
  PetscBool known;
  c.S     = 1000;
  c.vfrac = 0.4;
  c.steps = 400;
  c.lr    = 0.05;
  TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, &s));
  TN_ASSERT_OK(ExactValidLoss(&s, &Lx));
  TN_ASSERT_OK(TnTrainGetReference(s.tr, 0, &H, &known, NULL, NULL, NULL));
  CU_ASSERT(known);
  TN_ASSERT_OK(TnTrainEvaluate(s.tr, TN_DATA_VALID, &L0, NULL));
  TN_ASSERT_OK(Steps(&s, c.steps));
  TN_ASSERT_OK(TnTrainEvaluate(s.tr, TN_DATA_VALID, &L1, NULL));
  (void)PetscPrintf(PETSC_COMM_WORLD, "\n  held-out loss %.6g -> %.6g; exact -log p of the same samples %.6g; entropy %.6g ", (double)L0, (double)L1, (double)Lx, (double)H);
  CU_ASSERT(L1 - Lx > -0.05 * (L0 - Lx)); /* not below the truth (up to sampling noise) */
  CU_ASSERT(L1 - Lx < 0.5 * (L0 - Lx));   /* most of the gap closed */
  TN_ASSERT_OK(Destroy(&s));
}

static PetscErrorCode SaveModel(Setup *s, const char name[], char path[])
{
  PetscFunctionBeginUser;
  Path(path, name);
  PetscCall(TnTrainSaveModel(s->tr, path));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode SameTheta(MPI_Comm comm, const char a[], const char b[], PetscBool *same)
{
  PetscInt   na, nb;
  PetscReal *ta, *tb;
  PetscFunctionBeginUser;
  PetscCall(ReadTheta(comm, a, &na, &ta));
  PetscCall(ReadTheta(comm, b, &nb, &tb));
  *same = (PetscBool)(na == nb && !memcmp(ta, tb, sizeof(PetscReal) * na));
  PetscCall(PetscFree(ta));
  PetscCall(PetscFree(tb));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* S steps in one go vs S/2, checkpoint, destroy everything, load, S/2 more.
   200 samples, 50 held out, batch 16: 10 batches per epoch, so the
   checkpoint falls mid-epoch and the run crosses epochs. */
static void RestartBitwise(Config c)
{
  Setup     s;
  char      ck[PETSC_MAX_PATH_LEN], m1[PETSC_MAX_PATH_LEN], m2[PETSC_MAX_PATH_LEN];
  PetscBool same = PETSC_FALSE;
  c.steps        = 26;
  Path(ck, "restart_ckpt.h5");
  TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, &s));
  TN_ASSERT_OK(Steps(&s, c.steps));
  TN_ASSERT_OK(SaveModel(&s, "uninterrupted.h5", m1));
  TN_ASSERT_OK(Destroy(&s));
  TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, &s));
  TN_ASSERT_OK(Steps(&s, 13));
  TN_ASSERT_OK(TnTrainWriteCheckpoint(s.tr, ck));
  TN_ASSERT_OK(Destroy(&s));
  TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, &s));
  TN_ASSERT_OK(TnTrainLoadCheckpoint(s.tr, ck));
  TN_ASSERT_OK(Steps(&s, 13));
  TN_ASSERT_OK(SaveModel(&s, "restarted.h5", m2));
  TN_ASSERT_OK(Destroy(&s));
  TN_ASSERT_OK(SameTheta(PETSC_COMM_WORLD, m1, m2, &same));
  CU_ASSERT(same);
}

static void test_restart_bitwise(void)
{
  RestartBitwise(base_cfg);
}

/* The same with the moments in single precision (Adam), and for SGD (no v). */
static void test_restart_bitwise_single(void)
{
  Config c = base_cfg;
  c.single = PETSC_TRUE;
  RestartBitwise(c);
  c.opt = TN_OPT_SGD;
  RestartBitwise(c);
}

/* Single-precision moments learn as double ones do: the same training-loss
   decrease to within 1e-4 of it after 60 Adam steps. */
static void test_single_moments_learn(void)
{
  Setup     s;
  Config    c = base_cfg;
  PetscReal before, after[2];
  c.steps = 60;
  c.lr    = 0.05;
  for (int q = 0; q < 2; q++) {
    c.single = (PetscBool)q;
    TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, &s));
    TN_ASSERT_OK(TnTrainEvaluate(s.tr, TN_DATA_TRAIN, &before, NULL));
    TN_ASSERT_OK(Steps(&s, c.steps));
    TN_ASSERT_OK(TnTrainEvaluate(s.tr, TN_DATA_TRAIN, &after[q], NULL));
    TN_ASSERT_OK(Destroy(&s));
  }
  CU_ASSERT(after[1] < before - 0.5);
  TN_ASSERT_CLOSE(after[1] - before, after[0] - before, 1e-4 * PetscAbsReal(after[0] - before));
}

/* The same through TnTrainRun: a stop request (as SIGTERM/SIGUSR1 would
   make) checkpoints and stops; -train_restart-style loading finishes the run,
   validation, best-parameter tracking and the final restore included. */
static void test_run_signal_restart(void)
{
  Setup       s;
  Config      c = base_cfg;
  char        ck[PETSC_MAX_PATH_LEN], m1[PETSC_MAX_PATH_LEN], m2[PETSC_MAX_PATH_LEN];
  PetscBool   same = PETSC_FALSE;
  TnTrainInfo in;
  Path(ck, "run_ckpt.h5");
  TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, &s));
  TN_ASSERT_OK(TnTrainSetValidation(s.tr, 3, 0));
  TN_ASSERT_OK(TnTrainRun(s.tr));
  TN_ASSERT_OK(TnTrainGetInfo(s.tr, &in));
  CU_ASSERT(in.status == TN_TRAIN_DONE && in.step == c.steps && in.best_step >= 0);
  TN_ASSERT_OK(SaveModel(&s, "run_uninterrupted.h5", m1));
  TN_ASSERT_OK(Destroy(&s));
  TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, &s));
  TN_ASSERT_OK(TnTrainSetValidation(s.tr, 3, 0));
  TN_ASSERT_OK(TnTrainSetCheckpoint(s.tr, 0, TnTestTmpDir()));
  {
    PetscMPIInt rank;
    MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
    if (rank == 0) TnTrainRequestStop(); /* one rank is enough: the check is collective */
  }
  TN_ASSERT_OK(TnTrainRun(s.tr));
  TN_ASSERT_OK(TnTrainGetInfo(s.tr, &in));
  CU_ASSERT(in.status == TN_TRAIN_INTERRUPTED && in.step == 1);
  TN_ASSERT_OK(Destroy(&s));
  {
    extern volatile sig_atomic_t TnTrainStopFlag;
    TnTrainStopFlag = 0;
  }
  Path(ck, "ckpt.h5");
  TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, &s));
  TN_ASSERT_OK(TnTrainSetValidation(s.tr, 3, 0));
  TN_ASSERT_OK(TnTrainLoadCheckpoint(s.tr, ck));
  TN_ASSERT_OK(TnTrainRun(s.tr));
  TN_ASSERT_OK(SaveModel(&s, "run_restarted.h5", m2));
  TN_ASSERT_OK(Destroy(&s));
  TN_ASSERT_OK(SameTheta(PETSC_COMM_WORLD, m1, m2, &same));
  CU_ASSERT(same);
}

/* Written on `wcomm`, loaded on `lcomm` (the other of the world and a
   one-rank sub-communicator): the same parameters, keyed by (row, col). */
static PetscErrorCode CrossLoad(MPI_Comm wcomm, MPI_Comm lcomm, const char tag[], PetscBool *same)
{
  Setup    s;
  Config   c = base_cfg;
  char     ck[PETSC_MAX_PATH_LEN], m1[PETSC_MAX_PATH_LEN], m2[PETSC_MAX_PATH_LEN], name[64];
  PetscInt in = 0;
  PetscFunctionBeginUser;
  snprintf(name, sizeof(name), "cross_%s.h5", tag);
  Path(ck, name);
  snprintf(name, sizeof(name), "cross_%s_w.h5", tag);
  Path(m1, name);
  snprintf(name, sizeof(name), "cross_%s_l.h5", tag);
  Path(m2, name);
  *same = PETSC_TRUE;
  if (wcomm != MPI_COMM_NULL) {
    PetscCall(Build(wcomm, &c, &s));
    PetscCall(Steps(&s, 5));
    PetscCall(TnTrainWriteCheckpoint(s.tr, ck));
    PetscCall(TnTrainSaveModel(s.tr, m1));
    PetscCall(Destroy(&s));
  }
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  if (lcomm != MPI_COMM_NULL) {
    TnTrainInfo info;
    PetscCall(Build(lcomm, &c, &s));
    PetscCall(TnTrainLoadCheckpoint(s.tr, ck));
    PetscCall(TnTrainGetInfo(s.tr, &info));
    in = (PetscInt)info.step;
    PetscCall(TnTrainSaveModel(s.tr, m2));
    PetscCall(Destroy(&s));
  }
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  {
    PetscMPIInt rank;
    PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
    if (rank == 0) {
      PetscCall(SameTheta(PETSC_COMM_SELF, m1, m2, same));
      *same = (PetscBool)(*same && in == 5);
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_cross_ranks(void)
{
  MPI_Comm    sub;
  PetscMPIInt rank;
  PetscBool   same1 = PETSC_FALSE, same2 = PETSC_FALSE;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  MPI_Comm_split(PETSC_COMM_WORLD, rank == 0 ? 0 : MPI_UNDEFINED, 0, &sub);
  TN_ASSERT_OK(CrossLoad(PETSC_COMM_WORLD, sub, "P_to_1", &same1));
  TN_ASSERT_OK(CrossLoad(sub, PETSC_COMM_WORLD, "1_to_P", &same2));
  if (rank == 0) {
    CU_ASSERT(same1);
    CU_ASSERT(same2);
  }
  if (sub != MPI_COMM_NULL) MPI_Comm_free(&sub);
}

/* A checkpoint of another configuration, or a model file, is refused. */
static void test_refuse(void)
{
  Setup  s;
  Config c = base_cfg;
  char   ck[PETSC_MAX_PATH_LEN], model[PETSC_MAX_PATH_LEN];
  Path(ck, "refuse_ckpt.h5");
  TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, &s));
  TN_ASSERT_OK(Steps(&s, 2));
  TN_ASSERT_OK(TnTrainWriteCheckpoint(s.tr, ck));
  TN_ASSERT_OK(SaveModel(&s, "refuse_model.h5", model));
  TN_ASSERT_FAILS(TnTrainLoadCheckpoint(s.tr, model)); /* a model is not a checkpoint */
  TN_ASSERT_OK(Destroy(&s));
  c.K = 5; /* other dynamics */
  TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, &s));
  TN_ASSERT_FAILS(TnTrainLoadCheckpoint(s.tr, ck));
  TN_ASSERT_OK(Destroy(&s));
  c        = base_cfg;
  c.single = PETSC_TRUE; /* double moments in the file, single here */
  TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, &s));
  TN_ASSERT_FAILS(TnTrainLoadCheckpoint(s.tr, ck));
  TN_ASSERT_OK(Destroy(&s));
  c   = base_cfg;
  c.n = 5; /* other network */
  TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, &s));
  TN_ASSERT_FAILS(TnTrainLoadCheckpoint(s.tr, ck));
  Path(ck, "does_not_exist.h5");
  TN_ASSERT_FAILS(TnTrainLoadCheckpoint(s.tr, ck));
  TN_ASSERT_OK(Destroy(&s));
}

/* A huge learning rate on the sync scheme: the steps that would break
   h Lip(f) < 1 are halved (or dropped), counted, and the net stays
   invertible. */
static void test_shrink(void)
{
  Setup       s;
  Config      c = base_cfg;
  TnTrainInfo in;
  PetscReal   value;
  c.scheme = TN_SCHEME_SYNC;
  c.act    = TN_ACT_TANH;
  c.h      = 0.1;
  c.lr     = 50;
  c.steps  = 6;
  TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, &s));
  TN_ASSERT_OK(Steps(&s, c.steps));
  TN_ASSERT_OK(TnTrainGetInfo(s.tr, &in));
  CU_ASSERT(in.shrunk + in.skipped > 0);
  CU_ASSERT(in.halvings >= in.shrunk);
  TN_ASSERT_OK(TnDynGetInvertibility(s.dyn, &value, NULL));
  CU_ASSERT(value < 1);
  TN_ASSERT_OK(Destroy(&s));
}

/* The colouring seed set through the API (not the options database) is the
   one the model records; loading the model gives the same colouring. */
static PetscErrorCode StoredReal(MPI_Comm comm, const char path[], const char name[], PetscReal *v)
{
  PetscViewer vw;
  PetscFunctionBeginUser;
  PetscCall(PetscViewerHDF5Open(comm, path, FILE_MODE_READ, &vw));
  PetscCall(PetscViewerHDF5ReadAttribute(vw, "/", name, PETSC_REAL, NULL, v));
  PetscCall(PetscViewerDestroy(&vw));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode SameColors(TnNet net, TnDyn a, TnDyn b, PetscBool *same)
{
  const PetscInt *ca, *cb;
  PetscInt        m, na, nb, eq;
  Mat             W;
  PetscFunctionBeginUser;
  PetscCall(TnNetGetMat(net, &W));
  PetscCall(MatGetLocalSize(W, &m, NULL));
  PetscCall(TnDynGetNumColors(a, &na));
  PetscCall(TnDynGetNumColors(b, &nb));
  PetscCall(TnDynGetColors(a, &ca));
  PetscCall(TnDynGetColors(b, &cb));
  eq = na == nb && !memcmp(ca, cb, sizeof(PetscInt) * m);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &eq, 1, MPIU_INT, MPI_MIN, PetscObjectComm((PetscObject)W)));
  *same = (PetscBool)eq;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_model_coloring_seed(void)
{
  Setup           s;
  Config          c = base_cfg;
  char            path[PETSC_MAX_PATH_LEN];
  PetscReal       stored = 0;
  PetscInt        seed   = 0;
  PetscBool       same   = PETSC_FALSE;
  TnColoringOrder order  = TN_COLORING_NATURAL;
  TnDyn           dyn;
  c.colseed   = 99;
  c.colrandom = PETSC_TRUE;
  TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, &s));
  TN_ASSERT_OK(SaveModel(&s, "seed_model.h5", path));
  TN_ASSERT_OK(StoredReal(PETSC_COMM_WORLD, path, "coloring_seed", &stored));
  CU_ASSERT(stored == 99);
  TN_ASSERT_OK(TnDynCreate(s.net, &dyn));
  TN_ASSERT_OK(TnModelConfigureDyn(PETSC_COMM_WORLD, path, dyn));
  TN_ASSERT_OK(TnDynGetColoringSeed(dyn, &seed));
  TN_ASSERT_OK(TnDynGetColoringOrder(dyn, &order));
  CU_ASSERT(seed == 99 && order == TN_COLORING_RANDOM);
  TN_ASSERT_OK(TnDynSetUp(dyn));
  TN_ASSERT_OK(SameColors(s.net, s.dyn, dyn, &same));
  CU_ASSERT(same);
  TN_ASSERT_OK(TnDynDestroy(&dyn));
  TN_ASSERT_OK(Destroy(&s));
}

/* The colouring order: natural by default and recorded; a file written
   before the attribute existed (none stored) is read as random, the order
   it was made with. */
static void test_model_coloring_order(void)
{
  Setup           s;
  Config          c = base_cfg;
  char            path[PETSC_MAX_PATH_LEN];
  TnColoringOrder order = TN_COLORING_RANDOM;
  TnDyn           dyn;
  TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, &s));
  TN_ASSERT_OK(SaveModel(&s, "order_model.h5", path));
  TN_ASSERT_OK(TnDynCreate(s.net, &dyn));
  TN_ASSERT_OK(TnModelConfigureDyn(PETSC_COMM_WORLD, path, dyn));
  TN_ASSERT_OK(TnDynGetColoringOrder(dyn, &order));
  CU_ASSERT(order == TN_COLORING_NATURAL);
  TN_ASSERT_OK(TnDynDestroy(&dyn));
  {
    PetscViewer vw;
    hid_t       fid;
    TN_ASSERT_OK(PetscViewerHDF5Open(PETSC_COMM_WORLD, path, FILE_MODE_APPEND, &vw));
    TN_ASSERT_OK(PetscViewerHDF5GetFileId(vw, &fid));
    CU_ASSERT(H5Adelete_by_name(fid, "/", "coloring_order", H5P_DEFAULT) >= 0);
    TN_ASSERT_OK(PetscViewerDestroy(&vw));
  }
  TN_ASSERT_OK(TnDynCreate(s.net, &dyn));
  TN_ASSERT_OK(TnModelConfigureDyn(PETSC_COMM_WORLD, path, dyn));
  TN_ASSERT_OK(TnDynGetColoringOrder(dyn, &order));
  CU_ASSERT(order == TN_COLORING_RANDOM);
  TN_ASSERT_OK(TnDynDestroy(&dyn));
  TN_ASSERT_OK(Destroy(&s));
}

/* TnModelConfigureDyn applies every stored setting whatever the options
   database holds; TnDynSetFromOptions afterwards puts the command line
   over them (what the front end does with -model). */
static void test_model_settings_precedence(void)
{
  Setup     s;
  Config    c = base_cfg;
  char      path[PETSC_MAX_PATH_LEN];
  PetscReal h = 0;
  PetscInt  K = 0, seed = 0;
  TnScheme  scheme = TN_SCHEME_SYNC;
  TnDyn     dyn;
  TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, &s));
  TN_ASSERT_OK(SaveModel(&s, "settings_model.h5", path));
  TN_ASSERT_OK(PetscOptionsSetValue(NULL, "-dyn_h", "0.25"));
  TN_ASSERT_OK(PetscOptionsSetValue(NULL, "-dyn_steps", "7"));
  TN_ASSERT_OK(PetscOptionsSetValue(NULL, "-dyn_coloring_seed", "5"));
  TN_ASSERT_OK(TnDynCreate(s.net, &dyn));
  TN_ASSERT_OK(TnDynSetScheme(dyn, TN_SCHEME_SYNC));
  TN_ASSERT_OK(TnModelConfigureDyn(PETSC_COMM_WORLD, path, dyn));
  TN_ASSERT_OK(TnDynGetParams(dyn, &scheme, NULL, NULL, &h, &K, NULL));
  TN_ASSERT_OK(TnDynGetColoringSeed(dyn, &seed));
  CU_ASSERT(!strcmp(scheme, c.scheme) && h == c.h && K == c.K && seed == 12345);
  TN_ASSERT_OK(TnDynSetFromOptions(dyn));
  TN_ASSERT_OK(TnDynGetParams(dyn, &scheme, NULL, NULL, &h, &K, NULL));
  TN_ASSERT_OK(TnDynGetColoringSeed(dyn, &seed));
  CU_ASSERT(!strcmp(scheme, c.scheme) && h == 0.25 && K == 7 && seed == 5);
  TN_ASSERT_OK(PetscOptionsClearValue(NULL, "-dyn_h"));
  TN_ASSERT_OK(PetscOptionsClearValue(NULL, "-dyn_steps"));
  TN_ASSERT_OK(PetscOptionsClearValue(NULL, "-dyn_coloring_seed"));
  TN_ASSERT_OK(TnDynDestroy(&dyn));
  TN_ASSERT_OK(Destroy(&s));
}

/* A model whose dynamics attribute `name` is overwritten with a bad value
   (num: a number, else a string) is refused when read; the good file reads. */
static PetscErrorCode ReadDamaged(const char path[], const char name[], PetscReal num, const char str[], TnNet net)
{
  PetscViewer vw;
  TnDyn       dyn;
  PetscFunctionBeginUser;
  PetscCall(PetscViewerHDF5Open(PETSC_COMM_WORLD, path, FILE_MODE_APPEND, &vw));
  { /* replaced, not converted: K = 0.5 must reach the file as a double even
       though tenor stores K as an integer */
    hid_t fid;
    PetscCall(PetscViewerHDF5GetFileId(vw, &fid));
    if (H5Aexists_by_name(fid, "/", name, H5P_DEFAULT) > 0) PetscCheck(H5Adelete_by_name(fid, "/", name, H5P_DEFAULT) >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "H5Adelete");
  }
  if (str)
    PetscCall(PetscViewerHDF5WriteAttribute(vw, "/", name, PETSC_STRING, str));
  else
    PetscCall(PetscViewerHDF5WriteAttribute(vw, "/", name, PETSC_REAL, &num));
  PetscCall(PetscViewerDestroy(&vw));
  PetscCall(TnDynCreate(net, &dyn));
  PetscCall(TnModelConfigureDyn(PETSC_COMM_WORLD, path, dyn));
  PetscCall(TnDynDestroy(&dyn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void test_model_dyn_attributes_checked(void)
{
  Setup  s;
  Config c = base_cfg;
  char   path[PETSC_MAX_PATH_LEN];
  const struct {
    const char *name, *str;
    PetscReal   num;
  } bad[] = {
      {"scheme", "leapfrog", 0}, {"form", "voltage", 0}, {"K", NULL, 0.5}, {"K", NULL, -3}, {"h", NULL, -0.1}, {"h", NULL, NAN}, {"rtol", NULL, 0}, {"adapt", NULL, 2}, {"coloring_order", "sorted", 0}};
  TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, &s));
  for (size_t q = 0; q < sizeof(bad) / sizeof(bad[0]); q++) {
    char name[64];
    PetscSNPrintf(name, sizeof(name), "damaged_%d.h5", (int)q);
    TN_ASSERT_OK(SaveModel(&s, name, path));
    TN_ASSERT_OK(ReadDamaged(path, "version", 1, NULL, s.net)); /* an untouched dynamics part reads */
    TN_ASSERT_FAILS(ReadDamaged(path, bad[q].name, bad[q].num, bad[q].str, s.net));
  }
  TN_ASSERT_OK(Destroy(&s));
}

/* Set up as c says, then switch to `opt` (and the moments' precision) and
   take one step: the parameters after it. */
static PetscErrorCode OneStep(const Config *c, TnOptimizer opt, PetscBool single, const char name[], char path[])
{
  Setup s;
  PetscFunctionBeginUser;
  PetscCall(Build(PETSC_COMM_WORLD, c, &s));
  PetscCall(TnTrainSetOptimizer(s.tr, opt));
  if (single != c->single) PetscCall(TnTrainSetSingleMoments(s.tr, single));
  PetscCall(Steps(&s, 1));
  PetscCall(SaveModel(&s, name, path));
  PetscCall(Destroy(&s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Changing the optimiser (or the moments' precision) after SetUp sets up
   again: the step equals a fresh trainer's, bitwise. */
static void test_setter_after_setup(void)
{
  Config    sgd = base_cfg, adam = base_cfg;
  char      a[PETSC_MAX_PATH_LEN], b[PETSC_MAX_PATH_LEN];
  PetscBool same = PETSC_FALSE;
  sgd.opt        = TN_OPT_SGD;
  adam.opt       = TN_OPT_ADAM;
  TN_ASSERT_OK(OneStep(&sgd, TN_OPT_ADAM, PETSC_FALSE, "switched_adam.h5", a));
  TN_ASSERT_OK(OneStep(&adam, TN_OPT_ADAM, PETSC_FALSE, "fresh_adam.h5", b));
  TN_ASSERT_OK(SameTheta(PETSC_COMM_WORLD, a, b, &same));
  CU_ASSERT(same);
  same        = PETSC_FALSE;
  adam.single = PETSC_TRUE;
  TN_ASSERT_OK(OneStep(&sgd, TN_OPT_ADAM, PETSC_TRUE, "switched_adam_single.h5", a));
  TN_ASSERT_OK(OneStep(&adam, TN_OPT_ADAM, PETSC_TRUE, "fresh_adam_single.h5", b));
  TN_ASSERT_OK(SameTheta(PETSC_COMM_WORLD, a, b, &same));
  CU_ASSERT(same);
}

/* After a step, or a checkpoint load, the optimiser and the moments'
   precision cannot change (the moments would be lost); setting the same
   value, or the budget, is fine. */
static void test_setter_refused_after_steps(void)
{
  Setup       s;
  Config      c = base_cfg;
  char        ck[PETSC_MAX_PATH_LEN];
  TnTrainInfo in;
  Path(ck, "setter_ckpt.h5");
  TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, &s));
  TN_ASSERT_OK(Steps(&s, 1));
  TN_ASSERT_FAILS(TnTrainSetOptimizer(s.tr, TN_OPT_SGD));
  TN_ASSERT_FAILS(TnTrainSetSingleMoments(s.tr, PETSC_TRUE));
  TN_ASSERT_OK(TnTrainSetOptimizer(s.tr, TN_OPT_ADAM));
  TN_ASSERT_OK(TnTrainSetBudget(s.tr, 0, 7));
  TN_ASSERT_OK(TnTrainGetInfo(s.tr, &in));
  CU_ASSERT(in.total == 7);
  TN_ASSERT_OK(Steps(&s, 1));
  TN_ASSERT_OK(TnTrainWriteCheckpoint(s.tr, ck));
  TN_ASSERT_OK(Destroy(&s));
  TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, &s));
  TN_ASSERT_OK(TnTrainLoadCheckpoint(s.tr, ck));
  TN_ASSERT_FAILS(TnTrainSetOptimizer(s.tr, TN_OPT_SGD));
  TN_ASSERT_OK(Steps(&s, 1));
  TN_ASSERT_OK(Destroy(&s));
}

/* The local rules through the trainer: a checkpoint restart ends bitwise on
   the uninterrupted parameters (hebb, oja); the rule cannot change after a
   step; hebb with alpha = 0 runs away: TnTrainRun stops with status
   TN_TRAIN_RUNAWAY and the reason, theta stays the last good state (finite,
   within the limit), and a further step is refused. */
static void test_rules_restart(void)
{
  Config c = base_cfg;
  c.rule   = TN_TRAIN_RULE_HEBB;
  c.reta   = 0.05;
  c.rdecay = 1;
  RestartBitwise(c);
  c.rule = TN_TRAIN_RULE_OJA;
  c.reta = 0.02;
  RestartBitwise(c);
}

static void test_rules_runaway(void)
{
  Config      c = base_cfg;
  Setup       s;
  TnTrainInfo in;
  const char *why;
  Vec         theta;
  PetscReal   wmax = 0;
  c.rule           = TN_TRAIN_RULE_HEBB;
  c.reta           = 1;
  c.rdecay         = 0;
  c.rmax           = 20;
  c.steps          = 1000;
  c.vfrac          = 0; /* no validation: the run ends with the last good state, not the best validated */
  TN_ASSERT_OK(Build(PETSC_COMM_WORLD, &c, &s));
  TN_ASSERT_OK(TnTrainSetCheckpoint(s.tr, 0, TnTestTmpDir()));
  TN_ASSERT_OK(Steps(&s, 1));
  TN_ASSERT_FAILS(TnTrainSetRule(s.tr, TN_TRAIN_RULE_GRADIENT));
  TN_ASSERT_OK(TnTrainRun(s.tr));
  TN_ASSERT_OK(TnTrainGetInfo(s.tr, &in));
  TN_ASSERT_OK(TnTrainGetStopReason(s.tr, &why));
  CU_ASSERT(in.status == TN_TRAIN_RUNAWAY && in.step > 1 && in.step < 1000);
  CU_ASSERT(strstr(why, "running away") != NULL);
  TN_ASSERT_OK(TnTrainGetParams(s.tr, &theta));
  {
    const PetscScalar *t;
    PetscInt           n;
    PetscBool          finite = PETSC_TRUE;
    TN_ASSERT_OK(VecGetLocalSize(theta, &n));
    TN_ASSERT_OK(VecGetArrayRead(theta, &t));
    for (PetscInt q = 0; q < n; q++) {
      if (PetscIsInfOrNanScalar(t[q])) finite = PETSC_FALSE;
    }
    TN_ASSERT_OK(VecRestoreArrayRead(theta, &t));
    CU_ASSERT(finite);
  }
  TN_ASSERT_OK(VecNorm(theta, NORM_INFINITY, &wmax)); /* b = u = 0 here: max |W_ij| */
  CU_ASSERT(wmax <= 20 && wmax > 10);
  TN_ASSERT_FAILS(TnTrainStep(s.tr));
  TN_ASSERT_OK(Destroy(&s));
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("train", NULL, NULL);
  CU_add_test(s, "Adam lowers the training loss", test_adam_decreases);
  CU_add_test(s, "linear network on gmrf2d approaches the truth", test_approaches_entropy);
  CU_add_test(s, "checkpoint/restart = uninterrupted, bitwise", test_restart_bitwise);
  CU_add_test(s, "the same with single-precision moments, and SGD", test_restart_bitwise_single);
  CU_add_test(s, "single-precision moments learn as double ones", test_single_moments_learn);
  CU_add_test(s, "TnTrainRun: stop request, checkpoint, restart, bitwise", test_run_signal_restart);
  CU_add_test(s, "checkpoint written on P ranks loads on 1 and back", test_cross_ranks);
  CU_add_test(s, "incompatible checkpoint refused", test_refuse);
  CU_add_test(s, "non-invertible steps shrunk and counted", test_shrink);
  CU_add_test(s, "the model records the colouring seed set by API", test_model_coloring_seed);
  CU_add_test(s, "the model records the colouring order; a file without it reads as random", test_model_coloring_order);
  CU_add_test(s, "model settings applied; the options database over them", test_model_settings_precedence);
  CU_add_test(s, "a model's bad dynamics settings refused", test_model_dyn_attributes_checked);
  CU_add_test(s, "optimiser changed after SetUp: SetUp again, step = fresh", test_setter_after_setup);
  CU_add_test(s, "optimiser change after a step or a load refused", test_setter_refused_after_steps);
  CU_add_test(s, "local rules: checkpoint/restart = uninterrupted, bitwise", test_rules_restart);
  CU_add_test(s, "hebb without decay: stopped, last good state kept", test_rules_runaway);
}
