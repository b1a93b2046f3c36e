/* The integral of Phi over R^N (tenor/norm.h). Invariant: every point or
   sample is a function of its global number only (grid digits, or the
   counter-based RNG keyed by (seed, sample, node)), and every sum runs over
   the replicated log Phi of a batch in sample order, so the figures do not
   depend on the rank count beyond the round-off of log Phi itself.

   grid: trapezoid rule on [-L, L]^N, n (odd) nodes per axis, dx = 2L/(n-1),
     I_dx = sum_g w(g) Phi(x_g), w(g) = prod_i w1(d_i), w1 = dx (dx/2 at the
     ends); the nodes with even digits form the grid of spacing 2 dx, whose
     integral I_2dx gives the discretisation estimate |I_dx - I_2dx|; the
     nodes on the two outermost rings (max_i |d_i - c| >= c - 1, c = (n-1)/2)
     hold the mass of the outermost shell of cells: the truncation estimate.
   is: I = E_q[Phi/q], q = N(0, sigma^2 I), from S samples x = sigma z with
     log w = log Phi(x) - log q(x); with m = max log w,
     I = e^m mean(e^{log w - m}), Var w from the same shifted sums, standard
     error sqrt(Var w / S), effective sample size (sum w)^2 / sum w^2.
   Clamped nodes (docs/conditional.md): N is the number of free nodes, the
   grid's axes and the samples' coordinates are the free nodes in natural
   order (point digits and RNG counters by that order), and every clamped
   node holds its given value: the integral of Phi(t | x) over t. */
#include <tenor/norm.h>
#include <tenor/io.h>
#include <math.h>

const char *const TnNormMethods[] = {"auto", "grid", "is", "TnNormMethod", "TN_NORM_", NULL};

PetscErrorCode TnNormOptionsSetDefault(TnNormOptions *opt)
{
  PetscFunctionBeginUser;
  opt->method      = TN_NORM_AUTO;
  opt->n           = 0;
  opt->L           = 0;
  opt->L0          = 4;
  opt->tol         = 1e-12;
  opt->max_points  = 2e8;
  opt->max_seconds = 3600;
  opt->S           = 100000;
  opt->sigma       = 0;
  opt->seed        = 1;
  opt->given[0]    = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNormOptionsSetFromOptions(MPI_Comm comm, TnNormOptions *opt)
{
  PetscInt m = opt->method;
  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, "norm_", "Normalisation check: the integral of Phi (tenor/norm.h)", "TnNorm");
  PetscCall(TnOptionsChoice("-method", "grid (trapezoid on [-L, L]^N), is (importance sampling), auto (grid for N <= 3)", "TnNormIntegrate", TnNormMethods, 3, &m, NULL));
  PetscCall(TnOptionsInt("-points", "Grid points per axis, odd (0: 401 for N = 2, 121 for N = 3, 41 above)", "TnNormIntegrate", opt->n, &opt->n, NULL, 0, PETSC_MAX_INT));
  PetscCall(TnOptionsReal("-box", "Box half-width L of the grid (0: automatic)", "TnNormIntegrate", opt->L, &opt->L, NULL, 0, PETSC_MAX_REAL));
  PetscCall(TnOptionsReal("-box_start", "First box of the automatic search (doubled until the outer shell is negligible)", "TnNormIntegrate", opt->L0, &opt->L0, NULL, 0, PETSC_MAX_REAL));
  PetscCall(TnOptionsReal("-tol", "Automatic box: mass outside it <= tol * integral", "TnNormIntegrate", opt->tol, &opt->tol, NULL, 0, PETSC_MAX_REAL));
  PetscCall(TnOptionsReal("-max_points", "Refuse a grid with more points", "TnNormIntegrate", opt->max_points, &opt->max_points, NULL, 0, PETSC_MAX_REAL));
  PetscCall(TnOptionsReal("-max_time", "Refuse a computation estimated to take longer (seconds)", "TnNormIntegrate", opt->max_seconds, &opt->max_seconds, NULL, 0, PETSC_MAX_REAL));
  PetscCall(TnOptionsInt("-samples", "Importance samples S", "TnNormIntegrate", opt->S, &opt->S, NULL, 1, PETSC_MAX_INT));
  PetscCall(TnOptionsReal("-is_sigma", "Scale of q = N(0, sigma^2 I) (0: automatic, 1.1 x the moment-matched scale)", "TnNormIntegrate", opt->sigma, &opt->sigma, NULL, 0, PETSC_MAX_REAL));
  PetscCall(TnOptionsInt("-seed", "Seed of the importance samples", "TnNormIntegrate", opt->seed, &opt->seed, NULL, PETSC_MIN_INT, PETSC_MAX_INT));
  PetscCall(PetscOptionsString("-given", "Clamped nodes (-data_clamp): a file of N values, natural order, whose clamped entries x are held fixed while Phi(t | x) is integrated over the free ones (default x = 0)", "TnNormIntegrate", opt->given, opt->given, sizeof(opt->given), NULL));
  PetscOptionsEnd();
  opt->method = (TnNormMethod)m;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Neumaier's compensated sum: ~1e8 terms keep 15 digits. */
typedef struct {
  double s, c;
} TnSum;

static void SumAdd(TnSum *a, double v)
{
  double t = a->s + v;
  a->c += fabs(a->s) >= fabs(v) ? (a->s - t) + v : (v - t) + a->s;
  a->s = t;
}

static double SumGet(const TnSum *a)
{
  return a->s + a->c;
}

/* The evaluation engine on natural-order batches of B points. */
typedef struct {
  MPI_Comm    comm;
  TnDyn       dyn;
  Vec         xnat, x;
  TnDynResult res;
  PetscInt    N, B;  /* dimensions integrated over (the free nodes), batch */
  PetscInt    Nnat;  /* nodes */
  PetscInt   *dim;   /* [Nnat] natural node -> its dimension, or -1 for a clamped node */
  PetscReal  *given; /* [Nnat] the clamped nodes' values */
  PetscInt    nclamp;
  PetscInt64  evals;
  double      max_seconds;
} TnEval;

/* The free nodes in natural order, replicated: dim[i] = the dimension of
   free node i (0, 1, ... in natural order), -1 for a clamped one, whose
   value given[i] comes from the file `given` (N values) or is 0. */
static PetscErrorCode EvalClamp(TnEval *e, const char given[])
{
  const PetscReal   *mask;
  PetscScalar       *px;
  const PetscScalar *pa;
  PetscInt           m, nf;
  Vec                all;
  VecScatter         toall;
  PetscFunctionBeginUser;
  PetscCall(PetscCalloc2(e->Nnat, &e->dim, e->Nnat, &e->given));
  PetscCall(TnDynGetClamp(e->dyn, &e->nclamp, &nf, &mask));
  PetscCall(TnDynGetLocalSize(e->dyn, &m));
  PetscCall(VecGetArrayWrite(e->x, &px));
  for (PetscInt q = 0; q < m * e->B; q++) px[q] = mask ? mask[q / e->B] : 1.0;
  PetscCall(VecRestoreArrayWrite(e->x, &px));
  PetscCall(TnDynNaturalToState(e->dyn, e->xnat, e->x, SCATTER_REVERSE));
  PetscCall(VecScatterCreateToAll(e->xnat, &toall, &all));
  PetscCall(VecScatterBegin(toall, e->xnat, all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(toall, e->xnat, all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGetArrayRead(all, &pa));
  e->N = 0;
  for (PetscInt i = 0; i < e->Nnat; i++) e->dim[i] = PetscRealPart(pa[(size_t)i * e->B]) != 0 ? e->N++ : -1;
  PetscCall(VecRestoreArrayRead(all, &pa));
  PetscCall(VecScatterDestroy(&toall));
  PetscCall(VecDestroy(&all));
  PetscCheck(!(given && given[0]) || e->nclamp, e->comm, PETSC_ERR_USER, "-norm_given %s: the given values are those of clamped nodes, and no node is clamped (-data_clamp)", given);
  if (e->nclamp && given && given[0]) {
    Vec v;
    PetscCall(TnReadVector(e->comm, given, e->Nnat, &v));
    PetscCall(VecScatterCreateToAll(v, &toall, &all));
    PetscCall(VecScatterBegin(toall, v, all, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecScatterEnd(toall, v, all, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecGetArrayRead(all, &pa));
    for (PetscInt i = 0; i < e->Nnat; i++) e->given[i] = PetscRealPart(pa[i]);
    PetscCall(VecRestoreArrayRead(all, &pa));
    PetscCall(VecScatterDestroy(&toall));
    PetscCall(VecDestroy(&all));
    PetscCall(VecDestroy(&v));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode EvalCreate(TnDyn dyn, double max_seconds, const char given[], TnEval *e)
{
  PetscInt n;
  PetscFunctionBeginUser;
  e->dyn         = dyn;
  e->evals       = 0;
  e->max_seconds = max_seconds;
  PetscCall(TnDynGetParams(dyn, NULL, NULL, NULL, NULL, NULL, &e->B));
  PetscCall(TnDynCreateNaturalState(dyn, &e->xnat));
  PetscCall(TnDynCreateState(dyn, &e->x));
  PetscCall(TnDynResultCreate(dyn, &e->res));
  PetscCall(PetscObjectGetComm((PetscObject)e->xnat, &e->comm));
  PetscCall(VecGetSize(e->xnat, &n));
  e->Nnat = n / e->B;
  PetscCall(TnCheckMemory(e->comm, 16.0 * e->Nnat, "the replicated free-node map of the normalisation check", NULL));
  PetscCall(EvalClamp(e, given));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode EvalDestroy(TnEval *e)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynResultDestroy(&e->res));
  PetscCall(PetscFree2(e->dim, e->given));
  PetscCall(VecDestroy(&e->x));
  PetscCall(VecDestroy(&e->xnat));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* log Phi of the batch in e->xnat (samples first .. first + nvalid - 1) into
   e->res.logphi, on every rank. A non-finite value is an error. */
static PetscErrorCode EvalBatch(TnEval *e, PetscInt64 first, PetscInt nvalid)
{
  PetscInt bad = -1;
  PetscFunctionBeginUser;
  e->res.nvalid = nvalid;
  e->res.first  = (PetscInt)first;
  PetscCall(TnDynNaturalToState(e->dyn, e->xnat, e->x, SCATTER_FORWARD));
  PetscCall(TnDynEvaluate(e->dyn, e->x, &e->res));
  for (PetscInt b = nvalid - 1; b >= 0; b--)
    if (PetscIsInfOrNanReal(e->res.logphi[b]) && e->res.logphi[b] != -PETSC_INFINITY) bad = b;
  PetscCheck(bad < 0, e->comm, PETSC_ERR_FP, "log Phi is %g at point %" PetscInt64_FMT ": the dynamics overflowed there; use a smaller box (-norm_box) or check the network", (double)e->res.logphi[bad], first + bad);
  e->evals += nvalid;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* After the first batch of a pass of `total` points: refuse if the pass is
   estimated (from the slowest rank's time for that batch) to exceed the
   limit. Every rank takes the same decision. */
static PetscErrorCode CheckTime(TnEval *e, PetscLogDouble t0, PetscInt64 done, PetscInt64 total, const char what[])
{
  double el = TnTime() - t0, est;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &el, 1, MPI_DOUBLE, MPI_MAX, e->comm));
  est = el * (double)total / (double)PetscMax(done, 1);
  PetscCheck(est <= e->max_seconds, e->comm, PETSC_ERR_USER,
             "the %s would take about %.3g s (%" PetscInt64_FMT " evaluations of log Phi at %.3g per second, timed on the first batch), more than the limit -norm_max_time %g s: use fewer points per axis (-norm_points), fewer samples (-norm_samples), a cheaper log-det (-logdet_type), or raise -norm_max_time",
             what, est, total, (double)done / PetscMax(el, 1e-9), e->max_seconds);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* ---- grid ---- */

typedef struct {
  PetscInt   n, c; /* nodes per axis, centre index (n - 1)/2 */
  PetscReal  L, dx;
  PetscInt64 total;        /* n^N */
  TnSum      fine, coarse; /* spacing dx and 2 dx */
  PetscReal *ring;         /* [c + 1] mass on the nodes with max_i |d_i - c| = r */
} TnGrid;

static PetscErrorCode GridInit(PetscInt N, PetscInt n, PetscReal L, TnGrid *g)
{
  PetscFunctionBeginUser;
  g->n     = n;
  g->c     = (n - 1) / 2;
  g->L     = L;
  g->dx    = 2 * L / (n - 1);
  g->total = 1;
  for (PetscInt i = 0; i < N; i++) g->total *= n;
  g->fine = g->coarse = (TnSum){0, 0};
  PetscCall(PetscCalloc1(g->c + 1, &g->ring));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Digit of point p along axis i: (p / n^i) mod n. */
static inline PetscInt Digit(PetscInt64 p, PetscInt i, PetscInt n)
{
  for (PetscInt k = 0; k < i; k++) p /= n;
  return (PetscInt)(p % n);
}

/* x_{i,b} = -L + dx d_i(p0 + b); padding repeats point p0. */
static PetscErrorCode GridFill(TnEval *e, const TnGrid *g, PetscInt64 p0, PetscInt nvalid)
{
  PetscInt     rs, re;
  PetscScalar *a;
  PetscFunctionBeginUser;
  PetscCall(VecGetOwnershipRange(e->xnat, &rs, &re));
  PetscCall(VecGetArray(e->xnat, &a));
  for (PetscInt q = rs; q < re; q++) {
    PetscInt i = q / e->B, b = q % e->B;
    a[q - rs] = e->dim[i] < 0 ? e->given[i] : -g->L + g->dx * Digit(p0 + (b < nvalid ? b : 0), e->dim[i], g->n);
  }
  PetscCall(VecRestoreArray(e->xnat, &a));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Adds the batch's Phi values to the fine and coarse sums and the rings. */
static void GridAccumulate(const TnEval *e, TnGrid *g, PetscInt64 p0, PetscInt nvalid)
{
  for (PetscInt b = 0; b < nvalid; b++) {
    PetscReal  phi = PetscExpReal(e->res.logphi[b]), w = 1, w2 = 1;
    PetscInt   r   = 0;
    PetscBool  odd = PETSC_FALSE;
    PetscInt64 p   = p0 + b;
    for (PetscInt i = 0; i < e->N; i++, p /= g->n) {
      PetscInt  d   = (PetscInt)(p % g->n);
      PetscBool end = (PetscBool)(d == 0 || d == g->n - 1);
      w *= end ? 0.5 * g->dx : g->dx;
      w2 *= end ? g->dx : 2 * g->dx;
      if (d % 2) odd = PETSC_TRUE;
      r = PetscMax(r, PetscAbsInt(d - g->c));
    }
    SumAdd(&g->fine, w * phi);
    if (!odd) SumAdd(&g->coarse, w2 * phi);
    g->ring[r] += w * phi;
  }
}

/* One pass over the n^N nodes, with progress and the time limit. */
static PetscErrorCode GridPass(TnEval *e, TnGrid *g, const char what[])
{
  TnProgress     prog;
  PetscLogDouble t0 = TnTime();
  PetscFunctionBeginUser;
  PetscCall(TnProgressStart(e->comm, &prog, what, (PetscInt)g->total, 1.0, "points"));
  for (PetscInt64 p0 = 0; p0 < g->total; p0 += e->B) {
    PetscInt nvalid = (PetscInt)PetscMin((PetscInt64)e->B, g->total - p0);
    PetscCall(GridFill(e, g, p0, nvalid));
    PetscCall(EvalBatch(e, p0, nvalid));
    GridAccumulate(e, g, p0, nvalid);
    if (!p0) PetscCall(CheckTime(e, t0, nvalid, g->total, what));
    PetscCall(TnProgressUpdate(e->comm, &prog, (PetscInt)(p0 + nvalid)));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscReal GridShell(const TnGrid *g)
{
  return g->ring[g->c] + (g->c > 0 ? g->ring[g->c - 1] : 0);
}

/* The automatic box: double L from L0 until the outer shell of a probe grid
   holds at most tol of the integral, then shrink it to the smallest probe
   ring r whose outside mass sum_{r' > r} ring[r'] is at most tol of the
   integral, plus one ring of margin. */
static PetscErrorCode FindBox(TnEval *e, const TnNormOptions *opt, PetscInt nprobe, PetscReal *L, PetscInt *steps)
{
  TnGrid    g;
  PetscReal box = opt->L0, tot = 0, tail = 0;
  PetscInt  r;
  PetscBool ok = PETSC_FALSE;
  PetscFunctionBeginUser;
  PetscCheck(opt->L0 > 0 && opt->tol > 0, e->comm, PETSC_ERR_USER, "-norm_box_start (%g) and -norm_tol (%g) must be > 0", (double)opt->L0, (double)opt->tol);
  for (*steps = 1; *steps <= 12; (*steps)++, box *= 2) {
    PetscCall(GridInit(e->N, nprobe, box, &g));
    PetscCall(GridPass(e, &g, "box search"));
    tot = SumGet(&g.fine);
    ok  = (PetscBool)(tot > 0 && GridShell(&g) <= opt->tol * tot);
    if (ok) break;
    PetscCall(PetscFree(g.ring));
  }
  PetscCheck(ok, e->comm, PETSC_ERR_USER, "the mass of Phi does not fall below %g of the integral in the outer shell of any box up to +-%g: Phi does not decay (the evolution is probably not a bijection); check the network, or give a box with -norm_box", (double)opt->tol, (double)(box / 2));
  for (r = g.c; r > 0 && tail + g.ring[r] <= opt->tol * tot; r--) tail += g.ring[r];
  *L = PetscMin(box, (r + 1) * g.dx);
  PetscCall(PetscFree(g.ring));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode IntegrateGrid(TnEval *e, const TnNormOptions *opt, TnNormResult *res)
{
  TnGrid    g;
  PetscInt  n = opt->n ? opt->n : (e->N <= 2 ? 401 : e->N == 3 ? 121
                                                               : 41);
  PetscReal npts;
  PetscFunctionBeginUser;
  PetscCheck(n >= 5 && n % 2 == 1, e->comm, PETSC_ERR_USER, "-norm_points %" PetscInt_FMT " must be odd and >= 5 (the grid of every other point gives the discretisation estimate)", n);
  npts = PetscPowReal((PetscReal)n, (PetscReal)e->N);
  PetscCheck(npts <= opt->max_points, e->comm, PETSC_ERR_USER,
             "the grid has %" PetscInt_FMT "^%" PetscInt_FMT " = %.3g points, more than the limit %.3g (-norm_max_points): use fewer points per axis (-norm_points), or importance sampling (-norm_method is), which has no such limit in N",
             n, e->N, (double)npts, (double)opt->max_points);
  res->L_auto = (PetscBool)(opt->L <= 0);
  res->L      = opt->L;
  if (res->L_auto) PetscCall(FindBox(e, opt, PetscMin(n, e->N <= 2 ? 101 : 21), &res->L, &res->box_steps));
  PetscCall(GridInit(e->N, n, res->L, &g));
  PetscCall(GridPass(e, &g, "grid"));
  res->n              = n;
  res->points         = g.total;
  res->integral       = SumGet(&g.fine);
  res->coarse         = SumGet(&g.coarse);
  res->truncation     = GridShell(&g);
  res->discretisation = PetscAbsReal(res->integral - res->coarse);
  res->error          = res->truncation + res->discretisation;
  PetscCall(PetscFree(g.ring));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* ---- importance sampling ---- */

/* Shifted sums of the weights: w = e^{lw}, with m = max lw so far,
   s1 = sum e^{lw - m}, s2 = sum e^{2(lw - m)}, sx = sum e^{lw - m} |x|^2 / N. */
typedef struct {
  PetscReal m;
  TnSum     s1, s2, sx;
  PetscInt  S;
} TnWeights;

static void WeightsAdd(TnWeights *W, PetscReal lw, PetscReal x2)
{
  if (lw > W->m) { /* rescale to the new maximum */
    PetscReal f = PetscExpReal(W->m - lw);
    W->s1.s *= f, W->s1.c *= f, W->sx.s *= f, W->sx.c *= f;
    W->s2.s *= f * f, W->s2.c *= f * f;
    W->m = lw;
  }
  SumAdd(&W->s1, PetscExpReal(lw - W->m));
  SumAdd(&W->s2, PetscExpReal(2 * (lw - W->m)));
  SumAdd(&W->sx, PetscExpReal(lw - W->m) * x2);
  W->S++;
}

/* x_{i,b} = sigma z, z = TnRandNormal(seed, sample s0 + b, node i); zz[b] = |z|^2. */
static PetscErrorCode SampleFill(TnEval *e, uint64_t seed, PetscReal sigma, PetscInt64 s0, PetscInt nvalid, PetscReal *zz)
{
  PetscInt     rs, re;
  PetscScalar *a;
  PetscFunctionBeginUser;
  PetscCall(PetscArrayzero(zz, e->B));
  PetscCall(VecGetOwnershipRange(e->xnat, &rs, &re));
  PetscCall(VecGetArray(e->xnat, &a));
  for (PetscInt q = rs; q < re; q++) {
    PetscInt  i = q / e->B, b = q % e->B;
    PetscReal z = e->dim[i] < 0 ? 0 : TnRandNormal(seed, (uint64_t)(s0 + (b < nvalid ? b : 0)), (uint64_t)e->dim[i]);
    a[q - rs]   = e->dim[i] < 0 ? e->given[i] : sigma * z;
    zz[b] += z * z;
  }
  PetscCall(VecRestoreArray(e->xnat, &a));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, zz, e->B, MPIU_REAL, MPIU_SUM, e->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* S samples from q = N(0, sigma^2 I) into W. */
static PetscErrorCode SamplePass(TnEval *e, uint64_t seed, PetscReal sigma, PetscInt S, const char what[], TnWeights *W)
{
  TnProgress     prog;
  PetscReal     *zz, logq0 = -e->N * (PetscLogReal(sigma) + 0.91893853320467274178);
  PetscLogDouble t0 = TnTime();
  PetscFunctionBeginUser;
  *W = (TnWeights){.m = -PETSC_MAX_REAL};
  PetscCall(PetscMalloc1(e->B, &zz));
  PetscCall(TnProgressStart(e->comm, &prog, what, S, 1.0, "samples"));
  for (PetscInt s0 = 0; s0 < S; s0 += e->B) {
    PetscInt nvalid = PetscMin(e->B, S - s0);
    PetscCall(SampleFill(e, seed, sigma, s0, nvalid, zz));
    PetscCall(EvalBatch(e, s0, nvalid));
    for (PetscInt b = 0; b < nvalid; b++) WeightsAdd(W, e->res.logphi[b] - (logq0 - 0.5 * zz[b]), sigma * sigma * zz[b] / e->N);
    if (!s0) PetscCall(CheckTime(e, t0, nvalid, S, what));
    PetscCall(TnProgressUpdate(e->comm, &prog, s0 + nvalid));
  }
  PetscCall(PetscFree(zz));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The automatic sigma: moment matching (cross-entropy) from sigma = 1, the
   base density's scale: sigma^2 <- E_Phi[|x|^2] / N, estimated by
   self-normalised importance weights, until it changes by < 2 %; then
   1.1 x that, so q's tails are broader than Phi's (for a Gaussian Phi each
   dimension then costs a factor 1.015 in variance, 1.35 at N = 20). */
static PetscErrorCode ChooseSigma(TnEval *e, const TnNormOptions *opt, PetscReal *sigma, PetscInt *used)
{
  PetscReal s  = 1, snew;
  PetscInt  Sp = PetscMin(opt->S, 4096);
  PetscFunctionBeginUser;
  *used = 0;
  for (PetscInt it = 0; it < 12; it++) {
    TnWeights W;
    PetscCall(SamplePass(e, TnRandU64((uint64_t)opt->seed, 0x51a, (uint64_t)it), s, Sp, "choosing sigma", &W));
    *used += Sp;
    snew = PetscSqrtReal(SumGet(&W.sx) / SumGet(&W.s1));
    PetscCheck(snew > 0 && PetscIsNormalReal(snew), e->comm, PETSC_ERR_USER, "cannot choose the importance-sampling scale (second moment %g): give it with -norm_is_sigma", (double)(snew * snew));
    snew = PetscMin(snew, 4 * s); /* a cautious step from a far start */
    if (PetscAbsReal(snew / s - 1) < 0.02) {
      s = snew;
      break;
    }
    s = snew;
  }
  *sigma = 1.1 * s;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode IntegrateIS(TnEval *e, const TnNormOptions *opt, TnNormResult *res)
{
  TnWeights W;
  PetscReal m1, m2, var;
  PetscFunctionBeginUser;
  PetscCheck(opt->S >= 2, e->comm, PETSC_ERR_USER, "-norm_samples must be >= 2 (got %" PetscInt_FMT ")", opt->S);
  res->sigma = opt->sigma;
  if (res->sigma <= 0) PetscCall(ChooseSigma(e, opt, &res->sigma, &res->pilot_samples));
  PetscCall(SamplePass(e, (uint64_t)opt->seed, res->sigma, opt->S, "importance sampling", &W));
  m1            = SumGet(&W.s1) / W.S; /* mean of e^{lw - m} */
  m2            = SumGet(&W.s2) / W.S;
  var           = PetscMax(m2 - m1 * m1, 0) * W.S / (W.S - 1);
  res->S        = opt->S;
  res->integral = PetscExpReal(W.m) * m1;
  res->stderr_  = PetscExpReal(W.m) * PetscSqrtReal(var / W.S);
  res->error    = res->stderr_;
  res->ess      = W.S * m1 * m1 / m2;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnNormIntegrate(TnDyn dyn, const TnNormOptions *opt, TnNormResult *res)
{
  TnEval         e;
  PetscLogDouble t0 = TnTime();
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(res, sizeof(*res)));
  PetscCall(EvalCreate(dyn, opt->max_seconds, opt->given, &e));
  res->N      = e.N;
  res->nclamp = e.nclamp;
  res->method = opt->method == TN_NORM_AUTO ? (e.N <= 3 ? TN_NORM_GRID : TN_NORM_IS) : opt->method;
  if (res->method == TN_NORM_GRID)
    PetscCall(IntegrateGrid(&e, opt, res));
  else
    PetscCall(IntegrateIS(&e, opt, res));
  res->evaluations = e.evals;
  res->seconds     = TnTime() - t0;
  PetscCall(EvalDestroy(&e));
  PetscFunctionReturn(PETSC_SUCCESS);
}
