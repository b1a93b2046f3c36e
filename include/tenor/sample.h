/* tenor/sample.h - generation (docs/sampling.md): draw z ~ p_base and run
   the evolution backwards, a_K = z -> a_{K-1} -> ... -> a_0 = x, so that x is
   distributed with density Phi. The draw is counter-based (seed, sample
   number, natural node number), so the samples are the same for any rank
   count. Each step is inverted by the scheme's own method:
     colored: substeps in reverse colour order; node i of colour c solves the
              scalar monotone equation a_i + h f_i(a) = a_i' (others fixed) by
              Newton with a bisection safeguard, to |residual| <= 4 eps scale;
     sync:    the fixed point a_k = a_{k+1} - h f(a_k), iterated in the split
              form a_k = (a_{k+1} - h N(a_k)) / (1 - h gamma), N = f + gamma a,
              a contraction with factor <= h Lip(N) / (1 - h max gamma) < 1
              under the sync invertibility check; stops when
              |change|_inf <= tol max(|a_k|_inf, |a_{k+1}|_inf) per sample. */
#pragma once
#include <tenor/dyn.h>

typedef struct _p_TnSampler *TnSampler;

/* Iteration statistics since creation (TnDynInverseStats: sync fixed-point
   iterations per step, colored Newton/bisection iterations per node solve,
   continuous accepted and rejected steps). */
typedef TnDynInverseStats TnSamplerStats;

/* The sampler borrows dyn (which must outlive it). Options: -sample_seed,
   -sample_tol, -sample_maxit. */
PetscErrorCode TnSamplerCreate(TnDyn dyn, TnSampler *s);
PetscErrorCode TnSamplerSetSeed(TnSampler s, PetscInt seed);
/* sync: relative tolerance of the fixed-point iteration (default 1e-13). */
PetscErrorCode TnSamplerSetTolerance(TnSampler s, PetscReal tol);
/* sync: most fixed-point iterations per step before an error (default 1000). */
PetscErrorCode TnSamplerSetMaxIterations(TnSampler s, PetscInt maxit);
/* Clamped nodes (docs/conditional.md): a file of N values (natural order)
   whose clamped entries x are held fixed, so the samples are draws of the
   free values t from Phi(t | x) (-sample_given). Needed when nodes are
   clamped, refused otherwise (at the first draw). */
PetscErrorCode TnSamplerSetGiven(TnSampler s, const char path[]);
PetscErrorCode TnSamplerSetFromOptions(TnSampler s);

/* z (a state batch of dyn, partitioned layout, block size B): node i of
   slot b is the draw of sample number first + b from p_base (normal: Box-
   Muller; logistic: log(u / (1 - u))), keyed by (seed, first + b, natural
   number of node i); a clamped node's entries are its given value.
   Local (no communication) but for the first call with clamped nodes,
   which reads the given values (collective). */
PetscErrorCode TnSamplerDrawBase(TnSampler s, PetscInt first, Vec z);
/* In place: on entry x = a_K, on return x = a_0, the inverse of the K steps
   of TnDynEvaluate. Collective. */
PetscErrorCode TnSamplerInvert(TnSampler s, Vec x);
/* Collective (the colored counts are summed over the ranks). */
PetscErrorCode TnSamplerGetStats(TnSampler s, TnSamplerStats *stats);
PetscErrorCode TnSamplerDestroy(TnSampler *s);

/* Samples to a 2-D HDF5 dataset (samples x N, double) with parallel HDF5:
   every rank writes its natural-order column block of each batch in one
   collective write. The file is written as path.tmp and, once every rank
   has closed it, fsync'ed and renamed by rank 0 (TnCommitBegin/End,
   tenor/io.h; a symbolic link at path is refused). Collective. */
typedef struct _p_TnSampleH5 *TnSampleH5;
PetscErrorCode                TnSampleH5Create(MPI_Comm comm, const char path[], const char dataset[], PetscInt S, PetscInt N, TnSampleH5 *h);
/* Rows s0 .. s0+valid-1 from xnat (natural order, default split, block size
   B >= valid; slot b is sample s0 + b). */
PetscErrorCode TnSampleH5Write(TnSampleH5 h, Vec xnat, PetscInt s0, PetscInt valid);
PetscErrorCode TnSampleH5Close(TnSampleH5 *h);
