/* tenor/recall.h - Hopfield associative memory on the network's pattern P
   (docs/recall.md). p patterns xi^mu in {-1, +1}^N are stored with the
   Hebbian couplings W_ij = (1/k_i) sum_mu xi_i^mu xi_j^mu on P (W_ii = 0,
   k_i = the off-diagonal in-degree of node i), and the zero-temperature
   dynamics s_i <- sign(h_i), h_i = sum_j W_ij s_j (a tie h_i = 0 keeps s_i)
   is run from each stored pattern with a fraction of its bits flipped.
   Asynchronous updates go colour by colour (the colored scheme's colouring
   of P + P^T; for a full net node by node in natural order), synchronous
   ones update every node from the same state. Everything depends only on
   the natural node numbers, never on the rank count or the partition. */
#pragma once
#include <tenor/net.h>

typedef struct _p_TnRecall *TnRecall;

typedef enum { TN_RECALL_ASYNC,
               TN_RECALL_SYNC } TnRecallUpdate;
/* How h_i is computed: explicit (W on P, any net), overlap (full nets only:
   h_i = (1/(N-1)) sum_mu xi_i^mu (M_mu - xi_i^mu s_i), M_mu = sum_j xi_j^mu
   s_j, O(p) per flip, without W), auto (overlap for full, else explicit). */
typedef enum { TN_RECALL_FIELD_AUTO,
               TN_RECALL_FIELD_EXPLICIT,
               TN_RECALL_FIELD_OVERLAP } TnRecallField;
extern const char *const TnRecallUpdates[];
extern const char *const TnRecallFields[];

/* The outcome of the dynamics started from one stored pattern. */
typedef struct {
  PetscInt   pattern;   /* mu */
  PetscReal  overlap;   /* m = (1/N) sum_i xi_i^mu s_i at the end */
  PetscInt   sweeps;    /* sweeps that flipped at least one node */
  PetscBool  converged; /* a fixed point was reached within the sweep limit */
  PetscInt64 flips;     /* single-node flips in all sweeps */
  PetscInt   noisy;     /* bits flipped in the start state */
} TnRecallOutcome;

PetscErrorCode TnRecallCreate(TnNet net, TnRecall *r);
/* p stored patterns (>= 1); with a pattern file, p = 0 takes every pattern
   in the file. */
PetscErrorCode TnRecallSetPatterns(TnRecall r, PetscInt p);
/* Text file, one pattern per line: N values +1 or -1 separated by blanks or
   commas; '#' starts a comment. Empty: the generator (seed below). */
PetscErrorCode TnRecallSetPatternFile(TnRecall r, const char path[]);
/* Generator xi_i^mu = sign bit of TnRandU64(seed, mu, i); the noise uses its
   own streams of the same seed. */
PetscErrorCode TnRecallSetSeed(TnRecall r, PetscInt seed);
/* Fraction f in [0, 1] of bits flipped in the start state: exactly
   round(f N) nodes, those with the smallest hashes of (seed, mu, i). */
PetscErrorCode TnRecallSetNoise(TnRecall r, PetscReal f);
PetscErrorCode TnRecallSetUpdate(TnRecall r, TnRecallUpdate u);
PetscErrorCode TnRecallSetField(TnRecall r, TnRecallField f);
PetscErrorCode TnRecallSetMaxSweeps(TnRecall r, PetscInt n);
/* Start from the first `n` stored patterns only (0: all p). */
PetscErrorCode TnRecallSetTests(TnRecall r, PetscInt n);
/* The setting of TnRecallSetTests (0: all p), without setting up. */
PetscErrorCode TnRecallGetTests(TnRecall r, PetscInt *n);
/* m >= threshold counts as retrieved (default 0.9). */
PetscErrorCode TnRecallSetThreshold(TnRecall r, PetscReal t);
/* Options -recall_*: see -help. */
PetscErrorCode TnRecallSetFromOptions(TnRecall r);
/* Sets up the net (not for the overlap form), makes or reads the patterns,
   writes W's values on P and takes the colouring. Collective. */
PetscErrorCode TnRecallSetUp(TnRecall r);
/* Runs the dynamics from stored pattern mu (0 <= mu < p). Collective. */
PetscErrorCode TnRecallRunPattern(TnRecall r, PetscInt mu, TnRecallOutcome *out);
/* The state the last run ended in, natural order, gathered on every rank
   (s has N entries). Collective. For tests and small N. */
PetscErrorCode TnRecallGetState(TnRecall r, PetscInt N, signed char s[]);
/* N, p, the tests to run, the mean off-diagonal in-degree k (alpha = p/k),
   the number of colours used by the asynchronous update, the field used. */
PetscErrorCode TnRecallGetInfo(TnRecall r, PetscInt *N, PetscInt *p, PetscInt *tests, PetscReal *k, PetscInt *ncolors, TnRecallField *field);
PetscErrorCode TnRecallGetSettings(TnRecall r, PetscReal *noise, PetscReal *threshold, PetscInt *max_sweeps, PetscInt *seed, TnRecallUpdate *update, const char **file);
PetscErrorCode TnRecallDestroy(TnRecall *r);
