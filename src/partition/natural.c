/* Vectors between the natural order and the partitioned one. A vector in
   natural order has PETSc's default split of the N nodes (rank s holds the
   nodes [r_s, r_{s+1})), one in partitioned order the network's rows
   (natural[i] on row i), both with bs values a node, node-major. The move
   is the permutation x[i] = xnat[natural[i]] (forward) or its inverse
   (reverse), block by block (bs = the vectors' size / N).

   What is kept, built at the first move: dest[j], the rank that holds
   natural node r_rank + j (4 bytes a node), and, since natural[] increases
   within a rank (the rows keep their natural order, TnPartitionNet), the
   rows from each natural owner s: one contiguous range from[s] ..
   from[s+1]. So a sender packs, and a receiver finds the place of what it
   gets, without index lists. A VecScatter kept the same map as its own
   index arrays (36 bytes a node at bs = 1) and pack buffers.

   A move runs in rounds over the natural rows, c at a time (c bs values at
   most -partition_exchange_kb, by default a 32nd of the largest rank's
   values and at least 4 MB, TnPartitionRoundBytes): round k sends natural
   rows [r_s + k c, r_s + (k + 1) c) of every rank s to their holders, which
   receive them, in natural order, straight into their rows (forward); in
   reverse the holders send those rows back from their rows. The buffer is
   one round's rows on the natural side; the result does not depend on c. */
#include "../net/netimpl.h"

/* The map (collective). The partitioned order equals the natural one on
   every rank (one rank, no renumbering): no map, a move is a copy. */
static PetscErrorCode NaturalMapSetUp(TnNet net)
{
  PetscMPIInt size, rank, *cto, *cfrom, *dto, *dfrom;
  PetscInt    n = PETSC_DECIDE, N = net->N, m, *idx, total = 0;
  int         same = 1;
  const char *why  = NULL;
  PetscFunctionBeginUser;
  if (net->nmset) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCallMPI(MPI_Comm_size(net->comm, &size));
  PetscCallMPI(MPI_Comm_rank(net->comm, &rank));
  PetscCall(MatGetLocalSize(net->W, &m, NULL));
  PetscCall(PetscSplitOwnership(net->comm, &n, &N));
  PetscCall(PetscMalloc2(size + 1, &net->nmranges, size + 1, &net->nmfrom));
  net->nmranges[0] = 0;
  PetscCallMPI(MPI_Allgather(&n, 1, MPIU_INT, net->nmranges + 1, 1, MPIU_INT, net->comm));
  for (PetscMPIInt s = 0; s < size; s++) net->nmranges[s + 1] += net->nmranges[s];
  if (n != m) same = 0;
  for (PetscInt i = 0; same && i < m; i++) same = net->natural[i] == net->nmranges[rank] + i;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &same, 1, MPI_INT, MPI_LAND, net->comm));
  net->nmset  = PETSC_TRUE;
  net->nmsame = (PetscBool)same;
  net->nmrank = rank;
  if (same) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscCommDuplicate(net->comm, &net->nmcomm, &net->nmtag));
  /* from[s]: the first row whose natural number is rank s's */
  for (PetscInt i = 1; !why && i < m; i++)
    if (net->natural[i] <= net->natural[i - 1]) why = "natural[] does not increase";
  PetscCheck(!why, PETSC_COMM_SELF, PETSC_ERR_PLIB, "rank %d: %s within the rank", (int)rank, why);
  for (PetscMPIInt s = 0, i = 0; s <= size; s++) {
    while (s < size && i < m && net->natural[i] < net->nmranges[s]) i++;
    net->nmfrom[s] = s < size ? i : m;
  }
  /* each natural owner learns where its nodes went: rank r sends it the
     natural numbers of its rows from there */
  PetscCall(PetscMalloc4(size, &cto, size, &cfrom, size + 1, &dto, size + 1, &dfrom));
  for (PetscMPIInt s = 0; s < size; s++) {
    cto[s] = (PetscMPIInt)(net->nmfrom[s + 1] - net->nmfrom[s]);
    dto[s] = (PetscMPIInt)net->nmfrom[s];
  }
  PetscCallMPI(MPI_Alltoall(cto, 1, MPI_INT, cfrom, 1, MPI_INT, net->comm));
  dfrom[0] = 0;
  for (PetscMPIInt s = 0; s < size; s++) dfrom[s + 1] = dfrom[s] + cfrom[s], total += cfrom[s];
  PetscCheck(total == n, PETSC_COMM_SELF, PETSC_ERR_PLIB, "rank %d: %" PetscInt_FMT " of its %" PetscInt_FMT " natural nodes are held by some rank", (int)rank, total, n);
  PetscCall(PetscMalloc1(n + 1, &idx));
  PetscCall(PetscMalloc1(n + 1, &net->nmdest));
  PetscCallMPI(MPI_Alltoallv(net->natural, cto, dto, MPIU_INT, idx, cfrom, dfrom, MPIU_INT, net->comm));
  for (PetscMPIInt r = 0; r < size; r++)
    for (PetscMPIInt t = dfrom[r]; t < dfrom[r + 1]; t++) net->nmdest[idx[t] - net->nmranges[rank]] = r;
  PetscCall(PetscFree(idx));
  PetscCall(PetscFree4(cto, cfrom, dto, dfrom));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetNaturalMapFree(TnNet net)
{
  PetscFunctionBeginUser;
  if (net->nmset && !net->nmsame) PetscCall(PetscCommDestroy(&net->nmcomm));
  PetscCall(PetscFree2(net->nmranges, net->nmfrom));
  PetscCall(PetscFree(net->nmdest));
  net->nmset = net->nmsame = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetNaturalMapSetUp(TnNet net)
{
  PetscFunctionBeginUser;
  PetscCheck(net->W && net->natural, net->comm, PETSC_ERR_ORDER, "call TnNetSetUp() first"); /* or TnPartitionNet, which moves b and gamma with it */
  PetscCall(NaturalMapSetUp(net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* xnat <-> x for bs values a node, n natural and m partitioned rows here */
static PetscErrorCode Move(TnNet net, PetscInt bs, PetscInt n, PetscScalar *xnat, PetscScalar *x, ScatterMode mode)
{
  PetscMPIInt  size, rank, nreq = 0, *scnt, *soff, *spos;
  PetscInt     nmax = 0, c, K, *cur, *end;
  PetscInt64   per;
  PetscScalar *buf;
  MPI_Request *req;
  const size_t blk = sizeof(PetscScalar) * (size_t)bs;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(net->comm, &rank));
  PetscCallMPI(MPI_Comm_size(net->comm, &size));
  for (PetscMPIInt s = 0; s < size; s++) nmax = PetscMax(nmax, net->nmranges[s + 1] - net->nmranges[s]);
  /* c rows a round, the same on every rank (so every rank makes K rounds);
     a message at most 2^30 bytes */
  PetscCall(TnPartitionRoundBytes(net, (PetscInt64)nmax * (PetscInt64)blk, &per));
  per = PetscMin(per, (PetscInt64)1 << 30);
  c   = (PetscInt)PetscMax(1, per / (PetscInt64)blk);
  K   = (nmax + c - 1) / c;
  PetscCall(PetscMalloc1((size_t)PetscMin(c, PetscMax(n, 1)) * bs, &buf));
  PetscCall(PetscMalloc3(size, &scnt, size + 1, &soff, size, &spos));
  PetscCall(PetscMalloc3(size, &cur, size, &end, 2 * size, &req));
  for (PetscMPIInt s = 0; s < size; s++) cur[s] = net->nmfrom[s];
  for (PetscInt k = 0; k < K; k++) {
    const PetscInt j0 = PetscMin(k * c, n), j1 = PetscMin(j0 + c, n);
    /* natural side: this round's rows [j0, j1), grouped by holder in buf */
    PetscCall(PetscArrayzero(scnt, size));
    for (PetscInt j = j0; j < j1; j++) scnt[net->nmdest[j]]++;
    soff[0] = 0;
    for (PetscMPIInt q = 0; q < size; q++) soff[q + 1] = soff[q] + scnt[q], spos[q] = soff[q];
    /* partitioned side: the rows from rank s in its round k, [cur[s], end[s]) */
    for (PetscMPIInt s = 0; s < size; s++) {
      const PetscInt lim = net->nmranges[s] + PetscMin((k + 1) * c, net->nmranges[s + 1] - net->nmranges[s]);
      for (end[s] = cur[s]; end[s] < net->nmfrom[s + 1] && net->natural[end[s]] < lim; end[s]++) {
      }
    }
    PetscCheck(end[rank] - cur[rank] == scnt[rank], PETSC_COMM_SELF, PETSC_ERR_PLIB, "rank %d keeps %" PetscInt_FMT " rows of round %" PetscInt_FMT " but sends itself %d", (int)rank, end[rank] - cur[rank], k, (int)scnt[rank]);
    nreq = 0;
    if (mode == SCATTER_FORWARD) {
      for (PetscInt j = j0; j < j1; j++) PetscCall(PetscMemcpy(buf + (size_t)spos[net->nmdest[j]]++ * bs, xnat + (size_t)j * bs, blk));
      for (PetscMPIInt s = 0; s < size; s++)
        if (s != rank && end[s] > cur[s]) PetscCallMPI(MPI_Irecv(x + (size_t)cur[s] * bs, (PetscMPIInt)((end[s] - cur[s]) * bs), MPIU_SCALAR, s, net->nmtag, net->nmcomm, &req[nreq++]));
      for (PetscMPIInt q = 0; q < size; q++)
        if (q != rank && scnt[q]) PetscCallMPI(MPI_Isend(buf + (size_t)soff[q] * bs, (PetscMPIInt)(scnt[q] * bs), MPIU_SCALAR, q, net->nmtag, net->nmcomm, &req[nreq++]));
      if (scnt[rank]) PetscCall(PetscArraycpy(x + (size_t)cur[rank] * bs, buf + (size_t)soff[rank] * bs, (size_t)scnt[rank] * bs));
      PetscCallMPI(MPI_Waitall(nreq, req, MPI_STATUSES_IGNORE));
    } else {
      for (PetscMPIInt q = 0; q < size; q++)
        if (q != rank && scnt[q]) PetscCallMPI(MPI_Irecv(buf + (size_t)soff[q] * bs, (PetscMPIInt)(scnt[q] * bs), MPIU_SCALAR, q, net->nmtag, net->nmcomm, &req[nreq++]));
      for (PetscMPIInt s = 0; s < size; s++)
        if (s != rank && end[s] > cur[s]) PetscCallMPI(MPI_Isend(x + (size_t)cur[s] * bs, (PetscMPIInt)((end[s] - cur[s]) * bs), MPIU_SCALAR, s, net->nmtag, net->nmcomm, &req[nreq++]));
      if (scnt[rank]) PetscCall(PetscArraycpy(buf + (size_t)soff[rank] * bs, x + (size_t)cur[rank] * bs, (size_t)scnt[rank] * bs));
      PetscCallMPI(MPI_Waitall(nreq, req, MPI_STATUSES_IGNORE));
      for (PetscInt j = j0; j < j1; j++) PetscCall(PetscMemcpy(xnat + (size_t)j * bs, buf + (size_t)spos[net->nmdest[j]]++ * bs, blk));
    }
    for (PetscMPIInt s = 0; s < size; s++) cur[s] = end[s];
  }
  PetscCall(PetscFree3(cur, end, req));
  PetscCall(PetscFree3(scnt, soff, spos));
  PetscCall(PetscFree(buf));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetNaturalMove(TnNet net, Vec xnat, Vec x, ScatterMode mode)
{
  PetscInt     bs, m, n, lx, lnat, gx;
  PetscScalar *a, *anat;
  PetscFunctionBeginUser;
  PetscCheck(mode == SCATTER_FORWARD || mode == SCATTER_REVERSE, net->comm, PETSC_ERR_ARG_OUTOFRANGE, "mode: SCATTER_FORWARD or SCATTER_REVERSE");
  PetscCall(TnNetNaturalMapSetUp(net));
  PetscCall(VecGetSize(x, &gx));
  bs = gx / net->N; /* values a node */
  PetscCall(VecGetLocalSize(x, &lx));
  PetscCall(VecGetLocalSize(xnat, &lnat));
  PetscCall(MatGetLocalSize(net->W, &m, NULL));
  n = net->nmsame ? m : net->nmranges[net->nmrank + 1] - net->nmranges[net->nmrank];
  PetscCheck(bs >= 1 && gx == bs * net->N && lx == m * bs && lnat == n * bs, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "the vectors' local sizes %" PetscInt_FMT " and %" PetscInt_FMT " are not the network's partitioned and natural ones (%" PetscInt_FMT " and %" PetscInt_FMT " nodes, %" PetscInt_FMT " values a node)", lx, lnat, m, n, bs);
  if (mode == SCATTER_FORWARD) {
    PetscCall(VecGetArrayRead(xnat, (const PetscScalar **)&anat));
    PetscCall(VecGetArrayWrite(x, &a));
  } else {
    PetscCall(VecGetArrayRead(x, (const PetscScalar **)&a));
    PetscCall(VecGetArrayWrite(xnat, &anat));
  }
  if (net->nmsame) { /* the same order: a copy */
    if (m > 0) PetscCall(PetscArraycpy(mode == SCATTER_FORWARD ? a : anat, mode == SCATTER_FORWARD ? anat : a, (size_t)m * bs));
  } else
    PetscCall(Move(net, bs, n, anat, a, mode));
  if (mode == SCATTER_FORWARD) {
    PetscCall(VecRestoreArrayRead(xnat, (const PetscScalar **)&anat));
    PetscCall(VecRestoreArrayWrite(x, &a));
  } else {
    PetscCall(VecRestoreArrayRead(x, (const PetscScalar **)&a));
    PetscCall(VecRestoreArrayWrite(xnat, &anat));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
