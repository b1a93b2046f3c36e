/* -model in the front end: the precedence between a model file and the
   command line. The model's settings are applied first (TnModelConfigureDyn
   applies all of them), then the options database over them
   (TnDynSetFromOptions), so whatever the user gave wins; a note names every
   setting the command line changes. */
#include "cli.h"
#include <tenor/train.h>

/* The dynamics' settings a model file stores. */
typedef struct {
  char            scheme[64];
  TnForm          form;
  TnAct           act;
  TnBase          base;
  TnLogDetType    ldt;
  PetscReal       h, rtol, atol;
  PetscInt        K, seed;
  TnColoringOrder colorder;
  PetscBool       adapt;
} DynSettings;

static PetscErrorCode GetSettings(TnDyn dyn, DynSettings *s)
{
  PetscFunctionBeginUser;
  TnScheme scheme;
  PetscCall(TnDynGetParams(dyn, &scheme, &s->form, &s->act, &s->h, &s->K, NULL));
  PetscCall(PetscStrncpy(s->scheme, scheme, sizeof(s->scheme)));
  PetscCall(TnDynGetLoss(dyn, &s->ldt, &s->base));
  PetscCall(TnDynGetColoringSeed(dyn, &s->seed));
  PetscCall(TnDynGetColoringOrder(dyn, &s->colorder));
  PetscCall(TnDynGetTolerances(dyn, &s->rtol, &s->atol, &s->adapt));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode NoteChoice(MPI_Comm comm, const char opt[], const char attr[], const char *const list[], PetscInt given, PetscInt model)
{
  PetscFunctionBeginUser;
  if (given != model) PetscCall(PetscPrintf(comm, "note: %s %s overrides the model's %s = %s\n", opt, list[given], attr, list[model]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The notes: what the command line (c) changed of the model's settings (m). */
static PetscErrorCode NoteOverrides(MPI_Comm comm, const DynSettings *m, const DynSettings *c)
{
  PetscFunctionBeginUser;
  if (strcmp(c->scheme, m->scheme)) PetscCall(PetscPrintf(comm, "note: -dyn_scheme %s overrides the model's scheme = %s\n", c->scheme, m->scheme));
  PetscCall(NoteChoice(comm, "-dyn_form", "form", TnFormTypes, c->form, m->form));
  PetscCall(NoteChoice(comm, "-dyn_act", "act", TnActTypes, c->act, m->act));
  PetscCall(NoteChoice(comm, "-base_type", "base", TnBaseTypes, c->base, m->base));
  PetscCall(NoteChoice(comm, "-logdet_type", "logdet", TnLogDetTypes, c->ldt, m->ldt));
  if (c->h != m->h) PetscCall(PetscPrintf(comm, "note: -dyn_h %g overrides the model's h = %.17g\n", (double)c->h, (double)m->h));
  if (c->K != m->K) PetscCall(PetscPrintf(comm, "note: -dyn_steps %" PetscInt_FMT " overrides the model's K = %" PetscInt_FMT "\n", c->K, m->K));
  if (c->rtol != m->rtol) PetscCall(PetscPrintf(comm, "note: -dyn_rtol %g overrides the model's rtol = %g\n", (double)c->rtol, (double)m->rtol));
  if (c->atol != m->atol) PetscCall(PetscPrintf(comm, "note: -dyn_atol %g overrides the model's atol = %g\n", (double)c->atol, (double)m->atol));
  if (c->adapt != m->adapt) PetscCall(PetscPrintf(comm, "note: -dyn_adapt %d overrides the model's adapt = %d\n", (int)c->adapt, (int)m->adapt));
  PetscCall(NoteChoice(comm, "-dyn_coloring_order", "coloring_order", TnColoringOrders, c->colorder, m->colorder));
  if (c->seed != m->seed) PetscCall(PetscPrintf(comm, "note: -dyn_coloring_seed %" PetscInt_FMT " overrides the model's coloring_seed = %" PetscInt_FMT "\n", c->seed, m->seed));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnCliConfigureDyn(MPI_Comm comm, const char model[], TnDyn dyn)
{
  DynSettings m, c;
  PetscFunctionBeginUser;
  if (!model[0]) {
    PetscCall(TnDynSetFromOptions(dyn));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(TnModelConfigureDyn(comm, model, dyn));
  PetscCall(GetSettings(dyn, &m));
  PetscCall(TnDynSetFromOptions(dyn));
  PetscCall(GetSettings(dyn, &c));
  PetscCall(NoteOverrides(comm, &m, &c));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnCliCheckModelOptions(MPI_Comm comm, const char model[])
{
  /* what a model file fixes: the network's pattern, weights, biases and leaks */
  static const char *const net[]      = {"-net_type", "-net_n", "-net_k", "-net_radius", "-net_rewire", "-net_reciprocity", "-net_self", "-net_scale", "-net_gamma", "-net_bias", "-net_seed", "-net_W", "-net_b", "-net_gamma_file"};
  char                     given[512] = "";
  PetscBool                set;
  PetscFunctionBeginUser;
  if (!model[0]) PetscFunctionReturn(PETSC_SUCCESS);
  for (size_t i = 0; i < sizeof(net) / sizeof(net[0]); i++) {
    PetscCall(PetscOptionsHasName(NULL, NULL, net[i], &set));
    if (set) {
      PetscCall(PetscStrlcat(given, given[0] ? ", " : "", sizeof(given)));
      PetscCall(PetscStrlcat(given, net[i], sizeof(given)));
    }
  }
  PetscCheck(!given[0], comm, PETSC_ERR_USER, "-model %s holds the network; %s would be ignored: drop %s (the dynamics' options -dyn_*, -logdet_type, -base_type may override the model's)", model, given, strchr(given, ',') ? "them" : "it");
  PetscFunctionReturn(PETSC_SUCCESS);
}
