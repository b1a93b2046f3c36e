/* JSON output through jansson: the document is a json_t tree, so every
   string is escaped and every number formatted by the library, never by
   hand. Doubles are printed with 17 significant digits (JSON_REAL_PRECISION(17)),
   enough to read back the same double; a value that is not a finite number
   becomes null. The file is committed atomically (TnCommitOpen/Close). */
#include <tenor/io.h>
#include "json.h"
#include <tenor/sys.h>
#include <math.h>
#include <string.h>

json_t *TnJsonReal(double v)
{
  return isfinite(v) && fabs(v) < (double)PETSC_MAX_REAL ? json_real(v) : json_null();
}

json_t *TnJsonStr(const char s[])
{
  json_t *j;
  char   *c;
  if (!s) return json_null();
  if ((j = json_string(s))) return j;
  /* not UTF-8 (a path of raw bytes): every byte >= 0x80 becomes '?' */
  if (!(c = strdup(s))) return NULL;
  for (char *p = c; *p; p++)
    if ((unsigned char)*p >= 0x80) *p = '?';
  j = json_string(c);
  free(c);
  return j;
}

PetscErrorCode TnJsonSet(json_t *obj, const char key[], json_t *v)
{
  PetscFunctionBeginUser;
  PetscCheck(obj && v && !json_object_set_new(obj, key, v), PETSC_COMM_SELF, PETSC_ERR_MEM, "cannot build the JSON value '%s' (out of memory?)", key);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnJsonCommit(MPI_Comm comm, const char path[], json_t **root)
{
  PetscMPIInt rank;
  FILE       *fp;
  int         ok = *root != NULL;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(TnCommitOpen(comm, path, &fp));
  if (!rank && ok) ok = !json_dumpf(*root, fp, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) && fputc('\n', fp) != EOF;
  json_decref(*root);
  *root = NULL;
  PetscCall(TnCommitClose(comm, path, &fp, (PetscBool)ok));
  PetscFunctionReturn(PETSC_SUCCESS);
}
