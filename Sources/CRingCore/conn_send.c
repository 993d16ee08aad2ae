/*
 * Connections, send side: queueing messages and records into send chunks,
 * submitting the head chunk's send, its completion, and the shutdown of
 * writes that ends a drain. Kept apart from receiving because a send queue
 * is its own state; conn.c decides when to flush it and frees it on close.
 */
#include <string.h>
#include <sys/socket.h>

#include "internal.h"

/*
 * Sends what the connection has queued, from its head chunk on: one send for
 * a single chunk, one sendmsg over up to RG_SEND_CHUNKS chunks otherwise, so
 * everything queued in one batch (echo replies, publications, a large
 * message) leaves in one system call. Each chunk notes how much of it is in
 * flight, which drop-oldest (dropsend.c) must not touch.
 */
void rg_internal_submit_send(rg_worker *w, uint32_t slot)
{
	struct rg_conn *c = &w->conns[slot];
	struct rg_sendvec *v;
	struct io_uring_sqe *sqe;
	uint32_t n = 0, vec;

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
	sqe = rg_internal_sqe(w);
	/* Without a chunk for the vector (the pool is dry) the head chunk goes alone. */
	vec = rg_chunk_at(w, c->head)->next == RG_NONE ? RG_NONE : rg_internal_chunk_alloc(w, sizeof(*v));
	if (vec == RG_NONE) {
		struct rg_chunk *ch = rg_chunk_at(w, c->head);

		ch->inflight = ch->end - ch->start;
		io_uring_prep_send(sqe, (int)slot, rg_internal_chunk_bytes(w, c->head) + ch->start, ch->inflight,
				   MSG_NOSIGNAL);
		n = 1;
	} else {
		v = (struct rg_sendvec *)rg_chunk_data(rg_chunk_at(w, vec));
		rg_chunk_at(w, c->head)->sendvec = vec;
		for (uint32_t i = c->head; i != RG_NONE && n < RG_SEND_CHUNKS; i = rg_chunk_at(w, i)->next, n++) {
			struct rg_chunk *ch = rg_chunk_at(w, i);

			ch->inflight = ch->end - ch->start;
			v->iov[n].iov_base = rg_internal_chunk_bytes(w, i) + ch->start;
			v->iov[n].iov_len = ch->inflight;
		}
		v->msg = (struct msghdr){ .msg_iov = v->iov, .msg_iovlen = n };
		io_uring_prep_sendmsg(sqe, (int)slot, &v->msg, MSG_NOSIGNAL);
	}
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, rg_udata(RG_OP_SEND, slot, c->gen));
	c->send_chunks = (uint8_t)n;
	c->flags |= RG_CF_SENDING;
	c->inflight++;
}

/*
 * Takes `sent` bytes off the chunks the send in flight covered, oldest first,
 * freeing the ones sent whole, and clears what they had in flight. Returns
 * whether the kernel took less than was offered.
 */
static bool settle_send(rg_worker *w, struct rg_conn *c, uint32_t sent)
{
	uint32_t offered = 0, taken = 0;
	uint32_t i = c->head;

	for (uint32_t k = 0; k < c->send_chunks && i != RG_NONE; k++) {
		struct rg_chunk *ch = rg_chunk_at(w, i);
		uint32_t next = ch->next;
		uint32_t take = sent - taken < ch->inflight ? sent - taken : ch->inflight;

		offered += ch->inflight;
		taken += take;
		ch->inflight = 0;
		ch->start += take;
		/* Only a prefix of the queue is sent whole: free it, and move the head past it. */
		if (i == c->head && ch->start == ch->end) {
			c->head = next;
			rg_internal_chunk_release(w, i);
		}
		i = next;
	}
	c->queued -= taken;
	if (c->head == RG_NONE)
		c->tail = RG_NONE;
	c->send_chunks = 0;
	return taken < offered;
}

void rg_internal_submit_shutdown(rg_worker *w, uint32_t slot)
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

	if (RG_BUG(w, c->state == RG_CONN_FREE || c->gen != rg_udata_gen(cqe->user_data)))
		return;
	c->flags &= ~RG_CF_SENDING;
	c->inflight--;
	/* The send is over, whatever its result: its vector goes back to the pool. */
	if (c->head != RG_NONE && rg_chunk_at(w, c->head)->sendvec != RG_NONE) {
		rg_internal_chunk_release(w, rg_chunk_at(w, c->head)->sendvec);
		rg_chunk_at(w, c->head)->sendvec = RG_NONE;
	}
	if (cqe->res > 0 && c->head != RG_NONE) {
		rg_stat_add(&w->stats.send_bytes, (uint64_t)cqe->res);
		rg_stat_add(&w->stats.send_completions, 1);
		if (settle_send(w, c, (uint32_t)cqe->res))
			rg_stat_add(&w->stats.send_partial, 1);
		if (c->state != RG_CONN_CLOSING)
			rg_internal_mark_dirty(w, slot);
	} else if (cqe->res != -ECANCELED || c->state != RG_CONN_CLOSING) {
		if (cqe->res == -ECONNRESET || cqe->res == -EPIPE)
			rg_stat_add(&w->stats.peer_resets, 1);
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
	rg_internal_mark_dirty(w, slot);
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

/* Copies bytes to the tail, taking fresh chunks as needed; -ENOMEM when the pool runs dry part way. */
static int append_bytes(rg_worker *w, struct rg_conn *c, const void *data, uint32_t len)
{
	const uint8_t *src = data;

	while (len) {
		struct rg_chunk *tail;
		uint32_t n;

		if (tail_room(w, c) == 0) {
			uint32_t fresh = rg_internal_chunk_alloc(w, chunk_want(c, len));

			if (fresh == RG_NONE)
				return -ENOMEM;
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
	rg_stat_add(&w->stats.send_rejected, 1);
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
	rg_internal_mark_dirty(w, slot);
}

/*
 * The common case of append_record, kept short because every message takes
 * it: the record fits the room left in the tail chunk. False when it does not.
 */
static inline bool append_to_tail(rg_worker *w, uint32_t slot, const void *head, uint32_t head_len,
				  const void *body, uint32_t body_len)
{
	struct rg_conn *c = &w->conns[slot];
	uint32_t len = head_len + body_len;
	struct rg_chunk *t;
	uint8_t *dst;

	if (c->tail == RG_NONE || rg_chunk_is_ref(c->tail))
		return false;
	t = rg_chunk_at(w, c->tail);
	if (rg_chunk_capacity(c->tail) - t->end < len || !len)
		return false;
	dst = rg_chunk_data(t) + t->end;
	memcpy(dst, head, head_len);
	if (body_len)
		memcpy(dst + head_len, body, body_len);
	if (t->first_record == RG_NONE || t->first_record > t->end)
		t->first_record = t->end;
	t->end += len;
	c->queued += len;
	if (!(c->flags & RG_CF_DIRTY))
		rg_internal_mark_dirty(w, slot);
	return true;
}

/* Appends `head` then `body` as one record: 0, or -ENOMEM (the pool is dry) with nothing queued. */
static int append_record(rg_worker *w, uint32_t slot, const void *head, uint32_t head_len, const void *body,
			 uint32_t body_len)
{
	struct rg_conn *c = &w->conns[slot];
	struct queue_mark m;

	if (append_to_tail(w, slot, head, head_len, body, body_len))
		return 0;
	m = queue_end(w, c);

	if (append_bytes(w, c, head, head_len) || append_bytes(w, c, body, body_len)) {
		undo_append(w, c, m);
		return -ENOMEM;
	}
	finish_append(w, slot, m, head_len + body_len);
	return 0;
}

/*
 * Appends one record to the send queue whatever the connection's state (TLS
 * records, a close_notify while draining): 0, or -ENOMEM with nothing
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
		rg_stat_add(&w->stats.send_rejected, 1);
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

int64_t rg_conn_send_message(rg_worker *w, uint32_t slot, uint32_t gen, const void *head, uint32_t head_len,
			     const void *body, uint32_t body_len)
{
	struct rg_conn *c = rg_internal_live(w, slot, gen);
	int ret;

	/* Every echo and worker SEND comes here: an open plain connection within its limit whose
	 * tail chunk has room takes the short way, the rest the general one. */
	if (c && c->state == RG_CONN_OPEN && !(c->flags & RG_CF_TLS) && !over_limit(w, c, head_len + body_len) &&
	    append_to_tail(w, slot, head, head_len, body, body_len))
		return c->queued;
	ret = queue_message(w, slot, gen, head, head_len, body, body_len, true);
	return ret ? ret : (int64_t)w->conns[slot].queued;
}

uint32_t rg_send_chunk_capacity(void) { return RG_LARGE_CHUNK_DATA; }

uint32_t rg_send_max_chunks(void) { return RG_SEND_CHUNKS; }

uint8_t *rg_conn_send_reserve(rg_worker *w, uint32_t slot, uint32_t gen, uint32_t len)
{
	struct rg_conn *c = rg_internal_live(w, slot, gen);
	uint32_t fresh;

	if (!c)
		return errno = ESTALE, NULL;
	if (c->state != RG_CONN_OPEN)
		return errno = EPIPE, NULL;
	if (len > RG_LARGE_CHUNK_DATA || over_limit(w, c, len)) {
		rg_stat_add(&w->stats.send_rejected, 1);
		return errno = ENOBUFS, NULL;
	}
	if (c->flags & RG_CF_TLS)
		return rg_internal_tls_scratch(w);	/* encrypted into the queue at commit */
	if (tail_room(w, c) >= len)
		return rg_chunk_data(rg_chunk_at(w, c->tail)) + rg_chunk_at(w, c->tail)->end;
	fresh = rg_internal_chunk_alloc(w, chunk_want(c, len));
	if (fresh == RG_NONE)
		fresh = rg_internal_chunk_alloc(w, len);	/* the budget may still hold a smaller one */
	if (fresh == RG_NONE) {
		rg_stat_add(&w->stats.send_rejected, 1);
		return errno = ENOMEM, NULL;
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
	rg_internal_mark_dirty(w, slot);
}

uint32_t rg_conn_queued(rg_worker *w, uint32_t slot, uint32_t gen)
{
	struct rg_conn *c = rg_internal_live(w, slot, gen);

	return c ? c->queued : 0;
}
