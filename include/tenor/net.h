/* tenor/net.h - the network: connectivity W on a fixed sparse pattern P,
   bias b and leak gamma (docs/model.md section 1), distributed over the ranks as
   contiguous blocks of rows of a PETSc MPIAIJ matrix, optionally renumbered by
   a graph partitioner so that each rank owns a well-connected block. */
#pragma once
#include <tenor/sys.h>
#include <petscmat.h>

typedef struct _p_TnNet *TnNet;

/* Generators and sources, chosen with -net_type. */
#define TNNET_LATTICE2D "lattice2d"
#define TNNET_ER "er"
#define TNNET_SMALLWORLD "smallworld"
#define TNNET_FULL "full"
#define TNNET_FILE "file"

/* Partition quality (TnNetGetPartitionInfo). */
typedef struct {
  PetscInt  edge_cut;           /* edges i<-j of P with i, j on different ranks */
  PetscInt  halo_min, halo_max; /* ghost nodes a rank receives each step */
  PetscReal halo_mean;
  PetscInt  neighbours_min, neighbours_max; /* ranks owning a rank's ghost nodes: the messages it receives each step */
  PetscReal neighbours_mean;
  PetscReal imbalance_rows, imbalance_nnz; /* max over ranks / mean */
} TnPartitionInfo;

PetscErrorCode TnNetCreate(MPI_Comm comm, TnNet *net);
PetscErrorCode TnNetSetType(TnNet net, const char type[]);
/* Lattice side n (N = n*n) for lattice2d; node count N for er, smallworld, full. */
PetscErrorCode TnNetSetSize(TnNet net, PetscInt n);
/* In-degree k (er, smallworld); radius (lattice2d); rewiring probability p. */
PetscErrorCode TnNetSetDegree(TnNet net, PetscInt k);
PetscErrorCode TnNetSetRadius(TnNet net, PetscReal r);
PetscErrorCode TnNetSetRewire(TnNet net, PetscReal p);
/* er: the fraction r in [0, 1] of edges i<-j whose reverse j<-i is also an
   edge, by design (default 0: reciprocal pairs only by chance, about k/N).
   The in-degree stays exactly k (src/net/er.c). */
PetscErrorCode TnNetSetReciprocity(TnNet net, PetscReal r);
PetscErrorCode TnNetSetSelfLoops(TnNet net, PetscBool self);
/* Weights W_ij = scale * u_ij / sqrt(k_i), u uniform with unit variance;
   gamma_i = gamma; b_i = bias * standard normal. */
PetscErrorCode TnNetSetWeightScale(TnNet net, PetscReal scale);
PetscErrorCode TnNetSetLeak(TnNet net, PetscReal gamma);
PetscErrorCode TnNetSetBiasScale(TnNet net, PetscReal bias);
PetscErrorCode TnNetSetSeed(TnNet net, PetscInt seed);
/* Partitioner: "none" or a MatPartitioningType ("ptscotch", "parmetis", ...). */
PetscErrorCode TnNetSetPartitioner(TnNet net, const char type[]);
/* A partition computed beforehand (tenor partition, docs/partition.md): a
   text file of N part numbers, one per line in natural node order, used at
   SetUp instead of the partitioner. Its parts must be exactly the ranks:
   numbers in [0, P), P = the rank count, every rank given a node; a wrong
   length, a number out of range, another P or an empty rank is one
   collective error naming the file. NULL or "" goes back to the partitioner. */
PetscErrorCode TnNetSetPartitionFile(TnNet net, const char path[]);
/* The partitioner and partition file set (borrowed; file "" : none). */
PetscErrorCode TnNetGetPartitioner(TnNet net, const char **type, const char **file);
/* Use these (natural order, default row split) instead of a generator. The
   net takes its own references. b or gamma may be NULL (zero bias, gamma = the
   leak set by TnNetSetLeak). */
PetscErrorCode TnNetSetParameters(TnNet net, Mat W, Vec b, Vec gamma);
/* Options (prefix -net_ and -partition_): see -help. */
PetscErrorCode TnNetSetFromOptions(TnNet net);
/* Builds (or loads) the network, checks it (NaN/Inf, sizes), partitions and
   renumbers it. Collective. */
PetscErrorCode TnNetSetUp(TnNet net);

/* Accessors (after SetUp): W in the partitioned order; b, gamma and the
   diagonal W_ii as vectors with W's row layout. Borrowed references. */
PetscErrorCode TnNetGetMat(TnNet net, Mat *W);
/* The halo of a node-state vector x (partitioned order, B consecutive
   values per node): *G (sequential, B values per ghost node of W, in the
   order of W's off-diagonal columns, garray) and the scatter x -> G. Every
   user of presynaptic values from other ranks builds its halo here. array:
   G's storage, B times the ghost count (W's off-diagonal columns) values, kept
   by the caller (the kernels' aligned buffers), or NULL: G allocates its
   own. Collective. */
PetscErrorCode TnNetCreateHalo(TnNet net, Vec x, PetscInt B, PetscScalar *array, Vec *G, VecScatter *halo);
PetscErrorCode TnNetGetVecs(TnNet net, Vec *b, Vec *gamma, Vec *wdiag);
PetscErrorCode TnNetGetSizes(TnNet net, PetscInt *N, PetscInt64 *nnz);
/* natural[i]: the original (natural) number of local row i; size = local rows. */
PetscErrorCode TnNetGetNatural(TnNet net, const PetscInt **natural);
/* Moves a vector between the natural order (PETSc's default split of the N
   nodes) and the partitioned one, bs values a node (bs = the Vecs' size / N):
   x[i] = xnat[natural[i]] (SCATTER_FORWARD) or back (SCATTER_REVERSE), in
   rounds of -partition_exchange_kb (src/partition/natural.c). Keeps 4 bytes
   a node for it, built by the first move or by TnNetNaturalMapSetUp; a
   copy when the orders are the same. Collective. */
PetscErrorCode TnNetNaturalMapSetUp(TnNet net);
PetscErrorCode TnNetNaturalMove(TnNet net, Vec xnat, Vec x, ScatterMode mode);
/* The symmetrised pattern P + P^T without the diagonal (for colouring). */
PetscErrorCode TnNetGetSymmetricPattern(TnNet net, Mat *S);
PetscErrorCode TnNetGetPartitionInfo(TnNet net, TnPartitionInfo *info);
PetscErrorCode TnNetGetType(TnNet net, const char **type);
/* The node count the settings ask a generator for, without SetUp (lattice2d:
   n*n; a file network: -1, known only once read). For work that needs N but
   not W (tenor recall's overlap form on a full net). */
PetscErrorCode TnNetGetRequestedSize(TnNet net, PetscInt *N);
PetscErrorCode TnNetGetComm(TnNet net, MPI_Comm *comm);
/* The network's parameters as one local array, which W's values and b are
   views of: [W's on-process block values | off-process block values | b |
   u = log gamma] (the layout of TnGrad's theta). Writing W's values or b
   here changes the network; gamma and W_ii are derived vectors, and a
   dynamics object may keep its own copy (TnNetGetParamVersion): call
   TnNetParamsUpdated after writing (TnNetSetParams does). Borrowed; *n = its
   length. */
PetscErrorCode TnNetGetParamArray(TnNet net, PetscScalar **param, PetscInt *n);
/* Where each part lives in that array (and in theta): W's on-process block
   values [0, nd) in the CSR order of the local rows (Ad), its off-process
   block values [nd, nd + no) (Ao), b [b, b + m), u [u, u + m). */
typedef struct {
  PetscInt nd, no, m, n; /* sizes; n = nd + no + 2 m */
  PetscInt b, u;         /* offsets of b and u */
} TnParamLayout;
PetscErrorCode TnNetGetParamLayout(TnNet net, TnParamLayout *L);
/* Entry q of the trial theta + alpha d (d = NULL: theta): the one expression
   the invertibility check of a trial and the update that stores it use, so
   that what is checked is what is stored, bit for bit. */
static inline PetscScalar TnParamTrial(const PetscScalar *th, const PetscScalar *d, PetscReal alpha, PetscInt q)
{
  return d ? th[q] + alpha * d[q] : th[q];
}
/* The parameters <- th (add false; nothing to copy when th is the net's own
   array) or the parameters + alpha th (add true), written through W's and
   b's own storage (their object states increase, so no cached norm
   survives); then gamma = e^u and W_ii (TnNetParamsUpdated). Local. */
PetscErrorCode TnNetSetParams(TnNet net, const PetscScalar *th, PetscReal alpha, PetscBool add);
/* After the array was written: gamma_i = e^{u_i}, W_ii from W's values. */
PetscErrorCode TnNetParamsUpdated(TnNet net);
/* After W's values alone were written (b and u untouched): W_ii from W's
   values; gamma is left as it is. Local. */
PetscErrorCode TnNetWeightsUpdated(TnNet net);
/* W_ii of local row i from W's values w (the parameter array), into wd
   (wdiag's array, TnNetGetVecs), diagpos from TnNetGetDiagPositions: the
   one rule by which wdiag follows W. */
static inline void TnNetDiagOfRow(const PetscInt *diagpos, const PetscScalar *w, PetscScalar *wd, PetscInt i)
{
  if (diagpos[i] >= 0) wd[i] = w[diagpos[i]];
}
/* After W's values alone were written and, with them, wdiag by
   TnNetDiagOfRow on every local row (a caller that writes W row by row
   then need not read W again): the version moves on. Local. */
PetscErrorCode TnNetWeightsUpdatedDiag(TnNet net);
/* A counter that grows at every write of the parameters announced by
   TnNetParamsUpdated or TnNetWeightsUpdated (TnNetSetParams, SetUp): what
   was computed from the parameters at one version still holds while the
   version is the same. Local. */
PetscErrorCode TnNetGetParamVersion(TnNet net, PetscInt64 *version);
/* diagpos[i]: the position of W_ii among the on-process block's values
   (Ad's), or -1 when the pattern has no self-loop at i. Borrowed. */
PetscErrorCode TnNetGetDiagPositions(TnNet net, const PetscInt **diagpos);
/* Natural (row, column) of each local entry of the parameter array: W
   entries give (i, j), b entries (i, -1), u entries (i, -2). Arrays of the
   local length, to be freed with PetscFree2(row, col). Collective. */
PetscErrorCode TnNetGetParamMap(TnNet net, PetscInt **row, PetscInt **col);
PetscErrorCode TnNetView(TnNet net, PetscViewer viewer);
/* A dynamics object borrows the net's arrays from its SetUp to its Reset:
   TnNetUse(net, +1 / -1). A setter on a net in use is an error. */
PetscErrorCode TnNetUse(TnNet net, PetscInt delta);
PetscErrorCode TnNetDestroy(TnNet *net);
