/*
 * Engine lifetime: configuration, limits, worker threads, stop and stats.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "tls.h"

/*
 * Defaults fit a small host and the tests: two workers, 4 KiB receive
 * buffers (a typical WebSocket message fits one), 16 MiB of send chunks per
 * worker and 1 MiB queued per connection before sends are refused.
 */
void rg_config_defaults(rg_config *c)
{
	memset(c, 0, sizeof(*c));
	c->host = "127.0.0.1";
	c->port = 8080;
	c->listen = 1;
	c->pin_cpus = 1;
	c->workers = 2;
	c->max_connections = 10000;
	c->backlog = 4096;
	c->buf_size = 0;	/* sized by the kernel's features: bufring.c */
	c->buf_count = 0;
	c->sq_entries = 1024;
	c->cq_entries = 8192;
	c->tick_ms = 100;
	c->send_queue_limit = 1u << 20;
	c->send_pool_bytes = 0;	/* sized from the connection table: chunks.c */
	c->wait_mode = RG_WAIT_RECV;
	c->incremental_buffers = 1;
	c->single_issuer = 1;
	c->batch_events = 64;
	c->batch_wait_us = 0;
}

static int kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return 1;	/* cannot tell: let ring setup decide */
	return ma > major || (ma == major && mi >= minor);
}

static int validate(const rg_config *c, char *err, size_t err_len)
{
	if (c->workers == 0 || c->workers > 4096)
		return snprintf(err, err_len, "workers must be 1..4096 (got %u)", c->workers), -EINVAL;
	if (c->max_connections == 0)
		return snprintf(err, err_len, "max-connections must be at least 1"), -EINVAL;
	if ((c->buf_count & (c->buf_count - 1)) || c->buf_count > 32768)
		return snprintf(err, err_len, "buffer count must be a power of two up to 32768 (got %u)",
				c->buf_count), -EINVAL;
	if (c->buf_size && (c->buf_size < 64 || c->buf_size > (1u << 20)))
		return snprintf(err, err_len, "buffer size must be 64..1048576 bytes (got %u)", c->buf_size),
		       -EINVAL;
	if (c->send_pool_bytes && c->send_pool_bytes < 2 * RG_LARGE_CHUNK_BYTES)
		return snprintf(err, err_len, "send pool must be at least %u bytes", 2 * RG_LARGE_CHUNK_BYTES),
		       -EINVAL;
	if (c->wait_mode > RG_WAIT_POLL)
		return snprintf(err, err_len, "unknown wait mode %u", c->wait_mode), -EINVAL;
	if (!kernel_at_least(6, 0))
		return snprintf(err, err_len,
				"this kernel is too old: RingGate needs Linux 6.0 or later "
				"(multishot recv and accept, provided-buffer rings)"), -ENOSYS;
	return 0;
}

/*
 * Each ring's fixed-file table is capped by RLIMIT_NOFILE; raising the soft
 * limit to the hard one is the only change the process can make by itself.
 * Whoever configures the engine says when the cap falls short (ringgate's
 * HostCheck, ringload's ring count check).
 * Below the cap a table gets a quarter more than its even share: SO_REUSEPORT
 * spreads connections by hash, not evenly, and the engine-wide count
 * (open_total) is what enforces max_connections.
 */
static uint32_t table_size_for(rg_engine *e)
{
	struct rlimit rl;
	uint64_t share = (e->cfg.max_connections + e->cfg.workers - 1) / e->cfg.workers;
	uint64_t table = share + share / 4 + 64;
	uint64_t cap = 1u << 20;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < cap)
			cap = rl.rlim_cur;
	}
	if (table > e->cfg.max_connections)
		table = e->cfg.max_connections;
	return (uint32_t)(table < cap ? table : cap);
}

int rg_engine_create(const rg_config *cfg, rg_engine **out, char *err, size_t err_len)
{
	rg_engine *e;
	int ret;

	ret = validate(cfg, err, err_len);
	if (ret)
		return ret;
	e = calloc(1, sizeof(*e));
	if (!e)
		return snprintf(err, err_len, "out of memory"), -ENOMEM;
	e->cfg = *cfg;
	e->worker_count = cfg->workers;
	e->workers = calloc(cfg->workers, sizeof(rg_worker));
	if (!e->workers) {
		free(e);
		return snprintf(err, err_len, "out of memory"), -ENOMEM;
	}
	pthread_mutex_init(&e->start_lock, NULL);
	pthread_cond_init(&e->start_cond, NULL);
	e->table_size = table_size_for(e);
	atomic_init(&e->max_open, cfg->max_connections);
	for (uint32_t i = 0; i < e->worker_count; i++) {
		e->workers[i].engine = e;
		e->workers[i].index = i;
		e->workers[i].listen_fd = -1;
		e->workers[i].tls_listen_fd = -1;
		e->workers[i].mail_fd = -1;
		e->workers[i].table_size = e->table_size;
	}
	if (cfg->tls_listen) {
		if (!cfg->tls) {
			rg_engine_destroy(e);
			return snprintf(err, err_len, "a TLS listener needs a certificate and key"), -EINVAL;
		}
		e->tls = rg_internal_tls_retain(cfg->tls);
	}
	if (cfg->listen || cfg->tls_listen) {
		ret = rg_internal_listen_open(e, err, err_len);
		if (ret) {
			rg_engine_destroy(e);
			return ret;
		}
	}
	*out = e;
	return 0;
}

void rg_engine_set_handler(rg_engine *e, rg_batch_fn fn) { e->handler = fn; }
void rg_worker_set_context(rg_worker *w, void *ctx) { w->ctx = ctx; }

int rg_engine_start(rg_engine *e, char *err, size_t err_len)
{
	uint32_t launched = 0;
	int ret = 0;

	for (; launched < e->worker_count; launched++) {
		ret = -pthread_create(&e->workers[launched].thread, NULL, rg_internal_worker_main,
				      &e->workers[launched]);
		if (ret) {
			snprintf(e->start_err, sizeof(e->start_err), "cannot start worker thread: %s",
				 strerror(-ret));
			e->start_error = ret;
			break;
		}
	}
	pthread_mutex_lock(&e->start_lock);
	while (e->started < launched)
		pthread_cond_wait(&e->start_cond, &e->start_lock);
	ret = e->start_error;
	pthread_mutex_unlock(&e->start_lock);
	if (ret) {
		snprintf(err, err_len, "%s", e->start_err);
		atomic_store(&e->stop, true);
		for (uint32_t i = 0; i < launched; i++) {
			rg_worker_post(&e->workers[i], 0, NULL);
			pthread_join(e->workers[i].thread, NULL);
			e->workers[i].thread = 0;
		}
	}
	return ret;
}

void rg_engine_stop(rg_engine *e)
{
	atomic_store(&e->stop, true);
	for (uint32_t i = 0; i < e->worker_count; i++) {
		if (!e->workers[i].thread)
			continue;
		rg_worker_post(&e->workers[i], 0, NULL);
		pthread_join(e->workers[i].thread, NULL);
		e->workers[i].thread = 0;
	}
}

void rg_engine_destroy(rg_engine *e)
{
	if (!e)
		return;
	for (uint32_t i = 0; i < e->worker_count; i++) {
		if (e->workers[i].listen_fd >= 0)
			close(e->workers[i].listen_fd);
		if (e->workers[i].tls_listen_fd >= 0)
			close(e->workers[i].tls_listen_fd);
	}
	rg_tls_release(e->tls);
	free(e->workers);
	free(e);
}

uint16_t rg_engine_port(const rg_engine *e) { return e->port; }
uint32_t rg_engine_worker_count(const rg_engine *e) { return e->worker_count; }
rg_worker *rg_engine_worker(rg_engine *e, uint32_t i) { return i < e->worker_count ? &e->workers[i] : NULL; }
uint32_t rg_engine_table_size(const rg_engine *e) { return e->table_size; }

uint32_t rg_engine_set_max_connections(rg_engine *e, uint32_t max)
{
	uint64_t tables = (uint64_t)e->table_size * e->worker_count;

	if (max > tables)
		max = (uint32_t)tables;
	if (max == 0)
		max = 1;
	/* Relaxed: each accept reads it once; one that races the change may see the old value. */
	atomic_store_explicit(&e->max_open, max, memory_order_relaxed);
	return max;
}
const char *rg_engine_notes(const rg_engine *e) { return e->notes; }
uint32_t rg_worker_index(const rg_worker *w) { return w->index; }

_Static_assert(sizeof(rg_stats) % sizeof(uint64_t) == 0, "rg_stats holds 64-bit counters only");

/* Each field loaded atomically: its worker may be storing it meanwhile (rg_stat_add). */
void rg_worker_stats(const rg_worker *w, rg_stats *out)
{
	const uint64_t *src = (const uint64_t *)&w->stats;
	uint64_t *dst = (uint64_t *)out;

	for (size_t k = 0; k < sizeof(rg_stats) / sizeof(uint64_t); k++)
		dst[k] = __atomic_load_n(&src[k], __ATOMIC_RELAXED);
}

void rg_engine_stats(const rg_engine *e, rg_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < e->worker_count; i++) {
		rg_stats one;
		const uint64_t *src = (const uint64_t *)&one;
		uint64_t *dst = (uint64_t *)out;

		rg_worker_stats(&e->workers[i], &one);
		for (size_t k = 0; k < sizeof(rg_stats) / sizeof(uint64_t); k++)
			dst[k] += src[k];
	}
}
