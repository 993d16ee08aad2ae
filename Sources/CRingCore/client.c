/*
 * Outgoing connections for engines without a listener (the load generator).
 *
 * Where the kernel has IORING_OP_BIND (6.11, and with it setsockopt as a
 * socket command, 6.7), a connect is one linked chain in the ring:
 *
 *   SOCKET (direct, into the slot) -> SETSOCKOPT x3 -> BIND -> CONNECT -> SEND
 *
 * with no syscall of its own and no fd ever in the process table. Only the
 * last link's completion is posted when all goes well (the others carry
 * IOSQE_CQE_SKIP_SUCCESS); a failing link posts its error and the kernel
 * cancels the links after it without posting (they inherit the skip), so
 * exactly one completion ends each chain. The SEND carries the caller's first bytes (a load generator's
 * upgrade request), which leave without a trip through the caller.
 *
 * On older kernels socket(2), setsockopt and bind run as plain syscalls; the
 * socket then moves into the worker's fixed-file table and its fd is closed
 * at once, so the process fd table never holds more than one of them and the
 * open-file limit binds only each ring's table. The connect runs in the ring
 * and the first bytes are queued when it completes.
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

enum rg_connect_mode {
	RG_CONNECT_UNKNOWN = 0,
	RG_CONNECT_CHAIN,
	RG_CONNECT_SYSCALLS,
};

/* Syscall mode: what a slot sends once connected (the caller keeps the bytes alive). */
struct rg_first_bytes {
	const void *data;
	uint32_t len;
};

/* Read by the kernel when the setsockopt links run, after submit: static storage. */
static const int rg_one = 1;

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
	free(w->first_bytes);
	w->addrs = NULL;
	w->addr_lens = NULL;
	w->free_slots = NULL;
	w->first_bytes = NULL;
}

/* The chain needs IORING_OP_BIND (6.11); setsockopt as a socket command (6.7) came before it. */
static enum rg_connect_mode choose_mode(rg_worker *w)
{
	struct io_uring_probe *probe = io_uring_get_probe_ring(&w->ring);
	bool chain = probe && io_uring_opcode_supported(probe, IORING_OP_SOCKET) &&
		     io_uring_opcode_supported(probe, RG_IORING_OP_BIND);

	if (probe)
		io_uring_free_probe(probe);
	if (!chain) {
		w->first_bytes = calloc(w->table_size, sizeof(*w->first_bytes));
		if (!w->first_bytes)
			return RG_CONNECT_UNKNOWN;
		if (w->index == 0)
			rg_internal_log(RG_LOG_INFO, "no IORING_OP_BIND (Linux 6.11): connects use socket(2) and bind(2)");
	}
	return chain ? RG_CONNECT_CHAIN : RG_CONNECT_SYSCALLS;
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
		/* Port 0 with NO_PORT: the port is picked at connect time, per destination. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&w->addrs[src], w->addr_lens[src]) < 0) {
			ret = -errno;
			close(fd);
			return ret;
		}
	}
	return fd;
}

/* One link of a chain: linked to the next, and silent unless it fails. */
static struct io_uring_sqe *chain_link(rg_worker *w, enum rg_op op, uint32_t slot, uint32_t gen)
{
	struct io_uring_sqe *sqe = rg_internal_sqe(w);

	io_uring_sqe_set_data64(sqe, rg_udata(op, slot, gen));
	return sqe;
}

static void chain_setsockopt(rg_worker *w, uint32_t slot, uint32_t gen, int level, int name)
{
	struct io_uring_sqe *sqe = chain_link(w, RG_OP_CONNECT_SETUP, slot, gen);

	/* liburing 2.3 predates these fields: cmd_op, level|optname, optlen and optval by their offsets. */
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, (int)slot, NULL, 0, 0);
	sqe->off = RG_SOCKET_URING_OP_SETSOCKOPT;
	sqe->addr = (uint64_t)(uint32_t)level | (uint64_t)(uint32_t)name << 32;
	sqe->file_index = sizeof(rg_one);
	sqe->addr3 = (uint64_t)(uintptr_t)&rg_one;
	sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
}

/*
 * Stages the chain. The ring's submission queue must hold all its links at
 * once, or a link would be cut when rg_internal_sqe submits to make room.
 */
static void stage_chain(rg_worker *w, uint32_t slot, uint32_t gen, int dst, int src, const void *first,
			uint32_t first_len)
{
	struct io_uring_sqe *sqe;
	const uint32_t links = 7;

	if (io_uring_sq_space_left(&w->ring) < links)
		io_uring_submit(&w->ring);
	sqe = chain_link(w, RG_OP_CONNECT_SOCKET, slot, gen);
	/* No SOCK_CLOEXEC: a direct descriptor is in no fd table, and the kernel refuses the flag. */
	io_uring_prep_socket_direct(sqe, w->addrs[dst].ss_family, SOCK_STREAM, 0, slot, 0);
	sqe->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
	chain_setsockopt(w, slot, gen, IPPROTO_TCP, TCP_NODELAY);
	/* See make_socket: a TIME_WAIT on a port a server binds later must not block it. */
	chain_setsockopt(w, slot, gen, SOL_SOCKET, SO_REUSEADDR);
	if (src >= 0) {
		chain_setsockopt(w, slot, gen, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT);
		sqe = chain_link(w, RG_OP_CONNECT_SETUP, slot, gen);
		/* The kernel copies the address when the link is prepared, at submit. */
		io_uring_prep_rw(RG_IORING_OP_BIND, sqe, (int)slot, &w->addrs[src], 0, w->addr_lens[src]);
		sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
	}
	sqe = chain_link(w, RG_OP_CONNECT, slot, gen);
	io_uring_prep_connect(sqe, (int)slot, (struct sockaddr *)&w->addrs[dst], w->addr_lens[dst]);
	sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
	sqe = chain_link(w, RG_OP_CONNECT_SEND, slot, gen);
	/* MSG_WAITALL: a short send would otherwise pass as success. */
	io_uring_prep_send(sqe, (int)slot, first, first_len, MSG_WAITALL | MSG_NOSIGNAL);
	sqe->flags |= IOSQE_FIXED_FILE;
}

int rg_conn_connect(rg_worker *w, int dst, int src, const void *first, uint32_t first_len)
{
	struct io_uring_sqe *sqe;
	struct rg_conn *c;
	uint32_t slot;
	int fd, ret;

	if (w->engine->cfg.listen || w->engine->cfg.tls_listen)
		return -EOPNOTSUPP;
	if (dst < 0 || (uint32_t)dst >= w->addr_count || src >= (int)w->addr_count || (first_len && !first))
		return -EINVAL;
	if (w->connect_mode == RG_CONNECT_UNKNOWN && (w->connect_mode = choose_mode(w)) == RG_CONNECT_UNKNOWN)
		return -ENOMEM;
	slot = slot_take(w);
	if (slot == RG_NONE)
		return -ENFILE;
	if (w->connect_mode == RG_CONNECT_CHAIN) {
		rg_internal_conn_start(w, slot, RG_CONN_CONNECTING);
		c = &w->conns[slot];
		c->inflight = 1;	/* the chain, ended by its SEND's completion */
		atomic_fetch_add(&w->engine->open_total, 1);
		stage_chain(w, slot, c->gen, dst, src, first, first_len);
		return (int)slot;
	}
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
	if (w->first_bytes)
		w->first_bytes[slot] = (struct rg_first_bytes){ first, first_len };
	atomic_fetch_add(&w->engine->open_total, 1);
	sqe = rg_internal_sqe(w);
	io_uring_prep_connect(sqe, (int)slot, (struct sockaddr *)&w->addrs[dst], w->addr_lens[dst]);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, rg_udata(RG_OP_CONNECT, slot, c->gen));
	return (int)slot;
}

/* The connection is up and its first bytes are sent or queued: hand it to the caller. */
static void connected(rg_worker *w, uint32_t slot)
{
	struct rg_conn *c = &w->conns[slot];

	c->state = RG_CONN_OPEN;
	rg_stat_add(&w->stats.accepted, 1);
	rg_stat_set(&w->stats.open_now, w->open_count);
	rg_internal_arm_wait(w, slot);
	rg_internal_emit(w, RG_EV_OPEN, slot, c->gen, 0, NULL, 0);
}

/* Ends a connect that failed, or that the caller closed while it ran. */
static void connect_failed(rg_worker *w, uint32_t slot, int res)
{
	if (res < 0)
		rg_stat_add(&w->stats.accept_errors, 1);
	w->conns[slot].state = RG_CONN_OPEN;	/* so the abort below runs the normal close path */
	rg_internal_abort(w, slot, res < 0 ? res : 0);
}

void rg_internal_on_connect(rg_worker *w, struct io_uring_cqe *cqe)
{
	uint32_t slot = rg_udata_slot(cqe->user_data);
	struct rg_conn *c = &w->conns[slot];
	struct rg_first_bytes first = w->first_bytes ? w->first_bytes[slot] : (struct rg_first_bytes){ NULL, 0 };

	if (w->connect_mode == RG_CONNECT_CHAIN) {
		rg_internal_on_connect_step(w, cqe);	/* posted only on failure; the SEND ends the chain */
		return;
	}
	if (RG_BUG(w, c->state == RG_CONN_FREE || c->gen != rg_udata_gen(cqe->user_data)))
		return;
	c->inflight--;
	if (cqe->res < 0 || c->state != RG_CONN_CONNECTING) {
		connect_failed(w, slot, cqe->res);
		return;
	}
	c->state = RG_CONN_OPEN;
	if (first.len && rg_internal_queue_raw(w, slot, first.data, first.len) < 0) {
		connect_failed(w, slot, -ENOBUFS);
		return;
	}
	connected(w, slot);
}

/*
 * A link before the SEND failed. Its completion ends the chain: the links
 * after a failed one that skips its success CQE are cancelled without posting.
 */
void rg_internal_on_connect_step(rg_worker *w, struct io_uring_cqe *cqe)
{
	uint32_t slot = rg_udata_slot(cqe->user_data);
	struct rg_conn *c = &w->conns[slot];

	if (c->state == RG_CONN_FREE || c->gen != rg_udata_gen(cqe->user_data) || !c->inflight) {
		rg_stat_add(&w->stats.unexpected, 1);
		return;
	}
	if (rg_udata_op(cqe->user_data) == RG_OP_CONNECT_SOCKET)
		c->flags |= RG_CF_NOFILE;
	c->inflight--;
	connect_failed(w, slot, cqe->res < 0 ? cqe->res : -EIO);
}

void rg_internal_on_connect_send(rg_worker *w, struct io_uring_cqe *cqe)
{
	uint32_t slot = rg_udata_slot(cqe->user_data);
	struct rg_conn *c = &w->conns[slot];

	if (c->state == RG_CONN_FREE || c->gen != rg_udata_gen(cqe->user_data)) {
		rg_stat_add(&w->stats.unexpected, 1);
		return;
	}
	c->inflight--;
	if (cqe->res < 0 || c->state != RG_CONN_CONNECTING) {
		connect_failed(w, slot, cqe->res);
		return;
	}
	connected(w, slot);
}
