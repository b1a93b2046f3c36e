/* Output files, written atomically by rank 0 (TnCommitOpen, tenor/io.h). */
#include "cli.h"
#include <tenor/io.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdir -p: every missing parent too; 0 or -1 with errno. */
static int MakeDirs(const char dir[])
{
  char path[PETSC_MAX_PATH_LEN];
  if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (char *p = path + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      if (mkdir(path, 0777) && errno != EEXIST) return -1;
      *p = '/';
    }
  return mkdir(path, 0777) && errno != EEXIST ? -1 : 0;
}

/* 0, or -1 with errno: dir is a directory in which a file can be created
   (an exclusive temporary file, removed at once). */
static int CheckWritable(const char dir[])
{
  char        path[PETSC_MAX_PATH_LEN];
  struct stat st;
  int         fd;
  if (stat(dir, &st)) return -1;
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return -1;
  }
  if (snprintf(path, sizeof(path), "%s/.tenor-write-test.%ld", dir, (long)getpid()) >= (int)sizeof(path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return -1;
  close(fd);
  return unlink(path);
}

PetscErrorCode TnOutMakeDir(MPI_Comm comm, const char dir[])
{
  PetscMPIInt rank;
  int         err      = 0;
  char        msg[512] = "";
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (!rank && (MakeDirs(dir) || CheckWritable(dir))) {
    err = 1;
    PetscCall(PetscSNPrintf(msg, sizeof(msg), "cannot write in the output directory %s: %s (choose another with -out_dir)", dir, strerror(errno)));
  }
  PetscCall(TnErrorSync(comm, (PetscBool)err, msg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnOutOpen(MPI_Comm comm, const char dir[], const char name[], FILE **fp, char path[], size_t len)
{
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(path, len, "%s/%s", dir, name));
  PetscCall(TnCommitOpen(comm, path, fp));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnOutClose(MPI_Comm comm, FILE **fp, const char path[])
{
  PetscFunctionBeginUser;
  PetscCall(TnCommitClose(comm, path, fp, PETSC_TRUE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnPeakMemory(MPI_Comm comm, double *sum, double *max)
{
  struct rusage ru;
  double        me;
  PetscFunctionBeginUser;
  getrusage(RUSAGE_SELF, &ru);
  me = 1024.0 * (double)ru.ru_maxrss;
  PetscCallMPI(MPI_Allreduce(&me, sum, 1, MPI_DOUBLE, MPI_SUM, comm));
  PetscCallMPI(MPI_Allreduce(&me, max, 1, MPI_DOUBLE, MPI_MAX, comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnCurrentMemory(MPI_Comm comm, double *sum)
{
  double me = 0;
  long   pages, resident;
  FILE  *fp = fopen("/proc/self/statm", "r");
  PetscFunctionBeginUser;
  if (fp) {
    if (fscanf(fp, "%ld %ld", &pages, &resident) == 2) me = (double)resident * (double)sysconf(_SC_PAGESIZE);
    fclose(fp);
  }
  PetscCallMPI(MPI_Allreduce(&me, sum, 1, MPI_DOUBLE, MPI_SUM, comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

void TnJsonArray(FILE *fp, const char key[], const PetscReal *v, PetscInt n, PetscBool last)
{
  if (!fp) return;
  fprintf(fp, "  \"%s\": [", key);
  for (PetscInt i = 0; i < n; i++) fprintf(fp, "%s%.17g", i ? ", " : "", (double)v[i]);
  fprintf(fp, "]%s\n", last ? "" : ",");
}

PetscErrorCode TnWarnUnusedOptions(MPI_Comm comm, const char command[])
{
  PetscInt n;
  char   **names, **values;
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsLeftGet(NULL, &n, &names, &values));
  for (PetscInt i = 0; i < n; i++) PetscCall(PetscPrintf(comm, "warning: option -%s was given but not used (misspelt? `tenor %s -help` lists the options)\n", names[i], command));
  PetscCall(PetscOptionsLeftRestore(NULL, &n, &names, &values));
  PetscFunctionReturn(PETSC_SUCCESS);
}
