/*
 * ringcore.h: everything Swift sees of the C core.
 *
 * The core runs N workers. A worker is one pthread driving one io_uring with
 * its own listener (SO_REUSEPORT), fixed-file table, provided-buffer ring,
 * connection slab and send-chunk pool. Sockets live only as direct
 * descriptors: a connection is named by its slot (its fixed-file index) and
 * a generation that changes each time the slot is reused.
 *
 * The boundary: once per batch of completions, the worker calls the batch
 * handler with an array of rg_event records, on the worker's own thread.
 * The handler answers with rg_conn_* verbs, which only stage work; the
 * worker submits it when the handler returns. One call per batch keeps the
 * crossing cheap and lets sends to one connection coalesce into one SQE.
 *
 * Threading: rg_conn_* and rg_worker_* verbs other than rg_worker_post must
 * be called on the worker's thread, from inside its batch handler.
 * rg_worker_post may be called from any thread.
 *
 * Errors: functions return 0 or a value >= 0 on success, -errno on failure.
 */
#ifndef RINGCORE_H
#define RINGCORE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rg_engine rg_engine;
typedef struct rg_worker rg_worker;
typedef struct rg_tls rg_tls;

/* How an idle connection waits for data; see rg_config.wait_mode. */
enum rg_wait_mode {
	RG_WAIT_RECV = 0,	/* multishot recv armed all the time */
	RG_WAIT_POLL = 1,	/* multishot poll; a one-shot recv when it fires */
};

typedef struct rg_config {
	const char *host;		/* IPv4 or IPv6 literal to listen on */
	uint16_t port;			/* 0 picks a free port: see rg_engine_port */
	uint8_t listen;			/* 0: no plain listener (a client-only engine without tls_listen) */
	uint8_t pin_cpus;		/* pin worker i to the i-th allowed CPU, round robin */
	uint32_t workers;
	uint32_t max_connections;	/* across all workers */
	uint32_t backlog;
	uint32_t buf_size;		/* bytes per provided receive buffer */
	uint32_t buf_count;		/* receive buffers per worker, power of two */
	uint32_t sq_entries;
	uint32_t cq_entries;
	uint32_t tick_ms;		/* RG_EV_TICK period; 0 for none */
	uint32_t send_queue_limit;	/* bytes queued per connection before sends fail */
	uint32_t send_pool_bytes;	/* send-chunk budget per worker; 0: sized from the table (chunks.c) */
	uint8_t wait_mode;		/* enum rg_wait_mode */
	uint8_t incremental_buffers;	/* IOU_PBUF_RING_INC where the kernel has it */
	uint8_t single_issuer;		/* SINGLE_ISSUER|DEFER_TASKRUN where available */
	uint32_t batch_events;		/* wake for this many completions... */
	uint32_t batch_wait_us;		/* ...or this long after the first (Linux 6.12); 0: the first */
	uint8_t tls_listen;		/* 1: a second listener set serving TLS; `listen` covers plain */
	uint16_t tls_port;		/* 0 picks a free port: see rg_engine_tls_port */
	rg_tls *tls;			/* certificates for tls_listen; the engine takes its own reference */
	/*
	 * Listening sockets to adopt instead of binding (a restart taking over from
	 * a running process): for each listener set, none (it is bound as usual)
	 * or exactly one per worker, and only for a set that is configured
	 * (`listen`, `tls_listen`). The engine keeps its own duplicates; the
	 * caller still owns and closes these.
	 */
	const int *listen_fds;
	uint32_t listen_fd_count;
	const int *tls_listen_fds;
	uint32_t tls_listen_fd_count;
} rg_config;

/* Fills `c` with the defaults documented in rg_config_defaults (core.c). */
void rg_config_defaults(rg_config *c);

enum rg_event_kind {
	RG_EV_OPEN = 1,		/* a connection arrived in `slot` with `gen` */
	RG_EV_DATA,		/* `result` bytes at `data`: see below */
	RG_EV_CLOSED,		/* the slot is free; `result` is 0 or -errno (cause) */
	RG_EV_TICK,		/* `result` ticks elapsed since the last one */
	RG_EV_MAIL,		/* rg_worker_post: `arg` is the tag, `data` the pointer */
	RG_EV_PEER,		/* rg_conn_peer_query: `data` a sockaddr of `result` bytes, or -errno */
};

/*
 * One completion as the handler sees it. For RG_EV_DATA, `data` points into
 * a receive buffer owned by the worker: it may be modified in place (e.g.
 * unmasked) and stays valid until the handler returns.
 */
typedef struct rg_event {
	uint8_t kind;		/* enum rg_event_kind */
	uint8_t flags;
	uint16_t reserved;
	uint32_t slot;
	uint32_t gen;
	int32_t result;
	uint8_t *data;
	uint64_t arg;
} rg_event;

typedef void (*rg_batch_fn)(void *ctx, rg_worker *w, rg_event *events, uint32_t count);

/*
 * Creates an engine: validates `cfg`, raises RLIMIT_NOFILE to its hard limit,
 * sizes each worker's fixed-file table, and binds the listeners. Nothing runs
 * until rg_engine_start. On failure returns -errno and writes one line
 * naming the cause into `err`.
 */
int rg_engine_create(const rg_config *cfg, rg_engine **out, char *err, size_t err_len);

/* Sets the handler and its per-worker context; call before rg_engine_start. */
void rg_engine_set_handler(rg_engine *e, rg_batch_fn fn);
void rg_worker_set_context(rg_worker *w, void *ctx);

/*
 * Starts the workers and waits until each has its ring. Returns 0, or -errno
 * with `err` naming the missing kernel feature (workers already started are
 * stopped again).
 */
int rg_engine_start(rg_engine *e, char *err, size_t err_len);

/* Asks every worker to stop and joins them. Safe to call once from any thread. */
void rg_engine_stop(rg_engine *e);
void rg_engine_destroy(rg_engine *e);

uint16_t rg_engine_port(const rg_engine *e);
uint32_t rg_engine_worker_count(const rg_engine *e);
rg_worker *rg_engine_worker(rg_engine *e, uint32_t index);
/* Per-worker fixed-file table size actually used (capped by RLIMIT_NOFILE). */
uint32_t rg_engine_table_size(const rg_engine *e);
/*
 * Changes how many connections the engine holds at most, from any thread;
 * a new connection past it is closed at once (refused_over_limit). The
 * tables keep the size they got at creation, so `max` is capped at their
 * total (rg_engine_table_size x workers), and 0 counts as 1. Connections
 * already open stay open when they are more than the new maximum. Returns
 * the maximum in force.
 */
uint32_t rg_engine_set_max_connections(rg_engine *e, uint32_t max);
/* One line describing what the engine fell back from, or "" (e.g. no DEFER_TASKRUN). */
const char *rg_engine_notes(const rg_engine *e);

uint32_t rg_worker_index(const rg_worker *w);

/*
 * Worker `index`'s listening socket, for handing to a process that takes
 * over; -EBADF when there is none. Valid until rg_engine_stop_accepting or
 * rg_engine_destroy, so read it before either.
 */
int rg_engine_listen_fd(const rg_engine *e, uint32_t index);
/* The same for worker `index`'s TLS listener. */
int rg_engine_tls_listen_fd(const rg_engine *e, uint32_t index);

/*
 * Stops accepting: every worker cancels its multishot accepts and closes its
 * listening sockets, plain and TLS. A process that received the same sockets
 * keeps accepting from their queues; otherwise the kernel refuses new
 * connections once the last reference is gone. Open connections are not touched. Callable from
 * any thread; the workers act on their next batch. Returns 0 or -EAGAIN when
 * a mailbox was full (call again).
 */
int rg_engine_stop_accepting(rg_engine *e);

/*
 * Multishot accepts still in flight over all workers. After
 * rg_engine_stop_accepting it falls to 0 once every cancellation completed;
 * from then on no connection can be lost to this process's accepts.
 */
uint32_t rg_engine_accepts_armed(const rg_engine *e);

/*
 * Every worker cancels and re-arms its accepts; the new ones accept what is
 * queued at once. For a process that took the listeners over: a listening
 * socket wakes one waiting accept per connection, and a wakeup that went to
 * the previous process's accept while it was being cancelled is lost, leaving
 * the connection queued until the next one arrives. Call once the previous
 * process stopped accepting (rg_engine_accepts_armed there is 0). Returns 0 or
 * -EAGAIN when a mailbox was full (call again).
 */
int rg_engine_rearm_accepts(rg_engine *e);

/*
 * Queues `len` bytes for the connection, copying them into the worker's send
 * chunks; sends to one connection within a batch leave in one SQE. Returns 0,
 * -ESTALE for a slot/generation that is not open, -EPIPE once the connection
 * is closing, -ENOBUFS past the per-connection limit, -ENOMEM when the
 * worker's send pool is dry (nothing is queued then; rg_worker_send_pressure
 * warns before that happens). The limit bounds what waits behind
 * other data: a message larger than the limit is accepted into an empty
 * queue, so the limit never makes a single message unsendable.
 */
int rg_conn_send(rg_worker *w, uint32_t slot, uint32_t gen, const void *data, uint32_t len);

/*
 * rg_conn_send that ignores the per-connection limit (not the pool), for the
 * few bytes of a control frame (pong, close) that must go out even to a
 * client whose queue is full.
 */
int rg_conn_send_control(rg_worker *w, uint32_t slot, uint32_t gen, const void *data, uint32_t len);

/*
 * rg_conn_send of `head` then `body` as one record (see rg_conn_drop_oldest):
 * both are queued or neither is. For a message built in two pieces, e.g. a
 * frame header and a payload too large for rg_conn_send_reserve.
 */
int rg_conn_send_parts(rg_worker *w, uint32_t slot, uint32_t gen, const void *head, uint32_t head_len,
		       const void *body, uint32_t body_len);

/*
 * rg_conn_send_parts that returns, on success, the bytes the connection then
 * has queued (for a caller's backpressure policy), or -errno as above: one
 * call per message where a caller would otherwise also ask rg_conn_queued.
 */
int64_t rg_conn_send_message(rg_worker *w, uint32_t slot, uint32_t gen, const void *head, uint32_t head_len,
			     const void *body, uint32_t body_len);

/*
 * Two-part form of rg_conn_send for writers that build a message in place:
 * reserve returns `len` contiguous writable bytes at the tail of the send
 * queue (len <= rg_send_chunk_capacity()) or NULL with errno set as above;
 * commit queues the first `used` of them. Nothing else may be called on the
 * same connection between the two.
 */
uint8_t *rg_conn_send_reserve(rg_worker *w, uint32_t slot, uint32_t gen, uint32_t len);
void rg_conn_send_commit(rg_worker *w, uint32_t slot, uint32_t used);
uint32_t rg_send_chunk_capacity(void);
/* Chunks one send may cover: a queue leaves in one system call up to this many. */
uint32_t rg_send_max_chunks(void);

/*
 * Shared frames, for fan-out: a message encoded once and queued on many
 * connections by reference (a 32-byte chunk each), never copied per
 * recipient. Create it with room for `len` bytes (one reference, the
 * creator's), fill rg_shared_bytes, queue it with rg_conn_send_shared on any
 * worker's connections, and release the creator's reference; the frame is
 * freed when the last queue has sent it. Reference counts are atomic, so
 * one frame may be queued by every worker. rg_conn_send_shared follows
 * rg_conn_send's rules and errors; when the worker has no reference chunk
 * left it queues a copy instead.
 */
typedef struct rg_shared rg_shared;
rg_shared *rg_shared_create(uint32_t len);
uint8_t *rg_shared_bytes(rg_shared *s);
uint32_t rg_shared_length(const rg_shared *s);
void rg_shared_retain(rg_shared *s);
void rg_shared_release(rg_shared *s);
/* References held now (the creator's included), for tests and accounting. */
uint32_t rg_shared_refs(const rg_shared *s);
int rg_conn_send_shared(rg_worker *w, uint32_t slot, uint32_t gen, rg_shared *s);

/* Bytes queued and not yet acknowledged by the kernel; 0 for a stale id. */
uint32_t rg_conn_queued(rg_worker *w, uint32_t slot, uint32_t gen);

/*
 * Dropping what a slow peer has not been sent yet. Every send call above
 * queues one record; the core keeps where records begin but not what they
 * are. `measure` is given a record's first bytes (RG_RECORD_PEEK of them, or
 * fewer at the end of the queue) and returns its length in bytes when it may
 * be dropped, minus its length when it must stay, or 0 when it cannot tell
 * (that record and the rest of its chunk stay; the walk goes on at the next
 * chunk's first record). It must not call back into the core.
 *
 * rg_conn_drop_oldest removes droppable records, oldest first, until at least
 * `want` bytes are freed or no record is left. It never touches a record of
 * which a byte has been sent or is being sent, and never part of one, so the
 * peer's byte stream stays whole; records that stay keep their order. Shared
 * frames are released as their references go. Returns the bytes freed (>= 0,
 * possibly fewer than `want`) with *records set to the records dropped, or
 * -ESTALE, -EPIPE as rg_conn_send does, or -EOPNOTSUPP on a TLS connection,
 * whose queue holds encrypted records that cannot be cut.
 */
#define RG_RECORD_PEEK 16
typedef int64_t (*rg_record_measure)(const uint8_t *head, uint32_t available);
int64_t rg_conn_drop_oldest(rg_worker *w, uint32_t slot, uint32_t gen, uint32_t want,
			    rg_record_measure measure, uint32_t *records);

enum rg_close_how {
	RG_CLOSE_FLUSH = 0,	/* send what is queued, shut down writes, close */
	RG_CLOSE_ABORT = 1,	/* drop what is queued and close now */
	RG_CLOSE_LINGER = 2,	/* send what is queued, shut down writes, close on the peer's EOF */
};

/*
 * Closes the connection; RG_EV_CLOSED follows once no request on it is in
 * flight. RG_CLOSE_LINGER keeps reading (and delivering) until the peer's EOF
 * (bounded by the caller's own timer); a later RG_CLOSE_FLUSH or
 * RG_CLOSE_ABORT on the same connection shortens the wait. Returns 0 or
 * -ESTALE. Data events already in the current batch for
 * this slot are still delivered; the handler should ignore them.
 */
int rg_conn_close(rg_worker *w, uint32_t slot, uint32_t gen, int how);

/*
 * Parks an idle connection: its multishot recv (and the kernel memory an
 * armed one holds) is replaced by a one-shot poll, which costs only its
 * request. Data that arrives while parked is read with a one-shot recv,
 * then the poll is armed again and the connection stays parked, so a lone
 * message or a pong costs three small requests and no cancel;
 * rg_conn_unpark returns a connection that turned busy to its multishot
 * recv. A new connection reads its first bytes with a one-shot recv, so
 * parking it once it has been upgraded cancels nothing either. Nothing is
 * lost or reordered either way. A no-op in RG_WAIT_POLL mode. Both return 0
 * or -ESTALE.
 */
int rg_conn_park(rg_worker *w, uint32_t slot, uint32_t gen);
int rg_conn_unpark(rg_worker *w, uint32_t slot, uint32_t gen);

/*
 * 1 when the kernel has said data is waiting on the connection (a parked
 * or poll-mode connection's poll fired) but it has not been handed up yet: a
 * peer whose pong is in flight to the handler is not silent.
 */
int rg_conn_input_pending(rg_worker *w, uint32_t slot, uint32_t gen);

/*
 * Stops reading from the connection (backpressure) until rg_conn_resume. Data
 * already received is still delivered. Returns 0 or -ESTALE.
 */
int rg_conn_pause(rg_worker *w, uint32_t slot, uint32_t gen);
int rg_conn_resume(rg_worker *w, uint32_t slot, uint32_t gen);

/*
 * Outgoing connections, for engines created without a listener (the load
 * generator). An address is registered once per worker and named by its
 * index afterwards, so a connect needs no parsing or allocation.
 *
 * rg_worker_add_address returns the index of (host, port) or -EINVAL for a
 * host that is not an IPv4/IPv6 literal, -ENOSPC past 256 addresses.
 */
int rg_worker_add_address(rg_worker *w, const char *host, uint16_t port);

/*
 * Connects to address `dst` from address `src` (its port is ignored; -1 for
 * the kernel's choice), with TCP_NODELAY, bound with IP_BIND_ADDRESS_NO_PORT
 * so the port is chosen per destination, and sends `first_len` bytes at
 * `first` as soon as it is up. `first` is read after this returns: it must
 * stay valid until the slot's RG_EV_OPEN or RG_EV_CLOSED (a load generator
 * passes its precomputed upgrade request). From Linux 6.11 the whole of it is
 * one linked chain of ring requests with no syscall; before, socket(2),
 * setsockopt and bind run as syscalls and the socket moves into the
 * fixed-file table, so it never holds an fd for long. Returns the slot, or
 * -errno (-ENFILE when the table is full). Either RG_EV_OPEN (the first bytes
 * sent or queued) or RG_EV_CLOSED (with the first error) follows for the slot.
 */
int rg_conn_connect(rg_worker *w, int dst, int src, const void *first, uint32_t first_len);

/*
 * Asks for the connection's peer address; RG_EV_PEER answers with a sockaddr
 * (valid during that handler call) or -errno. Sockets are direct descriptors,
 * so getpeername(2) cannot be used: this is a uring_cmd getsockopt
 * (SO_PEERNAME), kernel 6.7 and later; older kernels answer -EINVAL or
 * -EOPNOTSUPP. Returns 0, -ESTALE or -ENOMEM.
 */
int rg_conn_peer_query(rg_worker *w, uint32_t slot, uint32_t gen);

/*
 * Hands (tag, ptr) to worker `w`, which receives it as RG_EV_MAIL. Callable
 * from any thread; wakes the worker once per batch of posts. Returns 0 or
 * -EAGAIN when the mailbox is full (the caller retries later). Tag 0 and
 * UINT64_MAX - 2 to UINT64_MAX are reserved for the core.
 */
int rg_worker_post(rg_worker *w, uint64_t tag, void *ptr);

typedef struct rg_stats {
	uint64_t accepted;
	uint64_t refused_table_full;	/* accept found the fixed-file table full */
	uint64_t refused_over_limit;	/* closed at once: max_connections were open */
	uint64_t accept_errors;
	uint64_t closed;
	uint64_t open_now;
	uint64_t recv_bytes;
	uint64_t recv_completions;
	uint64_t recv_enobufs;		/* buffer ring ran dry; recv re-armed */
	uint64_t send_bytes;
	uint64_t send_completions;
	uint64_t send_partial;
	uint64_t send_rejected;		/* rg_conn_send refused: limit or pool */
	uint64_t peer_resets;
	uint64_t mail;
	uint64_t ticks;
	uint64_t unexpected;		/* completions with errors that indicate a bug */
	uint64_t tls_handshakes_full;
	uint64_t tls_handshakes_resumed;	/* by session ticket */
	uint64_t tls_handshake_failures;	/* closed before the handshake completed, for any reason */
	uint64_t tls_errors;		/* fatal TLS errors after the handshake (bad record, ...) */
	uint64_t cancels;		/* requests cancelled (each walks a kernel hash chain) */
	uint64_t send_pool_budget;	/* send-chunk bytes the worker may use */
	uint64_t send_pool_used;	/* in use now */
	uint64_t send_pool_peak;	/* the most in use at once */
} rg_stats;

/*
 * One worker's counters, from any thread: each field is read atomically, but
 * fields may be a moment apart (no lock is taken).
 */
void rg_worker_stats(const rg_worker *w, rg_stats *out);

/*
 * 1 while the worker's send pool is down to its reserve (of data bytes or of
 * reference chunks): the reserve covers answers to what has been read, so a
 * caller that stops reading (and stops taking new work that sends) then
 * never finds the pool dry for a message it already holds. Worker thread.
 */
int rg_worker_send_pressure(const rg_worker *w);
/* Sum over all workers. */
void rg_engine_stats(const rg_engine *e, rg_stats *out);

/*
 * Descriptor passing over a connected Unix stream socket (SCM_RIGHTS), for a
 * restart that hands the listeners to a new process. rg_fds_send sends `len`
 * (>= 1) bytes of `msg` with `count` descriptors attached; returns bytes sent
 * or -errno. rg_fds_recv reads up to `len` bytes into `msg` and up to `max`
 * descriptors (close-on-exec) into `fds`, setting `*count`; returns bytes
 * read (0 at EOF) or -errno (-EMSGSIZE when descriptors were cut off).
 */
int rg_fds_send(int sock, const int *fds, uint32_t count, const void *msg, size_t len);
int rg_fds_recv(int sock, int *fds, uint32_t max, uint32_t *count, void *msg, size_t len);

/*
 * TLS (wss://). Connections accepted on the TLS listener are decrypted by the
 * core: RG_EV_DATA carries plaintext and rg_conn_send* take plaintext, so
 * nothing above the core knows about TLS. RG_EV_OPEN comes at accept, before
 * the handshake, so the caller's handshake timer covers it.
 */
enum rg_tls_version { RG_TLS_1_2 = 0x0303, RG_TLS_1_3 = 0x0304 };

/* An extra certificate, served to clients whose SNI names `name` ("*.example.com" matches one label). */
typedef struct rg_tls_sni {
	const char *name;
	const char *cert_file;	/* PEM chain, leaf first */
	const char *key_file;	/* PEM private key */
} rg_tls_sni;

typedef struct rg_tls_config {
	const char *cert_file;		/* PEM chain, leaf first: served when no SNI entry matches */
	const char *key_file;
	const char *ciphers;		/* TLS 1.2 cipher list; NULL for ECDHE with AES-GCM or ChaCha20 */
	const char *ciphersuites;	/* TLS 1.3 suites; NULL for OpenSSL's default */
	uint16_t min_version;		/* enum rg_tls_version; 0 means TLS 1.2 */
	uint32_t sni_count;
	const rg_tls_sni *sni;
} rg_tls_config;

/*
 * Loads certificates and keys into a TLS context (ALPN http/1.1, no
 * renegotiation, stateless session tickets, OpenSSL's buffers released while
 * idle). When `previous` is given its ticket keys are kept, so sessions
 * survive a certificate reload. Returns 0, or -errno with `err` naming the
 * file or setting at fault. The caller owns one reference.
 */
int rg_tls_create(const rg_tls_config *cfg, const rg_tls *previous, rg_tls **out, char *err, size_t err_len);
void rg_tls_release(rg_tls *t);

/*
 * Makes `t` the context for new TLS connections on every worker; each
 * worker swaps it in on its own thread. Connections already open keep the
 * context they were made with. Call after rg_engine_start. Returns 0 or
 * -EAGAIN when a worker's mailbox stayed full.
 */
int rg_engine_set_tls(rg_engine *e, rg_tls *t);

/* The bound TLS port (0 without a TLS listener). */
uint16_t rg_engine_tls_port(const rg_engine *e);

/*
 * Log lines of the core: a few per run (start-up notes, kernel fallbacks,
 * rate-limited counts of refusals and failures), never one per connection or
 * message. Levels follow swift-log's order, so an embedder maps them one to one.
 */
enum rg_log_level {
	RG_LOG_DEBUG = 1,
	RG_LOG_INFO,
	RG_LOG_NOTICE,
	RG_LOG_WARNING,
	RG_LOG_ERROR,
	RG_LOG_CRITICAL,
};

/*
 * Receives one log line, without a newline; `line` is valid only during the
 * call. Called on worker threads and on the thread in rg_engine_create or
 * rg_engine_start, possibly at once: it must be thread-safe and must not call
 * back into the engine.
 */
typedef void (*rg_log_fn)(enum rg_log_level level, const char *line);

/*
 * Sends the core's log lines to `fn`, process-wide; NULL restores stderr
 * ("ringcore: warning: ..."). Set it before rg_engine_create so no line
 * goes the old way; the sink decides format and which levels to keep.
 */
void rg_log_set_sink(rg_log_fn fn);

#endif
