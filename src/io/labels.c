/* Class labels: one non-negative integer per sample, from a text/CSV file
   (one integer per row, an optional header row of one name) or from an
   integer HDF5 dataset (1-D, or 2-D with one column). Rank 0 reads and
   checks, every rank receives the whole list (S integers: labels are
   replicated, like the split's index arrays). */
#include "ioimpl.h"
#include <hdf5.h>
#include <string.h>

typedef struct {
  TnIoFile  in;
  PetscInt *lab;
  size_t    n, cap;
  hid_t     file, dset, space;
} Labels;

static PetscErrorCode LabelsDestroy(void *ctx)
{
  Labels *l = (Labels *)ctx;
  PetscFunctionBeginUser;
  TnIoClose(&l->in);
  if (l->space >= 0) H5Sclose(l->space);
  if (l->dset >= 0) H5Dclose(l->dset);
  if (l->file >= 0) H5Fclose(l->file);
  l->space = l->dset = l->file = H5I_INVALID_HID;
  PetscCall(PetscFree(l->lab));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: one label per row. The first data row is a header when it is not
   a number (a column name such as `label`). */
static PetscErrorCode ReadText(Labels *l)
{
  PetscBool first = PETSC_TRUE;
  PetscFunctionBeginUser;
  if (!TnIoOpen(&l->in, l->in.path)) PetscFunctionReturn(PETSC_SUCCESS);
  while (!l->in.msg[0] && TnIoNextData(&l->in, "#")) {
    const char *p = l->in.line, *q = l->in.line;
    long long   v;
    double      r;
    char        quote[64];
    TnIoQuote(l->in.line, quote);
    if (!TnIoParseInt(&p, ",", &v) || !TnIoBlank(p)) {
      if (TnIoParseReal(&q, ",", &r) && TnIoBlank(q))
        TnIoFail(&l->in, "found '%s', not an integer: a label is a class number 0, 1, ..., C - 1", quote);
      else if (strchr(l->in.line, ','))
        TnIoFail(&l->in, "found '%s': expected one integer label per row (one column)", quote);
      else if (first)
        first = PETSC_FALSE; /* a header */
      else
        TnIoFail(&l->in, "found '%s', expected an integer label (a class number 0, 1, ..., C - 1)", quote);
      continue;
    }
    first = PETSC_FALSE;
    if (v < 0)
      TnIoFail(&l->in, "label %lld is negative: labels are class numbers 0, 1, ..., C - 1", v);
    else if (v >= PETSC_MAX_INT)
      TnIoFail(&l->in, "label %lld is too large", v);
    else if (l->n + 1 > (size_t)PETSC_MAX_INT)
      TnIoFail(&l->in, "more than %d labels", (int)PETSC_MAX_INT);
    if (l->in.msg[0]) break;
    if (l->n == l->cap) {
      l->cap = PetscMax(1024, 2 * l->cap);
      PetscCall(PetscRealloc(sizeof(PetscInt) * l->cap, &l->lab));
    }
    l->lab[l->n++] = (PetscInt)v;
  }
  if (!l->in.msg[0] && l->n == 0) snprintf(l->in.msg, sizeof(l->in.msg), "%s has no labels; expected one integer class number per row", l->in.path);
  TnIoClose(&l->in);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0, serial HDF5: an integer dataset of S values (S or S x 1). */
static PetscErrorCode ReadH5(Labels *l, const char dataset[])
{
  hid_t       t;
  H5T_class_t cls;
  int         nd;
  hsize_t     dims[2] = {0, 1};
  long long  *buf;
  char       *msg = l->in.msg;
  size_t      len = sizeof(l->in.msg);
  PetscFunctionBeginUser;
  TnH5Precheck(l->in.path, "-data_labels", dataset, msg, len);
  if (msg[0]) PetscFunctionReturn(PETSC_SUCCESS);
  l->file = H5Fopen(l->in.path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (l->file < 0) {
    snprintf(msg, len, "-data_labels %s: cannot open it as an HDF5 file", l->in.path);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  l->dset = H5Dopen2(l->file, dataset, H5P_DEFAULT);
  if (l->dset < 0) {
    snprintf(msg, len, "-data_labels %s has no dataset '%s' (name it with -data_labels_dataset; list the datasets with: h5ls -r %s)", l->in.path, dataset, l->in.path);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  t   = H5Dget_type(l->dset);
  cls = t < 0 ? H5T_NO_CLASS : H5Tget_class(t);
  if (t >= 0) H5Tclose(t);
  l->space = H5Dget_space(l->dset);
  nd       = l->space < 0 ? -1 : H5Sget_simple_extent_ndims(l->space);
  if (cls != H5T_INTEGER) {
    snprintf(msg, len, "-data_labels %s: dataset '%s' does not hold integers; labels are integer class numbers 0, 1, ..., C - 1 (store them as int32 or int64)", l->in.path, dataset);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (nd < 1 || nd > 2 || H5Sget_simple_extent_dims(l->space, dims, NULL) < 0 || (nd == 2 && dims[1] != 1)) {
    snprintf(msg, len, "-data_labels %s: dataset '%s' must be one label per sample (1-D, or samples x 1)", l->in.path, dataset);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (dims[0] == 0 || dims[0] > (hsize_t)PETSC_MAX_INT) {
    snprintf(msg, len, "-data_labels %s: dataset '%s' has %llu labels, expected 1 to %d", l->in.path, dataset, (unsigned long long)dims[0], (int)PETSC_MAX_INT);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(PetscMalloc1(dims[0], &buf));
  PetscCall(PetscMalloc1(dims[0], &l->lab));
  if (H5Dread(l->dset, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) snprintf(msg, len, "-data_labels %s: cannot read dataset '%s'", l->in.path, dataset);
  for (hsize_t s = 0; s < dims[0] && !msg[0]; s++) {
    if (buf[s] < 0 || buf[s] >= PETSC_MAX_INT)
      snprintf(msg, len, "-data_labels %s: dataset '%s', label %llu is %lld: labels are class numbers 0, 1, ..., C - 1", l->in.path, dataset, (unsigned long long)s + 1, buf[s]);
    else
      l->lab[s] = (PetscInt)buf[s];
  }
  l->n = dims[0];
  PetscCall(PetscFree(buf));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnReadLabels(MPI_Comm comm, const char path[], const char dataset[], PetscInt *S, PetscInt **labels)
{
  Labels      l;
  PetscMPIInt rank;
  PetscInt    n = 0;
  H5E_auto2_t efunc;
  void       *edata;
  size_t      plen = strlen(path);
  PetscBool   h5   = (PetscBool)((plen > 3 && !strcmp(path + plen - 3, ".h5")) || (plen > 5 && !strcmp(path + plen - 5, ".hdf5")));
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(PetscMemzero(&l, sizeof(l)));
  l.in.path = path;
  l.file = l.dset = l.space = H5I_INVALID_HID;
  H5Eget_auto2(H5E_DEFAULT, &efunc, &edata);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  if (rank == 0) {
    if (h5)
      PetscCall(ReadH5(&l, dataset && dataset[0] ? dataset : "/label"));
    else
      PetscCall(ReadText(&l));
    if (l.in.msg[0] && !strstr(l.in.msg, "-data_labels")) { /* name the option in the text reader's messages */
      char m[TN_IO_MSG + 16];
      snprintf(m, sizeof(m), "-data_labels: %s", l.in.msg);
      PetscCall(PetscStrncpy(l.in.msg, m, sizeof(l.in.msg)));
    }
    n = (PetscInt)l.n;
  }
  H5Eset_auto2(H5E_DEFAULT, efunc, edata);
  PetscCall(TnIoSync(comm, l.in.msg, LabelsDestroy, &l));
  PetscCallMPI(MPI_Bcast(&n, 1, MPIU_INT, 0, comm));
  if (rank != 0) PetscCall(PetscMalloc1(n, &l.lab));
  PetscCallMPI(MPI_Bcast(l.lab, n, MPIU_INT, 0, comm));
  *S      = n;
  *labels = l.lab;
  l.lab   = NULL;
  PetscCall(LabelsDestroy(&l));
  PetscFunctionReturn(PETSC_SUCCESS);
}
