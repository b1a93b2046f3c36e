/* Class labels as clamped one-hot label nodes (docs/predict.md): a sample of
   D = N - C values from the file, then C label nodes with x_{D+c} = [label
   = c]. The labels are replicated (S integers); each rank fills the label
   nodes it owns in the default split. */
#include "dataimpl.h"
#include <tenor/io.h>

PetscErrorCode TnDataSetLabels(TnData data, const char path[], const char dataset[])
{
  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(data->labels, path ? path : "", sizeof(data->labels)));
  if (dataset) PetscCall(PetscStrncpy(data->labels_dataset, dataset, sizeof(data->labels_dataset)));
  PetscCall(PetscFree(data->label));
  data->C_ready = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataSetClasses(TnData data, PetscInt C, PetscBool fromModel)
{
  PetscFunctionBeginUser;
  PetscCheck(C >= 0, data->comm, PETSC_ERR_ARG_OUTOFRANGE, "the number of classes must be >= 0 (got %" PetscInt_FMT ")", C);
  data->C       = C;
  data->C_model = fromModel;
  data->C_ready = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataLabelsSetUp_Private(TnData data)
{
  PetscFunctionBeginUser;
  if (data->C_ready) PetscFunctionReturn(PETSC_SUCCESS);
  if (data->labels[0] && !data->label) PetscCall(TnReadLabels(data->comm, data->labels, data->labels_dataset, &data->Slab, &data->label));
  if (data->label) {
    PetscInt maxl = 0, at = 0;
    for (PetscInt s = 0; s < data->Slab; s++)
      if (data->label[s] > maxl) maxl = data->label[s], at = s;
    if (data->C == 0) data->C = maxl + 1;
    PetscCheck(maxl < data->C, data->comm, PETSC_ERR_USER, "-data_labels %s: label number %" PetscInt_FMT " is %" PetscInt_FMT ", outside the %" PetscInt_FMT " classes 0 .. %" PetscInt_FMT "%s", data->labels, at + 1, maxl, data->C, data->C - 1, data->C_model ? " of the model" : " (-data_classes)");
    PetscCheck(data->C >= 2, data->comm, PETSC_ERR_USER, "-data_labels %s: every label is 0, so there is only one class; a classifier needs at least 2 (labels are 0, 1, ..., C - 1)", data->labels);
  }
  if (data->sel >= 0) { /* a per-class model: no label nodes */
    PetscInt n = 0;
    PetscCheck(data->label, data->comm, PETSC_ERR_USER, "-data_class %" PetscInt_FMT " selects the samples of a class: it needs their labels (-data_labels)", data->sel);
    PetscCheck(data->sel < data->C, data->comm, PETSC_ERR_USER, "-data_class %" PetscInt_FMT " is not one of the %" PetscInt_FMT " classes 0 .. %" PetscInt_FMT " of -data_labels %s", data->sel, data->C, data->C - 1, data->labels);
    for (PetscInt s = 0; s < data->Slab; s++) n += data->label[s] == data->sel;
    PetscCheck(n > 0, data->comm, PETSC_ERR_USER, "-data_class %" PetscInt_FMT ": -data_labels %s has no sample of this class", data->sel, data->labels);
    data->selC     = data->C;
    data->selprior = (PetscReal)n / data->Slab;
    data->C        = 0;
  }
  data->C_ready = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataGetClasses(TnData data, PetscInt *C)
{
  PetscFunctionBeginUser;
  PetscCall(TnDataLabelsSetUp_Private(data));
  *C = data->C;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataGetLabels(TnData data, const PetscInt **labels)
{
  PetscFunctionBeginUser;
  PetscCheck(data->x, data->comm, PETSC_ERR_ORDER, "call TnDataLoad() first");
  *labels = data->label;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataGetClassPriors(TnData data, PetscReal prior[])
{
  PetscFunctionBeginUser;
  PetscCheck(data->x, data->comm, PETSC_ERR_ORDER, "call TnDataLoad() first");
  PetscCheck(data->prior, data->comm, PETSC_ERR_ORDER, "no class labels: the class priors come from the training labels (-data_labels)");
  for (PetscInt c = 0; c < data->C; c++) prior[c] = data->prior[c];
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataSetClampMask(TnData data, Vec mask)
{
  const PetscScalar *m;
  PetscInt           n;
  PetscFunctionBeginUser;
  PetscCall(PetscFree(data->cmask));
  if (!mask) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(VecGetLocalSize(mask, &n));
  PetscCall(PetscMalloc1(n + 1, &data->cmask));
  PetscCall(VecGetArrayRead(mask, &m));
  for (PetscInt i = 0; i < n; i++) data->cmask[i] = PetscRealPart(m[i]);
  PetscCall(VecRestoreArrayRead(mask, &m));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataLabelsRead_Private(TnData data)
{
  PetscInt     D = data->N - data->C, n = data->rend - data->rstart, S;
  PetscInt     r0 = PetscMin(data->rstart, D), r1 = PetscMin(data->rend, D);
  PetscScalar *xd;
  PetscBool    csv, h5;
  PetscFunctionBeginUser;
  PetscCall(PetscStrcmp(data->type, TNDATA_CSV, &csv));
  PetscCall(PetscStrcmp(data->type, TNDATA_HDF5, &h5));
  PetscCheck(csv || h5, data->comm, PETSC_ERR_USER, "class labels (%" PetscInt_FMT " label nodes) need samples from a file (-data_file), not -data_type %s", data->C, data->type);
  PetscCheck(data->file[0], data->comm, PETSC_ERR_USER, "-data_type %s needs -data_file <path>", data->type);
  PetscCheck(D >= 1, data->comm, PETSC_ERR_USER, "the network has N = %" PetscInt_FMT " nodes and the labels %" PetscInt_FMT " classes: the last C nodes are the label nodes, so N must be the data's columns D plus C (-net_n D+%" PetscInt_FMT ")", data->N, data->C, data->C);
  if (h5)
    PetscCall(TnReadSamplesHDF5(data->comm, data->file, data->dataset, D, r0, r1, &S, &xd));
  else
    PetscCall(TnReadSamplesCSV(data->comm, data->file, D, r0, r1, &S, &xd));
  PetscCheck(!data->label || data->Slab == S, data->comm, PETSC_ERR_USER, "-data_labels %s has %" PetscInt_FMT " labels but -data_file %s has %" PetscInt_FMT " samples: give one label per sample, in the same order", data->labels, data->Slab, data->file, S);
  data->S = S;
  PetscCall(PetscMalloc1((size_t)n * (size_t)S + 1, &data->x));
  PetscCall(PetscArraycpy(data->x, xd, (size_t)(r1 - r0) * (size_t)S));
  PetscCall(PetscFree(xd));
  for (PetscInt i = PetscMax(data->rstart, D); i < data->rend; i++)
    for (PetscInt s = 0; s < S; s++) data->x[(size_t)(i - data->rstart) * S + s] = data->label && data->label[s] == i - D ? 1.0 : 0.0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataSetClassSelect(TnData data, PetscInt c)
{
  PetscFunctionBeginUser;
  data->sel     = c < 0 ? -1 : c;
  data->C_ready = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataGetClassSelect(TnData data, PetscInt *c, PetscInt *C, PetscReal *prior)
{
  PetscFunctionBeginUser;
  PetscCall(TnDataLabelsSetUp_Private(data));
  *c = data->sel;
  if (C) *C = data->sel >= 0 ? data->selC : 0;
  if (prior) *prior = data->sel >= 0 ? data->selprior : 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Compacts the samples (and labels) to those of class sel, in order. */
PetscErrorCode TnDataLabelsSelect_Private(TnData data)
{
  PetscInt n = data->rend - data->rstart, k = 0;
  PetscFunctionBeginUser;
  PetscCheck(data->Slab == data->S, data->comm, PETSC_ERR_USER, "-data_labels %s has %" PetscInt_FMT " labels but -data_file %s has %" PetscInt_FMT " samples: give one label per sample, in the same order", data->labels, data->Slab, data->file, data->S);
  for (PetscInt s = 0; s < data->S; s++) {
    if (data->label[s] != data->sel) continue;
    for (PetscInt i = 0; i < n; i++) data->x[(size_t)i * data->S + k] = data->x[(size_t)i * data->S + s]; /* k <= s: within row i */
    data->label[k++] = data->sel;
  }
  for (PetscInt i = 0; i < n; i++) /* rows of length S -> rows of length k (k <= S: front to back is safe) */
    for (PetscInt s = 0; s < k; s++) data->x[(size_t)i * k + s] = data->x[(size_t)i * data->S + s];
  data->S    = k;
  data->Slab = k;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode TnDataLabelsCheck_Private(TnData data)
{
  PetscInt *cnt;
  PetscFunctionBeginUser;
  PetscCall(PetscFree(data->prior));
  if (!data->label || data->sel >= 0) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscCalloc1(data->C, &cnt));
  for (PetscInt t = 0; t < data->Strain; t++) cnt[data->label[data->idx[t]]]++;
  for (PetscInt c = 0; c < data->C && !data->C_model; c++) {
    PetscInt nc = cnt[c];
    if (!nc) PetscCall(PetscFree(cnt));
    PetscCheck(nc > 0, data->comm, PETSC_ERR_USER, "-data_labels %s: class %" PetscInt_FMT " has no training sample (%" PetscInt_FMT " classes 0 .. %" PetscInt_FMT "%s%s): every class needs one to have a density; renumber the labels 0 .. C - 1 without gaps%s", data->labels, c, data->C, data->C - 1, data->Svalid ? ", " : "", data->Svalid ? "after the validation split" : "", data->Svalid ? " or lower -data_valid_fraction" : "");
  }
  PetscCall(PetscMalloc1(data->C, &data->prior));
  for (PetscInt c = 0; c < data->C; c++) data->prior[c] = (PetscReal)cnt[c] / data->Strain;
  PetscCall(PetscFree(cnt));
  PetscFunctionReturn(PETSC_SUCCESS);
}
