/* Samples from a 2-D HDF5 dataset (samples x N) with parallel HDF5: every
   rank reads its column block [rstart, rend) of all rows in one collective
   read, then transposes it to sample-fastest order. HDF5's own error stack
   printing is off while we read; failures become tenor messages. Collective
   HDF5 calls fail on every rank alike, and every check goes through
   TnIoSync, so all ranks leave together. */
#include "ioimpl.h"
#include <hdf5.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  const char *path, *dataset;
  hid_t       fapl, file, dset, fspace, mspace, dxpl;
  double     *buf;
  H5E_auto2_t efunc; /* HDF5's error printer, restored at the end */
  void       *edata;
  char        msg[TN_IO_MSG];
} H5Read;

static PetscErrorCode H5ReadDestroy(void *ctx)
{
  H5Read *h = (H5Read *)ctx;
  PetscFunctionBeginUser;
  if (h->mspace >= 0) H5Sclose(h->mspace);
  if (h->fspace >= 0) H5Sclose(h->fspace);
  if (h->dset >= 0) H5Dclose(h->dset);
  if (h->file >= 0) H5Fclose(h->file);
  if (h->fapl >= 0) H5Pclose(h->fapl);
  if (h->dxpl >= 0) H5Pclose(h->dxpl);
  h->mspace = h->fspace = h->dset = h->file = h->fapl = h->dxpl = H5I_INVALID_HID;
  H5Eset_auto2(H5E_DEFAULT, h->efunc, h->edata);
  PetscCall(PetscFree(h->buf));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Collective: opens the file and the dataset (sets h->msg on failure). */
static void H5Open(MPI_Comm comm, H5Read *h)
{
  h->fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (h->fapl < 0 || H5Pset_fapl_mpio(h->fapl, comm, MPI_INFO_NULL) < 0) {
    snprintf(h->msg, sizeof(h->msg), "cannot set up parallel HDF5 to read %s", h->path);
    return;
  }
  h->file = H5Fopen(h->path, H5F_ACC_RDONLY, h->fapl);
  if (h->file < 0) {
    snprintf(h->msg, sizeof(h->msg), "cannot open %s as an HDF5 file (parallel HDF5 must see the file from every rank)", h->path);
    return;
  }
  h->dset = H5Dopen2(h->file, h->dataset, H5P_DEFAULT);
  if (h->dset < 0) snprintf(h->msg, sizeof(h->msg), "%s has no dataset '%s' (list its datasets with: h5ls -r %s)", h->path, h->dataset, h->path);
}

/* Collective: checks the type and shape; S = the number of samples. */
static void H5Shape(H5Read *h, PetscInt N, hsize_t *S)
{
  hid_t       t   = H5Dget_type(h->dset);
  H5T_class_t cls = t < 0 ? H5T_NO_CLASS : H5Tget_class(t);
  hsize_t     dims[2];
  int         nd;
  if (t >= 0) H5Tclose(t);
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
    snprintf(h->msg, sizeof(h->msg), "dataset '%s' in %s does not hold numbers; expected a float array of samples x nodes", h->dataset, h->path);
    return;
  }
  h->fspace = H5Dget_space(h->dset);
  nd        = h->fspace < 0 ? -1 : H5Sget_simple_extent_ndims(h->fspace);
  if (nd != 2) {
    snprintf(h->msg, sizeof(h->msg), "dataset '%s' in %s has %d dimensions, expected 2 (samples x nodes)", h->dataset, h->path, nd);
    return;
  }
  if (H5Sget_simple_extent_dims(h->fspace, dims, NULL) < 0)
    snprintf(h->msg, sizeof(h->msg), "cannot read the shape of dataset '%s' in %s", h->dataset, h->path);
  else if (dims[1] != (hsize_t)N)
    snprintf(h->msg, sizeof(h->msg), "dataset '%s' in %s is %llu x %llu, expected samples x %" PetscInt_FMT " (the number of nodes)%s", h->dataset, h->path, (unsigned long long)dims[0], (unsigned long long)dims[1], N, dims[0] == (hsize_t)N ? "; it looks transposed: store it as samples x nodes" : "");
  else if (dims[0] == 0 || dims[0] > PETSC_MAX_INT)
    snprintf(h->msg, sizeof(h->msg), "dataset '%s' in %s has %llu samples, expected 1 to %d", h->dataset, h->path, (unsigned long long)dims[0], (int)PETSC_MAX_INT);
  *S = dims[0];
}

/* Collective: reads columns [rstart, rstart + n) of every row into h->buf (S x n). */
static PetscErrorCode H5ReadBlock(H5Read *h, PetscInt rstart, PetscInt n, hsize_t S)
{
  hsize_t start[2] = {0, (hsize_t)rstart}, count[2] = {S, (hsize_t)n}, mdims[2] = {S, (hsize_t)PetscMax(n, 1)};
  herr_t  e;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1((size_t)S * (size_t)PetscMax(n, 1), &h->buf));
  h->dxpl   = H5Pcreate(H5P_DATASET_XFER);
  h->mspace = H5Screate_simple(2, mdims, NULL);
  if (n > 0)
    e = H5Sselect_hyperslab(h->fspace, H5S_SELECT_SET, start, NULL, count, NULL);
  else
    e = (H5Sselect_none(h->fspace) < 0 || H5Sselect_none(h->mspace) < 0) ? -1 : 0;
  if (h->dxpl < 0 || h->mspace < 0 || e < 0 || H5Pset_dxpl_mpio(h->dxpl, H5FD_MPIO_COLLECTIVE) < 0 || H5Dread(h->dset, H5T_NATIVE_DOUBLE, h->mspace, h->fspace, h->dxpl, h->buf) < 0)
    snprintf(h->msg, sizeof(h->msg), "cannot read dataset '%s' of %s (columns %" PetscInt_FMT "..%" PetscInt_FMT ")", h->dataset, h->path, rstart, rstart + n);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnReadSamplesHDF5(MPI_Comm comm, const char path[], const char dataset[], PetscInt N, PetscInt rstart, PetscInt rend, PetscInt *S, PetscScalar **x)
{
  H5Read      h;
  PetscMPIInt rank;
  PetscInt    n  = rend - rstart;
  hsize_t     ns = 0;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(TN_IORead, 0, 0, 0, 0));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(PetscMemzero(&h, sizeof(h)));
  h.path = path, h.dataset = dataset;
  h.fapl = h.file = h.dset = h.fspace = h.mspace = h.dxpl = H5I_INVALID_HID;
  H5Eget_auto2(H5E_DEFAULT, &h.efunc, &h.edata);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  if (!(0 <= rstart && rstart <= rend && rend <= N))
    snprintf(h.msg, sizeof(h.msg), "TnReadSamplesHDF5: rank %d asks for columns [%" PetscInt_FMT ", %" PetscInt_FMT "), outside 0..%" PetscInt_FMT, (int)rank, rstart, rend, N);
  else if (rank == 0)
    TnH5Precheck(path, "-data_file", dataset, h.msg, sizeof(h.msg)); /* before the collective open: one verdict */
  PetscCall(TnIoSync(comm, h.msg, H5ReadDestroy, &h));
  H5Open(comm, &h);
  PetscCall(TnIoSync(comm, h.msg, H5ReadDestroy, &h));
  H5Shape(&h, N, &ns);
  PetscCall(TnIoSync(comm, h.msg, H5ReadDestroy, &h));
  { /* the read buffer and the transposed copy, before either is allocated */
    char what[PETSC_MAX_PATH_LEN + 64];
    PetscCall(PetscSNPrintf(what, sizeof(what), "the samples of %s (%llu x %" PetscInt_FMT ")", path, (unsigned long long)ns, N));
    PetscCall(TnCheckMemory(comm, 2.0 * 8 * (double)ns * (double)n, what, "use fewer samples, or more nodes"));
  }
  PetscCall(H5ReadBlock(&h, rstart, n, ns));
  PetscCall(TnIoSync(comm, h.msg, H5ReadDestroy, &h));
  *S = (PetscInt)ns;
  for (size_t k = 0; k < (size_t)ns * (size_t)n && !h.msg[0]; k++)
    if (!(fabs(h.buf[k]) <= TN_SAMPLE_MAX)) snprintf(h.msg, sizeof(h.msg), "dataset '%s' in %s: sample %zu, node %zu is %g; samples must be finite numbers of magnitude at most %g", dataset, path, k / (size_t)n + 1, rstart + k % (size_t)n + 1, h.buf[k], TN_SAMPLE_MAX);
  PetscCall(TnIoSync(comm, h.msg, H5ReadDestroy, &h));
  PetscCall(PetscMalloc1((size_t)n * (size_t)ns, x));
  for (size_t s = 0; s < (size_t)ns; s++)
    for (size_t i = 0; i < (size_t)n; i++) (*x)[i * ns + s] = h.buf[s * (size_t)n + i];
  PetscCall(H5ReadDestroy(&h));
  PetscCall(PetscLogEventEnd(TN_IORead, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}
