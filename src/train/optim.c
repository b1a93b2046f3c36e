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

PetscErrorCode TnTrainDirection(TnTrain tr, PetscReal lr)
{
  const PetscScalar *g;
  PetscScalar       *m, *v, *d; /* d aliases g: each g[q] is read before d[q] is written */
  PetscInt           n;
  const PetscReal    t = (PetscReal)(tr->info.step + 1);
  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(tr->g, &n));
  PetscCall(VecGetArray(tr->g, &d));
  g = d;
  PetscCall(VecGetArray(tr->m, &m));
  PetscCall(VecGetArray(tr->v, &v));
  if (tr->opt == TN_OPT_ADAM) {
    const PetscReal c1 = 1 - PetscPowReal(tr->beta1, t), c2 = 1 - PetscPowReal(tr->beta2, t);
    for (PetscInt q = 0; q < n; q++) {
      m[q] = tr->beta1 * m[q] + (1 - tr->beta1) * g[q];
      v[q] = tr->beta2 * v[q] + (1 - tr->beta2) * g[q] * g[q];
      d[q] = -lr * (m[q] / c1) / (PetscSqrtReal(v[q] / c2) + tr->eps);
    }
  } else {
    for (PetscInt q = 0; q < n; q++) {
      m[q] = tr->mu * m[q] + g[q];
      d[q] = -lr * m[q];
    }
  }
  PetscCall(VecRestoreArray(tr->v, &v));
  PetscCall(VecRestoreArray(tr->m, &m));
  PetscCall(VecRestoreArray(tr->g, &d));
  PetscFunctionReturn(PETSC_SUCCESS);
}
