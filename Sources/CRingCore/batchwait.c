/*
 * Waiting for a batch of completions instead of the first one.
 *
 * A ring holding thousands of parked connections hears from each of them
 * every few seconds: a pong, a one-byte message. Woken for every such
 * completion, a worker pays a context switch and a pass through its loop per
 * event, and with dozens of rings on one core the switches dominate. With
 * DEFER_TASKRUN the kernel wakes a waiting task only once `wait_nr`
 * completions are pending, and the min timeout (IORING_FEAT_MIN_TIMEOUT,
 * Linux 6.12) bounds how long it holds out for them once the first has
 * arrived. A busy ring fills its batch at once and never waits; a quiet one
 * wakes once per batch, at most `batch_wait_us` after its first completion.
 *
 * liburing 2.3 has no wrapper for the min timeout, so the SQ tail is
 * published and io_uring_enter called here, as liburing's own submit does.
 */
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#define RG_FEAT_MIN_TIMEOUT (1U << 15)

/* struct io_uring_getevents_arg as of 6.12, where `pad` became `min_wait_usec`. */
struct rg_getevents_arg {
	uint64_t sigmask;
	uint32_t sigmask_sz;
	uint32_t min_wait_usec;
	uint64_t ts;
};

/* An idle ring still returns at this bound; the tick wakes it more often anyway. */
static const struct __kernel_timespec rg_idle_bound = { .tv_sec = 1, .tv_nsec = 0 };

bool rg_internal_batch_wait_setup(rg_worker *w, uint32_t features)
{
	const rg_config *c = &w->engine->cfg;

	w->batch_wait = c->batch_wait_us && c->batch_events > 1 && c->single_issuer &&
			(w->ring.flags & IORING_SETUP_DEFER_TASKRUN) && (features & RG_FEAT_MIN_TIMEOUT);
	return w->batch_wait;
}

int rg_internal_submit_and_wait(rg_worker *w)
{
	struct io_uring_sq *sq = &w->ring.sq;
	struct rg_getevents_arg arg;
	unsigned tail, to_submit, flags;
	int fd, ret;

	if (!w->batch_wait)
		return io_uring_submit_and_wait(&w->ring, 1);
	tail = sq->sqe_tail;
	if (sq->sqe_head != tail) {
		sq->sqe_head = tail;
		__atomic_store_n(sq->ktail, tail, __ATOMIC_RELEASE);
	}
	to_submit = tail - __atomic_load_n(sq->khead, __ATOMIC_ACQUIRE);
	arg.sigmask = 0;
	arg.sigmask_sz = _NSIG / 8;
	arg.min_wait_usec = w->engine->cfg.batch_wait_us;
	arg.ts = (uint64_t)(uintptr_t)&rg_idle_bound;
	flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
	fd = w->ring.ring_fd;
	if (w->ring_registered) {
		flags |= IORING_ENTER_REGISTERED_RING;
		fd = w->ring.enter_ring_fd;
	}
	ret = (int)syscall(__NR_io_uring_enter, fd, to_submit, w->engine->cfg.batch_events, flags, &arg,
			   sizeof(arg));
	return ret < 0 ? -errno : ret;
}
