/* The schemes, by name. Adding a scheme: its folder under impls/ and one
   line here. */
#include "dynimpl.h"

PetscErrorCode TnSchemeCreate_Sync(TnDyn);
PetscErrorCode TnSchemeCreate_Colored(TnDyn);
PetscErrorCode TnSchemeCreate_Continuous(TnDyn);

static const struct {
  const char      *name;
  TnSchemeCreateFn create;
} TnSchemes[] = {
    {TN_SCHEME_SYNC, TnSchemeCreate_Sync},
    {TN_SCHEME_COLORED, TnSchemeCreate_Colored},
    {TN_SCHEME_CONTINUOUS, TnSchemeCreate_Continuous},
};

#define TN_NSCHEMES ((PetscInt)(sizeof(TnSchemes) / sizeof(TnSchemes[0])))

PetscErrorCode TnDynFindScheme(const char name[], TnSchemeCreateFn *create)
{
  PetscFunctionBeginUser;
  *create = NULL;
  for (PetscInt q = 0; q < TN_NSCHEMES; q++)
    if (!strcmp(TnSchemes[q].name, name)) *create = TnSchemes[q].create;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The names in the table's order (TnOptionsChoice's list). */
PetscErrorCode TnDynSchemeNames(const char *const **list, PetscInt *n)
{
  static const char *names[TN_NSCHEMES + 1];
  PetscFunctionBeginUser;
  for (PetscInt q = 0; q < TN_NSCHEMES; q++) names[q] = TnSchemes[q].name;
  *list = names;
  *n    = TN_NSCHEMES;
  PetscFunctionReturn(PETSC_SUCCESS);
}
