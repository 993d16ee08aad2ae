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
 *
 * A restarting gateway hands its listeners, plain and TLS, to the new
 * process instead of closing them (rg_config.listen_fds, tls_listen_fds):
 * the sockets, and the connections waiting in their queues, stay the same,
 * so both processes accept from them until the old one stops; no client is
 * refused during the switch. TLS state is per connection and per process,
 * so a TLS connection belongs wholly to whichever process accepted it.
 */
#include <arpa/inet.h>
#include <fcntl.h>
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

/* Adopts a duplicate of a listening socket received from another process. */
static int adopt_one(int fd, uint16_t *bound)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int listening = 0, copy;
	socklen_t optlen = sizeof(listening);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) < 0)
		return -errno;
	if (!listening)
		return -EINVAL;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		return -EAFNOSUPPORT;
	*bound = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					       : ((struct sockaddr_in6 *)&ss)->sin6_port);
	copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return copy < 0 ? -errno : copy;
}

/*
 * Adopts one listener set from `fds`, one per worker. Refuses a set the
 * configuration does not serve (`wanted`), so a successor never silently
 * drops a listener its predecessor served. Returns the port, or -errno with
 * `err` set.
 */
static int adopt_set(rg_engine *e, uint32_t listener, bool wanted, const int *fds, uint32_t count, char *err,
		     size_t err_len)
{
	const char *name = listener == RG_LISTENER_TLS ? "TLS" : "plain";
	uint16_t port = 0;

	if (!wanted)
		return snprintf(err, err_len, "the running gateway handed over %s listeners but this one does not "
				"serve %s", name, listener == RG_LISTENER_TLS ? "wss:// (no tls-port)" : "ws:// (no-plain)"),
		       -EINVAL;
	if (count != e->worker_count)
		return snprintf(err, err_len, "%u %s listening sockets were handed over but workers is %u: "
				"both must match", count, name, e->worker_count), -EINVAL;
	for (uint32_t i = 0; i < e->worker_count; i++) {
		int fd = adopt_one(fds[i], &port);

		if (fd < 0)
			return snprintf(err, err_len, "handed-over %s socket %u (fd %d) is not a TCP listener: %s", name,
					i, fds[i], strerror(-fd)), fd;
		if (listener == RG_LISTENER_TLS)
			e->workers[i].tls_listen_fd = fd;
		else
			e->workers[i].listen_fd = fd;
	}
	return port;
}

/* Opens one listener per worker on `port` (0: the first picks, the rest share it); returns the port. */
/*
 * True when another socket already listens on `port`. SO_REUSEPORT lets a
 * second gateway bind the same port and quietly take a share of its
 * connections; a probe bound without it fails on a port in use (SO_REUSEADDR
 * keeps sockets in TIME_WAIT from counting). A restart adopts the old
 * process's listeners instead of binding, so it never gets here.
 */
static bool port_in_use(const rg_config *c, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fd;
	bool used;

	if (port == 0 || parse_addr(c->host, port, &ss, &len))
		return false;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	used = bind(fd, (struct sockaddr *)&ss, len) < 0 && errno == EADDRINUSE;
	close(fd);
	return used;
}

static int open_set(rg_engine *e, uint32_t listener, uint16_t port, char *err, size_t err_len)
{
	if (port_in_use(&e->cfg, port))
		return snprintf(err, err_len, "cannot listen on %s port %u: another process is listening there "
				"(a restart hands the port over with --takeover)", e->cfg.host, port), -EADDRINUSE;
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

/*
 * Binds each configured listener set, or adopts it when the running gateway
 * handed it over; a set configured but not handed over (a restart that adds
 * wss://) is bound afresh.
 */
int rg_internal_listen_open(rg_engine *e, char *err, size_t err_len)
{
	const rg_config *c = &e->cfg;
	int port;

	if (c->listen_fd_count)
		port = adopt_set(e, RG_LISTENER_PLAIN, c->listen, c->listen_fds, c->listen_fd_count, err, err_len);
	else
		port = c->listen ? open_set(e, RG_LISTENER_PLAIN, c->port, err, err_len) : 0;
	if (port < 0)
		return port;
	e->port = (uint16_t)port;
	if (c->tls_listen_fd_count)
		port = adopt_set(e, RG_LISTENER_TLS, c->tls_listen, c->tls_listen_fds, c->tls_listen_fd_count, err,
				 err_len);
	else
		port = c->tls_listen ? open_set(e, RG_LISTENER_TLS, c->tls_port, err, err_len) : 0;
	if (port < 0)
		return port;
	e->tls_port = (uint16_t)port;
	return 0;
}

void rg_internal_accept_arm(rg_worker *w, uint32_t listener)
{
	struct io_uring_sqe *sqe = rg_internal_sqe(w);

	io_uring_prep_multishot_accept_direct(sqe, listener == RG_LISTENER_TLS ? w->tls_listen_fd : w->listen_fd,
					      NULL, NULL, 0);
	io_uring_sqe_set_data64(sqe, rg_udata(RG_OP_ACCEPT, listener, 0));
	atomic_fetch_add_explicit(&w->accepts_armed, 1, memory_order_relaxed);
}

void rg_internal_on_accept(rg_worker *w, struct io_uring_cqe *cqe)
{
	uint32_t listener = rg_udata_slot(cqe->user_data);

	if (cqe->res >= 0) {
		rg_internal_conn_opened(w, (uint32_t)cqe->res, listener == RG_LISTENER_TLS);
	} else if (cqe->res == -ENFILE) {
		if (rg_stat_add(&w->stats.refused_table_full, 1) % 10000 == 0)
			rg_internal_log(RG_LOG_WARNING, "worker %u: connection table full (%u slots); closing new connections "
					"(%llu so far)", w->index, w->table_size,
					(unsigned long long)w->stats.refused_table_full);
	} else if (cqe->res != -ECANCELED) {
		if (rg_stat_add(&w->stats.accept_errors, 1) % 10000 == 0)
			rg_internal_log(RG_LOG_ERROR, "worker %u: accept failed: %s", w->index, strerror(-cqe->res));
	}
	if (cqe->flags & IORING_CQE_F_MORE)
		return;
	atomic_fetch_sub_explicit(&w->accepts_armed, 1, memory_order_release);
	/* Re-armed after an error, a full CQ or rg_internal_accept_rearm; not after accept_stop. */
	if (!atomic_load(&w->engine->stop) && (listener == RG_LISTENER_TLS ? w->tls_listen_fd : w->listen_fd) >= 0)
		rg_internal_accept_arm(w, listener);
}

static void accept_cancel(rg_worker *w, uint32_t listener)
{
	struct io_uring_sqe *sqe = rg_internal_sqe(w);

	io_uring_prep_cancel64(sqe, rg_udata(RG_OP_ACCEPT, listener, 0), 0);
	io_uring_sqe_set_data64(sqe, rg_udata(RG_OP_CANCEL, 0, 0));
}

static void accept_stop_one(rg_worker *w, uint32_t listener, int *fd)
{
	if (*fd < 0)
		return;
	accept_cancel(w, listener);
	close(*fd);
	*fd = -1;
}

/*
 * Cancels the multishot accepts and closes the listeners, plain and TLS. An
 * accept request holds its own reference to the socket until its final
 * completion, which then finds the listener's fd < 0 and does not re-arm.
 */
void rg_internal_accept_stop(rg_worker *w)
{
	accept_stop_one(w, RG_LISTENER_PLAIN, &w->listen_fd);
	accept_stop_one(w, RG_LISTENER_TLS, &w->tls_listen_fd);
}

/* Cancels the accepts; their final completions find the listeners open and re-arm them. */
void rg_internal_accept_rearm(rg_worker *w)
{
	if (w->listen_fd >= 0)
		accept_cancel(w, RG_LISTENER_PLAIN);
	if (w->tls_listen_fd >= 0)
		accept_cancel(w, RG_LISTENER_TLS);
}

int rg_engine_listen_fd(const rg_engine *e, uint32_t index)
{
	if (index >= e->worker_count || e->workers[index].listen_fd < 0)
		return -EBADF;
	return e->workers[index].listen_fd;
}

int rg_engine_tls_listen_fd(const rg_engine *e, uint32_t index)
{
	if (index >= e->worker_count || e->workers[index].tls_listen_fd < 0)
		return -EBADF;
	return e->workers[index].tls_listen_fd;
}

int rg_engine_stop_accepting(rg_engine *e)
{
	int ret = 0;

	for (uint32_t i = 0; i < e->worker_count; i++) {
		int r = rg_worker_post(&e->workers[i], RG_MAIL_STOP_ACCEPTING, NULL);

		if (r && !ret)
			ret = r;
	}
	return ret;
}

uint32_t rg_engine_accepts_armed(const rg_engine *e)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < e->worker_count; i++)
		n += atomic_load_explicit(&e->workers[i].accepts_armed, memory_order_acquire);
	return n;
}

int rg_engine_rearm_accepts(rg_engine *e)
{
	int ret = 0;

	for (uint32_t i = 0; i < e->worker_count; i++) {
		int r = rg_worker_post(&e->workers[i], RG_MAIL_REARM_ACCEPTS, NULL);

		if (r && !ret)
			ret = r;
	}
	return ret;
}
