/* Samples to HDF5 (samples x N, double) with parallel HDF5. Each rank owns
   the natural-order node block [rs, re) of the default split, and writes
   that column block of each batch's rows in one collective write, after
   transposing its node-major, sample-fastest block to row-major. The file
   is path.tmp until TnSampleH5Close has closed it on every rank and rank 0
   has fsync'ed and renamed it (TnCommitBegin/End, tenor/io.h), so a crash
   never leaves a half-written file under the real name. Every HDF5 failure
   is turned into one collective tenor error. */
#include <tenor/sample.h>
#include <tenor/io.h>
#include <hdf5.h>
#include <string.h>

struct _p_TnSampleH5 {
  MPI_Comm comm;
  char     path[PETSC_MAX_PATH_LEN], tmp[PETSC_MAX_PATH_LEN + 8];
  hid_t    file, dset, dxpl;
  PetscInt S, N;
};

/* Collective. After a failure on any rank: the temporary is removed
   (TnCommitEnd with ok = PETSC_FALSE: path untouched) and every rank raises
   one error naming the file. The HDF5 handles are left open: closing them
   is collective in HDF5 and could wait for a rank that failed. */
static PetscErrorCode H5Check(TnSampleH5 p, int bad, const char what[])
{
  char msg[2 * PETSC_MAX_PATH_LEN + 160];
  int  any = bad != 0;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_MAX, p->comm));
  if (!any) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscSNPrintf(msg, sizeof(msg), "HDF5: cannot %s %s (is the directory writable from every rank, and the disk not full?); %s is unchanged", what, p->tmp, p->path));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL)); /* the removal's own error says less */
  (void)TnCommitEnd(p->comm, p->tmp, p->path, PETSC_FALSE);
  PetscCall(PetscPopErrorHandler());
  PetscCall(TnErrorSync(p->comm, (PetscBool)(bad != 0), msg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Attributes of the samples dataset (collective: every rank writes the same
   metadata): samples and nodes as 64-bit integers, the layout and the
   units. Returns < 0 on failure. */
static int PutStr(hid_t obj, const char name[], const char v[])
{
  hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR), a;
  int   err;
  H5Tset_size(t, strlen(v) + 1);
  a   = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
  err = a < 0 || H5Awrite(a, t, v) < 0 ? -1 : 0;
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
  H5Tclose(t);
  return err;
}

static int PutInt(hid_t obj, const char name[], long long v)
{
  hid_t sp = H5Screate(H5S_SCALAR), a = H5Acreate2(obj, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
  int   err = a < 0 || H5Awrite(a, H5T_NATIVE_LLONG, &v) < 0 ? -1 : 0;
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
  return err;
}

static int Describe(hid_t dset, PetscInt S, PetscInt N)
{
  int err = PutInt(dset, "samples", S) | PutInt(dset, "N", N);
  err |= PutStr(dset, "layout", "samples x N: row s is sample s, column i is node i in natural order");
  err |= PutStr(dset, "units", "units of the data x (with tenor sample -model of standardised data: x = data_mean + data_sd z, the data's own space)");
  return err ? -1 : 0;
}

PetscErrorCode TnSampleH5Create(MPI_Comm comm, const char path[], const char dataset[], PetscInt S, PetscInt N, TnSampleH5 *h)
{
  TnSampleH5 p;
  hid_t      fapl, space;
  hsize_t    dims[2] = {(hsize_t)S, (hsize_t)N};
  char       tmp[PETSC_MAX_PATH_LEN + 8];
  PetscFunctionBeginUser;
  PetscCall(TnCommitCheckSpace(comm, path, 8.0 * S * N + 65536));
  PetscCall(TnCommitBegin(comm, path, tmp, sizeof(tmp))); /* first: a refused path leaves nothing allocated */
  PetscCall(PetscNew(&p));
  p->comm = comm;
  p->S    = S;
  p->N    = N;
  PetscCall(PetscStrncpy(p->path, path, sizeof(p->path)));
  PetscCall(PetscStrncpy(p->tmp, tmp, sizeof(p->tmp)));
  fapl    = H5Pcreate(H5P_FILE_ACCESS);
  p->file = fapl < 0 || H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL) < 0 ? H5I_INVALID_HID : H5Fcreate(p->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  if (fapl >= 0) H5Pclose(fapl);
  PetscCall(H5Check(p, p->file < 0, "create"));
  space   = H5Screate_simple(2, dims, NULL);
  p->dset = H5Dcreate2(p->file, dataset, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Sclose(space);
  PetscCall(H5Check(p, p->dset < 0, "create the dataset in"));
  PetscCall(H5Check(p, Describe(p->dset, S, N) < 0, "write the attributes of the dataset in"));
  p->dxpl = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(p->dxpl, H5FD_MPIO_COLLECTIVE);
  *h = p;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSampleH5Write(TnSampleH5 h, Vec xnat, PetscInt s0, PetscInt valid)
{
  const PetscScalar *x;
  double            *buf;
  PetscInt           rs, re, B, n;
  hid_t              fspace, mspace;
  hsize_t            start[2] = {(hsize_t)s0, 0}, count[2] = {(hsize_t)valid, 0};
  herr_t             err;
  PetscFunctionBeginUser;
  PetscCall(VecGetBlockSize(xnat, &B));
  PetscCall(VecGetOwnershipRange(xnat, &rs, &re));
  rs /= B, re /= B, n = re - rs;
  start[1] = (hsize_t)rs;
  count[1] = (hsize_t)n;
  PetscCall(PetscMalloc1((size_t)valid * n + 1, &buf));
  PetscCall(VecGetArrayRead(xnat, &x));
  for (PetscInt b = 0; b < valid; b++)
    for (PetscInt i = 0; i < n; i++) buf[(size_t)b * n + i] = x[(size_t)i * B + b];
  PetscCall(VecRestoreArrayRead(xnat, &x));
  fspace = H5Dget_space(h->dset);
  mspace = H5Screate_simple(2, count, NULL);
  if (valid * n > 0)
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
  else {
    H5Sselect_none(fspace);
    H5Sselect_none(mspace);
  }
  PetscCall(PetscLogEventBegin(TN_IOWrite, 0, 0, 0, 0));
  err = H5Dwrite(h->dset, H5T_NATIVE_DOUBLE, mspace, fspace, h->dxpl, buf);
  PetscCall(PetscLogEventEnd(TN_IOWrite, 0, 0, 0, 0));
  H5Sclose(mspace);
  H5Sclose(fspace);
  PetscCall(PetscFree(buf));
  PetscCall(H5Check(h, err < 0, "write samples to"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnSampleH5Close(TnSampleH5 *h)
{
  TnSampleH5 p = *h;
  PetscBool  ok;
  PetscFunctionBeginUser;
  if (!p) PetscFunctionReturn(PETSC_SUCCESS);
  H5Pclose(p->dxpl);
  H5Dclose(p->dset);
  ok = (PetscBool)(H5Fclose(p->file) >= 0);
  PetscCall(TnCommitEnd(p->comm, p->tmp, p->path, ok));
  PetscCall(PetscFree(*h));
  PetscFunctionReturn(PETSC_SUCCESS);
}
