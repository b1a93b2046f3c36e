/* The tenor program: one executable, subcommands. */
#pragma once
#include <tenor/net.h>
#include <tenor/dyn.h>
#include <tenor/data.h>
#include <stdio.h>

#define TENOR_VERSION "0.1.0"

PetscErrorCode TnCmdLogDensity(MPI_Comm comm);
PetscErrorCode TnCmdLogDet(MPI_Comm comm);
PetscErrorCode TnCmdNormCheck(MPI_Comm comm);
PetscErrorCode TnCmdSample(MPI_Comm comm);
PetscErrorCode TnCmdTrain(MPI_Comm comm);

/* The end of a command's options pass (tenor/sys.h): after
   TnOptionsPassBegin and the command's own options, the network and the
   dynamics, and with these flags the data, the trainer, the sampler read
   their options (no set-up), then TnOptionsPassEnd: -help prints them
   (*help: stop now), an unknown option is refused. Collective. */
enum { TN_CLI_DATA    = 1,
       TN_CLI_TRAIN   = 2,
       TN_CLI_SAMPLER = 4 };
PetscErrorCode TnCliOptionsPass(MPI_Comm comm, const char command[], unsigned objects, PetscBool *help);

/* The dynamics' settings with -model: the model file's (model[0] != 0),
   then the options database over them, with a note for each setting the
   command line changes (model.c). Without a model: TnDynSetFromOptions. */
PetscErrorCode TnCliConfigureDyn(MPI_Comm comm, const char model[], TnDyn dyn);
/* With a model (model[0] != 0): refuses the network's options (-net_*), which
   the model file overrides, with one message naming them. Collective. */
PetscErrorCode TnCliCheckModelOptions(MPI_Comm comm, const char model[]);

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
/* Peak resident memory summed over ranks, and its maximum over ranks (bytes). */
PetscErrorCode TnPeakMemory(MPI_Comm comm, double *sum, double *max);
/* Resident memory now, summed over ranks (bytes; /proc/self/statm). */
PetscErrorCode TnCurrentMemory(MPI_Comm comm, double *sum);
/* Options given but never read are most likely typos: one warning each, on
   rank 0, naming the command whose -help lists the options. */
PetscErrorCode TnWarnUnusedOptions(MPI_Comm comm, const char command[]);
/* JSON helpers (rank 0's FILE, NULL elsewhere). */
void TnJsonArray(FILE *fp, const char key[], const PetscReal *v, PetscInt n, PetscBool last);
