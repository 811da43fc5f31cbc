#ifndef H5PIPE_CCAIRO_SHIM_H
#define H5PIPE_CCAIRO_SHIM_H
#include <cairo.h>
#include <cairo-svg.h>
#include <cairo-pdf.h>
#endif
