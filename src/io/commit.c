/* Atomic output (contract in tenor/io.h): path.tmp, fsync, rename, directory
   fsync. Invariant: only rank 0 touches the file system here, and every call
   ends in TnErrorSync, so all ranks leave it with the same verdict. path
   itself is never opened, and no symbolic link is ever followed: the
   temporary is created with O_EXCL | O_NOFOLLOW, and rename replaces a
   directory entry without following it. */
#include "ioimpl.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define TN_COMMIT_SUFFIX ".tmp"
/* Room for a message naming path and tmp in full (TnErrorSync passes on its
   first 1023 characters). */
#define TN_COMMIT_MSG (3 * PETSC_MAX_PATH_LEN + 512)

/* Whether path (tmp = NULL) or its temporary tmp exists as something tenor
   must not replace: a symbolic link, or anything but a regular file. Sets msg. */
static PetscBool Refused(const char path[], const char tmp[], char msg[], size_t len)
{
  struct stat st;
  if (lstat(tmp ? tmp : path, &st) || S_ISREG(st.st_mode)) return PETSC_FALSE;
  if (S_ISLNK(st.st_mode) && !tmp)
    snprintf(msg, len, "cannot write %s: it is a symbolic link, and tenor does not write through symbolic links (remove the link or choose another file name)", path);
  else if (S_ISLNK(st.st_mode))
    snprintf(msg, len, "cannot write %s: its temporary file %s is a symbolic link, and tenor does not write through symbolic links (remove it)", path, tmp);
  else if (!tmp)
    snprintf(msg, len, "cannot write %s: it exists and is not a regular file (a directory?); choose another file name", path);
  else
    snprintf(msg, len, "cannot write %s: its temporary file %s exists and is not a regular file (remove it)", path, tmp);
  return PETSC_TRUE;
}

/* Rank 0: checks path and tmp, removes a stale regular tmp and creates tmp
   anew. Returns its descriptor, or -1 with msg set. */
static int Create(const char path[], const char tmp[], char msg[], size_t len)
{
  struct stat st;
  int         fd;
  if (Refused(path, NULL, msg, len) || Refused(path, tmp, msg, len)) return -1;
  if (!lstat(tmp, &st) && unlink(tmp)) {
    snprintf(msg, len, "cannot write %s: cannot remove the stale temporary file %s: %s", path, tmp, strerror(errno));
    return -1;
  }
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd < 0) snprintf(msg, len, "cannot write %s: cannot create %s: %s (does the directory exist, and is it writable?)", path, tmp, strerror(errno));
  return fd;
}

/* Collective. Forms tmp = path.tmp on every rank; rank 0 creates it and
   returns its descriptor in *fd (-1 elsewhere). */
static PetscErrorCode Start(MPI_Comm comm, const char path[], char tmp[], size_t len, int *fd)
{
  PetscMPIInt rank;
  char        msg[TN_COMMIT_MSG] = "";
  int         n;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  *fd = -1;
  n   = snprintf(tmp, len, "%s%s", path, TN_COMMIT_SUFFIX);
  if (!path[0])
    snprintf(msg, sizeof(msg), "cannot write a file with an empty name");
  else if (n < 0 || (size_t)n >= len)
    snprintf(msg, sizeof(msg), "cannot write %.900s: the file name is too long", path);
  PetscCall(TnErrorSync(comm, (PetscBool)(msg[0] != 0), msg));
  if (!rank) *fd = Create(path, tmp, msg, sizeof(msg));
  PetscCall(TnErrorSync(comm, (PetscBool)(msg[0] != 0), msg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The message of a rank whose caller reported a failed write. */
static void Failed(const char path[], const char tmp[], PetscMPIInt rank, char msg[], size_t len)
{
  snprintf(msg, len, "cannot write %s: writing %s failed on rank %d (is the disk full, or the directory not writable from every rank?); %s is unchanged", path, tmp, (int)rank, path);
}

/* fsync of a closed file by name; 0, or -1 with errno. */
static int SyncFile(const char name[])
{
  int fd = open(name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), err;
  if (fd < 0) return -1;
  if (fsync(fd)) {
    err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return close(fd);
}

/* Best effort: makes the rename itself durable where the file system allows
   a directory fsync. Some refuse it (EINVAL); the rename has happened either
   way, so the outcome of the fsync is not an error. */
static void SyncDir(const char path[])
{
  char dir[PETSC_MAX_PATH_LEN];
  int  fd;
  if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) return;
  fd = open(dirname(dir), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  fsync(fd);
  close(fd);
}

/* Rank 0: fsyncs tmp (when sync), renames it over path, still refusing a
   symbolic link that appeared at path meanwhile, and fsyncs the directory.
   Sets msg on failure. */
static void Install(const char tmp[], const char path[], PetscBool sync, char msg[], size_t len)
{
  if (sync && SyncFile(tmp)) {
    snprintf(msg, len, "cannot write %s: fsync of %s failed: %s (is the disk full?)", path, tmp, strerror(errno));
    return;
  }
  if (Refused(path, NULL, msg, len)) return;
  if (rename(tmp, path)) {
    snprintf(msg, len, "cannot write %s: renaming %s to it failed: %s", path, tmp, strerror(errno));
    return;
  }
  SyncDir(path);
}

/* Collective. msg non-empty on a rank: its write failed. If no rank failed,
   rank 0 installs tmp as path; on any failure rank 0 removes tmp (best
   effort: a leftover is removed by the next write of path), and the lowest
   failing rank's message is raised on every rank. */
static PetscErrorCode Finish(MPI_Comm comm, const char tmp[], const char path[], PetscBool sync, char msg[], size_t len)
{
  PetscMPIInt rank;
  int         all = !msg[0];
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &all, 1, MPI_INT, MPI_MIN, comm));
  if (!rank && all) Install(tmp, path, sync, msg, len);
  if (!rank && (!all || msg[0])) unlink(tmp);
  PetscCall(TnErrorSync(comm, (PetscBool)(msg[0] != 0), msg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnCommitOpen(MPI_Comm comm, const char path[], FILE **fp)
{
  PetscMPIInt rank;
  char        tmp[PETSC_MAX_PATH_LEN + 8], msg[TN_COMMIT_MSG] = "";
  int         fd;
  PetscFunctionBeginUser;
  *fp = NULL;
  PetscCall(Start(comm, path, tmp, sizeof(tmp), &fd));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (!rank && !(*fp = fdopen(fd, "w"))) {
    snprintf(msg, sizeof(msg), "cannot write %s: cannot open a stream on %s: %s", path, tmp, strerror(errno));
    close(fd);
    unlink(tmp);
  }
  PetscCall(TnErrorSync(comm, (PetscBool)(msg[0] != 0), msg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: the stream's write errors, flush, fsync and close, into msg
   (unless it already holds the caller's failure). Closes f in every case. */
static void CloseStream(FILE *f, const char path[], const char tmp[], char msg[], size_t len)
{
  int err = 0, bad = 0;
  if (!f) {
    if (!msg[0]) snprintf(msg, len, "cannot write %s: it was not opened with TnCommitOpen (internal error)", path);
    return;
  }
  if (ferror(f))
    bad = 1;
  else if (fflush(f) || fsync(fileno(f)))
    err = errno;
  if (fclose(f) && !bad && !err) err = errno;
  if (msg[0]) return;
  if (bad)
    snprintf(msg, len, "cannot write %s: a write to %s failed (is the disk full?); %s is unchanged", path, tmp, path);
  else if (err)
    snprintf(msg, len, "cannot write %s: finishing %s failed: %s (is the disk full?); %s is unchanged", path, tmp, strerror(err), path);
}

PetscErrorCode TnCommitClose(MPI_Comm comm, const char path[], FILE **fp, PetscBool ok)
{
  PetscMPIInt rank;
  char        tmp[PETSC_MAX_PATH_LEN + 8], msg[TN_COMMIT_MSG] = "";
  FILE       *f = *fp;
  PetscFunctionBeginUser;
  *fp = NULL;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  snprintf(tmp, sizeof(tmp), "%s%s", path, TN_COMMIT_SUFFIX); /* fits: TnCommitOpen checked it */
  if (!ok) Failed(path, tmp, rank, msg, sizeof(msg));
  if (!rank) CloseStream(f, path, tmp, msg, sizeof(msg));
  PetscCall(Finish(comm, tmp, path, PETSC_FALSE, msg, sizeof(msg)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnCommitBegin(MPI_Comm comm, const char path[], char tmp[], size_t len)
{
  char msg[TN_COMMIT_MSG] = "";
  int  fd;
  PetscFunctionBeginUser;
  PetscCall(Start(comm, path, tmp, len, &fd));
  if (fd >= 0 && close(fd)) {
    snprintf(msg, sizeof(msg), "cannot write %s: closing the new %s failed: %s", path, tmp, strerror(errno));
    unlink(tmp);
  }
  PetscCall(TnErrorSync(comm, (PetscBool)(msg[0] != 0), msg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnCommitEnd(MPI_Comm comm, const char tmp[], const char path[], PetscBool ok)
{
  PetscMPIInt rank;
  char        msg[TN_COMMIT_MSG] = "";
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (!ok) Failed(path, tmp, rank, msg, sizeof(msg));
  PetscCall(Finish(comm, tmp, path, PETSC_TRUE, msg, sizeof(msg)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnCommitCheckSpace(MPI_Comm comm, const char path[], double bytes)
{
  PetscMPIInt    rank;
  char           msg[TN_COMMIT_MSG] = "", dir[PETSC_MAX_PATH_LEN];
  struct statvfs fs;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (!rank && snprintf(dir, sizeof(dir), "%s", path) < (int)sizeof(dir) && !statvfs(dirname(dir), &fs)) {
    double avail = (double)fs.f_bavail * (double)fs.f_frsize;
    if (avail < bytes) snprintf(msg, sizeof(msg), "cannot write %s: it needs about %.3g MB and its file system has %.3g MB free (is the disk full?); the files written before are kept", path, bytes / 1048576, avail / 1048576);
  }
  PetscCall(TnErrorSync(comm, (PetscBool)(msg[0] != 0), msg));
  PetscFunctionReturn(PETSC_SUCCESS);
}
