/* Options helpers: choices validated collectively. */
#include <tenor/sys.h>

PetscErrorCode TnOptionsChoice_Private(PetscOptionItems *PetscOptionsObject, const char opt[], const char text[], const char man[], const char *const list[], PetscInt n, PetscInt *idx, PetscBool *set)
{
  char      buf[256], help[1024], choices[512] = "";
  PetscBool flg;
  PetscFunctionBeginUser;
  for (PetscInt t = 0; t < n; t++) {
    PetscCall(PetscStrlcat(choices, t ? ", " : "", sizeof(choices)));
    PetscCall(PetscStrlcat(choices, list[t], sizeof(choices)));
  }
  PetscCall(PetscSNPrintf(help, sizeof(help), "%s (one of: %s)", text, choices));
  PetscCall(PetscStrncpy(buf, list[*idx], sizeof(buf)));
  PetscCall(PetscOptionsString(opt, help, man, buf, buf, sizeof(buf), &flg));
  if (set) *set = flg;
  if (!flg) PetscFunctionReturn(PETSC_SUCCESS);
  for (PetscInt t = 0; t < n; t++) {
    PetscBool eq;
    PetscCall(PetscStrcasecmp(buf, list[t], &eq));
    if (eq) {
      *idx = t;
      PetscFunctionReturn(PETSC_SUCCESS);
    }
  }
  SETERRQ(PetscOptionsObject->comm, PETSC_ERR_USER, "unknown value '%s' for -%s%s: choose one of %s", buf, PetscOptionsObject->prefix ? PetscOptionsObject->prefix : "", opt + 1, choices);
}
