/* tenor/rule.h - local learning rules (docs/rules.md): updates of the
   network's W on its pattern P that node i computes from what it sees
   locally, the activities r_j of its in-neighbours j in P_i and its own r_i.
     hebb: dW_ij = eta (<r_i r_j> - alpha W_ij)             fixed point W = C/alpha on P
     oja:  y_i = sum_{j in P_i} W_ij r_j,
           dW_ij = eta <y_i (r_j - y_i W_ij)>               fixed point: row i = unit principal
                                                            eigenvector of C restricted to P_i
   <.> is the mean over the samples of a batch, C = <r r^T>. b and gamma are
   not changed. tenor train runs them with -train_rule hebb|oja
   (tenor/train.h, docs/training.md). */
#pragma once
#include <tenor/net.h>

typedef struct _p_TnRule *TnRule;

#define TNRULE_HEBB "hebb"
#define TNRULE_OJA "oja"

/* The step size of step t: constant eta, or (hebb) average:
   eta_t = n_t / (alpha S_t), n_t the samples of step t and S_t those of
   steps 0..t, which makes W_{t+1} the running mean of the batches' <r r^T>
   over alpha, C/alpha over every sample seen, whatever the initial W. */
typedef enum { TN_RULE_SCHEDULE_CONSTANT,
               TN_RULE_SCHEDULE_AVERAGE } TnRuleSchedule;
/* Which activity a trainer gives the rule (tenor/train.h): r = phi(x) of the
   sample (input) or r = phi(a_k) of the states a_1..a_K along the
   evolution (evolved). TnRuleApply and TnRuleComputeUpdate take r as given. */
typedef enum { TN_RULE_ACTIVITY_INPUT,
               TN_RULE_ACTIVITY_EVOLVED } TnRuleActivity;
extern const char *const TnRuleScheduleTypes[], *const TnRuleActivityTypes[];

/* Borrows the network (set up by TnRuleApply if it is not yet); type hebb,
   eta 0.01, alpha 1, weight limit 1e6, constant schedule, input activity. */
PetscErrorCode TnRuleCreate(TnNet net, TnRule *rule);
PetscErrorCode TnRuleSetType(TnRule rule, const char type[]);
PetscErrorCode TnRuleGetType(TnRule rule, const char **type);
/* Step size eta > 0 (it may be changed between steps, e.g. a decaying
   schedule); decay alpha >= 0 (hebb only). */
PetscErrorCode TnRuleSetEta(TnRule rule, PetscReal eta);
PetscErrorCode TnRuleSetDecay(TnRule rule, PetscReal alpha);
PetscErrorCode TnRuleSetSchedule(TnRule rule, TnRuleSchedule schedule);
PetscErrorCode TnRuleSetActivity(TnRule rule, TnRuleActivity activity);
PetscErrorCode TnRuleGetActivity(TnRule rule, TnRuleActivity *activity);
/* A step that would leave some |W_ij| above wmax (or non-finite) is refused
   with an error and not applied: the weights are running away. */
PetscErrorCode TnRuleSetMaxWeight(TnRule rule, PetscReal wmax);
/* -rule_type hebb|oja, -rule_eta, -rule_decay (alpha), -rule_schedule,
   -rule_activity, -rule_max_weight. */
PetscErrorCode TnRuleSetFromOptions(TnRule rule);
/* One step of the rule with the activities r of a batch of B samples: a Vec
   in the network's partitioned order (TnNetGetNatural; the order of the
   dynamics' states), block size B, node-major and sample-fastest (entry
   i*B + b is node i of sample b), local size m*B. B = 1 for a single sample.
   Collective. Non-finite activities, a wrong layout, or weights beyond the
   limit are errors, and W is then left as it was. Equals
   TnRuleComputeUpdate, TnRuleCheckUpdate (an error if the weights run away),
   the addition to the net's parameters and TnRuleUpdateApplied. */
PetscErrorCode TnRuleApply(TnRule rule, Vec r);
/* The pieces of a step, for a caller that applies the update itself (the
   trainer, through its invertibility check). The step size of the next step
   with n samples (the schedule's). d (theta's layout, tenor/grad.h: W's Ad
   values, Ao values, b, u; zero for b and u) <- the rule's update dW for
   the activities r, of which only samples b < nvalid count (the others pad a
   last batch). CheckUpdate: the largest |W_ij + d_ij| over all ranks (wmax)
   and, when some W_ij + d_ij is beyond the limit or not finite, why[] (the
   same on every rank) says so and what to change; else why[0] = 0.
   UpdateApplied counts a step of n samples that was added. Collective. */
PetscErrorCode TnRuleGetStepSize(TnRule rule, PetscInt n, PetscReal *eta);
PetscErrorCode TnRuleComputeUpdate(TnRule rule, Vec r, PetscInt nvalid, Vec d);
PetscErrorCode TnRuleCheckUpdate(TnRule rule, Vec d, PetscReal *wmax, char why[], size_t len);
PetscErrorCode TnRuleUpdateApplied(TnRule rule, PetscInt n, PetscReal wmax);
/* Steps applied so far and max |W_ij| after the last one. */
PetscErrorCode TnRuleGetStats(TnRule rule, PetscInt64 *steps, PetscReal *wmax);
/* The rule's settings and counters as root attributes of an HDF5 file
   (rule_type, rule_eta, rule_decay, rule_schedule, rule_activity,
   rule_steps, rule_samples). Read checks that the settings are this rule's
   (an error names the file, the attribute and both values) and restores the
   counters, so a restarted run continues the schedule. Collective. */
PetscErrorCode TnRuleWriteAttributes(TnRule rule, PetscViewer vw);
PetscErrorCode TnRuleReadAttributes(TnRule rule, PetscViewer vw, const char path[]);
PetscErrorCode TnRuleView(TnRule rule, PetscViewer viewer);
PetscErrorCode TnRuleDestroy(TnRule *rule);
