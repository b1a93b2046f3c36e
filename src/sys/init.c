/* Start-up and shut-down: tenor's error handler and log events.
   Invariant: an error detected collectively is printed by rank 0 only; an
   error detected on one rank is printed by that rank and aborts the job.
   HDF5 prints no error stacks (unless -tn_traceback). */
#include <tenor/sys.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <hdf5.h>
#if defined(TENOR_HAVE_YAML)
#include <yaml.h>
#endif
#include <string.h>

PetscClassId  TN_CLASSID;
PetscLogEvent TN_NetBuild, TN_Partition, TN_Coloring, TN_DynSetUp, TN_DynStep, TN_HaloExchange, TN_DataLoad, TN_IORead, TN_IOWrite;

static PetscBool tn_err_seen, tn_err_collective, tn_own_mpi;

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

/* A YAML options file that does not parse: "file:line:column: problem". */
static void CheckYAML(const char opt[], const char file[], char msg[], size_t len)
{
#if defined(TENOR_HAVE_YAML)
  size_t n = strlen(file);
  if (strcmp(opt, "-options_file_yaml") && !(n > 5 && !strcmp(file + n - 5, ".yaml")) && !(n > 4 && !strcmp(file + n - 4, ".yml"))) return;
  FILE         *fp = fopen(file, "r");
  yaml_parser_t parser;
  yaml_event_t  ev;
  int           done = 0;
  if (!fp || !yaml_parser_initialize(&parser)) {
    if (fp) fclose(fp);
    return;
  }
  yaml_parser_set_input_file(&parser, fp);
  while (!done) {
    if (!yaml_parser_parse(&parser, &ev)) {
      snprintf(msg, len, "%s:%lu:%lu: the YAML options file (%s) does not parse: %s%s%s", file, (unsigned long)parser.problem_mark.line + 1, (unsigned long)parser.problem_mark.column + 1, opt, parser.problem ? parser.problem : "error", parser.context ? " " : "", parser.context ? parser.context : "");
      break;
    }
    done = ev.type == YAML_STREAM_END_EVENT;
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&parser);
  fclose(fp);
#else
  (void)opt;
  (void)file;
  (void)msg;
  (void)len;
#endif
}

/* Rank 0 checks that every -options_file(_yaml) of the command line can be
   read, before PetscInitialize: PETSc 3.18 fails on rank 0 alone while the
   others wait in a broadcast. MPI is started here for that (and finalised
   by TnFinalize). Returns 0 or 1 on every rank; the message is printed once. */
static int CheckOptionsFiles(int argc, char **argv)
{
  int  rank;
  char msg[PETSC_MAX_PATH_LEN + 256] = "";
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  for (int i = 1; !rank && !msg[0] && i < argc; i++) {
    if (strcmp(argv[i], "-options_file") && strcmp(argv[i], "-options_file_yaml")) continue;
    if (i + 1 >= argc || argv[i + 1][0] == '-')
      snprintf(msg, sizeof(msg), "%s needs a file name", argv[i]);
    else {
      FILE *fp = fopen(argv[i + 1], "r");
      if (!fp)
        snprintf(msg, sizeof(msg), "cannot read the options file %s (%s): %s", argv[i + 1], argv[i], strerror(errno));
      else {
        fclose(fp);
        CheckYAML(argv[i], argv[i + 1], msg, sizeof(msg));
      }
    }
  }
  MPI_Bcast(msg, (int)sizeof(msg), MPI_CHAR, 0, MPI_COMM_WORLD);
  if (!msg[0]) return 0;
  if (!rank) fprintf(stderr, "tenor: error: %s\n", msg);
  return 1;
}

PetscErrorCode TnInitialize(int *argc, char ***argv, const char help[])
{
  int       mpi_init = 0;
  PetscBool trace = PETSC_FALSE, trace_argv = PETSC_FALSE, want_help = PETSC_FALSE;
  /* -help: tenor's options, listed by the command's options pass; PETSc's
     own (printed by PetscInitialize) only with -help all, and after them */
  for (int i = 1; i < *argc; i++)
    if (!strcmp((*argv)[i], "-help")) {
      want_help = PETSC_TRUE;
      if (i + 1 < *argc && !strcmp((*argv)[i + 1], "all")) { /* keep -help, drop "all" (PETSc knows no such value) */
        PetscHelpPrintf = TnHelpDefer;
        i++;
      }
      for (int j = i; j + 1 < *argc; j++) (*argv)[j] = (*argv)[j + 1];
      (*argc)--;
      i--;
    }
#if defined(OPEN_MPI)
  /* Open MPI's MPI-IO (OMPIO) queries its shared-file-pointer components at
     every MPI_File_open (every HDF5 file tenor writes or reads in parallel);
     the lockedfile and sm components format a name derived from the file's
     path into a fixed buffer and abort the process ("buffer overflow
     detected") for paths of about 235 characters and more. tenor never uses
     shared file pointers: leave those two out, unless the user chose. Set
     before MPI starts. */
  if (setenv("OMPI_MCA_sharedfp", "^lockedfile,sm", 0)) return PETSC_ERR_SYS;
#endif
  MPI_Initialized(&mpi_init);
  if (!mpi_init) {
    /* the thread level PetscInitialize would ask for (FUNNELED): PT-Scotch's
       threaded partitioner deadlocks at 3+ ranks under MPI_THREAD_SINGLE */
    int provided;
    if (MPI_Init_thread(argc, argv, PETSC_MPI_THREAD_REQUIRED, &provided)) return PETSC_ERR_MPI;
    tn_own_mpi = PETSC_TRUE;
  }
  if (CheckOptionsFiles(*argc, *argv)) return PETSC_ERR_FILE_OPEN;
  for (int i = 1; i < *argc; i++) trace_argv |= (PetscBool)!strcmp((*argv)[i], "-tn_traceback");
  /* installed before PetscInitialize: an unreadable or broken -options_file
     is one message too */
  if (!trace_argv) PetscCall(PetscPushErrorHandler(TnErrorHandler, NULL));
  PetscCall(PetscInitialize(argc, argv, NULL, help));
  PetscHelpPrintf = PetscHelpPrintfDefault;
  PetscFunctionBeginUser;
  if (want_help) PetscCall(PetscOptionsSetValue(NULL, "-help", NULL));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-tn_traceback", &trace, NULL));
  if (trace && !trace_argv) PetscCall(PetscPopErrorHandler());
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
  TnMemoryMarkBaseline(); /* -memory_limit counts what the run holds from here */
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
  int status = ierr ? 1 : 0, fini = 0;
  if (PetscInitializeCalled) {
    if (ierr && !AllRanksFailed()) {
      fprintf(stderr, "tenor: the error above did not happen on every rank; aborting the others\n");
      MPI_Abort(PETSC_COMM_WORLD, 1);
    }
    if (ierr) PetscPopErrorHandler();
    if (PetscFinalize()) status = 1; /* after an error, a second one adds nothing */
  }                                  /* else PetscInitialize itself failed, on every rank (an options file) */
  MPI_Finalized(&fini);
  if (tn_own_mpi && !fini) MPI_Finalize(); /* PETSc leaves MPI running when it did not start it */
  return status;
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
