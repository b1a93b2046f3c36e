/* Base densities p_base on R^N, products over nodes (docs/model.md section 4). */
#include <tenor/loss.h>
#include <math.h>

const char *const TnBaseTypes[] = {"normal", "logistic", "TnBase", "TN_BASE_", NULL};

PetscReal TnBaseLogDensity(TnBase base, PetscReal z)
{
  switch (base) {
  case TN_BASE_NORMAL:
    return -0.5 * z * z - 0.91893853320467274178; /* -z^2/2 - log(2 pi)/2 */
  case TN_BASE_LOGISTIC: {
    PetscReal az = fabs(z); /* log sigma'(z) = -|z| - 2 log(1 + exp(-|z|)) */
    return -az - 2.0 * log1p(exp(-az));
  }
  }
  return NAN; /* unreachable: the enum is validated when options are read */
}
