/* tenor/predict.h - the generative classifier (docs/predict.md): the
   class-conditional densities p(x | c) of a network whose last C nodes are
   clamped one-hot label nodes (tenor/data.h), and Bayes' rule
     p(c | x) = pi_c p(x | c) / sum_c' pi_c' p(x | c'),
   normalised over the classes exactly (log-sum-exp). */
#pragma once
#include <tenor/dyn.h>
#include <tenor/data.h>

/* post[c] = p(c | x) from logprior[c] = log pi_c and loglik[c] = log p(x | c):
   with m = max_c (log pi_c + log p(x | c)),
     log p(x) = m + log sum_c exp(log pi_c + log p(x | c) - m),
     post[c]  = exp(log pi_c + log p(x | c) - m) / sum_c' exp(... - m),
   so no term overflows, the largest is exp(0) = 1, and the posteriors sum
   to 1 within a few ulps whatever the scale of the log-densities. *logpx = log p(x)
   (may be NULL). Every loglik must be finite or -inf (the sample is then
   impossible under that class); an error if all classes give -inf. Not
   collective. */
PetscErrorCode TnClassPosterior(PetscInt C, const PetscReal logprior[], const PetscReal loglik[], PetscReal post[], PetscReal *logpx);

/* loglik[s C + c] = log Phi(x_s | c) for every sample s of data (all S, in
   stored order) and class c: each sample's label nodes N - C .. N - 1 set
   to the one-hot e_c in turn, whatever the data hold there. A batch of the
   dynamics (B slots, a multiple of C) holds m = B / C samples, each C times,
   so one pass over W serves every class of m samples. Progress lines on the
   dynamics' communicator. Values in the representation the network sees
   (standardised data: log p_z; the data space adds TnDataGetLogJacobian).
   Collective. */
PetscErrorCode TnClassLogLikelihood(TnDyn dyn, TnData data, PetscInt C, PetscReal loglik[]);

/* logphi[s] = log Phi(x_s) of every sample of data (all S, stored order)
   in batches of the dynamics' B: a per-class model's log p(x | c) in the
   representation the network sees. Collective. */
PetscErrorCode TnLogDensityAll(TnDyn dyn, TnData data, PetscReal logphi[]);
