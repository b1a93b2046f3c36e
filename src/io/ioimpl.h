/* io/ioimpl.h - helpers shared by the readers and writers of src/io (private).
   Convention: a reader keeps everything it allocates in one context struct
   with a destroy function; TnIoSync frees it on every rank before raising a
   collective error, so a bad file neither hangs, crashes nor leaks. */
#pragma once
#include <tenor/io.h>
#include <tenor/sys.h>
#include <stdio.h>
#include <stdint.h>

#define TN_IO_MSG 1024

/* A text file read line by line on one rank (getline: any line length). */
typedef struct {
  const char *path;
  FILE       *f;
  char       *line; /* the current line, without its end-of-line characters */
  size_t      cap;
  long        lineno;         /* 1-based number of the current line */
  long long   size;           /* bytes in the file (a regular file: TnIoOpen refuses others) */
  char        msg[TN_IO_MSG]; /* the first error; non-empty means failed */
} TnIoFile;

/* Opens path for reading; on failure sets r->msg (naming the path and the
   reason) and returns PETSC_FALSE. Only regular files are read: a directory,
   a FIFO or a device (/dev/zero) is refused at once, without reading, since a
   FIFO may block and a device may never end. Sets r->size. */
PetscBool TnIoOpen(TnIoFile *r, const char path[]);
/* Next line into r->line; PETSC_FALSE at end of file or on a read error or a
   NUL byte (binary file), the latter two setting r->msg. A UTF-8 byte-order
   mark at the start of line 1 (Excel, Notepad) is removed. */
PetscBool TnIoNext(TnIoFile *r);
/* Next line that is neither blank nor starts (after blanks) with a character
   of `comments`; PETSC_FALSE at end of file or on error. */
PetscBool TnIoNextData(TnIoFile *r, const char comments[]);
/* Closes the file and frees the line buffer (r->msg is kept). */
void TnIoClose(TnIoFile *r);
/* Sets r->msg (if still empty) to "path, line L: " followed by the message. */
void TnIoFail(TnIoFile *r, const char fmt[], ...) PETSC_ATTRIBUTE_FORMAT(2, 3);

/* Number parsing: *p is advanced past leading blanks and the number. Succeeds
   only if the number is followed by a blank, the end of the string or one of
   `stops` (may be NULL). Integers reject "1.5" and overflow. */
PetscBool TnIoParseInt(const char **p, const char stops[], long long *v);
PetscBool TnIoParseReal(const char **p, const char stops[], double *v);
/* Rank 0: the most items of at least minbytes bytes of text each that the
   rest of the file after the current line can hold. A count declared in the
   file is capped by it before it sizes anything: a size line promising more
   is then found truncated by reading, which the file's size bounds. */
long long TnIoMaxCount(TnIoFile *r, int minbytes);
/* PETSC_TRUE if only blanks remain in s. */
PetscBool TnIoBlank(const char *s);
/* Copies the first few characters of s (up to a newline) into out, for messages. */
void TnIoQuote(const char *s, char out[64]);

/* Collective. If msg is non-empty on some rank: every rank calls
   destroy(ctx) (when given), then every rank raises PETSC_ERR_USER with the
   message of the lowest such rank (TnErrorSync). */
PetscErrorCode TnIoSync(MPI_Comm comm, const char msg[], PetscErrorCode (*destroy)(void *), void *ctx);

/* The rank owning global index i under ranges[0..size] (PetscLayout ranges,
   empty ranks allowed). */
PetscMPIInt TnIoOwner(const PetscInt ranges[], PetscMPIInt size, PetscInt i);

/* Collective. Gathers every rank's [rstart, rend) to rank 0 (arrays of size
   entries there, PetscMalloc'd; NULL elsewhere) and checks them:
   0 <= rstart <= rend <= N, else a collective error naming the rank. */
PetscErrorCode TnIoGatherRanges(MPI_Comm comm, const char who[], PetscInt N, PetscInt rstart, PetscInt rend, PetscInt **rs, PetscInt **re);

/* A column of values made on rank 0 in global order (0, 1, ...), block by
   block, and scattered as it is made: rank r receives the values of its
   range [rs[r], re[r]) (disjoint ranges, TnIoGatherRanges) into its own
   array, so rank 0 holds one block at a time, never the whole column.
   Every rank calls TnIoScatterBlock in a loop until it returns *n = 0:
   rank 0 passes the block's length (0: no more, at the end or on an error),
   the others learn it. Shared by the readers of columns (vector.c) and node
   lists (nodelist.c). */
typedef struct {
  MPI_Comm        comm;
  PetscMPIInt     rank, size;
  const PetscInt *rs, *re;         /* rank 0: every rank's range (not owned) */
  PetscInt        rstart, rend;    /* this rank's range */
  PetscInt        off;             /* global index of the next block's first value */
  PetscMPIInt    *counts, *displs; /* rank 0 */
} TnIoScatter;
PetscErrorCode TnIoScatterCreate(MPI_Comm comm, PetscInt rstart, PetscInt rend, const PetscInt rs[], const PetscInt re[], TnIoScatter *s);
/* block: rank 0's values off .. off + *n - 1 of type `type`; mine: this
   rank's array for [rstart, rend). */
PetscErrorCode TnIoScatterBlock(TnIoScatter *s, PetscInt *n, const void *block, MPI_Datatype type, void *mine);
PetscErrorCode TnIoScatterDestroy(TnIoScatter *s);

/* Checks the MatrixMarket banner in r->line ("%%MatrixMarket matrix FORMAT
   FIELD SYMMETRY", case-insensitive). coordinate: the format must be
   coordinate and pattern/symmetric are allowed (flags returned); otherwise the
   format must be array, real/integer/double general only. Sets r->msg on error. */
void TnIoMMBanner(TnIoFile *r, PetscBool coordinate, PetscBool *pattern, PetscBool *symmetric);

/* How many entries (MatrixMarket) or values (CSV) rank 0 parses before
   scattering them: def, unless the option -tn_io_chunk says otherwise (tests
   use it to exercise the chunking on small files). A value outside
   1 .. TN_IO_CHUNK_MAX or not an integer is a collective error naming the
   option. Collective on comm. */
PetscErrorCode TnIoChunkSize(MPI_Comm comm, PetscInt def, PetscInt *chunk);

/* Rank 0 only, before a collective HDF5 open: path exists, is an HDF5 file,
   opens with serial HDF5, and every contiguous unfiltered dataset of its
   root group (dataset = NULL) or the one dataset named stores all the
   values it declares inside the file. Sets msg (naming path, and option
   when given) on failure. */
void TnH5Precheck(const char path[], const char option[], const char dataset[], char msg[], size_t len);
