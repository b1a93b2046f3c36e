/* tenor/data.h - samples x to evaluate: a built-in generator of standard
   normal samples, or a CSV / HDF5 file (one sample per row, N columns).
   Samples are held in natural node order, each rank its default-split block
   of nodes for all S samples. */
#pragma once
#include <tenor/sys.h>
#include <petscvec.h>

typedef struct _p_TnData *TnData;

#define TNDATA_NORMAL "normal"
#define TNDATA_CSV "csv"
#define TNDATA_HDF5 "hdf5"

PetscErrorCode TnDataCreate(MPI_Comm comm, TnData *data);
PetscErrorCode TnDataSetType(TnData data, const char type[]);
PetscErrorCode TnDataSetFile(TnData data, const char path[], const char dataset[]);
/* Number of samples and seed of the built-in generator. */
PetscErrorCode TnDataSetSamples(TnData data, PetscInt S, PetscInt seed);
/* Options -data_type, -data_file, -data_dataset, -data_samples, -data_seed. */
PetscErrorCode TnDataSetFromOptions(TnData data);
/* Loads (or generates) the samples for a network of N nodes. Collective. */
PetscErrorCode TnDataLoad(TnData data, PetscInt N);
PetscErrorCode TnDataGetNumSamples(TnData data, PetscInt *S);
/* Fills xnat (natural order, default split, block size B) with samples
   s0 .. s0+B-1; slots past the last sample are zero and *valid tells how many
   are real. Local (no communication). */
PetscErrorCode TnDataGetBatch(TnData data, PetscInt s0, Vec xnat, PetscInt *valid);
PetscErrorCode TnDataDescribe(TnData data, char buf[], size_t len);
PetscErrorCode TnDataDestroy(TnData *data);
