/* Domain decomposition: a graph partitioner assigns each node to a rank and
   the network is renumbered so that each rank owns a contiguous block of
   rows. Invariant: natural[i] is the generator/file number of local row i,
   and W_new = P W P^T, b_new = P b, gamma_new = P gamma for the permutation P
   so every result is the same up to round-off whatever the partition (the
   rows move in rounds of bounded size, PermuteMat, without a second copy of
   W beside the first).
   The partition comes from the partitioner (-partition_type) or from a file
   (-partition_file: the part of every natural node, part = rank). */
#define _DEFAULT_SOURCE /* madvise */
#include <sys/mman.h>
#include <unistd.h>
#include <stdint.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include "../net/netimpl.h"
#include <tenor/io.h>
#include <tenor/partition.h>

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

/* Below TN_PTSCOTCH_MIN_ROWS nodes a rank, -partition_type ptscotch cuts
   the graph with serial Scotch on rank 0 (TnPartitioner, the offline
   partitioner's, with its defaults) and scatters the parts: PT-Scotch 7.0.3
   (Debian 12) deadlocked on 30 nodes into 16 parts, its processes in
   different collectives inside the recursive bipartitioning (three of a
   group of four in an allreduce of dgraphGhst, the fourth in the allgatherv
   of bdgraphBipartSq), where the parallel method gains nothing anyway. A
   graph of fewer nodes than ranks keeps the default split. */
#define TN_PTSCOTCH_MIN_ROWS 256

static PetscErrorCode SerialNewProc(TnNet net, Mat W, PetscInt rs, PetscInt re, IS *isnewproc)
{
  PetscMPIInt     size, rank;
  PetscInt        N, *part = NULL, *newproc;
  PetscMPIInt    *counts = NULL, *displs = NULL, m;
  const PetscInt *ranges; /* every rank's rows of the default split */
  TnPartitioner   tp;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(net->comm, &size));
  PetscCallMPI(MPI_Comm_rank(net->comm, &rank));
  PetscCall(MatGetSize(W, &N, NULL));
  PetscCall(MatGetOwnershipRanges(W, &ranges));
  PetscCall(PetscMPIIntCast(re - rs, &m));
  PetscCall(TnPartitionerCreate(net->comm, &tp));
  PetscCall(TnPartitionerSetGraph(tp, W));
  if (rank == 0) PetscCall(PetscMalloc3(N, &part, size, &counts, size, &displs));
  PetscCall(TnPartitionerApply(tp, size, part, NULL));
  PetscCall(TnPartitionerDestroy(&tp));
  if (rank == 0)
    for (PetscMPIInt r = 0; r < size; r++) {
      PetscCall(PetscMPIIntCast(ranges[r], &displs[r]));
      PetscCall(PetscMPIIntCast(ranges[r + 1] - ranges[r], &counts[r]));
    }
  PetscCall(PetscMalloc1(re - rs + 1, &newproc));
  PetscCallMPI(MPI_Scatterv(part, counts, displs, MPIU_INT, newproc, m, MPIU_INT, 0, net->comm));
  if (rank == 0) PetscCall(PetscFree3(part, counts, displs));
  PetscCall(ISCreateGeneral(net->comm, re - rs, newproc, PETSC_OWN_POINTER, isnewproc));
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
  {
    PetscInt  N;
    PetscBool pts;
    PetscCall(MatGetSize(W, &N, NULL));
    PetscCall(PetscStrcmp(net->parttype, MATPARTITIONINGPTSCOTCH, &pts));
    if (pts && N < size) PetscFunctionReturn(PETSC_SUCCESS); /* a rank per node at most: nothing to cut */
    if (pts && N < (PetscInt)TN_PTSCOTCH_MIN_ROWS * size) {
      if (TnProgressOn()) PetscCall(PetscPrintf(net->comm, "partition: computing a Scotch partition of %" PetscInt_FMT " nodes into %d parts on rank 0 (fewer than %d nodes a rank)\n", N, (int)size, TN_PTSCOTCH_MIN_ROWS));
      PetscCall(SerialNewProc(net, W, rs, re, isnewproc));
      PetscFunctionReturn(PETSC_SUCCESS);
    }
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
  { /* a random graph of 10^5 nodes and more can take the partitioner minutes: say what runs (a progress line: -tn_progress_every 0 silences it) */
    PetscInt            N;
    MatPartitioningType type;
    PetscCall(MatGetSize(W, &N, NULL));
    PetscCall(MatPartitioningGetType(part, &type));
    if (TnProgressOn()) PetscCall(PetscPrintf(net->comm, "partition: computing a %s partition of %" PetscInt_FMT " nodes into %d parts (-partition_type none skips it; partition/ computes one offline)\n", type, N, (int)size));
  }
  PetscCall(MatPartitioningApply(part, isnewproc));
  PetscCall(MatPartitioningDestroy(&part));
  PetscCall(MatDestroy(&adj));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* newidx[i - rs]: the partitioned number of natural row i, rows [rs, re),
   and total[q] (q = 0 .. size): rank q's first row in the new numbering:
   rank q's rows are the nodes of part q in natural order, numbered from
   rank q's first row on, so node i of part q is
     (rows of the parts before q) + (nodes of q on lower ranks) + (nodes of q before i here). */
static PetscErrorCode NewNumbers(TnNet net, const PetscInt newproc[], PetscInt m, PetscInt newidx[], PetscInt total[])
{
  PetscMPIInt size;
  PetscInt   *cnt, *below;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(net->comm, &size));
  PetscCall(PetscCalloc2(size, &cnt, size, &below));
  PetscCall(PetscArrayzero(total, size + 1));
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
  PetscCall(PetscFree2(cnt, below));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Gives the whole pages inside [p, p + bytes) back to the system: their
   contents are dropped (they would read as zeros), the allocation stays valid
   and is freed as usual. The natural W shrinks so as its rows leave. Without
   madvise (not Linux or a BSD) nothing is given back: the peak is then W's two
   copies, as before the exchange was made in rounds. */
static void ReleasePages(const void *p, size_t bytes)
{
#if defined(MADV_DONTNEED)
  static uintptr_t pg = 0;
  uintptr_t        a, b;
  if (!pg) pg = (uintptr_t)sysconf(_SC_PAGESIZE);
  if (!p || !bytes || !pg) return;
  a = ((uintptr_t)p + pg - 1) / pg * pg;
  b = ((uintptr_t)p + bytes) / pg * pg;
  if (b > a) (void)madvise((void *)a, b - a, MADV_DONTNEED); /* a hint: a failure only keeps the pages */
#else
  (void)p;
  (void)bytes;
#endif
}

/* The renumbering's view of the natural W: its local rows [rs, rs + m),
   their parts, the new number of each local row and ghost column, the new
   ranks' first rows, and W's CSR arrays (whose pages are released as rows
   are sent). */
typedef struct {
  Mat                W, Ad, Ao;
  PetscInt           rs, m, nghost;
  const PetscInt    *newproc, *garray, *ia, *ja, *oia, *oja;
  const PetscScalar *va, *vo;
  PetscInt          *newidx, *gnew, *first; /* first[q]: rank q's first new row, q = 0 .. size */
} Rows;

/* The network's parameter storage (TnNetAllocStorage): the natural W's
   while the new one is filled. */
typedef struct {
  PetscScalar *param;
  PetscInt    *pia, *pja, *poia, *poja;
} Storage;

/* The new numbers of row i's columns into cols (sorted later by the receiver). */
static PetscErrorCode RowNewColumns(const Rows *r, PetscInt i, PetscInt *nc, PetscInt cols[], const PetscScalar **vals)
{
  const PetscInt *c;
  PetscFunctionBeginUser;
  PetscCall(MatGetRow(r->W, i, nc, &c, vals));
  for (PetscInt t = 0; t < *nc; t++) {
    PetscInt j = c[t], q;
    if (j >= r->rs && j < r->rs + r->m)
      cols[t] = r->newidx[j - r->rs];
    else {
      PetscCall(PetscFindInt(j, r->nghost, r->garray, &q));
      PetscCheck(q >= 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "column %" PetscInt_FMT " of row %" PetscInt_FMT " is not among W's ghost columns", j, i);
      cols[t] = r->gnew[q];
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* W_new = P W P^T, rows moved to their ranks in K rounds of bounded size.
   A count pass first tells each rank how many rows, on-process and
   off-process entries every rank sends it, so the storage of W_new (the
   network's parameter storage, TnNetAllocStorage) is allocated before any
   row moves and the rows from rank s land at fixed offsets: rank q's new
   rows are the rows of part q from rank 0, then from rank 1, ..., each
   rank's in natural order. Round k: each rank sends its next natural rows,
   those whose packed bytes start in [k B / K, (k+1) B / K) of its B bytes
   (1 + n_i column numbers and n_i values for a row of n_i synapses), so a
   round's send buffer is B / K plus one row; each receiver sorts every row's
   columns and writes them straight into W_new's two blocks; then the pages
   of W's arrays holding rows already sent are given back (ReleasePages).
   The resident memory is then about one copy of the synapses (the part of
   W not yet sent plus the part of W_new received) and the round's buffers,
   where one exchange of everything held two. K: -partition_exchange_kb
   per round, or by default B / 32 with at least 4 MB (K = 1 for small
   networks), the largest over the ranks. The result does not depend on K. */
static PetscErrorCode PermuteMat(TnNet net, Mat *W, IS isnewproc, PetscInt mnew, Mat *Wnew)
{
  PetscMPIInt  size, rank;
  Rows         r;
  PetscInt     N, re, rstart, *cnt, *rcnt, *cur, nd = 0, no = 0, maxnc = 0, *cols, n, K, k, next = 0;
  PetscMPIInt *scnt, *sdsp, *vcnt, *vdsp, *rscnt, *rsdsp, *rvcnt, *rvdsp;
  PetscInt64   bytes = 0, done = 0;
  PetscBool    ok;
  Storage      old = {net->param, net->pia, net->pja, net->poia, net->poja}, fresh;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(net->comm, &size));
  PetscCallMPI(MPI_Comm_rank(net->comm, &rank));
  PetscCall(PetscMemzero(&r, sizeof(r)));
  r.W = *W;
  PetscCall(MatGetOwnershipRange(*W, &r.rs, &re));
  PetscCall(MatGetSize(*W, &N, NULL));
  r.m = re - r.rs;
  PetscCall(ISGetIndices(isnewproc, &r.newproc));
  PetscCall(PetscMalloc2(r.m + 1, &r.newidx, size + 1, &r.first));
  PetscCall(NewNumbers(net, r.newproc, r.m, r.newidx, r.first));
  /* the new numbers of W's ghost columns, from their owners */
  PetscCall(MatMPIAIJGetSeqAIJ(*W, &r.Ad, &r.Ao, &r.garray));
  {
    Vec                vn, vg;
    VecScatter         sct;
    IS                 isg;
    PetscScalar       *a;
    const PetscScalar *g;
    PetscCall(MatGetSize(r.Ao, NULL, &r.nghost));
    PetscCall(MatCreateVecs(*W, &vn, NULL));
    PetscCall(VecGetArrayWrite(vn, &a));
    for (PetscInt i = 0; i < r.m; i++) a[i] = (PetscScalar)r.newidx[i]; /* exact: integers below 2^31 */
    PetscCall(VecRestoreArrayWrite(vn, &a));
    PetscCall(VecCreateSeq(PETSC_COMM_SELF, r.nghost, &vg));
    PetscCall(ISCreateGeneral(PETSC_COMM_SELF, r.nghost, r.garray, PETSC_USE_POINTER, &isg));
    PetscCall(VecScatterCreate(vn, isg, vg, NULL, &sct));
    PetscCall(VecScatterBegin(sct, vn, vg, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecScatterEnd(sct, vn, vg, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecScatterDestroy(&sct));
    PetscCall(ISDestroy(&isg));
    PetscCall(VecDestroy(&vn));
    PetscCall(PetscMalloc1(r.nghost + 1, &r.gnew));
    PetscCall(VecGetArrayRead(vg, &g));
    for (PetscInt q = 0; q < r.nghost; q++) r.gnew[q] = (PetscInt)PetscRealPart(g[q]);
    PetscCall(VecRestoreArrayRead(vg, &g));
    PetscCall(VecDestroy(&vg));
  }
  /* W's arrays, whose pages go back as their rows leave */
  PetscCall(MatGetRowIJ(r.Ad, 0, PETSC_FALSE, PETSC_FALSE, &n, &r.ia, &r.ja, &ok));
  PetscCheck(ok, PETSC_COMM_SELF, PETSC_ERR_SUP, "cannot access W's CSR arrays");
  PetscCall(MatGetRowIJ(r.Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &r.oia, &r.oja, &ok));
  PetscCheck(ok, PETSC_COMM_SELF, PETSC_ERR_SUP, "cannot access W's CSR arrays");
  PetscCall(MatSeqAIJGetArrayRead(r.Ad, &r.va));
  PetscCall(MatSeqAIJGetArrayRead(r.Ao, &r.vo));
  for (PetscInt i = 0; i < r.m; i++) maxnc = PetscMax(maxnc, r.ia[i + 1] - r.ia[i] + r.oia[i + 1] - r.oia[i]);
  PetscCall(PetscMalloc1(maxnc + 1, &cols));

  /* count pass: cnt[3 q ..]: the rows, on-process and off-process entries
     this rank sends rank q (on-process: a new column in q's new rows) */
  PetscCall(PetscCalloc3(3 * size, &cnt, 3 * size, &rcnt, 3 * size, &cur));
  for (PetscInt i = 0; i < r.m; i++) {
    PetscInt           nc, q = r.newproc[i];
    const PetscScalar *vals;
    PetscCall(RowNewColumns(&r, r.rs + i, &nc, cols, &vals));
    cnt[3 * q]++;
    for (PetscInt t = 0; t < nc; t++) cnt[3 * q + (cols[t] >= r.first[q] && cols[t] < r.first[q + 1] ? 1 : 2)]++;
    bytes += (PetscInt64)(1 + nc) * (PetscInt64)sizeof(PetscInt) + (PetscInt64)nc * (PetscInt64)sizeof(PetscScalar);
    PetscCall(MatRestoreRow(*W, r.rs + i, &nc, NULL, &vals)); /* zeroes nc */
  }
  PetscCallMPI(MPI_Alltoall(cnt, 3, MPIU_INT, rcnt, 3, MPIU_INT, net->comm));
  /* cur[3 s ..]: where rank s's next row, on- and off-process entries go */
  for (PetscMPIInt s = 0, rows = 0; s < size; s++) {
    cur[3 * s]     = rows;
    cur[3 * s + 1] = nd;
    cur[3 * s + 2] = no;
    rows += rcnt[3 * s], nd += rcnt[3 * s + 1], no += rcnt[3 * s + 2];
    if (s == size - 1) PetscCheck(rows == mnew, PETSC_COMM_SELF, PETSC_ERR_PLIB, "rank %d receives %" PetscInt_FMT " rows, expected %" PetscInt_FMT, (int)rank, (PetscInt)rows, mnew);
  }
  rstart = r.first[rank];
  {
    PetscInt64 per, k64, kmax;
    PetscCall(TnPartitionRoundBytes(net, bytes, &per));
    k64 = PetscMax(1, (bytes + per - 1) / per);
    PetscCallMPI(MPI_Allreduce(&k64, &kmax, 1, MPIU_INT64, MPI_MAX, net->comm));
    PetscCall(PetscIntCast(kmax, &K));
  }
  net->param = NULL, net->pia = net->pja = net->poia = net->poja = NULL;
  PetscCall(TnNetAllocStorage(net, mnew, nd, no)); /* pages resident only once written */
  net->pia[0] = net->poia[0] = 0;

  PetscCall(PetscCalloc4(size, &scnt, size + 1, &sdsp, size, &vcnt, size + 1, &vdsp));
  PetscCall(PetscCalloc4(size, &rscnt, size + 1, &rsdsp, size, &rvcnt, size + 1, &rvdsp));
  for (k = 0; k < K; k++) {
    PetscInt     from = next, *isend, *irecv;
    PetscScalar *vsend, *vrecv;
    PetscInt64   ni = 0, nv = 0, nir = 0, nvr = 0, lim = (PetscInt64)((double)bytes * (k + 1) / K);
    /* this round's rows [from, next): those starting below lim bytes */
    PetscCall(PetscArrayzero(scnt, size));
    PetscCall(PetscArrayzero(vcnt, size));
    for (; next < r.m && (k == K - 1 || done < lim); next++) {
      PetscInt nc = r.ia[next + 1] - r.ia[next] + r.oia[next + 1] - r.oia[next];
      scnt[r.newproc[next]] += 1 + nc;
      vcnt[r.newproc[next]] += nc;
      done += (PetscInt64)(1 + nc) * (PetscInt64)sizeof(PetscInt) + (PetscInt64)nc * (PetscInt64)sizeof(PetscScalar);
    }
    for (PetscMPIInt q = 0; q < size; q++) {
      ni += scnt[q], nv += vcnt[q];
      PetscCall(PetscMPIIntCast((PetscInt64)sdsp[q] + scnt[q], &sdsp[q + 1]));
      PetscCall(PetscMPIIntCast((PetscInt64)vdsp[q] + vcnt[q], &vdsp[q + 1]));
    }
    PetscCall(PetscMalloc2(ni + 1, &isend, nv + 1, &vsend));
    {
      PetscMPIInt *ipos, *vpos;
      PetscCall(PetscMalloc2(size, &ipos, size, &vpos));
      PetscCall(PetscArraycpy(ipos, sdsp, size));
      PetscCall(PetscArraycpy(vpos, vdsp, size));
      for (PetscInt i = from; i < next; i++) { /* per row: its column count, its new columns; its values */
        PetscInt           nc, q = r.newproc[i];
        const PetscScalar *vals;
        PetscCall(RowNewColumns(&r, r.rs + i, &nc, isend + ipos[q] + 1, &vals));
        isend[ipos[q]] = nc;
        ipos[q] += 1 + (PetscMPIInt)nc;
        PetscCall(PetscArraycpy(vsend + vpos[q], vals, nc));
        vpos[q] += (PetscMPIInt)nc;
        PetscCall(MatRestoreRow(*W, r.rs + i, &nc, NULL, &vals));
      }
      PetscCall(PetscFree2(ipos, vpos));
    }
    /* rows [0, next) are packed: W's pages holding only them go back */
    ReleasePages(r.ja, (size_t)r.ia[next] * sizeof(PetscInt));
    ReleasePages(r.va, (size_t)r.ia[next] * sizeof(PetscScalar));
    ReleasePages(r.oja, (size_t)r.oia[next] * sizeof(PetscInt));
    ReleasePages(r.vo, (size_t)r.oia[next] * sizeof(PetscScalar));
    PetscCallMPI(MPI_Alltoall(scnt, 1, MPI_INT, rscnt, 1, MPI_INT, net->comm));
    PetscCallMPI(MPI_Alltoall(vcnt, 1, MPI_INT, rvcnt, 1, MPI_INT, net->comm));
    for (PetscMPIInt s = 0; s < size; s++) {
      nir += rscnt[s], nvr += rvcnt[s];
      PetscCall(PetscMPIIntCast((PetscInt64)rsdsp[s] + rscnt[s], &rsdsp[s + 1]));
      PetscCall(PetscMPIIntCast((PetscInt64)rvdsp[s] + rvcnt[s], &rvdsp[s + 1]));
    }
    PetscCall(PetscMalloc2(nir + 1, &irecv, nvr + 1, &vrecv));
    PetscCallMPI(MPI_Alltoallv(isend, scnt, sdsp, MPIU_INT, irecv, rscnt, rsdsp, MPIU_INT, net->comm));
    PetscCallMPI(MPI_Alltoallv(vsend, vcnt, vdsp, MPIU_SCALAR, vrecv, rvcnt, rvdsp, MPIU_SCALAR, net->comm));
    PetscCall(PetscFree2(isend, vsend));
    if (k == 0) PetscCall(TnMemoryTrace(net->comm, "partition: first round exchanged"));
    /* each row from rank s: columns sorted, split into the on-process block
       (columns rstart .. rstart + mnew - 1, numbered from 0) and the
       off-process block (global columns), values in the same order */
    for (PetscMPIInt s = 0; s < size; s++) {
      PetscInt *row = &cur[3 * s], *td = &cur[3 * s + 1], *to = &cur[3 * s + 2];
      for (PetscInt t = rsdsp[s], v = rvdsp[s]; t < rsdsp[s + 1];) {
        PetscInt nc = irecv[t++];
        PetscCall(PetscSortIntWithScalarArray(nc, irecv + t, vrecv + v));
        for (PetscInt c = 0; c < nc; c++) {
          PetscInt j = irecv[t + c];
          if (j >= rstart && j < rstart + mnew) {
            net->pja[*td]       = j - rstart;
            net->param[(*td)++] = vrecv[v + c];
          } else {
            net->poja[*to]           = j;
            net->param[nd + (*to)++] = vrecv[v + c];
          }
        }
        net->pia[*row + 1]  = *td;
        net->poia[*row + 1] = *to;
        (*row)++;
        t += nc, v += nc;
      }
    }
    PetscCall(PetscFree2(irecv, vrecv));
  }
  PetscCall(TnMemoryTrace(net->comm, "partition: rows in place"));
  PetscCall(PetscFree4(scnt, sdsp, vcnt, vdsp));
  PetscCall(PetscFree4(rscnt, rsdsp, rvcnt, rvdsp));
  PetscCall(PetscFree3(cnt, rcnt, cur));
  PetscCall(PetscFree(cols));
  PetscCall(MatSeqAIJRestoreArrayRead(r.Ao, &r.vo));
  PetscCall(MatSeqAIJRestoreArrayRead(r.Ad, &r.va));
  PetscCall(MatRestoreRowIJ(r.Ao, 0, PETSC_FALSE, PETSC_FALSE, &n, &r.oia, &r.oja, &ok));
  PetscCall(MatRestoreRowIJ(r.Ad, 0, PETSC_FALSE, PETSC_FALSE, &n, &r.ia, &r.ja, &ok));
  PetscCall(ISRestoreIndices(isnewproc, &r.newproc));
  PetscCall(PetscFree2(r.newidx, r.first));
  PetscCall(PetscFree(r.gnew));
  PetscCall(MatDestroy(W)); /* the natural-order W, then the storage a generator built it on */
  fresh      = (Storage){net->param, net->pia, net->pja, net->poia, net->poja};
  net->param = old.param, net->pia = old.pia, net->pja = old.pja, net->poia = old.poia, net->poja = old.poja;
  PetscCall(TnNetFreeStorage(net));
  net->param = fresh.param, net->pia = fresh.pia, net->pja = fresh.pja, net->poia = fresh.poia, net->poja = fresh.poja;
#if defined(__GLIBC__)
  malloc_trim(0); /* the rounds' freed buffers go back to the system, not kept resident in the heap */
#endif
  PetscCall(MatCreateMPIAIJWithSplitArrays(net->comm, mnew, mnew, N, N, net->pia, net->pja, net->param, net->poia, net->poja, net->param + nd, Wnew));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnPartitionRoundBytes(TnNet net, PetscInt64 bytes, PetscInt64 *per)
{
  PetscFunctionBeginUser;
  *per = net->exchkb > 0 ? (PetscInt64)net->exchkb * 1024 : PetscMax((PetscInt64)4 << 20, bytes / 32);
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
  PetscBool       moved;
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
  moved = (PetscBool)(isnewproc != NULL);
  if (!moved) { /* no renumbering: keep W, b, gamma (no copy) */
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
  }
  PetscCall(ISGetLocalSize(isrows, &m));
  PetscCall(ISGetIndices(isrows, &idx));
  PetscCall(PetscMalloc1(m + 1, &net->natural));
  PetscCall(PetscArraycpy(net->natural, idx, m));
  PetscCall(ISRestoreIndices(isrows, &idx));
  PetscCall(ISDestroy(&isrows));
  if (moved) { /* b_new = P b, gamma_new = P gamma: the vectors' move (natural.c), whose map the dynamics reuse */
    PetscCall(MatCreateVecs(net->W, &net->b, NULL));
    PetscCall(VecDuplicate(net->b, &net->gamma));
    PetscCall(TnNetNaturalMove(net, b, net->b, SCATTER_FORWARD));
    PetscCall(TnNetNaturalMove(net, gamma, net->gamma, SCATTER_FORWARD));
  }
  PetscCall(ComputeInfo(net));
  PetscCall(PetscLogEventEnd(TN_Partition, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}
