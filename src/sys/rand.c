/* Counter-based random numbers: every value is a pure function of
   (seed, stream, counter), so a network or a data set is the same for any
   number of ranks. The mixer is splitmix64's finalizer (Steele et al. 2014). */
#include <tenor/sys.h>
#include <math.h>

static inline uint64_t Mix64(uint64_t z)
{
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t TnRandU64(uint64_t seed, uint64_t stream, uint64_t counter)
{
  uint64_t k = Mix64(seed + 0x9e3779b97f4a7c15ULL);
  k          = Mix64(k ^ (stream * 0xd1b54a32d192ed03ULL + 0x632be59bd9b4e019ULL));
  return Mix64(k ^ (counter * 0x9e3779b97f4a7c15ULL + 0x8cb92ba72f3d8dd7ULL));
}

PetscReal TnRandUniform(uint64_t seed, uint64_t stream, uint64_t counter)
{
  /* 53 random bits, shifted by half an ulp: u in (0, 1) */
  return ((double)(TnRandU64(seed, stream, counter) >> 11) + 0.5) * 0x1.0p-53;
}

PetscReal TnRandNormal(uint64_t seed, uint64_t stream, uint64_t counter)
{
  /* Box-Muller: z = sqrt(-2 ln u1) cos(2 pi u2) */
  PetscReal u1 = TnRandUniform(seed, stream, 2 * counter), u2 = TnRandUniform(seed, stream, 2 * counter + 1);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
