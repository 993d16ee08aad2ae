/*
 * The WebSocket handshake's SHA-1 (RFC 6455 section 4.2.2) comes from
 * OpenSSL's libcrypto, so no hash is written by hand here.
 */
#include <openssl/evp.h>

#include "digest.h"

int rg_sha1(const void *data, size_t len, uint8_t out[20])
{
	unsigned int out_len = 0;

	if (!EVP_Digest(data, len, out, &out_len, EVP_sha1(), NULL) || out_len != 20)
		return -1;
	return 0;
}
