/*
 * ringcore.h: everything Swift sees of the C core.
 */
#ifndef RINGCORE_H
#define RINGCORE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/*
 * SHA-1 of `len` bytes at `data` into `out`, via OpenSSL's libcrypto.
 * Returns 0, or -EINVAL when libcrypto fails.
 */
int rg_sha1(const void *data, size_t len, uint8_t out[20]);

#endif
