/*
 * TLS connections: OpenSSL behind the same connection verbs, with io_uring
 * still doing every read and write.
 *
 * Each TLS connection has an SSL object whose BIO reads ciphertext straight
 * from the receive buffer of the completion being handled and writes
 * ciphertext straight into the connection's send-chunk queue, so the core
 * keeps no staging buffer of its own and OpenSSL's record buffers are
 * released between records (SSL_MODE_RELEASE_BUFFERS): an idle TLS
 * connection holds only its SSL object. Plain connections pay one flag test.
 *
 * Received records are decrypted into a per-worker arena that lives until
 * the batch handler returns, so RG_EV_DATA carries plaintext as it would on
 * a plain connection. Sends are encrypted as they are queued, one record
 * per send, so the queue and the send path stay as they are.
 */
#include <malloc.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tls.h"

/*
 * The arena takes one completion's plaintext at a time. Plaintext never
 * outgrows its ciphertext, except that a record begun in an earlier
 * completion can add up to one record (2^14 bytes, RFC 8446 5.1).
 */
#define RG_TLS_PLAIN_BYTES (2u << 20)
#define RG_TLS_RECORD_PLAIN 16384u
#define RG_TLS_MARGIN 1024u

struct rg_tls_conn {
	SSL *ssl;
	rg_tls *tls;		/* the context it was accepted with */
	rg_worker *w;
	const uint8_t *in;	/* ciphertext OpenSSL has not read yet, during rg_internal_tls_recv */
	uint32_t in_len;
	uint32_t slot;
	bool established;
	bool failed;		/* a fatal error: no close_notify, already logged */
};

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static bool log_due(uint64_t count) { return count <= 10 || count % 10000 == 0; }

static int bio_read(BIO *b, char *out, int len)
{
	struct rg_tls_conn *tc = BIO_get_data(b);
	uint32_t n = tc->in_len < (uint32_t)len ? tc->in_len : (uint32_t)len;

	BIO_clear_retry_flags(b);
	if (n == 0) {
		BIO_set_retry_read(b);
		return -1;
	}
	memcpy(out, tc->in, n);
	tc->in += n;
	tc->in_len -= n;
	return (int)n;
}

/* Never asks OpenSSL to retry: a write either joins the send queue whole or the connection fails. */
static int bio_write(BIO *b, const char *in, int len)
{
	struct rg_tls_conn *tc = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	return rg_internal_queue_raw(tc->w, tc->slot, in, (uint32_t)len) == 0 ? len : -1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) { return cmd == BIO_CTRL_FLUSH; }

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static void make_bio_method(void)
{
	bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ringgate io_uring");
	if (!bio_method)
		return;
	BIO_meth_set_read(bio_method, bio_read);
	BIO_meth_set_write(bio_method, bio_write);
	BIO_meth_set_ctrl(bio_method, bio_ctrl);
	BIO_meth_set_create(bio_method, bio_create);
}

void rg_internal_tls_worker_init(rg_worker *w)
{
	if (w->engine->tls)
		w->tls = rg_internal_tls_retain(w->engine->tls);
}

/* Maps the slot table and the arena on the worker's first TLS connection. */
static int worker_setup(rg_worker *w)
{
	if (w->tls_conns)
		return 0;
	pthread_once(&bio_once, make_bio_method);
	if (!bio_method)
		return -ENOMEM;
	w->tls_plain = mmap(NULL, RG_TLS_PLAIN_BYTES + RG_LARGE_CHUNK_DATA, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->tls_plain == MAP_FAILED) {
		w->tls_plain = NULL;
		return -ENOMEM;
	}
	w->tls_conns = mmap(NULL, (size_t)w->table_size * sizeof(*w->tls_conns), PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->tls_conns == MAP_FAILED) {
		w->tls_conns = NULL;
		return -ENOMEM;
	}
	return 0;
}

int rg_internal_tls_accept(rg_worker *w, uint32_t slot)
{
	struct rg_tls_conn *tc;
	BIO *bio;

	if (!w->tls || worker_setup(w))
		return -ENOMEM;
	tc = calloc(1, sizeof(*tc));
	if (!tc)
		return -ENOMEM;
	tc->ssl = SSL_new(w->tls->ctx);
	bio = BIO_new(bio_method);
	if (!tc->ssl || !bio) {
		BIO_free(bio);
		SSL_free(tc->ssl);
		free(tc);
		ERR_clear_error();
		return -ENOMEM;
	}
	BIO_set_data(bio, tc);
	SSL_set_bio(tc->ssl, bio, bio);
	SSL_set_accept_state(tc->ssl);
	tc->tls = rg_internal_tls_retain(w->tls);
	tc->w = w;
	tc->slot = slot;
	w->tls_conns[slot] = tc;
	w->conns[slot].flags |= RG_CF_TLS;
	return 0;
}

void rg_internal_tls_room(rg_worker *w, uint32_t ciphertext_len)
{
	if (w->tls_plain_used + ciphertext_len + RG_TLS_RECORD_PLAIN + RG_TLS_MARGIN > RG_TLS_PLAIN_BYTES)
		rg_internal_deliver_now(w);
}

static void fatal(rg_worker *w, struct rg_tls_conn *tc, const char *what)
{
	char why[256];
	uint64_t count;

	rg_internal_tls_reason(why, sizeof(why), "connection closed without close_notify");
	tc->failed = true;
	if (tc->established) {
		count = (rg_stat_add(&w->stats.tls_errors, 1) + 1);
	} else {
		count = w->stats.tls_handshake_failures + 1;	/* counted when the slot is released */
	}
	if (log_due(count))
		rg_internal_log(RG_LOG_NOTICE, "worker %u: TLS %s failed on slot %u: %s (%llu so far)", w->index, what, tc->slot,
				why, (unsigned long long)count);
}

int rg_internal_tls_recv(rg_worker *w, uint32_t slot, const uint8_t *data, uint32_t len, uint8_t **plain,
			 uint32_t *plain_len)
{
	struct rg_tls_conn *tc = w->tls_conns[slot];
	uint8_t *out = w->tls_plain + w->tls_plain_used;
	uint32_t room = RG_TLS_PLAIN_BYTES - w->tls_plain_used, total = 0;
	int ret = 0;

	*plain = out;
	*plain_len = 0;
	if (tc->failed)
		return -EPROTO;
	tc->in = data;
	tc->in_len = len;
	for (;;) {
		int n = SSL_read(tc->ssl, out + total, (int)(room - total));

		if (!tc->established && SSL_is_init_finished(tc->ssl)) {
			tc->established = true;
			if (SSL_session_reused(tc->ssl))
				rg_stat_add(&w->stats.tls_handshakes_resumed, 1);
			else
				rg_stat_add(&w->stats.tls_handshakes_full, 1);
		}
		if (n > 0) {
			total += (uint32_t)n;
			if (total < room)
				continue;
			(void)RG_BUG(w, "the arena bound in rg_internal_tls_room was wrong");
			fatal(w, tc, "read (plaintext arena full)");
			ret = -EPROTO;
			break;
		}
		switch (SSL_get_error(tc->ssl, n)) {
		case SSL_ERROR_WANT_READ:
			break;
		case SSL_ERROR_ZERO_RETURN:
			ret = -ESHUTDOWN;	/* the peer's close_notify: its end of the stream */
			break;
		default:
			fatal(w, tc, tc->established ? "read" : "handshake");
			ret = -EPROTO;
		}
		break;
	}
	tc->in = NULL;
	tc->in_len = 0;
	w->tls_plain_used += total;
	*plain_len = total;
	return ret;
}

int rg_internal_tls_send(rg_worker *w, uint32_t slot, const void *data, uint32_t len)
{
	struct rg_tls_conn *tc = w->tls_conns[slot];

	if (!tc->established || tc->failed)
		return -EPIPE;
	if (len == 0)
		return 0;
	if (SSL_write(tc->ssl, data, (int)len) == (int)len)
		return 0;
	/* The send pool ran dry inside a record: the stream cannot be resumed. */
	fatal(w, tc, "write");
	rg_internal_abort(w, slot, -ENOBUFS);
	return -ENOBUFS;
}

uint8_t *rg_internal_tls_scratch(rg_worker *w) { return w->tls_plain + RG_TLS_PLAIN_BYTES; }

void rg_internal_tls_close_notify(rg_worker *w, uint32_t slot)
{
	struct rg_tls_conn *tc = w->tls_conns[slot];

	if (tc->established && !tc->failed && SSL_shutdown(tc->ssl) < 0)
		ERR_clear_error();
}

/* Frees the connection's TLS state; one that never finished its handshake is counted and logged. */
void rg_internal_tls_release(rg_worker *w, uint32_t slot)
{
	struct rg_tls_conn *tc = w->tls_conns[slot];

	w->conns[slot].flags &= ~RG_CF_TLS;
	if (!tc)
		return;
	if (!tc->established) {
		uint64_t count = (rg_stat_add(&w->stats.tls_handshake_failures, 1) + 1);

		if (!tc->failed && log_due(count))
			rg_internal_log(RG_LOG_NOTICE, "worker %u: TLS handshake on slot %u ended before it completed (%llu so far)",
					w->index, slot, (unsigned long long)count);
	}
	SSL_free(tc->ssl);
	ERR_clear_error();
	rg_tls_release(tc->tls);
	free(tc);
	w->tls_conns[slot] = NULL;
}

/*
 * After a burst of handshakes, on the first tick without one, gives the
 * freed handshake buffers back: they sit between live SSL objects, so
 * without a trim they stay resident as fragmentation (malloc_trim releases
 * free pages inside the heap, not only at its top).
 */
void rg_internal_tls_trim(rg_worker *w)
{
	uint64_t done = w->stats.tls_handshakes_full + w->stats.tls_handshakes_resumed +
			w->stats.tls_handshake_failures;
	bool quiet = done == w->tls_handshakes_seen;

	w->tls_handshakes_seen = done;
	if (!quiet || done == w->tls_handshakes_trimmed)
		return;
	w->tls_handshakes_trimmed = done;
	malloc_trim(0);
}

void rg_internal_tls_swap(rg_worker *w, rg_tls *t)
{
	rg_tls *old = w->tls;

	w->tls = t;
	rg_tls_release(old);
}

void rg_internal_tls_worker_free(rg_worker *w)
{
	if (w->tls_conns) {
		for (uint32_t slot = 0; slot < w->table_size; slot++)
			if (w->tls_conns[slot]) {
				SSL_free(w->tls_conns[slot]->ssl);
				rg_tls_release(w->tls_conns[slot]->tls);
				free(w->tls_conns[slot]);
			}
		munmap(w->tls_conns, (size_t)w->table_size * sizeof(*w->tls_conns));
		w->tls_conns = NULL;
	}
	if (w->tls_plain)
		munmap(w->tls_plain, RG_TLS_PLAIN_BYTES + RG_LARGE_CHUNK_DATA);
	w->tls_plain = NULL;
	rg_tls_release(w->tls);
	w->tls = NULL;
}

int rg_engine_set_tls(rg_engine *e, rg_tls *t)
{
	int ret = 0;

	for (uint32_t i = 0; i < e->worker_count; i++) {
		int posted = -EAGAIN;

		rg_internal_tls_retain(t);
		/* A full mailbox drains within a batch; give it up to a second. */
		for (int tries = 0; tries < 1000 && posted == -EAGAIN; tries++) {
			posted = rg_worker_post(&e->workers[i], RG_MAIL_TLS, t);
			if (posted == -EAGAIN)
				usleep(1000);
		}
		if (posted) {
			rg_tls_release(t);
			ret = posted;
		}
	}
	rg_internal_tls_retain(t);
	rg_tls_release(e->tls);
	e->tls = t;
	return ret;
}

uint16_t rg_engine_tls_port(const rg_engine *e) { return e->tls_port; }
