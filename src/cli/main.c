/* tenor: the command-line front end. `tenor COMMAND [-options]`; options go
   through the PETSc options database (-help lists them, -options_file works). */
#include "cli.h"
#include <string.h>

static const char usage[] = "tenor " TENOR_VERSION " - time-evolution normalization of large recurrent networks\n"
                            "usage: mpirun -n P tenor COMMAND [options]\n"
                            "commands:\n"
                            "  logdensity   evaluate log Phi(x) and the local losses for a set of samples\n"
                            "  logdet       the gap study: local and exact log-determinants of every step, side by side\n"
                            "  normcheck    is Phi a density? integrate it (grid for N = 2, 3; importance sampling above)\n"
                            "  sample       draw z from the base density and run the evolution backwards\n"
                            "  train        learn: minimise the mean -log Phi over data (Adam/SGD, checkpoints, saved model)\n"
                            "  version      print the version\n"
                            "  help         this text; `tenor COMMAND -help` lists COMMAND's options\n";

int main(int argc, char **argv)
{
  PetscErrorCode ierr;
  const char    *cmd = argc > 1 && argv[1][0] != '-' ? argv[1] : "logdensity";
  if (argc > 1 && argv[1][0] != '-') {
    argv[1] = argv[0];
    argv++;
    argc--;
  }
  if (!strcmp(cmd, "help") || !strcmp(cmd, "--help")) {
    fputs(usage, stdout);
    return 0;
  }
  if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
    printf("tenor %s\n", TENOR_VERSION);
    return 0;
  }
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
    };
    PetscErrorCode (*run)(MPI_Comm) = NULL;
    for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++)
      if (!strcmp(cmd, cmds[c].name)) run = cmds[c].run;
    if (!run) {
      fprintf(stderr, "tenor: error: unknown command '%s'\n%s", cmd, usage);
      return 2;
    }
    ierr = TnInitialize(&argc, &argv, usage);
    if (ierr) return 1;
    ierr = run(PETSC_COMM_WORLD);
  }
  return TnFinalize(ierr);
}
