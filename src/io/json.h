/* JSON output through jansson: private to tenor (the public headers do not
   expose jansson). */
#pragma once
#include <petscsys.h>
#include <jansson.h>

/* JSON output (jansson). Every JSON file tenor writes is a json_t tree
   handed to TnJsonCommit, which dumps it on rank 0 (indented, doubles with
   17 significant digits: they read back as the same double) into an atomic
   write (TnCommitOpen/Close) and frees it on every rank (*root = NULL).
   A NULL root (a failed json_pack) is an error on every rank, path
   untouched. Collective. TnJsonReal: a number, or null when v is NaN, Inf
   or tenor's "no value" PETSC_MAX_REAL. TnJsonStr: a string (bytes that are
   not UTF-8 become '?'), null for NULL. TnJsonSet: obj[key] = v (stolen),
   an error if either is NULL. */
PetscErrorCode TnJsonCommit(MPI_Comm comm, const char path[], json_t **root);
json_t        *TnJsonReal(double v);
json_t        *TnJsonStr(const char s[]);
PetscErrorCode TnJsonSet(json_t *obj, const char key[], json_t *v);
