#ifndef H5PIPE_CZLIB_SHIM_H
#define H5PIPE_CZLIB_SHIM_H
#include <zlib.h>

// inflateInit2 / deflateInit2 are function-like macros; Swift cannot import them.
static inline int h5pipe_inflateInit2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}
static inline int h5pipe_deflateInit2(z_streamp stream, int level, int method, int windowBits,
                                      int memLevel, int strategy) {
    return deflateInit2(stream, level, method, windowBits, memLevel, strategy);
}
#endif
