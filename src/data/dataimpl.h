/* Private state of TnData (src/data/ only). */
#pragma once
#include <tenor/data.h>
#include <petscmat.h>
#include <math.h>

/* A built-in generator: fills the whole sample s (natural order, N values) and
   its exact log-density. Runs on the one rank that owns sample s, so a sample
   and its log-density are bitwise the same for any rank count. */
typedef struct {
  PetscErrorCode (*sample)(TnData, PetscInt s, PetscReal x[], PetscReal *logp);
  PetscErrorCode (*destroy)(TnData);
} TnDataGenOps;

struct _p_TnData {
  MPI_Comm     comm;
  char         type[32], file[PETSC_MAX_PATH_LEN], dataset[256];
  PetscInt     S, N, rstart, rend; /* samples, nodes, this rank's nodes */
  PetscInt     seed;
  PetscScalar *x;    /* x[(i - rstart) * S + s] after the transforms below */
  PetscReal   *logp; /* [S] exact log-density of the stored samples, or NULL */

  /* exact (or estimated) entropy of the generating distribution */
  PetscReal H;
  PetscBool Hknown, Hestimate;
  PetscReal Hse; /* standard error of a Monte Carlo estimate */

  /* train / validation split: idx[0..Strain) training, idx[Strain..S) validation */
  PetscReal vfrac;
  PetscInt  split_seed, Strain, Svalid;
  PetscInt *idx;
  PetscInt *perm; /* [Strain] current shuffle of the training part */

  /* dequantisation and standardisation */
  PetscBool  dequantize, standardize, user_std, std_applied;
  PetscReal *mean, *sd; /* [rend - rstart] */
  PetscReal  logjac;    /* -sum_i log sd_i over the free nodes (global) */
  PetscReal *cmask;     /* [rend - rstart] 1: a clamped node, kept as given (TnDataSetClampMask), or NULL */

  /* class labels: the C label nodes N - C .. N - 1 hold the one-hot code of
     the sample's label (labels.c) */
  char       labels[PETSC_MAX_PATH_LEN], labels_dataset[256];
  PetscInt   C;       /* label nodes (0: none) */
  PetscBool  C_model; /* C imposed by a model: classes need no training samples */
  PetscBool  C_ready; /* labels read and C decided */
  PetscInt  *label;   /* [Slab] replicated, or NULL (no -data_labels) */
  PetscInt   Slab;
  PetscReal *prior;    /* [C] share of each class in the training part (with labels) */
  PetscInt   sel;      /* >= 0: only the samples of this class, no label nodes (a per-class model) */
  PetscInt   selC;     /* then: the number of classes of the labels */
  PetscReal  selprior; /* then: the share of class sel among all labels */

  /* generators */
  TnDataGenOps gen;
  void        *gctx;
  PetscInt     gmrf_n;
  PetscReal    gmrf_tau, gmrf_kappa2;
  char         gauss_Q[PETSC_MAX_PATH_LEN];
  PetscInt     mix_K;
  PetscReal    mix_sep, mix_sd, mix_wts[16], mix_sds[16];
  PetscInt     mix_nwts, mix_nsds;
  PetscInt     gauss_dmax;
  PetscBool    mix_diag;

  /* Gaussian types: the precision Q as a new matrix of the default layout
     (rows [rstart, rend)), for the conditional references (conditional.c) */
  PetscErrorCode (*precision)(TnData, Mat *);
  /* conditional references of a clamp set (TnDataSetConditioning) */
  PetscBool cset, cknown;
  PetscInt  cNf, cnf;        /* free nodes: global, this rank's */
  PetscInt *cfidx;           /* [cnf] local rows (i - rstart) of this rank's free nodes */
  PetscReal clogdet, csdlog; /* log det Q_FF; sum over F of log sd_i (standardised) */
  Mat       cQ, cF;          /* Q and the Cholesky factor of Q_FF */
  Vec       ca, cw, cr, cy;  /* a sample, Q a, r = (Q a)_F, Q_FF^-1 r */
};

/* generate.c: runs data->gen for all S samples, sample-parallel, and moves them
   to the node-major layout; fills data->x and data->logp. */
PetscErrorCode TnDataGenerate_Private(TnData data);
/* Per-type set-up (parameters, FFT plans, factorisations), then generation. */
PetscErrorCode TnDataSetUp_GMRF2D(TnData data);
PetscErrorCode TnDataSetUp_Gauss(TnData data);
PetscErrorCode TnDataSetUp_Mixture(TnData data);
PetscErrorCode TnDataSetUp_Normal(TnData data);
/* gauss.c: log-densities of file samples under the Gaussian of -data_gauss_Q. */
PetscErrorCode TnDataGaussFile_Private(TnData data);
/* conditional.c: drops the conditioning (Clear, TnDataSetConditioning). */
PetscErrorCode TnDataConditionalReset_Private(TnData data);
/* gauss.c: Q = L L' by MUMPS (distributed): log det Q from its determinant
   (ICNTL(33)); *F the factor (for MatSolve), or NULL to drop it. `what`
   names Q in the errors. */
PetscErrorCode TnDataCholeskyMUMPS_Private(TnData data, Mat Q, const char what[], Mat *F, PetscReal *logdet);
/* labels.c: reads the labels and decides C (collective; once). */
PetscErrorCode TnDataLabelsSetUp_Private(TnData data);
/* labels.c, in TnDataLoad: D = N - C columns from the file, the label
   nodes' one-hot columns from the labels (zero without labels). */
PetscErrorCode TnDataLabelsRead_Private(TnData data);
/* labels.c, after reading (TnDataSetClassSelect): keeps the samples of
   class sel only. */
PetscErrorCode TnDataLabelsSelect_Private(TnData data);
/* labels.c, after the split: every label < C and, unless C came from a
   model, every class in the training part; the priors. */
PetscErrorCode TnDataLabelsCheck_Private(TnData data);
/* Whether local node i (0-based from rstart) is kept as given by the
   transforms: a label node or a clamped node. */
static inline PetscBool TnDataKept(TnData data, PetscInt i)
{
  return (PetscBool)(data->rstart + i >= data->N - data->C || (data->cmask && data->cmask[i] != 0));
}
/* split.c */
PetscErrorCode TnDataSplit_Private(TnData data);
PetscErrorCode TnDataDequantize_Private(TnData data);
PetscErrorCode TnDataStandardize_Private(TnData data);
