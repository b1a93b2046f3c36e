/* bench_mumps: the exact sparse log-det (MUMPS LU) of a sync step Jacobian
   J = I + h A at a random state, and the slq estimate against it.

   1. lattice2d with side n in -bench_lattice_n (default 100,316,1000: N =
      10^4, 10^5, 10^6) and er with N in -bench_er_n (default 1000,3000,10000)
      and in-degree -bench_er_k (16), for each ordering in -bench_orderings
      (default auto,qamd): seconds of the first log-det (analysis + numeric
      factorisation) and of a second one on the same matrix (the analysis
      reused), entries of L+U / nnz(J) (fill), MUMPS memory (sum over ranks),
      largest-front and flop figures through the method's view (stderr).
   2. slq (-logdet_slq_probes x -logdet_slq_steps, default 20 x 30) on the
      lattices with n in -bench_slq_lattice_n (default 316,1000): seconds,
      estimate, standard error, and the error against the exact value.

   JSON goes to stdout (rank 0) and to -bench_out FILE; progress to stderr. */
#include "benchutil.h"
#include <tenor/logdet.h>
#include <math.h>

static const char help[] = "Benchmark of the sparse (MUMPS) and slq log-determinants (see the head of bench/bench_mumps.c).\n"
                           "  -bench_out FILE                 JSON output file (also printed on stdout)\n"
                           "  -bench_lattice_n 100,316,1000   lattice sides (N = n^2)\n"
                           "  -bench_er_n 1000,3000,10000     er node counts\n"
                           "  -bench_er_k 16                  er in-degree\n"
                           "  -bench_orderings auto,qamd      MUMPS orderings (-logdet_sparse_ordering)\n"
                           "  -bench_slq_lattice_n 316,1000   lattices also estimated by slq\n";

#define MAXL 8

typedef struct {
  char           net[32], ordering[16];
  PetscInt       n, N, k;
  PetscInt64     nnz;
  double         t_build;
  TnLogDetResult first, reuse, slq;
  PetscBool      has_slq;
} Case;

/* The step Jacobian of net type `type` (size n, degree k) at a random state. */
static PetscErrorCode StepJacobian(const char type[], PetscInt n, PetscInt k, TnNet *net, TnDyn *dyn, Mat *J)
{
  Vec      x, xn;
  PetscInt rs, re;
  PetscFunctionBeginUser;
  PetscCall(TnNetCreate(PETSC_COMM_WORLD, net));
  PetscCall(TnNetSetFromOptions(*net));
  PetscCall(TnNetSetType(*net, type));
  PetscCall(TnNetSetSize(*net, n));
  if (k > 0) PetscCall(TnNetSetDegree(*net, k));
  PetscCall(TnDynCreate(*net, dyn));
  PetscCall(TnDynSetFromOptions(*dyn));
  PetscCall(TnDynSetBatchSize(*dyn, 1));
  PetscCall(TnDynSetUp(*dyn));
  PetscCall(TnDynCreateNaturalState(*dyn, &xn));
  PetscCall(TnDynCreateState(*dyn, &x));
  PetscCall(VecGetOwnershipRange(xn, &rs, &re));
  for (PetscInt q = rs; q < re; q++) PetscCall(VecSetValue(xn, q, TnRandNormal(2024, 0, q), INSERT_VALUES));
  PetscCall(VecAssemblyBegin(xn));
  PetscCall(VecAssemblyEnd(xn));
  PetscCall(TnDynNaturalToState(*dyn, xn, x, SCATTER_FORWARD));
  PetscCall(TnDynCreateJacobian(*dyn, J));
  PetscCall(TnDynStepJacobian(*dyn, x, 0, *J));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&xn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Two sparse log-dets of J with one TnLogDet (the second reuses the
   analysis); the method's view goes to stderr. */
static PetscErrorCode Sparse(Mat J, const char ordering[], Case *c)
{
  TnLogDet ld;
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsSetValue(NULL, "-logdet_sparse_ordering", ordering));
  PetscCall(TnLogDetCreate(PETSC_COMM_WORLD, TN_LOGDET_SPARSE, &ld));
  PetscCall(TnLogDetSetFromOptions(ld));
  PetscCall(TnLogDetCompute(ld, J, &c->first));
  PetscCall(TnLogDetCompute(ld, J, &c->reuse));
  PetscCall(TnLogDetView(ld, PETSC_VIEWER_STDERR_WORLD));
  PetscCall(TnLogDetDestroy(&ld));
  PetscCall(PetscOptionsClearValue(NULL, "-logdet_sparse_ordering"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode SLQ(Mat J, Case *c)
{
  TnLogDet ld;
  PetscFunctionBeginUser;
  PetscCall(TnLogDetCreate(PETSC_COMM_WORLD, TN_LOGDET_SLQ, &ld));
  PetscCall(TnLogDetSetFromOptions(ld));
  PetscCall(TnLogDetCompute(ld, J, &c->slq));
  PetscCall(TnLogDetView(ld, PETSC_VIEWER_STDERR_WORLD));
  PetscCall(TnLogDetDestroy(&ld));
  c->has_slq = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One network: build it, then the sparse log-det for each ordering (and slq
   after the first if asked). Appends to cases. */
static PetscErrorCode RunNet(const char type[], PetscInt n, PetscInt k, char **orderings, PetscInt nord, PetscBool slq, Case *cases, PetscInt *ncase)
{
  TnNet          net;
  TnDyn          dyn;
  Mat            J;
  PetscInt       N;
  PetscInt64     nnz;
  PetscLogDouble t0 = TnTime(), tb;
  PetscFunctionBeginUser;
  PetscCall(StepJacobian(type, n, k, &net, &dyn, &J));
  tb = TnTime() - t0;
  PetscCall(TnNetGetSizes(net, &N, &nnz));
  for (PetscInt o = 0; o < nord; o++) {
    Case *c = &cases[(*ncase)++];
    PetscCall(PetscMemzero(c, sizeof(*c)));
    PetscCall(PetscStrncpy(c->net, type, sizeof(c->net)));
    PetscCall(PetscStrncpy(c->ordering, orderings[o], sizeof(c->ordering)));
    c->n       = n;
    c->N       = N;
    c->k       = k;
    c->nnz     = nnz;
    c->t_build = tb;
    PetscCall(PetscFPrintf(PETSC_COMM_WORLD, stderr, "== %s N = %" PetscInt_FMT ", ordering %s\n", type, N, orderings[o]));
    PetscCall(Sparse(J, orderings[o], c));
    PetscCall(PetscFPrintf(PETSC_COMM_WORLD, stderr, "   sparse: %.3f s first, %.3f s reused analysis; log|det| %.12g sign %g\n", c->first.seconds, c->reuse.seconds, (double)c->first.logabs, (double)c->first.sign));
    if (slq && o == 0) {
      PetscCall(SLQ(J, c));
      PetscCall(PetscFPrintf(PETSC_COMM_WORLD, stderr, "   slq: %.3f s, %.12g +- %.3g (error %.3g)\n", c->slq.seconds, (double)c->slq.logabs, (double)c->slq.stderr_, (double)(c->slq.logabs - c->first.logabs)));
    }
  }
  PetscCall(MatDestroy(&J));
  PetscCall(TnDynDestroy(&dyn));
  PetscCall(TnNetDestroy(&net));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void PrintResult(FILE *fp, const char *name, const TnLogDetResult *r)
{
  fprintf(fp, "\"%s\": {\"seconds\": %.6g, \"logabs\": %.17g, \"sign\": %g, \"stderr\": %.6g, \"fill\": %.6g, \"memory_bytes\": %.6g}", name, r->seconds, (double)r->logabs, (double)r->sign, (double)r->stderr_, r->fill, r->memory);
}

static void PrintJSON(FILE *fp, PetscMPIInt size, const Case *cases, PetscInt ncase)
{
  fprintf(fp, "{\n  \"ranks\": %d,\n  \"cases\": [\n", size);
  for (PetscInt i = 0; i < ncase; i++) {
    const Case *c = &cases[i];
    fprintf(fp, "    {\"net\": \"%s\", \"n\": %" PetscInt_FMT ", \"N\": %" PetscInt_FMT ", \"k\": %" PetscInt_FMT ", \"nnz_W\": %" PetscInt64_FMT ", \"ordering\": \"%s\", \"build_s\": %.4g, ", c->net, c->n, c->N, c->k, c->nnz, c->ordering, c->t_build);
    PrintResult(fp, "sparse_first", &c->first);
    fprintf(fp, ", ");
    PrintResult(fp, "sparse_reuse", &c->reuse);
    if (c->has_slq) {
      fprintf(fp, ", ");
      PrintResult(fp, "slq", &c->slq);
      fprintf(fp, ", \"slq_error\": %.6g, \"slq_error_over_stderr\": %.4g", (double)(c->slq.logabs - c->first.logabs), (double)((c->slq.logabs - c->first.logabs) / c->slq.stderr_));
    }
    fprintf(fp, "}%s\n", i + 1 < ncase ? "," : "");
  }
  fprintf(fp, "  ]\n}\n");
}

static PetscErrorCode Run(MPI_Comm comm)
{
  PetscInt    ln[MAXL] = {100, 316, 1000}, en[MAXL] = {1000, 3000, 10000}, sn[MAXL] = {316, 1000}, nl = 3, ne = 3, ns = 2, k = 16, nord = MAXL, ncase = 0;
  char       *orderings[MAXL], out[PETSC_MAX_PATH_LEN] = "";
  Case       *cases;
  PetscBool   set;
  PetscMPIInt size;
  FILE       *fo[2];
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscOptionsBegin(comm, "bench_", "MUMPS / slq log-det benchmark", "bench");
  nl = MAXL; /* an unset array option leaves its count at 0: keep the defaults */
  PetscCall(PetscOptionsIntArray("-lattice_n", "lattice sides", "", ln, &nl, &set));
  if (!set) nl = 3;
  ne = MAXL;
  PetscCall(PetscOptionsIntArray("-er_n", "er node counts", "", en, &ne, &set));
  if (!set) ne = 3;
  PetscCall(PetscOptionsInt("-er_k", "er in-degree", "", k, &k, NULL));
  ns = MAXL;
  PetscCall(PetscOptionsIntArray("-slq_lattice_n", "lattices also estimated by slq", "", sn, &ns, &set));
  if (!set) ns = 2;
  PetscCall(PetscOptionsStringArray("-orderings", "MUMPS orderings", "", orderings, &nord, &set));
  PetscCall(PetscOptionsString("-out", "JSON output file", "", out, out, sizeof(out), NULL));
  PetscOptionsEnd();
  if (!set) {
    nord = 2;
    PetscCall(PetscStrallocpy("auto", &orderings[0]));
    PetscCall(PetscStrallocpy("qamd", &orderings[1]));
  }
  PetscCall(BenchOutputsOpen(comm, out, fo));
  PetscCall(PetscCalloc1((nl + ne) * nord, &cases));
  for (PetscInt i = 0; i < nl; i++) {
    PetscBool slq = PETSC_FALSE;
    for (PetscInt j = 0; j < ns; j++) slq = (PetscBool)(slq || sn[j] == ln[i]);
    PetscCall(RunNet(TNNET_LATTICE2D, ln[i], 0, orderings, nord, slq, cases, &ncase));
  }
  for (PetscInt i = 0; i < ne; i++) PetscCall(RunNet(TNNET_ER, en[i], k, orderings, nord, PETSC_FALSE, cases, &ncase));
  for (int f = 0; f < 2; f++)
    if (fo[f]) PrintJSON(fo[f], size, cases, ncase);
  PetscCall(BenchOutputsClose(comm, out, fo));
  for (PetscInt o = 0; o < nord; o++) PetscCall(PetscFree(orderings[o]));
  PetscCall(PetscFree(cases));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  return BenchMain(argc, argv, help, Run);
}
