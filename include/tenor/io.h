/* tenor/io.h - reading and writing the files users already have.
   Every reader is collective: rank 0 parses (or every rank reads its own
   hyperslab, for HDF5), and a malformed file is reported once, on rank 0, as
   a PETSC_ERR_USER/PETSC_ERR_FILE_* error on the communicator, naming the
   file, the line and what was expected. No rank is left waiting. */
#pragma once
#include <petscmat.h>

/* W from a MatrixMarket coordinate file ("%%MatrixMarket matrix coordinate
   real|integer|pattern general|symmetric"; scipy.io.mmwrite output loads).
   Row = postsynaptic i, column = presynaptic j, 1-based in the file. Returns
   an MPIAIJ matrix (type MATMPIAIJ at every rank count, square, N x N) with
   PETSc's default row split (natural node order). `pattern` entries get the
   value 1; `symmetric` files store one triangle, mirrored here. Comment lines
   ('%') and blank lines are skipped. Errors: missing/garbled banner, complex
   field, non-square size, fewer entries than declared (truncated), more
   entries than declared, index out of range, NaN/Inf, duplicate (i,j).
   Rank 0 holds at most a chunk of entries at a time. Collective. */
PetscErrorCode TnReadMatrixMarket(MPI_Comm comm, const char path[], Mat *W);

/* Writes W (any parallel AIJ) as MatrixMarket coordinate real general, 1-based,
   %.17g. Collective; rank 0 writes. */
PetscErrorCode TnWriteMatrixMarket(Mat W, const char path[]);

/* A vector of N values from a MatrixMarket array file ("%%MatrixMarket matrix
   array real general", N x 1 or 1 x N) or plain text (one value per line;
   blank lines and lines starting with '#' or '%' skipped). N > 0: the file must
   hold exactly N values (else an error naming both counts); N <= 0: the size
   is the count found (at least one). NaN/Inf is an error. Returns a Vec with
   PETSc's default layout. Collective. */
PetscErrorCode TnReadVector(MPI_Comm comm, const char path[], PetscInt N, Vec *v);

/* N non-negative integers, one per line (a colouring file; blank lines and
   lines starting with '#' or '%' skipped). Returns out[i - rstart] for global
   rows rstart..rend-1 (any 0 <= rstart <= rend <= N, usually this rank's part
   of the default layout) in a PetscMalloc'd array. Collective. */
PetscErrorCode TnReadIntegers(MPI_Comm comm, const char path[], PetscInt N, PetscInt rstart, PetscInt rend, PetscInt **out);

/* Samples from CSV: one sample per row, N comma-separated values; an optional
   first header row (detected: a field that is not a number; it must have N
   fields too) is skipped, as are blank lines and lines starting with '#'
   (numpy.savetxt headers). N is the number of nodes (the row length must
   equal it; else an error naming the row). Returns S, the number of samples, and this rank's columns
   [rstart, rend) of every sample in x (PetscMalloc'd), interleaved sample-fastest:
   x[(i - rstart) * S + s]. Errors: no rows, ragged row, non-number, NaN/Inf.
   Collective. */
PetscErrorCode TnReadSamplesCSV(MPI_Comm comm, const char path[], PetscInt N, PetscInt rstart, PetscInt rend, PetscInt *S, PetscScalar **x);

/* The same from a 2-D HDF5 dataset (samples x N, any float or integer type; read with
   parallel HDF5, each rank its own column block). dataset is the path inside
   the file (e.g. "/x"). Errors: missing file/dataset, rank != 2, second
   dimension != N, NaN/Inf. Collective. */
PetscErrorCode TnReadSamplesHDF5(MPI_Comm comm, const char path[], const char dataset[], PetscInt N, PetscInt rstart, PetscInt rend, PetscInt *S, PetscScalar **x);

/* Writes a distributed vector (default layout, natural order) to path as one
   value per line (%.17g), after an optional header line. Collective; rank 0
   writes, receiving the others' parts in turn (memory on rank 0: one part). */
PetscErrorCode TnWriteVecText(Vec v, const char header[], const char path[]);
