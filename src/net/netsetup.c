/* TnNet: options, building/loading, validation and partitioning. */
#include "netimpl.h"
#include <tenor/io.h>
#include <math.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static const char *const TnNetTypes[] = {TNNET_LATTICE2D, TNNET_ER, TNNET_SMALLWORLD, TNNET_FULL, TNNET_FILE};

PetscErrorCode TnNetSetFromOptions(TnNet net)
{
  PetscInt  itype = 0;
  PetscBool set;
  char      part[64];
  PetscFunctionBeginUser;
  for (PetscInt t = 0; t < 5; t++) {
    PetscBool eq;
    PetscCall(PetscStrcmp(net->type, TnNetTypes[t], &eq));
    if (eq) itype = t;
  }
  PetscOptionsBegin(net->comm, "net_", "Network (docs/model.md section 1)", "TnNet");
  PetscCall(TnOptionsChoice("-type", "Generator or source of W", "TnNetSetType", TnNetTypes, 5, &itype, &set));
  if (set) PetscCall(PetscStrncpy(net->type, TnNetTypes[itype], sizeof(net->type)));
  PetscCall(TnOptionsInt("-n", "Lattice side n (lattice2d: N = n^2) or node count N (er, smallworld, full)", "TnNetSetSize", net->n, &net->n, NULL, 1, PETSC_MAX_INT));
  PetscCall(TnOptionsInt("-k", "In-degree (er, smallworld)", "TnNetSetDegree", net->k, &net->k, NULL, 0, PETSC_MAX_INT));
  PetscCall(TnOptionsReal("-radius", "Neighbourhood radius (lattice2d)", "TnNetSetRadius", net->radius, &net->radius, NULL, 0, PETSC_MAX_REAL));
  PetscCall(TnOptionsReal("-rewire", "Rewiring probability (smallworld)", "TnNetSetRewire", net->rewire, &net->rewire, NULL, 0, 1));
  PetscCall(TnOptionsReal("-reciprocity", "er: fraction of edges whose reverse is also an edge, in [0, 1]", "TnNetSetReciprocity", net->recip, &net->recip, NULL, 0, 1));
  PetscCall(TnOptionsBool("-self", "Self-loops W_ii", "TnNetSetSelfLoops", net->self, &net->self, NULL));
  PetscCall(TnOptionsReal("-scale", "Weight scale g: W_ij = g u / sqrt(k_i), Var u = 1", "TnNetSetWeightScale", net->scale, &net->scale, NULL, 0, PETSC_MAX_REAL));
  PetscCall(TnOptionsReal("-gamma", "Leak gamma_i (all nodes)", "TnNetSetLeak", net->gamma0, &net->gamma0, NULL, 0, PETSC_MAX_REAL));
  PetscCall(TnOptionsReal("-bias", "Bias scale: b_i = bias * N(0,1)", "TnNetSetBiasScale", net->bias, &net->bias, NULL, PETSC_MIN_REAL, PETSC_MAX_REAL));
  PetscCall(TnOptionsInt("-seed", "Random seed of the generator", "TnNetSetSeed", net->seed, &net->seed, NULL, PETSC_MIN_INT, PETSC_MAX_INT));
  PetscCall(PetscOptionsString("-W", "MatrixMarket file of W (row i = postsynaptic)", "TnNetSetParameters", net->wfile, net->wfile, sizeof(net->wfile), &set));
  if (set) PetscCall(PetscStrncpy(net->type, TNNET_FILE, sizeof(net->type)));
  PetscCall(PetscOptionsString("-b", "File of b (MatrixMarket array or one value per line)", "TnNetSetParameters", net->bfile, net->bfile, sizeof(net->bfile), NULL));
  PetscCall(PetscOptionsString("-gamma_file", "File of gamma (MatrixMarket array or one value per line)", "TnNetSetParameters", net->gfile, net->gfile, sizeof(net->gfile), NULL));
  PetscOptionsEnd();
  PetscCall(PetscStrncpy(part, net->parttype, sizeof(part)));
  PetscOptionsBegin(net->comm, "partition_", "Domain decomposition", "TnNet");
  PetscCall(PetscOptionsString("-type", "Graph partitioner: none, or a MatPartitioningType (ptscotch, parmetis, ...)", "TnNetSetPartitioner", part, part, sizeof(part), NULL));
  PetscCall(PetscOptionsString("-file", "Partition file (tenor partition's partition_P<P>.txt, P = ranks) used instead of the partitioner", "TnNetSetPartitionFile", net->partfile, net->partfile, sizeof(net->partfile), NULL));
  PetscCall(TnOptionsInt("-exchange_kb", "KB a rank sends per round when W's rows, or vectors, move between the natural and the partitioned order (0: a 32nd of what it sends, at least 4 MB)", "TnNetSetPartitioner", net->exchkb, &net->exchkb, NULL, 0, PETSC_MAX_INT));
  PetscOptionsEnd();
  PetscCall(PetscStrncpy(net->parttype, part, sizeof(net->parttype)));
  PetscCall(TnNetReset(net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CheckGenerator(TnNet net)
{
  PetscFunctionBeginUser;
  PetscCheck(net->n > 0, net->comm, PETSC_ERR_USER, "-net_n must be positive (got %" PetscInt_FMT ")", net->n);
  PetscCheck(net->scale >= 0 && !PetscIsInfOrNanReal(net->scale), net->comm, PETSC_ERR_USER, "-net_scale must be finite and >= 0 (got %g)", (double)net->scale);
  PetscCheck(net->recip == 0 || !strcmp(net->type, TNNET_ER), net->comm, PETSC_ERR_USER, "-net_reciprocity is for -net_type er only (got type %s)", net->type);
  PetscCheck(!PetscIsInfOrNanReal(net->bias), net->comm, PETSC_ERR_USER, "-net_bias must be finite (got %g)", (double)net->bias);
  PetscCheck(net->gamma0 > 0 && PetscIsNormalReal(net->gamma0), net->comm, PETSC_ERR_USER, "-net_gamma must be > 0 (gamma_i > 0), got %g", (double)net->gamma0);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Collective. Before a generator runs: the memory its network needs on this
   rank, refused with TnCheckMemory when some node cannot hold it, and
   printed when it is large. N nodes with `per_row` synapses each; this rank
   gets m rows (PETSc's default split), nnz = m per_row synapses. At set-up
   the matrix exists twice when its rows move to other ranks (the generated
   W and the exchange's buffers, src/partition/partition.c; once when they
   stay: W is generated on the parameter storage, storage.c); the estimate
   counts twice, at 12 bytes a synapse (column index and value) and about
   24 bytes a row (the row arrays of the two blocks), plus about 64 bytes a
   node for b, gamma, W's diagonal, the node numbering and build counters.
   The estimate is printed when it is 1 GB or more, or a quarter of a node's
   memory. */
static PetscErrorCode CheckBuildMemory(TnNet net, PetscInt N, double per_row)
{
  PetscInt    m = PETSC_DECIDE, Nn = N;
  PetscMPIInt size;
  double      nnz, bytes, total;
  char        what[256], msg[256] = "";
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(net->comm, &size));
  PetscCall(PetscSplitOwnership(net->comm, &m, &Nn));
  nnz   = (double)m * per_row;
  bytes = 2.0 * (nnz * (sizeof(PetscInt) + sizeof(PetscScalar)) + 6.0 * sizeof(PetscInt) * m) + 64.0 * m;
  if (nnz >= (double)PETSC_MAX_INT)
    PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s network with N = %" PetscInt_FMT " has about %.3g synapses per rank at %d rank(s), more than 32-bit indices hold (%d); use at least %d ranks or a smaller -net_n", net->type, N, nnz, (int)size, (int)PETSC_MAX_INT, (int)ceil((double)N * per_row / (0.9 * PETSC_MAX_INT))));
  PetscCall(TnErrorSync(net->comm, (PetscBool)(msg[0] != 0), msg));
  PetscCall(PetscSNPrintf(what, sizeof(what), "building the %s network (N = %" PetscInt_FMT ", %.3g synapses)", net->type, N, (double)N * per_row));
  PetscCall(TnCheckMemory(net->comm, bytes, what, "reduce -net_n or -net_k, or run on more nodes"));
  PetscCallMPI(MPI_Allreduce(&bytes, &total, 1, MPI_DOUBLE, MPI_SUM, net->comm));
  if (total >= 1e9 || total >= 0.25 * TnMemoryNodeAvailable()) PetscCall(PetscPrintf(net->comm, "network: building %s, N = %" PetscInt_FMT ", %.3g synapses: about %.3g GB at set-up (%.3g GB per rank, estimate)\n", net->type, N, (double)N * per_row, total / 1e9, total / size / 1e9));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode BuildGenerated(TnNet net, Mat *W)
{
  PetscBool lat, er, sw, full;
  PetscFunctionBeginUser;
  PetscCall(CheckGenerator(net));
  PetscCall(PetscStrcmp(net->type, TNNET_LATTICE2D, &lat));
  PetscCall(PetscStrcmp(net->type, TNNET_ER, &er));
  PetscCall(PetscStrcmp(net->type, TNNET_SMALLWORLD, &sw));
  PetscCall(PetscStrcmp(net->type, TNNET_FULL, &full));
  if (lat) {
    PetscCheck(net->radius >= 1 && net->radius <= net->n, net->comm, PETSC_ERR_USER, "-net_radius must be in [1, n] = [1, %" PetscInt_FMT "] (got %g)", net->n, (double)net->radius);
    PetscCheck((PetscInt64)net->n * net->n < PETSC_MAX_INT, net->comm, PETSC_ERR_USER, "-net_n %" PetscInt_FMT " gives more nodes than 32-bit indices hold", net->n);
    PetscCheck(PetscSqr(2 * net->radius + 1) < PETSC_MAX_INT, net->comm, PETSC_ERR_USER, "-net_radius %g gives more neighbours per node than 32-bit indices hold", (double)net->radius);
    net->N = net->n * net->n;
    PetscCall(CheckBuildMemory(net, net->N, TnNetLattice2dRowCount(net)));
    PetscCall(TnNetBuildFromRows(net, net->N, TnNetLattice2dMaxCols(net) + 1, TnNetRows_Lattice2d, W));
  } else if (er || sw) {
    net->N = net->n;
    PetscCheck(net->k >= 0 && net->k < net->N, net->comm, PETSC_ERR_USER, "-net_k must be in [0, N-1] = [0, %" PetscInt_FMT "] (got %" PetscInt_FMT ")", net->N - 1, net->k);
    PetscCheck(!sw || net->k % 2 == 0, net->comm, PETSC_ERR_USER, "smallworld needs an even -net_k (k/2 neighbours on each side), got %" PetscInt_FMT, net->k);
    PetscCheck(net->recip >= 0 && net->recip <= 1, net->comm, PETSC_ERR_USER, "-net_reciprocity must be in [0, 1] (got %g)", (double)net->recip);
    PetscCheck(!sw || (net->rewire >= 0 && net->rewire <= 1), net->comm, PETSC_ERR_USER, "-net_rewire must be in [0, 1] (got %g)", (double)net->rewire);
    PetscCall(CheckBuildMemory(net, net->N, (double)net->k + (net->self ? 1 : 0)));
    PetscCall(TnNetBuildFromRows(net, net->N, net->k + 1, er ? TnNetRows_ER : TnNetRows_SmallWorld, W));
  } else if (full) {
    net->N = net->n;
    PetscCheck(net->N <= 20000, net->comm, PETSC_ERR_USER, "full pattern with N = %" PetscInt_FMT " would need %.3g GB; use N <= 20000", net->N, 12.0 * net->N * (double)net->N / 1e9);
    PetscCall(CheckBuildMemory(net, net->N, (double)net->N - (net->self ? 0 : 1)));
    PetscCall(TnNetBuildFromRows(net, net->N, net->N, TnNetRows_Full, W));
  } else
    SETERRQ(net->comm, PETSC_ERR_USER, "unknown -net_type %s", net->type);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode DefaultParams(TnNet net, Mat W, Vec *b, Vec *gamma)
{
  PetscInt     rs, re;
  PetscScalar *pb;
  PetscFunctionBeginUser;
  PetscCall(MatCreateVecs(W, b, gamma));
  PetscCall(VecSet(*gamma, net->gamma0));
  PetscCall(VecGetOwnershipRange(*b, &rs, &re));
  PetscCall(VecGetArray(*b, &pb));
  for (PetscInt i = rs; i < re; i++) pb[i - rs] = net->bias * TnRandNormal((uint64_t)net->seed, 2, (uint64_t)i);
  PetscCall(VecRestoreArray(*b, &pb));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode LoadFiles(TnNet net, Mat *W, Vec *b, Vec *gamma)
{
  PetscInt N;
  PetscFunctionBeginUser;
  if (net->Wuser) {
    PetscCall(PetscObjectReference((PetscObject)net->Wuser));
    *W = net->Wuser;
  } else {
    PetscCheck(net->wfile[0], net->comm, PETSC_ERR_USER, "-net_type file needs -net_W <file.mtx>");
    PetscCall(TnReadMatrixMarket(net->comm, net->wfile, W));
  }
  PetscCall(MatGetSize(*W, &N, NULL));
  net->N = N;
  PetscCall(CheckGenerator(net));
  PetscCall(DefaultParams(net, *W, b, gamma));
  PetscCall(VecSet(*b, 0.0));
  if (net->buser) PetscCall(VecCopy(net->buser, *b));
  if (net->guser) PetscCall(VecCopy(net->guser, *gamma));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* -net_b / -net_gamma_file override the generated or default values. */
static PetscErrorCode ApplyParamFiles(TnNet net, Vec b, Vec gamma)
{
  PetscInt N = net->N;
  PetscFunctionBeginUser;
  if (net->bfile[0]) {
    Vec v;
    PetscCall(TnReadVector(net->comm, net->bfile, N, &v));
    PetscCall(VecCopy(v, b));
    PetscCall(VecDestroy(&v));
  }
  if (net->gfile[0]) {
    Vec v;
    PetscCall(TnReadVector(net->comm, net->gfile, N, &v));
    PetscCall(VecCopy(v, gamma));
    PetscCall(VecDestroy(&v));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* NaN/Inf anywhere in W, b or gamma, or gamma_i <= 0: a collective error
   naming the first offending node. */
static PetscErrorCode Validate(TnNet net, Mat W, Vec b, Vec gamma)
{
  PetscInt           rs, re;
  const PetscScalar *pb, *pg;
  char               msg[256] = "";
  PetscBool          bad      = PETSC_FALSE;
  PetscFunctionBeginUser;
  PetscCall(MatGetOwnershipRange(W, &rs, &re));
  PetscCall(VecGetArrayRead(b, &pb));
  PetscCall(VecGetArrayRead(gamma, &pg));
  for (PetscInt i = rs; i < re && !bad; i++) {
    PetscInt           nc;
    const PetscInt    *cols;
    const PetscScalar *vals;
    PetscCall(MatGetRow(W, i, &nc, &cols, &vals));
    for (PetscInt t = 0; t < nc && !bad; t++)
      if (PetscIsInfOrNanReal(vals[t])) {
        bad = PETSC_TRUE;
        PetscCall(PetscSNPrintf(msg, sizeof(msg), "W(%" PetscInt_FMT ",%" PetscInt_FMT ") = %g is not finite (1-based indices); fix the weights", i + 1, cols[t] + 1, (double)vals[t]));
      }
    PetscCall(MatRestoreRow(W, i, &nc, &cols, &vals));
    if (!bad && PetscIsInfOrNanReal(pb[i - rs])) {
      bad = PETSC_TRUE;
      PetscCall(PetscSNPrintf(msg, sizeof(msg), "b(%" PetscInt_FMT ") = %g is not finite (1-based)", i + 1, (double)pb[i - rs]));
    }
    if (!bad && !(pg[i - rs] > 0 && PetscIsNormalReal(pg[i - rs]))) {
      bad = PETSC_TRUE;
      PetscCall(PetscSNPrintf(msg, sizeof(msg), "gamma(%" PetscInt_FMT ") = %g: the leak must be finite and > 0 (docs/model.md section 1)", i + 1, (double)pg[i - rs]));
    }
  }
  PetscCall(VecRestoreArrayRead(b, &pb));
  PetscCall(VecRestoreArrayRead(gamma, &pg));
  PetscCall(TnErrorSync(net->comm, bad, msg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetSetUp(TnNet net)
{
  Mat       W;
  Vec       b, gamma;
  PetscBool file;
  MatInfo   info;
  PetscFunctionBeginUser;
  if (net->setup) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscLogEventBegin(TN_NetBuild, 0, 0, 0, 0));
  net->t_build = TnTime();
  PetscCall(PetscStrcmp(net->type, TNNET_FILE, &file));
  if (file || net->Wuser)
    PetscCall(LoadFiles(net, &W, &b, &gamma));
  else {
    PetscCall(BuildGenerated(net, &W));
    PetscCall(DefaultParams(net, W, &b, &gamma));
  }
  PetscCall(ApplyParamFiles(net, b, gamma));
  PetscCall(Validate(net, W, b, gamma));
  {
    PetscBool mpiaij;
    PetscCall(PetscObjectTypeCompare((PetscObject)W, MATMPIAIJ, &mpiaij));
    if (!mpiaij) PetscCall(MatConvert(W, MATMPIAIJ, MAT_INPLACE_MATRIX, &W)); /* the kernels read MPIAIJ's two blocks */
  }
  net->t_build = TnTime() - net->t_build;
  PetscCall(PetscLogEventEnd(TN_NetBuild, 0, 0, 0, 0));
  PetscCall(TnMemoryTrace(net->comm, "net: W built (natural order)"));
  net->t_partition = TnTime();
  PetscCall(TnPartitionNet(net, &W, b, gamma)); /* consumes W */
  net->t_partition = TnTime() - net->t_partition;
  PetscCall(MatDestroy(&W));
  PetscCall(VecDestroy(&b));
  PetscCall(VecDestroy(&gamma));
#if defined(__GLIBC__)
  /* the generator's and partitioner's freed memory goes back to the system
     before the storage's b and log gamma pages and W_ii are added */
  malloc_trim(0);
#endif
  PetscCall(TnMemoryTrace(net->comm, "net: partitioned"));
  PetscCall(TnNetAdoptStorage(net));
  PetscCall(MatCreateVecs(net->W, &net->wdiag, NULL));
  PetscCall(MatGetDiagonal(net->W, net->wdiag));
  PetscCall(MatGetInfo(net->W, MAT_GLOBAL_SUM, &info));
  net->nnz   = (PetscInt64)info.nz_used;
  net->setup = PETSC_TRUE;
#if defined(__GLIBC__)
  malloc_trim(0); /* and the replaced b's */
#endif
  PetscCall(TnMemoryTrace(net->comm, "net: set up (parameter storage)"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNetView(TnNet net, PetscViewer viewer)
{
  TnPartitionInfo *p = &net->pinfo;
  PetscMPIInt      size;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(net->comm, &size));
  PetscCall(PetscViewerASCIIPrintf(viewer, "network: %s, N = %" PetscInt_FMT ", synapses (nnz) = %" PetscInt64_FMT " (%.2f per node)\n", net->type, net->N, net->nnz, (double)net->nnz / (double)net->N));
  if (size == 1)
    PetscCall(PetscViewerASCIIPrintf(viewer, "partition: one rank, nothing to partition\n"));
  else
    PetscCall(PetscViewerASCIIPrintf(viewer, "partition: %s; edge cut %" PetscInt_FMT " (%.2f%% of synapses); halo per rank min/mean/max %" PetscInt_FMT "/%.1f/%" PetscInt_FMT "; neighbours %" PetscInt_FMT "/%.1f/%" PetscInt_FMT "; imbalance rows %.3f, nnz %.3f\n", net->partfile[0] ? net->partfile : net->parttype, p->edge_cut,
                                     100.0 * (double)p->edge_cut / (double)PetscMax(net->nnz, 1), p->halo_min, (double)p->halo_mean, p->halo_max, p->neighbours_min, (double)p->neighbours_mean, p->neighbours_max, (double)p->imbalance_rows, (double)p->imbalance_nnz));
  PetscFunctionReturn(PETSC_SUCCESS);
}
