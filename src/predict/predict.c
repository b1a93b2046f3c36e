/* The generative classifier (docs/predict.md): log p(x | c) for every class
   by clamping the label nodes to each one-hot code in turn, all classes of
   a sample in one batch, and the posterior by Bayes' rule. */
#include <tenor/predict.h>
#include <math.h>

PetscErrorCode TnClassPosterior(PetscInt C, const PetscReal logprior[], const PetscReal loglik[], PetscReal post[], PetscReal *logpx)
{
  PetscReal m = -PETSC_INFINITY, sum = 0, lz;
  PetscFunctionBeginUser;
  for (PetscInt c = 0; c < C; c++) {
    PetscReal l = logprior[c] + loglik[c];
    PetscCheck(!PetscIsNanReal(l) && l < PETSC_INFINITY, PETSC_COMM_SELF, PETSC_ERR_FP, "log pi_%" PetscInt_FMT " + log p(x | %" PetscInt_FMT ") = %g: expected a finite number or -inf", c, c, (double)l);
    m = PetscMax(m, l);
  }
  PetscCheck(m > -PETSC_INFINITY, PETSC_COMM_SELF, PETSC_ERR_FP, "every class gives the sample density 0 (log p(x | c) = -inf for all %" PetscInt_FMT " classes): no posterior", C);
  for (PetscInt c = 0; c < C; c++) sum += (post[c] = PetscExpReal(logprior[c] + loglik[c] - m));
  lz = m + PetscLogReal(sum);
  for (PetscInt c = 0; c < C; c++) post[c] /= sum; /* not exp(l - lz): m + log(sum) would round at m's scale */
  if (logpx) *logpx = lz;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnClassLogLikelihood(TnDyn dyn, TnData data, PetscInt C, PetscReal loglik[])
{
  Vec                xnat, x, xm;
  TnDynResult        res;
  TnProgress         prog;
  TnNet              net;
  MPI_Comm           comm;
  PetscInt           B, K, m, S, N, n, rstart;
  PetscInt64         nnz;
  const PetscScalar *pm;
  PetscScalar       *px;
  PetscFunctionBeginUser;
  PetscCall(TnDynCreateNaturalState(dyn, &xnat));
  PetscCall(PetscObjectGetComm((PetscObject)xnat, &comm));
  PetscCall(TnDynGetParams(dyn, NULL, NULL, NULL, NULL, &K, &B));
  PetscCall(TnDynGetNet(dyn, &net));
  PetscCall(TnNetGetSizes(net, &N, &nnz));
  if (!(C >= 2 && C < N && B % C == 0)) PetscCall(VecDestroy(&xnat));
  PetscCheck(C >= 2 && C < N, comm, PETSC_ERR_ARG_OUTOFRANGE, "%" PetscInt_FMT " classes with N = %" PetscInt_FMT " nodes: expected 2 <= C < N", C, N);
  PetscCheck(B % C == 0, comm, PETSC_ERR_ARG_INCOMP, "the batch B = %" PetscInt_FMT " must be a multiple of the %" PetscInt_FMT " classes (every class of a sample in one batch)", B, C);
  m = B / C;
  PetscCall(TnDataGetNumSamples(data, &S));
  PetscCall(TnDynCreateState(dyn, &x));
  PetscCall(TnDynResultCreate(dyn, &res));
  PetscCall(VecGetLocalSize(xnat, &n));
  PetscCall(VecGetOwnershipRange(xnat, &rstart, NULL));
  n /= B;
  rstart /= B;
  PetscCall(VecCreate(comm, &xm)); /* m samples, the data's layout */
  PetscCall(VecSetSizes(xm, n * m, PETSC_DECIDE));
  PetscCall(VecSetBlockSize(xm, m));
  PetscCall(VecSetType(xm, VECMPI));
  PetscCall(TnProgressStart(comm, &prog, "samples", S, (double)nnz * K * C, "synaptic updates"));
  for (PetscInt s0 = 0; s0 < S; s0 += m) {
    PetscInt valid;
    PetscCall(TnDataGetBatch(data, s0, xm, &valid));
    PetscCall(VecGetArrayRead(xm, &pm));
    PetscCall(VecGetArrayWrite(xnat, &px));
    for (PetscInt i = 0; i < n; i++) {
      PetscInt lab = rstart + i - (N - C); /* >= 0: the label node of class lab */
      for (PetscInt j = 0; j < m; j++)
        for (PetscInt c = 0; c < C; c++) px[(size_t)i * B + j * C + c] = lab >= 0 ? (lab == c ? 1.0 : 0.0) : pm[(size_t)i * m + j];
    }
    PetscCall(VecRestoreArrayWrite(xnat, &px));
    PetscCall(VecRestoreArrayRead(xm, &pm));
    res.nvalid = valid * C;
    res.first  = s0 * C;
    PetscCall(TnDynNaturalToState(dyn, xnat, x, SCATTER_FORWARD));
    PetscCall(TnDynEvaluate(dyn, x, &res));
    for (PetscInt q = 0; q < valid * C; q++) loglik[(size_t)s0 * C + q] = res.logphi[q];
    PetscCall(TnProgressUpdate(comm, &prog, s0 + valid));
  }
  PetscCall(VecDestroy(&xm));
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&xnat));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnLogDensityAll(TnDyn dyn, TnData data, PetscReal logphi[])
{
  Vec         xnat, x;
  TnDynResult res;
  TnProgress  prog;
  TnNet       net;
  MPI_Comm    comm;
  PetscInt    B, K, S;
  PetscInt64  nnz;
  PetscFunctionBeginUser;
  PetscCall(TnDynCreateNaturalState(dyn, &xnat));
  PetscCall(PetscObjectGetComm((PetscObject)xnat, &comm));
  PetscCall(TnDynCreateState(dyn, &x));
  PetscCall(TnDynResultCreate(dyn, &res));
  PetscCall(TnDynGetParams(dyn, NULL, NULL, NULL, NULL, &K, &B));
  PetscCall(TnDynGetNet(dyn, &net));
  PetscCall(TnNetGetSizes(net, NULL, &nnz));
  PetscCall(TnDataGetNumSamples(data, &S));
  PetscCall(TnProgressStart(comm, &prog, "samples", S, (double)nnz * K, "synaptic updates"));
  for (PetscInt s0 = 0; s0 < S; s0 += B) {
    PetscInt valid;
    PetscCall(TnDataGetBatch(data, s0, xnat, &valid));
    res.nvalid = valid;
    res.first  = s0;
    PetscCall(TnDynNaturalToState(dyn, xnat, x, SCATTER_FORWARD));
    PetscCall(TnDynEvaluate(dyn, x, &res));
    for (PetscInt b = 0; b < valid; b++) logphi[s0 + b] = res.logphi[b];
    PetscCall(TnProgressUpdate(comm, &prog, s0 + valid));
  }
  PetscCall(TnDynResultDestroy(&res));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&xnat));
  PetscFunctionReturn(PETSC_SUCCESS);
}
