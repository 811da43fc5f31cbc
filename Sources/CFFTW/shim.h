#ifndef H5PIPE_CFFTW_SHIM_H
#define H5PIPE_CFFTW_SHIM_H
#include <fftw3.h>
#endif
