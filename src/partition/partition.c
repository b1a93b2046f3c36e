/* Domain decomposition: a graph partitioner assigns each node to a rank and
   the network is renumbered so that each rank owns a contiguous block of
   rows. Invariant: natural[i] is the generator/file number of local row i,
   and W_new = P W P^T, b_new = P b, gamma_new = P gamma for the permutation P
   so every result is the same up to round-off whatever the partition.
   The partition comes from the partitioner (-partition_type) or from a file
   (-partition_file: the part of every natural node, part = rank). */
#include "../net/netimpl.h"
#include <tenor/io.h>

/* -partition_file: newproc[i - rs] = the part of natural row i, rows [rs, re)
   of W's default split. A part is a rank, so the parts must be 0 .. size-1,
   each given a node. The reader refuses a wrong length and a negative or
   non-integer entry; here, with one collective message each: a part >= size
   (the file was made for more ranks), parts that leave a rank empty (made
   for fewer ranks, or a partition with an empty part). */
static PetscErrorCode ReadPartitionFile(TnNet net, PetscInt rs, PetscInt re, PetscInt **newproc)
{
  PetscMPIInt size, rank;
  PetscInt    lmax = -1, gmax, *count, *gcount, empty = -1;
  char        msg[PETSC_MAX_PATH_LEN + 256] = "";
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(net->comm, &size));
  PetscCallMPI(MPI_Comm_rank(net->comm, &rank));
  PetscCall(TnReadIntegers(net->comm, net->partfile, net->N, rs, re, newproc));
  for (PetscInt i = rs; i < re; i++) lmax = PetscMax(lmax, (*newproc)[i - rs]);
  PetscCall(MPIU_Allreduce(&lmax, &gmax, 1, MPIU_INT, MPI_MAX, net->comm));
  if (rank == 0 && gmax >= size) PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s has parts up to %" PetscInt_FMT " (a partition into %" PetscInt_FMT " parts) but tenor runs on %d rank(s): part numbers must be in [0, %d); run on %" PetscInt_FMT " ranks, or write a partition for %d: tenor partition -partition_sizes %d", net->partfile, gmax, gmax + 1, size, size, gmax + 1, size, size));
  PetscCall(TnErrorSync(net->comm, (PetscBool)(msg[0] != 0), msg));
  PetscCall(PetscCalloc2(size, &count, size, &gcount));
  for (PetscInt i = rs; i < re; i++) count[(*newproc)[i - rs]]++;
  PetscCall(MPIU_Allreduce(count, gcount, size, MPIU_INT, MPI_SUM, net->comm));
  for (PetscMPIInt r = size - 1; r >= 0; r--)
    if (!gcount[r]) empty = r;
  PetscCall(PetscFree2(count, gcount));
  if (rank == 0 && empty >= 0 && gmax + 1 < size)
    PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s has parts 0..%" PetscInt_FMT " (a partition into %" PetscInt_FMT " parts) but tenor runs on %d rank(s), which would leave rank %" PetscInt_FMT " without nodes; run on %" PetscInt_FMT " ranks, or write a partition for %d: tenor partition -partition_sizes %d", net->partfile, gmax, gmax + 1, size, empty, gmax + 1, size, size));
  else if (rank == 0 && empty >= 0)
    PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s gives no node to part %" PetscInt_FMT ": every rank needs at least one node; use a partition without empty parts", net->partfile, empty));
  PetscCall(TnErrorSync(net->comm, (PetscBool)(msg[0] != 0), msg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* isrows: for each new local row (in order), its natural global number. */
static PetscErrorCode ComputeNewRows(TnNet net, Mat W, IS *isrows)
{
  PetscMPIInt     size;
  PetscBool       none;
  PetscInt        rs, re;
  Mat             Wt, S, adj;
  MatPartitioning part;
  IS              isnewproc;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(net->comm, &size));
  PetscCall(PetscStrcmp(net->parttype, "none", &none));
  PetscCall(MatGetOwnershipRange(W, &rs, &re));
  if (net->partfile[0]) { /* a partition computed beforehand: part = rank */
    PetscInt *newproc;
    PetscCall(ReadPartitionFile(net, rs, re, &newproc));
    PetscCall(ISCreateGeneral(net->comm, re - rs, newproc, PETSC_OWN_POINTER, &isnewproc));
    PetscCall(ISBuildTwoSided(isnewproc, NULL, isrows));
    PetscCall(ISDestroy(&isnewproc));
    PetscCall(ISSort(*isrows));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (size == 1 || none) {
    PetscCall(ISCreateStride(net->comm, re - rs, rs, 1, isrows));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  /* the partitioners want a symmetric graph without self-loops: P + P^T */
  PetscCall(MatTranspose(W, MAT_INITIAL_MATRIX, &Wt));
  PetscCall(MatDuplicate(W, MAT_COPY_VALUES, &S));
  PetscCall(MatAXPY(S, 1.0, Wt, DIFFERENT_NONZERO_PATTERN));
  PetscCall(MatDestroy(&Wt));
  PetscCall(MatConvert(S, MATMPIADJ, MAT_INITIAL_MATRIX, &adj));
  PetscCall(MatDestroy(&S));
  PetscCall(MatPartitioningCreate(net->comm, &part));
  PetscCall(MatPartitioningSetAdjacency(part, adj));
  PetscCall(MatPartitioningSetType(part, net->parttype));
  PetscCall(MatPartitioningSetNParts(part, size));
  PetscCall(MatPartitioningSetFromOptions(part));
  PetscCall(MatPartitioningApply(part, &isnewproc));
  PetscCall(MatPartitioningDestroy(&part));
  PetscCall(MatDestroy(&adj));
  PetscCall(ISBuildTwoSided(isnewproc, NULL, isrows));
  PetscCall(ISDestroy(&isnewproc));
  PetscCall(ISSort(*isrows));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode PermuteVec(Vec v, IS isrows, Vec like, Vec *out)
{
  VecScatter sct;
  PetscFunctionBeginUser;
  PetscCall(VecDuplicate(like, out));
  PetscCall(VecScatterCreate(v, isrows, *out, NULL, &sct));
  PetscCall(VecScatterBegin(sct, v, *out, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(sct, v, *out, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterDestroy(&sct));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Edge cut, halo sizes and load balance, read off the MPIAIJ blocks: the
   off-process block Ao holds exactly the cut edges, its columns the halo. */
static PetscErrorCode ComputeInfo(TnNet net)
{
  Mat             Ad, Ao;
  const PetscInt *garray;
  PetscInt        nghost, m;
  MatInfo         iao, iad;
  PetscMPIInt     size;
  PetscReal       loc[4], mx[4], sum[4];
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(net->comm, &size));
  PetscCall(MatMPIAIJGetSeqAIJ(net->W, &Ad, &Ao, &garray));
  PetscCall(MatGetSize(Ao, NULL, &nghost));
  PetscCall(MatGetLocalSize(net->W, &m, NULL));
  PetscCall(MatGetInfo(Ao, MAT_LOCAL, &iao));
  PetscCall(MatGetInfo(Ad, MAT_LOCAL, &iad));
  loc[0] = (PetscReal)nghost;
  loc[1] = (PetscReal)m;
  loc[2] = iad.nz_used + iao.nz_used;
  loc[3] = iao.nz_used;
  PetscCall(MPIU_Allreduce(loc, mx, 4, MPIU_REAL, MPIU_MAX, net->comm));
  PetscCall(MPIU_Allreduce(loc, sum, 4, MPIU_REAL, MPIU_SUM, net->comm));
  net->pinfo.halo_max  = (PetscInt)mx[0];
  net->pinfo.halo_mean = sum[0] / size;
  loc[0]               = -loc[0];
  PetscCall(MPIU_Allreduce(loc, mx, 1, MPIU_REAL, MPIU_MAX, net->comm));
  net->pinfo.halo_min       = (PetscInt)(-mx[0]);
  net->pinfo.edge_cut       = (PetscInt)sum[3];
  net->pinfo.imbalance_rows = sum[1] > 0 ? mx[1] / (sum[1] / size) : 1.0;
  net->pinfo.imbalance_nnz  = sum[2] > 0 ? mx[2] / (sum[2] / size) : 1.0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnPartitionNet(TnNet net, Mat W, Vec b, Vec gamma)
{
  IS              isrows;
  const PetscInt *idx;
  PetscInt        m;
  Vec             like;
  PetscBool       identity;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_Partition, 0, 0, 0, 0));
  PetscCall(ComputeNewRows(net, W, &isrows));
  PetscCall(PetscObjectTypeCompare((PetscObject)isrows, ISSTRIDE, &identity));
  if (identity) { /* no renumbering: keep W, b, gamma (no copy) */
    PetscCall(PetscObjectReference((PetscObject)W));
    PetscCall(PetscObjectReference((PetscObject)b));
    PetscCall(PetscObjectReference((PetscObject)gamma));
    net->W     = W;
    net->b     = b;
    net->gamma = gamma;
  } else {
    PetscCall(MatCreateSubMatrix(W, isrows, isrows, MAT_INITIAL_MATRIX, &net->W));
    PetscCall(MatCreateVecs(net->W, &like, NULL));
    PetscCall(PermuteVec(b, isrows, like, &net->b));
    PetscCall(PermuteVec(gamma, isrows, like, &net->gamma));
    PetscCall(VecDestroy(&like));
  }
  PetscCall(ISGetLocalSize(isrows, &m));
  PetscCall(ISGetIndices(isrows, &idx));
  PetscCall(PetscMalloc1(m + 1, &net->natural));
  PetscCall(PetscArraycpy(net->natural, idx, m));
  PetscCall(ISRestoreIndices(isrows, &idx));
  PetscCall(ISDestroy(&isrows));
  PetscCall(ComputeInfo(net));
  PetscCall(PetscLogEventEnd(TN_Partition, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}
