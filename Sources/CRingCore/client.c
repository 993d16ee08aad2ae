/*
 * Outgoing connections for engines without a listener (the load generator).
 *
 * socket(2), setsockopt and bind run as plain syscalls because they are
 * cheap and need no waiting; the socket then moves into the worker's
 * fixed-file table and its fd is closed at once, so the process fd table
 * never holds more than one of them and the open-file limit binds only each
 * ring's table. The connect itself runs in the ring.
 *
 * Such engines pick slots themselves (accept's IORING_FILE_INDEX_ALLOC is
 * not in play): a stack of released slots, then never-used ones in order.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24	/* Linux 4.2 */
#endif

int rg_worker_add_address(rg_worker *w, const char *host, uint16_t port)
{
	struct sockaddr_in *in4;
	struct sockaddr_in6 *in6;
	uint32_t i = w->addr_count;

	if (!w->addrs) {
		w->addrs = calloc(RG_MAX_ADDRESSES, sizeof(*w->addrs));
		w->addr_lens = calloc(RG_MAX_ADDRESSES, sizeof(*w->addr_lens));
		if (!w->addrs || !w->addr_lens)
			return -ENOMEM;
	}
	if (i == RG_MAX_ADDRESSES)
		return -ENOSPC;
	in4 = (struct sockaddr_in *)&w->addrs[i];
	in6 = (struct sockaddr_in6 *)&w->addrs[i];
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		w->addr_lens[i] = sizeof(*in4);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		w->addr_lens[i] = sizeof(*in6);
	} else {
		return -EINVAL;
	}
	w->addr_count++;
	return (int)i;
}

static uint32_t slot_take(rg_worker *w)
{
	if (!w->free_slots) {
		w->free_slots = calloc(w->table_size, sizeof(uint32_t));
		if (!w->free_slots)
			return RG_NONE;
	}
	if (w->free_slot_count)
		return w->free_slots[--w->free_slot_count];
	return w->fresh_slot < w->table_size ? w->fresh_slot++ : RG_NONE;
}

void rg_internal_slot_released(rg_worker *w, uint32_t slot)
{
	if (w->free_slots && !w->engine->cfg.listen && !w->engine->cfg.tls_listen)
		w->free_slots[w->free_slot_count++] = slot;
}

void rg_internal_client_free(rg_worker *w)
{
	free(w->addrs);
	free(w->addr_lens);
	free(w->free_slots);
	w->addrs = NULL;
	w->addr_lens = NULL;
	w->free_slots = NULL;
}

static int make_socket(rg_worker *w, int dst, int src)
{
	int one = 1, fd, ret;

	fd = socket(w->addrs[dst].ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/*
	 * With a wide ephemeral range a client port may equal a port some server
	 * listens on later; SO_REUSEADDR keeps this socket's TIME_WAIT from
	 * blocking that listener's bind.
	 */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (src >= 0) {
		struct sockaddr_storage ss = w->addrs[src];

		/* Port 0 with NO_PORT: the port is picked at connect time, per destination. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = 0;
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = 0;
		if (bind(fd, (struct sockaddr *)&ss, w->addr_lens[src]) < 0) {
			ret = -errno;
			close(fd);
			return ret;
		}
	}
	return fd;
}

int rg_conn_connect(rg_worker *w, int dst, int src)
{
	struct io_uring_sqe *sqe;
	struct rg_conn *c;
	uint32_t slot;
	int fd, ret;

	if (w->engine->cfg.listen || w->engine->cfg.tls_listen)
		return -EOPNOTSUPP;
	if (dst < 0 || (uint32_t)dst >= w->addr_count || src >= (int)w->addr_count)
		return -EINVAL;
	slot = slot_take(w);
	if (slot == RG_NONE)
		return -ENFILE;
	fd = make_socket(w, dst, src);
	if (fd < 0) {
		w->free_slots[w->free_slot_count++] = slot;
		return fd;
	}
	ret = io_uring_register_files_update(&w->ring, slot, &fd, 1);
	close(fd);
	if (ret < 0) {
		w->free_slots[w->free_slot_count++] = slot;
		return ret;
	}
	rg_internal_conn_start(w, slot, RG_CONN_CONNECTING);
	c = &w->conns[slot];
	c->inflight = 1;	/* the connect */
	atomic_fetch_add(&w->engine->open_total, 1);
	sqe = rg_internal_sqe(w);
	io_uring_prep_connect(sqe, (int)slot, (struct sockaddr *)&w->addrs[dst], w->addr_lens[dst]);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, rg_udata(RG_OP_CONNECT, slot, c->gen));
	return (int)slot;
}

void rg_internal_on_connect(rg_worker *w, struct io_uring_cqe *cqe)
{
	uint32_t slot = rg_udata_slot(cqe->user_data);
	struct rg_conn *c = &w->conns[slot];

	RG_BUG_ON(c->state == RG_CONN_FREE || c->gen != rg_udata_gen(cqe->user_data));
	c->inflight--;
	if (cqe->res < 0 || c->state != RG_CONN_CONNECTING) {
		if (cqe->res < 0)
			w->stats.accept_errors++;
		c->state = RG_CONN_OPEN;	/* so the abort below runs the normal close path */
		rg_internal_abort(w, slot, cqe->res < 0 ? cqe->res : 0);
		return;
	}
	c->state = RG_CONN_OPEN;
	w->stats.accepted++;
	w->stats.open_now = w->open_count;
	rg_internal_arm_wait(w, slot);
	rg_internal_emit(w, RG_EV_OPEN, slot, c->gen, 0, NULL, 0);
}
