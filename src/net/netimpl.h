/* Private: the network object. After SetUp, W, b, gamma and wdiag share the
   partitioned row layout, and natural[] maps local rows to node numbers of the
   generator or file (which are what users and data files see). */
#pragma once
#include <tenor/net.h>

struct _p_TnNet {
  MPI_Comm  comm;
  char      type[64], parttype[64];
  PetscInt  n, k;
  PetscReal radius, rewire, scale, gamma0, bias;
  PetscReal recip; /* er: designed reciprocity in [0, 1] (er.c) */
  PetscBool self, setup;
  PetscInt  users; /* TnDyn objects holding views of W */
  PetscInt  seed;
  char      wfile[PETSC_MAX_PATH_LEN], bfile[PETSC_MAX_PATH_LEN], gfile[PETSC_MAX_PATH_LEN];
  char      partfile[PETSC_MAX_PATH_LEN]; /* -partition_file: used instead of the partitioner ("" : none) */
  PetscInt  exchkb;                       /* -partition_exchange_kb: bytes/1024 a rank sends per round of the renumbering and of a vector's move (0: automatic) */
  Mat       Wuser;
  Vec       buser, guser;

  Mat             W, S;
  Vec             b, gamma, wdiag;
  PetscScalar    *param;                   /* [W's two blocks' values | b | u = log gamma] (storage.c) */
  PetscInt       *pia, *pja, *poia, *poja; /* W's CSR structure, which W is built on */
  PetscInt        npar;
  PetscInt       *diagpos;  /* W_ii among Ad's values, or -1 (storage.c) */
  PetscInt64      pversion; /* writes of the parameters announced so far (TnNetGetParamVersion) */
  PetscInt        N, *natural;
  PetscInt64      nnz;
  TnPartitionInfo pinfo;
  PetscLogDouble  t_build, t_partition;
  /* natural <-> partitioned order of vectors (src/partition/natural.c),
     built at the first move */
  PetscBool   nmset, nmsame;          /* built; the orders are the same (a copy) */
  PetscMPIInt nmrank, nmtag, *nmdest; /* dest[j]: the rank holding natural node ranges[rank] + j */
  PetscInt   *nmranges, *nmfrom;      /* the default split; rows from natural owner s: [from[s], from[s+1]) */
  MPI_Comm    nmcomm;
};

/* Drops everything SetUp built (a setter changed the configuration). */
PetscErrorCode TnNetReset(TnNet net);

/* Generators: build W (natural order, default row split) from the local rows'
   column lists. Each row's randomness depends only on (seed, row). */
typedef PetscErrorCode (*TnNetRowFn)(TnNet, PetscInt row, PetscInt *cols, PetscInt *ncols);
PetscErrorCode TnNetBuildFromRows(TnNet net, PetscInt N, PetscInt maxcols, TnNetRowFn rowfn, Mat *W);
PetscErrorCode TnNetRows_Lattice2d(TnNet, PetscInt, PetscInt *, PetscInt *);
PetscErrorCode TnNetRows_ER(TnNet, PetscInt, PetscInt *, PetscInt *);
PetscErrorCode TnNetRows_SmallWorld(TnNet, PetscInt, PetscInt *, PetscInt *);
PetscErrorCode TnNetRows_Full(TnNet, PetscInt, PetscInt *, PetscInt *);
PetscInt       TnNetLattice2dMaxCols(TnNet);
/* Columns of a lattice2d row (before the de-duplication a small lattice needs). */
double TnNetLattice2dRowCount(TnNet);

/* The one parameter array W and b are built on (storage.c): allocated for
   m rows with nd and no synapses in the two blocks (param, pia, pja, poia,
   poja), and adopted: W and b moved onto it. */
PetscErrorCode TnNetAllocStorage(TnNet net, PetscInt m, PetscInt nd, PetscInt no);
PetscErrorCode TnNetAdoptStorage(TnNet net);
PetscErrorCode TnNetFreeStorage(TnNet net);

/* Renumbering by a graph partitioner or a partition file (src/partition).
   Consumes W (*W = NULL on return: it becomes net->W, or is destroyed once
   its rows are moved). */
PetscErrorCode TnPartitionNet(TnNet net, Mat *W, Vec b, Vec gamma);
/* The bytes a rank sends per round when rows or vectors move between
   ranks, for `bytes` in all: -partition_exchange_kb, or by default
   bytes / 32 and at least 4 MB. */
PetscErrorCode TnPartitionRoundBytes(TnNet net, PetscInt64 bytes, PetscInt64 *per);
PetscErrorCode TnNetNaturalMapFree(TnNet net);
