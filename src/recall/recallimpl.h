/* Private: the Hopfield memory object (src/recall). The patterns are kept
   for every node on every rank as bits (bit mu of node n's nw words: 1 for
   xi_n^mu = +1), so W's values and the start states need no communication
   and depend only on natural node numbers. */
#pragma once
#include <tenor/recall.h>
#include <stdint.h>

struct _p_TnRecall {
  MPI_Comm       comm;
  TnNet          net;
  PetscInt       p, seed, maxsweeps, tests;
  PetscReal      noise, threshold;
  TnRecallUpdate update;
  TnRecallField  field, used; /* asked for, and used after SetUp */
  char           file[PETSC_MAX_PATH_LEN];
  PetscBool      setup;

  PetscInt  N, nw; /* nodes, 64-bit words per node */
  uint64_t *xi;    /* N * nw pattern bits, natural order */
  PetscReal kmean; /* mean off-diagonal in-degree */
  PetscInt  m;     /* local nodes */
  PetscInt *nat;   /* natural number of each local node (copy) */
  PetscInt  ncolors;
  uint64_t *key; /* noise keys of the local nodes (work) */
  /* the state of the last run (local nodes, +1/-1) */
  signed char *s;

  /* explicit field: W on P, state in x (partitioned order) and its halo G */
  Vec          x, G;
  VecScatter   halo;
  PetscInt    *krow;        /* off-diagonal in-degree of each local row */
  PetscInt    *cptr, *crow; /* local rows grouped by colour */
  PetscScalar *hnew;        /* sync: the new states */

  /* overlap field (full nets): local patterns as int8, M_mu = sum_j xi_j^mu s_j */
  signed char *xl;
  int         *M, *dM;
};

/* patterns.c */
PetscErrorCode    TnRecallMakePatterns(TnRecall r);
PetscErrorCode    TnRecallStartState(TnRecall r, PetscInt mu, signed char s[], PetscInt *noisy);
static inline int TnRecallXi(const TnRecall r, PetscInt n, PetscInt mu)
{
  return (r->xi[(size_t)n * r->nw + mu / 64] >> (mu % 64)) & 1 ? 1 : -1;
}
/* explicit.c */
PetscErrorCode TnRecallSetUpExplicit(TnRecall r);
PetscErrorCode TnRecallRunExplicit(TnRecall r, PetscInt mu, TnRecallOutcome *out);
PetscErrorCode TnRecallResetExplicit(TnRecall r);
/* overlap.c */
PetscErrorCode TnRecallSetUpOverlap(TnRecall r);
PetscErrorCode TnRecallRunOverlap(TnRecall r, PetscInt mu, TnRecallOutcome *out);
PetscErrorCode TnRecallResetOverlap(TnRecall r);
