/* Optimisers and the learning-rate schedule. All updates are element-wise in
   theta's layout (the moments are distributed like theta), so they cost no
   communication and are bitwise reproducible. After the update of step t
   (t = 1, 2, ...), g holds the step d to add to theta (g is overwritten:
   no separate direction vector):
     Adam: m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2,
           d = -lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
     SGD:  m <- mu m + g, d = -lr m   (v unused) */
#include "trainimpl.h"

PetscReal TnTrainLearningRate(TnTrain tr, PetscInt64 step)
{
  PetscReal frac = tr->info.total > 0 ? (PetscReal)step / (PetscReal)tr->info.total : 0;
  switch (tr->sched) {
  case TN_SCHED_COSINE:
    return tr->lr0 * (tr->minfrac + (1 - tr->minfrac) * 0.5 * (1 + PetscCosReal(PETSC_PI * PetscMin(frac, 1.0))));
  case TN_SCHED_STEP:
    return tr->lr0 * PetscPowReal(tr->decay, (PetscReal)(step / tr->every_decay));
  case TN_SCHED_CONSTANT:
    return tr->lr0;
  }
  return tr->lr0;
}

/* The update, in double from the stored moments: each new moment is rounded
   to its storage type (double, or float with -train_moments_single) before d
   is computed from it, so that d depends only on what a checkpoint holds. */
#define TN_ADAM(M, V)                                                                      \
  for (PetscInt q = 0; q < n; q++) {                                                       \
    M[q] = (__typeof__(M[0]))(tr->beta1 * M[q] + (1 - tr->beta1) * g[q]);                  \
    V[q] = (__typeof__(V[0]))(tr->beta2 * V[q] + (1 - tr->beta2) * g[q] * g[q]);           \
    d[q] = -lr * ((PetscReal)M[q] / c1) / (PetscSqrtReal((PetscReal)V[q] / c2) + tr->eps); \
  }
#define TN_SGD(M)                                    \
  for (PetscInt q = 0; q < n; q++) {                 \
    M[q] = (__typeof__(M[0]))(tr->mu * M[q] + g[q]); \
    d[q] = -lr * (PetscReal)M[q];                    \
  }

PetscErrorCode TnTrainDirection(TnTrain tr, PetscReal lr)
{
  const PetscScalar *g;
  PetscScalar       *m = NULL, *v = NULL, *d; /* d aliases g: each g[q] is read before d[q] is written */
  float             *mf = tr->mf, *vf = tr->vf;
  PetscInt           n;
  const PetscReal    t = (PetscReal)(tr->info.step + 1);
  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(tr->g, &n));
  PetscCall(VecGetArray(tr->g, &d));
  g = d;
  if (tr->m) PetscCall(VecGetArray(tr->m, &m));
  if (tr->v) PetscCall(VecGetArray(tr->v, &v));
  if (tr->opt == TN_OPT_ADAM) {
    const PetscReal c1 = 1 - PetscPowReal(tr->beta1, t), c2 = 1 - PetscPowReal(tr->beta2, t);
    if (tr->single)
      TN_ADAM(mf, vf)
    else
      TN_ADAM(m, v)
  } else {
    if (tr->single)
      TN_SGD(mf)
    else
      TN_SGD(m)
  }
  if (tr->v) PetscCall(VecRestoreArray(tr->v, &v));
  if (tr->m) PetscCall(VecRestoreArray(tr->m, &m));
  PetscCall(VecRestoreArray(tr->g, &d));
  PetscFunctionReturn(PETSC_SUCCESS);
}
