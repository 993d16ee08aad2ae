/*
 * What one idle wss:// connection keeps in OpenSSL: a server SSL set up as tls_ctx.c does
 * (SSL_MODE_RELEASE_BUFFERS, stateless tickets), a TLS handshake with an OpenSSL client over
 * memory BIOs, one request and answer, then the client freed. Prints the malloc'd bytes still
 * live per server connection (mallinfo2 after malloc_trim) and, with DETAIL=1, the last
 * connection's live OpenSSL allocations by call site (CRYPTO_set_mem_functions).
 *
 *   cc -O1 -o /tmp/tls_ssl_live bench/scenarios/tls_ssl_live.c -lssl -lcrypto
 *   DETAIL=1 /tmp/tls_ssl_live CERT.pem KEY.pem 2000     (TLS12=1: the client stops at TLS 1.2;
 *                                                          NO_RELEASE=1: without RELEASE_BUFFERS)
 *
 * The memory BIOs add about 1.9 KB per connection that the gateway's own BIO does not have.
 */
#include <malloc.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>

#define SLOTS (1u << 20)

struct live {
	void *ptr;
	size_t size;
	const char *file;
	int line;
	int mine;	/* made while the last server connection ran */
};

static struct live *table;
static int tracing;

static size_t slot_of(void *p) { return ((size_t)p >> 4) * 2654435761u % SLOTS; }

static void remember(void *p, size_t n, const char *file, int line)
{
	size_t i = slot_of(p);

	while (table[i].ptr)
		i = (i + 1) % SLOTS;
	table[i] = (struct live){ p, n, file, line, tracing };
}

static void forget(void *p)
{
	for (size_t i = slot_of(p); table[i].ptr || table[i].size; i = (i + 1) % SLOTS) {
		if (table[i].ptr == p) {
			table[i].ptr = NULL;	/* size stays: a tombstone for the probe chain */
			return;
		}
	}
}

static void *on_malloc(size_t n, const char *file, int line)
{
	void *p = malloc(n);

	if (p)
		remember(p, n, file, line);
	return p;
}

static void *on_realloc(void *old, size_t n, const char *file, int line)
{
	void *p;

	if (old)
		forget(old);
	p = realloc(old, n);
	if (p)
		remember(p, n, file, line);
	return p;
}

static void on_free(void *p, const char *file, int line)
{
	if (p)
		forget(p);
	free(p);
}

static void pump(BIO *from, BIO *to)
{
	char buf[65536];
	int n;

	while ((n = BIO_read(from, buf, sizeof(buf))) > 0)
		BIO_write(to, buf, n);
}

static void report_sites(void)
{
	struct { const char *file; int line; size_t bytes, count; } sites[256];
	int n = 0;
	size_t total = 0;

	for (size_t i = 0; i < SLOTS; i++) {
		int k;

		if (!table[i].ptr || !table[i].mine)
			continue;
		for (k = 0; k < n && (sites[k].file != table[i].file || sites[k].line != table[i].line); k++)
			;
		if (k == n && n == 256)
			continue;
		if (k == n)
			sites[n++] = (typeof(sites[0])){ table[i].file, table[i].line, 0, 0 };
		sites[k].bytes += table[i].size;
		sites[k].count++;
		total += table[i].size;
	}
	for (int k = 0; k < n; k++)
		printf("%6zu B %3zu x %s:%d\n", sites[k].bytes, sites[k].count, sites[k].file, sites[k].line);
	printf("live OpenSSL bytes requested for the last connection (SSL and its BIOs): %zu\n", total);
}

int main(int argc, char **argv)
{
	static const char request[] = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n";
	const char *cert = argc > 1 ? argv[1] : "cert.pem", *key = argc > 2 ? argv[2] : "key.pem";
	int conns = argc > 3 ? atoi(argv[3]) : 1000;
	SSL_CTX *server_ctx, *client_ctx;
	struct mallinfo2 before, after;
	char buf[4096];

	table = calloc(SLOTS, sizeof(*table));
	CRYPTO_set_mem_functions(on_malloc, on_realloc, on_free);
	server_ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_set_options(server_ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	if (!getenv("NO_RELEASE"))
		SSL_CTX_set_mode(server_ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(server_ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(server_ctx, 1);
	SSL_CTX_set_session_id_context(server_ctx, (const unsigned char *)"ringgate", 8);
	if (SSL_CTX_use_certificate_chain_file(server_ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(server_ctx, key, SSL_FILETYPE_PEM) != 1) {
		fprintf(stderr, "cannot load %s / %s\n", cert, key);
		return 1;
	}
	client_ctx = SSL_CTX_new(TLS_client_method());
	if (getenv("TLS12"))
		SSL_CTX_set_max_proto_version(client_ctx, TLS1_2_VERSION);
	before = mallinfo2();
	for (int i = 0; i < conns; i++) {
		BIO *s_in = BIO_new(BIO_s_mem()), *s_out = BIO_new(BIO_s_mem());
		BIO *c_in = BIO_new(BIO_s_mem()), *c_out = BIO_new(BIO_s_mem());
		SSL *server, *client;

		tracing = i == conns - 1;
		server = SSL_new(server_ctx);
		SSL_set_bio(server, s_in, s_out);
		SSL_set_accept_state(server);
		tracing = 0;
		client = SSL_new(client_ctx);
		SSL_set_bio(client, c_in, c_out);
		SSL_set_connect_state(client);
		for (int round = 0; round < 10; round++) {
			SSL_do_handshake(client);
			pump(c_out, s_in);
			tracing = i == conns - 1;
			SSL_do_handshake(server);
			tracing = 0;
			pump(s_out, c_in);
		}
		SSL_write(client, request, sizeof(request) - 1);
		pump(c_out, s_in);
		tracing = i == conns - 1;
		SSL_read(server, buf, sizeof(buf));
		SSL_write(server, "HTTP/1.1 101 Switching Protocols\r\n\r\n", 36);
		tracing = 0;
		pump(s_out, c_in);
		SSL_read(client, buf, sizeof(buf));
		SSL_free(client);	/* the server SSL stays, as for a held connection */
	}
	malloc_trim(0);
	after = mallinfo2();
	if (getenv("DETAIL"))
		report_sites();
	printf("%s client: %zu malloc'd bytes live per server connection (%d connections)\n",
	       getenv("TLS12") ? "TLS 1.2" : "TLS 1.3", (after.uordblks - before.uordblks) / conns, conns);
	return 0;
}
