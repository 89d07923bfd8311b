#pragma once
#include <cblas.h>


/// LAPACK's Cholesky solve of A·X = B for symmetric positive definite A (OpenBLAS ships
/// LAPACK; Debian installs no LAPACK header beside cblas.h). Column-major, 32-bit integers.
void dposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *lda, double *b, const int *ldb,
            int *info);

/// LAPACK's LU solve of A·X = B with partial pivoting (column-major, 32-bit integers).
void dgesv_(const int *n, const int *nrhs, double *a, const int *lda, int *ipiv, double *b, const int *ldb, int *info);
