/* tenor/io.h - reading and writing the files users already have.
   Every reader is collective: rank 0 parses (or every rank reads its own
   hyperslab, for HDF5), and a malformed file is reported once, on rank 0, as
   a PETSC_ERR_USER/PETSC_ERR_FILE_* error on the communicator, naming the
   file, the line and what was expected. The text readers read regular files
   only: a directory, a FIFO or a device (/dev/zero) is refused at once. No rank is left waiting. */
#pragma once
#include <petscmat.h>

/* The largest magnitude a sample value may have: its square, which every
   log-density contains, stays finite (1e150^2 = 1e300 < DBL_MAX). Larger
   values are refused by every sample reader as if they were not finite. */
#define TN_SAMPLE_MAX 1e150

/* The largest -tn_io_chunk (values a reader parses on rank 0 per block):
   room for a symmetric MatrixMarket block's mirrored entries in PetscInt. */
#define TN_IO_CHUNK_MAX (PETSC_MAX_INT / 4)

/* W from a MatrixMarket coordinate file ("%%MatrixMarket matrix coordinate
   real|integer|pattern general|symmetric"; scipy.io.mmwrite output loads).
   Row = postsynaptic i, column = presynaptic j, 1-based in the file. Returns
   an MPIAIJ matrix (type MATMPIAIJ at every rank count, square, N x N) with
   PETSc's default row split (natural node order). `pattern` entries get the
   value 1; `symmetric` files store one triangle, mirrored here. Comment lines
   ('%') and blank lines are skipped. Entries repeating a (row, column) pair
   (for symmetric files: also an entry and its mirror) are summed, as scipy
   does, and one line on rank 0 says how many. Errors: missing/garbled banner,
   complex field, non-square size, fewer entries than declared (truncated),
   more entries than declared, index out of range, NaN/Inf (also as a sum of
   duplicates), a path that is not a regular file, a declared entry count the
   file's size cannot hold, a declared size whose reading needs more memory
   than the node has (TnCheckMemory), before anything is allocated for it.
   Rank 0 holds at most a chunk of entries at a time. Collective. */
PetscErrorCode TnReadMatrixMarket(MPI_Comm comm, const char path[], Mat *W);

/* Writes W (any parallel AIJ) as MatrixMarket coordinate real general, 1-based,
   %.17g. Collective; rank 0 writes, atomically (TnCommitOpen below). */
PetscErrorCode TnWriteMatrixMarket(Mat W, const char path[]);

/* A vector of N values from a MatrixMarket array file ("%%MatrixMarket matrix
   array real general", N x 1 or 1 x N) or plain text (one value per line;
   blank lines and lines starting with '#' or '%' skipped). N > 0: the file must
   hold exactly N values (else an error naming both counts); N <= 0: the size
   is the count found (at least one; the file is then read twice). NaN/Inf is
   an error. Rank 0 parses the file in blocks (-tn_io_chunk values, 2^20 by
   default, 1 .. TN_IO_CHUNK_MAX) and scatters each block as it goes, so it holds one block, not
   the N values; TnReadIntegers the same. Returns a Vec with
   PETSc's default layout. Collective. */
PetscErrorCode TnReadVector(MPI_Comm comm, const char path[], PetscInt N, Vec *v);

/* A list of node numbers (a clamp file): one entry per line, a 0-based node
   number k or an inclusive range a-b (a <= b: the nodes a .. b); blank lines
   and lines starting with '#' or '%' skipped. A value that is neither, a
   negative one, a reversed range, an end outside 0 .. N-1, a node listed
   twice (by any two lines, named), an empty file: one collective error
   starting with `opt` (the option naming the file). Returns the sorted
   node numbers, an even share on every rank. Collective. */
PetscErrorCode TnReadNodeList(MPI_Comm comm, const char path[], const char opt[], PetscInt N, IS *is);

/* N non-negative integers below PETSC_MAX_INT, one per line (a colouring file; blank lines and
   lines starting with '#' or '%' skipped). Returns out[i - rstart] for global
   rows rstart..rend-1 (any 0 <= rstart <= rend <= N, usually this rank's part
   of the default layout) in a PetscMalloc'd array. Collective. */
PetscErrorCode TnReadIntegers(MPI_Comm comm, const char path[], PetscInt N, PetscInt rstart, PetscInt rend, PetscInt **out);

/* Samples from CSV: one sample per row, N comma-separated values; an optional
   first header row is skipped, as are blank lines and lines starting with '#'
   (numpy.savetxt headers) and a UTF-8 byte-order mark. The first row is the
   header if none of its fields is a number (names), or if it reads exactly
   0,1,...,N-1 with N >= 2 (pandas' default column names); it must have N
   fields too. A first row with some numeric and some other fields is an
   error naming the line and the field; any other first row is a sample. N is the number of nodes (the row length must
   equal it; else an error naming the row). Returns S, the number of samples, and this rank's columns
   [rstart, rend) of every sample in x (PetscMalloc'd), interleaved sample-fastest:
   x[(i - rstart) * S + s]. Errors: no rows, ragged row, non-number, NaN/Inf,
   not a regular file, more samples than the node's memory holds (checked
   with TnCheckMemory each time the buffer grows). Collective. */
PetscErrorCode TnReadSamplesCSV(MPI_Comm comm, const char path[], PetscInt N, PetscInt rstart, PetscInt rend, PetscInt *S, PetscScalar **x);

/* The same from a 2-D HDF5 dataset (samples x N, any float or integer type; read with
   parallel HDF5, each rank its own column block). dataset is the path inside
   the file (e.g. "/x"). Errors: missing file/dataset, rank != 2, second
   dimension != N, NaN/Inf. Collective. */
PetscErrorCode TnReadSamplesHDF5(MPI_Comm comm, const char path[], const char dataset[], PetscInt N, PetscInt rstart, PetscInt rend, PetscInt *S, PetscScalar **x);

/* Class labels, one non-negative integer per sample: from a text or CSV
   file (one integer per row; blank lines and lines starting with '#'
   skipped; a first row that is not a number is a header) or, for a path
   ending in .h5 or .hdf5, from the integer HDF5 dataset `dataset` (NULL or
   "": "/label"; 1-D or samples x 1). Errors, one message on rank 0 naming
   the file and the row: a value that is not an integer (2.5, text), a
   negative label, more than one column, a float dataset, no labels.
   Returns S and the labels, replicated on every rank (PetscMalloc'd).
   Collective. */
PetscErrorCode TnReadLabels(MPI_Comm comm, const char path[], const char dataset[], PetscInt *S, PetscInt **labels);

/* Writes a distributed vector (default layout, natural order) to path as one
   value per line (%.17g), after an optional header line. Collective; rank 0
   writes, receiving the others' parts in turn (memory on rank 0: one part),
   atomically (TnCommitOpen below). */
PetscErrorCode TnWriteVecText(Vec v, const char header[], const char path[]);
/* The same as CSV rows "i,v_i" (0-based global index i), after the header. */
PetscErrorCode TnWriteVecTable(Vec v, const char header[], const char path[]);

/* Atomic output. Every file tenor writes appears under its name complete or
   not at all: it is written to the temporary path.tmp (same directory, so the
   rename cannot cross file systems), fsync'ed, renamed over path by rank 0,
   and the directory is fsync'ed (best effort: some file systems refuse a
   directory fsync; the rename stands). A write that fails leaves a previous
   file at path untouched and removes the temporary.

   Symbolic links are never written through. A symbolic link at path, or
   anything there that is not a regular file (a directory, a device), is
   refused with an error naming it: the link and its target stay as they
   were. A temporary path.tmp that is a regular file is a leftover of a run
   that stopped mid-write and is removed; one that is a symbolic link or not
   a regular file is refused the same way. The temporary is then created by
   rank 0 with O_CREAT | O_EXCL | O_NOFOLLOW (mode 0666 less the umask), so a
   link appearing meanwhile makes the open fail rather than be followed.

   Every failure (refusal, open, write, fsync, rename) is collective: every
   rank of comm raises the same PETSC_ERR_USER error, printed once, naming the
   file and the reason (strerror), and no rank waits. A writer that stops on
   an error of its own between the two calls leaves path.tmp behind; the next
   write of path removes it. Only the last component of path is checked:
   directories on the way may be symbolic links (an -out_dir on scratch). */

/* Rank 0 writes through stdio. Collective. On return *fp is the open
   temporary on rank 0 and NULL on the other ranks. */
PetscErrorCode TnCommitOpen(MPI_Comm comm, const char path[], FILE **fp);
/* Collective. Rank 0 checks the stream for write errors, flushes, fsyncs and
   closes it, then renames it over path; *fp is NULL on return, also after an
   error. ok = PETSC_FALSE on any rank (the caller's own verdict, e.g. data
   that could not be gathered) discards the temporary: an error on every
   rank, path untouched. */
PetscErrorCode TnCommitClose(MPI_Comm comm, const char path[], FILE **fp, PetscBool ok);

/* Every rank writes (parallel HDF5, MPI-IO). Collective. Checks path and
   creates the empty temporary as above, then returns its name in tmp
   (len bytes; PETSC_MAX_PATH_LEN + 8 always suffices) on every rank: open
   tmp collectively for writing (truncation is fine) and write it. */
PetscErrorCode TnCommitBegin(MPI_Comm comm, const char path[], char tmp[], size_t len);
/* Collective; call it after every rank has closed tmp (H5Fclose,
   MPI_File_close), with ok = PETSC_FALSE on a rank whose write or close
   failed. If every rank says ok, rank 0 fsyncs tmp, renames it over path and
   fsyncs the directory; otherwise tmp is removed and every rank raises the
   error. Rank 0's fsync covers what reached its node; a writer that needs
   every node's caches on disk syncs before closing (MPI_File_sync). */
PetscErrorCode TnCommitEnd(MPI_Comm comm, const char tmp[], const char path[], PetscBool ok);

/* Collective. Refuses, before anything is written, a file of about `bytes`
   that its file system has no room for (statvfs on rank 0): one error
   naming path and both sizes. Parallel HDF5 cannot fail a write on some
   ranks cleanly (its collective calls then wait for the failed rank), so
   its writers ask first. */
PetscErrorCode TnCommitCheckSpace(MPI_Comm comm, const char path[], double bytes);

/* tenor's own HDF5 files (model and checkpoint) through PetscViewerHDF5.
   TnH5OpenRead: collective open for reading after rank 0 has checked the
   file with serial HDF5 (it exists, is HDF5, opens, and every contiguous
   dataset stores all the values it declares inside the file), one verdict
   for all ranks; option (may be NULL) names the option that gave path.
   Attributes of the root group: reals are stored as doubles, integers
   (TnH5PutInt) as 64-bit integers; TnH5GetInt also reads an integer stored
   as a double by older files. The getters are collective and name the file (path)
   and the attribute when it is missing, not a single element of the right
   class (number or string), not finite, not a number in [lo, hi]
   (TnH5GetRealIn; TnH5GetReal: any finite number), not an integer in
   [lo, hi] (TnH5GetInt), or not one of list (TnH5GetChoice).
   TnH5CheckLength: the dataset `name` is numeric and holds exactly n values
   in one dimension (call it before allocating n values).
   TnH5CheckValues: every entry of a loaded vector is finite and in
   [lo, hi]; else the first bad entry is named. All collective. */
PetscErrorCode TnH5OpenRead(MPI_Comm comm, const char path[], const char option[], PetscViewer *vw);
PetscErrorCode TnH5PutReal(PetscViewer vw, const char name[], PetscReal v);
PetscErrorCode TnH5PutInt(PetscViewer vw, const char name[], PetscInt64 v);
PetscErrorCode TnH5PutStr(PetscViewer vw, const char name[], const char v[]);
PetscErrorCode TnH5HasAttr(PetscViewer vw, const char name[], PetscBool *has);
PetscErrorCode TnH5GetReal(PetscViewer vw, const char path[], const char name[], PetscReal *v);
PetscErrorCode TnH5GetRealIn(PetscViewer vw, const char path[], const char name[], PetscReal lo, PetscReal hi, PetscReal *v);
PetscErrorCode TnH5GetInt(PetscViewer vw, const char path[], const char name[], PetscInt64 lo, PetscInt64 hi, PetscInt64 *v);
PetscErrorCode TnH5GetStr(PetscViewer vw, const char path[], const char name[], char out[], size_t len);
PetscErrorCode TnH5GetChoice(PetscViewer vw, const char path[], const char name[], const char *const list[], PetscInt n, PetscInt *idx);
PetscErrorCode TnH5CheckLength(PetscViewer vw, const char path[], const char name[], PetscInt64 n);
PetscErrorCode TnH5CheckValues(Vec v, const char path[], const char name[], PetscReal lo, PetscReal hi);
