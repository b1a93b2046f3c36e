/* tenor/partition.h - the offline partitioner (partition/partitioner.c;
   docs/partition.md): a network's graph cut into P parts by serial Scotch
   on rank 0, reproducibly (the same graph, P and seed give the same parts,
   whatever the number of processes that built the graph), and the per-part
   statistics in the way the runtime sees them. `tenor partition` writes
   both; `-partition_file` feeds a partition to any command (tenor/net.h). */
#pragma once
#include <tenor/sys.h>
#include <petscmat.h>

typedef struct _p_TnPartitioner *TnPartitioner;

/* Scotch's strategy presets (SCOTCH_STRAT*): default, quality, speed, balance. */
typedef enum {
  TN_PART_DEFAULT,
  TN_PART_QUALITY,
  TN_PART_SPEED,
  TN_PART_BALANCE
} TnPartStrategy;
extern const char *const TnPartStrategies[];
/* What the parts balance: rows (nodes, as the runtime's partitioner) or synapses. */
typedef enum {
  TN_PART_ROWS,
  TN_PART_SYNAPSES
} TnPartBalance;
extern const char *const TnPartBalances[];

PetscErrorCode TnPartitionerCreate(MPI_Comm comm, TnPartitioner *p);
/* Scotch's random seed (default 1), allowed load imbalance (default 0.01:
   the heaviest part at most 1.01 times the mean), strategy, balanced
   quantity. Options: -partition_seed, -partition_imbalance,
   -partition_strategy, -partition_balance. */
PetscErrorCode TnPartitionerSetSeed(TnPartitioner p, PetscInt seed);
PetscErrorCode TnPartitionerSetImbalance(TnPartitioner p, PetscReal imbalance);
PetscErrorCode TnPartitionerSetStrategy(TnPartitioner p, TnPartStrategy s);
PetscErrorCode TnPartitionerSetBalance(TnPartitioner p, TnPartBalance b);
PetscErrorCode TnPartitionerSetFromOptions(TnPartitioner p);
/* The settings, and the Scotch version the library was built with. */
PetscErrorCode TnPartitionerGetInfo(TnPartitioner p, PetscInt *seed, PetscReal *imbalance, TnPartStrategy *s, TnPartBalance *b, const char **scotch_version);
/* The graph: W's pattern (any parallel AIJ matrix, N x N, natural node
   order, any row split) gathered on rank 0, and from it the symmetric graph
   Scotch partitions: an edge i - j (i != j) for every synapse W_ij or W_ji,
   weighted by how many of the two exist, so that Scotch's cut is the number
   of synapses between parts. Collective. */
PetscErrorCode TnPartitionerSetGraph(TnPartitioner p, Mat W);
/* part[i] in [0, P) for the N nodes, in natural order, on rank 0 (part is
   ignored elsewhere and may be NULL). 1 <= P <= N. Collective (an error of
   Scotch is raised on every rank). seconds: Scotch's time (may be NULL). */
PetscErrorCode TnPartitionerApply(TnPartitioner p, PetscInt P, PetscInt part[], PetscLogDouble *seconds);

/* Per-part statistics of a partition, as the runtime uses it when part q is
   rank q: rows[q] the nodes of q, synapses[q] the nonzeros of their rows of
   W, halo[q] the distinct nodes j outside q with W_ij != 0 for some i in q
   (the ghost values q receives every step: the columns of its off-process
   block), neighbours[q] the parts owning them (the ranks q receives from),
   offsynapses[q] the synapses of q's rows whose presynaptic node is outside q
   (the nonzeros of its off-process block: the work that waits for the halo);
   edge_cut the synapses W_ij with i, j in different parts (the sum of
   offsynapses). */
typedef struct {
  PetscInt    P;
  PetscInt64  edge_cut, nnz;
  PetscInt   *rows, *halo, *neighbours; /* [P] */
  PetscInt64 *synapses, *offsynapses;   /* [P] */
} TnPartStats;
/* On rank 0 for a part[] of the graph set (P parts); *st allocated there
   (zeros elsewhere). Collective. */
PetscErrorCode TnPartitionerGetStats(TnPartitioner p, PetscInt P, const PetscInt part[], TnPartStats *st);
PetscErrorCode TnPartStatsDestroy(TnPartStats *st);
/* The number of nodes of the graph set (every rank). */
PetscErrorCode TnPartitionerGetSize(TnPartitioner p, PetscInt *N, PetscInt64 *nnz);
PetscErrorCode TnPartitionerDestroy(TnPartitioner *p);
