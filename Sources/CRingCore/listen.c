/*
 * Listeners and multishot accept into direct descriptors.
 *
 * Every worker has its own listening socket on the same address with
 * SO_REUSEPORT, so the kernel spreads connections over the workers by hash
 * and no accept crosses threads. Accepted sockets go straight into the
 * worker's fixed-file table (IORING_FILE_INDEX_ALLOC) and never enter the
 * process fd table; the allocated index is the connection's slot.
 *
 * A TLS listener set (rg_config.tls_listen) sits beside the plain one on
 * its own port; an accept's user_data names the listener it came from.
 *
 * When a worker's table is full the kernel closes the new socket itself and
 * the accept completes with -ENFILE: the client sees a clean close, and the
 * worker counts it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

static int parse_addr(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

static int open_one(const rg_config *c, uint16_t port, uint16_t *bound)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fd, ret;

	ret = parse_addr(c->host, port, &ss, &len);
	if (ret)
		return ret;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, (int)c->backlog) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	/* Accepted sockets inherit TCP_NODELAY: WebSocket frames are small and latency-bound. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		*bound = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						       : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

/* Opens one listener per worker on `port` (0: the first picks, the rest share it); returns the port. */
static int open_set(rg_engine *e, uint32_t listener, uint16_t port, char *err, size_t err_len)
{
	for (uint32_t i = 0; i < e->worker_count; i++) {
		int fd = open_one(&e->cfg, port, &port);

		if (fd == -EINVAL)
			return snprintf(err, err_len, "host '%s' is not an IPv4 or IPv6 address", e->cfg.host),
			       fd;
		if (fd < 0)
			return snprintf(err, err_len, "cannot listen on %s port %u: %s", e->cfg.host, port,
					strerror(-fd)), fd;
		if (listener == RG_LISTENER_TLS)
			e->workers[i].tls_listen_fd = fd;
		else
			e->workers[i].listen_fd = fd;
	}
	return port;
}

int rg_internal_listen_open(rg_engine *e, char *err, size_t err_len)
{
	int port;

	if (e->cfg.listen) {
		port = open_set(e, RG_LISTENER_PLAIN, e->cfg.port, err, err_len);
		if (port < 0)
			return port;
		e->port = (uint16_t)port;
	}
	if (e->cfg.tls_listen) {
		port = open_set(e, RG_LISTENER_TLS, e->cfg.tls_port, err, err_len);
		if (port < 0)
			return port;
		e->tls_port = (uint16_t)port;
	}
	return 0;
}

void rg_internal_accept_arm(rg_worker *w, uint32_t listener)
{
	struct io_uring_sqe *sqe = rg_internal_sqe(w);

	io_uring_prep_multishot_accept_direct(sqe, listener == RG_LISTENER_TLS ? w->tls_listen_fd : w->listen_fd,
					      NULL, NULL, 0);
	io_uring_sqe_set_data64(sqe, rg_udata(RG_OP_ACCEPT, listener, 0));
}

void rg_internal_on_accept(rg_worker *w, struct io_uring_cqe *cqe)
{
	uint32_t listener = rg_udata_slot(cqe->user_data);

	if (cqe->res >= 0) {
		rg_internal_conn_opened(w, (uint32_t)cqe->res, listener == RG_LISTENER_TLS);
	} else if (cqe->res == -ENFILE) {
		if (w->stats.refused_table_full++ % 10000 == 0)
			rg_internal_log("worker %u: connection table full (%u slots); closing new connections "
					"(%llu so far)", w->index, w->table_size,
					(unsigned long long)w->stats.refused_table_full);
	} else if (cqe->res != -ECANCELED) {
		if (w->stats.accept_errors++ % 10000 == 0)
			rg_internal_log("worker %u: accept failed: %s", w->index, strerror(-cqe->res));
	}
	if (!(cqe->flags & IORING_CQE_F_MORE) && !atomic_load(&w->engine->stop))
		rg_internal_accept_arm(w, listener);
}
