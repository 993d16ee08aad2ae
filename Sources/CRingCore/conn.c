/*
 * Connections: the slot table and each connection's life, from its start to
 * the freed slot, with the worker's dirty and re-arm lists and the flush that
 * works them off after each batch. Closing is here, apart from receiving
 * (conn_recv.c) and sending (conn_send.c), because it ends both sides.
 */
#include <numa.h>
#include <stdlib.h>
#include <sys/mman.h>

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

void rg_internal_mark_dirty(rg_worker *w, uint32_t slot) { mark(w, slot, RG_CF_DIRTY, w->dirty, &w->dirty_count); }
void rg_internal_mark_rearm(rg_worker *w, uint32_t slot) { mark(w, slot, RG_CF_REARM, w->rearm, &w->rearm_count); }

/*
 * A slot is freed only once no request on its socket is in flight
 * (`inflight` counts them), so no completion can arrive for an earlier
 * occupant of a reused slot; the generation in user_data double-checks it.
 *
 * Closing: RG_CLOSE_FLUSH drains the send queue, shuts down writes and waits
 * for the peer's EOF (the gateway's close timer bounds the wait by calling
 * RG_CLOSE_ABORT); RG_CLOSE_ABORT cancels everything on the socket and closes
 * the direct descriptor once the cancellations have completed.
 */

/* Cancels the request of kind `op` (RG_OP_RECV or RG_OP_POLL) on the connection. */
void rg_internal_cancel_op(rg_worker *w, uint32_t slot, enum rg_op op)
{
	struct io_uring_sqe *sqe = rg_internal_sqe(w);

	io_uring_prep_cancel64(sqe, rg_udata(op, slot, w->conns[slot].gen), 0);
	rg_stat_add(&w->stats.cancels, 1);
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
		rg_internal_cancel_op(w, slot, RG_OP_RECV);
	if (c->flags & RG_CF_POLL_ARMED)
		rg_internal_cancel_op(w, slot, RG_OP_POLL);
	if (c->flags & RG_CF_SENDING)
		rg_internal_cancel_op(w, slot, RG_OP_SEND);
	if (connecting)
		rg_internal_cancel_op(w, slot, RG_OP_CONNECT);
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
	rg_stat_add(&w->stats.closed, 1);
	rg_stat_set(&w->stats.open_now, w->open_count);
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
void rg_internal_drain(rg_worker *w, uint32_t slot)
{
	struct rg_conn *c = &w->conns[slot];

	if (c->state != RG_CONN_OPEN)
		return;
	c->state = RG_CONN_DRAINING;
	c->flags &= ~RG_CF_PAUSED;	/* keep reading so the peer's EOF is seen */
	if (c->flags & RG_CF_TLS)
		rg_internal_tls_close_notify(w, slot);
	rg_internal_mark_rearm(w, slot);
	rg_internal_mark_dirty(w, slot);
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
		rg_stat_add(&w->stats.unexpected, 1);
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
		if (rg_stat_add(&w->stats.refused_over_limit, 1) % 10000 == 0)
			rg_internal_log(RG_LOG_WARNING, "worker %u: %u connections open, the configured maximum; closing new ones "
					"(%llu so far)", w->index, max_open,
					(unsigned long long)w->stats.refused_over_limit);
		return;
	}
	rg_internal_conn_start(w, slot, RG_CONN_OPEN);
	rg_stat_add(&w->stats.accepted, 1);
	rg_stat_set(&w->stats.open_now, w->open_count);
	rg_internal_arm_wait(w, slot);
	rg_internal_emit(w, RG_EV_OPEN, slot, c->gen, 0, NULL, 0);
	if (tls && rg_internal_tls_accept(w, slot)) {
		rg_internal_log(RG_LOG_ERROR, "worker %u: out of memory for a TLS connection; closing it", w->index);
		rg_internal_abort(w, slot, -ENOMEM);
	}
}

/* Submits what the handler staged: sends, shutdowns after drains, re-armed receives. */
void rg_internal_flush(rg_worker *w)
{
	for (uint32_t i = 0; i < w->dirty_count; i++) {
		uint32_t slot = w->dirty[i];
		struct rg_conn *c = &w->conns[slot];

		c->flags &= ~RG_CF_DIRTY;
		if (c->state == RG_CONN_OPEN && (c->flags & RG_CF_EOF))
			rg_internal_drain(w, slot);
		if (c->state != RG_CONN_OPEN && c->state != RG_CONN_DRAINING)
			continue;
		if (!(c->flags & RG_CF_SENDING))
			rg_internal_submit_send(w, slot);
		if (c->state == RG_CONN_DRAINING && c->head == RG_NONE && !(c->flags & (RG_CF_SENDING | RG_CF_SHUT)))
			rg_internal_submit_shutdown(w, slot);
	}
	w->dirty_count = 0;
	for (uint32_t i = 0; i < w->rearm_count; i++) {
		uint32_t slot = w->rearm[i];

		rg_internal_arm_wait(w, slot);
		w->conns[slot].flags &= ~RG_CF_REARM;
	}
	w->rearm_count = 0;
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
		rg_internal_drain(w, slot);
	else if (c->state == RG_CONN_DRAINING && c->how == RG_CLOSE_FLUSH && (c->flags & RG_CF_SHUT))
		rg_internal_abort(w, slot, 0);	/* already flushed and shut: nothing left to wait for */
	return 0;
}
