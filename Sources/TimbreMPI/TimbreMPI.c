#include "TimbreMPI.h"
#include <limits.h>
#include <mpi.h>
#include <string.h>

int timbre_mpi_start(void) {
    int started = 0;
    MPI_Initialized(&started);
    return started ? MPI_SUCCESS : MPI_Init(NULL, NULL);
}

int timbre_mpi_rank(void) {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
}

int timbre_mpi_size(void) {
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return size;
}

/* MPI counts are ints: long buffers go in pieces. */
static int sum_in_place(void *values, long count, MPI_Datatype type, size_t size) {
    char *start = values;
    while (count > 0) {
        int piece = count > INT_MAX ? INT_MAX : (int)count;
        int error = MPI_Allreduce(MPI_IN_PLACE, start, piece, type, MPI_SUM, MPI_COMM_WORLD);
        if (error != MPI_SUCCESS) return error;
        start += (size_t)piece * size;
        count -= piece;
    }
    return MPI_SUCCESS;
}

int timbre_mpi_sum_floats(float *values, long count) { return sum_in_place(values, count, MPI_FLOAT, sizeof(float)); }

int timbre_mpi_sum_doubles(double *values, long count) { return sum_in_place(values, count, MPI_DOUBLE, sizeof(double)); }

int timbre_mpi_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }

void timbre_mpi_finish(void) {
    int started = 0, finished = 0;
    MPI_Initialized(&started);
    MPI_Finalized(&finished);
    if (started && !finished) MPI_Finalize();
}

void timbre_mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

void timbre_mpi_library_version(char *buffer, int capacity) {
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(version, &length);
    if (capacity <= 0) return;
    strncpy(buffer, version, (size_t)capacity - 1);
    buffer[capacity - 1] = 0;
    char *newline = strchr(buffer, '\n');
    if (newline) *newline = 0;
}
