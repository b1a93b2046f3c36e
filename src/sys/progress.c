/* Progress lines for long work: rate and ETA, printed by rank 0. */
#include <tenor/sys.h>

PetscLogDouble TnTime(void)
{
  return MPI_Wtime();
}

#define TN_PROGRESS_EVERY 2.0 /* seconds between progress lines, -tn_progress_every's default */

PetscBool TnProgressOn(void)
{
  PetscReal every = TN_PROGRESS_EVERY;
  if (PetscOptionsGetReal(NULL, NULL, "-tn_progress_every", &every, NULL)) return PETSC_TRUE;
  return (PetscBool)(every > 0);
}

PetscErrorCode TnProgressStart(MPI_Comm comm, TnProgress *p, const char what[], PetscInt n, double work_per_item, const char unit[])
{
  PetscFunctionBeginUser;
  p->what          = what;
  p->unit          = unit;
  p->n             = n;
  p->t0            = TnTime();
  p->tlast         = p->t0;
  p->every         = TN_PROGRESS_EVERY;
  p->work_per_item = work_per_item;
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-tn_progress_every", &p->every, NULL));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnProgressUpdate(MPI_Comm comm, TnProgress *p, PetscInt done)
{
  PetscLogDouble now = TnTime(), el;
  PetscFunctionBeginUser;
  if (p->every <= 0 || now - p->tlast < p->every) {
    /* the final line only for work that already reported progress */
    if (done < p->n || p->tlast == p->t0) PetscFunctionReturn(PETSC_SUCCESS);
  }
  p->tlast = now;
  el       = now - p->t0;
  if (el <= 0) el = 1e-9;
  {
    double rate = (double)done * p->work_per_item / el, eta = done ? el * (double)(p->n - done) / (double)done : 0;
    PetscCall(PetscPrintf(comm, "  %s: %" PetscInt_FMT "/%" PetscInt_FMT "  %.3g %s/s  elapsed %.1f s  ETA %.1f s\n", p->what, done, p->n, rate, p->unit, el, eta));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
