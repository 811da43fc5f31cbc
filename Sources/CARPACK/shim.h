#ifndef H5PIPE_CARPACK_SHIM_H
#define H5PIPE_CARPACK_SHIM_H
/* The two routines h5pipe uses from ARPACK-NG's ISO C interface (Debian's libarpack2-dev),
   declared here rather than through arpack.h, whose complex routines Swift does not import. */
void dsaupd_c(int *ido, char const *bmat, int n, char const *which, int nev, double tol, double *resid, int ncv,
              double *v, int ldv, int *iparam, int *ipntr, double *workd, double *workl, int lworkl, int *info);
void dseupd_c(int rvec, char const *howmny, int const *select, double *d, double *z, int ldz, double sigma,
              char const *bmat, int n, char const *which, int nev, double tol, double *resid, int ncv, double *v,
              int ldv, int *iparam, int *ipntr, double *workd, double *workl, int lworkl, int *info);
#endif
