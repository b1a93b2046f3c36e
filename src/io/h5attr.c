/* tenor's own HDF5 files (models, checkpoints) as read through a
   PetscViewerHDF5: the checked open, the attributes of the root group "/"
   (the metadata) and the checks of the datasets' shapes and values.
   Reals are stored as doubles, integers as 64-bit integers (older files'
   integers stored as doubles still read). Every
   getter checks what it reads (one element, numeric or string, finite, in
   range) and names the file and the attribute when it is missing or wrong;
   every check ends in TnErrorSync, so all ranks leave with one verdict.
   HDF5's own error printing is off (TnInitialize): failures become these
   messages. */
#include "ioimpl.h"
#include <petscviewerhdf5.h>
#include <hdf5.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
  hid_t  fid;
  htri_t e;
  PetscFunctionBeginUser;
  PetscCall(PetscViewerHDF5GetFileId(vw, &fid));
  e    = H5Aexists_by_name(fid, "/", name, H5P_DEFAULT);
  *has = (PetscBool)(e > 0);
  PetscCall(TnErrorSync(PetscObjectComm((PetscObject)vw), (PetscBool)(e < 0), "cannot read the attributes of an HDF5 file (damaged?)"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0, before the collective open: the file exists, is HDF5, opens with
   serial HDF5, and every dataset of the root group (or just `dataset`) that declares a
   contiguous, unfiltered layout stores all its values inside the file (a
   damaged or forged size is refused before anything that large is
   allocated). Sets msg on failure. */
typedef struct {
  const char *path;
  off_t       size;
  char       *msg;
  size_t      len;
} Scan;

static herr_t ScanLink(hid_t g, const char name[], const H5L_info_t *info, void *ctx)
{
  Scan      *s = (Scan *)ctx;
  H5O_info_t oi;
  hid_t      d, sp, t, dcpl;
  hssize_t   np;
  size_t     es;
  (void)info;
  if (H5Oget_info_by_name2(g, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
    snprintf(s->msg, s->len, "%s: cannot read the object '%s' (a damaged HDF5 file?)", s->path, name);
    return -1;
  }
  if (oi.type != H5O_TYPE_DATASET) return 0;
  if ((d = H5Dopen2(g, name, H5P_DEFAULT)) < 0) {
    snprintf(s->msg, s->len, "%s: cannot open the dataset '%s' (a damaged HDF5 file?)", s->path, name);
    return -1;
  }
  sp   = H5Dget_space(d);
  t    = H5Dget_type(d);
  dcpl = H5Dget_create_plist(d);
  np   = sp < 0 ? -1 : H5Sget_simple_extent_npoints(sp);
  es   = t < 0 ? 0 : H5Tget_size(t);
  if (np < 0 || es == 0 || dcpl < 0)
    snprintf(s->msg, s->len, "%s: cannot read the shape of the dataset '%s' (a damaged HDF5 file?)", s->path, name);
  else if (H5Pget_layout(dcpl) == H5D_CONTIGUOUS && H5Pget_nfilters(dcpl) == 0) {
    double  want = (double)np * (double)es, have = (double)H5Dget_storage_size(d);
    haddr_t off = H5Dget_offset(d);
    if (have < want)
      snprintf(s->msg, s->len, "%s: the dataset '%s' declares %lld values (%.3g bytes) but the file stores %.3g bytes of them (a damaged or truncated file?)", s->path, name, (long long)np, want, have);
    else if (off == HADDR_UNDEF || (double)off + want > (double)s->size)
      snprintf(s->msg, s->len, "%s: the dataset '%s' (%.3g bytes) extends past the end of the file (%lld bytes): the file is truncated or damaged", s->path, name, want, (long long)s->size);
  }
  if (dcpl >= 0) H5Pclose(dcpl);
  if (t >= 0) H5Tclose(t);
  if (sp >= 0) H5Sclose(sp);
  H5Dclose(d);
  return s->msg[0] ? -1 : 0;
}

void TnH5Precheck(const char path[], const char option[], const char dataset[], char msg[], size_t len)
{
  struct stat st;
  hid_t       f;
  Scan        s = {path, 0, msg, len};
  if (stat(path, &st)) {
    snprintf(msg, len, "cannot open %s%s%s%s: %s (check the path and the permissions)", path, option ? " (" : "", option ? option : "", option ? ")" : "", strerror(errno));
    return;
  }
  s.size = st.st_size;
  if (access(path, R_OK)) {
    snprintf(msg, len, "cannot open %s: %s (check the path and the permissions)", path, strerror(errno));
    return;
  }
  if (!S_ISREG(st.st_mode) || H5Fis_hdf5(path) <= 0) {
    snprintf(msg, len, "%s is not an HDF5 file%s%s", path, option ? "; check " : "", option ? option : "");
    return;
  }
  if ((f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
    snprintf(msg, len, "cannot open %s as an HDF5 file: it is damaged or truncated", path);
    return;
  }
  if (dataset) { /* that one (a missing one is the caller's message) */
    if (H5Lexists(f, dataset, H5P_DEFAULT) > 0) ScanLink(f, dataset, NULL, &s);
  } else if (H5Literate(f, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, ScanLink, &s) < 0 && !msg[0])
    snprintf(msg, len, "cannot list the contents of %s: it is damaged or truncated", path);
  if (H5Fclose(f) < 0 && !msg[0]) snprintf(msg, len, "cannot read %s: it is damaged or truncated", path);
}

PetscErrorCode TnH5OpenRead(MPI_Comm comm, const char path[], const char option[], PetscViewer *vw)
{
  PetscMPIInt rank;
  char        msg[TN_IO_MSG] = "";
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (!rank) TnH5Precheck(path, option, NULL, msg, sizeof(msg));
  PetscCall(TnErrorSync(comm, (PetscBool)(msg[0] != 0), msg));
  PetscCall(PetscViewerHDF5Open(comm, path, FILE_MODE_READ, vw));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The attribute `name` of "/": exactly one element of class want (numeric:
   integer or float; string), read into *v (numeric) or str (string, len
   bytes). Sets msg on failure; not collective. */
static void ReadAttr(PetscViewer vw, const char path[], const char name[], PetscBool string, double *v, char str[], size_t len, char msg[], size_t mlen)
{
  hid_t       fid, a = H5I_INVALID_HID, sp = H5I_INVALID_HID, t = H5I_INVALID_HID, mt = H5I_INVALID_HID;
  H5T_class_t cls;
  hssize_t    np;
  htri_t      e;
  if (PetscViewerHDF5GetFileId(vw, &fid)) {
    snprintf(msg, mlen, "%s: not an open HDF5 file (internal error)", path);
    return;
  }
  e = H5Aexists_by_name(fid, "/", name, H5P_DEFAULT);
  if (e <= 0) {
    snprintf(msg, mlen, "%s lacks the attribute '%s': not a tenor model or checkpoint, or a damaged one", path, name);
    return;
  }
  a   = H5Aopen_by_name(fid, "/", name, H5P_DEFAULT, H5P_DEFAULT);
  sp  = a < 0 ? -1 : H5Aget_space(a);
  t   = a < 0 ? -1 : H5Aget_type(a);
  np  = sp < 0 ? -1 : H5Sget_simple_extent_npoints(sp);
  cls = t < 0 ? H5T_NO_CLASS : H5Tget_class(t);
  if (a < 0 || sp < 0 || t < 0)
    snprintf(msg, mlen, "%s: cannot read the attribute '%s' (a damaged file?)", path, name);
  else if (np != 1)
    snprintf(msg, mlen, "%s: attribute '%s' holds %lld values, expected one %s", path, name, (long long)np, string ? "string" : "number");
  else if (string && cls != H5T_STRING)
    snprintf(msg, mlen, "%s: attribute '%s' is not a string", path, name);
  else if (!string && cls != H5T_FLOAT && cls != H5T_INTEGER)
    snprintf(msg, mlen, "%s: attribute '%s' is not a number", path, name);
  else if (!string) {
    if (H5Aread(a, H5T_NATIVE_DOUBLE, v) < 0) snprintf(msg, mlen, "%s: cannot read the attribute '%s' (a damaged file?)", path, name);
  } else if (H5Tis_variable_str(t) > 0) {
    char *p = NULL;
    mt      = H5Tcopy(H5T_C_S1);
    if (mt < 0 || H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Aread(a, mt, &p) < 0 || !p)
      snprintf(msg, mlen, "%s: cannot read the attribute '%s' (a damaged file?)", path, name);
    else
      snprintf(str, len, "%s", p);
    if (p) H5free_memory(p);
  } else {
    size_t n = H5Tget_size(t);
    char  *p = n > 0 && n < 65536 ? calloc(n + 1, 1) : NULL;
    mt       = H5Tcopy(H5T_C_S1);
    if (!p || mt < 0 || H5Tset_size(mt, n) < 0 || H5Aread(a, mt, p) < 0)
      snprintf(msg, mlen, "%s: cannot read the attribute '%s' (a damaged file?)", path, name);
    else
      snprintf(str, len, "%s", p);
    free(p);
  }
  if (mt >= 0) H5Tclose(mt);
  if (t >= 0) H5Tclose(t);
  if (sp >= 0) H5Sclose(sp);
  if (a >= 0) H5Aclose(a);
}

/* The range after "a finite number": "", " >= lo" or " in [lo, hi]". */
static void Expected(PetscReal lo, PetscReal hi, char out[], size_t len)
{
  if (lo <= -PETSC_MAX_REAL && hi >= PETSC_MAX_REAL)
    snprintf(out, len, "%s", "");
  else if (hi >= PETSC_MAX_REAL)
    snprintf(out, len, " >= %g", (double)lo);
  else
    snprintf(out, len, " in [%g, %g]", (double)lo, (double)hi);
}

PetscErrorCode TnH5GetRealIn(PetscViewer vw, const char path[], const char name[], PetscReal lo, PetscReal hi, PetscReal *v)
{
  char   msg[TN_IO_MSG] = "";
  double r              = 0;
  PetscFunctionBeginUser;
  ReadAttr(vw, path, name, PETSC_FALSE, &r, NULL, 0, msg, sizeof(msg));
  if (!msg[0] && !(isfinite(r) && r >= lo && r <= hi)) {
    char e[96];
    Expected(lo, hi, e, sizeof(e));
    snprintf(msg, sizeof(msg), "%s: attribute '%s' = %g, expected a finite number%s", path, name, r, e);
  }
  PetscCall(TnErrorSync(PetscObjectComm((PetscObject)vw), (PetscBool)(msg[0] != 0), msg));
  *v = (PetscReal)r;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnH5GetReal(PetscViewer vw, const char path[], const char name[], PetscReal *v)
{
  PetscFunctionBeginUser;
  PetscCall(TnH5GetRealIn(vw, path, name, -PETSC_MAX_REAL, PETSC_MAX_REAL, v));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnH5GetInt(PetscViewer vw, const char path[], const char name[], PetscInt64 lo, PetscInt64 hi, PetscInt64 *v)
{
  char   msg[TN_IO_MSG] = "";
  double r              = 0;
  PetscFunctionBeginUser;
  ReadAttr(vw, path, name, PETSC_FALSE, &r, NULL, 0, msg, sizeof(msg));
  if (!msg[0] && !(isfinite(r) && r == floor(r) && r >= (double)lo && r <= (double)hi)) snprintf(msg, sizeof(msg), "%s: attribute '%s' = %g, expected an integer in [%" PetscInt64_FMT ", %" PetscInt64_FMT "]", path, name, r, lo, hi);
  PetscCall(TnErrorSync(PetscObjectComm((PetscObject)vw), (PetscBool)(msg[0] != 0), msg));
  *v = (PetscInt64)r;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnH5GetStr(PetscViewer vw, const char path[], const char name[], char out[], size_t len)
{
  char msg[TN_IO_MSG] = "";
  PetscFunctionBeginUser;
  out[0] = 0;
  ReadAttr(vw, path, name, PETSC_TRUE, NULL, out, len, msg, sizeof(msg));
  PetscCall(TnErrorSync(PetscObjectComm((PetscObject)vw), (PetscBool)(msg[0] != 0), msg));
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

PetscErrorCode TnH5CheckLength(PetscViewer vw, const char path[], const char name[], PetscInt64 n)
{
  hid_t       fid, d = H5I_INVALID_HID, sp = H5I_INVALID_HID, t = H5I_INVALID_HID;
  hsize_t     dims[2]        = {0, 0};
  int         nd             = -1;
  H5T_class_t cls            = H5T_NO_CLASS;
  char        msg[TN_IO_MSG] = "";
  PetscFunctionBeginUser;
  PetscCall(PetscViewerHDF5GetFileId(vw, &fid));
  if (H5Lexists(fid, name, H5P_DEFAULT) <= 0 || (d = H5Dopen2(fid, name, H5P_DEFAULT)) < 0)
    snprintf(msg, sizeof(msg), "%s lacks the dataset '%s': not a tenor model or checkpoint, or a damaged one", path, name);
  else {
    sp  = H5Dget_space(d);
    t   = H5Dget_type(d);
    nd  = sp < 0 ? -1 : H5Sget_simple_extent_ndims(sp);
    cls = t < 0 ? H5T_NO_CLASS : H5Tget_class(t);
    if (nd >= 1 && nd <= 2) H5Sget_simple_extent_dims(sp, dims, NULL);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER)
      snprintf(msg, sizeof(msg), "%s: the dataset '%s' does not hold numbers", path, name);
    else if (!(nd == 1 || (nd == 2 && dims[1] == 1)) || dims[0] != (hsize_t)n)
      snprintf(msg, sizeof(msg), "%s: the dataset '%s' holds %llu values in %d dimension(s), expected %" PetscInt64_FMT " in one (the sizes the file's attributes declare)", path, name, (unsigned long long)(nd == 2 ? dims[0] * dims[1] : dims[0]), nd, n);
  }
  if (t >= 0) H5Tclose(t);
  if (sp >= 0) H5Sclose(sp);
  if (d >= 0) H5Dclose(d);
  PetscCall(TnErrorSync(PetscObjectComm((PetscObject)vw), (PetscBool)(msg[0] != 0), msg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnH5CheckValues(Vec v, const char path[], const char name[], PetscReal lo, PetscReal hi)
{
  const PetscScalar *a;
  PetscInt           n, rs;
  char               msg[TN_IO_MSG] = "";
  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(v, &n));
  PetscCall(VecGetOwnershipRange(v, &rs, NULL));
  PetscCall(VecGetArrayRead(v, &a));
  for (PetscInt q = 0; q < n; q++)
    if (!isfinite(a[q]) || a[q] < lo || a[q] > hi) {
      char e[96];
      Expected(lo, hi, e, sizeof(e));
      snprintf(msg, sizeof(msg), "%s: the dataset '%s' holds %g at entry %" PetscInt_FMT ", expected finite numbers%s", path, name, (double)a[q], rs + q, e);
      break;
    }
  PetscCall(VecRestoreArrayRead(v, &a));
  PetscCall(TnErrorSync(PetscObjectComm((PetscObject)v), (PetscBool)(msg[0] != 0), msg));
  PetscFunctionReturn(PETSC_SUCCESS);
}
