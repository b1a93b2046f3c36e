/* The rank-independent order of the parameters in files: sorted by natural
   row i, and within a row u_i (col -2), b_i (col -1), then W_ij by
   ascending j. Every parameter of row i lives on the rank that owns row i,
   so a row's entries are sorted locally; the row offsets are an exclusive
   prefix sum of the row lengths in natural order. The map, the canonical
   Vec and the scatter (about 30 bytes per parameter) exist only while a file
   is written or read (ckpt.c): TnCanonSetUp ... TnCanonDestroy. */
#include "trainimpl.h"

typedef struct {
  PetscInt64 key;
  PetscInt   q;
} KeyIdx;

static int CmpKey(const void *a, const void *b)
{
  const KeyIdx *x = a, *y = b;
  return x->key < y->key ? -1 : x->key > y->key;
}

/* off[r] for each local row r (in sorted order): the canonical index of the
   first parameter of natural row rows[r], from the counts cnt[r]. */
static PetscErrorCode RowOffsets(TnTrain tr, PetscInt nr, const PetscInt rows[], const PetscInt cnt[], PetscInt64 off[])
{
  Vec                c;
  Vec                loc;
  IS                 is;
  VecScatter         sct;
  PetscScalar       *a;
  const PetscScalar *o;
  PetscInt           n;
  PetscInt64         sum = 0, before = 0;
  PetscFunctionBeginUser;
  PetscCall(VecCreateMPI(tr->comm, PETSC_DECIDE, tr->N, &c));
  for (PetscInt r = 0; r < nr; r++) PetscCall(VecSetValue(c, rows[r], (PetscScalar)cnt[r], INSERT_VALUES));
  PetscCall(VecAssemblyBegin(c));
  PetscCall(VecAssemblyEnd(c));
  PetscCall(VecGetLocalSize(c, &n));
  PetscCall(VecGetArray(c, &a));
  for (PetscInt i = 0; i < n; i++) sum += (PetscInt64)a[i];
  PetscCallMPI(MPI_Exscan(&sum, &before, 1, MPIU_INT64, MPI_SUM, tr->comm));
  {
    PetscMPIInt rank;
    PetscCallMPI(MPI_Comm_rank(tr->comm, &rank));
    if (!rank) before = 0;
  }
  for (PetscInt i = 0; i < n; i++) {
    PetscInt64 len = (PetscInt64)a[i];
    a[i]           = (PetscScalar)before; /* exact below 2^53 */
    before += len;
  }
  PetscCall(VecRestoreArray(c, &a));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, nr, &loc));
  PetscCall(ISCreateGeneral(PETSC_COMM_SELF, nr, rows, PETSC_USE_POINTER, &is));
  PetscCall(VecScatterCreate(c, is, loc, NULL, &sct));
  PetscCall(VecScatterBegin(sct, c, loc, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(sct, c, loc, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGetArrayRead(loc, &o));
  for (PetscInt r = 0; r < nr; r++) off[r] = (PetscInt64)o[r];
  PetscCall(VecRestoreArrayRead(loc, &o));
  PetscCall(VecScatterDestroy(&sct));
  PetscCall(ISDestroy(&is));
  PetscCall(VecDestroy(&loc));
  PetscCall(VecDestroy(&c));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Sorts theta's local entries by (row, col + 2) and numbers them. */
static PetscErrorCode Positions(TnTrain tr, PetscInt nl, const PetscInt row[], const PetscInt col[], PetscInt pos[])
{
  KeyIdx     *k;
  PetscInt   *rows, *cnt, nr = 0;
  PetscInt64 *off, total;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(nl + 1, &k));
  for (PetscInt q = 0; q < nl; q++) {
    k[q].key = (PetscInt64)row[q] * (tr->N + 2) + (col[q] + 2);
    k[q].q   = q;
  }
  qsort(k, (size_t)nl, sizeof(KeyIdx), CmpKey);
  PetscCall(PetscMalloc3(nl + 1, &rows, nl + 1, &cnt, nl + 1, &off));
  for (PetscInt q = 0; q < nl; q++) {
    PetscInt r = row[k[q].q];
    if (!nr || rows[nr - 1] != r) rows[nr] = r, cnt[nr++] = 0;
    cnt[nr - 1]++;
  }
  PetscCall(RowOffsets(tr, nr, rows, cnt, off));
  for (PetscInt q = 0, r = -1, within = 0; q < nl; q++) {
    if (r < 0 || rows[r] != row[k[q].q]) r++, within = 0;
    total = off[r] + within++;
    PetscCheck(total < PETSC_MAX_INT, PETSC_COMM_SELF, PETSC_ERR_SUP, "more than 2^31 parameters need a 64-bit-index PETSc");
    pos[k[q].q] = (PetscInt)total;
  }
  PetscCall(PetscFree3(rows, cnt, off));
  PetscCall(PetscFree(k));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnCanonSetUp(TnTrain tr)
{
  const PetscInt *row, *col;
  PetscInt        nl, rs;
  IS              from, to;
  TnCanon        *c = &tr->canon;
  PetscFunctionBeginUser;
  if (c->sct) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnGradGetParamMap(tr->grad, &row, &col));
  PetscCall(VecGetLocalSize(tr->theta, &nl));
  PetscCall(VecGetOwnershipRange(tr->theta, &rs, NULL));
  PetscCall(PetscMalloc1(nl + 1, &c->pos));
  PetscCall(Positions(tr, nl, row, col, c->pos));
  c->total = tr->nnz + 2 * (PetscInt64)tr->N;
  PetscCall(VecCreateMPI(tr->comm, PETSC_DECIDE, (PetscInt)c->total, &c->canon));
  PetscCall(ISCreateStride(tr->comm, nl, rs, 1, &from));
  PetscCall(ISCreateGeneral(tr->comm, nl, c->pos, PETSC_USE_POINTER, &to));
  PetscCall(VecScatterCreate(tr->theta, from, c->canon, to, &c->sct));
  PetscCall(ISDestroy(&from));
  PetscCall(ISDestroy(&to));
  PetscCall(TnGradRestoreParamMap(tr->grad, &row, &col));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnCanonDestroy(TnCanon *c)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(c->pos));
  PetscCall(VecDestroy(&c->canon));
  PetscCall(VecScatterDestroy(&c->sct));
  PetscFunctionReturn(PETSC_SUCCESS);
}
