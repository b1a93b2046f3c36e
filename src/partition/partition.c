/* Domain decomposition: a graph partitioner assigns each node to a rank and
   the network is renumbered so that each rank owns a contiguous block of
   rows. Invariant: natural[i] is the generator/file number of local row i,
   and W_new = P W P^T, b_new = P b, gamma_new = P gamma for the permutation P
   so every result is the same up to round-off whatever the partition (the
   rows move by one exchange, PermuteMat, without a second copy of W beside
   the first).
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

/* *isnewproc: for each local row of W (natural order, default split), the
   rank it goes to; NULL when the natural order stays (one rank, or
   -partition_type none, without a partition file). */
static PetscErrorCode ComputeNewProc(TnNet net, Mat W, IS *isnewproc)
{
  PetscMPIInt     size;
  PetscBool       none;
  PetscInt        rs, re;
  Mat             Wt, S, adj;
  MatPartitioning part;
  PetscFunctionBeginUser;
  *isnewproc = NULL;
  PetscCallMPI(MPI_Comm_size(net->comm, &size));
  PetscCall(PetscStrcmp(net->parttype, "none", &none));
  PetscCall(MatGetOwnershipRange(W, &rs, &re));
  if (net->partfile[0]) { /* a partition computed beforehand: part = rank */
    PetscInt *newproc;
    PetscCall(ReadPartitionFile(net, rs, re, &newproc));
    PetscCall(TnMemoryTrace(net->comm, "partition: file read"));
    PetscCall(ISCreateGeneral(net->comm, re - rs, newproc, PETSC_OWN_POINTER, isnewproc));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (size == 1 || none) PetscFunctionReturn(PETSC_SUCCESS);
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
  PetscCall(MatPartitioningApply(part, isnewproc));
  PetscCall(MatPartitioningDestroy(&part));
  PetscCall(MatDestroy(&adj));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* newidx[i - rs]: the partitioned number of natural row i, rows [rs, re):
   rank q's rows are the nodes of part q in natural order, numbered from
   rank q's first row on, so node i of part q is
     (rows of the parts before q) + (nodes of q on lower ranks) + (nodes of q before i here). */
static PetscErrorCode NewNumbers(TnNet net, const PetscInt newproc[], PetscInt m, PetscInt newidx[])
{
  PetscMPIInt size;
  PetscInt   *cnt, *below, *total;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(net->comm, &size));
  PetscCall(PetscCalloc3(size, &cnt, size, &below, size + 1, &total));
  for (PetscInt i = 0; i < m; i++) cnt[newproc[i]]++;
  PetscCallMPI(MPI_Exscan(cnt, below, size, MPIU_INT, MPI_SUM, net->comm));
  PetscCallMPI(MPI_Allreduce(cnt, total + 1, size, MPIU_INT, MPI_SUM, net->comm));
  {
    PetscMPIInt rank;
    PetscCallMPI(MPI_Comm_rank(net->comm, &rank));
    if (rank == 0) PetscCall(PetscArrayzero(below, size)); /* MPI_Exscan leaves rank 0's undefined */
  }
  for (PetscMPIInt q = 0; q < size; q++) total[q + 1] += total[q]; /* total[q]: rank q's first row */
  for (PetscInt i = 0; i < m; i++) newidx[i] = total[newproc[i]] + below[newproc[i]]++;
  PetscCall(PetscFree3(cnt, below, total));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* W_new = P W P^T, rows moved to their ranks by one all-to-all exchange.
   Memory: W is destroyed (*W = NULL) once its rows are packed, so at most
   two copies of the synapses (12 bytes each: column and value) exist at any
   time: W and the send buffer, the send and receive buffers, or the receive
   buffer and W_new, which is built on the network's parameter storage (no
   third copy when the parameters are adopted). Rows arrive in natural
   order (rank by rank, each rank's rows in order), which is their new
   order. */
static PetscErrorCode PermuteMat(TnNet net, Mat *W, IS isnewproc, PetscInt mnew, Mat *Wnew)
{
  PetscMPIInt     size;
  PetscInt        rs, re, m, N, nghost, *newidx, *gnew, rstart;
  const PetscInt *newproc, *garray;
  PetscMPIInt    *icnt, *idsp, *vcnt, *vdsp, *ircnt, *irdsp, *vrcnt, *vrdsp;
  PetscInt       *isend, *irecv, nd = 0, no = 0;
  PetscScalar    *vsend, *vrecv;
  PetscInt64      ni = 0, nv = 0, nir = 0, nvr = 0;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(net->comm, &size));
  PetscCall(MatGetOwnershipRange(*W, &rs, &re));
  PetscCall(MatGetSize(*W, &N, NULL));
  m = re - rs;
  PetscCall(ISGetIndices(isnewproc, &newproc));
  PetscCall(PetscMalloc1(m + 1, &newidx));
  PetscCall(NewNumbers(net, newproc, m, newidx));
  /* the new numbers of W's ghost columns, from their owners */
  PetscCall(MatMPIAIJGetSeqAIJ(*W, NULL, NULL, &garray));
  {
    Mat                Ao;
    Vec                vn, vg;
    VecScatter         sct;
    IS                 isg;
    PetscScalar       *a;
    const PetscScalar *g;
    PetscCall(MatMPIAIJGetSeqAIJ(*W, NULL, &Ao, NULL));
    PetscCall(MatGetSize(Ao, NULL, &nghost));
    PetscCall(MatCreateVecs(*W, &vn, NULL));
    PetscCall(VecGetArrayWrite(vn, &a));
    for (PetscInt i = 0; i < m; i++) a[i] = (PetscScalar)newidx[i]; /* exact: integers below 2^31 */
    PetscCall(VecRestoreArrayWrite(vn, &a));
    PetscCall(VecCreateSeq(PETSC_COMM_SELF, nghost, &vg));
    PetscCall(ISCreateGeneral(PETSC_COMM_SELF, nghost, garray, PETSC_USE_POINTER, &isg));
    PetscCall(VecScatterCreate(vn, isg, vg, NULL, &sct));
    PetscCall(VecScatterBegin(sct, vn, vg, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecScatterEnd(sct, vn, vg, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecScatterDestroy(&sct));
    PetscCall(ISDestroy(&isg));
    PetscCall(VecDestroy(&vn));
    PetscCall(PetscMalloc1(nghost + 1, &gnew));
    PetscCall(VecGetArrayRead(vg, &g));
    for (PetscInt q = 0; q < nghost; q++) gnew[q] = (PetscInt)PetscRealPart(g[q]);
    PetscCall(VecRestoreArrayRead(vg, &g));
    PetscCall(VecDestroy(&vg));
  }
  /* pack: per row its column count, then its new columns; its values */
  PetscCall(PetscCalloc4(size, &icnt, size + 1, &idsp, size, &vcnt, size + 1, &vdsp));
  for (PetscInt i = rs; i < re; i++) {
    PetscInt nc;
    PetscCall(MatGetRow(*W, i, &nc, NULL, NULL));
    icnt[newproc[i - rs]] += 1 + nc;
    vcnt[newproc[i - rs]] += nc;
    PetscCall(MatRestoreRow(*W, i, &nc, NULL, NULL));
  }
  for (PetscMPIInt r = 0; r < size; r++) {
    ni += icnt[r], nv += vcnt[r];
    PetscCall(PetscMPIIntCast((PetscInt64)idsp[r] + icnt[r], &idsp[r + 1]));
    PetscCall(PetscMPIIntCast((PetscInt64)vdsp[r] + vcnt[r], &vdsp[r + 1]));
  }
  PetscCall(PetscMalloc1(ni + 1, &isend));
  PetscCall(PetscMalloc1(nv + 1, &vsend));
  {
    PetscMPIInt *ipos, *vpos;
    PetscCall(PetscMalloc2(size, &ipos, size, &vpos));
    PetscCall(PetscArraycpy(ipos, idsp, size));
    PetscCall(PetscArraycpy(vpos, vdsp, size));
    for (PetscInt i = rs; i < re; i++) {
      PetscInt           nc, r = newproc[i - rs];
      const PetscInt    *cols;
      const PetscScalar *vals;
      PetscCall(MatGetRow(*W, i, &nc, &cols, &vals));
      isend[ipos[r]++] = nc;
      for (PetscInt t = 0; t < nc; t++) {
        PetscInt j = cols[t], q;
        if (j >= rs && j < re)
          isend[ipos[r]++] = newidx[j - rs];
        else {
          PetscCall(PetscFindInt(j, nghost, garray, &q));
          PetscCheck(q >= 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "column %" PetscInt_FMT " of row %" PetscInt_FMT " is not among W's ghost columns", j, i);
          isend[ipos[r]++] = gnew[q];
        }
        vsend[vpos[r]++] = vals[t];
      }
      PetscCall(MatRestoreRow(*W, i, &nc, &cols, &vals));
    }
    PetscCall(PetscFree2(ipos, vpos));
  }
  PetscCall(ISRestoreIndices(isnewproc, &newproc));
  PetscCall(PetscFree(newidx));
  PetscCall(PetscFree(gnew));
  PetscCall(TnMemoryTrace(net->comm, "partition: rows packed"));
  PetscCall(MatDestroy(W));         /* the natural-order copy is no longer needed */
  PetscCall(TnNetFreeStorage(net)); /* nor the storage a generator built it on */
  /* exchange */
  PetscCall(PetscCalloc4(size, &ircnt, size + 1, &irdsp, size, &vrcnt, size + 1, &vrdsp));
  PetscCallMPI(MPI_Alltoall(icnt, 1, MPI_INT, ircnt, 1, MPI_INT, net->comm));
  PetscCallMPI(MPI_Alltoall(vcnt, 1, MPI_INT, vrcnt, 1, MPI_INT, net->comm));
  for (PetscMPIInt r = 0; r < size; r++) {
    nir += ircnt[r], nvr += vrcnt[r];
    PetscCall(PetscMPIIntCast((PetscInt64)irdsp[r] + ircnt[r], &irdsp[r + 1]));
    PetscCall(PetscMPIIntCast((PetscInt64)vrdsp[r] + vrcnt[r], &vrdsp[r + 1]));
  }
  PetscCall(PetscMalloc1(nir + 1, &irecv));
  PetscCallMPI(MPI_Alltoallv(isend, icnt, idsp, MPIU_INT, irecv, ircnt, irdsp, MPIU_INT, net->comm));
  PetscCall(PetscFree(isend));
  PetscCall(PetscMalloc1(nvr + 1, &vrecv));
  PetscCallMPI(MPI_Alltoallv(vsend, vcnt, vdsp, MPIU_SCALAR, vrecv, vrcnt, vrdsp, MPIU_SCALAR, net->comm));
  PetscCall(PetscFree(vsend));
  PetscCall(PetscFree4(icnt, idsp, vcnt, vdsp));
  PetscCall(PetscFree4(ircnt, irdsp, vrcnt, vrdsp));
  PetscCall(TnMemoryTrace(net->comm, "partition: rows exchanged"));
  /* W_new directly on the network's parameter storage (TnNetAllocStorage):
     each row's columns sorted, split into the on-process block (columns
     rstart .. rstart + mnew - 1, numbered from 0) and the off-process block
     (global columns), values in the same order; MPIAIJ is then built on
     those arrays without a copy (the storage TnNetAdoptStorage would
     otherwise copy W onto). */
  PetscCallMPI(MPI_Scan(&mnew, &rstart, 1, MPIU_INT, MPI_SUM, net->comm));
  rstart -= mnew;
  for (PetscInt i = 0, t = 0; i < mnew; i++) {
    PetscInt nc = irecv[t++];
    for (PetscInt k = 0; k < nc; k++, t++) {
      if (irecv[t] >= rstart && irecv[t] < rstart + mnew)
        nd++;
      else
        no++;
    }
  }
  PetscCall(TnNetAllocStorage(net, mnew, nd, no));
  net->pia[0] = net->poia[0] = 0;
  for (PetscInt i = 0, t = 0, v = 0, td = 0, to = 0; i < mnew; i++) {
    PetscInt nc = irecv[t++];
    PetscCall(PetscSortIntWithScalarArray(nc, irecv + t, vrecv + v));
    for (PetscInt k = 0; k < nc; k++) {
      PetscInt j = irecv[t + k];
      if (j >= rstart && j < rstart + mnew) {
        net->pja[td]     = j - rstart;
        net->param[td++] = vrecv[v + k];
      } else {
        net->poja[to]         = j;
        net->param[nd + to++] = vrecv[v + k];
      }
    }
    net->pia[i + 1]  = td;
    net->poia[i + 1] = to;
    t += nc, v += nc;
  }
  PetscCall(TnMemoryTrace(net->comm, "partition: rows in place"));
  PetscCall(PetscFree(irecv));
  PetscCall(PetscFree(vrecv));
  PetscCall(MatCreateMPIAIJWithSplitArrays(net->comm, mnew, mnew, N, N, net->pia, net->pja, net->param, net->poia, net->poja, net->param + nd, Wnew));
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
  const PetscInt *cranges;
  PetscInt        nghost, m, nbrs = 0;
  MatInfo         iao, iad;
  PetscMPIInt     size;
  PetscReal       loc[5], mx[5], sum[5], neg[2], negmx[2];
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(net->comm, &size));
  PetscCall(MatMPIAIJGetSeqAIJ(net->W, &Ad, &Ao, &garray));
  PetscCall(MatGetSize(Ao, NULL, &nghost));
  PetscCall(MatGetLocalSize(net->W, &m, NULL));
  PetscCall(MatGetInfo(Ao, MAT_LOCAL, &iao));
  PetscCall(MatGetInfo(Ad, MAT_LOCAL, &iad));
  /* neighbours: the distinct owners of the ghost columns (garray ascending,
     so one walk over it and the column ranges) */
  PetscCall(MatGetOwnershipRangesColumn(net->W, &cranges));
  for (PetscInt q = 0, r = 0; q < nghost; q++) {
    if (q > 0 && garray[q] < cranges[r + 1]) continue;
    while (garray[q] >= cranges[r + 1]) r++;
    nbrs++;
  }
  loc[0] = (PetscReal)nghost;
  loc[1] = (PetscReal)m;
  loc[2] = iad.nz_used + iao.nz_used;
  loc[3] = iao.nz_used;
  loc[4] = (PetscReal)nbrs;
  PetscCall(MPIU_Allreduce(loc, mx, 5, MPIU_REAL, MPIU_MAX, net->comm));
  PetscCall(MPIU_Allreduce(loc, sum, 5, MPIU_REAL, MPIU_SUM, net->comm));
  net->pinfo.halo_max        = (PetscInt)mx[0];
  net->pinfo.halo_mean       = sum[0] / size;
  net->pinfo.neighbours_max  = (PetscInt)mx[4];
  net->pinfo.neighbours_mean = sum[4] / size;
  neg[0]                     = -loc[0];
  neg[1]                     = -loc[4];
  PetscCall(MPIU_Allreduce(neg, negmx, 2, MPIU_REAL, MPIU_MAX, net->comm));
  net->pinfo.halo_min       = (PetscInt)(-negmx[0]);
  net->pinfo.neighbours_min = (PetscInt)(-negmx[1]);
  net->pinfo.edge_cut       = (PetscInt)sum[3];
  net->pinfo.imbalance_rows = sum[1] > 0 ? mx[1] / (sum[1] / size) : 1.0;
  net->pinfo.imbalance_nnz  = sum[2] > 0 ? mx[2] / (sum[2] / size) : 1.0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnPartitionNet(TnNet net, Mat *W, Vec b, Vec gamma)
{
  IS              isrows, isnewproc;
  const PetscInt *idx;
  PetscInt        m;
  Vec             like;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_Partition, 0, 0, 0, 0));
  PetscCall(ComputeNewProc(net, *W, &isnewproc));
  if (isnewproc) { /* every row staying on its rank (a partition that is the default split) renumbers nothing */
    const PetscInt *np;
    PetscInt        n;
    PetscMPIInt     rank;
    int             stay = 1;
    PetscCallMPI(MPI_Comm_rank(net->comm, &rank));
    PetscCall(ISGetLocalSize(isnewproc, &n));
    PetscCall(ISGetIndices(isnewproc, &np));
    for (PetscInt i = 0; stay && i < n; i++) stay = np[i] == rank;
    PetscCall(ISRestoreIndices(isnewproc, &np));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &stay, 1, MPI_INT, MPI_LAND, net->comm));
    if (stay) PetscCall(ISDestroy(&isnewproc));
  }
  if (!isnewproc) { /* no renumbering: keep W, b, gamma (no copy) */
    PetscInt rs, re;
    PetscCall(MatGetOwnershipRange(*W, &rs, &re));
    PetscCall(ISCreateStride(net->comm, re - rs, rs, 1, &isrows));
    net->W = *W;
    *W     = NULL;
    PetscCall(PetscObjectReference((PetscObject)b));
    PetscCall(PetscObjectReference((PetscObject)gamma));
    net->b     = b;
    net->gamma = gamma;
  } else {
    /* isrows: for each new local row (in order), its natural number */
    PetscCall(ISBuildTwoSided(isnewproc, NULL, &isrows));
    PetscCall(ISSort(isrows));
    PetscCall(ISGetLocalSize(isrows, &m));
    PetscCall(PermuteMat(net, W, isnewproc, m, &net->W));
    PetscCall(ISDestroy(&isnewproc));
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
