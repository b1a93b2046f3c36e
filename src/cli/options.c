/* The options pass of every command (TnOptionsPassBegin/End, tenor/sys.h):
   the objects a command uses are created and read their options, without
   set-up, so that -help lists them and a mistyped option is refused before
   any work. */
#include "cli.h"
#include <tenor/sample.h>
#include <tenor/train.h>

/* Options read outside any object with PetscOptionsGet*: declared and
   checked here, so that the readers deep inside may trust them. */
static PetscErrorCode RunTimeOptions(MPI_Comm comm)
{
  PetscBool trace = PETSC_FALSE, mtrace = PETSC_FALSE;
  PetscReal limit = 0, every = 2.0;
  PetscInt  chunk = (PetscInt)1 << 20;
  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, NULL, "Run time (every command)", "tenor");
  PetscCall(TnOptionsBool("-tn_traceback", "PETSc's full traceback on an error instead of tenor's one-line message", "TnInitialize", trace, &trace, NULL));
  PetscCall(TnOptionsReal("-memory_limit", "Bytes per node the ranks of a node may use together, for the whole run: what they already hold counts (0: 90% of MemAvailable)", "TnCheckMemory", limit, &limit, NULL, 0, PETSC_MAX_REAL));
  PetscCall(TnOptionsReal("-tn_progress_every", "Seconds between progress lines", "TnProgressStart", every, &every, NULL, 0, PETSC_MAX_REAL));
  PetscCall(TnOptionsInt("-tn_io_chunk", "Values an input file's reader parses on rank 0 per block before scattering them (sample CSV files: 2^22 by default)", "TnIoChunkSize", chunk, &chunk, NULL, 1, TN_IO_CHUNK_MAX));
  PetscCall(TnOptionsBool("-memory_trace", "Print the resident and peak memory (summed over ranks) after each set-up phase", "TnMemoryTrace", mtrace, &mtrace, NULL));
  PetscOptionsEnd();
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnCliOptionsPass(MPI_Comm comm, const char command[], unsigned objects, PetscInt batch, PetscBool *help)
{
  TnNet     net  = NULL;
  TnDyn     dyn  = NULL;
  TnData    data = NULL;
  TnTrain   tr   = NULL;
  TnSampler smp  = NULL;
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(comm, &net));
  PetscCall(TnNetSetFromOptions(net));
  if (!(objects & TN_CLI_NODYN)) {
    PetscCall(TnDynCreate(net, &dyn));
    if (batch > 0) PetscCall(TnDynSetBatchSize(dyn, batch)); /* the command's own default, as -help shows it */
    PetscCall(TnDynSetFromOptions(dyn));
  }
  if (objects & TN_CLI_DATA) {
    PetscCall(TnDataCreate(comm, &data));
    PetscCall(TnDataSetFromOptions(data));
  }
  if (objects & TN_CLI_TRAIN) {
    PetscCall(TnTrainCreate(net, dyn, data, &tr));
    PetscCall(TnTrainSetFromOptions(tr));
  }
  if (objects & TN_CLI_SAMPLER) {
    PetscCall(TnSamplerCreate(dyn, &smp));
    PetscCall(TnSamplerSetFromOptions(smp));
  }
  PetscCall(RunTimeOptions(comm));
  PetscCall(TnSamplerDestroy(&smp));
  PetscCall(TnTrainDestroy(&tr));
  PetscCall(TnDataDestroy(&data));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscCall(TnOptionsPassEnd(comm, command, help));
  PetscFunctionReturn(PETSC_SUCCESS);
}
