/*
 * Connections: the slot table, receive, send queues and closing.
 *
 * A slot is freed only once no request on its socket is in flight
 * (`inflight` counts them), so no completion can arrive for an earlier
 * occupant of a reused slot; the generation in user_data double-checks it.
 *
 * Closing: RG_CLOSE_FLUSH drains the send queue, shuts down writes and waits
 * for the peer's EOF (the gateway's close timer bounds the wait by calling
 * RG_CLOSE_ABORT); RG_CLOSE_ABORT cancels everything on the socket and closes
 * the direct descriptor once the cancellations have completed.
 */
#include <numa.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "internal.h"

int rg_internal_conns_init(rg_worker *w)
{
	size_t conn_bytes = (size_t)w->table_size * sizeof(struct rg_conn);

	/* An anonymous mapping: pages are touched, and so paid for, only when used. */
	w->conns = mmap(NULL, conn_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->conns == MAP_FAILED) {
		w->conns = NULL;
		return -ENOMEM;
	}
	if (numa_available() >= 0)
		numa_tonode_memory(w->conns, conn_bytes, w->node);
	if (rg_internal_chunks_init(w))
		return -ENOMEM;
	/*
	 * A slot is on each list at most once, except that rg_internal_flush may
	 * put a slot it has just taken off back on (a drain it starts): twice the
	 * table bounds every pass.
	 */
	w->list_cap = 2 * w->table_size + 16;
	w->dirty = calloc(w->list_cap, sizeof(uint32_t));
	w->rearm = calloc(w->list_cap, sizeof(uint32_t));
	return w->dirty && w->rearm ? 0 : -ENOMEM;
}

void rg_internal_conns_free(rg_worker *w)
{
	if (w->conns)
		munmap(w->conns, (size_t)w->table_size * sizeof(struct rg_conn));
	rg_internal_chunks_free(w);
	free(w->dirty);
	free(w->rearm);
	free(w->deferred);
	w->conns = NULL;
}

struct rg_conn *rg_internal_live(rg_worker *w, uint32_t slot, uint32_t gen)
{
	struct rg_conn *c;

	if (slot >= w->table_size)
		return NULL;
	c = &w->conns[slot];
	return c->state != RG_CONN_FREE && c->gen == gen ? c : NULL;
}

static void mark(rg_worker *w, uint32_t slot, uint16_t flag, uint32_t *list, uint32_t *count)
{
	struct rg_conn *c = &w->conns[slot];

	if (c->flags & flag)
		return;
	if (RG_BUG(w, *count == w->list_cap))
		return;
	c->flags |= flag;
	list[(*count)++] = slot;
}

static void mark_dirty(rg_worker *w, uint32_t slot) { mark(w, slot, RG_CF_DIRTY, w->dirty, &w->dirty_count); }
static void mark_rearm(rg_worker *w, uint32_t slot) { mark(w, slot, RG_CF_REARM, w->rearm, &w->rearm_count); }

static void arm_recv(rg_worker *w, uint32_t slot, bool multishot)
{
	struct rg_conn *c = &w->conns[slot];
	struct io_uring_sqe *sqe = rg_internal_sqe(w);

	if (multishot)
		io_uring_prep_recv_multishot(sqe, (int)slot, NULL, 0, 0);
	else
		io_uring_prep_recv(sqe, (int)slot, NULL, 0, 0);
	sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
	sqe->buf_group = RG_BGID;
	io_uring_sqe_set_data64(sqe, rg_udata(RG_OP_RECV, slot, c->gen));
	c->flags |= RG_CF_RECV_ARMED;
	c->inflight++;
}

static void arm_poll(rg_worker *w, uint32_t slot, bool multishot)
{
	struct rg_conn *c = &w->conns[slot];
	struct io_uring_sqe *sqe = rg_internal_sqe(w);

	if (multishot)
		io_uring_prep_poll_multishot(sqe, (int)slot, POLLIN | POLLRDHUP);
	else
		io_uring_prep_poll_add(sqe, (int)slot, POLLIN | POLLRDHUP);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, rg_udata(RG_OP_POLL, slot, c->gen));
	c->flags |= RG_CF_POLL_ARMED;
	c->inflight++;
}

/*
 * Puts the connection back to waiting for data, in the configured way.
 *
 * Parking costs no cancel where it can be helped: the kernel finds a request
 * to cancel by walking a hash chain that grows with the requests in the ring
 * (thousands per chain at a million connections), so a parked connection
 * waits with a one-shot poll, gone by the time its data is read, and a new
 * connection reads its first bytes (the upgrade request) with a one-shot
 * recv, so parking it right after the upgrade finds nothing armed.
 */
void rg_internal_arm_wait(rg_worker *w, uint32_t slot)
{
	struct rg_conn *c = &w->conns[slot];

	if (c->state == RG_CONN_FREE || c->state == RG_CONN_CLOSING || c->state == RG_CONN_CONNECTING ||
	    (c->flags & (RG_CF_PAUSED | RG_CF_EOF)))
		return;
	if (w->engine->cfg.wait_mode == RG_WAIT_POLL) {
		if (!(c->flags & RG_CF_POLL_ARMED))
			arm_poll(w, slot, true);
		if (!(c->flags & RG_CF_RECV_ARMED) && (c->flags & RG_CF_WANT_RECV)) {
			c->flags &= ~RG_CF_WANT_RECV;
			arm_recv(w, slot, false);
		}
	} else if (c->flags & RG_CF_PARKED) {
		/*
		 * One request at a time: the poll announces data, a one-shot recv
		 * takes it and the connection stays parked, then the poll goes back.
		 */
		if (c->flags & (RG_CF_RECV_ARMED | RG_CF_POLL_ARMED))
			return;
		if (c->flags & RG_CF_WANT_RECV) {
			c->flags &= ~RG_CF_WANT_RECV;
			arm_recv(w, slot, false);
		} else {
			arm_poll(w, slot, false);
		}
	} else if (!(c->flags & RG_CF_RECV_ARMED)) {
		c->flags &= ~RG_CF_WANT_RECV;	/* a multishot recv reads whatever is pending */
		arm_recv(w, slot, !(c->flags & RG_CF_FRESH));
	}
}

/* Cancels the request of kind `op` (RG_OP_RECV or RG_OP_POLL) on the connection. */
static void cancel_op(rg_worker *w, uint32_t slot, enum rg_op op)
{
	struct io_uring_sqe *sqe = rg_internal_sqe(w);

	io_uring_prep_cancel64(sqe, rg_udata(op, slot, w->conns[slot].gen), 0);
	w->stats.cancels++;
	io_uring_sqe_set_data64(sqe, rg_udata(RG_OP_CANCEL, slot, w->conns[slot].gen));
}

/*
 * Cancels every request on the connection, each by its user_data: the
 * kernel finds those through a hash, where a cancel keyed on the descriptor
 * walks every request in the ring, which made closing thousands of
 * connections at once quadratic.
 */
static void cancel_all(rg_worker *w, uint32_t slot, bool connecting)
{
	struct rg_conn *c = &w->conns[slot];

	if (c->flags & RG_CF_RECV_ARMED)
		cancel_op(w, slot, RG_OP_RECV);
	if (c->flags & RG_CF_POLL_ARMED)
		cancel_op(w, slot, RG_OP_POLL);
	if (c->flags & RG_CF_SENDING)
		cancel_op(w, slot, RG_OP_SEND);
	if (connecting)
		cancel_op(w, slot, RG_OP_CONNECT);
}

static void drop_queue(rg_worker *w, struct rg_conn *c)
{
	uint32_t i = c->head;

	while (i != RG_NONE) {
		uint32_t next = rg_chunk_at(w, i)->next;

		rg_internal_chunk_release(w, i);
		i = next;
	}
	c->head = c->tail = RG_NONE;
	c->queued = 0;
}

/* Frees the slot once nothing is in flight on it. */
void rg_internal_maybe_finish(rg_worker *w, uint32_t slot)
{
	struct rg_conn *c = &w->conns[slot];
	struct io_uring_sqe *sqe;

	if (c->state != RG_CONN_CLOSING || c->inflight)
		return;
	drop_queue(w, c);
	if (c->flags & RG_CF_TLS)
		rg_internal_tls_release(w, slot);
	if (c->flags & RG_CF_NOFILE) {
		rg_internal_slot_released(w, slot);	/* the table entry was never filled */
	} else {
		sqe = rg_internal_sqe(w);
		io_uring_prep_close_direct(sqe, slot);
		io_uring_sqe_set_data64(sqe, rg_udata(RG_OP_CLOSE, slot, c->gen));
	}
	c->state = RG_CONN_FREE;
	c->flags &= RG_CF_DIRTY | RG_CF_REARM;	/* the slot may still sit on those lists */
	atomic_fetch_sub(&w->engine->open_total, 1);
	w->open_count--;
	w->stats.closed++;
	w->stats.open_now = w->open_count;
	rg_internal_emit(w, RG_EV_CLOSED, slot, c->gen, c->cause, NULL, 0);
}

void rg_internal_abort(rg_worker *w, uint32_t slot, int cause)
{
	struct rg_conn *c = &w->conns[slot];

	if (c->state == RG_CONN_CLOSING || c->state == RG_CONN_FREE)
		return;
	if (!c->cause)
		c->cause = (int16_t)cause;
	bool connecting = c->state == RG_CONN_CONNECTING;

	c->state = RG_CONN_CLOSING;
	if (c->inflight)
		cancel_all(w, slot, connecting);
	rg_internal_maybe_finish(w, slot);
}

/* Drains what is queued, then shuts down writes; the peer's EOF completes the close. */
static void drain(rg_worker *w, uint32_t slot)
{
	struct rg_conn *c = &w->conns[slot];

	if (c->state != RG_CONN_OPEN)
		return;
	c->state = RG_CONN_DRAINING;
	c->flags &= ~RG_CF_PAUSED;	/* keep reading so the peer's EOF is seen */
	if (c->flags & RG_CF_TLS)
		rg_internal_tls_close_notify(w, slot);
	mark_rearm(w, slot);
	mark_dirty(w, slot);
}

/* Gives a free slot to a new connection: the next generation, an empty queue, no request. */
void rg_internal_conn_start(rg_worker *w, uint32_t slot, enum rg_conn_state state)
{
	struct rg_conn *c = &w->conns[slot];

	c->gen = (c->gen + 1) & RG_GEN_MASK;
	c->state = (uint8_t)state;
	c->flags &= RG_CF_DIRTY | RG_CF_REARM;	/* the slot may still sit on those lists */
	c->flags |= RG_CF_FRESH;
	c->inflight = 0;
	c->how = 0;
	c->queued = 0;
	c->head = c->tail = RG_NONE;
	c->cause = 0;
	w->open_count++;
}

void rg_internal_conn_opened(rg_worker *w, uint32_t slot, bool tls)
{
	struct rg_conn *c;
	uint32_t max_open;

	if (slot >= w->table_size) {
		w->stats.unexpected++;
		return;
	}
	c = &w->conns[slot];
	if (RG_BUG(w, c->state != RG_CONN_FREE)) {
		/* The table and the kernel's disagree: the new socket leaves, the slot's owner stays. */
		struct io_uring_sqe *sqe = rg_internal_sqe(w);

		io_uring_prep_close_direct(sqe, slot);
		io_uring_sqe_set_data64(sqe, rg_udata(RG_OP_CLOSE, slot, c->gen + 1));
		return;
	}
	max_open = atomic_load_explicit(&w->engine->max_open, memory_order_relaxed);
	if (atomic_fetch_add(&w->engine->open_total, 1) >= max_open) {
		/* The gateway is full: the new socket leaves the table again, the client sees a close. */
		struct io_uring_sqe *sqe = rg_internal_sqe(w);

		atomic_fetch_sub(&w->engine->open_total, 1);
		io_uring_prep_close_direct(sqe, slot);
		io_uring_sqe_set_data64(sqe, rg_udata(RG_OP_CLOSE, slot, c->gen));
		if (w->stats.refused_over_limit++ % 10000 == 0)
			rg_internal_log(RG_LOG_WARNING, "worker %u: %u connections open, the configured maximum; closing new ones "
					"(%llu so far)", w->index, max_open,
					(unsigned long long)w->stats.refused_over_limit);
		return;
	}
	rg_internal_conn_start(w, slot, RG_CONN_OPEN);
	w->stats.accepted++;
	w->stats.open_now = w->open_count;
	rg_internal_arm_wait(w, slot);
	rg_internal_emit(w, RG_EV_OPEN, slot, c->gen, 0, NULL, 0);
	if (tls && rg_internal_tls_accept(w, slot)) {
		rg_internal_log(RG_LOG_ERROR, "worker %u: out of memory for a TLS connection; closing it", w->index);
		rg_internal_abort(w, slot, -ENOMEM);
	}
}

/* The peer ended its stream (EOF, or a TLS close_notify). */
static void peer_eof(rg_worker *w, uint32_t slot)
{
	struct rg_conn *c = &w->conns[slot];

	/*
	 * The handler has yet to see the data that came before the EOF and may
	 * answer it, so an open connection starts draining only after the
	 * batch (rg_internal_flush).
	 */
	c->flags |= RG_CF_EOF;
	if (c->state == RG_CONN_OPEN)
		mark_dirty(w, slot);
	else if (c->state == RG_CONN_DRAINING && (c->flags & RG_CF_SHUT))
		rg_internal_abort(w, slot, 0);
}

/* Decrypts a TLS connection's ciphertext and hands up the plaintext; a fatal error flushes the alert and closes. */
static void tls_received(rg_worker *w, uint32_t slot, uint8_t *data, uint32_t len)
{
	struct rg_conn *c = &w->conns[slot];
	uint8_t *plain;
	uint32_t plain_len;
	int ret = rg_internal_tls_recv(w, slot, data, len, &plain, &plain_len);

	if (plain_len)
		rg_internal_emit(w, RG_EV_DATA, slot, c->gen, (int32_t)plain_len, plain, 0);
	if (ret == -ESHUTDOWN) {
		peer_eof(w, slot);
	} else if (ret == -EPROTO) {
		if (!c->cause)
			c->cause = -EPROTO;
		c->how = RG_CLOSE_FLUSH;
		drain(w, slot);
	}
}

void rg_internal_on_recv(rg_worker *w, struct io_uring_cqe *cqe)
{
	uint32_t slot = rg_udata_slot(cqe->user_data);
	struct rg_conn *c = &w->conns[slot];
	bool more = cqe->flags & IORING_CQE_F_MORE;
	uint8_t *data = NULL;
	int res = cqe->res;

	rg_internal_event_room(w);
	if (c->flags & RG_CF_TLS)
		rg_internal_tls_room(w, res > 0 ? (uint32_t)res : 0);
	/*
	 * A completion without data leaves an incremental buffer where it was
	 * (the kernel still holds it); a whole-buffer ring has given it up.
	 */
	if ((cqe->flags & IORING_CQE_F_BUFFER) && (res > 0 || !w->bufs.incremental))
		data = rg_internal_buf_take(w, cqe->flags >> IORING_CQE_BUFFER_SHIFT, res > 0 ? (uint32_t)res : 0,
					    cqe->flags & IORING_CQE_F_BUF_MORE);
	if (RG_BUG(w, c->state == RG_CONN_FREE || c->gen != rg_udata_gen(cqe->user_data)))
		return;
	if (!more) {
		c->flags &= ~(RG_CF_RECV_ARMED | RG_CF_FRESH);
		c->inflight--;
	}
	if (res > 0) {
		w->stats.recv_bytes += (uint64_t)res;
		w->stats.recv_completions++;
		if (data && (c->state == RG_CONN_OPEN || c->state == RG_CONN_DRAINING)) {
			if (c->flags & RG_CF_TLS)
				tls_received(w, slot, data, (uint32_t)res);
			else
				rg_internal_emit(w, RG_EV_DATA, slot, c->gen, res, data, 0);
		}
		/* Poll mode: read again at once while data may remain. */
		if (!more && ((cqe->flags & IORING_CQE_F_SOCK_NONEMPTY) || (uint32_t)res == w->bufs.size))
			c->flags |= RG_CF_WANT_RECV;
	} else if (res == 0) {
		peer_eof(w, slot);
	} else if (res == -ENOBUFS) {
		/* The buffer ring ran dry: data waits in the socket, in order, until buffers return. */
		w->stats.recv_enobufs++;
		c->flags |= RG_CF_WANT_RECV;
	} else if (res != -ECANCELED && res != -EAGAIN) {
		if (res == -ECONNRESET)
			w->stats.peer_resets++;
		rg_internal_abort(w, slot, res);
	}
	/*
	 * Whenever a wait ends, for whatever reason (a cancel from park or pause
	 * included), the connection is re-examined after the batch: arm_wait
	 * arms what its flags call for, so it is never left with nothing armed.
	 */
	if (!more)
		mark_rearm(w, slot);
	rg_internal_maybe_finish(w, slot);
}

void rg_internal_on_poll(rg_worker *w, struct io_uring_cqe *cqe)
{
	uint32_t slot = rg_udata_slot(cqe->user_data);
	struct rg_conn *c = &w->conns[slot];

	if (RG_BUG(w, c->state == RG_CONN_FREE || c->gen != rg_udata_gen(cqe->user_data)))
		return;
	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		c->flags &= ~RG_CF_POLL_ARMED;
		c->inflight--;
	}
	if (cqe->res >= 0) {
		/*
		 * Data for a parked (or poll-mode) connection: a one-shot recv takes it.
		 * A parked connection stays parked until the handler, seeing it busy,
		 * calls rg_conn_unpark.
		 */
		c->flags |= RG_CF_WANT_RECV;
		mark_rearm(w, slot);
	} else if (cqe->res != -ECANCELED) {
		rg_internal_abort(w, slot, cqe->res);
	}
	if (!(cqe->flags & IORING_CQE_F_MORE))
		mark_rearm(w, slot);	/* see rg_internal_on_recv */
	rg_internal_maybe_finish(w, slot);
}

static void submit_send(rg_worker *w, uint32_t slot)
{
	struct rg_conn *c = &w->conns[slot];
	struct rg_chunk *ch;
	struct io_uring_sqe *sqe;

	/* Drop an empty head chunk left by a reserve whose commit used nothing. */
	while (c->head != RG_NONE && rg_chunk_at(w, c->head)->start == rg_chunk_at(w, c->head)->end) {
		uint32_t next = rg_chunk_at(w, c->head)->next;

		rg_internal_chunk_release(w, c->head);
		c->head = next;
	}
	if (c->head == RG_NONE) {
		c->tail = RG_NONE;
		return;
	}
	ch = rg_chunk_at(w, c->head);
	ch->inflight = ch->end - ch->start;
	sqe = rg_internal_sqe(w);
	io_uring_prep_send(sqe, (int)slot, rg_internal_chunk_bytes(w, c->head) + ch->start, ch->inflight, MSG_NOSIGNAL);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, rg_udata(RG_OP_SEND, slot, c->gen));
	c->flags |= RG_CF_SENDING;
	c->inflight++;
}

static void submit_shutdown(rg_worker *w, uint32_t slot)
{
	struct rg_conn *c = &w->conns[slot];
	struct io_uring_sqe *sqe = rg_internal_sqe(w);

	io_uring_prep_shutdown(sqe, (int)slot, SHUT_WR);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, rg_udata(RG_OP_SHUTDOWN, slot, c->gen));
	c->flags |= RG_CF_SHUT;
	c->inflight++;
}

void rg_internal_on_send(rg_worker *w, struct io_uring_cqe *cqe)
{
	uint32_t slot = rg_udata_slot(cqe->user_data);
	struct rg_conn *c = &w->conns[slot];
	struct rg_chunk *ch;

	if (RG_BUG(w, c->state == RG_CONN_FREE || c->gen != rg_udata_gen(cqe->user_data)))
		return;
	c->flags &= ~RG_CF_SENDING;
	c->inflight--;
	if (cqe->res > 0 && c->head != RG_NONE) {
		ch = rg_chunk_at(w, c->head);
		w->stats.send_bytes += (uint64_t)cqe->res;
		w->stats.send_completions++;
		if ((uint32_t)cqe->res < ch->inflight)
			w->stats.send_partial++;
		ch->start += (uint32_t)cqe->res;
		c->queued -= (uint32_t)cqe->res;
		if (ch->start == ch->end) {
			uint32_t done = c->head;

			c->head = ch->next;
			rg_internal_chunk_release(w, done);
			if (c->head == RG_NONE)
				c->tail = RG_NONE;
		}
		if (c->state != RG_CONN_CLOSING)
			mark_dirty(w, slot);
	} else if (cqe->res != -ECANCELED || c->state != RG_CONN_CLOSING) {
		if (cqe->res == -ECONNRESET || cqe->res == -EPIPE)
			w->stats.peer_resets++;
		rg_internal_abort(w, slot, cqe->res < 0 ? cqe->res : -EPIPE);
	}
	rg_internal_maybe_finish(w, slot);
}

void rg_internal_on_shutdown(rg_worker *w, struct io_uring_cqe *cqe)
{
	uint32_t slot = rg_udata_slot(cqe->user_data);
	struct rg_conn *c = &w->conns[slot];

	if (RG_BUG(w, c->state == RG_CONN_FREE || c->gen != rg_udata_gen(cqe->user_data)))
		return;
	c->inflight--;
	if (cqe->res < 0 || (c->flags & RG_CF_EOF) || c->how == RG_CLOSE_FLUSH)
		rg_internal_abort(w, slot, cqe->res < 0 && cqe->res != -ENOTCONN ? cqe->res : 0);
	rg_internal_maybe_finish(w, slot);
}

/* Submits what the handler staged: sends, shutdowns after drains, re-armed receives. */
void rg_internal_flush(rg_worker *w)
{
	for (uint32_t i = 0; i < w->dirty_count; i++) {
		uint32_t slot = w->dirty[i];
		struct rg_conn *c = &w->conns[slot];

		c->flags &= ~RG_CF_DIRTY;
		if (c->state == RG_CONN_OPEN && (c->flags & RG_CF_EOF))
			drain(w, slot);
		if (c->state != RG_CONN_OPEN && c->state != RG_CONN_DRAINING)
			continue;
		if (!(c->flags & RG_CF_SENDING))
			submit_send(w, slot);
		if (c->state == RG_CONN_DRAINING && c->head == RG_NONE && !(c->flags & (RG_CF_SENDING | RG_CF_SHUT)))
			submit_shutdown(w, slot);
	}
	w->dirty_count = 0;
	for (uint32_t i = 0; i < w->rearm_count; i++) {
		uint32_t slot = w->rearm[i];

		rg_internal_arm_wait(w, slot);
		w->conns[slot].flags &= ~RG_CF_REARM;
	}
	w->rearm_count = 0;
}

/* Links a fresh chunk at the tail of the connection's queue. */
static void append_chunk(rg_worker *w, struct rg_conn *c, uint32_t fresh)
{
	if (c->tail == RG_NONE)
		c->head = fresh;
	else
		rg_chunk_at(w, c->tail)->next = fresh;
	c->tail = fresh;
}

/* Takes `chunk`, which follows `prev` (RG_NONE: it is the head), out of the queue and frees it. */
void rg_internal_unlink_chunk(rg_worker *w, struct rg_conn *c, uint32_t prev, uint32_t chunk)
{
	uint32_t next = rg_chunk_at(w, chunk)->next;

	if (prev == RG_NONE)
		c->head = next;
	else
		rg_chunk_at(w, prev)->next = next;
	if (c->tail == chunk)
		c->tail = prev;
	rg_internal_chunk_release(w, chunk);
}

/* Notes that a record starts at `offset` of `chunk`, unless an earlier one starts there already. */
static void mark_record(rg_worker *w, uint32_t chunk, uint32_t offset)
{
	struct rg_chunk *ch = rg_chunk_at(w, chunk);

	if (ch->first_record == RG_NONE || ch->first_record > offset)
		ch->first_record = offset;
}

/* The queue's end before an append: where to undo to, and where the appended record starts. */
struct queue_mark {
	uint32_t tail;
	uint32_t end;
	bool room;	/* the tail had room, so the append starts in it */
};

/* Queues a chunk filled elsewhere: a reference chunk from sharedsend.c. */
void rg_internal_queue_chunk(rg_worker *w, uint32_t slot, uint32_t chunk, uint32_t len)
{
	struct rg_conn *c = &w->conns[slot];

	append_chunk(w, c, chunk);
	c->queued += len;
	mark_dirty(w, slot);
}

/*
 * How big a chunk to ask for: a queue that already holds data is growing
 * within a batch (an echo of many messages, a fan-out), so it gets a large
 * chunk; each chunk leaves in one send, so few large chunks mean few sends.
 */
static uint32_t chunk_want(struct rg_conn *c, uint32_t len)
{
	return c->head != RG_NONE && len < RG_LARGE_CHUNK_DATA ? RG_LARGE_CHUNK_DATA : len;
}

static uint32_t tail_room(rg_worker *w, struct rg_conn *c)
{
	if (c->tail == RG_NONE || rg_chunk_is_ref(c->tail))
		return 0;
	return rg_chunk_capacity(c->tail) - rg_chunk_at(w, c->tail)->end;
}

static bool over_limit(rg_worker *w, struct rg_conn *c, uint32_t len)
{
	return c->queued && (uint64_t)c->queued + len > w->engine->cfg.send_queue_limit;
}

static struct queue_mark queue_end(rg_worker *w, struct rg_conn *c)
{
	return (struct queue_mark){
		.tail = c->tail,
		.end = c->tail == RG_NONE ? 0 : rg_chunk_at(w, c->tail)->end,
		.room = tail_room(w, c) > 0,
	};
}

/* Copies bytes to the tail, taking fresh chunks as needed; -ENOBUFS when the pool runs dry part way. */
static int append_bytes(rg_worker *w, struct rg_conn *c, const void *data, uint32_t len)
{
	const uint8_t *src = data;

	while (len) {
		struct rg_chunk *tail;
		uint32_t n;

		if (tail_room(w, c) == 0) {
			uint32_t fresh = rg_internal_chunk_alloc(w, chunk_want(c, len));

			if (fresh == RG_NONE)
				return -ENOBUFS;
			append_chunk(w, c, fresh);
		}
		tail = rg_chunk_at(w, c->tail);
		n = tail_room(w, c) < len ? tail_room(w, c) : len;
		memcpy(rg_chunk_data(tail) + tail->end, src, n);
		tail->end += n;
		src += n;
		len -= n;
	}
	return 0;
}

/* Gives back what was appended after `m`, so nothing half-queued goes out. */
static void undo_append(rg_worker *w, struct rg_conn *c, struct queue_mark m)
{
	for (uint32_t i = m.tail == RG_NONE ? c->head : rg_chunk_at(w, m.tail)->next; i != RG_NONE;) {
		uint32_t next = rg_chunk_at(w, i)->next;

		rg_internal_chunk_release(w, i);
		i = next;
	}
	if (m.tail == RG_NONE) {
		c->head = RG_NONE;
	} else {
		rg_chunk_at(w, m.tail)->next = RG_NONE;
		rg_chunk_at(w, m.tail)->end = m.end;
	}
	c->tail = m.tail;
	w->stats.send_rejected++;
}

/* A record of `len` bytes was appended after `m`: note where it starts, count it, send it. */
static void finish_append(rg_worker *w, uint32_t slot, struct queue_mark m, uint32_t len)
{
	struct rg_conn *c = &w->conns[slot];

	if (!len)
		return;
	if (m.room)
		mark_record(w, m.tail, m.end);
	else
		mark_record(w, m.tail == RG_NONE ? c->head : rg_chunk_at(w, m.tail)->next, 0);
	c->queued += len;
	mark_dirty(w, slot);
}

/* Appends `head` then `body` as one record: 0, or -ENOBUFS with nothing queued. */
static int append_record(rg_worker *w, uint32_t slot, const void *head, uint32_t head_len, const void *body,
			 uint32_t body_len)
{
	struct rg_conn *c = &w->conns[slot];
	struct queue_mark m = queue_end(w, c);

	if (append_bytes(w, c, head, head_len) || append_bytes(w, c, body, body_len)) {
		undo_append(w, c, m);
		return -ENOBUFS;
	}
	finish_append(w, slot, m, head_len + body_len);
	return 0;
}

/*
 * Appends one record to the send queue whatever the connection's state (TLS
 * records, a close_notify while draining): 0, or -ENOBUFS with nothing
 * queued when the worker's pool runs dry.
 */
int rg_internal_queue_raw(rg_worker *w, uint32_t slot, const void *data, uint32_t len)
{
	return append_record(w, slot, data, len, NULL, 0);
}

/* Queues one message of one or two pieces on an open connection, within the limit when `limited`. */
static int queue_message(rg_worker *w, uint32_t slot, uint32_t gen, const void *head, uint32_t head_len,
			 const void *body, uint32_t body_len, bool limited)
{
	struct rg_conn *c = rg_internal_live(w, slot, gen);
	int ret;

	if (!c)
		return -ESTALE;
	if (c->state != RG_CONN_OPEN)
		return -EPIPE;
	if (limited && over_limit(w, c, head_len + body_len)) {
		w->stats.send_rejected++;
		return -ENOBUFS;
	}
	if (!(c->flags & RG_CF_TLS))
		return append_record(w, slot, head, head_len, body, body_len);
	/* Two TLS writes; a failed one aborts the connection (tls.c), so no half goes out. */
	ret = rg_internal_tls_send(w, slot, head, head_len);
	return ret || !body_len ? ret : rg_internal_tls_send(w, slot, body, body_len);
}

int rg_conn_send(rg_worker *w, uint32_t slot, uint32_t gen, const void *data, uint32_t len)
{
	return queue_message(w, slot, gen, data, len, NULL, 0, true);
}

int rg_conn_send_control(rg_worker *w, uint32_t slot, uint32_t gen, const void *data, uint32_t len)
{
	return queue_message(w, slot, gen, data, len, NULL, 0, false);
}

int rg_conn_send_parts(rg_worker *w, uint32_t slot, uint32_t gen, const void *head, uint32_t head_len,
		       const void *body, uint32_t body_len)
{
	return queue_message(w, slot, gen, head, head_len, body, body_len, true);
}

uint32_t rg_send_chunk_capacity(void) { return RG_LARGE_CHUNK_DATA; }

uint8_t *rg_conn_send_reserve(rg_worker *w, uint32_t slot, uint32_t gen, uint32_t len)
{
	struct rg_conn *c = rg_internal_live(w, slot, gen);
	uint32_t fresh;

	if (!c)
		return errno = ESTALE, NULL;
	if (c->state != RG_CONN_OPEN)
		return errno = EPIPE, NULL;
	if (len > RG_LARGE_CHUNK_DATA || over_limit(w, c, len)) {
		w->stats.send_rejected++;
		return errno = ENOBUFS, NULL;
	}
	if (c->flags & RG_CF_TLS)
		return rg_internal_tls_scratch(w);	/* encrypted into the queue at commit */
	if (tail_room(w, c) >= len)
		return rg_chunk_data(rg_chunk_at(w, c->tail)) + rg_chunk_at(w, c->tail)->end;
	fresh = rg_internal_chunk_alloc(w, chunk_want(c, len));
	if (fresh == RG_NONE) {
		w->stats.send_rejected++;
		return errno = ENOBUFS, NULL;
	}
	append_chunk(w, c, fresh);
	return rg_chunk_data(rg_chunk_at(w, fresh));
}

void rg_conn_send_commit(rg_worker *w, uint32_t slot, uint32_t used)
{
	struct rg_conn *c = &w->conns[slot];

	if (slot >= w->table_size)
		return;
	if (c->flags & RG_CF_TLS) {
		rg_internal_tls_send(w, slot, rg_internal_tls_scratch(w), used);
		return;
	}
	if (c->tail == RG_NONE || !used)
		return;
	mark_record(w, c->tail, rg_chunk_at(w, c->tail)->end);
	rg_chunk_at(w, c->tail)->end += used;
	c->queued += used;
	mark_dirty(w, slot);
}

uint32_t rg_conn_queued(rg_worker *w, uint32_t slot, uint32_t gen)
{
	struct rg_conn *c = rg_internal_live(w, slot, gen);

	return c ? c->queued : 0;
}

int rg_conn_close(rg_worker *w, uint32_t slot, uint32_t gen, int how)
{
	struct rg_conn *c = rg_internal_live(w, slot, gen);

	if (!c)
		return -ESTALE;
	if (how == RG_CLOSE_ABORT || (c->flags & RG_CF_EOF && c->head == RG_NONE)) {
		rg_internal_abort(w, slot, 0);
		return 0;
	}
	if (c->state == RG_CONN_OPEN)
		c->how = (uint8_t)how;
	else if (how == RG_CLOSE_FLUSH)
		c->how = RG_CLOSE_FLUSH;	/* a lingering close may be cut short, never lengthened */
	if (c->state == RG_CONN_OPEN)
		drain(w, slot);
	else if (c->state == RG_CONN_DRAINING && c->how == RG_CLOSE_FLUSH && (c->flags & RG_CF_SHUT))
		rg_internal_abort(w, slot, 0);	/* already flushed and shut: nothing left to wait for */
	return 0;
}

static void cancel_wait(rg_worker *w, uint32_t slot)
{
	struct rg_conn *c = &w->conns[slot];

	if (c->flags & RG_CF_RECV_ARMED)
		cancel_op(w, slot, RG_OP_RECV);
	if (c->flags & RG_CF_POLL_ARMED)
		cancel_op(w, slot, RG_OP_POLL);
}

int rg_conn_unpark(rg_worker *w, uint32_t slot, uint32_t gen)
{
	struct rg_conn *c = rg_internal_live(w, slot, gen);

	if (!c)
		return -ESTALE;
	if (!(c->flags & RG_CF_PARKED))
		return 0;
	c->flags &= ~RG_CF_PARKED;
	/* Usually nothing: the one-shot poll was used up by the data that made the connection busy. */
	if (c->flags & RG_CF_POLL_ARMED)
		cancel_op(w, slot, RG_OP_POLL);
	mark_rearm(w, slot);
	return 0;
}

int rg_conn_input_pending(rg_worker *w, uint32_t slot, uint32_t gen)
{
	struct rg_conn *c = rg_internal_live(w, slot, gen);
	bool one_shot;

	if (!c)
		return 0;
	/* A one-shot recv is only issued once the poll saw data; a multishot one waits for it. */
	one_shot = (w->engine->cfg.wait_mode == RG_WAIT_POLL || (c->flags & RG_CF_PARKED)) && !(c->flags & RG_CF_FRESH);
	return (c->flags & RG_CF_WANT_RECV) || (one_shot && (c->flags & RG_CF_RECV_ARMED)) ? 1 : 0;
}

int rg_conn_park(rg_worker *w, uint32_t slot, uint32_t gen)
{
	struct rg_conn *c = rg_internal_live(w, slot, gen);

	if (!c)
		return -ESTALE;
	if (w->engine->cfg.wait_mode != RG_WAIT_RECV || c->state != RG_CONN_OPEN ||
	    (c->flags & (RG_CF_PARKED | RG_CF_PAUSED | RG_CF_EOF)))
		return 0;
	c->flags |= RG_CF_PARKED;
	/* A multishot recv must go; a fresh connection's one-shot recv ends by itself. */
	if ((c->flags & RG_CF_RECV_ARMED) && !(c->flags & RG_CF_FRESH))
		cancel_op(w, slot, RG_OP_RECV);
	mark_rearm(w, slot);
	return 0;
}

int rg_conn_pause(rg_worker *w, uint32_t slot, uint32_t gen)
{
	struct rg_conn *c = rg_internal_live(w, slot, gen);

	if (!c)
		return -ESTALE;
	if (c->state != RG_CONN_OPEN || (c->flags & RG_CF_PAUSED))
		return 0;
	c->flags |= RG_CF_PAUSED;
	cancel_wait(w, slot);
	return 0;
}

int rg_conn_resume(rg_worker *w, uint32_t slot, uint32_t gen)
{
	struct rg_conn *c = rg_internal_live(w, slot, gen);

	if (!c)
		return -ESTALE;
	if (c->flags & RG_CF_PAUSED) {
		c->flags &= ~RG_CF_PAUSED;
		mark_rearm(w, slot);
	}
	return 0;
}
