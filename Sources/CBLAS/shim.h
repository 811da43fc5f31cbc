#ifndef H5PIPE_CBLAS_SHIM_H
#define H5PIPE_CBLAS_SHIM_H
#include <stddef.h>
#include <cblas.h>

/* LAPACK routines from OpenBLAS (Debian's libopenblas-dev ships them in libopenblas but no
   header): Fortran calling convention, every argument by address, and the hidden lengths of
   character arguments last (gfortran ABI). */
void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a, const int *lda,
             const double *vl, const double *vu, const int *il, const int *iu, const double *abstol, int *m,
             double *w, double *z, const int *ldz, int *isuppz, double *work, const int *lwork, int *iwork,
             const int *liwork, int *info, size_t jobz_length, size_t range_length, size_t uplo_length);
void ssyevr_(const char *jobz, const char *range, const char *uplo, const int *n, float *a, const int *lda,
             const float *vl, const float *vu, const int *il, const int *iu, const float *abstol, int *m, float *w,
             float *z, const int *ldz, int *isuppz, float *work, const int *lwork, int *iwork, const int *liwork,
             int *info, size_t jobz_length, size_t range_length, size_t uplo_length);
void sgeqrf_(const int *m, const int *n, float *a, const int *lda, float *tau, float *work, const int *lwork,
             int *info);
void sorgqr_(const int *m, const int *n, const int *k, float *a, const int *lda, const float *tau, float *work,
             const int *lwork, int *info);
#endif
