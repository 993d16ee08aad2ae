/*
 * Connections, receive side: arming a connection's wait (multishot recv, poll
 * or one-shot recv), park, unpark and pause, the recv and poll completions,
 * the peer's EOF and the hand-off of TLS input. Kept apart from sending
 * because the two sides meet only in a connection's flags and lists (conn.c).
 */
#include <poll.h>

#include "internal.h"

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
		rg_internal_mark_dirty(w, slot);
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
		rg_internal_drain(w, slot);
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
		rg_stat_add(&w->stats.recv_bytes, (uint64_t)res);
		rg_stat_add(&w->stats.recv_completions, 1);
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
		rg_stat_add(&w->stats.recv_enobufs, 1);
		c->flags |= RG_CF_WANT_RECV;
	} else if (res != -ECANCELED && res != -EAGAIN) {
		if (res == -ECONNRESET)
			rg_stat_add(&w->stats.peer_resets, 1);
		rg_internal_abort(w, slot, res);
	}
	/*
	 * Whenever a wait ends, for whatever reason (a cancel from park or pause
	 * included), the connection is re-examined after the batch: arm_wait
	 * arms what its flags call for, so it is never left with nothing armed.
	 */
	if (!more)
		rg_internal_mark_rearm(w, slot);
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
		rg_internal_mark_rearm(w, slot);
	} else if (cqe->res != -ECANCELED) {
		rg_internal_abort(w, slot, cqe->res);
	}
	if (!(cqe->flags & IORING_CQE_F_MORE))
		rg_internal_mark_rearm(w, slot);	/* see rg_internal_on_recv */
	rg_internal_maybe_finish(w, slot);
}

static void cancel_wait(rg_worker *w, uint32_t slot)
{
	struct rg_conn *c = &w->conns[slot];

	if (c->flags & RG_CF_RECV_ARMED)
		rg_internal_cancel_op(w, slot, RG_OP_RECV);
	if (c->flags & RG_CF_POLL_ARMED)
		rg_internal_cancel_op(w, slot, RG_OP_POLL);
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
		rg_internal_cancel_op(w, slot, RG_OP_POLL);
	rg_internal_mark_rearm(w, slot);
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
		rg_internal_cancel_op(w, slot, RG_OP_RECV);
	rg_internal_mark_rearm(w, slot);
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
		rg_internal_mark_rearm(w, slot);
	}
	return 0;
}
