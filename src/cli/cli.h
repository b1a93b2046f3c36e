/* The tenor program: one executable, subcommands. */
#pragma once
#include <tenor/net.h>
#include <tenor/dyn.h>
#include <tenor/data.h>
#include <stdio.h>
#include <tenor/io.h>
#include "io/json.h" /* JSON output: TnJsonCommit, TnJsonReal, ... */

#include <tenor/version.h> /* TENOR_VERSION, from CMakeLists.txt */
#include "tenor_git.h"     /* TENOR_GIT_COMMIT: git describe of the source tree, refreshed at every build */
#define TENOR_COMMIT TENOR_GIT_COMMIT

PetscErrorCode TnCmdLogDensity(MPI_Comm comm);
PetscErrorCode TnCmdLogDet(MPI_Comm comm);
PetscErrorCode TnCmdNormCheck(MPI_Comm comm);
PetscErrorCode TnCmdSample(MPI_Comm comm);
PetscErrorCode TnCmdTrain(MPI_Comm comm);
PetscErrorCode TnCmdRecall(MPI_Comm comm);
PetscErrorCode TnCmdPartition(MPI_Comm comm); /* partition/cli.c */
PetscErrorCode TnCmdPredict(MPI_Comm comm);

/* The end of a command's options pass (tenor/sys.h): after
   TnOptionsPassBegin and the command's own options, the network and the
   dynamics, and with these flags the data, the trainer, the sampler read
   their options (no set-up), then TnOptionsPassEnd: -help prints them
   (*help: stop now), an unknown option is refused. Collective. */
enum { TN_CLI_DATA    = 1,
       TN_CLI_TRAIN   = 2,
       TN_CLI_SAMPLER = 4,
       TN_CLI_NODYN   = 8 /* the network only (tenor partition) */ };
/* Batch sizes commands use instead of the dynamics' default (TnCliOptionsPass
   shows them in -help): the gap study's exact log-dets are costly; the
   normalisation check's grid points are just samples, widest is fastest. */
#define TN_LOGDET_BATCH 4
#define TN_NORMCHECK_BATCH 1024
PetscErrorCode TnCliOptionsPass(MPI_Comm comm, const char command[], unsigned objects, PetscInt batch, PetscBool *help);

/* The dynamics' settings with -model: the model file's (model[0] != 0),
   then the options database over them, with a note for each setting the
   command line changes (model.c). Without a model: TnDynSetFromOptions. */
PetscErrorCode TnCliConfigureDyn(MPI_Comm comm, const char model[], TnDyn dyn);
/* With a model (model[0] != 0): refuses the network's options (-net_*), which
   the model file overrides, with one message naming them. Collective. */
PetscErrorCode TnCliCheckModelOptions(MPI_Comm comm, const char model[]);

/* Class labels (labels.c, docs/predict.md). TnCliClampLabels: with C > 0
   classes (TnDataGetClasses, which reads -data_labels) the last C nodes
   are clamped (refused with -data_clamp, or with C >= N); before
   TnDynSetUp. TnCliDataClampMask: the dynamics' clamp set to the data
   (standardisation over the free nodes); after TnDynSetUp, before
   TnDataLoad. Collective. */
PetscErrorCode TnCliClampLabels(MPI_Comm comm, TnData data, TnDyn dyn, PetscInt N);
PetscErrorCode TnCliDataClampMask(MPI_Comm comm, TnDyn dyn, TnData data, PetscInt N);

/* dir/name (returned in path) written by rank 0 through TnCommitOpen /
   TnCommitClose (tenor/io.h): path.tmp, flushed, fsync'ed and renamed, so a
   crash never leaves a half-written result under its real name; a symbolic
   link at path is refused. *fp is NULL on ranks other than 0. Collective. */
PetscErrorCode TnOutOpen(MPI_Comm comm, const char dir[], const char name[], FILE **fp, char path[], size_t len);
PetscErrorCode TnOutClose(MPI_Comm comm, FILE **fp, const char path[]);
/* mkdir -p dir, then check (rank 0) that it is a directory a file can be
   created in (an exclusive temporary file, removed): every command calls it
   right after its options, before any work. One message, collective. */
PetscErrorCode TnOutMakeDir(MPI_Comm comm, const char dir[]);
/* Resident memory now, summed over ranks (bytes; /proc/self/statm). */
PetscErrorCode TnCurrentMemory(MPI_Comm comm, double *sum);
/* Options given but never read are most likely typos: one warning each, on
   rank 0, naming the command whose -help lists the options. */
PetscErrorCode TnWarnUnusedOptions(MPI_Comm comm, const char command[]);
/* JSON arrays of numbers (TnJsonReal: non-finite -> null) and strings;
   NULL when out of memory. */
json_t *TnJsonRealArray(const PetscReal *v, PetscInt n);
json_t *TnJsonStrArray(const char *const v[], PetscInt n);
/* Provenance of a JSON output, root["provenance"], written by this one
   function for every command: tenor version, git commit (TENOR_COMMIT),
   command, rank count, the full option set (PetscOptionsGetAll), every
   input file named by an option the run used (-options_file, -model,
   -net_W, -net_b, -net_gamma_file, -partition_file, -dyn_coloring_file, -data_file,
   -data_gauss_Q, -recall_pattern_file), each with its path, size in bytes and the 64-bit FNV-1a
   hash of its content (read through again by rank 0 when the provenance is
   written), plus extra (the checkpoint a run resumed from, under
   extra_option; NULL: none) with its path only, since the run rewrote it, and the data preprocessing prep (stolen; NULL:
   null, a command without data). Collective. */
PetscErrorCode TnOutProvenance(MPI_Comm comm, const char command[], json_t *prep, const char extra_option[], const char extra[], json_t *root);
/* The head of a command's JSON output (summary.json, train.json, ...):
   {"tenor_version", "command", "ranks"}. Collective. */
PetscErrorCode TnOutJsonBegin(MPI_Comm comm, const char command[], json_t **root);
/* Its tail: root["provenance"] (TnOutProvenance; the preprocessing is that
   of data when data is not NULL, else prep, stolen, NULL: null), then the
   file dir/name written atomically (TnJsonCommit: rank 0, *root consumed);
   path (len bytes) holds the file's name on return. Collective. */
PetscErrorCode TnOutJsonEnd(MPI_Comm comm, const char command[], TnData data, json_t *prep, const char dir[], const char name[], char path[], size_t len, json_t **root);
/* The preprocessing TnDataLoad applied, as JSON: dequantize, its width,
   valid_fraction, standardize and sum_log_sd = sum_i log sd_i (the shift
   from standardised to data-space losses, docs/data.md). */
PetscErrorCode TnOutDataPreprocessing(TnData data, json_t **prep);
