/*
 * Mail between threads: any thread may hand a worker (tag, pointer) pairs.
 *
 * A poster appends under a mutex and writes the worker's eventfd only when
 * the mailbox was empty, so a burst of posts costs one wake-up. The worker
 * keeps one read of the eventfd in its ring; when it completes, the worker
 * takes the whole mailbox in one swap and delivers each item as RG_EV_MAIL.
 * Tag 0 is the engine's own wake-up (used by rg_engine_stop) and is not
 * delivered.
 */
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "internal.h"

int rg_internal_mail_init(rg_worker *w)
{
	pthread_mutex_init(&w->mail_lock, NULL);
	w->mail = calloc(RG_MAILBOX_CAPACITY, sizeof(struct rg_mail));
	w->mail_taken = calloc(RG_MAILBOX_CAPACITY, sizeof(struct rg_mail));
	if (!w->mail || !w->mail_taken)
		return -ENOMEM;
	w->mail_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return w->mail_fd < 0 ? -errno : 0;
}

void rg_internal_mail_free(rg_worker *w)
{
	if (w->mail_fd >= 0)
		close(w->mail_fd);
	w->mail_fd = -1;
	free(w->mail);
	free(w->mail_taken);
	w->mail = w->mail_taken = NULL;
}

void rg_internal_mail_arm(rg_worker *w)
{
	struct io_uring_sqe *sqe = rg_internal_sqe(w);

	io_uring_prep_read(sqe, w->mail_fd, &w->mail_value, sizeof(w->mail_value), 0);
	io_uring_sqe_set_data64(sqe, rg_udata(RG_OP_MAIL, 0, 0));
}

int rg_worker_post(rg_worker *w, uint64_t tag, void *ptr)
{
	uint64_t one = 1;
	bool wake;

	pthread_mutex_lock(&w->mail_lock);
	if (!w->mail || w->mail_count == RG_MAILBOX_CAPACITY) {
		pthread_mutex_unlock(&w->mail_lock);
		return -EAGAIN;
	}
	w->mail[w->mail_count].tag = tag;
	w->mail[w->mail_count].ptr = ptr;
	wake = w->mail_count++ == 0;
	pthread_mutex_unlock(&w->mail_lock);
	if (wake && write(w->mail_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

void rg_internal_on_mail(rg_worker *w, struct io_uring_cqe *cqe)
{
	struct rg_mail *taken;
	uint32_t n;

	pthread_mutex_lock(&w->mail_lock);
	taken = w->mail;
	w->mail = w->mail_taken;
	w->mail_taken = taken;
	n = w->mail_count;
	w->mail_count = 0;
	pthread_mutex_unlock(&w->mail_lock);

	for (uint32_t i = 0; i < n; i++) {
		if (taken[i].tag == 0)
			continue;
		if (taken[i].tag == RG_MAIL_STOP_ACCEPTING) {
			rg_internal_accept_stop(w);
			continue;
		}
		if (taken[i].tag == RG_MAIL_REARM_ACCEPTS) {
			rg_internal_accept_rearm(w);
			continue;
		}
		if (taken[i].tag == RG_MAIL_TLS) {
			rg_internal_tls_swap(w, taken[i].ptr);
			continue;
		}
		rg_stat_add(&w->stats.mail, 1);
		rg_internal_emit(w, RG_EV_MAIL, 0, 0, 0, taken[i].ptr, taken[i].tag);
	}
	if (cqe->res < 0 && cqe->res != -EAGAIN && cqe->res != -ECANCELED)
		rg_stat_add(&w->stats.unexpected, 1);
	if (!atomic_load(&w->engine->stop))
		rg_internal_mail_arm(w);
}
