/* tenor: the command-line front end. `tenor COMMAND [-options]`; options go
   through the PETSc options database (-help lists them, -options_file works). */
#include "cli.h"
#include <string.h>

static const char usage[] = "tenor " TENOR_VERSION " - time-evolution normalization of large recurrent networks\n"
                            "usage: mpirun -n P tenor COMMAND [options]\n"
                            "commands:\n"
                            "  logdensity   evaluate log Phi(x) and the local losses for a set of samples\n"
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
  if (strcmp(cmd, "logdensity")) {
    fprintf(stderr, "tenor: error: unknown command '%s'\n%s", cmd, usage);
    return 2;
  }
  ierr = TnInitialize(&argc, &argv, usage);
  if (ierr) return 1;
  ierr = TnCmdLogDensity(PETSC_COMM_WORLD);
  return TnFinalize(ierr);
}
