#ifndef H5PIPE_CBLAS_SHIM_H
#define H5PIPE_CBLAS_SHIM_H
#include <cblas.h>
#endif
