/* er: every node receives from exactly k distinct other nodes (a random graph
   with fixed in-degree), plus itself if self-loops are on.

   Reciprocity r (TnNetSetReciprocity, -net_reciprocity): node i first takes
   its reciprocal partners, then fills up to k in-neighbours with distinct
   uniform draws (draw t of row i is TnRandU64(seed, 3, i * 2^24 + t); with
   r = 0 this is the whole generator). The partners come from M = ceil(r k)
   random perfect matchings sigma_1..sigma_M of the nodes: sigma_t(i) =
   pi_t^-1(pi_t(i) xor 1), with pi_t a seeded pseudo-random permutation of
   {0..N-1} evaluated pointwise (a 4-round Feistel network with cycle walking),
   so sigma_t is an involution. A matched pair {i, j} is kept with probability
   r k / M, decided by a hash of (t, min(i,j), max(i,j)). Both rows i and j
   see the same matchings and the same hash, so a kept pair gives both edges
   i<-j and j<-i without any communication, and row i depends only on
   (seed, i, N, k, r): the network is the same for every rank count.

   What is fixed: the in-degree is exactly k (plus the self-loop). What is
   approximate: the number of reciprocal partners of a node (mean r k; fewer
   when two matchings pair the same nodes, for the odd node out when N is odd,
   and binomially spread when r k is not an integer), the out-degree (mean k),
   and the measured reciprocity (about r + (1 - r) k/N: one-way edges are
   reciprocated by chance with probability about k/N). */
#include "netimpl.h"
#include <math.h>

/* Random streams of the matchings (far from the small stream numbers of the
   other generators). */
#define TN_ER_STREAM_FEISTEL (0x52656369ULL << 16)
#define TN_ER_STREAM_KEEP ((0x52656369ULL << 16) + 1)

static PetscBool Has(const PetscInt *cols, PetscInt m, PetscInt j)
{
  for (PetscInt t = 0; t < m; t++)
    if (cols[t] == j) return PETSC_TRUE;
  return PETSC_FALSE;
}

/* A balanced Feistel network on 2b-bit words; round keys from (seed, t). */
typedef struct {
  uint64_t seed, t, b, mask, N;
} TnFeistel;

static uint64_t Round(const TnFeistel *f, int r, uint64_t half)
{
  return TnRandU64(f->seed, TN_ER_STREAM_FEISTEL, ((f->t * 4 + (uint64_t)r) << 32) | half) & f->mask;
}

static uint64_t Encrypt(const TnFeistel *f, uint64_t x)
{
  uint64_t L = x >> f->b, R = x & f->mask;
  for (int r = 0; r < 4; r++) {
    uint64_t nl = R;
    R           = L ^ Round(f, r, R);
    L           = nl;
  }
  return (L << f->b) | R;
}

static uint64_t Decrypt(const TnFeistel *f, uint64_t y)
{
  uint64_t L = y >> f->b, R = y & f->mask;
  for (int r = 3; r >= 0; r--) {
    uint64_t nr = L;
    L           = R ^ Round(f, r, L);
    R           = nr;
  }
  return (L << f->b) | R;
}

/* pi(x) and pi^-1(y) on {0..N-1} by cycle walking (the walk stays inside the
   cycle of x of the 2^2b-permutation, so it ends and is a bijection). */
static uint64_t Perm(const TnFeistel *f, uint64_t x)
{
  do x = Encrypt(f, x);
  while (x >= f->N);
  return x;
}

static uint64_t PermInv(const TnFeistel *f, uint64_t y)
{
  do y = Decrypt(f, y);
  while (y >= f->N);
  return y;
}

/* Row's partner in matching t, or -1 (the odd node out). */
static PetscInt Partner(TnNet net, uint64_t t, PetscInt row)
{
  TnFeistel f = {(uint64_t)net->seed, t, 1, 0, (uint64_t)net->N};
  uint64_t  p;
  while ((1ULL << (2 * f.b)) < f.N) f.b++;
  f.mask = (1ULL << f.b) - 1;
  p      = Perm(&f, (uint64_t)row) ^ 1ULL;
  return p < f.N ? (PetscInt)PermInv(&f, p) : -1;
}

/* Reciprocal partners of row (distinct, not row itself) into cols. */
static void Partners(TnNet net, PetscInt row, PetscInt *cols, PetscInt *m)
{
  PetscReal rk   = net->recip * (PetscReal)net->k;
  PetscInt  M    = (PetscInt)ceil(rk - 1e-9);
  PetscReal keep = M > 0 ? rk / M : 0;
  for (PetscInt t = 0; t < M; t++) {
    PetscInt j = Partner(net, (uint64_t)t, row);
    uint64_t lo, hi;
    if (j < 0 || j == row || Has(cols, *m, j)) continue;
    lo = (uint64_t)PetscMin(row, j);
    hi = (uint64_t)PetscMax(row, j);
    if (keep < 1 && TnRandUniform((uint64_t)net->seed, TN_ER_STREAM_KEEP + (uint64_t)t, lo * (uint64_t)net->N + hi) >= keep) continue;
    cols[(*m)++] = j;
  }
}

PetscErrorCode TnNetRows_ER(TnNet net, PetscInt row, PetscInt *cols, PetscInt *ncols)
{
  PetscInt m = 0, N = net->N;
  uint64_t t = 0;
  PetscFunctionBeginUser;
  if (net->recip > 0) Partners(net, row, cols, &m);
  while (m < net->k) {
    PetscInt j = (PetscInt)(TnRandU64((uint64_t)net->seed, 3, ((uint64_t)row << 24) + t++) % (uint64_t)N);
    if (j != row && !Has(cols, m, j)) cols[m++] = j;
  }
  if (net->self) cols[m++] = row;
  *ncols = m;
  PetscFunctionReturn(PETSC_SUCCESS);
}
