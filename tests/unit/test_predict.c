/* The generative classifier (docs/predict.md): class labels as clamped
   one-hot label nodes, log p(x | c) for every class, Bayes' rule.
   - TnClassPosterior: sums to 1 to round-off, equals the naive formula,
     and stays finite where the naive one overflows;
   - a linear sync network of D = 3 data nodes and C = 3 label nodes, the
     free block triangular (diag exact): log p(x | c) = log N(A x + B e_c + d)
     + log|det A| in closed form (a_K^F = A x + B e_c + d from the masked
     propagator), and the posterior pi_c p(x | c) / sum, to 1e-10, with
     batches that hold 2 samples x 3 classes and a padded last batch;
   - the same with standardised data: the label columns stay one-hot, the
     log-Jacobian is over the free nodes only, and the data-space density
     equals the closed form of the affine map x -> A diag(1/sd)(x - mean)
     + B e_c + d with its own log|det| (LAPACK), to 1e-10;
   - the priors are the training labels' shares;
   - -data_class keeps one class's samples, in order, without label nodes;
   - labels from integer HDF5 datasets (1-D int32, S x 1 int64); a float
     dataset, a negative label, a missing dataset refused on every rank;
   - bad labels (negative, not an integer, out of range, a class without
     training samples, a count unlike the samples') fail on every rank;
   - all of it at 1-4 ranks (the unit tests' rank counts) with the default
     partitioner: the same closed form, so rank and partition invariant. */
#include "tn_test.h"
#include <tenor/dyn.h>
#include <tenor/net.h>
#include <tenor/predict.h>
#include <tenor/io.h>
#include <hdf5.h>

#define D 3
#define C 3
#define N (D + C)
#define S 7

static void Posterior(void)
{
  PetscReal lp[4] = {PetscLogReal(0.1), PetscLogReal(0.2), PetscLogReal(0.3), PetscLogReal(0.4)};
  PetscReal ll[4] = {-3.0, -1.5, -2.25, -4.0}, post[4], lz, sum = 0, naive = 0;
  PetscReal big[3] = {-1e4, -1e4 + 2, -2e4}, lp3[3] = {PetscLogReal(0.5), PetscLogReal(0.25), PetscLogReal(0.25)};
  TN_ASSERT_OK(TnClassPosterior(4, lp, ll, post, &lz));
  for (PetscInt c = 0; c < 4; c++) naive += PetscExpReal(lp[c] + ll[c]);
  for (PetscInt c = 0; c < 4; c++) {
    sum += post[c];
    TN_ASSERT_CLOSE(post[c], PetscExpReal(lp[c] + ll[c]) / naive, 1e-15);
  }
  TN_ASSERT_CLOSE(sum, 1.0, 4e-16);
  TN_ASSERT_CLOSE(lz, PetscLogReal(naive), 1e-15);
  /* exp(-1e4) underflows to 0 in the naive formula; log-sum-exp does not */
  TN_ASSERT_OK(TnClassPosterior(3, lp3, big, post, &lz));
  TN_ASSERT_CLOSE(post[1] / post[0], 0.5 * PetscExpReal(2.0), 1e-11); /* the inputs round at 1e4 * 2^-53 */
  TN_ASSERT_CLOSE(post[0] + post[1] + post[2], 1.0, 4e-16);
  CU_ASSERT(post[2] == 0.0);
  TN_ASSERT_CLOSE(lz, -1e4 + 2 + PetscLogReal(0.25 + 0.5 * PetscExpReal(-2.0)), 1e-15);
}

typedef struct {
  PetscReal W[N][N], b[N], g[N];
  PetscBool P[N][N];
} Model;

/* a_K = T a_0 + e for the masked linear step (label rows the identity's). */
static void Propagator(const Model *m, PetscReal h, PetscInt K, PetscReal T[N][N], PetscReal e[N])
{
  PetscReal M[N][N], c[N], Tn[N][N], en[N];
  for (PetscInt i = 0; i < N; i++) {
    e[i] = 0;
    for (PetscInt j = 0; j < N; j++) T[i][j] = (i == j);
  }
  for (PetscInt i = 0; i < N; i++) {
    c[i] = i < D ? h * m->b[i] : 0;
    for (PetscInt j = 0; j < N; j++) M[i][j] = i < D ? (i == j) + h * (m->W[i][j] - (i == j) * m->g[i]) : (PetscReal)(i == j);
  }
  for (PetscInt k = 0; k < K; k++) {
    for (PetscInt i = 0; i < N; i++) {
      en[i] = c[i];
      for (PetscInt j = 0; j < N; j++) {
        Tn[i][j] = 0;
        en[i] += M[i][j] * e[j];
        for (PetscInt l = 0; l < N; l++) Tn[i][j] += M[i][l] * T[l][j];
      }
    }
    for (PetscInt i = 0; i < N; i++) {
      e[i] = en[i];
      for (PetscInt j = 0; j < N; j++) T[i][j] = Tn[i][j];
    }
  }
}

/* log p(x | c) of the affine map u = G (x - mu) + B e_c + d (G = A diag(1/sd)):
   sum_i log N(u_i; 0, 1) + log|det G|, det by LAPACK. */
static PetscReal ClosedForm(PetscReal T[N][N], const PetscReal e[N], const PetscReal *x, const PetscReal *mu, const PetscReal *sd, PetscInt c)
{
  PetscScalar G[D * D];
  PetscReal   lq = 0, ld, sign;
  for (PetscInt i = 0; i < D; i++) {
    PetscReal u = T[i][D + c] + e[i];
    for (PetscInt j = 0; j < D; j++) {
      u += T[i][j] * (x[j] - mu[j]) / sd[j];
      G[j * D + i] = T[i][j] / sd[j]; /* column-major */
    }
    lq += -0.5 * u * u - 0.5 * PetscLogReal(2 * PETSC_PI);
  }
  TnTestDenseLogDet(D, G, &ld, &sign);
  return lq + ld;
}

static const PetscInt labels[S] = {0, 2, 1, 1, 0, 2, 2};

static void WriteFiles(const char *xpath, const char *lpath, PetscReal x[S][D])
{
  PetscMPIInt rank;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  for (PetscInt s = 0; s < S; s++)
    for (PetscInt i = 0; i < D; i++) x[s][i] = 2 * TnRandUniform(91, 1, (uint64_t)(s * D + i)) - 1 + 0.5 * i;
  if (!rank) {
    FILE *fp = fopen(xpath, "w"), *fl = fopen(lpath, "w");
    fprintf(fp, "a,b,c\n");
    fprintf(fl, "label\n");
    for (PetscInt s = 0; s < S; s++) {
      fprintf(fp, "%.17g,%.17g,%.17g\n", x[s][0], x[s][1], x[s][2]);
      fprintf(fl, "%d\n", (int)labels[s]);
    }
    fclose(fp);
    fclose(fl);
  }
  MPI_Barrier(PETSC_COMM_WORLD);
}

/* The linear classifier against its closed form; standardised or not. */
static void ClosedFormCase(PetscBool standardize)
{
  Model       m;
  TnNet       net;
  TnDyn       dyn;
  TnData      data;
  IS          is;
  Vec         mask;
  PetscMPIInt rank;
  PetscReal   x[S][D], T[N][N], e[N], h = 0.3, mu[D] = {0, 0, 0}, sd[D] = {1, 1, 1}, logjac, prior[C], sumlog = 0;
  PetscReal   loglik[S * C], post[C], lz;
  PetscInt    K = 2, nC;
  char        xpath[PETSC_MAX_PATH_LEN], lpath[PETSC_MAX_PATH_LEN];
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  TnTestRandomDense(N, N, 1.0, PETSC_FALSE, 0.6 / PetscSqrtReal((PetscReal)N), 17, &m.W[0][0], &m.P[0][0], m.b, m.g);
  for (PetscInt i = 0; i < D; i++) /* W_FF triangular: diag is exact */
    for (PetscInt j = 0; j < i; j++) m.W[i][j] = 0, m.P[i][j] = PETSC_FALSE;
  for (PetscInt j = D; j < N; j++) m.W[0][j] += 1.5 * (j - D); /* the classes differ clearly */
  snprintf(xpath, sizeof(xpath), "%s/x%d.csv", TnTestTmpDir(), (int)standardize);
  snprintf(lpath, sizeof(lpath), "%s/l%d.csv", TnTestTmpDir(), (int)standardize);
  WriteFiles(xpath, lpath, x);
  if (standardize)
    for (PetscInt i = 0; i < D; i++) {
      PetscReal v = 0;
      for (PetscInt s = 0; s < S; s++) mu[i] += x[s][i] / S;
      for (PetscInt s = 0; s < S; s++) v += (x[s][i] - mu[i]) * (x[s][i] - mu[i]) / S;
      sd[i] = PetscSqrtReal(v);
      sumlog += PetscLogReal(sd[i]);
    }
  TN_ASSERT_OK(TnTestNetFromDense(N, N, &m.W[0][0], &m.P[0][0], m.b, m.g, &net));
  TN_ASSERT_OK(TnDynCreate(net, &dyn));
  TN_ASSERT_OK(TnDynSetActivation(dyn, TN_ACT_LINEAR));
  TN_ASSERT_OK(TnDynSetStepSize(dyn, h));
  TN_ASSERT_OK(TnDynSetSteps(dyn, K));
  TN_ASSERT_OK(TnDynSetBatchSize(dyn, 2 * C)); /* 2 samples per batch; S = 7 pads the last */
  TN_ASSERT_OK(ISCreateStride(PETSC_COMM_WORLD, rank ? 0 : C, D, 1, &is));
  TN_ASSERT_OK(TnDynSetClamp(dyn, is));
  TN_ASSERT_OK(ISDestroy(&is));
  TN_ASSERT_OK(TnDataCreate(PETSC_COMM_WORLD, &data));
  TN_ASSERT_OK(TnDataSetFile(data, xpath, NULL));
  TN_ASSERT_OK(TnDataSetType(data, TNDATA_CSV));
  TN_ASSERT_OK(TnDataSetLabels(data, lpath, NULL));
  TN_ASSERT_OK(TnDataSetStandardize(data, standardize));
  TN_ASSERT_OK(TnDataGetClasses(data, &nC));
  CU_ASSERT(nC == C);
  TN_ASSERT_OK(VecCreateMPI(PETSC_COMM_WORLD, PETSC_DECIDE, N, &mask));
  TN_ASSERT_OK(TnDynGetClampMask(dyn, mask));
  TN_ASSERT_OK(TnDataSetClampMask(data, mask));
  TN_ASSERT_OK(VecDestroy(&mask));
  TN_ASSERT_OK(TnDataLoad(data, N));
  TN_ASSERT_OK(TnDataGetLogJacobian(data, &logjac));
  TN_ASSERT_CLOSE(logjac, -sumlog, 1e-13); /* over the free nodes only */
  {                                        /* the label columns hold the one-hot code, untouched by standardisation */
    Vec                xb;
    PetscInt           valid, rs, re;
    const PetscScalar *a;
    TN_ASSERT_OK(VecCreate(PETSC_COMM_WORLD, &xb));
    TN_ASSERT_OK(VecSetSizes(xb, PETSC_DECIDE, N * S));
    TN_ASSERT_OK(VecSetBlockSize(xb, S));
    TN_ASSERT_OK(VecSetType(xb, VECMPI));
    TN_ASSERT_OK(TnDataGetBatch(data, 0, xb, &valid));
    TN_ASSERT_OK(VecGetOwnershipRange(xb, &rs, &re));
    TN_ASSERT_OK(VecGetArrayRead(xb, &a));
    for (PetscInt q = rs; q < re; q++) {
      PetscInt i = q / S, s = q % S;
      if (i >= D) {
        CU_ASSERT(a[q - rs] == (PetscScalar)(labels[s] == i - D));
      } else {
        TN_ASSERT_CLOSE(a[q - rs], (x[s][i] - mu[i]) / sd[i], 1e-14);
      }
    }
    TN_ASSERT_OK(VecRestoreArrayRead(xb, &a));
    TN_ASSERT_OK(VecDestroy(&xb));
  }
  TN_ASSERT_OK(TnDataGetClassPriors(data, prior));
  TN_ASSERT_CLOSE(prior[0], 2.0 / 7, 1e-15);
  TN_ASSERT_CLOSE(prior[1], 2.0 / 7, 1e-15);
  TN_ASSERT_CLOSE(prior[2], 3.0 / 7, 1e-15);
  TN_ASSERT_OK(TnClassLogLikelihood(dyn, data, C, loglik));
  Propagator(&m, h, K, T, e);
  for (PetscInt s = 0; s < S; s++) {
    PetscReal lpr[C], ref[C], refpost[C], z = 0, sum = 0;
    for (PetscInt c = 0; c < C; c++) {
      lpr[c] = PetscLogReal(prior[c]);
      ref[c] = ClosedForm(T, e, x[s], mu, sd, c);
      TN_ASSERT_CLOSE(loglik[s * C + c] + logjac, ref[c], 1e-10); /* the data's own space */
      z += prior[c] * PetscExpReal(ref[c]);
    }
    for (PetscInt c = 0; c < C; c++) refpost[c] = prior[c] * PetscExpReal(ref[c]) / z;
    for (PetscInt c = 0; c < C; c++) loglik[s * C + c] += logjac;
    TN_ASSERT_OK(TnClassPosterior(C, lpr, loglik + s * C, post, &lz));
    for (PetscInt c = 0; c < C; c++) {
      TN_ASSERT_CLOSE(post[c], refpost[c], 1e-10);
      sum += post[c];
    }
    TN_ASSERT_CLOSE(sum, 1.0, 4e-16);
    TN_ASSERT_CLOSE(lz, PetscLogReal(z), 1e-10);
  }
  TnDataDestroy(&data);
  TnDynDestroy(&dyn);
  TnNetDestroy(&net);
}

static void Linear(void)
{
  ClosedFormCase(PETSC_FALSE);
}

static void Standardized(void)
{
  ClosedFormCase(PETSC_TRUE);
}

/* Loading with a label file `text` (one line per entry) for S samples of D
   columns; classes > 0 imposes -data_classes. */
static PetscErrorCode LoadWithLabels(const char *text, PetscInt classes, PetscReal vfrac)
{
  char        xpath[PETSC_MAX_PATH_LEN], lpath[PETSC_MAX_PATH_LEN];
  PetscReal   x[S][D];
  PetscMPIInt rank;
  TnData      data;
  PetscInt    nC;
  FILE       *fl;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  snprintf(xpath, sizeof(xpath), "%s/bx.csv", TnTestTmpDir());
  snprintf(lpath, sizeof(lpath), "%s/bl.csv", TnTestTmpDir());
  WriteFiles(xpath, lpath, x);
  if (!rank) {
    fl = fopen(lpath, "w");
    fputs(text, fl);
    fclose(fl);
  }
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscCall(TnDataCreate(PETSC_COMM_WORLD, &data));
  PetscCall(TnDataSetFile(data, xpath, NULL));
  PetscCall(TnDataSetType(data, TNDATA_CSV));
  PetscCall(TnDataSetLabels(data, lpath, NULL));
  PetscCall(TnDataSetValidationFraction(data, vfrac, 11));
  if (classes) PetscCall(TnDataSetClasses(data, classes, PETSC_FALSE));
  PetscCall(TnDataGetClasses(data, &nC));
  PetscCall(TnDataLoad(data, D + nC));
  PetscCall(TnDataDestroy(&data));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void BadLabels(void)
{
  TN_ASSERT_OK(LoadWithLabels("label\n0\n2\n1\n1\n0\n2\n2\n", 0, 0));
  TN_ASSERT_FAILS(LoadWithLabels("0\n2\n-1\n1\n0\n2\n2\n", 0, 0));   /* negative */
  TN_ASSERT_FAILS(LoadWithLabels("0\n2\n1.5\n1\n0\n2\n2\n", 0, 0));  /* not an integer */
  TN_ASSERT_FAILS(LoadWithLabels("0\n2\nx\n1\n0\n2\n2\n", 0, 0));    /* text after the first row */
  TN_ASSERT_FAILS(LoadWithLabels("0,1\n2\n1\n1\n0\n2\n2\n", 0, 0));  /* two columns */
  TN_ASSERT_FAILS(LoadWithLabels("0\n3\n1\n1\n0\n3\n3\n", 0, 0));    /* class 2 without samples */
  TN_ASSERT_FAILS(LoadWithLabels("0\n2\n1\n1\n0\n2\n2\n", 2, 0));    /* 2 outside -data_classes 2 */
  TN_ASSERT_FAILS(LoadWithLabels("0\n2\n1\n1\n0\n2\n", 0, 0));       /* 6 labels, 7 samples */
  TN_ASSERT_FAILS(LoadWithLabels("0\n2\n1\n1\n0\n2\n2\n1\n", 0, 0)); /* 8 labels */
  TN_ASSERT_FAILS(LoadWithLabels("0\n0\n0\n0\n0\n0\n0\n", 0, 0));    /* one class */
  TN_ASSERT_FAILS(LoadWithLabels("label\n", 0, 0));                  /* none */
}

/* -data_class 2: the 3 samples of class 2, in order, no label nodes; pi_2 = 3/7. */
static void ClassSelect(void)
{
  char               xpath[PETSC_MAX_PATH_LEN], lpath[PETSC_MAX_PATH_LEN];
  PetscReal          x[S][D], prior;
  PetscInt           nC, c, Cs, Ssel, valid, rs, re;
  TnData             data;
  Vec                xb;
  const PetscScalar *a;
  const PetscInt     keep[3] = {1, 5, 6};
  snprintf(xpath, sizeof(xpath), "%s/sx.csv", TnTestTmpDir());
  snprintf(lpath, sizeof(lpath), "%s/sl.csv", TnTestTmpDir());
  WriteFiles(xpath, lpath, x);
  TN_ASSERT_OK(TnDataCreate(PETSC_COMM_WORLD, &data));
  TN_ASSERT_OK(TnDataSetFile(data, xpath, NULL));
  TN_ASSERT_OK(TnDataSetType(data, TNDATA_CSV));
  TN_ASSERT_OK(TnDataSetLabels(data, lpath, NULL));
  TN_ASSERT_OK(TnDataSetClassSelect(data, 2));
  TN_ASSERT_OK(TnDataGetClasses(data, &nC));
  CU_ASSERT(nC == 0); /* no label nodes */
  TN_ASSERT_OK(TnDataGetClassSelect(data, &c, &Cs, &prior));
  CU_ASSERT(c == 2 && Cs == C);
  TN_ASSERT_CLOSE(prior, 3.0 / 7, 1e-15);
  TN_ASSERT_OK(TnDataLoad(data, D));
  TN_ASSERT_OK(TnDataGetNumSamples(data, &Ssel));
  CU_ASSERT(Ssel == 3);
  TN_ASSERT_OK(VecCreate(PETSC_COMM_WORLD, &xb));
  TN_ASSERT_OK(VecSetSizes(xb, PETSC_DECIDE, D * 3));
  TN_ASSERT_OK(VecSetBlockSize(xb, 3));
  TN_ASSERT_OK(VecSetType(xb, VECMPI));
  TN_ASSERT_OK(TnDataGetBatch(data, 0, xb, &valid));
  CU_ASSERT(valid == 3);
  TN_ASSERT_OK(VecGetOwnershipRange(xb, &rs, &re));
  TN_ASSERT_OK(VecGetArrayRead(xb, &a));
  for (PetscInt q = rs; q < re; q++) CU_ASSERT(a[q - rs] == (PetscScalar)x[keep[q % 3]][q / 3]);
  TN_ASSERT_OK(VecRestoreArrayRead(xb, &a));
  TN_ASSERT_OK(VecDestroy(&xb));
  TnDataDestroy(&data);
}

/* Labels from HDF5: an int32 dataset (1-D) and an int64 one (S x 1) read as
   written; a float dataset and a negative label are refused on every rank. */
static void LabelsHDF5(void)
{
  char        path[PETSC_MAX_PATH_LEN];
  PetscMPIInt rank;
  PetscInt    n, *lab = NULL;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  snprintf(path, sizeof(path), "%s/labels.h5", TnTestTmpDir());
  if (!rank) {
    int       l32[S], neg[S];
    long long l64[S];
    double    f[S];
    hsize_t   d1[1] = {S}, d2[2] = {S, 1};
    hid_t     file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), sp1 = H5Screate_simple(1, d1, NULL), sp2 = H5Screate_simple(2, d2, NULL), ds;
    for (PetscInt s = 0; s < S; s++) l32[s] = (int)labels[s], l64[s] = labels[s], f[s] = (double)labels[s], neg[s] = s == 4 ? -1 : (int)labels[s];
    ds = H5Dcreate2(file, "/label", H5T_STD_I32LE, sp1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, l32);
    H5Dclose(ds);
    ds = H5Dcreate2(file, "/l64", H5T_STD_I64LE, sp2, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, l64);
    H5Dclose(ds);
    ds = H5Dcreate2(file, "/float", H5T_IEEE_F64LE, sp1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, f);
    H5Dclose(ds);
    ds = H5Dcreate2(file, "/neg", H5T_STD_I32LE, sp1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, neg);
    H5Dclose(ds);
    H5Sclose(sp1);
    H5Sclose(sp2);
    H5Fclose(file);
  }
  MPI_Barrier(PETSC_COMM_WORLD);
  for (int k = 0; k < 2; k++) {
    TN_ASSERT_OK(TnReadLabels(PETSC_COMM_WORLD, path, k ? "/l64" : NULL, &n, &lab));
    CU_ASSERT(n == S);
    for (PetscInt s = 0; s < n && s < S; s++) CU_ASSERT(lab[s] == labels[s]);
    PetscFree(lab);
  }
  TN_ASSERT_FAILS(TnReadLabels(PETSC_COMM_WORLD, path, "/float", &n, &lab));
  TN_ASSERT_FAILS(TnReadLabels(PETSC_COMM_WORLD, path, "/neg", &n, &lab));
  TN_ASSERT_FAILS(TnReadLabels(PETSC_COMM_WORLD, path, "/nosuch", &n, &lab));
}

void TnTestRegister(void)
{
  CU_pSuite s = CU_add_suite("predict", NULL, NULL);
  CU_add_test(s, "posterior by log-sum-exp", Posterior);
  CU_add_test(s, "linear classifier against its closed form", Linear);
  CU_add_test(s, "standardised, against the closed form in the data space", Standardized);
  CU_add_test(s, "bad labels", BadLabels);
  CU_add_test(s, "the samples of one class (per-class models)", ClassSelect);
  CU_add_test(s, "labels from HDF5", LabelsHDF5);
}
