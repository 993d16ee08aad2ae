/*
 * Peer addresses on request. Connections exist only as direct descriptors,
 * so getpeername(2) has no fd to work on; a uring_cmd getsockopt(SOL_SOCKET,
 * SO_PEERNAME) on the fixed file reads the same address. Only callers that
 * want it (the worker link's OPEN event) pay for it, once per connection.
 */
#include <stdlib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "internal.h"

#ifndef SOCKET_URING_OP_GETSOCKOPT
#define SOCKET_URING_OP_GETSOCKOPT 2
#endif

struct rg_peer_query {
	struct rg_peer_query *next;
	uint32_t slot;
	uint32_t gen;
	struct sockaddr_storage addr;
};

/*
 * The kernel refuses SO_PEERNAME with -EINVAL when the buffer is longer than
 * the address, so the first ask is IPv4-sized; an IPv6 peer fills it with the
 * start of its address and is asked again with the full size.
 */
static void submit(rg_worker *w, struct rg_peer_query *q, uint32_t len)
{
	struct io_uring_sqe *sqe = rg_internal_sqe(w);

	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, (int)q->slot, NULL, 0, 0);
	/* The socket-command fields overlay older ones: cmd_op is the low half of
	 * `off`, level/optname share `addr`, optlen is `file_index`, optval `addr3`. */
	sqe->off = SOCKET_URING_OP_GETSOCKOPT;
	sqe->addr = (uint64_t)SOL_SOCKET | ((uint64_t)SO_PEERNAME << 32);
	sqe->file_index = len;
	sqe->addr3 = (uint64_t)(uintptr_t)&q->addr;
	sqe->flags |= IOSQE_FIXED_FILE;
	/* User-space addresses fit below the op byte. */
	io_uring_sqe_set_data64(sqe, ((uint64_t)RG_OP_PEER << 56) | (uint64_t)(uintptr_t)q);
}

int rg_conn_peer_query(rg_worker *w, uint32_t slot, uint32_t gen)
{
	struct rg_peer_query *q;

	if (slot >= w->table_size || w->conns[slot].state == RG_CONN_FREE || w->conns[slot].gen != gen)
		return -ESTALE;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->slot = slot;
	q->gen = gen;
	submit(w, q, sizeof(struct sockaddr_in));
	return 0;
}

void rg_internal_on_peer(rg_worker *w, struct io_uring_cqe *cqe)
{
	struct rg_peer_query *q = (struct rg_peer_query *)(uintptr_t)(cqe->user_data & ((1ULL << 56) - 1));

	if (cqe->res > 0 && q->addr.ss_family == AF_INET6 && cqe->res < (int)sizeof(struct sockaddr_in6)) {
		submit(w, q, sizeof(struct sockaddr_in6));
		return;
	}
	/* The kernel answers with the address length. */
	rg_internal_emit(w, RG_EV_PEER, q->slot, q->gen, cqe->res, (uint8_t *)&q->addr, 0);
	q->next = w->peers_answered;
	w->peers_answered = q;
}

void rg_internal_peer_release(rg_worker *w)
{
	while (w->peers_answered) {
		struct rg_peer_query *q = w->peers_answered;

		w->peers_answered = q->next;
		free(q);
	}
}
