/* Sample-parallel generation. Sample s is produced whole (N values, natural
   order) by one rank with a serial code path, so it is bitwise the same for
   any rank count; then an all-to-all moves the samples to the node-major
   layout x[(i - rstart) * S + s]. The work goes in rounds: in round r, rank q
   makes samples r P C + q C + c, c < C, with C chosen so one round holds at
   most about 2^22 values per rank.
   Memory: a rank that makes samples holds the C samples of a round (C N
   values, written by the generator in place), a rank that makes none holds
   nothing; the exchange sends from that buffer and receives straight into
   x through MPI datatypes (no packed copy on either side), so generating
   adds 8 C N bytes on at most min(S, P) ranks. */
#include "dataimpl.h"

typedef struct {
  PetscMPIInt   size, rank;
  PetscInt     *ranges; /* [size + 1] node ranges of the default split */
  PetscInt      C, rounds;
  PetscReal    *buf; /* this rank's samples of a round: [c][N], natural order */
  int          *ones, *zeros;
  MPI_Datatype *stype, *rtype;
} Round;

static PetscInt Count(PetscInt S, PetscInt first, PetscInt C)
{
  return PetscMax(0, PetscMin(C, S - first));
}

static PetscErrorCode RoundSetUp(TnData data, Round *r)
{
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(data->comm, &r->size));
  PetscCallMPI(MPI_Comm_rank(data->comm, &r->rank));
  PetscCall(PetscMalloc1(r->size + 1, &r->ranges));
  r->ranges[0] = 0;
  PetscCallMPI(MPI_Allgather(&data->rend, 1, MPIU_INT, r->ranges + 1, 1, MPIU_INT, data->comm));
  r->C      = PetscMax(1, PetscMin((data->S + r->size - 1) / r->size, ((PetscInt)1 << 22) / PetscMax(data->N, 1)));
  r->rounds = (data->S + r->size * r->C - 1) / (r->size * r->C);
  /* rank q makes samples in round 0 iff q C < S, and then C of them at most */
  PetscCall(PetscMalloc1((Count(data->S, r->rank * r->C, r->C) > 0 ? r->C * data->N : 0) + 1, &r->buf));
  PetscCall(PetscMalloc4(r->size, &r->ones, r->size, &r->zeros, r->size, &r->stype, r->size, &r->rtype));
  for (PetscMPIInt q = 0; q < r->size; q++) r->ones[q] = 1, r->zeros[q] = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode RoundDestroy(Round *r)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(r->ranges));
  PetscCall(PetscFree(r->buf));
  PetscCall(PetscFree4(r->ones, r->zeros, r->stype, r->rtype));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A datatype that starts `offset` values past the buffer's start (64-bit
   byte offsets, so the buffer may exceed 2^31 bytes). */
static PetscErrorCode Shifted(MPI_Datatype t, size_t offset, MPI_Datatype *out)
{
  MPI_Aint disp = (MPI_Aint)(offset * sizeof(PetscScalar));
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Type_create_hindexed_block(1, 1, &disp, t, out));
  PetscCallMPI(MPI_Type_commit(out));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* This rank's samples of round `round` into buf, then the exchange: to rank
   q, nodes ranges[q] .. ranges[q+1]-1 of each of them (sample by sample);
   from rank q, its cq samples' values of this rank's nodes, each landing at
   x[(i - rstart) * S + s]. */
static PetscErrorCode MakeRound(TnData data, Round *r, PetscInt round)
{
  PetscInt base = round * r->size * r->C, first = base + r->rank * r->C;
  PetscInt mine = Count(data->S, first, r->C), nloc = data->rend - data->rstart;
  PetscFunctionBeginUser;
  for (PetscInt c = 0; c < mine; c++) {
    PetscReal lp;
    PetscCall(data->gen.sample(data, first + c, r->buf + (size_t)c * data->N, &lp));
    data->logp[first + c] = lp;
  }
  for (PetscMPIInt q = 0; q < r->size; q++) {
    PetscInt     nq = r->ranges[q + 1] - r->ranges[q], cq = Count(data->S, base + q * r->C, r->C);
    MPI_Datatype t, col;
    PetscMPIInt  a, b, c;
    /* send: mine blocks of nq values, N apart */
    PetscCall(PetscMPIIntCast(mine, &a));
    PetscCall(PetscMPIIntCast(nq, &b));
    PetscCall(PetscMPIIntCast(data->N, &c));
    PetscCallMPI(MPI_Type_vector(a, b, c, MPIU_SCALAR, &t));
    PetscCall(Shifted(t, (size_t)r->ranges[q], &r->stype[q]));
    PetscCallMPI(MPI_Type_free(&t));
    /* receive: for each of the cq samples (8 bytes apart), nloc values S apart */
    PetscCall(PetscMPIIntCast(nloc, &a));
    PetscCall(PetscMPIIntCast(data->S, &c));
    PetscCallMPI(MPI_Type_vector(a, 1, c, MPIU_SCALAR, &col));
    PetscCall(PetscMPIIntCast(cq, &a));
    PetscCallMPI(MPI_Type_create_hvector(a, 1, (MPI_Aint)sizeof(PetscScalar), col, &t));
    PetscCall(Shifted(t, (size_t)(base + q * r->C), &r->rtype[q]));
    PetscCallMPI(MPI_Type_free(&t));
    PetscCallMPI(MPI_Type_free(&col));
  }
  PetscCallMPI(MPI_Alltoallw(r->buf, r->ones, r->zeros, r->stype, data->x, r->ones, r->zeros, r->rtype, data->comm));
  for (PetscMPIInt q = 0; q < r->size; q++) {
    PetscCallMPI(MPI_Type_free(&r->stype[q]));
    PetscCallMPI(MPI_Type_free(&r->rtype[q]));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataGenerate_Private(TnData data)
{
  Round      r;
  TnProgress prog;
  PetscFunctionBeginUser;
  PetscCheck(data->S >= 1, data->comm, PETSC_ERR_USER, "-data_samples must be >= 1 (got %" PetscInt_FMT ")", data->S);
  PetscCall(PetscMalloc1((size_t)(data->rend - data->rstart) * data->S + 1, &data->x));
  PetscCall(PetscCalloc1(data->S, &data->logp));
  PetscCall(RoundSetUp(data, &r));
  PetscCall(TnProgressStart(data->comm, &prog, "data: generating samples", data->S, 1.0, "samples"));
  for (PetscInt round = 0; round < r.rounds; round++) {
    PetscCall(MakeRound(data, &r, round));
    PetscCall(TnProgressUpdate(data->comm, &prog, PetscMin(data->S, (round + 1) * r.size * r.C)));
  }
  PetscCall(TnMemoryTrace(data->comm, "data: generated (buffers held)"));
  PetscCall(RoundDestroy(&r));
  /* each log-density was computed by exactly one rank: the sum is exact */
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, data->logp, (PetscMPIInt)data->S, MPIU_REAL, MPIU_SUM, data->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* normal: x_i = xi_i = N(0,1) from (seed, stream 11, s N + i);
   log p(x) = -x.x / 2 - (N/2) log 2 pi, H = (N/2) log(2 pi e). */
static PetscErrorCode SampleNormal(TnData data, PetscInt s, PetscReal x[], PetscReal *logp)
{
  PetscReal q = 0;
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < data->N; i++) {
    x[i] = TnRandNormal((uint64_t)data->seed, 11, (uint64_t)s * (uint64_t)data->N + (uint64_t)i);
    q += x[i] * x[i];
  }
  *logp = -0.5 * q - 0.5 * data->N * PetscLogReal(2 * PETSC_PI);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataSetUp_Normal(TnData data)
{
  PetscFunctionBeginUser;
  data->gen.sample = SampleNormal;
  data->H          = 0.5 * data->N * PetscLogReal(2 * PETSC_PI * M_E);
  data->Hknown     = PETSC_TRUE;
  PetscCall(TnDataGenerate_Private(data));
  PetscFunctionReturn(PETSC_SUCCESS);
}
