/* Attributes of the root group "/" of an HDF5 file opened with
   PetscViewerHDF5Open: the metadata of model and checkpoint files. Reals
   are stored as doubles, integers as 64-bit integers. Every getter
   checks what it reads and names the file and the attribute when it is
   missing or wrong. */
#include <tenor/io.h>
#include <tenor/sys.h>
#include <petscviewerhdf5.h>

PetscErrorCode TnH5PutReal(PetscViewer vw, const char name[], PetscReal v)
{
  PetscFunctionBeginUser;
  PetscCall(PetscViewerHDF5WriteAttribute(vw, "/", name, PETSC_REAL, &v));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* An integer is stored as a 64-bit integer attribute (files written before
   were doubles; TnH5GetInt reads either: HDF5 converts on reading). */
PetscErrorCode TnH5PutInt(PetscViewer vw, const char name[], PetscInt64 v)
{
  long l = (long)v; /* PETSc's HDF5 viewer takes PETSC_LONG (64-bit on LP64), not PETSC_INT64 */
  PetscFunctionBeginUser;
  PetscCheck((PetscInt64)l == v, PETSC_COMM_SELF, PETSC_ERR_SUP, "attribute %s = %" PetscInt64_FMT " does not fit a long", name, v);
  PetscCall(PetscViewerHDF5WriteAttribute(vw, "/", name, PETSC_LONG, &l));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnH5PutStr(PetscViewer vw, const char name[], const char v[])
{
  PetscFunctionBeginUser;
  PetscCall(PetscViewerHDF5WriteAttribute(vw, "/", name, PETSC_STRING, v));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnH5HasAttr(PetscViewer vw, const char name[], PetscBool *has)
{
  PetscFunctionBeginUser;
  PetscCall(PetscViewerHDF5HasAttribute(vw, "/", name, has));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Require(PetscViewer vw, const char path[], const char name[])
{
  PetscBool has;
  PetscFunctionBeginUser;
  PetscCall(TnH5HasAttr(vw, name, &has));
  PetscCheck(has, PetscObjectComm((PetscObject)vw), PETSC_ERR_FILE_UNEXPECTED, "%s lacks the attribute '%s': not a tenor model or checkpoint, or a damaged one", path, name);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnH5GetReal(PetscViewer vw, const char path[], const char name[], PetscReal *v)
{
  PetscFunctionBeginUser;
  PetscCall(Require(vw, path, name));
  PetscCall(PetscViewerHDF5ReadAttribute(vw, "/", name, PETSC_REAL, NULL, v));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnH5GetInt(PetscViewer vw, const char path[], const char name[], PetscInt64 lo, PetscInt64 hi, PetscInt64 *v)
{
  PetscReal r;
  PetscFunctionBeginUser;
  PetscCall(TnH5GetReal(vw, path, name, &r));
  PetscCheck(r == PetscFloorReal(r) && r >= (PetscReal)lo && r <= (PetscReal)hi, PetscObjectComm((PetscObject)vw), PETSC_ERR_FILE_UNEXPECTED, "%s: attribute '%s' = %g, expected an integer in [%" PetscInt64_FMT ", %" PetscInt64_FMT "]", path, name, (double)r, lo, hi);
  *v = (PetscInt64)r;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnH5GetStr(PetscViewer vw, const char path[], const char name[], char out[], size_t len)
{
  char *s = NULL;
  PetscFunctionBeginUser;
  PetscCall(Require(vw, path, name));
  PetscCall(PetscViewerHDF5ReadAttribute(vw, "/", name, PETSC_STRING, NULL, &s));
  PetscCall(PetscStrncpy(out, s, len));
  PetscCall(PetscFree(s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnH5GetChoice(PetscViewer vw, const char path[], const char name[], const char *const list[], PetscInt n, PetscInt *idx)
{
  char v[256];
  PetscFunctionBeginUser;
  PetscCall(TnH5GetStr(vw, path, name, v, sizeof(v)));
  for (*idx = 0; *idx < n; (*idx)++)
    if (!strcmp(list[*idx], v)) PetscFunctionReturn(PETSC_SUCCESS);
  SETERRQ(PetscObjectComm((PetscObject)vw), PETSC_ERR_FILE_UNEXPECTED, "%s: attribute '%s' = '%s' is not one of the known settings", path, name, v);
}
