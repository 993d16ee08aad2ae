/*
 * TLS contexts: certificates and keys, versions, ciphers, ALPN and SNI,
 * loaded once into OpenSSL SSL_CTXs that every worker shares (SSL_CTX is
 * safe to use from several threads once configured).
 *
 * Resumption is stateless: session tickets only, with the server-side
 * session cache off, so a reconnect storm costs no shared lock or memory per
 * session. A reload copies the ticket keys of the context it replaces.
 */
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tls.h"

/* Forward secrecy and AEAD only, for TLS 1.2 clients. */
static const char default_ciphers[] =
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

static const unsigned char alpn_http11[] = { 8, 'h', 't', 't', 'p', '/', '1', '.', '1' };

const char *rg_internal_tls_reason(char *buf, size_t len, const char *fallback)
{
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "%s", fallback);
	ERR_clear_error();
	return buf;
}

/* Picks http/1.1 when the client offers it; otherwise goes on without ALPN (RFC 7301 allows both). */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *out_len, const unsigned char *in,
		       unsigned int in_len, void *arg)
{
	unsigned char *chosen;

	if (SSL_select_next_proto(&chosen, out_len, alpn_http11, sizeof(alpn_http11), in, in_len) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = chosen;
	return SSL_TLSEXT_ERR_OK;
}

static bool name_matches(const char *pattern, const char *name)
{
	if (pattern[0] == '*' && pattern[1] == '.') {
		const char *dot = strchr(name, '.');

		return dot && strcasecmp(dot + 1, pattern + 2) == 0;
	}
	return strcasecmp(pattern, name) == 0;
}

/* Serves the certificate configured for the client's SNI name, if any. */
static int select_certificate(SSL *ssl, int *alert, void *arg)
{
	rg_tls *t = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

	if (!name)
		return SSL_TLSEXT_ERR_OK;
	for (uint32_t i = 0; i < t->sni_count; i++)
		if (name_matches(t->sni_names[i], name)) {
			SSL_set_SSL_CTX(ssl, t->sni_ctxs[i]);
			break;
		}
	return SSL_TLSEXT_ERR_OK;
}

static int load_pair(SSL_CTX *ctx, const char *cert, const char *key, char *err, size_t err_len)
{
	char why[256];

	if (!cert || !key)
		return snprintf(err, err_len, "TLS needs both a certificate chain and a private key"), -EINVAL;
	for (int i = 0; i < 2; i++) {
		const char *file = i ? key : cert;

		if (access(file, R_OK) != 0) {
			int code = errno;

			return snprintf(err, err_len, "cannot read TLS %s file '%s': %s", i ? "key" : "certificate",
					file, strerror(code)), -code;
		}
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		return snprintf(err, err_len, "'%s' holds no usable PEM certificate chain (%s)", cert,
				rg_internal_tls_reason(why, sizeof(why), "unknown error")), -EINVAL;
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		bool mismatch = ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH;

		rg_internal_tls_reason(why, sizeof(why), "unknown error");
		if (mismatch)
			return snprintf(err, err_len, "private key '%s' does not match certificate '%s'", key, cert),
			       -EINVAL;
		return snprintf(err, err_len, "'%s' holds no usable PEM private key (%s)", key, why), -EINVAL;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		return snprintf(err, err_len, "private key '%s' does not match certificate '%s'", key, cert), -EINVAL;
	}
	return 0;
}

static SSL_CTX *new_ctx(const rg_tls_config *cfg, const char *cert, const char *key, char *err, size_t err_len)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char why[256];
	int min = cfg->min_version ? cfg->min_version : TLS1_2_VERSION;

	if (!ctx) {
		snprintf(err, err_len, "cannot create a TLS context: %s",
			 rg_internal_tls_reason(why, sizeof(why), "out of memory"));
		return NULL;
	}
	if (min != TLS1_2_VERSION && min != TLS1_3_VERSION) {
		snprintf(err, err_len, "TLS minimum version must be 1.2 or 1.3");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(ctx, min);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	/* An idle connection keeps no record buffers: they are allocated per read or write. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"ringgate", 8);
	SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
	if (SSL_CTX_set_cipher_list(ctx, cfg->ciphers ? cfg->ciphers : default_ciphers) != 1) {
		ERR_clear_error();
		snprintf(err, err_len, "no usable TLS 1.2 cipher in '%s'", cfg->ciphers ? cfg->ciphers : default_ciphers);
		goto fail;
	}
	if (cfg->ciphersuites && SSL_CTX_set_ciphersuites(ctx, cfg->ciphersuites) != 1) {
		ERR_clear_error();
		snprintf(err, err_len, "no usable TLS 1.3 cipher suite in '%s'", cfg->ciphersuites);
		goto fail;
	}
	if (load_pair(ctx, cert, key, err, err_len))
		goto fail;
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

void rg_tls_release(rg_tls *t)
{
	if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	for (uint32_t i = 0; i < t->sni_count; i++) {
		SSL_CTX_free(t->sni_ctxs[i]);
		free(t->sni_names[i]);
	}
	free(t->sni_ctxs);
	free(t->sni_names);
	SSL_CTX_free(t->ctx);
	free(t);
}

int rg_tls_create(const rg_tls_config *cfg, const rg_tls *previous, rg_tls **out, char *err, size_t err_len)
{
	rg_tls *t = calloc(1, sizeof(*t));
	unsigned char keys[80];

	if (!t)
		return snprintf(err, err_len, "out of memory"), -ENOMEM;
	atomic_init(&t->refs, 1);
	t->ctx = new_ctx(cfg, cfg->cert_file, cfg->key_file, err, err_len);
	if (!t->ctx)
		goto fail;
	SSL_CTX_set_tlsext_servername_callback(t->ctx, select_certificate);
	SSL_CTX_set_tlsext_servername_arg(t->ctx, t);
	if (previous && SSL_CTX_get_tlsext_ticket_keys(previous->ctx, keys, sizeof(keys)) == 1)
		SSL_CTX_set_tlsext_ticket_keys(t->ctx, keys, sizeof(keys));
	t->sni_names = calloc(cfg->sni_count + 1, sizeof(char *));
	t->sni_ctxs = calloc(cfg->sni_count + 1, sizeof(SSL_CTX *));
	if (!t->sni_names || !t->sni_ctxs) {
		snprintf(err, err_len, "out of memory");
		goto fail;
	}
	for (uint32_t i = 0; i < cfg->sni_count; i++) {
		const rg_tls_sni *s = &cfg->sni[i];

		if (!s->name || !s->name[0]) {
			snprintf(err, err_len, "an SNI certificate needs a server name");
			goto fail;
		}
		t->sni_ctxs[i] = new_ctx(cfg, s->cert_file, s->key_file, err, err_len);
		if (!t->sni_ctxs[i])
			goto fail;
		t->sni_names[i] = strdup(s->name);
		t->sni_count = i + 1;
		if (!t->sni_names[i]) {
			snprintf(err, err_len, "out of memory");
			goto fail;
		}
	}
	*out = t;
	return 0;
fail:
	rg_tls_release(t);
	return -EINVAL;
}
