/*
 * TLS internals shared by tls_ctx.c (contexts) and tls.c (connections).
 * Only the core includes OpenSSL's headers.
 */
#ifndef RG_TLS_H
#define RG_TLS_H

#include <openssl/ssl.h>
#include <stdatomic.h>

#include "internal.h"

/*
 * A loaded configuration. Reference counted: the engine, each worker and
 * each TLS connection hold one, so a reload swaps in a fresh context while
 * connections made with the old one finish with it (the SNI callback reads
 * `sni_*` during their handshake).
 */
struct rg_tls {
	atomic_uint refs;
	SSL_CTX *ctx;		/* default certificate; its ticket keys serve every name */
	uint32_t sni_count;
	char **sni_names;
	SSL_CTX **sni_ctxs;
};

static inline rg_tls *rg_internal_tls_retain(rg_tls *t)
{
	atomic_fetch_add(&t->refs, 1);
	return t;
}

/* The first queued OpenSSL error as text (or `fallback`); empties the error queue. */
const char *rg_internal_tls_reason(char *buf, size_t len, const char *fallback);

#endif
