/* The dynamics' settings as root attributes of an HDF5 file: what a model
   or checkpoint file needs to evaluate the network again. The dynamics
   writes and reads its own attributes; the file's other contents belong to
   their owners (src/train). */
#include "dynimpl.h"
#include <tenor/io.h>

PetscErrorCode TnDynWriteAttributes(TnDyn dyn, PetscViewer vw)
{
  PetscInt  K, ncol;
  PetscReal h;
  PetscFunctionBeginUser;
  PetscCall(TnDynGetParams(dyn, NULL, NULL, NULL, &h, &K, NULL));
  PetscCall(TnDynGetNumColors(dyn, &ncol));
  PetscCall(TnH5PutStr(vw, "scheme", dyn->type));
  PetscCall(TnH5PutStr(vw, "form", TnFormTypes[dyn->form]));
  PetscCall(TnH5PutStr(vw, "act", TnActTypes[dyn->act]));
  PetscCall(TnH5PutStr(vw, "base", TnBaseTypes[dyn->base]));
  PetscCall(TnH5PutStr(vw, "logdet", TnLogDetTypes[dyn->ldt]));
  PetscCall(TnH5PutReal(vw, "h", h));
  PetscCall(TnH5PutInt(vw, "K", K));
  PetscCall(TnH5PutInt(vw, "colors", ncol));
  PetscCall(TnH5PutInt(vw, "coloring_seed", dyn->colseed));
  PetscCall(TnH5PutStr(vw, "coloring_order", TnColoringOrders[dyn->colorder]));
  PetscCall(TnH5PutReal(vw, "rtol", dyn->rtol));
  PetscCall(TnH5PutReal(vw, "atol", dyn->atol));
  PetscCall(TnH5PutInt(vw, "adapt", dyn->adapt));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynReadAttributes(TnDyn dyn, PetscViewer vw, const char path[])
{
  char             sv[64];
  TnSchemeCreateFn create;
  PetscInt         v[4];
  PetscInt64       K, seed, adapt;
  PetscReal        h, rtol, atol;
  PetscBool        has;
  PetscFunctionBeginUser;
  PetscCall(TnH5GetStr(vw, path, "scheme", sv, sizeof(sv)));
  PetscCall(TnDynFindScheme(sv, &create));
  PetscCheck(create, dyn->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: unknown scheme '%s' (-help lists the schemes under -dyn_scheme)", path, sv);
  PetscCall(TnH5GetChoice(vw, path, "form", TnFormTypes, 2, &v[0]));
  PetscCall(TnH5GetChoice(vw, path, "act", TnActTypes, 2, &v[1]));
  PetscCall(TnH5GetChoice(vw, path, "base", TnBaseTypes, 2, &v[2]));
  PetscCall(TnH5GetChoice(vw, path, "logdet", TnLogDetTypes, TN_LOGDET_NTYPES, &v[3]));
  PetscCall(TnH5GetReal(vw, path, "h", &h));
  PetscCheck(h > 0 && !PetscIsInfOrNanReal(h), dyn->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: h = %g, expected a finite h > 0", path, (double)h);
  PetscCall(TnH5GetInt(vw, path, "K", 0, PETSC_MAX_INT, &K));
  PetscCall(TnH5GetInt(vw, path, "coloring_seed", PETSC_MIN_INT, PETSC_MAX_INT, &seed));
  PetscCall(TnDynSetScheme(dyn, sv));
  PetscCall(TnDynSetForm(dyn, (TnForm)v[0]));
  PetscCall(TnDynSetActivation(dyn, (TnAct)v[1]));
  PetscCall(TnDynSetBase(dyn, (TnBase)v[2]));
  PetscCall(TnDynSetLogDetType(dyn, (TnLogDetType)v[3]));
  PetscCall(TnDynSetStepSize(dyn, h));
  PetscCall(TnDynSetSteps(dyn, (PetscInt)K));
  PetscCall(TnDynSetColoringSeed(dyn, (PetscInt)seed));
  PetscCall(TnH5HasAttr(vw, "coloring_order", &has)); /* files written before it existed used the random order */
  if (has) PetscCall(TnH5GetChoice(vw, path, "coloring_order", TnColoringOrders, 2, &v[0]));
  PetscCall(TnDynSetColoringOrder(dyn, has ? (TnColoringOrder)v[0] : TN_COLORING_RANDOM));
  PetscCall(TnH5HasAttr(vw, "rtol", &has)); /* the continuous scheme's integrator: files of version 1 lack it */
  if (has) {
    PetscCall(TnH5GetReal(vw, path, "rtol", &rtol));
    PetscCall(TnH5GetReal(vw, path, "atol", &atol));
    PetscCall(TnH5GetInt(vw, path, "adapt", 0, 1, &adapt));
    PetscCheck(rtol > 0 && rtol < 1 && atol >= 0 && !PetscIsInfOrNanReal(atol), dyn->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: rtol = %g, atol = %g: expected 0 < rtol < 1 and a finite atol >= 0", path, (double)rtol, (double)atol);
    PetscCall(TnDynSetTolerances(dyn, rtol, atol));
    PetscCall(TnDynSetAdaptive(dyn, (PetscBool)adapt));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
