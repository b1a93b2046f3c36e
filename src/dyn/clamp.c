/* Clamped nodes (docs/conditional.md): a set C of nodes whose values the
   sample gives and the evolution keeps; the other nodes F carry the density
     log Phi(t | x) = log p_base(a_K^F) + sum_k log|det J_k^FF|.
   The set is checked once here (node numbers in [0, N), each once, at least
   one node free) and becomes the free mask fmask of the local rows
   (partitioned order), which every scheme's kernels read (TnDynFree). */
#include "dynimpl.h"
#include <tenor/io.h>

PetscErrorCode TnDynSetClamp(TnDyn dyn, IS natural)
{
  PetscFunctionBeginUser;
  PetscCall(TnDynReset(dyn));
  if (natural) PetscCall(PetscObjectReference((PetscObject)natural));
  PetscCall(ISDestroy(&dyn->clampis));
  dyn->clampis      = natural;
  dyn->clampfile[0] = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynSetClampFile(TnDyn dyn, const char path[])
{
  PetscFunctionBeginUser;
  PetscCall(TnDynReset(dyn));
  PetscCall(ISDestroy(&dyn->clampis));
  PetscCall(PetscStrncpy(dyn->clampfile, path ? path : "", sizeof(dyn->clampfile)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynGetClamp(TnDyn dyn, PetscInt *nclamped, PetscInt *nfree, const PetscReal **freemask)
{
  PetscFunctionBeginUser;
  PetscCheck(dyn->setup, dyn->comm, PETSC_ERR_ORDER, "call TnDynSetUp() first");
  if (nclamped) *nclamped = dyn->nclamp;
  if (nfree) *nfree = dyn->nfree;
  if (freemask) *freemask = dyn->fmask;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynGetClampIS(TnDyn dyn, IS *natural)
{
  const PetscInt *nat;
  PetscInt       *idx, n = 0;
  PetscFunctionBeginUser;
  PetscCheck(dyn->setup, dyn->comm, PETSC_ERR_ORDER, "call TnDynSetUp() first");
  *natural = NULL;
  if (!dyn->nclamp) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TnNetGetNatural(dyn->net, &nat));
  PetscCall(PetscMalloc1(dyn->m + 1, &idx));
  for (PetscInt i = 0; i < dyn->m; i++)
    if (dyn->fmask[i] == 0) idx[n++] = nat[i];
  PetscCall(ISCreateGeneral(dyn->comm, n, idx, PETSC_OWN_POINTER, natural));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynAddBaseTerms(TnDyn dyn, const PetscScalar *a, PetscReal *base)
{
  PetscFunctionBeginUser;
  PetscCheck(dyn->setup, dyn->comm, PETSC_ERR_ORDER, "call TnDynSetUp() first");
  for (PetscInt i = 0; i < dyn->m; i++)
    if (TnDynFree(dyn, i) != 0)
      for (PetscInt b = 0; b < dyn->B; b++) base[b] += TnBaseLogDensity(dyn->base, a[(size_t)i * dyn->B + b]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Whether some rank has an error message (all ranks then clean up before
   TnErrorSync raises it). */
static PetscErrorCode AnyBad(MPI_Comm comm, const char msg[], PetscBool *any)
{
  int bad = msg[0] != 0;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_LOR, comm));
  *any = (PetscBool)bad;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Counts how often each natural node is listed (a natural-order Vec), checks
   the counts, and moves them to the partitioned rows: fmask_i = 1 - count. */
PetscErrorCode TnDynSetUpClamp(TnDyn dyn)
{
  IS              is = NULL;
  Vec             cnt, part;
  VecScatter      sct;
  IS              nat;
  const PetscInt *idx, *natural;
  PetscInt        n, N, nlo, rstart;
  PetscScalar    *pc, one = 1.0;
  PetscReal       total;
  PetscBool       any;
  const char     *src                           = dyn->clampfile[0] ? dyn->clampfile : "TnDynSetClamp";
  char            msg[PETSC_MAX_PATH_LEN + 256] = "";
  PetscFunctionBeginUser;
  dyn->nclamp = 0;
  PetscCall(TnNetGetSizes(dyn->net, &N, NULL));
  dyn->nfree = N;
  if (!dyn->clampis && !dyn->clampfile[0]) PetscFunctionReturn(PETSC_SUCCESS);
  if (dyn->clampis) {
    is = dyn->clampis;
    PetscCall(PetscObjectReference((PetscObject)is));
  } else
    PetscCall(TnReadNodeList(dyn->comm, dyn->clampfile, "-data_clamp", N, &is)); /* numbers k and ranges a-b, each node once, all in [0, N) */
  PetscCall(ISGetLocalSize(is, &n));
  nlo = PETSC_DECIDE;
  PetscCall(PetscSplitOwnership(dyn->comm, &nlo, &N));
  PetscCall(TnCheckMemory(dyn->comm, 8.0 * (3.0 * dyn->m + 2.0 * nlo + n), "the clamp set (-data_clamp): its counts and free mask", NULL));
  PetscCall(ISGetIndices(is, &idx));
  for (PetscInt q = 0; q < n && !msg[0]; q++)
    if (idx[q] < 0 || idx[q] >= N) PetscCall(PetscSNPrintf(msg, sizeof(msg), "clamped nodes (%s): node %" PetscInt_FMT " is not a node of the network, whose natural numbers are 0 .. %" PetscInt_FMT, src, idx[q], N - 1));
  PetscCall(AnyBad(dyn->comm, msg, &any));
  if (any) {
    PetscCall(ISRestoreIndices(is, &idx));
    PetscCall(ISDestroy(&is));
  }
  PetscCall(TnErrorSync(dyn->comm, (PetscBool)(msg[0] != 0), msg));
  PetscCall(VecCreateMPI(dyn->comm, nlo, N, &cnt));
  for (PetscInt q = 0; q < n; q++) PetscCall(VecSetValues(cnt, 1, &idx[q], &one, ADD_VALUES));
  PetscCall(ISRestoreIndices(is, &idx));
  PetscCall(ISDestroy(&is));
  PetscCall(VecAssemblyBegin(cnt));
  PetscCall(VecAssemblyEnd(cnt));
  PetscCall(VecGetOwnershipRange(cnt, &rstart, NULL));
  PetscCall(VecGetArray(cnt, &pc));
  for (PetscInt i = 0; i < nlo && !msg[0]; i++)
    if (PetscRealPart(pc[i]) > 1) PetscCall(PetscSNPrintf(msg, sizeof(msg), "clamped nodes (%s): node %" PetscInt_FMT " is listed %" PetscInt_FMT " times; list each clamped node once", src, rstart + i, (PetscInt)PetscRealPart(pc[i])));
  PetscCall(VecRestoreArray(cnt, &pc));
  PetscCall(AnyBad(dyn->comm, msg, &any));
  if (any) PetscCall(VecDestroy(&cnt));
  PetscCall(TnErrorSync(dyn->comm, (PetscBool)(msg[0] != 0), msg));
  PetscCall(VecSum(cnt, &total));
  dyn->nclamp = (PetscInt)total;
  dyn->nfree  = N - dyn->nclamp;
  if (dyn->nfree == 0) PetscCall(VecDestroy(&cnt));
  PetscCheck(dyn->nfree > 0, dyn->comm, PETSC_ERR_USER, "clamped nodes (%s): all %" PetscInt_FMT " nodes are clamped, so no variable is left for the density; leave at least one node out of the clamp set", src, N);
  /* counts -> partitioned rows */
  PetscCall(TnNetGetNatural(dyn->net, &natural));
  PetscCall(ISCreateGeneral(dyn->comm, dyn->m, natural, PETSC_USE_POINTER, &nat));
  PetscCall(VecCreateMPI(dyn->comm, dyn->m, N, &part));
  PetscCall(VecScatterCreate(cnt, nat, part, NULL, &sct));
  PetscCall(VecScatterBegin(sct, cnt, part, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(sct, cnt, part, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(PetscMalloc1(dyn->m + 1, &dyn->fmask));
  PetscCall(VecGetArray(part, &pc));
  for (PetscInt i = 0; i < dyn->m; i++) dyn->fmask[i] = 1.0 - PetscRealPart(pc[i]);
  PetscCall(VecRestoreArray(part, &pc));
  PetscCall(VecScatterDestroy(&sct));
  PetscCall(ISDestroy(&nat));
  PetscCall(VecDestroy(&part));
  PetscCall(VecDestroy(&cnt));
  { /* the ghost columns' mask, by the halo exchange (pbuf is free at set-up) */
    const PetscScalar *g;
    for (PetscInt i = 0; i < dyn->m; i++)
      for (PetscInt b = 0; b < dyn->B; b++) dyn->pbuf[(size_t)i * dyn->B + b] = dyn->fmask[i];
    PetscCall(TnDynHaloBegin(dyn));
    PetscCall(TnDynHaloEnd(dyn));
    PetscCall(PetscMalloc1(dyn->nghost + 1, &dyn->gfmask));
    PetscCall(VecGetArrayRead(dyn->G, &g));
    for (PetscInt q = 0; q < dyn->nghost; q++) dyn->gfmask[q] = PetscRealPart(g[(size_t)q * dyn->B]);
    PetscCall(VecRestoreArrayRead(dyn->G, &g));
  }
  PetscCall(PetscInfo(NULL, "%" PetscInt_FMT " of %" PetscInt_FMT " nodes clamped\n", dyn->nclamp, N));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynResetClamp(TnDyn dyn)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(dyn->fmask));
  PetscCall(PetscFree(dyn->gfmask));
  dyn->nclamp = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDynGetClampMask(TnDyn dyn, Vec mask)
{
  Vec             part;
  VecScatter      sct;
  IS              nat;
  const PetscInt *natural;
  PetscScalar    *p;
  PetscInt        N;
  PetscFunctionBeginUser;
  PetscCall(TnDynSetUp(dyn));
  PetscCall(TnNetGetSizes(dyn->net, &N, NULL));
  PetscCall(TnNetGetNatural(dyn->net, &natural));
  PetscCall(VecCreateMPI(dyn->comm, dyn->m, N, &part));
  PetscCall(VecGetArrayWrite(part, &p));
  for (PetscInt i = 0; i < dyn->m; i++) p[i] = dyn->fmask ? 1.0 - dyn->fmask[i] : 0.0;
  PetscCall(VecRestoreArrayWrite(part, &p));
  PetscCall(ISCreateGeneral(dyn->comm, dyn->m, natural, PETSC_USE_POINTER, &nat));
  PetscCall(VecScatterCreate(mask, nat, part, NULL, &sct));
  PetscCall(VecScatterBegin(sct, part, mask, INSERT_VALUES, SCATTER_REVERSE));
  PetscCall(VecScatterEnd(sct, part, mask, INSERT_VALUES, SCATTER_REVERSE));
  PetscCall(VecScatterDestroy(&sct));
  PetscCall(ISDestroy(&nat));
  PetscCall(VecDestroy(&part));
  PetscFunctionReturn(PETSC_SUCCESS);
}
