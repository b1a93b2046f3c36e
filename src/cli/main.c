/* tenor: the command-line front end. `tenor COMMAND [-options]`; options go
   through the PETSc options database (-help lists them, -options_file works). */
#include "cli.h"
#include "tenor_git.h"
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "tenor " TENOR_VERSION " - time-evolution normalization of large recurrent networks\n"
                            "usage: mpirun -n P tenor COMMAND [options]\n"
                            "commands:\n"
                            "  logdensity   evaluate log Phi(x) and the local losses for a set of samples\n"
                            "  logdet       the gap study: local and exact log-determinants of every step, side by side\n"
                            "  normcheck    is Phi a density? integrate it (grid for N = 2, 3; importance sampling above)\n"
                            "  sample       draw z from the base density and run the evolution backwards\n"
                            "  recall       Hopfield memory: store p patterns on the network, recall them from noisy starts\n"
                            "  train        learn: minimise the mean -log Phi over data (Adam/SGD, checkpoints, saved model)\n"
                            "  predict      classify with a model trained with labels: p(c | x) from p(x | c), accuracy, log-loss\n"
                            "  partition    cut the network into P parts (Scotch) for -partition_file, with halo and balance statistics\n"
                            "  version      print the version, the git commit and the library versions (also --version)\n"
                            "  help         this text (also --help, -h, or no command); `tenor COMMAND -help` lists COMMAND's options\n";

/* Printed without MPI set up: under mpirun, by the first rank only. */
static int FirstRank(void)
{
  const char *r = getenv("OMPI_COMM_WORLD_RANK");
  if (!r) r = getenv("PMI_RANK");
  return !r || !strcmp(r, "0");
}

/* tenor's version, its git commit and the libraries it runs with. */
static void PrintVersion(void)
{
  char     petsc[256] = "", mpi[MPI_MAX_LIBRARY_VERSION_STRING] = "";
  int      len = 0;
  unsigned maj = 0, min = 0, rel = 0;
  (void)PetscGetVersion(petsc, sizeof(petsc));
  (void)MPI_Get_library_version(mpi, &len); /* allowed before MPI_Init */
  mpi[strcspn(mpi, ",\n")] = 0;
  (void)H5get_libversion(&maj, &min, &rel);
  printf("tenor %s (git %s)\n", TENOR_VERSION, TENOR_GIT_COMMIT);
  printf("  %s (PetscInt %d-bit, PetscReal %d-bit)\n", petsc, (int)(8 * sizeof(PetscInt)), (int)(8 * sizeof(PetscReal)));
  printf("  %s\n", mpi);
  printf("  HDF5 %u.%u.%u\n", maj, min, rel);
}

int main(int argc, char **argv)
{
  PetscErrorCode ierr;
  const char    *cmd;
  if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "-help")) {
    if (FirstRank()) fputs(usage, stdout);
    return 0;
  }
  if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version") || !strcmp(argv[1], "-version")) {
    if (FirstRank()) PrintVersion();
    return 0;
  }
  if (argv[1][0] == '-') {
    if (FirstRank()) fprintf(stderr, "tenor: error: no command before %s\n%s", argv[1], usage);
    return 2;
  }
  cmd     = argv[1];
  argv[1] = argv[0];
  argv++;
  argc--;
  {
    static const struct {
      const char *name;
      PetscErrorCode (*run)(MPI_Comm);
    } cmds[] = {
        {"logdensity", TnCmdLogDensity},
        {"logdet", TnCmdLogDet},
        {"normcheck", TnCmdNormCheck},
        {"sample", TnCmdSample},
        {"train", TnCmdTrain},
        {"predict", TnCmdPredict},
        {"recall", TnCmdRecall},
        {"partition", TnCmdPartition},
    };
    PetscErrorCode (*run)(MPI_Comm) = NULL;
    for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++)
      if (!strcmp(cmd, cmds[c].name)) run = cmds[c].run;
    if (!run) {
      if (FirstRank()) fprintf(stderr, "tenor: error: unknown command '%s'\n%s", cmd, usage);
      return 2;
    }
    ierr = TnInitialize(&argc, &argv, usage);
    if (ierr) return TnFinalize(ierr);
    ierr = run(PETSC_COMM_WORLD);
  }
  return TnFinalize(ierr);
}
