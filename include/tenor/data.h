/* tenor/data.h - samples x to train on and evaluate: built-in generators with
   a known log-density (normal, gmrf2d, gauss, mixture; docs/data.md gives the
   formulas) or a CSV / HDF5 file (one sample per row, N columns), with a
   reproducible train/validation split, shuffling, dequantisation and
   standardisation. Samples are held in natural node order, each rank its
   default-split block of nodes for all S samples. Every sample, split,
   shuffle and exact log-density is the same for any rank count. */
#pragma once
#include <tenor/sys.h>
#include <petscvec.h>

typedef struct _p_TnData *TnData;

#define TNDATA_NORMAL "normal"
#define TNDATA_CSV "csv"
#define TNDATA_HDF5 "hdf5"
#define TNDATA_GMRF2D "gmrf2d"
#define TNDATA_GAUSS "gauss"
#define TNDATA_MIXTURE "mixture"

/* Which samples a batch is taken from: all S in stored order, the training
   part (in the order of the last TnDataShuffle), or the validation part. */
typedef enum {
  TN_DATA_ALL,
  TN_DATA_TRAIN,
  TN_DATA_VALID
} TnDataPart;

PetscErrorCode TnDataCreate(MPI_Comm comm, TnData *data);
PetscErrorCode TnDataSetType(TnData data, const char type[]);
PetscErrorCode TnDataSetFile(TnData data, const char path[], const char dataset[]);
/* Number of samples and seed of the built-in generator. */
PetscErrorCode TnDataSetSamples(TnData data, PetscInt S, PetscInt seed);
/* Options -data_type, -data_file, -data_dataset, -data_samples, -data_seed,
   -data_valid_fraction, -data_split_seed, -data_standardize, -data_dequantize,
   -data_gmrf_n, -data_gmrf_tau, -data_gmrf_kappa2, -data_gauss_Q,
   -data_mix_components, -data_mix_separation, -data_mix_sd,
   -data_mix_weights, -data_mix_sds, -data_mix_diagonal, -data_labels,
   -data_labels_dataset, -data_classes, -data_class. */
PetscErrorCode TnDataSetFromOptions(TnData data);
/* Loads (or generates) the samples for a network of N nodes. Collective. */
PetscErrorCode TnDataLoad(TnData data, PetscInt N);
PetscErrorCode TnDataGetNumSamples(TnData data, PetscInt *S);
/* Fills xnat (natural order, default split, block size B) with samples
   s0 .. s0+B-1; slots past the last sample are zero and *valid tells how many
   are real. Local (no communication). */
PetscErrorCode TnDataGetBatch(TnData data, PetscInt s0, Vec xnat, PetscInt *valid);
/* One line: type, sample counts, and for generators the exact entropy
   ("exact entropy H = ... nats") and the mean exact log-density of the
   samples. */
PetscErrorCode TnDataDescribe(TnData data, char buf[], size_t len);

/* Training support. Validation fraction f: round(f S) samples, chosen by a
   seeded hash of the sample index (independent of the rank count). */
PetscErrorCode TnDataSetValidationFraction(TnData data, PetscReal f, PetscInt seed);
PetscErrorCode TnDataGetPartSizes(TnData data, PetscInt *Strain, PetscInt *Svalid);
/* As TnDataGetBatch, for positions s0 .. s0+B-1 of a part. Local. */
PetscErrorCode TnDataGetBatchPart(TnData data, TnDataPart part, PetscInt s0, Vec xnat, PetscInt *valid);
/* Per local node i (rows rstart .. rend-1), over the samples p = 0 .. S-1 of
   a part in order: sums[i] = sum_p x_ip (mean NULL) or sum_p (x_ip -
   mean[i])^2. The same values, summed in the same order, as gathering the
   part batch by batch with TnDataGetBatchPart, but one node's samples after
   the other (the samples of a node are contiguous): no strided gather of
   the whole part. Local. */
PetscErrorCode TnDataGetNodeSums(TnData data, TnDataPart part, const PetscReal mean[], PetscReal sums[]);
/* Global sample index (row of the file / generator counter) of position p of
   a part. */
PetscErrorCode TnDataGetSampleIndex(TnData data, TnDataPart part, PetscInt p, PetscInt *s);
/* Reorders the training part by a permutation that depends only on
   (seed, epoch). Not collective (every rank computes the same permutation). */
PetscErrorCode TnDataShuffle(TnData data, PetscInt epoch, PetscInt seed);
/* logp[b] = exact log-density of the sample at position s0 + b of the part
   (b < B; 0 past the end), in the representation TnDataGetBatchPart returns
   (after standardisation: log p_z = log p_x + sum_i log sd_i). *known is
   PETSC_FALSE (logp untouched) when no exact density exists (files, or
   dequantised data). Local. */
PetscErrorCode TnDataExactLogDensity(TnData data, TnDataPart part, PetscInt s0, PetscInt B, PetscReal logp[], PetscBool *known);
/* Entropy of the generating distribution in the representation delivered.
   known = PETSC_TRUE: exact (normal, gmrf2d, gauss). known = PETSC_FALSE:
   *H is a Monte Carlo estimate -mean log p over the samples (mixture) or NaN
   (files). */
PetscErrorCode TnDataExactEntropy(TnData data, PetscReal *H, PetscBool *known);
/* Conditional references for a clamp set C (docs/conditional.md): the
   natural node numbers of `clamped` (each rank any part of the set; each
   node once, one node at least left free; NULL drops the set). For a
   Gaussian with known precision Q (gmrf2d, gauss), t = x_F given x = x_C is
   N(-Q_FF^-1 Q_FC x, Q_FF^-1): Set factors Q_FF (MUMPS Cholesky,
   distributed) once; the entropy H(t | x) = (N_F/2) log(2 pi e) -
   1/2 log det Q_FF and log p(t | x) of each sample (one solve each) then
   come in the representation delivered, like their joint counterparts.
   *known = PETSC_FALSE for other data (or dequantised). After TnDataLoad;
   collective (Set, LogDensity). GetConditioning: N_F (N without a set) and
   whether the references are known; either pointer may be NULL. */
PetscErrorCode TnDataSetConditioning(TnData data, IS clamped);
PetscErrorCode TnDataGetConditioning(TnData data, PetscInt *nfree, PetscBool *known);
PetscErrorCode TnDataExactConditionalEntropy(TnData data, PetscReal *H, PetscBool *known);
PetscErrorCode TnDataExactConditionalLogDensity(TnData data, TnDataPart part, PetscInt s0, PetscInt B, PetscReal logp[], PetscBool *known);
/* Standardisation z_i = (x_i - mean_i) / sd_i with per-node statistics of the
   training part. Get copies them into Vecs of the default layout (N global);
   Set (before TnDataLoad, or after it: re-standardises) imposes saved ones.
   TnDataGetLogJacobian gives c = -sum_i log sd_i (0 if not standardised):
   log p_x(x) = log p_z(z) + c. */
PetscErrorCode TnDataSetStandardize(TnData data, PetscBool flg);
PetscErrorCode TnDataGetStandardization(TnData data, Vec mean, Vec sd);
PetscErrorCode TnDataSetStandardization(TnData data, Vec mean, Vec sd);
PetscErrorCode TnDataGetLogJacobian(TnData data, PetscReal *c);
/* Dequantisation of integer data: x + u, u ~ U(0,1) from the counter-based
   generator (seed, stream 13, s N + i). */
PetscErrorCode TnDataSetDequantize(TnData data, PetscBool flg);
/* Width of the dequantisation noise u ~ U(0, width): integer data become
   continuous, and the density of x + u is what the model learns. */
#define TN_DATA_DEQUANTIZE_WIDTH 1.0
/* What TnDataLoad applied, in order: dequantisation (x + U(0,1)), the
   validation split (fraction), standardisation (then TnDataGetLogJacobian
   gives c = -sum_i log sd_i). Any pointer may be NULL. */
PetscErrorCode TnDataGetPreprocessing(TnData data, PetscBool *dequantized, PetscReal *valid_fraction, PetscBool *standardized);
/* gmrf2d parameters: lattice side n (0: sqrt(N)), tau, kappa^2. */
PetscErrorCode TnDataSetGMRF(TnData data, PetscInt n, PetscReal tau, PetscReal kappa2);
/* gauss: the precision matrix file (MatrixMarket). */
PetscErrorCode TnDataSetGaussPrecision(TnData data, const char path[]);
/* mixture: K components, mean scale, base standard deviation. */
PetscErrorCode TnDataSetMixture(TnData data, PetscInt K, PetscReal separation, PetscReal sd, PetscBool diagonal);
PetscErrorCode TnDataDestroy(TnData *data);

/* Class labels (docs/predict.md). With C classes the network's last C
   nodes, D = N - C .. N - 1, are label nodes: a file of D columns is read
   and node D + c of a sample holds 1 when its label is c, else 0 (the
   one-hot code, built here; the caller clamps those nodes). Labels come
   from TnDataSetLabels (-data_labels FILE: one integer per row of a text
   or CSV file, or the integer dataset -data_labels_dataset, default
   /label, of an .h5 file; tenor/io.h TnReadLabels). C is TnDataSetClasses
   (-data_classes; a model's), else 1 + the largest label. At load: the
   label count must equal the sample count, every label be < C and, unless
   C was set with fromModel, every class have a training sample. Without
   labels but with C > 0 the label columns are zero (tenor predict sets
   them). TnDataGetClasses (collective) reads the labels if needed and
   returns C (0: no labels). Label nodes are neither dequantised nor
   standardised. */
PetscErrorCode TnDataSetLabels(TnData data, const char path[], const char dataset[]);
PetscErrorCode TnDataSetClasses(TnData data, PetscInt C, PetscBool fromModel);
PetscErrorCode TnDataGetClasses(TnData data, PetscInt *C);
/* After TnDataLoad: the labels of all S samples (borrowed; NULL without
   labels) and the share of each class among the training part's labels
   (prior[C]; an error without labels). */
PetscErrorCode TnDataGetLabels(TnData data, const PetscInt **labels);
PetscErrorCode TnDataGetClassPriors(TnData data, PetscReal prior[]);
/* A per-class model (docs/predict.md): with labels, keep only the samples
   of class c (-data_class c; -1: all) and add no label nodes, so the data
   are those of p(x | c). Get: c (-1: none), the labels' number of classes
   C and the share of class c among all labels (collective: reads the
   labels if needed). */
PetscErrorCode TnDataSetClassSelect(TnData data, PetscInt c);
PetscErrorCode TnDataGetClassSelect(TnData data, PetscInt *c, PetscInt *C, PetscReal *prior);
/* The clamped nodes (docs/conditional.md), before TnDataLoad: mask of the
   default layout of N, 1 for a clamped node. Standardisation leaves
   clamped nodes as given (mean 0, sd 1 in the statistics) and the
   log-Jacobian counts the free nodes only: log p_x(t | x) = log p_z(z_t | x)
   - sum_{i in F} log sd_i. Copied; NULL clears. */
PetscErrorCode TnDataSetClampMask(TnData data, Vec mask);
/* mixture after TnDataLoad: K, weights w[K], means mu[k N + i] and standard
   deviations sigma[k N + i] (all N nodes, replicated; owned by data). */
PetscErrorCode TnDataGetMixture(TnData data, PetscInt *K, const PetscReal **w, const PetscReal **mu, const PetscReal **sigma);
/* The exact mean of the generating distribution (0 for normal, gmrf2d,
   gauss; sum_k w_k mu_k for mixture) in a Vec of the default layout;
   *known = PETSC_FALSE for files. Before standardisation. */
PetscErrorCode TnDataGetExactMean(TnData data, Vec mean, PetscBool *known);
