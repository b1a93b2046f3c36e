/* sparse: log|det J| by sparse LU through PETSc's MUMPS interface, with MUMPS
   computing the determinant itself (ICNTL(33) = 1):
     det J = RINFOG(12) * 2^INFOG(34)   (RINFOG(13), the imaginary part, is 0)
     log|det J| = log|RINFOG(12)| + INFOG(34) ln 2,  sign = sign(RINFOG(12)).
   MUMPS divides its scaling (ICNTL(8)) back out and includes the sign of its
   row permutations, so nothing else is needed. The factors are discarded
   (ICNTL(31) = 1) by default: the determinant survives and memory halves.
   The analysis (ordering, symbolic factorisation) is kept and reused while
   the same matrix object keeps its nonzero pattern; only the numeric
   factorisation is repeated. A singular J is a result (sign 0, log|det| =
   -inf), not an error; any other MUMPS failure is a collective error. */
#include "logdetimpl.h"
#include <math.h>

/* ICNTL(7) values for the orderings this MUMPS has (no METIS/SCOTCH). */
static const char *const OrderingNames[] = {"auto", "amd", "amf", "qamd", "pord"};
static const PetscInt    OrderingIcntl[] = {7, 0, 2, 6, 4};
#define NORDERINGS 5

typedef struct {
  PetscInt         ordering; /* index in OrderingNames */
  PetscBool        discard;  /* ICNTL(31) = 1 */
  PetscBool        reuse;    /* keep the analysis for the next matrix of the same pattern */
  Mat              F;        /* the factor (analysis kept between computes) */
  PetscObjectId    jid;      /* the matrix F was analysed for ... */
  PetscObjectState jstate;   /* ... and its nonzero state */
  PetscInt         N, nfactor, nanalysis, infog7, front;
  double           nnzJ, entries, mem_sum, mem_max, flops, fill;
} LogDet_Sparse;

static PetscErrorCode SetFromOptions_Sparse(TnLogDet ld)
{
  LogDet_Sparse *s = (LogDet_Sparse *)ld->data;
  PetscFunctionBeginUser;
  PetscOptionsBegin(ld->comm, "logdet_sparse_", "Sparse LU log-det (MUMPS)", "TnLogDet");
  PetscCall(TnOptionsChoice("-ordering", "Fill-reducing ordering, MUMPS ICNTL(7) (qamd is fastest on lattices; -logdet_sparse_mat_mumps_icntl_7 overrides)", "TnLogDet", OrderingNames, NORDERINGS, &s->ordering, NULL));
  PetscCall(TnOptionsBool("-discard_factors", "Discard the LU factors, MUMPS ICNTL(31) = 1 (the determinant survives; half the memory)", "TnLogDet", s->discard, &s->discard, NULL));
  PetscCall(TnOptionsBool("-reuse_analysis", "Reuse the ordering and symbolic factorisation while the matrix keeps its pattern", "TnLogDet", s->reuse, &s->reuse, NULL));
  PetscOptionsEnd();
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* MUMPS reports large counts as negative numbers of millions. */
static double MumpsCount(PetscInt v)
{
  return v < 0 ? -1e6 * (double)v : (double)v;
}

/* The error for a failed MUMPS phase (INFOG(1) < 0), with the fix; the failed
   factor is destroyed first, so that it is not reused. */
static PetscErrorCode MumpsCheck(TnLogDet ld, Mat *F, const char phase[])
{
  PetscInt    e, e2;
  const char *fix;
  PetscFunctionBeginUser;
  PetscCall(MatMumpsGetInfog(*F, 1, &e));
  PetscCall(MatMumpsGetInfog(*F, 2, &e2));
  if (e >= 0) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(MatDestroy(F));
  switch (e) {
  case -8:
  case -9:
  case -14:
  case -15:
  case -17:
  case -20:
    fix = "MUMPS's estimate of its work space was too small: raise it with -logdet_sparse_mat_mumps_icntl_14 <percent> (default 20), e.g. 100";
    break;
  case -13:
  case -19:
  case -11:
    fix = "MUMPS ran out of memory (or of the limit -logdet_sparse_mat_mumps_icntl_23 MB per rank): use more ranks or nodes, remove the limit, or for a nearly dense factor (see -logdet_sparse_ordering and the reported fill) use -logdet_type dense, or the estimate -logdet_type slq";
    break;
  default:
    fix = "see the MUMPS user guide, section 'Error diagnostics'; -logdet_type dense or slq avoid MUMPS";
  }
  SETERRQ(ld->comm, PETSC_ERR_LIB, "MUMPS %s failed with INFOG(1) = %" PetscInt_FMT ", INFOG(2) = %" PetscInt_FMT ": %s", phase, e, e2, fix);
}

/* INFOG(1) = -6 (structurally singular, analysis) or -10 (numerically
   singular, factorisation): det J = 0. */
static PetscErrorCode MumpsSingular(Mat F, PetscBool *singular)
{
  PetscInt e;
  PetscFunctionBeginUser;
  PetscCall(MatMumpsGetInfog(F, 1, &e));
  *singular = (PetscBool)(e == -6 || e == -10);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A new factor with the determinant on, options prefix -logdet_sparse_ (so
   -logdet_sparse_mat_mumps_icntl_* apply), and its analysis. PETSc 3.18 reads
   ICNTL(7) from the options database during the analysis (a value set with
   MatMumpsSetIcntl is reset on one rank), so the ordering goes there, only
   for the duration of the call and unless the user set ICNTL(7) directly. */
static PetscErrorCode Analyse(TnLogDet ld, Mat J, PetscBool *singular)
{
  LogDet_Sparse *s   = (LogDet_Sparse *)ld->data;
  const char    *opt = "-logdet_sparse_mat_mumps_icntl_7";
  PetscBool      has;
  MatFactorInfo  info;
  char           val[8];
  PetscFunctionBeginUser;
  PetscCall(MatDestroy(&s->F));
  PetscCall(MatGetFactor(J, MATSOLVERMUMPS, MAT_FACTOR_LU, &s->F));
  PetscCall(MatSetOptionsPrefix(s->F, "logdet_sparse_"));
  PetscCall(MatMumpsSetIcntl(s->F, 33, 1));
  if (s->discard) PetscCall(MatMumpsSetIcntl(s->F, 31, 1));
  PetscCall(MatSetFromOptions(s->F));
  PetscCall(PetscOptionsHasName(NULL, NULL, opt, &has));
  if (!has && s->ordering) {
    PetscCall(PetscSNPrintf(val, sizeof(val), "%" PetscInt_FMT, OrderingIcntl[s->ordering]));
    PetscCall(PetscOptionsSetValue(NULL, opt, val));
  }
  PetscCall(MatFactorInfoInitialize(&info));
  PetscCall(MatLUFactorSymbolic(s->F, J, NULL, NULL, &info));
  if (!has && s->ordering) PetscCall(PetscOptionsClearValue(NULL, opt));
  PetscCall(MumpsSingular(s->F, singular));
  if (!*singular) PetscCall(MumpsCheck(ld, &s->F, "analysis"));
  PetscCall(MatMumpsGetInfog(s->F, 7, &s->infog7));
  PetscCall(PetscObjectGetId((PetscObject)J, &s->jid));
  PetscCall(MatGetNonzeroState(J, &s->jstate));
  s->nanalysis++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Fill, memory and flops of the last factorisation (INFOG and RINFOG are
   global: the same on every rank). */
static PetscErrorCode Statistics(TnLogDet ld, Mat J, TnLogDetResult *res)
{
  LogDet_Sparse *s = (LogDet_Sparse *)ld->data;
  MatInfo        info;
  PetscInt       v;
  PetscReal      r;
  PetscFunctionBeginUser;
  PetscCall(MatGetSize(J, &s->N, NULL));
  PetscCall(MatGetInfo(J, MAT_GLOBAL_SUM, &info));
  s->nnzJ = info.nz_used;
  PetscCall(MatMumpsGetInfog(s->F, 29, &v)); /* entries in the factors (effective) */
  s->entries = MumpsCount(v);
  if (s->entries == 0) { /* not available: the analysis's estimate */
    PetscCall(MatMumpsGetInfog(s->F, 20, &v));
    s->entries = MumpsCount(v);
  }
  PetscCall(MatMumpsGetInfog(s->F, 22, &v)); /* MB used during factorisation, sum over ranks */
  s->mem_sum = 1e6 * (double)v;
  PetscCall(MatMumpsGetInfog(s->F, 21, &v)); /* ... max over ranks */
  s->mem_max = 1e6 * (double)v;
  PetscCall(MatMumpsGetInfog(s->F, 11, &s->front)); /* order of the largest front */
  PetscCall(MatMumpsGetRinfog(s->F, 3, &r));        /* flops of the elimination (estimate) */
  s->flops    = r;
  s->fill     = s->nnzJ > 0 ? s->entries / s->nnzJ : 0;
  res->fill   = s->fill;
  res->memory = s->mem_sum;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Compute_Sparse(TnLogDet ld, Mat J, TnLogDetResult *res)
{
  LogDet_Sparse   *s = (LogDet_Sparse *)ld->data;
  PetscObjectId    id;
  PetscObjectState state;
  PetscBool        singular = PETSC_FALSE;
  MatFactorInfo    info;
  PetscReal        d, di;
  PetscInt         e;
  PetscFunctionBeginUser;
  PetscCall(PetscObjectGetId((PetscObject)J, &id));
  PetscCall(MatGetNonzeroState(J, &state));
  if (!s->F || !s->reuse || id != s->jid || state != s->jstate) PetscCall(Analyse(ld, J, &singular));
  if (!singular) {
    PetscCall(MatFactorInfoInitialize(&info));
    PetscCall(MatLUFactorNumeric(s->F, J, &info));
    PetscCall(MumpsSingular(s->F, &singular));
    if (!singular) PetscCall(MumpsCheck(ld, &s->F, "factorisation"));
    s->nfactor++;
  }
  if (singular) {
    res->sign   = 0.0;
    res->logabs = -(PetscReal)INFINITY;
    PetscCall(MatDestroy(&s->F)); /* a failed factor is not reused */
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(MatMumpsGetRinfog(s->F, 12, &d));
  PetscCall(MatMumpsGetRinfog(s->F, 13, &di));
  PetscCall(MatMumpsGetInfog(s->F, 34, &e));
  PetscCheck(di == 0, ld->comm, PETSC_ERR_PLIB, "MUMPS returned a complex determinant (imaginary part %g) for a real matrix", (double)di);
  res->sign   = d > 0 ? 1.0 : (d < 0 ? -1.0 : 0.0);
  res->logabs = d == 0 ? -(PetscReal)INFINITY : log(fabs(d)) + (PetscReal)e * M_LN2;
  PetscCall(Statistics(ld, J, res));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Which regime the last matrix is in: the factor's flops against a dense LU's
   (2/3) N^3, and the largest front against N. */
static PetscErrorCode View_Sparse(TnLogDet ld, PetscViewer viewer)
{
  LogDet_Sparse *s = (LogDet_Sparse *)ld->data;
  double         dense, ratio;
  const char    *ord[8] = {"AMD", "?", "AMF", "SCOTCH", "PORD", "METIS", "QAMD", "auto"};
  PetscFunctionBeginUser;
  PetscCall(PetscViewerASCIIPrintf(viewer, "  MUMPS LU: ordering %s (requested %s), factors %s, analysis %s\n", s->infog7 >= 0 && s->infog7 < 8 ? ord[s->infog7] : "?", OrderingNames[s->ordering], s->discard ? "discarded" : "kept", s->reuse ? "reused while the pattern is unchanged" : "redone each time"));
  if (!s->nfactor) PetscFunctionReturn(PETSC_SUCCESS);
  dense = 2.0 / 3.0 * (double)s->N * (double)s->N * (double)s->N;
  ratio = dense > 0 ? s->flops / dense : 0;
  PetscCall(PetscViewerASCIIPrintf(viewer, "  last matrix: N = %" PetscInt_FMT ", nnz(J) = %.4g, entries of L+U = %.4g (fill %.3gx), largest front %" PetscInt_FMT " (%.2g N), %.3g flops (%.2g of a dense LU), memory %.3g MB total, %.3g MB max per rank\n", s->N, s->nnzJ, s->entries, s->fill, s->front, s->N ? (double)s->front / (double)s->N : 0.0, s->flops, ratio, s->mem_sum / 1e6, s->mem_max / 1e6));
  PetscCall(PetscViewerASCIIPrintf(viewer, "  analyses %" PetscInt_FMT ", numeric factorisations %" PetscInt_FMT "\n", s->nanalysis, s->nfactor));
  if (ratio > 0.05 || (double)s->front > 0.3 * (double)s->N)
    PetscCall(PetscViewerASCIIPrintf(viewer, "  regime: fill %.3gx, near-dense (the largest front is %.2g N): dense LU (-logdet_type dense) is likely faster beyond N ~ 1e4; slq estimates in O(nnz)\n", s->fill, (double)s->front / (double)s->N));
  else
    PetscCall(PetscViewerASCIIPrintf(viewer, "  regime: fill %.3gx, sparse (flops %.2g of a dense LU): MUMPS is the right exact method\n", s->fill, ratio));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode Destroy_Sparse(TnLogDet ld)
{
  LogDet_Sparse *s = (LogDet_Sparse *)ld->data;
  PetscFunctionBeginUser;
  PetscCall(MatDestroy(&s->F));
  PetscCall(PetscFree(ld->data));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnLogDetCreate_Sparse(TnLogDet ld)
{
  LogDet_Sparse *s;
  PetscFunctionBeginUser;
  PetscCall(PetscNew(&s));
  s->discard             = PETSC_TRUE;
  s->reuse               = PETSC_TRUE;
  s->infog7              = -1;
  ld->data               = s;
  ld->ops.setfromoptions = SetFromOptions_Sparse;
  ld->ops.compute        = Compute_Sparse;
  ld->ops.view           = View_Sparse;
  ld->ops.destroy        = Destroy_Sparse;
  PetscFunctionReturn(PETSC_SUCCESS);
}
