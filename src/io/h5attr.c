/* Attributes of the root group "/" of an HDF5 file opened with
   PetscViewerHDF5Open: the metadata of model and checkpoint files. Numbers
   are stored as doubles (integers are exact below 2^53). Every getter
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

PetscErrorCode TnH5PutInt(PetscViewer vw, const char name[], PetscInt64 v)
{
  PetscFunctionBeginUser;
  PetscCall(TnH5PutReal(vw, name, (PetscReal)v));
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
