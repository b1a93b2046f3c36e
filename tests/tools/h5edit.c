/* Test helper: damages an HDF5 file the way the damaged-file tests need.
     h5edit FILE attr NAME VALUE...   root attribute NAME := the doubles VALUE...
                                      (one value: a scalar; more: a 1-D array)
     h5edit FILE str NAME TEXT        root attribute NAME := the string TEXT
     h5edit FILE del NAME             removes the root attribute NAME
     h5edit FILE set DSET INDEX VALUE element INDEX of the 1-D dataset DSET
     h5edit FILE get DSET INDEX       prints element INDEX of DSET
     h5edit FILE len DSET             prints the length of the 1-D dataset DSET
     h5edit FILE samples DSET S N [V] a new contiguous S x N double dataset DSET
                                      whose storage is never written (late
                                      allocation), or holds V everywhere
   Values are parsed with strtod ("nan", "inf", "-1e9"). Exit 0 on success. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int Fail(const char what[])
{
  fprintf(stderr, "h5edit: %s failed\n", what);
  return 1;
}

int main(int argc, char **argv)
{
  hid_t f, a, s, d, t;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  if (argc < 4) {
    fprintf(stderr, "usage: h5edit FILE attr|str|del|set|get|len|samples ...\n");
    return 2;
  }
  if (!strcmp(argv[2], "samples")) {
    hsize_t dims[2];
    hid_t   dcpl;
    if (argc != 6 && argc != 7) return 2;
    f       = H5Fopen(argv[1], H5F_ACC_RDWR, H5P_DEFAULT);
    dims[0] = strtoull(argv[4], NULL, 10), dims[1] = strtoull(argv[5], NULL, 10);
    if (f < 0) f = H5Fcreate(argv[1], H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE);
    s = H5Screate_simple(2, dims, NULL);
    d = H5Dcreate2(f, argv[3], H5T_NATIVE_DOUBLE, s, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d < 0) return Fail("H5Dcreate2");
    if (argc == 7) {
      size_t  n = (size_t)(dims[0] * dims[1]);
      double *v = malloc(sizeof(double) * (n ? n : 1));
      for (size_t k = 0; k < n; k++) v[k] = strtod(argv[6], NULL);
      if (H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) return Fail("H5Dwrite");
      free(v);
    }
    H5Dclose(d), H5Sclose(s), H5Pclose(dcpl);
    return H5Fclose(f) < 0 ? Fail("H5Fclose") : 0;
  }
  f = H5Fopen(argv[1], strcmp(argv[2], "get") && strcmp(argv[2], "len") ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return Fail("H5Fopen");
  if (!strcmp(argv[2], "attr") || !strcmp(argv[2], "str")) {
    int str = !strcmp(argv[2], "str"), n = argc - 4;
    if (n < 1) return 2;
    if (H5Aexists(f, argv[3]) > 0) H5Adelete(f, argv[3]);
    if (str) {
      t = H5Tcopy(H5T_C_S1);
      H5Tset_size(t, strlen(argv[4]) + 1);
      s = H5Screate(H5S_SCALAR);
    } else {
      hsize_t dim = (hsize_t)n;
      t           = H5Tcopy(H5T_NATIVE_DOUBLE);
      s           = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
    }
    a = H5Acreate2(f, argv[3], t, s, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) return Fail("H5Acreate2");
    if (str) {
      if (H5Awrite(a, t, argv[4]) < 0) return Fail("H5Awrite");
    } else {
      double *v = malloc(sizeof(double) * (size_t)n);
      for (int i = 0; i < n; i++) v[i] = strtod(argv[4 + i], NULL);
      if (H5Awrite(a, H5T_NATIVE_DOUBLE, v) < 0) return Fail("H5Awrite");
      free(v);
    }
    H5Aclose(a), H5Sclose(s), H5Tclose(t);
  } else if (!strcmp(argv[2], "del")) {
    if (H5Adelete(f, argv[3]) < 0) return Fail("H5Adelete");
  } else {
    hsize_t dim, idx = argc > 4 ? strtoull(argv[4], NULL, 10) : 0, one = 1;
    double  v;
    hid_t   m;
    d = H5Dopen2(f, argv[3], H5P_DEFAULT);
    if (d < 0) return Fail("H5Dopen2");
    s = H5Dget_space(d);
    H5Sget_simple_extent_dims(s, &dim, NULL);
    if (!strcmp(argv[2], "len")) {
      printf("%llu\n", (unsigned long long)dim);
    } else {
      if (idx >= dim) return Fail("index");
      m = H5Screate_simple(1, &one, NULL);
      H5Sselect_hyperslab(s, H5S_SELECT_SET, &idx, NULL, &one, NULL);
      if (!strcmp(argv[2], "get")) {
        if (H5Dread(d, H5T_NATIVE_DOUBLE, m, s, H5P_DEFAULT, &v) < 0) return Fail("H5Dread");
        printf("%.17g\n", v);
      } else {
        if (argc != 6 && argc != 7) return 2;
        v = strtod(argv[5], NULL);
        if (H5Dwrite(d, H5T_NATIVE_DOUBLE, m, s, H5P_DEFAULT, &v) < 0) return Fail("H5Dwrite");
      }
      H5Sclose(m);
    }
    H5Sclose(s), H5Dclose(d);
  }
  return H5Fclose(f) < 0 ? Fail("H5Fclose") : 0;
}
