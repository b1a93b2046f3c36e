/* tenor/rule.h - local learning rules (docs/rules.md): updates of the
   network's W on its pattern P that node i computes from what it sees
   locally, the activities r_j of its in-neighbours j in P_i and its own r_i.
     hebb: dW_ij = eta (<r_i r_j> - alpha W_ij)             fixed point W = C/alpha on P
     oja:  y_i = sum_{j in P_i} W_ij r_j,
           dW_ij = eta <y_i (r_j - y_i W_ij)>               fixed point: row i = unit principal
                                                            eigenvector of C restricted to P_i
   <.> is the mean over the samples of a batch, C = <r r^T>. b and gamma are
   not changed. */
#pragma once
#include <tenor/net.h>

typedef struct _p_TnRule *TnRule;

#define TNRULE_HEBB "hebb"
#define TNRULE_OJA "oja"

/* Borrows the network (set up by TnRuleApply if it is not yet); type hebb,
   eta 0.01, alpha 1, weight limit 1e6. */
PetscErrorCode TnRuleCreate(TnNet net, TnRule *rule);
PetscErrorCode TnRuleSetType(TnRule rule, const char type[]);
PetscErrorCode TnRuleGetType(TnRule rule, const char **type);
/* Step size eta > 0 (it may be changed between steps, e.g. a decaying
   schedule); decay alpha >= 0 (hebb only). */
PetscErrorCode TnRuleSetEta(TnRule rule, PetscReal eta);
PetscErrorCode TnRuleSetDecay(TnRule rule, PetscReal alpha);
/* A step that would leave some |W_ij| above wmax (or non-finite) is refused
   with an error and not applied: the weights are running away. */
PetscErrorCode TnRuleSetMaxWeight(TnRule rule, PetscReal wmax);
/* -rule_type hebb|oja, -rule_eta, -rule_decay (alpha), -rule_max_weight. */
PetscErrorCode TnRuleSetFromOptions(TnRule rule);
/* One step of the rule with the activities r of a batch of B samples: a Vec
   in the network's partitioned order (TnNetGetNatural; the order of the
   dynamics' states), block size B, node-major and sample-fastest (entry
   i*B + b is node i of sample b), local size m*B. B = 1 for a single sample.
   Collective. Non-finite activities, a wrong layout, or weights beyond the
   limit are errors, and W is then left as it was. */
PetscErrorCode TnRuleApply(TnRule rule, Vec r);
/* Steps applied so far and max |W_ij| after the last one. */
PetscErrorCode TnRuleGetStats(TnRule rule, PetscInt64 *steps, PetscReal *wmax);
PetscErrorCode TnRuleView(TnRule rule, PetscViewer viewer);
PetscErrorCode TnRuleDestroy(TnRule *rule);
