/* Options helpers: choices, integers and reals validated collectively (the
   options database is the same on every rank, so every rank raises the same
   error on the object's communicator: one message, no rank left waiting). */
#include <tenor/sys.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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

/* "-prefix_name" of an option inside PetscOptionsBegin/End, for messages. */
static void FullName(PetscOptionItems *obj, const char opt[], char name[], size_t len)
{
  snprintf(name, len, "-%s%s", obj->prefix ? obj->prefix : "", opt + 1);
}

PetscErrorCode TnParseInt(const char str[], PetscInt64 *v, PetscBool *ok)
{
  char  *end;
  double d;
  PetscFunctionBeginUser;
  *ok = PETSC_FALSE;
  if (!str || !str[0]) PetscFunctionReturn(PETSC_SUCCESS);
  errno        = 0;
  long long ll = strtoll(str, &end, 10);
  if (!*end && errno != ERANGE) {
    *v  = (PetscInt64)ll;
    *ok = PETSC_TRUE;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  /* 1e6, 2.5e3: accepted when the value is an exact integer of at most 2^53 */
  errno = 0;
  d     = strtod(str, &end);
  if (*end || errno == ERANGE || !isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0) PetscFunctionReturn(PETSC_SUCCESS);
  *v  = (PetscInt64)d;
  *ok = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnParseReal(const char str[], PetscReal *v, PetscBool *ok)
{
  char  *end;
  double d;
  PetscFunctionBeginUser;
  *ok = PETSC_FALSE;
  if (!str || !str[0]) PetscFunctionReturn(PETSC_SUCCESS);
  errno = 0;
  d     = strtod(str, &end);
  if (*end || !isfinite(d) || (errno == ERANGE && fabs(d) > 1)) PetscFunctionReturn(PETSC_SUCCESS);
  *v  = (PetscReal)d;
  *ok = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The range as the message states it; when PetscInt's own limit is the
   bound, the message says so (a 32-bit PetscInt caps N, nnz, K, ...). */
static void RangeText(PetscInt64 min, PetscInt64 max, char buf[], size_t len)
{
  const char *why = max == PETSC_MAX_INT && sizeof(PetscInt) == 4 ? "; PetscInt is 32-bit in this build of PETSc" : "";
  if (min == PETSC_MIN_INT)
    snprintf(buf, len, "an integer of at most %" PetscInt64_FMT "%s", max, why);
  else
    snprintf(buf, len, "an integer from %" PetscInt64_FMT " to %" PetscInt64_FMT "%s", min, max, why);
}

static PetscErrorCode CheckInt(MPI_Comm comm, const char name[], const char str[], PetscInt64 min, PetscInt64 max, PetscInt *val)
{
  PetscInt64 v;
  PetscBool  ok;
  char       range[256];
  PetscFunctionBeginUser;
  min = PetscMax(min, (PetscInt64)PETSC_MIN_INT);
  max = PetscMin(max, (PetscInt64)PETSC_MAX_INT);
  RangeText(min, max, range, sizeof(range));
  PetscCall(TnParseInt(str, &v, &ok));
  PetscCheck(str[0], comm, PETSC_ERR_USER, "%s needs a value: %s", name, range);
  PetscCheck(ok, comm, PETSC_ERR_USER, "%s %s: not an integer (give %s)", name, str, range);
  PetscCheck(v >= min && v <= max, comm, PETSC_ERR_USER, "%s %s is out of range: give %s", name, str, range);
  *val = (PetscInt)v;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CheckReal(MPI_Comm comm, const char name[], const char str[], PetscReal min, PetscReal max, PetscReal *val)
{
  PetscReal v;
  PetscBool ok;
  char      range[256] = "a finite number";
  PetscFunctionBeginUser;
  if (min > PETSC_MIN_REAL && max < PETSC_MAX_REAL)
    snprintf(range, sizeof(range), "a number from %g to %g", (double)min, (double)max);
  else if (min > PETSC_MIN_REAL)
    snprintf(range, sizeof(range), "a finite number >= %g", (double)min);
  else if (max < PETSC_MAX_REAL)
    snprintf(range, sizeof(range), "a finite number <= %g", (double)max);
  PetscCall(TnParseReal(str, &v, &ok));
  PetscCheck(str[0], comm, PETSC_ERR_USER, "%s needs a value: %s", name, range);
  PetscCheck(ok, comm, PETSC_ERR_USER, "%s %s: not %s", name, str, range);
  PetscCheck(v >= min && v <= max, comm, PETSC_ERR_USER, "%s %s is out of range: give %s", name, str, range);
  *val = v;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnOptionsInt_Private(PetscOptionItems *PetscOptionsObject, const char opt[], const char text[], const char man[], PetscInt cur, PetscInt *val, PetscBool *set, PetscInt64 min, PetscInt64 max)
{
  char      buf[256], name[256];
  PetscBool flg;
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(buf, sizeof(buf), "%" PetscInt_FMT, cur));
  PetscCall(PetscOptionsString(opt, text, man, buf, buf, sizeof(buf), &flg));
  if (set) *set = flg;
  if (!flg) {
    *val = cur;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  FullName(PetscOptionsObject, opt, name, sizeof(name));
  PetscCall(CheckInt(PetscOptionsObject->comm, name, buf, min, max, val));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnOptionsReal_Private(PetscOptionItems *PetscOptionsObject, const char opt[], const char text[], const char man[], PetscReal cur, PetscReal *val, PetscBool *set, PetscReal min, PetscReal max)
{
  char      buf[256], name[256];
  PetscBool flg;
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(buf, sizeof(buf), "%g", (double)cur));
  PetscCall(PetscOptionsString(opt, text, man, buf, buf, sizeof(buf), &flg));
  if (set) *set = flg;
  if (!flg) {
    *val = cur;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  FullName(PetscOptionsObject, opt, name, sizeof(name));
  PetscCall(CheckReal(PetscOptionsObject->comm, name, buf, min, max, val));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnOptionsGetInt(MPI_Comm comm, const char name[], PetscInt *val, PetscBool *set, PetscInt64 min, PetscInt64 max)
{
  char      buf[256];
  PetscBool flg;
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetString(NULL, NULL, name, buf, sizeof(buf), &flg));
  if (set) *set = flg;
  if (flg) PetscCall(CheckInt(comm, name, buf, min, max, val));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnOptionsGetReal(MPI_Comm comm, const char name[], PetscReal *val, PetscBool *set, PetscReal min, PetscReal max)
{
  char      buf[256];
  PetscBool flg;
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetString(NULL, NULL, name, buf, sizeof(buf), &flg));
  if (set) *set = flg;
  if (flg) PetscCall(CheckReal(comm, name, buf, min, max, val));
  PetscFunctionReturn(PETSC_SUCCESS);
}
