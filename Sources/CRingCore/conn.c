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

static struct rg_chunk *chunk_at(rg_worker *w, uint32_t i) { return &w->chunks[i]; }

int rg_internal_conns_init(rg_worker *w)
{
	size_t conn_bytes = (size_t)w->table_size * sizeof(struct rg_conn);
	size_t pool_bytes;

	w->chunk_count = w->engine->cfg.send_pool_bytes / RG_CHUNK_BYTES;
	pool_bytes = (size_t)w->chunk_count * RG_CHUNK_BYTES;
	/* Anonymous mappings: pages are touched, and so paid for, only when used. */
	w->conns = mmap(NULL, conn_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w->chunks = mmap(NULL, pool_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			 -1, 0);
	if (w->conns == MAP_FAILED || w->chunks == MAP_FAILED)
		return -ENOMEM;
	if (numa_available() >= 0) {
		numa_tonode_memory(w->conns, conn_bytes, w->node);
		numa_tonode_memory(w->chunks, pool_bytes, w->node);
	}
	w->chunk_free = RG_NONE;
	w->chunk_used = 0;
	w->dirty = calloc(w->table_size, sizeof(uint32_t));
	w->rearm = calloc(w->table_size, sizeof(uint32_t));
	return w->dirty && w->rearm ? 0 : -ENOMEM;
}

void rg_internal_conns_free(rg_worker *w)
{
	if (w->conns && w->conns != MAP_FAILED)
		munmap(w->conns, (size_t)w->table_size * sizeof(struct rg_conn));
	if (w->chunks && w->chunks != MAP_FAILED)
		munmap(w->chunks, (size_t)w->chunk_count * RG_CHUNK_BYTES);
	free(w->dirty);
	free(w->rearm);
	free(w->deferred);
	w->conns = NULL;
	w->chunks = NULL;
}

/*
 * Chunks never handed out yet are taken in order, so unused pool pages stay
 * untouched. Fresh chunks are taken only when the free list is empty, and
 * then every touched chunk is in use, so the next fresh one is chunk_used.
 */
static uint32_t chunk_alloc(rg_worker *w)
{
	uint32_t i = w->chunk_free;
	struct rg_chunk *ch;

	if (i != RG_NONE) {
		w->chunk_free = chunk_at(w, i)->next;
	} else if (w->chunk_used < w->chunk_count) {
		i = w->chunk_used;	/* fresh chunks are numbered by how many are in use */
	} else {
		return RG_NONE;
	}
	w->chunk_used++;
	ch = chunk_at(w, i);
	ch->next = RG_NONE;
	ch->start = ch->end = ch->inflight = 0;
	return i;
}

static void chunk_release(rg_worker *w, uint32_t i)
{
	chunk_at(w, i)->next = w->chunk_free;
	w->chunk_free = i;
	w->chunk_used--;
}

static struct rg_conn *live(rg_worker *w, uint32_t slot, uint32_t gen)
{
	struct rg_conn *c;

	if (slot >= w->table_size)
		return NULL;
	c = &w->conns[slot];
	return c->state != RG_CONN_FREE && c->gen == gen ? c : NULL;
}

static void mark(rg_worker *w, uint32_t slot, uint8_t flag, uint32_t *list, uint32_t *count)
{
	struct rg_conn *c = &w->conns[slot];

	if (c->flags & flag)
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

static void arm_poll(rg_worker *w, uint32_t slot)
{
	struct rg_conn *c = &w->conns[slot];
	struct io_uring_sqe *sqe = rg_internal_sqe(w);

	io_uring_prep_poll_multishot(sqe, (int)slot, POLLIN | POLLRDHUP);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, rg_udata(RG_OP_POLL, slot, c->gen));
	c->flags |= RG_CF_POLL_ARMED;
	c->inflight++;
}

/* Puts the connection back to waiting for data, in the configured way. */
void rg_internal_arm_wait(rg_worker *w, uint32_t slot)
{
	struct rg_conn *c = &w->conns[slot];

	if (c->state == RG_CONN_FREE || c->state == RG_CONN_CLOSING || c->state == RG_CONN_CONNECTING ||
	    (c->flags & (RG_CF_PAUSED | RG_CF_EOF)))
		return;
	if (w->engine->cfg.wait_mode == RG_WAIT_POLL) {
		if (!(c->flags & RG_CF_POLL_ARMED))
			arm_poll(w, slot);
		if (!(c->flags & RG_CF_RECV_ARMED) && (c->flags & RG_CF_REARM))
			arm_recv(w, slot, false);
	} else if (!(c->flags & RG_CF_RECV_ARMED)) {
		arm_recv(w, slot, true);
	}
}

static void cancel_all(rg_worker *w, uint32_t slot)
{
	struct io_uring_sqe *sqe = rg_internal_sqe(w);

	io_uring_prep_cancel_fd(sqe, (int)slot, IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD_FIXED);
	io_uring_sqe_set_data64(sqe, rg_udata(RG_OP_CANCEL, slot, w->conns[slot].gen));
}

static void drop_queue(rg_worker *w, struct rg_conn *c)
{
	uint32_t i = c->head;

	while (i != RG_NONE) {
		uint32_t next = chunk_at(w, i)->next;

		chunk_release(w, i);
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
	sqe = rg_internal_sqe(w);
	io_uring_prep_close_direct(sqe, slot);
	io_uring_sqe_set_data64(sqe, rg_udata(RG_OP_CLOSE, slot, c->gen));
	c->state = RG_CONN_FREE;
	c->flags &= RG_CF_DIRTY | RG_CF_REARM;	/* the slot may still sit on those lists */
	rg_internal_slot_released(w, slot);
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
		c->cause = cause;
	c->state = RG_CONN_CLOSING;
	if (c->inflight)
		cancel_all(w, slot);
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
	mark_rearm(w, slot);
	mark_dirty(w, slot);
}

void rg_internal_conn_opened(rg_worker *w, uint32_t slot)
{
	struct rg_conn *c;

	if (slot >= w->table_size) {
		w->stats.unexpected++;
		return;
	}
	c = &w->conns[slot];
	RG_BUG_ON(c->state != RG_CONN_FREE);
	c->gen = (c->gen + 1) & RG_GEN_MASK;
	c->state = RG_CONN_OPEN;
	c->flags &= RG_CF_DIRTY | RG_CF_REARM;
	c->inflight = 0;
	c->how = 0;
	c->queued = 0;
	c->head = c->tail = RG_NONE;
	c->cause = 0;
	w->open_count++;
	w->stats.accepted++;
	w->stats.open_now = w->open_count;
	rg_internal_arm_wait(w, slot);
	rg_internal_emit(w, RG_EV_OPEN, slot, c->gen, 0, NULL, 0);
}

void rg_internal_on_recv(rg_worker *w, struct io_uring_cqe *cqe)
{
	uint32_t slot = rg_udata_slot(cqe->user_data);
	struct rg_conn *c = &w->conns[slot];
	bool more = cqe->flags & IORING_CQE_F_MORE;
	uint8_t *data = NULL;
	int res = cqe->res;

	rg_internal_event_room(w);
	if (cqe->flags & IORING_CQE_F_BUFFER)
		data = rg_internal_buf_take(w, cqe->flags >> IORING_CQE_BUFFER_SHIFT, res > 0 ? (uint32_t)res : 0,
					    cqe->flags & IORING_CQE_F_BUF_MORE);
	RG_BUG_ON(c->state == RG_CONN_FREE || c->gen != rg_udata_gen(cqe->user_data));
	if (!more) {
		c->flags &= ~RG_CF_RECV_ARMED;
		c->inflight--;
	}
	if (res > 0) {
		w->stats.recv_bytes += (uint64_t)res;
		w->stats.recv_completions++;
		if (data && (c->state == RG_CONN_OPEN || c->state == RG_CONN_DRAINING))
			rg_internal_emit(w, RG_EV_DATA, slot, c->gen, res, data, 0);
		/* A one-shot recv (poll mode) or an ended multishot one: read again while data may remain. */
		if (!more && (w->engine->cfg.wait_mode == RG_WAIT_RECV || (cqe->flags & IORING_CQE_F_SOCK_NONEMPTY) ||
			      (uint32_t)res == w->bufs.size))
			mark_rearm(w, slot);
	} else if (res == 0) {
		c->flags |= RG_CF_EOF;
		if (c->state == RG_CONN_OPEN)
			drain(w, slot);
		else if (c->state == RG_CONN_DRAINING && (c->flags & RG_CF_SHUT))
			rg_internal_abort(w, slot, 0);
	} else if (res == -ENOBUFS) {
		/* The buffer ring ran dry: data waits in the socket, in order, until buffers return. */
		w->stats.recv_enobufs++;
		mark_rearm(w, slot);
	} else if (res != -ECANCELED && res != -EAGAIN) {
		if (res == -ECONNRESET)
			w->stats.peer_resets++;
		rg_internal_abort(w, slot, res);
	}
	rg_internal_maybe_finish(w, slot);
}

void rg_internal_on_poll(rg_worker *w, struct io_uring_cqe *cqe)
{
	uint32_t slot = rg_udata_slot(cqe->user_data);
	struct rg_conn *c = &w->conns[slot];

	RG_BUG_ON(c->state == RG_CONN_FREE || c->gen != rg_udata_gen(cqe->user_data));
	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		c->flags &= ~RG_CF_POLL_ARMED;
		c->inflight--;
	}
	if (cqe->res >= 0) {
		if (!(c->flags & RG_CF_RECV_ARMED) && c->state != RG_CONN_CLOSING && !(c->flags & RG_CF_PAUSED))
			arm_recv(w, slot, false);
		if (!(cqe->flags & IORING_CQE_F_MORE))
			mark_rearm(w, slot);
	} else if (cqe->res != -ECANCELED) {
		rg_internal_abort(w, slot, cqe->res);
	}
	rg_internal_maybe_finish(w, slot);
}

static void submit_send(rg_worker *w, uint32_t slot)
{
	struct rg_conn *c = &w->conns[slot];
	struct rg_chunk *ch;
	struct io_uring_sqe *sqe;

	/* Drop an empty head chunk left by a reserve whose commit used nothing. */
	while (c->head != RG_NONE && chunk_at(w, c->head)->start == chunk_at(w, c->head)->end) {
		uint32_t next = chunk_at(w, c->head)->next;

		chunk_release(w, c->head);
		c->head = next;
	}
	if (c->head == RG_NONE) {
		c->tail = RG_NONE;
		return;
	}
	ch = chunk_at(w, c->head);
	ch->inflight = ch->end - ch->start;
	sqe = rg_internal_sqe(w);
	io_uring_prep_send(sqe, (int)slot, ch->data + ch->start, ch->inflight, MSG_NOSIGNAL);
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

	RG_BUG_ON(c->state == RG_CONN_FREE || c->gen != rg_udata_gen(cqe->user_data));
	c->flags &= ~RG_CF_SENDING;
	c->inflight--;
	if (cqe->res > 0 && c->head != RG_NONE) {
		ch = chunk_at(w, c->head);
		w->stats.send_bytes += (uint64_t)cqe->res;
		w->stats.send_completions++;
		if ((uint32_t)cqe->res < ch->inflight)
			w->stats.send_partial++;
		ch->start += (uint32_t)cqe->res;
		c->queued -= (uint32_t)cqe->res;
		if (ch->start == ch->end) {
			c->head = ch->next;
			chunk_release(w, (uint32_t)(ch - w->chunks));
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

	RG_BUG_ON(c->state == RG_CONN_FREE || c->gen != rg_udata_gen(cqe->user_data));
	c->inflight--;
	if (cqe->res < 0 || (c->flags & RG_CF_EOF))
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

int rg_conn_send(rg_worker *w, uint32_t slot, uint32_t gen, const void *data, uint32_t len)
{
	struct rg_conn *c = live(w, slot, gen);
	const uint8_t *src = data;
	uint32_t room, need;

	if (!c)
		return -ESTALE;
	if (c->state != RG_CONN_OPEN)
		return -EPIPE;
	room = c->tail == RG_NONE ? 0 : RG_CHUNK_DATA - chunk_at(w, c->tail)->end;
	need = len > room ? (len - room + RG_CHUNK_DATA - 1) / RG_CHUNK_DATA : 0;
	if ((uint64_t)c->queued + len > w->engine->cfg.send_queue_limit || need > w->chunk_count - w->chunk_used) {
		w->stats.send_rejected++;
		return -ENOBUFS;
	}
	while (len) {
		struct rg_chunk *tail;
		uint32_t n;

		if (c->tail == RG_NONE || chunk_at(w, c->tail)->end == RG_CHUNK_DATA) {
			uint32_t fresh = chunk_alloc(w);

			if (c->tail == RG_NONE)
				c->head = fresh;
			else
				chunk_at(w, c->tail)->next = fresh;
			c->tail = fresh;
		}
		tail = chunk_at(w, c->tail);
		n = RG_CHUNK_DATA - tail->end < len ? RG_CHUNK_DATA - tail->end : len;
		memcpy(tail->data + tail->end, src, n);
		tail->end += n;
		c->queued += n;
		src += n;
		len -= n;
	}
	mark_dirty(w, slot);
	return 0;
}

uint32_t rg_send_chunk_capacity(void) { return RG_CHUNK_DATA; }

uint8_t *rg_conn_send_reserve(rg_worker *w, uint32_t slot, uint32_t gen, uint32_t len)
{
	struct rg_conn *c = live(w, slot, gen);
	uint32_t fresh;

	if (!c)
		return errno = ESTALE, NULL;
	if (c->state != RG_CONN_OPEN)
		return errno = EPIPE, NULL;
	if (len > RG_CHUNK_DATA || (uint64_t)c->queued + len > w->engine->cfg.send_queue_limit) {
		w->stats.send_rejected++;
		return errno = ENOBUFS, NULL;
	}
	if (c->tail != RG_NONE && RG_CHUNK_DATA - chunk_at(w, c->tail)->end >= len)
		return chunk_at(w, c->tail)->data + chunk_at(w, c->tail)->end;
	fresh = chunk_alloc(w);
	if (fresh == RG_NONE) {
		w->stats.send_rejected++;
		return errno = ENOBUFS, NULL;
	}
	if (c->tail == RG_NONE)
		c->head = fresh;
	else
		chunk_at(w, c->tail)->next = fresh;
	c->tail = fresh;
	return chunk_at(w, fresh)->data;
}

void rg_conn_send_commit(rg_worker *w, uint32_t slot, uint32_t used)
{
	struct rg_conn *c = &w->conns[slot];

	if (slot >= w->table_size || c->tail == RG_NONE)
		return;
	chunk_at(w, c->tail)->end += used;
	c->queued += used;
	mark_dirty(w, slot);
}

uint32_t rg_conn_queued(rg_worker *w, uint32_t slot, uint32_t gen)
{
	struct rg_conn *c = live(w, slot, gen);

	return c ? c->queued : 0;
}

int rg_conn_close(rg_worker *w, uint32_t slot, uint32_t gen, int how)
{
	struct rg_conn *c = live(w, slot, gen);

	if (!c)
		return -ESTALE;
	if (how == RG_CLOSE_ABORT || (c->flags & RG_CF_EOF && c->head == RG_NONE))
		rg_internal_abort(w, slot, 0);
	else
		drain(w, slot);
	return 0;
}

static void cancel_wait(rg_worker *w, uint32_t slot)
{
	struct rg_conn *c = &w->conns[slot];
	struct io_uring_sqe *sqe;

	if (c->flags & RG_CF_RECV_ARMED) {
		sqe = rg_internal_sqe(w);
		io_uring_prep_cancel64(sqe, rg_udata(RG_OP_RECV, slot, c->gen), 0);
		io_uring_sqe_set_data64(sqe, rg_udata(RG_OP_CANCEL, slot, c->gen));
	}
	if (c->flags & RG_CF_POLL_ARMED) {
		sqe = rg_internal_sqe(w);
		io_uring_prep_cancel64(sqe, rg_udata(RG_OP_POLL, slot, c->gen), 0);
		io_uring_sqe_set_data64(sqe, rg_udata(RG_OP_CANCEL, slot, c->gen));
	}
}

int rg_conn_pause(rg_worker *w, uint32_t slot, uint32_t gen)
{
	struct rg_conn *c = live(w, slot, gen);

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
	struct rg_conn *c = live(w, slot, gen);

	if (!c)
		return -ESTALE;
	if (c->flags & RG_CF_PAUSED) {
		c->flags &= ~RG_CF_PAUSED;
		mark_rearm(w, slot);
	}
	return 0;
}
