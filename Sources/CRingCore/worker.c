/*
 * One worker: a pthread pinned to a CPU, its ring, and the completion loop.
 *
 * The loop waits for at least one completion, walks the CQ once, turns the
 * completions into rg_event records and hands them to the batch handler,
 * then recycles receive buffers and submits the sends, re-arms and closes
 * that the handler staged. The dispatch switch stays whole so the hot path
 * reads top to bottom.
 */
#include <numa.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*
 * Chooses the worker's CPU: the i-th CPU this process may run on, so workers
 * spread over every core before sharing one. Returns -1 when pinning is off.
 */
static int pick_cpu(rg_worker *w)
{
	cpu_set_t allowed;
	int n = 0, want;

	if (!w->engine->cfg.pin_cpus || sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		return -1;
	n = CPU_COUNT(&allowed);
	if (n <= 0)
		return -1;
	want = (int)(w->index % (uint32_t)n);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &allowed) && want-- == 0)
			return cpu;
	return -1;
}

static void pin(rg_worker *w)
{
	cpu_set_t set;

	w->cpu = pick_cpu(w);
	w->node = 0;
	if (w->cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0)
		rg_internal_log(RG_LOG_WARNING, "worker %u: cannot pin to CPU %d; running unpinned", w->index, w->cpu);
	if (numa_available() >= 0) {
		w->node = numa_node_of_cpu(w->cpu);
		if (w->node < 0)
			w->node = 0;
		numa_set_preferred(w->node);
	}
}

static int ring_setup(rg_worker *w, char *err, size_t err_len)
{
	const rg_config *c = &w->engine->cfg;
	struct io_uring_params p;
	int ret;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
	p.cq_entries = c->cq_entries;
	if (c->single_issuer)
		p.flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	ret = io_uring_queue_init_params(c->sq_entries, &w->ring, &p);
	if (ret == -EINVAL && c->single_issuer) {
		if (w->index == 0)
			snprintf(w->engine->notes, sizeof(w->engine->notes),
				 "no IORING_SETUP_DEFER_TASKRUN (Linux 6.1): rings run task work eagerly");
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN;
		p.cq_entries = c->cq_entries;
		ret = io_uring_queue_init_params(c->sq_entries, &w->ring, &p);
	}
	if (ret == -ENOSYS)
		return snprintf(err, err_len, "io_uring is not available in this kernel (Linux 6.0+ needed)"), ret;
	if (ret == -EPERM)
		return snprintf(err, err_len, "io_uring is disabled (sysctl kernel.io_uring_disabled)"), ret;
	if (ret < 0)
		return snprintf(err, err_len, "io_uring_setup failed: %s", strerror(-ret)), ret;
	if (!(p.features & IORING_FEAT_NODROP))
		rg_internal_log(RG_LOG_WARNING, "worker %u: kernel lacks IORING_FEAT_NODROP (5.5); completions may be lost",
				w->index);
	w->ring_registered = io_uring_register_ring_fd(&w->ring) == 1;
	rg_internal_batch_wait_setup(w, p.features);

	ret = io_uring_register_files_sparse(&w->ring, w->table_size);
	if (ret < 0)
		return snprintf(err, err_len, "cannot register a %u-entry fixed-file table: %s%s", w->table_size,
				strerror(-ret),
				ret == -EMFILE ? " (larger than the open-file limit)" : ""), ret;
	return 0;
}

/* Arms the worker's periodic tick; a multishot timeout (6.4) when available. */
static void tick_arm(rg_worker *w)
{
	struct io_uring_sqe *sqe;
	uint32_t ms = w->engine->cfg.tick_ms;

	if (!ms)
		return;
	w->tick_ts.tv_sec = ms / 1000;
	w->tick_ts.tv_nsec = (long long)(ms % 1000) * 1000000;
	sqe = rg_internal_sqe(w);
	io_uring_prep_timeout(sqe, &w->tick_ts, 0, w->tick_multishot ? IORING_TIMEOUT_MULTISHOT : 0);
	io_uring_sqe_set_data64(sqe, rg_udata(RG_OP_TICK, 0, 0));
}

static void started(rg_worker *w, int error, const char *err)
{
	rg_engine *e = w->engine;

	pthread_mutex_lock(&e->start_lock);
	if (error && !e->start_error) {
		e->start_error = error;
		snprintf(e->start_err, sizeof(e->start_err), "worker %u: %s", w->index, err);
	}
	e->started++;
	pthread_cond_broadcast(&e->start_cond);
	pthread_mutex_unlock(&e->start_lock);
}

struct io_uring_sqe *rg_internal_sqe(rg_worker *w)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);

	/*
	 * The SQ is full: submit to make room. Completions already handled are
	 * retired one by one in run(), so a kernel waiting for CQ space to flush
	 * its overflow list (-EBUSY) finds it and the loop ends.
	 */
	for (unsigned tries = 0; !sqe; tries++) {
		int ret = io_uring_submit(&w->ring);

		if (ret < 0 && tries % 100000 == 1)
			rg_internal_log(RG_LOG_ERROR, "worker %u: cannot submit to make room in the SQ: %s", w->index,
					strerror(-ret));
		sqe = io_uring_get_sqe(&w->ring);
	}
	return sqe;
}

static __thread bool handler_running;

/*
 * Calls the handler for the pending events, then recycles the buffers they
 * pointed into and delivers any events the handler's own verbs raised.
 */
static void deliver(rg_worker *w)
{
	while (w->event_count) {
		uint32_t n = w->event_count;

		handler_running = true;
		w->engine->handler(w->ctx, w, w->events, n);
		handler_running = false;
		w->event_count = 0;
		w->tls_plain_used = 0;	/* the handler is done with the plaintext it was shown */
		rg_internal_buf_recycle(w);
		if (w->deferred_count) {
			uint32_t take = w->deferred_count < RG_EVENT_BATCH ? w->deferred_count : RG_EVENT_BATCH;

			memcpy(w->events, w->deferred, take * sizeof(rg_event));
			memmove(w->deferred, w->deferred + take, (w->deferred_count - take) * sizeof(rg_event));
			w->deferred_count -= take;
			w->event_count = take;
		}
	}
}

/* Hands up what is pending now (outside the handler): frees the event array and TLS arena. */
void rg_internal_deliver_now(rg_worker *w)
{
	if (!handler_running)
		deliver(w);
}

/* Makes room for one event before a receive buffer is taken for it. */
void rg_internal_event_room(rg_worker *w)
{
	if (!handler_running && w->event_count == RG_EVENT_BATCH)
		deliver(w);
}

void rg_internal_emit(rg_worker *w, uint8_t kind, uint32_t slot, uint32_t gen, int32_t result,
		      uint8_t *data, uint64_t arg)
{
	rg_event *ev;

	if (handler_running) {
		if (w->deferred_count == w->deferred_cap) {
			uint32_t cap = w->deferred_cap ? w->deferred_cap * 2 : 64;
			rg_event *grown = realloc(w->deferred, cap * sizeof(rg_event));

			if (!grown) {
				rg_internal_log(RG_LOG_ERROR, "worker %u: out of memory for events; one lost", w->index);
				rg_stat_add(&w->stats.unexpected, 1);
				return;
			}
			w->deferred = grown;
			w->deferred_cap = cap;
		}
		ev = &w->deferred[w->deferred_count++];
	} else {
		if (w->event_count == RG_EVENT_BATCH)
			deliver(w);
		ev = &w->events[w->event_count++];
	}
	ev->kind = kind;
	ev->flags = 0;
	ev->reserved = 0;
	ev->slot = slot;
	ev->gen = gen;
	ev->result = result;
	ev->data = data;
	ev->arg = arg;
}

static void on_tick(rg_worker *w, struct io_uring_cqe *cqe)
{
	if (cqe->res == -EINVAL && w->tick_multishot) {
		w->tick_multishot = false;	/* kernel older than 6.4: re-arm each time */
		tick_arm(w);
		return;
	}
	if (cqe->res != -ETIME && cqe->res != -ECANCELED)
		rg_stat_add(&w->stats.unexpected, 1);
	if (cqe->res == -ETIME) {
		rg_stat_add(&w->stats.ticks, 1);
		w->trim_due = true;	/* after the batch: later CQEs in it may point into buffers */
		w->tick_due = true;	/* handed up after the batch's other completions: see run() */
	}
	if (!(cqe->flags & IORING_CQE_F_MORE) && !atomic_load(&w->engine->stop))
		tick_arm(w);
}

static void dispatch(rg_worker *w, struct io_uring_cqe *cqe)
{
	switch (rg_udata_op(cqe->user_data)) {
	case RG_OP_ACCEPT:
		rg_internal_on_accept(w, cqe);
		break;
	case RG_OP_RECV:
		rg_internal_on_recv(w, cqe);
		break;
	case RG_OP_POLL:
		rg_internal_on_poll(w, cqe);
		break;
	case RG_OP_SEND:
		rg_internal_on_send(w, cqe);
		break;
	case RG_OP_SHUTDOWN:
		rg_internal_on_shutdown(w, cqe);
		break;
	case RG_OP_CANCEL:
		/* -ENOENT and -EALREADY only mean the request had already finished. */
		break;
	case RG_OP_CLOSE:
		if (cqe->res < 0)
			rg_stat_add(&w->stats.unexpected, 1);
		/* Only now is the table entry empty: a slot we pick ourselves may be reused. */
		rg_internal_slot_released(w, rg_udata_slot(cqe->user_data));
		break;
	case RG_OP_TICK:
		on_tick(w, cqe);
		break;
	case RG_OP_MAIL:
		rg_internal_on_mail(w, cqe);
		break;
	case RG_OP_CONNECT:
		rg_internal_on_connect(w, cqe);
		break;
	case RG_OP_CONNECT_SOCKET:
	case RG_OP_CONNECT_SETUP:
		rg_internal_on_connect_step(w, cqe);
		break;
	case RG_OP_CONNECT_SEND:
		rg_internal_on_connect_send(w, cqe);
		break;
	case RG_OP_PEER:
		rg_internal_on_peer(w, cqe);
		break;
	default:
		(void)RG_BUG(w, "a completion of no known kind");
	}
}

static void run(rg_worker *w)
{
	while (!atomic_load(&w->engine->stop)) {
		struct io_uring_cqe *cqe;
		unsigned head;
		int ret = rg_internal_submit_and_wait(w);

		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY && ret != -ETIME) {
			rg_internal_log(RG_LOG_ERROR, "worker %u: io_uring_enter failed: %s", w->index, strerror(-ret));
			rg_stat_add(&w->stats.unexpected, 1);
		}
		/*
		 * Each completion is retired as soon as it is handled (receive data
		 * lives in buffers, not in the CQE), so verbs that submit mid-batch
		 * never face a CQ full of entries already seen.
		 */
		io_uring_for_each_cqe(&w->ring, head, cqe) {
			dispatch(w, cqe);
			io_uring_cq_advance(&w->ring, 1);
		}
		/*
		 * The tick goes last, so timeouts are judged after the data that
		 * arrived in the same batch: after a long turn (a big fan-out) the
		 * tick and a pong may complete together, and the pong must count.
		 */
		if (w->tick_due) {
			w->tick_due = false;
			rg_internal_emit(w, RG_EV_TICK, 0, 0, 1, NULL, 0);
		}
		deliver(w);
		rg_internal_peer_release(w);
		rg_internal_flush(w);
		if (w->trim_due) {
			w->trim_due = false;
			rg_internal_chunks_trim(w);
			rg_internal_bufring_trim(w);
			if (w->tls_conns)
				rg_internal_tls_trim(w);
		}
	}
}

void *rg_internal_worker_main(void *arg)
{
	rg_worker *w = arg;
	char err[200] = "";
	int ret;

	pin(w);
	w->tick_multishot = true;
	rg_internal_tls_worker_init(w);
	ret = ring_setup(w, err, sizeof(err));
	/* Buffers first: the send pool's reserve follows from their size (chunks.c). */
	if (!ret)
		ret = rg_internal_bufring_init(w, err, sizeof(err));
	if (!ret)
		ret = rg_internal_conns_init(w);
	if (!ret)
		ret = rg_internal_mail_init(w);
	if (ret && !err[0])
		snprintf(err, sizeof(err), "setup failed: %s", strerror(-ret));
	if (!ret) {
		rg_internal_mail_arm(w);
		tick_arm(w);
		if (w->listen_fd >= 0)
			rg_internal_accept_arm(w, RG_LISTENER_PLAIN);
		if (w->tls_listen_fd >= 0)
			rg_internal_accept_arm(w, RG_LISTENER_TLS);
	}
	started(w, ret, err);
	if (!ret)
		run(w);
	if (w->ring.ring_fd > 0)
		io_uring_queue_exit(&w->ring);
	rg_internal_bufring_free(w);
	rg_internal_tls_worker_free(w);
	rg_internal_conns_free(w);
	rg_internal_client_free(w);
	rg_internal_mail_free(w);
	return NULL;
}
