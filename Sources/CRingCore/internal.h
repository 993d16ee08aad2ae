/*
 * Types shared by the core's files. Nothing here is visible to Swift.
 */
#ifndef RG_INTERNAL_H
#define RG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>

#include "ringcore.h"
#include "uring_compat.h"
#include "udata.h"

/*
 * RG_BUG(w, cond): true when an invariant of the core does not hold. A slip
 * is a bug, but one connection's bad state must not take every other
 * connection down with it, so the site recovers (drops the completion, or
 * closes that one connection) after this counts it in `unexpected` and logs
 * the first of each kind. With RG_ABORT_ON_BUG defined (debug builds of the
 * core's own tests may) it stops the process instead, where the slip happened.
 */
#define RG_BUG(w, cond) __extension__ ({					\
	bool rg_bug_ = __builtin_expect(!!(cond), 0);				\
	if (rg_bug_) {								\
		static atomic_bool rg_bug_logged_;				\
		rg_internal_bug((w), &rg_bug_logged_, __FILE__, __LINE__, #cond); \
	}									\
	rg_bug_;								\
})

/*
 * A worker's counters (rg_stats) are written by its thread alone and read by any
 * (metrics, stats lines). The write is an atomic store of the incremented value:
 * the same plain instructions as `++` on x86, and no torn or racing read for the
 * reader, which loads each field atomically (rg_worker_stats). Returns the value
 * before the addition, as a post-increment would.
 */
static inline uint64_t rg_stat_add(uint64_t *field, uint64_t n)
{
	uint64_t before = *field;

	__atomic_store_n(field, before + n, __ATOMIC_RELAXED);
	return before;
}

static inline void rg_stat_set(uint64_t *field, uint64_t value)
{
	__atomic_store_n(field, value, __ATOMIC_RELAXED);
}

#define RG_NONE 0xffffffffu
#define RG_BGID 1
#define RG_EVENT_BATCH 256
#define RG_MAILBOX_CAPACITY 4096
#define RG_MAX_ADDRESSES 256
/* Mail tags the core keeps for itself; rg_worker_post refuses them from callers. */
#define RG_MAIL_STOP_ACCEPTING UINT64_MAX	/* stop accepting (rg_engine_stop_accepting) */
#define RG_MAIL_TLS (UINT64_MAX - 1)		/* swap in the rg_tls it carries (tls.c) */
#define RG_MAIL_REARM_ACCEPTS (UINT64_MAX - 2)	/* rg_engine_rearm_accepts */
#define RG_LISTENER_PLAIN 0	/* listener index in an accept's user_data */
#define RG_LISTENER_TLS 1
/*
 * Send chunks come in three sizes: small ones for the common small message
 * (a handshake answer, a chat line, a ping), middle ones for a typical
 * application message, large ones for bulk data. Thousands of connections
 * with a few bytes queued each then do not pin 16 KiB apiece. Sizes are
 * powers of two so chunks pack pages exactly. A chunk's index carries its
 * class in the top two bits.
 */
#define RG_CHUNK_CLASSES 3
#define RG_CHUNK_HEADER 24u
#define RG_LARGE_CHUNK_BYTES 16384u
#define RG_LARGE_CHUNK_DATA (RG_LARGE_CHUNK_BYTES - RG_CHUNK_HEADER)
#define RG_CHUNK_CLASS_SHIFT 30
#define RG_CHUNK_INDEX_MASK ((1u << RG_CHUNK_CLASS_SHIFT) - 1)

static const uint32_t rg_chunk_class_bytes[RG_CHUNK_CLASSES] = { 256, 2048, RG_LARGE_CHUNK_BYTES };

/*
 * A fourth class holds no data: a reference chunk points at an rg_shared
 * frame that many connections send (a fan-out), so the frame is never copied
 * per recipient. Its start and end are offsets into the shared bytes, and it
 * holds exactly one record.
 */
#define RG_REF_CLASS 3u
#define RG_REF_CHUNK_BYTES 32u

/*
 * A send that covers several chunks of one queue goes out as one sendmsg:
 * its header and vector live in a middle-size send chunk of their own,
 * taken from the pool when the send starts and given back when it
 * completes (the head chunk's `sendvec` names it), so only sends in flight
 * hold one. Up to RG_SEND_CHUNKS chunks: 64 records (pipelined echoes, a
 * burst of publications, each by reference) cost one system call, and 64
 * large chunks are 1 MiB, more than a socket takes at once.
 */
#define RG_SEND_CHUNKS 64
struct rg_sendvec {
	struct msghdr msg;
	struct iovec iov[RG_SEND_CHUNKS];
};
_Static_assert(sizeof(struct rg_sendvec) <= 2048 - 24, "a send vector fits a middle-size chunk");

enum rg_conn_state {
	RG_CONN_FREE = 0,
	RG_CONN_OPEN,
	RG_CONN_DRAINING,	/* flushing, then shutdown(SHUT_WR), then close on EOF */
	RG_CONN_CLOSING,	/* waiting for in-flight requests, then close */
	RG_CONN_CONNECTING,	/* outgoing: connect in flight */
};

enum rg_conn_flag {
	RG_CF_RECV_ARMED = 1 << 0,	/* multishot recv, or the poll-mode recv, in flight */
	RG_CF_POLL_ARMED = 1 << 1,
	RG_CF_SENDING = 1 << 2,
	RG_CF_DIRTY = 1 << 3,		/* on the worker's flush list */
	RG_CF_PAUSED = 1 << 4,
	RG_CF_REARM = 1 << 5,		/* on the worker's re-arm list */
	RG_CF_SHUT = 1 << 6,		/* shutdown(SHUT_WR) submitted */
	RG_CF_EOF = 1 << 7,		/* the peer closed its side */
	RG_CF_PARKED = 1 << 8,		/* idle: waits with a poll instead of a multishot recv */
	RG_CF_WANT_RECV = 1 << 9,	/* poll mode: issue a one-shot recv when re-armed */
	RG_CF_TLS = 1 << 10,		/* has TLS state in the worker's tls_conns (tls.c) */
	RG_CF_FRESH = 1 << 11,		/* no recv has completed yet: the first one is one-shot */
	RG_CF_NOFILE = 1 << 12,		/* outgoing: the socket was never made, so no close is due */
};

/*
 * One connection, indexed by its fixed-file slot. 24 bytes; an idle
 * connection owns no buffer (head == RG_NONE).
 */
struct rg_conn {
	uint32_t gen;		/* 4: bumped on every accept into this slot */
	uint8_t state;		/* 1: enum rg_conn_state */
	uint8_t inflight;	/* 1: requests on this socket not yet completed */
	uint8_t how;		/* 1: how the close was asked for */
	uint8_t send_chunks;	/* 1: chunks the send in flight covers (conn_send.c) */
	uint16_t flags;		/* 2: enum rg_conn_flag */
	int16_t cause;		/* 2: first error seen (-errno), reported with RG_EV_CLOSED */
	uint32_t queued;	/* 4: bytes in the send queue */
	uint32_t head;		/* 4: first send chunk, RG_NONE if empty */
	uint32_t tail;		/* 4: last send chunk */
};
_Static_assert(sizeof(struct rg_conn) == 24, "connection slot budget is 24 bytes");

/*
 * Send chunk header; the data follows it. `start..end` is what the kernel
 * still has to take. A queue is a run of records (what one send call
 * queued); `first_record` is where the first record that begins in this chunk
 * begins, so the records of a queue can be walked from any chunk on
 * (dropsend.c), though a record may span chunks.
 */
struct rg_chunk {
	uint32_t next;
	uint32_t start;		/* first byte not yet acknowledged by a send completion */
	uint32_t end;		/* first free byte */
	uint32_t inflight;	/* bytes of the send in flight from `start` */
	uint32_t first_record;	/* offset of the first record starting here; RG_NONE: none does */
	uint32_t sendvec;	/* while a sendmsg from this head chunk is in flight: the chunk holding its vector */
};
_Static_assert(sizeof(struct rg_chunk) == RG_CHUNK_HEADER, "chunk header is 24 bytes");

/* One size class of send chunks, mapped once; pages are touched only when used. */
struct rg_chunk_pool {
	uint8_t *base;
	uint32_t chunk_bytes;
	uint32_t count;
	uint32_t free;		/* head of the free list */
	uint32_t used;
	uint32_t touched;	/* chunks handed out at least once since the last trim */
};

struct rg_mail {
	uint64_t tag;
	void *ptr;
};

struct rg_bufring {
	struct io_uring_buf_ring *ring;
	size_t ring_bytes;
	uint8_t *base;		/* buf_count * buf_size bytes */
	uint32_t *offset;	/* bytes consumed per buffer (incremental mode) */
	uint16_t *recycle;	/* buffer ids to hand back after the batch */
	uint8_t *queued;	/* 1 while a buffer id sits in `recycle` */
	uint32_t recycle_count;
	uint32_t size;
	uint32_t count;
	uint32_t mask;
	bool incremental;
};

struct rg_worker {
	struct io_uring ring;
	rg_engine *engine;
	void *ctx;
	struct rg_peer_query *peers_answered;	/* freed after the batch that delivered them */
	uint32_t index;
	int cpu;
	int node;
	int listen_fd;
	int tls_listen_fd;
	/* Multishot accepts in flight (armed, final CQE not yet seen); read by rg_engine_accepts_armed. */
	_Atomic uint32_t accepts_armed;
	pthread_t thread;

	struct rg_conn *conns;
	uint32_t table_size;
	uint32_t open_count;

	struct rg_bufring bufs;
	uint64_t recv_at_last_tick;	/* to see a quiet tick */
	bool bufs_trimmed;
	bool trim_due;

	struct rg_chunk_pool pools[RG_CHUNK_CLASSES + 1];	/* the last one: reference chunks */
	uint64_t pool_budget;	/* bytes of data chunks in use at most (chunks.c) */
	uint64_t pool_used;
	uint64_t pool_reserve;	/* kept for answers to what was read: see rg_worker_send_pressure */
	uint32_t ref_reserve;

	uint32_t *dirty;	/* slots with sends to submit */
	uint32_t dirty_count;
	uint32_t *rearm;	/* slots whose recv must be armed again */
	uint32_t rearm_count;
	uint32_t list_cap;	/* capacity of `dirty` and `rearm` */

	/* Outgoing connections (engines without a listener choose their own slots). */
	struct sockaddr_storage *addrs;
	socklen_t *addr_lens;
	uint32_t addr_count;
	uint32_t *free_slots;
	uint32_t free_slot_count;
	uint32_t fresh_slot;	/* slots below this have been handed out before */
	uint8_t connect_mode;	/* enum rg_connect_mode (client.c), chosen at the first connect */
	struct rg_first_bytes *first_bytes;	/* syscall mode: what to send once each slot connects */

	rg_event events[RG_EVENT_BATCH];
	uint32_t event_count;
	rg_event *deferred;	/* events raised by verbs inside the handler */
	uint32_t deferred_count;
	uint32_t deferred_cap;

	pthread_mutex_t mail_lock;
	struct rg_mail *mail;
	struct rg_mail *mail_taken;
	uint32_t mail_count;
	int mail_fd;		/* eventfd that wakes the ring */
	uint64_t mail_value;

	struct __kernel_timespec tick_ts;
	bool tick_multishot;
	bool tick_due;		/* a tick completed in this batch; emitted after the walk */
	bool batch_wait;	/* wait for batch_events completions or batch_wait_us (batchwait.c) */
	bool ring_registered;	/* io_uring_register_ring_fd succeeded */
	bool has_inc;

	/* TLS (tls.c): mapped on the worker's first TLS connection. */
	rg_tls *tls;			/* context for new TLS connections */
	struct rg_tls_conn **tls_conns;	/* by slot; NULL for plain connections */
	uint8_t *tls_plain;		/* plaintext handed up in this batch, then the send scratch */
	uint32_t tls_plain_used;
	uint64_t tls_handshakes_seen;	/* as of the last tick */
	uint64_t tls_handshakes_trimmed;	/* as of the last malloc_trim */

	rg_stats stats;
};

struct rg_engine {
	rg_config cfg;
	rg_batch_fn handler;
	rg_worker *workers;
	uint32_t worker_count;
	uint32_t table_size;
	uint16_t port;
	uint16_t tls_port;
	rg_tls *tls;		/* handed to each worker as it starts */
	atomic_bool stop;
	atomic_uint open_total;	/* connections open over all workers, against max_open */
	atomic_uint max_open;	/* cfg.max_connections, or what rg_engine_set_max_connections set */

	pthread_mutex_t start_lock;
	pthread_cond_t start_cond;
	uint32_t started;
	int start_error;
	char start_err[256];
	char notes[256];
};

/* worker.c */
void *rg_internal_worker_main(void *arg);
struct io_uring_sqe *rg_internal_sqe(rg_worker *w);
void rg_internal_event_room(rg_worker *w);
void rg_internal_deliver_now(rg_worker *w);
void rg_internal_emit(rg_worker *w, uint8_t kind, uint32_t slot, uint32_t gen,
		      int32_t result, uint8_t *data, uint64_t arg);

/* batchwait.c */
bool rg_internal_batch_wait_setup(rg_worker *w, uint32_t features);
int rg_internal_submit_and_wait(rg_worker *w);

/* peer.c */
struct rg_peer_query;
void rg_internal_on_peer(rg_worker *w, struct io_uring_cqe *cqe);
void rg_internal_peer_release(rg_worker *w);

/* bufring.c */
int rg_internal_bufring_init(rg_worker *w, char *err, size_t err_len);
void rg_internal_bufring_free(rg_worker *w);
uint8_t *rg_internal_buf_take(rg_worker *w, uint32_t bid, uint32_t len, bool more);
void rg_internal_buf_recycle(rg_worker *w);
void rg_internal_bufring_trim(rg_worker *w);

/* listen.c */
int rg_internal_listen_open(rg_engine *e, char *err, size_t err_len);
void rg_internal_accept_arm(rg_worker *w, uint32_t listener);
void rg_internal_on_accept(rg_worker *w, struct io_uring_cqe *cqe);
void rg_internal_accept_stop(rg_worker *w);
void rg_internal_accept_rearm(rg_worker *w);

/* conn.c: the slot table, a connection's life and close, the flush after a batch */
int rg_internal_conns_init(rg_worker *w);
void rg_internal_conns_free(rg_worker *w);
/* The connection in `slot` if it is in use by generation `gen`, else NULL (a stale id). */
/* The open (or closing) connection `slot` names at generation `gen`, or NULL. */
static inline struct rg_conn *rg_internal_live(rg_worker *w, uint32_t slot, uint32_t gen)
{
	struct rg_conn *c;

	if (slot >= w->table_size)
		return NULL;
	c = &w->conns[slot];
	return c->state != RG_CONN_FREE && c->gen == gen ? c : NULL;
}
void rg_internal_conn_start(rg_worker *w, uint32_t slot, enum rg_conn_state state);
void rg_internal_conn_opened(rg_worker *w, uint32_t slot, bool tls);
void rg_internal_abort(rg_worker *w, uint32_t slot, int cause);
void rg_internal_maybe_finish(rg_worker *w, uint32_t slot);
/* Puts the slot on the worker's flush (dirty) or re-arm list, once, for rg_internal_flush. */
void rg_internal_mark_dirty(rg_worker *w, uint32_t slot);
void rg_internal_mark_rearm(rg_worker *w, uint32_t slot);
void rg_internal_cancel_op(rg_worker *w, uint32_t slot, enum rg_op op);
void rg_internal_drain(rg_worker *w, uint32_t slot);
void rg_internal_flush(rg_worker *w);

/* conn_recv.c: waiting for data, park and pause, recv and poll completions */
void rg_internal_arm_wait(rg_worker *w, uint32_t slot);
void rg_internal_on_recv(rg_worker *w, struct io_uring_cqe *cqe);
void rg_internal_on_poll(rg_worker *w, struct io_uring_cqe *cqe);

/* conn_send.c: send queues, sends and shutdown */
void rg_internal_submit_send(rg_worker *w, uint32_t slot);
void rg_internal_submit_shutdown(rg_worker *w, uint32_t slot);
void rg_internal_on_send(rg_worker *w, struct io_uring_cqe *cqe);
void rg_internal_on_shutdown(rg_worker *w, struct io_uring_cqe *cqe);
int rg_internal_queue_raw(rg_worker *w, uint32_t slot, const void *data, uint32_t len);
void rg_internal_queue_chunk(rg_worker *w, uint32_t slot, uint32_t chunk, uint32_t len);
void rg_internal_unlink_chunk(rg_worker *w, struct rg_conn *c, uint32_t prev, uint32_t chunk);

/* chunks.c */
int rg_internal_chunks_init(rg_worker *w);
void rg_internal_chunks_free(rg_worker *w);
uint32_t rg_internal_chunk_alloc(rg_worker *w, uint32_t want);
uint32_t rg_internal_ref_chunk_alloc(rg_worker *w);
void rg_internal_chunk_release(rg_worker *w, uint32_t index);

void rg_internal_chunks_trim(rg_worker *w);

static inline struct rg_chunk *rg_chunk_at(rg_worker *w, uint32_t index)
{
	struct rg_chunk_pool *p = &w->pools[index >> RG_CHUNK_CLASS_SHIFT];

	return (struct rg_chunk *)(p->base + (size_t)(index & RG_CHUNK_INDEX_MASK) * p->chunk_bytes);
}

static inline uint8_t *rg_chunk_data(struct rg_chunk *ch) { return (uint8_t *)(ch + 1); }

static inline bool rg_chunk_is_ref(uint32_t index) { return (index >> RG_CHUNK_CLASS_SHIFT) == RG_REF_CLASS; }

/* Room to append in place: none in a reference chunk, whose bytes are shared. */
static inline uint32_t rg_chunk_capacity(uint32_t index)
{
	return rg_chunk_is_ref(index) ? 0 : rg_chunk_class_bytes[index >> RG_CHUNK_CLASS_SHIFT] - RG_CHUNK_HEADER;
}

/* sharedsend.c */
/* The bytes a chunk sends: its own, or the shared frame it points at. */
uint8_t *rg_internal_chunk_bytes(rg_worker *w, uint32_t index);
void rg_internal_ref_chunk_drop(rg_worker *w, uint32_t index);

/* client.c */
void rg_internal_on_connect(rg_worker *w, struct io_uring_cqe *cqe);
void rg_internal_on_connect_step(rg_worker *w, struct io_uring_cqe *cqe);
void rg_internal_on_connect_send(rg_worker *w, struct io_uring_cqe *cqe);
void rg_internal_slot_released(rg_worker *w, uint32_t slot);
void rg_internal_client_free(rg_worker *w);

/* tls.c */
void rg_internal_tls_worker_init(rg_worker *w);
int rg_internal_tls_accept(rg_worker *w, uint32_t slot);
void rg_internal_tls_room(rg_worker *w, uint32_t ciphertext_len);
int rg_internal_tls_recv(rg_worker *w, uint32_t slot, const uint8_t *data, uint32_t len, uint8_t **plain,
			 uint32_t *plain_len);
int rg_internal_tls_send(rg_worker *w, uint32_t slot, const void *data, uint32_t len);
uint8_t *rg_internal_tls_scratch(rg_worker *w);
void rg_internal_tls_close_notify(rg_worker *w, uint32_t slot);
void rg_internal_tls_release(rg_worker *w, uint32_t slot);
void rg_internal_tls_swap(rg_worker *w, rg_tls *t);
void rg_internal_tls_worker_free(rg_worker *w);
void rg_internal_tls_trim(rg_worker *w);

/* xworker.c */
int rg_internal_mail_init(rg_worker *w);
void rg_internal_mail_free(rg_worker *w);
void rg_internal_mail_arm(rg_worker *w);
void rg_internal_on_mail(rg_worker *w, struct io_uring_cqe *cqe);

/* log.c: one line at `level` to the embedder's sink (rg_log_set_sink), or stderr. */
void rg_internal_log(enum rg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Counts a broken invariant, logs its first occurrence per site (RG_BUG). */
void rg_internal_bug(rg_worker *w, atomic_bool *logged, const char *file, int line, const char *what);

#endif
