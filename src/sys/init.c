/* Start-up and shut-down: tenor's error handler and log events.
   Invariant: an error detected collectively is printed by rank 0 only; an
   error detected on one rank is printed by that rank and aborts the job.
   HDF5 prints no error stacks (unless -tn_traceback). */
#include <tenor/sys.h>
#include <stdio.h>
#include <stdlib.h>
#include <hdf5.h>

PetscClassId  TN_CLASSID;
PetscLogEvent TN_NetBuild, TN_Partition, TN_Coloring, TN_DynSetUp, TN_DynStep, TN_HaloExchange, TN_DataLoad, TN_IORead, TN_IOWrite;

static PetscBool tn_err_seen, tn_err_collective;

static PetscErrorCode TnErrorHandler(MPI_Comm comm, int line, const char *fun, const char *file, PetscErrorCode n, PetscErrorType p, const char *mess, void *ctx)
{
  int rank = 0, size = 1;
  if (p != PETSC_ERROR_INITIAL) return n; /* the traceback: silent */
  if (comm != MPI_COMM_NULL) {
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
  }
  tn_err_seen       = PETSC_TRUE;
  tn_err_collective = (PetscBool)(size > 1 || comm == PETSC_COMM_WORLD);
  if (rank == 0) {
    const char *text = NULL;
    PetscErrorMessage(n, &text, NULL);
    fprintf(stderr, "tenor: error: %s\n", (mess && mess[0] && mess[0] != ' ') ? mess : (text ? text : "unknown error"));
    if (n != PETSC_ERR_USER && n != PETSC_ERR_FILE_OPEN && n != PETSC_ERR_FILE_READ && n != PETSC_ERR_FILE_UNEXPECTED && n != PETSC_ERR_ARG_OUTOFRANGE && n != PETSC_ERR_ARG_WRONG && n != PETSC_ERR_NOT_CONVERGED)
      fprintf(stderr, "tenor: (PETSc error %d in %s() at %s:%d; rerun with -tn_traceback for the full trace)\n", (int)n, fun, file, line);
    fflush(stderr);
  }
  return n;
}

PetscErrorCode TnInitialize(int *argc, char ***argv, const char help[])
{
  PetscBool trace = PETSC_FALSE;
#if defined(OPEN_MPI)
  /* Open MPI's MPI-IO (OMPIO) queries its shared-file-pointer components at
     every MPI_File_open (every HDF5 file tenor writes or reads in parallel);
     the lockedfile and sm components format a name derived from the file's
     path into a fixed buffer and abort the process ("buffer overflow
     detected") for paths of about 235 characters and more. tenor never uses
     shared file pointers: leave those two out, unless the user chose. */
  if (setenv("OMPI_MCA_sharedfp", "^lockedfile,sm", 0)) return PETSC_ERR_SYS;
#endif
  PetscCall(PetscInitialize(argc, argv, NULL, help));
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-tn_traceback", &trace, NULL));
  if (!trace) PetscCall(PetscPushErrorHandler(TnErrorHandler, NULL));
  if (!trace) H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* HDF5's error stacks: tenor's readers and writers say what failed, naming the file */
  PetscCall(PetscClassIdRegister("tenor", &TN_CLASSID));
  PetscCall(PetscLogEventRegister("NetBuild", TN_CLASSID, &TN_NetBuild));
  PetscCall(PetscLogEventRegister("Partition", TN_CLASSID, &TN_Partition));
  PetscCall(PetscLogEventRegister("Coloring", TN_CLASSID, &TN_Coloring));
  PetscCall(PetscLogEventRegister("DynSetUp", TN_CLASSID, &TN_DynSetUp));
  PetscCall(PetscLogEventRegister("DynStep", TN_CLASSID, &TN_DynStep));
  PetscCall(PetscLogEventRegister("HaloExchange", TN_CLASSID, &TN_HaloExchange));
  PetscCall(PetscLogEventRegister("DataLoad", TN_CLASSID, &TN_DataLoad));
  PetscCall(PetscLogEventRegister("IORead", TN_CLASSID, &TN_IORead));
  PetscCall(PetscLogEventRegister("IOWrite", TN_CLASSID, &TN_IOWrite));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* After an error: did every rank get here? A non-blocking barrier that is
   given a few seconds tells a collective error (finalise cleanly) from one
   that hit only some ranks (the others may wait forever: abort the job). */
static PetscBool AllRanksFailed(void)
{
  MPI_Request req;
  int         done = 0, size;
  double      t0   = MPI_Wtime();
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  if (size == 1) return PETSC_TRUE;
  if (!tn_err_collective) return PETSC_FALSE;
  if (MPI_Ibarrier(PETSC_COMM_WORLD, &req)) return PETSC_FALSE;
  while (!done && MPI_Wtime() - t0 < 5.0)
    if (MPI_Test(&req, &done, MPI_STATUS_IGNORE)) return PETSC_FALSE;
  return (PetscBool)done;
}

int TnFinalize(PetscErrorCode ierr)
{
  if (ierr && !AllRanksFailed()) {
    fprintf(stderr, "tenor: the error above did not happen on every rank; aborting the others\n");
    MPI_Abort(PETSC_COMM_WORLD, 1);
  }
  if (ierr) {
    PetscPopErrorHandler();
    (void)PetscFinalize(); /* exit status is already an error; a second one adds nothing */
    return 1;
  }
  return PetscFinalize() ? 1 : 0;
}

PetscErrorCode TnErrorSync(MPI_Comm comm, PetscBool bad, const char msg[])
{
  PetscMPIInt rank, size, first;
  char        buf[1024] = {0};
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  first = bad ? rank : size;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, comm));
  if (first == size) PetscFunctionReturn(PETSC_SUCCESS);
  if (rank == first && msg) PetscCall(PetscStrncpy(buf, msg, sizeof(buf)));
  PetscCallMPI(MPI_Bcast(buf, sizeof(buf), MPI_CHAR, first, comm));
  SETERRQ(comm, PETSC_ERR_USER, "%s", buf);
}
