/* Private: the trainer. Invariant between steps: theta holds the parameters
   the net uses (written with TnGradSetParams, so gamma = e^u exactly as after
   a restart), m and v the optimiser's moments in theta's layout, and
   (epoch, pos) the next minibatch of the shuffled training part. */
#pragma once
#include <tenor/train.h>
#include <signal.h>

/* The format version of model and checkpoint files this code writes; it
   reads versions 1..TN_FILE_VERSION. */
#define TN_FILE_VERSION 1

/* The canonical order of parameters: sorted by natural row, then column with
   u = log gamma (col -2) and b (col -1) first. pos[q] is the canonical index
   of theta's local entry q; sct scatters theta's layout to a Vec `canon` of
   the default layout (forward) and back (reverse). */
typedef struct {
  PetscInt64 total;
  PetscInt  *pos;
  Vec        canon;
  VecScatter sct;
} TnCanon;

struct _p_TnTrain {
  MPI_Comm    comm;
  TnNet       net;
  TnDyn       dyn;
  TnData      data;
  TnGrad      grad;
  PetscBool   setup;
  TnOptimizer opt;
  TnTrainRule rule_kind;
  TnRule      rule;          /* the local rule (hebb, oja) */
  Vec         ract, xwork;   /* the rule's activities (block size B, or K B evolved) and a state copy */
  char        stop_why[512]; /* TN_TRAIN_RUNAWAY: the rule's message */
  TnSchedule  sched;
  PetscReal   lr0, beta1, beta2, eps, mu, decay, minfrac, clip;
  PetscInt    every_decay, epochs, steps, valid_every, patience, seed, ckpt_every, max_shrink;
  PetscBool   keep_best;
  PetscBool   single;         /* the optimiser's moments in single precision (mf, vf instead of m, v) */
  PetscReal   progress_every; /* seconds between progress lines */
  char        ckpt_dir[PETSC_MAX_PATH_LEN], out_dir[PETSC_MAX_PATH_LEN];

  /* set-up */
  PetscInt    N, B, K, Strain, Svalid;
  PetscInt    Nf;   /* the density's dimension: N, or the free nodes with a clamp set */
  PetscReal  *fnat; /* with a clamp set: 1 free, 0 clamped, for this rank's rows of xnat (natural order); else NULL */
  PetscInt64  nnz;
  PetscReal   H; /* exact entropy (NaN if unknown); with a clamp set the conditional one H(t | x) */
  PetscBool   Hknown;
  Vec         theta, m, v, g, best, xnat, x; /* g: the gradient, then the step direction d; v: Adam only */
  float      *mf, *vf;                       /* -train_moments_single: m and v (vf: Adam only) */
  TnDynResult res;
  TnCanon     canon;

  /* progress */
  TnTrainInfo    info;
  PetscInt64     bad_evals; /* evaluations without improvement */
  PetscReal      loss_sum;  /* sum of minibatch losses since the last report */
  PetscInt64     loss_count;
  PetscLogDouble t_train, t_last;    /* seconds in steps; time of the last progress line */
  PetscInt64     samples, step_last; /* samples trained on */
  PetscReal      nll_indep;          /* factorised baseline on the validation part, over the free nodes (PETSC_MAX_REAL if none) */
  PetscReal      nll_true;           /* mean exact -log p (with a clamp set: -log p(t | x)) of the validation samples (PETSC_MAX_REAL if unknown) */
  PetscBool      shuffled;           /* the data's training part is in this epoch's order */
  PetscBool      restarted;          /* state loaded from a checkpoint */
  FILE          *metrics;            /* rank 0: train_metrics.csv's contents, in memory (open_memstream) */
  char          *metrics_buf;        /* rank 0: the memory stream's buffer */
  size_t         metrics_len;        /* rank 0: its length */
  PetscBool      metrics_on;         /* every rank: the metrics file is open */
  char           metrics_path[PETSC_MAX_PATH_LEN];
};

extern volatile sig_atomic_t TnTrainStopFlag;

/* canon.c */
PetscErrorCode TnCanonSetUp(TnTrain tr);
PetscErrorCode TnCanonDestroy(TnCanon *c);
/* optim.c */
PetscReal      TnTrainLearningRate(TnTrain tr, PetscInt64 step);
PetscErrorCode TnTrainDirection(TnTrain tr, PetscReal lr);
/* ckpt.c: a file of theta-layout vectors by name plus metadata. */
PetscErrorCode TnTrainWriteFile(TnTrain tr, const char path[], PetscBool ckpt);
/* loop.c */
PetscErrorCode TnTrainReport(TnTrain tr, PetscBool evaluated);
PetscErrorCode TnTrainMetricsOpen(TnTrain tr, PetscBool restart);
PetscErrorCode TnTrainMetricsClose(TnTrain tr);
