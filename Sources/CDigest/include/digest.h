/*
 * Digests for the WebSocket codec, from OpenSSL's libcrypto. A module of its
 * own so the sans-IO codec needs libcrypto, not the io_uring core.
 */
#ifndef RG_DIGEST_H
#define RG_DIGEST_H

#include <stddef.h>
#include <stdint.h>

/*
 * SHA-1 of `len` bytes at `data` into `out` (RFC 6455 section 4.2.2 needs it).
 * Returns 0, or -1 when libcrypto fails.
 */
int rg_sha1(const void *data, size_t len, uint8_t out[20]);

#endif
