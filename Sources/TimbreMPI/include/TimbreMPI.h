#ifndef TIMBRE_MPI_H
#define TIMBRE_MPI_H

/* The few MPI calls data-parallel training needs, as plain C functions: MPI's handles
   (MPI_COMM_WORLD, MPI_FLOAT, ...) are macros Swift cannot import. Every function
   returns MPI's error code (0 on success) unless it returns a value. */

int timbre_mpi_start(void);
int timbre_mpi_rank(void);
int timbre_mpi_size(void);
/* Sums `count` values across all processes, in place on every process. */
int timbre_mpi_sum_floats(float *values, long count);
int timbre_mpi_sum_doubles(double *values, long count);
int timbre_mpi_barrier(void);
void timbre_mpi_finish(void);
/* Ends every process of the job with `code` (a rank that failed alone must not leave the
   others waiting in a collective call). */
void timbre_mpi_abort(int code);
/* The MPI library's own version line, e.g. "Open MPI v4.1.4, ...". */
void timbre_mpi_library_version(char *buffer, int capacity);

#endif
