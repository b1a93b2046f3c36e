/* A minimal program on libtenor's public API (include/tenor/): build a
   network on a periodic lattice, a dynamics on it, and evaluate
   log Phi(x) = log p_base(a_K) + sum_k sum_i (log-det term of node i at step k)
   (docs/model.md section 4) for a few standard-normal samples x, in batches
   of B. Prints one line per sample: its number and log Phi to 17 digits.

   The defaults are a 8 x 8 lattice (N = 64), the sync scheme with K = 10
   steps of h = 0.1, B = 4 and 6 samples (seed 7); every -net_, -dyn_,
   -logdet_, -base_ and -data_ option of `tenor logdensity` changes them, and
   `tenor logdensity` with the same options gives the same log Phi
   (its logphi.csv), whatever the rank count.

     mpirun -n 2 ./logphi [-net_n 16 -dyn_scheme colored ...]

   Build: see examples/README.md (CMake find_package(tenor) or pkg-config). */
#include <tenor/data.h>
#include <tenor/dyn.h>
#include <tenor/net.h>
#include <tenor/sys.h>
#include <tenor/version.h>

static PetscErrorCode Run(MPI_Comm comm)
{
  TnNet       net;
  TnDyn       dyn;
  TnData      data;
  Vec         xnat, x;
  TnDynResult res;
  PetscInt    N, B, S;
  PetscInt64  nnz;

  PetscFunctionBeginUser;
  /* the network: W, b, gamma on a lattice, partitioned over the ranks */
  PetscCall(TnNetCreate(comm, &net));
  PetscCall(TnNetSetType(net, "lattice2d"));
  PetscCall(TnNetSetSize(net, 8));
  PetscCall(TnNetSetFromOptions(net));
  PetscCall(TnNetSetUp(net));
  PetscCall(TnNetGetSizes(net, &N, &nnz));

  /* the time evolution a_{k+1} = a_k + h f(a_k), K steps, B samples at once */
  PetscCall(TnDynCreate(net, &dyn));
  PetscCall(TnDynSetScheme(dyn, TN_SCHEME_SYNC));
  PetscCall(TnDynSetStepSize(dyn, 0.1));
  PetscCall(TnDynSetSteps(dyn, 10));
  PetscCall(TnDynSetBatchSize(dyn, 4));
  PetscCall(TnDynSetFromOptions(dyn));
  PetscCall(TnDynSetUp(dyn)); /* refuses a non-invertible evolution */
  PetscCall(TnDynGetParams(dyn, NULL, NULL, NULL, NULL, NULL, &B));

  /* the samples x: S draws of N(0, I), natural node order */
  PetscCall(TnDataCreate(comm, &data));
  PetscCall(TnDataSetType(data, TNDATA_NORMAL));
  PetscCall(TnDataSetSamples(data, 6, 7));
  PetscCall(TnDataSetFromOptions(data));
  PetscCall(TnDataLoad(data, N));
  PetscCall(TnDataGetNumSamples(data, &S));
  PetscCall(PetscPrintf(comm, "tenor %s: N = %" PetscInt_FMT ", nnz = %" PetscInt64_FMT ", %" PetscInt_FMT " samples in batches of %" PetscInt_FMT "\n", TENOR_VERSION, N, nnz, S, B));

  PetscCall(TnDynCreateNaturalState(dyn, &xnat));
  PetscCall(TnDynCreateState(dyn, &x));
  PetscCall(TnDynResultCreate(dyn, &res));
  for (PetscInt s0 = 0; s0 < S; s0 += B) {
    PetscInt valid;
    PetscCall(TnDataGetBatch(data, s0, xnat, &valid)); /* the last batch may be padded */
    res.nvalid = valid;
    res.first  = s0;
    PetscCall(TnDynNaturalToState(dyn, xnat, x, SCATTER_FORWARD)); /* to the partitioned order */
    PetscCall(TnDynEvaluate(dyn, x, &res));                        /* x becomes a_K */
    for (PetscInt b = 0; b < valid; b++) PetscCall(PetscPrintf(comm, "sample %" PetscInt_FMT " log_phi %.17g\n", s0 + b, (double)res.logphi[b]));
  }
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&xnat));
  PetscCall(TnDataDestroy(&data));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  /* TnInitialize: PetscInitialize, tenor's error handler and log events */
  PetscErrorCode ierr = TnInitialize(&argc, &argv, "logphi: log Phi(x) of a few samples (examples/logphi.c)\n");
  if (ierr) return 1;
  return TnFinalize(Run(PETSC_COMM_WORLD));
}
