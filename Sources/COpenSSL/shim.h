#ifndef H5PIPE_COPENSSL_SHIM_H
#define H5PIPE_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/sha.h>
#endif
