/* Output files, written atomically by rank 0 (TnCommitOpen, tenor/io.h). */
#include "cli.h"
#include <tenor/io.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
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

json_t *TnJsonRealArray(const PetscReal *v, PetscInt n)
{
  json_t *a = json_array();
  for (PetscInt i = 0; a && i < n; i++)
    if (json_array_append_new(a, TnJsonReal((double)v[i]))) {
      json_decref(a);
      return NULL;
    }
  return a;
}

json_t *TnJsonStrArray(const char *const v[], PetscInt n)
{
  json_t *a = json_array();
  for (PetscInt i = 0; a && i < n; i++)
    if (json_array_append_new(a, TnJsonStr(v[i]))) {
      json_decref(a);
      return NULL;
    }
  return a;
}

/* 64-bit FNV-1a of a file's bytes and its size, by reading it through
   (rank 0). 0 on success, else errno. */
static int Fingerprint(const char path[], uint64_t *hash, long long *bytes)
{
  static unsigned char buf[1 << 16];
  FILE                *fp = fopen(path, "rb");
  size_t               n;
  uint64_t             h   = 14695981039346656037ULL;
  long long            len = 0;
  if (!fp) return errno;
  while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
    for (size_t i = 0; i < n; i++) h = (h ^ buf[i]) * 1099511628211ULL;
    len += (long long)n;
  }
  n = (size_t)ferror(fp);
  fclose(fp);
  if (n) return EIO;
  *hash  = h;
  *bytes = len;
  return 0;
}

/* One input file: {"option", "path", "bytes", "fnv1a64"} (rank 0 reads it;
   the other ranks' trees are never written). */
static json_t *InputFile(PetscMPIInt rank, const char option[], const char path[])
{
  json_t   *f     = json_pack("{s:s, s:o}", "option", option, "path", TnJsonStr(path));
  uint64_t  h     = 0;
  long long bytes = 0;
  int       err;
  char      hex[24];
  if (!f || rank) return f;
  if ((err = Fingerprint(path, &h, &bytes))) {
    json_object_set_new(f, "error", json_string(strerror(err)));
    return f;
  }
  snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)h);
  json_object_set_new(f, "bytes", json_integer(bytes));
  json_object_set_new(f, "fnv1a64", json_string(hex));
  return f;
}

/* Options whose value names a file tenor reads. */
static const char *const input_options[] = {"-options_file", "-model", "-net_W", "-net_b", "-net_gamma_file", "-partition_file", "-dyn_coloring_file", "-data_file", "-data_labels", "-data_gauss_Q", "-recall_pattern_file"};

PetscErrorCode TnOutDataPreprocessing(TnData data, json_t **prep)
{
  PetscBool deq, std;
  PetscReal vf, c;
  PetscFunctionBeginUser;
  PetscCall(TnDataGetPreprocessing(data, &deq, &vf, &std));
  PetscCall(TnDataGetLogJacobian(data, &c));
  *prep = json_pack("{s:b, s:o, s:o, s:b, s:o}", "dequantize", (int)deq, "dequantize_width", deq ? TnJsonReal(TN_DATA_DEQUANTIZE_WIDTH) : json_null(), "valid_fraction", TnJsonReal((double)vf), "standardize", (int)std, "sum_log_sd", std ? TnJsonReal(-(double)c) : json_null());
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnOutProvenance(MPI_Comm comm, const char command[], json_t *prep, const char extra_option[], const char extra[], json_t *root)
{
  PetscMPIInt rank, size;
  char       *all, val[PETSC_MAX_PATH_LEN];
  json_t     *in = json_array(), *prov;
  PetscBool   used, set;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  for (size_t q = 0; in && q < sizeof(input_options) / sizeof(input_options[0]); q++) {
    PetscCall(PetscOptionsUsed(NULL, input_options[q] + 1, &used)); /* the database stores names without the dash */
    if (!used) continue;
    PetscCall(PetscOptionsGetString(NULL, NULL, input_options[q], val, sizeof(val), &set));
    if (!set || !val[0]) continue;
    if (!strcmp(input_options[q], "-model") && strchr(val, ',') && access(val, F_OK)) { /* tenor predict's per-class models m0,m1,...: each file */
      char *save = NULL;
      for (char *f = strtok_r(val, ",", &save); f; f = strtok_r(NULL, ",", &save)) json_array_append_new(in, InputFile(rank, input_options[q], f));
    } else
      json_array_append_new(in, InputFile(rank, input_options[q], val));
  }
  if (in && extra && extra[0]) { /* a file the run itself rewrote since (a checkpoint): its content now is not what was read */
    json_t *f = json_pack("{s:s, s:o, s:s}", "option", extra_option, "path", TnJsonStr(extra), "note", "rewritten by this run after it was read: size and hash not recorded");
    if (f) json_array_append_new(in, f);
  }
  PetscCall(PetscOptionsGetAll(NULL, &all));
  prov = json_pack("{s:s, s:s, s:s, s:i, s:o, s:o, s:o}", "tenor_version", TENOR_VERSION, "git_commit", TENOR_COMMIT, "command", command, "ranks", (int)size, "options", TnJsonStr(all), "inputs", in ? in : json_null(), "preprocessing", prep ? prep : json_null());
  PetscCall(PetscFree(all));
  PetscCall(TnJsonSet(root, "provenance", prov));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnOutJsonBegin(MPI_Comm comm, const char command[], json_t **root)
{
  PetscMPIInt size;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  *root = json_pack("{s:s, s:s, s:i}", "tenor_version", TENOR_VERSION, "command", command, "ranks", (int)size);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnOutJsonEnd(MPI_Comm comm, const char command[], TnData data, json_t *prep, const char dir[], const char name[], char path[], size_t len, json_t **root)
{
  PetscFunctionBeginUser;
  if (data) PetscCall(TnOutDataPreprocessing(data, &prep));
  PetscCall(TnOutProvenance(comm, command, prep, NULL, NULL, *root));
  PetscCall(PetscSNPrintf(path, len, "%s/%s", dir, name));
  PetscCall(TnJsonCommit(comm, path, root));
  PetscFunctionReturn(PETSC_SUCCESS);
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
