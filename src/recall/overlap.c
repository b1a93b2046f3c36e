/* The overlap form of the field, for full nets: with W_ij = (1/(N-1))
   sum_mu xi_i^mu xi_j^mu (j != i),
     h_i = (1/(N-1)) sum_mu xi_i^mu (M_mu - xi_i^mu s_i),  M_mu = sum_j xi_j^mu s_j,
   so (N-1) h_i = sum_mu xi_i^mu M_mu - p s_i is an integer, and a flip of
   s_i changes M by 2 s_i' xi_i: O(p) per node instead of O(N), and no W.
   Nodes are split over the ranks in natural order (PETSc's default split);
   the asynchronous sweep goes node by node in natural order, each rank in
   turn updating its block and then broadcasting M. All arithmetic is on
   integers, so the trajectory is exactly that of the explicit field with
   colour = natural number (test_recall.c checks it). */
#include "recallimpl.h"

PetscErrorCode TnRecallResetOverlap(TnRecall r)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree3(r->xl, r->M, r->dM));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRecallSetUpOverlap(TnRecall r)
{
  PetscInt lo, hi, nloc = PETSC_DECIDE, N = r->N;
  PetscFunctionBeginUser;
  PetscCall(PetscSplitOwnership(r->comm, &nloc, &N));
  PetscCallMPI(MPI_Scan(&nloc, &hi, 1, MPIU_INT, MPI_SUM, r->comm));
  lo   = hi - nloc;
  r->m = nloc;
  PetscCall(PetscMalloc3(r->m + 1, &r->nat, r->m + 1, &r->key, r->m + 1, &r->s));
  for (PetscInt i = 0; i < r->m; i++) r->nat[i] = lo + i;
  PetscCall(PetscMalloc3((size_t)r->m * r->p + 1, &r->xl, r->p + 1, &r->M, r->p + 1, &r->dM));
  for (PetscInt i = 0; i < r->m; i++)
    for (PetscInt mu = 0; mu < r->p; mu++) r->xl[(size_t)i * r->p + mu] = (signed char)TnRecallXi(r, lo + i, mu);
  r->kmean   = (PetscReal)(r->N - 1);
  r->ncolors = r->update == TN_RECALL_ASYNC ? r->N : 1; /* node by node, or all at once */
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* (N-1) h_i, exactly. */
static inline PetscInt64 Field(const signed char *xi, const int *M, PetscInt p, int s)
{
  PetscInt64 h = 0;
  for (PetscInt mu = 0; mu < p; mu++) h += xi[mu] * M[mu];
  return h - (PetscInt64)p * s;
}

/* M = sum over all nodes of xi_j s_j. */
static PetscErrorCode Overlaps(TnRecall r)
{
  PetscFunctionBeginUser;
  for (PetscInt mu = 0; mu < r->p; mu++) r->dM[mu] = 0;
  for (PetscInt i = 0; i < r->m; i++)
    for (PetscInt mu = 0; mu < r->p; mu++) r->dM[mu] += r->xl[(size_t)i * r->p + mu] * r->s[i];
  PetscCallMPI(MPI_Allreduce(r->dM, r->M, (PetscMPIInt)r->p, MPI_INT, MPI_SUM, r->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnRecallRunOverlap(TnRecall r, PetscInt mu0, TnRecallOutcome *out)
{
  PetscMPIInt    rank, size;
  const PetscInt p = r->p;
  PetscFunctionBeginUser;
  (void)mu0;
  PetscCheck(p < PETSC_MPI_INT_MAX, r->comm, PETSC_ERR_SUP, "too many patterns for one message");
  PetscCallMPI(MPI_Comm_rank(r->comm, &rank));
  PetscCallMPI(MPI_Comm_size(r->comm, &size));
  PetscCall(Overlaps(r));
  for (PetscInt sweep = 0; sweep < r->maxsweeps; sweep++) {
    PetscInt64 loc = 0, flips;
    if (r->update == TN_RECALL_ASYNC) {
      for (PetscMPIInt q = 0; q < size; q++) {
        if (q == rank)
          for (PetscInt i = 0; i < r->m; i++) {
            const signed char *xi = r->xl + (size_t)i * p;
            const PetscInt64   h  = Field(xi, r->M, p, r->s[i]);
            const int          v  = h > 0 ? 1 : h < 0 ? -1
                                                      : r->s[i];
            if (v != r->s[i]) {
              for (PetscInt mu = 0; mu < p; mu++) r->M[mu] += 2 * v * xi[mu];
              r->s[i] = (signed char)v;
              loc++;
            }
          }
        if (size > 1) PetscCallMPI(MPI_Bcast(r->M, (PetscMPIInt)p, MPI_INT, q, r->comm));
      }
    } else {
      for (PetscInt mu = 0; mu < p; mu++) r->dM[mu] = 0;
      for (PetscInt i = 0; i < r->m; i++) { /* every h_i from the same M */
        const signed char *xi = r->xl + (size_t)i * p;
        const PetscInt64   h  = Field(xi, r->M, p, r->s[i]);
        const int          v  = h > 0 ? 1 : h < 0 ? -1
                                                  : r->s[i];
        if (v != r->s[i]) {
          for (PetscInt mu = 0; mu < p; mu++) r->dM[mu] += 2 * v * xi[mu];
          r->key[i] = 1; /* mark: flip after the sweep */
          loc++;
        } else
          r->key[i] = 0;
      }
      for (PetscInt i = 0; i < r->m; i++)
        if (r->key[i]) r->s[i] = (signed char)-r->s[i];
      {
        int *tmp = r->dM;
        PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, tmp, (PetscMPIInt)p, MPI_INT, MPI_SUM, r->comm));
        for (PetscInt mu = 0; mu < p; mu++) r->M[mu] += tmp[mu];
      }
    }
    PetscCallMPI(MPI_Allreduce(&loc, &flips, 1, MPIU_INT64, MPI_SUM, r->comm));
    if (!flips) {
      out->converged = PETSC_TRUE;
      break;
    }
    out->sweeps++;
    out->flips += flips;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
