/* Options helpers: choices, integers and reals validated collectively (the
   options database is the same on every rank, so every rank raises the same
   error on the object's communicator: one message, no rank left waiting). */
#include <tenor/sys.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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

/* PETSc's spellings of a logical value (PetscOptionsStringToBool), any case;
   no value (the option alone) is true. */
static PetscErrorCode CheckBool(MPI_Comm comm, const char name[], const char str[], PetscBool *val)
{
  static const char *const yes[] = {"", "1", "true", "yes", "on"}, *const no[] = {"0", "false", "no", "off"};
  PetscBool t = PETSC_FALSE, f = PETSC_FALSE, eq;
  PetscFunctionBeginUser;
  for (size_t q = 0; q < sizeof(yes) / sizeof(yes[0]); q++) {
    PetscCall(PetscStrcasecmp(str, yes[q], &eq));
    t = (PetscBool)(t || eq);
  }
  for (size_t q = 0; q < sizeof(no) / sizeof(no[0]); q++) {
    PetscCall(PetscStrcasecmp(str, no[q], &eq));
    f = (PetscBool)(f || eq);
  }
  PetscCheck(t || f, comm, PETSC_ERR_USER, "%s %s: not a logical value (give 1 or 0, true or false, yes or no, on or off)", name, str);
  *val = t;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnOptionsBool_Private(PetscOptionItems *PetscOptionsObject, const char opt[], const char text[], const char man[], PetscBool cur, PetscBool *val, PetscBool *set)
{
  char      buf[256], name[256];
  PetscBool flg;
  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(buf, cur ? "true" : "false", sizeof(buf)));
  PetscCall(PetscOptionsString(opt, text, man, buf, buf, sizeof(buf), &flg));
  if (set) *set = flg;
  if (!flg) {
    *val = cur;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  FullName(PetscOptionsObject, opt, name, sizeof(name));
  PetscCall(CheckBool(PetscOptionsObject->comm, name, buf, val));
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

/* The options pass. Every PetscOptions* call inside PetscOptionsBegin/End
   prints its help line through PetscHelpPrintf when -help is in the
   database; during the pass that function is ours: it records the option's
   name, group, default and text instead of printing. What was recorded is
   the set of options the command knows (for the unknown-option check) and
   its -help text. */
typedef struct {
  char name[128], group[160], def[96], text[512];
} TnOptEntry;

static TnOptEntry *tn_opt;
static int         tn_nopt, tn_maxopt;
static char        tn_group[160], tn_pending[4096];
static PetscBool   tn_declaring, tn_had_help;
static PetscErrorCode (*tn_prev_help)(MPI_Comm, const char[], ...);

PetscBool TnOptionsDeclaring(void)
{
  return tn_declaring;
}

static void Trim(char *s)
{
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == ':')) s[--n] = 0;
}

/* "  -name <now 32 : formerly 32>: text (man)" or "  -name: <true : false> text (man)" */
static void RecordLine(const char *line)
{
  TnOptEntry  e;
  const char *p, *q;
  size_t      n;
  memset(&e, 0, sizeof(e));
  if (!strncmp(line, "-----", 5)) return;
  if (strncmp(line, "  -", 3)) { /* the group title, "Title:" */
    if (line[0] && line[0] != ' ') {
      snprintf(tn_group, sizeof(tn_group), "%s", line);
      Trim(tn_group);
    }
    return;
  }
  p = line + 2;
  n = strcspn(p, " :<");
  snprintf(e.name, sizeof(e.name), "%.*s", (int)n, p);
  for (int i = 0; i < tn_nopt; i++)
    if (!strcmp(tn_opt[i].name, e.name)) return;
  p += n;
  if ((q = strchr(p, '<'))) {
    const char *end = strchr(q, '>');
    q += 1;
    if (!strncmp(q, "now ", 4)) q += 4;
    n = strcspn(q, ">");
    if (strstr(q, " : ") && strstr(q, " : ") < end) n = (size_t)(strstr(q, " : ") - q);
    snprintf(e.def, sizeof(e.def), "%.*s", (int)n, q);
    p = end ? end + 1 : q + n;
  }
  while (*p == ':' || *p == ' ') p++;
  snprintf(e.text, sizeof(e.text), "%s", p);
  Trim(e.text);
  n = strlen(e.text); /* drop the trailing "(manual page)" */
  if (n && e.text[n - 1] == ')') {
    char *o = strrchr(e.text, '(');
    if (o && o > e.text && o[-1] == ' ' && !strchr(o, ' ')) o[-1] = 0;
  }
  snprintf(e.group, sizeof(e.group), "%s", tn_group);
  if (tn_nopt == tn_maxopt) {
    TnOptEntry *t = realloc(tn_opt, (size_t)(tn_maxopt = 2 * tn_maxopt + 64) * sizeof(*t));
    if (!t) return;
    tn_opt = t;
  }
  tn_opt[tn_nopt++] = e;
}

static PetscErrorCode CaptureHelp(MPI_Comm comm, const char fmt[], ...)
{
  va_list ap;
  char    buf[4096], *nl;
  size_t  len = strlen(tn_pending);
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  snprintf(tn_pending + len, sizeof(tn_pending) - len, "%s", buf);
  while ((nl = strchr(tn_pending, '\n'))) {
    *nl = 0;
    RecordLine(tn_pending);
    memmove(tn_pending, nl + 1, strlen(nl + 1) + 1);
  }
  return PETSC_SUCCESS;
}

PetscErrorCode TnOptionsDeclare(MPI_Comm comm, const char name[], const char def[], const char text[])
{
  PetscFunctionBeginUser;
  PetscCall(CaptureHelp(comm, "  %s <now %s : formerly %s>: %s\n", name, def, def, text));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnOptionsPassBegin(MPI_Comm comm)
{
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsHasName(NULL, NULL, "-help", &tn_had_help));
  tn_nopt         = 0;
  tn_group[0]     = 0;
  tn_pending[0]   = 0;
  tn_prev_help    = PetscHelpPrintf;
  PetscHelpPrintf = CaptureHelp;
  if (!tn_had_help) PetscCall(PetscOptionsSetValue(NULL, "-help", NULL));
  tn_declaring = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Optimal string alignment distance (a transposition counts 1). */
static int EditDistance(const char *a, const char *b)
{
  int la = (int)strlen(a), lb = (int)strlen(b), d[64][64];
  if (la > 63 || lb > 63) return 99;
  for (int i = 0; i <= la; i++) d[i][0] = i;
  for (int j = 0; j <= lb; j++) d[0][j] = j;
  for (int i = 1; i <= la; i++)
    for (int j = 1; j <= lb; j++) {
      int c = a[i - 1] != b[j - 1], v = PetscMin(d[i - 1][j] + 1, PetscMin(d[i][j - 1] + 1, d[i - 1][j - 1] + c));
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) v = PetscMin(v, d[i - 2][j - 2] + 1);
      d[i][j] = v;
    }
  return d[la][lb];
}

static const TnOptEntry *Known(const char name[])
{
  for (int i = 0; i < tn_nopt; i++)
    if (!strcmp(tn_opt[i].name + 1, name)) return &tn_opt[i];
  return NULL;
}

static const char *Closest(const char name[], int *dist)
{
  const char *best = NULL;
  *dist            = 99;
  for (int i = 0; i < tn_nopt; i++) {
    int d = EditDistance(name, tn_opt[i].name + 1);
    if (d < *dist) {
      *dist = d;
      best  = tn_opt[i].name;
    }
  }
  return best;
}

/* Prefixes of tenor's options: an unknown option under one of them is a
   typo. Options under other names may belong to PETSc (read by an object
   created later, e.g. -mat_partitioning_*); MUMPS reads -logdet_sparse_mat_*. */
static PetscBool TenorName(const char name[])
{
  static const char *const pre[] = {"net_", "partition_", "dyn_", "logdet_", "base_", "data_", "train_", "out_", "sample_", "grad_", "rule_", "norm_", "gap_", "tn_", "model"};
  if (!strncmp(name, "logdet_sparse_mat_", 18)) return PETSC_FALSE;
  for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
    if (!strncmp(name, pre[i], strlen(pre[i]))) return PETSC_TRUE;
  return PETSC_FALSE;
}

static char *tn_deferred;

static PetscErrorCode PrintHelp(MPI_Comm comm, const char command[])
{
  const char *last = NULL;
  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(comm, "tenor %s: options (default in <>; `tenor %s -help all` adds PETSc's own options)\n", command, command));
  for (int i = 0; i < tn_nopt; i++) {
    if (!last || strcmp(last, tn_opt[i].group)) {
      int seen = 0; /* print each group once, with all its options */
      for (int j = 0; j < i; j++) seen |= !strcmp(tn_opt[j].group, tn_opt[i].group);
      if (seen) continue;
      last = tn_opt[i].group;
      PetscCall(PetscPrintf(comm, "\n%s:\n", last));
      for (int j = i; j < tn_nopt; j++)
        if (!strcmp(tn_opt[j].group, last)) PetscCall(PetscPrintf(comm, "  %-28s <%s>  %s\n", tn_opt[j].name, tn_opt[j].def, tn_opt[j].text));
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnOptionsPassEnd(MPI_Comm comm, const char command[], PetscBool *help)
{
  PetscInt n;
  char   **names, **values, msg[4096] = "";
  int      bad = 0;
  PetscFunctionBeginUser;
  tn_declaring    = PETSC_FALSE;
  PetscHelpPrintf = tn_prev_help;
  if (!tn_had_help) PetscCall(PetscOptionsClearValue(NULL, "-help"));
  *help = tn_had_help;
  if (tn_had_help) {
    PetscCall(PrintHelp(comm, command));
    if (tn_deferred) {
      PetscCall(PetscPrintf(comm, "\nPETSc's own options (-help all):\n%s", tn_deferred));
      free(tn_deferred);
      tn_deferred = NULL;
    }
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(PetscOptionsLeftGet(NULL, &n, &names, &values));
  for (PetscInt i = 0; i < n; i++) {
    int         d;
    const char *c   = Closest(names[i], &d);
    size_t      len = strlen(msg);
    if (Known(names[i]) || (!TenorName(names[i]) && d > 2)) continue;
    bad++;
    if (c && d <= PetscMax(2, (int)strlen(names[i]) / 3))
      snprintf(msg + len, sizeof(msg) - len, "%sunknown option -%s (did you mean %s?)", bad > 1 ? "; " : "", names[i], c);
    else
      snprintf(msg + len, sizeof(msg) - len, "%sunknown option -%s", bad > 1 ? "; " : "", names[i]);
  }
  PetscCall(PetscOptionsLeftRestore(NULL, &n, &names, &values));
  PetscCheck(!bad, comm, PETSC_ERR_USER, "%s: `tenor %s -help` lists the options", msg, command);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* With -help all: PETSc's own help, printed by PetscInitialize, is kept here
   and printed after tenor's options. */
static size_t tn_ndeferred;

PetscErrorCode TnHelpDefer(MPI_Comm comm, const char fmt[], ...)
{
  va_list ap;
  char    buf[8192];
  size_t  n;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  n       = strlen(buf);
  char *t = realloc(tn_deferred, tn_ndeferred + n + 1);
  if (!t) return PETSC_SUCCESS;
  tn_deferred = t;
  memcpy(tn_deferred + tn_ndeferred, buf, n + 1);
  tn_ndeferred += n;
  return PETSC_SUCCESS;
}
